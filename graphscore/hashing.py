"""Row hashes of a table, column by column in a compiled kernel: what a fingerprint sorts and digests.

pandas' ``hash_pandas_object`` first factorises every text column (a hash table of 10^7
distinct ids and keys), which made the fingerprint of a 10^7-link registry cost some 20 s of
its load; here each text column is turned into one Arrow buffer and hashed byte by byte in
one pass (4x faster at 10^7 links, measured in benchmarks/scale.py's load).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"id": ["a", "b", None], "share": [0.5, float("nan"), -0.0]})
>>> hashes = row_hashes(frame, ["id", "share"])
>>> len(set(hashes.tolist()))
3
>>> (row_hashes(frame.iloc[[2, 0, 1]], ["id", "share"]) == hashes[[2, 0, 1]]).all()
np.True_
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["row_hashes", "arrow_row_hashes", "text_buffers", "text_hashes"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MISSING = np.uint64(0x6A09E667F3BCC909)  # a missing text: no string of bytes hashes to it by design


@numba.njit(cache=True)
def _mix(x):
    """splitmix64's finaliser (Steele, Lea & Flood 2014): every input bit reaches every output bit."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True, nogil=True)  # the lock is free for the load that hashes beside its write
def _fold_text(rows, offsets, data, valid):
    """Fold each row's text (FNV-1a over its UTF-8 bytes, then its length) into ``rows``."""
    for i in range(rows.size):
        if valid[i]:
            h = np.uint64(0xCBF29CE484222325)
            for j in range(offsets[i], offsets[i + 1]):
                h = (h ^ np.uint64(data[j])) * np.uint64(0x100000001B3)
            h = _mix(h ^ np.uint64(offsets[i + 1] - offsets[i]))
        else:
            h = _MISSING
        rows[i] = _mix(rows[i] * _GOLDEN + h)


@numba.njit(cache=True, nogil=True)
def _fold_words(rows, words):
    """Fold each row's 64-bit value into ``rows``."""
    for i in range(rows.size):
        rows[i] = _mix(rows[i] * _GOLDEN + _mix(words[i]))


def _text_buffers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Offsets, bytes and validity of a column of texts (None and NaN missing); None when
    the column holds anything but text."""
    try:
        array = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return text_buffers(array)


def text_buffers(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (int64, from its first row), UTF-8 bytes and validity of an Arrow text array:
    what the compiled text kernels read (here, and :mod:`graphscore.linkkey`)."""
    array = array.cast(pa.large_string())
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else pa.concat_arrays([array])
    _, offsets, data = array.buffers()
    valid = array.is_valid().to_numpy(zero_copy_only=False)
    return (np.frombuffer(offsets, dtype=np.int64)[:len(array) + 1],
            np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8), valid)


def _words(series: pd.Series) -> np.ndarray:
    """A column of numbers, dates or flags as one 64-bit word a row: every missing value one
    word, -0.0 the word of 0.0. Other columns: pandas' hash of each value."""
    values = series.to_numpy()
    if values.dtype.kind == "f":
        return np.where(np.isnan(values), np.nan, values + 0.0).astype(np.float64).view(np.uint64)
    if values.dtype.kind in "iubmM":
        return values.astype(np.int64 if values.dtype.kind != "u" else np.uint64).view(np.uint64)
    return pd.util.hash_pandas_object(series, index=False).to_numpy()


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A 64-bit hash of each row of ``frame`` over ``columns``, in that order (uint64).

    Equal rows hash equal whatever the frame's index and row order; text compares by its
    UTF-8 bytes, numbers by value (NaN and None both count as missing), dates to the second.
    """
    rows = np.zeros(len(frame), dtype=np.uint64)
    for column in columns:
        series = frame[column]
        text = _text_buffers(series.to_numpy()) if series.dtype == object or pd.api.types.is_string_dtype(series) \
            else None
        if text is not None:
            _fold_text(rows, *text)
        else:
            _fold_words(rows, _words(series))
    return rows


def text_hashes(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash of each text of an Arrow array (uint64): :func:`row_hashes` of one text column.

    Examples
    --------
    >>> hashes = text_hashes(pa.array(["a", "b", "a", None]))
    >>> bool(hashes[0] == hashes[2]), len(set(hashes.tolist()))
    (True, 3)
    """
    rows = np.zeros(len(array), dtype=np.uint64)
    _fold_text(rows, *text_buffers(array))
    return rows


def arrow_row_hashes(table: pa.Table, columns: list[str]) -> np.ndarray:
    """:func:`row_hashes` of an Arrow table holding what a validated frame holds (text, float64,
    ``timestamp[s]`` for ``datetime64[s]``), with no frame made: a row hashes as the same row
    of the validated frame does (nulls as missing).

    Examples
    --------
    >>> frame = pd.DataFrame({"id": ["a", None], "share": [0.5, float("nan")],
    ...                       "start": pd.Series(["2020-01-02", None], dtype="datetime64[s]")})
    >>> table = pa.table({"id": pa.array(["a", None]), "share": pa.array([0.5, None]),
    ...                   "start": pa.array([pd.Timestamp("2020-01-02"), None], pa.timestamp("s"))})
    >>> (arrow_row_hashes(table, ["id", "share", "start"]) == row_hashes(frame, ["id", "share", "start"])).all()
    np.True_
    """
    rows = np.zeros(table.num_rows, dtype=np.uint64)
    for column in columns:
        array = table.column(column)
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) or pa.types.is_null(array.type):
            _fold_text(rows, *text_buffers(array.cast(pa.large_string())))
        else:
            values = array.to_numpy() if array.null_count == 0 else array.to_numpy(zero_copy_only=False)
            if pa.types.is_timestamp(array.type):
                values = values.astype("datetime64[s]")
            _fold_words(rows, _words(pd.Series(values, copy=False)))
    return rows
