"""Forward mode with dual numbers: ``Dual(value, tangent)`` carries ``(u, u')``.

Every operation on a ``Dual`` is a row of the op table (``numad/optable.py``): the value
comes from the row's NumPy function and the tangent from the row's partial derivative
expressions, evaluated here with NumPy. No derivative rule is written in this module, so
a ``Dual`` can never disagree with the tape's sweeps about what a derivative is. Which
ufunc is which row comes from the table too (``optable.UFUNC_ROWS``, as the tracer's
``UFUNCS``); the ufuncs that are compositions of rows (``np.logaddexp``, ``np.fmax``,
...) run the tracer's own formulas from ``numad/compositions.py`` on Duals. Python's
operators are the ufuncs NumPy's arrays use for them (``+`` is ``np.add``). The only
rules written here are those of the structural ``where`` and ``matmul``.

The tangent rule of ``y = op(a, b)`` is ``y' = dy/da * a' + dy/db * b'``, where a zero
tangent contributes nothing, even where the partial is ``inf`` or ``nan``: a constant
input (or one that does not depend on the seeded direction) must not turn a finite
derivative into ``nan`` (``sqrt`` at 0 of an input with zero tangent has tangent 0).

Shapes: ``value`` is a float or an array. A tangent of the value's shape is one
direction; a tangent with one more, trailing, dimension (``value.shape + (ndir,)``;
a 1-D array for a float value) carries ``ndir`` directions at once.
"""
from __future__ import annotations

import numbers

import numpy as np
import scipy.special as sps

from .errors import TracingError
from .compositions import COMPOSITIONS, Ops, extreme_against_constant
from .optable import (ELEMENTWISE, ELEMENTWISE_BY_NAME, EXPRESSION_FUNCTIONS, FUNCTION_ROWS,
                      ROW_OF_FUNCTION, UFUNC_ROWS)

__all__ = ["Dual", "dual_elementwise", "dual_where"]


# ---------------------------------------------------------------------------------
# Evaluating the op table's partial expressions with NumPy
# ---------------------------------------------------------------------------------

def _numpy_meaning(name):
    """The NumPy/SciPy function that means what the expression function ``name`` means.

    The table names what the scalar kernels call (``np.exp``, ``math.erf``, inlined
    code for digamma); on arrays the same meaning is the NumPy function of the row
    whose value the function is (``optable.ROW_OF_FUNCTION``: ``scipy.special.erf``,
    ``np.rint`` for ``rint``), and ``np.where`` for the branch-free ``select``.
    """
    if name == "select":
        return np.where
    row = ROW_OF_FUNCTION.get(name)
    return None if row is None else row.numpy  # None: _evaluate names it when used


_NAMESPACE = {"__builtins__": {}, "np": np}
for _name in EXPRESSION_FUNCTIONS:
    _fn = _numpy_meaning(_name)
    if _fn is not None:
        _NAMESPACE[_name] = _fn
del _name, _fn

# Each partial compiled once: name -> one code object per input (None: identically 0).
_PARTIAL_CODE = {
    row.name: tuple(
        None if expr is None else compile(expr, f"<numad: d{row.name}/d{var} = {expr}>", "eval")
        for expr, var in zip(row.partials, "ab")
    )
    for row in ELEMENTWISE
}


def _evaluate(name, code, a, b, y):
    """Evaluate one compiled partial of row ``name`` at arrays ``a``, ``b``, ``y``."""
    try:
        return eval(code, _NAMESPACE, {"a": a, "b": b, "y": y})
    except NameError as exc:
        raise NotImplementedError(
            f"Dual: the partial derivative of {name!r} uses {exc.name!r}, which has no NumPy "
            f"meaning in numad/dual.py (_numpy_meaning); add one there"
        ) from None


# ---------------------------------------------------------------------------------
# Operands
# ---------------------------------------------------------------------------------

# What a Dual computes with; anything else (a tracer, a string, a list) is left to the
# other operand's implementation by returning NotImplemented.
_CONSTANT_TYPES = (numbers.Real, np.ndarray, np.generic)


def _is_operand(x):
    return isinstance(x, (Dual, *_CONSTANT_TYPES))


