"""Shortest connections agree with networkx's all_shortest_paths on random graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from graphscore.engine.connections import hop_distances, shortest_connections, undirected_adjacency


@pytest.mark.parametrize("seed", range(6))
def test_every_shortest_chain_and_only_those(seed):
    rng = np.random.default_rng(seed)
    n, m = 60, 90
    source, target = rng.integers(0, n, m), rng.integers(0, n, m)
    adjacency = undirected_adjacency(source, target, n)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((int(a), int(b)) for a, b in zip(source, target) if a != b)
    lengths = nx.single_source_shortest_path_length(graph, 0)
    assert hop_distances(adjacency, 0, n).tolist() == [lengths.get(v, -1) for v in range(n)]
    for end in range(1, n):
        found = shortest_connections(adjacency, 0, end, max_hops=n, limit=10_000)
        expected = sorted(nx.all_shortest_paths(graph, 0, end)) if end in lengths else []
        assert found == expected  # same chains, in index order


def test_limit_and_bound():
    # a ladder: 0 joins 5 through 2**3 shortest chains of 3 links... cut at 3 and at 2 links
    source = np.array([0, 0, 1, 1, 2, 2, 3, 4])
    target = np.array([1, 2, 3, 4, 3, 4, 5, 5])
    adjacency = undirected_adjacency(source, target, 6)
    assert len(shortest_connections(adjacency, 0, 5)) == 4
    assert shortest_connections(adjacency, 0, 5, limit=3) == [[0, 1, 3, 5], [0, 1, 4, 5], [0, 2, 3, 5]]
    assert shortest_connections(adjacency, 0, 5, max_hops=2) == []
    assert shortest_connections(adjacency, 3, 3) == [[3]]
