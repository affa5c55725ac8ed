"""The ``nd.*`` elementary functions: one name each for floats, arrays, traced values
and ``Dual`` numbers.

On plain floats and arrays they are NumPy's functions; on traced values they record
on the tape; on ``Dual`` numbers they propagate tangents. The derivative rules come
from the op table (``numad.optable``); nothing here restates one.
"""
from __future__ import annotations

import numpy as np

from . import tracer as T
from .dual import Dual, dual_elementwise
from .optable import ELEMENTWISE_BY_NAME

__all__ = [
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh",
    "arcsinh", "arccosh", "arctanh", "exp", "expm1", "log", "log1p", "log2", "log10",
    "sqrt", "cbrt", "square", "power", "abs", "sign", "floor", "ceil", "round", "trunc",
    "maximum", "minimum", "hypot", "erf", "erfc", "norm_cdf", "expit", "clip", "where",
    "logsumexp", "sum", "prod", "mean", "max", "min", "dot", "matmul", "stack",
    "concatenate", "stop_gradient", "straight_through",
]


def _plain(y):
    return y.item() if isinstance(y, np.ndarray) and y.ndim == 0 else (
        float(y) if isinstance(y, np.floating) else y)


def _elementwise(name, public=None):
    prim = ELEMENTWISE_BY_NAME[name]

    def fn(*xs):
        for x in xs:
            if isinstance(x, T.Traced):
                return T.elementwise(name, *xs)
        for x in xs:
            if isinstance(x, Dual):
                return dual_elementwise(name, *xs)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _plain(prim.numpy(*xs))

    fn.__name__ = public or name
    fn.__qualname__ = fn.__name__
    fn.__doc__ = (f"``{public or name}`` elementwise on floats, arrays, traced values and "
                  f"Duals (NumPy's ``{getattr(prim.numpy, '__name__', name)}``; formula "
                  f"``{prim.value}``).")
    return fn


sin = _elementwise("sin")
cos = _elementwise("cos")
tan = _elementwise("tan")
arcsin = _elementwise("arcsin")
arccos = _elementwise("arccos")
arctan = _elementwise("arctan")
arctan2 = _elementwise("arctan2")
sinh = _elementwise("sinh")
cosh = _elementwise("cosh")
tanh = _elementwise("tanh")
arcsinh = _elementwise("arcsinh")
arccosh = _elementwise("arccosh")
arctanh = _elementwise("arctanh")
exp = _elementwise("exp")
expm1 = _elementwise("expm1")
log = _elementwise("log")
log1p = _elementwise("log1p")
log2 = _elementwise("log2")
log10 = _elementwise("log10")
sqrt = _elementwise("sqrt")
cbrt = _elementwise("cbrt")
square = _elementwise("square")
power = _elementwise("pow", "power")
abs = _elementwise("abs")  # noqa: A001 - the NumPy name
sign = _elementwise("sign")
floor = _elementwise("floor")
ceil = _elementwise("ceil")
round = _elementwise("round")  # noqa: A001 - the NumPy name
trunc = _elementwise("trunc")
maximum = _elementwise("maximum")
minimum = _elementwise("minimum")
hypot = _elementwise("hypot")
erf = _elementwise("erf")
erfc = _elementwise("erfc")
norm_cdf = _elementwise("ndtr", "norm_cdf")
expit = _elementwise("expit")


def _dispatch(traced_fn, numpy_fn, dual_fn=None):
    def fn(x, *args, **kwargs):
        if isinstance(x, T.Traced) or any(isinstance(a, T.Traced) for a in args):
            return traced_fn(x, *args, **kwargs)
        if dual_fn is not None and (isinstance(x, Dual) or any(isinstance(a, Dual) for a in args)):
            return dual_fn(x, *args, **kwargs)
        return _plain(numpy_fn(x, *args, **kwargs))
    fn.__name__ = numpy_fn.__name__
    return fn


def _dual_linear(np_fn):
    """A linear NumPy function applied to a Dual's value and, lane by lane, its tangent."""
    def fn(x, *args, **kwargs):
        value = np_fn(x.value, *args, **kwargs)
        t = np.asarray(x.tangent)
        if t.ndim > np.ndim(x.value):  # several directions: the last axis holds them
            lanes = [np_fn(t[..., k], *args, **kwargs) for k in range(t.shape[-1])]
            return Dual(_plain(value), np.stack(lanes, axis=-1))
        return Dual(_plain(value), _plain(np_fn(t, *args, **kwargs)))
    return fn


