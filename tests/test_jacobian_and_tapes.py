"""Jacobians in every mode, tapes and their replays, the replaying adapters' caching
and re-tracing, and the errors of numad's API reference."""
import math
import math as m
import re
from math import exp as math_exp

import numpy as np
import pytest

import numad as nd

# ---------------------------------------------------------------------------------
# Oracles
# ---------------------------------------------------------------------------------


def fd_jacobian(f, x, *args, h=1e-4):
    """Richardson-extrapolated central-difference Jacobian, shaped f(x).shape + x.shape."""
    x = np.asarray(x, dtype=np.float64)
    y0 = np.asarray(f(x, *args), dtype=np.float64)
    J = np.zeros(y0.shape + x.shape)
    cols = J.reshape(y0.size, x.size)
    for j in range(x.size):
        def phi(t):
            z = x.copy()
            z.flat[j] += t
            return np.asarray(f(z, *args), dtype=np.float64).ravel()
        c1 = (phi(h) - phi(-h)) / (2 * h)
        c2 = (phi(h / 2) - phi(-h / 2)) / h
        cols[:, j] = (4 * c2 - c1) / 3
    return J


def f34(x):
    """R^3 -> R^4."""
    return np.stack([x[0] * x[1], np.sin(x[2]) + x[0], np.exp(x[1]) * x[2], x[0] ** 2 - x[2]])


def J34(x):
    return np.array([
        [x[1], x[0], 0.0],
        [1.0, 0.0, np.cos(x[2])],
        [0.0, np.exp(x[1]) * x[2], np.exp(x[1])],
        [2 * x[0], 0.0, -1.0],
    ])


def f42(x):
    """R^4 -> R^2."""
    return np.array([1.0, 0.0]) * np.sum(x ** 2) + np.array([0.0, 1.0]) * np.prod(np.sin(x))


def J42(x):
    s = np.sin(x)
    return np.stack([2 * x, np.array([np.prod(np.delete(s, j)) * np.cos(x[j])
                                       for j in range(4)])])


