"""Benchmark: graphscore end to end on synthetic registries of 10^5 to 10^7 links, against LadybugDB's own COPY.

    python benchmarks/scale.py [--sizes 20000 200000 2000000] [--explain-max 200000] [--profile PHASE ...] [--huge]
    python benchmarks/scale.py --inputs DIR [DIR ...]

``--sizes`` counts companies: :func:`graphscore.synthetic.generate_network` makes about five
links per company, so the default sizes give about 10^5, 10^6 and 10^7 links. Each size runs
in its own subprocess, so its peak resident memory is its own. Per size, one row of:

- ``generate s``: :func:`generate_network` (seed 0);
- ``csv+validate s`` and ``parquet+validate s``: from the files to validated tables, as
  ``graphscore load`` reads them (:func:`graphscore.io.read_paths`: read and validated chunk by
  chunk); the files are written beforehand by :func:`graphscore.io.write_tables`, untimed.
  ``csv peak GB`` and ``parquet peak GB`` are the peak resident memory during each of the two
  phases (the kernel's high-water mark, reset as the phase starts: imports and what the process
  holds already are included, the generated registry is not);
- ``load s`` and ``load links/s``: ``LadybugStore(path).load(tables)`` into a new store (the
  keyed diff, the fingerprint of the content and the bulk COPY statements, in one transaction);
- ``COPY s`` and ``COPY links/s``: the reference, LadybugDB's own bulk COPY of the same
  validated tables into a new database: the schema DDL of
  :func:`graphscore.store.statements.ladybug_schema` and the COPY statements of that module, in
  one transaction. The Arrow tables are built beforehand, as the store builds them (its
  ``_arrow`` and link keys); ``to Arrow s`` is that preparation, which ``load s`` includes;
- ``load/COPY``: what the store's load costs over the bare engine; the figure to quote;
- ``streamed load s``, ``streamed peak GB`` and ``streamed/COPY``: what ``graphscore load`` of
  the Parquet files does into an empty store (``LadybugStore.load_chunks``: read, validated and
  copied in chunk by chunk, the checks across chunks kept on disk), timed from the files, so
  reading and validating them is included where ``COPY s`` starts from tables in memory; run
  while the process holds no table, so its peak is the streamed load's own;
- ``reload s``: the same input again, after reopening the store, as ``graphscore load`` does:
  its fingerprint equals the one the store recorded, so nothing is compared or written (the
  benchmark asserts it);
- ``reload 1 change s``: last, the same input with one entity renamed, loaded as ``reload s``
  is: the fingerprint differs, so every row is compared by key with the stored side and one
  written;
- ``read-back s``: the store's content read back as a command reads it when the store recorded
  its fingerprint (``store.read_content()``: Arrow tables in canonical order and the links' ends),
  and ``read-back peak GB`` the peak resident memory during it (as for ``csv peak GB``);
- ``open ws s``: :func:`graphscore.workspace.open_workspace` from the disk cache the load primed;
- ``project s`` and ``score s``: ``ws.projection`` and ``ws.baseline`` under
  ``data/policies/diffusion.toml`` at 2024-06-30, first calls (they include writing the
  projection and the run to the disk cache, as a first command on a store does);
- ``proj B/link``: bytes a projection holds per link beyond the tables (``W``'s three arrays,
  ``s``, the penalties frame it adds two columns to), and ``codes B/link``, the links' ends as
  entity rows (:func:`graphscore.engine.matrix.link_ends`), held once per links table and
  shared by every projection and the workspace;
- ``echo s``: ``ws.echo``, the score table's echo column (:mod:`graphscore.engine.echo`),
  first call, after the run: what ``graphscore score`` adds to ``score s``;
- ``explain s``, ``dossier s``, ``whatif s``: the median, over three entities (the penalised
  company with the largest own weight, the entity with the most links, a random person;
  ties go to the lowest id), of the *second* call through the workspace: what an analyst
  pays once the projection is built;
- ``explain cmd s``, ``dossier cmd s``, ``whatif cmd s``, ``spillover cmd s``: the whole
  command as a user types it (``graphscore explain ENTITY --policy ... -q``, ``graphscore report
  dossier ... --out DIR``, ``graphscore whatif --penalize ENTITY ... --out DIR``, ``graphscore
  report spillover --entity ENTITY ... --out DIR``) on the stored registry for the penalised
  company, in a new process, second run: Python's start, imports, the disk cache, the answer and
  writing it out included (up to ``--explain-max``); and ``... cmd CPU s``, the CPU time (user
  and system) of that run, the figure to compare on a shared machine, where wall time is
  inflated by whatever else runs;
- ``peak GB``: the subprocess's peak resident memory, and ``peak at``, the phase that set it.

Checks (assertions): the store holds as many rows as the input; reloading writes nothing; the
fingerprint of the read-back (its tables as frames, after the phase) equals the input's.

``--inputs DIR ...`` measures only that: each folder of CSV or Parquet tables (e.g. written by
``graphscore synthetic --companies 2000000 [--parquet] --out DIR``), FtM file or BODS file
(e.g. written by :func:`graphscore.synthetic_bods.write_bods`) read and validated by
:func:`graphscore.io.read_paths`, or each store folder read back (``store.read_content()``,
opened read-only), in a subprocess of its own, printing its time and the subprocess's peak
resident memory; the inputs are only read. With ``--read-only``, only the raw chunks a
streamed load reads (:func:`graphscore.io.table_chunks`: a reader's own time and memory, the
rows counted and dropped).

``--profile PHASE ...`` runs those phases under cProfile and prints their top entries on stderr.
``--huge`` runs 10^8 links (20,000,000 companies) end to end as a user would, each step a
process of its own: generate (Parquet, written ``HUGE_BLOCK`` companies at a time), ``graphscore
load`` (streamed into a new store), ``graphscore score`` and ``graphscore whatif`` (from the store,
no disk cache), printing each step's time, own peak memory and the most disk its folder took
(input, store, the store's copy a write-back makes, a streamed load's kept keys, the disk cache;
sampled every half second). It first runs that pipeline at about 10^6 and 10^7 links (unless
an earlier run recorded them), extrapolates each step's peak, disk and time in a straight line
to 10^8, and refuses, naming the steps, when one passes ``HUGE_LIMIT_GB`` or the folder at its
fullest would not fit on the disk; ``--timeout`` then bounds the whole run
(its step's process group is killed). Ratios, not absolute times, are the figures to quote: this machine is shared
and noisy.
"""

