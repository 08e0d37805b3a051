"""Reports as files: JSON, Markdown, self-contained HTML and SVG charts (DESIGN §7).

:func:`write_report` writes them all; :func:`to_json`, :func:`to_markdown` and :func:`to_html`
return each one for a notebook or another tool. Each takes a
:class:`~graphscore.analysis.spillover.SpilloverReport`, a
:class:`~graphscore.analysis.compare.CompareReport` or a :class:`~graphscore.analysis.dossier.Dossier`
and hands it to the module that renders that kind (:mod:`~graphscore.report.render_spillover`,
:mod:`~graphscore.report.render_compare`, :mod:`~graphscore.report.render_dossier`); all share
one look (``templates/base.html.j2``) and one manifest.

JSON layout
-----------
``to_json(report)`` returns, and ``report.json`` holds, one object. Numbers are JSON numbers,
missing or infinite values are ``null``. Its ``format`` names the layout; the number changes
when a key changes meaning or goes.

Spillover report
~~~~~~~~~~~~~~~~

``format``
    ``"graphscore.spillover/2"`` (``/1`` listed every entity in ``affected`` and had no ``unlisted``).
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
    The entities whose score changes most, largest absolute change first: the first 1,000
    (``render_spillover.JSON_LISTED``) and every source (``SpilloverReport.listing``).
``unlisted`` : object
    The other entities whose score changes: ``entities`` (how many), ``total_change`` (their
    summed change) and ``largest_change`` (the largest absolute change among them, ``null`` when
    none); ``summary`` and the ``by_*`` tables count every entity.
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
``path_hops``: an array of ``{from, to, type, role, share, direction, weight, links, pair_weight, source_ref}``
with entity ids in ``from`` / ``to``, ``direction`` ``"forward"`` when the hop follows the link as
written and ``"backward"`` against it, ``role`` / ``share`` ``null`` when the link has none,
``links`` the number of links joining the pair (the strongest is named), ``pair_weight`` what
they carry together (combined under the policy's ``parallel``) and ``source_ref`` where the named
link came from.

Compare report
~~~~~~~~~~~~~~

Variants are the policies compared, or the values of a sweep, in the order given; every table
names a variant by its ``label``. Every variant is scored on the same data at the same date.

``format``
    ``"graphscore.compare/1"``.
``title`` : string
``parameter`` : string or ``null``
    The policy field a sweep varies (e.g. ``"damping"``); ``null`` when policies are compared.
``threshold`` : number or ``null``
    The collateral threshold given for every variant; ``null`` when each uses its policy's
    (``variants[].threshold`` holds the one used).
``baseline`` : string or ``null``
    Label of the variant movers are measured against: the first that scored.
``manifest`` : object
    What the variants share: ``graphscore_version``, ``data_fingerprint``, ``data_counts``,
    ``as_of``, ``generated_at`` (as in a spillover manifest), and ``policies``: an array of
    ``{label, name, hash, model}``, one per variant.
``manifests`` : array of objects
    One per variant, in the order of ``variants``, each laid out as a spillover report's
    ``manifest`` (with the full policy ``definition``).
``summary`` : object
    ``variants``, ``failed`` (counts), ``entities``, ``spearman_min`` and ``kendall_min`` (lowest
    over the pairs, scope ``"all"``; ``null`` without a scored pair), ``collateral_min`` and
    ``collateral_max`` (over the scored variants), as ``CompareReport.summary()``.
``variants`` : array of objects
    ``label``, ``policy`` (name), ``hash``, ``model``, ``value`` (of the swept parameter, an
    enum as its text; ``null`` when comparing policies), ``status`` (``"ok"`` or ``"failed"``),
    ``error`` (the failure's message, ``null`` if it scored), ``threshold``, ``penalised``
    (entities with an own penalty), ``reached`` (entities without one whose inherited score is
    above zero), ``total_own``, ``total_inherited``, ``mean_inherited`` (over all entities),
    ``collateral`` (count); the figures are ``null`` for a failed variant.
``scores`` : array of objects
    One per scored variant and entity: ``variant``, ``id``, ``name``, ``kind``, ``own``,
    ``echo`` (own penalty returning around cycles), ``inherited``, ``total``, ``rank`` (of ``total``, 1 the highest, ties share the best rank)
    and ``hops`` (links to the nearest entity with an own penalty under that variant, over every
    link active at ``as_of`` taken undirected; ``null`` when none is reachable).
``correlations`` : array of objects
    One per pair of scored variants and scope: ``a``, ``b`` (labels), ``scope`` (``"all"``
    entities, or ``"nonzero"``: those with a non-zero ``total`` under ``a`` or ``b``),
    ``entities`` (how many were compared), ``spearman``, ``kendall_tau_b`` (``null`` where
    undefined).
``rank_movers``, ``score_movers`` : arrays of objects
    Per scored variant after the baseline, the entities whose rank (resp. total) moves most:
    ``baseline``, ``variant``, ``id``, ``name``, ``kind``, ``baseline_score``,
    ``variant_score``, ``change`` (variant minus baseline), ``baseline_rank``,
    ``variant_rank``, ``rank_change`` (baseline rank minus variant rank: positive climbs
    towards rank 1). Entities that do not move are absent.
``collateral`` : array of objects
    Per scored variant, the entities with no own penalty whose ``total`` is at least the
    threshold: ``variant``, ``id``, ``name``, ``kind``, ``own``, ``inherited``, ``total``, ``hops``.
``collateral_by_kind``, ``collateral_by_hop`` : arrays of objects
    ``{variant, kind | hops, entities}``: the collateral counted by entity kind (every kind in
    the data) and by hop distance (every distance any variant's collateral has), zeros included.
``notes`` : array of strings
    What the projections decided that a reader should know, prefixed with the variants a note
    concerns when not all.

Dossier report
~~~~~~~~~~~~~~

Everything about one entity under one policy at one date (links and penalties in force then).
Dates are ``YYYY-MM-DD``, shares and stakes fractions in [0, 1], ``null`` where not recorded.

``format``
    ``"graphscore.dossier/1"``.
``title`` : string
    ``"Dossier: "`` and the entity's name.
``entity`` : object
    The entity's row: ``id``, ``kind``, ``name``, ``jurisdiction``, ``registration_id``,
    ``address``, ``value``, ``source_ref`` (every column of the entities table).
``score`` : object
    ``own``, ``echo``, ``inherited``, ``total`` (``own + echo + inherited``) under the policy at
    ``as_of``: ``echo`` is the entity's own penalties coming back to it around cycles of links
    (what ``exposure`` leaves unlisted), ``inherited`` what other entities' penalties add.
``manifest`` : object
    As a spillover report's.
``penalties`` : array of objects
    Every penalty of the entity, in force or not: ``id``, ``entity``, ``kind``, ``severity``,
    ``start``, ``end``, ``repair_from``, ``authority``, ``regime``, ``source_ref``, ``active`` (boolean: its
    window holds ``as_of``); active ones first, then newest first.
``exposure`` : array of objects
    Inherited exposure by source penalty, largest first: ``penalty`` (id), ``source`` (entity
    id), ``source_name``, ``kind``, ``authority``, ``contribution`` (to the total), ``share``
    (of the total), ``paths_share`` (of the contribution, carried by the listed paths; ``null``
    where not traced), ``strongest_path`` (as text). Empty under models whose scores do not
    split by source (a note says so).
``owners`` : array of objects
    Direct owners at ``as_of``, largest stake first: ``id``, ``name``, ``share``, ``start``,
    ``end``, ``source_ref``.
``ultimate_owners`` : array of objects
    Owners with an integrated stake of 25 % or more (at least at the high end of the stake bands),
    largest first: ``id``, ``name``, ``kind``, ``status`` (``flagged``, or ``possible`` where only
    the high end reaches 25 %), ``stake`` (``null`` for a band), ``stake_low``, ``stake_high``,
    ``chains`` (the chains carrying most of it, as text, ``"; "``-separated).
``officers`` : array of objects
    Officers at ``as_of``: ``id``, ``name``, ``role``, ``other_companies`` (names of the other
    entities the officer serves, the linked enterprises, ``", "``-separated; ``""`` if none).
``holdings`` : array of objects
    What the entity owns, runs or controls at ``as_of``: ``id``, ``name``, ``type`` (link type),
    ``role``, ``share``.
``neighbourhood`` : object
    The entities within the dossier's radius over links in force at ``as_of`` (either way), as
    drawn in ``dossier_neighbourhood.svg``: ``entities``, an array of ``{id, name, kind,
    penalised}`` (``penalised``: own weight above zero at ``as_of``), and ``links``, an array of
    ``{source, target, type, role, share}``, one per link.
``notes`` : array of strings
    What the projection decided that a reader should know.
"""


