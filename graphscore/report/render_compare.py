"""Compare report as JSON-ready data, Markdown and HTML (layout in :mod:`graphscore.report.render`).

Call these through :func:`graphscore.report.render.to_json`, ``to_markdown``, ``to_html`` and
``write_report``, which dispatch on the report's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from graphscore.analysis.compare import CompareReport
from graphscore.report.markup import (CHART_TITLES, check_top, environment, md, md_charts, md_manifest, md_table,
                                      number, plain, svg_uri, records)

__all__ = ["JSON_FORMAT", "to_json", "to_markdown", "to_html"]

JSON_FORMAT = "graphscore.compare/1"

# Report attribute -> JSON key, in the order the layout documents them.
_TABLES = ("variants", "scores", "correlations", "rank_movers", "score_movers", "collateral",
           "collateral_by_kind", "collateral_by_hop")
_SCOPE_TEXT = {"all": "all entities", "nonzero": "entities with a non-zero score under either"}
# Beyond this many scored variants the pairs are shown as matrices, not one row per pair: a
# sweep of nine values has 36 pairs.
_PAIRS_AS_ROWS = 3


def to_json(report: CompareReport) -> dict:
    """The report as JSON-ready data (layout in :mod:`graphscore.report.render`).

    Returns
    -------
    dict
        Only ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``, so
        ``json.dumps(..., allow_nan=False)`` accepts it.
    """
    return {
        "format": JSON_FORMAT,
        "title": report.title,
        "parameter": report.parameter,
        "threshold": plain(report.threshold),
        "baseline": report.baseline,
        "manifest": plain(report.manifest),
        "manifests": plain(report.manifests),
        "summary": plain(report.summary()),
        **{key: records(getattr(report, key)) for key in _TABLES},
        "notes": [str(note) for note in report.notes],
    }


# ---- shared by Markdown and HTML --------------------------------------------------------------

def _subtitle(report: CompareReport) -> str:
    if report.parameter is None:
        return f"{len(report.variants)} policies scored on the same data at the same date"
    return f"{len(report.variants)} values of {report.parameter}: " + ", ".join(map(str, report.labels))


def _count(value) -> str:
    """A count in full (never ``1.234e+04``), a dash when missing."""
    return "—" if value is None else str(int(value))


def _pivot(table: pd.DataFrame, column: str, labels: list[str]) -> list[dict]:
    """Rows of ``{column: value, "counts": [one count per label]}`` from a long count table, in
    its order (an unreachable hop distance, ``None``, included)."""
    rows = records(table)
    keys = list(dict.fromkeys(row[column] for row in rows))
    counts = {(row[column], row["variant"]): row["entities"] for row in rows}
    return [{column: key, "counts": [counts.get((key, label), 0) for label in labels]} for key in keys]


def _correlation_matrices(report: CompareReport) -> list[dict]:
    """Per scope, ``{"scope", "over", "rows"}`` with rows ``{"label", "cells"}``: Spearman above
    the diagonal, Kendall tau-b below it, as text."""
    labels = report.scored
    matrices = []
    for scope, over in _SCOPE_TEXT.items():
        chosen = report.correlations[report.correlations["scope"] == scope]
        pairs = {(row["a"], row["b"]): row for row in records(chosen)}
        rows = []
        for i, a in enumerate(labels):
            cells = []
            for j, b in enumerate(labels):
                if i == j:
                    cells.append("·")
                else:
                    row = pairs[(a, b) if i < j else (b, a)]
                    cells.append(number(row["spearman"] if i < j else row["kendall_tau_b"]))
            rows.append({"label": a, "cells": cells})
        matrices.append({"scope": scope, "over": over, "rows": rows})
    return matrices


def _collateral_lists(report: CompareReport, top: int) -> list[dict]:
    lists = []
    for label in report.scored:
        rows = report.collateral[report.collateral["variant"] == label]
        lists.append({"label": label, "total": len(rows), "rows": records(rows.head(top))})
    return lists


def _threshold_text(report: CompareReport) -> str:
    if report.threshold is not None:
        return number(report.threshold)
    used = report.variants["threshold"].dropna().unique()
    return number(float(used[0])) if len(used) == 1 else "each policy's own threshold"


# ---- Markdown -----------------------------------------------------------------------------------

def _md_movers(frame: pd.DataFrame) -> str:
    return md_table(["Variant", "Name", "Kind", "Baseline score", "Variant score", "Change", "Rank", "Rank change"], (
        [md(row["variant"]), md(row["name"]), md(row["kind"]), number(row["baseline_score"]),
         number(row["variant_score"]), number(row["change"], signed=True),
         f"{row['baseline_rank']} → {row['variant_rank']}", f"{row['rank_change']:+d}" if row["rank_change"] else "0"]
        for row in records(frame)))


def to_markdown(report: CompareReport, *, top: int = 50, charts: Mapping[str, str | Path] | None = None) -> str:
    """The compare report as Markdown (GitHub-flavoured tables).

    Parameters
    ----------
    report : CompareReport
    top : int
        Collateral entities listed per variant; the JSON has them all. (Movers are already
        limited by the report's own ``top``.)
    charts : mapping of str to path, optional
        Chart images to link, keyed by stem, relative to the Markdown file.

    Returns
    -------
    str
    """
    check_top(top)
    summary = report.summary()
    labels = report.scored
    parts = [f"# {md(report.title)}", f"**Variants:** {md(_subtitle(report))}",
             md_manifest(report.manifest, report.manifest["policies"])]
    headline = [f"- Variants: **{summary['variants']}** ({summary['failed']} failed)",
                f"- Entities: **{summary['entities']}**",
                f"- Lowest rank correlation over all entities: Spearman **{number(summary['spearman_min'])}**, "
                f"Kendall tau-b **{number(summary['kendall_min'])}**",
                f"- Collateral (no own penalty, total at least {md(_threshold_text(report))}): "
                f"**{_count(summary['collateral_min'])}** to **{_count(summary['collateral_max'])}** entities"]
    parts += ["## Headline figures", "\n".join(headline)]

    parts += ["## Variants", md_table(
        ["Variant", "Policy", "Model", "Hash", "Status", "Threshold", "Penalised", "Reached", "Total inherited",
         "Mean inherited", "Collateral"],
        ([md(row["label"]), md(row["policy"]), md(row["model"]), f"`{row['hash']}`",
          "ok" if row["status"] == "ok" else f"failed: {md(row['error'])}", number(row["threshold"]),
          _count(row["penalised"]), _count(row["reached"]), number(row["total_inherited"]),
          number(row["mean_inherited"]), _count(row["collateral"])]
         for row in records(report.variants)))]
    if charts:
        parts += ["## Charts", md_charts(charts)]

    parts.append("## Rank correlation")
    if len(report.scored) > _PAIRS_AS_ROWS:
        parts.append("Spearman above the diagonal, Kendall tau-b below it.")
        for matrix in _correlation_matrices(report):
            parts += [f"Over {matrix['over']}:", md_table(["", *map(md, report.scored)], (
                [md(row["label"]), *row["cells"]] for row in matrix["rows"]))]
    elif len(report.correlations):
        parts.append(md_table(["A", "B", "Over", "Entities", "Spearman", "Kendall tau-b"], (
            [md(row["a"]), md(row["b"]), _SCOPE_TEXT[row["scope"]], str(row["entities"]),
             number(row["spearman"]), number(row["kendall_tau_b"])] for row in records(report.correlations))))
    else:
        parts.append("Fewer than two variants scored: nothing to correlate.")

    for key, heading in (("rank_movers", "by rank"), ("score_movers", "by score")):
        movers = getattr(report, key)
        parts.append(f"## Top movers {heading}, against {md(report.baseline or '—')}")
        parts.append(_md_movers(movers) if len(movers) else "No entity moves.")

    parts.append("## Collateral")
    for key, column in (("collateral_by_kind", "kind"), ("collateral_by_hop", "hops")):
        rows = _pivot(getattr(report, key), column, labels)
        if rows:
            parts.append(md_table([f"by {column}", *map(md, labels)], (
                [md(row[column]) if row[column] is not None else "unreachable", *map(str, row["counts"])]
                for row in rows)))
    for listing in _collateral_lists(report, top):
        parts.append(f"### {md(listing['label'])} ({listing['total']})")
        if listing["rows"]:
            parts.append(md_table(["Name", "Kind", "Total", "Inherited", "Hops"], (
                [md(row["name"]), md(row["kind"]), number(row["total"]), number(row["inherited"]),
                 _count(row["hops"])] for row in listing["rows"])))
            if listing["total"] > top:
                parts.append(f"… and {listing['total'] - top} more in the JSON report.")
        else:
            parts.append("No entity without an own penalty reaches the threshold.")

    if report.notes:
        parts += ["## Notes", "\n".join(f"- {md(note)}" for note in report.notes)]
    return "\n\n".join(parts) + "\n"


# ---- HTML ---------------------------------------------------------------------------------------

def to_html(report: CompareReport, *, top: int = 200, charts: Mapping[str, str] | None = None) -> str:
    """The compare report as one self-contained HTML page (as the spillover page: inline CSS,
    charts as ``data:`` URIs, nothing fetched).

    Parameters
    ----------
    report : CompareReport
    top : int
        Collateral entities listed per variant.
    charts : mapping of str to str, optional
        SVG text by stem, as :func:`~graphscore.report.charts.chart_svgs` returns them; drawn
        from the report when not given.

    Returns
    -------
    str
    """
    check_top(top)
    if charts is None:
        from graphscore.report.charts import chart_svgs  # networkx, only where a chart is drawn

        charts = chart_svgs(report)
    labels = report.scored
    return environment().get_template("compare.html.j2").render(
        title=report.title,
        subtitle=_subtitle(report),
        manifest=report.manifest,
        policies=report.manifest["policies"],
        parameter=report.parameter,
        baseline=report.baseline,
        threshold=_threshold_text(report),
        summary=report.summary(),
        variants=records(report.variants),
        charts=[(CHART_TITLES.get(stem, stem), svg_uri(svg)) for stem, svg in charts.items()],
        correlations=[{**row, "over": _SCOPE_TEXT[row["scope"]]} for row in records(report.correlations)],
        matrices=_correlation_matrices(report) if len(labels) > _PAIRS_AS_ROWS else [],
        rank_movers=records(report.rank_movers),
        score_movers=records(report.score_movers),
        labels=labels,
        by_kind=_pivot(report.collateral_by_kind, "kind", labels),
        by_hop=_pivot(report.collateral_by_hop, "hops", labels),
        collateral=_collateral_lists(report, top),
        notes=[str(note) for note in report.notes],
    )
