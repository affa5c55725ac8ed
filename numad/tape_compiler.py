"""Compiled tapes: a tape's value-and-gradient sweep written out as its own ``@njit`` code.

The generic sweeps interpret the tape, one switch over the opcode per entry; for a small
step replayed many times, or an optimizer's objective replayed thousands of times, that
interpretation is most of the cost. ``compile_tape`` writes the tape instead as
straight-line Python, one statement per live entry, from the op table's own formulas
(``numad/optable.py``: the rows' values and partials, spelled for numba as the generated
kernels spell them), and compiles it: lowered to LLVM by numad itself
(``numad/llvm_lowering.py``, a fraction of numba's front end's time), with numba
compiling a one-line wrapper around it, or by numba's front end where the code is not
of the small language that module lowers (fused array code):

* forward: every scalar value is a local (``v<offset>``), read from the tape's values
  buffer once where it is an input or a constant; each entry's partials that the
  reverse part needs are kept in locals (``p<offset>_<k>``);
* dead entries (neither on the way to the output nor read by a guard) are dropped, and
  an entry equal to an earlier one (same op, same operands) reuses its local;
* guards are checked where they stand: a changed branch decision returns the guard's
  entry index, exactly as the interpreter's sweep does (the caller traces again, or
  raises ``ControlFlowChanged``);
* reverse: adjoints are locals too (``g<offset>``), the first contribution assigned and
  the others added, and only the inputs' adjoints are stored, every input element's
  (zero where the output does not depend on it). The numbers are the generic sweep's
  bit for bit (``_Plan.reverse`` says how, and hands a point where an inf or a nan
  would make them differ back to the generic sweep), except where an entry equal to an
  earlier one shares its adjoint: the contributions then add in another order.

The code depends on the tape's structure only (opcodes, wiring, offsets), never on its
values: constants are read from the values buffer. So the text is its own cache key: it
is written to a file named by its hash in numad's tape-cache directory and compiled with
numba's ``cache=True``, so that a second process or a second tape of the same structure
loads it instead of compiling (``cache_directory``). Where no directory can be written,
the code is compiled in memory, and numad says so once.

What compiles: tapes (and ``nd.scan`` steps, ``step_source``) of elementwise
operations, on scalars or on small arrays (one statement per element), with ``x[i]`` and
slices by constants (windows of the values buffer), ``nd.stack``/``concatenate`` and
sums, up to ``MAX_ENTRIES`` scalar operations written; a tape with one scalar output.
Passes of a loop that tracing unrolled (a Python ``for`` over traced scalars, an
elementwise entry on a long array) are written once, as a ``for`` loop
(numad/rerolling.py, ``_Plan._loop_forward``), so a 1000-pass loop counts its body
only. A tape with long arrays (``fusion.FUSE_MIN`` elements) is written as fused loops
instead, one per chain of elementwise entries (``numad/fusion.py``); its Hessian-vector
code stays element by element where that fits. Other tapes are not compiled
(``compilable`` says why) and replay on the generic sweeps.
"""
from __future__ import annotations

import ast
import glob
import hashlib
import importlib.util
import math
import os
import re
import sys
import tempfile
import threading
import warnings

import numpy as np
from numba.core.types.function_type import WrapperAddressProtocol

from ._codegen import formula as _formula, kernel_expression, partial_derivative
from .optable import ELEMENTWISE, N_ELEMENTWISE, NUMPY_LOOP, NUMPY_LOOP_MIN, OPCODES, OPNAMES
from .fusion import (compact_layout, compact_slot, fused_plan, fused_source,
                     has_long_arrays, runs_in_parallel, statement_count)
from .rerolling import find_loops
from . import llvm_lowering

_INPUT = OPCODES["input"]
_CONST = OPCODES["const"]
_ALIAS = OPCODES["alias"]
_GUARD = OPCODES["guard"]
_CONCAT = OPCODES["concat"]
_COPY = OPCODES["copy"]
_SUM = OPCODES["sum"]
_WHERE = OPCODES["where"]
_WHERE_TAKEN = OPCODES["where_taken"]
_WHERE_OTHER = OPCODES["where_other"]
_ADD = OPCODES["add"]
# The rows whose value costs a call (exp, log, a power, a special function...): a loop's
# reverse part reads such values back from its forward part (one store and one load a
# pass) instead of computing them again, as a hand-written adjoint keeps exp(...) for
# the way back; other values cost less to compute again than to store.
_CHEAP_CALLS = {"select", "abs", "sign", "floor", "ceil", "rint", "trunc", "copysign"}


def _calls_a_function(expr):
    tree = ast.parse(expr, mode="eval")
    return any(isinstance(node, ast.Pow) or (isinstance(node, ast.Call) and not (
        isinstance(node.func, ast.Name) and node.func.id in _CHEAP_CALLS))
        for node in ast.walk(tree))


_COSTLY = frozenset(p.opcode for p in ELEMENTWISE if _calls_a_function(p.value))
_CSE = True  # (tests switch it off to check bit-for-bit agreement without it)
ZERO_SLOT = -1   # a slot that stands for the literal 0.0 (see _sum_ops; cuda_batch reads it)
_LOOP = "loop"   # an item of a _Plan that is a loop (numad/rerolling.py)

VERSION = "10"   # of the generated code's form: part of every cache key
# Above this many scalar operations written, compiling one function takes longer than
# replays are likely to repay: LLVM's time grows faster than the code (register
# allocation over the partials that live from the forward part to the reverse part).
# Lowered by numad/llvm_lowering.py, a random mix of operations compiled cold in 0.12 s
# at 216 entries, 0.6 s at 1016, 3.6 to 5.2 s at 5016 and 14 s at 10016
# (benchmarks/compare_compiled.py --mix); through numba's front end it took 1.2 s at
# 244 entries, 6 s at 994 and 24 s at 2494.
MAX_ENTRIES = 10_000
# Tapes of more scalar operations than this are not searched for loops (the search
# takes about 10 us an operation).
MAX_SCANNED = 200_000


def _scalar_count(tape, lo, hi):
    """How many scalar operations entries lo..hi-1 are (``scalar_ops``'s length)."""
    op, size = tape.op[lo:hi], tape.size[lo:hi]
    summed = tape.args[lo:hi][op == _SUM, 0]
    return int(size[(op < N_ELEMENTWISE) | (op == _CONCAT) | (op == _GUARD)].sum()
               + 3 * size[op == _WHERE].sum() + tape.size[summed].sum())


def _too_large(tape, lo, hi):
    """Why entries lo..hi-1 are too many scalar operations to compile, or None."""
    count = _scalar_count(tape, lo, hi)
    if count > MAX_ENTRIES:
        return f"it has {count} scalar operations, more than {MAX_ENTRIES}"
    return None


def compilable(tape):
    """None when ``compile_tape`` takes ``tape``, else why not (a short phrase)."""
    kind, detail = _choice(tape)
    return detail if kind is None else None


def hvp_compilable(tape):
    """None when ``compile_hvp`` takes ``tape``, else why not: its code is written a
    statement per element (loops rolled up), also where the gradient is fused loops."""
    kind, detail = _cached(tape, "_scalar_choice", _scalar_choice)
    return detail if kind is None else None


def _choice(tape):
    """How ``tape``'s gradient compiles: ("fused", its ``FusedPlan``) for a tape with
    long arrays that fuses (numad/fusion.py), else ``_scalar_choice``'s answer. It
    depends on the tape's structure only, so it is kept on the tape."""
    return _cached(tape, "_compile_choice", _choose)


def _cached(tape, name, choose):
    choice = getattr(tape, name, None)
    if choice is None:
        choice = choose(tape)
        setattr(tape, name, choice)
    return choice


def _choose(tape):
    if not tape.stops and has_long_arrays(tape):
        plan = fused_plan(tape)
        if plan.why is None:
            return "fused", plan
        kind, detail = _cached(tape, "_scalar_choice", _scalar_choice)
        return kind, (detail if kind is not None else plan.why)
    return _cached(tape, "_scalar_choice", _scalar_choice)


def _scalar_choice(tape):
    """("scalar", operations written) for a tape whose value-and-gradient (or
    Hessian-vector) code is written a statement per element, its loops rolled up, else
    (None, why not)."""
    return _statement_choice(tape, gradient=True)


def _statement_choice(tape, gradient, one_output=True):
    """``_scalar_choice``, or for the tangent sweep (``gradient`` false: any outputs,
    straight-line code without rolled-up loops) ``_tangent_choice``; ``one_output``
    false: reverse code for any outputs (``_vjp_choice``)."""
    if tape.stops:
        return None, "it contains a scan loop or a call with a rule of its own"
    if gradient and one_output and (len(tape.output_entries) != 1
                                    or tape.size[tape.output_entries[0]] != 1):
        return None, "its output is not one scalar"
    n = len(tape.op)
    if _scalar_count(tape, 0, n) > (MAX_SCANNED if gradient else MAX_ENTRIES):
        return None, _too_large(tape, 0, n)
    ops = scalar_ops(tape, 0, n)
    if isinstance(ops, str):
        return None, ops
    count = _written_count(ops) if gradient else len(ops)
    if count > MAX_ENTRIES:
        return None, (f"it has {count} scalar operations"
                      f"{' once its loops are rolled up' if gradient else ''}, "
                      f"more than {MAX_ENTRIES}")
    return "scalar", count


def _written_count(ops):
    """How many operations the code of ``ops`` writes, its loops rolled up."""
    loops = find_loops(ops, _GUARD, ZERO_SLOT)
    return len(ops) - sum(loop.period * (loop.count - 1) for loop in loops)


def scalar_ops(tape, lo, hi):
    """Entries ``lo..hi-1`` as scalar operations, or why they cannot be: a list of
    ``(opcode, slot, operand slots)``, and ``(_GUARD, entry, operand slot, recorded
    slot)`` for a guard, in an order that computes every value before its uses.

    An elementwise entry on arrays becomes one operation per element (an operand of
    size 1 is broadcast, as the generic kernels have it), a ``concat`` one ``copy`` per
    element; inputs, constants and aliases are slots (an alias is a window of its
    source's slots) and compute nothing. The elements of an entry are listed last to
    first, so that the reverse part, which runs the list backwards, adds their
    contributions in the generic sweeps' order."""
    op, off, size, args, opnd = tape.op, tape.off, tape.size, tape.args, tape.opnd
    params, pstart = tape.params, tape.pstart
    ops = []
    temporaries = iter(range(-2, -(2**62), -1))   # slots of the values no entry owns
    for i in range(lo, hi):
        o = int(op[i])
        if o < N_ELEMENTWISE:
            arity = ELEMENTWISE[o].arity
            n = int(size[i])
            if n >= NUMPY_LOOP_MIN and NUMPY_LOOP[o]:
                # (the generic sweeps take NumPy's loop there, whose last bits this
                # code's libm calls would not give; fused code takes it too)
                return (f"its {OPNAMES[o]} of {n} elements takes NumPy's loop (fused "
                        "code or the generic sweeps do that)")
            if n == 1:
                ops.append((o, int(off[i]), [int(opnd[i, k]) for k in range(arity)]))
                continue
            sources = [(int(off[args[i, k]]), int(size[args[i, k]]) > 1) for k in range(arity)]
            for k in range(n - 1, -1, -1):
                ops.append((o, int(off[i]) + k, [s + (k if full else 0) for s, full in sources]))
        elif o == _CONCAT:
            p = int(pstart[i])
            pre, post, count = int(params[p]), int(params[p + 1]), int(params[p + 2])
            total = sum(int(params[p + 4 + 2 * t]) for t in range(count))
            copies, col = [], 0
            for t in range(count):
                e, ms = int(params[p + 3 + 2 * t]), int(params[p + 4 + 2 * t])
                one = int(size[e]) == 1 and ms * pre * post > 1
                for r in range(pre):
                    for j in range(ms * post):
                        src = int(off[e]) if one else int(off[e]) + r * ms * post + j
                        copies.append((_COPY, int(off[i]) + r * total * post + col * post + j,
                                       [src]))
                col += ms
            ops += reversed(copies)
        elif o == _SUM:
            ops += _sum_ops(tape, i, temporaries)
        elif o == _WHERE:
            ops += _where_ops(tape, i, temporaries)
        elif o == _GUARD:
            ops.append((_GUARD, i, int(opnd[i, 0]), int(off[i])))
        elif o not in (_INPUT, _CONST, _ALIAS):
            return (f"it has {OPNAMES[o]} entries (only elementwise operations, where, "
                    "sums, concatenation and indexing by constants compile)")
    return ops


