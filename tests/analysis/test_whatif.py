"""What-if by forward push agrees with a full recompute, on a registry and on the Zala data."""

from __future__ import annotations

import numpy as np
import pytest

import graphscore as gs
from graphscore.analysis.whatif import (apply_change, attribution_change, change_scores, lift_change,
                                        own_before_after, penalize_change)
from graphscore.engine.run import SCORE_TOL, run_model
from graphscore.io import read_paths
from graphscore.synthetic import generate_network
from graphscore.workspace import Workspace
from tests.conftest import POLICIES, SPREAD_SPLIT, ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


def assert_within_the_stated_bound(local, full) -> None:
    """The change by push is within its proven bound of the change by two full runs, each of which
    is within SCORE_TOL x the largest score of exact."""
    slack = 2 * SCORE_TOL * max(np.abs(full[0]).max(), np.abs(full[1]).max())
    assert np.abs((local.after - local.before) - (full[1] - full[0])).max() <= local.error + slack
    assert np.abs(local.after - full[1]).max() <= local.error + slack


@pytest.mark.parametrize("policy_path", [POLICIES / "diffusion.toml", SPREAD_SPLIT], ids=lambda p: p.stem)
def test_push_agrees_with_a_full_solve_on_a_registry(policy_path):
    tables = gs.validate(generate_network(3000, seed=5))
    policy = gs.load_policy(policy_path)
    workspace = Workspace(tables)
    projection = workspace.projection(policy, "2024-06-30")
    rng = np.random.default_rng(1)
    penalised = tables.penalties.loc[projection.penalties["weight"] > 0, "id"].to_numpy()
    changes = [penalize_change(projection, entity, 1.0) for entity in rng.choice(projection.ids, size=3)]
    changes += [lift_change(projection, penalty) for penalty in rng.choice(penalised, size=3)]
    pushed = 0
    for change in changes:
        full = apply_change(workspace, policy, change, method="solve")
        for accuracy in (1e-3, 1e-6):  # at 1e-3 the push mostly stays local; at 1e-6 it may give way to the solve
            local = change_scores(workspace, policy, change, accuracy=accuracy)
            pushed += local.method == "push" and accuracy == 1e-3
            assert local.method == "push" or "reaches most of the graph" in local.note
            assert local.error <= accuracy * np.abs(change.delta_s).sum()
            assert f"within {local.error:.2g}" in local.note
            assert_within_the_stated_bound(local, full)
    assert pushed >= 4


def test_a_change_that_reaches_most_of_the_graph_is_solved_and_says_so():
    tables = gs.validate(generate_network(3000, seed=5))
    policy = gs.load_policy(SPREAD_SPLIT)
    workspace = Workspace(tables)
    projection = workspace.projection(policy, "2024-06-30")
    change = penalize_change(projection, projection.ids[int(np.argmax(projection.W.sum(axis=0)))], 1.0)
    result = change_scores(workspace, policy, change, accuracy=1e-13)
    assert result.method == "solve" and "reaches most of the graph" in result.note
    assert result.error == pytest.approx(1e-13)
    assert_within_the_stated_bound(result, apply_change(workspace, policy, change, method="solve"))


def test_push_agrees_with_a_full_solve_on_the_zala_data():
    tables = read_paths([ZALA])
    policy = gs.load_policy(SPREAD_SPLIT)
    workspace = Workspace(tables)
    projection = workspace.projection(policy, "2024-06-30")
    for change in (attribution_change(projection, entity_id="NK-abdzbEBkqyT29GyREbiURZ"),
                   penalize_change(projection, "NK-56Edov9bas9puzaChH5pBy", 2.0)):
        baseline = "without" if change.label.startswith("penalties") else "current"
        local = change_scores(workspace, policy, change, baseline=baseline)
        assert_within_the_stated_bound(local, apply_change(workspace, policy, change, baseline=baseline,
                                                           method="solve"))


