"""Independent cascade (Kempe, Kleinberg & Tardos 2003): Monte Carlo reach probabilities."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import scipy as sp

__all__ = ["CascadeResult", "cascade", "wilson_interval"]

# Memory bounds: one call needs about 100 MB beyond its input, whatever the graph or runs.
_ACTIVE_BYTES = 64 * 2**20  # the (runs in a chunk) x n boolean "is active" matrix
_PAIRS_PER_BATCH = 2**18  # (run, out-link) coins flipped at once; ~40 bytes each, larger is no faster

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

    Many runs are simulated at once: a chunk of runs shares one boolean (runs x n) matrix,
    and each step draws coins only for the out-links of entities that became active in the
    step before, across all runs of the chunk, so the work is proportional to the cascades'
    size, not to ``runs x links x steps``.

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

    n = links.n
    counts = np.zeros(n, dtype=np.int64)
    chunk = max(1, min(runs, _ACTIVE_BYTES // max(n, 1)))
    for first in range(0, runs, chunk):
        run_ids = np.arange(first, min(first + chunk, runs), dtype=np.uint64)
        counts += _simulate_chunk(links, seed_idx, run_ids, key, max_steps)
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
    return _Links(links.indptr.astype(np.int64), links.indices.astype(np.int64), threshold)


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


def _simulate_chunk(links: _Links, seed_idx: np.ndarray, run_ids: np.ndarray,
                    key: np.uint64, max_steps: int | None) -> np.ndarray:
    """How many of the runs ``run_ids`` end with each entity active."""
    active = np.zeros((run_ids.size, links.n), dtype=bool)
    active[:, seed_idx] = True
    # The frontier is the (run, entity) pairs activated at the previous step, as flat indices.
    frontier = np.flatnonzero(active)
    steps = 0
    while frontier.size and (max_steps is None or steps < max_steps):
        frontier = np.concatenate([_newly_reached(links, active, part, run_ids, key)
                                   for part in _batches(links, frontier)])
        steps += 1
    return active.sum(axis=0)


def _batches(links: _Links, frontier: np.ndarray) -> list[np.ndarray]:
    """Split the frontier so that each part has about ``_PAIRS_PER_BATCH`` out-links to try."""
    ends = np.cumsum(np.diff(links.indptr)[frontier % links.n])
    cuts = np.searchsorted(ends, np.arange(_PAIRS_PER_BATCH, ends[-1], _PAIRS_PER_BATCH), side="right")
    return np.split(frontier, cuts)


def _newly_reached(links: _Links, active: np.ndarray, frontier: np.ndarray,
                   run_ids: np.ndarray, key: np.uint64) -> np.ndarray:
    """Flip the coins of the frontier's out-links, mark the entities they newly activate
    in ``active`` (in place), and return those as flat (run, entity) indices."""
    run, source = np.divmod(frontier, links.n)
    out_degree = links.indptr[source + 1] - links.indptr[source]
    # Every out-link of every frontier pair: its number in CSC order, and its run.
    link = np.repeat(links.indptr[source] - np.cumsum(out_degree) + out_degree, out_degree)
    link += np.arange(link.size)
    run = np.repeat(run, out_degree)
    position = run_ids[run]
    position *= np.uint64(links.target.size)
    position += link.astype(np.uint64)
    live = np.flatnonzero(_coins(key, position) < links.threshold[link])
    target = run[live] * links.n + links.target[link[live]]
    flat = active.reshape(-1)  # a view: active is C-contiguous
    target = np.sort(target[~flat[target]])
    # Drop repeats (an entity hit by several sources at once); sorting then comparing
    # neighbours is far faster here than np.unique, which hashes in NumPy 2.
    target = target[np.r_[True, target[1:] != target[:-1]]] if target.size else target
    flat[target] = True
    return target


def _coins(key: np.uint64, position: np.ndarray) -> np.ndarray:
    """The ``position + 1``-th outputs of the SplitMix64 stream seeded with ``key``, cut to
    their top 53 bits (uniform on 0 .. 2^53 - 1). Overwrites ``position``."""
    z = position
    z += np.uint64(1)
    z *= _GAMMA
    z += key
    z ^= z >> np.uint64(30)
    z *= _MIX1
    z ^= z >> np.uint64(27)
    z *= _MIX2
    z ^= z >> np.uint64(31)
    z >>= np.uint64(11)
    return z
