"""The hop model against independent computations: the dense truncated series, a brute-force
walk enumeration for the max aggregate, and the spread model as max_hops grows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy as sp

import graphscore as gs
from graphscore.engine.hop import hop, hop_change
from graphscore.engine.spread import spread


def random_W(n: int, seed: int, scale: float = 0.3) -> sp.sparse.csr_array:
    rng = np.random.default_rng(seed)
    return sp.sparse.random_array((n, n), density=0.15, random_state=rng, format="csr") * scale


@pytest.mark.parametrize("max_hops", [0, 1, 2, 5])
def test_sum_is_the_truncated_series(max_hops):
    W, s = random_W(25, 1), np.random.default_rng(2).random(25)
    A = 0.7 * W.toarray()
    expected = sum(np.linalg.matrix_power(A, k) @ s for k in range(max_hops + 1))
    np.testing.assert_allclose(hop(W, s, damping=0.7, max_hops=max_hops), expected, rtol=1e-12)


def test_sum_tends_to_spread():
    W, s = random_W(40, 3), np.random.default_rng(4).random(40)
    np.testing.assert_allclose(hop(W, s, damping=0.5, max_hops=200), spread(W, s, damping=0.5), rtol=1e-10)


def brute_force_max(A: np.ndarray, s: np.ndarray, max_hops: int) -> np.ndarray:
    """Literal definition: the best s[u] * product of A along any walk u -> ... -> v."""
    n = len(s)
    best = s.copy()
    for length in range(1, max_hops + 1):
        for walk in itertools.product(range(n), repeat=length + 1):
            strength = s[walk[0]]
            for u, v in zip(walk, walk[1:]):
                strength *= A[v, u]
            best[walk[-1]] = max(best[walk[-1]], strength)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_max_matches_brute_force_over_walks(seed):
    W = random_W(6, seed, scale=1.5)  # weights above 1 too: walks, not only simple paths, count
    s = np.random.default_rng(seed + 10).random(6) * (np.arange(6) < 2)
    expected = brute_force_max(0.8 * W.toarray(), s, 3)
    np.testing.assert_allclose(hop(W, s, damping=0.8, max_hops=3, aggregate="max"), expected, rtol=1e-12)


def test_max_does_not_accumulate_over_a_persons_companies():
    """Pat represents three blacklisted companies: summed, the penalty triples; maxed, Pat is
    restricted once, as joint punishment restricts a person, not a count of paths."""
    W = sp.sparse.csr_array(([1.0, 1.0, 1.0], ([3, 3, 3], [0, 1, 2])), shape=(4, 4))
    s = np.array([1.0, 1.0, 1.0, 0.0])
    assert hop(W, s, damping=0.5, max_hops=1, aggregate="sum")[3] == pytest.approx(1.5)
    assert hop(W, s, damping=0.5, max_hops=1, aggregate="max")[3] == pytest.approx(0.5)


def test_several_columns_are_independent_runs():
    W = random_W(20, 5)
    S = np.random.default_rng(6).random((20, 3))
    for aggregate in ("sum", "max"):
        together = hop(W, S, damping=0.6, max_hops=3, aggregate=aggregate)
        for k in range(3):
            np.testing.assert_allclose(together[:, k], hop(W, S[:, k], damping=0.6, max_hops=3, aggregate=aggregate))


def test_hop_policy_scores_through_the_public_api(hand_tables):
    policy = gs.parse_policy('name="h"\nmodel="hop"\nmax_hops=1\naggregate="max"\ndamping=0.5\n'
                             '[[transmit]]\nlink="OFFICER_OF"\ndirection="both"\nweight=1.0')
    scores = gs.score(hand_tables, policy, as_of="2024-01-01").set_index("id")
    assert scores["total"].to_dict() == {"C1": 1.0, "C2": 0.0, "P": 0.5, "O": 0.0}  # C2 is 2 hops away


@pytest.mark.parametrize("kwargs, message", [
    ({"damping": 1.5}, r"damping must be in \[0, 1\], got 1\.5"),
    ({"max_hops": -1}, r"max_hops must be a whole number >= 0, got -1"),
    ({"max_hops": 1.5}, r"max_hops must be a whole number >= 0, got 1\.5"),
    ({"aggregate": "mean"}, r"aggregate must be 'sum' or 'max', got 'mean'"),
])
def test_hop_checks_its_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hop(random_W(3, 0), np.ones(3), **kwargs)


def test_hop_checks_shapes_and_signs():
    with pytest.raises(ValueError, match="must be square and match s"):
        hop(random_W(3, 0), np.ones(4))
    with pytest.raises(ValueError, match="non-negative"):
        hop(random_W(3, 0), -np.ones(3))


@pytest.mark.parametrize("aggregate", ["sum", "max"])
@pytest.mark.parametrize("max_hops", [0, 1, 2, 3])
def test_a_change_computed_where_it_reaches_equals_running_hop_again(aggregate, max_hops):
    """hop_change against hop on the whole graph, on random graphs with cycles and a hub, for
    penalties added, raised and lifted at one to three entities."""
    rng = np.random.default_rng(max_hops)
    for trial in range(20):
        n = 60
        rows, cols = rng.integers(0, n, 150), rng.integers(0, n, 150)
        rows, cols = np.r_[rows, np.arange(1, 30)], np.r_[cols, np.zeros(29, dtype=int)]  # entity 0 a hub
        W = sp.sparse.csr_array((rng.uniform(0.1, 1.0, rows.size), (rows, cols)), shape=(n, n))
        s_before = np.where(rng.random(n) < 0.2, rng.uniform(0.2, 1.0, n), 0.0)
        s_after = s_before.copy()
        at = rng.choice(n, size=rng.integers(1, 4), replace=False)
        at[0] = 0 if trial % 4 == 0 else at[0]
        s_after[at] = np.where(rng.random(at.size) < 0.5, 0.0, rng.uniform(0.1, 2.0, at.size))
        settings = dict(damping=0.7, max_hops=max_hops, aggregate=aggregate)
        x_before = hop(W, s_before, **settings)
        entities, scores = hop_change(W, s_before, x_before, at, s_after[at], **settings)
        got = x_before.copy()
        got[entities] = scores
        expected = hop(W, s_after, **settings)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        if aggregate == "max":  # products and maxima only: the same numbers to the bit
            assert np.array_equal(got, expected)
        reach = {int(i) for i in at}
        for _ in range(max_hops):  # only entities at most max_hops links downstream are returned
            reach |= {int(v) for v, u in zip(rows, cols) if u in reach}
        assert set(entities.tolist()) <= reach
        assert np.all(np.diff(entities) > 0)
