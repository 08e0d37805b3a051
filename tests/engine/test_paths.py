"""Strongest paths against brute force over all simple paths (networkx), and against scipy's
Johnson over the whole graph (the search strongest_paths made before it stopped at its targets)."""

from __future__ import annotations

import heapq

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy as sp

import graphscore as gs
from graphscore.engine.paths import (PathTree, describe_paths, distances_from, distances_within, hop_distances,
                                    johnson_potentials, settle, strongest_paths)
from graphscore.synthetic import generate_network
from tests.conftest import POLICIES, SPREAD_SPLIT


def brute_force(W: np.ndarray, source: int, damping: float) -> dict[int, tuple[float, list[int]]]:
    graph = nx.DiGraph()
    graph.add_weighted_edges_from((u, v, W[v, u]) for v, u in zip(*np.nonzero(W)))
    best = {source: (1.0, [source])}
    for target in graph.nodes:
        if target == source:
            continue
        for path in nx.all_simple_paths(graph, source, target):
            strength = float(np.prod([damping * W[v, u] for u, v in zip(path, path[1:])]))
            if strength > best.get(target, (0.0, []))[0] + 1e-12:
                best[target] = (strength, path)
    return best


@pytest.mark.parametrize("seed, scale", [(0, 1.0), (1, 1.0), (2, 3.0), (3, 3.0)])
def test_strongest_path_matches_brute_force(seed, scale):
    rng = np.random.default_rng(seed)
    W = (sp.sparse.random_array((8, 8), density=0.3, random_state=rng).toarray() * scale)
    np.fill_diagonal(W, 0)
    # a DAG when weights can exceed 1: a gaining cycle makes walks, not paths, unbounded
    W = np.tril(W, -1) if scale > 1 else W
    tree = strongest_paths(sp.sparse.csr_array(W), [0], damping=0.5)
    for target, (strength, path) in brute_force(W, 0, 0.5).items():
        assert tree.strength[target] == pytest.approx(strength, rel=1e-9)
        assert tree.path_to(target) == path


def test_a_hop_that_gains_is_followed():
    """0 -> 1 -> 2 carries 0.3*5 x 0.3*2 = 0.9; the direct 0 -> 2 only 0.3 * 8/3 = 0.8."""
    W = sp.sparse.csr_array(np.array([[0, 0, 0], [5, 0, 0], [8 / 3, 2, 0]], dtype=float))
    tree = strongest_paths(W, [0], damping=0.3)
    assert tree.path_to(2) == [0, 1, 2] and tree.strength[2] == pytest.approx(0.9)
    assert tree.hops.tolist() == [0, 1, 1]


def test_unreachable_entities_have_no_path():
    W = sp.sparse.csr_array(np.array([[0, 0], [0, 0]], dtype=float))
    tree = strongest_paths(W, [0], damping=0.5)
    assert tree.path_to(1) == [] and np.isinf(tree.hops[1])


@pytest.mark.parametrize("seed", range(5))
def test_potentials_are_bellman_fords(seed):
    """The label-correcting potentials equal scipy's Bellman-Ford from a virtual source one 1e-300
    hop from every entity (as explain computed them before), on graphs with gaining hops."""
    rng = np.random.default_rng(seed)
    n = 60
    dag = sp.sparse.random_array((n, n), density=0.08, rng=rng, format="coo")
    keep = dag.row < dag.col  # acyclic, so no cycle gains, and a few hops gain
    lengths = sp.sparse.csr_array((rng.uniform(-0.5, 2.0, keep.sum()), (dag.row[keep], dag.col[keep])), shape=(n, n))
    joined = sp.sparse.block_array([[lengths, sp.sparse.csr_array((n, 1))],
                                    [sp.sparse.csr_array(np.full((1, n), 1e-300)), sp.sparse.csr_array((1, 1))]],
                                   format="csr")
    expected = sp.sparse.csgraph.shortest_path(joined, method="BF", indices=n)[:n]
    np.testing.assert_allclose(johnson_potentials(lengths), expected, rtol=1e-12, atol=0)
    cycle = sp.sparse.csr_array(([-1.0, 0.5], ([0, 1], [1, 0])), shape=(2, 2))
    with pytest.raises(sp.sparse.csgraph.NegativeCycleError):
        johnson_potentials(cycle)


