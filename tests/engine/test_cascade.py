"""Independent cascade against exact reach probabilities: closed forms on a chain and a
diamond, and an enumeration of every live-edge world (Kempe et al. 2003, Claim 2.3)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy as sp

import graphscore.engine.cascade as cascade_module
from graphscore.engine.cascade import cascade, wilson_interval


def links_to_W(n: int, links: dict[tuple[int, int], float]) -> sp.sparse.csr_array:
    """W from {(u, v): weight} with u -> v, i.e. W[v, u] = weight."""
    W = sp.sparse.lil_array((n, n))
    for (u, v), weight in links.items():
        W[v, u] = weight
    return W.tocsr()


def exact_reach(n: int, links: dict[tuple[int, int], float], seeds: list[int],
                max_steps: int | None = None) -> np.ndarray:
    """P(v is active) by summing over all 2^E live-edge worlds: each link u -> v is live with
    probability min(1, weight), and v is active when a live path of at most max_steps links
    joins a seed to it."""
    pairs = list(links)
    p = [min(1.0, links[pair]) for pair in pairs]
    reach = np.zeros(n)
    for world in itertools.product([False, True], repeat=len(pairs)):
        weight = np.prod([q if live else 1 - q for q, live in zip(p, world)])
        live_out = {u: [v for (a, v), live in zip(pairs, world) if live and a == u] for u in range(n)}
        reached, frontier, depth = set(seeds), set(seeds), 0
        while frontier and (max_steps is None or depth < max_steps):
            frontier = {v for u in frontier for v in live_out[u]} - reached
            reached |= frontier
            depth += 1
        reach[list(reached)] += weight
    return reach


def test_chain_reach_lies_in_the_interval():
    """a -> b -> c -> d with probabilities p1, p2, p3: d is reached only if every link is
    live, so P(b) = p1, P(c) = p1 p2, P(d) = p1 p2 p3."""
    p1, p2, p3 = 0.7, 0.5, 0.6
    W = links_to_W(4, {(0, 1): p1, (1, 2): p2, (2, 3): p3})
    result = cascade(W, np.array([0]), runs=20_000, rng=np.random.default_rng(2024))
    exact = np.array([1.0, p1, p1 * p2, p1 * p2 * p3])
    assert result.probability[0] == 1.0
    assert ((result.low <= exact) & (exact <= result.high)).all(), (result.low, result.probability, result.high)
    assert result.runs == 20_000 and result.confidence == 0.95


def test_diamond_combines_two_independent_paths():
    """a -> b -> d (p, q) and a -> c -> d (r, s): the paths share no link, so
    P(d) = 1 - (1 - p q)(1 - r s) = 1 - 0.7 x 0.72 = 0.496."""
    p, q, r, s = 0.6, 0.5, 0.7, 0.4
    W = links_to_W(4, {(0, 1): p, (1, 3): q, (0, 2): r, (2, 3): s})
    result = cascade(W, np.array([True, False, False, False]), runs=20_000, rng=np.random.default_rng(7))
    exact = np.array([1.0, p, r, 1 - (1 - p * q) * (1 - r * s)])
    assert exact[3] == pytest.approx(0.496)
    assert ((result.low <= exact) & (exact <= result.high)).all(), (result.low, result.probability, result.high)


def random_links(seed: int, n: int = 7, count: int = 12) -> dict[tuple[int, int], float]:
    rng = np.random.default_rng(seed)
    pairs = [(u, v) for u in range(n) for v in range(n) if u != v]
    chosen = rng.choice(len(pairs), size=count, replace=False)
    links = {pairs[i]: float(rng.uniform(0.1, 0.9)) for i in chosen}
    links[pairs[chosen[0]]] = 2.5  # acts as 1: always live
    return links


@pytest.mark.parametrize("seed, max_steps", [(0, None), (1, None), (2, None), (3, 1), (4, 2)])
def test_matches_exact_enumeration_of_live_edge_worlds(seed, max_steps):
    links = random_links(seed)
    seeds = [0, 1]
    exact = exact_reach(7, links, seeds, max_steps)
    runs = 20_000
    result = cascade(links_to_W(7, links), np.array(seeds), runs=runs, rng=np.random.default_rng(seed),
                     max_steps=max_steps)
    standard_error = np.sqrt(exact * (1 - exact) / runs)
    assert (np.abs(result.probability - exact) <= 4 * standard_error + 1e-12).all(), (result.probability, exact)
    assert 0 < exact[2:].max() < 1  # the graph leaves something to chance


def test_max_steps_limits_the_depth():
    """On a chain of certain links, step k activates exactly the k-th entity."""
    W = links_to_W(4, {(0, 1): 1.0, (1, 2): 1.0, (2, 3): 1.0})
    for steps in range(4):
        result = cascade(W, np.array([0]), runs=10, rng=np.random.default_rng(0), max_steps=steps)
        assert result.probability.tolist() == [1.0] * (steps + 1) + [0.0] * (3 - steps)


def test_same_seed_reproduces_and_another_seed_differs():
    W = links_to_W(7, random_links(5))
    first = cascade(W, np.array([0]), runs=3_000, rng=np.random.default_rng(11))
    again = cascade(W, np.array([0]), runs=3_000, rng=np.random.default_rng(11))
    other = cascade(W, np.array([0]), runs=3_000, rng=np.random.default_rng(12))
    np.testing.assert_array_equal(first.probability, again.probability)
    np.testing.assert_array_equal(first.low, again.low)
    assert (first.probability != other.probability).any()


def test_blocks_of_runs_do_not_change_the_numbers(monkeypatch):
    """Each run's coins are fixed by (rng, run, link), so any split of the runs among cores agrees."""
    rng = np.random.default_rng(8)
    W = sp.sparse.random_array((60, 60), density=0.08, random_state=rng, format="csr")
    seeds = np.array([0, 5, 9])
    expected = cascade(W, seeds, runs=2_000, rng=np.random.default_rng(3))
    monkeypatch.setattr(cascade_module, "_block_count", lambda batches: min(batches, 7))
    np.testing.assert_array_equal(cascade(W, seeds, runs=2_000, rng=np.random.default_rng(3)).probability,
                                  expected.probability)


