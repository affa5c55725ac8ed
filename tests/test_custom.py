"""Derivative rules of the user's own: nd.custom_vjp, nd.custom_jvp, nd.primitive.

Oracles: closed forms and finite differences. Functions whose bodies numad cannot trace
(``math`` on floats, ``scipy.optimize.brentq``) show that the rule, and only the rule,
gives the derivative; a rule that is deliberately "wrong" (twice the true derivative)
shows that it replaces differentiation through the body in every transformation, as
in JAX.
"""
import math
import threading

import numpy as np
import pytest
from numba import njit
from scipy.optimize import brentq

import numad as nd


def fd(f, x, h=1e-6):
    """Central differences of f (float or array valued) at x, one column per input."""
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        cols.append((np.asarray(f((x.ravel() + e).reshape(x.shape)))
                     - np.asarray(f((x.ravel() - e).reshape(x.shape)))) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(cols[0]) + x.shape)


# ---- a function numad cannot trace, with a vjp rule: sin by math on floats ---------------

@nd.custom_vjp
def msin(x):
    return np.array([math.sin(v) for v in np.ravel(x)]).reshape(np.shape(x))


def _msin_fwd(x):
    return msin(x), np.cos(x)


def _msin_bwd(cos_x, g):
    return (g * cos_x,)


msin.defvjp(_msin_fwd, _msin_bwd)


def loss_msin(x):
    return np.sum(msin(x) ** 2 * x)


def loss_msin_exact(x):
    return np.sum(np.sin(x) ** 2 * x)


X = np.array([0.3, -0.7, 1.1, 2.0])


def test_custom_vjp_grad_and_cached_replays_match_closed_form():
    exact = nd.grad(loss_msin_exact)
    assert np.allclose(nd.grad(loss_msin)(X), exact(X), rtol=1e-13)
    g = nd.gradient(loss_msin)
    for x in (X, X + 0.25, X * -1.5):
        assert np.allclose(g(x), 2 * np.sin(x) * np.cos(x) * x + np.sin(x) ** 2, rtol=1e-12)
    # replays at new points use the tape, not a new trace
    assert g.cache.traces == 1
    v, gr = nd.value_and_gradient(loss_msin)(X)
    assert np.isclose(v, loss_msin_exact(X))


def test_custom_vjp_replay_runs_fwd_at_the_new_point():
    calls = []

    @nd.custom_vjp
    def f(x):
        return np.exp(x)

    def fwd(x):
        calls.append(float(np.sum(x)))
        y = np.exp(x)
        return y, y

    f.defvjp(fwd, lambda y, g: (g * y,))
    g = nd.gradient(lambda x: np.sum(f(x)))
    g(X)
    n = len(calls)
    assert np.allclose(g(X + 1.0), np.exp(X + 1.0))
    assert len(calls) > n and np.isclose(calls[-1], np.sum(X + 1.0))


def test_custom_vjp_both_jacobian_modes_jvp_vjp_and_dual():
    def f(x):
        return msin(x) * x

    J = np.diag(np.cos(X) * X + np.sin(X))
    assert np.allclose(nd.jacobian(f, mode="reverse")(X), J, rtol=1e-12)
    assert np.allclose(nd.jacobian(f, mode="forward")(X), J, rtol=1e-12)
    v = np.array([1.0, -2.0, 0.5, 3.0])
    assert np.allclose(nd.jvp(f, X, v)[1], J @ v, rtol=1e-12)
    assert np.allclose(nd.vjp(f, X)[1](v), v @ J, rtol=1e-12)
    d = msin(nd.Dual(X, v))
    assert np.allclose(d.tangent, np.cos(X) * v)
    d2 = msin(nd.Dual(0.4, np.array([1.0, 2.0])))      # two directions at once
    assert np.allclose(d2.tangent, np.cos(0.4) * np.array([1.0, 2.0]))