def _where_ops(tape, i, temporaries):
    """``where(c, x, z)`` element by element as ``where_taken(c, x) + where_other(c, z)``
    (op table rows that are exactly 0.0 on their untaken side): the generic kernels'
    values and adjoints, but for the sign of a zero (-0.0 + 0.0 is 0.0). Elements last
    to first, as ``scalar_ops`` lists them; an operand of size 1 is broadcast."""
    off, size = tape.off, tape.size
    c, x, z = int(tape.args[i, 0]), int(tape.args[i, 1]), int(tape.params[tape.pstart[i]])
    ops = []
    for k in range(int(size[i]) - 1, -1, -1):
        ck, xk, zk = (int(off[e]) + (k if size[e] > 1 else 0) for e in (c, x, z))
        taken, other = next(temporaries), next(temporaries)
        ops.append((_WHERE_TAKEN, taken, [ck, xk]))
        ops.append((_WHERE_OTHER, other, [ck, zk]))
        ops.append((_ADD, int(off[i]) + k, [taken, other]))
    return ops


def _sum_ops(tape, i, temporaries):
    """The adds of a ``sum`` entry, in the order (and with the rounding) of the generic
    kernel (``structural_kernels.forward_reduce``): along a contiguous line eight
    accumulators, then the rest, then the accumulators pairwise; else one accumulator.
    ``ZERO_SLOT`` stands for 0.0, ``temporaries`` gives the slots of the partial sums."""
    add = OPCODES["add"]
    off, p = tape.off, int(tape.pstart[i])
    pre, m, post = (int(tape.params[p + k]) for k in range(3))
    a = int(off[tape.args[i, 0]])
    ops = []

    def plus(x, y, out=None):
        out = next(temporaries) if out is None else out
        ops.append((add, out, [x, y]))
        return out

    for r in range(pre):
        for q in range(post):
            base, y = a + r * m * post + q, int(off[i]) + r * post + q
            if post == 1:
                acc = [ZERO_SLOT] * 8
                full = m - m % 8
                for j in range(0, full, 8):
                    acc = [plus(acc[k], base + j + k) for k in range(8)]
                total = ZERO_SLOT
                for j in range(full, m):
                    total = plus(total, base + j)
                left = plus(plus(acc[0], acc[1]), plus(acc[2], acc[3]))
                right = plus(plus(acc[4], acc[5]), plus(acc[6], acc[7]))
                plus(plus(total, left), right, y)
            else:
                total = ZERO_SLOT
                for j in range(m - 1):
                    total = plus(total, base + j * post)
                plus(total, base + (m - 1) * post, y)
    return ops


