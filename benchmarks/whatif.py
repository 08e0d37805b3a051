"""Benchmark: what-if by forward push and explain by reverse push, against full solves, on synthetic registries.

    python benchmarks/whatif.py [--sizes 20000 200000] [--sources 10] [--accuracies 1e-3 1e-4 1e-6]

For each registry size (companies) and spread policy (the shipped diffusion, and spread-split,
a test policy whose W is not column-stochastic) it draws penalised entities at random. Per
accuracy (the change at every entity within ``accuracy`` x the lifted penalty, proven) it lifts
each one's penalty by :func:`graphscore.engine.push.push_column` and prints, over the sources:

- ``push/solve``: median and largest ratio of the push time to one full recompute (a spread
  solve of the new penalties with the projection's certificate already computed, as a
  workspace holds it);
- ``reached``: median and largest share of the entities the push reached;
- ``err/acc``: largest error at any entity, against a float64 reference solve, over the
  accuracy promised (at most 1 if the bound holds), and ``bound/acc``, the largest bound the
  push reported over the accuracy;
- ``gave up``: pushes that ran past the limits :func:`graphscore.analysis.whatif.change_scores`
  gives them (ten sweeps' worth of links, or half of the entities pushed), where a what-if
  solves instead.

Then, per registry, ``explain``: reverse push (:func:`graphscore.engine.push.influence`) for
the highest-scored entities against a transposed solve (the row of the inverse over the whole
graph), median ratio, and the largest share of a score left unattributed over its stated
bound (1e-6).
Ratios from one run are the figures to quote: the machine is shared and absolute times vary.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import scipy as sp

import graphscore as gs
from graphscore.analysis.whatif import _PUSH_BUDGET_SWEEPS, _PUSH_REACH
from graphscore.engine.matrix import build_projection
from graphscore.engine.push import influence, push_column
from graphscore.engine.run import SCORE_TOL
from graphscore.engine.spread import contraction, spread
from graphscore.synthetic import generate_network
from ratio_table import print_table  # benchmarks/ is the script's folder, so on sys.path

ROOT = Path(__file__).resolve().parent.parent
# The shipped spread policy, and the test policy whose W the norms cannot bound (the spread
# reading of joint punishment with split, tests/policies/spread-split.toml says why)
POLICY_FILES = (ROOT / "tests" / "policies" / "spread-split.toml", ROOT / "data" / "policies" / "diffusion.toml")


def timed(run):
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def measure(tables, policy_path: Path, size: int, sources: int, accuracies: list[float]) -> list[dict]:
    policy = gs.load_policy(policy_path)
    projection = build_projection(tables, policy, "2024-06-30")
    W, s, damping = projection.W, projection.s, policy.damping
    by_source = projection.W_by_source
    n = W.shape[0]
    certificate = contraction(W, damping)
    chosen = np.random.default_rng(0).choice(np.flatnonzero(s > 0), size=sources, replace=False)
    solve_time, x = timed(lambda: spread(W, s, damping=damping, tol=SCORE_TOL, certificate=certificate))
    rows = []
    budget = _PUSH_BUDGET_SWEEPS * W.nnz
    exact = {}
    for u in chosen:  # the float64 reference change of each lift
        unit = np.zeros(n)
        unit[u] = s[u]
        exact[int(u)] = -spread(W, unit, damping=damping, tol=1e-15, certificate=certificate)
    for accuracy in accuracies:
        ratios, reached, errors, bounds, gave_up = [], [], [], [], 0
        for u in exact:
            push_time, change = timed(lambda: push_column(by_source, u, -float(s[u]), damping=damping,
                                                          tol=accuracy, certificate=certificate))
            got = np.zeros(n)
            got[change.indices] = change.values
            ratios.append(push_time / solve_time)
            reached.append(change.indices.size / n)
            errors.append(np.abs(got - exact[u]).max() / (accuracy * s[u]))
            bounds.append(change.error / (accuracy * s[u]))
            gave_up += not push_column(by_source, u, -float(s[u]), damping=damping, tol=accuracy,
                                       certificate=certificate, budget=budget, reach=int(_PUSH_REACH * n)).complete
        rows.append({"companies": size, "policy": policy.name, "links": W.nnz, "accuracy": accuracy,
                     "push/solve median": statistics.median(ratios), "max": max(ratios),
                     "reached median": statistics.median(reached), "max ": max(reached),
                     "err/acc": max(errors), "bound/acc": max(bounds), "gave up": f"{gave_up}/{sources}"})
    # explain: the highest scores, by reverse push against a transposed solve
    rows_T = sp.sparse.csr_array((by_source.data, by_source.indices, by_source.indptr), shape=W.shape)
    certificate_T = contraction(rows_T, damping)
    ratios, left = [], []
    for target in np.argsort(-x)[:sources]:
        target = int(target)
        push_time, row = timed(lambda: influence(W, target, damping=damping, scores=x, own=s))
        unit = np.zeros(n)
        unit[target] = 1.0
        solve_T, _ = timed(lambda: spread(rows_T, unit, damping=damping, tol=1e-10, certificate=certificate_T))
        ratios.append(push_time / solve_T)
        left.append(row.unattributed / x[target])
    rows.append({"companies": size, "policy": policy.name, "links": W.nnz, "accuracy": "explain",
                 "push/solve median": statistics.median(ratios), "max": max(ratios),
                 "reached median": None, "max ": None, "err/acc": max(left) / 1e-6, "bound/acc": 1.0,
                 "gave up": "-"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000], help="companies per registry")
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--accuracies", type=float, nargs="+", default=[1e-3, 1e-4, 1e-6])
    args = parser.parse_args()
    # compile (or load from numba's cache) every kernel once, outside the timings
    tiny = sp.sparse.csr_array(([0.5], ([1], [0])), shape=(2, 2))
    push_column(tiny, 0, damping=0.5)
    influence(tiny, 1, damping=0.5, scores=np.array([1.0, 0.5]), own=np.array([1.0, 0.0]))
    spread(tiny, np.array([1.0, 0.0]), damping=0.5)
    rows = []
    for size in args.sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gs.GraphscoreWarning)
            tables = gs.validate(generate_network(size, seed=0))
        for policy_path in POLICY_FILES:
            rows += measure(tables, policy_path, size, args.sources, args.accuracies)
    print_table(rows)


if __name__ == "__main__":
    main()
