"""Hop-limited spillover: the spread series cut at ``max_hops``, summed or maxed over paths."""

from __future__ import annotations

import numpy as np
import scipy as sp

__all__ = ["hop", "hop_change"]

_AGGREGATES = ("sum", "max")


def hop(W: sp.sparse.sparray, s: np.ndarray, *, damping: float = 0.6, max_hops: int = 2,
        aggregate: str = "sum") -> np.ndarray:
    """Penalty reaching each entity along paths of at most ``max_hops`` links.

    With ``aggregate="sum"``, ``x = sum_{k=0..max_hops} (damping W)^k s``: the spread series
    cut after ``max_hops`` terms (linear in s, so it splits by source exactly). With
    ``aggregate="max"``, ``x[v]`` is the largest ``s[u] * prod(damping * W)`` over all walks
    from u to v of at most ``max_hops`` links, including ``s[v]`` itself: a penalty reaches an
    entity once, through its strongest link, and never accumulates over parallel paths — how
    legal restrictions such as joint punishment work (a person is restricted or not, however
    many of their companies are blacklisted). No convergence condition is needed.

    Parameters
    ----------
    W : (n, n) sparse array
        Transmission matrix; ``W[v, u]`` is the part of u's penalty reaching v in one step.
    s : (n,) or (n, k) ndarray
        Own penalty weight of each entity, non-negative; k columns are k independent runs.
    damping : float
        Attenuation per hop, in [0, 1].
    max_hops : int
        Longest path counted, >= 0.
    aggregate : {"sum", "max"}
        Add contributions over paths, or keep the strongest.

    Returns
    -------
    x : ndarray, same shape as s

    Examples
    --------
    Two parallel paths from 0 to 3 (through 1 and through 2), each of strength 0.5:

    >>> W = sp.sparse.csr_array(([1.0, 1.0, 1.0, 1.0], ([1, 2, 3, 3], [0, 0, 1, 2])), shape=(4, 4))
    >>> hop(W, np.array([1.0, 0, 0, 0]), damping=0.5, max_hops=2, aggregate="sum").tolist()
    [1.0, 0.5, 0.5, 0.5]
    >>> hop(W, np.array([1.0, 0, 0, 0]), damping=0.5, max_hops=2, aggregate="max").tolist()
    [1.0, 0.5, 0.5, 0.25]
    >>> hop(W, np.array([1.0, 0, 0, 0]), damping=0.5, max_hops=1).tolist()
    [1.0, 0.5, 0.5, 0.0]

    References
    ----------
    .. [1] State Council of the PRC, "Guiding Opinions on Establishing and Improving the Joint
       Incentive Mechanism for Keeping Faith and the Joint Punishment Mechanism for Dishonesty",
       Guofa [2016] No. 33 (restrictions reach named responsible persons, not paths).
    .. [2] Katz, "A new status index derived from sociometric analysis", Psychometrika 18, 1953
       (the truncated power series of an attenuated adjacency matrix).
    """
    if not 0 <= damping <= 1:
        raise ValueError(f"damping must be in [0, 1], got {damping}.")
    if isinstance(max_hops, bool) or not isinstance(max_hops, (int, np.integer)) or max_hops < 0:
        raise ValueError(f"max_hops must be a whole number >= 0, got {max_hops!r}.")
    if aggregate not in _AGGREGATES:
        raise ValueError(f"aggregate must be 'sum' or 'max', got {aggregate!r}.")
    s = np.asarray(s, dtype=float)
    if W.shape[0] != W.shape[1] or W.shape[0] != s.shape[0]:
        raise ValueError(f"W must be square and match s: W is {W.shape}, s is {s.shape}.")
    if (s < 0).any():
        raise ValueError("s must be non-negative.")
    A = damping * sp.sparse.csr_array(W, dtype=float)
    if aggregate == "sum":
        x, term = s.copy(), s.copy()
        for _ in range(max_hops):
            term = A @ term
            x += term
        return x
    # Max-product walks: one hop keeps, for each v, the best of A[v, u] * y[u] over its in-links.
    coo = A.tocoo()
    x, y = s.copy(), s.copy()
    for _ in range(max_hops):
        reached = coo.data[:, None] * y[coo.col] if y.ndim == 2 else coo.data * y[coo.col]
        y = np.zeros_like(s)
        np.maximum.at(y, coo.row, reached)
        np.maximum(x, y, out=x)
    return x


