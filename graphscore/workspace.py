"""The workspace: one set of tables, and what is computed from them once and then reused.

Every command, report and notebook cell goes through a :class:`Workspace`. It holds validated
tables and caches, per (policy hash, as-of), the projection (``W``, ``s`` and the id map) and
the baseline run of the policy's model, so a dossier, an explanation and a what-if on the same
data and policy build the projection once. Opened on a store (:func:`open_workspace`), the
cache also lives on disk beside it, keyed by the data fingerprint the store recorded at its
last load: a second command on the same store and policy starts from it, and any load makes
it stale.

Examples
--------
>>> import graphscore as gs
>>> from graphscore.toy import fined_company
>>> ws = Workspace(fined_company())
>>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
>>> ws.projection(policy, "2024-01-01") is ws.projection(policy, "2024-01-01")
True
>>> ws.baseline(policy, "2024-01-01").total.tolist()
[1.0, 0.5]
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from graphscore.cache import DiskCache, StoredTables
from graphscore.engine.echo import model_echo
from graphscore.engine.matrix import (OWNERSHIP_MATRICES, Projection, build_projection, link_ends, ownership_matrices,
                                     resolve_as_of)
from graphscore.engine.run import ModelRun, run_model
from graphscore.timeline import active_links
from graphscore.model import Tables, validate
from graphscore.policy import MissingShare, Policy
from graphscore.progress import SILENT, Progress

if TYPE_CHECKING:
    from graphscore.store.base import CypherStore

__all__ = ["Workspace", "as_workspace", "open_workspace", "cache_folder"]

AsOf = dt.date | str | None
# Bytes of buffer pool an embedded store is opened with to read its fingerprint, and no table
# (open_workspace): LadybugDB's default is most of the memory.
GLANCE_BUFFER_POOL = 256 << 20


class Workspace:
    """Validated tables and the projections and model runs computed from them.

    Parameters
    ----------
    tables : Tables
        Validated or raw tables (raw ones are validated here).
    fingerprint : str, optional
        The data fingerprint, when the source already knows it (a store records it at load);
        computed from the tables otherwise.
    cache : DiskCache, optional
        Where projections and baseline runs of this content are kept between processes.
    progress : Progress
        Where the steps that take seconds (projecting, solving) report.
    """

    def __init__(self, tables: Tables, *, fingerprint: str | None = None, cache: DiskCache | None = None,
                 progress: Progress = SILENT):
        self.tables = tables if tables.validated else validate(tables)
        self._fingerprint = fingerprint
        self.cache = cache
        self.progress = progress
        self._projections: dict[tuple, Projection] = {}
        self._runs: dict[tuple, ModelRun] = {}
        self._echoes: dict[tuple, np.ndarray] = {}
        self._links_at: dict[pd.Timestamp, pd.DataFrame] = {}
        self._facts: dict[str, object] = {}

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the tables' content, row order ignored (:meth:`Tables.fingerprint`)."""
        if self._fingerprint is None:
            self._fingerprint = self.tables.fingerprint()
        return self._fingerprint

    @property
    def names(self) -> pd.Series:
        """Entity names by id (a column of :attr:`entities`, which indexes the ids once)."""
        return self.entities["name"]

    @functools.cached_property
    def ids(self) -> pd.Index:
        """The entities' ids in table order: the rows of every projection of these tables, one
        index (and one hash table, built on its first lookup) shared by all of them and by
        :attr:`entities`."""
        return pd.Index(self.tables.entities["id"], name="id")

    @functools.cached_property
    def entities(self) -> pd.DataFrame:
        """The entities table indexed by id (:attr:`ids`), for lookups of a few rows."""
        entities = self.tables.entities.drop(columns="id")
        entities.index = self.ids
        return entities

    def _key(self, policy: Policy, as_of: AsOf, missing_share: MissingShare | None) -> tuple:
        return (policy.hash, resolve_as_of(as_of, policy), missing_share)

    def projection(self, policy: Policy, as_of: AsOf = None, *,
                   missing_share: MissingShare | None = None) -> Projection:
        """``W``, ``s`` and the id map under ``policy`` at ``as_of`` (built once, then reused)."""
        key = self._key(policy, as_of, missing_share)
        if key not in self._projections:
            self._projections[key] = self._build(policy, key[1], missing_share)
        return self._projections[key]

    def _build(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None) -> Projection:
        projection = (self.cache.load_projection(policy, as_of, missing_share, self.tables, self.ids)
                      if self.cache else None)
        if projection is None:
            # the count from the tables' files where they keep them: len(tables.links) would make
            # the whole links table a frame (2.7 s and some 1 GB held at 10^7 links) for a message
            links = self.tables.counts()["links"]
            with self.progress.step(f"projecting {links:,} links under {policy.name}",
                                    f"projected the links under {policy.name}"):
                projection = build_projection(self.tables, policy, as_of, missing_share=missing_share)
            if self.cache:
                self.cache.save_projection(policy, missing_share, projection)
        if self.cache:
            self.cache.keep_derived(projection, policy, missing_share)
        if policy.model.is_ownership and self.cache:
            # The stakes and control links as matrices: every ownership answer reads them, and they
            # come from a table of every edge of the register (3.8 s of a 10^6-link dossier under
            # cProfile, for one entity's ultimate owners): made once per content, kept on disk.
            kept = self.cache.load_matrices(policy, as_of, missing_share, "ownership")
            if kept is None:
                kept = ownership_matrices(projection)
                self.cache.save_matrices(policy, as_of, missing_share, "ownership", kept)
            projection.derived[OWNERSHIP_MATRICES] = kept
        return projection

    def baseline(self, policy: Policy, as_of: AsOf = None, *,
                 missing_share: MissingShare | None = None) -> ModelRun:
        """The policy's model run on the data as it is (computed once, then reused)."""
        key = self._key(policy, as_of, missing_share)
        if key not in self._runs:
            self._runs[key] = self._run(policy, key[1], missing_share)
        return self._runs[key]

    def _run(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None) -> ModelRun:
        cached = self.cache.load_run(policy, as_of, missing_share) if self.cache else None
        if cached is not None:
            return cached
        projection = self.projection(policy, as_of, missing_share=missing_share)
        with self.progress.step(f"running {policy.model.value} on {projection.n:,} entities",
                                f"ran {policy.model.value} on {projection.n:,} entities"):
            run = run_model(projection, policy)
        if self.cache:
            self.cache.save_run(policy, as_of, missing_share, run)
        return run

    def echo(self, policy: Policy, as_of: AsOf = None, *, missing_share: MissingShare | None = None) -> np.ndarray:
        """Each entity's own penalty returning to it around cycles under the policy's model
        (:func:`graphscore.engine.echo.model_echo`): computed once, then reused, and apart from
        the baseline run, since it costs two pushes from each penalised entity on a cycle (one to
        seven times the solve on synthetic registries) and a what-if or an explanation never needs it."""
        key = self._key(policy, as_of, missing_share)
        if key not in self._echoes:
            cached = self.cache.load_echo(policy, key[1], missing_share) if self.cache else None
            if cached is None:
                projection = self.projection(policy, key[1], missing_share=missing_share)
                with self.progress.step(f"finding own penalties returning around cycles under {policy.name}",
                                        f"found the own penalties returning under {policy.name}"):
                    cached = model_echo(projection, policy)
                if self.cache:
                    self.cache.save_echo(policy, key[1], missing_share, cached)
            self._echoes[key] = cached
        return self._echoes[key]

    def remembered(self, name: str, compute):
        """``compute()``, a JSON value about the whole register (e.g. which links lack a share),
        worked out once per process and, opened on a store, kept on disk beside it: a command
        about one entity then never reads every link to say it again."""
        if name not in self._facts:
            value = self.cache.load_fact(name) if self.cache else None
            if value is None:
                value = compute()
                if self.cache:
                    self.cache.save_fact(name, value)
            self._facts[name] = value
        return self._facts[name]

    def links_at(self, as_of: AsOf, policy: Policy | None = None) -> pd.DataFrame:
        """Links in force at ``as_of``, one record per relation (:func:`active_links`)."""
        day = resolve_as_of(as_of, policy)
        if day not in self._links_at:
            self._links_at[day] = active_links(self.tables.links, day)
        return self._links_at[day]

    def links_touching(self, entity_ids, as_of: AsOf, policy: Policy | None = None) -> pd.DataFrame:
        """Links in force at ``as_of`` with a source or target among ``entity_ids``, in
        :meth:`links_at` order. The records of the entities are found in an index of all links
        by end, built once, and only they are dated: a question about one entity costs what its
        links cost, not what the register does. (Every record of a relation shares its ends, so
        which record is in force is decided exactly as over the whole table.)"""
        return active_links(self.records_touching(entity_ids), resolve_as_of(as_of, policy))

    def records_touching(self, entity_ids) -> pd.DataFrame:
        """Every link record, of any date, with a source or target among ``entity_ids``, in
        table order: found in an index of all links by end, built once, or, while the links
        are still on disk (tables from the cache, :class:`~graphscore.cache.StoredTables`),
        in their Arrow columns, so one command about one entity never reads the register."""
        if isinstance(self.tables, StoredTables) and "links" not in self.tables.loaded():
            if "entities" not in self.tables.loaded():  # a question that read no entity reads none here
                return self.tables.links_touching(entity_ids)
            entity_ids = list(entity_ids)
            rows = self.ids.get_indexer(pd.Index(entity_ids, dtype=object))
            return self.tables.links_touching(entity_ids, entity_rows=rows[rows >= 0])
        ends, starts, rows = self._links_by_end
        found = ends.get_indexer(pd.Index(list(entity_ids), dtype=object))
        found = found[found >= 0]
        chosen = np.unique(np.concatenate([rows[starts[k]:starts[k + 1]] for k in found])) if found.size else []
        return self.tables.links.iloc[chosen]

    @property
    def link_ends(self) -> tuple[np.ndarray, np.ndarray]:
        """Row in :attr:`entities` of each link's source and of its target, in ``tables.links``
        order: the links as integers, for searches over the whole register (int32, found once
        per links table and shared with the projections: :func:`graphscore.engine.matrix.link_ends`)."""
        return link_ends(self.tables.links, self.tables.entities)

    @functools.cached_property
    def _links_by_end(self) -> tuple[pd.Index, np.ndarray, np.ndarray]:
        """Each end of each link, grouped by entity: the rows of the entity at position k of
        :attr:`entities` are ``rows[starts[k]:starts[k + 1]]`` (positions in ``tables.links``)."""
        codes = np.concatenate(self.link_ends)
        # by entity, ties in link order: each end's position packed below its entity in one key
        # and sorted, not a stable argsort (0.12 s of CPU for the 2 x 10^6 ends of 10^6 links,
        # against 0.19 s); positions take 32 bits, so up to 2^31 links
        order = np.sort((codes.astype(np.int64) << 32) | np.arange(codes.size, dtype=np.int64)) & 0xFFFFFFFF
        starts = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(self.entities)))])
        return self.entities.index, starts, order % max(len(self.tables.links), 1)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.tables.counts().items())
        return f"Workspace({counts}; {len(self._projections)} projection(s) cached)"


