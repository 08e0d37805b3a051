"""Benchmark: the spread solve on synthetic registries, as ratios to bare kernels measured in the same run.

    python benchmarks/spread.py [--sizes 20000 200000] [--repeat 3]

For each registry size (companies; about 5 links each) and spread policy (the shipped diffusion, and
spread-split, a test policy whose W is not column-stochastic) it prints:

- ``check/solve``: the convergence check (:func:`graphscore.engine.spread.contraction`, a few
  power steps) as a share of the whole solve, and ``ARPACK/solve``, the eigenvalue solve it
  replaced (only where the cheap norms fail, as under spread-split; sizes up to
  ``--arpack-max``);
- ``gs/scipy``: the whole solve (check included, every score within 1e-10 x the largest,
  proven) against a bare scipy loop ``term = damping * (W @ term); x += term`` on the same W,
  stopped when a term falls below 1e-10 x max x (no guarantee);
- ``sweeps``/``GS sweeps``/``iters``: the solve's over-relaxed sweeps, the sweeps plain
  Gauss-Seidel takes to the same proven accuracy, and the loop's iterations;
- ``sweep/SpMV`` and ``sweep/stream``: one sweep against one bare scipy SpMV and against the
  streaming bound, the time to read W (12 bytes a link: int32 index, float64 weight) and
  the vectors once (36 bytes an entity) at the memory bandwidth measured in the same run;
- ``local/stream``: the same sweep kernel with every read of ``x`` moved into its first 1024
  entries (W's columns taken mod 1024; not a solve), against the same bound: what one core's
  sweep costs without its scattered reads, the floor for any reordering of this loop;
- ``f32/stream8``: the sweep on W's values in float32 (``precision = "float32"``, summed in
  float64) against the bound of what that streams, 8 bytes a link (int32 index, float32 weight);
- ``igraph/gs`` and ``networkx/gs``: igraph's personalised PageRank (PRPACK) and networkx's on
  the diffusion operator (column-stochastic W: ``(1 - damping) x spread`` is that PageRank;
  igraph cannot express spread-split's W), after checking the numbers agree;
- ``err/bound``: the largest error against a float64 reference (the loop run to 1e-15) over
  the largest score, against the stated accuracy 1e-10.

Ratios from one run are the figures to quote: the machine is shared and absolute times vary.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import igraph as ig
import networkx as nx
import numpy as np
import scipy as sp

import graphscore as gs
from graphscore.engine import spread as spread_module
from graphscore.engine.matrix import build_projection
from graphscore.engine.run import SCORE_TOL
from graphscore.engine.spread import contraction, spectral_radius, spread
from graphscore.synthetic import generate_network
from ratio_table import print_table  # benchmarks/ is the script's folder, so on sys.path

ROOT = Path(__file__).resolve().parent.parent
# The shipped spread policy, and the test policy whose W the norms cannot bound (the spread
# reading of joint punishment with split, tests/policies/spread-split.toml says why)
POLICY_FILES = (ROOT / "tests" / "policies" / "spread-split.toml", ROOT / "data" / "policies" / "diffusion.toml")
NETWORKX_LIMIT = 40_000  # entities; networkx's pure-Python PageRank takes minutes beyond this


def best_of(repeat: int, run) -> float:
    """Fastest of ``repeat`` runs, in seconds: the least disturbed by other load."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def bandwidth() -> float:
    """Bytes per second numpy reads from memory (sum of 400 MB), best of five."""
    block = np.ones(50_000_000)
    return block.nbytes / best_of(5, block.sum)


def scipy_loop(W, s, damping: float, tol: float) -> tuple[np.ndarray, int]:
    x, term = s.copy(), s.copy()
    for iteration in range(1, 100_000):
        term = damping * (W @ term)
        x += term
        if np.abs(term).max() <= tol * x.max():
            return x, iteration
    raise RuntimeError("no convergence")