def test_custom_vjp_hessian_differentiates_the_rule():
    # fwd and bwd are NumPy code, so the second derivative comes from them
    H = nd.hessian(loss_msin)(X)
    H_exact = fd(nd.grad(loss_msin_exact), X)
    assert np.allclose(H, H_exact, rtol=1e-6, atol=1e-8)
    p = np.array([0.3, 1.0, -1.0, 2.0])
    assert np.allclose(nd.hvp(loss_msin)(X, p), H_exact @ p, rtol=1e-6, atol=1e-8)
    gg = nd.grad(lambda x: nd.grad(lambda y: msin(y) * y)(x))(0.8)
    assert np.isclose(gg, -np.sin(0.8) * 0.8 + 2 * np.cos(0.8), rtol=1e-12)


def test_the_rule_replaces_differentiation_in_every_mode():
    @nd.custom_vjp
    def double_slope(x):
        return x * 1.0

    double_slope.defvjp(lambda x: (x * 1.0, None), lambda _, g: (2.0 * g,))

    @nd.custom_jvp
    def triple_slope(x):
        return x * 1.0

    triple_slope.defjvp(lambda p, t: (p[0] * 1.0, 3.0 * t[0]))
    x = np.array([0.5, 1.5])
    for fn, k in ((double_slope, 2.0), (triple_slope, 3.0)):
        def total(y, fn=fn):
            return np.sum(fn(y) ** 2) / 2
        expect = k * x
        assert np.allclose(nd.grad(total)(x), expect)
        assert np.allclose(nd.gradient(total)(x), expect)
        assert np.allclose(nd.jacobian(fn, mode="forward")(x), k * np.eye(2))
        assert np.allclose(nd.jacobian(fn, mode="reverse")(x), k * np.eye(2))
        assert np.allclose(fn(nd.Dual(x, 1.0)).tangent, k)
        # the gradient k * fn(y) is differentiated by the rule again: k * k
        assert np.allclose(nd.hessian(total)(x), k * k * np.eye(2))


def test_custom_vjp_inside_scan_and_odeint():
    def step(c, _):
        return c + 0.1 * msin(c), c

    def loss(c0):
        final, ys = nd.scan(step, c0, length=20)
        return np.sum(final ** 2) + np.sum(ys)

    def exact(c0):
        c, total = c0, 0.0
        for _ in range(20):
            total = total + np.sum(c)
            c = c + 0.1 * np.sin(c)
        return np.sum(c ** 2) + total

    c0 = np.array([0.2, 1.0])
    assert np.allclose(nd.grad(loss)(c0), nd.grad(exact)(c0), rtol=1e-12)
    g = nd.gradient(loss)
    assert np.allclose(g(c0 * 2), nd.grad(exact)(c0 * 2), rtol=1e-12)


# ---- custom_jvp ---------------------------------------------------------------------------

@nd.custom_jvp
def mlog1pexp(x):
    return np.array([math.log1p(math.exp(v)) for v in np.ravel(x)]).reshape(np.shape(x))


@mlog1pexp.defjvp
def _mlog1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return mlog1pexp(x), t / (1.0 + np.exp(-x))


def test_custom_jvp_all_modes_against_closed_form():
    def loss(x):
        return np.sum(mlog1pexp(x) * x)

    sig = 1 / (1 + np.exp(-X))
    expect = sig * X + np.log1p(np.exp(X))
    assert np.allclose(nd.grad(loss)(X), expect, rtol=1e-12)
    assert np.allclose(nd.gradient(loss)(X), expect, rtol=1e-12)
    assert np.allclose(nd.jacobian(mlog1pexp, mode="forward")(X), np.diag(sig), rtol=1e-12)
    assert np.allclose(nd.jacobian(mlog1pexp, mode="reverse")(X), np.diag(sig), rtol=1e-12)
    assert np.allclose(mlog1pexp(nd.Dual(X, 1.0)).tangent, sig)
    H = nd.hessian(loss)(X)
    assert np.allclose(H, fd(nd.grad(lambda x: np.sum(np.logaddexp(0.0, x) * x)), X),
                       rtol=1e-6, atol=1e-8)


