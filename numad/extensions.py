"""numad's own functions defined with the public extension API (``nd.primitive``).

Each is one tape entry whose value comes from a careful library routine (SciPy's
``logsumexp`` and ``ndtr``, LAPACK's SVD) and whose derivative is a stated rule, as a
user would add one: they keep the extension API exercised by the library itself.
Their rules are NumPy code, so nested derivatives (Hessians) differentiate them again.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import scipy.special as sps

from . import recording as R
from . import numpy_dispatch as D
from .custom import primitive
from .errors import TracingError

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
norm_cdf.__doc__ = """The standard normal CDF (``scipy.special.ndtr``); its derivative is the
normal density. One tape entry, like any ``nd.primitive``."""


# ---- singular values, and the matrix norms made of them ------------------------------------

def _svd_factors(a):
    u, _, vt = np.linalg.svd(np.asarray(a, dtype=np.float64), full_matrices=False)
    return u, vt


def _svdvals_vjp(g, out, a):
    # ds_k = u_k^T dA v_k, so dA = U diag(g) V^T (exact where the values are distinct;
    # a function of tied singular values that is symmetric in them, such as a norm or
    # their sum, is differentiated right at ties too)
    if not isinstance(a, np.ndarray):
        raise TracingError("numad: second derivatives of singular values (np.linalg.svd "
                           "with compute_uv=False, the 2-norm and the nuclear norm of a "
                           "matrix) are not supported; use nd.gradient of them with finite "
                           "differences for the Hessian")
    u, vt = _svd_factors(a)
    return ((u * np.asarray(g)[..., None, :]) @ vt,)


def _svdvals_jvp(t, out, a):
    u, vt = _svd_factors(a)
    return np.einsum("...ik,...ij,...kj->...k", u, np.asarray(t[0]), vt)


svdvals = primitive("svdvals", lambda a: np.linalg.svd(a, compute_uv=False),
                    vjp=_svdvals_vjp, jvp=_svdvals_jvp)
svdvals.__doc__ = """The singular values of a matrix (or a stack of them), largest first, as
``np.linalg.svd(a, compute_uv=False)``; their derivative is ``U diag(g) V^T``."""


def matrix_norm(a, ord):
    """The matrix norms made of singular values: ``ord`` 2 (the largest), -2 (the
    smallest) and ``"nuc"`` (their sum)."""
    s = svdvals(a)
    if ord == 2:
        return np.max(s, axis=-1)
    if ord == -2:
        return np.min(s, axis=-1)
    if ord == "nuc":
        return np.sum(s, axis=-1)
    raise ValueError(f"numad: matrix_norm takes ord 2, -2 or 'nuc', not {ord!r}")


# ---- what NumPy's names of these do on traced values ----------------------------------------

def _svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    if compute_uv:
        raise TracingError("numad: np.linalg.svd of a traced matrix gives only the singular "
                           "values for now: call it with compute_uv=False (the factors U "
                           "and V are not differentiable in numad yet)")
    return svdvals(a)


def _norm(x, ord=None, axis=None, keepdims=False):
    if ord in (2, -2, "nuc") and np.ndim(x) == 2 and (axis is None or (
            isinstance(axis, tuple) and sorted(a % 2 for a in axis) == [0, 1])):
        if isinstance(axis, tuple) and tuple(a % 2 for a in axis) == (1, 0):
            x = np.transpose(x)
        out = matrix_norm(x, ord)
        return np.reshape(out, (1, 1)) if keepdims else out
    return R.norm(x, ord, axis, keepdims)


D.register_function(np.linalg.svd, _svd, "a full_matrices compute_uv hermitian")
D.register_function(np.linalg.norm, _norm, "x ord axis keepdims")
