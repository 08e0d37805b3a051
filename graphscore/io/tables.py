"""Plain tables on disk: a folder holding ``entities``, ``links`` and ``penalties`` as CSV or Parquet.

Column names are those of DESIGN §3 (``graphscore/schema/model.toml``). Readers return raw
tables (text as read, with file and line recorded for error messages); call
:func:`graphscore.model.validate` on them.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from graphscore.errors import DataIssue, InvalidData
from graphscore.model import TABLE_NAMES, LineNumbers, Tables

__all__ = ["read_tables", "read_table", "write_tables"]

_SUFFIXES = (".csv", ".parquet")


def _read_csv(path: Path) -> pd.DataFrame:
    """CSV as text columns, each row's physical line recorded (quoted fields may span lines),
    blank lines skipped, and a row whose field count differs from the header's refused."""
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidData(DataIssue(path.name, "encoding", None,
                                    f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                                    f"at offset {exc.start})")) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise InvalidData(DataIssue(path.name, "header", None, "is missing: the file has no columns"))
        header = [cell.strip() for cell in header]
        if duplicated := sorted({c for c in header if header.count(c) > 1}):
            raise InvalidData(DataIssue(f"{path.name}:1", duplicated[0], None, "appears twice in the header"))
        rows, lines, line = [], [], reader.line_num + 1
        for record in reader:
            if any(cell.strip() for cell in record):
                if len(record) != len(header):
                    raise InvalidData(DataIssue(f"{path.name}:{line}", "row", None,
                                                f"has {len(record)} fields, the header has {len(header)}"))
                rows.append(record)
                lines.append(line)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidData(DataIssue(f"{path.name}:{reader.line_num}", "csv", None, f"cannot be parsed: {exc}")) from None
    df = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header, dtype=object)
    df.attrs["lines"] = LineNumbers(lines)
    return df


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one CSV (UTF-8) or Parquet file as text columns, recording its name and each row's
    line for error messages.

    Raises
    ------
    InvalidData
        If the file is empty, is not UTF-8, cannot be parsed, or a row has the wrong number of fields.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise InvalidData(DataIssue(path.name, "file", None, "is empty"))
    if path.suffix == ".parquet":
        # Parquet carries types; render them as the text a CSV would hold so one validator serves both.
        df = pd.read_parquet(path)
        for column in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[column]):
                df[column] = df[column].dt.strftime("%Y-%m-%d")
        df = df.astype(object).where(df.notna(), None)
        df.attrs["lines"] = None  # Parquet rows have no lines: validate names row i as line i + 2
    else:
        df = _read_csv(path)
    df.attrs["origin"] = path.name
    return df


def _find(folder: Path, name: str) -> Path | None:
    found = [folder / f"{name}{suffix}" for suffix in _SUFFIXES if (folder / f"{name}{suffix}").exists()]
    if len(found) > 1:
        raise InvalidData(DataIssue(str(folder), name, None, "exists as both CSV and Parquet; keep one"))
    return found[0] if found else None


def read_tables(folder: str | Path) -> Tables:
    """Read ``entities``, ``links`` and ``penalties`` (``.csv`` or ``.parquet``) from a folder.

    ``entities`` is required; a missing ``links`` or ``penalties`` file means none.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "entities.csv").write_text("id,kind,name\\np1,person,Ann\\n")
    >>> read_tables(folder).entities
       id    kind name
    0  p1  person  Ann
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidData(DataIssue(str(folder), "path", None, "is not a folder of tables"))
    frames = {}
    for name in TABLE_NAMES:
        path = _find(folder, name)
        if path is None and name == "entities":
            raise InvalidData(DataIssue(str(folder), "entities", None, "has no entities.csv or entities.parquet"))
        frames[name] = read_table(path) if path else pd.DataFrame()
    return Tables(**frames)


def write_tables(tables: Tables, folder: str | Path, *, format: str = "csv") -> list[Path]:
    """Write tables as ``folder/<name>.csv`` (or ``.parquet``), dates as ISO text."""
    if format not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', got {format!r}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        out = df.copy()
        out.attrs.clear()  # where the rows were read from says nothing about the written file
        for column in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[column]):
                out[column] = out[column].dt.strftime("%Y-%m-%d")
        path = folder / f"{name}.{format}"
        if format == "csv":
            out.to_csv(path, index=False)
        else:
            out.to_parquet(path, index=False)
        written.append(path)
    return written
