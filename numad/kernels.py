"""The compiled sweeps over a flat tape.

Every function here is a plain ``@njit(cache=True)`` loop over arrays: it knows the
tape's parallel arrays and the op table's opcodes and nothing else, so one compiled
sweep serves every function numad traces (nothing is compiled per user function).

The tape, as the sweeps see it (entry ``i``):

``op[i]``            opcode (``numad.optable``)
``args[i, 0:2]``     input entries, -1 where unused (`where`'s third is in ``params``)
``opnd[i, 0:2]``     where the values of inputs 0 and 1 start (``off[args[i, k]]``, or the
                     value buffer's last, spare slot where unused): scalar entries read
                     their operands without the extra indirection
``off[i]``           where the entry's values start in the value buffer
``size[i]``          how many values it has (1 for a scalar)
``pstart[i]``        where its integer parameters start in ``params``
``aux_off[i]``       where its float workspace (a sort's permutation) starts in ``aux``
``partials[i, :2]``  for scalar elementwise entries, the local partial derivatives,
                     stored by the forward sweep so that the reverse sweep needs no
                     switch over opcodes (measured: 9-16 ns to 2 ns per entry on a
                     random mix of operations)

Buffers: ``vals`` (values), ``adj`` (adjoints, same layout), ``tan`` (tangents, ``L``
lanes per value: value ``j`` of the buffer has tangents ``tan[j*L : j*L+L]``).

Conventions: a zero adjoint or a zero tangent contributes nothing (so the untaken side
of a ``where`` never turns an ``inf`` into ``0 * inf = nan``), nor does a zero partial
that the op table calls a strong zero (``STRONG_ZERO_OPS``: ``adjoint_mul``'s second
input, whose partial is an adjoint); inputs of stride 0 in an elementwise op are scalars
broadcast over the output.
"""
import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (numad's cache keying, before any @njit)
# (numad.kernels is the one import point of the sweeps: the names below are re-exported)
from ._generated.elementwise import (STRONG_ZERO_OPS, ZERO_DERIVATIVE_OPS,
                                     array_elementwise_forward, array_elementwise_hvp,
                                     array_elementwise_reverse, elementwise_partial_tangents,
                                     elementwise_tangent, select)
from ._generated.sweeps import (FORWARD_HANDLES, HVP_STRUCTURAL, REVERSE_HANDLES,
                                TANGENT_HANDLES, forward_entry, forward_sweep,
                                forward_values_sweep, hvp_entry, reverse_entry, tangent_entry)
from .structural_kernels import (ALIAS, AMAX, AMIN, CHOLESKY, CONCAT, CONST, CUMPROD, CUMSUM,
                                 CUSTOM, DET, EIGH, EIGH_TIE_RTOL, ELEMENTWISE_END, GATHER,
                                 GUARD, INPUT, INV, MATMUL, PROD, SCAN, SCATTER_ADD,
                                 SCATTER_SET, SLOGDET, SOLVE, SORT, SUM, WHERE)


# ---------------------------------------------------------------------------------------
# The reverse sweep (the forward sweeps are generated: numad/_generated/sweeps.py)


@njit(cache=True, error_model="numpy")
def reverse_sweep(op, args, opnd, off, size, pstart, params, aux_off, first, vals, partials,
                  aux, adj, start, stop):
    """Accumulate adjoints (``+=``) from entries ``stop-1`` down to ``start``.

    ``adj`` must hold the seeds, and zeros in the adjoints that ``clear_adjoints``
    clears; ``vals``, ``partials`` and ``aux`` must come from a forward sweep at the same
    point. Modifies ``adj``.

    Where ``first[i, k]`` is set, entry ``i`` is the first (in reverse order) to write
    the adjoint of its operand ``k`` and writes all of it: it assigns instead of adding,
    so that adjoint needs no clearing beforehand (clearing a 10^6-element tape's buffer
    cost about 3 ms, a fifth of its gradient).
    """
    for i in range(stop - 1, start - 1, -1):
        o = op[i]
        n = size[i]
        if o < ELEMENTWISE_END and n == 1:
            # a unary op's second operand is the buffer's spare slot; a zero adjoint or
            # partial adds exactly 0 (LLVM makes these conditionals selects, no branches)
            g = adj[off[i]]
            d0 = partials[i, 0]
            d1 = partials[i, 1]
            t0 = g * d0 if (g != 0.0 and d0 != 0.0) else 0.0
            t1 = g * d1 if (g != 0.0 and d1 != 0.0) else 0.0
            pa = opnd[i, 0]
            pb = opnd[i, 1]
            adj[pa] = (0.0 if first[i, 0] else adj[pa]) + t0
            adj[pb] = (0.0 if first[i, 1] else adj[pb]) + t1
            continue
        if o == ALIAS or o == CONST or o == INPUT or o == GUARD:
            continue
        reverse_entry(i, op, args, off, size, pstart, params, aux_off, first, vals,
                      aux, adj)




@njit(cache=True, error_model="numpy")
def tangent_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals, partials, aux, tan,
                  L, start, stop):
    """Push ``L`` tangent directions at once through entries ``start..stop-1``.

    ``vals``, ``partials`` and ``aux`` must come from a forward sweep at the same point;
    ``tan`` holds the inputs' tangents (and zeros elsewhere). Modifies ``tan``.
    """
    for i in range(start, stop):
        o = op[i]
        if o < ELEMENTWISE_END and size[i] == 1:
            # scalar entries use the partials the forward sweep stored: no switch
            d0 = partials[i, 0]
            d1 = partials[i, 1]
            # (a strong zero partial, adjoint_mul's b at a zero adjoint: no term at all)
            s0 = d0 != 0.0 or not STRONG_ZERO_OPS[o, 0]
            s1 = d1 != 0.0 or not STRONG_ZERO_OPS[o, 1]
            pa = np.int64(opnd[i, 0]) * L
            pb = np.int64(opnd[i, 1]) * L
            yl = off[i] * L
            if L == 1:
                u0 = tan[pa]
                u1 = tan[pb]
                tan[yl] = ((d0 * u0 if u0 != 0.0 and s0 else 0.0)
                           + (d1 * u1 if u1 != 0.0 and s1 else 0.0))
                continue
            for lane in range(L):
                u0 = tan[pa + lane]
                u1 = tan[pb + lane]
                tan[yl + lane] = ((d0 * u0 if u0 != 0.0 and s0 else 0.0)
                                  + (d1 * u1 if u1 != 0.0 and s1 else 0.0))
            continue
        if o == ALIAS or o == CONST or o == INPUT:
            continue
        tangent_entry(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L)


