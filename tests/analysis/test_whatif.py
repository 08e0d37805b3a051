"""What-if by forward push agrees with a full recompute, on a registry and on the Zala data."""

from __future__ import annotations

import numpy as np
import pytest

import graphscore as gs
from graphscore.analysis.whatif import apply_change, attribution_change, lift_change, penalize_change
from graphscore.io import read_paths
from graphscore.synthetic import generate_network
from graphscore.workspace import Workspace
from tests.conftest import POLICIES, ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")
TOLERANCE = 1e-6  # absolute, per unit of penalty: the push stops at 1e-9 residual per unit (PUSH_TOL)


@pytest.mark.parametrize("policy_file", ["diffusion.toml", "joint-punishment.toml"])
def test_push_agrees_with_a_full_solve_on_a_registry(policy_file):
    tables = gs.validate(generate_network(3000, seed=5))
    policy = gs.load_policy(POLICIES / policy_file)
    workspace = Workspace(tables)
    projection = workspace.projection(policy, "2024-06-30")
    rng = np.random.default_rng(1)
    penalised = tables.penalties.loc[projection.penalties["weight"] > 0, "id"].to_numpy()
    changes = [penalize_change(projection, entity, 1.0) for entity in rng.choice(projection.ids, size=3)]
    changes += [lift_change(projection, penalty) for penalty in rng.choice(penalised, size=3)]
    for change in changes:
        local = apply_change(workspace, policy, change)
        full = apply_change(workspace, policy, change, method="solve")
        np.testing.assert_allclose(local[1], full[1], atol=TOLERANCE, rtol=0)
        np.testing.assert_allclose(local[0], full[0], atol=TOLERANCE, rtol=0)


def test_push_agrees_with_a_full_solve_on_the_zala_data():
    tables = read_paths([ZALA])
    policy = gs.load_policy(POLICIES / "joint-punishment.toml")
    workspace = Workspace(tables)
    projection = workspace.projection(policy, "2024-06-30")
    for change in (attribution_change(projection, entity_id="NK-abdzbEBkqyT29GyREbiURZ"),
                   penalize_change(projection, "NK-56Edov9bas9puzaChH5pBy", 2.0)):
        baseline = "without" if change.label.startswith("penalties") else "current"
        local = apply_change(workspace, policy, change, baseline=baseline)
        full = apply_change(workspace, policy, change, baseline=baseline, method="solve")
        for a, b in zip(local, full):
            np.testing.assert_allclose(a, b, atol=TOLERANCE, rtol=0)


def test_unknown_method_is_refused(hand_tables, hand_policy):
    workspace = Workspace(hand_tables)
    projection = workspace.projection(hand_policy, "2024-01-01")
    with pytest.raises(ValueError, match="method must be 'auto' or 'solve', got 'guess'"):
        apply_change(workspace, hand_policy, lift_change(projection, "F1"), method="guess")
