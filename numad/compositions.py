"""Ufuncs that numad computes as compositions of op-table rows, written once for every
number type.

``np.logaddexp``, ``np.fmax``, ``np.deg2rad`` and the others in ``COMPOSITIONS`` have no
row of their own in ``numad/optable.py``: each is a short formula of rows. A formula is
written against ``ops``, the two operations a number type supplies, and Python's
arithmetic operators:

* ``ops.row(name, *operands)``: the op-table row called ``name``;
* ``ops.where(cond, x, y)``: a branch-free choice whose untaken side gets no derivative.

The tracer passes operations that record on the tape (``numad/recording.py``), ``Dual``
operations that carry tangents (``numad/dual.py``): a traced ``np.logaddexp`` and one on
a ``Dual`` are one composition, and cannot disagree. This module knows only NumPy and
SciPy's ufuncs (``scipy.special.entr``, ``kl_div``, ``betaln``, ``boxcox``, ...); it sits
beside the op table, below the tracer and ``Dual``.

Examples
--------
On plain floats ``ops`` can be NumPy itself (rows by their ufuncs):

>>> import numpy as np
>>> from numad.optable import ELEMENTWISE_BY_NAME
>>> plain = Ops(lambda name, *xs: ELEMENTWISE_BY_NAME[name].numpy(*xs), np.where)
>>> float(COMPOSITIONS[np.logaddexp](plain, 0.0, 0.0)) == float(np.log(2.0))
True
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
import scipy.special as sps

__all__ = ["Ops", "COMPOSITIONS", "extreme_against_constant"]

_LN2 = math.log(2.0)
_DEG = math.pi / 180.0


class Ops(NamedTuple):
    """The operations a number type supplies to the compositions."""

    row: Callable    # row(name, *operands): the op-table row called name
    where: Callable  # where(cond, x, y): x where cond holds, else y; no leak from the untaken side


def _shape(x):
    return np.shape(x) if not hasattr(x, "shape") else tuple(x.shape)


def _where(ops, cond, x, y):
    """``ops.where(cond, x, y)``, or ``x`` or ``y`` itself when ``cond`` is a constant
    (a NumPy answer, not a traced value) that is true, or false, everywhere and that side
    already has the result's shape. A constant condition is the same at every replay, so
    choosing now records nothing that could go stale; on a Dual every condition is a
    constant (comparisons of Duals answer with plain booleans)."""
    if isinstance(cond, (bool, np.bool_, np.ndarray)):
        shape = np.broadcast_shapes(np.shape(cond), _shape(x), _shape(y))
        if _shape(x) == shape and np.all(cond):
            return x
        if _shape(y) == shape and not np.any(cond):
            return y
    return ops.where(cond, x, y)


def _logaddexp(ops, a, b):
    """``log(exp(a) + exp(b))`` as ``hi + log1p(exp(lo - hi))``, with ``hi``, ``lo`` the
    larger and the smaller operand (NumPy's own formula, so no overflow, and exact where
    one operand is far below the other). Whichever way a tie goes, ``a + log1p(exp(b -
    a))`` is ``logaddexp`` identically, so the derivatives of every order are exact there
    too (``logaddexp(0, x)`` has second derivative 1/4 at ``x = 0``). Where ``hi`` is
    infinite, ``lo - hi`` would be ``inf - inf``: there the answer is ``hi`` (plus log 2)."""
    first = ops.row("greater_equal", a, b)
    hi = _where(ops, first, a, b)
    lo = _where(ops, first, b, a)
    d = _where(ops, ops.row("isfinite", hi), lo - hi, 0.0)
    return hi + ops.row("log1p", ops.row("exp", d))


def _fmax(ops, a, b):
    """NumPy's fmax: ``maximum``, except that a NaN operand gives way to the other one
    (``maximum`` lets the NaN win). Ties share the derivative as ``maximum``'s do."""
    inner = _where(ops, ops.row("isnan", a), b, ops.row("maximum", a, b))
    return _where(ops, ops.row("isnan", b), a, inner)


def _fmin(ops, a, b):
    """NumPy's fmin: ``minimum``, except that a NaN operand gives way to the other one."""
    inner = _where(ops, ops.row("isnan", a), b, ops.row("minimum", a, b))
    return _where(ops, ops.row("isnan", b), a, inner)