def _holds_traced(arr):
    from .traced import Traced   # (the tracer sits above this module)
    return any(isinstance(v, Traced) for v in arr.flat)


def _real_array(x, what):
    """``x`` as a real floating NumPy array (integers and booleans become float64)."""
    arr = np.asarray(x)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype == object and _holds_traced(arr):
        raise TracingError(f"numad: a Dual's {what} is a traced value: forward mode inside "
                           "a traced function is nd.jvp(f, x, v), which records on the "
                           "trace (a Dual holds numbers)")
    if arr.dtype.kind == "c":   # (the API's rule for complex inputs: a TracingError)
        raise TracingError(f"numad: a Dual's {what} is complex ({arr.dtype}); numad "
                           "differentiates real functions: carry the real and imaginary "
                           "parts as two Duals")
    if arr.dtype.kind != "f":
        raise TypeError(f"Dual: the {what} must be real numbers, got dtype {arr.dtype}")
    return arr


def _unwrap(arr):
    """A 0-d result as a Python float, an array as itself."""
    return float(arr) if np.ndim(arr) == 0 else arr


def _common_ndir(name, duals):
    """The number of directions the result carries: ``None`` for one, else ``ndir``.

    A one-direction Dual whose tangent is zero (a constant such as ``Dual(2.0)``) mixes
    with anything; otherwise all operands must carry the same directions.
    """
    ndir = None
    single_nonzero = False
    for d in duals:
        if d._ndir is None:
            single_nonzero = single_nonzero or bool(np.any(d.tangent))
        elif ndir is None:
            ndir = d._ndir
        elif d._ndir != ndir:
            raise ValueError(
                f"Dual {name}: operands carry {ndir} and {d._ndir} tangent directions; "
                f"seed every input with the same number of directions"
            )
    if ndir is not None and single_nonzero:
        raise ValueError(
            f"Dual {name}: one operand carries a single tangent direction and another "
            f"{ndir} directions; give every seeded input a tangent of shape "
            f"value.shape + ({ndir},)"
        )
    return ndir


def _apply(row, operands):
    """Apply elementwise row ``row`` to Dual and constant operands."""
    duals = [x for x in operands if isinstance(x, Dual)]
    values = [np.asarray(x.value) if isinstance(x, Dual) else _real_array(x, "operand")
              for x in operands]
    y = row.numpy(*values)
    if not duals:
        return y
    y = np.asarray(y)
    if y.dtype == np.bool_:
        # Comparisons and predicates: a plain answer, as ``x < 0`` gives for floats.
        return bool(y) if y.ndim == 0 else y

    ndir = _common_ndir(row.name, duals)
    tangent = np.zeros(y.shape if ndir is None else y.shape + (ndir,))
    a = values[0]
    b = values[1] if len(values) > 1 else None
    # Partials evaluate both sides of each select() and may divide by zero there; the
    # masking below decides what counts, so NumPy's warnings would only be noise.
    with np.errstate(all="ignore"):
        for x, code in zip(operands, _PARTIAL_CODE[row.name]):
            if code is None or not isinstance(x, Dual):
                continue
            t = np.asarray(x.tangent)
            if not t.any():
                continue
            partial = np.asarray(_evaluate(row.name, code, a, b, y))
            if ndir is not None:
                partial = partial[..., None]    # the directions axis is last
            # A zero tangent contributes nothing, even against an inf/nan partial.
            tangent += np.where(t != 0, partial * t, 0.0)
    return Dual._make(_unwrap(y), _unwrap(tangent), ndir)


