"""Tests for graphscore.io.graphml: read back with networkx.read_graphml every node, edge and field
comes back; the key declarations are the ones Gephi reads."""

import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from graphscore.io.ftm import read_ftm
from graphscore.io.graphml import write_graphml
from graphscore.model import GraphscoreWarning, Tables, validate
from graphscore.synthetic import generate_network

ZALA = Path(__file__).parents[2] / "data" / "zala" / "entities.ftm.json"
NS = {"g": "http://graphml.graphdrawing.org/xmlns"}
GRAPHML_TYPES = {"boolean", "int", "long", "float", "double", "string"}  # the GraphML primer's attr.type values


@pytest.fixture(scope="module")
def zala() -> Tables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's overlapping stakes: tested in test_ftm.py
        return validate(read_ftm(ZALA))


def tables_from_graphml(path: Path) -> Tables:
    """The three tables back from a GraphML file, read by networkx."""
    graph = nx.read_graphml(path, force_multigraph=True)
    entities, penalties, links = [], [], []
    for node, data in graph.nodes(data=True):
        data = dict(data)
        node_type, label = data.pop("node_type"), data.pop("label")
        if node_type == "entity":
            assert label == data["name"]
            entities.append({"id": node, **data})
        else:
            (owner, _, _), = graph.in_edges(node, keys=True)
            data["id"] = data.pop("penalty_id")
            penalties.append({**data, "entity": owner})
    for source, target, key, data in graph.edges(keys=True, data=True):
        data = dict(data)
        assert data.pop("key") == key
        assert data.pop("label") == data["type"]
        if data["type"] != "HAS_PENALTY":
            links.append({"source": source, "target": target, **data})
    return Tables(pd.DataFrame(entities), pd.DataFrame(links), pd.DataFrame(penalties))


def assert_same(original: Tables, back: Tables) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checked = validate(back)
    for name, frame in original.items():
        key = ["id"] if "id" in frame.columns else ["source", "target", "type", "start", "source_ref", "role"]
        expected = frame.sort_values(key, na_position="first").reset_index(drop=True)
        got = getattr(checked, name)[list(frame.columns)].sort_values(key, na_position="first").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, obj=name)


def check_keys(path: Path) -> dict:
    """Each <key> declares attr.name and a GraphML attr.type, once per domain; each <data> uses a
    declared key of its element's domain and holds text. Returns {(domain, name): type}."""
    root = ET.parse(path).getroot()
    keys = {}
    for key in root.findall("g:key", NS):
        assert key.get("attr.type") in GRAPHML_TYPES
        assert (key.get("for"), key.get("attr.name")) not in keys.values()
        keys[key.get("id")] = (key.get("for"), key.get("attr.name"))
    types = {keys[k.get("id")]: k.get("attr.type") for k in root.findall("g:key", NS)}
    for domain in ("node", "edge"):
        elements = root.findall(f"g:graph/g:{domain}", NS)
        assert len({e.get("id") for e in elements}) == len(elements), f"{domain} ids repeat"
        for element in elements:
            values = {}
            for data in element.findall("g:data", NS):
                assert keys[data.get("key")][0] == domain
                assert data.text, "a missing value is an absent <data>, never an empty one"
                values[keys[data.get("key")][1]] = data.text
            if domain == "edge":  # the edge type Gephi's importer reads
                assert element.get("label") == values["type"]
    return types


def test_zala_round_trip(zala, tmp_path):
    path = write_graphml(zala, tmp_path / "zala.graphml")
    assert_same(zala, tables_from_graphml(path))


def test_zala_key_types(zala, tmp_path):
    types = check_keys(write_graphml(zala, tmp_path / "zala.graphml"))
    assert types[("edge", "share")] == "double" and types[("node", "severity")] == "double"
    assert types[("edge", "start")] == "string"  # GraphML has no date type: ISO text
    assert types[("node", "label")] == "string" and types[("edge", "label")] == "string"


def test_a_hand_checked_edge(zala, tmp_path):
    # Zakharov's 51 % of LLC CST from 2015-11-25, still open (data/zala/entities.ftm.json)
    graph = nx.read_graphml(write_graphml(zala, tmp_path / "zala.graphml"), force_multigraph=True)
    edges = [d for _, _, d in graph.edges("NK-aU5ybkbRFJucf8YMwsJvDw", data=True)
             if d.get("source_ref") == "ftm:ru-dfe0a021cb69f99e198bb8cbbcb93e81130b32a7"]
    assert len(edges) == 1
    edge = {k: v for k, v in edges[0].items() if k != "key"}
    assert edge == {"type": "OWNS", "label": "OWNS", "share": 0.51, "start": "2015-11-25",
                    "source_ref": "ftm:ru-dfe0a021cb69f99e198bb8cbbcb93e81130b32a7"}
    assert graph.nodes["NK-abdzbEBkqyT29GyREbiURZ"]["kind"] == "company"
    assert graph.number_of_nodes() == 17 + len(zala.penalties)


