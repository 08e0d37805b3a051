"""The manifest every report carries: which code, policy, data and date produced its numbers."""

from __future__ import annotations

import datetime as dt

import pandas as pd

import graphscore
from graphscore.model import Tables
from graphscore.policy import Policy
from graphscore.workspace import Workspace

__all__ = ["build_manifest"]


def build_manifest(source: Tables | Workspace, policy: Policy, as_of: pd.Timestamp, *,
                   generated_at: dt.datetime | None = None) -> dict:
    """JSON-ready provenance of a result.

    ``data_fingerprint`` is the SHA-256 of the tables' content (row order ignored); ``policy``
    is the parsed policy with its ``hash``, so two reports agree on inputs exactly when these do.
    Given a :class:`~graphscore.workspace.Workspace`, its fingerprint (hashed once, or recorded
    by the store) is used; given plain tables, they are hashed here, every row of every table.
    """
    generated_at = generated_at or dt.datetime.now(dt.timezone.utc)
    if isinstance(source, Workspace):
        fingerprint, counts = source.fingerprint, source.tables.counts()
    else:
        fingerprint, counts = source.fingerprint(), source.counts()
    return {
        "graphscore_version": graphscore.__version__,
        "policy": {"name": policy.name, "hash": policy.hash, "model": policy.model.value,
                   "definition": policy.to_dict()},
        "data_fingerprint": fingerprint,
        "data_counts": counts,
        "as_of": as_of.date().isoformat(),
        "generated_at": generated_at.isoformat(timespec="seconds"),
    }
