"""What-if by forward push, explanation by reverse push, and the score table's echo by both:
one column, one row or diagonal entries of ``(I - damping W)^-1``, computed where they are
large rather than over the whole graph.

The spread model is linear, ``x = (I - damping W)^-1 s``, so adding ``amount`` to ``s[u]``
changes ``x`` by ``amount`` times column u of ``(I - damping W)^-1`` (forward push, from the
source outwards), and ``x[v]`` splits into one contribution per penalised entity given by row v
(reverse push, from the entity backwards along the links that reach it). Both stop once what
is left to spread is provably below the requested accuracy, so their cost follows the region
that matters, and both are compiled (numba): a push follows links one at a time from a queue.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numba
import numpy as np
import scipy as sp

from graphscore.engine.prefetch import prefetch
from graphscore.engine.spread import Contraction, contraction, spread
from graphscore.errors import ConvergenceError

__all__ = ["WorkArrays", "work_arrays_of", "LocalChange", "HubBound", "hub_bound", "push_column", "local_change", "Influence", "influence", "Diagonal", "push_diagonal", "ReturnBound", "return_bound"]


# Flags of an entity in a push's ``state`` byte.
_SEEN, _QUEUED = 1, 2
# The touched entities are listed in order by scanning every entity's flags once they are more
# than this share of them (a pass over n bytes), by sorting them when fewer.
_SCAN_SHARE = 1 / 32
# A push asks for the column start of the entity this many places down its queue, and for the
# column, pair and estimate of the one half as far (engine/prefetch.py): timed against the same
# kernel without, interleaved, on the diffusion W of a 10^7-link synthetic registry, forward push
# took 0.5 to 0.6 of the time, 8 and 16 places alike.
_AHEAD = 8
# A forward push pushes the entities above 256, then 16 times its threshold first, and then down to
# it: residuals pile up on an entity before it is pushed, instead of each being pushed on as
# it comes. On the diffusion W of a 10^7-link synthetic registry (8 lifted penalties) it
# followed 16 to 27 % fewer links than one FIFO pass at accuracies 1e-2 to 1e-4 (3 to 5 rungs of
# 4 to 64 times did about as well).
_LADDER = 16.0
_RUNGS = 3
# A forward push given a HubBound first pushes to _COARSE times its threshold and checks the error
# bound of what is left; while the bound is above the accuracy asked for, it pushes on to a lower
# threshold, aimed at _AIM of that accuracy (the bound grows about in proportion to the threshold).
_COARSE = 32.0
_AIM = 0.8
# HubBound groups by rank of certificate weight: the largest alone, then the next 7, 24 and 96, each
# group bounded by one transposed solve (see there). On the diffusion W of 10^6- and 10^7-link
# synthetic registries these left a bound of 0.75 and 0.35 of the accuracy at 16 and 32 times the
# threshold, where groups (1, 16) left 1.44 and 0.81 (the entities past 16 bounded by their weight).
_HUB_GROUPS = (1, 8, 32, 128)
# Accuracy of those solves, relative to their largest entry (their proven error is added).
_HUB_TOL = 1e-6


class WorkArrays:
    """The n-long work arrays of a push, kept zeroed between pushes so that the next one reuses
    them: estimate ``p``, the pairs ``rw`` (residual, weight) of every entity, a byte of flags
    per entity (seen, queued), a queue and the list of entities touched.

    A push writes a few entries scattered over arrays of n: fresh zeroed arrays cost a page
    fault for every page a write lands on, and on a register of 10^7 links a push reaching a few
    thousand entities lands on most pages of them. Kept, the arrays cost nothing per push but
    clearing the entries it touched.

    Every link a push follows reads and writes the residual of the entity at its far end and
    reads that entity's weight (the scale of its threshold) and flags: the residual and the
    weight side by side in one pair and the flags in one byte, a link costs one cache line of
    the entity's instead of four separate arrays' (on the diffusion W of a 10^7-link synthetic
    registry, where those arrays are many times the cache, a forward push over four separate
    arrays followed a link in 51 to 64 ns, most of it waiting for memory). The weight column is
    filled again when a push weighs by another vector than the last one (a forward push weighs
    entities by the certificate, a reverse push by the scores): a pass over n, 4.5 ms at 10^7
    links, where a second pair kept for the other vector would hold 16 bytes an entity more
    (5.1 bytes a link under diffusion). One push at a time uses them; a push that finds them in use
    (another thread's) makes its own.
    """

    def __init__(self, n: int):
        self.n = n
        self._lock = threading.Lock()
        self._shared: tuple[np.ndarray, ...] | None = None
        self._weights: np.ndarray | None = None  # what the kept pair's weight column holds

    @staticmethod
    def _pairs_of(weights: np.ndarray) -> np.ndarray:
        rw = np.empty((weights.shape[0], 2))
        rw[:, 0], rw[:, 1] = 0.0, weights
        return rw

    @staticmethod
    def _fresh(n: int, weights: np.ndarray) -> tuple[np.ndarray, ...]:
        index = _index_type(n)
        return (np.zeros(n), WorkArrays._pairs_of(weights), np.zeros(n, dtype=np.uint8),
                np.empty(n, dtype=index), np.empty(n, dtype=index))

    def _kept(self, weights: np.ndarray) -> tuple[np.ndarray, ...]:
        if self._shared is None:
            # np.zeros maps zeroed pages lazily (a push would pay for the pages it writes): the
            # kept arrays are written through once (np.full), so that no push pays for a page again
            self._shared = (np.full(self.n, 0.0), self._pairs_of(weights), np.full(self.n, 0, dtype=np.uint8),
                            np.empty(self.n, dtype=_index_type(self.n)), np.empty(self.n, dtype=_index_type(self.n)))
        elif self._weights is not weights:
            self._shared[1][:, 1] = weights  # the residuals are zero between pushes
        self._weights = weights
        return self._shared

    @contextlib.contextmanager
    def borrow(self, weights: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
        """``(p, rw, state, queue, touched)`` for a push weighing entities by ``weights`` (a
        float64 array of n, kept by the caller unchanged while it is in use): ``p``, ``rw[:, 0]``
        and ``state`` zeroed, ``rw[:, 1]`` the weights. The caller must zero again the entries it
        wrote, which lie among ``touched`` (:func:`_collect`)."""
        if not self._lock.acquire(blocking=False):
            yield self._fresh(self.n, weights)
            return
        try:
            yield self._kept(weights)
        finally:
            self._lock.release()


def _index_type(n: int) -> type:
    """The queue's and the touched list's entries: int32 while entities fit (kept with a
    projection, 8 bytes an entity fewer than int64), as W's indices are."""
    return np.int32 if n < 2**31 else np.int64


def work_arrays_of(projection) -> WorkArrays:
    """The push work arrays kept with a projection (:attr:`graphscore.engine.matrix.Projection.derived`)."""
    return projection.derived.setdefault(("push work arrays",), WorkArrays(projection.n))


def _arrays(work: WorkArrays | None, n: int, weights: np.ndarray):
    """Work arrays for one push on a W of n entities weighing them by ``weights``: borrowed
    from ``work`` when given (and of this n), else fresh."""
    if weights.shape != (n,):
        raise ValueError(f"the push's weights are for {weights.shape[0]} entities, W has {n}.")
    if work is not None and work.n != n:
        raise ValueError(f"work arrays are for {work.n} entities, W has {n}.")
    return work.borrow(weights) if work is not None else contextlib.nullcontext(WorkArrays._fresh(n, weights))


@numba.njit(cache=True, nogil=True)
def _collect(count, p, rw, state, touched):  # pragma: no cover - compiled
    """The ``count`` entities a push touched, in order, with their estimates and residuals;
    zeroes their entries of ``p``, ``rw[:, 0]`` and ``state`` again."""
    n = p.shape[0]
    indices = np.empty(count, dtype=np.int64)
    if count > _SCAN_SHARE * n:
        k = 0
        for w in range(n):
            if state[w] != 0:
                indices[k] = w
                k += 1
    else:
        indices[:] = np.sort(touched[:count])
    estimates = np.empty(count)
    residuals = np.empty(count)
    for k in range(count):
        w = indices[k]
        estimates[k], residuals[k] = p[w], rw[w, 0]
        p[w], rw[w, 0], state[w] = 0.0, 0.0, 0
    return indices, estimates, residuals


@dataclass(frozen=True)
class LocalChange:
    """The change in spread scores from a change in own penalties, at the entities it reached.

    Attributes
    ----------
    indices : (k,) ndarray of int
        Entities the push reached (sources included), sorted; every other entity's change
        was taken as 0.
    values : (k,) ndarray
        Change in ``x`` at those entities.
    pushes : int
        Push operations performed (an entity pushed several times counts each time).
    error : float
        Proven bound on the error at any one entity, reached or not (see :func:`push_column`,
        Notes); ``inf`` when the push gave up (``complete`` False).
    complete : bool
        False when the push stopped at its ``budget`` of links or its ``reach`` of entities,
        before reaching the accuracy asked for: the change reaches too much of the graph to be
        worth pushing.
    links : int
        Links followed.
    """

    indices: np.ndarray
    values: np.ndarray
    pushes: int
    error: float
    complete: bool = True
    links: int = 0


@dataclass(frozen=True)
class HubBound:
    """What bounds a forward push's error at the entities that collect most (:func:`hub_bound`).

    Attributes
    ----------
    returns : (n, g) float32 ndarray
        Column j is at least ``sum_{k in group j} |G'|[k, :]`` entrywise, ``|G'| = (I - damping
        |W|)^-1 - I``: what one unit of residual left at each entity adds to the group's errors.
    rest : float
        ``c / (1 - c)`` times the largest certificate weight outside the groups (c the rate).
    hubs : (k,) ndarray of int
        The entities in the groups, group after group.
    """

    returns: np.ndarray
    rest: float
    hubs: np.ndarray


def hub_bound(W: sp.sparse.sparray, *, damping: float, certificate: Contraction,
              left_certificate: Contraction | None = None) -> HubBound:
    """The :class:`HubBound` of W at ``damping`` for pushes weighing residuals by
    ``certificate``: its entities of largest weight in groups (:data:`_HUB_GROUPS`), one solve
    with the transpose of ``|W|`` per group.

    Row k of ``G = (I - damping |W|)^-1`` is the solution y of ``y = e_k + damping |W|^T y``, so a
    group's sum of rows is one solve with ``|W|^T`` (:func:`graphscore.engine.spread.spread`, to
    :data:`_HUB_TOL` of its largest entry, that proven error added, the identity taken off, and
    rounded up to float32). ``left_certificate`` is :func:`graphscore.engine.spread.contraction`
    of ``W.T`` at ``damping`` (cached per projection), computed here when None.

    Examples
    --------
    A company whose penalty reaches its two representatives, half each, and each of them passing
    theirs back in full: at damping 0.5 a unit left at either of them adds 0.5 + 0.125 + ... = 2/3
    to the company's score, and one left at the company comes back as 0.25 + 0.0625 + ... = 1/3.

    >>> W = sp.sparse.csr_array(([1.0, 1.0, 0.5, 0.5], ([0, 0, 1, 2], [1, 2, 0, 0])), shape=(3, 3))
    >>> bound = hub_bound(W, damping=0.5, certificate=contraction(W, 0.5))
    >>> bound.hubs.tolist(), bound.returns[:, 0].astype(float).round(4).tolist(), bound.rest
    ([0, 1, 2], [0.3333, 0.6667, 0.6667], 0.0)
    >>> bool(np.all(bound.returns[:, 0] >= [1 / 3, 2 / 3, 2 / 3]))  # from above
    True
    """
    columns = _as_csc(W)
    n = columns.shape[0]
    # |W|^T in compressed rows is |W| in compressed columns, read the other way
    transposed = sp.sparse.csr_array((np.abs(columns.data), columns.indices, columns.indptr), shape=(n, n))
    left_certificate = left_certificate if left_certificate is not None else contraction(transposed, damping)
    order = np.argsort(-certificate.weights, kind="stable")
    edges = [0] + [min(edge, n) for edge in _HUB_GROUPS]
    returns = np.zeros((n, len(_HUB_GROUPS)), dtype=np.float32)
    for j, (lo, hi) in enumerate(zip(edges, edges[1:])):
        if lo == hi:
            continue
        group = np.zeros(n)
        group[order[lo:hi]] = 1.0
        rows = spread(transposed, group, damping=damping, tol=_HUB_TOL, certificate=left_certificate)
        rows += _HUB_TOL * rows.max() - group
        column = np.maximum(rows, 0.0).astype(np.float32)
        # float32 rounds to nearest: where it rounded down, the next float32 up
        returns[:, j] = np.where(column < rows, np.nextafter(column, np.float32(np.inf)), column)
    ratio = certificate.rate / (1 - certificate.rate)
    rest = ratio * float(certificate.weights[order[edges[-1]]]) if edges[-1] < n else 0.0
    return HubBound(returns, rest, order[:edges[-1]].copy())  # a copy: a view would keep all of order


@numba.njit(cache=True, nogil=True, inline="always")
def _fetch_ahead(queue, head, size, indptr, indices, data, p, rw):  # pragma: no cover - compiled
    """Ask for what the pushes down the queue from ``head`` will read (:data:`_AHEAD`)."""
    if size > _AHEAD:
        n = queue.shape[0]
        far, near = head + _AHEAD, head + _AHEAD // 2
        prefetch(indptr, queue[far if far < n else far - n])
        u = queue[near if near < n else near - n]
        start = indptr[u]
        prefetch(indices, start)
        prefetch(data, start)
        prefetch(rw, u)
        prefetch(p, u)


@numba.njit(cache=True, nogil=True, inline="always")
def _backward_round(indptr, indices, data, damping, q, pairs, state, queue, touched, reached, threshold, power,
                    column, stat, floor, followed, ratio):  # pragma: no cover - compiled
    """One round of a backward push along W's rows (``pairs[w, 0]`` the residual ``y_w``): every
    reached entity with ``y_w^power * pairs[w, column]`` above ``threshold`` queued, then each
    popped entity's residual moved to ``q`` and spread, ``damping * W[w, u] y_w`` to each u of its
    row, from a ring queue in which an entity is at most once (``state``: seen, queued). A
    running ``stat = sum_w pairs[w, 1] y_w^power`` stops the round once it is at most ``floor``
    or ``followed``, the links followed so far, reaches ``ratio * stat`` (never, for ``ratio``
    inf and ``stat`` above 0). The queue's leftovers are marked seen again. Returns the entities
    reached and the links followed; the caller takes its sums afresh (the running one subtracts
    many small amounts). :func:`_diagonal` pushes ``r_b`` weighed by ``h`` (power 1),
    :func:`graphscore.engine.reversible.reversible_diagonal` ``y`` weighed by ``d`` (power 2)."""
    n = q.shape[0]
    head, tail, size = 0, 0, 0
    for j in range(reached):
        w = touched[j]
        residual = pairs[w, 0]
        if (residual if power == 1 else residual * residual) * pairs[w, column] > threshold:
            state[w] = _SEEN | _QUEUED
            queue[tail] = w
            tail = tail + 1 if tail + 1 < n else 0
            size += 1
    while size > 0:
        _fetch_ahead(queue, head, size, indptr, indices, data, q, pairs)
        w = queue[head]
        head = head + 1 if head + 1 < n else 0
        size -= 1
        state[w] = _SEEN
        pushed = pairs[w, 0]
        pairs[w, 0] = 0.0
        q[w] += pushed
        stat -= pairs[w, 1] * (pushed if power == 1 else pushed * pushed)
        spreading = damping * pushed
        start, end = np.int64(indptr[w]), np.int64(indptr[w + 1])
        followed += end - start
        for e in range(start, end):
            u = np.int64(indices[e])
            before = pairs[u, 0]
            added = spreading * data[e]
            residual = before + added
            pairs[u, 0] = residual
            stat += pairs[u, 1] * (added if power == 1 else residual * residual - before * before)
            flags = state[u]
            if flags & _QUEUED:
                continue
            if flags == 0:
                touched[reached] = u
                reached += 1
            if (residual if power == 1 else residual * residual) * pairs[u, column] > threshold:
                state[u] = _SEEN | _QUEUED
                queue[tail] = u
                tail = tail + 1 if tail + 1 < n else 0
                size += 1
            else:
                state[u] = _SEEN
        if stat <= floor or followed >= ratio * stat:
            break  # mid-round
    for j in range(size):
        at = head + j
        state[queue[at if at < n else at - n]] = _SEEN
    return reached, followed


@numba.njit(cache=True, nogil=True, inline="always")
def _seed(sources, amounts, rw, state, touched):  # pragma: no cover - compiled
    """Put ``amounts`` on the residuals of ``sources`` (``rw[:, 0]`` and ``state`` zeroed);
    returns the number of entities touched."""
    count = 0
    for k in range(sources.shape[0]):
        u = sources[k]
        rw[u, 0] += amounts[k]
        if state[u] == 0:
            state[u] = _SEEN
            touched[count] = u
            count += 1
    return count


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _rungs(indptr, indices, data, damping, eps, ceiling, budget, most, count, pushes, links, distinct,
           p, rw, state, queue, touched):  # pragma: no cover - compiled
    """Forward push from a FIFO queue: push w while ``|r[w]| > eps * weight[w]`` (``rw[w]`` is
    the pair), giving up past ``budget`` links followed or ``most`` entities pushed, in rungs
    (:data:`_RUNGS`): first while above a threshold :data:`_LADDER` times higher, and so on down;
    rungs at or above ``ceiling`` (the threshold an earlier call pushed down to) are skipped.
    Goes on from the ``count`` entities touched, ``pushes``, ``links`` and ``distinct`` entities
    pushed so far; returns them and whether the push completed."""
    n = p.shape[0]
    head = 0
    tail = 0  # the queue is a ring of n: an entity is in it at most once
    size = 0
    for rung in range(_RUNGS - 1, -1, -1):
        threshold = eps * _LADDER ** rung
        if threshold >= ceiling:
            continue
        for k in range(count):  # the queue is empty: every touched entity above this rung's threshold
            u = touched[k]
            if abs(rw[u, 0]) > threshold * rw[u, 1]:
                state[u] = _SEEN | _QUEUED
                queue[tail] = u
                tail = tail + 1 if tail + 1 < n else 0
                size += 1
        while size > 0:
            _fetch_ahead(queue, head, size, indptr, indices, data, p, rw)
            u = queue[head]
            head = head + 1 if head + 1 < n else 0
            size -= 1
            state[u] = _SEEN
            pushed = rw[u, 0]
            rw[u, 0] = 0.0
            if p[u] == 0.0:
                distinct += 1  # entities pushed at least once: their change is above the accuracy asked for
            p[u] += pushed
            pushes += 1
            spreading = damping * pushed
            start, end = np.int64(indptr[u]), np.int64(indptr[u + 1])
            links += end - start
            for q in range(start, end):
                w = np.int64(indices[q])
                residual = rw[w, 0] + spreading * data[q]
                rw[w, 0] = residual
                flags = state[w]
                if flags & _QUEUED:
                    continue
                if flags == 0:
                    touched[count] = w
                    count += 1
                if abs(residual) > threshold * rw[w, 1]:
                    state[w] = _SEEN | _QUEUED
                    queue[tail] = w
                    tail = tail + 1 if tail + 1 < n else 0
                    size += 1
                else:
                    state[w] = _SEEN
            if links > budget or distinct > most:
                return count, pushes, links, distinct, False
    return count, pushes, links, distinct, True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _forward(indptr, indices, data, damping, sources, amounts, eps, budget, most,
             p, rw, state, queue, touched):  # pragma: no cover - compiled
    """Forward push of ``amounts`` at ``sources`` down to threshold ``eps`` (:func:`_rungs`);
    ``p``, ``rw[:, 0]`` and ``state`` come zeroed; returns (entities touched, pushes, links,
    complete)."""
    count = _seed(sources, amounts, rw, state, touched)
    count, pushes, links, _, complete = _rungs(indptr, indices, data, damping, eps, np.inf, budget, most,
                                               count, 0, 0, 0, p, rw, state, queue, touched)
    return count, pushes, links, complete


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _left(count, rw, touched, returns):  # pragma: no cover - compiled
    """Of the residuals left on the ``count`` touched entities: the largest over its weight
    (``rw[:, 1]``, where positive), and the largest of ``sum_w returns[w, j] |r[w]|`` over the
    columns j of ``returns`` (0 when it has none)."""
    top = 0.0
    groups = returns.shape[1]
    sums = np.zeros(groups)
    for k in range(count):
        w = touched[k]
        residual = abs(rw[w, 0])
        if rw[w, 1] > 0.0:
            top = max(top, residual / rw[w, 1])
        for j in range(groups):
            sums[j] += returns[w, j] * residual
    return top, sums.max() if groups else 0.0


@numba.njit(cache=True, nogil=True, inline="always")
def _bound(top, grouped, rest, ratio):  # pragma: no cover - compiled
    """The error bound of a push that left residuals of at most ``top`` times their weights,
    and ``grouped`` the largest of its residuals weighed by a group's returns
    (:class:`HubBound`): ``ratio * top`` anywhere, and at most ``grouped`` at the hubs and
    ``rest * top`` elsewhere."""
    return min(ratio * top, max(grouped, rest * top))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _checked(indptr, indices, data, damping, sources, amounts, eps, coarse, returns, rest, ratio, target,
             budget, most, p, rw, state, queue, touched):  # pragma: no cover - compiled
    """Forward push to threshold ``coarse * eps`` first, then checked: while the error bound of
    what is left (:func:`_bound`) is above ``target``, pushed on from where it is to a lower
    threshold, aimed at the bound ``target`` by :data:`_AIM` and at most half the last one, and
    never below ``eps`` (where ``ratio * eps <= target`` holds whatever the bound's other
    terms). Returns (entities touched, pushes, links, complete, error bound)."""
    count = _seed(sources, amounts, rw, state, touched)
    pushes = links = distinct = 0
    scale = coarse
    ceiling = np.inf
    while True:
        count, pushes, links, distinct, complete = _rungs(indptr, indices, data, damping, scale * eps, ceiling,
                                                          budget, most, count, pushes, links, distinct,
                                                          p, rw, state, queue, touched)
        if not complete:
            return count, pushes, links, False, np.inf
        top, grouped = _left(count, rw, touched, returns)
        error = _bound(top, grouped, rest, ratio)
        if error <= target or scale <= 1.0:
            return count, pushes, links, True, error
        ceiling = scale * eps
        scale = max(1.0, min(scale / 2, scale * _AIM * target / error))


def push_column(W: sp.sparse.sparray, source: int, amount: float = 1.0, *, damping: float,
                tol: float = 1e-9, certificate: Contraction | None = None, hubs: HubBound | None = None,
                budget: int | None = None, reach: int | None = None, work: WorkArrays | None = None) -> LocalChange:
    """Change in spread scores when ``amount`` is added to the own penalty of ``source``.

    The exact change is ``amount * (I - damping W)^-1 e_source``. Forward push keeps an
    estimate ``p`` and a residual ``r`` (initially ``r = amount e_source``) with the invariant
    ``exact = p + (I - damping W)^-1 r``, and pushes entities w whose residual is above a
    threshold: ``p[w] += r[w]``, ``r[y] += damping W[y, w] r[w]`` for each y that w's penalty
    reaches, ``r[w] = 0``. What is left in ``r`` at the end is added to ``p`` (it is the first
    term of its own spread), so the error is the rest, ``sum_{k>=1} (damping W)^k r``.

    Parameters
    ----------
    W : (n, n) sparse array
        Transmission matrix; ``W[v, u]`` is the part of u's penalty reaching v in one step.
        A float64 or float32 CSC array is used as is; any other format is converted on every call, a pass
        over all of W: convert once when pushing many columns.
    source : int
        Index of the entity whose own penalty changes.
    amount : float
        Change of ``s[source]``; negative to lift a penalty.
    damping : float
        Attenuation per hop, in [0, 1): the policy's, so it has no default.
    tol : float
        Accuracy: the change at every entity is within ``tol * |amount|`` of the exact one,
        proven (Notes); > 0.
    certificate : Contraction, optional
        :func:`graphscore.engine.spread.contraction` of this W and damping (cached per
        projection); computed here when None, a few products with all of W.
    hubs : HubBound, optional
        :func:`hub_bound` of this W, damping and certificate (kept with the projection): the
        push stops as soon as the bound at the hubs allows (Notes). None: it pushes down to the
        threshold the certificate alone proves.
    budget : int, optional
        Give up after following this many links (``complete`` False, ``error`` inf): the caller
        then solves instead. None: no limit.
    reach : int, optional
        Give up, likewise, once the push has pushed more than this many entities (each had a
        residual above the accuracy asked for): the change reaches that much of the graph.
        None: no limit.
    work : WorkArrays, optional
        Work arrays of W's n to reuse (kept with a projection); fresh ones when None.

    Returns
    -------
    LocalChange

    Raises
    ------
    ValueError
        If a parameter is out of range, ``W`` is not square, or ``source`` is not an entity.
    ConvergenceError
        If ``damping * rho(W) >= 1`` (from the certificate).

    See Also
    --------
    local_change : several sources at once.
    graphscore.engine.spread.spread : the full solve this approximates.

    Notes
    -----
    *Error.* The certificate gives weights ``v > 0`` (largest 1) and ``c < 1`` with
    ``damping |W| v <= c v``; in the norm ``||y||_v = max_i |y_i| / v_i`` one hop shrinks
    everything by ``c``, so the error ``sum_{k>=1} (damping W)^k r`` is at most
    ``c / (1 - c) ||r||_v`` in that norm, and at entity i at most ``v_i`` times that. The push
    therefore pushes w while ``|r[w]| > eps v_w`` with ``eps = tol |amount| (1 - c) / c``, and
    ``error`` is the bound computed from the residual actually left. Weighting by ``v``
    matters at hubs: an entity that collects from 20,000 others gets 20,000 residuals below a
    uniform threshold, and a uniform threshold let its error reach 1e4 times the threshold.

    *Error at the hubs.* That bound is reached only where every residual the error collects
    from is at the threshold. The error at entity k is ``sum_w |G'[k, w]| |r_w|`` with
    ``G' = (I - damping W)^-1 - I`` (entrywise at most its ``|W|`` counterpart): at the few
    entities whose weight ``v`` is near 1 (those that collect from much of the register) the
    residuals left are a small part of what they collect from, and the error is far below
    ``c / (1 - c) ||r||_v``. Given ``hubs`` (:func:`hub_bound`: for each group of them a vector
    ``q >= sum_{k in group} |G'|[k, :]``, one transposed solve, kept with the projection) the
    error is at most ``max_group q . |r|`` at them and ``c / (1 - c) ||r||_v`` times the largest
    weight of the others elsewhere. Both terms are known once the push stops, so the push starts
    at a threshold :data:`_COARSE` times higher, computes that bound, and pushes on to lower
    thresholds only while it is above ``tol |amount|``: never further than the push without
    ``hubs``, whose bound still holds. At an entity alone in its group the bound is its error
    itself, up to the solve's tolerance; like the certificate's bound it is the error of the
    push in exact arithmetic, and the float64 rounding of its sums comes on top (1.4e-12 at a
    change of 50 after 6 million pushes, ``tests/engine/test_push.py``). On the diffusion W of synthetic registries at accuracy
    1e-3, random lifted penalties pushed to 16 times the threshold at 10^6 links and to 32 times
    at 10^7 left a bound of at most 0.75 and 0.35 of the accuracy (the certificate's: 16 and 32)
    and followed 6.7 and 11.8 times fewer links than pushes to the threshold.

    *Locality.* The cost follows the region the change reaches above the thresholds, not the
    graph; that region can be most of the graph (registries are one giant component with
    cycles): ``budget`` and ``reach`` bound the work and
    :func:`graphscore.analysis.whatif.change_scores` solves instead when either runs out.

    Examples
    --------
    A chain 0 -> 1 -> 2, each link passing half a penalty on:

    >>> W = sp.sparse.csr_array(([0.5, 0.5], ([1, 2], [0, 1])), shape=(4, 4))
    >>> change = push_column(W, 0, 2.0, damping=0.8)
    >>> change.indices.tolist(), change.values.round(6).tolist(), change.error
    ([0, 1, 2], [2.0, 0.8, 0.32], 0.0)

    Lifting the penalty is the same change with the opposite sign:

    >>> push_column(W, 0, -2.0, damping=0.8).values.round(6).tolist()
    [-2.0, -0.8, -0.32]

    References
    ----------
    .. [1] Andersen, Chung, Lang, "Local graph partitioning using PageRank vectors",
       FOCS 2006 (the push operation).
    .. [2] Jeh, Widom, "Scaling personalized web search", WWW 2003 (linearity: the change
       from several sources is the sum of their columns).
    .. [3] Horn, Johnson, *Matrix Analysis*, 2nd ed., 2013, Theorem 8.1.26 (the weighted norm
       in which a non-negative matrix contracts by its Collatz-Wielandt bound).
    """
    _check_tuning(damping, tol)
    W = _as_csc(W)
    n = W.shape[0]
    if isinstance(source, bool) or not isinstance(source, numbers.Integral) or not 0 <= source < n:
        raise ValueError(f"source must be an entity index in [0, {n}), got {source!r}.")
    if not isinstance(amount, numbers.Real) or not math.isfinite(amount):
        raise ValueError(f"amount must be a finite number, got {amount!r}.")
    return _push(W, np.array([source]), np.array([float(amount)]), damping, tol, certificate, hubs, budget, reach,
                 work)


def local_change(W: sp.sparse.sparray, changes: Mapping[int, float], *, damping: float,
                 tol: float = 1e-9, certificate: Contraction | None = None, hubs: HubBound | None = None,
                 budget: int | None = None, reach: int | None = None, work: WorkArrays | None = None) -> LocalChange:
    """Change in spread scores when several own penalties change at once.

    ``changes`` maps an entity index to the change of its own penalty. By linearity the
    result is the sum of :func:`push_column` over the sources, but one push serves them all:
    residuals from different sources meeting at an entity are pushed together (and cancel
    where a lift meets a new penalty). The change at every entity is within
    ``tol * sum(|amount|)`` of the exact one; everything else is as in :func:`push_column`.

    Parameters
    ----------
    W : (n, n) sparse array
        Transmission matrix, as in :func:`push_column`.
    changes : mapping of int to float
        ``{entity index: change of its own penalty}``; negative to lift.
    damping, tol, certificate, hubs, budget, reach, work
        As in :func:`push_column`.

    Returns
    -------
    LocalChange

    Raises
    ------
    ValueError
        If a parameter is out of range, ``W`` is not square, or a key is not an entity or a
        value is not finite.

    Examples
    --------
    Entity 1 passes its penalty on to 0 and 2; a new penalty on 0 and a lifted one on 1:

    >>> W = sp.sparse.csr_array(([1.0, 1.0], ([0, 2], [1, 1])), shape=(3, 3))
    >>> change = local_change(W, {0: 1.0, 1: -1.0}, damping=0.5)
    >>> change.indices.tolist(), change.values.tolist()
    ([0, 1, 2], [0.5, -1.0, -0.5])
    """
    _check_tuning(damping, tol)
    W = _as_csc(W)
    n = W.shape[0]
    for source, amount in changes.items():
        if isinstance(source, bool) or not isinstance(source, numbers.Integral) or not 0 <= source < n:
            raise ValueError(f"changes must map entity indices in [0, {n}) to amounts, got key {source!r}.")
        if not isinstance(amount, numbers.Real) or not math.isfinite(amount):
            raise ValueError(f"change amounts must be finite numbers, got {amount!r} for entity {source}.")
    sources = np.fromiter(changes.keys(), dtype=np.int64, count=len(changes))
    amounts = np.fromiter(changes.values(), dtype=float, count=len(changes))
    return _push(W, sources, amounts, damping, tol, certificate, hubs, budget, reach, work)


def _check_tuning(damping: float, tol: float) -> None:
    if not 0 <= damping < 1:
        raise ValueError(f"damping must be in [0, 1), got {damping}.")
    if not (isinstance(tol, numbers.Real) and 0 < tol < math.inf):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}.")


