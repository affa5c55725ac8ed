"""The recording of entries: the recorder of one trace, and one function per primitive.

A ``Recorder`` is the growing tape of one trace (Python lists, turned into the tape's
flat arrays by ``numad/tracer.py``). The functions below record the op table's
primitives on traced operands (``elementwise``, ``where``, ``gather``, ``getitem``,
``reshape``, the reductions, ``matmul``, ``concatenate``, the linear algebra) and the
array functions composed of them (``mean``, ``std``, ``einsum``, ...); each computes
the value with NumPy and appends one entry per primitive. Branch decisions are recorded
as guard entries (``guard``): a replay re-checks them (ADOL-C's approach) instead of
computing a wrong value.

Documented-internal (used by the transformations, ``scan`` and custom rules):
``recorder_of``, ``entry_of_operand``, ``as_traced``, ``wrap``, ``gather``, ``guard``
and every recording function.
"""
from __future__ import annotations

import collections
import contextlib
import math
import threading

import numpy as np

from .errors import MixedTraces, TracingError
from .optable import ELEMENTWISE_BY_NAME, OPCODES
from .traced import Traced, TracedVector, TracedView, provide, value_of

CONST = OPCODES["const"]
ALIAS = OPCODES["alias"]
GUARD = OPCODES["guard"]


_UNROLLING = threading.local()


@contextlib.contextmanager
def unrolling_loops():
    """Traces begun inside record ``nd.scan``, ``nd.while_loop`` and ``nd.fori_loop``
    step by step, as Python loops (numad/batches.py: a tape without loops is what the
    batch kernels sweep; its compiled code rolls the steps up again)."""
    before = getattr(_UNROLLING, "on", False)
    _UNROLLING.on = True
    try:
        yield
    finally:
        _UNROLLING.on = before


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
        # > 0 while a scan's step is being recorded (a loop met then is unrolled; a
        # trace for a batch kernel starts at 1: ``unrolling_loops``)
        self.scan_depth = 1 if getattr(_UNROLLING, "on", False) else 0
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




def guard(x, expected):
    """Record that ``x`` must keep the value ``expected`` for the tape to hold."""
    if isinstance(expected, np.ndarray):
        expected = np.array(expected, dtype=np.float64)
    x._rec.push(GUARD, x._i, -1, -1, expected)


# ---------------------------------------------------------------------------------------
# Operands


_MIXED_TRACES = ("numad: values traced by two different traces were mixed (a traced value "
                 "leaked out of the function it belongs to?); pass values as arguments "
                 "instead of keeping them")


def recorder_of(operands):
    rec = None
    for x in operands:
        if isinstance(x, Traced):
            if rec is None:
                rec = x._rec
            elif x._rec is not rec:
                raise MixedTraces(_MIXED_TRACES)
    if rec is not None and not rec.live:
        raise TracingError("numad: a traced value outlived its trace (it was kept from an "
                           "earlier call); derivatives of it would be stale. Pass values "
                           "as arguments instead")
    return rec


def entry_of_operand(rec, x):
    """(entry, value) of an operand; a non-traced operand is recorded as a constant."""
    if isinstance(x, Traced):
        return x._i, x._v
    t = type(x)
    if t is float or t is int or t is bool:
        return rec.const_scalar(float(x)), x
    arr = np.asarray(x)
    if arr.dtype == object:
        t = objects_to_traced(rec, arr)
        return t._i, t._v
    if arr.dtype.kind not in "fiub":
        raise TracingError(f"numad: cannot use a {type(x).__name__} with dtype {arr.dtype} "
                           "in a traced computation (numad works in float64)")
    if arr.ndim == 0:
        return rec.const_scalar(float(arr)), arr[()]
    return rec.push(CONST, -1, -1, -1, arr.astype(np.float64)), arr



def wrap(rec, i, v, view=False):
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if view and isinstance(v, np.ndarray):
        return TracedView(rec, i, v)
    return Traced(rec, i, v)


def shape_of(x):
    return np.shape(value_of(x))


