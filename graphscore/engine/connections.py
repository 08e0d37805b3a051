"""Shortest connections between two entities over links of any type, in either direction.

The question investigators ask before any score: *how* are these two connected? The answer is
every shortest chain of links between them (breadth-first search from both ends), not a
weighted path: a score's strongest paths are in :mod:`graphscore.engine.paths`. Integer
indices in, integer paths out; ids and link records are the caller's (:mod:`graphscore.analysis.trace`).
"""

from __future__ import annotations

import numpy as np
import scipy as sp

__all__ = ["undirected_adjacency", "hop_distances", "shortest_connections"]

UNREACHED = -1


def undirected_adjacency(source: np.ndarray, target: np.ndarray, n: int) -> sp.sparse.csr_array:
    """``A[u, v] = 1`` where some link joins u and v, either way; one entry per pair.

    Examples
    --------
    >>> undirected_adjacency(np.array([0, 0]), np.array([1, 1]), 3).toarray().tolist()
    [[0, 1, 0], [1, 0, 0], [0, 0, 0]]
    """
    index_type = np.int32 if n < 2**31 else np.int64
    rows = np.concatenate([source, target]).astype(index_type)
    cols = np.concatenate([target, source]).astype(index_type)
    keep = rows != cols  # a link of an entity to itself connects nothing
    adjacency = sp.sparse.csr_array((np.ones(int(keep.sum()), dtype=np.int8), (rows[keep], cols[keep])), shape=(n, n))
    adjacency.sum_duplicates()
    adjacency.data[:] = 1
    return adjacency


def hop_distances(adjacency: sp.sparse.csr_array, start: int, max_hops: int, stop_at: int | None = None) -> np.ndarray:
    """Links from ``start`` to each entity (``-1``: not within ``max_hops``), level by level;
    the search ends early once ``stop_at`` is reached. Cost: the links of the entities reached.

    Examples
    --------
    >>> a = undirected_adjacency(np.array([0, 1, 2]), np.array([1, 2, 3]), 5)
    >>> hop_distances(a, 0, 2).tolist()
    [0, 1, 2, -1, -1]
    """
    distance = np.full(adjacency.shape[0], UNREACHED, dtype=np.int32)
    distance[start] = 0
    frontier = np.array([start])
    for hop in range(1, max_hops + 1):
        if frontier.size == 0 or (stop_at is not None and distance[stop_at] != UNREACHED):
            break
        reached = _neighbours(adjacency, frontier)
        reached = reached[distance[reached] == UNREACHED]
        distance[reached] = hop
        frontier = reached
    return distance


def _neighbours(adjacency: sp.sparse.csr_array, rows: np.ndarray) -> np.ndarray:
    indptr, indices = adjacency.indptr, adjacency.indices
    starts, ends = indptr[rows], indptr[rows + 1]
    lengths = ends - starts
    if lengths.sum() == 0:
        return np.empty(0, dtype=np.int64)
    # positions starts[i] .. ends[i] - 1 of every row, without a Python loop over rows
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.unique(indices[np.arange(lengths.sum()) + offsets])


def shortest_connections(adjacency: sp.sparse.csr_array, start: int, end: int, *, max_hops: int = 6,
                         limit: int = 10) -> list[list[int]]:
    """Up to ``limit`` shortest chains of entities from ``start`` to ``end``, each a list of row
    indices beginning with ``start``; empty when they are more than ``max_hops`` links apart.
    Chains come in a fixed order (by the indices along them), so the same data give the same list.

    Entities on some shortest chain are those with ``d(start, v) + d(v, end) = d(start, end)``
    (two bounded breadth-first searches); chains are then read off that layered subgraph.

    Examples
    --------
    >>> a = undirected_adjacency(np.array([0, 0, 1, 2]), np.array([1, 2, 3, 3]), 4)
    >>> shortest_connections(a, 0, 3)
    [[0, 1, 3], [0, 2, 3]]
    """
    if start == end:
        return [[start]]
    from_start = hop_distances(adjacency, start, max_hops, stop_at=end)
    length = int(from_start[end])
    if length == UNREACHED:
        return []
    from_end = hop_distances(adjacency, end, length)
    on_chain = (from_start >= 0) & (from_end >= 0) & (from_start + from_end == length)
    chains: list[list[int]] = []

    def extend(chain: list[int]) -> None:
        if len(chains) >= limit:
            return
        last = chain[-1]
        if last == end:
            chains.append(chain)
            return
        step = len(chain)
        for nxt in adjacency.indices[adjacency.indptr[last]:adjacency.indptr[last + 1]]:
            if on_chain[nxt] and from_start[nxt] == step:
                extend(chain + [int(nxt)])

    extend([start])
    return chains
