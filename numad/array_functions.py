"""NumPy's array-manipulation and reduction functions, composed from recorded operations.

Each function here takes NumPy's arguments (``numad/numpy_dispatch.py`` binds them with
NumPy's own signature) and records only the primitives of ``numad/recording.py``:
gathers by positions, ``where``, the reductions, ``cumsum``, elementwise rows and
``matmul``. So every transformation (reverse, forward, nested, the compiled replays)
handles them with no rule of their own.

Rearrangements (``split``, ``take``, ``take_along_axis``) let NumPy rearrange an array of
positions and gather the traced entries at the positions it returns: NumPy's semantics
(its errors, negative indices, ``mode=``) come for free. Choices that depend on values
are recorded so that a replay at another point stays right: the ``nan*`` functions
record their nan masks as traced comparisons (``isnan``), so a replay at a point with
nans elsewhere masks those; ``maximum.accumulate`` records which entry holds each
running extreme as guards, so a replay where that changes traces anew instead of giving
a stale answer. The quantiles read a recorded sort (a replay sorts anew); ``where=``
masks of reductions are recorded ``where`` choices; ``np.allclose`` and
``np.array_equal`` answer Python bools, guarded.
"""
from __future__ import annotations

import operator
import warnings

import numpy as np

from .errors import TracingError
from .recording import (as_traced, broadcast_to, concatenate, copy_of, cumulative, diag,
                        elementwise, gather, getitem, guard, index_map, lift_objects,
                        logical_reduce, matmul, recorder_of, reduce_max, reduce_min,
                        reduce_prod, reduce_sum, reshape_any, setitem, shape_of, size_of,
                        sort, stack, transpose, where)
from .traced import Traced, value_of


# ---------------------------------------------------------------------------------------
# Gathering by positions


def _positions(x):
    """The flat position of every entry of ``x``, in ``x``'s shape."""
    shape = shape_of(x)
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)


def _pick(x, positions):
    """The entries of ``x`` at the flat ``positions`` (an int array of the result's shape)."""
    positions = np.asarray(positions, dtype=np.int64)
    value = np.asarray(value_of(x)).ravel()[positions]
    if not isinstance(x, Traced):
        return value
    if positions.size == 0:  # nothing to gather: an empty constant
        return as_traced(recorder_of((x,)), value.astype(np.float64))
    return gather(x, positions, positions.shape, np.array(value))


def _concrete_indices(indices):
    """Traced integer indices as an int array, guarded: a replay where they differ traces
    anew (as indexing with a traced array does)."""
    if not isinstance(indices, Traced):
        return indices
    v = np.asarray(value_of(indices), dtype=np.float64)
    if not np.all(v == np.floor(v)):
        raise IndexError("numad: traced indices must hold integers")
    guard(indices, v if v.ndim else float(v))
    return v.astype(np.int64)


def _concrete_mask(cond):
    """A traced (or constant) condition as a bool array; a traced one is guarded."""
    if not isinstance(cond, Traced):
        return np.asarray(cond, dtype=bool)
    v = np.asarray(value_of(cond))
    guard(cond, v.astype(np.float64) if v.ndim else float(v))
    return v.astype(bool)


def _moveaxis(x, source, destination):
    if not isinstance(x, Traced):
        return np.moveaxis(x, source, destination)
    return index_map(x, lambda m: np.moveaxis(m, source, destination))


def split(ary, indices_or_sections, axis=0):
    """``np.split``: a list of gathers, one per piece (empty pieces are constants)."""
    pieces = np.split(_positions(ary), _concrete_indices(indices_or_sections), axis)
    return [_pick(ary, p) for p in pieces]


def array_split(ary, indices_or_sections, axis=0):
    """``np.array_split``: as ``split``, the pieces' sizes as NumPy's."""
    pieces = np.array_split(_positions(ary), _concrete_indices(indices_or_sections), axis)
    return [_pick(ary, p) for p in pieces]


def splitter(np_fn):
    """``np.hsplit``, ``np.vsplit``, ``np.dsplit``: NumPy picks the axis from the shape."""
    def split_by(ary, indices_or_sections):
        pieces = np_fn(_positions(ary), _concrete_indices(indices_or_sections))
        return [_pick(ary, p) for p in pieces]
    return split_by


def take(a, indices, axis=None, mode="raise"):
    """``np.take`` (every ``mode``): NumPy takes from the positions, we gather."""
    return _pick(a, np.take(_positions(a), _concrete_indices(indices), axis=axis, mode=mode))


def take_along_axis(arr, indices, axis=-1):
    """``np.take_along_axis``; traced indices (an argsort's) are guarded."""
    return _pick(arr, np.take_along_axis(_positions(arr), _concrete_indices(indices), axis))


def tril(m, k=0):
    """``np.tril``: ``m`` under the k-th diagonal, zeros (with zero derivative) above."""
    mask = np.tri(*shape_of(m)[-2:], k=k, dtype=bool)
    return where(mask, m, 0.0)


def triu(m, k=0):
    """``np.triu``: ``m`` from the k-th diagonal up."""
    mask = np.tri(*shape_of(m)[-2:], k=k - 1, dtype=bool)
    return where(mask, 0.0, m)


# ---------------------------------------------------------------------------------------
# Products


def kron(a, b):
    """``np.kron``: the outer product with a's and b's axes interleaved, reshaped."""
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb:
        return elementwise("mul", a, b)
    nd_ = max(len(sa), len(sb))
    sa = (1,) * (nd_ - len(sa)) + sa
    sb = (1,) * (nd_ - len(sb)) + sb
    A = reshape_any(a, tuple(d for s in sa for d in (s, 1)))
    B = reshape_any(b, tuple(d for s in sb for d in (1, s)))
    return reshape_any(elementwise("mul", A, B), tuple(p * q for p, q in zip(sa, sb)))