def test_hop_sum_whatif_is_the_cut_series_of_the_change():
    """Under the shipped joint-punishment policy (hop, sum, two links) a what-if moves every
    entity by ``sum_{k<=2} (damping W)^k delta_s`` (dense matrix powers), and its after-scores are
    the scores of the changed register: the penalty added, or lifted."""
    tables = gs.validate(generate_network(3000, seed=5))
    policy = gs.load_policy(POLICIES / "joint-punishment.toml")
    workspace = Workspace(tables)
    projection = workspace.projection(policy, "2024-06-30")
    A = policy.damping * projection.W.toarray()
    hub = projection.ids[int(np.argmax(projection.W.sum(axis=0)))]
    active = projection.penalties.loc[projection.penalties["weight"] > 0, "id"]
    lifted = next(p for p in active if lift_change(projection, p).delta_s.any())
    for change in (penalize_change(projection, hub, 1.0), lift_change(projection, lifted)):
        result = change_scores(workspace, policy, change)
        delta_s = change.delta_vector(projection.n)
        expected = delta_s + A @ delta_s + A @ (A @ delta_s)
        assert result.method == "local" and result.error == 0 and np.count_nonzero(expected) > 10
        np.testing.assert_allclose(result.after - result.before, expected, atol=1e-12)
        np.testing.assert_array_equal(result.before, workspace.baseline(policy, "2024-06-30").total)
        # the answer is the cached baseline (not a copy) and the entities that moved, nothing more
        assert result.base is workspace.baseline(policy, "2024-06-30").total
        np.testing.assert_array_equal(result.indices, np.flatnonzero(result.after != result.before))
        np.testing.assert_array_equal(result.delta, (result.after - result.before)[result.indices])
    without = tables.penalties[tables.penalties["id"] != lifted]
    rescored = gs.score(gs.Tables(tables.entities, tables.links, without, validated=True), policy, as_of="2024-06-30")
    np.testing.assert_allclose(result.after, rescored.set_index("id").loc[projection.ids, "total"], atol=1e-12)


@pytest.mark.parametrize("baseline", ["current", "without"])
def test_hop_max_whatif_is_the_changed_registers_scores(baseline):
    """Under joint-punishment-categorical (hop, max) a what-if's scores on the changed side are,
    bit for bit, those of the model run over the whole changed register: a new penalty on the
    entity reaching most others, an existing penalty lifted, an entity's penalties attributed."""
    tables = gs.validate(generate_network(3000, seed=5))
    policy = gs.load_policy(POLICIES / "joint-punishment-categorical.toml")
    workspace = Workspace(tables)
    projection = workspace.projection(policy, "2024-06-30")
    hub = projection.ids[int(np.argmax(np.diff(projection.W_by_source.indptr)))]
    active = projection.penalties.loc[projection.penalties["weight"] > 0]
    changes = [attribution_change(projection, entity_id=entity) for entity in active["entity"].unique()[:5]]
    if baseline == "current":
        changes = [penalize_change(projection, hub, 2.0)] + [lift_change(projection, p) for p in active["id"][:5]]
    moved = 0
    for change in changes:
        result = change_scores(workspace, policy, change, baseline=baseline)
        s_before, s_after = own_before_after(projection, change, baseline=baseline)
        assert result.method == "local"
        np.testing.assert_array_equal(result.before, run_model(projection, policy, s_before).total)
        np.testing.assert_array_equal(result.after, run_model(projection, policy, s_after).total)
        moved += result.reached
    assert moved > 10


def test_unknown_method_is_refused(hand_tables, hand_policy):
    workspace = Workspace(hand_tables)
    projection = workspace.projection(hand_policy, "2024-01-01")
    with pytest.raises(ValueError, match="method must be 'auto' or 'solve', got 'guess'"):
        apply_change(workspace, hand_policy, lift_change(projection, "F1"), method="guess")
