"""Compare reports on a hand-made register, built through the public API: the numbers (the
files are checked in tests/report/test_render_compare.py).

The register extends ``graphscore.toy.shared_representative`` (tests/engine/test_spread.py works
it by hand): Alpha Ltd (C1, fine F1 of severity 1) and Beta Ltd (C2) share their legal
representative Pat (P); Olga (O) owns 60 % of C1 and all of H, a company whose name carries
markup; Zeta Idle (Z) has no link at all.

Under ``hand`` (tests/conftest.py, damping 0.5) the hand-worked totals stay as they were: C1 7/6,
P 2/3, O 0.35, C2 1/6; H and Z 0 (nothing carries a penalty to H). Under ``groups`` (legal
representatives inherit from their company, OWNS carries by share both ways, damping 0.5):
H = 0.5 O, O = 0.5 (0.6 C1 + H) = 0.3 C1 + 0.25 O, so O = 0.4 C1; C1 = 1 + 0.5 * 0.6 O = 1 + 0.12 C1,
so C1 = 1 / 0.88 = 1.1364, O = 0.4545, H = 0.2273, P = 0.5 C1 = 0.5682, C2 = Z = 0.

Hops (any link, either way, from C1, the only penalised entity): P 1, O 1, C2 2 (via P),
H 2 (via O), Z unreachable.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy as sp

import graphscore as gs
from graphscore.analysis.compare import compare_policies, hop_distances, link_graph, parse_sweep, sweep
from tests.conftest import HAND_POLICY

AS_OF = "2024-01-01"
HOSTILE = "<script>alert('x')</script> Holdings & Co"
IDS = ["C1", "C2", "P", "O", "H", "Z"]

GROUPS_POLICY = """
name = "groups"
damping = 0.5
[[transmit]]
link = "OFFICER_OF"
role = "legal_representative"
direction = "backward"
[[transmit]]
link = "OWNS"
direction = "both"
weight = "share"
"""
# The hand policy with Pat's penalty reaching both his companies in full: W then joins P with C1
# and C2 at weight 1 both ways, spectral radius sqrt(2), so spread diverges from damping 0.7072.
HEAVY_POLICY = HAND_POLICY.replace("weight = 0.5", "weight = 1.0")
SWEEP = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]

@pytest.fixture(scope="module")
def register() -> gs.Tables:
    entities = pd.DataFrame({"id": IDS, "kind": ["company", "company", "person", "person", "company", "company"],
                             "name": ["Alpha Ltd", "Beta Ltd", "Pat", "Olga", HOSTILE, "Zeta Idle"]})
    links = pd.DataFrame({"source": ["P", "P", "O", "O"], "target": ["C1", "C2", "C1", "H"],
                          "type": ["OFFICER_OF", "OFFICER_OF", "OWNS", "OWNS"],
                          "role": ["legal_representative", "legal_representative", None, None],
                          "share": [None, None, 0.6, 1.0]})
    penalties = pd.DataFrame({"id": ["F1"], "entity": ["C1"], "kind": ["fine"], "severity": [1.0],
                              "start": ["2020-01-01"]})
    return gs.validate(gs.Tables(entities, links, penalties))


@pytest.fixture(scope="module")
def hand() -> gs.Policy:
    return gs.parse_policy(HAND_POLICY)


@pytest.fixture(scope="module")
def groups() -> gs.Policy:
    return gs.parse_policy(GROUPS_POLICY)


@pytest.fixture(scope="module")
def report(register, hand, groups):
    return compare_policies(register, [hand, groups], as_of=AS_OF, threshold=0.2)


@pytest.fixture(scope="module")
def swept(register):
    return sweep(register, gs.parse_policy(HEAVY_POLICY), "damping", SWEEP, as_of=AS_OF)


# ---- numbers ------------------------------------------------------------------------------------

def test_hand_worked_scores_and_hops(report):
    totals = report.wide("total")
    np.testing.assert_allclose(totals["hand"].to_numpy(), [7 / 6, 1 / 6, 2 / 3, 0.35, 0, 0])
    np.testing.assert_allclose(totals["groups"].to_numpy(), [1 / 0.88, 0, 0.5 / 0.88, 0.4 / 0.88, 0.2 / 0.88, 0])
    hops = report.wide("hops")["hand"]
    assert hops.iloc[:5].tolist() == [0, 2, 1, 1, 2] and pd.isna(hops["Z"])


def test_hop_distances_by_breadth_first_search(register):
    """Multi-source: each entity's distance to the nearer of two sources, links taken either way."""
    adjacency = link_graph(register, AS_OF)
    assert (adjacency != adjacency.T).nnz == 0
    distances = hop_distances(adjacency, np.isin(IDS, ["C2", "H"]))
    assert distances.tolist() == [2.0, 0.0, 1.0, 1.0, 0.0, np.inf]  # C1 via P or O, Z unreachable
    assert np.isinf(hop_distances(adjacency, np.zeros(len(IDS), bool))).all()


