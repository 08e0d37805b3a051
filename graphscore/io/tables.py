"""Plain tables on disk: a folder holding ``entities``, ``links`` and ``penalties`` as CSV or Parquet.

Column names are those of DESIGN §3 (``graphscore/schema/model.toml``). Readers return raw
tables (text as read, with file and line recorded for error messages); call
:func:`graphscore.model.validate` on them.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphscore.errors import DataIssue, InvalidData
from graphscore.model import TABLE_NAMES, LineNumbers, Reread, Tables

__all__ = ["read_tables", "read_table", "iter_table", "iter_tables", "write_tables", "write_table", "write_atomically", "safe_for_spreadsheets"]

_SUFFIXES = (".csv", ".parquet")


_BOM = b"\xef\xbb\xbf"
# Rows per Parquet chunk, and CSV bytes scanned for line ends and parsed at a time. A streamed
# load holds one chunk as Python objects while it validates it: at 10^6 links its peak was
# 1.98 GB with 2^20 rows, 1.79 with 2^19 and 1.54 with 2^18, at the same CPU time within 8 %
# (the whole-table read of the same registry: 3.3-3.8 s of CPU either way).
CHUNK_ROWS = 1 << 18
_CSV_BLOCK = 1 << 24  # about 160,000 links


def iter_table(path: str | Path) -> Iterator[pd.DataFrame]:
    """One CSV (UTF-8) or Parquet file as chunks of raw rows, read one at a time, for
    :func:`graphscore.model.validate_chunks`: the whole file is never in memory.

    Each chunk is a frame of the file's columns (text as read, Parquet's numbers and dates
    typed), its ``attrs`` holding ``origin`` (the file name) and ``lines`` (each row's line;
    a Parquet row i is "line" i + 2). A CSV file whose lines the fast parser cannot tell
    apart (:func:`_csv_chunks`) raises :class:`~graphscore.model.Reread` with the exact
    reader's one chunk, possibly after some chunks were yielded.

    Raises
    ------
    InvalidData
        If the file is empty, is not UTF-8, cannot be parsed, or a row has the wrong number of fields.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "entities.csv"
    >>> _ = path.write_text("id,kind,name\\np1,person,Ann\\n\\nc1,company,Acme\\n")
    >>> [(chunk["id"].tolist(), list(chunk.attrs["lines"])) for chunk in iter_table(path)]
    [(['p1', 'c1'], [2, 4])]
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise InvalidData(DataIssue(path.name, "file", None, "is empty"))
    chunks = _parquet_chunks(path) if path.suffix == ".parquet" else _csv_chunks(path)
    for chunk in chunks:
        chunk.attrs["origin"] = path.name
        yield chunk


def _parquet_chunks(path: Path) -> Iterator[pd.DataFrame]:
    # Parquet carries types: validate reads numbers and dates as such, text as text.
    def unreadable(exc: Exception) -> InvalidData:
        reason = str(exc).splitlines()[0].removeprefix(f"Could not open Parquet input source '{path}': ")
        return InvalidData(DataIssue(path.name, "file", None, f"is not a readable Parquet file ({reason})"))

    import pyarrow.parquet as pq  # here: writing a report's table needs neither reader (0.06 s to import)

    try:
        file = pq.ParquetFile(path)
        batches = file.iter_batches(batch_size=CHUNK_ROWS)
    except (pa.ArrowInvalid, OSError) as exc:
        raise unreadable(exc) from None
    first, done = 2, False
    while not done:
        try:
            batch = next(batches, None)
        except (pa.ArrowInvalid, OSError) as exc:
            raise unreadable(exc) from None
        if batch is None:
            if first > 2:
                return
            batch, done = file.schema_arrow.empty_table(), True  # no rows: the columns alone
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        for i, column in enumerate(table.columns):
            if pa.types.is_date(column.type):
                table = table.set_column(i, table.field(i), pc.cast(column, pa.timestamp("s")))
        # pandas' metadata would restore a written index: rows are named by position here
        df = table.to_pandas(ignore_metadata=True)
        df.attrs["lines"] = LineNumbers.consecutive(len(df), first)
        first += len(df)
        yield df


def _csv_lines(path: Path) -> tuple[list[str], int, np.ndarray] | None:
    """The header, the offset of the first data line, and the physical line of each
    non-empty line after the header, scanning the file a block at a time; None where only
    the exact reader can tell the lines (a bare carriage return, a quote in the header,
    a header that is not UTF-8)."""
    size = path.stat().st_size
    kept, completed, previous, first_end, header_length = [], 0, 0, None, 0
    with path.open("rb") as file:
        start = len(_BOM) if file.read(len(_BOM)) == _BOM else 0
        file.seek(start)
        position, last_end = start, start - 1
        while block := file.read(_CSV_BLOCK):
            raw = np.frombuffer(block, dtype=np.uint8)
            returns = np.flatnonzero(raw == 13)
            if len(returns):
                following = returns + 1
                inside = following < len(raw)
                if (raw[following[inside]] != 10).any():
                    return None
                if not inside[-1] and file.peek(1)[:1] != b"\n":  # a "\r" ending the block
                    return None
            newlines = np.flatnonzero(raw == 10)
            if len(newlines):
                before = np.where(newlines > 0, raw[np.maximum(newlines - 1, 0)], previous)
                ends = newlines + position
                starts = np.concatenate([[last_end + 1], ends[:-1] + 1])
                lengths = ends - starts - (before == 13)  # "\r\n" ends a line too
                if first_end is None:
                    first_end, header_length = int(ends[0]), int(lengths[0])
                kept.append(np.flatnonzero(lengths > 0) + completed + 1)
                completed += len(newlines)
                last_end = int(ends[-1])
            previous, position = int(raw[-1]), position + len(raw)
        if last_end < size - 1:  # the last line has no line end
            if first_end is None:
                header_length = size - start
            kept.append(np.array([completed + 1]))
        first_end = size if first_end is None else first_end
        file.seek(start)
        header_bytes = file.read(header_length)
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
    lines = np.concatenate(kept) if kept else np.zeros(0, np.int64)
    return header, min(first_end + 1, size), lines[lines > 1]


