"""The ownership rules against hand-worked cases (closed forms, OFAC's and the EU's own examples),
a dense solve, brute-force chain enumeration, slow per-entity loops transcribed from the rules,
and the synthetic register at scale."""

from __future__ import annotations

import itertools
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy as sp

import graphscore as gs
from graphscore.engine import ownership
from graphscore.engine.ownership import (eu_frozen, integrated_ownership, ofac_blocked,
                                         listed_stakes, ownership_chains, ultimate_owners)
from graphscore.timeline import active_links
from graphscore.synthetic import generate_network


def shares(n: int, *stakes: tuple[int, int, float]) -> sp.sparse.csr_array:
    """D from (owner, asset, share) triples."""
    owner, asset, share = zip(*stakes) if stakes else ((), (), ())
    return sp.sparse.csr_array((np.array(share, dtype=float), (owner, asset)), shape=(n, n))


def mask(n: int, *members: int) -> np.ndarray:
    chosen = np.zeros(n, dtype=bool)
    chosen[list(members)] = True
    return chosen


def random_D(n: int, seed: int, density: float = 0.1, most: float = 0.95) -> sp.sparse.csr_array:
    """Random stakes, cycles included, each asset's column summing to at most ``most``."""
    rng = np.random.default_rng(seed)
    D = sp.sparse.random_array((n, n), density=density, random_state=rng, format="csc")
    totals = D.sum(axis=0)
    scale = np.where(totals > 0, most * rng.random(n) / np.maximum(totals, 1e-300), 0.0)
    return sp.sparse.csr_array(D @ sp.sparse.diags_array(scale))


# --- integrated ownership ----------------------------------------------------------------------

P, A, B, C = 0, 1, 2, 3


@pytest.mark.parametrize("solver", ["full", "columns"])
def test_two_company_cycle_closed_form(solver):
    """P owns p of A, A owns a of B, B owns b of A. Chains P -> A: P A, P A B A, P A B A B A, ...
    with products p (ab)^k, summing to p / (1 - ab); every chain P -> B is one of those followed
    by A -> B, so P's stake in B is p a / (1 - ab). With p = 0.3, a = 0.6, b = 0.4: ab = 0.24,
    T[P, A] = 0.3 / 0.76, T[P, B] = 0.18 / 0.76. P is on no cycle, so the correction of Vitali et
    al. leaves its stakes alone; A is on one, and is credited no walk that comes back through A:
    its stake in B is the direct a = 0.6 (not a / (1 - ab) = 0.789), in itself the one round
    A B A, ab = 0.24 (not ab / (1 - ab))."""
    p, a, b = 0.3, 0.6, 0.4
    D = shares(3, (P, A, p), (A, B, a), (B, A, b))
    T = integrated_ownership(D).toarray() if solver == "full" else integrated_ownership(D, assets=[A, B])[:, [0, 0, 1]]
    assert T[P, A] == pytest.approx(p / (1 - a * b), rel=1e-14)
    assert T[P, B] == pytest.approx(p * a / (1 - a * b), rel=1e-14)
    assert T[A, A] == pytest.approx(a * b, rel=1e-14)
    assert T[A, B] == pytest.approx(a, rel=1e-14)
    assert T[B, A] == pytest.approx(b, rel=1e-14)


