"""Ownership tables on a hand-made register where the three rules disagree for known reasons."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import graphscore as gs
from graphscore.analysis.ownership import (_chains, _Names, _read, compare_rules, flagged_entities, rule_policy,
                                           ultimate_owners_table)
from graphscore.engine import ownership
from graphscore.synthetic import generate_network


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
    assert ofac.attrs["threshold"] == "50% or more in aggregate, direct stakes of blocked owners"
    assert ofac["status"].to_dict() == {"Echo": "flagged"}
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
    assert rows.loc["Charlie", "why"].startswith("integrated: 64.3% through any chains; OFAC: 30% held directly by "
                                                 "blocked owners (Alpha is not blocked, so its 70% counts zero)")
    assert ("EU vs OFAC: Echo: exactly 50% held by blocked owners; OFAC blocks at 50% or more, the EU reading "
            "in force (more than 50%) does not") in rows.loc["Echo", "why"]
    assert "EU: controlled by a listed or frozen party" in rows.loc["Kilo", "why"]
    assert "UK: controlled by a designated person" in rows.loc["Kilo", "why"]
    assert rows[["ofac", "eu", "uk", "integrated"]].loc["Kilo"].tolist() == [False, True, True, False]


def test_compare_says_when_the_uk_does_not_aggregate():
    """Designated X and Y hold 30 % and 25 % of A: OFAC and the EU add them up (55 %), the UK
    does not (30 % is the most one designated person holds)."""
    entities = pd.DataFrame({"id": ["X", "Y", "A"], "kind": ["person", "person", "company"],
                             "name": ["Xavier", "Yuri", "Alpha"]})
    links = pd.DataFrame({"source": ["X", "Y"], "target": ["A", "A"], "type": "OWNS", "share": [0.3, 0.25]})
    penalties = pd.DataFrame({"id": ["s", "t"], "entity": ["X", "Y"], "kind": "sanction", "severity": 1.0,
                              "start": "2020-01-01"})
    rows = compare_rules(gs.validate(gs.Tables(entities, links, penalties)), as_of="2024-01-01").set_index("name")
    assert rows.loc["Alpha", ["ofac", "eu", "uk"]].tolist() == [True, True, False]
    assert rows.loc["Alpha", "why"] == ("UK: no one designated person holds more than 50% (the largest holding of "
                                        "one, with what its own entities hold: 30%); OFAC adds up 2 blocked "
                                        "owners' stakes (55%)")


def test_compare_states_the_threshold_of_each_column(register):
    """The integrated column is tested at 50 % in the comparison, not at its own 25 %: said in
    the table (every row) and in attrs, which the command prints."""
    rows = compare_rules(register, as_of="2024-01-01")
    assert rows.attrs["thresholds"] == {
        "ofac": "50% or more in aggregate, direct stakes of blocked owners",
        "eu": "more than 50% in aggregate, or control",
        "uk": "more than 50% held by one designated person, or control",
        "integrated": "50% or more through any chains"}
    assert rows["thresholds"].iloc[0].endswith("; integrated: 50% or more through any chains")


def chain_register(**extra_links) -> gs.Tables:
    """Listed X owns exactly 50 % of A (U the other 50 %); A owns 100 % of B."""
    entities = pd.DataFrame({"id": ["X", "U", "A", "B"], "kind": ["person", "person", "company", "company"],
                             "name": ["Xavier", "Ursula", "Alpha", "Bravo"]})
    links = pd.DataFrame({"source": ["X", "U", "A"], "target": ["A", "A", "B"], "type": "OWNS",
                          "share": [0.5, 0.5, 1.0]})
    penalties = pd.DataFrame({"id": ["s"], "entity": ["X"], "kind": ["sanction"], "severity": [1.0],
                              "start": ["2020-01-01"]})
    return gs.validate(gs.Tables(entities, links, penalties))


def test_compare_explains_through_the_intermediate_owner():
    """Before 3 July 2024: OFAC blocks A (50 % or more) and so B (A's 100 %); the EU reading in
    force, "more than 50 %", freezes neither. B's stake is 100 % under OFAC and 0 under the EU:
    the reason is not "exactly 100 %" but that A is not frozen, A being held exactly 50 %."""
    rows = compare_rules(chain_register(), as_of="2024-07-02").set_index("name")
    assert set(rows.index) == {"Alpha", "Bravo"}
    assert rows.loc["Bravo", "why"] == (
        "EU vs OFAC: Alpha (100% of Bravo) is blocked by OFAC and not frozen under the EU reading, because "
        "Alpha: exactly 50% held by blocked owners; OFAC blocks at 50% or more, the EU reading in force "
        "(more than 50%) does not; UK: no one designated person holds more than 50% (the largest holding of "
        "one, with what its own entities hold: 0%)")
    # From 3 July 2024 the EU reads "50 % or more": OFAC and the EU agree on both (the UK,
    # "more than 50 %", still differs).
    since = compare_rules(chain_register(), as_of="2024-07-03")
    assert since["ofac"].tolist() == since["eu"].tolist() == [True, True] and not since["uk"].any()
    assert not since["why"].str.contains("EU").any()


def test_eu_threshold_follows_the_date_and_an_explicit_setting_is_kept():
    before = flagged_entities(chain_register(), "eu", as_of="2024-07-02")
    since = flagged_entities(chain_register(), "eu", as_of="2024-07-03").set_index("name")
    assert before.empty and before.attrs["threshold"] == "more than 50% in aggregate, or control"
    assert since["stake"].to_dict() == {"Alpha": 0.5, "Bravo": 1.0}
    assert since.attrs["threshold"] == "50% or more in aggregate, or control"
    strict = replace(rule_policy("eu"), eu_inclusive=False)
    assert flagged_entities(chain_register(), "eu", as_of="2025-01-01", policy=strict).empty
    lenient = replace(rule_policy("eu"), eu_inclusive=True)
    assert len(flagged_entities(chain_register(), "eu", as_of="2020-06-01", policy=lenient)) == 2


def banded_register() -> gs.Tables:
    """Listed L owns C with no recorded share beside U's recorded 80 %; L owns between 50 % and
    75 % of R (a range); L owns 25 % of S and K owns S with no recorded share."""
    entities = pd.DataFrame({"id": ["L", "U", "C", "R", "S", "K"],
                             "kind": ["person", "person", "company", "company", "company", "company"],
                             "name": ["Lev", "Uma", "Charlie", "Romeo", "Sierra", "Kilo"]})
    links = pd.DataFrame({"source": ["L", "U", "L", "L", "K"], "target": ["C", "C", "R", "S", "S"],
                          "type": "OWNS", "share": [None, 0.8, None, 0.25, None],
                          "share_low": [None, None, 0.5, None, None], "share_high": [None, None, 0.75, None, None]})
    penalties = pd.DataFrame({"id": ["s"], "entity": ["L"], "kind": ["sanction"], "severity": [1.0],
                              "start": ["2020-01-01"], "regime": ["us-ofac"]})
    return gs.validate(gs.Tables(entities, links, penalties))


def test_unknown_and_ranged_stakes_are_bands_with_a_status():
    """OFAC: L's unknown stake in C is at most the 20 % U's 80 % leaves: never 50 %, C is not
    flagged at all (an upper bound of 100 % would have made it "possible"). R: 50-75 %, flagged
    at the low end already. Integrated, 25 % threshold: S is held 25 % by L for sure
    ("flagged"); K's unknown stake in S adds nothing as K is not listed."""
    ofac = flagged_entities(banded_register(), "ofac", as_of="2024-01-01").set_index("name")
    assert list(ofac.index) == ["Romeo"]
    romeo = ofac.loc["Romeo"]
    assert (romeo["status"], romeo["stake_low"], romeo["stake_high"]) == ("flagged", 0.5, 0.75)
    assert pd.isna(romeo["stake"]) and romeo["via"] == "Lev 50-75%"
    assert ofac.attrs["notes"] == [
        "Lev -> Charlie: no recorded share, taken as 0-20% (what the other owners' recorded stakes leave)",
        "Lev -> Romeo: no recorded share, taken as 50-75% (a range)",
        "Kilo -> Sierra: no recorded share, taken as 0-75% (what the other owners' recorded stakes leave)"]
    integrated = flagged_entities(banded_register(), "integrated", as_of="2024-01-01").set_index("name")
    assert integrated["status"].to_dict() == {"Romeo": "flagged", "Sierra": "flagged"}
    assert integrated.loc["Romeo", "via"] == "Lev -> [50-75%] Romeo (50-75%)"
    owners = ultimate_owners_table(banded_register(), "R", as_of="2024-01-01")
    assert owners[["name", "status", "stake_low", "stake_high"]].to_dict("records") == [
        {"name": "Lev", "status": "flagged", "stake_low": 0.5, "stake_high": 0.75}]
    assert owners.loc[0, "chains"] == "Lev -> [50-75%] Romeo (50-75%)"


def test_an_owner_possible_only_at_the_high_end():
    """C: L holds an unknown part, U 60 %: L's stake is 0-40 %, at least 25 % only at the high
    end: "possible" under the 25 % beneficial-owner threshold, and in the UBO table."""
    tables = banded_register()
    links = tables.links.copy()
    links.loc[(links["source"] == "U") & (links["target"] == "C"), "share"] = 0.6
    tables = gs.validate(gs.Tables(tables.entities, links.drop(columns=["start", "end"]), tables.penalties))
    integrated = flagged_entities(tables, "integrated", as_of="2024-01-01").set_index("name")
    assert integrated.loc["Charlie", "status"] == "possible"
    assert (integrated.loc["Charlie", "stake_low"], integrated.loc["Charlie", "stake_high"]) == (0.0, pytest.approx(0.4))
    owners = ultimate_owners_table(tables, "C", as_of="2024-01-01").set_index("name")
    assert owners["status"].to_dict() == {"Uma": "flagged", "Lev": "possible"}


def test_each_rule_starts_from_its_own_regime():
    """L is listed by the EU only: OFAC has no blocked owner to start from, the EU freezes R."""
    tables = banded_register()
    penalties = tables.penalties.assign(regime="eu")
    tables = gs.validate(gs.Tables(tables.entities, tables.links.drop(columns=["start", "end"]), penalties))
    assert flagged_entities(tables, "ofac", as_of="2024-01-01").empty
    assert flagged_entities(tables, "eu", as_of="2024-01-01")["name"].tolist() == ["Romeo"]


def test_ultimate_owners_with_their_chains(register):
    owners = ultimate_owners_table(register, "C", as_of="2024-01-01")
    assert owners[["name", "stake"]].to_dict("records") == [{"name": "Alpha", "stake": 0.7},
                                                            {"name": "Lev", "stake": pytest.approx(0.643)}]
    assert owners.loc[1, "chains"] == "Lev -> [49%] Alpha -> [70%] Charlie (34.3%); Lev -> [30%] Charlie (30%)"
    persons = ultimate_owners_table(register, "C", as_of="2024-01-01", persons_only=True)
    assert persons["name"].tolist() == ["Lev"]


def test_ultimate_owners_on_the_owners_block_are_those_of_the_whole_register():
    """The table reads the block of D among an asset's chain owners only: on a synthetic
    register with unknown stakes (bands) its rows are those the engine gives on all of D, at
    both ends of the bands, chains included."""
    ws = gs.Workspace(generate_network(400, seed=5, as_of="2024-06-30"))
    reading = _read(ws, rule_policy("integrated"), "2024-06-30", runs=False)
    projection = reading.projection
    assert reading.high_projection is not projection  # unknown stakes: two ends
    names = _Names(ws)
    several = np.flatnonzero(np.asarray((reading.D_high > 0).sum(axis=0)).ravel() >= 2)
    compared = 0
    for asset in several[:40]:
        table = ultimate_owners_table(ws, projection.ids[asset], as_of="2024-06-30")
        low = ownership.owner_stakes(reading.D_low, asset)
        expected = [(projection.ids[o], min(float(low[o]), high), high, _chains(reading, [o], asset, names, top=3))
                    for o, high in ownership.ultimate_owners(reading.D_high, asset)]
        expected.sort(key=lambda row: (-row[2], -row[1]))
        assert list(zip(table["id"], table["stake_low"], table["stake_high"], table["chains"])) == expected
        compared += len(expected)
    assert compared > 40


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="rule must be one of ofac, eu, uk, integrated, got 'un'"):
        rule_policy("un")


