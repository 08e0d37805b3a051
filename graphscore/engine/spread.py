"""Linear penalty spread (personalised-PageRank family): ``x = s + damping * W @ x``.

Two compiled kernels do the work, both a single pass over ``W`` in compressed rows:

- :func:`contraction` proves that the series converges, and how fast: a few power steps give
  positive weights ``v`` with ``damping |W| v <= rate v`` elementwise, ``rate < 1`` (the
  Collatz-Wielandt upper bound on the spectral radius). It costs a few matrix-vector
  products, where an eigenvalue solve (ARPACK) took most of a run; it is cached per projection
  (:func:`graphscore.engine.run.contraction_of`).
- :func:`spread` solves by over-relaxed Gauss-Seidel sweeps (SOR, the relaxation chosen from the
  certificate's rate) and stops when the certificate *proves* every entry within
  ``tol * max|x|`` of the exact solution, not when a step merely looks small.

Sums are float64 throughout, over int32 indices; weights are float64, or float32 where a policy
asks for it (``precision = "float32"``, :mod:`graphscore.engine.precision`, which states the accuracy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import scipy as sp

from graphscore.engine.prefetch import prefetch
from graphscore.errors import ConvergenceError

__all__ = ["Contraction", "contraction", "tightened", "relaxation", "spread", "spectral_radius", "check_convergence"]

_DENSE_LIMIT = 400  # below this size a dense eigenvalue solve is cheaper than ARPACK
_MIN_STEPS = 2
_MAX_STEPS = 200  # steps before an uncertified case goes to the eigenvalue solve
_STALL = 1e-4  # relative change of the bound per step below which the steps have stalled
# tightened(): a step is worth it while it widens the margin (1 - rate) / rate by this much
_TIGHTEN_GAIN = 0.005
_TIGHTEN_STEPS = 100
# relaxation(): the share of Young's over-relaxation used (see there), and the growth of a
# sweep's change over the smallest one so far at which over-relaxation is given up
_RELAX_SHARE = 0.7
_DIVERGING = 2.0


@dataclass(frozen=True)
class Contraction:
    """A certificate that ``x = s + damping W x`` converges, and at what rate.

    Attributes
    ----------
    rate : float
        ``c < 1`` with ``damping * |W| @ weights <= c * weights`` elementwise: an upper bound
        on ``damping * rho(W)`` (Collatz-Wielandt), and the contraction factor of the norm
        ``||y||_v = max_i |y_i| / weights_i``.
    weights : (n,) ndarray
        Positive, largest entry 1.
    steps : int
        Power steps it took (each one product with ``|W|``).

    Notes
    -----
    If ``damping |W| v <= c v`` with ``v > 0`` then ``||damping W y||_v <= c ||y||_v`` for every
    ``y``, so ``||(I - damping W)^-1 r||_v <= ||r||_v / (1 - c)``: an error bound from any
    residual, and ``|e_i| <= weights_i ||e||_v <= ||e||_v`` at every entity.
    """

    rate: float
    weights: np.ndarray
    steps: int = 0


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


def _rows(W: sp.sparse.sparray) -> sp.sparse.csr_array:
    """``W`` in compressed rows, float64 (or float32: the kernels sum in float64 either way),
    duplicates summed; as is when it already is one."""
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}.")
    if isinstance(W, sp.sparse.csr_array) and W.dtype in (np.float64, np.float32) and W.has_canonical_format:
        return W
    rows = sp.sparse.csr_array(W, dtype=float)
    rows.sum_duplicates()
    return rows


# A sweep reads x at the columns of W's entries, scattered over x: it asks for the entry this
# many places ahead (engine/prefetch.py), so that the waits for memory overlap. Timed against
# the same sweep without, interleaved, on the diffusion W of synthetic registries: at 10^7 links
# a sweep took 0.31 to 0.44 of the time (64 to 256 alike), at 10^6 links, where x fits in the
# cache, 0.78.
_AHEAD = 64


@numba.njit(inline="always", nogil=True, error_model="numpy")
def _row_sum(indices, data, start, end, last, v, absolute):  # pragma: no cover - compiled
    """``sum_p W_p v[indices[p]]`` over one row's entries ``start:end`` (``|W_p|`` when
    ``absolute``), asking for ``v`` :data:`_AHEAD` entries ahead while ``p < last``."""
    acc = 0.0
    for p in range(start, end):
        if p < last:
            prefetch(v, np.int64(indices[p + _AHEAD]))
        acc += (abs(data[p]) if absolute else data[p]) * v[np.int64(indices[p])]
    return acc


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _power_step(indptr, indices, data, damping, v, out):  # pragma: no cover - compiled
    """``out = damping |W| v``; returns ``max_i out_i / v_i`` (the Collatz-Wielandt bound)."""
    top = 0.0
    last = np.int64(indptr[v.shape[0]]) - _AHEAD
    for i in range(v.shape[0]):
        acc = damping * _row_sum(indices, data, np.int64(indptr[i]), np.int64(indptr[i + 1]), last, v, True)
        out[i] = acc
        top = max(top, acc / v[i])
    return top


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sweep(indptr, indices, data, damping, omega, s, x, inverse_weights):  # pragma: no cover - compiled
    """One over-relaxed Gauss-Seidel sweep of ``x = s + damping W x`` in place, rows in order,
    each row reading the entries already updated in this sweep and moving ``omega`` times the
    Gauss-Seidel step (``omega = 1``: Gauss-Seidel). Returns
    ``max_i |change_i| / weights_i`` (given ``1 / weights``: a product per row, not a division)
    and ``max_i |x_i|``."""
    change = 0.0
    top = 0.0
    last = np.int64(indptr[s.shape[0]]) - _AHEAD
    for i in range(s.shape[0]):
        acc = _row_sum(indices, data, np.int64(indptr[i]), np.int64(indptr[i + 1]), last, x, False)
        # x + omega (g - x), not omega g + (1 - omega) x: where g = x in floating point the
        # sweep leaves x as it is, so the changes reach 0 rather than dither at the last bit
        new = x[i] + omega * (s[i] + damping * acc - x[i])
        change = max(change, abs(new - x[i]) * inverse_weights[i])
        top = max(top, abs(new))
        x[i] = new
    return change, top


def contraction(W: sp.sparse.sparray, damping: float) -> Contraction:
    """Prove that ``x = s + damping W x`` converges: a :class:`Contraction` certificate.

    Power steps ``v <- (damping |W| v + v) / max`` from ``v = 1`` (the shift by ``v`` keeps a
    bipartite W, such as company <-> person links, from oscillating) and, after each, the
    Collatz-Wielandt bound ``max_i (damping |W| v)_i / v_i``, which is at least
    ``damping * rho(|W|) >= damping * rho(W)`` for any positive v and tends to it. They stop
    once the bound is below 1 and no longer improving much. Where it stays at or above 1 the
    spectral radius is computed (ARPACK) to tell divergence from slow steps.

    Parameters
    ----------
    W : (n, n) sparse array
        Transmission matrix.
    damping : float
        Attenuation per hop, in [0, 1).

    Returns
    -------
    Contraction

    Raises
    ------
    ValueError
        If damping is outside [0, 1) or W is not square.
    ConvergenceError
        If ``damping * rho(W) >= 1``, naming the damping that would converge.

    Examples
    --------
    A person who is legal representative of three companies, weight 1 both ways: rho = sqrt(3).

    >>> W = sp.sparse.csr_array(([1.0] * 6, ([0, 0, 0, 1, 2, 3], [1, 2, 3, 0, 0, 0])), shape=(4, 4))
    >>> c = contraction(W, 0.5)
    >>> bool(0.5 * 3 ** 0.5 <= c.rate < 0.5 * 3 ** 0.5 + 1e-3)
    True
    >>> bool((0.5 * abs(W) @ c.weights <= c.rate * c.weights + 1e-15).all())
    True

    References
    ----------
    .. [1] Horn, Johnson, *Matrix Analysis*, 2nd ed., Cambridge 2013, Theorem 8.1.26 and
       Corollary 8.1.29 (Collatz-Wielandt bounds on the Perron root of a non-negative matrix).
    """
    if not 0 <= damping < 1:
        raise ValueError(f"damping must be in [0, 1), got {damping}.")
    rows = _rows(W)
    n = rows.shape[0]
    if n == 0 or rows.nnz == 0 or damping == 0:
        return Contraction(0.0, np.ones(n), 0)
    v, image = np.ones(n), np.empty(n)
    best = Contraction(math.inf, v.copy(), 0)
    previous = math.inf
    for step in range(1, 10 * _MAX_STEPS + 1):
        bound = _power_step(rows.indptr, rows.indices, rows.data, damping, v, image)
        if not math.isfinite(bound):
            break
        if bound < best.rate:
            slack_before = best.rate / (1 - best.rate) if best.rate < 1 else math.inf
            best = Contraction(bound, v.copy(), step)
            # A power step costs about one sweep of the solve, whose sweeps number about
            # log(slack / tol) / log(1 / rate): stop once a step saves less than one sweep.
            if (bound < 1 and step >= _MIN_STEPS
                    and math.log(slack_before * (1 - bound) / bound) < -math.log(bound)):
                return best
        if best.rate >= 1 and step >= _MAX_STEPS and abs(previous - bound) <= _STALL * bound:
            break  # stalled above 1: divergent, or too slow to tell; the eigenvalue solve decides
        previous = bound
        v, image = _next_weights(v, image)
    if best.rate < 1:
        return best
    rate = damping * spectral_radius(rows)
    if rate >= 1 - 1e-12:
        rho = rate / damping
        raise ConvergenceError(
            f"spread diverges: damping x spectral radius of W = {damping:g} x {rho:.3g} = {rate:.3g} >= 1; "
            f"lower damping below {1 / rho:.3g}, lower the transmit weights, or set normalize = \"source\".")
    raise ConvergenceError(f"spread converges only barely (damping x spectral radius of W = {rate:.6g}): "
                           f"no certificate within {10 * _MAX_STEPS} power steps; lower damping.")


def _next_weights(v: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The next power step's weights ``(damping |W| v + v) / max`` from ``image = damping |W|
    v``, written over ``image``; returns ``(new weights, array free for the next image)``."""
    image += v
    image /= image.max()
    # an entity no one reaches decays towards 0; its ratio stays 0, a floor keeps it finite
    np.maximum(image, 1e-300, out=image)
    return image, v