def size_of(x):
    return int(np.prod(shape_of(x), dtype=np.int64))


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
                        recorder_of(operands)
                    vals = rec.vals
                    i = len(vals)
                    rec.codes.extend((ELEMENTWISE_BY_NAME[name].opcode, x._i, -1))
                    vals.append(v)
                    return Traced(rec, i, v)
    if any(type(x) is np.ndarray and x.dtype == object for x in operands):
        operands = lift_objects(operands)
    if (name == "add" or name == "mul") and len(operands) == 2 and all(
            _is_numpy_bool(value_of(x)) for x in operands):
        # NumPy's bool arrays add as `or` and multiply as `and` (Python's bools, the
        # masks of traced scalars, add as numbers: True + True == 2)
        name = "logical_or" if name == "add" else "logical_and"
    if (name == "maximum" or name == "minimum") and len(operands) == 2 and (
            isinstance(operands[0], Traced) != isinstance(operands[1], Traced)):
        x, c = operands if isinstance(operands[0], Traced) else operands[::-1]
        if not np.any(np.isnan(_as_number(c))):
            # against a constant, a tie is a kink, where numad's convention gives the
            # traced side 0 (relu'(0) = 0): keep the constant where x <= c (x >= c).
            # Ties of two traced operands share equally, by the op table's partials.
            # (A NaN x still comes out NaN, as NumPy's maximum gives.)
            keep = elementwise("less_equal" if name == "maximum" else "greater_equal", x, c)
            return where(keep, c, x)
    prim = ELEMENTWISE_BY_NAME[name]
    rec = recorder_of(operands)
    # a comparison's mask used as a number (np.sum(x < y), mask.astype(float), -mask):
    # the tape holds it as 0.0 / 1.0 already, and NumPy's float loops take it so too
    values = [_as_number(value_of(x)) for x in operands]
    with np.errstate(all="ignore"):
        y = prim.numpy(*values)
    if rec is None:
        return y
    entries = [entry_of_operand(rec, x)[0] for x in operands]
    yshape = np.shape(y)
    if yshape:
        y = np.asarray(y)
        for k, x in enumerate(operands):
            s = np.shape(values[k])
            if s != yshape and int(np.prod(s, dtype=np.int64)) > 1:
                entries[k] = broadcast_to(as_traced(rec, x, entries[k]), yshape)._i
    if yshape == () or (isinstance(y, np.ndarray) and y.ndim == 0):
        y = np.asarray(y)[()].item()
    i = rec.push(prim.opcode, entries[0], entries[1] if len(entries) > 1 else -1, -1, y)
    return wrap(rec, i, y)


def _is_numpy_bool(v):
    return isinstance(v, np.bool_) or (isinstance(v, np.ndarray) and v.dtype == np.bool_)


def _as_number(v):
    if type(v) is bool or isinstance(v, np.bool_):
        return float(v)
    if isinstance(v, np.ndarray) and v.dtype == np.bool_:
        return v.astype(np.float64)
    return v


def objects_to_traced(rec, arr):
    """One traced array from a NumPy object array of traced scalars and numbers (what
    ``np.array([a, b])`` of traced scalars makes), recorded as their concatenation."""
    if arr.ndim == 0 and isinstance(arr[()], Traced):
        return arr[()]
    own = recorder_of([v for v in arr.flat if isinstance(v, Traced)])
    if rec is None:
        rec = own
    elif own is not None and own is not rec:
        raise MixedTraces(_MIXED_TRACES)
    entries, values = [], []
    for v in arr.flat:
        if isinstance(v, Traced):
            if isinstance(v._v, np.ndarray):  # (only scalars make object arrays)
                raise TracingError("numad: an object array holds a traced array; build "
                                   "arrays of traced arrays with np.stack")
            entries.append(v._i)
            values.append(float(v._v))
        else:
            number = np.asarray(v)
            if number.ndim or number.dtype.kind not in "fiub":
                raise TracingError(f"numad: cannot use a {type(v).__name__} inside an "
                                   "array of traced values; it must hold numbers")
            values.append(float(number))
            entries.append(rec.const_scalar(values[-1]))
    value = np.array(values, dtype=np.float64)
    params = [1, 1, len(entries)]
    for e in entries:
        params += [e, 1]
    flat = wrap(rec, rec.push(OPCODES["concat"], -1, -1, -1, value, params=params), value)
    return flat if arr.ndim == 1 else reshape(flat, arr.shape)


