"""The scan driver: compiled loops that replay a loop body's entries step after step.

A ``nd.scan`` records its step once, as a *body*: entries ``bs..be-1`` of the tape,
followed by one ``scan`` entry whose value packs the loop's results
``[final carry, stacked outputs]``. Inside the body, the carry and the current row of
``xs`` are ``input`` entries that these loops fill before each step; values the step
closes over are entries before the body, read in place. The tape's sweeps stop at a
body, and these loops run it ``length`` times with the ordinary sweeps of
``numad/kernels.py`` over ``bs..be``.

Reverse mode follows a checkpoint schedule (``numad/checkpoint.py``): rows
``(kind, a, b)`` that advance the state, take and restore snapshots of the carry, record
steps (keep their values, partials and workspaces) and reverse recorded steps. The
schedule decides the memory: snapshots of the carry, plus the recorded steps' values.
Binomial schedules are generated a row at a time as the loop runs (their tables would
grow with the length); the others are read from their (short) tables.

How a loop is laid out, in integer arrays (offsets into the value buffer):
``span``: the body's own stretch of the value buffer and of the workspace
(``span[0:2]``, ``span[2:4]``), then the parts of them a recorded step keeps
(``span[4:6]``, ``span[6:8]``); ``c_init, c_in, c_out, c_size``: per carry leaf,
where its initial value, its body input and its body output live, and its size (the
carry vector is their concatenation); ``x_src, x_in, x_size``: per leaf of ``xs``,
where the stacked rows live, where the body reads one row, and the row's size; ``y_out, y_size, y_base``: per
output leaf, the body entry that holds one step's output, its size, and where its
stacked rows start in the packed result at ``p_off`` (after the final carry).
"""
from __future__ import annotations

import functools
import threading

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from .checkpoint import ADVANCE, RECORD, RESTORE, REVERSE, TAKE, binomial_next, binomial_start
from .kernels import forward_sweep, forward_values_sweep, reverse_sweep, tangent_sweep


@njit(cache=True)
def _carry_io(buf, at, sizes, L, vec, into_vec, add):
    """Move values between the carry vector ``vec`` (its leaves concatenated, ``L``
    lanes a value) and the leaves' entries at ``at`` in ``buf``: into ``vec`` when
    ``into_vec``, else into ``buf``, adding when ``add``."""
    k = 0
    for j in range(at.shape[0]):
        o = at[j] * L
        for t in range(sizes[j] * L):
            if into_vec:
                vec[k] = buf[o + t]
            elif add:
                buf[o + t] += vec[k]
            else:
                buf[o + t] = vec[k]
            k += 1


@njit(cache=True)
def _row_io(src, src_at, dst, dst_at, sizes, s, rows_in_src, shift, L, add):
    """Move each leaf's ``sizes[j]`` values (``L`` lanes each) from ``src`` to ``dst``;
    on the side that holds stacked rows (``src`` when ``rows_in_src``) the leaf is row
    ``s`` of the rows starting at its ``at[j] + shift``. Adds when ``add``."""
    for j in range(sizes.shape[0]):
        n = sizes[j]
        a = src_at[j] + (shift + s * n if rows_in_src else 0)
        b = dst_at[j] + (0 if rows_in_src else shift + s * n)
        for t in range(n * L):
            if add:
                dst[b * L + t] += src[a * L + t]
            else:
                dst[b * L + t] = src[a * L + t]


@njit(cache=True, error_model="numpy")
def _step(structure, vals, partials, aux, bs, be, cur, s, lay, out, p_off, length, write_ys,
          with_partials):
    """Run step ``s`` from the carry ``cur``; leave the new carry in ``cur``.

    Writes the step's outputs into row ``s`` of the packed result ``out[p_off:]`` when
    ``write_ys``; stores the scalar entries' partials only ``with_partials`` (a step
    that is only advanced through is never reversed). Returns -1, or the index of a
    guard whose decision changed."""
    op, args, opnd, off, size, pstart, params, aux_off = structure
    c_init, c_in, c_out, c_size, x_src, x_in, x_size, y_out, y_size, y_base = lay
    _carry_io(vals, c_in, c_size, 1, cur, False, False)
    _row_io(vals, x_src, vals, x_in, x_size, s, True, 0, 1, False)
    if with_partials:
        failed = forward_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals,
                               partials, aux, bs, be)
    else:
        failed = forward_values_sweep(op, args, opnd, off, size, pstart, params, aux_off,
                                      vals, partials, aux, bs, be)
    if failed >= 0:
        return failed
    if write_ys:
        _row_io(vals, y_out, out, y_base, y_size, s, False, p_off + cur.shape[0], 1, False)
    _carry_io(vals, c_out, c_size, 1, cur, True, False)
    return -1


