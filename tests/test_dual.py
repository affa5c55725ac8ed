"""Forward mode with ``Dual`` numbers, checked op by op against numerical oracles."""
import numpy as np
import pytest
import scipy.special as sps

import numad as nd
from numad.dual import Dual, dual_elementwise, dual_where
from numad.optable import ELEMENTWISE, ELEMENTWISE_BY_NAME
from test_elementwise import COMPLEX_STEP, DOMAINS as ROW_DOMAINS

# ---------------------------------------------------------------------------------
# The chapter's example
# ---------------------------------------------------------------------------------


def poly(x):
    return 3 * x**5 - 2 * x**3 + 7 * x - 11


@pytest.mark.parametrize("x", [-2.0, -0.5, 0.0, 1.3, 3.0])
def test_polynomial_derivative_matches_closed_form(x):
    y = poly(Dual(x, 1.0))
    assert type(y.value) is float and type(y.tangent) is float
    assert y.value == pytest.approx(poly(x), rel=1e-15, abs=1e-15)
    assert y.tangent == pytest.approx(15 * x**4 - 6 * x**2 + 7, rel=1e-15)


# ---------------------------------------------------------------------------------
# Every differentiable row of the op table against an oracle
# ---------------------------------------------------------------------------------

# Every row is checked at points drawn from its domain in the one test table of the op
# table's rows (tests/test_elementwise.py's DOMAINS), and at these hand-picked points
# where a row has a case worth its own check (near 0, signs, both orders of a pair).
EXTRA_POINTS = {
    "neg": [(0.7,), (-1.3,)],
    "add": [(0.7, -1.3)],
    "sub": [(0.7, -1.3)],
    "mul": [(0.7, -1.3), (-2.0, 0.5)],
    "div": [(0.7, 1.3), (-1.1, 0.4)],
    "pow": [(1.3, 2.5), (0.7, -1.5), (2.0, 3.0)],
    "square": [(0.7,), (-1.3,)],
    "reciprocal": [(0.7,), (-1.3,)],
    "sqrt": [(0.7,), (2.5,)],
    "cbrt": [(0.7,), (-2.0,)],
    "exp": [(0.7,), (-1.3,)],
    "expm1": [(0.7,), (-1.3,), (1e-3,)],
    "log": [(0.7,), (3.0,)],
    "log1p": [(0.7,), (-0.5,)],
    "log2": [(0.7,), (3.0,)],
    "log10": [(0.7,), (3.0,)],
    "sin": [(0.7,), (-1.3,)],
    "cos": [(0.7,), (-1.3,)],
    "tan": [(0.7,), (-1.3,)],
    "arcsin": [(0.3,), (-0.6,)],
    "arccos": [(0.3,), (-0.6,)],
    "arctan": [(0.7,), (-2.0,)],
    "sinh": [(0.7,), (-1.3,)],
    "cosh": [(0.7,), (-1.3,)],
    "tanh": [(0.7,), (-1.3,)],
    "arcsinh": [(0.7,), (-2.0,)],
    "arccosh": [(1.5,), (3.0,)],
    "arctanh": [(0.3,), (-0.6,)],
    "arctan2": [(0.7, 1.3), (-0.5, -2.0)],
    "hypot": [(0.7, 1.3), (-3.0, 4.0)],
    "abs": [(0.7,), (-1.3,)],
    "maximum": [(0.7, 1.3), (1.3, 0.7)],
    "minimum": [(0.7, 1.3), (1.3, 0.7)],
    "mod": [(5.3, 2.0), (-5.3, 2.0), (5.3, -2.0)],
    "erf": [(0.7,), (-1.3,)],
    "erfc": [(0.7,), (-1.3,)],
    "ndtr": [(0.7,), (-1.3,)],
    "expit": [(0.7,), (-1.3,)],
    "copy": [(0.7,)],
}

# COMPLEX_STEP: the rows whose NumPy/SciPy implementation is complex-analytic on their
# domains, so that the complex step f(x + ih).imag / h gives the derivative to rounding
# error (tests/test_elementwise.py's).

DIFFERENTIABLE = [r for r in ELEMENTWISE if any(p is not None for p in r.partials)]
ZERO_DERIVATIVE = [r for r in ELEMENTWISE if all(p is None for p in r.partials)]


