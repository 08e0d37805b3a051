"""Yen's shortest simple paths against networkx's, whose steps they follow: the same paths in
the same order, bit for bit, on graphs where many paths tie."""

import itertools

import networkx as nx
import numpy as np
import pytest

from graphscore.engine.yen import DiGraph, NoPath, shortest_simple_paths


def _random_edges(seed: int, nodes: int, edges: int, lengths: list[float]) -> list[tuple[int, int, float]]:
    rng = np.random.default_rng(seed)
    # repeated pairs and self-loops included: the later length counts, the first place stays
    return [(int(u), int(v), float(rng.choice(lengths))) for u, v in rng.integers(0, nodes, size=(edges, 2))]


@pytest.mark.parametrize("seed", range(40))
def test_the_paths_of_networkx_in_its_order(seed):
    # few distinct lengths: many paths of equal length, so every tie-break shows
    edges = _random_edges(seed, nodes=12 + seed % 20, edges=40 + 3 * seed,
                          lengths=[1.0, 2.0, 0.5, 1e-300] if seed % 2 else [0.1, 0.2, 0.30000000000000004, 0.7])
    reference = nx.DiGraph()
    for u, v, length in edges:
        reference.add_edge(u, v, length=length)
    graph = DiGraph(edges)
    source, target = edges[0][0], edges[-1][1]
    try:
        expected = list(itertools.islice(nx.shortest_simple_paths(reference, source, target, weight="length"), 25))
    except nx.NetworkXNoPath:
        with pytest.raises(NoPath):
            next(shortest_simple_paths(graph, source, target))
        return
    assert list(itertools.islice(shortest_simple_paths(graph, source, target), 25)) == expected


def test_a_path_of_one_node_and_an_unknown_node():
    graph = DiGraph([(0, 1, 1.0)])
    assert list(shortest_simple_paths(graph, 0, 0)) == [[0]]
    with pytest.raises(KeyError, match="node 7 not in the graph"):
        next(shortest_simple_paths(graph, 0, 7))


def test_no_path():
    with pytest.raises(NoPath, match="no path between 1 and 0"):
        next(shortest_simple_paths(DiGraph([(0, 1, 1.0)]), 1, 0))