def _component(v, k):
    return getitem(v, (Ellipsis, k)) if isinstance(v, Traced) else np.asarray(v)[..., k]


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``np.cross`` of 3- (and 2-) vectors along any axes, NumPy's products in NumPy's
    order (so the values are NumPy's)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    if len(shape_of(a)) < 1 or len(shape_of(b)) < 1:
        raise ValueError("At least one array has zero dimension")
    a = _moveaxis(a, axisa, -1)
    b = _moveaxis(b, axisb, -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n"
                         "(dimension must be 2 or 3)")
    if na == 2 or nb == 2:
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of "
                      "3-dimensional vectors instead. (deprecated in NumPy 2.0)",
                      DeprecationWarning, stacklevel=3)
    a0, a1, b0, b1 = _component(a, 0), _component(a, 1), _component(b, 0), _component(b, 1)
    cp2 = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return cp2
    if na == 2:
        b2 = _component(b, 2)
        cp0, cp1 = a1 * b2, -(a0 * b2)
    elif nb == 2:
        a2 = _component(a, 2)
        cp0, cp1 = -(a2 * b1), a2 * b0
    else:
        a2, b2 = _component(a, 2), _component(b, 2)
        cp0, cp1 = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2
    shape = np.broadcast_shapes(shape_of(cp0), shape_of(cp1), shape_of(cp2))
    parts = [broadcast_to(c, shape) if isinstance(c, Traced) else np.broadcast_to(c, shape)
             for c in (cp0, cp1, cp2)]
    return _moveaxis(stack(parts, axis=-1), -1, axisc)


def polyval(p, x):
    """``np.polyval``: Horner's scheme as NumPy runs it; ``p``, ``x`` or both traced."""
    if isinstance(p, np.poly1d) or isinstance(x, np.poly1d):
        raise TracingError("numad: np.polyval with a np.poly1d while tracing; pass its "
                           "coefficients (p.coeffs) instead")
    y = np.zeros(shape_of(x))
    coefficients = p if isinstance(p, Traced) else np.asarray(p)
    for pv in coefficients:
        y = y * x + pv
    return y


_MODES = {"v": "valid", "s": "same", "f": "full", 0: "valid", 1: "same", 2: "full"}


def _correlate_long_short(long, short, mode):
    """NumPy's correlation of the longer sequence with the shorter one (its C code's
    zero padding per mode), as one gather of windows and one matrix-vector product."""
    n1, n = shape_of(long)[0], shape_of(short)[0]
    mode = _MODES.get(mode.lower()[:1] if isinstance(mode, str) else mode, mode)
    if mode == "valid":
        left = right = 0
    elif mode == "same":
        left = n // 2
        right = n - left - 1
    elif mode == "full":
        left = right = n - 1
    else:
        raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})")
    length = n1 - n + 1 + left + right
    padded = long
    if left or right:
        padded = concatenate([np.zeros(left), long, np.zeros(right)]) \
            if isinstance(long, Traced) else np.concatenate([np.zeros(left), long,
                                                             np.zeros(right)])
    windows = np.arange(length)[:, None] + np.arange(n)[None, :]
    return matmul(_pick(padded, windows), short)


def _as_sequence(v, name):
    if len(shape_of(v)) != 1:
        if len(shape_of(v)) == 0:
            return reshape_any(v, (1,))
        raise ValueError(f"{name}: object too deep for desired array")
    return v


def correlate(a, v, mode="valid"):
    """``np.correlate`` of 1-D sequences (real: no conjugate), either or both traced."""
    a, v = _as_sequence(a, "correlate"), _as_sequence(v, "correlate")
    if shape_of(a)[0] == 0 or shape_of(v)[0] == 0:
        raise ValueError("correlate: inputs cannot be empty")
    if shape_of(a)[0] >= shape_of(v)[0]:
        return _correlate_long_short(a, v, mode)
    # NumPy swaps to correlate the longer with the shorter, then reverses the result
    out = _correlate_long_short(v, a, mode)
    return index_map(out, lambda m: m[::-1].copy()) if isinstance(out, Traced) else out[::-1]


def convolve(a, v, mode="full"):
    """``np.convolve``: as NumPy, the correlation with the shorter sequence reversed."""
    a, v = _as_sequence(a, "convolve"), _as_sequence(v, "convolve")
    if shape_of(v)[0] > shape_of(a)[0]:
        a, v = v, a
    if shape_of(a)[0] == 0:
        raise ValueError("a cannot be empty")
    if shape_of(v)[0] == 0:
        raise ValueError("v cannot be empty")
    reversed_v = index_map(v, lambda m: m[::-1].copy()) if isinstance(v, Traced) else \
        np.asarray(v)[::-1]
    return correlate(a, reversed_v, mode)


# ---------------------------------------------------------------------------------------
# Grids


def linspace(start, stop, num=50, endpoint=True, retstep=False, axis=0):
    """``np.linspace`` with traced ``start`` / ``stop``, NumPy's arithmetic step by step.

    NumPy's branch on a zero step (its denormal care) is a branch decision, guarded."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = (num - 1) if endpoint else num
    delta = elementwise("sub", stop, start)
    y = np.arange(0, num, dtype=np.float64).reshape((-1,) + (1,) * len(shape_of(delta)))
    if div > 0:
        step = delta / div
        zero = elementwise("equal", step, 0.0)
        if bool(zero if not shape_of(zero) else logical_reduce(zero, "any")):
            y = (y / div) * delta
        else:
            y = y * step
    else:
        step = np.nan
        y = y * delta
    y = y + start
    if endpoint and num > 1:
        if isinstance(y, Traced):
            y = y if type(y) is Traced else copy_of(y)  # (a fresh array to assign into)
            setitem(y, (-1, Ellipsis), stop)
        else:  # only num was traced
            y[-1, ...] = stop
    if axis != 0:
        y = _moveaxis(y, 0, axis)
    return (y, step) if retstep else y


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """``np.meshgrid``: reshapes and broadcasts of the (traced) coordinate vectors."""
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    ndim = len(xi)
    s0 = (1,) * ndim
    output = [reshape_any(x, s0[:i] + (-1,) + s0[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and ndim > 1:
        output[0] = reshape_any(output[0], (1, -1) + s0[2:])
        output[1] = reshape_any(output[1], (-1, 1) + s0[2:])
    if not sparse:
        shape = np.broadcast_shapes(*[shape_of(o) for o in output])
        output = [broadcast_to(o, shape) if isinstance(o, Traced) else
                  np.broadcast_to(o, shape) for o in output]
    if copy:  # NumPy's copies may be written into; views of traced values may not
        output = [copy_of(o) if isinstance(o, Traced) else np.array(o) for o in output]
    return tuple(output)


# ---------------------------------------------------------------------------------------
# Choices


def select(condlist, choicelist, default=0):
    """``np.select``: nested ``where``, the first true condition winning."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    for k, cond in enumerate(condlist):
        if np.asarray(value_of(cond)).dtype != bool:
            raise TypeError(f"invalid entry {k} in condlist: should be boolean ndarray")
    result = default
    for cond, choice in zip(condlist[::-1], choicelist[::-1]):
        result = where(cond, choice, result)
    return result


