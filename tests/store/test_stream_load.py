"""A load validated and copied in chunk by chunk (LadybugStore.load_chunks, what ``graphscore
load`` does with one folder of tables into an empty store): it must store exactly what the
whole-table load stores, and an error in any chunk must leave the store as it was."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

import graphscore as gs
import graphscore.io.tables as io_tables
from graphscore.cli import app
from graphscore.errors import InvalidData, StoreError
from graphscore.io import iter_tables, read_paths, write_tables
from graphscore.model import ValidatedStream
from graphscore.store.ladybug import LadybugStore
from graphscore.synthetic import generate_network

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A synthetic registry as CSV and as Parquet (some 12,000 links)."""
    root = tmp_path_factory.mktemp("stream")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = generate_network(2_500, seed=5)
    write_tables(tables, root / "csv")
    write_tables(tables, root / "parquet", format="parquet")
    return root


@pytest.fixture
def small_chunks(monkeypatch):
    """Readers cut files into many chunks: 500 Parquet rows, 32 KiB of CSV."""
    monkeypatch.setattr(io_tables, "CHUNK_ROWS", 500)
    monkeypatch.setattr(io_tables, "_CSV_BLOCK", 1 << 15)


def chunk_count(folder, name: str) -> int:
    return sum(1 for _ in iter_tables(folder)[name])


def empty_store(path) -> LadybugStore:
    store = LadybugStore(path)
    assert store.counts() == {"entities": 0, "links": 0, "penalties": 0}
    return store


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_a_streamed_load_stores_what_the_whole_load_stores(tmp_path, registry, small_chunks, form):
    folder = registry / form
    assert chunk_count(folder, "links") > 5 and chunk_count(folder, "entities") > 2
    with LadybugStore(tmp_path / "whole") as store:
        whole = store.load(read_paths([folder]))
        whole_tables, whole_content = store.read_tables(), store.read_content()
    with empty_store(tmp_path / "streamed") as store:
        streamed = store.load_chunks(iter_tables(folder))
        assert store.data_fingerprint() == streamed.fingerprint == whole.fingerprint
        streamed_tables, streamed_content = store.read_tables(), store.read_content()
    assert streamed.offered == whole.offered and streamed.stored == whole.stored
    assert streamed.written == whole.written
    for name, frame in whole_tables.items():
        pd.testing.assert_frame_equal(getattr(streamed_tables, name), frame, obj=name)
    for name, table in whole_content[0].items():  # the Arrow read-back the disk cache keeps
        assert streamed_content[0][name].equals(table), name
    assert (streamed_content[1] == whole_content[1]).all()
    # a second load of the same folder, streamed again, finds every row stored, writes
    # nothing, and does not replace the store's file with its copy
    database = tmp_path / "streamed" / "graph.lbug"
    before = database.stat().st_ino
    with LadybugStore(tmp_path / "streamed") as store:
        again = store.load_chunks(iter_tables(folder))
        assert store.data_fingerprint() == again.fingerprint == whole.fingerprint
    assert all(w["new"] == w["changed"] == 0 for w in again.written.values())
    assert {name: w["unchanged"] for name, w in again.written.items()} == whole.offered
    assert database.stat().st_ino == before


def _corrupt(folder, tmp_path, edit) -> tuple:
    """A copy of the CSV registry with ``edit(links, entities)`` applied to its raw text."""
    out = tmp_path / "bad"
    out.mkdir()
    frames = {name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
              for name in ("entities", "links", "penalties")}
    edit(frames["links"], frames["entities"])
    for name, frame in frames.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    return out


def test_an_error_in_a_later_chunk_leaves_the_store_untouched_and_names_file_line_field(tmp_path, registry,
                                                                                        small_chunks):
    row = 9_000  # data row 9,000 of links.csv: line 9,002, past the first chunks

    def edit(links, entities):
        links.loc[row, "share"] = "lots"
        links.loc[row + 1, "target"] = "nobody"
        entities.loc[len(entities)] = entities.loc[0]  # in the last chunk, a first chunk's id again
    bad = _corrupt(registry / "csv", tmp_path, edit)
    assert chunk_count(bad, "links") > 5
    with empty_store(tmp_path / "db") as store:
        with pytest.raises(InvalidData) as raised:
            store.load_chunks(iter_tables(bad))
        found = {(issue.where, issue.field, issue.reason) for issue in raised.value.issues}
        last_entity_line = len(pd.read_csv(bad / "entities.csv")) + 1
        assert found == {(f"entities.csv:{last_entity_line}", "id", "is a duplicate id"),
                         (f"links.csv:{row + 2}", "share", "is not a number"),
                         (f"links.csv:{row + 3}", "target", "is not a known entity id")}
        # what the whole-table validation says, in the same words
        with pytest.raises(InvalidData) as whole:
            read_paths([bad])
        assert {(i.where, i.field, i.reason) for i in whole.value.issues} == found
        assert store.counts() == {"entities": 0, "links": 0, "penalties": 0}
        assert store.data_fingerprint() is None
        assert not list((tmp_path / "db").glob("graph.lbug.next*"))
        assert store.load_chunks(iter_tables(registry / "csv")) is not None  # and it takes a load
        assert store.counts()["links"] > 10_000


