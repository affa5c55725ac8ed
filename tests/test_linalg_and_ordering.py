"""Linear algebra (norms, SVD, QR, pinv, lstsq, matrix powers, multi_dot) and orderings
(argsort, partition, argmax, searchsorted, unique, interp, masks) of traced values.

Each function is checked for NumPy's value and for its derivative against central
differences (``nd.numerical_gradient``) or a closed form, in reverse mode, forward mode
(``nd.jacobian(mode="forward")`` and the tape's tangent sweep) and by a cached
``nd.gradient`` replayed at a second point. For the orderings the second point moves a
decision (an interval, an order, a winner): the cached gradient must then be the
derivative at the second point, never the one the old decision gives.
"""
import numpy as np
import pytest

import numad as nd
from numad.traced import Traced, value_of

RNG = np.random.default_rng(20261206)


def fd(f, x):
    return nd.numerical_gradient(f, x)


def traced_value(fn, x):
    """What ``fn`` gives on traced ``x`` (values only), for comparison with NumPy."""
    got = []
    nd.trace(lambda x: got.append(fn(x)) or 0.0 * np.sum(x), x)
    out = got[0]
    if isinstance(out, tuple):
        return tuple(value_of(o) if isinstance(o, Traced) else o for o in out)
    return value_of(out) if isinstance(out, Traced) else out


def check_all_modes(f, x, rtol=1e-6, atol=1e-7, second=None):
    """Reverse, forward, tangent sweep and the cached gradient (at x and at ``second``)
    against central differences."""
    g = nd.grad(f)(x)
    np.testing.assert_allclose(g, fd(f, x), rtol=rtol, atol=atol)
    J = nd.jacobian(lambda x: np.atleast_1d(f(x)), mode="forward")(x)
    np.testing.assert_allclose(J[0], g, rtol=1e-9, atol=1e-11)
    v = RNG.normal(size=np.shape(x))
    t = nd.trace(f, x).jvp(x, v)[1]
    assert t == pytest.approx(float(np.sum(g * v)), rel=1e-8, abs=1e-10)
    cached = nd.gradient(f)
    np.testing.assert_allclose(cached(x), g, rtol=1e-10, atol=1e-12)
    if second is not None:
        np.testing.assert_allclose(cached(second), fd(f, second), rtol=rtol, atol=atol)
    return g


# ---------------------------------------------------------------------------------------
# Norms: every ord, axis and keepdims
# ---------------------------------------------------------------------------------------

V5 = RNG.normal(size=5)
M34 = RNG.normal(size=(3, 4))
T234 = RNG.normal(size=(2, 3, 4))

NORMS = [
    # (point, ord, axis, keepdims)
    (V5, None, None, False), (V5, 2, None, False), (V5, 1, None, False),
    (V5, np.inf, None, False), (V5, -np.inf, None, False), (V5, 0, None, False),
    (V5, 3, None, False), (V5, 0.5, None, False), (V5, -1, None, False),
    (V5, -2.5, None, True),
    (M34, None, None, False), (M34, "fro", None, True), (M34, "nuc", None, False),
    (M34, 1, None, False), (M34, -1, None, False), (M34, 2, None, False),
    (M34, -2, None, True), (M34, np.inf, None, False), (M34, -np.inf, None, False),
    (M34, 3, 1, False), (M34, 1, 0, True), (M34, None, -1, False), (M34, np.inf, 1, False),
    (T234, None, None, False), (T234, None, (0, 2), False), (T234, "fro", (2, 1), True),
    (T234, 1, (1, 2), False), (T234, np.inf, (2, 0), True), (T234, "nuc", (0, 1), False),
    (T234, 2, (2, 1), True), (T234, -2, (-1, -3), False), (T234, -1, (0, 2), False),
    (T234, 0.5, 1, True),
]


def _norm_id(case):
    x, ord_, axis, keep = case
    return f"{x.ndim}d-ord={ord_}-axis={axis}-keep={keep}"