def piecewise(x, condlist, funclist, *args, **kw):
    """``np.piecewise``: each function applied to the entries its condition picks, as
    NumPy does. The conditions are branch decisions (which entries each function sees),
    guarded: a replay where one changes traces anew."""
    shape = shape_of(x)
    if not shape:  # a scalar: one entry, as a 1-vector
        out = piecewise(reshape_any(x, (1,)), [reshape_any(c, (1,)) if np.ndim(value_of(c))
                                                == 0 else c for c in _cond_list(condlist, x)],
                        funclist, *args, **kw)
        return reshape_any(out, ())
    masks = [np.broadcast_to(_concrete_mask(c), shape) for c in _cond_list(condlist, x)]
    n, n2 = len(masks), len(funclist)
    if n == n2 - 1:
        masks.append(~np.any(masks, axis=0))
    elif n != n2:
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are "
                         "expected")
    y = as_traced(recorder_of((x,)), np.zeros(shape)) if isinstance(x, Traced) else \
        np.zeros(shape)
    y = copy_of(y) if isinstance(y, Traced) else y  # a fresh entry to assign into
    for mask, func in zip(masks, funclist):
        if not callable(func):
            y[mask] = func
        elif mask.any():
            y[mask] = func(x[mask], *args, **kw)
    return y


def _cond_list(condlist, x):
    if np.isscalar(condlist) or (not isinstance(condlist[0], (list, np.ndarray, Traced))
                                 and len(shape_of(x)) != 0):
        return [condlist]
    return list(condlist)


# ---------------------------------------------------------------------------------------
# Reductions that skip nans: the nan masks are traced comparisons, so a replay at a
# point with nans elsewhere masks those


def _nan_mask(a):
    return elementwise("isnan", a)


def _without_nans(a, fill):
    return where(_nan_mask(a), fill, a)


def nansum(a, axis=None, keepdims=False):
    """``np.nansum``: nans count as 0 (and get zero derivative)."""
    return reduce_sum(_without_nans(a, 0.0), axis, keepdims)


def nanprod(a, axis=None, keepdims=False):
    """``np.nanprod``: nans count as 1."""
    return reduce_prod(_without_nans(a, 1.0), axis, keepdims)


def _count_of_numbers(a, axis, keepdims):
    return reduce_sum(elementwise("logical_not", _nan_mask(a)), axis, keepdims)


def nanmean(a, axis=None, keepdims=False):
    """``np.nanmean``: the mean of the entries that are not nan (nan where none is)."""
    return reduce_sum(_without_nans(a, 0.0), axis, keepdims) / \
        _count_of_numbers(a, axis, keepdims)


def _nan_extreme(reduce, fill):
    def extreme(a, axis=None, keepdims=False):
        r = reduce(_without_nans(a, fill), axis, keepdims)
        all_nan = logical_reduce(_nan_mask(a), "all", axis, keepdims)
        return where(all_nan, np.nan, r)
    return extreme


nanmax = _nan_extreme(reduce_max, -np.inf)
nanmax.__doc__ = "``np.nanmax``: the largest entry that is not nan (nan where none is)."
nanmin = _nan_extreme(reduce_min, np.inf)
nanmin.__doc__ = "``np.nanmin``: the smallest entry that is not nan (nan where none is)."


def nanvar(a, axis=None, ddof=0, keepdims=False, correction=None):
    """``np.nanvar``, NumPy's steps: nan where fewer than ``ddof`` + 1 numbers remain."""
    ddof = ddof if correction is None else correction
    zeroed = _without_nans(a, 0.0)
    count = _count_of_numbers(a, axis, True)
    mean = reduce_sum(zeroed, axis, True) / count
    deviation = where(_nan_mask(a), 0.0, zeroed - mean)
    dof = _count_of_numbers(a, axis, keepdims) - ddof
    spread = reduce_sum(deviation * deviation, axis, keepdims) / dof
    return where(elementwise("less_equal", dof, 0.0), np.nan, spread)


def nanstd(a, axis=None, ddof=0, keepdims=False, correction=None):
    """``np.nanstd``: the root of ``nanvar``, with derivative 0 where it is 0 (a norm's
    kink, as ``np.std``)."""
    v = nanvar(a, axis, ddof, keepdims, correction)
    zero = elementwise("equal", v, 0.0)
    return where(zero, 0.0, elementwise("sqrt", where(zero, 1.0, v)))