def oracle_partial(fn, args, i, complex_step):
    """d fn / d args[i], by complex step or by Richardson-extrapolated central differences."""
    args = list(args)

    def along(t):
        shifted = list(args)
        shifted[i] = args[i] + t
        return fn(*shifted)

    if complex_step:
        h = 1e-20
        return np.imag(along(1j * h)) / h
    # Central differences at h and h/2 combined to cancel the h^2 error term: O(h^4).
    def central(h):
        return (along(h) - along(-h)) / (2 * h)

    h = 1e-3
    return (4 * central(h / 2) - central(h)) / 3


def seeded(args, i, seed=1.0):
    """The operands with input ``i`` a Dual seeded with ``seed``, the others constants."""
    return [Dual(a, seed) if k == i else a for k, a in enumerate(args)]


def points(name):
    """Two scalar points drawn from the row's domain, then its hand-picked ones."""
    rng = np.random.default_rng(sum(map(ord, name)))
    return [ROW_DOMAINS[name](rng, ()) for _ in range(2)] + EXTRA_POINTS.get(name, [])


def test_every_differentiable_row_has_a_domain():
    assert {r.name for r in DIFFERENTIABLE} <= set(ROW_DOMAINS)
    assert set(EXTRA_POINTS) <= {r.name for r in DIFFERENTIABLE}


@pytest.mark.parametrize("row", DIFFERENTIABLE, ids=lambda r: r.name)
def test_row_partials_match_oracle(row):
    complex_step = row.name in COMPLEX_STEP
    rtol = 1e-13 if complex_step else 1e-8
    for args in points(row.name):
        for i, partial in enumerate(row.partials):
            if partial is None:
                continue
            out = dual_elementwise(row.name, *seeded(args, i))
            assert out.value == pytest.approx(float(row.numpy(*args)), rel=1e-15)
            expected = oracle_partial(row.numpy, args, i, complex_step)
            assert out.tangent == pytest.approx(expected, rel=rtol, abs=1e-12), (
                f"d{row.name}/d{'ab'[i]} at {args}: {partial}"
            )


@pytest.mark.parametrize("row", [r for r in DIFFERENTIABLE if r.arity == 2], ids=lambda r: r.name)
def test_binary_row_tangent_is_the_chain_rule_over_both_inputs(row):
    args = points(row.name)[0]
    ta, tb = 0.3, -0.7
    both = dual_elementwise(row.name, Dual(args[0], ta), Dual(args[1], tb))
    da = dual_elementwise(row.name, *seeded(args, 0)).tangent
    db = dual_elementwise(row.name, *seeded(args, 1)).tangent
    assert both.tangent == pytest.approx(da * ta + db * tb, rel=1e-14)


@pytest.mark.parametrize("row", ZERO_DERIVATIVE, ids=lambda r: r.name)
def test_zero_derivative_rows_carry_no_tangent(row):
    args = (0.7, 1.3)[: row.arity]
    out = dual_elementwise(row.name, *[Dual(a, 1.0) for a in args])
    expected = row.numpy(*args)
    if np.asarray(expected).dtype == np.bool_:
        assert out is bool(expected)           # comparisons and predicates: plain answers
    else:
        assert out.value == expected and out.tangent == 0.0


# ---------------------------------------------------------------------------------
# Several directions at once
# ---------------------------------------------------------------------------------

DIRECTIONS_A = np.array([1.0, -2.0, 0.5])
DIRECTIONS_B = np.array([0.0, 1.0, -0.25])


@pytest.mark.parametrize("row", DIFFERENTIABLE, ids=lambda r: r.name)
def test_vector_tangent_matches_one_direction_at_a_time(row):
    args = points(row.name)[0]
    seeds = [DIRECTIONS_A, DIRECTIONS_B][: row.arity]
    many = dual_elementwise(row.name, *[Dual(a, s) for a, s in zip(args, seeds)])
    assert isinstance(many.tangent, np.ndarray) and many.tangent.shape == (3,)
    for k in range(3):
        one = dual_elementwise(row.name, *[Dual(a, s[k]) for a, s in zip(args, seeds)])
        assert many.tangent[k] == pytest.approx(one.tangent, rel=1e-14, abs=1e-300)


def test_array_value_with_vector_tangent_broadcasts_against_arrays():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, (2, 3))
    w = rng.uniform(-1.0, 1.0, 3)
    directions = rng.normal(size=(2, 3, 4))
    many = np.sin(Dual(x, directions)) * w + Dual(x, directions) ** 2
    assert many.value.shape == (2, 3) and many.tangent.shape == (2, 3, 4)
    for k in range(4):
        one = np.sin(Dual(x, directions[..., k])) * w + Dual(x, directions[..., k]) ** 2
        np.testing.assert_allclose(many.tangent[..., k], one.tangent, rtol=1e-14)
    np.testing.assert_allclose(many.tangent, ((np.cos(x) * w + 2 * x)[..., None] * directions),
                               rtol=1e-14)


