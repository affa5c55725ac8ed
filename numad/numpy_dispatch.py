"""The NumPy and SciPy registrations: which call on a traced value records what.

``UFUNCS`` maps a ufunc to its op-table row (the rows' ``ufuncs`` column,
numad/optable.py) and ``COMPOSITE_UFUNCS`` a ufunc to its composition of rows
(numad/compositions.py, shared with ``Dual``); ``array_ufunc`` is the traced value's
``__array_ufunc__``. ``FUNCTIONS`` maps a NumPy function to its recording function of
``numad/recording.py``, called with NumPy's own signature (``__array_function__``);
``register_function`` adds one (the extension API's users, numad/extensions.py).
"""
from __future__ import annotations

import numpy as np

from .compositions import COMPOSITIONS, Ops
from .errors import TracingError
from .optable import UFUNC_ROWS

from .recording import (around, atleast_1d, atleast_2d, broadcast_to, cholesky, clip,
                        column_stack, concatenate, copy_of, cumulative, det, diag, diff,
                        dot, eigh, eigvalsh, einsum, elementwise, expand_dims, hstack,
                        index_map, inner, inv, like, logical_reduce, matmul, median,
                        outer, pad, ravel, reduce_max, reduce_min, reduce_prod,
                        reduce_sum, reshape, reshape_any, scatter_add, shape_of, size_of,
                        slogdet, solve, sort, squeeze, stack, std, tensordot, trace_,
                        transpose, value_of, var, vdot, vstack, where)
from .traced import Traced, TracedVector, TracedView, provide, qualname
from . import array_functions as AF
from . import linalg_rules as LA
from . import ordering as ORD


def shape_fn(a):
    return shape_of(a)



# ---------------------------------------------------------------------------------------
# NumPy dispatch tables

# ufunc -> the op-table row it records: the rows' ``ufuncs`` column (numad/optable.py).
UFUNCS = dict(UFUNC_ROWS)

_REDUCE_METHODS = {np.add: reduce_sum, np.multiply: reduce_prod, np.maximum: reduce_max,
                   np.minimum: reduce_min, np.fmax: reduce_max, np.fmin: reduce_min}
_ACCUMULATE_METHODS = {np.add: lambda x, axis: cumulative("cumsum", x, axis),
                       np.multiply: lambda x, axis: cumulative("cumprod", x, axis),
                       np.maximum: AF.running_max, np.minimum: AF.running_min}
# ufuncs that record as several rows: the compositions shared with Dual
# (numad/compositions.py), run on recording operations; and the gufunc np.matmul.
_TRACED_OPS = Ops(row=elementwise, where=where)
COMPOSITE_UFUNCS = {ufunc: (lambda fn: lambda *xs: fn(_TRACED_OPS, *xs))(fn)
                     for ufunc, fn in COMPOSITIONS.items()}
COMPOSITE_UFUNCS[np.matmul] = matmul


def ufunc_name(ufunc):
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
        raise TracingError(f"numad cannot trace {ufunc_name(ufunc)}(..., out=...): writing "
                           "into an existing array; use the returned value instead")
    if method == "__call__":
        if kwargs:
            extra = {k: v for k, v in kwargs.items() if not _is_neutral(k, v, None)}
            if extra:
                raise TracingError(f"numad cannot trace {ufunc_name(ufunc)} with "
                                   f"{sorted(extra)} while tracing; leave them out")
        name = UFUNCS.get(ufunc)
        if name is not None:
            if name == "pow" and len(inputs) == 2 and not isinstance(inputs[1], Traced) \
                    and np.ndim(inputs[1]) == 0 and float(inputs[1]) == 2.0:
                return elementwise("square", inputs[0])
            return elementwise(name, *inputs)
        comp = COMPOSITE_UFUNCS.get(ufunc)
        if comp is not None:
            return comp(*inputs)
    elif method in ("reduce", "accumulate") and any(
            not _is_neutral(k, v, None) for k, v in kwargs.items()
            if k not in ("axis", "keepdims")):
        extra = sorted(k for k, v in kwargs.items()
                       if k not in ("axis", "keepdims") and not _is_neutral(k, v, None))
        raise TracingError(f"numad cannot trace {ufunc_name(ufunc)}.{method} with {extra} "
                           "while tracing; leave them out")
    elif method == "reduce" and ufunc in _REDUCE_METHODS:
        axis = kwargs.get("axis", 0)
        return _REDUCE_METHODS[ufunc](inputs[0], axis, kwargs.get("keepdims", False))
    elif method == "accumulate" and ufunc in _ACCUMULATE_METHODS:
        return _ACCUMULATE_METHODS[ufunc](inputs[0], kwargs.get("axis", 0))
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
        na = np.ndim(value_of(a))
        call = (lambda *xs: elementwise(UFUNCS[ufunc], *xs)) if ufunc in UFUNCS else \
            COMPOSITE_UFUNCS[ufunc]
        return call(reshape_any(a, shape_of(a) + (1,) * np.ndim(value_of(b))), b) if na else \
            call(a, b)
    raise TracingError(
        f"numad cannot trace {ufunc_name(ufunc)}" + ("" if method == "__call__" else
                                                        f".{method}") +
        ": it has no derivative rule in numad. Write it with the functions numad knows "
        "(see the list of elementary functions in numad's API reference: help(numad) or "
        "docs/reference/api.md), or give it a rule with nd.primitive(name, fn, vjp=..., "
        "jvp=...)")


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

    name = qualname(np_fn)
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
                v = defaults[t] if v is _NOVALUE else v
                # after *args a parameter can only be NumPy's keyword-only one (np.meshgrid's
                # indexing=): it goes by its name
                if any(s.startswith("*") for s in takes[:takes.index(t)]):
                    kw[t] = v
                else:
                    pos.append(v)
        return handler(*pos, **kw)

    call.__signature__ = sig
    call.numad_takes = plain
    return call


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
    return size_of(a) if axis is None else shape_of(a)[axis]


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


