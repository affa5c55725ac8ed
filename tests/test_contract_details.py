"""Details of the API contract (``shared/API.md``) that a review against it found
missing: watched values read through modules, classes, slots and replaced defaults;
``nd.where`` and ``round`` on Duals; the float type and shape of a tape's answers; keyword
arguments of ``nd.trace``; messages that name the function. Oracles: closed forms."""
import math
import sys
import types

import numpy as np
import pytest

import numad as nd

X = np.array([1.0, 2.0])


def sum_of_squares_gradient(k, x=X):
    return 2.0 * k * x   # d/dx k * sum(x**2)


# ---- watched values: "globals, closure cells, default arguments, attributes of argument
# objects" (a change traces anew; a Tape refuses to replay)


def test_a_class_attribute_read_through_an_argument_object_is_watched():
    class Params:
        k = 2.0

    p = Params()
    jac = nd.gradient(lambda x, p: p.k * np.sum(x ** 2))
    np.testing.assert_allclose(jac(X, p), sum_of_squares_gradient(2.0))
    Params.k = 5.0
    np.testing.assert_allclose(jac(X, p), sum_of_squares_gradient(5.0))
    p.k = 7.0   # an instance attribute now shadows the class's
    np.testing.assert_allclose(jac(X, p), sum_of_squares_gradient(7.0))


def test_a_slot_of_an_argument_object_is_watched():
    class Slotted:
        __slots__ = ("k",)

    s = Slotted()
    s.k = 2.0
    jac = nd.gradient(lambda x, s: s.k * np.sum(x ** 2))
    np.testing.assert_allclose(jac(X, s), sum_of_squares_gradient(2.0))
    s.k = 5.0
    np.testing.assert_allclose(jac(X, s), sum_of_squares_gradient(5.0))


def test_replaced_default_arguments_are_watched():
    def f(x, k=2.0, *, m=1.0):
        return m * k * np.sum(x ** 2)

    jac = nd.gradient(f)
    np.testing.assert_allclose(jac(X), sum_of_squares_gradient(2.0))
    f.__defaults__ = (3.0,)
    np.testing.assert_allclose(jac(X), sum_of_squares_gradient(3.0))
    f.__kwdefaults__ = {"m": 2.0}
    np.testing.assert_allclose(jac(X), sum_of_squares_gradient(6.0))


def test_an_attribute_of_a_users_module_is_watched():
    module = types.ModuleType("numad_test_settings")
    module.K = 2.0
    sys.modules["numad_test_settings"] = module
    try:
        import numad_test_settings as settings

        def by_closure(x):
            return settings.K * np.sum(x ** 2)

        # the same function with the module as a global (a module-level import)
        namespace = {"settings": settings, "np": np}
        exec("def as_global(x):\n    return settings.K * np.sum(x ** 2)\n", namespace)
        as_global = namespace["as_global"]
        for f in (by_closure, as_global):
            settings.K = 2.0
            jac = nd.gradient(f)
            np.testing.assert_allclose(jac(X), sum_of_squares_gradient(2.0))
            settings.K = 5.0
            np.testing.assert_allclose(jac(X), sum_of_squares_gradient(5.0))
            tape = nd.trace(f, X)
            settings.K = 6.0
            with pytest.raises(nd.ControlFlowChanged, match="settings.K changed"):
                tape(X)
    finally:
        del sys.modules["numad_test_settings"]


# ---- Duals


