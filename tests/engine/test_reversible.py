"""The diagonal of ``(I - damping W)^-1`` for a reversible W by one push per entity on its
symmetric form: against dense inverses and sparse LU solves in float64, and which W take it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy as sp

import graphscore as gs
from graphscore.engine.echo import ECHO_TOL, REVERSIBLE_FORM, closed_walks, find_cycles, model_echo
from graphscore.engine.reversible import reversible_diagonal, reversible_form
from graphscore.synthetic import generate_network
from tests.conftest import POLICIES, SPREAD_SPLIT


def _diffusion_W(seed: int, n: int = 12, density: float = 0.3) -> sp.sparse.csr_array:
    """``R D^-1``: R symmetric with random pair weights (a self-loop, two parts and an entity
    with no link among them), D its column sums."""
    rng = np.random.default_rng(seed)
    upper = np.triu((rng.random((n, n)) < density) * rng.uniform(0.1, 1.0, (n, n)), 1)
    R = upper + upper.T
    R[:, n - 1] = R[n - 1, :] = 0.0  # no link
    R[: n // 2, n // 2:] = R[n // 2:, : n // 2] = 0.0  # two parts
    R[1, 1] = 0.7  # a link to itself
    sums = R.sum(axis=0)
    return sp.sparse.csr_array(R / np.where(sums > 0, sums, 1.0))


def _brackets(found, exact, tol):
    """``found`` holds the exact value in ``[values, values + error]``, ``error <= tol`` (1e-13
    of float rounding aside)."""
    assert (found.values <= exact + 1e-13).all() and (exact <= found.values + found.error + 1e-13).all()
    assert (found.error <= tol).all(), found.error.max()


@pytest.mark.parametrize("damping", [0.3, 0.6, 0.95])
@pytest.mark.parametrize("seed", range(4))
def test_the_diagonal_is_bracketed_as_the_dense_inverse_has_it(seed, damping):
    W = _diffusion_W(seed)
    n = W.shape[0]
    exact = np.diag(np.linalg.inv(np.eye(n) - damping * W.toarray()))
    form = reversible_form(W)
    assert form is not None and form.kappa - 1 < 1e-14
    for tol in (1e-3, 1e-6, 1e-10):
        _brackets(reversible_diagonal(W, np.arange(n), damping=damping, tol=tol, form=form), exact, tol)


def test_a_w_off_balance_by_its_rounding_is_taken_with_the_defect_counted():
    """A W whose entries are off detailed balance by up to 1e-10 (far more than float64's
    rounding): its defect kappa > 1 widens the bounds, which still hold the exact value."""
    W = _diffusion_W(5, density=0.8)  # cycles: on a tree any weights balance
    W.data *= 1 + 1e-10 * np.random.default_rng(0).uniform(-1, 1, W.nnz)
    form = reversible_form(W)
    assert form is not None and 1 + 1e-12 < form.kappa < 1 + 1e-9
    exact = np.diag(np.linalg.inv(np.eye(12) - 0.9 * W.toarray()))
    _brackets(reversible_diagonal(W, np.arange(12), damping=0.9, tol=1e-8, form=form), exact, 1e-8)


def _star_W(seed: int, leaves: int = 50) -> sp.sparse.csr_array:
    """A hub tied both ways to ``leaves`` entities (a row longer than the ones sorted as they are
    copied), the leaves in a ring, a second part, all in shuffled numbering, as ``R D^-1``."""
    rng = np.random.default_rng(seed)
    n = leaves + 4
    R = np.zeros((n, n))
    R[0, 1:leaves + 1] = R[1:leaves + 1, 0] = rng.uniform(0.1, 1.0, leaves)
    ring = rng.uniform(0.1, 1.0, leaves)
    for k in range(leaves):
        a, b = 1 + k, 1 + (k + 1) % leaves
        R[a, b] = R[b, a] = ring[k]
    R[n - 3, n - 2] = R[n - 2, n - 3] = R[n - 2, n - 1] = R[n - 1, n - 2] = 0.5  # a second part
    shuffle = rng.permutation(n)
    R = R[shuffle][:, shuffle]
    return sp.sparse.csr_array(R / R.sum(axis=0))



def _hubs_W(seed: int, n: int = 1200, hubs: int = 4, spokes: int = 400, links: int = 1800) -> sp.sparse.csr_array:
    """A sparse random web (about 3 ties an entity) with ``hubs`` entities tied to ``spokes``
    each, as ``R D^-1``: the shape of the registries' W, where a few hubs carry a large part of
    a push's links."""
    rng = np.random.default_rng(seed)
    R = np.zeros((n, n))
    R[rng.integers(hubs, n, links), rng.integers(hubs, n, links)] = rng.uniform(0.1, 1.0, links)
    for h in range(hubs):
        R[h, rng.permutation(np.arange(hubs, n))[:spokes]] = rng.uniform(0.1, 1.0, spokes)
    R = np.triu(R + R.T, 1)
    R = R + R.T
    tied = R.sum(axis=0) > 0
    R = R[tied][:, tied]
    return sp.sparse.csr_array(R / R.sum(axis=0))