def tightened(W: sp.sparse.sparray, damping: float, certificate: Contraction, *,
              gain: float = _TIGHTEN_GAIN) -> Contraction:
    """``certificate`` with a smaller rate: its power steps continued for as long as each one
    widens the margin ``(1 - rate) / rate`` by at least ``gain`` (relative), at most
    :data:`_TIGHTEN_STEPS` more.

    :func:`contraction` stops once a step saves less than one sweep of a solve. A forward push
    (a what-if) stops when every residual is below ``tol (1 - rate) / rate`` times its weight, so
    a certificate serving many pushes is worth more steps: on the diffusion W of a 10^7-link
    synthetic registry (damping 0.6) the rate went from 0.712 (6 steps) to 0.612 after 20 and
    0.605 after 30, and a push at accuracy 1e-3 followed 20 to 30 % fewer links.

    Parameters
    ----------
    W : (n, n) sparse array
        Transmission matrix, as given to :func:`contraction`.
    damping : float
        Attenuation per hop, as given to :func:`contraction`.
    certificate : Contraction
        ``contraction(W, damping)``.
    gain : float
        Smallest relative widening of the margin worth one more step (one product with ``|W|``).

    Returns
    -------
    Contraction
        A certificate for the same W and damping (rate at most ``certificate.rate``).

    Examples
    --------
    Penalties passed on round the cycle 0 -> 2 -> 1 -> 0, and half of 2's straight to 0 as well:

    >>> W = sp.sparse.csr_array(([1.0, 1.0, 1.0], ([0, 1, 2], [1, 2, 0])), shape=(3, 3))
    >>> W = W + sp.sparse.csr_array(([0.5], ([0], [2])), shape=(3, 3))
    >>> first = contraction(W, 0.5)
    >>> tight = tightened(W, 0.5, first)
    >>> bool(tight.rate <= first.rate), bool((0.5 * abs(W) @ tight.weights <= tight.rate * tight.weights + 1e-15).all())
    (True, True)

    References
    ----------
    .. [1] Horn, Johnson, *Matrix Analysis*, 2nd ed., Cambridge 2013, Theorem 8.1.26 (any
       positive v gives a Collatz-Wielandt bound; power steps bring it down to the Perron root).
    """
    rows = _rows(W)
    if not 0 < certificate.rate < 1 or rows.nnz == 0:
        return certificate
    v, image = certificate.weights.copy(), np.empty(rows.shape[0])
    best, previous = certificate, None
    for step in range(certificate.steps, certificate.steps + _TIGHTEN_STEPS + 1):
        bound = _power_step(rows.indptr, rows.indices, rows.data, damping, v, image)
        if bound < best.rate:
            best = Contraction(bound, v.copy(), step)
        margin = (1 - bound) / bound if 0 < bound < 1 else math.inf
        if previous is not None and margin < previous * (1 + gain):
            break
        previous = margin
        v, image = _next_weights(v, image)
    return best


