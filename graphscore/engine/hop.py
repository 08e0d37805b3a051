"""Hop-limited spillover: the spread series cut at ``max_hops``, summed or maxed over paths."""

from __future__ import annotations

import numpy as np
import scipy as sp

__all__ = ["hop", "hop_change", "hop_row"]

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


def _gather(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, at: np.ndarray):
    """The entries of compressed slices ``at`` (sorted, unique): for each entry its slice's
    position in ``at``, its index and its value, in storage order."""
    lengths = indptr[at + 1] - indptr[at]
    owner = np.repeat(np.arange(at.size), lengths)
    first = np.repeat(indptr[at] - np.cumsum(lengths) + lengths, lengths)
    entries = first + np.arange(first.size)
    return owner, indices[entries], data[entries]


def _within(indptr: np.ndarray, indices: np.ndarray, start: np.ndarray, hops: int) -> np.ndarray:
    """Sorted entities at most ``hops`` steps from ``start`` (included) in a compressed sparse
    structure: ``indices[indptr[u]:indptr[u + 1]]`` are the steps out of u. Sets of entities are
    sorted arrays, never n-long masks: the cost follows the entities reached, not n."""
    seen = frontier = np.unique(start)
    for _ in range(hops):
        _, ends, _ = _gather(indptr, indices, indices, frontier)
        frontier = np.setdiff1d(ends, seen)
        if not frontier.size:
            break
        seen = np.union1d(seen, frontier)
    return seen


def _block(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, keep: np.ndarray) -> sp.sparse.csr_array:
    """``M[keep][:, keep]`` of the compressed rows ``(indptr, indices, data)`` of M, ``keep``
    sorted: read from the rows of ``keep`` alone (scipy's column selection scans every entry of M)."""
    owner, columns, values = _gather(indptr, indices, data, keep)
    at = np.minimum(np.searchsorted(keep, columns), keep.size - 1)
    inside = keep[at] == columns
    return sp.sparse.csr_array((values[inside], (owner[inside], at[inside])), shape=(keep.size, keep.size))


