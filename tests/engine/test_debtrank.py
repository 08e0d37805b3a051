"""DebtRank against a hand-worked case and a slow loop transcribed from Battiston et al. (2012)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy as sp

import graphscore as gs
from graphscore.engine.debtrank import State, debtrank, impact_matrix
from graphscore.synthetic import generate_network
from tests.conftest import POLICIES

A, B, C, D = range(4)


def debtrank_literal(W: np.ndarray, h0: np.ndarray, values: np.ndarray) -> tuple[list[float], float]:
    """The paper's dynamics, one entity and one neighbour at a time, states as letters.

    The paper's W_ij is the impact of i on j, min(1, ...); in graphscore that is W[j, i].
    """
    n = len(h0)
    impact = [[min(1.0, W[j, i]) for j in range(n)] for i in range(n)]  # impact[i][j]: i on j
    v = [value / sum(values) for value in values]
    h = [float(x) for x in h0]  # h_i(1) = psi on S_f, 0 elsewhere
    s = ["D" if x > 0 else "U" for x in h0]
    while "D" in s:
        h_prev, s_prev = h[:], s[:]
        for i in range(n):
            h[i] = min(1.0, h_prev[i] + sum(impact[j][i] * h_prev[j] for j in range(n) if s_prev[j] == "D"))
        for i in range(n):
            if s_prev[i] == "D":
                s[i] = "I"
            elif h[i] > 0 and s_prev[i] != "I":
                s[i] = "D"
            else:
                s[i] = s_prev[i]
    R = sum(h[j] * v[j] for j in range(n)) - sum(h0[j] * v[j] for j in range(n))
    return h, R


@pytest.fixture
def cycle_graph() -> sp.sparse.csr_array:
    """A -> B (0.5), B -> C (0.6), C -> A (0.5): a cycle; B -> D (3.0, capped at 1);
    D -> A (1.0) and D -> C (0.9). W[v, u] is u's impact on v."""
    W = sp.sparse.lil_array((4, 4))
    W[B, A] = 0.5
    W[C, B] = 0.6
    W[A, C] = 0.5
    W[D, B] = 3.0
    W[A, D] = 1.0
    W[C, D] = 0.9
    return W.tocsr()


def test_hand_worked_cycle_with_caps(cycle_graph):
    """h(1) = (0.8, 0, 0, 0): A starts distressed.

    Step 1: D = {A}. h_B = 0.5 x 0.8 = 0.4. A -> I, B -> D.
    Step 2: D = {B}. h_C = 0.6 x 0.4 = 0.24, h_D = min(1, 3.0) x 0.4 = 0.4 (impact capped).
            B -> I, C and D -> D.
    Step 3: D = {C, D}. h_A = min(1, 0.8 + 0.5 x 0.24 + 1.0 x 0.4) = min(1, 1.32) = 1
            (distress capped); h_C = 0.24 + 0.9 x 0.4 = 0.6. C and D -> I; A, already I,
            passes none of its new distress on: were it to, B would gain 0.5 x 1 = 0.5.
    No entity is D: T is reached after 3 steps, h(T) = (1, 0.4, 0.6, 0.4).
    R = mean of h(T) - h(1) = (0.2 + 0.4 + 0.6 + 0.4) / 4 = 0.4.
    """
    result = debtrank(cycle_graph, np.array([0.8, 0.0, 0.0, 0.0]))
    np.testing.assert_allclose(result.h, [1.0, 0.4, 0.6, 0.4], rtol=1e-12)
    assert result.systemic_impact == pytest.approx(0.4, rel=1e-12)
    assert result.steps == 3
    assert (result.state == State.INACTIVE).all()


def test_systemic_impact_weighs_by_relative_value(cycle_graph):
    """values (1, 2, 3, 4) are relative values (0.1, 0.2, 0.3, 0.4); h(T) - h(1) is
    (0.2, 0.4, 0.6, 0.4), so R = 0.02 + 0.08 + 0.18 + 0.16 = 0.44; A's own shock of 0.8
    is excluded, as in the paper."""
    result = debtrank(cycle_graph, np.array([0.8, 0.0, 0.0, 0.0]), values=np.array([1.0, 2.0, 3.0, 4.0]))
    assert result.systemic_impact == pytest.approx(0.44, rel=1e-12)
    np.testing.assert_allclose(result.h, [1.0, 0.4, 0.6, 0.4], rtol=1e-12)


