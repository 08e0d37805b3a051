"""DebtRank (Battiston et al. 2012): distress in [0, 1] that each entity passes on once."""

from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass

import numpy as np
import scipy as sp

__all__ = ["DebtRankResult", "State", "debtrank", "impact_matrix"]


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
        Final :class:`State` of each entity. Every entity is U or I, unless ``max_steps``
        cut the run short, in which case the D entities are those that had yet to pass on.
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
             max_steps: int | None = None) -> DebtRankResult:
    """DebtRank: distress spreads along impacts, each entity passes it on exactly once.

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

    Returns
    -------
    DebtRankResult
        Final distress ``h``, ``systemic_impact`` R, ``steps`` taken and final ``state``.

    Raises
    ------
    ValueError
        If ``max_steps`` is negative, shapes disagree, ``W`` has a negative or non-finite
        entry, ``h0`` leaves [0, 1], or ``values`` is negative or sums to zero.

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
    """
    if max_steps is not None and (not isinstance(max_steps, numbers.Integral) or max_steps < 0):
        raise ValueError(f"max_steps must be a non-negative integer or None, got {max_steps!r}.")
    h0 = np.asarray(h0, dtype=float)
    _check_inputs(W, h0)
    relative_value = _relative_values(values, h0.shape[0])

    impact = impact_matrix(W)
    h = h0.copy()
    state = np.where(h0 > 0, State.DISTRESSED, State.UNDISTRESSED).astype(np.int8)
    steps = 0
    while (state == State.DISTRESSED).any() and (max_steps is None or steps < max_steps):
        h, state = _step(impact, h, state)
        steps += 1
    systemic_impact = float(relative_value @ (h - h0))
    return DebtRankResult(h=h, systemic_impact=systemic_impact, steps=steps, state=state)


def _step(impact: sp.sparse.csr_array, h: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One DebtRank step: distressed entities pass on their whole distress, then go inactive."""
    distressed = state == State.DISTRESSED
    h_next = np.minimum(1.0, h + impact @ np.where(distressed, h, 0.0))
    state_next = np.where(distressed, State.INACTIVE,
                          np.where((state == State.UNDISTRESSED) & (h_next > 0), State.DISTRESSED, state))
    return h_next, state_next.astype(np.int8)


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