from __future__ import annotations

import argparse
import cProfile
import contextlib
import gc
import io
import json
import os
import platform
import pstats
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import ladybug
import numpy as np
import pandas as pd
import pyarrow as pa

import graphscore as gs
from graphscore.analysis.dossier import dossier
from graphscore.analysis.explain import explain
from graphscore.analysis.whatif import whatif
from graphscore.cache import DiskCache, StoredTables
from graphscore.engine.matrix import link_ends
from graphscore.io import read_paths, table_chunks, write_tables
from graphscore.model import Column, load_model
from graphscore.store import statements
from graphscore.store.ladybug import DATABASE_FILE, LadybugStore
from graphscore.store.plan import with_link_keys
from graphscore.synthetic import generate_network
from graphscore.workspace import Workspace, cache_folder, open_workspace
from ratio_table import print_table  # benchmarks/ is the script's folder, so on sys.path

try:  # the store's own conversion, so the reference copies byte for byte what the store would
    from graphscore.store.ladybug import _arrow
except ImportError:  # pragma: no cover - a renamed helper: a minimal conversion of the same types
    def _arrow(frame: pd.DataFrame, columns: list[Column], *, prefix: str = "") -> pa.Table:
        arrays = []
        for column in columns:
            values = frame[column.name]
            if pd.api.types.is_datetime64_any_dtype(values):
                arrays.append(pa.array(values.to_numpy(dtype="datetime64[s]"), from_pandas=True).cast(pa.date32()))
            elif pd.api.types.is_float_dtype(values):
                arrays.append(pa.array(values.to_numpy(), from_pandas=True))
            else:
                arrays.append(pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
        return pa.table(arrays, names=[prefix + c.store_name for c in columns])


# a spread policy: the table's score, explain and what-if columns time the spread engine (its solve,
# reverse and forward push); joint-punishment is a hop model, two products with W
POLICY = Path(__file__).resolve().parent.parent / "data" / "policies" / "diffusion.toml"
AS_OF = "2024-06-30"
DEFAULT_SIZES = [20_000, 200_000, 2_000_000]  # companies: about 10^5, 10^6 and 10^7 links
HUGE_COMPANIES = 20_000_000  # about 10^8 links
HUGE_LIMIT_GB = 18.0  # the machine has 24 GB, shared with other engineers' test runs
HUGE_BLOCK = 2_000_000  # companies generated at a time for --huge (about 10^7 links, some 4 GB)
PIPELINE_SIZES = [200_000, 2_000_000]  # the --huge estimate's two rows: about 10^6 and 10^7 links
# explain and dossier at 10^7 links: not measured yet (a second call costs about a second per
# 10^6 links in one row of influence, so tens of seconds there); ask with --explain-max.
EXPLAIN_MAX = 200_000
RECORD = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "graphscore" / "scale-bench.json"
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL of a child stopped for time or memory
MAX_RSS_GB = 18.0  # a size is stopped beyond this: the OOM killer would pick among everyone's processes
RESULT_MARK = "SCALE-RESULT "  # prefixes the child's one line of JSON on stdout
PHASE_START = re.compile(r"^  (?P<phase>[^:]+) \.\.\.$")
PHASE_DONE = re.compile(r"^  (?P<phase>[^:]+): (?P<seconds>[0-9.]+) s, peak [0-9.]+ GB, "
                        r"phase peak (?P<peak>[0-9.]+) GB$")
LINKS = re.compile(r"^  links: (?P<links>[0-9]+)$")


class Phases:
    """Times each phase, notes which one set the peak resident memory, and profiles those named."""

    def __init__(self, profile: list[str]):
        self.seconds: dict[str, float] = {}
        self.peaks: dict[str, float] = {}  # each phase's own peak resident memory, GB
        self.profile = profile
        self.peak_phase = "start"
        self._peak = _peak_gb()

    @contextlib.contextmanager
    def __call__(self, name: str):
        gc.collect()  # garbage of the phase before must not be billed to this one
        print(f"  {name} ...", file=sys.stderr, flush=True)
        profiler = cProfile.Profile() if name in self.profile else None
        _reset_phase_peak()
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        finished = False
        try:
            yield
            finished = True
        finally:
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - start
            if _peak_gb() > self._peak:
                self._peak, self.peak_phase = _peak_gb(), name
            if finished:  # an interrupted phase has no time: the table shows "-"
                self.seconds[name] = seconds
                self.peaks[name] = _phase_peak_gb()
                print(f"  {name}: {seconds:.2f} s, peak {self._peak:.2f} GB, phase peak {self.peaks[name]:.2f} GB",
                      file=sys.stderr, flush=True)
            else:
                print(f"  {name}: interrupted after {seconds:.2f} s, peak {self._peak:.2f} GB", file=sys.stderr, flush=True)
            if profiler:
                out = io.StringIO()
                out.write(f"cProfile of {name}:\n")
                stats = pstats.Stats(profiler, stream=out).strip_dirs()
                stats.sort_stats("cumulative").print_stats(25)
                stats.sort_stats("tottime").print_stats(15)
                print(out.getvalue(), file=sys.stderr, flush=True)


def _peak_gb() -> float:
    """This process's peak resident memory (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _reset_phase_peak() -> None:
    """Reset the kernel's high-water mark of this process's resident memory (Linux 4.0 and later)."""
    with contextlib.suppress(OSError):
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")


def _phase_peak_gb() -> float:
    """Peak resident memory since :func:`_reset_phase_peak` (``VmHWM``), in GB."""
    with contextlib.suppress(OSError, StopIteration):
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 2**20
    return _peak_gb()


def second_call(run) -> float:
    """Seconds of the second call of ``run``: the first fills the workspace's caches."""
    run()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def pick_entities(ws: Workspace, policy: gs.Policy, seed: int = 0) -> dict[str, str]:
    """Three entities to analyse, chosen from the data alone so every run picks the same."""
    projection = ws.projection(policy, AS_OF)
    entities = ws.tables.entities
    own = pd.Series(projection.s, index=projection.ids)
    companies = set(entities.loc[entities["kind"] == "company", "id"])
    penalised = own[(own > 0) & own.index.isin(companies)]
    penalised = penalised[penalised == penalised.max()]
    degree = pd.concat([ws.tables.links["source"], ws.tables.links["target"]]).value_counts()
    busiest = degree[degree == degree.max()]
    persons = np.sort(entities.loc[entities["kind"] == "person", "id"].to_numpy(dtype=object))
    return {"penalised company": min(penalised.index), "most links": min(busiest.index),
            "random person": str(np.random.default_rng(seed).choice(persons))}


def copy_reference(tables: gs.Tables, folder: Path, phases: Phases) -> None:
    """LadybugDB's own bulk COPY of validated tables into a new database: the store's DDL and
    COPY statements in one transaction, from Arrow tables built as the store builds them."""
    model = load_model()
    entity_columns, penalty_columns, link_columns = (
        statements.copy_columns(table, model) for table in ("entities", "penalties", "links"))
    ends = [Column("source", "ref"), Column("target", "ref")]
    with phases("to Arrow"):
        links = with_link_keys(tables).links
        arrow = [(statements.copy_entities(model), {"rows": _arrow(tables.entities, entity_columns)})]
        copy_rows, copy_edges = statements.copy_penalties(model)
        arrow.append((copy_rows, {"rows": _arrow(tables.penalties, penalty_columns)}))
        arrow.append((copy_edges, {"edges": _arrow(tables.penalties, [Column("entity", "ref"), penalty_columns[0]])}))
        for link_type in model.links:
            rows = links[links["type"] == link_type]
            if len(rows):
                arrow.append((statements.copy_links(link_type, model), {"rows": _arrow(rows, ends + link_columns)}))
        del links
    folder.mkdir(parents=True)
    database = ladybug.Database(str(folder / "graph.lbug"))
    connection = ladybug.Connection(database)
    try:
        with phases("COPY"):
            connection.execute("BEGIN TRANSACTION")
            for ddl in statements.ladybug_schema(model):
                connection.execute(ddl)
            for statement, parameters in arrow:
                connection.execute(statement, parameters)
            connection.execute("COMMIT")
        stored = connection.execute("MATCH ()-[r]->() RETURN count(r)").get_as_df().iloc[0, 0]
        assert stored == len(tables.links) + len(tables.penalties), (stored, tables.counts())
    finally:
        connection.close()
        database.close()


def measure(n_companies: int, folder: Path, profile: list[str], explain_max: int) -> dict:
    """Every phase of one registry size, in this process: what :func:`table_row` makes its row of."""
    phases = Phases(profile)
    policy = gs.load_policy(POLICY)
    with phases("generate"):
        generated = generate_network(n_companies, seed=0)
    with phases("write inputs"):
        write_tables(generated, folder / "csv", format="csv")
        write_tables(generated, folder / "input", format="parquet")
        del generated
    with phases("csv+validate"):
        tables = read_paths([folder / "csv"])
    del tables
    shutil.rmtree(folder / "csv")
    with phases("streamed load"):  # `graphscore load DIR` into an empty store, nothing else held
        with LadybugStore(folder / "streamed") as store:
            streamed = store.load_chunks(table_chunks([folder / "input"]))
    shutil.rmtree(folder / "streamed")
    with phases("parquet+validate"):
        tables = read_paths([folder / "input"])
    counts, fingerprint = tables.counts(), tables.fingerprint()
    assert streamed.stored == counts and streamed.fingerprint == fingerprint, f"streamed {streamed.stored}, input {counts}"
    print(f"  links: {counts['links']}", file=sys.stderr, flush=True)

    copy_reference(tables, folder / "copy", phases)
    shutil.rmtree(folder / "copy")

    store_path = folder / "store"
    with phases("load"):
        with LadybugStore(store_path) as store:
            summary = store.load(tables)
            recorded = store.data_fingerprint()
    assert summary.stored == counts, f"stored {summary.stored}, input {counts}"
    assert recorded == summary.fingerprint
    with phases("prime cache"):  # what `graphscore load` does after a load
        with LadybugStore(store_path) as store:
            cache = DiskCache(cache_folder(store), summary.fingerprint)
        cache.save_tables(summary.tables)
    del summary

    with phases("reload"):  # as `graphscore load` does it: reopen, stored side from the disk cache
        with LadybugStore(store_path) as store:
            stored = DiskCache(cache_folder(store), store.data_fingerprint()).load_tables()
            again = store.load(tables, stored=stored)
        del stored
    new_or_changed = {name: w["new"] + w["changed"] for name, w in again.written.items()}
    assert not any(new_or_changed.values()), f"reload wrote {again.written}"
    assert again.fingerprint == recorded == fingerprint
    del again, tables  # a command reading the store holds none of this: neither does the read-back
    gc.collect()

    with phases("read-back"):
        with LadybugStore(store_path, read_only=True) as store:
            content = store.read_content()
    read_back = StoredTables.in_memory(*content)
    del content
    assert read_back.counts() == counts, f"read back {read_back.counts()}, input {counts}"
    assert read_back.fingerprint() == fingerprint, "read-back differs from the input"
    del read_back

    with phases("open ws"):
        ws = open_workspace(store_path)
    with phases("project"):
        projection = ws.projection(policy, AS_OF)
    held = held_bytes(projection)
    codes = sum(ends.nbytes for ends in link_ends(ws.tables.links, ws.tables.entities))
    del projection
    with phases("score"):
        ws.baseline(policy, AS_OF)
    with phases("echo"):
        ws.echo(policy, AS_OF)

    picked = pick_entities(ws, policy)
    print(f"  entities: {picked}", file=sys.stderr, flush=True)
    analyses = {
        "explain": lambda entity: explain(ws, policy, entity, as_of=AS_OF),
        "dossier": lambda entity: dossier(ws, policy, entity, as_of=AS_OF),
        "whatif": lambda entity: whatif(ws, policy, penalize=entity, as_of=AS_OF),
    }
    if n_companies > explain_max:
        del analyses["explain"], analyses["dossier"]
    medians = dict.fromkeys(["explain", "dossier", "whatif"])
    for name, analysis in analyses.items():
        times = []
        with phases(name):
            for entity in picked.values():
                times.append(second_call(lambda: analysis(entity)))
        medians[name] = statistics.median(times)
    del ws
    gc.collect()
    commands = dict.fromkeys(COMMANDS)
    if n_companies <= explain_max:
        entity = picked["penalised company"]
        for name, arguments in COMMANDS.items():
            with phases(f"{name} command"):
                commands[name] = second_command([*arguments(entity, folder / name), "--db", str(store_path)])

    # last, as it changes the store: a reload that differs by one entity's name compares every
    # row by key against the stored side (what the unchanged reload above skips) and writes one
    tables = read_paths([folder / "input"])
    tables.entities.loc[0, "name"] = "renamed for the benchmark"
    with phases("reload 1 change"):
        with LadybugStore(store_path) as store:
            stored = DiskCache(cache_folder(store), store.data_fingerprint()).load_tables()
            changed = store.load(tables, stored=stored)
    assert changed.written["entities"]["changed"] == 1 and not changed.written["links"]["new"], changed.written

    return {"links": counts["links"], "seconds": phases.seconds, "medians": medians, "commands": commands,
            "peak_at": phases.peak_phase, "held": held, "codes": codes, "peaks": phases.peaks}


def held_bytes(projection) -> int:
    """Bytes of what a projection holds beyond the tables it was built from."""
    W = projection.W
    arrays = [W.data, W.indices, W.indptr, projection.s] + ([projection.values] if projection.values is not None else [])
    return sum(a.nbytes for a in arrays) + int(projection.penalties.memory_usage(index=True, deep=False).sum())


# Whole commands as a user types them, on the stored registry: Python's start, imports, opening
# the store and its disk cache, the answer and its output, all included.
COMMANDS = {
    "explain": lambda entity, out: ["explain", entity, "--policy", str(POLICY), "--as-of", AS_OF, "-q"],
    "dossier": lambda entity, out: ["report", "dossier", entity, "--policy", str(POLICY), "--as-of", AS_OF,
                                    "--out", str(out), "-q"],
    "whatif": lambda entity, out: ["whatif", "--penalize", entity, "--policy", str(POLICY), "--as-of", AS_OF,
                                   "--out", str(out), "-q"],
    "spillover": lambda entity, out: ["report", "spillover", "--entity", entity, "--policy", str(POLICY),
                                      "--as-of", AS_OF, "--out", str(out), "-q"],
}


def second_command(arguments: list[str]) -> tuple[float, float]:
    """Seconds of the second run of ``graphscore ARGUMENTS`` in a new process, wall and CPU
    (user and system, of the child): the first run fills the store's disk cache (and numba's),
    as a user's first command does."""
    command = [sys.executable, "-m", "graphscore", *arguments]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)


