"""Checkpoint schedules: every table obeys the action contract, and revolve is optimal.

Optimality is checked three ways that do not share code with ``numad.checkpoint``:
an exhaustive search over all schedules (tiny loops), the split-point recursion
(small loops), and Griewank and Walther's closed form (any loop).
"""
import math
from collections import deque
from functools import lru_cache

import numpy as np
import pytest

from numad.checkpoint import (ADVANCE, RECORD, RESTORE, REVERSE, TAKE, Schedule,
                              binomial_advances, checkpoint_schedule, simulate)

LENGTHS = [0, 1, 2, 3, 7, 13, 31, 100, 997]


# ---------------------------------------------------------------------------------
# Three independent answers to "fewest ADVANCE steps with s slots"
# ---------------------------------------------------------------------------------


def revolve_formula(l, s):
    """t*l - C(s+t, t-1), t the smallest with C(s+t, s) >= l; C(n, -1) = 0."""
    if l == 0:
        return 0
    t = 0
    while math.comb(s + t, s) < l:
        t += 1
    return t * l - (math.comb(s + t, t - 1) if t >= 1 else 0)


@lru_cache(maxsize=None)
def split_dp(n, s):
    """Best over every split point: advance to m, snapshot, reverse [m, n) with s-1
    slots, restore, reverse [0, m) with s slots."""
    if n <= 1:
        return 0
    if s == 1:
        return n * (n - 1) // 2
    return min(m + split_dp(n - m, s - 1) + split_dp(m, s) for m in range(1, n))


def exhaustive(l, s):
    """Fewest advances over ALL schedules that record one step at a time.

    A 0-1 breadth-first search over (current step or None, steps left to reverse,
    set of snapshotted steps); moves: advance one step (cost 1), take, free a slot,
    restore, and record+reverse the next step when current is just before it.
    """
    start = (0, l, frozenset())
    dist = {start: 0}
    queue = deque([(0, start)])
    while queue:
        d, state = queue.popleft()
        if d > dist[state]:
            continue
        cur, left, held = state
        if left == 0:
            return d
        moves = []
        if cur is not None:
            if cur < left - 1:
                moves.append(((cur + 1, left, held), 1))
            if cur == left - 1:  # reverse step left-1; later snapshots are useless
                kept = frozenset(p for p in held if p < left - 1)
                moves.append(((None, left - 1, kept), 0))
            if cur not in held and len(held) < s:
                moves.append(((cur, left, held | {cur}), 0))
        for p in held:
            moves.append(((p, left, held), 0))
            moves.append(((cur, left, held - {p}), 0))
        for nxt, w in moves:
            if d + w < dist.get(nxt, math.inf):
                dist[nxt] = d + w
                (queue.append if w else queue.appendleft)((d + w, nxt))
    raise AssertionError("unreachable")


@pytest.mark.parametrize("s", [1, 2, 3, 4])
def test_split_recursion_is_optimal_over_all_schedules(s):
    for l in range(0, 13):
        assert exhaustive(l, s) == split_dp(l, s), (l, s)


def test_formula_is_the_split_recursion():
    for s in range(1, 6):
        for l in range(0, 31):
            assert revolve_formula(l, s) == split_dp(l, s), (l, s)
            assert binomial_advances(l, s) == split_dp(l, s), (l, s)


def test_binomial_advances_examples():
    assert binomial_advances(0, 1) == 0 and binomial_advances(1, 1) == 0
    assert binomial_advances(10, 1) == 45
    assert binomial_advances(10, 3) == 15
    assert binomial_advances(10, 10) == 9 == binomial_advances(10, 10**9)
    with pytest.raises(ValueError, match="snapshots"):
        binomial_advances(10, 0)


# ---------------------------------------------------------------------------------
# Every strategy obeys the contract
# ---------------------------------------------------------------------------------


def strategy_cases():
    for l in LENGTHS:
        yield l, None, "store_all"
        yield l, None, "recompute_all"
        for s in (None, 1, 2, 3, 10, 2000):
            yield l, s, "uniform"
        for s in (None, 1, 2, 3, 5, 20, 2000):
            yield l, s, "binomial"


