"""The tracer: runs a user's function on traced values and records every operation.

A ``Traced`` value stands for one tape entry (a scalar or a whole array) and carries
its concrete value, so the user's Python runs exactly as it would on floats and
arrays. Operators, NumPy ufuncs (``__array_ufunc__``) and NumPy functions
(``__array_function__``) append entries to a ``Recorder``; ``finish`` turns the
recorder into a ``Tape`` of flat arrays.

The hot path is the scalar one (a Python loop over floats): such an operation costs
one ``list.extend`` of four ints, one ``list.append`` of the value and one small object.

Branch decisions are recorded as guard entries: a comparison used as a truth value,
``int()`` of a traced value, a traced value used as an index or a ``range`` bound. A
replay re-checks every guard (ADOL-C's approach) instead of computing a wrong value.
"""
from __future__ import annotations

import collections
import linecache
import math
import re
import sys
import threading

import numpy as np

from .compositions import COMPOSITIONS, Ops
from .errors import TracingError
from .optable import ELEMENTWISE_BY_NAME, OPCODES, UFUNC_ROWS
from .pytree import as_float_array, flatten, leaf_is_differentiable
from .kernels import tape_layout
from .tape import Tape
from .watch import Volatile as VOLATILE, reach, side_channels, watch_of

_ADD = OPCODES["add"]
_SUB = OPCODES["sub"]
_MUL = OPCODES["mul"]
_DIV = OPCODES["div"]
_NEG = OPCODES["neg"]
_SQUARE = OPCODES["square"]
INPUT = OPCODES["input"]
CONST = OPCODES["const"]
ALIAS = OPCODES["alias"]
GUARD = OPCODES["guard"]


class Recorder:
    """The growing tape of one trace: Python lists, turned into arrays by ``finish``."""

    __slots__ = ("codes", "vals", "arrays", "params", "aux_sizes", "consts", "live", "scans",
                 "scan_depth", "refused", "customs")

    def __init__(self):
        # op, input a, input b of every entry, flat; an alias keeps in slot b where its
        # window starts in its input's values
        self.codes = []
        self.vals = []       # the value of every scalar entry (0.0 for array entries)
        self.arrays = {}     # entry -> ndarray value, for entries that are arrays
        self.params = {}     # entry -> integer parameters of structural entries
        self.aux_sizes = {}  # entry -> size of its float workspace
        self.consts = {}     # scalar constant -> entry, so `2.0 * x` reuses one entry
        self.live = True     # False once finished: its traced values are then stale
        self.scans = {}      # scan entry -> its loop (numad/scan.py's ScanLoop)
        self.scan_depth = 0  # > 0 while a scan's step is being recorded
        self.refused = False  # a float() of a traced value was refused (see record)
        self.customs = {}    # custom entry -> its call (numad/custom_runner.py's Call)

    @property
    def n(self):
        """How many entries have been recorded."""
        return len(self.vals)

    def push(self, op, a, b, c, value, params=None):
        """Record an entry; a third input ``c`` (only `where` has one) goes in params."""
        i = len(self.vals)
        self.codes.extend((op, a, b))
        if isinstance(value, np.ndarray):
            self.vals.append(0.0)
            self.arrays[i] = value
        else:
            self.vals.append(value)
        if c >= 0:
            params = (c,)
        if params is not None:
            self.params[i] = np.asarray(params, dtype=np.int64)
        return i

    def push_alias(self, a, start, value):
        i = len(self.vals)
        self.codes.extend((ALIAS, a, start))
        if isinstance(value, np.ndarray):
            self.vals.append(0.0)
            self.arrays[i] = value
        else:
            self.vals.append(value)
        return i

    def const_scalar(self, v):
        # keyed by value, so the operators may look a Python int or float up directly;
        # zeros by sign too, since -0.0 == 0.0
        key = v if v != 0.0 else (v, math.copysign(1.0, v))
        i = self.consts.get(key)
        if i is None:
            i = len(self.vals)
            self.codes.extend((CONST, -1, -1))
            self.vals.append(v)
            self.consts[key] = i
        return i


