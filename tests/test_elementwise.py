"""Every elementwise row of the op table, end to end through the tracer and the compiled
sweeps: ``nd.grad`` (reverse) and ``nd.jvp`` (forward) of ``row.numpy`` on scalars and on
1-D arrays, checked against an independent oracle (complex step where NumPy/SciPy's
function is complex-analytic, Richardson-extrapolated central differences otherwise).
Rows whose partials are all ``None`` must give exactly zero derivatives. Second order:
the Hessian-vector kernel, ``nd.hessian`` and the nested (traced) reverse sweep against
differences of the gradient. ``tests/test_optable_complete.py`` checks that this table
covers every row and every ufunc that means one.
"""
import numpy as np
import pytest

import numad as nd
from numad import recording as R
from numad.optable import ELEMENTWISE

N_ARRAY = 5

DIFFERENTIABLE = [r for r in ELEMENTWISE if any(p is not None for p in r.partials)]
ZERO = [r for r in ELEMENTWISE if all(p is None for p in r.partials)]


# ---------------------------------------------------------------------------------
# Domains: one sampler per row. ``sample(rng, shape)`` returns the operands (a[, b]) as
# floats (shape == ()) or arrays of that shape, all inside the row's smooth domain.
# ---------------------------------------------------------------------------------


def _u(lo, hi):
    """Independent uniform draws in [lo, hi] for every operand position."""
    def draw(rng, shape):
        return float(rng.uniform(lo, hi)) if shape == () else rng.uniform(lo, hi, shape)
    return draw


def _intervals(*ivs):
    def sample(rng, shape):
        return tuple(_u(lo, hi)(rng, shape) for lo, hi in ivs)
    return sample


def _signed(lo, hi):
    """|value| in [lo, hi] with a random sign."""
    def draw(rng, shape):
        mag = rng.uniform(lo, hi, shape if shape != () else None)
        sgn = rng.choice([-1.0, 1.0], size=shape if shape != () else None)
        return float(mag * sgn) if shape == () else mag * sgn
    return draw


def _signed_sample(*ivs):
    def sample(rng, shape):
        return tuple(_signed(lo, hi)(rng, shape) for lo, hi in ivs)
    return sample


def _apart(rng, shape):
    """(a, b) with |a - b| >= 0.1 and both orders present (maximum/minimum)."""
    a = rng.uniform(-1.0, 1.0, shape if shape != () else None)
    gap = rng.uniform(0.1, 0.5, shape if shape != () else None)
    if shape == ():
        return float(a), float(a + 0.3)
    sgn = np.where(np.arange(shape[0]) % 2 == 0, 1.0, -1.0)
    return a, a + sgn * gap


def _mod(rng, shape):
    """a / b well inside (2, 3) or (-3, -2): away from the jumps of mod and floor_divide."""
    size = shape if shape != () else None
    a = rng.uniform(5.1, 5.9, size) * rng.choice([-1.0, 1.0], size=size)
    b = rng.uniform(2.0, 2.1, size)
    return (float(a), float(b)) if shape == () else (a, b)


def _away_from_integers(rng, shape):
    size = shape if shape != () else None
    v = rng.integers(-3, 3, size) + rng.uniform(0.1, 0.4, size)
    return (float(v),) if shape == () else (v.astype(np.float64),)


def _fmod(rng, shape):
    """a / b well inside (2, 3) or (-3, -2), both signs of each: away from fmod's jumps."""
    size = shape if shape != () else None
    a = rng.uniform(5.1, 5.9, size) * rng.choice([-1.0, 1.0], size=size)
    b = rng.uniform(2.0, 2.1, size) * rng.choice([-1.0, 1.0], size=size)
    return (float(a), float(b)) if shape == () else (a, b)


def _polygamma(rng, shape):
    """(order 1, 2 or 3, x in [0.5, 4])."""
    size = shape if shape != () else None
    n = rng.integers(1, 4, size).astype(np.float64)
    x = rng.uniform(0.5, 4.0, size)
    return (float(n), float(x)) if shape == () else (n, x)


def _zeros_and_ones(rng, shape):
    """A where's condition: 0.0 and 1.0 (both present in arrays)."""
    if shape == ():
        return 1.0
    c = (rng.uniform(size=shape) < 0.5).astype(float)
    c[0], c[1] = 0.0, 1.0
    return c


