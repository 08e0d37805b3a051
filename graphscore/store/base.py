"""The graph store interface, and the loading logic both backends share.

A backend provides three things: run one Cypher statement with parameters, group statements
into one transaction, and create its schema. Loading, reading back and writing scores are
written once here, in Cypher both LadybugDB and Neo4j accept.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pandas as pd
import pyarrow as pa

from graphscore.errors import StoreError
from graphscore.policy import Policy
from graphscore.progress import SILENT, Advance, Progress
from graphscore.model import (TABLE_NAMES, LineNumbers, Tables, check_against_store, empty_table, load_model,
                              validate, validate_chunks)
from graphscore.store import statements
from graphscore.store.guard import check_read_only
from graphscore.store.parameters import check_parameters
from graphscore.store.plan import LoadPlan, canonical_order, plan_load, with_link_keys
from graphscore.store.writeback import ScorePlan, plan_scores, run_key

__all__ = ["GraphStore", "CypherStore", "LoadSummary", "to_rows"]

Run = Callable[[str, dict | None], pd.DataFrame]


@runtime_checkable
class GraphStore(Protocol):
    """What every graph store offers."""

    def load(self, tables: Tables) -> "LoadSummary": ...
    def read_tables(self) -> Tables: ...
    def write_scores(self, scores: pd.DataFrame, *, policy: Policy, as_of: dt.date) -> int: ...
    def query(self, cypher: str, parameters: dict | None = None) -> pd.DataFrame: ...
    def counts(self) -> dict[str, int]: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class LoadSummary:
    """Rows offered per table, what the load wrote of them, and the store's counts after it."""

    offered: dict[str, int]
    stored: dict[str, int]
    written: dict[str, dict[str, int]] = field(default_factory=dict)  # per table: new, changed, unchanged
    tables: Tables | None = field(default=None, repr=False)  # the store's whole content after the load
    fingerprint: str | None = None  # of that content, as recorded in the store


def _plain(values: pd.Series) -> pd.Series:
    """A column as the drivers bind it: Python objects, None for missing, datetime.date for dates."""
    if pd.api.types.is_datetime64_any_dtype(values):
        values = values.dt.date
    return values.astype(object).where(values.notna(), None)


def to_rows(df: pd.DataFrame) -> list[dict]:
    """DataFrame -> list of parameter maps, one per row, keyed by the store's property names.

    Examples
    --------
    >>> to_rows(pd.DataFrame({"id": ["a", "b"], "share": [0.5, float("nan")],
    ...                       "end": pd.to_datetime(["2020-01-01", None])}))
    [{'id': 'a', 'share': 0.5, 'end_date': datetime.date(2020, 1, 1)}, {'id': 'b', 'share': None, 'end_date': None}]
    """
    renames = {c.name: c.store_name for spec in load_model().tables.values() for c in spec.columns}
    # column by column, not cell by cell: a load of 10^6 links binds some 10^7 values
    plain = pd.DataFrame({renames.get(c, c): _plain(df[c]) for c in df.columns}, index=df.index)
    return plain.to_dict("records")


def record_fingerprint(run: Run, fingerprint: str) -> None:
    """Record the content's fingerprint, inside the transaction that made the content."""
    run(statements.DELETE_META, {"key": "data_fingerprint"})
    run(statements.CREATE_META, {"key": "data_fingerprint", "value": fingerprint})


