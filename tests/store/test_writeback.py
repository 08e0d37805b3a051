"""The score write-back writes what differs from what the store holds, and nothing for a zero,
on both stores (the ``store`` fixture: LadybugDB, and a live Neo4j when GRAPHSCORE_NEO4J_URI is
set); the plan it writes, worked by hand (graphscore/store/writeback.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import graphscore as gs
from graphscore.store import statements
from graphscore.store.ladybug import LadybugStore
from graphscore.store.writeback import plan_scores
from tests.conftest import DATA

QUERIES = DATA.parent / "cypher" / "queries"
POLICY = gs.parse_policy('name = "hand"\n[[transmit]]\nlink = "OWNS"\ndirection = "backward"\nweight = "share"')
# the same name, another rule: another hash
REWEIGHTED = gs.parse_policy('name = "hand"\n[[transmit]]\nlink = "OWNS"\ndirection = "backward"\nweight = 0.5')
NO_PENALTIES = pd.DataFrame(columns=["id", "entity", "kind", "severity", "start"])
DAY, LATER = dt.date(2024, 1, 1), dt.date(2024, 6, 30)


@pytest.fixture
def abcde(store):
    frame = pd.DataFrame({"id": list("ABCDE"), "kind": "company", "name": list("ABCDE")})
    store.load(gs.validate(gs.Tables(frame, pd.DataFrame(columns=["source", "target", "type"]), NO_PENALTIES)))
    return store


def scores(totals: dict[str, float]) -> pd.DataFrame:
    values = [float(v) for v in totals.values()]
    return pd.DataFrame({"id": list(totals), "own": values, "echo": 0.0, "inherited": 0.0, "total": values})


def held(store) -> dict[str, list[tuple]]:
    """Everything the store holds of scores, written_at included, as sorted rows."""
    def rows(query: str) -> list[tuple]:
        frame = store.query(query)
        return sorted(tuple("<null>" if pd.isna(v) else str(v) for v in row) for row in frame.itertuples(index=False))
    return {
        "last": rows(statements.READ_META.replace("$key", f"'{statements.LAST_SCORE_RUN}'")),
        "records": rows("MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord) RETURN e.id, s.key, s.own, s.echo, "
                        "s.inherited, s.total, s.score_policy, s.score_as_of"),
        "runs": rows("MATCH (r:ScoreRun) RETURN r.key, r.score_policy, r.score_policy_hash, r.score_as_of, "
                     "r.written_at, r.entities"),
    }


def totals(store) -> dict[str, dict[str, float]]:
    """Entity totals in the run written last (top_scores), and per as-of date as records: what a
    reader sees."""
    found = store.query((QUERIES / "top_scores.cypher").read_text(), {"limit": 100})[["id", "total"]]
    records = store.query("MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord) "
                          "RETURN e.id AS id, s.score_as_of AS as_of, s.total AS total")
    history = {}
    for entity, as_of, total in records.itertuples(index=False):
        history.setdefault(str(pd.Timestamp(as_of).date()), {})[entity] = total
    return {"last": dict(found.itertuples(index=False)), **history}


def test_the_same_scores_again_write_nothing_and_leave_the_store_as_it_was(abcde):
    assert abcde.write_scores(scores({"A": 1, "B": 0, "C": 2, "D": 0, "E": 0.25}), policy=POLICY, as_of=DAY) == 3
    before = held(abcde)
    token = abcde.query(statements.READ_META, {"key": "last_write"}) if isinstance(abcde, LadybugStore) else None
    assert abcde.write_scores(scores({"A": 1, "B": 0, "C": 2, "D": 0, "E": 0.25}), policy=POLICY, as_of=DAY) == 0
    assert held(abcde) == before  # written_at too: not even the run was written
    if token is not None:  # no transaction at all on the embedded store (each records a token of its own)
        pd.testing.assert_frame_equal(abcde.query(statements.READ_META, {"key": "last_write"}), token)


def test_a_changed_score_is_rewritten_and_a_zero_removes_what_was_stored(abcde):
    abcde.write_scores(scores({"A": 1, "B": 2, "C": 0, "D": 3, "E": 0}), policy=POLICY, as_of=DAY)
    # A to zero, B changed, C from zero, D and E unchanged
    assert abcde.write_scores(scores({"A": 0, "B": 5, "C": 4, "D": 3, "E": 0}), policy=POLICY, as_of=DAY) == 3
    assert totals(abcde) == {"last": {"B": 5.0, "C": 4.0, "D": 3.0}, "2024-01-01": {"B": 5.0, "C": 4.0, "D": 3.0}}
    # a new date keeps the first one's records; top_scores reads the last write
    abcde.write_scores(scores({"A": 7, "B": 5, "C": 0, "D": 0, "E": 0}), policy=POLICY, as_of=LATER)
    assert totals(abcde) == {"last": {"A": 7.0, "B": 5.0}, "2024-01-01": {"B": 5.0, "C": 4.0, "D": 3.0},
                             "2024-06-30": {"A": 7.0, "B": 5.0}}
    # the first date again: its records as they were (no entity's stored score changes), its
    # run written again, the last: top_scores reads it
    assert abcde.write_scores(scores({"A": 0, "B": 5, "C": 4, "D": 3, "E": 0}), policy=POLICY, as_of=DAY) == 0
    assert totals(abcde)["last"] == {"B": 5.0, "C": 4.0, "D": 3.0}
    assert abcde.query("MATCH (s:ScoreRecord) RETURN count(s) AS n")["n"].tolist() == [5]


def test_a_zero_score_is_stored_as_nothing_and_reads_as_zero(abcde):
    abcde.write_scores(scores({"A": 0, "B": 1, "C": 0, "D": 0, "E": 0}), policy=POLICY, as_of=DAY)
    assert totals(abcde) == {"last": {"B": 1.0}, "2024-01-01": {"B": 1.0}}
    run = abcde.query("MATCH (r:ScoreRun) RETURN r.score_policy AS policy, r.entities AS entities")
    assert run.values.tolist() == [["hand", 5]]  # the run says five were scored: the other four scored zero
    # top_scores lists what scored something
    assert abcde.query((QUERIES / "top_scores.cypher").read_text(), {"limit": 10})["id"].tolist() == ["B"]
    # A had no record on DAY: it rose from zero
    abcde.write_scores(scores({"A": 2, "B": 1, "C": 0, "D": 0, "E": 0}), policy=POLICY, as_of=LATER)
    found = abcde.query((QUERIES / "score_rose_since.cypher").read_text(), {"policy": "hand", "since": DAY})
    assert found[["id", "total_before", "total_latest", "rise"]].values.tolist() == [["A", 0.0, 2.0, 2.0]]


def test_another_hash_for_the_same_scores_rewrites_the_run_not_the_records(abcde):
    abcde.write_scores(scores({"A": 1, "B": 2, "C": 0, "D": 0, "E": 0}), policy=POLICY, as_of=DAY)
    records = held(abcde)["records"]
    assert abcde.write_scores(scores({"A": 1, "B": 2, "C": 0, "D": 0, "E": 0}), policy=REWEIGHTED, as_of=DAY) == 0
    assert held(abcde)["records"] == records
    assert set(abcde.query("MATCH (r:ScoreRun) RETURN r.score_policy_hash AS h")["h"]) == {REWEIGHTED.hash}


def test_a_killed_write_backs_number_is_taken_by_no_later_run(abcde):
    """A write-back killed before its run leaves records keyed by the number it took: a later run
    of another policy or date takes the next number (no key of its records meets theirs), and the
    next write-back of the killed one's policy and date removes them and takes a number of its own."""
    other = gs.parse_policy('name = "other"\n[[transmit]]\nlink = "OWNS"\ndirection = "backward"\nweight = 1.0')
    abcde.write_scores(scores({"A": 1, "B": 2, "C": 0, "D": 0, "E": 0}), policy=other, as_of=DAY)
    # what a kill before the run leaves: the records, the number claimed, no run
    abcde.query("MATCH (r:ScoreRun) DELETE r")
    abcde.query(statements.DELETE_META, {"key": statements.LAST_SCORE_RUN})
    assert abcde.write_scores(scores({"A": 3, "B": 4, "C": 0, "D": 0, "E": 0}), policy=POLICY, as_of=DAY) == 2
    keys = lambda: sorted(abcde.query("MATCH (s:ScoreRecord) RETURN s.key AS key")["key"])  # noqa: E731
    assert keys() == ["1:A", "1:B", "2:A", "2:B"]
    assert totals(abcde) == {"last": {"A": 3.0, "B": 4.0}, "2024-01-01": {"A": 3.0, "B": 4.0}}
    assert abcde.write_scores(scores({"A": 1, "B": 0, "C": 0, "D": 0, "E": 5}), policy=other, as_of=DAY) == 2
    assert keys() == ["2:A", "2:B", "3:A", "3:E"]


