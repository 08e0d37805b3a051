"""Hop-limited spillover: the spread series cut at ``max_hops``, summed or maxed over paths."""

from __future__ import annotations

import numpy as np
import scipy as sp

__all__ = ["hop"]

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
