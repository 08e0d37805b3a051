"""DebtRank: distress in [0, 1] spreading along impacts. ``variant="original"`` is Battiston et al.
(2012), where each entity passes its distress on once; ``variant="differential"`` is Bardoscia et
al. (2015), where every change of distress is passed on."""

from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass

import numba
import numpy as np
import scipy as sp

from graphscore.errors import ConvergenceError

__all__ = ["DebtRankResult", "State", "VARIANTS", "debtrank", "impact_matrix"]

VARIANTS = ("original", "differential")
# The differential dynamics stops once no entity's distress changes by more than this in a step.
_SETTLED = 1e-13
# ... or, if a chain of impacts multiplies to within rounding of 1, after this many steps.
_MAX_DIFFERENTIAL_STEPS = 100_000


class State(enum.IntEnum):
    """State of an entity in the DebtRank dynamics."""

    UNDISTRESSED = 0  # U: no distress yet
    DISTRESSED = 1  # D: passes its distress on at the next step
    INACTIVE = 2  # I: has passed it on; never again, whatever it receives later


@dataclass(frozen=True)
class DebtRankResult:
    """Outcome of one DebtRank run.

    Attributes
    ----------
    h : (n,) ndarray
        Final distress ``h(T)`` of each entity, in [0, 1].
    systemic_impact : float
        ``R = sum_v h_v(T) value_v - sum_v h_v(1) value_v``: the value-weighted distress
        the network added to the initial shock, which is itself excluded.
    steps : int
        Propagation steps taken, ``T - 1`` in the paper's clock (which starts at t = 1).
    state : (n,) ndarray of int8
        Final :class:`State` of each entity. Original variant: every entity is U or I, unless
        ``max_steps`` cut the run short, in which case the D entities are those that had yet to
        pass on. Differential variant: D for every entity with distress (it would pass on any
        further change), U for the others.
    """

    h: np.ndarray
    systemic_impact: float
    steps: int
    state: np.ndarray


def impact_matrix(W: sp.sparse.sparray) -> sp.sparse.csr_array:
    """Impact of u on v as DebtRank reads it: ``min(1, W[v, u])``.

    Examples
    --------
    >>> impact_matrix(sp.sparse.csr_array([[0.0, 2.5], [0.4, 0.0]])).toarray()
    array([[0. , 1. ],
           [0.4, 0. ]])
    """
    impact = sp.sparse.csr_array(W, dtype=float, copy=True)
    # Several links between one pair add up in W (engine/matrix.py); cap the sum, not each link.
    impact.sum_duplicates()
    # An entity cannot lose more than all it has: the paper caps the impact at 1.
    np.minimum(impact.data, 1.0, out=impact.data)
    impact.eliminate_zeros()
    return impact