def _as_csc(W: sp.sparse.sparray) -> sp.sparse.csc_array:
    # Column v of W lists the entities v's penalty reaches; CSC stores it contiguously.
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}.")
    if isinstance(W, sp.sparse.csc_array) and W.dtype in (np.float64, np.float32):  # float32: summed in float64
        return W
    return sp.sparse.csc_array(W, dtype=float)


def _push(W: sp.sparse.csc_array, sources: np.ndarray, amounts: np.ndarray, damping: float,
          tol: float, certificate: Contraction | None, hubs: HubBound | None, budget: int | None,
          reach: int | None, work: WorkArrays | None) -> LocalChange:
    n = W.shape[0]
    if certificate is None:
        certificate = contraction(W, damping)
    rate = certificate.rate
    if not rate < 1:  # a threshold from it would be negative: the push would never stop
        raise ConvergenceError(f"the certificate given proves no convergence (rate {rate:g} >= 1).")
    if hubs is not None and hubs.returns.shape[0] != n:
        raise ValueError(f"hubs are for {hubs.returns.shape[0]} entities, W has {n}.")
    scale = float(np.abs(amounts).sum())
    ratio = rate / (1 - rate)
    # eps in the v-norm: an error of at most rate / (1 - rate) * eps = tol * scale (push_column, Notes)
    eps = tol * scale / ratio if rate > 0 else math.inf
    # without hubs the bound is ratio * (largest residual over its weight): one pass at eps
    returns, rest, coarse = ((hubs.returns, hubs.rest, _COARSE) if hubs is not None
                             else (np.zeros((n, 0), dtype=np.float32), ratio, 1.0))
    with _arrays(work, n, certificate.weights) as (p, rw, state, queue, touched):
        count, pushes, links, complete, error = _checked(
            W.indptr, W.indices, W.data, damping, sources.astype(np.int64), amounts.astype(float),
            eps, coarse, returns, rest, ratio, tol * scale,
            np.int64(budget if budget is not None else np.iinfo(np.int64).max),
            np.int64(reach if reach is not None else n), p, rw, state, queue, touched)
        reached, estimates, left = _collect(count, p, rw, state, touched)
    return LocalChange(reached, estimates + left, int(pushes), float(error), bool(complete), int(links))


