"""Benchmark: the own-penalty echo of a score table against the spread solve, on synthetic registries.

    python benchmarks/echo.py [--sizes 2000 20000] [--policy data/policies/joint-punishment.toml]

Per registry size it prints the penalised entities (and how many of them lie on a cycle), the
largest strongly connected component, ``echo/solve`` (the time of
:func:`graphscore.engine.echo.echo` over the time of one :func:`graphscore.engine.spread.spread`
solve of the same W, including its convergence check), and how many penalised entities the
policy's threshold flags by ``inherited`` when the echo is counted in it (as before issue 9.10)
and when it is not. Ratios, not times, are the figures to quote: this machine is shared.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import scipy as sp

import graphscore as gs
from graphscore.engine.echo import echo
from graphscore.engine.spread import spread
from graphscore.synthetic import generate_network

POLICY = Path(__file__).resolve().parents[1] / "data" / "policies" / "joint-punishment.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000], help="companies per registry")
    parser.add_argument("--policy", type=Path, default=POLICY)
    args = parser.parse_args()
    policy = gs.load_policy(args.policy)
    print("companies | links | penalised (on a cycle) | largest component | echo/solve | "
          "penalised over threshold by inherited: echo counted / not")
    for size in args.sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gs.GraphscoreWarning)
            tables = gs.validate(generate_network(size, seed=0))
        projection = gs.build_projection(tables, policy, "2024-06-30")
        W, s = projection.W, projection.s
        start = time.perf_counter()
        x = spread(W, s, damping=policy.damping)
        solved = time.perf_counter()
        returned = echo(W, s, damping=policy.damping)
        echoed = time.perf_counter()
        _, labels = sp.sparse.csgraph.connected_components(W, directed=True, connection="strong")
        sizes = np.bincount(labels)
        penalised = s > 0
        cyclic = int((penalised & (sizes[labels] > 1)).sum())
        before = int(((x - s)[penalised] >= policy.threshold).sum())
        after = int(((x - s - returned)[penalised] >= policy.threshold).sum())
        print(f"{size:,} | {len(tables.links):,} | {int(penalised.sum())} ({cyclic}) | {int(sizes.max()):,} | "
              f"{(echoed - solved) / (solved - start):.1f} | {before} / {after}")


if __name__ == "__main__":
    main()