def lift_objects(values):
    """``values`` with each object array of traced scalars (and each list or tuple of
    values holding one) made one traced array; the rest as they are."""
    out = []
    for x in values:
        if type(x) is np.ndarray and x.dtype == object:
            x = objects_to_traced(None, x)
        elif type(x) in (list, tuple) and any(
                type(v) is np.ndarray and v.dtype == object for v in x):
            x = type(x)(lift_objects(x))
        out.append(x)
    return out


def as_traced(rec, x, entry=None):
    if isinstance(x, Traced):
        return x
    if isinstance(x, np.ndarray) and x.dtype == object:
        return objects_to_traced(rec, x)
    if entry is None:
        entry = entry_of_operand(rec, x)[0]
    v = np.asarray(x)
    return wrap(rec, entry, v.astype(np.float64) if v.dtype.kind in "iu" else v)


def where(cond, x, y):
    """``x`` where ``cond`` holds, else ``y``; the untaken side gets zero derivative."""
    rec = recorder_of((cond, x, y))
    cv, xv, yv = value_of(cond), value_of(x), value_of(y)
    out = np.where(cv, xv, yv)
    if rec is None:
        return out
    shape = out.shape
    ents = []
    for op in (cond, x, y):
        e = entry_of_operand(rec, op)[0]
        s = shape_of(op)
        if s != shape and int(np.prod(s, dtype=np.int64)) > 1:
            e = broadcast_to(as_traced(rec, op, e), shape)._i
        ents.append(e)
    if out.dtype.kind != "f" and out.dtype.kind != "b":
        out = out.astype(np.float64)
    i = rec.push(OPCODES["where"], ents[0], ents[1], ents[2], out if shape else out[()].item())
    return wrap(rec, i, out if shape else out[()].item())


# ---------------------------------------------------------------------------------------
# Index maps: every rearrangement of an array's elements is a gather by positions,
# which becomes an alias (no work at all) when the positions are one contiguous run.


def gather(x, positions, out_shape, value):
    rec = x._rec
    positions = np.asarray(positions, dtype=np.int64).ravel()
    n = positions.size
    if n > 0 and positions[-1] - positions[0] == n - 1 and (
            n == 1 or bool(np.all(np.diff(positions) == 1))):
        i = rec.push_alias(x._i, int(positions[0]), value if out_shape else _scalar_of(value))
    else:
        i = rec.push(OPCODES["gather"], x._i, -1, -1,
                     value if out_shape else _scalar_of(value), params=positions)
    return wrap(rec, i, value if out_shape else _scalar_of(value), view=True)


def _scalar_of(v):
    v = np.asarray(v).reshape(())[()]
    return v.item()


def index_map(x, fn):
    """Apply a pure rearrangement ``fn`` (transpose, roll, tile, ...) to traced ``x``."""
    positions = fn(np.arange(x.size, dtype=np.int64).reshape(x.shape))
    value = fn(x._v if isinstance(x._v, np.ndarray) else np.asarray(x._v))
    value = np.array(value)
    return gather(x, positions, value.shape, value)


def _concrete_key(key):
    """Indices with traced parts made concrete (and guarded)."""
    if isinstance(key, tuple):
        return tuple(_concrete_key(k) for k in key)
    if isinstance(key, Traced):
        v = key._v
        if isinstance(v, (bool, np.bool_)) or (isinstance(v, np.ndarray) and v.dtype == bool):
            guard(key, np.asarray(v, dtype=np.float64) if isinstance(v, np.ndarray)
                   else float(v))
            return v
        if isinstance(v, np.ndarray):
            vals = np.asarray(v, dtype=np.float64)
            if not np.all(vals == np.floor(vals)):
                raise IndexError("numad: a traced index array must hold integers")
            guard(key, vals)
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
        return wrap(x._rec, x._rec.push(CONST, -1, -1, -1, value.astype(np.float64)), value)
    return gather(x, positions, value.shape, value)


