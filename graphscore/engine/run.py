"""Run a policy's model on a projection: the one place that maps ``model = ...`` to an engine function.

Every model answers with a :class:`ModelRun`: a score per entity (``total``), the part of it
that is the entity's own (``own``), model-specific columns and model-wide figures.

| model | own | total | extra |
|---|---|---|---|
| spread, hop | own penalty weight s | exposure x | spread on float32 values: ``error_bound`` (attrs) |
| debtrank | initial distress min(1, s) | final distress h | ``systemic_impact`` (attrs) |
| cascade | 1 for penalised entities | probability of being reached | ``total_low``, ``total_high`` |
| ownership-* | 1 for listed entities | 1 if flagged | ``stake``; ``controlled`` (EU, UK); ``review`` (OFAC, EU) |
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphscore.engine.budget import check_work
from graphscore.engine.hop import hop
from graphscore.engine.layers import run_layers
from graphscore.engine.matrix import Projection, ownership_matrices
from graphscore.engine.precision import score_error
from graphscore.engine.push import HubBound, hub_bound
from graphscore.engine.spread import Contraction, contraction, spread, tightened
from graphscore.policy import ModelName, Policy

__all__ = ["ModelRun", "run_model", "contraction_of", "push_contraction_of", "push_hubs_of", "SCORE_TOL"]

# Spread scores are solved until every one is provably within SCORE_TOL x the largest score of
# the exact solution: the 6 significant digits the command line prints of the largest are exact,
# and reports print 4.
SCORE_TOL = 1e-10


@dataclass(frozen=True)
class ModelRun:
    total: np.ndarray
    own: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)


def _ownership(projection: Projection, policy: Policy, s: np.ndarray) -> ModelRun:
    from graphscore.engine import ownership  # scipy's sparse LU: loaded only when a rule runs

    D, C = ownership_matrices(projection)
    listed = s > 0
    limit = policy.stake_limit
    if policy.model is ModelName.OWNERSHIP_OFAC:
        flagged, stake = ownership.ofac_blocked(D, listed, threshold=limit)
        review = ownership.ofac_review(D, listed, threshold=limit)
        return ModelRun(flagged.astype(float), listed.astype(float), {"stake": stake, "review": review})
    if policy.model is ModelName.OWNERSHIP_EU:
        inclusive = policy.eu_inclusive_at(projection.as_of.date())
        flagged, stake, controlled = ownership.eu_frozen(D, C, listed, threshold=limit, inclusive=inclusive)
        review = ownership.eu_review(D, C, listed, threshold=limit, inclusive=inclusive)
        return ModelRun(flagged.astype(float), listed.astype(float),
                        {"stake": stake, "controlled": controlled, "review": review}, {"eu_inclusive": inclusive})
    if policy.model is ModelName.OWNERSHIP_UK:
        flagged, stake, controlled = ownership.uk_designated(D, C, listed, threshold=limit)
        return ModelRun(flagged.astype(float), listed.astype(float), {"stake": stake, "controlled": controlled})
    stake = ownership.listed_stakes(D, listed)
    flagged = listed | ownership.reaches(stake, limit)
    return ModelRun(flagged.astype(float), listed.astype(float), {"stake": stake})


def contraction_of(projection: Projection, damping: float, *, transposed: bool = False,
                   keep: bool = True) -> Contraction:
    """Spread's convergence certificate for the projection's ``W`` (or ``W.T``) at ``damping``,
    computed once per projection (:func:`graphscore.engine.spread.contraction`); with ``keep``
    False, one kept before is used but a new one is not kept (8 bytes an entity) for a caller
    that needs it once, such as the bounds made once per projection from ``W.T``'s."""
    key = ("contraction", float(damping), transposed)
    if key in projection.derived:
        return projection.derived[key]
    W = projection.W_by_source.T if transposed else projection.W  # W.T's rows are W's columns
    found = contraction(W, damping)
    if keep:
        projection.derived[key] = found
    return found


def push_contraction_of(projection: Projection, damping: float) -> Contraction:
    """The certificate forward pushes (what-ifs) on the projection's ``W`` use: its
    :func:`contraction_of` tightened by more power steps, computed once per projection
    (:func:`graphscore.engine.spread.tightened`)."""
    key = ("contraction", float(damping), False, "tightened")
    if key not in projection.derived:
        projection.derived[key] = tightened(projection.W, damping, contraction_of(projection, damping))
    return projection.derived[key]


def push_hubs_of(projection: Projection, damping: float) -> HubBound:
    """The :class:`graphscore.engine.push.HubBound` forward pushes (what-ifs) on the projection's
    ``W`` check their error with, for :func:`push_contraction_of`'s weights: a few solves with
    ``W.T``, computed once per projection (:func:`graphscore.engine.push.hub_bound`) and kept on
    disk with it. Its ``rest`` is that certificate's: the key names the certificate's rate, so a
    bound kept for another certificate is not read for this one."""
    certificate = push_contraction_of(projection, damping)
    key = ("push hubs", float(damping), float(certificate.rate))
    if key not in projection.derived:
        projection.derived[key] = hub_bound(projection.W_by_source, damping=damping, certificate=certificate,
                                            left_certificate=contraction_of(projection, damping, transposed=True, keep=False))
    return projection.derived[key]


def run_model(projection: Projection, policy: Policy, s: np.ndarray | None = None) -> ModelRun:
    """Run the policy's model on the projection, or on another own-penalty vector ``s``."""
    if projection.layers:  # link_time = "at_penalty": each penalty over the links of its start date
        total, attrs = run_layers(projection, policy, s, run_model)
        return ModelRun(total, projection.s, attrs=attrs)
    s = projection.s if s is None else np.asarray(s, dtype=float)
    model = policy.model
    check_work(policy, projection.W.nnz)  # refuse what would run for hours, before it starts
    if model is ModelName.SPREAD:
        certificate = contraction_of(projection, policy.damping)
        x = spread(projection.W, s, damping=policy.damping, tol=SCORE_TOL, certificate=certificate)
        if projection.W.dtype == np.float64:
            return ModelRun(x, s)
        # W's values in float32: the bound on every score's distance from the float64 answer
        return ModelRun(x, s, attrs={"error_bound": score_error(
            projection.W, x, damping=policy.damping, certificate=certificate, tol=SCORE_TOL)})
    if model is ModelName.HOP:
        return ModelRun(hop(projection.W, s, damping=policy.damping, max_hops=policy.max_hops,
                            aggregate=policy.aggregate.value), s)
    if model is ModelName.DEBTRANK:
        from graphscore.engine.debtrank import debtrank

        # A penalty's weight is read as the fraction of an entity's standing it destroys.
        h0 = np.clip(s, 0.0, 1.0)
        result = debtrank(projection.W, h0, values=projection.values, variant=policy.variant.value)
        return ModelRun(result.h, h0, attrs={"systemic_impact": float(result.systemic_impact)})
    if model is ModelName.CASCADE:
        from graphscore.engine.cascade import cascade

        seeds = s > 0
        result = cascade(projection.W, seeds, runs=policy.runs, rng=np.random.default_rng(policy.seed),
                         confidence=policy.confidence)
        return ModelRun(result.probability, seeds.astype(float),
                        {"total_low": result.low, "total_high": result.high})
    return _ownership(projection, policy, s)
