"""Both stores, one suite, on real data: loads are atomic and idempotent, tables read back
intact, scores are written back for Cypher users.

The Neo4j runs need a live server: set ``GRAPHSCORE_NEO4J_URI`` (and ``GRAPHSCORE_NEO4J_USER``,
``GRAPHSCORE_NEO4J_PASSWORD``) to a database these tests may wipe (``tests/neo4j/start.sh``
starts one); otherwise they are skipped, except in CI, where that is a failure.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import graphscore as gs
from graphscore.io import read_paths
from graphscore.store.ladybug import LadybugStore
from tests.conftest import DATA, POLICIES, ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


@pytest.fixture
def zala() -> gs.Tables:
    return read_paths([ZALA])


def test_load_reads_back_the_same_tables(store, zala):
    store.load(zala)
    back = store.read_tables()
    assert back.counts() == zala.counts() == {"entities": 17, "links": 21, "penalties": 61}
    assert back.fingerprint() == zala.fingerprint()


def test_loading_twice_changes_nothing(store, zala):
    first = store.load(zala).stored
    fingerprint = store.read_tables().fingerprint()
    second = store.load(zala).stored
    assert first == second == {"entities": 17, "links": 21, "penalties": 61}
    assert store.read_tables().fingerprint() == fingerprint


def test_a_failing_load_leaves_the_previous_content(store, zala):
    store.load(zala)
    # Valid rows first, then a row the store itself refuses mid-transaction (a link whose
    # endpoint vanishes is impossible after validation). LadybugDB: a severity that validation
    # has not coerced breaks the database's own type check. Schema-free Neo4j takes any type,
    # so there a stray Penalty node, invisible to graphscore (no entity holds it), makes the
    # CREATE of the new penalty break the uniqueness constraint on penalty ids.
    broken = gs.Tables(
        pd.DataFrame({"id": ["new1"], "kind": ["company"], "name": ["New Co"]}),
        pd.DataFrame(),
        pd.DataFrame({"id": ["pX"], "entity": ["new1"], "kind": ["fine"], "severity": [1.0],
                      "start": ["2020-01-01"]}))
    valid = gs.validate(broken)
    if store.dialect == "ladybug":
        valid.penalties["severity"] = valid.penalties["severity"].astype(object)
        valid.penalties.loc[0, "severity"] = "not a number"
    else:
        store.query("CREATE (:Penalty {id: 'pX'})")
    before, counts = store.read_tables().fingerprint(), store.counts()

    # Validated tables are not validated again: the new entity is written before the penalty
    # fails, so only a rollback removes it.
    with pytest.raises(gs.StoreError, match="load rolled back, store unchanged"):
        store.load(valid)
    assert store.read_tables().fingerprint() == before
    assert store.counts() == counts
    assert store.query("MATCH (e:Entity {id: 'new1'}) RETURN count(e) AS n")["n"].tolist() == [0]


def test_bad_input_is_refused_before_anything_is_written(store, zala):
    store.load(zala)
    bad = gs.Tables(pd.DataFrame({"id": ["x1"], "kind": ["company"], "name": ["X"]}),
                    pd.DataFrame({"source": ["x1"], "target": ["nobody"], "type": ["OWNS"]}), pd.DataFrame())
    with pytest.raises(gs.InvalidData, match=r"links\[0\]: target='nobody' is not a known entity id"):
        store.load(bad)
    assert store.counts()["entities"] == 17


def test_links_may_refer_to_entities_already_stored(store, zala):
    store.load(zala)
    extra = gs.Tables(pd.DataFrame({"id": ["C-new"], "kind": ["company"], "name": ["Newco"]}),
                      pd.DataFrame({"source": ["NK-aU5ybkbRFJucf8YMwsJvDw"], "target": ["C-new"],
                                    "type": ["OWNS"], "share": [0.3]}), pd.DataFrame())
    store.load(extra)
    assert store.counts() == {"entities": 18, "links": 22, "penalties": 61}


def test_scores_are_written_back_for_cypher_users(store, zala):
    store.load(zala)
    tables = store.read_tables()
    policy = gs.load_policy(POLICIES / "joint-punishment.toml")
    scores = gs.score(tables, policy, as_of="2024-06-30")
    store.write_scores(scores, policy=policy, as_of=dt.date(2024, 6, 30))
    top_scores = (DATA.parent / "cypher" / "queries" / "top_scores.cypher").read_text()
    back = store.query(top_scores, {"limit": 1000})[["id", "total", "policy"]].set_index("id").sort_index()
    expected = scores[scores["total"] > 0].set_index("id").sort_index()
    assert back.index.tolist() == expected.index.tolist()
    pd.testing.assert_series_equal(back["total"], expected["total"], check_names=False, check_index_type=False)
    assert back["policy"].unique().tolist() == ["joint-punishment"]


def test_query_values_travel_as_parameters(store, zala):
    store.load(zala)
    hostile = "x'}) DETACH DELETE e //"
    result = store.query("MATCH (e:Entity) WHERE e.name = $name RETURN count(e) AS n", {"name": hostile})
    assert result["n"].tolist() == [0]
    assert store.counts()["entities"] == 17


def small(kind="company", penalty_entity="c1", end=None, dates=("2020-01-01", None)):
    return gs.Tables(
        pd.DataFrame({"id": ["c1", "c2", "p1"], "kind": [kind, "company", "person"], "name": ["A", "B", "P"]}),
        pd.DataFrame({"source": ["p1"], "target": ["c2"], "type": ["OWNS"], "share": [0.5],
                      "start": ["2020-01-01"], "end": [end]}),
        pd.DataFrame({"id": ["f1"], "entity": [penalty_entity], "kind": ["fine"], "severity": [1.0],
                      "start": [dates[0]], "end": [dates[1]]}))


def test_a_reload_cannot_change_a_kind_or_move_a_penalty(store):
    store.load(small())
    with pytest.raises(gs.InvalidData, match=r"entities\[0\]: kind='person' differs from the kind stored"):
        store.load(small(kind="person"))
    with pytest.raises(gs.InvalidData, match=r"penalties\[0\]: entity='c2' differs from the entity stored"):
        store.load(small(penalty_entity="c2"))
    assert store.read_tables().counts() == {"entities": 3, "links": 1, "penalties": 1}


def test_correcting_an_end_date_updates_the_record(store):
    store.load(small())
    store.load(small(end="2022-01-01"))
    links = store.read_tables().links
    assert len(links) == 1 and str(links.loc[0, "end"].date()) == "2022-01-01"


def test_open_ended_dates_survive_the_round_trip(store):
    store.load(small(dates=("0001-01-01", "9999-12-31")))
    penalty = store.read_tables().penalties.iloc[0]
    assert (str(penalty["start"].date()), str(penalty["end"].date())) == ("0001-01-01", "9999-12-31")


def test_store_paths_that_are_not_stores_are_refused(tmp_path):
    with pytest.raises(gs.StoreError, match="no graphscore store at"):
        LadybugStore(tmp_path / "typo", create=False)
    junk = tmp_path / "junk.lbug"
    junk.write_text("not a database")
    with pytest.raises(gs.StoreError, match="is not a graphscore store"):
        LadybugStore(junk)


def test_a_store_from_another_data_model_is_refused(tmp_path):
    with LadybugStore(tmp_path) as store:
        store.query("MATCH (m:GraphscoreMeta) SET m.value = 'older'")
    with pytest.raises(gs.StoreError, match="made for another version of graphscore's data model"):
        LadybugStore(tmp_path)


def test_read_only_stores_refuse_writes(tmp_path, zala):
    with LadybugStore(tmp_path) as store:
        store.load(zala)
    with LadybugStore(tmp_path, read_only=True) as store:
        with pytest.raises(gs.StoreError, match="read-only query refused: SET changes the store"):
            store.query("MATCH (e:Entity) SET e.name = 'x'")
        assert store.counts()["entities"] == 17