# ---- scipy.special's ufuncs that are formulas of rows -----------------------------------
#
# Each keeps SciPy's value (its formula and its special cases: the edges of the domain
# give SciPy's 0, inf or nan) and takes its derivative from the formula. The sides a
# special case replaces are computed at a harmless stand-in (``_safe``), so no inf or nan
# from them reaches the derivative of the side taken.


def _safe(ops, cond, x, stand_in=1.0):
    """``x`` where ``cond`` holds, ``stand_in`` elsewhere."""
    return _where(ops, cond, x, stand_in)


def _and(ops, a, b):
    return ops.row("logical_and", a, b)


def _nan_through(ops, out, *xs):
    """``out``, but nan where an operand is nan (as SciPy's special cases are not)."""
    for x in xs:
        out = _where(ops, ops.row("isnan", x), x, out)
    return out


def _entr(ops, x):
    """``-x log x`` for x > 0, 0 at 0, -inf below."""
    pos = ops.row("greater", x, 0.0)
    xs = _safe(ops, pos, x)
    edge = _where(ops, ops.row("equal", x, 0.0), 0.0, -np.inf)
    return _nan_through(ops, _where(ops, pos, -(xs * ops.row("log", xs)), edge), x)


def _entropy_domain(ops, x, y):
    pos = _and(ops, ops.row("greater", x, 0.0), ops.row("greater", y, 0.0))
    zero = _and(ops, ops.row("equal", x, 0.0), ops.row("greater_equal", y, 0.0))
    return pos, zero, _safe(ops, pos, x), _safe(ops, pos, y)


def _rel_entr(ops, x, y):
    """``x log(x / y)`` for x, y > 0 (through log1p where x / y is near 1, as SciPy),
    0 for x = 0 <= y, inf elsewhere."""
    pos, zero, xs, ys = _entropy_domain(ops, x, y)
    z = xs / ys
    near = _and(ops, ops.row("greater", z, 0.5), ops.row("less", z, 2.0))
    inside = _where(ops, near, xs * ops.row("log1p", (xs - ys) / ys),
                    xs * ops.row("log", _safe(ops, near, 1.0, z)))
    return _nan_through(ops, _where(ops, pos, inside, _where(ops, zero, 0.0, np.inf)), x, y)


def _kl_div(ops, x, y):
    """``x log(x / y) - x + y`` for x, y > 0, y for x = 0 <= y, inf elsewhere."""
    pos, zero, xs, ys = _entropy_domain(ops, x, y)
    inside = xs * ops.row("log", xs / ys) - xs + ys
    return _nan_through(ops, _where(ops, pos, inside, _where(ops, zero, y, np.inf)), x, y)


def _huber(ops, delta, r):
    """``r**2 / 2`` for |r| <= delta, ``delta (|r| - delta / 2)`` beyond; inf for a
    negative delta."""
    ar = ops.row("abs", r)
    inner = _where(ops, ops.row("less_equal", ar, delta), 0.5 * r * r,
                   delta * (ar - 0.5 * delta))
    return _nan_through(ops, _where(ops, ops.row("less", delta, 0.0), np.inf, inner),
                        delta, r)


def _pseudo_huber(ops, delta, r):
    """``delta**2 (sqrt(1 + (r / delta)**2) - 1)``, as SciPy's expm1 / log1p form; 0 at
    delta = 0, inf for a negative delta."""
    pos = ops.row("greater", delta, 0.0)
    ds = _safe(ops, pos, delta)
    v = r / ds
    inner = ds * ds * ops.row("expm1", 0.5 * ops.row("log1p", v * v))
    edge = _where(ops, ops.row("equal", delta, 0.0), 0.0, np.inf)
    return _nan_through(ops, _where(ops, pos, inner, edge), delta, r)


def _betaln(ops, a, b):
    """``log|B(a, b)|`` as ``gammaln(a) + gammaln(b) - gammaln(a + b)`` (SciPy's value
    to rounding while the gammaln terms are moderate, |a|, |b| below about 1e6)."""
    return ops.row("gammaln", a) + ops.row("gammaln", b) - ops.row("gammaln", a + b)


def _beta(ops, a, b):
    """``B(a, b) = exp(betaln)``, its sign that of gamma(a) gamma(b) / gamma(a + b)
    (1 for positive a and b; for negative ones, right while gamma does not underflow,
    a + b > -170)."""
    sign = ops.row("sign", ops.row("gamma", a)) * ops.row("sign", ops.row("gamma", b)) * \
        ops.row("sign", ops.row("gamma", a + b))
    return sign * ops.row("exp", _betaln(ops, a, b))


