"""W's values stored in float32 (a policy's ``precision = "float32"``), and what that costs in accuracy.

The spread's kernels read W's values and sum in float64 whatever the values' type, so storing
them in float32 halves the bytes of W's values (W holds 12 bytes a non-zero in int32/float64,
8 in int32/float32; W by source as much again) and changes one thing only: the matrix solved is
``W~``, each entry of W rounded to the nearest float32. Rounding to nearest moves an entry by at
most ``2^-24`` of itself, ``|W - W~| <= u |W~|`` entrywise with ``u = 2^-24 / (1 - 2^-24)``
(IEEE 754: ``w~ = w (1 + e)``, ``|e| <= 2^-24``, for w in float32's normal range, which
:func:`stored_values` checks).

*The bound.* Let ``x = (I - d W)^-1 s`` (d the damping) and ``x~ = (I - d W~)^-1 s``. Then
``(I - d W)(x - x~) = d (W - W~) x~``. The solve's certificate for ``W~`` (weights ``v > 0``,
largest 1, ``d |W~| v <= c v``; :class:`graphscore.engine.spread.Contraction`) gives
``d |W| v <= c (1 + u) v = c' v``, so in the norm ``||y||_v = max_i |y_i| / v_i``

    ||x - x~||_v <= ||d (W - W~) x~||_v / (1 - c') <= u ||d |W~| |x~| ||_v / (1 - c'),

and ``|x_i - x~_i| <= v_i ||x - x~||_v <= ||x - x~||_v`` at every entity. The solve returns
``x^`` with ``||x^ - x~||_v <= tol max|x^|`` (its own proof), so with ``g = d |W~| |x^|`` (one
pass over W, float64 sums) every score is within

    tol max|x^| + u (||g||_v + c tol max|x^|) / (1 - c')

of the float64 answer (:func:`score_error`). A change (a what-if) is a solution of the same
system with the change of s for s: the same argument bounds its rounding by
``u c ||y~||_v / (1 - c')`` (:func:`change_error`).
"""

from __future__ import annotations

import math

import numpy as np
import scipy as sp

from graphscore.engine.spread import Contraction, _power_step
from graphscore.policy import Precision

__all__ = ["UNIT", "values_type", "stored_values", "score_error", "change_error"]

# The largest relative change rounding a float64 to the nearest float32 makes, taken relative to
# the float32 value: |w - w~| <= 2^-24 |w| <= 2^-24 / (1 - 2^-24) |w~| (IEEE 754, normal range).
UNIT = 2.0**-24 / (1 - 2.0**-24)


def values_type(precision: Precision) -> type:
    """The numpy type W's values are stored in under ``precision``."""
    return np.float32 if precision is Precision.FLOAT32 else np.float64


def stored_values(values: np.ndarray, precision: Precision) -> np.ndarray:
    """W's values in the type ``precision`` stores them in; a ValueError naming the value where
    float32 cannot hold one within its relative rounding (below its smallest normal number,
    1.2e-38, or above its largest, 3.4e38), since the stated accuracy rests on that.

    Examples
    --------
    >>> stored_values(np.array([0.1, 0.5]), Precision.FLOAT32).dtype
    dtype('float32')
    >>> stored_values(np.array([1e-40]), Precision.FLOAT32)
    Traceback (most recent call last):
    ...
    ValueError: precision = 'float32' cannot hold W's entry 1e-40 within 2^-24 of itself (float32's normal range is 1.2e-38 to 3.4e+38): use precision = 'float64'.
    """
    kind = values_type(precision)
    if kind is np.float64:
        return values.astype(np.float64, copy=False)
    info = np.finfo(np.float32)
    outside = (values != 0) & ((np.abs(values) < info.tiny) | (np.abs(values) > info.max))
    if outside.any():
        raise ValueError(f"precision = 'float32' cannot hold W's entry {values[outside][0]:.3g} within 2^-24 of "
                         f"itself (float32's normal range is {info.tiny:.2g} to {info.max:.2g}): use precision = "
                         "'float64'.")
    return values.astype(np.float32)


def _rounded_rate(certificate: Contraction) -> float:
    """``c' = c (1 + u)``, the rate the certificate of W~ proves for W; a ValueError where it
    reaches 1 (a rate within 6e-8 of 1: float32 cannot prove that spread's accuracy)."""
    rate = certificate.rate * (1 + UNIT)
    if rate >= 1:
        raise ValueError(f"the spread's contraction rate {certificate.rate:.9g} is too close to 1 for W's values "
                         "in float32 to keep a proven accuracy: use precision = 'float64'.")
    return rate


def score_error(W: sp.sparse.csr_array, x: np.ndarray, *, damping: float, certificate: Contraction,
                tol: float) -> float:
    """A proven bound on ``|x_i - x^_i|`` at every entity, ``x`` the float64 answer and ``x^``
    the spread solved to ``tol`` (of its largest score) on ``W`` whose values are float32
    (see the module's docstring). One pass over W.

    Examples
    --------
    One link of weight 0.1, which float32 rounds by 1.5e-9: the score it carries, 0.05, moves by
    7.5e-11, within the bound.

    >>> from graphscore.engine.spread import contraction, spread
    >>> W = sp.sparse.csr_array(np.array([[0.0, 0.0], [0.1, 0.0]], dtype=np.float32))
    >>> certificate = contraction(W, 0.5)
    >>> x = spread(W, np.array([1.0, 0.0]), damping=0.5, tol=1e-12, certificate=certificate)
    >>> exact = 0.5 * 0.1
    >>> bool(abs(x[1] - exact) <= score_error(W, x, damping=0.5, certificate=certificate, tol=1e-12) < 1e-8)
    True
    """
    if W.nnz == 0 or damping == 0:
        return float(tol * np.abs(x).max(initial=0.0))
    rate = _rounded_rate(certificate)
    top = float(np.abs(x).max(initial=0.0))
    reached = np.empty(x.shape[0])
    # g = damping |W~| |x^|, summed in float64 (the power step of the certificate, reused)
    with np.errstate(divide="ignore", invalid="ignore"):
        _power_step(W.indptr, W.indices, W.data, damping, np.abs(x), reached)
    norm = float((reached / certificate.weights).max(initial=0.0))
    return tol * top + UNIT * (norm + certificate.rate * tol * top) / (1 - rate)


def change_error(norm: float, certificate: Contraction) -> float:
    """A proven bound on how far a change of scores computed on float32 values lies from the
    float64 one, given ``norm >= ||y~||_v``, the v-norm of the exact change on W~ (the one
    computed, plus its own error): ``u c norm / (1 - c')``.

    Examples
    --------
    >>> round(change_error(1.0, Contraction(0.5, np.ones(2))) / UNIT, 6)
    1.0
    """
    if not math.isfinite(norm):
        return math.inf
    return UNIT * certificate.rate * norm / (1 - _rounded_rate(certificate))
