"""Neo4j through the official Bolt driver, for teams that already run Neo4j or Aura.

The reading Cypher is the embedded store's (``graphscore.store.statements``, Neo4j rendering);
a load writes the keyed diff of :mod:`graphscore.store.plan` with batched ``UNWIND $rows``:
rows known to be new are ``CREATE``\\ d (no lookup per row), changed rows are ``MERGE``\\ d by
key and their properties ``SET``. Uniqueness constraints on the entity and penalty ids (and on
``GraphscoreMeta`` keys, and an index on staged entities' ids) are created before anything is
written, when the store is opened (:func:`graphscore.store.statements.neo4j_schema`).

**One transaction.** A load of up to ``one_transaction_rows`` rows to write (new and changed;
200,000 by default) is one transaction: on a transient error (a deadlock, a lock timeout, a
leader switch in a cluster) it is rolled back and run again from the start, for up to 30 s,
as the driver's transaction functions do; any other error rolls it back and nothing is
written. One transaction needs the server to hold all
its changes in memory; when the server refuses it for that (its transaction memory limit), the
load is run again staged, below.

**Staged.** A larger load, or one the server found too large, is written in several
transactions, and still changes nothing that graphscore reads until one last transaction
publishes it:

1. *Claim.* The load creates the record ``(:GraphscoreMeta {key: 'staging'})`` with a load id,
   the host name, the process id and a heartbeat. The uniqueness constraint on
   ``GraphscoreMeta.key`` lets one staged load claim it at a time; another is refused.
2. *Stage*, in transactions of ``stage_rows`` rows (50,000; halved whenever the server refuses
   one for its memory limit), each retried on transient errors and renewing the heartbeat:
   new entities are created as ``:GraphscoreStagedEntity`` nodes, new penalties as
   ``:GraphscoreStagedPenalty`` nodes (with their ``HAS_PENALTY`` edge), and new links with
   at least one new end as relationships to and from those nodes. Every
   reading statement names ``:Entity`` and ``:Penalty`` on both ends of what it reads, so
   none of this is seen by ``read_tables``, ``counts``, scores or reports. A query that
   leaves a node unlabelled may see it: ``cypher/queries/shortest_connection.cypher`` could
   find a path through staged nodes while a staged load runs.
3. *Publish*, one transaction: the staged nodes are relabelled ``:Entity`` / ``:Penalty`` (the
   uniqueness constraints are checked then), the rest of the plan is written (changed rows,
   and new links between two entities already published), the data fingerprint is recorded
   and the staging record deleted. Readers see the store before or after that commit, as
   with a load in one transaction (Neo4j reads at *read committed*). Its size is one label
   change per new node plus the changed rows and the new links between stored entities, a
   fraction of the load's (see the README for what it needed at 10^6 links); a load that adds
   more links between already stored entities than one transaction holds fails, whole.

If a staged load fails (an error, a refusal at publishing, Ctrl-C), it removes what it staged
before raising: the database is as it was. If its process is killed, the staged nodes stay,
unseen, and the next load removes them before it writes (:meth:`Neo4jStore.clear_staging`),
once the record shows their load is dead: its process is gone (same host), or its heartbeat is
older than ten minutes (another host). The README gives the Cypher to remove them by hand.

Credentials are given to :class:`Neo4jStore` by :func:`graphscore.store.open_store`, which
reads them from the environment; no message this module raises contains them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import re
import socket
import time
import uuid
from collections.abc import Callable
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
ONE_TRANSACTION_ROWS = 200_000  # rows to write above which a load is staged (module docstring)
STAGE_ROWS = 50_000  # rows per staging transaction
RETRY_SECONDS = 30.0  # how long a transaction is run again on transient errors (the driver's default)
STALE_SECONDS = 600  # a staging heartbeat this old, from another host, marks a dead load
_STAGED = statements.STAGED
Step = tuple[str, pd.DataFrame]  # a statement and the rows it writes
# Transient by the server's classification, but a retry of the same writes needs the same memory.
_MEMORY_LIMITS = {"Neo.TransientError.General.MemoryPoolOutOfMemoryError",
                  "Neo.TransientError.General.TransactionMemoryLimit"}
_REASON = re.compile(r"\(reason (.+)\)\s*$")


# The staging record: one staged load at a time holds it (module docstring).
_CLAIM = ("CREATE (:GraphscoreMeta {key: 'staging', value: $load, host: $host, pid: $pid, "
          "heartbeat: datetime()})")
_STAGING = ("MATCH (m:GraphscoreMeta {key: 'staging'}) RETURN m.value AS load, m.host AS host, m.pid AS pid, "
            "duration.inSeconds(m.heartbeat, datetime()).seconds AS age")
_HEARTBEAT = ("MATCH (m:GraphscoreMeta {key: 'staging', value: $load}) SET m.heartbeat = datetime() "
              "RETURN count(*) AS held")
_RELEASE = "MATCH (m:GraphscoreMeta {key: 'staging', value: $load}) DELETE m RETURN count(*) AS held"


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


class _TooLarge(StoreError):
    """The server refused one transaction for its memory limit; it rolled the transaction back."""


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


# A run's records keyed by its number (graphscore.store.writeback.record_keys spells them: the
# number, a colon, the entity's id), in a store written before runs had numbers.
_KEY_RECORDS_AGAIN = ("MATCH (r:ScoreRun {key: $key}) MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord) "
                      "WHERE s.score_policy = r.score_policy AND s.score_as_of = r.score_as_of "
                      "SET s.key = toString(r.number) + ':' + e.id")


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
    one_transaction_rows, stage_rows : int
        A load writing more rows than ``one_transaction_rows`` is staged, in transactions of
        ``stage_rows`` rows (module docstring).
    batch_rows : int
        Rows per ``UNWIND`` statement of a load (and no more than ``stage_rows``).

    Raises
    ------
    StoreError
        One line naming the URI: the server cannot be reached, refuses the credentials
        (which are never shown), or holds no graphscore data when ``create`` is false.
    """

    dialect = "neo4j"

    def __init__(self, uri: str, *, auth: tuple[str, str] | None = None, database: str | None = None,
                 read_only: bool = False, create: bool = True, one_transaction_rows: int = ONE_TRANSACTION_ROWS,
                 stage_rows: int = STAGE_ROWS, batch_rows: int = BATCH_ROWS):
        self.uri = _safe_uri(uri)
        self.one_transaction_rows, self.stage_rows, self.batch_rows = one_transaction_rows, stage_rows, batch_rows
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

    def _read_table(self, query: str, parameters: dict | None = None) -> pd.DataFrame:
        """The rows of ``query`` as one list of lists in one record: the driver decodes that in
        bulk, where a record per row costs a message each (2 to 3 times slower at 10^5 rows)."""
        query = query.rstrip().rstrip(";")
        with self._session() as session:
            columns = session.run(f"{query} LIMIT 0", parameters or {}).keys()
            listed = ", ".join(f"`{name}`" for name in columns)  # the query's own aliases, from the model
            rows = session.run(f"CALL {{ {query} }} RETURN collect([{listed}]) AS rows", parameters or {}).single()[0]
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
        """Run ``work(run)`` in one transaction and commit it: run again whole on transient
        errors for up to ``RETRY_SECONDS``, as the driver's transaction functions do, rolled
        back on any other; the server's refusal becomes one line saying so.

        Not the driver's ``execute_write``: the server may refuse a transaction for its memory
        limit at commit, and the driver would retry that (a *transient* error) for 30 s, though
        the same writes need the same memory. Here it stops at the first such refusal."""
        delay = 0.5
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                with self._session(neo4j.WRITE_ACCESS) as session, session.begin_transaction() as tx:
                    work(lambda query, parameters=None: _frame(tx.run(query.rstrip(";"), parameters or {})))
                    tx.commit()
                return
            except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
                if getattr(exc, "code", None) in _MEMORY_LIMITS:
                    raise _TooLarge(f"{what} rolled back, store unchanged: too large for one transaction on this "
                                    f"server ({_one_line(exc)}): give "
                                    "it more transaction memory (db.memory.transaction.max, "
                                    "dbms.memory.transaction.total.max, heap) or load the input in parts") from None
                if not exc.is_retryable() or time.monotonic() + delay > deadline:
                    if isinstance(exc, neo4j.exceptions.Neo4jError):
                        raise StoreError(f"{what} rolled back, store unchanged: Neo4j: {_one_line(exc)}") from None
                    raise
            time.sleep(delay * random.uniform(0.8, 1.2))  # jittered: two writers in a deadlock part ways
            delay *= 2

    def _write(self, plan: LoadPlan, fingerprint: Callable[[], str], advance: Advance) -> None:
        """New rows created, changed rows merged by key, and the fingerprint: in one transaction,
        or staged when the load is larger than ``one_transaction_rows`` or the server refuses
        one transaction for its size (module docstring)."""
        fingerprint = fingerprint()  # the server's transaction is not kept open while it is worked out
        self._clear_dead_staging()
        if plan.writes <= self.one_transaction_rows:
            first, last = self._steps(plan, staged=False)
            steps = first + last
            try:
                self._write_in_one_transaction(lambda run: self._write_steps(run, steps, advance, fingerprint), "load")
                return
            except _TooLarge:
                pass  # rolled back by the server: staged below, in transactions it can hold
        self._write_staged(plan, fingerprint, advance)

    @staticmethod
    def _steps(plan: LoadPlan, *, staged: bool) -> tuple[list[Step], list[Step]]:
        """The statements of a load and the rows each writes, in two lists: new rows, then changed
        rows and links between stored entities. With ``staged``, the first list is what is
        written under the staging labels, the second what the publishing transaction writes."""
        model = load_model()
        entities, penalties, links = plan.entities, plan.penalties, plan.links
        new_ids = set(entities.new["id"]) if staged else set()
        label = lambda new: _STAGED["Entity"] if new else "Entity"  # noqa: E731
        first, last = [], []
        first.append((statements.create_entities(model, label=label(staged)), entities.new))
        last.append((statements.merge_entities(model), entities.changed))
        penalty_on_new = penalties.new["entity"].isin(new_ids)
        for on_new in (False, True):
            first.append((statements.create_penalties(model, label=_STAGED["Penalty"] if staged else "Penalty",
                                                      entity_label=label(on_new)),
                          penalties.new[penalty_on_new == on_new]))
        last.append((statements.merge_penalties(model), penalties.changed))
        source_new, target_new = links.new["source"].isin(new_ids), links.new["target"].isin(new_ids)
        for link_type in model.links:
            of_type = links.new["type"] == link_type
            for ends in ((False, False), (False, True), (True, False), (True, True)):
                rows = links.new[of_type & (source_new == ends[0]) & (target_new == ends[1])]
                # a link between two published entities would be seen at once: it waits for publishing
                (first if any(ends) else last).append(
                    (statements.create_links(link_type, model, source_label=label(ends[0]),
                                             target_label=label(ends[1])), rows))
            last.append((statements.merge_links(link_type, model), links.changed[links.changed["type"] == link_type]))
        return [(q, f) for q, f in first if len(f)], [(q, f) for q, f in last if len(f)]

    def _write_steps(self, run, steps, advance: Advance, fingerprint: str | None = None) -> None:
        """Each statement over its rows, ``batch_rows`` rows an ``UNWIND``. Each returns how many
        rows it wrote; a shortfall (a row whose entity the server cannot find) aborts the load
        rather than dropping the row. Then the fingerprint, when given."""
        batch = min(self.batch_rows, self.stage_rows)
        for query, frame in steps:
            rows = to_rows(frame.drop(columns=["type"], errors="ignore"))
            for start in range(0, len(rows), batch):
                part = rows[start:start + batch]
                written = int(run(query, {"rows": part}).iloc[0, 0])
                if written != len(part):
                    raise StoreError(f"load rolled back, store unchanged: {len(part) - written} of "
                                     f"{len(part)} rows found no stored "
                                     f"entity to attach to: {query.split(' RETURN')[0]}")
                advance(len(part))
        if fingerprint is not None:
            record_fingerprint(run, fingerprint)

    # -- staged loads ----------------------------------------------------------------------------
    def _write_staged(self, plan: LoadPlan, fingerprint: str, advance: Advance) -> None:
        """Claim, stage in transactions of ``stage_rows`` rows, publish in one; on any failure
        remove what was staged (module docstring)."""
        load = uuid.uuid4().hex
        staged, published = self._steps(plan, staged=True)
        self._claim_staging(load)
        size = self.stage_rows
        try:
            for query, frame in staged:
                start = 0
                while start < len(frame):
                    part = [(query, frame.iloc[start:start + size])]
                    try:
                        self._write_in_one_transaction(lambda run, part=part: self._stage(run, load, part, advance),
                                                       "load")
                    except _TooLarge:
                        if size == 1:
                            raise
                        size //= 2  # rolled back by the server: the same rows again, fewer a transaction
                        continue
                    start += len(part[0][1])

            def publish(run) -> None:
                for kind, table in (("Entity", plan.entities), ("Penalty", plan.penalties)):
                    moved = int(run(f"MATCH (n:{_STAGED[kind]}) REMOVE n:{_STAGED[kind]} SET n:{kind} "
                                    "RETURN count(*) AS moved").iloc[0, 0])
                    if moved != len(table.new):
                        raise StoreError(f"load rolled back, store unchanged: {len(table.new)} {kind} rows were "
                                         f"staged and {moved} found when publishing (another process changed them)")
                self._write_steps(run, published, advance, fingerprint)
                if int(run(_RELEASE, {"load": load}).iloc[0, 0]) != 1:
                    raise StoreError("load rolled back, store unchanged: its staging record was removed "
                                     "by another process while it was staged")
            self._write_in_one_transaction(publish, "load")
        except BaseException:
            self._clear_own_staging(load)
            raise

    def _stage(self, run, load: str, steps, advance: Advance) -> None:
        """One staging transaction: its rows, and the heartbeat of a claim still held."""
        self._write_steps(run, steps, advance)
        if int(run(_HEARTBEAT, {"load": load}).iloc[0, 0]) != 1:
            raise StoreError("load rolled back, store unchanged: its staging record was removed "
                             "by another process while it was staged")

    def _claim_staging(self, load: str) -> None:
        try:
            self._run(_CLAIM, {"load": load, "host": socket.gethostname(), "pid": os.getpid()})
        except neo4j.exceptions.ConstraintError:
            found = self._run(_STAGING)
            holder = (f" (process {found['pid'].iloc[0]} on {found['host'].iloc[0]}, heartbeat "
                      f"{found['age'].iloc[0]} s ago)" if len(found) else "")
            raise StoreError(f"load refused, store unchanged: another graphscore load is staging into "
                             f"Neo4j at {self.uri}{holder}; wait for it to finish") from None

    def _clear_dead_staging(self) -> None:
        """Remove what a killed staged load left, unless its claim is held by a live load."""
        found = self._run(_STAGING)
        if len(found):
            host, pid, age = found["host"].iloc[0], int(found["pid"].iloc[0]), int(found["age"].iloc[0])
            if host == socket.gethostname():
                try:
                    os.kill(pid, 0)
                    alive = True
                except ProcessLookupError:
                    alive = False
                except PermissionError:  # another user's live process
                    alive = True
            else:  # no way to ask another host: a heartbeat stopped that long ago marks a dead load
                alive = age < STALE_SECONDS
            if alive:
                return
        self.clear_staging()

    def _clear_own_staging(self, load: str) -> None:
        """After a staged load failed: remove its staged rows, if its claim is still its own.
        A failure here (the server gone) leaves them to the next load."""
        try:
            if len(self._run("MATCH (m:GraphscoreMeta {key: 'staging', value: $load}) RETURN 1 AS held",
                             {"load": load})):
                self.clear_staging()
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError):
            pass  # the error that made the load fail is the one to report

    def clear_staging(self) -> int:
        """Remove every staged node (and its relationships) and the staging record: what a staged
        load leaves when its process is killed. Loads call it themselves when the staging
        load is dead; call it by hand only when no load runs. Returns the nodes removed.

        Unseen by readers: staged nodes carry neither ``:Entity`` nor ``:Penalty``.
        """
        removed = 0
        for label in (_STAGED["Penalty"], _STAGED["Entity"]):
            found = int(self._run(f"MATCH (n:{label}) RETURN count(n) AS n").iloc[0, 0])  # a count, not a scan
            # in transactions of their own: a killed load of 10^6 links leaves more than one holds; a
            # deletion holds the node's properties in transaction memory, so large ones go fewer at a time
            for rows in (10_000, 100, 1) if found else ():
                try:
                    self._run(f"MATCH (n:{label}) CALL {{ WITH n DETACH DELETE n }} IN TRANSACTIONS OF {rows} ROWS")
                    break
                except neo4j.exceptions.TransientError as exc:
                    if exc.code not in _MEMORY_LIMITS or rows == 1:
                        raise
            removed += found
        self._run("MATCH (m:GraphscoreMeta {key: 'staging'}) DELETE m")  # last: a kill before it retries all
        return removed

    def write_scores(self, scores: pd.DataFrame, *, policy: Policy, as_of) -> int:
        """See :meth:`~graphscore.store.base.CypherStore.write_scores`: in one transaction, so a
        killed write-back leaves no record behind; two at once of new runs take one number, and
        the one committing second fails on the records' uniqueness constraint, store unchanged
        (as for the name of the last run, a row of one key both write)."""
        plans = []

        def work(run) -> None:
            # Neo4j has no schema to say which graphscore wrote the history: records with
            # written_at are an earlier one's, upgraded first (the properties they lose last)
            if self._upgrade_score_history(run):
                run("MATCH (s:ScoreRecord) WHERE s.written_at IS NOT NULL REMOVE s.written_at, s.score_policy_hash")
            # and Entity score properties (the last write-back, up to the branch wb): the last run named
            # instead. A store whose last run is named was written since, so holds none: no scan of
            # every entity for them
            held = [f"e.{c.store_name}" for c in load_model().scores.columns]
            named = not run(statements.READ_META, {"key": statements.LAST_SCORE_RUN}).empty
            if not named and not run(f"MATCH (e:Entity) WHERE {' IS NOT NULL OR '.join(held)} IS NOT NULL "
                                     "RETURN 1 LIMIT 1", {}).empty:
                self._last_run_from_history(run)
                run(f"MATCH (e:Entity) WHERE {' IS NOT NULL OR '.join(held)} IS NOT NULL REMOVE {', '.join(held)}", {})
            # and runs with no number (up to the branch reckey, records were keyed by their run's key):
            # numbered, their records keyed by the number
            for key in self._number_score_runs(run)["key"]:
                run(_KEY_RECORDS_AGAIN, {"key": key})
            # read inside the transaction (and again when it is retried): another writer may
            # have changed the scores since
            plan = self._plan_scores(scores, policy=policy, as_of=as_of, read=run)
            plans.append(plan)
            if plan.run is None:
                return
            steps = [(statements.delete_score_records(self.dialect), pd.concat([plan.orphans, plan.removed])),
                     (statements.update_score_records(dialect=self.dialect), plan.changed),
                     (statements.create_score_records(dialect=self.dialect), plan.new)]
            for query, frame in steps:
                rows = to_rows(frame)
                for start in range(0, len(rows), BATCH_ROWS):
                    run(query, {"rows": rows[start:start + BATCH_ROWS]})
            self._finish_run(run, plan)

        self._write_in_one_transaction(work, "score write-back")
        return plans[-1].entities

    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> "Neo4jStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Neo4jStore({self.uri!r})"