def test_chain_multiplies_shares():
    """P -60%-> A -50%-> B: the one chain P -> B carries 0.6 x 0.5 = 0.3."""
    D = shares(3, (P, A, 0.6), (A, B, 0.5))
    assert integrated_ownership(D, assets=[B])[P, 0] == pytest.approx(0.3, rel=1e-15)
    assert integrated_ownership(D)[P, B] == pytest.approx(0.3, rel=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_dense_solve(seed):
    D = random_D(80, seed)
    S = np.linalg.inv(np.eye(80) - D.toarray())
    expected = (D.toarray() @ S) / np.diag(S)[:, None]
    np.testing.assert_allclose(integrated_ownership(D).toarray(), expected, rtol=1e-10, atol=1e-15)
    assets = np.array([3, 17, 42, 79])
    np.testing.assert_allclose(integrated_ownership(D, assets=assets), expected[:, assets], rtol=1e-10, atol=1e-15)


def test_wholly_owned_subsidiaries_do_not_trip_the_convergence_check():
    """P and B own half of A each, and A owns all of B: both columns sum to 1, so the cheap
    bound fails, but the cycle A <-> B multiplies to 0.5 x 1 < 1. P's stake in A:
    0.5 (1 + 0.5 + 0.25 + ...) = 1; in B, 1 x 1 = 1."""
    D = shares(3, (P, A, 0.5), (B, A, 0.5), (A, B, 1.0))
    T = integrated_ownership(D)
    assert T[P, A] == pytest.approx(1.0) and T[P, B] == pytest.approx(1.0)


@pytest.mark.parametrize("assets", [None, [B]])
def test_a_cycle_of_whole_stakes_diverges(assets):
    """A owns all of B and B all of A: the chain P -> A -> B -> A -> ... never weakens."""
    D = shares(3, (P, A, 0.5), (A, B, 1.0), (B, A, 1.0))
    with pytest.raises(gs.ConvergenceError,
                       match=r"integrated ownership diverges: the ownership cycle through entities \[1, 2\] "
                             r"has spectral radius 1 >= 1"):
        integrated_ownership(D, assets=assets)


def test_a_divergent_cycle_elsewhere_does_not_stop_a_column_solve():
    """Only the ancestors of the asset enter the solve: C has one owner, P, and no cycle."""
    D = shares(4, (A, B, 1.0), (B, A, 1.0), (P, C, 0.7))
    assert integrated_ownership(D, assets=[C])[:, 0].tolist() == [0.7, 0.0, 0.0, 0.0]


def test_cross_holdings_never_pass_100_percent():
    """A and B own 90 % of each other, P the other 10 % of A. D (I - D)^-1 alone gives
    T[A, B] = 0.9 / (1 - 0.81) = 4.74 (474 %), counting every round of the cycle; corrected, A
    holds its direct 90 % of B (every longer walk A -> B comes back through A) and 81 % of
    itself (A B A once); P, on no cycle, keeps 0.1 / 0.19 = 52.6 % of A and 0.09 / 0.19 =
    47.4 % of B: together with A's 90 % and B's 81 %... each column's stakes are each at most 1."""
    D = shares(3, (P, A, 0.1), (A, B, 0.9), (B, A, 0.9))
    T = integrated_ownership(D).toarray()
    assert T[A, B] == pytest.approx(0.9) and T[B, A] == pytest.approx(0.9)
    assert T[A, A] == pytest.approx(0.81) and T[B, B] == pytest.approx(0.81)
    assert T[P, A] == pytest.approx(0.1 / 0.19) and T[P, B] == pytest.approx(0.09 / 0.19)
    assert T.max() <= 1
    np.testing.assert_allclose(integrated_ownership(D, assets=[A, B]), T[:, [A, B]], rtol=1e-12)


def walks_not_returning(D: np.ndarray, owner: int, asset: int, longest: int) -> float:
    """Brute force: the products of the stakes along every walk owner -> ... -> asset of at most
    ``longest`` links that never comes back to ``owner``, summed."""
    total, frontier = 0.0, {owner: 1.0}
    for _ in range(longest):
        step: dict[int, float] = {}
        for node, weight in frontier.items():
            for nxt in np.flatnonzero(D[node]):
                if nxt == owner and nxt != asset:
                    continue
                step[nxt] = step.get(nxt, 0.0) + weight * D[node, nxt]
        total += step.get(asset, 0.0)
        step.pop(owner, None)  # a walk that reached the owner again ends there
        frontier = step
    return total


@pytest.mark.parametrize("seed", [20, 21])
def test_correction_counts_exactly_the_walks_that_do_not_return(seed):
    """Against brute-force walk enumeration on a random register with cycles: T[o, a] is the
    sum over walks o -> a that never pass through o again, and no stake exceeds 1."""
    D = random_D(12, seed, density=0.3, most=0.9)
    T = integrated_ownership(D).toarray()
    Dd = D.toarray()
    for owner, asset in [(o, a) for o in range(12) for a in range(12) if o != a][::7]:
        assert T[owner, asset] == pytest.approx(walks_not_returning(Dd, owner, asset, 200), abs=1e-12)
    assert T.max() <= 1 + 1e-12


def test_mutual_holdings_without_a_recorded_share_do_not_diverge():
    """A and B hold each other with no recorded share, read at their upper bound of 100 %: the
    series D (I - D)^-1 has no sum, but each owner's stake does. A's stake in B: the one walk
    A -> B, 100 %; X, listed, owns nothing there, so the group stake is 0. With X holding 20 %
    of A beside B's (then at most 80 %): of what A holds, 20 % goes to X and 80 % to B, which
    A owns wholly, so it comes back to A and is split again; in the end all of it reaches X:
    y_A = 0.2 + 0.8 y_B, y_B = y_A, so X's stake in A and in B is 100 %. B's stake in A is its
    direct 80 % (every longer walk B -> A comes back through B)."""
    X = 3
    D = shares(4, (A, B, 1.0), (B, A, 1.0))
    assert ultimate_owners(D, B) == [(A, 1.0)]
    assert not listed_stakes(D, mask(4, X)).any()
    D = shares(4, (A, B, 1.0), (B, A, 0.8), (X, A, 0.2))
    np.testing.assert_allclose(listed_stakes(D, mask(4, X)), [0, 1.0, 1.0, 0], atol=1e-12)
    assert ultimate_owners(D, A) == [(X, pytest.approx(1.0)), (B, pytest.approx(0.8))]


def test_columns_agree_with_the_full_matrix_and_ownerless_assets_give_zeros():
    D = random_D(60, 4, density=0.05)
    T = integrated_ownership(D)
    ownerless = int(np.flatnonzero(D.sum(axis=0) == 0)[0])
    assets = np.array([ownerless, 5, 30])
    np.testing.assert_allclose(integrated_ownership(D, assets=assets), T[:, assets].toarray(), rtol=1e-10, atol=1e-15)
    assert not integrated_ownership(D, assets=[ownerless]).any()
    assert integrated_ownership(D, assets=[]).shape == (60, 0)


def test_relabelling_permutes_the_output():
    D = random_D(40, 5)
    order = np.random.default_rng(6).permutation(40)
    np.testing.assert_allclose(integrated_ownership(D[order][:, order]).toarray(),
                               integrated_ownership(D).toarray()[np.ix_(order, order)], rtol=1e-10, atol=1e-15)


def test_integrated_ownership_checks_its_inputs(monkeypatch):
    with pytest.raises(ValueError, match=r"D must be a square \(n, n\) matrix of shares, got shape \(2, 3\)"):
        integrated_ownership(sp.sparse.csr_array(np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"D must hold shares in \[0, 1\]; D\[0, 1\] = 1\.5"):
        integrated_ownership(shares(2, (0, 1, 1.5)))
    with pytest.raises(ValueError, match=r"D must hold shares in \[0, 1\]; D\[1, 0\] = nan"):
        integrated_ownership(shares(2, (1, 0, np.nan)))
    with pytest.raises(ValueError, match=r"D must hold shares in \[0, 1\]; D\[1, 0\] = -0\.2"):
        integrated_ownership(shares(2, (1, 0, -0.2)))
    with pytest.raises(ValueError, match=r"assets must be entity indices in \[0, 2\), got \[2\]"):
        integrated_ownership(shares(2), assets=[2])
    with pytest.raises(ValueError, match=r"assets must be entity indices in \[0, 2\), got \[True, False\]"):
        integrated_ownership(shares(2), assets=np.array([True, False]))
    monkeypatch.setattr(ownership, "_MAX_SQUARINGS", 2)
    with pytest.raises(gs.ConvergenceError, match="integrated ownership did not converge in 4 terms"):
        integrated_ownership(shares(2, (0, 1, 0.9), (1, 0, 0.9)))


@pytest.fixture(scope="module")
def register_D() -> sp.sparse.csr_array:
    """D of the synthetic register (20 000 companies, seed 0): OWNS links in force at 2024-06-30,
    one record per relation. The 3 % without a share are left out: what a missing share means
    is the policy's call, and this test is about the solver."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(20_000, seed=0))
    index = pd.Index(tables.entities["id"])
    links = active_links(tables.links, pd.Timestamp("2024-06-30"))
    owns = links[(links["type"] == "OWNS") & links["share"].notna()]
    n = len(index)
    D = sp.sparse.csr_array((owns["share"].to_numpy(float),
                             (index.get_indexer(owns["source"]), index.get_indexer(owns["target"]))), shape=(n, n))
    D.sum_duplicates()
    return D


def test_scale_on_the_synthetic_register(register_D):
    """50 assets spread over the owned companies. Integrated stakes are never negative, and an
    owner on no ownership cycle never holds more than 100 % (its stake is the chance that a walk
    up the ownership tree passes it: every column of this D sums to at most 1); owners on a
    cycle can, and the register has a few two-company cross-holdings."""
    D = register_D
    n = D.shape[0]
    assert n > 30_000 and D.sum(axis=0).max() <= 1 + 1e-9
    owned = np.flatnonzero(D.sum(axis=0) > 0)
    assets = owned[:: owned.size // 50][:50]
    T = integrated_ownership(D, assets=assets)
    assert T.shape == (n, 50)
    assert T.min() >= 0
    _, label = sp.sparse.csgraph.connected_components(D, directed=True, connection="strong")
    on_cycle = np.bincount(label)[label] > 1
    assert T[~on_cycle].max() <= 1 + 1e-9
    np.testing.assert_allclose(T, integrated_ownership(D)[:, assets].toarray(), rtol=1e-9, atol=1e-14)


# --- ultimate owners and chains ----------------------------------------------------------------


@pytest.fixture
def diamond() -> sp.sparse.csr_array:
    """P owns 50 % of A and of B; A and B each own 50 % of C."""
    return shares(4, (P, A, 0.5), (P, B, 0.5), (A, C, 0.5), (B, C, 0.5))


def test_diamond_ultimate_owners(diamond):
    """P's stake in C: 0.5 x 0.5 through A plus 0.5 x 0.5 through B = 0.5; A and B hold 0.5
    directly. All three tie, so they come in index order; only P is a natural person."""
    assert ultimate_owners(diamond, C) == [(P, 0.5), (A, 0.5), (B, 0.5)]
    assert ultimate_owners(diamond, C, owners_mask=mask(4, P)) == [(P, 0.5)]
    assert ultimate_owners(diamond, C, threshold=0.6) == []
    assert ultimate_owners(diamond, A) == [(P, 0.5)]


def test_ultimate_owners_leave_out_the_asset_and_order_by_stake():
    """A owns 60 % of B and B 40 % of A, so A holds 0.24 / 0.76 of itself: never listed.
    P owns 30 % of A: 0.3 / 0.76 = 0.395 in A; Q owns 20 %: 0.263."""
    Q = 3
    D = shares(4, (P, A, 0.3), (Q, A, 0.2), (A, B, 0.6), (B, A, 0.4))
    assert [o for o, _ in ultimate_owners(D, A)] == [B, P, Q]  # B: 0.4 / 0.76 = 0.526
    assert ultimate_owners(D, A)[1][1] == pytest.approx(0.3 / 0.76)


def test_diamond_chains(diamond):
    """The two chains P A C and P B C carry 0.25 each and sum to P's integrated stake 0.5."""
    chains = ownership_chains(diamond, P, C)
    assert sorted(chains) == [([P, A, C], 0.25), ([P, B, C], 0.25)]
    assert len(ownership_chains(diamond, P, C, top=1)) == 1
    assert ownership_chains(diamond, P, C, max_length=1) == []
    assert ownership_chains(diamond, C, P) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chain_owners_answer_on_their_block_as_on_all_of_D(seed):
    """chain_owners finds the entities the whole-matrix search finds, and the stakes, ultimate
    owners and chains of an asset computed on the block of them and the asset are those computed
    on all of D, bit for bit (a sparse random D with cycles, stored zeros included)."""
    D = random_D(60, seed, density=0.04)
    D = sp.sparse.csr_array((np.where(np.arange(D.nnz) % 7 == 0, 0.0, D.data), D.indices, D.indptr), shape=D.shape)
    columns = sp.sparse.csc_array(D)
    checked = 0
    for asset in range(60):
        owners = ownership.chain_owners(columns, [asset])
        np.testing.assert_array_equal(owners, np.flatnonzero(ownership._ancestors(ownership._shares(D), np.array([asset]))))
        block = np.union1d(owners, [asset])
        at = int(np.searchsorted(block, asset))
        sub = D[block][:, block]
        np.testing.assert_array_equal(ownership.owner_stakes(sub, at), ownership.owner_stakes(D, asset)[block])
        assert [(int(block[o]), s) for o, s in ultimate_owners(sub, at, threshold=0.01)] == \
            ultimate_owners(D, asset, threshold=0.01)
        for o in owners[owners != asset]:
            assert [([int(block[k]) for k in chain], product) for chain, product in
                    ownership_chains(sub, int(np.searchsorted(block, o)), at)] == ownership_chains(D, int(o), asset)
            checked += 1
    assert checked > 50
    with pytest.raises(ValueError, match="csc_array"):
        ownership.chain_owners(D, [0])
    with pytest.raises(ValueError, match="entity indices"):
        ownership.chain_owners(columns, [60])


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_chains_are_the_strongest_simple_paths(seed):
    """Against brute force: every simple path from owner to asset, by product of shares."""
    D = random_D(14, seed, density=0.3)
    graph = nx.DiGraph([(int(o), int(a)) for o, a in zip(*D.nonzero())])
    owner, asset = 0, 13
    assert nx.has_path(graph, owner, asset)
    products = sorted((np.prod([D[u, v] for u, v in itertools.pairwise(path)])
                       for path in nx.all_simple_paths(graph, owner, asset)), reverse=True)
    found = ownership_chains(D, owner, asset, top=5, max_length=13)
    np.testing.assert_allclose([product for _, product in found], products[:5], rtol=1e-12)
    for path, product in found:
        assert path[0] == owner and path[-1] == asset
        assert product == pytest.approx(np.prod([D[u, v] for u, v in itertools.pairwise(path)]))
    assert sum(product for _, product in found) <= integrated_ownership(D, assets=[asset])[owner, 0] + 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_chains_are_those_networkx_finds_in_its_order(seed):
    """The chains, found by graphscore.engine.yen, are those networkx's shortest_simple_paths
    gives on the graph of the links on a short walk from owner to asset (as ownership_chains
    searched before it left networkx), in the same order, bit for bit, where stakes tie often."""
    rng = np.random.default_rng(seed)
    n = 30
    pairs = {(int(o), int(a)) for o, a in rng.integers(0, n, size=(120, 2)) if o != a}
    owners = np.bincount([a for _, a in pairs], minlength=n)  # an asset's owners share it: shares of 1/k tie
    D = shares(n, *[(o, a, 1.0 / owners[a]) for o, a in sorted(pairs)])
    checked = 0
    for owner, asset in itertools.permutations(range(8), 2):
        for max_length in (3, 10):
            found = ownership_chains(D, owner, asset, top=4, max_length=max_length)
            G = D.astype(bool).astype(float)
            near = (sp.sparse.csgraph.dijkstra(G, indices=owner, unweighted=True, limit=max_length)
                    + sp.sparse.csgraph.dijkstra(G.T, indices=asset, unweighted=True, limit=max_length)) <= max_length
            on_a_walk = np.flatnonzero(near)
            sub = D[on_a_walk][:, on_a_walk].tocoo()
            graph = nx.DiGraph()
            graph.add_weighted_edges_from(zip(on_a_walk[sub.row].tolist(), on_a_walk[sub.col].tolist(),
                                              np.maximum(-np.log(sub.data), 0.0).tolist()))
            if owner not in graph or asset not in graph:
                assert found == []
                continue
            candidates = itertools.islice(nx.shortest_simple_paths(graph, owner, asset, weight="weight"), 200)
            expected = list(itertools.islice((path for path in candidates if len(path) - 1 <= max_length), 4))
            assert [path for path, _ in found] == expected
            checked += bool(expected)
    assert checked > 20


def test_chains_respect_max_length():
    """P -> A -> B -> C at 100 % each beats P -> C at 10 %, until chains are capped at 2 links."""
    D = shares(4, (P, A, 1.0), (A, B, 1.0), (B, C, 1.0), (P, C, 0.1))
    assert ownership_chains(D, P, C) == [([P, A, B, C], 1.0), ([P, C], 0.1)]
    assert ownership_chains(D, P, C, max_length=2) == [([P, C], 0.1)]


def test_chains_skip_long_detours_through_short_reach_entities():
    """P owns all of A, A owns 90 % of B and 10 % of C, P owns 10 % of B, B owns 90 % of C.
    A and B are each one link from P and from C, yet P A B C is 3 links: the strongest chain
    (0.81) when chains may be 3 links long, skipped at 2, leaving P A C (0.1) and P B C (0.09)."""
    D = shares(4, (P, A, 1.0), (A, B, 0.9), (A, C, 0.1), (P, B, 0.1), (B, C, 0.9))
    assert ownership_chains(D, P, C, top=1) == [([P, A, B, C], pytest.approx(0.81))]
    chains = ownership_chains(D, P, C, max_length=2)
    assert [path for path, _ in chains] == [[P, A, C], [P, B, C]]
    np.testing.assert_allclose([product for _, product in chains], [0.1, 0.09])


def test_owners_and_chains_check_their_inputs(diamond):
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\], got 0"):
        ultimate_owners(diamond, C, threshold=0)
    with pytest.raises(ValueError, match=r"asset must be an entity index in \[0, 4\), got 4"):
        ultimate_owners(diamond, 4)
    with pytest.raises(ValueError, match=r"owners_mask must be a boolean array of shape \(4,\)"):
        ultimate_owners(diamond, C, owners_mask=np.array([0, 1]))
    with pytest.raises(ValueError, match="top must be at least 1, got 0"):
        ownership_chains(diamond, P, C, top=0)
    with pytest.raises(ValueError, match="max_length must be at least 1, got 0"):
        ownership_chains(diamond, P, C, max_length=0)
    with pytest.raises(ValueError, match=r"owner must be an entity index in \[0, 4\), got -1"):
        ownership_chains(diamond, -1, C)
    with pytest.raises(ValueError, match="owner and asset must differ, got 3 for both"):
        ownership_chains(diamond, C, C)


# --- OFAC --------------------------------------------------------------------------------------


def test_ofac_two_blocked_owners_of_25_percent():
    """OFAC 2014 guidance: blocked X and Y own 25 % of C each: 50 % in blocked hands, C is blocked."""
    X, Y, C_ = 0, 1, 2
    blocked, stake = ofac_blocked(shares(3, (X, C_, 0.25), (Y, C_, 0.25)), mask(3, X, Y))
    assert blocked.tolist() == [True, True, True] and stake[C_] == 0.5


@pytest.mark.parametrize(("second", "expected"), [(0.20, True), (0.19, False)])
def test_ofac_aggregates_blocked_owners_only(second, expected):
    """Blocked A holds 30 % of C, blocked B 20 %, unblocked D 50 %: 50 % in blocked hands, C is
    blocked; at 30 % + 19 % it is not. D's half never counts."""
    A_, B_, D_, C_ = 0, 1, 2, 3
    D = shares(4, (A_, C_, 0.30), (B_, C_, second), (D_, C_, 0.50))
    blocked, stake = ofac_blocked(D, mask(4, A_, B_))
    assert blocked[C_] == expected and not blocked[D_]
    assert stake[C_] == pytest.approx(0.30 + second)


def test_ofac_threshold_survives_decimal_rounding():
    """3 % + 29 % + 18 % is 50 %, though the binary sum is 0.49999999999999994."""
    D = shares(4, (0, 3, 0.03), (1, 3, 0.29), (2, 3, 0.18))
    assert ofac_blocked(D, mask(4, 0, 1, 2))[0][3]


def test_ofac_blocks_down_a_chain_of_halves():
    """OFAC 2014 guidance: blocked A owns 50 % of B, B owns 50 % of C: B is blocked, so its 50 % of C
    counts and C is blocked too."""
    D = shares(3, (0, 1, 0.5), (1, 2, 0.5))
    blocked, stake = ofac_blocked(D, mask(3, 0))
    assert blocked.tolist() == [True, True, True] and stake.tolist() == [0.0, 0.5, 0.5]


def test_ofac_stake_through_an_unblocked_company_counts_zero():
    """Blocked A owns 40 % of E, E owns 60 % of F. E is not blocked (40 % < 50 %), so E's 60 % of
    F counts zero and F is not blocked, although A's integrated stake in F is 0.4 x 0.6 = 24 %."""
    A_, E, F = 0, 1, 2
    D = shares(3, (A_, E, 0.4), (E, F, 0.6))
    blocked, stake = ofac_blocked(D, mask(3, A_))
    assert blocked.tolist() == [True, False, False] and stake.tolist() == [0.0, 0.4, 0.0]
    assert listed_stakes(D, mask(3, A_))[F] == pytest.approx(0.24)


def test_ofac_half_held_through_a_40_percent_blocked_intermediary_blocks_nothing():
    """Blocked X owns 40 % of M; M owns 50 % of Y. M is not blocked, so M's 50 % counts zero:
    Y is not blocked, with a blocked stake of 0. listed_stakes sees X's 20 % of Y."""
    X, M, Y = 0, 1, 2
    D = shares(3, (X, M, 0.4), (M, Y, 0.5))
    blocked, stake = ofac_blocked(D, mask(3, X))
    assert blocked.tolist() == [True, False, False] and stake[Y] == 0
    assert listed_stakes(D, mask(3, X))[Y] == pytest.approx(0.2)


def test_ofac_is_the_least_fixpoint():
    """A and B own 60 % of each other and nobody is listed: nothing is blocked (the rule needs a
    blocked owner to start from). Listing an unrelated seed keeps it that way; the seed stays
    blocked with no stake in it."""
    D = shares(3, (0, 1, 0.6), (1, 0, 0.6))
    assert not ofac_blocked(D, mask(3))[0].any()
    assert ofac_blocked(D, mask(3, 2))[0].tolist() == [False, False, True]


def slow_rule(D: np.ndarray, C: np.ndarray, seeds: np.ndarray, owned) -> np.ndarray:
    """The rules as written, one entity at a time: sweep until no entity changes."""
    caught = seeds.copy()
    changed = True
    while changed:
        changed = False
        for a in range(len(seeds)):
            held = sum(D[o, a] for o in range(len(seeds)) if caught[o])
            by_control = any(C[c, a] and caught[c] for c in range(len(seeds)))
            if not caught[a] and (owned(held) or by_control):
                caught[a] = changed = True
    return caught


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_ofac_and_eu_match_the_slow_loop(seed):
    rng = np.random.default_rng(seed)
    D = random_D(40, seed, density=0.08, most=1.0)
    C = sp.sparse.random_array((40, 40), density=0.02, random_state=rng, format="csr")
    C.data[:] = 1
    seeds = rng.random(40) < 0.1
    Dd, no_control = D.toarray(), np.zeros((40, 40))
    assert (ofac_blocked(D, seeds)[0] == slow_rule(Dd, no_control, seeds, lambda held: held >= 0.5 - 1e-12)).all()
    frozen, _, controlled = eu_frozen(D, C, seeds)
    assert (frozen == slow_rule(Dd, C.toarray(), seeds, lambda held: held > 0.5 + 1e-12)).all()
    assert (controlled == ((C.T @ frozen.astype(float) > 0) & ~seeds)).all()


def test_ofac_checks_its_inputs():
    D = shares(3, (0, 1, 0.5))
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\], got 1\.5"):
        ofac_blocked(D, mask(3, 0), threshold=1.5)
    with pytest.raises(ValueError, match=r"seeds must be a boolean array of shape \(3,\), got shape \(1,\)"):
        ofac_blocked(D, np.array([0]))
    with pytest.raises(ValueError, match=r"seeds must be a boolean mask \(or 0/1\), not entity indices"):
        ofac_blocked(D, np.array([0, 2, 1]))