@pytest.mark.parametrize("x,ord_,axis,keepdims", NORMS, ids=[_norm_id(c) for c in NORMS])
def test_norm_every_ord(x, ord_, axis, keepdims):
    def fn(x):
        return np.linalg.norm(x, ord_, axis, keepdims)

    expected = np.linalg.norm(x, ord_, axis, keepdims)
    got = traced_value(fn, x)
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)
    w = RNG.normal(size=np.shape(expected))

    def f(x):
        return np.sum(w * fn(x))
    check_all_modes(f, x, rtol=1e-5, atol=1e-7, second=x * 1.3 + 0.1)


def test_norm_kinks_take_documented_subgradients():
    zero = np.zeros(4)
    for ord_ in (None, 2, 3, 0.5, 1, np.inf):
        assert np.all(nd.grad(lambda x: np.linalg.norm(x, ord_))(zero) == 0.0)
        assert np.all(nd.gradient(lambda x: np.linalg.norm(x, ord_))(zero) == 0.0)
    assert np.all(nd.grad(lambda x: np.linalg.norm(x.reshape(2, 2)))(zero) == 0.0)
    # a negative p with a zero entry: the value 0, a kink: derivative 0 everywhere
    x = np.array([0.0, 1.0, -2.0])
    assert np.linalg.norm(x, -1) == 0.0
    assert np.all(nd.grad(lambda x: np.linalg.norm(x, -1))(x) == 0.0)
    # ord=0 counts nonzeros: derivative 0
    assert np.all(nd.grad(lambda x: np.linalg.norm(x, 0))(np.array([0.0, 2.0])) == 0.0)
    # the 2-norm away from 0 and the cached gradient across 0
    cached = nd.gradient(lambda x: np.linalg.norm(x))
    np.testing.assert_allclose(cached(np.array([3.0, 4.0])), [0.6, 0.8])
    assert np.all(cached(np.zeros(2)) == 0.0)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 5)])
