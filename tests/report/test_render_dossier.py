"""Dossier files: LLC CST (OpenSanctions sample) as of 2023-01-31, as tests/analysis/test_dossier.py
builds it, and small hand-made registers for what real data does not show.

On that date only LLC CST itself is penalised in its neighbourhood (two sanctions in force, 27
more starting later), so its whole inherited score is its own penalty coming back through its
officers: the exposure table is empty and the score box must say where the inherited part comes
from.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import markupsafe
import pandas as pd
import pytest

import graphscore as gs
from graphscore.analysis.dossier import dossier
from graphscore.io import read_paths
from graphscore.report.charts import chart_svgs, neighbourhood_map
from tests.report import svgread
from graphscore.report.markup import md
from graphscore.report.render import DOSSIER_JSON_FORMAT, to_html, to_json, to_markdown, write_report
from graphscore.toy import fined_company, shared_representative
from tests.conftest import POLICIES, ZALA
from tests.report.test_render import _documented_keys
from tests.report.test_interactive import without_inline_scripts

ROOT = Path(__file__).resolve().parents[2]
CST = "NK-abdzbEBkqyT29GyREbiURZ"
ZAKHAROV = "NK-aU5ybkbRFJucf8YMwsJvDw"
AS_OF = "2023-01-31"
HOSTILE = "<script>alert('x')</script> Trading & Co"
SVG_START = b'<?xml version="1.0" encoding="utf-8"?>\n<svg '
# Every link type both ways at weight 1: linear (spread), with cycles through every link.
BOTH_WAYS = 'name="both"\ndamping=0.5\n[[transmit]]\nlink="OFFICER_OF"\ndirection="both"\nweight=1.0'

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")

ROW_KEYS = {
    "penalties": {"id", "entity", "kind", "severity", "start", "end", "repair_from", "authority", "regime", "source_ref",
                  "active"},
    "exposure": {"penalty", "source", "source_name", "kind", "authority", "contribution", "share", "paths_share",
                 "strongest_path"},
    "owners": {"id", "name", "share", "start", "end", "source_ref"},
    "ultimate_owners": {"id", "name", "kind", "status", "stake", "stake_low", "stake_high", "chains"},
    "officers": {"id", "name", "role", "other_companies"},
    "holdings": {"id", "name", "type", "role", "share"},
}


@pytest.fixture(scope="module")
def cst():
    return dossier(read_paths([ZALA]), gs.load_policy(POLICIES / "joint-punishment.toml"), CST, as_of=AS_OF)


@pytest.fixture(scope="module")
def hostile():
    """Olga owns 60 % of a company named with markup, whose legal representative Pat (name with
    Markdown table and emphasis characters) also represents Beta Ltd; the company is fined by an
    authority whose name is markup too."""
    entities = pd.DataFrame({"id": ["H", "P", "O", "B"], "kind": ["company", "person", "person", "company"],
                             "name": [HOSTILE, "Pat | *bold* `tick`", "Olga", "Beta Ltd"]})
    links = pd.DataFrame({"source": ["P", "P", "O"], "target": ["H", "B", "H"],
                          "type": ["OFFICER_OF", "OFFICER_OF", "OWNS"],
                          "role": ["legal_representative", "legal_representative", None],
                          "share": [None, None, 0.6]})
    penalties = pd.DataFrame({"id": ["F1"], "entity": ["H"], "kind": ["fine"], "severity": [1.0],
                              "start": ["2020-01-01"], "authority": ["<b>Regulator</b>"]})
    tables = gs.validate(gs.Tables(entities, links, penalties))
    return dossier(tables, gs.parse_policy(BOTH_WAYS), "H", as_of="2024-01-01")


# ---- JSON ---------------------------------------------------------------------------------------

def test_json_round_trips_with_documented_keys(cst):
    data = to_json(cst)
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["format"] == DOSSIER_JSON_FORMAT == "graphscore.dossier/1"
    assert set(data) == _documented_keys("Dossier report")
    for key, columns in ROW_KEYS.items():
        assert all(set(row) == columns for row in data[key]), key
    assert [len(data[key]) for key in ROW_KEYS] == [29, 0, 4, 2, 2, 0]
    assert set(data["entity"]) == {"id", "kind", "name", "jurisdiction", "registration_id", "address", "value",
                                   "source_ref"}
    assert data["entity"]["registration_id"] == "1091841000624"
    assert set(data["score"]) == {"own", "echo", "inherited", "total"}
    assert set(data["manifest"]) == {"graphscore_version", "policy", "data_fingerprint", "data_counts", "as_of",
                                     "generated_at"} and data["manifest"]["as_of"] == AS_OF
    neighbourhood = data["neighbourhood"]
    assert set(neighbourhood) == {"entities", "links"}
    assert all(set(row) == {"id", "name", "kind", "penalised"} for row in neighbourhood["entities"])
    assert all(set(row) == {"source", "target", "type", "role", "share"} for row in neighbourhood["links"])


def test_json_orders_active_penalties_and_largest_owners_first(cst):
    data = to_json(cst)
    assert [row["active"] for row in data["penalties"]] == [True] * 2 + [False] * 27
    assert [row["id"] for row in data["penalties"][:2]] == ["jp-meti-ru-a4289d0f2ab37bb75f684ce3ef806f3092417b7f",
                                                          "ua-nsdc-6c8c31da8d3db74b085a9217f3322ba118141a63"]
    assert [row["share"] for row in data["owners"]] == [0.5, 0.49, 0.02, 0.01]
    assert data["penalties"][0]["end"] is None and data["owners"][1]["end"] is None


def test_inherited_score_is_cst_own_penalty_returning(cst):
    """No other entity near LLC CST is penalised on 2023-01-31, so all of its score beyond its own
    weight is its own penalty coming back (through Abashkin, its legal representative, and
    Zakharov): echo, nothing inherited."""
    score = to_json(cst)["score"]
    assert cst.exposure.empty and score["echo"] > 0.1 and score["inherited"] == 0.0
    assert score["own"] + score["echo"] == pytest.approx(score["total"], rel=1e-12)


def test_own_returned_by_hand():
    """fined_company: Co (fine of weight 1) and its representative Pat, OFFICER_OF both ways at
    weight 1, damping 0.5: x_c = 1 + 0.5 x_p, x_p = 0.5 x_c, so x_c = 4/3 and all of its
    1/3 beyond its own weight returns from its own fine (echo, not inherited). Pat's 2/3 all comes from Co. In
    shared_representative, Beta Ltd (no penalty) inherits 0.5 from Alpha Ltd and nothing returns."""
    policy = gs.parse_policy(BOTH_WAYS)
    company = to_json(dossier(fined_company(), policy, "c", as_of="2024-01-01"))
    assert company["score"]["total"] == pytest.approx(4 / 3)
    assert company["score"]["echo"] == pytest.approx(1 / 3) and company["exposure"] == []
    assert company["score"]["inherited"] == pytest.approx(0.0, abs=1e-12)
    person = to_json(dossier(fined_company(), policy, "p", as_of="2024-01-01"))
    assert person["score"]["echo"] == 0.0
    assert [(row["source"], row["contribution"]) for row in person["exposure"]] == [("c", pytest.approx(2 / 3))]
    beta = to_json(dossier(shared_representative(), policy, "C2", as_of="2024-01-01"))
    assert beta["score"]["echo"] == 0.0 and beta["score"]["inherited"] == pytest.approx(0.5)


def test_own_returned_is_null_when_scores_do_not_split():
    policy = gs.parse_policy(BOTH_WAYS.replace('damping=0.5', 'model="debtrank"\ndamping=0.5'))
    report = dossier(fined_company(), policy, "p", as_of="2024-01-01")
    data = to_json(report)
    assert data["score"]["echo"] == 0.0 and data["exposure"] == []
    assert "do not split by source" in to_markdown(report) and "do not split by source" in to_html(report)


def test_neighbourhood_keeps_every_link_of_a_pair(cst):
    """Zakharov both owns 50 % of LLC CST and is its executive: two links, both listed and drawn."""
    links = to_json(cst)["neighbourhood"]["links"]
    between = sorted((row["type"], row["role"], row["share"]) for row in links
                     if (row["source"], row["target"]) == (ZAKHAROV, CST))
    assert between == [("OFFICER_OF", "executive", None), ("OWNS", None, 0.5)]
    assert len(links) == cst.neighbourhood.number_of_edges() == 12
    svg = neighbourhood_map(cst).to_svg()
    assert svgread.texts(svg)[0].startswith("Neighbourhood of LLC CST")  # the title, under the picture
    assert len(list(svgread.parse(svg).iter(f"{svgread.SVG}path"))) == 12  # one arrow a link


# ---- Markdown and HTML ----------------------------------------------------------------------------

def _section(page: str, heading: str) -> str:
    """The HTML from a heading to the next one."""
    return page.split(heading, 1)[1].split("<h2>", 1)[0]


def test_owners_names_and_shares_in_markdown_and_html(cst):
    markdown, page = to_markdown(cst), to_html(cst)
    owners = _section(page, "<h2>Owners")
    for name, share in (("Alexander Vyacheslavovich ZAKHAROV", "50%"), ("JSC Kalashnikov Concern", "49%"),
                        ('Акціонерне товариство "ТрансКомплектХолдинг"', "2%"),
                        ("Svetlana Nikolaevna Zakharova", "1%")):
        assert f"| {md(name)} | {share} |" in markdown
        assert re.search(re.escape(str(markupsafe.escape(name))) + r"<br>.*?\n\s*<td class=\"num\">"
                         + re.escape(share) + "</td>", owners), name
    assert "## Owners at 2023-01-31 (4)" in markdown
    assert "ultimate" not in owners.lower()


def test_sections_of_an_investigators_page(cst):
    markdown, page = to_markdown(cst), to_html(cst)
    for text in (markdown, page):
        assert "1091841000624" in text and CST in text and cst.manifest["policy"]["hash"] in text
        assert "29: 2 in force at 2023-01-31, 27 starting later, 0 ended" in text
        assert "АССОЦИАЦИЯ БЕСПИЛОТНЫХ СИСТЕМ" in text  # Zakharov's other company
        assert "returning to it around cycles of links" in text
    # By hand: own = 0.5^(336/730) = 0.7268 (the METI listing of 2022-03-01, the newer of the
    # two in force, two-year half-life); echo = own x 0.35^2 x (1 x 1 through the legal
    # representative + 0.5 x 0.5 through Zakharov, executive and 50 % owner) = 0.7268 x 0.153125
    # = 0.1113; no other penalised entity within two links.
    score = _section(page, "<h2>Score")
    assert ">0.7268<" in score and ">0.1113<" in score and ">0.8381<" in score
    assert "| 0.7268 | 0.1113 | 0 | **0.8381** |" in markdown  # own, echo, inherited, total


def test_html_is_self_contained_with_one_picture(cst):
    page = without_inline_scripts(to_html(cst))
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, flags=re.IGNORECASE)
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "<script" not in page and "<style>" in page
    images = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 1 and base64.b64decode(images[0]).startswith(SVG_START)


def test_every_data_string_is_escaped(hostile):
    page = without_inline_scripts(to_html(hostile))  # the network's data inside them: tests/report/test_interactive.py
    assert "<script" not in page and "<b>Regulator" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Trading &amp; Co" in page
    assert "&lt;b&gt;Regulator&lt;/b&gt;" in page
    markdown = to_markdown(hostile)
    outside_code = re.sub(r"(`+).*?\1", "", markdown)
    assert not re.search(r"(?<!\\)<", outside_code)  # no unescaped "<" outside code spans
    assert "\\<script\\>" in outside_code
    assert "\\<b\\>Regulator" in outside_code
    assert "| Pat \\| \\*bold\\* \\`tick\\` |" in markdown  # one table cell, not three
    data = to_json(hostile)
    assert data["entity"]["name"] == HOSTILE and data["title"] == f"Dossier: {HOSTILE}"
    assert [row["name"] for row in data["owners"]] == ["Olga"]


def test_an_entity_without_links_renders():
    lonely = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["z"], "kind": ["company"], "name": ["Zeta Idle"]}),
        pd.DataFrame({"source": pd.Series([], dtype=str), "target": pd.Series([], dtype=str),
                      "type": pd.Series([], dtype=str)}),
        pd.DataFrame({"id": ["f"], "entity": ["z"], "kind": ["fine"], "severity": [1.0], "start": ["2030-01-01"]})))
    report = dossier(lonely, gs.parse_policy(BOTH_WAYS), "z", as_of="2024-01-01")
    assert "No owner recorded at this date." in to_html(report)
    assert "1: 0 in force at 2024-01-01, 1 starting later, 0 ended" in to_markdown(report)
    assert "No link in force" in svgread.texts(neighbourhood_map(report).to_svg())
    assert to_json(report)["neighbourhood"] == {"entities": [{"id": "z", "name": "Zeta Idle", "kind": "company",
                                                              "penalised": False}], "links": []}


# ---- files --------------------------------------------------------------------------------------

def test_write_report_writes_the_four_files(cst, tmp_path):
    paths = write_report(cst, tmp_path / "out")
    assert set(paths) == {"html", "md", "json", "dossier_neighbourhood"}
    assert {path.name for path in paths.values()} == {"report.html", "report.md", "report.json",
                                                      "dossier_neighbourhood.svg"}
    assert paths["dossier_neighbourhood"].read_bytes().startswith(SVG_START)
    assert "](dossier_neighbourhood.svg)" in paths["md"].read_text(encoding="utf-8")
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["format"] == DOSSIER_JSON_FORMAT
    assert chart_svgs(cst).keys() == {"dossier_neighbourhood"}


def test_the_picture_loads_no_chart_library():
    """networkx's drawing helpers import pyplot; the neighbourhood is drawn without them, and
    without matplotlib at all."""
    code = ("import sys; import graphscore as gs; from graphscore.toy import shared_representative; "
            "from graphscore.analysis.dossier import dossier; from graphscore.report.charts import chart_svgs; "
            f"chart_svgs(dossier(shared_representative(), gs.parse_policy({BOTH_WAYS!r}), 'C2', as_of='2024-01-01')); "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