# --- EU ----------------------------------------------------------------------------------------


def test_eu_exactly_half_is_not_ownership_unless_inclusive():
    """doc. 10572/22 reads "more than 50 %": listed X's 50 % of A is not ownership by default;
    with inclusive=True (the 2024 update, and OFAC) it is."""
    D = shares(2, (0, 1, 0.5))
    no_control = shares(2)
    assert eu_frozen(D, no_control, mask(2, 0))[0].tolist() == [True, False]
    assert eu_frozen(D, no_control, mask(2, 0), inclusive=True)[0].tolist() == [True, True]


def test_eu_control_freezes_regardless_of_shares():
    """Listed X owns 10 % of A but controls it: A is frozen, and flagged as controlled. A then
    controls B outright and owns none of it: B is frozen too, through a frozen controller."""
    X, A_, B_ = 0, 1, 2
    D = shares(3, (X, A_, 0.1))
    C_ = shares(3, (X, A_, 1), (A_, B_, 1))
    frozen, stake, controlled = eu_frozen(D, C_, mask(3, X))
    assert frozen.tolist() == [True, True, True]
    assert controlled.tolist() == [False, True, True]
    assert stake.tolist() == [0.0, 0.1, 0.0]


def test_eu_chain_of_60_percent_catches_both():
    """Listed X owns 60 % of A (more than half: frozen), A owns 60 % of B (frozen A's stake
    counts: frozen)."""
    D = shares(3, (0, 1, 0.6), (1, 2, 0.6))
    frozen, stake, controlled = eu_frozen(D, shares(3), mask(3, 0))
    assert frozen.tolist() == [True, True, True] and stake.tolist() == [0.0, 0.6, 0.6]
    assert not controlled.any()


