"""The investigator queries in cypher/queries/ run on the embedded store and agree with pandas."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

import graphscore as gs
from graphscore.io import read_paths
from graphscore.store.ladybug import LadybugStore
from graphscore.store.parameters import query_parameters
from graphscore.synthetic import generate_network
from tests.conftest import DATA, POLICIES, ZALA

QUERIES = DATA.parent / "cypher" / "queries"
CST = "NK-abdzbEBkqyT29GyREbiURZ"
pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


def run(store, name: str, **parameters) -> pd.DataFrame:
    return store.query((QUERIES / f"{name}.cypher").read_text(), parameters)


@pytest.fixture(scope="module")
def zala_store(tmp_path_factory):
    with LadybugStore(tmp_path_factory.mktemp("zala")) as store:
        store.load(read_paths([ZALA]))
        yield store


def test_owners_of_llc_cst_list_every_record(zala_store):
    owners = run(zala_store, "owners", id=CST)
    assert len(owners) == 7  # Zakharov x3 (50, 48, 51 %), Kalashnikov x2, TransKomplektHolding, Svetlana
    zakharov = owners[owners["owner_id"] == "NK-aU5ybkbRFJucf8YMwsJvDw"]
    assert sorted(zakharov["share"]) == [0.48, 0.50, 0.51]


def test_officers_and_their_other_companies(zala_store):
    officers = run(zala_store, "officers", id=CST).set_index("officer_id")
    assert officers.loc["NK-mCEmxFfuhfdjpC8gsxH74o", "role"] == "legal_representative"
    assert officers.loc["NK-aU5ybkbRFJucf8YMwsJvDw", "role"] == "executive"
    assert any("АССОЦИАЦИЯ" in name for name in officers.loc["NK-aU5ybkbRFJucf8YMwsJvDw", "other_companies"])


def test_penalised_neighbours_respect_the_date(zala_store):
    early = run(zala_store, "penalised_neighbours", id="NK-aU5ybkbRFJucf8YMwsJvDw", as_of=dt.date(2022, 6, 30))
    late = run(zala_store, "penalised_neighbours", id="NK-aU5ybkbRFJucf8YMwsJvDw", as_of=dt.date(2024, 6, 30))
    assert set(early["id"]) == {CST}  # in mid-2022 only LLC CST carried a penalty
    assert {CST, "NK-DQ98GPMgdVH8DSZd8g9Xtc"} <= set(late["id"])  # ... by 2024 his wife Svetlana too


def test_top_scores_read_what_score_wrote(zala_store):
    tables = zala_store.read_tables()
    policy = gs.load_policy(POLICIES / "joint-punishment.toml")
    scores = gs.score(tables, policy, as_of="2022-06-30")
    zala_store.write_scores(scores, policy=policy, as_of=dt.date(2022, 6, 30))
    top = run(zala_store, "top_scores", limit=3)
    assert top["id"].tolist() == scores.nlargest(3, "total")["id"].tolist()
    assert set(top["policy"]) == {"joint-punishment"}


def test_shared_legal_representatives_match_pandas(tmp_path):
    tables = gs.validate(generate_network(300, seed=4))
    with LadybugStore(tmp_path) as store:
        store.load(tables)
        reps = tables.links[(tables.links["type"] == "OFFICER_OF") & (tables.links["role"] == "legal_representative")]
        busiest = reps["source"].value_counts().index[0]
        company = reps.loc[reps["source"] == busiest, "target"].iloc[0]
        result = run(store, "shared_legal_representative", id=company)
    mine = set(reps.loc[reps["target"] == company, "source"])
    expected = set(reps.loc[reps["source"].isin(mine) & (reps["target"] != company), "target"])
    assert expected and set(result["company_id"]) == expected


# -- the investigator library, against pandas on a synthetic registry ---------------------------

AS_OF = pd.Timestamp("2024-06-30")
OFFICES = ("legal_representative", "director")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A 400-company synthetic registry in a store, with its tables for the pandas answers."""
    tables = gs.validate(generate_network(400, seed=11, registered_agents=True))
    with LadybugStore(tmp_path_factory.mktemp("registry")) as store:
        store.load(tables)
        yield store, tables