def test_custom_jvp_defjvps_and_two_arguments():
    @nd.custom_jvp
    def f(x, y):
        return np.sin(x) * y

    f.defjvps(lambda t, out, x, y: np.cos(x) * y * t, lambda t, out, x, y: np.sin(x) * t)
    gx, gy = nd.grad(lambda x, y: f(x, y) ** 2, argnums=(0, 1))(0.7, 1.3)
    assert np.isclose(gx, 2 * np.sin(0.7) * 1.3 * np.cos(0.7) * 1.3)
    assert np.isclose(gy, 2 * np.sin(0.7) * 1.3 * np.sin(0.7))


# ---- primitive ----------------------------------------------------------------------------

@njit(cache=True)
def _softclip(x, c):
    return c * np.tanh(x / c)


def test_primitive_with_njit_forward_and_broadcasting():
    softclip = nd.primitive(
        "softclip", _softclip,
        vjp=lambda g, out, x, c: (g * (1 - (out / c) ** 2),
                                  g * (out / c - x / c * (1 - (out / c) ** 2))),
        jvp=lambda t, out, x, c: t[0] * (1 - (out / c) ** 2)
        + t[1] * (out / c - x / c * (1 - (out / c) ** 2)))
    x = np.array([[0.5, -1.0, 2.0], [0.1, 3.0, -0.2]])
    c = np.array([1.5])                     # broadcast against x

    def loss(x, c):
        return np.sum(softclip(x, c) ** 2)

    def exact(x, c):
        return np.sum((c * np.tanh(x / c)) ** 2)

    gx, gc = nd.grad(loss, argnums=(0, 1))(x, c)
    ex, ec = nd.grad(exact, argnums=(0, 1))(x, c)
    assert gc.shape == (1,)
    assert np.allclose(gx, ex, rtol=1e-12) and np.allclose(gc, ec, rtol=1e-12)
    tape = nd.trace(loss, x, c)
    assert "softclip" in str(tape)
    assert np.allclose(nd.jacobian(lambda x: softclip(x, c), mode="forward")(x),
                       nd.jacobian(lambda x: c * np.tanh(x / c))(x))
    H = nd.hessian(lambda x: loss(x, c))(x.ravel()[:3].copy())
    He = nd.hessian(lambda x: exact(x, c))(x.ravel()[:3].copy())
    assert np.allclose(H, He, rtol=1e-10)


def test_primitive_missing_rule_is_a_clear_error():
    only_value = nd.primitive("only_value", np.sin)
    with pytest.raises(nd.TracingError, match="only_value.*vjp"):
        nd.grad(lambda x: np.sum(only_value(x)))(X)
    only_vjp = nd.primitive("only_vjp", np.sin, vjp=lambda g, out, x: (g * np.cos(x),))
    assert np.allclose(nd.grad(lambda x: np.sum(only_vjp(x)))(X), np.cos(X))
    with pytest.raises(nd.TracingError, match="only_vjp.*jvp"):
        nd.jvp(only_vjp, X, X)


# ---- errors and threads ----------------------------------------------------------------------

def test_a_rule_never_defined_is_a_clear_error():
    @nd.custom_vjp
    def f(x):
        return x * 2.0

    assert f(3.0) == 6.0
    with pytest.raises(nd.TracingError, match="f.defvjp"):
        nd.grad(f)(1.0)


def test_closing_over_a_traced_value_is_refused():
    def outer(a):
        @nd.custom_vjp
        def f(x):
            return x * a

        f.defvjp(lambda x: (x * a, None), lambda _, g: (g * 2.0,))
        return f(a)

    with pytest.raises(nd.TracingError, match="closes over"):
        nd.grad(outer)(1.5)


