"""The embedded graph store: LadybugDB (the maintained fork of Kùzu), in process, at one path on disk."""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import ladybug
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphscore.errors import InvalidData, StoreError
from graphscore.model import (LINK_KEY_COLUMNS, TABLE_NAMES, Column, GraphscoreWarning, RestartLoad, StoredKeys,
                              ValidChunk, ValidatedStream, load_model)
from graphscore.policy import Policy
from graphscore.progress import SILENT, Advance, Progress
from graphscore.store import statements
from graphscore.store.base import CypherStore, LoadSummary, Run, record_fingerprint
from graphscore.store.plan import LoadPlan, StoredIndex, arrow_text
from graphscore.store.staging import StagedLinks
from graphscore.store.writeback import VALUES, ScorePlan, record_keys

__all__ = ["LadybugStore"]

DATABASE_FILE = "graph.lbug"
_LOCK_HELD = re.compile(r"Could not set lock on file.*Lock is held by PID (\d+)")
# LadybugDB 0.22's messages for the states a store can be left in (tests/store/test_crash.py makes each)
# the log ends in a transaction that never committed: cut mid-page (a checksum fails) or at a
# page boundary (the reader runs past the end of the log)
_TORN_LOG = re.compile(r"the WAL file is corrupted|Reading past the end of the file \S+\.wal ")
_READ_ONLY_FS = "Read-only file system"
_DISK_FULL = "No space left on device"
_CHECKPOINT_PENDING = "checkpoint recovery is pending"
# Free space a write needs: SPACE_FACTOR x its Arrow payload + SPACE_MARGIN. Measured peaks
# (log, shadow pages and the grown database file together): a load of 30,000 synthetic
# companies 2.75 x its payload, the score write-back 4 x; LadybugDB allocates pages per column
# chunk, so a small load of 1.6 MB took 13 MB.
SPACE_FACTOR = 4
SPACE_MARGIN = 32 << 20
NEXT_SUFFIX = ".next"  # a load's copy of the database file, renamed over it once written
KEYS_SUFFIX = "-keys"  # beside the copy: the folder of what a streamed load keeps of each row
LINKS_SUFFIX = "-links"  # beside the copy: the folder of a streamed load's staged links
# What that folder takes a row: 62.9 MB at its fullest for the 1,347,537 rows of a 10^6-link
# synthetic registry (47 B a row, sampled every 0.5 s), rounded up: a streamed 10^8-link load
# keeps some 6 GB there beside the store's copy, which the free-space check counts.
KEPT_ROW_BYTES = 64
# The schema hash of stores made before the score history had runs (graphscore up to commit
# e3e045c): opened for writing, they are upgraded in place (LadybugStore._upgrade_schema).
_BEFORE_SCORE_RUNS = "7362829415ec5cc5"
# The schema hash of stores whose Entity nodes held the last write-back's scores as properties
# (graphscore up to the branch wb): upgraded in place too, the properties dropped.
_SCORES_ON_ENTITIES = "fc795994e17f5742"
# The schema hash of stores whose score records were keyed by their run's key and the entity's id
# (graphscore up to the branch reckey; writeback.record_keys): upgraded in place too, the runs
# numbered and their records keyed again.
_RUN_KEYED_RECORDS = "e19d7ff5c9ecc5fb"
_EARLIER_SCHEMAS = (_BEFORE_SCORE_RUNS, _SCORES_ON_ENTITIES, _RUN_KEYED_RECORDS)


def _sync(path: Path) -> None:
    """fsync a file or a folder (a rename is durable once its folder is synced)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# A load on the copy of the store: rows per transaction, and LadybugDB's buffer pool, which
# must hold one transaction's pages (a whole 10^6-link load in one transaction ran in a 1 GiB
# pool, ran out of a 512 MiB one and crashed the process in 256 MiB). Each commit checkpoints,
# and a checkpoint costs more the more the database holds: a 10^7-link registry (13.5x10^6
# rows) took 71 s of commits in transactions of 2x10^6 rows (4 GiB pool), 23 s in one
# transaction (12 GiB pool, +5.7 GB resident) and 33 s in two of 8x10^6 (8 GiB pool, +3.6 GB).
LOAD_CHUNK_ROWS = 8_000_000
LOAD_BUFFER_POOL = 8 << 30
# A streamed load (LadybugStore.load_chunks) trades some of that time for memory: transactions
# of STREAM_ROWS rows in a pool of STREAM_BUFFER_POOL, so its peak is that of one transaction
# whatever the registry's size.
STREAM_ROWS = 2_000_000
STREAM_BUFFER_POOL = 2 << 30
# A score write-back of more rows (records) than this rewriting a stored run goes to a copy of the
# store in transactions of this many rows, in a pool of STREAM_BUFFER_POOL; one creating a run
# writes on the store itself (_write_first_run), deleting a killed write-back's records in
# transactions of this many; fewer, in one transaction on the store itself (write_scores).
SCORE_ROWS = 500_000
# A score write-back creating a run of a new policy and date with more records than this copies
# them in on the store itself whatever SCORE_ROWS (_write_first_run): at 10^6 links 319,965
# records by COPY took 3.3 s with their commit where LOAD FROM ... CREATE took 23.7 s with its
# (benchmarks/JOURNAL.md, branch score7). Fewer go in one logged transaction (not measured
# against the COPYs' commits below this size; the threshold only keeps small writes in one).
FIRST_COPY_ROWS = 10_000
# Records a first run copies in by one COPY (then their links by one): each COPY is a transaction
# whose commit checkpoints, so fewer, larger ones cost less. At 10^7 links the 3,196,339 records
# and their links in one COPY each took 27.6 s of CPU with the commits, in two each (STREAM_ROWS)
# 30.2 s (benchmarks/JOURNAL.md, branch storeio); the largest COPY's Arrow table, some 0.4 GB at
# this size, bounds the write-back's memory at 10^8 links.
SCORE_COPY_ROWS = 4_000_000
ARROW_CHUNK_ROWS = 1_000_000  # rows per Arrow batch read back: few batches, bounded memory per batch


def _arrow(frame: pd.DataFrame, columns: list[Column], *, prefix: str = "") -> pa.Table:
    """Columns of a validated table as Arrow, in the order a bulk statement lists them, named
    ``prefix + store name``; dates as DATE (date32), which holds a register's open date
    9999-12-31 where pandas' nanoseconds cannot."""
    arrays = []
    for column in columns:
        values = frame[column.name]
        if pd.api.types.is_datetime64_any_dtype(values):
            array = pa.array(values.to_numpy(dtype="datetime64[s]"), from_pandas=True).cast(pa.date32())
        elif pd.api.types.is_float_dtype(values):
            array = pa.array(values.to_numpy(), from_pandas=True)  # NaN -> null
        else:
            array = arrow_text(values)
        arrays.append(array)
    return pa.table(arrays, names=[prefix + c.store_name for c in columns])


# How link keys are spelled is part of the schema: a store keyed another way would take every
# reloaded link record for a new one. The hash takes the key of one sample link (an OWNS link
# from "a" to "b", nothing else set) as the compiled speller writes it, stated here rather than
# spelled at each open, which loaded the kernel (0.5 s of every command); a test spells
# LINK_KEY_SAMPLE with link_keys and fails when the spelling changes, and with it this text.
LINK_KEY_SAMPLE = {"type": "OWNS", "source": "a", "target": "b", "role": None, "start": None, "source_ref": None}
SAMPLE_KEY = "4:OWNS1:a1:b---"


# the Arrow type of a property no row has (read back as a null column); text (and enums) otherwise
_ARROW_TYPES = {"number": pa.float64(), "fraction": pa.float64(), "positive": pa.float64(), "date": pa.date32()}


def _numbers(column: pa.ChunkedArray) -> np.ndarray:
    """An integer column (no nulls) as one numpy array."""
    return column.to_numpy() if column.num_chunks != 1 else column.chunk(0).to_numpy()


def _ascending(keys: pa.ChunkedArray) -> np.ndarray | None:
    """The order that sorts ``keys`` (text in UTF-8 byte order, as canonical_order sorts), or
    None when they are in order already (a comparison of neighbours: cheaper than a sort)."""
    if len(keys) < 2 or pc.all(pc.less_equal(keys[:-1], keys[1:])).as_py():
        return None
    return pc.sort_indices(keys).to_numpy()


