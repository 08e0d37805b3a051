"""The embedded graph store: LadybugDB (the maintained fork of Kùzu), in process, at one path on disk."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import ladybug
import pandas as pd
import pyarrow as pa

from graphscore.errors import StoreError
from graphscore.model import Column, Tables, link_keys, load_model
from graphscore.policy import Policy
from graphscore.progress import Advance
from graphscore.store import statements
from graphscore.store.base import CypherStore, Run, record_fingerprint
from graphscore.store.plan import LoadPlan

__all__ = ["LadybugStore"]

DATABASE_FILE = "graph.lbug"
_LOCK_HELD = re.compile(r"Could not set lock on file.*Lock is held by PID (\d+)")
ARROW_CHUNK_ROWS = 1_000_000  # rows per Arrow batch read back: few batches, bounded memory per batch


def _arrow(frame: pd.DataFrame, columns: list[Column], *, prefix: str = "") -> pa.Table:
    """Columns of a validated table as Arrow, in the order a bulk statement lists them, named
    ``prefix + store name``; dates as DATE (date32), which holds a register's open date
    9999-12-31 where pandas' nanoseconds cannot."""
    arrays = []
    for column in columns:
        values = frame[column.name]
        if pd.api.types.is_datetime64_any_dtype(values):
            array = pa.array(values.to_numpy(dtype="datetime64[s]"), from_pandas=True).cast(pa.date32())
        elif pd.api.types.is_float_dtype(values):
            array = pa.array(values.to_numpy(), from_pandas=True)  # NaN -> null
        else:
            array = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        arrays.append(array)
    return pa.table(arrays, names=[prefix + c.store_name for c in columns])


