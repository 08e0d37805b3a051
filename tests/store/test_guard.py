"""``graphscore cypher`` without ``--write`` reads the graph and nothing else: no file written or
read, no extension installed or loaded, no setting changed, no other database opened."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import graphscore as gs
from graphscore.cli import app
from graphscore.store.guard import check_read_only
from tests.conftest import ZALA

runner = CliRunner()


@pytest.fixture(scope="module")
def zala_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("guard") / "db"
    assert runner.invoke(app, ["load", str(ZALA), "--db", str(db)]).exit_code == 0
    return db


@pytest.mark.parametrize("query, refused", [
    ("COPY (MATCH (e:Entity) RETURN e.id) TO '{out}/x.csv'", "COPY reads or writes files"),
    ("copy (match (e:Entity) return e.id) to '{out}/x.parquet'", "COPY reads or writes files"),
    ("EXPORT DATABASE '{out}/export'", "EXPORT writes files"),
    ("INSTALL httpfs", "INSTALL downloads an extension"),
    ("LOAD EXTENSION httpfs", "LOAD reads files or URLs, or loads an extension"),
    ("LOAD FROM '/etc/hostname' (file_format='csv') RETURN *", "LOAD reads files or URLs, or loads an extension"),
    ("LOAD FROM 'https://example.org/x.csv' RETURN *", "LOAD reads files or URLs, or loads an extension"),
    ("ATTACH '{out}/other.lbug' AS other (dbtype lbug)", "ATTACH opens another database"),
    ("MATCH (e:Entity) SET e.name = 'x'", "SET changes the store"),
    ("MATCH (e:Entity) DETACH DELETE e", "DETACH opens or closes another database, or deletes"),
    ("/* a comment */ CREATE (:Entity {{id: 'x'}})", "CREATE changes the store"),
])
def test_read_only_cypher_refuses_what_is_not_reading(zala_db, tmp_path, query, refused):
    result = runner.invoke(app, ["cypher", "--db", str(zala_db), query.format(out=tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: read-only query refused: {refused}; use --write to allow it"]
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_read_only_cypher_refuses_procedures_that_do_more_than_describe(zala_db):
    result = runner.invoke(app, ["cypher", "--db", str(zala_db), "CALL threads=1"])
    assert result.exit_code == 2
    assert result.output.startswith("error: read-only query refused: CALL threads is not one of the procedures that "
                                    "only describe the store (")


@pytest.mark.parametrize("query", [
    "MATCH (e:Entity {name: 'COPY TO x'}) RETURN e.id AS copy_id, e.name AS `set`",
    "MATCH (e:Entity) WHERE e.kind = $load RETURN count(e) AS n // DELETE in a comment",
    "CALL show_tables() RETURN name",
    "MATCH (e:Entity)-[r:OWNS]->(c:Entity) RETURN r.share AS `create`, c.id AS id LIMIT 1",
])
def test_read_only_cypher_runs_reading_queries(zala_db, query):
    result = runner.invoke(app, ["cypher", "--db", str(zala_db), query, "--param", "load=company"])
    assert result.exit_code == 0, result.output


def test_write_lifts_the_check(zala_db, tmp_path):
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["cypher", "--db", str(zala_db), "--write",
                                 f"COPY (MATCH (e:Entity) RETURN e.id) TO '{out}'"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 17


def test_the_check_applies_to_any_read_only_store(zala_db):
    from graphscore.store.ladybug import LadybugStore

    with LadybugStore(zala_db, read_only=True) as store, pytest.raises(gs.StoreError, match="INSTALL"):
        store.query("INSTALL httpfs")
    assert check_read_only("MATCH (a)-[:OWNS]->(b) RETURN a.id, b.id") is None
