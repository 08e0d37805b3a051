"""Benchmark: the own-penalty echo of a score table against the spread solve, on synthetic registries.

    python benchmarks/echo.py [--sizes 2000 20000] [--policy data/policies/diffusion.toml]

Per registry size it prints the penalised entities (and how many of them lie on a cycle), the
largest strongly connected component, ``echo/solve`` and how many penalised entities the
policy's threshold flags by ``inherited`` when the echo is counted in it (as before issue 9.10)
and when it is not. ``echo/solve`` is measured as ``graphscore score`` pays it: the solve is
:func:`graphscore.engine.run.run_model` on a fresh projection (its convergence certificate
included), the echo :func:`graphscore.engine.echo.model_echo` after it (reusing that certificate,
computing the one of W.T, the shared solve and the pushes). Both are CPU seconds of this process
(``time.process_time``, both cores' for the echo's parallel pushes), not wall time: this machine
is shared, and wall time there says more about the other users than about the code.

Measured (2 cores shared with other sessions; 2024-06-30) under the spread reading of joint
punishment with split, ``--policy tests/policies/spread-split.toml`` (the shipped joint-punishment
was that policy then; it is a hop model now, whose echo is exact):

| companies | links | penalised (on a cycle) | echo/solve |
|---|---|---|---|
| 20,000 | 100,770 | 394 (386) | 1.1 |
| 200,000 | 1,011,785 | 4,041 (3,962) | 6.6 |

The code before the pushes (blocked dense iterations to 1e-12, one column per penalised entity),
run by this script, gave 42.5 for the first; on the second ``graphscore score`` was still in the
echo after 4.5 minutes.
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