def in_force(table: pd.DataFrame, when: pd.Timestamp = AS_OF) -> pd.DataFrame:
    return table[(table["start"].isna() | (table["start"] <= when)) & (table["end"].isna() | (when < table["end"]))]


def penalised_at(tables, when: pd.Timestamp = AS_OF) -> set[str]:
    return set(in_force(tables.penalties, when)["entity"])


def rows(frame: pd.DataFrame, *columns: str) -> set[tuple]:
    return set(frame[list(columns)].itertuples(index=False, name=None))


def test_companies_sharing_an_officer_with_a_penalised_company(registry):
    store, tables = registry
    offices = in_force(tables.links)
    offices = offices[(offices["type"] == "OFFICER_OF") & offices["role"].isin(OFFICES)]
    there = offices[offices["target"].isin(penalised_at(tables))]
    pairs = there.merge(offices, on="source", suffixes=("_there", "_here"))
    pairs = pairs[pairs["target_here"] != pairs["target_there"]]
    expected = rows(pairs, "target_here", "source", "role_here", "role_there", "target_there")
    result = run(store, "shared_officer_with_penalised", as_of=AS_OF.date())
    assert len(expected) > 10
    assert rows(result, "company_id", "person_id", "role_here", "role_there", "penalised_id") == expected


def test_legal_representatives_of_penalised_companies_elsewhere(registry):
    store, tables = registry
    reps = in_force(tables.links)
    reps = reps[(reps["type"] == "OFFICER_OF") & (reps["role"] == "legal_representative")]
    pairs = reps[reps["target"].isin(penalised_at(tables))].merge(reps, on="source", suffixes=("_p", "_o"))
    expected = rows(pairs[pairs["target_p"] != pairs["target_o"]], "source", "target_p", "target_o")
    result = run(store, "representatives_of_penalised_elsewhere", as_of=AS_OF.date())
    assert expected and rows(result, "person_id", "penalised_id", "company_id") == expected


def test_family_of_officers_of_penalised_companies(registry):
    store, tables = registry
    links = in_force(tables.links)
    offices = links[(links["type"] == "OFFICER_OF") & links["target"].isin(penalised_at(tables))]
    family = links[links["type"] == "FAMILY"]
    both_ways = pd.concat([family[["source", "target", "role"]],
                           family.rename(columns={"source": "target", "target": "source"})[["source", "target", "role"]]])
    pairs = offices.merge(both_ways, on="source", suffixes=("_office", "_family"))
    expected = rows(pairs[pairs["target_family"] != pairs["source"]], "target_family", "role_family", "source",
                    "role_office", "target_office")
    result = run(store, "family_of_penalised_officers", as_of=AS_OF.date())
    assert expected and rows(result, "relative_id", "relation", "officer_id", "office", "company_id") == expected


def test_officers_appointed_after_a_penalty_started(registry):
    store, tables = registry
    offices = tables.links[tables.links["type"] == "OFFICER_OF"]
    pairs = offices.merge(tables.penalties, left_on="target", right_on="entity", suffixes=("", "_penalty"))
    late = pairs[pairs["start"].notna() & (pairs["start"] >= pairs["start_penalty"]) & (pairs["start"] < AS_OF)]
    result = run(store, "officers_appointed_after_penalty", until=AS_OF.date())
    assert len(late) and rows(result, "officer_id", "company_id", "penalty") == rows(late, "source", "target", "id")
    assert (pd.to_datetime(result["appointed"]) >= pd.to_datetime(result["penalty_start"])).all()


def test_entities_near_an_active_penalty_with_their_link_types(registry):
    store, tables = registry
    links = in_force(tables.links)
    steps = pd.concat([links[["source", "target", "type"]],
                       links.rename(columns={"source": "target", "target": "source"})[["source", "target", "type"]]])
    steps = steps[steps["source"] != steps["target"]]
    active = in_force(tables.penalties)
    one = active.merge(steps, left_on="entity", right_on="source")
    two = one.merge(steps, left_on="target", right_on="source", suffixes=("_1", "_2"))
    two = two[(two["target_2"] != two["entity"]) & (two["target_1"] != two["entity"])]
    result = run(store, "near_active_penalty", as_of=AS_OF.date(), hops=2)
    assert rows(result[result["hops"] == 1], "id", "penalised_id", "penalty", "link1") == \
        rows(one, "target", "entity", "id", "type")
    assert rows(result[result["hops"] == 2], "id", "via_id", "penalised_id", "link1", "link2") == \
        rows(two, "target_2", "target_1", "entity", "type_1", "type_2")
    assert set(run(store, "near_active_penalty", as_of=AS_OF.date(), hops=1)["hops"]) == {1}