def test_threads_share_one_adapter_with_a_custom_rule():
    g = nd.gradient(loss_msin)
    g(X)
    points = [X + 0.1 * k for k in range(8)]
    results = {}

    def work(k):
        for _ in range(20):
            results[k] = g(points[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, x in enumerate(points):
        assert np.allclose(results[k], 2 * np.sin(x) * np.cos(x) * x + np.sin(x) ** 2)


def test_nondiff_argnums_and_keywords():
    from functools import partial

    @partial(nd.custom_vjp, nondiff_argnums=(0,))
    def apply(fn, x):
        return fn(x)

    apply.defvjp(lambda fn, x: (fn(x), x), lambda fn, x, g: (g * 2 * x,))
    assert np.isclose(nd.grad(lambda x: apply(np.square, x))(3.0), 6.0)
    assert np.isclose(nd.grad(lambda x: apply(np.square, x=x))(3.0), 6.0)


def test_implicit_function_root_by_brentq():
    # x*(theta) solves x**3 + theta*x - 1 = 0; dx/dtheta = -x / (3x^2 + theta)
    @nd.custom_vjp
    def root(theta):
        return brentq(lambda x: x ** 3 + theta * x - 1.0, 0.0, 2.0, xtol=1e-15)

    def fwd(theta):
        x = root(theta)
        return x, (x, theta)

    def bwd(res, g):
        x, theta = res
        return (-g * x / (3 * x ** 2 + theta),)

    root.defvjp(fwd, bwd)
    for theta in (0.5, 1.0, 2.5):
        x = root(theta)
        g = nd.grad(lambda t: root(t) ** 2)(theta)
        assert np.isclose(g, 2 * x * (-x / (3 * x ** 2 + theta)), rtol=1e-10)
        fdv = (root(theta + 1e-6) ** 2 - root(theta - 1e-6) ** 2) / 2e-6
        assert np.isclose(g, fdv, rtol=1e-6)
    cached = nd.gradient(lambda t: root(t) * t)
    assert np.isclose(cached(1.0), root(1.0) + 1.0 * -root(1.0) / (3 * root(1.0) ** 2 + 1.0))
    # second derivatives trace fwd, which calls root again (recorded by its own rule),
    # so the Hessian is exact too: against central differences of the gradient
    sq = nd.gradient(lambda t: root(t[0]) ** 2)
    H = nd.hessian(lambda t: root(t[0]) ** 2)(np.array([1.0]))
    h = 1e-5
    H_fd = (sq(np.array([1.0 + h])) - sq(np.array([1.0 - h]))) / (2 * h)
    assert np.allclose(H, H_fd, rtol=1e-6)


def test_second_derivatives_need_a_traceable_fwd():
    @nd.custom_vjp
    def opaque(theta):
        return math.exp(theta)

    opaque.defvjp(lambda t: (math.exp(t), math.exp(t)), lambda y, g: (g * y,))
    assert np.isclose(nd.grad(opaque)(0.5), math.exp(0.5))
    with pytest.raises(nd.TracingError, match="fwd"):
        nd.hessian(lambda t: opaque(t[0]))(np.array([0.5]))


# ---- numad's own functions defined with the extension API (numad/extensions.py) -----------

A3 = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [1.5, 0.2, 0.1]])


@pytest.mark.parametrize("ord_", [2, -2, "nuc"])
def test_matrix_norms_by_singular_values_against_closed_form(ord_):
    U, s, Vt = np.linalg.svd(A3)
    expect = {2: np.outer(U[:, 0], Vt[0]), -2: np.outer(U[:, -1], Vt[-1]),
              "nuc": U @ Vt}[ord_]
    value, _ = nd.value_and_gradient(lambda a: np.linalg.norm(a, ord_))(A3)
    assert np.isclose(value, np.linalg.norm(A3, ord_))
    assert np.allclose(nd.grad(lambda a: np.linalg.norm(a, ord_))(A3), expect, rtol=1e-10)
    assert np.allclose(nd.gradient(lambda a: np.linalg.norm(a, ord_))(A3 * 2), expect, rtol=1e-10)


def test_singular_values_in_both_modes_and_second_order():
    # (numad/linalg_rules.py: the SVD is an nd.custom_vjp whose rule is NumPy code)
    def sv(a):
        return np.linalg.svd(a, compute_uv=False)

    Jr = nd.jacobian(sv, mode="reverse")(A3)
    assert np.allclose(nd.jacobian(sv, mode="forward")(A3), Jr, rtol=1e-10)
    assert np.allclose(Jr, fd(sv, A3), rtol=1e-6, atol=1e-8)
    assert np.allclose(nd.grad(lambda a: np.sum(np.linalg.svd(a)[1]))(A3),
                       nd.grad(lambda a: np.sum(sv(a)))(A3), rtol=1e-12)
    nuc = lambda x: np.linalg.norm(x.reshape(3, 3), "nuc")  # noqa: E731
    H = nd.hessian(nuc)(A3.ravel())
    H_fd = np.array([fd(lambda y, k=k: nd.gradient(nuc)(y)[k], A3.ravel()) for k in range(9)])
    assert np.allclose(H, H_fd, rtol=1e-5, atol=1e-6)


