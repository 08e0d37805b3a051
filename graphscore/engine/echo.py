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

Accuracy. Under spread ``G[v, v]`` is an infinite sum; each entity's is bounded to within
:data:`ECHO_TOL` = 1e-6 (proven: :func:`graphscore.engine.reversible.reversible_diagonal`,
:func:`graphscore.engine.push.push_diagonal`) and the echo is
the upper bound: never understated, overstated by at most 1e-6 times the entity's own penalty,
so ``inherited = total - own - echo`` is never overstated and understated by as much. The
score is solved from below, so an entity no other penalty reaches, whose whole ``total - own``
is echo, shows ``inherited`` 0 exactly (:func:`graphscore.analysis.scores.split_score` caps the
echo at ``total - own``). 1e-6 is the accuracy of a what-if
(:data:`graphscore.analysis.whatif.ACCURACY`), for the same reason: the four significant digits
the score table and the reports print are exact for an echo above 1e-2 of the entity's own
penalty. Under hop the sums are finite and exact (floating point aside).

Cost. Under hop each penalised entity costs a walk of ``max_hops - 1`` links back from it along
W's rows and, at each step, one look (a bisection) for the link that closes the walk: with two
hops, its own links and one look per link. Nothing is read about the rest of the register.

Under spread, where W is reversible (:func:`graphscore.engine.reversible.reversible_form`:
every tie carried both ways with one weight, parallel ties summed, ``normalize = "source"``, as
under ``diffusion``), ``G[v, v]`` is the diagonal of a symmetric matrix, and one push from v
bounds it from both sides (:func:`graphscore.engine.reversible.reversible_diagonal`): no
search for cycles (every link has a link back) and no solve over the graph, W renumbered once
in the reversed breadth-first order its scaling's pass finds. The scaling is found and checked on W itself, so any other W
takes the general method below. On the diffusion W of the synthetic registry
of 10^6 links (4,306 penalised entities, tol 1e-6) it followed 9,800 links per entity where the
general method followed 27,600, and took 2.6 to 2.9 s of CPU with the form where the general
method took 6.0 to 6.7 with its cycles and bound (alternated in one process, load average 10);
at 10^7 links (43,279 penalised entities) 20,200 links per entity against 76,700, 59 s of CPU
(13 of them the form) against 145, at a load average of 3 to 5; there the renumbering halved the
pushes' CPU against W's own order (6,000 entities: 6.6 against 14.2 s) for 6.2 s of CPU once
(benchmarks/echo_reversible.py; journal, "the echo column of a reversible W").

Otherwise only walks inside one strongly connected component return, so ``G[v, v]`` is
computed on ``W`` restricted to v's component, for the penalised entities on a cycle only, each
by a backward and a forward push from it (:func:`_diagonal`), after one solve shared by all
(:func:`graphscore.engine.push.return_bound`). The two pushes are balanced per entity: the
backward one stops once it has followed as many links as the forward one would need for what it
leaves. A fixed split of the work, as before, followed 40,000, 88,000 links per penalised entity
under diffusion on synthetic registries of 10^5 and 10^6 links (its backward push spreading over
a larger part of a larger register); balanced, 23,000, 30,000 and 33,000 at 2x10^6. The pushes run
on W renumbered in reverse Cuthill-McKee order (:class:`Cycles`), the entities taken in that
order, so that successive pushes read nearby memory. The entities are shared out between the cores.

References
----------
.. [1] Katz, "A new status index derived from sociometric analysis", Psychometrika 18, 1953
   (the closed walks counted by the diagonal of the resolvent).
.. [2] Estrada, Rodríguez-Velázquez, "Subgraph centrality in complex networks", Phys. Rev. E 71,
   056103, 2005 (the diagonal of a matrix function as the weight of closed walks at a node).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy as sp

from graphscore.engine.matrix import Projection
from graphscore.engine.push import ReturnBound, push_diagonal, return_bound
from graphscore.engine.reversible import ReversibleForm, reversible_diagonal, reversible_form
from graphscore.engine.run import contraction_of
from graphscore.policy import Aggregate, ModelName, Policy

__all__ = ["echo", "closed_walks", "model_echo", "Cycles", "find_cycles", "ECHO_TOL"]

# Per unit of own penalty: the what-if's accuracy (graphscore.analysis.whatif.ACCURACY), for
# the same reason: the 4 significant digits printed are exact for an echo above 1e-2 of it.
ECHO_TOL = 1e-6
# Where a projection keeps its W's reversible form, or None for a W that has none (Projection.derived).
REVERSIBLE_FORM = "reversible form"


