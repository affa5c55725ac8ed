"""NumPy calls at their awkward inputs: ties, singular and degenerate matrices, both
triangles of eigh, length-1 axes, keyword spellings, comparisons used as numbers,
complex arguments and functions numad does not know.

Every derivative is checked against a closed form or central differences
(``nd.numerical_gradient``) in every mode that applies: reverse (``grad``), the tangent
sweep (``tape.jvp`` / forward ``jacobian``), nested rules (``hessian``, a derivative of a
derivative) and ``Dual`` numbers.
"""
import inspect

import numpy as np
import pytest
import scipy.special as sps
import sympy as sp

import numad as nd
from numad import numpy_dispatch as D
from numad.traced import Traced, qualname, value_of

RNG = np.random.default_rng(20240611)


def fd(f, x):
    return nd.numerical_gradient(f, x)


def assert_fd(f, x, rtol=1e-6, atol=1e-7):
    g = nd.grad(f)(x)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, fd(f, x), rtol=rtol, atol=atol)
    return g


def tangent_of(f, x, v):
    """f'(x) v by the compiled tangent sweep of the recorded tape."""
    return nd.trace(f, x).jvp(x, v)[1]


# ---------------------------------------------------------------------------------
# A.1 maximum / minimum: a tie between two operands shares the derivative equally
# ---------------------------------------------------------------------------------

def _stacked_max(x):
    a = np.stack([x, x, 0.5])
    b = np.stack([np.stack([x, 0.5, x]), np.stack([x, x, 0.5])])
    return np.sum(np.maximum(a, b))


TIES = [
    # (label, f, x, derivative at x)
    ("maximum(x, x)", lambda x: np.maximum(x, x), 0.3, 1.0),
    ("minimum(x, x)", lambda x: np.minimum(x, x), -1.7, 1.0),
    ("fmax(x, x)", lambda x: np.fmax(x, x), 0.3, 1.0),
    ("nd.maximum(x, x)", lambda x: nd.maximum(x, x), 2.0, 1.0),
    ("maximum(x, x) ** 2", lambda x: np.maximum(x, x) ** 2, 1.5, 3.0),
    ("maximum(2x, x + x)", lambda x: np.maximum(2.0 * x, x + x), 0.7, 2.0),
    ("minimum(x, x) * x", lambda x: np.minimum(x, x) * x, 0.7, 1.4),
    # all entries tie at 0.5: (x, x) pairs give 1, (x, 0.5) pairs 1/2 each
    ("stacked, all tied", _stacked_max, 0.5, 4.0),
    ("stacked, x < 0.5", _stacked_max, 0.3, 3.0),
]


@pytest.mark.parametrize("label,f,x,expected", TIES, ids=[t[0] for t in TIES])
def test_ties_share_the_derivative(label, f, x, expected):
    assert nd.grad(f)(x) == pytest.approx(expected, rel=1e-14)
    assert nd.gradient(lambda v: f(v[0]))(np.array([x]))[0] == pytest.approx(expected)
    assert tangent_of(f, x, 1.0) == pytest.approx(expected, rel=1e-14)
    assert nd.jacobian(lambda v: np.atleast_1d(f(v[0])), mode="forward")(
        np.array([x]))[0, 0] == pytest.approx(expected)
    if label.startswith("stacked, x"):  # away from the ties with the constant: FD holds
        assert nd.grad(f)(x) == pytest.approx(float(fd(f, x)), rel=1e-7)


@pytest.mark.parametrize("fn", [np.maximum, np.minimum])
def test_ties_in_dual_and_second_order(fn):
    d = fn(nd.Dual(0.4, 1.0), nd.Dual(0.4, 1.0))
    assert d.tangent == pytest.approx(1.0)
    # (maximum(x, x))^2 = x^2: second derivative 2 through the nested rules and hvp
    f = lambda x: fn(x, x) ** 2  # noqa: E731
    assert nd.grad(nd.grad(f))(0.8) == pytest.approx(2.0)
    h = nd.hessian(lambda v: np.sum(fn(v, v) ** 2))(np.array([0.8, -0.2]))
    np.testing.assert_allclose(h, 2.0 * np.eye(2))
    p = np.array([1.0, 2.0])
    np.testing.assert_allclose(nd.hvp(lambda v: np.sum(fn(v, v[::-1] * 1.0) ** 2))(
        np.array([0.5, 0.5]), p), [3.0, 3.0])  # every pair tied: 2 x (p1 + p2) / 2


def test_tie_with_itself_in_an_array():
    # sum(maximum(x, x[::-1])): the middle entry ties with itself and counts once
    x = np.array([0.3, -1.0, 0.7, 2.0, 0.1])
    g = nd.gradient(lambda x: np.sum(np.maximum(x, x[::-1])))(x)
    np.testing.assert_allclose(g, [2.0, 0.0, 1.0, 2.0, 0.0])  # 0.3 > 0.1, 2.0 > -1.0
    J = nd.jacobian(lambda x: np.maximum(x, x[::-1]), mode="forward")(x)
    np.testing.assert_allclose(J.sum(axis=0), g)


# ---------------------------------------------------------------------------------
# A.2 / A.5 eigh and eigvalsh: both triangles, every size, repeated eigenvalues
# ---------------------------------------------------------------------------------

def _eigh_objective(n, uplo, which):
    W = RNG.normal(size=n)
    Wv = RNG.normal(size=(n, n))

    def f(a):
        if which == "eigvalsh":
            return np.sum(W * np.linalg.eigvalsh(a, UPLO=uplo) ** 2)
        w, v = np.linalg.eigh(a, uplo)
        return np.sum(W * w) + np.sum(Wv * v)
    return f


@pytest.mark.parametrize("which", ["eigh", "eigvalsh"])
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("n", range(2, 9))
def test_eigh_reads_one_triangle(n, uplo, which):
    a = RNG.normal(size=(n, n))  # not symmetric: numpy reads one triangle only
    f = _eigh_objective(n, uplo, which)
    assert nd.trace(f, a)(a) == pytest.approx(f(a), rel=1e-12)  # NumPy's eigenvector signs
    g = assert_fd(f, a, rtol=1e-5, atol=1e-6)
    other = np.tril(np.ones((n, n)), -1) if uplo == "U" else np.triu(np.ones((n, n)), 1)
    assert np.all(g[other > 0] == 0.0)
    # the tangent sweep and the reverse sweep agree
    v = RNG.normal(size=(n, n))
    assert tangent_of(f, a, v) == pytest.approx(float(np.sum(g * v)), rel=1e-9, abs=1e-10)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_second_order_both_triangles(uplo):
    n = 3
    a = RNG.normal(size=(n, n))
    W = RNG.normal(size=(n, n))

    def f(x):
        w, v = np.linalg.eigh(x.reshape(n, n), UPLO=uplo)
        return np.sum(w ** 3) + np.sum(W * v[:, 0] ** 2 * 1.0)  # v_0 v_0^T: sign-free
    x = a.ravel()
    H = nd.hessian(f)(x)
    H_fd = np.array([fd(lambda y, k=k: nd.gradient(f)(y)[k], x) for k in range(n * n)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-5)
    p = RNG.normal(size=n * n)
    np.testing.assert_allclose(nd.hvp(f)(x, p), H @ p, rtol=1e-9, atol=1e-9)


def _with_spectrum(w, seed=3):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(len(w), len(w))))
    return q @ np.diag(w) @ q.T


