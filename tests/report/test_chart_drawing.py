"""Charts are drawn once: the layout is settled without drawing, and the PNG is the one
matplotlib's own ``savefig`` (which draws a laid-out figure twice) writes, byte for byte."""

from __future__ import annotations

import io

import matplotlib
import pandas as pd
import pytest
from matplotlib.figure import Figure

import graphscore as gs
from graphscore.analysis.spillover import spillover
from graphscore.report import charts
from graphscore.report.charts import DPI, chart_pngs
from tests.report.test_labels import crowded_report

POLICY = 'name="r"\ndamping=0.5\n[[transmit]]\nlink="OWNS"\ndirection="backward"\nweight="share"'


@pytest.fixture(scope="module")
def reports():
    dossier = crowded_report()  # 20 entities, 32 labelled links: labels placed around each other
    owners = [f"o{k}" for k in range(6)]
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["h", *owners], "kind": "company", "name": ["Holding", *owners]}),
        pd.DataFrame({"source": owners, "target": ["h", *owners[:-1]], "type": "OWNS", "share": 0.4}),
        pd.DataFrame({"id": ["x"], "entity": ["h"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))
    return {"dossier": dossier, "spillover": spillover(tables, gs.parse_policy(POLICY), penalty="x", as_of="2024-01-01")}


def _savefig(report) -> dict[str, bytes]:
    """The charts as ``Figure.savefig`` writes them, with the figure's layout engine left on."""
    pngs = {}
    for stem, draw in charts._drawings(report).items():
        buffer = io.BytesIO()
        with matplotlib.rc_context({"font.family": list(charts._font_families())}):
            draw(report).savefig(buffer, format="png", dpi=DPI)
        pngs[stem] = buffer.getvalue()
    return pngs


@pytest.mark.parametrize("kind", ["dossier", "spillover"])
def test_each_chart_is_drawn_once_and_is_savefigs_png(reports, kind, monkeypatch):
    report = reports[kind]
    expected = _savefig(report)
    draws = []
    original = Figure.draw

    def counted(self, renderer):
        draws.append(self)
        return original(self, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    pngs = chart_pngs(report)
    assert len(draws) == len(pngs) == len(expected)  # one draw per chart, placing the labels included
    assert pngs == expected


def test_savefig_draws_a_laid_out_figure_twice(reports, monkeypatch):
    # what _png saves: if matplotlib stops drawing twice, _png's reason to exist goes
    draws = []
    original = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: (draws.append(self), original(self, renderer)))
    fig = charts.change_by_hop(reports["spillover"])
    fig.savefig(io.BytesIO(), format="png", dpi=DPI)
    assert len(draws) == 2


def test_log_axes_are_labelled_as_matplotlib_labels_them_without_mathtext():
    """PlainLogFormatter writes each label matplotlib's log formatter writes, the same number in
    plain text (superscript digits), and a spillover histogram on a log count axis has no
    mathtext label left."""
    import re

    import numpy as np
    from matplotlib.ticker import LogFormatterSciNotation

    digits = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
    for labelled in (LogFormatterSciNotation(10), LogFormatterSciNotation(10, labelOnlyBase=True)):
        plain = charts.PlainLogFormatter(10, labelOnlyBase=labelled.labelOnlyBase)
        for x in [c * 10.0 ** k for k in range(-6, 7) for c in (1, 2, 3, 5, 9)]:
            expected, got = labelled(x), plain(x)
            if not expected:
                assert got == "", x
                continue
            power = re.fullmatch(r"(?:([0-9.]+)×)?10(.+)", got)
            assert power and "$" not in got, (x, got)
            coefficient, exponent = power.groups()
            assert float(coefficient or 1) * 10.0 ** int(exponent.translate(digits)) == pytest.approx(x), (x, got)
            times = coefficient + "\\times" if coefficient else ""
            assert expected == "$\\mathdefault{" + times + "10^{" + exponent.translate(digits) + "}}$", (x, expected)

    owners = [f"o{k}" for k in range(60)]  # one strong change and many faint ones: a log count axis
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["h", *owners], "kind": "company", "name": ["Holding", *owners]}),
        pd.DataFrame({"source": owners, "target": "h", "type": "OWNS", "share": np.r_[0.9, np.full(59, 0.001)]}),
        pd.DataFrame({"id": ["x"], "entity": ["h"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))
    fig = charts.change_histogram(spillover(tables, gs.parse_policy(POLICY), penalty="x", as_of="2024-01-01"))
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    fig.canvas.draw()
    labels = [label.get_text() for label in ax.get_yticklabels() + ax.get_yticklabels(minor=True) if label.get_text()]
    assert labels and not any("$" in label for label in labels), labels
