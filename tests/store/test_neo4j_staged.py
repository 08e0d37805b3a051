"""Staged loads into Neo4j (``graphscore.store.neo4j``, module docstring): a load larger than one
transaction is written under staging labels in many transactions and published in one. Here a
tiny ``stage_rows`` forces many staging transactions on a small registry. Live server of
``tests/neo4j/``; nothing is mocked: failures are real exceptions, a real constraint violation
on the server, and a real SIGKILL of a loading process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import warnings

import pytest
from typer.testing import CliRunner

import graphscore as gs
from graphscore.cli import app
from graphscore.model import link_keys
from graphscore.progress import Progress
from graphscore.store import open_store
from graphscore.synthetic import generate_network
from tests.store.test_bulk_load import assert_store_holds

pytestmark = [pytest.mark.neo4j, pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")]

STAGE_ROWS = 37  # rows per staging transaction: dozens of them for a registry of 300 companies
LEFTOVERS = ("MATCH (n) WHERE n:GraphscoreStagedEntity OR n:GraphscoreStagedPenalty "
             "OR (n:GraphscoreMeta AND n.key = 'staging') RETURN count(n) AS n")


@pytest.fixture(scope="module")
def registry() -> gs.Tables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        return gs.validate(generate_network(300, seed=4))


def staged(store):
    """The store, made to stage every load in transactions of STAGE_ROWS rows."""
    store.one_transaction_rows, store.stage_rows = 0, STAGE_ROWS
    return store


def leftovers(store) -> int:
    return int(store.query(LEFTOVERS).iloc[0, 0])


def part_of(registry: gs.Tables, *, drop_entities: int, drop_links: int) -> gs.Tables:
    """The registry without its last ``drop_entities`` entities (and the links and penalties
    that name them) and without ``drop_links`` more links between the entities kept."""
    gone = set(registry.entities["id"].iloc[-drop_entities:])
    entities = registry.entities[~registry.entities["id"].isin(gone)]
    links = registry.links[~registry.links["source"].isin(gone) & ~registry.links["target"].isin(gone)]
    links = links.iloc[:-drop_links]
    penalties = registry.penalties[~registry.penalties["entity"].isin(gone)]
    return gs.validate(gs.Tables(entities.reset_index(drop=True), links.reset_index(drop=True),
                                 penalties.reset_index(drop=True)))


class AtRows(Progress):
    """Calls ``act()`` once, from inside the load, when the rows reported written reach ``rows``."""

    def __init__(self, rows: int, act):
        self.written, self._rows, self._act = 0, rows, act

    @contextlib.contextmanager
    def step(self, doing, done=None, *, total=None, unit="rows"):
        def advance(n=1):
            if doing.startswith("writing"):
                before, self.written = self.written, self.written + n
                if before < self._rows <= self.written:
                    self._act()
        yield advance


class AfterEachBatch(Progress):
    """Calls ``act()`` each time the load reports rows written."""

    def __init__(self, act):
        self._act = act

    @contextlib.contextmanager
    def step(self, doing, done=None, *, total=None, unit="rows"):
        yield (lambda n=1: self._act()) if doing.startswith("writing") else (lambda n=1: None)


def test_a_staged_load_stores_exactly_and_a_reload_writes_nothing(neo4j_store, registry):
    store = staged(neo4j_store)
    first = store.load(registry)
    assert first.written["links"] == {"new": len(registry.links), "changed": 0, "unchanged": 0}
    assert_store_holds(store, registry)
    assert leftovers(store) == 0
    again = store.load(registry)
    assert all(w["new"] == w["changed"] == 0 for w in again.written.values()), again.written
    assert_store_holds(store, registry)


def test_a_staged_load_onto_stored_data_adds_and_corrects_it(neo4j_store, registry):
    """New entities with their links (staged), new links between stored entities and corrected
    rows (both written when publishing), in one load."""
    store = staged(neo4j_store)
    base = part_of(registry, drop_entities=20, drop_links=30)
    store.load(base)
    corrected = gs.Tables(registry.entities.copy(), registry.links.copy(), registry.penalties.copy(), validated=True)
    corrected.entities.loc[corrected.entities.index[:3], "name"] = ["Renamed 1", "Renamed 2", "Renamed 3"]
    stored = corrected.links["type"].eq("OWNS") & link_keys(corrected.links).isin(link_keys(base.links))
    owns = corrected.links.index[stored][:5]
    corrected.links.loc[owns, "share"] = 0.01
    summary = store.load(corrected)
    assert summary.written["entities"] == {"new": 20, "changed": 3, "unchanged": len(registry.entities) - 23}
    assert summary.written["links"]["changed"] == 5
    assert_store_holds(store, corrected)
    assert leftovers(store) == 0


def test_readers_see_nothing_of_a_staged_load_until_it_is_published(neo4j_store, neo4j_uri, registry):
    """Midway through staging, another connection reads the tables, counts and an untyped
    match of every labelled node: all as before the load."""
    store = staged(neo4j_store)
    base = part_of(registry, drop_entities=40, drop_links=10)
    store.load(base)
    before, seen = (store.read_tables().fingerprint(), store.counts()), {}

    def read() -> None:
        with open_store(neo4j_uri, read_only=True) as reader:
            seen["staged"] = leftovers(reader)
            seen["read"] = (reader.read_tables().fingerprint(), reader.counts())

    store.load(registry, progress=AtRows(60, read))
    assert seen["staged"] > 0  # the reader came while rows were staged
    assert seen["read"] == before
    assert_store_holds(store, registry)


def test_a_staged_load_that_fails_midway_leaves_the_store_unchanged(neo4j_store, registry):
    store = staged(neo4j_store)
    store.load(part_of(registry, drop_entities=40, drop_links=10))
    before, counts = store.read_tables().fingerprint(), store.counts()

    def fail() -> None:
        raise RuntimeError("the input stream broke")

    with pytest.raises(gs.StoreError, match="^load rolled back, store unchanged: the input stream broke$"):
        store.load(registry, progress=AtRows(60, fail))
    assert leftovers(store) == 0
    assert store.counts() == counts and store.read_tables().fingerprint() == before


def test_a_staged_load_refused_when_publishing_leaves_the_store_unchanged(neo4j_store, neo4j_uri, registry):
    """While the load stages its new entities, another client stores an entity under one of
    their ids. Publishing meets the uniqueness constraint, the server refuses the publishing
    transaction, and the load removes what it staged: the store holds what it held, plus the
    other client's entity."""
    store = staged(neo4j_store)
    base = part_of(registry, drop_entities=40, drop_links=10)
    store.load(base)
    taken = registry.entities["id"].iloc[-1]

    def conflict() -> None:
        with open_store(neo4j_uri) as other:
            other.query("CREATE (:Entity {id: $id, kind: 'company', name: 'Taken meanwhile'})", {"id": taken})

    with pytest.raises(gs.StoreError, match=r"^load rolled back, store unchanged: Neo4j: .*already exists"):
        store.load(registry, progress=AtRows(STAGE_ROWS, conflict))
    assert leftovers(store) == 0
    store.query("MATCH (e:Entity {id: $id}) DETACH DELETE e", {"id": taken})
    assert_store_holds(store, base)


