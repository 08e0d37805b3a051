"""The embedded store's bulk load: new rows copied in, changed rows updated, the rest untouched.

Every stored record is checked against the input field by field, over three loads of one
registry (issue: a second ``MERGE ... SET`` load scrambled link records in LadybugDB).
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd
import pytest

import graphscore as gs
from graphscore.errors import StoreError
from graphscore.model import link_keys
from graphscore.store.ladybug import LadybugStore
from graphscore.store.plan import diff_rows
from graphscore.synthetic import generate_network

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


def _sorted(df: pd.DataFrame, key: str) -> pd.DataFrame:
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def assert_store_holds(store: LadybugStore, tables: gs.Tables) -> None:
    """Every record of ``tables`` in the store, every field equal, and nothing else."""
    back = store.read_tables()
    for name, key in (("entities", "id"), ("penalties", "id")):
        pd.testing.assert_frame_equal(_sorted(getattr(back, name), key), _sorted(getattr(tables, name), key),
                                      check_dtype=False, obj=name)
    stored_links = back.links.assign(key=link_keys(back.links))
    expected_links = tables.links.assign(key=link_keys(tables.links))
    pd.testing.assert_frame_equal(_sorted(stored_links, "key"), _sorted(expected_links, "key"),
                                  check_dtype=False, obj="links")
    stored_keys = pd.concat([store.query(f"MATCH ()-[r:{t}]->() RETURN r.key AS key")
                             for t in gs.load_model().links])["key"]
    assert sorted(stored_keys) == sorted(expected_links["key"])  # the key each record is stored under


@pytest.fixture(scope="module")
def registry() -> gs.Tables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        return gs.validate(generate_network(5_000, seed=3))


def test_three_loads_of_one_registry_store_it_exactly(tmp_path, registry):
    """Each load in its own session, as three ``graphscore load`` runs are: closing the
    database checkpoints it, which is what exposed the MERGE ... SET corruption."""
    assert len(registry.links) > 20_000
    with LadybugStore(tmp_path / "db") as store:
        first = store.load(registry)
        assert first.written["links"] == {"new": len(registry.links), "changed": 0, "unchanged": 0}
        assert_store_holds(store, registry)
    for _ in range(2):
        with LadybugStore(tmp_path / "db") as store:
            again = store.load(registry)
            assert {name: w["new"] + w["changed"] for name, w in again.written.items()} == \
                   {"entities": 0, "links": 0, "penalties": 0}
            assert again.stored == first.stored == registry.counts()
        with LadybugStore(tmp_path / "db", read_only=True) as store:
            assert_store_holds(store, registry)


def test_the_same_registry_again_is_known_by_its_fingerprint_without_reading_the_store(tmp_path, registry,
                                                                                       monkeypatch):
    """A reload of exactly what the store holds is recognised by the fingerprint recorded with
    it: the stored tables are not read back (nor compared row by row), nothing is written, and
    the summary still carries the store's whole content in canonical order."""
    with LadybugStore(tmp_path / "db") as store:
        first = store.load(registry)
    shuffled = gs.Tables(*(df.sample(frac=1, random_state=0) for _, df in registry.items()), validated=True)
    with LadybugStore(tmp_path / "db") as store:
        def read_back():
            raise AssertionError("the store's tables were read back for a load that changes nothing")
        monkeypatch.setattr(store, "_read_validated", read_back)
        again = store.load(shuffled)
        assert again.fingerprint == first.fingerprint == store.data_fingerprint()
        assert again.written == {name: {"new": 0, "changed": 0, "unchanged": n} for name, n in registry.counts().items()}
        for name, df in again.tables.items():
            pd.testing.assert_frame_equal(df, getattr(first.tables, name), obj=name)
    one_more = gs.Tables(registry.entities.iloc[:-1], registry.links, registry.penalties, validated=True)
    with LadybugStore(tmp_path / "db") as store:  # a part of the content is compared as before
        monkeypatch.undo()
        part = store.load(one_more)
        assert part.written["entities"] == {"new": 0, "changed": 0, "unchanged": len(registry.entities) - 1}
        assert part.fingerprint == first.fingerprint