@pytest.mark.parametrize("rows", [1, 3])
def test_a_write_back_past_one_transaction_leaves_what_one_transaction_leaves(tmp_path, monkeypatch, rows):
    """Past SCORE_ROWS rows (or FIRST_COPY_ROWS new records) the embedded store writes a run of a
    new policy and date on itself, its records by COPY (every SCORE_COPY_ROWS) and the run last, and rewrites a stored run on a
    copy of itself, committing every SCORE_ROWS rows, which then replaces it (its memory
    bounded whatever the register's size): through a first write, changes, zeros and a new date
    it must leave exactly what one transaction leaves (written_at aside)."""
    import graphscore.store.ladybug as ladybug_store

    writes = [({"A": 1, "B": 2, "C": 0, "D": 3, "E": 4}, DAY), ({"A": 0, "B": 5, "C": 4, "D": 3, "E": 4}, DAY),
              ({"A": 0, "B": 5, "C": 4, "D": 3, "E": 4}, DAY), ({"A": 7, "B": 5, "C": 0, "D": 0, "E": 0}, LATER),
              ({"A": 0, "B": 5, "C": 4, "D": 3, "E": 0}, DAY)]
    ways = []
    for name in ("_on_a_copy", "_write_first_run"):
        method = getattr(LadybugStore, name)
        monkeypatch.setattr(LadybugStore, name, lambda self, *a, _m=method, _n=name, **kw: ways.append(_n) or _m(self, *a, **kw))
    found = {}
    for limit in (ladybug_store.SCORE_ROWS, rows):
        monkeypatch.setattr(ladybug_store, "SCORE_ROWS", limit)
        monkeypatch.setattr(ladybug_store, "STREAM_ROWS", limit)
        monkeypatch.setattr(ladybug_store, "SCORE_COPY_ROWS", limit)
        monkeypatch.setattr(ladybug_store, "FIRST_COPY_ROWS", min(limit, ladybug_store.FIRST_COPY_ROWS))
        with LadybugStore(tmp_path / f"db-{limit}") as store:
            frame = pd.DataFrame({"id": list("ABCDE"), "kind": "company", "name": list("ABCDE")})
            store.load(gs.validate(gs.Tables(frame, pd.DataFrame(columns=["source", "target", "type"]), NO_PENALTIES)))
            ways.clear()
            found[limit] = []
            for totals_, day in writes:
                written = store.write_scores(scores(totals_), policy=POLICY, as_of=day)
                content = held(store)
                content["runs"] = [run[:4] + run[5:] for run in content["runs"]]  # written_at: the time of each write
                found[limit].append((written, content))
            # rows written besides the run: 4 new; 3 (A removed, B changed, C new); none; 2 new; E removed
            assert ways == {ladybug_store.SCORE_ROWS: [], 1: ["_write_first_run", "_on_a_copy", "_write_first_run"],
                            3: ["_write_first_run"]}[limit]
    first, chunked = found.values()
    assert chunked == first and [written for written, _ in first] == [4, 3, 0, 2, 1]


