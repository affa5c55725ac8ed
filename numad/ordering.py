"""Orderings of traced values: argsort, partition, argmax, searchsorted, unique, interp.

Each of these takes a *decision* on the values (a permutation, an index, the interval
a point falls in) and then either answers with it (integer indices) or rearranges the
values by it (a gather, whose derivative is the permutation's). A tape replayed at
another point would keep the old decision, so each decision is recorded with guard
entries (``recording.guard``) on the comparisons it rests on: a replay where one of
them turns out differently fails its guard, and the adapters trace again
(``nd.gradient``) or ``Tape`` raises ``nd.ControlFlowChanged``; it never answers with
the old decision.

What is guarded:

* a permutation (argsort, partition, argpartition, unique) rests on the order of the
  whole line, ties included: adjacent entries of the stably sorted line keep both
  their ``<=`` and their ``<``. NumPy's sorting and selection algorithms branch on
  comparisons only, so with every comparison's outcome kept they give the same
  permutation (their own tie order included). This is stricter than needed for a
  partition, never looser;
* argmax / argmin: the winner is still ``>`` every entry before it and ``>=`` every
  entry after it (NumPy returns the first of tied extremes);
* searchsorted and interp: ``a[k-1] < v <= a[k]`` (``side="left"``) or
  ``a[k-1] <= v < a[k]`` (``side="right"``, and interp) for the index ``k`` found.

A NaN among compared values has no order that a guard can keep, so it is refused with
a TracingError (interp excepted: a NaN point gives NaN, as NumPy's, and whether a point
is NaN is guarded).
"""
from __future__ import annotations

import numpy as np

from . import recording as R
from .errors import TracingError
from .traced import Traced, value_of


# ---------------------------------------------------------------------------------------
# Guards


def _guard_true(mask, what):
    """Guard a traced comparison that holds everywhere now (a NaN makes it fail)."""
    if not isinstance(mask, Traced):
        return  # both sides constant: nothing that a replay could change
    v = np.asarray(value_of(mask))
    if not np.all(v):
        raise TracingError(f"numad: {what} of traced values holding NaN: NaN has no order "
                           "that a recorded decision could keep at other points; remove "
                           "the NaN first (np.where(np.isnan(x), c, x))")
    R.guard(mask, v.astype(np.float64) if v.ndim else float(v))


def _lines(shape, axis):
    """Flat positions of an array of ``shape``, ``axis`` last, one row per line."""
    flat = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    return np.moveaxis(flat, axis, -1).reshape(-1, shape[axis])


def guard_order(x, axis, what):
    """Guard the order of the entries of traced ``x`` along ``axis``, ties included.

    The entries of each line, stably sorted, are compared with their successors:
    ``<=`` must hold everywhere, and ``<`` must keep its recorded outcome, so that a
    tie stays a tie and a strict order stays strict."""
    v = np.asarray(value_of(x), dtype=np.float64)
    if v.ndim == 0 or v.shape[axis] < 2:
        return
    lines = _lines(v.shape, axis)
    flat = v.ravel()
    order = np.argsort(flat[lines], axis=1, kind="stable")
    ranked = np.take_along_axis(lines, order, axis=1)
    lo, hi = ranked[:, :-1], ranked[:, 1:]
    below = R.gather(x, lo, lo.shape, flat[lo])
    above = R.gather(x, hi, hi.shape, flat[hi])
    _guard_true(R.elementwise("less_equal", below, above), what)
    strict = R.elementwise("less", below, above)
    R.guard(strict, np.asarray(value_of(strict), dtype=np.float64))


