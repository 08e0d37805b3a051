"""The investigator queries in cypher/queries/ run on the embedded store and agree with pandas."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import graphscore as gs
from graphscore.io import read_paths
from graphscore.store.ladybug import LadybugStore
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
