"""The CPU batch driver: one tape swept at many points, blocks of rows on every core.

A batch is a matrix ``X`` of rows: row ``r`` holds the values of the batched inputs at
point ``r``, column ``c`` going to slot ``in_slots[c]`` of the tape's value buffer (the
shared inputs and the constants are already in ``vals0``). Each block of rows gets its
own copy of the buffers, once, and sweeps its rows one after the other; blocks run in
parallel (``prange``), so memory is the tape's buffers times the number of blocks, not
times the rows.

A row is swept by the tape's own compiled code where it has some (``fn``, a compiled
tape's ``value_and_gradient(vals, adj, value)``, numad/tape_compiler.py, taken as a
first-class function so that this one driver serves every tape), else by the generic
sweeps (numad/kernels.py). Compiled code that meets an inf or a nan hands the row to
the generic sweeps, as a single replay does. Each row's answer depends on its own inputs
only, and every row is swept by the same code whatever the number of threads: the
results are the same bit for bit with one thread and with many.
"""
import numpy as np
from numba import njit, prange, types

from . import _cache  # noqa: F401  (numad's cache keying, before any @njit)
from .kernels import clear_adjoints, forward_sweep, reverse_sweep
from .scan_kernels import compiled_at_first_call

# The compiled tapes' value-and-gradient functions, as the driver takes them.
ROW_FUNCTION = types.FunctionType(types.int64(types.float64[::1], types.float64[::1],
                                              types.boolean))
ROW_SIGNATURE = (types.float64[::1], types.float64[::1], types.boolean)

# Rows are split into at most this many blocks (each with its own buffers): enough for
# every core to get several, few enough that the buffers' copies stay small.
MAX_BLOCKS = 256


@njit(types.int64(types.float64[::1], types.float64[::1], types.boolean), cache=True)
def no_compiled_code(vals, adj, value):
    """The driver's ``fn`` for a tape without compiled code (never called)."""
    return -3


_I1 = types.int64[::1]
_F1 = types.float64[::1]
_F2 = types.float64[:, ::1]


@compiled_at_first_call(
    types.void(ROW_FUNCTION, types.boolean, types.int32[::1], types.int32[:, ::1],
               types.uint64[:, ::1], _I1, _I1, _I1, _I1, _I1, types.boolean[:, ::1], _I1, _F1,
               _F1, _F2, _I1, _I1, _I1, types.int64, types.boolean, _F2, _F2, _I1),
    cache=True, parallel=True, error_model="numpy")
def batch_rows(fn, use_fn, op, args, opnd, off, size, pstart, params, aux_off, first, clear,
               vals0, aux0, X, in_slots, out_slots, grad_slots, seed, want_gradient, values,
               gradients, status):
    """Values (and gradients) of a tape at every row of ``X``, blocks of rows in parallel.

    ``values[r, k]`` gets slot ``out_slots[k]`` at row ``r``; where ``want_gradient``,
    ``gradients[r, k]`` gets the adjoint of slot ``grad_slots[k]`` from a reverse sweep
    seeded with 1 at slot ``seed`` (a scalar output). ``status[r]`` is -1, or the guard
    that failed at row ``r`` (its results are then left unset: the caller answers it on
    its own path). ``fn`` is used where ``use_fn`` (gradients only).
    """
    rows = X.shape[0]
    n_in = X.shape[1]
    blocks = min(rows, MAX_BLOCKS)
    for blk in prange(blocks):
        lo = blk * rows // blocks
        hi = (blk + 1) * rows // blocks
        vals = vals0.copy()
        aux = aux0.copy()
        partials = np.zeros((op.shape[0], 2))
        adj = np.zeros_like(vals0)
        for r in range(lo, hi):
            for k in range(n_in):
                vals[in_slots[k]] = X[r, k]
            failed = -2
            if want_gradient and use_fn:
                failed = fn(vals, adj, True)
            if failed == -2:   # (no compiled code, or an inf or a nan on its way)
                failed = forward_sweep(op, args, opnd, off, size, pstart, params, aux_off,
                                       vals, partials, aux, 0, op.shape[0])
                if failed < 0 and want_gradient:
                    clear_adjoints(off, size, clear, adj)
                    adj[seed] = 1.0
                    reverse_sweep(op, args, opnd, off, size, pstart, params, aux_off, first,
                                  vals, partials, aux, adj, 0, op.shape[0])
            status[r] = failed
            if failed >= 0:
                continue
            for k in range(out_slots.shape[0]):
                values[r, k] = vals[out_slots[k]]
            if want_gradient:
                for k in range(grad_slots.shape[0]):
                    gradients[r, k] = adj[grad_slots[k]]
