"""Linear penalty spread (personalised-PageRank family): ``x = s + damping * W @ x``."""

from __future__ import annotations

import numpy as np
import scipy as sp

from graphscore.errors import ConvergenceError

__all__ = ["spread", "spectral_radius", "check_convergence"]

_DENSE_LIMIT = 400  # below this size a dense eigenvalue solve is cheaper than ARPACK


def spectral_radius(W: sp.sparse.sparray) -> float:
    """Largest absolute eigenvalue of ``W`` (the Perron root, for a non-negative W).

    Examples
    --------
    >>> W = sp.sparse.csr_array([[0.0, 1.0], [4.0, 0.0]])
    >>> round(spectral_radius(W), 6)
    2.0
    """
    n = W.shape[0]
    if n == 0 or W.nnz == 0:
        return 0.0
    if n <= _DENSE_LIMIT:
        return float(np.abs(np.linalg.eigvals(W.toarray())).max())
    try:
        values = sp.sparse.linalg.eigs(W.astype(float), k=1, which="LM", tol=1e-8,
                                       return_eigenvectors=False, maxiter=10 * n)
        return float(np.abs(values).max())
    except sp.sparse.linalg.ArpackNoConvergence:
        # Gelfand's formula: ||W^k||^(1/k) -> rho from above, so this errs on the safe side.
        power = sp.sparse.csr_array(W, dtype=float)
        for _ in range(5):
            power = power @ power
        return float(abs(power).sum(axis=1).max() ** (1 / 32))


def check_convergence(W: sp.sparse.sparray, damping: float) -> float:
    """Return ``damping * rho(W)``; raise ConvergenceError when it is 1 or more.

    Any induced norm bounds the spectral radius, so the cheap norm test settles most cases;
    only when it fails is the spectral radius itself computed.
    """
    if not 0 <= damping < 1:
        raise ValueError(f"damping must be in [0, 1), got {damping}.")
    absolute = abs(W)
    bound = damping * min(absolute.sum(axis=0).max(initial=0), absolute.sum(axis=1).max(initial=0))
    if bound < 1:
        return float(bound)
    rate = damping * spectral_radius(W)
    if rate >= 1 - 1e-12:
        rho = rate / damping
        raise ConvergenceError(
            f"spread diverges: damping x spectral radius of W = {damping:g} x {rho:.3g} = {rate:.3g} >= 1; "
            f"lower damping below {1 / rho:.3g}, lower the transmit weights, or set normalize = \"source\".")
    return float(rate)


def spread(W: sp.sparse.sparray, s: np.ndarray, *, damping: float = 0.6,
           tol: float = 1e-12, max_iter: int = 10_000, check: bool = True) -> np.ndarray:
    """Linear penalty spread: the solution x of ``x = s + damping * W @ x``.

    Equivalently ``x = sum_k (damping W)^k s``: each hop along a transmitting link multiplies a
    penalty by the link's weight and by ``damping``, and contributions add over all paths. The
    map ``s -> x`` is linear, so ``x`` splits exactly into per-source contributions.

    Parameters
    ----------
    W : (n, n) sparse array
        Transmission matrix; ``W[v, u]`` is the part of u's penalty reaching v in one step.
    s : (n,) or (n, k) ndarray
        Own penalty weight of each entity (non-negative); k columns solve k systems at once.
    damping : float
        Attenuation per hop, in [0, 1).
    tol : float
        Stop when the largest change in one iteration is below ``tol`` times the largest entry of x.
    max_iter : int
        Iteration cap.
    check : bool
        Check first that the series converges (:func:`check_convergence`). Pass False only for
        a ``W`` and ``damping`` already checked (or ``W``'s transpose, which has the same
        spectral radius): when the cheap norm test fails the check costs an eigenvalue solve,
        seconds on a register of a million links.

    Returns
    -------
    x : ndarray, same shape as s
        Total exposure; ``x - s`` is the inherited part.

    Raises
    ------
    ValueError
        If shapes disagree or ``s`` has a negative entry.
    ConvergenceError
        If ``damping * rho(W) >= 1`` (the series diverges), or ``max_iter`` is reached.

    Examples
    --------
    >>> W = sp.sparse.csr_array([[0.0, 0.0], [1.0, 0.0]])  # 0's penalty reaches 1
    >>> spread(W, np.array([1.0, 0.0]), damping=0.5)
    array([1. , 0.5])

    References
    ----------
    .. [1] Page, Brin, Motwani, Winograd, "The PageRank citation ranking: bringing order to
       the web", Stanford InfoLab, 1999.
    .. [2] Jeh, Widom, "Scaling personalized web search", WWW 2003 (the linearity that makes
       per-source decomposition exact).
    """
    s = np.asarray(s, dtype=float)
    if W.shape[0] != W.shape[1] or W.shape[0] != s.shape[0]:
        raise ValueError(f"W must be square and match s: W is {W.shape}, s is {s.shape}.")
    if (s < 0).any():
        raise ValueError("s must be non-negative.")
    rate = check_convergence(W, damping) if check else None
    W = sp.sparse.csr_array(W, dtype=float)
    x = s.copy()
    term = s.copy()
    # Sum the Neumann series term by term: each term is the previous one pushed one hop further.
    for _ in range(max_iter):
        term = damping * (W @ term)
        x += term
        change = np.abs(term).max(initial=0.0)
        if change <= tol * max(np.abs(x).max(initial=0.0), 1.0) or change == 0:
            return x
    raise ConvergenceError(f"spread did not converge in {max_iter} iterations "
                           + (f"(contraction rate {rate:.3g}); " if rate is not None else "; ")
                           + "raise max_iter or lower damping.")
