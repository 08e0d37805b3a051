"""Which way a penalty travelled: hop distance and the strongest path from a set of sources,
and each path's hops described (``describe_path``) and written out (``format_path``).

The strength of a path is the product of ``damping * W[v, u]`` over its hops, the amount of a
unit penalty that the path alone carries under the spread model. The strongest path is the
shortest one under lengths ``-log(damping * W[v, u])``: Dijkstra's algorithm, or Johnson's
where a hop carries more than it receives (``damping * W > 1``, a negative length). Johnson's
potentials come from a search that starts only at the gaining hops (:func:`johnson_potentials`),
and the searches stop once the entities asked about are settled (:func:`settle`,
:func:`distances_within`), so a question about part of a register costs what that part costs;
``tests/engine/test_paths.py`` checks every number against scipy's whole-graph searches.

References
----------
.. [1] Dijkstra, "A note on two problems in connexion with graphs", Numer. Math. 1, 1959.
.. [2] Johnson, "Efficient algorithms for shortest paths in sparse networks", J. ACM 24, 1977.
"""

from __future__ import annotations

import collections
import heapq
import warnings
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
import scipy as sp

from graphscore.engine.matrix import Projection

__all__ = ["PathTree", "strongest_paths", "HopWalks", "strongest_walks_to", "simple_paths_to", "settle", "hop_distances", "distances_within", "distances_from", "hop_lengths", "johnson_potentials", "describe_path", "describe_paths", "format_path", "last_hop_types"]


@dataclass(frozen=True)
class PathTree:
    """Shortest-path trees from the sources: ``hops[v]`` (inf when unreachable), ``strength[v]``
    of the strongest path, and ``predecessor[v]`` along it (-9999 at sources and unreached)."""

    hops: np.ndarray
    strength: np.ndarray
    predecessor: np.ndarray

    def path_to(self, v: int) -> list[int]:
        """Entity indices from a source to ``v`` along the strongest path ([] if unreachable)."""
        if not np.isfinite(self.strength[v]) or self.strength[v] <= 0:
            return []
        path = [v]
        while self.predecessor[path[-1]] >= 0:
            path.append(int(self.predecessor[path[-1]]))
        return path[::-1]


