"""Spillover report as JSON-ready data, Markdown and HTML (layout in :mod:`graphscore.report.render`).

Call these through :func:`graphscore.report.render.to_json`, ``to_markdown``, ``to_html`` and
``write_report``, which dispatch on the report's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from graphscore.analysis.spillover import SpilloverReport
from graphscore.report.markup import (CHART_TITLES, check_top, day, environment, md, md_charts, md_code, md_manifest,
                                      md_table, number, plain, svg_uri, records)

__all__ = ["JSON_FORMAT", "JSON_LISTED", "to_json", "to_markdown", "to_html"]

JSON_FORMAT = "graphscore.spillover/2"  # /2: "affected" lists the JSON_LISTED largest changes, "unlisted" sums the rest
# Entity rows the JSON lists: ten times what the HTML shows, and a few hundred KB of JSON; the
# figures over every entity reached are in "summary", "unlisted" and the by_* tables.
JSON_LISTED = 1_000

# Report attribute, its key column, heading, and the column its rows are sorted on (spillover._group).
_GROUPS = (("by_kind", "kind", "By entity kind", "entities"),
           ("by_link_type", "link_type", "By link type (last hop of the strongest path)", "entities"),
           ("by_hop", "hops", "By hop distance", "hops"))


def to_json(report: SpilloverReport) -> dict:
    """The report as JSON-ready data (layout in :mod:`graphscore.report.render`).

    Parameters
    ----------
    report : SpilloverReport

    Returns
    -------
    dict
        Only ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``, so
        ``json.dumps(..., allow_nan=False)`` accepts it.
    """
    shown, unlisted = report.listing(JSON_LISTED)
    return {
        "format": JSON_FORMAT,
        "title": report.title,
        "scenario": report.scenario,
        "threshold": plain(report.threshold),
        "manifest": plain(report.manifest),
        "summary": plain(report.summary()),
        "affected": records(shown),
        "unlisted": plain(unlisted),
        "collateral": records(report.collateral),
        "penalties": records(report.penalties),
        **{key: records(getattr(report, key)) for key, *_ in _GROUPS},
        "notes": [str(note) for note in report.notes],
    }


# ---- shared by Markdown and HTML --------------------------------------------------------------

def _reached(report: SpilloverReport, top: int) -> tuple[pd.DataFrame, int]:
    """The first ``top`` rows of the entities reached, and how many are reached. The sources'
    own change is the penalty itself; the tables rank who else it reaches, as summary() counts
    them. (The rows shown taken alone: a copy of every row reached took 0.07 s of each format
    for a change reaching 3 x 10^5 entities.)"""
    reached = np.flatnonzero(report.affected["hops"].to_numpy() > 0)
    return report.affected.iloc[reached[:top]], int(reached.size)


def _sources(report: SpilloverReport) -> pd.DataFrame:
    return report.affected[report.affected["hops"] == 0]


def _crossing(row: Mapping) -> str:
    return "rises above" if row["after"] >= row["before"] else "falls below"


# ---- Markdown -----------------------------------------------------------------------------------

def _md_entities(frame: pd.DataFrame) -> str:
    return md_table(["#", "Name", "Kind", "Change", "Hops", "Path"], (
        [str(rank), md(row["name"]), md(row["kind"]), number(row["change"], signed=True),
         str(row["hops"]), md_code(row["path"])]
        for rank, row in enumerate(frame.to_dict(orient="records"), start=1)))


def to_markdown(report: SpilloverReport, *, top: int = 50,
                charts: Mapping[str, str | Path] | None = None) -> str:
    """The report as Markdown (GitHub-flavoured tables).

    Parameters
    ----------
    report : SpilloverReport
    top : int
        Rows shown in the table of most affected entities and in the collateral list; the
        JSON lists more (:data:`JSON_LISTED`) and sums up the rest.
    charts : mapping of str to path, optional
        Chart images to link, keyed by stem as :func:`~graphscore.report.charts.save_charts`
        returns them; relative paths are written as given, so pass them relative to the
        Markdown file.

    Returns
    -------
    str
    """
    check_top(top)
    manifest, summary = report.manifest, report.summary()
    parts = [f"# {md(report.title)}", f"**Scenario:** {md(report.scenario)}",
             md_manifest(manifest, [manifest["policy"]])]

    sources = _sources(report)
    headline = [f"- Entities reached: **{summary['entities_affected']}**",
                f"- Total change in their scores: **{number(summary['total_change'], signed=True)}**",
                f"- Furthest reach: **{summary['max_hops']}** hop(s)",
                f"- Collateral (no own penalty, moved across the threshold {number(report.threshold)}):"
                f" **{summary['collateral']}**"]
    if len(sources):
        headline.append("- Source(s): " + ", ".join(
            f"{md(row['name'])} ({number(row['change'], signed=True)})"
            for row in sources.to_dict(orient="records")))
    parts += ["## Headline figures", "\n".join(headline)]
    if len(report.penalties):
        parts += [f"## Penalties behind this change ({len(report.penalties)})", md_table(
            ["penalty", "entity", "kind", "authority", "from", "to", "weight", "counted"],
            ([md(row["id"]), md(row["name"] or row["entity"]), md(row["kind"]), md(row["authority"] or ""),
              day(row["start"]), day(row["end"]), number(row["weight"]), "yes" if row["counted"] else "no"]
             for row in records(report.penalties.head(top))))]

    if charts:
        parts += ["## Charts", md_charts(charts)]

    shown, reached = _reached(report, top)
    if reached:
        parts += [f"## Most affected (top {min(top, reached)} of {reached})", _md_entities(shown)]
    else:
        parts += ["## Most affected", "No entity affected: the change reaches no entity beyond its source."]

    for key, column, heading, _ in _GROUPS:
        group = getattr(report, key)
        if len(group):
            rows = ([md(row[column]) if row[column] is not None else "not traced", str(row["entities"]),
                     number(row["total_change"], signed=True)] for row in records(group))
            parts += [f"## {heading}", md_table([column.replace("_", " "), "entities", "total change"], rows)]

    collateral = report.collateral
    parts.append(f"## Collateral ({len(collateral)})")
    if len(collateral):
        parts.append("\n".join(
            f"- {md(row['name'])} ({md(row['kind'])}): {number(row['before'])} → "
            f"{number(row['after'])}, {_crossing(row)} {number(report.threshold)}; "
            f"{row['hops']} hop(s){': ' + md_code(row['path']) if row['path'] else ''}"
            for row in collateral.head(top).to_dict(orient="records")))
        if len(collateral) > top:
            parts.append(f"… and {len(collateral) - top} more in the JSON report.")
    else:
        parts.append("No entity without an own penalty crosses the threshold.")

    if report.notes:
        parts += ["## Notes", "\n".join(f"- {md(note)}" for note in report.notes)]
    return "\n\n".join(parts) + "\n"


# ---- HTML ---------------------------------------------------------------------------------------

def to_html(report: SpilloverReport, *, top: int = 200, charts: Mapping[str, str] | None = None) -> str:
    """The report as one self-contained HTML page: inline CSS, charts as ``data:`` URIs, no
    script, font or stylesheet fetched from anywhere, so it opens offline.

    Parameters
    ----------
    report : SpilloverReport
    top : int
        Rows shown in the table of most affected entities and in the collateral table.
    charts : mapping of str to str, optional
        SVG text by stem, as :func:`~graphscore.report.charts.chart_svgs` returns them;
        drawn from the report when not given.

    Returns
    -------
    str
    """
    check_top(top)
    if charts is None:
        from graphscore.report.charts import chart_svgs  # networkx, only where a chart is drawn

        charts = chart_svgs(report)
    manifest = report.manifest
    shown, reached = _reached(report, top)
    collateral = records(report.collateral.head(top))
    for row in collateral:
        row["crossing"] = _crossing(row)
    return environment().get_template("spillover.html.j2").render(
        title=report.title,
        scenario=report.scenario,
        threshold=report.threshold,
        manifest=manifest,
        policies=[manifest["policy"]],
        summary=report.summary(),
        sources=records(_sources(report)),
        penalties=[{**row, "start": day(row["start"]), "end": day(row["end"])}
                   for row in records(report.penalties.head(top))],
        penalties_total=len(report.penalties),
        rows=records(shown),
        reached=reached,
        groups=[{"heading": heading, "label": column.replace("_", " "), "column": column,
                 "sorted_on": sorted_on, "rows": records(getattr(report, key))}
                for key, column, heading, sorted_on in _GROUPS],
        collateral=collateral,
        collateral_total=len(report.collateral),
        notes=[str(note) for note in report.notes],
        charts=[(CHART_TITLES.get(stem, stem), svg_uri(svg)) for stem, svg in charts.items()],
    )

