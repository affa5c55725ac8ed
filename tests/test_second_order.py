"""Second derivatives (the reverse sweep recorded and differentiated again) against
central differences of the exact gradient, over functions that use every kind of entry."""
import numpy as np
import pytest

import numad as nd

rng = np.random.default_rng(21)
W = rng.normal(size=(4, 4))
SPD = W @ W.T + 4 * np.eye(4)

FUNCTIONS = {
    "polynomial": lambda x: np.sum(x ** 3 - 2 * x[0] * x ** 2 + x[1] * x[2]),
    "transcendental": lambda x: np.sum(np.exp(0.3 * x) * np.sin(x) + np.log1p(x ** 2)),
    "tanh_and_erf": lambda x: np.sum(np.tanh(x) * nd.erf(x[::-1])),
    "division_power": lambda x: np.sum((1.0 + x ** 2) ** 1.5 / (2.0 + np.cos(x))),
    "matmul": lambda x: x @ W @ x + np.sum((W @ x) ** 3),
    "reductions": lambda x: np.prod(1.5 + np.sin(x)) + np.max(x ** 2) + np.mean(x) ** 2,
    "indexing": lambda x: np.sum(x[1:] * x[:-1]) + x[0] ** 2 * x[3] + np.sum(x[[2, 0, 2]] ** 3),
    "where": lambda x: np.sum(np.where(x > 0, x ** 3, np.sin(x))),
    "concat_stack": lambda x: np.sum(np.concatenate([x, x ** 2]) ** 2) + np.sum(np.stack([x, x]) * x),
    "solve": lambda x: np.sum(np.linalg.solve(SPD + np.diag(x ** 2), x)),
    "inv_det": lambda x: np.linalg.det(SPD + np.outer(x, x)) + np.sum(np.linalg.inv(SPD + np.diag(x))),
    "cholesky": lambda x: np.sum(np.linalg.cholesky(SPD + np.diag(x ** 2)) ** 2),
    "logsumexp": lambda x: nd.logsumexp(x * np.arange(1.0, 5.0)),
    "cumsum_sort": lambda x: np.sum(np.cumsum(x) ** 2) + np.sum(np.sort(x) * np.arange(4.0)),
    "scalar_loop": lambda x: sum(x[i] * x[i + 1] ** 2 for i in range(3)),
}


def hessian_fd(f, x):
    g = nd.grad(f)
    h = 1e-5
    H = np.empty((x.size, x.size))
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        H[:, k] = (g(x + e) - g(x - e)) / (2 * h)
    return H


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_hessian_against_differences_of_the_gradient(name):
    f = FUNCTIONS[name]
    x = np.array([0.3, -0.7, 1.1, 0.45])
    H = nd.jacobian(nd.gradient(f))(x)
    np.testing.assert_allclose(H, hessian_fd(f, x), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-10)
    # forward over the recorded reverse, and reverse over reverse, agree
    Hr = nd.jacobian(nd.gradient(f), mode="reverse")(x)
    np.testing.assert_allclose(Hr, H, rtol=1e-12, atol=1e-12)
    # a Hessian-vector product through jvp of grad
    v = np.array([1.0, -0.5, 0.25, 2.0])
    _, Hv = nd.jvp(nd.grad(f), x, v)
    np.testing.assert_allclose(Hv, H @ v, rtol=1e-10, atol=1e-10)


