"""Analysis answers go through one workspace: each projection is built once and each baseline run
once, however many answers share them; one entity's answers read only its neighbourhood.

The counters wrap the real :func:`build_projection` and :func:`run_model` the workspace calls
(the numbers stay real); a module of graphscore.analysis that built or ran them itself would
bypass the workspace, which the last test rules out.
"""

from __future__ import annotations

import collections
import importlib
import pkgutil

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import graphscore as gs
import graphscore.analysis
import graphscore.analysis.whatif
import graphscore.workspace
from graphscore.analysis.dossier import dossier
from graphscore.analysis.explain import explain
from graphscore.analysis.ownership import compare_rules, flagged_entities, ultimate_owners_table
from graphscore.analysis.spillover import spillover
from graphscore.analysis.whatif import whatif
from graphscore.timeline import active_links
from graphscore.io import read_paths
from graphscore.synthetic import generate_network
from graphscore.workspace import Workspace
from tests.conftest import POLICIES, SPREAD_SPLIT, ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")
CST = "NK-abdzbEBkqyT29GyREbiURZ"  # LLC CST: penalised, owned, with officers
DIRECTOR = "NK-mCEmxFfuhfdjpC8gsxH74o"  # LLC CST's general director (README)
AS_OF = "2023-01-31"


@pytest.fixture(scope="module")
def zala():
    return read_paths([ZALA])


@pytest.fixture
def counts(monkeypatch):
    """Calls of the real projection builder and model run, by policy name: through the
    workspace (``build``, ``baseline``) and from what-if's own solves (``whatif_run``)."""
    calls = collections.Counter()
    real_build, real_run = graphscore.workspace.build_projection, graphscore.workspace.run_model
    real_whatif_run = graphscore.analysis.whatif.run_model

    def build(tables, policy, *args, **kwargs):
        calls["build", policy.name] += 1
        return real_build(tables, policy, *args, **kwargs)

    def baseline(projection, policy, *args, **kwargs):
        calls["baseline", policy.name] += 1
        return real_run(projection, policy, *args, **kwargs)

    def whatif_run(projection, policy, *args, **kwargs):
        calls["whatif_run", policy.name] += 1
        return real_whatif_run(projection, policy, *args, **kwargs)

    monkeypatch.setattr(graphscore.workspace, "build_projection", build)
    monkeypatch.setattr(graphscore.workspace, "run_model", baseline)
    monkeypatch.setattr(graphscore.analysis.whatif, "run_model", whatif_run)
    return calls


@pytest.mark.parametrize("policy_path", [POLICIES / "joint-punishment.toml", SPREAD_SPLIT], ids=["hop", "spread"])
def test_a_dossier_builds_each_projection_once_and_later_answers_none(zala, counts, policy_path):
    """The what-if and the spillover run nothing over the whole registry: under hop the model
    runs where the change reaches, under spread they push locally. Neither re-runs the baseline."""
    policy = gs.load_policy(policy_path)
    ws = Workspace(zala)
    first = dossier(ws, policy, CST, as_of=AS_OF)
    # its own policy once, and the integrated ownership rule behind the ultimate owners at both
    # ends of the stake bands (an owner of CST has no recorded share in the sample): no run
    assert counts == {("build", policy.name): 1, ("build", "beneficial-owners"): 2,
                      ("baseline", policy.name): 1}
    counts.clear()
    again = dossier(ws, policy, CST, as_of=AS_OF)
    why = explain(ws, policy, CST, as_of=AS_OF)
    changes = whatif(ws, policy, penalize=DIRECTOR, as_of=AS_OF)
    report = spillover(ws, policy, entity=CST, as_of=AS_OF)
    owners = ultimate_owners_table(ws, CST, as_of=AS_OF)
    # no projection built, no baseline re-run, no full solve for the what-if
    assert counts == {}
    assert again.score == first.score and why.total == first.score["total"]
    assert again.ultimate_owners.equals(owners)
    assert changes["delta"].abs().max() > 0 and len(report.affected) > 1


def test_answers_on_plain_tables_agree_with_the_workspace(zala, counts):
    """Plain tables get a workspace of their own per call: the same numbers, built afresh."""
    policy = gs.load_policy(POLICIES / "joint-punishment.toml")
    ws = Workspace(zala)
    on_tables, on_ws = dossier(zala, policy, CST, as_of=AS_OF), dossier(ws, policy, CST, as_of=AS_OF)
    assert counts[("build", "joint-punishment")] == 2 and counts[("baseline", "joint-punishment")] == 2
    assert on_tables.score == on_ws.score
    pd.testing.assert_frame_equal(on_tables.exposure, on_ws.exposure)
    assert on_tables.manifest["data_fingerprint"] == on_ws.manifest["data_fingerprint"] == zala.fingerprint()
    pd.testing.assert_frame_equal(gs.whatif(zala, policy, penalize=CST, as_of=AS_OF),
                                  gs.whatif(ws, policy, penalize=CST, as_of=AS_OF))


