"""NumPy's array-manipulation and reduction functions inside differentiated functions
(numad/array_functions.py and the ufunc methods): one table, every function checked for
NumPy's value and shape, its gradient against central differences in reverse mode, its
tangent (``tape.jvp``) and forward / reverse Jacobians against J v by differences, and a
cached ``nd.gradient`` replayed at a second point. Then the edge cases: ties of running
extremes, nans that move, empty pieces, second derivatives.
"""
import warnings

import numpy as np
import pytest

import numad as nd
from numad.traced import Traced, value_of

RNG = np.random.default_rng(20261206)


def _m(*shape):
    return RNG.normal(size=shape)


def _with_nans(x, where):
    x = np.array(x, dtype=float)
    x.flat[list(where)] = np.nan
    return x


def _cross2(a, b):
    with warnings.catch_warnings():  # NumPy 2 deprecates 2-vectors; still supported
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.cross(a, b)


C3 = np.array([0.3, -1.2, 0.8])
C34 = _m(3, 4)
W4 = np.array([0.5, 1.0, 2.0, 0.25])
NAN34 = _with_nans(_m(3, 4), [1, 6])

# (label, f, x): f takes NumPy's arrays and traced ones alike; x is the point
CASES = [
    # reductions that skip nans (the point has nans)
    ("nansum", lambda x: np.nansum(x), NAN34),
    ("nansum axis=1 keepdims", lambda x: np.nansum(x, axis=1, keepdims=True), NAN34),
    ("nanprod axis=0", lambda x: np.nanprod(x, axis=0), NAN34),
    ("nanmean axis=-1", lambda x: np.nanmean(x, axis=-1), NAN34),
    ("nanmax", lambda x: np.nanmax(x), NAN34),
    ("nanmax axis=0", lambda x: np.nanmax(x, axis=0), NAN34),
    ("nanmin axis=1 keepdims", lambda x: np.nanmin(x, axis=1, keepdims=True), NAN34),
    ("nanvar", lambda x: np.nanvar(x), NAN34),
    ("nanvar axis=0 ddof=1", lambda x: np.nanvar(x, axis=0, ddof=1), NAN34),
    ("nanstd axis=1", lambda x: np.nanstd(x, axis=1), NAN34),
    ("nanstd keepdims correction", lambda x: np.nanstd(x, axis=-2, keepdims=True,
                                                      correction=1), NAN34),
    ("nanmean without nans", lambda x: np.nanmean(x, axis=0), _m(3, 4)),
    # other reductions
    ("ptp", lambda x: np.ptp(x), _m(3, 4)),
    ("ptp axis=-1 keepdims", lambda x: np.ptp(x, axis=-1, keepdims=True), _m(3, 4)),
    ("average", lambda x: np.average(x), _m(3, 4)),
    ("average axis=1 weights", lambda x: np.average(x, axis=1, weights=W4), _m(3, 4)),
    ("average traced weights", lambda x: np.average(C34, axis=1, weights=x), W4 + 0.1),
    ("average returned", lambda x: np.average(x, axis=1, weights=x[0] ** 2 + 1.0,
                                              returned=True), _m(3, 4)),
    ("average returned no weights", lambda x: np.average(x, axis=-1, returned=True),
     _m(3, 4)),
    ("average keepdims 2-D weights", lambda x: np.average(x, axis=(0, 1), weights=C34,
                                                         keepdims=True), _m(3, 4)),
    ("add.reduce axis=1", lambda x: np.add.reduce(x, axis=1), _m(3, 4)),
    ("add.reduce axis=None", lambda x: np.add.reduce(x, axis=None), _m(3, 4)),
    ("multiply.reduce axis=0", lambda x: np.multiply.reduce(x, axis=0), _m(3, 4)),
    ("maximum.reduce axis=-1", lambda x: np.maximum.reduce(x, axis=-1), _m(3, 4)),
    ("minimum.reduce keepdims", lambda x: np.minimum.reduce(x, axis=0, keepdims=True),
     _m(3, 4)),
    # accumulations
    ("add.accumulate", lambda x: np.add.accumulate(x), _m(6)),
    ("add.accumulate axis=1", lambda x: np.add.accumulate(x, axis=1), _m(3, 4)),
    ("multiply.accumulate axis=0", lambda x: np.multiply.accumulate(x, axis=0), _m(3, 4)),
    ("maximum.accumulate", lambda x: np.maximum.accumulate(x), _m(8)),
    ("maximum.accumulate axis=1", lambda x: np.maximum.accumulate(x, axis=1), _m(3, 5)),
    ("maximum.accumulate axis=-2", lambda x: np.maximum.accumulate(x, axis=-2), _m(5, 3)),
    ("minimum.accumulate", lambda x: np.minimum.accumulate(x), _m(8)),
    ("minimum.accumulate axis=1", lambda x: np.minimum.accumulate(x, axis=1), _m(2, 3, 4)),
    ("cumsum axis=0", lambda x: np.cumsum(x, axis=0), _m(3, 4)),
    ("cumsum axis=-1", lambda x: np.cumsum(x, axis=-1), _m(3, 4)),
    ("cumprod axis=1", lambda x: np.cumprod(x, axis=1), _m(3, 4)),
    ("cumprod axis=None", lambda x: np.cumprod(x), _m(3, 4)),
    ("diff axis=0", lambda x: np.diff(x, axis=0), _m(3, 4)),
    ("diff n=2 axis=1", lambda x: np.diff(x, n=2, axis=1), _m(3, 4)),
    # pieces
    ("split", lambda x: np.split(x, 3), _m(6)),
    ("split indices axis=1", lambda x: np.split(x, [1, 3], axis=1), _m(3, 4)),
    ("split empty pieces", lambda x: np.split(x, [0, 2, 2, 6]), _m(6)),
    ("array_split", lambda x: np.array_split(x, 4), _m(6)),
    ("array_split more pieces", lambda x: np.array_split(x, 8), _m(6)),
    ("array_split axis=-1", lambda x: np.array_split(x, 3, axis=-1), _m(2, 4)),
    ("hsplit", lambda x: np.hsplit(x, 2), _m(3, 4)),
    ("hsplit 1-D", lambda x: np.hsplit(x, [2]), _m(5)),
    ("vsplit", lambda x: np.vsplit(x, [1]), _m(3, 4)),
    ("dsplit", lambda x: np.dsplit(x, 2), _m(2, 2, 4)),
    ("triu", lambda x: np.triu(x), _m(4, 4)),
    ("triu k=1", lambda x: np.triu(x, 1), _m(3, 4)),
    ("tril k=-1", lambda x: np.tril(x, k=-1), _m(4, 3)),
    ("tril of a stack", lambda x: np.tril(x), _m(2, 3, 3)),
    ("triu of a vector", lambda x: np.triu(x, -1), _m(3)),
    ("take", lambda x: np.take(x, [0, 5, 5, 2]), _m(2, 3)),
    ("take axis=1 negative", lambda x: np.take(x, [-1, 0, -2], axis=1), _m(3, 4)),
    ("take scalar index", lambda x: np.take(x, -1, axis=0), _m(3, 4)),
    ("take mode=wrap", lambda x: np.take(x, [7, -9], mode="wrap"), _m(5)),
    ("take_along_axis", lambda x: np.take_along_axis(
        x, np.array([[3, 0], [1, 1], [2, -1]]), axis=1), _m(3, 4)),
    ("take_along_axis axis=0", lambda x: np.take_along_axis(
        x, np.argsort(C34, axis=0), axis=0), _m(3, 4)),
    # products
    ("kron vectors", lambda x: np.kron(x, np.array([1.0, -2.0])), _m(3)),
    ("kron x x", lambda x: np.kron(x, x), _m(2, 2)),
    ("kron matrix vector", lambda x: np.kron(np.eye(2) + 0.5, x), _m(3)),
    ("kron scalar", lambda x: np.kron(x[0], x), _m(3)),
    ("cross 3-vectors", lambda x: np.cross(x, C3), _m(3)),
    ("cross x x[::-1]", lambda x: np.cross(x, x[::-1] * 2.0), _m(3)),
    ("cross stack", lambda x: np.cross(x, C3), _m(4, 3)),
    ("cross axisa=0 axisc=0", lambda x: np.cross(x, C3, axisa=0, axisc=0), _m(3, 4)),
    ("cross axis=0", lambda x: np.cross(x, x * x, axis=0), _m(3, 2)),
    ("cross 2-vectors", lambda x: _cross2(x, np.array([0.5, 2.0])), _m(2)),
    ("cross 2 and 3", lambda x: _cross2(x[:2], x[2:] * 1.5), _m(5)),
    ("cross 3 and 2", lambda x: _cross2(x[2:], x[:2]), _m(5)),
    ("outer", lambda x: np.outer(x, x[:2]), _m(3)),
    ("trace", lambda x: np.trace(x), _m(3, 3)),
    ("trace offset", lambda x: np.trace(x, 1), _m(3, 4)),
    ("trace of a stack", lambda x: np.trace(x, axis1=1, axis2=2), _m(2, 3, 3)),
    ("polyval traced p", lambda x: np.polyval(x, np.array([0.3, -1.5, 2.0])), _m(4)),
    ("polyval traced x", lambda x: np.polyval([1.5, -2.0, 0.5], x), _m(2, 3)),
    ("polyval both", lambda x: np.polyval(x[:3], x[3]), _m(4)),
    ("convolve full", lambda x: np.convolve(x, np.array([1.0, 2.0, -0.5])), _m(5)),
    ("convolve same, shorter traced", lambda x: np.convolve(np.arange(1.0, 6.0), x,
                                                            "same"), _m(3)),
    ("convolve valid both", lambda x: np.convolve(x[:5], x[5:], mode="valid"), _m(8)),
    ("convolve same even", lambda x: np.convolve(x[:4], x[4:], mode="same"), _m(8)),
    ("convolve same longer second", lambda x: np.convolve(x[:2], x[2:], mode="same"),
     _m(7)),
    ("correlate valid", lambda x: np.correlate(x, np.array([1.0, -1.0])), _m(5)),
    ("correlate full, shorter first", lambda x: np.correlate(x[:2], x[2:], "full"), _m(6)),
    ("correlate same, shorter first", lambda x: np.correlate(x[:2], x[2:], "same"), _m(6)),
    ("correlate same even", lambda x: np.correlate(x[:6], x[6:], "same"), _m(10)),
    # grids
    ("linspace", lambda x: np.linspace(x[0], x[1], 5), _m(2)),
    ("linspace endpoint=False", lambda x: np.linspace(x[0], 3.0, 4, endpoint=False), _m(1)),
    ("linspace retstep", lambda x: np.linspace(-1.0, x[0], 7, retstep=True), _m(1)),
    ("linspace arrays axis=1", lambda x: np.linspace(x[:2], x[2:], 4, axis=1), _m(4)),
    ("linspace num=1", lambda x: np.linspace(x[0], x[1], 1), _m(2)),
    ("meshgrid", lambda x: np.meshgrid(x[:2], x[2:]), _m(5)),
    ("meshgrid ij", lambda x: np.meshgrid(x[:2], np.arange(3.0), x[2:], indexing="ij"),
     _m(4)),
    ("meshgrid sparse", lambda x: np.meshgrid(x[:2], x[2:], sparse=True), _m(5)),
    # rearrangements
    ("tile", lambda x: np.tile(x, (2, 1)), _m(2, 3)),
    ("tile reps=3", lambda x: np.tile(x, 3), _m(2)),
    ("repeat axis=1", lambda x: np.repeat(x, 2, axis=1), _m(2, 3)),
    ("repeat counts", lambda x: np.repeat(x, [1, 0, 3]), _m(3)),
    ("roll axis=0", lambda x: np.roll(x, 1, axis=0), _m(3, 4)),
    ("roll negative axis", lambda x: np.roll(x, -2, axis=-1), _m(3, 4)),
    ("roll two axes", lambda x: np.roll(x, (1, 2), axis=(0, 1)), _m(3, 4)),
    ("flip", lambda x: np.flip(x), _m(3, 4)),
    ("flip axis=-1", lambda x: np.flip(x, axis=-1), _m(3, 4)),
    ("diag of a vector k=-1", lambda x: np.diag(x, -1), _m(3)),
    ("diag of a matrix k=1", lambda x: np.diag(x, k=1), _m(3, 4)),
    ("pad constant", lambda x: np.pad(x, ((1, 0), (0, 2)), constant_values=0.5), _m(2, 3)),
    ("pad reflect", lambda x: np.pad(x, 2, mode="reflect"), _m(4)),
    ("pad edge", lambda x: np.pad(x, ((0, 1), (2, 0)), mode="edge"), _m(2, 3)),
    ("pad wrap", lambda x: np.pad(x, 1, mode="wrap"), _m(2, 3)),
    # choices
    ("select", lambda x: np.select([x < -0.5, x > 0.5], [x ** 2, np.sin(x)], default=x),
     _m(3, 4)),
    ("select constant conditions", lambda x: np.select([C34 > 0], [x], 0.25), _m(3, 4)),
    ("piecewise", lambda x: np.piecewise(x, [x < 0, x >= 0], [lambda v: v ** 2,
                                                                lambda v: np.exp(v)]), _m(6)),
    ("piecewise otherwise", lambda x: np.piecewise(x, [x < -0.3], [lambda v: -v, 0.5]),
     _m(3, 2)),
]
IDS = [c[0] for c in CASES]


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _objective(f, shape, weights):
    """A scalar of every output of f: sum(weights * sin(output)) over the outputs."""
    def obj(x):
        total = 0.0
        for out, w in zip(_outputs(f(np.reshape(x, shape))), weights):
            total = total + np.sum(w * np.sin(out * 1.0))
        return total
    return obj


