"""Which way a penalty travelled: hop distance and the strongest path from a set of sources,
and each path's hops described (``describe_path``) and written out (``format_path``).

The strength of a path is the product of ``damping * W[v, u]`` over its hops, the amount of a
unit penalty that the path alone carries under the spread model. The strongest path is the
shortest one under lengths ``-log(damping * W[v, u])``: Dijkstra's algorithm, or Johnson's
where a hop carries more than it receives (``damping * W > 1``, a negative length).

References
----------
.. [1] Dijkstra, "A note on two problems in connexion with graphs", Numer. Math. 1, 1959.
.. [2] Johnson, "Efficient algorithms for shortest paths in sparse networks", J. ACM 24, 1977.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy as sp

from graphscore.engine.matrix import Projection

__all__ = ["PathTree", "strongest_paths", "describe_path", "format_path", "last_hop_types"]


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


def strongest_paths(W: sp.sparse.sparray, sources, *, damping: float) -> PathTree:
    """Hop distance and strongest path from any of ``sources`` to every entity.

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
    # csgraph reads G[i, j] as an edge i -> j; W[v, u] is the edge u -> v.
    G = sp.sparse.csr_array(W.T, dtype=float)
    G.eliminate_zeros()
    hops = sp.sparse.csgraph.dijkstra(G, indices=sources, unweighted=True, min_only=True)
    lengths = G.copy()
    lengths.data = -np.log(damping * lengths.data)
    # Dijkstra and Johnson drop explicit zeros as "no edge": a tiny length keeps such hops.
    lengths.data[lengths.data == 0] = 1e-300
    if (lengths.data >= 0).all():
        dist, predecessor, _ = sp.sparse.csgraph.dijkstra(lengths, indices=sources, min_only=True,
                                                          return_predecessors=True)
    else:
        dist, predecessor = _strongest_with_gains(lengths, sources)
    return PathTree(hops, np.exp(-dist), predecessor)


def _strongest_with_gains(lengths: sp.sparse.csr_array, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shortest paths when some hops carry more than they receive (negative lengths):
    Johnson's algorithm from a virtual source joined to every real one. If a cycle gains
    (possible under the hop model, never under a convergent spread), the strongest walk is
    unbounded; gains are then capped at zero, which names a strong path if not the strongest."""
    n = lengths.shape[0]
    joined = sp.sparse.block_array([[lengths, None], [None, sp.sparse.csr_array((1, 1))]], format="lil")
    joined[n, sources] = 1e-300
    joined = sp.sparse.csr_array(joined)
    try:
        dist, predecessor = sp.sparse.csgraph.shortest_path(joined, method="J", indices=[n],
                                                            return_predecessors=True)
    except sp.sparse.csgraph.NegativeCycleError:
        capped = lengths.copy()
        capped.data = np.maximum(capped.data, 1e-300)
        dist, predecessor, _ = sp.sparse.csgraph.dijkstra(capped, indices=sources, min_only=True,
                                                          return_predecessors=True)
        return dist, predecessor
    dist, predecessor = dist[0, :n], predecessor[0, :n]
    predecessor[predecessor == n] = -9999
    dist[sources] = 0.0
    return dist, predecessor


def describe_path(projection: Projection, path: list[int]) -> list[dict]:
    """Each hop of a path as a dict: from / to ids, the link (type, role, share, written
    direction, source reference) and the hop's weight. Where several links join one pair, the
    strongest is named and ``links`` says how many there are."""
    hops = []
    for u, v in zip(path, path[1:]):
        best = projection.strongest_edges.loc[(u, v)]
        hops.append({
            "from": projection.ids[u], "to": projection.ids[v], "type": best["type"],
            "role": None if pd.isna(best["role"]) else best["role"],
            "share": None if pd.isna(best["share"]) else float(best["share"]),
            "direction": best["direction"], "weight": float(best["weight"]),
            "links": int(best["links"]),
            "source_ref": None if pd.isna(best["source_ref"]) else best["source_ref"],
        })
    return hops


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


def last_hop_types(projection: Projection, tree: PathTree, indices: np.ndarray) -> np.ndarray:
    """Link type of the last hop on each entity's strongest path (None at sources and unreached):
    how the penalty reached it, for every entity at once, without describing whole paths."""
    indices = np.asarray(indices, dtype=int)
    pairs = pd.MultiIndex.from_arrays([tree.predecessor[indices], indices], names=["u", "v"])
    types = projection.strongest_edges["type"].reindex(pairs)
    return types.astype(object).where(types.notna(), None).to_numpy()
