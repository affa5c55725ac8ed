"""Loops that tracing unrolled are compiled as loops again (numad/rerolling.py): the
compiled code of such tapes gives the generic sweeps' numbers bit for bit, its guards
still catch a changed branch, and a 1000-pass Python loop compiles in about the time of
its body."""
import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

import numad as nd
from numad import tape_compiler as TC


def rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] * x[i]) ** 2 + (1.0 - x[i]) ** 2
    return s


def carry_times(x):
    s = 0.5
    for i in range(len(x)):
        s = np.tanh(s * x[i]) + 0.1 * x[i]
    return s


def two_carries(x):
    a, b = x[0], x[1]
    for i in range(2, len(x)):
        a, b = b, np.tanh(a + b * x[i])
    return a * b


def loop_then_loop(x):
    ys = [np.sin(x[i]) * x[i] for i in range(len(x))]
    s = 0.0
    for i in range(len(x) - 1):
        s = s + (ys[i + 1] - ys[i]) ** 2
    return s + ys[3]


def constant_per_pass(x):
    s = 0.0
    for i in range(len(x)):
        s = s + np.exp(-0.01 * i) * x[i] ** 2
    return s


def nested(x):
    s = 0.0
    for i in range(12):
        for j in range(12):
            s = s + x[i] * np.cos(x[j]) / (1.0 + x[i + j] ** 2)
    return s


def vectorized(x):
    y = np.tanh(x) * x
    z = y[1:] - y[:-1]
    return np.sum(z * z) + y[0]


