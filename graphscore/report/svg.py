"""SVG pictures written as text: the few shapes the report charts draw, every string from the data
escaped, sizes in points (1/72 inch), text measured by :mod:`graphscore.report.fontmetrics`.

The charts were drawn with matplotlib, whose import, font loading and rendering took 1.2-1.8 s of
a report's start and a second or more of its drawing; a chart here is a few hundred elements of
text. Determinism: coordinates are written rounded to a hundredth of a point, so the same data
writes the same bytes.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from graphscore.report.fontmetrics import ASCENT, DESCENT, text_width
from graphscore.report.markup import shown

__all__ = ["FONT_FAMILY", "Drawing", "text_box", "fmt"]

# DejaVu Sans first (its widths size the labels); the CJK fonts after it draw the Chinese, Japanese
# and Korean names it has no letters for, where the viewer has one of them.
FONT_FAMILY = ("DejaVu Sans, Bitstream Vera Sans, Noto Sans CJK SC, Noto Sans CJK JP, WenQuanYi Micro Hei, "
               "WenQuanYi Zen Hei, Droid Sans Fallback, sans-serif")
# Characters XML 1.0 cannot hold at all (C0 controls but tab and newline, lone surrogates, U+FFFE/F):
# a name carrying one would make the file unreadable, so it is written as U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def fmt(value: float) -> str:
    """A coordinate as written: a hundredth of a point, no trailing zeros.

    Examples
    --------
    >>> fmt(1.0), fmt(2.345), fmt(-0.001)
    ('1', '2.35', '0')
    """
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text(value) -> str:
    """Data as SVG character data or attribute value: bidirectional controls shown as marks
    (as every report shows them), characters XML cannot hold replaced, markup escaped."""
    return escape(_NOT_XML.sub("\ufffd", shown(str(value))), {'"': "&quot;"})


def text_box(text: str, size: float, *, bold: bool = False) -> tuple[float, float]:
    """Width and height in points of ``text`` (lines split at ``\\n``) at ``size`` points.

    Examples
    --------
    >>> w, h = text_box("a\\nbb", 10)
    >>> round(w, 2), round(h, 2)
    (12.7, 23.28)
    """
    lines = text.split("\n")
    return max(text_width(line, size, bold=bold) for line in lines), len(lines) * (ASCENT + DESCENT) * size


class Drawing:
    """An SVG picture, ``width`` by ``height`` points, its elements in drawing order (the last on
    top). Jupyter shows it (``_repr_svg_``); :meth:`to_svg` gives the file's text.

    Examples
    --------
    >>> d = Drawing(100, 50)
    >>> [round(v, 2) for v in d.text(50, 25, "A & <B>", size=10, anchor="middle", valign="center")]
    [27.69, 19.18, 72.31, 30.82]
    >>> "A &amp; &lt;B&gt;</text>" in d.to_svg()
    True
    """

    def __init__(self, width: float, height: float):
        self.width, self.height = width, height
        self.elements: list[str] = []

    def __repr__(self) -> str:
        return f"<Drawing {fmt(self.width)}x{fmt(self.height)} pt, {len(self.elements)} elements>"

    def to_svg(self) -> str:
        """The picture as a standalone SVG document."""
        w, h = fmt(self.width), fmt(self.height)
        return (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}pt" height="{h}pt" viewBox="0 0 {w} {h}" '
                f'font-family="{FONT_FAMILY}">\n'
                f'<rect width="{w}" height="{h}" fill="#ffffff"/>\n' + "\n".join(self.elements) + "\n</svg>\n")

    def _repr_svg_(self) -> str:
        return self.to_svg()

    @staticmethod
    def _style(fill=None, stroke=None, width=None, dash=None, opacity=None) -> str:
        parts = [f'fill="{fill or "none"}"']
        if stroke:
            parts.append(f'stroke="{stroke}"')
            if width is not None:
                parts.append(f'stroke-width="{fmt(width)}"')
            if dash:
                parts.append(f'stroke-dasharray="{dash}"')
        if opacity is not None:
            parts.append(f'opacity="{fmt(opacity)}"')
        return " ".join(parts)

    def rect(self, x, y, width, height, *, fill=None, stroke=None, stroke_width=None, rx=0.0, opacity=None,
             css_class=None) -> None:
        css = f' class="{css_class}"' if css_class else ""
        corner = f' rx="{fmt(rx)}"' if rx else ""
        self.elements.append(f'<rect{css} x="{fmt(x)}" y="{fmt(y)}" width="{fmt(width)}" '
                             f'height="{fmt(height)}"{corner} {self._style(fill, stroke, stroke_width, opacity=opacity)}/>')

    def line(self, x1, y1, x2, y2, *, stroke, width=1.0, dash=None) -> None:
        self.elements.append(f'<line x1="{fmt(x1)}" y1="{fmt(y1)}" x2="{fmt(x2)}" y2="{fmt(y2)}" '
                             f'{self._style(None, stroke, width, dash)}/>')

    def polyline(self, points, *, stroke, width=1.0, dash=None) -> None:
        self.elements.append(f'<polyline points="{" ".join(f"{fmt(x)},{fmt(y)}" for x, y in points)}" '
                             f'{self._style(None, stroke, width, dash)}/>')

    def polygon(self, points, *, fill, stroke=None, width=None, opacity=None) -> None:
        self.elements.append(f'<polygon points="{" ".join(f"{fmt(x)},{fmt(y)}" for x, y in points)}" '
                             f'{self._style(fill, stroke, width, opacity=opacity)}/>')

    def circle(self, cx, cy, r, *, fill, stroke=None, width=None, opacity=None) -> None:
        self.elements.append(f'<circle cx="{fmt(cx)}" cy="{fmt(cy)}" r="{fmt(r)}" '
                             f'{self._style(fill, stroke, width, opacity=opacity)}/>')

    def path(self, d: str, *, stroke, width=1.0, fill=None) -> None:
        self.elements.append(f'<path d="{d}" {self._style(fill, stroke, width)}/>')

    def marker(self, shape: str, x, y, size, *, fill, stroke=None, width=None, opacity=None) -> None:
        """A marker ``size`` points across centred on ``(x, y)``: ``"s"`` square, ``"D"`` diamond,
        ``"o"`` circle, ``"x"`` cross, anything else a triangle (matplotlib's marker names)."""
        h = size / 2
        if shape == "o":
            self.circle(x, y, h, fill=fill, stroke=stroke, width=width, opacity=opacity)
        elif shape == "s":
            self.rect(x - h, y - h, size, size, fill=fill, stroke=stroke, stroke_width=width, opacity=opacity)
        elif shape == "D":
            self.polygon([(x, y - h), (x + h, y), (x, y + h), (x - h, y)], fill=fill, stroke=stroke, width=width,
                         opacity=opacity)
        elif shape == "x":
            self.line(x - h, y - h, x + h, y + h, stroke=fill, width=width or 1.5)
            self.line(x - h, y + h, x + h, y - h, stroke=fill, width=width or 1.5)
        else:
            self.polygon([(x, y - h), (x + h, y + h * 0.8), (x - h, y + h * 0.8)], fill=fill, stroke=stroke,
                         width=width, opacity=opacity)

    def text(self, x, y, text, *, size, anchor="start", valign="baseline", bold=False, color="#000000",
             rotate=False, css_class=None) -> tuple[float, float, float, float]:
        """Write ``text`` (lines split at ``\\n``) at ``(x, y)``; returns its box (x0, y0, x1, y1).

        ``anchor`` is SVG's ``text-anchor`` (start, middle, end); ``valign`` puts the point at the
        first line's baseline, or at the top, centre or bottom of the lines' box. ``rotate`` turns
        the text a quarter left about the point (a y axis's label); the box returned is then the
        unturned one.
        """
        lines = str(text).split("\n")
        width, height = text_box(str(text), size, bold=bold)
        line = (ASCENT + DESCENT) * size
        top = {"baseline": y - ASCENT * size, "top": y, "center": y - height / 2, "bottom": y - height}[valign]
        left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        attributes = [f'x="{fmt(x)}"', f'y="{fmt(top + ASCENT * size)}"', f'font-size="{fmt(size)}"']
        if anchor != "start":
            attributes.append(f'text-anchor="{anchor}"')
        if bold:
            attributes.append('font-weight="bold"')
        if color != "#000000":
            attributes.append(f'fill="{color}"')
        if rotate:
            attributes.append(f'transform="rotate(-90 {fmt(x)} {fmt(y)})"')
        if css_class:
            attributes.insert(0, f'class="{css_class}"')
        if len(lines) == 1:
            body = _text(lines[0])
        else:
            body = "".join(f'<tspan x="{fmt(x)}" dy="{fmt(0 if k == 0 else line)}">{_text(part)}</tspan>'
                           for k, part in enumerate(lines))
        self.elements.append(f'<text {" ".join(attributes)}>{body}</text>')
        return left, top, left + width, top + height
