"""Benchmark: the charts of one entity's dossier and spillover report, alone, in one process.

    PYTHONPATH=TREE python benchmarks/report_charts.py --db DB [--policy P] [--as-of D] ENTITY

Builds both reports from the store ``DB`` (untimed), then times, in CPU (user + system of this
process) and wall seconds, the import of ``graphscore.report.charts`` (and of whatever chart
library it loads) and the drawing of each report's charts to file contents: ``chart_svgs`` where
the code on ``PYTHONPATH`` has it, ``chart_pngs`` (matplotlib) where it is older. Run it with each
version's tree first on ``PYTHONPATH``, alternated, to compare them in one run.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings


def cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entity")
    parser.add_argument("--db", required=True)
    parser.add_argument("--policy", default="data/policies/diffusion.toml")
    parser.add_argument("--as-of", default="2024-06-30")
    args = parser.parse_args()
    from graphscore.analysis.dossier import dossier
    from graphscore.analysis.spillover import spillover
    from graphscore.policy import load_policy
    from graphscore.workspace import open_workspace

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an older store's schema: said once by the commands
        workspace, policy = open_workspace(args.db), load_policy(args.policy)
        reports = {"dossier": dossier(workspace, policy, args.entity, as_of=args.as_of),
                   "spillover": spillover(workspace, policy, entity=args.entity, as_of=args.as_of)}
    started, wall = cpu(), time.perf_counter()
    import graphscore.report.charts as charts

    draw = getattr(charts, "chart_svgs", None) or getattr(charts, "chart_pngs")
    line = [f"{draw.__name__}: import {cpu() - started:.2f} s CPU ({time.perf_counter() - wall:.2f} wall)"]
    for kind, report in reports.items():
        started, wall = cpu(), time.perf_counter()
        files = draw(report)
        line.append(f"{kind} {cpu() - started:.2f} s CPU ({time.perf_counter() - wall:.2f} wall, "
                    f"{sum(len(content) for content in files.values())} bytes)")
    print("; ".join(line))


if __name__ == "__main__":
    main()