@pytest.mark.parametrize("l,s,strategy", list(strategy_cases()))
def test_contract_and_reported_costs(l, s, strategy):
    sched = checkpoint_schedule(l, snapshots=s, strategy=strategy)
    assert simulate(sched) == list(range(l - 1, -1, -1))
    a = sched.actions
    assert a.dtype == np.int64 and a.ndim == 2 and a.shape[1] == 3
    assert not a.flags.writeable
    assert sched.length == l
    # Counted here, not by the module: forward steps and peaks.
    runs = np.isin(a[:, 0], [ADVANCE, RECORD])
    assert sched.forward_steps == int((a[runs, 2] - a[runs, 1]).sum())
    if strategy != "store_all":
        assert sched.peak_snapshots <= sched.snapshots
        assert sched.n_slots <= max(sched.snapshots, 1)
    # First pass: no RESTORE/REVERSE, ends with RECORD up to l; reverse phase starts
    # with a REVERSE of that recording.
    first = sched.first_pass
    assert not np.isin(first[:, 0], [RESTORE, REVERSE]).any()
    if l:
        assert tuple(first[-1]) == (RECORD, first[-1, 1], l)
        assert sched.reverse_pass[0, 0] == REVERSE
    else:
        assert len(a) == 0 and sched.first_pass_end == 0 and sched.forward_steps == 0


# ---------------------------------------------------------------------------------
# Exact tables and cost formulas
# ---------------------------------------------------------------------------------


def test_store_all_table():
    s = checkpoint_schedule(5, strategy="store_all")
    assert s.actions.tolist() == [[RECORD, 0, 5], [REVERSE, 0, 5]]
    assert (s.first_pass_end, s.forward_steps, s.peak_snapshots, s.peak_recorded) == (
        1, 5, 0, 5)


def test_recompute_all_table():
    s = checkpoint_schedule(4, strategy="recompute_all")
    assert s.first_pass.tolist() == [[TAKE, 0, 0], [ADVANCE, 0, 3], [RECORD, 3, 4]]
    assert s.reverse_pass.tolist() == [
        [REVERSE, 3, 4],
        [RESTORE, 0, 0], [ADVANCE, 0, 2], [RECORD, 2, 3], [REVERSE, 2, 3],
        [RESTORE, 0, 0], [ADVANCE, 0, 1], [RECORD, 1, 2], [REVERSE, 1, 2],
        [RESTORE, 0, 0], [RECORD, 0, 1], [REVERSE, 0, 1],
    ]
    # A one-step loop needs no snapshot: it is recorded at once.
    assert checkpoint_schedule(1, strategy="recompute_all").actions.tolist() == [
        [RECORD, 0, 1], [REVERSE, 0, 1]]


def test_uniform_table():
    s = checkpoint_schedule(7, snapshots=3, strategy="uniform")  # k = 3: 0-3, 3-6, 6-7
    assert s.first_pass.tolist() == [
        [TAKE, 0, 0], [ADVANCE, 0, 3], [TAKE, 1, 3], [ADVANCE, 3, 6], [RECORD, 6, 7]]
    assert s.reverse_pass.tolist() == [
        [REVERSE, 6, 7],
        [RESTORE, 1, 3], [RECORD, 3, 6], [REVERSE, 3, 6],
        [RESTORE, 0, 0], [RECORD, 0, 3], [REVERSE, 0, 3],
    ]
    assert (s.forward_steps, s.peak_snapshots, s.peak_recorded) == (13, 2, 3)