def strongest_paths(W: sp.sparse.sparray, sources, *, damping: float, targets=None) -> PathTree:
    """Hop distance and strongest path from any of ``sources`` to every entity, or to ``targets``.

    Parameters
    ----------
    W : (n, n) sparse array
        Transmission matrix; ``W[v, u]`` is the part of u's penalty reaching v in one step.
        In compressed columns (:attr:`~graphscore.engine.matrix.Projection.W_by_source`) it is
        read without a conversion.
    sources : iterable of int
    damping : float
        Attenuation per hop; a path's strength is the product of ``damping * W`` along it.
    targets : iterable of int, optional
        The entities whose paths are wanted. The searches then stop once every target is settled,
        so their cost follows the region the targets lie in, not the registry; entries of the
        tree beyond that region are left unreached. The targets' entries, and the strengths and
        predecessors of every entity on their paths, are those of the search over every entity.

    Notes
    -----
    Both searches are compiled passes over ``W``'s arrays as they are stored: a breadth-first
    search for the hops and Dijkstra's for the strengths, which settles the entities in the
    order scipy's ``dijkstra`` does and so gives its distances and predecessors bit for bit
    (:func:`_settle_in_order`). Where a hop gains, scipy's searches run with Johnson's
    reweighting (:func:`_strongest_with_gains`).

    Examples
    --------
    >>> W = sp.sparse.csr_array([[0, 0, 0], [0.5, 0, 0], [0.1, 1.0, 0]])  # 0->1->2 and 0->2
    >>> tree = strongest_paths(W, [0], damping=0.8)
    >>> tree.hops.tolist(), tree.path_to(2), round(float(tree.strength[2]), 3)
    ([0.0, 1.0, 1.0], [0, 1, 2], 0.32)
    """
    sources = np.asarray(sorted(set(int(i) for i in sources)), dtype=int)
    n = W.shape[0]
    if sources.size == 0:
        return PathTree(np.full(n, np.inf), np.zeros(n), np.full(n, -9999))
    if targets is not None:  # an array as it is: through a list, 320,000 targets took 0.09 s more
        targets = np.sort(np.asarray(targets if isinstance(targets, np.ndarray) else list(targets), dtype=int))
        # deduplicated once sorted: np.unique hashes integers first (numpy 2.4: 0.20-0.28 s for the
        # 320,000 targets of a spillover report at 10^6 links, against 0.02 s for this)
        distinct = np.ones(targets.size, dtype=bool)
        distinct[1:] = targets[1:] != targets[:-1]
        targets = targets[distinct]
        if not targets.size:
            # no path wanted: the sources alone are settled, as the searches would leave it,
            # without turning W around for them (0.1 s of a what-if that changes nothing at 10^6 links)
            dist = np.full(n, np.inf)
            dist[sources] = 0.0
            return PathTree(dist.copy(), np.exp(-dist), np.full(n, -9999, dtype=np.int32))
    # csgraph reads G[i, j] as an edge i -> j; W[v, u] is the edge u -> v. A W in compressed
    # columns (a projection's W_by_source) is that graph in compressed rows as it is: read in
    # place, where a copy of its arrays and of the lengths' took 0.1 s at 10^6 links.
    G = W.T if getattr(W, "format", None) == "csc" else sp.sparse.csr_array(W.T)
    weights = G.data.astype(float, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        lengths = -np.log(damping * weights)
    # csgraph drops explicit zeros as "no edge": a tiny length keeps such hops
    lengths[lengths == 0] = 1e-300
    if (lengths < 0).any():
        return _strongest_with_johnson(G, sources, targets, damping)
    lengths[weights == 0] = np.nan  # a link that carries nothing is no hop (csgraph drops it)
    wanted = np.zeros(n, dtype=np.bool_)
    if targets is not None:
        wanted[targets] = True
    left = n + 1 if targets is None else int(targets.size)  # no targets: never all settled
    hops = _hop_levels(G.indptr, G.indices, lengths, sources, wanted, left)
    dist, predecessor = _settle_in_order(G.indptr, G.indices, lengths, sources, wanted, left)
    return PathTree(hops, np.exp(-dist), predecessor)


def _strongest_with_johnson(G: sp.sparse.csr_array, sources: np.ndarray, targets: np.ndarray | None,
                            damping: float) -> PathTree:
    """:func:`strongest_paths` where a hop carries more than it receives (a negative length):
    scipy's breadth-first search and Johnson's reweighting, on a copy without the links that
    carry nothing."""
    G = sp.sparse.csr_array(G, dtype=float, copy=True)
    G.eliminate_zeros()
    hops = hop_distances(G, sources, targets)
    lengths = G.copy()
    lengths.data = -np.log(damping * lengths.data)
    lengths.data[lengths.data == 0] = 1e-300
    dist, predecessor = _strongest_with_gains(lengths, sources, targets)
    return PathTree(hops, np.exp(-dist), predecessor)


@numba.njit(cache=True, nogil=True)
def _hop_levels(indptr, indices, lengths, sources, wanted, left):  # pragma: no cover - compiled
    """Fewest links from the nearest source (breadth-first levels) over the hops whose length is
    not NaN, ``inf`` where none leads. The search stops once ``left`` entities of ``wanted``
    have their level (each level is final when found); the rest are then ``inf``."""
    n = indptr.shape[0] - 1
    hops = np.full(n, np.inf)
    queue = np.empty(n, dtype=np.int64)
    tail = 0
    for i in range(sources.shape[0]):
        hops[sources[i]] = 0.0
        queue[tail] = sources[i]
        tail += 1
        if wanted[sources[i]]:
            left -= 1
    head = 0
    while head < tail and left > 0:
        u = queue[head]
        head += 1
        for q in range(np.int64(indptr[u]), np.int64(indptr[u + 1])):
            v = np.int64(indices[q])
            if hops[v] == np.inf and lengths[q] == lengths[q]:
                hops[v] = hops[u] + 1.0
                queue[tail] = v
                tail += 1
                if wanted[v]:
                    left -= 1
    return hops


@numba.njit(cache=True, nogil=True, inline="always")
def _first(key, node, other_key, other_node):  # pragma: no cover - compiled
    """Whether the pair ``(key, node)`` leaves the queue before ``(other_key, other_node)``:
    the least distance first, and of equal distances the highest entity."""
    return key < other_key or (key == other_key and node > other_node)


@numba.njit(cache=True, nogil=True, inline="always")
def _push(keys, nodes, size, key, node):  # pragma: no cover - compiled
    """Put a pair on the binary heap of ``size`` pairs (sifted up); the new size."""
    k = size
    while k > 0:
        up = (k - 1) >> 1
        if not _first(key, node, keys[up], nodes[up]):
            break
        keys[k], nodes[k] = keys[up], nodes[up]
        k = up
    keys[k], nodes[k] = key, node
    return size + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _pop(keys, nodes, size):  # pragma: no cover - compiled
    """Take the first pair off the binary heap of ``size`` pairs (the last one sifted down
    from the top); the pair."""
    key, node = keys[0], nodes[0]
    size -= 1
    last_key, last_node = keys[size], nodes[size]
    k = 0
    while True:
        child = 2 * k + 1
        if child >= size:
            break
        if child + 1 < size and _first(keys[child + 1], nodes[child + 1], keys[child], nodes[child]):
            child += 1
        if not _first(keys[child], nodes[child], last_key, last_node):
            break
        keys[k], nodes[k] = keys[child], nodes[child]
        k = child
    keys[k], nodes[k] = last_key, last_node
    return key, node


@numba.njit(cache=True, nogil=True)
def _settle_in_order(indptr, indices, lengths, sources, wanted, left):  # pragma: no cover - compiled
    """Dijkstra's search from the nearest of ``sources`` over non-negative hop lengths (NaN: no
    hop), run as scipy's ``dijkstra(..., min_only=True, return_predecessors=True)`` runs it
    (since scipy 1.16; before, a Fibonacci heap took equal distances in another order), and
    stopped once ``left`` entities of ``wanted`` are settled.

    scipy keeps a binary heap of ``(-distance, entity)`` pairs, one pushed on every strict
    improvement and skipped when it comes off stale: the pair on top has the least distance,
    of equal ones the highest entity, and no two pairs in the queue are the same, so the
    entities are settled in one order whatever the heap's layout. This heap takes them off in
    that order and relaxes each one's hops in stored order with the same sums and the same
    strict comparisons: every distance and predecessor is scipy's, bit for bit (checked in
    ``tests/engine/test_paths.py``), read from the arrays as stored where scipy's takes a copy
    of the graph with its explicit zeros removed. Stopped early, each entity settled has its
    final distance and predecessor (set by entities settled before it); the others are reset
    to ``inf`` and -9999."""
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    predecessor = np.full(n, -9999, dtype=np.int32)
    settled = np.zeros(n, dtype=np.bool_)
    room = indices.shape[0] + sources.shape[0]  # a pair per source, at most one per hop
    keys, nodes = np.empty(room), np.empty(room, dtype=np.int64)
    size = 0
    for i in range(sources.shape[0]):
        dist[sources[i]] = 0.0
        size = _push(keys, nodes, size, 0.0, np.int64(sources[i]))
    while size > 0 and left > 0:
        du, u = _pop(keys, nodes, size)
        size -= 1
        if dist[u] < du:  # improved since it was pushed: settled then
            continue
        settled[u] = True
        if wanted[u]:
            left -= 1
        for q in range(np.int64(indptr[u]), np.int64(indptr[u + 1])):
            value = du + lengths[q]
            v = np.int64(indices[q])
            if value < dist[v]:  # never for a NaN length
                dist[v] = value
                predecessor[v] = u
                size = _push(keys, nodes, size, value, v)
    for v in range(n):
        if not settled[v]:
            dist[v] = np.inf
            predecessor[v] = -9999
    return dist, predecessor


@dataclass(frozen=True)
class HopWalks:
    """The strongest walk of at most ``max_hops`` links from every entity to one target, kept
    at the entities that have one: ``entities`` (sorted), ``values`` (each one's strongest walk),
    ``hops`` (its links; the fewest among equally strong walks), and what :meth:`walk_from`
    follows to spell it out. ``strength`` spells the values out over all ``n`` entities."""

    target: int
    n: int
    entities: np.ndarray
    values: np.ndarray
    hops: np.ndarray
    steps: tuple[tuple[np.ndarray, np.ndarray], ...]  # per k >= 1: entities (sorted) and the next entity on their best k-link walk

    @property
    def strength(self) -> np.ndarray:
        """Every entity's strongest walk (0 when none), all n of them."""
        strength = np.zeros(self.n)
        strength[self.entities] = self.values
        return strength

    def strength_of(self, u: int) -> float:
        """Entity ``u``'s strongest walk to the target (0 when none)."""
        at = int(np.searchsorted(self.entities, u))
        return float(self.values[at]) if at < self.entities.size and self.entities[at] == u else 0.0

    def walk_from(self, u: int) -> list[int]:
        """Entity indices from ``u`` to the target along the strongest walk ([] if none)."""
        at = int(np.searchsorted(self.entities, u))
        if at >= self.entities.size or self.entities[at] != u or self.values[at] <= 0:
            return []
        walk, k = [int(u)], int(self.hops[at])
        while k > 0:
            tails, heads = self.steps[k - 1]
            walk.append(int(heads[np.searchsorted(tails, walk[-1])]))
            k -= 1
        return walk


def strongest_walks_to(W: sp.sparse.sparray, target: int, *, damping: float, max_hops: int) -> HopWalks:
    """Strongest walks of at most ``max_hops`` links into ``target``: the paths the hop model
    with ``aggregate = "max"`` scores by (:func:`graphscore.engine.hop.hop`).

    A walk's strength is the product of ``damping * W`` along it; ``strength[u] * s[u]``
    maximised over u is exactly the hop-max score of ``target``. Found by the max-product
    recursion ``y_k[u] = max_w damping W[w, u] y_{k-1}[w]``, ``y_0`` the target's unit vector,
    whose arg-max at each step is the walk's next entity: so the deciding walk is the one that
    produced the score, never a stronger one longer than ``max_hops``. Each step reads the rows
    of ``W`` (the links into) the entities the one before reached, so the cost follows the
    entities within ``max_hops`` links upstream of the target, not the register.

    Examples
    --------
    A chain 0 -> 1 -> 2 -> 3 of weight 1 and a direct link 0 -> 3 of weight 0.1; damping 0.9.
    Within two links only the direct one reaches 3: 0.09, not the chain's 0.729.

    >>> W = sp.sparse.csr_array(([1.0, 1.0, 1.0, 0.1], ([1, 2, 3, 3], [0, 1, 2, 0])), shape=(4, 4))
    >>> walks = strongest_walks_to(W, 3, damping=0.9, max_hops=2)
    >>> round(walks.strength_of(0), 6), walks.walk_from(0)
    (0.09, [0, 3])
    >>> round(float(strongest_walks_to(W, 3, damping=0.9, max_hops=3).strength[0]), 6)
    0.729
    """
    rows = W if isinstance(W, sp.sparse.csr_array) else sp.sparse.csr_array(W)
    n = rows.shape[0]
    at, y = np.array([target], dtype=np.int64), np.ones(1)
    entities, best, hops = at, y, np.zeros(1, dtype=np.int64)
    steps = []
    for k in range(1, max_hops + 1):
        # the links into the entities reached, in the order a sweep over all of W meets them
        lengths = (rows.indptr[at + 1] - rows.indptr[at]).astype(np.int64)
        owner = np.repeat(np.arange(at.size), lengths)
        entries = np.repeat(rows.indptr[at].astype(np.int64) - np.cumsum(lengths) + lengths, lengths) + np.arange(owner.size)
        heads, tails = at[owner], rows.indices[entries].astype(np.int64)
        reached = (damping * rows.data[entries].astype(float)) * y[owner]
        # the strongest link out of each tail: sort by tail, strongest first, keep the first
        order = np.lexsort((-reached, tails))
        first = order[np.r_[True, tails[order][1:] != tails[order][:-1]]] if order.size else order
        at, y = tails[first], reached[first]
        steps.append((at, heads[first]))
        merged = np.union1d(entities, at)
        old, new = np.zeros(merged.size), np.zeros(merged.size)
        old_hops = np.zeros(merged.size, dtype=np.int64)
        old[np.searchsorted(merged, entities)], old_hops[np.searchsorted(merged, entities)] = best, hops
        new[np.searchsorted(merged, at)] = y
        better = new > old  # strictly: among equally strong walks the one with fewer links
        best, hops, entities = np.where(better, new, old), np.where(better, k, old_hops), merged
    return HopWalks(int(target), n, entities, best, hops, tuple(steps))


def simple_paths_to(W: sp.sparse.sparray, target: int, sources, *, damping: float, max_hops: int,
                    top: int) -> dict[int, list[tuple[list[int], float]]]:
    """The ``top`` strongest simple paths of at most ``max_hops`` links from each of ``sources``
    into ``target`` (strength: the product of ``damping * W`` along the path), strongest first.

    Every simple path into the target of at most ``max_hops`` links, grown backwards one link at
    a time from the target along the rows of ``W`` (the links into each path's first entity):
    the cost follows the walks of that length into the target, not the register, where a
    shortest-path search over path lengths would settle entities many links away.

    Examples
    --------
    0 -> 2 directly (0.2) and through 1 (1.0, then 0.5); damping 0.5:

    >>> W = sp.sparse.csr_array(([1.0, 0.5, 0.2], ([1, 2, 2], [0, 1, 0])), shape=(3, 3))
    >>> simple_paths_to(W, 2, [0], damping=0.5, max_hops=2, top=3)
    {0: [([0, 1, 2], 0.125), ([0, 2], 0.1)]}
    """
    rows = W if isinstance(W, sp.sparse.csr_array) else sp.sparse.csr_array(W)
    wanted = np.unique(np.asarray(list(sources), dtype=np.int64))
    found: dict[int, list[tuple[list[int], float]]] = {int(u): [] for u in wanted}
    paths = np.array([[target]], dtype=np.int64)  # each row a path, its first entity first
    steps = np.empty((1, 0))  # damping * W along each path, from its first entity onwards
    for _ in range(max_hops):
        if not paths.size:
            break
        firsts = paths[:, 0]
        lengths = (rows.indptr[firsts + 1] - rows.indptr[firsts]).astype(np.int64)
        owner = np.repeat(np.arange(firsts.size), lengths)
        entries = np.repeat(rows.indptr[firsts].astype(np.int64) - np.cumsum(lengths) + lengths, lengths) + np.arange(owner.size)
        tails = rows.indices[entries].astype(np.int64)
        grown = np.column_stack([tails, paths[owner]])
        grown_steps = np.column_stack([damping * rows.data[entries].astype(float), steps[owner]])
        # no entity twice, and no link that carries nothing (a stored zero)
        simple = ~(grown[:, 1:] == tails[:, None]).any(axis=1) & (grown_steps[:, 0] > 0)
        paths, steps = grown[simple], grown_steps[simple]
        hit = np.flatnonzero(np.isin(paths[:, 0], wanted))
        # each path's strength as a product from its source onwards, as the spread carries it
        for path, strength in zip(paths[hit].tolist(), np.prod(steps[hit], axis=1).tolist()):
            found[path[0]].append((path, strength))
    return {u: sorted(candidates, key=lambda found: -found[1])[:top] for u, candidates in found.items()}


_FIRST_LIMIT = 8.0  # first distance limit of a search that stops at its targets (see settle)
_LAST_LIMIT = 1024.0  # beyond this the search runs unlimited (targets possibly unreachable)


def settle(graph: sp.sparse.csr_array, sources: np.ndarray, targets: np.ndarray | None = None, *,
           unweighted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Distances and predecessors from the nearest of ``sources`` (scipy's multi-source Dijkstra,
    ``min_only=True``), searched only as far as the farthest of ``targets``.

    The search runs with a distance ``limit`` that doubles until every target lies within it
    (unlimited past ``_LAST_LIMIT``, without targets, or when they are most of the entities).
    Why the answer is the unlimited search's, bit for bit, at every entity within the limit:
    scipy's Dijkstra pops the queued entity of least distance (of highest index among equals),
    so the entities within the limit are popped in the same order and relaxed by the same sums,
    and an entity's predecessor, set only on a strict improvement, is the first-popped entity
    giving its final distance, one within the limit too. With hop lengths a hair below zero (rounding in Johnson's reweighting)
    an entity beyond the limit could undercut one at its edge, so the farthest target must lie
    ``1e-9`` inside the limit.

    Returns
    -------
    dist, predecessor : (n,) ndarray
        As ``scipy.sparse.csgraph.dijkstra(..., min_only=True, return_predecessors=True)``;
        ``inf`` and ``-9999`` beyond the region searched.

    Examples
    --------
    >>> chain = sp.sparse.csr_array(([1.0, 1.0, 1.0], ([0, 1, 2], [1, 2, 3])), shape=(4, 4))
    >>> dist, predecessor = settle(chain, np.array([0]), np.array([1]))
    >>> dist.tolist(), predecessor.tolist()
    ([0.0, 1.0, 2.0, 3.0], [-9999, 0, 1, 2])
    """
    graph = _int32_indices(graph)
    # no target: the sources alone are settled (an unlimited search took 0.5 s at 10^6 links
    # for a what-if that changes nothing)
    limit = np.inf if targets is None else _FIRST_LIMIT if targets.size else 0.0
    if targets is not None and _unlimited(targets, graph.shape[0]):
        limit = np.inf
    while True:
        with warnings.catch_warnings():
            # Johnson's reweighting leaves some lengths a rounding error below zero, as scipy's johnson does
            warnings.filterwarnings("ignore", "Graph has negative weights", UserWarning)
            dist, predecessor, _ = sp.sparse.csgraph.dijkstra(graph, indices=sources, min_only=True,
                                                              return_predecessors=True, unweighted=unweighted,
                                                              limit=limit)
        if limit == np.inf or not targets.size or dist[targets].max() <= limit - 1e-9 * max(limit, 1.0):
            return dist, predecessor
        limit = 2 * limit if limit < _LAST_LIMIT else np.inf


def hop_distances(graph: sp.sparse.csr_array, sources: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
    """Fewest links from the nearest of ``sources`` to each entity over the links of ``graph``
    (``graph[i, j]`` a link i -> j; ``inf`` where none leads, or beyond the region searched):
    :func:`settle`'s unweighted distances.

    Where that search would run unlimited (no ``targets``, or most of the entities), a
    breadth-first search does it: scipy's, from the source (or from one more entity linked to
    every source), its tree's depths then read by pointer jumping. At 10^6 links, reaching 320,000 entities, it
    took 0.02-0.05 s where the unweighted Dijkstra took 0.15-0.4 s. The distances are the same
    numbers (the predecessors of two shortest-hop searches may differ; none is returned).

    Examples
    --------
    >>> chain = sp.sparse.csr_array(([1.0, 1.0, 1.0, 1.0], ([0, 1, 2, 3], [1, 2, 3, 1])), shape=(5, 5))
    >>> hop_distances(chain, np.array([0])).tolist()
    [0.0, 1.0, 2.0, 3.0, inf]
    """
    n = graph.shape[0]
    if targets is not None and not _unlimited(targets, n):
        return settle(graph, sources, targets, unweighted=True)[0]
    root, joined = (int(sources[0]), graph) if sources.size == 1 else (n, _with_root(graph, sources))
    _, parent = sp.sparse.csgraph.breadth_first_order(joined, root, directed=True, return_predecessors=True)
    # depth by pointer jumping: each entity adds the depth of the one it points to and then
    # points where that one points, until all point at the root (log2 of the deepest rounds)
    up = np.where(parent >= 0, parent, np.arange(parent.size))
    depth = (parent >= 0).astype(np.int64)
    while True:
        further = up[up]
        if np.array_equal(further, up):
            break
        depth += depth[up]
        up = further
    hops = depth[:n] - (1.0 if root == n else 0.0)
    hops[up[:n] != root] = np.inf  # not below the root: no source leads there
    return hops


def _with_root(graph: sp.sparse.csr_array, sources: np.ndarray) -> sp.sparse.csr_array:
    """``graph`` with one more entity, the last, linked to every source."""
    n = graph.shape[0]
    indptr = np.append(graph.indptr, graph.indptr[-1] + sources.size)
    indices = np.concatenate([graph.indices, sources.astype(graph.indices.dtype)])
    return sp.sparse.csr_array((np.ones(indices.size), indices, indptr), shape=(n + 1, n + 1))


def _unlimited(targets: np.ndarray, n: int) -> bool:
    """Targets among most of the entities: limited searches would cross about the whole
    register, some of it twice (a spillover report reaching 320,000 of 322,000 entities: 0.79 s
    for its two trees, against 0.50 s unlimited at once)."""
    return 2 * targets.size > n


def distances_within(lengths: sp.sparse.csr_array, source: int, *, limit: float, to_target: np.ndarray,
                     cutoff: float, damping: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distances from ``source`` over non-negative hop lengths ``lengths[u, v]``, to every entity
    ``x`` no farther than ``limit`` whose distance plus ``to_target[x]`` (its distance to a
    target) is at most ``cutoff``: those entities (sorted) and their distances (every other
    entity's is taken as ``inf``).

    Dijkstra's search with the entities outside that ellipse never queued: on a register of a
    million links the search from one entity to ``limit`` settles a quarter of it, the ellipse
    a few dozen entities, and the answer is kept at those alone (no array of n per search).
    Within it the distances are those of
    ``scipy.sparse.csgraph.dijkstra(lengths, indices=source, limit=limit)`` bit for bit: an
    entity's distance is the least sum ``distance[u] + lengths[u, x]`` over the entities u
    settled before it, and each entity on the path giving it lies in the ellipse too (up to
    rounding, which a ``cutoff`` a hair above the ellipse wanted absorbs), so the same sums are
    formed whatever else is left out. With ``damping``, ``lengths`` holds weights ``w`` at most
    ``1 / damping`` and the hop lengths are :func:`hop_lengths` of them, worked out as they are read.

    Examples
    --------
    >>> chain = sp.sparse.csr_array(([1.0, 1.0, 5.0], ([0, 1, 0], [1, 2, 3])), shape=(4, 4))
    >>> entities, distances = distances_within(chain, 0, limit=10.0, to_target=np.array([2.0, 1.0, 0.0, np.inf]),
    ...                                        cutoff=2.0)
    >>> entities.tolist(), distances.tolist()
    ([0, 1, 2], [0.0, 1.0, 2.0])
    """
    entities, distances = _within(lengths.indptr, lengths.indices, lengths.data, np.int64(source), float(limit),
                                  np.asarray(to_target, dtype=float), float(cutoff), _weights_damping(damping))
    order = np.argsort(entities)
    return entities[order], distances[order]


def _weights_damping(damping: float | None) -> float:
    """The compiled searches' ``damping``: 0 when they read hop lengths, else the damping their
    weights' lengths are worked out with."""
    if damping is None:
        return 0.0
    if not 0 < damping:
        raise ValueError(f"damping must be positive to read weights as hop lengths, got {damping!r}.")
    return float(damping)


@numba.njit(cache=True, nogil=True, inline="always")
def _hop_length(w, damping):  # pragma: no cover - compiled
    """``-log(damping w)``, a length of 0 made 1e-300 (csgraph reads an explicit 0 as no hop)."""
    length = -np.log(damping * w)
    return length if length != 0.0 else 1e-300


@numba.njit(cache=True, nogil=True)
def _hop_lengths(weights, damping):  # pragma: no cover - compiled
    lengths = np.empty(weights.shape[0])
    for k in range(weights.shape[0]):
        lengths[k] = _hop_length(weights[k], damping)
    return lengths


def hop_lengths(weights: np.ndarray, damping: float) -> np.ndarray:
    """Hop lengths ``-log(damping * w)`` of weights at most ``1 / damping`` (non-negative; 0 is
    stored as 1e-300, which csgraph reads as a hop): a path's length is then minus the log of
    its strength, the product of ``damping * w`` along it. The same numbers as the searches
    given ``damping`` work out as they read each weight (the C library's ``log``), so lengths
    made here and lengths read there agree to the bit.

    Examples
    --------
    >>> [round(float(length), 6) for length in hop_lengths(np.array([1.0, 0.5]), 0.5)]
    [0.693147, 1.386294]
    >>> float(hop_lengths(np.array([2.0]), 0.5)[0])  # a hop carrying all it receives
    1e-300
    """
    return _hop_lengths(np.asarray(weights), float(damping))


@numba.njit(cache=True, nogil=True)
def _within(indptr, indices, data, source, limit, to_target, cutoff, damping):  # pragma: no cover - compiled
    """:func:`distances_within`'s search, compiled: a binary heap of ``(distance, entity)``
    pairs popped in the order Python's heapq pops them (least distance, then least index), so
    the same sums are formed in the same order as the interpreted loop it replaced (one
    entity's hops were a few microseconds of Python each, a dossier's 25 searches a fifth of
    a second). Distances are kept in a hash map of the entities queued."""
    dist = {source: 0.0}
    heap = [(0.0, source)]
    while len(heap) > 0:
        d, u = heapq.heappop(heap)
        if d > dist[u]:  # queued again since, with a shorter distance
            continue
        for q in range(np.int64(indptr[u]), np.int64(indptr[u + 1])):
            v = np.int64(indices[q])
            value = d + (data[q] if damping == 0.0 else _hop_length(data[q], damping))
            if value <= limit and value < dist.get(v, np.inf) and value + to_target[v] <= cutoff:
                dist[v] = value
                heapq.heappush(heap, (value, v))
    entities = np.empty(len(dist), dtype=np.int64)
    distances = np.empty(len(dist))
    k = 0
    for entity, distance in dist.items():
        entities[k] = entity
        distances[k] = distance
        k += 1
    return entities, distances


def distances_from(lengths: sp.sparse.csr_array, start: int, *, limit: float = np.inf,
                   until: np.ndarray | list[int] = (), beyond: tuple[float, float] | None = None,
                   most: int | None = None, damping: float | None = None) -> np.ndarray:
    """Every entity's distance from ``start`` over non-negative hop lengths ``lengths[u, v]``,
    ``inf`` beyond ``limit``: ``scipy.sparse.csgraph.dijkstra(lengths, indices=start,
    limit=limit)`` bit for bit (a distance is the least of the same sums, ``distance[u] +
    lengths[u, x]``, in whatever order they are formed). With ``until``, the search stops once
    every entity of it is settled (or none is left to settle), and with ``beyond = (add, scale)``
    goes on from there to ``(their largest distance + add) * scale``: the distances it settled
    are exact, the others ``inf``. With ``most``, it also stops once that many entities are
    settled: every entity nearer than the farthest distance returned is then settled (a search
    settles in order of distance), whatever lies at or beyond it may not be. With ``damping``,
    ``lengths`` holds weights at most ``1 / damping`` and the hop lengths are :func:`hop_lengths`
    of them, worked out as they are read.

    scipy's search sets up a heap node for every entity of the register before it starts (a
    tenth of a second at 10^7 links, however near it stops), and a search raised limit by limit
    starts again each time: this one asks for one array of n and stops where it is told to.

    Examples
    --------
    >>> chain = sp.sparse.csr_array(([1.0, 1.0, 5.0], ([0, 1, 0], [1, 2, 3])), shape=(4, 4))
    >>> distances_from(chain, 0).tolist(), distances_from(chain, 0, limit=2.0).tolist()
    ([0.0, 1.0, 2.0, 5.0], [0.0, 1.0, 2.0, inf])
    >>> float(distances_from(chain, 0, until=[1])[1])
    1.0
    >>> distances_from(chain, 0, until=[1], beyond=(0.5, 2.0))[:3].tolist()  # on to (1 + 0.5) x 2
    [0.0, 1.0, 2.0]
    >>> distances_from(chain, 0, most=2).tolist()  # the two nearest settled
    [0.0, 1.0, inf, inf]
    """
    until = np.asarray(until, dtype=np.int64)
    add, scale = beyond if beyond is not None else (np.nan, np.nan)
    return _from(lengths.indptr, lengths.indices, lengths.data, np.int64(start), float(limit), until,
                 float(add), float(scale), np.int64(most if most is not None else np.iinfo(np.int64).max),
                 _weights_damping(damping))


@numba.njit(cache=True, nogil=True)
def _from(indptr, indices, data, start, limit, until, add, scale, most, damping):  # pragma: no cover - compiled
    """:func:`distances_from`'s search, compiled: a binary heap of ``(distance, entity)`` pairs;
    ``add`` NaN when the search stops at the last entity of ``until``; it stops at ``most``
    entities settled."""
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    settled = np.zeros(n, dtype=np.bool_)
    wanted = np.zeros(n, dtype=np.bool_)
    left = 0
    for k in range(until.shape[0]):
        if not wanted[until[k]]:
            wanted[until[k]] = True
            left += 1
    dist[start] = 0.0
    heap = [(0.0, start)]
    count = 0
    while len(heap) > 0 and count < most:
        d, u = heapq.heappop(heap)
        if settled[u]:  # queued again since, with a shorter distance
            continue
        if d > limit:  # only after the entities of until: limit is then where to go on to
            break
        settled[u] = True
        count += 1
        if wanted[u]:
            left -= 1
            if left == 0:
                if np.isnan(add):
                    break
                limit = min(limit, (d + add) * scale)
        for q in range(np.int64(indptr[u]), np.int64(indptr[u + 1])):
            v = np.int64(indices[q])
            value = d + (data[q] if damping == 0.0 else _hop_length(data[q], damping))
            if value <= limit and value < dist[v]:
                dist[v] = value
                heapq.heappush(heap, (value, v))
    for v in range(n):  # a search stopped early leaves upper bounds behind
        if not settled[v]:
            dist[v] = np.inf
    return dist


def _int32_indices(graph: sp.sparse.csr_array) -> sp.sparse.csr_array:
    """The same graph with 32-bit indices, which csgraph reads in place (it copies 64-bit ones)."""
    if graph.indices.dtype == np.int32 and graph.indptr.dtype == np.int32:
        return graph
    if graph.nnz >= np.iinfo(np.int32).max:
        return graph
    return sp.sparse.csr_array((graph.data, graph.indices.astype(np.int32), graph.indptr.astype(np.int32)),
                               shape=graph.shape)


def johnson_potentials(lengths: sp.sparse.csr_array, *, start: float = 1e-300) -> np.ndarray:
    """Johnson's potentials: shortest distances from a virtual source one ``start`` hop from every
    entity, over hops ``lengths[u, v]`` (explicit zeros are no hop, as csgraph reads them).

    The distances Bellman-Ford gives, by a label-correcting search (queue-based Bellman-Ford)
    started at the tails of the negative hops: every other entity keeps ``start``, so only the
    entities a gaining hop improves are visited, where Bellman-Ford over the whole graph makes
    up to n passes over every link (hours on a register of a million links). Bellman-Ford's
    distances are the greatest fixed point below ``start`` of ``h[v] = min(h[v], h[u] + l(u, v))``
    in floating point, whatever order the hops are relaxed in, so these are the same numbers.

    Raises
    ------
    NegativeCycleError
        When a cycle gains (a best walk longer than the entities it visits).

    Examples
    --------
    >>> lengths = sp.sparse.csr_array(([2.0, -1.5, 1.0], ([0, 1, 2], [1, 2, 3])), shape=(4, 4))
    >>> johnson_potentials(lengths, start=0.0).tolist()
    [0.0, 0.0, -1.5, -0.5]
    """
    n = lengths.shape[0]
    indptr, indices, data = lengths.indptr, lengths.indices, lengths.data
    potential = np.full(n, start)
    steps = np.zeros(n, dtype=np.int64)
    parent: dict[int, int] = {}  # the hop that last lowered each potential
    tails = np.unique(np.repeat(np.arange(n), np.diff(indptr))[data < 0])
    queue, queued, visited = collections.deque(tails.tolist()), set(tails.tolist()), set(tails.tolist())
    while queue:
        u = queue.popleft()
        queued.discard(u)
        hops = slice(indptr[u], indptr[u + 1])
        heads, candidate = indices[hops], potential[u] + data[hops]
        better = (candidate < potential[heads]) & (data[hops] != 0)
        for v, value in zip(heads[better].tolist(), candidate[better].tolist()):
            potential[v], steps[v] = value, steps[u] + 1
            visited.add(v)
            # A cycle of last-lowering hops gains (Tarjan's test): found when it closes, where
            # counting steps alone lets the gains run round the cycle up to n times, each
            # time through everything it reaches (minutes on 5,000 entities with many cycles).
            ancestor = u
            while ancestor in parent and ancestor != v:
                ancestor = parent[ancestor]
            if ancestor == v or steps[v] > len(visited):
                raise sp.sparse.csgraph.NegativeCycleError("a cycle of hops gains")
            parent[v] = u
            if v not in queued:
                queue.append(v)
                queued.add(v)
    return potential


def _strongest_with_gains(lengths: sp.sparse.csr_array, sources: np.ndarray,
                          targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Shortest paths when some hops carry more than they receive (negative lengths):
    Johnson's algorithm from a virtual source joined to every real one. If a cycle gains
    (possible under the hop model, never under a convergent spread), the strongest walk is
    unbounded; gains are then capped at zero, which names a strong path if not the strongest.

    This is scipy's ``johnson`` on that joined graph step by step, with two changes that leave
    every number as it was: the potentials come from :func:`johnson_potentials` (the same
    distances as its Bellman-Ford, which makes n passes over every link), and the Dijkstra
    search stops at the targets (:func:`settle`). The reweighting ``(l + h[u]) - h[v]`` and the
    correction ``+ h[v] - h[virtual]`` are summed in scipy's order."""
    n = lengths.shape[0]
    try:
        # scipy's Bellman-Ford starts every entity at 0, its virtual source's hops being 0 long
        potential = np.append(johnson_potentials(lengths, start=0.0), 0.0)
    except sp.sparse.csgraph.NegativeCycleError:
        capped = lengths.copy()
        capped.data = np.maximum(capped.data, 1e-300)
        return settle(capped, sources, targets)
    rows = np.repeat(np.arange(n), np.diff(lengths.indptr))
    reweighted = np.concatenate([lengths.data + potential[rows] - potential[lengths.indices],
                                 np.full(sources.size, 1e-300) + potential[n] - potential[sources]])
    joined = sp.sparse.csr_array((reweighted, np.concatenate([lengths.indices, sources]),
                                  np.append(lengths.indptr, lengths.indptr[-1] + sources.size)), shape=(n + 1, n + 1))
    dist, predecessor = settle(joined, np.array([n]), targets)
    dist = dist + potential
    dist -= potential[n]
    dist, predecessor = dist[:n], predecessor[:n]
    predecessor[predecessor == n] = -9999
    dist[sources] = 0.0
    return dist, predecessor


def describe_path(projection: Projection, path: list[int]) -> list[dict]:
    """Each hop of a path as a dict: from / to ids, the link (type, role, share, written
    direction, source reference) and the hop's weight. Where several links join one pair, the
    strongest is named, ``links`` says how many there are and ``pair_weight`` what they carry
    together (the entry of ``W``, under the policy's ``parallel``)."""
    return describe_paths(projection, [path])[0]


def describe_paths(projection: Projection, paths: list[list[int]]) -> list[list[dict]]:
    """:func:`describe_path` of each path, with the links of all their hops looked up at once
    (one lookup per hop took a quarter of a second for a report's 500 paths)."""
    pairs = [(u, v) for path in paths for u, v in zip(path, path[1:])]
    if not pairs:  # no hop to name: no links looked up (0.06 s of a what-if that changes nothing at 10^6 links)
        return [[] for _ in paths]
    columns = projection.strongest_edges(np.array([u for u, _ in pairs], dtype=np.int64),
                                         np.array([v for _, v in pairs], dtype=np.int64))
    if not columns["found"].all():
        raise KeyError(pairs[int(np.flatnonzero(~columns["found"])[0])])
    hops = [{
        "from": projection.ids[u], "to": projection.ids[v], "type": columns["type"][k],
        "role": None if pd.isna(columns["role"][k]) else columns["role"][k],
        "share": None if pd.isna(columns["share"][k]) else float(columns["share"][k]),
        "direction": columns["direction"][k], "weight": float(columns["weight"][k]),
        "links": int(columns["links"][k]), "pair_weight": float(columns["pair_weight"][k]),
        "source_ref": None if pd.isna(columns["source_ref"][k]) else columns["source_ref"][k],
    } for k, (u, v) in enumerate(pairs)]
    described, start = [], 0
    for path in paths:
        count = max(len(path) - 1, 0)
        described.append(hops[start:start + count])
        start += count
    return described


def format_path(names: dict, hops: list[dict]) -> str:
    """A path in Cypher-like arrows, links drawn the way they are written: the hops of
    :func:`describe_path`, entities by name (by id where ``names`` has none).

    Examples
    --------
    >>> format_path({"c": "LLC CST", "z": "Zakharov"},
    ...             [{"from": "c", "to": "z", "type": "OWNS", "role": None, "share": 0.51,
    ...               "direction": "backward", "weight": 0.51, "links": 1}])
    'LLC CST <-[OWNS 51%]- Zakharov'
    """
    if not hops:
        return ""
    text = names.get(hops[0]["from"], hops[0]["from"])
    for hop in hops:
        label = " ".join(str(x) for x in (hop["type"], hop["role"],
                                          None if hop["share"] is None else f"{hop['share']:.0%}") if x)
        arrow = f" -[{label}]-> " if hop["direction"] == "forward" else f" <-[{label}]- "
        text += arrow + str(names.get(hop["to"], hop["to"]))
    return text


# Past this share of the entities, last_hop_types reads the link type of every pair of W at once
# (kept with the projection) instead of the strongest edges of the pairs asked about: those
# pairs' search then covers much of the register anyway (5 s for 3 x 10^5 entities at 10^6
# links, in every report), where the types of all pairs cost it once.
_ALL_PAIRS_SHARE = 1 / 8
PAIR_TYPES = "pair types"  # its key in Projection.derived (kept on disk: graphscore.cache.KEPT_DERIVED)


def pair_types(projection: Projection) -> tuple[np.ndarray, tuple[str, ...]]:
    """The link type of the strongest edge of every pair of ``W``, aligned with ``W.data``
    (rows ``v``, columns ``u``): a code per pair, -1 where no edge is found, and the types the
    codes index. Found once per projection and kept with it.

    The strongest edges' pairs come sorted as ``W``'s are (rows, then columns), so they are
    matched to ``W``'s entries in one compiled pass over both (:func:`_match_pairs`), with no
    array of a key per pair: at 10^7 links each such array (int64) is 0.13 GB, and the lookup
    made four of them."""
    if PAIR_TYPES not in projection.derived:
        W = projection.W
        keys, rows = projection.strongest_links()
        codes = projection.source.timeline().codes
        table_code = _match_pairs(W.indptr, W.indices, W.shape[1], keys, rows, codes.type)
        del keys, rows
        # the types' names sorted, each pair's type a code into them (names, not the table's codes)
        present = np.flatnonzero(np.bincount(table_code[table_code >= 0], minlength=len(codes.types)))
        names = np.asarray(codes.types[present], dtype=str)
        renumber = np.full(len(codes.types) + 1, -1, dtype=np.int16)  # the last one for -1: no edge
        renumber[present[np.argsort(names)]] = np.arange(present.size, dtype=np.int16)
        projection.derived[PAIR_TYPES] = (renumber[table_code], tuple(np.sort(names).tolist()))
    return projection.derived[PAIR_TYPES]


@numba.njit(cache=True, nogil=True)
def _match_pairs(indptr, indices, n, keys, rows, type_code):  # pragma: no cover - compiled
    """For each entry of a CSR ``(indptr, indices)`` with sorted columns, the type code
    (``type_code[rows[j]]``) of the pair whose key ``keys[j] = v * n + u`` (ascending) is its
    row v and column u, -1 where no key is. One pass over both."""
    found = np.full(indices.shape[0], -1, dtype=np.int16)
    j = 0
    for v in range(indptr.shape[0] - 1):
        for k in range(indptr[v], indptr[v + 1]):
            key = v * n + indices[k]
            while j < keys.shape[0] and keys[j] < key:
                j += 1
            if j < keys.shape[0] and keys[j] == key:
                found[k] = type_code[rows[j]]
    return found


@numba.njit(cache=True, nogil=True)
def _entries(indptr, indices, v, u):  # pragma: no cover - compiled
    """Position in a CSR with sorted columns of each entry ``(v[k], u[k])``, -1 where there is
    none (or ``u[k]`` is negative): a binary search within row ``v[k]``."""
    at = np.full(v.shape[0], -1, dtype=np.int64)
    for k in range(v.shape[0]):
        if u[k] < 0:
            continue
        lo, hi = indptr[v[k]], indptr[v[k] + 1]
        while lo < hi:
            mid = (lo + hi) // 2
            if indices[mid] < u[k]:
                lo = mid + 1
            else:
                hi = mid
        if lo < indptr[v[k] + 1] and indices[lo] == u[k]:
            at[k] = lo
    return at


def last_hop_types(projection: Projection, tree: PathTree, indices: np.ndarray) -> np.ndarray:
    """Link type of the last hop on each entity's strongest path (None at sources and unreached):
    how the penalty reached it, for every entity at once, without describing whole paths."""
    indices = np.asarray(indices, dtype=int)
    u = tree.predecessor[indices].astype(np.int64)
    W = projection.W
    # each pair (u, v) of W found in W's row v, whose columns must be in order and once each
    # (canonical, as the projection makes W)
    many = indices.size >= _ALL_PAIRS_SHARE * projection.n or PAIR_TYPES in projection.derived
    if not many or not W.nnz or not W.has_canonical_format:
        edges = projection.strongest_edges(u, indices)
        return np.where(edges["found"], edges["type"], None)
    code, names = pair_types(projection)
    at = _entries(W.indptr, W.indices, indices.astype(np.int64), u)
    found = at >= 0
    found[found] = code[at[found]] >= 0
    return np.where(found, np.asarray(names + ("",), dtype=object)[np.where(found, code[at], -1)], None)
