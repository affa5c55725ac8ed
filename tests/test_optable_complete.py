"""One table for every primitive: each table derived from the op table has every op and
agrees with it.

* every row carries its columns (ufuncs, one may-be-infinite flag per partial, a doc);
* ``tracer.UFUNCS`` is exactly the rows' ufuncs column, the tracer's composite ufuncs are
  the shared compositions, and the nested sweeps' masks are the rows' flags;
* every ufunc the tracer accepts works on a ``Dual``, with the tangent that ``nd.grad``,
  ``nd.jvp`` and central differences give, and (compositions) second derivatives that
  match differences of the gradient;
* the flags are honest: a FINITE partial is finite on a grid of finite points that
  includes the extremes, a MAYBE_INF one is not, and at such a point an untaken
  ``where`` branch leaks nothing into first or second derivatives.

The per-row oracle table (every row's derivative against differences, to second order)
is ``tests/test_elementwise.py``; its ``DOMAINS`` are reused here.
"""
import warnings

import numpy as np
import pytest
import scipy.special as sps

import numad as nd
from numad import nested
from numad import numpy_dispatch as D
from numad.compositions import COMPOSITIONS
from numad.dual import Dual, dual_elementwise
from numad.optable import (ELEMENTWISE, ELEMENTWISE_BY_NAME, EXPRESSION_FUNCTIONS, FINITE,
                           MAYBE_INF, UFUNC_ROWS)
from test_elementwise import DOMAINS as ROW_DOMAINS
from test_elementwise import _apart, _intervals, function_of

DIFFERENTIABLE = [r for r in ELEMENTWISE if any(d is not None for d in r.partials)]


# ---------------------------------------------------------------------------------
# The table's own columns
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("row", ELEMENTWISE, ids=lambda r: r.name)
def test_every_row_has_its_columns(row):
    assert len(row.may_be_infinite) == row.arity == len(row.partials)
    assert all(f is MAYBE_INF or f is FINITE for f in row.may_be_infinite)
    for d, flag in zip(row.partials, row.may_be_infinite):
        if d is None:
            assert flag is FINITE, "an identically-zero partial is finite"
    assert row.doc.strip() and "\n" not in row.doc
    assert all(isinstance(u, np.ufunc) and u.nin == row.arity for u in row.ufuncs)
    if row.name == "stop_gradient":
        assert row.ufuncs == ()  # np.positive is its stand-in, and means copy
    elif isinstance(row.numpy, np.ufunc):
        assert row.numpy in row.ufuncs


def test_the_test_table_covers_every_row():
    assert set(ROW_DOMAINS) == {r.name for r in ELEMENTWISE}


# ---------------------------------------------------------------------------------
# Derived tables: the tracer's dispatch, its compositions, the nested sweeps' masks
# ---------------------------------------------------------------------------------

# What tracer.UFUNCS held before it was derived from the table: every ufunc must still
# trace, to the same row or (fmax, fmin: NaN-aware now) to a composition.
_BEFORE = {
    np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div",
    np.power: "pow", np.float_power: "pow", np.negative: "neg", np.positive: "copy",
    np.square: "square", np.reciprocal: "reciprocal", np.sqrt: "sqrt", np.cbrt: "cbrt",
    np.exp: "exp", np.expm1: "expm1", np.log: "log", np.log1p: "log1p", np.log2: "log2",
    np.log10: "log10", np.sin: "sin", np.cos: "cos", np.tan: "tan", np.arcsin: "arcsin",
    np.arccos: "arccos", np.arctan: "arctan", np.sinh: "sinh", np.cosh: "cosh",
    np.tanh: "tanh", np.arcsinh: "arcsinh", np.arccosh: "arccosh", np.arctanh: "arctanh",
    np.arctan2: "arctan2", np.hypot: "hypot", np.abs: "abs", np.fabs: "abs",
    np.maximum: "maximum", np.minimum: "minimum", np.fmax: "maximum", np.fmin: "minimum",
    np.mod: "mod", np.sign: "sign", np.floor: "floor", np.ceil: "ceil", np.rint: "round",
    np.trunc: "trunc", np.floor_divide: "floor_divide", np.greater: "greater",
    np.greater_equal: "greater_equal", np.less: "less", np.less_equal: "less_equal",
    np.equal: "equal", np.not_equal: "not_equal", np.logical_and: "logical_and",
    np.logical_or: "logical_or", np.logical_xor: "logical_xor",
    np.logical_not: "logical_not", np.isnan: "isnan", np.isfinite: "isfinite",
    np.conjugate: "copy", sps.erf: "erf", sps.erfc: "erfc", sps.ndtr: "ndtr",
    sps.expit: "expit",
}