def test_correlations_equal_scipys_on_the_score_columns(register, hand, groups, report):
    a = gs.score(register, hand, as_of=AS_OF)["total"].to_numpy()
    b = gs.score(register, groups, as_of=AS_OF)["total"].to_numpy()
    rows = report.correlations.set_index("scope")
    assert rows.loc["all", ["a", "b"]].tolist() == ["hand", "groups"]
    assert rows.loc["all", "entities"] == 6
    assert rows.loc["all", "spearman"] == pytest.approx(sp.stats.spearmanr(a, b).statistic, abs=1e-12)
    assert rows.loc["all", "kendall_tau_b"] == pytest.approx(sp.stats.kendalltau(a, b).statistic, abs=1e-12)
    either = (a != 0) | (b != 0)  # all but Zeta Idle
    assert rows.loc["nonzero", "entities"] == 5
    assert rows.loc["nonzero", "spearman"] == pytest.approx(
        sp.stats.spearmanr(a[either], b[either]).statistic, abs=1e-12)
    assert rows.loc["nonzero", "kendall_tau_b"] == pytest.approx(
        sp.stats.kendalltau(a[either], b[either], variant="b").statistic, abs=1e-12)
    assert rows.loc["all", "spearman"] < 1 and rows.loc["nonzero", "kendall_tau_b"] < 1


def test_movers_against_the_first_policy(report):
    """Ranks under hand: C1 1, P 2, O 3, C2 4, H and Z 5 (tied at zero); under groups: C1 1, P 2,
    O 3, H 4, C2 and Z 5. So H climbs one place and C2 falls one; every score but Z's moves."""
    ranks = report.rank_movers.set_index("id")
    assert ranks["rank_change"].to_dict() == {"H": 1, "C2": -1}
    assert ranks.loc["H", ["baseline_rank", "variant_rank", "name"]].tolist() == [5, 4, HOSTILE]
    scores = report.score_movers
    assert scores["id"].tolist() == ["H", "C2", "O", "P", "C1"]  # largest change first
    np.testing.assert_allclose(scores["change"], [0.2 / 0.88, -1 / 6, 0.4 / 0.88 - 0.35,
                                                  0.5 / 0.88 - 2 / 3, 1 / 0.88 - 7 / 6])
    assert set(scores["baseline"]) == {"hand"} and set(scores["variant"]) == {"groups"}


def test_identical_policies_correlate_perfectly_and_nobody_moves(register, hand):
    report = compare_policies(register, [hand, hand], as_of=AS_OF)
    assert report.labels == ["hand #1", "hand #2"]
    assert report.correlations[["spearman", "kendall_tau_b"]].to_numpy() == pytest.approx(1.0)
    assert report.rank_movers.empty and report.score_movers.empty
    assert report.manifests[0]["policy"]["hash"] == report.manifests[1]["policy"]["hash"] == hand.hash


def test_collateral_by_kind_and_hop_match_a_hand_count(register, hand, groups, report):
    """Threshold 0.2 (no own penalty, total >= 0.2): hand P 2/3, O 0.35 (C2's 1/6 falls short);
    groups P 0.568, O 0.455, H 0.227. At hand's own threshold 0.1, C2 (company, 2 hops) joins."""
    by_kind = report.collateral_by_kind.set_index(["variant", "kind"])["entities"].to_dict()
    assert by_kind == {("hand", "company"): 0, ("hand", "person"): 2,
                       ("groups", "company"): 1, ("groups", "person"): 2}
    by_hop = report.collateral_by_hop.set_index(["variant", "hops"])["entities"].to_dict()
    assert by_hop == {("hand", 1): 2, ("hand", 2): 0, ("groups", 1): 2, ("groups", 2): 1}
    assert report.collateral.groupby("variant", sort=False)["id"].apply(list).to_dict() == {
        "hand": ["P", "O"], "groups": ["P", "O", "H"]}
    assert report.variants.set_index("label")["collateral"].to_dict() == {"hand": 2, "groups": 3}

    own_threshold = compare_policies(register, [hand, groups], as_of=AS_OF)
    assert own_threshold.threshold is None and own_threshold.variants["threshold"].tolist() == [0.1, 0.1]
    hand_rows = own_threshold.collateral[own_threshold.collateral["variant"] == "hand"]
    assert hand_rows[["id", "kind", "hops"]].values.tolist() == [["P", "person", 1], ["O", "person", 1],
                                                                 ["C2", "company", 2]]


