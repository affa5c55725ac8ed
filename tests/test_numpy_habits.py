"""Habits of plain NumPy code: arrays built from traced scalars with np.array, SciPy's
logsumexp/softmax, float32 inputs, complex inputs. Derivatives against closed forms and
central differences."""
import numpy as np
import pytest
import scipy.special as sps

import numad as nd

X = np.array([0.3, -0.7, 1.2, 0.5])


def assert_fd(f, x, rtol=1e-7, atol=1e-9):
    g = nd.grad(f)(x)
    np.testing.assert_allclose(g, nd.numerical_gradient(f, x), rtol=rtol, atol=atol)
    return g


# ---- np.array / np.asarray of traced scalars -----------------------------------------------

BUILT = {
    "squared residuals": lambda x: np.sum(np.array([x[0] * x[1], x[2]]) ** 2),
    "ufunc on the built array": lambda x: np.sum(np.exp(np.array([x[0], x[1]]))),
    "asarray of a scalar": lambda x: np.sin(np.asarray(x[0])) + x[1],
    "mixed with numbers": lambda x: np.sum(x[:2] * np.array([x[2], 1.0])),
    "matrix from scalars": lambda x: np.sum(np.dot(np.array([[x[0], 1.0], [2.0, x[1]]]), x[2:])),
    "matmul operator": lambda x: np.sum(np.array([[x[0], x[1]], [x[2], x[3]]]) @ x[:2]),
    "nested lists": lambda x: np.sum(np.array([[x[0], x[1]], [x[2], x[3]]]).T[0] ** 3),
    "np.stack with it": lambda x: np.sum(np.stack([np.array([x[0], x[1]]), x[2:]]) ** 2),
    "reduction methods": lambda x: np.array([x[0], x[1] * x[2]]).prod() + np.array([x[3]]).sum(),
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_arrays_built_from_traced_scalars_differentiate(name):
    assert_fd(BUILT[name], X)


def test_residual_vector_for_least_squares():
    def residuals(x):
        return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])

    J = nd.jacobian(residuals)(np.array([1.5, 2.0]))
    np.testing.assert_array_equal(J, [[-30.0, 10.0], [-1.0, 0.0]])
    res = nd.optimize.least_squares(residuals, np.array([-1.2, 1.0]))
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-8)


def test_rhs_returning_np_array_in_odeint_and_scan():
    def lotka_volterra(y, t, a):
        return np.array([a * y[0] - y[0] * y[1], y[0] * y[1] - y[1]])

    def as_list(y, t, a):
        return [a * y[0] - y[0] * y[1], y[0] * y[1] - y[1]]

    grid = np.linspace(0.0, 1.0, 11)
    f = lambda a: np.sum(nd.odeint(lotka_volterra, np.array([1.0, 0.5]), grid, a)[-1])
    g = lambda a: np.sum(nd.odeint(as_list, np.array([1.0, 0.5]), grid, a)[-1])
    assert nd.grad(f)(0.7) == nd.grad(g)(0.7)

    def rotate(x):
        final, _ = nd.scan(lambda c, _: (np.array([c[1], -c[0] * x]), None),
                           np.array([1.0, 0.0]), length=10)
        return np.sum(final)

    assert nd.grad(rotate)(0.3) == pytest.approx(nd.numerical_gradient(rotate, 0.3), rel=1e-7)


def test_conversions_that_would_lose_the_derivative_are_refused():
    def assign(x):
        out = np.zeros(2)
        out[0] = x[0]
        return out.sum()

    with pytest.raises(nd.TracingError, match="assign"):
        nd.grad(assign)(X)
    with pytest.raises(nd.TracingError, match="np.stack"):
        nd.grad(lambda x: np.asarray(x, dtype=float).sum())(X)
    with pytest.raises(nd.TracingError):
        nd.grad(lambda x: np.array([x[0], x[1]], dtype=float).sum())(X)


# ---- scipy.special's Python-level functions ---------------------------------------------------

SCIPY = {
    "logsumexp": lambda x: sps.logsumexp(x),
    "logsumexp axis": lambda x: np.sum(sps.logsumexp(x.reshape(2, 2), axis=1)),
    "logsumexp weights": lambda x: sps.logsumexp(x[:2], b=x[2:] ** 2),
    "softmax": lambda x: np.sum(sps.softmax(x) * np.arange(4.0)),
    "log_softmax": lambda x: sps.log_softmax(x)[1],
    "logsumexp of np.array": lambda x: sps.logsumexp(np.array([x[0], 2.0 * x[1]])),
}


@pytest.mark.parametrize("name", sorted(SCIPY))
def test_scipy_special_python_functions(name):
    assert_fd(SCIPY[name], X)


def test_softmax_is_the_gradient_of_logsumexp():
    np.testing.assert_allclose(nd.grad(sps.logsumexp)(X), sps.softmax(X), rtol=1e-15)
    # plain calls are SciPy's own
    assert sps.logsumexp(X) == sps.logsumexp.scipy_original(X)


