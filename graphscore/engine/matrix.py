"""Projection of the tables onto sparse matrices: links + policy + ``as_of`` -> W, s and the id map.

``W[v, u]`` is the part of entity u's penalty that reaches entity v in one step; ``s[u]`` is u's
own penalty weight at ``as_of``. This module owns the entity id <-> row index map; engine
functions see only ``W`` and ``s``.

A projection keeps ``W`` (int32 indices, float64 weights: 12 bytes a pair of entities; float32
weights, 8, under a policy's ``precision = "float32"``: :mod:`graphscore.engine.precision`), ``s``
and the id map, and no copy of the links: which links make an entry of ``W``, with their type,
role, share and source, is worked out again from the tables' own links table for the few pairs
a path shows (:meth:`Projection.edges_touching`), by the same code that built ``W``, so it
names exactly the links that made it. The links are read as integers throughout: each link's
source and target as rows of the entities table (:func:`link_ends`, through Arrow), and which
links are in force at a date (:func:`link_timeline`), found once per links table and shared by
every projection of it.
"""

from __future__ import annotations

import datetime as dt
import functools
import weakref
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy as sp

from graphscore.timeline import LinkCodes, LinkTimeline, penalty_weights, stake_ends
from graphscore.engine.precision import stored_values
from graphscore.policy import (Combine, Direction, LinkTime, MissingShare, Normalize, Parallel, Policy, Precision,
                               Transmit)

__all__ = ["Projection", "LinkSource", "build_projection", "resolve_as_of", "own_weights", "ownership_matrices",
           "combine_parallel", "link_ends"]

# What ownership rules read, whatever a policy's [[transmit]] says: stakes flow owner -> asset.
OWNERSHIP_RULES = (Transmit("OWNS", Direction.FORWARD, None), Transmit("CONTROLS", Direction.FORWARD, 1.0))


def resolve_as_of(as_of: dt.date | str | None, policy: Policy | None = None) -> pd.Timestamp:
    """The date a score is computed at: the argument, else the policy's ``as_of``, else today (UTC).

    Resolved once per run and recorded in every report manifest.

    Examples
    --------
    >>> resolve_as_of("2024-06-30")
    Timestamp('2024-06-30 00:00:00')
    """
    chosen = as_of or (policy.as_of if policy else None) or dt.datetime.now(dt.timezone.utc).date()
    if isinstance(chosen, dt.datetime):  # a time of day (and its zone) says nothing about which records hold
        chosen = chosen.date()
    return pd.Timestamp(chosen).normalize()


