"""The tracer: runs a user's function on traced values and returns its ``Tape``.

``record`` makes the inputs ``Traced`` values (numad/traced.py), runs the function while
its recorder (numad/recording.py) is this thread's active one, and ``finish`` turns the
recorder's lists into the tape's flat arrays. NumPy calls on the traced values are
recorded through the registrations of numad/numpy_dispatch.py.
"""
from __future__ import annotations

import array
import collections
import copy

import threading

import numpy as np

from . import numpy_dispatch  # noqa: F401 - gives the traced values their NumPy dispatch
from .errors import TracingError
from .kernels import tape_layout
from .optable import OPCODES
from .pytree import as_float_array, flatten, leaf_is_differentiable
from .recording import Recorder, objects_to_traced
from .tape import Tape
from .traced import Traced, TracedVector
from .watch import Volatile as VOLATILE, Watch, reach, side_channels, watch_of

INPUT = OPCODES["input"]
CONST = OPCODES["const"]
ALIAS = OPCODES["alias"]


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
        if take_all and arg is None:
            raise TracingError(f"numad: cannot differentiate {name} with respect to None "
                               f"(argument {k}); pass a float or a float array there")
        for leaf in leaves:
            if isinstance(leaf, Traced):
                raise TracingError("numad: a traced value from another trace was passed in "
                                   "(nested differentiation goes through nd.grad, "
                                   "nd.gradient, nd.jacobian)")
            floats_are_inputs = input_argnums is None or not others_static
            what = f"argument {k} of {name}"
            is_input = take_all or (floats_are_inputs and leaf_is_differentiable(leaf, what))
            if take_all and not (leaf_is_differentiable(leaf, what) or _is_int_like(leaf)):
                raise TracingError(f"numad: cannot differentiate with respect to a "
                                f"{type(leaf).__name__}; the argument must hold floats or "
                                "float arrays")
            if not is_input:
                roles.append(("static", _snapshot(leaf)))
                new_leaves.append(leaf)
                continue
            arr = as_float_array(leaf, what)
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
    if isinstance(watch, Watch):
        # f changed what it reads while it ran (a counter, an accumulator, a cache):
        # its tape is f at this one call, never to be replayed
        changed = watch.changed()
        tape.watch = watch if changed is None else VOLATILE(changed)
    else:
        tape.watch = watch   # (None, or an Unwatched, which never holds)
    return tape


def _snapshot(setting):
    """What a tape keeps of a setting to compare later ones with (``tape._load``): a
    copy of a mutable container (a deque, a set, an ``array.array``), which the caller
    may change in place between calls; the object itself otherwise."""
    if isinstance(setting, (collections.deque, set, array.array, bytearray)):
        try:
            return copy.deepcopy(setting)
        except Exception:   # (not copyable: compared by identity, as other objects)
            return setting
    return setting


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
        if type(leaf) is np.ndarray and leaf.dtype == object:
            # np.array([dx, dy]) of traced scalars: one traced array
            leaf = objects_to_traced(rec, leaf)
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
