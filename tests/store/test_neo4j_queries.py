"""The investigator queries of ``cypher/queries/`` run unchanged on both stores and give the
same rows, on a synthetic registry loaded into each (the live Neo4j of ``tests/neo4j/``)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

import graphscore as gs
from graphscore.store.ladybug import LadybugStore
from graphscore.synthetic import generate_network
from tests.conftest import DATA

pytestmark = [pytest.mark.neo4j, pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")]
QUERIES = DATA.parent / "cypher" / "queries"


@pytest.fixture(scope="module")
def registry() -> gs.Tables:
    tables = gs.validate(generate_network(300, seed=4, registered_agents=True))
    policy = gs.load_policy(DATA / "policies" / "joint-punishment.toml")
    # two dates, so that the score history has something to compare (score_rose_since)
    scores = {as_of: gs.score(tables, policy, as_of=as_of.isoformat())
              for as_of in (dt.date(2023, 6, 30), dt.date(2024, 6, 30))}
    return tables, scores, policy


@pytest.fixture(scope="module")
def stores(registry, neo4j_uri, tmp_path_factory):
    """The registry, with scores of two dates written back, in an embedded store and in Neo4j."""
    from graphscore.store import open_store

    tables, scores, policy = registry
    with LadybugStore(tmp_path_factory.mktemp("embedded")) as embedded, open_store(neo4j_uri) as neo4j:
        neo4j.query("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
        for store in (embedded, neo4j):
            store.load(tables)
            for as_of, scored in scores.items():  # the later last: Entity properties hold the last write
                store.write_scores(scored, policy=policy, as_of=as_of)
        yield embedded, neo4j


def declared_parameters(path) -> list[str]:
    """The ``$names`` a query file's header declares after ``Parameters:``."""
    header = " ".join(line for line in path.read_text().splitlines() if line.startswith("//"))
    return sorted(set(re.findall(r"\$(\w+)", header.partition("Parameters:")[2])))


def comparable(frame: pd.DataFrame) -> list[tuple]:
    """Rows as sortable tuples, lists (``collect``) sorted: neither store promises their order."""
    def cell(value):
        if isinstance(value, list):
            return tuple(sorted(map(str, value)))
        return "<null>" if pd.isna(value) else str(value)
    return sorted(tuple(cell(v) for v in row) for row in frame.itertuples(index=False))


def test_every_shipped_query_gives_the_same_rows_on_both_stores(registry, stores):
    tables = registry[0]
    busiest = tables.links.groupby("target").size().sort_values(ascending=False).index[:25]
    fixed = {"as_of": dt.date(2024, 6, 30), "until": dt.date(2024, 6, 30), "limit": 10, "levels": 2, "hops": 2,
             "min_entities": 2, "policy": registry[2].name, "since": dt.date(2024, 1, 1)}
    ids = {"id", "from", "to"}  # entity ids, taken from the 25 entities with most links in
    queries = sorted(QUERIES.glob("*.cypher"))
    assert len(queries) >= 5
    for path in queries:
        names = declared_parameters(path)
        unknown = set(names) - set(fixed) - ids
        assert not unknown, f"{path.name}: give test values for {sorted(unknown)}"
        found = 0
        for first, second in zip(busiest, busiest[1:]) if ids & set(names) else [(None, None)]:
            parameters = {name: fixed[name] if name in fixed else second if name == "to" else first
                          for name in names}
            embedded, neo4j = (store.query(path.read_text(), parameters) for store in stores)
            if path.stem == "shortest_connection":  # either store may pick another path of the same length
                embedded, neo4j = (frame.drop(columns=["id", "name", "kind"]) for frame in (embedded, neo4j))
            embedded, neo4j = comparable(embedded), comparable(neo4j)
            assert embedded == neo4j, (path.name, parameters)
            found += bool(embedded)
        assert found, f"{path.name} returned no row for any of the ids tried"
