"""Independent cascade (Kempe, Kleinberg & Tardos 2003): Monte Carlo reach probabilities."""

from __future__ import annotations

import numbers
import threading
from dataclasses import dataclass

import numba
import numpy as np
import scipy as sp

__all__ = ["CascadeResult", "cascade", "wilson_interval"]

# SplitMix64 (Steele, Lea & Flood 2014): the stream's i-th output is a fixed mix of
# seed + i * gamma, so any output can be computed directly from its position i.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True)
class CascadeResult:
    """Monte Carlo estimate of the independent cascade's reach.

    Attributes
    ----------
    probability : (n,) ndarray
        Fraction of runs in which each entity ends active (1 for seeds).
    low, high : (n,) ndarray
        Wilson score interval of ``probability`` at ``confidence``.
    runs : int
        Number of simulated cascades.
    confidence : float
        Coverage of ``[low, high]``.
    """

    probability: np.ndarray
    low: np.ndarray
    high: np.ndarray
    runs: int
    confidence: float


def cascade(W: sp.sparse.sparray, seeds: np.ndarray, *, runs: int = 10_000, rng: np.random.Generator,
            max_steps: int | None = None, confidence: float = 0.95) -> CascadeResult:
    """Independent cascade: the probability that each entity ends active, by Monte Carlo.

    The seeds are active at step 0. An entity u that becomes active at step t gets one chance,
    at step t + 1, to activate each out-neighbour v, succeeding with probability
    ``min(1, W[v, u])`` independently of everything else; then it never tries again. The
    cascade ends when a step activates no one (or after ``max_steps`` steps). Equivalently
    (Kempe et al. 2003, Claim 2.3), each link u -> v is "live" with probability
    ``min(1, W[v, u])``, independently, and the active set is everything reachable from the
    seeds along live links: each run samples one such live-edge world.

    Runs are simulated 64 at a time, one bit each (a compiled kernel, numba): a search from
    the seeds serves the 64 runs at once, trying a link out of an entity only in the runs
    where that entity became active, with the link's coins in the 64 runs drawn bit-sliced
    (about seven random words, not 64 coins) when the search first reaches its source; so the
    work follows the cascades' size, not ``runs x links x steps``, and the pass over the graph
    is shared by 64 runs. Blocks of
    batches go to the cores in parallel, each with its own work arrays (57 bytes an entity and 8 a
    link), over a copy of the graph renumbered in the order a search from the seeds meets the
    entities (20 bytes a link), which keeps a sweep's reads close together.

    Parameters
    ----------
    W : (n, n) sparse array
        Transmission matrix, non-negative; ``W[v, u]`` is the probability that u, once
        active, activates v. Entries above 1 act as 1.
    seeds : (n,) bool ndarray or ndarray of int
        Entities active at step 0, as a mask or as row indices of ``W``.
    runs : int
        Number of simulated cascades, at least 1.
    rng : numpy.random.Generator
        Source of randomness, e.g. ``np.random.default_rng(seed)``; one number is drawn from it.
    max_steps : int, optional
        Stop every cascade after this many steps; None lets them run out.
    confidence : float
        Coverage of the Wilson interval, in (0, 1).

    Returns
    -------
    CascadeResult
        ``probability``, its Wilson interval ``low``/``high``, ``runs`` and ``confidence``.

    Raises
    ------
    ValueError
        If ``runs``, ``max_steps`` or ``confidence`` is out of range, shapes disagree, ``W``
        has a negative or non-finite entry, or a seed index is outside ``[0, n)``.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.

    Notes
    -----
    Reproducibility: link e is live in run r when its coin, a 53-bit number, is below
    ``ceil(min(1, W[v, u]) 2^53)``; the coin's (i + 1)-th binary digit (most significant
    first) is bit ``r mod 64`` of the ``(64 (b links + e) + i + 1)``-th output of one
    SplitMix64 stream, ``b = r // 64``, whose seed is the single number drawn from ``rng``.
    A run's live-edge world is therefore fixed by (that number, r, W), whatever order the
    coins are looked at in: the same ``rng`` seed gives the same numbers for any chunking or
    memory bound, and a larger ``runs`` keeps the first runs and adds new ones. Links are
    numbered in column-major order of ``W``, so relabelling the entities draws different
    (equally distributed) worlds.

    Accuracy: each run is an exact sample of the model (each link live with its probability
    rounded up to a multiple of 2^-53), runs are independent, so ``probability`` is a binomial
    proportion: its standard error is ``sqrt(p (1 - p) / runs)``, at most 0.005 at 10,000 runs,
    and ``[low, high]`` covers the true reach with probability about ``confidence``.

    Examples
    --------
    A chain 0 -> 1 -> 2: entity 1 is reached with probability 0.8, entity 2 with 0.8 x 0.5.

    >>> W = sp.sparse.csr_array([[0.0, 0.0, 0.0],
    ...                          [0.8, 0.0, 0.0],
    ...                          [0.0, 0.5, 0.0]])
    >>> result = cascade(W, np.array([0]), runs=20_000, rng=np.random.default_rng(0))
    >>> result.probability.round(2)
    array([1. , 0.8, 0.4])
    >>> round(float(result.low[2]), 3), round(float(result.high[2]), 3)  # 95 % Wilson interval
    (0.394, 0.407)

    References
    ----------
    .. [1] Kempe, Kleinberg, Tardos, "Maximizing the spread of influence through a social
       network", KDD 2003, section 2 (the independent cascade model; Claim 2.3, live edges).
    .. [2] Wilson, "Probable inference, the law of succession, and statistical inference",
       J. Am. Stat. Assoc. 22:209-212, 1927.
    .. [3] Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
       OOPSLA 2014 (SplitMix64).
    .. [4] Knuth, Yao, "The complexity of nonuniform random number generation", in Algorithms
       and Complexity, Academic Press 1976 (a biased coin from fair digits compared one by one).
    """
    if not isinstance(runs, numbers.Integral) or runs < 1:
        raise ValueError(f"runs must be a positive integer, got {runs!r}.")
    if max_steps is not None and (not isinstance(max_steps, numbers.Integral) or max_steps < 0):
        raise ValueError(f"max_steps must be a non-negative integer or None, got {max_steps!r}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}.")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, e.g. np.random.default_rng(seed); "
                        f"got {type(rng).__name__}.")
    links = _out_links(W)
    seed_idx = _seed_indices(seeds, links.n)
    key = rng.integers(0, 2**64, dtype=np.uint64)

    # The entities renumbered in the order a search from the seeds meets them, so that a sweep
    # reads neighbours close together in memory (a fifth less time at 10^6 links); each link
    # keeps its own number for its coins, so the worlds drawn are the same.
    order = _search_order(links.indptr, links.target, seed_idx, links.n)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    indptr, target, link = _renumbered(links.indptr, links.target, order, rank)
    batches = -(-runs // _BATCH)
    bounds = np.linspace(0, batches, _block_count(batches) + 1).astype(np.int64)
    with _PARALLEL:
        found = _simulate(indptr, target, links.threshold[link], link, np.sort(rank[seed_idx]), np.int64(runs),
                          bounds, key, np.int64(-1 if max_steps is None else max_steps),
                          links.n).sum(axis=0, dtype=np.int64)
    counts = np.empty_like(found)
    counts[order] = found
    low, high = wilson_interval(counts, runs, confidence)
    return CascadeResult(probability=counts / runs, low=low, high=high, runs=int(runs),
                         confidence=float(confidence))


def wilson_interval(successes: np.ndarray, trials: int, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion ``successes / trials``.

    Unlike the normal approximation it stays inside [0, 1] and does not collapse to a
    point at 0 or 1 successes, which rare or certain activations make common here.

    Examples
    --------
    >>> low, high = wilson_interval(np.array([0, 50, 100]), 100, 0.95)
    >>> low.round(4), high.round(4)
    (array([0.    , 0.4038, 0.963 ]), array([0.037 , 0.5962, 1.    ]))
    """
    z = sp.stats.norm.ppf(0.5 + confidence / 2)
    successes = np.asarray(successes, dtype=float)
    centre = (successes + z**2 / 2) / (trials + z**2)
    half = z / (trials + z**2) * np.sqrt(successes * (trials - successes) / trials + z**2 / 4)
    # At 0 or all successes one end is exactly 0 or 1; rounding would leave it a hair inside.
    low = np.where(successes == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(successes == trials, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


@dataclass(frozen=True)
class _Links:
    """The out-links of every entity, in W's column-major (CSC) order: u's are
    ``indptr[u]:indptr[u + 1]``, pointing at ``target`` and live when the link's 53-bit coin
    is below ``threshold``."""

    indptr: np.ndarray
    target: np.ndarray
    threshold: np.ndarray

    @property
    def n(self) -> int:
        return self.indptr.size - 1


def _out_links(W: sp.sparse.sparray) -> _Links:
    """Out-links with activation probability ``min(1, W[v, u])`` as integer coin thresholds."""
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}.")
    links = sp.sparse.csc_array(W, dtype=float, copy=True)
    # Several links between one pair add up in W (engine/matrix.py): one coin for the sum.
    links.sum_duplicates()
    if not np.isfinite(links.data).all() or (links.data < 0).any():
        raise ValueError("W must be finite and non-negative: its entries are activation probabilities.")
    links.eliminate_zeros()
    # A coin c uniform on {0, ..., 2^53 - 1} is below ceil(p 2^53) with probability exactly
    # p rounded up to the next multiple of 2^-53 (p = 1: always live).
    threshold = np.ceil(np.minimum(links.data, 1.0) * 2.0**53).astype(np.uint64)
    return _Links(links.indptr.astype(np.int64), links.indices.astype(np.int32), threshold)


def _seed_indices(seeds: np.ndarray, n: int) -> np.ndarray:
    seeds = np.asarray(seeds)
    if seeds.dtype == bool:
        if seeds.shape != (n,):
            raise ValueError(f"a boolean seeds mask must have shape ({n},), got {seeds.shape}.")
        return np.flatnonzero(seeds)
    if seeds.size and not np.issubdtype(seeds.dtype, np.integer):
        raise ValueError(f"seeds must be a boolean mask or integer indices, got dtype {seeds.dtype}.")
    seeds = seeds.astype(np.int64).ravel()
    if ((seeds < 0) | (seeds >= n)).any():
        raise ValueError(f"seed indices must lie in [0, {n}).")
    return np.unique(seeds)


@numba.njit(cache=True, nogil=True)
def _search_order(indptr, target, seeds, n):  # pragma: no cover - compiled
    """The entities in the order a breadth-first search from the seeds along every link meets
    them, then the others in index order."""
    order = np.empty(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    size = 0
    for v in seeds:
        seen[v] = True
        order[size] = v
        size += 1
    head = 0
    while head < size:
        u = order[head]
        head += 1
        for e in range(indptr[u], indptr[u + 1]):
            v = target[e]
            if not seen[v]:
                seen[v] = True
                order[size] = v
                size += 1
    for v in range(n):
        if not seen[v]:
            order[size] = v
            size += 1
    return order


@numba.njit(cache=True, nogil=True)
def _renumbered(indptr, target, order, rank):  # pragma: no cover - compiled
    """The out-links with entity u renumbered ``rank[u]`` (``order`` its inverse): new
    ``indptr`` and ``target``, and each link's position among the original links."""
    n = order.shape[0]
    new_indptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(n):
        u = order[k]
        new_indptr[k + 1] = new_indptr[k] + indptr[u + 1] - indptr[u]
    new_target = np.empty(target.shape[0], dtype=np.int32)
    link = np.empty(target.shape[0], dtype=np.int64)
    for k in range(n):
        u = order[k]
        at = new_indptr[k]
        for e in range(indptr[u], indptr[u + 1]):
            new_target[at] = rank[target[e]]
            link[at] = e
            at += 1
    return new_indptr, new_target, link


# numba's fallback threading layer (workqueue, where neither OpenMP nor TBB is installed) must
# not be entered by two threads at once, as a web server's request threads would: one at a time.
_PARALLEL = threading.Lock()


def _block_count(batches: int) -> int:
    """Blocks of batches simulated in parallel: two per thread, so a slow block does not hold a core idle."""
    return max(1, min(batches, 2 * numba.get_num_threads()))


_BATCH = 64  # runs per batch: one bit each in a uint64 per entity

# Index of the one set bit of a power of two, by De Bruijn multiplication (Leiserson, Prokop &
# Randall 1998): the top 6 bits of bit * _DE_BRUIJN are distinct for the 64 bits.
_DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
_BIT_INDEX = np.zeros(64, dtype=np.int64)
for _bit in range(64):
    _BIT_INDEX[((1 << _bit) * int(_DE_BRUIJN) % 2**64) >> 58] = _bit


@numba.njit(cache=True, nogil=True, inline="always")
def _popcount(x):  # pragma: no cover - compiled
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@numba.njit(cache=True, nogil=True, inline="always")
def _lowest_bit(x):  # pragma: no cover - compiled
    """Index of the lowest set bit of ``x`` (not zero)."""
    return _BIT_INDEX[((x & (~x + np.uint64(1))) * _DE_BRUIJN) >> np.uint64(58)]


@numba.njit(cache=True, nogil=True, inline="always")
def _coins_of(u, batch, indptr, threshold, link, key, links, live, masked):  # pragma: no cover - compiled
    """The runs of ``batch`` in which each out-link of u is live, into ``live``, once per batch
    (``masked[u]`` records the batch): drawn when u is first searched from, so a batch draws
    coins only for the links its cascades reach."""
    if masked[u] != batch + 1:
        masked[u] = batch + 1
        for e in range(indptr[u], indptr[u + 1]):
            live[e] = _live(threshold[e], key, batch, links, link[e])


@numba.njit(cache=True, nogil=True, inline="always")
def _activate(v, bits, active, touched, reached):  # pragma: no cover - compiled
    """Make v active in the runs ``bits`` (none active yet); ``touched`` lists the entities
    active in some run of the batch (``reached`` of them), for the count at its end."""
    if active[v] == 0:
        touched[reached] = v
        reached += 1
    active[v] |= bits
    return reached


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _simulate(indptr, target, threshold, link, seeds, runs, bounds, key, max_steps, n):  # pragma: no cover - compiled
    """Batches ``bounds[b]:bounds[b + 1]`` of 64 runs each in block b, blocks in parallel;
    returns per block how many of its runs end with each entity active.

    Bit-parallel: bit r of ``active[v]`` says v is active in run ``64 * batch + r``, and one
    search over the graph serves the 64 runs of a batch. A link u -> v carries, to the runs
    where v is not active yet, the runs in which u became active since u was last searched from
    and the link is live (``live[e]``, the link's coins in the batch's 64 runs); so every run
    ends with exactly the entities a one-run-at-a-time search of its live-edge world reaches.
    ``link[e]`` numbers link e for its coins.
    """
    blocks = bounds.shape[0] - 1
    counts = np.zeros((blocks, n), dtype=np.int32)  # runs < 2^31
    links = np.uint64(target.shape[0])
    words = (n + 63) // 64
    for b in numba.prange(blocks):
        active = np.zeros(n, dtype=np.uint64)
        new = np.zeros(n, dtype=np.uint64)  # runs in which v became active since it was searched from
        upcoming = np.zeros(n, dtype=np.uint64)  # with a step limit: ... in this step
        live = np.empty(target.shape[0], dtype=np.uint64)
        masked = np.zeros(n, dtype=np.int64)
        touched = np.empty(n, dtype=np.int64)
        frontier = np.empty(n, dtype=np.int64)
        following = np.empty(n, dtype=np.int64)
        waiting = np.zeros(words, dtype=np.uint64)  # bit v: new[v] is not zero
        for batch in range(bounds[b], bounds[b + 1]):
            first = batch * 64
            width = min(64, runs - first)
            full = ~np.uint64(0) if width == 64 else (np.uint64(1) << np.uint64(width)) - np.uint64(1)
            reached = 0
            for k in range(seeds.shape[0]):
                v = seeds[k]
                reached = _activate(v, full, active, touched, reached)
                new[v] = full
                waiting[v >> 6] |= np.uint64(1) << np.uint64(v & 63)
                frontier[k] = v
            if max_steps < 0:
                # No step limit: only the final sets count, so the entities waiting to be
                # searched from are taken in index order, sweep after sweep, from a bitmap:
                # memory is read in order (a queue's order cost three times as much at 10^6
                # links), an entity collects the runs several links bring before it is
                # searched from, and a sweep skips 64 idle entities a word.
                again = True
                while again:
                    again = False
                    for w in range(words):
                        while waiting[w]:
                            u = w * 64 + _lowest_bit(waiting[w])
                            waiting[w] &= waiting[w] - np.uint64(1)
                            tried = new[u]
                            new[u] = 0
                            _coins_of(u, batch, indptr, threshold, link, key, links, live, masked)
                            for e in range(indptr[u], indptr[u + 1]):
                                v = target[e]
                                bits = tried & live[e] & ~active[v]
                                if bits:
                                    reached = _activate(v, bits, active, touched, reached)
                                    new[v] |= bits
                                    waiting[v >> 6] |= np.uint64(1) << np.uint64(v & 63)
                                    again |= (v >> 6) < w  # behind this sweep: another one
            else:
                size, steps = seeds.shape[0], 0
                while size > 0 and steps < max_steps:
                    following_size = 0
                    for i in range(size):
                        u = frontier[i]
                        tried = new[u]
                        new[u] = 0
                        _coins_of(u, batch, indptr, threshold, link, key, links, live, masked)
                        for e in range(indptr[u], indptr[u + 1]):
                            v = target[e]
                            bits = tried & live[e] & ~active[v]
                            if bits:
                                reached = _activate(v, bits, active, touched, reached)
                                if upcoming[v] == 0:
                                    following[following_size] = v
                                    following_size += 1
                                upcoming[v] |= bits
                    for i in range(following_size):
                        v = following[i]
                        new[v] = upcoming[v]
                        upcoming[v] = 0
                        frontier[i] = v
                    size = following_size
                    steps += 1
            for i in range(reached):
                v = touched[i]
                counts[b, v] += np.int32(_popcount(active[v]))
                active[v] = 0
                new[v] = 0
                waiting[v >> 6] = 0
    return counts


@numba.njit(cache=True, nogil=True, inline="always")
def _live(limit, key, batch, links, e):  # pragma: no cover - compiled
    """The runs of ``batch`` (bits) in which link e is live: its coin in that run is below ``limit``.

    The 64 runs read their coins for link e bit-sliced: bit j of word i of the link's words is
    the (i + 1)-th binary digit of run j's 53-bit coin. Comparing the coins with ``limit``
    digit by digit, most significant first, decides every run whose digit differs from the
    limit's; each word decides half the undecided runs, so a link needs about 7 words for
    its 64 coins (the digit-by-digit comparison of Knuth & Yao 1976, 64 runs wide), and a run
    is live with probability exactly ``limit / 2^53``. Stops once every run is decided or the
    limit's remaining digits are zero (a coin equal so far is then at least the limit)."""
    if limit >= np.uint64(2**53):  # live whatever the coin
        return ~np.uint64(0)
    live = np.uint64(0)
    undecided = ~np.uint64(0)
    base = (np.uint64(batch) * links + np.uint64(e)) << np.uint64(6)
    for i in range(53):
        place = np.uint64(52 - i)
        word = _coin(key, base + np.uint64(i))
        if (limit >> place) & np.uint64(1):
            live |= undecided & ~word  # coin digit 0 under the limit's 1: below it
            undecided &= word
        else:
            undecided &= ~word  # coin digit 1 over the limit's 0: not below it
        if undecided == 0 or limit & ((np.uint64(1) << place) - np.uint64(1)) == 0:
            break
    return live


@numba.njit(cache=True, nogil=True, inline="always")
def _coin(key, position):  # pragma: no cover - compiled
    """The ``position + 1``-th output of the SplitMix64 stream seeded with ``key`` (64 bits)."""
    z = (position + np.uint64(1)) * _GAMMA + key
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))
