"""Charts of the reports (DESIGN §7). Spillover: how large the changes are, and how far they
reach. Compare: how one variant's scores sit against another's, and, for a sweep, how collateral
grows with the parameter. Dossier: the entity's neighbourhood, who is penalised in it and through
which links.

Each chart is a :class:`~graphscore.report.svg.Drawing`, written as SVG (:func:`chart_svgs`), its
text sized from DejaVu Sans's widths (:mod:`graphscore.report.fontmetrics`) so that labels are
placed without a font or chart library loaded: drawn with matplotlib, a 10^6-link registry's
second dossier or spillover report spent 1.2-1.8 s importing it and 1-2 s more drawing and
saving its charts (journal, "Charts as SVG").
"""

from __future__ import annotations

import math
import numbers
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from graphscore.analysis.compare import CompareReport
from graphscore.analysis.dossier import Dossier
from graphscore.analysis.spillover import SpilloverReport
from graphscore.model import load_model
from graphscore.report.axes import TITLE_SIZE, Panel, Scale, padded
from graphscore.report.markup import CHART_TITLES
from graphscore.report.svg import Drawing, fmt, text_box

if TYPE_CHECKING:  # imported by the functions drawing a dossier's neighbourhood: the other charts draw no graph
    import networkx as nx

__all__ = ["CHART_TITLES", "change_histogram", "change_by_hop", "score_scatter", "sweep_lines",
           "neighbourhood_map", "summarise_neighbourhood", "Label", "place_labels", "chart_svgs", "save_charts"]

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
# Sizes in points, as the matplotlib figures had them in inches (x 72).
_WIDE, _NARROW, _TALL = (648.0, 288.0), (504.0, 288.0), (504.0, 396.0)


def _message(size: tuple[float, float], title: str, message: str, detail: str) -> Drawing:
    width, height = size
    drawing = Drawing(width, height)
    drawing.text(width / 2, 10, title, size=TITLE_SIZE, anchor="middle", valign="top")
    drawing.text(width / 2, height * 0.5, message, size=14, anchor="middle", valign="center", color="#555555")
    drawing.text(width / 2, height * 0.62, detail, size=9, anchor="middle", valign="center", color="#777777")
    return drawing


def _nothing_affected(size: tuple[float, float], title: str) -> Drawing:
    return _message(size, title, "No entity affected", "the change reaches no entity beyond the one(s) it applies to")


def _panels(drawing: Drawing, count: int, x: Scale, ys: list[Scale], *, top: float, bottom: float = 46.0,
            gap: float = 24.0) -> list[Panel]:
    """``count`` panels side by side across ``drawing``, each left margin fitted to its y labels."""
    slot = drawing.width / count
    panels = []
    for k, y in enumerate(ys):
        panel = Panel(drawing, (0.0, 0.0, 1.0, 1.0), x, y)
        left = k * slot + panel.left_margin() + 6
        panel.box = (left, top, (k + 1) * slot - gap / 2 - 4, drawing.height - bottom)
        panels.append(panel)
    return panels


def _bars(panel: Panel, lefts, rights, heights, *, base: float, edge: str | None = None) -> None:
    for left, right, value in zip(lefts, rights, heights):
        if value == base:
            continue
        y0, y1 = sorted((panel.y(value), panel.y(base)))
        panel.drawing.rect(panel.x(left), y0, panel.x(right) - panel.x(left), y1 - y0, fill=_BAR_COLOR,
                           stroke=edge, stroke_width=0.5 if edge else None)


def _zero_based(low: float, high: float, *, headroom: float = 0.05) -> Scale:
    """A bar chart's value scale: zero included and kept at the edge when all bars lie on one side."""
    low, high = min(low, 0.0), max(high, 0.0)
    if low == high:  # every bar at zero: an axis up to one, as matplotlib draws it
        return Scale(0.0, 1.0)
    scale = padded(low, high, margin=headroom)
    return Scale(0.0 if low == 0 else scale.low, 0.0 if high == 0 else scale.high)


# ---- spillover ----------------------------------------------------------------------------------

