"""Own-penalty echo (issue 9.10): hand-worked cases, and the closed-walk sums against a dense
inverse, dense matrix powers and brute-force walk enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy as sp

import graphscore as gs
from graphscore.engine.echo import closed_walks, echo
from graphscore.engine.paths import strongest_walks_to


def _random_W(seed: int, n: int = 9, density: float = 0.3) -> sp.sparse.csr_array:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n, n)) < density) * rng.uniform(0.1, 1.0, (n, n))
    return sp.sparse.csr_array(dense)


@pytest.mark.parametrize("seed", range(5))
def test_spread_echo_is_the_diagonal_of_the_inverse(seed):
    W = _random_W(seed)
    damping = 0.5 / max(abs(np.linalg.eigvals(W.toarray())).max(), 1e-9)
    G = np.linalg.inv(np.eye(9) - damping * W.toarray())
    s = np.random.default_rng(seed).uniform(0, 1, 9) * (np.arange(9) % 3 != 0)
    np.testing.assert_allclose(echo(W, s, damping=damping), (np.diag(G) - 1) * s, atol=1e-11)


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
    assert closed_walks(W, [0, 2], damping=0.5).tolist() == pytest.approx([1 / 3, 1 / 3], abs=1e-11)
    assert closed_walks(W, [0], damping=0.5, max_hops=1).tolist() == [0.0]


def test_several_penalised_entities_of_one_component_get_their_own_columns():
    """A triangle 0 -> 1 -> 2 -> 0 of weight 1 at damping 0.5: each entity's closed walks are
    3, 6, ... links long, 0.125 / (1 - 0.125) = 1/7 at each."""
    W = sp.sparse.csr_array(([1.0, 1.0, 1.0], ([1, 2, 0], [0, 1, 2])), shape=(3, 3))
    assert closed_walks(W, [0, 1, 2], damping=0.5).tolist() == pytest.approx([1 / 7] * 3, abs=1e-11)


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