def test_eu_aggregates_listed_owners():
    """Listed X holds 30 % of A and listed Y 25 %: 55 % in listed hands, more than half."""
    D = shares(3, (0, 2, 0.30), (1, 2, 0.25))
    frozen, stake, _ = eu_frozen(D, shares(3), mask(3, 0, 1))
    assert frozen[2] and stake[2] == pytest.approx(0.55)


def test_ofac_and_eu_disagree_at_exactly_half():
    """Listed X owns 50 % of A: OFAC blocks A (50 % or more), the 2022 EU text does not."""
    D = shares(2, (0, 1, 0.5))
    assert ofac_blocked(D, mask(2, 0))[0][1] and not eu_frozen(D, shares(2), mask(2, 0))[0][1]


def test_eu_checks_its_inputs():
    D = shares(3, (0, 1, 0.6))
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\], got -0\.5"):
        eu_frozen(D, shares(3), mask(3, 0), threshold=-0.5)
    with pytest.raises(ValueError, match=r"C must be a 0/1 control matrix of shape \(3, 3\), like D"):
        eu_frozen(D, shares(2), mask(3, 0))
    with pytest.raises(ValueError, match=r"C must be a 0/1 control matrix of shape \(3, 3\), like D"):
        eu_frozen(D, shares(3, (0, 2, 0.5)), mask(3, 0))
    with pytest.raises(ValueError, match=r"seeds must be a boolean array of shape \(3,\)"):
        eu_frozen(D, shares(3), mask(2, 0))