def check_convergence(W: sp.sparse.sparray, damping: float) -> float:
    """An upper bound on ``damping * rho(W)`` below 1 (:func:`contraction`'s rate); raise
    ConvergenceError when ``damping * rho(W) >= 1``.

    Examples
    --------
    >>> W = sp.sparse.csr_array([[0.0, 1.0], [4.0, 0.0]])  # rho = 2
    >>> rate = check_convergence(W, 0.25)  # at least 0.25 x 2, and close to it
    >>> bool(0.5 <= rate < 0.55)
    True
    """
    return contraction(W, damping).rate


def relaxation(rate: float) -> float:
    """The over-relaxation ``omega`` for solving ``x = s + damping W x`` by SOR, given a
    certificate's ``rate`` (:class:`Contraction`, at least ``damping * rho(|W|)``).

    Young's optimum ``2 / (1 + sqrt(1 - rate^2))`` holds for consistently ordered 2-cyclic
    matrices (rules that pass penalties only between companies and people). A registry's W is
    not one (owner -> owned links join companies to companies) and ``rate`` is an upper bound,
    so this takes 0.7 of Young's over-relaxation: the fewest sweeps of the shares 0.5 to 1.25
    tried on synthetic registries of 10^4 to 10^6 links. Against Gauss-Seidel it took 18 sweeps
    instead of 29 under diffusion at 10^6 and 10^7 links, 41 and 44 instead of 111 and 120 under
    spread-split, and on the Zala and Padgett registries 1.1 to 1.2 times fewer at damping 0.3,
    1.4 to 1.8 at 0.6, 1.8 to 2.3 at 0.85, 2.4 to 2.5 at 0.95. Convergence for ``omega > 1`` is proven
    only for ``omega < 2 / (1 + rho)`` on a general non-negative W: :func:`spread` watches the
    sweeps and falls back to Gauss-Seidel (``omega = 1``, always convergent here) if they grow.

    Parameters
    ----------
    rate : float
        Contraction rate in [0, 1).

    Returns
    -------
    float
        ``omega`` in [1, 2).

    Examples
    --------
    >>> relaxation(0.0)
    1.0
    >>> round(relaxation(0.74), 3)  # the diffusion W of a synthetic registry
    1.137

    References
    ----------
    .. [1] Young, *Iterative Solution of Large Linear Systems*, Academic Press 1971, Theorem 6.2.3
       (optimum relaxation for consistently ordered matrices).
    .. [2] Varga, *Matrix Iterative Analysis*, 2nd ed., Springer 2000, Theorem 4.4 (the same
       optimum, ``omega_b = 2 / (1 + sqrt(1 - rho(J)^2))``) and Theorem 3.18 (SOR converges for
       ``0 < omega < 2 / (1 + rho(J))`` when the Jacobi matrix J is non-negative).
    """
    young = 2 / (1 + math.sqrt(1 - rate * rate))
    return 1 + _RELAX_SHARE * (young - 1)