@njit(cache=True)
def _keep(vals, partials, aux, bs, be, span, r, rec_vals, rec_partials, rec_aux):
    """Copy a just-run step's partials, and the values and workspace its reverse needs
    (``span[4:6]``, ``span[6:8]``), into recording row ``r``."""
    vlo, vhi, alo, ahi = span[4], span[5], span[6], span[7]
    rec_vals[r, :] = vals[vlo:vhi]
    rec_partials[r, :, :] = partials[bs:be, :]
    rec_aux[r, :] = aux[alo:ahi]


@njit(cache=True)
def _bring_back(vals, partials, aux, bs, be, span, r, rec_vals, rec_partials, rec_aux):
    vlo, vhi, alo, ahi = span[4], span[5], span[6], span[7]
    vals[vlo:vhi] = rec_vals[r, :]
    partials[bs:be, :] = rec_partials[r, :, :]
    aux[alo:ahi] = rec_aux[r, :]



@njit(cache=True)
def _carry_from_init(vals, cur, lay):
    _carry_io(vals, lay[0], lay[3], 1, cur, True, False)



@njit(cache=True, inline='always')
def _start(lazy, length, slots, gen, stack, pending, whole=False):
    """Start reading a schedule: generated row by row (binomial, its leaves recorded
    whole where ``whole``: see binomial_start) or from a table."""
    if lazy:
        binomial_start(length, slots, gen, stack, pending, whole)
    else:
        gen[:] = 0


@njit(cache=True, inline='always')
def _next(lazy, table, gen, stack, pending, row):
    """The schedule's next row into ``row``; False at its end."""
    if lazy:
        return binomial_next(gen, stack, pending, row)
    k = gen[2]
    if k >= table.shape[0]:
        return False
    row[0], row[1], row[2] = table[k, 0], table[k, 1], table[k, 2]
    gen[2] = k + 1
    return True


@njit(cache=True, error_model="numpy")
def _forward_row(structure, vals, partials, aux, bs, be, span, lay, kind, a, b, cur, snaps,
                 rec_vals, rec_partials, rec_aux, out, p_off, length, write_ys, keep_last):
    """Carry out one ADVANCE, TAKE, RESTORE or RECORD row. Without ``keep_last``, a
    RECORD leaves its last step only in the body's buffers (the caller reverses it
    next). Returns -1, a failed guard, or -2 for a REVERSE row (not one of these)."""
    if kind == ADVANCE or kind == RECORD:
        for s in range(a, b):
            failed = _step(structure, vals, partials, aux, bs, be, cur, s, lay, out, p_off,
                           length, write_ys, kind == RECORD)
            if failed >= 0:
                return failed
            if kind == RECORD and (keep_last or s < b - 1):
                _keep(vals, partials, aux, bs, be, span, s - a, rec_vals, rec_partials,
                      rec_aux)
    elif kind == TAKE:
        snaps[a, :] = cur
    elif kind == RESTORE:
        cur[:] = snaps[a, :]
    else:
        return -2
    return -1


@njit(cache=True, error_model="numpy")
def _first_pass(structure, vals, partials, aux, bs, be, span, lay, lazy, table, slots, gen,
                stack, pending, snaps, rec_vals, rec_partials, rec_aux, cur, out, p_off,
                length, write_ys):
    """From the initial carry through every step: the schedule's rows up to its first
    RECORD (the last piece of the loop), which take its first snapshots."""
    _start(lazy, length, slots, gen, stack, pending)
    _carry_from_init(vals, cur, lay)
    row = np.zeros(3, dtype=np.int64)
    while _next(lazy, table, gen, stack, pending, row):
        failed = _forward_row(structure, vals, partials, aux, bs, be, span, lay, row[0],
                              row[1], row[2], cur, snaps, rec_vals, rec_partials, rec_aux,
                              out, p_off, length, write_ys, True)
        if failed != -1:
            return failed
        if row[0] == RECORD:
            break
    return -1


