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

    Runs are simulated 64 at a time, one bit each (a compiled kernel, numba): a breadth-first
    search from the seeds serves the 64 runs at once, flipping a coin only for a link out of an
    entity that became active in a run, in that run; so the work follows the cascades' size,
    not ``runs x links x steps``, and the pass over the graph is shared by 64 runs. Blocks of
    batches go to the cores in parallel, each with its own work arrays (40 bytes an entity).

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
    Reproducibility: the coin of link e in run r is the ``(r * links + e + 1)``-th output of
    one SplitMix64 stream whose seed is the single number drawn from ``rng``. A run's
    live-edge world is therefore fixed by (that number, r, W), whatever order the coins are
    looked at in: the same ``rng`` seed gives the same numbers for any chunking or memory
    bound, and a larger ``runs`` keeps the first runs and adds new ones. Links are numbered
    in column-major order of ``W``, so relabelling the entities draws different (equally
    distributed) worlds.

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
    (0.389, 0.403)

    References
    ----------
    .. [1] Kempe, Kleinberg, Tardos, "Maximizing the spread of influence through a social
       network", KDD 2003, section 2 (the independent cascade model; Claim 2.3, live edges).
    .. [2] Wilson, "Probable inference, the law of succession, and statistical inference",
       J. Am. Stat. Assoc. 22:209-212, 1927.
    .. [3] Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
       OOPSLA 2014 (SplitMix64).
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

    batches = -(-runs // _BATCH)
    bounds = np.linspace(0, batches, _block_count(batches) + 1).astype(np.int64)
    with _PARALLEL:
        counts = _simulate(links.indptr, links.target, links.threshold, seed_idx.astype(np.int64), np.int64(runs),
                           bounds, key, np.int64(-1 if max_steps is None else max_steps),
                           links.n).sum(axis=0, dtype=np.int64)
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


# numba's fallback threading layer (workqueue, where neither OpenMP nor TBB is installed) must
# not be entered by two threads at once, as a web server's request threads would: one at a time.
_PARALLEL = threading.Lock()


def _block_count(batches: int) -> int:
    """Blocks of batches simulated in parallel: two per thread, so a slow block does not hold a core idle."""
    return max(1, min(batches, 2 * numba.get_num_threads()))


# Index of the one set bit of a power of two, by De Bruijn multiplication (Leiserson, Prokop &
# Randall 1998): the top 6 bits of bit * _DE_BRUIJN are distinct for the 64 bits.
_DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
_BIT_INDEX = np.zeros(64, dtype=np.int64)
for _bit in range(64):
    _BIT_INDEX[((1 << _bit) * int(_DE_BRUIJN) % 2**64) >> 58] = _bit
_BATCH = 64  # runs per batch: one bit each in a uint64 per entity


@numba.njit(cache=True, nogil=True, inline="always")
def _popcount(x):  # pragma: no cover - compiled
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _simulate(indptr, target, threshold, seeds, runs, bounds, key, max_steps, n):  # pragma: no cover - compiled
    """Batches ``bounds[b]:bounds[b + 1]`` of 64 runs each in block b, blocks in parallel;
    returns per block how many of its runs end with each entity active.

    Bit-parallel: bit r of ``active[v]`` says v is active in run ``64 * batch + r``, and one
    breadth-first pass over the graph serves the 64 runs of a batch, step by step. A link
    u -> v is tried, in the runs where u became active in the previous step and v is not active
    yet, with that run's own coin; so every run sees exactly the live-edge world of a
    one-run-at-a-time search, and the same entities end active.
    """
    blocks = bounds.shape[0] - 1
    counts = np.zeros((blocks, n), dtype=np.int32)  # runs < 2^31
    links = np.uint64(target.shape[0])
    always = np.uint64(2**53)  # a coin is below this threshold whatever it is: no need to draw it
    for b in numba.prange(blocks):
        active = np.zeros(n, dtype=np.uint64)
        new = np.zeros(n, dtype=np.uint64)  # runs in which v became active in the previous step
        upcoming = np.zeros(n, dtype=np.uint64)  # ... in this step
        frontier = np.empty(n, dtype=np.int64)
        following = np.empty(n, dtype=np.int64)
        for batch in range(bounds[b], bounds[b + 1]):
            first = batch * 64
            width = min(64, runs - first)
            full = ~np.uint64(0) if width == 64 else (np.uint64(1) << np.uint64(width)) - np.uint64(1)
            size = 0
            for k in range(seeds.shape[0]):
                v = seeds[k]
                active[v] = full
                new[v] = full
                frontier[size] = v
                size += 1
            if max_steps < 0:
                # No step limit: only the final sets count, so a FIFO queue lets an entity collect
                # the runs several links bring before it is searched from, once for all of them.
                head = 0
                while size > 0:
                    u = frontier[head]
                    head = head + 1 if head + 1 < n else 0
                    size -= 1
                    tried = new[u]
                    new[u] = 0
                    for e in range(indptr[u], indptr[u + 1]):
                        v = target[e]
                        live = _live(tried & ~active[v], threshold[e], key, first, links, e, always)
                        if live:
                            active[v] |= live
                            if new[v] == 0:  # not queued yet
                                frontier[(head + size) % n] = v
                                size += 1
                            new[v] |= live
            steps = 0
            while max_steps >= 0 and size > 0 and steps < max_steps:
                reached = 0
                for i in range(size):
                    u = frontier[i]
                    tried = new[u]
                    new[u] = 0
                    for e in range(indptr[u], indptr[u + 1]):
                        v = target[e]
                        live = _live(tried & ~active[v], threshold[e], key, first, links, e, always)
                        if live:
                            active[v] |= live
                            if upcoming[v] == 0:
                                following[reached] = v
                                reached += 1
                            upcoming[v] |= live
                for i in range(reached):
                    v = following[i]
                    new[v] = upcoming[v]
                    upcoming[v] = 0
                    frontier[i] = v
                size = reached
                steps += 1
            for v in range(n):
                if active[v]:
                    counts[b, v] += np.int32(_popcount(active[v]))
                    active[v] = 0
                    new[v] = 0
    return counts


@numba.njit(cache=True, nogil=True, inline="always")
def _live(candidates, limit, key, first, links, e, always):  # pragma: no cover - compiled
    """Of the runs ``candidates`` (bits), those in which link e is live: its coin in that run
    is below ``limit``."""
    if candidates == 0 or limit >= always:  # no run to try, or live whatever the coin
        return candidates
    live = np.uint64(0)
    while candidates:
        bit = candidates & (~candidates + np.uint64(1))
        run = np.uint64(first + _BIT_INDEX[(bit * _DE_BRUIJN) >> np.uint64(58)])
        if _coin(key, run * links + np.uint64(e)) < limit:
            live |= bit
        candidates ^= bit
    return live


@numba.njit(cache=True, nogil=True, inline="always")
def _coin(key, position):  # pragma: no cover - compiled
    """The ``position + 1``-th output of the SplitMix64 stream seeded with ``key``, cut to its
    top 53 bits (uniform on 0 .. 2^53 - 1)."""
    z = (position + np.uint64(1)) * _GAMMA + key
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return z >> np.uint64(11)