def spread(W: sp.sparse.sparray, s: np.ndarray, *, damping: float = 0.6,
           tol: float = 1e-12, atol: float = 0.0, max_iter: int = 10_000,
           certificate: Contraction | None = None, omega: float | None = None) -> np.ndarray:
    """Linear penalty spread: the solution x of ``x = s + damping * W @ x``.

    Equivalently ``x = sum_k (damping W)^k s``: each hop along a transmitting link multiplies a
    penalty by the link's weight and by ``damping``, and contributions add over all paths. The
    map ``s -> x`` is linear, so ``x`` splits exactly into per-source contributions.

    Parameters
    ----------
    W : (n, n) sparse array
        Transmission matrix; ``W[v, u]`` is the part of u's penalty reaching v in one step.
        A float64 or float32 CSR array is used as is, any other form converted on every call.
    s : (n,) or (n, k) ndarray
        Own penalty weight of each entity (non-negative); k columns solve k systems.
    damping : float
        Attenuation per hop, in [0, 1).
    tol : float
        Accuracy: every entry of the result is within ``tol * max|x|`` of the exact solution
        (per column), proven, not estimated (see Notes).
    atol : float
        Or within ``atol``, whichever is looser.
    max_iter : int
        Sweep cap.
    certificate : Contraction, optional
        A :class:`Contraction` for this ``W`` and ``damping`` computed before (e.g. cached per
        projection); computed here when None (:func:`contraction`, a few products with W).
    omega : float, optional
        Over-relaxation in (0, 2); :func:`relaxation` of the certificate's rate when None,
        1 for plain Gauss-Seidel.

    Returns
    -------
    x : ndarray, same shape as s
        Total exposure; ``x - s`` is the inherited part.

    Raises
    ------
    ValueError
        If shapes disagree, ``s`` has a negative entry or ``omega`` is outside (0, 2).
    ConvergenceError
        If ``damping * rho(W) >= 1`` (the series diverges), or ``max_iter`` is reached.

    Notes
    -----
    *Method.* Over-relaxed Gauss-Seidel sweeps (SOR) from ``x = s``: each row uses the entries
    already updated in the sweep and moves ``omega`` times the Gauss-Seidel step. Gauss-Seidel
    alone (``omega = 1``) converges at least as fast as the plain series for a non-negative W
    (Stein-Rosenberg theorem), twice as fast when W links two kinds of entity to each other, as
    company <-> person rules do (Young's theory of 2-cyclic matrices); over-relaxation by
    :func:`relaxation` takes 1.1 to 2.7 times fewer sweeps again on the registries measured
    (the more, the closer ``damping * rho(W)`` is to 1).
    Should a sweep's change exceed :data:`_DIVERGING` times the smallest so far, the sweeps go
    on as Gauss-Seidel from where they are. The last sweep is always Gauss-Seidel's, which keeps
    its exact answer where rows come in the order of the links (an ownership chain, a tree).

    *Accuracy.* After a sweep that changed ``x`` by ``d``, the residual ``s + damping W x - x``
    is ``(1 / omega - 1) d + damping U d`` with U the part of W on or right of the diagonal, so
    its ``v``-norm is at most ``(|1 - 1 / omega| + rate) ||d||_v`` and the error at most
    ``(|1 - 1 / omega| + rate) / (1 - rate) ||d||_v`` (:class:`Contraction`). Sweeps stop when
    that is below ``max(tol * max|x|, atol)``; any ``omega`` keeps the proof.

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
    .. [3] Varga, *Matrix Iterative Analysis*, 2nd ed., Springer 2000, Theorem 3.15
       (Stein-Rosenberg), section 4.1 (consistently ordered, 2-cyclic matrices) and
       section 3.6 (successive over-relaxation).
    """
    s = np.asarray(s, dtype=float)
    if W.shape[0] != W.shape[1] or W.shape[0] != s.shape[0]:
        raise ValueError(f"W must be square and match s: W is {W.shape}, s is {s.shape}.")
    if (s < 0).any():
        raise ValueError("s must be non-negative.")
    if not 0 <= damping < 1:
        raise ValueError(f"damping must be in [0, 1), got {damping}.")
    if omega is not None and not 0 < omega < 2:
        raise ValueError(f"omega must be in (0, 2), got {omega}.")
    rows = _rows(W)
    certificate = certificate if certificate is not None else contraction(rows, damping)
    omega = relaxation(certificate.rate) if omega is None else omega
    if s.ndim == 2:
        return np.column_stack([
            _solve(rows, np.ascontiguousarray(s[:, k]), damping, tol, atol, max_iter, certificate, omega)[0]
            for k in range(s.shape[1])]) if s.shape[1] else s.copy()
    return _solve(rows, s, damping, tol, atol, max_iter, certificate, omega)[0]


