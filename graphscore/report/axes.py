"""Axes of the bar, line and scatter charts: a linear or log scale, its ticks and their labels, and
a panel that maps data to points in a :class:`~graphscore.report.svg.Drawing`.

Ticks follow the rules matplotlib's default locators follow: on a linear axis, the "nicest" step
(1, 2, 2.5 or 5 times a power of ten) giving at most ``most`` intervals (``MaxNLocator``); on a
log axis, each power of ten, labelled ``10³``, and 2x and 5x each power when fewer than three
powers fall in the range (``LogLocator``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from graphscore.report.svg import Drawing, text_box

__all__ = ["Scale", "linear_ticks", "log_ticks", "Panel"]

_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
TICK_SIZE, LABEL_SIZE, TITLE_SIZE = 10.0, 10.0, 12.0
_AXIS_COLOR = "#333333"


def linear_ticks(low: float, high: float, *, most: int = 8, integer: bool = False) -> list[float]:
    """Ticks at multiples of the smallest nice step dividing [low, high] into at most ``most``
    intervals, covering the range (the first at or below ``low``, the last at or above ``high``).

    Examples
    --------
    >>> linear_ticks(0, 7.3)
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    >>> linear_ticks(0, 0.013, most=5)
    [0.0, 0.005, 0.01, 0.015]
    >>> linear_ticks(0, 3, integer=True, most=12)
    [0.0, 1.0, 2.0, 3.0]
    """
    if not high > low:
        high = low + 1.0
    raw = (high - low) / most
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in _STEPS:
        step = factor * power
        if integer and (step < 1 or step != int(step)):
            continue
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
        if last - first <= most:
            break
    else:  # a step of ten powers always fits; for integers the loop reaches here only below 1
        step = max(1.0, 10 * power)
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(k * step, 12) + 0.0 for k in range(first, last + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten covering [low, high] (low > 0); with 2x and 5x each when fewer than three powers lie inside.

    Examples
    --------
    >>> log_ticks(3, 2000)
    [1.0, 10.0, 100.0, 1000.0, 10000.0]
    >>> log_ticks(1, 30)
    [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
    """
    first, last = math.floor(math.log10(low) + 1e-9), math.ceil(math.log10(high) - 1e-9)
    if last == first:
        last += 1
    ticks = [10.0 ** k for k in range(first, last + 1)]
    if sum(low <= t <= high for t in ticks) < 3:
        ticks = sorted({t * f for t in ticks for f in (1, 2, 5) if t * f <= ticks[-1]})
    return ticks


def tick_label(value: float, ticks: list[float], log: bool) -> str:
    """A tick's label: ``10³`` or ``2×10¹`` on a log axis, else as many decimals as the step needs.

    Examples
    --------
    >>> tick_label(1000.0, [], True), tick_label(0.02, [], True), tick_label(0.25, [0.0, 0.25, 0.5], False)
    ('10³', '2×10⁻²', '0.25')
    """
    if log:
        exponent = math.floor(math.log10(value) + 1e-9)
        coefficient = round(value / 10.0 ** exponent)
        power = f"10{str(exponent).translate(_SUPERSCRIPTS)}"
        return power if coefficient == 1 else f"{coefficient}×{power}"
    step = min((b - a for a, b in zip(ticks, ticks[1:])), default=1.0) or 1.0
    if abs(value) >= 1e6 or (value and step < 1e-4):
        return f"{value:.3g}"
    # as many decimals as the step has: 0.25 needs two, 2.5 one, 5 none
    decimals = next(d for d in range(13) if abs(round(step, d) - step) <= 1e-9 * step)
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


