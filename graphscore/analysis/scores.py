"""Scores as DataFrames: the public face of the engine (what-ifs are in
:mod:`graphscore.analysis.whatif`).

Examples
--------
>>> import graphscore as gs
>>> from graphscore.toy import fined_company
>>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
>>> gs.score(fined_company(), policy, as_of="2024-01-01")[["id", "own", "inherited", "total"]]
  id  own  inherited  total
0  c  1.0        0.0    1.0
1  p  0.0        0.5    0.5
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from graphscore.engine.matrix import Projection, build_projection
from graphscore.engine.run import ModelRun, run_model
from graphscore.policy import MissingShare, Policy

__all__ = ["score", "entity_frame"]


def entity_frame(tables, projection: Projection, **columns) -> pd.DataFrame:
    """One row per entity of the projection, in its index order: ``id, name, kind`` and the given
    columns; the date in ``attrs["as_of"]``, the projection's notes in ``attrs["notes"]``."""
    entities = tables.entities.set_index("id").reindex(projection.ids)
    frame = pd.DataFrame({"id": projection.ids, "name": entities["name"].to_numpy(),
                          "kind": entities["kind"].to_numpy(), **columns})
    frame.attrs["as_of"] = projection.as_of.date().isoformat()
    frame.attrs["notes"] = list(projection.notes)
    return frame


def _score_columns(run: ModelRun) -> dict[str, np.ndarray]:
    return {"own": run.own, "inherited": run.total - run.own, "total": run.total, **run.columns}


def score(tables, policy: Policy, as_of: dt.date | str | None = None, *,
          projection: Projection | None = None) -> pd.DataFrame:
    """Score every entity under the policy's model.

    Columns ``id, name, kind, own, inherited, total`` (total = own + inherited), then the
    model's own columns (see :mod:`graphscore.engine.run`). With ``missing_share = "bounds"``
    the model runs twice, stakes with no or a ranged share taken at their low and at their high
    end: ``total`` is the low run, and ``total_low`` / ``total_high`` bracket it. The date used
    is in ``result.attrs["as_of"]``, model-wide figures (e.g. DebtRank's ``systemic_impact``)
    in ``result.attrs`` too.
    """
    if policy.missing_share is MissingShare.BOUNDS and projection is None:
        low, high = (build_projection(tables, policy, as_of, missing_share=m)
                     for m in (MissingShare.LOW, MissingShare.HIGH))
        run_low, run_high = run_model(low, policy), run_model(high, policy)
        frame = entity_frame(tables, low, **_score_columns(run_low), total_low=run_low.total, total_high=run_high.total)
        frame.attrs.update(run_low.attrs)
        return frame
    projection = projection or build_projection(tables, policy, as_of)
    run = run_model(projection, policy)
    frame = entity_frame(tables, projection, **_score_columns(run))
    frame.attrs.update(run.attrs)
    return frame
