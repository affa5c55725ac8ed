"""nd.scan, its checkpoint strategies, and nd.odeint, against independent oracles: plain
Python loops for values, the complex-step derivative of the same discretisation written
in NumPy, and finite differences for second derivatives."""
import math

import numpy as np
import pytest

import numad as nd
from numad.checkpoint import binomial_advances

STRATEGIES = [("store_all", None), ("recompute_all", None), ("uniform", None),
              ("uniform", 3), ("binomial", 1), ("binomial", 2), ("binomial", 5),
              ("auto", None)]
P0 = np.array([1.0, 0.6, 0.4, 0.8])


# ---- a Lotka-Volterra RK4 loss, in numad and in complex-capable NumPy ------------------------

def _lv(y, p):
    return nd.stack([p[0] * y[0] - p[1] * y[0] * y[1], p[2] * y[0] * y[1] - p[3] * y[1]])


def _rk4(f, y, h):
    k1 = f(y)
    k2 = f(y + 0.5 * h * k1)
    k3 = f(y + 0.5 * h * k2)
    k4 = f(y + h * k3)
    return y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def lv_loss(p, data, h, checkpoint="auto", snapshots=None):
    def step(y, target):
        y = _rk4(lambda z: _lv(z, p), y, h)
        return y, np.sum((y - target) ** 2)
    _, terms = nd.scan(step, np.array([1.0, 0.5]), data, checkpoint=checkpoint,
                       snapshots=snapshots)
    return np.sum(terms)


def lv_loss_numpy(p, data, h):
    """The same discretisation with plain NumPy: complex numbers pass through."""
    def f(y):
        return np.array([p[0] * y[0] - p[1] * y[0] * y[1], p[2] * y[0] * y[1] - p[3] * y[1]])
    y = np.array([1.0, 0.5], dtype=p.dtype)
    total = 0.0
    for target in data:
        y = _rk4(f, y, h)
        total = total + np.sum((y - target) ** 2)
    return total


def complex_step_gradient(f, x, h=1e-30):
    return np.array([f(x + 1j * h * e).imag / h for e in np.eye(len(x))])


def lv_data(steps, seed=0):
    rng = np.random.default_rng(seed)
    return 1.0 + 0.3 * rng.normal(size=(steps, 2))


