"""Why an entity scores what it does: its score split by source penalty, and the paths that carry
each part.

Under a linear model (``spread``; ``hop`` with ``aggregate = "sum"``) an entity's score is
``x[v] = sum_u G[v, u] s[u]`` with ``G = (I - damping W)^-1`` (or the series cut at
``max_hops``), so one solve with ``W`` transposed gives row ``G[v, :]`` and the score splits
*exactly* into one contribution per penalised entity, and further per penalty (by weight under
``combine = "sum"``; to the heaviest, the only one counted, under ``"max"``). Each contribution
is the sum, over every walk from the source, of the source's weight times the product of
``damping * W`` along the walk; the strongest simple paths are listed with the share of the
contribution they carry. Under ``hop`` with ``aggregate = "max"`` the score *is* one path's
strength: the deciding path is given.

Examples
--------
>>> import graphscore as gs
>>> from graphscore.toy import shared_representative
>>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\n'
...                          'direction="both"\\nweight=1.0')
>>> why = explain(shared_representative(), policy, "C2", as_of="2024-01-01")
>>> [(c["penalty"], c["source"], round(c["contribution"], 4)) for c in why.contributions]
[('F1', 'C1', 0.5)]
>>> why.contributions[0]["paths"][0]["text"]
'Alpha Ltd <-[OFFICER_OF legal_representative]- Pat -[OFFICER_OF legal_representative]-> Beta Ltd'
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy as sp

from graphscore.analysis.display import Tabular
from graphscore.analysis.manifest import build_manifest
from graphscore.analysis.ownership import flagged_entities
from graphscore.engine.hop import hop_row
from graphscore.engine.matrix import Projection
from graphscore.engine.paths import (HopWalks, describe_paths, distances_from, distances_within, format_path,
                                    hop_lengths, johnson_potentials, simple_paths_to, strongest_walks_to)
from graphscore.engine.push import influence, work_arrays_of
from graphscore.engine.run import contraction_of
from graphscore.engine.spread import spread
from graphscore.engine.yen import DiGraph, shortest_simple_paths
from graphscore.model import Tables
from graphscore.policy import Aggregate, Combine, ModelName, Policy
from graphscore.workspace import Workspace, as_workspace

__all__ = ["Explanation", "explain", "influence_row", "prepare_explain"]

# Paths weaker than 1/100 of the strongest are not searched: each carries under 1 % of what the
# strongest does, below what an explanation lists. The search for distances to the entity reaches
# out to the farthest traced source's distance plus this much: at 1/10,000 that was all of a
# 10^6-link register (0.5 s a search), at 1/100 a tenth of it or less (benchmarks/whatif.py).
_WEAKEST = np.log(1e2)
_TRACED_SOURCES = 25  # contributions whose paths are traced, largest first
# The search for distances to the entity settles at most this many entities, whatever the
# register's size: out to the farthest of the largest contributions' sources plus _WEAKEST it
# reached far into a 10^7-link register for some entities (0.5 to 0.75 s of their 1.7 to 2.7 s
# under cProfile: benchmarks/JOURNAL.md, "Branch `explain`"). A source whose paths' region
# reaches beyond what it settled is not traced.
_SEARCHED = 300_000
_REGION = 200  # entities searched for a contribution's strongest paths
# The reverse push follows at most this many links, whatever the register's size (on a register
# of 10^6 links 4.7x10^6 links took about a second). Where it stops short of the accuracy asked
# for and the register is larger than three times as many links, the contributions found are
# kept (each from below) and the part of the score left unattributed is stated, instead of a
# solve over the whole register; on smaller registers the row is solved.
_PUSH_LINKS = 2_000_000


@dataclass
class Explanation(Tabular):
    """An entity's score taken apart.

    Attributes
    ----------
    entity, name : str
    own, total : float
        The entity's own weight and its score.
    contributions : list of dict
        One per penalty that reaches the entity, largest first: ``penalty`` (id), ``source``
        (entity id), ``source_name``, ``kind``, ``authority``, ``contribution``, ``share`` (of
        the score), ``paths`` (the strongest paths, each ``{"hops", "value", "share", "text"}``:
        ``value`` is what the path alone carries, ``share`` its part of the contribution) and
        ``paths_share`` (the part of the contribution the listed paths carry together; None
        where paths were not traced, beyond the largest contributions).
    exact : bool
        True when the contributions sum to the score (linear models; under spread, where the
        reverse push reached the accuracy asked for, a millionth of the score).
    manifest : dict
    """

    _principal = "table"  # to_pandas() and the notebook view (graphscore.analysis.display)

    entity: str
    name: str
    own: float
    total: float
    contributions: list[dict]
    exact: bool
    manifest: dict
    notes: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """The contributions as a table, one row per penalty, with the strongest path as text."""
        return pd.DataFrame([{**{k: v for k, v in c.items() if k != "paths"},
                              "strongest_path": c["paths"][0]["text"] if c["paths"] else ""}
                             for c in self.contributions])

    def to_json(self) -> dict:
        return {"format": "graphscore.explanation/1", "entity": self.entity, "name": self.name,
                "own": self.own, "total": self.total, "exact": self.exact,
                "contributions": self.contributions, "notes": self.notes, "manifest": self.manifest}


def influence_row(projection: Projection, policy: Policy, idx: int) -> np.ndarray:
    """Row ``idx`` of the model's linear map: ``G[idx, u]`` is what one unit of own weight at u
    adds to the score of ``idx`` (one solve with W transposed, over the whole graph).

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
    >>> p = gs.build_projection(fined_company(), policy, "2024-01-01")
    >>> influence_row(p, policy, p.index_of("p")).tolist()
    [0.5, 1.0]
    """
    if policy.model is ModelName.SPREAD:
        unit = np.zeros(projection.n)
        unit[idx] = 1.0
        # W's compressed columns, cached on the projection, are W.T's compressed rows: the same
        # arrays converting W.T to CSR would build again, a pass over every link each call
        by_source = projection.W_by_source
        transposed = sp.sparse.csr_array((by_source.data, by_source.indices, by_source.indptr),
                                         shape=by_source.shape[::-1])
        return spread(transposed, unit, damping=policy.damping, tol=1e-14,
                      certificate=contraction_of(projection, policy.damping, transposed=True))
    if policy.model is ModelName.HOP and policy.aggregate is Aggregate.SUM:
        # read backwards from the entity, over the links of the entities max_hops links upstream alone
        entities, values = hop_row(projection.W, idx, damping=policy.damping, max_hops=policy.max_hops)
        row = np.zeros(projection.n)
        row[entities] = values
        return row
    raise ValueError(f"model {policy.model.value!r} is not linear: its scores do not split by source.")


def _nonnegative_lengths(A: sp.sparse.csr_array, damping: float) -> sp.sparse.csr_array:
    """Hop lengths ``-log(damping * W)`` of the entries of ``A`` (``A`` without stored zeros),
    made non-negative without changing which path between two entities is shorter: Johnson's
    reweighting ``l(u, v) + h(u) - h(v)`` with potentials ``h`` from Bellman-Ford. A hop that
    carries more than it receives has a negative length; if such hops close a cycle that gains,
    walks are unbounded and the gains are capped at zero. The lengths share ``A``'s index
    arrays: only their values are new."""
    lengths = -np.log(damping * A.data.astype(float, copy=False))
    if (lengths < 0).any():
        try:
            potential = johnson_potentials(sp.sparse.csr_array((lengths, A.indices, A.indptr), shape=A.shape))
            rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
            lengths = np.maximum(lengths + potential[rows] - potential[A.indices], 0.0)
        except sp.sparse.csgraph.NegativeCycleError:
            lengths = np.maximum(lengths, 0.0)
    lengths[lengths == 0] = 1e-300  # csgraph reads explicit zeros as "no edge"
    return sp.sparse.csr_array((lengths, A.indices, A.indptr), shape=A.shape)


def _search_bounds(distance: float) -> tuple[float, float]:
    """How far the search for the strongest paths from a source ``distance`` away from the
    target looks: only entities within the strongest path's length plus ``_WEAKEST`` of the
    source can lie in the region (lengths are non-negative), so searching no further finds the
    same region, locally (``limit``); and only entities whose distance to the target leaves
    room (``cutoff``: the region is a few dozen of the hundreds of thousands within the limit;
    the margin covers rounding of the two searches)."""
    limit = (distance + _WEAKEST) * (1 + 1e-9) + 1e-9
    return limit, limit * (1 + 1e-6)


def _distances_to(paths: _HopLengths, target: int, sources: list[int]) -> np.ndarray:
    """Every entity's distance to ``target`` (over ``paths.backward``, the transpose of the hop
    lengths), as far as the searches from ``sources`` read it: the unlimited search's distances,
    bit for bit, at every entity within the largest ``cutoff`` of :func:`_search_bounds` over
    the sources, and ``inf`` beyond, where those searches never look (an entity farther from the
    target than the cutoff fails its test whatever its distance).

    One search, which settles the sources and goes on to their cutoff (a hair beyond it: the
    bounds' rounding); when a source is not reached at all, it has searched everything there is.
    It stops at ``_SEARCHED`` entities settled: then the distances are exact only nearer than the
    farthest one returned (:func:`_beyond_search` tells which sources that leaves out)."""
    return distances_from(paths.backward, target, until=sources, beyond=(_WEAKEST + 1e-8, 1 + 1e-5),
                          most=_SEARCHED, damping=paths.damping)


def _beyond_search(to_target: np.ndarray, sources: list[int]) -> set[int]:
    """The sources whose path search :func:`_distances_to` does not cover, having stopped at
    ``_SEARCHED`` entities settled before their cutoff (:func:`_search_bounds`): every entity
    nearer than the farthest distance it returned was settled, so a source whose cutoff lies
    below that is searched as the unbounded search would, bit for bit; the others are not
    traced (an unreached one either: the search did not look everywhere)."""
    reached = np.isfinite(to_target)
    if int(reached.sum()) < _SEARCHED:
        return set()  # the search ended before its bound: as the unbounded one
    farthest = float(to_target[reached].max())
    return {u for u in sources if not _search_bounds(to_target[u])[1] < farthest}


PATH_LENGTHS = "path lengths"  # their key in Projection.derived (kept on disk: graphscore.cache.KEPT_DERIVED)


@dataclass(frozen=True)
class _HopLengths:
    """The graph an explanation's paths are searched on: ``A`` (``A[u, v]``: the edge u -> v,
    ``W`` transposed without stored zeros), and the hop lengths over ``A``'s entries
    (``forward``) and over ``W``'s (``backward``, their transpose). When ``damping`` is set,
    ``forward`` and ``backward`` hold the weights themselves (``A`` and ``W``) and the searches
    work out each hop's length as they read it (:func:`graphscore.engine.paths.hop_lengths`)."""

    A: sp.sparse.csr_array
    forward: sp.sparse.csr_array
    backward: sp.sparse.csr_array
    damping: float | None

    def of(self, read: np.ndarray) -> np.ndarray:
        """The hop lengths of entries read from ``forward``."""
        return read if self.damping is None else hop_lengths(read, self.damping)


