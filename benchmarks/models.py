"""Benchmark: hop, DebtRank, the ownership rules and the cascade on synthetic registries, each beside a bare SpMV.

    python benchmarks/models.py [--sizes 20000 200000] [--cascade-runs 1024] [--check-max 20000]
                                [--only NAME ...] [--profile NAME ...]

``--sizes`` counts companies: :func:`graphscore.synthetic.generate_network` (seed 0) makes about
five links per company, so 20,000, 200,000 and 2,000,000 give about 10^5, 10^6 and 10^7 links.
Each size runs in its own subprocess; the registry is generated once per size, the links' ends
found as entity rows (a workspace keeps them with its cached tables) and the links in force at
2024-06-30 (once per process and table: :func:`graphscore.engine.matrix.link_timeline`), both
timed on stderr, then each shipped policy is projected and run in turn at that date, one row each:

- ``project s``: :func:`graphscore.build_projection` (``W``, ``s``); the ownership rules' bounds
  (``missing_share = "bounds"``) are two projections and two runs in ``graphscore score``, here
  the low end only;
- ``run s``: :func:`graphscore.engine.run.run_model` on it (for the ownership rules this includes
  making the stake and control matrices ``D`` and ``C`` of the projection, its first call);
- ``links/s``: the registry's links over ``run s`` (the cascade: links x runs over ``run s``);
- ``SpMV s``: the reference, one bare scipy product of the model's matrix with a vector
  (``W @ x``; the ownership rules: ``D.T @ x``, the product a round of their fixpoint makes),
  median of five, in the same process; ``run/SpMV``: how many such products the run costs
  (the cascade: per run);
- ``steps``: the products a plain loop needs (hops, DebtRank steps); ``-`` where not known;
- ``table s``: for the ownership rules, :func:`graphscore.analysis.ownership.flagged_entities`
  on a new workspace (what ``graphscore ownership --rule`` computes: both ends of the stake
  bands projected and run, then the table of flagged entities with their stakes and owners);
- ``extra GB``: the most resident memory the projection and the run (and the table) added above what the
  process held before them (sampled every 5 ms), and ``peak GB`` the process's peak so far;
- ``max |diff|``: up to ``--check-max`` companies, the largest difference from an independent
  implementation written here (pure-Python loops over the links, transcribing each model's
  definition: the walk sums and maxima of hop, the paper's DebtRank steps, the OFAC and EU
  rounds), 0 where they agree exactly; for the cascade, a Monte Carlo of its own (one live-edge
  world per run sampled with NumPy, reach by ``scipy.sparse.csgraph``), reported as the largest
  difference over its 5-sigma tolerance (below 1 agrees; 5 sigma, as the largest of some 10^5 entities is compared).

``--memory`` prints instead what the engine holds under the shipped diffusion policy (the spread
model) after a score, a what-if and an explanation on one :class:`graphscore.Workspace` (the
penalised company with the largest own weight penalised again, then explained), per component,
in bytes per link of the registry (``links``, the links table's rows; W has about 1.56 entries a
link under diffusion): the arrays actually held, found by walking the projection, its
``derived`` values, the workspace's runs and what :mod:`graphscore.engine.matrix` keeps per links
table, each buffer counted once (a view shares its base's); the tables themselves (the store's
copy) are not counted. Two cross-checks: ``traced growth``, what the steps allocated and still
hold by :mod:`tracemalloc` (numpy reports its buffers to it; Arrow's are not seen), and ``RSS
growth``, the process's resident memory over the same steps (after ``malloc_trim``), both from
before the workspace was made. ``--precision float32`` runs the same with the policy's
``precision = "float32"`` (W's values in float32, :mod:`graphscore.engine.precision`), and
prints on stderr the bound the scores state beside their largest distance from the float64
answer (solved to 1e-15), after the table's measurements.

``--profile NAME`` runs that policy under cProfile (projection, run and table) and prints its top
entries on stderr. Times
are of one run on a shared 2-core machine: quote ratios from one run.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy as sp

import graphscore as gs
from graphscore.analysis.ownership import flagged_entities
from graphscore.engine.matrix import build_projection, link_ends, link_timeline, ownership_matrices
from graphscore.engine.run import run_model
from graphscore.engine.spread import spread
from graphscore.policy import Precision
from graphscore.synthetic import generate_network
from ratio_table import print_table  # benchmarks/ is the script's folder, so on sys.path

POLICIES = Path(__file__).resolve().parent.parent / "data" / "policies"
AS_OF = "2024-06-30"
MODELS = {"hop-sum": "joint-punishment.toml", "hop-max": "joint-punishment-categorical.toml",
          "debtrank": "debtrank.toml", "ofac": "ofac-50.toml", "eu": "eu-owned-controlled.toml",
          "uk": "uk-owned-controlled.toml", "cascade": "cascade.toml"}


def _rss_gb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class _Sampler:
    """The most resident memory seen while the block runs, sampled every 5 ms."""

    def __enter__(self):
        self.top, self._stop = _rss_gb(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.005):
            self.top = max(self.top, _rss_gb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.top = max(self.top, _rss_gb())


def _spmv_seconds(M: sp.sparse.csr_array) -> float:
    x = np.random.default_rng(0).random(M.shape[1])
    times = []
    for _ in range(5):
        start = time.perf_counter()
        M @ x
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _edges(W) -> tuple[list[int], list[int], list[float]]:
    coo = sp.sparse.coo_array(W)  # (v, u, weight): u's penalty reaches v
    return coo.col.tolist(), coo.row.tolist(), coo.data.tolist()


def _hop_reference(W, s, damping: float, max_hops: int, aggregate: str) -> np.ndarray:
    """Hop by its definition, a loop over the links: the walks of at most ``max_hops`` links,
    their strengths summed or the strongest kept."""
    sources, targets, weights = _edges(W)
    x, term = list(map(float, s)), list(map(float, s))
    for _ in range(max_hops):
        following = [0.0] * len(x)
        for u, v, w in zip(sources, targets, weights):
            reached = damping * w * term[u]
            following[v] = following[v] + reached if aggregate == "sum" else max(following[v], reached)
        term = following
        x = [a + b for a, b in zip(x, term)] if aggregate == "sum" else [max(a, b) for a, b in zip(x, term)]
    return np.array(x)


def _debtrank_reference(W, h0) -> np.ndarray:
    """Battiston et al. (2012), the original variant, as its steps read, over the links."""
    sources, targets, weights = _edges(W)
    impact = defaultdict(float)
    for u, v, w in zip(sources, targets, weights):
        impact[u, v] += w
    h, state = list(map(float, h0)), ["D" if value > 0 else "U" for value in h0]
    while "D" in state:
        added = [0.0] * len(h)
        for (u, v), w in impact.items():
            if state[u] == "D":
                added[v] += min(1.0, w) * h[u]
        h = [min(1.0, a + b) for a, b in zip(h, added)]
        state = ["I" if st == "D" else ("D" if st == "U" and value > 0 else st) for st, value in zip(state, h)]
    return np.array(h)


def _fixpoint_reference(D, C, seeds, threshold: float, inclusive: bool) -> np.ndarray:
    """The OFAC / EU rounds: blocked owners' direct stakes summed per asset (and, with ``C``,
    control by a blocked party), until nothing changes."""
    coo = sp.sparse.coo_array(D)
    owners = defaultdict(list)
    for o, a, share in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()):
        owners[a].append((o, share))
    controllers = defaultdict(list)
    if C is not None:
        for c, a in zip(*sp.sparse.coo_array(C).coords):
            controllers[int(a)].append(int(c))
    blocked = set(np.flatnonzero(seeds).tolist())
    while True:
        grown = set(blocked)
        for asset in set(owners) | set(controllers):
            held = sum(share for o, share in owners[asset] if o in blocked)
            enough = held >= threshold - 1e-9 if inclusive else held > threshold + 1e-9
            if enough or any(c in blocked for c in controllers[asset]):
                grown.add(asset)
        if grown == blocked:
            mask = np.zeros(len(seeds), dtype=bool)
            mask[list(blocked)] = True
            return mask
        blocked = grown


def _cascade_reference(W, seeds, runs: int, seed: int) -> np.ndarray:
    """Live-edge worlds (Kempe et al. 2003, Claim 2.3), one per run, drawn with NumPy, reach
    from the seeds by scipy's breadth-first search through an extra root joined to them."""
    links = sp.sparse.coo_array(W)  # (v, u): u activates v with probability min(1, W[v, u])
    n, rng = W.shape[0], np.random.default_rng(seed)
    probability = np.minimum(links.data, 1.0)
    root_links = np.flatnonzero(seeds)
    counts = np.zeros(n + 1)
    for _ in range(runs):
        live = rng.random(probability.size) < probability
        graph = sp.sparse.csr_array((np.ones(live.sum() + root_links.size),
                                     (np.r_[links.col[live], np.full(root_links.size, n)],
                                      np.r_[links.row[live], root_links])), shape=(n + 1, n + 1))
        counts[sp.sparse.csgraph.breadth_first_order(graph, n, return_predecessors=False)] += 1
    return counts[:n] / runs