# --- listed stakes -----------------------------------------------------------------------------


def test_listed_stakes_add_the_group_and_count_each_chain_once():
    """Listed X and Y own 40 % and 20 % of M; M owns 50 % of Z. Together they hold 0.6 of M and
    0.6 x 0.5 = 0.3 of Z; for OFAC, M is blocked (60 % in blocked hands) and Z through M's 50 %.
    Listing M too, Z's stake is M's 50 % alone: X's and Y's chains through M are M's already."""
    X, Y, M, Z = 0, 1, 2, 3
    D = shares(4, (X, M, 0.4), (Y, M, 0.2), (M, Z, 0.5))
    np.testing.assert_allclose(listed_stakes(D, mask(4, X, Y)), [0, 0, 0.6, 0.3])
    np.testing.assert_allclose(listed_stakes(D, mask(4, X, Y, M)), [0, 0, 0.6, 0.5])
    assert ofac_blocked(D, mask(4, X, Y))[0].tolist() == [True, True, True, True]
    with pytest.raises(ValueError, match=r"seeds must be a boolean array of shape \(4,\), got shape \(3,\)"):
        listed_stakes(D, mask(3, 0))


def test_listed_stakes_agree_with_the_integrated_series_when_no_listed_entity_is_owned():
    """When the listed owners own no listed entity, chains cannot pass through a second listed
    one, so the group's stake is the sum of their rows of D (I - D)^-1."""
    rng = np.random.default_rng(9)
    n = 40
    D = sp.sparse.random_array((n, n), density=0.08, random_state=rng, format="csr")
    D = sp.sparse.csr_array(D / (D.sum(axis=0).max() * 1.25))
    listed = np.zeros(n, bool)
    listed[:5] = True
    D = sp.sparse.csr_array(D.multiply((~listed)[None, :].astype(float)))  # nobody owns a listed entity
    expected = np.asarray(integrated_ownership(D).T @ listed.astype(float)).ravel()
    np.testing.assert_allclose(listed_stakes(D, listed), expected, rtol=1e-10, atol=1e-14)


