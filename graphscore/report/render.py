"""A spillover report as files: JSON, Markdown, self-contained HTML and PNG charts (DESIGN §7).

:func:`write_report` writes them all; :func:`to_json`, :func:`to_markdown` and :func:`to_html`
return each one for a notebook or another tool.

JSON layout
-----------
``to_json(report)`` returns, and ``report.json`` holds, one object. Numbers are JSON numbers,
missing or infinite values are ``null``.

``format``
    ``"graphscore.spillover/1"``; the number changes when a key below changes meaning or goes.
``title``, ``scenario`` : string
    What is reported on, and the change behind the numbers.
``threshold`` : number
    Score threshold for collateral impact.
``manifest`` : object
    ``graphscore_version``; ``policy`` (``name``, ``hash``, ``model``, ``definition``: the parsed
    policy); ``data_fingerprint`` (SHA-256 hex of the input tables); ``data_counts`` (rows per
    table: ``entities``, ``links``, ``penalties``); ``as_of`` (``YYYY-MM-DD``); ``generated_at``
    (ISO 8601 with UTC offset).
``summary`` : object
    ``entities_affected``, ``total_change``, ``max_hops``, ``collateral``: headline figures over
    the entities the change reaches (``hops > 0``), as ``SpilloverReport.summary()``.
``affected`` : array of entity rows
    Every entity whose score changes, largest absolute change first, the sources included.
``collateral`` : array of entity rows
    Entities with no own penalty that the change moves across ``threshold``.
``penalties`` : array of objects
    The penalties behind the change: ``id``, ``entity``, ``name``, ``kind``, ``severity``,
    ``weight`` (at ``as_of``, after decay), ``counted`` (boolean: under ``combine = "max"`` only
    an entity's heaviest penalty makes its weight), ``start``, ``end`` (``YYYY-MM-DD`` or
    ``null``), ``authority``, ``source_ref``; a what-if penalty has id ``"what-if"``.
``by_kind``, ``by_link_type``, ``by_hop`` : arrays of objects
    ``{kind | link_type | hops, entities, total_change}`` over the entities reached;
    ``link_type`` is that of the last hop on the strongest path, ``null`` where no path was
    described (beyond the report's ``top_paths``).
``notes`` : array of strings
    What the projection decided that a reader should know.

An entity row has ``id``, ``name``, ``kind``, ``own_penalised`` (boolean), ``before``, ``after``,
``change`` (``after - before``), ``hops`` (integer, 0 for a source), ``path_strength`` (share of a
unit penalty the strongest path alone carries), ``path`` (the strongest path as text, ``""`` if
not described), ``reached_by`` (link type of its last hop; ``"source"`` for a source) and
``path_hops``: an array of ``{from, to, type, role, share, direction, weight, links, source_ref}``
with entity ids in ``from`` / ``to``, ``direction`` ``"forward"`` when the hop follows the link as
written and ``"backward"`` against it, ``role`` / ``share`` ``null`` when the link has none,
``links`` the number of links joining the pair (the strongest is named) and ``source_ref`` where
the named link came from.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from graphscore.report.charts import chart_pngs
from graphscore.report.spillover import SpilloverReport

__all__ = ["JSON_FORMAT", "FORMATS", "to_json", "to_markdown", "to_html", "write_report"]

JSON_FORMAT = "graphscore.spillover/1"
FORMATS = ("html", "md", "json", "png")

_CHART_TITLES = {"spillover_histogram": "Distribution of score change",
                 "spillover_by_hop": "Spillover by hop distance"}
# Report attribute, its key column, heading, and the column its rows are sorted on (spillover._group).
_GROUPS = (("by_kind", "kind", "By entity kind", "entities"),
           ("by_link_type", "link_type", "By link type (last hop of the strongest path)", "entities"),
           ("by_hop", "hops", "By hop distance", "hops"))


# ---- JSON ---------------------------------------------------------------------------------------

def _plain(value):
    """``value`` with only JSON types left: numpy scalars and arrays become Python ones, NaN,
    infinities and missing values ``None``, dates ISO strings.

    Examples
    --------
    >>> _plain({"a": np.float64("nan"), "b": [np.int64(2), float("inf")], "c": pd.NaT, 1: True})
    {'a': None, 'b': [2, None], 'c': None, '1': True}
    """
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, dt.date):  # datetime and Timestamp too
        return value.isoformat()
    raise TypeError(f"cannot write a {type(value).__name__} to JSON: {value!r}")


def _records(frame: pd.DataFrame) -> list[dict]:
    return _plain(frame.to_dict(orient="records"))


def to_json(report: SpilloverReport) -> dict:
    """The report as JSON-ready data (layout in the module docstring).

    Parameters
    ----------
    report : SpilloverReport

    Returns
    -------
    dict
        Only ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``, so
        ``json.dumps(..., allow_nan=False)`` accepts it.
    """
    return {
        "format": JSON_FORMAT,
        "title": report.title,
        "scenario": report.scenario,
        "threshold": _plain(report.threshold),
        "manifest": _plain(report.manifest),
        "summary": _plain(report.summary()),
        "affected": _records(report.affected),
        "collateral": _records(report.collateral),
        "penalties": _records(report.penalties),
        **{key: _records(getattr(report, key)) for key, *_ in _GROUPS},
        "notes": [str(note) for note in report.notes],
    }


# ---- shared by Markdown and HTML --------------------------------------------------------------

def _number(value, *, signed: bool = False) -> str:
    """Four significant digits, a dash when missing.

    Examples
    --------
    >>> _number(0.117739), _number(0.117739, signed=True), _number(None), _number(float("nan"))
    ('0.1177', '+0.1177', '—', '—')
    """
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"  # not "+0"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _check_top(top: int) -> None:
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}.")


def _reached(report: SpilloverReport) -> pd.DataFrame:
    # The sources' own change is the penalty itself; the tables rank who else it reaches,
    # as summary() counts them.
    return report.affected[report.affected["hops"] > 0]


def _sources(report: SpilloverReport) -> pd.DataFrame:
    return report.affected[report.affected["hops"] == 0]


def _crossing(row: Mapping) -> str:
    return "rises above" if row["after"] >= row["before"] else "falls below"


# ---- Markdown -----------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|"})


def _date(value) -> str:
    """An ISO date (from JSON-ready data) as its day, a dash when open."""
    return str(value)[:10] if value else "–"


def _md(text) -> str:
    r"""Data text made inert in Markdown: punctuation that would format, link, open raw HTML or
    split a table cell is backslash-escaped (CommonMark escapes any ASCII punctuation).

    Examples
    --------
    >>> print(_md("A|B <script>"))
    A\|B \<script\>
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return "—"
    return " ".join(str(text).split()).translate(_MD_SPECIAL)


