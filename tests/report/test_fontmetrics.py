"""The committed widths of DejaVu Sans give the boxes matplotlib lays the same texts out in:
labels placed from them are placed as matplotlib placed them (tests/report/test_labels.py).
matplotlib is a test dependency here: the charts no longer load it."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from graphscore.report.fontmetrics import ASCENT, DESCENT, text_width

TEXTS = ["Holding Group International Limited", "Overseas Investment Vehicle Number 12 Ltd", "OWNS 33%",
         "OFFICER_OF legal_representative", "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ", "Zoë Müller-Ñúñez",
         "Ελληνική Εταιρεία", "+149 company", "summed change in score", "0.000225", "10⁻²", "2×10¹"]


@pytest.fixture(scope="module")
def measure():
    """The width matplotlib's Agg layout gives a text in DejaVu Sans, in points (at 72 dpi a
    point is a pixel), at ten times the size: its pixel rounding then counts a tenth."""
    fig = Figure(dpi=72)
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()

    def width(text: str, size: float, bold: bool) -> float:
        label = fig.text(0, 0, text, fontsize=size * 10, fontfamily="DejaVu Sans",
                         fontweight="bold" if bold else "normal")
        return label.get_window_extent(renderer).width / 10

    return width


@pytest.mark.parametrize("bold", [False, True])
@pytest.mark.parametrize("text", TEXTS)
def test_widths_agree_with_matplotlib_layout(measure, text, bold):
    """Within 3 % (matplotlib adds DejaVu's kerning pairs; the table does not) and never more
    than 3 % too narrow."""
    expected, found = measure(text, 8.5, bold), text_width(text, 8.5, bold=bold)
    assert abs(found - expected) <= 0.03 * expected, (text, found, expected)


def test_the_check_is_sharp_enough_to_fail(measure):
    """Widths off by two capitals on a 35-character name (6 %) would fail the check above."""
    text = TEXTS[0]
    expected = measure(text, 8.5, False)
    assert abs(text_width(text + "MM", 8.5) - expected) > 0.03 * expected


def test_line_height_is_the_fonts():
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont("DejaVu Sans"))
    assert (ASCENT, DESCENT) == (font.ascender / font.units_per_EM, -font.descender / font.units_per_EM)


def test_missing_characters_count_wide():
    assert text_width("张伟", 10) == 20.0  # one em each, as the CJK fallbacks draw them
    assert text_width("\u0f00", 10) >= text_width("M", 10) * 0.9  # Tibetan, not in DejaVu Sans: a wide letter
