"""Rerolling: finding the loops that tracing unrolled, so that compiled code runs them as loops.

A Python loop over traced scalars (``for i in range(n): s = s + f(x[i], x[i + 1])``)
records its body once per pass: ``n`` copies of the same operations, their slots
shifted by the same amount from one pass to the next. As straight-line code that is
``n`` times the body, and numba's compile time grows faster than the code (seconds at
a few thousand operations). ``find_loops`` finds such runs in a list of scalar
operations (``tape_compiler.scalar_ops``) and describes each as a ``Loop``: one
template of its body and the number of passes, so that ``tape_compiler`` writes a
``for`` loop whose compile time follows the body, not the tape. The same search finds
an elementwise entry on a long array (its elements are the passes of a one-operation
body).

A run is a loop when every operation of pass ``k + 1`` is the one of pass ``k`` with
every slot (its own and its operands') shifted by a constant of that operation and
operand (its stride). Each operand of the body then reads one of:

* ``("local", j)``: the value of the body's operation ``j`` in the same pass;
* ``("carried", j, init)``: the value of operation ``j`` in the previous pass; in the
  first pass the slot ``init``, computed before the loop (the loop's carry);
* ``("fixed", slot)``: the same value from outside the loop in every pass;
* ``("strided", base, stride)``: the value at ``base + stride * k`` in pass ``k`` (an
  input's element, a constant recorded once a pass), from outside the loop;
* ``("zero",)``: the literal 0.0.

Runs whose operations read a value of the run in another way (from two passes back, or
at slots that do not follow one operation) are not loops, and stay straight-line code.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Rerolling pays for loops of at least this many scalar operations (shorter runs cost
# less to compile as straight-line code than the loop's fixed code does).
MIN_OPERATIONS = 48
MIN_PASSES = 3
MAX_PERIOD = 512     # (operations in one pass: longer bodies are not looked for)


@dataclass
class Loop:
    """``count`` passes of a body of ``period`` operations, from ``start`` in the list.

    ``body``: per operation of the first pass, ``(opcode, slot, stride, refs)``, or for
    a guard ``("guard", entry, entry_stride, ref, recorded_slot, recorded_stride)``;
    ``slots``: every slot the loop computes; ``reads``: the slots it reads from outside
    (fixed, strided and carried-in values)."""
    start: int
    period: int
    count: int
    body: list
    slots: set = field(default_factory=set)
    reads: set = field(default_factory=set)

    @property
    def stop(self):
        return self.start + self.period * self.count

    def slot_at(self, j, k):
        """The slot of operation ``j``'s value in pass ``k``."""
        _, base, stride, _ = self.body[j]
        return base + stride * k


def _rows(ops, guard):
    """Each operation as a code and three slots (its own, its operands'), for
    comparing passes with array operations."""
    codes = np.empty(len(ops), dtype=np.int64)
    slots = np.zeros((len(ops), 3), dtype=np.int64)
    for i, item in enumerate(ops):
        if item[0] == guard:
            _, entry, operand, recorded = item
            codes[i] = -1 - guard
            slots[i] = (recorded, operand, entry)
        else:
            o, slot, operands = item
            codes[i] = o * 4 + len(operands)
            slots[i, 0] = slot
            slots[i, 1:1 + len(operands)] = operands
    return codes, slots


