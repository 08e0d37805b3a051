"""``graphscore score --engine spark``: Parquet tables in, a Parquet folder and a manifest out, the
in-memory engine's columns and numbers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import graphscore as gs
from graphscore.cli import app
from graphscore.io import write_tables
from graphscore.synthetic import generate_network
from tests.conftest import POLICIES

pytestmark = pytest.mark.spark


def test_score_engine_spark_writes_the_in_memory_columns(spark, tmp_path):
    tables = generate_network(150, seed=3)
    write_tables(tables, tmp_path / "in", format="parquet")
    policy = POLICIES / "ofac-50.toml"
    out = tmp_path / "scores.parquet"
    result = CliRunner().invoke(app, ["score", "--engine", "spark", "--input", str(tmp_path / "in"),
                                      "--policy", str(policy), "--as-of", "2024-06-30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out).sort_values("id", ignore_index=True)
    expected = gs.score(gs.validate(tables), gs.load_policy(policy), as_of="2024-06-30").sort_values(
        "id", ignore_index=True)
    assert list(written.columns) == list(expected.columns)
    np.testing.assert_allclose(written["stake"], expected["stake"], atol=1e-9)
    assert (written["total"] == expected["total"]).all()
    manifest = json.loads((tmp_path / "scores.manifest.json").read_text())
    assert manifest["engine"]["name"] == "spark" and manifest["as_of"] == "2024-06-30"
    assert manifest["data"]["links"]["rows"] == len(tables.links)


def test_score_engine_spark_bad_input_is_one_line(spark, tmp_path):
    tables = generate_network(30, seed=1)
    tables.links.loc[4, "share"] = 1.7
    write_tables(tables, tmp_path / "in", format="parquet")
    result = CliRunner().invoke(app, ["score", "--engine", "spark", "--input", str(tmp_path / "in"), "--policy",
                                      str(POLICIES / "ofac-50.toml"), "--out", str(tmp_path / "s.parquet")])
    assert result.exit_code == 2
    assert "error: links.parquet:6: share=1.7 outside [0, 1]" in result.output


def test_score_engine_spark_needs_input(tmp_path):
    result = CliRunner().invoke(app, ["score", "--engine", "spark", "--policy", str(POLICIES / "ofac-50.toml"),
                                      "--out", str(tmp_path / "s.parquet")])
    assert result.exit_code == 2 and "give --input FOLDER" in result.output