def ptp(a, axis=None, keepdims=False):
    """``np.ptp``: max - min (ties share the derivative, as ``np.max``)."""
    return reduce_max(a, axis, keepdims) - reduce_min(a, axis, keepdims)


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """``np.average``, NumPy's steps; ``a``, ``weights`` or both traced."""
    if isinstance(axis, (list, tuple)):
        axis = tuple(axis)
    if weights is None:
        avg = reduce_sum(a, axis, keepdims) / float(_count(shape_of(a), axis))
        scale = float(_count(shape_of(a), axis))
    else:
        w = _weights_like(a, weights, axis)
        scale = reduce_sum(w, axis, keepdims) if isinstance(w, Traced) else \
            np.sum(w, axis=axis, keepdims=keepdims)
        if np.any(np.asarray(value_of(scale)) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = reduce_sum(elementwise("mul", a, w), axis, keepdims) / scale
    if not returned:
        return avg
    if shape_of(scale) != shape_of(avg):
        scale = broadcast_to(scale, shape_of(avg)) if isinstance(scale, Traced) else \
            np.broadcast_to(scale, shape_of(avg)).copy()
        scale = copy_of(scale) if isinstance(scale, Traced) else scale
    return avg, scale


def _count(shape, axis):
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    return int(np.prod([shape[d] for d in axes], dtype=np.int64))


def _weights_like(a, weights, axis):
    """The weights in ``a``'s shape: NumPy's rules for 1-D weights along ``axis``."""
    sa, sw = shape_of(a), shape_of(weights)
    if sa == sw:
        return weights
    if axis is None:
        raise TypeError("Axis must be specified when shapes of a and weights differ.")
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(d % len(sa) for d in axes)
    if sw != tuple(sa[d] for d in axes):
        raise ValueError("Shape of weights must be consistent with shape of a along "
                         "specified axis.")
    # NumPy: weights.transpose(argsort(axes)) reshaped to 1s outside the axes
    order = list(np.argsort(axes))
    w = _moveaxis(weights, order, list(range(len(order)))) if order != sorted(order) \
        else weights
    shape = tuple(sa[d] if d in axes else 1 for d in range(len(sa)))
    return reshape_any(w, shape)


# ---------------------------------------------------------------------------------------
# Running extremes: np.maximum.accumulate / np.minimum.accumulate


def running_extreme(kind):
    """``np.maximum.accumulate`` (``kind="max"``) or ``np.minimum.accumulate``.

    Each running extreme is a gather of the entry that holds it; which entry that is
    depends on the values, so it is recorded by guards on the comparisons that decide
    it (a replay where one changes traces anew). A nan, as NumPy's, holds the extreme
    from where it appears on. Entries tied at the extreme share its derivative equally,
    as ``np.max``'s do: the tied entries' differences (exactly 0) are added, weighted.
    """
    ufunc = np.maximum if kind == "max" else np.minimum
    beats = "greater" if kind == "max" else "less"

    def accumulate(x, axis=0):
        if not isinstance(x, Traced):
            return ufunc.accumulate(x, axis=axis)
        v = np.asarray(value_of(x))
        value = ufunc.accumulate(v, axis=axis)  # (NumPy's errors: a scalar, a bad axis)
        ax = axis % v.ndim if axis is not None else 0
        pos = np.moveaxis(_positions(x), ax, -1)
        run = np.moveaxis(value, ax, -1)
        n = run.shape[-1]
        if n == 0:
            return _pick(x, np.moveaxis(pos, -1, ax))
        tie, start, count = _running_decisions(np.moveaxis(v, ax, -1), run)
        held = np.take_along_axis(pos, start, -1)  # the position holding each extreme
        if n > 1:
            _guard_decisions(x, pos[..., 1:], held[..., :-1], beats)
        y = gather(x, np.moveaxis(held, -1, ax), v.shape, value)
        if not np.any(count > 1):
            return y
        return elementwise("add", y, _moveaxis(
            _tie_shares(x, pos, held, tie, start, count), -1, ax))
    accumulate.__name__ = f"{ufunc.__name__}_accumulate"
    return accumulate


def _running_decisions(v, run):
    """Along the last axis, from the values ``v`` and their running extreme ``run``:
    where an entry ties with the held extreme (``tie``, finite values only), where the
    run of each extreme started (``start``: the index holding it, its first entry), and
    how many entries share it (``count``)."""
    n = run.shape[-1]
    prev = run[..., :-1]
    first = np.ones(run.shape[:-1] + (1,), dtype=bool)
    # a new extreme: a different running value, unless a nan already holds it
    new = np.concatenate([first, (run[..., 1:] != prev) & ~np.isnan(prev)], axis=-1)
    tie = np.concatenate([~first, (v[..., 1:] == prev) & np.isfinite(prev)], axis=-1) & ~new
    index = np.broadcast_to(np.arange(n), run.shape)
    start = np.maximum.accumulate(np.where(new, index, 0), axis=-1)
    ties_so_far = np.cumsum(tie, axis=-1)
    tied_before_start = np.take_along_axis(ties_so_far - tie, start, -1)
    count = 1 + ties_so_far - tied_before_start
    return tie, start, count


def _guard_decisions(x, later, held_before, beats):
    """Guard what decided each step: whether the entry beats the held extreme (or is a
    nan where the held one is not), and whether it ties with it."""
    entry = _pick(x, later)
    held = _pick(x, held_before)
    wins = elementwise("logical_or", elementwise(beats, entry, held), elementwise(
        "logical_and", _nan_mask(entry), elementwise("logical_not", _nan_mask(held))))
    ties = elementwise("equal", entry, held)
    # (at the traced point they say what _running_decisions read off NumPy's result)
    guard(wins, np.asarray(value_of(wins), dtype=np.float64))
    guard(ties, np.asarray(value_of(ties), dtype=np.float64))


def _tie_shares(x, pos, held, tie, start, count):
    """(1/count) * the sum of (x_j - x_held) over the entries j tied in the current run:
    exactly 0 in value, it moves the derivative from the held entry to all tied ones
    equally. Along the last axis, in the moved layout."""
    entries = _pick(x, pos)
    gap = where(tie, elementwise("sub", entries, _pick(x, held)), 0.0)
    total = cumulative("cumsum", gap, -1)
    lead = concatenate([np.zeros(shape_of(total)[:-1] + (1,)), total], axis=-1)
    before = _pick(lead, np.take_along_axis(_positions(lead), start, -1))
    return elementwise("div", elementwise("sub", total, before), count.astype(np.float64))


running_max = running_extreme("max")
running_min = running_extreme("min")


# ---------------------------------------------------------------------------------------
# Order statistics: np.quantile, np.percentile and their nan-skipping twins. The sort is
# a recorded operation (a replay sorts anew), so the entries the interpolation reads are
# right at every point; only which entries are nans (the nan* versions) is a decision,
# guarded.


def _operand(x):
    """A traced value as it is; anything else as a float array (NumPy's asarray)."""
    if isinstance(x, Traced):
        return x
    (x,) = lift_objects((x,))
    return x if isinstance(x, Traced) else np.asarray(x, dtype=np.float64)


def _constant_q(q, name):
    if isinstance(q, Traced):
        raise TracingError(f"numad: {name} with a traced q is not supported; q must be "
                           "a constant (the derivative is taken with respect to the data)")
    q = np.asarray(q, dtype=np.float64)
    if np.any((q < 0.0) | (q > 1.0)) or np.any(np.isnan(q)):
        raise ValueError("Quantiles must be in the range [0, 1]")
    return q


def _slices_first(a, axis):
    """``a`` with the reduced axes merged into the first one: (n, *rest), and ``rest``."""
    shape = shape_of(a)
    if axis is None:
        return reshape_any(a, (-1,)), ()
    axes = sorted({int(d) % len(shape) for d in ((axis,) if np.ndim(axis) == 0 else axis)})
    moved = _moveaxis(a, axes, list(range(len(axes))))
    rest = tuple(shape[d] for d in range(len(shape)) if d not in axes)
    return reshape_any(moved, (-1,) + rest), rest


def _lerp(a, b, t):
    """NumPy's ``_lerp``: from ``b`` backwards where t >= 0.5 (its exact arithmetic)."""
    diff = b - a
    return where(t >= 0.5, b - diff * (1.0 - t), a + diff * t)


def _quantile_of_sorted(s, counts, q):
    """The linear-method quantiles ``q`` of each column of ``s`` (sorted along the first
    axis, numbers first) that holds ``counts`` numbers: shape ``q.shape + columns``."""
    n, cols = shape_of(s)[0], int(np.prod(shape_of(s)[1:], dtype=np.int64))
    counts = np.broadcast_to(counts, (cols,))
    qq = q.reshape(q.shape + (1,))
    virtual = qq * (np.maximum(counts, 1) - 1)
    lo = np.floor(virtual)
    t = virtual - lo
    lo = lo.astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(counts, 1) - 1)
    column = np.arange(cols, dtype=np.int64)
    flat = reshape_any(s, (n * cols,))
    out = _lerp(_pick(flat, lo * cols + column), _pick(flat, hi * cols + column), t)
    return out, counts