def branches(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 0:
            s = s + x[i] ** 2
        else:
            s = s - x[i]
    return s


CASES = [(rosen_loop, 1000), (carry_times, 400), (two_carries, 300),
         (loop_then_loop, 200), (constant_per_pass, 500), (nested, 24), (vectorized, 500),
         (branches, 301)]


def _compiled_gradient(tape):
    adj = np.zeros_like(tape.vals)
    vals = tape.vals.copy()
    failed = TC.compile_tape(tape)(vals, adj, True)
    e = tape.input_entries[0]
    start = int(tape.off[e])
    return failed, vals[tape.off[tape.output_entries[0]]], adj[start:start + tape.size[e]]


@pytest.mark.parametrize("f,n", CASES, ids=[f.__name__ for f, _ in CASES])
def test_rolled_up_code_is_the_generic_sweep_bit_for_bit(f, n, monkeypatch):
    monkeypatch.setattr(TC, "_CSE", False)   # (shared subexpressions reassociate)
    x = np.random.default_rng(3).uniform(-0.9, 0.9, n)
    if f is branches:   # (branches taken in runs: each run is a loop)
        x = np.sort(x)
    tape = nd.trace(f, x, compile="never")
    plan = TC._Plan(tape, 0, len(tape.op), tape.output_entries, [], reroll=True)
    assert plan.loops, "no loop found"
    rolled = sum(loop.period for loop in plan.loops)
    assert TC.compilable(tape) is None
    failed, value, grad = _compiled_gradient(tape)
    assert failed == -1
    generic_value, generic = nd.value_and_gradient(f, compile="never")(x)
    assert value == generic_value
    np.testing.assert_allclose(value, f(x), rtol=1e-14)
    np.testing.assert_array_equal(grad, generic)
    assert rolled < 200


def test_rosenbrock_of_1000_against_scipy(monkeypatch):
    monkeypatch.setattr(TC, "MAX_ENTRIES", 2500)
    x = np.linspace(-1.2, 1.2, 1000)
    tape = nd.trace(rosen_loop, x, compile="never")
    assert TC._scalar_count(tape, 0, len(tape.op)) > TC.MAX_ENTRIES   # (rolled up only)
    g = nd.gradient(rosen_loop, compile="always")
    np.testing.assert_allclose(g(x), rosen_der(x), rtol=1e-13, atol=1e-10)
    x2 = x[::-1].copy()
    v, g2 = nd.value_and_gradient(rosen_loop, compile="always")(x2)
    assert v == pytest.approx(rosen(x2), rel=1e-14)
    np.testing.assert_allclose(g2, rosen_der(x2), rtol=1e-13, atol=1e-10)


def test_guard_inside_a_rolled_loop_is_caught():
    x = np.linspace(-1, 1, 301)
    tape = nd.trace(branches, x, compile="never")
    fn = TC.compile_tape(tape)
    y = x.copy()
    y[200] = -y[200]          # one decision in the middle of a loop changes
    vals = tape.vals.copy()
    e = tape.input_entries[0]
    vals[tape.off[e]:tape.off[e] + len(y)] = y
    failed = fn(vals, np.zeros_like(vals), True)
    assert failed >= 0
    assert tape.op[failed] == TC._GUARD
    # the adapter traces again and answers at the new point (closed form)
    g = nd.gradient(branches, compile="always")
    g(x)
    np.testing.assert_allclose(g(y), np.where(y > 0, 2 * y, -1.0), rtol=1e-15)


def test_hessian_vector_product_of_a_long_loop_against_scipy():
    x = np.linspace(-1.2, 1.2, 1000)
    v = np.cos(np.arange(1000.0))
    from scipy.optimize import rosen_hess_prod
    hv = nd.hvp(rosen_loop, compile="always")
    np.testing.assert_allclose(hv(x, v), rosen_hess_prod(x, v), rtol=1e-12, atol=1e-9)
    assert hv.cache.tapes[(x.shape,)][0].compiled_hvp is not None


@pytest.mark.parametrize("f,n", CASES, ids=[f.__name__ for f, _ in CASES])
def test_rolled_up_hessian_vector_product_is_the_generic_one(f, n, monkeypatch):
    monkeypatch.setattr(TC, "_CSE", False)
    rng = np.random.default_rng(5)
    x = rng.uniform(-0.9, 0.9, n)
    if f is branches:
        x = np.sort(x)
    v = rng.standard_normal(n)
    generic = nd.hvp(f, compile="never")(x, v)
    compiled = nd.hvp(f, compile="always")
    got = compiled(x, v)
    assert compiled.cache.tapes[(x.shape,)][0].compiled_hvp is not None
    np.testing.assert_allclose(got, generic, rtol=1e-13, atol=1e-13)
    if f is not vectorized:   # (the generic product of array entries rounds otherwise)
        np.testing.assert_array_equal(got, generic)


@pytest.mark.parametrize("f,n", [(vectorized, 200), (loop_then_loop, 150)])
def test_rolled_up_code_is_the_straight_line_code_bit_for_bit(f, n, monkeypatch):
    monkeypatch.setattr(TC, "_CSE", False)
    rng = np.random.default_rng(6)
    x, v = rng.uniform(-0.9, 0.9, n), rng.standard_normal(n)
    tape = nd.trace(f, x)

    def run():
        vals = tape.vals.copy()
        tan, adj, adjd = np.zeros_like(vals), np.zeros_like(vals), np.zeros_like(vals)
        tan[:n] = v
        assert TC.compile_hvp(tape)(vals, tan, adj, adjd) == -1
        g = np.zeros_like(vals)
        assert TC.compile_tape(tape)(vals, g, True) == -1
        return adjd[:n].copy(), g[:n].copy()

    rolled = run()
    monkeypatch.setattr(TC, "find_loops", lambda *args: [])
    straight = run()
    for a, b in zip(rolled, straight):
        np.testing.assert_array_equal(a, b)


# ---- random loop bodies (hypothesis) ------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

# bounded operations, so that carries stay finite over many passes
BODY_OPS = [
    lambda a, b: np.tanh(a + b),
    lambda a, b: np.sin(a * b),
    lambda a, b: a * np.tanh(b),
    lambda a, b: 0.5 * (a - b),
    lambda a, b: np.cos(a) * 0.9,
    lambda a, b: a / (1.0 + b * b),
    lambda a, b: np.abs(a) * 0.8 - b * 0.1,
]


@st.composite
def loop_programs(draw):
    body = [(draw(st.integers(0, len(BODY_OPS) - 1)), draw(st.integers(0, 99)),
             draw(st.integers(0, 99))) for _ in range(draw(st.integers(1, 6)))]
    return body, draw(st.integers(1, 2)), draw(st.integers(10, 60))


def _program(body, carries, passes):
    def f(x):
        c = [x[0] * 0.5, x[1]][:carries]
        for i in range(passes):
            pool = c + [x[i + 2], 0.7]
            for op, i1, i2 in body:
                pool.append(BODY_OPS[op](pool[i1 % len(pool)], pool[i2 % len(pool)]))
            c = [pool[-1 - k] for k in range(carries)]
        return sum(c[1:], c[0])
    return f


@settings(max_examples=8, deadline=None)
@given(loop_programs(), st.integers(0, 2**32 - 1))
def test_random_loop_bodies_compile_to_the_generic_numbers(program, seed):
    TC._CSE = False
    try:
        f = _program(*program)
        n = program[2] + 2
        rng = np.random.default_rng(seed)
        x, v = rng.uniform(-1, 1, n), rng.standard_normal(n)
        tape = nd.trace(f, x, compile="never")
        assert TC.compilable(tape) is None
        value, grad = nd.value_and_gradient(f, compile="never")(x)
        failed, got_value, got = _compiled_gradient(tape)
        assert failed == -1 and got_value == value
        np.testing.assert_array_equal(got, grad)
        np.testing.assert_array_equal(nd.hvp(f, compile="always")(x, v),
                                      nd.hvp(f, compile="never")(x, v))
    finally:
        TC._CSE = True
