"""The special functions and the ufuncs added to the op table for them, end to end:
``np.sinc``, ``np.fmod``, ``np.heaviside``, ``scipy.special``'s ``gammaln``, ``gamma``,
``digamma`` (``psi``), ``xlogy``, ``xlog1py``, ``logit``, ``erfcx``, ``log_ndtr``,
``ndtri`` and ``erfinv``, and ``np.float_power`` / ``np.remainder``, which were rows
already.

One table (``SPECS``) gives each function's points, its first derivatives and its
Hessian in closed form, written with SciPy's own identities (``gammaln' = digamma``,
``digamma' = polygamma(1, .)``, ...); every mode is checked against it: reverse
(``nd.grad``), forward (``tape.jvp``, ``nd.jvp``), second order (``nd.hessian``,
``nd.hvp``, ``nd.grad`` of ``nd.grad``), ``Dual`` numbers, and a compiled tape against
the interpreter. The kernels' own scalar code (numad/optable.py, inlined into the
generated kernels and compiled tapes) is checked against SciPy on wide grids, through
replays of traced tapes, and interpreted against compiled.
"""
import math
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.special as sps
from numba import njit

import numad as nd
from numad import numpy_dispatch as D
from numad import optable
from numad.dual import Dual

PI = math.pi
SQRT_2PI = math.sqrt(2.0 * math.pi)


# ---------------------------------------------------------------------------------
# The table: function, points, closed-form gradient and Hessian
# ---------------------------------------------------------------------------------

@dataclass
class Spec:
    name: str
    fn: object          # fn(*operands), as the user writes it
    points: list        # tuples of operands
    grad: object        # grad(*operands) -> the partials, closed form
    hess: object        # hess(*operands) -> the Hessian (arity x arity), closed form
    rtol: float = 1e-13


def _sinc_d1(x):
    return 0.0 if x == 0.0 else (math.cos(PI * x) - np.sinc(x)) / x


def _sinc_d2(x):
    return -PI * PI / 3.0 if x == 0.0 else -PI * PI * np.sinc(x) - 2.0 * _sinc_d1(x) / x


def _log_ndtr_ratio(x):
    """pdf / cdf, as exp(log pdf - log cdf): finite far into the lower tail."""
    return math.exp(-0.5 * x * x - math.log(SQRT_2PI) - sps.log_ndtr(x))


def _psi(n, x):
    return float(sps.polygamma(n, x))


GAMMA_POINTS = [(0.3,), (2.5,), (7.0,), (1.4616321449683622,), (-0.5,), (-2.3,)]