from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from graphscore.analysis.compare import CompareReport
from graphscore.analysis.dossier import Dossier
from graphscore.analysis.spillover import SpilloverReport
from graphscore.report import render_compare, render_dossier, render_spillover

__all__ = ["JSON_FORMAT", "COMPARE_JSON_FORMAT", "DOSSIER_JSON_FORMAT", "FORMATS", "to_json", "to_markdown",
           "to_html", "write_report"]

JSON_FORMAT = render_spillover.JSON_FORMAT
COMPARE_JSON_FORMAT = render_compare.JSON_FORMAT
DOSSIER_JSON_FORMAT = render_dossier.JSON_FORMAT
FORMATS = ("html", "md", "json", "svg")

Report = SpilloverReport | CompareReport | Dossier


def _renderer(report: Report):
    """The module that renders this kind of report."""
    if isinstance(report, SpilloverReport):
        return render_spillover
    if isinstance(report, CompareReport):
        return render_compare
    if isinstance(report, Dossier):
        return render_dossier
    raise TypeError(f"cannot render a {type(report).__name__}; expected a SpilloverReport, CompareReport "
                    "or Dossier.")


def to_json(report: Report) -> dict:
    """The report as JSON-ready data (layouts in the module docstring).

    Parameters
    ----------
    report : SpilloverReport, CompareReport or Dossier

    Returns
    -------
    dict
        Only ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``, so
        ``json.dumps(..., allow_nan=False)`` accepts it.
    """
    return _renderer(report).to_json(report)


