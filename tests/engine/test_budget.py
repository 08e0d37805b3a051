"""A model run that would take hours on the graph at hand is refused before it starts, with the
estimate, unless the caller insists (issue 13, part 5)."""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

import graphscore as gs
from graphscore.cli import app
from graphscore.engine.budget import LIMIT_SECONDS, allow_long_runs, check_work, estimated_seconds
from graphscore.errors import TooMuchWork
from graphscore.io import write_tables
from graphscore.synthetic import generate_network
from tests.conftest import POLICIES, ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


@pytest.fixture(scope="module")
def registry():
    """40,000 companies: about 240,000 links the cascade policy transmits over."""
    return gs.validate(generate_network(40_000, seed=2))


def cascade(runs: int) -> gs.Policy:
    return dataclasses.replace(gs.load_policy(POLICIES / "cascade.toml"), runs=runs)


def test_a_million_cascade_runs_over_a_register_are_refused_with_the_estimate(registry):
    with pytest.raises(TooMuchWork, match=r"cascade with 1,000,000 runs over 2\d\d,\d\d\d links would take about "
                                          r"1\.\d hours here; lower it in the policy, or pass --force"):
        gs.score(registry, cascade(1_000_000), as_of="2024-06-30")


def test_the_estimate_follows_links_times_runs_and_force_lets_it_through():
    policy = cascade(1_000_000)
    assert estimated_seconds(policy, 100_000) == pytest.approx(2 * estimated_seconds(policy, 50_000))
    links = int(2 * LIMIT_SECONDS * 5e7 / policy.runs)  # twice the limit
    with pytest.raises(TooMuchWork):
        check_work(policy, links)
    with allow_long_runs():
        check_work(policy, links)
    with pytest.raises(TooMuchWork):  # the permission ends with its block
        check_work(policy, links)
    check_work(cascade(1_000), links)  # a thousand runs: minutes, not hours


def test_the_command_refuses_in_one_line_and_takes_force(tmp_path, registry):
    runner = CliRunner()
    folder, db = tmp_path / "registry", str(tmp_path / "db")
    write_tables(registry, folder, format="parquet")
    assert runner.invoke(app, ["load", str(folder), "--db", db, "-q"]).exit_code == 0
    heavy = tmp_path / "heavy.toml"
    heavy.write_text((POLICIES / "cascade.toml").read_text().replace("runs = ", "runs = 1000000 #", 1))
    refused = runner.invoke(app, ["score", "--db", db, "--policy", str(heavy), "--as-of", "2024-06-30", "-q",
                                  "--out", str(tmp_path / "s.csv")])
    assert refused.exit_code == 2
    assert "would take about" in refused.output and "pass --force" in refused.output
    assert not (tmp_path / "s.csv").exists()
    zala = str(tmp_path / "zala")
    assert runner.invoke(app, ["load", str(ZALA), "--db", zala, "-q"]).exit_code == 0
    forced = runner.invoke(app, ["score", "--db", zala, "--policy", str(POLICIES / "cascade.toml"), "--force", "-q",
                                 "--as-of", "2024-06-30", "--out", str(tmp_path / "z.csv")])
    assert forced.exit_code == 0, forced.output
