"""Checkpoint schedules: the order in which reverse mode re-runs and reverses a loop.

A loop of ``length`` steps computes ``state[i + 1] = step_i(state[i])``. Reverse mode
needs the steps back in the order ``length - 1, ..., 1, 0``, each with its own input
state. Keeping every state costs memory proportional to ``length``; keeping a few
("snapshots") and re-running steps forward from them costs time instead. This module
only *plans*: ``checkpoint_schedule`` returns a :class:`Schedule` whose ``actions``
table a compiled driver executes row by row, and :func:`simulate` executes the same
table abstractly to check it.

The table has rows ``(kind, a, b)``; the driver holds one "current" state at a known
step index, starting at state 0:

========  =====  ==========================================================
kind      value  row ``(kind, a, b)``
========  =====  ==========================================================
ADVANCE   0      current is at step ``a``: run steps ``a .. b-1``, keep nothing
TAKE      1      copy current (at step ``b``) into snapshot slot ``a``
RESTORE   2      current := slot ``a``, which holds the state at step ``b``
RECORD    3      like ADVANCE, but keep the intermediates of steps ``a .. b-1``
                 (the one recording buffer; a later RECORD replaces it)
REVERSE   4      reverse steps ``b-1, ..., a`` from the latest RECORD, which
                 must have been ``(RECORD, a, b)``; current becomes unknown
========  =====  ==========================================================

The first ``first_pass_end`` rows are the first pass: ADVANCE/RECORD rows (TAKEs in
between) that run every step once, from step 0 to ``length``, so the driver gets the
loop's outputs from it. The rest is the reverse phase, valid given only what the first
pass leaves behind (the slots it filled, the current state and its recording).

A TAKE is emitted only when its slot is RESTOREd later: a snapshot of the state that
is about to be recorded, and never needed again, would be a copy for nothing.
"""
from __future__ import annotations

import math
import operator

import numpy as np
from numba import njit

ADVANCE = 0
TAKE = 1
RESTORE = 2
RECORD = 3
REVERSE = 4

KIND_NAMES = ("ADVANCE", "TAKE", "RESTORE", "RECORD", "REVERSE")
STRATEGIES = ("store_all", "recompute_all", "uniform", "binomial", "auto")