def test_a_reload_with_corrections_updates_those_records_only(tmp_path, registry):
    corrected = gs.Tables(registry.entities.copy(), registry.links.copy(), registry.penalties.copy())
    corrected.entities.loc[[0, 7], "name"] = ["Renamed Co", "Другое имя"]
    corrected.penalties.loc[3, "severity"] = 9.5
    corrected.penalties.loc[4, "end"] = pd.Timestamp("2030-01-01")
    owns = np.flatnonzero((corrected.links["type"] == "OWNS").to_numpy())[:3]
    corrected.links.loc[owns[0], "share"] = 0.123
    corrected.links.loc[owns[1], "end"] = pd.Timestamp("2025-05-05")
    corrected.links.loc[owns[2], "share"] = np.nan
    officer = np.flatnonzero((corrected.links["type"] == "OFFICER_OF").to_numpy())[0]
    corrected.links.loc[officer, "end"] = pd.Timestamp("9999-12-31")  # a register's "open" end date
    with LadybugStore(tmp_path / "db") as store:
        store.load(registry)
    for _ in range(2):  # a second session corrects, a third confirms the corrections hold
        with LadybugStore(tmp_path / "db") as store:
            summary = store.load(corrected)
    with LadybugStore(tmp_path / "db") as store:
        store.load(registry)
        summary = store.load(corrected)  # in one session too
        assert summary.written == {
            "entities": {"new": 0, "changed": 2, "unchanged": len(registry.entities) - 2},
            "penalties": {"new": 0, "changed": 2, "unchanged": len(registry.penalties) - 2},
            "links": {"new": 0, "changed": 4, "unchanged": len(registry.links) - 4},
        }
        assert summary.stored == registry.counts()
        assert_store_holds(store, corrected)


def test_a_load_in_many_statements_stores_the_registry_exactly(tmp_path, registry, monkeypatch):
    monkeypatch.setattr("graphscore.store.ladybug.LOAD_CHUNK_ROWS", 997)  # a prime: chunks cut mid-type
    with LadybugStore(tmp_path / "db") as store:
        written = store.load(registry).written
        assert written["links"]["new"] == len(registry.links) > 10 * 997
        assert_store_holds(store, registry)


def test_a_failure_beside_the_write_rolls_the_load_back(tmp_path, registry, monkeypatch):
    # the sorted content and its fingerprint are worked out in a thread while the rows are
    # written; when that thread fails, nothing the write did is kept
    first = gs.Tables(registry.entities, registry.links.iloc[:100], registry.penalties, validated=True)
    with LadybugStore(tmp_path / "db") as store:
        store.load(first)
    fingerprint = gs.Tables.fingerprint

    def failing(tables):
        if threading.current_thread().name.startswith("graphscore-settle"):
            raise MemoryError("no room to hash the content")
        return fingerprint(tables)

    monkeypatch.setattr(gs.Tables, "fingerprint", failing)
    with LadybugStore(tmp_path / "db") as store:
        with pytest.raises(StoreError, match="rolled back.*no room to hash"):
            store.load(registry)
    monkeypatch.undo()
    with LadybugStore(tmp_path / "db", read_only=True) as store:
        assert_store_holds(store, first)


def test_new_links_may_join_entities_stored_earlier(tmp_path, registry):
    entities = registry.entities
    first = gs.Tables(entities, registry.links.iloc[:0], registry.penalties.iloc[:0])
    second = gs.Tables(entities.iloc[:1], registry.links, registry.penalties)  # one restated, the rest stored
    with LadybugStore(tmp_path / "db") as store:
        store.load(first)
        summary = store.load(second)
        assert summary.written["links"]["new"] == len(registry.links)
        assert_store_holds(store, registry)


def assert_read_as_arrow(store: LadybugStore) -> None:
    """The Arrow read-back (what a command reads when the store recorded its fingerprint) gives
    the frames ``read_tables`` gives, validated, row for row, and the links' ends as entity rows."""
    from graphscore.cache import StoredTables
    from graphscore.engine.matrix import link_ends

    tables, ends = store.read_content()
    fast, slow = StoredTables.in_memory(tables, ends), store.read_tables()
    for name, frame in slow.items():
        pd.testing.assert_frame_equal(getattr(fast, name), frame, obj=name)
    kept, found = link_ends(fast.links, fast.entities), link_ends(slow.links, slow.entities)
    assert all(np.array_equal(k, f) for k, f in zip(kept, found)) and ends.dtype == np.int32


