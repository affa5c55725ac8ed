"""The traced value: what a user's function computes with while numad records it.

A ``Traced`` value stands for one tape entry (a scalar or a whole array) and carries its
concrete value, so the user's Python runs exactly as it would on floats and arrays. Its
operators record entries (the functions of ``numad/recording.py``), and NumPy's
protocols (``__array_ufunc__``, ``__array_function__``) hand NumPy calls to the
registrations of ``numad/numpy_dispatch.py``; what cannot be traced (``float(x)``,
``math.exp(x)``, formatting, hashing) raises a ``TracingError`` that names the remedy.

The hot path is the scalar one (a Python loop over floats): ``+``, ``-``, ``*`` of two
scalars append to the recorder's lists here, without a call (one ``list.extend`` of
three ints, one ``list.append`` of the value and one small object).

Other modules read a traced value through ``value_of``, ``entry_of`` and
``recorder_of_traced``: its slots stay private, so that no user code finds a concrete
value on it that would escape the trace.
"""
from __future__ import annotations

import linecache
import math
import re
import sys

import numpy as np
from numba.extending import typeof_impl

from .errors import TracingError, UnsupportedAttribute
from .optable import OPCODES

_ADD = OPCODES["add"]
_SUB = OPCODES["sub"]
_MUL = OPCODES["mul"]
_DIV = OPCODES["div"]
_NEG = OPCODES["neg"]
_SQUARE = OPCODES["square"]
ALIAS = OPCODES["alias"]


# ---- what the methods record with ---------------------------------------------------------
# The operators record entries with the functions of numad/recording.py and dispatch NumPy
# calls with the tables of numad/numpy_dispatch.py. Both modules import this one (what they
# return are Traced values), so this module cannot import them without an import cycle:
# each hands over its functions with ``provide`` when it loads (numad/__init__ loads both),
# and the methods find them as globals of this module. ``missing()`` lists what has not
# been provided (a test checks that nothing is missing after ``import numad``).
PROVIDED = frozenset(['COMPOSITE_UFUNCS', 'FUNCTIONS', 'UFUNCS', 'around', 'array_ufunc', 'clip', 'copy_of', 'lift_objects', 'objects_to_traced', 'cumulative', 'dot', 'elementwise', 'getitem', 'guard', 'logical_reduce', 'matmul', 'mean', 'reduce_max', 'reduce_min', 'reduce_prod', 'reduce_sum', 'reshape', 'setitem', 'squeeze', 'std', 'transpose', 'var'])


def provide(**functions):
    """Make ``functions`` (names of ``PROVIDED``) callable from the traced value's methods."""
    unknown = set(functions) - PROVIDED
    if unknown:
        raise AssertionError(f"traced.provide: {sorted(unknown)} are not in PROVIDED")
    globals().update(functions)
    if "UFUNCS" in functions or "COMPOSITE_UFUNCS" in functions:
        _add_object_loop_methods()


def _add_object_loop_methods():
    """np.exp(a) of an object array of traced scalars (np.array([x, y]) makes one) runs
    NumPy's object loop, which calls each element's method of the ufunc's name:
    a.exp(). Each unary ufunc numad traces gets such a method, under every name NumPy
    gives it. (Methods, not a ``__getattr__``: a class with one loses Python's fast
    path for every attribute, its slots included, and tracing a scalar operation took
    0.47 us instead of 0.34.)"""
    known = {**globals().get("UFUNCS", {}), **globals().get("COMPOSITE_UFUNCS", {})}
    for name in dir(np):
        ufunc = getattr(np, name, None)
        if (name.startswith("_") or not isinstance(ufunc, np.ufunc) or ufunc.nin != 1
                or ufunc not in known or name in Traced.__dict__):
            continue
        setattr(Traced, name, (lambda u: lambda self: u(self))(ufunc))


