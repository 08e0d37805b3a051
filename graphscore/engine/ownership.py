"""Ownership rules: integrated (indirect) ownership, ultimate owners, ownership chains, and
the OFAC and EU tests of which entities a sanction reaches through ownership and control.

Every function takes the direct-ownership matrix ``D``: a sparse (n, n) array with ``D[o, a]``
the share of asset a held directly by owner o, a fraction in [0, 1]. The EU test also takes
``C``, a 0/1 (n, n) array with ``C[c, a] = 1`` when c controls a, and the sanction tests a
boolean (n,) array ``seeds`` of the entities listed (with an active sanction).
"""

from __future__ import annotations

import itertools

import numba
import numpy as np
import scipy as sp

from graphscore.engine import yen
from graphscore.engine.spread import spectral_radius
from graphscore.errors import ConvergenceError

__all__ = ["integrated_ownership", "ultimate_owners", "ownership_chains", "ofac_blocked",
           "ofac_review", "eu_frozen", "eu_review", "uk_designated", "listed_stakes", "owner_stakes",
           "reaches", "chain_owners"]

# Registers record stakes as decimal percentages; their sum in binary floating point, or a
# solve, can fall a hair short of the threshold (0.03 + 0.29 + 0.18 == 0.49999999999999994), so
# rule thresholds are compared with this slack: far below any stake a register records (0.01 %),
# far above the rounding of sums and sparse solves.
_SHARE_TOL = 1e-9
# A cycle whose stakes multiply to (numerically) 100 % or more makes the chain series diverge.
_RADIUS_TOL = 1e-12
# Repeated squaring sums 2**k terms of the series after k steps: 64 steps is far past any
# series that converges in double precision.
_MAX_SQUARINGS = 64
# ownership_chains examines at most this many candidate chains per chain asked for, so a graph
# dense with long detours cannot keep the k-shortest-paths search running.
_CANDIDATES_PER_CHAIN = 50


def _shares(D) -> sp.sparse.csr_array:
    """``D`` as a float CSR array without stored zeros, or ValueError naming the first bad entry."""
    D = sp.sparse.csr_array(D, dtype=float)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"D must be a square (n, n) matrix of shares, got shape {D.shape}.")
    D.sum_duplicates()
    D.eliminate_zeros()
    bad = ~((D.data >= 0) & (D.data <= 1))  # NaN fails both comparisons
    if bad.any():
        coo = D.tocoo()
        first = np.flatnonzero(bad)[0]
        raise ValueError(f"D must hold shares in [0, 1]; D[{coo.row[first]}, {coo.col[first]}] = "
                         f"{coo.data[first]:g}.")
    return D


def _seed_mask(seeds, n: int) -> np.ndarray:
    seeds = np.asarray(seeds)
    if seeds.shape != (n,):
        raise ValueError(f"seeds must be a boolean array of shape ({n},), got shape {seeds.shape}.")
    if seeds.dtype != bool and not np.isin(seeds, (0, 1)).all():
        raise ValueError("seeds must be a boolean mask (or 0/1), not entity indices or weights.")
    return seeds.astype(bool)


def _check_threshold(threshold: float) -> None:
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}.")