class _Plan:
    """How entries ``lo..hi-1`` of a tape become code (the analysis ``source`` and
    ``step_source`` share), as the scalar operations of ``scalar_ops``.

    ``outputs``: the entries whose values the code writes back and whose adjoints seed
    its reverse part; ``assigned``: the slots whose adjoints it writes (zero where the
    outputs do not depend on them); ``added``: slots outside the stretch whose adjoints
    it adds to (values the stretch reads, from before it). Values live in slots of the
    values buffer (inputs, constants and aliases are windows of it)."""

    def __init__(self, tape, lo, hi, outputs, assigned, added=(), reroll=False,
                 second_order=False, keep_costly=False):
        off, size = tape.off, tape.size
        # (gradient code only: a loop's costly values are stored in its forward loop
        # and read back in its reverse loop instead of computed again, see ``costly``)
        self.keep_costly = keep_costly
        self.tangents = None          # (hvp_source's: see _loop_forward)
        self.second_order = second_order   # (loops keep every carry: see hvp_source)
        self.tape, self.lo, self.hi = tape, lo, hi
        self.assigned, self.added = list(assigned), set(added)
        raw = scalar_ops(tape, lo, hi)
        # Loops that tracing unrolled become loops again (numad/rerolling.py): each is
        # one item (_LOOP, loop) in place of its passes.
        self.loops = find_loops(raw, _GUARD, ZERO_SLOT) if reroll else []
        items, i = [], 0
        for loop in self.loops:
            items += raw[i:loop.start]
            items.append((_LOOP, loop))
            i = loop.stop
        items += raw[i:]
        self.loop_slots = set().union(*(loop.slots for loop in self.loops))
        # Common subexpressions: an operation with the same op and the same operands as
        # an earlier one is that one (``same`` maps its slot there). (Not inside loops.)
        same, first_of = {}, {}
        self.same = same
        self.produced = set()   # the slots that straight-line operations compute
        ops, guards = [], []   # the operations that compute a value of their own; guards
        for item in items:
            if item[0] == _GUARD:
                guards.append(item)
                ops.append(item)
                continue
            if item[0] == _LOOP:
                ops.append(item)
                continue
            o, slot, operands = item
            self.produced.add(slot)
            operands = [self.slot(s) for s in operands]
            key = (o, *operands)
            if key in first_of and _CSE:
                same[slot] = first_of[key]
            else:
                first_of[key] = slot
                ops.append((o, slot, operands))
        self.outputs = [(int(off[e]) + k, self.slot(int(off[e]) + k))
                        for e in outputs for k in range(int(size[e]))]

        # Live operations: on the way to an output or to a guard's operand (loops are
        # kept whole).
        needed = {s for _, s in self.outputs} | {self.slot(g[2]) for g in guards}
        live = []
        for item in reversed(ops):
            if item[0] == _GUARD:
                live.append(item)
            elif item[0] == _LOOP:
                live.append(item)
                needed.update(self.slot(s) for s in item[1].reads)
            elif item[1] in needed:
                live.append(item)
                needed.update(item[2])
        self.ops = live[::-1]
        # Slots whose value depends on a variable (through nonzero partials), and of
        # those the ones an output depends on: only they need partials and adjoints.
        varies = set(self.assigned) | self.added
        for item in self.ops:
            if item[0] == _LOOP:
                if any(self.slot(s) in varies for s in item[1].reads):
                    varies.update(item[1].slots)
            elif item[0] != _GUARD:
                o, slot, operands = item
                row = ELEMENTWISE[o]
                if any(s in varies for k, s in enumerate(operands)
                       if row.partials[k] is not None):
                    varies.add(slot)
        self.varies = varies
        on_path = {s for _, s in self.outputs} & varies
        for item in reversed(self.ops):
            if item[0] == _LOOP:
                if not on_path.isdisjoint(item[1].slots):
                    on_path.update(self.slot(s) for s in item[1].reads
                                   if self.slot(s) in varies)
            elif item[0] != _GUARD and item[1] in on_path:
                o, slot, operands = item
                row = ELEMENTWISE[o]
                on_path.update(s for k, s in enumerate(operands)
                               if row.partials[k] is not None and s in varies)
        self.on_path = on_path
        self._memory_adjoints()

    def _memory_adjoints(self):
        """Which loop values are stored (``self.stored``: per loop, the operations whose
        values are read after their pass: by the next pass, or from outside the loop),
        and which adjoints live in memory, ``self.memory``: those a loop reads or adds
        to at slots that change from pass to pass (an input's elements, a loop's values
        read from outside it). Every contribution to those goes to ``adj`` (zeroed
        first), in the generic sweep's order; other adjoints are locals."""
        read = set()   # the slots operations (and loops, and guards) read
        for item in self.ops:
            if item[0] == _GUARD:
                read.add(self.slot(item[2]))
            elif item[0] == _LOOP:
                read.update(self.slot(s) for s in item[1].reads)
            else:
                read.update(item[2])
        outside = read | {s for _, s in self.outputs}
        # (the slots read one at a time: operands, and loops' fixed values and carries)
        self.scalar_reads = {s for item in self.ops if item[0] not in (_GUARD, _LOOP)
                             for s in item[2]}
        for loop in self.loops:
            for item in loop.body:
                if item[0] != "guard":
                    self.scalar_reads.update(self.slot(r[-1] if r[0] == "carried" else r[1])
                                             for r in item[3] if r[0] in ("fixed", "carried"))
        self.stored, self.outside_stored, self.memory = [], [], set()
        self.costly = []   # per loop: the operations whose values its reverse loop reads
        self.zeroed = []   # (base, stride, count): the memory adjoints, as runs
        self.reverse_needs, self.optional = [], []
        for loop in self.loops:
            # (the carries whose values, and whose tangents, the reverse loop uses)
            carries, tangent_carries = (_second_order_needs(loop) if self.second_order
                                        else (_reverse_needs(loop), set()))
            self.reverse_needs.append((carries, tangent_carries))
            carries = carries | tangent_carries
            # a loop that only makes the output (no guard in it, no value of it read
            # again) is run only where the caller wants the value
            self.optional.append(not carries and loop.slots.isdisjoint(read) and all(
                item[0] != "guard" for item in loop.body))
            read_outside = {j for j, item in enumerate(loop.body) if item[0] != "guard"
                            and any(loop.slot_at(j, k) in outside
                                    for k in range(loop.count))}
            carried = {r[1] for item in loop.body if item[0] != "guard"
                       for r in item[3] if r[0] == "carried"}
            # (the carry read after the loop only at its last pass, as a loop's result
            # usually is: one adjoint in memory, not one a pass)
            last_only = {j for j in read_outside & carried
                         if not any(loop.slot_at(j, k) in outside
                                    for k in range(loop.count - 1))}
            self.outside_stored.append(read_outside - last_only)
            self.stored.append(read_outside | (carried & carries))
            self.costly.append(
                {j for j, item in enumerate(loop.body) if item[0] != "guard"
                 and item[0] in _COSTLY} if self.keep_costly and not self.optional[-1]
                else set())
            for j in read_outside:
                count = 1 if j in last_only else loop.count
                first = loop.slot_at(j, loop.count - count)
                self.memory.update(first + loop.body[j][2] * k for k in range(count))
                self.zeroed.append((first, loop.body[j][2], count))
            for item in loop.body:
                if item[0] != "guard":
                    for r in item[3]:
                        if r[0] == "strided":
                            self.memory.update(r[1] + r[2] * k for k in range(loop.count))
                            self.zeroed.append((r[1], r[2], loop.count))

    def slot(self, s):
        return self.same.get(s, s)

    # Names: every slot the code touches is a local ``v<k>`` (its adjoint ``g<k>``).
    # A relocatable plan (a scan's step) numbers them in order of first use and reaches
    # memory through ``at[k]``, so that its text, and with it the cache key, does not
    # depend on where the step lies in the values buffer (that depends, for one, on
    # the length of ``xs``); ``at`` then holds the absolute slots.
    def names(self, relocatable, carry_in=(), carry_out=()):
        """``carry_in``, ``carry_out``: the slots of a scan step's carry (element j of
        each), read from ``cin[j]`` and written to ``cout[j]`` instead of memory (the
        driver's carry vector, which then needs no copying in and out of the tape)."""
        self.relocatable = relocatable
        self.at = []
        self.number = {}
        self.carry_in = {s: j for j, s in enumerate(carry_in)}
        self.carry_out = {s: j for j, s in enumerate(carry_out)}

    def n(self, slot):
        if not self.relocatable:
            return slot if slot >= 0 else f"m{-slot}"
        k = self.number.get(slot)
        if k is None:
            k = self.number[slot] = len(self.at)
            self.at.append(slot)
        return k

    def mem(self, slot):
        return f"at[{self.n(slot)}]" if self.relocatable else str(slot)

    def forward(self, with_partials):
        """(loads, body, chain): the statements reading inputs and constants, those
        computing the live operations (and checking the guards), and for the reverse
        part [(slot, [(operand slot, partial local, may be inf)])] in order."""
        loads, body, chain = [], [], []
        known = set()

        def value(slot):
            if slot == ZERO_SLOT:
                return "0.0"
            if slot not in known:  # an input, a constant or a value from before: read once
                known.add(slot)
                source = (f"cin[{self.carry_in[slot]}]" if slot in self.carry_in
                          else f"vals[{self.mem(slot)}]")
                # (a loop's value is in memory once its loop has run: read it here)
                (body if slot in self.loop_slots else loads).append(
                    f"    v{self.n(slot)} = {source}")
            return f"v{self.n(slot)}"

        self.value = value
        for item in self.ops:
            if item[0] == _GUARD:
                _, i, operand, recorded_slot = item
                a = value(self.slot(operand))
                recorded = value(recorded_slot)
                body.append(f"    if {a} != {recorded} and not ({a} != {a} and "
                            f"{recorded} != {recorded}):")
                body.append(f"        return {i - self.lo}")
                continue
            if item[0] == _LOOP:
                body += self._loop_forward(item[1])
                chain.append(item)
                continue
            o, slot, slots = item
            row = ELEMENTWISE[o]
            names = dict(zip("ab", (value(s) for s in slots)))
            known.add(slot)
            names["y"] = y = f"v{self.n(slot)}"
            body.append(f"    {y} = {_formula(row.value, names)}")
            if not with_partials or slot not in self.on_path:
                continue
            kept = []
            for k, s in enumerate(slots):
                if row.partials[k] is not None and s in self.on_path:
                    p = f"p{self.n(slot)}_{k}"
                    body.append(f"    {p} = {_formula(row.partials[k], names)}")
                    kept.append((s, p, row.may_be_infinite[k]))
            chain.append((slot, kept))
        return loads, body, chain

    # ---- loops (numad/rerolling.py) ----
    # A loop's pass is written once, inside ``for k in range(count)``: its values are
    # locals ``l<loop>w<j>`` (operation j of the pass), slots that move from pass to pass
    # are ``base + stride * k``. The forward loop stores the values read after their
    # pass (``self.stored``); the reverse loop runs the passes backwards, computing each
    # pass's values and partials again from what was stored, its adjoints locals
    # ``l<loop>h<j>``, the carry's adjoint handed from pass to pass (``l<loop>a<j>``).

    def _pass(self, loop, name, carried_in, with_partials, loaded=()):
        """The statements of one pass of ``loop`` (8 spaces in), and the partials they
        keep: {(j, q): (local, may be inf)}. The values of the operations ``loaded``
        are read from where the forward loop stored them instead of computed."""
        value = self.value
        lines, reads, kept = [], {}, {}
        self.pass_names = {}   # j -> the names of operation j's a, b and y

        def operand(r):
            if r[0] == "zero":
                return "0.0"
            if r[0] == "local":
                return f"{name}w{r[1]}"
            if r[0] == "carried":
                return carried_in(r[1])
            if r[0] == "fixed":
                return value(self.slot(r[1]))
            return _strided(reads, lines, f"{name}r", "vals", r)

        for j, item in enumerate(loop.body):
            if item[0] == "guard":
                _, entry, estride, r, recorded, rstride = item
                a, rec = operand(r), f"{name}g{j}"
                lines.append(f"        {rec} = vals[{recorded} + {rstride} * k]")
                lines.append(f"        if {a} != {rec} and not ({a} != {a} and "
                             f"{rec} != {rec}):")
                lines.append(f"            return {entry - self.lo} + {estride} * k")
                continue
            o, _, _, refs = item
            row = ELEMENTWISE[o]
            names = dict(zip("ab", (operand(r) for r in refs)))
            names["y"] = y = f"{name}w{j}"
            self.pass_names[j] = names
            lines.append(f"        {y} = vals[{loop.slot_at(j, 0)} + {item[2]} * k]"
                         if j in loaded else f"        {y} = {_formula(row.value, names)}")
            if not with_partials:
                continue
            for q, r in enumerate(refs):
                if row.partials[q] is not None and self._receives(loop, r):
                    p = f"{name}p{j}_{q}"
                    lines.append(f"        {p} = {_formula(row.partials[q], names)}")
                    kept[(j, q)] = (p, row.may_be_infinite[q])
        return lines, kept

    def _receives(self, loop, r):
        """Whether the operand ``r`` of a pass takes adjoints (it may vary)."""
        if r[0] == "zero":
            return False
        if r[0] == "fixed":
            return self.slot(r[1]) in self.varies
        if r[0] == "strided":
            return any(r[1] + r[2] * k in self.varies for k in range(loop.count))
        return True   # (the loop's own values: conservatively)

    @staticmethod
    def _carried(loop):
        """{j: the slot before the loop}: the operations whose values the next pass reads."""
        return {r[1]: r[2] for item in loop.body if item[0] != "guard"
                for r in item[3] if r[0] == "carried"}

    def _loop_forward(self, loop):
        """The forward loop of ``loop``. Where ``self.tangents`` is set (the
        Hessian-vector product: a function ``(name, kept, reverse)`` giving the lines of
        a pass's tangents ``l<loop>t<j>``, see ``hvp_source``), each pass also takes its
        partials and tangents, and the tangents go to ``tan`` where the values go to
        ``vals``."""
        index = self.loops.index(loop)
        name, stored = f"l{index}", self.stored[index]
        value, body = self.value, []
        tangents = self.tangents
        if self.optional[index] and tangents is not None:
            return []   # (the product needs nothing of it: not even the value)
        # values from before the loop that its passes read from memory: store them
        for item in loop.body:
            refs = [item[3]] if item[0] == "guard" else item[3]
            for r in refs:
                if r[0] == "strided":
                    for k in range(loop.count):
                        s = r[1] + r[2] * k
                        if s in self.produced:
                            body.append(f"    vals[{s}] = {value(self.slot(s))}")
                            if tangents is not None:
                                body.append(f"    tan[{s}] = {self.tangent(self.slot(s))}")
        carried = self._carried(loop)
        for j, init in carried.items():
            body.append(f"    {name}c{j} = {value(self.slot(init))}")
            if tangents is not None:
                body.append(f"    {name}ct{j} = {self.tangent(self.slot(init))}")
        lines, kept = self._pass(loop, name, lambda j: f"{name}c{j}",
                                 with_partials=tangents is not None)
        if tangents is not None:
            lines += tangents(name, kept, False)
        for j in sorted(stored | self.costly[index]):
            at = f"{loop.slot_at(j, 0)} + {loop.body[j][2]} * k"
            lines.append(f"        vals[{at}] = {name}w{j}")
            if tangents is not None:
                lines.append(f"        tan[{at}] = {name}t{j}")
        lines += [f"        {name}c{j} = {name}w{j}" for j in carried]
        if tangents is not None:
            lines += [f"        {name}ct{j} = {name}t{j}" for j in carried]
        if self.optional[index]:   # (only the output's value comes of it)
            body.append("    if value:")
            lines = ["    " + line for line in lines]
        body.append(f"{'    ' * (1 + self.optional[index])}for k in range({loop.count}):")
        body += lines
        if tangents is not None:   # (the tangents read after the loop, as locals)
            body += [f"    t{self.n(s)} = tan[{s}]"
                     for s in sorted(loop.slots & self.scalar_reads) if s in self.on_path]
        return body

    def write_outputs(self):
        # (a loop's values are in memory already)
        return [f"    {self.where(o, 'vals')} = {self.value(s)}" for o, s in self.outputs
                if not (o == s and s in self.loop_slots)]

    def where(self, slot, buffer):
        """Where the value (``buffer`` "vals") or the adjoint ("adj") of ``slot`` is
        read or written: the carry vectors for the carry's slots, else memory."""
        if buffer == "vals" and slot in self.carry_out:
            return f"cout[{self.carry_out[slot]}]"
        if buffer == "adj" and slot in self.carry_out:   # (the seed: the new carry's)
            return f"cout[{self.carry_out[slot]}]"
        if buffer == "adj" and slot in self.carry_in:    # (written: the input carry's)
            return f"cout[{self.carry_in[slot]}]"
        return f"{buffer}[{self.mem(slot)}]"

    def reverse(self, chain, seeds):
        """The reverse part, from ``seeds`` [(slot, expression)]: adjoints as locals,
        then the adjoints the plan writes (``assigned``) and adds to (``added``).

        It gives the generic reverse sweep's numbers bit for bit: each adjoint takes the
        contributions in the same order (one that the sweep starts from 0.0 starts from
        its first contribution here, which differs only in the sign of a zero: the
        adjoints written get ``+ 0.0``, which makes -0.0 0.0 as the sweep has it), and a
        contribution ``g * d`` is exactly 0 where ``g`` or ``d`` is 0 (``times``). That
        test costs, so it is made only where the partial may be inf or nan at finite
        values (the rows' MAYBE_INF flags); elsewhere ``g * d`` differs from it only
        where a value or an adjoint is already inf or nan, and then only by a nan, which
        reaches the adjoints written: the code checks them, and where one is nan it
        writes nothing and returns -2, so that the caller sweeps this point with the
        generic sweeps instead."""
        reverse, seeded = [], set()
        memory = self.memory
        reverse += _zeroing(self.zeroed, "adj")
        for s in sorted(self.added):
            if s in self.on_path:
                reverse.append(f"    g{self.n(s)} = adj[{self.mem(s)}]")
                seeded.add(s)

        def add(slot, term):
            if slot in memory:
                reverse.append(f"    adj[{slot}] += {term}")
                return
            reverse.append(f"    g{self.n(slot)} {'+=' if slot in seeded else '='} {term}")
            seeded.add(slot)

        for slot, term in seeds:
            if slot in self.on_path:
                add(slot, term)
        for item in reversed(chain):
            if item[0] == _LOOP:
                reverse += self._loop_reverse(item[1], [("g", "adj", seeded)])
                continue
            slot, kept = item
            if slot in memory:   # (every contribution is in: read it once)
                reverse.append(f"    g{self.n(slot)} = adj[{slot}]")
                seeded.add(slot)
            if slot in seeded:
                g = f"g{self.n(slot)}"
                for s, p, maybe_inf in kept:
                    add(s, f"times({g}, {p})" if maybe_inf else f"{g} * {p}")
        reverse += _nan_check(self, "g", "adj", seeded)
        reverse += [f"    {self.where(s, 'adj')} = "
                    f"{f'g{self.n(s)} + 0.0' if s in seeded else '0.0'}"
                    for s in self.assigned if s not in memory]
        reverse += [f"    adj[{self.mem(s)}] = g{self.n(s)}" for s in sorted(self.added)
                    if s in seeded]
        return reverse

    def _loop_reverse(self, loop, streams, extra=None, terms=None):
        """The reverse loop of ``loop`` (see ``_loop_forward``), as statements.

        ``streams``: the adjoints carried back, each ``(letter, buffer, seeded)``: the
        straight-line code's locals (``g``), the buffer of its memory adjoints
        (``adj``), and the set of slots whose locals hold contributions so far (the
        loop adds to it). The gradient has one; the Hessian-vector product two (``g``
        and its tangent ``gd``), with ``extra(name, kept, reverse)`` giving the
        lines after a pass's values (its tangents) and ``terms(j, q, p, h)`` the
        contributions of partial ``p`` of operation ``j``'s operand ``q``, given the
        pass's adjoint locals ``h[stream]`` (None where not live): [(stream, term)]."""
        index = self.loops.index(loop)
        name, outside = f"l{index}", self.outside_stored[index]
        memory, value = self.memory, self.value
        carried = self._carried(loop)
        if terms is None:
            def terms(j, q, p, h):
                partial, maybe_inf = p
                return [(0, f"times({h[0]}, {partial})" if maybe_inf
                         else f"{h[0]} * {partial}")] if h[0] else []
        tags = [letter[1:] for letter, _, _ in streams]   # (g: "", gd: "d")
        fixed = {self.slot(r[1]) for item in loop.body if item[0] != "guard"
                 for r in item[3] if r[0] == "fixed" and self._receives(loop, r)}
        out = []
        for i, (letter, buffer, seeded) in enumerate(streams):
            for j in carried:   # (the carry's adjoint at the last pass: from after it)
                last = loop.slot_at(j, loop.count - 1)
                out.append(f"    {name}a{tags[i]}{j} = "
                           f"{f'{buffer}[{last}]' if last in memory else '0.0'}")
            for s in sorted(fixed - memory - seeded):   # (accumulated across passes)
                out.append(f"    {letter}{self.n(s)} = 0.0")
                seeded.add(s)

        def before(j):   # the slot before the loop that pass 0's carry is
            return self.slot(carried[j])

        lines = []
        needed = self.reverse_needs[index][0]
        for j in carried:
            prev = f"vals[{loop.slot_at(j, 0)} + {loop.body[j][2]} * (k - 1)]"
            lines.append(f"        {name}c{j} = {prev} if k > 0 else {value(before(j))}"
                         if j in needed else f"        {name}c{j} = 0.0  # (not needed)")
        body, kept = self._pass(loop, name, lambda j: f"{name}c{j}", with_partials=True,
                                loaded=self.costly[index])
        lines += body
        if extra is not None:
            lines += extra(name, kept, True)
        # The carry's adjoint for the pass before: it starts from the contributions
        # from outside the loop (in memory), or, for pass 0, from the adjoint so far of
        # the value before the loop; else from its first contribution (as adjoints
        # outside loops do: no ``0.0 +`` on the chain of adjoints from pass to pass).
        started = [set() for _ in streams]
        for i, (letter, buffer, seeded) in enumerate(streams):
            for j in carried:
                s = before(j)
                first = (f"{buffer}[{s}]" if s in memory else f"{letter}{self.n(s)}"
                         if s in seeded else None)
                nj = f"{name}n{tags[i]}{j}"
                if j in outside:
                    prev = f"{buffer}[{loop.slot_at(j, 0)} + {loop.body[j][2]} * (k - 1)]"
                    lines.append(f"        {nj} = {prev} if k > 0 else {first or '0.0'}")
                    started[i].add(j)
                elif first is not None:
                    lines.append(f"        {nj} = 0.0 if k > 0 else {first}")
                    started[i].add(j)
        live = [set() for _ in streams]
        for j, item in enumerate(loop.body):
            if item[0] == "guard":
                continue
            for i, (letter, buffer, _) in enumerate(streams):
                if j in carried:
                    lines.append(f"        {name}h{tags[i]}{j} = {name}a{tags[i]}{j}")
                    live[i].add(j)
                elif j in outside:
                    lines.append(f"        {name}h{tags[i]}{j} = {buffer}["
                                 f"{loop.slot_at(j, 0)} + {item[2]} * k]")
                    live[i].add(j)
        for j in range(len(loop.body) - 1, -1, -1):
            item = loop.body[j]
            if item[0] == "guard" or not any(j in lv for lv in live):
                continue
            h = [f"{name}h{tags[i]}{j}" if j in live[i] else None
                 for i in range(len(streams))]
            for q, r in enumerate(item[3]):
                if (j, q) not in kept:
                    continue
                for i, term in terms(j, q, kept[(j, q)], h):
                    letter, buffer, _ = streams[i]
                    if r[0] == "local":
                        t = f"{name}h{tags[i]}{r[1]}"
                        lines.append(f"        {t} {'+=' if r[1] in live[i] else '='} {term}")
                        live[i].add(r[1])
                    elif r[0] == "carried":
                        op = '+=' if r[1] in started[i] else '='
                        lines.append(f"        {name}n{tags[i]}{r[1]} {op} {term}")
                        started[i].add(r[1])
                    elif r[0] == "fixed":
                        s = self.slot(r[1])
                        lines.append(f"        {buffer}[{s}] += {term}" if s in memory
                                     else f"        {letter}{self.n(s)} += {term}")
                    else:
                        lines.append(f"        {buffer}[{r[1]} + {r[2]} * k] += {term}")
        for i in range(len(streams)):
            for j in carried:
                if j not in started[i]:   # (no contribution to it in this pass)
                    lines.append(f"        {name}n{tags[i]}{j} = 0.0")
                lines.append(f"        {name}a{tags[i]}{j} = {name}n{tags[i]}{j}")
        out.append(f"    for k in range({loop.count - 1}, -1, -1):")
        out += lines
        for i, (letter, buffer, seeded) in enumerate(streams):
            for j in carried:   # (the adjoint of the value before the loop, so far)
                s = before(j)
                if s == ZERO_SLOT:
                    continue
                if s in memory:
                    out.append(f"    {buffer}[{s}] = {name}a{tags[i]}{j}")
                else:
                    out.append(f"    {letter}{self.n(s)} = {name}a{tags[i]}{j}")
                    seeded.add(s)
        return out