@pytest.mark.parametrize("l", LENGTHS + [10007])
def test_cost_formulas(l):
    assert checkpoint_schedule(l, strategy="store_all").forward_steps == l
    assert checkpoint_schedule(l, strategy="recompute_all").forward_steps == (
        l + l * (l - 1) // 2)
    for snapshots in (None, 1, 3, 10):
        u = checkpoint_schedule(l, snapshots, strategy="uniform")
        k = math.ceil(math.sqrt(l)) if snapshots is None else math.ceil(l / snapshots)
        last = l - k * ((l - 1) // k) if l else 0  # length of the last segment
        assert u.forward_steps == 2 * l - last
        assert u.peak_recorded == min(k, l)
        if snapshots is not None:
            assert math.ceil(l / k if k else 0) <= snapshots


@pytest.mark.parametrize("l", [1, 2, 3, 7, 13, 31, 97, 1000, 10007])
@pytest.mark.parametrize("s", [1, 2, 3, 5, 20])
def test_binomial_meets_revolve_bound(l, s):
    sched = checkpoint_schedule(l, snapshots=s)
    assert sched.forward_steps == revolve_formula(l, s) + l
    assert sched.peak_snapshots <= s and sched.n_slots <= s
    assert sched.peak_recorded == 1
    if l <= 1000:
        simulate(sched)


def test_binomial_of_recorded_carries_keeps_the_contract_with_fewer_runs():
    # carries_only: the parts that the free slots reverse advancing each step once are
    # recorded whole; the slots stay within budget, the recording within one more
    for s in range(1, 8):
        for l in range(0, 70):
            whole = checkpoint_schedule(l, snapshots=s, carries_only=True)
            stepwise = checkpoint_schedule(l, snapshots=s)
            assert simulate(whole) == list(range(l - 1, -1, -1))
            assert whole.peak_snapshots <= s and whole.peak_recorded <= s + 1
            assert whole.forward_steps <= stepwise.forward_steps, (l, s)
            if 2 <= l <= s + 1 and s >= 2:   # the loop is one part: every step run once
                assert whole.forward_steps == l
    big = checkpoint_schedule(10**5, snapshots=20, carries_only=True)
    assert big.forward_steps < checkpoint_schedule(10**5, snapshots=20).forward_steps
    assert len(big.actions) < len(checkpoint_schedule(10**5, snapshots=20).actions) / 3


def test_binomial_optimal_for_every_small_case():
    for s in range(1, 7):
        for l in range(0, 61):
            sched = checkpoint_schedule(l, snapshots=s)
            simulate(sched)
            assert sched.forward_steps == split_dp(l, s) + l, (l, s)
            assert sched.peak_snapshots <= s


def test_binomial_with_more_slots_than_steps():
    for l in range(2, 40):
        sched = checkpoint_schedule(l, snapshots=l + 5)
        simulate(sched)
        # Snapshot every state but the last, which the first pass records.
        assert sched.forward_steps == revolve_formula(l, l + 5) + l == 2 * l - 1
        assert sched.peak_snapshots == l - 1


def test_binomial_with_one_slot_is_recompute_all():
    for l in (0, 1, 2, 5, 31):
        a = checkpoint_schedule(l, snapshots=1).actions
        b = checkpoint_schedule(l, strategy="recompute_all").actions
        assert np.array_equal(a, b)


def test_binomial_long_loop():
    # A million steps: no Python recursion, a few million rows in a couple of seconds.
    l = 10**6
    sched = checkpoint_schedule(l, snapshots=20)
    assert sched.forward_steps == revolve_formula(l, 20) + l
    assert sched.peak_snapshots == 20
    kinds = sched.actions[:, 0]
    # Every step recorded once, one at a time, and reversed right after.
    rec = sched.actions[kinds == RECORD]
    assert len(rec) == l and (rec[:, 2] - rec[:, 1] == 1).all()
    assert np.array_equal(np.sort(rec[:, 1]), np.arange(l))
    rev = sched.actions[kinds == REVERSE]
    assert np.array_equal(rev[:, 1], np.arange(l)[::-1])


def test_auto_without_snapshots_fits_the_memory_budget():
    import numad as nd
    old = nd.config.memory_budget
    try:
        nd.config.memory_budget = 56 * 7  # seven slots of a one-float carry
        sched = checkpoint_schedule(100, None, "auto")
        assert sched.snapshots == 7 and sched.peak_snapshots <= 7
        assert sched.forward_steps == binomial_advances(100, 7) + 100
    finally:
        nd.config.memory_budget = old


def test_default_and_auto():
    s = checkpoint_schedule(100)
    assert s.strategy == "binomial" and s.snapshots == 10
    assert checkpoint_schedule(0).snapshots == 1
    auto = checkpoint_schedule(100, snapshots=4, strategy="auto")
    assert auto.strategy == "binomial"
    assert np.array_equal(auto.actions, checkpoint_schedule(100, 4).actions)
    assert checkpoint_schedule(np.int64(12), snapshots=np.int32(3)).length == 12
    assert checkpoint_schedule(10, strategy="uniform").snapshots == 3  # k=4: 0, 4, 8


def test_repr():
    r = repr(checkpoint_schedule(10, snapshots=3))
    assert r.startswith("Schedule(strategy='binomial', length=10, snapshots=3")
    assert "forward_steps=25" in r


@pytest.mark.parametrize("kwargs,match", [
    (dict(length=5, strategy="revolve"), "unknown strategy.*binomial"),
    (dict(length=-1), "length must be >= 0"),
    (dict(length=5, snapshots=0), "snapshots must be >= 1"),
    (dict(length=2.5), "length must be an int"),
    (dict(length=True), "length must be an int"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        checkpoint_schedule(**kwargs)


# ---------------------------------------------------------------------------------
# simulate catches broken tables
# ---------------------------------------------------------------------------------


def broken(rows, length=3):
    return Schedule(length, "hand-made", 2, rows)


GOOD = [(TAKE, 0, 0), (ADVANCE, 0, 2), (RECORD, 2, 3), (REVERSE, 2, 3),
        (RESTORE, 0, 0), (RECORD, 0, 2), (REVERSE, 0, 2)]


def test_simulate_accepts_hand_made_table():
    assert simulate(broken(GOOD)) == [2, 1, 0]


@pytest.mark.parametrize("rows,match", [
    (GOOD[:3] + [(REVERSE, 1, 3)] + GOOD[4:], "latest recording"),
    (GOOD[:4] + [(RESTORE, 1, 0)] + GOOD[5:], "never written"),
    (GOOD[:4] + [(RESTORE, 0, 1)] + GOOD[5:], "holds step 0"),
    (GOOD[:4] + GOOD[5:], "unknown"),
    (GOOD[:4] + [(TAKE, 1, 2)] + GOOD[4:], "unknown"),
    ([(TAKE, 0, 0), (ADVANCE, 0, 1), (RECORD, 2, 3)] + GOOD[3:], "at step 1"),
    ([(TAKE, 0, 0), (ADVANCE, 0, 2), (RECORD, 2, 4)] + GOOD[3:], "length"),
    (GOOD[:6], "latest recording is None|reversed 1 of 3"),
    ([(TAKE, 0, 0), (RECORD, 0, 2), (REVERSE, 0, 2), (RESTORE, 0, 0),
      (RECORD, 0, 3), (REVERSE, 0, 3)], "first pass ends at step 2"),
    ([(RECORD, 0, 3), (REVERSE, 1, 3), (RECORD, 0, 1), (REVERSE, 0, 1)],
     "latest recording"),
    ([(RECORD, 0, 3), (REVERSE, 0, 1)], "latest recording"),
])
def test_simulate_rejects(rows, match):
    with pytest.raises(AssertionError, match=match):
        simulate(broken(rows))


def test_simulate_rejects_wrong_reported_costs():
    sched = checkpoint_schedule(7, snapshots=2)
    sched.forward_steps -= 1
    with pytest.raises(AssertionError, match="forward_steps"):
        simulate(sched)


# ---- the compiled row-by-row generator against a plain-Python revolve -------------------------

def _repetitions(n, s):
    """Smallest t with C(s + t, s) >= n: the most advances of any one step."""
    t, reach = 0, 1
    while reach < n:
        t += 1
        reach = reach * (s + t) // t  # C(s+t, s) from C(s+t-1, s)
    return t


def reference_binomial(length, slots):
    """Revolve in plain Python, as the first version of numad/checkpoint.py wrote it
    (see ``numad.checkpoint._binomial`` for the split rule)."""
    if length == 0:
        return []
    s0 = min(slots, length)  # more than length slots can never be used
    out = []
    emit = out.extend
    if length >= 2:
        emit((TAKE, 0, 0))
    t0 = _repetitions(length, s0) if s0 > 1 else 0
    stack = [(0, length, 0, s0, t0, False)]
    pop, push, comb = stack.pop, stack.append, math.comb
    while stack:
        a, b, slot, s, t, restore = pop()
        if restore:
            emit((RESTORE, slot, a))
        n = b - a
        if n == 1:
            emit((RECORD, a, b, REVERSE, a, b))
        elif s == 1:
            # One slot: re-run from a to each step, last step first. Also the
            # recompute_all strategy (s = 1 at the top).
            emit((ADVANCE, a, b - 1))  # n >= 2 here, so a < b - 1
            emit((RECORD, b - 1, b, REVERSE, b - 1, b))
            for i in range(b - 2, a - 1, -1):
                emit((RESTORE, slot, a))
                if i > a:
                    emit((ADVANCE, a, i))
                emit((RECORD, i, i + 1, REVERSE, i, i + 1))
        else:
            # t is an upper bound inherited from the parent (a child's repetition
            # number is at most its parent's and at least two less): walk it down.
            while t > 1 and comb(s + t - 1, s) >= n:
                t -= 1
            low = comb(s + t - 2, s) if t >= 2 else 1  # beta(s, t-2), and m >= 1
            m = max(low, n - comb(s + t - 1, s - 1))     # n - beta(s-1, t)
            mid = a + m
            emit((ADVANCE, a, mid))
            push((a, mid, slot, s, t, True))  # popped second: the left part
            if b - mid >= 2:  # a one-step right part is recorded at once
                emit((TAKE, slot + 1, mid))
            push((mid, b, slot + 1, s - 1, t, False))
    return out


@pytest.mark.parametrize("l", [0, 1, 2, 3, 7, 13, 31, 97, 1000, 10007])
@pytest.mark.parametrize("s", [1, 2, 3, 5, 20, 20000])
def test_generated_rows_equal_the_python_revolve(l, s):
    expected = np.array(reference_binomial(l, s), dtype=np.int64).reshape(-1, 3)
    got = checkpoint_schedule(l, s, "binomial").actions
    assert np.array_equal(got, expected)


def test_a_binomial_loop_holds_no_table():
    import numad as nd
    tape = nd.trace(lambda a: nd.scan(lambda c, _: (c * a, None), 1.0, length=10**5,
                                      checkpoint="binomial", snapshots=20)[0], 0.5)
    (run,) = tape.loops
    assert run.lazy and run.table.size == 0 and run.nbytes < 10**5