@pytest.mark.parametrize("steps", [1, 2, 7, 13, 31, 97])
@pytest.mark.parametrize("strategy,snapshots", STRATEGIES)
def test_lotka_volterra_gradient_against_complex_step(steps, strategy, snapshots):
    data = lv_data(steps)
    expected = complex_step_gradient(lambda p: lv_loss_numpy(p, data, 0.05), P0)
    got = nd.gradient(lambda p: lv_loss(p, data, 0.05, strategy, snapshots))(P0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    value = nd.value_and_gradient(lambda p: lv_loss(p, data, 0.05, strategy, snapshots))(P0)[0]
    assert value == pytest.approx(lv_loss_numpy(P0, data, 0.05), rel=1e-13)


def test_strategies_agree_to_1e_12_on_a_long_loop():
    data = lv_data(1009)  # a prime number of steps
    grads = [nd.gradient(lambda p: lv_loss(p, data, 0.01, s, k))(P0) for s, k in STRATEGIES]
    for g in grads[1:]:
        np.testing.assert_allclose(g, grads[0], rtol=1e-12)


def test_the_loop_runs_the_schedule_that_checkpoint_schedule_describes():
    data = lv_data(50)
    tape = nd.trace(lambda p: lv_loss(p, data, 0.05, "binomial", 4), P0)
    (run,) = tape.loops
    schedule = nd.checkpoint_schedule(50, 4, "binomial")
    assert np.array_equal(run.schedule.actions, schedule.actions)
    assert schedule.forward_steps == binomial_advances(50, 4) + 50
    t = next(t for t in range(50) if math.comb(4 + t, 4) >= 50)
    assert binomial_advances(50, 4) == t * 50 - math.comb(4 + t, t - 1)
    tape.gradient(P0)   # (the buffers are allocated at the first sweep)
    # (a compiled step keeps input carries only, and records the schedule's leaves
    # whole: checkpoint_schedule's carries_only; the step compiles where its code is
    # in the cache already)
    compiled = run.step is not None
    assert np.array_equal(run.schedule.actions, nd.checkpoint_schedule(
        50, 4, "binomial", carries_only=compiled).actions)
    recorded = run.rec_carry if compiled else run.rec_vals
    assert run.snaps.shape[0] <= 4 and recorded.shape[0] == (5 if compiled else 1)


def test_auto_takes_as_many_snapshots_as_the_memory_budget_holds():
    data = lv_data(200)
    old = nd.config.memory_budget
    try:
        nd.config.memory_budget = (16 + 48) * 10  # ten slots for a 2-float carry
        tape = nd.trace(lambda p: lv_loss(p, data, 0.05), P0)
        assert tape.loops[0].schedule.snapshots == 10
        expected = complex_step_gradient(lambda p: lv_loss_numpy(p, data, 0.05), P0)
        np.testing.assert_allclose(tape.gradient(P0), expected, rtol=1e-12)
    finally:
        nd.config.memory_budget = old
    with pytest.raises(ValueError, match="memory_budget"):
        nd.config.memory_budget = 0


# ---- values: scan means what jax.lax.scan means ------------------------------------------------

def python_scan(step, init, xs, length=None):
    carry, ys = init, []
    for k in range(length if xs is None else len(xs)):
        carry, y = step(carry, None if xs is None else xs[k])
        ys.append(y)
    return carry, ys


def test_values_match_a_python_loop_scalar_and_array_carries():
    xs = np.linspace(0.0, 1.0, 11)

    def step(c, x):
        return 0.9 * c + np.sin(x), c * x
    carry, ys = nd.scan(step, 1.0, xs)
    ref_c, ref_ys = python_scan(step, 1.0, xs)
    assert carry == pytest.approx(ref_c, rel=1e-15)
    np.testing.assert_allclose(ys, ref_ys, rtol=1e-15)

    def vstep(c, x):
        return np.tanh(c + x), np.sum(c)
    X = np.arange(12.0).reshape(4, 3) / 10
    carry, ys = nd.scan(vstep, np.ones(3), X)
    ref_c, ref_ys = python_scan(vstep, np.ones(3), X)
    np.testing.assert_allclose(carry, ref_c, rtol=1e-15)
    np.testing.assert_allclose(ys, ref_ys, rtol=1e-15)
    assert isinstance(carry, np.ndarray) and ys.shape == (4,)


def test_pytree_carries_xs_and_outputs():
    def step(carry, x):
        pos, vel = carry["pos"], carry["vel"]
        vel = vel - 0.1 * pos * x["k"]
        pos = pos + 0.1 * vel
        return {"pos": pos, "vel": vel}, (pos, vel * x["w"])

    xs = {"k": np.full(6, 2.0), "w": np.linspace(1.0, 2.0, 6)}
    init = {"pos": np.array([1.0, 0.0]), "vel": np.array([0.0, 1.0])}
    carry, (ps, vs) = nd.scan(step, init, xs)
    ref_c, ref_ys = python_scan(step, init, [{"k": 2.0, "w": w} for w in xs["w"]])
    np.testing.assert_allclose(carry["pos"], ref_c["pos"], rtol=1e-14)
    np.testing.assert_allclose(ps, [y[0] for y in ref_ys], rtol=1e-14)
    assert vs.shape == (6, 2)

    def energy(init_pos):
        c, (ps, vs) = nd.scan(step, {"pos": init_pos, "vel": np.array([0.0, 1.0])}, xs)
        return np.sum(c["pos"] ** 2) + np.sum(ps * vs)

    def energy_np(init_pos):
        c, ys = python_scan(step, {"pos": init_pos, "vel": np.array([0.0, 1.0])},
                            [{"k": 2.0, "w": w} for w in xs["w"]])
        return np.sum(c["pos"] ** 2) + sum(np.sum(p * v) for p, v in ys)
    x0 = np.array([1.0, 0.3])
    np.testing.assert_allclose(nd.grad(energy)(x0), complex_step_gradient(energy_np, x0),
                               rtol=1e-13)


def test_length_without_xs_and_outputs_none():
    carry, ys = nd.scan(lambda c, _: (c * 1.5, None), 2.0, length=4)
    assert carry == pytest.approx(2.0 * 1.5 ** 4) and ys is None
    g = nd.grad(lambda a: nd.scan(lambda c, _: (c * a, None), 2.0, length=5)[0])(1.5)
    assert g == pytest.approx(2.0 * 5 * 1.5 ** 4, rel=1e-14)


# ---- derivatives through what the step closes over, and composition ----------------------------

def test_derivatives_flow_to_closed_over_values_xs_and_init():
    def f(a, xs, c0):
        def step(c, x):
            return c * a + x ** 2, None
        return nd.scan(step, c0, xs)[0]

    def f_np(a, xs, c0):
        c = c0
        for x in xs:
            c = c * a + x ** 2
        return c
    a, xs, c0 = 0.9, np.array([0.5, -1.0, 2.0, 0.25]), 1.5
    ga, gxs, gc = nd.grad(f, argnums=(0, 1, 2))(a, xs, c0)
    assert ga == pytest.approx((f_np(a + 1e-30j, xs, c0)).imag / 1e-30, rel=1e-14)
    np.testing.assert_allclose(gxs, complex_step_gradient(lambda v: f_np(a, v, c0), xs),
                               rtol=1e-14)
    assert gc == pytest.approx(a ** 4, rel=1e-14)


def test_jacobian_forward_and_reverse_and_a_second_reverse_at_one_point():
    data = lv_data(20)

    def final_state(p):
        def step(y, _):
            return _rk4(lambda z: _lv(z, p), y, 0.05), y[0]
        c, ys = nd.scan(step, np.array([1.0, 0.5]), data, checkpoint="binomial", snapshots=3)
        return np.concatenate([c, ys[-3:]])

    def final_state_np(p):
        y = np.array([1.0, 0.5], dtype=p.dtype)
        firsts = []
        for _ in range(20):
            firsts.append(y[0])
            y = _rk4(lambda z: np.array([p[0] * z[0] - p[1] * z[0] * z[1],
                                         p[2] * z[0] * z[1] - p[3] * z[1]]), y, 0.05)
        return np.concatenate([y, firsts[-3:]])
    expected = np.array([final_state_np(P0 + 1e-30j * e).imag / 1e-30 for e in np.eye(4)]).T
    # reverse mode sweeps the loop backwards once per output: the schedule's snapshots
    # must be taken again after the first reverse changed them
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(nd.jacobian(final_state, mode=mode)(P0), expected,
                                   rtol=1e-12, atol=1e-15)
    y, back = nd.vjp(final_state, P0)
    w = np.arange(1.0, 6.0)
    np.testing.assert_allclose(back(w), w @ expected, rtol=1e-12)
    np.testing.assert_allclose(back(w), w @ expected, rtol=1e-12)  # twice at one point
    np.testing.assert_allclose(nd.jvp(final_state, P0, np.ones(4))[1], expected.sum(axis=1),
                               rtol=1e-12)


@pytest.mark.parametrize("strategy", ["store_all", "binomial"])
def test_hvp_and_hessian_through_a_loop(strategy):
    data = lv_data(15)

    def loss(p):
        return lv_loss(p, data, 0.05, strategy, 2)
    g = nd.gradient(loss)
    H_fd = np.array([(g(P0 + 1e-5 * e) - g(P0 - 1e-5 * e)) / 2e-5 for e in np.eye(4)])
    H = nd.hessian(loss)(P0)
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-6 * np.abs(H).max())
    v = np.array([0.3, -1.0, 0.5, 2.0])
    np.testing.assert_allclose(nd.hvp(loss)(P0, v), H @ v, rtol=1e-10)
    assert nd.grad(nd.grad(lambda a: lv_loss(P0 * a, data, 0.05, strategy, 2)))(1.0) == \
        pytest.approx(P0 @ H @ P0, rel=1e-10)


