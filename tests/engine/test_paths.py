"""Strongest paths against brute force over all simple paths (networkx)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy as sp

from graphscore.engine.paths import strongest_paths


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
