"""Every command on Neo4j gives what it gives on the embedded store: the same data loaded into
both through ``graphscore load``, each command run with ``--db DIR`` and ``--db bolt://...``,
and the outputs compared (tables to 1e-12, reports field by field but for the time they were
made). Runs against the live server of ``tests/neo4j/``."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from graphscore.cli import app
from graphscore.store import open_store
from tests.conftest import DATA, POLICIES, ZALA

TOP_SCORES = (DATA.parent / "cypher" / "queries" / "top_scores.cypher").read_text()

pytestmark = [pytest.mark.neo4j, pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")]
runner = CliRunner()
JOINT, DIFFUSION = str(POLICIES / "joint-punishment.toml"), str(POLICIES / "diffusion.toml")
CST, ZAKHAROV = "NK-abdzbEBkqyT29GyREbiURZ", "NK-aU5ybkbRFJucf8YMwsJvDw"
QUERIES = DATA.parent / "cypher" / "queries"


def run(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def stores(neo4j_uri, tmp_path_factory) -> dict[str, str]:
    """``--db`` of each store, both loaded with the OpenSanctions sample by ``graphscore load``."""
    with open_store(neo4j_uri) as store:
        store.query("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
    dbs = {"ladybug": str(tmp_path_factory.mktemp("embedded") / "db"), "neo4j": neo4j_uri}
    loaded = {name: run("load", ZALA, "--db", db, "-q") for name, db in dbs.items()}
    assert loaded["ladybug"] == loaded["neo4j"]
    assert "entities 17 new" in loaded["neo4j"]
    return dbs


def both(stores, tmp_path, *args) -> dict[str, tuple[str, object]]:
    """Run ``graphscore *args`` on each store; ``{db}`` and ``{out}`` in args are filled in."""
    results = {}
    for name, db in stores.items():
        out = tmp_path / name
        filled = [str(a).format(db=db, out=out) for a in args]
        results[name] = (run(*filled, *(["-q"] if filled[0] != "cypher" else [])), out)
    return results


def without_time(report):
    """A report without the times its manifests were made, at any depth."""
    if isinstance(report, dict):
        return {key: without_time(value) for key, value in report.items() if key != "generated_at"}
    return [without_time(value) for value in report] if isinstance(report, list) else report


def same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-15)


def test_score_writes_the_same_scores_and_writes_them_back(stores, tmp_path):
    ran = both(stores, tmp_path, "score", "--db", "{db}", "--policy", JOINT, "--as-of", "2022-06-30",
               "--out", "{out}/scores.csv")
    (_, ladybug), (_, neo4j) = ran.values()
    same_table(pd.read_csv(ladybug / "scores.csv"), pd.read_csv(neo4j / "scores.csv"))
    manifests = [without_time({"manifest": json.loads((out / "scores.manifest.json").read_text())})
                 for out in (ladybug, neo4j)]
    assert manifests[0] == manifests[1]
    written = []
    for db in stores.values():
        with open_store(db, read_only=True) as store:
            back = store.query(TOP_SCORES, {"limit": 100000})[["id", "total", "policy", "as_of"]].sort_values("id")
            back = back.reset_index(drop=True)
        back["as_of"] = back["as_of"].map(lambda d: pd.Timestamp(d).date())
        written.append(back)
    same_table(*written)
    scored = written[1]  # an entity scoring zero has no record: not listed
    assert len(scored) and set(scored["as_of"]) == {dt.date(2022, 6, 30)} and set(scored["policy"]) == {"joint-punishment"}


@pytest.mark.parametrize("args", [
    ["whatif", "--policy", JOINT, "--as-of", "2022-06-30", "--lift", "jp-meti-ru-a4289d0f2ab37bb75f684ce3ef806f3092417b7f"],
    ["whatif", "--policy", JOINT, "--as-of", "2022-06-30", "--penalize", ZAKHAROV, "--severity", "2"],
    ["report", "spillover", "--policy", JOINT, "--as-of", "2022-06-30", "--entity", CST],
    ["report", "dossier", ZAKHAROV, "--policy", JOINT, "--as-of", "2024-06-30"],
    ["compare", "--policy", JOINT, "--policy", DIFFUSION, "--as-of", "2024-06-30"],
    ["compare", "--policy", JOINT, "--sweep", "damping=0.2,0.6", "--as-of", "2024-06-30"],
], ids=lambda args: "-".join(a for a in args[:2] if not a.startswith("/")))
def test_reports_are_the_same(stores, tmp_path, args):
    ran = both(stores, tmp_path, *args, "--db", "{db}", "--out", "{out}")
    (_, ladybug), (_, neo4j) = ran.values()
    assert without_time(json.loads((ladybug / "report.json").read_text())) == \
        without_time(json.loads((neo4j / "report.json").read_text()))
    if args[0] == "whatif":
        changes = [pd.read_csv(out / "changes.csv") for out in (ladybug, neo4j)]
        assert len(changes[0]) > 0
        same_table(*changes)


def test_explain_is_the_same(stores, tmp_path):
    ran = both(stores, tmp_path, "explain", ZAKHAROV, "--db", "{db}", "--policy", JOINT, "--as-of", "2024-06-30",
               "--json")
    explained = [json.loads(output) for output, _ in ran.values()]
    assert explained[0]["contributions"]  # something to compare
    assert without_time(explained[0]) == without_time(explained[1])


@pytest.mark.parametrize("rule", [["--rule", "ofac"], ["--rule", "eu"], ["--rule", "integrated"], ["--compare"]])
def test_ownership_is_the_same(stores, tmp_path, rule):
    ran = both(stores, tmp_path, "ownership", "--db", "{db}", *rule, "--as-of", "2024-06-30", "--out", "{out}.csv")
    tables = [pd.read_csv(f"{out}.csv") for _, out in ran.values()]
    same_table(*tables)


def test_ubo_is_the_same(stores, tmp_path):
    ran = both(stores, tmp_path, "ubo", CST, "--db", "{db}", "--as-of", "2024-06-30", "--threshold", "0.01")
    outputs = [output for output, _ in ran.values()]
    assert "LLC CST (49%)" in outputs[0]
    assert outputs[0] == outputs[1]


def test_the_cypher_command_prints_the_same_table(stores):
    path = QUERIES / "owners.cypher"
    outputs = [run("cypher", "--db", db, "--file", path, "--param", f"id={CST}") for db in stores.values()]
    assert "0.51" in outputs[0]
    assert sorted(outputs[0].splitlines()) == sorted(outputs[1].splitlines())
