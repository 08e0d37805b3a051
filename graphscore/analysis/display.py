"""How analysis results look in a notebook, and their conversions in one call.

A result class takes :class:`Tabular` (or :class:`Networked`) as a base and names its principal
table in ``_principal`` (an attribute holding a DataFrame, or a method returning one). Then
``result.to_pandas()`` is that table, ``result`` alone renders in Jupyter as its title, its
first rows as an HTML table and its notes, and for results with a graph ``result.to_networkx()``
is a :class:`networkx.MultiDiGraph` of the entities and links involved.

Examples
--------
>>> import graphscore as gs
>>> from graphscore.analysis.spillover import spillover
>>> from graphscore.toy import fined_company
>>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
>>> report = spillover(fined_company(), policy, penalty="x", as_of="2024-01-01")
>>> report.to_pandas()[["id", "change"]].to_dict("records")
[{'id': 'c', 'change': 1.0}, {'id': 'p', 'change': 0.5}]
>>> graph = report.to_networkx()
>>> sorted(graph.nodes(data="name")), [(u, v, d["type"]) for u, v, d in graph.edges(data=True)]
([('c', 'Co'), ('p', 'Pat')], [('p', 'c', 'OFFICER_OF')])
>>> "<table" in report._repr_html_()
True
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

__all__ = ["Tabular", "Networked"]

_ROWS_SHOWN = 20


class Tabular:
    """A result with a principal table: ``to_pandas()`` and an HTML view in Jupyter."""

    _principal = ""  # the attribute (DataFrame) or method (returning one) that is the result's table

    def to_pandas(self) -> pd.DataFrame:
        """The result's principal table, a copy to change freely."""
        value = getattr(self, self._principal)
        return (value() if callable(value) else value).copy()

    def _repr_html_(self) -> str:
        title = (getattr(self, "title", None) or getattr(self, "name", None)
                 or getattr(self, "entity", {}).get("name") or type(self).__name__)
        table = self.to_pandas()
        more = f"<p>… {len(table) - _ROWS_SHOWN} more rows: <code>.to_pandas()</code></p>" if len(table) > _ROWS_SHOWN else ""
        notes = "".join(f"<li>{html.escape(str(n))}</li>" for n in getattr(self, "notes", []))
        return (f"<h4>{html.escape(str(title))}</h4>" + table.head(_ROWS_SHOWN).to_html(index=False, na_rep="—")
                + more + (f"<ul>{notes}</ul>" if notes else ""))


class Networked(Tabular):
    """A result about part of the graph: also ``to_networkx()``."""

    def to_networkx(self, among=None) -> nx.MultiDiGraph:
        """The entities and links of the result: a dossier's neighbourhood, or the strongest
        paths of a spillover report (nodes with ``name``, ``kind``, ``before``, ``after``,
        ``change``; edges with ``type``, ``role``, ``share`` as written, source to target).
        ``among``, a set of entity ids: only those entities of a spillover report and the links
        between them, in the order the whole graph has them (a report's network view draws a
        few hundred of 3 x 10^5 entities: the whole graph took 4.6 s to build for it)."""
        neighbourhood = getattr(self, "neighbourhood", None)
        if neighbourhood is not None:
            return neighbourhood.copy()
        import networkx as nx  # here, not at import: a what-if or an explanation may never draw a network

        nodes, links = self.network(among)
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(nodes.items())
        graph.add_edges_from(links)
        return graph

    def network(self, among=None) -> tuple[dict, list]:
        """:meth:`to_networkx`'s graph as plain data, for a spillover report without networkx
        (0.1 s to import, for a report's network view): its nodes (id -> attributes) and links
        (``(source, target, attributes)``), each in the order the graph lists them: nodes as
        they join it, links by source in that order, then by target as they join the source's.

        Examples
        --------
        >>> import graphscore as gs
        >>> from graphscore.analysis.spillover import spillover
        >>> from graphscore.toy import fined_company
        >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
        >>> nodes, links = spillover(fined_company(), policy, penalty="x", as_of="2024-01-01").network()
        >>> list(nodes), [(u, v, d["type"]) for u, v, d in links]
        (['c', 'p'], [('p', 'c', 'OFFICER_OF')])
        """
        neighbourhood = getattr(self, "neighbourhood", None)
        if neighbourhood is not None:
            return ({node: dict(data) for node, data in neighbourhood.nodes(data=True)},
                    [(source, target, dict(data)) for source, target, data in neighbourhood.edges(data=True)])
        affected = self.affected
        # the rows drawn chosen before the ids become the index: a few hundred of 3 x 10^5 rows
        # (the whole table indexed by id, then searched, took 0.1 s of a report)
        return self._network_of(affected if among is None else affected[self._among(among)], among)

    def _among(self, among) -> np.ndarray:
        """Which rows of a spillover report's ``affected`` hold an id of the set ``among``."""
        return self.affected["id"].isin(list(among)).to_numpy()

    def _network_of(self, chosen: pd.DataFrame, among) -> tuple[dict, list]:
        """:meth:`network` of the rows ``chosen`` of ``affected``: those whose id is ``among``
        (all of them when ``among`` is None)."""
        hops_of = self.affected["path_hops"].to_numpy()
        rows = chosen.set_index("id")
        attributes = [c for c in ("name", "kind", "before", "after", "change") if c in rows.columns]
        # all nodes in one call: a row at a time (iterrows) took minutes for 3 x 10^5 entities
        nodes = dict(zip(rows.index, rows[attributes].to_dict("records")))
        following: dict = {}  # source -> target -> the links between them, as they were added
        seen = set()
        for hops in hops_of:
            for hop in hops or []:
                # a hop against the link as written is drawn as the link is: owner -> asset
                source, target = (hop["from"], hop["to"]) if hop["direction"] == "forward" else (hop["to"], hop["from"])
                key = (source, target, hop["type"], hop["role"])
                if among is not None:
                    # an entity on a path but not among the rows joins the graph where the whole
                    # graph has it join: at the first hop naming it, drawn or not
                    for entity in (source, target):
                        if entity in among and entity not in nodes:
                            nodes[entity] = {}
                    if not (source in among and target in among):
                        continue
                if key not in seen:
                    seen.add(key)
                    nodes.setdefault(source, {})
                    nodes.setdefault(target, {})
                    following.setdefault(source, {}).setdefault(target, []).append(
                        {"type": hop["type"], "role": hop["role"], "share": hop["share"]})
        links = [(source, target, data) for source in nodes for target, found in following.get(source, {}).items()
                 for data in found]
        return nodes, links