@dataclass(frozen=True)
class Cycles:
    """The links of a W that lie on closed walks: those inside one strongly connected component
    (the others never return), which :func:`closed_walks` follows, with the entities numbered
    afresh so that neighbours sit near each other in memory.

    Attributes
    ----------
    on_cycle : (n,) bool ndarray
        Entities in a component of two or more, or with a link to themselves.
    order : (n,) int ndarray
        The entity at each position of the new numbering (reverse Cuthill-McKee, [1]_): a push
        from one entity then reads a few stretches of memory rather than scattered entries,
        which is what it costs once W no longer fits in the processor's cache.
    position : (n,) int ndarray
        The position of each entity in that numbering (the inverse of ``order``).
    by_source, by_target : (n, n) sparse arrays
        W without the links between components, renumbered (``[position of v, position of
        u]``), in compressed columns and rows.

    References
    ----------
    .. [1] Cuthill, McKee, "Reducing the bandwidth of sparse symmetric matrices", ACM '69
       (1969); George, "Computer implementation of the finite element method", Stanford
       STAN-CS-71-208 (1971), the reversed order.
    """

    on_cycle: np.ndarray
    order: np.ndarray
    position: np.ndarray
    by_source: sp.sparse.csc_array
    by_target: sp.sparse.csr_array


def find_cycles(W: sp.sparse.sparray) -> Cycles:
    """W's :class:`Cycles`: a few passes over every link, so found once per W and kept (a
    projection keeps it: :func:`model_echo`), where one entity's echo costs its pushes.

    Examples
    --------
    0 and 1 reach each other, 1 reaches 2, which reaches no one:

    >>> found = find_cycles(sp.sparse.csr_array(([1.0, 1.0, 1.0], ([1, 0, 2], [0, 1, 1])), shape=(3, 3)))
    >>> found.on_cycle.tolist(), found.by_source.nnz
    ([True, True, False], 2)
    """
    W = sp.sparse.csr_array(W, dtype=float)
    _, labels = sp.sparse.csgraph.connected_components(W, directed=True, connection="strong")
    on_cycle = (np.bincount(labels)[labels] > 1) | (W.diagonal() > 0)
    links = sp.sparse.coo_array(W)
    inside = labels[links.row] == labels[links.col]
    kept = sp.sparse.csr_array((links.data[inside], (links.row[inside], links.col[inside])), shape=W.shape)
    order = sp.sparse.csgraph.reverse_cuthill_mckee(kept, symmetric_mode=False).astype(np.int64)
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    kept = sp.sparse.coo_array(kept)
    by_target = sp.sparse.csr_array((kept.data, (position[kept.row], position[kept.col])), shape=W.shape)
    return Cycles(on_cycle, order, position, sp.sparse.csc_array(by_target), by_target)