def test_seeds_as_mask_or_indices_agree_and_no_seeds_reach_nothing():
    W = links_to_W(7, random_links(6))
    mask = np.zeros(7, dtype=bool)
    mask[[2, 4]] = True
    by_mask = cascade(W, mask, runs=1_000, rng=np.random.default_rng(1))
    by_index = cascade(W, np.array([4, 2, 2]), runs=1_000, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(by_mask.probability, by_index.probability)
    assert not cascade(W, np.zeros(7, dtype=bool), runs=100, rng=np.random.default_rng(1)).probability.any()


def test_wilson_interval_matches_the_closed_form():
    """Wilson (1927) for 30 successes in 100 at 95 %: centre (30 + z^2/2)/(100 + z^2)."""
    z = 1.959963984540054
    centre = (30 + z**2 / 2) / (100 + z**2)
    half = z * np.sqrt(30 * 70 / 100 + z**2 / 4) / (100 + z**2)
    low, high = wilson_interval(np.array([30]), 100, 0.95)
    np.testing.assert_allclose([low[0], high[0]], [centre - half, centre + half], rtol=1e-12)


def test_cascade_checks_its_inputs():
    W = links_to_W(3, {(0, 1): 0.5})
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="runs must be a positive integer"):
        cascade(W, np.array([0]), runs=0, rng=rng)
    with pytest.raises(ValueError, match="runs must be a positive integer"):
        cascade(W, np.array([0]), runs=2.5, rng=rng)
    with pytest.raises(ValueError, match="max_steps must be a non-negative integer"):
        cascade(W, np.array([0]), rng=rng, max_steps=-1)
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\)"):
        cascade(W, np.array([0]), rng=rng, confidence=1.0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        cascade(W, np.array([0]), rng=0)
    with pytest.raises(ValueError, match=r"seed indices must lie in \[0, 3\)"):
        cascade(W, np.array([3]), rng=rng)
    with pytest.raises(ValueError, match=r"a boolean seeds mask must have shape \(3,\)"):
        cascade(W, np.array([True, False]), rng=rng)
    with pytest.raises(ValueError, match="seeds must be a boolean mask or integer indices"):
        cascade(W, np.array([0.0]), rng=rng)
    with pytest.raises(ValueError, match="W must be finite and non-negative"):
        cascade(links_to_W(3, {(0, 1): -0.5}), np.array([0]), rng=rng)
    with pytest.raises(ValueError, match="W must be square"):
        cascade(sp.sparse.csr_array(np.zeros((2, 3))), np.array([0]), rng=rng)


def one_run_at_a_time(W, seeds, runs: int, seed: int, max_steps: int | None) -> np.ndarray:
    """The cascade as Kempe et al. describe it, one run and one step at a time in plain Python,
    with the coins graphscore documents: link e (column-major order of W) in run r is live when
    its 53-bit coin is below ceil(min(1, w) 2^53), the coin's i-th binary digit (most
    significant first) being bit r mod 64 of the (64 (r // 64 * links + e) + i)-th SplitMix64
    output of the rng's first draw."""
    links = sp.sparse.csc_array(W)
    key = int(np.random.default_rng(seed).integers(0, 2**64, dtype=np.uint64))
    mask = 2**64 - 1

    def coin(position: int) -> int:
        z = ((position + 1) * 0x9E3779B97F4A7C15 + key) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    def coin53(run: int, e: int) -> int:
        base = 64 * ((run // 64) * links.nnz + e)
        return sum(((coin(base + i) >> (run % 64)) & 1) << (52 - i) for i in range(53))

    counts = np.zeros(W.shape[0], dtype=int)
    for run in range(runs):
        active, frontier, steps = set(seeds), list(seeds), 0
        while frontier and (max_steps is None or steps < max_steps):
            following = []
            for u in frontier:
                for e in range(links.indptr[u], links.indptr[u + 1]):
                    v = int(links.indices[e])
                    limit = int(np.ceil(min(links.data[e], 1.0) * 2.0**53))
                    if v not in active and coin53(run, e) < limit:
                        active.add(v)
                        following.append(v)
            frontier, steps = following, steps + 1
        counts[list(active)] += 1
    return counts / runs


@pytest.mark.parametrize("max_steps", [None, 2])
def test_the_bit_parallel_kernel_is_the_textbook_loop(max_steps):
    """64 runs share a pass over the graph, yet every run ends exactly as it does alone
    (130 runs: two full batches and a partial one)."""
    rng = np.random.default_rng(21)
    W = sp.sparse.random_array((40, 40), density=0.1, random_state=rng, format="csr") * 1.2
    seeds = [0, 7]
    expected = one_run_at_a_time(W, seeds, 130, 5, max_steps)
    actual = cascade(W, np.array(seeds), runs=130, rng=np.random.default_rng(5), max_steps=max_steps)
    np.testing.assert_array_equal(actual.probability, expected)


@pytest.mark.parametrize("p", [0.5, 0.3, 0.8, 0.6268, 0.05])
def test_bit_sliced_coins_are_independent_with_the_link_probability(p):
    """A link's 64 coins in a batch come from shared random words (bit j of each word for run
    j): each run's coin must still be live with probability p, and two runs' coins independent.
    20,000 links x 64 runs: the overall rate within 4.5 standard errors of p, every run's own
    rate within 5, and the correlation of neighbouring runs within 5 / sqrt(links) of 0."""
    links = 20_000
    limit = np.uint64(np.ceil(p * 2.0**53))
    live = np.array([cascade_module._live(limit, np.uint64(0x5EED), 3, np.uint64(links), e) for e in range(links)],
                    dtype=np.uint64)
    bits = ((live[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(float)
    error = np.sqrt(p * (1 - p))
    assert abs(bits.mean() - p) <= 4.5 * error / np.sqrt(bits.size)
    assert (np.abs(bits.mean(axis=0) - p) <= 5 * error / np.sqrt(links)).all()
    centred = bits - bits.mean(axis=0)
    correlation = (centred[:, 1:] * centred[:, :-1]).mean(axis=0) / (centred[:, 1:].std(axis=0) * centred[:, :-1].std(axis=0))
    assert (np.abs(correlation) <= 5 / np.sqrt(links)).all()