def _log_expit(ops, x):
    """``log(expit(x))``: ``x - log1p(exp(x))`` below 0, ``-log1p(exp(-x))`` above."""
    neg = ops.row("less", x, 0.0)
    return _where(ops, neg, x, 0.0) - ops.row("log1p", ops.row("exp", _where(ops, neg, x, -x)))


def _boxcox(ops, x, lmbda):
    """``expm1(lmbda log x) / lmbda``, ``log x`` where |lmbda| < 1e-19 (SciPy's test)."""
    small = ops.row("less", ops.row("abs", lmbda), 1e-19)
    ls = _safe(ops, small, 1.0, lmbda)
    lg = ops.row("log", x)
    return _where(ops, small, lg, ops.row("expm1", ls * lg) / ls)


def _boxcox1p(ops, x, lmbda):
    """``expm1(lmbda log1p x) / lmbda``, ``log1p x`` where SciPy takes it."""
    lgx = ops.row("log1p", x)
    al = ops.row("abs", lmbda)
    small = ops.row("logical_or", ops.row("less", al, 1e-19), _and(
        ops, ops.row("less", ops.row("abs", lgx), 1e-289), ops.row("less", al, 1e273)))
    ls = _safe(ops, small, 1.0, lmbda)
    return _where(ops, small, lgx, ops.row("expm1", ls * lgx) / ls)


def _inv_boxcox(ops, x, lmbda):
    """``exp(log1p(lmbda x) / lmbda)``, ``exp x`` at lmbda = 0."""
    zero = ops.row("equal", lmbda, 0.0)
    ls = _safe(ops, zero, 1.0, lmbda)
    return _where(ops, zero, ops.row("exp", x),
                  ops.row("exp", ops.row("log1p", ls * x) / ls))


def _inv_boxcox1p(ops, x, lmbda):
    """``expm1(log1p(lmbda x) / lmbda)``, ``expm1 x`` at lmbda = 0, ``x`` where
    |lmbda x| < 1e-154 (SciPy's cases)."""
    zero = ops.row("equal", lmbda, 0.0)
    tiny = ops.row("less", ops.row("abs", lmbda * x), 1e-154)
    ls = _safe(ops, ops.row("logical_or", zero, tiny), 1.0, lmbda)
    inner = _where(ops, tiny, x, ops.row("expm1", ops.row("log1p", ls * x) / ls))
    return _where(ops, zero, ops.row("expm1", x), inner)


# ufunc -> composition(ops, *operands). (np.matmul, a gufunc, is a structural op of its
# own in the tracer and in Dual; it is not a composition of elementwise rows.)
COMPOSITIONS = {
    np.exp2: lambda ops, x: ops.row("pow", 2.0, x),
    np.deg2rad: lambda ops, x: x * _DEG,
    np.radians: lambda ops, x: x * _DEG,
    np.rad2deg: lambda ops, x: x * (1.0 / _DEG),
    np.degrees: lambda ops, x: x * (1.0 / _DEG),
    np.logaddexp: _logaddexp,
    np.logaddexp2: lambda ops, a, b: _logaddexp(ops, a * _LN2, b * _LN2) * (1.0 / _LN2),
    np.fmax: _fmax,
    np.fmin: _fmin,
    sps.entr: _entr,
    sps.rel_entr: _rel_entr,
    sps.kl_div: _kl_div,
    sps.huber: _huber,
    sps.pseudo_huber: _pseudo_huber,
    sps.betaln: _betaln,
    sps.beta: _beta,
    sps.log_expit: _log_expit,
    sps.boxcox: _boxcox,
    sps.boxcox1p: _boxcox1p,
    sps.inv_boxcox: _inv_boxcox,
    sps.inv_boxcox1p: _inv_boxcox1p,
}


def extreme_against_constant(ops, name, x, c):
    """``maximum(x, c)`` or ``minimum(x, c)`` (``name``) of a variable ``x`` and a
    constant ``c`` without NaN: a select that keeps ``c`` where ``x <= c`` (``x >= c``).

    Against a constant a tie is a kink, where numad's convention (see the API reference,
    'Conventions') gives ``x`` slope 0
    (``relu'(0) = 0``); the row's partials share a tie 1/2 each, which is right only for
    two variables (``maximum(x, x)`` is ``x``). The tracer's ``elementwise`` and
    ``Dual`` both take this choice.
    """
    keep = ops.row("less_equal" if name == "maximum" else "greater_equal", x, c)
    return ops.where(keep, c, x)