@dataclass(frozen=True)
class Influence:
    """Row ``target`` of ``(I - damping W)^-1``, as far as it matters to the target's score.

    Attributes
    ----------
    indices : (k,) ndarray of int
        Entities reached backwards from the target (itself included), sorted.
    values : (k,) ndarray
        ``G[target, u]`` from below: what one unit of own penalty at u adds to the target's score.
    unattributed : float
        The part of the target's score not yet attributed to any source (also when the push
        stopped at its budget),
        ``x[target] - sum_u values[u] s[u] = sum_w r_w x_w >= 0``; each contribution is short by
        at most this much, and all of them together by exactly this much.
    pushes : int
    complete : bool
        False when the push stopped at its budget before reaching the accuracy asked for.
    """

    indices: np.ndarray
    values: np.ndarray
    unattributed: float
    pushes: int
    complete: bool = True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _reverse(indptr, indices, data, damping, target, own, goal, budget,
             p, rw, state, queue, touched):  # pragma: no cover - compiled
    """Reverse push from ``target`` until ``sum_w r_w scores_w <= goal`` (``rw[w]`` is the pair
    (r_w, scores_w)); returns (touched, pushes, links, what is left unattributed, complete).
    Pushes an entity only while its residual times its score is above a threshold lowered by
    10 each round until the goal is met."""
    n = p.shape[0]
    rw[target, 0] = 1.0
    state[target] = _SEEN
    touched[0] = target
    count = 1
    left = rw[target, 1]  # sum_w r_w scores_w: the part of the score not yet attributed
    threshold = left / 10
    pushes = 0
    links = 0
    while left > goal:
        head = 0
        tail = 0
        size = 0
        for k in range(count):
            w = touched[k]
            if rw[w, 0] * rw[w, 1] > threshold:
                state[w] = _SEEN | _QUEUED
                queue[tail] = w
                tail = tail + 1 if tail + 1 < n else 0
                size += 1
        while size > 0:
            _fetch_ahead(queue, head, size, indptr, indices, data, p, rw)
            w = queue[head]
            head = head + 1 if head + 1 < n else 0
            size -= 1
            state[w] = _SEEN
            pushed = rw[w, 0]
            rw[w, 0] = 0.0
            p[w] += pushed
            pushes += 1
            # pushing w attributes pushed * own[w] to w's penalty, and moves the rest backwards
            left -= pushed * own[w]
            spreading = damping * pushed
            start, end = np.int64(indptr[w]), np.int64(indptr[w + 1])
            links += end - start
            for q in range(start, end):
                u = np.int64(indices[q])
                score = rw[u, 1]
                if score == 0.0:
                    continue  # nothing reaches u, so u contributes nothing to anyone
                residual = rw[u, 0] + spreading * data[q]
                rw[u, 0] = residual
                flags = state[u]
                if flags & _QUEUED:
                    continue
                if flags == 0:
                    state[u] = _SEEN
                    touched[count] = u
                    count += 1
                if residual * score > threshold:
                    state[u] = _SEEN | _QUEUED
                    queue[tail] = u
                    tail = tail + 1 if tail + 1 < n else 0
                    size += 1
            if links > budget:
                return count, pushes, links, left, False
        threshold /= 10
        # recompute rather than trust the running sum: it subtracted many small amounts
        left = 0.0
        for k in range(count):
            left += rw[touched[k], 0] * rw[touched[k], 1]
        if threshold < 1e-300:
            break
    return count, pushes, links, left, True