@njit(cache=True, error_model="numpy")
def scan_forward(structure, vals, partials, aux, bs, be, span, lay, lazy, table, slots, gen,
                 stack, pending, snaps, rec_vals, rec_partials, rec_aux, cur, out, p_off,
                 length):
    """The loop's first pass: from the initial carry through every step, following the
    schedule (``table``, or the binomial generator when ``lazy``) up to its first
    RECORD, writing the packed result ``out[p_off:]``.

    Modifies ``vals``, ``partials``, ``aux`` (the body's entries), the schedule state
    ``gen, stack, pending``, ``snaps``, the recording buffers, ``cur`` and ``out``.
    Returns -1, or the index of a guard in the body whose recorded decision does not
    hold at some step.
    """
    failed = _first_pass(structure, vals, partials, aux, bs, be, span, lay, lazy, table,
                         slots, gen, stack, pending, snaps, rec_vals, rec_partials, rec_aux,
                         cur, out, p_off, length, True)
    if failed != -1:
        return failed
    for k in range(cur.shape[0]):
        out[p_off + k] = cur[k]
    return -1


@njit(cache=True, error_model="numpy")
def _reverse_step(rstructure, vals, partials, aux, adj, bs, be, span, lay, s, gcur, p_off):
    """Reverse step ``s`` (its values already in place): the carry's adjoint ``gcur``
    and row ``s`` of the outputs' adjoints in, the adjoint of the step's input carry
    out (in ``gcur``); the row of ``xs`` and the closed-over entries get theirs added."""
    op, args, opnd, off, size, pstart, params, aux_off, first = rstructure
    c_init, c_in, c_out, c_size, x_src, x_in, x_size, y_out, y_size, y_base = lay
    # the body's adjoints start from zero at every step (the driver, not the tape,
    # clears them, since the body is swept once per step)
    adj[span[0]:span[1]] = 0.0
    _carry_io(adj, c_out, c_size, 1, gcur, False, True)
    _row_io(adj, y_base, adj, y_out, y_size, s, True, p_off + gcur.shape[0], 1, True)
    reverse_sweep(op, args, opnd, off, size, pstart, params, aux_off, first, vals, partials,
                  aux, adj, bs, be)
    _carry_io(adj, c_in, c_size, 1, gcur, True, False)
    _row_io(adj, x_in, adj, x_src, x_size, s, False, 0, 1, True)



@njit(cache=True, error_model="numpy")
def scan_reverse(rstructure, vals, partials, aux, adj, bs, be, span, lay, lazy, table, slots,
                 gen, stack, pending, redo_first_pass, snaps, rec_vals, rec_partials, rec_aux,
                 cur, gcur, p_off, length):
    """Reverse the loop: from the adjoint of its packed result (in ``adj[p_off:]``) add
    the adjoints of the initial carry, of ``xs`` and of every closed-over entry.

    Runs the schedule's rows after its first pass; with ``redo_first_pass`` it runs the
    first pass again first (a second reverse at one point finds the snapshots and
    recordings that the first one changed). Modifies ``adj``, the body's values, the
    schedule state and the buffers. Returns -1, or a failed guard's index.
    """
    structure = rstructure[:8]
    if redo_first_pass:
        failed = _first_pass(structure, vals, partials, aux, bs, be, span, lay, lazy, table,
                             slots, gen, stack, pending, snaps, rec_vals, rec_partials,
                             rec_aux, cur, vals, p_off, length, False)
        if failed != -1:
            return failed
    for k in range(gcur.shape[0]):
        gcur[k] = adj[p_off + k]
    nxt = np.zeros(3, dtype=np.int64)
    have = _next(lazy, table, gen, stack, pending, nxt)
    pk, pa, pb = -1, -1, -1  # the row before (none: the first pass's may be stale)
    while have:
        kind, a, b = nxt[0], nxt[1], nxt[2]
        have = _next(lazy, table, gen, stack, pending, nxt)
        if kind == REVERSE:
            # a step recorded by the row just before is still in the body's buffers
            # (binomial schedules record one step and reverse it at once: no copies)
            hot = pk == RECORD and pa == a and pb == b
            for s in range(b - 1, a - 1, -1):
                if not (hot and s == b - 1):
                    _bring_back(vals, partials, aux, bs, be, span, s - a, rec_vals,
                                rec_partials, rec_aux)
                _reverse_step(rstructure, vals, partials, aux, adj, bs, be, span, lay, s,
                              gcur, p_off)
        else:
            reversed_next = (kind == RECORD and have and nxt[0] == REVERSE
                             and nxt[1] == a and nxt[2] == b)
            failed = _forward_row(structure, vals, partials, aux, bs, be, span, lay, kind, a,
                                  b, cur, snaps, rec_vals, rec_partials, rec_aux, vals, p_off,
                                  length, False, not reversed_next)
            if failed != -1:
                return failed
        pk, pa, pb = kind, a, b
    _carry_io(adj, lay[0], lay[3], 1, gcur, False, True)
    return -1


