"""Benchmark: building a projection at about 10^6 links, its time and the memory it keeps.

    python benchmarks/projection.py [--companies 200000]

Builds the projection of a synthetic registry (:func:`graphscore.synthetic.generate_network`,
seed 0) under ``data/policies/joint-punishment.toml`` at 2024-06-30 twice and prints, for the
``graphscore`` on the path (so the same script measures another checkout: ``PYTHONPATH=OTHER``):

- ``first s`` and ``second s``: the two builds (the first includes what is found once per
  links table and kept for the next, e.g. the links' ends as entity rows);
- ``kept B/link``: bytes allocated by the first build and still held after it, per link, as
  Python's ``tracemalloc`` counts them (numpy and pandas allocations included; strings shared
  with the tables are not new), and ``peak B/link``, the most held during the build;
- ``W B/link``: ``W``'s three arrays alone, and the dtype of its indices.

Ratios between two checkouts run one after the other are the figures to quote: the machine is
shared and absolute times vary.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
import warnings
from pathlib import Path

import graphscore as gs
from graphscore.synthetic import generate_network

POLICY = Path(__file__).resolve().parent.parent / "data" / "policies" / "joint-punishment.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=200_000)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(args.companies, seed=0))
    policy = gs.load_policy(POLICY)
    links = len(tables.links)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    projection = gs.build_projection(tables, policy, "2024-06-30")
    first = time.perf_counter() - start
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    start = time.perf_counter()
    gs.build_projection(tables, policy, "2024-06-30")
    second = time.perf_counter() - start
    W = projection.W
    print(f"graphscore at {Path(gs.__file__).parent.parent}: links {links:,}, W entries {W.nnz:,}; "
          f"first s {first:.2f}, second s {second:.2f}; kept B/link {(after - before) / links:.1f}, "
          f"peak B/link {(peak - before) / links:.1f}; "
          f"W B/link {(W.data.nbytes + W.indices.nbytes + W.indptr.nbytes) / links:.1f} ({W.indices.dtype} indices)")


if __name__ == "__main__":
    main()