KILLED_LOAD = """
import sys, time, warnings
import graphscore as gs
from graphscore.model import link_keys
from graphscore.progress import Progress
from graphscore.store import open_store
from graphscore.synthetic import generate_network
from tests.store.test_neo4j_staged import AtRows, STAGE_ROWS

def wait_for_the_kill():
    print("staging", flush=True)
    time.sleep(600)

warnings.simplefilter("ignore")
with open_store(sys.argv[1]) as store:
    store.one_transaction_rows, store.stage_rows = 0, STAGE_ROWS
    store.load(gs.validate(generate_network(300, seed=4)), progress=AtRows(60, wait_for_the_kill))
"""


# The README's command to remove a killed staged load's leftovers by hand.
CLEAR_STAGING = ("MATCH (n) WHERE n:GraphscoreStagedEntity OR n:GraphscoreStagedPenalty "
                 "OR (n:GraphscoreMeta AND n.key = 'staging') "
                 "CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")


def killed_while_staging(store, uri: str, registry: gs.Tables) -> str:
    """Store part of the registry, then SIGKILL a process staging the whole of it: staged
    nodes and the claim stay behind, which no reader sees. The stored fingerprint."""
    store.load(part_of(registry, drop_entities=40, drop_links=10))
    before = store.read_tables().fingerprint()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    loader = subprocess.Popen([sys.executable, "-c", KILLED_LOAD, uri], stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")},
                              cwd=root, text=True)
    try:
        assert loader.stdout.readline().strip() == "staging"
    finally:
        loader.send_signal(signal.SIGKILL)
        loader.wait()
    assert leftovers(store) > 1  # staged nodes and the claim
    assert store.read_tables().fingerprint() == before
    return before


