"""Benchmark: the independent cascade on a synthetic registry under the shipped cascade policy.

    python benchmarks/cascade.py [--companies 200000] [--runs 1024]

Prints the links, the runs, the process CPU time per run (the cores' work, which load from
other processes inflates less than wall time), the wall time, and the projected wall time of
10,000 runs on this machine's cores if they were free (CPU time x 10,000 / runs / cores).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

import graphscore as gs
from graphscore.engine.cascade import cascade
from graphscore.engine.matrix import build_projection
from graphscore.synthetic import generate_network
from ratio_table import print_table  # benchmarks/ is the script's folder, so on sys.path

POLICY = Path(__file__).resolve().parent.parent / "data" / "policies" / "cascade.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=1024)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(args.companies, seed=0))
    policy = gs.load_policy(POLICY)
    projection = build_projection(tables, policy, "2024-06-30")
    seeds = projection.s > 0
    cascade(projection.W, seeds, runs=1, rng=np.random.default_rng(0))  # compile outside the timing
    wall, cpu = time.perf_counter(), time.process_time()
    result = cascade(projection.W, seeds, runs=args.runs, rng=np.random.default_rng(policy.seed))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    cores = len(os.sched_getaffinity(0))
    print_table([{"links": projection.W.nnz, "runs": args.runs, "mean reach": float(result.probability.mean()),
                  "CPU ms/run": cpu / args.runs * 1e3, "wall s": wall,
                  "10,000 runs on free cores, s": cpu / args.runs * 10_000 / cores}])


if __name__ == "__main__":
    main()