def closed_walks(W: sp.sparse.sparray, sources, *, damping: float, max_hops: int | None = None,
                 aggregate: str = "sum", tol: float = ECHO_TOL, bound: ReturnBound | None = None,
                 cycles: Cycles | None = None, form: ReversibleForm | None = None) -> np.ndarray:
    """For each of ``sources``, the closed walks of one link or more back to it, weighted by the
    product of ``damping * W`` along them: summed (``G[v, v] - 1`` when ``max_hops`` is None,
    cut at ``max_hops`` links otherwise), or the strongest (``aggregate = "max"``). The infinite
    sum is bounded from above, at most ``tol`` over the exact one (proven); the cut ones are
    exact. A reversible W (``form``, its
    :func:`graphscore.engine.reversible.reversible_form`) takes one push per source
    (:func:`graphscore.engine.reversible.reversible_diagonal`); any other W a backward and a
    forward push on its cycles (:func:`graphscore.engine.push.push_diagonal`, given W's
    :func:`graphscore.engine.push.return_bound` at ``damping`` as ``bound`` when it is at hand),
    ``cycles`` being :func:`find_cycles` of W. With neither given, W's form is looked for here
    and its cycles found when it has none (the cut sums need neither).

    Examples
    --------
    A company and its representative, each reaching the other with weight 1, damping 0.5:
    closed walks of 2, 4, ... links weigh 0.25, 0.0625, ..., so G[0, 0] - 1 = 1/3.

    >>> W = sp.sparse.csr_array([[0.0, 1.0], [1.0, 0.0]])
    >>> walks = closed_walks(W, [0], damping=0.5)
    >>> bool(1 / 3 <= walks[0] <= 1 / 3 + 1e-6)
    True
    >>> closed_walks(W, [0, 1], damping=0.5, max_hops=3).tolist()
    [0.25, 0.25]
    """
    sources = np.asarray(sources, dtype=np.int64)
    out = np.zeros(sources.size)
    if sources.size == 0 or W.nnz == 0 or (max_hops is not None and max_hops < 1):
        return out
    if max_hops is not None:
        # finite sums, exact: the walks read W by rows only, so neither the components nor W by
        # source are needed (a pass or a sort over every link, more than all the walks cost)
        rows = _sorted_rows(W)
        _bounded_returns(rows.indptr, rows.indices, damping * rows.data, sources, max_hops, aggregate == "max",
                         numba.get_num_threads(), out)
        return out
    if form is None and cycles is None:
        form = reversible_form(W)
    # where W's norm does not prove the series converges, the general method's check says
    # whether it does (graphscore.engine.spread.contraction)
    if form is not None and form.rate(damping) < 1:
        # every link lies on a closed walk (it has a link back): no search for cycles; an entity
        # with no link costs one step. The upper end, as below.
        found = reversible_diagonal(W, sources, damping=damping, tol=tol, form=form)
        return found.values + found.error - 1.0
    # Only links inside one component lie on a closed walk of any length: the others are dropped,
    # so no push wastes time on what never returns.
    cycles = cycles if cycles is not None else find_cycles(W)
    on_cycle = cycles.on_cycle[sources]
    if not on_cycle.any():
        return out
    cyclic = np.flatnonzero(on_cycle)
    # the pushes run on W renumbered (Cycles.order), taking the entities in that order too, so
    # that one push finds in cache much of what the one before it read
    position = cycles.position[sources[cyclic]]
    ranked = np.argsort(position, kind="stable")
    cyclic, position = cyclic[ranked], position[ranked]
    A = cycles.by_source
    if bound is not None:  # W's bound holds for A, W with fewer links (ReturnBound), renumbered
        bound = ReturnBound(bound.weights[cycles.order], bound.reach[cycles.order])
    found = push_diagonal(A, position, damping=damping, tol=tol, bound=bound, rows=cycles.by_target)
    # G[v, v] >= 1 (the empty walk); the upper end: the score is solved from below, so where no
    # one else's penalty adds to it, total - own is at most this echo and inherited shows 0
    # (module docstring)
    out[cyclic] = found.values + found.error - 1.0
    return out


def _sorted_rows(W: sp.sparse.sparray) -> sp.sparse.csr_array:
    """W in compressed rows with each row's columns in order (a copy only where they are not)."""
    rows = sp.sparse.csr_array(W, dtype=float)
    return rows if rows.has_sorted_indices else rows.sorted_indices()


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _bounded_returns(indptr, indices, data, sources, hops, strongest, threads, out):  # pragma: no cover - compiled
    """Closed walks of 1 to ``hops`` links at each source v, exactly, from W's rows alone (sorted
    columns in each): ``b[x]``, the walks of ``step - 1`` links from x to v (rows read
    backwards from v), closed by the link v -> x, ``W[x, v]``, found by bisection in row x;
    summed or the strongest (``strongest``). Sources are dealt out to the threads in turn, each
    with its own work arrays, cleared where they were written."""
    n = indptr.shape[0] - 1
    for thread in numba.prange(threads):
        current, following = np.zeros(n), np.zeros(n)
        frontier, upcoming = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        marked = np.zeros(n, dtype=np.bool_)
        for k in range(thread, sources.shape[0], threads):
            v = sources[k]
            current[v] = 1.0
            frontier[0] = v
            size = 1
            found = 0.0
            for step in range(1, hops + 1):
                # walks of `step` links back to v: the link v -> x, then a walk of step - 1 links x -> v
                back = 0.0
                for i in range(size):
                    x = frontier[i]
                    start, end = indptr[x], indptr[x + 1]
                    q = start + np.searchsorted(indices[start:end], v)
                    if q < end and indices[q] == v:
                        term = data[q] * current[x]
                        back = max(back, term) if strongest else back + term
                found = max(found, back) if strongest else found + back
                if step == hops:
                    break
                reached = 0
                for i in range(size):
                    x = frontier[i]
                    carried = current[x]
                    for q in range(indptr[x], indptr[x + 1]):
                        u = indices[q]
                        value = data[q] * carried
                        if not marked[u]:
                            marked[u] = True
                            upcoming[reached] = u
                            reached += 1
                            following[u] = value
                        else:
                            following[u] = max(following[u], value) if strongest else following[u] + value
                for i in range(size):
                    current[frontier[i]] = 0.0
                for i in range(reached):
                    marked[upcoming[i]] = False
                current, following = following, current
                frontier, upcoming = upcoming, frontier
                size = reached
            for i in range(size):
                current[frontier[i]] = 0.0
            out[k] = found