REPEATED = [
    ("identity", np.eye(4)),
    ("zero", np.zeros((3, 3))),
    ("1,1,2", _with_spectrum([1.0, 1.0, 2.0])),
    ("3,3,3,-1,-1", _with_spectrum([3.0, 3.0, 3.0, -1.0, -1.0], seed=5)),
]


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("label,a", REPEATED, ids=[r[0] for r in REPEATED])
def test_symmetric_functions_at_repeated_eigenvalues(label, a, uplo):
    n = a.shape[0]
    strict = np.tril(np.ones((n, n)), -1) if uplo == "L" else np.triu(np.ones((n, n)), 1)
    # sum(w) = trace; sum(w^2) = |S|_F^2 with S mirrored from the triangle read
    g = nd.grad(lambda a: np.sum(np.linalg.eigvalsh(a, uplo)))(a)
    np.testing.assert_allclose(g, np.eye(n), atol=1e-12)
    g = nd.grad(lambda a: np.sum(np.linalg.eigvalsh(a, uplo) ** 2))(a)
    np.testing.assert_allclose(g, 2.0 * a * np.eye(n) + 4.0 * a * strict, atol=1e-12)
    g = nd.grad(lambda a: np.sum(np.linalg.eigh(a, uplo)[0] ** 2))(a)
    np.testing.assert_allclose(g, 2.0 * a * np.eye(n) + 4.0 * a * strict, atol=1e-12)
    # the tangent sweep and the nested rules are finite and agree
    v = RNG.normal(size=(n, n))
    t = tangent_of(lambda a: np.sum(np.linalg.eigvalsh(a, uplo) ** 2), a, v)
    assert t == pytest.approx(float(np.sum(g * v)), abs=1e-10)
    H = nd.hessian(lambda x: np.sum(np.linalg.eigvalsh(x.reshape(n, n), uplo) ** 2))(a.ravel())
    assert np.all(np.isfinite(H))
    inner = nd.grad(lambda a: np.sum(nd.grad(
        lambda b: np.sum(np.linalg.eigvalsh(b, uplo) ** 2))(a) * v))(a)
    assert np.all(np.isfinite(inner))


def test_projector_onto_a_degenerate_eigenspace():
    # P = V_k V_k^T of the repeated eigenvalue 1: smooth in A, whatever basis eigh picks
    a = _with_spectrum([1.0, 1.0, 3.0])
    W = RNG.normal(size=(3, 3))

    def f(a):
        v = np.linalg.eigh(a)[1][:, :2]
        return np.sum(W * (v @ v.T))
    g = nd.grad(f)(a)
    np.testing.assert_allclose(g, fd(f, a), rtol=1e-5, atol=1e-6)
    v = RNG.normal(size=(3, 3))
    assert tangent_of(f, a, v) == pytest.approx(float(np.sum(g * v)), abs=1e-9)


# ---------------------------------------------------------------------------------
# A.3 std / var where the spread is 0
# ---------------------------------------------------------------------------------

SPREAD_ZERO = [
    ("std axis of length 1", lambda x: np.sum(np.std(x, axis=0)), np.array([[0.3, -1.0, 2.0]])),
    ("std axis 1 keepdims", lambda x: np.sum(np.std(x, axis=1, keepdims=True)),
     np.array([[0.3], [2.0]])),
    ("var axis of length 1", lambda x: np.sum(np.var(x, axis=0)), np.array([[0.3, -1.0]])),
    ("std of a constant", lambda x: np.std(x), np.full(4, 1.25)),
    ("std of a constant row", lambda x: np.sum(np.std(x, axis=1)), np.ones((2, 3))),
    ("x.std() of one entry", lambda x: x.std(), np.array([0.4])),
    ("norm at zero", lambda x: np.linalg.norm(x), np.zeros(3)),
    ("norm axis at zero", lambda x: np.sum(np.linalg.norm(x, axis=1)), np.zeros((2, 2))),
    ("norm ord 3 at zero", lambda x: np.linalg.norm(x, 3), np.zeros(3)),
]


@pytest.mark.parametrize("label,f,x", SPREAD_ZERO, ids=[s[0] for s in SPREAD_ZERO])
def test_zero_spread_has_zero_gradient(label, f, x):
    g = nd.grad(f)(x)
    np.testing.assert_array_equal(g, np.zeros_like(x))
    assert nd.trace(f, x)(x) == pytest.approx(float(f(x)), abs=1e-15)
    assert tangent_of(f, x, np.ones_like(x)) == 0.0
    H = nd.hessian(lambda v: f(v.reshape(x.shape)))(x.ravel())
    assert np.all(np.isfinite(H))


@pytest.mark.parametrize("ddof", [0, 1])
def test_std_var_away_from_zero_spread(ddof):
    x = RNG.normal(size=(3, 4))
    for axis in (None, 0, 1, (0, 1)):
        assert_fd(lambda x: np.sum(np.std(x, axis=axis, ddof=ddof) ** 1.5), x)
        assert_fd(lambda x: np.sum(np.var(x, axis=axis, ddof=ddof, keepdims=True) ** 2), x)


# ---------------------------------------------------------------------------------
# A.4 det: the cofactor matrix everywhere, singular matrices included
# ---------------------------------------------------------------------------------

def _cofactors(a):
    return np.array(sp.Matrix(a.tolist()).adjugate().T.tolist(), dtype=float)


DETS = [
    ("singular 2x2", np.array([[1.0, 2.0], [2.0, 4.0]])),
    ("zero 2x2", np.zeros((2, 2))),
    ("rank-2 3x3", np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])),
    ("rank-1 3x3", np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 2.0])),
    ("1x1", np.array([[0.0]])),
    ("nonsingular 5x5", np.round(RNG.normal(size=(5, 5)), 3)),
]


@pytest.mark.parametrize("label,a", DETS, ids=[d[0] for d in DETS])
def test_det_derivative_is_the_cofactor_matrix(label, a):
    C = _cofactors(a)
    scale = max(1.0, np.abs(C).max())
    g = nd.grad(np.linalg.det)(a)
    np.testing.assert_allclose(g, C, rtol=1e-10, atol=1e-12 * scale)
    g = nd.gradient(lambda x: np.linalg.det(x.reshape(a.shape)))(a.ravel())
    np.testing.assert_allclose(g, C.ravel(), rtol=1e-10, atol=1e-12 * scale)
    v = RNG.normal(size=a.shape)
    assert tangent_of(np.linalg.det, a, v) == pytest.approx(float(np.sum(C * v)), rel=1e-10,
                                                             abs=1e-12 * scale)
    assert nd.trace(np.linalg.det, a)(a) == pytest.approx(float(np.linalg.det(a)), abs=1e-12)