def _runs(codes, slots, lo, hi, period):
    """[(start, passes)]: the maximal runs in lo..hi-1 whose passes of ``period``
    operations differ by constant shifts."""
    n = hi - lo - 2 * period
    if n <= 0:
        return []
    c, v = codes[lo:hi], slots[lo:hi]
    p = period
    step = v[p:p + n] - v[:n]
    same = ((c[:n] == c[p:p + n]) & (c[p:p + n] == c[2 * p:2 * p + n])
            & np.all(step == v[2 * p:2 * p + n] - v[p:p + n], axis=1))
    edges = np.flatnonzero(np.diff(np.concatenate(([0], same.view(np.int8), [0]))))
    found = []
    for s, e in zip(edges[::2], edges[1::2]):
        if e - s >= p:
            found.append((lo + int(s), (int(e - s)) // p + 2))
    return found


def _describe(ops, start, period, count, guard, zero):
    """The ``Loop`` of ``count`` passes of ``period`` operations from ``start``, or None
    where an operand reads the run's values other than as a local or a carry."""
    first, second = ops[start:start + period], ops[start + period:start + 2 * period]
    producers = {}       # (slot, stride) of an operation's first value -> its index
    body_slots = []
    for j, (a, b) in enumerate(zip(first, second)):
        if a[0] == guard:
            body_slots.append(None)
            continue
        stride = b[1] - a[1]
        if stride == 0 or a[1] < 0:   # (values no slot holds stay straight-line code)
            return None
        producers[(a[1], stride)] = j
        body_slots.append((a[1], stride))
    slots = {base + stride * k for sl in body_slots if sl is not None
             for base, stride in [sl] for k in range(count)}
    reads = set()

    def ref(j, base, stride):
        if base == zero and stride == 0:
            return ("zero",)
        here = producers.get((base, stride))
        if here is not None and here < j:
            return ("local", here)
        before = producers.get((base + stride, stride))
        if before is not None and stride != 0:
            init = base   # (pass 0 reads the value from before the loop)
            if init in slots:
                return None
            reads.add(init)
            return ("carried", before, init)
        outside = [base + stride * k for k in range(count)]
        if any(s in slots for s in outside):
            return None
        if stride != 0 and base < 0:   # (values no slot holds cannot be read by pass)
            return None
        reads.update(outside)
        return ("fixed", base) if stride == 0 else ("strided", base, stride)

    body = []
    for j, (a, b) in enumerate(zip(first, second)):
        if a[0] == guard:
            _, entry, operand, recorded = a
            r = ref(j, operand, b[2] - operand)
            rstride = b[3] - recorded
            if r is None or r[0] == "zero" or recorded + rstride * (count - 1) in slots:
                return None
            reads.update(recorded + rstride * k for k in range(count))
            body.append(("guard", entry, b[1] - entry, r, recorded, rstride))
            continue
        refs = [ref(j, s, t - s) for s, t in zip(a[2], b[2])]
        if any(r is None for r in refs):
            return None
        body.append((a[0], a[1], b[1] - a[1], refs))
    return Loop(start, period, count, body, slots, reads)


def find_loops(ops, guard, zero):
    """The loops (``Loop``) in ``ops`` (``tape_compiler.scalar_ops``'s list), in order
    and not overlapping: the run covering the most operations first, then the same
    search before and after it. ``guard`` is the guards' opcode, ``zero`` the slot that
    stands for 0.0."""
    if len(ops) < MIN_OPERATIONS:
        return []
    codes, slots = _rows(ops, guard)
    loops = []

    def search(lo, hi):
        if hi - lo < MIN_OPERATIONS:
            return
        candidates = []
        for period in range(1, min(MAX_PERIOD, (hi - lo) // MIN_PASSES) + 1):
            for start, passes in _runs(codes, slots, lo, hi, period):
                if passes * period >= MIN_OPERATIONS:
                    # (a multiple of the body's period covers about as much: prefer
                    # the shortest body)
                    candidates.append((passes * period - 2 * period, -period, start, passes))
        candidates.sort(reverse=True)
        for _, minus_period, start, passes in candidates:
            period = -minus_period
            # (a run may start inside a pass: try the phases until one reads as a loop)
            for shift in range(period):
                if passes - (shift > 0) < MIN_PASSES:
                    break
                count = passes - (shift > 0)
                loop = _describe(ops, start + shift, period, count, guard, zero)
                if loop is not None:
                    search(lo, loop.start)
                    loops.append(loop)
                    search(loop.stop, hi)
                    return
        return

    search(0, len(ops))
    loops.sort(key=lambda loop: loop.start)
    return loops