def clip(x, a_min=None, a_max=None):
    """Clip ``x`` to ``[a_min, a_max]``; the derivative is 0 at and beyond the bounds."""
    if isinstance(x, T.Traced) or isinstance(a_min, T.Traced) or isinstance(a_max, T.Traced):
        return T.clip(x, a_min, a_max)
    if isinstance(x, Dual):
        inside = np.ones(np.shape(x.value), dtype=bool)
        if a_min is not None:
            inside &= np.asarray(x.value) > a_min
        if a_max is not None:
            inside &= np.asarray(x.value) < a_max
        t = np.asarray(x.tangent)
        mask = inside.reshape(inside.shape + (1,) * (t.ndim - inside.ndim))
        return Dual(_plain(np.clip(x.value, a_min, a_max)), _plain(np.where(mask, t, 0.0)))
    return _plain(np.clip(x, a_min, a_max))


def where(cond, x, y):
    """``x`` where ``cond`` holds, else ``y``; the untaken branch never leaks inf or nan
    into the derivative: ``grad(lambda x: where(x > 0, sqrt(x), 0.))(0.)`` is 0."""
    if any(isinstance(v, T.Traced) for v in (cond, x, y)):
        return T.where(cond, x, y)
    if isinstance(x, Dual) or isinstance(y, Dual):
        xd = x if isinstance(x, Dual) else Dual(x, 0.0)
        yd = y if isinstance(y, Dual) else Dual(y, 0.0)
        c = np.asarray(cond.value if isinstance(cond, Dual) else cond)
        tx, ty = np.asarray(xd.tangent), np.asarray(yd.tangent)
        lanes = max(tx.ndim - np.ndim(xd.value), ty.ndim - np.ndim(yd.value), 0)
        cm = c.reshape(c.shape + (1,) * lanes)
        return Dual(_plain(np.where(c, xd.value, yd.value)), _plain(np.where(cm, tx, ty)))
    return _plain(np.where(cond, x, y))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` without overflow; its gradient is the softmax."""
    if isinstance(x, T.Traced):
        return T.logsumexp(x, axis, keepdims)
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return _plain(out if keepdims else np.squeeze(out, axis=axis))


sum = _dispatch(T.reduce_sum, np.sum, _dual_linear(np.sum))  # noqa: A001
prod = _dispatch(T.reduce_prod, np.prod)
mean = _dispatch(T.mean, np.mean, _dual_linear(np.mean))
max = _dispatch(T.reduce_max, np.max)  # noqa: A001
min = _dispatch(T.reduce_min, np.min)  # noqa: A001


def dot(a, b):
    """``np.dot`` that records on the tape for traced operands."""
    if isinstance(a, T.Traced) or isinstance(b, T.Traced):
        return T.dot(a, b)
    return _plain(np.dot(a, b))


def matmul(a, b):
    """``a @ b`` that records on the tape for traced operands."""
    if isinstance(a, T.Traced) or isinstance(b, T.Traced):
        return T.matmul(a, b)
    return _plain(np.matmul(a, b))


def stack(arrays, axis=0):
    """``np.stack`` for lists that may hold traced scalars and arrays."""
    arrays = list(arrays)
    if any(isinstance(a, T.Traced) for a in arrays):
        return T.stack(arrays, axis)
    return np.stack(arrays, axis)


def concatenate(arrays, axis=0):
    """``np.concatenate`` for lists that may hold traced arrays."""
    arrays = list(arrays)
    if any(isinstance(a, T.Traced) for a in arrays):
        return T.concatenate(arrays, axis)
    return np.concatenate(arrays, axis)


def stop_gradient(x):
    """The value of ``x`` with zero derivative.

    Examples
    --------
    >>> import numad as nd
    >>> nd.grad(lambda x: x * nd.stop_gradient(x))(3.0)
    3.0
    """
    if isinstance(x, T.Traced):
        return T.elementwise("stop_gradient", x)
    if isinstance(x, Dual):
        return Dual(x.value, np.zeros_like(np.asarray(x.tangent)) if np.ndim(x.tangent) else 0.0)
    return x


def straight_through(fn):
    """``fn`` forward, derivative one backward: the straight-through estimator.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.grad(nd.straight_through(np.floor))(2.7)
    1.0
    """
    def st(x):
        if isinstance(x, T.Traced):
            y = fn(stop_gradient(x))
            # x - stop_gradient(x) is exactly zero with derivative one, so the value is
            # fn(x) to the last bit and the derivative passes straight through
            return y + (x - stop_gradient(x))
        if isinstance(x, Dual):
            return Dual(_plain(fn(x.value)), x.tangent)
        return fn(x)
    st.__name__ = f"straight_through({getattr(fn, '__name__', 'fn')})"
    return st