@pytest.mark.parametrize("damping", [0.6, 0.95])
@pytest.mark.parametrize("seed", range(2))
def test_the_diagonal_is_bracketed_where_hubs_carry_the_links(seed, damping):
    """Hubs pushed after the entities whose share of the square norm per link is larger: the
    bounds hold as the dense inverse has them, hubs and their spokes included."""
    W = _hubs_W(seed)
    n = W.shape[0]
    exact = np.diag(np.linalg.inv(np.eye(n) - damping * W.toarray()))
    for tol in (1e-3, 1e-6):
        _brackets(reversible_diagonal(W, np.arange(n), damping=damping, tol=tol), exact, tol)


def test_a_push_weighs_what_it_takes_off_the_norm_against_the_links_it_follows():
    """On the hub-heavy W the pushes ordered by the share of the square norm alone (main at
    e218c55) followed 22,334,143 links for every entity's diagonal at damping 0.6; by that share
    per link of the row, 17,234,538."""
    W = _hubs_W(0)
    found = reversible_diagonal(W, np.arange(W.shape[0]), damping=0.6, tol=1e-6)
    assert found.links.sum() < 0.85 * 22_334_143


@pytest.mark.parametrize("make", [lambda seed: _diffusion_W(seed, density=0.5), _star_W], ids=["random", "star"])
@pytest.mark.parametrize("seed", range(3))
def test_the_form_is_what_its_definition_says_on_dense_references(make, seed):
    """The scaling balances every link (W[v, u] d_u = W[u, v] d_v) with each part's first entity
    at 1; kappa is the largest imbalance, the radius kappa times the smaller of the largest column
    and row sums, both from the dense matrix; the order is the breadth-first order from each part's
    first entity in turn (scipy's), reversed; the rows are W renumbered by it, columns sorted."""
    W = make(seed)
    W.data *= 1 + 1e-11 * np.random.default_rng(seed).uniform(-1, 1, W.nnz)  # a defect to measure
    dense, n = W.toarray(), W.shape[0]
    form = reversible_form(W)
    assert form is not None
    d = form.weights
    links = np.nonzero(dense)
    ratio = dense[links] * d[links[1]] / (dense.T[links] * d[links[0]])
    np.testing.assert_allclose(form.kappa, np.sqrt(np.maximum(ratio, 1 / ratio).max()), rtol=1e-15)
    assert 1 < form.kappa < 1 + 1e-9
    parts = sp.sparse.csgraph.connected_components(W, directed=False)[1]
    firsts = np.unique(parts, return_index=True)[1]
    assert (d[firsts] == 1.0).all()
    sums = min(np.abs(dense).sum(axis=0).max(), np.abs(dense).sum(axis=1).max())
    np.testing.assert_allclose(form.radius, form.kappa * sums, rtol=1e-11)
    assert form.radius >= form.kappa * sums
    reached = np.concatenate([sp.sparse.csgraph.breadth_first_order(W, root, directed=True,
                                                                    return_predecessors=False) for root in firsts])
    np.testing.assert_array_equal(form.order, reached[::-1])
    np.testing.assert_array_equal(form.position[form.order], np.arange(n))
    renumbered = sp.sparse.csr_array(dense[form.order][:, form.order])
    assert form.rows.has_sorted_indices
    np.testing.assert_array_equal(form.rows.indptr, renumbered.indptr)
    np.testing.assert_array_equal(form.rows.indices, renumbered.indices)
    np.testing.assert_array_equal(form.rows.data, renumbered.data)
    exact = np.diag(np.linalg.inv(np.eye(n) - 0.9 * dense))
    _brackets(reversible_diagonal(W, np.arange(n), damping=0.9, tol=1e-9, form=form), exact, 1e-9)


def test_a_stored_zero_both_ways_is_no_link():
    """Two pairs joined by a zero stored both ways: two parts, each first entity at weight 1."""
    W = sp.sparse.csr_array((np.array([0.5, 0.0, 2.0, 0.0, 1.0, 1.0]),
                             (np.array([0, 1, 1, 2, 2, 3]), np.array([1, 2, 0, 1, 3, 2]))), shape=(4, 4))
    assert W.nnz == 6  # d_1 = d_0 * W[1, 0] / W[0, 1] = 4
    form = reversible_form(W)
    assert form.weights.tolist() == [1.0, 4.0, 1.0, 1.0] and form.kappa == 1.0


