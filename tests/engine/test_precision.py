"""W's values in float32 (``precision = "float32"``): every answer within its stated bound of
the float64 one, and the default float64 answers untouched."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import scipy as sp

import graphscore as gs
from graphscore.analysis.explain import explain
from graphscore.analysis.whatif import change_scores, penalize_change
from graphscore.engine.precision import UNIT, change_error, score_error, stored_values
from graphscore.engine.run import run_model
from graphscore.engine.spread import Contraction, contraction, spread
from graphscore.errors import InvalidPolicy
from graphscore.io import read_paths
from graphscore.policy import LinkTime, Precision
from graphscore.synthetic import generate_network
from graphscore.workspace import Workspace
from tests.conftest import POLICIES, ZALA

REFERENCE_TOL = 1e-15  # the float64 reference solve: far below the bounds checked


def _zala() -> tuple[gs.Tables, str]:
    return read_paths([ZALA]), "2023-01-31"


def _synthetic() -> tuple[gs.Tables, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        return gs.validate(generate_network(3000, seed=1)), "2024-06-30"


@pytest.fixture(scope="module", params=[_zala, _synthetic], ids=["zala", "synthetic"])
def registry(request):
    """A real bundled registry (OpenSanctions' Zala sample) and a synthetic one, under the
    shipped diffusion policy in float64 and in float32."""
    tables, as_of = request.param()
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    return Workspace(tables), as_of, policy, dataclasses.replace(policy, precision=Precision.FLOAT32)


def test_float32_scores_are_within_the_stated_bound_of_the_float64_reference(registry):
    ws, as_of, policy, single = registry
    exact = ws.projection(policy, as_of)
    reference = spread(exact.W, exact.s, damping=policy.damping, tol=REFERENCE_TOL)
    rounded = ws.projection(single, as_of)
    assert rounded.W.dtype == np.float32 and exact.W.dtype == np.float64
    np.testing.assert_array_equal(rounded.W.indices, exact.W.indices)
    np.testing.assert_array_equal(rounded.W.data, exact.W.data.astype(np.float32))
    run = ws.baseline(single, as_of)
    error = run.attrs["error_bound"]
    assert 0 < np.abs(run.total - reference).max() <= error < 1e-5 * reference.max()
    frame = gs.score(ws, single, as_of)
    assert frame.attrs["error_bound"] == error
    assert "error_bound" not in ws.baseline(policy, as_of).attrs  # float64 states nothing new


def test_a_float32_what_if_is_within_its_stated_bound_of_the_float64_change(registry):
    ws, as_of, policy, single = registry
    exact, rounded = ws.projection(policy, as_of), ws.projection(single, as_of)
    for entity in exact.ids[np.flatnonzero(exact.s == 0)[[0, 7]]]:
        changed = change_scores(ws, single, penalize_change(rounded, entity))
        unit = np.zeros(exact.n)
        unit[exact.index_of(entity)] = 1.0
        reference = spread(exact.W, unit, damping=policy.damping, tol=REFERENCE_TOL)
        assert np.abs(changed.after - changed.before - reference).max() <= changed.error
        assert "W's values in float32" in changed.note


def test_a_float32_explanation_states_its_bound(registry):
    ws, as_of, policy, single = registry
    scores = ws.baseline(single, as_of).total
    entity = ws.projection(single, as_of).ids[int(np.argmax(scores))]
    why = explain(ws, single, entity, as_of=as_of)
    assert any("float32" in note for note in why.notes)
    assert abs(why.total - spread(ws.projection(policy, as_of).W, ws.projection(policy, as_of).s,
                                  damping=policy.damping, tol=REFERENCE_TOL)[ws.projection(policy, as_of).index_of(entity)]
               ) <= ws.baseline(single, as_of).attrs["error_bound"]


def test_the_bound_by_hand():
    """One link of weight 0.1 (float32 rounds it by 1.5e-9), damping 0.5, a unit penalty at 0:
    x = (1, 0.05 x 0.1~ / 0.1). The bound is tol max x + u (||g||_v + c tol max x) / (1 - c (1 + u))
    with g = damping |W~| |x| and (v, c) the certificate of W~; the float64 score 0.05 lies within it."""
    W = sp.sparse.csr_array(np.array([[0.0, 0.0], [0.1, 0.0]], dtype=np.float32))
    certificate = contraction(W, 0.5)
    x = spread(W, np.array([1.0, 0.0]), damping=0.5, tol=1e-12, certificate=certificate)
    g = 0.5 * np.abs(W.toarray().astype(float)) @ np.abs(x)
    expected = (1e-12 * x.max() + UNIT * ((g / certificate.weights).max() + certificate.rate * 1e-12 * x.max())
                / (1 - certificate.rate * (1 + UNIT)))
    assert score_error(W, x, damping=0.5, certificate=certificate, tol=1e-12) == pytest.approx(expected, rel=1e-12)
    assert abs(x[1] - 0.5 * 0.1) <= expected
    assert change_error(2.0, Contraction(0.5, np.ones(2))) == pytest.approx(UNIT * 0.5 * 2.0 / (1 - 0.5 * (1 + UNIT)))


def test_float32_refuses_values_it_cannot_hold_and_a_rate_too_close_to_one():
    with pytest.raises(ValueError, match=r"cannot hold W's entry 1e-40 .* use precision = 'float64'"):
        stored_values(np.array([0.5, 1e-40]), Precision.FLOAT32)
    with pytest.raises(ValueError, match="too close to 1"):
        change_error(1.0, Contraction(1 - 1e-9, np.ones(1)))


def test_precision_is_a_spread_key_and_float64_keeps_every_policy_hash():
    def policy(extra: str = "", model: str = "spread") -> gs.Policy:
        return gs.parse_policy(f'name="d"\nmodel="{model}"\n{extra}[[transmit]]\nlink="OWNS"\ndirection="both"\n'
                               'weight=1.0\n')

    default, single = policy(), policy('precision="float32"\n')
    assert policy('precision="float64"\n').hash == default.hash != single.hash
    assert gs.load_policy(POLICIES / "diffusion.toml").hash == "05c3d9dac135372b"  # its hash before the key existed
    assert "precision" not in default.to_dict() and single.to_dict()["precision"] == "float32"
    with pytest.raises(InvalidPolicy, match="precision applies to model = 'spread' only, not 'hop'"):
        policy('precision="float32"\n', model="hop")
    with pytest.raises(InvalidPolicy, match="precision"):
        policy('precision="float16"\n')


def test_float32_layers_state_the_sum_of_their_bounds():
    """Under link_time = "at_penalty" each layer is solved on its own float32 W: the scores add
    up, and so do their bounds."""
    tables, as_of = _synthetic()
    policy = dataclasses.replace(gs.load_policy(POLICIES / "diffusion.toml"), link_time=LinkTime.AT_PENALTY)
    single = dataclasses.replace(policy, precision=Precision.FLOAT32)
    ws = Workspace(tables)
    layers = ws.projection(single, as_of).layers
    assert len(layers) > 1 and all(layer.W.dtype == np.float32 for layer in layers)
    run = ws.baseline(single, as_of)
    reference = sum(spread(layer.W, layer.s, damping=policy.damping, tol=REFERENCE_TOL)
                    for layer in ws.projection(policy, as_of).layers)
    each = [run_model(layer, single).attrs["error_bound"] for layer in layers]
    assert run.attrs["error_bound"] == pytest.approx(sum(each))
    assert np.abs(run.total - reference).max() <= run.attrs["error_bound"]
