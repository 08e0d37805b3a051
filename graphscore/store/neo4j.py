"""Neo4j through the official Bolt driver, for teams that already run Neo4j or Aura.

The same loading, reading and write-back Cypher as the embedded store (``graphscore.store.base``),
in the Neo4j rendering of ``graphscore.store.statements`` (schema-free, so no casts). Live tests
run when ``GRAPHSCORE_NEO4J_URI`` is set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import neo4j
import pandas as pd

from graphscore.errors import StoreError
from graphscore.store import statements
from graphscore.store.base import CypherStore, Run

__all__ = ["Neo4jStore"]


def _as_frame(result: neo4j.Result) -> pd.DataFrame:
    keys = result.keys()
    return pd.DataFrame([record.values() for record in result], columns=keys)


def _native(value):
    """neo4j.time.Date -> datetime.date, so tables read back look like the embedded store's."""
    return value.to_native() if hasattr(value, "to_native") else value


class Neo4jStore(CypherStore):
    """A Neo4j database reached at ``uri`` (``bolt://``, ``neo4j://``, ``neo4j+s://`` ...)."""

    dialect = "neo4j"

    def __init__(self, uri: str, *, user: str = "neo4j", password: str = "", database: str | None = None,
                 read_only: bool = False):
        self.uri = uri
        self._driver = neo4j.GraphDatabase.driver(uri, auth=(user, password))
        self._database = database
        self._access = neo4j.READ_ACCESS if read_only else neo4j.WRITE_ACCESS
        try:
            self._driver.verify_connectivity()
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
            raise StoreError(f"cannot reach Neo4j at {uri}: {exc}") from None
        if not read_only:
            with self._driver.session(database=database) as session:
                for ddl in statements.neo4j_schema():
                    session.run(ddl.rstrip(";")).consume()

    def _run(self, query: str, parameters: dict | None = None) -> pd.DataFrame:
        with self._driver.session(database=self._database, default_access_mode=self._access) as session:
            frame = _as_frame(session.run(query.rstrip(";"), parameters or {}))
        return frame.map(_native) if len(frame) else frame

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Run]:
        with self._driver.session(database=self._database) as session:
            tx = session.begin_transaction()
            try:
                yield lambda query, parameters=None: _as_frame(tx.run(query.rstrip(";"), parameters or {}))
            except BaseException:
                tx.rollback()
                raise
            tx.commit()

    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> "Neo4jStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
