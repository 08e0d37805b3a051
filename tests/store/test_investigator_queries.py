"""The investigator queries over addresses, agents and the score history, on both stores (the
``store`` fixture: LadybugDB, and a live Neo4j when GRAPHSCORE_NEO4J_URI is set), against
expected rows worked out by hand; and the examples every query's header gives."""

from __future__ import annotations

import datetime as dt
import re
import shlex

import pandas as pd
import pytest

import graphscore as gs
from graphscore.io import read_paths
from graphscore.model import load_model
from graphscore.synthetic import generate_network
from tests.conftest import DATA, POLICIES, ZALA

QUERIES = DATA.parent / "cypher" / "queries"
pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")
POLICY = gs.parse_policy('name = "hand"\n[[transmit]]\nlink = "OWNS"\ndirection = "backward"\nweight = "share"')
OTHER = gs.parse_policy('name = "other"\n[[transmit]]\nlink = "OWNS"\ndirection = "backward"\nweight = 1.0')
NO_PENALTIES = pd.DataFrame(columns=["id", "entity", "kind", "severity", "start"])


def run(store, name: str, **parameters) -> pd.DataFrame:
    return store.query((QUERIES / f"{name}.cypher").read_text(), parameters)


def entities(addresses: dict[str, str | None], links: pd.DataFrame | None = None) -> gs.Tables:
    frame = pd.DataFrame({"id": list(addresses), "kind": "company", "name": list(addresses),
                          "address": list(addresses.values())})
    links = pd.DataFrame(columns=["source", "target", "type"]) if links is None else links
    return gs.validate(gs.Tables(frame, links, NO_PENALTIES))


def test_shared_address_normalises_case_punctuation_and_spaces(store):
    store.load(entities({
        "A": "1 Main St., Springfield", "B": "1 MAIN ST  Springfield", "C": "1 Main Street, Springfield",
        "D": None, "E": "2 Main St (rear), Springfield", "F": "2 main st rear springfield", "G": "2-Main St/Rear; SPRINGFIELD",
        "R1": "УЛ. ЛЕНИНА Д.40, Г. ЧАЙКОВСКИЙ", "R2": "ул ленина д 40 г чайковский", "Q": "O'Connell St, Dublin",
        "Q2": "O Connell St,Dublin"}))
    found = run(store, "shared_address", min_entities=2)
    # "Street" is no "St": abbreviations are not expanded, so C stays alone; D has no address
    assert found[["address_key", "entities_there", "id"]].values.tolist() == [
        ["2 main st rear springfield", 3, "E"], ["2 main st rear springfield", 3, "F"],
        ["2 main st rear springfield", 3, "G"],
        ["1 main st springfield", 2, "A"], ["1 main st springfield", 2, "B"],
        ["o connell st dublin", 2, "Q"], ["o connell st dublin", 2, "Q2"],
        ["ул ленина д 40 г чайковский", 2, "R1"], ["ул ленина д 40 г чайковский", 2, "R2"]]
    assert found.set_index("id").loc["B", "address"] == "1 MAIN ST  Springfield"  # as recorded
    assert run(store, "shared_address", min_entities=3)["id"].tolist() == ["E", "F", "G"]


def test_shared_address_in_the_opensanctions_sample(store):
    store.load(read_paths([ZALA]))
    found = run(store, "shared_address", min_entities=2)
    # the first address each FtM record exports (tests/io/test_ftm.py): the Zakharovs' flat, written
    # "Apt 41" and "Apt. 41", and the bare "IZHEVSK, 426008" two records list first
    assert found.groupby("address_key")["id"].apply(sorted).to_dict() == {
        "272 pushkinskaya street apt 41 izhevsk 426008": ["NK-aU5ybkbRFJucf8YMwsJvDw", "NK-hUAjuiA3vTKXF6v2X6MYnS"],
        "izhevsk 426008": ["NK-2Tbri3s6GgNtAwsSXh4qpL", "NK-DQ98GPMgdVH8DSZd8g9Xtc"]}