def table_row(n_companies: int, facts: dict, peak_gb: float) -> dict:
    """The row of one size from what its run measured; phases it did not reach are None."""
    seconds, medians, links = facts["seconds"], facts.get("medians", {}), facts.get("links")
    time_of = seconds.get
    rate = lambda phase: links / seconds[phase] if links and phase in seconds else None  # noqa: E731
    return {
        "companies": n_companies, "links": links,
        "generate s": time_of("generate"), "csv+validate s": time_of("csv+validate"),
        "csv peak GB": facts.get("peaks", {}).get("csv+validate"), "parquet+validate s": time_of("parquet+validate"),
        "parquet peak GB": facts.get("peaks", {}).get("parquet+validate"),
        "load s": time_of("load"), "load links/s": rate("load"),
        "to Arrow s": time_of("to Arrow"), "COPY s": time_of("COPY"), "COPY links/s": rate("COPY"),
        "load/COPY": seconds["load"] / seconds["COPY"] if "load" in seconds and "COPY" in seconds else None,
        "streamed load s": time_of("streamed load"), "streamed peak GB": facts.get("peaks", {}).get("streamed load"),
        "streamed/COPY": (seconds["streamed load"] / seconds["COPY"]
                          if "streamed load" in seconds and "COPY" in seconds else None),
        "reload s": time_of("reload"), "reload 1 change s": time_of("reload 1 change"),
        "read-back s": time_of("read-back"), "read-back peak GB": facts.get("peaks", {}).get("read-back"),
        "open ws s": time_of("open ws"), "project s": time_of("project"), "score s": time_of("score"),
        "proj B/link": facts["held"] / links if links and "held" in facts else None,
        "codes B/link": facts["codes"] / links if links and "codes" in facts else None,
        "echo s": time_of("echo"), "explain s": medians.get("explain"), "dossier s": medians.get("dossier"), "whatif s": medians.get("whatif"),
        **{f"{name} cmd {kind}": (facts.get("commands", {}).get(name) or (None, None))[k]
           for name in COMMANDS for k, kind in enumerate(("s", "CPU s"))},
        "peak GB": peak_gb, "peak at": facts["peak_at"],
    }


