"""Sweeping one tape over a batch of points, every row answered on its own branch path.

Used by ``Tape.forward_batch`` / ``gradient_batch`` and by the batch transforms
(``nd.gradient_batch`` & co, numad/batching.py). A batch is a set of positional
arguments of which some are *batched* (a leading axis of rows on every leaf) and the
others shared by every row. ``Batch`` packs the batched leaves into one matrix, row
``r`` holding point ``r``; ``run`` sweeps it:

1. the tape valid at the first row is swept over every row by the batch kernel
   (numad/batch_kernels.py on the CPU's cores, numad/cuda_batch.py on the GPU), with
   the tape's own compiled code where it has some;
2. the rows where a recorded branch decision goes the other way (the kernel reports
   the guard that failed) are not answered by it: the tape of the first of them is
   traced (or found among those cached) and swept over all of them, and so on, path
   after path. So a batch whose rows take a handful of different paths costs a
   handful of traces, never one per row, and never gives a row the numbers of a path
   it does not take;
3. tapes with a loop or a custom rule of their own (``nd.scan``, ``custom_vjp``),
   which the kernel has no driver for, and the rows past ``MAX_PATHS`` paths are
   answered one row at a time through the same tapes.

``BatchInfo`` says how the rows went (the batch transforms and tapes keep the last
one per thread: ``last_batch_info``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import tape_compiler as TC
from .config import config
from .errors import ControlFlowChanged
from .pytree import flatten, refuse_complex, unflatten

# After this many different branch paths in one batch, the remaining rows go one at a
# time (a function whose every row branches its own way gains nothing from batching).
MAX_PATHS = 32


@dataclass
class BatchInfo:
    """How the rows of the last batch were answered.

    ``rows``: how many; ``paths``: how many different branch paths (tapes) answered
    them (1: every row took the recorded branches); ``rerouted_rows``: rows whose branch
    decisions differed from the first row's, answered on their own path;
    ``row_by_row``: rows answered one at a time (tapes with ``nd.scan`` or a custom
    rule, or rows past ``MAX_PATHS`` paths); ``compiled``: whether the first path ran
    the tape's own compiled code; ``device``: ``"cpu"`` or ``"cuda"``."""
    rows: int
    paths: int = 1
    rerouted_rows: int = 0
    row_by_row: int = 0
    compiled: bool = False
    device: str = "cpu"


class LastInfo(threading.local):
    """The ``BatchInfo`` of this thread's last batch (None before the first)."""
    info = None