SPECS = [
    Spec("sinc", np.sinc, [(0.0,), (0.15,), (0.37,), (-1.6,), (2.5,)],
         lambda x: [_sinc_d1(x)], lambda x: [[_sinc_d2(x)]], rtol=1e-12),
    Spec("fmod", np.fmod, [(5.3, 2.0), (-5.3, 2.0), (5.3, -2.0), (-5.3, -2.0), (0.7, 3.0)],
         lambda a, b: [1.0, -math.trunc(a / b)], lambda a, b: [[0.0, 0.0], [0.0, 0.0]]),
    Spec("remainder", np.remainder, [(5.3, 2.0), (-5.3, 2.0), (5.3, -2.0)],
         lambda a, b: [1.0, -math.floor(a / b)], lambda a, b: [[0.0, 0.0], [0.0, 0.0]]),
    Spec("float_power", np.float_power, [(1.7, 2.5), (0.4, -1.3)],
         lambda a, b: [b * a ** (b - 1), a ** b * math.log(a)],
         lambda a, b: [[b * (b - 1) * a ** (b - 2), a ** (b - 1) * (1 + b * math.log(a))],
                       [a ** (b - 1) * (1 + b * math.log(a)), a ** b * math.log(a) ** 2]]),
    # the step's slope is 0; its value at 0 is h0, whose slope is 1 there only
    Spec("heaviside", np.heaviside, [(0.7, 0.5), (-0.7, 0.5), (0.0, 0.3)],
         lambda a, h0: [0.0, 1.0 if a == 0.0 else 0.0], lambda a, h0: [[0.0, 0.0], [0.0, 0.0]]),
    Spec("gammaln", sps.gammaln, GAMMA_POINTS,
         lambda x: [sps.digamma(x)], lambda x: [[_psi(1, x)]]),
    Spec("gamma", sps.gamma, GAMMA_POINTS,
         lambda x: [sps.gamma(x) * sps.digamma(x)],
         lambda x: [[sps.gamma(x) * (sps.digamma(x) ** 2 + _psi(1, x))]]),
    Spec("digamma", sps.digamma, GAMMA_POINTS,
         lambda x: [_psi(1, x)], lambda x: [[_psi(2, x)]], rtol=1e-12),
    Spec("psi", sps.psi, [(2.5,)], lambda x: [_psi(1, x)], lambda x: [[_psi(2, x)]]),
    # at a = 0: value 0, slope 0 in b, and the slope in a (and the mixed second
    # derivative 1 / b) of a log b
    Spec("xlogy", sps.xlogy, [(0.7, 1.3), (-1.2, 0.4), (0.0, 2.0)],
         lambda a, b: [math.log(b), a / b],
         lambda a, b: [[0.0, 1.0 / b], [1.0 / b, -a / b ** 2]]),
    Spec("xlog1py", sps.xlog1py, [(0.7, 1.3), (-1.2, -0.6), (0.0, 2.0)],
         lambda a, b: [math.log1p(b), a / (1.0 + b)],
         lambda a, b: [[0.0, 1.0 / (1.0 + b)], [1.0 / (1.0 + b), -a / (1.0 + b) ** 2]]),
    Spec("logit", sps.logit, [(0.1,), (0.5,), (0.73,), (1e-6,)],
         lambda x: [1.0 / (x * (1.0 - x))],
         lambda x: [[(2.0 * x - 1.0) / (x * (1.0 - x)) ** 2]]),
    # (for large x, 2 x erfcx(x) cancels against 2 / sqrt(pi), in the oracle as in the
    # rule, to 1 / (2 x^2) of itself, and the second derivative once more)
    Spec("erfcx", sps.erfcx, [(-3.0,), (-0.5,), (0.0,), (1.2,), (10.0,), (30.0,)],
         lambda x: [2.0 * x * sps.erfcx(x) - 2.0 / math.sqrt(PI)],
         lambda x: [[2.0 * sps.erfcx(x) + 2.0 * x * (2.0 * x * sps.erfcx(x) - 2.0 / math.sqrt(PI))]],
         rtol=1e-9),
    # d log ndtr = r = pdf / cdf, d^2 = -r (x + r); at -40, x + r cancels to 1/40 in the
    # oracle itself, hence the looser tolerance
    Spec("log_ndtr", sps.log_ndtr, [(-40.0,), (-10.0,), (-3.0,), (-0.5,), (0.0,), (1.7,), (6.0,)],
         lambda x: [_log_ndtr_ratio(x)],
         lambda x: [[-_log_ndtr_ratio(x) * (x + _log_ndtr_ratio(x))]], rtol=1e-8),
    Spec("ndtri", sps.ndtri, [(1e-10,), (0.02,), (0.3,), (0.5,), (0.8,), (1.0 - 1e-6,)],
         lambda p: [SQRT_2PI * math.exp(0.5 * sps.ndtri(p) ** 2)],
         lambda p: [[sps.ndtri(p) * 2.0 * PI * math.exp(sps.ndtri(p) ** 2)]], rtol=1e-12),
    Spec("erfinv", sps.erfinv, [(-0.99,), (-0.3,), (0.0,), (1e-8,), (0.6,), (0.999,)],
         lambda z: [0.5 * math.sqrt(PI) * math.exp(sps.erfinv(z) ** 2)],
         lambda z: [[sps.erfinv(z) * 0.5 * PI * math.exp(2.0 * sps.erfinv(z) ** 2)]],
         rtol=1e-12),
]
CASES = [(s, p) for s in SPECS for p in s.points]


def _id(case):
    spec, point = case
    return f"{spec.name}{point}"