def _index(value, n: int, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not 0 <= value < n:
        raise ValueError(f"{name} must be an entity index in [0, {n}), got {value!r}.")
    return int(value)


def reaches(stake, threshold: float, *, inclusive: bool = True) -> np.ndarray:
    """Whether each stake reaches a rule's threshold, with the rounding slack every rule uses:
    ``stake >= threshold`` (``inclusive``, "50 % or more") or ``stake > threshold`` ("more than").

    Examples
    --------
    >>> reaches(np.array([0.02 + 0.21 + 0.02, 0.03 + 0.29 + 0.18, 0.2499]), 0.25).tolist()
    [True, True, False]
    >>> reaches(np.array([0.5, 0.5001]), 0.5, inclusive=False).tolist()
    [False, True]
    """
    stake = np.asarray(stake, dtype=float)
    return stake >= threshold - _SHARE_TOL if inclusive else stake > threshold + _SHARE_TOL


def _reach(M: sp.sparse.csr_array, start: np.ndarray) -> np.ndarray:
    """Mask of the entities ``M`` leads to from ``start`` in one or more steps (row v reached when
    ``M[v, u] > 0`` for a reached u): breadth first, one sparse product per level."""
    reached = np.zeros(M.shape[0], dtype=bool)
    frontier = np.asarray(start, dtype=bool)
    while frontier.any():
        frontier = (M @ frontier.astype(float) > 0) & ~reached
        reached |= frontier
    return reached


def chain_owners(D_by_asset: sp.sparse.csc_array, assets) -> np.ndarray:
    """The entities with an ownership chain of positive stakes into any of ``assets``, sorted
    (an asset itself only where a chain returns to it).

    The same entities as one sparse product with all of ``D`` per level of the chains finds,
    breadth first over ``D``'s compressed columns (column a lists a's owners): the cost follows
    the chains, not the register. Every stake in an asset, and every chain of stakes into it,
    lies among these entities and the asset, so the other functions here give the same answer
    about the asset on that block of ``D`` as on all of it, at the cost of the block.

    Parameters
    ----------
    D_by_asset : (n, n) csc_array
        Direct ownership, as in :func:`integrated_ownership`, in compressed columns: convert it
        once and keep it (the conversion reads every stake).
    assets : sequence of int
        Entity indices.

    Examples
    --------
    P owns 60 % of A, A 50 % of B; Q owns 10 % of P, R nothing of anyone:

    >>> D = sp.sparse.csc_array([[0, 0.6, 0, 0, 0], [0, 0, 0.5, 0, 0], [0, 0, 0, 0, 0],
    ...                          [0.1, 0, 0, 0, 0], [0, 0, 0, 0, 0]])  # P, A, B, Q, R
    >>> chain_owners(D, [2]).tolist(), chain_owners(D, [0]).tolist(), chain_owners(D, [3]).tolist()
    ([0, 1, 3], [3], [])
    """
    if not isinstance(D_by_asset, sp.sparse.csc_array):
        raise ValueError(f"D_by_asset must be a csc_array (D in compressed columns), got {type(D_by_asset).__name__}.")
    n = D_by_asset.shape[0]
    indptr, indices, data = D_by_asset.indptr, D_by_asset.indices, D_by_asset.data
    reached = np.zeros(n, dtype=bool)
    frontier = np.unique(np.asarray(assets, dtype=np.int64))
    if frontier.size and (frontier[0] < 0 or frontier[-1] >= n):
        raise ValueError(f"assets must be entity indices in [0, {n}).")
    while frontier.size:
        starts = indptr[frontier].astype(np.int64)
        counts = indptr[frontier + 1].astype(np.int64) - starts
        # the positions of every listed column's entries, in one array
        at = np.arange(counts.sum()) + np.repeat(starts - np.cumsum(counts) + counts, counts)
        owners = indices[at][data[at] > 0]
        frontier = np.unique(owners[~reached[owners]])
        reached[frontier] = True
    return np.flatnonzero(reached)


def _ancestors(D: sp.sparse.csr_array, assets: np.ndarray) -> np.ndarray:
    """Mask of the entities with an ownership chain to any of ``assets``."""
    start = np.zeros(D.shape[0], dtype=bool)
    start[assets] = True
    return _reach(D, start)


def _divergent_cycle(D: sp.sparse.csr_array) -> str | None:
    """None when the spectral radius of ``D`` is below 1, else a sentence naming the cycle.

    No asset more than wholly owned by its recorded owners (column sums below 1) is the cheap
    sufficient test. Failing it, only the strongly connected components (the ownership cycles)
    can make the series diverge, since an acyclic part of ``D`` is nilpotent; the radius of each
    cycle whose own column sums reach 1 is computed.
    """
    if D.nnz == 0 or D.sum(axis=0).max() < 1:
        return None
    _, label = sp.sparse.csgraph.connected_components(D, directed=True, connection="strong")
    coo = D.tocoo()
    inside = label[coo.row] == label[coo.col]
    within_sums = np.bincount(coo.col[inside], weights=coo.data[inside], minlength=D.shape[0])
    suspects = np.unique(label[within_sums >= 1 - _RADIUS_TOL])
    for component in suspects:
        members = np.flatnonzero(label == component)
        rho = spectral_radius(D[members][:, members])
        if rho >= 1 - _RADIUS_TOL:
            shown = ", ".join(map(str, members[:10])) + (", ..." if members.size > 10 else "")
            return (f"the ownership cycle through entities [{shown}] has spectral radius {rho:.3g} >= 1 "
                    "(its stakes multiply to 100 % or more around the cycle)")
    return None


def _check_series_converges(D: sp.sparse.csr_array) -> None:
    """Raise ConvergenceError unless the spectral radius of ``D`` is below 1."""
    if (cycle := _divergent_cycle(D)) is not None:
        raise ConvergenceError(f"integrated ownership diverges: {cycle}; correct the stakes recorded "
                               "in that cycle.")


# Above this many entities, one ownership cycle's return factors come from sparse LU solves in
# chunks of columns instead of a dense inverse (memory grows with the square of the cycle).
_DENSE_CYCLE = 1_000


def _return_factors(D: sp.sparse.csr_array) -> np.ndarray:
    """``[(I - D)^-1]_{oo}`` for every entity o: the sum over closed walks o -> ... -> o of the
    products of their stakes (1 for the empty walk).

    A closed walk through o never leaves o's strongly connected component, so the factor is 1
    off cycles and comes from the inverse of the component's own block otherwise.
    """
    factor = np.ones(D.shape[0])
    _, label = sp.sparse.csgraph.connected_components(D, directed=True, connection="strong")
    sizes = np.bincount(label)
    on_cycle = (sizes[label] > 1) | (D.diagonal() > 0)  # a stake in itself is a one-entity cycle
    for component in np.unique(label[on_cycle]):
        members = np.flatnonzero(label == component)
        block = sp.sparse.eye_array(members.size) - D[members][:, members]
        if members.size <= _DENSE_CYCLE:
            factor[members] = np.diag(np.linalg.inv(block.toarray()))
            continue
        lu = sp.sparse.linalg.splu(sp.sparse.csc_array(block))
        for first in range(0, members.size, _DENSE_CYCLE):
            cols = np.arange(first, min(first + _DENSE_CYCLE, members.size))
            unit = np.zeros((members.size, cols.size))
            unit[cols, np.arange(cols.size)] = 1.0
            factor[members[cols]] = lu.solve(unit)[cols, np.arange(cols.size)]
    return factor


def _full_series(D: sp.sparse.csr_array) -> sp.sparse.csr_array:
    """``(I - D)^-1`` as a sparse matrix, by repeated squaring of the Neumann series.

    After k steps ``S = I + D + ... + D^(2^k - 1)``: the next step adds ``D^(2^k) S``. On an acyclic
    part ``D^(2^k)`` vanishes once ``2^k`` exceeds the longest chain, so the sum there is exact;
    around cycles the remainder shrinks doubly exponentially. Every term is non-negative, so no
    cancellation can spoil the sum.
    """
    S = sp.sparse.eye_array(D.shape[0], format="csr")
    power = D
    for _ in range(_MAX_SQUARINGS):
        addition = power @ S
        S = S + addition
        if addition.nnz == 0 or addition.max() <= np.finfo(float).eps * S.max():
            return sp.sparse.csr_array(S)
        power = power @ power
    raise ConvergenceError(f"integrated ownership did not converge in {2 ** _MAX_SQUARINGS} terms: an "
                           "ownership cycle multiplies to within rounding of 100 %; check its stakes.")


def _column_solve(D: sp.sparse.csr_array, assets: np.ndarray) -> np.ndarray:
    """Columns ``assets`` of ``D (I - D)^-1``, from ``(I - D) y = D[:, a]`` restricted to the
    ancestors of the assets: no other entity lies on a chain into them."""
    T = np.zeros((D.shape[0], assets.size))
    owners = np.flatnonzero(_ancestors(D, assets))
    if owners.size == 0:
        return T
    block = D[owners][:, owners]
    _check_series_converges(block)
    system = sp.sparse.csc_array(sp.sparse.eye_array(owners.size) - block)
    # Factorise once, solve every requested column against the one factorisation.
    T[owners] = sp.sparse.linalg.splu(system).solve(D[owners][:, assets].toarray())
    # Vitali et al.'s correction: an owner is not credited the walks that come back through itself.
    T[owners] /= _return_factors(block)[:, None]
    return T


def integrated_ownership(D, *, assets=None):
    """Integrated (indirect) ownership with the cycle correction of Vitali, Glattfelder &
    Battiston (2011): ``T = diag(S)^-1 D S`` with ``S = (I - D)^-1``.

    ``(D S)[o, a] = (D + D^2 + D^3 + ...)[o, a]`` sums, over every ownership walk
    ``o -> ... -> a``, the product of the stakes along it (Brioschi, Buzzacchi & Colombo 1989):
    owning 60 % of a company that owns 50 % of ``a`` is an integrated stake of 30 %. Inside a
    cycle that sum credits an owner with walks that come back through itself and go round
    again, so two companies owning 90 % of each other would hold 474 % of each other. Every
    walk from o splits, at its last visit to o, into a closed walk o -> o and a walk that never
    returns to o, so ``(D S)[o, a] = S[o, o] F[o, a]`` where F sums the walks that do not
    return: dividing row o by ``S[o, o]`` keeps exactly those. ``T[o, a]`` is then the chance
    that a walk up the ownership tree from ``a``, picking each owner with the probability of
    its stake, reaches o (before any return to o), hence at most 1 when no asset's recorded
    stakes sum past 100 %. An owner on no cycle has ``S[o, o] = 1``: its stake is the
    Brioschi et al. integrated stake unchanged.

    Parameters
    ----------
    D : (n, n) sparse array
        Direct ownership: ``D[o, a]`` is the share of a held directly by o, in [0, 1].
    assets : sequence of int, optional
        Entity indices whose columns to compute. Default: all of them.

    Returns
    -------
    T : (n, n) csr_array, or (n, len(assets)) ndarray when ``assets`` is given
        Integrated stakes; ``T[:, j]`` are the stakes in ``assets[j]``. ``T[o, o]`` is o's stake
        in itself through cycles, ``1 - 1 / S[o, o]``.

    Raises
    ------
    ValueError
        If ``D`` is not square, holds a share outside [0, 1], or ``assets`` are not entity indices.
    ConvergenceError
        If the series diverges: an ownership cycle whose stakes multiply to 100 % or more
        (spectral radius of ``D`` at least 1); :func:`ultimate_owners` and :func:`listed_stakes`
        still answer there.

    Notes
    -----
    With ``assets``, each column is solved from ``(I - D) y = D[:, a]`` over the ancestors of
    the assets only (the entities with a chain into one of them), factorising once with
    SuperLU; the convergence check then covers those entities only. ``S[o, o]`` depends on o's
    strongly connected component only (a closed walk never leaves it), so it comes from the
    inverse of that component's block. For all assets, the series is summed by repeated
    squaring, which is exact on acyclic parts of ``D`` and keeps ``T`` sparse; on large graphs
    ask for the assets you need.

    Examples
    --------
    >>> D = sp.sparse.csr_array([[0, 0.6, 0], [0, 0, 0.5], [0, 0, 0]])  # P -60%-> A -50%-> B
    >>> integrated_ownership(D, assets=[2]).ravel().tolist()
    [0.3, 0.5, 0.0]
    >>> integrated_ownership(D).toarray().round(2).tolist()
    [[0.0, 0.6, 0.3], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]]

    A and B own 90 % of each other; P owns the other 10 % of A. Uncorrected, A would hold
    0.9 / (1 - 0.81) = 474 % of B; here it holds its 90 %, and P, on no cycle, 0.1 / 0.19:

    >>> D = sp.sparse.csr_array([[0, 0.1, 0], [0, 0, 0.9], [0, 0.9, 0]])  # P, A, B
    >>> integrated_ownership(D).toarray().round(4).tolist()
    [[0.0, 0.5263, 0.4737], [0.0, 0.81, 0.9], [0.0, 0.9, 0.81]]

    References
    ----------
    .. [1] Brioschi, Buzzacchi, Colombo, "Risk capital financing and the separation of
       ownership and control in business groups", J. Banking & Finance 13 (1989) 747-772
       (integrated ownership ``D (I - D)^-1``).
    .. [2] Vitali, Glattfelder, Battiston, "The network of global corporate control",
       PLoS ONE 6(10): e25995 (2011), Supporting Information S1, section 3 ("Network
       control": 3.1 the existing methodology and its problem with cycles, 3.2-3.3 the
       correction that keeps an owner from being credited walks through itself).
    """
    D = _shares(D)
    n = D.shape[0]
    if assets is None:
        _check_series_converges(D)
        S = _full_series(D)
        # Vitali et al.'s correction: an owner is not credited the walks that come back through itself.
        T = sp.sparse.csr_array(sp.sparse.diags_array(1.0 / S.diagonal()) @ (D @ S))
        T.eliminate_zeros()
        return T
    assets = np.atleast_1d(np.asarray(assets))
    if assets.size == 0:
        return np.zeros((n, 0))
    if assets.dtype.kind not in "iu" or ((assets < 0) | (assets >= n)).any():
        raise ValueError(f"assets must be entity indices in [0, {n}), got {assets.tolist()!r}.")
    return _column_solve(D, assets.astype(int))


def ultimate_owners(D, asset: int, *, threshold: float = 0.25,
                    owners_mask=None) -> list[tuple[int, float]]:
    """Owners whose integrated stake in ``asset`` is ``threshold`` or more, largest first.

    Parameters
    ----------
    D : (n, n) sparse array
        Direct ownership, as in :func:`integrated_ownership`.
    asset : int
        Entity index of the asset.
    threshold : float
        Smallest integrated stake that makes an ultimate owner, in (0, 1]. The default 25 %
        is the beneficial-ownership threshold of the EU anti-money-laundering directive, which
        reads "more than 25 %": pass a threshold a hair above 0.25 for the strict reading.
    owners_mask : (n,) bool ndarray, optional
        Entities that may be ultimate owners, e.g. ``kind == "person"`` for natural persons.

    Returns
    -------
    list of (int, float)
        ``(owner index, integrated stake)``, by stake (largest first), then by index. The asset
        itself (a stake in itself through a cycle) is never listed.

    Notes
    -----
    The stakes are :func:`integrated_ownership`'s, cycle correction included. Where a cycle
    among the asset's owners multiplies to 100 % (two companies holding each other with no
    recorded share, taken at their upper bound) that series has no sum, but each owner's stake
    still does: it is then the least solution of each owner's own equations, capped at 100 %
    (see :func:`listed_stakes`), one owner at a time.

    Raises
    ------
    ValueError
        If ``threshold`` is outside (0, 1], ``asset`` is not an entity index, ``owners_mask``
        has the wrong shape, or ``D`` is not a matrix of shares.
    ConvergenceError
        As :func:`integrated_ownership`.

    Examples
    --------
    >>> D = sp.sparse.csr_array([[0, 0.6, 0.1], [0, 0, 0.5], [0, 0, 0]])  # P, A, B
    >>> ultimate_owners(D, 2)
    [(1, 0.5), (0, 0.4)]
    >>> ultimate_owners(D, 2, owners_mask=np.array([True, False, False]))
    [(0, 0.4)]

    References
    ----------
    .. [1] Directive (EU) 2015/849 (fourth anti-money-laundering directive), Art. 3(6)(a)(i).
    """
    _check_threshold(threshold)
    D = _shares(D)
    n = D.shape[0]
    asset = _index(asset, n, "asset")
    allowed = np.ones(n, dtype=bool) if owners_mask is None else np.asarray(owners_mask)
    if allowed.shape != (n,) or allowed.dtype != bool:
        raise ValueError(f"owners_mask must be a boolean array of shape ({n},).")
    stake = owner_stakes(D, asset)
    chosen = allowed & reaches(stake, threshold)
    chosen[asset] = False
    found = np.flatnonzero(chosen)
    order = np.lexsort((found, -stake[found]))
    return [(int(o), float(stake[o])) for o in found[order]]


def _chain_graph(D: sp.sparse.csr_array, owner: int, asset: int, max_length: int) -> yen.DiGraph:
    """The links on some walk of at most ``max_length`` links from owner to asset, weighted by
    ``-log(share)`` so that the shortest chain carries the largest product of shares."""
    G = D.astype(bool).astype(float)  # csgraph reads G[i, j] as a link i -> j: owner -> asset
    hops_from = sp.sparse.csgraph.dijkstra(G, indices=owner, unweighted=True, limit=max_length)
    hops_to = sp.sparse.csgraph.dijkstra(G.T, indices=asset, unweighted=True, limit=max_length)
    on_a_walk = np.flatnonzero(hops_from + hops_to <= max_length)
    sub = D[on_a_walk][:, on_a_walk].tocoo()
    return yen.DiGraph(zip(on_a_walk[sub.row].tolist(), on_a_walk[sub.col].tolist(),
                           np.maximum(-np.log(sub.data), 0.0).tolist()))


def ownership_chains(D, owner: int, asset: int, *, top: int = 3,
                     max_length: int = 10) -> list[tuple[list[int], float]]:
    """The ownership chains from ``owner`` to ``asset`` that carry the largest products of shares.

    A chain's product is its part of the integrated stake ``T[owner, asset]``: the products of
    all chains (repetitions of cycles included) sum to it, so the chains listed here sum to at
    most that.

    Parameters
    ----------
    D : (n, n) sparse array
        Direct ownership, as in :func:`integrated_ownership`.
    owner, asset : int
        Entity indices; they must differ.
    top : int
        Most chains returned, at least 1.
    max_length : int
        Most links in a chain, at least 1.

    Returns
    -------
    list of (list of int, float)
        ``(chain, product)``: the entity indices from owner to asset, and the product of the
        stakes along them; strongest first. Empty when no chain is short enough.

    Raises
    ------
    ValueError
        If ``top`` or ``max_length`` is below 1, owner or asset is not an entity index, they are
        equal, or ``D`` is not a matrix of shares.

    Notes
    -----
    Yen's k-shortest simple paths (:mod:`graphscore.engine.yen`, networkx's
    ``shortest_simple_paths`` step for step, without importing networkx) under lengths
    ``-log(share)``, run on the entities within ``max_length`` links of both the owner and the
    asset only. A chain the search yields that is still longer than ``max_length`` is skipped;
    the search stops after ``50 * top`` candidates, so fewer than ``top`` chains may come back
    from a graph dense with long detours.

    Examples
    --------
    >>> D = sp.sparse.csr_array([[0, 0.5, 0.5, 0], [0, 0, 0, 0.5], [0, 0, 0, 0.5], [0, 0, 0, 0]])
    >>> sorted(ownership_chains(D, 0, 3))  # P owns A and B half each; each owns half of C
    [([0, 1, 3], 0.25), ([0, 2, 3], 0.25)]

    References
    ----------
    .. [1] Yen, "Finding the K shortest loopless paths in a network", Management Science 17(11)
       (1971) 712-716.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}.")
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}.")
    D = _shares(D)
    n = D.shape[0]
    owner, asset = _index(owner, n, "owner"), _index(asset, n, "asset")
    if owner == asset:
        raise ValueError(f"owner and asset must differ, got {owner} for both.")
    graph = _chain_graph(D, owner, asset, max_length)
    if owner not in graph or asset not in graph:
        return []
    candidates = yen.shortest_simple_paths(graph, owner, asset)
    short = (path for path in itertools.islice(candidates, _CANDIDATES_PER_CHAIN * top)
             if len(path) - 1 <= max_length)
    return [(path, float(np.prod([D[u, v] for u, v in itertools.pairwise(path)])))
            for path in itertools.islice(short, top)]


def ofac_blocked(D, seeds, *, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The OFAC 50 % rule: entities owned 50 % or more, in aggregate, by blocked persons.

    An entity is blocked when the direct stakes held in it by blocked persons or entities sum
    to ``threshold`` or more. A stake held through an entity that is not itself blocked counts
    zero, however much of that entity blocked persons own; an entity that becomes blocked
    brings its own stakes into the count, so the rule is applied until nothing changes.

    Parameters
    ----------
    D : (n, n) sparse array
        Direct ownership, as in :func:`integrated_ownership`.
    seeds : (n,) bool ndarray
        Entities blocked in their own right (listed); they stay blocked.
    threshold : float
        Aggregate direct stake of blocked owners that blocks an entity, in (0, 1].

    Returns
    -------
    blocked : (n,) bool ndarray
        Seeds, and entities blocked through ownership.
    blocked_stake : (n,) ndarray
        Summed direct stake of blocked owners in each entity, at the fixpoint.

    Raises
    ------
    ValueError
        If ``threshold`` is outside (0, 1], ``seeds`` is not a boolean (n,) mask, or ``D`` is
        not a matrix of shares.

    Notes
    -----
    Each round is one sparse product; the blocked set only grows, so it settles after at most
    as many rounds as the longest chain of newly blocked entities. Starting from the seeds gives
    the least fixpoint: two companies owning each other blocked only if something outside the
    pair blocks one of them. Where a cycle makes a larger blocked set consistent too,
    :func:`ofac_review` names the entities concerned.

    Examples
    --------
    >>> D = sp.sparse.csr_array([[0, 0.5, 0], [0, 0, 0.5], [0, 0, 0]])  # X -50%-> A -50%-> B
    >>> blocked, stake = ofac_blocked(D, np.array([True, False, False]))
    >>> blocked.tolist(), stake.tolist()
    ([True, True, True], [0.0, 0.5, 0.5])

    References
    ----------
    .. [1] U.S. Department of the Treasury, OFAC, "Revised Guidance on Entities Owned by Persons
       Whose Property and Interests in Property Are Blocked", 13 August 2014.
    .. [2] OFAC, Frequently Asked Questions 398-402 (the 50 % rule, aggregation, indirect
       ownership).
    """
    _check_threshold(threshold)
    D = _shares(D)
    seeds = _seed_mask(seeds, D.shape[0])
    owned_by = sp.sparse.csr_array(D.T)  # row a: the owners of a and their direct stakes
    blocked = seeds
    while True:
        # OFAC aggregates direct stakes of blocked owners only: a stake held through an
        # unblocked company counts zero, even when blocked owners hold 49 % of that company.
        stake = owned_by @ blocked.astype(float)
        grown = seeds | reaches(stake, threshold)
        if (grown == blocked).all():
            return blocked, stake
        blocked = grown


def eu_frozen(D, C, seeds, *, threshold: float = 0.5,
              inclusive: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The EU "owned or controlled" test: entities whose funds are frozen because listed persons
    own or control them.

    An entity is owned when the direct stakes held in it by listed or frozen parties, summed,
    are more than ``threshold`` (``inclusive=False``) or at least it (``inclusive=True``); it is
    controlled when a listed or frozen party controls it (a ``CONTROLS`` link), whatever the
    shares. Entities owned or controlled are frozen in turn, and the test is applied until
    nothing changes: a listed person owning 60 % of A, which owns 60 % of B, catches both.

    Parameters
    ----------
    D : (n, n) sparse array
        Direct ownership, as in :func:`integrated_ownership`.
    C : (n, n) sparse array of 0/1
        ``C[c, a] = 1`` when c controls a.
    seeds : (n,) bool ndarray
        Listed entities; they stay frozen.
    threshold : float
        Ownership threshold, in (0, 1].
    inclusive : bool
        False: ownership is *more than* ``threshold`` (the EU Best Practices of 2022, "more
        than 50 % of the proprietary rights"). True: ``threshold`` or more (the Best Practices
        as updated on 3 July 2024, aligned on OFAC's "50 % or more"). A policy picks the
        reading in force at its ``as_of`` (:meth:`graphscore.policy.Policy.eu_inclusive_at`).

    Returns
    -------
    frozen : (n,) bool ndarray
        Seeds, and entities owned or controlled by frozen parties.
    stake : (n,) ndarray
        Summed direct stake of frozen owners in each entity, at the fixpoint.
    controlled : (n,) bool ndarray
        Entities, other than seeds, controlled by a frozen party (frozen by a ``CONTROLS`` link,
        possibly also owned).

    Raises
    ------
    ValueError
        If ``threshold`` is outside (0, 1], ``C`` is not a 0/1 matrix of D's shape, ``seeds`` is
        not a boolean (n,) mask, or ``D`` is not a matrix of shares.

    Notes
    -----
    The default follows the 2022 text, which defines ownership as "more than 50 %"; exactly
    50 % then is not ownership. Since the Council's update of 3 July 2024 the Best Practices
    read "50 % or more", as does OFAC, so for dates from then on ``inclusive=True`` is the
    reading in force. Holdings of several listed persons are aggregated, as the Commission's
    FAQs have long read the rule and the 2024 update states outright. The rule is applied from
    the listed entities up (the least fixpoint); :func:`eu_review` finds the entities a cycle
    could freeze too.

    Examples
    --------
    >>> D = sp.sparse.csr_array([[0, 0.5, 0], [0, 0, 0], [0, 0, 0]])  # X owns exactly 50 % of A
    >>> C = sp.sparse.csr_array([[0, 0, 1], [0, 0, 0], [0, 0, 0]])    # X controls B
    >>> seeds = np.array([True, False, False])
    >>> [a.tolist() for a in eu_frozen(D, C, seeds)]
    [[True, False, True], [0.0, 0.5, 0.0], [False, False, True]]
    >>> eu_frozen(D, C, seeds, inclusive=True)[0].tolist()
    [True, True, True]

    References
    ----------
    .. [1] Council of the EU, "Restrictive measures (Sanctions) - Update of the EU Best Practices
       for the effective implementation of restrictive financial measures", doc. 10572/22
       (2022), paras 61-66 (ownership and control).
    .. [2] Council of the EU, Update of the EU Best Practices for the effective implementation
       of restrictive measures, 3 July 2024 (ownership at "50 % or more", aggregation).
    """
    _check_threshold(threshold)
    D = _shares(D)
    n = D.shape[0]
    C = _control(C, n)
    seeds = _seed_mask(seeds, n)
    owned_by = sp.sparse.csr_array(D.T)
    controlled_by = sp.sparse.csr_array(C.T, dtype=float)
    frozen = seeds
    while True:
        stake = owned_by @ frozen.astype(float)
        owned = reaches(stake, threshold, inclusive=inclusive)
        controlled = (controlled_by @ frozen.astype(float) > 0) & ~seeds
        grown = seeds | owned | controlled
        if (grown == frozen).all():
            return frozen, stake, controlled
        frozen = grown


def _least_stakes(M: sp.sparse.csr_array, direct: np.ndarray) -> np.ndarray:
    """The least non-negative solution of ``y = min(1, direct + M^T y)``.

    Where ``M`` is a matrix of stakes whose series converges and the solution of the linear
    system ``y = direct + M^T y`` is at most 1, that solution is the least one (every partial
    sum of the series stays below it), found by one sparse solve. Otherwise (stakes taken at
    upper bounds that sum past 100 % in some asset, or a cycle of whole stakes), the capped map
    is iterated from 0: it is monotone and bounded, so it climbs to its least fixpoint, which
    bounds the stakes of every set of smaller stakes from above.
    """
    if _divergent_cycle(M) is None:
        system = sp.sparse.csc_array(sp.sparse.eye_array(M.shape[0]) - M.T)
        y = np.atleast_1d(sp.sparse.linalg.spsolve(system, direct))
        if y.max(initial=0.0) <= 1 + _SHARE_TOL:
            return np.minimum(y, 1.0)
    owned_by = sp.sparse.csr_array(M.T)
    y = np.zeros_like(direct)
    for _ in range(_MAX_CAPPED_ROUNDS):
        grown = np.minimum(1.0, direct + owned_by @ y)
        if np.abs(grown - y).max(initial=0.0) <= np.finfo(float).eps:
            return grown
        y = grown
    raise ConvergenceError(f"group stakes did not settle in {_MAX_CAPPED_ROUNDS} rounds: an ownership cycle "
                           "multiplies to within rounding of 100 %; check its stakes.")


# The capped iteration of _least_stakes gains a factor of the cycle's radius per round: this
# many rounds settle any cycle whose stakes multiply to 99.7 % or less to double precision.
_MAX_CAPPED_ROUNDS = 20_000


def listed_stakes(D, listed) -> np.ndarray:
    """Integrated stake the listed entities hold, as a group, in each entity.

    Chains are multiplied along their links and summed over chains, as in
    :func:`integrated_ownership`, but each chain counts once, from the last listed owner on it:
    a listed parent's stake through a listed subsidiary is the subsidiary's stake already, and
    a listed owner on a cycle is not credited chains that come back through it (Vitali et al.'s
    correction). So the group's stake is the least solution of ``y = D_L^T 1 + D_U^T y``, where
    ``D_L`` keeps the rows of listed owners and ``D_U`` those of unlisted ones. Unlike the OFAC
    rule, stakes held through an unlisted intermediary count: a listed person owning 40 % of a
    company that owns 75 % of C holds 30 % of C here, 0 % for OFAC.

    Parameters
    ----------
    D : (n, n) sparse array
        Direct shares, ``D[o, a]`` = share of a held by o.
    listed : (n,) bool ndarray
        Listed (sanctioned) entities.

    Returns
    -------
    (n,) ndarray
        The listed group's integrated stake in each entity, in [0, 1].

    Raises
    ------
    ValueError
        If ``D`` is not a square matrix of shares or ``listed`` not a boolean mask over it.

    Notes
    -----
    Only the entities a listed owner reaches through unlisted ones enter the solve: a cycle of
    whole stakes nobody listed holds a part of (two companies owning each other, shares
    unknown, read at their upper bound of 100 %) cannot make it diverge. The stake is the
    chance that a walk up the ownership tree from the entity, picking each owner with the
    probability of its stake, meets a listed owner, so it stays at most 1 whenever each
    entity's recorded stakes sum to at most 100 %; where stakes are upper bounds that sum past
    it, the least solution capped at 1 is returned (see the private ``_least_stakes``).

    Examples
    --------
    >>> D = sp.sparse.csr_array([[0, 0.4, 0], [0, 0, 0.75], [0, 0, 0]])  # X -40%-> M -75%-> C
    >>> listed_stakes(D, np.array([True, False, False])).round(12).tolist()
    [0.0, 0.4, 0.3]
    >>> listed_stakes(D, np.array([True, True, False])).round(12).tolist()  # M's 75 % counts once
    [0.0, 0.4, 0.75]

    References
    ----------
    .. [1] Brioschi, Buzzacchi, Colombo, "Risk capital financing and the separation of ownership
       and control in business groups", J. Banking & Finance 13, 1989 (integrated ownership).
    .. [2] Vitali, Glattfelder, Battiston, "The network of global corporate control", PLoS ONE
       6(10): e25995 (2011), Supporting Information S1, section 3 (walks through the owner
       itself are not credited to it).
    """
    D = _shares(D)
    listed = _seed_mask(listed, D.shape[0])
    direct = np.asarray(D.T @ listed.astype(float)).ravel()
    if direct.max(initial=0.0) == 0:
        return direct
    through = sp.sparse.csr_array(sp.sparse.diags_array((~listed).astype(float)) @ D)
    held = direct > 0
    members = np.flatnonzero(held | _reach(sp.sparse.csr_array(through.T), held))
    stake = np.zeros(D.shape[0])
    stake[members] = _least_stakes(through[members][:, members], direct[members])
    return stake


def owner_stakes(D, asset: int) -> np.ndarray:
    """Every entity's integrated stake in ``asset``, corrected for cycles, as
    :func:`integrated_ownership` gives it: one column solve where the series over the asset's
    owners converges; where a cycle of whole stakes leaves it without a sum (unknown stakes read
    at their upper bound), each owner's least solution capped at 100 %, as :func:`listed_stakes`
    gives it for that owner alone.

    Examples
    --------
    A and B own each other wholly (shares unknown, read at 100 %): the series has no sum, but
    A's one walk to B carries 100 %, and B holds itself wholly through the round B A B:

    >>> owner_stakes(sp.sparse.csr_array([[0, 1.0], [1.0, 0]]), 1).tolist()
    [1.0, 1.0]

    References
    ----------
    .. [1] Vitali, Glattfelder, Battiston (2011), as in :func:`integrated_ownership`.
    """
    D = _shares(D)
    asset = _index(asset, D.shape[0], "asset")
    owners = np.flatnonzero(_ancestors(D, np.array([asset])))
    stake = np.zeros(D.shape[0])
    if owners.size == 0:
        return stake
    if _divergent_cycle(D[owners][:, owners]) is None:
        return integrated_ownership(D, assets=[asset])[:, 0]
    block = np.union1d(owners, [asset])
    sub = D[block][:, block]
    at = int(np.searchsorted(block, asset))
    for o in owners:
        alone = block == o
        stake[o] = listed_stakes(sub, alone)[at]
    return stake


def _fixpoints(step, seeds: np.ndarray, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least and greatest fixpoint of a monotone rule ``step`` (mask -> mask) between ``seeds``
    and ``top``: from the seeds upwards, and from ``top`` downwards (Knaster-Tarski; on a finite
    set each climb settles in at most n rounds)."""
    least = seeds
    while not ((grown := seeds | step(least)) == least).all():
        least = grown
    greatest = top | seeds
    while not ((shrunk := seeds | (step(greatest) & top)) == greatest).all():
        greatest = shrunk
    return least, greatest


def _ofac_step(D: sp.sparse.csr_array, threshold: float):
    owned_by = sp.sparse.csr_array(D.T)  # row a: the owners of a and their direct stakes
    return lambda blocked: reaches(owned_by @ blocked.astype(float), threshold)


def ofac_review(D, seeds, *, threshold: float = 0.5) -> np.ndarray:
    """Entities whose OFAC status a cycle leaves open: blocked in some self-consistent answer
    of the 50 % rule, not in the one :func:`ofac_blocked` gives.

    The rule defines the blocked set by itself (an entity is blocked when blocked owners hold
    50 % of it), so any set B with ``B = seeds | {a: blocked stakes in a reach 50 %}`` is a
    consistent reading. :func:`ofac_blocked` gives the least one; where a cycle lets the stakes
    of its own members carry each other over the threshold, larger ones exist too. X owns 40 %
    of A, A owns 100 % of B, B owns 10 % of A: nothing blocked but X is consistent, and so is
    blocking A (X's 40 % and B's 10 %) and B (A's 100 %). Such entities need a reviewer's
    judgement, not the least answer silently.

    Parameters
    ----------
    D, seeds, threshold
        As in :func:`ofac_blocked`.

    Returns
    -------
    (n,) bool ndarray
        Entities blocked in the greatest consistent answer but not in the least. Only entities a
        blocked person holds a stake in, directly or through a chain, can be among them: one
        nobody blocked owns any part of is beyond the rule under every reading.

    Examples
    --------
    >>> D = sp.sparse.csr_array([[0, 0.4, 0], [0, 0, 1.0], [0, 0.1, 0]])  # X, A, B
    >>> ofac_review(D, np.array([True, False, False])).tolist()
    [False, True, True]

    References
    ----------
    .. [1] OFAC, "Revised Guidance on Entities Owned by Persons Whose Property and Interests in
       Property Are Blocked", 13 August 2014 (the 50 % rule, applied to entities owned by
       blocked entities in turn).
    .. [2] Tarski, "A lattice-theoretical fixpoint theorem and its applications", Pacific J.
       Math. 5 (1955) 285-309: a monotone rule on a finite lattice has a least and a greatest
       fixpoint.
    """
    _check_threshold(threshold)
    D = _shares(D)
    seeds = _seed_mask(seeds, D.shape[0])
    least, greatest = _fixpoints(_ofac_step(D, threshold), seeds, _reach(sp.sparse.csr_array(D.T), seeds))
    return greatest & ~least


def eu_review(D, C, seeds, *, threshold: float = 0.5, inclusive: bool = False) -> np.ndarray:
    """Entities whose EU status a cycle leaves open, as :func:`ofac_review` for :func:`eu_frozen`.

    Examples
    --------
    >>> D = sp.sparse.csr_array([[0, 0.4, 0], [0, 0, 1.0], [0, 0.2, 0]])  # X, A, B: 40 + 20 > 50
    >>> eu_review(D, sp.sparse.csr_array((3, 3)), np.array([True, False, False])).tolist()
    [False, True, True]

    References
    ----------
    .. [1] Council of the EU, Best Practices for the effective implementation of restrictive
       measures (ownership and control; see :func:`eu_frozen`).
    """
    _check_threshold(threshold)
    D = _shares(D)
    n = D.shape[0]
    C = _control(C, n)
    seeds = _seed_mask(seeds, n)
    owned_by, controlled_by = sp.sparse.csr_array(D.T), sp.sparse.csr_array(C.T, dtype=float)

    def step(frozen):
        return (reaches(owned_by @ frozen.astype(float), threshold, inclusive=inclusive)
                | (controlled_by @ frozen.astype(float) > 0))

    top = _reach(sp.sparse.csr_array(owned_by + controlled_by), seeds)
    least, greatest = _fixpoints(step, seeds, top)
    return greatest & ~least


def _control(C, n: int) -> sp.sparse.csr_array:
    C = sp.sparse.csr_array(C)
    if C.shape != (n, n) or not np.isin(C.data, (0, 1)).all():
        raise ValueError(f"C must be a 0/1 control matrix of shape ({n}, {n}), like D.")
    return C


def uk_designated(D, C, seeds, *, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The UK test: entities owned or controlled, directly or indirectly, by one designated person.

    For each designated person P separately: an entity is P's when P holds more than
    ``threshold`` of its shares, counting P's own stakes and, in full, the stakes of entities
    that are P's already (a person holds a share indirectly when it has a majority stake in, or
    controls, the holder), or when P or one of P's entities controls it (a ``CONTROLS`` link).
    Different designated persons' holdings are *not* added up: two designated persons with
    30 % each make no entity theirs, unlike OFAC's and the EU's aggregation.

    Parameters
    ----------
    D : (n, n) sparse array
        Direct ownership, as in :func:`integrated_ownership`.
    C : (n, n) sparse array of 0/1
        ``C[c, a] = 1`` when c controls a.
    seeds : (n,) bool ndarray
        Designated persons and entities; they stay designated.
    threshold : float
        Ownership threshold, in (0, 1]; owned means *more than* it ("more than 50 %").

    Returns
    -------
    flagged : (n,) bool ndarray
        Seeds, and entities owned or controlled by one designated person.
    stake : (n,) ndarray
        The largest holding of any one designated person (direct plus through its entities).
    controlled : (n,) bool ndarray
        Entities, other than seeds, that a designated person or one of its entities controls.

    Raises
    ------
    ValueError
        As :func:`eu_frozen`.

    Notes
    -----
    Each designated person's entities are found by a search from that person alone (compiled,
    numba), so the cost follows the part of the register below the designated persons, once per
    person.

    Examples
    --------
    Designated X and Y hold 30 % of A each (no aggregation: A is not theirs); X holds 60 % of
    K, and K 25 % of B beside X's own 30 % (55 % is X's: B is X's):

    >>> D = sp.sparse.csr_array(([0.3, 0.3, 0.6, 0.25, 0.3], ([0, 1, 0, 3, 0], [2, 2, 3, 4, 4])), shape=(5, 5))
    >>> flagged, stake, _ = uk_designated(D, sp.sparse.csr_array((5, 5)), np.array([1, 1, 0, 0, 0], bool))
    >>> flagged.tolist(), stake.round(2).tolist()
    ([True, True, False, True, True], [0.0, 0.0, 0.3, 0.6, 0.55])

    References
    ----------
    .. [1] The Russia (Sanctions) (EU Exit) Regulations 2019 (SI 2019/855), reg. 7 ("owned or
       controlled directly or indirectly": more than 50 % of the shares or voting rights, the
       right to appoint or remove a majority of the board, or control in fact) and Schedule 1
       (shares held indirectly through a majority stake).
    .. [2] HM Treasury, OFSI, "UK financial sanctions general guidance", ownership and control:
       holdings of different designated persons are not simply aggregated, unless they are held
       jointly or under an arrangement between them.
    """
    _check_threshold(threshold)
    D = _shares(D)
    n = D.shape[0]
    C = _control(C, n)
    seeds = _seed_mask(seeds, n)
    holdings, controls = D.tocsr(), C.tocsr()
    flagged, best, controlled = _uk_search(holdings.indptr, holdings.indices, holdings.data, controls.indptr,
                                           controls.indices, np.flatnonzero(seeds), seeds,
                                           threshold + _SHARE_TOL)
    return flagged, best, controlled


@numba.njit(cache=True, nogil=True)
def _uk_search(own_ptr, own_asset, own_share, control_ptr, control_asset, persons, seeds, above):  # pragma: no cover - compiled
    """:func:`uk_designated`'s search, one designated person at a time: from the person, each
    holder's stakes are added to what the person holds of each asset (``held``), and an asset
    becomes the person's (``mine``) when that passes ``above`` (``reaches(..., inclusive=False)``)
    or when a holder of the person's controls it; the person's holders are searched last in,
    first out. Work arrays of n entries serve every person, reset through the lists of the
    entries each one wrote: the cost follows the part of the register below each person."""
    n = seeds.shape[0]
    flagged, controlled = seeds.copy(), np.zeros(n, dtype=np.bool_)
    best, held = np.zeros(n), np.zeros(n)
    is_held, mine = np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.bool_)
    held_list, mine_list, todo = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    for person in persons:
        held_count, mine_count, top = 0, 1, 1
        mine[person], mine_list[0], todo[0] = True, person, person
        while top > 0:
            top -= 1
            holder = todo[top]
            for e in range(own_ptr[holder], own_ptr[holder + 1]):
                asset = own_asset[e]
                if not is_held[asset]:
                    is_held[asset], held[asset] = True, 0.0
                    held_list[held_count] = asset
                    held_count += 1
                held[asset] += own_share[e]
                if not mine[asset] and held[asset] > above:
                    mine[asset], mine_list[mine_count], todo[top] = True, asset, asset
                    mine_count += 1
                    top += 1
            for e in range(control_ptr[holder], control_ptr[holder + 1]):
                asset = control_asset[e]
                if not mine[asset]:
                    mine[asset], mine_list[mine_count], todo[top] = True, asset, asset
                    mine_count += 1
                    top += 1
                    if not seeds[asset]:
                        controlled[asset] = True
        for k in range(held_count):
            asset = held_list[k]
            best[asset] = max(best[asset], held[asset])
            is_held[asset] = False
        for k in range(mine_count):
            flagged[mine_list[k]] = True
            mine[mine_list[k]] = False
    return flagged, best, controlled