def test_scalar_with_directions_times_array():
    out = Dual(2.0, np.array([1.0, 0.0])) * np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(out.tangent, [[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])


def test_mismatched_directions_are_refused():
    with pytest.raises(ValueError, match="directions"):
        Dual(1.0, np.array([1.0, 0.0])) + Dual(1.0, np.array([1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="directions"):
        Dual(1.0, np.array([1.0, 0.0])) + Dual(1.0, 1.0)


def test_constant_dual_mixes_with_vector_tangents():
    out = Dual(1.0, np.array([1.0, 0.0])) * Dual(3.0)
    np.testing.assert_array_equal(out.tangent, [3.0, 0.0])


# ---------------------------------------------------------------------------------
# NumPy ufuncs and operators
# ---------------------------------------------------------------------------------

def test_numpy_ufuncs_act_on_duals():
    out = np.exp(Dual(0.5, 2.0))
    assert isinstance(out, Dual)
    assert out.value == pytest.approx(np.exp(0.5)) and out.tangent == pytest.approx(2 * np.exp(0.5))
    assert np.add(Dual(1.0, 1.0), 1.0).tangent == 1.0
    assert np.multiply(2.0, Dual(1.0, 1.0)).tangent == 2.0
    assert sps.erf(Dual(0.0, 1.0)).tangent == pytest.approx(2 / np.sqrt(np.pi))
    assert np.fabs(Dual(-2.0, 1.0)).tangent == -1.0
    assert np.float_power(Dual(2.0, 1.0), 3.0).tangent == pytest.approx(12.0)
    assert np.positive(Dual(2.0, 1.0)).tangent == 1.0          # copy, not stop_gradient


def test_arrays_and_numpy_scalars_on_the_left_give_duals():
    out = np.array([1.0, 2.0]) * Dual(np.array([3.0, 4.0]), 1.0)
    assert isinstance(out, Dual)
    np.testing.assert_array_equal(out.tangent, [1.0, 2.0])
    assert isinstance(np.float64(2.0) * Dual(1.0, 1.0), Dual)
    assert (np.float64(2.0) - Dual(1.0, 1.0)).tangent == -1.0


def test_operators_follow_the_rules():
    x = Dual(1.5, 1.0)
    assert (2.0 - x).tangent == -1.0
    assert (3.0 / x).tangent == pytest.approx(-3.0 / 1.5**2)
    assert (2.0 ** x).tangent == pytest.approx(np.log(2.0) * 2.0**1.5)
    assert (-x).tangent == -1.0 and (+x).tangent == 1.0
    assert (x % 1.0).tangent == 1.0 and (x // 1.0).tangent == 0.0
    assert (Dual(-1.5, 1.0) ** 3).tangent == pytest.approx(3 * 1.5**2)   # negative base


def test_abs_has_zero_slope_at_zero():
    assert abs(Dual(0.0, 1.0)).tangent == 0.0
    assert abs(Dual(-2.0, 1.0)).tangent == -1.0


def test_unknown_ufunc_names_itself():
    with pytest.raises(TypeError, match="spence"):
        sps.spence(Dual(1.0, 1.0))
    with pytest.raises(TypeError, match="spacing"):
        np.spacing(Dual(1.0, 1.0))
    with pytest.raises(TypeError, match="reduce"):
        np.add.reduce(Dual(np.ones(3), 1.0))


def test_comparisons_compare_values_and_return_plain_booleans():
    x = Dual(1.0, 5.0)
    assert (x < 2.0) is True and (x > 2.0) is False and (x == 1.0) is True
    assert (x <= Dual(1.0, -3.0)) is True and (x != 1.0) is False
    np.testing.assert_array_equal(Dual(np.arange(3.0), 1.0) >= 1.0, [False, True, True])


def test_float_of_a_dual_says_to_use_value():
    with pytest.raises(TypeError, match=r"\.value"):
        float(Dual(1.0, 1.0))


def test_scalar_duals_hold_python_floats():
    d = Dual(2, 1)
    assert type(d.value) is float and type(d.tangent) is float
    out = np.sin(d) * 3 + d
    assert type(out.value) is float and type(out.tangent) is float


def test_repr_shows_value_and_tangent():
    assert repr(Dual(2.0, 1.0)) == "Dual(2.0, 1.0)"


def test_indexing_keeps_the_directions_axis_last():
    d = Dual(np.arange(6.0).reshape(2, 3), np.ones((2, 3, 4)))
    assert d[0].tangent.shape == (3, 4)
    assert d[..., 1].tangent.shape == (2, 4)
    assert d[1, 2].value == 5.0 and d[1, 2].tangent.shape == (4,)


# ---------------------------------------------------------------------------------
# inf and nan stay where they belong
# ---------------------------------------------------------------------------------

def test_sqrt_at_zero_has_infinite_slope():
    assert np.sqrt(Dual(0.0, 1.0)).tangent == np.inf


def test_zero_tangent_never_meets_an_infinite_partial():
    assert np.sqrt(Dual(0.0, 0.0)).tangent == 0.0
    np.testing.assert_array_equal(np.sqrt(Dual(0.0, np.array([1.0, 0.0]))).tangent, [np.inf, 0.0])
    out = np.sqrt(Dual(np.array([0.0, 4.0]), np.array([0.0, 1.0])))
    np.testing.assert_array_equal(out.tangent, [0.0, 0.25])
    # A constant exponent at a zero base: 0 ** 2 has slope 0 in a, and none from b.
    assert (Dual(0.0, 1.0) ** 2.0).tangent == 0.0


def test_dual_where_keeps_the_untaken_side_out_of_the_tangent():
    x = Dual(np.array([0.0, 4.0]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    with np.errstate(divide="ignore"):
        out = dual_where(x.value > 0, np.sqrt(x), 0.0)
    np.testing.assert_array_equal(out.value, [0.0, 2.0])
    np.testing.assert_array_equal(out.tangent, [[0.0, 0.0], [0.0, 0.25]])
    assert dual_where(True, Dual(1.0, 2.0), Dual(3.0, 4.0)).tangent == 2.0


def test_partial_evaluation_raises_no_warnings(recwarn):
    np.sqrt(Dual(0.0, 1.0))
    np.hypot(Dual(0.0, 1.0), 0.0)
    Dual(2.0, 1.0) ** 0.5
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_dual_elementwise_checks_its_arguments():
    with pytest.raises(ValueError, match="no_such_op"):
        dual_elementwise("no_such_op", Dual(1.0, 1.0))
    with pytest.raises(TypeError, match="2 operand"):
        dual_elementwise("add", Dual(1.0, 1.0))
    assert dual_elementwise("stop_gradient", Dual(2.0, 1.0)).tangent == 0.0
    assert dual_elementwise("exp", 0.0) == 1.0          # no Dual: the plain NumPy result
    assert ELEMENTWISE_BY_NAME["exp"].numpy is np.exp


# ---- the reductions and joins that are no ufuncs (API: each works on Duals) ----------

_V = np.random.default_rng(7).uniform(0.5, 2.0, (3, 4))
_T = np.random.default_rng(8).standard_normal((3, 4))
_W = np.random.default_rng(9).standard_normal((4, 2))


def _central(f, h=1e-6):
    """The directional derivative of f at _V along _T, by central differences."""
    return (f(_V + h * _T) - f(_V - h * _T)) / (2 * h)


NO_UFUNC_CASES = {
    "nd.prod": (lambda x: nd.prod(x), np.prod),
    "nd.prod axis": (lambda x: nd.prod(x, axis=1), lambda w: np.prod(w, axis=1)),
    "np.prod keepdims": (lambda x: np.prod(x, axis=0, keepdims=True),
                         lambda w: np.prod(w, axis=0, keepdims=True)),
    "nd.max": (lambda x: nd.max(x), np.max),
    "np.min axis": (lambda x: np.min(x, axis=1), lambda w: np.min(w, axis=1)),
    "np.sum": (lambda x: np.sum(x, axis=0), lambda w: np.sum(w, axis=0)),
    "np.mean": (lambda x: np.mean(x), np.mean),
    "nd.dot matrix": (lambda x: nd.dot(x, _W), lambda w: np.dot(w, _W)),
    "np.dot two duals": (lambda x: np.dot(x[0], x[1]), lambda w: np.dot(w[0], w[1])),
    "nd.stack": (lambda x: nd.stack([x, 2.0 * x], axis=-1),
                 lambda w: np.stack([w, 2.0 * w], axis=-1)),
    "np.stack with a constant": (lambda x: np.stack([x, np.ones((3, 4))]),
                                 lambda w: np.stack([w, np.ones((3, 4))])),
    "np.concatenate": (lambda x: np.concatenate([x, x[:1]]),
                       lambda w: np.concatenate([w, w[:1]])),
    "nd.concatenate axis None": (lambda x: nd.concatenate([x, x], axis=None),
                                 lambda w: np.concatenate([w, w], axis=None)),
}


@pytest.mark.parametrize("name", NO_UFUNC_CASES)
def test_dual_through_reductions_and_joins_matches_central_differences(name):
    on_dual, on_floats = NO_UFUNC_CASES[name]
    out = on_dual(Dual(_V, _T))
    np.testing.assert_allclose(out.value, on_floats(_V), rtol=1e-15)
    np.testing.assert_allclose(out.tangent, _central(on_floats), rtol=1e-7, atol=1e-9)
    # two directions at once give each direction's tangent
    both = on_dual(Dual(_V, np.stack([_T, -3.0 * _T], axis=-1)))
    np.testing.assert_allclose(both.tangent[..., 0], out.tangent, rtol=1e-14)
    np.testing.assert_allclose(both.tangent[..., 1], -3.0 * out.tangent, rtol=1e-14)


def test_dual_prod_at_a_zero_entry_and_max_at_a_tie():
    # d/dx of x0 x1 x2 at (2, 0, 3) along (1, 1, 1): x1 x2 + x0 x2 + x0 x1 = 0 + 6 + 0
    out = nd.prod(Dual(np.array([2.0, 0.0, 3.0]), np.ones(3)))
    assert (out.value, out.tangent) == (0.0, 6.0)
    # tied maxima share the derivative equally (as the reverse mode's gradient does)
    top = nd.max(Dual(np.array([1.0, 3.0, 3.0]), np.array([5.0, 1.0, 2.0])))
    assert (top.value, top.tangent) == (3.0, 1.5)
    assert nd.dot(Dual(2.0, 1.0), Dual(3.0, 0.0)).tangent == 3.0


def test_dual_reductions_refuse_options_they_cannot_honour():
    with pytest.raises(TypeError, match="nd.prod on a Dual takes only axis and keepdims"):
        nd.prod(Dual(_V, _T), dtype=np.float64)
    with pytest.raises(TypeError, match="out="):
        nd.dot(Dual(_V, _T), _W, np.empty((3, 2)))


def test_clip_round_and_where_on_duals_broadcast_and_follow_numpy():
    # clip: bounds broadcast and may be Duals (a bound's tangent where it is taken);
    # round and where: NumPy's functions reach the Dual rules. Oracles: NumPy on the
    # values, and the tracer's jvp for the tangents.
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    d = nd.clip(nd.Dual(x, np.ones(5)), 0.0, 1.0)
    value, tangent = nd.jvp(lambda t: np.clip(t, 0.0, 1.0), x, np.ones(5))
    np.testing.assert_array_equal(d.value, value)
    np.testing.assert_array_equal(d.tangent, tangent)
    wide = nd.clip(nd.Dual(np.ones((3, 1)), np.ones((3, 1))), np.zeros((1, 4)), 2.0)
    assert wide.value.shape == (3, 4) and np.all(wide.tangent == 1.0)
    assert nd.clip(0.5, nd.Dual(1.3, 1.0), 1.2).value == np.clip(0.5, 1.3, 1.2)
    lo = nd.clip(nd.Dual(-0.5, 1.0), nd.Dual(0.0, 2.0), 1.0)
    assert (lo.value, lo.tangent) == (0.0, 2.0)
    r = np.round(nd.Dual(1.26, 1.0), 1)
    assert r.value == np.round(1.26, 1) and r.tangent == 0.0
    assert nd.round(nd.Dual(1256.0, 1.0), -2).value == np.round(1256.0, -2)
    w = np.where(np.array([True, False]), nd.Dual(np.ones(2), np.ones(2)), 0.0)
    np.testing.assert_array_equal(w.tangent, [1.0, 0.0])
    assert nd.round(1.26, 1) == np.round(1.26, 1)
    assert nd.grad(lambda t: t.round() * t)(1.4) == 1.0


def test_a_math_function_on_a_dual_is_named_with_its_replacement():
    import math
    with pytest.raises(nd.TracingError, match=r"math\.exp .*use np\.exp"):
        math.exp(nd.Dual(1.0, 1.0))
    with pytest.raises(nd.TracingError, match=r"float\(\) of a Dual"):
        float(nd.Dual(1.0, 1.0))
