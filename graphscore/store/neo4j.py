"""Neo4j through the official Bolt driver, for teams that already run Neo4j or Aura.

The reading Cypher is the embedded store's (``graphscore.store.statements``, Neo4j rendering);
a load writes the keyed diff of :mod:`graphscore.store.plan` with batched ``UNWIND $rows``:
rows known to be new are ``CREATE``\\ d (no lookup per row), changed rows are ``MERGE``\\ d by
key and their properties ``SET``. Uniqueness constraints on the entity and penalty ids (and
indexes on link keys) are created before anything is written, when the store is opened.

A load is one transaction, run as a driver *transaction function*: on a transient error
(a deadlock, a lock timeout, a leader switch in a cluster) the driver rolls it back and runs
it again from the start, for up to ``max_transaction_retry_time`` (30 s); any other error
rolls it back and nothing is written. One transaction needs the server to hold all its changes
in memory (see the README for what a load of 10^5 and 10^6 links needed); running out is
reported at once, not retried.

Credentials are given to :class:`Neo4jStore` by :func:`graphscore.store.open_store`, which
reads them from the environment; no message this module raises contains them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import urlsplit

import neo4j
import neo4j.exceptions
import numpy as np
import pandas as pd

from graphscore.errors import StoreError
from graphscore.model import load_model
from graphscore.policy import Policy
from graphscore.progress import Advance
from graphscore.store import statements
from graphscore.store.base import CypherStore, record_fingerprint, to_rows
from graphscore.store.plan import LoadPlan

__all__ = ["Neo4jStore"]

# The driver logs retries and connection errors as warnings; with no handler of the
# application's, Python would print them on stderr beside graphscore's own one-line errors.
logging.getLogger("neo4j").addHandler(logging.NullHandler())

BATCH_ROWS = 5_000  # rows per UNWIND: large enough to amortise a round trip, small enough for Bolt
# Transient by the server's classification, but a retry of the same writes needs the same memory.
_MEMORY_LIMITS = {"Neo.TransientError.General.MemoryPoolOutOfMemoryError",
                  "Neo.TransientError.General.TransactionMemoryLimit"}
_REASON = re.compile(r"\(reason (.+)\)\s*$")


def _frame(result: neo4j.Result) -> pd.DataFrame:
    """A result as a table typed as the embedded store types it (:func:`_typed`)."""
    return _typed(pd.DataFrame(result.values(), columns=result.keys()))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Neo4j temporal values as Python ones, and dates as ``datetime64[us]`` (which, unlike
    nanoseconds, holds 9999-12-31), as the embedded store returns them."""
    for column in frame.columns:
        present = frame[column].dropna()
        if not len(present) or not hasattr(present.iloc[0], "to_native"):
            continue
        native = frame[column].map(lambda v: v.to_native() if hasattr(v, "to_native") else v)
        if all(type(v) is dt.date for v in native.dropna()):
            native = pd.Series(np.array([np.datetime64(v, "D") if v is not None else np.datetime64("NaT")
                                         for v in native]).astype("datetime64[us]"), index=frame.index)
        frame[column] = native
    return frame


def _one_line(exc: Exception) -> str:
    """A driver error as one line: the server's message (first line), or the socket's reason."""
    if isinstance(exc, neo4j.exceptions.Neo4jError) and exc.message:
        return exc.message.splitlines()[0]
    text = str(exc)
    reason = _REASON.search(text)
    return reason.group(1) if reason else (text.splitlines() or [type(exc).__name__])[0].rstrip(":")


def _safe_uri(uri: str) -> str:
    """The URI as messages may show it. A URI with a user or password in it is refused: they
    belong in the environment, not on a command line where ``ps`` and shell history show them."""
    parts = urlsplit(uri)
    if "@" in parts.netloc:
        raise StoreError("a Neo4j URI must not carry a user name or password: give them in "
                         "GRAPHSCORE_NEO4J_USER and GRAPHSCORE_NEO4J_PASSWORD")
    return uri


