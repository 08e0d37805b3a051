"""The data model: declarations read from ``schema/model.toml`` and validation of tables against them.

Everything that knows about entity kinds, link types or table columns derives from
:func:`load_model`; nothing restates them.

Examples
--------
>>> import pandas as pd
>>> model = load_model()
>>> sorted(model.links)
['AGENT_OF', 'ASSOCIATE', 'CONTROLS', 'FAMILY', 'OFFICER_OF', 'OWNS']
>>> entities = pd.DataFrame({"id": ["a", "b"], "kind": ["person", "company"], "name": ["A", "B"]})
>>> links = pd.DataFrame({"source": ["a"], "target": ["b"], "type": ["OWNS"], "share": [1.7]})
>>> validate(Tables(entities, links, pd.DataFrame()))
Traceback (most recent call last):
...
graphscore.errors.InvalidData: links[0]: share=1.7 outside [0, 1] (OWNS)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphscore.errors import DataIssue, InvalidData
from graphscore.schema import TABLE_NAMES, Column, LinkType, Model, TableSpec, load_model

__all__ = [
    "Column",
    "TableSpec",
    "LinkType",
    "Model",
    "Tables",
    "GraphscoreWarning",
    "load_model",
    "validate",
    "empty_table",
    "link_keys",
    "link_key_array",
    "check_against_store",
    "LineNumbers",
    "validate_chunks",
    "ChunkPass",
    "Reread",
    "ContentDigest",
    "ValidatedStream",
    "ValidChunk",
    "RestartLoad",
    "StoredKeys",
]

_MAX_ISSUES = 200  # enough to fix a file in one pass without flooding a terminal
# The longest text a cell may hold, whatever the format it came in (CSV, Parquet, FtM): a name
# or an id of a megabyte is a mistake or an attack, and it would ride along in every report.
MAX_TEXT = 1 << 16


class GraphscoreWarning(UserWarning):
    """Data that is accepted but worth a look (e.g. owners of one asset summing past 100 %)."""


def empty_table(name: str, model: Model | None = None) -> pd.DataFrame:
    """An empty table with the declared columns and dtypes."""
    spec = (model or load_model()).tables[name]
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in spec.columns})


@dataclass
class Tables:
    """The three input tables. Build them with a reader (``graphscore.io``) or by hand, then
    :func:`validate` them; validated tables have every declared column, coerced."""

    entities: pd.DataFrame
    links: pd.DataFrame = field(default_factory=pd.DataFrame)
    penalties: pd.DataFrame = field(default_factory=pd.DataFrame)
    validated: bool = False  # set by validate(): its warnings were given once already

    def items(self):
        return ((name, getattr(self, name)) for name in TABLE_NAMES)

    def counts(self) -> dict[str, int]:
        return {name: len(df) for name, df in self.items()}

    def fingerprint(self) -> str:
        """SHA-256 over the tables' content, independent of row order: names the data a score used.

        Each row is hashed to 64 bits (:func:`graphscore.hashing.row_hashes`, over the columns
        in name order); the digest covers each table's name, its column names and its sorted
        row hashes, so it costs a sort, not a text rendering, of a registry.
        """
        digest = ContentDigest()
        for name, df in self.items():
            digest.add(name, df)
        return digest.hexdigest()


class ContentDigest:
    """:meth:`Tables.fingerprint` taken over chunks of rows, added table by table in any
    order of rows: what it keeps is 8 bytes a row (each row's hash), not the rows; in
    ``folder`` when given (:class:`~graphscore.spill.Buckets` by the hash's top bits, so that
    sorting bucket by bucket sorts them all), else in memory.

    Examples
    --------
    >>> import tempfile
    >>> tables = Tables(pd.DataFrame({"id": ["a", "b"], "name": ["A", "B"]}))
    >>> digests = ContentDigest(), ContentDigest(Path(tempfile.mkdtemp()))
    >>> for digest in digests:
    ...     for name, df in tables.items():
    ...         for part in (df.iloc[1:], df.iloc[:1]):
    ...             digest.add(name, part)
    >>> [digest.hexdigest() == tables.fingerprint() for digest in digests]
    [True, True]
    """

    def __init__(self, folder: Path | None = None):
        self._folder = folder
        self._columns: dict[str, list[str]] = {}
        self._hashes: dict[str, list[np.ndarray]] = {}
        self._buckets: dict = {}

    def add(self, name: str, df: pd.DataFrame) -> None:
        """Rows of table ``name`` (every chunk of one table has the same columns)."""
        from graphscore.hashing import row_hashes  # compiled: loaded only by what hashes tables
        from graphscore.spill import Buckets, top_bits

        columns = self._columns.setdefault(name, sorted(c for c in df.columns if not c.startswith("_")))
        if not (len(df) and columns):
            return
        hashes = row_hashes(df, columns)
        if self._folder is None:
            self._hashes.setdefault(name, []).append(hashes)
            return
        if name not in self._buckets:
            self._buckets[name] = Buckets(self._folder / name)
        self._buckets[name].add(top_bits(hashes), hash=hashes)

    def add_hashes(self, name: str, columns: list[str], hashes: np.ndarray) -> None:
        """Rows of table ``name`` given by their hashes over ``columns`` (sorted, as :meth:`add`
        takes them), e.g. a store's rows hashed as they were read back."""
        self._columns.setdefault(name, columns)
        if self._folder is not None:
            raise ValueError("row hashes are added to a digest kept in memory")
        self._hashes.setdefault(name, []).append(hashes)

    def hexdigest(self) -> str:
        digest = hashlib.sha256()
        for name in TABLE_NAMES:
            columns = self._columns.get(name, [])
            digest.update(name.encode())
            digest.update("\x1e".join(columns).encode())
            if self._hashes.get(name):
                digest.update(np.sort(np.concatenate(self._hashes[name])).tobytes())
            for part in self._buckets.get(name, ()):
                digest.update(np.sort(part["hash"]).tobytes())
        return digest.hexdigest()


# what identifies a link record (link_keys), in the order its key writes them
LINK_KEY_COLUMNS = ("type", "source", "target", "role", "start", "source_ref")


def link_keys(links: pd.DataFrame) -> pd.Series:
    """Identity of each link record: type, ends, role, start and source reference.

    A store merges on it, so loading the same file twice adds nothing, and a corrected share
    or end date updates the record instead of adding a second one. Two records of one relation
    that start the same day (registers that keep each superseded stake with its original start)
    are told apart by their ``source_ref``.

    Each field is written as its length, a colon and its text, and a missing field as ``-``,
    so no text can pass for a field boundary: a role ``sibling|2020-01-01`` without a start is
    another key than a role ``sibling`` starting on 2020-01-01.

    Examples
    --------
    >>> links = pd.DataFrame({"type": ["OWNS"], "source": ["p1"], "target": ["c1"], "role": [None],
    ...                       "start": pd.to_datetime(["2020-01-01"]), "source_ref": [None]})
    >>> link_keys(links).tolist()
    ['4:OWNS2:p12:c1-10:2020-01-01-']
    """
    return pd.Series(_objects(link_key_array(links)), index=links.index, dtype=object)


def link_key_array(links: pd.DataFrame) -> pa.Array:
    """:func:`link_keys` as one Arrow array: what a load sorts, compares and copies, with no
    Python string made for each of 10^7 links."""
    start = links["start"]
    start = start.to_numpy("datetime64[s]") if pd.api.types.is_datetime64_any_dtype(start) else _text(start)
    return _link_key_text(*(_text(links[column]) for column in LINK_KEY_COLUMNS[:4]),
                          start, _text(links["source_ref"]))


def _link_key_text(link_type: pa.Array, source: pa.Array, target: pa.Array, role: pa.Array,
                   start, source_ref: pa.Array) -> pa.Array:
    """Link keys from the columns' text (null where blank) and ``start`` as datetime64 or text."""
    from graphscore.linkkey import spell_keys  # compiled: loaded only by what keys links

    if isinstance(start, np.ndarray):
        start = pc.cast(pc.cast(pa.array(start, type=pa.timestamp("s")), pa.date32()), pa.string())
    return spell_keys([link_type, source, target, role, start, source_ref])


class LineNumbers(Sequence):
    """The line in its file of each row a reader returned, for error messages.

    Readers keep it in ``DataFrame.attrs["lines"]``. pandas deep-copies ``attrs`` into every
    frame it derives (each filter, each column added), which for a list of ten million lines
    costs more than the work itself; this object is immutable and shared instead. Rows are
    found by index label, so a frame filtered from the reader's still names its rows' lines.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": ["a", "b", "c"]})
    >>> df.attrs["lines"] = LineNumbers([2, 5, 6])
    >>> LineNumbers.of(df[df["id"] != "b"]).tolist()
    [2, 6]
    """

    __slots__ = ("_lines",)

    def __init__(self, lines):
        lines = lines if isinstance(lines, range) else np.array(lines, dtype=np.int64)
        if isinstance(lines, np.ndarray):
            lines.flags.writeable = False
        self._lines = lines

    @classmethod
    def consecutive(cls, n: int, first: int = 2) -> LineNumbers:
        """Row i on line ``first + i`` (Parquet names row i as line i + 2), without an array."""
        return cls(range(first, first + n))

    @staticmethod
    def of(df: pd.DataFrame) -> np.ndarray | None:
        """The line of each row of ``df``, in order; None when ``df.attrs`` has none, or when
        the index no longer names the reader's rows (it was reset or concatenated)."""
        lines = df.attrs.get("lines")
        if lines is None:
            return None
        lines = lines if isinstance(lines, LineNumbers) else LineNumbers(lines)
        index = df.index
        if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
            # as read, or reset after filtering: only the first case keeps its lines
            return lines.take(np.arange(len(df))) if len(index) == len(lines) else None
        if not pd.api.types.is_integer_dtype(index) or not index.is_unique:
            return None
        labels = index.to_numpy()
        if len(labels) and (labels.min() < 0 or labels.max() >= len(lines)):
            return None
        return lines.take(labels)

    def take(self, positions: np.ndarray) -> np.ndarray:
        if isinstance(self._lines, range):
            return self._lines.start + np.asarray(positions, dtype=np.int64) * self._lines.step
        return self._lines[positions]

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return LineNumbers(self._lines[i])
        return int(self._lines[i])

    def __iter__(self):
        return (int(line) for line in self._lines)

    def __eq__(self, other) -> bool:
        if isinstance(other, LineNumbers):
            return len(self) == len(other) and bool(np.array_equal(self.take(np.arange(len(self))),
                                                                   other.take(np.arange(len(other)))))
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None

    def __repr__(self) -> str:
        if len(self) <= 10:
            return repr(list(self))
        return f"LineNumbers([{self[0]}, {self[1]}, ..., {self[-1]}], {len(self)} rows)"

    def __reduce__(self):
        return LineNumbers, (self._lines,)

    def __copy__(self) -> LineNumbers:
        return self

    def __deepcopy__(self, memo) -> LineNumbers:
        return self  # immutable: shared by every frame pandas derives


def _where(df: pd.DataFrame, table: str, positions) -> list[str]:
    """File and line of each row, as readers recorded them in ``df.attrs``."""
    origin = df.attrs.get("origin")
    if origin is None:
        return [f"{table}[{i}]" for i in positions]
    lines = df.attrs.get("lines")
    if lines is None:
        return [f"{origin}:{i + 2}" for i in positions]  # line 1 is the header
    lines = LineNumbers.of(df)
    if lines is None:  # the index no longer names the file's rows
        return [f"{origin}[{i}]" for i in positions]
    return [f"{origin}:{lines[i]}" for i in positions]


class _Issues:
    """Collects issues for one table; each call flags the rows where ``bad`` is true.

    ``values`` (default: the table's column) are looked up only at the flagged rows, so a
    check costs the same whether a column holds Python objects, NumPy or Arrow data."""

    def __init__(self, df: pd.DataFrame, table: str):
        self.df, self.table, self.found = df, table, []
        self.unlisted = 0  # issues found past the first _MAX_ISSUES: counted, not listed

    @property
    def full(self) -> bool:
        return len(self.found) >= _MAX_ISSUES

    def flag(self, bad, column: str, reason, values=None) -> None:
        """``reason`` is a string, or a function of the flagged positions giving one (so a
        message listing the bad rows' kinds is only built when there are some)."""
        bad = _mask(bad)
        positions = np.flatnonzero(bad)
        if not len(positions):
            return
        listed = positions[: max(0, _MAX_ISSUES - len(self.found))]
        self.unlisted += len(positions) - len(listed)
        if not len(listed):
            return
        if callable(reason):
            reason = reason(bad)
        positions = listed
        for where, value in zip(_where(self.df, self.table, positions),
                                _values_at(self.df[column] if values is None else values, positions)):
            if isinstance(value, pd.Timestamp):
                value = value.to_datetime64()
            if isinstance(value, np.datetime64):  # as text: Python's dates cannot hold year 0 or 10000
                value = str(np.datetime_as_string(value, unit="D"))
            if isinstance(value, dt.datetime):
                value = value.date().isoformat()
            self.found.append(DataIssue(where, column, value, reason))

    def whole_table(self, column: str, reason: str) -> None:
        origin = self.df.attrs.get("origin", self.table)
        self.found.append(DataIssue(origin, column, None, reason))


def _mask(bad) -> np.ndarray:
    """A boolean NumPy mask from NumPy, pandas or Arrow (where null counts as false)."""
    if isinstance(bad, (pa.Array, pa.ChunkedArray)):
        return pc.fill_null(bad, False).to_numpy(zero_copy_only=False)
    return np.asarray(bad, dtype=bool)


def _values_at(values, positions: np.ndarray) -> list:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.take(pa.array(positions)).to_pylist()
    if isinstance(values, pd.Series):
        return list(np.asarray(values.iloc[positions], dtype=object))
    return list(np.asarray(values, dtype=object)[positions])


def _arrow(series: pd.Series) -> pa.Array | None:
    """A column as one Arrow array (no copy where pandas holds Arrow data already); None
    for Python objects of mixed types."""
    try:
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _is_text(array: pa.Array) -> bool:
    return pa.types.is_string(array.type) or pa.types.is_large_string(array.type)


def _is_nested(array: pa.Array) -> bool:
    return pa.types.is_nested(array.type)


def _text(raw: pd.Series, array: pa.Array | None = None) -> pa.Array:
    """A column as trimmed text, null where blank (missing, empty or whitespace); ``array``
    is ``_arrow(raw)`` when the caller has it already."""
    array = _arrow(raw) if array is None else array
    if array is not None and pa.types.is_null(array.type):
        return pa.nulls(len(raw), pa.string())
    if array is not None and pa.types.is_date(array.type):
        # dates as a store or Parquet gives them: their ISO text, with no Python object per cell
        return pc.cast(array, pa.string())
    if array is not None and pa.types.is_timestamp(array.type) and array.type.tz is None:
        return pc.cast(pc.cast(array, pa.timestamp("s"), safe=False), pa.string())  # as str(pd.Timestamp)
    if array is None or not (_is_text(array) or pa.types.is_integer(array.type)):
        # Python objects, floats, booleans: the text pandas gives them, as before
        missing = raw.isna().to_numpy()
        rendered = raw.astype(object).where(~missing, None).map(str, na_action="ignore")
        array = pa.array(rendered.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    elif not _is_text(array):
        array = array.cast(pa.string())
    trimmed = pc.utf8_trim_whitespace(array)
    return pc.if_else(pc.equal(pc.utf8_length(trimmed), 0), pa.scalar(None, trimmed.type), trimmed)


def _numbers(array: pa.Array | None, blank: np.ndarray, text: pa.Array) -> np.ndarray:
    """Float64 values, NaN where blank or not a number (``array``: the raw column in Arrow)."""
    if array is not None and (pa.types.is_floating(array.type) or pa.types.is_integer(array.type)):
        values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
    else:
        try:
            values = text.cast(pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # some cell is not a number: pandas names it NaN, and the caller flags it
            values = pd.to_numeric(pd.Series(text.to_numpy(zero_copy_only=False), dtype=object),
                                   errors="coerce").to_numpy(dtype="float64")
    values = np.array(values, dtype="float64")
    values[blank] = np.nan
    return values


_FIRST_DAY, _LAST_DAY = np.datetime64("0001-01-01", "s"), np.datetime64("9999-12-31", "s")


def _dates(raw: pd.Series, array: pa.Array | None, text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Day-resolution datetime64[s] values and where a non-blank cell is not an ISO date."""
    typed = array is not None and (pa.types.is_date(array.type) or
                                   (pa.types.is_timestamp(array.type) and array.type.tz is None))
    if typed:  # dates or naive timestamps (Python dates read back from a store are dates in Arrow)
        days = pc.cast(array, pa.date32(), safe=False)
        parsed = pc.cast(days, pa.timestamp("s"))
        return parsed.to_numpy(zero_copy_only=False).astype("datetime64[s]"), np.zeros(len(raw), bool)
    # ISO dates only: Arrow would also take "2024-1-5" and roll "2021-02-30" over to March,
    # so a date must match the pattern and print back as written; seconds span years 1 to 9999.
    iso = pc.match_substring_regex(text, r"^\d{4}-\d{2}-\d{2}$")
    candidates = pc.if_else(iso, text, pa.scalar(None, text.type))
    parsed = pc.strptime(candidates, format="%Y-%m-%d", unit="s", error_is_null=True)
    parsed = pc.if_else(pc.equal(pc.cast(pc.cast(parsed, pa.date32()), pa.string()), candidates),
                        parsed, pa.scalar(None, parsed.type))
    bad = pc.and_(pc.is_valid(text), pc.is_null(parsed))
    return parsed.to_numpy(zero_copy_only=False).astype("datetime64[s]"), _mask(bad)


def _objects(text: pa.Array) -> np.ndarray:
    return text.to_numpy(zero_copy_only=False).astype(object, copy=False)


def _coded(text: pa.Array, allowed) -> tuple[np.ndarray, np.ndarray]:
    """Values as shared Python strings from ``allowed``, and where a cell is outside it."""
    allowed = list(allowed)
    codes = pc.index_in(text, value_set=pa.array(allowed, type=pa.string()))
    outside = _mask(pc.and_(pc.is_valid(text), pc.is_null(codes)))
    table = np.array([*allowed, None], dtype=object)
    return table[pc.fill_null(codes, len(allowed)).to_numpy(zero_copy_only=False)], outside


def _coerce(df: pd.DataFrame, spec: TableSpec, model: Model, issues: _Issues) -> tuple[pd.DataFrame, dict]:
    """The declared columns, coerced, and their text as Arrow arrays (for the checks that follow)."""
    out, texts = {}, {}
    for col in spec.columns:
        raw = df[col.name] if col.name in df.columns else pd.Series([None] * len(df), dtype=object)
        array = _arrow(raw)
        refused = None  # a column whose cells are not single values: flagged once, then read as empty
        if array is not None and _is_nested(array):
            refused = "is a list; a cell holds one value"
        elif array is not None and (pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type)):
            refused = "is binary data, not text (store it as a UTF-8 string column)"
        if refused:
            issues.flag(pc.is_valid(array), col.name, refused, array)
            array, raw = None, pd.Series([None] * len(df), dtype=object)
        if col.type in ("fraction", "positive") and array is not None and pa.types.is_floating(array.type):
            # numbers as numbers: their text is read only for blank cells (null) and its length
            text = pc.cast(array, pa.string())
        else:
            text = _text(raw, array)
        long = pc.greater(pc.utf8_length(text), MAX_TEXT)
        if pc.any(long).as_py():  # named by its first 40 characters: the message stays one line
            issues.flag(long, col.name, f"is longer than {MAX_TEXT:,} characters (its start is shown)",
                        pc.utf8_slice_codeunits(text, 0, 40))
        texts[col.name] = text
        blank = _mask(pc.is_null(text))
        if col.required and not refused:
            issues.flag(blank, col.name, "is required but empty", raw)
        if col.type in ("fraction", "positive"):
            values = _numbers(array, blank, text)
            issues.flag(~blank & np.isnan(values), col.name, "is not a number", raw)
            out[col.name] = values
        elif col.type == "date":
            values, bad = _dates(raw, array, text)
            issues.flag(bad, col.name, "is not a date (YYYY-MM-DD)", raw)
            # Python's dates, which every reader and store goes through, start in year 1: a year
            # 0000 that Arrow parses would fail later, in the store, with no file or line.
            outside = (values < _FIRST_DAY) | (values > _LAST_DAY)
            issues.flag(outside, col.name, "is outside the dates a store holds (0001-01-01 to 9999-12-31)", raw)
            out[col.name] = np.where(outside, np.datetime64("NaT"), values)
        elif col.type.startswith("enum:"):
            allowed = model.enums[col.type.removeprefix("enum:")]
            out[col.name], outside = _coded(text, allowed)
            issues.flag(outside, col.name, f"is not one of {', '.join(allowed)}", raw)
        elif col.type == "link_type":
            out[col.name], outside = _coded(text, model.links)
            issues.flag(outside, col.name, f"is not a link type ({', '.join(model.links)})", raw)
        elif col.type == "ref":
            out[col.name] = None  # filled by _check_refs from the entity ids it looks them up in
        else:
            out[col.name] = _objects(text)
    return out, texts


def _frame(columns: dict, spec: TableSpec, attrs: dict, lines: np.ndarray | None) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({c.name: pd.Series(columns[c.name], dtype=c.dtype, copy=False) for c in spec.columns},
                         index=pd.RangeIndex(n))
    frame.attrs.update(attrs)
    if lines is not None:
        frame.attrs["lines"] = LineNumbers(lines)
    return frame


def _duplicated(text: pa.Array) -> np.ndarray:
    """True for each non-null value seen in an earlier row, hashing each value once.

    Dictionary codes are numbered in order of first appearance, so a row holds a value's
    first occurrence exactly where its code exceeds every code before it."""
    codes = pc.fill_null(pc.dictionary_encode(text).indices, -1).to_numpy(zero_copy_only=False)
    seen = np.maximum.accumulate(codes) if len(codes) else codes
    first = np.empty(len(codes), dtype=bool)
    first[:1] = True
    first[1:] = seen[1:] > seen[:-1]
    first &= codes >= 0
    return ~first & (codes >= 0)


def _check_ranges(columns: dict, texts: dict, spec: TableSpec, issues: _Issues) -> None:
    for col in spec.columns:
        values = columns[col.name]
        if col.type == "fraction":
            bad = (values < 0) | (values > 1)

            def outside(bad):
                if "type" not in columns:
                    return "outside [0, 1]"
                return f"outside [0, 1] ({', '.join(sorted({t for t in columns['type'][bad] if t is not None}))})"
            issues.flag(bad, col.name, outside, values)
        elif col.type == "positive":
            issues.flag((values <= 0) | np.isinf(values), col.name, "must be > 0", values)
    if spec.key:
        issues.flag(_duplicated(texts[spec.key]), spec.key, "is a duplicate id")
    if "start" in columns and "end" in columns:
        issues.flag(columns["end"] < columns["start"], "end", "is before start")
    if "repair_from" in columns:
        issues.flag(columns["repair_from"] < columns["start"], "repair_from", "is before start")


class _HashedIds:
    """Ids (Arrow text), added a part at a time, and their 64-bit hashes kept sorted with each
    one's row (12 to 16 bytes an id), to find a value's row by searching its hash and then
    comparing the texts. A part's sorted hashes are merged in by a stable sort, which Timsort
    does in linear time on two sorted runs; among equal hashes the first row stays first, so an
    id given twice is found at its first row, as ``index_in`` finds it.

    Examples
    --------
    >>> ids = _HashedIds()
    >>> ids.add(pa.array(["a", "b"], pa.large_string()))
    >>> ids.add(pa.array(["c", "a"], pa.large_string()))
    >>> ids.find(pa.array(["a", "c", "z", None], pa.large_string())).tolist()
    [0, 2, -1, -1]
    """

    def __init__(self):
        self.parts: list[pa.Array] = []
        self.hashes, self.rows = np.zeros(0, np.uint64), np.zeros(0, np.int64)

    def add(self, ids: pa.Array) -> None:
        from graphscore.hashing import text_hashes

        hashes = text_hashes(ids)
        order = np.argsort(hashes, kind="stable")
        hashes = np.concatenate([self.hashes, hashes[order]])
        rows = np.concatenate([self.rows, order + len(self.rows)])
        merged = np.argsort(hashes, kind="stable")
        self.hashes, self.rows = hashes[merged], rows[merged]
        self.parts.append(ids)

    def find(self, probe: pa.Array) -> np.ndarray:
        """The row of each value (-1 where not found or missing)."""
        from graphscore.hashing import text_hashes

        hashes, rows = self.hashes, np.full(len(probe), -1, dtype=np.int64)
        if not len(hashes) or not len(probe):
            return rows
        wanted = text_hashes(probe)
        # searched in ascending order: each search starts where the last ended (4-9x faster)
        ascending = np.argsort(wanted)
        at = np.empty(len(wanted), dtype=np.int64)
        at[ascending] = np.minimum(np.searchsorted(hashes, wanted[ascending]), len(hashes) - 1)
        hit = np.flatnonzero((hashes[at] == wanted) & probe.is_valid().to_numpy(zero_copy_only=False))
        rows[hit] = self.rows[at[hit]]
        # a hash is not the id: the texts themselves must be equal; where two ids share a hash
        # (odds about n^2 / 2^65), the rare values left are looked up by text
        ids = pa.chunked_array(self.parts, type=probe.type)
        other = hit[~pc.equal(probe.take(hit), ids.take(rows[hit])).to_numpy(zero_copy_only=False)]
        if len(other):
            found = pc.fill_null(pc.index_in(probe.take(other), value_set=ids.combine_chunks()), -1)
            rows[other] = found.to_numpy(zero_copy_only=False)
        return rows


class _Entities:
    """Entity ids hashed once, for every lookup of links' ends and penalties' entities."""

    def __init__(self, columns: dict, texts: dict, known: pd.DataFrame | None, hashed: "_HashedIds | None" = None):
        ids, objects, kinds = texts["id"], columns["id"], columns["kind"]
        if known is not None and len(known):
            # ids of this input come first: the first match wins, so its kinds override the store's
            ids = pa.concat_arrays([ids.cast(pa.large_string()), _text(known["id"]).cast(pa.large_string())])
            objects = np.concatenate([objects, known["id"].to_numpy(dtype=object)])
            kinds = np.concatenate([kinds, known["kind"].to_numpy(dtype=object)])
        self.ids, self.objects = ids, objects
        # kinds as small codes: a streamed load keeps them for 10^7 entities (a Categorical there)
        codes, self.kind_values = pd.factorize(pd.Series(kinds, dtype="category" if isinstance(kinds, pd.Categorical)
                                                         else object))
        self.kind_codes = np.append(codes, -1).astype(np.int8 if len(self.kind_values) < 127 else np.int32)
        # row -1: an unknown id has no kind
        self._hashed = hashed  # the ids' hashes, sorted: made at the first lookup when not given

    def find(self, *texts: pa.Array) -> list[np.ndarray]:
        """Row of each value among the entities (-1 where unknown or missing; the first row of
        an id given twice), one lookup for all (:class:`_HashedIds`: Arrow's ``index_in``
        hashes every id again at each call, 2 s for 3.2x10^6 ids, which a streamed load pays
        per chunk of links)."""
        if self._hashed is None:
            self._hashed = _HashedIds()
            self._hashed.add(self.ids)
        probe = pa.chunked_array([t.cast(self.ids.type) for t in texts], type=self.ids.type).combine_chunks()
        rows = self._hashed.find(probe)
        return np.split(rows, np.cumsum([len(t) for t in texts])[:-1])

    def values(self, rows: np.ndarray, text: pa.Array) -> np.ndarray:
        """The ids as shared Python strings (the text itself where an id is unknown)."""
        found = self.objects[rows] if len(self.objects) else np.full(len(rows), None, dtype=object)
        return found if (rows >= 0).all() else np.where(rows >= 0, found, _objects(text))


class StoredKeys:
    """What a streamed load into a store with content checks its input against: the stored
    entities' ids and kinds (links and penalties may refer to them; a reload may not change
    a kind) and the stored penalties' ids and entities (a reload may not move a penalty).
    Ids as Arrow text, looked up by their hashes (:class:`_HashedIds`), no Python string each.

    Examples
    --------
    >>> stored = StoredKeys(pa.array(["a", "b"]), np.array(["person", "company"], dtype=object),
    ...                     pa.array(["x"]), pa.array(["a"]))
    >>> stored.entity_rows(pa.array(["b", "z"])).tolist(), stored.penalty_rows(pa.array(["x"])).tolist()
    ([1, -1], [0])
    """

    def __init__(self, entity_ids: pa.Array, entity_kinds: np.ndarray, penalty_ids: pa.Array,
                 penalty_entities: pa.Array):
        self.entity_ids = entity_ids.cast(pa.large_string())
        self.entity_kinds = entity_kinds
        self.penalty_entities = penalty_entities.cast(pa.large_string())
        self._entities, self._penalties = _HashedIds(), _HashedIds()
        self._entities.add(self.entity_ids)
        self._penalties.add(penalty_ids.cast(pa.large_string()))

    def entity_rows(self, ids: pa.Array) -> np.ndarray:
        """The stored row of each id (-1: not stored)."""
        return self._entities.find(ids.cast(pa.large_string()))

    def penalty_rows(self, ids: pa.Array) -> np.ndarray:
        return self._penalties.find(ids.cast(pa.large_string()))


def _check_links(columns: dict, texts: dict, rows: dict, entities: _Entities, model: Model,
                 issues: _Issues, *, records: bool = True) -> None:
    """The rules of links; ``records``: also look for repeated link records among these rows
    (a streamed load looks across its chunks instead, :class:`ValidatedStream`)."""
    for end in ("source", "target"):
        issues.flag(pc.is_valid(texts[end]).to_numpy(zero_copy_only=False) & (rows[end] < 0),
                    end, "is not a known entity id")
    same = pc.equal(texts["source"], texts["target"])
    issues.flag(same, "target", "equals source (self-link)")
    names = list(model.links)
    type_codes = pc.fill_null(pc.index_in(texts["type"], value_set=pa.array(names, texts["type"].type)), -1).to_numpy()
    end_kinds = {end: entities.kind_codes[rows[end]] for end in ("source", "target")}
    for code, link in enumerate(model.links.values()):
        of_type = type_codes == code
        if not of_type.any():
            continue
        for end, allowed in (("source", link.source_kinds), ("target", link.target_kinds)):
            kind = end_kinds[end]
            permitted = np.append(np.isin(entities.kind_values.to_numpy(dtype=object), allowed), True)
            bad = of_type & (kind >= 0) & ~permitted[kind]

            def reason(bad, end=end, allowed=allowed, link=link):
                found = np.asarray(entities.kind_values, dtype=object)[entities.kind_codes[rows[end][bad]]]
                return f"is a {'/'.join(sorted(set(found)))}, but {link.name} {end}s must be {' or '.join(allowed)}"
            issues.flag(bad, end, reason)
        if link.role_enum:
            allowed = model.enums[link.role_enum]
            bad = pc.invert(pc.is_in(texts["role"], value_set=pa.array(allowed, type=texts["role"].type)))
            issues.flag(of_type & _mask(pc.and_(pc.is_valid(texts["role"]), bad)),
                        "role", f"is not one of {', '.join(allowed)} ({link.name})")
    # a link whose type is not known was reported already: its share says nothing more
    not_owns = (type_codes != names.index("OWNS")) & (type_codes >= 0)
    for column in ("share", "share_low", "share_high"):
        issues.flag(not_owns & ~np.isnan(columns[column]), column, "is only allowed on OWNS links")
    issues.flag(columns["share_low"] > columns["share_high"], "share_low", "is above share_high")
    if records and not issues.full:
        # a start that is not a date was reported already: it makes no key to compare
        unreadable = np.isnat(columns["start"]) & _mask(pc.is_valid(texts["start"]))
        issues.flag(_repeated_records(columns, texts, rows, type_codes) & ~unreadable, "start",
                    "repeats a link record (same type, ends, role, start and source_ref)")


def _relation_hashes(type_codes: np.ndarray, rows: dict, start: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each link's type, ends (entity rows) and start: equal for equal keys."""
    mixed = np.zeros(len(type_codes), dtype=np.uint64)
    for i, part in enumerate((type_codes, rows["source"], rows["target"], start.view(np.int64))):
        # multiplying by distinct odd constants (splitmix64's) keeps equal tuples equal, mixes the rest
        mixed ^= part.astype(np.uint64) * np.uint64((0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9,
                                                     0x94D049BB133111EB, 0xD6E8FEB86659FD93)[i])
        mixed = (mixed << np.uint64(13)) | (mixed >> np.uint64(51))
    return mixed


def _repeated_records(columns: dict, texts: dict, rows: dict, type_codes: np.ndarray) -> np.ndarray:
    """Where a link's key (:func:`link_keys`) is that of an earlier link.

    Only links of one type between the same entities starting the same day can share a key,
    so keys are built and compared for those few alone, found by hashing four integers."""
    mixed = _relation_hashes(type_codes, rows, columns["start"])
    candidates = np.flatnonzero(pd.Series(mixed).duplicated(keep=False).to_numpy())
    repeated = np.zeros(len(type_codes), dtype=bool)
    if len(candidates):
        at = pa.array(candidates)
        keys = _link_key_text(*(texts[c].take(at) for c in LINK_KEY_COLUMNS[:4]),
                              columns["start"][candidates], texts["source_ref"].take(at))
        repeated[candidates] = _duplicated(keys)
    return repeated


def _warn_overfull_assets(links: pd.DataFrame, source: np.ndarray, target: np.ndarray) -> None:
    """Warn where the stakes recorded in one asset add up past 100 % at some date
    (:func:`_overfull_assets`)."""
    _warn_overfull(_overfull_assets(links, source, target), links.attrs.get("origin", "links"))


def _overfull_assets(links: pd.DataFrame, source: np.ndarray, target: np.ndarray,
                     names: pa.Array | None = None) -> list[tuple[str, str]]:
    """The assets whose recorded stakes add up past 100 % at some date: (id, what is wrong).

    ``source`` and ``target`` are the ends' entity rows, so grouping hashes integers, not ids.
    ``names``: the entity ids, when ``links`` names its targets by row (a streamed load keeps
    rows, not 10^7 Python strings)."""
    from graphscore.timeline import active_links  # compiled kernels: loaded only when stakes overflow

    owns = ((links["type"] == "OWNS").to_numpy() & links["share"].notna().to_numpy())
    # Only an asset whose relations' largest stakes sum past 1 can be over-full at some date;
    # the exact check, at every date a record starts or ends, runs on those few alone.
    largest = pd.Series(links["share"].to_numpy()[owns]).groupby([target[owns], source[owns]]).max()
    bound = largest.groupby(level=0).sum()
    assets = pd.unique(links["target"].to_numpy()[owns][np.isin(target[owns], bound.index[bound > 1 + 1e-9])])
    owns = links[owns]
    over = []
    label = (lambda asset: asset) if names is None else (lambda asset: names[int(asset)].as_py())
    for asset in assets:
        records = owns[owns["target"] == asset]
        dates = pd.concat([records["start"], records["end"]]).dropna().unique().tolist()
        for date in sorted([pd.Timestamp.min.ceil("D"), *dates]):
            total = active_links(records, pd.Timestamp(date))["share"].sum()
            if total > 1 + 1e-9:
                over.append((label(asset), f"stakes in {label(asset)} sum to {total:.0%} at {pd.Timestamp(date).date()}"))
                break
    return over


def _warn_overfull(over: list[tuple[str, str]], origin: str) -> None:
    """One warning for the over-full assets found (:func:`_overfull_assets`), the first by id named."""
    if over:
        first = min(over)[1]
        more = f" (and {len(over) - 1} more assets)" if len(over) > 1 else ""
        warnings.warn(f"{origin}: {first}{more}", GraphscoreWarning, stacklevel=4)


def check_against_store(tables: Tables, *, known_entities: pd.DataFrame | None = None,
                        known_penalties: pd.DataFrame | None = None) -> None:
    """For tables :func:`validate` passed already: the rules a store adds, and nothing else
    again (an entity keeps its kind, a penalty its entity).

    Raises
    ------
    InvalidData
        Naming each row that would change a stored record's kind or entity.
    """
    if issues := _check_against_store(dict(tables.items()), known_entities, known_penalties):
        raise InvalidData(issues)


def _check_against_store(checked: dict, known_entities: pd.DataFrame | None,
                         known_penalties: pd.DataFrame | None) -> list[DataIssue]:
    """A reload may update names and dates, not what a record is: an entity's kind, a
    penalty's entity. Changing those would leave stored links or edges that break the model."""
    issues = []
    if known_entities is not None and len(known_entities):
        kinds = _Issues(checked["entities"], "entities")
        stored = checked["entities"]["id"].map(known_entities.set_index("id")["kind"])
        kinds.flag((stored.notna() & (stored != checked["entities"]["kind"])).to_numpy(), "kind",
                   "differs from the kind stored for this id (a reload cannot change it)")
        issues += kinds.found
    if known_penalties is not None and len(known_penalties):
        owners = _Issues(checked["penalties"], "penalties")
        stored = checked["penalties"]["id"].map(known_penalties.set_index("id")["entity"])
        owners.flag((stored.notna() & (stored != checked["penalties"]["entity"])).to_numpy(), "entity",
                    "differs from the entity stored for this penalty id (a reload cannot move it)")
        issues += owners.found
    return issues


def validate(tables: Tables, model: Model | None = None, *,
             known_entities: pd.DataFrame | None = None,
             known_penalties: pd.DataFrame | None = None) -> Tables:
    """Check tables against the model and return them with every declared column, coerced.

    Parameters
    ----------
    tables : Tables
        Raw tables, e.g. from :func:`graphscore.io.read_tables`.
    model : Model, optional
        Defaults to :func:`load_model`.
    known_entities : DataFrame, optional
        Entities already in a store (``id``, ``kind``): links and penalties may refer to them,
        and a row may not change a stored entity's kind.
    known_penalties : DataFrame, optional
        Penalties already in a store (``id``, ``entity``): a row may not move one to another entity.

    Raises
    ------
    InvalidData
        Listing every bad cell: file, line, field, value and reason.
    """
    return _validate({name: [df] for name, df in tables.items()}, model or load_model(),
                     known_entities=known_entities, known_penalties=known_penalties, warn=not tables.validated)


class ChunkPass:
    """A table's chunks, made anew by ``make`` each time they are iterated: one pass of a
    multi-pass reader (FtM, BODS) over its files, as :func:`validate_chunks` takes a table.

    Examples
    --------
    >>> chunks = ChunkPass(lambda: iter([pd.DataFrame({"id": ["a"]})]))
    >>> [len(c) for c in chunks], [len(c) for c in chunks]
    ([1], [1])
    """

    def __init__(self, make: Callable[[], Iterator[pd.DataFrame]]):
        self.make = make

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return self.make()


def validate_chunks(chunks: dict, model: Model | None = None, *,
                    known_entities: pd.DataFrame | None = None,
                    known_penalties: pd.DataFrame | None = None, warn: bool = True) -> Tables:
    """:func:`validate` for tables given as chunks of rows, each coerced and checked on its own
    and dropped before the next is read: a reader's whole raw text is never held beside the
    validated tables. What needs every row (duplicate ids, references, repeated link records)
    is checked once all chunks are in, on the text of the few columns it reads.

    Parameters
    ----------
    chunks : dict
        Table name -> iterable of raw DataFrames (e.g. :func:`graphscore.io.tables.iter_table`),
        each with ``attrs`` ``origin`` and ``lines`` naming its own rows, and the same columns.
        A missing name is an empty table. An iterable may raise :class:`Reread` part-way to
        have its table validated again from other chunks.
    model, known_entities, known_penalties
        As :func:`validate`.
    warn : bool
        Whether to look for data worth a warning (stakes in one asset summing past 100 %);
        not for data checked before, such as a store's content read back.

    Raises
    ------
    InvalidData
        As :func:`validate`: every bad cell, naming file, line and field, before anything is returned.

    Examples
    --------
    >>> first = pd.DataFrame({"id": ["a"], "kind": ["person"], "name": ["A"]})
    >>> second = pd.DataFrame({"id": ["a"], "kind": ["company"], "name": ["B"]})
    >>> for chunk, lines in ((first, [2]), (second, [3])):
    ...     chunk.attrs.update(origin="entities.csv", lines=LineNumbers(lines))
    >>> validate_chunks({"entities": [first, second]})
    Traceback (most recent call last):
    ...
    graphscore.errors.InvalidData: entities.csv:3: id='a' is a duplicate id
    """
    chunks = {name: chunks.get(name, [pd.DataFrame()]) for name in TABLE_NAMES}
    return _validate(chunks, model or load_model(), known_entities=known_entities,
                     known_penalties=known_penalties, warn=warn)


class Reread(Exception):
    """Raised by a reader's chunks when it finds, part-way, that its fast path misreads the
    file (e.g. a quoted field spanning lines, so rows no longer match lines): the table is
    validated again, from ``chunks``."""

    def __init__(self, chunks):
        super().__init__("the table is read again by the exact reader")
        self.chunks = chunks


class RestartLoad(Exception):
    """Raised by a :class:`ValidatedStream` when a reader finds, after chunks of its table were
    handed on (and written), that its fast path misread the file (:class:`Reread`): the load
    starts again, with ``chunks`` for table ``name``."""

    def __init__(self, name: str, chunks):
        super().__init__(f"{name} is read again by the exact reader")
        self.name, self.chunks = name, chunks


@dataclass(frozen=True)
class ValidChunk:
    """Rows of one table that passed every check so far, coerced as :func:`validate` returns
    them; links with their record ``keys`` (:func:`link_key_array`) and the row of each one's
    source among the entities the stream knows (``sources``: the input's, then the store's)."""

    table: str
    frame: pd.DataFrame
    keys: pa.Array | None = None
    sources: np.ndarray | None = None


class ValidatedStream:
    """:func:`validate_chunks` for a load that writes as it reads: each chunk is coerced and
    checked on its own and handed on, and only the keys the checks across chunks need are kept
    (entity and penalty ids as Arrow text, two 64-bit hashes and the start of each link record,
    and the owners' stakes the over-full warning sums), never a whole table.

    Iterating yields :class:`ValidChunk` s, entities first, then links, then penalties, as long
    as no issue was found; once one is, the remaining chunks are checked but no longer yielded,
    and the iteration ends by raising :class:`~graphscore.errors.InvalidData` with every issue,
    as :func:`validate_chunks` would (rows named by file and line, repeated ids and link records
    found across chunks). A consumer that writes what it is given must therefore write where a
    failure leaves nothing behind (a load writes to a copy of the store).

    ``counts`` and ``fingerprint()`` describe the whole content once the iteration is done;
    the fingerprint is that of the tables :func:`validate_chunks` returns (:meth:`Tables.fingerprint`).
    Repeated link records are told by the hash of their key's text and that of their type,
    ends and start: two different keys with both hashes equal (odds about 2^-64 per pair
    sharing type, ends and start) would be refused as a repeat.

    What is kept of each link and each row (the records' hashes, the stakes, the rows' hashes
    for the fingerprint) is written to ``spill``, a folder the iteration makes and removes
    (by default one in the system's temporary folder), in :class:`~graphscore.spill.Buckets`
    read back one at a time at the end of the table: memory holds the entity and penalty ids
    and a chunk, whatever the number of links.

    Examples
    --------
    >>> first = pd.DataFrame({"id": ["a"], "kind": ["person"], "name": ["A"]})
    >>> second = pd.DataFrame({"id": ["a"], "kind": ["person"], "name": ["B"]})
    >>> for chunk, lines in ((first, [2]), (second, [3])):
    ...     chunk.attrs.update(origin="entities.csv", lines=LineNumbers(lines))
    >>> stream = ValidatedStream({"entities": [first, second]})
    >>> [chunk.table for chunk in stream]
    Traceback (most recent call last):
    ...
    graphscore.errors.InvalidData: entities.csv:3: id='a' is a duplicate id
    """

    def __init__(self, chunks: dict, model: Model | None = None, *, warn: bool = True, spill: Path | None = None,
                 stored: StoredKeys | None = None):
        self.model = model or load_model()
        self._stored = stored
        self._chunks = {name: chunks.get(name) for name in TABLE_NAMES}
        self._warn = warn
        self._spill = spill
        self._folder: Path | None = None
        self._fingerprint: str | None = None
        self.counts = dict.fromkeys(TABLE_NAMES, 0)
        self._issues: list[DataIssue] = []
        self._unlisted = 0
        # what a store forbids (a kind changed, a penalty moved), listed after the others as
        # validate() and check_against_store() list them
        self._against_store = _Found()
        self._entities: _Entities | None = None

    def fingerprint(self) -> str | None:
        """The content's fingerprint, once the iteration has passed every chunk (else None)."""
        return self._fingerprint

    def __iter__(self) -> Iterator[ValidChunk]:
        import shutil

        from graphscore.scratch import scratch_folder

        if self._spill is None:
            self._folder = scratch_folder("graphscore-keys-")
        else:
            self._folder = Path(self._spill)
            self._folder.mkdir()
        try:
            self._digest = ContentDigest(self._folder / "rows")
            for name in TABLE_NAMES:
                yield from self._table(name)
            found = self._against_store
            if self._issues or self._unlisted or found.issues or found.unlisted:
                raise InvalidData(self._issues + found.issues, unlisted=self._unlisted + found.unlisted)
            self._fingerprint = self._digest.hexdigest()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)

    def _buckets(self, what: str):
        """New :class:`~graphscore.spill.Buckets` in the iteration's folder (a table read again
        from its first row keeps its rows in new ones)."""
        import tempfile

        from graphscore.spill import Buckets

        return Buckets(tempfile.mkdtemp(prefix=what + "-", dir=self._folder))

    def _table(self, name: str) -> Iterator[ValidChunk]:
        spec = self.model.tables[name]
        source = self._chunks[name]
        chunks, handed = iter([pd.DataFrame()] if source is None else source), 0
        state = _StreamedTable(name)
        while True:
            try:
                df = next(chunks)
            except StopIteration:
                break
            except Reread as reread:
                if handed:
                    raise RestartLoad(name, reread.chunks) from None
                chunks, state = iter(reread.chunks), _StreamedTable(name)  # its issues go with it
                continue
            df = pd.DataFrame() if df is None else df
            if state.attrs is None:  # the first chunk: its columns are every chunk's
                state.attrs = dict(df.attrs)
                if header := _header_issues(df, name, spec):
                    state.found.issues += header
                    state.rows += len(df)
                    break
            chunk = self._check(name, spec, df, state)
            if chunk is not None and not (self._issues or self._unlisted or state.found.issues or state.found.unlisted
                                          or self._against_store.issues or self._against_store.unlisted):
                self._digest.add(name, chunk.frame)
                handed += 1
                yield chunk
            del df, chunk
        if state.attrs is None or not state.rows:  # no rows: the declared columns alone
            self._digest.add(name, empty_table(name, self.model))
        self._finish(name, state)

    def _check(self, name: str, spec: TableSpec, df: pd.DataFrame, state: "_StreamedTable") -> ValidChunk | None:
        """One chunk coerced and checked: against itself, the entities and the chunks before it."""
        coercion = _Issues(df, name)
        columns, texts = _coerce(df, spec, self.model, coercion)
        state.found.add(coercion)
        state.rows += len(df)
        # the reader's own line numbers (a range for Parquet), kept with a links chunk to name a
        # repeat found later; None where they do not name this frame's rows
        lines = df.attrs.get("lines") if LineNumbers.of(df) is not None else None
        ends = {}
        if name == "links":
            ends = dict(zip(("source", "target"), self._entities.find(texts["source"], texts["target"])))
        elif name == "penalties":
            ends = {"entity": self._entities.find(texts["entity"])[0]}
        for column, rows in ends.items():  # a found id's text is the id: no lookup of Python strings
            columns[column] = _objects(texts[column])
        attrs = {key: value for key, value in df.attrs.items() if key != "lines" or lines is not None}
        frame = _frame(columns, spec, attrs, None)
        issues = _Issues(frame, name)
        _check_ranges(columns, texts, spec, issues)
        keys = None
        if spec.key:
            ids = texts[spec.key].cast(pa.large_string())
            # not Arrow's is_in against every earlier id: it hashed them all again per chunk
            earlier = state.ids.find(ids) >= 0
            issues.flag(earlier & ~_duplicated(ids), spec.key, "is a duplicate id")
            state.ids.add(ids)
        if self._stored is not None and name in ("entities", "penalties"):
            against = _Issues(frame, name)
            self._check_against_stored(name, columns, texts, against)
            self._against_store.add(against)
        if name == "entities":
            state.kinds.append(pd.Categorical(columns["kind"]))
        elif name == "links":
            _check_links(columns, texts, ends, self._entities, self.model, issues, records=False)
            keys = self._keep_records(columns, texts, ends, frame, lines, state)
        else:
            issues.flag(pc.is_valid(texts["entity"]).to_numpy(zero_copy_only=False) & (ends["entity"] < 0),
                        "entity", "is not a known entity id")
        state.found.add(issues)
        return ValidChunk(name, frame, keys, ends.get("source") if name == "links" else None)

    def _check_against_stored(self, name: str, columns: dict, texts: dict, issues: "_Issues") -> None:
        """The rules a store adds (:func:`check_against_store`), for one chunk: a row may not
        change a stored entity's kind, nor move a stored penalty to another entity."""
        stored = self._stored
        if name == "entities":
            rows = stored.entity_rows(texts["id"])
            found = np.flatnonzero(rows >= 0)
            bad = np.zeros(len(rows), dtype=bool)
            bad[found] = stored.entity_kinds[rows[found]] != columns["kind"][found]
            issues.flag(bad, "kind", "differs from the kind stored for this id (a reload cannot change it)")
        else:
            rows = stored.penalty_rows(texts["id"])
            found = np.flatnonzero(rows >= 0)
            bad = np.zeros(len(rows), dtype=bool)
            if len(found):
                now = texts["entity"].cast(pa.large_string()).take(pa.array(found))
                bad[found] = ~_mask(pc.equal(now, stored.penalty_entities.take(pa.array(rows[found]))))
            issues.flag(bad, "entity", "differs from the entity stored for this penalty id (a reload cannot move it)",
                        texts["entity"])

    def _keep_records(self, columns: dict, texts: dict, ends: dict, frame: pd.DataFrame, lines,
                      state: "_StreamedTable") -> pa.Array:
        """The chunk's link keys; kept of them, what finds a repeated record in a later chunk,
        and of its stakes what the over-full warning sums."""
        from graphscore.hashing import text_hashes

        names = list(self.model.links)
        type_codes = pc.fill_null(pc.index_in(texts["type"], value_set=pa.array(names, texts["type"].type)),
                                  -1).to_numpy()
        from graphscore.spill import top_bits

        keys = _link_key_text(*(texts[c] for c in LINK_KEY_COLUMNS[:4]), columns["start"], texts["source_ref"])
        readable = np.flatnonzero(~(np.isnat(columns["start"]) & _mask(pc.is_valid(texts["start"]))))
        relation = _relation_hashes(type_codes, ends, columns["start"])[readable]
        if state.records is None:
            state.records = self._buckets("link-records")
        first = state.rows - len(frame)  # the chunk's first row in the table
        state.records.add(top_bits(relation), relation=relation, text=text_hashes(keys.take(readable)),
                          start=columns["start"][readable], row=readable + first)
        state.places.append((frame.attrs.get("origin"), lines, len(frame)))
        if self._warn:
            owns = np.flatnonzero((type_codes == names.index("OWNS")) & ~np.isnan(columns["share"]))
            if state.stakes is None:
                state.stakes = self._buckets("stakes")
            # a stake's asset names its bucket: the over-full check sums the stakes of one asset
            target = ends["target"][owns]
            roles = pa.array(columns["role"][owns], type=pa.string(), from_pandas=True)
            state.stakes.add(target % state.stakes.count, source=ends["source"][owns], target=target,
                             role=text_hashes(roles), share=columns["share"][owns],
                             start=columns["start"][owns], end=columns["end"][owns])
        return keys

    def _finish(self, name: str, state: "_StreamedTable") -> None:
        """What needs every chunk of the table: repeated link records, the entities' lookup."""
        if name == "entities":
            if not state.rows:
                state.found.issues.insert(0, DataIssue((state.attrs or {}).get("origin", name), "id", None,
                                                       "no entity rows"))
            ids = pa.concat_arrays(state.ids.parts) if state.ids.parts else pa.array([], pa.large_string())
            state.ids.parts = [ids]  # the ids held once
            kinds = pd.api.types.union_categoricals(state.kinds) if state.kinds else np.zeros(0, dtype=object)
            if self._stored is not None and len(self._stored.entity_ids):
                # the store's entities after the input's: the first match wins, so an entity
                # loaded again has the input's kind (a kind that differs was refused above)
                state.ids.add(self._stored.entity_ids)
                ids = pa.concat_arrays(state.ids.parts)
                # (an empty part's categories have no type of text: left out, not unioned)
                parts = [part for part in (pd.Categorical(kinds), pd.Categorical(self._stored.entity_kinds))
                         if len(part)]
                kinds = pd.api.types.union_categoricals(parts) if len(parts) > 1 else parts[0]
            self._entities = _Entities({"id": None, "kind": kinds}, {"id": ids}, None, hashed=state.ids)
        elif name == "links" and state.records is not None:
            self._flag_repeated_records(state)
            if self._warn and state.stakes is not None and not (self._issues or state.found.issues):
                over = []
                for part in state.stakes:  # each asset's stakes are in one bucket
                    stakes = pd.DataFrame({"type": "OWNS", **part})  # roles as hashes: only compared
                    over += _overfull_assets(stakes, part["source"], part["target"], names=self._entities.ids)
                _warn_overfull(over, (state.attrs or {}).get("origin", "links"))
        self.counts[name] = state.rows
        self._issues += state.found.issues
        self._unlisted += state.found.unlisted

    @staticmethod
    def _flag_repeated_records(state: "_StreamedTable") -> None:
        rows, starts = [np.zeros(0, np.int64)], [np.zeros(0, "datetime64[s]")]
        for part in state.records:  # repeats share their relation hash, so their bucket
            relation, text = part["relation"], part["text"]
            order = np.lexsort((text, relation))  # stable: each group's first row (added first) first
            same = (relation[order][1:] == relation[order][:-1]) & (text[order][1:] == text[order][:-1])
            later = order[1:][same]
            rows.append(part["row"][later])
            starts.append(part["start"][later])
        repeated, start = np.concatenate(rows), np.concatenate(starts)
        order = np.argsort(repeated, kind="stable")
        repeated, start = repeated[order], start[order]
        listed = repeated[: max(0, _MAX_ISSUES - len(state.found.issues))]
        state.found.unlisted += len(repeated) - len(listed)
        bounds = np.cumsum([0] + [n for _, _, n in state.places])
        for at, row in enumerate(listed):
            part = int(np.searchsorted(bounds, row, side="right")) - 1
            origin, lines, _ = state.places[part]
            local = int(row - bounds[part])
            where = (f"links[{row}]" if origin is None else
                     f"{origin}:{local + 2}" if lines is None else f"{origin}:{lines[local]}")
            value = str(np.datetime_as_string(start[at], unit="D")) if not np.isnat(start[at]) else None
            state.found.issues.append(DataIssue(where, "start", value,
                                                "repeats a link record (same type, ends, role, start and source_ref)"))


class _StreamedTable:
    """What a :class:`ValidatedStream` keeps of one table while its chunks go by."""

    def __init__(self, name: str):
        self.name, self.attrs, self.rows, self.found = name, None, 0, _Found()
        self.ids = _HashedIds()  # keys seen so far (entities, penalties)
        self.kinds: list[pd.Categorical] = []
        self.records = None  # Buckets of link records: relation hash, key hash, start, row
        self.places: list[tuple] = []  # per links chunk: origin, lines, rows
        self.stakes = None  # Buckets of OWNS stakes, by asset


def _validate(chunks: dict, model: Model, *, known_entities: pd.DataFrame | None,
              known_penalties: pd.DataFrame | None, warn: bool) -> Tables:
    parts, all_issues, unlisted = {}, [], 0
    for name in TABLE_NAMES:
        table_chunks = chunks[name]
        while True:
            try:
                part = _coerce_table(name, table_chunks, model)
                break
            except Reread as reread:  # the chunks checked so far are dropped with their issues
                table_chunks = reread.chunks
        parts[name] = part
        all_issues += part.issues
        unlisted += part.unlisted

    entities = _Entities(parts["entities"].columns, parts["entities"].texts, known_entities)
    links, link_texts = parts["links"].columns, parts["links"].texts
    penalties, penalty_texts = parts["penalties"].columns, parts["penalties"].texts
    source, target, owner = entities.find(link_texts["source"], link_texts["target"], penalty_texts["entity"])
    links["source"] = entities.values(source, link_texts["source"])
    links["target"] = entities.values(target, link_texts["target"])
    penalties["entity"] = entities.values(owner, penalty_texts["entity"])
    checked = {name: _frame(parts[name].columns, model.tables[name], parts[name].attrs, parts[name].lines)
               for name in TABLE_NAMES}

    links_issues = _Issues(checked["links"], "links")
    _check_links(links, link_texts, {"source": source, "target": target}, entities, model, links_issues)
    penalty_issues = _Issues(checked["penalties"], "penalties")
    penalty_issues.flag(pc.is_valid(penalty_texts["entity"]).to_numpy(zero_copy_only=False) & (owner < 0),
                        "entity", "is not a known entity id")
    all_issues += links_issues.found + penalty_issues.found
    unlisted += links_issues.unlisted + penalty_issues.unlisted
    all_issues += _check_against_store(checked, known_entities, known_penalties)
    if all_issues:
        raise InvalidData(all_issues, unlisted=unlisted)
    if warn:
        _warn_overfull_assets(checked["links"], source, target)
    return Tables(**checked, validated=True)


@dataclass
class _Coerced:
    """One table after :func:`_coerce_table`: its declared columns coerced, the text of the
    columns later checks read, its issues, and its file's attrs and rows' lines."""

    columns: dict
    texts: dict
    issues: list
    unlisted: int
    attrs: dict
    lines: np.ndarray | None


def _checked_texts(name: str, spec: TableSpec) -> set[str]:
    """The columns whose text checks need after coercion: the key, the references and, for
    links, what makes a link record's key (:func:`link_keys`); others' text is dropped."""
    kept = {c.name for c in spec.columns if c.type == "ref"} | ({spec.key} if spec.key else set())
    return kept | (set(LINK_KEY_COLUMNS) if name == "links" else set())


def _coerce_table(name: str, chunks, model: Model) -> _Coerced:
    """Coerce one table chunk by chunk, then check what needs all its rows (:func:`_check_ranges`)."""
    spec = model.tables[name]
    kept = _checked_texts(name, spec)
    pieces, lines, found, attrs, rows = [], [], _Found(), None, 0
    for df in chunks:
        df = pd.DataFrame() if df is None else df
        if attrs is None:  # the first chunk: its columns are every chunk's
            attrs = dict(df.attrs)
            if header := _header_issues(df, name, spec):
                found.issues += header
                rows = len(df)
                break
        issues = _Issues(df, name)
        columns, texts = _coerce(df, spec, model, issues)
        pieces.append((columns, {c: texts[c] for c in kept}))
        lines.append(LineNumbers.of(df))
        rows += len(df)
        found.add(issues)
        del df, columns, texts, issues  # the raw chunk goes before the next is read
    attrs = {} if attrs is None else attrs
    if name == "entities" and rows == 0:
        found.issues.insert(0, DataIssue(attrs.get("origin", name), "id", None, "no entity rows"))
    if not pieces:  # no chunk, or columns the model refuses: an empty table of the declared columns
        empty = empty_table(name, model)
        columns, texts = _coerce(empty, spec, model, _Issues(empty, name))
        pieces, lines = [(columns, {c: texts[c] for c in kept})], [None]
    columns, texts = _concatenate(pieces)
    line_numbers = lines[0] if len(lines) == 1 else _joined_lines(lines)
    if line_numbers is None and len(lines) > 1:
        attrs.pop("lines", None)  # some chunk's rows have no lines: every row is named by position
    # rows keep their lines; a frame whose index no longer names its rows keeps the
    # unusable lines too, so that every message names the row by position instead.
    # References are filled later, from the entities: the range checks read none.
    coerced = pd.DataFrame({c: v for c, v in columns.items() if v is not None}, copy=False)
    coerced.attrs.update(attrs)
    if line_numbers is not None:
        coerced.attrs["lines"] = LineNumbers(line_numbers)
    issues = _Issues(coerced, name)
    _check_ranges(columns, texts, spec, issues)
    del coerced
    found.add(issues)
    return _Coerced(columns, texts, found.issues, found.unlisted, attrs, line_numbers)


class _Found:
    """A table's issues over its chunks: the first ``_MAX_ISSUES`` listed, the rest counted."""

    def __init__(self):
        self.issues, self.unlisted = [], 0

    def add(self, issues: _Issues) -> None:
        room = max(0, _MAX_ISSUES - len(self.issues))
        self.issues += issues.found[:room]
        self.unlisted += issues.unlisted + max(0, len(issues.found) - room)


def _header_issues(df: pd.DataFrame, name: str, spec: TableSpec) -> list[DataIssue]:
    """What is wrong with a table's columns: a required one missing, one the model does not declare."""
    issues = _Issues(df, name)
    if not len(df.columns) and name != "entities":  # e.g. no links file: no links
        return []
    for col in spec.columns:
        if col.required and col.name not in df.columns:
            issues.whole_table(col.name, "required column is missing")
    for col in df.columns:
        if col not in spec.column_names and not str(col).startswith("_"):
            issues.whole_table(str(col), f"unknown column (expected: {', '.join(spec.column_names)})")
    return issues.found


def _joined_lines(lines: list) -> np.ndarray | range | None:
    """The lines of consecutive chunks as one sequence (a range when they are consecutive)."""
    if any(part is None for part in lines):
        return None
    joined = np.concatenate(lines) if lines else np.zeros(0, np.int64)
    if len(joined) and joined[-1] - joined[0] == len(joined) - 1 and (np.diff(joined) == 1).all():
        return range(int(joined[0]), int(joined[-1]) + 1)
    return joined


def _concatenate(pieces: list) -> tuple[dict, dict]:
    """Chunks' coerced columns and kept texts as one table's; one chunk is returned as it is."""
    if len(pieces) == 1:
        return pieces[0]
    columns = {}
    for name, first in pieces[0][0].items():
        parts = [piece[0][name] for piece in pieces]
        columns[name] = None if first is None else np.concatenate(parts)
    texts = {}
    for name in list(pieces[0][1]):
        parts = [piece[1][name] for piece in pieces]
        # past 2 GiB of text, 32-bit offsets overflow: large_string from there on
        size = sum(part.nbytes for part in parts)
        kind = pa.large_string() if size >= 1 << 31 else pa.string()
        texts[name] = pa.chunked_array([part.cast(kind) for part in parts], type=kind).combine_chunks()
        for piece in pieces:
            del piece[1][name]  # each column's chunks go once joined: one column is held twice, not all
    return columns, texts