def _quantile(a, q, axis, keepdims, skip_nans, name):
    a = _operand(a)
    shape = shape_of(a)
    s, rest = _slices_first(a, axis)
    if shape_of(s)[0] == 0:
        raise IndexError(f"numad: {name} of an empty array")
    s = sort(s, axis=0) if isinstance(s, Traced) else np.sort(s, axis=0)
    cols = shape_of(s)[1:]
    if skip_nans:  # how many numbers each slice holds: a decision, guarded
        counts = np.sum(~_concrete_mask(_nan_mask(s)), axis=0).reshape(-1)
    else:
        counts = np.full(int(np.prod(cols, dtype=np.int64)), shape_of(s)[0])
    out, counts = _quantile_of_sorted(s, counts, q)
    if skip_nans:  # a slice of nans only: nan, as NumPy's
        out = where(counts == 0, np.nan, out)
    else:  # a nan sorts last; NumPy's answer for a slice holding one is nan
        last = _pick(reshape_any(s, (-1,)), (shape_of(s)[0] - 1) * len(counts)
                     + np.arange(len(counts)))
        out = where(_nan_mask(last), np.nan, out)
    out = reshape_any(out, q.shape + rest)
    if keepdims:
        kept = tuple(1 if axis is None or d in _axes_of(axis, len(shape)) else shape[d]
                     for d in range(len(shape)))
        out = reshape_any(out, q.shape + kept)
    return out


def _axes_of(axis, ndim):
    return {int(d) % ndim for d in ((axis,) if np.ndim(axis) == 0 else axis)}


def _check_method(method, name):
    if method != "linear":
        raise TracingError(f"numad: {name}(..., method={method!r}) is not supported while "
                           "tracing; only the default method='linear'")


def quantile(a, q, axis=None, method="linear", keepdims=False):
    """``np.quantile`` (``method='linear'``): sorted entries interpolated linearly, as
    NumPy's arithmetic; a slice holding a nan gives nan."""
    _check_method(method, "np.quantile")
    return _quantile(a, _constant_q(q, "np.quantile"), axis, keepdims, False, "np.quantile")


def percentile(a, q, axis=None, method="linear", keepdims=False):
    """``np.percentile``: ``np.quantile`` at ``q / 100``."""
    _check_method(method, "np.percentile")
    _constant_q(0.0 if not isinstance(q, Traced) else q, "np.percentile")
    q = _constant_q(np.true_divide(np.asarray(q, dtype=np.float64), 100), "np.percentile")
    return _quantile(a, q, axis, keepdims, False, "np.percentile")


def nanquantile(a, q, axis=None, method="linear", keepdims=False):
    """``np.nanquantile``: the quantiles of each slice's numbers (which entries are nans
    is guarded: a replay where that changes traces anew)."""
    _check_method(method, "np.nanquantile")
    return _quantile(a, _constant_q(q, "np.nanquantile"), axis, keepdims, True,
                     "np.nanquantile")


def nanpercentile(a, q, axis=None, method="linear", keepdims=False):
    """``np.nanpercentile``: ``np.nanquantile`` at ``q / 100``."""
    _check_method(method, "np.nanpercentile")
    _constant_q(0.0 if not isinstance(q, Traced) else q, "np.nanpercentile")
    q = np.true_divide(np.asarray(q, dtype=np.float64), 100)
    return _quantile(a, _constant_q(q, "np.nanpercentile"), axis, keepdims, True,
                     "np.nanpercentile")


# ---------------------------------------------------------------------------------------
# Statistics between variables: np.cov, np.corrcoef, NumPy's steps