def influence(W: sp.sparse.sparray, target: int, *, damping: float, scores: np.ndarray, own: np.ndarray,
              tol: float = 1e-6, budget: int | None = None, work: WorkArrays | None = None) -> Influence:
    """What one unit of own penalty at each entity adds to ``target``'s score, as far as its
    score needs: row ``target`` of ``G = (I - damping W)^-1`` by reverse push.

    ``x[target] = sum_u G[target, u] s[u]`` splits the score into one contribution per
    penalised entity. Reverse push keeps ``p`` and ``r`` (initially ``e_target``) with
    ``G[target, :] = p + r G`` and pushes backwards along the links that reach an entity:
    ``p[w] += r[w]``, ``r[u] += damping W[w, u] r[w]``. With ``x = G s`` the scores, the part
    of ``x[target]`` that ``p`` does not yet attribute is ``r . x``, known exactly from the
    scores: pushing stops when it is at most ``tol * x[target]``. For a non-negative W and s
    (every projection's) each contribution ``p[u] s[u]`` is then short by at most that much,
    and entities whose score is 0 are never visited (no penalty reaches them, so they pass none on).

    Parameters
    ----------
    W : (n, n) sparse array
        Non-negative transmission matrix; a float64 or float32 CSR array is used as is.
    target : int
        The entity whose score is taken apart.
    damping : float
    scores : (n,) ndarray
        ``x = (I - damping W)^-1 own``, the model's run (its accuracy adds to ``unattributed``).
    own : (n,) ndarray
        ``s``, non-negative.
    tol : float
        Leave at most ``tol * x[target]`` unattributed: by default a millionth, two digits
        beyond the shares an explanation prints.
    budget : int, optional
        Give up after following this many links (``complete`` False).
    work : WorkArrays, optional
        Work arrays of W's n to reuse (kept with a projection); fresh ones when None.

    Returns
    -------
    Influence

    Examples
    --------
    0 -> 1 -> 2 with weights 1 and damping 0.5, penalties on 0 and 1:

    >>> W = sp.sparse.csr_array(([1.0, 1.0], ([1, 2], [0, 1])), shape=(3, 3))
    >>> s = np.array([1.0, 2.0, 0.0]); x = np.array([1.0, 2.5, 1.25])
    >>> row = influence(W, 2, damping=0.5, scores=x, own=s)
    >>> row.indices.tolist(), row.values.tolist(), row.unattributed
    ([0, 1, 2], [0.25, 0.5, 1.0], 0.0)

    References
    ----------
    .. [1] Andersen, Borgs, Chayes, Hopcroft, Mirrokni, Teng, "Local computation of PageRank
       contributions", WAW 2007 (reverse push).
    """
    _check_tuning(damping, tol)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}.")
    rows = (W if isinstance(W, sp.sparse.csr_array) and W.dtype in (np.float64, np.float32)
            else sp.sparse.csr_array(W, dtype=float))
    n = rows.shape[0]
    if not 0 <= target < n:
        raise ValueError(f"target must be an entity index in [0, {n}), got {target!r}.")
    scores = np.asarray(scores, dtype=float)
    own = np.asarray(own, dtype=float)
    goal = tol * scores[target]
    with _arrays(work, n, scores) as (p, rw, state, queue, touched):
        count, pushes, _, left, complete = _reverse(
            rows.indptr, rows.indices, rows.data, damping, np.int64(target), own, goal,
            np.int64(budget if budget is not None else np.iinfo(np.int64).max), p, rw, state, queue, touched)
        reached, values, residuals = _collect(count, p, rw, state, touched)
    if not complete:  # the running sum is only summed again at the end of a round: sum it here
        left = float(residuals @ scores[reached])
    return Influence(reached, values, max(float(left), 0.0), int(pushes), bool(complete))