def _objective(spec):
    """The scalar function of the operands' vector z."""
    return lambda z: spec.fn(*[z[k] for k in range(len(z))])


def _close(got, want, rtol):
    np.testing.assert_allclose(got, np.asarray(want, dtype=np.float64), rtol=rtol, atol=1e-300)


# ---------------------------------------------------------------------------------
# Every mode against the table
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,point", CASES, ids=[_id(c) for c in CASES])
def test_value_and_reverse_gradient(spec, point):
    z = np.array(point)
    value, g = nd.value_and_grad(_objective(spec))(z)
    with np.errstate(all="ignore"):
        assert value == pytest.approx(float(spec.fn(*point)), rel=1e-14, abs=1e-300)
    _close(g, spec.grad(*point), spec.rtol)
    # and each operand as a float of its own (the scalar kernels)
    for k in range(len(point)):
        gk = nd.grad(lambda x, k=k: spec.fn(*[x if i == k else point[i]
                                             for i in range(len(point))]))(point[k])
        _close(gk, spec.grad(*point)[k], spec.rtol)


@pytest.mark.parametrize("spec,point", CASES, ids=[_id(c) for c in CASES])
def test_forward_mode_tape_jvp(spec, point):
    z = np.array(point)
    v = np.array([0.7, -1.3][:len(point)])
    tape = nd.trace(_objective(spec), z)
    y, t = tape.jvp(z, v)
    _close(t, np.dot(spec.grad(*point), v), spec.rtol)
    _, t2 = nd.jvp(_objective(spec), z, v)
    assert t2 == pytest.approx(t, rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("spec,point", CASES, ids=[_id(c) for c in CASES])
def test_second_order(spec, point):
    z = np.array(point)
    f = _objective(spec)
    H = nd.hessian(f)(z)
    rtol = max(spec.rtol, 1e-11)
    np.testing.assert_allclose(H, spec.hess(*point), rtol=rtol, atol=1e-12)
    v = np.array([0.7, -1.3][:len(point)])
    np.testing.assert_allclose(nd.hvp(f)(z, v), H @ v, rtol=1e-12, atol=1e-12)
    # the traced reverse sweep, differentiated again
    np.testing.assert_allclose(nd.jacobian(nd.gradient(f))(z), H, rtol=1e-12, atol=1e-12)
    g2 = nd.grad(nd.grad(lambda x: spec.fn(x, *point[1:])))(point[0])
    assert g2 == pytest.approx(H[0, 0], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("spec,point", CASES, ids=[_id(c) for c in CASES])
def test_dual_numbers(spec, point):
    grad = spec.grad(*point)
    for k in range(len(point)):
        out = spec.fn(*[Dual(x, 1.0) if i == k else x for i, x in enumerate(point)])
        assert isinstance(out, Dual)
        with np.errstate(all="ignore"):
            assert out.value == pytest.approx(float(spec.fn(*point)), rel=1e-15, abs=1e-300)
        _close(out.tangent, grad[k], spec.rtol)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_compiled_tape_agrees_with_the_interpreter(spec):
    points = np.array(spec.points)
    m, n = points.shape

    def f(z):   # every point at once (operand k: the window z[k m:(k + 1) m]), and one alone
        operands = [z[k * m:(k + 1) * m] for k in range(n)]
        return np.sum(spec.fn(*operands) ** 2) + spec.fn(*[z[k * m] for k in range(n)])
    z = points.T.ravel()
    compiled = nd.trace(f, z, compile="always")
    interpreted = nd.trace(f, z, compile="never")
    # (the same formulas; adjoints that meet in one input may add in another order)
    for w in (z, z * (1.0 - 1e-3)):
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(compiled.gradient(w), interpreted.gradient(w),
                                       rtol=1e-14, atol=1e-300)
    assert compiled.compiled is not None
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(nd.gradient(f, compile="always")(z),
                                   nd.gradient(f, compile="never")(z), rtol=1e-14, atol=1e-300)


def test_every_new_call_is_traced_as_its_row():
    rows = {np.sinc: "sinc", np.fmod: "fmod", np.heaviside: "heaviside",
            sps.gammaln: "gammaln", sps.gamma: "gamma", sps.digamma: "digamma",
            sps.psi: "digamma", sps.xlogy: "xlogy", sps.xlog1py: "xlog1py",
            sps.logit: "logit", sps.erfcx: "erfcx", sps.log_ndtr: "log_ndtr",
            sps.ndtri: "ndtri", sps.erfinv: "erfinv", np.float_power: "pow",
            np.remainder: "mod"}
    for fn, name in rows.items():
        tape = nd.trace(lambda x, fn=fn: fn(x, 0.5) if fn.nin == 2 else fn(x), 0.25) \
            if isinstance(fn, np.ufunc) else nd.trace(fn, 0.25)
        assert optable.OPNAMES[int(tape.op[-1])] == name, fn
    for fn, name in optable.FUNCTION_ROWS.items():
        assert name in optable.ELEMENTWISE_BY_NAME and fn in D.FUNCTIONS


# ---------------------------------------------------------------------------------
# The awkward points
# ---------------------------------------------------------------------------------

def test_sinc_at_zero_value_one_slope_zero_curvature_minus_pi_squared_over_three():
    assert nd.trace(np.sinc, 0.5)(0.0) == 1.0
    assert nd.grad(np.sinc)(0.0) == 0.0
    assert nd.grad(nd.grad(np.sinc))(0.0) == pytest.approx(-PI ** 2 / 3, rel=1e-15)
    assert nd.hessian(lambda z: np.sinc(z[0]))(np.zeros(1))[0, 0] == pytest.approx(-PI ** 2 / 3)
    assert np.sinc(Dual(0.0, 1.0)).tangent == 0.0
    # near 0 the slope is the series -pi^2 x / 3 + pi^4 x^3 / 30, not a cancellation
    for x in (1e-3, 1e-6, -1e-9):
        want = -PI ** 2 * x / 3 + PI ** 4 * x ** 3 / 30
        assert nd.grad(np.sinc)(x) == pytest.approx(want, rel=1e-14)
        assert np.sinc(Dual(x, 1.0)).tangent == pytest.approx(want, rel=1e-14)


def test_fmod_takes_the_sign_of_the_dividend():
    a = np.array([5.3, -5.3, 5.3, -5.3])
    b = np.array([2.0, 2.0, -2.0, -2.0])
    tape = nd.trace(lambda a, b: np.fmod(a, b), a, b)
    np.testing.assert_array_equal(tape(a, b), np.fmod(a, b))
    ga, gb = nd.grad(lambda a, b: np.sum(np.fmod(a, b)), argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(ga, np.ones(4))
    np.testing.assert_array_equal(gb, -np.trunc(a / b))        # -2, 2, 2, -2
    # the quotient that fmod took, where a / b rounds up to an integer (0.3 / 0.1)
    assert nd.grad(lambda b: np.fmod(0.3, b))(0.1) == -2.0


def test_heaviside_values_as_numpy_including_h0_at_zero():
    x = np.array([-1.5, -0.0, 0.0, 2.0, np.nan])
    for h0 in (0.0, 0.5, 1.0):
        tape = nd.trace(lambda x: np.heaviside(x, h0), x)
        np.testing.assert_array_equal(tape(x), np.heaviside(x, h0))
        np.testing.assert_array_equal(nd.grad(lambda x: np.nansum(np.heaviside(x, h0)))(x[:4]),
                                      np.zeros(4))
    # a traced h0 takes the value at 0, and its slope there
    assert nd.grad(lambda h: np.heaviside(0.0, h))(0.3) == 1.0
    assert nd.grad(lambda h: np.heaviside(2.0, h))(0.3) == 0.0


def test_xlogy_at_zero():
    assert nd.trace(lambda y: sps.xlogy(0.0, y), 1.0)(0.0) == 0.0
    assert nd.grad(lambda y: sps.xlogy(0.0, y))(2.0) == 0.0
    assert nd.grad(lambda y: sps.xlogy(0.0, y))(0.0) == 0.0
    assert nd.grad(lambda x: sps.xlogy(x, 2.0))(0.0) == pytest.approx(math.log(2.0), rel=1e-15)
    assert nd.trace(lambda x: sps.xlog1py(x, -1.0), 1.0)(0.0) == 0.0
    assert nd.grad(lambda y: sps.xlog1py(0.0, y))(-1.0) == 0.0


def test_log_ndtr_far_in_the_lower_tail():
    x = np.array([-40.0, -38.5, -100.0, -1e5])
    tape = nd.trace(lambda x: sps.log_ndtr(x), np.zeros(4))
    np.testing.assert_allclose(tape(x), sps.log_ndtr(x), rtol=1e-14)
    g = nd.grad(lambda x: np.sum(sps.log_ndtr(x)))(x)
    # pdf / cdf -> -x - 1/x + 2/x^3 - 10/x^5 + ...
    want = -x - 1 / x + 2 / x ** 3 - 10 / x ** 5 + 74 / x ** 7
    np.testing.assert_allclose(g, want, rtol=1e-13)
    assert np.all(np.isfinite(nd.hessian(lambda x: np.sum(sps.log_ndtr(x)))(x)))
    assert nd.grad(sps.log_ndtr)(40.0) == 0.0


def test_gamma_family_at_negative_arguments_and_poles():
    for x in (-0.5, -2.3, -7.9):
        assert nd.grad(sps.gammaln)(x) == pytest.approx(sps.digamma(x), rel=1e-13)
        assert nd.grad(nd.grad(sps.gammaln))(x) == pytest.approx(_psi(1, x), rel=1e-13)
    # digamma's value at its poles is SciPy's: -inf at 0, nan at the negative integers
    tape = nd.trace(lambda x: sps.digamma(x), np.ones(3))
    got = tape(np.array([0.0, -1.0, -3.0]))
    assert got[0] == -np.inf and np.isnan(got[1]) and np.isnan(got[2])


# ---------------------------------------------------------------------------------
# The kernels' scalar code against SciPy, through replays (every value computed by
# the generated kernels), and interpreted against compiled
# ---------------------------------------------------------------------------------

def _grid(rng):
    # (below -10 SciPy's own digamma is off by up to 1e-14 next to the poles, where the
    # kernels reduce tan's argument exactly: tests there use mpmath)
    x = np.concatenate([rng.uniform(0.0, 3.0, 400), rng.uniform(-10.0, 0.0, 400),
                        10.0 ** rng.uniform(-6, 8, 300), -(10.0 ** rng.uniform(-6, 1, 200)),
                        1.4616321449683622 + rng.uniform(-0.2, 0.2, 100)])
    return x[np.abs(x - np.rint(x)) > 1e-6]   # (not at digamma's poles)


def _replay(fn, x):
    """fn's values at x, computed by the replay of its tape: the array kernels."""
    return nd.trace(fn, np.full_like(x, 0.5))(x)


def _relative(got, want):
    return np.abs(got - want) / np.maximum(np.abs(want), 1e-300)


def test_digamma_and_its_derivatives_in_the_kernels_against_scipy():
    x = _grid(np.random.default_rng(0))
    # (relative to the terms that cancel near digamma's negative roots; SciPy's own
    # error next to the poles is up to 1.2e-14 there)
    scale = np.abs(sps.digamma(x)) + np.abs(sps.digamma(1 - x)) * (x < 0) + 0.1
    assert np.max(np.abs(_replay(sps.digamma, x) - sps.digamma(x)) / scale) < 2e-14
    away = x[np.abs(sps.digamma(x)) > 0.1]
    assert np.max(_relative(_replay(sps.digamma, away), sps.digamma(away))) < 2e-14
    near = 1.4616321449683622 + np.array([1e-12, -1e-9, 1e-5, -0.1])
    assert np.max(_relative(_replay(sps.digamma, near), sps.digamma(near))) < 1e-14
    trigamma = nd.gradient(lambda x: np.sum(sps.digamma(x)))(x)
    assert np.max(_relative(trigamma, sps.polygamma(1, x))) < 1e-14
    positive = x[x > 0]
    for n in (2, 3):
        poly = _replay(lambda x, n=n: _polygamma_recorded(n, x), positive)
        assert np.max(_relative(poly, sps.polygamma(n, positive))) < 2e-14, n
    assert np.max(_relative(nd.gradient(lambda x: np.sum(sps.gammaln(x)))(away),
                            sps.digamma(away))) < 2e-14


def test_digamma_next_to_far_negative_poles_against_mpmath():
    mp = pytest.importorskip("mpmath")
    x = np.array([-68.99369635272144, -233.99999879071123, -1e5 + 0.25, -3.5e6 - 1e-7])
    want = np.array([float(mp.digamma(mp.mpf(float(v)))) for v in x])
    assert np.max(_relative(_replay(sps.digamma, x), want)) < 1e-15


def _polygamma_recorded(n, x):
    from numad import recording as R
    return R.elementwise("polygamma", float(n), x)


def test_erfcx_ndtri_erfinv_in_the_kernels_against_scipy():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-26.0, 40.0, 500), 10.0 ** rng.uniform(-8, 300, 200)])
    # (SciPy's own erfcx is off by x^2 ulps below -5, so the check there is looser)
    rel = _relative(_replay(sps.erfcx, x), sps.erfcx(x))
    assert np.max(rel[x > -5.0]) < 1e-14 and np.max(rel) < 2e-13
    p = np.concatenate([rng.uniform(0.0, 1.0, 500), 10.0 ** rng.uniform(-320, -1, 300),
                        1.0 - 10.0 ** rng.uniform(-16, -1, 200),
                        0.5 + 10.0 ** rng.uniform(-17, -1, 100)])
    assert np.max(_relative(_replay(sps.ndtri, p), sps.ndtri(p))) < 1e-14
    z = np.concatenate([rng.uniform(-1.0, 1.0, 500), 10.0 ** rng.uniform(-300, -1, 200),
                        1.0 - 10.0 ** rng.uniform(-16, -1, 200)])
    assert np.max(_relative(_replay(sps.erfinv, z), sps.erfinv(z))) < 1e-14
    ends = np.array([0.0, 1.0, -0.5, 1.5, np.nan])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(_replay(sps.ndtri, ends), sps.ndtri(ends))
        np.testing.assert_array_equal(_replay(sps.erfinv, ends * 2 - 1), sps.erfinv(ends * 2 - 1))
        np.testing.assert_array_equal(_replay(sps.erfcx, np.array([-np.inf, np.inf, -27.0])),
                                      [np.inf, 0.0, np.inf])


