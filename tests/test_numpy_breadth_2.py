"""More of NumPy and scipy.special inside differentiated functions: order statistics
(np.quantile, np.percentile and their nan-skipping twins), np.cov and np.corrcoef,
np.trapezoid, np.gradient, np.ediff1d, NumPy 2's cumulative_sum / cumulative_prod,
np.rot90, np.append / np.insert / np.delete, reductions with ``where=`` and
``initial=``, np.vander, np.diagflat, np.block, index arrays from np.tril_indices, the
whole-array comparisons (np.isclose, np.allclose, np.array_equal), and the scipy.special
functions composed from op-table rows (entr, rel_entr, kl_div, huber, pseudo_huber,
betaln, beta, log_expit, the Box-Cox family) and scipy.special.polygamma.

One table, every function checked for NumPy's (SciPy's) value and shape, its gradient
against central differences, its tangent (``tape.jvp``) and forward / reverse Jacobians,
and a cached ``nd.gradient`` replayed at a second point. Then replays where a decision
changes (the order a percentile reads, the branch an ``allclose`` picks, where the nans
are), Duals, and refusals.
"""
import numpy as np
import pytest
import scipy.special as sps

import numad as nd
from numad.dual import Dual
from numad.traced import Traced, value_of

# the table checks' helpers, shared with the first table of array functions
from test_array_functions import (_directional_fd, _m, _objective, _outputs, _weights,
                                  _with_nans)

RNG = np.random.default_rng(20261207)


def _u(lo, hi, *shape):
    return RNG.uniform(lo, hi, size=shape)


C34 = _m(3, 4)
NAN34 = _with_nans(_m(3, 4), [1, 6, 7])
COORDS4 = np.array([0.0, 0.4, 1.5, 1.8])

