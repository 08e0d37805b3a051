"""Derived results kept on disk beside a store, so a second command starts where the first ended.

Everything here is keyed by the data fingerprint the store recorded in its last load
(:meth:`graphscore.store.base.CypherStore.data_fingerprint`): a load changes the fingerprint,
so nothing computed from older content is ever read again (and :meth:`DiskCache.prune` removes
it). Layout, under the cache folder::

    <fingerprint>/tables/{entities,links,penalties}.parquet       validated tables
    <fingerprint>/<policy hash>-<as-of>-<missing share>/          one projection and its baseline
        arrays.npz  edges.parquet  penalties.parquet  ids.parquet  facts.json  run/  echo/
        layer-<k>/                                                 link_time = "at_penalty": one per layer

Writing is best effort: a read-only or full disk only means the next command computes again.
Files are written to a temporary folder and renamed into place, so a reader never sees half a
result, even beside a writer killed mid-way.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import scipy as sp

from graphscore.engine.matrix import Projection
from graphscore.engine.run import ModelRun
from graphscore.model import TABLE_NAMES, Tables
from graphscore.policy import Combine, MissingShare, Policy

__all__ = ["DiskCache"]


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    """A frame as Parquet, and beside it the dtype of each column (Parquet reads text back as
    Arrow-backed strings, where validated tables hold Python objects)."""
    bare = frame.copy(deep=False)
    bare.attrs = {}  # readers' file and line records are for error messages, not for the cache
    bare.to_parquet(path, index=False)
    dtypes = {str(column): str(dtype) for column, dtype in frame.dtypes.items()}
    path.with_suffix(".dtypes.json").write_text(json.dumps(dtypes), encoding="utf-8")


def _read_frame(path: Path) -> pd.DataFrame:
    """A frame :func:`_write_frame` wrote, with its dtypes as they were."""
    frame = pd.read_parquet(path)
    for column, dtype in json.loads(path.with_suffix(".dtypes.json").read_text(encoding="utf-8")).items():
        if dtype == "object":
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        elif str(frame[column].dtype) != dtype:
            frame[column] = frame[column].astype(dtype)
    return frame


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
    _write_frame(projection.edges, folder / "edges.parquet")
    _write_frame(projection.penalties, folder / "penalties.parquet")
    facts = {"as_of": projection.as_of.isoformat(), "combine": projection.combine.value,
             "notes": list(projection.notes), "layers": len(projection.layers),
             "links_at": None if projection.links_at is None else projection.links_at.isoformat(), **about}
    for k, layer in enumerate(projection.layers):
        (folder / f"layer-{k}").mkdir()
        _write_projection(folder / f"layer-{k}", layer, about)
    (folder / "facts.json").write_text(json.dumps(facts), encoding="utf-8")


def _read_projection(folder: Path) -> Projection:
    facts = json.loads((folder / "facts.json").read_text(encoding="utf-8"))
    with np.load(folder / "arrays.npz") as arrays:
        W = sp.sparse.csr_array((arrays["data"], arrays["indices"], arrays["indptr"]),
                                shape=tuple(arrays["shape"]))
        s = arrays["s"]
        values = arrays["values"] if "values" in arrays else None
    ids = pd.Index(_read_frame(folder / "ids.parquet")["id"], name="id")
    layers = tuple(_read_projection(folder / f"layer-{k}") for k in range(facts.get("layers", 0)))
    links_at = None if facts.get("links_at") is None else pd.Timestamp(facts["links_at"])
    return Projection(ids, W, s, _read_frame(folder / "edges.parquet"), _read_frame(folder / "penalties.parquet"),
                      pd.Timestamp(facts["as_of"]), Combine(facts["combine"]), tuple(facts["notes"]), values,
                      links_at, layers)


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
    def load_tables(self) -> Tables | None:
        folder = self.root / "tables"
        if not folder.is_dir():
            return None
        return Tables(**{name: _read_frame(folder / f"{name}.parquet") for name in TABLE_NAMES}, validated=True)

    def save_tables(self, tables: Tables) -> None:
        def write(folder: Path) -> None:
            for name, frame in tables.items():
                _write_frame(frame, folder / f"{name}.parquet")
        self._publish(self.root / "tables", write)

    # -- projections and model runs ------------------------------------------------------------
    def _folder(self, policy: Policy, as_of: pd.Timestamp, missing_share: MissingShare | None) -> Path:
        return self.root / f"{policy.hash[:16]}-{as_of.date().isoformat()}-{missing_share.value if missing_share else 'policy'}"

    def load_projection(self, policy: Policy, as_of: pd.Timestamp,
                        missing_share: MissingShare | None) -> Projection | None:
        folder = self._folder(policy, as_of, missing_share)
        if not (folder / "facts.json").exists():
            return None
        return _read_projection(folder)

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