NOTHING = pd.DataFrame(columns=["id", "key"])


def test_the_plan_by_hand():
    # run 3's records: its number, a colon, the entity's id
    stored_records = pd.DataFrame({"key": ["3:" + i for i in "abc"], "own": [1.0, 2.0, 3.0],
                                   "echo": 0.0, "inherited": 0.0, "total": [1.0, 2.0, 3.0]})
    stored_run, key = {"number": 3, "score_policy_hash": POLICY.hash, "entities": 3}, '["hand", "2024-01-01"]'
    # a unchanged, b changed, c left out (so zero), d new, e zero and never stored, f not a number
    new = scores({"a": 1, "b": 2.5, "d": 4, "e": 0, "f": np.nan})
    plan = plan_scores(new, policy=POLICY, as_of=DAY, stored_records=stored_records, stored_run=stored_run, last_run=key)
    assert plan.removed["key"].str[-1].tolist() == ["c"] and plan.orphans.empty and not plan.first
    assert plan.changed[["key", "total"]].values.tolist() == [["3:b", 2.5]]
    assert plan.new[["id", "key"]].values.tolist() == [["d", "3:d"], ["f", "3:f"]] and plan.run["entities"] == 5
    assert plan.number == plan.run["number"] == 3  # the stored run's number, whatever the last one given
    assert plan.entities == 4 and plan.rows == 1 + 1 + 2 + 1
    # the same scores as stored, the same run, the last written: nothing
    same = plan_scores(scores({"a": 1, "b": 2, "c": 3}), policy=POLICY, as_of=DAY, stored_records=stored_records,
                       stored_run=stored_run, last_run=key)
    assert same.run is None and same.rows == 0 and same.entities == 0
    # ... but counted over another set of entities (a zero more), or another run written since:
    # the run is written again, and nothing else
    more = plan_scores(scores({"a": 1, "b": 2, "c": 3, "z": 0}), policy=POLICY, as_of=DAY,
                       stored_records=stored_records, stored_run=stored_run, last_run=key)
    assert more.rows == 1 and more.run["entities"] == 4
    since = plan_scores(scores({"a": 1, "b": 2, "c": 3}), policy=POLICY, as_of=DAY, stored_records=stored_records,
                        stored_run=stored_run, last_run='["other", "2024-01-01"]')
    assert since.rows == 1 and since.entities == 0
    # records without their run: a killed write-back's, all removed, every record new
    # (keyed by the number the killed write-back took: the next one takes the one after the last given)
    killed = plan_scores(new, policy=POLICY, as_of=DAY, stored_records=stored_records, stored_run=None, last_run=None,
                         last_number=3)
    assert killed.first and killed.orphans["key"].tolist() == ["3:a", "3:b", "3:c"]
    assert killed.removed.empty and killed.changed.empty and killed.new["key"].tolist() == ["4:a", "4:b", "4:d", "4:f"]
    assert killed.number == killed.run["number"] == 4
    assert killed.entities == 4 and killed.rows == 3 + 4 + 1