def _spelled_ranks(ids: pa.Array) -> np.ndarray:
    """Each entity's place in the order of its id as a link key spells it (its length in
    characters, a colon, its text: :func:`graphscore.model.link_keys`), for ``ids`` in byte
    order (the entities read back, canonical). Two spelled ids compare by their length's text
    ("10:" before "9:") and then, lengths equal, by the ids: no spelled length is a prefix of
    another's ("1:" and "12:" part at their second character), so the length's text decides
    whenever it differs. So the order is the ids' own, stably regrouped by the text of their
    lengths, and no key is spelled.

    Examples
    --------
    >>> _spelled_ranks(pa.array(["a", "b", "bbbbbbbbbb", "é"])).tolist()  # "10:bbbbbbbbbb" first
    [1, 2, 0, 3]
    """
    lengths = pc.utf8_length(ids).to_numpy(zero_copy_only=False).astype(np.int64)
    distinct = np.unique(lengths)
    by_text = np.zeros(int(distinct.max()) + 1 if len(distinct) else 0, dtype=np.int64)
    by_text[sorted(distinct.tolist(), key=lambda length: f"{length}:")] = np.arange(len(distinct))
    ranks = np.empty(len(lengths), dtype=np.int64)
    ranks[np.argsort(by_text[lengths], kind="stable")] = np.arange(len(lengths))
    return ranks


def _spelled(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A key field of each row as :func:`graphscore.model.link_keys` spells it: its length in
    characters, a colon and its text (dates as ISO text), ``-`` where null or blank."""
    text = column.cast(pa.string()) if not pa.types.is_string(column.type) else column
    text = pc.if_else(pc.equal(pc.utf8_trim_whitespace(text), ""), pa.scalar(None, pa.string()), text)
    length = pc.cast(pc.utf8_length(text), pa.string())
    return pc.fill_null(pc.binary_join_element_wise(length, text, ":"), "-")


def _key_order(part: pa.Table, ends: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """The order that sorts one link type's rows by their keys (what :func:`_ascending` of the
    keys gives), or None when they are in it, and ``ends`` in that order, without reading the
    keys back: a key spells the type, then the source's and the target's ids, then role, start
    and source reference, each field prefix-free, so keys compare field by field. ``ends``: each
    row's two ends as one integer, ``source rank * entities + target rank`` (ranks of
    :func:`_spelled_ranks`); only rows tied on both ends (a relation recorded more than once)
    have the rest of their key spelled and compared. At 10^7 links reading the keys took some
    0.5 GB of text through LadybugDB and their sort 2-3 s."""
    if len(ends) < 2 or (ends[1:] > ends[:-1]).all():
        return None, ends
    order = np.argsort(ends, kind="stable")
    ordered = ends[order]
    tied = np.zeros(len(order), dtype=bool)
    tied[1:] = ordered[1:] == ordered[:-1]
    tied[:-1] |= tied[1:]
    if tied.any():
        rows = order[tied]  # runs of equal ends, each run's positions contiguous
        rest = pa.table({"ends": ordered[tied], **{name: _spelled(part.column(name).take(pa.array(rows)))
                                                   for name in LINK_KEY_COLUMNS[3:]}})
        order[tied] = rows[pc.sort_indices(rest, sort_keys=[(name, "ascending") for name in rest.column_names])
                           .to_numpy()]
    return (None if (order == np.arange(len(order))).all() else order), ordered


def _taken(box: list[pa.Table], order: np.ndarray | None) -> pa.Table:
    """The table in ``box`` (taken out of it: the caller holds it no more) in ``order``, a few
    columns at a time, each column read back let go as soon as it is taken: the table is never
    held twice (at 10^7 links the largest link type read back was some 0.5 GB). The columns of
    one round are taken side by side, one a core (Arrow's take lets go of Python's lock)."""
    table = box.pop()
    if order is None:
        return table
    names, taken = table.column_names, []
    order = pa.array(order)
    width = max(1, min(os.cpu_count() or 1, 4))
    with concurrent.futures.ThreadPoolExecutor(width) as pool:
        for first in range(0, len(names), width):
            chosen = names[first:first + width]
            taken += pool.map(lambda name: pc.take(table.column(name), order), chosen)
            table = table.drop_columns(chosen)
    return pa.table(taken, names=names)


def _joined(chunks: list[pa.Array]) -> pa.Array | pa.ChunkedArray:
    """Chunks of one column as one column, not copied (the chunks of a table read back in parts
    stay its chunks); text past 2 GiB as large_string (32-bit offsets overflow where the cache
    makes it one array)."""
    kind = chunks[0].type
    if kind == pa.string() and sum(chunk.nbytes for chunk in chunks) >= 1 << 31:
        return pa.concat_arrays([chunk.cast(pa.large_string()) for chunk in chunks])
    return chunks[0] if len(chunks) == 1 else pa.chunked_array([chunk.cast(kind) for chunk in chunks], type=kind)


def _typed(tables: pa.Table | list[pa.Table], columns: tuple[Column, ...], given: dict | None = None) -> pa.Table:
    """The declared ``columns`` of a table read back (or of its parts, one after the other), in
    order, each one column (a part's chunks its chunks): enums as text, dates as ``timestamp[s]`` (what ``datetime64[s]``
    frames hold); ``given`` supplies the columns the graph's structure holds (ends, link type)."""
    parts, given = tables if isinstance(tables, list) else [tables], given or {}
    arrays = []
    for column in columns:
        if column.name in given:
            array = given[column.name]
        else:
            array = _joined([chunk for part in parts for chunk in part.column(column.name).chunks])
        if column.type == "date":
            array = array.cast(pa.timestamp("s"))
        arrays.append(array)
    return pa.table(arrays, names=[c.name for c in columns])


def _chunk_steps(chunk: ValidChunk) -> list[tuple[str, dict]]:
    """The bulk statements that copy one validated chunk of entities or penalties in, each with
    its Arrow table (links are staged first: :func:`_link_rows`)."""
    model = load_model()
    frame = chunk.frame
    if chunk.table == "entities":
        return [(statements.copy_entities(model), {"rows": _arrow(frame, statements.copy_columns("entities", model))})]
    columns = statements.copy_columns("penalties", model)
    copy_rows, copy_edges = statements.copy_penalties(model)
    return [(copy_rows, {"rows": _arrow(frame, columns)}),
            (copy_edges, {"edges": _arrow(frame, [Column("entity", "ref"), columns[0]])})]


def _link_rows(chunk: ValidChunk) -> tuple[pa.Table, pa.Array]:
    """A validated chunk of links as the link tables' ``COPY`` takes them (ends, record key,
    properties), and the type of each row."""
    frame = chunk.frame
    keyed = frame.assign(key=pd.Series(pd.arrays.ArrowExtensionArray(chunk.keys), index=frame.index))
    ends = [Column("source", "ref"), Column("target", "ref")]
    return _arrow(keyed, ends + statements.copy_columns("links", load_model())), arrow_text(frame["type"])


def _change_steps(chunk: ValidChunk, index: StoredIndex) -> tuple[list[tuple[str, dict]], ValidChunk | None]:
    """What one validated chunk changes in a store with content (:meth:`StoredIndex.diff`):
    the bulk statements that copy new entities and penalties in and update changed ones by id,
    and for links, those that delete the changed ones by key, and the links to copy in (new and
    changed; no ``MERGE ... SET`` on relationships, as :meth:`LadybugStore._write`)."""
    new, changed = index.diff(chunk)
    frame, model = chunk.frame, load_model()
    if chunk.table == "links":
        types = frame["type"].to_numpy()
        deletes = [(statements.delete_links(link_type, model),
                    {"keys": chunk.keys.take(pa.array(changed[types[changed] == link_type])).to_pylist()})
                   for link_type in model.links if (types[changed] == link_type).any()]
        written = np.sort(np.concatenate([new, changed]))
        copied = ValidChunk("links", frame.iloc[written], chunk.keys.take(pa.array(written)), chunk.sources[written])
        return deletes, copied
    steps = _chunk_steps(ValidChunk(chunk.table, frame.iloc[new])) if len(new) else []
    if len(changed):
        columns = statements.copy_columns(chunk.table, model)
        label = "Entity" if chunk.table == "entities" else "Penalty"
        steps.append((statements.update_nodes(label, columns[1:]),
                      {"rows": _arrow(frame.iloc[changed], columns, prefix="v_")}))
    return steps, None


