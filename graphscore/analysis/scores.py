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

import datetime as dt

import numpy as np
import pandas as pd

from graphscore.engine.matrix import Projection
from graphscore.engine.run import ModelRun
from graphscore.model import Tables
from graphscore.policy import MissingShare, Policy
from graphscore.workspace import Workspace, as_workspace

__all__ = ["score", "entity_frame", "split_score", "rescore_penalties"]


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


def split_score(own: np.ndarray, echo: np.ndarray, total: np.ndarray) -> dict[str, np.ndarray]:
    """``own``, ``echo``, ``inherited`` and ``total``, adding up exactly.

    The solve rises to the score from below and the spread echo is bounded from above (within
    1e-6 of the own penalty, :mod:`graphscore.engine.echo`): an entity no one else reaches
    could show an inherited of -1e-7. It is zero, and the echo all of the rest.

    Examples
    --------
    >>> split_score(np.array([1.0]), np.array([0.25 + 1e-7]), np.array([1.25]))["inherited"].tolist()
    [0.0]
    """
    inherited = np.maximum(total - own - echo, 0.0)
    return {"own": own, "echo": total - own - inherited, "inherited": inherited, "total": total}


def _score_columns(run: ModelRun, echo: np.ndarray) -> dict[str, np.ndarray]:
    # echo: the own penalty returning around cycles (graphscore.engine.echo); zero where the
    # model cannot return it (cascade, ownership rules) or does not split by source (debtrank)
    return {**split_score(run.own, echo, run.total), **run.columns}


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
        echo = ws.echo(policy, as_of, missing_share=MissingShare.LOW)
        frame = entity_frame(ws, low, **_score_columns(run_low, echo), total_low=run_low.total,
                             total_high=run_high.total)
        frame.attrs.update(run_low.attrs)
        return frame
    projection, run = ws.projection(policy, as_of), ws.baseline(policy, as_of)
    frame = entity_frame(ws, projection, **_score_columns(run, ws.echo(policy, as_of)))
    frame.attrs.update(run.attrs)
    return frame


def rescore_penalties(source: Tables | Workspace, policy: Policy, as_of: dt.date | str | None,
                      penalties: pd.DataFrame) -> np.ndarray:
    """Scores under the policy with the penalties table replaced by ``penalties``: the model's
    baseline in a workspace over the changed tables. A what-if under ``link_time = "at_penalty"`` takes
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
    # plain Tables, not dataclasses.replace: tables read from the cache (StoredTables) are built from a folder
    changed = Tables(tables.entities, tables.links, penalties.reset_index(drop=True), validated=tables.validated)
    return Workspace(changed).baseline(policy, as_of).total