def test_a_library_function_that_converts_is_named():
    import scipy.stats
    with pytest.raises(nd.TracingError, match="zscore"):
        nd.grad(lambda x: np.sum(scipy.stats.zscore(x) ** 2))(X)


# ---- float32 and complex --------------------------------------------------------------------

def loss(x):
    return np.sum(np.sin(x) ** 2)


def test_float32_inputs_get_float32_answers():
    x32 = X.astype(np.float32)
    exact = np.sin(2 * X)   # d sin^2 = sin 2x
    for g in (nd.grad(loss)(x32), nd.gradient(loss)(x32), nd.value_and_gradient(loss)(x32)[1],
              nd.value_and_grad(loss)(x32)[1]):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, exact, rtol=1e-6)
    assert nd.value_and_grad(loss)(x32)[0].dtype == np.float32
    assert nd.hessian(loss)(x32).dtype == np.float32
    assert nd.hvp(loss)(x32, x32).dtype == np.float32
    assert nd.jacobian(np.sin)(x32).dtype == np.float32
    assert nd.jvp(np.sin, x32, x32)[1].dtype == np.float32
    assert type(nd.grad(lambda x: x * x)(np.float32(2.0))) is np.float32


def test_mixed_precision_follows_numpy_promotion():
    x32 = X.astype(np.float32)
    gx, gy = nd.grad(lambda x, y: np.sum(x * y), argnums=(0, 1))(x32, X)
    assert gx.dtype == np.float32 and gy.dtype == np.float64
    value, _ = nd.value_and_grad(lambda x, y: np.sum(x * y))(x32, X)
    assert type(value) is float     # a float64 input widens the value
    assert nd.grad(loss)(X).dtype == np.float64


def test_complex_inputs_are_refused():
    with pytest.raises(nd.TracingError, match="complex"):
        nd.grad(lambda z: np.sum(z * z).real)(X + 1j)
    with pytest.raises(nd.TracingError, match="complex"):
        nd.gradient(lambda z: np.sum(z * z).real)(X + 1j)


def test_an_inner_function_closing_over_the_outer_traces_value_is_differentiated():
    # the inner gradient, at a constant point, closes over the outer trace's value:
    # it records on the outer trace, so the outer derivative sees through it (it was
    # refused). outer(a) = a * cos(1) + 2a, so outer'(a) = cos(1) + 2.
    def outer(a):
        return nd.grad(lambda x: np.sum(np.sin(x) * np.array([a, a]) + x * a))(np.ones(2))[0] \
            + a

    assert nd.grad(outer)(2.0) == pytest.approx(np.cos(1.0) + 2.0, rel=1e-14)
    assert nd.grad(nd.grad(outer))(2.0) == 0.0


def test_a_traced_value_kept_past_its_trace_is_refused():
    kept = []
    nd.grad(lambda x: kept.append(np.array([x[0], x[1]])) or np.sum(x))(X)
    with pytest.raises(nd.TracingError, match="outlived its trace"):
        nd.grad(lambda x: np.sum(x[:2] * kept[0]))(X)


def test_ndarray_methods_on_a_traced_array_record_or_say_what_to_do():
    # x.take(i) is np.take(x, i), and so on for each ndarray method NumPy has a function
    # of; the others (memory, views, the imaginary part) raise a TracingError that is
    # an AttributeError too, so hasattr still answers. Closed forms: the squares'
    # derivatives 2x where taken.
    x = np.array([0.3, 0.8, 0.5])
    np.testing.assert_allclose(nd.grad(lambda v: np.sum(v.take([0, 2]) ** 2))(x),
                               [0.6, 0.0, 1.0])
    np.testing.assert_allclose(nd.grad(lambda v: np.sum(v.repeat(2) ** 2))(x), 4 * x)
    np.testing.assert_allclose(
        nd.grad(lambda v: np.sum(v.reshape(3, 1).swapaxes(0, 1) ** 2))(x), 2 * x)
    np.testing.assert_allclose(nd.grad(lambda v: v[v.argmax()] ** 2)(x), [0.0, 1.6, 0.0])
    for name in ("view", "imag", "strides", "tobytes"):
        with pytest.raises(nd.TracingError, match=f"x.{name} is not available"):
            nd.grad(lambda v: np.sum(getattr(v, name)))(x)
    assert nd.grad(lambda v: np.sum(v) * (not hasattr(v, "strides")))(x).tolist() == [1.0] * 3


def test_njit_functions_fractional_indices_and_complex_duals_are_tracing_errors():
    from numba import njit

    @njit
    def square(a):
        return a * a
    x = np.array([1.7, 0.5])
    with pytest.raises(nd.TracingError, match="@njit function .*nd.primitive"):
        nd.grad(lambda v: square(v[0]))(x)
    with pytest.raises(nd.TracingError, match="not an integer"):
        nd.grad(lambda v: v[v[0]])(x)
    with pytest.raises(nd.TracingError, match="complex"):
        nd.Dual(1.0 + 1.0j, 1.0)
    assert square(3.0) == 9.0   # (numba itself is untouched)
