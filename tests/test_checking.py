"""Finite-difference gradients against closed forms, with each method's honest accuracy."""
import numpy as np
import pytest

import numad as nd
from numad.checking import check_grad, numerical_gradient

# Expected relative accuracy of each method with its default step on smooth, O(1)
# functions: forward ~ sqrt(eps) = 1.5e-8, central ~ eps^(2/3) = 4e-11, complex step to
# rounding. The bounds leave a factor of 10-100 above those.
RTOL = {"forward": 1e-6, "central": 1e-9, "complex": 1e-15}
METHODS = list(RTOL)


def f_sin_square(x):
    return np.sum(np.sin(x) * x**2)


def df_sin_square(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


def f_exp_quadratic(x):
    return np.exp(0.5 * np.sum(x * x)) / 3.0


def df_exp_quadratic(x):
    return x * np.exp(0.5 * np.sum(x * x)) / 3.0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("f, df", [(f_sin_square, df_sin_square),
                                   (f_exp_quadratic, df_exp_quadratic)])
def test_gradient_of_array_matches_closed_form(method, f, df):
    x = np.array([[0.3, -1.2, 2.0], [0.7, 1.1, -0.4]])
    g = numerical_gradient(f, x, method=method)
    assert g.shape == (2, 3) and g.dtype == np.float64
    np.testing.assert_allclose(g, df(x), rtol=RTOL[method], atol=RTOL[method])


@pytest.mark.parametrize("method", METHODS)
def test_gradient_of_float_is_a_python_float(method):
    seen = []

    def f(x):
        seen.append(type(x))
        return np.exp(x) * np.sin(x)

    g = numerical_gradient(f, 0.8, method=method)
    assert type(g) is float
    assert g == pytest.approx(np.exp(0.8) * (np.sin(0.8) + np.cos(0.8)), rel=RTOL[method])
    assert set(seen) == {complex if method == "complex" else float}


def test_complex_step_is_exact_to_rounding():
    x = np.linspace(-2.0, 2.0, 9)
    g = numerical_gradient(lambda x: np.sum(np.exp(x)), x, method="complex")
    np.testing.assert_allclose(g, np.exp(x), rtol=2e-16, atol=0)
    assert numerical_gradient(np.sin, 1.0, method="complex") == pytest.approx(np.cos(1.0), rel=1e-15)


@pytest.mark.parametrize("method", ["forward", "central"])
def test_default_step_scales_with_x(method):
    # At |x| = 1e6 an unscaled step of ~1e-8 would be lost to rounding of x itself.
    x = np.array([1e6, -3e5])
    g = numerical_gradient(lambda x: np.sum(x**2), x, method=method)
    np.testing.assert_allclose(g, 2 * x, rtol=RTOL[method])


@pytest.mark.parametrize("method", ["forward", "central"])
def test_step_is_the_one_actually_taken(method):
    # 1/3 + 0.1 is not exact in binary; dividing by the step really taken makes the
    # difference quotient of a linear function exact.
    x = 1.0 / 3.0
    assert numerical_gradient(lambda x: 5.0 * x, x, method=method, h=0.1) == pytest.approx(5.0, rel=1e-15)
    assert numerical_gradient(lambda x: x, x, method=method, h=0.1) == 1.0


def test_explicit_step_per_component():
    x = np.array([1.0, 2.0])
    g = numerical_gradient(lambda x: np.sum(x**3), x, method="central", h=np.array([1e-4, 1e-5]))
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-7)


def test_integer_input_gives_float_gradient():
    assert numerical_gradient(lambda x: x * x, 3) == pytest.approx(6.0, rel=1e-9)
    g = numerical_gradient(lambda x: np.sum(x * x), np.array([1, 2]))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-9)


def test_x_is_not_modified():
    x = np.array([1.0, 2.0, 3.0])
    numerical_gradient(lambda z: np.sum(z**2), x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="method"):
        numerical_gradient(np.sin, 1.0, method="backward")
    with pytest.raises(ValueError, match="jacobian"):
        numerical_gradient(lambda x: x, np.ones(3))
    with pytest.raises(ValueError, match="positive"):
        numerical_gradient(np.sin, 1.0, h=0.0)


def test_check_grad_is_importable():
    assert callable(check_grad)


def test_the_complex_step_sees_through_norm_cdf_and_logsumexp():
    # nd.primitive's plain call cast its result to float64, dropping the imaginary
    # part: the complex step then read a derivative of 0. Oracle: the closed forms
    # (the normal density; the softmax).
    x = np.array([0.3, 0.5, -1.2])
    np.testing.assert_allclose(
        nd.numerical_gradient(lambda t: nd.sum(nd.norm_cdf(t)), x, method="complex"),
        np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi), rtol=1e-13)
    np.testing.assert_allclose(
        nd.numerical_gradient(nd.logsumexp, x, method="complex"),
        np.exp(x) / np.sum(np.exp(x)), rtol=1e-13)


@pytest.mark.parametrize("method", METHODS)
def test_a_pytree_point_is_differenced_leaf_by_leaf(method):
    # closed form: d/da (a^2 sum(b)) = 2 a sum(b), d/db = a^2
    def f(p):
        return p["a"] ** 2 * np.sum(p["b"][0])
    point = {"a": 1.5, "b": (np.array([1.0, 2.0]),)}
    g = numerical_gradient(f, point, method)
    assert set(g) == {"a", "b"} and isinstance(g["b"], tuple)
    assert g["a"] == pytest.approx(9.0, rel=RTOL[method])
    np.testing.assert_allclose(g["b"][0], [2.25, 2.25], rtol=RTOL[method])
    assert nd.check_grad(f, point) < 1e-8