def _mixed_zero_pair(rng, shape):
    """Operands for comparisons and logic: some zeros, some equal pairs, some different."""
    if shape == ():
        return 0.7, -0.2
    a = rng.uniform(-1, 1, shape)
    b = rng.uniform(-1, 1, shape)
    a[0] = 0.0
    b[1] = a[1]
    return a, b


DOMAINS = {
    "neg": _intervals((-2, 2)),
    "add": _intervals((-2, 2), (-2, 2)),
    "sub": _intervals((-2, 2), (-2, 2)),
    "mul": _intervals((-2, 2), (-2, 2)),
    "div": _signed_sample((0.3, 2.0), (0.3, 2.0)),
    "pow": _intervals((0.2, 3.0), (-2.5, 2.5)),
    "square": _intervals((-2, 2)),
    "reciprocal": _signed_sample((0.3, 2.0)),
    "sqrt": _intervals((0.1, 4.0)),
    "cbrt": _signed_sample((0.2, 4.0)),
    "exp": _intervals((-3, 3)),
    "expm1": _intervals((-3, 3)),
    "log": _intervals((0.1, 5.0)),
    "log1p": _intervals((-0.8, 4.0)),
    "log2": _intervals((0.1, 5.0)),
    "log10": _intervals((0.1, 5.0)),
    "sin": _intervals((-3, 3)),
    "cos": _intervals((-3, 3)),
    "tan": _intervals((-1.3, 1.3)),
    "arcsin": _intervals((-0.9, 0.9)),
    "arccos": _intervals((-0.9, 0.9)),
    "arctan": _intervals((-3, 3)),
    "sinh": _intervals((-3, 3)),
    "cosh": _intervals((-3, 3)),
    "tanh": _intervals((-3, 3)),
    "arcsinh": _intervals((-3, 3)),
    "arccosh": _intervals((1.1, 4.0)),
    "arctanh": _intervals((-0.9, 0.9)),
    "arctan2": _signed_sample((0.2, 2.0), (0.2, 2.0)),
    "hypot": _signed_sample((0.2, 2.0), (0.2, 2.0)),
    "copysign": _signed_sample((0.3, 2.0), (0.3, 2.0)),
    "abs": _signed_sample((0.1, 2.0)),
    "maximum": _apart,
    "minimum": _apart,
    "mod": _mod,
    "erf": _intervals((-2, 2)),
    "erfc": _intervals((-2, 2)),
    "ndtr": _intervals((-3, 3)),
    "expit": _intervals((-4, 4)),
    "sinc": _intervals((-2.5, 2.5)),
    "fmod": _fmod,
    "heaviside": _signed_sample((0.1, 2.0), (0.1, 1.0)),
    "gammaln": _intervals((0.2, 5.0)),
    "gamma": _intervals((0.2, 4.0)),
    "digamma": _intervals((0.3, 5.0)),
    "polygamma": _polygamma,
    "xlogy": _intervals((-2, 2), (0.3, 3.0)),
    "xlog1py": _intervals((-2, 2), (-0.7, 3.0)),
    "logit": _intervals((0.05, 0.95)),
    "erfcx": _intervals((-3, 5)),
    "log_ndtr": _intervals((-6, 4)),
    "ndtri": _intervals((0.05, 0.95)),
    "erfinv": _intervals((-0.9, 0.9)),
    "where_taken": lambda rng, shape: (_zeros_and_ones(rng, shape), _u(-2, 2)(rng, shape)),
    "where_other": lambda rng, shape: (_zeros_and_ones(rng, shape), _u(-2, 2)(rng, shape)),
    "adjoint_mul": _signed_sample((0.3, 2.0), (0.3, 2.0)),
    "copy": _intervals((-2, 2)),
    # identically-zero rows
    "stop_gradient": _intervals((-2, 2)),
    "sign": _signed_sample((0.1, 2.0)),
    "floor": _away_from_integers,
    "ceil": _away_from_integers,
    "round": _away_from_integers,
    "trunc": _away_from_integers,
    "floor_divide": _mod,
    "greater": _mixed_zero_pair,
    "greater_equal": _mixed_zero_pair,
    "less": _mixed_zero_pair,
    "less_equal": _mixed_zero_pair,
    "equal": _mixed_zero_pair,
    "not_equal": _mixed_zero_pair,
    "logical_and": _mixed_zero_pair,
    "logical_or": _mixed_zero_pair,
    "logical_xor": _mixed_zero_pair,
    "logical_not": lambda rng, shape: _mixed_zero_pair(rng, shape)[:1],
    "isnan": _intervals((-2, 2)),
    "isfinite": _intervals((-2, 2)),
}