def _strided(reads, lines, prefix, buffer, r):
    """The local holding pass k's element of the strided operand ``r`` in ``buffer``,
    read once a pass (``reads``: what is read so far; the read goes to ``lines``)."""
    key = (r[1], r[2])
    if key not in reads:
        reads[key] = f"{prefix}{len(reads)}"
        lines.append(f"        {reads[key]} = {buffer}[{r[1]} + {r[2]} * k]")
    return reads[key]


def _reverse_needs(loop):
    """The carried values of ``loop`` that its reverse loop uses (in partials, or on the
    way to them); a carry it does not use is not stored."""
    positions, carries, todo = set(), set(), []

    def use(r):
        if r[0] == "local":
            todo.append(r[1])
        elif r[0] == "carried":
            carries.add(r[1])

    for j, item in enumerate(loop.body):
        if item[0] == "guard":
            continue
        row = ELEMENTWISE[item[0]]
        for q in range(len(item[3])):
            if row.partials[q] is None:
                continue
            names = _names_in(row.partials[q])
            if "y" in names:
                todo.append(j)
            for k, letter in enumerate("ab"[:len(item[3])]):
                if letter in names:
                    use(item[3][k])
    while todo:
        j = todo.pop()
        if j not in positions:
            positions.add(j)
            for r in loop.body[j][3]:
                use(r)
    return carries


def _second_order_needs(loop):
    """(carries, tangent carries): of the carried values of ``loop``, those whose values
    and those whose tangents the reverse loop of a Hessian-vector product uses (in
    partials, their tangents, or on the way to them)."""
    values, tangents, carries, tangent_carries = set(), set(), set(), set()
    todo = []   # ("v" or "t", position)

    def use(kind, r):
        if r[0] == "local":
            todo.append((kind, r[1]))
        elif r[0] == "carried":
            (carries if kind == "v" else tangent_carries).add(r[1])

    def use_names(names, j, refs):
        for letter, r in zip("ab", refs):
            if letter in names:
                use("v", r)
        if "y" in names:
            todo.append(("v", j))

    for j, item in enumerate(loop.body):
        if item[0] == "guard":
            continue
        row, refs = ELEMENTWISE[item[0]], item[3]
        for q in range(len(refs)):
            if row.partials[q] is None:
                continue
            use_names(_names_in(row.partials[q]), j, refs)
            for var, r in (("a", refs[0]), ("b", refs[1] if len(refs) > 1 else None),
                           ("y", None)):
                d = partial_derivative(row.partials[q], var)
                if d is None or (var == "b" and r is None):
                    continue
                use_names(_names_in(d, spelled=True), j, refs)
                if var == "y":
                    todo.append(("t", j))
                else:
                    use("t", r)
    while todo:
        kind, j = todo.pop()
        done = values if kind == "v" else tangents
        if j in done:
            continue
        done.add(j)
        row, refs = ELEMENTWISE[loop.body[j][0]], loop.body[j][3]
        if kind == "v":
            for r in refs:
                use("v", r)
            continue
        for q, r in enumerate(refs):   # (a tangent: its partials, its operands' tangents)
            if row.partials[q] is not None:
                use_names(_names_in(row.partials[q]), j, refs)
                use("t", r)
    return carries, tangent_carries


def _names_in(expr, spelled=False):
    """The names a, b, y that an op-table formula (``spelled``: in the kernels'
    spelling already) reads."""
    tree = ast.parse(expr if spelled else kernel_expression(expr), mode="eval")
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} & {"a", "b", "y"}


def _runs_of(slots):
    """Sorted ``slots`` as runs of consecutive slots: [(first, last + 1)]."""
    runs = []
    for s in sorted(slots):
        if runs and runs[-1][1] == s:
            runs[-1][1] = s + 1
        else:
            runs.append([s, s + 1])
    return [tuple(r) for r in runs]


def _input_slots(tape, entries):
    return sorted({s for e in entries
                   for s in range(int(tape.off[e]), int(tape.off[e] + tape.size[e]))})


def source(tape, name="value_and_gradient"):
    """The Python text of ``tape``'s compiled value-and-gradient function.

    ``name(vals, adj, value)`` reads the inputs and constants from ``vals``, writes the
    output's value there (where ``value`` is true: a loop that only makes the output
    is skipped otherwise) and the adjoint of every element of the first argument's inputs
    into ``adj`` (the other arguments' are not computed); it returns
    -1, the index of the first guard whose recorded decision no longer holds (``adj``
    untouched), or -2 where an inf or nan met on the way asks for the generic sweeps
    (``_Plan.reverse``; ``adj`` may hold partial sums, which the generic sweeps clear)."""
    plan = _first_argument_plan(tape, [int(tape.output_entries[0])])
    loads, body, chain = plan.forward(with_partials=True)
    writes = plan.write_outputs()   # (first: an output that is an input adds a load)
    text = [f"def {name}(vals, adj, value):"] + loads + body + writes
    text += plan.reverse(chain, [(plan.outputs[0][1], "1.0")])
    text.append("    return -1")
    return "\n".join(text) + "\n"