def test_awkward_text_ranges_and_shared_ids(tmp_path):
    entities = pd.DataFrame({"id": ["a&b", "<c>", "d"], "kind": ["person", "company", "company"],
                             "name": ['"Q" & <Co>', "Line\nbreak", "Ünï 法定代表人"], "value": [None, 2.5, None]})
    links = pd.DataFrame({"source": ["a&b", "a&b"], "target": ["<c>", "<c>"], "type": ["OWNS", "OWNS"],
                          "share_low": [0.25, None], "share_high": [0.5, None], "share": [None, 0.1],
                          "start": ["2019-01-01", "2020-01-01"], "end": ["2020-01-01", None]})
    penalties = pd.DataFrame({"id": ["d"], "entity": ["<c>"], "kind": ["fine"], "severity": [0.1 + 0.2],
                              "start": ["2021-03-04"], "repair_from": ["2022-01-01"]})
    tables = validate(Tables(entities, links, penalties))
    path = write_graphml(tables, tmp_path / "awkward.graphml")
    check_keys(path)
    back = tables_from_graphml(path)
    assert_same(tables, back)
    assert back.penalties["severity"].tolist() == [0.30000000000000004]


def test_synthetic_round_trip(tmp_path):
    tables = validate(generate_network(300, seed=4, as_of="2024-06-30", registered_agents=True))
    path = write_graphml(tables, tmp_path / "synthetic.graphml")
    check_keys(path)
    assert_same(tables, tables_from_graphml(path))


def test_refusals(tmp_path):
    raw = Tables(pd.DataFrame({"id": ["penalty:x"], "kind": ["person"], "name": ["A"]}))
    with pytest.raises(ValueError, match="validated tables"):
        write_graphml(raw, tmp_path / "x.graphml")
    clash = validate(Tables(raw.entities, pd.DataFrame(), pd.DataFrame(
        {"id": ["x"], "entity": ["penalty:x"], "kind": ["fine"], "severity": [1.0], "start": ["2020-01-01"]})))
    with pytest.raises(ValueError, match="entity id 'penalty:x' looks like a penalty node id"):
        write_graphml(clash, tmp_path / "x.graphml")


def test_igraph_reads_it_too(zala, tmp_path):
    # a second, independent reader (igraph's, on libxml2): the same nodes, edges and typed values
    import igraph as ig

    graph = ig.Graph.Read_GraphML(str(write_graphml(zala, tmp_path / "zala.graphml")))
    assert (graph.vcount(), graph.ecount()) == (17 + 61, 21 + 61)
    cst = graph.vs.find(id="NK-abdzbEBkqyT29GyREbiURZ")
    assert (cst["kind"], cst["node_type"]) == ("company", "entity")
    stake = graph.es.find(source_ref="ftm:ru-dfe0a021cb69f99e198bb8cbbcb93e81130b32a7")
    assert (graph.vs[stake.source]["id"], stake["share"], stake["start"]) == (
        "NK-aU5ybkbRFJucf8YMwsJvDw", 0.51, "2015-11-25")


def test_characters_xml_cannot_carry(tmp_path):
    entities = pd.DataFrame({"id": ["a", "b"], "kind": ["person", "person"], "name": ["Tab\x0bbed", "Plain"]})
    links = pd.DataFrame({"source": ["a"], "target": ["b"], "type": ["FAMILY"], "role": ["cou\x1fsin"]})
    tables = validate(Tables(entities, links))
    with pytest.warns(GraphscoreWarning, match=r"replaced by U\+FFFD in 2 column\(s\): entities\[0\].name, "
                                               r"links\[0\].role"):
        path = write_graphml(tables, tmp_path / "control.graphml")
    graph = nx.read_graphml(path, force_multigraph=True)
    assert graph.nodes["a"]["name"] == "Tab\ufffdbed"
    assert [d["role"] for _, _, d in graph.edges(data=True)] == ["cou\ufffdsin"]
    bad_id = validate(Tables(pd.DataFrame({"id": ["x\x01"], "kind": ["person"], "name": ["X"]})))
    with pytest.raises(ValueError, match=r"entities\[0\].id holds a character XML cannot carry"):
        write_graphml(bad_id, tmp_path / "bad.graphml")