INPUT_META = "last_input"  # the GraphscoreMeta row of what the last streamed load read (_record_input)


def _record_input(run: Callable, digest: str | None, fingerprint: str, offered: dict) -> None:
    """Record the digest of a load's input files with the fingerprint of the content the load
    left and the rows it was offered (none recorded: no digest); a load of the same bytes into
    that content changes nothing (:meth:`LadybugStore.load_chunks`)."""
    run(statements.DELETE_META, {"key": INPUT_META})
    if digest is not None:
        value = json.dumps({"digest": digest, "fingerprint": fingerprint, "offered": dict(offered)})
        run(statements.CREATE_META, {"key": INPUT_META, "value": value})


class _Unchanged(Exception):
    """A streamed load that found every row stored as it is: its copy of the store is dropped."""


def _schema_hash() -> str:
    text = "\n".join([*statements.ladybug_schema(), SAMPLE_KEY])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# glibc's malloc_trim, where the C library has it (None elsewhere)
_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None) if sys.platform.startswith("linux") else None


def _release_freed_memory() -> None:
    """Give the system back the memory a committed transaction freed. LadybugDB frees the
    buffers of a transaction's COPY at its commit, from its worker threads' malloc arenas,
    which glibc keeps (a streamed 10^7-link load held 1.9 GB freed but kept by its end, and
    more the more it had loaded); Arrow's allocator keeps what the chunks' tables freed."""
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class _Transactions:
    """A runner of statements on the database at ``path`` (opened with a buffer pool of
    ``buffer_pool`` bytes), in transactions: the first statement after a ``commit()`` begins
    the next one. Each transaction has a connection of its own: a LadybugDB 0.22 connection
    keeps every Arrow table given to it as a parameter until it is closed (measured:
    ``pa.total_allocated_bytes()`` grew by each COPY's table and fell to zero only at
    ``Connection.close()``), which held a whole streamed 10^7-link load, 1.8 GB of Arrow.
    And each has a database of its own, opened again after each commit: an open LadybugDB 0.22
    database keeps memory outside its buffer pool that grows with each committed COPY, which
    only closing it gives back (at 10^6 links in transactions of 250,000 rows, the memory
    allocated after each commit rose from 0.29 to 0.36 GB, and stayed at 0.26 GB when it was
    reopened; opening it again took 0.1 s)."""

    def __init__(self, path: Path, rows: int, buffer_pool: int):
        self._path, self._buffer_pool, self._open = path, buffer_pool, False
        self._database = ladybug.Database(str(path), buffer_pool_size=buffer_pool)
        self._connection = ladybug.Connection(self._database)
        self._rows = self._room = rows  # rows a transaction takes, and the open one still takes, before it commits

    @property
    def rows(self) -> int:
        """Rows a transaction takes."""
        return self._rows

    def resize(self, rows: int) -> None:
        """Take ``rows`` rows a transaction from the next one on (the open one commits)."""
        self.commit()
        self._rows = self._room = rows

    def bulk(self, query: str, parameters: dict, advance: Advance | None = None) -> None:
        """One bulk statement over an Arrow table (``parameters``' one value), cut where the
        open transaction has taken its rows, which then commits; ``advance(n)``
        after each ``n`` rows."""
        (name, values), = parameters.items()
        start = 0
        while start < len(values):
            chunk = values[start:start + self._room]
            self(query, {name: chunk})
            start, self._room = start + len(chunk), self._room - len(chunk)
            if advance is not None:
                advance(len(chunk))
            if not self._room:
                self.commit()
                self._room = self._rows

    def __call__(self, query: str, parameters: dict | None = None) -> pd.DataFrame:
        if not self._open:
            self._connection.execute("BEGIN TRANSACTION")
            self._open = True
        return self._connection.execute(query, parameters or {}).get_as_df()

    def commit(self) -> None:
        if self._open:
            self._connection.execute("COMMIT")
            self._open = False
            self.close()  # the parameters the connection kept, and what the database kept
            _release_freed_memory()
            self._database = ladybug.Database(str(self._path), buffer_pool_size=self._buffer_pool)
            self._connection = ladybug.Connection(self._database)

    def close(self) -> None:
        """Close the connection and the database (which checkpoints it)."""
        self._connection.close()
        self._database.close()


