"""Benchmark: graphscore's spread beside Neo4j Graph Data Science's personalised PageRank, on
the same synthetic registry and the same operator.

    GRAPHSCORE_NEO4J_URI=bolt://... GRAPHSCORE_NEO4J_PASSWORD=... python benchmarks/gds_pagerank.py [--sizes 5000 20000]

``--sizes`` counts companies (about five links each). The database is wiped: point it at a
throwaway server with the GDS plugin (``tests/neo4j/start.sh`` starts Neo4j 5.26 with GDS 2.13).

The operator is ``W`` of ``data/policies/diffusion.toml`` (every tie both ways, ``normalize =
"source"``: each column of ``W`` sums to 1, which is how GDS normalises relationship weights),
projected by graphscore at 2024-06-30. It is written to Neo4j as one ``:W {w}`` relationship
per non-zero ``W[v, u]``, from u to v (not timed: that is loading data). Then:

- graphscore: ``build_projection`` (``W`` and ``s`` from the tables) and ``spread(W, s, damping)``,
  the solution of ``x = s + damping W x``;
- GDS: ``gds.graph.project`` of the ``:W`` relationships with their ``w`` and
  ``gds.pageRank.mutate`` with ``sourceNodes`` (the penalised entities),
  ``relationshipWeightProperty: 'w'``, ``dampingFactor`` = the policy's damping.

GDS's personalised PageRank is ``PR = (1 - d) 1_S + d W PR`` (restart only to the source set
S, no rescaling to sum 1), so ``PR = (1 - d) x`` when ``s`` is the indicator of S. GDS 2.13
takes no weight per source node, so ``s`` here is that indicator, not the policy's severities
(graphscore's spread is linear: a weighted restart vector is a sum of such runs). The check:
``max |PR - (1 - d) x| <= 1e-6 max((1 - d) x)`` (GDS stops when no score moves more than its
``tolerance``, set to 1e-10; graphscore solves to 1e-12). Printed per size: the times, the
largest relative difference, and ``GDS/graphscore``, the ratio of the totals (projection
included). Ratios, not times, are the figures to quote.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import neo4j
import numpy as np

import graphscore as gs
from graphscore.bundled import POLICIES, bundled_path
from graphscore.engine.matrix import build_projection
from graphscore.engine.spread import spread
from graphscore.synthetic import generate_network
from ratio_table import print_markdown

AS_OF = "2024-06-30"
BATCH = 10_000
TOLERANCE = 1e-6  # largest |PR - (1 - d) x| relative to the largest (1 - d) x


def timed(work):
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def write_operator(session: neo4j.Session, W) -> None:
    """Nodes 0..n-1 and one ``(u)-[:W {w}]->(v)`` per non-zero ``W[v, u]``."""
    session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    session.run("CREATE CONSTRAINT node_idx IF NOT EXISTS FOR (n:Node) REQUIRE n.idx IS UNIQUE").consume()
    session.run("UNWIND range(0, $n - 1) AS i CREATE (:Node {idx: i})", n=W.shape[0]).consume()
    coo = W.tocoo()
    rows = [{"u": int(u), "v": int(v), "w": float(w)} for v, u, w in zip(coo.row, coo.col, coo.data)]
    for start in range(0, len(rows), BATCH):
        session.run("UNWIND $rows AS r MATCH (a:Node {idx: r.u}) MATCH (b:Node {idx: r.v}) "
                    "CREATE (a)-[:W {w: r.w}]->(b)", rows=rows[start:start + BATCH]).consume()


def gds_pagerank(session: neo4j.Session, sources: list[int], damping: float, n: int) -> tuple[np.ndarray, float, float]:
    session.run("CALL gds.graph.drop('operator', false) YIELD graphName RETURN graphName").consume()
    _, project_s = timed(lambda: session.run(
        "CALL gds.graph.project('operator', 'Node', {W: {properties: 'w'}}) YIELD nodeCount RETURN nodeCount").consume())
    _, rank_s = timed(lambda: session.run(
        "MATCH (n:Node) WHERE n.idx IN $sources WITH collect(n) AS sources "
        "CALL gds.pageRank.mutate('operator', {sourceNodes: sources, relationshipWeightProperty: 'w', "
        "dampingFactor: $damping, maxIterations: 10000, tolerance: 1e-10, mutateProperty: 'pr'}) "
        "YIELD ranIterations RETURN ranIterations", sources=sources, damping=damping).consume())
    scores = np.zeros(n)
    for record in session.run("CALL gds.graph.nodeProperty.stream('operator', 'pr') YIELD nodeId, propertyValue "
                              "RETURN gds.util.asNode(nodeId).idx AS idx, propertyValue AS pr"):
        scores[record["idx"]] = record["pr"]
    session.run("CALL gds.graph.drop('operator') YIELD graphName RETURN graphName").consume()
    return scores, project_s, rank_s


def measure(companies: int, session: neo4j.Session) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(companies, seed=0))
    policy = gs.load_policy(bundled_path(*POLICIES, "diffusion.toml"))
    projection, project_s = timed(lambda: build_projection(tables, policy, AS_OF))
    indicator = (projection.s > 0).astype(float)
    x, solve_s = timed(lambda: spread(projection.W, indicator, damping=policy.damping))
    write_operator(session, projection.W)
    pr, gds_project_s, gds_rank_s = gds_pagerank(session, np.flatnonzero(indicator).tolist(), policy.damping,
                                                 projection.n)
    expected = (1 - policy.damping) * x
    difference = float(np.max(np.abs(pr - expected)) / np.max(expected))
    assert difference <= TOLERANCE, f"GDS and graphscore differ by {difference:.2e} of the largest score"
    ours, theirs = project_s + solve_s, gds_project_s + gds_rank_s
    return {"links": f"{len(tables.links):,}", "W non-zeros": f"{projection.W.nnz:,}", "sources": f"{int(indicator.sum()):,}",
            "graphscore project s": f"{project_s:.2f}", "graphscore spread s": f"{solve_s:.3f}",
            "GDS project s": f"{gds_project_s:.2f}", "GDS pageRank s": f"{gds_rank_s:.2f}",
            "max rel. difference": f"{difference:.1e}", "GDS/graphscore": f"{theirs / ours:.1f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000], help="companies per registry")
    args = parser.parse_args()
    uri = os.environ.get("GRAPHSCORE_NEO4J_URI")
    if not uri:
        parser.error("set GRAPHSCORE_NEO4J_URI (and GRAPHSCORE_NEO4J_PASSWORD) to a Neo4j with GDS this may wipe")
    auth = (os.environ.get("GRAPHSCORE_NEO4J_USER", "neo4j"), os.environ.get("GRAPHSCORE_NEO4J_PASSWORD", ""))
    with neo4j.GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF") as driver, \
            driver.session() as session:
        rows = [measure(size, session) for size in args.sizes]
    print_markdown(rows)


if __name__ == "__main__":
    main()