@njit(cache=True, error_model="numpy")
def scan_tangent(structure, vals, partials, aux, tan, L, bs, be, span, lay, cur, tcur, p_off,
                 length):
    """Push ``L`` tangent lanes through the loop, step by step (forward mode needs no
    schedule: each step's tangents follow from its values, computed alongside).

    ``tan`` holds the tangents of every entry before the loop; this writes those of its
    packed result. Modifies ``tan`` and the body's values. Returns -1 or a failed guard.
    """
    op, args, opnd, off, size, pstart, params, aux_off = structure
    c_init, c_in, c_out, c_size, x_src, x_in, x_size, y_out, y_size, y_base = lay
    _carry_from_init(vals, cur, lay)
    _carry_io(tan, c_init, c_size, L, tcur, True, False)
    carry = cur.shape[0]
    for s in range(length):
        failed = _step(structure, vals, partials, aux, bs, be, cur, s, lay, vals, p_off,
                       length, False, True)
        if failed >= 0:
            return failed
        tan[span[0] * L:span[1] * L] = 0.0
        _carry_io(tan, c_in, c_size, L, tcur, False, False)
        _row_io(tan, x_src, tan, x_in, x_size, s, True, 0, L, False)
        tangent_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals, partials, aux,
                      tan, L, bs, be)
        _carry_io(tan, c_out, c_size, L, tcur, True, False)
        _row_io(tan, y_out, tan, y_base, y_size, s, False, p_off + carry, L, False)
    for k in range(carry * L):
        tan[p_off * L + k] = tcur[k]
    return -1


# ---- compiled steps ----------------------------------------------------------------------
#
# A step compiled into code of its own (``numad/tape_compiler.py``, ``compile_step``) comes
# as two first-class functions of one signature, each running a range of steps:
# ``advance`` runs steps a..b-1 (keeping their input carries for a RECORD row),
# ``reverse`` runs steps b-1..a again from their input carries and reverses them; ``at``
# holds the slots they touch. The drivers below take them as arguments of a
# ``FunctionType``, so that these drivers are compiled once for every step, and call
# them once a row of the schedule, not once a step: the values the step reads from before
# the loop, and their adjoints, then stay in registers along a row, as in a hand-written
# loop. A recorded step keeps only its input carry (``rec_carry``): ``reverse``
# recomputes the rest in registers, which is cheaper than storing and reloading it.
# Where ``reverse`` meets an inf or a nan that its shortcuts would not treat as the
# generic sweeps do, it returns -2 - s and step s is reversed by the generic sweeps
# instead (``tape_compiler._Plan.reverse``).

# The step functions take raw pointers to the values, the adjoints and the slots:
# passing arrays to a function that is not inlined costs numba's reference counting, about
# 6 ns an array a call (measured), a third of a small step's cost.
_STEP = types.FunctionType(types.int64(types.CPointer(types.float64),
                                       types.CPointer(types.float64),
                                       types.CPointer(types.float64),
                                       types.CPointer(types.float64),
                                       types.CPointer(types.int64),
                                       types.int64, types.int64, types.int64))
