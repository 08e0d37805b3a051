"""Benchmark: loading a synthetic registry into Neo4j, against the same load into the embedded store.

    GRAPHSCORE_NEO4J_URI=bolt://... GRAPHSCORE_NEO4J_PASSWORD=... python benchmarks/neo4j_load.py [--sizes 20000 200000]

``--sizes`` counts companies (about five links each: 20,000 gives about 10^5 links). The Neo4j
database is wiped first: point it at a throwaway server (``tests/neo4j/start.sh`` with
``GRAPHSCORE_NEO4J_TX_MAX_MB=0``, which lifts the test server's bound on one transaction; a load
of 10^6 links in one transaction needs more than the 2.8 GiB a 4 GB heap allows). Per size, one row of:

- ``embedded load s`` / ``links/s``: ``LadybugStore(new folder).load(tables)`` (keyed diff,
  fingerprint, bulk ``COPY``, one transaction);
- ``Neo4j load s`` / ``links/s``: ``open_store(uri).load(tables)`` into the emptied database (keyed
  diff, fingerprint, batched ``UNWIND ... CREATE``, one transaction);
- ``Neo4j/embedded``: the ratio of the two load times, the figure to quote;
- ``Neo4j reload s``: the same input again (reads the database back, finds nothing changed, and
  writes nothing: asserted);
- ``Neo4j read-back s``: ``store.read_tables()``; the fingerprint of what it reads equals the input's
  (asserted).

Both loads run in this one process, one after the other, on the same validated tables.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

import graphscore as gs
from graphscore.store import open_store
from ratio_table import print_markdown
from graphscore.store.ladybug import LadybugStore
from graphscore.synthetic import generate_network


def timed(work):
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def measure(companies: int, uri: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(companies, seed=0))
    links = len(tables.links)
    with tempfile.TemporaryDirectory() as folder, LadybugStore(folder) as embedded:
        _, embedded_s = timed(lambda: embedded.load(tables))
    with open_store(uri) as store:
        store.query("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
        summary, neo4j_s = timed(lambda: store.load(tables))
        assert summary.stored == tables.counts(), summary.stored
        again, reload_s = timed(lambda: store.load(tables))
        assert all(w["new"] == w["changed"] == 0 for w in again.written.values()), again.written
        back, read_s = timed(store.read_tables)
        assert back.fingerprint() == tables.fingerprint()
    return {"links": f"{links:,}", "embedded load s": f"{embedded_s:.1f}", "embedded links/s": f"{links / embedded_s:,.0f}",
            "Neo4j load s": f"{neo4j_s:.1f}", "Neo4j links/s": f"{links / neo4j_s:,.0f}",
            "Neo4j/embedded": f"{neo4j_s / embedded_s:.1f}", "Neo4j reload s": f"{reload_s:.1f}",
            "Neo4j read-back s": f"{read_s:.1f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000], help="companies per registry")
    args = parser.parse_args()
    uri = os.environ.get("GRAPHSCORE_NEO4J_URI")
    if not uri:
        parser.error("set GRAPHSCORE_NEO4J_URI (and GRAPHSCORE_NEO4J_PASSWORD) to a Neo4j this may wipe")
    rows = [measure(size, uri) for size in args.sizes]
    print_markdown(rows)


if __name__ == "__main__":
    main()