def scipy_strongest_paths(W: sp.sparse.sparray, sources, *, damping: float) -> PathTree:
    """strongest_paths as it was before its searches stopped at their targets: scipy's Dijkstra
    over the whole graph, and scipy's Johnson (Bellman-Ford over every link, n times) from a
    virtual source where a hop gains. The reference the local search must agree with."""
    sources = np.asarray(sorted(set(int(i) for i in sources)), dtype=int)
    n = W.shape[0]
    G = sp.sparse.csr_array(W.T, dtype=float)
    G.eliminate_zeros()
    hops = sp.sparse.csgraph.dijkstra(G, indices=sources, unweighted=True, min_only=True)
    lengths = G.copy()
    lengths.data = -np.log(damping * lengths.data)
    lengths.data[lengths.data == 0] = 1e-300
    if (lengths.data >= 0).all():
        dist, predecessor, _ = sp.sparse.csgraph.dijkstra(lengths, indices=sources, min_only=True,
                                                          return_predecessors=True)
        return PathTree(hops, np.exp(-dist), predecessor)
    joined = sp.sparse.block_array([[lengths, None], [None, sp.sparse.csr_array((1, 1))]], format="lil")
    joined[n, sources] = 1e-300
    joined = sp.sparse.csr_array(joined)
    try:
        dist, predecessor = sp.sparse.csgraph.shortest_path(joined, method="J", indices=[n],
                                                            return_predecessors=True)
    except sp.sparse.csgraph.NegativeCycleError:
        capped = lengths.copy()
        capped.data = np.maximum(capped.data, 1e-300)
        dist, predecessor, _ = sp.sparse.csgraph.dijkstra(capped, indices=sources, min_only=True,
                                                          return_predecessors=True)
        return PathTree(hops, np.exp(-dist), predecessor)
    dist, predecessor = dist[0, :n], predecessor[0, :n]
    predecessor[predecessor == n] = -9999
    dist[sources] = 0.0
    return PathTree(hops, np.exp(-dist), predecessor)


@pytest.fixture(scope="module")
def registry_projection():
    """3,000 companies (4,830 entities, 14,525 hops) under the spread reading of joint punishment
    with split (tests/policies/spread-split.toml): 17 hops carry more than they receive
    (damping x W > 1), where one person holds several roles at a company."""
    policy = gs.load_policy(SPREAD_SPLIT)
    projection = gs.build_projection(gs.validate(generate_network(3000, seed=1)), policy, "2024-06-30")
    assert (policy.damping * projection.W.data > 1).sum() == 17
    return projection, policy


