"""Spillover report files from a hand-made graph, built through the public API.

LLC CST is fined (severity 1). Ivan Zakharov is its legal representative and also represents a
second company whose name carries markup, so every format must show it as text. A third
company's fine reaches nobody: its report is empty.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import graphscore as gs
from graphscore.analysis.spillover import spillover_report
from graphscore.analysis.whatif import attribution_change
from graphscore.workspace import Workspace
from graphscore.report.charts import change_by_hop, change_histogram, save_charts
from graphscore.report.svg import Drawing
from tests.report import svgread
from graphscore.report import render
from graphscore.report.render import JSON_FORMAT, to_html, to_json, to_markdown, write_report
from tests.report.test_interactive import without_inline_scripts

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2021-01-01"
HOSTILE = "<script>alert('x')</script> Trading & Co"
SVG_START = b'<?xml version="1.0" encoding="utf-8"?>\n<svg '

POLICY = """
name = "joint"
model = "spread"
damping = 0.5
threshold = 0.1
[[transmit]]
link = "OFFICER_OF"
role = "legal_representative"
direction = "backward"
weight = 1.0
[[transmit]]
link = "OFFICER_OF"
role = "legal_representative"
direction = "forward"
weight = 1.0
split = true
"""

REPORT_KEYS = {"format", "title", "scenario", "threshold", "manifest", "summary", "affected", "unlisted",
               "collateral", "penalties", "by_kind", "by_link_type", "by_hop", "notes"}
ROW_KEYS = {"id", "name", "kind", "own_penalised", "before", "after", "change", "hops",
            "path_strength", "path", "reached_by", "path_hops"}
HOP_KEYS = {"from", "to", "type", "role", "share", "direction", "weight", "links", "pair_weight", "source_ref"}


def _documented_keys(section: str) -> set[str]:
    """Top-level keys the render module docstring lists under one report's heading."""
    text = render.__doc__.split(section, 1)[1]
    text = re.split(r"\n\w[\w ]+ report\n~+", text)[0]
    terms = [line for line in text.splitlines() if re.fullmatch(r"``\w+``(, ``\w+``)*( : .*)?", line)]
    return {key for line in terms for key in re.findall(r"``(\w+)``", line.split(" : ")[0])}


def _tables(*, without_fine: bool = False) -> gs.Tables:
    entities = pd.DataFrame({"id": ["cst", "zakharov", "other", "lonely"],
                             "kind": ["company", "person", "company", "company"],
                             "name": ["LLC CST", "Ivan Zakharov", HOSTILE, "Lonely Ltd"]})
    links = pd.DataFrame({"source": ["zakharov", "zakharov"], "target": ["cst", "other"],
                          "type": ["OFFICER_OF", "OFFICER_OF"],
                          "role": ["legal_representative", "legal_representative"]})
    penalties = pd.DataFrame({"id": ["fine", "lonely-fine"], "entity": ["cst", "lonely"],
                              "kind": ["fine", "fine"], "severity": [1.0, 1.0],
                              "start": ["2020-06-01", "2020-06-01"]})
    if without_fine:
        penalties = penalties[penalties["id"] != "fine"]
    return gs.validate(gs.Tables(entities, links, penalties))


def _report(penalty_id: str):
    tables, policy = _tables(), gs.parse_policy(POLICY)
    workspace = Workspace(tables)
    change = attribution_change(workspace.projection(policy, AS_OF), penalty_id=penalty_id)
    return spillover_report(workspace, policy, change, baseline="without")


@pytest.fixture(scope="module")
def report():
    return _report("fine")


@pytest.fixture(scope="module")
def empty_report():
    return _report("lonely-fine")


def test_json_round_trips_with_documented_keys(report):
    data = to_json(report)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert set(data) == REPORT_KEYS and data["format"] == JSON_FORMAT
    assert {"graphscore_version", "policy", "data_fingerprint", "data_counts", "as_of",
            "generated_at"} <= set(data["manifest"])
    assert data["manifest"]["policy"]["hash"] == gs.parse_policy(POLICY).hash
    assert data["manifest"]["as_of"] == AS_OF
    assert all(set(row) == ROW_KEYS for row in data["affected"] + data["collateral"])
    assert all(set(hop) == HOP_KEYS for row in data["affected"] for hop in row["path_hops"])
    assert [row["id"] for row in data["affected"]] == ["cst", "zakharov", "other"]
    other = data["affected"][2]
    assert other["hops"] == 2 and [hop["to"] for hop in other["path_hops"]] == ["zakharov", "other"]
    assert data["summary"] == report.summary()
    assert {row["hops"] for row in data["by_hop"]} == {1, 2}


def test_spillover_layout_is_documented():
    assert _documented_keys("Spillover report") == REPORT_KEYS


def test_affected_change_is_the_fines_spillover(report):
    """The affected rows' changes are the scores with the fine minus the scores without it."""
    policy = gs.parse_policy(POLICY)
    with_fine = gs.score(_tables(), policy, as_of=AS_OF).set_index("id")["total"]
    without = gs.score(_tables(without_fine=True), policy, as_of=AS_OF).set_index("id")["total"]
    expected = (with_fine - without)[lambda delta: delta != 0]
    rows = pd.DataFrame(to_json(report)["affected"]).set_index("id")
    np.testing.assert_allclose(rows["change"].sum(), expected.sum(), rtol=0, atol=1e-6)  # the change is within whatif.ACCURACY per unit of penalty
    np.testing.assert_allclose(rows["change"], expected.reindex(rows.index), rtol=0, atol=1e-6)


