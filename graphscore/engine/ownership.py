"""Ownership rules: integrated (indirect) ownership, ultimate owners, ownership chains, and
the OFAC and EU tests of which entities a sanction reaches through ownership and control.

Every function takes the direct-ownership matrix ``D``: a sparse (n, n) array with ``D[o, a]``
the share of asset a held directly by owner o, a fraction in [0, 1]. The EU test also takes
``C``, a 0/1 (n, n) array with ``C[c, a] = 1`` when c controls a, and the sanction tests a
boolean (n,) array ``seeds`` of the entities listed (with an active sanction).
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import scipy as sp

from graphscore.engine.spread import spectral_radius
from graphscore.errors import ConvergenceError

__all__ = ["integrated_ownership", "ultimate_owners", "ownership_chains", "ofac_blocked",
           "eu_frozen", "listed_stakes"]

# Registers record stakes as decimal percentages; their sum in binary floating point can fall a
# hair short of the threshold (0.03 + 0.29 + 0.18 == 0.49999999999999994), so rule thresholds are
# compared with this slack.
_SHARE_TOL = 1e-12
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


def _ancestors(D: sp.sparse.csr_array, assets: np.ndarray) -> np.ndarray:
    """Mask of the entities with an ownership chain to any of ``assets``: breadth first, one
    sparse product per level."""
    reached = np.zeros(D.shape[0], dtype=bool)
    frontier = np.zeros(D.shape[0], dtype=bool)
    frontier[assets] = True
    while frontier.any():
        frontier = (D @ frontier.astype(float) > 0) & ~reached
        reached |= frontier
    return reached


def _check_series_converges(D: sp.sparse.csr_array) -> None:
    """Raise ConvergenceError unless the spectral radius of ``D`` is below 1.

    No asset more than wholly owned by its recorded owners (column sums below 1) is the cheap
    sufficient test. Failing it, only the strongly connected components (the ownership cycles)
    can make the series diverge, since an acyclic part of ``D`` is nilpotent; the radius of each
    cycle whose own column sums reach 1 is computed.
    """
    if D.nnz == 0 or D.sum(axis=0).max() < 1:
        return
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
            raise ConvergenceError(
                f"integrated ownership diverges: the ownership cycle through entities [{shown}] has "
                f"spectral radius {rho:.3g} >= 1 (its stakes multiply to 100 % or more around the "
                "cycle); correct the stakes recorded in that cycle.")


def _full_series(D: sp.sparse.csr_array) -> sp.sparse.csr_array:
    """``D (I - D)^-1`` as a sparse matrix, by repeated squaring of the Neumann series.

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
            T = sp.sparse.csr_array(D @ S)
            T.eliminate_zeros()
            return T
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
    return T


def integrated_ownership(D, *, assets=None):
    """Integrated (indirect) ownership ``T = D (I - D)^-1 = D + D^2 + D^3 + ...``.

    ``T[o, a]`` is the sum, over every ownership chain ``o -> ... -> a``, of the product of the
    stakes along it, cycles included: owning 60 % of a company that owns 50 % of ``a`` is an
    integrated stake of 30 %.

    Parameters
    ----------
    D : (n, n) sparse array
        Direct ownership: ``D[o, a]`` is the share of a held directly by o, in [0, 1].
    assets : sequence of int, optional
        Entity indices whose columns to compute. Default: all of them.

    Returns
    -------
    T : (n, n) csr_array, or (n, len(assets)) ndarray when ``assets`` is given
        Integrated stakes; ``T[:, j]`` are the stakes in ``assets[j]``.

    Raises
    ------
    ValueError
        If ``D`` is not square, holds a share outside [0, 1], or ``assets`` are not entity indices.
    ConvergenceError
        If the series diverges: an ownership cycle whose stakes multiply to 100 % or more
        (spectral radius of ``D`` at least 1).

    Notes
    -----
    A chain may go round a cycle any number of times, so an entity on a cycle with large
    stakes both ways can hold more than 100 % of its partner (A and B each owning 90 % of the
    other: ``T[A, B] = 0.9 / (1 - 0.81) = 4.74``). An owner on no cycle never exceeds 100 %
    when no asset is more than wholly owned: its integrated stake is then the chance that a walk
    up the ownership tree from the asset, picking each owner with the probability of its
    stake, passes through it.

    With ``assets``, each column is solved from ``(I - D) y = D[:, a]`` over the ancestors of
    the assets only (the entities with a chain into one of them), factorising once with
    SuperLU; the convergence check then covers those entities only. For all assets, the series
    is summed by repeated squaring, which is exact on acyclic parts of ``D`` and keeps ``T``
    sparse; on large graphs ask for the assets you need.

    Examples
    --------
    >>> D = sp.sparse.csr_array([[0, 0.6, 0], [0, 0, 0.5], [0, 0, 0]])  # P -60%-> A -50%-> B
    >>> integrated_ownership(D, assets=[2]).ravel().tolist()
    [0.3, 0.5, 0.0]
    >>> integrated_ownership(D).toarray().round(2).tolist()
    [[0.0, 0.6, 0.3], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]]

    References
    ----------
    .. [1] Brioschi, Buzzacchi, Colombo, "Risk capital financing and the separation of
       ownership and control in business groups", J. Banking & Finance 13 (1989) 747-772.
    .. [2] Vitali, Glattfelder, Battiston, "The network of global corporate control",
       PLoS ONE 6(10): e25995 (2011), integrated ownership ``D (I - D)^-1``.
    """
    D = _shares(D)
    n = D.shape[0]
    if assets is None:
        _check_series_converges(D)
        return _full_series(D)
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
    stake = integrated_ownership(D, assets=[asset])[:, 0]
    chosen = allowed & (stake >= threshold - _SHARE_TOL)
    chosen[asset] = False
    found = np.flatnonzero(chosen)
    order = np.lexsort((found, -stake[found]))
    return [(int(o), float(stake[o])) for o in found[order]]