class LadybugStore(CypherStore):
    """A LadybugDB database. ``path`` is a ``.lbug`` file, or a folder that holds ``graph.lbug``.

    Parameters
    ----------
    path : str or Path
    read_only : bool
        Open without write access (what ``graphscore cypher`` does, so a query cannot change data).
    create : bool
        Create the store when it does not exist; when false, a missing store is a StoreError
        (a typo in ``--db`` must not score an empty new store).
    wait : float
        Seconds to wait, retrying, while another process holds the store for writing (one
        writer at a time; readers run side by side with it and with each other).
    buffer_pool : int
        Bytes of LadybugDB's buffer pool; 0 for its default (most of the memory), which it
        reserves as it opens: a command that reads a few values asks for less. A store with a
        write-ahead log to replay takes the default all the same.

    Raises
    ------
    StoreError
        If the path is not a LadybugDB database, or one made by another version of the data
        model (``schema/model.toml``), whose tables LadybugDB cannot alter in place; or if
        another process still holds it for writing after ``wait`` seconds.

    Examples
    --------
    >>> import tempfile
    >>> store = LadybugStore(tempfile.mkdtemp())
    >>> store.counts()
    {'entities': 0, 'links': 0, 'penalties': 0}
    >>> store.close()
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, create: bool = True, wait: float = 0.0,
                 buffer_pool: int = 0):
        path = Path(path)
        if path.suffix != ".lbug":
            path = path / DATABASE_FILE
        if not path.exists() and (read_only or not create):
            raise StoreError(f"no graphscore store at {path.parent if path.name == DATABASE_FILE else path}: "
                             "load data first (graphscore load PATH --db DIR)")
        self.created = not path.exists()  # this object makes the store: discard() may remove it
        # the outermost folder this object makes, so discard() removes no folder it did not make
        missing = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
        self._made_from = missing[-1] if missing else None
        if self.created:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create a store at {path.parent}: {exc}") from None
        self.path = path
        self.read_only = read_only
        self._wait = wait
        # a write-ahead log left to replay (a writer killed, or one still at work) is replayed
        # into the buffer pool as the store opens: that takes LadybugDB's default, as before
        if buffer_pool and path.with_name(path.name + ".wal").exists():
            buffer_pool = 0
        self._db = self._open(read_only, wait, buffer_pool)
        self._conn = ladybug.Connection(self._db)
        if not read_only:
            self._remove_copies()  # a load's unfinished copy: the store itself is as it was before that load
        self._check_schema(read_only)

    @property
    def _folder(self) -> Path:
        return self.path.parent if self.path.name == DATABASE_FILE else self.path

    def _open(self, read_only: bool, wait: float, buffer_pool: int = 0) -> ladybug.Database:
        """Open the database, waiting for a writer's lock; a writer rolls back the unfinished
        tail a killed or disk-full commit left in the log (see :meth:`_roll_back_torn_log`)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                # A reader replays the committed transactions only: the unfinished end of a log
                # (a live writer's commit in progress, or a killed one) is not its to judge.
                return ladybug.Database(str(self.path), read_only=read_only, buffer_pool_size=buffer_pool,
                                        throw_on_wal_replay_failure=not read_only)
            except RuntimeError as exc:
                message = str(exc).splitlines()[0]
                holder = _LOCK_HELD.search(message)
                if holder is None:
                    if _TORN_LOG.search(message) and not read_only:
                        return self._roll_back_torn_log()
                    raise StoreError(self._explain(message, read_only)) from None
                if time.monotonic() >= deadline:
                    raise StoreError(f"the store at {self._folder} is locked by another process writing to it "
                                     f"(PID {holder.group(1)}); waited {wait:g} s: try again when it is done, "
                                     "or wait longer with --wait SECONDS") from None
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))

    def _explain(self, message: str, read_only: bool) -> str:
        """LadybugDB's refusal to open, as what it means for the user."""
        folder = self._folder
        if _READ_ONLY_FS in message:
            return (f"cannot write to the store at {folder}: its file system is read-only "
                    "(reading commands such as report, explain and ubo work on it)")
        if _DISK_FULL in message:
            return (f"cannot open the store at {folder}: the disk is full, and the store needs space to "
                    "finish its last checkpoint; free space and run the command again")
        if _CHECKPOINT_PENDING in message:
            return (f"cannot read the store at {folder} yet: a writer is checkpointing it, or a checkpoint was "
                    "interrupted; try again when no command writes to it (a writing command such as "
                    "graphscore load finishes an interrupted checkpoint)")
        if _TORN_LOG.search(message):
            return (f"the store at {folder} has a corrupt write-ahead log ({self.path.name}.wal) that could not be "
                    f"rolled back: {message}")
        return f"{self.path} is not a graphscore store: {message}"

    def _roll_back_torn_log(self) -> ladybug.Database:
        """Open a store whose log ends in a transaction that never committed (its writer was
        killed, or the disk filled, while the log was written), rolling that transaction back.

        LadybugDB commits a transaction by appending it to the log with a COMMIT record and
        syncing the file before it acknowledges the commit; replay stops after the last
        COMMIT record it can read whole. ``throw_on_wal_replay_failure=False`` makes it replay
        every committed transaction and cut the unreadable tail, which can only be the one
        that never committed: exactly a rollback. (Without it, LadybugDB 0.22 refuses to open
        the store at all.) A copy of the log as it was is kept beside the store, as evidence
        of what was rolled back.
        """
        log = self.path.with_name(self.path.name + ".wal")
        kept = self.path.with_name(self.path.name + ".wal.rolled-back")
        try:
            shutil.copyfile(log, kept)
            where = f"the log as it was is kept in {kept.name}"
        except OSError as exc:
            kept.unlink(missing_ok=True)
            where = f"the log could not be kept ({exc.strerror})"
        try:
            database = ladybug.Database(str(self.path), throw_on_wal_replay_failure=False)
        except RuntimeError as exc:
            raise StoreError(self._explain(str(exc).splitlines()[0], False)) from None
        warnings.warn(f"the last write to the store at {self._folder} was interrupted before it committed "
                      f"(its process was killed, or the disk filled): it was rolled back; {where}",
                      GraphscoreWarning, stacklevel=4)
        return database

    def _check_space(self, payload_bytes: int, *, copy: bool = False, kept: int = 0) -> None:
        """Refuse a write the disk cannot hold before it starts: LadybugDB 0.22 aborts the
        whole process (SIGABRT) when the disk fills while it writes its log. ``copy``: the
        write goes to a copy of the store (:meth:`_on_a_copy`), which needs its size too;
        ``kept``: bytes the write keeps on disk beside it (a streamed load's keys of a chunk)."""
        needed = SPACE_FACTOR * payload_bytes + SPACE_MARGIN + kept + (self.path.stat().st_size if copy else 0)
        free = shutil.disk_usage(self._folder).free
        if free < needed:
            raise StoreError(f"not enough free space at {self._folder}: this write needs about "
                             f"{needed / 2**20:,.0f} MiB, {free / 2**20:,.0f} MiB are free; free space or use another --db")

    def _check_schema(self, read_only: bool) -> None:
        expected = _schema_hash()
        tables = set(self._conn.execute("CALL show_tables() RETURN name").get_as_df()["name"])
        if "GraphscoreMeta" not in tables:
            if tables:
                raise StoreError(f"{self.path} is a LadybugDB database, but not a graphscore store")
            if read_only:
                raise StoreError(f"{self.path} is an empty store: load data first")
            for ddl in [*statements.ladybug_schema(),
                        "CREATE NODE TABLE GraphscoreMeta(key STRING PRIMARY KEY, value STRING);"]:
                self._conn.execute(ddl)
            self._conn.execute("CREATE (:GraphscoreMeta {key: 'schema', value: $hash})", {"hash": expected})
            return
        found = self._conn.execute("MATCH (m:GraphscoreMeta {key: 'schema'}) RETURN m.value").get_as_df()
        if not found.empty and found.iloc[0, 0] in _EARLIER_SCHEMAS:
            if read_only:  # everything but the score history reads as it did
                warnings.warn(f"the store at {self._folder} keeps its scores as an earlier graphscore did: "
                              "the next write to it (graphscore load or score) upgrades it; until then "
                              "top_scores and score_rose_since may not run on it", GraphscoreWarning, stacklevel=3)
            else:
                self._upgrade_schema(expected, found.iloc[0, 0])
            return
        if found.empty or found.iloc[0, 0] != expected:
            raise StoreError(f"the store at {self.path} was made for another version of graphscore's data model "
                             "(schema/model.toml); load the data into a new --db")

    def _upgrade_schema(self, schema: str, found: str) -> None:
        """A store of the earlier schema ``found``, to today's ``schema``, all or nothing, DDL
        included (LadybugDB logs DDL as any statement). Made before the score history had runs:
        the ScoreRun table created, the history upgraded (:meth:`_upgrade_score_history`), the
        two per-record columns dropped. Then, as for a store whose Entity nodes held the last
        write-back's scores: the run written last named (:meth:`_last_run_from_history`) and
        the Entity score properties dropped. Then, as for a store whose records were keyed by
        their run's key: the runs numbered, their records keyed again (:meth:`_key_records_again`).

        In one transaction when the store holds no score record; otherwise on a copy of the
        store (:meth:`_on_a_copy`), which rewrites the records in transactions of its own."""
        records = int(self._run("MATCH (s:ScoreRecord) RETURN count(s)").iloc[0, 0])
        writing = (self._on_a_copy(rows=STREAM_ROWS, buffer_pool=STREAM_BUFFER_POOL) if records
                   else self._transaction())
        with writing as run:
            if found == _BEFORE_SCORE_RUNS:
                for ddl in statements.ladybug_schema():  # IF NOT EXISTS: only the ScoreRun table is new
                    run(ddl)
                self._upgrade_score_history(run)
                for column in ("score_policy_hash", "written_at"):  # kept on the run now
                    run(f"ALTER TABLE ScoreRecord DROP {column}")
            if found in (_BEFORE_SCORE_RUNS, _SCORES_ON_ENTITIES):
                self._last_run_from_history(run)
                for column in load_model().scores.columns:  # the last run's records hold them
                    run(f"ALTER TABLE Entity DROP {column.store_name}")
            if found != _BEFORE_SCORE_RUNS:  # there, ScoreRun was made with its number
                number = statements.RUN_NUMBER
                run(f"ALTER TABLE ScoreRun ADD {number.store_name} {statements.ladybug_type(number)}")
            runs = self._number_score_runs(run)
            if records:
                self._key_records_again(run, runs)
            run("MATCH (m:GraphscoreMeta {key: 'schema'}) SET m.value = $hash", {"hash": schema})

    def _key_records_again(self, run: "_Transactions", runs: pd.DataFrame) -> None:
        """The records of ``runs`` (:meth:`_number_score_runs`, every run) keyed by their run's
        number (:func:`~graphscore.store.writeback.record_keys`), on a copy of the store: read,
        their two tables made anew (LadybugDB sets no primary key) and copied in again. Records
        of no run (a killed write-back's, never read) are not kept."""
        columns = statements.score_record_columns()
        values = ", ".join(f"s.{c.store_name} AS `{c.name}`" for c in columns[1:])
        found = run("MATCH (r:ScoreRun) MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord) "
                    "WHERE s.score_policy = r.score_policy AND s.score_as_of = r.score_as_of "
                    f"RETURN r.key AS run, e.id AS id, {values};")
        numbers = found["run"].map(dict(zip(runs["key"], runs["number"])))
        found["key"] = pd.concat([record_keys(int(number), part["id"]) for number, part in found.groupby(numbers)]) \
            if len(found) else pd.Series(dtype=object)
        run("DROP TABLE HAS_SCORE")
        run("DROP TABLE ScoreRecord")
        for ddl in statements.ladybug_schema():  # IF NOT EXISTS: only the two are made
            run(ddl)
        run.commit()  # the COPYs below on the new tables
        copy_records, copy_edges = statements.copy_score_records()
        run.bulk(copy_records, {"rows": _arrow(found, columns)})
        run.bulk(copy_edges, {"edges": _arrow(found, [Column("id", "string"), statements.LINK_KEY])})

    def _run(self, query: str, parameters: dict | None = None) -> pd.DataFrame:
        return self._conn.execute(query, parameters or {}).get_as_df()

    def _write(self, plan: LoadPlan, fingerprint: Callable[[], str], advance: Advance) -> None:
        """New rows by bulk ``COPY``; changed entities and penalties updated in bulk by id;
        changed links deleted by key and copied in again with the new ones. No
        ``MERGE ... SET`` on relationships: LadybugDB corrupts them when it is repeated."""
        model = load_model()
        entity_columns, penalty_columns, link_columns = (
            statements.copy_columns(table, model) for table in ("entities", "penalties", "links"))
        ends = [Column("source", "ref"), Column("target", "ref")]
        entities, penalties, links = plan.entities, plan.penalties, plan.links
        # (statement, parameters, rows it writes), built first so the free space is checked
        # against the whole payload before anything is written
        steps: list[tuple[str, dict, int]] = []
        if len(entities.new):
            steps.append((statements.copy_entities(model), {"rows": _arrow(entities.new, entity_columns)},
                          len(entities.new)))
        if len(entities.changed):
            steps.append((statements.update_nodes("Entity", entity_columns[1:]),
                          {"rows": _arrow(entities.changed, entity_columns, prefix="v_")}, len(entities.changed)))
        if len(penalties.new):
            copy_rows, copy_edges = statements.copy_penalties(model)
            steps.append((copy_rows, {"rows": _arrow(penalties.new, penalty_columns)}, 0))
            steps.append((copy_edges, {"edges": _arrow(penalties.new, [Column("entity", "ref"), penalty_columns[0]])},
                          len(penalties.new)))
        if len(penalties.changed):
            steps.append((statements.update_nodes("Penalty", penalty_columns[1:]),
                          {"rows": _arrow(penalties.changed, penalty_columns, prefix="v_")}, len(penalties.changed)))
        # new and changed links made Arrow once and split by type there: a pandas mask and take
        # per type cost 5 s at 10^7 links
        written = pd.concat([links.new, links.changed]) if len(links.changed) else links.new
        rows, types = _arrow(written, ends + link_columns), arrow_text(written["type"])
        for link_type in model.links:
            changed = links.changed["key"][links.changed["type"] == link_type]
            if len(changed):
                steps.append((statements.delete_links(link_type, model), {"keys": changed.tolist()}, 0))
            of_type = rows.filter(pc.equal(types, link_type))
            if len(of_type):
                steps.append((statements.copy_links(link_type, model), {"rows": of_type}, len(of_type)))
        self._check_space(sum(v.nbytes for _, parameters, _ in steps for v in parameters.values()
                              if isinstance(v, pa.Table)), copy=True)
        with self._on_a_copy() as run:
            for query, parameters, rows in steps:
                run.bulk(query, parameters, advance if rows else None)
            record_fingerprint(run, fingerprint())

    def load_chunks(self, chunks: dict, *, progress: Progress = SILENT, digest: str | None = None) -> LoadSummary | None:
        """Load tables given as chunks of raw rows (:func:`graphscore.io.tables.iter_tables`,
        :func:`graphscore.io.ftm.iter_ftm`), each chunk validated and written as it is read:
        memory holds a chunk and the keys the checks across chunks need
        (:class:`~graphscore.model.ValidatedStream`), never a whole table.

        Into an empty store every row is copied in. Into a store with content, the stored keys
        and row hashes are read back first (:meth:`_stored_index`: some 16 bytes a link, and
        the ids); each chunk is then diffed by key (:class:`~graphscore.store.plan.StoredIndex`):
        new rows copied in, changed ones rewritten, unchanged ones skipped; links and penalties
        may refer to stored entities, and a row may not change a stored entity's kind or a
        stored penalty's entity. A load that changes nothing leaves the store file as it was.
        Returns None, having read no input, when the store records no fingerprint of its
        content (a ``cypher --write`` drops it): :meth:`load` validates the store's rows again.

        The guarantees of :meth:`load` hold: the rows go to a copy of the store that replaces it
        only once every chunk has passed and been written (:meth:`_on_a_copy`), so an error in
        any chunk, reported with every other (file, line, field), or a process killed at any
        point, leaves the store as it was; the fingerprint of the content is recorded with it.
        The summary carries no tables (``tables`` None): a command reads them back from the store.

        ``digest`` (:func:`graphscore.io.digest.input_digest` of the files the chunks are read
        from) is recorded with the content; offered again while the store still holds the
        content that load left (its fingerprint), the same bytes are not read at all: loading
        them again would change nothing (a load is idempotent), and the summary says so.

        Raises
        ------
        InvalidData
            Every bad cell, the store unchanged.
        StoreError
            If the store refuses a statement or the disk is short of space; the store unchanged.
        """
        recorded = self.data_fingerprint()
        last = self._last_input()
        if digest is not None and recorded is not None and last is not None \
                and last["digest"] == digest and last["fingerprint"] == recorded:
            offered = last["offered"]
            return LoadSummary(offered=offered, stored=self.counts(), tables=None, fingerprint=recorded,
                               written={name: {"new": 0, "changed": 0, "unchanged": n} for name, n in offered.items()})
        index = None
        if self.counts()["entities"]:
            with progress.step("reading the stored keys", "read the stored keys"):
                index = self._stored_index()
            if index is None:
                return None
        while True:
            # what the checks across chunks keep goes beside the copy (removed with it after a kill)
            stream = ValidatedStream(chunks, spill=self.path.with_name(self.path.name + NEXT_SUFFIX + KEYS_SUFFIX),
                                     stored=None if index is None else index.keys)
            try:
                self._write_stream(stream, progress, index, recorded, digest)
            except RestartLoad as restart:  # a table read again, from its first row, on a new copy
                chunks = {**chunks, restart.name: restart.chunks}
                continue
            except _Unchanged:  # every row stored as it is: the store was not replaced
                if digest is not None:  # but it notes these bytes (a row of its own, through the log)
                    with self._transaction() as run:
                        _record_input(run, digest, recorded, stream.counts)
            except (InvalidData, StoreError):
                raise
            except Exception as exc:  # a driver error of any kind: the copy was dropped
                raise StoreError(f"load rolled back, store unchanged: {exc}") from exc
            break
        if index is None:
            written = {name: {"new": n, "changed": 0, "unchanged": 0} for name, n in stream.counts.items()}
            fingerprint = stream.fingerprint()
        else:
            written, fingerprint = index.written, index.fingerprint()
        return LoadSummary(offered=dict(stream.counts), stored=self.counts(), tables=None, written=written,
                           fingerprint=fingerprint)

    def _stored_index(self) -> StoredIndex | None:
        """What a streamed load keeps of the stored rows (:class:`~graphscore.store.plan.StoredIndex`),
        read back a table (links: a type) at a time through the Arrow path of
        :meth:`read_content`; None when the store records no fingerprint of its content, or
        one its rows do not hash to (the content was then written outside a load, and is
        validated again by the whole-table path)."""
        from graphscore.hashing import arrow_row_hashes, text_hashes

        recorded = self.data_fingerprint()
        if recorded is None:
            return None
        model = load_model()
        reads = statements.arrow_reads(model)
        columns = {name: sorted(c.name for c in model.tables[name].columns) for name in TABLE_NAMES}
        entities = self._read_arrow(reads["entities"][0])
        offsets = _numbers(entities.column(statements.ENTITY_ROW))
        row_of = np.zeros(int(offsets.max()) + 1 if len(offsets) else 0, dtype=np.int64)  # node offset -> row
        row_of[offsets] = np.arange(len(offsets))
        entities = _typed(entities, model.tables["entities"].columns)
        ids = entities.column("id").combine_chunks()
        kinds = entities.column("kind").to_numpy(zero_copy_only=False).astype(object)
        hashes = {"entities": arrow_row_hashes(entities, columns["entities"])}
        del entities
        links, keys = [], []
        for link_type, read in zip(model.links, reads["links"]):
            part = self._read_arrow(read)
            given = {"type": pa.array(np.full(part.num_rows, link_type, dtype=object), pa.string())}
            for column, end in (("source", statements.ENTITY_ROW), ("target", statements.TARGET_ROW)):
                given[column] = ids.take(pa.array(row_of[_numbers(part.column(end))]))
            links.append(arrow_row_hashes(_typed(part, model.tables["links"].columns, given), columns["links"]))
            keys.append(text_hashes(part.column("key")))
            del part, given
        hashes["links"] = np.concatenate(links) if links else np.zeros(0, np.uint64)
        penalties = self._read_arrow(reads["penalties"][0])
        owners = ids.take(pa.array(row_of[_numbers(penalties.column(statements.ENTITY_ROW))]))
        penalties = _typed(penalties, model.tables["penalties"].columns, {"entity": owners})
        hashes["penalties"] = arrow_row_hashes(penalties, columns["penalties"])
        index = StoredIndex(StoredKeys(ids, kinds, penalties.column("id").combine_chunks(), owners), hashes,
                            np.concatenate(keys) if keys else np.zeros(0, np.uint64))
        return index if index.fingerprint() == recorded else None

    def _last_input(self) -> dict | None:
        """What the last load recorded of its input (:func:`_record_input`), or None."""
        found = self._run(statements.READ_META, {"key": INPUT_META})
        return None if found.empty else json.loads(found.iloc[0, 0])

    def _write_stream(self, stream: ValidatedStream, progress: Progress, index: StoredIndex | None = None,
                      recorded: str | None = None, digest: str | None = None) -> None:
        """Each chunk ``stream`` hands on, written (on a copy of the store) before the next is
        read; into a store with content, only what it changes (``index``, :func:`_change_steps`).
        Links are kept on disk beside the copy (:class:`~graphscore.store.staging.StagedLinks`)
        and copied in once the stream has passed every chunk, a link type at a time in order of
        their source: a commit then rewrites its own type's table only (see that module).
        Raises :class:`_Unchanged`, the copy dropped, when it changes nothing."""
        self._check_space(0, copy=True)
        if index is not None:
            index.reset()
        model, staged = load_model(), None
        with self._on_a_copy(rows=STREAM_ROWS, buffer_pool=STREAM_BUFFER_POOL) as run:
            try:
                with progress.step("reading, validating and writing the input",
                                   "read, validated and wrote the input") as advance:
                    for chunk in stream:
                        if index is None:
                            steps, links = ([], chunk) if chunk.table == "links" else (_chunk_steps(chunk), None)
                        else:
                            steps, links = _change_steps(chunk, index)
                        payload = sum(value.nbytes for _, parameters in steps for value in parameters.values()
                                      if isinstance(value, pa.Table))
                        if links is not None and len(links.frame):
                            rows, types = _link_rows(links)
                            if staged is None:  # the entities are all known by now: their rows' range
                                known = stream.counts["entities"] + (0 if index is None else len(index.keys.entity_ids))
                                staged = StagedLinks(self.path.with_name(self.path.name + NEXT_SUFFIX + LINKS_SUFFIX),
                                                     list(model.links), rows=known)
                            payload += rows.nbytes  # kept on disk (compressed) until it is copied in
                            staged.add(rows, types, links.sources)
                            del rows, types
                        self._check_space(payload, kept=KEPT_ROW_BYTES * len(chunk.frame))
                        for query, parameters in steps:
                            run.bulk(query, parameters)
                        advance(len(chunk.frame))
                        # the chunk goes before the stream reads the next: the loop's names would hold its
                        # frame and Arrow tables (0.3 GB at 2^20 links) through the next one's validation
                        del chunk, steps, links
                        parameters = None  # the last statement's (a chunk that changes nothing has none)
                if staged is not None:
                    with progress.step("copying the links in", "copied the links in", total=staged.rows) as advance:
                        for link_type, rows in staged:
                            self._check_space(rows.nbytes)
                            run.bulk(statements.copy_links(link_type, model), {"rows": rows}, advance)
                            del rows
            finally:
                if staged is not None:
                    staged.remove()
            if index is None:
                fingerprint = stream.fingerprint()
            else:
                fingerprint = index.fingerprint()
                if not index.writes and fingerprint == recorded:
                    raise _Unchanged()
            record_fingerprint(run, fingerprint)
            _record_input(run, digest, fingerprint, stream.counts)

    @contextlib.contextmanager
    def _on_a_copy(self, *, rows: int | None = None, buffer_pool: int | None = None) -> Iterator["_Transactions"]:
        """Transactions on a copy of the store, which then replaces the store in one rename.

        LadybugDB 0.22 writes ``COPY``'d rows straight to the database file and checkpoints
        them when the transaction commits, outside its write-ahead log, while the other
        statements of the transaction go through the log. A process killed during that
        checkpoint leaves a store that replays the logged statements without the copied
        rows: half a load, with the new fingerprint (tests/store/test_crash.py;
        tests/store/ladybug_copy_crash_bug.py reproduces it alone). So a load writes a copy,
        closes it (which checkpoints it whole), syncs it and renames it over the store: a
        process killed at any point before the rename leaves the store as it was, one killed
        after leaves the whole load. The store stays open (locked) throughout, so no other
        writer starts in between; readers keep the content they opened.

        As the rename makes the write all-or-nothing, the write may commit in the copy as often
        as it likes (the runner's ``commit()``): LadybugDB holds a transaction's pages in its
        buffer pool until it commits (a 10^6-link load in one transaction took 0.9 GB of it,
        10^7 would take some 9 GB), so a load committing every ``rows`` rows (default
        ``LOAD_CHUNK_ROWS``) runs in the bounded pool ``buffer_pool`` (default ``LOAD_BUFFER_POOL``)
        whatever its size.
        """
        self._conn.execute("CHECKPOINT")  # the file alone now holds every committed transaction
        copy = self.path.with_name(self.path.name + NEXT_SUFFIX)
        self._remove_copies()
        try:
            shutil.copyfile(self.path, copy)
            run = _Transactions(copy, rows or LOAD_CHUNK_ROWS, buffer_pool or LOAD_BUFFER_POOL)
        except (OSError, RuntimeError) as exc:
            self._remove_copies()
            raise StoreError(f"cannot copy the store at {self._folder} to write to it: {exc}") from None
        try:
            yield run
            run.commit()
        except BaseException:
            run.close()
            self._remove_copies()
            raise
        run.close()  # checkpoints: the copy's file now holds the whole write
        leftovers = [p.name for p in self.path.parent.glob(copy.name + ".*") if not p.name.endswith(".lock")]
        if leftovers:  # a checkpoint that did not finish: never switch to such a copy
            self._remove_copies()
            raise StoreError(f"the copy of the store at {self._folder} was not checkpointed ({', '.join(leftovers)} "
                             "left): store unchanged")
        _sync(copy)
        os.replace(copy, self.path)
        _sync(self.path.parent)
        # The open database is the replaced file's: from here on, the new one's. The write is
        # done; should another writer take the lock in between, wait for it rather than fail.
        self.close()
        self._db = self._open(read_only=False, wait=max(self._wait, 60.0))
        self._conn = ladybug.Connection(self._db)

    def _remove_copies(self) -> None:
        """Remove what a write on a copy left (its process killed before the switch)."""
        for leftover in self.path.parent.glob(self.path.name + NEXT_SUFFIX + "*"):
            if leftover.is_dir():  # a streamed load's keys
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)

    def write_scores(self, scores: pd.DataFrame, *, policy: Policy, as_of: dt.date) -> int:
        # What is stored is read before the transaction: the store is locked for writing by
        # this process alone, so nothing changes it in between.
        plan = self._plan_scores(scores, policy=policy, as_of=as_of, read=self._read_table)
        # the write's peak is LadybugDB's pool on top of what this process holds: what the scoring
        # freed (a command lets its workspace go first) is given back to the system before it
        _release_freed_memory()
        if plan.run is None:
            return 0  # the store holds these scores already: no transaction at all
        key, entity_id = statements.LINK_KEY, Column("id", "string")
        values = [c for c in load_model().scores.columns if c.name in VALUES]
        # Statement by statement through the write-ahead log (LOAD FROM), not COPY: a COPY
        # bypasses the log, and a transaction mixing the two can be left half done by a kill
        # (tests/store/ladybug_copy_crash_bug.py). In this order, each only when it has rows:
        # the run last, as the Neo4j store writes it.
        steps = [(statements.delete_score_records(), pd.concat([plan.orphans, plan.removed]), [key]),
                 (statements.update_score_records(), plan.changed, [key, *values]),
                 (statements.create_score_records(), plan.new, [entity_id, *statements.score_record_columns()])]
        steps = [(query, rows, columns) for query, rows, columns in steps if len(rows)]
        written = sum(len(rows) for _, rows, _ in steps)
        if plan.first and (len(plan.new) > FIRST_COPY_ROWS or written > SCORE_ROWS):
            self._write_first_run(plan)
            return plan.entities
        if written <= SCORE_ROWS:
            tables = [(query, _arrow(rows, columns, prefix="v_")) for query, rows, columns in steps]
            self._check_space(sum(table.nbytes for _, table in tables))
            with self._transaction() as run:
                for query, table in tables:
                    run(query, {"rows": table})
                self._finish_run(run, plan)
            return plan.entities
        # A stored run rewritten past one transaction: LadybugDB holds a transaction's pages in
        # its buffer pool until it commits (1.1 KB a record SET), and readers would see a
        # half-changed run between transactions, so the write goes to a copy of the store,
        # committed every SCORE_ROWS rows in a bounded pool, which replaces the store whole
        # (_on_a_copy): all or nothing still, the run last. On the copy the new records go in by
        # COPY, in transactions of STREAM_ROWS as a streamed load's. Each transaction's rows are
        # made Arrow as they are written, the space needed estimated from the first rows of each step.
        if len(plan.new):  # the CREATE, last of the steps, by COPY
            copy_records, copy_edges = statements.copy_score_records()
            steps[-1:] = [(copy_records, plan.new, statements.score_record_columns()),
                          (copy_edges, plan.new, [entity_id, key])]
        self._check_space(sum(self._estimated_bytes(rows, columns) for _, rows, columns in steps), copy=True)
        with self._on_a_copy(rows=SCORE_ROWS, buffer_pool=STREAM_BUFFER_POOL) as run:
            for query, rows, columns in steps:
                copied = query.startswith("COPY")
                if copied:  # a COPY holds less of a row in the pool than a LOAD FROM ... SET
                    run.resize(STREAM_ROWS)
                for start in range(0, len(rows), run.rows):
                    part = _arrow(rows.iloc[start:start + run.rows], columns, prefix="" if copied else "v_")
                    run.bulk(query, {"edges" if query.startswith("COPY HAS_SCORE") else "rows": part})
            self._finish_run(run, plan)
        return plan.entities

    @staticmethod
    def _estimated_bytes(rows: pd.DataFrame, columns: list[Column], sample: int = 1_000) -> int:
        """The Arrow size of ``rows`` in ``columns``, estimated from the first ``sample`` rows
        (the whole plan as Arrow took 1 GB at 10^7 links)."""
        return _arrow(rows.iloc[:sample], columns, prefix="v_").nbytes * len(rows) // max(1, min(sample, len(rows)))

    def _write_first_run(self, plan: ScorePlan) -> None:
        """A run of a policy and date not stored yet, of more than FIRST_COPY_ROWS records or past
        one transaction, on the store itself (no copy of it: at 10^8 links the copy was 26 GB of
        the write's disk). Its records count
        only once the run exists (:mod:`graphscore.store.statements`), so they go in first, and
        a process killed at any point before the run's commit leaves the store as every reader
        saw it, with records of no run that the next write-back of this policy and date removes
        (``plan.orphans``, here in logged transactions of SCORE_ROWS). The records and their
        links go in by ``COPY``, each ``COPY`` of SCORE_COPY_ROWS rows in a transaction holding
        nothing else (:meth:`_copy_alone`); the records are counted, each linked, before the run
        is written, with the name of the last run, in one logged transaction."""
        key, entity_id = statements.LINK_KEY, Column("id", "string")
        with self._transaction() as run:  # the run's number, before any record keyed by it
            self._claim_run_number(run, plan.number)
        for start in range(0, len(plan.orphans), SCORE_ROWS):
            with self._transaction() as run:
                run(statements.delete_score_records(), {"rows": _arrow(plan.orphans.iloc[start:start + SCORE_ROWS], [key],
                                                                       prefix="v_")})
        copy_records, copy_edges = statements.copy_score_records()
        steps = [(copy_records, "rows", statements.score_record_columns()), (copy_edges, "edges", [entity_id, key])]
        self._check_space(sum(self._estimated_bytes(plan.new, columns) for _, _, columns in steps))
        for query, name, columns in steps:
            for start in range(0, len(plan.new), SCORE_COPY_ROWS):
                self._copy_alone(query, {name: _arrow(plan.new.iloc[start:start + SCORE_COPY_ROWS], columns)})
        run_of = {"policy": plan.run["score_policy"], "as_of": plan.run["score_as_of"]}
        records, links = (self._run(query, run_of).iloc[0, 0] for query in statements.count_score_records())
        # each link copied in names a record of its own (a key per entity): as many links as
        # records, each copied in, is each record linked
        if records != len(plan.new) or links != len(plan.new):
            raise StoreError(f"score write-back stopped before its run, the scores stored unchanged: of "
                             f"{len(plan.new):,} records copied in, the store holds {records:,}, with "
                             f"{links:,} links to them; run the command again")
        with self._transaction() as run:
            self._finish_run(run, plan)

    def _copy_alone(self, query: str, parameters: dict) -> None:
        """One ``COPY`` in a transaction of its own, on the store itself: such a transaction is
        all or nothing when its process is killed, even in its checkpoint (measured on the
        non-empty ScoreRecord and HAS_SCORE tables, benchmarks/JOURNAL.md, and
        tests/store/test_crash.py); only one mixing a ``COPY`` with logged statements splits.
        On a connection of its own, closed after: a LadybugDB 0.22 connection keeps each Arrow
        table given to it until it is closed (see :class:`_Transactions`)."""
        connection = ladybug.Connection(self._db)
        try:
            connection.execute("BEGIN TRANSACTION")
            try:
                connection.execute(query, parameters)
                connection.execute("COMMIT")
            except RuntimeError as exc:
                with contextlib.suppress(RuntimeError):  # LadybugDB may already have rolled back
                    connection.execute("ROLLBACK")
                raise StoreError(f"score write-back stopped before its run, the scores stored unchanged: "
                                 f"LadybugDB: {str(exc).splitlines()[0]}") from None
        finally:
            connection.close()
        _release_freed_memory()

    def _read_table(self, query: str, parameters: dict | None = None) -> pd.DataFrame:
        # Arrow from the engine, no Python rows. Not Connection.query_as_arrow: in ladybug
        # 0.22 it returns nulls as 0, "" and 1970-01-01 (tests/store/test_ladybug_upstream.py).
        return self._conn.execute(query, parameters or {}).get_as_arrow(ARROW_CHUNK_ROWS).to_pandas()

    def read_content(self) -> tuple[dict[str, pa.Table], np.ndarray]:
        """The content a load validated, as Arrow tables: what :meth:`read_tables` returns as
        frames (the same rows in the same order, the same values), in the form the disk cache
        keeps (:class:`graphscore.cache.StoredTables`), with the links' ends as entity rows.

        Not validated again: only for content whose fingerprint the store recorded, which no
        write but a (validating) load leaves (a ``cypher --write`` drops it). Read through
        LadybugDB's native Arrow path (:class:`~graphscore.store.statements.ArrowRead`), which
        lets go of Python's lock while it runs; no Python object is made per cell, and entities
        are named by their node offsets, not their ids, wherever links and penalties name them.
        At 10^7 links it took 9.4 s and 3.8 GB where :meth:`read_tables` took 48.5 s and
        9.8 GB, one after the other (``benchmarks/scale.py --inputs``, load average about 1).

        Returns
        -------
        tables : dict
            ``entities``, ``links``, ``penalties``: every declared column, text as strings (the
            links' ends and types dictionary encoded over the entities' ids and the model's
            types), dates as ``timestamp[s]``; in canonical order
            (:func:`~graphscore.store.plan.canonical_order`).
        ends : (2, links) int32 ndarray
            Row in ``entities`` of each link's source and target
            (:func:`graphscore.engine.matrix.link_ends`).
        """
        model = load_model()
        reads = statements.arrow_reads(model)
        # each table comes in a list the reader lets go of (see _read_each), so _taken holds it alone
        # the links without their keys where it can: their order comes from the entities' (_key_order)
        tables = self._read_each([*reads["entities"], *reads["links"], *reads["penalties"]], keys=False)
        box = next(tables)
        order = _ascending(box[0].column("id"))
        offsets = _numbers(box[0].column(statements.ENTITY_ROW))
        row_of = np.zeros(int(offsets.max()) + 1 if len(offsets) else 0, dtype=np.int32)  # node offset -> row
        row_of[offsets if order is None else offsets[order]] = np.arange(len(offsets), dtype=np.int32)
        entities = _typed(_taken(box, order), model.tables["entities"].columns)
        ids = entities.column("id").combine_chunks()

        parts, sources, targets, types = [], [], [], []
        # each node offset's rank (_spelled_ranks), and the entity row of each rank: a link's
        # ends ranked in two lookups, and its rows found from its ends in key order (nearly in
        # the order of memory: at 10^7 links, lookups at random were some 1.5 s)
        ranks = _spelled_ranks(ids)
        rank_of = ranks[row_of]
        by_rank = np.empty(len(ranks), dtype=np.int32)
        by_rank[ranks] = np.arange(len(ranks), dtype=np.int32)
        del ranks
        n = max(len(ids), 1)
        for rank, box in zip(range(len(reads["links"])), tables):
            ends = rank_of[_numbers(box[0].column(statements.ENTITY_ROW))] * n
            ends += rank_of[_numbers(box[0].column(statements.TARGET_ROW))]
            order, ends = _key_order(box[0], ends)  # canonical: by type in model order, then key
            source_rank, target_rank = np.divmod(ends, n)
            del ends
            sources.append(by_rank[source_rank])
            targets.append(by_rank[target_rank])
            del source_rank, target_rank
            types.append(np.full(box[0].num_rows, rank, dtype=np.int32))
            box[0] = box[0].drop_columns([statements.ENTITY_ROW, statements.TARGET_ROW,
                                          *({statements.KEY} & set(box[0].column_names))])
            parts.append(_taken(box, order))
            del order
        ends = np.stack([np.concatenate(sources), np.concatenate(targets)])
        del sources, targets
        structure = {"source": pa.DictionaryArray.from_arrays(ends[0], ids),
                     "target": pa.DictionaryArray.from_arrays(ends[1], ids),
                     "type": pa.DictionaryArray.from_arrays(np.concatenate(types), pa.array(list(model.links)))}
        links = _typed(parts, model.tables["links"].columns, structure)
        del parts

        box = next(tables)
        penalties = _taken(box, _ascending(box[0].column("id")))
        owners = ids.take(row_of[_numbers(penalties.column(statements.ENTITY_ROW))])
        penalties = _typed(penalties, model.tables["penalties"].columns, {"entity": owners})
        return {"entities": entities, "links": links, "penalties": penalties}, ends

    def _read_each(self, reads: list[statements.ArrowRead], *, keys: bool = True) -> Iterator[list[pa.Table]]:
        """Each read's table (:meth:`_read_arrow`) in a list of one, read once the caller is done
        with the one before. The list is the only holder of the table: a caller taking it out
        of the list lets go of a column at a time (:func:`_taken`). (The next table was once read
        in a thread while the caller sorted this one: it saved some seconds at 10^7 links and
        held a third link type read back, 0.3 GB and more, at the read-back's peak.)"""
        for read in reads:
            box = [self._read_arrow(read, keys=keys)]
            yield box
            del box

    def _read_arrow(self, read: statements.ArrowRead, *, keys: bool = True) -> pa.Table:
        """One :class:`~graphscore.store.statements.ArrowRead`: its rows, and a null column for each
        property no row has; flags of nulls applied (and dropped). ``keys`` false: links without
        their keys, unless no property has a value (LadybugDB 0.22's ``query_as_arrow`` returns
        no row for node offsets alone, tests/store/test_ladybug_upstream.py). A required column
        is not counted: a load validated it, so every row has a value (at 10^7 links, counting
        the entities' ids, kinds and names took 0.75 of the entities' 1.2 s count)."""
        required = [column.name for column, _ in read.properties if column.required]
        counted = dataclasses.replace(read, properties=tuple(p for p in read.properties if not p[0].required))
        counts = self._conn.execute(counted.count_query()).get_as_arrow().to_pylist()[0]
        counts.update(dict.fromkeys(required, counts["_rows"]))
        if not keys and any(counts[column.name] for column, _ in read.properties):
            read = dataclasses.replace(read, structure=tuple(e for e in read.structure
                                                             if not e.endswith(f" AS {statements.KEY}")))
        table = self._conn.query_as_arrow(read.row_query(counts), ARROW_CHUNK_ROWS).get_as_arrow()
        rows = counts["_rows"]
        for column, _ in read.properties:
            name, flags = column.name, statements.NULLS + column.name
            if not counts[name]:
                table = table.append_column(name, pa.nulls(rows, _ARROW_TYPES.get(column.type, pa.string())))
            elif counts[name] < rows:
                values = pc.if_else(table.column(flags), pa.scalar(None, table.schema.field(name).type),
                                    table.column(name))
                table = table.set_column(table.schema.get_field_index(name), name, values).drop_columns([flags])
        return table

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Run]:
        # Each transaction records a token of its own: when COMMIT fails (the disk filled while
        # LadybugDB checkpointed), the store is opened again and the token says whether the
        # transaction is in it or was rolled back.
        token = uuid.uuid4().hex
        self._conn.execute("BEGIN TRANSACTION")
        try:
            yield self._run
            self._run(statements.DELETE_META, {"key": "last_write"})
            self._run(statements.CREATE_META, {"key": "last_write", "value": token})
        except BaseException:
            with contextlib.suppress(RuntimeError):  # LadybugDB may already have rolled back
                self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except RuntimeError as exc:
            self._settle_failed_commit(token, str(exc).splitlines()[0])

    def _settle_failed_commit(self, token: str, message: str) -> None:
        """After COMMIT raised, find out from the store itself whether the transaction is in it.

        LadybugDB 0.22 can report a commit as durable and still lose it (a bulk COPY whose
        checkpoint ran out of disk), or report a failure after the commit record reached the
        disk; neither message can be taken at its word. Returns when the transaction is in
        the store; raises StoreError otherwise."""
        reason = "the disk is full" if _DISK_FULL in message else f"LadybugDB: {message}"
        self.close()
        try:
            self._db = self._open(read_only=False, wait=0.0)
        except StoreError as exc:
            raise StoreError(f"the commit failed ({reason}) and the store cannot be opened again to see whether "
                             f"the write is in it: {exc}. Once it opens, it holds all of the write or none of it: "
                             "run the command again then") from None
        self._conn = ladybug.Connection(self._db)
        found = self._run(statements.READ_META, {"key": "last_write"})
        if not found.empty and found.iloc[0, 0] == token:
            warnings.warn(f"the store at {self._folder} reported a failed commit ({reason}), but the write is "
                          "in it: LadybugDB finished it when the store was opened again",
                          GraphscoreWarning, stacklevel=4)
            return
        raise StoreError(f"write rolled back, store unchanged: the commit failed ({reason})")

    def close(self) -> None:
        self._conn.close()
        self._db.close()  # both may be closed already (after a failed commit): closing again is harmless

    def discard(self) -> None:
        """Close and remove a store this object created (after a failed first load, so no
        empty store is left behind): its files, and its folder when this object made it."""
        if not self.created:
            raise StoreError(f"{self.path} existed before: it is not discarded")
        self.close()
        self._remove_copies()  # a load's copy, and the folder of its keys
        for leftover in self.path.parent.glob(self.path.name + "*"):  # the database, its WAL and locks
            leftover.unlink(missing_ok=True)
        shutil.rmtree(self.path.with_suffix(".cache"), ignore_errors=True)
        if self._made_from is not None:
            folder = self.path.parent
            while True:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only ever an empty folder
                if folder == self._made_from:
                    break
                folder = folder.parent

    def __enter__(self) -> "LadybugStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LadybugStore({str(self.path)!r})"