_FUNCTION_ROWS = [
    # NumPy function, handler, the NumPy parameters it takes (in its positional order)
    # (where= and initial=: numad/array_functions.py)
    (np.sum, AF.masked_sum, "a axis keepdims initial where"),
    (np.prod, AF.masked_prod, "a axis keepdims initial where"),
    (np.max, AF.masked_max, "a axis keepdims initial where"),
    (np.amax, AF.masked_max, "a axis keepdims initial where"),
    (np.min, AF.masked_min, "a axis keepdims initial where"),
    (np.amin, AF.masked_min, "a axis keepdims initial where"),
    (np.mean, AF.masked_mean, "a axis keepdims where"),
    (np.var, _var, "a axis ddof keepdims correction"),
    (np.std, _std, "a axis ddof keepdims correction"),
    (np.median, median, "a axis keepdims"),
    (np.sinc, lambda x: elementwise("sinc", x), "x"),  # a row, no ufunc (optable.FUNCTION_ROWS)
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
    (np.trace, trace_, "a offset axis1 axis2"), (np.copy, copy_of, "a"),
    (np.zeros_like, like("zeros_like"), "a dtype shape"),
    (np.ones_like, like("ones_like"), "a dtype shape"),
    (np.full_like, like("full_like"), "a fill_value dtype shape"),
    (np.empty_like, like("empty_like"), "prototype dtype shape"),
    (np.shape, shape_fn, "a"), (np.ndim, lambda a: len(shape_of(a)), "a"),
    (np.size, _size_fn, "a axis"),
    (np.all, lambda a, axis=None, keepdims=False: logical_reduce(a, "all", axis, keepdims),
     "a axis keepdims"),
    (np.any, lambda a, axis=None, keepdims=False: logical_reduce(a, "any", axis, keepdims),
     "a axis keepdims"),
    (np.count_nonzero, _count_nonzero, "a axis keepdims"),
    (np.argmax, ORD.argmax, "a axis keepdims"), (np.argmin, ORD.argmin, "a axis keepdims"),
    (np.linalg.solve, solve, "a b"), (np.linalg.inv, inv, "a"), (np.linalg.det, det, "a"),
    (np.linalg.slogdet, slogdet, "a"), (np.linalg.cholesky, cholesky, "a upper"),
    (np.linalg.norm, LA.norm, "x ord axis keepdims"), (np.linalg.eigh, eigh, "a UPLO"),
    (np.linalg.eigvalsh, eigvalsh, "a UPLO"), (np.matmul, matmul, "x1 x2"),
    (np.result_type, lambda *arrays_and_dtypes: np.float64, "*arrays_and_dtypes"),
    (np.isscalar, lambda element: False, "element"),
    # decisions on the values, guarded (numad/ordering.py)
    (np.interp, ORD.interp, "x xp fp left right period"),
    (np.argsort, ORD.argsort, "a axis kind stable"),
    (np.partition, ORD.partition, "a kth axis kind"),
    (np.argpartition, ORD.argpartition, "a kth axis kind"),
    (np.searchsorted, ORD.searchsorted, "a v side sorter"),
    (np.unique, ORD.unique,
     "ar return_index return_inverse return_counts axis equal_nan sorted"),
    # factorizations with their own rules and compositions of them (numad/linalg_rules.py)
    (np.linalg.svd, LA.svd, "a full_matrices compute_uv hermitian"),
    (np.linalg.qr, LA.qr, "a mode"), (np.linalg.pinv, LA.pinv, "a rcond hermitian"),
    (np.linalg.lstsq, LA.lstsq, "a b rcond"),
    (np.linalg.matrix_power, LA.matrix_power, "a n"),
    (np.linalg.multi_dot, LA.multi_dot, "arrays"),
    # composed from recorded operations (numad/array_functions.py)
    (np.nansum, AF.nansum, "a axis keepdims"), (np.nanprod, AF.nanprod, "a axis keepdims"),
    (np.nanmean, AF.nanmean, "a axis keepdims"), (np.nanmax, AF.nanmax, "a axis keepdims"),
    (np.nanmin, AF.nanmin, "a axis keepdims"),
    (np.nanvar, AF.nanvar, "a axis ddof keepdims correction"),
    (np.nanstd, AF.nanstd, "a axis ddof keepdims correction"),
    (np.ptp, AF.ptp, "a axis keepdims"),
    (np.average, AF.average, "a axis weights returned keepdims"),
    (np.split, AF.split, "ary indices_or_sections axis"),
    (np.array_split, AF.array_split, "ary indices_or_sections axis"),
    (np.hsplit, AF.splitter(np.hsplit), "ary indices_or_sections"),
    (np.vsplit, AF.splitter(np.vsplit), "ary indices_or_sections"),
    (np.dsplit, AF.splitter(np.dsplit), "ary indices_or_sections"),
    (np.triu, AF.triu, "m k"), (np.tril, AF.tril, "m k"),
    (np.take, AF.take, "a indices axis mode"),
    (np.take_along_axis, AF.take_along_axis, "arr indices axis"),
    (np.kron, AF.kron, "a b"), (np.cross, AF.cross, "a b axisa axisb axisc axis"),
    (np.linspace, AF.linspace, "start stop num endpoint retstep axis"),
    (np.meshgrid, AF.meshgrid, "*xi copy sparse indexing"),
    (np.polyval, AF.polyval, "p x"), (np.convolve, AF.convolve, "a v mode"),
    (np.correlate, AF.correlate, "a v mode"),
    (np.select, AF.select, "condlist choicelist default"),
    (np.piecewise, AF.piecewise, "x condlist funclist *args **kw"),
    (np.quantile, AF.quantile, "a q axis method keepdims"),
    (np.percentile, AF.percentile, "a q axis method keepdims"),
    (np.nanquantile, AF.nanquantile, "a q axis method keepdims"),
    (np.nanpercentile, AF.nanpercentile, "a q axis method keepdims"),
    (np.cov, AF.cov, "m y rowvar bias ddof fweights aweights"),
    (np.corrcoef, AF.corrcoef, "x y rowvar"),
    (np.trapezoid, AF.trapezoid, "y x dx axis"),
    (np.gradient, AF.gradient, "f *varargs axis edge_order"),
    (np.ediff1d, AF.ediff1d, "ary to_end to_begin"),
    (np.cumulative_sum, AF.cumulative_sum, "x axis include_initial"),
    (np.cumulative_prod, AF.cumulative_prod, "x axis include_initial"),
    (np.rot90, AF.rot90, "m k axes"),
    (np.append, AF.append, "arr values axis"),
    (np.insert, AF.insert, "arr obj values axis"),
    (np.delete, AF.delete, "arr obj axis"),
    (np.vander, AF.vander, "x N increasing"), (np.diagflat, AF.diagflat, "v k"),
    (np.block, AF.block, "arrays"),
    (np.isclose, AF.isclose, "a b rtol atol equal_nan"),
    (np.allclose, AF.allclose, "a b rtol atol equal_nan"),
    (np.array_equal, AF.array_equal, "a1 a2 equal_nan"),
]
if hasattr(np, "trapz"):  # (NumPy < 2.4; the old name of np.trapezoid)
    _FUNCTION_ROWS.append((np.trapz, AF.trapezoid, "y x dx axis"))
FUNCTIONS = {np_fn: _numpy_function(np_fn, handler, takes)
             for np_fn, handler, takes in _FUNCTION_ROWS}


def register_function(np_fn, handler, takes):
    """Trace calls of the NumPy function ``np_fn`` on traced values with ``handler``,
    which takes the parameters named in ``takes`` (a space-separated list, in order;
    the others must keep their defaults). For modules above the tracer that define a
    function with the extension API (``numad/extensions.py``)."""
    FUNCTIONS[np_fn] = _numpy_function(np_fn, handler, takes)


provide(**{name: globals()[name] for name in ['COMPOSITE_UFUNCS', 'FUNCTIONS', 'UFUNCS', 'array_ufunc']})