# The history as graphscore up to e3e045c wrote it: no runs, a record per entity and date,
# zeros included, each with the policy's hash and written_at; the Entity properties of the last.
EARLIER = ((DAY, "2024-01-02T00:00:00Z", {"A": 0.0, "B": 1.0, "C": 0.0}),
           (LATER, "2024-07-01T00:00:00Z", {"A": 2.0, "B": 1.0, "C": 0.0}))


def write_earlier_history(run) -> None:
    for as_of, written_at, values in EARLIER:
        for entity, total in values.items():
            run("MATCH (e:Entity {id: $id}) SET e.own = $t, e.echo = 0.0, e.inherited = 0.0, e.total = $t, "
                "e.score_policy = 'hand', e.score_policy_hash = $h, e.score_as_of = $d "
                "CREATE (e)-[:HAS_SCORE]->(:ScoreRecord {key: $key, own: $t, echo: 0.0, inherited: 0.0, total: $t, "
                "score_policy: 'hand', score_policy_hash: $h, score_as_of: $d, written_at: $w})",
                {"id": entity, "t": total, "h": POLICY.hash, "d": as_of, "w": written_at,
                 "key": f'["hand", "{as_of}"]{entity}'})


def add_score_properties(run) -> None:
    """The Entity score properties of the schemas before the branch wb."""
    for column in gs.load_model().scores.columns:
        run(f"ALTER TABLE Entity ADD {column.store_name} {'DATE' if column.type == 'date' else 'DOUBLE' if column.type == 'number' else 'STRING'}")