class Batch:
    """The positional arguments of a batch: ``batched[k]`` says whether argument ``k``
    has rows (on axis 0 of every leaf: move it there first); the others are shared.

    ``X`` holds the batched leaves, one row per point, leaf after leaf in flattening
    order (``(rows, columns)``, float64)."""

    def __init__(self, args, batched, name):
        self.args, self.batched, self.name = args, tuple(batched), name
        self.treedefs, self.leaves, columns, sizes = [], [], [], set()
        for k, (arg, on) in enumerate(zip(args, batched)):
            if not on:
                self.treedefs.append(None)
                self.leaves.append(None)
                continue
            leaves, treedef = flatten(arg)
            arrays = []
            for leaf in leaves:
                if on_device(leaf):
                    arrays.append(_DeviceRows(leaf))
                    sizes.add(arrays[-1].shape[0])
                    columns.append(None)
                    continue
                arr = np.asarray(leaf)
                if arr.ndim == 0:
                    raise ValueError(f"numad: {name}: argument {k} is batched but holds a "
                                     "scalar; give it a leading axis of rows, or mark it "
                                     "shared (in_axes None)")
                if arr.dtype.kind == "c":
                    refuse_complex(arr, f"argument {k} of {name}")
                if not (np.issubdtype(arr.dtype, np.floating)
                        or np.issubdtype(arr.dtype, np.integer)):
                    raise TypeError(f"numad: {name}: argument {k} is batched but holds "
                                    f"{arr.dtype} values; batched arguments hold numbers")
                sizes.add(arr.shape[0])
                arrays.append(arr)
                # (the row's size spelt out: -1 is ambiguous for a batch of 0 rows)
                columns.append(arr.reshape(arr.shape[0], int(np.prod(arr.shape[1:])))
                               .astype(np.float64, copy=False))
            self.treedefs.append(treedef)
            self.leaves.append(arrays)
        if len(sizes) > 1:
            raise ValueError(f"numad: {name}: the batched arguments have different numbers "
                             f"of rows {sorted(sizes)}")
        if not sizes:
            raise ValueError(f"numad: {name} needs at least one batched argument")
        self.rows = sizes.pop()
        if self.rows == 0:
            raise ValueError(f"numad: {name} got a batch of 0 rows: there is no point to "
                             "trace the function at; skip the call for an empty batch")
        # A batch on the GPU already (a numba.cuda or CuPy array, through
        # __cuda_array_interface__): the GPU kernel reads it where it is; the host gets a
        # copy of a row where one is traced, of all only where the CPU needs them.
        self.device_X = None
        if any(c is None for c in columns):
            if len(columns) != 1:
                raise TypeError(f"numad: {name}: a batch on the GPU is one array of rows; "
                                "give the other batched arguments as GPU arrays joined "
                                "into it, or as NumPy arrays")
            self.device_X = arrays[0].rows_matrix()
            self._X = None
            return
        # (one leaf of float64 rows, as a Monte Carlo draw usually is: used as it is)
        X = np.ascontiguousarray(columns[0] if len(columns) == 1
                                 else np.concatenate(columns, axis=1))
        self._X = X if X.flags.writeable else X.copy()   # (the kernels write nothing,
        # but take writable arrays)

    @property
    def X(self):
        if self._X is None:
            self._X = np.ascontiguousarray(self.device_X.copy_to_host())
        return self._X

    def row(self, r):
        """The positional arguments of point ``r`` (a 0-d leaf of a row as a float)."""
        out = []
        for arg, treedef, arrays in zip(self.args, self.treedefs, self.leaves):
            if treedef is None:
                out.append(arg)
                continue
            leaves = [a[r] for a in arrays]
            leaves = [float(x) if np.ndim(x) == 0 and np.issubdtype(np.asarray(x).dtype, np.floating)
                      else x for x in leaves]
            out.append(unflatten(treedef, leaves))
        return tuple(out)

    def in_slots(self, tape):
        """The value slots of ``tape`` that the columns of ``X`` go to."""
        slots = []
        for k, on in enumerate(self.batched):
            if not on:
                continue
            for role in tape.leaf_roles[k]:
                if isinstance(role, tuple):
                    raise TypeError(
                        f"numad: {self.name}: argument {k} is batched but numad took one of "
                        f"its leaves ({role[1]!r}) as a setting of the function (an int or "
                        "a bool), which must be the same in every row; batch float values, "
                        "or mark the argument shared (in_axes None)")
                slots.append(entry_slots(tape, int(tape.input_entries[role])))
        return np.concatenate(slots) if slots else np.zeros(0, np.int64)


def on_device(leaf):
    """Whether ``leaf`` is a GPU array (it has ``__cuda_array_interface__``)."""
    return not isinstance(leaf, np.ndarray) and hasattr(leaf, "__cuda_array_interface__")


class _DeviceRows:
    """A batched leaf in GPU memory: its rows as a numba.cuda array, without a copy."""

    def __init__(self, leaf):
        from numba import cuda
        self.array = cuda.as_cuda_array(leaf)
        if self.array.dtype != np.float64:
            raise TypeError("numad: a batch on the GPU must hold float64 values, not "
                            f"{self.array.dtype}")
        self.shape = self.array.shape

    def rows_matrix(self):
        return self.array.reshape(self.shape[0], -1) if len(self.shape) > 1 else \
            self.array.reshape(self.shape[0], 1)

    def __getitem__(self, r):   # (one row to the host, to trace at)
        return self.array[r].copy_to_host() if len(self.shape) > 1 else \
            float(self.array[r:r + 1].copy_to_host()[0])


def entry_slots(tape, e):
    o, n = int(tape.off[e]), int(tape.size[e])
    return np.arange(o, o + n, dtype=np.int64)


def output_slots(tape):
    return np.concatenate([entry_slots(tape, int(e)) for e in tape.output_entries])


def gradient_slots(tape, argnum):
    """The slots of argument ``argnum``'s input leaves (a setting has none)."""
    slots = [entry_slots(tape, int(tape.input_entries[r])) for r in tape.leaf_roles[argnum]
             if not isinstance(r, tuple)]
    return np.concatenate(slots) if slots else np.zeros(0, np.int64)