def test_shortest_connection_is_a_shortest_path(registry):
    nx = pytest.importorskip("networkx")
    store, tables = registry
    graph = nx.Graph(list(zip(tables.links["source"], tables.links["target"])))
    start = "C000001"
    lengths = nx.single_source_shortest_path_length(graph, start, cutoff=5)
    for target in [next(t for t, d in lengths.items() if d == k) for k in (1, 2, 3)]:
        path = run(store, "shortest_connection", **{"from": start, "to": target})
        assert path["id"].iloc[0] == start and path["id"].iloc[-1] == target
        assert len(path) - 1 == path["links"].iloc[0] == lengths[target]
        assert all(graph.has_edge(a, b) for a, b in zip(path["id"], path["id"].iloc[1:]))
    far = next((t for t, d in lengths.items() if d == 5), None)
    if far is not None:  # more than 4 links apart: no rows, by the query's own bound
        assert run(store, "shortest_connection", **{"from": start, "to": far}).empty


def test_ownership_chains_up_and_down_by_hand(tmp_path):
    # X owns 50 % of A, A owns all of B, Y owns 30 % of B, Z owns 40 % of X: B's owners, three levels up
    entities = pd.DataFrame({"id": list("XYZAB"), "kind": ["company"] * 5, "name": list("XYZAB")})
    links = pd.DataFrame({"source": list("XAYZ"), "target": list("ABBX"), "type": ["OWNS"] * 4,
                          "share": [0.5, 1.0, 0.3, 0.4]})
    tables = gs.validate(gs.Tables(entities, links, pd.DataFrame(columns=["id", "entity", "kind", "severity", "start"])))
    with LadybugStore(tmp_path) as store:
        store.load(tables)
        up = run(store, "owners_up", id="B", levels=3).sort_values(["level", "owner_id"])
        assert up[["level", "owner_id", "via_id", "via2_id"]].fillna("-").values.tolist() == [
            [1, "A", "-", "-"], [1, "Y", "-", "-"], [2, "X", "A", "-"], [3, "Z", "A", "X"]]
        assert up["product"].tolist() == pytest.approx([1.0, 0.3, 0.5, 0.2])
        assert set(run(store, "owners_up", id="B", levels=1)["owner_id"]) == {"A", "Y"}
        down = run(store, "holdings_down", id="Z", levels=3).sort_values("level")
        assert down[["level", "holding_id"]].values.tolist() == [[1, "X"], [2, "A"], [3, "B"]]
        assert down["product"].tolist() == pytest.approx([0.4, 0.2, 0.2])


@pytest.mark.parametrize("path", sorted(QUERIES.glob("*.cypher")), ids=lambda p: p.stem)
def test_every_query_documents_its_parameters_and_refuses_to_run_without_them(zala_store, path):
    text = path.read_text()
    documented = re.search(r"^// Parameters: (.*)$", text, re.MULTILINE)
    assert documented, f"{path.name} has no '// Parameters:' line"
    named = set(re.findall(r"\$(\w+)", documented.group(1)))
    assert named == query_parameters(text)
    if named:
        with pytest.raises(ValueError, match=r"the query needs parameters? \$"):
            zala_store.query(text, {})


def test_cli_names_a_missing_parameter(zala_store, tmp_path):
    from typer.testing import CliRunner

    from graphscore.cli import app

    db = tmp_path / "db"
    with LadybugStore(db) as store:
        store.load(read_paths([ZALA]))
    result = CliRunner().invoke(app, ["cypher", "--db", str(db), "--file", str(QUERIES / "owners_up.cypher"),
                                      "--param", f"id={CST}"])
    assert result.exit_code != 0
    assert "the query needs parameter $levels, which was not given" in result.output