@pytest.mark.parametrize("label,a", [DETS[0], DETS[2], DETS[3],
                                     ("random 3x3", RNG.normal(size=(3, 3)))],
                         ids=["singular 2x2", "rank-2 3x3", "rank-1 3x3", "random 3x3"])
def test_det_hessian_against_sympy(label, a):
    n = a.shape[0]
    syms = sp.symbols(f"a0:{n * n}")
    expr = sp.Matrix(n, n, syms).det()
    at = dict(zip(syms, a.ravel()))
    H_exact = np.array(sp.hessian(expr, syms).subs(at).tolist(), dtype=float)
    f = lambda x: np.linalg.det(x.reshape(n, n))  # noqa: E731
    np.testing.assert_allclose(nd.hessian(f)(a.ravel()), H_exact, atol=1e-12)
    p = RNG.normal(size=n * n)
    np.testing.assert_allclose(nd.hvp(f)(a.ravel(), p), H_exact @ p, atol=1e-11)
    # a derivative of a derivative, by nested nd.grad
    g2 = nd.grad(lambda b: np.sum(nd.grad(np.linalg.det)(b) * p.reshape(n, n)))(a)
    np.testing.assert_allclose(g2.ravel(), H_exact @ p, atol=1e-11)


# ---------------------------------------------------------------------------------
# B.6 composite ufuncs broadcast scalars, 0-d arrays and arrays
# ---------------------------------------------------------------------------------

A3 = np.array([0.2, -0.7, 1.1])
BROADCAST_PAIRS = [
    ("float, array", 0.6, A3),
    ("array, float", A3, 0.6),
    ("0-d, array", np.array(0.6), A3),
    ("(3,1), (4,)", A3.reshape(3, 1), np.array([0.1, -0.4, 0.9, 2.0])),
    ("float, float", 0.6, -0.3),
]


@pytest.mark.parametrize("fn", [np.logaddexp, np.logaddexp2, np.arctan2, np.hypot,
                                np.maximum, np.power], ids=lambda f: f.__name__)
@pytest.mark.parametrize("label,a,b", BROADCAST_PAIRS, ids=[p[0] for p in BROADCAST_PAIRS])
def test_binary_ufuncs_broadcast(label, a, b, fn):
    if fn is np.power:
        a = np.abs(a) + 0.5 if isinstance(a, np.ndarray) else abs(a) + 0.5
    for k in (0, 1):  # trace either operand, the other a constant
        args = [a, b]

        def f(x, k=k):
            args2 = list(args)
            args2[k] = x
            return np.sum(np.sin(fn(*args2)))
        x = np.asarray(args[k], dtype=np.float64)
        assert nd.trace(f, x)(x) == pytest.approx(float(f(x)), rel=1e-13)
        assert_fd(f, x)


@pytest.mark.parametrize("fn", [np.exp2, np.deg2rad, np.radians, np.rad2deg, np.degrees])
@pytest.mark.parametrize("x", [0.4, np.array(0.4), np.array([0.4, -1.2])],
                         ids=["float", "0-d", "array"])
def test_unary_composite_ufuncs(fn, x):
    assert_fd(lambda x: np.sum(fn(x) ** 2), x)


# ---------------------------------------------------------------------------------
# B.7 NumPy's signatures: every parameter name, positional or keyword
# ---------------------------------------------------------------------------------

def _numpy_signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


@pytest.mark.parametrize("np_fn", list(D.FUNCTIONS), ids=lambda f: qualname(f))
def test_registered_functions_have_numpy_signatures(np_fn):
    sig = _numpy_signature(np_fn)
    if sig is None:
        pytest.skip("a C function without a signature")
    ours = inspect.signature(D.FUNCTIONS[np_fn])
    assert [(p.name, p.kind) for p in ours.parameters.values()] == \
        [(p.name, p.kind) for p in sig.parameters.values()]
    # what the handler takes are NumPy's parameters
    assert set(getattr(D.FUNCTIONS[np_fn], "numad_takes", [])) <= set(sig.parameters)


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "max", "min", "clip", "where",
                                  "dot", "stack", "concatenate"])
def test_nd_functions_take_numpy_parameter_names(name):
    ours = inspect.signature(getattr(nd, name))
    theirs = inspect.signature(getattr(np, name))
    names = [p.name for p in ours.parameters.values()]
    assert names == [p.name for p in theirs.parameters.values()][:len(names)]


X23 = RNG.uniform(0.2, 1.0, size=(2, 3))
SPD = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])

