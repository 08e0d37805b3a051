"""Plain tables on disk: a folder holding ``entities``, ``links`` and ``penalties`` as CSV or Parquet.

Column names are those of DESIGN §3 (``graphscore/schema/model.toml``). Readers return raw
tables (text as read, with file and line recorded for error messages); call
:func:`graphscore.model.validate` on them.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graphscore.errors import DataIssue, InvalidData
from graphscore.model import TABLE_NAMES, LineNumbers, Tables

__all__ = ["read_tables", "read_table", "write_tables", "write_table", "write_atomically", "safe_for_spreadsheets"]

_SUFFIXES = (".csv", ".parquet")


_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 26  # bytes scanned for line ends at a time: bounds the scan's temporary arrays


def _read_csv(path: Path) -> pd.DataFrame:
    """CSV as text columns, each row's physical line recorded, blank lines skipped, and a row
    whose field count differs from the header's refused.

    pyarrow parses the file (memory-mapped, on every core) and NumPy finds its line ends. That
    gives each row's line as long as one line holds one row: the number of rows pyarrow returns
    is compared with the number of non-empty lines, and any difference (a quoted field spanning
    lines), any row pyarrow refuses, a bare carriage return, a quote in the header or text
    that is not UTF-8 sends the file to :func:`_read_csv_exact`, which reads it row by row and
    says precisely what is wrong."""
    with pa.memory_map(str(path)) as source:
        data = source.read_buffer()
    table = _read_csv_fast(path, data)
    return _read_csv_exact(path) if table is None else table


def _line_ends(data: pa.Buffer, start: int) -> tuple[np.ndarray, bool]:
    """Offsets of each ``\n`` at or after ``start``, and whether every ``\r`` precedes one."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends, bare_return = [], False
    for lo in range(start, len(raw), _CHUNK):
        chunk = raw[lo:lo + _CHUNK + 1]  # one byte more: a "\r" at the edge sees its "\n"
        newlines = np.flatnonzero(chunk[:_CHUNK] == 10)
        ends.append(newlines + lo)
        following = np.flatnonzero(chunk[:_CHUNK] == 13) + 1
        if len(following):
            bare_return |= bool(following[-1] >= len(chunk) or (chunk[following] != 10).any())
    return (np.concatenate(ends) if ends else np.zeros(0, np.int64)), bare_return


def _read_csv_fast(path: Path, data: pa.Buffer) -> pd.DataFrame | None:
    """The fast path of :func:`_read_csv`; None where only the exact reader can tell the lines."""
    start = len(_BOM) if bytes(data[:3]) == _BOM else 0
    ends, bare_return = _line_ends(data, start)
    if bare_return:
        return None
    size = data.size
    if len(ends) == 0 or ends[-1] != size - 1:  # the last line has no line end
        ends = np.append(ends, size)
    starts = np.concatenate([[start], ends[:-1] + 1])
    raw = np.frombuffer(data, dtype=np.uint8)
    lengths = ends - starts
    lengths -= (lengths > 0) & (raw[np.maximum(ends - 1, 0)] == 13)  # "\r\n" ends a line too
    header_bytes = bytes(data[starts[0]:starts[0] + lengths[0]])
    if b'"' in header_bytes:
        return None
    try:
        header = next(csv.reader([header_bytes.decode("utf-8")]), [])
    except UnicodeDecodeError:
        return None
    if not header or not any(cell.strip() for cell in header):
        raise InvalidData(DataIssue(path.name, "header", None, "is missing: the file has no columns"))
    header = [cell.strip() for cell in header]
    if duplicated := sorted({c for c in header if header.count(c) > 1}):
        raise InvalidData(DataIssue(f"{path.name}:1", duplicated[0], None, "appears twice in the header"))
    lines = np.flatnonzero(lengths[1:] > 0) + 2  # physical line of each non-empty line after the header
    if not len(lines):
        return _frame(pa.table({c: pa.array([], pa.string()) for c in header}), lines)
    refused = []
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data.slice(int(starts[1]))),
            read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: refused.append(row) or "skip"),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # not UTF-8, or a quote pyarrow cannot close without crossing lines
    if refused or table.num_rows != len(lines):
        return None
    # A row of empty cells (",,") is blank, as a line holding nothing is.
    blank = None
    for column in table.columns:
        empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0)
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():
            break
    else:
        keep = pc.invert(blank)
        table, lines = table.filter(keep), lines[pc.fill_null(keep, True).to_numpy(zero_copy_only=False)]
    return _frame(table, lines)


def _frame(table: pa.Table, lines: np.ndarray) -> pd.DataFrame:
    df = table.to_pandas()
    df.attrs["lines"] = LineNumbers(lines)
    return df


def _read_csv_exact(path: Path) -> pd.DataFrame:
    """CSV as text columns, parsed row by row in Python: each row's physical line recorded (quoted fields may span lines),
    blank lines skipped, and a row whose field count differs from the header's refused."""
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidData(DataIssue(path.name, "encoding", None,
                                    f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                                    f"at offset {exc.start})")) from None
    # Python's csv refuses fields over 131,072 characters by default; validate() applies one
    # limit (model.MAX_TEXT) to every format, so this reader must not apply a second.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
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
        # Parquet carries types: validate reads numbers and dates as such, text as text.
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            reason = str(exc).splitlines()[0].removeprefix(f"Could not open Parquet input source '{path}': ")
            raise InvalidData(DataIssue(path.name, "file", None, f"is not a readable Parquet file ({reason})")) from None
        for i, column in enumerate(table.columns):
            if pa.types.is_date(column.type):
                table = table.set_column(i, table.field(i), pc.cast(column, pa.timestamp("s")))
        df = table.to_pandas()
        df.attrs["lines"] = LineNumbers.consecutive(len(df))  # rows have no lines: row i is "line" i + 2
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


# A cell starting with one of these is a formula to a spreadsheet (OWASP, "CSV Injection"):
# "=HYPERLINK(...)" in an entity name would run when an analyst opens the scores file.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_for_spreadsheets(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would take for a formula, prefixed with an apostrophe (shown as
    text, not run); numbers are left alone.

    Examples
    --------
    >>> safe_for_spreadsheets(pd.DataFrame({"name": ["=1+1", "Ann", "-x"], "share": [-0.5, 1.0, 0.2]}))
        name  share
    0  '=1+1   -0.5
    1    Ann    1.0
    2    '-x    0.2
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            text = values.astype(object)
            risky = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS)).astype(bool)
            if risky.any():
                out[column] = text.where(~risky, "'" + text.where(risky, ""))
    return out


def write_atomically(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary_path)`` and rename the result to ``path``: a failure (a full
    disk) leaves ``path`` as it was, never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        # name the file asked for (writers such as pandas' to_csv name none)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """One table as ``.parquet``, else CSV (formulas neutralised), written atomically."""
    path = Path(path)
    if path.suffix == ".parquet":
        return write_atomically(path, lambda target: frame.to_parquet(target, index=False))
    return write_atomically(path, lambda target: safe_for_spreadsheets(frame).to_csv(target, index=False))


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
        written.append(write_table(out, folder / f"{name}.{format}"))
    return written