def write_registry(n_companies: int, folder: Path) -> None:
    """A synthetic registry as Parquet tables in ``folder``, generated ``HUGE_BLOCK`` companies at
    a time and appended to the files, so no more than one block is ever in memory. Up to one
    block it is :func:`generate_network` (seed 0) as it is; beyond, block ``k`` is drawn with
    seed ``k`` and its ids prefixed ``b<k>-``: the blocks are registries side by side, with no
    links between them (one block draws its links over all of its companies)."""
    import pyarrow.parquet as pq

    writers: dict[str, pq.ParquetWriter] = {}
    folder.mkdir(parents=True, exist_ok=True)
    blocks = range(0, n_companies, HUGE_BLOCK)
    try:
        for k, first in enumerate(blocks):
            tables = generate_network(min(HUGE_BLOCK, n_companies - first), seed=k)
            for name, frame in tables.items():
                frame = frame.copy()
                for column in frame.columns:
                    if pd.api.types.is_datetime64_any_dtype(frame[column]):
                        frame[column] = frame[column].dt.strftime("%Y-%m-%d")
                    elif len(blocks) > 1 and column in ("id", "source", "target", "entity"):
                        frame[column] = f"b{k}-" + frame[column].astype(object)
                table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
                table = table.cast(pa.schema([pa.field(f.name, pa.string() if pa.types.is_null(f.type) else f.type)
                                              for f in table.schema]))
                if name not in writers:
                    writers[name] = pq.ParquetWriter(folder / f"{name}.parquet", table.schema)
                writers[name].write_table(table.cast(writers[name].schema))
            del tables
    finally:
        for writer in writers.values():
            writer.close()