def change_histogram(report: SpilloverReport) -> Drawing:
    """Distribution of the score change over the entities the change reaches (``hops > 0``).

    Parameters
    ----------
    report : SpilloverReport

    Returns
    -------
    Drawing
        A histogram of ``change``, with the count axis on a log scale when the counts span more
        than a factor of 20. A dashed line marks the report's ``threshold`` (and ``-threshold``
        when scores fall): a change that large alone moves an entity across it. A picture saying
        "No entity affected" when nothing beyond the sources changes.
    """
    title = "Distribution of score change"
    changes = report.affected.loc[report.affected["hops"] > 0, "change"].to_numpy(float)
    if changes.size == 0:
        return _nothing_affected(_NARROW, title)

    # The square-root rule, bounded. numpy's "auto" sizes bins by the spread of the bulk of the
    # data, and changes that fade geometrically with the hops put the bulk in a sliver near zero:
    # a few thousand of them get well over a hundred bins.
    bins = min(_MAX_BINS, max(_MIN_BINS, math.isqrt(changes.size)))
    counts, edges = np.histogram(changes, bins=bins)
    filled = counts[counts > 0]
    log_counts = bool(filled.max() >= _LOG_COUNT_RATIO * filled.min())

    thresholds = [(sign * report.threshold, label) for sign, present, label in (
        (1, changes.max() > 0, f"threshold {report.threshold:g}"),
        (-1, changes.min() < 0, f"minus threshold ({-report.threshold:g})")) if present]
    x = padded(min([edges[0], *(t for t, _ in thresholds)]), max([edges[-1], *(t for t, _ in thresholds)]))
    # on a log axis the bars stand on a floor half the smallest count below it
    y = padded(filled.min() / 2, filled.max(), log=True, floor=filled.min() / 2) if log_counts \
        else _zero_based(0.0, float(filled.max()))
    drawing = Drawing(*_NARROW)
    (panel,) = _panels(drawing, 1, x, [y], top=30.0)
    _bars(panel, edges[:-1], edges[1:], np.where(counts > 0, counts, y.low), base=y.low, edge="#ffffff")
    for value, _ in thresholds:
        drawing.line(panel.x(value), panel.box[1], panel.x(value), panel.box[3], stroke=_THRESHOLD_COLOR,
                     width=1.2, dash="5,3")
    panel.frame(title=f"{title} ({changes.size} entities reached)", xlabel="change in score",
                ylabel="entities (log scale)" if log_counts else "entities", integer_y=not log_counts)
    if thresholds:
        panel.legend([("dashed", _THRESHOLD_COLOR, label) for _, label in thresholds])
    return drawing


def change_by_hop(report: SpilloverReport) -> Drawing:
    """Entities reached and their summed score change at each hop distance, from ``report.by_hop``.

    Parameters
    ----------
    report : SpilloverReport

    Returns
    -------
    Drawing
        Two bar charts side by side over the hop distance: how many entities, and how much
        change in total, each bar labelled with its value. A picture saying "No entity affected"
        when ``by_hop`` is empty.
    """
    title = "Spillover by hop distance"
    by_hop = report.by_hop
    if by_hop.empty:
        return _nothing_affected(_WIDE, title)

    hops = by_hop["hops"].to_numpy(int)
    columns = (("entities", "entities reached", "{:.0f}"), ("total_change", "summed change in score", "{:.3g}"))
    values = [by_hop[column].to_numpy(float) for column, _, _ in columns]
    drawing = Drawing(*_WIDE)
    x = Scale(hops.min() - 0.6, hops.max() + 0.6)
    # room above (or below) the bars for their labels
    panels = _panels(drawing, 2, x, [_zero_based(v.min(), v.max(), headroom=0.12) for v in values], top=52.0)
    for panel, (column, label, form), value in zip(panels, columns, values):
        _bars(panel, hops - 0.35, hops + 0.35, value, base=0.0)
        for hop, v in zip(hops, value):
            drawing.text(panel.x(hop), panel.y(v) + (-2 if v >= 0 else 2), form.format(v), size=8, anchor="middle",
                         valign="bottom" if v >= 0 else "top")
        drawing.line(panel.box[0], panel.y(0.0), panel.box[2], panel.y(0.0), stroke="#333333", width=0.6)
        panel.frame(title=label, xlabel="hops from the source", integer_y=column == "entities",
                    xticks=[(hop, str(hop)) for hop in hops])
    drawing.text(drawing.width / 2, 8, title, size=TITLE_SIZE, anchor="middle", valign="top")
    return drawing


