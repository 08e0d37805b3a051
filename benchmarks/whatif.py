"""Benchmark: what-if by forward push against a full spread solve, on synthetic registries.

    python benchmarks/whatif.py [--sizes 20000 100000] [--sources 20] [--tols 1e-10 1e-6 1e-4]

For each registry size and shipped spread policy it draws penalised entities at random and
lifts each one's penalty (``amount = -s[u]``). Per source and tolerance it times
:func:`graphscore.engine.push.push_column` and one :func:`graphscore.engine.spread.spread`
solve of the same change, and prints, over the sources:

- ``push/spread``: median and largest ratio of the push time to the spread time;
- ``push/iter``: the same against spread's Neumann iteration alone, without the convergence
  check (a spectral radius when the cheap norm test fails, as it does under
  joint-punishment): the fair baseline when one checked W serves many what-ifs;
- ``touched/n``: median and largest share of the entities the push reached;
- ``max|err|``: largest error against the full solve at any entity, and ``L1 bound``, the
  largest :func:`graphscore.engine.push.error_bound` (``inf`` where W's column sums exceed
  1 / damping and no cheap bound exists);
- ``queue/push``: a one-entity-at-a-time Python queue push (the textbook loop) against the
  vectorised rounds of push_column, on the first few sources (skipped at tol 1e-10, where it
  takes seconds per source).

Per registry, ``iter/spread`` is the share of a spread call spent iterating (the rest is its
convergence check) and ``CSC/spread`` the one-off cost of converting W to CSC, which
push_column does per call unless given a CSC array (the timed pushes are). Ratios, not
absolute times, are the figures to quote: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections import deque
from pathlib import Path

import numpy as np
import scipy as sp

import graphscore as gs
from graphscore.engine.matrix import build_projection
from graphscore.engine.push import error_bound, push_column
from graphscore.engine.spread import spread
from graphscore.synthetic import generate_network
from ratio_table import print_table  # benchmarks/ is the script's folder, so on sys.path

POLICIES = Path(__file__).resolve().parent.parent / "data" / "policies"
QUEUE_SOURCES = 5


def best_of(repeat: int, run):
    """Fastest of ``repeat`` runs in seconds, and the last result: the least disturbed by other load."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def queue_push(W: sp.sparse.csc_array, source: int, amount: float, damping: float, tol: float) -> dict:
    """Forward push as in Andersen, Chung & Lang: one entity at a time from a FIFO queue."""
    indptr, indices, data = W.indptr, W.indices, W.data
    threshold = tol * abs(amount)
    p, r = {}, {source: amount}
    queue, queued = deque([source]), {source}
    while queue:
        v = queue.popleft()
        queued.discard(v)
        pushed = r[v]
        p[v] = p.get(v, 0.0) + pushed
        r[v] = 0.0
        start, end = indptr[v], indptr[v + 1]
        for w, weight in zip(indices[start:end].tolist(), data[start:end].tolist()):
            r[w] = r.get(w, 0.0) + damping * weight * pushed
            if abs(r[w]) > threshold and w not in queued:
                queue.append(w)
                queued.add(w)
    return {v: p.get(v, 0.0) + r.get(v, 0.0) for v in r.keys() | p.keys()}


def iterate(W: sp.sparse.csr_array, s: np.ndarray, damping: float, tol: float = 1e-12) -> np.ndarray:
    """The Neumann iteration inside spread, without its convergence check or iteration cap."""
    x, term = s.copy(), s.copy()
    while True:
        term = damping * (W @ term)
        x += term
        change = np.abs(term).max(initial=0.0)
        if change <= tol * max(np.abs(x).max(initial=0.0), 1.0) or change == 0:
            return x


def measure(tables, policy_name: str, n_companies: int, args) -> list[dict]:
    policy = gs.load_policy(POLICIES / f"{policy_name}.toml")
    projection = build_projection(tables, policy, "2024-06-30")
    W, s, damping = projection.W, projection.s, policy.damping
    n = W.shape[0]
    csc_time, csc = best_of(args.repeat, lambda: sp.sparse.csc_array(W))

    rng = np.random.default_rng(args.seed)
    sources = rng.choice(np.flatnonzero(s > 0), size=args.sources, replace=False)
    per_tol = {tol: {"ratio": [], "iter": [], "touched": [], "err": [], "bound": [], "queue": []}
               for tol in args.tols}
    spread_times, iterate_times = [], []
    for i, source in enumerate(sources.tolist()):
        amount = -float(s[source])  # lift the penalty
        seeds = np.zeros(n)
        seeds[source] = -amount  # spread takes non-negative s: solve for |amount| and flip
        spread_time, x = best_of(1, lambda: spread(W, seeds, damping=damping))
        iterate_time, _ = best_of(1, lambda: iterate(W, seeds, damping))
        exact = -x
        spread_times.append(spread_time)
        iterate_times.append(iterate_time)
        for tol in args.tols:
            push_time, change = best_of(args.repeat,
                                        lambda: push_column(csc, source, amount, damping=damping, tol=tol))
            estimate = np.zeros(n)
            estimate[change.indices] = change.values
            row = per_tol[tol]
            row["ratio"].append(push_time / spread_time)
            row["iter"].append(push_time / iterate_time)
            row["touched"].append(change.indices.size / n)
            row["err"].append(float(np.abs(estimate - exact).max()))
            row["bound"].append(error_bound(csc, change, damping=damping))
            if tol >= 1e-6 and i < QUEUE_SOURCES:
                queue_time, _ = best_of(1, lambda: queue_push(csc, source, amount, damping, tol))
                row["queue"].append(queue_time / push_time)
    spread_median = statistics.median(spread_times)
    rows = []
    for tol, row in per_tol.items():
        rows.append({
            "companies": n_companies, "policy": policy_name, "entities": n, "nnz(W)": W.nnz,
            "iter/spread": statistics.median(iterate_times) / spread_median,
            "CSC/spread": csc_time / spread_median,
            "tol": f"{tol:g}",
            "push/spread med": statistics.median(row["ratio"]), "push/spread max": max(row["ratio"]),
            "push/iter med": statistics.median(row["iter"]),
            "touched/n med": statistics.median(row["touched"]), "touched/n max": max(row["touched"]),
            "max|err|": max(row["err"]), "L1 bound": max(row["bound"]),
            "queue/push": statistics.median(row["queue"]) if row["queue"] else None,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--policies", nargs="+", default=["diffusion", "joint-punishment"])
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--tols", type=float, nargs="+", default=[1e-10, 1e-6, 1e-4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for n_companies in args.sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gs.GraphscoreWarning)
            tables = gs.validate(generate_network(n_companies, seed=0))
        for policy_name in args.policies:
            rows += measure(tables, policy_name, n_companies, args)
    print_table(rows)


if __name__ == "__main__":
    main()