def _path_lengths(projection: Projection, damping: float) -> _HopLengths:
    """``A`` and its hop lengths (:func:`_nonnegative_lengths`) and their transpose
    (:class:`_HopLengths`).

    Where no hop carries more than it receives (``damping * W`` at most 1 everywhere, as under
    every convergent normalised spread), no hop length is negative and Johnson's reweighting is
    not needed: a hop's length is then a function of its weight alone, worked out where a search
    reads it, and nothing is kept (two arrays of 8 bytes a non-zero of ``W`` were: 24.9 bytes a
    link under diffusion). Otherwise the lengths' two value arrays (in ``A``'s order and in
    ``W``'s) are made, once per projection and damping, and kept with the projection: each is a
    pass over every link, where one entity's paths read a few hundred of them. The matrices
    share the index arrays of ``W`` by source (``A`` is it, read as ``W`` transposed) and of
    ``W`` itself (the transposed lengths)."""
    W, columns = _without_zeros(projection)
    A = sp.sparse.csr_array((columns.data, columns.indices, columns.indptr), shape=columns.shape[::-1])
    if ("W largest",) not in projection.derived:
        projection.derived[("W largest",)] = float(W.data.max(initial=0.0))
    if damping * projection.derived[("W largest",)] <= 1:
        return _HopLengths(A, A, W, float(damping))
    # "values": kept on disk under a key of its own, apart from the three matrices earlier versions kept
    key = (PATH_LENGTHS, float(damping), "values")
    kept = projection.derived.get(key)
    if kept is None:
        lengths = _nonnegative_lengths(A, damping).data
        # the same values in W's order: the transpose of the lengths, whose structure is W's
        by_target = sp.sparse.csc_array((lengths, A.indices, A.indptr), shape=W.shape).tocsr().data
        projection.derived[key] = kept = (lengths, by_target)
    lengths, by_target = kept
    return _HopLengths(A, sp.sparse.csr_array((lengths, A.indices, A.indptr), shape=A.shape),
                       sp.sparse.csr_array((by_target, W.indices, W.indptr), shape=W.shape), None)


