"""Compare report files (JSON, Markdown, HTML, SVG) of the register of
tests/analysis/test_compare.py, whose docstring works its numbers by hand."""

from __future__ import annotations

import base64
import json
import re

from graphscore.report.charts import score_scatter, sweep_lines
from graphscore.report.render import COMPARE_JSON_FORMAT, to_html, to_json, to_markdown, write_report
from tests.analysis.test_compare import AS_OF, groups, hand, register, report, swept  # noqa: F401 (fixtures)
from tests.report.test_interactive import without_inline_scripts
from tests.report import svgread
from tests.report.test_render import SVG_START, _documented_keys

ROW_KEYS = {
    "variants": {"label", "policy", "hash", "model", "value", "status", "error", "threshold", "penalised",
                 "reached", "total_own", "total_inherited", "mean_inherited", "collateral"},
    "scores": {"variant", "id", "name", "kind", "own", "echo", "inherited", "total", "rank", "hops"},
    "correlations": {"a", "b", "scope", "entities", "spearman", "kendall_tau_b"},
    "rank_movers": {"baseline", "variant", "id", "name", "kind", "baseline_score", "variant_score", "change",
                    "baseline_rank", "variant_rank", "rank_change"},
    "collateral": {"variant", "id", "name", "kind", "own", "inherited", "total", "hops"},
    "collateral_by_kind": {"variant", "kind", "entities"},
    "collateral_by_hop": {"variant", "hops", "entities"},
}
ROW_KEYS["score_movers"] = ROW_KEYS["rank_movers"]


def test_json_round_trips_with_documented_keys(report, swept):
    for source in (report, swept):
        data = to_json(source)
        assert json.loads(json.dumps(data, allow_nan=False)) == data
        assert data["format"] == COMPARE_JSON_FORMAT == "graphscore.compare/1"
        assert set(data) == _documented_keys("Compare report")
        for key, columns in ROW_KEYS.items():
            assert all(set(row) == columns for row in data[key]), key
        manifest = data["manifest"]
        assert {"graphscore_version", "data_fingerprint", "data_counts", "as_of", "generated_at",
                "policies"} == set(manifest) and manifest["as_of"] == AS_OF
        assert [p["label"] for p in manifest["policies"]] == [row["label"] for row in data["variants"]]
        assert all(m["data_fingerprint"] == manifest["data_fingerprint"] and m["as_of"] == AS_OF
                   for m in data["manifests"])
        assert [m["policy"]["hash"] for m in data["manifests"]] == [row["hash"] for row in data["variants"]]
        assert data["summary"] == source.summary()
    data = to_json(swept)
    failed = data["variants"][-1]
    assert failed["status"] == "failed" and failed["error"].startswith("spread diverges")
    assert failed["collateral"] is None and failed["value"] == 0.9
    assert data["parameter"] == "damping" and data["baseline"] == "damping=0.1"
    zeta = next(row for row in to_json(report)["scores"] if row["id"] == "Z")
    assert zeta["hops"] is None and isinstance(to_json(report)["scores"][0]["hops"], int)


def test_html_is_self_contained_and_escapes_names(report, swept):
    for page, charts in ((without_inline_scripts(to_html(report)), 1), (without_inline_scripts(to_html(swept)), 2)):
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, flags=re.IGNORECASE)
        assert "http://" not in page and "https://" not in page
        assert "<link" not in page and "<script" not in page
        images = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
        assert len(images) == charts
        assert all(base64.b64decode(image).startswith(SVG_START) for image in images)
        assert "<style>" in page
    page = to_html(report)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Holdings &amp; Co" in page
    assert report.manifest["data_fingerprint"][:16] in page
    assert all(p["hash"] in page for p in report.manifest["policies"])
    assert "spread diverges" in to_html(swept)


def test_markdown_escapes_names_and_names_the_policies(report):
    markdown = to_markdown(report, charts={"compare_scatter": "compare_scatter.svg"})
    assert "\\<script\\>" in markdown and "<script>" not in markdown
    assert all(p["hash"] in markdown for p in report.manifest["policies"])
    assert "![Scores: baseline against each variant](compare_scatter.svg)" in markdown


def test_write_report_writes_every_format(swept, tmp_path):
    paths = write_report(swept, tmp_path / "out", stem="sweep")
    assert set(paths) == {"html", "md", "json", "compare_scatter", "compare_sweep"}
    assert paths["json"].name == "sweep.json"
    for stem in ("compare_scatter", "compare_sweep"):
        assert paths[stem].read_bytes().startswith(SVG_START)
        assert f"]({stem}.svg)" in paths["md"].read_text(encoding="utf-8")
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["format"] == COMPARE_JSON_FORMAT


def test_charts(report, swept):
    texts = svgread.texts(score_scatter(report).to_svg())
    assert not any("log scale" in text for text in texts)  # totals from 1/6 to 7/6: no need for log axes
    assert {"groups", "y = x"} <= set(texts)  # the legend
    texts = svgread.texts(score_scatter(swept).to_svg())
    assert sum("(log scale)" in text for text in texts) == 2  # damping 0.1 to 0.7 spans four decades
    assert any(text.startswith("10") for text in texts)  # ticks at powers of ten
    svg = sweep_lines(swept).to_svg()
    root = svgread.parse(svg)
    crosses = [line for line in root.iter(f"{svgread.SVG}line") if line.get("stroke") == "#c0392b"]
    # damping 0.8 and 0.9 failed: a cross of two strokes each, and one in the legend, in each panel
    assert len(crosses) == (2 + 1) * 2 * 2
    lines = list(root.iter(f"{svgread.SVG}polyline"))
    assert len(lines) == 2 and all(len(line.get("points").split()) == 7 for line in lines)  # 0.1 to 0.7 scored
    assert "Not a sweep" in svgread.texts(sweep_lines(report).to_svg())
