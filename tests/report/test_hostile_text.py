"""Bidirectional controls in names reach no report as controls: HTML and Markdown show them as
visible marks (issue 13, part 10). CSV formulas: tests/test_outputs.py."""

from __future__ import annotations

import pandas as pd
import pytest

import graphscore as gs
from graphscore.analysis.dossier import dossier
from graphscore.analysis.spillover import spillover
from graphscore.report.markup import md, md_code, shown
from graphscore.report.render import write_report
from tests.conftest import HAND_POLICY

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")
CONTROLS = "\u202e\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.fixture
def hostile_tables() -> gs.Tables:
    return gs.validate(gs.Tables(
        pd.DataFrame({"id": ["C1", "C2", "P"], "kind": ["company", "company", "person"],
                      "name": ["Alpha \u202eLTD gnikoob", "Beta \u2067Ltd\u2069", "Pat \u200f"]}),
        pd.DataFrame({"source": ["P", "P"], "target": ["C1", "C2"], "type": "OFFICER_OF",
                      "role": "legal_representative"}),
        pd.DataFrame({"id": ["F1"], "entity": ["C1"], "kind": ["fine"], "severity": [1.0], "start": ["2020-01-01"],
                      "authority": ["Regulator \u202d"]})))


def test_every_bidirectional_control_is_shown_as_a_mark():
    assert shown(CONTROLS) == ("[U+202E][U+202A][U+202B][U+202C][U+202D][U+2066][U+2067][U+2068][U+2069]"
                               "[U+200E][U+200F][U+061C]")
    assert md("A \u202eB") == "A [U+202E]B"
    assert md_code("x\u2066y") == "` x[U+2066]y `"


@pytest.mark.parametrize("build", ["spillover", "dossier"])
def test_no_report_page_carries_a_bidirectional_control(tmp_path, hostile_tables, build):
    policy = gs.parse_policy(HAND_POLICY)
    report = (spillover(hostile_tables, policy, entity="C1", as_of="2024-06-30") if build == "spillover"
              else dossier(hostile_tables, policy, "C1", as_of="2024-06-30"))
    paths = write_report(report, tmp_path, formats=("html", "md"))
    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        assert not set(CONTROLS) & set(text), path.name
        assert "Alpha [U+202E]LTD gnikoob" in text, path.name
