"""Forward push against full solves: a dense solve on random graphs, spread on a synthetic
register under both shipped spread policies and on the Zala sample, with the error bounds
of graphscore/engine/push.py checked rather than a loose tolerance."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy as sp

import graphscore as gs
from graphscore.analysis.whatif import apply_change, penalize_change
from graphscore.engine.matrix import build_projection
from graphscore.engine.push import LocalChange, error_bound, local_change, push_column
from graphscore.engine.spread import spread
from graphscore.errors import ConvergenceError
from graphscore.io import read_paths
from graphscore.synthetic import generate_network
from graphscore.workspace import Workspace
from tests.conftest import POLICIES, ZALA

# spread stops when its last term is below tol * max|x|. At 1e-14 what it leaves out is below
# 1e-9 summed over the 8,050 entities of the 5,000-company register under diffusion
# (8,050 x 1e-14 x max|x| x c / (1 - c), c = 0.6), and below 1e-11 at any one entity under
# joint-punishment (1e-14 x max|x| x (z[v] - 1), z <= 70): so it serves as "exact".
ORACLE_TOL = 1e-14
ORACLE_SLACK = 1e-9
ENTRY_SLACK = 1e-11


def exact_change(W, changes: dict[int, float], damping: float) -> np.ndarray:
    """The change in x by a full solve; spread takes non-negative s only, so split by sign."""
    n = W.shape[0]
    up, down = np.zeros(n), np.zeros(n)
    for idx, amount in changes.items():
        (up if amount > 0 else down)[idx] += abs(amount)
    return (spread(W, up, damping=damping, tol=ORACLE_TOL)
            - spread(W, down, damping=damping, tol=ORACLE_TOL))


def dense(change: LocalChange, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[change.indices] = change.values
    return out


def column_norm(W, damping: float) -> float:
    """``c = damping * max column sum of |W|``, the contraction behind error_bound."""
    return damping * float(abs(W).sum(axis=0).max())


@pytest.fixture(scope="module")
def register() -> gs.Tables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        return gs.validate(generate_network(5000, seed=0))


def project(tables, policy_name: str, as_of: str):
    policy = gs.load_policy(POLICIES / f"{policy_name}.toml")
    projection = build_projection(tables, policy, as_of)
    return sp.sparse.csc_array(projection.W), projection.s, policy.damping


@pytest.fixture(scope="module")
def diffusion(register):
    return project(register, "diffusion", "2024-06-30")


@pytest.fixture(scope="module")
def joint(register):
    return project(register, "joint-punishment", "2024-06-30")


def penalised_sources(W, s) -> list[int]:
    """The penalised entities with the fewest, a median number and the most out-links."""
    degree = np.diff(W.indptr)
    penalised = np.flatnonzero((s > 0) & (degree > 0))
    ranked = penalised[np.argsort(degree[penalised], kind="stable")]
    return [int(ranked[0]), int(ranked[ranked.size // 2]), int(ranked[-1])]


@pytest.mark.parametrize("damping", [0.1, 0.5, 0.85])
@pytest.mark.parametrize("amount", [1.0, -2.5])
def test_matches_dense_solve_on_random_graphs(damping, amount):
    rng = np.random.default_rng(11)
    W = sp.sparse.random_array((80, 80), density=0.06, random_state=rng, format="csr")
    W = W / max(W.sum(axis=0).max(), 1.0)  # columns sum to at most 1: converges for damping < 1
    inverse = np.linalg.inv(np.eye(80) - damping * W.toarray())
    for source in (0, 17, 79):
        change = push_column(W, source, amount, damping=damping)
        error = np.abs(dense(change, 80) - amount * inverse[:, source]).sum()
        bound = error_bound(W, change, damping=damping)
        assert error <= bound + 1e-13
        assert bound < 1e-7 * abs(amount)


def test_synthetic_diffusion_agrees_with_spread_within_the_bound(diffusion):
    W, s, damping = diffusion
    n = W.shape[0]
    c = column_norm(W, damping)
    assert c == pytest.approx(damping)  # normalize = "source": every column sums to 1
    for source in penalised_sources(W, s):
        for amount in (1.0, -0.7):  # a new penalty, a lifted one
            change = push_column(W, source, amount, damping=damping)
            error = np.abs(dense(change, n) - exact_change(W, {source: amount}, damping)).sum()
            bound = error_bound(W, change, damping=damping)
            assert bound == pytest.approx(change.residual * c / (1 - c))
            assert error <= bound + ORACLE_SLACK, source
            assert bound < 1e-5 * abs(amount)


def test_push_count_obeys_the_termination_bound(diffusion):
    """Fewer than 1 / (tol (1 - c)) pushes, whatever the size of the graph."""
    W, s, damping = diffusion
    tol = 1e-4
    for source in penalised_sources(W, s):
        assert push_column(W, source, damping=damping, tol=tol).pushes < 1 / (tol * (1 - column_norm(W, damping)))


def test_joint_punishment_meets_the_entrywise_bound(joint):
    """Columns of this W sum to up to 4.5, so error_bound has nothing to go on (inf); the
    bound |error[v]| <= tol |amount| (z[v] - 1), z = (I - damping W)^-1 1, still holds."""
    W, s, damping = joint
    n = W.shape[0]
    assert column_norm(W, damping) > 1
    z = spread(W, np.ones(n), damping=damping, tol=ORACLE_TOL)
    tol = 1e-8
    for source in penalised_sources(W, s):
        for amount in (1.0, -0.4):
            change = push_column(W, source, amount, damping=damping, tol=tol)
            assert error_bound(W, change, damping=damping) == math.inf
            error = np.abs(dense(change, n) - exact_change(W, {source: amount}, damping))
            assert (error <= tol * abs(amount) * (z - 1) + ENTRY_SLACK).all(), source


def test_zala_under_joint_punishment():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = read_paths([ZALA])
    W, s, damping = project(tables, "joint-punishment", "2022-06-30")
    n = W.shape[0]
    assert column_norm(W, damping) < 1  # here the cheap bound applies
    inverse = np.linalg.inv(np.eye(n) - damping * W.toarray())
    for source in range(n):
        for amount in (1.0, -1.0):
            change = push_column(W, source, amount, damping=damping)
            error = np.abs(dense(change, n) - amount * inverse[:, source]).sum()
            assert error <= error_bound(W, change, damping=damping) + 1e-14
    # LLC CST (Zala Aero), the one entity listed at that date: lifting its listing takes
    # exactly its spillover away.
    listed = int(np.flatnonzero(s > 0)[0])
    change = push_column(W, listed, -s[listed], damping=damping)
    np.testing.assert_allclose(dense(change, n), -spread(W, s, damping=damping), atol=1e-9)


def test_touched_region_is_far_smaller_than_the_graph(joint):
    """A low-degree source whose links reach nearly every entity: the push stops where what
    is left to spread falls below tol, long before the region the links reach. (Here person
    P002897, whose one link carries 0.18 of a penalty: 99 entities touched of 8,050, while
    its links reach 7,815; 1,318 at tol 1e-6 and 7,803 at 1e-10.)"""
    W, s, damping = joint
    n = W.shape[0]
    degree = np.diff(W.indptr)
    out_weight = np.asarray(W.sum(axis=0)).ravel()
    reach = {u: sp.sparse.csgraph.breadth_first_order(W.T, u, directed=True, return_predecessors=False).size
             for u in np.flatnonzero((s > 0) & (degree == 1))}
    candidates = [u for u, size in reach.items() if size > n / 2]
    source = int(min(candidates, key=lambda u: out_weight[u]))  # the weakest way out
    tol = 1e-4
    change = push_column(W, source, damping=damping, tol=tol)
    assert reach[source] > n / 2
    assert change.indices.size < n / 10
    z = spread(W, np.ones(n), damping=damping, tol=ORACLE_TOL)
    error = np.abs(dense(change, n) - exact_change(W, {source: 1.0}, damping))
    assert (error <= tol * (z - 1) + ENTRY_SLACK).all()


def test_local_change_is_the_sum_of_columns(diffusion):
    W, s, damping = diffusion
    n = W.shape[0]
    low, middle, high = penalised_sources(W, s)
    changes = {low: 1.0, middle: -0.5, high: 0.25}
    combined = local_change(W, changes, damping=damping)
    error = np.abs(dense(combined, n) - exact_change(W, changes, damping)).sum()
    assert error <= error_bound(W, combined, damping=damping) + ORACLE_SLACK
    separate = sum(dense(push_column(W, u, a, damping=damping), n) for u, a in changes.items())
    np.testing.assert_allclose(dense(combined, n), separate, atol=1e-8)


def test_reproduces_whatif_on_the_register(register):
    """The change a what-if computes by two full solves, from the changed own penalties alone."""
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    workspace = Workspace(register)
    projection = workspace.projection(policy, "2024-06-30")
    entity = projection.penalties.loc[projection.penalties["weight"] > 0, "entity"].iloc[0]
    what_if = penalize_change(projection, entity, 2.0)
    before, after = apply_change(workspace, policy, what_if, method="solve")
    delta_s = what_if.delta_s
    change = local_change(projection.W, {int(i): delta_s[i] for i in np.flatnonzero(delta_s)},
                          damping=policy.damping)
    error = np.abs(dense(change, projection.n) - (after - before)).sum()
    # whatif solves at spread's default tol (1e-12), which leaves at most ~1e-8 summed here
    assert error <= error_bound(projection.W, change, damping=policy.damping) + 1e-8


def test_input_format_does_not_matter():
    W = sp.sparse.csr_array(([0.5, 0.5, 1.0], ([1, 2, 0], [0, 1, 2])), shape=(3, 3))
    expected = push_column(W, 0, damping=0.5)
    for other in (W.tocsc(), W.tocoo(), W.toarray()):
        change = push_column(other, 0, damping=0.5)
        np.testing.assert_array_equal(change.indices, expected.indices)
        np.testing.assert_allclose(change.values, expected.values)
    np.testing.assert_allclose(expected.values, np.linalg.solve(np.eye(3) - 0.5 * W.toarray(), [1, 0, 0]),
                               atol=1e-9)


def test_a_source_without_links_changes_only_itself():
    W = sp.sparse.csc_array((4, 4))
    change = push_column(W, 2, -3.0, damping=0.6)
    assert change.indices.tolist() == [2] and change.values.tolist() == [-3.0]
    assert change.pushes == 1 and change.residual == 0.0
    empty = local_change(W, {}, damping=0.6)
    assert empty.indices.size == 0 and empty.pushes == 0


def test_a_push_that_runs_dry_is_exact():
    """On a chain every walk ends, so nothing is left to spread: exact even where the column
    sums (here 0.5 * 5 > 1) give no bound."""
    W = sp.sparse.csc_array(([5.0, 0.1], ([1, 2], [0, 1])), shape=(3, 3))
    change = push_column(W, 0, damping=0.5)
    np.testing.assert_allclose(change.values, [1.0, 2.5, 0.125])
    assert change.residual == 0.0 and error_bound(W, change, damping=0.5) == 0.0
    stopped = push_column(W, 0, damping=0.5, tol=0.2)  # 0.125 left at entity 2
    assert stopped.residual == pytest.approx(0.125)
    assert error_bound(W, stopped, damping=0.5) == math.inf


def test_max_pushes_exceeded_raises(diffusion):
    W, s, damping = diffusion
    source = penalised_sources(W, s)[-1]
    with pytest.raises(ConvergenceError, match=r"push did not converge in 5 pushes"):
        push_column(W, source, damping=damping, max_pushes=5)


def test_divergent_push_raises():
    cycle = sp.sparse.csc_array([[0.0, 3.0], [3.0, 0.0]])  # damping * rho = 0.9 * 3 > 1
    with pytest.raises(ConvergenceError, match=r"push diverged: the residual overflowed"):
        push_column(cycle, 0, damping=0.9)
    balanced = sp.sparse.csc_array([[0.0, 2.0], [2.0, 0.0]])  # damping * rho = 1: never grows, never fades
    with pytest.raises(ConvergenceError, match=r"push did not converge in 10000 rounds"):
        push_column(balanced, 0, damping=0.5)


W_SMALL = sp.sparse.csc_array([[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("call, message", [
    (lambda: push_column(W_SMALL, 0, damping=1.0), r"damping must be in \[0, 1\), got 1.0"),
    (lambda: push_column(W_SMALL, 0, damping=-0.1), r"damping must be in \[0, 1\), got -0.1"),
    (lambda: local_change(W_SMALL, {0: 1.0}, damping=1.5), r"damping must be in \[0, 1\), got 1.5"),
    (lambda: error_bound(W_SMALL, push_column(W_SMALL, 0, damping=0.5), damping=1.0),
     r"damping must be in \[0, 1\), got 1.0"),
    (lambda: push_column(W_SMALL, 0, damping=0.5, tol=0), r"tol must be a positive finite number, got 0"),
    (lambda: push_column(W_SMALL, 0, damping=0.5, tol=float("nan")), r"tol must be .* got nan"),
    (lambda: push_column(W_SMALL, 0, damping=0.5, max_pushes=0),
     r"max_pushes must be a positive integer or None, got 0"),
    (lambda: push_column(W_SMALL, 0, damping=0.5, max_pushes=True), r"max_pushes must be .* got True"),
    (lambda: push_column(W_SMALL, 0, damping=0.5, max_pushes=2.5), r"max_pushes must be .* got 2.5"),
    (lambda: push_column(sp.sparse.csc_array((2, 3)), 0, damping=0.5), r"W must be square, got shape \(2, 3\)"),
    (lambda: push_column(W_SMALL, 2, damping=0.5), r"source must be an entity index in \[0, 2\), got 2"),
    (lambda: push_column(W_SMALL, -1, damping=0.5), r"source must be an entity index in \[0, 2\), got -1"),
    (lambda: push_column(W_SMALL, 1.0, damping=0.5), r"source must be an entity index in \[0, 2\), got 1.0"),
    (lambda: push_column(W_SMALL, 0, float("inf"), damping=0.5), r"amount must be a finite number, got inf"),
    (lambda: local_change(W_SMALL, {5: 1.0}, damping=0.5),
     r"changes must map entity indices in \[0, 2\) to amounts, got key 5"),
    (lambda: local_change(W_SMALL, {"a": 1.0}, damping=0.5), r"got key 'a'"),
    (lambda: local_change(W_SMALL, {0: float("nan")}, damping=0.5),
     r"change amounts must be finite numbers, got nan for entity 0"),
    (lambda: local_change(W_SMALL, {0: "1"}, damping=0.5), r"change amounts must be finite numbers, got '1'"),
])
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_tuning_parameters_are_checked_first():
    """A bad damping is reported even when the matrix is bad too."""
    with pytest.raises(ValueError, match="damping"):
        push_column(sp.sparse.csc_array((2, 3)), 7, damping=2.0)