# --- several self-consistent answers, the UK rule, rounding ------------------------------------


def test_ofac_cycle_with_two_consistent_answers_is_for_review():
    """X (blocked) owns 40 % of A, A owns 100 % of B, B owns 10 % of A. Least answer: A has 40 %
    in blocked hands, not blocked, so B is not either. But blocking A and B is consistent too:
    A then has 40 % + 10 % = 50 % in blocked hands, B 100 %. Both are for review; X is not."""
    X = 0
    D = shares(3, (X, A, 0.4), (A, B, 1.0), (B, A, 0.1))
    blocked, stake = ofac_blocked(D, mask(3, X))
    assert blocked.tolist() == [True, False, False] and stake[A] == pytest.approx(0.4)
    assert ownership.ofac_review(D, mask(3, X)).tolist() == [False, True, True]
    # With B at 9 %, 49 % can never reach 50 %: one answer, nothing to review.
    assert not ownership.ofac_review(shares(3, (X, A, 0.4), (A, B, 1.0), (B, A, 0.09)), mask(3, X)).any()
    # A pair owning 60 % of each other that no blocked person holds any part of is beyond the rule.
    assert not ownership.ofac_review(shares(3, (A, B, 0.6), (B, A, 0.6)), mask(3, X)).any()


def test_eu_review_follows_its_own_threshold():
    """As above with B at 10 %: 40 % + 10 % is exactly 50 %, not "more than 50 %", so under the
    strict reading there is one answer; under "50 % or more" A and B are for review."""
    X = 0
    D = shares(3, (X, A, 0.4), (A, B, 1.0), (B, A, 0.1))
    no_control = shares(3)
    assert not ownership.eu_review(D, no_control, mask(3, X)).any()
    assert ownership.eu_review(D, no_control, mask(3, X), inclusive=True).tolist() == [False, True, True]