def _guard_brackets(a, av, v, k, side, picked, what):
    """Guard that each point ``v[picked]`` still lies in its slot ``k`` of the sorted
    ``a`` (traced or constant, values ``av``): ``a[k-1] < v <= a[k]`` for
    ``side="left"``, ``a[k-1] <= v < a[k]`` for ``"right"``."""
    n = av.shape[0]
    flat_v = R.ravel(v) if isinstance(v, Traced) else np.ravel(np.asarray(v, dtype=float))
    k = np.ravel(k)
    below_op, above_op = ("less", "less_equal") if side == "left" else ("less_equal", "less")
    for part, op, offset in (((k > 0) & picked, below_op, -1),
                             ((k < n) & picked, above_op, 0)):
        idx = np.nonzero(part)[0]
        if idx.size == 0:
            continue
        pos = k[idx] + offset
        bound = R.getitem(a, pos) if isinstance(a, Traced) else av[pos]
        point = R.getitem(flat_v, idx) if isinstance(flat_v, Traced) else flat_v[idx]
        pair = (bound, point) if offset < 0 else (point, bound)
        _guard_true(R.elementwise(op, *pair), what)


# ---------------------------------------------------------------------------------------
# Sorting and selection


def _flat_if_none(a, axis):
    """(array, axis): NumPy's axis=None means the flattened array."""
    if axis is None:
        return R.ravel(a), 0
    return a, int(axis) % max(np.ndim(value_of(a)), 1)


def argsort(a, axis=-1, kind=None, stable=None):
    """np.argsort: NumPy's own indices (its tie order too), with the order of the traced
    values guarded (see the module's docstring); ``x[np.argsort(x)]`` then
    differentiates as a gather."""
    out = np.argsort(np.asarray(value_of(a)), axis=axis, kind=kind, stable=stable)
    if isinstance(a, Traced) and np.ndim(value_of(a)):
        guard_order(*_flat_if_none(a, axis), "np.argsort")
    return out


def _partition_pair(a, kth, axis, kind):
    """(indices, values) of NumPy's partition along ``axis`` (not None)."""
    v = np.asarray(value_of(a), dtype=np.float64)
    perm = np.argpartition(v, kth, axis=axis, kind=kind)
    return perm, np.partition(v, kth, axis=axis, kind=kind)


def argpartition(a, kth, axis=-1, kind="introselect"):
    """np.argpartition: NumPy's own indices, with the order of the traced values
    guarded (ties included, so that NumPy's selection would repeat itself)."""
    if not isinstance(a, Traced):
        return np.argpartition(a, kth, axis=axis, kind=kind)
    x, ax = _flat_if_none(a, axis)
    perm, _ = _partition_pair(x, kth, ax, kind)
    guard_order(x, ax, "np.argpartition")
    return perm


def partition(a, kth, axis=-1, kind="introselect"):
    """np.partition: NumPy's values in NumPy's order; each output entry's derivative is
    that of the input entry NumPy put there (a tie gives it to one of the tied entries,
    the one ``np.argpartition`` names). The order is guarded, ties included."""
    if not isinstance(a, Traced):
        return np.partition(a, kth, axis=axis, kind=kind)
    x, ax = _flat_if_none(a, axis)
    perm, value = _partition_pair(x, kth, ax, kind)
    guard_order(x, ax, "np.partition")
    v = np.asarray(value_of(x), dtype=np.float64)
    positions = np.take_along_axis(np.arange(v.size, dtype=np.int64).reshape(v.shape), perm,
                                   ax)
    # argpartition and partition run the same selection; should a NumPy ever differ,
    # the values NumPy gives win over the derivative's bookkeeping
    if not np.array_equal(v.ravel()[positions], value):
        raise TracingError("numad: np.partition and np.argpartition disagree in this "
                           "NumPy; use np.sort, whose derivative numad knows")
    return R.gather(x, positions, value.shape, value)


