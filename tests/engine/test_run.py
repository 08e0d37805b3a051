"""run_model's spread path: the convergence certificate is computed once per projection and damping."""

from __future__ import annotations

import numpy as np

import graphscore.engine.run as run_module
from graphscore.engine.run import contraction_of, run_model
from graphscore.workspace import Workspace


def test_the_certificate_is_computed_once_per_projection(hand_tables, hand_policy, monkeypatch):
    projection = Workspace(hand_tables).projection(hand_policy, "2024-01-01")
    calls = []
    real = run_module.contraction
    monkeypatch.setattr(run_module, "contraction", lambda W, damping: calls.append(damping) or real(W, damping))
    first = run_model(projection, hand_policy).total
    again = run_model(projection, hand_policy, projection.s * 2).total
    assert calls == [hand_policy.damping]
    np.testing.assert_allclose(again, 2 * first, rtol=1e-9)
    assert contraction_of(projection, hand_policy.damping) is contraction_of(projection, hand_policy.damping)
    transposed = contraction_of(projection, hand_policy.damping, transposed=True)
    assert len(calls) == 2 and transposed.weights.shape == (projection.n,)