def _without_zeros(projection: Projection) -> tuple[sp.sparse.csr_array, sp.sparse.csc_array]:
    """``W`` and ``W`` by source without stored zeros (csgraph reads one as no hop), canonical:
    the projection's own, as every ``W`` :func:`~graphscore.engine.matrix.build_projection` makes
    is; copies, made at each call, of one that is not (made by hand, or with a stake so small
    that normalising it rounded to 0)."""
    W = projection.W
    if ("W stored zeros",) not in projection.derived:
        projection.derived[("W stored zeros",)] = not W.has_canonical_format or bool((W.data == 0).any())
    if not projection.derived[("W stored zeros",)]:
        return W, projection.W_by_source
    W = sp.sparse.csr_array(W, copy=True)
    W.sum_duplicates()
    W.eliminate_zeros()
    return W, sp.sparse.csc_array(W)


def _strongest_simple_paths(paths: _HopLengths, source: int, target: int,
                            damping: float, top: int, to_target: np.ndarray) -> list[tuple[list[int], float]]:
    """Up to ``top`` simple paths source -> target by product of ``damping * W``, strongest first.

    Yen's k-shortest-paths (:mod:`graphscore.engine.yen`, networkx's steps) on the hop lengths
    of ``paths`` (of ``A``, the edges u -> v), run only on the entities closest to the strongest
    path: on a registry of thousands a penalty reaches most entities, but few lie on its strong
    paths to one of them.
    ``to_target`` is every entity's distance to the target (one search serves every source).
    """
    if not np.isfinite(to_target[source]):
        return []
    limit, cutoff = _search_bounds(to_target[source])
    entities, from_source = distances_within(paths.forward, source, limit=limit, to_target=to_target, cutoff=cutoff,
                                             damping=paths.damping)
    through = from_source + to_target[entities]
    at = int(np.searchsorted(entities, target))
    if at == entities.size or entities[at] != target or not np.isfinite(through[at]):
        return []
    near = through <= through[at] + _WEAKEST
    region, through = entities[near], through[near]
    # every entity of a path lies within its length, so the entities closest to the strongest
    # path hold the strongest paths: keep those, and Yen's search stays small
    region = region[np.argsort(through, kind="stable")[:_REGION]]
    rows, columns, read = _among(paths.forward, region)
    # each hop's strength read for all hops at once (one sparse lookup per hop took 0.3 s a call)
    edge_rows, edge_columns, edge_strengths = _among(paths.A, region)
    lengths = paths.of(read)
    keys, edge_keys = rows * region.size + columns, edge_rows * region.size + edge_columns
    order = np.argsort(edge_keys)
    at = np.minimum(np.searchsorted(edge_keys, keys, sorter=order), max(edge_keys.size - 1, 0))
    found = edge_keys[order[at]] == keys if edge_keys.size else np.zeros(keys.size, dtype=bool)
    hop_strengths = damping * np.where(found, edge_strengths[order[at]] if edge_keys.size else 0.0, 0.0)
    ends = [(int(region[i]), int(region[j])) for i, j in zip(rows.tolist(), columns.tolist())]
    graph = DiGraph((u, v, length) for (u, v), length in zip(ends, lengths.tolist()))
    strengths = dict(zip(ends, hop_strengths.tolist()))
    def strength(path: list[int]) -> float:
        return float(np.prod([strengths[u, v] for u, v in zip(path, path[1:])]))
    return [(path, strength(path)) for path in itertools.islice(shortest_simple_paths(graph, source, target), top)]