def assert_upgraded(store) -> None:
    assert totals(store) == {"last": {"A": 2.0, "B": 1.0}, "2024-01-01": {"B": 1.0},
                             "2024-06-30": {"A": 2.0, "B": 1.0}}
    assert held(store)["runs"] == [
        ('["hand", "2024-01-01"]', "hand", POLICY.hash, "2024-01-01 00:00:00", "2024-01-02T00:00:00Z", "3"),
        ('["hand", "2024-06-30"]', "hand", POLICY.hash, "2024-06-30 00:00:00", "2024-07-01T00:00:00Z", "3")]
    found = store.query((QUERIES / "score_rose_since.cypher").read_text(), {"policy": "hand", "since": DAY})
    assert found[["id", "total_before", "rise"]].values.tolist() == [["A", 0.0, 2.0]]
    # the runs numbered in the order they were written, their records keyed by the number
    assert [(entity, key) for entity, key, *_ in held(store)["records"]] == [("A", "2:A"), ("B", "1:B"), ("B", "2:B")]


def test_a_store_with_the_earlier_score_history_is_upgraded_when_opened_for_writing(tmp_path):
    import graphscore.store.ladybug as ladybug_store

    frame = pd.DataFrame({"id": list("ABC"), "kind": "company", "name": list("ABC")})
    with LadybugStore(tmp_path) as store:
        store.load(gs.validate(gs.Tables(frame, pd.DataFrame(columns=["source", "target", "type"]), NO_PENALTIES)))
        run = store._conn.execute  # the earlier schema: no ScoreRun table, two more record columns
        run("DROP TABLE ScoreRun")
        run("ALTER TABLE ScoreRecord ADD score_policy_hash STRING")
        run("ALTER TABLE ScoreRecord ADD written_at STRING")
        add_score_properties(run)
        write_earlier_history(run)
        run("MATCH (m:GraphscoreMeta {key: 'schema'}) SET m.value = $h", {"h": ladybug_store._BEFORE_SCORE_RUNS})
    with pytest.warns(gs.GraphscoreWarning, match="keeps its scores as an earlier graphscore did"):
        with LadybugStore(tmp_path, read_only=True) as store:
            assert store.counts()["entities"] == 3  # everything but the history reads as before
    with LadybugStore(tmp_path) as store:  # opened for writing: upgraded
        assert_upgraded(store)
        with pytest.raises(RuntimeError, match="written_at"):  # kept on the run, no longer on each record
            store.query("MATCH (s:ScoreRecord) RETURN s.written_at")
        with pytest.raises(RuntimeError, match="total"):  # the last run's records hold it
            store.query("MATCH (e:Entity) RETURN e.total")
        # the same scores written again: the upgraded history holds them already
        assert store.write_scores(scores({"A": 2, "B": 1, "C": 0}), policy=POLICY, as_of=LATER) == 0
    with LadybugStore(tmp_path, read_only=True) as store:  # and it stays upgraded
        assert len(held(store)["runs"]) == 2


@pytest.mark.neo4j
def test_a_neo4j_history_written_earlier_is_upgraded_by_the_next_write(neo4j_store):
    frame = pd.DataFrame({"id": list("ABC"), "kind": "company", "name": list("ABC")})
    neo4j_store.load(gs.validate(gs.Tables(frame, pd.DataFrame(columns=["source", "target", "type"]), NO_PENALTIES)))
    write_earlier_history(neo4j_store.query)
    # the same scores as the latest date: the upgrade is all the write changes
    assert neo4j_store.write_scores(scores({"A": 2, "B": 1, "C": 0}), policy=POLICY, as_of=LATER) == 0
    assert_upgraded(neo4j_store)
    assert neo4j_store.query("MATCH (s:ScoreRecord) WHERE s.written_at IS NOT NULL OR s.score_policy_hash IS NOT NULL "
                             "RETURN count(s) AS n")["n"].tolist() == [0]


def key_records_by_run(run) -> None:
    """A store written by today's code, as graphscore up to the branch reckey kept it: runs with no
    number, each record keyed by its run's key followed by its entity's id (a primary key
    LadybugDB cannot set: the record tables made again, as that graphscore declared them)."""
    records = run("MATCH (r:ScoreRun) MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord) WHERE s.score_policy = "
                  "r.score_policy AND s.score_as_of = r.score_as_of RETURN r.key, e.id, s.own, s.echo, s.inherited, "
                  "s.total, s.score_policy, s.score_as_of").get_as_df()
    run("DROP TABLE HAS_SCORE")
    run("DROP TABLE ScoreRecord")
    run("CREATE NODE TABLE ScoreRecord(key STRING PRIMARY KEY, own DOUBLE, echo DOUBLE, inherited DOUBLE, "
        "total DOUBLE, score_policy STRING, score_as_of DATE)")
    run("CREATE REL TABLE HAS_SCORE(FROM Entity TO ScoreRecord)")
    for key, entity, own, echo, inherited, total, policy, as_of in records.itertuples(index=False):
        run("MATCH (e:Entity {id: $id}) CREATE (e)-[:HAS_SCORE]->(:ScoreRecord {key: $key, own: $own, echo: $echo, "
            "inherited: $inherited, total: $total, score_policy: $policy, score_as_of: $as_of})",
            {"id": entity, "key": key + entity, "own": own, "echo": echo, "inherited": inherited, "total": total,
             "policy": policy, "as_of": pd.Timestamp(as_of).date()})
    run("ALTER TABLE ScoreRun DROP number")
    run(statements.DELETE_META, {"key": statements.SCORE_RUN_NUMBER})