def test_a_cycle_with_two_consistent_answers_is_reported_for_review():
    """X (OFAC-listed) owns 40 % of A, A owns 100 % of B, B owns 10 % of A: blocking nothing
    but X is consistent, and so is blocking A (40 % + 10 %) and B (100 %). Both rows say
    "review", with the stakes of the least answer; the integrated reading has one answer
    (X's 40 % of A through chains: 0.4 / (1 - 0.1) = 44.4 % of A and of B)."""
    entities = pd.DataFrame({"id": ["X", "A", "B"], "kind": ["person", "company", "company"],
                             "name": ["Xavier", "Alpha", "Bravo"]})
    links = pd.DataFrame({"source": ["X", "A", "B"], "target": ["A", "B", "A"], "type": "OWNS",
                          "share": [0.4, 1.0, 0.1]})
    penalties = pd.DataFrame({"id": ["s"], "entity": ["X"], "kind": ["sanction"], "severity": [1.0],
                              "start": ["2020-01-01"], "regime": ["us-ofac"]})
    tables = gs.validate(gs.Tables(entities, links, penalties))
    ofac = flagged_entities(tables, "ofac", as_of="2024-01-01").set_index("name")
    assert ofac["status"].to_dict() == {"Alpha": "review", "Bravo": "review"}
    assert ofac.loc["Alpha", "stake"] == pytest.approx(0.4) and ofac.loc["Bravo", "stake"] == 0
    assert ofac.loc["Alpha", "via"] == "Xavier 40% + Bravo 10%"
    integrated = flagged_entities(tables, "integrated", as_of="2024-01-01").set_index("name")
    assert integrated["stake"].to_dict() == pytest.approx({"Alpha": 0.4 / 0.9, "Bravo": 0.4 / 0.9})
    assert (integrated["status"] == "flagged").all()


