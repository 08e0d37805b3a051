"""Benchmark: loading a synthetic registry into Neo4j, against the same load into the embedded store.

    GRAPHSCORE_NEO4J_URI=bolt://... GRAPHSCORE_NEO4J_PASSWORD=... python benchmarks/neo4j_load.py [--sizes 20000 200000]

``--sizes`` counts companies (about five links each: 20,000 gives about 10^5 links, 200,000
about 10^6). The Neo4j database is wiped first: point it at a throwaway server
(``tests/neo4j/start.sh`` with ``GRAPHSCORE_NEO4J_TX_MAX_MB=0``, which lifts the test server's
bound on one transaction). Per size and Neo4j load mode, one row of:

- ``embedded load s`` / ``links/s``: ``LadybugStore(new folder).load(tables)`` (keyed diff,
  fingerprint, bulk ``COPY``, one transaction), measured once per size;
- ``Neo4j load`` the mode: ``one transaction`` (measured when the load's rows are within the
  store's ``one_transaction_rows``, 200,000) and ``staged`` (``one_transaction_rows=0``: staged
  in transactions of ``stage_rows`` rows, then published; module docstring of
  ``graphscore.store.neo4j``);
- ``Neo4j load s`` / ``links/s``: ``load(tables)`` into the emptied database, and ``publish s``
  the last, publishing transaction of a staged load;
- ``Neo4j/embedded``: the ratio of the two load times, the figure to quote;
- ``Neo4j reload s``: the same input again (reads the database back, finds nothing changed, and
  writes nothing: asserted), after the last mode only; the fingerprint of what it read equals
  the input's (asserted).

All loads run in this one process, one after the other, on the same validated tables.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
import warnings

import graphscore as gs
from graphscore.progress import Progress
from graphscore.store import open_store
from graphscore.store.neo4j import ONE_TRANSACTION_ROWS
from ratio_table import print_markdown
from graphscore.store.ladybug import LadybugStore
from graphscore.synthetic import generate_network


def timed(work):
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def measure(companies: int, uri: str) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(companies, seed=0))
    links, writes = len(tables.links), sum(tables.counts().values())
    with tempfile.TemporaryDirectory() as folder, LadybugStore(folder) as embedded:
        _, embedded_s = timed(lambda: embedded.load(tables))
    modes = {"one transaction": ONE_TRANSACTION_ROWS, "staged": 0}
    if writes > ONE_TRANSACTION_ROWS:
        del modes["one transaction"]
    rows = []
    with open_store(uri) as store:
        for mode, threshold in modes.items():
            store.query("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
            store.one_transaction_rows = threshold
            publishing = Publishing()
            summary, neo4j_s = timed(lambda: store.load(tables, progress=publishing))
            assert summary.stored == tables.counts(), summary.stored
            # a one-transaction load the server refused would be run again staged, reporting its rows twice
            assert publishing.rows == writes or mode == "staged", "the one transaction was refused"
            rows.append({"links": f"{links:,}", "embedded load s": f"{embedded_s:.1f}",
                         "embedded links/s": f"{links / embedded_s:,.0f}", "Neo4j load": mode,
                         "Neo4j load s": f"{neo4j_s:.1f}", "Neo4j links/s": f"{links / neo4j_s:,.0f}",
                         "publish s": f"{publishing.seconds():.1f}" if mode == "staged" else "-",
                         "Neo4j/embedded": f"{neo4j_s / embedded_s:.1f}", "Neo4j reload s": "-"})
        again, reload_s = timed(lambda: store.load(tables))
        assert all(w["new"] == w["changed"] == 0 for w in again.written.values()), again.written
        assert again.fingerprint == tables.fingerprint()
        rows[-1]["Neo4j reload s"] = f"{reload_s:.1f}"
    return rows


class Publishing(Progress):
    """Counts the rows a load reports written, and times a staged load's publishing transaction:
    from the last staged row written to the end of the writing step (into an emptied database
    every row is staged, so that is the relabelling, the fingerprint and the commit)."""

    def __init__(self):
        self.staged_done = self.ended = None
        self.rows = 0

    @contextlib.contextmanager
    def step(self, doing, done=None, *, total=None, unit="rows"):
        if not doing.startswith("writing"):
            yield lambda n=1: None
            return
        def advance(n=1):
            self.rows += n
            self.staged_done = time.perf_counter()
        yield advance
        self.ended = time.perf_counter()

    def seconds(self) -> float:
        return self.ended - self.staged_done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000], help="companies per registry")
    args = parser.parse_args()
    uri = os.environ.get("GRAPHSCORE_NEO4J_URI")
    if not uri:
        parser.error("set GRAPHSCORE_NEO4J_URI (and GRAPHSCORE_NEO4J_PASSWORD) to a Neo4j this may wipe")
    rows = [row for size in args.sizes for row in measure(size, uri)]
    print_markdown(rows)


if __name__ == "__main__":
    main()