# NumPy / SciPy functions whose complex versions are the analytic extension on these
# domains: the complex step gives their derivatives to rounding error.
COMPLEX_STEP = {
    "neg", "add", "sub", "mul", "div", "pow", "square", "reciprocal", "sqrt", "exp",
    "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan", "arcsin", "arccos",
    "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "erf", "erfc",
    "ndtr", "copy",
}


def function_of(row):
    """What the user writes for this row. ``stop_gradient``'s NumPy stand-in is
    ``np.positive`` (which traces as ``copy``), so it is reached through nd.stop_gradient;
    ``polygamma`` is reached through digamma's derivatives only, ``where_taken``
    / ``where_other`` through compiled code only and ``adjoint_mul`` through nested
    derivatives only, so they are recorded by name (on plain numbers, their NumPy
    functions)."""
    if row.name == "stop_gradient":
        return nd.stop_gradient
    if row.name in ("polygamma", "where_taken", "where_other", "adjoint_mul"):
        return lambda a, b: R.elementwise(row.name, a, b)
    return row.numpy


def partial_oracle(row, args, i):
    """d row.numpy / d args[i], elementwise (works for scalars and arrays alike)."""
    fn = row.numpy
    args = [np.asarray(a, dtype=np.float64) for a in args]
    if row.partials[i] is None:   # (the table says zero: a where's condition jumps)
        return np.zeros(np.broadcast(*args).shape)

    def along(t):
        shifted = list(args)
        shifted[i] = args[i] + t
        return np.asarray(fn(*shifted))

    if row.name in COMPLEX_STEP:
        h = 1e-30
        return np.imag(along(1j * h)) / h

    def central(h):
        return (along(h) - along(-h)) / (2 * h)

    h = 1e-3
    return (4 * central(h / 2) - central(h)) / 3


def tolerance(row):
    return (1e-12, 1e-14) if row.name in COMPLEX_STEP else (1e-8, 1e-9)


def rng_for(row, shape):
    return np.random.default_rng(1234 + 17 * ELEMENTWISE.index(row) + len(shape))


def _float_or_array(v, shape):
    return float(v) if shape == () else np.asarray(v, dtype=np.float64)


def _as_sum(fn):
    """Scalar loss: fn itself for scalar operands, the sum of fn for arrays."""
    def loss(*xs):
        y = fn(*xs)
        return y if np.ndim(xs[0]) == 0 else np.sum(y)
    return loss


# ---------------------------------------------------------------------------------
# Coverage: no row goes untested
# ---------------------------------------------------------------------------------


def test_every_row_is_tested():
    assert set(DOMAINS) == {r.name for r in ELEMENTWISE}
    tested = {r.name for r in DIFFERENTIABLE} | {r.name for r in ZERO}
    assert tested == {r.name for r in ELEMENTWISE}
    assert {r.name for r in DIFFERENTIABLE} & {r.name for r in ZERO} == set()


# ---------------------------------------------------------------------------------
# Differentiable rows: reverse and forward, scalars and arrays
# ---------------------------------------------------------------------------------

SHAPES = [(), (N_ARRAY,)]


@pytest.mark.parametrize("shape", SHAPES, ids=["scalar", "array5"])
@pytest.mark.parametrize("row", DIFFERENTIABLE, ids=lambda r: r.name)
def test_reverse_gradient_matches_oracle(row, shape):
    rng = rng_for(row, shape)
    args = DOMAINS[row.name](rng, shape)
    assert len(args) == row.arity
    fn = function_of(row)
    loss = _as_sum(fn)
    argnums = 0 if row.arity == 1 else (0, 1)
    value, grads = nd.value_and_grad(loss, argnums=argnums)(*args)
    if row.arity == 1:
        grads = (grads,)
    assert value == pytest.approx(float(np.sum(fn(*args))), rel=1e-14, abs=1e-15)
    rtol, atol = tolerance(row)
    for i, g in enumerate(grads):
        if shape == ():
            assert type(g) is float, f"d/d{'ab'[i]} of a float must be a float, got {type(g)}"
        else:
            assert isinstance(g, np.ndarray) and g.shape == shape and g.dtype == np.float64
        expected = partial_oracle(row, args, i)
        if row.partials[i] is None:
            expected = np.zeros_like(expected)
        np.testing.assert_allclose(g, expected, rtol=rtol, atol=atol,
                                   err_msg=f"d{row.name}/d{'ab'[i]} at {args}")