# ---- compare ------------------------------------------------------------------------------------

# viridis at 0, 0.1125, ..., 0.9 (matplotlib's colormap, sampled): one colour per variant
_VIRIDIS = ("#440154", "#482173", "#433e85", "#38598c", "#2d708e", "#25858e", "#1e9b8a", "#2ab07f", "#51c56a",
            "#85d54a")


def _variant_colors(count: int) -> list[str]:
    if count == 1:
        return [_BAR_COLOR]
    return [_VIRIDIS[round(i / max(count - 1, 1) * (len(_VIRIDIS) - 1))] for i in range(count)]


def _distinct(x: np.ndarray, y: np.ndarray, panel: Panel) -> np.ndarray:
    """The points at distinct places a quarter point apart, in points: thousands of points drawn
    on one spot show as one, and a registry's hundred thousand entities would make a file of
    tens of megabytes."""
    return np.unique(np.round(np.column_stack([panel.x(x), panel.y(y)]).reshape(-1, 2) * 4) / 4, axis=0)


def score_scatter(report: CompareReport) -> Drawing:
    """Each entity's ``total`` under the baseline (x) against its ``total`` under every other
    scored variant (y, one colour per variant), with the line ``y = x``.

    Parameters
    ----------
    report : CompareReport

    Returns
    -------
    Drawing
        Entities with a zero total under both variants of a pair are left out. The axes are
        log-log when the positive totals span more than a factor of 100; a point with a zero on
        either axis cannot be drawn there, and the title says how many were left out. Points
        falling on one spot (a quarter point apart) are drawn once. A picture saying why when
        fewer than two variants scored or no entity has a score.
    """
    title = CHART_TITLES["compare_scatter"]
    scored = report.scored
    if len(scored) < 2:
        return _message(_TALL, title, "Nothing to compare", "fewer than two variants scored")
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
        return _message(_TALL, title, "No entity has a score", "under any of the variants compared")
    positive = values[values > 0]
    log = bool(positive.size > 0 and positive.max() >= _LOG_SCORE_RATIO * positive.min())
    low, high = (positive.min(), positive.max()) if log else (min(values.min(), 0.0), values.max())
    scale = padded(low, high, log=log)
    hidden = 0
    drawable = []
    for label, x, y in pairs:
        if log:
            shown = (x > 0) & (y > 0)
            hidden += int((~shown).sum())
            x, y = x[shown], y[shown]
        drawable.append((label, x, y))
    drawing = Drawing(*_TALL)
    heading = title + (f"\n({hidden} point(s) with a zero score not drawn on log axes)" if hidden else "")
    (panel,) = _panels(drawing, 1, scale, [scale], top=16.0 + text_box(heading, 11)[1])
    radius = 2.1 if values.size < 4_000 else 1.1  # thousands of points: small ones show density, not a blot
    colors = _variant_colors(len(pairs))
    for (label, x, y), color in zip(drawable, colors):
        for px, py in _distinct(x, y, panel):
            drawing.circle(px, py, radius, fill=color, opacity=0.7)
    drawing.line(panel.x(low), panel.y(low), panel.x(high), panel.y(high), stroke="#777777", width=1, dash="5,3")
    suffix = " (log scale)" if log else ""
    panel.frame(xlabel=f"total under {baseline}{suffix}",
                ylabel=(f"total under {others[0]}" if len(others) == 1 else "total under the variant") + suffix)
    drawing.text((panel.box[0] + panel.box[2]) / 2, panel.box[1] - 6, heading, size=11, anchor="middle",
                 valign="bottom")
    panel.legend([("o", color, str(label)) for (label, _, _), color in zip(pairs, colors)]
                 + [("dashed", "#777777", "y = x")], size=8)
    return drawing