def _constant_weights(w, n, name):
    if w is None:
        return None
    if isinstance(w, Traced):
        raise TracingError(f"numad: np.cov with traced {name} is not supported; the "
                           "weights must be constants")
    w = np.asarray(w, dtype=np.float64)
    if w.ndim > 1:
        raise RuntimeError(f"cannot handle multidimensional {name}")
    if w.shape[0] != n:
        raise RuntimeError(f"incompatible numbers of samples and {name}")
    if np.any(w < 0):
        raise ValueError(f"{name} cannot be negative")
    if name == "fweights" and not np.all(w == np.around(w)):
        raise TypeError("fweights must be integer")
    return w


def _rows(m, rowvar, is_y):
    """NumPy's ``array(m, ndmin=2)``, transposed when the variables are columns."""
    m = _operand(m)
    ndim = len(shape_of(m))
    X = reshape_any(m, (1,) * (2 - ndim) + shape_of(m)) if ndim < 2 else m
    if not rowvar and (shape_of(X)[0] != 1 if is_y else ndim != 1):
        X = transpose(X) if isinstance(X, Traced) else X.T
    return X


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None):
    """``np.cov``: the centered rows' products, NumPy's normalization (``ddof``,
    ``bias``, constant ``fweights`` / ``aweights``)."""
    X = _rows(m, rowvar, False)
    if shape_of(X)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        X = concatenate([X, _rows(y, rowvar, True)], axis=0)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    n = shape_of(X)[1]
    f = _constant_weights(fweights, n, "fweights")
    a = _constant_weights(aweights, n, "aweights")
    w = f if a is None else (a if f is None else f * a)
    if w is None:
        avg = reduce_sum(X, 1) / float(n)
        fact = float(n - ddof)
    else:
        w_sum = float(np.sum(w))
        if w_sum == 0.0:
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = reduce_sum(X * w, 1) / w_sum
        fact = w_sum if ddof == 0 else (w_sum - ddof if a is None else
                                        w_sum - ddof * float(np.sum(w * a)) / w_sum)
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        fact = 0.0
    Xc = X - reshape_any(avg, (-1, 1))
    Xt = transpose(Xc if w is None else Xc * w)
    with np.errstate(divide="ignore"):
        c = matmul(Xc, Xt) * (1.0 / fact)
    shape = tuple(d for d in shape_of(c) if d != 1)
    return reshape_any(c, shape)


def corrcoef(x, y=None, rowvar=True):
    """``np.corrcoef``: the covariance scaled by the standard deviations, clipped to
    [-1, 1] as NumPy's (the diagonal is 1, with derivative 0)."""
    c = cov(x, y, rowvar)
    if len(shape_of(c)) == 0:
        return c / c
    d = _pick(c, _positions(c).diagonal().copy())
    stddev = elementwise("sqrt", d)
    c = c / reshape_any(stddev, (-1, 1))
    c = c / reshape_any(stddev, (1, -1))
    return elementwise("minimum", elementwise("maximum", c, -1.0), 1.0)


# ---------------------------------------------------------------------------------------
# Calculus on samples: np.trapezoid, np.gradient, np.ediff1d


def _along(x, axis, part):
    """``x[..., part, ...]`` with ``part`` (a slice or an int) on ``axis``."""
    key = [slice(None)] * len(shape_of(x))
    key[axis] = part
    return x[tuple(key)]


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``np.trapezoid``: NumPy's sum of (y[1:] + y[:-1]) / 2 times the steps; ``y``,
    ``x`` or ``dx`` may be traced."""
    y = _operand(y)
    nd_ = len(shape_of(y))
    if x is None:
        d = dx
    else:
        x = _operand(x)
        if len(shape_of(x)) == 1:
            d = x[1:] - x[:-1]
            shape = [1] * nd_
            shape[axis] = shape_of(d)[0]
            d = reshape_any(d, tuple(shape))
        else:
            d = _along(x, axis, slice(1, None)) - _along(x, axis, slice(None, -1))
    total = d * (_along(y, axis, slice(1, None)) + _along(y, axis, slice(None, -1))) / 2.0
    return reduce_sum(total, axis) if isinstance(total, Traced) else np.sum(total, axis)


def ediff1d(ary, to_end=None, to_begin=None):
    """``np.ediff1d``: the differences of the raveled array between ``to_begin`` and
    ``to_end`` (each raveled)."""
    flat = reshape_any(_operand(ary), (-1,))
    parts = [flat[1:] - flat[:-1]]
    if to_begin is not None:
        parts.insert(0, reshape_any(_operand(to_begin), (-1,)))
    if to_end is not None:
        parts.append(reshape_any(_operand(to_end), (-1,)))
    return concatenate(parts) if len(parts) > 1 else parts[0]


def _spacings(varargs, f_shape, axes):
    """NumPy's spacing per axis: a scalar, or the coordinates' differences (a scalar
    again where they are uniform). Constant coordinates only."""
    n = len(axes)
    if len(varargs) == 0:
        return [1.0] * n
    if len(varargs) == 1 and np.ndim(value_of(varargs[0])) == 0:
        varargs = varargs * n
    if len(varargs) != n:
        raise TypeError("invalid number of arguments")
    out = []
    for k, distances in enumerate(varargs):
        if isinstance(distances, Traced):
            raise TracingError("numad: np.gradient with traced spacing is not supported; "
                               "the spacing or coordinates must be constants")
        distances = np.asarray(distances, dtype=np.float64)
        if distances.ndim == 0:
            out.append(float(distances))
            continue
        if distances.ndim != 1:
            raise ValueError("distances must be either scalars or 1d")
        if len(distances) != f_shape[axes[k]]:
            raise ValueError("when 1d, distances must match the length of the "
                             "corresponding dimension")
        diffx = np.diff(distances)
        out.append(float(diffx[0]) if np.all(diffx == diffx[0]) else diffx)
    return out


def _gradient_along_first(f, dx, edge_order):
    """np.gradient along the first axis of ``f`` with spacing ``dx``, NumPy's formulas."""
    n = shape_of(f)[0]
    if n < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, "
                         "at least (edge_order + 1) elements are required.")
    bshape = (-1,) + (1,) * (len(shape_of(f)) - 1)
    uniform = np.ndim(dx) == 0
    if uniform:
        interior = (f[2:] - f[:-2]) / (2.0 * dx)
    else:
        dx1, dx2 = dx[:-1], dx[1:]
        a = (-(dx2) / (dx1 * (dx1 + dx2))).reshape(bshape)
        b = ((dx2 - dx1) / (dx1 * dx2)).reshape(bshape)
        c = (dx1 / (dx2 * (dx1 + dx2))).reshape(bshape)
        interior = a * f[:-2] + b * f[1:-1] + c * f[2:]
    if edge_order == 1:
        first = (f[1] - f[0]) / (dx if uniform else dx[0])
        last = (f[-1] - f[-2]) / (dx if uniform else dx[-1])
    else:
        if uniform:
            a, b, c = -1.5 / dx, 2.0 / dx, -0.5 / dx
        else:
            dx1, dx2 = dx[0], dx[1]
            a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
            b = (dx1 + dx2) / (dx1 * dx2)
            c = -dx1 / (dx2 * (dx1 + dx2))
        first = a * f[0] + b * f[1] + c * f[2]
        if uniform:
            a, b, c = 0.5 / dx, -2.0 / dx, 1.5 / dx
        else:
            dx1, dx2 = dx[-2], dx[-1]
            a = dx2 / (dx1 * (dx1 + dx2))
            b = -(dx2 + dx1) / (dx1 * dx2)
            c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
        last = a * f[-3] + b * f[-2] + c * f[-1]
    one = (1,) + shape_of(f)[1:]
    return concatenate([reshape_any(first, one), interior, reshape_any(last, one)], axis=0)