@pytest.mark.parametrize("case", ["one penalised", "every penalised", "person", "no gains"])
def test_local_search_is_scipys_johnson(registry_projection, case):
    """Bit for bit the whole-graph search's hops, strengths and predecessors: everywhere without
    targets, and with targets at each target and along its path."""
    projection, policy = registry_projection
    W, damping = projection.W, policy.damping
    penalised = np.flatnonzero(projection.s > 0)
    sources = {"one penalised": penalised[:1], "every penalised": penalised,
               "person": [projection.index_of(next(i for i in projection.ids if i.startswith("P")))],
               "no gains": penalised[:3]}[case]
    if case == "no gains":  # every hop at most what it receives: plain Dijkstra, no Johnson
        W = W.copy()
        W.data = np.minimum(W.data, 1 / damping)
    expected = scipy_strongest_paths(W, sources, damping=damping)
    whole = strongest_paths(W, sources, damping=damping)
    np.testing.assert_array_equal(whole.hops, expected.hops)
    np.testing.assert_array_equal(whole.strength, expected.strength)
    np.testing.assert_array_equal(whole.predecessor, expected.predecessor)
    if case == "every penalised":  # the strongest paths take gaining hops
        on_paths = np.flatnonzero(expected.predecessor >= 0)
        assert (damping * W[on_paths, expected.predecessor[on_paths]] > 1).sum() == 15
    reached = np.flatnonzero(expected.strength > 0)
    rng = np.random.default_rng(0)
    most = np.arange(W.shape[0])[rng.random(W.shape[0]) < 0.8]  # most entities: one unlimited search
    for targets in (reached[expected.strength[reached] > 1e-3], rng.choice(reached, min(20, reached.size), replace=False),
                    most):
        local = strongest_paths(W, sources, damping=damping, targets=targets)
        np.testing.assert_array_equal(local.hops[targets], expected.hops[targets])
        np.testing.assert_array_equal(local.strength[targets], expected.strength[targets])
        for v in targets:
            assert local.path_to(v) == expected.path_to(v)


def settled_in_order(W: sp.sparse.sparray, sources, *, damping: float) -> np.ndarray:
    """Predecessors of Dijkstra's search over the strongest paths' lengths, entities settled by
    least distance and, of equal distances, highest entity first: heapq on (distance, -entity)."""
    G = sp.sparse.csr_array(W.T, dtype=float)
    G.eliminate_zeros()
    lengths = -np.log(damping * G.data)
    lengths[lengths == 0] = 1e-300
    dist = np.full(G.shape[0], np.inf)
    predecessor = np.full(G.shape[0], -9999, dtype=np.int32)
    heap = [(0.0, -int(s)) for s in sorted(set(int(s) for s in sources))]
    dist[[-u for _, u in heap]] = 0.0
    heapq.heapify(heap)
    while heap:
        d, u = heapq.heappop(heap)
        u = -u
        if dist[u] < d:
            continue
        for q in range(G.indptr[u], G.indptr[u + 1]):
            v, value = int(G.indices[q]), d + lengths[q]
            if value < dist[v]:
                dist[v], predecessor[v] = value, u
                heapq.heappush(heap, (value, -v))
    return predecessor


def test_equally_strong_paths_end_as_scipys():
    """0 reaches 3 through 1 and through 2, equally strong: 2 is settled before 1 (of equal
    distances the higher entity first, as scipy does since 1.16), so 3's predecessor is 2."""
    W = sp.sparse.csr_array(([1.0, 1.0, 1.0, 1.0], ([1, 2, 3, 3], [0, 0, 1, 2])), shape=(4, 4))
    tree = strongest_paths(W, [0], damping=0.5)
    assert settled_in_order(W, [0], damping=0.5)[3] == tree.predecessor[3] == 2
    assert tree.path_to(3) == [0, 2, 3]