PIPELINE = ("generate", "load", "score", "whatif")


def run_pipeline(n_companies: int, folder: Path, args, *, until: float | None = None) -> dict:
    """generate -> load -> score -> what-if, each step a process of its own as a user runs it
    (``graphscore load`` streams the Parquet tables into a new store; ``score`` and ``whatif``
    start from the store, no disk cache), with its wall time and its own peak resident memory
    (``wait4``). A step over ``--max-rss`` or past ``until`` (a ``time.monotonic()`` deadline) is
    stopped, its whole process group killed, and the later steps are not run."""
    store, graphscore = folder / "store", [sys.executable, "-m", "graphscore"]
    row: dict = {"companies": n_companies}
    for step in PIPELINE:
        if step == "generate":
            command = [sys.executable, __file__, "--generate-child", str(n_companies), "--workdir", str(folder / "input")]
        elif step == "load":
            command = [*graphscore, "load", str(folder / "input"), "--db", str(store), "-q"]
        elif step == "score":
            command = [*graphscore, "score", "--policy", str(POLICY), "--as-of", AS_OF, "--db", str(store),
                       "--out", str(folder / "scores.parquet"), "-q"]
        else:
            import pyarrow.parquet as pq

            entity = pq.read_table(folder / "input" / "penalties.parquet", columns=["entity"]).column(0)[0].as_py()
            command = [*graphscore, "whatif", "--penalize", entity, "--policy", str(POLICY), "--as-of", AS_OF,
                       "--db", str(store), "--out", str(folder / "whatif"), "--format", "json", "-q"]
        print(f"  {step} ...", file=sys.stderr, flush=True)
        seconds, peak, stopped, disk = _step(command, args.max_rss, until, folder)
        row[f"{step} s"], row[f"{step} GB"], row[f"{step} disk GB"] = (None if stopped else seconds), peak, disk
        print(f"  {step}: {seconds:.1f} s, peak {peak:.2f} GB, disk {disk:.2f} GB{f' ({stopped})' if stopped else ''}",
              file=sys.stderr, flush=True)
        if step == "load" and not stopped:
            with LadybugStore(store, read_only=True) as opened:
                row["links"] = opened.counts()["links"]
            row["store GB"] = sum(f.stat().st_size for f in store.iterdir() if f.is_file()) / 2**30
        if stopped:
            row["stopped"] = f"{step}: {stopped}"
            break
    return row