def _schema_hash() -> str:
    # How link keys are spelled is part of the schema: a store keyed another way would take
    # every reloaded link record for a new one.
    sample = pd.DataFrame({"type": ["OWNS"], "source": ["a"], "target": ["b"], "role": [None],
                           "start": [None], "source_ref": [None]})
    text = "\n".join([*statements.ladybug_schema(), *link_keys(sample)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class LadybugStore(CypherStore):
    """A LadybugDB database. ``path`` is a ``.lbug`` file, or a folder that holds ``graph.lbug``.

    Parameters
    ----------
    path : str or Path
    read_only : bool
        Open without write access (what ``graphscore cypher`` does, so a query cannot change data).
    create : bool
        Create the store when it does not exist; when false, a missing store is a StoreError
        (a typo in ``--db`` must not score an empty new store).
    wait : float
        Seconds to wait, retrying, while another process holds the store for writing (one
        writer at a time; readers run side by side with it and with each other).

    Raises
    ------
    StoreError
        If the path is not a LadybugDB database, or one made by another version of the data
        model (``schema/model.toml``), whose tables LadybugDB cannot alter in place; or if
        another process still holds it for writing after ``wait`` seconds.

    Examples
    --------
    >>> import tempfile
    >>> store = LadybugStore(tempfile.mkdtemp())
    >>> store.counts()
    {'entities': 0, 'links': 0, 'penalties': 0}
    >>> store.close()
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, create: bool = True, wait: float = 0.0):
        path = Path(path)
        if path.suffix != ".lbug":
            path = path / DATABASE_FILE
        if not path.exists() and (read_only or not create):
            raise StoreError(f"no graphscore store at {path.parent if path.name == DATABASE_FILE else path}: "
                             "load data first (graphscore load PATH --db DIR)")
        self.created = not path.exists()  # this object makes the store: discard() may remove it
        # the outermost folder this object makes, so discard() removes no folder it did not make
        missing = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
        self._made_from = missing[-1] if missing else None
        if self.created:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create a store at {path.parent}: {exc}") from None
        self.path = path
        self._db = self._open(path, read_only, wait)
        self._conn = ladybug.Connection(self._db)
        self._check_schema(read_only)

    @staticmethod
    def _open(path: Path, read_only: bool, wait: float) -> ladybug.Database:
        deadline = time.monotonic() + wait
        while True:
            try:
                return ladybug.Database(str(path), read_only=read_only)
            except RuntimeError as exc:
                message = str(exc).splitlines()[0]
                holder = _LOCK_HELD.search(message)
                if holder is None:
                    raise StoreError(f"{path} is not a graphscore store: {message}") from None
                if time.monotonic() >= deadline:
                    raise StoreError(f"the store at {path.parent} is locked by another process writing to it "
                                     f"(PID {holder.group(1)}); waited {wait:g} s: try again when it is done, "
                                     "or wait longer with --wait SECONDS") from None
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))

    def _check_schema(self, read_only: bool) -> None:
        expected = _schema_hash()
        tables = set(self._conn.execute("CALL show_tables() RETURN name").get_as_df()["name"])
        if "GraphscoreMeta" not in tables:
            if tables:
                raise StoreError(f"{self.path} is a LadybugDB database, but not a graphscore store")
            if read_only:
                raise StoreError(f"{self.path} is an empty store: load data first")
            for ddl in [*statements.ladybug_schema(),
                        "CREATE NODE TABLE GraphscoreMeta(key STRING PRIMARY KEY, value STRING);"]:
                self._conn.execute(ddl)
            self._conn.execute("CREATE (:GraphscoreMeta {key: 'schema', value: $hash})", {"hash": expected})
            return
        found = self._conn.execute("MATCH (m:GraphscoreMeta {key: 'schema'}) RETURN m.value").get_as_df()
        if found.empty or found.iloc[0, 0] != expected:
            raise StoreError(f"the store at {self.path} was made for another version of graphscore's data model "
                             "(schema/model.toml); load the data into a new --db")

    def _run(self, query: str, parameters: dict | None = None) -> pd.DataFrame:
        return self._conn.execute(query, parameters or {}).get_as_df()

    def _read_raw(self) -> Tables:
        # Arrow from the engine, no Python rows. Not Connection.query_as_arrow: in ladybug
        # 0.22 it returns nulls as 0, "" and 1970-01-01 (tests/store/test_ladybug_upstream.py).
        def read(query: str) -> pd.DataFrame:
            return self._conn.execute(query).get_as_arrow(ARROW_CHUNK_ROWS).to_pandas()
        model = load_model()
        links = [read(statements.read_links(t)) for t in model.links]
        links = [df for df in links if len(df)]
        return Tables(entities=read(statements.read_entities()),
                      links=pd.concat(links, ignore_index=True) if links else pd.DataFrame(),
                      penalties=read(statements.read_penalties()))

    def _write(self, plan: LoadPlan, fingerprint: str, advance: Advance) -> None:
        """New rows by bulk ``COPY``; changed entities and penalties updated in bulk by id;
        changed links deleted by key and copied in again with the new ones. No
        ``MERGE ... SET`` on relationships: LadybugDB corrupts them when it is repeated."""
        model = load_model()
        entity_columns, penalty_columns, link_columns = (
            statements.copy_columns(table, model) for table in ("entities", "penalties", "links"))
        ends = [Column("source", "ref"), Column("target", "ref")]
        entities, penalties, links = plan.entities, plan.penalties, plan.links
        with self._transaction() as run:
            if len(entities.new):
                run(statements.copy_entities(model), {"rows": _arrow(entities.new, entity_columns)})
                advance(len(entities.new))
            if len(entities.changed):
                run(statements.update_nodes("Entity", entity_columns[1:]),
                    {"rows": _arrow(entities.changed, entity_columns, prefix="v_")})
                advance(len(entities.changed))
            if len(penalties.new):
                copy_rows, copy_edges = statements.copy_penalties(model)
                run(copy_rows, {"rows": _arrow(penalties.new, penalty_columns)})
                run(copy_edges, {"edges": _arrow(penalties.new, [Column("entity", "ref"), penalty_columns[0]])})
                advance(len(penalties.new))
            if len(penalties.changed):
                run(statements.update_nodes("Penalty", penalty_columns[1:]),
                    {"rows": _arrow(penalties.changed, penalty_columns, prefix="v_")})
                advance(len(penalties.changed))
            for link_type in model.links:
                changed = links.changed[links.changed["type"] == link_type]
                if len(changed):
                    run(statements.delete_links(link_type, model), {"keys": changed["key"].tolist()})
                rows = pd.concat([links.new[links.new["type"] == link_type], changed])
                if len(rows):
                    run(statements.copy_links(link_type, model), {"rows": _arrow(rows, ends + link_columns)})
                    advance(len(rows))
            record_fingerprint(run, fingerprint)

    def write_scores(self, scores: pd.DataFrame, *, policy: Policy, as_of: dt.date) -> int:
        columns = list(load_model().scores.columns)
        rows = scores[["id", "own", "echo", "inherited", "total"]].assign(
            score_policy=policy.name, score_policy_hash=policy.hash, score_as_of=pd.Timestamp(as_of))
        with self._transaction() as run:
            run(statements.write_scores(), {"rows": _arrow(rows, [Column("id", "string"), *columns], prefix="v_")})
        return len(rows)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Run]:
        self._conn.execute("BEGIN TRANSACTION")
        try:
            yield self._run
        except BaseException:
            with contextlib.suppress(RuntimeError):  # LadybugDB may already have rolled back
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()
        self._db.close()

    def discard(self) -> None:
        """Close and remove a store this object created (after a failed first load, so no
        empty store is left behind): its files, and its folder when this object made it."""
        if not self.created:
            raise StoreError(f"{self.path} existed before: it is not discarded")
        self.close()
        for leftover in self.path.parent.glob(self.path.name + "*"):  # the database, its WAL and locks
            leftover.unlink(missing_ok=True)
        shutil.rmtree(self.path.with_suffix(".cache"), ignore_errors=True)
        if self._made_from is not None:
            folder = self.path.parent
            while True:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only ever an empty folder
                if folder == self._made_from:
                    break
                folder = folder.parent

    def __enter__(self) -> "LadybugStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LadybugStore({str(self.path)!r})"
