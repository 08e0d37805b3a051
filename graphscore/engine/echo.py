"""Own-penalty echo: the part of an entity's score that is its own penalty coming back to it
around cycles of links (issue 9.10).

Under the spread model ``x = G s`` with ``G = (I - damping W)^-1 = sum_k (damping W)^k``, so

    x[v] = s[v] + (G[v, v] - 1) s[v] + sum_{u != v} G[v, u] s[u]
         = own  + echo                + inherited

``G[v, v] - 1`` is the sum, over every closed walk of one link or more from v back to v, of the
product of ``damping * W`` along it: the entity's own penalty returning (company -> its legal
representative -> the company). It is not exposure to anyone else's penalty, so score tables
keep it apart from ``inherited``, and collateral counts and thresholds read ``inherited`` only.
The hop model with ``aggregate = "sum"`` is the same series cut at ``max_hops``, so its echo is
the same sum over closed walks of at most ``max_hops`` links.

With ``aggregate = "max"`` the score is ``max(s[v], max_u s[u] * best walk u -> v)``, the best
walk having at most ``max_hops`` links. The entity's own penalty reaches it as ``s[v]`` (the
empty walk) and as ``s[v] * c[v]``, ``c[v]`` its strongest closed walk; it can exceed ``s[v]``
only where a cycle carries more than it receives (weights above 1, e.g. several links summed).
So ``echo = max(s[v], s[v] c[v]) - s[v]`` and ``inherited = total - own - echo``: what other
entities' penalties add beyond what its own already gives it. The cascade and the ownership
rules score a penalised entity 1, its own, so nothing can return: their echo is zero. DebtRank
is not additive over sources (distress is capped at 1, and an entity that has passed its
distress on still receives), so its score does not split into own, echo and inherited: its
echo column is zero and all of ``total - own`` is shown as inherited, a known simplification.

Cost. Only walks inside one strongly connected component return, so ``G[v, v]`` is computed on
``W`` restricted to v's component, for the penalised entities on a cycle only, one column each
(entities of different components share a column: their walks never meet). The spread echo
costs one spread iteration per column block over those components: about as many solves as the
component with the most penalised entities holds, packed 2^24 / (entities in the components)
columns to a block.

References
----------
.. [1] Katz, "A new status index derived from sociometric analysis", Psychometrika 18, 1953
   (the closed walks counted by the diagonal of the resolvent).
.. [2] Estrada, Rodríguez-Velázquez, "Subgraph centrality in complex networks", Phys. Rev. E 71,
   056103, 2005 (the diagonal of a matrix function as the weight of closed walks at a node).
"""

from __future__ import annotations

import numpy as np
import scipy as sp

from graphscore.engine.matrix import Projection
from graphscore.errors import ConvergenceError
from graphscore.policy import Aggregate, ModelName, Policy

__all__ = ["echo", "closed_walks", "model_echo"]

_BLOCK_ENTRIES = 2**24  # dense entries of one block of columns (128 MB)
_MAX_ITER = 10_000  # as spread's