def test_a_link_record_repeated_across_chunks_is_refused(tmp_path, registry, small_chunks):
    def edit(links, entities):
        links.loc[len(links) - 1] = links.loc[3]  # the last row repeats the fourth
    bad = _corrupt(registry / "csv", tmp_path, edit)
    with empty_store(tmp_path / "db") as store:
        with pytest.raises(InvalidData, match=rf"links.csv:{len(pd.read_csv(bad / 'links.csv')) + 1}: start"
                                              ".* repeats a link record"):
            store.load_chunks(iter_tables(bad))
        assert store.counts()["entities"] == 0


def test_many_errors_are_listed_up_to_the_limit_and_counted_beyond(tmp_path, registry, small_chunks):
    def edit(links, entities):
        links.loc[::10, "type"] = "LOVES"
    bad = _corrupt(registry / "csv", tmp_path, edit)
    result = CliRunner().invoke(app, ["load", str(bad), "--db", str(tmp_path / "db"), "-q"])
    assert result.exit_code != 0
    wrong = len(range(0, len(pd.read_csv(bad / "links.csv")), 10))
    assert "links.csv:2: type='LOVES' is not a link type" in result.output
    listed = [line for line in result.output.splitlines() if "is not a link type" in line]
    assert len(listed) == 200  # model._MAX_ISSUES
    assert f"{wrong - 200:,} more issues of the same kinds not listed" in result.output
    assert not (tmp_path / "db").exists()  # a failed first load leaves no store behind


def test_the_load_command_streams_into_an_empty_store_and_records_its_fingerprint(tmp_path, registry, small_chunks):
    db = tmp_path / "db"
    result = CliRunner().invoke(app, ["load", str(registry / "parquet"), "--db", str(db), "-q"])
    assert result.exit_code == 0, result.output
    assert not list((db / "graph.cache").glob("*/tables"))  # streamed: no tables held to cache
    with LadybugStore(db, read_only=True) as store:
        tables = store.read_tables()
        assert store.data_fingerprint() == tables.fingerprint()
    assert tables.counts() == read_paths([registry / "parquet"]).counts()


def test_over_full_assets_are_warned_of_as_the_whole_load_warns(tmp_path, registry, small_chunks):
    def edit(links, entities):
        owned = links.loc[(links["type"] == "OWNS") & (links["share"] != ""), "target"].unique()[:3]
        owners = entities.loc[entities["kind"] == "person", "id"].tolist()[:3]
        for asset, owner in zip(owned, owners):  # rows of the last chunk: the asset's other stakes came earlier
            links.loc[len(links)] = {**{c: "" for c in links.columns}, "source": owner, "target": asset,
                                     "type": "OWNS", "share": "0.99"}
    bad = _corrupt(registry / "csv", tmp_path, edit)

    def warned(load) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", gs.GraphscoreWarning)
            load()
        return [str(w.message) for w in caught if "sum to" in str(w.message)]

    whole = warned(lambda: read_paths([bad]))
    assert len(whole) == 1 and "(and 2 more assets)" in whole[0]
    keys = tmp_path / "keys"
    held = []

    def stream():
        for chunk in ValidatedStream(iter_tables(bad), spill=keys):
            held.append(sum(1 for _ in keys.rglob("*.bin")))  # kept on disk while the stream goes by
    assert warned(stream) == whole
    assert held[-1] > 0 and not keys.exists()
    with empty_store(tmp_path / "db") as store:
        assert warned(lambda: store.load_chunks(iter_tables(bad))) == whole
        assert not list((tmp_path / "db").glob("graph.lbug.next*"))  # the keys' folder gone with the copy


def test_the_keys_a_streamed_load_keeps_count_in_its_free_space_check(tmp_path, registry, small_chunks, monkeypatch):
    """Each chunk's free-space check counts what the stream keeps of its rows on disk beside the
    store's copy (``KEPT_ROW_BYTES`` a row): made larger than any disk, the load is refused
    before its first chunk is written, and the store is left empty, with no copy behind."""
    import graphscore.store.ladybug as ladybug_store
    from graphscore.errors import StoreError

    monkeypatch.setattr(ladybug_store, "KEPT_ROW_BYTES", 1 << 50)
    with empty_store(tmp_path / "db") as store:
        with pytest.raises(StoreError, match="not enough free space at "):
            store.load_chunks(iter_tables(registry / "parquet"))
        assert store.counts() == {"entities": 0, "links": 0, "penalties": 0}
    assert not list((tmp_path / "db").glob("graph.lbug.next*"))