def test_max_steps_stops_the_run_early(cycle_graph):
    """After step 2 of the hand-worked case C and D are still distressed."""
    result = debtrank(cycle_graph, np.array([0.8, 0.0, 0.0, 0.0]), max_steps=2)
    np.testing.assert_allclose(result.h, [0.8, 0.4, 0.24, 0.4], rtol=1e-12)
    assert result.steps == 2
    assert result.state.tolist() == [State.INACTIVE, State.INACTIVE, State.DISTRESSED, State.DISTRESSED]


def random_case(seed: int, n: int = 25):
    rng = np.random.default_rng(seed)
    # weights up to 1.5 so that some impacts are capped, and no self-loops as in engine/matrix.py
    W = sp.sparse.random_array((n, n), density=0.12, random_state=rng, format="lil") * 1.5
    W.setdiag(0.0)
    h0 = np.where(rng.random(n) < 0.15, rng.choice([0.2, 0.5, 1.0], n), 0.0)
    values = rng.random(n) + 0.1
    return W.tocsr(), h0, values


@pytest.mark.parametrize("seed", range(8))
def test_matches_the_paper_transcribed_literally(seed):
    W, h0, values = random_case(seed)
    expected_h, expected_R = debtrank_literal(W.toarray(), h0, values)
    result = debtrank(W, h0, values=values)
    np.testing.assert_allclose(result.h, expected_h, rtol=1e-12, atol=1e-15)
    assert result.systemic_impact == pytest.approx(expected_R, rel=1e-12, abs=1e-15)
    assert result.h.shape == (25,) and (result.h >= h0).all() and (result.h <= 1).all()


def test_zero_shock_gives_zeros():
    W, _, values = random_case(0)
    result = debtrank(W, np.zeros(25), values=values)
    assert not result.h.any()
    assert result.systemic_impact == 0.0 and result.steps == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_relabelling_permutes_the_output(seed):
    W, h0, values = random_case(seed)
    order = np.random.default_rng(seed + 100).permutation(25)
    result = debtrank(W, h0, values=values)
    permuted = debtrank(W[order][:, order], h0[order], values=values[order])
    np.testing.assert_allclose(permuted.h, result.h[order], rtol=1e-12)
    assert permuted.systemic_impact == pytest.approx(result.systemic_impact, rel=1e-12)
    assert permuted.steps == result.steps


def test_debtrank_checks_its_inputs():
    W = sp.sparse.csr_array(np.array([[0.0, 0.5], [0.5, 0.0]]))
    with pytest.raises(ValueError, match=r"h0 must lie in \[0, 1\]"):
        debtrank(W, np.array([1.5, 0.0]))
    with pytest.raises(ValueError, match=r"h0 must lie in \[0, 1\]"):
        debtrank(W, np.array([-0.1, 0.0]))
    with pytest.raises(ValueError, match="W must be square and match h0"):
        debtrank(W, np.zeros(3))
    with pytest.raises(ValueError, match="W must be finite and non-negative"):
        debtrank(sp.sparse.csr_array(np.array([[0.0, -0.5], [0.5, 0.0]])), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="max_steps must be a non-negative integer"):
        debtrank(W, np.array([1.0, 0.0]), max_steps=-1)
    with pytest.raises(ValueError, match="values must have one entry per entity"):
        debtrank(W, np.array([1.0, 0.0]), values=np.ones(3))
    with pytest.raises(ValueError, match="values must be finite and non-negative with a positive sum"):
        debtrank(W, np.array([1.0, 0.0]), values=np.zeros(2))


# --- differential DebtRank (Bardoscia et al. 2015) ----------------------------------------------


def differential_literal(W: np.ndarray, h0: np.ndarray) -> list[float]:
    """Bardoscia et al.'s dynamics one entity at a time: each step passes on the change of
    distress h_j(t) - h_j(t-1), from h(0) = 0 and h(1) = h0, until nothing changes."""
    n = len(h0)
    impact = [[min(1.0, W[j, i]) for j in range(n)] for i in range(n)]  # impact[i][j]: i on j
    before, h = [0.0] * n, [float(x) for x in h0]
    while max(abs(a - b) for a, b in zip(h, before)) > 1e-15:
        change = [a - b for a, b in zip(h, before)]
        before = h
        h = [min(1.0, before[i] + sum(impact[j][i] * change[j] for j in range(n))) for i in range(n)]
    return h