@pytest.mark.parametrize("seed", range(30))
def test_ties_are_settled_as_scipy_settles_them(seed):
    """Weights of a few values (many equally strong paths, entities at equal distances), stored
    zeros, hops that carry all they receive (length 0): hops and strengths are those of scipy's
    whole-graph searches bit for bit, and predecessors those of Dijkstra's search settling the
    least distance first, of equal ones the highest entity (a heapq transcription; scipy's own
    order since 1.16), from W by rows or by columns, with and without targets."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    links = int(rng.integers(0, 4 * n))
    W = sp.sparse.csr_array((rng.choice([1.0, 0.5, 0.25, 0.0], links),
                             (rng.integers(0, n, links), rng.integers(0, n, links))), shape=(n, n))
    W.data = np.minimum(W.data, 2.0)  # damping x W at most 1: no hop gains
    sources = np.unique(rng.integers(0, n, 1 + seed % 4))
    expected = scipy_strongest_paths(W, sources, damping=0.5)
    expected = PathTree(expected.hops, expected.strength, settled_in_order(W, sources, damping=0.5))
    for form in (W, sp.sparse.csc_array(W)):
        whole = strongest_paths(form, sources, damping=0.5)
        np.testing.assert_array_equal(whole.hops, expected.hops)
        np.testing.assert_array_equal(whole.strength, expected.strength)
        np.testing.assert_array_equal(whole.predecessor, expected.predecessor)
        targets = rng.choice(n, int(rng.integers(1, n + 1)), replace=False)
        local = strongest_paths(form, sources, damping=0.5, targets=targets)
        np.testing.assert_array_equal(local.hops[targets], expected.hops[targets])
        np.testing.assert_array_equal(local.strength[targets], expected.strength[targets])
        for v in targets:
            assert local.path_to(v) == expected.path_to(v)


def test_targets_among_most_entities_are_searched_for_once(registry_projection, monkeypatch):
    """Targets among most of the entities: each tree is one unlimited search (a limited one
    would cross about the whole register, then again with a larger limit), the same at every
    target as with fewer targets."""
    projection, policy = registry_projection
    sources = np.flatnonzero(projection.s > 0)[:3]
    most = np.arange(projection.n)[np.random.default_rng(1).random(projection.n) < 0.6]
    expected = strongest_paths(projection.W, sources, damping=policy.damping, targets=most[::50])
    limits = []
    dijkstra = sp.sparse.csgraph.dijkstra
    monkeypatch.setattr(sp.sparse.csgraph, "dijkstra", lambda *args, **kwargs: limits.append(kwargs["limit"])
                        or dijkstra(*args, **kwargs))
    tree = strongest_paths(projection.W, sources, damping=policy.damping, targets=most)
    assert limits and all(limit == np.inf for limit in limits) and len(limits) <= 2
    for v in most[::50]:
        assert tree.path_to(v) == expected.path_to(v) and tree.hops[v] == expected.hops[v]
        assert tree.strength[v] == expected.strength[v]


@pytest.mark.parametrize("seed", range(40))
def test_hop_distances_by_breadth_first_search_are_dijkstras(seed):
    """One source or several, entities no source reaches, cycles, parallel links: the same
    numbers as scipy's unweighted Dijkstra."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 50))
    links = int(rng.integers(0, 3 * n + 1))
    graph = sp.sparse.csr_array((rng.random(links) + 0.01, (rng.integers(0, n, links), rng.integers(0, n, links))),
                                shape=(n, n))
    sources = np.unique(rng.integers(0, n, 1 + seed % 3))
    expected = settle(graph, sources, None, unweighted=True)[0]
    assert np.array_equal(hop_distances(graph, sources), expected)
    everyone = np.arange(n)
    assert np.array_equal(hop_distances(graph, sources, everyone), expected)


def test_hop_distances_to_a_few_targets_are_a_limited_search(registry_projection, monkeypatch):
    """A few targets: the doubling-limited search (a whole-register search would cost what the
    register costs); many: one breadth-first search, no Dijkstra."""
    projection, _ = registry_projection
    graph = sp.sparse.csr_array(projection.W.T)
    sources = np.flatnonzero(projection.s > 0)[:2]
    full = settle(graph, sources, None, unweighted=True)[0]
    calls = []
    dijkstra = sp.sparse.csgraph.dijkstra
    monkeypatch.setattr(sp.sparse.csgraph, "dijkstra", lambda *args, **kwargs: calls.append(kwargs["limit"])
                        or dijkstra(*args, **kwargs))
    few = np.flatnonzero(np.isfinite(full))[:3]
    assert np.array_equal(hop_distances(graph, sources, few)[few], full[few])
    assert calls and all(limit < np.inf for limit in calls)
    calls.clear()
    assert np.array_equal(hop_distances(graph, sources, np.arange(projection.n)), full)
    assert not calls