def _md_code(text) -> str:
    """Text as a Markdown code span (raw HTML stays literal inside one), fenced with more
    backticks than it contains; ``|`` is still escaped because GFM splits table cells first."""
    text = " ".join(str(text or "").split())
    if not text:
        return ""
    fence = "`" * (1 + max(map(len, re.findall("`+", text)), default=0))
    text = text.replace("|", "\\|")
    return f"{fence} {text} {fence}"


def _md_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _md_entities(frame: pd.DataFrame) -> str:
    return _md_table(["#", "Name", "Kind", "Change", "Hops", "Path"], (
        [str(rank), _md(row["name"]), _md(row["kind"]), _number(row["change"], signed=True),
         str(row["hops"]), _md_code(row["path"])]
        for rank, row in enumerate(frame.to_dict(orient="records"), start=1)))


def to_markdown(report: SpilloverReport, *, top: int = 50,
                charts: Mapping[str, str | Path] | None = None) -> str:
    """The report as Markdown (GitHub-flavoured tables).

    Parameters
    ----------
    report : SpilloverReport
    top : int
        Rows shown in the table of most affected entities and in the collateral list; the
        JSON has them all.
    charts : mapping of str to path, optional
        Chart images to link, keyed by stem as :func:`~graphscore.report.charts.save_charts`
        returns them; relative paths are written as given, so pass them relative to the
        Markdown file.

    Returns
    -------
    str
    """
    _check_top(top)
    manifest, summary = report.manifest, report.summary()
    policy = manifest["policy"]
    counts = manifest.get("data_counts", {})
    parts = [f"# {_md(report.title)}", f"**Scenario:** {_md(report.scenario)}"]
    parts.append(_md_table(["Manifest", ""], [
        ["graphscore version", _md(manifest["graphscore_version"])],
        ["policy", f"{_md(policy['name'])} ({_md(policy['model'])}), hash `{policy['hash']}`"],
        ["data fingerprint", f"`{manifest['data_fingerprint']}`"],
        ["data", ", ".join(f"{n} {_md(table)}" for table, n in counts.items())],
        ["as of", _md(manifest["as_of"])],
        ["generated at", _md(manifest["generated_at"])],
    ]))

    sources = _sources(report)
    headline = [f"- Entities reached: **{summary['entities_affected']}**",
                f"- Total change in their scores: **{_number(summary['total_change'], signed=True)}**",
                f"- Furthest reach: **{summary['max_hops']}** hop(s)",
                f"- Collateral (no own penalty, moved across the threshold {_number(report.threshold)}):"
                f" **{summary['collateral']}**"]
    if len(sources):
        headline.append("- Source(s): " + ", ".join(
            f"{_md(row['name'])} ({_number(row['change'], signed=True)})"
            for row in sources.to_dict(orient="records")))
    parts += ["## Headline figures", "\n".join(headline)]
    if len(report.penalties):
        parts += [f"## Penalties behind this change ({len(report.penalties)})", _md_table(
            ["penalty", "entity", "kind", "authority", "from", "to", "weight", "counted"],
            ([_md(row["id"]), _md(row["name"] or row["entity"]), _md(row["kind"]), _md(row["authority"] or ""),
              _date(row["start"]), _date(row["end"]), _number(row["weight"]), "yes" if row["counted"] else "no"]
             for row in _records(report.penalties.head(top))))]

    if charts:
        parts += ["## Charts", "\n\n".join(
            f"![{_CHART_TITLES.get(stem, stem)}]({Path(path).as_posix()})" for stem, path in charts.items())]

    reached = _reached(report)
    if len(reached):
        parts += [f"## Most affected (top {min(top, len(reached))} of {len(reached)})",
                  _md_entities(reached.head(top))]
    else:
        parts += ["## Most affected", "No entity affected: the change reaches no entity beyond its source."]

    for key, column, heading, _ in _GROUPS:
        group = getattr(report, key)
        if len(group):
            rows = ([_md(row[column]) if row[column] is not None else "not traced", str(row["entities"]),
                     _number(row["total_change"], signed=True)] for row in _records(group))
            parts += [f"## {heading}", _md_table([column.replace("_", " "), "entities", "total change"], rows)]

    collateral = report.collateral
    parts.append(f"## Collateral ({len(collateral)})")
    if len(collateral):
        parts.append("\n".join(
            f"- {_md(row['name'])} ({_md(row['kind'])}): {_number(row['before'])} → "
            f"{_number(row['after'])}, {_crossing(row)} {_number(report.threshold)}; "
            f"{row['hops']} hop(s){': ' + _md_code(row['path']) if row['path'] else ''}"
            for row in collateral.head(top).to_dict(orient="records")))
        if len(collateral) > top:
            parts.append(f"… and {len(collateral) - top} more in the JSON report.")
    else:
        parts.append("No entity without an own penalty crosses the threshold.")

    if report.notes:
        parts += ["## Notes", "\n".join(f"- {_md(note)}" for note in report.notes)]
    return "\n\n".join(parts) + "\n"


