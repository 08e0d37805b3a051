"""Own-penalty echo (issue 9.10): hand-worked cases, and the closed-walk sums against a dense
inverse, dense matrix powers and brute-force walk enumeration."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy as sp

import graphscore as gs
from graphscore.analysis.explain import explain
from graphscore.engine.echo import ECHO_TOL, closed_walks, echo, model_echo
from graphscore.engine.paths import strongest_walks_to
from graphscore.engine.spread import spread
from graphscore.synthetic import generate_network
from tests.conftest import POLICIES, SPREAD_SPLIT


def _random_W(seed: int, n: int = 9, density: float = 0.3) -> sp.sparse.csr_array:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n, n)) < density) * rng.uniform(0.1, 1.0, (n, n))
    return sp.sparse.csr_array(dense)


def _from_above(found, exact, tol):
    """``found`` is at least ``exact`` and within ``tol`` of it (1e-13 of float rounding aside)."""
    gap = np.asarray(found) - np.asarray(exact)
    assert (gap >= -1e-13).all() and (gap <= np.asarray(tol) + 1e-13).all(), (gap.min(), gap.max())


@pytest.mark.parametrize("seed", range(5))
def test_spread_echo_is_the_diagonal_of_the_inverse(seed):
    W = _random_W(seed)
    damping = 0.5 / max(abs(np.linalg.eigvals(W.toarray())).max(), 1e-9)
    G = np.linalg.inv(np.eye(9) - damping * W.toarray())
    s = np.random.default_rng(seed).uniform(0, 1, 9) * (np.arange(9) % 3 != 0)
    _from_above(echo(W, s, damping=damping), (np.diag(G) - 1) * s, ECHO_TOL * s)
    _from_above(closed_walks(W, np.arange(9), damping=damping, tol=1e-12), np.diag(G) - 1, 1e-12)


@pytest.mark.parametrize("max_hops", [1, 2, 3, 4])
def test_hop_sum_echo_is_the_diagonal_of_the_cut_series(max_hops):
    W = _random_W(7)
    A = 0.7 * W.toarray()
    expected = sum(np.diag(np.linalg.matrix_power(A, k)) for k in range(1, max_hops + 1))
    np.testing.assert_allclose(closed_walks(W, np.arange(9), damping=0.7, max_hops=max_hops), expected, atol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_hop_max_closed_walks_by_brute_force(seed):
    """The strongest closed walk of at most three links at each entity, by enumerating walks."""
    W = _random_W(seed, n=6, density=0.5) * 1.5  # some cycles gain: the echo can be positive
    A = 0.9 * W.toarray()
    expected = np.zeros(6)
    for length in (1, 2, 3):
        for walk in itertools.product(range(6), repeat=length - 1):
            for v in range(6):
                nodes = (v, *walk, v)
                expected[v] = max(expected[v], np.prod([A[b, a] for a, b in zip(nodes, nodes[1:])]))
    found = closed_walks(W, np.arange(6), damping=0.9, max_hops=3, aggregate="max")
    np.testing.assert_allclose(found, expected, atol=1e-14)
    s = np.ones(6)
    np.testing.assert_allclose(echo(W, s, damping=0.9, max_hops=3, aggregate="max"), np.maximum(expected - 1, 0))


def test_walks_outside_a_component_never_return():
    """0 <-> 1 is a cycle, 1 -> 2 -> 3 -> 2 another component: nothing leaving 0's component comes
    back, so 0's echo is that of the two-cycle alone, (0.5 x 0.5) / (1 - 0.25) = 1/3."""
    W = sp.sparse.csr_array(([1.0, 1.0, 1.0, 1.0, 1.0], ([1, 0, 2, 3, 2], [0, 1, 1, 2, 3])), shape=(4, 4))
    _from_above(closed_walks(W, [0, 2], damping=0.5), [1 / 3, 1 / 3], ECHO_TOL)
    _from_above(closed_walks(W, [0, 2], damping=0.5, tol=1e-12), [1 / 3, 1 / 3], 1e-12)
    assert closed_walks(W, [0], damping=0.5, max_hops=1).tolist() == [0.0]