def four_companies(unknown_stake: float) -> sp.sparse.csr_array:
    """A is penalised. A's penalty reaches B through a stake of unknown size (at most 10 %: its
    other owners hold 90 %), and through C in full (A -> C -> B, weight 1 each); B's reaches D in
    full."""
    W = sp.sparse.lil_array((4, 4))
    W[B, A] = unknown_stake
    W[C, A] = 1.0
    W[B, C] = 1.0
    W[D, B] = 1.0
    return W.tocsr()


def test_original_debtrank_is_not_monotone_in_a_stake():
    """Original, stake at its low end 0: C gets 1 at t = 2, passes it to B at t = 3, B to D at
    t = 4: D = 1.0. At its high end 0.1: B gets 0.1 at t = 2 and is distressed; at t = 3 it passes
    that 0.1 on to D and goes inactive while C's 1 lifts B to 1, which B never passes on: D = 0.1.
    The "high" run ends below the "low" one (1.0 > 0.1), so the two runs bound nothing."""
    h0 = np.array([1.0, 0, 0, 0])
    assert debtrank(four_companies(0.0), h0).h[D] == pytest.approx(1.0)
    assert debtrank(four_companies(0.1), h0).h[D] == pytest.approx(0.1)


def test_differential_debtrank_passes_late_distress_on():
    """Differential, high end: B's 0.1 at t = 2 and the 0.9 it gains at t = 3 both reach D,
    D = 1.0, as at the low end: low <= high."""
    h0 = np.array([1.0, 0, 0, 0])
    low = debtrank(four_companies(0.0), h0, variant="differential")
    high = debtrank(four_companies(0.1), h0, variant="differential")
    np.testing.assert_allclose(low.h, [1, 1, 1, 1])
    np.testing.assert_allclose(high.h, [1, 1, 1, 1])


@pytest.mark.parametrize("seed", range(6))
def test_differential_matches_the_paper_transcribed_literally(seed):
    W, h0, values = random_case(seed)
    result = debtrank(W, h0, values=values, variant="differential")
    np.testing.assert_allclose(result.h, differential_literal(W.toarray(), h0), rtol=1e-11, atol=1e-12)
    assert (result.h >= h0).all() and (result.h <= 1).all()


@pytest.mark.parametrize("seed", range(4))
def test_differential_is_monotone_in_the_weights(seed):
    """Raising weights (as a stake's high end does) never lowers anyone's distress."""
    W, h0, values = random_case(seed)
    higher = W.copy()
    higher.data *= 1 + np.random.default_rng(seed).random(higher.nnz)
    low = debtrank(W, h0, variant="differential").h
    high = debtrank(higher, h0, variant="differential").h
    assert (high >= low - 1e-12).all()


def test_unknown_variant_is_refused():
    W = sp.sparse.csr_array(np.array([[0.0, 0.5], [0.5, 0.0]]))
    with pytest.raises(ValueError, match="variant must be one of original, differential, got 'later'"):
        debtrank(W, np.array([1.0, 0.0]), variant="later")


def debtrank_by_products(W, h0: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The original dynamics as one product of all the impacts with the distressed entities'
    distress per step (what the engine did before it followed the distressed entities only)."""
    impact = impact_matrix(W)
    h, state, steps = h0.copy(), np.where(h0 > 0, 1, 0), 0
    while (state == 1).any():
        distressed = state == 1
        h = np.minimum(1.0, h + impact @ np.where(distressed, h, 0.0))
        state = np.where(distressed, 2, np.where((state == 0) & (h > 0), 1, state))
        steps += 1
    return h, state, steps


def test_following_the_distressed_gives_the_products_sums_on_the_synthetic_register():
    """The same distress to the last bit, the same states and steps, under the shipped policy."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(5_000, seed=1))
    projection = gs.build_projection(tables, gs.load_policy(POLICIES / "debtrank.toml"), "2024-06-30")
    h0 = np.clip(projection.s, 0.0, 1.0)
    result = debtrank(projection.W, h0)
    h, state, steps = debtrank_by_products(projection.W, h0)
    assert steps == result.steps > 5 and (h > h0).sum() > 1_000
    np.testing.assert_array_equal(result.h, h)
    np.testing.assert_array_equal(result.state, state)