def test_mutual_holdings_without_shares_do_not_make_a_run_diverge():
    """A and B hold each other, C and D too, no share recorded. L (listed) holds a recorded 30 %
    of A, so B's stake in A is at most 70 %, A's in B at most 100 %; C and D have no other owner,
    so each stake is at most 100 % and the cycle C <-> D multiplies to 1 at the high end.
    Low end: L holds 30 % of A, nothing of B. High end: y_A = 0.3 + 0.7 y_B, y_B = y_A, so
    y_A = y_B = 100 %. A is flagged (30 % >= 25 %), B possible; C and D, held by no listed
    owner, are not flagged and do not stop the run; C's owners: D, 0-100 %, possible."""
    entities = pd.DataFrame({"id": ["L", "A", "B", "C", "D"], "kind": ["person"] + ["company"] * 4,
                             "name": ["Lev", "Alpha", "Bravo", "Charlie", "Delta"]})
    links = pd.DataFrame({"source": ["L", "A", "B", "C", "D"], "target": ["A", "B", "A", "D", "C"],
                          "type": "OWNS", "share": [0.3, None, None, None, None]})
    penalties = pd.DataFrame({"id": ["s"], "entity": ["L"], "kind": ["sanction"], "severity": [1.0],
                              "start": ["2020-01-01"]})
    tables = gs.validate(gs.Tables(entities, links, penalties))
    scores = gs.score(tables, rule_policy("integrated"), as_of="2024-01-01").set_index("name")
    assert scores.loc[["Alpha", "Bravo", "Charlie", "Delta"], "total_low"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert scores.loc[["Alpha", "Bravo", "Charlie", "Delta"], "total_high"].tolist() == [1.0, 1.0, 0.0, 0.0]
    flagged = flagged_entities(tables, "integrated", as_of="2024-01-01").set_index("name")
    assert flagged["status"].to_dict() == {"Alpha": "flagged", "Bravo": "possible"}
    assert flagged.loc["Alpha", ["stake_low", "stake_high"]].tolist() == pytest.approx([0.3, 1.0])
    owners = ultimate_owners_table(tables, "C", as_of="2024-01-01")
    assert owners[["name", "status", "stake_low", "stake_high"]].to_dict("records") == [
        {"name": "Delta", "status": "possible", "stake_low": 0.0, "stake_high": 1.0}]


def test_compare_says_when_the_rules_start_from_different_listings():
    """Xavier is listed by the EU only and holds 60 % of Alpha, which holds 100 % of Bravo: the EU
    freezes both, OFAC blocks neither, and the reason is the listing, not the counting."""
    entities = pd.DataFrame({"id": ["X", "A", "B"], "kind": ["person", "company", "company"],
                             "name": ["Xavier", "Alpha", "Bravo"]})
    links = pd.DataFrame({"source": ["X", "A"], "target": ["A", "B"], "type": "OWNS", "share": [0.6, 1.0]})
    penalties = pd.DataFrame({"id": ["s"], "entity": ["X"], "kind": ["sanction"], "severity": [1.0],
                              "start": ["2020-01-01"], "regime": ["eu"]})
    rows = compare_rules(gs.validate(gs.Tables(entities, links, penalties)), as_of="2024-01-01").set_index("name")
    assert rows[["ofac", "eu", "uk", "integrated"]].loc["Bravo"].tolist() == [False, True, False, True]
    why = rows.loc["Bravo", "why"]
    assert why.startswith("integrated vs OFAC, listings: Xavier listed under integrated (any regime), "
                          "not under OFAC (regimes us-ofac); EU vs OFAC, listings: Xavier listed under EU "
                          "(regimes eu), not under OFAC (regimes us-ofac)")
    assert ("EU vs OFAC: Alpha (100% of Bravo) is not blocked by OFAC and frozen under the EU reading, because "
            "Xavier (60% of Alpha) is not blocked by OFAC and frozen under the EU reading, because Xavier is "
            "listed under the EU's regime only") in why