def _within(indptr: np.ndarray, indices: np.ndarray, start: np.ndarray, hops: int) -> np.ndarray:
    """Sorted entities at most ``hops`` steps from ``start`` (included) in a compressed sparse
    structure: ``indices[indptr[u]:indptr[u + 1]]`` are the steps out of u."""
    seen = np.zeros(len(indptr) - 1, dtype=bool)
    seen[start] = True
    frontier = np.unique(start)
    for _ in range(hops):
        lengths = indptr[frontier + 1] - indptr[frontier]
        if not lengths.sum():
            break
        first = np.repeat(indptr[frontier] - np.cumsum(lengths) + lengths, lengths)
        ends = indices[first + np.arange(first.size)]
        frontier = np.unique(ends[~seen[ends]])
        seen[frontier] = True
    return np.flatnonzero(seen)


def hop_change(W: sp.sparse.sparray, s_before: np.ndarray, s_after: np.ndarray, x_before: np.ndarray, *,
               damping: float = 0.6, max_hops: int = 2, aggregate: str = "sum",
               by_source: sp.sparse.csc_array | None = None) -> np.ndarray:
    """Scores after a change of the own penalties, ``hop(W, s_after)`` exactly, computed on the
    part of the graph the change can reach.

    A score under :func:`hop` depends only on the penalties at most ``max_hops`` links upstream,
    so a change of ``s`` at a few entities moves only those within ``max_hops`` links downstream
    (the set ``A``). Under ``"sum"`` the change itself is ``hop`` of the change of ``s`` on
    ``W[A, A]`` (every walk of ``max_hops`` links or fewer from a changed entity stays in ``A``);
    under ``"max"`` the scores of ``A`` are ``hop`` of ``s_after`` on ``W[R, R]``, ``R`` the
    entities at most ``max_hops`` links upstream of ``A`` (every walk into ``A`` stays in ``R``).
    The rest keeps ``x_before``. Cost: the links of ``A`` (sum) or ``R`` (max), not of ``W``.

    Parameters
    ----------
    W : (n, n) sparse array
        As for :func:`hop`; compressed rows (``csr``) avoid a conversion.
    s_before, s_after : (n,) ndarray
        Own penalties before and after the change (non-negative).
    x_before : (n,) ndarray
        ``hop(W, s_before)`` with the same settings (e.g. a workspace's cached baseline).
    damping, max_hops, aggregate
        As for :func:`hop`.
    by_source : (n, n) csc_array, optional
        ``W`` in compressed columns, when the caller keeps it (a projection's ``W_by_source``).

    Returns
    -------
    x_after : (n,) ndarray

    Examples
    --------
    A chain 0 -> 1 -> 2 -> 3 and a penalty added at 0: under two hops, 3 is out of reach.

    >>> W = sp.sparse.csr_array(([1.0, 1.0, 1.0], ([1, 2, 3], [0, 1, 2])), shape=(4, 4))
    >>> before = np.zeros(4)
    >>> hop_change(W, before, np.array([1.0, 0, 0, 0]), hop(W, before), damping=0.5).tolist()
    [1.0, 0.5, 0.25, 0.0]

    References
    ----------
    Katz (1953), as for :func:`hop`: the truncated series reads ``s`` at most ``max_hops``
    links upstream, which is what confines the change.
    """
    by_source = sp.sparse.csc_array(W) if by_source is None else by_source
    changed = np.flatnonzero(s_after != s_before)
    x_after = np.array(x_before, dtype=float, copy=True)
    if not changed.size:
        return x_after
    reach = _within(by_source.indptr, by_source.indices, changed, max_hops)
    if aggregate == "sum":
        # lifting a penalty makes the change negative, and hop takes non-negative penalties
        delta = s_after[reach] - s_before[reach]
        halves = np.column_stack([np.clip(delta, 0, None), np.clip(-delta, 0, None)])
        moved = hop(by_source[reach][:, reach], halves, damping=damping, max_hops=max_hops, aggregate="sum")
        x_after[reach] += moved[:, 0] - moved[:, 1]
        return x_after
    W = sp.sparse.csr_array(W)
    upstream = _within(W.indptr, W.indices, reach, max_hops)  # W's rows: who reaches each entity
    scores = hop(W[upstream][:, upstream], s_after[upstream], damping=damping, max_hops=max_hops,
                 aggregate=aggregate)
    x_after[reach] = scores[np.searchsorted(upstream, reach)]
    return x_after
