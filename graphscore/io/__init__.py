"""Readers and writers: files on disk -> raw :class:`graphscore.model.Tables`."""

from __future__ import annotations

from pathlib import Path

from graphscore.errors import DataIssue, InvalidData
from graphscore.io.tables import read_table, read_tables, write_tables
import pandas as pd

from graphscore.model import TABLE_NAMES, Tables, validate

__all__ = ["read_path", "read_paths", "read_tables", "read_table", "write_tables"]

FTM_SUFFIXES = (".json", ".jsonl", ".ftm")


def read_path(path: str | Path) -> Tables:
    """Read a folder of CSV/Parquet tables or a FollowTheMoney JSON-lines file (raw, unvalidated)."""
    path = Path(path)
    if path.is_dir():
        return read_tables(path)
    if path.suffix in FTM_SUFFIXES:
        from graphscore.io.ftm import read_ftm  # followthemoney is slow to import: only when needed

        return read_ftm(path)
    if not path.exists():
        raise InvalidData(DataIssue(str(path), "path", None, "does not exist"))
    raise InvalidData(DataIssue(path.name, "path", None,
                                "is neither a folder of tables nor a FollowTheMoney .json/.jsonl file"))


def read_paths(paths, *, known_entities: pd.DataFrame | None = None) -> Tables:
    """Read and validate several inputs into one set of tables.

    Each input is validated on its own, so errors name its file and line; links and penalties
    may refer to entities of earlier inputs or of ``known_entities`` (e.g. a store's).
    """
    known = known_entities if known_entities is not None else pd.DataFrame({"id": [], "kind": []})
    parts = []
    for path in paths:
        tables = validate(read_path(path), known_entities=known)
        known = pd.concat([known, tables.entities[["id", "kind"]]], ignore_index=True)
        parts.append(tables)
    if len(parts) == 1:
        return parts[0]
    combined = {name: pd.concat([getattr(t, name) for t in parts], ignore_index=True) for name in TABLE_NAMES}
    return validate(Tables(**combined), known_entities=known_entities)
