"""Diagonal entries of ``(I - damping W)^-1`` when W is reversible: similar, through a diagonal
scaling, to a symmetric matrix, as it is under diffusion-like policies.

A policy whose every rule carries a tie both ways with one weight, whose parallel ties add up
and whose ``normalize = "source"`` splits each entity's penalty among those it reaches, makes
``W = R D^-1`` with ``R`` symmetric (the combined pair weights) and ``D`` the diagonal of R's
column sums. Then ``W[v, u] d_u = W[u, v] d_v`` (detailed balance: W is the transition matrix of
a reversible random walk), ``S = D^-1/2 W D^1/2`` is symmetric, and ``G = (I - damping W)^-1``
has the diagonal of ``(I - damping S)^-1``, a symmetric matrix whose eigenvalues lie in
``(0, 1 / (1 - damping rho(W))]``. A single push from an entity then bounds its diagonal entry
from both sides (:func:`reversible_diagonal`), where a general W needs a backward and a forward
push and a solve over the whole graph (:func:`graphscore.engine.push.push_diagonal`).

Nothing here trusts the policy: :func:`reversible_form` finds the scaling from W itself and
measures how far W is from it; W's rounding (or a policy that is not of this kind) shows as a
defect ``kappa > 1``, which the bounds carry, and a W whose defect would cost accuracy is
refused (None), for the general method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import scipy as sp

from graphscore.engine.push import Diagonal, _backward_round, _check_tuning, start_diagonal

__all__ = ["ReversibleForm", "reversible_form", "reversible_diagonal"]

# The largest defect kappa - 1 accepted: its share of a diagonal entry's error is about
# 2 (kappa - 1) damping rho / (1 - damping rho)^2 times the residual's norm, below 1e-11 of an
# echo here, against the accuracy of 1e-6 asked for (graphscore.engine.echo.ECHO_TOL). The
# diffusion W of the synthetic registries of 10^6 and 10^7 links measured 7e-16 (rounding); a W
# in float32 (a policy's precision = "float32") rounds each weight by up to 6e-8: refused, unless
# its weights happen to balance exactly.
_MAX_DEFECT = 1e-9
# Each round of the push lowers its threshold this many times, and a round is cut short once the
# bound is met. Each round looks again at every entity reached: on the diffusion W of a 10^6-link
# synthetic registry (tol 1e-6) rounds of 10 followed 9,800 links and looked 10,700 times per
# source, rounds of 3 followed 9,300 and looked 24,800 times (entities pushed by their share of the
# norm alone, not per link: not measured again since).
_ROUND_STEP = 10.0
# A push stops mid-round once its running sums put the interval's width at this share of the
# accuracy asked for; the sums are then taken afresh, and a width still over it (their rounding)
# goes on to another round, so any share below 1 keeps the accuracy. On the diffusion W of the
# synthetic registries (tol 1e-6; all 4,306 penalised entities at 10^6 links, 5,000 of 43,279 at
# 10^7) 0.99 followed 8,310 and 18,324 links per source where 0.5 followed 9,811 and 20,435, in as
# many rounds (both with entities pushed by their share of the norm alone, not per link).
_STOP_SHARE = 0.99


@dataclass(frozen=True)
class ReversibleForm:
    """The diagonal scaling that makes a W symmetric, and how well it does.

    Attributes
    ----------
    weights : (n,) ndarray
        ``d > 0`` with ``W[v, u] d_u = W[u, v] d_v`` up to ``kappa``: for every link,
        ``W[v, u] d_u / (W[u, v] d_v)`` lies in ``[1 / kappa^2, kappa^2]``. Each connected part of
        the graph is scaled on its own (its first entity has weight 1).
    kappa : float
        The defect, at least 1 (1 for an exactly reversible W).
    radius : float
        At least the spectral radius of ``S~``, the symmetric matrix of ``sqrt(W[v, u] W[u, v])``:
        ``kappa`` times the smaller of W's largest column and row sums (``S~ <= kappa M``
        entrywise, M similar to W^T: see :func:`reversible_diagonal`), raised by a rounding margin.
    order : (n,) int ndarray
        The entity at each position of a new numbering, so that one push reads a few stretches
        of memory rather than scattered entries: a breadth-first order reversed, as reverse
        Cuthill-McKee [1]_ is (:class:`graphscore.engine.echo.Cycles` renumbers a general W by
        that), without its start from a far entity and its neighbours taken by degree. On the
        diffusion W of a 10^7-link synthetic registry the pushes took as long in either order
        (benchmarks/JOURNAL.md), and this one comes with the scaling's pass, where scipy's
        reverse Cuthill-McKee took 5 s more on one core.
    position : (n,) int ndarray
        The position of each entity in that numbering (the inverse of ``order``).
    rows : (n, n) csr_array
        W renumbered (``rows[position[v], position[u]] = W[v, u]``), each row's columns sorted.

    References
    ----------
    .. [1] Cuthill, McKee, "Reducing the bandwidth of sparse symmetric matrices", ACM '69
       (1969); George, "Computer implementation of the finite element method", Stanford
       STAN-CS-71-208 (1971), the reversed order.
    """

    weights: np.ndarray
    kappa: float
    radius: float
    order: np.ndarray
    position: np.ndarray
    rows: sp.sparse.csr_array

    def rate(self, damping: float) -> float:
        """``kappa * damping * radius``: below 1, :func:`reversible_diagonal` holds at ``damping``."""
        return self.kappa * damping * self.radius


def reversible_form(W: sp.sparse.sparray) -> ReversibleForm | None:
    """W's :class:`ReversibleForm`, or None when W is not reversible within :data:`_MAX_DEFECT`
    (a link with no link back, weights that do not balance around a cycle of links).

    One breadth-first pass over W's rows, on one core, finds the scaling along a tree of each
    connected part (``d_j = d_i W[j, i] / W[i, j]`` across a tree link, read from row i and
    row j as the pass reaches them) and lists the entities in the order it reaches them: that
    order reversed is the new numbering (:attr:`ReversibleForm.order`). W renumbered, every link
    is checked against its link back, found by bisection in the row of its far end, which the
    numbering has put near, on both cores; the same pass sums W's rows and columns for the radius.

    Examples
    --------
    A company and its two representatives, ties both ways, each entity's penalty split among
    those it reaches (the company's in halves): reversible, with ``d`` in proportion to 2, 1, 1;
    a tie one way only is not.

    >>> W = sp.sparse.csr_array([[0.0, 1.0, 1.0], [0.5, 0.0, 0.0], [0.5, 0.0, 0.0]])
    >>> form = reversible_form(W)
    >>> form.weights.tolist(), form.kappa, round(form.radius, 9)
    ([1.0, 0.5, 0.5], 1.0, 1.0)
    >>> reversible_form(sp.sparse.csr_array([[0.0, 1.0], [0.0, 0.0]])) is None
    True
    """
    rows = _canonical_rows(W)
    n = rows.shape[0]
    reached, weights = _breadth_first(rows.indptr, rows.indices, rows.data, n)
    if weights.size != n:
        return None  # a tree link with no link back, or one back that is not positive
    order = reached[::-1].copy()
    position = np.empty_like(order)
    position[order] = np.arange(n)
    indptr = np.zeros(n + 1, dtype=rows.indptr.dtype)
    np.cumsum(np.diff(rows.indptr)[order], out=indptr[1:])
    indices, data = np.empty_like(rows.indices), np.empty_like(rows.data)
    _renumber(rows.indptr, rows.indices, rows.data, order, position, indptr, indices, data)
    renumbered = sp.sparse.csr_array((data, indices, indptr), shape=rows.shape)
    worst, column_sum, row_sum = _balance(indptr, indices, data, weights[order], _PARTS)
    if not math.isfinite(worst):
        return None  # a link with no link back, or a pair of links not both positive
    kappa = math.sqrt(worst)
    if kappa - 1.0 > _MAX_DEFECT:
        return None
    # the sums' rounding, at most a few units in the last place of each
    return ReversibleForm(weights, kappa, kappa * min(column_sum, row_sum) * (1.0 + 1e-12), order, position,
                          renumbered)


def _canonical_rows(W: sp.sparse.sparray) -> sp.sparse.csr_array:
    """W in compressed rows, each row's columns sorted and once (a copy only where not)."""
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}.")
    rows = sp.sparse.csr_array(W) if W.dtype in (np.float32, np.float64) else sp.sparse.csr_array(W, dtype=float)
    if not rows.has_canonical_format:
        rows = rows.copy()
        rows.sum_duplicates()
    return rows