def test_a_gaining_cycle_caps_gains_as_before():
    """0 -> 1 -> 0 gains (0.5 x 4 x 0.5 x 4 = 4): both searches fall back to capped lengths."""
    W = sp.sparse.csr_array(np.array([[0, 4.0, 0], [4.0, 0, 0], [0, 1.0, 0]]))
    expected = scipy_strongest_paths(W, [0], damping=0.5)
    tree = strongest_paths(W, [0], damping=0.5, targets=[2])
    assert tree.path_to(2) == expected.path_to(2) == [0, 1, 2]
    assert tree.strength[2] == expected.strength[2]


def test_distances_within_the_ellipse_are_scipys(registry_projection):
    """Bit for bit scipy's limited Dijkstra at every entity whose distance from the source plus
    distance to the target fits the cut-off (explain's search region), and no entity beyond it."""
    projection, policy = registry_projection
    lengths = sp.sparse.csr_array(projection.W.T, dtype=float)
    lengths.eliminate_zeros()
    lengths.data = np.maximum(-np.log(policy.damping * lengths.data), 1e-300)
    reached = 0
    for source, target in [(0, 7), (11, 4000), (2500, 30)]:
        to_target = sp.sparse.csgraph.dijkstra(sp.sparse.csr_array(lengths.T), indices=target)
        if not np.isfinite(to_target[source]):
            continue
        limit = to_target[source] + 9.0
        expected = sp.sparse.csgraph.dijkstra(lengths, indices=source, limit=limit)
        entities, distances = distances_within(lengths, source, limit=limit, to_target=to_target,
                                               cutoff=limit * (1 + 1e-6))
        actual = np.full(lengths.shape[0], np.inf)
        actual[entities] = distances
        inside = expected + to_target <= limit
        np.testing.assert_array_equal(actual[inside], expected[inside])
        assert (actual[~inside] + to_target[~inside] > limit).all()
        reached += inside.sum()
    assert reached > 20


def test_describe_paths_names_each_hops_strongest_link(registry_projection):
    """Each hop names the strongest of the edges joining its pair among *all* the projection's
    edges (found from the whole links table, as the projection once kept them), though a
    description looks up only the links of the entities on its paths."""
    projection, policy = registry_projection
    tree = strongest_paths(projection.W, np.flatnonzero(projection.s > 0), damping=policy.damping)
    paths = [tree.path_to(v) for v in range(0, projection.n, 7)]
    described = describe_paths(projection, paths)
    whole = projection.edges_touching()
    whole = whole.assign(links=whole.groupby(["u", "v"])["u"].transform("size"))
    strongest = whole.sort_values("weight", ascending=False, kind="stable").drop_duplicates(["u", "v"]).set_index(["u", "v"])
    hops = 0
    for path, hops_of_path in zip(paths, described):
        assert len(hops_of_path) == max(len(path) - 1, 0)
        for (u, v), hop in zip(zip(path, path[1:]), hops_of_path):
            best = strongest.loc[(u, v)]
            assert (hop["from"], hop["to"], hop["type"], hop["direction"], hop["links"]) == (
                projection.ids[u], projection.ids[v], best["type"], best["direction"], int(best["links"]))
            assert hop["weight"] == float(best["weight"]) and type(hop["weight"]) is float
            assert hop["pair_weight"] == float(best["pair_weight"]) == projection.W[v, u]
            assert hop["share"] == (None if pd.isna(best["share"]) else float(best["share"]))
            hops += 1
    assert hops > 1000 and (strongest["links"] > 1).any()