@pytest.mark.parametrize("shape", SHAPES, ids=["scalar", "array5"])
@pytest.mark.parametrize("row", DIFFERENTIABLE, ids=lambda r: r.name)
def test_forward_jvp_matches_oracle(row, shape):
    rng = rng_for(row, shape)
    args = DOMAINS[row.name](rng, shape)
    fn = function_of(row)
    vrng = np.random.default_rng(99)
    dirs = tuple(_float_or_array(vrng.uniform(-1, 1, shape if shape != () else None), shape)
                 for _ in args)
    rtol, atol = tolerance(row)
    partials = [partial_oracle(row, args, i) for i in range(row.arity)]
    if row.arity == 1:
        y, t = nd.jvp(fn, args[0], dirs[0])
        expected = partials[0] * dirs[0]
    else:
        y, t = nd.jvp(lambda ab: fn(ab[0], ab[1]), tuple(args), dirs)
        expected = partials[0] * dirs[0] + partials[1] * dirs[1]
    np.testing.assert_allclose(y, fn(*args), rtol=1e-14, atol=1e-15)
    if shape == ():
        assert type(t) is float
    else:
        assert t.shape == shape
    np.testing.assert_allclose(t, expected, rtol=rtol, atol=atol,
                               err_msg=f"jvp of {row.name} at {args} along {dirs}")


@pytest.mark.parametrize("row", [r for r in DIFFERENTIABLE if r.arity == 2], ids=lambda r: r.name)
def test_forward_jvp_each_input_alone(row):
    """Seeding one operand at a time recovers each partial separately."""
    shape = (N_ARRAY,)
    args = DOMAINS[row.name](rng_for(row, shape), shape)
    fn = function_of(row)
    rtol, atol = tolerance(row)
    for i in range(2):
        v = tuple(np.ones(shape) if k == i else np.zeros(shape) for k in range(2))
        _, t = nd.jvp(lambda ab: fn(ab[0], ab[1]), tuple(args), v)
        np.testing.assert_allclose(t, partial_oracle(row, args, i), rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------
# Identically-zero rows: exactly zero, in both modes
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=["scalar", "array5"])
@pytest.mark.parametrize("row", ZERO, ids=lambda r: r.name)
def test_zero_rows_have_exactly_zero_derivative(row, shape):
    args = DOMAINS[row.name](rng_for(row, shape), shape)
    assert len(args) == row.arity
    fn = function_of(row)
    argnums = 0 if row.arity == 1 else (0, 1)
    value, grads = nd.value_and_grad(_as_sum(fn), argnums=argnums)(*args)
    assert value == float(np.sum(fn(*args)))
    if row.arity == 1:
        grads = (grads,)
    for g in grads:
        assert np.shape(g) == shape
        assert np.all(np.asarray(g) == 0.0), (row.name, g)
    # forward mode
    dirs = tuple(np.ones(shape) if shape else 1.0 for _ in args)
    if row.arity == 1:
        _, t = nd.jvp(fn, args[0], dirs[0])
    else:
        _, t = nd.jvp(lambda ab: fn(ab[0], ab[1]), tuple(args), dirs)
    assert np.all(np.asarray(t) == 0.0), (row.name, t)


@pytest.mark.parametrize("row", ZERO, ids=lambda r: r.name)
def test_zero_rows_do_not_block_the_other_path(row):
    """x * 2 + zero-derivative-op(x): the derivative is exactly 2 (nothing leaks)."""
    shape = (N_ARRAY,)
    args = DOMAINS[row.name](rng_for(row, shape), shape)
    fn = function_of(row)
    if row.arity == 1:
        g = nd.grad(lambda a: np.sum(2.0 * a + fn(a)))(args[0])
    else:
        g = nd.grad(lambda a: np.sum(2.0 * a + fn(a, args[1])))(args[0])
    np.testing.assert_array_equal(g, np.full(shape, 2.0))


# ---------------------------------------------------------------------------------
# A realistic size: a composite of many rows on 1000 points, reverse vs complex step
# ---------------------------------------------------------------------------------


