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

How a loop is laid out, in integer arrays (offsets into the value buffer):
``c_init, c_in, c_out, c_size``: per carry leaf, where its initial value, its body
input and its body output live, and its size (the carry vector is their
concatenation); ``x_src, x_in, x_size``: per leaf of ``xs``, where the stacked rows
live, where the body reads one row, and the row's size; ``y_out, y_size, y_base``: per
output leaf, the body entry that holds one step's output, its size, and where its
stacked rows start in the packed result at ``p_off`` (after the final carry).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import forward_sweep, reverse_sweep, tangent_sweep

ADVANCE, TAKE, RESTORE, RECORD, REVERSE = 0, 1, 2, 3, 4


@njit(cache=True)
def _load_step(vals, cur, s, c_in, c_size, x_src, x_in, x_size):
    """Write the carry ``cur`` and row ``s`` of every ``xs`` leaf into the body's inputs."""
    k = 0
    for j in range(c_in.shape[0]):
        o = c_in[j]
        for t in range(c_size[j]):
            vals[o + t] = cur[k]
            k += 1
    for j in range(x_in.shape[0]):
        n = x_size[j]
        src = x_src[j] + s * n
        o = x_in[j]
        for t in range(n):
            vals[o + t] = vals[src + t]


@njit(cache=True, error_model="numpy")
def _step(structure, vals, partials, aux, bs, be, cur, s, lay, out, p_off, length, write_ys):
    """Run step ``s`` from the carry ``cur``; leave the new carry in ``cur``.

    Writes the step's outputs into row ``s`` of the packed result ``out[p_off:]`` when
    ``write_ys``. Returns -1, or the index of a guard whose decision changed."""
    op, args, opnd, off, size, pstart, params, aux_off = structure
    c_init, c_in, c_out, c_size, x_src, x_in, x_size, y_out, y_size, y_base = lay
    _load_step(vals, cur, s, c_in, c_size, x_src, x_in, x_size)
    failed = forward_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals,
                           partials, aux, bs, be)
    if failed >= 0:
        return failed
    if write_ys:
        carry = cur.shape[0]
        for j in range(y_out.shape[0]):
            n = y_size[j]
            dst = p_off + carry + y_base[j] + s * n
            src = y_out[j]
            for t in range(n):
                out[dst + t] = vals[src + t]
    k = 0
    for j in range(c_out.shape[0]):
        o = c_out[j]
        for t in range(c_size[j]):
            cur[k] = vals[o + t]
            k += 1
    return -1


@njit(cache=True)
def _keep(vals, partials, aux, bs, be, span, r, rec_vals, rec_partials, rec_aux):
    """Copy a just-run step's values, partials and workspace into recording row ``r``."""
    vlo, vhi, alo, ahi = span
    rec_vals[r, :] = vals[vlo:vhi]
    rec_partials[r, :, :] = partials[bs:be, :]
    rec_aux[r, :] = aux[alo:ahi]


@njit(cache=True)
def _bring_back(vals, partials, aux, bs, be, span, r, rec_vals, rec_partials, rec_aux):
    vlo, vhi, alo, ahi = span
    vals[vlo:vhi] = rec_vals[r, :]
    partials[bs:be, :] = rec_partials[r, :, :]
    aux[alo:ahi] = rec_aux[r, :]


@njit(cache=True, error_model="numpy")
def _run_forward(structure, vals, partials, aux, bs, be, span, lay, actions, lo, hi, cur,
                 at, snaps, rec_vals, rec_partials, rec_aux, out, p_off, length, write_ys,
                 keep_last=True):
    """Carry out the ADVANCE, TAKE, RESTORE and RECORD rows ``lo..hi-1`` of a schedule.

    ``at[0]`` is the step the carry ``cur`` is at. Without ``keep_last``, a RECORD
    leaves its last step only in the body's buffers (the caller reverses it next).
    Returns -1 or a failed guard."""
    for row in range(lo, hi):
        kind = actions[row, 0]
        a = actions[row, 1]
        b = actions[row, 2]
        if kind == ADVANCE or kind == RECORD:
            for s in range(a, b):
                failed = _step(structure, vals, partials, aux, bs, be, cur, s, lay, out,
                               p_off, length, write_ys)
                if failed >= 0:
                    return failed
                if kind == RECORD and (keep_last or s < b - 1):
                    _keep(vals, partials, aux, bs, be, span, s - a, rec_vals, rec_partials,
                          rec_aux)
            at[0] = b
        elif kind == TAKE:
            snaps[a, :] = cur
        elif kind == RESTORE:
            cur[:] = snaps[a, :]
            at[0] = b
        else:
            return -2  # a REVERSE row here is a schedule error (the caller checks)
    return -1


@njit(cache=True)
def _carry_from_init(vals, cur, lay):
    c_init, c_size = lay[0], lay[3]
    k = 0
    for j in range(c_init.shape[0]):
        for t in range(c_size[j]):
            cur[k] = vals[c_init[j] + t]
            k += 1