def scores(totals: dict[str, float]) -> pd.DataFrame:
    values = [float(v) for v in totals.values()]
    return pd.DataFrame({"id": list(totals), "own": 0.0, "echo": 0.0, "inherited": values, "total": values})


def test_score_rose_since_compares_the_latest_record_with_the_last_before_the_date(store):
    store.load(entities(dict.fromkeys("ABCDE")))
    store.write_scores(scores({"A": 1, "B": 1, "C": 1, "E": 3}), policy=POLICY, as_of=dt.date(2023, 12, 31))
    store.write_scores(scores({"A": 1.5, "B": 2, "C": 1, "E": 0.5}), policy=POLICY, as_of=dt.date(2024, 2, 1))
    store.write_scores(scores({"A": 2, "B": 0.5, "C": 1, "D": 9}), policy=POLICY, as_of=dt.date(2024, 6, 30))
    store.write_scores(scores({"A": 0, "B": 9, "C": 9, "D": 0, "E": 9}), policy=OTHER, as_of=dt.date(2024, 12, 31))
    # since 2024-03-01: the last run on or before it is 2024-02-01, the latest 2024-06-30.
    # A 1.5 -> 2 rose; B 2 -> 0.5 fell; C unchanged; D had no record then, so scored zero, and
    # rose 0 -> 9; E has no record in the latest run: it fell to zero. The other policy's
    # runs (later, and higher) are not compared.
    found = run(store, "score_rose_since", policy="hand", since=dt.date(2024, 3, 1))
    assert found[["id", "total_before", "total_latest", "rise"]].values.tolist() == [
        ["D", 0.0, 9.0, 9.0], ["A", 1.5, 2.0, 0.5]]
    assert pd.to_datetime(found[["as_of_before", "as_of_latest"]].iloc[1]).dt.date.tolist() == [
        dt.date(2024, 2, 1), dt.date(2024, 6, 30)]
    # since 2024-01-15: compared with 2023-12-31, B (1 -> 0.5) still fell, A rose by 1, C stayed
    found = run(store, "score_rose_since", policy="hand", since=dt.date(2024, 1, 15))
    assert found[["id", "rise"]].values.tolist() == [["D", 9.0], ["A", 1.0]]
    # before the first run there is nothing to compare with: no run is "zero for everyone"
    assert run(store, "score_rose_since", policy="hand", since=dt.date(2023, 12, 30)).empty
    # on the latest date itself there is nothing later to compare
    assert run(store, "score_rose_since", policy="hand", since=dt.date(2024, 6, 30)).empty