def gradient(f, *varargs, axis=None, edge_order=1):
    """``np.gradient``: central differences inside, one-sided ones (``edge_order`` 1 or
    2) at the ends, NumPy's formulas; scalar spacing or constant coordinates per axis.
    One array for one axis, a tuple for several (NumPy's)."""
    f = _operand(f)
    ndim = len(shape_of(f))
    axes = tuple(range(ndim)) if axis is None else tuple(
        sorted(_axes_of(axis, ndim), key=list(np.atleast_1d(axis) % ndim).index))
    if edge_order > 2 or edge_order < 1:
        raise ValueError("'edge_order' greater than 2 not supported")
    spacings = _spacings(list(varargs), shape_of(f), axes)
    out = []
    for ax, dx in zip(axes, spacings):
        moved = _moveaxis(f, ax, 0)
        out.append(_moveaxis(_gradient_along_first(moved, dx, edge_order), 0, ax))
    return out[0] if len(out) == 1 else tuple(out)


# ---------------------------------------------------------------------------------------
# Running sums and products with NumPy 2's names, rotations, and arrays rebuilt around
# inserted or deleted entries (NumPy rebuilds an array of positions; we gather)


def _cumulative_named(opname, start):
    def accumulate(x, axis=None, include_initial=False):
        x = _operand(x)
        if axis is None:
            if len(shape_of(x)) > 1:
                raise ValueError("For arrays which have more than one dimension "
                                 "``axis`` argument is required.")
            axis = 0
        if len(shape_of(x)) == 0:
            raise ValueError("Scalar input is not supported")
        out = cumulative(opname, x, axis)
        if not include_initial:
            return out
        shape = list(shape_of(out))
        shape[axis] = 1
        return concatenate([np.full(shape, start), out], axis=axis)
    return accumulate


cumulative_sum = _cumulative_named("cumsum", 0.0)
cumulative_sum.__doc__ = "``np.cumulative_sum``: ``cumsum``, a 0 first with include_initial."
cumulative_prod = _cumulative_named("cumprod", 1.0)
cumulative_prod.__doc__ = "``np.cumulative_prod``: ``cumprod``, a 1 first with \
include_initial."


def rot90(m, k=1, axes=(0, 1)):
    """``np.rot90``: a rearrangement, NumPy's on the positions."""
    m = _operand(m)
    return index_map(m, lambda v: np.rot90(v, k, axes).copy())


def _with_values(arr, values, rebuild):
    """``rebuild(positions of arr, positions of values)`` run by NumPy on positions into
    [arr raveled, values raveled], then the traced entries gathered at them."""
    arr, values = _operand(arr), _operand(values)
    n = size_of(arr)
    own = _positions(arr)
    theirs = n + _positions(values)
    positions = rebuild(own, theirs)
    source = concatenate([reshape_any(arr, (-1,)), reshape_any(values, (-1,))])
    return _pick(source, positions)


def append(arr, values, axis=None):
    """``np.append``: NumPy appends the positions (its raveling and errors)."""
    return _with_values(arr, values, lambda p, v: np.append(p, v, axis))


def insert(arr, obj, values, axis=None):
    """``np.insert`` with constant ``obj``: NumPy inserts the positions (its broadcasting
    of ``values`` and its index rules)."""
    obj = _concrete_indices(obj)
    return _with_values(arr, values, lambda p, v: np.insert(p, obj, v, axis))


def delete(arr, obj, axis=None):
    """``np.delete`` with constant ``obj``: the entries NumPy keeps, gathered."""
    arr = _operand(arr)
    return _pick(arr, np.delete(_positions(arr), _concrete_indices(obj), axis))


def vander(x, N=None, increasing=False):
    """``np.vander``: columns of running products, NumPy's multiply.accumulate."""
    x = _operand(x)
    if len(shape_of(x)) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = shape_of(x)[0]
    N = n if N is None else operator.index(N)
    columns = [np.ones((n, min(N, 1)))]
    if N > 1:
        repeated = broadcast_to(reshape_any(x, (n, 1)), (n, N - 1))
        columns.append(cumulative("cumprod", repeated, 1))
    v = concatenate(columns, axis=1)
    return v if increasing else index_map(v, lambda m: m[:, ::-1].copy())