def test_tracer_ufuncs_are_the_rows_ufuncs():
    assert D.UFUNCS == {u: r.name for r in ELEMENTWISE for u in r.ufuncs}
    assert D.UFUNCS == UFUNC_ROWS


def test_no_ufunc_that_traced_before_is_lost():
    for ufunc, name in _BEFORE.items():
        if ufunc in (np.fmax, np.fmin):
            assert ufunc in COMPOSITIONS and ufunc not in D.UFUNCS
        else:
            assert D.UFUNCS[ufunc] == name, ufunc


def test_tracer_composites_are_the_shared_compositions():
    assert set(D.COMPOSITE_UFUNCS) == set(COMPOSITIONS) | {np.matmul}
    assert not set(D.COMPOSITE_UFUNCS) & set(D.UFUNCS)


def test_nested_contributions_are_strong_zero_products():
    """The nested sweeps write each contribution g * d as adjoint_mul, whose value is
    exactly 0 where the adjoint is, against any partial; its second input's zero
    partial (the adjoint) is the table's one strong zero."""
    row = ELEMENTWISE_BY_NAME["adjoint_mul"]
    assert row.strong_zero == (False, True)
    assert [r.name for r in ELEMENTWISE if any(r.strong_zero)] == ["adjoint_mul"]
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(row.numpy(np.array([0.0, 0.0, 2.0]),
                                                np.array([np.inf, np.nan, 3.0])), [0.0, 0.0, 6.0])
    tape = nd.trace(nd.grad(lambda x: np.sum(np.sin(x) * x)), np.array([0.5, 1.0]))
    assert "adjoint_mul" in str(tape)


def test_nested_evaluates_every_expression_function_as_a_row():
    for name in EXPRESSION_FUNCTIONS:
        assert name in nested._NS, name


# ---------------------------------------------------------------------------------
# Every ufunc the tracer accepts, on a Dual, against grad, jvp and differences
# ---------------------------------------------------------------------------------

COMPOSITE_DOMAINS = {
    np.exp2: _intervals((-2, 2)),
    np.deg2rad: _intervals((-3, 3)),
    np.radians: _intervals((-3, 3)),
    np.rad2deg: _intervals((-3, 3)),
    np.degrees: _intervals((-3, 3)),
    np.logaddexp: _intervals((-2, 2), (-2, 2)),
    np.logaddexp2: _intervals((-2, 2), (-2, 2)),
    np.fmax: _apart,
    np.fmin: _apart,
    sps.entr: _intervals((0.1, 3)),
    sps.rel_entr: _intervals((0.1, 3), (0.1, 3)),
    sps.kl_div: _intervals((0.1, 3), (0.1, 3)),
    sps.huber: _intervals((1.0, 2.0), (-0.5, 0.5)),
    sps.pseudo_huber: _intervals((0.5, 2.0), (-3, 3)),
    sps.betaln: _intervals((0.5, 3), (0.5, 3)),
    sps.beta: _intervals((0.5, 3), (0.5, 3)),
    sps.log_expit: _intervals((-3, 3)),
    sps.boxcox: _intervals((0.5, 3), (0.2, 1.5)),
    sps.boxcox1p: _intervals((0.0, 2.0), (0.2, 1.5)),
    sps.inv_boxcox: _intervals((0.1, 2.0), (0.2, 1.5)),
    sps.inv_boxcox1p: _intervals((0.1, 2.0), (0.2, 1.5)),
}
ELEMENTWISE_UFUNCS = list(D.UFUNCS) + list(COMPOSITIONS)


def _label(ufunc):
    return D.ufunc_name(ufunc)


def _domain(ufunc):
    return COMPOSITE_DOMAINS[ufunc] if ufunc in COMPOSITIONS else ROW_DOMAINS[D.UFUNCS[ufunc]]


def _zero_derivative(ufunc):
    name = D.UFUNCS.get(ufunc)
    return name is not None and all(d is None for d in ELEMENTWISE_BY_NAME[name].partials)


