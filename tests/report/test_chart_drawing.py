"""Every chart is a well-formed SVG document holding its data's values and names, escaped, and
the same data writes the same bytes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graphscore as gs
from graphscore.analysis.compare import compare_policies
from graphscore.analysis.dossier import dossier
from graphscore.analysis.spillover import spillover
from graphscore.report import charts
from graphscore.report.charts import chart_svgs
from graphscore.report.markup import shown
from tests.report import svgread

POLICY = 'name="r"\ndamping=0.5\n[[transmit]]\nlink="OWNS"\ndirection="backward"\nweight="share"'
# markup, an entity, quotes, a bidirectional control and a control character XML cannot hold
HOSTILE = "<script>alert('x')</script> & \"Co\" \u202eLtd\x01"


def _tables(shares, names=None) -> gs.Tables:
    owners = [f"o{k}" for k in range(len(shares))]
    return gs.validate(gs.Tables(
        pd.DataFrame({"id": ["h", *owners], "kind": "company", "name": ["Holding", *(names or owners)]}),
        pd.DataFrame({"source": owners, "target": "h", "type": "OWNS", "share": shares}),
        pd.DataFrame({"id": ["x"], "entity": ["h"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))


@pytest.fixture(scope="module")
def reports():
    owners = [f"o{k}" for k in range(6)]
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["h", *owners], "kind": "company", "name": ["Holding", HOSTILE, *owners[1:]]}),
        pd.DataFrame({"source": owners, "target": ["h", *owners[:-1]], "type": "OWNS", "share": 0.4}),
        pd.DataFrame({"id": ["x"], "entity": ["h"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))
    low, high = gs.parse_policy(POLICY), gs.parse_policy(POLICY.replace("0.5", "0.8"))
    return {"dossier": dossier(tables, low, "h", as_of="2024-01-01"),
            "spillover": spillover(tables, low, penalty="x", as_of="2024-01-01"),
            "compare": compare_policies(tables, [low, high], as_of="2024-01-01", labels=["low", "high"])}


@pytest.mark.parametrize("kind", ["dossier", "spillover", "compare"])
def test_each_chart_is_well_formed_and_deterministic(reports, kind):
    svgs = chart_svgs(reports[kind])
    assert svgs and svgs == chart_svgs(reports[kind])
    for stem, svg in svgs.items():
        svgread.parse(svg)
        assert svgread.size(svg)[0] > 400, stem


def test_names_are_escaped_text(reports):
    """A name reaches the picture as text: markup escaped, its bidirectional control shown as a
    mark, the character XML cannot hold replaced."""
    svg = chart_svgs(reports["dossier"])["dossier_neighbourhood"]
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "\u202e" not in svg and "\x01" not in svg
    expected = charts._node_label(HOSTILE)
    assert shown(expected).replace("\x01", "\ufffd") in svgread.texts(svg, "label")


def test_bars_are_labelled_with_the_report_values(reports):
    report = reports["spillover"]
    texts = svgread.texts(chart_svgs(report)["spillover_by_hop"])
    for row in report.by_hop.itertuples():
        assert f"{row.entities:.0f}" in texts and f"{row.total_change:.3g}" in texts
    reached = int((report.affected["hops"] > 0).sum())
    assert f"Distribution of score change ({reached} entities reached)" in \
        svgread.texts(chart_svgs(report)["spillover_histogram"])


def test_a_long_tail_is_counted_on_a_log_axis():
    """One strong change and many faint ones: the count axis is logarithmic, its ticks written
    as powers of ten in plain text (``10⁰``, ``10¹``)."""
    report = spillover(_tables(np.r_[0.9, np.full(59, 0.001)]), gs.parse_policy(POLICY), penalty="x",
                       as_of="2024-01-01")
    texts = svgread.texts(charts.change_histogram(report).to_svg())
    assert "entities (log scale)" in texts and {"10⁰", "10¹"} <= set(texts), texts


def test_a_big_scatter_draws_each_spot_once(reports, monkeypatch):
    """Points falling on one spot are drawn once: a registry's every entity would otherwise be
    an element of the file."""
    def points() -> int:  # the legend's markers are opaque
        root = svgread.parse(charts.score_scatter(report).to_svg())
        return sum(circle.get("opacity") == "0.7" for circle in root.iter(f"{svgread.SVG}circle"))

    report = reports["compare"]
    circles = points()
    assert 0 < circles <= len(report.wide("total"))
    wide = report.wide("total")
    many = pd.concat([wide] * 50, ignore_index=True)  # each point fifty times
    monkeypatch.setattr(type(report), "wide", lambda self, column: many)
    assert points() == circles