def arg_extreme(kind):
    """np.argmax (``kind="argmax"``) or np.argmin, with the winner guarded: it is still
    strictly beyond every entry before it and at least as far as every entry after it
    (NumPy answers with the first of tied extremes)."""
    np_fn = getattr(np, kind)
    strict, weak = ("less", "less_equal") if kind == "argmax" else ("greater",
                                                                    "greater_equal")

    def fn(a, axis=None, keepdims=False):
        v = np.asarray(value_of(a), dtype=np.float64)
        out = np_fn(v, axis=axis, keepdims=keepdims)
        if not isinstance(a, Traced) or v.size < 2:
            return out
        x, ax = _flat_if_none(a, axis)
        xv = np.asarray(value_of(x), dtype=np.float64)
        lines = _lines(xv.shape, ax)
        win = np.ravel(np_fn(xv, axis=ax))
        rows, n = lines.shape
        if n < 2:
            return out
        win_pos = lines[np.arange(rows), win][:, None]
        flat = xv.ravel()
        entries = R.gather(x, lines, lines.shape, flat[lines])
        winner = R.gather(x, win_pos, win_pos.shape, flat[win_pos])
        before = np.arange(n)[None, :] < win[:, None]
        ok = R.where(before, R.elementwise(strict, entries, winner),
                     R.elementwise(weak, entries, winner))
        _guard_true(ok, f"np.{kind}")
        return out
    fn.__name__ = kind
    return fn


argmax = arg_extreme("argmax")
argmin = arg_extreme("argmin")


def searchsorted(a, v, side="left", sorter=None):
    """np.searchsorted with traced ``a`` and/or ``v``: NumPy's integer answer, guarded
    (each point stays between the same two entries of ``a``; a traced ``a`` stays
    sorted)."""
    av = np.asarray(value_of(a), dtype=np.float64)
    out = np.searchsorted(av, value_of(v), side=side, sorter=sorter)
    if not (isinstance(a, Traced) or isinstance(v, Traced)):
        return out
    if sorter is not None:
        sorter = np.asarray(sorter, dtype=np.int64)
        a = R.getitem(a, sorter) if isinstance(a, Traced) else av[sorter]
        av = av[sorter]
    if isinstance(a, Traced) and av.size > 1:
        _guard_true(R.elementwise("less_equal", R.getitem(a, slice(0, -1)),
                                  R.getitem(a, slice(1, None))), "np.searchsorted")
    elif not np.all(av[:-1] <= av[1:]):
        raise TracingError("numad: np.searchsorted of traced values into an array that is "
                           "not sorted: NumPy's answer is then not a position numad can "
                           "guard; sort it first (or pass sorter=)")
    picked = np.ones(np.size(out), dtype=bool)
    _guard_brackets(a, av, v, out, side, picked, "np.searchsorted")
    return out


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None,
           equal_nan=True, sorted=True):  # noqa: A002 - NumPy's name
    """np.unique of a traced array (``axis=None``): the values are gathered from the
    first occurrence of each (the entry ``return_index`` names), so a repeated value's
    derivative goes to its first occurrence; the order of the entries, ties included,
    is guarded. The indices and counts are NumPy's own."""
    if axis is not None:
        raise TracingError("numad: np.unique with an axis is not supported while tracing; "
                           "use it on a flat array")
    v = np.asarray(value_of(ar), dtype=np.float64)
    full = np.unique(v, return_index=True, return_inverse=return_inverse,
                     return_counts=return_counts, equal_nan=equal_nan, sorted=sorted)
    first = full[1]
    x = R.ravel(ar)
    guard_order(x, 0, "np.unique")
    values = R.gather(x, first, first.shape, v.ravel()[first])
    extra = ([first] if return_index else []) + list(full[2:])
    return values if not extra else tuple([values] + extra)  # (NumPy's: a plain tuple)


# ---------------------------------------------------------------------------------------
# Piecewise-linear interpolation