def test_a_staged_load_killed_midway_is_unseen_and_cleared_by_the_next_load(neo4j_store, neo4j_uri, registry):
    """The next load finds the claim's process gone, removes what it staged and stores its input."""
    killed_while_staging(neo4j_store, neo4j_uri, registry)
    summary = staged(neo4j_store).load(registry)
    assert summary.written["entities"]["new"] == 40
    assert leftovers(neo4j_store) == 0
    assert_store_holds(neo4j_store, registry)


def test_a_killed_staged_load_is_cleared_by_the_readmes_command(neo4j_store, neo4j_uri, registry):
    before = killed_while_staging(neo4j_store, neo4j_uri, registry)
    result = CliRunner().invoke(app, ["cypher", "--write", "--db", neo4j_uri, CLEAR_STAGING], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert leftovers(neo4j_store) == 0
    assert neo4j_store.read_tables().fingerprint() == before


def test_a_live_claim_refuses_a_second_staged_load(neo4j_store, registry):
    """This test's own process holds the claim, as a staged load running here would."""
    store = staged(neo4j_store)
    store.query("CREATE (:GraphscoreMeta {key: 'staging', value: 'other', host: $host, pid: $pid, "
                "heartbeat: datetime()})", {"host": socket.gethostname(), "pid": os.getpid()})
    with pytest.raises(gs.StoreError, match=rf"^load refused, store unchanged: another graphscore load is staging "
                                            rf"into Neo4j at .* \(process {os.getpid()} on "):
        store.load(registry)
    assert store.counts() == {"entities": 0, "links": 0, "penalties": 0}
    assert store.clear_staging() == 0
    assert leftovers(store) == 0


def test_a_load_the_server_finds_too_large_for_one_transaction_is_staged(neo4j_store, registry):
    """The test server bounds one transaction (tests/neo4j/start.sh, 192 MiB). Names of 512 KiB
    make the registry's entities alone outweigh it: the one transaction is refused, and so is
    the first staging transaction, which holds every entity; staged in transactions halved until
    the server holds them, the same load is stored. Its claim on staging is seen from inside
    the load."""
    from tests.store.test_neo4j_load import transaction_limit_mib

    limit = transaction_limit_mib(neo4j_store)
    if not limit:
        pytest.skip("this Neo4j sets no db.memory.transaction.max")
    entities = registry.entities.copy()
    entities["name"] = entities["name"] + " " + "x" * 2**19
    assert len(entities) * 2**19 > limit * 2**20
    heavy = gs.Tables(entities, registry.links, registry.penalties, validated=True)
    try:
        neo4j_store.stage_rows, neo4j_store.batch_rows = 484, 64  # statements of 32 MiB
        claims = []
        neo4j_store.load(heavy, progress=AfterEachBatch(lambda: claims.append(leftovers(neo4j_store))))
        assert claims[0] == 0 and claims[-1] >= 1  # first in one transaction, then staged
        assert leftovers(neo4j_store) == 0
        assert neo4j_store.counts() == registry.counts()
        # Reading 241 MiB back at once would meet the same bound: the names are cut back to the
        # registry's, a few at a time, and then the whole store compared with the registry.
        cut = neo4j_store.query("MATCH (e:Entity) CALL { WITH e SET e.name = left(e.name, size(e.name) - $pad) } "
                                "IN TRANSACTIONS OF 32 ROWS RETURN count(e) AS n", {"pad": 2**19 + 1})
        assert cut["n"].iloc[0] == len(registry.entities)
        assert_store_holds(neo4j_store, registry)
    finally:  # the next test's wipe, in transactions of 10,000 nodes, would meet the bound
        neo4j_store.query("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 32 ROWS")
