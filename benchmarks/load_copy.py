"""The streamed ``graphscore load`` of a folder of tables against LadybugDB's own ``COPY``, in one process.

``python benchmarks/load_copy.py DIR [--tmp TMP]`` times, one after the other:

1. ``streamed load``: ``LadybugStore(NEW).load_chunks(table_chunks([DIR]))``, what ``graphscore load
   DIR --db NEW`` runs into an empty store, with where its time went (reading and validating the
   chunks, making their Arrow tables, the ``COPY`` statements, the commits, the copy's last
   checkpoint and switch);
2. ``read+validate``: ``read_paths([DIR])``, the whole validated tables in memory;
3. ``to Arrow`` and ``COPY``: :func:`scale.copy_reference`, the store's DDL and ``COPY`` statements
   over the Arrow tables of those validated tables, in one transaction, in a new database.

``COPY`` is the reference of issue 7's target ("at least half the rate of LadybugDB's own bulk copy
of the same tables"): the rows as the store holds them (links keyed and split by type) copied from
Arrow tables already made. The input files themselves cannot be ``COPY``'d into the store's tables
(one links file for five relationship tables, no record keys), so a ``COPY`` from them is no
reference. Each phase prints wall and CPU seconds (CPU is what compares on a busy machine) and the
ratios of the streamed load to ``COPY``.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import Phases, copy_reference  # noqa: E402

from graphscore.io import read_paths, table_chunks  # noqa: E402
from graphscore.model import ValidatedStream  # noqa: E402
from graphscore.store import ladybug as store_module  # noqa: E402
from graphscore.store.ladybug import LadybugStore  # noqa: E402


class Spent:
    """Wall and CPU seconds spent inside wrapped callables, by name (not nested: an inner call's
    time is its own, not its caller's)."""

    def __init__(self):
        self.wall, self.cpu, self._depth = collections.Counter(), collections.Counter(), 0

    def wrap(self, owner, attribute: str, name: str) -> None:
        inner = getattr(owner, attribute, None)
        if inner is None:  # code from before that part existed: nothing to time
            return
        spent = self

        def timed(*args, **kwargs):
            if spent._depth:
                return inner(*args, **kwargs)
            spent._depth += 1
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent.wall[name] += time.perf_counter() - wall
                spent.cpu[name] += time.process_time() - cpu
                spent._depth -= 1

        setattr(owner, attribute, timed)

    def wrap_iterator(self, owner, attribute: str, name: str) -> None:
        """Time each step of the iterators ``owner.attribute(...)`` returns."""
        inner = getattr(owner, attribute)
        spent = self

        def timed(*args, **kwargs):
            iterator = inner(*args, **kwargs)
            while True:
                wall, cpu = time.perf_counter(), time.process_time()
                spent._depth += 1
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                finally:
                    spent._depth -= 1
                    spent.wall[name] += time.perf_counter() - wall
                    spent.cpu[name] += time.process_time() - cpu
                yield item

        setattr(owner, attribute, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="a folder of entities, links and penalties (CSV or Parquet)")
    parser.add_argument("--tmp", type=Path, default=None, help="where the stores are made (removed after)")
    parser.add_argument("--skip-copy", action="store_true", help="the streamed load alone")
    parser.add_argument("--stream-rows", type=int, default=None,
                        help="rows per transaction of the streamed load (default: the store's STREAM_ROWS); "
                             "fewer at 10^6 links show the commits of a 10^7-link load")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="load-copy-", dir=args.tmp))
    if args.stream_rows:
        store_module.STREAM_ROWS = args.stream_rows
    phases = Phases([])
    cpu: dict[str, float] = {}
    spent = Spent()
    spent.wrap_iterator(ValidatedStream, "__iter__", "read and validate")
    spent.wrap(store_module, "_chunk_steps", "chunks to Arrow")
    spent.wrap(store_module, "_change_steps", "chunks to Arrow")
    spent.wrap(store_module, "_link_rows", "chunks to Arrow")
    spent.wrap(getattr(store_module, "StagedLinks", None), "add", "links staged")
    spent.wrap(store_module._Transactions, "__call__", "COPY statements")
    spent.wrap(store_module._Transactions, "commit", "commits")
    spent.wrap(store_module._Transactions, "close", "last checkpoint")
    spent.wrap(store_module.shutil, "copyfile", "copy of the store")
    try:
        print(f"load average before: {os.getloadavg()}", file=sys.stderr)
        start = time.process_time()
        with phases("streamed load"):
            with LadybugStore(folder / "streamed") as store:
                summary = store.load_chunks(table_chunks([args.input]))
        cpu["streamed load"] = time.process_time() - start
        shutil.rmtree(folder / "streamed")
        print(f"  stored {summary.stored}", file=sys.stderr)
        print(f"  load average: {os.getloadavg()}", file=sys.stderr)
        if not args.skip_copy:
            start = time.process_time()
            with phases("read+validate"):
                tables = read_paths([args.input])
            cpu["read+validate"] = time.process_time() - start
            assert summary.fingerprint == tables.fingerprint() and summary.stored == tables.counts()
            start = time.process_time()
            copy_reference(tables, folder / "copy", phases)
            cpu["to Arrow + COPY"] = time.process_time() - start
            del tables
        print(f"load average after: {os.getloadavg()}", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("\n| phase | wall s | CPU s |\n|---|---|---|")
    for name, seconds in phases.seconds.items():
        print(f"| {name} | {seconds:.1f} | {cpu.get(name, float('nan')):.1f} |")
    print(f"| to Arrow + COPY (CPU together) | | {cpu.get('to Arrow + COPY', float('nan')):.1f} |")
    print("\nstreamed load, where its time went:\n\n| part | wall s | CPU s |\n|---|---|---|")
    for name in spent.wall:
        print(f"| {name} | {spent.wall[name]:.1f} | {spent.cpu[name]:.1f} |")
    if "COPY" in phases.seconds:
        streamed, copy = phases.seconds["streamed load"], phases.seconds["COPY"]
        print(f"\nstreamed/COPY {streamed / copy:.2f}; (streamed - read+validate)/COPY "
              f"{(streamed - phases.seconds['read+validate']) / copy:.2f}")
    print(f"peak of the streamed load {phases.peaks['streamed load']:.2f} GB")


if __name__ == "__main__":
    main()