def setitem(x, key, value):
    if not isinstance(x, Traced) or not isinstance(x._v, np.ndarray):
        raise TypeError("numad: item assignment into a traced scalar")
    if type(x) is TracedView:
        raise TracingError(
            "numad: assigning into a slice or reshape of a traced array: NumPy would write "
            "through to the original array, which numad cannot record. Assign into the "
            "original array (x[i:j] = ...), or take a .copy() first")
    key = _concrete_key(key)
    rec = recorder_of((x, value))
    positions = np.arange(x.size, dtype=np.int64).reshape(x.shape)[key]
    positions = np.asarray(positions).ravel()
    if np.unique(positions).size != positions.size:
        raise TracingError("numad: assignment to repeated indices (which one wins depends on "
                           "NumPy's order); use unique indices, or np.add.at to accumulate")
    new = np.array(x._v, dtype=np.float64)
    new[key] = value_of(value)
    m = positions.size
    ve = entry_of_operand(rec, value)[0]
    vs = size_of(value)
    if vs != m and vs != 1:
        target = np.shape(np.empty(x.shape)[key])
        ve = broadcast_to(as_traced(rec, value, ve), target)._i
    i = rec.push(OPCODES["scatter_set"], x._i, ve, -1, new,
                 params=np.concatenate(([m], positions)))
    x._i = i
    x._v = new
    if type(x) is TracedVector:
        x._items = None


def scatter_add(x, key, value):
    """``np.add.at(x, key, value)`` on a traced ``x`` (repeated indices accumulate)."""
    key = _concrete_key(key)
    rec = recorder_of((x, value))
    positions = np.asarray(np.arange(x.size, dtype=np.int64).reshape(x.shape)[key]).ravel()
    new = np.array(x._v, dtype=np.float64)
    np.add.at(new, key, value_of(value))
    m = positions.size
    ve = entry_of_operand(rec, value)[0]
    if size_of(value) not in (1, m):
        target = np.shape(np.empty(x.shape)[key])
        ve = broadcast_to(as_traced(rec, value, ve), target)._i
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
    return wrap(rec, i, value if value.ndim else value.item(), view=True)


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
        return wrap(rec, i, np.full(shape, float(x._v)), view=True)
    return index_map(x, lambda a: np.broadcast_to(a, shape))


def copy_of(x):
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
        return copy_of(x) if not keepdims or not shape else reshape(x, np.shape(value))
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
    return wrap(rec, i, out)


def reduce_sum(x, axis=None, keepdims=False, **kw):
    return _reduce("sum", np.sum, x, axis, keepdims, **kw)


def reduce_prod(x, axis=None, keepdims=False, **kw):
    return _reduce("prod", np.prod, x, axis, keepdims, **kw)


def reduce_max(x, axis=None, keepdims=False, **kw):
    return _reduce("amax", np.max, x, axis, keepdims, **kw)


def reduce_min(x, axis=None, keepdims=False, **kw):
    return _reduce("amin", np.min, x, axis, keepdims, **kw)


def _count(x, axis):
    shape = shape_of(x)
    return int(np.prod([shape[d] for d in _axes(axis, len(shape))], dtype=np.int64))


def mean(x, axis=None, dtype=None, out=None, keepdims=False, **kw):
    if out is not None:
        raise TracingError("numad: np.mean(..., out=...) is not supported while tracing")
    return reduce_sum(x, axis, keepdims) / float(_count(x, axis))