# (label, f, x): f takes NumPy's arrays and traced ones alike; x is the point
CASES = [
    # order statistics
    ("quantile", lambda x: np.quantile(x, 0.3), _m(3, 4)),
    ("quantile q array axis=1 keepdims", lambda x: np.quantile(
        x, [0.1, 0.5, 0.95], axis=1, keepdims=True), _m(3, 4)),
    ("quantile axis tuple", lambda x: np.quantile(x, [0.2, 1.0], axis=(0, 2)), _m(2, 3, 3)),
    ("quantile q=0 and 1", lambda x: np.quantile(x, [0.0, 1.0], axis=0), _m(4, 2)),
    ("percentile", lambda x: np.percentile(x, 40), _m(7)),
    ("percentile axis=0", lambda x: np.percentile(x, [25.0, 62.5], axis=0), _m(5, 3)),
    ("percentile keepdims", lambda x: np.percentile(x, 90, axis=-1, keepdims=True),
     _m(2, 5)),
    ("nanquantile", lambda x: np.nanquantile(x, 0.4, axis=1), NAN34),
    ("nanpercentile", lambda x: np.nanpercentile(x, [30.0, 75.0]), NAN34),
    # statistics between variables
    ("cov", lambda x: np.cov(x), _m(3, 5)),
    ("cov rowvar=False bias", lambda x: np.cov(x, rowvar=False, bias=True), _m(5, 3)),
    ("cov x y ddof=0", lambda x: np.cov(x[0], x[1], ddof=0), _m(2, 6)),
    ("cov of a vector", lambda x: np.cov(x), _m(6)),
    ("cov weights", lambda x: np.cov(x, fweights=[1, 2, 1, 3, 1],
                                     aweights=[0.5, 1.0, 2.0, 0.3, 1.2]), _m(2, 5)),
    ("corrcoef", lambda x: np.corrcoef(x), _m(3, 6)),
    ("corrcoef x y", lambda x: np.corrcoef(x[0], x[1] ** 2), _m(2, 6)),
    ("corrcoef rowvar=False", lambda x: np.corrcoef(x, rowvar=False), _m(6, 2)),
    # calculus on samples
    ("trapezoid", lambda x: np.trapezoid(x), _m(3, 4)),
    ("trapezoid x axis=1", lambda x: np.trapezoid(x, x=COORDS4, axis=1), _m(3, 4)),
    ("trapezoid dx axis=0", lambda x: np.trapezoid(x, dx=0.3, axis=0), _m(3, 4)),
    ("trapezoid traced x", lambda x: np.trapezoid(x[0] ** 2, x=np.cumsum(np.exp(x[1]))),
     _m(2, 5)),
    ("gradient", lambda x: np.gradient(x), _m(3, 4)),
    ("gradient spacing edge_order=2", lambda x: np.gradient(x, 0.5, edge_order=2), _m(5)),
    ("gradient coordinates axis=1", lambda x: np.gradient(x, COORDS4, axis=1,
                                                          edge_order=2), _m(3, 4)),
    ("gradient per-axis coordinates", lambda x: np.gradient(
        x, [0.0, 1.0, 3.0], COORDS4), _m(3, 4)),
    ("ediff1d", lambda x: np.ediff1d(x, to_end=[1.0, 2.0], to_begin=x[0, 0]), _m(3, 4)),
    ("cumulative_sum include_initial", lambda x: np.cumulative_sum(
        x, axis=1, include_initial=True), _m(3, 4)),
    ("cumulative_prod", lambda x: np.cumulative_prod(x), _m(5)),
    ("cumulative_prod axis=0 include_initial", lambda x: np.cumulative_prod(
        x, axis=0, include_initial=True), _m(3, 2)),
    # rearrangements and rebuilt arrays
    ("rot90", lambda x: np.rot90(x), _m(3, 4)),
    ("rot90 k=3 axes", lambda x: np.rot90(x, 3, axes=(2, 0)), _m(2, 3, 4)),
    ("append axis=0", lambda x: np.append(x, [[1.0, 2.0, 3.0, 4.0]], axis=0), _m(3, 4)),
    ("append raveled", lambda x: np.append(x[0], x[1:] * 2.0), _m(3, 4)),
    ("insert constant", lambda x: np.insert(x, [1, 3], 7.0, axis=1), _m(3, 4)),
    ("insert traced values", lambda x: np.insert(x, 2, x[0] ** 2, axis=0), _m(3, 4)),
    ("insert raveled", lambda x: np.insert(x, [0, 5], [-1.0, 1.0]), _m(2, 3)),
    ("insert into a constant", lambda x: np.insert(C34, 1, x, axis=1), _m(3)),
    ("delete axis=1", lambda x: np.delete(x, [0, 2], axis=1), _m(3, 4)),
    ("delete slice", lambda x: np.delete(x, slice(1, 5)), _m(3, 4)),
    ("delete mask", lambda x: np.delete(x, [True, False, True], axis=0), _m(3, 4)),
    ("vander", lambda x: np.vander(x), _m(4)),
    ("vander N increasing", lambda x: np.vander(x, 3, increasing=True), _m(5)),
    ("diagflat", lambda x: np.diagflat(x), _m(2, 2)),
    ("diagflat k=-1", lambda x: np.diagflat(x, -1), _m(3)),
    ("block", lambda x: np.block([[x, np.ones((3, 1))], [x[:1], x[:1, :1]]]), _m(3, 4)),
    ("block 1-D", lambda x: np.block([x[:2], 1.0, x[2:]]), _m(5)),
    ("tril_indices", lambda x: x[np.tril_indices(3, 0, 4)], _m(3, 4)),
    ("triu_indices k=1", lambda x: x[np.triu_indices(4, 1)], _m(4, 4)),
    ("flipud", lambda x: np.flipud(x), _m(3, 4)),
    ("fliplr", lambda x: np.fliplr(x), _m(3, 4)),
    # reductions with where= and initial=
    ("sum where traced", lambda x: np.sum(x, axis=1, where=x > 0), _m(3, 4)),
    ("sum where constant initial", lambda x: np.sum(x, where=C34 < 0.5, initial=2.0),
     _m(3, 4)),
    ("sum where broadcast", lambda x: np.sum(x, axis=0, where=[True, False, True, True]),
     _m(3, 4)),
    ("mean where traced", lambda x: np.mean(x, axis=0, where=x > -0.5), _m(3, 4)),
    ("mean where constant keepdims", lambda x: np.mean(x, axis=1, where=C34 > -0.5,
                                                       keepdims=True), _m(3, 4)),
    ("max where initial", lambda x: np.max(x, axis=1, initial=-1.0, where=x < 1.0),
     _m(3, 4)),
    ("min initial", lambda x: np.min(x, axis=0, initial=0.0), _m(3, 4)),
    ("amin where", lambda x: np.amin(x, initial=5.0, where=C34 > 0), _m(3, 4)),
    ("prod where initial", lambda x: np.prod(x, axis=1, where=x > 0, initial=0.5),
     _m(3, 4)),
    # scipy.special compositions (inside their domains, away from their kinks)
    ("entr", lambda x: sps.entr(x), _u(0.2, 2.5, 6)),
    ("rel_entr", lambda x: sps.rel_entr(x[:4], x[4:]), _u(0.2, 2.5, 8)),
    ("rel_entr constant y", lambda x: sps.rel_entr(x, np.array([0.5, 1.0, 1.5])),
     _u(0.2, 2.5, 3)),
    ("kl_div", lambda x: sps.kl_div(x[:4], x[4:]), _u(0.2, 2.5, 8)),
    ("huber", lambda x: sps.huber(1.0, x), np.array([-2.5, -0.4, 0.3, 1.7])),
    ("huber traced delta", lambda x: sps.huber(x[:3], np.array([0.1, 2.0, -3.0])),
     _u(0.5, 1.5, 3)),
    ("pseudo_huber", lambda x: sps.pseudo_huber(x[:3], x[3:]), np.array(
        [0.5, 1.2, 2.0, -1.5, 0.3, 2.5])),
    ("betaln", lambda x: sps.betaln(x[:3], x[3:]), _u(0.3, 4.0, 6)),
    ("beta", lambda x: sps.beta(x[:3], x[3:]), _u(0.3, 4.0, 6)),
    ("log_expit", lambda x: sps.log_expit(x), np.array([-30.0, -2.0, -0.1, 0.2, 3.0, 40.0])),
    ("boxcox", lambda x: sps.boxcox(x[:3], x[3:]), np.array([0.5, 1.5, 3.0, -0.7, 0.4, 1.3])),
    ("boxcox constant lmbda", lambda x: sps.boxcox(x, 0.0), _u(0.3, 3.0, 4)),
    ("boxcox1p", lambda x: sps.boxcox1p(x[:3], x[3:]), np.array([0.5, 1.5, 3.0, -0.7, 0.4,
                                                                1.3])),
    ("inv_boxcox", lambda x: sps.inv_boxcox(x[:3], x[3:]), np.array([0.5, 1.5, 0.2, -0.3,
                                                                    0.4, 1.3])),
    ("inv_boxcox1p", lambda x: sps.inv_boxcox1p(x[:3], x[3:]), np.array([0.5, 1.5, 0.2,
                                                                        -0.3, 0.4, 1.3])),
    ("polygamma", lambda x: sps.polygamma(1, x), _u(0.3, 4.0, 4)),
    ("polygamma orders", lambda x: sps.polygamma([0, 1, 3], x), _u(0.3, 4.0, 3)),
]
IDS = [c[0] for c in CASES]


