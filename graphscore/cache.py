"""Derived results kept on disk beside a store, so a second command starts where the first ended.

Everything here is keyed by the data fingerprint the store recorded in its last load
(:meth:`graphscore.store.base.CypherStore.data_fingerprint`): a load changes the fingerprint,
so nothing computed from older content is ever read again (and :meth:`DiskCache.prune` removes
it). Layout, under the cache folder::

    <fingerprint>/tables/{entities,links,penalties}.parquet       validated tables
    <fingerprint>/facts/<name>/value.json                          facts about the whole register (JSON)
    <fingerprint>/<policy hash>-<as-of>-<missing share>/          one projection and its baseline
        arrays.npz  penalties.parquet  ids.parquet  facts.json  run/  echo/
        layer-<k>/                                                 link_time = "at_penalty": one per layer

Writing is best effort: a read-only or full disk only means the next command computes again.
Files are written to a temporary folder and renamed into place, so a reader never sees half a
result, even beside a writer killed mid-way.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy as sp

from graphscore.engine.matrix import LinkSource, Projection, link_source
from graphscore.engine.run import ModelRun
from graphscore.model import TABLE_NAMES, Tables
from graphscore.policy import Combine, MissingShare, Policy

__all__ = ["DiskCache", "StoredTables"]


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    """A frame as Parquet, and beside it the dtype of each column (Parquet reads text back as
    Arrow-backed strings, where validated tables hold Python objects)."""
    bare = frame.copy(deep=False)
    bare.attrs = {}  # readers' file and line records are for error messages, not for the cache
    bare.to_parquet(path, index=False)
    dtypes = {str(column): str(dtype) for column, dtype in frame.dtypes.items()}
    path.with_suffix(".dtypes.json").write_text(json.dumps(dtypes), encoding="utf-8")


def _read_frame(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A frame :func:`_write_frame` wrote (or some of its ``columns``), with its dtypes as they were."""
    return _arrow_frame(pq.read_table(path, columns=columns),
                        json.loads(path.with_suffix(".dtypes.json").read_text(encoding="utf-8")))


def _arrow_frame(table: pa.Table, dtypes: dict[str, str]) -> pd.DataFrame:
    """An Arrow table as the frame whose column dtypes were ``dtypes``. Text kept as Python
    objects goes from Arrow straight to an object array with None for nulls: through pandas'
    own string dtype first, reading a stored 10^6-link table took twice as long."""
    columns = {}
    for name in table.column_names:
        column, dtype = table.column(name), dtypes[name]
        if dtype == "object" and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            columns[name] = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object, copy=False)
        elif dtype == "object":
            series = column.to_pandas().astype(object)
            columns[name] = series.where(series.notna(), None)
        else:
            series = column.to_pandas()
            columns[name] = series if str(series.dtype) == dtype else series.astype(dtype)
    return pd.DataFrame(columns, copy=False)


def _write_projection(folder: Path, projection: Projection, about: dict) -> None:
    """A projection's arrays, tables and facts in ``folder``; its layers (link_time =
    "at_penalty") each in ``folder/layer-<k>``."""
    W = projection.W
    arrays = {"data": W.data, "indices": W.indices, "indptr": W.indptr, "shape": np.array(W.shape),
              "s": projection.s}
    if projection.values is not None:
        arrays["values"] = projection.values
    np.savez(folder / "arrays.npz", **arrays)
    _write_frame(pd.DataFrame({"id": projection.ids}), folder / "ids.parquet")
    _write_frame(projection.penalties, folder / "penalties.parquet")
    facts = {"as_of": projection.as_of.isoformat(), "combine": projection.combine.value,
             "notes": list(projection.notes), "layers": len(projection.layers),
             "links_at": None if projection.links_at is None else projection.links_at.isoformat(), **about}
    for k, layer in enumerate(projection.layers):
        (folder / f"layer-{k}").mkdir()
        _write_projection(folder / f"layer-{k}", layer, about)
    (folder / "facts.json").write_text(json.dumps(facts), encoding="utf-8")


def _read_projection(folder: Path, source: LinkSource) -> Projection:
    """The projection :func:`_write_projection` wrote; its edges come from ``source`` (the
    workspace's links under the same policy), as a fresh projection's do."""
    facts = json.loads((folder / "facts.json").read_text(encoding="utf-8"))
    with np.load(folder / "arrays.npz") as arrays:
        W = sp.sparse.csr_array((arrays["data"], arrays["indices"], arrays["indptr"]),
                                shape=tuple(arrays["shape"]))
        s = arrays["s"]
        values = arrays["values"] if "values" in arrays else None
    ids = pd.Index(_read_frame(folder / "ids.parquet")["id"], name="id")
    links_at = None if facts.get("links_at") is None else pd.Timestamp(facts["links_at"])
    source = source.at(links_at if links_at is not None else pd.Timestamp(facts["as_of"]))
    layers = tuple(_read_projection(folder / f"layer-{k}", source) for k in range(facts.get("layers", 0)))
    return Projection(ids, W, s, source, _read_frame(folder / "penalties.parquet"),
                      pd.Timestamp(facts["as_of"]), Combine(facts["combine"]), tuple(facts["notes"]), values,
                      links_at, layers)


