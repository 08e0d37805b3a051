"""The store fixture the store suites share: each test runs on the embedded store and on Neo4j."""

from __future__ import annotations

import pytest

from graphscore.store.ladybug import LadybugStore


@pytest.fixture(params=["ladybug", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request, tmp_path):
    if request.param == "ladybug":
        with LadybugStore(tmp_path / "db") as store:
            yield store
        return
    yield request.getfixturevalue("neo4j_store")
