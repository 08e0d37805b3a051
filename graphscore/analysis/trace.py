"""Trace: how two entities are connected, link by link (``graphscore trace A B``).

Every shortest chain of links between the two, over links of any type followed in either
direction; each step names the records that join its two entities (type, role, share, dates,
direction as written). By default every record counts whatever its dates, since investigators
trace past connections too; ``as_of`` keeps only links in force that day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from graphscore.engine.connections import shortest_connections, undirected_adjacency
from graphscore.engine.matrix import resolve_as_of
from graphscore.model import Tables
from graphscore.workspace import Workspace, as_workspace

__all__ = ["Trace", "trace"]

STEP_COLUMNS = ["chain", "step", "from_id", "from_name", "to_id", "to_name", "links"]


@dataclass
class Trace:
    """The shortest connections between two entities.

    Attributes
    ----------
    start, end : str
        The two entity ids.
    length : int or None
        Links in each shortest chain; None when none is within ``max_links``.
    steps : DataFrame
        One row per step of each chain: ``chain`` (0, 1, ...), ``step`` (1, 2, ...), ``from_id``,
        ``from_name``, ``to_id``, ``to_name`` and ``links``, the records joining the two, e.g.
        ``-> OFFICER_OF legal_representative`` (``->``: the link runs from ``from`` to ``to``
        as written; ``<-``: the other way).
    as_of : str or None
        The day whose links were searched; None: every record, any date.
    notes : list of str
    """

    start: str
    end: str
    length: int | None
    steps: pd.DataFrame
    as_of: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def chains(self) -> int:
        return int(self.steps["chain"].nunique()) if len(self.steps) else 0

    def to_json(self) -> dict:
        return {"start": self.start, "end": self.end, "length": self.length, "as_of": self.as_of,
                "chains": [group.drop(columns="chain").to_dict("records")
                           for _, group in self.steps.groupby("chain", sort=True)],
                "notes": self.notes}


def trace(source: Tables | Workspace, start: str, end: str, *, as_of: dt.date | str | None = None,
          max_links: int = 6, limit: int = 10) -> Trace:
    """Every shortest chain of links (up to ``limit``) between ``start`` and ``end``.

    Parameters
    ----------
    source : Tables or Workspace
    start, end : str
        Entity ids; an unknown id is a KeyError naming it.
    as_of : date or str, optional
        Search only links in force that day; default: every record, whatever its dates.
    max_links : int
        Longest chain searched; farther apart means no chain, and a note says so.
    limit : int
        Most chains listed (they come in a fixed order).

    Examples
    --------
    >>> from graphscore.toy import fined_company
    >>> t = trace(fined_company(), "c", "p")
    >>> t.length, t.steps[["from_id", "to_id", "links"]].values.tolist()
    (1, [['c', 'p', '<- OFFICER_OF legal_representative']])
    """
    workspace = as_workspace(source)
    entities = workspace.entities
    for entity in (start, end):
        if entity not in entities.index:
            raise KeyError(f"unknown entity id {entity!r}")
    day = None if as_of is None else resolve_as_of(as_of)
    source, target = workspace.link_ends
    if day is not None:  # the records in force that day, by their row in the links table
        rows = workspace.tables.links.index.get_indexer(workspace.links_at(day).index)
        source, target = source[rows], target[rows]
    index = entities.index
    adjacency = undirected_adjacency(source, target, len(index))
    chains = shortest_connections(adjacency, index.get_loc(start), index.get_loc(end), max_hops=max_links, limit=limit)
    when = f"in force on {day.date()}" if day is not None else "of any date"
    notes = [] if chains else [f"no chain of at most {max_links} links {when} joins {start} and {end}"]
    if len(chains) == limit:
        notes.append(f"the first {limit} shortest chains are listed; there may be more (raise --limit)")
    rows = []
    for number, chain in enumerate(chains):
        for step, (a, b) in enumerate(zip(chain, chain[1:]), start=1):
            a_id, b_id = index[a], index[b]
            rows.append({"chain": number, "step": step, "from_id": a_id, "from_name": entities.at[a_id, "name"],
                         "to_id": b_id, "to_name": entities.at[b_id, "name"],
                         "links": _describe(workspace.records_touching([a_id]) if day is None
                                            else workspace.links_touching([a_id], day), a_id, b_id)})
    return Trace(start, end, len(chains[0]) - 1 if chains else None, pd.DataFrame(rows, columns=STEP_COLUMNS),
                 None if day is None else day.date().isoformat(), notes)


def _describe(records: pd.DataFrame, a: str, b: str) -> str:
    """The records joining a and b, e.g. ``-> OWNS 60%; <- FAMILY spouse``."""
    joining = records[((records["source"] == a) & (records["target"] == b))
                      | ((records["source"] == b) & (records["target"] == a))]
    parts = []  # in one order whatever order the tables came in
    for link in joining.sort_values(["type", "role", "start", "share"], na_position="first").itertuples(index=False):
        words = [link.type]
        if isinstance(link.role, str):
            words.append(link.role)
        if pd.notna(link.share):
            words.append(f"{link.share:.0%}")
        if pd.notna(link.start) or pd.notna(link.end):
            words.append(f"[{_day(link.start)}, {_day(link.end)})")
        parts.append(("-> " if link.source == a else "<- ") + " ".join(words))
    return "; ".join(dict.fromkeys(parts))


def _day(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).date().isoformat()
