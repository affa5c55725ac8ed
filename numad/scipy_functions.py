"""``scipy.special.logsumexp``, ``softmax``, ``log_softmax`` and ``polygamma`` on traced
values and Duals.

SciPy's ufuncs (``erf``, ``ndtr``, ``gammaln``, ...) reach numad through NumPy's
``__array_ufunc__`` protocol, like NumPy's own. These four are Python functions that
begin with ``np.asarray(a)``, which no protocol lets numad answer: a traced array would
become a constant there. So, when numad is imported, it puts a thin dispatcher in their
place in ``scipy.special``: called with a traced value or a ``Dual`` it computes the same
function with numad's operations (one recorded ``logsumexp`` entry, whose gradient is the
softmax); called with anything else it calls SciPy's own function, unchanged.

A name imported with ``from scipy.special import logsumexp`` *before* ``import numad``
still holds SciPy's function; called on a traced value it raises numad's error, which
then says to import numad first or to call ``nd.logsumexp``.
"""
from __future__ import annotations

import functools

import numpy as np
import scipy.special as sps

from . import extensions
from .dual import Dual, dual_elementwise
from .errors import TracingError
from .recording import elementwise, lift_objects
from .traced import Traced

__all__ = ["REPLACED", "install"]


def _numad_operand(x):
    return isinstance(x, (Traced, Dual)) or (
        type(x) is np.ndarray and x.dtype == object)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``scipy.special.logsumexp`` for traced values: weights ``b >= 0`` are taken as
    ``a + log(b)``, so their derivative comes out too."""
    (a,) = lift_objects((a,))
    if b is not None:
        (b,) = lift_objects((b,))
        if not isinstance(b, Traced) and np.any(np.asarray(b) < 0):
            raise ValueError("numad: scipy.special.logsumexp with negative weights b is "
                             "not differentiable by numad; split the sum by sign")
        with np.errstate(divide="ignore"):
            a = a + np.log(b)
    out = extensions.logsumexp(a, axis, keepdims)
    if return_sign:
        return out, np.ones(np.shape(out))
    return out


def softmax(x, axis=None):
    """``scipy.special.softmax`` for traced values: ``exp(x - logsumexp(x))``."""
    (x,) = lift_objects((x,))
    return np.exp(x - extensions.logsumexp(x, axis, True))


def log_softmax(x, axis=None):
    """``scipy.special.log_softmax`` for traced values: ``x - logsumexp(x)``."""
    (x,) = lift_objects((x,))
    return x - extensions.logsumexp(x, axis, True)


def polygamma(n, x):
    """``scipy.special.polygamma(n, x)`` for traced (or Dual) ``x`` and a constant
    integer order ``n`` (a scalar or an array): the op table's ``polygamma`` row (its
    derivative is the next order's), and ``digamma``'s for n = 0."""
    (x,) = lift_objects((x,))
    if _numad_operand(n):
        raise TracingError("numad: scipy.special.polygamma with a traced order n is not "
                           "supported; n must be a constant integer")
    n = np.asarray(n)
    if n.dtype.kind == "f" and not np.all(n == np.floor(n)):
        raise ValueError("numad: scipy.special.polygamma needs integer orders n")
    if np.any(n < 0):
        raise ValueError("numad: scipy.special.polygamma needs orders n >= 0")
    order = n.astype(np.float64) if n.ndim else float(n)
    row = dual_elementwise if isinstance(x, Dual) else elementwise
    if np.all(n == 0):
        return row("digamma", x) if not n.ndim else row("digamma", x) + np.zeros(n.shape)
    higher = row("polygamma", np.maximum(order, 1.0), x)
    if np.all(n >= 1):
        return higher
    return np.where(n == 0, row("digamma", x), higher)


# name in scipy.special -> numad's version
REPLACED = {"logsumexp": logsumexp, "softmax": softmax, "log_softmax": log_softmax,
            "polygamma": polygamma}


def _dispatcher(original, ours):
    @functools.wraps(original)
    def dispatch(*args, **kwargs):
        if any(_numad_operand(v) for v in args) or any(
                _numad_operand(v) for v in kwargs.values()):
            return ours(*args, **kwargs)
        return original(*args, **kwargs)

    dispatch.scipy_original = original
    return dispatch


def install():
    """Put the dispatchers in ``scipy.special`` (once; importing numad does it)."""
    for name, ours in REPLACED.items():
        current = getattr(sps, name)
        if not hasattr(current, "scipy_original"):
            setattr(sps, name, _dispatcher(current, ours))


install()
