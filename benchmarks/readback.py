"""Benchmark: a first ``score``'s read-back and projection under two versions of the code, alternated.

    python benchmarks/readback.py --db DB --before TREE --after TREE [--rounds 2] [--policy TOML]

``TREE`` is a folder holding a ``graphscore`` package (a worktree, or ``git archive COMMIT``
unpacked). Each run is a new process with ``TREE`` first on ``PYTHONPATH`` doing what
``graphscore score`` does before it solves, on the store ``DB`` (opened read-only, never
written: the disk cache goes to a scratch folder, not beside the store):

- ``read s``: opening the store and reading its tables back
  (:meth:`~graphscore.store.ladybug.LadybugStore.read_content`), kept as the disk cache keeps
  them (:meth:`~graphscore.cache.DiskCache.keep_content`), as :func:`graphscore.open_workspace`
  does for a store whose cache is empty;
- ``projection s``: :meth:`Workspace.projection` under the policy (default
  ``data/policies/diffusion.toml``) at 2024-06-30, the projection saved to that cache too.

Each version runs once first, untimed (numba compiles into the version's own folder, and the
store's file comes into the page cache); then ``--rounds`` rounds, the two versions' order
swapped each round. Prints one line per run (wall and CPU seconds of each phase, CPU of all
its threads, and of the whole child, imports included, its peak resident memory and the one-minute load average as it started), the medians
and the after / before ratios, and whether the two versions' ``W`` (its three arrays), ``s`` and
ids are equal, bit for bit (a SHA-256 of their bytes), and the disk cache's table files byte
for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POLICY = Path(__file__).resolve().parent.parent / "data" / "policies" / "diffusion.toml"
AS_OF = "2024-06-30"


def child(db: str, policy_path: str) -> None:
    """One run: read back, keep, project; print what it measured as one JSON line."""
    import numpy as np

    import graphscore as gs
    from graphscore.cache import DiskCache
    from graphscore.store.ladybug import LadybugStore, _release_freed_memory
    from graphscore.workspace import Workspace

    policy = gs.load_policy(policy_path)
    scratch = Path(tempfile.mkdtemp(prefix="readback-"))
    try:
        start, cpu = time.perf_counter(), time.process_time()
        with LadybugStore(db, read_only=True) as store:
            fingerprint = store.data_fingerprint()
            cache = DiskCache(scratch, fingerprint)
            tables = cache.keep_content(*store.read_content())
            _release_freed_memory()
        workspace = Workspace(tables, fingerprint=fingerprint, cache=cache)
        read, read_cpu = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        projection = workspace.projection(policy, AS_OF)
        projected, projected_cpu = time.perf_counter() - start, time.process_time() - cpu
        digest = hashlib.sha256()
        W = projection.W
        for array in (W.data, W.indices.astype(np.int64), W.indptr.astype(np.int64), projection.s):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update("\n".join(projection.ids.to_numpy(dtype=object)).encode())
        tables = hashlib.sha256()  # the disk cache's tables: each file's name and bytes
        for path in sorted((scratch / fingerprint / "tables").iterdir()):
            tables.update(path.name.encode() + b"\0" + path.read_bytes())
        print(json.dumps({"read": read, "projection": projected, "read_cpu": read_cpu,
                          "projection_cpu": projected_cpu, "nnz": int(W.nnz), "digest": digest.hexdigest(),
                          "tables": tables.hexdigest(),
                          "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(tree: Path, db: str, policy: str) -> dict:
    """One child run with the code of ``tree``: its figures, CPU seconds and the load as it started."""
    load = os.getloadavg()[0]
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, __file__, "--child", "--db", db, "--policy", policy], check=True,
                          cwd=tree, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(tree)))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {**found, "cpu": (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime), "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--before", type=Path)
    parser.add_argument("--after", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--policy", default=str(POLICY))
    parser.add_argument("--warm", choices=("both", "after"), default="both",
                        help="which versions run once untimed first: with 'after', only the store's file is brought "
                             "into the page cache (numba's cache of the other version filled by an earlier run)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    db = str(Path(args.db).resolve())
    policy = str(Path(args.policy).resolve())
    if args.child:
        child(db, policy)
        return
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for name, tree in trees.items():  # untimed: numba's cache and the page cache filled
        if args.warm == "both" or name == "after":
            run(tree, db, policy)
    found: dict[str, list[dict]] = {name: [] for name in trees}
    print("| round | version | read s | read CPU s | projection s | projection CPU s | process CPU s | peak GB | load |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for number in range(args.rounds):
        for name in (list(trees) if number % 2 == 0 else list(trees)[::-1]):
            figures = run(trees[name], db, policy)
            found[name].append(figures)
            print(f"| {number + 1} | {name} | {figures['read']:.2f} | {figures['read_cpu']:.2f} | "
                  f"{figures['projection']:.2f} | {figures['projection_cpu']:.2f} | {figures['cpu']:.1f} | "
                  f"{figures['peak_gb']:.2f} | {figures['load']:.2f} |", flush=True)
    keys = ("read", "read_cpu", "projection", "projection_cpu", "cpu")
    medians = {name: {key: statistics.median(f[key] for f in runs) for key in keys} for name, runs in found.items()}
    for key in keys:
        before, after = medians["before"][key], medians["after"][key]
        print(f"median {key}: before {before:.2f}, after {after:.2f}, after / before {after / before:.2f}")
    digests = {f["digest"] for runs in found.values() for f in runs}
    print(f"W, s and ids equal bit for bit across versions and runs: {len(digests) == 1} "
          f"({found['after'][0]['nnz']:,} entries of W)")
    kept = {f.get("tables") for runs in found.values() for f in runs}
    print(f"the disk cache's table files equal byte for byte across versions and runs: {len(kept) == 1}")


if __name__ == "__main__":
    main()
