"""nd.while_loop, nd.fori_loop and nd.cond against the plain Python loops and branches
they replace (traced step by step, an independent recording), finite differences and
closed forms; in reverse mode, forward mode and second order; replayed where the trip
count or the branch changes."""
import numpy as np
import pytest

import numad as nd

A = np.array([[0.9, 0.1], [0.0, 0.8]])


def decay_to_threshold(p, loop):
    """Euler steps of y' = -k y + b until y falls below 0.1, and the time it took."""
    def cond(c):
        return c[0] > 0.1

    def body(c):
        return (c[0] - 0.01 * p[0] * c[0] + 0.001 * p[1], c[1] + 0.01)

    y, t = loop(cond, body, (1.0, 0.0))
    return y * y + t * p[1]


def python_while(cond, body, carry):
    while cond(carry):
        carry = body(carry)
    return carry


def matrix_iteration(x, loop):
    """An array carry: v <- x0 A v until its sum falls below 0.5, counting the steps."""
    v, n = loop(lambda c: np.sum(c[0]) > 0.5, lambda c: (A @ c[0] * x[0], c[1] + 1.0),
                (x, 0.0))
    return np.sum(v ** 2) + n


CASES = [(decay_to_threshold, np.array([0.5, 0.2])),
         (matrix_iteration, np.array([0.9, 0.05]))]