@pytest.mark.parametrize("case", ["one way", "one way off the tree", "unbalanced cycle", "off by 1e-6",
                                  "zero back", "zero back off the tree"])
def test_a_w_that_is_not_reversible_has_no_form(case):
    W = _diffusion_W(1, density=0.8).toarray()
    if case == "one way":
        W[0, 2], W[2, 0] = 0.5, 0.0
    elif case == "unbalanced cycle":  # every tie both ways, weights that do not balance around 0-1-2
        W = np.array([[0.0, 1.0, 0.5], [0.5, 0.0, 1.0], [1.0, 0.5, 0.0]])
    elif case == "off by 1e-6":  # a float32-like rounding is too far off to keep the accuracy
        W[W > 0] *= 1 + 1e-6 * np.random.default_rng(0).uniform(-1, 1, (W > 0).sum())
    elif case == "zero back":  # a stored zero one way, a link the other
        W = sp.sparse.csr_array((np.array([1.0, 0.0]), (np.array([0, 1]), np.array([1, 0]))), shape=(2, 2))
    else:  # 0 reaches 1 and 2 first, then a link 1 -> 2 with none back (or a zero back)
        W = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.5], [1.0, 0.0, 0.0]])
        if case == "zero back off the tree":
            W = sp.sparse.csr_array(W)
            W = sp.sparse.csr_array((np.append(W.data, 0.0), np.append(W.indices, 1), W.indptr + [0, 0, 0, 1]),
                                    shape=(3, 3))
    assert reversible_form(sp.sparse.csr_array(W)) is None
    with pytest.raises(ValueError, match="W is not reversible"):
        reversible_diagonal(sp.sparse.csr_array(W), [0], damping=0.5)


def test_a_form_whose_norm_does_not_prove_convergence_is_refused():
    W = sp.sparse.csr_array([[0.0, 2.0], [2.0, 0.0]])
    with pytest.raises(ValueError, match=r"damping \* kappa \* rho\(W\) = 1.2 >= 1"):
        reversible_diagonal(W, [0], damping=0.6)


@pytest.fixture(scope="module")
def registry() -> gs.Tables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        return gs.validate(generate_network(3000, seed=4))


@pytest.mark.parametrize("policy_path, reversible", [(POLICIES / "diffusion.toml", True),
                                                     (SPREAD_SPLIT, False)], ids=["diffusion", "spread-split"])
def test_only_a_reversible_projection_takes_the_push_on_its_symmetric_form(registry, policy_path, reversible):
    """Diffusion's W is reversible and its echo needs no cycles; the test policy's (a rule one
    way, a spread split among targets) is not and keeps the general method."""
    policy = gs.load_policy(policy_path)
    projection = gs.build_projection(registry, policy, "2024-06-30")
    model_echo(projection, policy)
    assert (projection.derived[REVERSIBLE_FORM] is not None) is reversible
    assert ("cycles" in projection.derived) is not reversible


def test_both_methods_agree_within_the_accuracy_on_a_registry(registry):
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    projection = gs.build_projection(registry, policy, "2024-06-30")
    penalised = np.flatnonzero(projection.s > 0)
    general = closed_walks(projection.W, penalised, damping=policy.damping, cycles=find_cycles(projection.W))
    reversible = closed_walks(projection.W, penalised, damping=policy.damping)
    assert np.abs(reversible - general).max() <= ECHO_TOL


def test_the_echo_of_a_larger_registry_is_bracketed_by_its_series():
    """A few hundred entities of a registry of about 10^5 links under diffusion: ``G[v, v]``
    as the series ``sum_k (damping W)^k`` in float64, 70 terms (W's columns sum to at most 1,
    so the rest is below ``0.6^70 / 0.4 < 1e-15``); each echo at least it and at most ECHO_TOL
    above. (A sparse LU of ``I - damping W`` fills in too much here to be a quick reference.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(20000, seed=9))
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    projection = gs.build_projection(tables, policy, "2024-06-30")
    n, W = projection.n, sp.sparse.csr_array(projection.W)
    assert abs(W).sum(axis=0).max() <= 1 + 1e-12 and policy.damping == 0.6
    chosen = np.random.default_rng(1).choice(n, 300, replace=False)
    term = np.zeros((n, chosen.size))
    term[chosen, np.arange(chosen.size)] = 1.0
    exact = np.zeros(chosen.size)
    for _ in range(70):
        term = policy.damping * (W @ term)
        exact += term[chosen, np.arange(chosen.size)]
    found = closed_walks(projection.W, chosen, damping=policy.damping)
    assert (found >= exact - 1e-12).all() and (found <= exact + 1e-15 + ECHO_TOL + 1e-12).all()
    assert W.nnz > 10**5 and (exact > 1e-3).sum() > 100  # most chosen entities have links