def test_a_store_with_records_keyed_by_their_run_key_is_upgraded_when_opened_for_writing(tmp_path):
    """Records keyed by their run's key and the entity's id (graphscore up to the branch reckey),
    a killed write-back's records among them: opened for writing, the runs are numbered in the
    order they were written and their records keyed by the number; the killed write-back's
    records are gone, and the history reads as it did."""
    import graphscore.store.ladybug as ladybug_store

    frame = pd.DataFrame({"id": list("ABC"), "kind": "company", "name": list("ABC")})
    with LadybugStore(tmp_path) as store:
        store.load(gs.validate(gs.Tables(frame, pd.DataFrame(columns=["source", "target", "type"]), NO_PENALTIES)))
        store.write_scores(scores({"A": 2, "B": 1, "C": 0}), policy=POLICY, as_of=LATER)
        store.write_scores(scores({"A": 0, "B": 1, "C": 3}), policy=POLICY, as_of=DAY)
        store._conn.execute("MATCH (r:ScoreRun) WHERE r.score_as_of = date('2024-06-30') "
                            "SET r.written_at = '2030-01-01T00:00:00Z'")  # written after the other
        before = totals(store)
        key_records_by_run(store._conn.execute)
        # a killed write-back's: records of a policy and date with no run
        store._conn.execute("MATCH (e:Entity {id: 'A'}) CREATE (e)-[:HAS_SCORE]->(:ScoreRecord {key: "
                            "'[\"gone\", \"2024-01-01\"]A', own: 1.0, echo: 0.0, inherited: 0.0, total: 1.0, "
                            "score_policy: 'gone', score_as_of: date('2024-01-01')})")
        store._conn.execute("MATCH (m:GraphscoreMeta {key: 'schema'}) SET m.value = $h",
                            {"h": ladybug_store._RUN_KEYED_RECORDS})
    with pytest.warns(gs.GraphscoreWarning, match="keeps its scores as an earlier graphscore did"):
        with LadybugStore(tmp_path, read_only=True) as store:
            assert ("B", '["hand", "2024-01-01"]B') in [(entity, key) for entity, key, *_ in held(store)["records"]]
    with LadybugStore(tmp_path) as store:  # opened for writing: upgraded
        assert totals(store) == before
        assert [(entity, key) for entity, key, *_ in held(store)["records"]] == [
            ("A", "2:A"), ("B", "1:B"), ("B", "2:B"), ("C", "1:C")]
        assert store.query("MATCH (r:ScoreRun) RETURN r.score_as_of AS as_of, r.number AS number ORDER BY number")[
            "number"].tolist() == [1, 2]
        # the same scores again write nothing; a new date takes the next number
        assert store.write_scores(scores({"A": 0, "B": 1, "C": 3}), policy=POLICY, as_of=DAY) == 0
        assert store.write_scores(scores({"A": 0, "B": 0, "C": 5}), policy=POLICY, as_of=dt.date(2025, 1, 1)) == 1
        assert ("C", "3:C") in [(entity, key) for entity, key, *_ in held(store)["records"]]
    with LadybugStore(tmp_path, read_only=True) as store:  # and it stays upgraded
        assert store.query("MATCH (s:ScoreRecord) RETURN count(s) AS n")["n"].tolist() == [5]


