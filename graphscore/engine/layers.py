"""Penalties that travel the links of their own date (``link_time = "at_penalty"``, issue 9.14).

A link carries a penalty only if it was in force when the penalty started: the director who
joined a company after it was blacklisted is not tainted by that listing, while one who
resigned since still is. The transmission matrix then depends on the penalty,
``x = sum_p G(t_p) s_p e_(entity of p)`` with ``G(t) = (I - damping W(t))^-1`` and ``W(t)`` the
links in force at the start ``t_p`` of penalty p. The map from penalties to scores stays linear
(and per-source exact under spread and hop with ``aggregate = "sum"``), but it is no longer one
matrix: penalties are grouped by the set of links in force when they started (the links change
only on the dates links start or end), and the model runs once per group, a *layer*
(:attr:`graphscore.engine.matrix.Projection.layers`). The runs add up; under hop with
``aggregate = "max"`` the score is their maximum, as a maximum over penalties and walks.

Cost: one projection and one solve per layer instead of one; on a register where penalties
started on many different dates between link changes, about one per distinct start date.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from graphscore.engine.matrix import Projection
from graphscore.policy import Aggregate, ModelName, Policy

__all__ = ["run_layers"]


def run_layers(projection: Projection, policy: Policy, s: np.ndarray | None,
               run: Callable) -> tuple[np.ndarray, dict]:
    """The policy's model on each layer of ``projection``, combined: the total score and the
    run's attributes. Totals are added, or under hop with ``aggregate = "max"`` the maximum
    (with ``s`` itself, as the hop model's own term). ``run`` is
    :func:`graphscore.engine.run.run_model`, which wraps the result; ``s`` must be the
    projection's own, since a bare vector does not say when each penalty started.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> policy = gs.parse_policy('name="r"\\nlink_time="at_penalty"\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
    >>> gs.score(fined_company(), policy, as_of="2024-01-01")["total"].tolist()
    [1.0, 0.6]
    """
    if s is not None and not np.array_equal(s, projection.s):
        raise ValueError("under link_time = 'at_penalty' a model runs on the projection's penalties, each over the "
                         "links of its start date; a bare own-weight vector does not say when each started.")
    if policy.model not in (ModelName.SPREAD, ModelName.HOP):
        raise ValueError(f"link_time = 'at_penalty' applies to spread and hop, not {policy.model.value!r}.")
    runs = [run(layer, policy) for layer in projection.layers]
    totals = [one.total for one in runs]
    if not totals:
        return np.zeros(projection.n), {}
    if policy.model is ModelName.HOP and policy.aggregate is Aggregate.MAX:
        return np.maximum(projection.s, np.max(totals, axis=0)), {}
    # a spread on float32 values states each layer's error bound: the sum's is at most their sum
    errors = [one.attrs["error_bound"] for one in runs if "error_bound" in one.attrs]
    return np.sum(totals, axis=0), ({"error_bound": float(np.sum(errors))} if errors else {})