# ---- HTML ---------------------------------------------------------------------------------------

@functools.cache
def _environment() -> jinja2.Environment:
    # Names, paths and notes come from the data: autoescape keeps them text, never markup.
    env = jinja2.Environment(loader=jinja2.PackageLoader("graphscore.report", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["number"] = _number
    env.filters["signed"] = functools.partial(_number, signed=True)
    return env


def to_html(report: SpilloverReport, *, top: int = 200, charts: Mapping[str, bytes] | None = None) -> str:
    """The report as one self-contained HTML page: inline CSS, charts as ``data:`` URIs, no
    script, font or stylesheet fetched from anywhere, so it opens offline.

    Parameters
    ----------
    report : SpilloverReport
    top : int
        Rows shown in the table of most affected entities and in the collateral table.
    charts : mapping of str to bytes, optional
        PNG bytes by stem, as :func:`~graphscore.report.charts.chart_pngs` returns them;
        drawn from the report when not given.

    Returns
    -------
    str
    """
    _check_top(top)
    charts = chart_pngs(report) if charts is None else charts
    manifest = report.manifest
    reached = _reached(report)
    collateral = _records(report.collateral.head(top))
    for row in collateral:
        row["crossing"] = _crossing(row)
    return _environment().get_template("spillover.html.j2").render(
        title=report.title,
        scenario=report.scenario,
        threshold=report.threshold,
        manifest=manifest,
        policy=manifest["policy"],
        fingerprint=manifest["data_fingerprint"],
        summary=report.summary(),
        sources=_records(_sources(report)),
        penalties=[{**row, "start": _date(row["start"]), "end": _date(row["end"])}
                   for row in _records(report.penalties.head(top))],
        penalties_total=len(report.penalties),
        rows=_records(reached.head(top)),
        reached=len(reached),
        groups=[{"heading": heading, "label": column.replace("_", " "), "column": column,
                 "sorted_on": sorted_on, "rows": _records(getattr(report, key))}
                for key, column, heading, sorted_on in _GROUPS],
        collateral=collateral,
        collateral_total=len(report.collateral),
        notes=[str(note) for note in report.notes],
        charts=[(_CHART_TITLES.get(stem, stem), "data:image/png;base64," + base64.b64encode(png).decode("ascii"))
                for stem, png in charts.items()],
    )


# ---- files --------------------------------------------------------------------------------------

def write_report(report: SpilloverReport, out_dir: str | Path, *, formats: Iterable[str] = FORMATS,
                 stem: str = "report") -> dict[str, Path]:
    """Write the report into ``out_dir`` (created if missing).

    Parameters
    ----------
    report : SpilloverReport
    out_dir : str or Path
    formats : iterable of str
        Any of ``"html"``, ``"md"``, ``"json"`` (``<stem>.html``, ``.md``, ``.json``) and
        ``"png"`` (``spillover_histogram.png``, ``spillover_by_hop.png``, linked from the Markdown).
    stem : str
        File name of the HTML, Markdown and JSON files, without suffix.

    Returns
    -------
    dict of str to Path
        Each written file: keyed by format for the documents, by stem for the charts.

    Raises
    ------
    ValueError
        If ``formats`` names an unknown format; nothing is written then.
    """
    formats = list(dict.fromkeys(formats))
    unknown = [name for name in formats if name not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(map(repr, unknown))}; "
                         f"choose from {', '.join(FORMATS)}.")
    out_dir = Path(out_dir)
    # Everything is rendered before the first file is written, so a failure leaves no partial report.
    pngs = chart_pngs(report) if {"html", "png"} & set(formats) else {}
    chart_files = {name: Path(f"{name}.png") for name in pngs} if "png" in formats else {}
    documents = {}
    if "html" in formats:
        documents["html"] = to_html(report, charts=pngs).encode("utf-8")
    if "md" in formats:
        documents["md"] = to_markdown(report, charts=chart_files).encode("utf-8")
    if "json" in formats:
        documents["json"] = json.dumps(to_json(report), indent=2, ensure_ascii=False,
                                       allow_nan=False).encode("utf-8") + b"\n"

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for fmt, content in documents.items():
        paths[fmt] = out_dir / f"{stem}.{fmt}"
        paths[fmt].write_bytes(content)
    for name, relative in chart_files.items():
        paths[name] = out_dir / relative
        paths[name].write_bytes(pngs[name])
    return paths