@njit(cache=True, error_model="numpy")
def scan_forward(structure, vals, partials, aux, bs, be, span, lay, actions, first_pass_end,
                 snaps, rec_vals, rec_partials, rec_aux, cur, out, p_off, length):
    """The loop's first pass: from the initial carry through every step, following the
    schedule's first ``first_pass_end`` rows (which take its first snapshots and record
    what it records), writing the packed result ``out[p_off:]``.

    Modifies ``vals``, ``partials``, ``aux`` (the body's entries), ``snaps``, the
    recording buffers, ``cur`` and ``out``. Returns -1, or the index of a guard in the
    body whose recorded decision does not hold at some step.
    """
    _carry_from_init(vals, cur, lay)
    at = np.zeros(1, dtype=np.int64)
    failed = _run_forward(structure, vals, partials, aux, bs, be, span, lay, actions, 0,
                          first_pass_end, cur, at, snaps, rec_vals, rec_partials, rec_aux,
                          out, p_off, length, True)
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
    k = 0
    for j in range(c_out.shape[0]):
        o = c_out[j]
        for t in range(c_size[j]):
            adj[o + t] += gcur[k]
            k += 1
    carry = gcur.shape[0]
    for j in range(y_out.shape[0]):
        n = y_size[j]
        src = p_off + carry + y_base[j] + s * n
        o = y_out[j]
        for t in range(n):
            adj[o + t] += adj[src + t]
    reverse_sweep(op, args, opnd, off, size, pstart, params, aux_off, first, vals, partials,
                  aux, adj, bs, be)
    k = 0
    for j in range(c_in.shape[0]):
        o = c_in[j]
        for t in range(c_size[j]):
            gcur[k] = adj[o + t]
            k += 1
    for j in range(x_in.shape[0]):
        n = x_size[j]
        dst = x_src[j] + s * n
        o = x_in[j]
        for t in range(n):
            adj[dst + t] += adj[o + t]


@njit(cache=True, error_model="numpy")
def scan_reverse(rstructure, vals, partials, aux, adj, bs, be, span, lay, actions,
                 first_pass_end, redo_first_pass, snaps, rec_vals, rec_partials, rec_aux, cur,
                 gcur, p_off, length):
    """Reverse the loop: from the adjoint of its packed result (in ``adj[p_off:]``) add
    the adjoints of the initial carry, of ``xs`` and of every closed-over entry.

    Runs the schedule's reverse rows; with ``redo_first_pass`` it first runs the first
    pass again (a second reverse at one point finds the snapshots and recordings that
    the first one changed). Modifies ``adj``, the body's values and the buffers.
    Returns -1, or a failed guard's index.
    """
    structure = rstructure[:8]
    at = np.zeros(1, dtype=np.int64)
    if redo_first_pass:
        _carry_from_init(vals, cur, lay)
        failed = _run_forward(structure, vals, partials, aux, bs, be, span, lay, actions, 0,
                              first_pass_end, cur, at, snaps, rec_vals, rec_partials,
                              rec_aux, vals, p_off, length, False)
        if failed != -1:
            return failed
    for k in range(gcur.shape[0]):
        gcur[k] = adj[p_off + k]
    for row in range(first_pass_end, actions.shape[0]):
        kind = actions[row, 0]
        a = actions[row, 1]
        b = actions[row, 2]
        if kind == REVERSE:
            # a step recorded by the row just before is still in the body's buffers
            # (binomial schedules record one step and reverse it at once: no copies)
            hot = (row - 1 >= first_pass_end and actions[row - 1, 0] == RECORD
                   and actions[row - 1, 1] == a and actions[row - 1, 2] == b)
            for s in range(b - 1, a - 1, -1):
                if not (hot and s == b - 1):
                    _bring_back(vals, partials, aux, bs, be, span, s - a, rec_vals,
                                rec_partials, rec_aux)
                _reverse_step(rstructure, vals, partials, aux, adj, bs, be, span, lay, s,
                              gcur, p_off)
        else:
            reversed_next = (kind == RECORD and row + 1 < actions.shape[0]
                             and actions[row + 1, 0] == REVERSE
                             and actions[row + 1, 1] == a and actions[row + 1, 2] == b)
            failed = _run_forward(structure, vals, partials, aux, bs, be, span, lay, actions,
                                  row, row + 1, cur, at, snaps, rec_vals, rec_partials,
                                  rec_aux, vals, p_off, length, False, not reversed_next)
            if failed != -1:
                return failed
    c_init, c_size = lay[0], lay[3]
    k = 0
    for j in range(c_init.shape[0]):
        for t in range(c_size[j]):
            adj[c_init[j] + t] += gcur[k]
            k += 1
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
    k = 0
    for j in range(c_init.shape[0]):
        for t in range(c_size[j] * L):
            tcur[k] = tan[c_init[j] * L + t]
            k += 1
    carry = cur.shape[0]
    for s in range(length):
        failed = _step(structure, vals, partials, aux, bs, be, cur, s, lay, vals, p_off,
                       length, False)
        if failed >= 0:
            return failed
        tan[span[0] * L:span[1] * L] = 0.0
        k = 0
        for j in range(c_in.shape[0]):
            for t in range(c_size[j] * L):
                tan[c_in[j] * L + t] = tcur[k]
                k += 1
        for j in range(x_in.shape[0]):
            n = x_size[j] * L
            src = (x_src[j] + s * x_size[j]) * L
            for t in range(n):
                tan[x_in[j] * L + t] = tan[src + t]
        tangent_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals, partials, aux,
                      tan, L, bs, be)
        k = 0
        for j in range(c_out.shape[0]):
            for t in range(c_size[j] * L):
                tcur[k] = tan[c_out[j] * L + t]
                k += 1
        for j in range(y_out.shape[0]):
            n = y_size[j]
            dst = (p_off + carry + y_base[j] + s * n) * L
            for t in range(n * L):
                tan[dst + t] = tan[y_out[j] * L + t]
    for k in range(carry * L):
        tan[p_off * L + k] = tcur[k]
    return -1