class CypherStore:
    """Loading, reading and score write-back over any backend that runs parameterised Cypher."""

    dialect = "ladybug"  # which rendering of graphscore.store.statements the backend takes

    def _run(self, query: str, parameters: dict | None = None) -> pd.DataFrame:
        raise NotImplementedError

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Run]:
        """Yield a runner whose statements commit together, or not at all."""
        raise NotImplementedError
        yield  # pragma: no cover

    # -- reading -----------------------------------------------------------------------------
    def query(self, cypher: str, parameters: dict | None = None) -> pd.DataFrame:
        """Run a Cypher query (values as ``$parameters``) and return the result as a table.

        A ``$parameter`` the query names and ``parameters`` lacks is a ValueError, never an
        empty result. On a store opened read-only, a query that would do more than read the
        graph (write or read files, fetch URLs, load extensions, change settings) is refused
        first (:func:`~graphscore.store.guard.check_read_only`)."""
        if getattr(self, "read_only", False):
            check_read_only(cypher)
        check_parameters(cypher, parameters or {})
        return self._run(cypher, parameters or {})

    def counts(self) -> dict[str, int]:
        """Entities, penalties and links (all types) in the store."""
        count = lambda q: int(self._run(q).iloc[0, 0])  # noqa: E731
        links = sum(count(f"MATCH ()-[r:{t}]->() RETURN count(r)") for t in load_model().links)
        return {"entities": count("MATCH (e:Entity) RETURN count(e)"),
                "links": links,
                "penalties": count("MATCH (p:Penalty) RETURN count(p)")}

    def _read_raw(self) -> dict:
        """The store's content as raw chunks, as :func:`~graphscore.model.validate_chunks` takes
        them: one frame per table, links one per type (with the ``key`` they are stored under),
        each read from the store only when asked for, so one type's raw rows are held at a time.
        A chunk's rows are named ``store:N`` by their position in the whole read-back."""
        def chunks(queries):
            first = 2
            for query in queries:
                df = self._read_table(query)
                if len(df):
                    df.attrs.update(origin="store", lines=LineNumbers.consecutive(len(df), first))
                    first += len(df)
                    yield df
                del df  # gone before the next type is read

        model = load_model()
        return {"entities": chunks([statements.read_entities(dialect=self.dialect)]),
                "links": chunks([statements.read_links(t, dialect=self.dialect) for t in model.links]),
                "penalties": chunks([statements.read_penalties(dialect=self.dialect)])}

    def _read_table(self, query: str, parameters: dict | None = None) -> pd.DataFrame:
        """One whole table read back (a backend may fetch it in bulk rather than row by row)."""
        return self._run(query, parameters)

    def read_tables(self) -> Tables:
        """The store's content as validated tables, in :func:`~graphscore.store.plan.canonical_order`."""
        tables = self._read_validated()
        return Tables(tables.entities, tables.links.drop(columns="key"), tables.penalties, validated=True)

    def _read_validated(self) -> Tables:
        """Validated tables in canonical order, links with the ``key`` they are stored under.

        Validated as read, a table (links: a type) at a time (:meth:`_read_raw`); dates stay
        dates and keys Arrow text, with no Python object per cell; and with no search for data
        worth a warning, which the load that wrote it reported."""
        raw, keys = self._read_raw(), []

        def keyed(links):  # each link's key leaves its chunk before validation, kept as read
            for chunk in links:
                keys.append(chunk.pop("key").array)
                yield chunk
        tables = validate_chunks({**raw, "links": keyed(raw["links"])}, warn=False)
        # as read (Arrow text from the embedded store): the keys order the rows and find changes,
        # and a command drops them; a Python string each would cost 10^7 objects at 10^7 links
        key = pd.concat([pd.Series(k, copy=False) for k in keys], ignore_index=True) if keys \
            else pd.Series([], dtype=object)
        tables.links["key"] = pd.Series(key.array, index=tables.links.index, copy=False)
        return canonical_order(tables)

    def _stored_for_load(self) -> Tables:
        """What a load compares its rows with: the stored tables, links with their ``key``."""
        if not self.counts()["entities"]:
            empty = {name: empty_table(name) for name in TABLE_NAMES}
            empty["links"]["key"] = pd.Series(dtype=object)
            return Tables(**empty, validated=True)
        return self._read_validated()

    def data_fingerprint(self) -> str | None:
        """The fingerprint of the content, as the last load recorded it (None: not recorded,
        e.g. after a ``cypher --write``): caches of derived results are keyed on it."""
        found = self._run(statements.READ_META, {"key": "data_fingerprint"})
        return None if found.empty else str(found.iloc[0, 0])

    def forget_fingerprint(self) -> None:
        """Drop the recorded fingerprint: after a change outside :meth:`load`, no cache is trusted."""
        self._run(statements.DELETE_META, {"key": "data_fingerprint"})

    def entity_kinds(self) -> pd.DataFrame:
        return self._run("MATCH (e:Entity) RETURN e.id AS id, e.kind AS kind")

    # -- writing -----------------------------------------------------------------------------
    def load(self, tables: Tables, *, stored: Tables | None = None, progress: Progress = SILENT) -> LoadSummary:
        """Validate tables (unless validated already) and write what they change: all rows or
        none (one transaction, or, on the embedded store, a copy renamed over it).

        Rows are compared by key with what the store holds (:mod:`graphscore.store.plan`):
        new rows are written in bulk, stored rows whose values differ are updated, the rest
        is left alone, so the same input twice writes nothing. Entities and penalties are
        keyed on ``id``, links on their record key (type, ends, role, start, source
        reference). Links and penalties may refer to entities already in the store.

        Parameters
        ----------
        tables : Tables
        stored : Tables, optional
            The store's content, when the caller holds it already (the disk cache of the
            fingerprint :meth:`data_fingerprint` reports); read back otherwise.
        progress : Progress

        Raises
        ------
        InvalidData
            Before anything is written, listing every bad cell.
        StoreError
            If the store refuses a statement; the transaction is rolled back.
        """
        recorded = self.data_fingerprint()
        if recorded is not None and tables.validated and tables.fingerprint() == recorded:
            # the store holds exactly these rows (it recorded their fingerprint with them): the
            # same registry loaded again is neither compared row by row nor read back
            counts = tables.counts()
            if stored is None:
                stored = canonical_order(tables)
                stored.links.pop("key")
            return LoadSummary(offered=counts, stored=self.counts(), tables=stored, fingerprint=recorded,
                               written={name: {"new": 0, "changed": 0, "unchanged": n} for name, n in counts.items()})
        with progress.step("reading what the store holds", "read what the store holds"):
            stored = self._stored_for_load() if stored is None else with_link_keys(stored)
        with progress.step("checking the input against the store", "checked the input against the store",
                           total=sum(tables.counts().values())) as advance:
            known = {"known_entities": stored.entities[["id", "kind"]],
                     "known_penalties": stored.penalties[["id", "entity"]]}
            if tables.validated:  # e.g. by read_paths, against the store's entities: not again
                check_against_store(tables, **known)
            else:
                tables = validate(tables, **known)
            plan = plan_load(tables, stored)
            advance(sum(tables.counts().values()))

        def settle() -> tuple[Tables, str]:
            content = plan.apply(stored)
            content.links.pop("key")
            # a load that writes nothing leaves the content the recorded fingerprint names (it is
            # recorded with the content, and dropped by any other write): not hashed again
            return content, recorded if recorded is not None and not plan.writes else content.fingerprint()

        # The content after the load (sorted) and its fingerprint are worked out beside the write:
        # the engine lets go of Python's lock while it copies and commits, and half of that time
        # it keeps one core busy, not two (at 10^7 links the sort and the hash take 20 s)
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="graphscore-settle") as pool:
            settled = pool.submit(settle)
            if plan.writes or recorded is None:
                # Arrow's allocator (mimalloc) keeps what the keys and the diff freed; given
                # back, the write's own memory comes from it instead of adding to it
                pa.default_memory_pool().release_unused()
                try:
                    with progress.step("writing new and changed rows", "wrote new and changed rows",
                                       total=plan.writes) as advance:
                        self._write(plan, lambda: settled.result()[1], advance)
                except StoreError:  # says itself what became of the store
                    raise
                except Exception as exc:  # a driver error of any kind: the transaction was rolled back
                    raise StoreError(f"load rolled back, store unchanged: {exc}") from exc
                pa.default_memory_pool().release_unused()  # the Arrow tables the write copied from
            content, fingerprint = settled.result()
        return LoadSummary(offered=tables.counts(), stored=self.counts(), written=plan.summary(),
                           tables=content, fingerprint=fingerprint)

    def _write(self, plan: LoadPlan, fingerprint: Callable[[], str], advance: Advance) -> None:
        """Write a load plan and the content's new fingerprint, all or nothing: new rows
        added, changed rows rewritten by key; ``advance(n)`` after every ``n`` rows written.
        ``fingerprint()`` may be worked out while the rows are written: ask for it last.
        Each backend writes in its own bulk path."""
        raise NotImplementedError

    def write_scores(self, scores: pd.DataFrame, *, policy: Policy, as_of: dt.date) -> int:
        """Write ``own``, ``echo``, ``inherited`` and ``total`` back into the score history, so Cypher
        users can query them: the ScoreRun of (policy name, ``as_of``) with the policy's hash,
        replacing an earlier write of the same policy and date, and a ScoreRecord per entity,
        so that scores can be compared over time; the run is then the last written, whose
        records ``cypher/queries/top_scores.cypher`` reads. An entity scoring zero (own, echo,
        inherited and total) gets no record: none reads as zero. Only what differs from what the
        store holds is written (:mod:`graphscore.store.writeback`): the same scores again write
        nothing. All of it or none, as a reader sees it. Returns the number of entities whose
        stored score changed."""
        raise NotImplementedError

    def _upgrade_score_history(self, run: Run) -> bool:
        """Bring records an earlier graphscore wrote (up to commit e3e045c: a ScoreRecord per
        entity and run, zeros included, each with the policy's hash and ``written_at``) to
        today's history: a ScoreRun per (policy, as-of date) made from its records, zero
        records removed. The backend then drops the two per-record properties (and the Entity
        score properties, :meth:`_last_run_from_history`) and numbers the runs
        (:meth:`_number_score_runs`). Returns whether there was anything to upgrade."""
        runs = run(statements.EARLIER_SCORE_RUNS, {})
        for policy, as_of, policy_hash, written_at, entities in runs.itertuples(index=False):
            as_of = pd.Timestamp(as_of).date()
            run(statements.write_score_run(), {"key": run_key(policy, as_of), "number": None, "score_policy": policy,
                                               "score_policy_hash": policy_hash, "score_as_of": as_of,
                                               "written_at": written_at, "entities": int(entities)})
        if runs.empty:
            return False
        run(statements.delete_zero_score_records(), {})
        return True

    def _last_run_from_history(self, run: Run) -> None:
        """Name the run written last (the latest ``written_at``) as the last score run, in a store
        whose Entity score properties held it (graphscore up to the branch ``wb``; the backend
        then drops them)."""
        found = run("MATCH (r:ScoreRun) RETURN r.key AS key ORDER BY r.written_at DESC, r.key DESC LIMIT 1;", {})
        run(statements.DELETE_META, {"key": statements.LAST_SCORE_RUN})
        if not found.empty:
            run(statements.CREATE_META, {"key": statements.LAST_SCORE_RUN, "value": found.iloc[0, 0]})

    @staticmethod
    def _last_run_number(read: Run) -> int:
        """The last run number the store gave (0: none)."""
        found = read(statements.READ_META, {"key": statements.SCORE_RUN_NUMBER})
        return 0 if found.empty else int(found.iloc[0, 0])

    @staticmethod
    def _claim_run_number(run: Run, number: int) -> None:
        """Record ``number`` as the last run number given: before a new run's records are written."""
        run(statements.DELETE_META, {"key": statements.SCORE_RUN_NUMBER})
        run(statements.CREATE_META, {"key": statements.SCORE_RUN_NUMBER, "value": str(number)})

    def _number_score_runs(self, run: Run) -> pd.DataFrame:
        """Number the runs that have no number (a store written before records were keyed by
        their run's number: :func:`~graphscore.store.writeback.record_keys`), in the order they
        were written, after the last number given. Returns them (``key``, ``number``,
        ``policy``, ``as_of``); the backend then keys their records again."""
        runs = run("MATCH (r:ScoreRun) WHERE r.number IS NULL RETURN r.key AS key, r.score_policy AS policy, "
                   "r.score_as_of AS as_of ORDER BY r.written_at, r.key;", {})
        first = self._last_run_number(run) + 1
        runs.insert(1, "number", range(first, first + len(runs)))
        for key, number in runs[["key", "number"]].itertuples(index=False):
            run("MATCH (r:ScoreRun {key: $key}) SET r.number = $number;", {"key": key, "number": int(number)})
        if len(runs):
            self._claim_run_number(run, int(runs["number"].iloc[-1]))
        return runs

    def _plan_scores(self, scores: pd.DataFrame, *, policy: Policy, as_of: dt.date, read: Run) -> ScorePlan:
        """What writing ``scores`` changes, from what ``read`` (query, parameters -> table) finds stored."""
        run = read(statements.read_score_run(dialect=self.dialect), {"key": run_key(policy.name, as_of)})
        records = read(statements.read_score_records(dialect=self.dialect), {"policy": policy.name, "as_of": as_of})
        last = read(statements.READ_META, {"key": statements.LAST_SCORE_RUN})
        return plan_scores(scores, policy=policy, as_of=as_of, stored_records=records,
                           stored_run=None if run.empty else run.iloc[0].to_dict(),
                           last_run=None if last.empty else last.iloc[0, 0], last_number=self._last_run_number(read))

    @classmethod
    def _finish_run(cls, run: Run, plan: ScorePlan) -> None:
        """Write the plan's run (a first run's number claimed, if not yet) and name it the last
        written: what makes its records count."""
        if plan.first:
            cls._claim_run_number(run, plan.number)
        run(statements.write_score_run(), plan.run)
        run(statements.DELETE_META, {"key": statements.LAST_SCORE_RUN})
        run(statements.CREATE_META, {"key": statements.LAST_SCORE_RUN, "value": plan.run["key"]})