def test_uk_does_not_aggregate_designated_persons():
    """Designated X and Y own 30 % and 25 % of A: 55 % together, so OFAC blocks A and the EU
    freezes it, but no one designated person owns more than 50 %: not owned under the UK rule.
    X's own 30 % plus the whole 25 % of K, which X owns 60 % of, make 55 % of B: X's (an indirect
    holding through a majority stake counts in full). Y controls C: Y's, whatever the shares."""
    X, Y, A_, K, B_, C_ = range(6)
    D = shares(6, (X, A_, 0.3), (Y, A_, 0.25), (X, K, 0.6), (K, B_, 0.25), (X, B_, 0.3))
    C = shares(6, (Y, C_, 1.0))
    seeds = mask(6, X, Y)
    flagged, stake, controlled = ownership.uk_designated(D, C, seeds)
    assert flagged.tolist() == [True, True, False, True, True, True]
    np.testing.assert_allclose(stake, [0, 0, 0.3, 0.6, 0.55, 0])
    assert controlled.tolist() == [False] * 5 + [True]
    assert ofac_blocked(D, seeds)[0][A_] and eu_frozen(D, C, seeds)[0][A_]
    # Exactly 50 % is not "more than 50 %".
    assert not ownership.uk_designated(shares(2, (0, 1, 0.5)), shares(2), mask(2, 0))[0][1]


