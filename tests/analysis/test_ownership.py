"""Ownership tables on a hand-made register where the three rules disagree for known reasons."""

from __future__ import annotations

import pandas as pd
import pytest

import graphscore as gs
from graphscore.analysis.ownership import compare_rules, flagged_entities, rule_policy, ultimate_owners_table


@pytest.fixture
def register() -> gs.Tables:
    """Listed L holds 30 % of C directly and 49 % of A, which holds 70 % of C (C: 30 % direct,
    64.3 % integrated); L holds exactly 50 % of E; L CONTROLS K without shares; unlisted U
    holds the other 50 % of E."""
    entities = pd.DataFrame({"id": ["L", "A", "C", "E", "K", "U"],
                             "kind": ["person", "company", "company", "company", "company", "person"],
                             "name": ["Lev", "Alpha", "Charlie", "Echo", "Kilo", "Uma"]})
    links = pd.DataFrame({"source": ["L", "L", "A", "L", "U", "L"], "target": ["C", "A", "C", "E", "E", "K"],
                          "type": ["OWNS"] * 5 + ["CONTROLS"], "share": [0.3, 0.49, 0.7, 0.5, 0.5, None]})
    penalties = pd.DataFrame({"id": ["s"], "entity": ["L"], "kind": ["sanction"], "severity": [1.0],
                              "start": ["2020-01-01"]})
    return gs.validate(gs.Tables(entities, links, penalties))


def test_each_rule_flags_what_its_text_says(register):
    ofac = flagged_entities(register, "ofac", as_of="2024-01-01").set_index("name")
    assert ofac["stake"].to_dict() == {"Echo": 0.5}  # 50 % or more, direct stakes only
    assert ofac.loc["Echo", "via"] == "Lev 50%"
    eu = flagged_entities(register, "eu", as_of="2024-01-01").set_index("name")
    assert list(eu.index) == ["Kilo"] and eu.loc["Kilo", "via"] == "controlled by Lev"
    integrated = flagged_entities(register, "integrated", as_of="2024-01-01").set_index("name")
    assert integrated["stake"].to_dict() == pytest.approx({"Charlie": 0.643, "Echo": 0.5, "Alpha": 0.49})
    assert "Lev -> [49%] Alpha -> [70%] Charlie (34.3%)" in integrated.loc["Charlie", "via"]


def test_compare_says_why_the_rules_disagree(register):
    rows = compare_rules(register, as_of="2024-01-01").set_index("name")
    assert set(rows.index) == {"Charlie", "Echo", "Kilo"}
    assert rows.loc["Charlie", "why"].startswith("OFAC: 30% held directly by blocked owners "
                                                 "(stakes through non-blocked Alpha count zero); integrated: 64.3%")
    assert "exactly 50%: OFAC blocks at 50 % or more" in rows.loc["Echo", "why"]
    assert "EU: controlled by a listed or frozen party" in rows.loc["Kilo", "why"]


def test_ultimate_owners_with_their_chains(register):
    owners = ultimate_owners_table(register, "C", as_of="2024-01-01")
    assert owners[["name", "stake"]].to_dict("records") == [{"name": "Alpha", "stake": 0.7},
                                                            {"name": "Lev", "stake": pytest.approx(0.643)}]
    assert owners.loc[1, "chains"] == "Lev -> [49%] Alpha -> [70%] Charlie (34.3%); Lev -> [30%] Charlie (30%)"
    persons = ultimate_owners_table(register, "C", as_of="2024-01-01", persons_only=True)
    assert persons["name"].tolist() == ["Lev"]


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="rule must be one of ofac, eu, integrated, got 'uk'"):
        rule_policy("uk")