@pytest.mark.parametrize("seed, max_hops", [(0, 1), (1, 2), (2, 3), (3, 4)])
def test_hop_limited_walks_make_the_hop_max_score(seed, max_hops):
    """Issue 9.2: the strongest walks into a target of at most max_hops links, weighted by each
    source's s, give exactly the hop model's max score; each walk spelled out has that strength
    and at most max_hops links."""
    from graphscore.engine.hop import hop
    from graphscore.engine.paths import strongest_walks_to

    rng = np.random.default_rng(seed)
    W = sp.sparse.csr_array(sp.sparse.random_array((9, 9), density=0.3, random_state=rng).toarray() * 1.4)
    s = rng.random(9) * (rng.random(9) < 0.5)
    x = hop(W, s, damping=0.8, max_hops=max_hops, aggregate="max")
    for target in range(9):
        walks = strongest_walks_to(W, target, damping=0.8, max_hops=max_hops)
        assert (walks.strength * s).max() == pytest.approx(x[target], rel=1e-12, abs=1e-300)
        for u in np.flatnonzero(walks.strength > 0):
            walk = walks.walk_from(int(u))
            assert walk[0] == u and walk[-1] == target and len(walk) - 1 <= max_hops
            strength = np.prod([0.8 * W[b, a] for a, b in zip(walk, walk[1:])])
            assert strength == pytest.approx(walks.strength[u], rel=1e-12)


def test_no_target_settles_the_sources_alone():
    # a what-if that changes nothing asks for no path: the search must not cross the register
    W = sp.sparse.csr_array([[0, 0, 0], [0.5, 0, 0], [0.1, 1.0, 0]])
    tree = strongest_paths(W, [0], damping=0.8, targets=[])
    assert tree.hops.tolist() == [0.0, np.inf, np.inf] and tree.predecessor.tolist() == [-9999] * 3
    assert strongest_paths(W, [0], damping=0.8, targets=[2]).path_to(2) == [0, 1, 2]


@pytest.mark.parametrize("seed", range(3))
def test_no_target_gives_the_tree_the_searches_gave_without_searching(seed, monkeypatch):
    """With no target the tree is the one the searches limited to nothing left, array for
    array (dtypes included), found without a search (settle is not called)."""
    import graphscore.engine.paths as paths

    rng = np.random.default_rng(seed)
    W = sp.sparse.csr_array(sp.sparse.random_array((30, 30), density=0.15, random_state=rng).toarray())
    sources, none = np.array([0, 5, 17]), np.array([], dtype=int)
    G = sp.sparse.csr_array(W.T, dtype=float)
    G.eliminate_zeros()
    hops, _ = settle(G, sources, none, unweighted=True)
    lengths = G.copy()
    lengths.data = -np.log(0.6 * lengths.data)
    dist, predecessor = settle(lengths, sources, none)
    monkeypatch.setattr(paths, "settle", lambda *args, **kwargs: pytest.fail("searched"))
    tree = strongest_paths(W, sources, damping=0.6, targets=none)
    for got, expected in ((tree.hops, hops), (tree.strength, np.exp(-dist)), (tree.predecessor, predecessor)):
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == expected.dtype


def test_paths_without_a_hop_look_no_link_up(registry_projection, monkeypatch):
    projection, _ = registry_projection
    monkeypatch.setattr(type(projection), "strongest_edges", lambda *args: pytest.fail("looked up"))
    assert describe_paths(projection, [[3], [], [7]]) == [[], [], []] and describe_paths(projection, []) == []


def test_last_hop_types_read_from_every_pair_are_those_of_the_pairs_asked(monkeypatch):
    # many entities asked: the types of every pair of W, found once, instead of the strongest
    # edges of the pairs asked; the answer must not depend on which
    from graphscore.engine import paths

    tables = gs.validate(generate_network(400, seed=3, as_of="2024-06-30"))
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    projection = gs.build_projection(tables, policy, "2024-06-30")
    seeds = np.flatnonzero(projection.s > 0)[:5]
    tree = strongest_paths(projection.W, seeds, damping=policy.path_damping)
    everyone = np.arange(projection.n)
    monkeypatch.setattr(paths, "_ALL_PAIRS_SHARE", 2.0)  # the pairs asked, always
    asked = paths.last_hop_types(projection, tree, everyone)
    assert paths.PAIR_TYPES not in projection.derived
    monkeypatch.setattr(paths, "_ALL_PAIRS_SHARE", 0.0)  # every pair, always
    read = paths.last_hop_types(projection, tree, everyone)
    assert paths.PAIR_TYPES in projection.derived
    assert read.tolist() == asked.tolist() and {t for t in read if t} >= {"OWNS", "OFFICER_OF"}
    assert read[seeds].tolist() == [None] * seeds.size and (read == None).sum() < projection.n // 2  # noqa: E711


