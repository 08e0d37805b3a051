"""Benchmark: the Spark engine on local[2] beside the in-memory engine, on synthetic registries.

    python benchmarks/spark.py [--sizes 20000 200000] [--master local[2]] [--hops 5] [--policy FILE]
                               [--max-hops N] [--driver-memory 4g]

``--sizes`` counts companies (about five links each: 20,000 -> 10^5 links). Each size runs in
its own subprocess, so its peak memory is its own. Per size and engine, under
``data/policies/diffusion.toml`` (spread, normalised by source: no eigenvalue check, about 60
steps) or ``--policy``, at 2024-06-30; ``--max-hops N`` runs the policy's links as a ``hop``
model of N hops (``aggregate = "sum"``), a run of N steps where a 10^7-link spread would take
hours. The ``policy`` column names what ran:

- ``read s``: the Parquet tables read (in-memory: :func:`graphscore.io.read_path` and
  :func:`graphscore.validate`; Spark: :func:`graphscore.spark.read_parquet_tables` with its checks);
- ``project s``: the projection (Spark: active links, rules, weights, computed and cached);
- ``per hop s``: one hop of the series (in memory: the median of ``--hops`` sparse products;
  Spark: a ``hop`` run of ``--hops`` hops, one job of joins and groupBys, divided by them);
- ``score s``: the whole model (a spread: the convergence certificate and the iterations), the
  model alone on both engines: the ``echo`` column of ``graphscore score`` (own penalties
  returning around cycles, about one solve per penalised entity on a cycle in either engine)
  is not in it;
- ``total s``: read + project + score;
- ``peak GB``: peak resident memory of the Python process, and for Spark of its driver JVM
  (in local mode the driver runs the executors too);
- ``max |diff|``: largest difference between the two engines' totals (must be below 1e-9).

Times are of one run on a shared machine: quote the Spark/in-memory ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
POLICY = ROOT / "data" / "policies" / "diffusion.toml"
AS_OF = "2024-06-30"


def _peak_gb(pid: int | None = None) -> float:
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def run_size(companies: int, master: str, hops: int, policy_path: str, max_hops: int | None,
             driver_memory: str) -> list[dict]:
    import dataclasses

    import numpy as np
    import scipy as sp

    import graphscore as gs
    from graphscore.engine.run import run_model
    from graphscore.policy import Aggregate, ModelName
    from graphscore.io import write_tables
    from graphscore.synthetic import generate_network
    from graphscore.spark import build_projection, local_session, read_parquet_tables
    from graphscore.spark.linear import hop
    from graphscore.spark.run import run_model as spark_run

    policy = gs.load_policy(policy_path)
    label = Path(policy_path).stem
    if max_hops is not None:
        policy = dataclasses.replace(policy, model=ModelName.HOP, max_hops=max_hops, aggregate=Aggregate.SUM)
        label += f" as hop, max_hops {max_hops}"
    folder = Path(tempfile.mkdtemp(prefix="gs-spark-bench-"))
    write_tables(generate_network(companies, seed=0, as_of=AS_OF), folder, format="parquet")

    tables, read_memory = _timed(lambda: gs.validate(gs.read_path(folder)))
    projection, project_memory = _timed(gs.build_projection, tables, policy, AS_OF)
    run, score_memory = _timed(run_model, projection, policy)
    W = sp.sparse.csr_array(projection.W)
    products = []
    x = projection.s.copy()
    for _ in range(hops):
        _, seconds = _timed(lambda: W @ x)
        products.append(seconds)
    memory_row = {"links": len(tables.links), "policy": label, "engine": "memory", "read s": read_memory,
                  "project s": project_memory, "per hop s": statistics.median(products), "score s": score_memory,
                  "total s": read_memory + project_memory + score_memory, "peak GB": _peak_gb(),
                  "max |diff|": None}
    expected = dict(zip(projection.ids, run.total))
    del tables, projection, W

    spark = local_session(master, config={"spark.driver.memory": driver_memory})
    jvm_pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    spark_tables, read_spark = _timed(read_parquet_tables, spark, folder)
    # the checks run here; the projection below reads the typed tables again from Parquet
    spark_projection, project_spark = _timed(build_projection, spark_tables, policy, AS_OF)
    started = time.perf_counter()
    hop(spark_projection.W, spark_projection.seeds, damping=policy.damping, max_hops=hops).count()
    per_hop = (time.perf_counter() - started) / hops
    (frame, _), score_spark = _timed(lambda: (lambda f: (f[0].localCheckpoint(eager=True), f[1]))(
        spark_run(spark_projection, policy, with_echo=False)))
    totals = frame.select("id", "total").toArrow().to_pandas()
    diff = float(np.abs(totals["total"].to_numpy() - totals["id"].map(expected).to_numpy()).max())
    spark_row = {"links": memory_row["links"], "policy": label, "engine": f"spark {master}", "read s": read_spark,
                 "project s": project_spark, "per hop s": per_hop, "score s": score_spark,
                 "total s": read_spark + project_spark + score_spark,
                 "peak GB": f"{_peak_gb():.2f} + JVM {_peak_gb(jvm_pid):.2f}", "max |diff|": diff}
    spark.stop()
    shutil.rmtree(folder)
    assert diff < 1e-9, f"the engines differ by {diff}"
    return [memory_row, spark_row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--hops", type=int, default=5)
    parser.add_argument("--policy", default=str(POLICY))
    parser.add_argument("--max-hops", type=int, help="run the policy as a hop model of this many hops")
    parser.add_argument("--driver-memory", default="4g", help="the Spark driver's heap (local mode: the executors' too)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_size(args.one, args.master, args.hops, args.policy, args.max_hops, args.driver_memory)))
        return
    from benchmarks.ratio_table import print_table

    rows = []
    for companies in args.sizes:
        more = ["--max-hops", str(args.max_hops)] if args.max_hops is not None else []
        done = subprocess.run([sys.executable, __file__, "--one", str(companies), "--master", args.master,
                               "--hops", str(args.hops), "--policy", args.policy, "--driver-memory",
                               args.driver_memory, *more], capture_output=True, text=True, check=True)
        rows.extend(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"done {companies} companies", file=sys.stderr)
    print_table(rows)


if __name__ == "__main__":
    main()