def _solve(rows: sp.sparse.csr_array, s: np.ndarray, damping: float, tol: float, atol: float, max_iter: int,
           certificate: Contraction, omega: float) -> tuple[np.ndarray, int]:
    """:func:`spread` of one column: ``(x, sweeps taken)``."""
    x = np.ascontiguousarray(s, dtype=float).copy()
    if not x.any():
        return x, 0
    inverse_weights = 1 / certificate.weights
    smallest = math.inf
    for sweep in range(1, max_iter + 1):
        change, top = _sweep(rows.indptr, rows.indices, rows.data, damping, omega, s, x, inverse_weights)
        if (abs(1 - 1 / omega) + certificate.rate) / (1 - certificate.rate) * change <= max(tol * top, atol):
            if omega == 1:
                return x, sweep
            # one more as Gauss-Seidel: where rows follow the links' order (a chain of owners, a
            # tree) that makes x exact, as Gauss-Seidel alone would, not off in the last digits
            omega = 1.0
        if change > _DIVERGING * smallest and omega != 1:
            omega, smallest = 1.0, math.inf
        smallest = min(smallest, change)
    raise ConvergenceError(f"spread did not converge in {max_iter} sweeps (contraction rate "
                           f"{certificate.rate:.3g}); raise max_iter or lower damping.")
