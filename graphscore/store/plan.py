"""What a load changes: validated input against what the store already holds, row by key.

A store writes new rows in bulk and touches only the stored rows whose values differ, so
loading the same input twice writes nothing, and a corrected share or end date updates its
record in place. Keys: ``id`` for entities and penalties, the link record key
(:func:`graphscore.model.link_keys`) for links.

Examples
--------
>>> import pandas as pd
>>> stored = pd.DataFrame({"id": ["a", "b"], "name": ["A", "B"]})
>>> incoming = pd.DataFrame({"id": ["a", "b", "c"], "name": ["A", "Bee", "C"]})
>>> changes = diff_rows(incoming, stored, key="id")
>>> changes.new["id"].tolist(), changes.changed["id"].tolist(), changes.unchanged
(['c'], ['b'], 1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphscore.model import Tables, link_keys, load_model

__all__ = ["TableChanges", "LoadPlan", "diff_rows", "plan_load", "canonical_order", "with_link_keys"]


@dataclass(frozen=True)
class TableChanges:
    """Rows of one input table, sorted by what the store must do with them."""

    new: pd.DataFrame  # key not in the store: written in bulk
    changed: pd.DataFrame  # key in the store with other values: updated in place
    unchanged: int  # key in the store with the same values: nothing to do

    @property
    def writes(self) -> int:
        return len(self.new) + len(self.changed)


@dataclass(frozen=True)
class LoadPlan:
    """Per table, what a load writes. Links carry their record ``key``."""

    entities: TableChanges
    penalties: TableChanges
    links: TableChanges

    def items(self):
        return (("entities", self.entities), ("penalties", self.penalties), ("links", self.links))

    @property
    def writes(self) -> int:
        return sum(changes.writes for _, changes in self.items())

    def apply(self, stored: Tables) -> Tables:
        """The store's tables after this plan is written to a store holding ``stored``
        (validated tables, links with their ``key``), in :func:`canonical_order`."""
        def merged(before: pd.DataFrame, changes: TableChanges, key: str) -> pd.DataFrame:
            kept = before[~before[key].isin(changes.changed[key])]
            parts = [df for df in (kept, changes.changed, changes.new) if len(df)]
            return pd.concat(parts, ignore_index=True) if parts else before.iloc[:0]
        return canonical_order(Tables(entities=merged(stored.entities, self.entities, "id"),
                                      links=merged(stored.links, self.links, "key"),
                                      penalties=merged(stored.penalties, self.penalties, "id"),
                                      validated=True))

    def summary(self) -> dict[str, dict[str, int]]:
        """``{table: {"new": n, "changed": n, "unchanged": n}}``, for the load's report."""
        return {name: {"new": len(c.new), "changed": len(c.changed), "unchanged": c.unchanged}
                for name, c in self.items()}


def _same(incoming: pd.Series, stored: pd.Series) -> np.ndarray:
    """Equal, or both missing (a missing share stays missing: that is no change)."""
    both_missing = incoming.isna().to_numpy() & stored.isna().to_numpy()
    if incoming.dtype == stored.dtype and incoming.dtype.kind in "biufM":  # numbers, dates: compared as such
        equal = incoming.to_numpy() == stored.to_numpy()
    else:
        equal = incoming.to_numpy(dtype=object) == stored.to_numpy(dtype=object)
    return both_missing | equal.astype(bool)


def diff_rows(incoming: pd.DataFrame, stored: pd.DataFrame, *, key: str) -> TableChanges:
    """Split ``incoming`` into rows new to ``stored``, rows that differ from it, and the rest.

    Both frames have the same columns and dtypes (validated tables); ``key`` is unique in each.
    """
    position = pd.Index(stored[key]).get_indexer(incoming[key])
    known = position >= 0
    if not known.any():
        return TableChanges(incoming, incoming.iloc[:0], 0)
    old, now = stored.iloc[position[known]].reset_index(drop=True), incoming[known].reset_index(drop=True)
    same = np.ones(len(now), dtype=bool)
    for column in incoming.columns:
        same &= _same(now[column], old[column])
    changed = incoming[known][~same]
    return TableChanges(incoming[~known], changed, int(same.sum()))


def plan_load(incoming: Tables, stored: Tables) -> LoadPlan:
    """What loading validated ``incoming`` tables into a store holding ``stored`` writes.

    ``stored.links`` carries the ``key`` each link record was stored under.
    """
    links = with_link_keys(incoming).links
    return LoadPlan(
        entities=diff_rows(incoming.entities, stored.entities[incoming.entities.columns], key="id"),
        penalties=diff_rows(incoming.penalties, stored.penalties[incoming.penalties.columns], key="id"),
        links=diff_rows(links, stored.links[links.columns], key="key"),
    )


def with_link_keys(tables: Tables) -> Tables:
    """The tables with each link's record ``key`` (kept when present)."""
    if "key" in tables.links:
        return tables
    return Tables(tables.entities, tables.links.assign(key=link_keys(tables.links)), tables.penalties,
                  validated=tables.validated)


def canonical_order(tables: Tables) -> Tables:
    """Rows in one order whatever path the tables took (read back, or merged by a load):
    entities and penalties by id, links by type in model order, then key. Rows index the
    projection, so equal content gives equal results, byte for byte. Links keep ``key``."""
    links = with_link_keys(tables).links
    type_rank = {name: rank for rank, name in enumerate(load_model().links)}
    return Tables(
        entities=tables.entities.sort_values("id", ignore_index=True),
        links=links.assign(_rank=links["type"].map(type_rank)).sort_values(["_rank", "key"], ignore_index=True)
                   .drop(columns="_rank"),
        penalties=tables.penalties.sort_values("id", ignore_index=True),
        validated=tables.validated)