def central(fn, args, i):
    """d fn / d args[i] by central differences at h and h/2, Richardson-combined."""
    def along(t):
        shifted = list(args)
        shifted[i] = args[i] + t
        return np.asarray(fn(*shifted), dtype=np.float64)

    def diff(h):
        return (along(h) - along(-h)) / (2 * h)
    return (4 * diff(5e-4) - diff(1e-3)) / 3


def test_every_accepted_elementwise_ufunc_has_a_domain():
    assert set(COMPOSITE_DOMAINS) == set(COMPOSITIONS)
    for ufunc in ELEMENTWISE_UFUNCS:
        assert len(_domain(ufunc)(np.random.default_rng(0), ())) == ufunc.nin


@pytest.mark.parametrize("ufunc", ELEMENTWISE_UFUNCS, ids=_label)
def test_dual_tangent_matches_grad_jvp_and_differences(ufunc):
    rng = np.random.default_rng(abs(hash(ufunc.__name__)) % 2**32)
    n = ufunc.nin
    for _ in range(2):
        args = _domain(ufunc)(rng, ())
        if _zero_derivative(ufunc):
            # comparisons and steps: a plain answer, or a Dual with zero tangent
            out = ufunc(*[Dual(a, 1.0) for a in args])
            expected = ufunc(*args)
            if isinstance(out, Dual):
                assert out.value == expected and out.tangent == 0.0
            else:
                assert out == expected
            continue
        grads = nd.grad(lambda *xs: ufunc(*xs), argnums=tuple(range(n)))(*args)
        for i in range(n):
            seeded = [Dual(a, 1.0 if k == i else 0.0) for k, a in enumerate(args)]
            out = ufunc(*seeded)
            assert isinstance(out, Dual)
            assert out.value == pytest.approx(float(ufunc(*args)), rel=1e-14, abs=1e-15)
            assert out.tangent == pytest.approx(grads[i], rel=1e-12, abs=1e-14), \
                f"{_label(ufunc)}: Dual and grad disagree at {args}, input {i}"
            assert out.tangent == pytest.approx(float(central(ufunc, args, i)),
                                                rel=1e-7, abs=1e-9)
            # a constant operand in place of the zero-tangent Dual: the same tangent
            mixed = [Dual(a, 1.0) if k == i else a for k, a in enumerate(args)]
            assert ufunc(*mixed).tangent == pytest.approx(out.tangent, rel=1e-14, abs=1e-15)
        v = tuple(rng.uniform(-1, 1, n))
        _, t = nd.jvp(lambda xs: ufunc(*xs), tuple(args), v)
        out = ufunc(*[Dual(a, vk) for a, vk in zip(args, v)])
        assert out.tangent == pytest.approx(t, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("ufunc", [u for u in ELEMENTWISE_UFUNCS if not _zero_derivative(u)],
                         ids=_label)
def test_dual_arrays_with_directions_match_the_jacobian(ufunc):
    rng = np.random.default_rng(5)
    args = _domain(ufunc)(rng, (4,))
    z = np.concatenate(args)

    def f(z):
        return ufunc(*[z[4 * k:4 * k + 4] for k in range(ufunc.nin)])
    J = nd.jacobian(f)(z)
    seeds = [Dual(a, np.eye(4 * ufunc.nin)[4 * k:4 * k + 4]) for k, a in enumerate(args)]
    out = ufunc(*seeds)
    assert out.tangent.shape == (4, 4 * ufunc.nin)
    np.testing.assert_allclose(out.tangent, J, rtol=1e-12, atol=1e-14)


def test_matmul_on_duals_matches_the_jacobian():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 4))
    x = rng.normal(size=4)
    out = np.matmul(A, Dual(x, np.eye(4)))
    np.testing.assert_allclose(out.value, A @ x)
    np.testing.assert_allclose(out.tangent, nd.jacobian(lambda x: A @ x)(x), rtol=1e-14)
    B = Dual(A, rng.normal(size=A.shape))
    out = B @ Dual(x, 1.0)
    np.testing.assert_allclose(out.tangent, B.tangent @ x + A @ np.ones(4), rtol=1e-14)