def echo(W: sp.sparse.sparray, s: np.ndarray, *, damping: float, max_hops: int | None = None,
         aggregate: str = "sum", entities=None, bound: ReturnBound | None = None,
         cycles: Cycles | None = None, form: ReversibleForm | None = None) -> np.ndarray:
    """Each entity's own penalty returning to it (see the module docstring): ``s[v] (G[v, v] - 1)``
    under spread (``max_hops`` None), the same cut at ``max_hops`` links under hop with
    ``aggregate = "sum"``, and ``s[v] max(0, c[v] - 1)`` under hop with ``aggregate = "max"``.
    ``entities`` (indices) limits the work to them: the others' echo is left at zero. Under
    spread the echo is within :data:`ECHO_TOL` times ``s[v]`` of exact and never below it;
    ``bound`` and ``cycles`` are :func:`closed_walks`'s.

    Examples
    --------
    >>> W = sp.sparse.csr_array([[0.0, 1.0], [1.0, 0.0]])
    >>> s = np.array([1.0, 0.0])
    >>> [round(float(e), 5) for e in echo(W, s, damping=0.5)]
    [0.33333, 0.0]
    >>> echo(2 * W, s, damping=0.9, max_hops=2, aggregate="max").round(6).tolist()  # 1.8 x 1.8 = 3.24
    [2.24, 0.0]
    """
    s = np.asarray(s, dtype=float)
    out = np.zeros_like(s)
    penalised = np.flatnonzero(s > 0)
    if entities is not None:
        penalised = np.intersect1d(penalised, np.asarray(entities, dtype=np.int64))
    walks = closed_walks(W, penalised, damping=damping, max_hops=max_hops, aggregate=aggregate,
                         bound=bound, cycles=cycles, form=form)
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
    >>> model_echo(gs.build_projection(fined_company(), policy, "2024-01-01"), policy).round(5).tolist()
    [0.33333, 0.0]
    """
    if policy.model not in (ModelName.SPREAD, ModelName.HOP):
        return np.zeros(projection.n)
    maxed = policy.model is ModelName.HOP and policy.aggregate is Aggregate.MAX
    options = {"damping": policy.damping, "max_hops": policy.max_hops if policy.model is ModelName.HOP else None,
               "aggregate": "max" if maxed else "sum", "entities": entities}

    def of(part: Projection) -> np.ndarray:
        if policy.model is ModelName.HOP:
            return echo(part.W, part.s, **options)
        # a reversible W (diffusion-like policies) needs neither its cycles nor a bound: one push
        # per entity. Looked for once per projection and kept, found or not (None).
        if REVERSIBLE_FORM not in part.derived:
            part.derived[REVERSIBLE_FORM] = reversible_form(part.W)
        form = part.derived[REVERSIBLE_FORM]
        if form is not None and form.rate(policy.damping) < 1:
            return echo(part.W, part.s, **options, form=form)
        # found once, kept with the projection: a dossier's echo for one entity then costs its pushes only
        if "cycles" not in part.derived:
            part.derived["cycles"] = find_cycles(part.W)
        # one solve, kept with the projection: a dossier's echo for one entity then costs its
        # pushes only, from the second on
        key = ("return bound", float(policy.damping))
        if key not in part.derived:
            made = "W_by_source" not in vars(part)
            part.derived[key] = return_bound(part.W_by_source, damping=policy.damping,
                                             certificate=contraction_of(part, policy.damping),
                                             left_certificate=contraction_of(part, policy.damping, transposed=True, keep=False))
            if made:  # W by source made for the bound alone: not held through the pushes (0.24 GB at 10^7 links)
                vars(part).pop("W_by_source", None)
        return echo(part.W, part.s, **options, bound=part.derived[key], cycles=part.derived["cycles"])

    if not projection.layers:
        return of(projection)
    echoes = [of(layer) for layer in projection.layers]
    if not maxed:
        return np.sum(echoes, axis=0)
    returned = np.max([layer.s + e for layer, e in zip(projection.layers, echoes)], axis=0)
    return np.maximum(returned - projection.s, 0.0)