def _csv_chunks(path: Path) -> Iterator[pd.DataFrame]:
    """CSV as chunks of text columns, each row's physical line recorded, blank lines skipped.

    pyarrow parses the file a block at a time, and NumPy finds its line ends. That gives each
    row's line as long as one line holds one row: the rows pyarrow returns are counted against
    the non-empty lines, and any difference (a quoted field spanning lines), any row pyarrow
    refuses, a bare carriage return, a quote in the header or text that is not UTF-8 raises
    :class:`~graphscore.model.Reread` with :func:`_read_csv_exact`, which reads the file row by
    row and says precisely what is wrong."""
    exact = Reread(_exact_chunks(path))
    scanned = _csv_lines(path)
    if scanned is None:
        raise exact
    header, offset, lines = scanned
    if not len(lines):
        yield _frame(pa.table({c: pa.array([], pa.string()) for c in header}), lines)
        return
    lines = LineNumbers(range(int(lines[0]), int(lines[-1]) + 1)) if lines[-1] - lines[0] == len(lines) - 1 \
        else LineNumbers(lines)
    import pyarrow.csv as pacsv

    refused = []
    with pa.OSFile(str(path)) as source:
        source.seek(offset)
        try:
            reader = pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(column_names=header, block_size=_CSV_BLOCK),
                parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: refused.append(row) or "skip"),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise exact from None  # not UTF-8, or a quote pyarrow cannot close without crossing lines
        done = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise exact from None
            if refused or done + batch.num_rows > len(lines):
                raise exact
            chunk_lines = lines.take(np.arange(done, done + batch.num_rows))
            done += batch.num_rows
            yield _without_blank_rows(pa.Table.from_batches([batch]), chunk_lines)
    if done != len(lines):
        raise exact


def _without_blank_rows(table: pa.Table, lines: np.ndarray) -> pd.DataFrame:
    """A row of empty cells (",,") is blank, as a line holding nothing is."""
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


def _frame(table: pa.Table, lines) -> pd.DataFrame:
    df = table.to_pandas()
    df.attrs["lines"] = LineNumbers(lines)
    return df


def _exact_chunks(path: Path) -> Iterator[pd.DataFrame]:
    df = _read_csv_exact(path)
    df.attrs["origin"] = path.name
    yield df


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
    line for error messages: :func:`iter_table`'s chunks as one frame.

    Raises
    ------
    InvalidData
        If the file is empty, is not UTF-8, cannot be parsed, or a row has the wrong number of fields.
    """
    try:
        chunks = list(iter_table(path))
    except Reread as reread:
        chunks = list(reread.chunks)
    if len(chunks) == 1:
        return chunks[0]
    df = pd.concat(chunks, ignore_index=True)
    lines = [LineNumbers.of(chunk) for chunk in chunks]
    df.attrs = {"origin": chunks[0].attrs["origin"], "lines": LineNumbers(np.concatenate(lines))}
    return df


def iter_tables(folder: str | Path) -> dict:
    """The chunks of ``entities``, ``links`` and ``penalties`` (``.csv`` or ``.parquet``) in a
    folder, as :func:`graphscore.model.validate_chunks` takes them; each file is opened only
    when its chunks are asked for. ``entities`` is required; a missing file means no rows."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidData(DataIssue(str(folder), "path", None, "is not a folder of tables"))
    paths = {name: _find(folder, name) for name in TABLE_NAMES}
    if paths["entities"] is None:
        raise InvalidData(DataIssue(str(folder), "entities", None, "has no entities.csv or entities.parquet"))
    return {name: _Chunks(path) for name, path in paths.items() if path is not None}


class _Chunks:
    """A file's chunks, read when iterated (:func:`iter_table`)."""

    def __init__(self, path: Path):
        self.path = path

    def __iter__(self):
        return iter_table(self.path)


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
    # only the columns with a risky cell are made again, the frame not copied (a what-if's
    # changes.csv at 10^7 links is 3.2x10^6 rows, and was copied whole here to be written)
    safe = {}
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            text = values.astype(object)
            risky = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS)).astype(bool)
            if risky.any():
                safe[column] = text.where(~risky, "'" + text.where(risky, ""))
    return frame.assign(**safe) if safe else frame


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