def dual_elementwise(name, *operands):
    """Apply the op table's elementwise primitive ``name`` to Duals and constants.

    The value is the row's NumPy function of the operands' values; the tangent is the
    chain rule with the row's partial derivatives. This is how ``nd.exp`` and the other
    elementary functions act on ``Dual`` numbers.

    Parameters
    ----------
    name : str
        A key of ``numad.optable.ELEMENTWISE_BY_NAME`` (``"exp"``, ``"pow"``, ...).
    *operands : Dual, float or ndarray
        As many as the row's arity; they broadcast as in NumPy.

    Returns
    -------
    Dual, or the plain NumPy result
        A ``Dual`` when some operand is one, except that comparisons and predicates
        (``"less"``, ``"isnan"``, ...) give plain booleans as they do for floats. With
        no ``Dual`` operand, the row's NumPy function of the operands.

    Raises
    ------
    ValueError
        If no elementwise primitive is called ``name``, or the operands carry different
        numbers of tangent directions.
    TypeError
        If the number of operands is not the row's arity.

    Examples
    --------
    >>> from numad.dual import Dual, dual_elementwise
    >>> dual_elementwise("exp", Dual(0.0, 2.0))
    Dual(1.0, 2.0)
    >>> dual_elementwise("pow", Dual(3.0, 1.0), 2.0)
    Dual(9.0, 6.0)
    """
    row = ELEMENTWISE_BY_NAME.get(name)
    if row is None:
        raise ValueError(f"dual_elementwise: no elementwise primitive named {name!r} in the op table")
    if len(operands) != row.arity:
        raise TypeError(f"dual_elementwise: {name!r} takes {row.arity} operand(s), got {len(operands)}")
    return _row(name, *operands)


def _row(name, *operands):
    """Row ``name`` on Duals and constants, as the tracer's ``elementwise`` records it:
    ``maximum``/``minimum`` of a Dual and a constant (not a Dual) without NaN is the
    select of ``compositions.extreme_against_constant`` (a tie with a constant is a kink,
    slope 0), as for a traced value and a constant."""
    if (name == "maximum" or name == "minimum") and (
            isinstance(operands[0], Dual) != isinstance(operands[1], Dual)):
        x, c = operands if isinstance(operands[0], Dual) else operands[::-1]
        if not np.any(np.isnan(_real_array(c, "operand"))):
            return extreme_against_constant(_DUAL_OPS, name, x, c)
    return _apply(ELEMENTWISE_BY_NAME[name], operands)


def dual_where(cond, x, y):
    """``x`` where ``cond`` holds, else ``y``, for Duals and constants, with NumPy's
    broadcasting; each entry's tangent is the taken side's, so the untaken side's inf or
    nan never leaks into it.

    Examples
    --------
    >>> import numpy as np
    >>> from numad.dual import Dual, dual_where
    >>> dual_where(np.array([True, False]), Dual(np.array([1.0, 2.0]), 1.0), 0.0).tangent
    array([1., 0.])
    """
    c = np.asarray(cond.value if isinstance(cond, Dual) else cond).astype(bool)
    values = [np.asarray(v.value) if isinstance(v, Dual) else _real_array(v, "operand")
              for v in (x, y)]
    out = np.where(c, *values)
    duals = [v for v in (x, y) if isinstance(v, Dual)]
    if not duals:
        return _unwrap(out)
    ndir = _common_ndir("where", duals)
    lanes = () if ndir is None else (ndir,)

    def tangent(v):
        if not isinstance(v, Dual) or (ndir is not None and v._ndir is None):
            return 0.0   # a constant, or a one-direction Dual whose tangent is zero
        return np.asarray(v.tangent)
    cm = c if ndir is None else c[..., None]
    t = np.broadcast_to(np.where(cm, tangent(x), tangent(y)), out.shape + lanes).copy()
    return Dual._make(_unwrap(out), _unwrap(t), ndir)


def _values(operands):
    """The operands' values as arrays (a constant as itself, refused if complex)."""
    return [np.asarray(x.value) if isinstance(x, Dual) else _real_array(x, "operand")
            for x in operands]


def _lanes(name, operands):
    """``(ndir, lanes)``: ``lanes[k]`` holds each operand's tangent in direction ``k``,
    None for a constant (or a Dual without tangent among several directions); one
    lane when the tangents carry one direction (``ndir`` None)."""
    ndir = _common_ndir(name, [x for x in operands if isinstance(x, Dual)])

    def lane(x, k):
        if not isinstance(x, Dual) or (ndir is not None and x._ndir is None):
            return None
        t = np.asarray(x.tangent)
        return t if k is None else t[..., k]
    return ndir, [[lane(x, k) for x in operands] for k in ([None] if ndir is None
                                                            else range(ndir))]