def sweep_lines(report: CompareReport) -> Drawing:
    """Collateral count and mean inherited score against the swept parameter's value.

    Parameters
    ----------
    report : CompareReport
        From :func:`~graphscore.analysis.compare.sweep`.

    Returns
    -------
    Drawing
        Two line charts side by side over the parameter's values (evenly spaced and named when
        they are not numbers); a value whose variant failed is a red cross on the axis. A picture
        saying why when the report is not a sweep.
    """
    title = CHART_TITLES["compare_sweep"]
    if report.parameter is None:
        return _message(_WIDE, title, "Not a sweep", "the report compares policies, not values of one parameter")
    variants = report.variants
    raw = variants["value"].tolist()
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in raw)
    x = np.array(raw, dtype=float) if numeric else np.arange(len(raw), dtype=float)
    ok = (variants["status"] == "ok").to_numpy()
    columns = (("collateral", "collateral entities"), ("mean_inherited", "mean inherited score"))
    values = [variants.loc[ok, column].to_numpy(float) for column, _ in columns]
    drawing = Drawing(*_WIDE)
    xscale = padded(x.min(), x.max())
    panels = _panels(drawing, 2, xscale, [_zero_based(0.0, float(v.max()) if v.size else 1.0) for v in values],
                     top=52.0)
    for panel, (column, label), value in zip(panels, columns, values):
        points = [(panel.x(a), panel.y(b)) for a, b in zip(x[ok], value)]
        if len(points) > 1:
            drawing.polyline(points, stroke=_BAR_COLOR, width=1.5)
        for px, py in points:
            drawing.circle(px, py, 3, fill=_BAR_COLOR)
        for a in x[~ok]:
            drawing.marker("x", panel.x(a), panel.y(0.0), 9, fill=_FAILED_COLOR)
        panel.frame(title=label, xlabel=str(report.parameter), integer_y=column == "collateral",
                    xticks=None if numeric else [(k, str(v)) for k, v in zip(x, raw)])
        if (~ok).any():
            panel.legend([("x", _FAILED_COLOR, "failed")], size=8)
    drawing.text(drawing.width / 2, 8, title, size=TITLE_SIZE, anchor="middle", valign="top")
    return drawing


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
_LABEL_GAP = 1.0  # points kept clear between two labels' white boxes
_MARKER_CLEAR = 12  # points: the square around each node's marker that labels keep clear of
_ALIGN = {"left": "start", "center": "middle", "right": "end"}


@dataclass
class Label:
    """A text to place near ``(x, y)`` (points, y down), on a white box ``pad`` points wider than
    the text; :func:`place_labels` sets ``box`` (the white box's x0, y0, x1, y1) and ``spot``."""

    text: str
    x: float
    y: float
    size: float
    spots: list
    bold: bool = False
    color: str = "#000000"
    pad: float = 1.0
    opacity: float = 0.7
    box: tuple | None = None
    spot: tuple | None = None

    def box_at(self, dx: float, dy: float, ha: str, va: str) -> tuple[float, float, float, float]:
        """The white box with the text ``dx`` right and ``dy`` up of the anchor, aligned there by
        ``ha`` and ``va`` (matplotlib's alignments: the spots were written for them)."""
        width, height = text_box(self.text, self.size, bold=self.bold)
        x, y = self.x + dx, self.y - dy
        left = {"left": x, "center": x - width / 2, "right": x - width}[ha]
        top = {"top": y, "center": y - height / 2, "bottom": y - height}[va]
        return left - self.pad, top - self.pad, left + width + self.pad, top + height + self.pad

    def draw(self, drawing: Drawing) -> None:
        dx, dy, ha, va = self.spot
        x0, y0, x1, y1 = self.box
        drawing.rect(x0, y0, x1 - x0, y1 - y0, fill="#ffffff", rx=self.pad, opacity=self.opacity, css_class="label")
        drawing.text(self.x + dx, self.y - dy, self.text, size=self.size, anchor=_ALIGN[ha], valign=va,
                     bold=self.bold, color=self.color, css_class="label")


