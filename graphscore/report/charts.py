"""Charts of the reports (DESIGN §7). Spillover: how large the changes are, and how far they
reach. Compare: how one variant's scores sit against another's, and, for a sweep, how collateral
grows with the parameter. Dossier: the entity's neighbourhood, who is penalised in it and through
which links.

Figures are built as :class:`matplotlib.figure.Figure` objects on an Agg canvas, never through
``pyplot``: pyplot keeps a global figure registry and picks a backend from the environment, and a
library that renders reports on a server or in a notebook should change neither.
"""

from __future__ import annotations

import functools
import io
import math
import numbers
import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import numpy as np
from matplotlib import colormaps, font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.ticker import LogFormatterSciNotation, MaxNLocator, NullLocator
from matplotlib.transforms import Bbox

from graphscore.analysis.compare import CompareReport
from graphscore.analysis.dossier import Dossier
from graphscore.analysis.spillover import SpilloverReport
from graphscore.model import load_model
from graphscore.report.markup import CHART_TITLES

if TYPE_CHECKING:  # imported by the functions drawing a dossier's neighbourhood: the other charts draw no graph
    import networkx as nx

__all__ = ["DPI", "CHART_TITLES", "change_histogram", "change_by_hop", "score_scatter", "sweep_lines",
           "neighbourhood_map", "summarise_neighbourhood", "place_labels", "spot_extents", "chart_pngs",
           "save_charts"]

DPI = 110

# Fewer bins hide the shape of a small report; more turn a large one into noise.
_MIN_BINS, _MAX_BINS = 10, 60
# A long tail (a few strong changes, many faint ones) hides in a linear count axis; switch to a
# log axis once the fullest bin holds this many times the emptiest non-empty one.
_LOG_COUNT_RATIO = 20
# Scores spanning more than this factor (positive ones) go on log-log axes: penalty spillover
# fades geometrically with the hops, and a linear scatter crushes everything beyond the first.
_LOG_SCORE_RATIO = 100
_BAR_COLOR = "#3b6ea8"
_THRESHOLD_COLOR = "#c0392b"
_FAILED_COLOR = "#c0392b"



# Names come in every script. DejaVu Sans, matplotlib's default, has Latin, Greek and Cyrillic but
# no Chinese, Japanese or Korean: without a fallback those names draw as empty boxes.
_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                 "Droid Sans Fallback")


@functools.cache
def _font_families() -> tuple[str, ...]:
    """The fonts charts draw with: DejaVu Sans, then the installed CJK fallbacks above.

    matplotlib lists the system's fonts once, in a cache on disk, so a font installed after
    that is missing from its list: the CJK fonts are then looked up in the system's font
    folders and added.
    """
    known = {font.name for font in font_manager.fontManager.ttflist}
    if not known.intersection(_CJK_FAMILIES):
        for path in font_manager.findSystemFonts():
            if any(mark in Path(path).name.lower() for mark in ("cjk", "wqy", "droidsansfallback")):
                font_manager.fontManager.addfont(path)
        known = {font.name for font in font_manager.fontManager.ttflist}
    return ("DejaVu Sans", *(family for family in _CJK_FAMILIES if family in known))


