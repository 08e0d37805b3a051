"""Derived results kept on disk beside a store, so a second command starts where the first ended.

Everything here is keyed by the data fingerprint the store recorded in its last load
(:meth:`graphscore.store.base.CypherStore.data_fingerprint`): a load changes the fingerprint,
so nothing computed from older content is ever read again (and :meth:`DiskCache.prune` removes
it). Layout, under the cache folder::

    <fingerprint>/tables/{entities,links,penalties}.arrow         validated tables (Arrow IPC files)
    <fingerprint>/tables/link-ends.npy                             each link's ends as entity rows
    <fingerprint>/facts/<name>/value.json                          facts about the whole register (JSON)
    <fingerprint>/<policy hash>-<as-of>-<missing share>/          one projection and its baseline
        arrays/  penalties.arrow  facts.json  run/  echo/  ownership/  derived/
        layer-<k>/                                                 link_time = "at_penalty": one per layer

Arrays are kept one ``.npy`` file each (a folder of them where a ``.npz`` archive was before,
still read) and mapped, copy-on-write, when read (:func:`_load_arrays`): a command touches the
pages it reads, and reads nothing it does not.

Writing is best effort: a read-only or full disk only means the next command computes again.
Files are written to a temporary folder and renamed into place, so a reader never sees half a
result, even beside a writer killed mid-way.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy as sp

from graphscore.engine.matrix import LinkSource, Projection, link_ends, link_source
from graphscore.engine.run import ModelRun
from graphscore.timeline import LinkCodes
from graphscore.model import TABLE_NAMES, Tables, load_model
from graphscore.policy import Combine, MissingShare, Policy

__all__ = ["DiskCache", "StoredTables"]


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    """A frame as an Arrow IPC file (:func:`_write_table`), with the dtype of each column."""
    bare = frame.copy(deep=False)
    bare.attrs = {}  # readers' file and line records are for error messages, not for the cache
    table = pa.Table.from_pandas(bare, preserve_index=False).replace_schema_metadata(None)
    _write_table(table, {str(column): str(dtype) for column, dtype in frame.dtypes.items()}, path)


SAMPLE_ROWS = 65_536  # the start of a text column that decides whether the cache dictionary-encodes it


def _write_table(table: pa.Table, dtypes: dict[str, str], path: Path, key: str | None = None) -> None:
    """A table as an Arrow IPC file (``path`` ends in ``.arrow``), and beside it the dtype of
    each column of its frame (Arrow reads text back as strings, where validated tables hold
    Python objects).

    Uncompressed, so a reader maps the file instead of decoding it (reading a 10^6-link table
    from Parquet took 0.4-0.5 s of CPU, from the mapped file a millisecond); text that repeats
    (kinds, link types, roles, the ids of entities with many links) is stored once, dictionary
    encoded, so it becomes Python strings once per distinct value (:func:`_arrow_frame`).
    ``key``, the table's key column where its values are known distinct (validated content),
    is stored as it is without encoding it first: its dictionary would hold every value, so the
    encoding was dropped (0.44 s for the 322,000 entity ids of a 10^6-link registry, on a loaded
    machine). So is a column whose first ``SAMPLE_ROWS`` values are mostly distinct (names,
    registration numbers), not encoded whole only to drop the dictionary (what the 3.2x10^6
    entities' names of a 10^7-link registry were)."""
    columns = []
    for name, column in zip(table.column_names, table.columns):
        if name == key and len(column):
            pass  # distinct values: a dictionary would be as long as the column
        elif not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            pass
        elif len(column) > SAMPLE_ROWS and pc.count_distinct(column.slice(0, SAMPLE_ROWS)).as_py() > SAMPLE_ROWS // 2:
            pass  # mostly distinct where it starts: kept as it is (read back the same either way)
        else:
            encoded = (column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column).dictionary_encode()
            column = encoded if len(encoded.dictionary) <= len(column) // 2 else column
        columns.append(column)
    # one dictionary per column in the whole file: the IPC file format holds no other
    table = pa.table(columns, names=table.column_names).unify_dictionaries()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    path.with_suffix(".dtypes.json").write_text(json.dumps(dtypes), encoding="utf-8")


def _frame_path(folder: Path, stem: str) -> Path:
    """The file of a frame: ``<stem>.arrow``, or ``<stem>.parquet`` in a cache written before
    frames were kept as Arrow files (still read, so an older cache is not thrown away)."""
    arrow = folder / f"{stem}.arrow"
    return arrow if arrow.exists() or not (folder / f"{stem}.parquet").exists() else folder / f"{stem}.parquet"


def _parquet():
    """pyarrow.parquet, for a cache written before frames were kept as Arrow files: imported only
    then (with pyarrow's file systems and ssl, 0.06 s of every command that imported it)."""
    import pyarrow.parquet as pq

    return pq


def _open_table(path: Path) -> pa.Table:
    """The Arrow table of a frame file, memory-mapped (Arrow) or read (Parquet). A mapped file
    stays readable after a load prunes it: the mapping holds it."""
    if path.suffix == ".parquet":
        return _parquet().read_table(path)
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def _read_frame(path: Path) -> pd.DataFrame:
    """A frame :func:`_write_frame` wrote, with its dtypes as they were."""
    return _arrow_frame(_open_table(path), json.loads(path.with_suffix(".dtypes.json").read_text(encoding="utf-8")))


def _text(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A text column as an object array of Python strings, None for nulls. A dictionary-encoded
    column makes each distinct string once and repeats it (an index into an object array):
    a tenth of the time for the link types and roles of 10^6 links."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not pa.types.is_dictionary(column.type):
        return column.to_numpy(zero_copy_only=False)
    if len(column) < len(column.dictionary):
        # a few rows taken from a large table keep its whole dictionary (every entity id, for
        # an entity's links): made of their own values, not of every one of the dictionary's
        return column.dictionary_decode().to_numpy(zero_copy_only=False)
    values = column.dictionary.to_numpy(zero_copy_only=False)
    if column.null_count:
        values = np.append(values, None)
        return values[pc.fill_null(column.indices, len(values) - 1).to_numpy()]
    return values[column.indices.to_numpy()]


def _is_text(column: pa.ChunkedArray) -> bool:
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _arrow_frame(table: pa.Table, dtypes: dict[str, str], given: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """An Arrow table as the frame whose column dtypes were ``dtypes``. Text kept as Python
    objects goes from Arrow straight to an object array with None for nulls: through pandas'
    own string dtype first, reading a stored 10^6-link table took twice as long. ``given``:
    columns the caller has already, as object arrays of the same values."""
    columns = {}
    for name in table.column_names:
        column, dtype = table.column(name), dtypes[name]
        if given and name in given:
            columns[name] = pd.Series(given[name], dtype=object, copy=False)
        elif dtype == "object" and _is_text(column):
            columns[name] = pd.Series(_text(column), dtype=object, copy=False)
        elif dtype == "object" and pa.types.is_null(column.type):  # an optional column left empty: None throughout
            columns[name] = pd.Series(np.full(len(column), None, dtype=object), dtype=object, copy=False)
        elif dtype == "object":
            series = column.to_pandas().astype(object)
            columns[name] = series.where(series.notna(), None)
        else:
            series = column.to_pandas()
            columns[name] = series if str(series.dtype) == dtype else series.astype(dtype)
    return pd.DataFrame(columns, copy=False)


def _save_arrays(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Arrays as one ``.npy`` file each in ``folder`` (made here), named by their keys, and
    their names in order (``names.json``: a run's columns are listed as they were computed);
    read back by :func:`_load_arrays`."""
    folder.mkdir()
    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", np.asarray(array), allow_pickle=False)
    (folder / "names.json").write_text(json.dumps(list(arrays)), encoding="utf-8")


def _load_arrays(folder: Path) -> dict[str, np.ndarray]:
    """The arrays :func:`_save_arrays` wrote in ``folder``, by name, or those of the archive
    ``folder.npz`` a cache written before kept instead.

    Each file is mapped, not read: a page is read from the page cache when the array's
    entries on it are first used, so loading the path lengths of a 10^6-link projection costs
    nothing until they are (from a ``.npz`` archive, np.load decompressed and copied every
    array whole: 0.1-0.3 s of each command). Copy-on-write, so the arrays are writable as
    ones read whole are (a compiled kernel typed for writable arrays takes them as they are,
    and a caller writing into one changes its own copy of that page, never the file).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "arrays"
    >>> _save_arrays(folder, {"s": np.arange(3.0), "shape": np.array([3, 3])})
    >>> arrays = _load_arrays(folder)
    >>> arrays["s"].tolist(), arrays["s"].flags.writeable, isinstance(arrays["s"].base, np.memmap)
    ([0.0, 1.0, 2.0], True, True)
    """
    if not folder.is_dir():
        with np.load(folder.with_suffix(".npz"), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    names = json.loads((folder / "names.json").read_text(encoding="utf-8"))
    return {name: np.load(folder / f"{name}.npy", mmap_mode="c", allow_pickle=False).view(np.ndarray)
            for name in names}


def _write_projection(folder: Path, projection: Projection, about: dict) -> None:
    """A projection's arrays, tables and facts in ``folder``; its layers (link_time =
    "at_penalty") each in ``folder/layer-<k>``."""
    W = projection.W
    arrays = {"data": W.data, "indices": W.indices, "indptr": W.indptr, "shape": np.array(W.shape),
              "s": projection.s}
    if projection.values is not None:
        arrays["values"] = projection.values
    _save_arrays(folder / "arrays", arrays)
    _write_frame(projection.penalties, folder / "penalties.arrow")
    facts = {"as_of": projection.as_of.isoformat(), "combine": projection.combine.value,
             "notes": list(projection.notes), "layers": len(projection.layers),
             "links_at": None if projection.links_at is None else projection.links_at.isoformat(), **about}
    for k, layer in enumerate(projection.layers):
        (folder / f"layer-{k}").mkdir()
        _write_projection(folder / f"layer-{k}", layer, about)
    (folder / "facts.json").write_text(json.dumps(facts), encoding="utf-8")


def _read_projection(folder: Path, source: LinkSource, ids: pd.Index) -> Projection:
    """The projection :func:`_write_projection` wrote; its edges come from ``source`` (the
    workspace's links under the same policy) and its rows are ``ids`` (the entities' ids in
    table order, as every projection of those tables has them), as a fresh projection's do."""
    facts = json.loads((folder / "facts.json").read_text(encoding="utf-8"))
    arrays = _load_arrays(folder / "arrays")
    W = sp.sparse.csr_array((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
    s = arrays["s"]
    values = arrays.get("values")
    links_at = None if facts.get("links_at") is None else pd.Timestamp(facts["links_at"])
    source = source.at(links_at if links_at is not None else pd.Timestamp(facts["as_of"]))
    layers = tuple(_read_projection(folder / f"layer-{k}", source, ids) for k in range(facts.get("layers", 0)))
    return Projection(ids, W, s, source, _read_frame(_frame_path(folder, "penalties")),
                      pd.Timestamp(facts["as_of"]), Combine(facts["combine"]), tuple(facts["notes"]), values,
                      links_at, layers)


# What engine and analysis functions derive from a projection (Projection.derived, by the first
# part of their key) that a second command would derive again at a cost: a pass or a solve over
# every link (0.2-0.7 s each at 10^6 links) against a few hundredths of a second to read back.
KEPT_DERIVED = ("contraction", "path lengths", "cycles", "return bound", "pair types", "push hubs",
                "reversible form")


def _pack(value, name: str, arrays: dict) -> object:
    """``value`` as a JSON description, its arrays put in ``arrays`` under names from ``name``:
    numbers, text, None, arrays, CSR/CSC arrays, tuples and graphscore's dataclasses of them
    (what :data:`KEPT_DERIVED` holds). Read back by :func:`_unpack`, with no pickle."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    if isinstance(value, np.generic):
        return {"value": value.item()}
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return {"array": name}
    if isinstance(value, (sp.sparse.csr_array, sp.sparse.csc_array)):
        for part in ("data", "indices", "indptr"):
            arrays[f"{name}.{part}"] = getattr(value, part)
        return {"sparse": value.format, "name": name, "shape": list(value.shape)}
    if isinstance(value, tuple):
        return {"tuple": [_pack(item, f"{name}.{k}", arrays) for k, item in enumerate(value)]}
    if dataclasses.is_dataclass(value) and type(value).__module__.startswith("graphscore."):
        return {"dataclass": f"{type(value).__module__}:{type(value).__qualname__}",
                "fields": {f.name: _pack(getattr(value, f.name), f"{name}.{f.name}", arrays)
                           for f in dataclasses.fields(value)}}
    raise TypeError(f"cannot keep a {type(value).__name__} on disk")


def _unpack(spec, arrays) -> object:
    if "value" in spec:
        return spec["value"]
    if "array" in spec:
        return arrays[spec["array"]]
    if "sparse" in spec:
        kind = sp.sparse.csr_array if spec["sparse"] == "csr" else sp.sparse.csc_array
        return kind(tuple(arrays[f"{spec['name']}.{part}"] for part in ("data", "indices", "indptr")),
                    shape=tuple(spec["shape"]))
    if "tuple" in spec:
        return tuple(_unpack(item, arrays) for item in spec["tuple"])
    module, _, name = spec["dataclass"].partition(":")
    if not module.startswith("graphscore."):
        raise ValueError(f"not a graphscore class: {spec['dataclass']}")
    return getattr(importlib.import_module(module), name)(**{k: _unpack(v, arrays) for k, v in spec["fields"].items()})


class KeptDerived(dict):
    """A projection's :attr:`~graphscore.engine.matrix.Projection.derived` that also keeps on
    disk, beside the projection, the values of :data:`KEPT_DERIVED`: each is written when
    first set and read when first asked for, so a second command on the same store and policy
    finds them (a spillover report's convergence certificate, an explanation's path lengths, a
    dossier's cycles and return bound, a what-if's hub bound).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> kept = KeptDerived(folder, lambda target, write: (target.mkdir(parents=True), write(target)))
    >>> kept[("contraction", 0.5, False)] = (0.25, np.ones(2))
    >>> kept["edges"] = "not kept"
    >>> again = KeptDerived(folder, None)
    >>> again[("contraction", 0.5, False)], "edges" in again
    ((0.25, array([1., 1.])), False)
    """

    def __init__(self, folder: Path, publish):
        super().__init__()
        self._folder, self._publish = folder, publish

    def _path(self, key) -> Path | None:
        name = key[0] if isinstance(key, tuple) else key
        if name not in KEPT_DERIVED:
            return None
        return self._folder / f"{name.replace(' ', '-')}-{hashlib.sha256(repr(key).encode()).hexdigest()[:16]}"

    def _load(self, key) -> bool:
        path = self._path(key)
        if path is None or not (path / "value.json").exists():
            return False
        try:
            value = _unpack(json.loads((path / "value.json").read_text(encoding="utf-8")), _load_arrays(path / "arrays"))
        except (OSError, ValueError, KeyError, TypeError):
            return False  # a cache written by another version: computed again
        super().__setitem__(key, value)
        return True

    def __contains__(self, key) -> bool:
        return super().__contains__(key) or self._load(key)

    def __getitem__(self, key):
        if not super().__contains__(key):
            self._load(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        path = self._path(key)
        if path is not None and self._publish is not None:
            arrays: dict = {}
            spec = _pack(value, "v", arrays)

            def write(folder: Path) -> None:
                _save_arrays(folder / "arrays", arrays)
                (folder / "value.json").write_text(json.dumps(spec), encoding="utf-8")
            self._publish(path, write)
            # what was written is mapped in place of what was computed (pages read as they are
            # used, and given back under pressure): the computed arrays go once their callers
            # let go of them. The echo's cycles (W's links inside components, twice: 0.4 GB at
            # 10^7 links) were held through the score's table and write-back that follow.
            self._load(key)


class StoredTables(Tables):
    """Validated tables as the cache keeps them, each read into pandas only when first used.

    A question about one entity needs its links, not the register's: an explanation reads the
    entities table alone, and :meth:`links_touching` finds an entity's links in the Arrow
    columns without turning ten million links into Python objects (reading the whole tables of a
    10^6-link store took 3 s of a 7 s ``explain``). The files are opened (mapped) here, so a
    load that prunes this content meanwhile (a server open for hours) does not take them away:
    an open file stays readable after it is unlinked. The links' ends as entity rows
    (:func:`graphscore.engine.matrix.link_ends`), kept beside the tables, come with the links.

    Examples
    --------
    >>> import tempfile
    >>> from graphscore.toy import fined_company
    >>> cache = DiskCache(tempfile.mkdtemp(), "f" * 64)
    >>> cache.save_tables(fined_company())
    >>> tables = cache.load_tables()
    >>> tables.counts(), tables.loaded()
    ({'entities': 2, 'links': 1, 'penalties': 1}, [])
    >>> tables.links_touching(["c"])[["source", "target"]].values.tolist(), tables.loaded()
    ([['p', 'c']], [])
    >>> tables.links_touching(["c"], entity_rows=[0]).equals(tables.links_touching(["c"]))
    True
    >>> len(tables.links), tables.loaded()
    (1, ['links'])
    """

    def __init__(self, folder: Path):  # not the dataclass's: the tables are set as they are read
        paths = {name: _frame_path(folder, name) for name in TABLE_NAMES}
        files = {name: _parquet().ParquetFile(path) if path.suffix == ".parquet" else _open_table(path)
                 for name, path in paths.items()}
        dtypes = {name: json.loads(path.with_suffix(".dtypes.json").read_text(encoding="utf-8"))
                  for name, path in paths.items()}
        ends = folder / _LINK_ENDS
        self._hold(files, dtypes, np.load(ends, mmap_mode="c") if ends.exists() else None)
        object.__setattr__(self, "_paths", paths)

    @classmethod
    def in_memory(cls, tables: dict[str, pa.Table], ends: np.ndarray | None) -> "StoredTables":
        """Validated tables held as Arrow tables (those :meth:`DiskCache.keep_content` keeps),
        with their frames' dtypes declared by the model."""
        stored = cls.__new__(cls)
        stored._hold(tables, _model_dtypes(), ends)
        return stored

    def _hold(self, files: dict, dtypes: dict, ends: np.ndarray | None) -> None:
        object.__setattr__(self, "validated", True)
        object.__setattr__(self, "_files", files)
        object.__setattr__(self, "_dtypes", dtypes)
        object.__setattr__(self, "_ends", ends)

    def _arrow(self, name: str) -> pa.Table:
        file = self._files[name]
        return file if isinstance(file, pa.Table) else file.read()  # else a ParquetFile

    def _passing(self, name: str) -> pa.Table:
        """The table ``name`` mapped from its file again, for a read whose result is a copy (a
        frame, codes): the mapping goes when its last array does, and with it the pages the read
        touched, which a process's resident memory counts while they stay mapped (at 10^7
        links the links' dates, shares and codes and the whole entities table, some 0.5 GB
        held by the mapping :meth:`_arrow` keeps open for the command's life). Where the file
        is gone (a load pruned this content since) or the tables are held in memory, the
        table :meth:`_arrow` keeps."""
        path = getattr(self, "_paths", {}).get(name)
        if path is not None and path.suffix == ".arrow":
            try:
                return _open_table(path)
            except OSError:
                pass
        return self._arrow(name)

    def __getattr__(self, name: str):
        # only called for what is not set yet: a table read for the first time
        if name in TABLE_NAMES:
            frame = _arrow_frame(self._passing(name), self._dtypes[name], self._ends_as_ids() if name == "links" else None)
            object.__setattr__(self, name, frame)
            if self._ends is not None and {"links", "entities"} <= vars(self).keys():
                # the links' ends as entity rows, found at the load: not again in every command
                link_ends(vars(self)["links"], vars(self)["entities"], known=(self._ends[0], self._ends[1]))
            return frame
        raise AttributeError(name)

    def _ends_as_ids(self) -> dict[str, np.ndarray] | None:
        """The links' source and target columns, once the entities are read: the entities' ids
        at the links' ends (rows, kept beside the tables), so each id is the one Python string
        the entities' column holds, not one more made per link end (making them took 0.1-0.3 s
        of CPU for a 10^6-link table, each command that reads the links)."""
        if self._ends is None or "entities" not in vars(self) or not len(self._ends[0]) or self._ends.min() < 0:
            return None
        ids = vars(self)["entities"]["id"].to_numpy(dtype=object)
        return {"source": ids[self._ends[0]], "target": ids[self._ends[1]]}

    def loaded(self) -> list[str]:
        """The tables read into pandas so far."""
        return [name for name in TABLE_NAMES if name in vars(self)]

    def counts(self) -> dict[str, int]:
        """Rows per table, from the files' metadata (nothing is read)."""
        return {name: file.num_rows if isinstance(file, pa.Table) else file.metadata.num_rows
                for name, file in self._files.items()}

    @functools.cached_property
    def _arrow_links(self) -> pa.Table:
        return self._arrow("links")

    def kept_link_ends(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The links' ends as entity rows kept beside the tables (what
        :func:`graphscore.engine.matrix.link_ends` gives once the links are read), or None."""
        return None if self._ends is None else (self._ends[0], self._ends[1])

    def link_column(self, name: str) -> np.ndarray:
        """One number or date column of the links, whole, from its Arrow column (mapped from the
        file: numbers without a gap are not copied), as ``links[name].to_numpy()`` has it."""
        column = self._passing("links").column(name)
        return (column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()).to_numpy(zero_copy_only=False)

    def link_codes(self) -> LinkCodes | None:
        """The links' :class:`~graphscore.timeline.LinkCodes` from their Arrow columns: the
        ends kept beside the tables, the type and role as the indices of their dictionaries
        (-1 for no role). None where the ends are not kept. The links' text is never made into
        Python objects: the projection of a store's register reads its links as numbers alone."""
        ends = self.kept_link_ends()
        if ends is None:
            return None
        coded, links = [], self._passing("links")
        for name in ("type", "role"):
            column = links.column(name)
            column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
            if not pa.types.is_dictionary(column.type):
                column = pc.dictionary_encode(column)
            coded += [pc.fill_null(column.indices, -1).to_numpy(zero_copy_only=False),
                      column.dictionary.to_numpy(zero_copy_only=False)]
        return LinkCodes.from_codes(ends, *coded)

    def link_columns(self, names: tuple[str, ...], rows: np.ndarray) -> dict[str, np.ndarray] | None:
        """The links' columns ``names`` (those there are) at positions ``rows``, taken from the
        Arrow columns while the links are not read (None once they are: the frame is at hand),
        with the values and types ``links[name].iloc[rows].to_numpy()`` has."""
        if "links" in vars(self):
            return None
        links = self._arrow_links
        present = [name for name in names if name in links.column_names]
        frame = _arrow_frame(_take(links.select(present), np.asarray(rows, dtype=np.int64)),
                             self._dtypes["links"])
        return {name: frame[name].to_numpy() for name in present}

    def links_touching(self, entity_ids, *, entity_rows: np.ndarray | None = None) -> pd.DataFrame:
        """The link records with a source or target among ``entity_ids``, in table order and
        labelled by row, as ``links.iloc`` would give them, found in the Arrow columns; or,
        given ``entity_rows`` (the entities' rows in the entities table, where the caller has
        them: a workspace indexes the ids), by the links' ends kept beside the tables, two
        look-ups a link instead of comparing its text (a tenth of the time at 10^6 links)."""
        links = self._arrow_links
        ends = self._ends
        if entity_rows is not None and ends is not None and len(ends[0]) and ends.min() >= 0:
            wanted = np.zeros(self.counts()["entities"], dtype=bool)
            wanted[np.asarray(entity_rows, dtype=np.int64)] = True
            hit = wanted[ends[0]] | wanted[ends[1]]
        else:
            wanted = pa.array([str(e) for e in entity_ids], type=pa.string())
            hit = _among(links.column("source"), wanted) | _among(links.column("target"), wanted)
        rows = np.flatnonzero(hit)
        frame = _arrow_frame(_take(links, rows), self._dtypes["links"])
        frame.index = pd.Index(rows)
        return frame


def _take(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """``table.take(rows)``, taken from each record batch apart: Arrow's take on a table of
    several batches first joins each column's chunks, and the dictionaries of its text columns
    (0.02 s for a few rows of the 10^6 links, against under a millisecond by batch).

    Examples
    --------
    >>> table = pa.Table.from_batches([pa.record_batch({"a": [1, 2]}), pa.record_batch({"a": [3, 4]})])
    >>> _take(table, np.array([0, 3, 2]))["a"].to_pylist()
    [1, 4, 3]
    """
    rows = np.asarray(rows, dtype=np.int64)
    batches = table.to_batches()
    starts = np.cumsum([0] + [batch.num_rows for batch in batches])
    which = np.searchsorted(starts, rows, side="right") - 1
    # runs of rows in one batch, in the order asked (rows come sorted: one run per batch)
    cut = np.flatnonzero(np.diff(which)) + 1
    taken = [batches[batch[0]].take(pa.array(run - starts[batch[0]]))
             for run, batch in zip(np.split(rows, cut), np.split(which, cut)) if run.size]
    return pa.Table.from_batches(taken, schema=table.schema)


def _among(column: pa.ChunkedArray, wanted: pa.Array) -> np.ndarray:
    """Which values of a text column are among ``wanted`` (a boolean array; nulls are not).
    A dictionary-encoded column is looked up once per distinct value."""
    column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not pa.types.is_dictionary(column.type):
        return pc.is_in(column, value_set=wanted.cast(column.type)).fill_null(False).to_numpy(zero_copy_only=False)
    hit = np.append(pc.is_in(column.dictionary, value_set=wanted.cast(column.dictionary.type))
                    .to_numpy(zero_copy_only=False), False)
    return hit[pc.fill_null(column.indices, len(hit) - 1).to_numpy()]


_LINK_ENDS = "link-ends.npy"  # beside the tables: each link's source and target as entity rows (int32)


def _model_dtypes() -> dict[str, dict[str, str]]:
    """The dtype of each column of each validated table (:func:`graphscore.model.validate`)."""
    model = load_model()
    return {name: {c.name: c.dtype for c in model.tables[name].columns} for name in TABLE_NAMES}


class DiskCache:
    """The cache folder of one store content (``folder/<fingerprint>``)."""

    def __init__(self, folder: str | Path, fingerprint: str):
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        self.root = self.folder / fingerprint

    # -- plumbing ------------------------------------------------------------------------------
    def _publish(self, target: Path, write) -> None:
        """Run ``write(tmp_folder)`` and rename the folder to ``target``; any OSError is dropped."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
            try:
                write(tmp)
                os.replace(tmp, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass  # best effort: the result is recomputed next time

    def prune(self) -> None:
        """Remove what was cached for any other content of the store."""
        if self.folder.is_dir():
            for entry in self.folder.iterdir():
                if entry.name != self.fingerprint:
                    shutil.rmtree(entry, ignore_errors=True)

    # -- tables --------------------------------------------------------------------------------
    def load_tables(self) -> StoredTables | None:
        """The tables of this content, each read when first used (see :class:`StoredTables`)."""
        folder = self.root / "tables"
        try:
            return StoredTables(folder) if folder.is_dir() else None
        except OSError:
            return None  # pruned by a load in between: read back from the store instead

    def save_tables(self, tables: Tables) -> None:
        if (self.root / "tables").is_dir():
            return  # one fingerprint, one content: what is there already is these tables
        def write(folder: Path) -> None:
            for name, frame in tables.items():
                _write_frame(frame, folder / f"{name}.arrow")
            np.save(folder / _LINK_ENDS, np.stack(link_ends(tables.links, tables.entities)))
        self._publish(self.root / "tables", write)

    def keep_content(self, tables: dict[str, pa.Table], ends: np.ndarray) -> StoredTables:
        """Validated tables as Arrow (:meth:`graphscore.store.ladybug.LadybugStore.read_content`)
        kept as :meth:`save_tables` keeps frames, and returned as :meth:`load_tables` reads them:
        mapped from the files (the page cache holds them, not this process), or from memory
        where they cannot be written."""
        if not (self.root / "tables").is_dir():
            dtypes = _model_dtypes()

            def write(folder: Path) -> None:
                keys = {name: spec.key for name, spec in load_model().tables.items()}
                for name, table in tables.items():  # validated content: each table's key is distinct
                    _write_table(table, dtypes[name], folder / f"{name}.arrow", keys.get(name))
                np.save(folder / _LINK_ENDS, ends)
            self._publish(self.root / "tables", write)
        kept = self.load_tables()
        return StoredTables.in_memory(tables, ends) if kept is None else kept

    # -- facts ---------------------------------------------------------------------------------
    def load_fact(self, name: str):
        """A JSON value :meth:`save_fact` kept under ``name`` for this content, or None."""
        path = self.root / "facts" / name / "value.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def save_fact(self, name: str, value) -> None:
        def write(folder: Path) -> None:
            (folder / "value.json").write_text(json.dumps(value), encoding="utf-8")
        self._publish(self.root / "facts" / name, write)

    # -- projections and model runs ------------------------------------------------------------
    def _folder(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None) -> Path:
        return self.root / f"{policy.hash[:16]}-{as_of.date().isoformat()}-{missing_share.value if missing_share else 'policy'}"

    def load_projection(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None,
                        tables: Tables, ids: pd.Index | None = None) -> Projection | None:
        """The projection of ``tables`` (this content) under ``policy`` at ``as_of``, if kept;
        ``ids``, the entities' id column as an index, where the caller shares one among every
        projection of them (:attr:`graphscore.workspace.Workspace.ids`)."""
        folder = self._folder(policy, as_of, missing_share)
        if not (folder / "facts.json").exists():
            return None
        ids = pd.Index(tables.entities["id"], name="id") if ids is None else ids
        return _read_projection(folder, link_source(tables, policy, as_of, missing_share), ids)

    def save_projection(self, policy: Policy, missing_share: MissingShare | None, projection: Projection) -> None:
        def write(folder: Path) -> None:
            _write_projection(folder, projection, {"policy": policy.name, "policy_hash": policy.hash})
        self._publish(self._folder(policy, projection.as_of, missing_share), write)

    def keep_derived(self, projection: Projection, policy: Policy, missing_share: MissingShare | None) -> None:
        """Make the projection's (and its layers') ``derived`` a :class:`KeptDerived` beside it
        on disk, holding what it derived already."""
        folder = self._folder(policy, projection.as_of, missing_share)
        parts = [(projection, folder)] + [(layer, folder / f"layer-{k}") for k, layer in enumerate(projection.layers)]
        for part, where in parts:
            kept = KeptDerived(where / "derived", self._publish)
            dict.update(kept, part.derived)  # as it is: nothing written again
            part.__dict__["derived"] = kept  # the cached property's value (Projection is frozen)

    def load_matrices(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None,
                      name: str) -> tuple[sp.sparse.csr_array, ...] | None:
        """Sparse matrices :meth:`save_matrices` kept under ``name`` with a projection, or None."""
        path = self._folder(policy, as_of, missing_share) / name / "matrices"
        if not (path.is_dir() or path.with_suffix(".npz").exists()):
            return None
        arrays = _load_arrays(path)
        return tuple(sp.sparse.csr_array((arrays[f"{k}_data"], arrays[f"{k}_indices"], arrays[f"{k}_indptr"]),
                                         shape=tuple(arrays[f"{k}_shape"]))
                     for k in range(int(arrays["count"])))

    def save_matrices(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None, name: str,
                      matrices: tuple[sp.sparse.csr_array, ...]) -> None:
        arrays = {"count": np.array(len(matrices))}
        for k, matrix in enumerate(matrices):
            matrix = sp.sparse.csr_array(matrix)
            arrays.update({f"{k}_data": matrix.data, f"{k}_indices": matrix.indices, f"{k}_indptr": matrix.indptr,
                           f"{k}_shape": np.array(matrix.shape)})
        self._publish(self._folder(policy, as_of, missing_share) / name,
                      lambda folder: _save_arrays(folder / "matrices", arrays))

    def load_echo(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None) -> np.ndarray | None:
        path = self._folder(policy, as_of, missing_share) / "echo" / "echo.npy"
        return np.load(path, mmap_mode="c").view(np.ndarray) if path.exists() else None

    def save_echo(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None,
                  echo: np.ndarray) -> None:
        self._publish(self._folder(policy, as_of, missing_share) / "echo", lambda folder: np.save(folder / "echo.npy", echo))

    def load_run(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None) -> ModelRun | None:
        folder = self._folder(policy, as_of, missing_share) / "run"
        if not (folder / "run.json").exists():
            return None
        arrays = _load_arrays(folder / "run")
        columns = {name.removeprefix("column_"): values for name, values in arrays.items() if name.startswith("column_")}
        return ModelRun(arrays["total"], arrays["own"], columns,
                        json.loads((folder / "run.json").read_text(encoding="utf-8")))

    def save_run(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None,
                 run: ModelRun) -> None:
        def write(folder: Path) -> None:
            _save_arrays(folder / "run", {"total": run.total, "own": run.own,
                                          **{f"column_{name}": values for name, values in run.columns.items()}})
            (folder / "run.json").write_text(json.dumps(run.attrs), encoding="utf-8")
        self._publish(self._folder(policy, as_of, missing_share) / "run", write)