def _add_ndarray_stand_ins():
    """Each ndarray method a traced value lacks: where NumPy has a function of that
    name (``x.take(i)`` is ``np.take(x, i)``), a method calling it, which records or
    refuses as the function does; any other attribute (``x.view``, ``x.strides``) a
    property that raises ``UnsupportedAttribute``, a TracingError that names it, not
    Python's bare AttributeError."""
    for name in dir(np.ndarray):
        if name.startswith("_") or hasattr(Traced, name):
            continue
        if name in _IN_PLACE:
            setattr(Traced, name, (lambda n: lambda self, *args, **kwargs:
                                   _refuse_in_place(n))(name))
            continue
        function = getattr(np, name, None)
        is_method = callable(getattr(np.ndarray, name))   # (not x.imag, x.flags: data)
        if is_method and callable(function) and not isinstance(function, type):
            setattr(Traced, name, (lambda fn: lambda self, *args, **kwargs:
                                   fn(self, *args, **kwargs))(function))
        else:
            setattr(Traced, name, property((lambda n: lambda self: _refuse_attribute(n))(name)))


# ndarray methods that change the array in place (np.partition(x) returns a new one):
# a traced value is never changed in place
_IN_PLACE = {"partition", "resize", "put", "fill", "byteswap", "setfield", "setflags",
             "itemset"}


def _refuse_in_place(name):
    raise UnsupportedAttribute(
        f"numad: x.{name}() changes an array in place, which a traced value never is; "
        f"use the function that returns a new array (np.{name}(x, ...) where NumPy has "
        "one), or compute the values with np.* / nd.* functions")


def _refuse_attribute(name):
    raise UnsupportedAttribute(
        f"numad: x.{name} is not available on a traced array: numad records operations on "
        "values, not on their memory (views, buffers, strides, flags) or their imaginary "
        f"part. Compute with np.* / nd.* functions, or take x.{name} of a NumPy array "
        "outside the differentiated function")


def missing():
    """The names of ``PROVIDED`` that no module has provided yet."""
    return sorted(name for name in PROVIDED if name not in globals())


def _converted_inside():
    """Where a library function (SciPy's, say) converted a traced value with
    np.asarray, the first words of numad's error name it: the user did not write the
    conversion, and needs to know which call to replace. (The outermost library frame
    below the user's code.)"""
    frame, found = sys._getframe(2), None
    for _ in range(30):
        if frame is None:
            break
        path = frame.f_code.co_filename.replace("\\", "/")
        library = "site-packages/" in path and "/numad/" not in path
        if library and "/numpy/" not in path:
            found = frame
        elif not library and found is not None:
            break
        frame = frame.f_back
    if found is None:
        return "numad: "
    module, name = found.f_globals.get("__name__", "?"), found.f_code.co_name
    hint = ""
    if module.startswith("scipy.special") and name in ("logsumexp", "softmax", "log_softmax"):
        hint = (f" (numad answers scipy.special.{name} on traced values once numad is "
                f"imported: import numad before `from scipy.special import {name}`, or "
                "use nd.logsumexp)")
    return f"numad: {module}.{name} cannot be traced{hint}: "


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
        raise TracingError(untraceable_message("float()"))

    def __complex__(self):
        raise TracingError(untraceable_message("complex()"))

    def __array__(self, dtype=None, copy=None):
        # np.array([a, b]) of traced scalars: NumPy asks each element for an array, and
        # an object array holding the traced value itself keeps it traced. NumPy then
        # builds an object array of the traced scalars, whose arithmetic and ufuncs run
        # on the elements (and record), and which numad turns into one traced array
        # wherever it meets numad (an operation with a traced array, the function's
        # output, a scan's carry): see recording.objects_to_traced.
        if not isinstance(self._v, np.ndarray) and (dtype is None or np.dtype(dtype) == object):
            holder = np.empty((), dtype=object)
            holder[()] = self
            return holder
        raise TracingError(
            _converted_inside() +
            "a traced value was converted to a plain NumPy array (np.asarray of a "
            "traced array, a float dtype asked of it, or assigning it into a NumPy "
            "array), which would make it a constant and lose its derivative. Use the "
            "traced array as it is, build arrays with np.stack / np.concatenate (or "
            "np.array([...]) of traced scalars), and allocate arrays you fill with "
            "np.zeros_like(x) of a traced x")

    def __trunc__(self):
        raise TracingError(untraceable_message("math.trunc()"))

    def item(self):
        raise TracingError(untraceable_message(".item()"))

    def tolist(self):
        raise TracingError(untraceable_message(".tolist()"))

    def astype(self, dtype, copy=True):
        if np.dtype(dtype).kind == "f":
            return Traced(self._rec, self._i, self._v) if not copy else copy_of(self)
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
            guard(self, float(v))
            return bool(v)
        mask = elementwise("not_equal", self, 0.0)
        guard(mask, float(mask._v if not isinstance(mask._v, np.ndarray) else mask._v.ravel()[0]))
        return bool(v != 0.0)

    def __int__(self):
        v = self._v
        v = float(v.ravel()[0]) if isinstance(v, np.ndarray) and v.size == 1 else v
        if isinstance(v, np.ndarray):
            raise TypeError("only traced scalars can be converted to int")
        k = int(v)
        t = elementwise("trunc", self)
        guard(t, float(k))
        return k

    def __index__(self):
        v = self._v
        if isinstance(v, np.ndarray):
            if v.size != 1:
                raise TypeError("only integer-valued traced scalars can be used as an index")
            v = v.ravel()[0]
        v = float(v)
        if v != math.floor(v) or not math.isfinite(v):
            raise TracingError(f"numad: the traced value {v!r} is not an integer and cannot be "
                            "used as an index or range bound; use int(x) or np.floor")
        guard(self, v)
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
        return copy_of(self)

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

    def round(self, decimals=0):
        return around(self, decimals)

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
                f"numad cannot trace {qualname(func)}: it has no derivative rule in numad. "
                "Write it with the functions numad knows (see the list of elementary "
                "functions in numad's API reference: help(numad) or "
                "docs/reference/api.md), or wrap a constant part in nd.stop_gradient")
        return handler(*lift_objects(args), **kwargs)


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


