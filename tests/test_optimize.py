"""Second order and the SciPy adapters, against SciPy's own hand-written derivatives."""
import math

import numpy as np
import pytest
import scipy.optimize as so
import scipy.special as sps
from scipy.optimize import rosen_der, rosen_hess, rosen_hess_prod

import numad as nd


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


@pytest.mark.parametrize("f", [rosen, rosen_loop])
def test_hvp_and_hessian_match_scipy(f):
    rng = np.random.default_rng(2)
    hessp, hess = nd.hvp(f), nd.hessian(f)
    for n in (3, 10, 50):
        for _ in range(3):
            x, p = rng.uniform(-2, 2, n), rng.normal(size=n)
            np.testing.assert_allclose(hessp(x, p), rosen_hess_prod(x, p), rtol=1e-12,
                                       atol=1e-10)
            H = hess(x)
            np.testing.assert_allclose(H, rosen_hess(x), rtol=1e-12, atol=1e-10)
            assert np.array_equal(H, H.T)
    assert hessp.cache.traces == 3 and hess.cache.traces == 3  # one per shape


def test_hvp_replays_with_changing_args_and_retraces_on_a_branch():
    def f(x, a, scale):
        s = np.sum(a * x ** 4) if x[0] > 0 else np.sum(a * x ** 2)
        return scale * s
    hessp = nd.hvp(f)
    p = np.array([1.0, 2.0])
    for a in (np.array([1.0, 2.0]), np.array([3.0, -1.0])):
        for x in (np.array([0.5, 1.5]), np.array([-0.5, 1.5])):
            diag = 12 * a * x ** 2 if x[0] > 0 else 2 * a
            np.testing.assert_allclose(hessp(x, p, a, 3), 3 * diag * p, rtol=1e-13)
    # one trace per branch; afterwards both branches replay from the cache
    assert hessp.cache.traces == 2


def test_black_scholes_gamma_from_hessian():
    def call(v):
        S, sigma = v[0], v[1]
        K, T, r = 95.0, 0.75, 0.03
        d1 = (np.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * np.sqrt(T))
        return S * sps.ndtr(d1) - K * np.exp(-r * T) * sps.ndtr(d1 - sigma * np.sqrt(T))
    S, sigma, K, T, r = 100.0, 0.25, 95.0, 0.75, 0.03
    H = nd.hessian(call)(np.array([S, sigma]))
    d1 = (math.log(S / K) + (r + sigma ** 2 / 2) * T) / (sigma * math.sqrt(T))
    pdf = math.exp(-d1 ** 2 / 2) / math.sqrt(2 * math.pi)
    assert H[0, 0] == pytest.approx(pdf / (S * sigma * math.sqrt(T)), rel=1e-12)
    d2 = d1 - sigma * math.sqrt(T)
    assert H[0, 1] == pytest.approx(-pdf * d2 / sigma, rel=1e-12)   # vanna


@pytest.mark.parametrize("method", ["Newton-CG", "trust-ncg", "trust-krylov",
                                    "trust-exact", "BFGS", "L-BFGS-B"])
def test_minimize_converges_on_rosenbrock(method):
    x0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])
    res = nd.optimize.minimize(rosen, x0, method=method, options={"maxiter": 5000})
    assert isinstance(res, so.OptimizeResult) and res.success, res.message
    np.testing.assert_allclose(res.x, 1.0, atol=5e-4)
    # SciPy fed its hand-written derivatives takes the same steps to the same point
    exact = {"jac": rosen_der}
    if method in ("Newton-CG", "trust-ncg", "trust-krylov"):
        exact["hessp"] = rosen_hess_prod
    if method == "trust-exact":
        exact["hess"] = rosen_hess
    ref = so.minimize(so.rosen, x0, method=method, options={"maxiter": 5000}, **exact)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-7, atol=1e-9)
    assert res.nit == ref.nit
    # SciPy's finite differences need far more evaluations of the function
    if method == "BFGS":
        fd = so.minimize(rosen, x0, method=method)
        assert res.nfev < fd.nfev


def test_minimize_passes_args_keywords_and_constraints_through():
    def f(x, c):
        return np.sum((x - c) ** 2)
    c = np.array([1.0, 2.0])
    cons = {"type": "ineq", "fun": lambda x: 1.0 - np.sum(x ** 2)}  # inside the unit disc
    res = nd.optimize.minimize(f, np.zeros(2), args=(c,), method="SLSQP", constraints=[cons],
                               tol=1e-12)
    np.testing.assert_allclose(res.x, c / np.linalg.norm(c), atol=1e-8)
    nl = so.NonlinearConstraint(lambda x: np.sum(x ** 2), -np.inf, 1.0)
    res = nd.optimize.minimize(f, np.zeros(2), args=(c,), method="trust-constr",
                               constraints=nl, options={"gtol": 1e-10, "xtol": 1e-12})
    np.testing.assert_allclose(res.x, c / np.linalg.norm(c), atol=1e-4)
    res = nd.optimize.minimize(f, np.zeros(2), args=(c,), method="Nelder-Mead")
    np.testing.assert_allclose(res.x, c, atol=1e-3)


def test_least_squares_recovers_an_exponential_decay():
    rng = np.random.default_rng(5)
    t = np.linspace(0.0, 4.0, 60)
    y = 3.0 * np.exp(-0.7 * t) + 0.2 + rng.normal(scale=1e-3, size=t.size)

    def residuals(p, t, y):
        return p[0] * np.exp(-p[1] * t) + p[2] - y
    res = nd.optimize.least_squares(residuals, np.array([1.0, 1.0, 0.0]), args=(t, y))
    np.testing.assert_allclose(res.x, [3.0, 0.7, 0.2], atol=5e-3)
    J = nd.jacobian(residuals)(res.x, t, y)
    fd = so.approx_fprime(res.x, lambda p: residuals(p, t, y), 1e-7)
    np.testing.assert_allclose(J, fd, rtol=1e-5, atol=1e-6)


def test_root_solves_a_nonlinear_system():
    def equations(v, a):
        x, y, z = v[0], v[1], v[2]
        return nd.stack([x ** 2 + y ** 2 + z ** 2 - a, x * y - 1.0, np.exp(z) - x])
    for a in (4.0, 6.0):
        sol = nd.optimize.root(equations, np.array([1.5, 0.8, 0.3]), args=(a,))
        assert sol.success
        np.testing.assert_allclose(equations(sol.x, a), 0.0, atol=1e-10)


def test_hvp_at_one_point_many_directions_and_an_array_changed_in_place():
    hessp = nd.hvp(rosen)
    x = np.array([0.3, -0.4, 1.2, 0.9])
    for p in np.eye(4):
        np.testing.assert_allclose(hessp(x, p), rosen_hess(x) @ p, rtol=1e-13)
    x[1] += 0.5  # the optimizer's buffer, changed in place: a new point
    for p in np.eye(4):
        np.testing.assert_allclose(hessp(x, p), rosen_hess(x) @ p, rtol=1e-13)