def test_the_arrow_read_back_gives_the_validated_tables_in_canonical_order(tmp_path, registry):
    """Over loads that leave rows out of order in storage (entities added later with ids that sort
    first, changed links deleted and copied in again at the end), columns with no value, some
    or all values, dates up to 9999-12-31 and text beyond ASCII; and on an empty store."""
    from tests.conftest import ZALA

    with LadybugStore(tmp_path / "empty") as store:
        tables, ends = store.read_content()
        assert {name: t.num_rows for name, t in tables.items()} == {"entities": 0, "links": 0, "penalties": 0}
        assert ends.shape == (2, 0)
    later = registry.entities["id"].isin(registry.entities["id"].sort_values().iloc[:50])
    known = registry.links["source"].isin(registry.entities.loc[~later, "id"]) & \
        registry.links["target"].isin(registry.entities.loc[~later, "id"])
    corrected = gs.Tables(registry.entities.copy(), registry.links.copy(), registry.penalties.copy())
    corrected.entities.loc[[0, 7], "name"] = ["Renamed Co", "Другое имя"]
    corrected.links.loc[corrected.links.index[:40], "end"] = pd.Timestamp("9999-12-31")
    corrected.links.loc[corrected.links.index[40:80], "share"] = 0.25
    with LadybugStore(tmp_path / "db") as store:
        store.load(gs.Tables(registry.entities[~later], registry.links[known],
                             registry.penalties[registry.penalties["entity"].isin(registry.entities.loc[~later, "id"])]))
        store.load(corrected)
        assert_read_as_arrow(store)
    with LadybugStore(tmp_path / "zala") as store:
        store.load(gs.read_path(ZALA))
        assert_read_as_arrow(store)


def test_the_read_back_orders_links_by_key_without_reading_the_keys(tmp_path):
    """The links' canonical order found from the entities' ids (``_key_order``) is their keys'
    order: ids of lengths 1, 9, 10 and 11 ("10:..." spells before "9:..."), text beyond ASCII
    (lengths in characters, order in UTF-8 bytes), and relations recorded several times, told
    apart by role, start (missing or not) and source reference alone."""
    import pyarrow as pa

    from graphscore.store import statements
    from graphscore.store.ladybug import _ascending, _key_order, _numbers, _spelled_ranks

    ids = ["b", "a", "z" * 9, "y" * 10, "x" * 11, "é", "Ω" * 10, "ab", "9" * 10]
    entities = pd.DataFrame({"id": ids, "kind": "person", "name": ids})
    pairs = [(s, t) for s in ids for t in ids if s != t]
    links = pd.DataFrame({"source": [s for s, _ in pairs], "target": [t for _, t in pairs], "type": "FAMILY",
                          "role": "sibling"})
    repeated = pd.DataFrame({"source": "a", "target": "b", "type": "FAMILY",
                             "role": ["parent", "sibling", "spouse", "spouse", "spouse", "spouse"],
                             "start": pd.to_datetime([None, "2021-01-01", None, "2020-01-01", "2020-01-01", "2019-05-02"]),
                             "source_ref": [None, None, None, "r2", "r10", None]})
    registry = gs.Tables(entities, pd.concat([links.iloc[1:], repeated]), pd.DataFrame(columns=["id", "entity", "kind",
                                                                                                 "severity", "start"]))
    with LadybugStore(tmp_path / "db") as store:
        store.load(registry)
        assert_read_as_arrow(store)
        reads = statements.arrow_reads()
        stored = store._read_arrow(reads["entities"][0])
        order = _ascending(stored.column("id"))
        ranked = np.argsort(order if order is not None else np.arange(stored.num_rows))
        row_of = np.zeros(int(_numbers(stored.column(statements.ENTITY_ROW)).max()) + 1, dtype=np.int64)
        row_of[_numbers(stored.column(statements.ENTITY_ROW))] = ranked
        ranks = _spelled_ranks(pa.array(sorted(ids, key=lambda i: i.encode())))
        part = store._read_arrow(reads["links"][list(gs.load_model().links).index("FAMILY")])
        source, target = (ranks[row_of[_numbers(part.column(c))]] for c in (statements.ENTITY_ROW, statements.TARGET_ROW))
        found, ends = _key_order(part, source * len(ids) + target)
        wanted = _ascending(part.column("key"))
        assert wanted is not None and found is not None and np.array_equal(found, wanted)
        assert np.array_equal(ends, (source * len(ids) + target)[wanted])