def interp(x, xp, fp, left=None, right=None, period=None):
    """np.interp with traced ``x`` and/or ``fp`` (and ``left``, ``right``); ``xp`` is a
    constant. The value is NumPy's, computed by NumPy's formula
    ``(fp[j+1] - fp[j]) / (xp[j+1] - xp[j]) * (x - xp[j]) + fp[j]`` in the interval
    ``xp[j] <= x < xp[j+1]`` that NumPy's search finds; that interval (or ``x < xp[0]``,
    ``x == xp[-1]``, ``x > xp[-1]``, or a NaN ``x``) is guarded.

    At a knot ``x == xp[j]`` the derivative is that of the interval to its right (the
    one NumPy's search puts x in); at ``x == xp[-1]`` that of the constant ``right``
    beyond it (0 in x). ``period`` maps x and xp into one period, as NumPy does.
    """
    if isinstance(xp, Traced) or isinstance(period, Traced):
        raise TracingError("numad: np.interp with traced xp (or period): numad "
                           "differentiates np.interp in x, fp, left and right; pass xp "
                           "as a constant")
    if period is not None:
        x, xp, fp = _one_period(x, xp, fp, period)
        left = right = None
    xpv = np.asarray(xp, dtype=np.float64)
    fpv = np.asarray(value_of(fp), dtype=np.float64)
    xv = np.asarray(value_of(x), dtype=np.float64)
    expected = np.interp(xv, xpv, fpv, value_of(left), value_of(right))  # NumPy's checks
    if R.recorder_of((x, fp, left, right)) is None:
        return expected
    n = xpv.shape[0]
    xs = R.ravel(x) if isinstance(x, Traced) else xv.ravel()
    flat = xv.ravel()
    nan = np.isnan(flat)
    k = np.searchsorted(xpv, flat, side="right")  # NaN sorts last: k = n
    if isinstance(x, Traced):
        if np.any(nan):  # (a new NaN fails the guards below: comparisons are False)
            R.guard(R.elementwise("isnan", xs), nan.astype(np.float64))
        _guard_brackets(xpv, xpv, xs, k, "right", ~nan, "np.interp")
        ends = np.nonzero((k == n) & ~nan)[0]
        if ends.size:  # at xp[-1] itself (fp[-1]) or beyond it (right): guarded apart
            beyond = R.elementwise("greater", R.getitem(xs, ends), xpv[-1])
            R.guard(beyond, np.asarray(value_of(beyond), dtype=np.float64))
    out = _interp_pieces(xs, flat, xpv, fp, k, nan, left, right)
    return R.reshape_any(out, xv.shape)


def _take(a, idx):
    return R.getitem(a, idx) if isinstance(a, Traced) else np.asarray(a, dtype=float)[idx]


def _interp_pieces(xs, flat, xpv, fp, k, nan, left, right):
    """The interpolated values of the points ``xs`` (values ``flat``) in slots ``k``."""
    n = xpv.shape[0]
    last = _take(fp, np.full(flat.shape, n - 1))
    if n >= 2:
        j = np.clip(k - 1, 0, n - 2)
        f0, f1 = _take(fp, j), _take(fp, j + 1)
        slope = (f1 - f0) / (xpv[j + 1] - xpv[j])
        inner = slope * (xs - xpv[j]) + f0
    else:
        inner = last
    first = _take(fp, np.zeros(flat.shape, dtype=np.int64))
    low = first if left is None else left
    high = last if right is None else right
    at_end = (k == n) & (flat == xpv[-1])
    beyond = (k == n) & ~at_end & ~nan
    out = R.where(k == 0, low, R.where(beyond, high, R.where(at_end, last, inner)))
    return R.where(nan, xs, out) if np.any(nan) else out


def _one_period(x, xp, fp, period):
    """NumPy's periodic interp: x and xp taken mod period, xp sorted and extended by
    one point at each end."""
    period = abs(float(period))
    if period == 0:
        raise ValueError("period must be a non-zero value")
    x = np.remainder(x, period)
    xpv = np.asarray(xp, dtype=np.float64) % period
    order = np.argsort(xpv)
    xpv = xpv[order]
    fp_sorted = _take(fp, order)
    xpv = np.concatenate((xpv[-1:] - period, xpv, xpv[0:1] + period))
    fp_ext = np.concatenate((fp_sorted[-1:], fp_sorted, fp_sorted[0:1]))
    return x, xpv, fp_ext