@dataclass(frozen=True, eq=False)
class LinkSource:
    """Where a projection's edges come from: the tables' links (a reference, never a copy) and
    what the policy makes of them.

    Attributes
    ----------
    tables : Tables
        The tables the projection was built from. Their links are read when first used
        (:attr:`links`), and tables that keep them on disk (the disk cache's,
        :class:`graphscore.cache.StoredTables`) can give a few links' columns and every link's
        ends without reading the whole table (:meth:`ends`, :meth:`columns`): a projection read
        back from the cache then turns no link into a Python object until a path names one
        (the whole links table of 10^6 links took 0.2 s of CPU of each command).
    rules : tuple of Transmit
        The transmission rules applied, in order.
    missing_share : MissingShare
        As applied (``bounds`` already resolved to its low end).
    parallel, normalize
        How links between one ordered pair combine, and the normalisation after.
    dates : tuple of Timestamp
        The date(s) the links are read at; several (a union of layers' links) keep every edge
        found at any of them, each with the weights of the first date it is found at.
    """

    tables: object
    rules: tuple[Transmit, ...]
    missing_share: MissingShare
    parallel: Parallel
    normalize: Normalize
    dates: tuple[pd.Timestamp, ...]

    @property
    def links(self) -> pd.DataFrame:
        """The links table the projection was built from."""
        return self.tables.links

    @property
    def entities(self) -> pd.DataFrame:
        """The entities table (its row order is the projection's index)."""
        return self.tables.entities

    def ends(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`link_ends` of the links: kept by the tables where they keep them (nothing read)."""
        kept = getattr(self.tables, "kept_link_ends", None)
        kept = kept() if kept is not None else None
        return kept if kept is not None else link_ends(self.links, self.entities)

    def timeline(self) -> LinkTimeline:
        """:func:`link_timeline` of the links; from the tables' Arrow columns where they keep
        them (:meth:`graphscore.cache.StoredTables.link_codes`), the links table never read."""
        codes = getattr(self.tables, "link_codes", None)
        if codes is None:
            return link_timeline(self.links, self.entities)
        tables = self.tables

        def of_columns() -> LinkTimeline:
            found = tables.link_codes()
            if found is None:
                return link_timeline(tables.links, tables.entities)
            return LinkTimeline.of_columns(found, tables.link_column("start"), tables.link_column("end"))
        return _kept("column timeline", (tables,), of_columns)

    def column(self, name: str) -> np.ndarray:
        """One whole number or date column of the links, as ``links[name].to_numpy()``: from the
        tables' Arrow column where they keep one, else from the links table."""
        kept = getattr(self.tables, "link_column", None)
        return kept(name) if kept is not None else self.links[name].to_numpy()

    def columns(self, names: tuple[str, ...], rows: np.ndarray) -> dict[str, np.ndarray]:
        """The links' columns ``names`` (those the links have) at positions ``rows``, as
        ``links[name].iloc[rows].to_numpy()`` gives them: taken before made numpy, so a column
        held in Arrow is not converted whole; taken from the tables' own files where they keep
        the links there unread."""
        taken = getattr(self.tables, "link_columns", None)
        taken = taken(names, rows) if taken is not None else None
        if taken is not None:
            return taken
        links = self.links
        return {name: links[name].iloc[rows].to_numpy() for name in names if name in links}

    def at(self, *dates: pd.Timestamp) -> LinkSource:
        return LinkSource(self.tables, self.rules, self.missing_share, self.parallel, self.normalize, tuple(dates))


@dataclass(frozen=True, eq=False)
class Projection:
    """Everything a model needs, and everything an explanation needs to name what it used.

    Attributes
    ----------
    ids : Index
        Entity id of each row / column of ``W``.
    W : (n, n) csr_array
        Transmission matrix.
    s : (n,) ndarray
        Own penalty weight of each entity at ``as_of``.
    source : LinkSource
        Where the edges come from: :meth:`edges_touching` and :meth:`strongest_edges` look them up.
    penalties : DataFrame
        The penalties table with ``weight`` at ``as_of`` and ``idx`` of the penalised entity.
    as_of : Timestamp
    combine : Combine
        How several penalties of one entity make its ``s`` (the policy's ``combine``).
    values : (n,) ndarray or None
        Economic value of each entity (the entities' ``value`` column, 0 where missing), or None
        when no entity has one.
    notes : tuple of str
        What the projection decided that a reader should know (e.g. links skipped for want of a share).
    links_at : Timestamp or None
        The date the links were read at, where that is not ``as_of`` (a layer, below).
    layers : tuple of Projection
        Under ``link_time = "at_penalty"``: one projection per set of links that counted
        penalties started under, each with the links in force on ``links_at`` (the earliest
        start among its penalties; the others started before the links next changed) and ``s``
        made of those penalties only (the heaviest of an entity's under ``combine = "max"``).
        A model runs on each layer and the runs are added (max-aggregated under hop max):
        one solve per layer instead of one. Empty otherwise.
    """

    ids: pd.Index
    W: sp.sparse.csr_array
    s: np.ndarray
    source: LinkSource
    penalties: pd.DataFrame
    as_of: pd.Timestamp
    combine: Combine = Combine.SUM
    notes: tuple[str, ...] = ()
    values: np.ndarray | None = None  # entities' economic value, where the data gives one
    links_at: pd.Timestamp | None = None  # the date its links are read at, when not as_of
    layers: tuple[Projection, ...] = ()

    @property
    def n(self) -> int:
        return len(self.ids)

    @functools.cached_property
    def W_by_source(self) -> sp.sparse.csc_array:
        """``W`` in compressed columns: column u lists whom u's penalty reaches, as forward push reads it.

        Where ``W``'s pattern is symmetric (a policy that carries every tie both ways, such as
        ``diffusion``), column u lists the same entities as row u, in the same order: the
        columns then share ``W``'s index arrays and only their values are new (8 bytes a
        non-zero kept instead of 12, and 4 bytes an entity instead of 8; 7.5 bytes a link of
        the synthetic registries under diffusion)."""
        W = self.W
        columns = sp.sparse.csc_array(W)
        if (W.has_canonical_format and columns.indices.dtype == W.indices.dtype
                and columns.indptr.dtype == W.indptr.dtype and np.array_equal(columns.indptr, W.indptr)
                and np.array_equal(columns.indices, W.indices)):
            columns = sp.sparse.csc_array((columns.data, W.indices, W.indptr), shape=W.shape, copy=False)
        return columns

    @functools.cached_property
    def derived(self) -> dict:
        """What engine functions derive from ``W`` once and reuse, by key (e.g. spread's
        convergence certificate per damping: :func:`graphscore.engine.run.contraction_of`)."""
        return {}

    def edges_touching(self, entities: np.ndarray | None = None) -> pd.DataFrame:
        """The transmitting edges from or to the given entities (rows of ``W``; all when None),
        one row each: ``u`` (from, index), ``v`` (to, index), ``weight`` (the link's own, after
        normalisation), ``pair_weight`` (the entry of ``W`` its pair makes: the links between
        one ordered pair combined under the policy's ``parallel``), the link's ``type``,
        ``role``, ``share``, its ``source``/``target`` ids as written, ``direction``,
        ``source_ref``, ``row`` (its position in the links table), ``rule`` (the position of
        the rule that made it) and ``date`` (of the source's dates, the first it is found at).
        In the order the projection made them: by date, rule, direction (forward first), row.

        Every edge of a pair with an end among ``entities`` is there, with the weights the
        whole projection gives it, made from the links of those entities and of as many rings
        of neighbours as the policy's weights depend on (a rule's ``split`` counts the entities
        one source reaches, a missing stake is bounded by the other owners of its asset,
        ``normalize`` sums over one source's or one target's pairs)."""
        return _edge_table(self.source, self.n, entities)

    def strongest_edges(self, u: np.ndarray, v: np.ndarray) -> dict[str, np.ndarray]:
        """The strongest edge of each ordered pair ``(u[k], v[k])``, as columns of
        :meth:`edges_touching` (ties to the edge the projection made first) plus ``links``, how
        many edges join the pair, and ``found``, False where none does (the other columns are
        then meaningless). Paths name this edge for each hop."""
        u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
        ends = np.unique(np.concatenate([u, v]))
        ends = ends[ends >= 0]  # a source or an unreached entity has no predecessor (a negative one)
        keys, columns = self._strongest_of(ends)
        wanted = u * max(self.n, 1) + v
        at = np.minimum(np.searchsorted(keys, wanted), max(keys.size - 1, 0))
        found = (keys[at] == wanted) & (u >= 0) & (v >= 0) if keys.size else np.zeros(wanted.size, dtype=bool)
        return {**{name: column[at] if keys.size else np.full(wanted.size, None, dtype=object)
                   for name, column in columns.items()}, "found": found}

    def strongest_links(self) -> tuple[np.ndarray, np.ndarray]:
        """Every pair the links make, in ``W.data``'s order (rows ``v``, columns ``u``): its key
        ``v * n + u`` (ascending) and the row in the links table of its strongest edge, the one
        :meth:`strongest_edges` names (ties to the edge the projection made first). Found from
        the edges as arrays, never as a table: the table of every edge of a 10^6-link register
        (object columns of types, roles, ids) held 1.3 GB while a what-if reaching most of it
        looked up the types of its pairs."""
        return _strongest_links(self.source, self.n)

    def _strongest_of(self, entities: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The strongest edge of every pair of entities asked about, these and those before:
        the pairs' keys ``u * n + v``, sorted, and the columns.
        Found once per entity and kept: an explanation asks about one path at a time, and
        paths share entities."""
        known, table, strongest = self.derived.get("edges") or (np.zeros(self.n, dtype=bool), None, None)
        missing = entities[~known[entities]]
        if missing.size or strongest is None:
            known[missing] = True
            # the pairs between entities asked about, new ones: an end among those asked now
            found = _edge_table(self.source, self.n, missing, known)
            table = found if table is None else pd.concat([table, found], ignore_index=True)
            # the projection's order: by date, rule, direction (forward first), row
            order = np.lexsort((table["row"].to_numpy(), table["direction"].to_numpy() != "forward",
                                table["rule"].to_numpy(), table["date"].to_numpy()))
            table = table.iloc[order].drop_duplicates(["u", "v", "row", "direction", "rule", "date"], ignore_index=True)
            if len(self.source.dates) > 1:  # a union of layers' links: each as the first layer has it
                table = table.drop_duplicates(["u", "v", "source", "target", "type", "role", "direction"],
                                              ignore_index=True)
            key = table["u"].to_numpy(np.int64) * max(self.n, 1) + table["v"].to_numpy(np.int64)
            by_pair = np.lexsort((-table["weight"].to_numpy(float), key))  # strongest first, ties kept in order
            ordered = key[by_pair]
            first = np.ones(ordered.size, dtype=bool)
            first[1:] = ordered[1:] != ordered[:-1]
            starts = np.flatnonzero(first)
            chosen = by_pair[starts]
            columns = {name: table[name].to_numpy(dtype=object if table[name].dtype != float else float)[chosen]
                       for name in table.columns if name not in ("u", "v")}
            columns["links"] = np.diff(np.append(starts, ordered.size))
            strongest = (ordered[starts], columns)
            self.derived["edges"] = (known, table, strongest)
        return strongest

    def index_of(self, entity_id: str) -> int:
        """Row of ``W`` for an entity id; KeyError naming the id if unknown."""
        try:
            return int(self.ids.get_loc(entity_id))
        except KeyError:
            raise KeyError(f"unknown entity id {entity_id!r}") from None


# What is worked out once per table (or pair of tables) and kept while they live, dropped with
# them: each links table's ends as entity rows and its timeline, the penalties' entity rows.
_KEPT: dict[tuple, object] = {}


def _kept(name: str, tables: tuple, compute):
    """``compute()`` once per ``name`` and ``tables`` (by identity), kept while they all live."""
    key = (name, *map(id, tables))
    if key not in _KEPT:
        _KEPT[key] = compute()
        for table in tables:
            weakref.finalize(table, _KEPT.pop, key, None)
    return _KEPT[key]


def link_ends(links: pd.DataFrame, entities: pd.DataFrame,
              known: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row in ``entities`` of each link's source and of its target (int32; -1 for an id not
    there), through Arrow: the ids dictionary-encoded against the entities' ids (``index_in``),
    once per links table, then kept while the table lives (8 bytes a link). ``known``, the
    answer worked out before for the same two tables (kept on disk beside a store,
    :class:`graphscore.cache.StoredTables`), is kept instead of finding it again.

    Examples
    --------
    >>> entities = pd.DataFrame({"id": ["a", "b", "c"]})
    >>> links = pd.DataFrame({"source": ["c", "a"], "target": ["b", "x"]})
    >>> [e.tolist() for e in link_ends(links, entities)]
    [[2, 0], [1, -1]]
    """
    def find() -> tuple[np.ndarray, np.ndarray]:
        if known is not None:
            return known
        ids = _entity_ids(entities)
        return _positions(links["source"], ids), _positions(links["target"], ids)
    return _kept("ends", (links, entities), find)


def _entity_ids(entities: pd.DataFrame) -> pa.Array:
    """The entities' ids as one Arrow string array, made for each lookup and not kept (11 bytes an
    entity, 3.5 a link under diffusion): what is found through it (the links' ends, the
    penalties' rows) is kept, so it is made once per links table and once per penalties table."""
    return _arrow_text(entities["id"])


def _penalty_rows(penalties: pd.DataFrame, entities: pd.DataFrame) -> np.ndarray:
    """Row in ``entities`` of each penalty's entity (int64), once per pair of tables."""
    return _kept("penalised", (penalties, entities),
                 lambda: _positions(penalties["entity"], _entity_ids(entities)).astype(np.int64))


def link_timeline(links: pd.DataFrame, entities: pd.DataFrame) -> LinkTimeline:
    """The :class:`~graphscore.timeline.LinkTimeline` of ``links``, with the links' ends
    as rows of ``entities`` (:func:`link_ends`), made once per links table and kept while it
    lives: every projection of the table reads it."""
    return _kept("timeline", (links, entities),
                 lambda: LinkTimeline(links, LinkCodes.of(links, link_ends(links, entities))))


def _positions(values: pd.Series, ids: pa.Array) -> np.ndarray:
    """Position of each value among ``ids`` (int32, -1 where absent), by Arrow's hash lookup:
    no hash table is left behind on an Index (pandas keeps one, 25 bytes an entity)."""
    found = pc.index_in(_arrow_text(values), value_set=ids).fill_null(-1)
    return found.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)


def _arrow_text(column: pd.Series) -> pa.Array:
    """A column of ids as one Arrow string array (zero-copy where pandas already holds Arrow)."""
    array = pa.array(column.to_numpy(dtype=object) if column.dtype == object else column, type=pa.string(),
                     from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def own_weights(penalties: pd.DataFrame, n: int, combine: Combine) -> np.ndarray:
    """Own weight ``s`` of each entity from penalties carrying ``weight`` and ``idx``.

    Examples
    --------
    >>> p = pd.DataFrame({"idx": [0, 0, 1], "weight": [1.0, 0.5, 0.2]})
    >>> own_weights(p, 3, Combine.SUM).tolist(), own_weights(p, 3, Combine.MAX).tolist()
    ([1.5, 0.2, 0.0], [1.0, 0.2, 0.0])
    """
    idx, weight = penalties["idx"].to_numpy(int), penalties["weight"].to_numpy(float)
    if combine is Combine.SUM:
        return np.bincount(idx, weights=weight, minlength=n).astype(float)
    s = np.zeros(n)
    np.maximum.at(s, idx, weight)
    return s


def _share_weights(column, rows: np.ndarray, targets: np.ndarray, missing: MissingShare
                   ) -> tuple[np.ndarray, int]:
    """The stake each OWNS link at ``rows`` (its asset: ``targets``, entity rows) transmits under
    the policy's ``missing_share``, and how many lack one; ``column(name)``: the links' column."""
    share = np.asarray(column("share"), dtype=float)[rows]
    if missing in (MissingShare.LOW, MissingShare.HIGH):
        low, high = stake_ends(share, np.asarray(column("share_low"), dtype=float)[rows],
                               np.asarray(column("share_high"), dtype=float)[rows], targets)
        return (low if missing is MissingShare.LOW else high), int(np.isnan(share).sum())
    return share, int(np.isnan(share).sum())


@dataclass(frozen=True)
class _Edges:
    """Transmitting edges as arrays, one entry each: from ``u`` to ``v`` (rows of ``W``), the
    link's own ``weight``, its ``row`` in the links table and whether it runs ``forward``
    (as the link is written). Ordered by rule, then direction, then the links' table order."""

    u: np.ndarray
    v: np.ndarray
    weight: np.ndarray
    row: np.ndarray
    forward: np.ndarray

    @staticmethod
    def concat(parts: list[_Edges]) -> _Edges:
        if not parts:
            empty = np.array([], dtype=np.int64)
            return _Edges(empty, empty, np.array([], dtype=float), empty, np.array([], dtype=bool))
        return _Edges(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("u", "v", "weight", "row", "forward")))


def _code(names: pd.Index, name: str) -> int:
    """Code of ``name`` among ``names``; one no row has where it is not there."""
    return int(names.get_loc(name)) if name in names else -2


def _pair_order(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """The permutation ordering edges by ``(v, u)``, ties in their given order: what
    ``np.argsort(v * n + u, kind="stable")`` gives, in time proportional to edges + entities,
    where a comparison sort of 10^7 keys takes seconds: one counting sort by ``v``, its
    scatter shared between the cores (each thread places its own stretch of the edges, after
    the earlier threads' in each row), then each row's few edges sorted by ``u`` in place,
    the rows shared between the cores (:func:`_sort_rows`). At 10^7 links it replaced two
    single-threaded counting sorts (by ``u``, then by ``v``) over the 2 x 10^7 edges of diffusion.
    Positions are int32 while they fit (each array an edge here is 0.1 GB or more at 10^7 links)."""
    items = np.int32 if u.shape[0] < 2**31 else np.int64
    threads = max(1, min(numba.get_num_threads(), u.shape[0] // 100_000))  # threads pay off on large inputs only
    order, columns = np.empty(u.shape[0], dtype=items), np.empty_like(u)
    starts = _counting_sort_by(v, u, n, threads, order, columns)
    _sort_rows(order, columns, starts)
    return order


@numba.njit(cache=True, nogil=True, parallel=True)
def _counting_sort_by(keys, values, n, threads, order, placed):  # pragma: no cover - compiled
    """Positions ``0 .. len(keys) - 1`` stably ordered by ``keys`` (integers in [0, n)), into
    ``order``, each position's ``values`` beside it in ``placed`` (read later in order, not
    looked up at random), and where each key's run starts (``n + 1`` entries). Thread t counts
    and places the t-th stretch of the positions; a key's run holds thread 0's, then thread 1's."""
    m = keys.shape[0]
    stretch = (m + threads - 1) // threads
    counts = np.zeros((threads, n), dtype=np.int64)
    for t in numba.prange(threads):
        for i in range(t * stretch, min(m, (t + 1) * stretch)):
            counts[t, keys[i]] += 1
    starts = np.empty(n + 1, dtype=np.int64)
    total = 0
    for k in range(n):  # each thread's first slot in each run: counts become offsets
        starts[k] = total
        for t in range(threads):
            count = counts[t, k]
            counts[t, k] = total
            total += count
    starts[n] = total
    for t in numba.prange(threads):
        for i in range(t * stretch, min(m, (t + 1) * stretch)):
            key = keys[i]
            slot = counts[t, key]
            order[slot] = i
            placed[slot] = values[i]
            counts[t, key] = slot + 1
    return starts


@numba.njit(cache=True, nogil=True, parallel=True)
def _sort_rows(order, keys, starts):  # pragma: no cover - compiled
    """Each run ``starts[k]:starts[k + 1]`` of ``order`` stably sorted by ``keys`` (which move
    with it), in place: by insertion where a run is short (most rows of ``W`` hold a few
    entries), by merge sort (stable) where it is long."""
    for k in numba.prange(starts.shape[0] - 1):
        start, end = starts[k], starts[k + 1]
        if end - start <= 32:
            for i in range(start + 1, end):
                item, key = order[i], keys[i]
                j = i - 1
                while j >= start and keys[j] > key:  # strictly greater: equal keys keep their order
                    order[j + 1] = order[j]
                    keys[j + 1] = keys[j]
                    j -= 1
                order[j + 1] = item
                keys[j + 1] = key
        else:
            ranked = np.argsort(keys[start:end], kind="mergesort")
            run, column = order[start:end].copy(), keys[start:end].copy()
            for i in range(end - start):
                order[start + i] = run[ranked[i]]
                keys[start + i] = column[ranked[i]]


@numba.njit(cache=True, nogil=True)
def _strongest(order, u, v, rule, forward, weight):  # pragma: no cover - compiled
    """For edges in ``order`` (:func:`_pair_order`), which to keep: of the edges one rule makes
    between one pair in one written direction, the strongest (ties to the first); and which
    edge comes first of the rule's edges between its pair (to count the distinct pairs). Under
    one ``(v, u)`` the edges come in their given order, by rule then direction, so each such
    group is a run."""
    keep = np.zeros(order.shape[0], dtype=np.bool_)
    first = np.zeros(order.shape[0], dtype=np.bool_)
    best = -1
    for k in range(order.shape[0]):
        i = order[k]
        if best < 0 or u[i] != u[best] or v[i] != v[best] or rule[i] != rule[best] or forward[i] != forward[best]:
            if best < 0 or u[i] != u[best] or v[i] != v[best] or rule[i] != rule[best]:
                first[i] = True
            if best >= 0:
                keep[best] = True
            best = i
        elif weight[i] > weight[best]:
            best = i
    if best >= 0:
        keep[best] = True
    return keep, first


def _rule_edges(source: LinkSource, column, in_force: np.ndarray, codes: LinkCodes,
                rows: np.ndarray | None, rule: Transmit, notes: list[str]) -> list[_Edges]:
    """The edges one rule makes of the links in force (``in_force``, a mask over ``codes`` and
    ``column(name)``, the links' columns: of the whole table, or of its ``rows`` when given),
    each link's own, forward ones first (:func:`_edges_at` keeps the strongest of a pair's): one
    part per direction, concatenated with the other rules' parts once."""
    mask = codes.type == _code(codes.types, rule.link)
    mask &= in_force
    if rule.role is not None:
        mask &= codes.role == _code(codes.roles, rule.role)
    mask = np.flatnonzero(mask)
    # positions in the links table: int32 while they fit (at 10^7 links each array an edge is
    # 0.08 GB in int32, and a build holds several)
    chosen = (mask if rows is None else rows[mask]).astype(np.int32 if in_force.size < 2**31 else np.int64)
    if rule.by_share:
        weight, missing = _share_weights(column, mask, codes.target[mask], source.missing_share)
        if missing:
            unshared = mask[np.isnan(np.asarray(column("share"), dtype=float)[mask])][:5]
            ends = source.columns(("source", "target"), unshared if rows is None else rows[unshared])
            named = ", ".join(f"{s} -> {t}" for s, t in zip(ends["source"], ends["target"]))
            notes.append(f"{missing} {rule.link} link(s) active at as_of have no share "
                         f"({named}{', ...' if missing > 5 else ''}): "
                         f"missing_share = {source.missing_share.value!r} applied")
    else:
        weight = np.full(chosen.size, rule.weight, dtype=float)
    keep = ~np.isnan(weight) & (weight > 0)
    if not keep.all():
        chosen, weight, mask = chosen[keep], weight[keep], mask[keep]
    source_idx, target_idx = codes.source[mask], codes.target[mask]
    del mask, keep
    parts = []
    if rule.direction in (Direction.FORWARD, Direction.BOTH):
        parts.append(_Edges(source_idx, target_idx, weight, chosen, np.ones(chosen.size, dtype=bool)))
    if rule.direction in (Direction.BACKWARD, Direction.BOTH):
        parts.append(_Edges(target_idx, source_idx, weight, chosen, np.zeros(chosen.size, dtype=bool)))
    return parts


def combine_parallel(u: np.ndarray, v: np.ndarray, weight: np.ndarray, n: int, parallel: Parallel,
                     order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One weight per ordered pair ``(u, v)`` from the weights of the links joining it.

    ``sum`` adds them; ``max`` keeps the strongest; ``noisy_or`` gives ``1 - prod(1 - w)``, the
    chance that at least one of several independent coins succeeds (each weight, capped at 1,
    read as a probability).

    Returns
    -------
    pair_u, pair_v, pair_weight : ndarray
        The distinct pairs, ordered by ``(v, u)``, and their combined weight.
    pair_of : ndarray
        For each input link, the position of its pair.

    ``order``, when the caller has it, is the links' order by ``(v, u)`` with ties in their
    given order (``np.argsort(v * n + u, kind="stable")``).

    Examples
    --------
    Two links from 0 to 1, of 0.8 and 0.6:

    >>> u, v, w = np.array([0, 0]), np.array([1, 1]), np.array([0.8, 0.6])
    >>> [round(float(combine_parallel(u, v, w, 2, rule)[2][0]), 6) for rule in Parallel]
    [1.4, 0.8, 0.92]

    References
    ----------
    .. [1] Kempe, Kleinberg, Tardos, "Maximizing the spread of influence through a social
       network", KDD 2003, section 2 (one independent activation attempt per link).
    """
    pair_u, pair_v, combined, pair_of = _combine(u, v, weight, n, parallel, order)
    return pair_u.astype(np.int64), pair_v.astype(np.int64), combined, pair_of


@numba.njit(cache=True, nogil=True)
def _pair_starts(order, u, v):  # pragma: no cover - compiled
    """Where each pair's run of edges begins among edges in ``order`` (by ``(v, u)``)."""
    starts = np.zeros(order.shape[0], dtype=np.bool_)
    for k in range(order.shape[0]):
        if k == 0 or u[order[k]] != u[order[k - 1]] or v[order[k]] != v[order[k - 1]]:
            starts[k] = True
    return starts


def _combine(u: np.ndarray, v: np.ndarray, weight: np.ndarray, n: int, parallel: Parallel,
             order: np.ndarray | None = None, *, per_edge: bool = True
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`combine_parallel`, the pairs' ends in the type of ``u`` and ``v`` and ``pair_of``
    in that of ``order`` (int32 while they fit), and ``pair_of`` None unless ``per_edge``. The
    pairs' runs are found from the ends themselves, with no key per edge (v * n + u, and the
    keys in order: 16 bytes an edge, 0.3 GB at 10^7 links, held beside the edges)."""
    if order is None:
        order = _pair_order(u, v, n)  # np.argsort(v * n + u, kind="stable"), in linear time
    starts = _pair_starts(order, u, v)
    first = np.flatnonzero(starts)  # where each pair's run of links begins, in (v, u) order
    at = order[first]  # each pair's first edge
    pair_u, pair_v = u[at], v[at]
    del at
    pair_of = None
    if per_edge:
        pair_of_sorted = np.cumsum(starts, dtype=order.dtype)
        pair_of_sorted -= 1
        pair_of = np.empty_like(pair_of_sorted)
        pair_of[order] = pair_of_sorted
        del pair_of_sorted
    del starts
    w = weight[order].astype(float, copy=False)
    if parallel is Parallel.SUM:
        combined = np.add.reduceat(w, first) if w.size else w
    elif parallel is Parallel.MAX:
        combined = np.maximum.reduceat(w, first) if w.size else w
    else:
        # log1p keeps 1 - prod(1 - w) exact for weak links; a certain link (w = 1) gives -inf, i.e. 1
        with np.errstate(divide="ignore"):
            combined = -np.expm1(np.add.reduceat(np.log1p(-np.minimum(w, 1.0)), first)) if w.size else w
    return pair_u, pair_v, combined, pair_of


def _pairs(edges: _Edges, order: np.ndarray, n: int, parallel: Parallel, normalize: Normalize, *,
           per_edge: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The entries of ``W`` the edges make (``order``: theirs by ``(v, u)``): links between one
    pair combined under ``parallel``, then normalised. Returns the pairs (ordered by
    ``(v, u)``), their weight, and each edge's own weight (scaled as its pair was by the
    normalisation) and pair; those two None unless ``per_edge`` (``W`` alone needs neither)."""
    pair_u, pair_v, pair_weight, pair_of = _combine(edges.u, edges.v, edges.weight, n, parallel, order,
                                                    per_edge=per_edge)
    weight = edges.weight if per_edge else None
    if normalize is not Normalize.NONE and pair_weight.size:
        # normalised after combining: under max or noisy_or the links of a pair are one channel
        total = _totals(pair_u, pair_v, pair_weight, n, normalize)
        # divided, not multiplied by a reciprocal: 1 / 5e-324 (a subnormal stake) is inf
        pair_weight = pair_weight / total[pair_u if normalize is Normalize.SOURCE else pair_v]
        if per_edge:
            weight = _scaled(edges, total, normalize)
    return pair_u, pair_v, pair_weight, weight, pair_of


def _totals(pair_u: np.ndarray, pair_v: np.ndarray, pair_weight: np.ndarray, n: int, normalize: Normalize) -> np.ndarray:
    """What ``normalize`` divides by, per entity: the combined weights of its pairs as a source
    (or as a target)."""
    return np.bincount(pair_u if normalize is Normalize.SOURCE else pair_v, weights=pair_weight, minlength=n)


def _scaled(edges: _Edges, total: np.ndarray, normalize: Normalize) -> np.ndarray:
    """Each edge's own weight divided by its pair's normalising ``total`` (:func:`_totals`),
    looked up by the edge's own end (a pair's ends are its edges'): no array of each edge's pair
    (4 bytes an edge) and of its total (8 more) beside the answer, which is made in the
    lookup's array."""
    scale = total[edges.u if normalize is Normalize.SOURCE else edges.v]
    return np.divide(edges.weight, scale, out=scale)


def _edge_weights(edges: _Edges, order: np.ndarray, n: int, parallel: Parallel, normalize: Normalize) -> np.ndarray:
    """Each edge's own weight, scaled as its pair is by the normalisation: :func:`_pairs`'s
    fourth value, the same to the last bit, with only the pairs' totals per entity held
    beside the edges (the pairs themselves are let go before the edges are scaled). What the
    strongest links and the stake matrices read: at 10^7 links, the peak of a what-if's first
    spillover report was :func:`_pairs` making these weights through each edge's pair."""
    if normalize is Normalize.NONE:
        return edges.weight
    pair_u, pair_v, pair_weight, _ = _combine(edges.u, edges.v, edges.weight, n, parallel, order, per_edge=False)
    if not pair_weight.size:
        return edges.weight
    total = _totals(pair_u, pair_v, pair_weight, n, normalize)
    del pair_u, pair_v, pair_weight
    return _scaled(edges, total, normalize)


def _matrix(pair_u: np.ndarray, pair_v: np.ndarray, pair_weight: np.ndarray, n: int,
            precision: Precision = Precision.FLOAT64) -> sp.sparse.csr_array:
    """``W`` in compressed rows straight from the pairs, already ordered by ``(v, u)`` and
    distinct, its values in the type ``precision`` stores them in."""
    # int32 indices while they fit (2^31): half the index bytes a solve streams per step
    index_type = np.int32 if max(n, pair_weight.size) < 2**31 else np.int64
    indptr = np.zeros(n + 1, dtype=index_type)
    np.cumsum(np.bincount(pair_v, minlength=n), out=indptr[1:])
    W = sp.sparse.csr_array((stored_values(pair_weight, precision), pair_u.astype(index_type), indptr), shape=(n, n))
    W.has_canonical_format = True  # distinct pairs, sorted by (v, u)
    return W


def _edges_at(source: LinkSource, date: pd.Timestamp, n: int, notes: list[str], rows: np.ndarray | None = None
              ) -> tuple[_Edges, np.ndarray, np.ndarray]:
    """Every edge the rules make of the links in force at ``date`` (among ``rows``, when
    given), the position of the rule that made each, and the edges' order by ``(v, u)``
    (ties in their order: by rule, direction, row)."""
    if rows is None:  # the links as codes and number columns, never as a table (:meth:`LinkSource.timeline`)
        timeline = source.timeline()
        column = functools.cache(source.column)  # a share column read once per call
    else:  # only the columns that decide, as plain arrays: a few links, asked often
        ends = source.ends()
        by_share = any(rule.by_share for rule in source.rules)  # a stake's weight
        shares = ("share", "share_low", "share_high") if by_share else ()
        links = pd.DataFrame(source.columns(("type", "role", "start", "end", *shares), rows))
        timeline = LinkTimeline(links, LinkCodes.of(links, (ends[0][rows], ends[1][rows])))
        column = links.__getitem__
    in_force = timeline.in_force(date)
    parts, numbers = [], []
    for number, transmit in enumerate(source.rules):
        made = _rule_edges(source, column, in_force, timeline.codes, rows, transmit, notes)
        parts += made
        numbers += [number] * len(made)
    del column
    edges = _Edges.concat(parts)
    rule = np.repeat(np.array(numbers, dtype=np.int8 if len(source.rules) < 2**7 else np.int64),
                     [part.u.size for part in parts])
    del parts  # copied into edges: not held twice (at 10^7 links some 0.4 GB)
    # One rule carries a penalty across a pair once per written direction, at its strongest link:
    # a person holding two offices in one company under a role-less rule is still one officer.
    # The written direction stays in the key: under direction = "both" the two stakes of a
    # cross-holding (A owns 30 % of B, B owns 60 % of A) are two links from A to B (issue 9.3),
    # combined with the other links between the pair under the policy's ``parallel``.
    # (Strongest first, ties to the earlier edge; the kept edges in their order.) One order by
    # pair serves this and the combination of a pair's links after it.
    if edges.u.size and min(edges.u.min(), edges.v.min()) < 0:  # the compiled sorts index by them
        raise ValueError("a link's source or target is not among the entities: validate the tables first "
                         "(graphscore.validate).")
    order = _pair_order(edges.u, edges.v, n)
    keep, first = _strongest(order, edges.u, edges.v, rule, edges.forward, edges.weight)
    weight = edges.weight
    for number, transmit in enumerate(source.rules):
        if transmit.split:  # divided evenly among the entities one source reaches by this rule
            mine = rule == number
            reached = np.bincount(edges.u[first & mine], minlength=n)
            weight = np.where(mine, weight / np.maximum(reached[edges.u], 1), weight)
    del first
    edges = _Edges(edges.u, edges.v, weight, edges.row, edges.forward)
    del weight
    if keep.all():  # no two edges of one rule in one direction between one pair: nothing to drop
        return edges, rule, order
    return _drop(edges, rule, order, keep)  # the arrays are this function's own: made by the concat above


def _drop(edges: _Edges, rule: np.ndarray, order: np.ndarray, keep: np.ndarray) -> tuple[_Edges, np.ndarray, np.ndarray]:
    """The edges where ``keep`` is True, their rules, and their order by ``(v, u)`` (``order``,
    the edges' own, renumbered among the kept): what taking ``edges.u[keep]`` etc. and
    ``position[order[keep[order]]]`` gives, but squeezed out of the given arrays in place, each
    kept entry moved down, and the arrays cut to the kept (views): the edges are never held
    twice. (Copied out, the kept edges with their positions, 33 bytes an edge, were the peak of
    a what-if's first spillover report at 10^7 links.) The given arrays are overwritten.

    Examples
    --------
    >>> edges = _Edges(np.array([0, 1, 2]), np.array([1, 1, 0]), np.array([0.5, 0.2, 0.3]),
    ...                np.array([7, 8, 9]), np.array([True, False, True]))
    >>> kept, rule, order = _drop(edges, np.array([0, 1, 0], dtype=np.int8), np.array([2, 0, 1]),
    ...                           np.array([True, False, True]))
    >>> kept.row.tolist(), rule.tolist(), order.tolist()
    ([7, 9], [0, 0], [1, 0])
    """
    position = np.cumsum(keep, dtype=order.dtype)
    position -= 1  # of each kept edge among the kept
    order = order[:_renumber_kept(order, keep, position)]
    del position
    edges = _Edges(*(column[:_keep_in_place(column, keep)]
                     for column in (edges.u, edges.v, edges.weight, edges.row, edges.forward)))
    return edges, rule[:_keep_in_place(rule, keep)], order


@numba.njit(cache=True, nogil=True)
def _keep_in_place(values, keep):  # pragma: no cover - compiled
    """Move the entries of ``values`` where ``keep`` is True to its front, in their order, and
    return how many there are: ``values[:count]`` is then ``values[keep]`` as it was."""
    count = 0
    for i in range(values.shape[0]):
        if keep[i]:
            values[count] = values[i]
            count += 1
    return count


@numba.njit(cache=True, nogil=True)
def _renumber_kept(order, keep, position):  # pragma: no cover - compiled
    """Of the positions in ``order``, those of kept entries, each as ``position`` numbers it
    among the kept, moved to the front of ``order`` in their order; returns how many: the
    front is then ``position[order[keep[order]]]`` as it was."""
    count = 0
    for k in range(order.shape[0]):
        i = order[k]
        if keep[i]:
            order[count] = position[i]
            count += 1
    return count


def _rings(source: LinkSource, *, both_ends: bool = False) -> int:
    """How many rings of links around an edge's ends decide its weight, beyond its own links.

    An edge's own links decide it under a fixed weight. A rule's ``split`` counts whom its
    source reaches (the source's links) and a bounded missing stake reads the other owners of
    its asset (the asset's links): one ring, since the edge's far end may be outside the
    entities asked about. ``normalize`` sums the pairs of the edge's source or target, each
    decided as above: one ring more. With ``both_ends``, for edges whose two ends' links are
    all read anyway, only the pairs a normalisation sums need their far ends' links."""
    bounds = source.missing_share in (MissingShare.LOW, MissingShare.HIGH) and any(r.by_share for r in source.rules)
    local = int(bounds or any(rule.split for rule in source.rules))
    normalized = int(source.normalize is not Normalize.NONE)
    return normalized * local if both_ends else local + normalized


def _edge_table(source: LinkSource, n: int, entities: np.ndarray | None, among: np.ndarray | None = None
                ) -> pd.DataFrame:
    """:meth:`Projection.edges_touching`: the edges found again from the links of ``entities``
    (all when None); with ``among`` (a mask of entities, ``entities`` among them), only the
    edges from or to ``entities`` whose other end is in ``among``."""
    rows = None
    if entities is not None:
        ends = source.ends()
        chosen = np.zeros(n, dtype=bool)
        chosen[np.asarray(entities, dtype=np.int64)] = True
        reached = chosen.copy()
        if among is not None:  # the other ends' links decide too: read those of the other ends wanted
            touching = chosen[ends[0]] | chosen[ends[1]]
            reached[ends[0][touching][among[ends[0][touching]]]] = True
            reached[ends[1][touching][among[ends[1][touching]]]] = True
        # The links that decide these edges' weights: their own, and as many rings of links
        # around them as the weights depend on (see _rings).
        for _ in range(_rings(source, both_ends=among is not None)):
            touching = reached[ends[0]] | reached[ends[1]]
            reached[ends[0][touching]] = True
            reached[ends[1][touching]] = True
        rows = np.flatnonzero(reached[ends[0]] | reached[ends[1]])
    tables = []
    for number, date in enumerate(source.dates):
        edges, rule, order = _edges_at(source, date, n, [], rows)
        _, _, pair_weight, weight, pair_of = _pairs(edges, order, n, source.parallel, source.normalize)
        # only the pairs with an end among the entities are whole: the others are left out
        mine = slice(None) if entities is None else chosen[edges.u] | chosen[edges.v]
        if among is not None:
            mine &= among[edges.u] & among[edges.v]
        row = edges.row[mine]
        taken = source.columns(("type", "role", "share", "source", "target", "source_ref"), row)
        tables.append(pd.DataFrame({
            "u": edges.u[mine].astype(np.int64), "v": edges.v[mine].astype(np.int64), "weight": weight[mine],
            **{name: taken[name] for name in ("type", "role", "share", "source", "target")},
            "direction": np.where(edges.forward[mine], "forward", "backward").astype(object),
            "source_ref": taken.get("source_ref"),
            "pair_weight": pair_weight[pair_of[mine]], "row": row.astype(np.int64),
            "rule": rule[mine].astype(np.int64), "date": number}))
    table = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    if len(tables) > 1:  # a union of layers' links: each edge once, as the first layer has it
        table = table.drop_duplicates(["u", "v", "source", "target", "type", "role", "direction"], ignore_index=True)
    return table


def _strongest_links(source: LinkSource, n: int) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`Projection.strongest_links`: the edges of every date in :func:`_edge_table`'s
    order (by date, rule, direction, forward first, and row), each edge once as that table
    keeps it (of a relation found at several dates, the first), then per pair the strongest,
    ties to the first."""
    parts = []
    for date in source.dates:
        edges, _, order = _edges_at(source, date, n, [])  # by rule, direction and row already
        weight = _edge_weights(edges, order, n, source.parallel, source.normalize)
        parts.append((edges.u, edges.v, weight, edges.row, edges.forward, order))
        del edges, order
    if len(parts) == 1:  # not copied: at 10^7 links each array of the edges is 0.1 GB or more
        u, v, weight, row, _, order = parts.pop()
    else:  # a union of layers' links: each edge once, as the first layer has it
        u, v, weight, row, forward = (np.concatenate(column) for column in list(zip(*parts))[:5])
        del parts
        codes = source.timeline().codes
        relation = (u, v, codes.source[row], codes.target[row], codes.type[row], codes.role[row], forward)
        grouped = np.lexsort(relation[::-1])  # stable: each relation's edges in table order
        first = np.ones(grouped.size, dtype=bool)
        first[1:] = np.any([column[grouped[1:]] != column[grouped[:-1]] for column in relation], axis=0)
        kept = np.sort(grouped[first])
        u, v, weight, row = u[kept], v[kept], weight[kept], row[kept]
        order = _pair_order(u, v, n)  # by (v, u), ties in table order
    chosen = _first_strongest(order, u, v, weight)
    return v[chosen].astype(np.int64) * max(n, 1) + u[chosen], row[chosen]


@numba.njit(cache=True, nogil=True)
def _first_strongest(order, u, v, weight):  # pragma: no cover - compiled
    """For edges in ``order`` (by ``(v, u)``, ties in their given order): each pair's first edge
    at its greatest weight, in pair order. One pass, no array per edge beyond the answer."""
    chosen = np.empty(order.shape[0], dtype=np.int64)
    pairs, best = 0, -1
    for k in range(order.shape[0]):
        i = order[k]
        if best < 0 or u[i] != u[best] or v[i] != v[best]:
            if best >= 0:
                chosen[pairs] = best
                pairs += 1
            best = i
        elif weight[i] > weight[best]:
            best = i
    if best >= 0:
        chosen[pairs] = best
        pairs += 1
    return chosen[:pairs].copy()


OWNERSHIP_MATRICES = "ownership matrices"  # their key in Projection.derived (the workspace keeps them on disk)


def ownership_matrices(projection: Projection) -> tuple[sp.sparse.csr_array, sp.sparse.csr_array]:
    """``D[o, a]``, the direct share of asset a held by owner o (no stored zeros), and
    ``C[c, a] = 1`` where c CONTROLS a, from a projection built under an ownership model.

    Made with the projection under an ownership model (from the edges that make ``W``), else
    once per projection, and kept with it (:attr:`Projection.derived`): they come from every
    edge of the register, and one ultimate-owners question needs a few of their entries.
    Made from the edges as arrays (the ones :meth:`Projection.edges_touching` tabulates, with
    the same weights), never as a table: a per-edge table of 10^7 links costs tens of seconds
    and gigabytes. Shared by every caller, so not to be modified in place: stored zeros are
    dropped here, so the ownership engine's check of its input (which drops them in place)
    finds nothing to change."""
    if OWNERSHIP_MATRICES not in projection.derived:
        source = projection.source
        # an ownership projection reads its links at one date (no layers: build_projection)
        edges, rule, order = _edges_at(source, source.dates[0], projection.n, [])
        weight = _edge_weights(edges, order, projection.n, source.parallel, source.normalize)
        projection.derived[OWNERSHIP_MATRICES] = _ownership_of(source, edges, rule, weight, projection.n)
    return projection.derived[OWNERSHIP_MATRICES]


def _ownership_of(source: LinkSource, edges: _Edges, rule: np.ndarray, weight: np.ndarray, n: int
                  ) -> tuple[sp.sparse.csr_array, sp.sparse.csr_array]:
    """:func:`ownership_matrices` from the edges the rules made (``rule``: the rule of each;
    ``weight``: each one's own, normalised as its pair was)."""
    matrices = []
    for link_type in ("OWNS", "CONTROLS"):
        chosen = np.isin(rule, [k for k, r in enumerate(source.rules) if r.link == link_type])
        matrix = sp.sparse.csr_array((weight[chosen], (edges.u[chosen], edges.v[chosen])), shape=(n, n))
        matrix.sum_duplicates()
        matrices.append(matrix)
    D, C = matrices
    C.data[:] = 1.0
    D.eliminate_zeros()
    return D, C


def link_source(tables, policy: Policy, date: pd.Timestamp, missing_share: MissingShare | None = None) -> LinkSource:
    """The :class:`LinkSource` of a projection of ``tables`` under ``policy`` read at ``date``."""
    missing_share = missing_share or policy.missing_share
    if missing_share is MissingShare.BOUNDS:
        missing_share = MissingShare.LOW
    rules = OWNERSHIP_RULES if policy.model.is_ownership else policy.transmit
    # ownership rules read the stakes themselves (ownership_matrices), never W
    return LinkSource(tables, tuple(rules), missing_share, policy.parallel or Parallel.SUM,
                      policy.normalize, (date,))


def _project(source: LinkSource, n: int, notes: list[str], derived: dict | None = None,
             precision: Precision = Precision.FLOAT64) -> sp.sparse.csr_array:
    """``W`` of the links in force at the source's date; given ``derived`` (a projection's,
    under an ownership model), also the stake and control matrices of the same edges, which
    every run of the rule reads: found again later, they would cost a second pass over the links."""
    edges, rule, order = _edges_at(source, source.dates[0], n, notes)
    # each edge's own weight only for the stake matrices: W needs the pairs alone
    pair_u, pair_v, pair_weight, weight, _ = _pairs(edges, order, n, source.parallel, source.normalize,
                                                    per_edge=derived is not None)
    del order
    if derived is not None:
        derived[OWNERSHIP_MATRICES] = _ownership_of(source, edges, rule, weight, n)
    del edges, rule, weight  # (0.4 GB and more at 10^7 links: not held while W is made)
    return _matrix(pair_u, pair_v, pair_weight, n, precision)


def _layers(tables, policy: Policy, source: LinkSource, index: pd.Index, penalties: pd.DataFrame,
            as_of: pd.Timestamp, notes: list[str]) -> tuple[Projection, ...]:
    """Under ``link_time = "at_penalty"``: one projection per set of links that some counted
    penalty started under, with ``s`` made of those penalties only (issue 9.14).

    The links in force change only on the dates links start or end, so penalties that started
    between two such dates read the same links and share one layer (and one solve).
    """
    counted = penalties[penalties["weight"] > 0]
    if policy.combine is Combine.MAX:  # only an entity's heaviest penalty makes its s: it alone travels
        counted = counted.sort_values(["weight", "id"], ascending=[False, True]).drop_duplicates("idx")
    start, end = source.timeline().dates  # the links' dates, not the links table
    changes = np.unique(pd.Series(np.concatenate([start, end])).dropna().to_numpy("datetime64[ns]"))
    epoch = np.searchsorted(changes, counted["start"].to_numpy("datetime64[ns]"), side="right")
    layers = []
    for _, group in counted.groupby(epoch, sort=True):
        links_at = group["start"].min()
        layer_notes: list[str] = []
        layer_source = source.at(links_at)
        W = _project(layer_source, len(index), layer_notes, precision=policy.precision)
        notes.extend(f"links as of {links_at.date()}: {note}" for note in layer_notes)
        layers.append(Projection(index, W, own_weights(group, len(index), policy.combine), layer_source, group, as_of,
                                 policy.combine, tuple(layer_notes), None, links_at))
    return tuple(layers)


def build_projection(tables, policy: Policy, as_of: dt.date | str | None = None, *,
                     missing_share: MissingShare | None = None) -> Projection:
    """Build ``W`` and ``s`` from validated tables under a policy at a date.

    Transmission rules add up: a link matched by two ``[[transmit]]`` tables is two links.
    Several links between one ordered pair make one entry of ``W`` under the policy's
    ``parallel`` (sum, strongest, or noisy-or: :func:`combine_parallel`), and ``normalize``
    applies to the combined entries. Ownership models read OWNS (by share) and CONTROLS links
    owner -> asset instead, and only penalties of the policy's ``seed_kinds`` list an entity.
    ``missing_share`` overrides the policy's (``"bounds"`` is two projections, one ``"low"`` and
    one ``"high"``: see :func:`graphscore.analysis.scores.score`).

    Under ``link_time = "at_penalty"`` the projection also carries ``layers`` (see
    :class:`Projection`): each penalty travels over the links in force when it started, not at
    ``as_of``; ``W`` itself stays the network at ``as_of``, for the views of it reports draw.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> tables = fined_company()
    >>> policy = gs.parse_policy('name="r"\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"\\nweight=0.5')
    >>> p = build_projection(tables, policy, "2024-01-01")
    >>> p.W.toarray().tolist(), p.s.tolist()
    ([[0.0, 0.0], [0.5, 0.0]], [1.0, 0.0])
    >>> p.edges_touching()[["u", "v", "weight", "type", "direction"]].values.tolist()
    [[0, 1, 0.5, 'OFFICER_OF', 'backward']]
    """
    as_of = resolve_as_of(as_of, policy)
    index = pd.Index(tables.entities["id"], name="id")
    notes: list[str] = []
    if (missing_share or policy.missing_share) is MissingShare.BOUNDS:
        notes.append("missing_share = 'bounds': this projection takes the low end")
    source = link_source(tables, policy, as_of, missing_share)
    n = len(index)
    derived = {} if policy.model.is_ownership else None
    W = _project(source, n, notes, derived, policy.precision)

    weight = penalty_weights(tables.penalties, as_of, half_life_days=policy.half_life_days, repair=policy.repair,
                             period_days=policy.period_days)
    if policy.model.is_ownership:
        weight = weight.where(policy.lists(tables.penalties), 0.0)
    idx = _penalty_rows(tables.penalties, tables.entities)
    penalties = tables.penalties.assign(weight=weight.to_numpy(), idx=idx)
    s = own_weights(penalties, n, policy.combine)
    values = tables.entities["value"].to_numpy(float) if "value" in tables.entities else np.full(n, np.nan)
    values = None if np.isnan(values).all() else np.nan_to_num(values)
    layers = ()
    if policy.link_time is LinkTime.AT_PENALTY and not policy.model.is_ownership:
        layers = _layers(tables, policy, source, index, penalties, as_of, notes)
    projection = Projection(index, W, s, source, penalties, as_of, policy.combine, tuple(notes), values, None, layers)
    projection.derived.update(derived or {})
    return projection