def _any_script(draw):
    """Build the figure with the fallback fonts: a text takes its fonts when it is made."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context({"font.family": list(_font_families())}):
            return draw(*args, **kwargs)
    return wrapper


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas: PNG output without a global backend
    return fig


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class PlainLogFormatter(LogFormatterSciNotation):
    """A log axis's tick labels as matplotlib writes them (``10³``, ``2×10¹``), in plain text
    with superscript digits instead of mathtext: a chart's first mathtext label builds
    matplotlib's math parser (0.1-0.2 s of CPU of a spillover report), for a power of ten.

    Examples
    --------
    >>> PlainLogFormatter()(1000.0), PlainLogFormatter()(0.01), PlainLogFormatter()(20.0)
    ('10³', '10⁻²', '2×10¹')
    """

    def __call__(self, x, pos=None):
        label = super().__call__(x, pos)
        match = re.fullmatch(r"\$\\mathdefault\{(-?)(?:([0-9.]+)\\times)?([0-9.]+)\^\{(-?[0-9]+)\}\}\$", label)
        if match is None:  # no power of a number: as matplotlib writes it
            return label
        sign, coefficient, base, exponent = match.groups()
        return f"{sign}{coefficient + '×' if coefficient else ''}{base}{exponent.translate(_SUPERSCRIPTS)}"


def _plain_log_labels(axis) -> None:
    """Label a log-scaled ``axis`` as its scale does (majors and minors), in plain text."""
    base = axis.get_transform().base
    axis.set_major_formatter(PlainLogFormatter(base))
    axis.set_minor_formatter(PlainLogFormatter(base, labelOnlyBase=False))


def _message(fig: Figure, title: str, message: str, detail: str) -> Figure:
    fig.suptitle(title)
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=14, color="#555555")
    fig.text(0.5, 0.38, detail, ha="center", va="center", fontsize=9, color="#777777")
    return fig


def _nothing_affected(fig: Figure, title: str) -> Figure:
    return _message(fig, title, "No entity affected", "the change reaches no entity beyond the one(s) it applies to")


# ---- spillover ----------------------------------------------------------------------------------


@_any_script
def change_histogram(report: SpilloverReport) -> Figure:
    """Distribution of the score change over the entities the change reaches (``hops > 0``).

    Parameters
    ----------
    report : SpilloverReport

    Returns
    -------
    Figure
        A histogram of ``change``, with the count axis on a log scale when the counts span more
        than a factor of 20. A dashed line marks the report's ``threshold`` (and ``-threshold``
        when scores fall): a change that large alone moves an entity across it. A figure saying
        "No entity affected" when nothing beyond the sources changes.
    """
    title = "Distribution of score change"
    fig = _figure(7.0, 4.0)
    changes = report.affected.loc[report.affected["hops"] > 0, "change"].to_numpy(float)
    if changes.size == 0:
        return _nothing_affected(fig, title)

    # The square-root rule, bounded. numpy's "auto" sizes bins by the spread of the bulk of the
    # data, and changes that fade geometrically with the hops put the bulk in a sliver near zero:
    # a few thousand of them get well over a hundred bins.
    bins = min(_MAX_BINS, max(_MIN_BINS, math.isqrt(changes.size)))
    counts, edges = np.histogram(changes, bins=bins)
    filled = counts[counts > 0]
    log_counts = filled.max() >= _LOG_COUNT_RATIO * filled.min()

    ax = fig.add_subplot()
    ax.hist(changes, bins=edges, color=_BAR_COLOR, edgecolor="white", linewidth=0.5, log=log_counts)
    if log_counts:
        _plain_log_labels(ax.yaxis)
    for sign, present in ((1, changes.max() > 0), (-1, changes.min() < 0)):
        if present:
            label = f"threshold {report.threshold:g}" if sign > 0 else f"minus threshold ({-report.threshold:g})"
            ax.axvline(sign * report.threshold, color=_THRESHOLD_COLOR, linestyle="--", linewidth=1.2, label=label)
    ax.legend(loc="best")
    ax.set_xlabel("change in score")
    ax.set_ylabel("entities (log scale)" if log_counts else "entities")
    if not log_counts:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{title} ({changes.size} entities reached)")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@_any_script
def change_by_hop(report: SpilloverReport) -> Figure:
    """Entities reached and their summed score change at each hop distance, from ``report.by_hop``.

    Parameters
    ----------
    report : SpilloverReport

    Returns
    -------
    Figure
        Two bar charts side by side over the hop distance: how many entities, and how much
        change in total. A figure saying "No entity affected" when ``by_hop`` is empty.
    """
    title = "Spillover by hop distance"
    fig = _figure(9.0, 4.0)
    by_hop = report.by_hop
    if by_hop.empty:
        return _nothing_affected(fig, title)

    hops = by_hop["hops"].to_numpy(int)
    left, right = fig.subplots(1, 2, sharex=True)
    for ax, column, label, fmt in ((left, "entities", "entities reached", "%d"),
                                   (right, "total_change", "summed change in score", "%.3g")):
        bars = ax.bar(hops, by_hop[column].to_numpy(float), color=_BAR_COLOR, width=0.7)
        ax.bar_label(bars, fmt=fmt, fontsize=8, padding=2)
        ax.set_title(label)
        if column == "entities":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("hops from the source")
        ax.set_xticks(hops)
        ax.axhline(0, color="#333333", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title)
    return fig


# ---- compare ------------------------------------------------------------------------------------

def _variant_colors(count: int) -> list:
    if count == 1:
        return [_BAR_COLOR]
    return [colormaps["viridis"](i / max(count - 1, 1) * 0.9) for i in range(count)]


@_any_script
def score_scatter(report: CompareReport) -> Figure:
    """Each entity's ``total`` under the baseline (x) against its ``total`` under every other
    scored variant (y, one colour per variant), with the line ``y = x``.

    Parameters
    ----------
    report : CompareReport

    Returns
    -------
    Figure
        Entities with a zero total under both variants of a pair are left out. The axes are
        log-log when the positive totals span more than a factor of 100; a point with a zero on
        either axis cannot be drawn there, and the title says how many were left out. A figure
        saying why when fewer than two variants scored or no entity has a score.
    """
    title = CHART_TITLES["compare_scatter"]
    fig = _figure(7.0, 5.5)
    scored = report.scored
    if len(scored) < 2:
        return _message(fig, title, "Nothing to compare", "fewer than two variants scored")
    wide = report.wide("total")
    baseline, others = scored[0], scored[1:]
    x_all = wide[baseline].to_numpy(float)
    pairs = []
    for label in others:
        y_all = wide[label].to_numpy(float)
        keep = (x_all != 0) | (y_all != 0)
        pairs.append((label, x_all[keep], y_all[keep]))
    values = np.concatenate([np.concatenate([x, y]) for _, x, y in pairs])
    if values.size == 0:
        return _message(fig, title, "No entity has a score", "under any of the variants compared")
    positive = values[values > 0]
    log = positive.size > 0 and positive.max() >= _LOG_SCORE_RATIO * positive.min()

    ax = fig.add_subplot()
    hidden = 0
    size = 18 if values.size < 4_000 else 5  # thousands of points: small ones show density, not a blot
    for (label, x, y), color in zip(pairs, _variant_colors(len(pairs))):
        if log:
            drawable = (x > 0) & (y > 0)
            hidden += int((~drawable).sum())
            x, y = x[drawable], y[drawable]
        ax.scatter(x, y, s=size, alpha=0.7, color=color, edgecolors="none", label=label)
    low, high = (positive.min(), positive.max()) if log else (min(values.min(), 0.0), values.max())
    ax.plot([low, high], [low, high], color="#777777", linestyle="--", linewidth=1, label="y = x")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_labels(ax.xaxis)
        _plain_log_labels(ax.yaxis)
    ax.set_xlabel(f"total under {baseline}" + (" (log scale)" if log else ""))
    ax.set_ylabel((f"total under {others[0]}" if len(others) == 1 else "total under the variant")
                  + (" (log scale)" if log else ""))
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title + (f"\n({hidden} point(s) with a zero score not drawn on log axes)" if hidden else ""),
                 fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@_any_script
def sweep_lines(report: CompareReport) -> Figure:
    """Collateral count and mean inherited score against the swept parameter's value.

    Parameters
    ----------
    report : CompareReport
        From :func:`~graphscore.analysis.compare.sweep`.

    Returns
    -------
    Figure
        Two line charts side by side over the parameter's values (evenly spaced and named when
        they are not numbers); a value whose variant failed is a red cross on the axis. A figure
        saying why when the report is not a sweep.
    """
    title = CHART_TITLES["compare_sweep"]
    fig = _figure(9.0, 4.0)
    if report.parameter is None:
        return _message(fig, title, "Not a sweep", "the report compares policies, not values of one parameter")
    variants = report.variants
    raw = variants["value"].tolist()
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in raw)
    x = np.array(raw, dtype=float) if numeric else np.arange(len(raw), dtype=float)
    ok = (variants["status"] == "ok").to_numpy()
    left, right = fig.subplots(1, 2, sharex=True)
    for ax, column, label in ((left, "collateral", "collateral entities"),
                              (right, "mean_inherited", "mean inherited score")):
        ax.plot(x[ok], variants.loc[ok, column].to_numpy(float), marker="o", color=_BAR_COLOR)
        if (~ok).any():
            ax.plot(x[~ok], np.zeros((~ok).sum()), linestyle="none", marker="x", markersize=9,
                    color=_FAILED_COLOR, clip_on=False, label="failed")
            ax.legend(loc="best", fontsize=8)
        ax.set_title(label)
        ax.set_xlabel(report.parameter)
        ax.set_ylim(bottom=0)
        if column == "collateral":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if not numeric:
            ax.set_xticks(x, [str(v) for v in raw])
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title)
    return fig


# ---- dossier ------------------------------------------------------------------------------------

_PENALISED_COLOR = "#c0392b"
_UNPENALISED_COLOR = "#aab4be"
_MARKERS = {"company": "s", "organization": "D", "person": "o"}  # any other kind: a triangle
# Beyond this many entities the picture names only the entity, its direct neighbours and the
# penalised; beyond this many links it stops labelling them: past that, labels hide the graph.
_LABEL_ALL_NODES, _LABEL_ALL_LINKS = 40, 40
# The stress layout keeps n^2 distances: past this many entities the spring layout draws instead.
_STRESS_MAX = 150
_STRESS_STEPS, _STRESS_TOL = 300, 1e-4
# Leaves (one link, no penalty) hanging off one entity by one link type: past this many they are
# drawn as one node "+N", so a holding with 300 subsidiaries is a picture, not a hairball.
_LEAVES_KEPT = 5


# Past this many entities a neighbourhood is summarised: the entity, the shortest paths to the
# nearest penalised entities (at most _PATHS_KEPT), and its direct neighbours in groups.
_DRAWN_MAX, _PATHS_KEPT = 120, 12


def ordered_subgraph(graph: nx.MultiDiGraph, nodes) -> nx.MultiDiGraph:
    """The subgraph on ``nodes`` as a graph of its own, nodes and links in ``graph``'s order.

    networkx's subgraph views list a small node set in the set's order, which follows Python's
    string hashing (``PYTHONHASHSEED``): pictures and report bytes would change from run to run.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph([("a", "b"), ("b", "c"), ("c", "d")])
    >>> list(ordered_subgraph(g, {"d", "b", "c"}).edges())
    [('b', 'c'), ('c', 'd')]
    """
    import networkx as nx

    chosen = set(nodes)
    sub = nx.MultiDiGraph()
    sub.graph.update(graph.graph)
    sub.add_nodes_from((n, d) for n, d in graph.nodes(data=True) if n in chosen)
    sub.add_edges_from((u, v, k, d) for u, v, k, d in graph.edges(keys=True, data=True) if u in chosen and v in chosen)
    return sub


def summarise_neighbourhood(graph: nx.MultiDiGraph, center) -> tuple[nx.MultiDiGraph, str]:
    """What the picture draws of a neighbourhood, and a note saying how it was cut ("" if not).

    A small one is drawn whole, large groups of unpenalised leaves merged into one node "+N"
    (leaves joined to one entity by one link type, written the same way, of one kind). A large
    one keeps the entity and the shortest paths to the nearest penalised entities; its other
    direct neighbours are merged the same way, whatever else they link to, and the entities
    further out are left out.
    """
    import networkx as nx

    if graph.number_of_nodes() <= _DRAWN_MAX:
        members = [n for n, d in graph.nodes(data=True)
                   if n != center and not d.get("penalised") and graph.degree(n) == 1]
        grouped, merged = _merge(graph, members)
        return grouped, (f"{merged} unpenalised entities with one link drawn as groups (+N)" if merged else "")
    undirected = nx.Graph(graph.to_undirected(as_view=True))
    paths = nx.single_source_shortest_path(undirected, center)
    penalised = sorted((n for n, d in graph.nodes(data=True) if d.get("penalised") and n != center and n in paths),
                       key=lambda n: (len(paths[n]), str(n)))[:_PATHS_KEPT]
    keep = {center}.union(*(paths[n] for n in penalised))
    direct = [n for n in undirected.neighbors(center) if n not in keep]
    grouped, merged = _merge(ordered_subgraph(graph, keep | set(direct)), direct, hub=center)
    left_out = graph.number_of_nodes() - len(keep) - len(direct)
    return grouped, (f"summarised: the paths to the {len(penalised)} nearest penalised entities, "
                     f"{merged} direct neighbours drawn as groups (+N), {left_out} entities further out left out")


def _merge(graph: nx.MultiDiGraph, members: list, *, hub=None) -> tuple[nx.MultiDiGraph, int]:
    """``graph`` with ``members`` merged by (entity they hang off, link type, direction, kind):
    a group of more than ``_LEAVES_KEPT`` becomes one node (``name`` "+N companies", ``grouped``
    N) and one link (``count`` N). Each member hangs off ``hub``, or off its only neighbour."""
    import networkx as nx

    groups: dict[tuple, list] = {}
    for node in members:
        links = [(u, v, d) for u, v, d in graph.in_edges(node, data=True) if hub is None or u == hub] + \
                [(u, v, d) for u, v, d in graph.out_edges(node, data=True) if hub is None or v == hub]
        u, v, link = links[0]
        at, outward = (u, True) if v == node else (v, False)
        groups.setdefault((at, link["type"], outward, graph.nodes[node].get("kind")), []).append((node, link))
    grouped = nx.MultiDiGraph(graph)
    merged = 0
    for (at, kind_of_link, outward, kind), chosen in groups.items():
        if len(chosen) <= _LEAVES_KEPT:
            continue
        merged += len(chosen)
        grouped.remove_nodes_from(node for node, _ in chosen)
        node = f"{at} {kind_of_link} {'out' if outward else 'in'} {kind}"
        roles = {link.get("role") for _, link in chosen}
        grouped.add_node(node, name=f"+{len(chosen)} {kind or 'entities'}", kind=kind, penalised=False,
                         grouped=len(chosen))
        grouped.add_edge(*((at, node) if outward else (node, at)), type=kind_of_link,
                         role=roles.pop() if len(roles) == 1 else None, share=None, count=len(chosen))
    return grouped, merged


# tab10 without its red, which marks the penalised entities.
_LINK_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")


def _link_colors() -> dict[str, str]:
    """A colour per link type of the data model, in its declared order (a new type gets one)."""
    return {name: _LINK_PALETTE[i % len(_LINK_PALETTE)] for i, name in enumerate(load_model().links)}


def _link_label(data: dict, roles: set[str]) -> str:
    """``OWNS 50%``, ``OFFICER_OF legal_representative``; a role only where the model declares
    roles for the type (a FAMILY link's free-text role would crowd the picture)."""
    label = data["type"] + (f" ×{data['count']}" if data.get("count") else "")
    share = data.get("share")
    if share is not None and not (isinstance(share, float) and math.isnan(share)):
        label += f" {share:.0%}"
    if data["type"] in roles and data.get("role"):
        label += f"\n{data['role']}"
    return label


# Where a label may sit around its anchor, in points (dx, dy, ha, va), tried in this order:
# a node's name under its marker first, then above, beside and at the corners, twice as far
# and three times as far; a link's label on its curve first, then beside it.
_NODE_SPOTS = [(dx * r, dy * r, ha, va) for r in (1, 2, 3) for dx, dy, ha, va in (
    (0, -12, "center", "top"), (0, 10, "center", "bottom"), (10, 0, "left", "center"), (-10, 0, "right", "center"),
    (8, -9, "left", "top"), (-8, -9, "right", "top"), (8, 8, "left", "bottom"), (-8, 8, "right", "bottom"))]
_LINK_SPOTS = [(0, 0, "center", "center")] + [(dx * r, dy * r, "center", "center") for r in (1, 2)
                                               for dx, dy in ((0, 8), (0, -8), (14, 0), (-14, 0))]
_LABEL_GAP = 1.5  # pixels kept clear around each label (its white box reaches a little past the text)
_MARKER_CLEAR = 12  # points: the square around each node's marker that labels keep clear of


def place_labels(fig: Figure, labels: list, markers: tuple | None = None) -> int:
    """Move each label to the first of its spots where it overlaps no label placed before it
    and no marker and lies inside the figure; a label with no free spot is removed. Returns how
    many were removed.

    ``labels`` are ``(annotation, spots)`` pairs, most important first; ``spots`` are offsets
    from the annotation's anchor in points, with alignments (``_NODE_SPOTS``, ``_LINK_SPOTS``).
    ``markers`` is ``(ax, xy)``: points in ``ax``'s data coordinates whose markers (a square
    ``_MARKER_CLEAR`` points across) labels keep clear of. The first label takes its first spot
    whatever is under it: the entity a picture is about is always named. Deterministic: the
    same figure places the same way. The labels are left out of the layout, so the final
    drawing keeps the geometry they were placed in.

    Examples
    --------
    >>> fig = _figure(3, 2)
    >>> ax = fig.add_subplot()
    >>> crowd = [ax.annotate(f"label {k}", (0.5, 0.5), xytext=(0, 0), textcoords="offset points") for k in range(40)]
    >>> left_out = place_labels(fig, [(label, _NODE_SPOTS) for label in crowd])
    >>> 0 < left_out < 40, len(ax.texts) == 40 - left_out
    (True, True)
    """
    for label, _ in labels:
        label.set_in_layout(False)
    renderer = _settle(fig)  # the layout and the axes' limits the spots are measured in
    taken = []
    if markers is not None:
        ax, xy = markers
        half = _MARKER_CLEAR / 2 * fig.dpi / 72
        taken = [Bbox.from_extents(x - half, y - half, x + half, y + half)
                 for x, y in ax.transData.transform(np.asarray(xy, dtype=float).reshape(-1, 2))]
    removed = 0
    edge = fig.bbox
    for k, (label, spots) in enumerate(labels):
        extent = spot_extents(label, renderer)
        for dx, dy, ha, va in spots:
            box = extent(dx, dy, ha, va).padded(_LABEL_GAP)
            # a spot running off the figure is no spot: the file would cut the label
            inside = edge.x0 <= box.x0 and box.x1 <= edge.x1 and edge.y0 <= box.y0 and box.y1 <= edge.y1
            if k == 0 or (inside and not any(box.overlaps(other) for other in taken)):
                taken.append(box)
                label.xyann = (dx, dy)
                label.set_horizontalalignment(ha)
                label.set_verticalalignment(va)
                break
        else:
            label.remove()
            removed += 1
    return removed


def spot_extents(label, renderer):
    """A function of a spot ``(dx, dy, ha, va)`` giving ``label.get_window_extent(renderer)``
    with the label moved there, the same numbers, without moving it: matplotlib lays the text
    out at its alignment (a tenth of a millisecond and more: lines measured, fonts looked up
    through the fallback families), then moves that box to the spot's offset from the anchor.
    Here each alignment's layout is made once and moved to each spot as matplotlib moves it,
    through the annotation's transform (which depends on its anchor alone); matplotlib checks
    once whether the anchor is drawn at all. Under cProfile, measuring every spot was a third
    of a dossier's picture; without it, the picture of a 10^6-link registry's dossier takes
    0.02-0.07 s less of 0.45-0.65 s. The label's alignment is left at the last one laid out.

    Examples
    --------
    >>> fig = _figure(3, 2)
    >>> ax = fig.add_subplot()
    >>> label = ax.annotate("a name\\non two lines", (0.5, 0.5), xytext=(0, 0), textcoords="offset points")
    >>> renderer = _settle(fig)
    >>> extent = spot_extents(label, renderer)
    >>> boxes = [extent(*spot).bounds for spot in _NODE_SPOTS]
    >>> moved = []
    >>> for dx, dy, ha, va in _NODE_SPOTS:
    ...     label.xyann = (dx, dy)
    ...     _ = label.set(horizontalalignment=ha, verticalalignment=va)
    ...     moved.append(label.get_window_extent(renderer).bounds)
    >>> boxes == moved
    True
    """
    # Annotation.get_window_extent: the anchor checked and the transform set (update_positions),
    # then Text.get_window_extent: the layout at the alignment moved by the transform of xyann
    if not label.get_visible() or not label._check_xy(renderer):
        return lambda dx, dy, ha, va: Bbox.unit()
    label.update_positions(renderer)
    transform = label.get_transform()
    layouts: dict[tuple[str, str], Bbox] = {}

    def extent(dx, dy, ha, va) -> Bbox:
        if (ha, va) not in layouts:
            label.set_horizontalalignment(ha)
            label.set_verticalalignment(va)
            layouts[ha, va] = label._get_layout(renderer)[0]
        x, y = transform.transform((float(dx), float(dy)))
        return layouts[ha, va].translated(x, y)

    return extent


def stress_layout(graph: nx.Graph) -> dict:
    """Positions whose distances follow the graph's: the stress majorisation of Gansner, Koren
    and North, minimising ``sum w_ij (||x_i - x_j|| - d_ij)^2`` with ``d_ij`` the number of links
    between i and j and ``w_ij = d_ij^-2``, Kamada and Kawai's energy. It drew the dossier's
    neighbourhood as ``networkx.kamada_kawai_layout`` does, which minimises the same energy
    with a general-purpose optimiser: 0.15 s of CPU against 1.9 s for the 86 entities drawn of
    a 10^6-link registry's dossier. Entities in separate
    pieces are placed one link beyond the farthest pair. Deterministic: it starts from classical
    scaling, each axis signed.

    Examples
    --------
    >>> import networkx as nx
    >>> position = stress_layout(nx.path_graph(3))
    >>> gaps = [float(np.linalg.norm(position[a] - position[b])) for a, b in ((0, 1), (1, 2), (0, 2))]
    >>> round(gaps[0] / gaps[2], 2), round(gaps[1] / gaps[2], 2)
    (0.5, 0.5)

    References
    ----------
    .. [1] Gansner, Koren, North, "Graph drawing by stress majorization", Graph Drawing 2004,
       LNCS 3383, 239-250 (eq. 3, the weighted localised update of section 2.3).
    .. [2] Kamada, Kawai, "An algorithm for drawing general undirected graphs", Information
       Processing Letters 31 (1989) 7-15.
    """
    import networkx as nx
    from scipy.sparse.csgraph import shortest_path

    nodes = list(graph)
    n = len(nodes)
    if n < 2:
        return {node: np.zeros(2) for node in nodes}
    d = shortest_path(nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=None), unweighted=True, directed=False)
    finite = np.isfinite(d)
    d[~finite] = d[finite].max() + 1
    w = np.zeros_like(d)
    off = ~np.eye(n, dtype=bool)
    w[off] = d[off] ** -2.0
    # start from classical scaling (the top two eigenvectors of the doubly centred squared
    # distances), each axis signed so its largest entry is positive: the same graph, the same start
    centred = -0.5 * (d ** 2 - (d ** 2).mean(axis=0) - (d ** 2).mean(axis=1)[:, None] + (d ** 2).mean())
    values, vectors = np.linalg.eigh(centred)
    x = vectors[:, [-1, -2]] * np.sqrt(np.maximum(values[[-1, -2]], 1e-9))
    x *= np.where(x[np.abs(x).argmax(axis=0), [0, 1]] < 0, -1.0, 1.0)
    # entities the distances cannot tell apart (leaves of one entity) start apart, on a small
    # circle in the graph's order: coincident ones would never move apart
    angle = 2 * np.pi * np.arange(n) / n
    x += np.column_stack([np.cos(angle), np.sin(angle)]) * 0.3
    # what the steps share, made once; the gaps as np.linalg.norm forms them (the square root
    # of dx^2 + dy^2), from the two coordinates apart: the same numbers, without an (n, n, 2) array
    wd, weight = w * d, w.sum(axis=1)[:, None]
    for _ in range(_STRESS_STEPS):
        dx, dy = x[:, 0, None] - x[None, :, 0], x[:, 1, None] - x[None, :, 1]
        gap = np.sqrt(dx * dx + dy * dy)
        pull = np.divide(wd, gap, out=np.zeros_like(d), where=gap > 1e-12)
        # each node moves to where its distances to the others are best kept, all at once
        moved = (w @ x + pull.sum(axis=1)[:, None] * x - pull @ x) / weight
        x, step = moved, np.abs(moved - x).max()
        if step < _STRESS_TOL * d.max():  # no entity moves by a visible fraction of the picture
            break
    x -= x.mean(axis=0)
    x /= max(np.abs(x).max(), 1e-12)
    return {node: x[k] for k, node in enumerate(nodes)}