@dataclass
class Scale:
    """Data range ``[low, high]`` on a linear or log axis; ``fraction`` maps a value into [0, 1]."""

    low: float
    high: float
    log: bool = False

    def fraction(self, value):
        """Where ``value`` (a number or an array) falls between the ends, 0 at ``low``, 1 at ``high``."""
        if self.log:
            return (np.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        return (np.asarray(value, dtype=float) - self.low) / (self.high - self.low)

    def ticks(self, *, integer: bool = False, most: int = 8) -> list[float]:
        found = log_ticks(self.low, self.high) if self.log else linear_ticks(self.low, self.high, most=most,
                                                                               integer=integer)
        return [t for t in found if self.low - 1e-12 * abs(self.high - self.low) <= t
                <= self.high + 1e-12 * abs(self.high - self.low)]


def padded(low: float, high: float, *, log: bool = False, margin: float = 0.05, floor: float | None = None) -> Scale:
    """A scale over [low, high] with ``margin`` of the range added each side (matplotlib's default
    margins), in log space on a log scale; ``floor`` keeps the low end (a bar's base at zero)."""
    if log:
        a, b = math.log10(low), math.log10(high)
        pad = (b - a or 1.0) * margin
        return Scale(10 ** (a - pad) if floor is None else floor, 10 ** (b + pad), True)
    pad = (high - low or abs(high) or 1.0) * margin
    return Scale(low - pad if floor is None else floor, high + pad)


class Panel:
    """A plot area of a drawing, ``(x0, y0, x1, y1)`` in points, with an x and a y scale.

    :meth:`frame` draws the left and bottom axes with their ticks, labels and the title.
    """

    def __init__(self, drawing: Drawing, box: tuple[float, float, float, float], x: Scale, y: Scale):
        self.drawing, self.box, self.xscale, self.yscale = drawing, box, x, y

    def x(self, value):
        """Points from the left of the drawing of an x value (or an array of them)."""
        return self.box[0] + self.xscale.fraction(value) * (self.box[2] - self.box[0])

    def y(self, value):
        """Points from the top of the drawing of a y value (or an array of them)."""
        return self.box[3] - self.yscale.fraction(value) * (self.box[3] - self.box[1])

    def frame(self, *, title: str = "", xlabel: str = "", ylabel: str = "", integer_y: bool = False,
              xticks: list[tuple[float, str]] | None = None) -> None:
        """Axes lines, ticks and their labels, axis labels and the title. ``xticks`` gives the x
        ticks and their labels (bars at whole hops, named sweep values) instead of the scale's."""
        d, (x0, y0, x1, y1) = self.drawing, self.box
        d.line(x0, y1, x1, y1, stroke=_AXIS_COLOR, width=0.8)
        d.line(x0, y0, x0, y1, stroke=_AXIS_COLOR, width=0.8)
        ys = self.yscale.ticks(integer=integer_y)
        for value in ys:
            y = self.y(value)
            d.line(x0 - 3.5, y, x0, y, stroke=_AXIS_COLOR, width=0.8)
            d.text(x0 - 5, y, tick_label(value, ys, self.yscale.log), size=TICK_SIZE, anchor="end", valign="center")
        if xticks is None:
            xs = self.xscale.ticks()
            xticks = [(value, tick_label(value, xs, self.xscale.log)) for value in xs]
        for value, label in xticks:
            x = self.x(value)
            d.line(x, y1, x, y1 + 3.5, stroke=_AXIS_COLOR, width=0.8)
            d.text(x, y1 + 5, label, size=TICK_SIZE, anchor="middle", valign="top")
        if xlabel:
            d.text((x0 + x1) / 2, y1 + 8 + text_box("0", TICK_SIZE)[1], xlabel, size=LABEL_SIZE, anchor="middle",
                   valign="top")
        if ylabel:
            widest = max((text_box(tick_label(v, ys, self.yscale.log), TICK_SIZE)[0] for v in ys), default=0.0)
            d.text(x0 - 9 - widest, (y0 + y1) / 2, ylabel, size=LABEL_SIZE, anchor="middle", valign="bottom",
                   rotate=True)
        if title:
            d.text((x0 + x1) / 2, y0 - 6, title, size=TITLE_SIZE, anchor="middle", valign="bottom")

    def left_margin(self) -> float:
        """Points the y tick labels and the y label take left of the panel."""
        ys = self.yscale.ticks()
        widest = max((text_box(tick_label(v, ys, self.yscale.log), TICK_SIZE)[0] for v in ys), default=0.0)
        return widest + 12 + text_box("0", LABEL_SIZE)[1]

    def legend(self, entries: list[tuple[str, str, str]], *, size: float = 9.0) -> None:
        """A legend in the panel's upper right corner: ``(kind, colour, label)`` entries, ``kind``
        one of ``"line"``, ``"dashed"`` or a marker name."""
        d, (x0, y0, x1, y1) = self.drawing, self.box
        row = text_box("0", size)[1] + 2
        width = max(text_box(label, size)[0] for _, _, label in entries) + 34
        left, top = x1 - width - 4, y0 + 4
        d.rect(left, top, width, row * len(entries) + 6, fill="#ffffff", stroke="#cccccc", stroke_width=0.8,
               rx=2, opacity=0.85)
        for k, (kind, color, label) in enumerate(entries):
            y = top + 3 + row * (k + 0.5)
            if kind in ("line", "dashed"):
                d.line(left + 6, y, left + 26, y, stroke=color, width=1.5, dash="5,3" if kind == "dashed" else None)
            else:
                d.marker(kind, left + 16, y, 6, fill=color)
            d.text(left + 30, y, label, size=size, valign="center")
