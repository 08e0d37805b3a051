"""Dossier: everything about one entity an investigator asks first (DESIGN §7).

Own penalties with their windows and authorities; inherited exposure by source penalty with the
paths that carry it; direct and ultimate owners; officers, and the other companies each of them
serves (linked enterprises); what the entity itself holds or runs; and its neighbourhood, as a
graph. Data only (:class:`Dossier`): rendering, the picture of the neighbourhood included, is in
:mod:`graphscore.report.render` and :mod:`graphscore.report.charts`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from graphscore.analysis.display import Networked
from graphscore.analysis.explain import Explanation, explain, prepare_explain
from graphscore.analysis.manifest import build_manifest
from graphscore.analysis.ownership import prepare_owners, ultimate_owners_table
from graphscore.analysis.scores import split_score
from graphscore.engine.echo import model_echo
from graphscore.timeline import active
from graphscore.model import Tables
from graphscore.policy import Policy
from graphscore.workspace import Workspace, as_workspace

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Dossier", "dossier", "exposure_table", "prepare_dossier"]


def _multigraph():
    """An empty networkx MultiDiGraph. networkx is imported here, not with this module: a
    what-if or spillover report imports the module (to tell a dossier from other reports)
    and may draw no network (0.08 s of such a command)."""
    import networkx as nx

    return nx.MultiDiGraph()


@dataclass
class Dossier(Networked):
    """One entity's file.

    Attributes
    ----------
    entity : dict
        The entity's row (id, kind, name, jurisdiction, registration_id, address, source_ref).
    score : dict
        ``own``, ``echo``, ``inherited``, ``total`` under the policy at ``as_of``, split as the
        score table splits them (``echo``: its own penalty returning around cycles).
    penalties : DataFrame
        Every penalty of the entity, ``active`` at ``as_of`` or not, newest first.
    exposure : DataFrame
        Inherited exposure by source penalty (contribution, share of the score, strongest path);
        empty with a note under models whose scores do not split by source.
    owners, ultimate_owners : DataFrame
        Direct owners at ``as_of`` (share, period); owners with an integrated stake of 25 % or more
        with the chains carrying it.
    officers : DataFrame
        Officers at ``as_of`` with their role and ``other_companies``: the other entities each
        serves (the linked enterprises).
    holdings : DataFrame
        What the entity owns, runs or controls at ``as_of``.
    manifest : dict
    neighbourhood : MultiDiGraph
        Entities within ``radius`` links of the entity (links in force at ``as_of``, either way),
        nodes with ``name``, ``kind``, ``penalised``; one edge per link, with ``type``, ``role``,
        ``share``.
    notes : list of str
    """

    _principal = "exposure"  # to_pandas() and the notebook view (graphscore.analysis.display)

    entity: dict
    score: dict
    penalties: pd.DataFrame
    exposure: pd.DataFrame
    owners: pd.DataFrame
    ultimate_owners: pd.DataFrame
    officers: pd.DataFrame
    holdings: pd.DataFrame
    manifest: dict
    neighbourhood: nx.MultiDiGraph = field(repr=False, default_factory=_multigraph)
    notes: list[str] = field(default_factory=list)


def exposure_table(explanation: Explanation) -> pd.DataFrame:
    """A dossier's inherited exposure: the explanation's contributions from other entities'
    penalties (its own, and its echo, are the score's other parts), largest first."""
    exposure = explanation.table()
    return exposure[exposure["source"] != explanation.entity].reset_index(drop=True) if len(exposure) else exposure


def _date(value) -> str | None:
    return None if pd.isna(value) else value.date().isoformat()


def _rings(ws: Workspace, day: pd.Timestamp, entity_id: str, radius: int,
           around: pd.DataFrame) -> tuple[set, list[pd.DataFrame]]:
    """The entities within ``radius`` links of the entity, either way, and the links touching
    them, ring by ring: ``reads[k]`` is ``ws.links_touching(ring k, day)``, the entity itself
    ring 0 (``around``, which the dossier has read already), each ring the entities its inner
    ring's links reach first. Breadth first over the workspace's links by entity, each ring's
    links read once (each look-up reads the links' ends: 0.03-0.07 s at 10^6 links, and more
    with the entities it hashes; the links of all the entities read again took 0.15 s)."""
    seen, reads = {entity_id}, [around]
    for _ in range(radius):
        frontier = (set(reads[-1]["source"]) | set(reads[-1]["target"])) - seen
        if not frontier:
            break
        seen |= frontier
        reads.append(ws.links_touching(frontier, day))
    return seen, reads


def _neighbourhood(ws: Workspace, entity_id: str, seen: set, reads: list[pd.DataFrame],
                   penalised) -> nx.MultiDiGraph:
    """The entities ``seen`` (:func:`_rings`) and every link among them, from ``reads``, the links
    touching them: each record once and in table order, as ``ws.links_touching(seen, day)``
    gives them (it labels each record by its row). The entity is the first node, the others
    follow in the order of the links that join them.

    (The graph of all links cut to the ego graph, as this was drawn before, gave the same nodes
    and edges, edge keys included, in an order that followed string hashing.)
    """
    touching = pd.concat(reads) if len(reads) > 1 else reads[0]
    # a link between two rings was read with each: its records once, by row, in table order
    touching = touching[~touching.index.duplicated()].sort_index()
    among = touching[touching["source"].isin(seen) & touching["target"].isin(seen)]
    # A multigraph: one pair often has several links at once (Zakharov owns 50 % of LLC CST and
    # is its executive), and a DiGraph would keep only the last one read.
    sub = _multigraph()
    sub.add_node(entity_id)
    for row in among.itertuples(index=False):
        sub.add_edge(row.source, row.target, type=row.type, role=row.role, share=row.share)
    # looked up for all nodes at once: one lookup per node took seconds around a hub of 16,000
    nodes = list(sub.nodes)
    names = [node if name is _MISSING else name for node, name in zip(nodes, _lookup(ws.names, nodes, default=_MISSING))]
    kinds = _lookup(ws.entities["kind"], nodes, default=None)
    for node, name, kind, flag in zip(nodes, names, kinds, penalised(nodes)):
        sub.nodes[node].update(name=name, kind=kind, penalised=bool(flag))
    return sub


def _lookup(values: pd.Series, keys: list, *, default) -> list:
    """``[values.get(key, default) for key in keys]`` in one index lookup (``values`` has a
    unique index)."""
    rows = values.index.get_indexer(keys)
    if not len(values):
        return [default] * len(keys)
    found = values.to_numpy(dtype=object)[np.maximum(rows, 0)]
    return [value if row >= 0 else default for row, value in zip(rows.tolist(), found.tolist())]


_MISSING = object()  # an id without a name is drawn by its id


def dossier(source: Tables | Workspace, policy: Policy, entity_id: str, *, as_of: dt.date | str | None = None,
            radius: int = 2, top_paths: int = 2, explanation: Explanation | None = None) -> Dossier:
    """Assemble the dossier of ``entity_id`` under ``policy`` at ``as_of``.

    ``source`` is validated tables or a :class:`~graphscore.workspace.Workspace`: the
    projection and baseline run under the policy (and the ownership projection behind the
    ultimate owners) come from it, and the entity's links are looked up, not searched for.
    ``explanation``, the entity's :func:`explain` under the same policy, date and
    ``top_paths`` where the caller has it already (the web application's paths view), is used
    instead of explaining again.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import shared_representative
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="both"')
    >>> d = dossier(shared_representative(), policy, "C2", as_of="2024-01-01")
    >>> d.officers[["name", "role", "other_companies"]].to_dict("records")
    [{'name': 'Pat', 'role': 'legal_representative', 'other_companies': 'Alpha Ltd'}]
    >>> round(d.score["inherited"], 3), d.exposure["source_name"].tolist()
    (0.5, ['Alpha Ltd'])
    """
    ws = as_workspace(source)
    projection = ws.projection(policy, as_of)
    idx = projection.index_of(entity_id)
    day = projection.as_of
    names = ws.names
    notes = list(projection.notes)

    penalties = ws.tables.penalties
    penalties = penalties[penalties["entity"] == entity_id].assign(
        active=lambda p: active(p, day)).sort_values("start", ascending=False, ignore_index=True)
    around = ws.links_touching([entity_id], day)

    try:
        why = explanation or explain(ws, policy, entity_id, as_of=day, top_paths=top_paths)
        exposure = exposure_table(why)
        total = why.total
    except ValueError as exc:  # models whose scores do not split by source
        exposure, total = pd.DataFrame(), float(ws.baseline(policy, day).total[idx])
        notes.append(str(exc))

    owns = around[around["type"] == "OWNS"]
    owners = owns[owns["target"] == entity_id].assign(name=lambda d: d["source"].map(names))
    owners = owners[["source", "name", "share", "start", "end", "source_ref"]].rename(columns={"source": "id"})
    ultimate = ultimate_owners_table(ws, entity_id, as_of=day)

    officers = around[(around["type"] == "OFFICER_OF") & (around["target"] == entity_id)]
    seen, reads = _rings(ws, day, entity_id, radius, around)
    # the officers are in the first ring: their offices among the links read for it
    offices = reads[1] if len(reads) > 1 else ws.links_touching(set(officers["source"]), day)
    offices = offices[(offices["type"] == "OFFICER_OF") & offices["source"].isin(set(officers["source"]))]
    officers = pd.DataFrame({
        "id": officers["source"].to_numpy(), "name": officers["source"].map(names).to_numpy(),
        "role": officers["role"].to_numpy(),
        "other_companies": [", ".join(sorted(names.get(c, c) for c in set(offices.loc[offices["source"] == person, "target"])
                                             if c != entity_id))
                            for person in officers["source"]],
    })
    held = around[(around["source"] == entity_id) & around["type"].isin(["OWNS", "OFFICER_OF", "CONTROLS"])]
    holdings = pd.DataFrame({"id": held["target"].to_numpy(), "name": held["target"].map(names).to_numpy(),
                             "type": held["type"].to_numpy(), "role": held["role"].to_numpy(),
                             "share": held["share"].to_numpy()})

    def penalised(nodes: list) -> np.ndarray:
        rows = projection.ids.get_indexer(nodes)
        return (rows >= 0) & (projection.s[np.maximum(rows, 0)] > 0)

    return Dossier(
        entity={"id": entity_id, **{k: (None if pd.isna(v) else v) for k, v in ws.entities.loc[entity_id].items()}},
        score={key: float(values[0]) for key, values in split_score(
            # its own echo alone: one column, where the score table's costs one per penalised entity
            ws.baseline(policy, day).own[idx:idx + 1], model_echo(projection, policy, [idx])[idx:idx + 1],
            np.array([total])).items()},
        penalties=penalties.assign(start=penalties["start"].map(_date), end=penalties["end"].map(_date),
                                   repair_from=penalties["repair_from"].map(_date)),
        exposure=exposure, owners=owners.assign(start=owners["start"].map(_date), end=owners["end"].map(_date)),
        ultimate_owners=ultimate, officers=officers, holdings=holdings,
        manifest=build_manifest(ws, policy, day),
        neighbourhood=_neighbourhood(ws, entity_id, seen, reads, penalised),
        notes=notes,
    )


def prepare_dossier(source: Tables | Workspace, policy: Policy, *, as_of: dt.date | str | None = None) -> None:
    """Work out once what every dossier under ``policy`` at ``as_of`` reads about the whole
    register (:func:`~graphscore.analysis.explain.prepare_explain`,
    :func:`~graphscore.analysis.ownership.prepare_owners`, the bound on own penalties
    returning around cycles, one solve, or W's reversible form, and the index of links by
    entity), kept with the
    workspace, so that the first dossier costs what the next ones do. A server does this before it listens.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> ws = Workspace(fined_company())
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="both"')
    >>> prepare_dossier(ws, policy, as_of="2024-01-01")
    >>> "reversible form" in ws.projection(policy, "2024-01-01").derived  # ties both ways, one weight
    True
    """
    ws = as_workspace(source)
    prepare_explain(ws, policy, as_of)
    prepare_owners(ws, as_of=as_of)
    # one entity's echo: what model_echo keeps with the projection for every entity's, and its
    # compiled pushes loaded (tenths of a second on their first call in a process)
    projection = ws.projection(policy, as_of)
    model_echo(projection, policy, np.flatnonzero(projection.s > 0)[:1])
    # the links of no entity: the workspace's index of links by entity, built on first use
    ws.links_touching([], as_of, policy)