@dataclass(frozen=True)
class Diagonal:
    """Diagonal entries ``G[v, v]`` of ``G = (I - damping W)^-1`` at some entities, from below.

    Attributes
    ----------
    values : (k,) ndarray
        ``G[v, v]`` of each source, at most the exact value.
    error : (k,) ndarray
        Proven bound: the exact value is in ``[values, values + error]``.
    links : (k,) ndarray of int
        Links followed for each source, backwards and forwards.
    """

    values: np.ndarray
    error: np.ndarray
    links: np.ndarray


def start_diagonal(sources, n: int, links: int, damping: float) -> tuple[np.ndarray, tuple, bool]:
    """A diagonal's sources as int64 indices (checked to lie in ``[0, n)``), its values, errors
    and links followed as at ``G = I``, and whether that is the answer: no source, no link or no
    damping (:func:`push_diagonal`, :func:`graphscore.engine.reversible.reversible_diagonal`)."""
    sources = np.asarray(sources, dtype=np.int64)
    if sources.size and (sources.min() < 0 or sources.max() >= n):
        raise ValueError(f"sources must be entity indices in [0, {n}).")
    start = np.ones(sources.size), np.zeros(sources.size), np.zeros(sources.size, dtype=np.int64)
    return sources, start, sources.size == 0 or links == 0 or damping == 0


