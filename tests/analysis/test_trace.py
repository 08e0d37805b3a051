"""trace on the OpenSanctions Zala sample, checked by hand against its records."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from graphscore.analysis.trace import trace
from graphscore.cli import app
from graphscore.io import read_paths
from graphscore.workspace import Workspace
from tests.conftest import ZALA

CST = "NK-abdzbEBkqyT29GyREbiURZ"            # LLC CST, the maker of Zala drones
ZAKHAROV = "NK-aU5ybkbRFJucf8YMwsJvDw"       # its general designer, executive and owner
SVETLANA = "NK-DQ98GPMgdVH8DSZd8g9Xtc"       # his wife
pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


@pytest.fixture(scope="module")
def zala():
    return Workspace(read_paths([ZALA]))


def test_any_date_finds_her_own_stake(zala):
    # Svetlana held 1 % of LLC CST from 2022-01-17 to 2023-03-02: one link, of some date
    found = trace(zala, CST, SVETLANA)
    assert found.length == 1 and found.as_of is None
    assert found.steps["links"].tolist() == ["<- OWNS 1% [2022-01-17, 2023-03-02)"]


def test_in_2016_she_is_two_links_away_through_her_husband(zala):
    found = trace(zala, CST, SVETLANA, as_of="2016-01-01")
    assert found.length == 2 and found.chains == 1
    assert found.steps[["from_id", "to_id"]].values.tolist() == [[CST, ZAKHAROV], [ZAKHAROV, SVETLANA]]
    # both of his records with LLC CST in force that day, each pointing the way it was written
    assert found.steps["links"].iloc[0] == "<- OFFICER_OF executive; <- OWNS 50% [2015-11-25, 2023-03-02)"
    assert found.steps["links"].iloc[1].startswith("<- FAMILY")


def test_no_chain_within_the_bound_says_so(zala):
    found = trace(zala, CST, SVETLANA, as_of="2016-01-01", max_links=1)
    assert found.length is None and found.steps.empty
    assert found.notes == [f"no chain of at most 1 links in force on 2016-01-01 joins {CST} and {SVETLANA}"]


def test_unknown_id_is_named(zala):
    with pytest.raises(KeyError, match="unknown entity id 'nobody'"):
        trace(zala, CST, "nobody")


def test_cli_prints_the_chain_and_json(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "db")
    assert runner.invoke(app, ["load", str(ZALA), "--db", db, "-q"]).exit_code == 0
    shown = runner.invoke(app, ["trace", CST, SVETLANA, "--db", db, "--as-of", "2016-01-01", "-q"])
    assert shown.exit_code == 0, shown.output
    assert "1 shortest chain(s) of 2 link(s)" in shown.output
    assert "  Alexander Vyacheslavovich ZAKHAROV (NK-aU5ybkbRFJucf8YMwsJvDw)" in shown.output
    as_json = runner.invoke(app, ["trace", CST, SVETLANA, "--db", db, "--json", "-q"])
    assert json.loads(as_json.output)["chains"][0][0]["to_id"] == SVETLANA
    missing = runner.invoke(app, ["trace", CST, "nobody", "--db", db, "-q"])
    assert missing.exit_code == 2 and "unknown entity id 'nobody'" in missing.output