def _first_argument_plan(tape, outputs):
    """The ``_Plan`` of the whole tape's reverse code from ``outputs``, which writes
    the adjoints of argument 0's inputs only: the one the adapters and batches
    differentiate by; the other arguments' inputs take none, which saves their work in
    every loop that reads them (a Monte Carlo path's random numbers, for one)."""
    first_argument = [tape.input_entries[r] for r in tape.input_positions(0)]
    plan = _Plan(tape, 0, len(tape.op), outputs, _input_slots(tape, first_argument),
                 reroll=True, keep_costly=True)
    plan.names(relocatable=False)
    return plan


def vjp_source(tape, name="vjp"):
    """The Python text of ``tape``'s compiled vector-Jacobian product: one row of a
    reverse-mode Jacobian a call.

    ``name(vals, adj, w)``: ``source``'s value-and-gradient code for a tape of any
    outputs, seeded with ``w`` (one weight per output element, the outputs' elements in
    order) instead of 1 at one scalar output: it writes ``w``'s product with the
    Jacobian by the first argument's inputs into ``adj`` at those inputs, and returns
    -1, a failed guard's index or -2 (an inf or a nan met: the generic sweeps' rule is
    asked for), as ``source``'s does."""
    plan = _first_argument_plan(tape, [int(e) for e in tape.output_entries])
    loads, body, chain = plan.forward(with_partials=True)
    seeds = [(s, f"w[{k}]") for k, (_, s) in enumerate(plan.outputs)]
    # (``value`` false: a rolled-up loop that only makes an output's value is skipped)
    text = ([f"def {name}(vals, adj, w):", "    value = False"] + loads + body
            + plan.reverse(chain, seeds))
    return "\n".join(text + ["    return -1"]) + "\n"


def vjp_compilable(tape):
    """None when ``compile_vjp`` takes ``tape`` (``compilable``'s rule for any
    outputs), else why not."""
    kind, detail = _cached(tape, "_vjp_choice", _vjp_choice)
    return detail if kind is None else None


def _vjp_choice(tape):
    return _statement_choice(tape, gradient=True, one_output=False)


def vjp_worth_compiling(tape, replays):
    """``worth_compiling``'s rule for the vector-Jacobian code (a replay: one row)."""
    written = _cached(tape, "_vjp_choice", _vjp_choice)[1]
    return _worth(tape, replays, written, lambda: _key_and_text_of(tape, vjp_source), "vjp")


def compile_vjp(tape):
    """The compiled vector-Jacobian product of ``tape`` (see ``vjp_source``); raises
    ValueError where ``vjp_compilable`` says no."""
    return _compile_function(tape, vjp_compilable(tape), vjp_source, "vjp")


def tangent_source(tape, name="tangent"):
    """The Python text of ``tape``'s compiled tangent sweep (forward mode).

    ``name(vals, tan, L)`` reads the inputs and constants from ``vals`` and the inputs'
    tangents from ``tan`` (``L`` lanes a value, as the generic ``tangent_sweep``; the
    other slots zero), computes every value and partial as straight-line code, and writes
    into ``tan`` the tangents of the values the outputs depend on, outputs included:
    ``t_y = d_a t_a + d_b t_b`` lane by lane, a zero tangent contributing exactly 0,
    the generic sweep's numbers bit for bit. Returns -1 or a failed guard's index."""
    outputs = [int(e) for e in tape.output_entries]
    plan = _Plan(tape, 0, len(tape.op), outputs, _input_slots(tape, tape.input_entries))
    plan.names(relocatable=False)
    loads, body, chain = plan.forward(with_partials=True)
    lines = [f"def {name}(vals, tan, L):"] + loads + body
    op_of = {item[1]: item[0] for item in plan.ops if item[0] not in (_GUARD, _LOOP)}
    for slot, kept in chain:
        strong = ELEMENTWISE[op_of[slot]].strong_zero
        terms = []
        for a, p, _ in kept:
            t = f"tan[{plan.mem(a)} * L + l]"
            # (a strong zero partial, adjoint_mul's b, takes no term where it is 0, as
            # the generic sweep: optable._STRONG_ZERO)
            strong_k = strong[int(p.rsplit("_", 1)[1])]
            terms.append(f"({p} * {t} if {t} != 0.0{f' and {p} != 0.0' if strong_k else ''} "
                         "else 0.0)")
        terms = terms or ["0.0"]
        # (the generic sweep adds the second operand's term, 0.0 where it has none)
        total = " + ".join(terms) if len(terms) == 2 else f"{terms[0]} + 0.0"
        lines += ["    for l in range(L):", f"        tan[{plan.mem(slot)} * L + l] = {total}"]
    for o, s_ in plan.outputs:
        if o != s_:   # (an output computed as an earlier identical entry)
            lines += ["    for l in range(L):",
                      f"        tan[{o} * L + l] = tan[{plan.mem(s_)} * L + l]"]
    return "\n".join(lines + ["    return -1"]) + "\n"


def tangent_compilable(tape):
    """None when ``compile_tangent`` takes ``tape`` (its code straight-line, up to
    ``MAX_ENTRIES`` operations), else why not."""
    kind, detail = _cached(tape, "_tangent_choice", _tangent_choice)
    return detail if kind is None else None


def _tangent_choice(tape):
    return _statement_choice(tape, gradient=False)


def tangent_worth_compiling(tape, replays):
    """``worth_compiling``'s rule for the tangent sweep."""
    written = _cached(tape, "_tangent_choice", _tangent_choice)[1]
    return _worth(tape, replays, written, lambda: _key_and_text_of(tape, tangent_source),
                  "tangent")


def hvp_worth_compiling(tape, replays):
    """``worth_compiling``'s rule for the Hessian-vector code (written element by
    element, also where the gradient is fused loops)."""
    written = _cached(tape, "_scalar_choice", _scalar_choice)[1]
    return _worth(tape, replays, written, lambda: _key_and_text_of(tape, hvp_source), "hvp")


def compile_tangent(tape):
    """The compiled tangent sweep of ``tape`` (see ``tangent_source``); raises
    ValueError where ``tangent_compilable`` says no."""
    return _compile_function(tape, tangent_compilable(tape), tangent_source, "tangent")


def _compile_function(tape, why, write, name):
    """Function ``name`` of the module ``write(tape)`` writes, compiled (or loaded from
    the caches); ValueError with ``why`` where that is not None."""
    if why is not None:
        raise ValueError(f"numad: the tape of {tape.name} cannot be compiled: {why}")
    return getattr(_compiled(*_key_and_text_of(tape, write)), name)


def _key_and_text_of(tape, write):
    text = _module_text(write(tape))
    return _key(text), text


def hvp_source(tape, name="hvp"):
    """The Python text of ``tape``'s compiled Hessian-vector product: forward over
    reverse, as the generic ``hvp_sweep`` (``numad/kernels.py``) does it.

    ``name(vals, tan, adj, adjd)`` reads the inputs and constants from ``vals`` and the
    direction from ``tan`` (at the inputs' slots); it computes every value, its
    tangent along the direction and the tangents of the partials, then carries each
    adjoint ``g`` and its tangent ``gd`` back together (``g_a += g d``,
    ``gd_a += gd d + g tangent(d)``, in the generic sweep's order), and writes ``gd`` of
    every input element, H v, into ``adjd``. Loops are rolled up as in ``source``; their
    values and tangents go to ``vals`` and ``tan``, their memory adjoints to ``adj``
    and ``adjd``. Returns -1, a failed guard's index, or -2 where an inf or a nan asks
    for the generic sweep (as ``_Plan.reverse``)."""
    out = int(tape.output_entries[0])
    plan = _Plan(tape, 0, len(tape.op), [out], _input_slots(tape, tape.input_entries),
                 reroll=True, second_order=True)
    plan.names(relocatable=False)
    known_t, tan_loads = set(), []

    def tangent(slot):   # "0.0" for a slot that does not vary
        if slot not in plan.on_path:
            return "0.0"
        if slot in plan.assigned and slot not in known_t:
            known_t.add(slot)
            tan_loads.append(f"    t{plan.n(slot)} = tan[{slot}]")
        return f"t{plan.n(slot)}"

    dnames = {}   # (loop name, j, q) -> the local of the tangent of that partial

    def loop_tangents(lname, kept, reverse):
        """A pass's tangents (``l<loop>t<j>``) and its partials' (``l<loop>d<j>_<q>``)."""
        loop = plan.loops[int(lname[1:])]
        carried = plan._carried(loop)
        names_of = dict(plan.pass_names)
        lines, reads = [], {}
        if reverse:
            needed = plan.reverse_needs[int(lname[1:])][1]
            for j, init in carried.items():
                prev = f"tan[{loop.slot_at(j, 0)} + {loop.body[j][2]} * (k - 1)]"
                lines.append(f"        {lname}ct{j} = {prev} if k > 0 else "
                             f"{tangent(plan.slot(init))}" if j in needed
                             else f"        {lname}ct{j} = 0.0  # (not needed)")

        def tref(r):
            if r[0] == "zero":
                return None
            if r[0] == "local":
                return f"{lname}t{r[1]}"
            if r[0] == "carried":
                return f"{lname}ct{r[1]}"
            if r[0] == "fixed":
                t = tangent(plan.slot(r[1]))
                return None if t == "0.0" else t
            if not plan._receives(loop, r):
                return None
            return _strided(reads, lines, f"{lname}tr", "tan", r)

        for j, item in enumerate(loop.body):
            if item[0] == "guard":
                continue
            terms = [f"{kept[(j, q)][0]} * {tref(r)}" for q, r in enumerate(item[3])
                     if (j, q) in kept and tref(r) is not None]
            lines.append(f"        {lname}t{j} = {' + '.join(terms) or '0.0'}")
        for (j, q), (p, _) in sorted(kept.items()):
            row = ELEMENTWISE[loop.body[j][0]]
            refs = loop.body[j][3]
            names = dict(names_of[j])
            names.update(zip(("ta", "tb"), (tref(r) or "0.0" for r in refs)))
            names["ty"] = f"{lname}t{j}"
            parts = []
            for var, t in (("a", names.get("ta")), ("b", names.get("tb")), ("y", names["ty"])):
                d = partial_derivative(row.partials[q], var)
                if d is not None and t is not None and t != "0.0":
                    parts.append(f"({_formula(d, names, spelled=True)}) * {t}")
            if parts:
                dnames[(lname, j, q)] = f"{lname}d{j}_{q}"
                lines.append(f"        {lname}d{j}_{q} = {' + '.join(parts)}")
        return lines

    plan.tangents = loop_tangents
    plan.tangent = tangent
    loads, body, chain = plan.forward(with_partials=True)

    # tangents of the values and of the partials, after each entry's partials
    by_slot = {item[1]: item for item in plan.ops if item[0] not in (_GUARD, _LOOP)}
    second = {}
    text = []
    chain_at = {item[0]: item[1] for item in chain if item[0] != _LOOP}
    for line in body:
        text.append(line)
        head = line.strip().split(" = ")[0]
        if not head.startswith("p") or not line.startswith("    p"):
            continue
        slot_name = head[1:].rsplit("_", 1)[0]
        slot = int(slot_name) if not slot_name.startswith("m") else -int(slot_name[1:])
        kept = chain_at[slot]
        if head != kept[-1][1]:
            continue
        # (after the entry's last partial) its tangent and its partials' tangents
        o, _, slots = by_slot[slot]
        row = ELEMENTWISE[o]
        terms = [f"{p} * {tangent(s)}" for s, p, _ in kept]
        ty = f"t{plan.n(slot)}"
        text.append(f"    {ty} = {' + '.join(terms)}")
        known_t.add(slot)
        names = dict(zip("ab", (f"v{plan.n(s)}" if s != ZERO_SLOT else "0.0" for s in slots)))
        names["y"] = f"v{plan.n(slot)}"
        names.update(zip(("ta", "tb"), (tangent(s) for s in slots)))
        names["ty"] = ty
        for s, p, _ in kept:
            k = int(p.rsplit("_", 1)[1])
            parts = []
            for var, t in (("a", names.get("ta")), ("b", names.get("tb")), ("y", ty)):
                d = partial_derivative(row.partials[k], var)
                if d is not None and t is not None and t != "0.0":
                    parts.append(f"({_formula(d, names, spelled=True)}) * {t}")
            if parts:
                dd = f"d{p[1:]}"
                text.append(f"    {dd} = {' + '.join(parts)}")
                second[p] = dd

    memory = plan.memory
    reverse, seeded, seeded_d = [], set(), set()
    for buffer in ("adj", "adjd"):
        reverse += _zeroing(plan.zeroed, buffer)

    def add(acc, slot, term):
        if slot in memory:
            reverse.append(f"    {'adj' if acc == 'g' else 'adjd'}[{slot}] += {term}")
            return
        mark = seeded if acc == "g" else seeded_d
        reverse.append(f"    {acc}{plan.n(slot)} {'+=' if slot in mark else '='} {term}")
        mark.add(slot)

    def hvp_terms(j, q, p, h):
        partial, maybe_inf = p

        def mul(x, y):
            return f"times({x}, {y})" if maybe_inf else f"{x} * {y}"
        terms = []
        if h[0]:
            terms.append((0, mul(h[0], partial)))
        if h[1]:
            terms.append((1, mul(h[1], partial)))
        d = dnames.get((partial.split("p")[0], j, q))
        if h[0] and d:
            terms.append((1, mul(h[0], d)))
        return terms

    out_slot = plan.outputs[0][1]
    if out_slot in plan.on_path:
        add("g", out_slot, "1.0")
    for item in reversed(chain):
        if item[0] == _LOOP:
            reverse += plan._loop_reverse(item[1], [("g", "adj", seeded),
                                                    ("gd", "adjd", seeded_d)],
                                          extra=loop_tangents, terms=hvp_terms)
            continue
        slot, kept = item
        if slot in memory:   # (every contribution is in: read them once)
            reverse += [f"    g{plan.n(slot)} = adj[{slot}]",
                        f"    gd{plan.n(slot)} = adjd[{slot}]"]
            seeded.add(slot)
            seeded_d.add(slot)
        if slot not in seeded:
            continue
        g, gd = f"g{plan.n(slot)}", f"gd{plan.n(slot)}"
        for s, p, maybe_inf in kept:
            add("g", s, f"times({g}, {p})" if maybe_inf else f"{g} * {p}")
            if slot in seeded_d:
                add("gd", s, f"times({gd}, {p})" if maybe_inf else f"{gd} * {p}")
            if p in second:
                dd = second[p]
                add("gd", s, f"times({g}, {dd})" if maybe_inf else f"{g} * {dd}")
    reverse += _nan_check(plan, "gd", "adjd", seeded_d)
    reverse += [f"    adjd[{s}] = {f'gd{plan.n(s)} + 0.0' if s in seeded_d else '0.0'}"
                for s in plan.assigned if s not in memory]
    lines = ([f"def {name}(vals, tan, adj, adjd):"] + loads + tan_loads + text + reverse
             + ["    return -1"])
    return "\n".join(lines) + "\n"


