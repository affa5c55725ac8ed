"""Structural operations (reductions, views, gathers, joins, products, linear algebra,
...) through the tracer and the compiled sweeps.

Every case is a function ``g(*xs)`` of float arrays. Reverse mode is checked with
``nd.grad`` of the scalar loss ``sum(w * g(*xs))`` for a fixed random weight ``w``
(all arguments at once, argnums=(0, ..., k-1)); forward mode with ``nd.jvp`` of ``g``
along random directions. The oracle is Richardson-extrapolated central differences
(error O(h^4) + O(eps/h)), written here independently of numad. Points are chosen away
from kinks (ties, sort-order changes, clip bounds) by more than the step. Where a
function is not differentiable, exact values from numad's conventions (see the API
reference, 'Conventions') are checked.
"""
import numpy as np
import pytest
import scipy.special as sps

import numad as nd

H = 1e-3          # step of the central differences (Richardson with h and h/2)
RTOL = 1e-7       # honest for O(1)-scaled functions with the O(h^4) scheme


# ---------------------------------------------------------------------------------
# Oracles
# ---------------------------------------------------------------------------------


def _richardson(phi, h):
    c1 = (phi(h) - phi(-h)) / (2 * h)
    c2 = (phi(h / 2) - phi(-h / 2)) / h
    return (4 * c2 - c1) / 3


def fd_grad(loss, xs, h=H):
    """Central-difference gradient of scalar ``loss(*xs)`` with respect to every array."""
    out = []
    for k, x in enumerate(xs):
        g = np.zeros(x.shape)
        for j in range(x.size):
            def phi(t, k=k, j=j):
                moved = [a.copy() for a in xs]
                moved[k].flat[j] += t
                return float(loss(*moved))
            g.flat[j] = _richardson(phi, h)
        out.append(g)
    return out


def fd_jvp(g, xs, vs, h=H):
    """Central-difference directional derivative of ``g`` at ``xs`` along ``vs``."""
    def phi(t):
        return np.asarray(g(*[a + t * v for a, v in zip(xs, vs)]), dtype=np.float64)
    return _richardson(phi, h)


def assert_close(got, want, rtol=RTOL, what=""):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=what)


def check_both_modes(g, xs, seed=0, rtol=RTOL, h=H):
    """Reverse (nd.grad of sum(w * g)) and forward (nd.jvp of g) against the oracle."""
    rng = np.random.default_rng(seed)
    xs = tuple(np.asarray(x, dtype=np.float64) for x in xs)
    y = np.asarray(g(*xs), dtype=np.float64)
    w = rng.standard_normal(y.shape)

    def loss(*a):
        return np.sum(w * g(*a))

    grads = nd.grad(loss, argnums=tuple(range(len(xs))))(*xs)
    assert isinstance(grads, tuple) and len(grads) == len(xs)
    expected = fd_grad(loss, xs, h)
    for k, (got, want) in enumerate(zip(grads, expected)):
        assert isinstance(got, np.ndarray) and got.shape == xs[k].shape
        assert_close(got, want, rtol, f"reverse, argument {k}")

    vs = tuple(rng.standard_normal(x.shape) for x in xs)
    value, tangent = nd.jvp(lambda a: g(*a), xs, vs)
    assert_close(value, y, 1e-12, "jvp value")
    assert_close(tangent, fd_jvp(g, xs, vs, h), rtol, "forward")


