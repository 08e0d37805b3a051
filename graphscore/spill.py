"""Rows of fixed-width columns kept on disk in buckets while a stream goes by, read back one
bucket at a time: what a streamed load must remember of each of 10^8 rows (a link record's
hashes, a row's fingerprint hash, an owner's stake) without holding it in memory.

A check that needs every row compares rows within a bucket only (repeated link records share
their hash, so their bucket); holding one bucket at a time bounds its memory by the rows over
the number of buckets. At 10^6 links what a streamed load kept this way was 64 MiB in memory
(24 of link records, 30 of stakes, 10 of row hashes), and grew in proportion.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["Buckets", "BUCKETS", "top_bits"]

BUCKETS = 64  # 10^8 links keep about 3 GB on disk: some 50 MB a bucket read back at a time


def top_bits(hashes: np.ndarray, count: int = BUCKETS) -> np.ndarray:
    """The bucket of each 64-bit hash by its top bits (``count`` a power of two): the buckets
    in order hold the hashes in ascending ranges, so sorting each sorts them all."""
    shift = np.uint64(64 - (count.bit_length() - 1))
    return (hashes >> shift).astype(np.intp) if count > 1 else np.zeros(len(hashes), np.intp)


class Buckets:
    """Rows appended to ``count`` files in ``folder`` (one per bucket), each row to the bucket
    the caller names, read back bucket by bucket in bucket order, each bucket's rows in the
    order they were added. The columns are given by name at the first :meth:`add`; every later
    one gives the same names and types. The folder is the caller's to remove.

    Examples
    --------
    >>> import tempfile
    >>> buckets = Buckets(tempfile.mkdtemp(), count=2)
    >>> buckets.add(np.array([1, 0, 1]), key=np.array([10, 20, 30]), share=np.array([0.5, 0.1, 0.2]))
    >>> buckets.add(np.array([0]), key=np.array([40]), share=np.array([1.0]))
    >>> [part["key"].tolist() for part in buckets], buckets.rows
    ([[20, 40], [10, 30]], 4)
    """

    def __init__(self, folder: str | Path, *, count: int = BUCKETS):
        self.folder, self.count, self.rows = Path(folder), count, 0
        self.folder.mkdir(parents=True, exist_ok=True)
        self._dtype: np.dtype | None = None

    def _path(self, bucket: int) -> Path:
        return self.folder / f"{bucket:04d}.bin"

    def add(self, bucket: np.ndarray, **columns: np.ndarray) -> None:
        """Rows given column by column, ``bucket`` the bucket of each (0 to ``count`` - 1)."""
        if self._dtype is None:
            self._dtype = np.dtype([(name, values.dtype) for name, values in columns.items()])
        rows = np.empty(len(bucket), dtype=self._dtype)
        for name, values in columns.items():
            rows[name] = values
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(self.count + 1))
        for part in np.flatnonzero(bounds[1:] > bounds[:-1]):
            with self._path(int(part)).open("ab") as file:
                rows[order[bounds[part]:bounds[part + 1]]].tofile(file)
        self.rows += len(bucket)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        """Each bucket that holds rows: its columns by name."""
        if self._dtype is None:
            return
        for bucket in range(self.count):
            path = self._path(bucket)
            if path.exists():
                rows = np.fromfile(path, dtype=self._dtype)
                yield {name: rows[name] for name in self._dtype.names}
                del rows