def _vector(f, shape):
    """Every output of f, raveled and joined: a vector function of the raveled point."""
    def vec(x):
        return np.concatenate([np.ravel(np.asarray(o, dtype=float) if not isinstance(
            o, Traced) else o) for o in _outputs(f(np.reshape(x, shape)))])
    return vec


def _fd(f, x):
    """Central differences; 0 where x is nan (f does not see those entries move)."""
    return np.where(np.isnan(x), 0.0, nd.numerical_gradient(f, x))


def _another_point(x):
    """A second point: new numbers (in the order they come, so a percentile reads
    other entries), nans (if any) moved elsewhere, the signs kept (the domains)."""
    y = x + RNG.normal(size=np.shape(x)) * 0.1 * np.maximum(np.abs(x), 0.5)
    y = np.where(np.sign(y) == np.sign(x), y, x * 0.9)
    nans = np.isnan(x)
    if nans.any():
        y = np.where(nans, 0.7 + 0.13 * np.arange(y.size).reshape(y.shape), y)  # no ties
        y.flat[[i for i in range(y.size - 1, -1, -1) if not nans.flat[i]][:nans.sum()]] = \
            np.nan
    return y


@pytest.mark.parametrize("label,f,x", CASES, ids=IDS)
def test_value_is_numpys(label, f, x):
    ref = _outputs(f(x))
    got = []
    nd.trace(lambda x: got.append(f(x)) or 0.0, x)
    values = _outputs(got[0])
    assert len(values) == len(ref)
    for v, r in zip(values, ref):
        v = value_of(v)
        assert np.shape(v) == np.shape(r)
        np.testing.assert_allclose(np.asarray(v, dtype=float), np.asarray(r, dtype=float),
                                   rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("label,f,x", CASES, ids=IDS)
def test_gradient_reverse_and_forward(label, f, x):
    obj = _objective(f, x.shape, _weights(f, x))
    g = nd.grad(obj)(x)
    assert g.shape == x.shape
    np.testing.assert_allclose(g, _fd(obj, x), rtol=1e-6, atol=1e-7)
    if np.isnan(x).any():
        assert np.all(g[np.isnan(x)] == 0.0)
    vec = _vector(f, x.shape)
    flat = x.ravel()
    v = np.where(np.isnan(flat), 0.0, RNG.normal(size=flat.size))
    Jv = _directional_fd(vec, flat, v)
    finite = np.isfinite(Jv)  # (a nan percentile output stays nan)
    np.testing.assert_allclose(nd.trace(vec, flat).jvp(flat, v)[1][finite], Jv[finite],
                               rtol=1e-6, atol=1e-7)
    for mode in ("forward", "reverse"):
        J = nd.jacobian(vec, mode=mode)(flat)
        np.testing.assert_allclose((J @ v)[finite], Jv[finite], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("label,f,x", CASES, ids=IDS)
def test_cached_gradient_at_a_second_point(label, f, x):
    obj = _objective(f, x.shape, _weights(f, x))
    flat_obj = lambda y: obj(y.reshape(x.shape))  # noqa: E731
    gradient = nd.gradient(flat_obj)
    for point in (x, _another_point(x), x):
        flat = point.ravel()
        np.testing.assert_allclose(gradient(flat), _fd(flat_obj, flat),
                                   rtol=1e-6, atol=1e-7)


SECOND_ORDER = ["quantile q array axis=1 keepdims", "cov", "cov weights", "corrcoef",
                "corrcoef x y", "trapezoid traced x", "gradient coordinates axis=1",
                "cumulative_prod", "vander", "prod where initial", "mean where traced",
                "entr", "rel_entr", "kl_div", "huber traced delta", "pseudo_huber",
                "betaln", "beta", "log_expit", "boxcox", "boxcox1p", "inv_boxcox",
                "inv_boxcox1p", "polygamma orders"]


@pytest.mark.parametrize("label", SECOND_ORDER)
def test_hessian(label):
    _, f, x = CASES[IDS.index(label)]
    obj = _objective(f, x.shape, _weights(f, x))
    flat_obj = lambda y: obj(y.reshape(x.shape))  # noqa: E731
    flat = x.ravel()
    H = nd.hessian(flat_obj)(flat)
    H_fd = np.array([_fd(lambda y, k=k: nd.gradient(flat_obj)(y)[k], flat)
                     for k in range(flat.size)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------
# Replays where a decision changes
# ---------------------------------------------------------------------------------

def _percentile_gradient(x, q):
    """d percentile(x, q) / dx by hand: the two order statistics it interpolates."""
    order = np.argsort(x, kind="stable")
    virtual = q / 100.0 * (len(x) - 1)
    lo = int(np.floor(virtual))
    t = virtual - lo
    g = np.zeros(len(x))
    g[order[lo]] += 1.0 - t
    g[order[min(lo + 1, len(x) - 1)]] += t
    return g


def test_percentile_replay_reads_the_new_order():
    f = lambda x: np.percentile(x, 35.0)  # noqa: E731
    a = np.array([0.3, -1.0, 2.0, 0.7, 1.1, -0.2])
    b = np.array([2.5, 0.1, -3.0, 0.4, 0.0, 1.9])  # another order
    gradient = nd.gradient(f)
    tape = nd.trace(f, a)
    for x in (a, b, a):
        np.testing.assert_allclose(gradient(x), _percentile_gradient(x, 35.0), atol=1e-15)
        assert tape(x) == pytest.approx(np.percentile(x, 35.0), rel=1e-15)
        assert nd.grad(f)(x) == pytest.approx(_percentile_gradient(x, 35.0), abs=1e-15)


def test_percentile_of_a_slice_with_a_nan_is_nan():
    x = np.array([[0.5, np.nan, 1.0], [2.0, 0.1, -1.0]])
    got = nd.trace(lambda x: np.percentile(x, 50.0, axis=1), x)(x)
    np.testing.assert_array_equal(got, np.percentile(x, 50.0, axis=1))


def test_nanquantile_replay_with_moved_nans():
    f = lambda x: np.sum(np.nanquantile(x.reshape(2, 4), [0.3, 0.8], axis=1) ** 2)  # noqa
    a = _with_nans(_m(8), [1])
    b = _with_nans(_m(8), [4, 6])
    gradient = nd.gradient(f)
    for x in (a, b, a):
        np.testing.assert_allclose(gradient(x), _fd(f, x), rtol=1e-6, atol=1e-7)
    tape = nd.trace(f, a)
    assert not tape.matches(b)  # the nans moved: the recorded counts are stale


def _branchy(x):
    if np.allclose(x, 1.0, atol=0.1):
        return np.sum(x ** 2)
    return np.sum(x ** 3)


def test_allclose_in_an_if_is_a_guarded_decision():
    near, far = np.full(3, 1.05), np.array([2.0, 1.0, 1.0])
    gradient = nd.gradient(_branchy)
    for x in (near, far, near):
        expected = 2.0 * x if np.allclose(x, 1.0, atol=0.1) else 3.0 * x ** 2
        np.testing.assert_allclose(gradient(x), expected, rtol=1e-15)
    tape = nd.trace(_branchy, near)
    assert tape.matches(np.ones(3))
    assert not tape.matches(far)
    with pytest.raises(nd.ControlFlowChanged):
        tape(far)


def test_array_equal_in_an_if_is_a_guarded_decision():
    c = np.array([0.5, 1.0])
    f = lambda x: np.sum(x * 2.0) if np.array_equal(x, c) else np.sum(x ** 2)  # noqa
    gradient = nd.gradient(f)
    np.testing.assert_allclose(gradient(c), [2.0, 2.0])
    np.testing.assert_allclose(gradient(np.array([0.5, 3.0])), [1.0, 6.0])
    assert nd.trace(lambda x: float(np.array_equal(x, x[:1])), c)(c) == 0.0  # shapes


def test_isclose_is_a_traced_bool_array():
    x = np.array([1.0, 2.0, np.inf, np.nan, 3.0])
    y = np.array([1.0 + 1e-9, 2.1, np.inf, np.nan, np.nan])
    for kw in ({}, dict(equal_nan=True), dict(rtol=0.1)):
        got = []
        nd.trace(lambda x: got.append(np.isclose(x, y, **kw)) or 0.0, x)
        v = value_of(got[0])
        assert v.dtype == bool
        np.testing.assert_array_equal(v, np.isclose(x, y, **kw))
    # used as a mask its decisions are replayed, not frozen
    f = lambda x: np.sum(np.where(np.isclose(x, 1.0, atol=0.2), x ** 2, x))  # noqa
    tape = nd.trace(f, np.array([1.1, 3.0]))
    for p in (np.array([1.1, 3.0]), np.array([3.0, 0.9])):
        assert tape(p) == pytest.approx(f(p))
        np.testing.assert_allclose(tape.gradient(p), np.where(np.abs(p - 1) <= 0.2,
                                                              2 * p, 1.0))


def test_traced_where_mask_is_replayed():
    f = lambda x: np.sum(x, where=x > 0) + np.mean(x, where=x < 0.5)  # noqa: E731
    a, b = np.array([0.3, -1.0, 2.0, 0.1]), np.array([-0.3, 1.0, -2.0, 0.9])
    tape = nd.trace(f, a)
    for x in (a, b):
        assert tape(x) == pytest.approx(np.sum(x, where=x > 0) + np.mean(x, where=x < 0.5))
        expected = (x > 0) + (x < 0.5) / np.sum(x < 0.5)
        np.testing.assert_allclose(tape.gradient(x), expected)


# ---------------------------------------------------------------------------------
# Duals (the scipy compositions are shared with the tracer) and polygamma
# ---------------------------------------------------------------------------------

DUAL_CASES = [
    (sps.entr, (1.3,)), (sps.rel_entr, (0.7, 1.9)), (sps.kl_div, (0.7, 1.9)),
    (sps.huber, (1.0, 0.4)), (sps.huber, (1.0, -2.0)), (sps.pseudo_huber, (0.8, -1.3)),
    (sps.betaln, (0.6, 2.2)), (sps.beta, (1.4, 0.9)), (sps.log_expit, (-0.7,)),
    (sps.boxcox, (1.7, 0.4)), (sps.boxcox1p, (0.6, -0.3)), (sps.inv_boxcox, (0.6, 0.4)),
    (sps.inv_boxcox1p, (0.6, 0.4)),
]


@pytest.mark.parametrize("fn,args", DUAL_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_scipy_compositions_on_duals(fn, args):
    for k in range(len(args)):
        duals = [Dual(a, 1.0 if j == k else 0.0) for j, a in enumerate(args)]
        out = fn(*duals)
        assert float(out.value) == pytest.approx(float(fn(*args)), rel=1e-14)
        h = 1e-6
        up = [a + (h if j == k else 0.0) for j, a in enumerate(args)]
        down = [a - (h if j == k else 0.0) for j, a in enumerate(args)]
        assert float(out.tangent) == pytest.approx((fn(*up) - fn(*down)) / (2 * h),
                                                   rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("x", [np.array([-1.0, 0.0, 2.0]), np.array([0.0, 3.0]),
                               np.array([1.0, 0.0])], ids=["x<0", "x=0 y>0", "y=0"])
def test_entropy_edges_are_scipys(x):
    for fn, args in ((sps.entr, (x,)), (sps.rel_entr, (x, x[::-1])),
                     (sps.kl_div, (x, x[::-1]))):
        got = nd.trace(lambda x: fn(*([x] + list(args[1:]))) * 1.0, x)(x)
        np.testing.assert_array_equal(got, fn(*args))


def test_polygamma_on_duals_and_its_refusals():
    out = sps.polygamma(2, Dual(0.5, 1.0))
    assert float(out.value) == pytest.approx(sps.polygamma(2, 0.5), rel=1e-14)
    assert float(out.tangent) == pytest.approx(sps.polygamma(3, 0.5), rel=1e-14)
    assert sps.polygamma(1, 0.5) == pytest.approx(np.pi ** 2 / 2)  # SciPy's, untouched
    with pytest.raises(nd.TracingError, match="polygamma"):
        nd.grad(lambda x: sps.polygamma(x, 2.0))(1.0)
    with pytest.raises(ValueError, match="integer"):
        nd.grad(lambda x: sps.polygamma(1.5, x))(1.0)


# ---------------------------------------------------------------------------------
# Refusals and NumPy's errors
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("call,error,match", [
    (lambda x: np.percentile(x, 50, method="nearest"), nd.TracingError, "np.percentile"),
    (lambda x: np.quantile(x, x[0]), nd.TracingError, "traced q"),
    (lambda x: np.quantile(x, 1.5), ValueError, "range"),
    (lambda x: np.gradient(x, x), nd.TracingError, "traced spacing"),
    (lambda x: np.cov(x, aweights=x), nd.TracingError, "traced aweights"),
    (lambda x: np.max(x, where=x > 0), ValueError, "initial"),
    (lambda x: np.cumulative_sum(x.reshape(3, 1)), ValueError, "axis"),
    (lambda x: np.block((x, x)), TypeError, "tuple"),
], ids=["method", "traced q", "q range", "traced spacing", "traced weights",
        "max where without initial", "cumulative_sum axis", "block tuple"])
def test_refusals(call, error, match):
    with pytest.raises(error, match=match):
        nd.grad(lambda x: np.sum(call(x)))(np.array([0.5, 1.0, 2.0]))