def _zeroing(zeroed, buffer):
    """Statements zeroing the memory adjoints ``zeroed`` ((base, stride, count) runs)."""
    lines = []
    for lo_, hi_ in _runs_of({base + k for base, stride, count in zeroed
                              if stride in (1, -1) or count == 1
                              for k in range(0, stride * count, stride)}):
        lines.append(f"    {buffer}[{lo_}:{hi_}] = 0.0" if hi_ - lo_ > 1
                     else f"    {buffer}[{lo_}] = 0.0")
    for base, stride, count in sorted(set(zeroed)):
        if stride not in (1, -1) and count > 1:
            lines += [f"    for k in range({count}):",
                      f"        {buffer}[{base} + {stride} * k] = 0.0"]
    return lines


def _nan_check(plan, letter, buffer, seeded):
    """Statements returning -2 where an adjoint written (of ``plan.assigned``, in locals
    ``letter`` or in memory ``buffer``) is nan."""
    written = [s for s in plan.assigned if s in seeded and s not in plan.memory] + [
        s for s in sorted(plan.added) if s in seeded]
    in_memory = [s for s in plan.assigned if s in plan.memory]
    if not written and not in_memory:
        return []
    # (nan anywhere makes the sum nan; summed as a tree, not a chain of adds)
    terms = [f"{letter}{plan.n(s)}" for s in written] or ["0.0"]
    while len(terms) > 1:
        terms = [f"({a} + {b})" for a, b in zip(terms[::2], terms[1::2])] + (
            terms[-1:] if len(terms) % 2 else [])
    lines = [f"    total = {terms[0]}"]
    if not in_memory:
        return lines + ["    if total != total:", "        return -2"]
    lines.append("    bad = total != total")   # (or-ed, not summed: a sum's chain is slow)
    for lo_, hi_ in _runs_of(in_memory):
        lines += [f"    for s in range({lo_}, {hi_}):",
                  f"        bad |= {buffer}[s] != {buffer}[s]"]
    return lines + ["    if bad:", "        return -2"]


def compile_hvp(tape):
    """The compiled Hessian-vector function of ``tape`` (see ``hvp_source``); raises
    ValueError where ``hvp_compilable`` says no."""
    return _compile_function(tape, hvp_compilable(tape), hvp_source, "hvp")


def step_compilable(tape, loop):
    """None when ``compile_step`` takes the body of ``loop`` (a ``nd.scan`` of ``tape``),
    else why not."""
    why = _too_large(tape, loop.body_start, loop.body_stop)
    if why is None:
        ops = scalar_ops(tape, loop.body_start, loop.body_stop)
        why = ops if isinstance(ops, str) else None
    if why is None:
        # the compiled step holds the adjoints of the values it reads from before the
        # loop in registers along a range of steps, and adds each step's row of xs's
        # adjoint in memory: the two must not be the same memory
        off, size = tape.off, tape.size
        rows = [(int(off[e]), int(off[e] + size[e])) for e in loop.xs]
        if any(lo <= s < hi for item in ops if item[0] != _GUARD for s in item[2]
               for lo, hi in rows):
            why = "it reads xs itself, beside its row"
    return None if why is None else "its step: " + why


STEP_SIGNATURE = ("int64(CPointer(float64), CPointer(float64), CPointer(float64), "
                  "CPointer(float64), CPointer(int64), int64, int64, int64)")

# The lines of a step's code that touch memory, as ``_Plan`` writes them (any other
# line computes locals only): ``step_source`` moves each to its place in the loops.
_LOAD_VALUE = re.compile(r"^    v(\d+) = vals\[at\[(\d+)\]\]$")
_LOAD_CARRY = re.compile(r"^    v(\d+) = cin\[(\d+)\]$")
_LOAD_ADJOINT = re.compile(r"^    g(\d+) (\+?=) adj\[at\[(\d+)\]\]$")
_SEED_CARRY = re.compile(r"^    g(\d+) (\+?=) cout\[(\d+)\]$")
_WRITE_CARRY = re.compile(r"^    cout\[(\d+)\] = (.+)$")
_WRITE_MEMORY = re.compile(r"^    (vals|adj)\[at\[(\d+)\]\] = (.+)$")
_TOUCHES_MEMORY = re.compile(r"\b(vals|adj|cin|cout|at)\[")
# (and the lines ``_fold_simple_partials`` shortens)
_SIMPLE_PARTIAL = re.compile(r"^    (p\d+_\d+) = (-?1\.0|v\d+)$")
_PARTIAL_NAME = re.compile(r"\bp\d+_\d+\b")
_TIMES_ONE = re.compile(r"\b(g\d+) \* 1\.0(?![\d.e])")
_TIMES_MINUS_ONE = re.compile(r"\b(g\d+) \* -1\.0(?![\d.e])")
_ADDED_TO = re.compile(r"^    (g\d+) \+= ")
_ADJOINT_COPY = re.compile(r"^    (g\d+) = (g\d+)$")
_ADJOINT_NAME = re.compile(r"\bg\d+\b")