def _from_lanes(value, tangents, ndir):
    """A Dual of ``value`` whose tangent in each direction is ``tangents[k]``."""
    t = tangents[0] if ndir is None else np.stack(tangents, axis=-1)
    return Dual._make(_unwrap(np.asarray(value)), _unwrap(np.asarray(t, dtype=np.float64)),
                      ndir)


def _bilinear(np_fn):
    """``np_fn(a, b)`` of Duals and constants for a product that is linear in each
    operand (``np.matmul``, ``np.dot``): ``(a b)' = a' b + a b'``, lane by lane."""
    def rule(a, b, out=None):
        if out is not None:
            raise TypeError(f"np.{np_fn.__name__} on a Dual takes no out= (use the "
                            "returned value)")
        va, vb = _values((a, b))
        y = np_fn(va, vb)
        ndir, lanes = _lanes(np_fn.__name__, (a, b))
        tangents = []
        for ta, tb in lanes:
            t = np.zeros(np.shape(y))
            if ta is not None:
                t = t + np_fn(ta, vb)
            if tb is not None:
                t = t + np_fn(va, tb)
            tangents.append(t)
        return _from_lanes(y, tangents, ndir)
    return rule


_matmul = _bilinear(np.matmul)
dual_dot = _bilinear(np.dot)


def dual_linear(np_fn):
    """A linear NumPy function (``np.sum``, ``np.mean``) applied to a Dual's value and,
    lane by lane, its tangent."""
    import inspect

    first = next(iter(inspect.signature(np_fn).parameters))

    def rule(*args, **kwargs):
        if args:
            x, args = args[0], args[1:]
        else:
            x = kwargs.pop(first)
        ndir, lanes = _lanes(np_fn.__name__, (x,))
        return _from_lanes(np_fn(x.value, *args, **kwargs),
                           [np_fn(t, *args, **kwargs) for (t,) in lanes], ndir)
    return rule


def _reduction_arguments(np_fn, args, kwargs):
    """``(a, axis, keepdims)`` from a call with NumPy's signature of ``np_fn``; the other
    options (``dtype``, ``out``, ``initial``, ``where``) are refused on a Dual."""
    import inspect

    given = inspect.signature(np_fn).bind(*args, **kwargs).arguments
    a = given.pop("a")
    axis, keepdims = given.pop("axis", None), bool(given.pop("keepdims", False))
    extra = sorted(k for k, v in given.items() if v is not None)
    if extra:
        raise TypeError(f"nd.{np_fn.__name__} on a Dual takes only axis and keepdims; got "
                        f"{', '.join(extra)} (apply it to .value and .tangent yourself)")
    return a, axis, keepdims


def _reduced_last(v, axis):
    """``v`` with the axes in ``axis`` (None: all) moved last and merged into one."""
    axes = tuple(range(v.ndim)) if axis is None else \
        tuple(a % v.ndim for a in np.atleast_1d(axis))
    kept = [a for a in range(v.ndim) if a not in axes]
    moved = np.transpose(v, kept + list(axes))
    return moved.reshape(moved.shape[:len(kept)] + (-1,))


def dual_prod(*args, **kwargs):
    """prod of a Dual: each entry's tangent times the product of the *other* entries
    (from products on both sides of it, so exact where entries are 0 too)."""
    a, axis, keepdims = _reduction_arguments(np.prod, args, kwargs)
    v = np.asarray(a.value)
    value = np.prod(v, axis=axis, keepdims=keepdims)
    flat = _reduced_last(v, axis)
    ones = np.ones(flat.shape[:-1] + (1,))
    left = np.concatenate([ones, np.cumprod(flat, axis=-1)[..., :-1]], axis=-1)
    right = np.concatenate([np.cumprod(flat[..., ::-1], axis=-1)[..., :-1][..., ::-1], ones],
                           axis=-1)
    others = left * right
    ndir, lanes = _lanes("prod", (a,))
    tangents = [np.sum(_reduced_last(t, axis) * others, axis=-1).reshape(np.shape(value))
                for (t,) in lanes]
    return _from_lanes(value, tangents, ndir)


