"""Benchmark: the own-penalty echo of a score table against the model's solve, on synthetic registries.

    python benchmarks/echo.py [--sizes 2000 20000] [--policy data/policies/diffusion.toml data/policies/joint-punishment.toml]

Per policy and registry size it prints the penalised entities (and how many of them lie on a
cycle), the largest strongly connected component, the solve and the echo in seconds of wall time
and (in brackets) of CPU, ``echo/solve`` in CPU time, and how many penalised entities the
policy's threshold flags by ``inherited`` when the echo is counted in it (as before issue 9.10)
and when it is not. They are measured as ``graphscore score`` pays them: the solve is
:func:`graphscore.engine.run.run_model` on a fresh projection (a spread's convergence
certificate included), the echo :func:`graphscore.engine.echo.model_echo` after it (reusing that
certificate; under spread computing the one of W.T, the components and their renumbering, the
shared solve and the pushes). The compiled kernels are loaded on a small registry first. CPU
time counts both cores' work for the echo's parallel pushes; on this shared machine wall time
says more about the other users than about the code.

Measured with ``--sizes 20000 200000`` on this code and, with ``PYTHONPATH`` set to it, on the
code before the balanced pushes (same script, one after the other, at a load average of 17 on
the 2 cores; 2024-06-30), echo/solve in CPU time:

| policy | links | penalised (on a cycle) | before | now |
|---|---|---|---|---|
| diffusion | 100,770 | 421 (421) | 40.8 | 26.5 |
| diffusion | 1,011,785 | 4,306 (4,299) | 87.0 (echo 21.3 s CPU) | 23.8 (6.9 s) |
| joint-punishment (hop) | 1,011,785 | 4,041 (3,962) | 16.3 (0.19 s) | 0.8 (0.01 s) |

The diffusion solve converges in a few sweeps (0.24-0.29 s of CPU at 10^6 links), so the ratio
is large even where the echo follows about as many links per penalised entity at every size
(23,000, 30,000 and 33,000 at 10^5, 10^6 and 2x10^6 links).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import scipy as sp

import graphscore as gs
from graphscore.engine.echo import model_echo
from graphscore.engine.run import run_model
from graphscore.synthetic import generate_network

POLICIES = Path(__file__).resolve().parents[1] / "data" / "policies"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000], help="companies per registry")
    parser.add_argument("--policy", type=Path, nargs="+",
                        default=[POLICIES / "diffusion.toml", POLICIES / "joint-punishment.toml"])
    args = parser.parse_args()
    policies = [gs.load_policy(path) for path in args.policy]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        small = gs.validate(generate_network(200, seed=0))
    for policy in policies:  # the compiled kernels loaded before anything is timed
        model_echo(gs.build_projection(small, policy, "2024-06-30"), policy)
        run_model(gs.build_projection(small, policy, "2024-06-30"), policy)
    print("policy | companies | links | penalised (on a cycle) | largest component | solve s (CPU) | "
          "echo s (CPU) | echo/solve (CPU) | penalised over threshold by inherited: echo counted / not")
    for size in args.sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gs.GraphscoreWarning)
            tables = gs.validate(generate_network(size, seed=0))
        for policy in policies:
            projection = gs.build_projection(tables, policy, "2024-06-30")
            W, s = projection.W, projection.s
            start = time.perf_counter(), time.process_time()
            x = run_model(projection, policy).total
            solved = time.perf_counter(), time.process_time()
            returned = model_echo(projection, policy)
            echoed = time.perf_counter(), time.process_time()
            _, labels = sp.sparse.csgraph.connected_components(W, directed=True, connection="strong")
            sizes = np.bincount(labels)
            penalised = s > 0
            cyclic = int((penalised & (sizes[labels] > 1)).sum())
            before = int(((x - s)[penalised] >= policy.threshold).sum())
            after = int(((x - s - returned)[penalised] >= policy.threshold).sum())
            solve = [b - a for a, b in zip(start, solved)]
            echo = [b - a for a, b in zip(solved, echoed)]
            print(f"{policy.name} | {size:,} | {len(tables.links):,} | {int(penalised.sum())} ({cyclic}) | "
                  f"{int(sizes.max()):,} | {solve[0]:.2f} ({solve[1]:.2f}) | {echo[0]:.2f} ({echo[1]:.2f}) | "
                  f"{echo[1] / solve[1]:.1f} | {before} / {after}", flush=True)


if __name__ == "__main__":
    main()
