"""The embedded graph store: LadybugDB (the maintained fork of Kùzu), in process, at one path on disk."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import ladybug
import pandas as pd

from graphscore.store import statements
from graphscore.store.base import CypherStore, Run

__all__ = ["LadybugStore"]

DATABASE_FILE = "graph.lbug"


class LadybugStore(CypherStore):
    """A LadybugDB database. ``path`` is a ``.lbug`` file, or a folder that holds ``graph.lbug``.

    Examples
    --------
    >>> import tempfile
    >>> store = LadybugStore(tempfile.mkdtemp())
    >>> store.counts()
    {'entities': 0, 'links': 0, 'penalties': 0}
    >>> store.close()
    """

    def __init__(self, path: str | Path):
        path = Path(path)
        if path.suffix != ".lbug":
            path.mkdir(parents=True, exist_ok=True)
            path = path / DATABASE_FILE
        self.path = path
        self._db = ladybug.Database(str(path))
        self._conn = ladybug.Connection(self._db)
        for ddl in statements.ladybug_schema():
            self._conn.execute(ddl)

    def _run(self, query: str, parameters: dict | None = None) -> pd.DataFrame:
        result = self._conn.execute(query, parameters or {})
        return result.get_as_df()

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