def _overlap(a, b, gap: float = 0.0) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def place_labels(labels: list[Label], area: tuple[float, float, float, float],
                 taken: list | None = None) -> list[Label]:
    """Give each label the first of its spots where its box overlaps no label placed before it
    and nothing in ``taken`` (boxes x0, y0, x1, y1: the markers) and lies inside ``area``; a label
    with no free spot is left out. Returns the labels placed, in the order given.

    ``labels`` come most important first: the first takes its first spot whatever is under it
    (the entity a picture is about is always named). Deterministic: the same labels place the
    same way.

    Examples
    --------
    >>> crowd = [Label(f"label {k}", 100, 70, 10, _NODE_SPOTS) for k in range(40)]
    >>> placed = place_labels(crowd, (0, 0, 200, 140))
    >>> 0 < len(placed) < 40, placed[0].spot == _NODE_SPOTS[0]
    (True, True)
    """
    taken = list(taken or [])
    placed = []
    for k, label in enumerate(labels):
        for spot in label.spots:
            box = label.box_at(*spot)
            # a spot running off the picture is no spot: the file would cut the label
            inside = area[0] <= box[0] and box[2] <= area[2] and area[1] <= box[1] and box[3] <= area[3]
            if k == 0 or (inside and not any(_overlap(box, other, _LABEL_GAP) for other in taken)):
                label.box, label.spot = box, spot
                taken.append(box)
                placed.append(label)
                break
    return placed


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



def _arrow(drawing: Drawing, start: np.ndarray, control: np.ndarray, end: np.ndarray, color: str) -> None:
    """A quadratic Bezier link from ``start`` to ``end`` (points) with a filled head, its ends
    kept off the markers (9 points at the source, 11 at the target, as matplotlib's shrinkA and
    shrinkB had them)."""
    def at(t):
        t = np.asarray(t, dtype=float)[..., None]
        return (1 - t) ** 2 * start + 2 * t * (1 - t) * control + t ** 2 * end

    # where the curve is 9 and 11 points from its ends: its distance from an end grows along its
    # half nearer that end, sampled at 1/64 of it and interpolated
    half = np.linspace(0.0, 0.5, 33)
    t0 = float(np.interp(9.0, np.maximum.accumulate(np.hypot(*(at(half) - start).T)), half))
    t1 = float(np.interp(11.0, np.maximum.accumulate(np.hypot(*(at(1 - half) - end).T)), 1 - half))
    # the piece of the curve between t0 and t1: its ends, and its control point by blossoming
    a, b = at(t0), at(t1)
    c = (1 - t0) * (1 - t1) * start + ((1 - t0) * t1 + t0 * (1 - t1)) * control + t0 * t1 * end
    direction = b - c if np.hypot(*(b - c)) > 1e-9 else b - a
    direction = direction / max(np.hypot(*direction), 1e-9)
    normal = np.array([-direction[1], direction[0]])
    base = b - 5.5 * direction
    drawing.path(f"M{_xy(a)} Q{_xy(c)} {_xy(base)}", stroke=color, width=1.1)
    drawing.polygon([b, base + 2.4 * normal, base - 2.4 * normal], fill=color)


def _xy(point) -> str:
    return f"{fmt(point[0])},{fmt(point[1])}"


