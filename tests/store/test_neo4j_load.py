"""Loading into Neo4j: a registry loaded three times is stored exactly (field by field), and a
load that meets a transient error (here a real deadlock with another transaction) is run
again from the start by the driver and still commits once, whole. Live server of ``tests/neo4j/``."""

from __future__ import annotations

import os
import threading
import time
import warnings

import neo4j
import pytest

import graphscore as gs
from graphscore.synthetic import generate_network
from tests.store.test_bulk_load import assert_store_holds
from tests.store.test_neo4j_staged import AtRows

pytestmark = [pytest.mark.neo4j, pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")]


@pytest.fixture(scope="module")
def registry() -> gs.Tables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        return gs.validate(generate_network(5_000, seed=3))


def test_three_loads_of_one_registry_store_it_exactly(neo4j_store, registry):
    first = neo4j_store.load(registry)
    assert first.written["links"] == {"new": len(registry.links), "changed": 0, "unchanged": 0}
    assert_store_holds(neo4j_store, registry)
    for _ in range(2):
        again = neo4j_store.load(registry)
        assert again.written["links"] == {"new": 0, "changed": 0, "unchanged": len(registry.links)}
        assert_store_holds(neo4j_store, registry)


def test_a_reload_with_corrections_updates_those_records_only(neo4j_store, registry):
    neo4j_store.load(registry)
    corrected = gs.Tables(registry.entities.copy(), registry.links.copy(), registry.penalties.copy(), validated=True)
    corrected.entities.loc[corrected.entities.index[:3], "name"] = ["Renamed 1", "Renamed 2", "Renamed 3"]
    owns = corrected.links.index[corrected.links["type"] == "OWNS"][:5]
    corrected.links.loc[owns, "share"] = 0.01
    corrected.penalties.loc[corrected.penalties.index[:2], "severity"] = 7.5
    summary = neo4j_store.load(corrected)
    assert summary.written["entities"]["changed"] == 3
    assert summary.written["links"]["changed"] == 5
    assert summary.written["penalties"]["changed"] == 2
    assert_store_holds(neo4j_store, corrected)


def test_a_load_that_meets_a_deadlock_is_retried_whole(neo4j_store, neo4j_uri):
    """Another transaction T holds the fingerprint node (written at the very end of a load) and
    every entity but one, Y. The load corrects Y, so it locks Y; then T asks for Y and waits;
    then the load reaches the fingerprint node: a lock cycle. The server breaks it by refusing
    the transaction holding fewer locks, the load, with DeadlockDetected, a transient error.
    The driver rolls the load back and runs it again; T gets Y, commits, and the retry (which
    reports its rows a second time) commits."""
    base = gs.validate(generate_network(1_000, seed=5))
    neo4j_store.load(base)
    target = base.entities["id"].iloc[0]
    corrected = gs.Tables(base.entities.copy(), base.links, base.penalties, validated=True)
    corrected.entities.loc[corrected.entities.index[0], "name"] = "Corrected name"
    entities_written, asking, outcome = threading.Event(), threading.Event(), {}

    def pause() -> None:
        """In the load, once it holds Y: let T ask for Y, and give T's request time to reach
        the server before the load goes on to the fingerprint node."""
        entities_written.set()
        asking.wait(timeout=60)
        time.sleep(2)

    def other_transaction():
        auth = (os.environ.get("GRAPHSCORE_NEO4J_USER", "neo4j"), os.environ["GRAPHSCORE_NEO4J_PASSWORD"])
        with neo4j.GraphDatabase.driver(neo4j_uri, auth=auth) as driver, driver.session() as session, \
                session.begin_transaction() as tx:
            tx.run("MATCH (m:GraphscoreMeta {key: 'data_fingerprint'}) SET m.value = m.value").consume()
            tx.run("MATCH (e:Entity) WHERE e.id <> $id SET e.name = e.name", id=target).consume()
            held.set()
            entities_written.wait(timeout=120)
            asking.set()
            try:
                tx.run("MATCH (e:Entity {id: $id}) SET e.name = e.name", id=target).consume()
                tx.commit()
                outcome["other"] = "committed"
            except Exception as exc:  # noqa: BLE001 - the test reports which side the server refused
                outcome["other"] = f"refused: {str(exc)[:200]}"

    held = threading.Event()
    other = threading.Thread(target=other_transaction)
    other.start()
    held.wait(timeout=60)
    progress = AtRows(1, pause)  # inside the load's transaction, before its next statement
    summary = neo4j_store.load(corrected, progress=progress)
    other.join(timeout=120)
    assert outcome.get("other") == "committed", outcome
    assert progress.written == 2, progress.written  # written twice: the first attempt was rolled back
    assert summary.written["entities"] == {"new": 0, "changed": 1, "unchanged": len(base.entities) - 1}
    assert_store_holds(neo4j_store, corrected)


def transaction_limit_mib(store) -> float:
    """The server's bound on one transaction's memory (``db.memory.transaction.max``), 0 for none."""
    value = store.query("SHOW SETTINGS YIELD name, value WHERE name = 'db.memory.transaction.max' "
                        "RETURN value")["value"].iloc[0]
    return float(value.removesuffix("MiB")) if value.endswith("MiB") else float(value) / 2**20


def test_a_write_too_large_for_one_transaction_fails_at_once_and_changes_nothing(neo4j_store):
    """The test server bounds one transaction (tests/neo4j/start.sh, 192 MiB). The server calls
    running past it a transient error, but the same writes need the same memory: the write
    stops at the first refusal, not after 30 s of retries. The writes are made on the server
    (one KB per node), through the one function every load and score write-back runs in."""
    limit = transaction_limit_mib(neo4j_store)
    if not limit:
        pytest.skip("this Neo4j sets no db.memory.transaction.max")
    neo4j_store.load(gs.validate(generate_network(50, seed=1)))
    before, counts = neo4j_store.read_tables().fingerprint(), neo4j_store.counts()
    nodes = int(limit * 2**20 * 1.5 / 1024)

    def work(run):
        run("UNWIND range(1, $n) AS i MATCH (e:Entity) WITH e, i LIMIT 1 SET e.name = 'changed'", {"n": 1})
        run("UNWIND range(1, $n) AS i CREATE (:Entity {id: 'big' + toString(i), kind: 'company', name: $name})",
            {"n": nodes, "name": "x" * 1024})

    started = time.perf_counter()
    with pytest.raises(gs.StoreError, match=r"^write rolled back, store unchanged: too large for one transaction on this server \(.*\): give it more "
                                            r"transaction memory \(db.memory.transaction.max, "):
        neo4j_store._write_in_one_transaction(work)
    assert time.perf_counter() - started < 30  # a retry would wait, and write it all again
    assert neo4j_store.counts() == counts and neo4j_store.read_tables().fingerprint() == before