def test_where_on_duals_follows_the_branch_taken():
    a = nd.Dual(0.4, 1.0)
    r = nd.where(a > 0, a * a, 1.0)
    assert (r.value, r.tangent) == pytest.approx((0.16, 0.8))
    # an array with two directions: the untaken branch's nan (log 0) stays out
    v = nd.Dual(np.array([0.0, 4.0]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = nd.where(v > 0, v * nd.log(v), 0.0)
    np.testing.assert_allclose(r.value, [0.0, 4.0 * math.log(4.0)])
    np.testing.assert_allclose(r.tangent, [[0.0, 0.0], [0.0, math.log(4.0) + 1.0]])


def test_round_of_a_dual_has_derivative_zero_and_math_functions_refuse_one():
    r = round(nd.Dual(2.6, 1.0))
    assert (r.value, r.tangent) == (3.0, 0.0)
    r = round(nd.Dual(np.array([1.26, 2.54]), np.ones(2)), 1)
    np.testing.assert_allclose(r.value, [1.3, 2.5])
    np.testing.assert_array_equal(r.tangent, [0.0, 0.0])
    with pytest.raises(nd.TracingError, match="math"):
        math.exp(nd.Dual(1.0, 1.0))


# ---- a tape's answers: the argument's float type and shape


def test_a_float32_tape_answers_in_float32():
    x32 = np.array([1.5, 0.5], np.float32)
    tape = nd.trace(lambda v: np.sum(v ** 2), x32)
    assert tape(x32).dtype == np.float32
    value, g = tape.value_and_gradient(x32)
    assert value.dtype == np.float32 and g.dtype == np.float32
    np.testing.assert_allclose(g, 2.0 * x32)
    assert tape.gradient(x32).dtype == np.float32
    assert tape.vjp(x32, 1.0).dtype == np.float32
    y, jv = tape.jvp(x32, np.ones(2, np.float32))
    assert y.dtype == np.float32 and jv.dtype == np.float32 and jv == pytest.approx(4.0)
    rows = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    assert tape.forward_batch(rows).dtype == np.float32
    np.testing.assert_allclose(tape.gradient_batch(rows), 2.0 * rows)
    assert tape.gradient_batch(rows).dtype == np.float32
    vector = nd.trace(lambda v: v ** 2, x32)
    assert vector.jacobian(x32).dtype == np.float32
    np.testing.assert_allclose(vector.jacobian(x32), np.diag(2.0 * x32))
    # a float64 point on the same tape answers in float64
    assert tape.gradient(x32.astype(np.float64)).dtype == np.float64


def test_a_zero_dimensional_array_gets_a_zero_dimensional_derivative():
    g = nd.grad(lambda a: a ** 3)(np.array(2.0))
    assert isinstance(g, np.ndarray) and g.shape == () and float(g) == 12.0
    g = nd.grad(lambda a: a ** 3)(np.array(2))            # an int: a float derivative
    assert isinstance(g, np.ndarray) and g.dtype == np.float64 and float(g) == 12.0
    g = nd.grad(lambda a: a ** 3)(np.array(2.0, np.float32))
    assert g.dtype == np.float32 and g.shape == ()
    assert type(nd.grad(lambda a: a ** 3)(2.0)) is float
    _, vjp_fn = nd.vjp(lambda a: a ** 3, np.array(2.0))
    assert np.shape(vjp_fn(1.0)) == () and isinstance(vjp_fn(1.0), np.ndarray)


# ---- keyword arguments of nd.trace, and messages that name the function


def test_trace_takes_keyword_arguments_as_the_other_transformations_do():
    def f(v, a=1.0):
        return a * np.sum(v ** 3)

    tape = nd.trace(f, X, a=2.0)
    assert tape(X) == pytest.approx(18.0)
    assert tape(X, a=3.0) == pytest.approx(27.0)
    np.testing.assert_allclose(tape.gradient(X), 6.0 * X ** 2)
    np.testing.assert_allclose(tape.gradient(X, a=1.0), 3.0 * X ** 2)
    np.testing.assert_allclose(tape.vjp(X, 1.0), 6.0 * X ** 2)
    np.testing.assert_allclose(tape.jacobian(X), 6.0 * X ** 2)
    with pytest.raises(TypeError, match="keyword"):
        tape(X, b=1.0)
    with pytest.raises(TypeError, match="keyword"):
        nd.trace(f, X)(X, a=2.0)


def test_a_complex_argument_is_refused_with_the_functions_name():
    def my_objective(x):
        return np.sum(x * x)

    for transform in (nd.gradient, nd.grad, nd.hessian):
        with pytest.raises(nd.TracingError, match="my_objective"):
            transform(my_objective)(np.array([1.0 + 1.0j, 2.0]))
    with pytest.raises(nd.TracingError, match="my_objective"):
        nd.trace(my_objective, 1.0j)


def test_complex_values_given_to_a_replay_or_a_direction_are_refused_not_dropped():
    # NumPy's float64 conversion keeps the real part with only a warning: a tape
    # replayed at 1j once answered 0.0, and hvp's p = x * 1j gave zeros
    def f(x):
        return np.sum(x ** 2)
    x = np.array([1.0, 2.0])
    tape = nd.trace(f, x)
    replays = [lambda: tape(x * 1j), lambda: tape.gradient(x * 1j),
               lambda: tape.matches(x * 1j), lambda: tape.jacobian(x + 1j),
               lambda: tape.jvp(x, x * 1j), lambda: tape.vjp(x, 1j),
               lambda: nd.hvp(f)(x, x * 1j), lambda: nd.vjp(np.sin, x)[1](x * 1j),
               lambda: nd.jvp(np.sin, x, x * 1j)]
    for replay in replays:
        with pytest.raises(nd.TracingError, match="complex"):
            replay()


def test_directions_and_cotangents_of_the_wrong_shape_name_the_function():
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="vjp_fn of sin.*shaped like f's output"):
        nd.vjp(np.sin, x)[1](np.ones(3))
    with pytest.raises(ValueError, match="jvp of sin.*shaped like x"):
        nd.jvp(np.sin, x, np.ones(3))


def test_a_one_element_output_is_differentiated_as_its_element_everywhere():
    # np.sum(..., keepdims=True) and x[:1] ** 2: nd.gradient took them, nd.grad raised
    # NumPy's TypeError. Closed form: d/dx sum(x ** 2) = 2x.
    x = np.array([0.3, 0.5, 0.9])
    f = lambda t: np.sum(t ** 2, keepdims=True)   # noqa: E731
    value, g = nd.value_and_grad(f)(x)
    np.testing.assert_allclose(value, f(x))
    for got in (g, nd.grad(f)(x), nd.gradient(f)(x)):
        np.testing.assert_allclose(got, 2 * x, rtol=1e-15)
    np.testing.assert_allclose(nd.grad(lambda t: t[:1] ** 2)(x), [0.6, 0.0, 0.0])


@pytest.mark.parametrize("name", ["grad", "value_and_grad", "gradient", "value_and_gradient"])
def test_a_vector_output_error_names_the_transformation_called(name):
    x = np.array([0.3, 0.5])
    with pytest.raises(ValueError, match=f"nd.{name} of .*jacobian"):
        getattr(nd, name)(lambda t: t ** 2)(x)
    with pytest.raises(ValueError, match="returns no number"):
        getattr(nd, name)(lambda t: None)(x)


def test_namedtuples_and_ordered_dicts_are_points_and_come_back_as_themselves():
    import collections
    Params = collections.namedtuple("Params", "a b")
    p = Params(1.5, np.array([2.0, 3.0]))
    g = nd.grad(lambda p: p.a ** 2 + np.sum(p.b ** 3))(p)
    assert type(g) is Params
    assert g.a == pytest.approx(3.0) and np.allclose(g.b, 3 * p.b ** 2)
    od = collections.OrderedDict(w=2.0, v=np.array([1.0, -1.0]))
    g = nd.grad(lambda d: d["w"] * np.sum(d["v"] ** 2))(od)
    assert type(g) is collections.OrderedDict and list(g) == ["w", "v"]
    assert g["w"] == pytest.approx(2.0) and np.allclose(g["v"], 2 * 2.0 * od["v"])
    # (a namedtuple among the adapters' args is an input too)
    np.testing.assert_allclose(nd.gradient(lambda x, p: p.a * np.sum(x ** 2))(np.ones(2), p),
                               [3.0, 3.0])


def test_scan_and_odeint_called_directly_keep_float32():
    c, ys = nd.scan(lambda c, x: (c * 0.5 + x, c), np.float32(1.0), np.ones(3, np.float32))
    assert type(c) is np.float32 and ys.dtype == np.float32
    assert c == pytest.approx(1.875)   # 1 -> 1.5 -> 1.75 -> 1.875
    y = nd.odeint(lambda y, t: -y, np.ones(2, np.float32), np.linspace(0, 1, 3, dtype=np.float32))
    assert y.dtype == np.float32
    step = 1 - 0.5 + 0.5 ** 2 / 2 - 0.5 ** 3 / 6 + 0.5 ** 4 / 24   # (RK4's factor for -y)
    np.testing.assert_allclose(y[-1], step ** 2, rtol=1e-6)
    c, _ = nd.scan(lambda c, x: (c * 0.5 + x, None), 1.0, np.ones(3))
    assert type(c) is float


def test_none_a_complex_batch_and_a_dual_of_a_traced_value_are_tracing_errors():
    for transform in (nd.grad, nd.gradient, nd.hessian):
        with pytest.raises(nd.TracingError, match="with respect to None"):
            transform(lambda x: 1.0)(None)
    with pytest.raises(nd.TracingError, match="complex"):
        nd.gradient_batch(lambda x: np.sum(x ** 2))(np.ones((2, 2)) * 1j)
    with pytest.raises(nd.TracingError, match="nd.jvp"):
        nd.grad(lambda x: nd.Dual(x, 1.0).value)(1.0)
