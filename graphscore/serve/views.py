"""What the web page shows, as JSON-ready data: entities with their scores, a neighbourhood as
nodes and links, the paths that carry a score, and what a what-if changes.

Presentation only: every number comes from :mod:`graphscore.analysis` through the workspace.
Floats that are not finite become ``None`` so the JSON is strict.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from graphscore.workspace import Workspace

__all__ = ["clean", "entity_rows", "neighbourhood", "link_label", "path_links"]

# Entities drawn around one node before the rest are summarised as a count: more would make a
# hairball of a hub with thousands of companies, and the highest scores are what one looks for.
NEIGHBOURS_SHOWN = 60


def clean(value):
    """``value`` with NumPy scalars as Python ones, NaN / infinity / NaT as None, dates as text."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [clean(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value


def entity_rows(ws: Workspace, scores: pd.DataFrame, ids: list[str]) -> list[dict]:
    """``{id, name, kind, jurisdiction, own, inherited, total}`` of each id (scores indexed by id)."""
    entities = ws.entities.reindex(ids)
    found = scores.reindex(ids)
    jurisdiction = entities["jurisdiction"] if "jurisdiction" in entities else pd.Series(None, index=entities.index)
    return clean([{"id": i, "name": name if isinstance(name, str) else i, "kind": kind, "jurisdiction": j,
                   "own": own, "inherited": inherited, "total": total}
                  for i, name, kind, j, own, inherited, total in zip(
                      ids, entities["name"], entities["kind"], jurisdiction,
                      found["own"], found["inherited"], found["total"])])


def link_label(kind: str, role, share) -> str:
    """A link as drawn: its type, then its role or share.

    Examples
    --------
    >>> link_label("OWNS", None, 0.51), link_label("OFFICER_OF", "legal_representative", None)
    ('OWNS 51%', 'OFFICER_OF legal_representative')
    """
    parts = [kind, None if role is None or pd.isna(role) else str(role),
             None if share is None or pd.isna(share) else f"{share:.0%}"]
    return " ".join(p for p in parts if p)


def _links(frame: pd.DataFrame) -> list[dict]:
    return clean([{"id": f"{s}|{t}|{kind}|{'' if pd.isna(role) else role}",
                   "source": s, "target": t, "type": kind, "role": role, "share": share,
                   "start": start, "end": end, "label": link_label(kind, role, share)}
                  for s, t, kind, role, share, start, end in zip(
                      frame["source"], frame["target"], frame["type"], frame["role"], frame["share"],
                      frame["start"], frame["end"])])


def neighbourhood(ws: Workspace, scores: pd.DataFrame, entity_id: str, day, *,
                  limit: int = NEIGHBOURS_SHOWN, types: list[str] | None = None) -> dict:
    """The entity, the entities one link away at ``day`` and those links.

    At most ``limit`` neighbours are listed, highest score first; the others are summarised in
    ``hidden``: ``{count, by_type}`` (link types joining them to the entity). ``types`` keeps
    only links of those types.
    """
    if entity_id not in ws.entities.index:
        raise KeyError(f"unknown entity id {entity_id!r}")
    around = ws.links_touching([entity_id], day)
    if types:
        around = around[around["type"].isin(types)]
    others = pd.Series(np.where(around["source"] == entity_id, around["target"], around["source"]),
                       index=around.index, dtype=object)
    neighbours = pd.unique(others)
    hidden = {"count": 0, "by_type": {}}
    if len(neighbours) > limit:
        total = scores["total"].reindex(neighbours).fillna(0).to_numpy()
        keep = set(neighbours[np.argsort(-total, kind="stable")[:limit]])
        dropped = ~others.isin(keep)
        hidden = {"count": int(len(neighbours) - limit),
                  "by_type": {str(k): int(v) for k, v in
                              around[dropped].assign(o=others[dropped]).drop_duplicates(["o", "type"])["type"]
                              .value_counts().items()}}
        around = around[~dropped]
        neighbours = [n for n in neighbours if n in keep]
    return {"center": entity_id, "nodes": entity_rows(ws, scores, [entity_id, *neighbours]),
            "links": _links(around), "hidden": hidden}


def path_links(ws: Workspace, contributions: list[dict], day) -> tuple[list[str], list[dict]]:
    """The entities and links on the listed paths of an explanation's contributions, so the
    page can draw and highlight them; each hop's links are the records in force at ``day``
    joining its two entities with the hop's type."""
    hops = [hop for c in contributions for path in c.get("paths", []) for hop in path.get("hops", [])]
    if not hops:
        return [], []
    ids = list(dict.fromkeys(e for hop in hops for e in (hop["from"], hop["to"])))
    pairs = {(min(h["from"], h["to"]), max(h["from"], h["to"]), h["type"]) for h in hops}
    links = ws.links_touching(ids, day)
    ends = zip(links["source"], links["target"], links["type"])
    on_path = [(min(s, t), max(s, t), kind) in pairs for s, t, kind in ends]
    return ids, _links(links[on_path])