class Neo4jStore(CypherStore):
    """A Neo4j 5 database reached at ``uri`` (``bolt://``, ``neo4j://``, ``neo4j+s://`` ...).

    Parameters
    ----------
    uri : str
        Without credentials.
    auth : (user, password), optional
        None when the server does not check credentials.
    database : str, optional
        The server's default database when None.
    read_only : bool
        Every statement runs in read access mode: the server refuses writes.
    create : bool
        When false, and when ``read_only``, a database that holds no graphscore data is an
        error (a wrong URI must not score an empty database).

    Raises
    ------
    StoreError
        One line naming the URI: the server cannot be reached, refuses the credentials
        (which are never shown), or holds no graphscore data when ``create`` is false.
    """

    dialect = "neo4j"

    def __init__(self, uri: str, *, auth: tuple[str, str] | None = None, database: str | None = None,
                 read_only: bool = False, create: bool = True):
        self.uri = _safe_uri(uri)
        self._database = database
        self._access = neo4j.READ_ACCESS if read_only else neo4j.WRITE_ACCESS
        try:
            # notifications off: the server's hints ("property key does not exist" while a
            # property is still unused) would reach stderr through the driver's logger
            self._driver = neo4j.GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF")
            self._driver.verify_connectivity()
        except neo4j.exceptions.AuthError:
            self._close_quietly()
            raise StoreError(f"Neo4j at {self.uri} refused the credentials (user name and password from "
                             "GRAPHSCORE_NEO4J_USER and GRAPHSCORE_NEO4J_PASSWORD)") from None
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, ValueError) as exc:
            self._close_quietly()
            raise StoreError(f"cannot reach Neo4j at {self.uri}: {_one_line(exc)}") from None
        if not read_only:
            for ddl in statements.neo4j_schema():  # constraints before any row: MERGE and MATCH by id use them
                self._run(ddl)
        if (read_only or not create) and self._run(statements.ANY_GRAPHSCORE_NODE).empty:
            self.close()
            raise StoreError(f"the Neo4j database at {self.uri} holds no graphscore data: "
                             "load data first (graphscore load PATH --db URI)")

    def _close_quietly(self) -> None:
        driver = getattr(self, "_driver", None)
        if driver is not None:
            driver.close()

    def _session(self, access: str | None = None) -> neo4j.Session:
        return self._driver.session(database=self._database, default_access_mode=access or self._access)

    def _run(self, query: str, parameters: dict | None = None) -> pd.DataFrame:
        with self._session() as session:
            return _frame(session.run(query.rstrip().rstrip(";"), parameters or {}))

    def _read_table(self, query: str) -> pd.DataFrame:
        """The rows of ``query`` as one list of lists in one record: the driver decodes that in
        bulk, where a record per row costs a message each (2 to 3 times slower at 10^5 rows)."""
        query = query.rstrip().rstrip(";")
        with self._session() as session:
            columns = session.run(f"{query} LIMIT 0").keys()
            listed = ", ".join(f"`{name}`" for name in columns)  # the query's own aliases, from the model
            rows = session.run(f"CALL {{ {query} }} RETURN collect([{listed}]) AS rows").single()[0]
        return _typed(pd.DataFrame(rows, columns=columns))

    def query(self, cypher: str, parameters: dict | None = None) -> pd.DataFrame:
        """Run a Cypher query (values as ``$parameters``) and return the result as a table.

        Raises
        ------
        StoreError
            The server's refusal (a syntax error, a missing parameter, a write in read-only
            mode), in one line.
        """
        try:
            return self._run(cypher, parameters)
        except neo4j.exceptions.Neo4jError as exc:
            raise StoreError(f"Neo4j: {_one_line(exc)}") from None

    # -- writing -------------------------------------------------------------------------------
    def _write_in_one_transaction(self, work, what: str = "write") -> None:
        """Run ``work(run)`` as one transaction function: retried whole on transient errors,
        rolled back on any other; the server's refusal becomes one line saying so."""
        def transaction(tx: neo4j.ManagedTransaction) -> None:
            try:
                work(lambda query, parameters=None: _frame(tx.run(query.rstrip(";"), parameters or {})))
            except neo4j.exceptions.TransientError as exc:
                if exc.code in _MEMORY_LIMITS:  # not retried: StoreError is no driver error
                    raise StoreError(f"{what} rolled back, store unchanged: too large for one transaction on this "
                                     f"server ({_one_line(exc)}): give "
                                     "it more transaction memory (db.memory.transaction.max, "
                                     "dbms.memory.transaction.total.max, heap) or load the input in parts") from None
                raise
        try:
            with self._session(neo4j.WRITE_ACCESS) as session:
                session.execute_write(transaction)
        except neo4j.exceptions.Neo4jError as exc:
            raise StoreError(f"{what} rolled back, store unchanged: Neo4j: {_one_line(exc)}") from None

    def _write(self, plan: LoadPlan, fingerprint: str, advance: Advance) -> None:
        """New rows created, changed rows merged by key, and the fingerprint: one transaction.
        Each statement returns how many rows it wrote; a shortfall (a row whose entity the
        server cannot find) aborts the load rather than dropping the row."""
        model = load_model()
        entities, penalties, links = plan.entities, plan.penalties, plan.links
        steps = [(statements.create_entities(model), entities.new),
                 (statements.merge_entities(model), entities.changed),
                 (statements.create_penalties(model), penalties.new),
                 (statements.merge_penalties(model), penalties.changed)]
        for link_type in model.links:
            steps += [(statements.create_links(link_type, model), links.new[links.new["type"] == link_type]),
                      (statements.merge_links(link_type, model), links.changed[links.changed["type"] == link_type])]

        def work(run) -> None:
            for query, frame in steps:
                rows = to_rows(frame.drop(columns=["type"], errors="ignore"))
                for start in range(0, len(rows), BATCH_ROWS):
                    batch = rows[start:start + BATCH_ROWS]
                    written = int(run(query, {"rows": batch}).iloc[0, 0])
                    if written != len(batch):
                        raise StoreError(f"load rolled back, store unchanged: {len(batch) - written} of "
                                         f"{len(batch)} rows found no stored "
                                         f"entity to attach to: {query.split(' RETURN')[0]}")
                    advance(len(batch))
            record_fingerprint(run, fingerprint)

        self._write_in_one_transaction(work, "load")

    def write_scores(self, scores: pd.DataFrame, *, policy: Policy, as_of) -> int:
        rows = to_rows(scores[["id", "own", "echo", "inherited", "total"]].assign(
            score_policy=policy.name, score_policy_hash=policy.hash, score_as_of=as_of))
        query = statements.write_scores(dialect=self.dialect)

        def work(run) -> None:
            for start in range(0, len(rows), BATCH_ROWS):
                run(query, {"rows": rows[start:start + BATCH_ROWS]})

        self._write_in_one_transaction(work, "score write-back")
        return len(rows)

    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> "Neo4jStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Neo4jStore({self.uri!r})"