def debtrank(W: sp.sparse.sparray, h0: np.ndarray, *, values: np.ndarray | None = None,
             max_steps: int | None = None, variant: str = "original") -> DebtRankResult:
    """DebtRank: distress spreads along impacts; in the original variant each entity passes it
    on exactly once, in the differential one every change of distress is passed on.

    Entity u's distress reaches v with impact ``min(1, W[v, u])``. Entities with ``h0 > 0``
    start distressed (D), the others undistressed (U). At each step, with the paper's clock
    starting at t = 1 with ``h(1) = h0``::

        h_v(t) = min(1, h_v(t-1) + sum over u in D(t-1) of min(1, W[v, u]) * h_u(t-1))

    and then an entity that was D at t-1 becomes inactive (I), an entity that was U and has
    ``h_v(t) > 0`` becomes D, and every other keeps its state. An inactive entity can still
    receive distress, but never passes it on again, so distress cannot circle a cycle
    forever and the run ends (no entity D) after at most n steps. The systemic impact is::

        R = sum_v h_v(T) value_v - sum_v h_v(1) value_v,    value normalised to sum 1,

    the value-weighted distress the network induced beyond the initial shock.

    The differential variant (Bardoscia et al. 2015) drops the states: what travels along a
    link is the change of the sender's distress in the last step::

        h_v(t+1) = min(1, h_v(t) + sum over u of min(1, W[v, u]) * (h_u(t) - h_u(t-1))),

    with ``h(0) = 0`` and ``h(1) = h0``, until no distress changes. Summing the changes, this
    is ``h(t+1) = min(1, h0 + Lambda h(t))``: monotone in the impacts and in ``h0``, so a
    larger stake never lowers anyone's distress, and distress received late is passed on too.
    The original variant is not monotone: a small early distress makes an entity pass on that
    little once and go inactive, so a larger impact upstream can lower a total downstream; its
    scores are no bounds for uncertain stakes (policies refuse ``missing_share = "bounds"``
    with it).

    Parameters
    ----------
    W : (n, n) sparse array
        Transmission matrix, non-negative; ``W[v, u]`` is the weight with which u's distress
        reaches v in one step. Entries above 1 act as 1.
    h0 : (n,) ndarray
        Initial distress of each entity, in [0, 1].
    values : (n,) ndarray, optional
        Economic value of each entity, non-negative with a positive sum; normalised to sum 1
        to give the paper's relative value. Equal values when omitted.
    max_steps : int, optional
        Stop after this many steps even if some entity is still distressed; None runs the
        dynamics to its end.
    variant : {"original", "differential"}
        Battiston et al. (2012) or Bardoscia et al. (2015), as above.

    Returns
    -------
    DebtRankResult
        Final distress ``h``, ``systemic_impact`` R, ``steps`` taken and final ``state``.

    Raises
    ------
    ValueError
        If ``max_steps`` is negative, ``variant`` is unknown, shapes disagree, ``W`` has a
        negative or non-finite entry, ``h0`` leaves [0, 1], or ``values`` is negative or sums
        to zero.
    ConvergenceError
        If the differential dynamics is still changing after 100,000 steps (a cycle of impacts
        multiplying to within rounding of 1).

    Examples
    --------
    A shock takes half of entity 0's value. 0 passes it to 1 (impact 0.8: 0.4); 1 passes
    that back to 0 (impact 0.5: 0.2, and there it stops, 0 having passed its distress on
    already) and on to 2 (impact 2, capped at 1: 0.4):

    >>> W = sp.sparse.csr_array([[0.0, 0.5, 0.0],
    ...                          [0.8, 0.0, 0.0],
    ...                          [0.0, 2.0, 0.0]])
    >>> result = debtrank(W, np.array([0.5, 0.0, 0.0]))
    >>> result.h
    array([0.7, 0.4, 0.4])
    >>> round(result.systemic_impact, 6), result.steps
    (0.333333, 3)

    Differential: 0's distress keeps coming back round the cycle 0 -> 1 -> 0 (0.8 x 0.5 per
    round) and is passed on each time: ``h_0 = 0.5 / (1 - 0.4) = 0.833``, ``h_1 = 0.8 h_0``,
    and 2 is hit with impact 1:

    >>> debtrank(W, np.array([0.5, 0.0, 0.0]), variant="differential").h.round(4)
    array([0.8333, 0.6667, 0.6667])

    References
    ----------
    .. [1] Battiston, Puliga, Kaushik, Tasca, Caldarelli, "DebtRank: Too central to fail?
       Financial networks, the FED and systemic risk", Sci. Rep. 2:541, 2012,
       doi:10.1038/srep00541: the impact capped at 1, the updates of ``h_i(t)`` and of the
       state ``s_i(t)`` in {U, D, I} from ``h_i(1) = psi`` on the initially distressed set
       ``S_f``, and ``R = sum_j h_j(T) v_j - sum_j h_j(1) v_j``. Their clock starts at t = 1,
       so ``h(1)`` is the initial shock ``h0``, not the distress after one step. The paper
       writes ``W_ji`` for the impact of j on i; here that is ``W[i, j]``, and ``h0`` may
       differ from entity to entity where the paper uses one ``psi``.
    .. [2] Bardoscia, Battiston, Caccioli, Caldarelli, "DebtRank: A microscopic foundation for
       shock propagation", PLoS ONE 10(6): e0130406, 2015, doi:10.1371/journal.pone.0130406:
       the dynamics ``h_i(t+1) = min{1, h_i(t) + sum_j Lambda_ij (h_j(t) - h_j(t-1))}`` in which
       a bank transmits the variation of its equity loss in the last step, with
       ``h(0) = 0``; here ``Lambda[v, u] = min(1, W[v, u])``, constant in time.
    """
    if max_steps is not None and (not isinstance(max_steps, numbers.Integral) or max_steps < 0):
        raise ValueError(f"max_steps must be a non-negative integer or None, got {max_steps!r}.")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}.")
    h0 = np.asarray(h0, dtype=float)
    _check_inputs(W, h0)
    relative_value = _relative_values(values, h0.shape[0])

    impact = impact_matrix(W)
    if variant == "differential":
        h, steps = _differential(impact, h0, max_steps)
        state = np.where(h > 0, State.DISTRESSED, State.UNDISTRESSED).astype(np.int8)
        return DebtRankResult(h=h, systemic_impact=float(relative_value @ (h - h0)), steps=steps, state=state)
    by_source = sp.sparse.csc_array(impact)  # column u: whom u's distress reaches
    h, state, steps = _original(by_source.indptr, by_source.indices, by_source.data, h0,
                                -1 if max_steps is None else max_steps)
    systemic_impact = float(relative_value @ (h - h0))
    return DebtRankResult(h=h, systemic_impact=systemic_impact, steps=int(steps), state=state)