# Links the forward push follows per unit of ``left / tol`` (its threshold is ``tol / left``):
# 0.06 to 0.09 measured on graphscore.synthetic registries of 10^6 links under diffusion; 0.03
# and 0.2 there followed 0 % and 16 % more links in all than 0.08.
_FORWARD_COST = 0.08
# Each round of the backward push lowers its threshold this many times: 3 followed 1 % fewer
# links than 10 (above), and cut a round short costs less than a tenfold round overshooting.
_ROUND_STEP = 3.0


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _diagonal(indptr, indices, data, row_indptr, row_indices, row_data, damping, sources, z, h, tol, cost, step,
              threads, values, errors, links):  # pragma: no cover - compiled
    """``G[v, v]`` at each source from below, within ``errors`` (proven), ``G = (I - damping
    W)^-1``, by the bidirectional estimate of :func:`push_diagonal`: a
    backward push from v keeps ``G[v, :] = q + r_b G``, a forward one ``G e_v = p + G r``, so
    ``G[v, v] = p[v] + q . r + r_b G r``, all terms non-negative; the value is ``p[v] + q . r``
    and the rest at most ``max_w (r[w] / z[w]) * (r_b . h)``, ``h >= G z`` (a
    :class:`graphscore.engine.push.ReturnBound`). The forward push runs until that is ``tol``.
    Here the two are balanced per entity: the backward push runs in rounds (its threshold on
    ``r_b[w] h[w]`` lowered ``step`` times each round) while the links it has followed are fewer
    than the forward push would need for what is left, ``cost * left / tol`` (``left = r_b .
    h``), and stops mid-round once they are not. A fixed share of the work suits some
    registries and not others: under
    diffusion at 10^6 links, backward pushes to 3 % of ``h[v]`` followed 67,000 links per entity
    and the forward ones 9,500; to 10 %, 7,200 and 23,000; to 1 %, 2.4 million and 1,300. A
    source depends on nothing but itself, so one entity's echo (a dossier's) is bit for bit the
    score table's. Sources are dealt out to the threads in turn, each with its own work arrays,
    cleared after each source where its pushes wrote."""
    n = z.shape[0]
    most = np.int64(np.iinfo(np.int64).max)
    for thread in numba.prange(threads):
        p, rw, state = np.zeros(n), np.zeros((n, 2)), np.zeros(n, dtype=np.uint8)
        rw[:, 1] = z
        queue, touched = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        q, back, back_state = np.zeros(n), np.zeros((n, 2)), np.zeros(n, dtype=np.uint8)
        back[:, 1] = h  # the pairs (r_b[w], h[w])
        back_queue, back_touched = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        source, unit = np.empty(1, dtype=np.int64), np.ones(1)
        for k in range(thread, sources.shape[0], threads):
            v = sources[k]
            # backward: G[v, :] = q + r_b G (r_b is `back`), and left = r_b . h >= r_b G z
            back[v, 0] = 1.0
            back_state[v] = _SEEN
            back_touched[0] = v
            reached = 1
            left = h[v]
            threshold = left / step
            backward = 0
            while backward < cost * left / tol and threshold > 1e-300:
                # mid-round once the links followed reach what the forward push would need for what is left
                reached, backward = _backward_round(row_indptr, row_indices, row_data, damping, q, back, back_state,
                                                    back_queue, back_touched, reached, threshold, 1, 1, left,
                                                    -np.inf, backward, cost / tol)
                threshold /= step
                # summed afresh, not kept running: it would subtract many small amounts
                left = 0.0
                for j in range(reached):
                    left += back[back_touched[j], 0] * back[back_touched[j], 1]
            # forward: G e_v = p + G r with r <= eps z, so the rest, r_b G r, is at most eps left = tol
            source[0] = v
            eps = tol / left if left > 0 else np.inf
            count, _, forward, _ = _forward(indptr, indices, data, damping, source, unit, eps, most, n,
                                            p, rw, state, queue, touched)
            estimate = p[v]
            residual = 0.0
            for j in range(count):
                w = touched[j]
                estimate += q[w] * rw[w, 0]
                residual = max(residual, rw[w, 0] / rw[w, 1])
                p[w] = 0.0
                rw[w, 0] = 0.0
                state[w] = 0
            for j in range(reached):
                w = back_touched[j]
                q[w] = 0.0
                back[w, 0] = 0.0
                back_state[w] = 0
            values[k] = estimate
            errors[k] = residual * max(left, 0.0)
            links[k] = backward + forward