def _extreme(np_fn):
    def rule(*args, **kwargs):
        """max/min of a Dual: the tangent of the extreme entry, the mean of the tied
        extremes' tangents where entries tie (the reverse mode's equal sharing)."""
        a, axis, keepdims = _reduction_arguments(np_fn, args, kwargs)
        v = np.asarray(a.value)
        value = np_fn(v, axis=axis, keepdims=keepdims)
        at_extreme = v == np_fn(v, axis=axis, keepdims=True)
        count = np.sum(at_extreme, axis=axis, keepdims=keepdims)
        ndir, lanes = _lanes(np_fn.__name__, (a,))
        return _from_lanes(value, [np.sum(np.where(at_extreme, t, 0.0), axis=axis,
                                          keepdims=keepdims) / count for (t,) in lanes], ndir)
    return rule


dual_max, dual_min = _extreme(np.max), _extreme(np.min)


def _join(np_fn):
    """``np.stack`` / ``np.concatenate`` of Duals and constants: the tangents joined as
    the values are (a constant's tangent is 0; the directions' axis stays last)."""
    def rule(arrays, axis=0, out=None):
        if out is not None:
            raise TypeError(f"np.{np_fn.__name__} of Duals takes no out= (use the returned "
                            "value)")
        arrays = list(arrays)
        values = _values(arrays)
        value = np_fn(values, axis)
        ndir, lanes = _lanes(np_fn.__name__, arrays)
        tangents = []
        for lane in lanes:
            lane = [np.zeros(np.shape(v)) if t is None else t for t, v in zip(lane, values)]
            if axis is None:      # concatenate flattens first
                tangents.append(np_fn([np.ravel(t) for t in lane]))
            else:
                tangents.append(np_fn(lane, axis % value.ndim))
        return _from_lanes(value, tangents, ndir)
    return rule


dual_stack, dual_concatenate = _join(np.stack), _join(np.concatenate)
dual_sum, dual_mean = dual_linear(np.sum), dual_linear(np.mean)


def _value(v):
    return np.asarray(v.value) if isinstance(v, Dual) else v


def dual_clip(x, a_min=None, a_max=None, out=None, **kwargs):
    """NumPy's ``clip``, ``minimum(maximum(x, a_min), a_max)``, on Duals (bounds
    included, broadcast as NumPy does): a bound's tangent where it is the value
    taken, at the kink too (numad's convention: ``x``'s derivative is 0 there)."""
    a_min = kwargs.pop("min", None) if a_min is None else a_min
    a_max = kwargs.pop("max", None) if a_max is None else a_max
    if out is not None or kwargs:
        raise TypeError("Dual: np.clip on a Dual takes no out= or other options")
    y = x
    if a_min is not None:
        y = dual_where(_value(x) <= _value(a_min), a_min, y)
    if a_max is not None:
        y = dual_where(_value(y) >= _value(a_max), a_max, y)
    return y


def dual_round(x, decimals=0, out=None):
    """NumPy's ``round`` on a Dual: its algorithm (scale, round, scale back); the
    tangent is zero."""
    if out is not None:
        raise TypeError("Dual: np.round on a Dual takes no out=")
    if decimals == 0:
        return _row("round", x)
    if decimals > 0:
        return _row("round", x * 10.0 ** decimals) / 10.0 ** decimals
    return _row("round", x / 10.0 ** -decimals) * 10.0 ** -decimals


_DUAL_OPS = Ops(row=_row, where=dual_where)

# NumPy functions that are no ufuncs, answered on Duals by the rules above (np.sum(x),
# np.dot(x, W), np.stack([...]) reach them through Dual.__array_function__)
NUMPY_FUNCTIONS = {np.sum: dual_sum, np.mean: dual_mean, np.prod: dual_prod,
                   np.max: dual_max, np.amax: dual_max, np.min: dual_min, np.amin: dual_min,
                   np.dot: dual_dot, np.stack: dual_stack, np.concatenate: dual_concatenate,
                   np.clip: dual_clip, np.round: dual_round, np.around: dual_round,
                   np.where: lambda cond, x, y: dual_where(cond, x, y)}