_I1 = types.int64[::1]
_F1 = types.float64[::1]
_I2 = types.int64[:, ::1]
_F2 = types.float64[:, ::1]
_LAYOUT = types.UniTuple(_I1, 10)
_TABLE = types.Array(types.int64, 2, "C", readonly=True)   # (the schedules' tables are shared)
# the tape's reverse structure (``Tape.reverse_structure``): op, args, opnd, off, size,
# pstart, params, aux_off, first
_STRUCTURE = types.Tuple((types.int32[::1], types.int32[:, ::1], types.uint64[:, ::1], _I1, _I1,
                          _I1, _I1, _I1, types.boolean[:, ::1]))


# The drivers call ``values`` and ``vjp`` in their own bodies, and move the carry and
# the rows in their own loops over element slots (``flat``, from ``flat_layout``): a
# first-class function handed on to another compiled function cost about 25 ns a call
# more, and the per-leaf helpers above about 20 ns a step each (measured).

def flat_layout(lay):
    """The layout by elements: (carry in, carry out, initial carry; x in, x source,
    x row stride; y out, y start in the packed result after the carry, y row stride),
    one slot per element."""
    c_init, c_in, c_out, c_size, x_src, x_in, x_size, y_out, y_size, y_base = lay

    def elements(at, sizes):
        return np.array([a + t for a, n in zip(at, sizes) for t in range(n)], dtype=np.int64)

    def strides(sizes):
        return np.array([n for n in sizes for _ in range(n)], dtype=np.int64)

    return (elements(c_in, c_size), elements(c_out, c_size), elements(c_init, c_size),
            elements(x_in, x_size), elements(x_src, x_size), strides(x_size),
            elements(y_out, y_size), elements(y_base, y_size), strides(y_size))


_FLAT = types.UniTuple(_I1, 9)


@njit(cache=True, error_model="numpy")
def _generic_reverse_step(rstructure, vals, partials, aux, adj, bs, be, span, lay, s, gcur,
                          p_off):
    """Step ``s`` (its inputs loaded) run and reversed by the generic sweeps."""
    op, args, opnd, off, size, pstart, params, aux_off, first = rstructure
    failed = forward_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals, partials,
                           aux, bs, be)
    if failed >= 0:
        return failed
    _reverse_step(rstructure, vals, partials, aux, adj, bs, be, span, lay, s, gcur, p_off)
    return -1


@njit(cache=True, inline='always')
def _take_or_restore(kind, a, cur, snaps):
    """A TAKE row (the carry into snapshot ``a``) or a RESTORE row (back from it)."""
    if kind == TAKE:
        for k in range(cur.shape[0]):
            snaps[a, k] = cur[k]
    elif kind == RESTORE:
        for k in range(cur.shape[0]):
            cur[k] = snaps[a, k]


@intrinsic
def _pointer(typingctx, array):
    """The address of ``array``'s data, as a pointer to its elements (the array must
    outlive the pointer's use: here, the drivers' own arguments)."""
    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data
    return types.CPointer(array.dtype)(array), codegen


def compiled_at_first_call(signature, **options):
    """``@njit(signature, **options)``, compiled at the first call instead of at import.
    A signature compiles eagerly, and the reverse driver holds the whole generic reverse
    sweep (its fallback): at import, every process that never runs a compiled scan paid
    for it (minutes with a cold cache). Threads that call first at once compile once."""
    def decorate(fn):
        compiled = []
        lock = threading.Lock()

        @functools.wraps(fn)
        def call(*args):
            if not compiled:
                with lock:
                    if not compiled:
                        compiled.append(njit(signature, **options)(fn))
            return compiled[0](*args)

        return call
    return decorate


@compiled_at_first_call(
    types.int64(_STEP, _I1, types.int64, _F1, _FLAT, types.boolean, _TABLE, types.int64,
                _I1, _I2, _I2, _F2, _F2, _F1, types.int64, types.int64), cache=True)