def uk_loop(D, C, seeds, threshold=0.5):
    """The UK test as written, person by person in Python dictionaries: what each designated
    person holds, directly and through entities that are already theirs."""
    D, C = sp.sparse.csr_array(D), sp.sparse.csr_array(C)
    n = len(seeds)
    best, flagged, controlled = np.zeros(n), seeds.copy(), np.zeros(n, dtype=bool)
    for person in np.flatnonzero(seeds):
        held, mine, todo = {}, {int(person)}, [int(person)]
        while todo:
            holder = todo.pop()
            for matrix, is_control in ((D, False), (C, True)):
                row = slice(matrix.indptr[holder], matrix.indptr[holder + 1])
                for asset, share in zip(matrix.indices[row].tolist(), matrix.data[row].tolist()):
                    if not is_control:
                        held[asset] = held.get(asset, 0.0) + share
                    if asset not in mine and (is_control or held[asset] > threshold + 1e-9):
                        mine.add(asset)
                        todo.append(asset)
                        controlled[asset] |= is_control and not seeds[asset]
        for asset, share in held.items():
            best[asset] = max(best[asset], share)
        flagged[list(mine)] = True
    return flagged, best, controlled


@pytest.mark.parametrize("seed", [20, 21, 22, 23])
def test_uk_search_matches_the_loop(seed):
    rng = np.random.default_rng(seed)
    n = 300
    D = random_D(n, seed, density=0.02, most=1.0)
    C = sp.sparse.random_array((n, n), density=0.003, random_state=rng, format="csr")
    C.data[:] = 1
    seeds = rng.random(n) < 0.1
    found, expected = ownership.uk_designated(D, C, seeds), uk_loop(D, C, seeds)
    assert expected[0].sum() > seeds.sum() and expected[2].any()  # owned and controlled entities beyond the seeds
    for got, want in zip(found, expected):
        np.testing.assert_array_equal(got, want)


def test_uk_search_matches_the_loop_on_the_synthetic_register(register_D):
    """2 % of the register designated: the compiled search against the loop, exactly."""
    n = register_D.shape[0]
    seeds = np.random.default_rng(0).random(n) < 0.02
    found, expected = ownership.uk_designated(register_D, sp.sparse.csr_array((n, n)), seeds), uk_loop(
        register_D, sp.sparse.csr_array((n, n)), seeds)
    assert expected[0].sum() > seeds.sum() + 100
    for got, want in zip(found, expected):
        np.testing.assert_array_equal(got, want)


def test_thresholds_compare_with_rounding_slack():
    """2 % + 21 % + 2 % is 0.24999999999999997 in binary floating point: it is 25 %."""
    D = shares(4, (0, 3, 0.02), (1, 3, 0.21), (2, 3, 0.02))
    assert listed_stakes(D, mask(4, 0, 1, 2))[3] == pytest.approx(0.25)
    assert ownership.reaches(listed_stakes(D, mask(4, 0, 1, 2)), 0.25)[3]
    assert ofac_blocked(D, mask(4, 0, 1, 2), threshold=0.25)[0][3]
    assert ultimate_owners(shares(2, (0, 1, 0.02 + 0.21 + 0.02)), 1) == [(0, pytest.approx(0.25))]