def test_several_penalised_entities_of_one_component_get_their_own_columns():
    """A triangle 0 -> 1 -> 2 -> 0 of weight 1 at damping 0.5: each entity's closed walks are
    3, 6, ... links long, 0.125 / (1 - 0.125) = 1/7 at each."""
    W = sp.sparse.csr_array(([1.0, 1.0, 1.0], ([1, 2, 0], [0, 1, 2])), shape=(3, 3))
    _from_above(closed_walks(W, [0, 1, 2], damping=0.5), [1 / 7] * 3, ECHO_TOL)
    _from_above(closed_walks(W, [0, 1, 2], damping=0.5, tol=1e-12), [1 / 7] * 3, 1e-12)


def test_score_tables_add_up_and_only_other_entities_are_inherited(hand_tables, hand_policy):
    scores = gs.score(hand_tables, hand_policy, as_of="2024-01-01")
    np.testing.assert_allclose(scores["own"] + scores["echo"] + scores["inherited"], scores["total"], atol=1e-15)
    assert (scores.loc[scores["own"] == 0, "echo"] == 0).all() and (scores["inherited"] >= 0).all()


def test_hop_max_echo_by_hand():
    """A company C and its representative P reach each other with weight 2 (two links summed),
    C penalised with 1, hop max, damping 0.9, two hops: C = max(1, 1.8 x 1.8) = 3.24, all of it
    C's own penalty: echo 2.24. P = 1.8, inherited."""
    W = sp.sparse.csr_array([[0.0, 2.0], [2.0, 0.0]])
    s = np.array([1.0, 0.0])
    assert echo(W, s, damping=0.9, max_hops=2, aggregate="max").tolist() == pytest.approx([2.24, 0.0])
    walks = strongest_walks_to(W, 0, damping=0.9, max_hops=2)
    assert walks.walk_from(0) == [0, 1, 0] and walks.strength[0] == pytest.approx(3.24)


def _exact_diagonal(W, sources, damping):
    """``G[v, v]`` from v's column of G, solved over the whole graph to 1e-14 of its largest entry."""
    columns = np.zeros((W.shape[0], len(sources)))
    columns[sources, np.arange(len(sources))] = 1.0
    return spread(W, columns, damping=damping, tol=1e-14)[sources, np.arange(len(sources))]


@pytest.fixture(scope="module")
def registry() -> gs.Tables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        return gs.validate(generate_network(3000, seed=2))


@pytest.mark.parametrize("policy_path", [SPREAD_SPLIT, POLICIES / "diffusion.toml"], ids=lambda p: p.stem)
def test_spread_echo_on_a_registry_is_within_its_bound(registry, policy_path):
    """Every penalised entity's echo, as a score table gets it, against ``s[v] (G[v, v] - 1)``
    from a float64 solve of its column: never below, at most ECHO_TOL x own above. The test
    policy's W is not column-stochastic (its norms exceed 1), diffusion's is."""
    policy = gs.load_policy(policy_path)
    projection = gs.build_projection(registry, policy, "2024-06-30")
    found = model_echo(projection, policy)
    penalised = np.flatnonzero(projection.s > 0)
    exact = (_exact_diagonal(projection.W, penalised, policy.damping) - 1) * projection.s[penalised]
    assert (exact > 1e-2).sum() > 20  # most penalised entities lie on cycles: not a vacuous check
    _from_above(found[penalised], exact, ECHO_TOL * projection.s[penalised])
    assert not found[projection.s == 0].any()


def test_hop_sum_echo_on_a_registry_is_the_dense_diagonal(registry):
    """Under the shipped joint-punishment policy (hop, sum, two links) a penalised entity's echo
    is ``s[v] ((damping W)[v, v] + (damping W)^2[v, v])``, from dense matrix powers."""
    policy = gs.load_policy(POLICIES / "joint-punishment.toml")
    projection = gs.build_projection(registry, policy, "2024-06-30")
    A = policy.damping * projection.W.toarray()
    expected = (np.diag(A) + np.einsum("ij,ji->i", A, A)) * projection.s
    assert (expected > 0.1 * projection.s).sum() > 20  # most return through a legal representative
    np.testing.assert_allclose(model_echo(projection, policy), expected, rtol=1e-12, atol=1e-15)