def _knows(ufunc):
    return ufunc in UFUNC_ROWS or ufunc in COMPOSITIONS or ufunc is np.matmul


def _call(ufunc, operands):
    """NumPy's ``ufunc`` on Duals and constants: its op-table row (``optable.UFUNC_ROWS``,
    the tracer's ``UFUNCS``), its composition of rows (``compositions.COMPOSITIONS``,
    the tracer's too), or ``np.matmul``; the same ufuncs that the tracer records."""
    name = UFUNC_ROWS.get(ufunc)
    if name is not None:
        return _row(name, *operands)
    if ufunc is np.matmul:
        return _matmul(*operands)
    # a composition's intermediate steps (inf - inf on a side it then drops) are its own
    # business: NumPy's ufunc does not warn about them either
    with np.errstate(all="ignore"):
        out = COMPOSITIONS[ufunc](_DUAL_OPS, *operands)
    return out if isinstance(out, Dual) else _without_tangent(ufunc.__name__, out, operands)


def _without_tangent(name, out, operands):
    """A composition that chose a constant operand (``np.fmax(Dual(nan), 1.0)`` is 1.0)
    still answers with a Dual, of the broadcast shape, with a zero tangent."""
    ndir = _common_ndir(name, [x for x in operands if isinstance(x, Dual)])
    shape = np.broadcast_shapes(*(np.shape(x.value if isinstance(x, Dual) else x)
                                  for x in operands))
    value = np.broadcast_to(_real_array(out, "result"), shape).copy()
    tangent = np.zeros(shape if ndir is None else shape + (ndir,))
    return Dual._make(_unwrap(value), _unwrap(tangent), ndir)


def _operator(ufunc, a, b):
    """A Python operator: the ufunc NumPy's arrays use for it, as for a call of it."""
    if not (_is_operand(a) and _is_operand(b)):
        return NotImplemented
    return _call(ufunc, (a, b))


# ---------------------------------------------------------------------------------
# The dual number
# ---------------------------------------------------------------------------------