class Schedule:
    """A checkpoint schedule: the ``actions`` table and what running it costs.

    Built by :func:`checkpoint_schedule`; ``Schedule(length, strategy, snapshots,
    actions)`` wraps any table (rows, or flat ``[kind, a, b, ...]``) and derives the
    costs from its rows, without checking it: :func:`simulate` does that.

    Attributes
    ----------
    length : int
        Number of loop steps.
    strategy : str
        The strategy that built it (``"auto"`` is reported as ``"binomial"``).
    snapshots : int
        The snapshot budget it was built for: 0 for ``store_all``, 1 for
        ``recompute_all``, the number of segments for ``uniform``, the number of
        slots (the initial state's included) for ``binomial``.
    actions : numpy.ndarray
        Read-only ``int64`` array of shape ``(m, 3)``, rows ``(kind, a, b)``.
    first_pass_end : int
        ``actions[:first_pass_end]`` is the first pass, the rest the reverse phase.
    forward_steps : int
        Steps run forward in total: ``b - a`` summed over ADVANCE and RECORD rows.
    peak_snapshots : int
        Number of slots ever written (a written slot counts as held to the end).
    n_slots : int
        Slots are numbered ``0 .. n_slots - 1``.
    peak_recorded : int
        Most steps whose intermediates are held at once (largest RECORD).
    """

    ADVANCE = ADVANCE
    TAKE = TAKE
    RESTORE = RESTORE
    RECORD = RECORD
    REVERSE = REVERSE

    __slots__ = ("length", "strategy", "snapshots", "actions", "first_pass_end",
                 "forward_steps", "peak_snapshots", "n_slots", "peak_recorded")

    def __init__(self, length, strategy, snapshots, actions):
        if isinstance(actions, list) and (not actions or type(actions[0]) is int):
            # A builder's flat rows [kind, a, b, kind, ...]: fromiter is the fastest.
            actions = np.fromiter(actions, dtype=np.int64, count=len(actions))
        else:
            actions = np.array(actions, dtype=np.int64)  # our own copy, frozen below
        if actions.ndim == 1 and actions.size % 3 == 0:
            actions = actions.reshape(-1, 3)
        if actions.ndim != 2 or actions.shape[1] != 3:
            raise ValueError(f"Schedule: actions must be rows (kind, a, b), got shape "
                             f"{actions.shape}")
        actions.setflags(write=False)  # the driver and the caller share one table
        kind, a, b = actions[:, 0], actions[:, 1], actions[:, 2]
        self.length = length
        self.strategy = strategy
        self.snapshots = snapshots
        self.actions = actions
        # The first pass ends with the first RECORD (RECORD, ..., length): every
        # strategy records the last piece of the loop before reversing anything.
        records = np.flatnonzero(kind == RECORD)
        self.first_pass_end = int(records[0]) + 1 if len(records) else 0
        runs = (kind == ADVANCE) | (kind == RECORD)
        self.forward_steps = int((b[runs] - a[runs]).sum())
        self.peak_snapshots = len(np.unique(a[kind == TAKE]))
        slotted = (kind == TAKE) | (kind == RESTORE)
        self.n_slots = int(a[slotted].max()) + 1 if slotted.any() else 0
        self.peak_recorded = int((b[records] - a[records]).max()) if len(records) else 0

    @property
    def first_pass(self):
        """The rows of the first pass (a view)."""
        return self.actions[:self.first_pass_end]

    @property
    def reverse_pass(self):
        """The rows of the reverse phase (a view)."""
        return self.actions[self.first_pass_end:]

    def __len__(self):
        return len(self.actions)

    def __repr__(self):
        return (f"Schedule(strategy={self.strategy!r}, length={self.length}, "
                f"snapshots={self.snapshots}, rows={len(self.actions)}, "
                f"first_pass_end={self.first_pass_end}, "
                f"forward_steps={self.forward_steps}, "
                f"peak_snapshots={self.peak_snapshots}, "
                f"peak_recorded={self.peak_recorded})")