def test_spread_echo_at_a_hub():
    """A person P (index 0) is legal representative of 20,000 companies: each company's penalty
    reaches P in full, P's is shared among them (split), and each company owns half of the next
    (a ring), so closed walks at P pass through every company. Echoes of P and of companies near
    and far from each other against their columns of G."""
    companies = 20_000
    ring = np.arange(1, companies + 1)
    rows = np.r_[np.zeros(companies, dtype=int), ring, np.roll(ring, -1)]
    cols = np.r_[ring, np.zeros(companies, dtype=int), ring]
    weights = np.r_[np.ones(companies), np.full(companies, 1 / companies), np.full(companies, 0.5)]
    W = sp.sparse.csr_array((weights, (rows, cols)), shape=(companies + 1, companies + 1))
    s = np.zeros(companies + 1)
    penalised = np.array([0, 1, 2, 10_000, companies])
    s[penalised] = [1.0, 0.5, 0.25, 1.0, 0.8]
    exact = (_exact_diagonal(W, penalised, 0.6) - 1) * s[penalised]
    assert exact[0] > 0.5
    _from_above(echo(W, s, damping=0.6)[penalised], exact, ECHO_TOL * s[penalised])


def test_an_entity_no_other_penalty_reaches_inherits_nothing():
    """Co (fine of 1) and its officer Pat reach each other, damping 0.5: all of Co's 1/3 above its
    own penalty is echo, and its inherited is exactly 0, not the echo's 1e-6 of slack."""
    from graphscore.toy import fined_company

    policy = gs.parse_policy('name="r"\ndamping=0.5\n[[transmit]]\nlink="OFFICER_OF"\ndirection="both"')
    scores = gs.score(fined_company(), policy, as_of="2024-01-01").set_index("id")
    company = scores.loc[scores["own"] > 0].iloc[0]
    assert company["inherited"] == 0.0 and company["echo"] == pytest.approx(1 / 3, abs=1e-9)  # the solve's accuracy


def test_a_divergent_spread_has_no_echo():
    """Two entities reaching each other with weight 2 at damping 0.6: the series diverges."""
    from graphscore.errors import ConvergenceError

    W = sp.sparse.csr_array([[0.0, 2.0], [2.0, 0.0]])
    with pytest.raises(ConvergenceError, match="spread diverges"):
        closed_walks(W, [0], damping=0.6)


@pytest.mark.parametrize("policy_path", [POLICIES / "diffusion.toml", POLICIES / "joint-punishment.toml"],
                         ids=lambda p: p.stem)
def test_one_entity_echo_is_the_score_tables_and_explain_agrees(registry, policy_path):
    """A dossier asks for one entity's echo, the score table for all: each source's pushes (or
    walks) depend on nothing but itself, so the two are equal bit for bit. Explain's own
    contribution (the entity's penalty reaching itself, empty walk included) is own + echo, to
    the echo's accuracy and explain's own (a reverse push or a solve)."""
    policy = gs.load_policy(policy_path)
    ws = gs.Workspace(registry)
    projection = ws.projection(policy, "2024-06-30")
    everyone = model_echo(projection, policy)
    penalised = np.flatnonzero(projection.s > 0)
    chosen = penalised[np.argsort(-everyone[penalised], kind="stable")[[0, 1, 10, 50, -1]]]
    for idx in chosen:
        assert model_echo(projection, policy, [idx])[idx] == everyone[idx]
        entity = projection.ids[idx]
        why = explain(ws, policy, entity, as_of="2024-06-30")
        itself = sum(c["contribution"] for c in why.contributions if c["source"] == entity)
        own = projection.s[idx]
        assert itself - own == pytest.approx(everyone[idx], abs=2 * ECHO_TOL * own), entity
    assert everyone[chosen[0]] > 0.1 * projection.s[chosen[0]]  # a real echo among them


def test_the_echo_lets_go_of_the_compressed_columns_it_made_for_its_bound():
    """``W`` by source, made for the return bound alone, is not kept through the pushes (at 10^7
    links 0.24 GB of the score command's peak); one the projection had already stays, and the
    echo is the same either way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(200, seed=3))
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    fresh = gs.build_projection(tables, policy, "2021-06-30")
    echoed = model_echo(fresh, policy)
    assert echoed.any() and "W_by_source" not in vars(fresh)
    held = gs.build_projection(tables, policy, "2021-06-30")
    by_source = held.W_by_source
    np.testing.assert_array_equal(model_echo(held, policy), echoed)
    assert held.W_by_source is by_source
