"""Charts of a spillover report (DESIGN §7): how large the changes are, and how far they reach.

Figures are built as :class:`matplotlib.figure.Figure` objects on an Agg canvas, never through
``pyplot``: pyplot keeps a global figure registry and picks a backend from the environment, and a
library that renders reports on a server or in a notebook should change neither.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from graphscore.report.spillover import SpilloverReport

__all__ = ["DPI", "change_histogram", "change_by_hop", "chart_pngs", "save_charts"]

DPI = 110

# Fewer bins hide the shape of a small report; more turn a large one into noise.
_MIN_BINS, _MAX_BINS = 10, 60
# A long tail (a few strong changes, many faint ones) hides in a linear count axis; switch to a
# log axis once the fullest bin holds this many times the emptiest non-empty one.
_LOG_COUNT_RATIO = 20
_BAR_COLOR = "#3b6ea8"
_THRESHOLD_COLOR = "#c0392b"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas: PNG output without a global backend
    return fig


def _nothing_affected(fig: Figure, title: str) -> Figure:
    fig.suptitle(title)
    fig.text(0.5, 0.5, "No entity affected", ha="center", va="center", fontsize=14, color="#555555")
    fig.text(0.5, 0.38, "the change reaches no entity beyond the one(s) it applies to",
             ha="center", va="center", fontsize=9, color="#777777")
    return fig


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


# File stem -> figure: the names save_charts writes and the Markdown and HTML reports refer to.
_CHARTS = {"spillover_histogram": change_histogram, "spillover_by_hop": change_by_hop}


def chart_pngs(report: SpilloverReport, *, dpi: int = DPI) -> dict[str, bytes]:
    """Every chart of the report as PNG bytes, keyed by file stem (``spillover_histogram``,
    ``spillover_by_hop``), for writing to files or embedding in a page."""
    pngs = {}
    for stem, draw in _CHARTS.items():
        buffer = io.BytesIO()
        draw(report).savefig(buffer, format="png", dpi=dpi)
        pngs[stem] = buffer.getvalue()
    return pngs


def save_charts(report: SpilloverReport, folder: str | Path, *, dpi: int = DPI) -> dict[str, Path]:
    """Write ``spillover_histogram.png`` and ``spillover_by_hop.png`` into ``folder`` (created if
    missing).

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
