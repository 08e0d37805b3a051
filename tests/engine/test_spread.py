"""The spread model against independent computations: a hand-worked case, a dense solve,
and networkx's personalised PageRank on Padgett's Florentine families."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy as sp

import graphscore as gs
from graphscore.engine.matrix import build_projection
from graphscore.engine.spread import check_convergence, contraction, relaxation, spectral_radius, spread, tightened
from graphscore.errors import ConvergenceError
from tests.conftest import POLICIES, SPREAD_SPLIT, read_padgett


def test_hand_worked_example(hand_tables, hand_policy):
    """x = s + 0.5 W x with W[P,C1] = W[P,C2] = 1, W[C1,P] = W[C2,P] = 0.5, W[O,C1] = 0.6:
    x_C1 = 1 + p/4, x_C2 = p/4, p = (x_C1 + x_C2)/2 = 1/2 + p/4, so p = 2/3,
    x_C1 = 7/6, x_C2 = 1/6, x_O = 0.5 * 0.6 * 7/6 = 0.35."""
    scores = gs.score(hand_tables, hand_policy, as_of="2024-01-01").set_index("id")
    np.testing.assert_allclose(scores.loc[["C1", "C2", "P", "O"], "total"], [7 / 6, 1 / 6, 2 / 3, 0.35], rtol=1e-10)
    np.testing.assert_allclose(scores["own"] + scores["echo"] + scores["inherited"], scores["total"])
    # C1's own penalty returns through P: a first return C1 -> P (0.5) -> C1 (0.25), with any number
    # of P -> C2 -> P loops (0.125 each) between, weighs 0.125 / (1 - 0.125) = 1/7, so
    # G[C1, C1] = 1 / (1 - 1/7) = 7/6 and the echo is 1/6: all of x_C1 - 1, nothing inherited.
    np.testing.assert_allclose(scores.loc[["C1", "C2", "P", "O"], "echo"], [1 / 6, 0, 0, 0], atol=1e-11)
    assert scores.loc["C1", "own"] == 1.0 and scores.loc["C1", "inherited"] == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("damping", [0.1, 0.5, 0.85])
def test_spread_matches_dense_solve(damping):
    rng = np.random.default_rng(7)
    W = sp.sparse.random_array((60, 60), density=0.08, random_state=rng, format="csr")
    W = W / max(W.sum(axis=0).max(), 1.0)  # columns sum to at most 1: converges for damping < 1
    s = rng.random(60) * (rng.random(60) < 0.2)
    expected = np.linalg.solve(np.eye(60) - damping * W.toarray(), s)
    np.testing.assert_allclose(spread(W, s, damping=damping), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("damping", [0.3, 0.6, 0.85])
def test_spread_is_personalised_pagerank_on_padgett(padgett_tables, damping):
    """(1 - d) x spread(W, s / sum s) with W column-normalised is personalised PageRank."""
    policy = gs.parse_policy(f'name="ppr"\ndamping={damping}\nnormalize="source"\n'
                             '[[transmit]]\nlink="ASSOCIATE"\ndirection="both"\nweight=1.0')
    scores = gs.score(padgett_tables, policy, as_of="1434-01-01").set_index("id")
    families, ties = read_padgett("Marital")
    graph = nx.Graph()
    graph.add_nodes_from(families)
    graph.add_edges_from(ties)
    expected = nx.pagerank(graph, alpha=damping, personalization={"Medici": 1.0, "Strozzi": 0.5},
                           tol=1e-13, max_iter=10_000)
    actual = (1 - damping) * scores["total"] / 1.5
    for family in families:
        assert actual[family] == pytest.approx(expected[family], rel=1e-7, abs=1e-12), family


def test_zero_seeds_give_zeros_and_relabelling_permutes():
    rng = np.random.default_rng(3)
    W = sp.sparse.random_array((30, 30), density=0.1, random_state=rng, format="csr") * 0.2
    assert not spread(W, np.zeros(30), damping=0.5).any()
    s = rng.random(30)
    order = rng.permutation(30)
    permuted = W[order][:, order]
    np.testing.assert_allclose(spread(permuted, s[order], damping=0.5), spread(W, s, damping=0.5)[order])


def test_linearity_splits_by_source():
    rng = np.random.default_rng(5)
    W = sp.sparse.random_array((40, 40), density=0.1, random_state=rng, format="csr") * 0.2
    s1, s2 = rng.random(40), rng.random(40)
    np.testing.assert_allclose(spread(W, s1 + s2, damping=0.6),
                               spread(W, s1, damping=0.6) + spread(W, s2, damping=0.6), rtol=1e-10)


def test_divergent_policy_is_refused_with_a_way_out():
    # a star: one person legal representative of 9 companies, weight 1 both ways; rho = 3
    W = sp.sparse.lil_array((10, 10))
    for company in range(1, 10):
        W[0, company] = W[company, 0] = 1.0
    assert spectral_radius(W.tocsr()) == pytest.approx(3.0)
    with pytest.raises(gs.ConvergenceError, match=r"spread diverges: .* = 1\.5 >= 1; lower damping below 0\.333"):
        spread(W.tocsr(), np.ones(10), damping=0.5)
    assert 0.9 <= check_convergence(W.tocsr(), 0.3) <= 0.9 * (1 + 1e-3)  # an upper bound, close to it


def test_spread_checks_its_inputs():
    W = sp.sparse.csr_array(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="damping must be in"):
        spread(W, np.ones(2), damping=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        spread(W, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="must be square and match s"):
        spread(W, np.ones(3))


def test_projection_uses_links_active_at_as_of(hand_tables, hand_policy):
    ended = hand_tables.links.copy()
    ended.loc[ended["type"] == "OWNS", "end"] = np.datetime64("2021-01-01")
    tables = gs.Tables(hand_tables.entities, ended, hand_tables.penalties)
    before = build_projection(tables, hand_policy, "2020-06-01")
    after = build_projection(tables, hand_policy, "2022-06-01")
    o, c1 = before.index_of("O"), before.index_of("C1")
    assert before.W[o, c1] == pytest.approx(0.6) and after.W[o, c1] == 0


def test_split_divides_a_rule_among_recipients(hand_tables):
    policy = gs.parse_policy('name="s"\n[[transmit]]\nlink="OFFICER_OF"\ndirection="forward"\nweight=1.0\nsplit=true')
    projection = build_projection(hand_tables, policy, "2024-01-01")
    p = projection.index_of("P")
    assert projection.W[:, [p]].toarray().ravel().tolist() == [0.5, 0.5, 0.0, 0.0]


def test_one_rule_crosses_a_pair_once_and_splits_by_entities(hand_tables):
    """Pat is recorded twice at Alpha (legal representative and director) and once at Beta:
    split among the two companies, not the three records."""
    links = pd.concat([hand_tables.links, pd.DataFrame({"source": ["P"], "target": ["C1"], "type": ["OFFICER_OF"],
                                                        "role": ["director"]})], ignore_index=True)
    tables = gs.validate(gs.Tables(hand_tables.entities, links, hand_tables.penalties))
    policy = gs.parse_policy('name="s"\n[[transmit]]\nlink="OFFICER_OF"\ndirection="forward"\nweight=1.0\nsplit=true')
    projection = build_projection(tables, policy, "2024-01-01")
    p = projection.index_of("P")
    assert projection.W[:, [p]].toarray().ravel().tolist() == [0.5, 0.5, 0.0, 0.0]


def random_W(n: int, density: float, seed: int, scale: float = 1.0) -> sp.sparse.csr_array:
    rng = np.random.default_rng(seed)
    return sp.sparse.random_array((n, n), density=density, random_state=rng, format="csr") * scale


@pytest.mark.parametrize("seed", range(6))
def test_contraction_is_a_certificate_and_close_to_the_spectral_radius(seed):
    """damping |W| v <= rate v with v > 0 (so rate bounds damping * rho from above), and rate is
    close to the true value: its slack rate / (1 - rate), whose log the solve pays in sweeps, within
    1.5 times that of damping * rho."""
    W = random_W(80, 0.05, seed, scale=2.0)
    rho = float(np.abs(np.linalg.eigvals(W.toarray())).max())
    damping = 0.9 / rho
    certificate = contraction(W, damping)
    assert (certificate.weights > 0).all() and certificate.weights.max() == 1.0
    assert (damping * (W @ certificate.weights) <= certificate.rate * certificate.weights * (1 + 1e-12)).all()
    true_rate = damping * rho
    assert true_rate <= certificate.rate + 1e-12
    assert certificate.rate / (1 - certificate.rate) <= 1.5 * true_rate / (1 - true_rate)


@pytest.mark.parametrize("seed", range(6))
def test_a_tightened_certificate_is_one_and_closer_to_the_spectral_radius(seed):
    """More power steps from contraction's weights: still damping |W| v <= rate v, a rate no
    larger, and its margin (1 - rate) / rate within 5 % of the true one's on these graphs (from
    up to 25 % off: 0.92 for a true 0.9)."""
    W = random_W(80, 0.05, seed, scale=2.0)
    rho = float(np.abs(np.linalg.eigvals(W.toarray())).max())
    damping = 0.9 / rho
    first = contraction(W, damping)
    tight = tightened(W, damping, first)
    assert (tight.weights > 0).all() and tight.weights.max() == 1.0
    assert (damping * (W @ tight.weights) <= tight.rate * tight.weights * (1 + 1e-12)).all()
    true_rate = damping * rho
    assert true_rate <= tight.rate + 1e-12 and tight.rate <= first.rate and tight.steps >= first.steps
    assert (1 - tight.rate) / tight.rate >= 0.95 * (1 - true_rate) / true_rate


def test_tightening_keeps_a_certificate_that_cannot_improve():
    """A cycle: every positive v on it gives the exact rate, nothing to gain."""
    W = sp.sparse.csr_array(([1.0, 1.0, 1.0], ([0, 1, 2], [1, 2, 0])), shape=(3, 3))
    first = contraction(W, 0.5)
    assert first.rate == 0.5 and tightened(W, 0.5, first).rate == 0.5


@pytest.mark.parametrize("tol", [1e-3, 1e-6, 1e-10])
@pytest.mark.parametrize("seed", range(4))
def test_spread_meets_its_stated_accuracy(tol, seed):
    """Every entry within tol * max|x| of a float64 dense solve, on graphs close to divergence."""
    W = random_W(120, 0.04, seed, scale=3.0)
    damping = 0.97 / float(np.abs(np.linalg.eigvals(W.toarray())).max())
    s = np.random.default_rng(seed).random(120) * (np.arange(120) % 7 == 0)
    expected = np.linalg.solve(np.eye(120) - damping * W.toarray(), s)
    error = np.abs(spread(W, s, damping=damping, tol=tol) - expected).max()
    assert error <= tol * expected.max()


@pytest.mark.parametrize("policy_path", [SPREAD_SPLIT, POLICIES / "diffusion.toml"],
                         ids=lambda p: p.stem)
def test_over_relaxation_takes_fewer_sweeps_with_the_same_accuracy(policy_path):
    """On a synthetic registry the over-relaxed solve is within its stated accuracy of a float64
    direct solve in a number of sweeps Gauss-Seidel cannot do it in."""
    import warnings

    from graphscore.synthetic import generate_network
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(3000, seed=1))
    policy = gs.load_policy(policy_path)
    projection = build_projection(tables, policy, "2024-06-30")
    W, s, damping = projection.W, projection.s, policy.damping
    expected = sp.sparse.linalg.spsolve(sp.sparse.identity(W.shape[0], format="csc") - damping * W.tocsc(), s)
    assert relaxation(contraction(W, damping).rate) > 1.1
    sweeps = {"spread-split": 40, "diffusion": 18}[policy.name]  # over-relaxed: 32 and 15; Gauss-Seidel: 85 and 27
    with pytest.raises(ConvergenceError):
        spread(W, s, damping=damping, tol=1e-10, omega=1.0, max_iter=sweeps)
    x = spread(W, s, damping=damping, tol=1e-10, max_iter=sweeps)
    assert np.abs(x - expected).max() <= 1e-10 * expected.max()


@pytest.mark.parametrize("omega", [None, 1.5, 1.9])
def test_over_relaxation_that_diverges_falls_back_to_gauss_seidel(omega):
    """Round a directed cycle SOR with omega >= 1.5 diverges (its W is not 2-cyclic): the solve
    notices and still returns the exact solution within its accuracy."""
    n = 3
    W = sp.sparse.csr_array((np.ones(n), (np.arange(n), (np.arange(n) + 1) % n)), shape=(n, n))
    s = np.array([1.0, 0.0, 0.0])
    expected = np.linalg.solve(np.eye(n) - 0.9 * W.toarray(), s)
    x = spread(W, s, damping=0.9, tol=1e-12, omega=omega, max_iter=2_000)
    assert np.abs(x - expected).max() <= 1e-12 * expected.max()


def test_relaxation_is_gauss_seidel_without_a_rate_and_grows_with_it():
    values = [relaxation(rate) for rate in (0.0, 0.5, 0.74, 0.94, 0.99)]
    assert values[0] == 1.0 and values == sorted(values) and values[-1] < 2


def test_convergence_check_is_a_few_products_on_a_registry():
    """Under the spread reading of joint punishment with split (tests/policies/spread-split.toml),
    where the norms fail and ARPACK took most of a run, the check takes a few dozen products with
    W and agrees with the spectral radius."""
    import warnings

    from graphscore.synthetic import generate_network
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(3000, seed=1))
    policy = gs.load_policy(SPREAD_SPLIT)
    W = build_projection(tables, policy, "2024-06-30").W
    certificate = contraction(W, policy.damping)
    true_rate = policy.damping * spectral_radius(W)
    assert abs(W).sum(axis=1).max() * policy.damping > 1 and abs(W).sum(axis=0).max() * policy.damping > 1
    assert certificate.steps <= 60
    assert true_rate <= certificate.rate < 1 and certificate.rate / (1 - certificate.rate) < 2 * true_rate / (1 - true_rate)