def _check(name, policy, projection, run, cascade_runs: int) -> float:
    """Largest difference from the independent implementation (the cascade: in units of its tolerance)."""
    s = projection.s
    if name.startswith("hop"):
        expected = _hop_reference(projection.W, s, policy.damping, policy.max_hops, policy.aggregate.value)
        return float(np.abs(run.total - expected).max())
    if name == "debtrank":
        return float(np.abs(run.total - _debtrank_reference(projection.W, np.clip(s, 0, 1))).max())
    if name in ("ofac", "eu"):
        D, C = ownership_matrices(projection)
        inclusive = True if name == "ofac" else policy.eu_inclusive_at(projection.as_of.date())
        expected = _fixpoint_reference(D, C if name == "eu" else None, s > 0, policy.stake_limit, inclusive)
        return float(np.abs(run.total - expected).max())
    if name == "cascade":
        reference = _cascade_reference(projection.W, s > 0, cascade_runs, 1)
        p = (run.total + reference) / 2
        sigma = np.sqrt(np.maximum(p * (1 - p), 1 / cascade_runs) * 2 / cascade_runs)
        return float((np.abs(run.total - reference) / (5 * sigma)).max())
    return None  # UK: its engine is already a search per designated person; checked in tests/


def run_size(companies: int, names: list[str], cascade_runs: int, check_max: int, profile: list[str]) -> list[dict]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(companies, seed=0))
    print(f"{companies} companies: generated and validated in {time.perf_counter() - start:.1f} s, "
          f"peak {_peak_gb():.2f} GB", file=sys.stderr, flush=True)
    # What a workspace's cached tables carry (the links' ends as entity rows), and what every
    # process pays once for its first projection (the links' timeline), timed apart from the models.
    start = time.perf_counter()
    link_ends(tables.links, tables.entities)
    ends_s = time.perf_counter() - start
    link_timeline(tables.links, tables.entities).in_force(pd.Timestamp(AS_OF))
    print(f"link ends {ends_s:.2f} s (kept with a workspace's cached tables), timeline and links in force "
          f"{time.perf_counter() - start - ends_s:.2f} s (once per process)", file=sys.stderr, flush=True)
    with warnings.catch_warnings():  # compiled kernels loaded (or compiled) outside the timings
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        small = gs.validate(generate_network(200, seed=0))
    for name in names:
        run_model(build_projection(small, gs.load_policy(POLICIES / MODELS[name]), AS_OF), gs.load_policy(POLICIES / MODELS[name]))
    rows = []
    for name in names:
        policy = gs.load_policy(POLICIES / MODELS[name])
        if name == "cascade":
            policy = dataclasses.replace(policy, runs=cascade_runs)
        gc.collect()
        profiler = cProfile.Profile() if name in profile else None
        with _Sampler() as memory:
            before = memory.top
            if profiler:
                profiler.enable()
            t0 = time.perf_counter()
            projection = build_projection(tables, policy, AS_OF)
            t1 = time.perf_counter()
            run = run_model(projection, policy)
            t2 = time.perf_counter()
            if profiler:
                profiler.disable()
        matrix = ownership_matrices(projection)[0].T.tocsr() if policy.model.is_ownership else projection.W
        spmv = _spmv_seconds(matrix)
        runs = cascade_runs if name == "cascade" else 1
        steps = {"hop-sum": policy.max_hops, "hop-max": policy.max_hops}.get(name)
        if name == "debtrank":
            from graphscore.engine.debtrank import debtrank
            steps = debtrank(projection.W, np.clip(projection.s, 0, 1), max_steps=None).steps
        table_s = None
        if policy.model.is_ownership:  # the table `graphscore ownership --rule` prints, on a new workspace
            with _Sampler() as table_memory:
                if profiler:
                    profiler.enable()
                t3 = time.perf_counter()
                flagged_entities(gs.Workspace(tables), name, as_of=AS_OF)
                table_s = time.perf_counter() - t3
                if profiler:
                    profiler.disable()
            memory.top = max(memory.top, table_memory.top)
        if profiler:  # the projection, the run and (ownership rules) the table
            print(f"--- {name} at {companies} companies", file=sys.stderr)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        rows.append({"links": len(tables.links), "model": name, "W nnz": int(matrix.nnz),
                     "runs": runs, "project s": t1 - t0, "run s": t2 - t1,
                     "links/s": len(tables.links) * runs / (t2 - t1), "SpMV s": spmv,
                     "run/SpMV": (t2 - t1) / runs / spmv, "steps": steps, "table s": table_s,
                     "flagged": int((run.total > 0).sum()) if policy.model.is_ownership else None,
                     "extra GB": memory.top - before, "peak GB": _peak_gb(),
                     "max |diff|": _check(name, policy, projection, run, cascade_runs) if companies <= check_max else None})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        del projection, run, matrix
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--cascade-runs", type=int, default=1024)
    parser.add_argument("--check-max", type=int, default=20_000,
                        help="largest size (companies) checked against the independent implementations")
    parser.add_argument("--only", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--profile", nargs="*", choices=list(MODELS), default=[])
    parser.add_argument("--memory", action="store_true", help="what the engine holds under diffusion, by component")
    parser.add_argument("--precision", choices=[p.value for p in Precision], default="float64",
                        help="with --memory: the diffusion policy's precision")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one and args.memory:
        print(json.dumps(memory_size(args.one, args.precision)))
        return
    if args.memory:
        rows = []
        for companies in args.sizes:
            command = [sys.executable, __file__, "--one", str(companies), "--memory", "--precision", args.precision]
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
            rows.extend(json.loads(done.stdout.strip().splitlines()[-1]))
        print_table(rows)
        return
    if args.one:
        print(json.dumps(run_size(args.one, args.only, args.cascade_runs, args.check_max, args.profile)))
        return
    rows = []
    for companies in args.sizes:
        done = subprocess.run([sys.executable, __file__, "--one", str(companies), "--only", *args.only,
                               "--cascade-runs", str(args.cascade_runs), "--check-max", str(args.check_max),
                               "--profile", *args.profile], stdout=subprocess.PIPE, text=True, check=True)
        rows.extend(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print_table(rows)


def _buffers(value, seen: set, depth: int = 0) -> int:
    """Bytes of the buffers reachable from ``value`` not counted before (``seen``: their
    addresses): numpy arrays (a view counted as its base), sparse arrays, Arrow arrays, frames,
    and the containers and objects holding them."""
    if depth > 8 or value is None or isinstance(value, (str, bytes, int, float, bool, np.generic)):
        return 0
    if isinstance(value, np.ndarray):
        while isinstance(value.base, np.ndarray):
            value = value.base
        key = ("numpy", value.__array_interface__["data"][0])
        if key in seen:
            return 0
        seen.add(key)
        return value.nbytes  # an object column's pointers; what they point to is the tables'

    if isinstance(value, sp.sparse.sparray):
        return sum(_buffers(getattr(value, part), seen, depth + 1) for part in ("data", "indices", "indptr"))
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        chunks = value.chunks if isinstance(value, pa.ChunkedArray) else [value]
        total = 0
        for chunk in chunks:
            for buffer in chunk.buffers():
                if buffer is not None and ("arrow", buffer.address) not in seen:
                    seen.add(("arrow", buffer.address))
                    total += buffer.size
        return total
    if isinstance(value, pd.DataFrame):
        return sum(_buffers(value[column].to_numpy(), seen, depth + 1) for column in value.columns)
    if isinstance(value, pd.Index):
        return _buffers(value.to_numpy(), seen, depth + 1)
    if isinstance(value, dict):
        return sum(_buffers(item, seen, depth + 1) for item in value.values())
    if isinstance(value, (tuple, list)):
        return sum(_buffers(item, seen, depth + 1) for item in value)
    if dataclasses.is_dataclass(value) or hasattr(value, "__dict__"):
        return sum(_buffers(item, seen, depth + 1) for item in vars(value).values())
    return 0


def _held(ws, projection) -> dict[str, int]:
    """Bytes the engine holds, by component, each buffer counted once in the first component
    that reaches it (the tables' own buffers counted first and left out: the store's copy)."""
    from graphscore.engine import matrix

    seen: set = set()
    for name in ("entities", "links", "penalties"):  # the store's copy: not the engine's
        _buffers(getattr(ws.tables, name), seen)
    derived = dict(projection.derived)
    W, columns = projection.W, projection.__dict__.get("W_by_source")
    take = lambda *keys: {key: derived.pop(key) for key in list(derived) if key[0] in keys}  # noqa: E731
    components = {
        "W data": W.data, "W indices": W.indices, "W indptr": W.indptr,
        "W by source": columns,
        "vectors": [projection.s, projection.values, take("contraction", "return bound"), ws._runs, ws._echoes],
        "penalties": [projection.penalties, take("penalty index")],
        "path lengths": take("path lengths"),
        "push work arrays": take("push work arrays"),
        "per-edge tables": {key: derived.pop(key) for key in ("edges", "pair types") if key in derived},
        "per links table": [value for key, value in matrix._KEPT.items()
                            if any(id(table) in key for table in (ws.tables.links, ws.tables.entities,
                                                                  ws.tables.penalties))] + [ws.__dict__.get("_links_by_end")],
        "other derived": derived,
    }
    return {name: _buffers(value, seen) for name, value in components.items()}


def _live_gb() -> float:
    """Resident memory once the garbage is collected and glibc has given freed heap pages back
    (without the trim, pages freed since the last step stay resident and the growth reads low or
    negative)."""
    import ctypes

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _rss_gb()


def memory_size(companies: int, precision: str) -> list[dict]:
    """What a workspace holds after a score, a what-if and an explanation under diffusion."""
    from graphscore.analysis.explain import explain
    from graphscore.analysis.whatif import change_scores, penalize_change

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        small = gs.validate(generate_network(200, seed=0))
        tables = gs.validate(generate_network(companies, seed=0))
    policy = dataclasses.replace(gs.load_policy(POLICIES / "diffusion.toml"), precision=Precision(precision))
    for warm in (small,):  # compiled kernels loaded outside the measurement
        projection = gs.Workspace(warm).projection(policy, AS_OF)
        entity = projection.ids[int(np.argmax(projection.s))]
        change_scores(gs.Workspace(warm), policy, penalize_change(projection, entity))
        explain(gs.Workspace(warm), policy, entity, as_of=AS_OF)
    del projection
    links = len(tables.links)
    rss0 = _live_gb()
    tracemalloc.start()  # numpy reports its buffers to it: what the steps allocated and still hold
    ws = gs.Workspace(tables)
    steps = {}
    ws.baseline(policy, AS_OF)
    projection = ws.projection(policy, AS_OF)
    steps["score"] = (_held(ws, projection), _live_gb() - rss0, tracemalloc.get_traced_memory()[0])
    companies_ = tables.entities["kind"].to_numpy() == "company"
    entity = projection.ids[int(np.argmax(np.where(companies_, projection.s, -1.0)))]
    change_scores(ws, policy, penalize_change(projection, entity))
    steps["what-if"] = (_held(ws, projection), _live_gb() - rss0, tracemalloc.get_traced_memory()[0])
    explain(ws, policy, entity, as_of=AS_OF)
    steps["explain"] = (_held(ws, projection), _live_gb() - rss0, tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    if precision == "float32":  # the stated bound beside the distance from the float64 answer, solved to 1e-15
        run, exact = ws.baseline(policy, AS_OF), build_projection(tables, gs.load_policy(POLICIES / "diffusion.toml"), AS_OF)
        reference = spread(exact.W, exact.s, damping=policy.damping, tol=1e-15)
        print(f"{links} links, float32: largest score {reference.max():.4g}, stated bound {run.attrs['error_bound']:.3g}, "
              f"largest distance from float64 {np.abs(run.total - reference).max():.3g}", file=sys.stderr)
    rows = []
    for component in steps["score"][0]:
        rows.append({"links": links, "W nnz": projection.W.nnz, "W values": precision, "component": component,
                     **{f"{step} B/link": held[component] / links for step, (held, _, _) in steps.items()},
                     "MB": steps["explain"][0][component] / 2**20})
    rows.append({"links": links, "W nnz": projection.W.nnz, "W values": precision, "component": "total",
                 **{f"{step} B/link": sum(held.values()) / links for step, (held, _, _) in steps.items()},
                 "MB": sum(steps["explain"][0].values()) / 2**20})
    rows.append({"links": links, "W nnz": projection.W.nnz, "W values": precision, "component": "traced growth",
                 **{f"{step} B/link": traced / links for step, (_, _, traced) in steps.items()},
                 "MB": steps["explain"][2] / 2**20})
    rows.append({"links": links, "W nnz": projection.W.nnz, "W values": precision, "component": "RSS growth",
                 **{f"{step} B/link": rss * 2**30 / links for step, (_, rss, _) in steps.items()},
                 "MB": steps["explain"][1] * 2**10})
    return rows


if __name__ == "__main__":
    main()