def as_workspace(source: Tables | Workspace) -> Workspace:
    """The workspace of ``source``: itself, or a new one over plain tables."""
    return source if isinstance(source, Workspace) else Workspace(source)


def cache_folder(store) -> Path | None:
    """Where the disk cache of an embedded store lives (``graph.cache`` beside ``graph.lbug``);
    None for a server store, whose clients may not share a disk."""
    path = getattr(store, "path", None)
    return path.with_suffix(".cache") if path is not None else None


def open_workspace(db: str | Path, *, wait: float = 0.0, progress: Progress = SILENT) -> Workspace:
    """The workspace of a store: its tables (from the disk cache when it holds this content,
    else read back from the store) and the cached projections and runs.

    Parameters
    ----------
    db : str or Path
        An embedded store folder, or a Neo4j URI (see :func:`graphscore.store.open_store`).
    wait : float
        Seconds to wait for a store another process holds (see :class:`LadybugStore`).
    progress : Progress
        Where reading the store and the workspace's own long steps report.
    """
    from graphscore.store import open_store
    from graphscore.store.ladybug import LadybugStore

    # An embedded store is opened first with a small buffer pool (LadybugDB's default reserves
    # most of the memory: 0.1-0.2 s wall to open at 10^6 links, against 0.07-0.11 s), enough to
    # read its fingerprint; when the disk cache holds its tables (every command after the first)
    # that is all. Otherwise it is opened again with the default to read them back, and its
    # fingerprint read again (a load may have run in between).
    with progress.step("reading the store's tables", "read the store's tables"):
        for buffer_pool in (GLANCE_BUFFER_POOL, 0):
            with open_store(db, read_only=True, wait=wait, buffer_pool=buffer_pool) as store:
                fingerprint = store.data_fingerprint()
                folder = cache_folder(store)
                cache = DiskCache(folder, fingerprint) if folder is not None and fingerprint else None
                tables = cache.load_tables() if cache else None
                if tables is None and buffer_pool and isinstance(store, LadybugStore):
                    continue
                if tables is None:
                    tables = _read_back(store, cache)
            break
    return Workspace(tables, fingerprint=fingerprint, cache=cache, progress=progress)


def _read_back(store: CypherStore, cache: DiskCache | None) -> StoredTables | Tables:
    """The store's tables read back, and kept in the disk cache ``cache`` where there is one."""
    from graphscore.store.ladybug import LadybugStore
    from graphscore.store.ladybug import _release_freed_memory as release_freed_memory

    if cache and isinstance(store, LadybugStore):
        # the content a load validated (it recorded the fingerprint): read as Arrow, not validated again
        tables = cache.keep_content(*store.read_content())
        # what the read-back held is freed, and the tables are mapped from the cache's files
        # now: given back to the system at once (Arrow's allocator and the C library's keep
        # it otherwise), not held while the projection is built
        release_freed_memory()
        return tables
    tables = store.read_tables()
    if cache:
        cache.save_tables(tables)
    return tables