# Below any entity's index: not reached yet, and the parent of a part's first entity.
_UNREACHED, _ROOT = -2, -1
# The check of every link is dealt out to the cores in this many stretches of rows (a hub's row
# makes one stretch longer than the others: many of them even out).
_PARTS = 256
# Rows of at most this many entries are sorted as they are copied, with no work array: most rows
# (5 entries on average in the diffusion W of the synthetic registries).
_SHORT_ROW = 32


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _breadth_first(indptr, indices, data, n):  # pragma: no cover - compiled
    """The entities in breadth-first order, each connected part from its first entity in turn
    (weight 1), and the scaling ``d`` of :func:`reversible_form` along that tree: ``d_i = d_p
    W[i, p] / W[p, i]``, p the entity whose row reached i; ``W[p, i]`` is kept when p's row is
    read and ``W[i, p]`` found when i's is. A link that weighs zero or less does not join two
    entities (a stored zero both ways is no link; any other such link the check refuses). ``d``
    is empty where a tree link's link back is missing or not positive, or a scaling falls out of
    floating range."""
    weights = np.zeros(n)
    parent = np.full(n, _UNREACHED, dtype=np.int64)
    toward = np.zeros(n)  # W[p, i], p the parent of i
    order = np.empty(n, dtype=np.int64)
    head, tail = 0, 0
    for root in range(n):
        if parent[root] != _UNREACHED:
            continue
        parent[root] = _ROOT
        weights[root] = 1.0
        order[tail] = root
        tail += 1
        while head < tail:
            i = order[head]
            head += 1
            p = parent[i]
            back = 0.0  # W[i, p]
            for e in range(indptr[i], indptr[i + 1]):
                j = np.int64(indices[e])
                weight = np.float64(data[e])
                if j == p:
                    back = weight
                elif weight > 0.0 and parent[j] == _UNREACHED:
                    parent[j] = i
                    toward[j] = weight
                    order[tail] = j
                    tail += 1
            if p != _ROOT:
                if not back > 0.0:
                    return order, np.zeros(0)
                weights[i] = weights[p] * back / toward[i]
                if not (0.0 < weights[i] < np.inf):
                    return order, np.zeros(0)
    return order, weights


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _balance(indptr, indices, data, weights, parts):  # pragma: no cover - compiled
    """The largest ``W[i, j] d_j / (W[j, i] d_i)`` or its inverse over the links (``inf`` at a
    link with no link back, or a pair of which one weighs zero or less and the other not: a
    stored zero both ways is no link), W's largest column sum and largest row sum (absolute
    values); each row's columns sorted, so ``W[j, i]`` is found by bisection in row j."""
    n = weights.shape[0]
    worst, columns, rows = np.ones(parts), np.zeros(parts), np.zeros(parts)
    for part in numba.prange(parts):
        for i in range(part * n // parts, (part + 1) * n // parts):
            column_sum, row_sum = 0.0, 0.0
            for e in range(indptr[i], indptr[i + 1]):
                j = np.int64(indices[e])
                low, high = np.int64(indptr[j]), np.int64(indptr[j + 1])
                while low < high:
                    middle = (low + high) // 2
                    if indices[middle] < i:
                        low = middle + 1
                    else:
                        high = middle
                if low == indptr[j + 1] or indices[low] != i:
                    worst[part] = np.inf  # no link back
                    continue
                forward, backward = np.float64(data[e]), np.float64(data[low])  # W[i, j], W[j, i]
                row_sum += abs(forward)
                column_sum += abs(backward)
                if forward == 0.0 and backward == 0.0:
                    continue
                if not (forward > 0.0 and backward > 0.0):
                    worst[part] = np.inf
                    continue
                ratio = forward * weights[j] / (backward * weights[i])
                worst[part] = max(worst[part], ratio, 1.0 / ratio)
            columns[part] = max(columns[part], column_sum)
            rows[part] = max(rows[part], row_sum)
    return worst.max(), columns.max(), rows.max()


@numba.njit(cache=True, nogil=True, parallel=True)
def _renumber(indptr, indices, data, order, position, new_indptr, new_indices, new_data):  # pragma: no cover - compiled
    """Row ``order[k]`` of W as row k, its columns renumbered by ``position`` and sorted: a row
    of at most :data:`_SHORT_ROW` entries in place as it is copied (insertion), a longer one by
    ``argsort``."""
    for k in numba.prange(order.shape[0]):
        i = order[k]
        start, end = indptr[i], indptr[i + 1]
        at = new_indptr[k]
        if end - start > _SHORT_ROW:
            columns = position[indices[start:end]]
            sorting = np.argsort(columns)
            for j in range(end - start):
                new_indices[at + j] = columns[sorting[j]]
                new_data[at + j] = data[start + sorting[j]]
            continue
        for j in range(end - start):
            column, value = position[indices[start + j]], data[start + j]
            m = at + j
            while m > at and new_indices[m - 1] > column:
                new_indices[m] = new_indices[m - 1]
                new_data[m] = new_data[m - 1]
                m -= 1
            new_indices[m] = column
            new_data[m] = value


def reversible_diagonal(W: sp.sparse.sparray, sources, *, damping: float, tol: float = 1e-6,
                        form: ReversibleForm | None = None) -> Diagonal:
    """``G[v, v]`` for each of ``sources``, ``G = (I - damping W)^-1``, within ``tol`` (proven),
    for a reversible W (:func:`reversible_form`), by one push per source, both cores working.

    Let ``M = D^1/2 W^T D^-1/2`` (``D`` the form's weights): M is similar to ``W^T``, so
    ``G_M[v, v] = G[v, v]``, and symmetric for an exactly reversible W. A forward push on M from
    ``e_v`` keeps ``G_M e_v = p + G_M r`` with ``p, r >= 0``; for a symmetric M

        G[v, v] = e_v^T G_M e_v = p[v] + r^T G_M e_v = p[v] + p . r + r^T G_M r,

    and ``||r||^2 <= r^T G_M r <= ||r||^2 / (1 - damping rho)`` (the series of G_M has
    non-negative terms and begins with I; G_M's eigenvalues are at most ``1 / (1 - damping
    rho)``): a proven interval from the push alone, with no bound solved over the graph [1]_.
    A defect ``kappa`` puts M between ``S~ / kappa`` and ``kappa S~`` entrywise, ``S~`` the
    symmetric ``sqrt(W[v, u] W[u, v])``; then ``G_M`` and ``G_M^T`` both lie between
    ``(I - damping S~ / kappa)^-1`` and ``(I - damping kappa S~)^-1``, whose difference has norm
    at most ``gap = (kappa - 1 / kappa) damping rho / ((1 - kappa damping rho)(1 - damping rho /
    kappa))``, so the interval widens by ``gap ||r||`` each way and the quadratic term uses
    ``kappa damping`` (``rho`` is the form's ``radius``).

    The push on M from ``e_v`` is, in the coordinates ``y = D^-1/2 r`` (scaled by ``d_v^1/2``),
    a backward push on W's rows: pushing y at w adds ``damping W[w, u] y_w`` to ``y_u`` [2]_. So it
    reads W in compressed rows (the form's, renumbered) and the form's weights; ``p . r`` and
    ``||r||^2`` are ``sum_u d_u q_u y_u / d_v`` and ``sum_u d_u y_u^2 / d_v``. The push runs in
    rounds of falling threshold (:data:`_ROUND_STEP`) and stops as soon as the interval is at
    most ``tol`` wide. An entity is pushed while its share of the square norm per link of its row,
    ``d_w y_w^2 / links``, is above the threshold: what a push takes off the norm against what it
    costs. Which entities are pushed, and in which order, changes no bound above (they hold after
    any sequence of pushes, and the stop reads the sums alone), only the work: on the diffusion W of
    the synthetic registries (tol 1e-6) this followed 5,900 links per source where the share alone
    (``d_w y_w^2``) followed 8,310 (all 4,306 penalised entities at 10^6 links), and 7,022 against
    18,116 at 10^7 (all 43,279; there one hub of 65,155 links took half the links followed, 14 % of
    the sources pushing it), for 0.81 to 0.87 of the CPU time (benchmarks/JOURNAL.md, `echopush`).

    Parameters
    ----------
    W : (n, n) sparse array
        Non-negative, reversible transmission matrix.
    sources : (k,) array of int
        Entities whose diagonal entry is wanted.
    damping : float
        Attenuation per hop, in [0, 1).
    tol : float
        Accuracy: the exact value lies in ``[values, values + error]``, ``error <= tol``.
    form : ReversibleForm, optional
        :func:`reversible_form` of W, found here when None; the push reads its renumbered rows
        (W itself only for its shape).

    Returns
    -------
    Diagonal

    Raises
    ------
    ValueError
        If W is not reversible, or ``damping * radius >= 1`` (G need not exist).

    Examples
    --------
    The company and its two representatives of :func:`reversible_form`'s example, damping 0.5:
    ``inv(I - W / 2)`` has 4/3 at the company and 7/6 at each representative.

    >>> W = sp.sparse.csr_array([[0.0, 1.0, 1.0], [0.5, 0.0, 0.0], [0.5, 0.0, 0.0]])
    >>> found = reversible_diagonal(W, [0, 1, 2], damping=0.5, tol=1e-9)
    >>> exact = np.array([4 / 3, 7 / 6, 7 / 6])
    >>> bool(np.all((found.values <= exact + 1e-12) & (exact <= found.values + found.error + 1e-12)))
    True

    References
    ----------
    .. [1] Golub, Meurant, "Matrices, Moments and Quadrature with Applications", Princeton
       University Press, 2010, ch. 7 (bounds on ``u^T f(A) u`` for a symmetric A from its spectrum).
    .. [2] Andersen, Chung, Lang, "Local graph partitioning using PageRank vectors", FOCS 2006
       (the push, and the symmetric form ``D^-1/2 A D^-1/2`` of a random walk on an undirected graph).
    """
    _check_tuning(damping, tol)
    n = W.shape[0]
    sources, (values, error, links), trivial = start_diagonal(sources, n, W.nnz, damping)
    if trivial:
        return Diagonal(values, error, links)  # G = I
    form = form if form is not None else reversible_form(W)
    if form is None:
        raise ValueError("W is not reversible (a link with no link back, or weights that do not balance "
                         "around a cycle): use graphscore.engine.push.push_diagonal.")
    if form.rows.shape != W.shape:
        raise ValueError(f"form is of a W of {form.rows.shape[0]} entities, this one has {n}.")
    rate = form.rate(damping)
    if rate >= 1:
        raise ValueError(f"damping * kappa * rho(W) = {rate:.3g} >= 1: (I - damping W) need not be invertible; "
                         "lower damping or normalise W.")
    kappa, low_rate = form.kappa, damping * form.radius / form.kappa
    gap = (kappa - 1 / kappa) * damping * form.radius / ((1 - rate) * (1 - low_rate))
    # taken in the new numbering's order, so that one push finds in cache much of what the one
    # before it read
    ranked = np.argsort(form.position[sources], kind="stable")
    found = np.ones(sources.size), np.zeros(sources.size), np.zeros(sources.size, dtype=np.int64)
    rows = form.rows
    _push(rows.indptr, rows.indices, rows.data, form.weights[form.order], damping, rate, gap,
          form.position[sources[ranked]], tol, _ROUND_STEP, _STOP_SHARE, numba.get_num_threads(), *found)
    values[ranked], error[ranked], links[ranked] = found
    return Diagonal(values, error, links)


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _push(indptr, indices, data, weights, damping, rate, gap, sources, tol, step, share, threads,
          values, errors, links):  # pragma: no cover - compiled
    """The push of :func:`reversible_diagonal` from each source: ``q`` the estimate and the
    triples ``(y_w, d_w, d_w / links of w)`` side by side (one cache line per entity reached, as
    in :class:`graphscore.engine.push.WorkArrays`), w queued while ``d_w y_w^2`` per link of its
    row is above the round's threshold (see :func:`reversible_diagonal`). The interval is ``p[v] + p . r``
    plus ``[||r||^2 - gap ||r||, ||r||^2 / (1 - rate) + gap ||r||]``; a running ``sum d_u y_u^2``
    (the square norm, times ``d_v``) tells when to stop mid-round, and the sums are then taken
    afresh. Sources are dealt out to the threads in turn, each with its own work arrays, cleared
    after each source where its push wrote."""
    n = weights.shape[0]
    spread = rate / (1.0 - rate)  # r^T G r - ||r||^2 <= spread ||r||^2
    for thread in numba.prange(threads):
        q, yd, state = np.zeros(n), np.zeros((n, 3)), np.zeros(n, dtype=np.uint8)
        yd[:, 1] = weights
        for w in range(n):
            yd[w, 2] = weights[w] / max(indptr[w + 1] - indptr[w], 1)
        queue, touched = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        for k in range(thread, sources.shape[0], threads):
            v = sources[k]
            own = weights[v]
            yd[v, 0] = 1.0
            state[v] = 1
            touched[0] = v
            reached = 1
            followed = 0
            square = own  # sum_u d_u y_u^2
            product = 0.0  # sum_u d_u q_u y_u
            # stop once the interval's width, (spread ||r||^2 + 2 gap ||r||), is at most tol; mid-round
            # once the running square says it is at most _STOP_SHARE of it: ||r||^2 <= root^2
            root = (math.sqrt(gap * gap + spread * share * tol) - gap) / spread if spread > 0.0 else 0.0
            limit = own * root * root
            threshold = yd[v, 2] / step
            while True:
                width = spread * square / own + 2.0 * gap * math.sqrt(max(square, 0.0) / own)
                if width <= tol or threshold < 1e-300:
                    break
                # mid-round once the running square is at most the limit (another round if the fresh sums say no)
                reached, followed = _backward_round(indptr, indices, data, damping, q, yd, state, queue, touched,
                                                    reached, threshold, 2, 2, square, limit, followed, np.inf)
                threshold /= step
                # summed afresh, not kept running: it would subtract many small amounts
                square = 0.0
                product = 0.0
                for j in range(reached):
                    w = touched[j]
                    square += yd[w, 1] * yd[w, 0] * yd[w, 0]
                    product += yd[w, 1] * q[w] * yd[w, 0]
            norm = math.sqrt(square / own)
            known = q[v] + product / own
            low = known + square / own - gap * norm
            high = known + square / own / (1.0 - rate) + gap * norm
            for j in range(reached):
                w = touched[j]
                q[w] = 0.0
                yd[w, 0] = 0.0
                state[w] = 0
            values[k] = max(low, 1.0)  # G[v, v] >= 1 (the empty walk)
            errors[k] = high - values[k]
            links[k] = followed
