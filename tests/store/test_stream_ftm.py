"""A FollowTheMoney file loaded chunk by chunk (graphscore.io.ftm.iter_ftm into
LadybugStore.load_chunks, what ``graphscore load FILE.json`` does into an empty store): it must
store exactly what the whole-file load stores, and bad records in any chunk must be reported
(file, line, field) with the store left as it was."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

import graphscore as gs
import graphscore.io.ftm as ftm
from graphscore.cli import app
from graphscore.errors import InvalidData
from graphscore.io import export, read_paths, table_chunks
from graphscore.io.ftm import iter_ftm, read_ftm
from graphscore.store.ladybug import LadybugStore
from graphscore.synthetic import generate_network
from tests.conftest import ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A synthetic registry written as FtM JSON lines (some 5,000 links)."""
    root = tmp_path_factory.mktemp("stream-ftm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(1_000, seed=3))
    return export(tables, "ftm", root / "registry.ftm.json")


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 7 rows (the sample's 17 entities in three); 250 for a registry (a store's
    transaction of many tiny COPYs runs out of its buffer pool: LadybugDB takes pages per
    column and statement)."""
    monkeypatch.setattr(ftm, "CHUNK_ROWS", 7)
    return monkeypatch


def registry_chunks(small_chunks):
    small_chunks.setattr(ftm, "CHUNK_ROWS", 250)


def loaded(path, db, *, streamed: bool):
    with LadybugStore(db) as store:
        summary = store.load_chunks(iter_ftm(path)) if streamed else store.load(read_paths([path]))
        return summary, store.read_tables(), store.read_content(), store.data_fingerprint()


@pytest.mark.parametrize("source", ["zala", "synthetic"])
def test_a_streamed_ftm_load_stores_what_the_whole_load_stores(tmp_path, registry, small_chunks, source):
    path = ZALA if source == "zala" else registry
    if source == "synthetic":
        registry_chunks(small_chunks)
    assert sum(1 for _ in iter_ftm(path)["entities"]) > 2 and sum(1 for _ in iter_ftm(path)["links"]) > 2
    whole, whole_tables, whole_content, whole_fingerprint = loaded(path, tmp_path / "whole", streamed=False)
    streamed, tables, content, fingerprint = loaded(path, tmp_path / "streamed", streamed=True)
    assert fingerprint == streamed.fingerprint == whole.fingerprint == whole_fingerprint
    assert streamed.offered == whole.offered and streamed.written == whole.written
    for name, frame in whole_tables.items():
        pd.testing.assert_frame_equal(getattr(tables, name), frame, obj=name)
    for name, table in whole_content[0].items():
        assert content[0][name].equals(table), name
    assert whole.offered["links"] > 0 and whole.offered["penalties"] > 0


def test_the_chunks_are_read_ftm_cut_into_pieces(registry, small_chunks):
    whole = read_ftm(registry)
    for name, chunks in iter_ftm(registry).items():
        chunks = list(chunks)
        assert all(len(chunk) <= 7 for chunk in chunks) and len(chunks) > 5
        joined = pd.concat(chunks, ignore_index=True)
        pd.testing.assert_frame_equal(joined, getattr(whole, name), obj=name)
        assert [line for chunk in chunks for line in chunk.attrs["lines"]] == list(getattr(whole, name).attrs["lines"])


def _edited(registry, tmp_path, edit):
    """A copy of the registry's FtM file with ``edit(records)`` applied to its records."""
    records = [json.loads(line) for line in registry.read_text(encoding="utf-8").splitlines()]
    edit(records)
    path = tmp_path / "bad.ftm.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path, records


def test_bad_records_in_later_chunks_are_named_by_file_line_and_field_and_nothing_is_written(
        tmp_path, registry, small_chunks):
    registry_chunks(small_chunks)
    found = {}

    def edit(records):
        owns = [i for i, r in enumerate(records) if r["schema"] == "Ownership"]
        sanctions = [i for i, r in enumerate(records) if r["schema"] == "Sanction"]
        people = [i for i, r in enumerate(records) if r["schema"] == "Person"]
        records[owns[-3]]["properties"]["percentage"] = ["150"]  # share 1.5
        records[sanctions[-1]]["properties"]["startDate"] = ["31/12/2020"]
        records[people[-1]]["id"] = records[people[0]]["id"]  # an id given twice, far apart
        found.update(share=owns[-3] + 1, start=sanctions[-1] + 1, id=people[-1] + 1)
    bad, _ = _edited(registry, tmp_path, edit)
    assert sum(1 for _ in iter_ftm(bad)["links"]) > 10
    expected = {(f"bad.ftm.json:{found['share']}", "share"), (f"bad.ftm.json:{found['start']}", "start"),
                (f"bad.ftm.json:{found['id']}", "id")}
    with LadybugStore(tmp_path / "db") as store:
        with pytest.raises(InvalidData) as raised:
            store.load_chunks(iter_ftm(bad))
        assert {(issue.where, issue.field) for issue in raised.value.issues} == expected
        with pytest.raises(InvalidData) as whole:  # the whole-file path says the same
            gs.validate(read_ftm(bad))
        assert {(i.where, i.field, i.reason) for i in whole.value.issues} == \
            {(i.where, i.field, i.reason) for i in raised.value.issues}
        assert store.counts() == {"entities": 0, "links": 0, "penalties": 0}
        assert store.data_fingerprint() is None
        assert not list((tmp_path / "db").glob("graph.lbug.next*"))


def test_an_unreadable_line_is_reported_before_any_chunk_is_handed_on(tmp_path, registry, small_chunks):
    registry_chunks(small_chunks)
    def edit(records):
        records.append("not an object")
    bad, records = _edited(registry, tmp_path, edit)
    chunks = iter_ftm(bad)
    with pytest.raises(InvalidData, match=rf"^bad.ftm.json:{len(records)}: json='\"not an object\"' is not a JSON object"):
        next(iter(chunks["entities"]))
    with LadybugStore(tmp_path / "db") as store:
        with pytest.raises(InvalidData):
            store.load_chunks(iter_ftm(bad))
        assert store.counts()["entities"] == 0


def test_the_load_command_streams_an_ftm_file_into_an_empty_store(tmp_path, registry, small_chunks):
    registry_chunks(small_chunks)
    assert table_chunks([registry]) is not None and table_chunks([registry, registry]) is None
    db = tmp_path / "db"
    result = CliRunner().invoke(app, ["load", str(registry), "--db", str(db), "-q"])
    assert result.exit_code == 0, result.output
    assert not list((db / "graph.cache").glob("*/tables"))  # streamed: no tables held to cache
    with LadybugStore(db, read_only=True) as store:
        assert store.data_fingerprint() == read_paths([registry]).fingerprint()


_KILLED_WHILE_READING = """
import os, signal, sys, tempfile
tempfile.tempdir = sys.argv[2]
from graphscore.io.ftm import iter_ftm
chunks = iter_ftm(sys.argv[1])  # held: its folder goes when it is collected
first = next(iter(chunks["links"]))  # the first pass has run: link rows kept on disk
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_link_rows_a_killed_load_kept_are_removed_by_the_next(tmp_path, registry, monkeypatch):
    import subprocess
    import sys
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    killed = subprocess.run([sys.executable, "-c", _KILLED_WHILE_READING, str(registry), str(scratch)])
    assert killed.returncode == -9
    left = list(scratch.glob("graphscore-ftm-*"))
    assert len(left) == 1 and any(left[0].iterdir())  # what SIGKILL left behind
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with LadybugStore(tmp_path / "db") as store:
        summary = store.load_chunks(iter_ftm(registry))
    assert summary.stored["links"] > 0
    assert not left[0].exists() and not list(scratch.iterdir())