# the structural ops the one-kernel Hessian-vector sweep takes; the others go through
# the recorded gradient (so do calls with a rule of their own: logsumexp is an
# nd.primitive)
HVP_KERNEL = {"polynomial", "transcendental", "tanh_and_erf", "division_power", "matmul",
              "indexing", "where", "concat_stack", "cumsum_sort", "scalar_loop"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_hvp_against_differences_of_the_gradient(name):
    f = FUNCTIONS[name]
    x = np.array([0.3, -0.7, 1.1, 0.45])
    assert nd.trace(f, x).hvp_capable == (name in HVP_KERNEL)
    H = hessian_fd(f, x)
    hvp = nd.hvp(f)
    for v in (np.array([1.0, -0.5, 0.25, 2.0]), np.eye(4)[2]):
        np.testing.assert_allclose(hvp(x, v), H @ v, rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(hvp(x, v), nd.hessian(f)(x) @ v, rtol=1e-10, atol=1e-10)


def test_hvp_fast_path_follows_points_directions_and_branches():
    # the one-array hot path: new points, repeated points, an array changed in place,
    # and a branch that flips between calls, each against the closed form
    def f(x):
        return np.sum(np.where(x > 0.0, x ** 3, -(x ** 2)))

    def hess_diag(x):
        return np.where(x > 0.0, 6.0 * x, -2.0)
    hvp = nd.hvp(f)
    x = np.array([0.5, -1.0, 2.0])
    v = np.array([1.0, 2.0, -1.0])
    for point in (x, x, x * 2, -x, x):
        np.testing.assert_allclose(hvp(point, v), hess_diag(point) * v, rtol=1e-14)
    y = x.copy()
    hvp(y, v)
    y[1] = 3.0  # changed in place, as optimizers do
    np.testing.assert_allclose(hvp(y, v), hess_diag(y) * v, rtol=1e-14)
    np.testing.assert_allclose(hvp(y, 2 * v), hess_diag(y) * 2 * v, rtol=1e-14)


def test_second_derivatives_of_powers_at_zero():
    # x ** 1 is linear: its second derivative at 0 is 0, not 0 * inf
    for f, h0 in ((lambda x: np.sum(3.0 * x ** 1.0), 0.0), (lambda x: np.sum(x ** 2.0), 2.0),
                  (lambda x: np.sum(x ** 3.0), 0.0)):
        x = np.array([0.0, 0.0])
        np.testing.assert_array_equal(nd.hvp(f)(x, np.ones(2)), [h0, h0])
        np.testing.assert_array_equal(nd.hessian(f)(x), h0 * np.eye(2))


def _rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


@pytest.mark.parametrize("compile", ["always", "auto", "never"])
def test_compiled_hessian_is_scipys_rosen_hess(compile, tmp_path, monkeypatch):
    from scipy.optimize import rosen_hess
    monkeypatch.setenv("NUMAD_CACHE_DIR", str(tmp_path))
    hess = nd.hessian(_rosen_loop, compile=compile)
    for x in (np.linspace(-1.0, 2.0, 12), np.linspace(0.5, -0.7, 12)):
        H = hess(x)
        np.testing.assert_allclose(H, rosen_hess(x), rtol=1e-13, atol=1e-12)
        assert np.array_equal(H, H.T)
    if compile == "always":   # (the n products of f's own compiled code)
        (tape,) = [t for ts in hess.own_cache.tapes.values() for t in ts]
        assert tape.compiled_hvp is not None
    if compile == "never":
        assert hess.own_cache is None


def test_compiled_hessian_follows_branches():
    # a branch on x[0]: each side's Hessian, from the products of its own trace
    def f(x):
        if x[0] > 0:
            return x[0] ** 3 * x[1] + nd.exp(x[1])
        return x[0] ** 2 * x[1] ** 2

    hess = nd.hessian(f, compile="always")
    a, b = 0.7, -0.4
    np.testing.assert_allclose(hess(np.array([a, b])),
                               [[6 * a * b, 3 * a ** 2], [3 * a ** 2, np.exp(b)]], rtol=1e-14)
    a = -a
    np.testing.assert_allclose(hess(np.array([a, b])),
                               [[2 * b ** 2, 4 * a * b], [4 * a * b, 2 * a ** 2]], rtol=1e-14)


def test_a_transformation_at_a_constant_point_inside_a_traced_function_composes():
    # The inner function closes over the outer variable a; the inner point is a
    # constant. Closed forms: d/db (sin(b) a) = a cos(b), so every outer derivative
    # below is a closed form in cos and sin of the constant points.
    c1, c2, s1, s2 = np.cos(1.0), np.cos(2.0), np.sin(1.0), np.sin(2.0)
    pts = np.array([1.0, 2.0])
    cases = [
        (lambda a: nd.grad(lambda b: np.sin(b) * a)(1.0), c1),
        (lambda a: np.sum(nd.gradient(lambda b: np.sum(np.sin(b)) * a)(pts)), c1 + c2),
        (lambda a: nd.vjp(lambda b: np.sin(b) * a, 1.0)[1](1.0), c1),
        (lambda a: nd.jvp(lambda b: np.sin(b) * a, 1.0, 1.0)[1], c1),
        (lambda a: np.sum(nd.jacobian(lambda b: np.sin(b) * a)(pts)), c1 + c2),
        (lambda a: np.sum(nd.hessian(lambda b: np.sum(np.sin(b)) * a)(pts)), -s1 - s2),
        (lambda a: np.sum(nd.hvp(lambda b: np.sum(np.sin(b)) * a)(pts, np.ones(2))), -s1 - s2),
    ]
    for f, want in cases:
        assert nd.grad(f)(2.0) == pytest.approx(want, rel=1e-13)
        assert nd.jvp(f, 2.0, 1.0)[1] == pytest.approx(want, rel=1e-13)
    # (a cached outer adapter too: its tape holds the inner derivative's operations)
    outer = nd.gradient(lambda a: nd.grad(lambda b: np.sin(b) * a[0] * a[1])(1.0))
    np.testing.assert_allclose(outer(np.array([2.0, 3.0])), [3.0 * c1, 2.0 * c1], rtol=1e-13)
    np.testing.assert_allclose(outer(np.array([5.0, 7.0])), [7.0 * c1, 5.0 * c1], rtol=1e-13)