def _pair_types_from_the_edge_table(projection):
    """The type of every pair of W as pair_types found it before: the strongest edges of all
    pairs looked up in the projection's table of edges (Projection.strongest_edges)."""
    W = projection.W
    types = projection.strongest_edges(W.indices.astype(np.int64), np.repeat(np.arange(W.shape[0]), np.diff(W.indptr)))
    names, codes = np.unique(types["type"][types["found"]].astype(str), return_inverse=True)
    code = np.full(W.nnz, -1, dtype=np.int16)
    code[types["found"]] = codes
    return code.tolist(), tuple(names.tolist())


# diffusion with each penalty travelling over the links of its start date: layers of links
AT_PENALTY = "diffusion at_penalty"


@pytest.mark.parametrize("policy_name", [*sorted(path.name for path in POLICIES.glob("*.toml")), AT_PENALTY])
def test_pair_types_from_the_edges_as_arrays_are_the_edge_tables(policy_name):
    """pair_types reads the strongest edge of each pair from the edges as arrays, never as a
    table (which held gigabytes on a large register): the same type for every pair, under
    every shipped policy, and over the union of layers' links a change's paths may run on."""
    from graphscore.analysis.spillover import _path_projection
    from graphscore.analysis.whatif import Change
    from graphscore.engine import paths

    tables = gs.validate(generate_network(600, seed=3, as_of="2024-06-30"))
    if policy_name == AT_PENALTY:
        text = (POLICIES / "diffusion.toml").read_text(encoding="utf-8")
        policy = gs.parse_policy(text.replace("[[transmit]]", 'link_time = "at_penalty"\n[[transmit]]', 1))
    else:
        policy = gs.load_policy(POLICIES / policy_name)
    projection = gs.build_projection(tables, policy, "2024-06-30")
    assert projection.W.nnz > 100
    code, names = paths.pair_types(projection)
    assert (code.tolist(), names) == _pair_types_from_the_edge_table(projection)
    if policy_name == AT_PENALTY:  # a change of one penalty of each layer runs on all their links
        assert len(projection.layers) > 2
        change = Change("x", (), np.zeros(0), pd.concat([layer.penalties.head(1) for layer in projection.layers]))
        union = _path_projection(projection, change)
        assert len(union.source.dates) == len(projection.layers)
        code, names = paths.pair_types(union)
        assert (code.tolist(), names) == _pair_types_from_the_edge_table(union)


def test_a_relation_found_at_two_dates_counts_as_the_first_date_has_it():
    """Over a union of layers' links, an edge of a relation found at two dates is the first
    date's, as the edge table keeps it: A's 30 % of B, raised to 70 % in 2022, and A an officer
    of B (0.5). Between 2021 and 2023 the strongest link from B to A is the office, and stays so
    over the union, though the stake at the later date is stronger."""
    from graphscore.analysis.spillover import _path_projection
    from graphscore.analysis.whatif import Change
    from graphscore.engine import paths

    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["A", "B"], "kind": "company", "name": ["A", "B"]}),
        pd.DataFrame({"source": ["A", "A", "A"], "target": ["B", "B", "B"], "type": ["OWNS", "OWNS", "OFFICER_OF"],
                      "role": [None, None, "director"], "share": [0.3, 0.7, None],
                      "start": ["2020-01-01", "2022-01-01", "2020-01-01"], "end": ["2022-01-01", None, None]}),
        pd.DataFrame({"id": ["P1", "P2"], "entity": ["B", "B"], "kind": "fine", "severity": 1.0,
                      "start": ["2021-01-01", "2023-01-01"]})))
    policy = gs.parse_policy('name = "x"\ndamping = 0.5\nlink_time = "at_penalty"\n'
                             '[[transmit]]\nlink = "OWNS"\ndirection = "backward"\nweight = "share"\n'
                             '[[transmit]]\nlink = "OFFICER_OF"\ndirection = "backward"\nweight = 0.5\n')
    projection = gs.build_projection(tables, policy, "2024-06-30")
    union = _path_projection(projection, Change("x", (), np.zeros(0), projection.penalties))
    assert len(union.source.dates) == 2
    code, names = paths.pair_types(union)
    assert (code.tolist(), names) == _pair_types_from_the_edge_table(union) == ([0], ("OFFICER_OF",))


