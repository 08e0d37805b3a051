"""Benchmark: one what-if and one explanation per call on a warm workspace, against a full recompute,
and the forward push's reach per accuracy, on synthetic registries.

    python benchmarks/whatif.py [--sizes 20000 200000] [--sources 10] [--accuracies 1e-2 1e-3 1e-4 1e-6]
                                [--policies joint-punishment joint-punishment-categorical diffusion]

Per registry size (companies; 20,000, 200,000 and 2,000,000 make about 10^5, 10^6 and 10^7
links) and shipped policy, on a :class:`graphscore.Workspace` with the baseline run and what a
what-if and an explanation read prepared (``prepare_whatif``, ``prepare_explain``, as a server
does before it listens), the ``calls`` table gives:

- ``whatif ms``: median and largest time of one what-if (``lift_change`` then ``change_scores``,
  its default accuracy) over ``--sources`` penalties lifted at random (among those whose lift
  changes an own penalty), and ``hub ms`` the same
  for a new penalty on the entity whose penalty reaches the most others in one link;
- ``reached``: median and largest number of entities whose score moved;
- ``method``: how the what-ifs were computed (``local`` hop, ``push``, ``solve``), counted;
- ``err/bound``: largest error at any entity against a float64 reference (the model run over
  the whole graph on the changed penalties; under spread the change solved to 1e-15), over the
  bound the what-if stated (under hop, where the bound is 0, the largest error itself);
- ``recompute s``: one run of the model on the changed penalties over the whole registry (what a
  what-if would cost without the cache and the local method); ``ratio`` that over the median
  what-if;
- ``explain ms``: median and largest time of ``explain`` for the ``--explained`` highest-scored
  entities and as many scored entities drawn at random.

Then, under diffusion, the ``accuracy`` table: per accuracy (the change at every entity within
``accuracy`` x the lifted penalty, proven), the forward push alone
(:func:`graphscore.engine.push.push_column`, with the certificate, hub bound and work arrays a
what-if uses) for the same lifted penalties, its time over one
solve of the change, the share of entities it reached and its error over the accuracy
promised, against the float64 reference; and how many pushes gave up at the limits
:func:`graphscore.analysis.whatif.change_scores` sets (then a what-if solves instead).
Ratios from one run are the figures to quote: the machine is shared and absolute times vary.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

import graphscore as gs
from graphscore.policy import ModelName
from graphscore.analysis.explain import explain, prepare_explain
from graphscore.analysis.whatif import (_PUSH_BUDGET_SWEEPS, _PUSH_REACH, ACCURACY, change_scores, lift_change,
                                        penalize_change, prepare_whatif)
from graphscore.engine.push import push_column, work_arrays_of
from graphscore.engine.run import contraction_of, push_contraction_of, push_hubs_of, run_model
from graphscore.engine.spread import spread
from graphscore.synthetic import generate_network
from ratio_table import print_table  # benchmarks/ is the script's folder, so on sys.path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2024-06-30"


def timed(run):
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def reference_after(projection, policy, change) -> np.ndarray:
    """The scores after ``change`` by the float64 reference: the model over the whole graph on the
    changed penalties (under spread, the baseline plus the change solved to 1e-15)."""
    delta = change.delta_vector(projection.n)
    if policy.model is ModelName.SPREAD:
        halves = np.column_stack([np.clip(delta, 0, None), np.clip(-delta, 0, None)])
        solved = spread(projection.W, halves, damping=policy.damping, tol=1e-15,
                        certificate=contraction_of(projection, policy.damping))
        return solved[:, 0] - solved[:, 1]
    return run_model(projection, policy, np.clip(projection.s + delta, 0, None)).total


def measure_calls(ws, policy, size: int, sources: int, explained: int, accuracy: float) -> dict:
    projection = ws.projection(policy, AS_OF)
    prepare_whatif(ws, policy, AS_OF)
    prepare_explain(ws, policy, AS_OF)
    base = ws.baseline(policy, AS_OF).total
    rng = np.random.default_rng(0)
    active = projection.penalties[projection.penalties["weight"] > 0]
    # penalties whose lift changes an own penalty (under combine = "max" an entity's lighter
    # penalties change nothing), drawn at random
    lifted = list(itertools.islice((p for p in rng.permutation(active["id"].unique())
                                    if lift_change(projection, p).delta_s.any()), sources))
    hub = projection.ids[int(np.argmax(np.diff(projection.W_by_source.indptr)))]
    times, reached, methods, errors = [], [], {}, []
    changes = [lambda p=p: lift_change(projection, p) for p in lifted]
    changes.append(lambda: penalize_change(projection, hub, 1.0))
    for make in changes:
        seconds, (change, result) = timed(lambda: (lambda c: (c, change_scores(ws, policy, c, accuracy=accuracy)))(make()))
        times.append(seconds)
        reached.append(result.reached)
        methods[result.method] = methods.get(result.method, 0) + 1
        exact = reference_after(projection, policy, change)
        got = result.after - result.before if policy.model is ModelName.SPREAD else result.after
        error = float(np.abs(got - exact).max())
        errors.append(error / result.error if result.error else error)
    recompute, _ = timed(lambda: run_model(projection, policy, np.clip(projection.s + change.delta_vector(projection.n),
                                                                         0, None)))
    scored = np.flatnonzero(base > 0)
    targets = np.r_[np.argsort(-base)[:explained], rng.choice(scored, size=min(explained, scored.size), replace=False)]
    seconds_each = [timed(lambda t=t: explain(ws, policy, projection.ids[int(t)], as_of=AS_OF))[0] for t in targets]
    typical = statistics.median(times[:-1])
    return {"companies": size, "links": projection.W.nnz, "policy": policy.name,
            "whatif ms": 1e3 * typical, "max ms": 1e3 * max(times[:-1]), "hub ms": 1e3 * times[-1],
            "reached": int(statistics.median(reached[:-1])), "max": max(reached[:-1]), "hub": reached[-1],
            "method": " ".join(f"{k}:{v}" for k, v in methods.items()), "err/bound": max(errors),
            "recompute s": recompute, "ratio": recompute / typical,
            "explain ms": 1e3 * statistics.median(seconds_each), "max ms ": 1e3 * max(seconds_each)}


def measure_accuracies(ws, policy, size: int, sources: int, accuracies: list[float]) -> list[dict]:
    projection = ws.projection(policy, AS_OF)
    W, s, damping, n = projection.W, projection.s, policy.damping, projection.n
    by_source = projection.W_by_source
    certificate = contraction_of(projection, damping)
    pushing = push_contraction_of(projection, damping)  # what a what-if pushes with
    hubs = push_hubs_of(projection, damping)
    work = work_arrays_of(projection)
    chosen = np.random.default_rng(0).choice(np.flatnonzero(s > 0), size=sources, replace=False)
    rows, exact, solves = [], {}, []
    for u in chosen:  # the float64 reference change of each lift
        unit = np.zeros(n)
        unit[u] = s[u]
        exact[int(u)] = -spread(W, unit, damping=damping, tol=1e-15, certificate=certificate)
        solves.append(timed(lambda: spread(W, unit, damping=damping, tol=1e-10, certificate=certificate))[0])
    solve_time = statistics.median(solves)
    for accuracy in accuracies:
        ratios, times, reached, errors, gave_up = [], [], [], [], 0
        for u in exact:
            push_time, change = timed(lambda: push_column(by_source, u, -float(s[u]), damping=damping, tol=accuracy,
                                                          certificate=pushing, hubs=hubs, work=work))
            got = np.zeros(n)
            got[change.indices] = change.values
            times.append(push_time)
            reached.append(change.indices.size / n)
            errors.append(np.abs(got - exact[u]).max() / (accuracy * s[u]))
            gave_up += not push_column(by_source, u, -float(s[u]), damping=damping, tol=accuracy,
                                       certificate=pushing, hubs=hubs, work=work, budget=_PUSH_BUDGET_SWEEPS * W.nnz,
                                       reach=int(_PUSH_REACH * n)).complete
        rows.append({"companies": size, "policy": policy.name, "accuracy": accuracy,
                     "push ms": 1e3 * statistics.median(times), "max ms": 1e3 * max(times),
                     "push/solve": statistics.median(times) / solve_time,
                     "reached": statistics.median(reached), "max": max(reached),
                     "err/acc": max(errors), "gave up": f"{gave_up}/{len(exact)}"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000], help="companies per registry")
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--policies", nargs="+",
                        default=["joint-punishment", "joint-punishment-categorical", "diffusion"])
    parser.add_argument("--accuracies", type=float, nargs="*", default=[1e-2, 1e-3, 1e-4, 1e-6])
    parser.add_argument("--accuracy", type=float, default=ACCURACY, help="the what-ifs' accuracy (default: what-if's)")
    parser.add_argument("--explained", type=int, default=10, help="entities explained: as many highest-scored and random")
    args = parser.parse_args()
    calls, sweeps = [], []
    for size in args.sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", gs.GraphscoreWarning)
            ws = gs.Workspace(gs.validate(generate_network(size, seed=0)))
            for name in args.policies:
                policy = gs.load_policy(ROOT / "data" / "policies" / f"{name}.toml")
                calls.append(measure_calls(ws, policy, size, args.sources, args.explained, args.accuracy))
                if policy.model is ModelName.SPREAD and args.accuracies:
                    sweeps += measure_accuracies(ws, policy, size, args.sources, args.accuracies)
                print_table(calls[-1:])
        del ws
    print_table(calls)
    if sweeps:
        print()
        print_table(sweeps)


if __name__ == "__main__":
    main()