def _curve_extent(start: np.ndarray, control: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The points of a quadratic Bezier curve farthest along each axis: its ends, and where a
    coordinate turns, at ``t = (start - control) / (start - 2 control + end)`` within (0, 1).

    Examples
    --------
    >>> _curve_extent(np.array([0.0, 0.0]), np.array([1.0, 2.0]), np.array([2.0, 0.0])).tolist()
    [[0.0, 0.0], [2.0, 0.0], [1.0, 1.0]]
    """
    points = [start, end]
    bend = start - 2 * control + end
    for axis in (0, 1):
        if bend[axis]:
            t = (start[axis] - control[axis]) / bend[axis]
            if 0 < t < 1:
                points.append((1 - t) ** 2 * start + 2 * t * (1 - t) * control + t ** 2 * end)
    return np.array(points)


def _node_label(name: str) -> str:
    lines = textwrap.wrap(str(name), width=24, max_lines=2, placeholder="…")
    return "\n".join(lines) or str(name)


@_any_script
def neighbourhood_map(report: Dossier) -> Figure:
    """The entity's neighbourhood: entities within the dossier's radius over links in force at
    its ``as_of``, as ``report.neighbourhood`` holds them.

    Parameters
    ----------
    report : Dossier

    Returns
    -------
    Figure
        Entities penalised at ``as_of`` in red, others grey; companies as squares, people as
        circles, organisations as diamonds; the entity itself larger and outlined in black.
        One arrow per link (source to target as written, parallel links bowed apart), coloured
        by link type and labelled with its share or officer role. A deterministic layout: the
        same data draws the same picture. A figure saying so when the entity has no link.
    """
    import networkx as nx

    center = report.entity["id"]
    graph, summary = summarise_neighbourhood(report.neighbourhood, center)
    fig = _figure(10.0, 7.0)
    title = "Neighbourhood of " + textwrap.shorten(str(report.entity["name"]), width=48, placeholder="…")
    if graph.number_of_edges() == 0:
        return _message(fig, title, "No link in force", f"the entity has no link at {report.manifest['as_of']}")
    ax = fig.add_subplot()
    ax.set_axis_off()
    # no ticks to make: hidden, they were still made and measured wherever the layout and the
    # title's place were worked out (a tenth of the picture's time)
    ax.xaxis.set_major_locator(NullLocator())
    ax.yaxis.set_major_locator(NullLocator())
    ax.set_aspect("equal", adjustable="datalim")
    whole = report.neighbourhood
    penalised = sum(1 for _, data in whole.nodes(data=True) if data.get("penalised"))
    # two short lines: one long one runs off the figure, the legend taking the right of it
    ax.set_title(f"{title}\n{whole.number_of_nodes()} entities, {whole.number_of_edges()} links, "
                 f"{penalised} penalised at {report.manifest['as_of']}", fontsize=12)

    simple = nx.Graph(graph.to_undirected(as_view=True))
    if simple.number_of_nodes() <= _STRESS_MAX:
        position = stress_layout(simple)
    else:
        position = nx.spring_layout(simple, seed=0)
    position = {node: np.asarray(xy, dtype=float) for node, xy in position.items()}

    colors = _link_colors()
    roles = {name for name, link in load_model().links.items() if link.role_enum}
    label_links = graph.number_of_edges() <= _LABEL_ALL_LINKS
    # Links joining one pair, either way, bow apart so none hides another.
    pairs: dict[frozenset, int] = {}
    for u, v in graph.edges():
        pairs[frozenset((u, v))] = pairs.get(frozenset((u, v)), 0) + 1
    seen: dict[frozenset, int] = {}
    link_labels = []
    for u, v, data in sorted(graph.edges(data=True), key=lambda e: (str(e[0]), str(e[1]), str(e[2]["type"]))):
        pair = frozenset((u, v))
        k, count = seen.get(pair, 0), pairs[pair]
        seen[pair] = k + 1
        # arc3's bend is relative to the arrow's direction: flip it for links drawn the other way
        rad = 0.0 if count == 1 else (k - (count - 1) / 2) * 0.35
        if count > 1 and str(u) > str(v):
            rad = -rad
        start, end = position[u], position[v]
        color = colors.get(data["type"], "#7f8c8d")
        # an artist, not a patch: a patch's data limits are taken from the arrow clipped to its
        # markers in display coordinates (the costliest part of its shape, a fifth of the
        # picture's time), worked out before the layout sets them; the curve's own extent,
        # reckoned here, keeps a bowed link in view
        ax.add_artist(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, color=color, linewidth=1.1,
                                      shrinkA=9, shrinkB=11, connectionstyle=f"arc3,rad={rad}", zorder=1))
        # arc3's control point (the picture's axes are equal, so data and display agree on it)
        delta = end - start
        control = (start + end) / 2 + rad * np.array([delta[1], -delta[0]])
        if rad:
            ax.update_datalim(_curve_extent(start, control, end))
        if label_links:
            # On the curve a little past its middle: entity names sit under the nodes, and a link's
            # label at the middle of a short link runs into its source's name.
            t = 0.58
            middle = (1 - t) ** 2 * start + 2 * t * (1 - t) * control + t ** 2 * end
            link_labels.append(ax.annotate(
                _link_label(data, roles), middle, xytext=(0, 0), textcoords="offset points", fontsize=7.5, color=color,
                ha="center", va="center", zorder=3, linespacing=1.0,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}))

    nodes = list(graph.nodes(data=True))
    for kind in dict.fromkeys(data.get("kind") for _, data in nodes):
        chosen = [(node, data) for node, data in nodes if data.get("kind") == kind]
        xy = np.array([position[node] for node, _ in chosen])
        ax.scatter(xy[:, 0], xy[:, 1], marker=_MARKERS.get(kind, "^"), zorder=2,
                   s=[420 if node == center else 170 for node, _ in chosen],
                   c=[_PENALISED_COLOR if data.get("penalised") else _UNPENALISED_COLOR for _, data in chosen],
                   edgecolors=["#000000" if node == center else "#ffffff" for node, _ in chosen],
                   linewidths=[2.5 if node == center else 0.8 for node, _ in chosen])
    named = (set(graph.nodes) if graph.number_of_nodes() <= _LABEL_ALL_NODES else
             {center, *graph.predecessors(center), *graph.successors(center)}
             | {node for node, data in nodes if data.get("penalised") or data.get("grouped")})
    # names first (the entity's own, then the penalised, then the rest), then the links' labels
    order = sorted((node for node, _ in nodes if node in named),
                   key=lambda node: (node != center, not graph.nodes[node].get("penalised")))
    node_labels = [ax.annotate(_node_label(graph.nodes[node].get("name") or node), position[node], xytext=(0, 0),
                               textcoords="offset points", zorder=4, linespacing=1.0,
                               fontsize=10 if node == center else 8.5, fontweight="bold" if node == center else "normal",
                               bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.7})
                   for node in order]

    kinds = [kind for kind in dict.fromkeys(data.get("kind") for _, data in nodes)]
    handles = [Line2D([], [], linestyle="none", marker=_MARKERS.get(kind, "^"), markersize=8,
                      markerfacecolor=_UNPENALISED_COLOR, markeredgecolor="#ffffff", label=str(kind)) for kind in kinds]
    handles += [Line2D([], [], linestyle="none", marker="o", markersize=8, markerfacecolor=_PENALISED_COLOR,
                       markeredgecolor="#ffffff", label=f"penalised at {report.manifest['as_of']}"),
                Line2D([], [], linestyle="none", marker="o", markersize=9, markerfacecolor="#ffffff",
                       markeredgecolor="#000000", markeredgewidth=2.5, label="this entity")]
    types = sorted({data["type"] for _, _, data in graph.edges(data=True)}, key=list(colors).index)
    handles += [Line2D([], [], color=colors.get(name, "#7f8c8d"), linewidth=1.5, label=name) for name in types]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False)
    ax.margins(0.12)
    # labels never sit on each other (issue 11.3): each takes the first free spot around its
    # anchor, and one with none is left out; the markers are kept clear too
    left_out = place_labels(fig, [(label, _NODE_SPOTS) for label in node_labels]
                            + [(label, _LINK_SPOTS) for label in link_labels], (ax, list(position.values())))
    if not label_links or len(named) < graph.number_of_nodes() or summary or left_out:
        thinned = [summary] if summary else []
        if not label_links or len(named) < graph.number_of_nodes() or left_out:
            thinned.append("labels thinned")
        text = "; ".join(thinned)
        text = textwrap.fill(text[0].upper() + text[1:] + ": the JSON report lists every entity and link.", 140)
        ax.text(0.0, -0.02, text,
                transform=ax.transAxes, fontsize=7, color="#777777", va="top")
    return fig


# ---- files --------------------------------------------------------------------------------------

def _drawings(report) -> dict:
    """File stem -> figure of each chart the report has."""
    if isinstance(report, SpilloverReport):
        return {"spillover_histogram": change_histogram, "spillover_by_hop": change_by_hop}
    if isinstance(report, CompareReport):
        return {"compare_scatter": score_scatter, **({"compare_sweep": sweep_lines} if report.parameter else {})}
    if isinstance(report, Dossier):
        return {"dossier_neighbourhood": neighbourhood_map}
    raise TypeError(f"no charts for a {type(report).__name__}; expected a SpilloverReport, CompareReport or Dossier.")


def _settle(fig: Figure):
    """Lay ``fig`` out and fix its axes' limits as a draw would, without drawing: what a figure
    needs before its texts and transforms can be measured. Returns the renderer measured with.

    A draw also draws every artist (a dossier's hundred arrows took 0.1-0.2 s a draw, each
    clipped against its nodes' markers), and the layout and the limits are all it settles.
    """
    renderer = fig.canvas.get_renderer()
    engine = fig.get_layout_engine()
    if engine is not None and fig.axes:
        engine.execute(fig)
    for ax in fig.axes:
        ax.apply_aspect()
    return renderer


def _png(fig: Figure, dpi: int) -> bytes:
    """``fig`` as PNG bytes at ``dpi``, drawn once.

    ``savefig`` on a figure with a layout engine draws it twice, once without output to settle
    the layout and once for real, laying it out again each time. The layout is settled here
    once, at the resolution of the file, and the engine then taken off, so the one draw left
    puts every artist where the two draws did (the same bytes, tested).
    """
    fig.set_dpi(dpi)
    if fig.get_layout_engine() is not None:
        _settle(fig)
        fig.set_layout_engine(None)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def chart_pngs(report: SpilloverReport | CompareReport | Dossier, *, dpi: int = DPI) -> dict[str, bytes]:
    """Every chart of the report as PNG bytes, keyed by file stem, for writing to files or
    embedding in a page: ``spillover_histogram`` and ``spillover_by_hop`` for a spillover
    report; ``compare_scatter``, and ``compare_sweep`` for a sweep, for a compare report;
    ``dossier_neighbourhood`` for a dossier."""
    pngs = {}
    for stem, draw in _drawings(report).items():
        with matplotlib.rc_context({"font.family": list(_font_families())}):  # tick labels are made while saving
            pngs[stem] = _png(draw(report), dpi)
    return pngs


def save_charts(report: SpilloverReport | CompareReport | Dossier, folder: str | Path, *, dpi: int = DPI) -> dict[str, Path]:
    """Write each chart of :func:`chart_pngs` as ``<stem>.png`` into ``folder`` (created if missing).

    Returns
    -------
    dict of str to Path
        Path of each file, keyed by its stem.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for stem, png in chart_pngs(report, dpi=dpi).items():
        paths[stem] = folder / f"{stem}.png"
        paths[stem].write_bytes(png)
    return paths
