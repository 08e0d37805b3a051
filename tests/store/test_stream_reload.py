"""A streamed load into a store that holds content (LadybugStore.load_chunks with a stored
index, what ``graphscore load`` does with one folder of tables or one FtM file into any store
whose content's fingerprint it recorded): new rows copied in, stored ones diffed by key, only
the changed ones rewritten. It must leave exactly what the whole-table load leaves, count new,
changed and unchanged rows as it does, refuse what it refuses (a kind changed, a penalty moved)
with the store as it was, and write nothing when the input is what the store holds."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import graphscore as gs
import graphscore.io.ftm as ftm
import graphscore.io.tables as io_tables
from graphscore.cli import app
from graphscore.errors import InvalidData
from graphscore.io import iter_tables, read_paths, write_tables
from graphscore.io.bods import iter_bods
from graphscore.io.ftm import iter_ftm
from graphscore.model import TABLE_NAMES
from graphscore.store.ladybug import LadybugStore
from graphscore.synthetic import generate_network
from graphscore.synthetic_bods import write_bods
from tests.conftest import ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


def revised(tables: gs.Tables, new: int = 40) -> gs.Tables:
    """A later edition of a raw registry: every third entity renamed, every fifth stake halved,
    every fourth penalty twice as severe; ``new`` people, each owning a stored company and
    holding a penalty; and the first ten entities, twenty links and five penalties left out
    (a load never deletes: the input's links and penalties may still refer to them)."""
    entities, links, penalties = (frame.copy() for _, frame in tables.items())
    entities.loc[::3, "name"] = entities.loc[::3, "name"] + " (renamed)"
    stakes = links.index[(links["type"] == "OWNS") & links["share"].notna()][::5]
    links.loc[stakes, "share"] = links.loc[stakes, "share"] / 2
    penalties.loc[::4, "severity"] = penalties.loc[::4, "severity"] * 2
    people = [f"NEW-P{i:03d}" for i in range(new)]
    companies = entities.loc[entities["kind"] == "company", "id"].to_numpy()[:new]
    entities = pd.concat([entities.iloc[10:], pd.DataFrame({"id": people, "kind": "person",
                                                           "name": [f"New Person {i}" for i in range(new)]})])
    links = pd.concat([links.iloc[20:], pd.DataFrame({"source": people, "target": companies, "type": "OWNS",
                                                      "share": 0.001, "start": "2024-01-01"})])
    penalties = pd.concat([penalties.iloc[5:], pd.DataFrame({
        "id": [f"NEW-X{i:03d}" for i in range(new)], "entity": people[:new // 2] + list(companies[:new - new // 2]),
        "kind": "fine", "severity": 0.5, "start": "2024-02-01"})])
    return gs.Tables(*(frame.reset_index(drop=True) for frame in (entities, links, penalties)))


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A synthetic registry (some 12,000 links) and its revised edition, as CSV and as Parquet."""
    root = tmp_path_factory.mktemp("reload")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = generate_network(2_500, seed=5)
    for form in ("csv", "parquet"):
        write_tables(tables, root / "base" / form, format=form)
        write_tables(revised(tables), root / "revised" / form, format=form)
    return root


@pytest.fixture
def small_chunks(monkeypatch):
    """Readers cut files into many chunks: 500 Parquet rows, 32 KiB of CSV, 250 FtM rows."""
    monkeypatch.setattr(io_tables, "CHUNK_ROWS", 500)
    monkeypatch.setattr(io_tables, "_CSV_BLOCK", 1 << 15)
    monkeypatch.setattr(ftm, "CHUNK_ROWS", 250)


def stored(db) -> tuple:
    """A store's tables (links with no key), its Arrow read-back and its recorded fingerprint."""
    with LadybugStore(db, read_only=True) as store:
        return store.read_tables(), store.read_content(), store.data_fingerprint()


def assert_same_store(db, expected_db) -> None:
    tables, content, fingerprint = stored(db)
    expected_tables, expected_content, expected_fingerprint = stored(expected_db)
    assert fingerprint == expected_fingerprint == tables.fingerprint()
    for name, frame in expected_tables.items():
        pd.testing.assert_frame_equal(getattr(tables, name), frame, obj=name)
    for name, table in expected_content[0].items():
        assert content[0][name].equals(table), name
    assert (content[1] == expected_content[1]).all()


def both_ways(tmp_path, first, second, chunks) -> tuple:
    """``second`` loaded into a store holding ``first``: by the whole-table path, and streamed
    (``chunks(second)``); their summaries."""
    summaries = []
    for way in ("whole", "streamed"):
        with LadybugStore(tmp_path / way) as store:
            store.load(read_paths([first]))
            if way == "whole":  # as the command does: links may refer to the stored entities
                summaries.append(store.load(read_paths([second], known_entities=store.entity_kinds())))
            else:
                summaries.append(store.load_chunks(chunks(second)))
    return summaries


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_a_streamed_reload_stores_and_counts_what_the_whole_load_does(tmp_path, registry, small_chunks, form):
    base, second = registry / "base" / form, registry / "revised" / form
    whole, streamed = both_ways(tmp_path, base, second, iter_tables)
    assert streamed is not None
    assert streamed.written == whole.written and streamed.offered == whole.offered
    # printed in that order by `graphscore load`, by either path and either store (Neo4j's is the whole path)
    assert list(streamed.written) == list(whole.written) == list(TABLE_NAMES)
    assert streamed.stored == whole.stored and streamed.fingerprint == whole.fingerprint
    written = streamed.written
    assert written["entities"]["new"] == written["links"]["new"] == 40 and written["penalties"]["new"] == 40
    assert min(w["changed"] for w in written.values()) > 30 and min(w["unchanged"] for w in written.values()) > 80
    assert_same_store(tmp_path / "streamed", tmp_path / "whole")
    # the same edition again: every row unchanged, nothing written, the same fingerprint
    with LadybugStore(tmp_path / "streamed") as store:
        again = store.load_chunks(iter_tables(second))
    assert {name: w["unchanged"] for name, w in again.written.items()} == streamed.offered
    assert again.fingerprint == streamed.fingerprint
    assert_same_store(tmp_path / "streamed", tmp_path / "whole")


def test_a_streamed_reload_of_the_bundled_ftm_sample(tmp_path, small_chunks):
    """The OpenSanctions sample loaded, then a revised copy of it streamed in (a name, a stake
    and a sanction's date changed, a new officer of a stored company)."""
    records = [json.loads(line) for line in ZALA.read_text(encoding="utf-8").splitlines()]
    edited = {"Person": False, "Ownership": False, "Sanction": False}
    for record in records:
        schema, properties = record["schema"], record["properties"]
        if schema == "Person" and not edited[schema]:
            properties["name"] = [properties["name"][0] + " (renamed)"]
            record.pop("caption", None)
        elif schema == "Ownership" and properties.get("percentage") and not edited[schema]:
            properties["percentage"] = ["12"]
        elif schema == "Sanction" and properties.get("startDate") and not edited[schema]:
            properties["startDate"] = ["2023-01-01"]
        else:
            continue
        edited[schema] = True
    company = next(r["id"] for r in records if r["schema"] == "Company")
    records += [{"id": "new-person", "schema": "Person", "properties": {"name": ["New Director"]}},
                {"id": "new-role", "schema": "Directorship",
                 "properties": {"director": ["new-person"], "organization": [company], "role": ["Director"]}}]
    assert all(edited.values())
    second = tmp_path / "revised.ftm.json"
    second.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    whole, streamed = both_ways(tmp_path, ZALA, second, iter_ftm)
    assert streamed.written == whole.written and streamed.fingerprint == whole.fingerprint
    assert streamed.written["entities"] == {"new": 1, "changed": 1, "unchanged": whole.offered["entities"] - 2}
    assert streamed.written["links"]["new"] == 1 and streamed.written["links"]["changed"] == 1
    assert streamed.written["penalties"]["changed"] >= 1
    assert_same_store(tmp_path / "streamed", tmp_path / "whole")


def test_what_a_store_forbids_is_refused_naming_file_line_and_field_and_nothing_is_written(
        tmp_path, registry, small_chunks):
    base = registry / "base" / "csv"
    frames = {name: pd.read_csv(base / f"{name}.csv", dtype=str, keep_default_na=False)
              for name in ("entities", "links", "penalties")}
    entities, links, penalties = frames["entities"], frames["links"], frames["penalties"]
    person = entities.index[entities["kind"] == "person"][-1]  # a late chunk
    entities.loc[person, "kind"] = "company"
    penalties.loc[len(penalties) - 1, "entity"] = entities.loc[0, "id"]  # moved to another entity
    links.loc[len(links) - 2, "target"] = "nobody"
    # stored, referred to by links: still known
    frames["entities"] = entities.drop(index=range(1, 6)).reset_index(drop=True)
    bad = tmp_path / "bad"
    bad.mkdir()
    for name, frame in frames.items():
        frame.to_csv(bad / f"{name}.csv", index=False)
    db = tmp_path / "db"
    with LadybugStore(db) as store:
        store.load(read_paths([base]))
    before = stored(db)
    with LadybugStore(db) as store:
        with pytest.raises(InvalidData) as raised:
            store.load_chunks(iter_tables(bad))
    found = {(issue.where, issue.field, issue.reason) for issue in raised.value.issues}
    assert found == {
        (f"entities.csv:{person - 5 + 2}", "kind", "differs from the kind stored for this id (a reload cannot change it)"),
        (f"penalties.csv:{len(penalties) + 1}", "entity",
         "differs from the entity stored for this penalty id (a reload cannot move it)"),
        (f"links.csv:{len(links)}", "target", "is not a known entity id")}
    after = stored(db)
    assert after[2] == before[2] and after[0].fingerprint() == before[0].fingerprint()
    assert not list(db.glob("graph.lbug.next*"))


def test_without_a_recorded_fingerprint_the_whole_table_path_loads(tmp_path, registry, small_chunks):
    db = tmp_path / "db"
    with LadybugStore(db) as store:
        store.load(read_paths([registry / "base" / "csv"]))
        store.forget_fingerprint()  # as a cypher --write does: the stored rows are validated again
        assert store.load_chunks(iter_tables(registry / "revised" / "csv")) is None
    result = CliRunner().invoke(app, ["load", str(registry / "revised" / "csv"), "--db", str(db), "-q"])
    assert result.exit_code == 0, result.output
    with LadybugStore(db, read_only=True) as store:
        assert store.data_fingerprint() == store.read_tables().fingerprint()


def test_the_load_command_streams_into_a_store_with_content(tmp_path, registry, small_chunks):
    db = tmp_path / "db"
    runner = CliRunner()
    assert runner.invoke(app, ["load", str(registry / "base" / "parquet"), "--db", str(db), "-q"]).exit_code == 0
    result = runner.invoke(app, ["load", str(registry / "revised" / "parquet"), "--db", str(db), "-q"])
    assert result.exit_code == 0, result.output
    assert "entities 40 new" in result.output and "links 40 new" in result.output
    assert not list((db / "graph.cache").glob("*/tables"))  # streamed: no tables held to cache
    with LadybugStore(db, read_only=True) as store:
        assert store.data_fingerprint() == store.read_tables().fingerprint()
    whole = tmp_path / "whole"
    with LadybugStore(whole) as store:
        store.load(read_paths([registry / "base" / "parquet"]))
        store.load(read_paths([registry / "revised" / "parquet"], known_entities=store.entity_kinds()))
    assert_same_store(db, whole)


@pytest.mark.parametrize("name", ["bods-package.json", "synthetic.jsonl"])
def test_bods_statements_go_the_streamed_way_into_a_store_with_content(tmp_path, name):
    """BODS is read in passes, chunk by chunk (here of 7 rows, so that relationships and the
    records they name, and a relationship's series, fall in different chunks): into a store
    holding the FtM sample, it stores what the whole path stores."""
    package = Path(__file__).parents[1] / "io" / "bods_examples" / name
    if name == "synthetic.jsonl":
        package = write_bods(tmp_path / name, 400, seed=2, lines=True)
    whole, streamed = both_ways(tmp_path, ZALA, package, lambda path: iter_bods(path, chunk_rows=7))
    assert streamed.written == whole.written and streamed.written["entities"]["new"] > 0
    assert streamed.fingerprint == whole.fingerprint
    assert_same_store(tmp_path / "streamed", tmp_path / "whole")