def neighbourhood_map(report: Dossier) -> Drawing:
    """The entity's neighbourhood: entities within the dossier's radius over links in force at
    its ``as_of``, as ``report.neighbourhood`` holds them.

    Parameters
    ----------
    report : Dossier

    Returns
    -------
    Drawing
        Entities penalised at ``as_of`` in red, others grey; companies as squares, people as
        circles, organisations as diamonds; the entity itself larger and outlined in black.
        One arrow per link (source to target as written, parallel links bowed apart), coloured
        by link type and labelled with its share or officer role; names and link labels never
        sit on each other (:func:`place_labels`). A deterministic layout: the same data draws
        the same picture. A picture saying so when the entity has no link.
    """
    import networkx as nx

    center = report.entity["id"]
    graph, summary = summarise_neighbourhood(report.neighbourhood, center)
    width, height = 720.0, 504.0
    title = "Neighbourhood of " + textwrap.shorten(str(report.entity["name"]), width=48, placeholder="…")
    if graph.number_of_edges() == 0:
        return _message((width, height), title, "No link in force",
                        f"the entity has no link at {report.manifest['as_of']}")
    drawing = Drawing(width, height)
    whole = report.neighbourhood
    penalised = sum(1 for _, data in whole.nodes(data=True) if data.get("penalised"))

    # the legend, right of the picture: kinds, penalised, the entity, link types
    colors = _link_colors()
    nodes = list(graph.nodes(data=True))
    kinds = list(dict.fromkeys(data.get("kind") for _, data in nodes))
    types = sorted({data["type"] for _, _, data in graph.edges(data=True)}, key=list(colors).index)
    legend = ([(_MARKERS.get(kind, "^"), _UNPENALISED_COLOR, "#ffffff", str(kind)) for kind in kinds]
              + [("o", _PENALISED_COLOR, "#ffffff", f"penalised at {report.manifest['as_of']}"),
                 ("o", "#ffffff", "#000000", "this entity")]
              + [("line", colors.get(name, "#7f8c8d"), None, name) for name in types])
    legend_width = max(text_box(label, 9)[0] for *_, label in legend) + 34
    # the picture's area: under the title, left of the legend, above the note
    area = (8.0, 8.0 + text_box("A\nA", 12)[1] + 10, width - legend_width - 8, height - 34.0)
    # two short lines: one long one runs off the picture, the legend taking the right of it
    drawing.text((area[0] + area[2]) / 2, 8, f"{title}\n{whole.number_of_nodes()} entities, "
                 f"{whole.number_of_edges()} links, {penalised} penalised at {report.manifest['as_of']}",
                 size=12, anchor="middle", valign="top")

    simple = nx.Graph(graph.to_undirected(as_view=True))
    if simple.number_of_nodes() <= _STRESS_MAX:
        position = stress_layout(simple)
    else:
        position = nx.spring_layout(simple, seed=0)
    position = {node: np.asarray(xy, dtype=float) for node, xy in position.items()}

    roles = {name for name, link in load_model().links.items() if link.role_enum}
    # Links joining one pair, either way, bow apart so none hides another.
    pairs: dict[frozenset, int] = {}
    for u, v in graph.edges():
        pairs[frozenset((u, v))] = pairs.get(frozenset((u, v)), 0) + 1
    seen: dict[frozenset, int] = {}
    links = []
    extent = [np.array(list(position.values()))]
    for u, v, data in sorted(graph.edges(data=True), key=lambda e: (str(e[0]), str(e[1]), str(e[2]["type"]))):
        pair = frozenset((u, v))
        k, count = seen.get(pair, 0), pairs[pair]
        seen[pair] = k + 1
        # the bend is relative to the link's direction: flip it for links drawn the other way
        rad = 0.0 if count == 1 else (k - (count - 1) / 2) * 0.35
        if count > 1 and str(u) > str(v):
            rad = -rad
        start, end = position[u], position[v]
        delta = end - start
        control = (start + end) / 2 + rad * np.array([delta[1], -delta[0]])
        if rad:
            extent.append(_curve_extent(start, control, end))
        links.append((start, control, end, data))

    # equal scales on both axes, the drawing's extent plus 12 % each side, centred in the area
    points = np.concatenate(extent)
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1e-9)
    low, high = low - 0.12 * span, high + 0.12 * span
    scale = min((area[2] - area[0]) / (high[0] - low[0]), (area[3] - area[1]) / (high[1] - low[1]))
    middle = (low + high) / 2
    centre = np.array([(area[0] + area[2]) / 2, (area[1] + area[3]) / 2])

    def to_points(xy: np.ndarray) -> np.ndarray:
        return centre + (xy - middle) * scale * np.array([1.0, -1.0])  # y up in the layout, down in SVG

    label_links = graph.number_of_edges() <= _LABEL_ALL_LINKS
    link_labels = []
    for start, control, end, data in links:
        color = colors.get(data["type"], "#7f8c8d")
        _arrow(drawing, to_points(start), to_points(control), to_points(end), color)
        if label_links:
            # On the curve a little past its middle: entity names sit under the nodes, and a link's
            # label at the middle of a short link runs into its source's name.
            t = 0.58
            anchor = to_points((1 - t) ** 2 * start + 2 * t * (1 - t) * control + t ** 2 * end)
            link_labels.append(Label(_link_label(data, roles), *anchor, 7.5, _LINK_SPOTS, color=color,
                                     pad=0.15 * 7.5, opacity=0.85))

    anchors = {node: to_points(position[node]) for node in graph.nodes}
    for node, data in nodes:
        own = node == center
        drawing.marker(_MARKERS.get(data.get("kind"), "^"), *anchors[node], 20.5 if own else 13.0,
                       fill=_PENALISED_COLOR if data.get("penalised") else _UNPENALISED_COLOR,
                       stroke="#000000" if own else "#ffffff", width=2.5 if own else 0.8)
    named = (set(graph.nodes) if graph.number_of_nodes() <= _LABEL_ALL_NODES else
             {center, *graph.predecessors(center), *graph.successors(center)}
             | {node for node, data in nodes if data.get("penalised") or data.get("grouped")})
    # names first (the entity's own, then the penalised, then the rest), then the links' labels
    order = sorted((node for node, _ in nodes if node in named),
                   key=lambda node: (node != center, not graph.nodes[node].get("penalised")))
    node_labels = [Label(_node_label(graph.nodes[node].get("name") or node), *anchors[node],
                         10.0 if node == center else 8.5, _NODE_SPOTS, bold=node == center, pad=0.1 * 8.5)
                   for node in order]
    half = _MARKER_CLEAR / 2
    markers = [(x - half, y - half, x + half, y + half) for x, y in anchors.values()]
    placed = place_labels(node_labels + link_labels, (0.0, 0.0, width, height), markers)
    # link labels under the names, as the layers were in matplotlib (zorder 3 and 4)
    for label in sorted(placed, key=lambda label: label.spots is _NODE_SPOTS):
        label.draw(drawing)
    left_out = len(node_labels) + len(link_labels) - len(placed)

    row = text_box("A", 9)[1] + 3
    for k, (shape, fill, edge, label) in enumerate(legend):
        x, y = area[2] + 14, area[1] + row * (k + 0.5)
        if shape == "line":
            drawing.line(x - 8, y, x + 8, y, stroke=fill, width=1.5)
        else:
            own = label == "this entity"
            drawing.marker(shape, x, y, 9 if own else 8, fill=fill, stroke=edge, width=2.5 if own else 0.8)
        drawing.text(x + 14, y, label, size=9, valign="center")
    if not label_links or len(named) < graph.number_of_nodes() or summary or left_out:
        thinned = [summary] if summary else []
        if not label_links or len(named) < graph.number_of_nodes() or left_out:
            thinned.append("labels thinned")
        text = "; ".join(thinned)
        text = textwrap.fill(text[0].upper() + text[1:] + ": the JSON report lists every entity and link.", 140)
        drawing.text(area[0], area[3] + 4, text, size=7, color="#777777", valign="top", css_class="note")
    return drawing


