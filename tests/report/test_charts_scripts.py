"""Chinese, Cyrillic and accented names reach the pictures as text in fonts that draw them: the
SVG names DejaVu Sans, then CJK fonts, and sizes each label's box for the font that draws it."""

from __future__ import annotations

import pandas as pd

import graphscore as gs
from graphscore.analysis.dossier import dossier
from graphscore.report.charts import chart_svgs
from graphscore.report.fontmetrics import text_width
from graphscore.report.svg import FONT_FAMILY
from tests.report import svgread

NAMES = {"c": "深圳华信贸易有限公司", "p": "张伟", "o": "ОБЩЕСТВО «ЦСТ»", "z": "Zoë Müller"}


def test_every_script_draws():
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": list(NAMES), "kind": ["company", "person", "company", "person"], "name": list(NAMES.values())}),
        pd.DataFrame({"source": ["p", "o", "z"], "target": ["c", "c", "c"], "type": ["OFFICER_OF", "OWNS", "OWNS"],
                      "role": ["legal_representative", None, None], "share": [None, 0.5, 0.3]}),
        pd.DataFrame({"id": ["x"], "entity": ["c"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))
    policy = gs.parse_policy('name="r"\ndamping=0.5\n[[transmit]]\nlink="OFFICER_OF"\ndirection="backward"')
    report = dossier(tables, policy, "c", as_of="2024-01-01")
    svg = chart_svgs(report)["dossier_neighbourhood"]
    assert svgread.parse(svg).get("font-family") == FONT_FAMILY and "Noto Sans CJK SC" in FONT_FAMILY
    texts, boxes = svgread.texts(svg, "label"), svgread.label_boxes(svg)
    assert set(NAMES.values()) <= set(texts), texts
    chinese = boxes[texts.index(NAMES["c"])]
    assert chinese[2] - chinese[0] >= text_width(NAMES["c"], 10) == 10 * 10  # the entity's name, one em a character


def test_a_holdings_hairball_is_drawn_as_groups():
    """A holding owning 30 unpenalised companies and run by a fined representative: its 30
    subsidiaries become one "+30 company" node; the representative and the entity stay."""
    from graphscore.report.charts import neighbourhood_map

    subsidiaries = [f"s{i}" for i in range(30)]
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["h", "p", *subsidiaries], "kind": ["company", "person", *["company"] * 30],
                      "name": ["Holding", "Pat", *subsidiaries]}),
        pd.DataFrame({"source": ["p", *["h"] * 30], "target": ["h", *subsidiaries],
                      "type": ["OFFICER_OF", *["OWNS"] * 30], "role": ["legal_representative", *[None] * 30],
                      "share": [None, *[1.0] * 30]}),
        pd.DataFrame({"id": ["x"], "entity": ["p"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))
    policy = gs.parse_policy('name="r"\ndamping=0.5\n[[transmit]]\nlink="OFFICER_OF"\ndirection="both"')
    report = dossier(tables, policy, "h", as_of="2024-01-01")
    svg = neighbourhood_map(report).to_svg()
    assert len(list(svgread.parse(svg).iter(f"{svgread.SVG}path"))) == 2  # one arrow a link drawn
    texts = svgread.texts(svg)
    assert "+30 company" in texts and "OWNS ×30" in texts and "Pat" in texts
    assert texts[0].endswith("32 entities, 31 links, 1 penalised at 2024-01-01")  # the title
    assert report.neighbourhood.number_of_nodes() == 32  # the report's data keeps every entity


def test_a_large_neighbourhood_is_summarised_by_paths_and_groups():
    """150 subsidiaries, each run by its own director, one of whom is fined: 302 entities within
    two links. Drawn: the holding, the path to the fined director, and "+149 company"."""
    from graphscore.report.charts import neighbourhood_map

    n = 150
    subsidiaries, directors = [f"s{i}" for i in range(n)], [f"d{i}" for i in range(n)]
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["h", *subsidiaries, *directors], "kind": ["company", *["company"] * n, *["person"] * n],
                      "name": ["Holding", *subsidiaries, *directors]}),
        pd.DataFrame({"source": [*["h"] * n, *directors], "target": subsidiaries * 2,
                      "type": [*["OWNS"] * n, *["OFFICER_OF"] * n], "role": [*[None] * n, *["director"] * n],
                      "share": [*[1.0] * n, *[None] * n]}),
        pd.DataFrame({"id": ["x"], "entity": ["d7"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))
    policy = gs.parse_policy('name="r"\ndamping=0.5\n[[transmit]]\nlink="OFFICER_OF"\ndirection="both"')
    report = dossier(tables, policy, "h", as_of="2024-01-01")
    assert report.neighbourhood.number_of_nodes() == 2 * n + 1
    svg = neighbourhood_map(report).to_svg()
    texts = svgread.texts(svg)
    assert {"Holding", "s7", "d7", "+149 company"} <= set(texts)
    assert len(list(svgread.parse(svg).iter(f"{svgread.SVG}path"))) == 3
    assert any(text.replace("\n", " ").startswith("Summarised: the paths to the 1 nearest penalised entities, 149 direct neighbours")
               for text in texts)
