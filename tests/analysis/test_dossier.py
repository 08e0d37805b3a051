"""The dossier of LLC CST (OpenSanctions sample) as of 2023-01-31, checked against the FtM records."""

from __future__ import annotations

import pytest

import graphscore as gs
from graphscore.analysis.dossier import dossier
from graphscore.io import read_paths
from tests.conftest import POLICIES, ZALA

CST = "NK-abdzbEBkqyT29GyREbiURZ"
pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


@pytest.fixture(scope="module")
def cst():
    return dossier(read_paths([ZALA]), gs.load_policy(POLICIES / "joint-punishment.toml"), CST, as_of="2023-01-31")


def test_owners_as_of_the_date(cst):
    """Records in force on 2023-01-31: Zakharov 50 % (until 2023-03-02; his 48 % and 51 % records
    supersede it later), Kalashnikov 49 %, TransKomplektHolding 2 %, Svetlana Zakharova 1 %."""
    shares = dict(zip(cst.owners["name"], cst.owners["share"]))
    assert shares == {"Alexander Vyacheslavovich ZAKHAROV": 0.5, "JSC Kalashnikov Concern": 0.49,
                      'Акціонерне товариство "ТрансКомплектХолдинг"': 0.02, "Svetlana Nikolaevna Zakharova": 0.01}
    assert cst.ultimate_owners["name"].tolist() == ["Alexander Vyacheslavovich ZAKHAROV", "JSC Kalashnikov Concern"]


def test_officers_and_linked_enterprises(cst):
    officers = cst.officers.set_index("name")
    assert officers.loc["Абашкін Костянтин Ігорьович", "role"] == "legal_representative"
    assert "АССОЦИАЦИЯ БЕСПИЛОТНЫХ СИСТЕМ" in officers.loc["Alexander Vyacheslavovich ZAKHAROV", "other_companies"]


def test_penalties_with_windows_and_authorities(cst):
    assert len(cst.penalties) == 29
    active = cst.penalties[cst.penalties["active"]]
    assert len(active) == 2 and active["authority"].notna().all()
    assert cst.score["total"] == pytest.approx(cst.score["own"] + cst.score["echo"] + cst.score["inherited"])


def test_neighbourhood_within_two_links(cst):
    assert CST in cst.neighbourhood and cst.neighbourhood.number_of_nodes() == 11


def _neighbourhood_read_whole(ws, day, entity, radius):
    """The neighbourhood's links as the dossier found them before it read each ring once: the
    rings by breadth first search, then the links touching all of them read in one look-up."""
    seen, frontier = {entity}, {entity}
    for _ in range(radius):
        reached = ws.links_touching(frontier, day)
        frontier = (set(reached["source"]) | set(reached["target"])) - seen
        if not frontier:
            break
        seen |= frontier
    touching = ws.links_touching(seen, day)
    among = touching[touching["source"].isin(seen) & touching["target"].isin(seen)]
    return [(row.source, row.target, row.type, row.role, row.share) for row in among.itertuples(index=False)]


@pytest.mark.parametrize("radius", [0, 1, 2, 3])
def test_neighbourhood_and_offices_as_read_in_one_look_up(radius):
    """Each ring's links read once (analysis.dossier._rings) give the links of one look-up of
    every entity within ``radius`` links, in the same order, nodes first seen in that order, and
    the ego graph's entities; each officer's other companies are those of their offices in force."""
    import math

    import networkx as nx

    from graphscore.synthetic import generate_network
    from graphscore.workspace import Workspace

    ws = Workspace(gs.validate(generate_network(400, seed=3)))
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    day = ws.projection(policy, "2024-06-30").as_of
    everything = nx.Graph()
    everything.add_edges_from(ws.links_at(day)[["source", "target"]].itertuples(index=False))
    links = ws.links_at(day)
    most_officers = links.loc[links["type"] == "OFFICER_OF", "target"].value_counts()
    for entity in ["C000011", *most_officers.index[:3], *links.loc[links["type"] == "FAMILY", "source"].head(2)]:
        report = dossier(ws, policy, entity, as_of=day, radius=radius)
        graph = report.neighbourhood
        expected = nx.MultiDiGraph()
        expected.add_node(entity)
        for source, target, type_, role, share in _neighbourhood_read_whole(ws, day, entity, radius):
            expected.add_edge(source, target, type=type_, role=role, share=share)
        assert list(graph.nodes) == list(expected.nodes)
        found, wanted = list(graph.edges(keys=True, data=True)), list(expected.edges(keys=True, data=True))
        assert [edge[:3] for edge in found] == [edge[:3] for edge in wanted]
        for (*_, a), (*_, b) in zip(found, wanted):
            assert (a["type"], a["role"]) == (b["type"], b["role"])
            assert a["share"] == b["share"] or (math.isnan(a["share"]) and math.isnan(b["share"]))
        near = nx.ego_graph(everything, entity, radius=radius) if entity in everything else {entity}
        assert set(graph.nodes) == set(near)
        for officer, others in zip(report.officers["id"], report.officers["other_companies"]):
            served = links[(links["source"] == officer) & (links["type"] == "OFFICER_OF")]["target"]
            assert others == ", ".join(sorted(ws.names.get(c, c) for c in set(served) if c != entity))