def to_markdown(report: Report, *, top: int = 50, charts: Mapping[str, str | Path] | None = None) -> str:
    """The report as Markdown (GitHub-flavoured tables).

    Parameters
    ----------
    report : SpilloverReport, CompareReport or Dossier
    top : int
        Rows listed in the longest tables (most affected entities and collateral of a spillover
        report, collateral per variant of a compare report, every table of a dossier); the JSON
        has them all (a spillover report lists its first 1,000 affected entities and sums up the rest).
    charts : mapping of str to path, optional
        Chart images to link, keyed by stem as :func:`~graphscore.report.charts.save_charts`
        returns them; relative paths are written as given, so pass them relative to the
        Markdown file.

    Returns
    -------
    str
    """
    return _renderer(report).to_markdown(report, top=top, charts=charts)


def to_html(report: Report, *, top: int = 200, charts: Mapping[str, str] | None = None) -> str:
    """The report as one self-contained HTML page: inline CSS, charts as ``data:`` URIs, tables
    that sort and filter and a network to explore (:mod:`graphscore.report.interactive`, its
    scripts inlined); no script, font or stylesheet fetched from anywhere, so it opens offline.

    Parameters
    ----------
    report : SpilloverReport, CompareReport or Dossier
    top : int
        Rows listed in the longest tables, as for :func:`to_markdown`.
    charts : mapping of str to str, optional
        SVG text by stem, as :func:`~graphscore.report.charts.chart_svgs` returns it;
        drawn from the report when not given.

    Returns
    -------
    str
    """
    from graphscore.report.interactive import add_interactivity  # with the charts: networkx, for HTML only

    return add_interactivity(_renderer(report).to_html(report, top=top, charts=charts), report)


# ---- files --------------------------------------------------------------------------------------

def write_report(report: Report, out_dir: str | Path, *, formats: Iterable[str] = FORMATS,
                 stem: str = "report") -> dict[str, Path]:
    """Write the report into ``out_dir`` (created if missing).

    Parameters
    ----------
    report : SpilloverReport, CompareReport or Dossier
    out_dir : str or Path
    formats : iterable of str
        Any of ``"html"``, ``"md"``, ``"json"`` (``<stem>.html``, ``.md``, ``.json``) and
        ``"svg"`` (each chart of :func:`~graphscore.report.charts.chart_svgs` as ``<chart>.svg``,
        linked from the Markdown: ``spillover_histogram.svg`` and ``spillover_by_hop.svg`` for a
        spillover report, ``compare_scatter.svg`` and, for a sweep, ``compare_sweep.svg`` for a
        compare report, ``dossier_neighbourhood.svg`` for a dossier).
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
        hint = " (the charts are written as SVG: svg)" if "png" in unknown else ""
        raise ValueError(f"unknown report format(s) {', '.join(map(repr, unknown))}; "
                         f"choose from {', '.join(FORMATS)}{hint}.")
    out_dir = Path(out_dir)
    # Everything is rendered before the first file is written, so a failure leaves no partial report.
    # the charts are drawn only for the formats showing them: JSON and Markdown alone need no
    # layout of a neighbourhood (networkx)
    if {"html", "svg"} & set(formats):
        from graphscore.report.charts import chart_svgs

        svgs = chart_svgs(report)
    else:
        svgs = {}
    chart_files = {name: Path(f"{name}.svg") for name in svgs} if "svg" in formats else {}
    documents = {}
    if "html" in formats:
        documents["html"] = to_html(report, charts=svgs).encode("utf-8")
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
        paths[name].write_text(svgs[name], encoding="utf-8")
    return paths