def test_diff_treats_two_missing_values_as_equal():
    stored = pd.DataFrame({"id": ["a", "b"], "share": [np.nan, 0.5]})
    incoming = pd.DataFrame({"id": ["a", "b"], "share": [np.nan, np.nan]})
    changes = diff_rows(incoming, stored, key="id")
    assert changes.changed["id"].tolist() == ["b"] and changes.unchanged == 1 and changes.new.empty


def test_a_load_reports_the_content_it_leaves_and_records_its_fingerprint(tmp_path, registry):
    part = gs.Tables(registry.entities, registry.links.iloc[: len(registry.links) // 2], registry.penalties)
    with LadybugStore(tmp_path / "db") as store:
        assert store.data_fingerprint() is None
        store.load(part)
        summary = store.load(registry)
        back = store.read_tables()
        for name, df in back.items():  # same rows in the same order: the projection's index
            pd.testing.assert_frame_equal(getattr(summary.tables, name), df, obj=name)
        assert summary.fingerprint == back.fingerprint() == store.data_fingerprint()
        store.forget_fingerprint()
        assert store.data_fingerprint() is None
        assert store.load(registry).written["links"]["new"] == 0  # re-records it, writes no rows
        assert store.data_fingerprint() == summary.fingerprint


def test_validated_tables_still_may_not_change_what_a_stored_record_is(tmp_path, registry):
    person = registry.entities.index[registry.entities["kind"] == "person"][0]
    changed = registry.entities.copy()
    changed.loc[person, "kind"] = "company"
    renamed = gs.validate(gs.Tables(changed.iloc[[person]], registry.links.iloc[:0], registry.penalties.iloc[:0]))
    with LadybugStore(tmp_path / "db") as store:
        store.load(registry)
        with pytest.raises(gs.InvalidData, match="kind='company' differs from the kind stored for this id"):
            store.load(renamed)
        assert store.data_fingerprint() == registry.fingerprint()


def test_canonical_order_sorts_as_python_does_and_leaves_sorted_tables_alone(registry):
    from graphscore.store.plan import canonical_order, with_link_keys
    entities = registry.entities.copy()
    entities.loc[entities.index[:4], "id"] = ["Ärzte", "Zeta", "éclair", "Ωmega"]  # code points past ASCII
    shuffled = gs.Tables(entities.sample(frac=1, random_state=0), registry.links.sample(frac=1, random_state=0),
                         registry.penalties.sample(frac=1, random_state=0), validated=True)
    ordered = canonical_order(with_link_keys(shuffled))
    assert ordered.entities["id"].tolist() == sorted(entities["id"])
    rank = {name: i for i, name in enumerate(gs.load_model().links)}
    assert list(zip(ordered.links["type"].map(rank), ordered.links["key"])) == sorted(
        zip(ordered.links["type"].map(rank), ordered.links["key"]))
    assert ordered.penalties["id"].tolist() == sorted(registry.penalties["id"])
    again = canonical_order(ordered)
    for name, df in again.items():
        pd.testing.assert_frame_equal(df, getattr(ordered, name))
    again.links.pop("key")  # a shallow copy: the tables it came from keep their columns
    assert "key" in ordered.links


def test_a_table_read_back_is_put_in_order_column_by_column_as_arrows_take_would():
    """``_taken`` takes the columns side by side (several threads) and lets go of each: the
    same table as Arrow's ``Table.take``, chunked columns, text and nulls included."""
    import pyarrow as pa

    from graphscore.store.ladybug import _taken

    rng = np.random.default_rng(0)
    rows = 50_001
    table = pa.table({"number": rng.random(rows), "text": [f"k{i % 97}" for i in range(rows)],
                      "parts": pa.chunked_array([np.arange(25_000), np.arange(25_001)]),
                      "empty": pa.nulls(rows, pa.string()), "flag": rng.random(rows) < 0.5})
    order = rng.permutation(rows)
    assert _taken([table], order).equals(table.take(order))
    assert _taken([table], None) is table