class _Unread:
    """Chunks that fail when read: a load given them must not read its input."""

    def __iter__(self):
        raise AssertionError("the input was read")


def test_the_same_files_loaded_again_are_not_read(tmp_path, registry):
    from graphscore.io.digest import input_digest

    folder, store_path = registry / "parquet", tmp_path / "store"
    digest = input_digest([folder])
    with empty_store(store_path) as store:
        first = store.load_chunks(iter_tables(folder), digest=digest)
    database = store_path / "graph.lbug"
    before = database.stat().st_ino
    with LadybugStore(store_path) as store:  # the same bytes into the content their load left
        again = store.load_chunks({name: _Unread() for name in first.offered}, digest=digest)
        assert store.data_fingerprint() == again.fingerprint == first.fingerprint
    assert again.offered == first.offered and again.stored == first.stored
    assert {name: w["unchanged"] for name, w in again.written.items()} == first.offered
    assert all(w["new"] == w["changed"] == 0 for w in again.written.values())
    assert database.stat().st_ino == before
    # other bytes (here the same rows as CSV) are read and diffed: nothing changes, and the
    # store then notes them as the last input, so they too are not read a second time
    csv = input_digest([registry / "csv"])
    assert csv != digest
    with LadybugStore(store_path) as store:
        diffed = store.load_chunks(iter_tables(registry / "csv"), digest=csv)
        assert diffed.written == again.written
        assert store.load_chunks({name: _Unread() for name in first.offered}, digest=csv).written == again.written
        with pytest.raises(StoreError, match="the input was read"):  # no longer the last input
            store.load_chunks({name: _Unread() for name in first.offered}, digest=digest)


def test_a_digest_names_its_content_not_only_its_files(tmp_path, registry):
    """Once the store's content changes (another load), the same files are read again."""
    from graphscore.io.digest import input_digest

    folder, store_path = registry / "parquet", tmp_path / "store"
    digest = input_digest([folder])
    with empty_store(store_path) as store:
        store.load_chunks(iter_tables(folder), digest=digest)
        extra = tmp_path / "extra"
        extra.mkdir()
        (extra / "entities.csv").write_text("id,kind,name\nnew-person,person,N\n")
        store.load_chunks(iter_tables(extra))  # no digest: the last input is unknown
        assert store._last_input() is None
        with pytest.raises(StoreError, match="the input was read"):
            store.load_chunks({"entities": _Unread()}, digest=digest)
        again = store.load_chunks(iter_tables(folder), digest=digest)
    assert again.written["entities"]["new"] == 0 and again.stored["entities"] == again.offered["entities"] + 1


def test_the_load_command_records_its_input(tmp_path, registry):
    store_path = tmp_path / "store"
    for _ in range(2):
        result = CliRunner().invoke(app, ["load", str(registry / "parquet"), "--db", str(store_path), "-q"])
        assert result.exit_code == 0, result.output
    assert "0 new, 0 changed" in result.output
    with LadybugStore(store_path) as store:
        assert store._last_input()["offered"]["links"] == store.counts()["links"]


def test_staged_links_in_many_transactions_store_what_the_whole_load_stores(tmp_path, registry, monkeypatch):
    """The links kept by type and block of sources, read back in small tables and committed
    every 2,500 rows (as a 10^7-link load commits every 2x10^6): the same content."""
    import graphscore.store.ladybug as ladybug_store
    import graphscore.store.staging as staging

    monkeypatch.setattr(ladybug_store, "STREAM_ROWS", 2_500)
    monkeypatch.setattr(staging, "READ_ROWS", 600)
    folder = registry / "parquet"
    with LadybugStore(tmp_path / "whole") as store:
        whole = store.load(read_paths([folder]))
        whole_content = store.read_content()
    commits = []
    original = ladybug_store._Transactions.commit
    monkeypatch.setattr(ladybug_store._Transactions, "commit",
                        lambda self: (commits.append(self._open), original(self)))
    with empty_store(tmp_path / "streamed") as store:
        streamed = store.load_chunks(iter_tables(folder))
        content = store.read_content()
    assert sum(commits) >= sum(whole.offered.values()) // 2_500 and streamed.fingerprint == whole.fingerprint
    for name, table in whole_content[0].items():
        assert content[0][name].equals(table), name
    assert not list((tmp_path / "streamed").glob("*next*"))  # the staged links went with the copy