def var(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    m = mean(x, axis, keepdims=True)
    d = x - m
    return reduce_sum(d * d, axis, keepdims) / float(_count(x, axis) - ddof)


def root_of_squares(s):
    """sqrt(s) for a sum of squares ``s`` (std, the 2-norm), with derivative 0 where
    s = 0. Such a root is a norm, which is not differentiable at 0; 0 is its smallest
    subgradient, the convention of abs'(0) = 0 (std of two entries is |x1 - x2| / 2).
    Where the norm is identically 0 (std over an axis of length 1) 0 is its exact
    derivative. A plain sqrt would give inf * 0 = nan there. A nan s stays nan."""
    zero = elementwise("equal", s, 0.0)
    return where(zero, 0.0, elementwise("sqrt", where(zero, 1.0, s)))


def std(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    """np.std; its derivative is 0 where all the entries are equal (see
    root_of_squares)."""
    if not isinstance(x, Traced):
        return np.std(x, axis=axis, ddof=ddof, keepdims=keepdims)
    return root_of_squares(var(x, axis, ddof=ddof, keepdims=keepdims))


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
        out = reshape(out, np.shape(np.sum(np.empty(shape_of(x)), axis=axis)))
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
    return wrap(x._rec, i, value)


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
    return wrap(rec, i, value)


def median(x, axis=None, keepdims=False, **kw):
    s = sort(x, axis=-1 if axis is not None else None) if axis is None else sort(x, axis=axis)
    if axis is None:
        n = s.shape[0]
        mid = (s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) * 0.5)
        return reshape(mid, (1,) * len(shape_of(x))) if keepdims else mid
    ax = _axes(axis, len(shape_of(x)))[0]
    n = s.shape[ax]
    take = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
    picked = index_map(s, lambda a: np.take(a, take, axis=ax))
    return mean(picked, axis=ax, keepdims=keepdims)


# ---------------------------------------------------------------------------------------
# Products


def matmul(a, b):
    a, b = lift_objects((a, b))
    rec = recorder_of((a, b))
    av, bv = value_of(a), value_of(b)
    value = np.matmul(av, bv)
    if rec is None:
        return value
    A = as_traced(rec, a)
    B = as_traced(rec, b)
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
    out = wrap(rec, i, full)
    value = np.asarray(value, dtype=np.float64)
    if value.shape != full.shape:
        out = reshape(out, value.shape)
    return out


def dot(a, b, out=None):
    if out is not None:
        raise TracingError("numad: np.dot(..., out=...) is not supported while tracing")
    na, nb = np.ndim(value_of(a)), np.ndim(value_of(b))
    if na == 0 or nb == 0:
        return elementwise("mul", a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 2 if nb >= 2 else 0]))


def vdot(a, b):
    return reduce_sum(elementwise("mul", ravel(a), ravel(b)))


def inner(a, b):
    if np.ndim(value_of(a)) == 0 or np.ndim(value_of(b)) == 0:
        return elementwise("mul", a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def outer(a, b, out=None):
    return elementwise("mul", reshape_any(ravel(a), (-1, 1)), reshape_any(ravel(b), (1, -1)))


def ravel(x, order="C"):
    return reshape(x, (-1,)) if isinstance(x, Traced) else np.ravel(x)


def reshape_any(x, shape):
    return reshape(x, shape) if isinstance(x, Traced) else np.reshape(x, shape)


def tensordot(a, b, axes=2):
    sa, sb = shape_of(a), shape_of(b)
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
    A = transpose_any(a, free_a + axes_a)
    B = transpose_any(b, axes_b + free_b)
    out = matmul(reshape_any(A, (Ma, K)), reshape_any(B, (K, Nb)))
    return reshape_any(out, tuple(sa[d] for d in free_a) + tuple(sb[d] for d in free_b))


def transpose_any(x, perm):
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
        shape = shape_of(op)
        if len(term) != len(shape):
            raise ValueError(f"einsum: '{term}' does not match an operand of shape {shape}")
        if len(set(term)) != len(term):
            # a repeated label takes a diagonal
            op, term = _einsum_diagonal(op, term)
            shape = shape_of(op)
        for c, s in zip(term, shape):
            dims[c] = s
        order = sorted(range(len(term)), key=lambda d: labels.index(term[d]))
        op = transpose_any(op, order)
        full = tuple(dims[c] if c in term else 1 for c in labels)
        prepared.append(reshape_any(op, full))
    prod = prepared[0]
    for op in prepared[1:]:
        prod = elementwise("mul", prod, op)
    summed = tuple(d for d, c in enumerate(labels) if c not in out)
    if summed:
        prod = reduce_sum(prod, axis=summed) if isinstance(prod, Traced) else np.sum(prod, summed)
    kept = [c for c in labels if c in out]
    return transpose_any(prod, [kept.index(c) for c in out])


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
    rec = recorder_of(arrays)
    values = [value_of(a) for a in arrays]
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
        params += [entry_of_operand(rec, a)[0], np.shape(v)[ax]]
    i = rec.push(OPCODES["concat"], -1, -1, -1, value, params=params)
    return wrap(rec, i, value)


def stack(arrays, axis=0, out=None, **kw):
    arrays = list(arrays)
    if not arrays:
        raise ValueError("need at least one array to stack")
    shape = np.shape(value_of(arrays[0]))
    nd_ = len(shape) + 1
    ax = axis % nd_
    expanded = [expand_dims(a, ax) if isinstance(a, Traced)
                else np.expand_dims(np.asarray(a, dtype=np.float64), ax) for a in arrays]
    return concatenate(expanded, axis=ax, out=out)


def hstack(tup, **kw):
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, axis=0 if np.ndim(value_of(arrs[0])) == 1 else 1)


