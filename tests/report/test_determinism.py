"""Same store, policy and date give byte-identical reports, whatever Python's string hashing
(``PYTHONHASHSEED``): only the ``generated_at`` stamp may differ (issue 13, part 11)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings

import pandas as pd
import pytest

import graphscore as gs
from graphscore.store.ladybug import LadybugStore
from graphscore.synthetic import generate_network
from tests.conftest import POLICIES

STAMP = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?")


@pytest.fixture(scope="module")
def registry_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("determinism") / "db"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(400, seed=7))
        with LadybugStore(db) as store:
            store.load(tables)
    degree = tables.links["source"].value_counts().add(tables.links["target"].value_counts(), fill_value=0)
    day = pd.Timestamp("2024-06-30")
    penalties = tables.penalties
    active = penalties[(penalties["start"] <= day) & ~(penalties["end"] <= day)]["entity"]
    # the best-connected entities: the largest neighbourhoods to order
    return db, str(degree.idxmax()), str(degree[degree.index.isin(active)].idxmax())


def reports(db, entity: str, penalised: str, out, seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    for command in (["report", "dossier", entity], ["report", "spillover", "--entity", penalised]):
        folder = out / command[1]
        result = subprocess.run([sys.executable, "-m", "graphscore.cli", *command, "--db", str(db), "--policy",
                                 str(POLICIES / "joint-punishment.toml"), "--as-of", "2024-06-30", "--quiet",
                                 "--out", str(folder)], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    return {str(path.relative_to(out)): STAMP.sub(b"<generated_at>", path.read_bytes())
            for path in sorted(out.rglob("*")) if path.is_file()}


def test_reports_do_not_depend_on_string_hashing(tmp_path, registry_db):
    db, entity, penalised = registry_db
    first = reports(db, entity, penalised, tmp_path / "a", "1")
    second = reports(db, entity, penalised, tmp_path / "b", "2")
    assert set(first) >= {"dossier/report.json", "dossier/report.html", "dossier/report.md",
                          "dossier/dossier_neighbourhood.svg", "spillover/report.json"}
    assert first == second
