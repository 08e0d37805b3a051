"""Write validated tables as GraphML, for Gephi, yEd, Cytoscape and networkx.

The graph is the store's: one node per entity (XML id = the entity id), one node per penalty
(XML id ``penalty:<id>``) tied to its entity by a ``HAS_PENALTY`` edge, and one directed edge per
link record (parallel edges kept: several records of one relation stay apart, each with its
dates). Every declared column becomes a GraphML attribute under its own name, declared once
per domain with ``attr.type`` ``string`` or ``double`` (GraphML's types, which Gephi maps onto
its column types); a missing value is an absent ``<data>`` element, not an empty string. Dates
are ISO ``YYYY-MM-DD`` text, GraphML having no date type. Beside the tables' columns, nodes
carry ``node_type`` (``entity`` or ``penalty``) and ``label``, penalties their id as ``penalty_id``
(Gephi keeps ``id`` for the node's own id), and edges ``label`` and ``key`` (the link record's key
the stores merge on, also the edge's XML id): Gephi shows ``label`` on nodes and edges. Each
``<edge>`` also carries its relation type as a ``label`` XML attribute, which Gephi's importer
reads as the edge type (other readers ignore it).

Opened with Gephi's own importer (``tests/io/gephi/check.sh``, gephi-toolkit 0.10.1), the
OpenSanctions sample's export gives 78 nodes, every column under its name with its type (share
and severity Double), and edges typed FAMILY, HAS_PENALTY, OFFICER_OF and OWNS: 82 edges with
"Don't merge" chosen in Gephi's import dialog, 79 with Gephi's default, which merges parallel
records of one type (Zakharov's three stakes in LLC CST) and says so ("Parallel edges detected").

References
----------
.. [1] Brandes, Eiglsperger, Lerner, Pich, "Graph Markup Language (GraphML)", in Tamassia (ed.),
   *Handbook of Graph Drawing and Visualization*, CRC Press, 2013, ch. 16; the GraphML primer,
   http://graphml.graphdrawing.org/primer/graphml-primer.html (``key``, ``attr.name``, ``attr.type``).
.. [2] Gephi, "GraphML format": https://gephi.org/users/supported-graph-formats/graphml-format/

Examples
--------
>>> import tempfile, networkx as nx, pandas as pd
>>> from graphscore.model import validate
>>> tables = validate(Tables(
...     pd.DataFrame({"id": ["p", "c"], "kind": ["person", "company"], "name": ["Ann", "Acme"]}),
...     pd.DataFrame({"source": ["p"], "target": ["c"], "type": ["OWNS"], "share": [0.51]})))
>>> with tempfile.TemporaryDirectory() as folder:
...     path = write_graphml(tables, f"{folder}/acme.graphml")
...     graph = nx.read_graphml(path, force_multigraph=True)
>>> graph.nodes["c"]
{'node_type': 'entity', 'label': 'Acme', 'kind': 'company', 'name': 'Acme'}
>>> [(u, v, d["type"], d["share"]) for u, v, d in graph.edges(data=True)]
[('p', 'c', 'OWNS', 0.51)]
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import networkx as nx
import pandas as pd
from networkx.readwrite.graphml import GraphMLWriter

from graphscore.model import GraphscoreWarning, Tables, link_keys, load_model

__all__ = ["write_graphml", "to_networkx", "PENALTY_PREFIX"]

PENALTY_PREFIX = "penalty:"  # penalty node ids: a penalty may share its id with an entity


# Characters XML 1.0 cannot carry (https://www.w3.org/TR/xml/#charsets): a file holding one is
# not well-formed, and no reader opens it.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(series: pd.Series, table: str, column: str, replaced: list[str]) -> pd.Series:
    """Text with each character XML cannot carry replaced by U+FFFD, noting where in ``replaced``;
    in an id, which must stay distinct, such a character is refused."""
    bad = series.astype(object).map(lambda v: isinstance(v, str) and _NOT_XML.search(v) is not None)
    if not bad.any():
        return series
    where = f"{table}[{int(bad.to_numpy().argmax())}].{column}"
    if column in ("id", "source", "target", "entity"):
        raise ValueError(f"{where} holds a character XML cannot carry; GraphML cannot name it.")
    replaced.append(where)
    return series.astype(object).map(lambda v: _NOT_XML.sub("\ufffd", v) if isinstance(v, str) else v)


def _records(frame: pd.DataFrame, table: str, skip: tuple[str, ...], replaced: list[str]) -> list[dict]:
    """Each row's declared columns, missing values left out, dates as ISO text, numbers as floats."""
    columns = [c for c in load_model().tables[table].columns if c.name not in skip]
    values = {}
    for c in columns:
        series = frame[c.name]
        if c.type == "date":
            series = series.dt.strftime("%Y-%m-%d")
        elif c.dtype == "object":
            series = _xml_text(series, table, c.name, replaced)
        values[c.name] = series.astype(object).where(series.notna(), None).tolist()
    floats = {c.name for c in columns if c.dtype == "float64"}
    return [{name: (float(v) if name in floats else v) for name, v in zip(values, row) if v is not None}
            for row in zip(*values.values())]