def checkpoint_schedule(length, snapshots=None, strategy="binomial", *, carries_only=False):
    """Plan the forward re-runs and reversals of a loop of ``length`` steps.

    Parameters
    ----------
    length : int
        Number of loop steps, ``>= 0``. Length 0 gives an empty schedule.
    snapshots : int or None
        Snapshot budget, ``>= 1``:

        - ``"store_all"``: ignored; the whole loop is recorded at once.
        - ``"recompute_all"``: ignored; one snapshot, the initial state.
        - ``"uniform"``: segments of ``k = ceil(length / snapshots)`` steps, so at
          most ``snapshots`` segments; None gives ``k = ceil(sqrt(length))``.
        - ``"binomial"``: number of slots, the initial state's included. None gives
          ``max(1, ceil(sqrt(length)))``, the memory of ``uniform``'s default, with
          which no step is advanced more than three times.
        - ``"auto"``: binomial; ``snapshots=None`` takes as many as
          ``nd.config.memory_budget`` holds for a one-float carry (``nd.scan``
          counts its real carry).
    strategy : {"binomial", "store_all", "recompute_all", "uniform", "auto"}
        ``"binomial"`` is Griewank and Walther's revolve: for the given number of
        slots it runs the fewest forward steps possible, ``binomial_advances(length,
        snapshots) + length`` (every step is recorded once, one at a time).
    carries_only : bool, optional
        For ``"binomial"`` with two snapshots or more (and ``"auto"``): the schedule for a driver whose recorded
        steps keep only their input carries (``nd.scan`` with a compiled step, which
        recomputes the rest while it reverses them). Each part of the loop that its
        free slots reverse with every step advanced once is then recorded whole, in
        one row, instead of advanced and then recorded a step at a time: fewer rows
        and fewer forward runs, at the memory of at most ``snapshots + 1`` recorded
        carries (``.peak_recorded``). Default False: one step recorded at a time.

    Returns
    -------
    Schedule
        The plan: ``.forward_steps`` (how many times the step's forward runs in one
        value-and-gradient computation, every re-run included), ``.peak_snapshots``
        (states held at once, at most ``snapshots``), ``.peak_recorded`` and
        ``.actions`` (the steps, in order).

    Raises
    ------
    ValueError
        For an unknown strategy, a negative ``length`` or ``snapshots < 1``.

    Examples
    --------
    Ten steps, three slots: 15 steps are re-run from snapshots on top of the 10 that
    are recorded, against 10 + 45 with a single snapshot.

    >>> s = checkpoint_schedule(10, snapshots=3)
    >>> s.forward_steps, s.peak_snapshots, s.peak_recorded
    (25, 3, 1)
    >>> checkpoint_schedule(10, strategy="recompute_all").forward_steps
    55
    >>> checkpoint_schedule(3, strategy="store_all").actions.tolist()
    [[3, 0, 3], [4, 0, 3]]
    >>> s = checkpoint_schedule(10, snapshots=3, carries_only=True)
    >>> s.forward_steps, s.peak_snapshots, s.peak_recorded
    (19, 3, 4)
    """
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(f"checkpoint_schedule: unknown strategy {strategy!r}; "
                         f"use one of {', '.join(map(repr, STRATEGIES))}")
    length = _count("checkpoint_schedule", "length", length, minimum=0)
    if snapshots is not None:
        snapshots = _count("checkpoint_schedule", "snapshots", snapshots, minimum=1)

    if strategy == "store_all":
        return Schedule(length, strategy, 0, _store_all(length))
    if strategy == "recompute_all":
        return Schedule(length, strategy, 1, _binomial(length, 1))
    if strategy == "uniform":
        if snapshots is None:
            k = math.isqrt(length - 1) + 1 if length else 1  # ceil(sqrt(length))
        else:
            k = max(1, -(-length // snapshots))
        budget = snapshots if snapshots is not None else -(-length // k)
        return Schedule(length, strategy, budget, _uniform(length, k))
    if strategy == "auto" and snapshots is None:
        # what nd.scan picks for a one-float carry: as many slots as the memory budget
        # holds (a slot: the carry and 48 bytes of the generator's state)
        from .config import config
        snapshots = max(1, min(length, config.memory_budget // (8 + 48)))
    if snapshots is None:
        snapshots = max(1, math.isqrt(length - 1) + 1 if length else 1)
    return Schedule(length, "binomial", snapshots,
                    _binomial(length, snapshots, bool(carries_only)))


def binomial_advances(length, snapshots):
    """The fewest ADVANCE steps that reverse ``length`` steps with ``snapshots`` slots.

    With ``t`` the smallest integer such that ``C(s + t, s) >= l`` (``s`` slots, the
    initial state's included, ``l`` steps), this is ``t*l - C(s + t, t - 1)``, with
    ``C(n, -1) = 0``: Griewank and Walther's bound, which ``"binomial"`` schedules
    meet. ``t`` is the most times any one step is advanced. The recording runs
    (``l`` more steps, each recorded once) are not included.

    >>> binomial_advances(10, 3), binomial_advances(10, 1), binomial_advances(10, 9)
    (15, 45, 9)
    """
    length = _count("binomial_advances", "length", length, minimum=0)
    s = _count("binomial_advances", "snapshots", snapshots, minimum=1)
    if length <= 1:
        return 0
    if s == 1:
        return length * (length - 1) // 2
    t = _repetitions(length, min(s, length))
    return t * length - math.comb(min(s, length) + t, t - 1)


def simulate(schedule):
    """Execute ``schedule.actions`` abstractly and check the action contract.

    Tracks the step index of the current state and of every slot, and the range of
    the latest recording; checks every row against the contract in the module
    docstring, the first pass, and the schedule's reported costs.

    Returns
    -------
    list of int
        The reversed steps in the order they were reversed (``length - 1, ..., 0``).

    Raises
    ------
    AssertionError
        Naming the offending row, on the first violation.
    """
    length = schedule.length
    actions = np.asarray(schedule.actions)
    fp_end = schedule.first_pass_end
    assert actions.ndim == 2 and actions.shape[1] == 3, (
        f"actions must have shape (m, 3), got {actions.shape}")
    assert 0 <= fp_end <= len(actions), f"first_pass_end {fp_end} out of range"

    current = 0           # step index of the current state; None when unknown
    slots = {}            # slot -> step index of the state it holds
    recording = None      # (a, b) of the latest RECORD
    reversed_steps = []
    forward = 0
    peak_recorded = 0
    first_pass_covered = 0  # steps run by the first pass, which runs 0 .. length-1
    for row, (kind, a, b) in enumerate(actions.tolist()):
        where = f"row {row} ({KIND_NAMES[kind] if 0 <= kind < 5 else kind}, {a}, {b})"
        first_pass = row < fp_end
        assert 0 <= kind <= 4, f"{where}: unknown kind"
        if kind in (ADVANCE, RECORD):
            assert current is not None, f"{where}: current state unknown; RESTORE first"
            assert current == a, f"{where}: current state is at step {current}, not {a}"
            assert a < b <= length, f"{where}: need {a} < {b} <= length {length}"
            if first_pass:
                assert a == first_pass_covered, (
                    f"{where}: first pass must run steps in order from "
                    f"{first_pass_covered}")
                first_pass_covered = b
            forward += b - a
            current = b
            if kind == RECORD:
                recording = (a, b)
                peak_recorded = max(peak_recorded, b - a)
        elif kind == TAKE:
            assert a >= 0, f"{where}: negative slot"
            assert current is not None, f"{where}: current state unknown after REVERSE"
            assert current == b, f"{where}: current state is at step {current}, not {b}"
            slots[a] = b
        elif kind == RESTORE:
            assert not first_pass, f"{where}: RESTORE in the first pass"
            assert a in slots, f"{where}: slot {a} was never written"
            assert slots[a] == b, f"{where}: slot {a} holds step {slots[a]}, not {b}"
            current = b
        else:  # REVERSE
            assert not first_pass, f"{where}: REVERSE in the first pass"
            assert recording == (a, b), (
                f"{where}: the latest recording is {recording}, not ({a}, {b})")
            expected = length - 1 - len(reversed_steps)
            assert b - 1 == expected, (
                f"{where}: next step to reverse is {expected}, not {b - 1}")
            reversed_steps.extend(range(b - 1, a - 1, -1))
            recording = None  # each step is reversed once
            current = None
        if row == fp_end - 1:
            assert first_pass_covered == length and current == length, (
                f"first pass ends at step {first_pass_covered}, not {length}")
    if fp_end == 0:
        assert length == 0, "a non-empty loop needs a first pass"
    assert reversed_steps == list(range(length - 1, -1, -1)), (
        f"reversed {len(reversed_steps)} of {length} steps")
    # The reported costs must be the ones the rows give.
    assert schedule.forward_steps == forward, (
        f"forward_steps {schedule.forward_steps} != {forward} counted")
    assert schedule.peak_snapshots == len(slots), (
        f"peak_snapshots {schedule.peak_snapshots} != {len(slots)} slots written")
    assert schedule.peak_recorded == peak_recorded, (
        f"peak_recorded {schedule.peak_recorded} != {peak_recorded}")
    assert all(0 <= s < schedule.n_slots for s in slots), "slot beyond n_slots"
    return reversed_steps


# ---------------------------------------------------------------------------------
# Builders. Each returns a flat Python list [kind, a, b, kind, a, b, ...]: appending
# to a list is the cheapest way to grow millions of rows; Schedule makes the array.
# ---------------------------------------------------------------------------------


def _store_all(length):
    return [RECORD, 0, length, REVERSE, 0, length] if length else []


def _uniform(length, k):
    """Snapshot at 0, k, 2k, ...; the last segment is recorded by the first pass."""
    if length == 0:
        return []
    starts = list(range(0, length, k))
    out = []
    for j, a in enumerate(starts[:-1]):
        out += (TAKE, j, a, ADVANCE, a, a + k)
    last = starts[-1]
    out += (RECORD, last, length, REVERSE, last, length)
    for j in range(len(starts) - 2, -1, -1):
        a = starts[j]
        out += (RESTORE, j, a, RECORD, a, a + k, REVERSE, a, a + k)
    return out


def _repetitions(n, s):
    """Smallest t with C(s + t, s) >= n: the most advances of any one step."""
    t, reach = 0, 1
    while reach < n:
        t += 1
        reach = reach * (s + t) // t  # C(s+t, s) from C(s+t-1, s)
    return t


# ---- binomial schedules, generated row by row --------------------------------------------
#
# A binomial schedule has about 5 rows a step (4.7 million for 10^6 steps and 20 slots,
# 108 MiB as a table), so the scan driver does not read a table: it asks
# ``binomial_next`` for one row at a time, from a state of a few integers a slot.
# ``checkpoint_schedule`` builds its table from the same generator.

BINOMIAL_STATE = 4  # gen: stack top, pending rows, next pending row, leaves recorded whole


@njit(cache=True)
def _comb(n, k):
    """C(n, k) for the split rule, saturating at 2^62 (only compared with lengths)."""
    if k < 0 or k > n:
        return 0
    k = min(k, n - k)
    c = 1
    for j in range(1, k + 1):
        c = c * (n - k + j) // j
        if c > 2**62 // (n + 1):
            return 2**62
    return c


@njit(cache=True)
def _reps(n, s):
    """Smallest t with C(s + t, s) >= n: the most advances of any one step."""
    t, reach = 0, 1
    while reach < n:
        t += 1
        reach = reach * (s + t) // t  # C(s+t, s) from C(s+t-1, s)
    return t


def binomial_buffers(slots, length):
    """The generator's state for ``slots`` snapshots: gen, stack, pending rows."""
    depth = min(max(slots, 1), max(length, 1)) + 2
    return (np.zeros(BINOMIAL_STATE, dtype=np.int64), np.zeros((depth, 6), dtype=np.int64),
            np.zeros((4, 3), dtype=np.int64))


@njit(cache=True)
def binomial_start(length, slots, gen, stack, pending, whole=False):
    """Start generating the binomial schedule of ``length`` steps with ``slots``;
    ``whole``: its leaves recorded whole (``checkpoint_schedule``'s ``carries_only``),
    where it has two slots or more (one slot stays recompute_all, the textbook
    schedule)."""
    gen[:] = 0
    gen[3] = whole and slots >= 2
    if length == 0:
        return
    s0 = min(slots, length)  # more than length slots can never be used
    if length >= 2:
        pending[0, 0], pending[0, 1], pending[0, 2] = TAKE, 0, 0
        gen[1] = 1
    t0 = _reps(length, s0) if s0 > 1 else 0
    stack[0, 0], stack[0, 1], stack[0, 2] = 0, length, 0
    stack[0, 3], stack[0, 4], stack[0, 5] = s0, t0, 0
    gen[0] = 1


@njit(cache=True, inline='always')
def _emit(gen, pending, kind, a, b):
    k = gen[1]
    pending[k, 0], pending[k, 1], pending[k, 2] = kind, a, b
    gen[1] = k + 1


@njit(cache=True, inline='always')
def _push(gen, stack, a, b, slot, s, t, restore):
    k = gen[0]
    if k >= stack.shape[0]:
        raise IndexError("binomial_next: sub-problem stack full (a bug: it holds one "
                         "sub-problem per slot)")
    stack[k, 0], stack[k, 1], stack[k, 2] = a, b, slot
    stack[k, 3], stack[k, 4], stack[k, 5] = s, t, restore
    gen[0] = k + 1


# (inlined into its callers: a call taking four arrays costs about 24 ns of numba's
# reference counting, about half of a row's cost; measured 26 -> 14.6 ms for the
# 475,435 rows of 10^5 steps with 20 snapshots)
@njit(cache=True, inline='always')
def binomial_next(gen, stack, pending, row):
    """Write the schedule's next row into ``row``; False once there are no more."""
    while gen[2] >= gen[1]:
        if gen[0] == 0:
            return False
        gen[1] = 0
        gen[2] = 0
        gen[0] -= 1
        k = gen[0]
        a, b, slot, s, t, restore = (stack[k, 0], stack[k, 1], stack[k, 2], stack[k, 3],
                                     stack[k, 4], stack[k, 5])
        if restore:
            _emit(gen, pending, RESTORE, slot, a)
        n = b - a
        if n == 1 or (gen[3] and n <= s + 1):
            # (one step; or, where the driver records the steps' input carries only
            # (``gen[3]``, a compiled step: see binomial_start), a part that its s slots
            # reverse advancing each step once: recorded whole, a row for all its
            # steps, in the memory of s + 1 carries)
            _emit(gen, pending, RECORD, a, b)
            _emit(gen, pending, REVERSE, a, b)
        elif s == 1:
            # one slot: re-run from a to the last step, reverse it, and again for the
            # steps before it (also the recompute_all strategy)
            _emit(gen, pending, ADVANCE, a, b - 1)
            _emit(gen, pending, RECORD, b - 1, b)
            _emit(gen, pending, REVERSE, b - 1, b)
            _push(gen, stack, a, b - 1, slot, 1, 0, 1)
        else:
            # t is an upper bound inherited from the parent (a child's repetition
            # number is at most its parent's and at least two less): walk it down
            while t > 1 and _comb(s + t - 1, s) >= n:
                t -= 1
            low = _comb(s + t - 2, s) if t >= 2 else 1  # beta(s, t-2), and m >= 1
            m = max(low, n - _comb(s + t - 1, s - 1))     # n - beta(s-1, t)
            mid = a + m
            _emit(gen, pending, ADVANCE, a, mid)
            _push(gen, stack, a, mid, slot, s, t, 1)  # popped second: the left part
            if b - mid >= 2:  # a one-step right part is recorded at once
                _emit(gen, pending, TAKE, slot + 1, mid)
            _push(gen, stack, mid, b, slot + 1, s - 1, t, 0)
    k = gen[2]
    row[0], row[1], row[2] = pending[k, 0], pending[k, 1], pending[k, 2]
    gen[2] = k + 1
    return True


@njit(cache=True)
def _binomial_table(length, slots, whole, gen, stack, pending):
    row = np.zeros(3, dtype=np.int64)
    count = 0
    binomial_start(length, slots, gen, stack, pending, whole)
    while binomial_next(gen, stack, pending, row):
        count += 1
    out = np.empty((count, 3), dtype=np.int64)
    binomial_start(length, slots, gen, stack, pending, whole)
    for k in range(count):
        binomial_next(gen, stack, pending, row)
        out[k, :] = row
    return out


def _binomial(length, slots, whole=False):
    """Revolve, one row at a time (``binomial_next``), as a table.

    Sub-problem ``(a, b, slot, s, t, restore)``: reverse steps ``b-1 .. a`` when slot
    ``slot`` holds the state at ``a`` and ``s`` slots (``slot`` and the ones above it)
    are free to use; ``restore`` says current must first be set from ``slot``.

    Splitting at ``m``: advance ``a -> m``, snapshot ``m`` in ``slot + 1``, reverse
    ``[m, b)`` with ``s - 1`` slots, then restore ``a`` and reverse ``[a, m)`` with
    ``s`` slots. Write ``beta(s, t) = C(s + t, s)``, the longest loop ``s`` slots
    reverse with no step advanced more than ``t`` times, and ``t`` for the
    sub-problem's repetition number (``beta(s, t-1) < n <= beta(s, t)``). Any ``m``
    with ``beta(s, t-2) <= m <= beta(s, t-1)`` and
    ``beta(s-1, t-1) <= n - m <= beta(s-1, t)`` is optimal: the left part is then
    reversed with ``t - 1`` repetitions and the right one with ``t``, and Pascal's
    rule ``beta(s+1, t-1) = beta(s+1, t-2) + beta(s, t-1)`` adds their costs up to
    ``t*n - beta(s+1, t-1)``. The range is never empty because
    ``beta(s, t) = beta(s, t-1) + beta(s-1, t)``. We take its smallest ``m``: as
    fast as any, and it needs a few percent fewer TAKEs than the largest.
    """
    return _binomial_table(length, slots, whole, *binomial_buffers(slots, length))


def _count(func, name, value, minimum):
    """``value`` as a Python int ``>= minimum`` (NumPy integers welcome, bools not)."""
    if isinstance(value, bool):
        raise ValueError(f"{func}: {name} must be an int, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{func}: {name} must be an int, "
                         f"got {type(value).__name__}") from None
    if value < minimum:
        raise ValueError(f"{func}: {name} must be >= {minimum}, got {value}")
    return value