def _push_series(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, at: np.ndarray, amounts: np.ndarray,
                 *, damping: float, max_hops: int, aggregate: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`hop` of a vector that is ``amounts`` at ``at`` (sorted, unique) and 0 elsewhere,
    by hops along compressed slices (``indices[indptr[u]:indptr[u + 1]]``: where u's value goes,
    ``data`` the weights): the entities reached and their values, as sorted arrays. Each hop
    forms ``(damping * weight) * value``, the products :func:`hop` forms, so under ``"max"``
    every value is :func:`hop`'s bit for bit."""
    reached, totals, term = [at], [amounts], amounts
    for _ in range(max_hops):
        if not at.size:
            break
        owner, ends, weights = _gather(indptr, indices, data, at)
        carried = (damping * weights) * term[owner]
        at, slot = np.unique(ends, return_inverse=True)
        if aggregate == "sum":
            term = np.bincount(slot, weights=carried, minlength=at.size)
        else:
            term = np.zeros(at.size)
            np.maximum.at(term, slot, carried)
        reached.append(at)
        totals.append(term)
    entities, slot = np.unique(np.concatenate(reached), return_inverse=True)
    values = np.concatenate(totals)
    if aggregate == "sum":
        return entities, np.bincount(slot, weights=values, minlength=entities.size)
    best = np.zeros(entities.size)
    np.maximum.at(best, slot, values)
    return entities, best


def hop_change(W: sp.sparse.sparray, s: np.ndarray, x: np.ndarray, at: np.ndarray, s_at: np.ndarray, *,
               damping: float = 0.6, max_hops: int = 2, aggregate: str = "sum",
               by_source: sp.sparse.csc_array | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The scores :func:`hop` gives once the own penalties at ``at`` become ``s_at``, at the
    entities the change can move: worked out there alone, at a cost that follows them, not n.

    A score under :func:`hop` depends only on the penalties at most ``max_hops`` links upstream,
    so a change of ``s`` at a few entities C moves only those within ``max_hops`` links
    downstream (the set ``A``). Under ``"sum"`` the change is linear: ``hop`` of the change of
    ``s``, pushed along the links out of C for ``max_hops`` hops. Under ``"max"`` a score is the
    strongest walk into the entity; the walks from C are pushed out with the penalties before
    and after. Where C's old walk is weaker than the score, or the new one at least as strong,
    the new score is the larger of the old score and the new walk; elsewhere (C decided the
    score and lost weight) the model is run on the entities at most ``max_hops`` links upstream
    of those (every walk into them stays there). Nothing is read or written over all n entities.

    Parameters
    ----------
    W : (n, n) sparse array
        As for :func:`hop`; compressed rows (``csr``) avoid a conversion.
    s : (n,) ndarray
        Own penalties before the change (non-negative).
    x : (n,) ndarray
        ``hop(W, s)`` with the same settings (e.g. a workspace's cached baseline).
    at : (k,) ndarray of int
        The entities whose own penalty changes (distinct).
    s_at : (k,) ndarray
        Their own penalties after the change (non-negative).
    damping, max_hops, aggregate
        As for :func:`hop`.
    by_source : (n, n) csc_array, optional
        ``W`` in compressed columns, when the caller keeps it (a projection's ``W_by_source``).

    Returns
    -------
    entities : (m,) ndarray of int
        Sorted: every entity whose score can change (some may keep it); every other keeps ``x``.
    scores : (m,) ndarray
        Their scores after the change, ``hop(W, s_after)[entities]``.

    Examples
    --------
    A chain 0 -> 1 -> 2 -> 3 and a penalty added at 0: under two hops, 3 is out of reach.

    >>> W = sp.sparse.csr_array(([1.0, 1.0, 1.0], ([1, 2, 3], [0, 1, 2])), shape=(4, 4))
    >>> s = np.zeros(4)
    >>> entities, scores = hop_change(W, s, hop(W, s), np.array([0]), np.array([1.0]), damping=0.5)
    >>> entities.tolist(), scores.tolist()
    ([0, 1, 2], [1.0, 0.5, 0.25])

    References
    ----------
    Katz (1953), as for :func:`hop`: the truncated series reads ``s`` at most ``max_hops``
    links upstream, which is what confines the change.
    """
    by_source = sp.sparse.csc_array(W) if by_source is None else by_source
    at, s_at = np.asarray(at, dtype=np.int64), np.asarray(s_at, dtype=float)
    order = np.argsort(at)
    at, s_at = at[order], s_at[order]
    moved = s_at != s[at]
    at, s_at = at[moved], s_at[moved]
    if not at.size:
        return at, x[at]
    columns = (by_source.indptr, by_source.indices, by_source.data)
    if aggregate == "sum":
        entities, delta = _push_series(*columns, at, s_at - s[at], damping=damping, max_hops=max_hops, aggregate="sum")
        return entities, x[entities] + delta
    entities, old = _push_series(*columns, at, s[at], damping=damping, max_hops=max_hops, aggregate="max")
    _, new = _push_series(*columns, at, s_at, damping=damping, max_hops=max_hops, aggregate="max")
    before = x[entities]
    scores = np.maximum(before, new)
    lost = (old >= before) & (new < old)  # C's walk decided the score and weakened: others may decide now
    if lost.any():
        W = W if isinstance(W, sp.sparse.csr_array) else sp.sparse.csr_array(W)
        upstream = _within(W.indptr, W.indices, entities[lost], max_hops)  # W's rows: who reaches each entity
        s_up = s[upstream]
        inside = np.searchsorted(upstream, at)
        inside = np.minimum(inside, upstream.size - 1)
        hit = upstream[inside] == at
        s_up[inside[hit]] = s_at[hit]
        rerun = hop(_block(W.indptr, W.indices, W.data, upstream), s_up, damping=damping, max_hops=max_hops,
                    aggregate="max")
        scores[lost] = rerun[np.searchsorted(upstream, entities[lost])]
    return entities, scores


def hop_row(W: sp.sparse.sparray, target: int, *, damping: float = 0.6, max_hops: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Row ``target`` of ``sum_{k=0..max_hops} (damping W)^k``: what one unit of own penalty at
    each entity adds to ``target``'s score under :func:`hop` with ``aggregate="sum"``, at the
    entities at most ``max_hops`` links upstream (every other adds nothing). Read backwards from
    the target along the rows of ``W`` (the links into each entity), so the cost follows those
    entities, not the register.

    Returns
    -------
    entities : (m,) ndarray of int
        Sorted.
    values : (m,) ndarray

    Examples
    --------
    A chain 0 -> 1 -> 2 -> 3: under two hops, 0 is too far from 3.

    >>> W = sp.sparse.csr_array(([1.0, 1.0, 1.0], ([1, 2, 3], [0, 1, 2])), shape=(4, 4))
    >>> entities, values = hop_row(W, 3, damping=0.5)
    >>> entities.tolist(), values.tolist()
    ([1, 2, 3], [0.25, 0.5, 1.0])
    """
    rows = W if isinstance(W, sp.sparse.csr_array) else sp.sparse.csr_array(W)
    return _push_series(rows.indptr, rows.indices, rows.data, np.array([target], dtype=np.int64), np.ones(1),
                        damping=damping, max_hops=max_hops, aggregate="sum")