def test_a_scan_inside_a_scan_step():
    def f(a):
        def outer(c, _):
            inner, _ = nd.scan(lambda d, _: (d * a + 1.0, None), c, length=3)
            return inner, None
        return nd.scan(outer, 0.5, length=4)[0]

    def f_np(a):
        c = 0.5
        for _ in range(12):
            c = c * a + 1.0
        return c
    assert f(0.8) == pytest.approx(f_np(0.8), rel=1e-15)
    assert nd.grad(f)(0.8) == pytest.approx(f_np(0.8 + 1e-30j).imag / 1e-30, rel=1e-14)


# ---- never a wrong answer ---------------------------------------------------------------------

def test_a_step_whose_branch_changes_between_steps_is_still_right():
    def step(c, x):
        c = c * x if c < 3.0 else c - x  # the branch flips after a few steps
        return c, c

    def f(x):
        c, ys = nd.scan(step, 1.0, x)
        return c + np.sum(ys)

    def f_np(x):
        c, total = 1.0, 0.0
        for v in x:
            c = c * v if c.real < 3.0 else c - v
            total = total + c
        return c + total
    xs = np.array([1.5, 1.5, 1.5, 1.5, 0.5, 0.25])
    assert f(xs) == pytest.approx(f_np(xs))
    np.testing.assert_allclose(nd.grad(f)(xs), complex_step_gradient(f_np, xs), rtol=1e-14)
    # and a replayed tape re-traces where the branches fall differently
    g = nd.gradient(f)
    for x in (xs, xs * 0.9, np.full(6, 1.1), xs):
        np.testing.assert_allclose(g(x), complex_step_gradient(f_np, x), rtol=1e-14)