def to_networkx(tables: Tables) -> nx.MultiDiGraph:
    """The graph :func:`write_graphml` writes, as a networkx ``MultiDiGraph``.

    Edges are keyed by link record (``key``), or ``HAS_PENALTY``; node and edge attributes as
    in the module docstring.
    """
    if not tables.validated:
        raise ValueError("GraphML export takes validated tables: call graphscore.validate first.")
    graph, replaced = nx.MultiDiGraph(), []
    for table, frame in tables.items():
        for column in ("id", "source", "target", "entity"):
            if column in frame.columns:
                _xml_text(frame[column], table, column, replaced)
    ids = tables.entities["id"].tolist()
    for entity_id, attributes in zip(ids, _records(tables.entities, "entities", ("id",), replaced)):
        graph.add_node(entity_id, node_type="entity", label=attributes["name"], **attributes)
    penalty_nodes = [PENALTY_PREFIX + p for p in tables.penalties["id"]]
    if clash := set(penalty_nodes) & set(ids):
        raise ValueError(f"entity id {sorted(clash)[0]!r} looks like a penalty node id; GraphML needs "
                         "node ids that tell them apart.")
    for node, entity, penalty_id, attributes in zip(penalty_nodes, tables.penalties["entity"], tables.penalties["id"],
                                                    _records(tables.penalties, "penalties", ("id", "entity"), replaced)):
        # "penalty_id", not "id": Gephi keeps "id" for the node id itself
        graph.add_node(node, node_type="penalty", label=f"{attributes['kind']} {penalty_id}",
                       penalty_id=penalty_id, **attributes)
        key = f"HAS_PENALTY:{node}"
        graph.add_edges_from([(entity, node, key, {"type": "HAS_PENALTY", "label": "HAS_PENALTY", "key": key})])
    links = tables.links
    graph.add_edges_from(
        (source, target, key, {"label": attributes["type"], **attributes, "key": key})
        # the key holds the role and source_ref: text the warning below covers
        for source, target, key, attributes in zip(links["source"], links["target"],
                                                   link_keys(links).str.replace(_NOT_XML, "\ufffd", regex=True),
                                                   _records(links, "links", ("source", "target"), replaced)))
    if replaced:
        warnings.warn(f"GraphML: characters XML cannot carry were replaced by U+FFFD in {len(replaced)} "
                      f"column(s): {', '.join(replaced[:3])}", GraphscoreWarning, stacklevel=2)
    return graph


def write_graphml(tables: Tables, path: str | Path) -> Path:
    """Write validated ``tables`` as one GraphML file (UTF-8); return its path.

    Raises
    ------
    ValueError
        If the tables are not validated, an entity id starts with ``penalty:`` and so could be
        taken for a penalty node, or an id holds a character XML cannot carry (a control character).

    Warns
    -----
    GraphscoreWarning
        Where other text holds such characters: they are written as U+FFFD.
    """
    graph = to_networkx(tables)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = GraphMLWriter(encoding="utf-8", prettyprint=True)
    writer.add_graph_element(graph)
    types = {key: data["type"] for _, _, key, data in graph.edges(keys=True, data=True)}
    for edge in writer.xml.iter("edge"):
        # Gephi's GraphML importer takes an edge's `label` attribute as its edge type: relation
        # types become Gephi's, to filter on, and records of different types stay apart
        edge.set("label", types[edge.get("id")])
    writer.dump(str(path))
    return path