# np function -> (point, keyword arguments built from the traced point)
KEYWORD_CALLS = {
    np.sum: (X23, lambda x: dict(a=x, axis=1, keepdims=True)),
    np.prod: (X23, lambda x: dict(a=x, axis=0, keepdims=False, dtype=np.float64)),
    np.max: (X23, lambda x: dict(a=x, axis=1, keepdims=True)),
    np.amax: (X23, lambda x: dict(a=x, axis=0)),
    np.min: (X23, lambda x: dict(a=x, axis=1)),
    np.amin: (X23, lambda x: dict(a=x, axis=None, keepdims=True)),
    np.mean: (X23, lambda x: dict(a=x, axis=0, keepdims=True)),
    np.var: (X23, lambda x: dict(a=x, axis=1, ddof=1, keepdims=True)),
    np.std: (X23, lambda x: dict(a=x, axis=1, correction=1)),
    np.median: (X23, lambda x: dict(a=x, axis=1, keepdims=True)),
    np.cumsum: (X23, lambda x: dict(a=x, axis=1)),
    np.cumprod: (X23, lambda x: dict(a=x, axis=0)),
    np.diff: (X23, lambda x: dict(a=x, n=1, axis=1, prepend=0.5)),
    np.sort: (X23, lambda x: dict(a=x, axis=1, kind="stable")),
    np.clip: (X23, lambda x: dict(a=x, a_min=0.4, a_max=0.8)),
    np.outer: (X23[0], lambda x: dict(a=x, b=x)),
    np.einsum: (X23, lambda x: dict(optimize=False)),  # subscripts are positional
    np.tensordot: (X23, lambda x: dict(a=x, b=x, axes=([1], [1]))),
    np.dot: (X23, lambda x: dict(a=x, b=x.T)),
    np.vdot: (X23, None),  # positional-only in NumPy
    np.inner: (X23, None),
    np.reshape: (X23, lambda x: dict(a=x, shape=(3, 2), order="C")),
    np.transpose: (X23, lambda x: dict(a=x, axes=(1, 0))),
    np.swapaxes: (X23, lambda x: dict(a=x, axis1=0, axis2=1)),
    np.moveaxis: (X23, lambda x: dict(a=x, source=0, destination=1)),
    np.ravel: (X23, lambda x: dict(a=x, order="C")),
    np.squeeze: (X23[:1], lambda x: dict(a=x, axis=0)),
    np.expand_dims: (X23, lambda x: dict(a=x, axis=1)),
    np.broadcast_to: (X23[0], lambda x: dict(array=x, shape=(2, 3))),
    np.stack: (X23, lambda x: dict(arrays=[x, x], axis=1)),
    np.concatenate: (X23, lambda x: dict(arrays=[x, x], axis=1)),
    np.hstack: (X23, lambda x: dict(tup=[x, x])),
    np.vstack: (X23, lambda x: dict(tup=[x, x])),
    np.column_stack: (X23[0], lambda x: dict(tup=[x, x])),
    np.atleast_1d: (X23, None),
    np.atleast_2d: (X23, None),
    np.where: (X23, lambda x: dict(condition=x > 0.5, x=x, y=2.0 * x)),
    np.pad: (X23, lambda x: dict(array=x, pad_width=1, mode="constant", constant_values=0.5)),
    np.roll: (X23, lambda x: dict(a=x, shift=1, axis=1)),
    np.tile: (X23, lambda x: dict(A=x, reps=(2, 1))),
    np.repeat: (X23, lambda x: dict(a=x, repeats=2, axis=0)),
    np.flip: (X23, lambda x: dict(m=x, axis=1)),
    np.fliplr: (X23, lambda x: dict(m=x)),
    np.flipud: (X23, lambda x: dict(m=x)),
    np.round: (X23, lambda x: dict(a=x, decimals=1)),
    np.around: (X23, lambda x: dict(a=x, decimals=0)),
    np.diag: (X23[0], lambda x: dict(v=x, k=1)),
    np.diagonal: (X23, lambda x: dict(a=x, offset=1, axis1=0, axis2=1)),
    np.trace: (X23, lambda x: dict(a=x, offset=0, axis1=0, axis2=1)),
    np.copy: (X23, lambda x: dict(a=x)),
    np.zeros_like: (X23, lambda x: dict(a=x, dtype=np.float64)),
    np.ones_like: (X23, lambda x: dict(a=x, shape=(2, 3))),
    np.full_like: (X23, lambda x: dict(a=x, fill_value=2.0)),
    np.empty_like: (X23, lambda x: dict(prototype=x)),
    np.shape: (X23, lambda x: dict(a=x)),
    np.ndim: (X23, lambda x: dict(a=x)),
    np.size: (X23, lambda x: dict(a=x, axis=1)),
    np.all: (X23, lambda x: dict(a=x > 0.0, axis=1, keepdims=True)),
    np.any: (X23, lambda x: dict(a=x > 0.5, axis=0)),
    np.count_nonzero: (X23, lambda x: dict(a=x > 0.5, axis=1, keepdims=True)),
    np.argmax: (X23[0], lambda x: dict(a=x)),
    np.argmin: (X23[0], lambda x: dict(a=x, axis=None)),
    np.linalg.solve: (SPD, lambda x: dict(a=x, b=x[:, 0])),
    np.linalg.inv: (SPD, lambda x: dict(a=x)),
    np.linalg.det: (SPD, lambda x: dict(a=x)),
    np.linalg.slogdet: (SPD, lambda x: dict(a=x)),
    np.linalg.cholesky: (SPD, lambda x: dict(upper=True)),  # a is positional-only
    np.linalg.norm: (X23, lambda x: dict(x=x, ord=1, axis=1, keepdims=True)),
    np.linalg.svd: (X23, lambda x: dict(a=x, full_matrices=False, compute_uv=False)),
    np.linalg.eigh: (SPD, lambda x: dict(a=x, UPLO="U")),
    np.linalg.eigvalsh: (SPD, lambda x: dict(a=x, UPLO="L")),
    np.matmul: (X23, None),
    np.result_type: (X23, None),
    np.isscalar: (X23, lambda x: dict(element=x)),
    np.interp: (X23, None),
    np.sinc: (X23, lambda x: dict(x=x)),
    # numad/array_functions.py
    np.nansum: (X23, lambda x: dict(a=x, axis=0, keepdims=True)),
    np.nanprod: (X23, lambda x: dict(a=x, axis=1)),
    np.nanmean: (X23, lambda x: dict(a=x, axis=0, keepdims=True)),
    np.nanmax: (X23, lambda x: dict(a=x, axis=1, keepdims=True)),
    np.nanmin: (X23, lambda x: dict(a=x, axis=None)),
    np.nanvar: (X23, lambda x: dict(a=x, axis=1, ddof=1, keepdims=True)),
    np.nanstd: (X23, lambda x: dict(a=x, axis=0, correction=1)),
    np.ptp: (X23, lambda x: dict(a=x, axis=1, keepdims=True)),
    np.average: (X23, lambda x: dict(a=x, axis=1, weights=x[0], returned=True,
                                     keepdims=False)),
    np.split: (X23, lambda x: dict(ary=x, indices_or_sections=[1], axis=1)),
    np.array_split: (X23, lambda x: dict(ary=x, indices_or_sections=2, axis=1)),
    np.hsplit: (X23, lambda x: dict(ary=x, indices_or_sections=3)),
    np.vsplit: (X23, lambda x: dict(ary=x, indices_or_sections=2)),
    np.dsplit: (X23, lambda x: dict(ary=x.reshape(2, 1, 3), indices_or_sections=[1])),
    np.triu: (X23, lambda x: dict(m=x, k=1)),
    np.tril: (X23, lambda x: dict(m=x, k=-1)),
    np.take: (X23, lambda x: dict(a=x, indices=[2, -1], axis=1, mode="wrap")),
    np.take_along_axis: (X23, lambda x: dict(arr=x, indices=np.array([[1, 0], [2, 2]]),
                                             axis=1)),
    np.kron: (X23, lambda x: dict(a=x, b=x[0])),
    np.cross: (X23, lambda x: dict(a=x, b=x[::-1] * 1.0, axisa=1, axisb=1, axisc=0)),
    np.linspace: (X23, lambda x: dict(start=x[0, 0], stop=x[1, 2], num=4, endpoint=False,
                                      retstep=True, axis=0)),
    np.meshgrid: (X23, lambda x: dict(indexing="ij", sparse=False, copy=True)),
    np.polyval: (X23, lambda x: dict(p=x[0], x=x[1])),
    np.convolve: (X23, lambda x: dict(a=x[0], v=x[1, :2], mode="same")),
    np.correlate: (X23, lambda x: dict(a=x[0], v=x[1], mode="full")),
    np.select: (X23, lambda x: dict(condlist=[x > 0.5], choicelist=[x ** 2], default=x)),
    np.piecewise: (X23, lambda x: dict(x=x, condlist=[x > 0.5],
                                       funclist=[lambda v: v ** 2, lambda v: -v])),
    np.argsort: (X23, lambda x: dict(a=x, axis=1, kind="stable")),
    np.partition: (X23, lambda x: dict(a=x, kth=1, axis=1)),
    np.argpartition: (X23, lambda x: dict(a=x, kth=1, axis=0)),
    np.searchsorted: (X23[0], lambda x: dict(a=np.array([0.0, 0.5, 1.0]), v=x, side="right")),
    np.unique: (X23[0], lambda x: dict(ar=x, return_counts=True)),
    np.linalg.qr: (SPD, lambda x: dict(a=x, mode="reduced")),
    np.linalg.pinv: (X23, lambda x: dict(a=x, rcond=1e-12)),
    np.linalg.lstsq: (SPD, lambda x: dict(a=x, b=x[:, 0], rcond=None)),
    np.linalg.matrix_power: (SPD, lambda x: dict(a=x, n=3)),
    np.linalg.multi_dot: (SPD, lambda x: dict(arrays=[x, x, x])),
    # numad/array_functions.py: order statistics, statistics, calculus, rebuilding
    np.quantile: (X23, lambda x: dict(a=x, q=[0.25, 0.8], axis=1, method="linear",
                                      keepdims=True)),
    np.percentile: (X23, lambda x: dict(a=x, q=40.0, axis=0, keepdims=False)),
    np.nanquantile: (X23, lambda x: dict(a=x, q=0.3, axis=1, keepdims=True)),
    np.nanpercentile: (X23, lambda x: dict(a=x, q=[10.0, 90.0], axis=None)),
    np.cov: (X23, lambda x: dict(m=x, y=x[::-1] * 2.0, rowvar=False, bias=True, ddof=None,
                                 fweights=[1, 2], aweights=[0.5, 1.5])),
    np.corrcoef: (X23, lambda x: dict(x=x, y=x ** 2, rowvar=True)),
    np.trapezoid: (X23, lambda x: dict(y=x, x=[0.0, 0.5, 2.0], dx=1.0, axis=1)),
    np.gradient: (X23, lambda x: dict(f=x, axis=1, edge_order=2)),
    np.ediff1d: (X23, lambda x: dict(ary=x, to_end=[1.0], to_begin=x[0, 0])),
    np.cumulative_sum: (X23, lambda x: dict(x=x, axis=1, include_initial=True)),
    np.cumulative_prod: (X23, lambda x: dict(x=x, axis=0, include_initial=False)),
    np.rot90: (X23, lambda x: dict(m=x, k=-1, axes=(1, 0))),
    np.append: (X23, lambda x: dict(arr=x, values=x[:1] * 2.0, axis=0)),
    np.insert: (X23, lambda x: dict(arr=x, obj=[1, 3], values=0.5, axis=1)),
    np.delete: (X23, lambda x: dict(arr=x, obj=1, axis=1)),
    np.vander: (X23[0], lambda x: dict(x=x, N=4, increasing=True)),
    np.diagflat: (X23, lambda x: dict(v=x, k=-1)),
    np.block: (X23, lambda x: dict(arrays=[[x, x], [x, x]])),
    np.isclose: (X23, lambda x: dict(a=x, b=x + 1e-9, rtol=1e-6, atol=0.0, equal_nan=True)),
    np.allclose: (X23, lambda x: dict(a=x, b=X23, rtol=1e-6, atol=0.0, equal_nan=False)),
    np.array_equal: (X23, lambda x: dict(a1=x, a2=X23, equal_nan=True)),
}
POSITIONAL = {  # the arguments that must stay positional
    np.einsum: lambda x: ("ij,kj->ik", x, x), np.vdot: lambda x: (x, x),
    np.inner: lambda x: (x, x), np.atleast_1d: lambda x: (x, x),
    np.atleast_2d: lambda x: (x,), np.matmul: lambda x: (x, x.T),
    np.result_type: lambda x: (x,), np.linalg.cholesky: lambda x: (x,),
    np.interp: lambda x: (x, np.array([0.0, 1.0]), np.array([0.0, 2.0])),
    np.meshgrid: lambda x: (x[0], x[1, :2]),
}