def _disk_bytes(folder: Path) -> int:
    """Bytes the files under ``folder`` take on disk (allocated blocks: a sparse file counts what
    it holds), files vanishing meanwhile skipped."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def _step(command: list[str], max_rss: float, until: float | None, folder: Path
          ) -> tuple[float, float, str | None, float]:
    """Run one step in a new process group: seconds, its peak resident memory (GB), why it was
    stopped (None: it finished), and the most disk the pipeline's ``folder`` took meanwhile (GB:
    input, store, its copy during a write, the keys a streamed load keeps, the disk cache),
    sampled every half second."""
    started = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    stopped, disk = None, _disk_bytes(folder)
    try:
        while True:
            disk = max(disk, _disk_bytes(folder))
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if stopped is None and _rss_gb(child.pid) > max_rss:
                stopped = f"over {max_rss:g} GB"
            elif stopped is None and until is not None and time.monotonic() > until:
                stopped = "out of time"
            if stopped:  # the step's own process group: the command and anything it started
                os.killpg(child.pid, signal.SIGKILL)
            time.sleep(0.5)
    except BaseException:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        raise
    if not stopped and os.waitstatus_to_exitcode(status):
        sys.exit(f"{shlex.join(command)} failed (exit code {os.waitstatus_to_exitcode(status)})")
    return time.monotonic() - started, usage.ru_maxrss / 2**20, stopped, max(disk, _disk_bytes(folder)) / 2**30


def huge_estimate(args, until: float | None) -> tuple[dict, list[dict]]:
    """Each step's peak memory and time at 10^8 links, extrapolated in a straight line through
    the pipeline's rows at about 10^6 and 10^7 links (recorded, or run now): a step whose
    memory is bounded keeps its 10^7 figure, one that holds the registry grows tenfold; the
    generator's peak is that of one block (``HUGE_BLOCK`` companies, the 10^7 row's size)."""
    record = {}
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(RECORD.read_text())
    rows = record.get("pipeline")
    if not rows:
        rows = []
        for n in PIPELINE_SIZES:
            print(f"{n:,} companies (pipeline):", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory(prefix="graphscore-scale-", dir=args.tmp) as folder:
                rows.append(run_pipeline(n, Path(folder), args, until=until))
            if "stopped" in rows[-1]:
                sys.exit(f"--huge: the pipeline at {n:,} companies was stopped ({rows[-1]['stopped']}): no estimate")
        if not any("stopped" in row for row in rows):
            record["pipeline"] = rows
            RECORD.parent.mkdir(parents=True, exist_ok=True)
            RECORD.write_text(json.dumps(record, indent=1))
    else:
        print(f"pipeline rows recorded in {RECORD}", file=sys.stderr)
    small, large = rows
    grow = (HUGE_COMPANIES - large["companies"]) / (large["companies"] - small["companies"])
    estimate = {"companies": HUGE_COMPANIES, "links": large["links"] + grow * (large["links"] - small["links"])}
    for step in PIPELINE:
        for unit in ("s", "GB", "disk GB"):
            a, b = small.get(f"{step} {unit}"), large.get(f"{step} {unit}")
            if step == "generate" and unit == "GB" and large["companies"] >= HUGE_BLOCK:
                estimate[f"{step} {unit}"] = b  # written a block at a time: one block's peak
                continue
            estimate[f"{step} {unit}"] = None if a is None or b is None else b + grow * max(b - a, 0.0)
    estimate["store GB"] = large["store GB"] * HUGE_COMPANIES / large["companies"]
    return estimate, rows


def run_child(n_companies: int, args) -> dict:
    """Measure one size in a subprocess and return its row: the child's own peak memory
    (``ru_maxrss`` from ``wait4``), stopped, with the phases it finished, when its resident
    memory passes ``--max-rss`` or its time ``--timeout``."""
    command = [sys.executable, __file__, "--child", str(n_companies), "--explain-max", str(args.explain_max)]
    if args.profile:
        command += ["--profile", *args.profile]
    print(f"{n_companies:,} companies:", file=sys.stderr, flush=True)
    # The folder is made and removed here: a child stopped by SIGKILL cannot clean up.
    with tempfile.TemporaryDirectory(prefix="graphscore-scale-", dir=args.tmp) as folder:
        return _follow_child(n_companies, [*command, "--workdir", folder], args)


def _follow_child(n_companies: int, command: list[str], args) -> dict:
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    facts = {"seconds": {}, "peak_at": "start"}
    result, current = [], ["start"]

    def follow() -> None:  # echo the child's progress, and note what it finished
        for line in child.stderr:
            sys.stderr.write(line)
            if found := PHASE_DONE.match(line):
                facts["seconds"][found["phase"]] = float(found["seconds"])
                facts.setdefault("peaks", {})[found["phase"]] = float(found["peak"])
            elif found := PHASE_START.match(line):
                current[0] = found["phase"]
            elif found := LINKS.match(line):
                facts["links"] = int(found["links"])
    threads = [threading.Thread(target=follow, daemon=True),
               threading.Thread(target=lambda: result.extend(child.stdout), daemon=True)]
    for thread in threads:
        thread.start()
    started, stopped, stopped_at = time.monotonic(), None, None
    try:
        while True:  # wait4, not Popen.wait: it reports the child's own peak memory
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if stopped is None and _rss_gb(child.pid) > args.max_rss:
                stopped = f"stopped in {current[0]}: over {args.max_rss:g} GB"
            elif stopped is None and args.timeout and time.monotonic() - started > args.timeout:
                stopped = f"stopped in {current[0]}: over {args.timeout:g} s"
            if stopped:  # only the child this function started, by its own handle
                if stopped_at is None:
                    child.terminate()  # SIGTERM: a profiled phase prints its profile so far
                    stopped_at = time.monotonic()
                elif time.monotonic() - stopped_at > STOP_GRACE:
                    child.kill()
            time.sleep(0.5)
    except BaseException:  # interrupted ourselves: leave no child running
        child.kill()
        child.wait()
        raise
    child.returncode = os.waitstatus_to_exitcode(status)
    for thread in threads:
        thread.join()
    peak = usage.ru_maxrss / 2**20  # KiB on Linux
    if stopped:
        print(f"  {stopped}", file=sys.stderr, flush=True)
        facts["peak_at"] = stopped
    elif child.returncode:
        sys.exit(f"the run of {n_companies:,} companies failed (exit code {child.returncode}); see above")
    else:
        facts = json.loads(next(line for line in result if line.startswith(RESULT_MARK)).removeprefix(RESULT_MARK))
    return table_row(n_companies, facts, peak)


def _rss_gb(pid: int) -> float:
    """Resident memory of a running process, from /proc (0 once it has gone)."""
    with contextlib.suppress(OSError, StopIteration):
        with open(f"/proc/{pid}/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 2**20
    return 0.0


def measure_input(folder: Path, read_only: bool = False) -> dict:
    """In this process: a folder of tables from its files to validated tables, or a store's
    content read back as a command reads it (``store.read_content()``, the ``read-back`` phase).
    ``read_only``: the input's raw chunks as a streamed load reads them
    (:func:`graphscore.io.table_chunks`), each table's in turn, counted and dropped."""
    start = time.perf_counter()
    if read_only:
        from graphscore.io import table_chunks

        counts = {name: sum(len(chunk) for chunk in chunks) for name, chunks in table_chunks([folder]).items()}
        return {"seconds": time.perf_counter() - start, "counts": counts}
    if _is_store(folder):
        with LadybugStore(folder, read_only=True) as store:
            tables = StoredTables.in_memory(*store.read_content())
    else:
        tables = read_paths([folder])
    return {"seconds": time.perf_counter() - start, "counts": tables.counts()}