@dataclass(frozen=True)
class ReturnBound:
    """What bounds the remainder of every :func:`push_diagonal` estimate on one W.

    Attributes
    ----------
    weights : (n,) ndarray
        ``z > 0``, the forward push's weights.
    reach : (n,) ndarray
        ``h >= G z`` entrywise, ``G = (I - damping W)^-1``. Taken at a subset of the entities,
        both still bound any matrix at most W entrywise on that subset (its G is at most W's).
    """

    weights: np.ndarray
    reach: np.ndarray


def return_bound(W: sp.sparse.sparray, *, damping: float, certificate: Contraction | None = None,
                 left_certificate: Contraction | None = None) -> ReturnBound:
    """The weights ``z`` and ``h >= G z`` of :func:`push_diagonal`: one solve, shared by every
    source. ``certificate`` and ``left_certificate`` are
    :func:`graphscore.engine.spread.contraction` of W and of W.T at ``damping``, computed here
    when None.

    Notes
    -----
    Any positive ``z`` gives a valid bound; the work is least where ``z[w]`` balances how much
    forward push lands on w (which grows with what reaches w, the right Collatz-Wielandt
    weights ``v``, and with the links w passes it on to, ``deg``) against how much a residual
    left at w returns (what w reaches, the left weights ``u``): by Cauchy-Schwarz
    ``z = sqrt(deg v / u)``. Measured on synthetic registries it follows 1.5 times fewer links
    than ``z = v`` and 2.4 times fewer than ``z = 1``. ``h`` is solved to ``1e-10`` of its
    largest entry and raised by the solve's proven error (:func:`graphscore.engine.spread.spread`,
    Notes), so ``h >= G z``.

    Examples
    --------
    >>> W = sp.sparse.csr_array([[0.0, 1.0], [1.0, 0.0]])
    >>> bound = return_bound(W, damping=0.5)  # z = (1, 1): h = G z = (2, 2)
    >>> bound.weights.tolist(), bool(np.all(bound.reach >= 2.0) and np.all(bound.reach < 2.0 + 1e-9))
    ([1.0, 1.0], True)
    """
    columns = _as_csc(W)
    rows = sp.sparse.csr_array(columns)
    certificate = certificate if certificate is not None else contraction(rows, damping)
    left_certificate = left_certificate if left_certificate is not None else contraction(columns.T, damping)
    degree = np.diff(columns.indptr) + 1.0
    z = np.sqrt(degree * certificate.weights / left_certificate.weights)
    # Only ratios of z matter. An entity that reaches nothing (u at the certificate's floor) or
    # that nothing reaches (v there) would put the others 1e150 away: keep z within 1e6 of the
    # median, so that h's error, 1e-10 of its largest entry, stays far below h elsewhere.
    z = np.clip(z / np.median(z), 1e-6, 1e6)
    h_tol = 1e-10
    h = spread(rows, z, damping=damping, tol=h_tol, certificate=certificate)
    h += certificate.weights * (h_tol * h.max())  # its proven error: now h >= G z
    return ReturnBound(z, h)