class StoredTables(Tables):
    """Validated tables as the cache keeps them, each read into pandas only when first used.

    A question about one entity needs its links, not the register's: an explanation reads the
    entities table alone, and :meth:`links_touching` finds an entity's links in the Arrow
    columns without turning ten million links into Python objects (reading the whole tables of a
    10^6-link store took 3 s of a 7 s ``explain``). The files are opened here, so a load that
    prunes this content meanwhile (a server open for hours) does not take them away: an open
    file stays readable after it is unlinked.

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
    >>> len(tables.links), tables.loaded()
    (1, ['links'])
    """

    def __init__(self, folder: Path):  # not the dataclass's: the tables are set as they are read
        files = {name: pq.ParquetFile(folder / f"{name}.parquet") for name in TABLE_NAMES}
        dtypes = {name: json.loads((folder / f"{name}.dtypes.json").read_text(encoding="utf-8")) for name in TABLE_NAMES}
        object.__setattr__(self, "validated", True)
        object.__setattr__(self, "_files", files)
        object.__setattr__(self, "_dtypes", dtypes)

    def __getattr__(self, name: str):
        # only called for what is not set yet: a table read for the first time
        if name in TABLE_NAMES:
            frame = _arrow_frame(self._files[name].read(), self._dtypes[name])
            object.__setattr__(self, name, frame)
            return frame
        raise AttributeError(name)

    def loaded(self) -> list[str]:
        """The tables read into pandas so far."""
        return [name for name in TABLE_NAMES if name in vars(self)]

    def counts(self) -> dict[str, int]:
        """Rows per table, from the files' metadata (nothing is read)."""
        return {name: file.metadata.num_rows for name, file in self._files.items()}

    @functools.cached_property
    def _arrow_links(self) -> pa.Table:
        return self._files["links"].read()

    def links_touching(self, entity_ids) -> pd.DataFrame:
        """The link records with a source or target among ``entity_ids``, in table order and
        labelled by row, as ``links.iloc`` would give them, found in the Arrow columns."""
        links = self._arrow_links
        wanted = pa.array([str(e) for e in entity_ids], type=links.schema.field("source").type)
        hit = pc.or_(pc.is_in(links.column("source"), value_set=wanted), pc.is_in(links.column("target"), value_set=wanted))
        rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
        frame = _arrow_frame(links.take(rows), self._dtypes["links"])
        frame.index = pd.Index(rows)
        return frame


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
                _write_frame(frame, folder / f"{name}.parquet")
        self._publish(self.root / "tables", write)

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
                        tables: Tables) -> Projection | None:
        """The projection of ``tables`` (this content) under ``policy`` at ``as_of``, if kept."""
        folder = self._folder(policy, as_of, missing_share)
        if not (folder / "facts.json").exists():
            return None
        return _read_projection(folder, link_source(tables, policy, as_of, missing_share))

    def save_projection(self, policy: Policy, missing_share: MissingShare | None, projection: Projection) -> None:
        def write(folder: Path) -> None:
            _write_projection(folder, projection, {"policy": policy.name, "policy_hash": policy.hash})
        self._publish(self._folder(policy, projection.as_of, missing_share), write)

    def load_echo(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None) -> np.ndarray | None:
        path = self._folder(policy, as_of, missing_share) / "echo" / "echo.npy"
        return np.load(path) if path.exists() else None

    def save_echo(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None,
                  echo: np.ndarray) -> None:
        self._publish(self._folder(policy, as_of, missing_share) / "echo", lambda folder: np.save(folder / "echo.npy", echo))

    def load_run(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None) -> ModelRun | None:
        folder = self._folder(policy, as_of, missing_share) / "run"
        if not (folder / "run.json").exists():
            return None
        with np.load(folder / "run.npz") as arrays:
            columns = {name.removeprefix("column_"): arrays[name] for name in arrays.files if name.startswith("column_")}
            return ModelRun(arrays["total"], arrays["own"], columns,
                            json.loads((folder / "run.json").read_text(encoding="utf-8")))

    def save_run(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None,
                 run: ModelRun) -> None:
        def write(folder: Path) -> None:
            np.savez(folder / "run.npz", total=run.total, own=run.own,
                     **{f"column_{name}": values for name, values in run.columns.items()})
            (folder / "run.json").write_text(json.dumps(run.attrs), encoding="utf-8")
        self._publish(self._folder(policy, as_of, missing_share) / "run", write)
