"""Dossier as JSON-ready data, Markdown and HTML (layout in :mod:`graphscore.report.render`).

Call these through :func:`graphscore.report.render.to_json`, ``to_markdown``, ``to_html`` and
``write_report``, which dispatch on the report's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from graphscore.analysis.dossier import Dossier
from graphscore.report.markup import (CHART_TITLES, check_top, day, environment, md, md_charts, md_code, md_manifest,
                                      md_table, number, percent, plain, svg_uri, records)

__all__ = ["JSON_FORMAT", "to_json", "to_markdown", "to_html"]

JSON_FORMAT = "graphscore.dossier/1"

# Entity fields the header names, with their labels (the id is shown apart).
_IDENTITY = (("kind", "Kind"), ("jurisdiction", "Jurisdiction"), ("registration_id", "Registration id"),
             ("address", "Address"), ("source_ref", "Source"))


def _title(report: Dossier) -> str:
    return f"Dossier: {report.entity.get('name') or report.entity['id']}"


def _own_returned(report: Dossier) -> float | None:
    """The entity's own penalty returning to it around cycles of links (company -> its
    representative -> the company): the score's ``echo`` (:mod:`graphscore.engine.echo`); None
    where the model's scores do not split by source, so the exposure table cannot list them.
    """
    definition = report.manifest["policy"]["definition"]
    linear = definition["model"] == "spread" or (definition["model"] == "hop" and definition["aggregate"] == "sum")
    return report.score["echo"] if linear else None


def _penalties(report: Dossier) -> pd.DataFrame:
    """Active penalties first, then the others, each newest first (the dossier's order)."""
    return report.penalties.sort_values("active", ascending=False, kind="stable", ignore_index=True)


def _owners(report: Dossier) -> pd.DataFrame:
    """Largest stake first; owners whose share is not recorded last."""
    return report.owners.sort_values("share", ascending=False, kind="stable", na_position="last",
                                     ignore_index=True)


def _neighbourhood(report: Dossier) -> dict:
    graph = report.neighbourhood
    return {
        "entities": [{"id": node, "name": data.get("name"), "kind": data.get("kind"),
                      "penalised": bool(data.get("penalised"))} for node, data in graph.nodes(data=True)],
        "links": [{"source": u, "target": v, "type": data.get("type"), "role": data.get("role"),
                   "share": data.get("share")} for u, v, data in graph.edges(data=True)],
    }


def to_json(report: Dossier) -> dict:
    """The dossier as JSON-ready data (layout in :mod:`graphscore.report.render`).

    Parameters
    ----------
    report : Dossier

    Returns
    -------
    dict
        Only ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``, so
        ``json.dumps(..., allow_nan=False)`` accepts it.
    """
    return {
        "format": JSON_FORMAT,
        "title": _title(report),
        "entity": plain(report.entity),
        "score": plain(report.score),
        "manifest": plain(report.manifest),
        "penalties": records(_penalties(report)),
        "exposure": records(report.exposure),
        "owners": records(_owners(report)),
        "ultimate_owners": records(report.ultimate_owners),
        "officers": records(report.officers),
        "holdings": records(report.holdings),
        "neighbourhood": plain(_neighbourhood(report)),
        "notes": [str(note) for note in report.notes],
    }


# ---- shared by Markdown and HTML --------------------------------------------------------------

def _period(row: Mapping) -> str:
    if not row.get("start") and not row.get("end"):
        return "–"
    return f"{day(row.get('start'))} to {day(row.get('end')) if row.get('end') else 'open'}"


def _returned_text(report: Dossier, returned: float | None) -> str | None:
    """A sentence on the echo, the part of the score the exposure table does not list, or None."""
    if returned is None or returned <= 0:
        return None
    text = (f"Echo {number(returned)}: the entity's own penalty returning to it around cycles of links (for "
            "example company → its representative → the company), counted apart from what it inherits")
    return text + ("; the sources below give the rest." if len(report.exposure)
                   else "; no other penalised entity reaches it.")


def _penalty_counts(report: Dossier) -> dict:
    """How many penalties are in force at ``as_of``, start later, or have ended."""
    penalties = report.penalties
    if not len(penalties):
        return {"active": 0, "later": 0, "ended": 0}
    active = int(penalties["active"].sum())
    later = int((~penalties["active"] & (penalties["start"] > report.manifest["as_of"])).sum())  # ISO dates
    return {"active": active, "later": later, "ended": len(penalties) - active - later}


def _penalty_heading(report: Dossier) -> str:
    counts = _penalty_counts(report)
    return (f"{len(report.penalties)}: {counts['active']} in force at {report.manifest['as_of']}, "
            f"{counts['later']} starting later, {counts['ended']} ended")


def _more(total: int, shown: int) -> str | None:
    return f"… and {total - shown} more in the JSON report." if total > shown else None


# ---- Markdown -----------------------------------------------------------------------------------

def _md_or(text: str, table: str | None, frame_len: int, top: int) -> list[str]:
    if table is None:
        return [text]
    return [table, *filter(None, [_more(frame_len, min(frame_len, top))])]


def to_markdown(report: Dossier, *, top: int = 50, charts: Mapping[str, str | Path] | None = None) -> str:
    """The dossier as Markdown (GitHub-flavoured tables).

    Parameters
    ----------
    report : Dossier
    top : int
        Rows shown in each table (penalties, exposure, owners, officers, holdings); the JSON has
        them all.
    charts : mapping of str to path, optional
        Chart images to link, keyed by stem, relative to the Markdown file.

    Returns
    -------
    str
    """
    check_top(top)
    entity, manifest, score = report.entity, report.manifest, report.score
    as_of, policy = manifest["as_of"], manifest["policy"]
    identity = [f"**{label}:** {md(entity.get(key))}" for key, label in _IDENTITY]
    parts = [f"# {md(_title(report))}", " · ".join([*identity, f"**Id:** {md_code(entity['id'])}"]),
             md_manifest(manifest, [policy])]

    returned = _own_returned(report)
    parts += [f"## Score under {md(policy['name'])} as of {md(as_of)}",
              md_table(["Own", "Echo", "Inherited", "Total"],
                       [[number(score["own"]), number(score["echo"]), number(score["inherited"]),
                         f"**{number(score['total'])}**"]])]
    if (sentence := _returned_text(report, returned)):
        parts.append(md(sentence))

    penalties = _penalties(report)
    parts.append(f"## Own penalties ({md(_penalty_heading(report))})")
    parts += _md_or("No penalty recorded.", md_table(
        ["Penalty", "Kind", "Authority", "Start", "End", "Repair from", "Active"],
        ([md_code(row["id"]), md(row["kind"]), md(row["authority"]), day(row["start"]), day(row["end"]),
          day(row["repair_from"]), "**yes**" if row["active"] else "no"]
         for row in records(penalties.head(top)))) if len(penalties) else None, len(penalties), top)

    parts.append(f"## Inherited exposure by source ({len(report.exposure)})")
    if len(report.exposure):
        parts.append(md_table(
            ["Source", "Penalty", "Contribution", "Share of score", "Carried by listed paths", "Strongest path"],
            ([md(row["source_name"] or row["source"]), md_code(row["penalty"]), number(row["contribution"]),
              percent(row["share"]), percent(row["paths_share"]), md_code(row["strongest_path"])]
             for row in records(report.exposure.head(top)))))
        parts += filter(None, [_more(len(report.exposure), min(len(report.exposure), top))])
    elif returned is None:
        parts.append("The model's scores do not split by source (see the notes).")
    else:
        parts.append("No other penalised entity reaches this one.")

    owners = _owners(report)
    parts.append(f"## Owners at {md(as_of)} ({len(owners)})")
    parts += _md_or("No owner recorded.", md_table(["Name", "Share", "Period", "Source"], (
        [md(row["name"] or row["id"]), percent(row["share"]), _period(row), md_code(row["source_ref"])]
        for row in records(owners.head(top)))) if len(owners) else None, len(owners), top)

    ultimate = report.ultimate_owners
    parts.append(f"## Ultimate owners: integrated stake of 25 % or more ({len(ultimate)})")
    parts += _md_or("No owner holds 25 % or more, directly or through others.", md_table(
        ["Name", "Kind", "Integrated stake", "Chains"],
        ([md(row["name"] or row["id"]), md(row["kind"]), percent(row["stake"]), md_code(row["chains"])]
         for row in records(ultimate.head(top)))) if len(ultimate) else None, len(ultimate), top)

    officers = report.officers
    parts.append(f"## Officers and the other companies each serves ({len(officers)})")
    parts += _md_or("No officer recorded.", md_table(["Name", "Role", "Other companies (linked enterprises)"], (
        [md(row["name"] or row["id"]), md(row["role"]), md(row["other_companies"]) if row["other_companies"] else "none"]
        for row in records(officers.head(top)))) if len(officers) else None, len(officers), top)

    holdings = report.holdings
    parts.append(f"## Holdings: what the entity owns, runs or controls ({len(holdings)})")
    parts += _md_or("Nothing recorded.", md_table(["Name", "Link", "Role", "Share"], (
        [md(row["name"] or row["id"]), md(row["type"]), md(row["role"]) if row["role"] else "", percent(row["share"])]
        for row in records(holdings.head(top)))) if len(holdings) else None, len(holdings), top)

    if charts:
        parts += ["## Neighbourhood", md_charts(charts)]
    if report.notes:
        parts += ["## Notes", "\n".join(f"- {md(note)}" for note in report.notes)]
    return "\n\n".join(parts) + "\n"


# ---- HTML ---------------------------------------------------------------------------------------

def to_html(report: Dossier, *, top: int = 200, charts: Mapping[str, str] | None = None) -> str:
    """The dossier as one self-contained HTML page (as the other reports: inline CSS, the
    neighbourhood picture as a ``data:`` URI, nothing fetched).

    Parameters
    ----------
    report : Dossier
    top : int
        Rows shown in each table.
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
    manifest = report.manifest
    returned = _own_returned(report)
    tables = {"penalties": _penalties(report), "exposure": report.exposure, "owners": _owners(report),
              "ultimate_owners": report.ultimate_owners, "officers": report.officers, "holdings": report.holdings}
    rows = {key: records(frame.head(top)) for key, frame in tables.items()}
    for row in rows["owners"]:
        row["period"] = _period(row)
    return environment().get_template("dossier.html.j2").render(
        title=_title(report),
        entity=report.entity,
        identity=[(label, report.entity.get(key)) for key, label in _IDENTITY],
        manifest=manifest,
        policies=[manifest["policy"]],
        score=report.score,
        returned=_returned_text(report, returned),
        splits=returned is not None,
        counts=_penalty_counts(report),
        totals={key: len(frame) for key, frame in tables.items()},
        shown={key: len(listed) for key, listed in rows.items()},
        **rows,
        charts=[(CHART_TITLES.get(stem, stem), svg_uri(svg)) for stem, svg in charts.items()],
        notes=[str(note) for note in report.notes],
    )
