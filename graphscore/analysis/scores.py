"""Scores as DataFrames: the public face of the engine (what-ifs are in
:mod:`graphscore.analysis.whatif`).

Examples
--------
>>> import graphscore as gs
>>> from graphscore.toy import fined_company
>>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
>>> gs.score(fined_company(), policy, as_of="2024-01-01")[["id", "own", "echo", "inherited", "total"]]
  id  own  echo  inherited  total
0  c  1.0   0.0        0.0    1.0
1  p  0.0   0.0        0.5    0.5
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from graphscore.engine.matrix import Projection, build_projection
from graphscore.engine.run import ModelRun, run_model
from graphscore.model import Tables
from graphscore.policy import MissingShare, Policy
from graphscore.workspace import Workspace, as_workspace

__all__ = ["score", "entity_frame", "rescore_penalties"]


def entity_frame(source: Tables | Workspace, projection: Projection, **columns) -> pd.DataFrame:
    """One row per entity of the projection, in its index order: ``id, name, kind`` and the given
    columns; the date in ``attrs["as_of"]``, the projection's notes in ``attrs["notes"]``."""
    entities = as_workspace(source).entities
    if not entities.index.equals(projection.ids):  # a projection's rows are the entities' rows, in order
        entities = entities.reindex(projection.ids)
    frame = pd.DataFrame({"id": projection.ids, "name": entities["name"].to_numpy(),
                          "kind": entities["kind"].to_numpy(), **columns})
    frame.attrs["as_of"] = projection.as_of.date().isoformat()
    frame.attrs["notes"] = list(projection.notes)
    return frame


def _score_columns(run: ModelRun) -> dict[str, np.ndarray]:
    # echo: the own penalty returning around cycles (graphscore.engine.echo); zero where the
    # model cannot return it (debtrank, cascade, ownership rules)
    columns = dict(run.columns)
    echo = columns.pop("echo", np.zeros_like(run.total))
    # the solve and the echo each stop within 1e-12 of their series: an entity no one else
    # reaches would show an inherited -1e-13; it is zero, and the echo all of the rest
    inherited = np.maximum(run.total - run.own - echo, 0.0)
    return {"own": run.own, "echo": run.total - run.own - inherited, "inherited": inherited, "total": run.total,
            **columns}


def score(source: Tables | Workspace, policy: Policy, as_of: dt.date | str | None = None) -> pd.DataFrame:
    """Score every entity under the policy's model.

    Columns ``id, name, kind, own, echo, inherited, total`` (total = own + echo + inherited),
    then the model's own columns (see :mod:`graphscore.engine.run`). ``echo`` is the entity's
    own penalty returning to it around cycles of links, ``inherited`` what reaches it from
    other entities' penalties (:mod:`graphscore.engine.echo` derives both; collateral counts
    and thresholds read ``inherited``). With ``missing_share = "bounds"``
    the model runs twice, stakes with no or a ranged share taken at their low and at their high
    end: ``total`` is the low run, and ``total_low`` / ``total_high`` bracket it. The date used
    is in ``result.attrs["as_of"]``, model-wide figures (e.g. DebtRank's ``systemic_impact``)
    in ``result.attrs`` too. ``source`` is validated tables or a
    :class:`~graphscore.workspace.Workspace`, whose projections and runs are reused.
    """
    ws = as_workspace(source)
    if policy.missing_share is MissingShare.BOUNDS:
        low, run_low, run_high = (ws.projection(policy, as_of, missing_share=MissingShare.LOW),
                                  *(ws.baseline(policy, as_of, missing_share=m)
                                    for m in (MissingShare.LOW, MissingShare.HIGH)))
        frame = entity_frame(ws, low, **_score_columns(run_low), total_low=run_low.total, total_high=run_high.total)
        frame.attrs.update(run_low.attrs)
        return frame
    projection, run = ws.projection(policy, as_of), ws.baseline(policy, as_of)
    frame = entity_frame(ws, projection, **_score_columns(run))
    frame.attrs.update(run.attrs)
    return frame


def rescore_penalties(source: Tables | Workspace, policy: Policy, as_of: dt.date | str | None,
                      penalties: pd.DataFrame) -> np.ndarray:
    """Scores under the policy with the penalties table replaced by ``penalties``: the projection
    is built again and the model run on it. A what-if under ``link_time = "at_penalty"`` takes
    this way, since each penalty travels over the links of its own start date, which a change to
    the own-weight vector alone does not say (:mod:`graphscore.engine.layers`).

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> policy = gs.parse_policy('name="r"\\nlink_time="at_penalty"\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
    >>> rescore_penalties(fined_company(), policy, "2024-01-01", fined_company().penalties.iloc[:0]).tolist()
    [0.0, 0.0]
    """
    tables = as_workspace(source).tables
    changed = dataclasses.replace(tables, penalties=penalties.reset_index(drop=True))
    return run_model(build_projection(changed, policy, as_of), policy).total