def separated(shape, seed=0, lo=-1.5, hi=1.5):
    """Random-order values with gaps of about (hi - lo) / size between any two: no ties,
    and no ordering change within a finite-difference step."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    v = rng.permutation(np.linspace(lo, hi, n)) + rng.uniform(-0.1, 0.1, n) * (hi - lo) / n
    return v.reshape(shape)


def positive(shape, seed=0, lo=0.5, hi=1.5):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


X345 = separated((3, 4, 5), seed=1)
X2D = separated((4, 6), seed=40)
X10 = separated(10, seed=41)

# ---------------------------------------------------------------------------------
# Reductions over axes, with keepdims
# ---------------------------------------------------------------------------------

REDUCTIONS = {
    "sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "mean": np.mean,
}
AXES = [None, 0, 1, 2, -1, (0, 2), (1, 2), (0, 1, 2)]


@pytest.mark.parametrize("keepdims", [False, True], ids=["", "keepdims"])
@pytest.mark.parametrize("axis", AXES, ids=lambda a: f"axis={a}")
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reductions(name, axis, keepdims):
    fn = REDUCTIONS[name]
    x = X345 if name != "prod" else positive((3, 4, 5), seed=2)
    check_both_modes(lambda a: fn(a, axis=axis, keepdims=keepdims), (x,), seed=3)


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "mean"])
def test_reduction_methods(name):
    x = X345 if name != "prod" else positive((3, 4, 5), seed=2)
    check_both_modes(lambda a: getattr(a, name)(axis=1), (x,))
    check_both_modes(lambda a: getattr(a, name)(), (x,))


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "mean"])
def test_nd_reductions(name):
    x = X345 if name != "prod" else positive((3, 4, 5), seed=2)
    fn = getattr(nd, name)
    check_both_modes(lambda a: fn(a, axis=(0, 2), keepdims=True), (x,))


def test_sum_and_mean_of_a_long_vector():
    x = np.random.default_rng(4).standard_normal(1000)
    check_both_modes(lambda a: np.sum(a * a) + np.mean(np.sin(a)), (x,))


def _prod_grad_closed_form(x):
    """d prod(x) / d x_j = prod of the others, computed without division."""
    return np.array([np.prod(np.delete(x, j)) for j in range(x.size)])


@pytest.mark.parametrize("x", [
    [2.0, 0.0, 3.0, 4.0],
    [0.0, -1.5, 2.0],
    [2.0, 0.0, 3.0, 0.0, 5.0],
    [0.0],
    [1.5, -2.0, 0.5, 3.0, -1.0],
], ids=["one-zero", "zero-first", "two-zeros", "single-zero", "no-zero"])
def test_prod_with_zero_entries_closed_form(x):
    x = np.array(x)
    g = nd.grad(np.prod)(x)
    np.testing.assert_allclose(g, _prod_grad_closed_form(x), rtol=1e-15, atol=0)
    v = np.random.default_rng(5).standard_normal(x.size)
    _, t = nd.jvp(np.prod, x, v)
    assert t == pytest.approx(float(_prod_grad_closed_form(x) @ v), rel=1e-14, abs=1e-15)


def test_prod_with_zero_along_an_axis():
    x = np.array([[2.0, 0.0, 3.0], [1.5, 2.0, -1.0], [0.0, 0.0, 4.0]])
    w = np.array([0.3, -1.2, 2.0])
    g = nd.grad(lambda a: np.sum(w * np.prod(a, axis=1)))(x)
    expected = np.stack([w[i] * _prod_grad_closed_form(x[i]) for i in range(3)])
    np.testing.assert_allclose(g, expected, rtol=1e-15, atol=0)


MAX_TIES = [
    # (function, x, expected gradient)
    (np.max, [1.0, 3.0, 3.0, 2.0], [0.0, 0.5, 0.5, 0.0]),
    (np.max, [3.0, 3.0, 3.0], [1 / 3, 1 / 3, 1 / 3]),
    (np.min, [1.0, 3.0, 1.0, 2.0], [0.5, 0.0, 0.5, 0.0]),
    (np.max, [-1.0, 2.0, 0.0, 2.0, 2.0, 1.0], [0.0, 1 / 3, 0.0, 1 / 3, 1 / 3, 0.0]),
    (lambda a: np.max(a, axis=1), [[1.0, 5.0, 5.0], [2.0, 2.0, 0.0]],
     [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]),
    (lambda a: np.min(a, axis=0), [[1.0, 5.0, 0.0], [1.0, 2.0, 0.0]],
     [[0.5, 0.0, 0.5], [0.5, 1.0, 0.5]]),
    (lambda a: nd.max(a), [4.0, 4.0], [0.5, 0.5]),
    (lambda a: np.linalg.norm(a, ord=np.inf), [-2.0, 1.0, 2.0], [-0.5, 0.0, 0.5]),
]


@pytest.mark.parametrize("fn,x,expected", MAX_TIES, ids=[str(i) for i in range(len(MAX_TIES))])
def test_max_min_ties_share_equally(fn, x, expected):
    x = np.array(x)
    expected = np.array(expected)
    out_shape = np.shape(fn(x))
    g = nd.grad(lambda a: np.sum(fn(a)))(x)
    np.testing.assert_allclose(g, expected, rtol=1e-15, atol=0)
    # forward mode: the tangent is the same equal share of the tied entries' tangents
    v = np.random.default_rng(6).standard_normal(x.shape)
    _, t = nd.jvp(lambda a: np.sum(fn(a)), x, v)
    assert t == pytest.approx(float(np.sum(expected * v)), rel=1e-14, abs=1e-15)
    assert out_shape == np.shape(fn(x))


# ---------------------------------------------------------------------------------
# Statistics, cumulative ops, sort, clip
# ---------------------------------------------------------------------------------

MISC_CASES = {
    "var": (lambda a: np.var(a), (X345,)),
    "var-axis1": (lambda a: np.var(a, axis=1), (X345,)),
    "var-ddof1": (lambda a: np.var(a, ddof=1, axis=(0, 2)), (X345,)),
    "std": (lambda a: np.std(a), (X345,)),
    "std-axis0-keepdims": (lambda a: np.std(a, axis=0, keepdims=True), (X345,)),
    "x.var-x.std": (lambda a: a.var(axis=2) + a.std(axis=2), (X345,)),
    "median-odd": (lambda a: np.median(a), (separated(7, seed=7),)),
    "median-even": (lambda a: np.median(a), (separated(8, seed=8),)),
    "median-2d": (lambda a: np.median(a), (separated((3, 4), seed=9),)),
    "median-axis1-odd": (lambda a: np.median(a, axis=1), (separated((4, 5), seed=10),)),
    "median-axis0-even": (lambda a: np.median(a, axis=0), (separated((4, 5), seed=11),)),
    "cumsum": (lambda a: np.cumsum(a), (X345,)),
    "cumsum-axis1": (lambda a: np.cumsum(a, axis=1), (X345,)),
    "cumsum-500": (lambda a: np.cumsum(a), (np.random.default_rng(12).standard_normal(500),)),
    "cumprod": (lambda a: np.cumprod(a), (positive(10, seed=13),)),
    "cumprod-axis0": (lambda a: np.cumprod(a, axis=0), (positive((4, 3), seed=14),)),
    "x.cumsum-x.cumprod": (lambda a: a.cumsum(axis=0) + a.cumprod(axis=1),
                           (positive((3, 4), seed=15),)),
    "diff": (lambda a: np.diff(a), (separated(10, seed=16),)),
    "diff-n2": (lambda a: np.diff(a, n=2), (separated(10, seed=16),)),
    "diff-axis0": (lambda a: np.diff(a, axis=0), (X345,)),
    "sort": (lambda a: np.sort(a), (separated(50, seed=17),)),
    "sort-300": (lambda a: np.sort(a) * np.arange(300.0), (separated(300, seed=18),)),
    "sort-axis0": (lambda a: np.sort(a, axis=0), (X345,)),
    "sort-axis-1": (lambda a: np.sort(a, axis=-1), (X345,)),
    "sort-axis-None": (lambda a: np.sort(a, axis=None), (X345,)),
    "clip-interior": (lambda a: np.clip(a, -0.5, 0.7), (X345,)),
    "clip-method": (lambda a: a.clip(-0.5, 0.7), (X345,)),
    "clip-one-sided": (lambda a: np.clip(a, None, 0.2) + nd.clip(a, -0.3, None), (X345,)),
}


MISC_CASES.update({
    "var-ddof1-keepdims": (lambda a: np.var(a, axis=(0, 2), ddof=1, keepdims=True), (X345,)),
    "max-negative-axes": (lambda a: np.max(a, axis=(-1, 0)), (X345,)),
    "cumsum-axis-neg": (lambda a: np.cumsum(a, axis=-1), (X345,)),
    "cumprod-2d-flat": (lambda a: np.cumprod(a), (0.5 + np.abs(X2D),)),
    "diff-n3-axis1": (lambda a: np.diff(a, n=3, axis=1), (X2D,)),
    "diff-prepend": (lambda a: np.diff(a, prepend=0.0), (X10,)),
    "median-keepdims": (lambda a: np.median(a, axis=1, keepdims=True),
                        (separated((3, 4), seed=19),)),
    "mean-keepdims-broadcast": (lambda a: a.mean(axis=-1, keepdims=True) * a, (X345,)),
    "prod-axes-keepdims": (lambda a: np.prod(a, axis=(0, 2), keepdims=True),
                           (0.5 + np.abs(X345),)),
    "std-ddof1": (lambda a: np.std(a, ddof=1), (X10,)),
    "abs-sum": (lambda a: np.abs(a).sum(), (X10,)),
    "clip-traced-bounds": (lambda a: np.clip(a[2:], a[0] - 1.0, a[1] + 1.0), (X10,)),
})


@pytest.mark.parametrize("name", list(MISC_CASES))
def test_misc(name):
    g, xs = MISC_CASES[name]
    check_both_modes(g, xs, seed=20)


def _cumprod_grad_closed_form(x, w):
    """d/dx_j sum_k w_k prod_{i<=k} x_i = sum_{k>=j} w_k prod_{i<=k, i!=j} x_i."""
    n = x.size
    g = np.zeros(n)
    for j in range(n):
        for k in range(j, n):
            g[j] += w[k] * np.prod(np.delete(x[:k + 1], j))
    return g


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0, 1.5], [0.0, 2.0, -1.0], [1.5, 2.0, 0.0],
                               [2.0, 0.0, 0.0, 3.0]],
                         ids=["middle", "first", "last", "two"])
def test_cumprod_with_zero_closed_form(x):
    x = np.array(x)
    w = np.random.default_rng(21).standard_normal(x.size)
    g = nd.grad(lambda a: np.sum(w * np.cumprod(a)))(x)
    np.testing.assert_allclose(g, _cumprod_grad_closed_form(x, w), rtol=1e-14, atol=1e-15)
    v = np.random.default_rng(22).standard_normal(x.size)
    _, t = nd.jvp(np.cumprod, x, v)
    J = np.stack([_cumprod_grad_closed_form(x, np.eye(x.size)[k]) for k in range(x.size)])
    np.testing.assert_allclose(t, J @ v, rtol=1e-14, atol=1e-15)


def test_cumprod_and_prod_along_an_axis_with_zeros():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(nd.grad(lambda a: np.sum(np.cumprod(a, axis=1)))(x),
                                  [[1.0, 8.0, 0.0], [1.0, 0.0, 0.0]])
    _, t = nd.jvp(lambda a: np.prod(a, axis=1), x, np.ones_like(x))
    np.testing.assert_array_equal(t, [6.0, 0.0])


def test_prod_whose_running_product_underflows():
    x = np.array([1e-300, 1e-300, 1e300])  # NumPy's value underflows to 0.0
    g = nd.grad(np.prod)(x)
    np.testing.assert_allclose(g, [_prod_grad_closed_form(x)[0], _prod_grad_closed_form(x)[1],
                                   0.0], rtol=1e-14)


def test_clip_has_zero_derivative_at_and_beyond_the_bounds():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 0.3])
    expected = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    for f in (lambda a: np.clip(a, -0.5, 0.5), lambda a: nd.clip(a, -0.5, 0.5),
              lambda a: a.clip(-0.5, 0.5)):
        np.testing.assert_array_equal(nd.grad(lambda a: np.sum(f(a)))(x), expected)
        _, t = nd.jvp(f, x, np.ones_like(x))
        np.testing.assert_array_equal(t, expected)
    assert nd.grad(lambda a: nd.clip(a, 0.0, 1.0))(1.0) == 0.0
    assert nd.grad(lambda a: nd.clip(a, 0.0, 1.0))(0.0) == 0.0
    assert nd.grad(lambda a: nd.clip(a, 0.0, 1.0))(0.25) == 1.0


def test_median_picks_the_middle_entries_exactly():
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0])  # middle: 3.0 at index 4
    np.testing.assert_array_equal(nd.grad(np.median)(x), [0, 0, 0, 0, 1.0])
    x = np.array([5.0, 1.0, 4.0, 2.0])       # middle: 2.0 and 4.0
    np.testing.assert_array_equal(nd.grad(np.median)(x), [0, 0, 0.5, 0.5])


# ---------------------------------------------------------------------------------
# Products: outer, einsum, tensordot, dot, matmul, @
# ---------------------------------------------------------------------------------

_r = np.random.default_rng(30)


def _n(*shape):
    return _r.standard_normal(shape)


PRODUCT_CASES = {
    "outer": (np.outer, (_n(3), _n(4))),
    "outer-2d-flattens": (np.outer, (_n(2, 2), _n(3))),
    "einsum-ij,jk->ik": (lambda a, b: np.einsum("ij,jk->ik", a, b), (_n(3, 4), _n(4, 2))),
    "einsum-ii->": (lambda a: np.einsum("ii->", a), (_n(4, 4),)),
    "einsum-ij->ji": (lambda a: np.einsum("ij->ji", a), (_n(3, 4),)),
    "einsum-i,i->": (lambda a, b: np.einsum("i,i->", a, b), (_n(6), _n(6))),
    "einsum-bij,bjk->bik": (lambda a, b: np.einsum("bij,bjk->bik", a, b),
                            (_n(2, 3, 4), _n(2, 4, 5))),
    "einsum-implicit-ij,jk": (lambda a, b: np.einsum("ij,jk", a, b), (_n(3, 4), _n(4, 2))),
    "tensordot-axes1": (lambda a, b: np.tensordot(a, b, axes=1), (_n(3, 4), _n(4, 5))),
    "tensordot-axes2": (lambda a, b: np.tensordot(a, b), (_n(2, 3, 4), _n(3, 4, 5))),
    "tensordot-pairs": (lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 1])),
                        (_n(3, 4, 5), _n(4, 3, 2))),
    "dot-1d-1d": (np.dot, (_n(5), _n(5))),
    "dot-2d-1d": (np.dot, (_n(3, 5), _n(5))),
    "dot-1d-2d": (np.dot, (_n(3), _n(3, 5))),
    "dot-2d-2d": (np.dot, (_n(3, 5), _n(5, 2))),
    "dot-3d-2d": (np.dot, (_n(2, 3, 5), _n(5, 2))),
    "x.dot": (lambda a, b: a.dot(b), (_n(3, 5), _n(5, 2))),
    "nd.dot": (nd.dot, (_n(3, 5), _n(5))),
    "vdot": (np.vdot, (_n(2, 3), _n(2, 3))),
    "inner": (np.inner, (_n(3, 4), _n(2, 4))),
    "matmul-1d@2d": (np.matmul, (_n(4), _n(4, 3))),
    "matmul-2d@1d": (np.matmul, (_n(3, 4), _n(4))),
    "matmul-1d@1d": (np.matmul, (_n(4), _n(4))),
    "matmul-2d@2d": (np.matmul, (_n(3, 4), _n(4, 2))),
    "matmul-3d@3d": (np.matmul, (_n(2, 3, 4), _n(2, 4, 5))),
    "matmul-3d@2d": (np.matmul, (_n(2, 3, 4), _n(4, 5))),
    "matmul-2d@3d": (np.matmul, (_n(3, 4), _n(2, 4, 5))),
    "matmul-broadcast-batch": (np.matmul, (_n(2, 1, 3, 4), _n(1, 3, 4, 2))),
    "nd.matmul": (nd.matmul, (_n(3, 4), _n(4, 2))),
    "@": (lambda a, b: a @ b, (_n(3, 4), _n(4, 2))),
    "@-constant-left": (lambda b: _C34 @ b, (_n(4, 2),)),
    "@-chain": (lambda a, b: (a @ b) @ b.T, (_n(3, 4), _n(4, 4))),
    "matmul-realistic": (lambda a, b: np.tanh(a @ b), (_n(20, 30), _n(30, 10))),
}
_C34 = _n(3, 4)


PRODUCT_CASES.update({
    "tensordot-axes0": (lambda a, b: np.tensordot(a, b, axes=0), (_n(3), _n(2, 2))),
    "einsum-ij,j,k->ik": (lambda a, b, c: np.einsum("ij,j,k->ik", a, b, c),
                          (_n(3, 4), _n(4), _n(2))),
    "einsum-bii->b": (lambda a: np.einsum("bii->b", a), (_n(2, 3, 3),)),
    "einsum-ij->": (lambda a: np.einsum("ij->", a), (_n(2, 3),)),
    "einsum-ij,ij->i": (lambda a, b: np.einsum("ij,ij->i", a, b), (_n(2, 3), _n(2, 3))),
    "matmul-1d@3d": (np.matmul, (_n(4), _n(2, 4, 3))),
    "matmul-3d@1d": (np.matmul, (_n(2, 3, 4), _n(4))),
})


@pytest.mark.parametrize("name", list(PRODUCT_CASES))
def test_products(name):
    g, xs = PRODUCT_CASES[name]
    check_both_modes(g, xs, seed=31)


def test_matmul_second_argument_only():
    a, b = _n(3, 4), _n(4, 2)
    w = _n(3, 2)
    g = nd.grad(lambda a, b: np.sum(w * (a @ b)), argnums=1)(a, b)
    np.testing.assert_allclose(g, a.T @ w, rtol=1e-13, atol=1e-14)
    g = nd.grad(lambda a, b: np.sum(w * (a @ b)))(a, b)
    np.testing.assert_allclose(g, w @ b.T, rtol=1e-13, atol=1e-14)


# ---------------------------------------------------------------------------------
# Indexing, views, joins, rearrangements
# ---------------------------------------------------------------------------------


def _unpack_rows(x):
    a, b = x
    return a * b + np.sin(a)


def _loop_over_int_indices(x):
    total = 0.0
    for i in range(x.shape[0] - 1):
        total = total + x[i] * x[i + 1] ** 2
    return total


def _iterate(x):
    out = []
    for row in x:
        out.append(np.sum(row ** 2))
    return nd.stack(out)


def _setitem(x):
    y = np.zeros_like(x)
    y[1:3] = x[:2] * 2
    return y * x


def _setitem_int_and_fancy(x):
    y = np.ones_like(x)
    y[0] = np.sin(x[3])
    y[[2, 4]] = x[[0, 1]] ** 2
    y[-1] = x[-1] * x[0]
    return y


def _setitem_2d(x):
    y = np.zeros_like(x)
    y[:, 1] = x[:, 0] * x[:, 2]
    y[0, :] = np.exp(x[1, :])
    return y + x


def _add_at(x):
    y = np.zeros_like(x)
    np.add.at(y, [0, 2, 2, 5, 0, 0], x[:6] ** 2)
    return y


def _add_at_scalar(x):
    y = np.zeros_like(x)
    np.add.at(y, np.array([1, 1, 3]), x[0])
    return y * x


def _masked(x):
    return np.sum(x[x > 0] ** 2) + np.sum(np.sin(x[x <= 0]))


def _masked_2d(x):
    return x[np.abs(x) > 0.5] * 3.0



INDEX_CASES = {
    "slice-step2": (lambda a: a[::2], (X10,)),
    "slice-1:8:3": (lambda a: a[1:8:3], (X10,)),
    "slice-reverse": (lambda a: a[::-1], (X10,)),
    "slice-neg-step": (lambda a: a[8:1:-2], (X10,)),
    "slice-negative-bounds": (lambda a: a[-4:-1], (X10,)),
    "slice-contiguous": (lambda a: a[2:7] * a[3:8], (X10,)),
    "slice-2d": (lambda a: a[1:, ::-2], (X2D,)),
    "slice-2d-column": (lambda a: a[:, 2], (X2D,)),
    "slice-2d-row": (lambda a: a[-1], (X2D,)),
    "slice-3d-mixed": (lambda a: a[1, ::2, 1:4], (X345,)),
    "ellipsis-newaxis": (lambda a: a[..., 1][:, None, :] * a[:, :1, :1], (X345,)),
    "int-array": (lambda a: a[[0, 3, 3, 1]], (X10,)),
    "int-ndarray": (lambda a: a[np.array([9, 0, 4])], (X10,)),
    "int-array-2d": (lambda a: a[[0, 2, 3], [1, 5, 0]], (X2D,)),
    "int-array-rows": (lambda a: a[np.array([[0, 1], [3, 3]])], (X2D,)),
    "bool-mask-traced": (_masked, (X10,)),
    "bool-mask-2d": (_masked_2d, (X2D,)),
    "bool-mask-constant": (lambda a: a[np.arange(10) % 3 == 0], (X10,)),
    "python-int-loop": (_loop_over_int_indices, (X10,)),
    "unpack": (_unpack_rows, (separated((2, 3), seed=42),)),
    "iterate": (_iterate, (X2D,)),
    "reshape": (lambda a: a.reshape(6, 10) @ np.arange(10.0), (X345,)),
    "reshape-tuple-minus1": (lambda a: np.reshape(a, (-1, 5))[::2], (X345,)),
    "ravel": (lambda a: np.ravel(a)[::7], (X345,)),
    ".T": (lambda a: a.T * np.arange(4.0), (X2D,)),
    ".T-3d": (lambda a: a.T[1], (X345,)),
    "transpose-axes": (lambda a: np.transpose(a, (1, 0, 2))[0], (X345,)),
    "x.transpose-axes": (lambda a: a.transpose(2, 0, 1)[:, 1], (X345,)),
    "swapaxes": (lambda a: np.swapaxes(a, 0, 2), (X345,)),
    "moveaxis": (lambda a: np.moveaxis(a, 0, -1), (X345,)),
    "squeeze-expand": (lambda a: np.squeeze(np.expand_dims(a, 1), axis=1) ** 2, (X2D,)),
    "stack-0": (lambda a, b: np.stack([a, b, a * b]), (X10, X10[::-1].copy())),
    "stack-1": (lambda a, b: np.stack([a, b], axis=1), (X2D, X2D + 1.0)),
    "stack-scalars": (lambda a: nd.stack([a[0] * a[1], a[2], np.sum(a)]), (X10,)),
    "concatenate-0": (lambda a, b: np.concatenate([a, b, a]), (X2D, _n(2, 6))),
    "concatenate-1": (lambda a, b: np.concatenate([a, b], axis=1), (X2D, _n(4, 3))),
    "concatenate-with-const": (lambda a: np.concatenate([a, np.ones(3), a ** 2]), (X10,)),
    "nd.concatenate": (lambda a, b: nd.concatenate([a, b], axis=0), (X10, _n(3))),
    "hstack": (lambda a, b: np.hstack([a, b]), (X10, _n(3))),
    "hstack-2d": (lambda a, b: np.hstack([a, b]), (X2D, _n(4, 2))),
    "vstack": (lambda a, b: np.vstack([a, b]), (X2D, _n(2, 6))),
    "vstack-1d": (lambda a, b: np.vstack([a, b]), (X10, _n(10))),
    "column_stack": (lambda a, b: np.column_stack([a, b]), (X10, _n(10))),
    "broadcast-(3,1)+(1,4)": (lambda a, b: a + b, (_n(3, 1), _n(1, 4))),
    "broadcast-(3,1)*(4,)": (lambda a, b: a * b, (_n(3, 1), _n(4))),
    "broadcast-scalar-array": (lambda a, b: a[0] * b, (_n(1), _n(3, 4))),
    "broadcast-3d": (lambda a, b: np.sin(a) / (2.0 + b), (_n(2, 1, 5), _n(3, 1))),
    "broadcast_to": (lambda a: np.broadcast_to(a, (3, 4)) * np.arange(12.0).reshape(3, 4),
                     (_n(4),)),
    "setitem": (_setitem, (X10,)),
    "setitem-int-and-fancy": (_setitem_int_and_fancy, (X10,)),
    "setitem-2d": (_setitem_2d, (separated((3, 3), seed=43),)),
    "add.at": (_add_at, (X10,)),
    "add.at-scalar": (_add_at_scalar, (X10,)),
    "pad-constant": (lambda a: np.pad(a, (2, 3)), (X10,)),
    "pad-constant-value": (lambda a: np.pad(a, ((1, 0), (2, 1)), constant_values=1.5) ** 2,
                           (X2D,)),
    "pad-edge": (lambda a: np.pad(a, (2, 3), mode="edge"), (X10,)),
    "pad-edge-2d": (lambda a: np.pad(a, 1, mode="edge"), (X2D,)),
    "pad-reflect": (lambda a: np.pad(a, 2, mode="reflect"), (X10,)),
    "roll": (lambda a: np.roll(a, 3), (X10,)),
    "roll-axis": (lambda a: np.roll(a, -1, axis=1), (X2D,)),
    "tile": (lambda a: np.tile(a, 3), (_n(4),)),
    "tile-2d": (lambda a: np.tile(a, (2, 2)), (X2D,)),
    "repeat": (lambda a: np.repeat(a, 3), (_n(4),)),
    "repeat-axis": (lambda a: np.repeat(a, 2, axis=0), (X2D,)),
    "flip": (lambda a: np.flip(a), (X10,)),
    "flip-axis": (lambda a: np.flip(a, axis=1) * X2D, (X2D,)),
    "fliplr-flipud": (lambda a: np.fliplr(a) + np.flipud(a), (X2D,)),
    "diag-diagonal-trace": (lambda a: np.diag(np.diagonal(a)) * np.trace(a), (_n(4, 4),)),
    "where-traced-cond": (lambda a: np.where(a > 0, a ** 2, -np.sin(a)), (X10,)),
    "where-traced-cond-2d": (lambda a, b: np.where(a > b, a * b, b - a), (X2D, _n(4, 6))),
    "nd.where": (lambda a: nd.where(a < 0.3, np.exp(a), 1.0), (X10,)),
    "large-gather": (lambda a: a[::-3] * a[1::3][::-1][:a[::-3].shape[0]],
                     (separated(900, seed=44),)),
}


def _mask_setitem(a):
    y = a * 1.0
    y[a > 0] = a[a > 0] ** 3
    return y


def _add_at_2d(a):
    y = np.zeros_like(a)
    np.add.at(y, (np.array([0, 0, 3]), np.array([1, 1, 5])), a[0, :3] * 2)
    return y


INDEX_CASES.update({
    "negative-int-array": (lambda a: a[[-1, 0, -3]], (X10,)),
    "mask-setitem": (_mask_setitem, (X10,)),
    "add.at-2d-repeated": (_add_at_2d, (X2D,)),
    "where-scalar-cond": (lambda a: np.where(a[0] > 0, a, a ** 2), (X10,)),
    "builtin-max-min": (lambda a: max(a[0], a[1]) * min(a[2], a[3]), (X10,)),
    "sort-then-slice": (lambda a: np.sort(a)[::-1][:3], (X10,)),
    "repeat-list": (lambda a: np.repeat(a, [1, 2, 0, 3]), (_n(4),)),
    "roll-multi-axis": (lambda a: np.roll(a, (1, -2), axis=(0, 1)), (X2D,)),
    "atleast_2d": (lambda a: np.atleast_2d(a) * 2, (X10,)),
    "squeeze-after-slice": (lambda a: a[1:2].squeeze() * a[0], (X2D,)),
    "ravel-of-transpose": (lambda a: a.T.ravel()[::5], (X2D,)),
    "reshape-of-transpose": (lambda a: a.T.reshape(-1, 2), (X2D,)),
    "reshape-of-step-slice": (lambda a: a[:, ::2].reshape(-1), (X2D,)),
    "concatenate-axis-neg": (lambda a, b: np.concatenate([a, b], axis=-1), (X2D, _n(4, 2))),
    "stack-axis-neg": (lambda a, b: np.stack([a, b], axis=-1), (X2D, _n(4, 6))),
    "trace-offset": (lambda a: np.trace(a, offset=1), (_n(4, 4),)),
    "diag-k": (lambda a: np.diag(a, k=1) @ np.ones(5), (_n(4),)),
})


def _fill_slice_with_scalar(a):
    y = np.zeros_like(a)
    y[1:4] = a[0]
    return y * a


def _setitem_negative_step(a):
    y = a * 1.0
    y[::-2] = a[:5] ** 2
    return y


def _augmented_setitem(a):
    y = a * 1.0
    y[1:3] += a[:2] * 3
    return y


def _setitem_constant_by_mask(a):
    y = np.zeros_like(a)
    y[a > 0] = 1.0
    return y * a


def _setitem_row_reversed(a):
    y = a.copy()
    y[0, ::-1] = a[1] ** 2
    return y


def _in_place_operators(a):
    y = np.ones_like(a) * 2.0
    y += a
    y *= a
    return y


def _empty_like_filled(a):
    y = np.empty_like(a)
    y[:] = np.sin(a)
    return y


def _full_like_chain(a):
    y = np.full_like(a, 3.0)
    y[2] = a[2] * y[3]
    return y * a


def _setitem_into_copy_of_transpose(a):
    c = a.reshape(2, 5).T.copy()
    c[0] = c[1] * 2
    return c


def _python_loop_over_elements(a):
    s = 0.0
    for v in a:
        s = s + v * v
    return s


INDEX_CASES.update({
    "fill-slice-with-scalar": (_fill_slice_with_scalar, (X10,)),
    "setitem-negative-step": (_setitem_negative_step, (X10,)),
    "augmented-setitem": (_augmented_setitem, (X10,)),
    "setitem-constant-by-mask": (_setitem_constant_by_mask, (X10,)),
    "setitem-row-reversed": (_setitem_row_reversed, (X2D,)),
    "in-place-operators": (_in_place_operators, (X10,)),
    "empty_like-filled": (_empty_like_filled, (X10,)),
    "full_like-chain": (_full_like_chain, (X10,)),
    "setitem-copy-of-transpose": (_setitem_into_copy_of_transpose, (X10,)),
    "constant-plus-slice": (lambda a: np.zeros(3) + a[:3], (X10,)),
    "size-and-shape": (lambda a: np.sum(a) / a.size + a.shape[0] * a, (X10,)),
    "constant@reshape": (lambda a: np.array([1.0, 2.0]) @ a.reshape(2, 5), (X10,)),
    "loop-over-elements": (_python_loop_over_elements, (X10,)),
    "builtin-sum": (lambda a: sum(a) * a, (X10,)),
    "ufunc.reduce": (lambda a: np.add.reduce(a) + np.multiply.reduce(a[:3])
                     + np.maximum.reduce(a), (X10,)),
    "ufunc.accumulate": (lambda a: np.add.accumulate(a) * np.multiply.accumulate(a[:3] + 2)[0],
                         (X10,)),
    "ufunc.outer": (lambda a: np.multiply.outer(a[:3], a[3:6]), (X10,)),
    "fancy-then-reverse": (lambda a: a.reshape(2, 5)[:, [0, 4]][::-1], (X10,)),
    "outer-product-by-newaxis": (lambda a: (a[:, :, None] * a[:, None, :]).sum(axis=(1, 2)),
                                 (X2D,)),
    "where-then-max": (lambda a: np.where(a > 0, a, 0.0).max(axis=0), (X2D,)),
    "more-ufuncs": (lambda a: np.square(a) - np.negative(a) + np.reciprocal(a + 3.0)
                    + np.fabs(a) + np.fmax(a, 0.1), (X10,)),
    "round-decimals": (lambda a: np.round(a, 1) + a, (X10,)),
})


@pytest.mark.parametrize("name", list(INDEX_CASES))
def test_indexing_and_rearrangements(name):
    g, xs = INDEX_CASES[name]
    check_both_modes(g, xs, seed=45)


def test_repeated_integer_index_accumulates():
    x = np.array([1.0, 2.0, 3.0])
    g = nd.grad(lambda a: np.sum(a[[0, 0, 2, 0]]))(x)
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])


def test_setitem_overwritten_entries_get_no_derivative():
    x = np.array([1.0, 2.0, 3.0, 4.0])

    def f(a):
        y = a * 1.0
        y[1:3] = 0.0
        return np.sum(y * a)

    np.testing.assert_array_equal(nd.grad(f)(x), [2.0, 0.0, 0.0, 8.0])


# ---------------------------------------------------------------------------------
# Linear algebra
# ---------------------------------------------------------------------------------


def _well_conditioned(n, seed):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, n)) / np.sqrt(n) + 3.0 * np.eye(n)


def _sign_times_logabs(sign, logabs):
    return sign * logabs


def _spd_cholesky(b):
    n = b.shape[0]
    A = b @ b.T + n * np.eye(n)
    return np.linalg.cholesky(A)


LINALG_CASES = {
    "solve-vector": (np.linalg.solve, (_well_conditioned(4, 50), _n(4))),
    "solve-matrix": (np.linalg.solve, (_well_conditioned(4, 51), _n(4, 3))),
    "solve-30": (np.linalg.solve, (_well_conditioned(30, 52), _n(30))),
    "inv": (np.linalg.inv, (_well_conditioned(4, 53),)),
    "inv-times": (lambda a: np.linalg.inv(a) @ a.T, (_well_conditioned(3, 54),)),
    "det": (np.linalg.det, (_well_conditioned(4, 55),)),
    "det-negative": (np.linalg.det, (-_well_conditioned(3, 56),)),
    "slogdet": (lambda a: np.linalg.slogdet(a)[1] + 2.0 * np.linalg.slogdet(a)[0],
                (-_well_conditioned(3, 57),)),
    "slogdet-unpack": (lambda a: _sign_times_logabs(*np.linalg.slogdet(a)),
                       (_well_conditioned(4, 58),)),
    "cholesky": (_spd_cholesky, (_n(4, 4),)),
    "cholesky-upper-trace": (lambda b: np.sum(np.log(np.diagonal(_spd_cholesky(b)))),
                             (_n(5, 5),)),
    "norm": (np.linalg.norm, (X10,)),
    "norm-fro": (lambda a: np.linalg.norm(a), (X2D,)),
    "norm-ord1": (lambda a: np.linalg.norm(a, ord=1), (X10,)),
    "norm-ordinf": (lambda a: np.linalg.norm(a, ord=np.inf), (X10,)),
    "norm-ord3": (lambda a: np.linalg.norm(a, ord=3), (X10,)),
    "norm-axis1": (lambda a: np.linalg.norm(a, axis=1), (X2D,)),
}


@pytest.mark.parametrize("name", list(LINALG_CASES))
def test_linalg(name):
    g, xs = LINALG_CASES[name]
    check_both_modes(g, xs, seed=59, rtol=1e-6)


def test_det_closed_form():
    A = _well_conditioned(4, 60)
    g = nd.grad(np.linalg.det)(A)
    np.testing.assert_allclose(g, np.linalg.det(A) * np.linalg.inv(A).T, rtol=1e-12)


def test_solve_with_both_arguments_traced_closed_form():
    A = _well_conditioned(5, 61)
    b = _n(5)
    w = _n(5)
    gA, gb = nd.grad(lambda A, b: w @ np.linalg.solve(A, b), argnums=(0, 1))(A, b)
    lam = np.linalg.solve(A.T, w)
    x = np.linalg.solve(A, b)
    np.testing.assert_allclose(gb, lam, rtol=1e-12)
    np.testing.assert_allclose(gA, -np.outer(lam, x), rtol=1e-12)


# ---------------------------------------------------------------------------------
# logsumexp, stop_gradient, straight_through, scipy.special
# ---------------------------------------------------------------------------------

SPECIAL_CASES = {
    "logsumexp": (lambda a: nd.logsumexp(a), (X2D,)),
    "logsumexp-axis1": (lambda a: nd.logsumexp(a, axis=1), (X2D,)),
    "logsumexp-axis0-keepdims": (lambda a: nd.logsumexp(a, axis=0, keepdims=True), (X2D,)),
    "logsumexp-large": (lambda a: nd.logsumexp(a * 300.0), (X10,)),
    "logaddexp": (lambda a, b: np.logaddexp(a, b), (X10, _n(10))),
    "erf": (sps.erf, (X345,)),
    "erfc": (sps.erfc, (X345,)),
    "ndtr": (sps.ndtr, (X345,)),
    "expit": (sps.expit, (X345,)),
    "nd.norm_cdf": (nd.norm_cdf, (X10,)),
    "erf-1000": (lambda a: sps.erf(a) * sps.ndtr(-a),
                 (np.random.default_rng(62).normal(0, 1.5, 1000),)),
}


@pytest.mark.parametrize("name", list(SPECIAL_CASES))
def test_special(name):
    g, xs = SPECIAL_CASES[name]
    check_both_modes(g, xs, seed=63)


def test_logsumexp_gradient_is_softmax():
    x = _n(3, 5) * 50.0
    g = nd.grad(lambda a: np.sum(nd.logsumexp(a, axis=1)))(x)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(g, e / e.sum(axis=1, keepdims=True), rtol=1e-13, atol=1e-300)
    assert nd.logsumexp(x, axis=1).shape == (3,)


def test_stop_gradient():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(nd.grad(lambda a: np.sum(a * nd.stop_gradient(a)))(x), x)
    np.testing.assert_array_equal(nd.grad(lambda a: np.sum(nd.stop_gradient(a) ** 2))(x),
                                  np.zeros(3))
    _, t = nd.jvp(lambda a: nd.stop_gradient(a) * a, x, np.ones(3))
    np.testing.assert_array_equal(t, x)
    assert nd.grad(lambda s: nd.stop_gradient(s * s) + s)(3.0) == 1.0


def test_straight_through_floor():
    x = np.array([1.7, -0.2, 2.5, 3.0])
    w = np.array([0.5, -1.0, 2.0, 3.0])
    st = nd.straight_through(np.floor)
    value, g = nd.value_and_grad(lambda a: np.sum(w * st(a)))(x)
    assert value == float(np.sum(w * np.floor(x)))
    np.testing.assert_array_equal(g, w)
    y, t = nd.jvp(st, x, w)
    np.testing.assert_array_equal(y, np.floor(x))
    np.testing.assert_array_equal(t, w)
    assert nd.grad(st)(2.7) == 1.0


# ---------------------------------------------------------------------------------
# Pytrees and argnums
# ---------------------------------------------------------------------------------


def test_grad_of_a_dict_has_the_same_structure():
    rng = np.random.default_rng(70)
    X = rng.standard_normal((20, 3))
    y = rng.standard_normal(20)
    params = {"w": rng.standard_normal(3), "b": 0.25}

    def loss(p):
        r = X @ p["w"] + p["b"] - y
        return np.mean(r ** 2)

    g = nd.grad(loss)(params)
    assert isinstance(g, dict) and set(g) == {"w", "b"}
    assert isinstance(g["w"], np.ndarray) and g["w"].shape == (3,)
    assert type(g["b"]) is float
    r = X @ params["w"] + params["b"] - y
    np.testing.assert_allclose(g["w"], 2 * X.T @ r / 20, rtol=1e-13)
    assert g["b"] == pytest.approx(2 * np.mean(r), rel=1e-13)
    # forward mode over the same structure
    v = {"w": np.ones(3), "b": 1.0}
    _, t = nd.jvp(loss, params, v)
    assert t == pytest.approx(float(np.sum(g["w"]) + g["b"]), rel=1e-12)


def test_grad_of_nested_pytree():
    params = {"layers": [(np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0.1, 0.2])),
                         (np.array([[0.3], [-0.7]]), np.array([0.0]))],
              "scale": 2.0}
    x = np.array([0.4, -0.3])

    def f(p):
        h = x
        for W, b in p["layers"]:
            h = np.tanh(h @ W + b)
        return p["scale"] * np.sum(h)

    g = nd.grad(f)(params)
    assert isinstance(g["layers"], list) and len(g["layers"]) == 2
    assert all(isinstance(t, tuple) and len(t) == 2 for t in g["layers"])
    for (W, b), (gW, gb) in zip(params["layers"], g["layers"]):
        assert gW.shape == W.shape and gb.shape == b.shape
    # against central differences on every leaf
    leaves = [params["layers"][0][0], params["layers"][0][1], params["layers"][1][0],
              params["layers"][1][1]]
    got = [g["layers"][0][0], g["layers"][0][1], g["layers"][1][0], g["layers"][1][1]]

    def rebuild(a, b, c, d):
        return {"layers": [(a, b), (c, d)], "scale": params["scale"]}

    expected = fd_grad(lambda *ls: f(rebuild(*ls)), leaves)
    for a, b in zip(got, expected):
        assert_close(a, b)
    s = 1e-6
    fd_scale = (f({**params, "scale": 2.0 + s}) - f({**params, "scale": 2.0 - s})) / (2 * s)
    assert g["scale"] == pytest.approx(fd_scale, rel=1e-8)


def test_grad_of_a_tuple_argument():
    a, b = np.array([1.0, 2.0, 3.0]), 0.5

    def f(t):
        u, s = t
        return np.sum(np.sin(u) * s) + s ** 3

    g = nd.grad(f)((a, b))
    assert isinstance(g, tuple) and len(g) == 2
    np.testing.assert_allclose(g[0], np.cos(a) * b, rtol=1e-14)
    assert type(g[1]) is float
    assert g[1] == pytest.approx(np.sum(np.sin(a)) + 3 * b ** 2, rel=1e-14)


def test_argnums_tuple_and_single():
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0, 0.5])

    def f(x, y, c):
        return np.sum(x) * np.sum(y ** 2) + c

    gx, gy = nd.grad(f, argnums=(0, 1))(x, y, 4.0)
    np.testing.assert_allclose(gx, np.full(2, np.sum(y ** 2)))
    np.testing.assert_allclose(gy, 2 * y * np.sum(x))
    np.testing.assert_allclose(nd.grad(f, argnums=1)(x, y, 4.0), gy)
    assert nd.grad(f, argnums=2)(x, y, 4.0) == 1.0
    gy2, gx2 = nd.grad(f, argnums=(1, 0))(x, y, 4.0)
    np.testing.assert_array_equal(gx2, gx)
    np.testing.assert_array_equal(gy2, gy)


def test_integer_input_gives_float_derivative():
    g = nd.grad(lambda x: np.sum(x ** 2))(np.array([1, 2, 3]))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, [2.0, 4.0, 6.0])
    g = nd.grad(lambda x: x ** 3)(2)
    assert type(g) is float and g == 12.0


# ---------------------------------------------------------------------------------
# Many lanes at once: nd.jacobian's forward mode (one tangent sweep with n lanes)
# against its reverse mode (m adjoint sweeps), over every case above
# ---------------------------------------------------------------------------------

ALL_CASES = {**MISC_CASES, **PRODUCT_CASES, **INDEX_CASES, **LINALG_CASES, **SPECIAL_CASES}
SMALL_CASES = [k for k, (_, xs) in ALL_CASES.items() if sum(np.size(x) for x in xs) <= 400]


def _flat(g, xs):
    shapes = [np.shape(x) for x in xs]
    sizes = [int(np.size(x)) for x in xs]

    def gf(z):
        parts, o = [], 0
        for sh, n in zip(shapes, sizes):
            parts.append(z[o:o + n].reshape(sh))
            o += n
        return g(*parts)

    return gf, np.concatenate([np.ravel(x) for x in xs]).astype(np.float64)


@pytest.mark.parametrize("name", SMALL_CASES)
def test_jacobian_forward_lanes_equal_reverse_rows(name):
    g, xs = ALL_CASES[name]
    gf, z = _flat(g, xs)
    Jf = nd.jacobian(gf, "forward")(z)
    Jr = nd.jacobian(gf, "reverse")(z)
    assert Jf.shape == np.shape(gf(z)) + z.shape
    np.testing.assert_allclose(Jf, Jr, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("fn,x", [
    (lambda a: np.max(a, axis=1), [[1.0, 5.0, 5.0], [2.0, 2.0, 0.0]]),
    (np.sort, [[1.0, 1.0, 0.0]]),
    (np.cumprod, [[2.0, 0.0, 3.0, 0.0, 1.0]]),
    (lambda a: np.prod(a, axis=0), [[2.0, 0.0], [0.0, 0.0], [3.0, 1.0]]),
    (lambda a: np.clip(a, -0.5, 0.5), [[-0.5, 0.5, 0.0, 1.0]]),
], ids=["max-ties", "sort-ties", "cumprod-zeros", "prod-zeros", "clip-bounds"])
def test_jacobian_modes_agree_at_kinks(fn, x):
    x = np.array(x)
    gf = lambda z: fn(z.reshape(x.shape))  # noqa: E731
    np.testing.assert_array_equal(nd.jacobian(gf, "forward")(x.ravel()),
                                  nd.jacobian(gf, "reverse")(x.ravel()))
