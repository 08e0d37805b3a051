"""The embedded graph store: LadybugDB (the maintained fork of Kùzu), in process, at one path on disk."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import ladybug
import pandas as pd

from graphscore.errors import StoreError
from graphscore.store import statements
from graphscore.store.base import CypherStore, Run

__all__ = ["LadybugStore"]

DATABASE_FILE = "graph.lbug"


def _schema_hash() -> str:
    return hashlib.sha256("\n".join(statements.ladybug_schema()).encode()).hexdigest()[:16]


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

    Raises
    ------
    StoreError
        If the path is not a LadybugDB database, or one made by another version of the data
        model (``schema/model.toml``), whose tables LadybugDB cannot alter in place.

    Examples
    --------
    >>> import tempfile
    >>> store = LadybugStore(tempfile.mkdtemp())
    >>> store.counts()
    {'entities': 0, 'links': 0, 'penalties': 0}
    >>> store.close()
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, create: bool = True):
        path = Path(path)
        if path.suffix != ".lbug":
            path = path / DATABASE_FILE
        if not path.exists() and (read_only or not create):
            raise StoreError(f"no graphscore store at {path.parent if path.name == DATABASE_FILE else path}: "
                             "load data first (graphscore load PATH --db DIR)")
        if not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create a store at {path.parent}: {exc}") from None
        self.path = path
        try:
            self._db = ladybug.Database(str(path), read_only=read_only)
            self._conn = ladybug.Connection(self._db)
        except RuntimeError as exc:
            raise StoreError(f"{path} is not a graphscore store: {str(exc).splitlines()[0]}") from None
        self._check_schema(read_only)

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

    def __enter__(self) -> "LadybugStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LadybugStore({str(self.path)!r})"