@numba.njit(cache=True, nogil=True)
def _original(indptr, indices, impact, h0, max_steps):  # pragma: no cover - compiled
    """The original dynamics, step by step from the distressed entities only (``impact`` in
    compressed columns, ``max_steps`` -1 for none): each entity is distressed in one step at
    most, so the whole run reads each link once, where a product with all of the impacts per
    step read every link each step. Each entity's distress received in a step is summed over
    its senders in ascending order, as a product of the impacts in compressed rows with the
    senders' distress adds it up: the same sums, to the last bit."""
    n = h0.shape[0]
    h = h0.copy()
    state = np.zeros(n, dtype=np.int8)  # State.UNDISTRESSED
    frontier = np.flatnonzero(h0 > 0)
    state[frontier] = 1  # State.DISTRESSED
    added = np.zeros(n)
    received = np.zeros(n, dtype=np.bool_)
    reached = np.empty(n, dtype=np.int64)
    steps = 0
    while frontier.size and (max_steps < 0 or steps < max_steps):
        count = 0
        for u in frontier:  # ascending
            distress = h[u]
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                if not received[v]:
                    received[v] = True
                    reached[count] = v
                    count += 1
                added[v] += impact[e] * distress
        for u in frontier:
            state[u] = 2  # State.INACTIVE: passed on once, never again
        following = np.empty(count, dtype=np.int64)
        size = 0
        for k in range(count):
            v = reached[k]
            h[v] = min(1.0, h[v] + added[v])
            added[v], received[v] = 0.0, False
            if state[v] == 0 and h[v] > 0:
                state[v] = 1
                following[size] = v
                size += 1
        frontier = np.sort(following[:size])
        steps += 1
    return h, state, steps


def _differential(impact: sp.sparse.csr_array, h0: np.ndarray, max_steps: int | None) -> tuple[np.ndarray, int]:
    """Differential DebtRank: pass on each step's change of distress until nothing changes."""
    h, change = h0.copy(), h0.copy()  # h(1) - h(0), with h(0) = 0
    steps = 0
    while change.max(initial=0.0) > _SETTLED and (max_steps is None or steps < max_steps):
        if steps == _MAX_DIFFERENTIAL_STEPS:
            raise ConvergenceError(f"differential DebtRank still changing after {steps} steps: a cycle of "
                                   "impacts multiplies to within rounding of 1; lower the weights on it.")
        h_next = np.minimum(1.0, h + impact @ change)
        change, h = h_next - h, h_next
        steps += 1
    return h, steps


def _relative_values(values: np.ndarray | None, n: int) -> np.ndarray:
    """The paper's relative economic value: ``values`` normalised to sum 1 (equal by default)."""
    if values is None:
        return np.full(n, 1.0 / max(n, 1))
    values = np.asarray(values, dtype=float)
    if values.shape != (n,):
        raise ValueError(f"values must have one entry per entity: values is {values.shape}, n is {n}.")
    if not np.isfinite(values).all() or (values < 0).any() or values.sum() <= 0:
        raise ValueError("values must be finite and non-negative with a positive sum.")
    return values / values.sum()


def _check_inputs(W: sp.sparse.sparray, h0: np.ndarray) -> None:
    if h0.ndim != 1 or W.shape != (h0.shape[0], h0.shape[0]):
        raise ValueError(f"W must be square and match h0: W is {W.shape}, h0 is {h0.shape}.")
    data = sp.sparse.coo_array(W).data
    if not np.isfinite(data).all() or (data < 0).any():
        raise ValueError("W must be finite and non-negative: DebtRank impacts are losses, not gains.")
    if not np.isfinite(h0).all() or (h0 < 0).any() or (h0 > 1).any():
        raise ValueError("h0 must lie in [0, 1]: it is the fraction of value lost.")