def _as_scalar_objective(out):
    """Some float of whatever a NumPy function returned (arrays, tuples, ints)."""
    if isinstance(out, (tuple, list)):
        parts = [_as_scalar_objective(o) for o in out]
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        return total
    if isinstance(out, (Traced, np.ndarray, np.floating, float)):
        return np.sum(np.sin(out * 1.0))
    return 0.0  # an int (np.ndim, np.shape), a dtype, a bool


def test_the_keyword_table_covers_every_registered_function():
    assert set(KEYWORD_CALLS) == set(D.FUNCTIONS)


@pytest.mark.parametrize("np_fn", list(KEYWORD_CALLS), ids=lambda f: qualname(f))
def test_registered_functions_by_keyword_on_traced_inputs(np_fn):
    x, kwargs_of = KEYWORD_CALLS[np_fn]
    args_of = POSITIONAL.get(np_fn, lambda x: ())

    def call(x):
        # NumPy's positional-only parameters (and the first, which some C functions
        # refuse by keyword) stay positional; every other one goes by its name
        kwargs = dict(kwargs_of(x)) if kwargs_of else {}
        args = list(args_of(x))
        sig = _numpy_signature(np_fn)
        if sig is not None and not args:
            for k, p in enumerate(sig.parameters.values()):
                if p.name in kwargs and (k == 0 or p.kind is p.POSITIONAL_ONLY):
                    args.append(kwargs.pop(p.name))
                else:
                    break
        return np_fn(*args, **kwargs)

    # the traced value is NumPy's
    ref = call(x)
    got = []
    nd.trace(lambda x: got.append(call(x)) or 0.0, x)
    values = got[0] if isinstance(got[0], (tuple, list)) else (got[0],)
    refs = ref if isinstance(ref, (tuple, list)) else (ref,)
    for v, r in zip(values, refs):
        v = value_of(v) if isinstance(v, Traced) else v
        if isinstance(r, (type, np.dtype)) or isinstance(v, (type, np.dtype)):
            continue
        np.testing.assert_allclose(np.asarray(v, dtype=float), np.asarray(r, dtype=float),
                                   rtol=1e-12, atol=1e-14)

    def f(x):
        return _as_scalar_objective(call(x))
    g = nd.grad(f)(x)
    if np_fn in (np.linalg.eigh, np.linalg.cholesky, np.linalg.slogdet, np.linalg.solve,
                 np.linalg.inv, np.linalg.det):
        np.testing.assert_allclose(g, fd(f, x), rtol=1e-5, atol=1e-6)
    elif np_fn not in (np.round, np.around, np.argmax, np.argmin, np.sort, np.median,
                       np.clip, np.max, np.amax, np.min, np.amin):
        np.testing.assert_allclose(g, fd(f, x), rtol=1e-6, atol=1e-7)


UNSUPPORTED_KEYWORDS = [
    (np.sum, dict(out=np.empty(3)), "np.sum"),
    (np.sum, dict(initial=1.0), None),  # supported since where= / initial= are
    (np.sum, dict(where=np.array([True, False, True])), None),
    (np.percentile, dict(q=50.0, method="nearest"), "np.percentile"),
    (np.mean, dict(out=np.empty(())), "np.mean"),
    (np.cumsum, dict(out=np.empty(3)), "np.cumsum"),
    (np.concatenate, dict(out=np.empty(6)), "np.concatenate"),
    (np.clip, dict(a_min=0.0, a_max=1.0, out=np.empty(3)), "np.clip"),
    (np.moveaxis, dict(source=0, destination=0), None),  # supported: no error
    (np.sin, dict(out=np.empty(3)), "np.sin"),
    (np.add, dict(where=np.array([True, False, True])), "np.add"),
]