def outputs_of_rows(tape, values, rows):
    """The rows' outputs, ``values`` ``(rows, m)``, in the output's structure, each leaf
    with a leading axis of rows."""
    leaves, start = [], 0
    for e in tape.output_entries:
        n, shape = int(tape.size[e]), tape.shape_of(int(e))
        leaves.append(values[:, start:start + n].reshape((rows,) + shape))
        start += n
    return unflatten(tape.out_treedef, leaves)


def gradients_of_rows(tape, grads, argnum, rows):
    """The rows' gradients with respect to argument ``argnum``, in its structure, each
    leaf with a leading axis of rows (None for a setting)."""
    leaves, start = [], 0
    for r in tape.leaf_roles[argnum]:
        if isinstance(r, tuple):
            leaves.append(None)
            continue
        e = int(tape.input_entries[r])
        n, shape = int(tape.size[e]), tape.shape_of(e)
        leaves.append(grads[:, start:start + n].reshape((rows,) + shape))
        start += n
    return unflatten(tape.arg_treedefs[argnum], leaves)


def compiled_code(tape, rows):
    """The tape's compiled value-and-gradient function for a batch of ``rows`` rows, or
    None: compiled where its compile mode says the rows repay it, as
    ``Tape.sweep_value_and_gradient`` decides. A batch of ``rows`` is ``rows`` replays,
    counted with the tape's earlier replays (batches included): a Monte Carlo pricer
    called again and again with 10^4 paths repays the compilation as one call with
    10^6 does."""
    if tape.compiled is not None:
        return tape.compiled
    mode = tape.compile_mode or config.compile
    if mode == "never" or TC.compilable(tape) is not None:
        return None
    tape.replays += rows
    if mode == "always" or TC.worth_compiling(tape, tape.replays):
        tape.compiled = TC.compile_tape(tape)
        tape.compiled_direct = TC.compile_direct(tape)
    return tape.compiled


# A tape whose loops (nd.scan, nd.while_loop) unrolled would have at most this many
# entries is traced again unrolled for the batch kernel (which sweeps a tape without
# loops; its compiled code rolls the steps up again): a 252-step path of ten operations
# a step is 2500. Memory per block of rows is the tape's values.
MAX_UNROLLED = 200_000


def _unrolled_size(tape):
    """How many entries ``tape`` would have with its loops unrolled, or None where it
    has a stop that is not a loop (a custom rule)."""
    size = len(tape.op)
    for run in tape.stops:
        if not hasattr(run, "length"):
            return None
        size += (run.be - run.bs) * (run.length - 1)
    return size


def unrolled(retrace, compile_mode):
    """``tape_at`` for the batch kernel from ``retrace(args)`` (a fresh trace of the
    function at ``args``): the function traced with its loops unrolled."""
    from .recording import unrolling_loops

    def tape_at(args):
        with unrolling_loops():
            fresh = retrace(args)
        fresh.compile_mode = compile_mode
        fresh.forward(check_guards=False)
        return fresh
    return tape_at


def run(batch, tape, tape_at, want_gradient, argnum=0, device="cpu", report=None,
        retrace=None):
    """``(values, gradients, info)`` of a batch: ``values`` ``(rows, m)`` (every output
    element), ``gradients`` ``(rows, n)`` (argument ``argnum``'s elements; None unless
    ``want_gradient``: the output must be one scalar).

    ``tape`` is valid at row 0 (its value buffer holds the shared arguments);
    ``tape_at(args)`` gives a tape valid at the arguments ``args`` with a forward
    sweep at them done (a cached one or a new trace; it raises where there is no way
    to trace again). ``report(done, rows)`` hears of progress. ``retrace(args)``, where
    given, traces the function afresh: a tape with loops is then traced again with
    them unrolled (``MAX_UNROLLED``), so that the kernel takes it."""
    if tape.stops and retrace is not None:
        size = _unrolled_size(tape)
        if size is not None and size <= MAX_UNROLLED:
            twin = getattr(tape, "_unrolled_twin", None)
            if twin is None or not twin.matches(*batch.row(0)):
                twin = unrolled(retrace, tape.compile_mode)(batch.row(0))
                tape._unrolled_twin = twin
            tape, tape_at = twin, unrolled(retrace, tape.compile_mode)
    rows = batch.rows
    out_size = int(output_slots(tape).size)
    values = np.empty((rows, out_size))
    n_grad = int(gradient_slots(tape, argnum).size)
    gradients = np.empty((rows, n_grad)) if want_gradient else None
    info = BatchInfo(rows=rows, device=device)
    pending = np.arange(rows)
    first_row = 0
    while pending.size:
        if tape.stops or info.paths > MAX_PATHS:
            for done, r in enumerate(pending):
                t = tape if r == first_row else tape_at(batch.row(r))
                _answer_one(t, r, values, gradients, argnum)
                if report is not None and done % 64 == 63:
                    report(rows - pending.size + done + 1, rows)
            info.row_by_row += pending.size
            break
        if want_gradient:
            tape.scalar_output("the batch gradient")
        status, used_code = _sweep(batch, pending, tape, want_gradient, argnum, device,
                                   values, gradients)
        if info.paths == 1:
            info.compiled = used_code
        failed = pending[status >= 0]
        if report is not None:
            report(rows - failed.size, rows)
        if not failed.size:
            break
        if failed[0] == first_row:
            # the kernel decides a tie at this tape's own row another way than tracing
            # did (a last-bit difference): answer it from the traced values
            _answer_one(tape, first_row, values, gradients, argnum)
            failed = failed[1:]
            if not failed.size:
                break
        if info.paths == 1:
            info.rerouted_rows = int(failed.size)
        first_row = int(failed[0])
        tape = tape_at(batch.row(first_row))
        info.paths += 1
        pending = failed
    return values, gradients, info