def test_logsumexp_and_norm_cdf_are_primitives_of_one_entry():
    x = np.array([[0.3, -1.0, 2.0], [0.5, 0.1, -0.4]])
    tape = nd.trace(lambda x: np.sum(nd.logsumexp(x, axis=1)), x)
    assert "logsumexp" in str(tape)
    for axis in (None, 0, 1, (0, 1)):
        f = lambda x: np.sum(np.sin(nd.logsumexp(x, axis=axis)))   # noqa: E731
        assert np.allclose(nd.grad(f)(x), fd(f, x), rtol=1e-7, atol=1e-9)
    v = x[0]
    H = nd.hessian(lambda v: nd.logsumexp(v * np.arange(1.0, 4.0)))(v)
    w = np.arange(1.0, 4.0)
    p = np.exp(v * w - np.log(np.sum(np.exp(v * w))))
    assert np.allclose(H, np.outer(w, w) * (np.diag(p) - np.outer(p, p)), rtol=1e-10)
    pdf = np.exp(-v ** 2 / 2) / np.sqrt(2 * np.pi)
    assert np.allclose(nd.grad(lambda v: np.sum(nd.norm_cdf(v)))(v), pdf, rtol=1e-12)
    assert np.allclose(nd.norm_cdf(nd.Dual(v, 1.0)).tangent, pdf, rtol=1e-12)
    assert np.isclose(nd.norm_cdf(0.0), 0.5)


def test_a_custom_jvp_rule_that_calls_its_own_function_nests():
    # JAX's own idiom: the rule computes the primal by calling the function. Its
    # transpose recorded that call again, and reversing it ran the rule again, without
    # end. With h' := 3h by the rule, every derivative is a power of 3 times h.
    @nd.custom_jvp
    def h(x):
        return np.exp(x)
    h.defjvp(lambda p, t: (h(p[0]), 3.0 * h(p[0]) * t[0]))
    x, e = 0.5, np.exp(0.5)
    assert nd.grad(nd.grad(h))(x) == pytest.approx(9 * e, rel=1e-14)
    assert nd.grad(nd.grad(nd.grad(h)))(x) == pytest.approx(27 * e, rel=1e-14)
    assert nd.jvp(nd.grad(h), x, 1.0)[1] == pytest.approx(9 * e, rel=1e-14)
    assert nd.grad(lambda y: nd.jvp(h, y, 1.0)[1])(x) == pytest.approx(9 * e, rel=1e-14)
    v = np.array([0.5, 1.0])
    np.testing.assert_allclose(nd.hessian(lambda v: np.sum(h(v)))(v), np.diag(9 * np.exp(v)),
                               rtol=1e-14)
    np.testing.assert_allclose(nd.hvp(lambda v: np.sum(h(v)))(v, np.ones(2)), 9 * np.exp(v),
                               rtol=1e-14)


def test_hessian_and_hvp_of_a_primitive_with_a_vjp_only_go_reverse_over_reverse():
    # closed form: d^2/dx^2 sum(x^3) = diag(6x)
    cube = nd.primitive("cube", lambda x: x ** 3, vjp=lambda g, out, x: (3.0 * g * x ** 2,))
    f = lambda x, s: s * np.sum(cube(x))   # noqa: E731
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(nd.hessian(f)(x, 2.0), np.diag(12.0 * x), rtol=1e-15)
    np.testing.assert_allclose(nd.hvp(f)(x, np.array([1.0, -1.0]), 2.0), [12.0, -24.0],
                               rtol=1e-15)
    with pytest.raises(nd.TracingError, match="cube has no jvp rule"):
        nd.jvp(lambda x: f(x, 2.0), x, np.ones(2))
