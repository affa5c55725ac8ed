"""The ``nd.*`` elementary functions: one name each for floats, arrays, traced values
and ``Dual`` numbers.

On plain floats and arrays they are NumPy's functions; on traced values they record
on the tape; on ``Dual`` numbers they propagate tangents. The derivative rules come
from the op table (``numad.optable``); nothing here restates one.
"""
from __future__ import annotations

import numpy as np

from . import extensions
from . import scipy_functions  # noqa: F401 - scipy.special's logsumexp/softmax on traced values
from . import recording as R
from . import numpy_dispatch as D
from .traced import Traced
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
            if isinstance(x, Traced):
                return R.elementwise(name, *xs)
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
norm_cdf = extensions.norm_cdf  # an nd.primitive (numad/extensions.py)
expit = _elementwise("expit")


def _dispatch(numpy_fn, dual_fn=None):
    """``numpy_fn`` with its own signature, recording through the tracer's handler of
    it (which binds the arguments as NumPy does) when an argument is traced."""
    import functools

    traced_fn = D.FUNCTIONS[numpy_fn]

    @functools.wraps(numpy_fn)
    def fn(*args, **kwargs):
        given = args + tuple(kwargs.values())
        if any(isinstance(a, Traced) for a in given):
            return traced_fn(*args, **kwargs)
        if dual_fn is not None and any(isinstance(a, Dual) for a in given):
            return dual_fn(*args, **kwargs)
        return _plain(numpy_fn(*args, **kwargs))
    fn.__module__ = __name__
    # NumPy's signature (inspect follows __wrapped__), numad's own short docstring (NumPy's
    # examples would run as this module's doctests)
    fn.__doc__ = (f"``np.{numpy_fn.__name__}`` on floats, arrays, traced values and Duals, "
                  "with NumPy's signature; traced values record on the tape.")
    return fn


def _dual_linear(np_fn):
    """A linear NumPy function applied to a Dual's value and, lane by lane, its tangent."""
    import inspect

    first = next(iter(inspect.signature(np_fn).parameters))

    def fn(*args, **kwargs):
        if args:
            x, args = args[0], args[1:]
        else:
            x = kwargs.pop(first)
        value = np_fn(x.value, *args, **kwargs)
        t = np.asarray(x.tangent)
        if t.ndim > np.ndim(x.value):  # several directions: the last axis holds them
            lanes = [np_fn(t[..., k], *args, **kwargs) for k in range(t.shape[-1])]
            return Dual(_plain(value), np.stack(lanes, axis=-1))
        return Dual(_plain(value), _plain(np_fn(t, *args, **kwargs)))
    return fn


def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):  # noqa: A002
    """Clip ``a`` to ``[a_min, a_max]`` (NumPy's signature, ``min``/``max`` as aliases);
    the derivative is 0 at and beyond the bounds."""
    x = a
    a_min = min if a_min is None else a_min
    a_max = max if a_max is None else a_max
    if any(isinstance(v, Traced) for v in (x, a_min, a_max, out)):
        return D.FUNCTIONS[np.clip](x, a_min, a_max, out)
    if out is not None:
        return np.clip(x, a_min, a_max, out=out)
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


def where(condition, x, y):
    """``x`` where ``cond`` holds, else ``y``; the untaken branch never leaks inf or nan
    into the derivative: ``grad(lambda x: where(x > 0, sqrt(x), 0.))(0.)`` is 0."""
    cond = condition
    if any(isinstance(v, Traced) for v in (cond, x, y)):
        return R.where(cond, x, y)
    if isinstance(x, Dual) or isinstance(y, Dual):
        xd = x if isinstance(x, Dual) else Dual(x, 0.0)
        yd = y if isinstance(y, Dual) else Dual(y, 0.0)
        c = np.asarray(cond.value if isinstance(cond, Dual) else cond)
        tx, ty = np.asarray(xd.tangent), np.asarray(yd.tangent)
        lanes = max(tx.ndim - np.ndim(xd.value), ty.ndim - np.ndim(yd.value), 0)
        cm = c.reshape(c.shape + (1,) * lanes)
        return Dual(_plain(np.where(c, xd.value, yd.value)), _plain(np.where(cm, tx, ty)))
    return _plain(np.where(cond, x, y))


def logsumexp(a, axis=None, keepdims=False):
    """``log(sum(exp(a)))`` without overflow (scipy.special.logsumexp's ``a``, ``axis``,
    ``keepdims``); its gradient is the softmax. An ``nd.primitive``
    (``numad/extensions.py``): one tape entry."""
    return extensions.logsumexp(a, axis, keepdims)


sum = _dispatch(np.sum, _dual_linear(np.sum))  # noqa: A001
prod = _dispatch(np.prod)
mean = _dispatch(np.mean, _dual_linear(np.mean))
max = _dispatch(np.max)  # noqa: A001
min = _dispatch(np.min)  # noqa: A001


def dot(a, b, out=None):
    """``np.dot`` that records on the tape for traced operands."""
    if isinstance(a, Traced) or isinstance(b, Traced):
        return D.FUNCTIONS[np.dot](a, b, out)
    return _plain(np.dot(a, b, out))


def matmul(a, b):
    """``a @ b`` that records on the tape for traced operands."""
    if isinstance(a, Traced) or isinstance(b, Traced):
        return R.matmul(a, b)
    return _plain(np.matmul(a, b))


def stack(arrays, axis=0, out=None):
    """``np.stack`` for lists that may hold traced scalars and arrays."""
    arrays = list(arrays)
    if any(isinstance(a, Traced) for a in arrays):
        return D.FUNCTIONS[np.stack](arrays, axis, out)
    return np.stack(arrays, axis, out)


def concatenate(arrays, axis=0, out=None):
    """``np.concatenate`` for lists that may hold traced arrays."""
    arrays = list(arrays)
    if any(isinstance(a, Traced) for a in arrays):
        return D.FUNCTIONS[np.concatenate](arrays, axis, out)
    return np.concatenate(arrays, axis, out)


def stop_gradient(x):
    """The value of ``x`` with zero derivative.

    Examples
    --------
    >>> import numad as nd
    >>> nd.grad(lambda x: x * nd.stop_gradient(x))(3.0)
    3.0
    """
    if isinstance(x, Traced):
        return R.elementwise("stop_gradient", x)
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
        if isinstance(x, Traced):
            y = fn(stop_gradient(x))
            # x - stop_gradient(x) is exactly zero with derivative one, so the value is
            # fn(x) to the last bit and the derivative passes straight through
            return y + (x - stop_gradient(x))
        if isinstance(x, Dual):
            return Dual(_plain(fn(x.value)), x.tangent)
        return fn(x)
    st.__name__ = f"straight_through({getattr(fn, '__name__', 'fn')})"
    return st
