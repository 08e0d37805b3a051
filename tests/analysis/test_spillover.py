"""The spillover report's numbers on the hand-worked case of tests/engine/test_spread.py."""

from __future__ import annotations

import pandas as pd
import pytest

from graphscore.analysis.spillover import spillover


def test_spillover_of_one_penalty_is_its_whole_contribution(hand_tables, hand_policy):
    report = spillover(hand_tables, hand_policy, penalty="F1", as_of="2024-01-01", threshold=0.2)
    rows = report.affected.set_index("id")
    # Without F1 nobody has a score, so the change is the hand-worked x itself.
    assert rows["change"].to_dict() == pytest.approx({"C1": 7 / 6, "P": 2 / 3, "O": 0.35, "C2": 1 / 6})
    assert rows["hops"].to_dict() == {"C1": 0, "P": 1, "O": 1, "C2": 2}
    assert rows["reached_by"].to_dict() == {"C1": "source", "P": "OFFICER_OF", "O": "OWNS", "C2": "OFFICER_OF"}
    assert rows.loc["C2", "path"] == ("Alpha Ltd <-[OFFICER_OF legal_representative]- Pat "
                                      "-[OFFICER_OF legal_representative]-> Beta Ltd")
    assert rows.loc["C2", "path_strength"] == pytest.approx(0.5 * 1.0 * 0.5 * 0.5)
    assert set(report.collateral["id"]) == {"P", "O"}  # C2 stays below 0.2
    assert report.summary() == {"entities_affected": 3, "total_change": pytest.approx(2 / 3 + 0.35 + 1 / 6),
                                "max_hops": 2, "collateral": 2}
    assert report.by_hop["entities"].tolist() == [2, 1]
    assert report.manifest["as_of"] == "2024-01-01" and len(report.manifest["data_fingerprint"]) == 64


def test_lifting_a_penalty_never_counts_its_own_entity_as_collateral(hand_tables, hand_policy):
    report = spillover(hand_tables, hand_policy, lift="F1", as_of="2024-01-01", threshold=0.2)
    rows = report.affected.set_index("id")
    assert rows.loc["C1", "change"] == pytest.approx(-7 / 6)
    assert set(report.collateral["id"]) == {"P", "O"}


def test_a_new_penalty_reaches_through_the_shared_representative(hand_tables, hand_policy):
    report = spillover(hand_tables, hand_policy, penalize="C2", severity=2.0, as_of="2024-01-01")
    rows = report.affected.set_index("id")
    # By symmetry with F1 on C1: C2 gets 2 x 7/6, P 2 x 2/3, C1 2 x 1/6; O inherits from C1.
    # A what-if is within whatif.ACCURACY (1e-6) per unit of changed penalty, here 2.
    expected = {"C2": 7 / 3, "P": 4 / 3, "C1": 1 / 3, "O": 0.5 * 0.6 * 1 / 3}
    for entity, change in expected.items():
        assert rows.loc[entity, "change"] == pytest.approx(change, rel=0, abs=2e-6), entity


def test_exactly_one_subject(hand_tables, hand_policy):
    with pytest.raises(ValueError, match="give exactly one of entity, penalty, penalize or lift"):
        spillover(hand_tables, hand_policy, entity="C1", penalty="F1")
    with pytest.raises(KeyError, match="unknown entity id 'nobody'"):
        spillover(hand_tables, hand_policy, entity="nobody")


@pytest.mark.parametrize("policy_file", ["joint-punishment.toml", "diffusion.toml"])
def test_a_what_if_and_its_report_come_from_one_change(policy_file):
    """``graphscore whatif`` computes the change once: its changed scores are whatif()'s rows
    that change, bit for bit, and its report is spillover()'s of the same change."""
    import graphscore as gs
    from graphscore.analysis.spillover import whatif_spillover
    from graphscore.analysis.whatif import whatif
    from graphscore.synthetic import generate_network
    from graphscore.workspace import Workspace
    from tests.conftest import POLICIES

    ws = Workspace(gs.validate(generate_network(300, seed=3)))
    policy = gs.load_policy(POLICIES / policy_file)
    penalised = ws.projection(policy, "2024-06-30").penalties
    lifted = penalised.loc[penalised["weight"] > 0, "id"].iloc[0]
    for asked in ({"penalize": "C000007", "severity": 2.0}, {"lift": lifted}):
        changes, report = whatif_spillover(ws, policy, as_of="2024-06-30", **asked)
        every = whatif(ws, policy, as_of="2024-06-30", **asked)
        assert len(changes) > 1
        pd.testing.assert_frame_equal(changes, every[every["delta"] != 0])
        assert changes.attrs["notes"] == every.attrs["notes"] and changes.attrs["error"] == every.attrs["error"]
        reference = spillover(ws, policy, as_of="2024-06-30", **asked)
        pd.testing.assert_frame_equal(report.affected, reference.affected)
        assert report.title == reference.title and report.notes == reference.notes


def test_text_columns_are_the_columns_pandas_makes():
    """The affected table's text columns, made by pyarrow at once (spillover._text), are the
    columns pandas makes of the same strings: values, missing values, dtype."""
    import numpy as np

    import graphscore as gs
    from graphscore.analysis.spillover import _text
    from graphscore.synthetic import generate_network
    from graphscore.workspace import Workspace
    from tests.conftest import POLICIES

    strings = np.array(["Zala Aero", None, "Жёлудь", "", "OWNS"], dtype=object)
    pd.testing.assert_series_equal(pd.Series(_text(strings)), pd.Series(strings))
    ws = Workspace(gs.validate(generate_network(300, seed=3)))
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    penalised = ws.projection(policy, "2024-06-30").penalties["entity"].iloc[0]
    affected = spillover(ws, policy, entity=penalised, as_of="2024-06-30").affected
    assert len(affected) > 10 and affected["path"].str.len().gt(0).any()
    for column in ("name", "kind", "reached_by", "path"):
        plain = pd.Series(affected[column].to_numpy(dtype=object), name=column)
        pd.testing.assert_series_equal(affected[column], plain)
    rows = ws.entities.loc[affected["id"]]
    assert affected["name"].tolist() == rows["name"].tolist() and affected["kind"].tolist() == rows["kind"].tolist()