def _is_store(folder: Path) -> bool:
    return (folder / DATABASE_FILE).exists()


def run_input(folder: Path, read_only: bool = False) -> dict:
    """:func:`measure_input` in a subprocess of its own, its row with the subprocess's peak memory."""
    command = [sys.executable, __file__, "--input-child", str(folder), *(["--read-only"] if read_only else [])]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)  # wait4: the child's own peak memory
    except BaseException:
        child.kill()
        child.wait()
        raise
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"reading {folder} failed; see above")
    facts = json.loads(next(line for line in out.splitlines() if line.startswith(RESULT_MARK)).removeprefix(RESULT_MARK))
    if folder.is_file():  # an FtM or BODS file
        from graphscore.io.bods import is_bods

        kind, size = "BODS" if is_bods(folder) else "FtM", folder.stat().st_size
    else:
        kind = "store" if _is_store(folder) else "Parquet" if (folder / "entities.parquet").exists() else "CSV"
        size = sum(f.stat().st_size for f in folder.iterdir() if f.suffix in (".csv", ".parquet", ".lbug"))
    return {"folder": folder.name, "format": kind, "file MB": size / 2**20, "links": facts["counts"]["links"],
            "entities": facts["counts"]["entities"], "read s" if read_only else "read+validate s": facts["seconds"],
            "peak GB": usage.ru_maxrss / 2**20}