def test_singular_value_norms_closed_forms(shape):
    a = RNG.normal(size=shape)
    U, s, Vt = np.linalg.svd(a, full_matrices=False)
    closed = {"nuc": U @ Vt, 2: np.outer(U[:, 0], Vt[0]), -2: np.outer(U[:, -1], Vt[-1])}
    for ord_, expected in closed.items():
        f = lambda a: np.linalg.norm(a, ord_)  # noqa: E731
        np.testing.assert_allclose(nd.grad(f)(a), expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(nd.gradient(f)(2.0 * a), expected, rtol=1e-10, atol=1e-12)
    # d sigma_i = u_i v_i^T, in both modes
    for mode in ("reverse", "forward"):
        J = nd.jacobian(lambda a: np.linalg.svd(a, compute_uv=False), mode=mode)(a)
        for i in range(len(s)):
            np.testing.assert_allclose(J[i], np.outer(U[:, i], Vt[i]), rtol=1e-9, atol=1e-11)


def test_nuclear_norm_hessian():
    a = RNG.normal(size=(3, 3))

    def f(x):
        return np.linalg.norm(x.reshape(3, 3), "nuc")
    x = a.ravel()
    H = nd.hessian(f)(x)
    H_fd = np.array([fd(lambda y, k=k: nd.gradient(f)(y)[k], x) for k in range(9)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------
# Factorizations and compositions: SVD, QR, pinv, lstsq, matrix_power, multi_dot
# ---------------------------------------------------------------------------------------

A33 = RNG.normal(size=(3, 3))
A43 = RNG.normal(size=(4, 3))
A34 = RNG.normal(size=(3, 4))
W = {shape: RNG.normal(size=shape) for shape in [(3, 3), (4, 3), (3, 4), (4, 4), (3,)]}


def _weights(shape):
    return W.get(tuple(shape), np.ones(shape))


def _svd_part(k):
    return lambda a: np.linalg.svd(a, full_matrices=False)[k]


LINALG = [
    # (label, function of the matrix, point, hessian too)
    ("svd U tall", _svd_part(0), A43, False), ("svd s tall", _svd_part(1), A43, False),
    ("svd Vh tall", _svd_part(2), A43, False), ("svd U wide", _svd_part(0), A34, False),
    ("svd Vh wide", _svd_part(2), A34, False), ("svd U square", _svd_part(0), A33, True),
    ("svd Vh square", _svd_part(2), A33, False),
    ("svd u0 v0^T", lambda a: np.outer(*(lambda r: (r[0][:, 0], r[2][0]))(np.linalg.svd(a))),
     A33, False),
    ("svd values only", lambda a: np.linalg.svd(a, compute_uv=False), A43, True),
    ("qr Q tall", lambda a: np.linalg.qr(a)[0], A43, False),
    ("qr R tall", lambda a: np.linalg.qr(a)[1], A43, False),
    ("qr Q square", lambda a: np.linalg.qr(a).Q, A33, True),
    ("qr R only", lambda a: np.linalg.qr(a, mode="r"), A33, False),
    ("pinv tall", np.linalg.pinv, A43, False), ("pinv wide", np.linalg.pinv, A34, False),
    ("pinv square", np.linalg.pinv, A33, True),
    ("lstsq x tall", lambda a: np.linalg.lstsq(a, W[(4, 3)][:, 0])[0], A43, False),
    ("lstsq residuals", lambda a: np.linalg.lstsq(a, W[(4, 3)][:, 1])[1], A43, False),
    ("lstsq s", lambda a: np.linalg.lstsq(a, W[(4, 3)])[3], A43, False),
    ("lstsq x wide", lambda a: np.linalg.lstsq(a, W[(3,)])[0], A34, False),
    ("matrix_power 5", lambda a: np.linalg.matrix_power(a, 5), A33, True),
    ("matrix_power 0", lambda a: np.linalg.matrix_power(a, 0), A33, False),
    ("matrix_power -3", lambda a: np.linalg.matrix_power(a, -3), A33, False),
    ("multi_dot 3", lambda a: np.linalg.multi_dot([a, a.T, W[(4, 3)]]), A43, False),
    ("multi_dot 4 vectors", lambda a: np.linalg.multi_dot(
        [a[:, 0], a, a.T, W[(4, 4)], a[:, 1]]), A43, True),
    ("multi_dot 2", lambda a: np.linalg.multi_dot([a, a.T]), A34, False),
    ("eigh vectors", lambda a: np.linalg.eigh(a + a.T)[1], A33, False),
    ("eigvalsh", lambda a: np.linalg.eigvalsh(a @ a.T), A34, False),
]


@pytest.mark.parametrize("label,fn,a,hessian", LINALG, ids=[c[0] for c in LINALG])
def test_linear_algebra_values_and_derivatives(label, fn, a, hessian):
    expected = fn(a)
    got = traced_value(fn, a)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)
    w = _weights(np.shape(expected))

    def f(a):
        return np.sum(w * fn(a))
    check_all_modes(f, a, rtol=1e-5, atol=1e-7, second=a + 0.05 * RNG.normal(size=a.shape))
    if hessian:
        x = a.ravel()

        def g(x):
            return f(x.reshape(a.shape))
        H = nd.hessian(g)(x)
        H_fd = np.array([fd(lambda y, k=k: nd.gradient(g)(y)[k], x) for k in range(x.size)])
        np.testing.assert_allclose(H, H_fd, rtol=1e-4, atol=1e-5)


def test_factorizations_give_numpys_factors_exactly():
    for a in (A33, A43):
        U, s, Vh = traced_value(lambda a: tuple(np.linalg.svd(a, full_matrices=False)), a)
        for mine, theirs in zip((U, s, Vh), np.linalg.svd(a, full_matrices=False)):
            np.testing.assert_array_equal(mine, theirs)
        Q, R = traced_value(lambda a: tuple(np.linalg.qr(a)), a)
        np.testing.assert_array_equal(Q, np.linalg.qr(a)[0])
        np.testing.assert_array_equal(R, np.linalg.qr(a)[1])
    np.testing.assert_array_equal(traced_value(np.linalg.pinv, A43), np.linalg.pinv(A43))
    np.testing.assert_array_equal(traced_value(lambda a: np.linalg.matrix_power(a, 7), A33),
                                  np.linalg.matrix_power(A33, 7))
    x, res, rank, s = traced_value(lambda a: np.linalg.lstsq(a, W[(4, 3)][:, 0]), A43)
    ref = np.linalg.lstsq(A43, W[(4, 3)][:, 0])
    np.testing.assert_array_equal(x, ref[0])
    np.testing.assert_array_equal(res, ref[1])
    assert rank == ref[2]


def test_svd_refusals_name_the_remedy():
    with pytest.raises(nd.TracingError, match="full_matrices=False"):
        nd.grad(lambda a: np.sum(np.linalg.svd(a)[0]))(A43)
    with pytest.raises(nd.TracingError, match="hermitian"):
        nd.grad(lambda a: np.sum(np.linalg.svd(a, hermitian=True)[1]))(A33)
    with pytest.raises(nd.TracingError, match="tall or square"):
        nd.grad(lambda a: np.sum(np.linalg.qr(a)[1]))(A34)


def test_lstsq_rank_is_guarded():
    b = np.array([1.0, 2.0, 3.0])

    def f(x):
        a = np.stack([np.ones(3), x * np.arange(3.0)], axis=1)
        return np.sum(np.linalg.lstsq(a, b)[0]) + 0.0 * x
    cached = nd.gradient(lambda v: f(v[0]))
    assert np.isfinite(cached(np.array([1.0]))[0])
    # at x = 0 the matrix has rank 1: the guard fails, the function is traced anew
    traces = cached.cache.traces
    cached(np.array([0.0]))
    assert cached.cache.traces == traces + 1


# ---------------------------------------------------------------------------------------
# Orderings: each decision guarded; a cached gradient replayed across it stays right
# ---------------------------------------------------------------------------------------

X6 = np.array([0.3, -1.2, 2.0, 0.7, 1.1, -0.4])
# another order, another winner, other intervals (and no point on a knot)
X6_SWAPPED = np.array([0.3, 1.45, 2.0, 0.7, -1.15, -0.4])
WEIGHTS6 = np.arange(1.0, 7.0)

ORDERINGS = [
    # (label, fn, x, x at which the decision differs)
    ("sort", lambda x: np.sort(x), X6, X6_SWAPPED),
    ("x[argsort(x)]", lambda x: x[np.argsort(x)], X6, X6_SWAPPED),
    ("x[argsort(x)[::-1]] stable", lambda x: x[np.argsort(x, stable=True)[::-1]], X6,
     X6_SWAPPED),
    ("partition", lambda x: np.partition(x, 2), X6, X6_SWAPPED),
    ("partition kth list", lambda x: np.partition(x, [1, 4]), X6, X6_SWAPPED),
    ("partition axis 0", lambda x: np.partition(x.reshape(3, 2), 1, axis=0), X6, X6_SWAPPED),
    ("partition axis None", lambda x: np.partition(x.reshape(2, 3), -2, axis=None), X6,
     X6_SWAPPED),
    ("argsort axis 0", lambda x: x.reshape(3, 2)[np.argsort(x.reshape(3, 2), axis=0),
                                                 np.arange(2)], X6, X6_SWAPPED),
    ("x[argpartition]", lambda x: x[np.argpartition(x, 3)], X6, X6_SWAPPED),
    ("argmax", lambda x: x[np.argmax(x)] * x[0], X6, X6_SWAPPED),
    ("argmin", lambda x: x[np.argmin(x)] * x[2], X6, X6_SWAPPED),
    ("argmax axis", lambda x: x.reshape(2, 3)[np.arange(2), np.argmax(x.reshape(2, 3), axis=1)],
     X6, X6_SWAPPED),
    ("argmin axis 0", lambda x: x[np.argmin(x.reshape(2, 3), axis=0)], X6, X6_SWAPPED),
    ("mask", lambda x: np.sum(x[x > 0] ** 2) + 0.0 * x, X6, X6_SWAPPED),
    ("searchsorted", lambda x: x * np.searchsorted(np.array([-0.5, 0.5, 1.5]), x), X6,
     X6_SWAPPED),
    ("searchsorted traced a", lambda x: x[np.searchsorted(np.sort(x), [0.0, 1.0])] * 1.0,
     X6, X6_SWAPPED),
    ("unique", lambda x: np.unique(x), X6, X6_SWAPPED),
    ("interp x", lambda x: np.interp(x, [-1.0, 0.0, 0.5, 1.5], [2.0, -1.0, 0.5, 3.0]), X6,
     X6_SWAPPED),
    ("interp left right", lambda x: np.interp(x, [-1.0, 0.0, 1.5], [2.0, -1.0, 3.0],
                                              left=-5.0, right=x[0]), X6, X6_SWAPPED),
    ("interp period", lambda x: np.interp(x, [0.2, 0.9, 1.7], [1.0, -2.0, 0.5], period=2.0),
     X6, X6_SWAPPED),
    ("interp fp", lambda x: np.interp([-2.0, 0.1, 0.35, 2.5, 0.5], np.linspace(0, 1, 6), x),
     X6, X6_SWAPPED),
    ("interp x and fp", lambda x: np.interp(x[:3], [-1.5, 0.0, 1.0, 2.5], x[2:]), X6,
     X6_SWAPPED),
    ("interp scalar", lambda x: np.interp(x[1], [-1.5, 0.0, 1.0, 2.5], [0.0, 1.0, 3.0, -2.0]) * x,
     X6, X6_SWAPPED),
]


@pytest.mark.parametrize("label,fn,x,x2", ORDERINGS, ids=[c[0] for c in ORDERINGS])
def test_orderings_values_and_derivatives(label, fn, x, x2):
    np.testing.assert_array_equal(traced_value(fn, x), fn(x))
    w = _weights(np.shape(fn(x)))

    def f(x):
        return np.sum(w * fn(x))
    check_all_modes(f, x, second=x2)
    # the cached gradient replayed at the second point is the derivative there
    np.testing.assert_allclose(nd.gradient(f)(x2), nd.grad(f)(x2), rtol=1e-12, atol=1e-14)


SECOND_ORDER = [
    ("partition", lambda x: np.sum(WEIGHTS6 * np.partition(x, 2) ** 3)),
    ("argsort", lambda x: np.sum(WEIGHTS6 * x[np.argsort(x)] ** 3)),
    ("unique", lambda x: np.sum(np.unique(x) ** 3 * WEIGHTS6)),
    ("interp", lambda x: np.sum(np.interp(x ** 2, [0.0, 1.0, 2.0, 5.0], [0.0, 1.0, -1.0, 2.0])
                                * x)),
    ("interp fp", lambda x: np.sum(np.interp([0.5, 1.5, 4.2], np.arange(6.0), x ** 2))),
    ("pinv", lambda x: np.sum(np.linalg.pinv(x.reshape(3, 2)) ** 2)),
    ("qr", lambda x: np.sum(np.linalg.qr(x.reshape(3, 2))[1] ** 2)),
    ("lstsq", lambda x: np.sum(np.linalg.lstsq(x.reshape(3, 2), [1.0, 2.0, 0.5])[0] ** 2)),
    ("matrix 1-norm", lambda x: np.linalg.norm(x.reshape(2, 3), 1) ** 2),
]


@pytest.mark.parametrize("label,f", SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_second_derivatives(label, f):
    H = nd.hessian(f)(X6)
    H_fd = np.array([fd(lambda y, k=k: nd.gradient(f)(y)[k], X6) for k in range(6)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-6)


def test_decisions_return_numpys_integers():
    x = np.array([0.5, 0.5, -1.0, 2.0, 0.5, -1.0])
    for fn in (lambda x: np.argsort(x), lambda x: np.argsort(x, kind="stable"),
               lambda x: np.argpartition(x, 2), lambda x: np.argmax(x),
               lambda x: np.argmin(x), lambda x: np.searchsorted([0.0, 0.5, 1.0], x),
               lambda x: np.searchsorted([0.0, 0.5, 1.0], x, side="right"),
               lambda x: np.unique(x, return_index=True, return_inverse=True,
                                   return_counts=True)[1:]):
        got, expected = traced_value(fn, x), fn(x)
        if not isinstance(expected, tuple):
            got, expected = (got,), (expected,)
        for mine, theirs in zip(got, expected):
            assert np.asarray(mine).dtype.kind == "i"
            np.testing.assert_array_equal(mine, theirs)


def test_ties_in_partition_and_sort_go_to_one_position():
    x = np.array([0.5, 0.5, -1.0, 2.0, 0.5])
    w = np.arange(1.0, 6.0)
    for fn, perm in ((np.sort, np.argsort(x, kind="stable")),
                     (lambda x: np.partition(x, 2), np.argpartition(x, 2))):
        g = nd.grad(lambda x: np.sum(w * fn(x)))(x)
        expected = np.zeros(5)
        expected[perm] = w   # each output slot's derivative to the entry placed there
        np.testing.assert_array_equal(g, expected)
        J = nd.jacobian(fn, mode="forward")(x)
        np.testing.assert_array_equal(J.T @ w, expected)
    # unique: a repeated value's derivative goes to its first occurrence
    g = nd.grad(lambda x: np.sum(w[:3] * np.unique(x)))(x)
    np.testing.assert_array_equal(g, [2.0, 0.0, 1.0, 3.0, 0.0])


def test_a_changed_decision_is_never_replayed():
    x1 = np.array([0.2, 0.9, 0.4])
    x2 = np.array([0.2, 0.3, 0.4])   # the order of the last two entries changes
    x3 = np.array([0.4, 0.4, 0.9])   # a new tie

    def f(x):
        return x[np.argsort(x)] @ np.array([1.0, 2.0, 3.0])
    tape = nd.trace(f, x1)
    with pytest.raises(nd.ControlFlowChanged):
        tape.gradient(x2)
    cached = nd.gradient(f)
    for x in (x1, x2, x3, x1):
        np.testing.assert_array_equal(cached(x), nd.grad(f)(x))
    # interp: a point moving to another interval
    f = lambda x: np.sum(np.interp(x, [0.0, 1.0, 2.0], [0.0, 3.0, 2.0]))  # noqa: E731
    cached = nd.gradient(f)
    np.testing.assert_allclose(cached(np.array([0.5])), [3.0])
    np.testing.assert_allclose(cached(np.array([1.5])), [-1.0])
    np.testing.assert_allclose(cached(np.array([2.5])), [0.0])
    np.testing.assert_allclose(cached(np.array([1.0])), [-1.0])  # a knot: the right slope
    np.testing.assert_allclose(cached(np.array([2.0])), [0.0])   # xp[-1]: right's 0
    np.testing.assert_allclose(cached(np.array([-0.5])), [0.0])


def test_interp_nan_and_knots_give_numpys_values():
    xp, fp = np.array([0.0, 1.0, 1.0, 2.0]), np.array([1.0, 2.0, 5.0, -1.0])
    x = np.array([np.nan, 0.0, 1.0, 2.0, 0.25, 3.0, -1.0])
    got = traced_value(lambda x: np.interp(x, xp, fp), x)
    np.testing.assert_array_equal(got, np.interp(x, xp, fp))
    # xp has 1.0 twice: x = 1 falls in [1, 2] (NumPy's search), value fp[2], slope -6
    g = nd.grad(lambda x: np.sum(np.interp(x, xp, fp)))(x[1:])
    np.testing.assert_allclose(g, [1.0, -6.0, 0.0, 1.0, 0.0, 0.0])
    # a NaN point gives NaN; whether a point is NaN is guarded
    cached = nd.gradient(lambda x: np.sum(np.interp(x, xp, fp)[1:]))
    np.testing.assert_allclose(cached(x), [0.0, 1.0, -6.0, 0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(cached(np.nan_to_num(x, nan=0.5)), [0, 1.0, -6.0, 0, 1.0, 0, 0])


def test_orderings_refuse_nan():
    x = np.array([0.3, np.nan, 0.1])
    for f in (lambda x: np.sum(x[np.argsort(x)]), lambda x: np.sum(np.partition(x, 1)),
              lambda x: x[np.argmax(x)], lambda x: np.sum(np.unique(x)),
              lambda x: np.sum(x * np.searchsorted([0.0, 1.0], x))):
        with pytest.raises(nd.TracingError, match="NaN"):
            nd.grad(f)(x)