@pytest.mark.neo4j
def test_a_neo4j_history_keyed_by_run_keys_is_numbered_by_the_next_write(neo4j_store):
    """Neo4j records keyed by their run's key and the entity's id (up to the branch reckey): the
    next write-back numbers the runs in the order they were written and keys their records by
    the number, in its own transaction, before it plans."""
    frame = pd.DataFrame({"id": list("ABC"), "kind": "company", "name": list("ABC")})
    neo4j_store.load(gs.validate(gs.Tables(frame, pd.DataFrame(columns=["source", "target", "type"]), NO_PENALTIES)))
    neo4j_store.write_scores(scores({"A": 2, "B": 1, "C": 0}), policy=POLICY, as_of=LATER)
    neo4j_store.write_scores(scores({"A": 0, "B": 1, "C": 3}), policy=POLICY, as_of=DAY)
    neo4j_store.query("MATCH (r:ScoreRun) WHERE r.score_as_of = date('2024-06-30') "
                      "SET r.written_at = '2030-01-01T00:00:00Z'")
    before = totals(neo4j_store)
    neo4j_store.query("MATCH (r:ScoreRun) MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord) WHERE s.score_policy = "
                      "r.score_policy AND s.score_as_of = r.score_as_of SET s.key = r.key + e.id REMOVE r.number")
    neo4j_store.query(statements.DELETE_META, {"key": statements.SCORE_RUN_NUMBER})
    # the same scores as the run written last: the upgrade is all the write changes
    assert neo4j_store.write_scores(scores({"A": 0, "B": 1, "C": 3}), policy=POLICY, as_of=DAY) == 0
    assert totals(neo4j_store) == before
    assert [(entity, key) for entity, key, *_ in held(neo4j_store)["records"]] == [
        ("A", "2:A"), ("B", "1:B"), ("B", "2:B"), ("C", "1:C")]
    assert neo4j_store.write_scores(scores({"A": 0, "B": 0, "C": 5}), policy=POLICY, as_of=dt.date(2025, 1, 1)) == 1
    assert ("C", "3:C") in [(entity, key) for entity, key, *_ in held(neo4j_store)["records"]]


def test_a_store_with_scores_on_its_entities_is_upgraded_when_opened_for_writing(tmp_path):
    """A store whose Entity nodes held the last write-back's scores (graphscore up to the branch
    wb): opened for writing, the properties are dropped and the run written last is named."""
    import graphscore.store.ladybug as ladybug_store

    frame = pd.DataFrame({"id": list("ABC"), "kind": "company", "name": list("ABC")})
    with LadybugStore(tmp_path) as store:
        store.load(gs.validate(gs.Tables(frame, pd.DataFrame(columns=["source", "target", "type"]), NO_PENALTIES)))
        store.write_scores(scores({"A": 2, "B": 1, "C": 0}), policy=POLICY, as_of=LATER)
        store.write_scores(scores({"A": 0, "B": 1, "C": 0}), policy=POLICY, as_of=DAY)
        run = store._conn.execute
        key_records_by_run(run)
        add_score_properties(run)
        run("MATCH (e:Entity {id: 'B'}) SET e.total = 1.0, e.score_policy = 'hand'")
        run("MATCH (r:ScoreRun) WHERE r.score_as_of = date('2024-01-01') SET r.written_at = '2030-01-01T00:00:00Z'")
        run(statements.DELETE_META, {"key": statements.LAST_SCORE_RUN})
        run("MATCH (m:GraphscoreMeta {key: 'schema'}) SET m.value = $h", {"h": ladybug_store._SCORES_ON_ENTITIES})
    with pytest.warns(gs.GraphscoreWarning, match="keeps its scores as an earlier graphscore did"):
        with LadybugStore(tmp_path, read_only=True) as store:
            assert store.counts()["entities"] == 3
    with LadybugStore(tmp_path) as store:  # opened for writing: upgraded
        assert totals(store) == {"last": {"B": 1.0}, "2024-01-01": {"B": 1.0}, "2024-06-30": {"A": 2.0, "B": 1.0}}
        with pytest.raises(RuntimeError, match="total"):
            store.query("MATCH (e:Entity) RETURN e.total")
        assert store.write_scores(scores({"A": 0, "B": 1, "C": 0}), policy=POLICY, as_of=DAY) == 0
        assert held(store)["runs"][0][4] == "2030-01-01T00:00:00Z"  # the last already: not even the run written