def step_source(tape, loop):
    """(text, at): the Python text of the two functions of a compiled ``nd.scan`` step (the
    body ``loop.body_start..body_stop`` of ``tape``; ``numad/scan_kernels.py`` drives
    them), each running a range of steps:

    * ``advance(vals, adj, rec, cur, at, a, b, record)``: steps ``a .. b-1`` from the
      carry in ``cur`` (the new carry back into it), each step reading its row of
      ``xs`` and writing its output row where they lie in ``vals``; with ``record``,
      step ``s``'s input carry is kept in row ``s - a`` of ``rec``;
    * ``reverse(vals, adj, rec, gcur, at, a, b, _)``: steps ``b-1 .. a``, each from its
      input carry in row ``s - a`` of ``rec``: its values again, in locals, then its
      reverse part, seeded with the new carry's adjoint (``gcur``, handed from step to
      step and left holding the input carry's of step ``a``) and the output row's in
      ``adj``; it adds the rows of ``xs``'s adjoints and those of the values from before
      the loop, which stay in locals over the whole range.

    So a recorded step needs only its input carry to be reversed (JAX's ``checkpoint``
    of the step). The values the step reads from before the loop are loaded once a
    range, not once a step, as a hand-written loop holds them in registers. Both reach
    memory through ``at`` (the slots they touch, see ``_Plan.names``, then per element
    of ``xs``'s row and of the output row where its first row lies and its row stride):
    their text is the same wherever the loop lies in its tape. Each returns -1, the
    index of a guard whose decision changed counted from the step's first entry, or
    ``-2 - s`` (``reverse`` only) where the generic sweeps must reverse step ``s``
    (``_Plan.reverse``): the adjoints are then as they were after step ``s + 1``."""
    bs, be = loop.body_start, loop.body_stop
    off, size = tape.off, tape.size
    inputs = _input_slots(tape, list(loop.carry_in) + list(loop.x_in))
    # the body's own storage; any other slot its entries read comes from before the loop
    owned = [e for e in range(bs, be) if tape.op[e] != _ALIAS]
    vlo = min(int(off[e]) for e in owned)
    vhi = max(int(off[e] + size[e]) for e in owned)
    outer = {s for item in scalar_ops(tape, bs, be) if item[0] != _GUARD
             for s in item[2] if s >= 0 and not vlo <= s < vhi}
    results = list(loop.carry_out) + list(loop.y_out)

    # the carry vector's order: its leaves' elements, leaf after leaf (as the driver's)
    carry = tuple([int(off[e]) + t for e in leaves for t in range(int(size[e]))]
                  for leaves in (loop.carry_in, loop.carry_out))
    nc = len(carry[0])

    plan = _Plan(tape, bs, be, results, [], ())
    plan.names(True, *carry)
    v_loads, v_body, _ = plan.forward(with_partials=False)
    v_writes = plan.write_outputs()
    at_values = plan.at

    plan = _Plan(tape, bs, be, results, inputs, outer)
    plan.names(True, *carry)
    for s in at_values:   # (one ``at`` serves both: number the same slots alike first)
        plan.n(s)
    loads, body, chain = plan.forward(with_partials=True)
    seeds = [(s, plan.where(o, "adj")) for o, s in plan.outputs]
    reverse = plan.reverse(chain, seeds)
    body, reverse = _fold_simple_partials(body, reverse)

    # the rows of xs and of the outputs: per element, where row 0 lies and the stride
    at = list(plan.at)
    rows = {}
    y_start = int(off[loop.entry]) + nc   # (the packed result: final carry, then ys)
    for leaves, first, stacked in ((loop.x_in, None, loop.xs), (loop.y_out, y_start, None)):
        base = first
        for j, e in enumerate(leaves):
            n = int(size[e])
            start = int(off[stacked[j]]) if stacked is not None else base
            for t in range(n):
                rows[int(off[e]) + t] = len(at)
                at += [start + t, n]
            if stacked is None:
                base += n * loop.length
    slot_of = plan.at

    def row_of(k):   # the element ``s`` of the stacked rows, for the slot numbered k
        r = rows[slot_of[int(k)]]
        return f"[r_{r} + s_ * r_{r + 1}]"

    def is_row(k):
        return slot_of[int(k)] in rows

    # (where the rows lie, in locals: loaded once, not once a step)
    row_locals = [f"    r_{r} = at[{r}]" for r in range(len(plan.at), len(at))]

    def unexpected(line):
        raise AssertionError(f"step_source: a line it does not place: {line!r}")

    def place_loads(lines, carry):
        """(hoisted, per step): the loads of the values from before the loop (once a
        range), and those of the row of xs and of the carry (``carry``: where element
        j of a step's input carry is) at the top of every step."""
        hoisted, per_step = [], []
        for line in lines:
            m, c = _LOAD_VALUE.match(line), _LOAD_CARRY.match(line)
            if m and is_row(m[2]):
                per_step.append(f"    v{m[1]} = vals{row_of(m[2])}")
            elif m:
                hoisted.append(line)
            elif c:
                per_step.append(f"    v{c[1]} = {carry.format(c[2])}")
            else:
                unexpected(line)
        return hoisted, per_step

    # advance
    hoisted, per_step = place_loads(v_loads, "c_{}")
    after = []
    for line in v_body:
        if _TOUCHES_MEMORY.search(line):
            unexpected(line)
    for line in v_writes:
        c, m = _WRITE_CARRY.match(line), _WRITE_MEMORY.match(line)
        if c:
            after.append(f"    c_{c[1]} = {c[2]}")
        elif m and m[1] == "vals" and is_row(m[2]):
            after.append(f"    vals{row_of(m[2])} = {m[3]}")
        else:
            unexpected(line)
    advance = (["def advance(vals, adj, rec, cur, at, a, b, record):"] + hoisted + row_locals
               + [f"    c_{j} = cur[{j}]" for j in range(nc)]
               + ["    for s_ in range(a, b):", "        if record:",
                  f"            o_ = (s_ - a) * {nc}"]
               + [f"            rec[o_ + {j}] = c_{j}" for j in range(nc)]
               + _indent(per_step + v_body + after)
               + [f"    cur[{j}] = c_{j}" for j in range(nc)] + ["    return -1"])

    # reverse
    hoisted, per_step = place_loads(loads, "rec[o_ + {}]")
    accumulators = []
    for line in body:
        if _TOUCHES_MEMORY.search(line):
            unexpected(line)
    step_part, written = [], []
    for line in reverse:
        g, c = _LOAD_ADJOINT.match(line), _SEED_CARRY.match(line)
        w, m = _WRITE_CARRY.match(line), _WRITE_MEMORY.match(line)
        if g and is_row(g[3]):
            step_part.append(f"    g{g[1]} {g[2]} adj{row_of(g[3])}")
        elif g and g[2] == "=" and g[1] == g[3]:
            accumulators.append((g[1], g[3]))
        elif c:
            step_part.append(f"    g{c[1]} {c[2]} w_{c[3]}")
        elif line == "        return -2":
            # (the outer adjoints as they were before this step, and nothing else
            # written yet: the caller reverses step s with the generic sweeps)
            step_part += [f"        adj[at[{k}]] = h_{n}" for n, k in accumulators]
            step_part += [f"        gcur[{j}] = w_{j}" for j in range(nc)]
            step_part.append("        return -2 - s_")
        elif w:
            written.append(f"    w_{w[1]} = {w[2]}")
        elif m and m[1] == "adj" and is_row(m[2]):
            written.append(f"    adj{row_of(m[2])} += {m[3]}")
        elif m and m[1] == "adj" and m[3] == f"g{int(m[2])}" and any(
                k == m[2] for _, k in accumulators):
            pass   # (written once, after the loop)
        elif _TOUCHES_MEMORY.search(line):
            unexpected(line)
        else:
            step_part.append(line)
    vjp = (["def reverse(vals, adj, rec, gcur, at, a, b, unused):"] + hoisted + row_locals
           + [f"    g{n} = adj[at[{k}]]" for n, k in accumulators]
           + [f"    w_{j} = gcur[{j}]" for j in range(nc)]
           + ["    for s_ in range(b - 1, a - 1, -1):", f"        o_ = (s_ - a) * {nc}"]
           + [f"        h_{n} = g{n}" for n, _ in accumulators]
           + _indent(per_step + body + step_part + written)
           + [f"    gcur[{j}] = w_{j}" for j in range(nc)]
           + [f"    adj[at[{k}]] = g{n}" for n, k in accumulators] + ["    return -1"])
    text = ("\n".join(advance) + "\n\n\n" + _decorator(STEP_SIGNATURE) + "\n".join(vjp)
            + "\n")
    return text, np.array(at, dtype=np.int64)


def _fold_simple_partials(body, reverse):
    """A step's code without the partials that are a constant 1 or -1 or another local
    (an add's, a product's): their uses name the value itself, and ``g * 1.0`` and
    ``g * -1.0`` become ``g`` and ``-g``, which are exact. The numbers are the same; the
    text is a quarter shorter, and numba's compile time goes with the statements."""
    simple = {}
    kept = []
    for line in body:
        m = _SIMPLE_PARTIAL.match(line)
        if m:
            simple[m[1]] = m[2]
        else:
            kept.append(line)

    def fold(line):
        line = _PARTIAL_NAME.sub(lambda m: simple.get(m[0], m[0]), line)
        line = _TIMES_MINUS_ONE.sub(r"-\1", line)
        return _TIMES_ONE.sub(r"\1", line)
    reverse = [fold(line) for line in reverse]
    # then an adjoint that is a copy of another (``g7 = g54``, an add's) and takes no
    # other contribution is that one: the reverse order reads an adjoint only once it
    # is complete, so the two stay equal
    added_to = {m[1] for m in map(_ADDED_TO.match, reverse) if m}
    same, out = {}, []
    for line in reverse:
        line = _ADJOINT_NAME.sub(lambda m: same.get(m[0], m[0]), line)
        m = _ADJOINT_COPY.match(line)
        if m and m[1] not in added_to and m[1] != m[2]:
            same[m[1]] = m[2]
            continue
        out.append(line)
    return kept, out


def _indent(lines):
    return ["    " + line for line in lines]


# ---- the cache on disk ----------------------------------------------------------------------

_HEADER = ("# a compiled numad tape (numad/tape_compiler.py), named by the hash of this text\n"
           "import math\n\nimport numpy as np\nfrom numba import njit, objmode, prange\n\n"
           "from numad._generated import special\n"
           "from numad.numpy_loops import run as numpy_loop\n\n\n"
           "@njit(cache=True)\n"
           "def select(c, x, y):\n"
           "    return x if c else y\n\n\n"
           "@njit(cache=True)\n"
           "def times(g, d):\n"
           "    # a zero adjoint adds exactly 0, even against an inf or a nan partial (the\n"
           "    # generic reverse sweep's rule: where's untaken side leaks nothing); a zero\n"
           "    # partial may give -0.0 for 0.0 (a select, not a branch: no other change)\n"
           "    return g * d if g != 0.0 else 0.0\n\n\n")

_LOCK = threading.Lock()
_LOADED = {}          # key -> the compiled module (its functions), for this process
_WARNED = []


def cache_directory():
    """Where compiled tapes are written: ``NUMAD_CACHE_DIR``, else ``NUMBA_CACHE_DIR``'s
    ``numad-tapes``, else the user's cache directory; None where none is writable."""
    candidates = []
    if os.environ.get("NUMAD_CACHE_DIR"):
        candidates.append(os.environ["NUMAD_CACHE_DIR"])
    if os.environ.get("NUMBA_CACHE_DIR"):
        candidates.append(os.path.join(os.environ["NUMBA_CACHE_DIR"], "numad-tapes"))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates.append(os.path.join(base, "numad", "tapes"))
    for path in candidates:
        try:
            os.makedirs(path, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=path, delete=True)
            probe.close()
            return path
        except OSError:
            continue
    return None


def _decorator(signature=None, parallel=False):
    sig = f"{signature!r}, " if signature else ""
    return f"@njit({sig}cache=True, error_model='numpy'{', parallel=True' if parallel else ''})\n"


def _module_text(body, signature=None):
    return _HEADER + _decorator(signature) + body


def _key(text):
    """The cache key of a module's text (which ``_load`` lowers where it can: the key
    says whether it may)."""
    return hashlib.sha256((VERSION + ("lowered" if _LOWER else "") + text).encode()
                          ).hexdigest()[:24]


_HEADER_NAMES = {}
_LOWER = True   # (benchmarks switch it off to compare with numba's front end)


_FUNCTION_HEAD = re.compile(r"(@njit\(.*\)\n)def (\w+)\(([\w, ]*)\):")


def _lowered(text):
    """``text`` (a module ``_module_text`` wrote) with its functions lowered to LLVM by
    numad itself (``numad/llvm_lowering.py``: a tape's code compiles in a fraction of
    numba's time), or ``text`` itself where one of them is not code of that small
    language. Each function's text is kept in the module, so a process that does not
    find the compiled code in the cache lowers it again; numba compiles a one-line
    function that calls it. (With ``NUMAD_DEBUG_LOWERING`` set to a file's path, each
    function's name and why it is not lowered, or None, is appended to that file.)"""
    if not _LOWER or not text.startswith(_HEADER):
        return text
    if not _HEADER_NAMES:   # (the names the header imports; select and times are lowered)
        from ._generated import special
        _HEADER_NAMES.update(math=math, np=np, special=special)
    module = [_HEADER, "from numad.llvm_lowering import lowered\n\n"]
    for chunk in text[len(_HEADER):].split("\n\n\n"):
        head = _FUNCTION_HEAD.match(chunk)
        if head is None:
            return text
        decorator, name, params = head.groups()
        function = chunk[len(decorator):]
        why = llvm_lowering.lowerable(function, _HEADER_NAMES)
        if os.environ.get("NUMAD_DEBUG_LOWERING"):
            with open(os.environ["NUMAD_DEBUG_LOWERING"], "a") as log:
                log.write(f"{name}: {why}\n")
        if why is not None:
            return text
        module.append(f"_{name}_text = {function!r}\n"
                      f"_{name} = lowered(_{name}_text, globals())\n\n\n"
                      f"{decorator}def {name}({params}):\n    return _{name}({params})\n\n\n")
    return "".join(module)