def test_html_is_self_contained_and_escapes_names(report):
    html = without_inline_scripts(to_html(report))
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, flags=re.IGNORECASE)
    assert "http://" not in html and "https://" not in html
    images = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2
    assert all(base64.b64decode(image).startswith(SVG_START) for image in images)
    assert "<script" not in html  # every script is inline (graphscore.report.interactive)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Trading &amp; Co" in html
    assert "Ivan Zakharov" in html and report.manifest["data_fingerprint"][:16] in html


def test_markdown_names_the_top_entity_and_the_policy(report):
    markdown = to_markdown(report, charts={"spillover_histogram": "spillover_histogram.svg"})
    top = report.affected[report.affected["hops"] > 0].iloc[0]
    assert top["name"] == "Ivan Zakharov" and "Ivan Zakharov" in markdown
    assert report.manifest["policy"]["hash"] in markdown
    assert "![Distribution of score change](spillover_histogram.svg)" in markdown
    # Outside code spans (where raw HTML stays literal) markup from the data is backslash-escaped.
    outside_code = re.sub(r"(`+).*?\1", "", markdown)
    assert "\\<script\\>" in outside_code and "<script>" not in outside_code


def test_write_report_writes_every_format(report, tmp_path):
    paths = write_report(report, tmp_path / "out")
    assert set(paths) == {"html", "md", "json", "spillover_histogram", "spillover_by_hop"}
    assert [p.name for p in (paths["html"], paths["md"], paths["json"])] == ["report.html", "report.md", "report.json"]
    assert all(path.is_file() for path in paths.values())
    for stem in ("spillover_histogram", "spillover_by_hop"):
        assert paths[stem].read_bytes().startswith(SVG_START)
        assert f"]({stem}.svg)" in paths["md"].read_text(encoding="utf-8")
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["title"] == report.title


def test_write_report_rejects_an_unknown_format_and_writes_nothing(report, tmp_path):
    with pytest.raises(ValueError, match=r"unknown report format\(s\) 'pdf'; choose from html, md, json, svg"):
        write_report(report, tmp_path / "out", formats=("html", "pdf"))
    with pytest.raises(ValueError, match=r"'png'; choose from html, md, json, svg \(the charts are written as SVG: svg\)\.$"):
        write_report(report, tmp_path / "out", formats=("png",))  # the format before the charts were SVG
    assert not (tmp_path / "out").exists()


def test_write_report_some_formats(report, tmp_path):
    paths = write_report(report, tmp_path, formats=("md",), stem="cst")
    assert list(paths) == ["md"] and paths["md"].name == "cst.md"
    assert "![" not in paths["md"].read_text(encoding="utf-8")  # no charts written, none linked


def test_save_charts(report, tmp_path):
    paths = save_charts(report, tmp_path)
    assert {path.name for path in paths.values()} == {"spillover_histogram.svg", "spillover_by_hop.svg"}
    assert all(path.read_bytes().startswith(SVG_START) for path in paths.values())


def test_histogram_marks_the_threshold(report):
    svg = change_histogram(report).to_svg()
    dashed = [line for line in svgread.parse(svg).iter(f"{svgread.SVG}line")
              if line.get("stroke-dasharray") and line.get("x1") == line.get("x2")]  # the legend's is level
    assert len(dashed) == 1 and f"threshold {report.threshold:g}" in svgread.texts(svg)


def test_charts_load_no_chart_library():
    """The charts are written as SVG text: no matplotlib (1.2-1.8 s to import) in the process."""
    code = ("import sys; from tests.report.test_render import _report; "
            "from graphscore.report.charts import chart_svgs; chart_svgs(_report('fine')); "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_an_empty_report_renders(empty_report, tmp_path):
    assert empty_report.summary()["entities_affected"] == 0 and empty_report.by_hop.empty
    for draw in (change_histogram, change_by_hop):
        figure = draw(empty_report)
        assert isinstance(figure, Drawing)
        assert "No entity affected" in svgread.texts(figure.to_svg())
    assert "No entity affected" in to_html(empty_report)
    assert "No entity affected" in to_markdown(empty_report)
    data = to_json(empty_report)
    assert data["by_hop"] == [] and data["collateral"] == [] and [r["id"] for r in data["affected"]] == ["lonely"]
    paths = write_report(empty_report, tmp_path)
    assert paths["spillover_by_hop"].read_bytes().startswith(SVG_START)


def test_json_lists_the_largest_changes_and_sums_up_the_rest(report, empty_report, monkeypatch):
    # the report of the fine reaches two entities; listing one, the other is summed up, and
    # the headline figures still count both
    from graphscore.report import render_spillover

    monkeypatch.setattr(render_spillover, "JSON_LISTED", 1)
    data = to_json(report)
    assert [row["id"] for row in data["affected"]] == ["cst"]  # the first row: the source
    other = report.affected[report.affected["id"] != "cst"]
    assert data["unlisted"] == {"entities": 2, "total_change": pytest.approx(other["change"].sum(), abs=1e-15),
                                "largest_change": pytest.approx(other["change"].abs().max(), abs=1e-15)}
    assert data["summary"] == report.summary() and data["summary"]["entities_affected"] == 2
    monkeypatch.setattr(render_spillover, "JSON_LISTED", 0)  # a source is listed whatever its rank
    assert [row["id"] for row in to_json(report)["affected"]] == ["cst"]
    assert to_json(empty_report)["unlisted"] == {"entities": 0, "total_change": 0.0, "largest_change": None}
