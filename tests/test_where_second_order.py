"""``where`` keeps the untaken branch's inf and nan out of second and third derivatives.

The recorded gradient (nested derivatives, and ``nd.hessian``'s tangent sweep over it)
writes each adjoint contribution ``g * d`` as the op table's ``adjoint_mul``: exactly 0
where the adjoint ``g`` is 0, even where the partial ``d`` is ``log(0) = -inf`` or
``sqrt'(0) = inf`` in the branch ``where`` does not take, in value and in derivatives,
at the traced point and at every replay. A zero adjoint that varies still counts: the
Hessian of ``h(u(x))`` where ``h'(u) = 0`` keeps ``h''(u) u' u'^T``.

Closed forms: for x > 0, d/dx x log x = log x + 1 and d2 = 1/x; d/dx x^1.5 = 1.5 sqrt x
and d2 = 0.75 / sqrt x; at x <= 0 the taken branch is the constant 0, so every
derivative there is 0.
"""
import warnings

import numpy as np
import pytest

import numad as nd


@pytest.fixture(autouse=True)
def _quiet():
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def xlogx(v):
    return np.sum(np.where(v > 0, v * np.log(v), 0.0))


def x_sqrt_x(v):
    return np.sum(nd.where(v > 0, v * np.sqrt(v), 0.0))


def xlogx_scalar(x):
    return nd.where(x > 0, x * np.log(x), 0.0)


def _positive(v):
    return np.where(v > 0, v, 1.0)   # (only read where v > 0)


def grad_xlogx(v):
    return np.where(v > 0, np.log(_positive(v)) + 1.0, 0.0)


def hess_xlogx(v):
    return np.diag(np.where(v > 0, 1.0 / _positive(v), 0.0))


def grad_x_sqrt_x(v):
    return np.where(v > 0, 1.5 * np.sqrt(np.maximum(v, 0.0)), 0.0)


def hess_x_sqrt_x(v):
    return np.diag(np.where(v > 0, 0.75 / np.sqrt(_positive(v)), 0.0))


CASES = [(xlogx, grad_xlogx, hess_xlogx), (x_sqrt_x, grad_x_sqrt_x, hess_x_sqrt_x)]
IDS = ["x_log_x", "x_sqrt_x"]
X = np.array([0.0, 4.0])
E0 = np.array([1.0, 0.0])


@pytest.mark.parametrize("f,grad,hess", CASES, ids=IDS)
def test_every_second_order_route_is_exact_at_the_untaken_branchs_singularity(f, grad, hess):
    H = hess(X)
    assert np.isnan(H).sum() == 0 and H[0, 0] == 0.0
    for compile in ("never", "always"):
        np.testing.assert_allclose(nd.hessian(f, compile=compile)(X), H, rtol=1e-13, atol=0)
        np.testing.assert_allclose(nd.hvp(f, compile=compile)(X, E0), H @ E0, atol=0)
    for mode in ("forward", "reverse", "auto"):
        np.testing.assert_allclose(nd.jacobian(nd.gradient(f), mode=mode)(X), H,
                                   rtol=1e-13, atol=0)
    value, tangent = nd.jvp(nd.grad(f), X, E0)   # the gradient's value too
    np.testing.assert_allclose(value, grad(X), rtol=1e-13, atol=0)
    np.testing.assert_array_equal(tangent, [0.0, 0.0])
    value, tangent = nd.jvp(nd.grad(f), X, np.array([0.0, 1.0]))
    np.testing.assert_allclose(tangent, H[:, 1], rtol=1e-13, atol=0)
    np.testing.assert_allclose(nd.gradient(f)(X), grad(X), rtol=1e-13, atol=0)


def test_scalar_grad_of_grad_jvp_and_third_order():
    g2 = nd.grad(nd.grad(xlogx_scalar))
    g3 = nd.grad(g2)
    assert nd.grad(xlogx_scalar)(0.0) == 0.0
    assert g2(0.0) == 0.0 and g3(0.0) == 0.0
    assert nd.jvp(nd.grad(xlogx_scalar), 0.0, 1.0) == (0.0, 0.0)
    assert g2(2.0) == pytest.approx(0.5, rel=1e-14)
    assert g3(2.0) == pytest.approx(-0.25, rel=1e-14)     # d3 x log x = -1 / x^2
    assert g2(-1.0) == 0.0 and g3(-1.0) == 0.0
    # a one-element array: the sweeps' scalar paths
    x = np.array([0.0])
    np.testing.assert_array_equal(nd.hessian(xlogx)(x), [[0.0]])
    np.testing.assert_array_equal(nd.jacobian(nd.gradient(xlogx))(x), [[0.0]])
    np.testing.assert_array_equal(nd.jvp(nd.grad(xlogx), x, np.ones(1))[1], [0.0])
    np.testing.assert_array_equal(nd.hvp(xlogx)(x, np.ones(1)), [0.0])