class Dual:
    """A dual number ``(value, tangent)`` for forward-mode differentiation.

    Arithmetic (``+ - * / // % ** @``, unary ``-``, ``abs``), comparisons and the NumPy
    ufuncs that numad traces (``np.exp(d)``, ``np.add(d, 1.0)``, ``np.logaddexp(d, 0.0)``,
    ``scipy.special.erf(d)``) act on the
    value and carry the tangent along by the chain rule, with the partial derivatives
    of numad's op table. Seed an input with tangent 1 (or a direction ``v``) and the
    result's tangent is the derivative (the directional derivative ``J v``).

    Parameters
    ----------
    value : float or array_like
        The primal value. Integers become floats.
    tangent : float or array_like, default 0.0
        Its derivative along one direction (shaped like ``value``; a float broadcasts),
        or along ``ndir`` directions at once, with shape ``value.shape + (ndir,)`` (a
        1-D array for a float ``value``).

    Attributes
    ----------
    value : float or ndarray
        The primal value; a Python float when it is a scalar.
    tangent : float or ndarray
        The tangent; a Python float for a scalar value and one direction.

    Returns
    -------
    Dual
        The dual number ``(value, tangent)``.

    Notes
    -----
    Comparisons compare values and return plain booleans (or boolean arrays); ``float()``
    of a Dual raises ``TypeError``, since it would silently drop the tangent: use
    ``.value``. NumPy functions that are not ufuncs (``np.sum``, ``np.dot``) do not take
    Duals (``nd.sum``, ``nd.mean`` and ``nd.where`` do), except ``np.sinc``, a row of
    the op table. A maximum or minimum of a Dual and
    a constant that tie gives the Dual slope 0, as for a traced value (numad's
    convention ``relu'(0) = 0``); two Duals that tie share the slope, 1/2 each.

    Examples
    --------
    The derivative of a polynomial at 2:

    >>> import numpy as np
    >>> from numad.dual import Dual
    >>> x = Dual(2.0, 1.0)
    >>> y = 3 * x**5 - 2 * x**3 + 7 * x - 11
    >>> y.value, y.tangent
    (83.0, 223.0)

    NumPy ufuncs, and two directions at once (d/dx and d/dy of ``x * exp(y)``):

    >>> x, y = Dual(1.5, np.array([1.0, 0.0])), Dual(0.0, np.array([0.0, 1.0]))
    >>> (x * np.exp(y)).tangent
    array([1. , 1.5])
    """

    __slots__ = ("value", "tangent", "_ndir")

    def __init__(self, value, tangent=0.0):
        if isinstance(value, Dual) or isinstance(tangent, Dual):
            raise TypeError("Dual: value and tangent must be floats or arrays, not Duals "
                            "(nested Duals are not supported; use nd.jvp or nd.hessian)")
        value = _real_array(value, "value")
        tangent = _real_array(tangent, "tangent").astype(np.float64, copy=False)
        if tangent.ndim == value.ndim + 1:
            ndir = tangent.shape[-1]
            shape = value.shape + (ndir,)
        else:
            ndir = None
            shape = value.shape
        if tangent.shape != shape:
            try:
                tangent = np.broadcast_to(tangent, shape).copy()
            except ValueError:
                raise ValueError(
                    f"Dual: a tangent of shape {tangent.shape} does not fit a value of shape "
                    f"{value.shape}; give value.shape for one direction or "
                    f"value.shape + (ndir,) for ndir directions"
                ) from None
        self.value = _unwrap(value)
        self.tangent = _unwrap(tangent)
        self._ndir = ndir

    @classmethod
    def _make(cls, value, tangent, ndir):
        """Build a Dual from parts that are already consistent (no checks, no copies)."""
        d = object.__new__(cls)
        d.value = value
        d.tangent = tangent
        d._ndir = ndir
        return d

    # -- shape -----------------------------------------------------------------------
    @property
    def shape(self):
        """The shape of the value."""
        return np.shape(self.value)

    @property
    def ndim(self):
        """The number of dimensions of the value."""
        return np.ndim(self.value)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a scalar Dual")
        return self.shape[0]

    def __getitem__(self, index):
        # The directions axis stays last: index the leading (value) axes only.
        index = index if isinstance(index, tuple) else (index,)
        has_ellipsis = any(i is Ellipsis for i in index)
        tangent_index = index + ((slice(None),) if has_ellipsis else (Ellipsis,))
        value = np.asarray(self.value)[index]
        tangent = np.asarray(self.tangent)[tangent_index if self._ndir is not None else index]
        return Dual._make(_unwrap(value), _unwrap(tangent), self._ndir)

    # -- arithmetic: each operator is one op-table row ---------------------------------
    def __add__(self, other):
        return _operator(np.add, self, other)

    def __radd__(self, other):
        return _operator(np.add, other, self)

    def __sub__(self, other):
        return _operator(np.subtract, self, other)

    def __rsub__(self, other):
        return _operator(np.subtract, other, self)

    def __mul__(self, other):
        return _operator(np.multiply, self, other)

    def __rmul__(self, other):
        return _operator(np.multiply, other, self)

    def __truediv__(self, other):
        return _operator(np.true_divide, self, other)

    def __rtruediv__(self, other):
        return _operator(np.true_divide, other, self)

    def __floordiv__(self, other):
        return _operator(np.floor_divide, self, other)

    def __rfloordiv__(self, other):
        return _operator(np.floor_divide, other, self)

    def __mod__(self, other):
        return _operator(np.mod, self, other)

    def __rmod__(self, other):
        return _operator(np.mod, other, self)

    def __divmod__(self, other):
        if not _is_operand(other):
            return NotImplemented
        return self // other, self % other

    def __rdivmod__(self, other):
        if not _is_operand(other):
            return NotImplemented
        return other // self, other % self

    def __pow__(self, other, modulo=None):
        if modulo is not None:
            return NotImplemented
        return _operator(np.power, self, other)

    def __rpow__(self, other):
        return _operator(np.power, other, self)

    def __matmul__(self, other):
        return _operator(np.matmul, self, other)

    def __rmatmul__(self, other):
        return _operator(np.matmul, other, self)

    def __neg__(self):
        return _call(np.negative, (self,))

    def __pos__(self):
        return _call(np.positive, (self,))

    def __abs__(self):
        return _call(np.absolute, (self,))

    # -- comparisons: of the values, with plain boolean answers -------------------------
    def __lt__(self, other):
        return _operator(np.less, self, other)

    def __le__(self, other):
        return _operator(np.less_equal, self, other)

    def __gt__(self, other):
        return _operator(np.greater, self, other)

    def __ge__(self, other):
        return _operator(np.greater_equal, self, other)

    def __eq__(self, other):
        return _operator(np.equal, self, other)

    def __ne__(self, other):
        return _operator(np.not_equal, self, other)

    __hash__ = None  # == compares values elementwise, as for arrays

    def __bool__(self):
        return bool(self.value)

    # -- conversions that would drop the tangent ----------------------------------------
    def _dropped(self, what):
        # (a TracingError, a TypeError: math.* calls float() and says nothing itself)
        return TracingError(
            f"{what} would drop its tangent: use .value (and .tangent), or a NumPy ufunc "
            f"or an nd.* function, which work on Duals"
        )

    def __float__(self):
        from .traced import math_call_of_caller
        found = math_call_of_caller(2)
        if found:
            call, instead = found
            raise TracingError(
                f"numad: {call} converts its argument to a Python float, which would drop "
                f"a Dual's tangent; use {instead or 'an np.* or nd.* function'} instead, "
                "which works on Duals (or apply it to .value)")
        raise self._dropped("float() of a Dual")

    def __round__(self, ndigits=None):
        # round() as np.round: a Dual (a whole-number value where ndigits is None), with
        # derivative zero, as nd.round
        return Dual._make(_unwrap(np.round(self.value, ndigits or 0)),
                          _unwrap(np.zeros_like(np.asarray(self.tangent, dtype=float))),
                          self._ndir)

    def __int__(self):
        raise self._dropped("int() of a Dual")

    def __complex__(self):
        raise self._dropped("complex() of a Dual")

    def __array__(self, dtype=None, copy=None):
        # Reached by np.asarray and the NumPy functions numad has no Dual rule for
        # (NUMPY_FUNCTIONS has np.sum, np.dot, np.stack, np.clip, ...): refusing is
        # better than an object array of Duals or a silent constant.
        raise self._dropped("Converting a Dual to an array (np.asarray, or a NumPy function "
                            "without a Dual rule, such as np.cumsum or np.sort)")

    # -- NumPy ufuncs ------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if not _knows(ufunc):
            raise TypeError(
                f"Dual: NumPy ufunc {ufunc.__name__!r} has no derivative rule in numad's op "
                f"table; apply it to .value, or use an nd.* function"
            )
        if method != "__call__":
            raise TypeError(
                f"Dual: {ufunc.__name__}.{method} is not supported on Duals; call "
                f"np.{ufunc.__name__}(...) elementwise, or reduce with np.sum, np.prod, "
                f"np.max or np.min (or nd.sum, ...)"
            )
        if kwargs.get("out") is not None and all(o is None for o in kwargs["out"]):
            del kwargs["out"]
        if kwargs:
            raise TypeError(f"Dual: np.{ufunc.__name__} on a Dual takes no keyword "
                            f"arguments, got {sorted(kwargs)}")
        if not all(_is_operand(x) for x in inputs):
            return NotImplemented
        return _call(ufunc, inputs)

    # -- NumPy functions that are no ufuncs ---------------------------------------------
    def __array_function__(self, func, types, args, kwargs):
        name = FUNCTION_ROWS.get(func)   # np.sinc: one row, as the tracer records it
        if name is not None:
            return _row(name, *args, *kwargs.values())
        rule = NUMPY_FUNCTIONS.get(func)  # np.sum, np.prod, np.dot, np.stack, ...
        if rule is not None:
            return rule(*args, **kwargs)
        # any other: NumPy's own code, which refuses a Dual where it needs an array
        # (__array__), as before Dual took this protocol
        return func._implementation(*args, **kwargs)

    def __repr__(self):
        return f"Dual({self.value!r}, {self.tangent!r})"
