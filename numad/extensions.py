"""numad's own functions defined with the public extension API (``nd.primitive``).

Each is one tape entry whose value comes from a careful library routine (SciPy's
``logsumexp`` and ``ndtr``) and whose derivative is a stated rule, as a user would add
one: they keep the extension API exercised by the library itself. Their rules are NumPy
code, so nested derivatives (Hessians) differentiate them again. (The SVD and QR, with
``nd.custom_vjp`` rules, are in numad/linalg_rules.py.)
"""
from __future__ import annotations

import functools
import inspect
import math

import numpy as np
import scipy.special as sps

from .custom import primitive

_ONE_OVER_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# ---- logsumexp -------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _logsumexp_over(axis, keepdims):
    """The primitive ``logsumexp`` over ``axis`` (None, an int or a tuple of ints)."""

    def kept(v, x):
        # an output (or its cotangent) with the reduced axes kept, to broadcast on x
        if keepdims:
            return v
        return np.reshape(v, np.shape(np.sum(np.zeros(np.shape(x)), axis=axis, keepdims=True)))

    def weights(out, x):
        # the softmax exp(x - out); 0 where every entry is -inf (out = -inf)
        out_k = kept(out, x)
        finite = np.isfinite(out_k)
        return np.where(finite, np.exp(x - np.where(finite, out_k, 0.0)), 0.0)

    def vjp(g, out, x):
        return (kept(g, x) * weights(out, x),)

    def jvp(t, out, x):
        return np.sum(t[0] * weights(out, x), axis=axis, keepdims=keepdims)

    return primitive("logsumexp", lambda x: sps.logsumexp(x, axis=axis, keepdims=keepdims),
                     vjp=vjp, jvp=jvp)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis`` without overflow; its gradient is the softmax."""
    if isinstance(axis, list):
        axis = tuple(axis)
    return _logsumexp_over(axis, bool(keepdims))(x)


# ---- the normal distribution's CDF --------------------------------------------------------

def _norm_pdf(x):
    return _ONE_OVER_SQRT_2PI * np.exp(-0.5 * x * x)


norm_cdf = primitive(
    "norm_cdf", sps.ndtr,
    vjp=lambda g, out, x: (g * _norm_pdf(x),),
    jvp=lambda t, out, x: t[0] * _norm_pdf(x))
norm_cdf.__doc__ = """The standard normal cumulative distribution function, elementwise.

``Phi(x) = (1 + erf(x / sqrt(2))) / 2``, computed by ``scipy.special.ndtr`` on floats,
arrays, traced values and Duals. Its derivative is the normal density
``exp(-x**2 / 2) / sqrt(2 pi)``. It is an ``nd.primitive``: one tape entry.

Parameters
----------
x : float, array_like, traced value or Dual
    The argument.

Returns
-------
float, ndarray, traced value or Dual
    ``Phi(x)``, in ``[0, 1]``: a Python float for a float, else an array (a traced
    value inside a trace, a ``Dual`` for a ``Dual``).

See Also
--------
erf, erfc

Examples
--------
>>> import numad as nd, numpy as np
>>> nd.norm_cdf(0.0)
0.5
>>> bool(np.isclose(nd.grad(nd.norm_cdf)(0.0), 1 / np.sqrt(2 * np.pi), rtol=1e-15))
True
"""
# the signature documented: one argument (a primitive's calls take it positionally)
norm_cdf.__signature__ = inspect.Signature(
    [inspect.Parameter("x", inspect.Parameter.POSITIONAL_ONLY)])