def _vector(f, shape):
    """Every output of f, raveled and joined: a vector function of the raveled point."""
    def vec(x):
        return np.concatenate([np.ravel(np.asarray(o, dtype=float) if not isinstance(
            o, Traced) else o) for o in _outputs(f(np.reshape(x, shape)))] +
            [np.zeros(0)])
    return vec


def _weights(f, x):
    return [RNG.uniform(0.5, 1.5, size=np.shape(o)) for o in _outputs(f(x))]


def _fd(f, x):
    """Central differences; 0 where x is nan (f does not see those entries move)."""
    g = nd.numerical_gradient(f, x)
    return np.where(np.isnan(x), 0.0, g)


def _directional_fd(vec, x, v, h=1e-6):
    return (vec(x + h * v) - vec(x - h * v)) / (2.0 * h)


def _another_point(x):
    """A second point: new numbers, nans (if any) moved elsewhere."""
    y = x + RNG.normal(size=np.shape(x)) * 0.3
    nans = np.isnan(x)
    if nans.any():
        y = np.where(nans, 0.7, y)
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
    # the tangent sweep and both Jacobians against J v by differences
    vec = _vector(f, x.shape)
    flat = x.ravel()
    v = RNG.normal(size=flat.size)
    Jv = _directional_fd(vec, flat, v)
    if Jv.size == 0:
        return
    np.testing.assert_allclose(nd.trace(vec, flat).jvp(flat, v)[1], Jv, rtol=1e-6,
                               atol=1e-7)
    for mode in ("forward", "reverse"):
        J = nd.jacobian(vec, mode=mode)(flat)
        np.testing.assert_allclose(J @ v, Jv, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("label,f,x", CASES, ids=IDS)
def test_cached_gradient_at_a_second_point(label, f, x):
    obj = _objective(f, x.shape, _weights(f, x))
    flat_obj = lambda y: obj(y.reshape(x.shape))  # noqa: E731
    gradient = nd.gradient(flat_obj)
    for point in (x, _another_point(x)):
        flat = point.ravel()
        np.testing.assert_allclose(gradient(flat), _fd(flat_obj, flat),
                                   rtol=1e-6, atol=1e-7)


SECOND_ORDER = ["nanvar axis=0 ddof=1", "nanstd axis=1", "nanprod axis=0",
                "average returned", "multiply.accumulate axis=0", "cumprod axis=1",
                "kron x x", "cross x x[::-1]", "cross axis=0", "polyval both",
                "convolve valid both", "correlate same even", "linspace arrays axis=1",
                "meshgrid", "select", "piecewise", "ptp", "maximum.accumulate",
                "average traced weights"]


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
# Running extremes: ties, nans, replays where the holder changes
# ---------------------------------------------------------------------------------

def _running_max_jacobian(x):
    """d cummax(x) / dx with tied entries sharing equally (closed form, by loops)."""
    n = len(x)
    J = np.zeros((n, n))
    for k in range(n):
        top = np.max(x[:k + 1])
        tied = [j for j in range(k + 1) if x[j] == top]
        J[k, tied] = 1.0 / len(tied)
    return J


@pytest.mark.parametrize("x", [
    np.array([1.0, 3.0, 3.0, 2.0, 3.0, 5.0, 5.0]),
    np.array([2.0, 2.0, 2.0, 2.0]),
    np.array([-1.0, 0.5, 0.25, 0.5, 4.0, -2.0]),
], ids=["ties", "all equal", "one tie"])
def test_maximum_accumulate_ties_share_equally(x):
    J = _running_max_jacobian(x)
    np.testing.assert_array_equal(nd.trace(np.maximum.accumulate, x)(x),
                                  np.maximum.accumulate(x))
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(nd.jacobian(np.maximum.accumulate, mode=mode)(x), J,
                                   atol=1e-15)
    # the minimum is the mirror image
    np.testing.assert_allclose(nd.jacobian(np.minimum.accumulate)(-x), J, atol=1e-15)
    w = np.arange(1.0, len(x) + 1)
    np.testing.assert_allclose(nd.grad(lambda x: np.sum(w * np.maximum.accumulate(x)))(x),
                               w @ J, atol=1e-14)
    # the last running maximum is np.max, whose ties share the same way
    np.testing.assert_allclose(J[-1], nd.grad(np.max)(x), atol=1e-15)


def test_ptp_ties_share_equally():
    x = np.array([2.0, -1.0, 2.0, 0.5, -1.0, -1.0])
    expected = np.array([0.5, -1.0 / 3.0, 0.5, 0.0, -1.0 / 3.0, -1.0 / 3.0])
    np.testing.assert_allclose(nd.grad(np.ptp)(x), expected, atol=1e-15)
    np.testing.assert_allclose(nd.gradient(np.ptp)(x), expected, atol=1e-15)
    assert nd.trace(np.ptp, x).jvp(x, np.ones(6))[1] == pytest.approx(0.0, abs=1e-15)


def test_running_extreme_replay_where_the_holder_changes():
    w = np.arange(1.0, 7.0)
    f = lambda x: np.sum(w * np.maximum.accumulate(x) ** 2)  # noqa: E731
    a = np.array([0.1, 0.5, 0.3, 0.9, 0.2, 0.4])
    b = np.array([0.8, 0.1, 0.9, 0.2, 0.95, 0.3])  # other holders
    c = np.array([0.8, 0.8, 0.9, 0.2, 0.9, 1.3])   # ties appear
    gradient = nd.gradient(f)
    for x in (a, b, c, a):
        y = np.maximum.accumulate(x)
        expected = (2.0 * w * y) @ _running_max_jacobian(x)
        np.testing.assert_allclose(gradient(x), expected, rtol=1e-14)
    # a recorded tape refuses the point where the holders differ: never a stale answer
    tape = nd.trace(f, a)
    assert tape(a) == pytest.approx(f(a))
    assert not tape.matches(b)
    with pytest.raises(nd.ControlFlowChanged):
        tape(b)


def test_running_extreme_with_nans_is_numpys():
    x = np.array([0.3, np.nan, 2.0, -1.0])
    for fn in (np.maximum.accumulate, np.minimum.accumulate):
        np.testing.assert_array_equal(nd.trace(lambda x: fn(x) * 1.0, x)(x), fn(x))
        g = nd.grad(lambda x: np.nansum(fn(x)))(x)
        np.testing.assert_array_equal(g, [1.0, 0.0, 0.0, 0.0])
    # a replay where the nan came earlier holds it from there on
    gradient = nd.gradient(lambda x: np.nansum(np.maximum.accumulate(x)) + np.sum(
        np.where(np.isnan(x), 0.0, x)))
    np.testing.assert_array_equal(gradient(np.array([0.3, 1.0, 2.0, -1.0])), [2, 2, 3, 1])
    np.testing.assert_array_equal(gradient(np.array([np.nan, 1.0, 2.0, -1.0])), [0, 1, 1, 1])


# ---------------------------------------------------------------------------------
# nan* functions: the nan masks are recorded, so replays with moved nans are right
# ---------------------------------------------------------------------------------

NAN_FUNCTIONS = [np.nansum, np.nanmean, np.nanprod, np.nanmax, np.nanmin, np.nanvar,
                 np.nanstd]


@pytest.mark.parametrize("fn", NAN_FUNCTIONS, ids=lambda f: f.__name__)
def test_nan_functions_replay_with_moved_nans(fn):
    f = lambda x: np.sum(np.sin(fn(x.reshape(3, 4), axis=1)))  # noqa: E731
    a = _with_nans(_m(12), [0, 5])
    b = _with_nans(a, [9])
    b[[0, 5]] = [0.4, -0.2]
    gradient = nd.gradient(f)
    tape = nd.trace(f, a)
    for x in (a, b, a):
        g = gradient(x)
        np.testing.assert_allclose(g, _fd(f, x), rtol=1e-6, atol=1e-7)
        assert np.all(g[np.isnan(x)] == 0.0)
        assert tape(x) == pytest.approx(f(x), rel=1e-13)  # the mask is traced: no retrace


@pytest.mark.parametrize("fn", NAN_FUNCTIONS, ids=lambda f: f.__name__)
def test_nan_functions_of_all_nan_slices_are_numpys(fn):
    x = np.array([[np.nan, np.nan], [1.0, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = fn(x, axis=1)
        got = nd.trace(lambda x: fn(x, axis=1) * 1.0, x)(x)
    np.testing.assert_array_equal(got, ref)
    g = nd.grad(lambda x: np.nansum(fn(x, axis=1)))(x)
    np.testing.assert_array_equal(g[np.isnan(x)], 0.0)


# ---------------------------------------------------------------------------------
# keywords, refusals and shapes
# ---------------------------------------------------------------------------------

def test_meshgrid_keywords_reach_the_handler():
    x = _m(3)
    for kw in (dict(indexing="ij"), dict(sparse=True), dict(copy=False, indexing="xy")):
        ref = np.meshgrid(x, x[:2], **kw)
        got = []
        nd.trace(lambda x: got.append(np.meshgrid(x, x[:2], **kw)) or 0.0, x)
        for v, r in zip(got[0], ref):
            np.testing.assert_array_equal(value_of(v), r)


@pytest.mark.parametrize("call,name", [
    (lambda x: np.add.reduce(x, initial=1.0), "np.add.reduce"),
    (lambda x: np.maximum.reduce(x, where=x > 0), "np.maximum.reduce"),
    (lambda x: np.nansum(x, initial=1.0), "np.nansum"),
    (lambda x: np.nanmax(x, where=x > 0, initial=0.0), "np.nanmax"),
    (lambda x: np.take(x, [0], out=np.empty(1)), "np.take"),
    (lambda x: np.linspace(x[0], x[1], 3, dtype=int), "np.linspace"),
], ids=["reduce initial", "reduce where", "nansum initial", "nanmax where", "take out",
        "linspace int dtype"])
def test_what_would_change_the_answer_is_refused(call, name):
    with pytest.raises(nd.TracingError, match=name.replace(".", r"\.")):
        nd.grad(lambda x: np.sum(call(x)))(np.array([0.5, 1.0, 2.0]))


def test_split_keeps_numpys_errors_and_empty_pieces():
    x = _m(5)
    with pytest.raises(ValueError, match="equal division"):
        nd.grad(lambda x: np.sum(np.split(x, 2)[0]))(x)
    pieces = []
    g = nd.grad(lambda x: pieces.append(np.array_split(x, 7)) or np.sum(
        np.concatenate(pieces[-1]) ** 2))(x)
    assert [np.shape(value_of(p)) for p in pieces[0]] == \
        [np.shape(p) for p in np.array_split(x, 7)]
    np.testing.assert_allclose(g, 2.0 * x)


def test_take_with_traced_indices_is_guarded():
    x = np.array([0.3, 2.0, -1.0, 0.5])
    f = lambda x: np.sum(np.take(x, np.argmax(x)) * x)  # noqa: E731
    gradient = nd.gradient(f)
    for p in (x, x[::-1].copy()):
        np.testing.assert_allclose(gradient(p), nd.numerical_gradient(f, p), rtol=1e-6)
