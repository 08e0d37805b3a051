"""Reaching Neo4j: ``--db bolt://...`` reaches the server or fails in one line, and the
credentials (from the environment only) appear in no message, path or log.

The tests marked ``neo4j`` run against the live server of ``tests/neo4j/`` (``.ci/run`` starts
it); the others need no server: they check what happens when there is none.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

import graphscore as gs
from graphscore.cli import app
from graphscore.store import open_store
from tests.conftest import ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")
runner = CliRunner()
SECRET = "n0t-the-Passw0rd-}'\"`"  # a password that must never be seen anywhere


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


@pytest.fixture
def wrong_password(monkeypatch):
    monkeypatch.setenv("GRAPHSCORE_NEO4J_USER", "neo4j")
    monkeypatch.setenv("GRAPHSCORE_NEO4J_PASSWORD", SECRET)


@pytest.mark.neo4j
def test_a_wrong_password_fails_in_one_line_that_does_not_show_it(neo4j_uri, wrong_password, caplog, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)  # the driver's own debug log must not carry it either
    result = runner.invoke(app, ["cypher", "--db", neo4j_uri, "RETURN 1 AS one"])
    assert result.exit_code == 2
    assert error_lines(result) == [f"error: Neo4j at {neo4j_uri} refused the credentials (user name and "
                                   "password from GRAPHSCORE_NEO4J_USER and GRAPHSCORE_NEO4J_PASSWORD)"]
    assert SECRET not in result.output and SECRET not in caplog.text
    assert "Unauthorized" in caplog.text or "authentication" in caplog.text.lower()  # the log was captured
    with pytest.raises(gs.StoreError) as raised:
        open_store(neo4j_uri)
    assert SECRET not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # no driver error in a traceback
    assert list(tmp_path.iterdir()) == []  # no folder named after the URI


def test_an_unreachable_port_fails_in_one_line(tmp_path, monkeypatch, wrong_password):
    monkeypatch.chdir(tmp_path)
    uri = f"bolt://127.0.0.1:{free_port()}"
    for command in (["load", str(ZALA), "--db", uri], ["score", "--db", uri, "--policy",
                                                       str(ZALA.parent.parent / "policies" / "joint-punishment.toml"),
                                                       "--out", "s.csv"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        [line] = error_lines(result)
        assert line.startswith(f"error: cannot reach Neo4j at {uri}: ") and "refused" in line.lower()
        assert SECRET not in result.output
    assert list(tmp_path.iterdir()) == []  # the URI did not become a store folder (bolt:/...)


def test_credentials_in_the_uri_are_refused_without_echoing_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["load", str(ZALA), "--db", f"neo4j://neo4j:{SECRET}@127.0.0.1:{free_port()}"])
    assert result.exit_code == 2
    assert error_lines(result) == ["error: a Neo4j URI must not carry a user name or password: give them in "
                                   "GRAPHSCORE_NEO4J_USER and GRAPHSCORE_NEO4J_PASSWORD"]
    assert SECRET not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target, message", [
    (Path("bolt://127.0.0.1:7687"), r"--db bolt:\.\.\. is a Neo4j URI without its '//'"),
    ("http://127.0.0.1:7474", r"--db: http:// is not a store"),
])
def test_what_looks_like_a_uri_never_becomes_a_folder(target, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(gs.StoreError, match=message):
        open_store(target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.neo4j
def test_an_empty_database_is_not_scored(neo4j_store, neo4j_uri, tmp_path):
    result = runner.invoke(app, ["ubo", "X", "--db", neo4j_uri])
    assert result.exit_code == 2
    assert error_lines(result) == [f"error: the Neo4j database at {neo4j_uri} holds no graphscore data: "
                                   "load data first (graphscore load PATH --db URI)"]


@pytest.mark.neo4j
def test_cypher_without_write_cannot_change_neo4j(neo4j_store, neo4j_uri):
    neo4j_store.load(gs.validate(gs.read_path(ZALA)))
    result = runner.invoke(app, ["cypher", "--db", neo4j_uri, "MATCH (e:Entity) SET e.name = 'x' RETURN count(e)"])
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert "read" in line.lower()
    assert neo4j_store.query("MATCH (e:Entity {name: 'x'}) RETURN count(e) AS n")["n"].tolist() == [0]
    written = runner.invoke(app, ["cypher", "--db", neo4j_uri, "--write", "MATCH (e:Entity) WHERE e.id = $id "
                                  "SET e.name = 'x' RETURN count(e) AS n", "--param", "id=NK-abdzbEBkqyT29GyREbiURZ"])
    assert written.exit_code == 0, written.output
    assert neo4j_store.query("MATCH (e:Entity {name: 'x'}) RETURN count(e) AS n")["n"].tolist() == [1]
    assert neo4j_store.data_fingerprint() is None  # a write outside a load: cached results are no longer trusted
