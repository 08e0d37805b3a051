"""How wide a text is in DejaVu Sans, the font the charts' SVG names first, without loading a font.

The charts place labels so that none covers another (issue 11.3), which needs each label's box
before anything is drawn. matplotlib measured them by loading and laying out the font (1.2-1.8 s
of a report's start); here the advance width of every character DejaVu Sans and DejaVu Sans Bold
map in the Basic Multilingual Plane is read from ``fonts/dejavu-sans-widths.json``, made once by
:func:`build_table` from the TrueType files matplotlib ships (DejaVu Sans 2.35, Bitstream Vera
licence with DejaVu's changes in the public domain: ``fonts/README.md``).

A text's width is the sum of its characters' advances: no kerning (matplotlib's Agg text adds
DejaVu's kerning pairs, a pixel or two on a long label; ``tests/report/test_fontmetrics.py``
bounds the difference). A character the font lacks is drawn by a fallback font the SVG names
(Noto Sans CJK, WenQuanYi): Chinese, Japanese and Korean characters (East Asian width ``W`` or
``F``) count one em, as those fonts draw them; any other missing character counts as DejaVu's
widest Latin capital, so a box is rather too large than too small.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from pathlib import Path

__all__ = ["ASCENT", "DESCENT", "text_width", "build_table"]

TABLE = Path(__file__).with_name("fonts") / "dejavu-sans-widths.json"
# DejaVu Sans's hhea ascender and descender (1901 and 483 of 2048 units per em): the height of a
# line of text as matplotlib's layout measures it, in ems.
ASCENT, DESCENT = 1901 / 2048, 483 / 2048


@functools.cache
def _widths(bold: bool) -> tuple[dict[int, int], int, int]:
    """Advance width by code point, the units per em, and the width a missing character gets."""
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    widths = {}
    for first, run in table["bold" if bold else "regular"]:
        widths.update(zip(range(first, first + len(run)), run))
    return widths, table["units_per_em"], max(widths[ord(c)] for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width of one line of ``text`` at ``size`` (in the unit of ``size``), in DejaVu Sans.

    Examples
    --------
    >>> round(text_width("OWNS 50%", 10), 2), round(text_width("OWNS 50%", 10, bold=True), 2)
    (56.99, 62.52)
    >>> text_width("张伟", 10)
    20.0
    """
    widths, per_em, missing = _widths(bold)
    units = 0
    for char in text:
        width = widths.get(ord(char))
        if width is None:
            width = per_em if unicodedata.east_asian_width(char) in "WF" else missing
        units += width
    return units * size / per_em


def build_table(regular: str | Path, bold: str | Path, out: str | Path = TABLE) -> None:
    """Write the advance widths of the Basic Multilingual Plane characters of the fonts at
    ``regular`` and ``bold`` to ``out``, as runs ``[first code point, [widths...]]``.

    Run once, when the font changes: ``python -c "import matplotlib, graphscore.report.fontmetrics as m;
    d = matplotlib.get_data_path() + '/fonts/ttf/'; m.build_table(d + 'DejaVuSans.ttf', d + 'DejaVuSans-Bold.ttf')"``
    (matplotlib reads the files; it is not needed to use the table).
    """
    from matplotlib.ft2font import FT2Font, LoadFlags

    table = {"source": "DejaVu Sans and DejaVu Sans Bold as shipped with matplotlib (mpl-data/fonts/ttf); "
                       "advance widths in font units, read with FreeType (FT2Font.load_char, NO_SCALE)",
             "licence": "Bitstream Vera Fonts licence; DejaVu changes in the public domain (fonts/README.md)"}
    for name, path in (("regular", regular), ("bold", bold)):
        font = FT2Font(str(path))
        table["units_per_em"] = font.units_per_EM
        codes = sorted(code for code in font.get_charmap() if code <= 0xFFFF)
        runs: list[list] = []
        for code in codes:
            width = font.load_char(code, flags=LoadFlags.NO_SCALE).horiAdvance
            if runs and runs[-1][0] + len(runs[-1][1]) == code:
                runs[-1][1].append(width)
            else:
                runs.append([code, [width]])
        table[name] = runs
    Path(out).write_text(json.dumps(table, separators=(",", ":")) + "\n", encoding="utf-8")
