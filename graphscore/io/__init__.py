"""Readers and writers: files on disk -> raw :class:`graphscore.model.Tables`."""

from __future__ import annotations

from pathlib import Path

from graphscore.errors import DataIssue, InvalidData
import pandas as pd

from graphscore.io.tables import iter_tables, read_table, read_tables, write_tables
from graphscore.model import TABLE_NAMES, Tables, validate, validate_chunks

__all__ = ["read_path", "read_paths", "table_chunks", "read_tables", "read_table", "write_tables", "export", "check_export_format",
           "EXPORT_FORMATS"]

FTM_SUFFIXES = (".json", ".jsonl", ".ftm")


def read_path(path: str | Path) -> Tables:
    """Read a folder of CSV/Parquet tables, a FollowTheMoney JSON-lines file, or BODS 0.4
    statements (a file, or a folder of them), raw and unvalidated.

    A ``.json`` / ``.jsonl`` file is BODS when it is a JSON array or its first object has a
    ``statementId`` (:func:`graphscore.io.bods.is_bods`), FollowTheMoney otherwise; a folder
    without ``entities.csv`` / ``.parquet`` whose first JSON file is BODS is one BODS package.
    """
    from graphscore.io.bods import is_bods, read_bods

    path = Path(path)
    if path.is_dir():
        return read_bods(path) if not _is_table_folder(path) and is_bods(path) else read_tables(path)
    if is_bods(path):
        return read_bods(path)
    if path.suffix in FTM_SUFFIXES:
        from graphscore.io.ftm import read_ftm  # followthemoney is slow to import: only when needed

        return read_ftm(path)
    if not path.exists():
        raise InvalidData(DataIssue(str(path), "path", None, "does not exist"))
    raise InvalidData(DataIssue(path.name, "path", None,
                                "is neither a folder of tables nor a FollowTheMoney or BODS .json/.jsonl file"))


def read_paths(paths, *, known_entities: pd.DataFrame | None = None) -> Tables:
    """Read and validate several inputs into one set of tables.

    A folder of CSV/Parquet tables is validated chunk by chunk as it is read, so its whole raw
    text is never in memory beside the validated tables. Each input is validated on its own, so errors name its file and line; links and penalties
    may refer to entities of earlier inputs or of ``known_entities`` (e.g. a store's).
    """
    known = known_entities if known_entities is not None else pd.DataFrame({"id": [], "kind": []})
    parts = []
    for path in paths:
        tables = _read_validated(Path(path), known)
        known = pd.concat([known, tables.entities[["id", "kind"]]], ignore_index=True)
        parts.append(tables)
    if len(parts) == 1:
        return parts[0]
    combined = {name: pd.concat([getattr(t, name) for t in parts], ignore_index=True) for name in TABLE_NAMES}
    return validate(Tables(**combined), known_entities=known_entities)


def _is_table_folder(path: Path) -> bool:
    return path.is_dir() and any((path / f"entities{suffix}").exists() for suffix in (".csv", ".parquet"))


def table_chunks(paths) -> dict | None:
    """The raw chunks of a load's input when it is one input: a folder of CSV/Parquet tables
    (:func:`graphscore.io.tables.iter_tables`), a FollowTheMoney file
    (:func:`graphscore.io.ftm.iter_ftm`) or BODS statements (:func:`graphscore.io.bods.iter_bods`),
    which a store can validate and write as it reads
    (:meth:`graphscore.store.ladybug.LadybugStore.load_chunks`); None for several inputs."""
    paths = list(paths)
    return _chunks(Path(paths[0])) if len(paths) == 1 else None


def _chunks(path: Path) -> dict | None:
    """An input's raw chunks per table; None for a path that is no input."""
    from graphscore.io.bods import is_bods, iter_bods

    if _is_table_folder(path):
        return iter_tables(path)
    if is_bods(path):
        return iter_bods(path)
    if path.is_file() and path.suffix in FTM_SUFFIXES:
        from graphscore.io.ftm import iter_ftm  # followthemoney is slow to import: only when needed

        return iter_ftm(path)
    return None


def _read_validated(path: Path, known: pd.DataFrame) -> Tables:
    """One input validated; a folder of CSV/Parquet tables, an FtM or a BODS input chunk by
    chunk, as it is read (:func:`graphscore.model.validate_chunks`), so its raw rows are never held whole."""
    chunks = _chunks(path)
    if chunks is not None:
        return validate_chunks(chunks, known_entities=known)
    return validate(read_path(path), known_entities=known)


# format -> (module, function, what it writes); each imported only when asked for
EXPORT_FORMATS = {
    "graphml": ("graphscore.io.graphml", "write_graphml", "a GraphML file (Gephi, yEd, networkx)"),
    "neo4j-csv": ("graphscore.io.neo4j_csv", "write_neo4j_csv",
                  "a folder of CSV files and import.sh for neo4j-admin database import"),
    "ftm": ("graphscore.io.ftm_out", "write_ftm", "a FollowTheMoney JSON-lines file"),
}


def check_export_format(format: str) -> None:
    """Raise ValueError naming the formats when ``format`` is none of them."""
    if format not in EXPORT_FORMATS:
        raise ValueError(f"--format {format!r} is not one of {', '.join(EXPORT_FORMATS)}.")


def export(tables: Tables, format: str, path: str | Path) -> Path:
    """Write validated ``tables`` in an exchange format: ``graphml``, ``neo4j-csv`` or ``ftm``.

    Returns the file written (for ``neo4j-csv``, the folder).

    Examples
    --------
    >>> import tempfile
    >>> tables = validate(Tables(pd.DataFrame({"id": ["p"], "kind": ["person"], "name": ["Ann"]})))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     export(tables, "ftm", f"{folder}/ann.ftm.json").read_text()
    '{"id": "p", "schema": "Person", "caption": "Ann", "properties": {"name": ["Ann"]}}\\n'
    """
    import importlib

    check_export_format(format)
    module, function, _ = EXPORT_FORMATS[format]
    written = getattr(importlib.import_module(module), function)(tables, path)
    return Path(path) if isinstance(written, dict) else written