def _chain_graph(D: sp.sparse.csr_array, owner: int, asset: int, max_length: int) -> nx.DiGraph:
    """The links on some walk of at most ``max_length`` links from owner to asset, weighted by
    ``-log(share)`` so that the shortest chain carries the largest product of shares."""
    G = D.astype(bool).astype(float)  # csgraph reads G[i, j] as a link i -> j: owner -> asset
    hops_from = sp.sparse.csgraph.dijkstra(G, indices=owner, unweighted=True, limit=max_length)
    hops_to = sp.sparse.csgraph.dijkstra(G.T, indices=asset, unweighted=True, limit=max_length)
    on_a_walk = np.flatnonzero(hops_from + hops_to <= max_length)
    sub = D[on_a_walk][:, on_a_walk].tocoo()
    graph = nx.DiGraph()
    graph.add_weighted_edges_from(zip(on_a_walk[sub.row].tolist(), on_a_walk[sub.col].tolist(),
                                      np.maximum(-np.log(sub.data), 0.0).tolist()))
    return graph


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
    Yen's k-shortest simple paths (``networkx.shortest_simple_paths``) under lengths
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
    candidates = nx.shortest_simple_paths(graph, owner, asset, weight="weight")
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
    pair blocks one of them.

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
        grown = seeds | (stake >= threshold - _SHARE_TOL)
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
        as updated on 3 July 2024, aligned on OFAC's "50 % or more"; also how DESIGN §6
        states the rule).

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
    The default follows the text cited below, which defines ownership as "more than 50 %";
    exactly 50 % then is not ownership. Since the Council's update of 3 July 2024 the Best
    Practices read "50 % or more", as does OFAC, so for dates from then on ``inclusive=True``
    is the current reading. Holdings of several listed persons are aggregated, as the
    Commission's FAQs have long read the rule and the 2024 update states outright.

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
    C = sp.sparse.csr_array(C)
    if C.shape != (n, n) or not np.isin(C.data, (0, 1)).all():
        raise ValueError(f"C must be a 0/1 control matrix of shape ({n}, {n}), like D.")
    seeds = _seed_mask(seeds, n)
    owned_by = sp.sparse.csr_array(D.T)
    controlled_by = sp.sparse.csr_array(C.T, dtype=float)
    frozen = seeds
    while True:
        stake = owned_by @ frozen.astype(float)
        owned = stake >= threshold - _SHARE_TOL if inclusive else stake > threshold + _SHARE_TOL
        controlled = (controlled_by @ frozen.astype(float) > 0) & ~seeds
        grown = seeds | owned | controlled
        if (grown == frozen).all():
            return frozen, stake, controlled
        frozen = grown


def listed_stakes(D, listed) -> np.ndarray:
    """Integrated stake the listed entities hold, as a group, in each entity.

    Chains are multiplied along their links and summed over chains, as in
    :func:`integrated_ownership`, but each chain counts once, from the last listed owner on it:
    a listed parent's stake through a listed subsidiary is the subsidiary's stake already. So
    the group's stake is ``y = D_L^T 1 + D_U^T y``, where ``D_L`` keeps the rows of listed owners
    and ``D_U`` those of unlisted ones; one sparse solve. Unlike the OFAC rule, stakes held
    through an unlisted intermediary count: a listed person owning 40 % of a company that owns
    75 % of C holds 30 % of C here, 0 % for OFAC.

    Parameters
    ----------
    D : (n, n) sparse array
        Direct shares, ``D[o, a]`` = share of a held by o.
    listed : (n,) bool ndarray
        Listed (sanctioned) entities.

    Returns
    -------
    (n,) ndarray
        The listed group's integrated stake in each entity, at most 1 where recorded stakes in
        each asset sum to at most 1.

    Raises
    ------
    ValueError
        If ``D`` is not a square matrix of shares or ``listed`` not a boolean mask over it.
    ConvergenceError
        If a cycle among unlisted owners multiplies to 100 % or more.

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
    """
    D = _shares(D)
    listed = _seed_mask(listed, D.shape[0])
    through = sp.sparse.csr_array(sp.sparse.diags_array((~listed).astype(float)) @ D)
    direct = np.asarray(D.T @ listed.astype(float)).ravel()
    if direct.max(initial=0.0) == 0:
        return direct
    _check_series_converges(through)
    system = sp.sparse.csc_array(sp.sparse.eye_array(D.shape[0]) - through.T)
    return sp.sparse.linalg.spsolve(system, direct)