def closed_walks(W: sp.sparse.sparray, sources, *, damping: float, max_hops: int | None = None,
                 aggregate: str = "sum", tol: float = 1e-12) -> np.ndarray:
    """For each of ``sources``, the closed walks of one link or more back to it, weighted by the
    product of ``damping * W`` along them: summed (``G[v, v] - 1`` when ``max_hops`` is None,
    cut at ``max_hops`` links otherwise), or the strongest (``aggregate = "max"``). The infinite
    sum stops, as :func:`graphscore.engine.spread.spread` does, once a further step adds at most
    ``tol`` per unit of penalty anywhere.

    Examples
    --------
    A company and its representative, each reaching the other with weight 1, damping 0.5:
    closed walks of 2, 4, ... links weigh 0.25, 0.0625, ..., so G[0, 0] - 1 = 1/3.

    >>> W = sp.sparse.csr_array([[0.0, 1.0], [1.0, 0.0]])
    >>> round(float(closed_walks(W, [0], damping=0.5)[0]), 12)
    0.333333333333
    >>> closed_walks(W, [0, 1], damping=0.5, max_hops=3).tolist()
    [0.25, 0.25]
    """
    sources = np.asarray(sources, dtype=np.int64)
    out = np.zeros(sources.size)
    if sources.size == 0 or W.nnz == 0 or (max_hops is not None and max_hops < 1):
        return out
    W = sp.sparse.csr_array(W, dtype=float)
    count, labels = sp.sparse.csgraph.connected_components(W, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=count)
    on_cycle = (sizes[labels[sources]] > 1) | (W.diagonal()[sources] > 0)
    if not on_cycle.any():
        return out
    cyclic = np.flatnonzero(on_cycle)
    nodes = np.flatnonzero(np.isin(labels, np.unique(labels[sources[cyclic]])))
    # Only links inside one component lie on a closed walk: the others are dropped, so columns
    # started in different components never mix and can share a block.
    sub = sp.sparse.coo_array(W[nodes][:, nodes])
    inside = labels[nodes][sub.row] == labels[nodes][sub.col]
    A = sp.sparse.csr_array((damping * sub.data[inside], (sub.row[inside], sub.col[inside])),
                            shape=(nodes.size, nodes.size))
    position = np.searchsorted(nodes, sources[cyclic])
    component = labels[sources[cyclic]]
    order = np.argsort(component, kind="stable")
    slot = np.empty(cyclic.size, dtype=np.int64)  # the column of each source: its rank in its component
    starts = np.r_[0, np.flatnonzero(np.diff(component[order])) + 1]
    slot[order] = np.arange(cyclic.size) - np.repeat(starts, np.diff(np.r_[starts, cyclic.size]))
    width = max(1, _BLOCK_ENTRIES // nodes.size)
    coo = A.tocoo()
    for first in range(0, int(slot.max()) + 1, width):
        chosen = np.flatnonzero((slot >= first) & (slot < first + width))
        rows, cols = position[chosen], slot[chosen] - first
        Y = np.zeros((nodes.size, int(cols.max()) + 1))
        Y[rows, cols] = 1.0
        found = np.zeros(chosen.size)
        for step in range(1, (max_hops if max_hops is not None else _MAX_ITER) + 1):
            if aggregate == "max":
                reached = coo.data[:, None] * Y[coo.col]
                Y = np.zeros_like(Y)
                np.maximum.at(Y, coo.row, reached)
                found = np.maximum(found, Y[rows, cols])
            else:
                Y = A @ Y
                found += Y[rows, cols]
            # W is non-negative (policy weights and shares), so the largest entry is the norm
            largest = Y.max(initial=0.0)
            if largest == 0 or (max_hops is None and largest <= tol):
                break
        else:
            if max_hops is None:
                raise ConvergenceError(f"the echo did not converge in {_MAX_ITER} iterations; lower damping.")
        out[cyclic[chosen]] = found
    return out


def echo(W: sp.sparse.sparray, s: np.ndarray, *, damping: float, max_hops: int | None = None,
         aggregate: str = "sum", entities=None) -> np.ndarray:
    """Each entity's own penalty returning to it (see the module docstring): ``s[v] (G[v, v] - 1)``
    under spread (``max_hops`` None), the same cut at ``max_hops`` links under hop with
    ``aggregate = "sum"``, and ``s[v] max(0, c[v] - 1)`` under hop with ``aggregate = "max"``.
    ``entities`` (indices) limits the work to them: the others' echo is left at zero.

    Examples
    --------
    >>> W = sp.sparse.csr_array([[0.0, 1.0], [1.0, 0.0]])
    >>> s = np.array([1.0, 0.0])
    >>> [round(float(e), 12) for e in echo(W, s, damping=0.5)]
    [0.333333333333, 0.0]
    >>> echo(2 * W, s, damping=0.9, max_hops=2, aggregate="max").round(6).tolist()  # 1.8 x 1.8 = 3.24
    [2.24, 0.0]
    """
    s = np.asarray(s, dtype=float)
    out = np.zeros_like(s)
    penalised = np.flatnonzero(s > 0)
    if entities is not None:
        penalised = np.intersect1d(penalised, np.asarray(entities, dtype=np.int64))
    walks = closed_walks(W, penalised, damping=damping, max_hops=max_hops, aggregate=aggregate)
    returned = np.maximum(walks - 1.0, 0.0) if aggregate == "max" else walks
    out[penalised] = s[penalised] * returned
    return out


def model_echo(projection: Projection, policy: Policy, entities=None) -> np.ndarray:
    """The echo of every entity under the policy's model on the projection: :func:`echo` under
    spread and hop, zero under the models that cannot return a penalty (see the module
    docstring). Under ``link_time = "at_penalty"`` each layer's penalties return over its own
    links (:mod:`graphscore.engine.layers`): the layers' echoes add up, and under hop with
    ``aggregate = "max"`` the echo is what the strongest own return adds to ``s``.
    ``entities`` limits the work to them, as :func:`echo`'s does (a dossier needs one).

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="both"')
    >>> model_echo(gs.build_projection(fined_company(), policy, "2024-01-01"), policy).round(6).tolist()
    [0.333333, 0.0]
    """
    if policy.model not in (ModelName.SPREAD, ModelName.HOP):
        return np.zeros(projection.n)
    maxed = policy.model is ModelName.HOP and policy.aggregate is Aggregate.MAX
    options = {"damping": policy.damping, "max_hops": policy.max_hops if policy.model is ModelName.HOP else None,
               "aggregate": "max" if maxed else "sum", "entities": entities}
    if not projection.layers:
        return echo(projection.W, projection.s, **options)
    echoes = [echo(layer.W, layer.s, **options) for layer in projection.layers]
    if not maxed:
        return np.sum(echoes, axis=0)
    returned = np.max([layer.s + e for layer, e in zip(projection.layers, echoes)], axis=0)
    return np.maximum(returned - projection.s, 0.0)