def test_distances_from_are_scipys_dijkstra_bit_for_bit():
    """Within a limit, at the entities it was told to settle before stopping, and as far beyond
    them as it was told to go on."""
    rng = np.random.default_rng(11)
    for n, density in ((30, 0.1), (500, 0.005), (2000, 0.002)):
        lengths = sp.sparse.random_array((n, n), density=density, format="csr", rng=rng)
        lengths.data = np.round(lengths.data * 8) / 4  # ties and exact boundaries as well
        for start in rng.choice(n, size=3, replace=False):
            for limit in (0.0, 0.5, 1.75, np.inf):
                expected = sp.sparse.csgraph.dijkstra(lengths, indices=int(start), limit=limit)
                np.testing.assert_array_equal(distances_from(lengths, int(start), limit=limit), expected)
            whole = sp.sparse.csgraph.dijkstra(lengths, indices=int(start))
            wanted = rng.choice(n, size=4, replace=False)
            np.testing.assert_array_equal(distances_from(lengths, int(start), until=wanted)[wanted], whole[wanted])
            # on to (the farthest wanted + 0.3) x 1.1: exact there, inf beyond
            bound = (whole[wanted].max() + 0.3) * 1.1
            expected = np.where(whole <= bound, whole, np.inf)
            np.testing.assert_array_equal(distances_from(lengths, int(start), until=wanted, beyond=(0.3, 1.1)), expected)
            # stopped at `most` settled: exact where settled, and every entity nearer than the
            # farthest returned settled
            for most in (1, 5, n // 3):
                bounded = distances_from(lengths, int(start), most=most)
                settled = np.isfinite(bounded)
                assert settled.sum() == min(most, np.isfinite(whole).sum())
                np.testing.assert_array_equal(bounded[settled], whole[settled])
                assert settled[whole < bounded[settled].max()].all()


def test_searches_reading_weights_work_out_the_hop_lengths_as_made_beforehand():
    """Given ``damping``, the searches read weights and take ``hop_lengths`` of each: the same
    distances, bit for bit, as the searches over the lengths made beforehand."""
    from graphscore.engine.paths import hop_lengths

    rng = np.random.default_rng(5)
    for n, density in ((40, 0.1), (600, 0.005)):
        weights = sp.sparse.random_array((n, n), density=density, format="csr", rng=rng)
        weights.data[::7] = 1 / 0.6  # a hop carrying all it receives: length 1e-300
        lengths = weights.copy()
        lengths.data = hop_lengths(weights.data, 0.6)
        for start in rng.choice(n, size=3, replace=False):
            np.testing.assert_array_equal(distances_from(weights, int(start), damping=0.6),
                                          distances_from(lengths, int(start)))
            near = dict(limit=2.0, to_target=np.zeros(n), cutoff=np.inf)
            for got, expected in zip(distances_within(weights, int(start), damping=0.6, **near),
                                     distances_within(lengths, int(start), **near)):
                np.testing.assert_array_equal(got, expected)