def compiled_scan_forward(advance, at, bs, vals, flat, lazy, table, slots, gen, stack, pending,
                          snaps, rec_carry, cur, p_off, length):
    """``scan_forward`` with a compiled step (``bs``: the step's first entry): the
    first pass, which writes the packed result (``advance`` writes the output rows,
    this the final carry); a RECORD row keeps its steps' input carries in
    ``rec_carry``. Returns -1 or a failed guard's index."""
    c_in, c_out, c_init, x_in, x_src, x_stride, y_out, y_at, y_stride = flat
    nc = c_in.shape[0]
    pvals, pat, pcur, prec = _pointer(vals), _pointer(at), _pointer(cur), _pointer(rec_carry)
    # (a compiled step records input carries only: a binomial schedule's leaves whole)
    _start(lazy, length, slots, gen, stack, pending, True)
    for k in range(nc):
        cur[k] = vals[c_init[k]]
    row = np.zeros(3, dtype=np.int64)
    while _next(lazy, table, gen, stack, pending, row):
        kind, a, b = row[0], row[1], row[2]
        if kind == ADVANCE or kind == RECORD:
            failed = advance(pvals, pvals, prec, pcur, pat, a, b, kind == RECORD)
            if failed >= 0:
                return bs + failed
        else:
            _take_or_restore(kind, a, cur, snaps)
        if kind == RECORD:
            break
    for k in range(nc):
        vals[p_off + k] = cur[k]   # (the packed result: the final carry, then the ys)
    return -1


@compiled_at_first_call(
    types.int64(_STEP, _STEP, _I1, _STRUCTURE, _F1, _F2, _F1, _F1, types.int64, types.int64,
                _I1, _LAYOUT, _FLAT, types.boolean, _TABLE, types.int64, _I1, _I2, _I2, _F2,
                _F2, _F1, _F1, types.int64, types.int64), cache=True, error_model="numpy")
def compiled_scan_reverse(advance, reverse, at, rstructure, vals, partials, aux, adj, bs, be,
                          span, lay, flat, lazy, table, slots, gen, stack, pending, snaps,
                          rec_carry, cur, gcur, p_off, length):
    """``scan_reverse`` with a compiled step, after ``compiled_scan_forward`` (run it
    again first for a second reverse at one point). A REVERSE row runs ``reverse`` from
    each step's recorded input carry; a RECORD row just before it of the same steps
    does not run its last step (``reverse`` recomputes it). The tape's structure,
    partials and workspace serve the generic fallback. Returns -1 or a failed guard."""
    c_in, c_out, c_init, x_in, x_src, x_stride, y_out, y_at, y_stride = flat
    nc = c_in.shape[0]
    pvals, padj, pat = _pointer(vals), _pointer(adj), _pointer(at)
    pcur, pgcur, prec = _pointer(cur), _pointer(gcur), _pointer(rec_carry)
    for k in range(nc):
        gcur[k] = adj[p_off + k]
    nxt = np.zeros(3, dtype=np.int64)
    have = _next(lazy, table, gen, stack, pending, nxt)
    while have:
        kind, a, b = nxt[0], nxt[1], nxt[2]
        have = _next(lazy, table, gen, stack, pending, nxt)
        if kind == REVERSE:
            hi = b
            while hi > a:
                failed = reverse(pvals, padj, prec, pgcur, pat, a, hi, 0)
                if failed == -1:
                    break
                if failed >= 0:
                    return bs + failed
                # step s meets an inf or a nan: the generic sweeps reverse it
                s = -2 - failed
                for k in range(nc):
                    vals[c_in[k]] = rec_carry[s - a, k]
                for k in range(x_in.shape[0]):
                    vals[x_in[k]] = vals[x_src[k] + s * x_stride[k]]
                failed = _generic_reverse_step(rstructure, vals, partials, aux, adj, bs,
                                               be, span, lay, s, gcur, p_off)
                if failed >= 0:
                    return failed
                hi = s
        elif kind == ADVANCE or kind == RECORD:
            record = kind == RECORD
            # (a recording reversed next does not run its last step: ``reverse``
            # recomputes it from its input carry)
            last = b - 1 if (record and have and nxt[0] == REVERSE and nxt[1] == a
                             and nxt[2] == b) else b
            failed = advance(pvals, pvals, prec, pcur, pat, a, last, record)
            if failed >= 0:
                return bs + failed
            if last < b:
                for k in range(nc):
                    rec_carry[last - a, k] = cur[k]
        else:
            _take_or_restore(kind, a, cur, snaps)
    for k in range(nc):
        adj[c_init[k]] += gcur[k]
    return -1