def test_python_operators_are_their_ufuncs():
    pairs = [(lambda a, b: a + b, np.add), (lambda a, b: a - b, np.subtract),
             (lambda a, b: a * b, np.multiply), (lambda a, b: a / b, np.true_divide),
             (lambda a, b: a // b, np.floor_divide), (lambda a, b: a % b, np.mod),
             (lambda a, b: a ** b, np.power)]
    operands = ((Dual(1.7, 1.0), 0.6), (1.7, Dual(0.6, 1.0)), (Dual(1.7, 0.3), Dual(0.6, -2.0)))
    for op, ufunc in pairs:
        for a, b in operands:
            got, want = op(a, b), ufunc(a, b)
            assert (got.value, got.tangent) == (want.value, want.tangent), ufunc
    x = Dual(-1.5, 1.0)
    assert ((-x).tangent, (+x).tangent, abs(x).tangent) == (-1.0, 1.0, -1.0)


# ---------------------------------------------------------------------------------
# Compositions to second order, and their awkward points
# ---------------------------------------------------------------------------------

def hessian_fd(f, x, h=1e-5):
    g = nd.gradient(f)
    return np.stack([(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(x.size)], axis=1)


@pytest.mark.parametrize("ufunc", list(COMPOSITIONS), ids=_label)
def test_compositions_second_order_against_differences_of_the_gradient(ufunc):
    args = COMPOSITE_DOMAINS[ufunc](np.random.default_rng(11), (3,))
    z = np.concatenate(args)

    def f(z):
        y = ufunc(*[z[3 * k:3 * k + 3] for k in range(ufunc.nin)])
        return np.sum(y * y * np.arange(1.0, 4.0))
    H = nd.hessian(f)(z)
    np.testing.assert_allclose(H, hessian_fd(f, z), rtol=1e-6, atol=1e-6)
    nested_H = nd.jacobian(nd.gradient(f))(z)   # the traced reverse sweep, differentiated
    np.testing.assert_allclose(nested_H, H, rtol=1e-10, atol=1e-12)


def test_logaddexp_is_exact_at_a_tie_to_second_order():
    # softplus(x) = logaddexp(0, x): slope 1/2 and curvature 1/4 at 0
    assert nd.grad(lambda x: np.logaddexp(0.0, x))(0.0) == pytest.approx(0.5, rel=1e-15)
    assert nd.grad(nd.grad(lambda x: np.logaddexp(0.0, x)))(0.0) == pytest.approx(0.25, rel=1e-15)
    H = nd.hessian(lambda v: np.logaddexp(v[0], v[1]))(np.array([0.3, 0.3]))
    np.testing.assert_allclose(H, [[0.25, -0.25], [-0.25, 0.25]], rtol=1e-14)
    assert np.logaddexp(Dual(0.3, 1.0), Dual(0.3, 0.0)).tangent == pytest.approx(0.5)


@pytest.mark.parametrize("a,b", [(0.0, -40.0), (-np.inf, 1.0), (np.inf, np.inf),
                                 (-np.inf, -np.inf), (800.0, 799.0), (np.nan, 1.0)])
def test_logaddexp_values_match_numpy(a, b):
    for fn in (np.logaddexp, np.logaddexp2):
        with np.errstate(invalid="ignore"):
            expected = fn(a, b)
        traced = nd.trace(lambda x: fn(x, b), 0.5)(a)
        dual = fn(Dual(a, 1.0), b).value
        for got in (traced, dual):
            if np.isnan(expected):
                assert np.isnan(got)
            else:
                assert got == pytest.approx(expected, rel=1e-15, abs=0.0)


@pytest.mark.parametrize("ufunc", [np.fmax, np.fmin], ids=_label)
def test_fmax_fmin_let_a_nan_give_way_traced_replayed_and_dual(ufunc):
    tape = nd.trace(lambda x: ufunc(x, 1.0), 0.5)
    assert tape(np.nan) == 1.0 and tape(2.0) == ufunc(2.0, 1.0)
    assert nd.trace(lambda x: ufunc(np.nan, x), 0.5)(0.25) == 0.25
    assert nd.grad(lambda x: ufunc(x, np.nan))(0.3) == 1.0
    d = ufunc(Dual(np.nan, 1.0), 1.0)
    assert (d.value, d.tangent) == (1.0, 0.0)
    d = ufunc(Dual(0.3, 1.0), np.nan)
    assert (d.value, d.tangent) == (0.3, 1.0)
    both = ufunc(Dual(np.array([np.nan, 0.2]), 1.0), Dual(np.array([0.7, np.nan]), 2.0))
    np.testing.assert_array_equal(both.value, [0.7, 0.2])
    np.testing.assert_array_equal(both.tangent, [2.0, 1.0])


@pytest.mark.parametrize("ufunc", [np.maximum, np.minimum, np.fmax, np.fmin], ids=_label)
def test_a_tie_with_a_constant_gives_slope_zero_in_every_mode(ufunc):
    traced = nd.grad(lambda x: ufunc(x, 0.5))(0.5)
    assert traced == 0.0
    assert ufunc(Dual(0.5, 1.0), 0.5).tangent == 0.0
    assert ufunc(0.5, Dual(0.5, 1.0)).tangent == 0.0
    # two variables that tie share the slope: maximum(x, x) is x
    assert ufunc(Dual(0.5, 1.0), Dual(0.5, 1.0)).tangent == pytest.approx(1.0)
    assert nd.grad(lambda x: ufunc(x, x))(0.5) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------
# The may-be-infinite flags, checked both ways on a grid of finite points
# ---------------------------------------------------------------------------------

_M = np.finfo(np.float64).max
_MAGNITUDES = [0.0, 5e-324, 1e-300, 1e-160, 0.25, 0.5, 1.0, np.pi / 2, 2.0, 3.0, 709.0,
               710.0, 1e154, 1e200, 1e308, _M]
GRID = np.array(sorted({s * m for m in _MAGNITUDES for s in (1.0, -1.0)}))


def partial_on_grid(row, k):
    """Row ``row``'s partial in input k at every grid point (pairs for binary rows),
    evaluated as Duals evaluate it, with the grid points and their row values."""
    if row.arity == 1:
        points = (GRID,)
    else:
        points = tuple(np.meshgrid(GRID, GRID, indexing="ij"))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seeded = [Dual(p, 1.0 if i == k else 0.0) for i, p in enumerate(points)]
        return points, np.asarray(dual_elementwise(row.name, *seeded).tangent)


FLAGGED = [(r, k) for r in DIFFERENTIABLE for k in range(r.arity) if r.partials[k] is not None]


@pytest.mark.parametrize("row,k", FLAGGED, ids=[f"{r.name}-d{'ab'[k]}" for r, k in FLAGGED])
def test_may_be_infinite_flags_are_honest(row, k):
    _, partial = partial_on_grid(row, k)
    finite = np.isfinite(partial)
    if row.may_be_infinite[k] is FINITE:
        assert finite.all(), f"d{row.name}/d{'ab'[k]} = {row.partials[k]} is not finite somewhere"
    else:
        assert not finite.all(), (f"d{row.name}/d{'ab'[k]} = {row.partials[k]} is finite on the "
                                  f"whole grid: flag it FINITE (masking it costs entries)")


INFINITE = [(r, k) for r, k in FLAGGED if r.may_be_infinite[k] is MAYBE_INF]


@pytest.mark.parametrize("row,k", INFINITE, ids=[f"{r.name}-d{'ab'[k]}" for r, k in INFINITE])
def test_an_untaken_branch_leaks_nothing_where_its_partial_is_infinite(row, k):
    """At a finite point where the partial is inf or nan, ``where`` takes the other branch
    (3 x): first and second derivatives are exactly 3 and 0, by every route."""
    points, partial = partial_on_grid(row, k)
    at = tuple(p[~np.isfinite(partial)][0] for p in points)
    p = float(at[k])
    fn = function_of(row)

    def g(x):
        operands = [x if i == k else float(at[i]) for i in range(row.arity)]
        return nd.where(x != p, fn(*operands), 3.0 * x)

    def f(v):
        return g(v[0])
    z = np.array([p])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nd.grad(g)(p) == 3.0
        assert nd.grad(nd.grad(g))(p) == 0.0
        np.testing.assert_array_equal(nd.hessian(f)(z), [[0.0]])
        np.testing.assert_array_equal(nd.jacobian(nd.gradient(f))(z), [[0.0]])
        np.testing.assert_array_equal(nd.hvp(f)(z, np.ones(1)), [0.0])


def test_every_structural_row_has_its_nested_rule():
    """Nested derivatives (numad/nested.py) take each structural op's traced reverse rule
    from its row: a function of nested.py, or registered by the module of an OUTSIDE op."""
    import numad.nested as nested
    from numad.optable import OUTSIDE, STRUCTURAL
    for row in STRUCTURAL:
        rule = nested.rule_of(row.name)
        assert callable(rule), row.name
        if row.nested != OUTSIDE:
            assert rule is getattr(nested, row.nested), row.name