@pytest.mark.parametrize("fn,kwargs,name", UNSUPPORTED_KEYWORDS,
                         ids=[f"{u[0].__name__}-{sorted(u[1])}" for u in UNSUPPORTED_KEYWORDS])
def test_unsupported_keywords_are_tracing_errors(fn, kwargs, name):
    x = np.array([0.2, 0.5, 0.9])
    args = (x, x) if fn is np.add else (x,)

    def f(x):
        xs = (x, x) if fn is np.add else (x,)
        return np.sum(fn(*xs, **kwargs))
    if name is None:
        assert_fd(f, x)
        return
    with pytest.raises(nd.TracingError, match=name.replace(".", r"\.")):
        nd.grad(f)(*args[:1])


def test_positional_and_keyword_spellings_agree():
    x = RNG.normal(size=(2, 3, 4))
    pairs = [
        (lambda x: np.moveaxis(x, 0, 2), lambda x: np.moveaxis(x, source=0, destination=2)),
        (lambda x: np.swapaxes(x, 0, 2), lambda x: np.swapaxes(x, axis1=0, axis2=2)),
        (lambda x: np.sum(x, 1, None, None, True), lambda x: np.sum(x, keepdims=True, axis=1)),
        (lambda x: np.std(x, 2, None, None, 1), lambda x: np.std(a=x, axis=2, ddof=1)),
        (lambda x: nd.sum(x, 0), lambda x: nd.sum(a=x, axis=0)),
        (lambda x: nd.mean(x, 2, None, None, True), lambda x: nd.mean(a=x, keepdims=True, axis=2)),
        (lambda x: np.clip(x, -0.5, 0.5), lambda x: np.clip(x, min=-0.5, max=0.5)),
        (lambda x: nd.clip(x, -0.5, 0.5), lambda x: nd.clip(a=x, a_min=-0.5, a_max=0.5)),
    ]
    W = RNG.normal(size=24)
    for pos, kw in pairs:
        fp = lambda x, h=pos: np.sum(np.ravel(h(x)) * W[:np.size(h(x.copy() if isinstance(x, np.ndarray) else x))])  # noqa: E501,E731
        fk = lambda x, h=kw: np.sum(np.ravel(h(x)) * W[:np.size(h(x.copy() if isinstance(x, np.ndarray) else x))])  # noqa: E501,E731
        np.testing.assert_allclose(nd.grad(fp)(x), nd.grad(fk)(x), rtol=1e-14)
        np.testing.assert_allclose(nd.grad(fk)(x), fd(fk, x), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------
# B.8 einsum's sublist form
# ---------------------------------------------------------------------------------

EINSUMS = [
    ("a,[0,1],b,[1,2]", lambda a, b: np.einsum(a, [0, 1], b, [1, 2]), "ij,jk"),
    ("with output", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), "ij,jk->ik"),
    ("transposed output", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [2, 0]), "ij,jk->ki"),
    ("trace of a", lambda a, b: np.einsum(a[:, :2], [0, 0]), None),
    ("full sum", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], []), "ij,jk->"),
]