def vstack(tup, **kw):
    return concatenate([atleast_2d(a) for a in tup], axis=0)


def column_stack(tup):
    arrs = []
    for a in tup:
        if np.ndim(value_of(a)) < 2:
            a = reshape_any(a, (-1, 1))
        arrs.append(a)
    return concatenate(arrs, axis=1)


def atleast_1d(x):
    return reshape_any(x, (1,)) if np.ndim(value_of(x)) == 0 else x


def atleast_2d(x):
    n = np.ndim(value_of(x))
    if n == 0:
        return reshape_any(x, (1, 1))
    if n == 1:
        return reshape_any(x, (1, -1))
    return x


# ---------------------------------------------------------------------------------------
# Linear algebra


def _square(x, name):
    s = shape_of(x)
    if len(s) != 2 or s[0] != s[1]:
        raise TracingError(f"numad: {name} of a traced array of shape {s}: numad supports "
                           "single square matrices (no batches)")
    return s[0]


def solve(a, b):
    rec = recorder_of((a, b))
    value = np.linalg.solve(value_of(a), value_of(b))
    if rec is None:
        return value
    n = _square(a, "np.linalg.solve")
    bshape = shape_of(b)
    if len(bshape) not in (1, 2):
        raise TracingError("numad: np.linalg.solve with a batched right-hand side")
    k = 1 if len(bshape) == 1 else bshape[1]
    A = as_traced(rec, a)
    B = as_traced(rec, b)
    B2 = reshape(B, (n, k))
    full = np.asarray(value, dtype=np.float64).reshape(n, k)
    i = rec.push(OPCODES["solve"], A._i, B2._i, -1, full, params=(n, k))
    out = wrap(rec, i, full)
    return reshape(out, value.shape) if value.shape != full.shape else out


def inv(a):
    if not isinstance(a, Traced):
        return np.linalg.inv(a)
    n = _square(a, "np.linalg.inv")
    value = np.linalg.inv(a._v)
    i = a._rec.push(OPCODES["inv"], a._i, -1, -1, value, params=(n,))
    return wrap(a._rec, i, value)


def slogdet(a):
    if not isinstance(a, Traced):
        return np.linalg.slogdet(a)
    n = _square(a, "np.linalg.slogdet")
    sign, logabs = np.linalg.slogdet(a._v)
    rec = a._rec
    both = np.array([sign, logabs], dtype=np.float64)
    i = rec.push(OPCODES["slogdet"], a._i, -1, -1, both, params=(n,))
    whole = wrap(rec, i, both)
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
    return wrap(rec, i, float(np.linalg.det(a._v)))


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
    return wrap(a._rec, i, value)


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
    whole = wrap(rec, i, both)
    values = gather(whole, np.arange(n), (n,), w.copy())
    vectors = gather(whole, n + np.arange(n * n), (n, n), V.copy())
    return EighResult(values, vectors)


def eigvalsh(a, UPLO="L"):
    """Eigenvalues of the symmetric matrix one triangle of ``a`` gives (see eigh)."""
    return eigh(a, UPLO)[0] if isinstance(a, Traced) else np.linalg.eigvalsh(a, UPLO)


# ---------------------------------------------------------------------------------------
# More NumPy