def _stationary(v):
    """cos(u) with u = v0 + 2 v1 + v0^2 (h'(u) = -sin u = 0 at u = 0, h'' = -1), plus
    the where of x log x: at v = 0 the Hessian is h''(0) u' u'^T = -[[1, 2], [2, 4]]."""
    u = v[0] + 2.0 * v[1] + v[0] ** 2
    return np.cos(u) + np.sum(np.where(v > 0, v * np.log(v), 0.0))


def test_a_zero_adjoint_that_varies_keeps_its_second_order_term():
    z = np.zeros(2)
    H = -np.array([[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_array_equal(nd.gradient(_stationary)(z), [0.0, 0.0])
    for compile in ("never", "always"):
        np.testing.assert_allclose(nd.hessian(_stationary, compile=compile)(z), H, atol=1e-15)
        np.testing.assert_allclose(nd.hvp(_stationary, compile=compile)(z, E0), H @ E0,
                                   atol=1e-15)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(nd.jacobian(nd.gradient(_stationary), mode=mode)(z), H,
                                   atol=1e-15)
    np.testing.assert_allclose(nd.jvp(nd.grad(_stationary), z, E0)[1], H @ E0, atol=1e-15)
    # elsewhere: h''(u) u' u'^T + h'(u) u'' plus the where's 1 / v on the diagonal
    v = np.array([0.3, 0.5])
    u = v[0] + 2 * v[1] + v[0] ** 2
    du = np.array([1 + 2 * v[0], 2.0])
    expected = -np.cos(u) * np.outer(du, du) - np.sin(u) * np.diag([2.0, 0.0]) + np.diag(1 / v)
    np.testing.assert_allclose(nd.hessian(_stationary)(v), expected, rtol=1e-13)


def test_third_order_where_the_adjoint_is_zero():
    """f = (x^2 + x)^2 at 0: the adjoint 2 u of the square is 0 there, and varies: f'' =
    12 x^2 + 12 x + 2 = 2 and f''' = 24 x + 12 = 12 need its cross terms."""
    def f(x):
        return (x * x + x) ** 2
    assert nd.grad(f)(0.0) == 0.0
    assert nd.grad(nd.grad(f))(0.0) == 2.0
    assert nd.grad(nd.grad(nd.grad(f)))(0.0) == 12.0
    assert nd.jvp(nd.grad(nd.grad(f)), 0.0, 1.0)[1] == 12.0
    F = lambda v: np.sum((v * v + v) ** 2)   # noqa: E731
    z = np.zeros(3)
    np.testing.assert_array_equal(nd.hessian(F)(z), 2.0 * np.eye(3))
    third = nd.jacobian(nd.jacobian(nd.gradient(F)))(z)
    expected = np.zeros((3, 3, 3))
    expected[np.arange(3), np.arange(3), np.arange(3)] = 12.0
    np.testing.assert_array_equal(third, expected)


@pytest.mark.parametrize("f,grad,hess", CASES, ids=IDS)
@pytest.mark.parametrize("compile", ["never", "always"])
def test_cached_adapters_replay_exactly_when_the_branch_stays_and_when_it_changes(
        f, grad, hess, compile):
    H, G, J = nd.hessian(f, compile=compile), nd.gradient(f, compile=compile), \
        nd.jacobian(nd.gradient(f), compile=compile)
    P = nd.hvp(f, compile=compile)
    # traced with every element taken, then replayed where one element is not (and
    # where element 0 sits exactly at the untaken branch's singularity), and back
    points = [np.array([1.0, 4.0]), np.array([0.0, 4.0]), np.array([0.0, 2.0]),
              np.array([-1.0, 3.0]), np.array([2.0, 0.0]), np.array([0.5, 0.25])]
    for x in points:
        np.testing.assert_allclose(H(x), hess(x), rtol=1e-13, atol=0, err_msg=str(x))
        np.testing.assert_allclose(J(x), hess(x), rtol=1e-13, atol=0, err_msg=str(x))
        np.testing.assert_allclose(G(x), grad(x), rtol=1e-13, atol=0, err_msg=str(x))
        for p in (E0, np.array([0.0, 1.0])):
            np.testing.assert_allclose(P(x, p), hess(x) @ p, rtol=1e-13, atol=0,
                                       err_msg=str(x))


def test_a_tape_of_the_gradient_replays_at_the_singularity():
    """The recorded gradient, traced where every branch is taken, replayed at 0."""
    tape = nd.trace(nd.grad(xlogx), np.array([1.0, 4.0]))
    x = np.array([0.0, 4.0])
    np.testing.assert_allclose(tape(x), grad_xlogx(x), rtol=1e-15, atol=0)
    np.testing.assert_allclose(tape.jacobian(x), hess_xlogx(x), rtol=1e-15, atol=0)
    value, tangent = tape.jvp(x, E0)
    np.testing.assert_allclose(value, grad_xlogx(x), rtol=1e-15, atol=0)
    np.testing.assert_array_equal(tangent, [0.0, 0.0])
    np.testing.assert_array_equal(tape.vjp(x, E0), [0.0, 0.0])