def measure(tables, policy_path: Path, repeat: int, bytes_per_second: float, arpack_max: int) -> dict:
    policy = gs.load_policy(policy_path)
    projection = build_projection(tables, policy, "2024-06-30")
    W, s, damping = projection.W, projection.s, policy.damping
    n = W.shape[0]
    certificate = contraction(W, damping)
    check = best_of(repeat, lambda: contraction(W, damping))
    solve = best_of(repeat, lambda: spread(W, s, damping=damping, tol=SCORE_TOL))
    x = spread(W, s, damping=damping, tol=SCORE_TOL, certificate=certificate)
    loop = best_of(repeat, lambda: scipy_loop(W, s, damping, SCORE_TOL))
    iterations = scipy_loop(W, s, damping, SCORE_TOL)[1]
    reference = scipy_loop(W, s, damping, 1e-15)[0]
    spmv = best_of(max(repeat, 20), lambda: W @ s)
    omega = spread_module.relaxation(certificate.rate)
    sweep_x, weights = s.copy(), 1 / certificate.weights
    sweep = best_of(max(repeat, 20), lambda: spread_module._sweep(W.indptr, W.indices, W.data, damping, omega, s,
                                                                    sweep_x, weights))
    # the same kernel with every read of x within its first 1024 entries (in cache), and on W's
    # values in float32: what a sweep costs without its scattered reads, and with 8 bytes a link
    local = W.indices & np.int32(1023)
    local_sweep = best_of(max(repeat, 20), lambda: spread_module._sweep(W.indptr, local, W.data, damping, omega, s,
                                                                          sweep_x, weights))
    values32 = W.data.astype(np.float32)
    sweep32 = best_of(max(repeat, 20), lambda: spread_module._sweep(W.indptr, W.indices, values32, damping, omega, s,
                                                                      sweep_x, weights))
    del local, values32
    sweeps = {relaxed: spread_module._solve(W, s, damping, SCORE_TOL, 0.0, 10_000, certificate, relaxed)[1]
              for relaxed in (omega, 1.0)}
    stream = (12 * W.nnz + 36 * n) / bytes_per_second
    stream32 = (8 * W.nnz + 36 * n) / bytes_per_second
    norms_fail = damping * min(abs(W).sum(axis=0).max(), abs(W).sum(axis=1).max()) >= 1
    arpack = (best_of(1, lambda: spectral_radius(W)) if norms_fail and W.nnz <= arpack_max else None)

    igraph_ratio = networkx_ratio = None
    if policy.name == "diffusion":
        coo = W.tocoo()
        graph = ig.Graph(n=n, edges=list(zip(coo.col.tolist(), coo.row.tolist())), directed=True)
        graph.es["weight"] = coo.data.tolist()
        reset = (s / s.sum()).tolist()
        pagerank = lambda: graph.personalized_pagerank(damping=damping, weights="weight", reset=reset,  # noqa: E731
                                                       implementation="prpack")
        dangling = float(s[np.asarray(abs(W).sum(axis=0)).ravel() == 0].sum())
        if dangling == 0:  # PageRank re-injects dangling mass, spread does not: compare only where they agree
            assert np.allclose((1 - damping) * x / s.sum(), np.asarray(pagerank()), rtol=1e-6, atol=1e-9)
        igraph_ratio = best_of(repeat, pagerank) / solve
        if n <= NETWORKX_LIMIT:  # entities
            digraph = nx.DiGraph()
            digraph.add_nodes_from(range(n))
            digraph.add_weighted_edges_from(zip(coo.col.tolist(), coo.row.tolist(), coo.data.tolist()))
            personalization = {i: float(v) for i, v in enumerate(s) if v > 0}
            networkx_ratio = best_of(1, lambda: nx.pagerank(digraph, alpha=damping, personalization=personalization,
                                                            tol=1e-10, max_iter=1000)) / solve
    return {"policy": policy.name, "entities": n, "links": W.nnz, "rate": certificate.rate,
            "solve ms": solve * 1e3, "check/solve": check / solve,
            "ARPACK/solve": None if arpack is None else arpack / solve,
            "gs/scipy": solve / loop, "sweeps": sweeps[omega], "GS sweeps": sweeps[1.0], "iters": iterations,
            "sweep/SpMV": sweep / spmv, "sweep/stream": sweep / stream,
            "local/stream": local_sweep / stream, "f32/stream8": sweep32 / stream32,
            "igraph/gs": igraph_ratio, "networkx/gs": networkx_ratio,
            "err/bound": float(np.abs(x - reference).max() / reference.max() / SCORE_TOL)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000], help="companies per registry")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--arpack-max", type=int, default=2_000_000, help="largest W (links) to time ARPACK on")
    args = parser.parse_args()
    bytes_per_second = bandwidth()
    print(f"memory read bandwidth: {bytes_per_second / 1e9:.1f} GB/s")
    rows = []
    for size in args.sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gs.GraphscoreWarning)
            tables = gs.validate(generate_network(size, seed=0))
        for policy_path in POLICY_FILES:
            rows.append(measure(tables, policy_path, args.repeat, bytes_per_second, args.arpack_max))
    print_table(rows)


if __name__ == "__main__":
    main()