@pytest.mark.parametrize("name", sorted(optable._KERNEL_CODE))
def test_kernel_code_interpreted_and_compiled_agree(name):
    """Each scalar implementation as plain Python, and as the lambda the kernels inline
    compiled by numba: the same numbers (away from the points where plain Python's
    floats raise, as 1 / 0)."""
    fn = optable._KERNEL_CODE[name]
    arity = fn.__code__.co_argcount
    names = ", ".join(f"u{k}" for k in range(arity))
    namespace = {"math": math, "np": np}
    exec(f"def f({names}):\n    return {optable._inline(fn)}({names})\n", namespace)
    compiled = njit(error_model="numpy")(namespace["f"])
    rng = np.random.default_rng(2)
    if name in ("ndtri", "_quantile_lower_tail"):
        args = [(p,) for p in rng.uniform(1e-6, 0.02, 20)] + [(p,) for p in rng.uniform(0, 1, 20)]
    elif name in ("erfinv", "_quantile_middle"):
        args = [(z,) for z in rng.uniform(-0.47, 0.47, 40)]
    elif arity == 2:
        args = [(float(n), x) for n in (1, 2, 3, 4) for x in rng.uniform(-6.5, 9.0, 10)]
    else:
        args = [(x,) for x in rng.uniform(-6.5, 9.0, 40)]
    if name in ("_digamma_from_positive", "_polygamma_from_positive", "_digamma_near_root"):
        args = [(*a[:-1], abs(a[-1]) + 0.1) for a in args]
    for a in args:
        assert compiled(*a) == pytest.approx(fn(*a), rel=1e-14, abs=1e-300), (name, a)
