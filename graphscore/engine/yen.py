"""The shortest simple paths between two nodes of a small weighted directed graph, shortest
first: Yen's algorithm, each spur found by bidirectional Dijkstra.

The steps, their order and every tie-break are networkx's ``shortest_simple_paths`` (networkx
3.6, ``networkx/algorithms/simple_paths.py``, BSD licence) on a ``DiGraph`` built by
``add_edge`` in the same order, so the paths and their lengths are the same, bit for bit
(``tests/engine/test_yen.py`` checks it on graphs full of ties). Here the graph is two dicts:
importing networkx cost an ``explain`` command 0.15-0.18 s of CPU, where it searches regions of
at most a few hundred entities.

Examples
--------
>>> graph = DiGraph([(0, 1, 1.0), (1, 3, 1.0), (0, 2, 1.0), (2, 3, 1.5), (0, 3, 3.0)])
>>> list(shortest_simple_paths(graph, 0, 3))
[[0, 1, 3], [0, 2, 3], [0, 3]]

References
----------
.. [1] Jin Y. Yen, "Finding the K Shortest Loopless Paths in a Network", Management Science
   17(11), 1971, pp. 712-716.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from heapq import heappop, heappush
from itertools import count

__all__ = ["DiGraph", "NoPath", "shortest_simple_paths"]


class NoPath(LookupError):
    """No path joins the two nodes (networkx's ``NetworkXNoPath``)."""


class DiGraph:
    """Successors and predecessors of each node with each edge's length, in the order the edges
    were given (a node's neighbours are read in that order, as networkx reads its dicts). An
    edge given twice keeps its first place and its last length, as ``add_edge`` does."""

    def __init__(self, edges: Iterable[tuple[object, object, float]]):
        self.succ: dict[object, dict[object, float]] = {}
        self.pred: dict[object, dict[object, float]] = {}
        for u, v, length in edges:
            for node in (u, v):
                if node not in self.succ:
                    self.succ[node], self.pred[node] = {}, {}
            self.succ[u][v] = length
            self.pred[v][u] = length

    def __contains__(self, node) -> bool:
        return node in self.succ


def shortest_simple_paths(graph: DiGraph, source, target) -> Iterator[list]:
    """Every simple path from ``source`` to ``target``, shortest first (Yen's algorithm).

    Raises
    ------
    KeyError
        If ``source`` or ``target`` is not a node.
    NoPath
        If no path joins them (on the first path asked for).
    """
    for node in (source, target):
        if node not in graph:
            raise KeyError(f"node {node!r} not in the graph")

    def length_of(path: list) -> float:
        return sum(graph.succ[u][v] for u, v in zip(path, path[1:]))

    found: list[list] = []
    candidates = _PathBuffer()
    previous = None
    while True:
        if not previous:
            length, path = _bidirectional_dijkstra(graph, source, target)
            candidates.push(length, path)
        else:
            ignore_nodes, ignore_edges = set(), set()
            for i in range(1, len(previous)):
                root = previous[:i]
                root_length = length_of(root)
                for path in found:
                    if path[:i] == root:
                        ignore_edges.add((path[i - 1], path[i]))
                try:
                    length, spur = _bidirectional_dijkstra(graph, root[-1], target, ignore_nodes, ignore_edges)
                    candidates.push(root_length + length, root[:-1] + spur)
                except NoPath:
                    pass
                ignore_nodes.add(root[-1])
        if not candidates:
            break
        path = candidates.pop()
        yield path
        found.append(path)
        previous = path


class _PathBuffer:
    """Candidate paths by length, each once; equal lengths in the order they were pushed."""

    def __init__(self):
        self.paths: set[tuple] = set()
        self.sorted: list = []
        self.counter = count()

    def __len__(self) -> int:
        return len(self.sorted)

    def push(self, cost: float, path: list) -> None:
        if tuple(path) not in self.paths:
            heappush(self.sorted, (cost, next(self.counter), path))
            self.paths.add(tuple(path))

    def pop(self) -> list:
        _, _, path = heappop(self.sorted)
        self.paths.remove(tuple(path))
        return path


def _bidirectional_dijkstra(graph: DiGraph, source, target, ignore_nodes: set | None = None,
                            ignore_edges: set | None = None) -> tuple[float, list]:
    """The shortest path from ``source`` to ``target`` and its length, without the nodes
    ``ignore_nodes`` and the edges ``ignore_edges``: Dijkstra from both ends in turn, one
    node settled on each side, until a node is settled on both."""
    if ignore_nodes and (source in ignore_nodes or target in ignore_nodes):
        raise NoPath(f"no path between {source} and {target}")
    if source == target:
        return 0, [source]

    def forward(v):
        return (w for w in graph.succ[v] if not (ignore_nodes and w in ignore_nodes)
                and not (ignore_edges and (v, w) in ignore_edges))

    def backward(v):
        return (w for w in graph.pred[v] if not (ignore_nodes and w in ignore_nodes)
                and not (ignore_edges and (w, v) in ignore_edges))

    dists = [{}, {}]  # settled distances: from the source, to the target
    paths = [{source: [source]}, {target: [target]}]
    fringe = [[], []]  # heaps of (distance, order seen, node)
    seen = [{source: 0}, {target: 0}]
    order = count()
    heappush(fringe[0], (0, next(order), source))
    heappush(fringe[1], (0, next(order), target))
    neighbours = [forward, backward]
    final_path: list = []
    final_length = 0.0
    side = 1
    while fringe[0] and fringe[1]:
        side = 1 - side
        dist, _, v = heappop(fringe[side])
        if v in dists[side]:
            continue
        dists[side][v] = dist
        if v in dists[1 - side]:
            return final_length, final_path
        for w in neighbours[side](v):
            length = dists[side][v] + (graph.succ[v][w] if side == 0 else graph.succ[w][v])
            if w in dists[side]:
                if length < dists[side][w]:
                    raise ValueError("contradictory paths found: negative lengths?")
            elif w not in seen[side] or length < seen[side][w]:
                seen[side][w] = length
                heappush(fringe[side], (length, next(order), w))
                paths[side][w] = paths[side][v] + [w]
                if w in seen[0] and w in seen[1]:
                    total = seen[0][w] + seen[1][w]
                    if final_path == [] or final_length > total:
                        final_length = total
                        final_path = paths[0][w] + paths[1][w][::-1][1:]
    raise NoPath(f"no path between {source} and {target}")
