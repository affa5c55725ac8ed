"""How a tape runs the loops recorded in it: each ``nd.scan`` becomes a ``LoopRun``.

A ``LoopRun`` turns a recorded loop (entries of the tape, see ``numad/scan.py``) into
the offsets the compiled driver takes (``numad/scan_kernels.py``), picks its
checkpoint schedule, and owns its snapshot and recording buffers.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from . import scan_kernels as SK
from . import tape_compiler as TC
from .checkpoint import binomial_buffers, checkpoint_schedule
from .config import config
from .errors import TracingError
from .optable import N_ELEMENTWISE, OPCODES

_ALIAS = OPCODES["alias"]
_CONST = OPCODES["const"]
_INPUT = OPCODES["input"]
_GUARD = OPCODES["guard"]
_WHERE = OPCODES["where"]
_CONCAT = OPCODES["concat"]


@functools.lru_cache(maxsize=32)
def _table(length, snapshots, strategy):
    return checkpoint_schedule(length, snapshots, strategy).actions


def resolve_plan(length, carry_bytes, strategy, snapshots):
    """(strategy, snapshots) as a loop of ``length`` steps runs them: ``auto`` is
    binomial with as many snapshots as ``nd.config.memory_budget`` holds,
    ``recompute_all`` is binomial with one, and binomial's default is
    ceil(sqrt(length)) (as ``nd.checkpoint_schedule``'s)."""
    if strategy == "auto":
        # a slot costs its carry and a sub-problem of the schedule generator's stack
        fit = config.memory_budget // (carry_bytes + 48)
        return "binomial", int(max(1, min(length, fit if snapshots is None else snapshots)))
    if strategy == "recompute_all":
        return "binomial", 1
    if strategy == "binomial" and snapshots is None:
        return "binomial", max(1, math.isqrt(length - 1) + 1 if length else 1)
    return strategy, snapshots


def loop_layout(loop, off, size):
    """The loop's layout arrays for the driver (``numad/scan_kernels.py`` says what
    each holds), from the value offsets ``off`` and sizes ``size`` of the entries."""
    def offsets(entries):
        return np.array([off[e] for e in entries], dtype=np.int64)

    def sizes(entries):
        return np.array([size[e] for e in entries], dtype=np.int64)

    y_size = sizes(loop.y_out)
    y_base = np.concatenate([[0], np.cumsum(y_size * loop.length)[:-1]]).astype(np.int64)
    return (offsets(loop.init), offsets(loop.carry_in), offsets(loop.carry_out),
            sizes(loop.carry_in), offsets(loop.xs), offsets(loop.x_in), sizes(loop.x_in),
            offsets(loop.y_out), y_size, y_base[:len(y_size)])


class LoopRun:
    """One loop of a tape: its layout in the tape's buffers, schedule and buffers."""

    def __init__(self, loop, tape):
        off, size = tape.off, tape.size
        self.loop = loop
        self.bs, self.be, self.p = loop.body_start, loop.body_stop, loop.entry
        self.length = loop.length
        self.p_off = int(off[self.p])

        self.lay = loop_layout(loop, off, size)
        self.carry = int(self.lay[3].sum())
        # the body's own storage: entries bs..be-1 own one contiguous stretch of the
        # value buffer (aliases own none) and of the workspace
        owned = [e for e in range(self.bs, self.be) if tape.op[e] != _ALIAS]
        vlo = int(off[owned[0]]) if owned else 0
        vhi = int(max(off[e] + size[e] for e in owned)) if owned else 0
        alo = int(tape.aux_off[self.bs])
        ahi = int(tape.aux_off[self.be]) if self.be < len(tape.op) else len(tape.aux) - 1
        # what a recorded step keeps besides its partials: the values and workspace,
        # unless every entry of the body is a scalar elementwise one (their reverse
        # reads only the partials: half the copying of store_all and uniform)
        body_ops = tape.op[self.bs:self.be]
        scalar = ((body_ops < N_ELEMENTWISE) & (tape.size[self.bs:self.be] == 1)) | np.isin(
            body_ops, [_ALIAS, _CONST, _INPUT, _GUARD])
        kv, ka = (vhi, ahi) if not np.all(scalar) else (vlo, alo)
        self.span = np.array([vlo, vhi, alo, ahi, vlo, kv, alo, ka], dtype=np.int64)
        self._plan(*resolve_plan(self.length, 8 * self.carry, loop.strategy, loop.snapshots))
        self.kept = (kv - vlo, ka - alo)
        self.cur = np.zeros(self.carry)
        self.gcur = np.zeros(self.carry)
        self.fresh = False  # the snapshots and recordings are the first pass's
        # The step as code of its own (numad/tape_compiler.py), decided at the first run
        # (the adapters choose the tape's compile mode after building it): None, or
        # (values, vjp, at). The buffers are allocated then, for the one or the other.
        self.step = None
        self.snaps = None

    def _plan(self, strategy, snapshots):
        """Take the schedule ``strategy`` with ``snapshots``, and the sizes of the
        buffers it needs (``slots`` snapshots, ``rows`` recorded steps)."""
        self.strategy, self.snapshots = strategy, snapshots
        # binomial schedules are generated row by row as the loop runs (their tables
        # grow with the length: 108 MiB for 10^6 steps); the others are short tables
        self.lazy = self.strategy == "binomial"
        if self.lazy:
            self.table = np.zeros((0, 3), dtype=np.int64)
            self.table.flags.writeable = False   # (as the shared tables are)
            slots = min(self.snapshots, self.length)
            rows = 1
            self.gen, self.stack, self.pending = binomial_buffers(self.snapshots, self.length)
        else:
            self.table = _table(self.length, self.snapshots, self.strategy)
            kind, a, b = self.table[:, 0], self.table[:, 1], self.table[:, 2]
            slots = int(a[kind == SK.TAKE].max()) + 1 if np.any(kind == SK.TAKE) else 0
            recorded = kind == SK.RECORD
            rows = int((b[recorded] - a[recorded]).max()) if np.any(recorded) else 0
            self.gen, self.stack, self.pending = (np.zeros(3, dtype=np.int64),
                                                  np.zeros((1, 6), dtype=np.int64),
                                                  np.zeros((4, 3), dtype=np.int64))
        self.slots, self.rows = max(slots, 1), max(rows, 1)

    def _prepare(self, tape):
        """Decide whether the step runs compiled, and allocate the buffers for that."""
        mode = self.loop.compile
        if mode is None:
            mode = tape.compile_mode if tape.compile_mode is not None else config.compile
        if (mode != "never" and TC.step_compilable(tape, self.loop) is None
                and (mode == "always" or TC.step_worth_compiling(tape, self.loop))):
            self.step = TC.compile_step(tape, self.loop)
            self.flat = SK.flat_layout(self.lay)
            if (self.loop.strategy == "auto" and self.strategy == "binomial"
                    and self.snapshots >= self.length):
                # a compiled step records its input carry only: store_all then takes
                # the memory of a snapshot at every step, with half the step runs
                self._plan("store_all", None)
        self.snaps = np.zeros((self.slots, max(self.carry, 1)))
        if self.step is not None:
            # a recorded step keeps its input carry only; a binomial schedule then
            # records its leaves whole (up to one more step than it has slots, see
            # checkpoint.binomial_next)
            rows = self.slots + 1 if self.lazy else self.rows
            self.rec_carry = np.zeros((rows, max(self.carry, 1)))
            self.rec_vals = self.rec_aux = np.zeros((1, 1))
            self.rec_partials = np.zeros((1, 1, 2))
        else:
            self.rec_carry = np.zeros((1, 1))
            self.rec_vals = np.zeros((self.rows, self.kept[0]))
            self.rec_partials = np.zeros((self.rows, self.be - self.bs, 2))
            self.rec_aux = np.zeros((self.rows, self.kept[1]))

    @property
    def schedule(self):
        """The schedule this loop runs, as ``nd.checkpoint_schedule`` describes it (a
        compiled step records input carries only: see its ``carries_only``; whether the
        step compiles is decided at the loop's first run)."""
        return checkpoint_schedule(self.length, self.snapshots, self.strategy,
                                   carries_only=self.step is not None)

    @property
    def nbytes(self):
        buffers = (self.table, self.stack)
        if self.snaps is not None:
            buffers += (self.snaps, self.rec_vals, self.rec_partials, self.rec_aux,
                        self.rec_carry)
        return sum(a.nbytes for a in buffers)

    def forward(self, tape):
        """The loop's first pass. Returns -1 or a failed guard's index."""
        if self.snaps is None:
            self._prepare(tape)
        report = getattr(self.loop, "progress", None)
        if report is not None:
            report(0, self.length, "forward")
        failed = self._first_pass(tape)
        if report is not None and failed < 0:
            report(self.length, self.length, "forward")
        return failed

    def _first_pass(self, tape):
        if self.step is not None:
            failed = self._compiled_first_pass(tape)
        else:
            failed = SK.scan_forward(
                tape.structure, tape.vals, tape.partials, tape.aux, self.bs, self.be,
                self.span, self.lay, self.lazy, self.table, self.snapshots or 0, self.gen,
                self.stack, self.pending, self.snaps, self.rec_vals, self.rec_partials,
                self.rec_aux, self.cur, tape.vals, self.p_off, self.length)
        self.fresh = failed < 0
        return failed

    def _compiled_first_pass(self, tape):
        advance, _, at = self.step
        return SK.compiled_scan_forward(
            advance, at, self.bs, tape.vals, self.flat, self.lazy, self.table,
            self.snapshots or 0, self.gen, self.stack, self.pending, self.snaps,
            self.rec_carry, self.cur, self.p_off, self.length)

    def reverse(self, tape, adj):
        """Add the loop's adjoints into ``adj``; returns -1 or a failed guard's index."""
        if self.snaps is None:
            self._prepare(tape)
        report = getattr(self.loop, "progress", None)
        if report is not None:
            report(0, self.length, "reverse")
        failed = self._reverse_pass(tape, adj)
        if report is not None and failed < 0:
            report(self.length, self.length, "reverse")
        return failed

    def _reverse_pass(self, tape, adj):
        if self.step is not None:
            advance, reverse, at = self.step
            failed = -1
            if not self.fresh:
                # a second reverse at one point: the first one used up the snapshots
                failed = self._compiled_first_pass(tape)
            if failed < 0:
                failed = SK.compiled_scan_reverse(
                    advance, reverse, at, tape.reverse_structure, tape.vals, tape.partials,
                    tape.aux, adj, self.bs, self.be, self.span, self.lay, self.flat, self.lazy,
                    self.table, self.snapshots or 0, self.gen, self.stack, self.pending,
                    self.snaps, self.rec_carry, self.cur, self.gcur, self.p_off, self.length)
        else:
            failed = SK.scan_reverse(
                tape.reverse_structure, tape.vals, tape.partials, tape.aux, adj, self.bs,
                self.be, self.span, self.lay, self.lazy, self.table, self.snapshots or 0,
                self.gen, self.stack, self.pending, not self.fresh, self.snaps,
                self.rec_vals, self.rec_partials, self.rec_aux, self.cur, self.gcur,
                self.p_off, self.length)
        self.fresh = False
        return failed

    def tangents(self, tape, tan, L):
        tcur = np.zeros(self.carry * L)
        return SK.scan_tangent(tape.structure, tape.vals, tape.partials, tape.aux, tan, L,
                               self.bs, self.be, self.span, self.lay, self.cur, tcur,
                               self.p_off, self.length)


def loop_runs(tape, loops):
    """The tape's loops in order, and which adjoints the reverse sweep must never
    assign (only add to): everything a loop body touches from outside, and the body."""
    n = len(tape.op)
    pinned = np.zeros(n, dtype=np.bool_)
    runs = []
    for p in sorted(loops):
        loop = loops[p]
        bs, be = loop.body_start, loop.body_stop
        body_args = _operands(tape, bs, be)
        outside = body_args[(body_args >= 0) & (body_args < bs)]
        pinned[outside] = True
        for e in range(bs, be):
            if tape.op[e] in (_WHERE, _CONCAT):
                for q in _param_entries(tape, e):
                    if q < bs:
                        pinned[q] = True
        for group in (loop.init, loop.xs, loop.carry_out, loop.y_out):
            pinned[list(group)] = True
        _refuse_leaks(tape, loop)
        runs.append(loop)
    return runs, pinned


def _operands(tape, lo, hi):
    """The entries that entries lo..hi-1 take as their a and b inputs (-1 for none)."""
    args = tape.args[lo:hi].astype(np.int64)
    args[tape.op[lo:hi] == _ALIAS, 1] = -1  # (an alias keeps its window's start there)
    return args


def _param_entries(tape, e):
    p = int(tape.pstart[e])
    if tape.op[e] == _WHERE:
        return [int(tape.params[p])]
    count = int(tape.params[p + 2])
    return [int(tape.params[p + 3 + 2 * t]) for t in range(count)]


def _refuse_leaks(tape, loop):
    # a value computed inside the step and used after the loop would be the value of
    # one step only (the last one replayed): refuse instead of answering wrongly
    bs, be, p = loop.body_start, loop.body_stop, loop.entry
    rest = _operands(tape, p + 1, len(tape.op))
    refs = rest[(rest >= bs) & (rest < be)]
    # (constants are shared by value across the whole trace, and never change)
    leaked = bool(np.any(tape.op[refs] != _CONST))
    if not leaked:
        for e in np.nonzero((tape.op[p + 1:] == _WHERE) | (tape.op[p + 1:] == _CONCAT))[0]:
            if any(bs <= q < be and tape.op[q] != _CONST
                   for q in _param_entries(tape, p + 1 + int(e))):
                leaked = True
                break
    if leaked:
        raise TracingError(f"numad: a value computed inside the step of nd.scan "
                           f"({loop.name}) is used after the loop (was it stored in a list "
                           "or a variable outside the step?); return it from the step as "
                           "part of its carry or of its output y instead")