def machine_line(command: list[str]) -> str:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"command: python {shlex.join(command)}; machine: {os.cpu_count()} cores, {ram:.0f} GB RAM, "
            f"{platform.system()} {platform.machine()}; ladybug {ladybug.__version__}, pyarrow {pa.__version__}, "
            f"pandas {pd.__version__}, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES, help="companies per registry")
    parser.add_argument("--huge", action="store_true", help="10^8 links end to end (checks memory first)")
    parser.add_argument("--estimate-only", action="store_true",
                        help="with --huge: print the 10^8 estimate and its verdict, never run 10^8 links")
    parser.add_argument("--profile", metavar="PHASE", nargs="+", default=[],
                        help="run these phases under cProfile (e.g. load reload), top entries on stderr")
    parser.add_argument("--explain-max", type=int, default=EXPLAIN_MAX, metavar="COMPANIES",
                        help=f"largest registry to run explain and dossier on (default {EXPLAIN_MAX:,})")
    parser.add_argument("--max-rss", type=float, default=MAX_RSS_GB, metavar="GB",
                        help=f"stop a size whose resident memory passes this (default {MAX_RSS_GB:g})")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="stop a size that runs longer")
    parser.add_argument("--tmp", type=Path, help="folder for the stores and files (default: the system's)")
    parser.add_argument("--inputs", type=Path, nargs="+", metavar="DIR",
                        help="only read and validate these folders of tables (or FtM or BODS files), "
                             "each in its own process")
    parser.add_argument("--read-only", action="store_true",
                        help="with --inputs: only read the raw chunks a streamed load reads, none validated or kept")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--generate-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--input-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.generate_child:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gs.GraphscoreWarning)
            write_registry(args.generate_child, args.workdir)
        return
    if args.input_child:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gs.GraphscoreWarning)
            facts = measure_input(args.input_child, args.read_only)
        print(RESULT_MARK + json.dumps(facts), flush=True)
        return
    if args.inputs:
        print_table([run_input(folder, args.read_only) for folder in args.inputs])
        print(machine_line(sys.argv))
        return
    if args.child:
        def stop(signum, frame):  # raised between bytecodes, so the phase's profile is printed
            raise KeyboardInterrupt("stopped by the parent (time or memory limit)")
        signal.signal(signal.SIGTERM, stop)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gs.GraphscoreWarning)  # the generator's data warnings are expected
            facts = measure(args.child, args.workdir, args.profile, args.explain_max)
        print(RESULT_MARK + json.dumps(facts), flush=True)
        return

    def interrupt(signum, frame):  # SIGTERM as Ctrl-C: run_child then stops its child too
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    if args.huge:
        until = time.monotonic() + args.timeout if args.timeout else None  # the whole run, estimate included
        estimate, rows = huge_estimate(args, until)
        print_table([*rows, estimate])
        print("last row: the estimate at 10^8 links (a straight line through the two above)")
        over = [f"{step} {estimate[f'{step} GB']:.1f} GB" for step in PIPELINE
                if estimate[f"{step} GB"] is None or estimate[f"{step} GB"] > HUGE_LIMIT_GB]
        disk = shutil.disk_usage(args.tmp or tempfile.gettempdir()).free / 2**30
        # what the pipeline's folder held at its fullest, in each step (a score write-back on a
        # copy of the store holds two stores), not the store alone
        needed = max((estimate.get(f"{step} disk GB") or 0.0) for step in PIPELINE)
        if over or needed * 1.1 > disk:
            sys.exit(f"--huge refused: at 10^8 links the estimated peaks of {', '.join(over) or 'no step'} pass the "
                     f"{HUGE_LIMIT_GB:g} GB this machine can give a step; the store would take about "
                     f"{estimate['store GB']:.0f} GB, and its folder at its fullest (input, store, a write's copy, "
                     f"the disk cache) about {needed:.0f} GB, of the {disk:.0f} GB free")
        if args.estimate_only:
            sys.exit(f"--huge --estimate-only: 10^8 links would fit (folder at its fullest about {needed:.0f} GB of "
                     f"{disk:.0f} GB free); not run")
        with tempfile.TemporaryDirectory(prefix="graphscore-scale-", dir=args.tmp) as folder:
            print_table([run_pipeline(HUGE_COMPANIES, Path(folder), args, until=until)])
    else:
        print_table([run_child(n, args) for n in args.sizes])
    print(machine_line(sys.argv))


if __name__ == "__main__":
    main()