def _sweep(batch, pending, tape, want_gradient, argnum, device, values, gradients):
    """One path: the kernel over rows ``pending``; fills their results where the tape's
    branch decisions hold and returns (status per row, whether compiled code ran)."""
    whole = pending.size == batch.rows
    X = None if whole and device == "cuda" and batch.device_X is not None else (
        batch.X if whole else np.ascontiguousarray(batch.X[pending]))
    in_slots = batch.in_slots(tape)
    out_slots = output_slots(tape)
    grad_slots = gradient_slots(tape, argnum)
    m = pending.size   # (whole: the first path; the kernel writes the results in place)
    vals = values if whole else np.empty((m, out_slots.size))
    grads = (gradients if whole else np.empty((m, grad_slots.size))) if want_gradient \
        else np.empty((0, 0))
    status = np.empty(m, dtype=np.int64)
    seed = int(tape.off[tape.output_entries[0]]) if want_gradient else 0
    if device == "cuda":
        from . import cuda_batch
        on_gpu = batch.device_X if whole and batch.device_X is not None else None
        cuda_batch.sweep(tape, None if on_gpu is not None else X, in_slots, out_slots,
                         grad_slots, seed, want_gradient, vals, grads, status, on_gpu)
        used_code = False
    else:
        from . import batch_kernels as BK
        fn = compiled_code(tape, m) if want_gradient else None
        used_code = fn is not None
        if fn is None:
            fn = BK.no_compiled_code
        else:
            fn.compile(BK.ROW_SIGNATURE)
        BK.batch_rows(fn, used_code, *tape.reverse_structure, tape.clear, tape.vals,
                      tape.aux, X, in_slots, out_slots, grad_slots, seed, want_gradient, vals,
                      grads, status)
    if not whole:
        ok = status < 0
        values[pending[ok]] = vals[ok]
        if want_gradient:
            gradients[pending[ok]] = grads[ok]
    return status, used_code


def _answer_one(tape, r, values, gradients, argnum):
    """Row ``r`` from ``tape``, valid there with its forward sweep done (a loop's driver,
    a custom rule and every guard included)."""
    values[r] = np.concatenate([np.ravel(tape.entry_value(int(e)))
                                for e in tape.output_entries])
    if gradients is not None:
        adj = tape.gradient_loaded(tape.scalar_output("the batch gradient"))
        gradients[r] = adj[gradient_slots(tape, argnum)]


def tape_matching(tape):
    """``tape_at`` for a ``Tape`` of its own (``tape.forward_batch``): the tape where
    its branch decisions hold at the row, else a new trace of its function (a
    ``ControlFlowChanged`` where it has none)."""
    def tape_at(args):
        if tape.matches(*args):
            return tape
        if tape.fun is None:
            raise ControlFlowChanged(
                f"numad: a row of the batch takes another branch than the tape of "
                f"{tape.name} recorded, and the tape has no function to trace again; "
                "use nd.trace (whose tapes re-trace such rows) or the batch transforms")
        fresh = tape.fun.retrace(args)
        fresh.compile_mode = tape.compile_mode
        fresh.fun = tape.fun
        fresh.forward(check_guards=False)
        return fresh
    return tape_at
