"""Tests for `graphscore export` and graphscore.io.export: a store loaded from the OpenSanctions
sample is written in each format through its workspace, and each file reads back as the store's tables."""

import warnings
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from graphscore.cli import app
from graphscore.io import EXPORT_FORMATS
from graphscore.io.ftm import read_ftm
from graphscore.io.neo4j_csv import header_fields
from graphscore.model import validate
from graphscore.workspace import open_workspace

ZALA = Path(__file__).parents[2] / "data" / "zala" / "entities.ftm.json"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("export") / "db"
    result = CliRunner().invoke(app, ["load", str(ZALA), "--db", str(db), "-q"])
    assert result.exit_code == 0, result.output
    return db


def run(*args) -> object:
    return CliRunner().invoke(app, ["export", *map(str, args), "-q"])


def test_every_format_is_a_command_choice(store, tmp_path):
    for format in EXPORT_FORMATS:
        result = run("--db", store, "--format", format, "--out", tmp_path / format)
        assert result.exit_code == 0, result.output
        assert "17 entities, 21 links, 61 penalties)" in " ".join(result.output.split())


def test_exports_read_back_as_the_store(store, tmp_path):
    tables = open_workspace(store).tables
    assert run("--db", store, "--format", "ftm", "--out", tmp_path / "zala.ftm.json").exit_code == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's overlapping stakes: tested in test_ftm.py
        back = validate(read_ftm(tmp_path / "zala.ftm.json"))
    for name, frame in tables.items():
        key = ["id"] if "id" in frame.columns else ["source", "target", "type", "start", "source_ref"]
        assert (getattr(back, name).sort_values(key).reset_index(drop=True)
                .equals(frame.sort_values(key).reset_index(drop=True))), name
    assert run("--db", store, "--format", "graphml", "--out", tmp_path / "zala.graphml").exit_code == 0
    graph = nx.read_graphml(tmp_path / "zala.graphml", force_multigraph=True)
    assert (graph.number_of_nodes(), graph.number_of_edges()) == (17 + 61, 21 + 61)
    assert run("--db", store, "--format", "neo4j-csv", "--out", tmp_path / "neo4j").exit_code == 0
    assert (tmp_path / "neo4j" / "links_header.csv").read_text().strip() == ",".join(header_fields()["links"])
    assert len((tmp_path / "neo4j" / "links.csv").read_text(encoding="utf-8").splitlines()) == 21


def test_bad_format_and_missing_store(store, tmp_path):
    result = run("--db", store, "--format", "gexf", "--out", tmp_path / "x")
    assert result.exit_code == 2
    assert result.output.strip() == "error: --format 'gexf' is not one of graphml, neo4j-csv, ftm."
    result = run("--db", tmp_path / "nowhere", "--format", "ftm", "--out", tmp_path / "x.json")
    assert result.exit_code == 2 and result.output.startswith("error: ")
    assert not (tmp_path / "x.json").exists()