# ---------------------------------------------------------------------------------------
# Hessian-vector products: forward over reverse, in one call

# The structural ops that the Hessian-vector sweep takes (HVP_STRUCTURAL: the rows of
# STRUCTURAL with an hvp kernel): those linear in their array inputs (and the
# piecewise-linear max, min, sort) need only their ordinary reverse step applied to the
# adjoints' tangents too, and matmul adds its cross terms. Tapes with others (prod,
# cumprod, solve, inv, slogdet, det, cholesky, eigh, loops) use the recorded gradient
# instead (numad/adapters.py).


@njit(cache=True, error_model="numpy")
def hvp_sweep(op, args, opnd, off, size, pstart, params, aux_off, nofirst, vals, partials,
              aux, tan, dpartials, adj, adjd):
    """Tangents of the adjoints: the Hessian-vector product of a scalar output.

    ``vals``, ``partials`` and ``aux`` come from a forward sweep at x; ``tan`` holds the
    direction v at the inputs and zeros elsewhere; ``adj`` and ``adjd`` are zero but for
    the output's seed (1 and 0). One tangent sweep (which also takes the tangents of the
    scalar entries' partials, into ``dpartials``), then one reverse sweep that carries
    each adjoint g and its tangent gd together:

        adj[a]  += g * da
        adjd[a] += gd * da + g * tangent(da)

    so ``adjd`` at the inputs is H v: forward over reverse, the cost of a few gradients
    whatever the number of inputs. ``nofirst`` is an all-False (n, 2) array: every step
    adds. Modifies ``tan``, ``dpartials``, ``adj`` and ``adjd``.
    """
    n_entries = op.shape[0]
    for i in range(n_entries):
        o = op[i]
        if o < ELEMENTWISE_END and size[i] == 1:
            pa = opnd[i, 0]
            pb = opnd[i, 1]
            ta = tan[pa]
            tb = tan[pb]
            d0 = partials[i, 0]
            d1 = partials[i, 1]
            s0 = d0 != 0.0 or not STRONG_ZERO_OPS[o, 0]
            s1 = d1 != 0.0 or not STRONG_ZERO_OPS[o, 1]
            ty = (d0 * ta if ta != 0.0 and s0 else 0.0) + (d1 * tb if tb != 0.0 and s1 else 0.0)
            tan[off[i]] = ty
            dd0, dd1 = elementwise_partial_tangents(o, vals[pa], vals[pb], vals[off[i]], ta,
                                                    tb, ty)
            dpartials[i, 0] = dd0
            dpartials[i, 1] = dd1
        elif o == ALIAS or o == CONST or o == INPUT:
            continue
        else:
            tangent_entry(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, 1)
    for i in range(n_entries - 1, -1, -1):
        o = op[i]
        n = size[i]
        yo = off[i]
        if o < ELEMENTWISE_END and n == 1:
            g = adj[yo]
            gd = adjd[yo]
            if g == 0.0 and gd == 0.0:
                continue
            for k in range(2):
                e = opnd[i, k]
                d = partials[i, k]
                dd = dpartials[i, k]
                if d != 0.0:
                    if g != 0.0:
                        adj[e] += g * d
                    if gd != 0.0:
                        adjd[e] += gd * d
                if dd != 0.0 and g != 0.0:
                    adjd[e] += g * dd
        elif o == ALIAS or o == CONST or o == INPUT or o == GUARD:
            continue
        else:
            hvp_entry(i, op, args, off, size, pstart, params, aux_off, nofirst, vals, aux, tan,
                      adj, adjd)