@pytest.mark.parametrize("fn, x", CASES)
def test_while_loop_matches_the_python_loop_and_differences(fn, x):
    f = lambda p: fn(p, nd.while_loop)
    plain = lambda p: fn(p, python_while)
    assert f(x) == plain(x)
    g = nd.grad(f)(x)
    np.testing.assert_allclose(g, nd.grad(plain)(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(g, nd.numerical_gradient(plain, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("fn, x", CASES)
def test_while_loop_forward_mode_and_second_order(fn, x):
    f = lambda p: fn(p, nd.while_loop)
    plain = lambda p: fn(p, python_while)
    v = np.array([0.3, -0.7])
    value, tangent = nd.trace(f, x).jvp(x, v)
    assert value == plain(x)
    np.testing.assert_allclose(tangent, nd.grad(plain)(x) @ v, rtol=1e-12)
    np.testing.assert_allclose(nd.hessian(f)(x), nd.hessian(plain)(x), rtol=1e-10, atol=1e-12)


def test_cached_gradient_traces_again_when_the_trip_count_changes():
    f = lambda p: decay_to_threshold(p, nd.while_loop)
    plain = lambda p: decay_to_threshold(p, python_while)
    jac = nd.gradient(f)
    for p in ([0.5, 0.2], [0.6, 0.2], [0.3, 0.1], [0.5, 0.2]):
        p = np.array(p)
        np.testing.assert_allclose(jac(p), nd.grad(plain)(p), rtol=1e-13)


def test_a_tape_replayed_at_another_trip_count_raises():
    f = lambda p: decay_to_threshold(p, nd.while_loop)
    tape = nd.trace(f, np.array([0.5, 0.2]))
    assert tape.matches(np.array([0.5, 0.2]))
    for other in ([0.6, 0.2], [0.3, 0.2]):  # fewer steps, more steps
        with pytest.raises(nd.ControlFlowChanged):
            tape.gradient(np.array(other))


def test_a_long_while_loop_is_recorded_once_in_bounded_memory():
    n = 100_000

    def f(k):
        y, _ = nd.while_loop(lambda c: c[1] < n, lambda c: (c[0] - 1e-5 * k * c[0], c[1] + 1.0),
                             (1.0, 0.0), checkpoint="binomial", snapshots=20)
        return y

    tape = nd.trace(f, 0.5)
    assert len(tape) < 40 and tape.nbytes < 20_000   # one step, not 10^5
    closed = -n * 1e-5 * (1 - 0.5e-5) ** (n - 1)
    assert nd.grad(f)(0.5) == pytest.approx(closed, rel=1e-10)


def test_no_steps_and_a_body_whose_branches_change():
    assert nd.grad(lambda x: nd.while_loop(lambda c: c > 10, lambda c: 2 * c, x) ** 2)(3.0) == 6.0

    def f(x, loop):
        def body(c):
            v, n = c
            return (v * x if n < 3 else v + x, n + 1.0)
        return loop(lambda c: c[1] < 6, body, (1.0, 0.0))[0]

    # x^3 + 3 x: 3 x^2 + 3
    assert nd.grad(lambda x: f(x, nd.while_loop))(1.5) == pytest.approx(3 * 1.5 ** 2 + 3)


def test_while_loop_closing_over_traced_values_inside_a_scan():
    def f(k):
        def step(c, _):
            inner = nd.while_loop(lambda v: v > 0.5, lambda v: v * k, 1.0)
            return c + inner, None
        return nd.scan(step, 0.0, length=3)[0]

    def plain(k):
        total = 0.0
        for _ in range(3):
            total = total + python_while(lambda v: v > 0.5, lambda v: v * k, 1.0)
        return total

    assert nd.grad(f)(0.8) == pytest.approx(nd.grad(plain)(0.8), rel=1e-13)


def test_an_or_condition_that_changes_part_way_is_refused_clearly():
    def f(x):
        return nd.while_loop(lambda c: (c[1] > 5) or (c[0] < 100),
                             lambda c: (c[0] * x, c[1] - 1.0), (1.0, 10.0))[0]
    with pytest.raises(nd.TracingError, match="np.logical_or"):
        nd.grad(f)(1.5)


def test_while_loop_outside_a_trace_and_on_duals():
    assert nd.while_loop(lambda c: c < 10, lambda c: c * 2, 1) == 16
    d = nd.while_loop(lambda c: c.value < 10, lambda c: c * 2, nd.Dual(1.5, 1.0))
    assert (d.value, d.tangent) == (12.0, 8.0)


def test_fori_loop_matches_the_python_loop():
    def f(x):
        return nd.fori_loop(0, 500, lambda i, c: c + np.sin(x * i * 0.01), 0.0)

    def plain(x):
        c = 0.0
        for i in range(500):
            c = c + np.sin(x * i * 0.01)
        return c

    assert f(0.7) == pytest.approx(plain(0.7), rel=1e-14)
    assert nd.grad(f)(0.7) == pytest.approx(sum(0.01 * i * np.cos(0.007 * i) for i in range(500)),
                                            rel=1e-12)
    assert nd.fori_loop(2, 5, lambda i, c: c + i, 0) == 9


def test_fori_loop_with_the_index_used_as_an_index():
    xs = np.linspace(0.0, 1.0, 20)

    def f(w):
        return nd.fori_loop(0, 20, lambda i, c: c + w[i] ** 2 * xs[i], 0.0)

    w = np.linspace(1.0, 2.0, 20)
    np.testing.assert_allclose(nd.grad(f)(w), 2 * w * xs, rtol=1e-14)


def test_cond_takes_the_branch_of_each_point():
    f = lambda x: nd.cond(x[0] > 0, lambda v: np.sum(v * v), lambda v: -np.sum(v), x)
    jac = nd.gradient(f)
    np.testing.assert_array_equal(jac(np.array([1.0, 2.0])), [2.0, 4.0])
    np.testing.assert_array_equal(jac(np.array([-1.0, 2.0])), [-1.0, -1.0])
    assert nd.cond(False, lambda a: a + 1, lambda a: a - 1, 1.0) == 0.0
    with pytest.raises(ValueError, match="scalar boolean"):
        nd.grad(lambda x: nd.cond(x > 0, lambda v: v.sum(), lambda v: -v.sum(), x))(np.ones(2))


def test_progress_is_reported_per_pass():
    calls = []

    def f(k):
        final, _ = nd.scan(lambda c, _: (c * k, None), 1.0, length=300,
                           progress=lambda *a: calls.append(a))
        return final

    nd.grad(f)(0.99)
    assert (0, 300, "forward") in calls and (300, 300, "forward") in calls
    assert calls[-2:] == [(0, 300, "reverse"), (300, 300, "reverse")]
    seen = []
    nd.grad(lambda k: nd.while_loop(lambda c: c > 0.5, lambda c: c * k, 1.0,
                                    progress=lambda *a: seen.append(a)))(0.9)
    assert seen[-1] == (7, 7, "reverse")
    grid = np.linspace(0.0, 1.0, 11)
    odeint_calls = []
    nd.grad(lambda a: nd.odeint(lambda y, t, a: -a * y, 1.0, grid, a,
                                progress=lambda *c: odeint_calls.append(c))[-1])(0.5)
    assert odeint_calls[-1] == (10, 10, "reverse")
    with pytest.raises(TypeError, match="progress"):
        nd.scan(lambda c, _: (c, None), 1.0, length=3, progress="yes")


def test_progress_bar_with_tqdm(capsys):
    pytest.importorskip("tqdm")
    nd.grad(lambda k: nd.scan(lambda c, _: (c * k, None), 1.0, length=300,
                              progress=True)[0])(0.99)
    err = capsys.readouterr().err
    assert "nd.scan forward" in err and "nd.scan reverse" in err and "300/300" in err