JAC_CASES = {
    "R3->R4": (f34, J34, np.array([0.3, -0.8, 1.2])),
    "R4->R2": (f42, J42, np.array([0.4, 1.1, -0.6, 2.0])),
}
MODES = ["forward", "reverse", "auto"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(JAC_CASES))
def test_jacobian_modes_against_closed_form_and_fd(case, mode):
    f, J, x = JAC_CASES[case]
    jac = nd.jacobian(f, mode)
    got = jac(x)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    assert got.shape == (np.size(f(x)), x.size)
    np.testing.assert_allclose(got, J(x), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(got, fd_jacobian(f, x), rtol=1e-8, atol=1e-9)
    # a new point: replayed, still right
    x2 = x * 0.7 + 0.1
    np.testing.assert_allclose(jac(x2), J(x2), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("case", list(JAC_CASES))
def test_jacobian_modes_agree(case):
    f, _, x = JAC_CASES[case]
    Js = [nd.jacobian(f, m)(x) for m in MODES]
    for other in Js[1:]:
        np.testing.assert_allclose(other, Js[0], rtol=1e-12, atol=1e-12)
    assert nd.jacobian(f)(x).shape == Js[0].shape  # default mode is "auto"


def test_jacobian_realistic_size_all_modes():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((40, 60)) / 8
    b = rng.standard_normal(40)

    def f(x):
        return np.tanh(W @ x + b) * np.cumsum(x)[:40]

    x = rng.standard_normal(60)
    Jf = nd.jacobian(f, "forward")(x)
    Jr = nd.jacobian(f, "reverse")(x)
    Ja = nd.jacobian(f, "auto")(x)
    assert Jf.shape == (40, 60)
    np.testing.assert_allclose(Jr, Jf, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Ja, Jf, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Jf, fd_jacobian(f, x), rtol=1e-7, atol=1e-8)


def test_jacobian_with_args_and_matrix_output():
    def f(x, A):
        return np.outer(x, x) @ A

    x = np.array([0.5, -1.0, 2.0])
    A = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    for mode in MODES:
        J = nd.jacobian(f, mode)(x, A)
        assert J.shape == (3, 2, 3)
        np.testing.assert_allclose(J, fd_jacobian(f, x, A), rtol=1e-8, atol=1e-9)
        A2 = A * 2.0 - 1.0
        np.testing.assert_allclose(nd.jacobian(f, mode)(x, A2), fd_jacobian(f, x, A2),
                                   rtol=1e-8, atol=1e-9)


def test_jacobian_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        nd.jacobian(f34, "sideways")


# ---------------------------------------------------------------------------------
# Tapes
# ---------------------------------------------------------------------------------


def g(x):
    return np.sum(np.sin(x) * x ** 2) + x[0] * x[1]


def dg(x):
    out = np.cos(x) * x ** 2 + 2 * x * np.sin(x)
    out[0] += x[1]
    out[1] += x[0]
    return out


def test_tape_replays_values_and_gradients_at_new_points():
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal(50)
    tape = nd.trace(g, x0)
    assert isinstance(tape, nd.Tape)
    for _ in range(4):
        x = rng.standard_normal(50)
        assert tape(x) == pytest.approx(g(x), rel=1e-13)
        np.testing.assert_allclose(tape.gradient(x), dg(x), rtol=1e-12, atol=1e-14)
    # and back at the recorded point
    assert tape(x0) == pytest.approx(g(x0), rel=1e-13)


def test_tape_jvp_vjp_jacobian():
    x0 = np.array([0.3, -0.8, 1.2])
    tape = nd.trace(f34, x0)
    x = np.array([1.1, 0.2, -0.5])
    v = np.array([0.5, -1.0, 2.0])
    w = np.array([1.0, -2.0, 0.5, 3.0])
    y, t = tape.jvp(x, v)
    np.testing.assert_allclose(y, f34(x), rtol=1e-14)
    np.testing.assert_allclose(t, J34(x) @ v, rtol=1e-13, atol=1e-14)
    u = tape.vjp(x, w)
    assert u.shape == x.shape
    np.testing.assert_allclose(u, w @ J34(x), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(tape.jacobian(x), J34(x), rtol=1e-13, atol=1e-14)
    for mode in MODES:
        np.testing.assert_allclose(tape.jacobian(x, mode), J34(x), rtol=1e-13, atol=1e-14)


def test_tape_with_several_arguments_gradient_is_by_the_first():
    def f(x, a, s):
        return np.sum(a * x ** 2) * s

    x, a = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    tape = nd.trace(f, x, a, 2.0)
    x2, a2 = np.array([0.5, -1.0]), np.array([2.0, 4.0])
    assert tape(x2, a2, 3.0) == pytest.approx(f(x2, a2, 3.0), rel=1e-14)
    np.testing.assert_allclose(tape.gradient(x2, a2, 3.0), 2 * a2 * x2 * 3.0, rtol=1e-14)


def test_the_printed_tape_shows_one_points_values_after_any_replay():
    # A compiled gradient writes only the inputs' adjoints and the output, and a replay
    # stopped by a changed branch leaves the entries after its guard at the earlier
    # point: the list must not mix two points (closed forms: sin(x) * x entrywise).
    def f(x):
        return np.sum(np.sin(x) * x)

    tape = nd.trace(f, np.array([1.0, 2.0]), compile="always")
    tape(np.array([3.0, 4.0]))
    tape.gradient(np.array([5.0, 6.0]))
    values = [line.rsplit("[", 1)[1].rstrip("]") for line in str(tape).splitlines()[0:3]]
    x = np.array([5.0, 6.0])
    for shown, want in zip(values, (x, np.sin(x), np.sin(x) * x)):
        np.testing.assert_allclose([float(v) for v in shown.split(",")], want, rtol=1e-3)
    assert f"{f(x):.6g}" in str(tape).splitlines()[-1]
    assert f"{np.sin(6.0) * 6.0:.4g}" in tape.to_dot()

    def g(x):
        y = x * 2.0
        return np.sin(y) if y > 1.0 else np.cos(y)

    tape = nd.trace(g, 1.0)
    with pytest.raises(nd.ControlFlowChanged):
        tape(0.1)
    last = str(tape).splitlines()[-1]
    assert "not reached" in last and f"{np.sin(2.0):.6g}" not in last, last


def test_tape_sizes_and_printing():
    x = np.array([0.5, 1.5, -2.0])
    tape = nd.trace(lambda x: np.sum(np.exp(x) * np.sin(x)) + x[0], x)
    n = len(tape)
    assert isinstance(n, int) and n >= 5
    assert isinstance(tape.nbytes, int) and tape.nbytes > 0
    text = str(tape)
    lines = text.splitlines()
    entry_lines = [ln for ln in lines if re.match(r"^\s*v?\d+\b", ln)]
    assert len(entry_lines) == n, text
    assert len(lines) == n, "one line per entry and nothing else"
    # index, operation, inputs and value on every line, in order
    for k, ln in enumerate(entry_lines):
        assert int(re.match(r"^\s*v?(\d+)", ln).group(1)) == k
    ops = " ".join(entry_lines)
    for op in ("input", "exp", "sin", "sum"):
        assert op in ops, (op, text)
    # the output's value is printed on its line (as a number after the last '=')
    last = entry_lines[-1]
    assert float(last.rsplit("=", 1)[1]) == pytest.approx(tape(x), rel=1e-4), text
    # every entry computed from others names its inputs (v<k>, k below its own index)
    for k, ln in enumerate(entry_lines):
        head = ln.split("=", 1)[0]
        refs = [int(r) for r in re.findall(r"v(\d+)", head)][1:]
        if not re.search(r"\b(input|const)\b", head):
            assert refs and all(r < k for r in refs), ln
    # bigger functions make bigger tapes
    big = nd.trace(lambda x: np.sum(np.exp(x) * np.sin(x)) + x[0], np.ones(1000))
    assert len(big) == n and big.nbytes > tape.nbytes


def test_scalar_loop_tape_length_grows_with_the_loop():
    def f(x, n):
        s = 0.0
        for i in range(n):
            s = s + x[i] * x[i + 1]
        return s

    x = np.arange(1.0, 12.0)
    assert len(nd.trace(f, x, 10)) > len(nd.trace(f, x, 5))


def branchy(x):
    if x[0] > 0:
        return np.sum(x ** 2)
    return np.sum(np.sin(x))


def test_control_flow_changed_on_replay():
    assert issubclass(nd.ControlFlowChanged, RuntimeError)
    xp = np.array([1.0, 2.0])
    xn = np.array([-1.0, 2.0])
    tape = nd.trace(branchy, xp)
    assert tape.matches(xp)
    assert tape.matches(np.array([0.5, -3.0]))
    assert not tape.matches(xn)
    with pytest.raises(nd.ControlFlowChanged):
        tape(xn)
    with pytest.raises(RuntimeError):
        tape.gradient(xn)
    with pytest.raises(nd.ControlFlowChanged):
        tape.jvp(xn, np.ones(2))
    with pytest.raises(nd.ControlFlowChanged):
        tape.vjp(xn, 1.0)
    # still usable where the branch holds, with the right answer
    assert tape(np.array([0.5, -3.0])) == pytest.approx(9.25)
    np.testing.assert_allclose(tape.gradient(np.array([0.5, -3.0])), [1.0, -6.0])
    # the tape recorded on the other side
    tn = nd.trace(branchy, xn)
    assert tn.matches(xn) and not tn.matches(xp)
    np.testing.assert_allclose(tn.gradient(xn), np.cos(xn), rtol=1e-14)


@pytest.mark.parametrize("f,x_same,x_flip", [
    (lambda x: max(x[0], x[1]) * 2.0, [2.0, 1.0, 0.0], [1.0, 2.0, 0.0]),
    (lambda x: x[int(x[2])] * 3.0, [1.0, 2.0, 0.4], [1.0, 2.0, 1.4]),
    (lambda x: np.sum(x[: int(x[2] * 2)]), [1.0, 2.0, 0.7], [1.0, 2.0, 1.2]),
    (lambda x: x[0] if abs(x[1]) < 1.0 else x[1], [0.0, 0.5, 0.0], [0.0, -1.5, 0.0]),
], ids=["builtin-max", "int-index", "range-bound", "abs-compare"])
def test_other_branch_decisions_are_guarded(f, x_same, x_flip):
    x0 = np.array(x_same)
    tape = nd.trace(f, x0)
    assert tape.matches(np.array(x_same) + 0.01)
    assert not tape.matches(np.array(x_flip))
    with pytest.raises(nd.ControlFlowChanged):
        tape(np.array(x_flip))


def test_while_loop_is_guarded():
    def f(x):
        y = x
        while y < 10.0:
            y = y * 2.0
        return y

    tape = nd.trace(f, 1.5)        # 1.5 -> 3 -> 6 -> 12: three doublings
    assert tape(1.6) == pytest.approx(12.8)
    assert tape.gradient(1.6) == 8.0
    assert not tape.matches(3.0)   # two doublings there
    with pytest.raises(nd.ControlFlowChanged):
        tape(3.0)


# ---------------------------------------------------------------------------------
# The replaying adapters: args are inputs, settings re-trace, branches re-trace
# ---------------------------------------------------------------------------------


def weighted(x, a):
    return np.sum(a * x ** 2)


def test_gradient_args_are_inputs_not_constants():
    jac = nd.gradient(weighted)
    x = np.array([1.0, -2.0, 0.5])
    a1 = np.array([1.0, 2.0, 3.0])
    a2 = np.array([-4.0, 0.5, 10.0])
    np.testing.assert_allclose(jac(x, a1), 2 * a1 * x, rtol=1e-15)
    np.testing.assert_allclose(jac(x, a2), 2 * a2 * x, rtol=1e-15)
    np.testing.assert_allclose(jac(x * 3, a1), 2 * a1 * x * 3, rtol=1e-15)
    assert jac.cache.traces == 1, "float array args replay the tape; no re-trace"


def test_gradient_float_arg_changes():
    jac = nd.gradient(lambda x, s: s * np.sum(x ** 3))
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(jac(x, 2.0), 2.0 * 3 * x ** 2)
    np.testing.assert_allclose(jac(x, -0.5), -0.5 * 3 * x ** 2)
    assert jac.cache.traces == 1


def test_gradient_int_arg_is_a_setting_that_retraces():
    def f(x, n):
        return np.sum(x ** n) + sum(x[i] for i in range(n))

    jac = nd.gradient(f)
    x = np.array([1.5, -0.5, 2.0, 0.25])

    def expected(x, n):
        out = n * x ** (n - 1)
        out[:n] += 1.0
        return out

    np.testing.assert_allclose(jac(x, 2), expected(x, 2), rtol=1e-14)
    assert jac.cache.traces == 1
    np.testing.assert_allclose(jac(x, 3), expected(x, 3), rtol=1e-14)
    assert jac.cache.traces == 2
    np.testing.assert_allclose(jac(x * 0.5, 2), expected(x * 0.5, 2), rtol=1e-14)
    np.testing.assert_allclose(jac(x, 3), expected(x, 3), rtol=1e-14)
    assert jac.cache.traces in (2, 3)


def test_gradient_string_and_bool_settings():
    def f(x, kind, flip):
        y = np.sum(np.sin(x)) if kind == "sin" else np.sum(np.cos(x))
        return -y if flip else y

    jac = nd.gradient(f)
    x = np.array([0.3, 1.2])
    np.testing.assert_allclose(jac(x, "sin", False), np.cos(x), rtol=1e-15)
    np.testing.assert_allclose(jac(x, "cos", False), -np.sin(x), rtol=1e-15)
    np.testing.assert_allclose(jac(x, "cos", True), np.sin(x), rtol=1e-15)
    np.testing.assert_allclose(jac(x, "sin", True), -np.cos(x), rtol=1e-15)


def test_gradient_retraces_when_a_branch_flips():
    jac = nd.gradient(branchy)
    xp, xn = np.array([1.0, 2.0]), np.array([-1.0, 2.0])
    np.testing.assert_allclose(jac(xp), 2 * xp)
    assert jac.cache.traces == 1
    np.testing.assert_allclose(jac(xp * 3), 2 * xp * 3)
    assert jac.cache.traces == 1
    np.testing.assert_allclose(jac(xn), np.cos(xn), rtol=1e-15)
    assert jac.cache.traces == 2
    np.testing.assert_allclose(jac(xp), 2 * xp)
    assert jac.cache.traces >= 2
    np.testing.assert_allclose(jac(xn * 2), np.cos(xn * 2), rtol=1e-15)


def test_value_and_gradient_and_jacobian_retrace_on_branch_flip():
    vg = nd.value_and_gradient(branchy)
    xp, xn = np.array([1.0, 2.0]), np.array([-1.0, 2.0])
    v, gr = vg(xp)
    assert v == 5.0 and type(v) is float
    np.testing.assert_allclose(gr, 2 * xp)
    v, gr = vg(xn)
    assert v == pytest.approx(np.sum(np.sin(xn)), rel=1e-15)
    np.testing.assert_allclose(gr, np.cos(xn), rtol=1e-15)
    assert vg.cache.traces == 2

    def h(x):
        return x ** 2 if x[0] > 0 else np.sin(x)

    for mode in MODES:
        jac = nd.jacobian(h, mode)
        np.testing.assert_allclose(jac(xp), np.diag(2 * xp))
        np.testing.assert_allclose(jac(xn), np.diag(np.cos(xn)), rtol=1e-15)
        assert jac.cache.traces == 2


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_gradient_with_scipy_minimize():
    from scipy.optimize import minimize, rosen, rosen_der

    x0 = np.full(10, -0.5)
    jac = nd.gradient(rosenbrock)
    np.testing.assert_allclose(jac(x0), rosen_der(x0), rtol=1e-14)
    res = minimize(rosenbrock, x0, jac=jac, method="BFGS")
    assert res.success
    np.testing.assert_allclose(res.x, 1.0, atol=1e-4)
    assert jac.cache.traces == 1
    vg = nd.value_and_gradient(rosenbrock)
    res = minimize(vg, x0, jac=True, method="L-BFGS-B")
    np.testing.assert_allclose(res.x, 1.0, atol=1e-3)
    assert rosen(res.x) == pytest.approx(rosenbrock(res.x))


def test_scipy_rosen_converts_its_argument_and_is_refused_clearly():
    # SciPy's own rosen calls np.asanyarray(x): a traced x would become a constant
    from scipy.optimize import rosen

    with pytest.raises(nd.TracingError, match="np.stack"):
        nd.gradient(rosen)(np.array([0.5, 1.5, -0.3]))


# ---------------------------------------------------------------------------------
# Replays at points where order-dependent operations decide differently
# ---------------------------------------------------------------------------------

_W = np.random.default_rng(5).standard_normal(8)

ORDER_DEPENDENT = {
    "sort": lambda x: np.sum(_W * np.sort(x)),
    "max": lambda x: np.max(x) * 2.0 + np.min(x),
    "max-axis": lambda x: np.sum(_W[:4] * np.max(x.reshape(4, 2), axis=1)),
    "median": lambda x: np.median(x) + np.median(x[:7]),
    "clip": lambda x: np.sum(_W * np.clip(x, -0.5, 0.5)),
    "abs": lambda x: np.sum(_W * np.abs(x)),
    "maximum": lambda x: np.sum(_W * np.maximum(x, x[::-1])),
    "where": lambda x: np.sum(np.where(x > 0, x ** 2, np.sin(x))),
    "norm-inf": lambda x: np.linalg.norm(x, ord=np.inf),
    "mask": lambda x: np.sum(x[x > 0] ** 2),
    "argmax": lambda x: x[np.argmax(x)] * 3.0,
    "builtin-max": lambda x: max(x[0], x[1]) * x[2],
}


def _fd_grad(f, x, h=1e-6):
    out = np.zeros_like(x)
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        out[j] = (f(x + e) - f(x - e)) / (2 * h)
    return out


@pytest.mark.parametrize("name", list(ORDER_DEPENDENT))
def test_replay_where_the_order_changes(name):
    f = ORDER_DEPENDENT[name]
    rng = np.random.default_rng(6)
    x0 = rng.permutation(np.linspace(-1.0, 1.0, 8)) + 0.01
    tape = nd.trace(f, x0)
    vg = nd.value_and_gradient(f)
    for _ in range(5):
        x = rng.permutation(np.linspace(-1.2, 1.1, 8)) + rng.uniform(-0.02, 0.02, 8)
        expected_value, expected_grad = f(x), _fd_grad(f, x)
        if tape.matches(x):
            assert tape(x) == pytest.approx(expected_value, rel=1e-13, abs=1e-14)
            np.testing.assert_allclose(tape.gradient(x), expected_grad, rtol=1e-7, atol=1e-8)
        else:
            with pytest.raises(nd.ControlFlowChanged):
                tape(x)
        # the adapter answers at every point, re-tracing where it must
        v, gr = vg(x)
        assert v == pytest.approx(expected_value, rel=1e-13, abs=1e-14)
        np.testing.assert_allclose(gr, expected_grad, rtol=1e-7, atol=1e-8)


# ---------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------


def vector_valued(x):
    return x ** 2


@pytest.mark.parametrize("make", [
    lambda f: nd.grad(f),
    lambda f: nd.value_and_grad(f),
    lambda f: nd.gradient(f),
    lambda f: nd.value_and_gradient(f),
], ids=["grad", "value_and_grad", "gradient", "value_and_gradient"])
def test_non_scalar_output_is_a_value_error_pointing_to_jacobian(make):
    with pytest.raises(ValueError, match="jacobian"):
        make(vector_valued)(np.array([1.0, 2.0]))


def uses_math_exp(x):
    return math.exp(x[0]) + x[1]


def uses_math_sin_on_scalar(s):
    return math.sin(s) * 2.0


def uses_float(x):
    return float(x[0]) * x[1]


def uses_np_array(x):
    return np.sum(np.array([x[0], x[1]]) ** 2)


def uses_fft(x):
    return np.sum(np.abs(np.fft.fft(x)))


def test_tracing_error_is_a_type_error():
    assert issubclass(nd.TracingError, TypeError)


@pytest.mark.parametrize("transform", [
    lambda f, x: nd.grad(f)(x),
    lambda f, x: nd.gradient(f)(x),
    lambda f, x: nd.trace(f, x),
    lambda f, x: nd.jvp(f, x, np.ones_like(x)),
], ids=["grad", "gradient", "trace", "jvp"])
def test_math_exp_names_itself_and_the_numpy_function(transform):
    with pytest.raises(nd.TracingError) as info:
        transform(uses_math_exp, np.array([0.5, 1.0]))
    msg = str(info.value)
    assert "math.exp" in msg and "np.exp" in msg, msg
    assert isinstance(info.value, TypeError)


def test_math_sin_on_a_scalar():
    with pytest.raises(nd.TracingError) as info:
        nd.grad(uses_math_sin_on_scalar)(0.3)
    assert "math.sin" in str(info.value) and "np.sin" in str(info.value)


def test_float_of_traced_value():
    with pytest.raises(nd.TracingError) as info:
        nd.grad(uses_float)(np.array([0.5, 1.0]))
    assert "float()" in str(info.value)


def test_np_array_of_traced_values():
    # np.array([x[0], x[1]]) records as one traced array (tests/test_numpy_habits.py)
    x = np.array([0.5, 1.0])
    np.testing.assert_array_equal(nd.grad(uses_np_array)(x), 2 * x)


def test_unknown_numpy_function_is_named():
    with pytest.raises(nd.TracingError) as info:
        nd.grad(uses_fft)(np.array([0.5, 1.0, 2.0]))
    assert "fft" in str(info.value), str(info.value)


@pytest.mark.parametrize("f,name", [
    (lambda x: np.sum(np.fft.rfft(x).real), "rfft"),
    (lambda x: np.sum(np.arcsinh(x) + np.spacing(x)), "spacing"),
], ids=["rfft", "spacing"])
def test_other_unknown_functions_are_named(f, name):
    with pytest.raises(nd.TracingError) as info:
        nd.grad(f)(np.array([0.5, 1.0, 2.0]))
    assert name in str(info.value), str(info.value)


def test_item_and_tolist_are_tracing_errors():
    with pytest.raises(nd.TracingError):
        nd.grad(lambda x: x[0].item() * x[1])(np.array([1.0, 2.0]))
    with pytest.raises(nd.TracingError):
        nd.grad(lambda x: sum(x.tolist()))(np.array([1.0, 2.0]))


def test_control_flow_changed_message_names_the_function_and_the_remedy():
    tape = nd.trace(branchy, np.array([1.0, 2.0]))
    with pytest.raises(nd.ControlFlowChanged) as info:
        tape(np.array([-1.0, 2.0]))
    msg = str(info.value)
    assert "branchy" in msg and "trace again" in msg.lower(), msg


# math.* functions, each written literally on the traced line (the form users write).
# The message must name math.<name>, and every np.<x> / nd.<x> it suggests must exist.
MATH_CALLS = {
    "exp": lambda x: math.exp(x[0]),
    "log": lambda x: math.log(x[0]),
    "log1p": lambda x: math.log1p(x[0]),
    "sqrt": lambda x: math.sqrt(x[0]),
    "sin": lambda x: math.sin(x[0]),
    "cos": lambda x: math.cos(x[0]),
    "tanh": lambda x: math.tanh(x[0]),
    "hypot": lambda x: math.hypot(x[0], x[1]),
    "floor": lambda x: math.floor(x[0]) * x[1],
    "ceil": lambda x: math.ceil(x[0]) * x[1],
    "asin": lambda x: math.asin(x[0]),
    "acos": lambda x: math.acos(x[0]),
    "atan": lambda x: math.atan(x[0]),
    "atan2": lambda x: math.atan2(x[0], x[1]),
    "asinh": lambda x: math.asinh(x[0]),
    "atanh": lambda x: math.atanh(x[0]),
    "erf": lambda x: math.erf(x[0]),
    "erfc": lambda x: math.erfc(x[0]),
    "pow": lambda x: math.pow(x[0], 2.0),
    "fabs": lambda x: math.fabs(x[0]),
    "isnan": lambda x: x[1] if math.isnan(x[0]) else x[0],
    "fsum": lambda x: math.fsum([x[0], x[1]]),
    "gamma": lambda x: math.gamma(x[0]),
    "trunc": lambda x: math.trunc(x[0]) * x[1],
}
def _math_param(name):
    return pytest.param(name, id=name)


@pytest.mark.parametrize("name", [_math_param(n) for n in MATH_CALLS])
def test_math_function_messages_name_it_and_suggest_real_replacements(name):
    with pytest.raises(nd.TracingError) as info:
        nd.grad(MATH_CALLS[name])(np.array([0.5, 0.7]))
    msg = str(info.value)
    assert f"math.{name}" in msg, msg
    suggested = re.findall(r"\b(np|nd)\.(\w+)", msg)
    assert suggested, msg
    for mod, attr in suggested:
        assert hasattr(np if mod == "np" else nd, attr), f"{mod}.{attr} suggested in: {msg}"


def uses_imported_exp(x):
    return math_exp(x[0])


def uses_aliased_module(x):
    return m.exp(x[0])


@pytest.mark.parametrize("f", [uses_imported_exp, uses_aliased_module],
                         ids=["from-math-import", "import-math-as"])
def test_math_function_under_another_name_is_still_named(f):
    with pytest.raises(nd.TracingError) as info:
        nd.grad(f)(np.array([0.5, 0.7]))
    assert "exp" in str(info.value) and "np.exp" in str(info.value), str(info.value)


def test_to_dot_draws_every_entry_and_every_operand():
    import re
    tape = nd.trace(lambda a, b, c: (a + b) * np.log(b + c), 1.0, 2.0, 3.0)
    text = tape.to_dot()
    nodes = dict(re.findall(r'^  (v\d+) \[label="([^"]*)"', text, flags=re.M))
    edges = re.findall(r"^  (v\d+) -> (v\d+);$", text, flags=re.M)
    assert text.startswith('digraph "<lambda>" {') and text.rstrip().endswith("}")
    assert len(nodes) == len(tape) == 7
    # (a + b) * log(b + c): b feeds two additions
    assert sorted(edges) == sorted([("v0", "v3"), ("v1", "v3"), ("v1", "v4"), ("v2", "v4"),
                                    ("v4", "v5"), ("v3", "v6"), ("v5", "v6")])
    assert nodes["v5"] == r"v5 log\n1.60944"
    assert "v6 [label=" in text and "peripheries=2" in text.split("v6 [label=")[1].split("\n")[0]
    # names with quotes and backslashes stay one DOT string
    tape.name = 'my "f"\\'
    assert tape.to_dot().splitlines()[0] == r'digraph "my \"f\"\\" {'


def test_tape_vjp_and_jvp_refuse_a_misshapen_cotangent_or_direction():
    # NumPy would broadcast w = 1.0 or w of shape (3, 1) into a plausible, wrong number
    x = np.array([1.0, 2.0, 3.0])
    tape = nd.trace(lambda x: x ** 2, x)
    np.testing.assert_array_equal(tape.vjp(x, np.array([1.0, 0.0, 2.0])), [2.0, 0.0, 12.0])
    for w in (1.0, np.ones(2), np.ones((3, 1))):
        with pytest.raises(ValueError, match="tape.vjp: w has .* give a cotangent shaped"):
            tape.vjp(x, w)
    scalar = nd.trace(lambda x: np.sum(x * x), x)
    assert scalar.jvp(x, np.ones(3)) == (14.0, 12.0)        # 2 * (1 + 2 + 3)
    with pytest.raises(ValueError, match="tape.jvp: v has .* give a direction shaped"):
        scalar.jvp(x, np.ones(2))


def _chain(x):
    out = []
    for i in range(len(x) - 1):
        out.append(nd.sin(x[i]) * x[i + 1] ** 2 + nd.exp(-x[i]))
    return nd.stack(out)


def _chain_jacobian(x):
    J = np.zeros((len(x) - 1, len(x)))
    for i in range(len(x) - 1):
        J[i, i] = np.cos(x[i]) * x[i + 1] ** 2 - np.exp(-x[i])
        J[i, i + 1] = 2 * np.sin(x[i]) * x[i + 1]
    return J


@pytest.mark.parametrize("compile", ["always", "auto", "never"])
def test_compiled_reverse_jacobian_is_the_closed_form(compile, tmp_path, monkeypatch):
    monkeypatch.setenv("NUMAD_CACHE_DIR", str(tmp_path))
    jac = nd.jacobian(_chain, mode="reverse", compile=compile)
    for x in (np.linspace(0.1, 1.3, 9), np.linspace(-2.0, 0.5, 9)):
        np.testing.assert_allclose(jac(x), _chain_jacobian(x), rtol=1e-14, atol=1e-15)
    (tape,) = [t for ts in jac.cache.tapes.values() for t in ts]
    assert (tape.compiled_vjp is not None) == (compile == "always")


def test_a_compiled_jacobian_row_that_meets_an_inf_takes_the_generic_rule():
    # row 1 multiplies an overflowed exp by a zero adjoint (min takes the constant):
    # the compiled row's plain product would be nan; the generic sweeps add exactly 0
    def f(x):
        big = nd.exp(x[0] * 1000.0)
        return nd.stack([x[0] * x[1], nd.minimum(2.0, big) + x[1], x[1] ** 2])

    x = np.array([1.0, 3.0])
    jac = nd.jacobian(f, mode="reverse", compile="always")
    J = jac(x)
    (tape,) = [t for ts in jac.cache.tapes.values() for t in ts]
    assert tape.compiled_vjp is not None
    np.testing.assert_array_equal(J, [[3.0, 1.0], [0.0, 1.0], [0.0, 6.0]])
    np.testing.assert_array_equal(J, nd.jacobian(f, mode="reverse", compile="never")(x))


def test_an_integer_array_traced_as_the_first_argument_is_an_input():
    # as nd.grad takes it: the tape differentiates it (d/dx sum(x^2) = 2x) and replays
    # at float points (it was a setting: gradient None, and a float point refused)
    tape = nd.trace(lambda x: np.sum(x ** 2), np.arange(3))
    np.testing.assert_allclose(tape.gradient(np.arange(3)), [0.0, 2.0, 4.0])
    assert tape(np.array([0.5, 1.5, 2.5])) == pytest.approx(8.75)
    assert tape.gradient(np.arange(3)).dtype == np.float64


def test_a_tapes_jvp_vjp_and_jacobian_take_new_keyword_values():
    # closed form: d/dx (s sin x) = s cos x
    def h(x, s=1.0):
        return s * np.sin(x)
    x = np.array([1.0, 2.0])
    tape = nd.trace(h, x, s=2.0)
    y, jv = tape.jvp(x, np.ones(2), s=5.0)
    np.testing.assert_allclose(y, 5.0 * np.sin(x))
    np.testing.assert_allclose(jv, 5.0 * np.cos(x))
    np.testing.assert_allclose(tape.vjp(x, np.ones(2), s=5.0), 5.0 * np.cos(x))
    np.testing.assert_allclose(tape.jacobian(x, s=3.0), np.diag(3.0 * np.cos(x)))
    np.testing.assert_allclose(tape.jacobian(x), np.diag(2.0 * np.cos(x)))


def test_a_scan_entry_lists_what_it_reads_and_its_step_inputs_are_named():
    tape = nd.trace(lambda x: nd.scan(lambda c, a: (c * a, None), x[0], x[1:])[0],
                    np.array([1.0, 2.0, 3.0]))
    lines = str(tape).splitlines()
    scan = next(line for line in lines if " scan " in line)
    assert "v1, v2" in scan, scan
    assert any("step carry" in line for line in lines) and any("step row" in line
                                                              for line in lines)
    assert "v1 -> v7;" in tape.to_dot() and "v2 -> v7;" in tape.to_dot()