def test_composite_on_1000_points_against_complex_step():
    rng = np.random.default_rng(7)
    x = rng.uniform(0.2, 0.9, 1000)

    def body(x):
        return (np.sin(x) * np.exp(-x) + np.log1p(x ** 2) / np.sqrt(x)
                + np.arctanh(x - 0.1) * np.cosh(x) - np.arcsin(x) ** 3 + x ** x)

    def f(x):
        return np.sum(body(x))

    g = nd.grad(f)(x)
    expected = np.imag(body(x + 1e-30j)) / 1e-30  # separable: every coordinate at once
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-14)
    _, t = nd.jvp(f, x, np.ones_like(x))
    assert t == pytest.approx(float(np.sum(expected)), rel=1e-12)


# ---------------------------------------------------------------------------------
# numad's conventions (see the API reference, 'Conventions') at the points where a row is not differentiable
# ---------------------------------------------------------------------------------

CONVENTIONS = [
    # (label, function, args, expected partials)
    ("abs'(0) = 0", np.abs, (0.0,), (0.0,)),
    ("sqrt'(0) = inf", np.sqrt, (0.0,), (np.inf,)),
    ("sign' = 0", np.sign, (0.0,), (0.0,)),
    ("floor' = 0 at a jump", np.floor, (2.0,), (0.0,)),
    # a tie shares equally (as the max/min reductions do): maximum(x, x)' = 1
    ("maximum tie", np.maximum, (0.5, 0.5), (0.5, 0.5)),
    ("minimum tie", np.minimum, (0.5, 0.5), (0.5, 0.5)),
    ("pow(0, 2.5)", np.power, (0.0, 2.5), (0.0, 0.0)),
    ("pow(x, 0) at 0", np.power, (0.0, 0.0), (0.0, 0.0)),
    ("pow(2, 3)", np.power, (2.0, 3.0), (12.0, 8.0 * np.log(2.0))),
    ("hypot(0, 0)", np.hypot, (0.0, 0.0), (0.0, 0.0)),
]


@pytest.mark.parametrize("label,fn,args,expected", CONVENTIONS, ids=[c[0] for c in CONVENTIONS])
def test_conventions_at_kinks(label, fn, args, expected):
    argnums = 0 if len(args) == 1 else tuple(range(len(args)))
    g = nd.grad(fn, argnums=argnums)(*args)
    g = (g,) if len(args) == 1 else g
    assert len(g) == len(expected)
    for got, want in zip(g, expected):
        if np.isinf(want):
            assert got == want
        else:
            assert got == pytest.approx(want, rel=1e-15, abs=0.0), label


def test_where_does_not_leak_the_untaken_branch():
    g = nd.grad(lambda x: nd.where(x > 0, nd.sqrt(x), 0.0))(0.0)
    assert g == 0.0
    x = np.array([0.0, 4.0, -1.0])
    g = nd.grad(lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0)))(x)
    np.testing.assert_array_equal(g, [0.0, 0.25, 0.0])
    g = nd.grad(lambda x: np.sum(np.where(x > 0, x, np.log(x))))(np.array([0.0, 2.0]))
    # log(0)' = inf is on the taken side at x = 0: only x > 0 takes the first branch
    assert g[1] == 1.0


# ---------------------------------------------------------------------------------
# Binary rows under broadcasting: (3, 1) with (4,), and an array with a Python float
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("row", [r for r in DIFFERENTIABLE if r.arity == 2], ids=lambda r: r.name)
def test_binary_rows_broadcast(row):
    rng = rng_for(row, (12,))
    a12, b12 = DOMAINS[row.name](rng, (12,))
    fn = function_of(row)
    rtol, atol = tolerance(row)
    # pairs that stay in the domain when broadcast: a[i] with b[j] for i, j < 3, 4 would
    # mix samples, so build the (3, 4) grid from matched samples and read a, b off it
    a = a12[:3].reshape(3, 1)
    b = b12[:4]
    A, B = np.broadcast_arrays(a, b)
    s = float(b12[5])
    # the samples stay away from the kinks (ties, jumps) by much more than the oracle's step
    for P, Q in ((A, B), (a12[:5], s)):
        if row.name in ("maximum", "minimum"):
            assert np.all(np.abs(P - Q) > 0.01)
        elif row.name == "mod":
            q = P / Q
            assert np.all(np.abs(q - np.round(q)) > 0.05)
    ga, gb = nd.grad(lambda a, b: np.sum(fn(a, b)), argnums=(0, 1))(a, b)
    assert ga.shape == (3, 1) and gb.shape == (4,)
    da = partial_oracle(row, (A, B), 0)
    db = partial_oracle(row, (A, B), 1)
    np.testing.assert_allclose(ga, da.sum(axis=1, keepdims=True), rtol=rtol, atol=atol)
    np.testing.assert_allclose(gb, db.sum(axis=0), rtol=rtol, atol=atol)
    # an array with a Python float
    g = nd.grad(lambda a, s: np.sum(fn(a, s)), argnums=(0, 1))(a12[:5], s)
    assert g[0].shape == (5,) and type(g[1]) is float
    np.testing.assert_allclose(g[0], partial_oracle(row, (a12[:5], s), 0), rtol=rtol, atol=atol)
    assert g[1] == pytest.approx(float(np.sum(partial_oracle(row, (a12[:5], np.full(5, s)), 1))),
                                 rel=rtol, abs=atol)