@njit(cache=True, error_model="numpy")
def hvp_of_input(op, args, opnd, off, size, pstart, params, aux_off, nofirst, vals, partials,
                 aux, tan, dpartials, adj, adjd, start, direction, out, result):
    """H v for a tape of one input array (at ``vals[start:]``) and a scalar output
    entry ``out``, at the point of the last forward sweep: the buffers are cleared and
    seeded here, and H v written into ``result`` (one call from Python: the
    optimizers' hot path)."""
    tan[:] = 0.0
    adj[:] = 0.0
    adjd[:] = 0.0
    m = direction.shape[0]
    tan[start:start + m] = direction
    adj[off[out]] = 1.0
    hvp_sweep(op, args, opnd, off, size, pstart, params, aux_off, nofirst, vals, partials, aux,
              tan, dpartials, adj, adjd)
    result[:] = adjd[start:start + m]


@njit(cache=True)
def clear_adjoints(off, size, clear, adj):
    """Zero the adjoints of the entries in ``clear``: those no entry assigns first."""
    for t in range(clear.shape[0]):
        e = clear[t]
        for k in range(off[e], off[e] + size[e]):
            adj[k] = 0.0


# ---------------------------------------------------------------------------------------
# Value and gradient in one call


@njit(cache=True, error_model="numpy")
def value_and_gradient_sweep(op, args, opnd, off, size, pstart, params, aux_off, first,
                             clear, vals, partials, aux, adj, out):
    """Forward sweep, then the reverse sweep seeded with 1 at entry ``out``: one call
    instead of two, because a small function's gradient costs more in dispatch
    (about 2 us per call of a 12-argument kernel) than in the sweeps themselves.

    Returns -1, or the index of the guard that failed (then ``adj`` is untouched).
    """
    failed = forward_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals,
                           partials, aux, 0, op.shape[0])
    if failed >= 0:
        return failed
    clear_adjoints(off, size, clear, adj)
    adj[off[out]] = 1.0
    reverse_sweep(op, args, opnd, off, size, pstart, params, aux_off, first, vals, partials,
                  aux, adj, 0, op.shape[0])
    return -1