def clip(x, a_min=None, a_max=None, out=None, **kw):
    """Clip with zero derivative at and beyond the bounds (the kink takes 0): NumPy's
    ``minimum(maximum(x, a_min), a_max)``, so a_min > a_max gives a_max, as NumPy."""
    if out is not None:
        raise TracingError("numad: np.clip(..., out=...) is not supported while tracing")
    y = x
    if a_min is not None:
        y = where(elementwise("less_equal", x, a_min), a_min, y)
    if a_max is not None:
        y = where(elementwise("greater_equal", y, a_max), a_max, y)
    if y is x:
        return copy_of(x)
    return y


def diff(x, n=1, axis=-1, prepend=None, append=None):
    if prepend is not None or append is not None:
        parts = ([prepend] if prepend is not None else []) + [x] + \
                ([append] if append is not None else [])
        x = concatenate([broadcast_to_axis(p, x, axis) for p in parts], axis=axis)
    for _ in range(n):
        ax = axis % len(shape_of(x))
        m = shape_of(x)[ax]
        hi = index_map(x, lambda a: np.take(a, np.arange(1, m), axis=ax))
        lo = index_map(x, lambda a: np.take(a, np.arange(0, m - 1), axis=ax))
        x = hi - lo
    return x


def broadcast_to_axis(p, x, axis):
    if p is x:
        return x
    shape = list(shape_of(x))
    if np.ndim(value_of(p)) == 0:
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
        b = as_traced(x._rec, base)
        rec = x._rec
        pos = np.nonzero(inside.ravel())[0]
        new = np.where(inside, np.pad(np.asarray(x._v, dtype=np.float64), pad_width), base)
        src = x if x.ndim else reshape(x, (1,))
        i = rec.push(OPCODES["scatter_set"], b._i, ravel(src)._i, -1, new,
                     params=np.concatenate(([pos.size], pos)))
        return wrap(rec, i, new)
    if mode in ("edge", "reflect", "symmetric", "wrap"):
        return index_map(x, lambda a: np.pad(a, pad_width, mode=mode))
    raise TracingError(f"numad: np.pad(mode={mode!r}) is not supported while tracing")


def around(x, decimals=0, out=None):
    if decimals == 0:
        return elementwise("round", x)
    scale = 10.0 ** decimals
    return elementwise("round", x * scale) / scale


def diag(v, k=0):
    s = shape_of(v)
    if len(s) == 1:
        n = s[0] + abs(k)
        rec = v._rec
        base = as_traced(rec, np.zeros((n, n)))
        rows = np.arange(s[0]) + max(-k, 0)
        cols = np.arange(s[0]) + max(k, 0)
        pos = rows * n + cols
        new = np.diag(v._v, k)
        i = rec.push(OPCODES["scatter_set"], base._i, v._i, -1, new,
                     params=np.concatenate(([pos.size], pos)))
        return wrap(rec, i, new)
    return index_map(v, lambda a: np.diagonal(a, k).copy())


def trace_(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return reduce_sum(index_map(a, lambda m: np.diagonal(m, offset, axis1, axis2).copy()), -1)


def like(kind):
    """np.zeros_like and friends of a traced array: a constant of its shape (a traced
    prototype gives only its shape; a non-float dtype gives NumPy's own answer)."""
    def make(a, fill_value=None, dtype=None, shape=None):
        proto = np.empty(shape_of(a))
        extra = (fill_value,) if kind == "full_like" else ()
        if dtype is not None and np.dtype(dtype).kind != "f":
            return getattr(np, kind)(proto, *extra, dtype=dtype, shape=shape)
        base = getattr(np, kind)(proto, *extra, shape=shape)
        if kind == "empty_like":
            base[...] = 0.0
        rec = a._rec
        i = rec.push(CONST, -1, -1, -1, base.astype(np.float64) if base.ndim else float(base))
        return wrap(rec, i, base.astype(np.float64) if base.ndim else float(base))
    if kind == "full_like":
        return make
    return lambda a, dtype=None, shape=None: make(a, None, dtype, shape)


provide(**{name: globals()[name] for name in ['copy_of', 'lift_objects', 'objects_to_traced', 'guard', 'clip', 'cumulative', 'dot', 'elementwise', 'getitem', 'logical_reduce', 'matmul', 'mean', 'reduce_max', 'reduce_min', 'reduce_prod', 'reduce_sum', 'reshape', 'setitem', 'squeeze', 'std', 'transpose', 'var', 'around']})
