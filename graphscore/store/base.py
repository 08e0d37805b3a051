"""The graph store interface, and the loading logic both backends share.

A backend provides three things: run one Cypher statement with parameters, group statements
into one transaction, and create its schema. Loading, reading back and writing scores are
written once here, in Cypher both LadybugDB and Neo4j accept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from graphscore.errors import StoreError
from graphscore.policy import Policy
from graphscore.model import GraphscoreWarning, Tables, link_keys, load_model, validate
from graphscore.store import statements

__all__ = ["GraphStore", "CypherStore", "LoadSummary", "to_rows"]

BATCH_ROWS = 5_000  # rows per UNWIND: large enough to amortise a round trip, small enough for Bolt

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
    """Rows offered per table, and the store's counts after the load."""

    offered: dict[str, int]
    stored: dict[str, int]


def _plain(value):
    """A value as the drivers bind it: None for missing, datetime.date for dates."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_rows(df: pd.DataFrame) -> list[dict]:
    """DataFrame -> list of parameter maps, one per row, keyed by the store's property names."""
    renames = {c.name: c.store_name for spec in load_model().tables.values() for c in spec.columns}
    columns = [renames.get(c, c) for c in df.columns]
    return [{c: _plain(v) for c, v in zip(columns, values)} for values in df.itertuples(index=False, name=None)]


def _batches(rows: list[dict]) -> Iterator[list[dict]]:
    for start in range(0, len(rows), BATCH_ROWS):
        yield rows[start:start + BATCH_ROWS]


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
        """Run a Cypher query (values as ``$parameters``) and return the result as a table."""
        return self._run(cypher, parameters or {})

    def counts(self) -> dict[str, int]:
        """Entities, penalties and links (all types) in the store."""
        count = lambda q: int(self._run(q).iloc[0, 0])  # noqa: E731
        links = sum(count(f"MATCH ()-[r:{t}]->() RETURN count(r)") for t in load_model().links)
        return {"entities": count("MATCH (e:Entity) RETURN count(e)"),
                "links": links,
                "penalties": count("MATCH (p:Penalty) RETURN count(p)")}

    def read_tables(self) -> Tables:
        """The store's content as validated tables."""
        model = load_model()
        links = [self._run(statements.read_links(t, dialect=self.dialect)) for t in model.links]
        links = [df for df in links if len(df)]
        raw = Tables(entities=self._run(statements.read_entities(dialect=self.dialect)),
                     links=pd.concat(links, ignore_index=True) if links else pd.DataFrame(),
                     penalties=self._run(statements.read_penalties(dialect=self.dialect)))
        for _, df in raw.items():
            df.attrs["origin"] = "store"
            for column in df.columns:
                if pd.api.types.is_datetime64_any_dtype(df[column]):
                    df[column] = df[column].dt.strftime("%Y-%m-%d").astype(object)
        with warnings.catch_warnings():
            # data warnings were reported when the data was loaded; repeating them on every read is noise
            warnings.simplefilter("ignore", GraphscoreWarning)
            return validate(raw)

    def entity_kinds(self) -> pd.DataFrame:
        return self._run("MATCH (e:Entity) RETURN e.id AS id, e.kind AS kind")

    # -- writing -----------------------------------------------------------------------------
    def load(self, tables: Tables) -> LoadSummary:
        """Validate and load tables in one transaction: all rows or none.

        Loading is idempotent: entities and penalties merge on ``id``, links on their record
        key (type, ends, role, dates), so the same input twice leaves the same content.
        Links and penalties may refer to entities already in the store.

        Raises
        ------
        InvalidData
            Before anything is written, listing every bad cell.
        StoreError
            If the store refuses a statement; the transaction is rolled back.
        """
        tables = validate(tables, known_entities=self.entity_kinds(),
                          known_penalties=self._run("MATCH (e:Entity)-[:HAS_PENALTY]->(p:Penalty) "
                                                    "RETURN p.id AS id, e.id AS entity"))
        links = tables.links.assign(key=link_keys(tables.links))
        try:
            with self._transaction() as run:
                for batch in _batches(to_rows(tables.entities)):
                    run(statements.merge_entities(dialect=self.dialect), {"rows": batch})
                for batch in _batches(to_rows(tables.penalties)):
                    run(statements.merge_penalties(dialect=self.dialect), {"rows": batch})
                for link_type, group in links.groupby("type", sort=True):
                    for batch in _batches(to_rows(group.drop(columns=["type"]))):
                        run(statements.merge_links(link_type, dialect=self.dialect), {"rows": batch})
        except Exception as exc:  # a driver error of any kind: the transaction was rolled back
            raise StoreError(f"load rolled back, store unchanged: {exc}") from exc
        return LoadSummary(offered=tables.counts(), stored=self.counts())

    def write_scores(self, scores: pd.DataFrame, *, policy: Policy, as_of: dt.date) -> int:
        """Write ``own``, ``inherited`` and ``total`` back as Entity properties, so Cypher
        users can query them, with the policy's name and hash and the date they belong to."""
        rows = scores[["id", "own", "inherited", "total"]].assign(
            score_policy=policy.name, score_policy_hash=policy.hash, score_as_of=as_of)
        with self._transaction() as run:
            for batch in _batches(to_rows(rows)):
                run(statements.write_scores(dialect=self.dialect), {"rows": batch})
        return len(rows)