def test_a_value_leaked_out_of_the_step_is_refused():
    kept = []

    def f(a):
        def step(c, _):
            kept.append(c * a)
            return c * a, None
        c, _ = nd.scan(step, 1.0, length=3)
        return c + kept[0]
    with pytest.raises(nd.TracingError, match="used after the loop"):
        nd.grad(f)(2.0)


def test_bad_steps_and_arguments_are_clear_errors():
    with pytest.raises(TypeError, match="pair"):
        nd.scan(lambda c, x: c + x, 0.0, np.ones(3))
    with pytest.raises(TypeError, match="shape"):
        nd.scan(lambda c, x: (np.ones(2) * c, None), 0.0, np.ones(3))
    with pytest.raises(ValueError, match="strategies"):
        nd.scan(lambda c, x: (c, None), 0.0, np.ones(3), checkpoint="sometimes")
    with pytest.raises(ValueError, match="xs or length"):
        nd.scan(lambda c, x: (c, None), 0.0)
    with pytest.raises(ValueError, match="rows"):
        nd.scan(lambda c, x: (c, None), 0.0, np.ones(3), length=4)


# ---- odeint --------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,order", [("euler", 1), ("rk4", 4)])
def test_odeint_converges_at_its_order(method, order):
    def rhs(y, t, k):
        return -k * y + np.cos(t)

    def exact(t, k=2.0):
        # y' = -k y + cos t, y(0) = 1
        a = k / (1 + k ** 2)
        b = 1 / (1 + k ** 2)
        return (1 - a) * np.exp(-k * t) + a * np.cos(t) + b * np.sin(t)
    errors = []
    for n in (40, 80):
        t = np.linspace(0.0, 2.0, 11)
        Y = nd.odeint(rhs, np.array([1.0]), t, 2.0, method=method, substeps=n // 10)
        assert Y.shape == (11, 1)
        errors.append(np.max(np.abs(Y[:, 0] - exact(t))))
    assert np.log2(errors[0] / errors[1]) == pytest.approx(order, abs=0.2)


@pytest.mark.parametrize("checkpoint", ["store_all", "uniform", "binomial", "auto"])
def test_odeint_derivatives_against_complex_step(checkpoint):
    t = np.linspace(0.0, 3.0, 16)

    def rhs(y, t, p):
        return _lv(y, p)

    def loss(y0, p):
        Y = nd.odeint(rhs, y0, t, p, substeps=3, checkpoint=checkpoint, snapshots=4)
        return np.sum(Y ** 2)

    def loss_np(y0, p):
        f = lambda y: np.array([p[0] * y[0] - p[1] * y[0] * y[1],  # noqa: E731
                                p[2] * y[0] * y[1] - p[3] * y[1]])
        y = y0
        total = np.sum(y ** 2)
        for k in range(15):
            h = (t[k + 1] - t[k]) / 3
            for _ in range(3):
                y = _rk4(f, y, h)
            total = total + np.sum(y ** 2)
        return total
    y0 = np.array([1.0, 0.5])
    gy, gp = nd.grad(loss, argnums=(0, 1))(y0, P0)
    np.testing.assert_allclose(gy, complex_step_gradient(lambda v: loss_np(v, P0), y0),
                               rtol=1e-12)
    np.testing.assert_allclose(gp, complex_step_gradient(lambda v: loss_np(y0, v), P0),
                               rtol=1e-12)


def test_odeint_argument_errors():
    rhs = lambda y, t: -y  # noqa: E731
    with pytest.raises(ValueError, match="methods"):
        nd.odeint(rhs, np.ones(1), np.linspace(0, 1, 3), method="rk45")
    with pytest.raises(ValueError, match="substeps"):
        nd.odeint(rhs, np.ones(1), np.linspace(0, 1, 3), substeps=0)
    Y = nd.odeint(rhs, np.ones(2), np.array([0.0]))
    assert Y.shape == (1, 2)


def test_odeint_with_a_traced_time_grid():
    # the adapters trace every float argument: a grid passed through args is traced
    def final(k, t):
        return nd.odeint(lambda y, t, k: -k[0] * y, np.array([1.0]), t, k, substeps=20)[-1, 0]
    t = np.linspace(0.0, 1.0, 11)
    g = nd.gradient(final)(np.array([2.0]), t)
    assert g[0] == pytest.approx(-np.exp(-2.0), rel=1e-8)
    # and with respect to the end time: y(T) = exp(-k T), dy/dT = -k y
    dT = nd.grad(lambda T: final(np.array([2.0]), np.linspace(0.0, 1.0, 11) * T))(1.0)
    assert dT == pytest.approx(-2.0 * np.exp(-2.0), rel=1e-8)


def test_a_loop_of_no_steps():
    carry, ys = nd.scan(lambda c, x: (c + x, (2.0 * c, np.ones(3) * x)), 1.5, np.zeros(0))
    assert carry == 1.5 and ys[0].shape == (0,) and ys[1].shape == (0, 3)
    assert nd.grad(lambda a: nd.scan(lambda c, _: (c * a, None), a, length=0)[0])(2.0) == 1.0


def test_odeint_rhs_may_return_a_list():
    def rhs_list(y, t, k):
        return [-k * y[0] + y[1], -y[1] * 0.5 + 0.0 * t]

    def rhs_array(y, t, k):
        return nd.stack([-k * y[0] + y[1], -y[1] * 0.5 + 0.0 * t])
    t = np.linspace(0.0, 2.0, 9)
    y0 = np.array([1.0, 2.0])
    np.testing.assert_allclose(nd.odeint(rhs_list, y0, t, 1.5), nd.odeint(rhs_array, y0, t, 1.5),
                               rtol=1e-15)
    g1 = nd.grad(lambda k: np.sum(nd.odeint(rhs_list, y0, t, k)))(1.5)
    g2 = nd.grad(lambda k: np.sum(nd.odeint(rhs_array, y0, t, k)))(1.5)
    assert g1 == pytest.approx(g2, rel=1e-14)