# ---- sweeps -------------------------------------------------------------------------------------

def test_damping_sweep_is_monotone_and_records_divergence(register, swept):
    variants = swept.variants.set_index("label")
    assert swept.parameter == "damping" and variants["value"].tolist() == SWEEP
    scored = variants[variants["status"] == "ok"]
    assert scored["value"].tolist() == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    # Spread with non-negative weights: every path's contribution grows with damping.
    assert np.all(np.diff(scored["total_inherited"].to_numpy(float)) > 0)
    assert np.all(np.diff(scored["collateral"].to_numpy(int)) >= 0)
    assert swept.wide("total").diff(axis=1).iloc[:, 1:].ge(0).all().all()

    failed = variants[variants["status"] == "failed"]
    assert failed.index.tolist() == ["damping=0.8", "damping=0.9"]
    with pytest.raises(gs.ConvergenceError, match="spread diverges") as raised:
        gs.score(register, dataclasses.replace(gs.parse_policy(HEAVY_POLICY), damping=0.8), as_of=AS_OF)
    assert failed.loc["damping=0.8", "error"] == str(raised.value)
    assert failed[["total_inherited", "collateral"]].isna().all().all()
    assert set(swept.scores["variant"]) == set(scored.index)
    assert len(swept.manifests) == len(SWEEP)  # failed variants keep their manifest
    assert swept.summary()["failed"] == 2


def test_sweep_reads_values_as_text(register, swept):
    parameter, values = parse_sweep("damping=0.1,0.2,0.3")
    again = sweep(register, gs.parse_policy(HEAVY_POLICY), parameter, values, as_of=AS_OF)
    assert again.labels == swept.labels[:3]
    pd.testing.assert_frame_equal(again.wide(), swept.wide().iloc[:, :3])
    hop = gs.parse_policy(HAND_POLICY.replace('model = "spread"', 'model = "hop"'))
    by_rule = sweep(register, hop, "aggregate", ["sum", "max"], as_of=AS_OF)
    assert by_rule.labels == ["aggregate=sum", "aggregate=max"] and by_rule.variants["value"].tolist() == ["sum", "max"]


def test_bad_comparisons_are_refused(register, hand):
    with pytest.raises(ValueError, match="cannot sweep 'dampening': choose a policy parameter"):
        sweep(register, hand, "dampening", [0.1, 0.2])
    with pytest.raises(ValueError, match="cannot sweep 'name'"):
        sweep(register, hand, "name", ["a", "b"])
    with pytest.raises(ValueError, match=r"cannot read 'lots' as a value of damping \(expected float\)"):
        sweep(register, hand, "damping", ["0.1", "lots"])
    with pytest.raises(ValueError, match="repeated: 'damping=0.5'"):
        sweep(register, hand, "damping", [0.5, 0.5])
    with pytest.raises(ValueError, match="at least two variants, got 1"):
        compare_policies(register, [hand])
    with pytest.raises(ValueError, match="give one label per policy: 1 label"):
        compare_policies(register, [hand, hand], labels=["a"])
    with pytest.raises(ValueError, match="a sweep reads PARAMETER=VALUE"):
        parse_sweep("damping=")


def test_one_date_for_every_variant(register, hand):
    dated = dataclasses.replace(hand, name="dated", as_of=pd.Timestamp("2019-06-30").date())
    report = compare_policies(register, [hand, dated], as_of=AS_OF)
    assert all(manifest["as_of"] == AS_OF for manifest in report.manifests)
    assert "dated: the policy's as_of 2019-06-30 is not used; every variant is scored as of 2024-01-01" in report.notes
    assert report.correlations["spearman"].tolist() == [1.0, 1.0]  # scored at one date, so no difference