def push_diagonal(W: sp.sparse.sparray, sources, *, damping: float, tol: float = 1e-6,
                  bound: ReturnBound | None = None, rows: sp.sparse.csr_array | None = None) -> Diagonal:
    """``G[v, v]`` for each of ``sources``, ``G = (I - damping W)^-1``, within ``tol`` (proven),
    at a cost that follows what each entity's closed walks reach, both cores working.

    ``G[v, v]`` is the sum over closed walks at v of the product of ``damping W`` along them (1
    for the empty walk). A forward push from v (:func:`push_column`) keeps ``G e_v = p + G r``,
    a backward push from v (:func:`influence`) ``G[v, :] = q + r_b G``; together

        G[v, v] = p[v] + sum_w G[v, w] r[w] = p[v] + q . r + r_b G r,

    all terms non-negative. The value is ``p[v] + q . r``; the rest, ``r_b G r``, is at most
    ``||r||_z (r_b . h)`` for any positive weights ``z`` and ``h >= G z`` (``r <= ||r||_z z``
    entrywise, ``||r||_z = max_w r[w] / z[w]``): a :class:`ReturnBound`, one solve over the
    whole graph shared by every source. So the backward push runs until ``r_b . h`` is small (each push at w
    lowers it by ``r_b[w] z[w]``: the part of ``(G z)[v]`` attributed so far), then the forward
    push until ``||r||_z <= tol / (r_b . h)``; the two are balanced per source (:func:`_diagonal`).
    Either alone reaches most of a registry (its walks circulate at the contraction rate, about
    0.93 on synthetic registries); the product of two loose residuals is small. Under diffusion
    on synthetic registries (tol 1e-6, penalised entities on a cycle) this follows 23,000,
    30,000 and 33,000 links per source on average at 10^5, 10^6 and 2x10^6 links, where a fixed
    split followed 40,000 and 88,000 at 10^5 and 10^6 and a pure forward push 295,000 at 10^5.

    Parameters
    ----------
    W : (n, n) sparse array
        Non-negative transmission matrix.
    sources : (k,) array of int
        Entities whose diagonal entry is wanted.
    damping : float
        Attenuation per hop, in [0, 1).
    tol : float
        Accuracy: each value is within ``tol`` of the exact one, and never above it.
    bound : ReturnBound, optional
        :func:`return_bound` of W at ``damping``, or of a matrix at least W entrywise (its
        arrays taken at W's entities); computed here when None.
    rows : csr_array, optional
        W in compressed rows, where the caller keeps it (the backward push reads it); converted
        here when None, a pass over every link.

    Returns
    -------
    Diagonal

    Examples
    --------
    A company and its representative reaching each other with weight 1, damping 0.5: closed
    walks of 2, 4, ... links weigh 0.25, 0.0625, ..., so G[0, 0] = 4/3.

    >>> W = sp.sparse.csr_array([[0.0, 1.0], [1.0, 0.0]])
    >>> found = push_diagonal(W, [0, 1], damping=0.5, tol=1e-9)
    >>> bool(np.all((found.values <= 4 / 3) & (4 / 3 <= found.values + found.error))), float(found.error.max()) <= 1e-9
    (True, True)

    References
    ----------
    .. [1] Lofgren, Banerjee, Goel, "Personalized PageRank estimation and search: a
       bidirectional approach", WSDM 2016 (a forward residual against a backward estimate).
    .. [2] Andersen, Chung, Lang, "Local graph partitioning using PageRank vectors", FOCS 2006;
       Andersen, Borgs, Chayes, Hopcroft, Mirrokni, Teng, "Local computation of PageRank
       contributions", WAW 2007 (the forward and the backward push).
    """
    _check_tuning(damping, tol)
    columns = _as_csc(W)
    rows = rows if rows is not None else sp.sparse.csr_array(columns)
    if rows.shape != columns.shape or rows.nnz != columns.nnz:
        raise ValueError(f"rows must be W in compressed rows: shape {rows.shape} and {rows.nnz} links against "
                         f"W's {columns.shape} and {columns.nnz}.")
    n = columns.shape[0]
    sources, (values, error, links), trivial = start_diagonal(sources, n, columns.nnz, damping)
    if trivial:
        return Diagonal(values, error, links)  # G = I
    bound = bound if bound is not None else return_bound(columns, damping=damping)
    if bound.weights.shape != (n,) or bound.reach.shape != (n,):
        raise ValueError(f"bound must hold one weight and one reach per entity ({n}), got {bound.weights.shape}.")
    z, h = bound.weights, bound.reach
    _diagonal(columns.indptr, columns.indices, columns.data, rows.indptr, rows.indices, rows.data, damping,
              sources, z, h, tol, _FORWARD_COST, _ROUND_STEP, numba.get_num_threads(), values, error, links)
    np.maximum(values, 1.0, out=values)  # G[v, v] >= 1 (the empty walk): still a value from below
    return Diagonal(values, error, links)