def diagflat(v, k=0):
    """``np.diagflat``: ``np.diag`` of the raveled entries."""
    return diag(reshape_any(_operand(v), (-1,)), k)


def block(arrays):
    """``np.block`` of nested lists: NumPy's rule, each nesting level concatenated along
    its own axis from the last one back, the pieces raised to a common rank first."""
    depth, leaves = _nesting(arrays)
    ndim = max([depth] + [len(shape_of(a)) for a in leaves])

    def build(item, level):
        if not isinstance(item, list):
            item = _operand(item)
            return reshape_any(item, (1,) * (ndim - len(shape_of(item))) + shape_of(item))
        return concatenate([build(a, level + 1) for a in item], axis=-(depth - level))
    return build(arrays, 0)


def _nesting(arrays):
    if isinstance(arrays, tuple):
        raise TypeError("arrays is a tuple. Only lists can be used to arrange blocks, "
                        "and np.block does not allow implicit conversion from tuple to "
                        "ndarray.")
    if not isinstance(arrays, list):
        return 0, [arrays]
    if not arrays:
        raise ValueError("List at arrays cannot be empty")
    found = [_nesting(a) for a in arrays]
    depths = {d for d, _ in found}
    if len(depths) != 1:
        raise ValueError("List depths are mismatched.")
    return depths.pop() + 1, [leaf for _, ls in found for leaf in ls]


# ---------------------------------------------------------------------------------------
# Reductions with where= and initial=: the masked-out entries replaced by the reduction's
# identity (or initial) by a recorded ``where``, so a traced mask is replayed, not frozen


def _masked(a, mask, fill):
    if mask is None:
        return a
    shape = np.broadcast_shapes(shape_of(a), shape_of(mask))
    if shape != shape_of(a):
        raise ValueError(f"operands could not be broadcast together with shapes "
                         f"{shape_of(a)} {shape_of(mask)}")
    if not isinstance(mask, Traced) and np.all(mask):  # (where=True: nothing to record)
        return a
    return where(mask, a, fill)


def _with_initial(reduce, combine, identity, name):
    def reduction(a, axis=None, keepdims=False, initial=None, where=None):
        # (sum and prod fill with their identity and take initial in after; max and
        # min, which have none, fill with initial itself)
        fill = identity if identity is not None else initial
        if fill is None and where is not None:
            raise ValueError(f"reduction operation '{name}' does not have an identity, "
                             "so to use a where mask one has to specify 'initial'")
        if isinstance(initial, Traced):
            raise TracingError(f"numad: np.{name} with a traced initial is not supported")
        out = reduce(_masked(_operand(a), where, fill), axis, keepdims)
        return out if initial is None else elementwise(combine, out, float(initial))
    reduction.__name__ = name
    reduction.__doc__ = (f"``np.{name}`` with NumPy's ``where=`` (the masked-out entries "
                         f"count as the identity or ``initial``) and ``initial=``.")
    return reduction


masked_sum = _with_initial(reduce_sum, "add", 0.0, "sum")
masked_prod = _with_initial(reduce_prod, "mul", 1.0, "prod")
masked_max = _with_initial(reduce_max, "maximum", None, "max")
masked_min = _with_initial(reduce_min, "minimum", None, "min")


def masked_mean(a, axis=None, keepdims=False, where=None):
    """``np.mean`` with NumPy's ``where=``: the sum of the entries it keeps over their
    count (a traced mask's count is traced too, with zero derivative)."""
    a = _operand(a)
    if where is None:
        return reduce_sum(a, axis, keepdims) / float(_count(shape_of(a), axis))
    total = reduce_sum(_masked(a, where, 0.0), axis, keepdims)
    kept = where if isinstance(where, Traced) else np.asarray(where, dtype=np.float64)
    kept = broadcast_to(kept, shape_of(a)) if isinstance(kept, Traced) else \
        np.broadcast_to(kept, shape_of(a))
    count = reduce_sum(kept, axis, keepdims) if isinstance(kept, Traced) else \
        np.sum(kept, axis=axis, keepdims=keepdims)
    with np.errstate(divide="ignore", invalid="ignore"):
        return total / count


# ---------------------------------------------------------------------------------------
# Comparisons of whole arrays: isclose is a traced (boolean) array; allclose and
# array_equal answer a Python bool, a branch decision recorded as a guard


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``np.isclose``: ``|a - b| <= atol + rtol * |b|`` for finite entries, equality for
    infinite ones, nans equal where ``equal_nan`` (a traced bool array)."""
    a, b = _operand(a), _operand(b)
    finite = elementwise("logical_and", elementwise("isfinite", a),
                         elementwise("isfinite", b))
    near = elementwise("less_equal", elementwise("abs", elementwise("sub", a, b)),
                       elementwise("add", atol, elementwise("mul", rtol,
                                                            elementwise("abs", b))))
    close = where(finite, near, elementwise("equal", a, b))
    if equal_nan:
        close = elementwise("logical_or", close, elementwise(
            "logical_and", _nan_mask(a), _nan_mask(b)))
    return close


def _decided(condition):
    """A traced bool (or a constant) as a Python bool; a traced one is guarded."""
    if not isinstance(condition, Traced):
        return bool(condition)
    value = bool(value_of(condition))
    guard(condition, float(value))
    return value


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``np.allclose``: whether ``isclose`` holds everywhere, a guarded decision (a
    replay where the answer changes traces anew)."""
    close = isclose(a, b, rtol, atol, equal_nan)
    return _decided(logical_reduce(close, "all") if shape_of(close) else close)


def array_equal(a1, a2, equal_nan=False):
    """``np.array_equal``: equal shapes and entries (a guarded decision)."""
    a1, a2 = _operand(a1), _operand(a2)
    if shape_of(a1) != shape_of(a2):
        return False
    same = elementwise("equal", a1, a2)
    if equal_nan:
        same = elementwise("logical_or", same, elementwise(
            "logical_and", _nan_mask(a1), _nan_mask(a2)))
    return _decided(logical_reduce(same, "all") if shape_of(same) else same)
