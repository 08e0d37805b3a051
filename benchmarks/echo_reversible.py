"""Benchmark: the echo column under spread on a reversible W, the general method against the one
push per entity on W's symmetric form, alternated in one process.

    python benchmarks/echo_reversible.py --db STORE [--policy data/policies/diffusion.toml] [--as-of 2024-06-30] [--rounds 2]
    python benchmarks/echo_reversible.py --npz W.npz [--rounds 2] [--methods reversible] [--save PREFIX]

The projection is built once, through the workspace from a store (``--db``, opened read-only),
or W and s are read from an ``.npz`` of ``indptr``, ``indices``, ``data``, ``s`` and ``damping``.
Each round runs, for every penalised entity, the general method
(:func:`graphscore.engine.echo.find_cycles`, :func:`graphscore.engine.push.return_bound` and
:func:`graphscore.engine.push.push_diagonal`, as :func:`graphscore.engine.echo.model_echo` runs
them on a W with no reversible form) and the reversible one
(:func:`graphscore.engine.reversible.reversible_form` and
:func:`graphscore.engine.reversible.reversible_diagonal`), each from nothing kept, in turn. It
prints each phase's wall and CPU seconds (CPU counts both cores' work), the links followed per
entity, and how far apart the two echoes are (both upper bounds within the accuracy of the
exact one, so at most that apart). The compiled kernels are loaded on a small W first.
``--methods reversible`` runs the reversible one alone: run with two trees on ``PYTHONPATH`` in
turn, it times one version of it against another.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy as sp

from graphscore.engine.echo import ECHO_TOL, closed_walks, find_cycles
from graphscore.engine.push import push_diagonal, return_bound
from graphscore.engine.reversible import reversible_diagonal, reversible_form


def _timed(phases: dict, name: str, call):
    wall, cpu = time.perf_counter(), time.process_time()
    out = call()
    phases[name] = (time.perf_counter() - wall, time.process_time() - cpu)
    return out


def general(W, sources, damping):
    phases: dict = {}
    cycles = _timed(phases, "find_cycles", lambda: find_cycles(W))
    columns = sp.sparse.csc_array(W)
    bound = _timed(phases, "return_bound", lambda: return_bound(columns, damping=damping))
    del columns
    on = np.flatnonzero(cycles.on_cycle[sources])
    on = on[np.argsort(cycles.position[sources[on]], kind="stable")]  # taken in the renumbered order
    position = cycles.position[sources[on]]
    reordered = type(bound)(bound.weights[cycles.order], bound.reach[cycles.order])
    found = _timed(phases, "push_diagonal", lambda: push_diagonal(cycles.by_source, position, damping=damping,
                                                                 tol=ECHO_TOL, bound=reordered, rows=cycles.by_target))
    walks = np.zeros(sources.size)
    walks[on] = found.values + found.error - 1
    return walks, phases, found.links.mean()


def reversible(W, sources, damping):
    phases: dict = {}
    form = _timed(phases, "reversible_form", lambda: reversible_form(W))
    found = _timed(phases, "reversible_diagonal",
                   lambda: reversible_diagonal(W, sources, damping=damping, tol=ECHO_TOL, form=form))
    return found.values + found.error - 1, phases, found.links.mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db")
    parser.add_argument("--npz")
    parser.add_argument("--policy", default="data/policies/diffusion.toml")
    parser.add_argument("--as-of", default="2024-06-30")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--save", help="write the reversible echoes of each round to SAVE-ROUND.npy")
    parser.add_argument("--methods", nargs="+", choices=["general", "reversible"], default=["general", "reversible"])
    args = parser.parse_args()
    methods = [(name, {"general": general, "reversible": reversible}[name]) for name in args.methods]
    small = sp.sparse.csr_array([[0.0, 1.0], [1.0, 0.0]])
    closed_walks(small, [0], damping=0.5)
    closed_walks(small, [0], damping=0.5, cycles=find_cycles(small))
    if args.npz:
        z = np.load(args.npz)
        n = z["s"].size
        W = sp.sparse.csr_array((z["data"], z["indices"], z["indptr"]), shape=(n, n))
        s, damping = z["s"], float(z["damping"])
    else:
        import graphscore as gs

        policy = gs.load_policy(args.policy)
        projection = gs.open(args.db, read_only=True).projection(policy, args.as_of)
        W, s, damping = projection.W, projection.s, policy.damping
    sources = np.flatnonzero(s > 0)
    print(f"{W.shape[0]:,} entities, {W.nnz:,} non-zeros, {sources.size:,} penalised, damping {damping}")
    print("| round | method | phase | wall s | CPU s | links per entity |")
    print("|---|---|---|---|---|---|")
    for round_ in range(1, args.rounds + 1):
        results = {}
        for name, method in methods if round_ % 2 else methods[::-1]:
            walks, phases, links = method(W, sources, damping)
            results[name] = walks
            for phase, (wall, cpu) in phases.items():
                print(f"| {round_} | {name} | {phase} | {wall:.1f} | {cpu:.1f} | |")
            total = [sum(t[k] for t in phases.values()) for k in (0, 1)]
            print(f"| {round_} | {name} | all | {total[0]:.1f} | {total[1]:.1f} | {links:,.0f} |", flush=True)
        if len(results) == 2:
            apart = results["reversible"] - results["general"]
            print(f"round {round_}: reversible - general in [{apart.min():.2e}, {apart.max():.2e}] (accuracy {ECHO_TOL})")
        if args.save:
            np.save(f"{args.save}-{round_}.npy", results["reversible"])


if __name__ == "__main__":
    main()
