"""Benchmark: second runs of ``graphscore report dossier``, ``report spillover --entity``, ``explain``
and ``whatif --penalize`` under two versions of the code, alternated, each command in a new process
as a user types it.

    python benchmarks/second_reports.py --db DB --before TREE --after TREE [--rounds 3]
        [--commands dossier spillover explain whatif] ENTITY [ENTITY ...]

``TREE`` is a folder holding a ``graphscore`` package (a worktree, or ``git archive COMMIT``
unpacked); each command runs with it first on ``PYTHONPATH``, in that folder, on the store ``DB``
under ``data/policies/diffusion.toml`` as of 2024-06-30, writing every format. Each command runs
once per version first, untimed, as a user's first command does (it fills the store's disk cache
and numba's, which is kept beside each version's sources, and writes the version's Python
bytecode there, even where ``PYTHONDONTWRITEBYTECODE`` is set, as it is on this project's
machine: a user's installed or first-run graphscore has its bytecode); then ``--rounds`` rounds of second
runs, the order of the two versions swapped every round. Prints one line per run (wall and CPU
seconds, CPU being user + system of the child, and the one-minute load average as it started)
and, per command, the medians and the after / before ratio of CPU per pair: on a shared machine
only the pairs compare.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "dossier": lambda entity, db, out: ["report", "dossier", entity, "--db", db, "--out", out],
    "spillover": lambda entity, db, out: ["report", "spillover", "--entity", entity, "--db", db, "--out", out],
    "explain": lambda entity, db, out: ["explain", entity, "--db", db],
    "whatif": lambda entity, db, out: ["whatif", "--penalize", entity, "--db", db, "--out", out],
}
SETTINGS = ["--policy", "data/policies/diffusion.toml", "--as-of", "2024-06-30", "-q"]


def timed(tree: Path, arguments: list[str], *, first: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds of ``graphscore ARGUMENTS`` run with the code of ``tree``; a
    ``first`` run writes the bytecode of the modules it imports."""
    environment = dict(os.environ, PYTHONPATH=str(tree))
    if first:
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "graphscore", *arguments, *SETTINGS], check=True, cwd=tree,
                   stdout=subprocess.DEVNULL, env=environment)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entities", nargs="+")
    parser.add_argument("--db", required=True)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--commands", nargs="+", choices=list(COMMANDS), default=["dossier", "spillover"])
    args = parser.parse_args()
    commands = {kind: COMMANDS[kind] for kind in args.commands}
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    db = str(Path(args.db).resolve())
    out = Path(tempfile.mkdtemp(prefix="second-reports-"))
    for kind, command in commands.items():  # the first runs: the caches filled
        for entity in args.entities:
            for name, tree in trees.items():
                timed(tree, command(entity, db, str(out / f"first-{name}")), first=True)
    runs = []
    for round_ in range(args.rounds):
        for kind, command in commands.items():
            for entity in args.entities:
                for name in (["before", "after"] if round_ % 2 == 0 else ["after", "before"]):
                    load = os.getloadavg()[0]
                    wall, cpu = timed(trees[name], command(entity, db, str(out / f"{kind}-{name}")))
                    runs.append({"round": round_, "kind": kind, "entity": entity, "code": name, "cpu": cpu, "wall": wall})
                    print(f"{round_} {kind:9} {entity} {name:6} wall {wall:6.2f} cpu {cpu:5.2f} load {load:4.1f}",
                          flush=True)
    for kind in commands:
        cpu = {name: [r["cpu"] for r in runs if r["kind"] == kind and r["code"] == name] for name in trees}
        wall = {name: [r["wall"] for r in runs if r["kind"] == kind and r["code"] == name] for name in trees}
        pairs: dict[tuple, dict] = {}
        for r in runs:
            if r["kind"] == kind:
                pairs.setdefault((r["round"], r["entity"]), {})[r["code"]] = r["cpu"]
        ratios = sorted(p["after"] / p["before"] for p in pairs.values())
        print(f"{kind}: CPU median before {statistics.median(cpu['before']):.2f} s, after "
              f"{statistics.median(cpu['after']):.2f} s; after / before per pair {ratios[0]:.2f}-{ratios[-1]:.2f} "
              f"(median {statistics.median(ratios):.2f}); wall median before {statistics.median(wall['before']):.2f} s, "
              f"after {statistics.median(wall['after']):.2f} s")


if __name__ == "__main__":
    main()