def test_ownership_answers_share_one_projection_per_rule(zala, counts):
    ws = Workspace(zala)
    ofac = gs.load_policy(POLICIES / "ofac-50.toml")
    explain(ws, ofac, CST, as_of=AS_OF)
    flagged_entities(ws, "ofac", as_of=AS_OF, policy=ofac)
    compare_rules(ws, as_of=AS_OF)  # each rule's own projection (its own regime's listings)
    # OFAC: the policy's own projection and run (the low end of the stake bands), and the high
    # end's, which flagged_entities adds as a stake in the sample has no recorded share; compare
    # reuses them and adds one projection per other rule (and the EU's and UK's own runs)
    assert counts == {("build", ofac.name): 2, ("baseline", ofac.name): 2,
                      ("build", "eu-owned-controlled"): 1, ("baseline", "eu-owned-controlled"): 1,
                      ("build", "uk-owned-controlled"): 1, ("baseline", "uk-owned-controlled"): 1,
                      ("build", "beneficial-owners"): 1}
    counts.clear()
    compare_rules(ws, as_of=AS_OF)
    assert counts == {}


def test_flagged_entities_of_some_are_rows_of_all(zala):
    ws = Workspace(zala)
    every = flagged_entities(ws, "eu", as_of=AS_OF)
    some = every["id"].iloc[::2].tolist()
    chosen = flagged_entities(ws, "eu", as_of=AS_OF, entity_ids=some)
    pd.testing.assert_frame_equal(chosen, every[every["id"].isin(some)].reset_index(drop=True))


def test_analysis_never_builds_projections_itself():
    for module in pkgutil.iter_modules(graphscore.analysis.__path__):
        loaded = importlib.import_module(f"graphscore.analysis.{module.name}")
        assert not hasattr(loaded, "build_projection"), module.name


@pytest.fixture(scope="module")
def register():
    return gs.validate(generate_network(400, seed=4))


def test_links_touching_is_the_filter_of_all_links_in_force(register):
    ws = Workspace(register)
    now = active_links(register.links, pd.Timestamp("2024-06-30"))
    rng = np.random.default_rng(0)
    for size in (0, 1, 5, 40):
        ids = set(rng.choice(register.entities["id"], size=size, replace=False)) | {"no-such-entity"}
        expected = now[now["source"].isin(ids) | now["target"].isin(ids)]
        pd.testing.assert_frame_equal(ws.links_touching(ids, "2024-06-30"), expected)


def _neighbourhood_of_all_links(tables, entity_id, as_of, radius, penalised):
    """The neighbourhood as the dossier drew it before it had a workspace: a graph of every link
    in force, cut down to the ego graph (the oracle the local search must reproduce)."""
    graph = nx.MultiDiGraph()
    for row in active_links(tables.links, pd.Timestamp(as_of)).itertuples(index=False):
        graph.add_edge(row.source, row.target, type=row.type, role=row.role, share=row.share)
    if entity_id not in graph:
        graph.add_node(entity_id)
    ego = nx.ego_graph(graph.to_undirected(as_view=True), entity_id, radius=radius)
    sub = nx.MultiDiGraph(graph.subgraph(ego.nodes))
    names = dict(zip(tables.entities["id"], tables.entities["name"]))
    kinds = dict(zip(tables.entities["id"], tables.entities["kind"]))
    for node in sub.nodes:
        sub.nodes[node].update(name=names.get(node, node), kind=kinds.get(node), penalised=node in penalised)
    return sub


@pytest.mark.parametrize("radius", [1, 2])
def test_dossier_neighbourhood_matches_the_graph_of_all_links(register, radius):
    policy = gs.load_policy(POLICIES / "joint-punishment.toml")
    ws = Workspace(register)
    projection = ws.projection(policy, "2024-06-30")
    penalised = set(projection.ids[projection.s > 0])
    degree = pd.concat([register.links["source"], register.links["target"]]).value_counts()
    lonely = register.entities.loc[~register.entities["id"].isin(degree.index), "id"]
    for entity in [degree.index[0], degree.index[len(degree) // 2], degree.index[-1], *lonely[:1]]:
        local = dossier(ws, policy, entity, as_of="2024-06-30", radius=radius).neighbourhood
        whole = _neighbourhood_of_all_links(register, entity, "2024-06-30", radius, penalised)
        assert next(iter(local.nodes)) == entity
        assert dict(local.nodes(data=True)) == dict(whole.nodes(data=True))
        # the oracle's order follows string hashing (networkx iterates a small induced subgraph
        # in the order of a set): compare edges, keys and data as sets
        assert _edges(local) == _edges(whole) and len(local.edges) == len(whole.edges)


def _edges(graph: nx.MultiDiGraph) -> set:
    return {(u, v, key, tuple(sorted((k, str(x)) for k, x in data.items())))
            for u, v, key, data in graph.edges(keys=True, data=True)}
