"""The manifest every report carries: which code, policy, data and date produced its numbers."""

from __future__ import annotations

import datetime as dt

import pandas as pd

import graphscore
from graphscore.policy import Policy

__all__ = ["build_manifest"]


def build_manifest(tables, policy: Policy, as_of: pd.Timestamp, *,
                   generated_at: dt.datetime | None = None) -> dict:
    """JSON-ready provenance of a result.

    ``data_fingerprint`` is the SHA-256 of the tables' content (row order ignored); ``policy``
    is the parsed policy with its ``hash``, so two reports agree on inputs exactly when these do.
    """
    generated_at = generated_at or dt.datetime.now(dt.timezone.utc)
    return {
        "graphscore_version": graphscore.__version__,
        "policy": {"name": policy.name, "hash": policy.hash, "model": policy.model.value,
                   "definition": policy.to_dict()},
        "data_fingerprint": tables.fingerprint(),
        "data_counts": tables.counts(),
        "as_of": as_of.date().isoformat(),
        "generated_at": generated_at.isoformat(timespec="seconds"),
    }