def _key_and_text(tape):
    kind, plan = _choice(tape)
    if kind == "fused":
        body = fused_source(plan)
        if tape.single_input is not None:   # (compiled at its first call only)
            direct = fused_source(plan, "gradient_direct", direct=True)
            # (its long loops run in blocks on every core: fusion.PARALLEL_MIN)
            body += "\n\n" + _decorator(parallel="prange(" in direct) + direct
        text = _module_text(body)
    else:
        text = _module_text(source(tape))
    return _key(text), text


def _step_key_and_text(tape, loop):
    body, at = step_source(tape, loop)
    text = _module_text(body, STEP_SIGNATURE)
    return _key(text), text, at


def is_cached(tape):
    """Whether a tape of this structure was compiled before: in this process, or in the
    disk cache with numba's compiled code beside it."""
    return _is_cached(*_key_and_text(tape), "value_and_gradient")


def _is_cached(key, text, function):
    if key in _LOADED:
        return True
    directory = cache_directory()
    return directory is not None and bool(glob.glob(os.path.join(
        directory, "__pycache__", f"numad_tape_{key}.{function}-*.nbi")))


# The rule of compile="auto". A tape replayed r times is expected to be replayed about
# r times more (the doubling rule of tiered JIT compilers); compile when those replays
# save more than compiling costs. Measured on the scalar-loop Rosenbrock with
# benchmarks/compare_compiled.py (244, 994 and 2494 entries, this machine): a compiled
# gradient call saves about 2.5 us + 3.7 ns an entry against the generic sweeps;
# compiling, lowered by numad/llvm_lowering.py, costs about 0.1 s + 1 ms an operation
# written, cold (see MAX_ENTRIES), and loading a tape of the same structure from the
# disk cache 0.02 to 0.2 s. Compiling follows the operations the code writes, loops
# rolled up (numad/rerolling.py): the 9994 entries of n = 1000 write about 30 and
# compile in 0.4 s. Fused array code goes through numba's front end, which costs about
# 0.3 s + 6 ms a statement (1.2 s, 6 s and 24 s at 244, 994 and 2494 entries).
SAVED_PER_REPLAY = (2.5e-6, 3.7e-9)      # seconds: fixed, per entry
COMPILE_COST = (0.1, 1e-3)               # seconds: fixed, per operation written (lowered)
NUMBA_COMPILE_COST = (0.3, 6e-3)         # seconds: fixed, per statement (fused code)
LOAD_COST = 0.1                          # seconds
# Fused array loops (numad/fusion.py) save per element as well: the vectorized
# Rosenbrock's gradient at n = 10^5 (8 elementwise entries of n) took 1.3 ms on the
# generic sweeps and 0.2 ms fused, about 1.4 ns an element.
SAVED_PER_ELEMENT = 1.4e-9               # seconds, per element of an elementwise entry
# A fused tape of one array whose loops run in parallel blocks (fusion.PARALLEL_MIN)
# compiles its direct code with numba's parallel=True: the vectorized Rosenbrock at
# n = 10^6 took 2.1 s against 0.6 s at 10^5 (sequential), cold.
PARALLEL_COMPILE_COST = 1.5              # seconds


def worth_compiling(tape, replays):
    """Whether ``replays`` more replays of ``tape`` repay compiling its value-and-gradient
    code (see above)."""
    kind, detail = _choice(tape)
    per_element = 0.0
    if kind == "fused":   # (the generic sweeps' kernels pay per element too)
        per_element = SAVED_PER_ELEMENT * int(tape.size[tape.op < N_ELEMENTWISE].sum())
    written = statement_count(detail) if kind == "fused" else detail
    extra = (PARALLEL_COMPILE_COST if kind == "fused" and tape.single_input is not None
             and runs_in_parallel(detail) else 0.0)
    return _worth(tape, replays, written, lambda: _key_and_text(tape), "value_and_gradient",
                  per_element, extra, NUMBA_COMPILE_COST if kind == "fused" else COMPILE_COST)


def _worth(tape, replays, written, key_and_text, function, per_element=0.0, extra=0.0,
           cost=COMPILE_COST):
    """The rule above, for code of ``written`` operations whose module
    ``key_and_text()`` names (``function``: one of its functions, to look in the disk
    cache for)."""
    saved = replays * (SAVED_PER_REPLAY[0] + SAVED_PER_REPLAY[1] * len(tape.op) + per_element)
    if saved < LOAD_COST:   # (not even a load repays: skip writing the text to look)
        return False
    if _is_cached(*key_and_text(), function):
        return True
    return saved >= cost[0] + cost[1] * written + extra


def compile_tape(tape):
    """The compiled value-and-gradient function of ``tape`` (see ``source``), from this
    process's table, the disk cache, or a fresh compilation. Raises ValueError where
    ``compilable`` says no."""
    why = compilable(tape)
    if why is not None:
        raise ValueError(f"numad: the tape of {tape.name} cannot be compiled: {why}")
    return _compiled(*_key_and_text(tape)).value_and_gradient


def direct_layout(tape):
    """The compact buffers' layout of ``compile_direct``'s code (``fusion.compact_layout``)."""
    return compact_layout(_choice(tape)[1])


def direct_output_slot(tape):
    """Where the direct code leaves the output's value in its compact values buffer, or
    None where it does not hold it (an output that is an element of the input)."""
    return compact_slot(direct_layout(tape), int(tape.off[tape.single_input[2]]))


def compile_direct(tape):
    """For a fused tape of one array input, the variant of its compiled function that
    reads the input from the caller's array and writes the gradient into the caller's
    (``fusion.fused_source``'s ``direct``, on the compact buffers of ``direct_layout``);
    else None. Compile ``compile_tape`` first."""
    kind, _ = _choice(tape)
    if kind != "fused" or tape.single_input is None or direct_output_slot(tape) is None:
        return None
    return _compiled(*_key_and_text(tape)).gradient_direct


# A scan of at least this many steps compiles its step under compile="auto": a step of
# 70 entries saves about 0.2 us a step against the generic sweeps (forward and
# reverse), and compiles in about 1 s cold, loaded from the disk cache in 0.05 s.
AUTO_MIN_STEPS = 200


def step_worth_compiling(tape, loop):
    """Whether ``compile="auto"`` compiles the step of ``loop``: a long loop, or a step
    whose code is in the cache already."""
    if loop.length >= AUTO_MIN_STEPS:
        return True
    key, text, _ = _step_key_and_text(tape, loop)
    return _is_cached(key, text, "reverse")


def compile_step(tape, loop):
    """(advance, reverse, at): the compiled functions of the step of ``loop`` and the
    slots they take (see ``step_source``), compiled for ``STEP_SIGNATURE`` so that one
    compiled driver takes every step as a first-class function. Raises ValueError where
    ``step_compilable`` says no."""
    why = step_compilable(tape, loop)
    if why is not None:
        raise ValueError(f"numad: the step of nd.scan ({loop.name}) cannot be compiled: "
                         f"{why}")
    key, text, at = _step_key_and_text(tape, loop)
    module = _compiled(key, text)
    return _FirstClassStep(module.advance), _FirstClassStep(module.reverse), at


class _FirstClassStep(WrapperAddressProtocol):
    """A compiled step handed to the scan drivers as a first-class function by its
    address, looked up once: handed as a numba dispatcher, each driver call looked it up
    again (numba's unboxing asks the dispatcher for its compile result and LLVM for the
    address; measured 1 to 2% of a 10^5-step gradient). Holds the dispatcher, whose
    library keeps the code alive; calls from Python go to it."""

    def __init__(self, dispatcher):
        (self.compiled,) = dispatcher.overloads.values()
        self.dispatcher = dispatcher
        self._address = self.compiled.library.get_pointer_to_function(
            self.compiled.fndesc.llvm_cfunc_wrapper_name)

    def __wrapper_address__(self):
        return self._address

    def signature(self):
        return self.compiled.signature

    def __call__(self, *args):
        return self.dispatcher(*args)



def _compiled(key, text):
    with _LOCK:
        module = _LOADED.get(key)
        if module is None:
            module = _load(key, text)
            _LOADED[key] = module
    return module


class _Namespace:
    def __init__(self, names):
        self.__dict__.update(names)


def _load(key, text):
    name = f"numad_tape_{key}"
    directory = cache_directory()
    if directory is not None:
        path = os.path.join(directory, name + ".py")
        try:
            if not os.path.exists(path):
                tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
                with open(tmp, "w") as f:
                    f.write(_lowered(text))
                os.replace(tmp, path)  # atomic: a concurrent process sees all or nothing
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
                _compile_lowered(module)
            except OSError:
                raise
            except Exception as exc:   # (see _compile_lowered)
                return _unlowered(name, text, exc)
            return module
        except OSError:
            pass
    if not _WARNED:
        _WARNED.append(True)
        warnings.warn("numad: no directory for compiled tapes is writable (set "
                      "NUMAD_CACHE_DIR); compiling in memory, so every process compiles "
                      "its tapes anew", RuntimeWarning, stacklevel=3)
    namespace = {}
    try:
        exec(compile(_lowered(text).replace("cache=True", "cache=False"), name, "exec"),
             namespace)
        module = _Namespace(namespace)
        _compile_lowered(module)
    except Exception as exc:
        return _unlowered(name, text, exc)
    return module


# The types of the parameters the compiled functions are called with that are not the
# tapes' buffers (C-contiguous float64 arrays).
_CALLED_WITH = {"value": "boolean", "L": "int64"}


def _compile_lowered(module):
    """Compile a lowered module's functions now, for the types their callers pass, so
    that a lowering that fails (numba's internals, which numad/llvm_lowering.py uses,
    change between numba versions) fails here, where ``_load`` can fall back to numba's
    front end, and not at a call deep in a sweep. (A scan step's functions have their
    signature and compiled when the module was run.)"""
    from numba import types
    from numba.core.dispatcher import Dispatcher
    names = vars(module)
    for fn in list(names.values()):
        if (not isinstance(fn, Dispatcher) or fn.signatures
                or f"_{fn.py_func.__name__}_text" not in names):
            continue
        code = fn.py_func.__code__
        fn.compile(tuple(getattr(types, _CALLED_WITH[p]) if p in _CALLED_WITH
                         else types.float64[::1] for p in code.co_varnames[:code.co_argcount]))


def _unlowered(name, text, exc):
    """The module of ``text`` compiled by numba's front end, in memory, where its
    lowered form failed to compile (said once: a numba that numad's lowering does not
    know)."""
    if not _WARNED_LOWERING:
        _WARNED_LOWERING.append(True)
        warnings.warn(f"numad: compiled tapes lowered by numad failed to compile with this "
                      f"numba ({type(exc).__name__}: {exc}); numba compiles them itself "
                      "(slower to compile, the same numbers)", RuntimeWarning, stacklevel=4)
    namespace = {}
    exec(compile(text.replace("cache=True", "cache=False"), name, "exec"), namespace)
    return _Namespace(namespace)


_WARNED_LOWERING = []