class Traced:
    """A value being traced: one tape entry, with its concrete value ``_v``.

    ``_v`` is a Python float (or bool, for a comparison's result) for a scalar and an
    ndarray otherwise. Users meet Traced values only inside functions being traced;
    they behave as floats and NumPy arrays do.
    """

    __slots__ = ("_rec", "_i", "_v")
    __array_priority__ = 1000.0

    def __init__(self, rec, i, v):
        self._rec = rec
        self._i = i
        self._v = v

    # ---- what it looks like -----------------------------------------------------------
    @property
    def shape(self):
        v = self._v
        return v.shape if isinstance(v, np.ndarray) else ()

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        v = self._v
        return v.size if isinstance(v, np.ndarray) else 1

    @property
    def dtype(self):
        v = self._v
        if isinstance(v, np.ndarray):
            return v.dtype
        return np.dtype(bool) if isinstance(v, bool) else np.dtype(np.float64)

    @property
    def T(self):
        return transpose(self)

    @property
    def real(self):
        return self

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a traced scalar")
        return self.shape[0]

    # Printing shows what the value is, never its number: a number printed (or compared
    # as text, `if f"{x:.1f}" == "1.0":`) would be the traced point's only, unguarded.
    def __repr__(self):
        shape = self.shape
        kind = "scalar" if not shape else f"array of shape {shape}"
        return f"Traced({self.dtype.name} {kind}, entry v{self._i})"

    __str__ = __repr__

    def __format__(self, spec):
        if not spec:
            return repr(self)
        raise TracingError(
            f"numad cannot format a traced value with {spec!r}: the text would hold the "
            "number of the point being traced only, and replays at other points would not "
            "see it. Print values outside the differentiated function, or use "
            "nd.stop_gradient(x) and print from a plain NumPy evaluation of it")

    def __hash__(self):
        raise TracingError(
            "numad: a traced value cannot be hashed (used as a dict key, in a set, or as "
            "an argument of a functools.lru_cache function): a cache keyed by it would "
            "return values of an earlier trace. Call the function without the cache "
            "inside the differentiated function")

    # ---- what cannot be traced ------------------------------------------------------------
    def __float__(self):
        self._rec.refused = True  # (record() tells NumPy's item-assignment error by it)
        raise TracingError(_untraceable_message("float()"))

    def __complex__(self):
        raise TracingError(_untraceable_message("complex()"))

    def __array__(self, dtype=None, copy=None):
        raise TracingError(
            "numad: a traced value was converted to a plain NumPy array (np.array, "
            "np.asarray, or assigning it into a NumPy array), which would make it a "
            "constant and lose its derivative. Build arrays of traced values with "
            "np.stack / nd.stack or np.concatenate, and allocate arrays you fill with "
            "np.zeros_like(x) of a traced x")

    def __trunc__(self):
        raise TracingError(_untraceable_message("math.trunc()"))

    def item(self):
        raise TracingError(_untraceable_message(".item()"))

    def tolist(self):
        raise TracingError(_untraceable_message(".tolist()"))

    def astype(self, dtype, copy=True):
        if np.dtype(dtype).kind == "f":
            return Traced(self._rec, self._i, self._v) if not copy else _copy(self)
        raise TracingError(f"numad: x.astype({np.dtype(dtype).name}) of a traced value "
                           "would make it a constant; use int(x) for a branch decision, "
                           "or np.floor / np.round, which have zero derivative")

    # ---- branch decisions: concrete answers, recorded as guards ----------------------------
    def __bool__(self):
        v = self._v
        if isinstance(v, np.ndarray):
            if v.size != 1:
                raise ValueError("The truth value of a traced array with more than one "
                                 "element is ambiguous. Use np.any / np.all, or nd.where "
                                 "for a choice made elementwise")
            v = v.reshape(())[()]
        if isinstance(v, (bool, np.bool_)):
            _guard(self, float(v))
            return bool(v)
        mask = elementwise("not_equal", self, 0.0)
        _guard(mask, float(mask._v if not isinstance(mask._v, np.ndarray) else mask._v.ravel()[0]))
        return bool(v != 0.0)

    def __int__(self):
        v = self._v
        v = float(v.ravel()[0]) if isinstance(v, np.ndarray) and v.size == 1 else v
        if isinstance(v, np.ndarray):
            raise TypeError("only traced scalars can be converted to int")
        k = int(v)
        t = elementwise("trunc", self)
        _guard(t, float(k))
        return k

    def __index__(self):
        v = self._v
        if isinstance(v, np.ndarray):
            if v.size != 1:
                raise TypeError("only integer-valued traced scalars can be used as an index")
            v = v.ravel()[0]
        v = float(v)
        if v != math.floor(v) or not math.isfinite(v):
            raise TypeError(f"numad: the traced value {v!r} is not an integer and cannot be "
                            "used as an index or range bound; use int(x) or np.floor")
        _guard(self, v)
        return int(v)

    # ---- arithmetic (scalar fast paths first) ----------------------------------------------
    # Scalar fast paths (+, -, *): the hot path of traced Python loops, written out
    # in full for each operator because a shared helper's call costs ~15% of an op.
    def __add__(self, other):
        v = self._v
        t = type(other)
        if t is Traced:
            w = other._v
            if type(v) is float and type(w) is float and other._rec is self._rec:
                rec = self._rec
                vals = rec.vals
                i = len(vals)
                rec.codes.extend((_ADD, self._i, other._i))
                y = v + w
                vals.append(y)
                return Traced(rec, i, y)
        elif (t is float or t is int) and type(v) is float:
            rec = self._rec
            j = rec.consts.get(other) if other else None
            if j is None:
                j = rec.const_scalar(float(other))
            vals = rec.vals
            i = len(vals)
            rec.codes.extend((_ADD, self._i, j))
            y = v + other
            vals.append(y)
            return Traced(rec, i, y)
        return elementwise("add", self, other)

    def __radd__(self, other):
        v = self._v
        t = type(other)
        if (t is float or t is int) and type(v) is float:
            rec = self._rec
            j = rec.consts.get(other) if other else None
            if j is None:
                j = rec.const_scalar(float(other))
            vals = rec.vals
            i = len(vals)
            rec.codes.extend((_ADD, j, self._i))
            y = other + v
            vals.append(y)
            return Traced(rec, i, y)
        return elementwise("add", other, self)

    def __sub__(self, other):
        v = self._v
        t = type(other)
        if t is Traced:
            w = other._v
            if type(v) is float and type(w) is float and other._rec is self._rec:
                rec = self._rec
                vals = rec.vals
                i = len(vals)
                rec.codes.extend((_SUB, self._i, other._i))
                y = v - w
                vals.append(y)
                return Traced(rec, i, y)
        elif (t is float or t is int) and type(v) is float:
            rec = self._rec
            j = rec.consts.get(other) if other else None
            if j is None:
                j = rec.const_scalar(float(other))
            vals = rec.vals
            i = len(vals)
            rec.codes.extend((_SUB, self._i, j))
            y = v - other
            vals.append(y)
            return Traced(rec, i, y)
        return elementwise("sub", self, other)

    def __rsub__(self, other):
        v = self._v
        t = type(other)
        if (t is float or t is int) and type(v) is float:
            rec = self._rec
            j = rec.consts.get(other) if other else None
            if j is None:
                j = rec.const_scalar(float(other))
            vals = rec.vals
            i = len(vals)
            rec.codes.extend((_SUB, j, self._i))
            y = other - v
            vals.append(y)
            return Traced(rec, i, y)
        return elementwise("sub", other, self)

    def __mul__(self, other):
        v = self._v
        t = type(other)
        if t is Traced:
            w = other._v
            if type(v) is float and type(w) is float and other._rec is self._rec:
                rec = self._rec
                vals = rec.vals
                i = len(vals)
                rec.codes.extend((_MUL, self._i, other._i))
                y = v * w
                vals.append(y)
                return Traced(rec, i, y)
        elif (t is float or t is int) and type(v) is float:
            rec = self._rec
            j = rec.consts.get(other) if other else None
            if j is None:
                j = rec.const_scalar(float(other))
            vals = rec.vals
            i = len(vals)
            rec.codes.extend((_MUL, self._i, j))
            y = v * other
            vals.append(y)
            return Traced(rec, i, y)
        return elementwise("mul", self, other)

    def __rmul__(self, other):
        v = self._v
        t = type(other)
        if (t is float or t is int) and type(v) is float:
            rec = self._rec
            j = rec.consts.get(other) if other else None
            if j is None:
                j = rec.const_scalar(float(other))
            vals = rec.vals
            i = len(vals)
            rec.codes.extend((_MUL, j, self._i))
            y = other * v
            vals.append(y)
            return Traced(rec, i, y)
        return elementwise("mul", other, self)

    def __truediv__(self, other):
        if type(self._v) is float:
            t = type(other)
            if t is Traced and type(other._v) is float and other._v != 0.0 \
                    and other._rec is self._rec:
                rec = self._rec
                v = self._v / other._v
                vals = rec.vals
                i = len(vals)
                rec.codes.extend((_DIV, self._i, other._i))
                vals.append(v)
                return Traced(rec, i, v)
            if (t is float or t is int) and other != 0:
                rec = self._rec
                v = self._v / other
                j = rec.consts.get(other)
                if j is None:
                    j = rec.const_scalar(float(other))
                vals = rec.vals
                i = len(vals)
                rec.codes.extend((_DIV, self._i, j))
                vals.append(v)
                return Traced(rec, i, v)
        return elementwise("div", self, other)

    def __rtruediv__(self, other):
        return elementwise("div", other, self)

    def __pow__(self, other):
        if (type(other) is int or type(other) is float) and other == 2:
            if type(self._v) is float:
                rec = self._rec
                v = self._v * self._v
                vals = rec.vals
                i = len(vals)
                rec.codes.extend((_SQUARE, self._i, -1))
                vals.append(v)
                return Traced(rec, i, v)
            return elementwise("square", self)
        return elementwise("pow", self, other)

    def __rpow__(self, other):
        return elementwise("pow", other, self)

    def __neg__(self):
        if type(self._v) is float:
            rec = self._rec
            v = -self._v
            vals = rec.vals
            i = len(vals)
            rec.codes.extend((_NEG, self._i, -1))
            vals.append(v)
            return Traced(rec, i, v)
        return elementwise("neg", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return elementwise("abs", self)

    def __mod__(self, other):
        return elementwise("mod", self, other)

    def __rmod__(self, other):
        return elementwise("mod", other, self)

    def __floordiv__(self, other):
        return elementwise("floor_divide", self, other)

    def __rfloordiv__(self, other):
        return elementwise("floor_divide", other, self)

    def __divmod__(self, other):
        return self // other, self % other

    def __round__(self, ndigits=None):
        if ndigits is None:
            r = elementwise("round", self)
            return int(r)
        return around(self, ndigits)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    # comparisons give masks (traced, zero derivative); a mask used as a truth value
    # records a guard
    def __gt__(self, other):
        return elementwise("greater", self, other)

    def __ge__(self, other):
        return elementwise("greater_equal", self, other)

    def __lt__(self, other):
        return elementwise("less", self, other)

    def __le__(self, other):
        return elementwise("less_equal", self, other)

    def __eq__(self, other):
        return elementwise("equal", self, other)

    def __ne__(self, other):
        return elementwise("not_equal", self, other)

    __hash__ = __hash__  # (defining __eq__ would otherwise set it to None)

    def __and__(self, other):
        return elementwise("logical_and", self, other)

    __rand__ = __and__

    def __or__(self, other):
        return elementwise("logical_or", self, other)

    __ror__ = __or__

    def __xor__(self, other):
        return elementwise("logical_xor", self, other)

    __rxor__ = __xor__

    def __invert__(self):
        return elementwise("logical_not", self)

    # ---- arrays ----------------------------------------------------------------------
    def __getitem__(self, key):
        v = self._v
        if type(key) is int and type(v) is np.ndarray and v.ndim == 1:
            # the hot path of scalar loops, x[i]: an alias entry, no copy of anything
            n = v.shape[0]
            k = key + n if key < 0 else key
            if 0 <= k < n:
                value = v.item(k)
                rec = self._rec
                vals = rec.vals
                i = len(vals)
                rec.codes.extend((ALIAS, self._i, k))  # an alias keeps its start in slot b
                vals.append(value)
                return Traced(rec, i, value)
        return getitem(self, key)

    def __setitem__(self, key, value):
        setitem(self, key, value)

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a traced scalar")
        for k in range(self.shape[0]):
            yield getitem(self, k)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return reshape(self, shape, order=order)

    def ravel(self, order="C"):
        return reshape(self, (-1,), order=order)

    def flatten(self, order="C"):
        return reshape(self, (-1,), order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return transpose(self, axes or None)

    def squeeze(self, axis=None):
        return squeeze(self, axis)

    def copy(self):
        return _copy(self)

    def sum(self, axis=None, keepdims=False, **kw):
        return reduce_sum(self, axis, keepdims, **kw)

    def prod(self, axis=None, keepdims=False, **kw):
        return reduce_prod(self, axis, keepdims, **kw)

    def mean(self, axis=None, keepdims=False, **kw):
        return mean(self, axis, keepdims=keepdims, **kw)

    def max(self, axis=None, keepdims=False, **kw):
        return reduce_max(self, axis, keepdims=keepdims, **kw)

    def min(self, axis=None, keepdims=False, **kw):
        return reduce_min(self, axis, keepdims=keepdims, **kw)

    def var(self, axis=None, ddof=0, keepdims=False):
        return var(self, axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return std(self, axis, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis=None):
        return cumulative("cumsum", self, axis)

    def cumprod(self, axis=None):
        return cumulative("cumprod", self, axis)

    def dot(self, other):
        return dot(self, other)

    def clip(self, a_min=None, a_max=None):
        return clip(self, a_min, a_max)

    def sort(self, axis=-1):
        raise TracingError("numad: x.sort() sorts in place; use y = np.sort(x) instead")

    def all(self, axis=None, keepdims=False):
        return logical_reduce(self, "all", axis, keepdims)

    def any(self, axis=None, keepdims=False):
        return logical_reduce(self, "any", axis, keepdims)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and len(inputs) == 1 and not kwargs:
            name = UFUNCS.get(ufunc)  # np.sin(x) and friends: the common case, directly
            if name is not None:
                return elementwise(name, self)
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        handler = FUNCTIONS.get(func)
        if handler is None:
            raise TracingError(
                f"numad cannot trace {_qualname(func)}: it has no derivative rule in numad. "
                "Write it with the functions numad knows (see API.md, 'Elementary "
                "functions'), or wrap a constant part in nd.stop_gradient")
        return handler(*args, **kwargs)


class TracedVector(Traced):
    """A 1-D input array: keeps its values as a Python list, because ``x[i]`` in a
    traced loop is the commonest operation there is (a list lookup costs a fraction of
    NumPy's ``item``). Assigning into it drops the list."""

    __slots__ = ("_items",)

    def __init__(self, rec, i, v):
        self._rec = rec
        self._i = i
        self._v = v
        self._items = v.tolist()

    def __getitem__(self, key):
        items = self._items
        if type(key) is int and items is not None:
            value = items[key]
            if key < 0:
                key += len(items)
            rec = self._rec
            vals = rec.vals
            i = len(vals)
            rec.codes.extend((ALIAS, self._i, key))
            vals.append(value)
            return Traced(rec, i, value)
        return getitem(self, key)


class TracedView(Traced):
    """An array made by indexing, reshaping or transposing a traced array.

    NumPy would write assignments into it through to the original array; numad
    records assignments as new entries and cannot, so assigning into a view is refused.
    """

    __slots__ = ()


def _guard(x, expected):
    """Record that ``x`` must keep the value ``expected`` for the tape to hold."""
    if isinstance(expected, np.ndarray):
        expected = np.array(expected, dtype=np.float64)
    x._rec.push(GUARD, x._i, -1, -1, expected)


_CALL = re.compile(r"([A-Za-z_][\w.]*)\s*\(")


def _math_call_on_line(frame):
    """The ``math.<name>`` called on the frame's current line, however it was imported."""
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
    for dotted in _CALL.findall(line):
        head, *rest = dotted.split(".")
        obj = frame.f_locals.get(head, frame.f_globals.get(head))
        for part in rest:
            obj = getattr(obj, part, None)
        if getattr(obj, "__module__", None) in ("math", "cmath") and callable(obj):
            return f"{obj.__module__}.{obj.__name__}"
    return None


def _untraceable_message(what):
    # Name the math.* function where the user's line shows one: math.exp(x) reaches us
    # only as float(x), from the frame of the user's code.
    call = None
    frame = sys._getframe(2)
    for _ in range(3):
        if frame is None:
            break
        call = _math_call_on_line(frame)
        if call:
            break
        frame = frame.f_back
    if call:
        name = call.split(".")[1]
        instead = _MATH_INSTEAD.get(name, f"np.{name}" if name in _NUMPY_TRACED else None)
        advice = (f"Use {instead} instead, which records on the tape" if instead else
                  "numad has no rule for it: write it with np.* / nd.* functions, or wrap "
                  "a constant part in nd.stop_gradient")
        return (f"numad cannot trace {call}: it converts its argument to a Python float, "
                f"which would make a traced value a constant. {advice}")
    return (f"numad cannot trace {what} of a traced value: it would make the value a "
            "constant and lose its derivative. Keep it an array or float of the traced "
            "function (use np.* / nd.* functions instead of math.*), or use "
            "nd.stop_gradient(x) for a value that should be a constant")


# What to call instead of a math.* function on a traced value.
_MATH_INSTEAD = {
    "asin": "np.arcsin or nd.arcsin", "acos": "np.arccos or nd.arccos",
    "atan": "np.arctan or nd.arctan", "atan2": "np.arctan2 or nd.arctan2",
    "asinh": "np.arcsinh or nd.arcsinh", "acosh": "np.arccosh or nd.arccosh",
    "atanh": "np.arctanh or nd.arctanh", "erf": "scipy.special.erf or nd.erf",
    "erfc": "scipy.special.erfc or nd.erfc", "pow": "x ** y, np.power or nd.power",
    "fabs": "abs(x), np.abs or nd.abs", "fsum": "np.sum or nd.sum",
    "isnan": "np.isnan", "isfinite": "np.isfinite", "fmod": "np.mod (note its sign rule)",
    "exp2": "np.exp2", "degrees": "np.degrees", "radians": "np.radians",
    "copysign": "np.sign(y) * np.abs(x)", "floor": "np.floor or nd.floor",
    "ceil": "np.ceil or nd.ceil", "trunc": "np.trunc or nd.trunc, or int(x)",
}
_NUMPY_TRACED = {"exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "cbrt", "sin",
                 "cos", "tan", "sinh", "cosh", "tanh", "hypot"}


def _qualname(func):
    mod = getattr(func, "__module__", "") or ""
    name = getattr(func, "__name__", repr(func))
    if mod.startswith("numpy"):
        mod = "np" + mod[5:].replace("._core", "").replace(".core", "")
        if mod.endswith(".fromnumeric") or mod.endswith(".numeric") or "._" in mod:
            mod = "np"
    return f"{mod}.{name}" if mod else name


# ---------------------------------------------------------------------------------------
# Operands


def _recorder(operands):
    rec = None
    for x in operands:
        if isinstance(x, Traced):
            if rec is None:
                rec = x._rec
            elif x._rec is not rec:
                raise TracingError("numad: values traced by two different traces were mixed "
                                   "(a traced value leaked out of the function it belongs "
                                   "to?); pass values as arguments instead of keeping them")
    if rec is not None and not rec.live:
        raise TracingError("numad: a traced value outlived its trace (it was kept from an "
                           "earlier call); derivatives of it would be stale. Pass values "
                           "as arguments instead")
    return rec


def _entry(rec, x):
    """(entry, value) of an operand; a non-traced operand is recorded as a constant."""
    if isinstance(x, Traced):
        return x._i, x._v
    t = type(x)
    if t is float or t is int or t is bool:
        return rec.const_scalar(float(x)), x
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise TracingError(f"numad: cannot use a {type(x).__name__} with dtype {arr.dtype} "
                           "in a traced computation (numad works in float64)")
    if arr.ndim == 0:
        return rec.const_scalar(float(arr)), arr[()]
    return rec.push(CONST, -1, -1, -1, arr.astype(np.float64)), arr


def _value(x):
    return x._v if isinstance(x, Traced) else x


def _wrap(rec, i, v, view=False):
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if view and isinstance(v, np.ndarray):
        return TracedView(rec, i, v)
    return Traced(rec, i, v)


def _shape(x):
    return np.shape(_value(x))


def _size(x):
    return int(np.prod(_shape(x), dtype=np.int64))


# ---------------------------------------------------------------------------------------
# Elementwise


# Python's math functions for the scalar fast path of one-argument primitives: a NumPy
# ufunc called on a Python float costs about 1 us, math's about 50 ns. Where math
# refuses (log(-1), exp(1000)) the NumPy path below gives NumPy's nan or inf.
_SCALAR_MATH = {
    "exp": math.exp, "expm1": math.expm1, "log": math.log, "log1p": math.log1p,
    "log2": math.log2, "log10": math.log10, "sqrt": math.sqrt, "sin": math.sin,
    "cos": math.cos, "tan": math.tan, "arcsin": math.asin, "arccos": math.acos,
    "arctan": math.atan, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
    "arcsinh": math.asinh, "arccosh": math.acosh, "arctanh": math.atanh,
    "abs": abs, "erf": math.erf, "erfc": math.erfc, "copy": float,
}


def elementwise(name, *operands):
    """Record elementwise primitive ``name`` of the op table on its operands."""
    if len(operands) == 1:
        x = operands[0]
        if type(x) is Traced and type(x._v) is float:
            fn = _SCALAR_MATH.get(name)
            if fn is not None:
                try:
                    v = fn(x._v)
                except (ValueError, OverflowError):
                    pass
                else:
                    rec = x._rec
                    if not rec.live:
                        _recorder(operands)
                    vals = rec.vals
                    i = len(vals)
                    rec.codes.extend((ELEMENTWISE_BY_NAME[name].opcode, x._i, -1))
                    vals.append(v)
                    return Traced(rec, i, v)
    if (name == "add" or name == "mul") and len(operands) == 2 and all(
            _is_numpy_bool(_value(x)) for x in operands):
        # NumPy's bool arrays add as `or` and multiply as `and` (Python's bools, the
        # masks of traced scalars, add as numbers: True + True == 2)
        name = "logical_or" if name == "add" else "logical_and"
    if (name == "maximum" or name == "minimum") and len(operands) == 2 and (
            isinstance(operands[0], Traced) != isinstance(operands[1], Traced)):
        x, c = operands if isinstance(operands[0], Traced) else operands[::-1]
        if not np.any(np.isnan(_as_number(c))):
            # against a constant, a tie is a kink, where API.md's convention gives the
            # traced side 0 (relu'(0) = 0): keep the constant where x <= c (x >= c).
            # Ties of two traced operands share equally, by the op table's partials.
            # (A NaN x still comes out NaN, as NumPy's maximum gives.)
            keep = elementwise("less_equal" if name == "maximum" else "greater_equal", x, c)
            return where(keep, c, x)
    prim = ELEMENTWISE_BY_NAME[name]
    rec = _recorder(operands)
    # a comparison's mask used as a number (np.sum(x < y), mask.astype(float), -mask):
    # the tape holds it as 0.0 / 1.0 already, and NumPy's float loops take it so too
    values = [_as_number(_value(x)) for x in operands]
    with np.errstate(all="ignore"):
        y = prim.numpy(*values)
    if rec is None:
        return y
    entries = [_entry(rec, x)[0] for x in operands]
    yshape = np.shape(y)
    if yshape:
        y = np.asarray(y)
        for k, x in enumerate(operands):
            s = np.shape(values[k])
            if s != yshape and int(np.prod(s, dtype=np.int64)) > 1:
                entries[k] = broadcast_to(_as_traced(rec, x, entries[k]), yshape)._i
    if yshape == () or (isinstance(y, np.ndarray) and y.ndim == 0):
        y = np.asarray(y)[()].item()
    i = rec.push(prim.opcode, entries[0], entries[1] if len(entries) > 1 else -1, -1, y)
    return _wrap(rec, i, y)


def _is_numpy_bool(v):
    return isinstance(v, np.bool_) or (isinstance(v, np.ndarray) and v.dtype == np.bool_)


def _as_number(v):
    if type(v) is bool or isinstance(v, np.bool_):
        return float(v)
    if isinstance(v, np.ndarray) and v.dtype == np.bool_:
        return v.astype(np.float64)
    return v


def _as_traced(rec, x, entry=None):
    if isinstance(x, Traced):
        return x
    if entry is None:
        entry = _entry(rec, x)[0]
    v = np.asarray(x)
    return _wrap(rec, entry, v.astype(np.float64) if v.dtype.kind in "iu" else v)


def where(cond, x, y):
    """``x`` where ``cond`` holds, else ``y``; the untaken side gets zero derivative."""
    rec = _recorder((cond, x, y))
    cv, xv, yv = _value(cond), _value(x), _value(y)
    out = np.where(cv, xv, yv)
    if rec is None:
        return out
    shape = out.shape
    ents = []
    for op in (cond, x, y):
        e = _entry(rec, op)[0]
        s = _shape(op)
        if s != shape and int(np.prod(s, dtype=np.int64)) > 1:
            e = broadcast_to(_as_traced(rec, op, e), shape)._i
        ents.append(e)
    if out.dtype.kind != "f" and out.dtype.kind != "b":
        out = out.astype(np.float64)
    i = rec.push(OPCODES["where"], ents[0], ents[1], ents[2], out if shape else out[()].item())
    return _wrap(rec, i, out if shape else out[()].item())


# ---------------------------------------------------------------------------------------
# Index maps: every rearrangement of an array's elements is a gather by positions,
# which becomes an alias (no work at all) when the positions are one contiguous run.


def _gather(x, positions, out_shape, value):
    rec = x._rec
    positions = np.asarray(positions, dtype=np.int64).ravel()
    n = positions.size
    if n > 0 and positions[-1] - positions[0] == n - 1 and (
            n == 1 or bool(np.all(np.diff(positions) == 1))):
        i = rec.push_alias(x._i, int(positions[0]), value if out_shape else _scalar_of(value))
    else:
        i = rec.push(OPCODES["gather"], x._i, -1, -1,
                     value if out_shape else _scalar_of(value), params=positions)
    return _wrap(rec, i, value if out_shape else _scalar_of(value), view=True)


def _scalar_of(v):
    v = np.asarray(v).reshape(())[()]
    return v.item()


def index_map(x, fn):
    """Apply a pure rearrangement ``fn`` (transpose, roll, tile, ...) to traced ``x``."""
    positions = fn(np.arange(x.size, dtype=np.int64).reshape(x.shape))
    value = fn(x._v if isinstance(x._v, np.ndarray) else np.asarray(x._v))
    value = np.array(value)
    return _gather(x, positions, value.shape, value)


def _concrete_key(key):
    """Indices with traced parts made concrete (and guarded)."""
    if isinstance(key, tuple):
        return tuple(_concrete_key(k) for k in key)
    if isinstance(key, Traced):
        v = key._v
        if isinstance(v, (bool, np.bool_)) or (isinstance(v, np.ndarray) and v.dtype == bool):
            _guard(key, np.asarray(v, dtype=np.float64) if isinstance(v, np.ndarray)
                   else float(v))
            return v
        if isinstance(v, np.ndarray):
            vals = np.asarray(v, dtype=np.float64)
            if not np.all(vals == np.floor(vals)):
                raise IndexError("numad: a traced index array must hold integers")
            _guard(key, vals)
            return vals.astype(np.int64)
        return key.__index__()
    if isinstance(key, list):
        return [_concrete_key(k) for k in key]
    return key


def getitem(x, key):
    if type(key) is not int:
        key = _concrete_key(key)
    v = x._v
    if not isinstance(v, np.ndarray):
        raise IndexError("invalid index to a traced scalar")
    shape = v.shape
    # fast paths: an integer on the first axis, a unit-step slice of a 1-D array
    if type(key) is int:
        n = shape[0] if shape else 0
        k = key + n if key < 0 else key
        if not 0 <= k < n:
            raise IndexError(f"index {key} is out of bounds for axis 0 with size {n}")
        rec = x._rec
        if len(shape) == 1:
            value = v.item(k)
            return Traced(rec, rec.push_alias(x._i, k, value), value)
        value = v[k].copy()
        return TracedView(rec, rec.push_alias(x._i, k * (v.size // n), value), value)
    if type(key) is slice and v.ndim == 1:
        start, stop, step = key.indices(shape[0])
        if step == 1:
            value = v[key].copy()
            n = value.size
            if n > 0:
                i = x._rec.push_alias(x._i, start, value)
                return TracedView(x._rec, i, value)
    value = np.array(v[key])
    positions = np.arange(v.size, dtype=np.int64).reshape(shape)[key]
    if value.size == 0:
        return _wrap(x._rec, x._rec.push(CONST, -1, -1, -1, value.astype(np.float64)), value)
    return _gather(x, positions, value.shape, value)


def setitem(x, key, value):
    if not isinstance(x, Traced) or not isinstance(x._v, np.ndarray):
        raise TypeError("numad: item assignment into a traced scalar")
    if type(x) is TracedView:
        raise TracingError(
            "numad: assigning into a slice or reshape of a traced array: NumPy would write "
            "through to the original array, which numad cannot record. Assign into the "
            "original array (x[i:j] = ...), or take a .copy() first")
    key = _concrete_key(key)
    rec = _recorder((x, value))
    positions = np.arange(x.size, dtype=np.int64).reshape(x.shape)[key]
    positions = np.asarray(positions).ravel()
    if np.unique(positions).size != positions.size:
        raise TracingError("numad: assignment to repeated indices (which one wins depends on "
                           "NumPy's order); use unique indices, or np.add.at to accumulate")
    new = np.array(x._v, dtype=np.float64)
    new[key] = _value(value)
    m = positions.size
    ve = _entry(rec, value)[0]
    vs = _size(value)
    if vs != m and vs != 1:
        target = np.shape(np.empty(x.shape)[key])
        ve = broadcast_to(_as_traced(rec, value, ve), target)._i
    i = rec.push(OPCODES["scatter_set"], x._i, ve, -1, new,
                 params=np.concatenate(([m], positions)))
    x._i = i
    x._v = new
    if type(x) is TracedVector:
        x._items = None


def scatter_add(x, key, value):
    """``np.add.at(x, key, value)`` on a traced ``x`` (repeated indices accumulate)."""
    key = _concrete_key(key)
    rec = _recorder((x, value))
    positions = np.asarray(np.arange(x.size, dtype=np.int64).reshape(x.shape)[key]).ravel()
    new = np.array(x._v, dtype=np.float64)
    np.add.at(new, key, _value(value))
    m = positions.size
    ve = _entry(rec, value)[0]
    if _size(value) not in (1, m):
        target = np.shape(np.empty(x.shape)[key])
        ve = broadcast_to(_as_traced(rec, value, ve), target)._i
    i = rec.push(OPCODES["scatter_add"], x._i, ve, -1, new,
                 params=np.concatenate(([m], positions)))
    return i, new


def reshape(x, shape, order="C"):
    if order != "C":
        raise TracingError("numad: reshape(order='F') is not supported; transpose instead")
    if not isinstance(x, Traced):
        return np.reshape(x, shape)
    v = x._v if isinstance(x._v, np.ndarray) else np.asarray(x._v)
    value = v.reshape(shape).copy()
    rec = x._rec
    i = rec.push_alias(x._i, 0, value if value.ndim else value.item())
    return _wrap(rec, i, value if value.ndim else value.item(), view=True)


def transpose(x, axes=None):
    if not isinstance(x, Traced):
        return np.transpose(x, axes)
    if not x.shape:
        return x
    return index_map(x, lambda a: np.transpose(a, axes))


def squeeze(x, axis=None):
    return reshape(x, np.squeeze(np.empty(x.shape, dtype=bool), axis).shape)


def expand_dims(x, axis):
    return reshape(x, np.expand_dims(np.empty(x.shape, dtype=bool), axis).shape)


def broadcast_to(x, shape):
    if not isinstance(x, Traced):
        return np.broadcast_to(x, shape)
    shape = tuple(shape)
    if x.shape == shape:
        return x
    if not x.shape:
        rec = x._rec
        positions = np.zeros(shape, dtype=np.int64)
        i = rec.push(OPCODES["gather"], x._i, -1, -1, np.full(shape, float(x._v)),
                     params=positions.ravel())
        return _wrap(rec, i, np.full(shape, float(x._v)), view=True)
    return index_map(x, lambda a: np.broadcast_to(a, shape))


def _copy(x):
    return elementwise("copy", x)


# ---------------------------------------------------------------------------------------
# Reductions


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim)
    return tuple(sorted(set(out)))


def _reduce(opname, np_fn, x, axis=None, keepdims=False, **kw):
    unsupported = {k: v for k, v in kw.items() if v is not None and k not in ("dtype", "out")}
    if kw.get("out") is not None or unsupported:
        raise TracingError(f"numad: {np_fn.__name__} with {sorted(kw)} is not supported "
                           "while tracing")
    if not isinstance(x, Traced):
        return np_fn(x, axis=axis, keepdims=keepdims)
    shape = x.shape
    v = x._v if isinstance(x._v, np.ndarray) else np.asarray(x._v, dtype=np.float64)
    value = np_fn(v.astype(np.float64) if v.dtype == bool else v, axis=axis, keepdims=keepdims)
    axes = _axes(axis, len(shape))
    if not shape or not axes:
        return _copy(x) if not keepdims or not shape else reshape(x, np.shape(value))
    rest = [d for d in range(len(shape)) if d not in axes]
    src = x
    if list(axes) != list(range(axes[0], axes[-1] + 1)):
        src = transpose(x, rest + list(axes))
        pre = int(np.prod([shape[d] for d in rest], dtype=np.int64))
        n = int(np.prod([shape[d] for d in axes], dtype=np.int64))
        post = 1
    else:
        pre = int(np.prod(shape[:axes[0]], dtype=np.int64))
        n = int(np.prod(shape[axes[0]:axes[-1] + 1], dtype=np.int64))
        post = int(np.prod(shape[axes[-1] + 1:], dtype=np.int64))
    rec = x._rec
    out = np.asarray(value, dtype=np.float64)
    out = out if out.ndim else out[()].item()
    i = rec.push(OPCODES[opname], src._i, -1, -1, out, params=(pre, n, post))
    return _wrap(rec, i, out)


def reduce_sum(x, axis=None, keepdims=False, **kw):
    return _reduce("sum", np.sum, x, axis, keepdims, **kw)


def reduce_prod(x, axis=None, keepdims=False, **kw):
    return _reduce("prod", np.prod, x, axis, keepdims, **kw)


def reduce_max(x, axis=None, keepdims=False, **kw):
    return _reduce("amax", np.max, x, axis, keepdims, **kw)


def reduce_min(x, axis=None, keepdims=False, **kw):
    return _reduce("amin", np.min, x, axis, keepdims, **kw)


def _count(x, axis):
    shape = _shape(x)
    return int(np.prod([shape[d] for d in _axes(axis, len(shape))], dtype=np.int64))


def mean(x, axis=None, dtype=None, out=None, keepdims=False, **kw):
    if out is not None:
        raise TracingError("numad: np.mean(..., out=...) is not supported while tracing")
    return reduce_sum(x, axis, keepdims) / float(_count(x, axis))


def var(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    m = mean(x, axis, keepdims=True)
    d = x - m
    return reduce_sum(d * d, axis, keepdims) / float(_count(x, axis) - ddof)


def _root_of_squares(s):
    """sqrt(s) for a sum of squares ``s`` (std, the 2-norm), with derivative 0 where
    s = 0. Such a root is a norm, which is not differentiable at 0; 0 is its smallest
    subgradient, the convention of abs'(0) = 0 (std of two entries is |x1 - x2| / 2).
    Where the norm is identically 0 (std over an axis of length 1) 0 is its exact
    derivative. A plain sqrt would give inf * 0 = nan there. A nan s stays nan."""
    zero = elementwise("equal", s, 0.0)
    return where(zero, 0.0, elementwise("sqrt", where(zero, 1.0, s)))


def std(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    """np.std; its derivative is 0 where all the entries are equal (see
    _root_of_squares)."""
    if not isinstance(x, Traced):
        return np.std(x, axis=axis, ddof=ddof, keepdims=keepdims)
    return _root_of_squares(var(x, axis, ddof=ddof, keepdims=keepdims))


def logical_reduce(x, kind, axis=None, keepdims=False):
    m = elementwise("not_equal", x, 0.0)
    return (reduce_min if kind == "all" else reduce_max)(m, axis, keepdims) > 0.5


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed stably; its gradient is the softmax, exactly."""
    m = reduce_max(x, axis, keepdims=True)
    m = elementwise("stop_gradient", where(elementwise("isfinite", m), m, 0.0))
    s = reduce_sum(elementwise("exp", x - m), axis, keepdims=True)
    out = elementwise("log", s) + m
    if not keepdims:
        out = reshape(out, np.shape(np.sum(np.empty(_shape(x)), axis=axis)))
    return out


def cumulative(opname, x, axis=None):
    if not isinstance(x, Traced):
        return getattr(np, opname)(x, axis=axis)
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    shape = x.shape
    if not shape:
        x = reshape(x, (1,))
        shape = (1,)
    axis = _axes(axis, len(shape))[0]
    value = getattr(np, opname)(x._v, axis=axis)
    pre = int(np.prod(shape[:axis], dtype=np.int64))
    post = int(np.prod(shape[axis + 1:], dtype=np.int64))
    i = x._rec.push(OPCODES[opname], x._i, -1, -1, value, params=(pre, shape[axis], post))
    return _wrap(x._rec, i, value)


def sort(x, axis=-1, kind=None, order=None):
    if not isinstance(x, Traced):
        return np.sort(x, axis=axis)
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    shape = x.shape
    axis = _axes(axis, len(shape))[0]
    value = np.sort(x._v, axis=axis, kind="stable")
    pre = int(np.prod(shape[:axis], dtype=np.int64))
    post = int(np.prod(shape[axis + 1:], dtype=np.int64))
    rec = x._rec
    i = rec.push(OPCODES["sort"], x._i, -1, -1, value, params=(pre, shape[axis], post))
    rec.aux_sizes[i] = value.size
    return _wrap(rec, i, value)


def median(x, axis=None, keepdims=False, **kw):
    s = sort(x, axis=-1 if axis is not None else None) if axis is None else sort(x, axis=axis)
    if axis is None:
        n = s.shape[0]
        mid = (s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) * 0.5)
        return reshape(mid, (1,) * len(_shape(x))) if keepdims else mid
    ax = _axes(axis, len(_shape(x)))[0]
    n = s.shape[ax]
    take = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
    picked = index_map(s, lambda a: np.take(a, take, axis=ax))
    return mean(picked, axis=ax, keepdims=keepdims)


# ---------------------------------------------------------------------------------------
# Products


def matmul(a, b):
    rec = _recorder((a, b))
    av, bv = _value(a), _value(b)
    value = np.matmul(av, bv)
    if rec is None:
        return value
    A = _as_traced(rec, a)
    B = _as_traced(rec, b)
    if A.ndim == 0 or B.ndim == 0:
        raise ValueError("matmul: input operand does not have enough dimensions")
    if A.ndim == 1:
        A = reshape(A, (1, A.shape[0]))
    if B.ndim == 1:
        B = reshape(B, (B.shape[0], 1))
    m, k = A.shape[-2:]
    k2, n = B.shape[-2:]
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    nb = int(np.prod(batch, dtype=np.int64))
    ba = bb = 1
    if A.shape[:-2] != batch:
        if A.ndim == 2:
            ba = 0
        else:
            A = broadcast_to(A, batch + (m, k))
    if B.shape[:-2] != batch:
        if B.ndim == 2:
            bb = 0
        else:
            B = broadcast_to(B, batch + (k2, n))
    full = np.asarray(np.matmul(A._v, B._v), dtype=np.float64)
    i = rec.push(OPCODES["matmul"], A._i, B._i, -1, full if full.size > 1 or full.ndim else full,
                 params=(nb, m, k, n, ba, bb))
    out = _wrap(rec, i, full)
    value = np.asarray(value, dtype=np.float64)
    if value.shape != full.shape:
        out = reshape(out, value.shape)
    return out


def dot(a, b, out=None):
    if out is not None:
        raise TracingError("numad: np.dot(..., out=...) is not supported while tracing")
    na, nb = np.ndim(_value(a)), np.ndim(_value(b))
    if na == 0 or nb == 0:
        return elementwise("mul", a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 2 if nb >= 2 else 0]))


def vdot(a, b):
    return reduce_sum(elementwise("mul", ravel(a), ravel(b)))


def inner(a, b):
    if np.ndim(_value(a)) == 0 or np.ndim(_value(b)) == 0:
        return elementwise("mul", a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def outer(a, b, out=None):
    return elementwise("mul", reshape_any(ravel(a), (-1, 1)), reshape_any(ravel(b), (1, -1)))


def ravel(x, order="C"):
    return reshape(x, (-1,)) if isinstance(x, Traced) else np.ravel(x)


def reshape_any(x, shape):
    return reshape(x, shape) if isinstance(x, Traced) else np.reshape(x, shape)


def tensordot(a, b, axes=2):
    sa, sb = _shape(a), _shape(b)
    if isinstance(axes, (int, np.integer)):
        axes_a = list(range(len(sa) - axes, len(sa)))
        axes_b = list(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
        axes_a = [x % len(sa) for x in axes_a]
        axes_b = [x % len(sb) for x in axes_b]
    free_a = [d for d in range(len(sa)) if d not in axes_a]
    free_b = [d for d in range(len(sb)) if d not in axes_b]
    K = int(np.prod([sa[d] for d in axes_a], dtype=np.int64))
    Ma = int(np.prod([sa[d] for d in free_a], dtype=np.int64))
    Nb = int(np.prod([sb[d] for d in free_b], dtype=np.int64))
    A = _transpose_any(a, free_a + axes_a)
    B = _transpose_any(b, axes_b + free_b)
    out = matmul(reshape_any(A, (Ma, K)), reshape_any(B, (K, Nb)))
    return reshape_any(out, tuple(sa[d] for d in free_a) + tuple(sb[d] for d in free_b))


def _transpose_any(x, perm):
    if list(perm) == list(range(len(perm))):
        return x
    return transpose(x, perm) if isinstance(x, Traced) else np.transpose(x, perm)


def einsum(subscripts, *operands, **kw):
    """Einstein summation by broadcasting products and sums (exact, not the fastest)."""
    if kw.get("out") is not None:
        raise TracingError("numad: np.einsum(..., out=...) is not supported while tracing")
    if not isinstance(subscripts, str):
        subscripts, operands = _einsum_sublists((subscripts,) + operands)
    spec = subscripts.replace(" ", "")
    if "..." in spec:
        raise TracingError("numad: np.einsum with '...' is not supported while tracing; "
                           "spell the axes out")
    if "->" in spec:
        ins, out = spec.split("->")
    else:
        ins = spec
        letters = [c for c in ins.replace(",", "")]
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    terms = ins.split(",")
    if len(terms) != len(operands):
        raise ValueError("einsum: the number of subscripts differs from the operands")
    labels = sorted(set("".join(terms)))
    dims = {}
    prepared = []
    for term, op in zip(terms, operands):
        shape = _shape(op)
        if len(term) != len(shape):
            raise ValueError(f"einsum: '{term}' does not match an operand of shape {shape}")
        if len(set(term)) != len(term):
            # a repeated label takes a diagonal
            op, term = _einsum_diagonal(op, term)
            shape = _shape(op)
        for c, s in zip(term, shape):
            dims[c] = s
        order = sorted(range(len(term)), key=lambda d: labels.index(term[d]))
        op = _transpose_any(op, order)
        full = tuple(dims[c] if c in term else 1 for c in labels)
        prepared.append(reshape_any(op, full))
    prod = prepared[0]
    for op in prepared[1:]:
        prod = elementwise("mul", prod, op)
    summed = tuple(d for d, c in enumerate(labels) if c not in out)
    if summed:
        prod = reduce_sum(prod, axis=summed) if isinstance(prod, Traced) else np.sum(prod, summed)
    kept = [c for c in labels if c in out]
    return _transpose_any(prod, [kept.index(c) for c in out])


def _einsum_sublists(args):
    """NumPy's sublist form, einsum(a, [0, 1], b, [1, 2][, [0, 2]]), as subscripts."""
    import string

    def letters(sub):
        out = []
        for k in sub:
            if k is Ellipsis:
                out.append("...")
            elif isinstance(k, (int, np.integer)) and 0 <= k < 52:
                out.append(string.ascii_letters[int(k)])
            else:
                raise ValueError("einsum: subscripts in the sublist form must be integers "
                                 "in [0, 52) or Ellipsis")
        return "".join(out)

    args = list(args)
    out = letters(args.pop()) if len(args) % 2 == 1 else None
    operands = tuple(args[0::2])
    spec = ",".join(letters(sub) for sub in args[1::2])
    return (spec if out is None else spec + "->" + out), operands


def _einsum_diagonal(op, term):
    while len(set(term)) != len(term):
        for d1 in range(len(term)):
            d2 = term.find(term[d1], d1 + 1)
            if d2 > 0:
                break
        op = index_map(op, lambda a, d1=d1, d2=d2: np.moveaxis(
            np.diagonal(a, axis1=d1, axis2=d2), -1, d1)) if isinstance(op, Traced) else \
            np.moveaxis(np.diagonal(op, axis1=d1, axis2=d2), -1, d1)
        term = term[:d2] + term[d2 + 1:]
    return op, term


# ---------------------------------------------------------------------------------------
# Joining


def concatenate(arrays, axis=0, out=None, **kw):
    if out is not None:
        raise TracingError("numad: np.concatenate(..., out=...) is not supported while tracing")
    arrays = list(arrays)
    rec = _recorder(arrays)
    values = [_value(a) for a in arrays]
    if axis is None:
        return concatenate([ravel(a) for a in arrays], axis=0)
    value = np.concatenate([np.asarray(v, dtype=np.float64) for v in values], axis=axis)
    if rec is None:
        return value
    nd_ = value.ndim
    ax = axis % nd_
    pre = int(np.prod(value.shape[:ax], dtype=np.int64))
    post = int(np.prod(value.shape[ax + 1:], dtype=np.int64))
    params = [pre, post, len(arrays)]
    for a, v in zip(arrays, values):
        params += [_entry(rec, a)[0], np.shape(v)[ax]]
    i = rec.push(OPCODES["concat"], -1, -1, -1, value, params=params)
    return _wrap(rec, i, value)


def stack(arrays, axis=0, out=None, **kw):
    arrays = list(arrays)
    if not arrays:
        raise ValueError("need at least one array to stack")
    shape = np.shape(_value(arrays[0]))
    nd_ = len(shape) + 1
    ax = axis % nd_
    expanded = [expand_dims(a, ax) if isinstance(a, Traced)
                else np.expand_dims(np.asarray(a, dtype=np.float64), ax) for a in arrays]
    return concatenate(expanded, axis=ax, out=out)


def hstack(tup, **kw):
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, axis=0 if np.ndim(_value(arrs[0])) == 1 else 1)


def vstack(tup, **kw):
    return concatenate([atleast_2d(a) for a in tup], axis=0)


def column_stack(tup):
    arrs = []
    for a in tup:
        if np.ndim(_value(a)) < 2:
            a = reshape_any(a, (-1, 1))
        arrs.append(a)
    return concatenate(arrs, axis=1)


def atleast_1d(x):
    return reshape_any(x, (1,)) if np.ndim(_value(x)) == 0 else x


def atleast_2d(x):
    n = np.ndim(_value(x))
    if n == 0:
        return reshape_any(x, (1, 1))
    if n == 1:
        return reshape_any(x, (1, -1))
    return x


# ---------------------------------------------------------------------------------------
# Linear algebra


def _square(x, name):
    s = _shape(x)
    if len(s) != 2 or s[0] != s[1]:
        raise TracingError(f"numad: {name} of a traced array of shape {s}: numad supports "
                           "single square matrices (no batches)")
    return s[0]


def solve(a, b):
    rec = _recorder((a, b))
    value = np.linalg.solve(_value(a), _value(b))
    if rec is None:
        return value
    n = _square(a, "np.linalg.solve")
    bshape = _shape(b)
    if len(bshape) not in (1, 2):
        raise TracingError("numad: np.linalg.solve with a batched right-hand side")
    k = 1 if len(bshape) == 1 else bshape[1]
    A = _as_traced(rec, a)
    B = _as_traced(rec, b)
    B2 = reshape(B, (n, k))
    full = np.asarray(value, dtype=np.float64).reshape(n, k)
    i = rec.push(OPCODES["solve"], A._i, B2._i, -1, full, params=(n, k))
    out = _wrap(rec, i, full)
    return reshape(out, value.shape) if value.shape != full.shape else out


def inv(a):
    if not isinstance(a, Traced):
        return np.linalg.inv(a)
    n = _square(a, "np.linalg.inv")
    value = np.linalg.inv(a._v)
    i = a._rec.push(OPCODES["inv"], a._i, -1, -1, value, params=(n,))
    return _wrap(a._rec, i, value)


def slogdet(a):
    if not isinstance(a, Traced):
        return np.linalg.slogdet(a)
    n = _square(a, "np.linalg.slogdet")
    sign, logabs = np.linalg.slogdet(a._v)
    rec = a._rec
    both = np.array([sign, logabs], dtype=np.float64)
    i = rec.push(OPCODES["slogdet"], a._i, -1, -1, both, params=(n,))
    whole = _wrap(rec, i, both)
    return getitem(whole, 0), getitem(whole, 1)


def det(a):
    """det A, with the cofactor matrix as its derivative at every A: singular ones too,
    where sign * exp(logabsdet) of slogdet would give 0 (or nan)."""
    if not isinstance(a, Traced):
        return np.linalg.det(a)
    n = _square(a, "np.linalg.det")
    if n == 1:
        return reshape(a, ())
    rec = a._rec
    i = rec.push(OPCODES["det"], a._i, -1, -1, float(np.linalg.det(a._v)), params=(n,))
    return _wrap(rec, i, float(np.linalg.det(a._v)))


def cholesky(a, upper=False):
    """The Cholesky factor of the symmetric matrix the lower triangle of ``a`` gives
    (``upper=True``: the upper factor, of the matrix the upper triangle gives), as
    NumPy's: the derivative is zero on the triangle it does not read."""
    if not isinstance(a, Traced):
        return np.linalg.cholesky(a, upper=upper) if upper else np.linalg.cholesky(a)
    if upper:
        # U = L^T for the lower factor L of a^T, whose lower triangle is a's upper one
        return transpose(cholesky(transpose(a)))
    n = _square(a, "np.linalg.cholesky")
    value = np.linalg.cholesky(a._v)
    i = a._rec.push(OPCODES["cholesky"], a._i, -1, -1, value, params=(n,))
    return _wrap(a._rec, i, value)


def norm(x, ord=None, axis=None, keepdims=False):
    if not isinstance(x, Traced):
        return np.linalg.norm(x, ord, axis, keepdims)
    nd_ = x.ndim
    if axis is None and (ord is None or ord == "fro" or (nd_ == 1 and ord == 2)):
        return _root_of_squares(reduce_sum(x * x, None, keepdims))
    if (axis is None and nd_ == 1) or isinstance(axis, (int, np.integer)):
        ax = 0 if axis is None else axis
        a = elementwise("abs", x)
        if ord is None or ord == 2:
            return _root_of_squares(reduce_sum(x * x, ax, keepdims))
        if ord == np.inf:
            return reduce_max(a, ax, keepdims)
        if ord == -np.inf:
            return reduce_min(a, ax, keepdims)
        if ord == 1:
            return reduce_sum(a, ax, keepdims)
        if ord == 0:
            return reduce_sum(elementwise("not_equal", x, 0.0), ax, keepdims)
        # (sum |x|^p)^(1/p): at x = 0 it is a norm's kink (derivative 0, as above)
        total = reduce_sum(elementwise("pow", a, float(ord)), ax, keepdims)
        if ord < 0:
            return elementwise("pow", total, 1.0 / ord)
        zero = elementwise("equal", total, 0.0)
        return where(zero, 0.0, elementwise("pow", where(zero, 1.0, total), 1.0 / ord))
    raise TracingError(f"numad: np.linalg.norm with ord={ord!r}, axis={axis!r} (a matrix "
                       "norm other than 'fro') is not supported while tracing")


EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of the symmetric matrix that the lower
    (``UPLO="L"``) or upper triangle of ``a`` gives, as NumPy's (the same eigenvector
    signs). Only that triangle is read, so the derivative is zero on the other one.

    Where the eigenvalues are distinct the derivative is exact. At a repeated eigenvalue
    (within a relative ``EIGH_TIE_RTOL`` of numad/kernels.py) the eigenvectors of its
    eigenspace are not unique and not differentiable; numad then drops the coupling of
    the tied pairs (the gap factor 1 / (w_j - w_i) is taken as 0). That gives the exact
    derivative of every function that is differentiable there: a symmetric function of
    the eigenvalues, or of the eigenvectors one invariant under rotations inside the
    eigenspace (a projector V_k V_k^T). For any other function of degenerate eigenvectors
    the result is finite but is not a derivative (there is none). Second derivatives at
    a repeated eigenvalue miss the within-eigenspace terms.
    """
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    if not isinstance(a, Traced):
        return np.linalg.eigh(a, UPLO)
    n = _square(a, "np.linalg.eigh")
    w, V = np.linalg.eigh(a._v, UPLO)
    rec = a._rec
    both = np.concatenate([w, V.ravel()])
    i = rec.push(OPCODES["eigh"], a._i, -1, -1, both, params=(n, int(UPLO == "U")))
    whole = _wrap(rec, i, both)
    values = _gather(whole, np.arange(n), (n,), w.copy())
    vectors = _gather(whole, n + np.arange(n * n), (n, n), V.copy())
    return EighResult(values, vectors)


def eigvalsh(a, UPLO="L"):
    """Eigenvalues of the symmetric matrix one triangle of ``a`` gives (see eigh)."""
    return eigh(a, UPLO)[0] if isinstance(a, Traced) else np.linalg.eigvalsh(a, UPLO)


# ---------------------------------------------------------------------------------------
# More NumPy


def clip(x, a_min=None, a_max=None, out=None, **kw):
    """Clip with zero derivative at and beyond the bounds (the kink takes 0)."""
    if out is not None:
        raise TracingError("numad: np.clip(..., out=...) is not supported while tracing")
    y = x
    if a_min is not None:
        y = where(elementwise("less_equal", x, a_min), a_min, y)
    if a_max is not None:
        y = where(elementwise("greater_equal", x, a_max), a_max, y)
    if y is x:
        return _copy(x)
    return y


def diff(x, n=1, axis=-1, prepend=None, append=None):
    if prepend is not None or append is not None:
        parts = ([prepend] if prepend is not None else []) + [x] + \
                ([append] if append is not None else [])
        x = concatenate([broadcast_to_axis(p, x, axis) for p in parts], axis=axis)
    for _ in range(n):
        ax = axis % len(_shape(x))
        m = _shape(x)[ax]
        hi = index_map(x, lambda a: np.take(a, np.arange(1, m), axis=ax))
        lo = index_map(x, lambda a: np.take(a, np.arange(0, m - 1), axis=ax))
        x = hi - lo
    return x


def broadcast_to_axis(p, x, axis):
    if p is x:
        return x
    shape = list(_shape(x))
    if np.ndim(_value(p)) == 0:
        shape[axis % len(shape)] = 1
        return np.full(shape, float(p)) if not isinstance(p, Traced) else \
            broadcast_to(p, tuple(shape))
    return p


def pad(x, pad_width, mode="constant", **kw):
    idx = np.arange(x.size, dtype=np.int64).reshape(x.shape)
    if mode == "constant":
        cval = kw.get("constant_values", 0)
        if np.ndim(cval) != 0:
            raise TracingError("numad: np.pad with per-axis constant_values")
        marks = np.pad(idx, pad_width, mode="constant", constant_values=-1)
        base = np.full(marks.shape, float(cval))
        inside = marks >= 0
        b = _as_traced(x._rec, base)
        rec = x._rec
        pos = np.nonzero(inside.ravel())[0]
        new = np.where(inside, np.pad(np.asarray(x._v, dtype=np.float64), pad_width), base)
        src = x if x.ndim else reshape(x, (1,))
        i = rec.push(OPCODES["scatter_set"], b._i, ravel(src)._i, -1, new,
                     params=np.concatenate(([pos.size], pos)))
        return _wrap(rec, i, new)
    if mode in ("edge", "reflect", "symmetric", "wrap"):
        return index_map(x, lambda a: np.pad(a, pad_width, mode=mode))
    raise TracingError(f"numad: np.pad(mode={mode!r}) is not supported while tracing")


def around(x, decimals=0, out=None):
    if decimals == 0:
        return elementwise("round", x)
    scale = 10.0 ** decimals
    return elementwise("round", x * scale) / scale


def diag(v, k=0):
    s = _shape(v)
    if len(s) == 1:
        n = s[0] + abs(k)
        rec = v._rec
        base = _as_traced(rec, np.zeros((n, n)))
        rows = np.arange(s[0]) + max(-k, 0)
        cols = np.arange(s[0]) + max(k, 0)
        pos = rows * n + cols
        new = np.diag(v._v, k)
        i = rec.push(OPCODES["scatter_set"], base._i, v._i, -1, new,
                     params=np.concatenate(([pos.size], pos)))
        return _wrap(rec, i, new)
    return index_map(v, lambda a: np.diagonal(a, k).copy())


def trace_(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return reduce_sum(index_map(a, lambda m: np.diagonal(m, offset, axis1, axis2).copy()), -1)


def like(kind):
    """np.zeros_like and friends of a traced array: a constant of its shape (a traced
    prototype gives only its shape; a non-float dtype gives NumPy's own answer)."""
    def make(a, fill_value=None, dtype=None, shape=None):
        proto = np.empty(_shape(a))
        extra = (fill_value,) if kind == "full_like" else ()
        if dtype is not None and np.dtype(dtype).kind != "f":
            return getattr(np, kind)(proto, *extra, dtype=dtype, shape=shape)
        base = getattr(np, kind)(proto, *extra, shape=shape)
        if kind == "empty_like":
            base[...] = 0.0
        rec = a._rec
        i = rec.push(CONST, -1, -1, -1, base.astype(np.float64) if base.ndim else float(base))
        return _wrap(rec, i, base.astype(np.float64) if base.ndim else float(base))
    if kind == "full_like":
        return make
    return lambda a, dtype=None, shape=None: make(a, None, dtype, shape)


def _shape_fn(a):
    return _shape(a)


def argm(kind):
    np_fn = getattr(np, kind)

    def fn(a, axis=None, **kw):
        if axis is not None:
            raise TracingError(f"numad: np.{kind} with an axis is not supported while tracing")
        k = int(np_fn(a._v))
        # the answer is a branch decision: guard that entry k is still the extreme
        flat = ravel(a)
        ext = (reduce_max if kind == "argmax" else reduce_min)(flat)
        _ = bool(elementwise("equal", getitem(flat, k), ext))
        return k
    return fn


def _unsupported(name, hint):
    def fn(*a, **k):
        raise TracingError(f"numad cannot trace {name}: {hint}")
    return fn


# ---------------------------------------------------------------------------------------
# NumPy dispatch tables

# ufunc -> the op-table row it records: the rows' ``ufuncs`` column (numad/optable.py).
UFUNCS = dict(UFUNC_ROWS)

_REDUCE_METHODS = {np.add: reduce_sum, np.multiply: reduce_prod, np.maximum: reduce_max,
                   np.minimum: reduce_min, np.fmax: reduce_max, np.fmin: reduce_min}
_ACCUMULATE_METHODS = {np.add: "cumsum", np.multiply: "cumprod"}
# ufuncs that record as several rows: the compositions shared with Dual
# (numad/compositions.py), run on recording operations; and the gufunc np.matmul.
_TRACED_OPS = Ops(row=elementwise, where=where)
_COMPOSITE_UFUNCS = {ufunc: (lambda fn: lambda *xs: fn(_TRACED_OPS, *xs))(fn)
                     for ufunc, fn in COMPOSITIONS.items()}
_COMPOSITE_UFUNCS[np.matmul] = matmul


def _ufunc_name(ufunc):
    """The ufunc as the user wrote it: np.sin, scipy.special.psi."""
    name = ufunc.__name__
    if getattr(np, name, None) is ufunc:
        return f"np.{name}"
    try:
        import scipy.special as sps
    except ImportError:  # pragma: no cover - scipy is a dependency
        sps = None
    if sps is not None:
        if getattr(sps, name, None) is ufunc:
            return f"scipy.special.{name}"
        for attr in dir(sps):
            if getattr(sps, attr, None) is ufunc:
                return f"scipy.special.{attr}"
    return f"the ufunc {name}"


def array_ufunc(ufunc, method, inputs, kwargs):
    out = kwargs.pop("out", None)
    if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
        raise TracingError(f"numad cannot trace {_ufunc_name(ufunc)}(..., out=...): writing "
                           "into an existing array; use the returned value instead")
    if method == "__call__":
        if kwargs:
            extra = {k: v for k, v in kwargs.items() if not _is_neutral(k, v, None)}
            if extra:
                raise TracingError(f"numad cannot trace {_ufunc_name(ufunc)} with "
                                   f"{sorted(extra)} while tracing; leave them out")
        name = UFUNCS.get(ufunc)
        if name is not None:
            if name == "pow" and len(inputs) == 2 and not isinstance(inputs[1], Traced) \
                    and np.ndim(inputs[1]) == 0 and float(inputs[1]) == 2.0:
                return elementwise("square", inputs[0])
            return elementwise(name, *inputs)
        comp = _COMPOSITE_UFUNCS.get(ufunc)
        if comp is not None:
            return comp(*inputs)
    elif method == "reduce" and ufunc in _REDUCE_METHODS:
        axis = kwargs.get("axis", 0)
        return _REDUCE_METHODS[ufunc](inputs[0], axis, kwargs.get("keepdims", False))
    elif method == "accumulate" and ufunc in _ACCUMULATE_METHODS:
        return cumulative(_ACCUMULATE_METHODS[ufunc], inputs[0], kwargs.get("axis", 0))
    elif method == "at" and ufunc is np.add:
        x, key = inputs[0], inputs[1]
        value = inputs[2] if len(inputs) > 2 else 1.0
        if not isinstance(x, Traced):
            raise TracingError("numad: np.add.at into a NumPy array of traced values; "
                               "start from np.zeros_like(x) of a traced x")
        if type(x) is TracedView:
            raise TracingError("numad: np.add.at into a view of a traced array; use the "
                               "original array")
        i, new = scatter_add(x, key, value)
        x._i, x._v = i, new
        if type(x) is TracedVector:
            x._items = None
        return None
    elif method == "outer" and (ufunc in UFUNCS or ufunc in COMPOSITIONS) and ufunc.nin == 2:
        a, b = inputs
        na = np.ndim(_value(a))
        call = (lambda *xs: elementwise(UFUNCS[ufunc], *xs)) if ufunc in UFUNCS else \
            _COMPOSITE_UFUNCS[ufunc]
        return call(reshape_any(a, _shape(a) + (1,) * np.ndim(_value(b))), b) if na else \
            call(a, b)
    raise TracingError(
        f"numad cannot trace {_ufunc_name(ufunc)}" + ("" if method == "__call__" else
                                                        f".{method}") +
        ": it has no derivative rule in numad. Write it with the functions numad knows "
        "(see API.md, 'Elementary functions'), or give it a rule with nd.primitive(name, "
        "fn, vjp=..., jvp=...)")


# ---- NumPy functions with NumPy's signatures ------------------------------------------------
#
# Each row of FUNCTIONS names the NumPy function, the numad handler, and the NumPy
# parameters the handler takes, in the handler's positional order ("*name" for NumPy's
# *args, "**name" for its **kwargs). A call binds its arguments with NumPy's own
# signature, so every positional or keyword spelling NumPy accepts means the same here;
# a parameter the handler does not take must keep a neutral value (its default), or the
# call is refused with a TracingError naming the function and the parameter.

# Values of parameters numad does not take that change nothing about the result.
_NEUTRAL = {"where": (True,), "order": ("K", "C", "A", None), "subok": (True, False),
            "casting": ("same_kind", "unsafe", "safe", "equiv", "no"),
            "overwrite_input": (False, True), "optimize": (False, True, "greedy", "optimal"),
            "copy": (None, True, False), "device": (None, "cpu"), "signature": (None,),
            "stable": (None, True, False)}  # (numad's sort is always stable)
_NOVALUE = getattr(np, "_NoValue", object())


def _is_neutral(name, value, default):
    if value is default or value is _NOVALUE or (value is None and default is _NOVALUE):
        return True
    if name == "dtype":
        return value is None or np.dtype(value).kind == "f"
    try:
        return value in _NEUTRAL.get(name, ())
    except (TypeError, ValueError):  # an array compared with the tuple
        return False


def _numpy_function(np_fn, handler, takes):
    """``handler`` behind ``np_fn``'s signature (see the comment above)."""
    import functools
    import inspect

    name = _qualname(np_fn)
    takes = tuple(takes.split())
    try:
        sig = inspect.signature(np_fn)
    except (TypeError, ValueError):  # a C function without a signature: positional only
        sig = None
    if sig is None:
        return handler
    params = sig.parameters
    plain = [t for t in takes if not t.startswith("*")]
    unknown = [t.lstrip("*") for t in takes if t.lstrip("*") not in params]
    if unknown:
        raise AssertionError(f"{name} has no parameter {unknown}")
    # how many leading positional arguments go to the handler unchanged
    order = [p.name for p in params.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    direct = 0
    while direct < min(len(order), len(takes)) and order[direct] == takes[direct]:
        direct += 1
    if takes and takes[0].startswith("*") and not takes[0].startswith("**"):
        direct = -1  # *args first: any number of positional arguments go straight on
    defaults = {n: (None if p.default is _NOVALUE or p.default is p.empty else p.default)
                for n, p in params.items()}
    defaults.update({n: False for n in ("keepdims",) if n in params})

    @functools.wraps(np_fn)
    def call(*args, **kwargs):
        if not kwargs and (direct < 0 or len(args) <= direct):
            return handler(*args)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as exc:
            # NumPy's C functions take some parameters their text signature calls
            # positional-only by keyword too (np.empty_like(prototype=x)): so do we
            args2, kw2 = list(args), dict(kwargs)
            for pname in [n for n, p in params.items() if p.kind is p.POSITIONAL_ONLY][
                    len(args):]:
                if pname not in kw2:
                    break
                args2.append(kw2.pop(pname))
            try:
                bound = sig.bind(*args2, **kw2)
            except TypeError:
                raise TypeError(f"{name}(): {exc}") from None
        got = bound.arguments
        for pname, value in got.items():
            if pname in takes or "*" + pname in takes or "**" + pname in takes:
                continue
            p = params[pname]
            if p.kind is p.VAR_KEYWORD:
                extra = sorted(value)
                if extra:
                    raise TracingError(f"numad cannot trace {name} with {extra} while "
                                       "tracing; leave them out")
                continue
            if not _is_neutral(pname, value, p.default):
                remedy = ("use the returned value instead of writing into an array"
                          if pname == "out" else "leave it at its default")
                raise TracingError(f"numad cannot trace {name}(..., {pname}={value!r}): "
                                   f"numad does not support {pname!r} while tracing; "
                                   f"{remedy}")
        pos, kw = [], {}
        for t in takes:
            if t.startswith("**"):
                kw.update(got.get(t[2:], {}))
            elif t.startswith("*"):
                pos.extend(got.get(t[1:], ()))
            else:
                v = got.get(t, defaults[t])
                pos.append(defaults[t] if v is _NOVALUE else v)
        return handler(*pos, **kw)

    call.__signature__ = sig
    call.numad_takes = plain
    return call


def _mean(a, axis=None, keepdims=False):
    return mean(a, axis, keepdims=keepdims)


def _var(a, axis=None, ddof=0, keepdims=False, correction=None):
    return var(a, axis, ddof=ddof if correction is None else correction, keepdims=keepdims)


def _std(a, axis=None, ddof=0, keepdims=False, correction=None):
    return std(a, axis, ddof=ddof if correction is None else correction, keepdims=keepdims)


def _cumsum(a, axis=None):
    return cumulative("cumsum", a, axis)


def _cumprod(a, axis=None):
    return cumulative("cumprod", a, axis)


def _reshape(a, shape, order="C"):
    return reshape_any(a, shape) if order in ("C", None) else reshape(a, shape, order)


def _swapaxes(a, axis1, axis2):
    return index_map(a, lambda m: np.swapaxes(m, axis1, axis2))


def _moveaxis(a, source, destination):
    return index_map(a, lambda m: np.moveaxis(m, source, destination))


def _atleast(fn):
    def each(*arys):
        return fn(arys[0]) if len(arys) == 1 else tuple(fn(x) for x in arys)
    return each


def _where(condition, x=None, y=None):
    if x is None and y is None:
        raise TracingError("numad cannot trace np.where(condition): its answer is a set of "
                           "indices; use np.where(condition, x, y), or np.nonzero of a "
                           "constant mask")
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    return where(condition, x, y)


def _roll(a, shift, axis=None):
    return index_map(a, lambda m: np.roll(m, shift, axis))


def _tile(A, reps):
    return index_map(A, lambda m: np.tile(m, reps))


def _repeat(a, repeats, axis=None):
    return index_map(a, lambda m: np.repeat(m, repeats, axis))


def _flip(m, axis=None):
    return index_map(m, lambda v: np.flip(v, axis))


def _diagonal(a, offset=0, axis1=0, axis2=1):
    return index_map(a, lambda m: np.diagonal(m, offset, axis1, axis2).copy())


def _size_fn(a, axis=None):
    return _size(a) if axis is None else _shape(a)[axis]


def _clip(a, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 - NumPy's names
    return clip(a, a_min if a_min is not None else min, a_max if a_max is not None else max)


def _count_nonzero(a, axis=None, keepdims=False):
    """The number of nonzero entries, as a traced value with zero derivative (a mask
    summed): it may be used in arithmetic, or as an int (a recorded branch decision)."""
    return reduce_sum(elementwise("not_equal", a, 0.0), axis, keepdims)


def _broadcast_to(array, shape):
    return broadcast_to(array, shape)


def _pad(array, pad_width, mode="constant", **kwargs):
    return pad(array, pad_width, mode, **kwargs)


def _einsum(*operands):
    return einsum(*operands)


def _interp(*a, **k):
    raise TracingError("numad cannot trace np.interp: piecewise-linear interpolation has no "
                       "rule in numad yet; write it with np.searchsorted on constants and "
                       "np.where")


_FUNCTION_ROWS = [
    # NumPy function, handler, the NumPy parameters it takes (in its positional order)
    (np.sum, reduce_sum, "a axis keepdims"), (np.prod, reduce_prod, "a axis keepdims"),
    (np.max, reduce_max, "a axis keepdims"), (np.amax, reduce_max, "a axis keepdims"),
    (np.min, reduce_min, "a axis keepdims"), (np.amin, reduce_min, "a axis keepdims"),
    (np.mean, _mean, "a axis keepdims"), (np.var, _var, "a axis ddof keepdims correction"),
    (np.std, _std, "a axis ddof keepdims correction"),
    (np.median, median, "a axis keepdims"),
    (np.cumsum, _cumsum, "a axis"), (np.cumprod, _cumprod, "a axis"),
    (np.diff, diff, "a n axis prepend append"), (np.sort, sort, "a axis kind order"),
    (np.clip, _clip, "a a_min a_max min max"), (np.outer, outer, "a b"),
    (np.einsum, _einsum, "*operands"), (np.tensordot, tensordot, "a b axes"),
    (np.dot, dot, "a b"), (np.vdot, vdot, "a b"), (np.inner, inner, "a b"),
    (np.reshape, _reshape, "a shape order"), (np.transpose, transpose, "a axes"),
    (np.swapaxes, _swapaxes, "a axis1 axis2"),
    (np.moveaxis, _moveaxis, "a source destination"),
    (np.ravel, ravel, "a"), (np.squeeze, squeeze, "a axis"),
    (np.expand_dims, expand_dims, "a axis"), (np.broadcast_to, _broadcast_to, "array shape"),
    (np.stack, stack, "arrays axis"), (np.concatenate, concatenate, "arrays axis"),
    (np.hstack, hstack, "tup"), (np.vstack, vstack, "tup"),
    (np.column_stack, column_stack, "tup"),
    (np.atleast_1d, _atleast(atleast_1d), "*arys"),
    (np.atleast_2d, _atleast(atleast_2d), "*arys"),
    (np.where, _where, "condition x y"), (np.pad, _pad, "array pad_width mode **kwargs"),
    (np.roll, _roll, "a shift axis"), (np.tile, _tile, "A reps"),
    (np.repeat, _repeat, "a repeats axis"), (np.flip, _flip, "m axis"),
    (np.fliplr, lambda m: index_map(m, np.fliplr), "m"),
    (np.flipud, lambda m: index_map(m, np.flipud), "m"),
    (np.round, around, "a decimals"), (np.around, around, "a decimals"),
    (np.diag, diag, "v k"), (np.diagonal, _diagonal, "a offset axis1 axis2"),
    (np.trace, trace_, "a offset axis1 axis2"), (np.copy, _copy, "a"),
    (np.zeros_like, like("zeros_like"), "a dtype shape"),
    (np.ones_like, like("ones_like"), "a dtype shape"),
    (np.full_like, like("full_like"), "a fill_value dtype shape"),
    (np.empty_like, like("empty_like"), "prototype dtype shape"),
    (np.shape, _shape_fn, "a"), (np.ndim, lambda a: len(_shape(a)), "a"),
    (np.size, _size_fn, "a axis"),
    (np.all, lambda a, axis=None, keepdims=False: logical_reduce(a, "all", axis, keepdims),
     "a axis keepdims"),
    (np.any, lambda a, axis=None, keepdims=False: logical_reduce(a, "any", axis, keepdims),
     "a axis keepdims"),
    (np.count_nonzero, _count_nonzero, "a axis keepdims"),
    (np.argmax, argm("argmax"), "a axis"), (np.argmin, argm("argmin"), "a axis"),
    (np.linalg.solve, solve, "a b"), (np.linalg.inv, inv, "a"), (np.linalg.det, det, "a"),
    (np.linalg.slogdet, slogdet, "a"), (np.linalg.cholesky, cholesky, "a upper"),
    (np.linalg.norm, norm, "x ord axis keepdims"), (np.linalg.eigh, eigh, "a UPLO"),
    (np.linalg.eigvalsh, eigvalsh, "a UPLO"), (np.matmul, matmul, "x1 x2"),
    (np.result_type, lambda *arrays_and_dtypes: np.float64, "*arrays_and_dtypes"),
    (np.isscalar, lambda element: False, "element"),
    (np.interp, _interp, "x xp fp left right period"),
]
FUNCTIONS = {np_fn: _numpy_function(np_fn, handler, takes)
             for np_fn, handler, takes in _FUNCTION_ROWS}


def register_function(np_fn, handler, takes):
    """Trace calls of the NumPy function ``np_fn`` on traced values with ``handler``,
    which takes the parameters named in ``takes`` (a space-separated list, in order;
    the others must keep their defaults). For modules above the tracer that define a
    function with the extension API (``numad/extensions.py``)."""
    FUNCTIONS[np_fn] = _numpy_function(np_fn, handler, takes)


# ---------------------------------------------------------------------------------------
# Recording a whole function


class _Active(threading.local):
    """The recorders of this thread's traces in progress, innermost last: a scan whose
    carry is not traced still records into the trace it runs in (its step may close
    over traced values). Per thread, so that threads tracing at once never mix."""

    def __init__(self):
        self.recorders = []


_ACTIVE = _Active()


def active_recorder():
    """The recorder of this thread's innermost trace in progress, or None."""
    stack = _ACTIVE.recorders
    return stack[-1] if stack else None


def record(f, args, input_argnums=None, name=None, others_static=True, replayed=True):
    """Run ``f(*args)`` on traced inputs and return the finished ``Tape``.

    With ``input_argnums=None`` the float leaves of every argument are inputs and the
    other leaves (ints, bools, strings, objects) are settings baked into the tape. With
    a tuple of argument numbers, every numeric leaf of those arguments is an input (an
    int becomes a float) and the other arguments are passed through untouched, or, with
    ``others_static=False``, have their float leaves as inputs too (the adapters' rule:
    ``args`` are inputs, not constants).

    A tape that will be ``replayed`` watches what ``f`` reads besides its arguments
    (``tape.watch``, see ``numad/watch.py``) and refuses random draws and clocks made
    while tracing; ``nd.grad`` and friends, which trace at every call, pass False.
    """
    name = name or getattr(f, "__name__", "f")
    reached = reach(f, args, name) if replayed else None
    rec = Recorder()
    call_args, arg_treedefs, leaf_roles, input_entries = [], [], [], []
    for k, arg in enumerate(args):
        leaves, treedef = flatten(arg)
        roles, new_leaves = [], []
        take_all = input_argnums is not None and k in input_argnums
        for leaf in leaves:
            if isinstance(leaf, Traced):
                raise TracingError("numad: a traced value from another trace was passed in "
                                   "(nested differentiation goes through nd.grad, "
                                   "nd.gradient, nd.jacobian)")
            floats_are_inputs = input_argnums is None or not others_static
            is_input = take_all or (floats_are_inputs and leaf_is_differentiable(leaf))
            if take_all and not (leaf_is_differentiable(leaf) or _is_int_like(leaf)):
                raise TracingError(f"numad: cannot differentiate with respect to a "
                                f"{type(leaf).__name__}; the argument must hold floats or "
                                "float arrays")
            if not is_input:
                roles.append(("static", leaf))
                new_leaves.append(leaf)
                continue
            arr = as_float_array(leaf)
            value = arr if arr.ndim else float(arr)
            e = rec.push(INPUT, -1, -1, -1, value)
            roles.append(len(input_entries))
            input_entries.append(e)
            new_leaves.append(TracedVector(rec, e, value) if arr.ndim == 1
                              else Traced(rec, e, value))
        from .pytree import unflatten
        call_args.append(unflatten(treedef, new_leaves))
        arg_treedefs.append(treedef)
        leaf_roles.append(roles)
    stack = _ACTIVE.recorders
    stack.append(rec)
    try:
        if replayed:
            with side_channels(name, reached.generators):
                out = f(*call_args)
        else:
            out = f(*call_args)
    except ValueError as error:
        if rec.refused and "setting an array element with a sequence" in str(error):
            # NumPy turns the TracingError of float(traced) into this when a traced
            # value is assigned into a NumPy array: say what happened instead
            raise TracingError(
                f"numad: {name} assigned a traced value into a NumPy array (a[i] = x), "
                "which would make it a constant and lose its derivative. Build the array "
                "from the traced values with np.stack / nd.stack or np.concatenate (or "
                "np.array([...]) of them), or start from a traced array, "
                "a = np.zeros_like(x), and assign into that") from error
        raise
    finally:
        stack.pop()
    tape = finish(rec, out, arg_treedefs, leaf_roles, input_entries, name)
    tape.fun = _Retrace(f, input_argnums, name, others_static)
    watch = watch_of(reached) if replayed else None
    if watch is not None:
        # f changed what it reads while it ran (a counter, an accumulator, a cache):
        # its tape is f at this one call, never to be replayed
        changed = watch.changed()
        tape.watch = watch if changed is None else VOLATILE(changed)
    return tape


class _Retrace:
    """What a tape needs to trace its function again at another point."""

    def __init__(self, f, input_argnums, name, others_static):
        self.f, self.input_argnums, self.name = f, input_argnums, name
        self.others_static = others_static

    def retrace(self, args):
        return record(self.f, args, self.input_argnums, self.name, self.others_static)


def _is_int_like(leaf):
    if isinstance(leaf, (int, np.integer)) and not isinstance(leaf, (bool, np.bool_)):
        return True
    return isinstance(leaf, np.ndarray) and leaf.dtype.kind in "iu"


def finish(rec, out, arg_treedefs, leaf_roles, input_entries, name):
    """Turn a recorder and the function's output into a ``Tape``."""
    out_leaves, out_treedef = flatten(out)
    output_entries = []
    for leaf in out_leaves:
        if isinstance(leaf, Traced):
            if leaf._rec is not rec:
                raise TracingError(f"numad: {name} returned a value traced elsewhere")
            output_entries.append(leaf._i)
        else:
            arr = np.asarray(leaf)
            if arr.dtype.kind not in "fiub":
                raise TracingError(f"numad: {name} returned a {type(leaf).__name__}; "
                                   "outputs must be floats or float arrays")
            arr = arr.astype(np.float64)
            output_entries.append(rec.push(CONST, -1, -1, -1, arr if arr.ndim else float(arr)))
    rec.live = False

    arrays = tape_arrays(rec)
    return Tape(**arrays, arg_treedefs=arg_treedefs, leaf_roles=leaf_roles,
                input_entries=input_entries, output_entries=output_entries,
                out_treedef=out_treedef, name=name, scans=rec.scans,
                customs=rec.customs)


def tape_arrays(rec):
    """The structure-of-arrays form of everything recorded so far (``finish`` makes a
    Tape of it; a scan runs its loop on it while the trace goes on)."""
    n = rec.n
    codes = np.array(rec.codes, dtype=np.int64).reshape(n, 3)
    op = codes[:, 0].astype(np.int32)
    args = np.ascontiguousarray(codes[:, 1:3].astype(np.int32))
    size = np.ones(n, dtype=np.int64)
    shapes = {}
    for i, arr in rec.arrays.items():
        shapes[i] = arr.shape
        size[i] = arr.size
    plen = np.zeros(n, dtype=np.int64)
    for i, p in rec.params.items():
        plen[i] = p.size
    pstart = np.cumsum(plen) - plen
    params = (np.concatenate([rec.params[i] for i in sorted(rec.params)])
              if rec.params else np.zeros(1, dtype=np.int64))
    off, vals, opnd = tape_layout(op, args, size, np.array(rec.vals, dtype=np.float64))
    for i, arr in rec.arrays.items():
        if op[i] != ALIAS:
            vals[off[i]:off[i] + size[i]] = np.asarray(arr, dtype=np.float64).ravel()
    alen = np.zeros(n, dtype=np.int64)
    for i, s in rec.aux_sizes.items():
        alen[i] = s
    aux_off = np.cumsum(alen) - alen
    aux = np.zeros(int(alen.sum()) + 1)
    return dict(op=op, args=args, off=off, opnd=opnd, size=size, pstart=pstart,
                params=params, aux_off=aux_off, aux=aux, vals=vals, shapes=shapes)