def math_call_of_caller(depth=3):
    """``(call, instead)`` where the user's line that led here (up to three frames above
    the caller of the caller) calls a ``math.*`` function (``"math.exp"``, and the
    NumPy or numad function to use instead, or None), else None. math.exp(x) reaches a
    traced value or a Dual only as float(x), from the frame of the user's code."""
    call = None
    frame = sys._getframe(depth)
    for _ in range(3):
        if frame is None:
            break
        call = _math_call_on_line(frame)
        if call:
            break
        frame = frame.f_back
    if not call:
        return None
    name = call.split(".")[1]
    return call, _MATH_INSTEAD.get(name, f"np.{name}" if name in _NUMPY_TRACED else None)


def untraceable_message(what):
    found = math_call_of_caller(3)
    if found:
        call, instead = found
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


def qualname(func):
    mod = getattr(func, "__module__", "") or ""
    name = getattr(func, "__name__", repr(func))
    if mod.startswith("numpy"):
        mod = "np" + mod[5:].replace("._core", "").replace(".core", "")
        if mod.endswith(".fromnumeric") or mod.endswith(".numeric") or "._" in mod:
            mod = "np"
    return f"{mod}.{name}" if mod else name


# ---- reading a traced value (for the modules of numad) -------------------------------------

def value_of(x):
    """The concrete value of a traced ``x`` (a float or an ndarray); ``x`` itself when
    it is not traced."""
    return x._v if isinstance(x, Traced) else x


def entry_of(t):
    """The tape entry that the traced value ``t`` stands for."""
    return t._i


def recorder_of_traced(t):
    """The recorder (``numad/recording.py``'s ``Recorder``) that ``t`` belongs to."""
    return t._rec


_add_ndarray_stand_ins()   # (after every method of Traced is defined)


@typeof_impl.register(Traced)
def _typeof_traced(value, context):
    # numba types a compiled function's arguments first: a traced value there would
    # be numba's "non-precise type pyobject" error, which names neither numad nor a way out
    raise TracingError(
        "numad: a numba @njit function was called on a traced value; numad cannot see "
        "inside compiled code, so it has no derivative for it. Wrap the function with its "
        "derivative rules as nd.primitive(name, fn, vjp=..., jvp=...), or write it with "
        "NumPy operations in a plain Python function")