def test_writing_the_same_policy_and_date_again_replaces_its_records(store):
    store.load(entities(dict.fromkeys("AB")))
    store.write_scores(scores({"A": 1, "B": 1}), policy=POLICY, as_of=dt.date(2024, 1, 1))
    store.write_scores(scores({"A": 2, "B": 2}), policy=POLICY, as_of=dt.date(2024, 6, 30))
    fingerprint = store.data_fingerprint()
    store.write_scores(scores({"A": 3, "B": 2}), policy=POLICY, as_of=dt.date(2024, 6, 30))
    records = store.query("MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord) "
                          "RETURN e.id AS id, s.score_as_of AS as_of, s.total AS total")
    assert sorted((i, str(pd.Timestamp(d).date()), t) for i, d, t in records[["id", "as_of", "total"]].values) == [
        ("A", "2024-01-01", 1.0), ("A", "2024-06-30", 3.0), ("B", "2024-01-01", 1.0), ("B", "2024-06-30", 2.0)]
    assert store.query("MATCH (s:ScoreRecord) RETURN count(s) AS n")["n"].tolist() == [4]
    runs = store.query("MATCH (r:ScoreRun) RETURN r.score_as_of AS as_of, r.score_policy_hash AS hash, "
                       "r.written_at AS written_at, r.entities AS entities")
    assert sorted(str(pd.Timestamp(d).date()) for d in runs["as_of"]) == ["2024-01-01", "2024-06-30"]
    assert runs["written_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert set(runs["hash"]) == {POLICY.hash} and runs["entities"].tolist() == [2, 2]
    # the Entity properties keep the last write, as top_scores reads them; the data is unchanged
    assert run(store, "top_scores", limit=1)[["id", "total"]].values.tolist() == [["A", 3.0]]
    assert store.data_fingerprint() == fingerprint
    assert store.counts() == {"entities": 2, "links": 0, "penalties": 0}


def test_loading_again_after_a_write_back_writes_nothing_and_keeps_the_history(store):
    tables = entities({"A": "1 Main St", "B": None})
    store.load(tables)
    store.write_scores(scores({"A": 1, "B": 2}), policy=POLICY, as_of=dt.date(2024, 1, 1))
    summary = store.load(tables)
    assert {name: (w["new"], w["changed"]) for name, w in summary.written.items()} == {
        "entities": (0, 0), "links": (0, 0), "penalties": (0, 0)}
    assert store.query("MATCH (:Entity)-[:HAS_SCORE]->(s:ScoreRecord) RETURN count(s) AS n")["n"].tolist() == [2]


def test_a_score_write_that_fails_leaves_no_record(store, monkeypatch):
    from graphscore.store import statements

    store.load(entities(dict.fromkeys("AB")))
    store.write_scores(scores({"A": 1, "B": 1}), policy=POLICY, as_of=dt.date(2024, 1, 1))
    # the last statement of the write-back (the run) fails, after the records were written
    monkeypatch.setattr(statements, "write_score_run", lambda *args, **kwargs: "RETURN no_such_variable;")
    for changed in ({"A": 2, "B": 2}, {"A": 0, "B": 5}):  # a new date; the same date rewritten
        as_of = dt.date(2024, 6, 30) if changed["A"] else dt.date(2024, 1, 1)
        with pytest.raises(Exception, match="no_such_variable"):
            store.write_scores(scores(changed), policy=POLICY, as_of=as_of)
        assert store.query("MATCH (s:ScoreRecord) RETURN s.total AS total")["total"].tolist() == [1.0, 1.0]
        assert store.query(statements.READ_META, {"key": statements.LAST_SCORE_RUN})["value"].tolist() == [
            '["hand", "2024-01-01"]']
        assert store.query("MATCH (r:ScoreRun) RETURN count(r) AS n")["n"].tolist() == [1]


def test_shared_agent(store):
    # K acts for A, B and (until 2024) C; L is A's company secretary and D's; M acts for E alone
    links = pd.DataFrame({
        "source": ["K", "K", "K", "L", "L", "M"], "target": ["A", "B", "C", "A", "D", "E"], "type": "AGENT_OF",
        "role": ["registered_agent", "registered_agent", "registered_agent", "company_secretary",
                 "company_secretary", "registered_agent"],
        "start": [None, "2020-01-01", None, None, None, None], "end": [None, None, "2024-01-01", None, None, None]})
    store.load(entities(dict.fromkeys("ABCDEKLM"), links))
    found = run(store, "shared_agent", id="A", as_of=dt.date(2024, 6, 30))
    assert found[["agent_id", "role_here", "client_id", "role_there"]].values.tolist() == [
        ["K", "registered_agent", "B", "registered_agent"], ["L", "company_secretary", "D", "company_secretary"]]
    earlier = run(store, "shared_agent", id="A", as_of=dt.date(2019, 6, 30))  # B not yet a client, C still one
    assert earlier[["agent_id", "client_id"]].values.tolist() == [["K", "C"], ["L", "D"]]
    assert run(store, "shared_agent", id="E", as_of=dt.date(2024, 6, 30)).empty


def test_near_active_penalty_names_every_link_type():
    # the query tells link types apart with one EXISTS per type and names the last one in its ELSE:
    # a link type added to the model and not to the query would be reported as that last type
    text = (QUERIES / "near_active_penalty.cypher").read_text()
    for link_type in load_model().links:
        assert f"THEN '{link_type}'" in text or f"ELSE '{link_type}'" in text, link_type


@pytest.fixture(scope="module")
def example_store(tmp_path_factory):
    """A synthetic registry with agents, scored on two dates under joint-punishment, in an embedded store."""
    from graphscore.store.ladybug import LadybugStore

    folder = tmp_path_factory.mktemp("examples")
    tables = gs.validate(generate_network(300, seed=4, registered_agents=True))
    policy = gs.load_policy(POLICIES / "joint-punishment.toml")
    with LadybugStore(folder) as store:
        store.load(tables)
        for as_of in ("2023-06-30", "2024-06-30"):
            store.write_scores(gs.score(tables, policy, as_of=as_of), policy=policy, as_of=dt.date.fromisoformat(as_of))
    return folder


@pytest.mark.parametrize("path", sorted(QUERIES.glob("*.cypher")), ids=lambda p: p.stem)
def test_every_query_header_gives_an_example_that_runs(example_store, path):
    from typer.testing import CliRunner

    from graphscore.cli import app

    header = [line for line in path.read_text().splitlines() if line.startswith("//")]
    examples = [line.removeprefix("// Example: ") for line in header if line.startswith("// Example: ")]
    assert len(examples) == 1, f"{path.name}: one '// Example:' line in the header"
    words = shlex.split(examples[0])
    assert words[:2] == ["graphscore", "cypher"] and words[words.index("--file") + 1] == f"cypher/queries/{path.name}"
    given = {word.split("=")[0].split(":")[0] for word in words[1:] if "=" in word}
    documented = re.search(r"^// Parameters: (.*)$", path.read_text(), re.MULTILINE).group(1)
    assert given == set(re.findall(r"\$(\w+)", documented))
    arguments = [str(example_store) if w == "DIR" else str(QUERIES / path.name) if w.endswith(path.name) else w
                 for w in words[2:]]
    result = CliRunner().invoke(app, ["cypher", *arguments])
    assert result.exit_code == 0, result.output


def test_score_records_are_written_by_key_lookups_not_a_cross_product(tmp_path):
    # LadybugDB 0.22 planned "MATCH (e:Entity {id: v_id}), (s:ScoreRecord {key: v_key})" as a
    # cross product of every entity and every record: 16 s and 7 GB for 3,220 entities
    import pyarrow as pa

    from graphscore.model import Column
    from graphscore.store import statements
    from graphscore.store.ladybug import LadybugStore

    with LadybugStore(tmp_path) as store:
        store.load(entities(dict.fromkeys("AB")))
        rows = pa.table({f"v_{c.store_name}": pa.array([None, None], type=pa.string() if c.type == "string" else
                                                        pa.date32() if c.type == "date" else pa.float64())
                         for c in [Column("id", "string"), *statements.score_record_columns()]})
        for query in (statements.create_score_records(), statements.update_score_records(),
                      statements.delete_score_records()):
            plan = store._conn.execute("EXPLAIN " + query, {"rows": rows}).get_as_df().iloc[0, 0]
            assert "CROSS_PRODUCT" not in plan and "PRIMARY_KEY_LOOKUP" in plan, query


@pytest.mark.parametrize("path", sorted(QUERIES.glob("*.cypher")), ids=lambda p: p.stem)
def test_a_missing_parameter_is_an_error_naming_it_on_both_stores(store, path):
    text = path.read_text()
    documented = re.search(r"^// Parameters: (.*)$", text, re.MULTILINE).group(1)
    names = re.findall(r"\$(\w+)", documented)
    assert names, f"{path.name}: every library query is parameterised"
    from graphscore.errors import StoreError

    with pytest.raises((ValueError, StoreError)) as raised:  # LadybugDB: before it runs; Neo4j: the server
        store.query(text, {})
    assert all(name in str(raised.value) for name in names), str(raised.value)