# ---------------------------------------------------------------------------------
# Second order: the Hessian-vector kernel's tangents of every row's partials
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=["scalar", "array5"])
@pytest.mark.parametrize("row", DIFFERENTIABLE, ids=lambda r: r.name)
def test_hvp_kernel_against_differences_of_the_gradient(row, shape):
    rng = rng_for(row, shape)
    args = [np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in DOMAINS[row.name](rng, shape)]
    sizes = [a.size for a in args]
    fn = function_of(row)

    def f(z):
        parts, start = [], 0
        for s in sizes:
            parts.append(z[start] if shape == () else z[start:start + s])
            start += s
        # a nonlinear outer function, so that first and second partials both matter
        y = fn(*parts)
        return np.sum(y * y) if shape != () else y * y
    z = np.concatenate(args)
    v = np.random.default_rng(7).normal(size=z.size)
    if row.name in ("where_taken", "where_other"):
        v[:sizes[0]] = 0.0   # (the condition jumps under any step: no direction along it)
    tape = nd.trace(f, z)
    assert tape.hvp_capable
    Hv = nd.hvp(f)(z, v)
    g = nd.gradient(f)
    h = 1e-6 * max(1.0, float(np.max(np.abs(z))))
    fd = (g(z + h * v) - g(z - h * v)) / (2 * h)
    np.testing.assert_allclose(Hv, fd, rtol=2e-5, atol=2e-5 * max(1.0, np.max(np.abs(fd))))


@pytest.mark.parametrize("row", DIFFERENTIABLE, ids=lambda r: r.name)
def test_hessian_and_nested_derivatives_against_differences_of_the_gradient(row):
    """``nd.hessian``, and the traced reverse sweep differentiated again (the Jacobian of
    ``nd.gradient``; ``nd.grad`` of ``nd.grad`` for each scalar input, the other one a
    constant), against central differences of ``nd.grad``."""
    shape = (N_ARRAY,)
    args = DOMAINS[row.name](rng_for(row, shape), shape)
    fn = function_of(row)
    z = np.concatenate(args)

    def f(z):
        y = fn(*[z[k * N_ARRAY:(k + 1) * N_ARRAY] for k in range(row.arity)])
        return np.sum(y * y)
    g = nd.grad(f)
    h = 1e-6 * max(1.0, float(np.max(np.abs(z))))
    fd = np.stack([(g(z + h * e) - g(z - h * e)) / (2 * h) for e in np.eye(z.size)], axis=1)
    H = nd.hessian(f)(z)
    np.testing.assert_allclose(H, fd, rtol=2e-5, atol=2e-5 * max(1.0, np.max(np.abs(fd))))
    np.testing.assert_allclose(nd.jacobian(nd.gradient(f))(z), H, rtol=1e-10, atol=1e-12)
    point = [float(a[0]) for a in args]
    for k in range(row.arity):
        def loss(x, k=k):
            return fn(*[x if i == k else point[i] for i in range(row.arity)]) ** 2
        x = point[k]
        hk = 1e-6 * max(1.0, abs(x))
        expected = (nd.grad(loss)(x + hk) - nd.grad(loss)(x - hk)) / (2 * hk)
        assert nd.grad(nd.grad(loss))(x) == pytest.approx(expected, rel=2e-5, abs=2e-5)
