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
a ``Dual`` are one composition, and cannot disagree. This module knows only NumPy; it
sits beside the op table, below the tracer and ``Dual``.

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
}


def extreme_against_constant(ops, name, x, c):
    """``maximum(x, c)`` or ``minimum(x, c)`` (``name``) of a variable ``x`` and a
    constant ``c`` without NaN: a select that keeps ``c`` where ``x <= c`` (``x >= c``).

    Against a constant a tie is a kink, where API.md's convention gives ``x`` slope 0
    (``relu'(0) = 0``); the row's partials share a tie 1/2 each, which is right only for
    two variables (``maximum(x, x)`` is ``x``). The tracer's ``elementwise`` and
    ``Dual`` both take this choice.
    """
    keep = ops.row("less_equal" if name == "maximum" else "greater_equal", x, c)
    return ops.where(keep, c, x)