# ---------------------------------------------------------------------------------------
# Laying out a freshly recorded tape (plain loops: in NumPy these cost ~0.4 us an entry)


@njit(cache=True)
def tape_layout(op, args, size, scalar_vals):
    """Value offsets, the value buffer and the operand offsets of a recorded tape.

    An alias entry shares its input's buffer: on entry ``args[i, 1]`` holds where its
    window starts (set to -1 here). Scalar entries' values come from ``scalar_vals``;
    the buffer gets one spare slot at the end, where unused operands point.
    Returns ``(off, vals, opnd)``.
    """
    n = op.shape[0]
    off = np.empty(n, dtype=np.int64)
    total = 0
    for i in range(n):
        if op[i] == ALIAS:
            off[i] = off[args[i, 0]] + args[i, 1]
            args[i, 1] = -1
        else:
            off[i] = total
            total += size[i]
    vals = np.zeros(total + 1)
    for i in range(n):
        if op[i] != ALIAS and size[i] == 1:
            vals[off[i]] = scalar_vals[i]
    opnd = np.empty((n, 2), dtype=np.uint64)
    for i in range(n):
        for k in range(2):
            e = args[i, k]
            opnd[i, k] = off[e] if e >= 0 else total
    return off, vals, opnd


@njit(cache=True)
def first_writers(op, args, size, pstart, params, outputs, writes_operand, pinned):
    """Which entries may assign their operands' adjoints instead of adding to them.

    Returns ``first`` (n, 2): entry i is the first, in reverse order, to touch the
    adjoint of its operand k, and writes all of it (``writes_operand[op, k]`` says
    which array ops do; scalar elementwise entries always do); and ``clear``: the
    entries whose adjoints nobody assigns, to be zeroed before a reverse sweep.
    Aliases write into their root's buffer, so a first writer must come after every
    user of the root and of its aliases; outputs are seeded before the sweep, so
    their roots are never assigned.
    """
    n = op.shape[0]
    root = np.empty(n, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        root[i] = root[args[i, 0]] if op[i] == ALIAS else i
        for k in range(2):
            e = args[i, k]
            if e >= 0 and last[root[e]] < i:
                last[root[e]] = i
        if op[i] == WHERE:
            e = params[pstart[i]]
            if last[root[e]] < i:
                last[root[e]] = i
        elif op[i] == CONCAT:
            p = pstart[i]
            for t in range(params[p + 2]):
                e = params[p + 3 + 2 * t]
                if last[root[e]] < i:
                    last[root[e]] = i
    protected = np.zeros(n, dtype=np.bool_)
    for t in range(outputs.shape[0]):
        protected[root[outputs[t]]] = True
    for e in range(n):
        if pinned[e]:
            protected[root[e]] = True
    first = np.zeros((n, 2), dtype=np.bool_)
    written = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        scalar = op[i] < ELEMENTWISE_END and size[i] == 1
        for k in range(2):
            e = args[i, k]
            if e < 0 or (k == 1 and args[i, 0] >= 0 and root[args[i, 0]] == root[e]):
                # (x * x, and x[:] * x: operand 0 shares operand 1's root, so it has added
                # into this buffer already; the kernels take operand 0 first, element by
                # element, so operand 0 may assign and operand 1 must add)
                continue
            if op[e] == ALIAS or protected[e] or size[e] != size[i] or last[e] != i:
                continue
            if scalar or writes_operand[op[i], k]:
                first[i, k] = True
                written[e] = True
    count = 0
    for i in range(n):
        if op[i] != ALIAS and op[i] != GUARD and not written[i]:
            count += 1
    clear = np.empty(count, dtype=np.int64)
    count = 0
    for i in range(n):
        if op[i] != ALIAS and op[i] != GUARD and not written[i]:
            clear[count] = i
            count += 1
    return first, clear