def _among(M: sp.sparse.csr_array, region: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of ``M`` between entities of ``region``, as ``M[region][:, region]`` lists
    them (row by row, each row in ``M``'s order): rows and columns as positions in ``region``,
    and values. Read from ``region``'s rows alone: scipy's column selection makes an array of
    every entity's column per call (a tenth of a second per explanation at 10^7 links)."""
    order = np.argsort(region)
    ordered = region[order]
    selected = M[region].tocoo()
    at = np.minimum(np.searchsorted(ordered, selected.col), region.size - 1)
    keep = ordered[at] == selected.col
    return selected.row[keep].astype(np.int64), order[at[keep]].astype(np.int64), selected.data[keep]


def _penalty_rows(projection: Projection, sources: np.ndarray) -> tuple[np.ndarray, list, list, list, np.ndarray]:
    """The penalties with weight of ``sources``, as columns in the order of the entities (each
    source's heaviest first, then by id), with each one's part of its source's own weight: by
    weight under sum, all to the heaviest (only it listed) under max. Columns: the entity rows,
    penalty ids, kinds, authorities (None where not given) and the parts."""
    penalties = projection.penalties
    # a mask over the entities, where isin hashed every penalty's entity (0.1 s at 10^7 links)
    wanted = np.zeros(projection.n, dtype=bool)
    wanted[sources] = True
    chosen = penalties[wanted[penalties["idx"].to_numpy()] & (penalties["weight"].to_numpy() > 0)]
    rows = chosen["idx"].to_numpy(np.int64)
    weights = chosen["weight"].to_numpy(float)
    ids = chosen["id"].to_numpy(object)
    order = np.lexsort((-weights, rows))
    first = np.ones(order.size, dtype=bool)
    first[1:] = rows[order[1:]] != rows[order[:-1]]
    several = ~first
    several[:-1] |= ~first[1:]
    if several.any():
        # ids compared only among the penalties of sources with several (most have one): a sort of
        # them all by weight and id compared strings across thousands (20 to 120 ms at 10^6 links)
        among = order[several]
        rank = np.zeros(order.size, dtype=np.int64)
        rank[among] = np.argsort(np.argsort(ids[among], kind="stable"), kind="stable")
        order = np.lexsort((rank, -weights, rows))
    if projection.combine is Combine.MAX:
        order = order[first]
        parts = np.ones(order.size)
    else:
        ordered = weights[order]
        totals = ordered.copy()  # a source's one penalty is its weight
        starts = np.flatnonzero(first)
        ends = np.append(starts[1:], order.size)
        for start, end in zip(starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist()):
            totals[start:end] = ordered[start:end].sum()
        parts = ordered / totals
    authorities = [a if isinstance(a, str) else None for a in chosen["authority"].to_numpy(object)[order].tolist()]
    return rows[order], ids[order].tolist(), chosen["kind"].to_numpy(object)[order].tolist(), authorities, parts


def _explain_ownership(ws: Workspace, policy: Policy, projection: Projection, entity_id: str, total: float) -> Explanation:
    """Under an ownership rule the deciding chain is the explanation: the listed or flagged owners
    whose stakes the rule added up, or the CONTROLS link (see :mod:`graphscore.analysis.ownership`)."""
    rule = {ModelName.OWNERSHIP_OFAC: "ofac", ModelName.OWNERSHIP_EU: "eu"}.get(policy.model, "integrated")
    own = float(projection.s[projection.index_of(entity_id)] > 0)
    flagged = flagged_entities(ws, rule, as_of=projection.as_of, policy=policy, entity_ids=[entity_id]).set_index("id")
    contributions = []
    if entity_id in flagged.index:
        row = flagged.loc[entity_id]
        contributions.append({"penalty": None, "source": None, "source_name": None, "kind": rule,
                              "authority": None, "contribution": total, "share": 1.0,
                              "stake": float(row["stake"]), "paths": [{"hops": [], "value": total, "share": 1.0,
                                                                       "text": row["via"]}],
                              "paths_share": 1.0})
    notes = list(projection.notes)
    if own:
        notes.append("the entity is listed itself")
    return Explanation(entity=entity_id, name=ws.names.iloc[projection.index_of(entity_id)], own=own, total=total,
                       contributions=contributions, exact=False,
                       manifest=build_manifest(ws, policy, projection.as_of), notes=notes)


def explain(source: Tables | Workspace, policy: Policy, entity_id: str, *, as_of: dt.date | str | None = None,
            top_paths: int = 3) -> Explanation:
    """Take an entity's score apart by source penalty and path (see the module docstring).

    ``source`` is validated tables or a :class:`~graphscore.workspace.Workspace`, whose
    projection and baseline run under the policy at ``as_of`` are reused.

    Raises
    ------
    ValueError
        For models whose scores neither split by source nor follow one path or chain (debtrank,
        cascade).
    KeyError
        For an unknown entity id.
    """
    ws = as_workspace(source)
    projection = ws.projection(policy, as_of)
    v = projection.index_of(entity_id)
    names = ws.names
    scores = ws.baseline(policy, as_of).total
    total = float(scores[v])
    if policy.model.is_ownership:
        return _explain_ownership(ws, policy, projection, entity_id, total)
    linear = policy.model is ModelName.SPREAD or (policy.model is ModelName.HOP and policy.aggregate is Aggregate.SUM)
    if not linear and policy.model is not ModelName.HOP:
        raise ValueError(f"explain takes scores apart under spread, hop and the ownership rules; model "
                         f"{policy.model.value!r} does not split by source.")
    # under link_time = "at_penalty" each layer's penalties travel its own links (Projection.layers)
    layers = projection.layers or (projection,)
    pushed = None
    if linear:
        if policy.model is ModelName.SPREAD and not projection.layers:
            # the row by reverse push, only as far as this score needs; a solve where it spreads wide
            budget = min(3 * projection.W.nnz, _PUSH_LINKS)
            pushed = influence(projection.W, v, damping=policy.damping, scores=scores, own=projection.s,
                               budget=budget, work=work_arrays_of(projection))
            if not pushed.complete and budget == 3 * projection.W.nnz:
                pushed = None  # a small register: its row solved instead
        if pushed is not None:
            row = np.zeros(projection.n)
            row[pushed.indices] = pushed.values
            by_layer = [row * projection.s]
        else:
            by_layer = [influence_row(layer, policy, v) * layer.s for layer in layers]
        walks = [None] * len(layers)
    else:
        # the score is the strongest single source-and-walk of at most max_hops links (issue 9.2):
        # the walks the hop model itself maximised over, so the deciding one produced the score
        walks = [strongest_walks_to(layer.W, v, damping=policy.damping, max_hops=policy.max_hops)
                 for layer in layers]
        by_layer = [walk.strength * layer.s for walk, layer in zip(walks, layers)]
        deciding = max(max((b.max(initial=0.0) for b in by_layer), default=0.0), float(projection.s[v]))
        for b in by_layer:
            b[b < deciding] = 0.0
        if projection.layers and not any(b.max(initial=0.0) >= deciding for b in by_layer):
            # an entity's penalties from several layers add up (combine = "sum") beyond any one of them
            layers, by_layer, walks = (projection,), [np.where(np.arange(projection.n) == v, deciding, 0.0)], [None]
    contributions, traced_sources, all_sources, far_sources = [], 0, 0, 0
    for layer, by_source, walk in zip(layers, by_layer, walks):
        found, traced, far = _layer_contributions(layer, policy, v, total, by_source, walk, names, top_paths, linear)
        contributions += found
        traced_sources += traced
        far_sources += far
        all_sources += int((by_source > 1e-15 * max(total, 1e-300)).sum())
    contributions.sort(key=lambda c: -c["contribution"])
    notes = list(projection.notes)
    if far_sources:
        notes.append(f"paths traced for {traced_sources} of the {traced_sources + far_sources} largest of {all_sources} "
                     f"contributions: the other {far_sources} have their strongest paths beyond the {_SEARCHED:,} entities "
                     "nearest to this one (by path strength) that the path search reads")
    elif all_sources > traced_sources:
        notes.append(f"paths traced for the {traced_sources} largest of {all_sources} contributions")
    if not linear:
        notes.append(f"hop with aggregate = 'max': the score is the strongest single walk of at most "
                     f"{policy.max_hops} links, given as the deciding one")
    if "error_bound" in ws.baseline(policy, as_of).attrs:
        # the contributions are the float32 W's: the part they miss of the float64 ones is at
        # most the score's own rounding (engine/precision.py), summed over every source
        notes.append(f"W's values are stored in float32 (precision = 'float32'): the score, and its contributions "
                     f"together, are within {ws.baseline(policy, as_of).attrs['error_bound']:.2g} of the float64 answer "
                     "(proven bound)")
    if pushed is not None and pushed.unattributed > 0:
        stopped = "" if pushed.complete else f", stopped after {_PUSH_LINKS:,} links"
        notes.append(f"contributions computed by reverse push{stopped}: {pushed.unattributed:.2g} of the score "
                     f"({pushed.unattributed / total:.2%}) is left unattributed (each contribution is short by at "
                     "most that)")
    return Explanation(entity=entity_id, name=names.iloc[v], own=float(projection.s[v]),
                       total=total, contributions=contributions,
                       exact=linear and (pushed is None or pushed.complete),
                       manifest=build_manifest(ws, policy, projection.as_of), notes=notes)


def prepare_explain(source: Tables | Workspace, policy: Policy, as_of: dt.date | str | None = None) -> None:
    """Work out once what explaining any entity under ``policy`` at ``as_of`` reads about the
    whole register: the baseline run, the data fingerprint its manifest cites, and the hop lengths its paths are searched over (kept with
    the workspace's projection, and the projection's table of ids) and the compiled searches
    loaded, so that the first explanation costs what the next ones do. A server does this
    before it listens.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> ws = gs.Workspace(fined_company())
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
    >>> prepare_explain(ws, policy, "2024-01-01")
    >>> ("path lengths", 0.5, "values") in ws.projection(policy, "2024-01-01").derived  # no hop gains: none kept
    False
    """
    ws = as_workspace(source)
    projection = ws.projection(policy, as_of)
    ws.baseline(policy, as_of)
    ws.fingerprint  # noqa: B018 (the manifest's: a hash of every table when no store recorded it, seconds at 10^6 links)
    if projection.n:  # pandas makes an index's table of ids on its first lookup: a tenth of a second at 10^6 links
        projection.index_of(projection.ids[0])
    if policy.model is ModelName.SPREAD:  # a hop model's paths are grown from the entity (simple_paths_to)
        for layer in projection.layers or (projection,):
            paths = _path_lengths(layer, policy.damping)
            if layer.n:
                # the compiled searches load on their first call in a process (tenths of a second):
                # a search that stops at once
                distances_within(paths.forward, 0, limit=0.0, to_target=np.zeros(layer.n), cutoff=0.0,
                                 damping=paths.damping)
    if policy.model is ModelName.SPREAD and not projection.layers and projection.n:
        influence(projection.W, 0, damping=policy.damping, scores=ws.baseline(policy, as_of).total, own=projection.s,
                  budget=0, work=work_arrays_of(projection))  # likewise the reverse push (and its work arrays made)


def _layer_contributions(projection: Projection, policy: Policy, v: int, total: float, by_source: np.ndarray,
                         walks: HopWalks | None, names, top_paths: int, linear: bool) -> tuple[list[dict], int, int]:
    """The contributions of one projection (or layer) to the score of ``v``, each with its paths,
    how many sources had their paths traced, and how many of the largest did not, their paths
    lying beyond the bounded search (:func:`_beyond_search`)."""
    sources = np.flatnonzero(by_source > 1e-15 * max(total, 1e-300))
    traced = set(sources[np.argsort(-by_source[sources])][:_TRACED_SOURCES].tolist())
    far = sorted(traced - {v})
    hop_paths, beyond = {}, set()
    if linear and policy.model is ModelName.HOP:
        # every simple path of at most max_hops links into v, grown backwards from it: a search
        # by path length would settle entities far more links away than a hop score reads
        hop_paths = simple_paths_to(projection.W, v, far, damping=policy.damping, max_hops=policy.max_hops,
                                    top=top_paths)
    elif linear:
        searched = _path_lengths(projection, policy.damping)
        to_target = _distances_to(searched, v, far) if far else None
        beyond = _beyond_search(to_target, far) if far else set()
        traced -= beyond
    # paths only for the sources that list them: the largest, the entity's own, and under hop
    # with aggregate = "max" the deciding ones (every source there)
    described = sources.tolist() if not linear else sorted(traced | ({v} & set(sources.tolist())))
    paths_of = {}
    for u in described:
        if not linear:
            # the deciding walk; for the entity itself its own weight (the empty walk) or its
            # own penalty returning around a cycle that carries more than 1
            walk = walks.walk_from(u) if walks is not None else [u]
            paths = [(walk, walks.strength_of(u) if walks is not None else 1.0)]
        elif u == v:
            # the entity's own weight is the empty path; the rest of its own contribution returns around cycles
            paths = [([u], 1.0)]
        elif u in hop_paths:
            paths = hop_paths[u]
        else:
            paths = _strongest_simple_paths(searched, u, v, policy.damping, top_paths, to_target)
        paths_of[u] = paths
    # the hops of every path looked up at once: one lookup per source took 6 s on 10^6 links
    hops_of = iter(describe_paths(projection, [path for paths in paths_of.values() for path, _ in paths]))
    described_of = {u: [(next(hops_of), float(value)) for _, value in paths] for u, paths in paths_of.items()}
    # and the names of the sources and of the entities on their paths, all at once (one lookup
    # each took a tenth of a second for the thousands of sources that reach one entity of a
    # register of 10^6 links), by row, a projection's rows being the entities table's (by id, the
    # first lookup in a process hashed every id of the register: 2 s at 10^7 links)
    named = np.union1d(sources, [u for paths in paths_of.values() for path, _ in paths for u in path]).astype(np.int64)
    names_of = dict(zip(projection.ids[named].tolist(), names.iloc[named].tolist()))
    # every penalty's contribution as columns: thousands of penalties reach one entity of a large
    # register (18,326 the top hub of 10^7 links), one by one in Python 0.3 to 0.6 s
    rows, penalty_ids, kinds, authorities, parts = _penalty_rows(projection, sources)
    from_source = by_source[rows]
    amounts = from_source * parts
    shares = amounts / total if total else np.zeros(amounts.size)
    links_at = projection.links_at.date().isoformat() if projection.links_at is not None else None
    contributions = []
    for u, penalty, source_id, kind, authority, amount, share, part, whole, own in zip(
            rows.tolist(), penalty_ids, projection.ids[rows].tolist(), kinds, authorities, amounts.tolist(),
            shares.tolist(), parts.tolist(), from_source.tolist(), projection.s[rows].tolist()):
        paths = described_of.get(u)
        if paths is None:  # beyond the largest contributions: no paths traced
            listed, paths_share = [], None
        else:
            listed = [{"hops": hops, "value": own * part * value, "share": own * value / whole if linear else 1.0,
                       "text": format_path(names_of, hops) or "own penalty"}
                      for hops, value in paths]
            paths_share = float(sum(p["share"] for p in listed))
        contribution = {"penalty": penalty, "source": source_id, "source_name": names_of[source_id], "kind": kind,
                        "authority": authority, "contribution": amount, "share": share, "paths": listed,
                        "paths_share": paths_share}
        if links_at is not None:
            contribution["links_at"] = links_at
        contributions.append(contribution)
    return contributions, len(traced) if linear else len(sources), len(beyond)
