"""Which way a penalty travelled: hop distance and the strongest path from a set of sources.

The strength of a path is the product of ``damping * W[v, u]`` over its hops, the amount of a
unit penalty that the path alone carries under the spread model. The strongest path is the
shortest one under lengths ``-log(damping * W[v, u])`` (Dijkstra), which is why hops carrying
more than the whole penalty (``damping * W > 1``) are capped at length 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy as sp

from graphscore.engine.matrix import Projection

__all__ = ["PathTree", "strongest_paths", "describe_path", "last_hop_types"]


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
    lengths.data = np.maximum(-np.log(damping * lengths.data), 0.0)
    # Dijkstra drops explicit zeros as "no edge": a tiny positive length keeps capped hops.
    lengths.data[lengths.data == 0] = 1e-300
    dist, predecessor, _ = sp.sparse.csgraph.dijkstra(lengths, indices=sources, min_only=True,
                                                      return_predecessors=True)
    return PathTree(hops, np.exp(-dist), predecessor)


def describe_path(projection: Projection, path: list[int]) -> list[dict]:
    """Each hop of a path as a dict: from / to ids, the link (type, role, share, written
    direction) and the hop's weight. Where several links join one pair, the strongest is named."""
    hops = []
    edges = projection.edges
    for u, v in zip(path, path[1:]):
        candidates = edges[(edges["u"] == u) & (edges["v"] == v)]
        best = candidates.loc[candidates["weight"].idxmax()]
        hops.append({
            "from": projection.ids[u], "to": projection.ids[v], "type": best["type"],
            "role": None if pd.isna(best["role"]) else best["role"],
            "share": None if pd.isna(best["share"]) else float(best["share"]),
            "direction": best["direction"], "weight": float(best["weight"]),
            "links": len(candidates),
        })
    return hops


def last_hop_types(projection: Projection, tree: PathTree, indices: np.ndarray) -> np.ndarray:
    """Link type of the last hop on each entity's strongest path (None at sources and unreached):
    how the penalty reached it, for every entity at once, without describing whole paths."""
    indices = np.asarray(indices, dtype=int)
    strongest = (projection.edges.sort_values("weight", ascending=False, kind="stable")
                 .drop_duplicates(["u", "v"]).set_index(["u", "v"])["type"])
    pairs = pd.MultiIndex.from_arrays([tree.predecessor[indices], indices], names=["u", "v"])
    return strongest.reindex(pairs).astype(object).where(lambda s: s.notna(), None).to_numpy()