# ---- files --------------------------------------------------------------------------------------

def _drawings(report) -> dict:
    """File stem -> function drawing each chart the report has."""
    if isinstance(report, SpilloverReport):
        return {"spillover_histogram": change_histogram, "spillover_by_hop": change_by_hop}
    if isinstance(report, CompareReport):
        return {"compare_scatter": score_scatter, **({"compare_sweep": sweep_lines} if report.parameter else {})}
    if isinstance(report, Dossier):
        return {"dossier_neighbourhood": neighbourhood_map}
    raise TypeError(f"no charts for a {type(report).__name__}; expected a SpilloverReport, CompareReport or Dossier.")


def chart_svgs(report: SpilloverReport | CompareReport | Dossier) -> dict[str, str]:
    """Every chart of the report as SVG text, keyed by file stem, for writing to files or
    embedding in a page: ``spillover_histogram`` and ``spillover_by_hop`` for a spillover
    report; ``compare_scatter``, and ``compare_sweep`` for a sweep, for a compare report;
    ``dossier_neighbourhood`` for a dossier."""
    return {stem: draw(report).to_svg() for stem, draw in _drawings(report).items()}


def save_charts(report: SpilloverReport | CompareReport | Dossier, folder: str | Path) -> dict[str, Path]:
    """Write each chart of :func:`chart_svgs` as ``<stem>.svg`` into ``folder`` (created if missing).

    Returns
    -------
    dict of str to Path
        Path of each file, keyed by its stem.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for stem, svg in chart_svgs(report).items():
        paths[stem] = folder / f"{stem}.svg"
        paths[stem].write_text(svg, encoding="utf-8")
    return paths
