"""Link rows kept on disk while a streamed load validates its input, then copied into the store
a relationship table at a time, in order of their source.

Why: LadybugDB 0.22 checkpoints a transaction's copied relationships when it commits, and that
checkpoint rewrites, in each direction, every node group of the relationship table the
transaction touched, with what it held already. A streamed load commits every ``STREAM_ROWS``
rows to bound its memory (:mod:`graphscore.store.ladybug`); copying each chunk of links as it
came (every link type, sources and targets at random) made each commit rewrite every link
table whole, so the commits' time grew with the square of the links (156 of a 324 s load at
10^7 links). Kept by type, a commit rewrites only its type's table; kept by block of source
rows, a commit's forward direction touches only its block's node groups, each written once.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["StagedLinks", "BLOCKS"]

# blocks of source rows a link type is kept in: a commit of STREAM_ROWS rows then spans a few
# blocks of the largest type at 10^7 links (5.8x10^6 rows), and under one at 10^8
BLOCKS = 32
READ_ROWS = 1 << 18  # rows per table handed back: one COPY statement each


class StagedLinks:
    """Arrow tables of link rows appended to files in ``folder``, one per link type and block of
    source rows (``rows`` sources split into ``BLOCKS`` equal ranges), compressed (LZ4), read back
    a type at a time (in ``types``' order), each type's blocks in order, in tables of at most
    ``READ_ROWS`` rows. The folder is made here and removed by :meth:`remove`.

    Examples
    --------
    >>> import tempfile
    >>> staged = StagedLinks(Path(tempfile.mkdtemp()) / "links", ["OWNS", "FAMILY"], rows=4)
    >>> table = pa.table({"from": ["a", "b", "c"], "to": ["b", "c", "a"]})
    >>> staged.add(table, pa.array(["FAMILY", "OWNS", "OWNS"]), np.array([0, 3, 1]))
    >>> [(link_type, part["from"].to_pylist()) for link_type, part in staged]
    [('OWNS', ['c', 'b']), ('FAMILY', ['a'])]
    >>> staged.rows, staged.remove()
    (3, None)
    """

    def __init__(self, folder: Path, types: list[str], *, rows: int):
        self.folder, self.types, self.rows, self.bytes = Path(folder), list(types), 0, 0
        self.folder.mkdir(parents=True)
        self._per_block = max(1, -(-rows // BLOCKS))  # source rows per block, rounded up
        self._writers: dict[tuple[int, int], pa.ipc.RecordBatchStreamWriter] = {}
        self._options = pa.ipc.IpcWriteOptions(compression="lz4")

    def add(self, table: pa.Table, types: pa.Array, sources: np.ndarray) -> None:
        """Rows of ``table``, of link type ``types`` (text) and source row ``sources`` each."""
        codes = pc.index_in(types, value_set=pa.array(self.types, types.type)).to_numpy(zero_copy_only=False)
        files = codes.astype(np.int64) * BLOCKS + np.minimum(sources // self._per_block, BLOCKS - 1)
        order = np.argsort(files, kind="stable")
        bounds = np.searchsorted(files[order], np.arange(len(self.types) * BLOCKS + 1))
        for at in np.flatnonzero(bounds[1:] > bounds[:-1]):
            part = table.take(pa.array(order[bounds[at]:bounds[at + 1]]))
            key = divmod(int(at), BLOCKS)
            writer = self._writers.get(key)
            if writer is None:
                path = self.folder / f"{key[0]:02d}-{key[1]:03d}.arrows"
                writer = self._writers[key] = pa.ipc.new_stream(path, part.schema, options=self._options)
            writer.write_table(part)
        self.rows += len(table)
        self.bytes += table.nbytes

    def __iter__(self) -> Iterator[tuple[str, pa.Table]]:
        """Each type's rows, block by block, as (link type, table); the files are closed first."""
        for writer in self._writers.values():
            writer.close()
        for code, link_type in enumerate(self.types):
            batches, held = [], 0
            for block in range(BLOCKS):
                if (code, block) not in self._writers:
                    continue
                with pa.ipc.open_stream(self.folder / f"{code:02d}-{block:03d}.arrows") as reader:
                    for batch in reader:
                        batches.append(batch)
                        held += batch.num_rows
                        if held >= READ_ROWS:
                            yield link_type, pa.Table.from_batches(batches)
                            batches, held = [], 0
            if batches:
                yield link_type, pa.Table.from_batches(batches)

    def remove(self) -> None:
        for writer in self._writers.values():
            writer.close()
        shutil.rmtree(self.folder, ignore_errors=True)
