"""The graph store interface, and the loading logic both backends share.

A backend provides three things: run one Cypher statement with parameters, group statements
into one transaction, and create its schema. Loading, reading back and writing scores are
written once here, in Cypher both LadybugDB and Neo4j accept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pandas as pd
import pyarrow as pa

from graphscore.errors import StoreError
from graphscore.policy import Policy
from graphscore.progress import SILENT, Advance, Progress
from graphscore.model import (TABLE_NAMES, GraphscoreWarning, Tables, check_against_store, empty_table, load_model,
                              validate)
from graphscore.store import statements
from graphscore.store.guard import check_read_only
from graphscore.store.parameters import check_parameters
from graphscore.store.plan import LoadPlan, canonical_order, plan_load, with_link_keys

__all__ = ["GraphStore", "CypherStore", "LoadSummary", "to_rows", "score_rows"]

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


def score_rows(scores: pd.DataFrame, *, policy: Policy, as_of: dt.date,
               written_at: dt.datetime | None = None) -> pd.DataFrame:
    """What a score write-back writes, one row per entity: ``id``, the score columns of the
    model (the policy's name and hash, ``as_of``) and, for the entity's score history, the
    record ``key`` and ``written_at`` (ISO 8601 UTC; default now).

    The key names the policy, the date and the entity, so that writing a policy's scores for
    the same date again replaces those records rather than adding to them. The JSON list that
    starts it ends where the entity id begins: no two (policy, date, id) give one key.

    Examples
    --------
    >>> from graphscore.policy import parse_policy
    >>> policy = parse_policy('name = "p"\\n[[transmit]]\\nlink = "OWNS"\\ndirection = "backward"\\nweight = 1.0')
    >>> rows = score_rows(pd.DataFrame({"id": ["a"], "own": [1.0], "echo": [0.0], "inherited": [0.5], "total": [1.5]}),
    ...                   policy=policy, as_of=dt.date(2024, 6, 30), written_at=dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    >>> rows[["key", "score_as_of", "written_at"]].values.tolist()
    [['["p", "2024-06-30"]a', Timestamp('2024-06-30 00:00:00'), '2026-11-27T12:00:00Z']]
    """
    written_at = written_at or dt.datetime.now(dt.UTC)
    prefix = json.dumps([policy.name, as_of.isoformat()], ensure_ascii=False)
    rows = scores[["id", "own", "echo", "inherited", "total"]].assign(
        score_policy=policy.name, score_policy_hash=policy.hash, score_as_of=pd.Timestamp(as_of))
    return rows.assign(key=prefix + rows["id"].astype(str),
                       written_at=written_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


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

    def _read_raw(self) -> Tables:
        """The store's content as raw tables, links with the ``key`` they are stored under."""
        model = load_model()
        links = [self._read_table(statements.read_links(t, dialect=self.dialect)) for t in model.links]
        links = [df for df in links if len(df)]
        return Tables(entities=self._read_table(statements.read_entities(dialect=self.dialect)),
                      links=pd.concat(links, ignore_index=True) if links else pd.DataFrame(),
                      penalties=self._read_table(statements.read_penalties(dialect=self.dialect)))

    def _read_table(self, query: str) -> pd.DataFrame:
        """One whole table read back (a backend may fetch it in bulk rather than row by row)."""
        return self._run(query)

    def read_tables(self) -> Tables:
        """The store's content as validated tables, in :func:`~graphscore.store.plan.canonical_order`."""
        tables = self._read_validated()
        return Tables(tables.entities, tables.links.drop(columns="key"), tables.penalties, validated=True)

    def _read_validated(self) -> Tables:
        """Validated tables in canonical order, links with the ``key`` they are stored under."""
        raw = self._read_raw()
        keys = raw.links.pop("key") if "key" in raw.links else pd.Series([], dtype=object)
        for _, df in raw.items():
            df.attrs["origin"] = "store"
            for column in df.columns:
                if pd.api.types.is_datetime64_any_dtype(df[column]):
                    df[column] = df[column].dt.strftime("%Y-%m-%d").astype(object)
        with warnings.catch_warnings():
            # data warnings were reported when the data was loaded; repeating them on every read is noise
            warnings.simplefilter("ignore", GraphscoreWarning)
            tables = validate(raw)
        tables.links["key"] = keys.to_numpy(dtype=object)
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
            content = plan.apply(stored)
            content.links.pop("key")
            recorded = self.data_fingerprint()
            # a load that writes nothing leaves the content the recorded fingerprint names (it is
            # recorded with the content, and dropped by any other write): not hashed again
            fingerprint = recorded if recorded is not None and not plan.writes else content.fingerprint()
            advance(sum(tables.counts().values()))
        # Arrow's allocator (mimalloc) keeps what the keys, sorts and diff freed; given back, the
        # write's own memory comes from it instead of adding to it (0.17 GB per 10^6 links)
        pa.default_memory_pool().release_unused()
        if plan.writes or recorded != fingerprint:
            try:
                with progress.step("writing new and changed rows", "wrote new and changed rows",
                                   total=plan.writes) as advance:
                    self._write(plan, fingerprint, advance)
            except StoreError:  # says itself what became of the store
                raise
            except Exception as exc:  # a driver error of any kind: the transaction was rolled back
                raise StoreError(f"load rolled back, store unchanged: {exc}") from exc
            pa.default_memory_pool().release_unused()  # the Arrow tables the write copied from
        return LoadSummary(offered=tables.counts(), stored=self.counts(), written=plan.summary(),
                           tables=content, fingerprint=fingerprint)

    def _write(self, plan: LoadPlan, fingerprint: str, advance: Advance) -> None:
        """Write a load plan and the content's new fingerprint, all or nothing: new rows
        added, changed rows rewritten by key; ``advance(n)`` after every ``n`` rows written.
        Each backend writes in its own bulk path."""
        raise NotImplementedError

    def write_scores(self, scores: pd.DataFrame, *, policy: Policy, as_of: dt.date) -> int:
        """Write ``own``, ``echo``, ``inherited`` and ``total`` back as Entity properties, so Cypher
        users can query them, with the policy's name and hash and the date they belong to; and
        keep them as the entity's ScoreRecord for (policy name, ``as_of``), replacing an earlier
        write of the same policy and date, so that scores can be compared over time. One
        transaction: all of it or none. Returns the number of entities written."""
        raise NotImplementedError