@pytest.mark.parametrize("label,f,spec", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_einsum_sublist_form(label, f, spec):
    a = RNG.normal(size=(2, 3))
    b = RNG.normal(size=(3, 4))
    ref = f(a, b)
    if spec is not None:
        np.testing.assert_allclose(ref, np.einsum(spec, a, b))
    W = RNG.normal(size=np.shape(ref))
    obj = lambda a, b: np.sum(W * f(a, b))  # noqa: E731
    ga, gb = nd.grad(obj, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, fd(lambda a: obj(a, b), a), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gb, fd(lambda b: obj(a, b), b), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------
# B.9 comparisons used as values: counts and masks, with zero derivative
# ---------------------------------------------------------------------------------

MASKS = [
    # (label, f, x, derivative): the mask parts contribute nothing
    ("sum(x < x) + 0.0", lambda x: np.sum(x < x) + 0.0 + x, 0.3, 1.0),
    ("sum(x <= x) * x", lambda x: np.sum(x <= x) * x, 0.3, 1.0),
    ("mean(x > 0)", lambda x: np.mean(x > 0) + np.sum(x), np.array([1.0, -1.0, 2.0]),
     np.ones(3)),
    ("mask * 1.0 * x", lambda x: np.sum((x > 0) * 1.0 * x), np.array([1.0, -1.0, 2.0]),
     np.array([1.0, 0.0, 1.0])),
    ("mask.astype(float)", lambda x: np.sum((x > 0).astype(float) * x ** 2),
     np.array([1.0, -1.0, 2.0]), np.array([2.0, 0.0, 4.0])),
    ("count_nonzero", lambda x: np.count_nonzero(x > 0) * np.sum(x),
     np.array([1.0, -1.0, 2.0]), np.full(3, 2.0)),
    ("count_nonzero axis", lambda x: np.sum(np.count_nonzero(x, axis=0) * x),
     np.array([[1.0, 0.0], [2.0, 3.0]]), np.array([[2.0, 1.0], [2.0, 1.0]])),
    ("-(mask * 1.0)", lambda x: np.sum(-((x > 0) * 1.0) + x), np.array([1.0, -1.0]),
     np.ones(2)),
    ("mask + mask", lambda x: np.sum((x > 0) + (x > 1)) * np.sum(x), np.array([0.5, 2.0]),
     np.full(2, 2.0)),
    ("sum(mask) as a range bound", lambda x: sum(x[k] for k in range(np.sum(x > 0))),
     np.array([1.0, 2.0, -1.0]), np.array([1.0, 1.0, 0.0])),
]


@pytest.mark.parametrize("label,f,x,expected", MASKS, ids=[m[0] for m in MASKS])
def test_comparisons_as_values(label, f, x, expected):
    assert nd.trace(f, x)(x) == pytest.approx(float(f(x)))
    np.testing.assert_allclose(nd.grad(f)(x), expected)
    if np.ndim(x):
        np.testing.assert_allclose(nd.gradient(f)(x), expected)


# ---------------------------------------------------------------------------------
# B.10 complex arguments: a TracingError that says "complex"
# ---------------------------------------------------------------------------------

Z = np.array([1.0 + 2.0j, 0.5 - 1.0j])
COMPLEX_CALLS = [
    ("grad", lambda: nd.grad(lambda x: np.sum(x))(Z)),
    ("grad of a complex scalar", lambda: nd.grad(lambda x: x * 2.0)(1.0 + 1.0j)),
    ("value_and_grad", lambda: nd.value_and_grad(lambda x: np.sum(x))(Z)),
    ("gradient", lambda: nd.gradient(lambda x: np.sum(x))(Z)),
    ("gradient, complex args", lambda: nd.gradient(lambda x, c: np.sum(x))(np.ones(2), Z)),
    ("jacobian", lambda: nd.jacobian(lambda x: x)(Z)),
    ("hessian", lambda: nd.hessian(lambda x: np.sum(x))(Z)),
    ("trace", lambda: nd.trace(lambda x: np.sum(x), Z)),
    ("vjp", lambda: nd.vjp(lambda x: x, Z)),
]


@pytest.mark.parametrize("label,call", COMPLEX_CALLS, ids=[c[0] for c in COMPLEX_CALLS])
def test_complex_arguments_are_refused(label, call):
    with pytest.raises(nd.TracingError, match="complex"):
        call()


# ---------------------------------------------------------------------------------
# B.11 unknown scipy.special ufuncs are named as the user wrote them
# ---------------------------------------------------------------------------------

UNKNOWN_UFUNCS = [
    ("scipy.special.spence", lambda x: sps.spence(x)),
    ("scipy.special.y0", lambda x: sps.y0(x)),
    ("scipy.special.y1", lambda x: sps.y1(x)),
    ("scipy.special.yn", lambda x: sps.yn(1, x)),
    ("scipy.special.loggamma", lambda x: sps.loggamma(x)),
    ("np.spacing", lambda x: np.spacing(x)),
]


@pytest.mark.parametrize("name,f", UNKNOWN_UFUNCS, ids=[u[0] for u in UNKNOWN_UFUNCS])
def test_unknown_ufuncs_are_named_properly(name, f):
    for x in (0.7, np.array([0.7, 1.3])):
        with pytest.raises(nd.TracingError) as info:
            nd.grad(lambda x: np.sum(f(x)))(x)
        message = str(info.value)
        # psi and digamma are one ufunc: either of its scipy.special names is right
        if name in ("scipy.special.psi", "scipy.special.digamma"):
            assert "scipy.special.psi" in message or "scipy.special.digamma" in message
        else:
            assert name in message, message
        assert "np.psi" not in message and "np.y0" not in message
        assert "nd.primitive" in message


# ---------------------------------------------------------------------------------
# C. Every reduction and linear-algebra rule at its degenerate inputs
# ---------------------------------------------------------------------------------

ROW = np.array([[0.3, -1.2, 0.8]])   # an axis of length 1 (axis 0)
COL = ROW.T                          # (3, 1)
ONE = np.array([0.7])

LENGTH_ONE = [
    ("sum", lambda x: np.sum(np.sin(np.sum(x, axis=0)))),
    ("prod", lambda x: np.sum(np.sin(np.prod(x, axis=0)))),
    ("mean", lambda x: np.sum(np.sin(np.mean(x, axis=0, keepdims=True)))),
    ("max", lambda x: np.sum(np.sin(np.max(x, axis=0)))),
    ("min", lambda x: np.sum(np.sin(np.min(x, axis=0)))),
    ("var", lambda x: np.sum(np.var(x, axis=0)) + np.sum(x)),
    ("std", lambda x: np.sum(np.std(x, axis=0)) + np.sum(x)),
    ("median", lambda x: np.sum(np.sin(np.median(x, axis=0)))),
    ("cumsum", lambda x: np.sum(np.sin(np.cumsum(x, axis=0)))),
    ("cumprod", lambda x: np.sum(np.sin(np.cumprod(x, axis=0)))),
    ("logsumexp", lambda x: np.sum(np.sin(nd.logsumexp(x, axis=0)))),
    ("sort", lambda x: np.sum(np.sin(np.sort(x, axis=0)) * np.arange(3.0))),
    ("norm", lambda x: np.sum(np.linalg.norm(x, axis=0))),
    ("norm ord=1", lambda x: np.sum(np.linalg.norm(x, ord=1, axis=0))),
    ("norm ord=inf", lambda x: np.sum(np.linalg.norm(x, ord=np.inf, axis=0))),
    ("norm ord=-inf", lambda x: np.sum(np.linalg.norm(x, ord=-np.inf, axis=0))),
    ("norm ord=3", lambda x: np.sum(np.linalg.norm(x, ord=3, axis=0))),
]


@pytest.mark.parametrize("label,f", LENGTH_ONE, ids=[t[0] for t in LENGTH_ONE])
def test_reductions_over_an_axis_of_length_one(label, f):
    assert_fd(f, ROW)
    v = RNG.normal(size=ROW.shape)
    assert tangent_of(f, ROW, v) == pytest.approx(float(np.sum(nd.grad(f)(ROW) * v)),
                                                  rel=1e-12, abs=1e-14)
    H = nd.hessian(lambda x: f(x.reshape(ROW.shape)))(ROW.ravel())
    assert np.all(np.isfinite(H))
    # and of a single entry, the whole array reduced
    g = nd.grad(lambda x: f(x.reshape(1, 1)))(ONE)
    assert np.all(np.isfinite(g))


TIED = np.array([0.5, 2.0, 2.0, -1.0, 2.0])
TIE_CONVENTIONS = [
    # the derivative is shared equally among tied extremes (numad's convention)
    ("max", lambda x: np.max(x), TIED, np.array([0, 1, 1, 0, 1]) / 3.0),
    ("min", lambda x: np.min(-x), TIED, -np.array([0, 1, 1, 0, 1]) / 3.0),
    ("maximum.reduce", lambda x: np.maximum.reduce(x), TIED, np.array([0, 1, 1, 0, 1]) / 3.0),
    ("norm inf", lambda x: np.linalg.norm(x, np.inf), TIED, np.array([0, 1, 1, 0, 1]) / 3.0),
    # sorting ties: each sorted slot takes one of the tied entries (stable order)
    ("sort", lambda x: np.sum(np.sort(x) * np.arange(5.0)), TIED,
     np.array([1.0, 2.0, 3.0, 0.0, 4.0])),
    ("median", lambda x: np.median(x), TIED, np.array([0.0, 1.0, 0.0, 0.0, 0.0])),
    ("median even", lambda x: np.median(x[:4]), TIED, np.array([0.5, 0.5, 0.0, 0.0, 0.0])),
    ("max of all equal", lambda x: np.max(x), np.full(4, 1.5), np.full(4, 0.25)),
]


@pytest.mark.parametrize("label,f,x,expected", TIE_CONVENTIONS, ids=[t[0] for t in TIE_CONVENTIONS])
def test_ties_follow_the_conventions(label, f, x, expected):
    np.testing.assert_allclose(nd.grad(f)(x), expected, atol=1e-15)
    np.testing.assert_allclose(nd.gradient(f)(x), expected, atol=1e-15)
    J = nd.jacobian(lambda x: np.atleast_1d(f(x)), mode="forward")(x)
    np.testing.assert_allclose(J[0], expected, atol=1e-15)
    assert np.all(np.isfinite(nd.hessian(f)(x)))


SCALAR_BROADCASTS = [
    # a traced 0-d array / scalar next to arrays
    ("sum(x0 * a)", lambda x: np.sum(x * np.arange(1.0, 4.0))),
    ("prod(x0 + a)", lambda x: np.prod(x + np.arange(1.0, 4.0))),
    ("mean(maximum(x0, a))", lambda x: np.mean(np.maximum(x, np.array([0.1, 0.9, 2.0])))),
    ("var(x0 - a)", lambda x: np.var(np.array([0.1, 0.9, 2.0]) - x * np.ones(3) * x)),
    ("std(x0 * a)", lambda x: np.std(x * np.array([0.1, 0.9, 2.0]))),
    ("cumsum(x0 * a)", lambda x: np.sum(np.sin(np.cumsum(x * np.ones(3))))),
    ("cumprod(x0 + a)", lambda x: np.sum(np.cumprod(x + np.ones(3)))),
    ("logsumexp(x0 * a)", lambda x: nd.logsumexp(x * np.arange(3.0))),
    ("median(x0 * a)", lambda x: np.median(x * np.array([0.1, 0.9, 2.0]))),
    ("norm(x0 * a)", lambda x: np.linalg.norm(x * np.arange(1.0, 4.0))),
    ("solve(x0 A, b)", lambda x: np.sum(np.linalg.solve(x * np.eye(2) + 1.0, np.ones(2)))),
    ("inv(x0 A)", lambda x: np.sum(np.linalg.inv(x * np.eye(2) + np.ones((2, 2))))),
    ("det(x0 A)", lambda x: np.linalg.det(x * np.eye(3) + np.ones((3, 3)))),
    ("slogdet(x0 A)", lambda x: np.linalg.slogdet(x * np.eye(3) + np.ones((3, 3)))[1]),
    ("cholesky(x0 I)", lambda x: np.sum(np.linalg.cholesky(x * np.eye(2) + 0.1))),
    ("eigvalsh(x0 I) repeated", lambda x: np.sum(np.linalg.eigvalsh(x * np.eye(3)) ** 2)),
    ("eigh(x0 I) projector", lambda x: np.sum(np.linalg.eigh(x * np.eye(2) + 0.5)[0])),
]


@pytest.mark.parametrize("label,f", SCALAR_BROADCASTS, ids=[s[0] for s in SCALAR_BROADCASTS])
@pytest.mark.parametrize("x", [1.3, np.array(1.3)], ids=["float", "0-d"])
def test_scalars_and_0d_arrays_next_to_arrays(label, f, x):
    g = nd.grad(f)(x)
    assert np.shape(g) == np.shape(x)
    assert float(g) == pytest.approx(float(fd(f, float(x))), rel=1e-6, abs=1e-8)
    assert nd.grad(nd.grad(f))(x) == pytest.approx(float(fd(nd.grad(f), float(x))),
                                                   rel=1e-5, abs=1e-6)


ONE_BY_ONE = [
    ("solve", lambda a: np.sum(np.linalg.solve(a, np.array([2.0])))),
    ("inv", lambda a: np.sum(np.linalg.inv(a))),
    ("det", lambda a: np.linalg.det(a)),
    ("slogdet", lambda a: np.linalg.slogdet(a)[1]),
    ("cholesky", lambda a: np.sum(np.linalg.cholesky(a))),
    ("eigh L", lambda a: np.sum(np.linalg.eigh(a)[0]) + np.sum(np.linalg.eigh(a)[1] ** 2)),
    ("eigh U", lambda a: np.sum(np.linalg.eigh(a, "U")[0] ** 2)),
    ("eigvalsh U", lambda a: np.sum(np.linalg.eigvalsh(a, UPLO="U") ** 3)),
]


@pytest.mark.parametrize("label,f", ONE_BY_ONE, ids=[o[0] for o in ONE_BY_ONE])
def test_linear_algebra_of_one_by_one_matrices(label, f):
    a = np.array([[1.7]])
    assert_fd(f, a)
    H = nd.hessian(lambda x: f(x.reshape(1, 1)))(a.ravel())
    np.testing.assert_allclose(H, fd(lambda x: nd.gradient(lambda y: f(y.reshape(1, 1)))(x)[0],
                                     a.ravel()).reshape(1, 1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_reads_one_triangle(upper):
    n = 4
    a = RNG.normal(size=(n, n)) * 0.3 + 3.0 * np.eye(n)  # not symmetric
    W = RNG.normal(size=(n, n))
    f = lambda a: np.sum(W * np.linalg.cholesky(a, upper=upper))  # noqa: E731
    assert nd.trace(f, a)(a) == pytest.approx(f(a), rel=1e-12)
    g = assert_fd(f, a, rtol=1e-6, atol=1e-8)
    other = np.tril(np.ones((n, n)), -1) if upper else np.triu(np.ones((n, n)), 1)
    assert np.all(g[other > 0] == 0.0)
    v = RNG.normal(size=(n, n))
    assert tangent_of(f, a, v) == pytest.approx(float(np.sum(g * v)), rel=1e-10)
    x = a.ravel()
    fx = lambda x: np.sum(W * np.linalg.cholesky(x.reshape(n, n), upper=upper)) ** 2  # noqa
    H = nd.hessian(fx)(x)
    H_fd = np.array([fd(lambda y, k=k: nd.gradient(fx)(y)[k], x) for k in range(n * n)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-5)


def test_linear_algebra_at_repeated_spectra_and_singular_points():
    # slogdet / inv / solve / cholesky at a matrix with a repeated eigenvalue: smooth there
    a = _with_spectrum([2.0, 2.0, 5.0])
    for f in (lambda a: np.linalg.slogdet(a)[1], lambda a: np.sum(np.linalg.inv(a)),
              lambda a: np.sum(np.linalg.solve(a, np.arange(3.0))),
              lambda a: np.sum(np.linalg.cholesky(a) ** 2),
              lambda a: np.sum(np.linalg.cholesky(a, upper=True) * np.arange(9.0).reshape(3, 3))):
        assert_fd(f, a, rtol=1e-5, atol=1e-6)
    # det through a product with a singular factor
    b = np.array([[1.0, 2.0], [2.0, 4.0]])
    f = lambda b: np.linalg.det(b @ b.T) + np.linalg.det(b) ** 2  # noqa: E731
    C = _cofactors(b)
    np.testing.assert_allclose(nd.grad(f)(b), 2.0 * np.linalg.det(b) * C + fd(
        lambda b: np.linalg.det(b @ b.T), b), atol=1e-6)


def test_clip_with_crossed_bounds_is_numpys_and_so_is_its_derivative():
    # NumPy computes minimum(maximum(x, lo), hi): with lo > hi every value is hi, and
    # only hi's derivative is 1 (the traced clip once answered lo)
    x = np.array([0.5, 1.25, 2.0])
    np.testing.assert_array_equal(nd.jvp(lambda t: np.clip(t, 1.3, 1.2), x, np.ones(3))[0],
                                  np.clip(x, 1.3, 1.2))
    assert nd.value_and_grad(lambda lo: nd.clip(0.5, lo, 1.2))(1.3) == (1.2, 0.0)
    assert nd.value_and_grad(lambda hi: nd.clip(0.5, 1.3, hi))(1.2) == (1.2, 1.0)
    assert nd.clip(nd.Dual(0.5, 1.0), 1.3, 1.2).value == np.clip(0.5, 1.3, 1.2)
