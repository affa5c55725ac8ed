"""The op table: every primitive numad records, defined once.

This module is the ground floor of numad: it imports nothing from the rest of the
package. Each elementwise primitive is one row: its name, its arity, the NumPy function
that computes it while tracing, the scalar formula the compiled kernels use, and its
local partial derivatives written in terms of the inputs ``a``, ``b`` and the output
``y``. From these rows

* ``numad/_codegen.py`` writes the elementwise kernels into ``numad/_generated/``
  (forward values with stored partials, reverse adjoints, forward tangents, second
  order), so a formula exists in exactly one place;
* the tracer evaluates values with the NumPy function at trace time;
* ``Dual`` numbers and nested (higher-order) derivatives evaluate the same partial
  expressions on their own number types;
* the tracer's and ``Dual``'s ufunc dispatch (``UFUNC_ROWS``) come from each row's
  ``ufuncs``, and the compiled tapes' tests of a zero adjoint against inf partials from
  its ``may_be_infinite`` flags (both in ``_FACTS``, with a one-line ``doc``); the
  inputs whose zero partial contributes exactly 0 are ``_STRONG_ZERO``'s.

A partial of ``None`` means "identically zero" (``floor``, comparisons): the sweeps
skip it instead of multiplying by zero. Partials are written so that they hold at every
point with numad's conventions (see the API reference, 'Conventions'):
``abs'(0) = 0``, ``sqrt'(0) = inf``, zero slope for the step functions, ``maximum``/``minimum`` give 1/2 to each side at a tie (the
max/min reductions' equal sharing: so ``maximum(x, x)`` has derivative 1; against a
constant operand the tracer records a select instead, whose tie gives the traced side
0, ``relu'(0) = 0``).

The expression language of partials is small on purpose: arithmetic, comparisons,
``select(cond, x, y)`` (a branch-free choice) and the function names in
``EXPRESSION_FUNCTIONS``; it must mean the same thing for floats in numba, for NumPy
arrays and for traced values.

Structural primitives (reductions, views, gathers, matrix products, ...) cannot be
written as one scalar formula; they are listed in ``STRUCTURAL`` with their arity, a
one-line meaning and the names of their hand-written kernels in each sweep
(``numad/structural_kernels.py``); the sweeps' switches over the opcodes are generated
from these rows too. A test checks that every sweep handles every opcode.
"""
from __future__ import annotations

import ast
import inspect
import math
import textwrap
from dataclasses import dataclass, replace

import numpy as np
import scipy.special as sps

SQRT2 = math.sqrt(2.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
ONE_OVER_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
LN2 = math.log(2.0)
LN10 = math.log(10.0)


def _ndtr_value(a):
    return 0.5 * math.erfc(-a / SQRT2)


# ---- scalar implementations of the functions numba lacks ----------------------------------
#
# numba's ``math`` has ``lgamma``, ``gamma``, ``erf`` and ``erfc``, but no digamma,
# polygamma, erfcx, normal quantile or inverse error function. Their implementations
# below are plain Python of floats, written so that each becomes one expression: only
# assignments, ``if ...: return ...`` and a last ``return``, calling ``math``, ``np``
# and each other. ``_inline`` writes each as one (nested) lambda, the body of its
# compiled function in numad/_generated/special.py (``SPECIAL_FUNCTIONS``), which the
# generated kernels and the compiled tapes call as ``special.digamma`` and so on. On arrays (tracing, ``Dual``) the rows use
# ``scipy.special``'s own functions; tests/test_special_functions.py checks the two
# against each other. (Local names avoid a, b, y, ta, tb, ty: the kernels' writers
# rename those in every formula.)

_KERNEL_CODE = {}   # name -> function whose body _inline writes as one lambda


def _kernel_code(fn):
    _KERNEL_CODE[fn.__name__] = fn
    return fn


def _as_expression(statements):
    """A function body (assignments, ``if``s, a last return) as one expression:
    ``v = e; rest`` is ``(lambda v: rest)(e)``, ``if c: body else: other; rest`` is
    ``(body; rest) if c else (other; rest)`` (a branch that returns ends there)."""
    first, rest = statements[0], statements[1:]
    if isinstance(first, ast.Return):
        return first.value
    if isinstance(first, ast.Assign) and [type(t) for t in first.targets] == [ast.Name]:
        inner = _as_expression(rest)
        args = ast.arguments(posonlyargs=[], args=[ast.arg(first.targets[0].id)],
                             kwonlyargs=[], kw_defaults=[], defaults=[])
        return ast.Call(ast.Lambda(args, inner), [first.value], [])
    if isinstance(first, ast.If):
        return ast.IfExp(first.test, _as_expression(first.body + rest),
                         _as_expression(first.orelse + rest))
    raise ValueError(f"optable: kernel code takes assignments, ifs and returns, not "
                     f"{ast.unparse(first)!r}")


class _Inliner(ast.NodeTransformer):
    """Puts the lambda of each kernel-code function called, and the value of each
    module-level constant (SQRT2: upper-case names) in place."""

    def __init__(self, namespace):
        self.namespace = namespace

    def visit_Name(self, node):
        if node.id in ("a", "b", "y", "ta", "tb", "ty"):
            raise ValueError(f"optable: kernel code may not name {node.id!r}")
        value = self.namespace.get(node.id) if node.id.isupper() else None
        if type(value) in (float, int):
            return ast.copy_location(ast.Constant(value), node)
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in _KERNEL_CODE:
            node.func = ast.parse(_inline(_KERNEL_CODE[node.func.id]), mode="eval").body
        return node


def _inline(fn):
    """The kernel-code function ``fn`` as the text of one lambda expression."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    body = [s for s in tree.body
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    args = ast.arguments(posonlyargs=[], args=[ast.arg(a.arg) for a in tree.args.args],
                         kwonlyargs=[], kw_defaults=[], defaults=[])
    lam = _Inliner(fn.__globals__).visit(ast.Lambda(args, _as_expression(body)))
    return f"({ast.unparse(ast.fix_missing_locations(lam))})"


@_kernel_code
def _digamma_from_positive(x):
    """digamma at x >= 0 (-0.0 included: +inf there, as SciPy's): the recurrence
    psi(x) = psi(x + 10) - sum 1/(x + k), then psi's asymptotic series at z = x + 10,
    whose first omitted term is below 1e-17 there."""
    z = x + 10.0
    w = 1.0 / (z * z)
    s = (1.0 / x + 1.0 / (x + 1.0) + 1.0 / (x + 2.0) + 1.0 / (x + 3.0) + 1.0 / (x + 4.0)
         + 1.0 / (x + 5.0) + 1.0 / (x + 6.0) + 1.0 / (x + 7.0) + 1.0 / (x + 8.0)
         + 1.0 / (x + 9.0))
    # B_2j / (2j) for j = 1..8 (the Bernoulli numbers 1/6, -1/30, 1/42, ...)
    series = w * (1.0 / 12.0 + w * (-1.0 / 120.0 + w * (1.0 / 252.0 + w * (
        -1.0 / 240.0 + w * (1.0 / 132.0 + w * (-691.0 / 32760.0 + w * (
            1.0 / 12.0 + w * (-3617.0 / 8160.0))))))))
    return math.log(z) - 0.5 / z - series - s


# digamma's positive root x0 (as x0 + its rounding error) and the Taylor coefficients
# psi^(k)(x0) / k! = (-1)^(k+1) zeta(k + 1, x0), k = 1..16 (computed with mpmath at 50
# digits): near x0 the recurrence would cancel to the root's own size.
PSI_ROOT = 1.4616321449683622
PSI_ROOT_LOW = 9.549995429965697e-17


@_kernel_code
def _digamma_near_root(x):
    """digamma for |x - x0| < 1/8: its Taylor series at the root, to below 1e-17."""
    d = (x - PSI_ROOT) - PSI_ROOT_LOW
    return d * (0.9676722454476212 + d * (-0.4427631689835921 + d * (0.258499760955651 + d * (
        -0.16394270544240652 + d * (0.10782405069126237 + d * (-0.07219956125645471 + d * (
            0.04880428816414311 + d * (-0.03316112647484736 + d * (0.022597648232218104 + d * (
                -0.01542476590494896 + d * (0.010538791616612175 + d * (-0.007204534386356869 + d * (
                    0.004926781395729853 + d * (-0.003369801655439328 + d * (0.002305126326734928 + d * (
                        -0.0015769367714301972))))))))))))))))


@_kernel_code
def digamma(x):
    """psi(x) = d/dx log|Gamma(x)|, for every x: the reflection psi(x) = psi(1 - x) -
    pi / tan(pi x) below 0 (tan has period 1: it takes x less its nearest integer, which
    is exact); nan at the negative integers, as SciPy's; the Taylor series near the
    positive root."""
    if abs(x - PSI_ROOT) < 0.125:
        return _digamma_near_root(x)
    if x < 0.0:
        if x == np.floor(x):
            return math.nan
        return _digamma_from_positive(1.0 - x) - math.pi / math.tan(math.pi * (x - np.rint(x)))
    return _digamma_from_positive(x)


@_kernel_code
def _polygamma_from_positive(n, x):
    """psi^(n)(x) at x >= 0 for n >= 1: (-1)^(n+1) n! (sum_k 1/(x + k)^(n+1), k < 10,
    plus the asymptotic series of psi^(n) at z = x + 10). The series' j-th term is
    B_2j / (2j)! (n + 1)(n + 2)...(n + 2j - 1) / z^(2j + n); through j = 9, the first
    omitted one is below 1e-15 of the sum for n <= 3, 1e-14 for n = 4."""
    z = x + 10.0
    w = 1.0 / (z * z)
    k = -(n + 1.0)
    s = (x ** k + (x + 1.0) ** k + (x + 2.0) ** k + (x + 3.0) ** k + (x + 4.0) ** k
         + (x + 5.0) ** k + (x + 6.0) ** k + (x + 7.0) ** k + (x + 8.0) ** k
         + (x + 9.0) ** k)
    zn = z ** -n
    # Horner in w, each step bringing the next two factors of the rising product
    series = (n + 1.0) * w * (1.0 / 12.0 + (n + 2.0) * (n + 3.0) * w * (
        -1.0 / 720.0 + (n + 4.0) * (n + 5.0) * w * (
            1.0 / 30240.0 + (n + 6.0) * (n + 7.0) * w * (
                -1.0 / 1209600.0 + (n + 8.0) * (n + 9.0) * w * (
                    1.0 / 47900160.0 + (n + 10.0) * (n + 11.0) * w * (
                        -691.0 / 1307674368000.0 + (n + 12.0) * (n + 13.0) * w * (
                            1.0 / 74724249600.0 + (n + 14.0) * (n + 15.0) * w * (
                                -3617.0 / 10670622842880000.0 + (n + 16.0) * (n + 17.0) * w * (
                                    43867.0 / 5109094217170944000.0)))))))))
    sign = 1.0 if np.fmod(n, 2.0) == 1.0 else -1.0
    return sign * math.gamma(n + 1.0) * (s + zn / n + 0.5 * zn / z + zn * series)


@_kernel_code
def polygamma(n, x):
    """psi^(n)(x), the n-th derivative of digamma, for the orders n >= 1 (rounded to an
    integer; nan below 1: digamma is a row of its own). Below 0 the reflection
    psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)), with P_n the n-th
    derivative polynomial of the cotangent (n <= 4; nan for higher orders there); at
    the poles x = 0, -1, ... the sign of (-1)^(n+1) times inf, as SciPy's."""
    n = np.rint(n)
    if not n >= 1.0:
        return math.nan
    sign = 1.0 if np.fmod(n, 2.0) == 1.0 else -1.0
    if x <= 0.0 and x == np.floor(x):
        return sign * math.inf
    if x > 0.0:
        return _polygamma_from_positive(n, x)
    c = 1.0 / math.tan(math.pi * (x - np.rint(x)))
    u = 1.0 + c * c
    # d^n/dx^n cot(pi x) = pi^n P_n(c): P_1 = -u, P_(k+1) = -u P_k'(c)
    p = (-u if n == 1.0 else 2.0 * c * u if n == 2.0 else -u * (2.0 + 6.0 * c * c)
         if n == 3.0 else u * (16.0 * c + 24.0 * c * c * c) if n == 4.0 else math.nan)
    return -sign * _polygamma_from_positive(n, 1.0 - x) - math.pi ** (n + 1.0) * p


@_kernel_code
def erfcx(x):
    """exp(x^2) erfc(x), the scaled complementary error function, without overflow:
    exp(x^2) is taken as exp(h^2) exp((x - h)(x + h)), h being x's leading 26 bits, so
    that h^2 is exact (exp of a rounded x^2 would be off by x^2 ulps); above 26, where
    erfc underflows, its asymptotic series 1/(x sqrt(pi)) (1 - 1/(2x^2) + 3/(2x^2)^2
    - ...), whose first omitted term there is below 1e-18."""
    if x < -26.7:
        return math.inf   # 2 exp(x^2) overflows
    if x < 26.0:
        c = 134217729.0 * x
        h = c - (c - x)
        return math.exp(h * h) * math.exp((x - h) * (x + h)) * math.erfc(x)
    v = 0.5 / (x * x)
    return (0.5641895835477563 / x) * (1.0 - v * (1.0 - 3.0 * v * (1.0 - 5.0 * v * (
        1.0 - 7.0 * v * (1.0 - 9.0 * v * (1.0 - 11.0 * v * (1.0 - 13.0 * v * (
            1.0 - 15.0 * v))))))))


# P. J. Acklam's rational approximation of the normal quantile (relative error below
# 1.2e-9), the start of the refinements below: its middle part in q = p - 1/2 for
# |q| <= 0.47575, its lower tail in t = sqrt(-2 log p).
@_kernel_code
def _quantile_middle(q):
    r = q * q
    return ((((((-39.69683028665376 * r + 220.9460984245205) * r - 275.9285104469687) * r
               + 138.357751867269) * r - 30.66479806614716) * r + 2.506628277459239) * q
            / (((((-54.47609879822406 * r + 161.5858368580409) * r - 155.6989798598866) * r
                 + 66.80131188771972) * r - 13.28068155288572) * r + 1.0))


@_kernel_code
def _quantile_lower_tail(s):
    t = math.sqrt(-2.0 * math.log(s))
    return ((((((-0.007784894002430293 * t - 0.3223964580411365) * t - 2.400758277161838)
               * t - 2.549732539343734) * t + 4.374664141464968) * t + 2.938163982698783)
            / ((((0.007784695709041462 * t + 0.3224671290700398) * t + 2.445134137142996)
                * t + 3.754408661907416) * t + 1.0))


@_kernel_code
def ndtri(p):
    """The standard normal quantile, Phi(x) = p: Acklam's start and one refinement where
    its residual is exact. In the middle a Halley step on Phi(x) - p = erf(x/sqrt 2)/2 - q
    (q = p - 1/2 is exact for p >= 1/4, and erf keeps tiny x exact); in the tails
    (s = min(p, 1 - p), exact) a Newton step on log Phi(x) = log s, with log Phi(x) =
    log(erfcx(-x/sqrt 2)/2) - x^2/2, finite down to the smallest subnormal s."""
    q = p - 0.5
    if abs(q) <= 0.47575:
        x = _quantile_middle(q)
        u = (0.5 * math.erf(x / SQRT2) - q) * 2.5066282746310002 * math.exp(0.5 * x * x)
        return x - u / (1.0 + 0.5 * x * u)
    s = p if q < 0.0 else 1.0 - p
    if s == 0.0:
        return -math.inf if q < 0.0 else math.inf
    x = _quantile_lower_tail(s)
    e = erfcx(-x / SQRT2)
    x = x - (math.log(0.5 * e) - 0.5 * x * x - math.log(s)) * e / 0.7978845608028654
    return x if q < 0.0 else -x


@_kernel_code
def erfinv(z):
    """The inverse error function, erf(x) = z: x = ndtri((1 + |z|)/2) / sqrt 2 started
    from Acklam's approximation (its middle part at q = |z|/2, exact, its tail at
    (1 - |z|)/2, exact), then a Halley step on erf(x) - |z|, which is taken as
    (1 - |z|) - erfc(x) in the tail, where it is exact."""
    t = abs(z)
    if not t < 1.0:
        return math.copysign(math.inf, z) if t == 1.0 else math.nan
    if t <= 0.9515:
        x = _quantile_middle(0.5 * t) / SQRT2
        f = math.erf(x) - t
    else:
        x = -_quantile_lower_tail(0.5 * (1.0 - t)) / SQRT2
        f = (1.0 - t) - math.erfc(x)
    u = f * 0.886226925452758 * math.exp(x * x)
    return math.copysign(x - u / (1.0 + x * u), z)


@dataclass(frozen=True)
class Elementwise:
    """One elementwise primitive: ``y = value(a[, b])`` with its local partials."""

    name: str
    arity: int
    numpy: object            # what computes it on arrays while tracing
    value: str               # scalar formula for the kernels, in a (and b)
    partials: tuple          # one expression per input, or None for "always zero"
    opcode: int = -1
    ufuncs: tuple = ()       # the NumPy/SciPy ufuncs that mean this row (np.fabs -> abs)
    may_be_infinite: tuple = ()  # per input: MAYBE_INF or FINITE (see _FACTS)
    doc: str = ""            # what it computes, in one line
    strong_zero: tuple = ()  # per input: a zero partial contributes exactly 0 (STRONG_ZERO)


def _e(name, numpy_fn, value, *partials):
    return Elementwise(name, len(partials), numpy_fn, value, tuple(partials))


def _sqrt2_expr(x):
    return f"({x}) / {SQRT2!r}"


PI = math.pi
SQRT_2PI = math.sqrt(2.0 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)


def _sinc_slope_near_zero():
    """sinc'(a) near 0 as its Taylor polynomial sum_k 2k (-pi^2)^k a^(2k-1) / (2k+1)!,
    k = 1..8 (Horner in a * a): (cos(pi a) - sinc(a)) / a cancels there (1e-11 at
    a = 1e-3), and the polynomial's own derivative gives sinc''(0) = -pi^2/3. At
    |a| < 0.2 the first omitted term is below 1e-18."""
    t, coefficients = 1.0, []
    for k in range(1, 9):
        t = t * -(PI * PI) / ((2 * k) * (2 * k + 1))
        coefficients.append(2 * k * t)
    text = repr(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        text = f"{c!r} + a * a * ({text})"
    return f"a * ({text})"


def _polygamma_of_arrays(n, x):
    """SciPy's polygamma at the orders rint(n) >= 1, nan below: the row ``polygamma``
    on arrays (it is reached through digamma's derivatives; scipy.special.polygamma is
    a Python function, not a ufunc)."""
    n = np.rint(n)
    with np.errstate(invalid="ignore"):
        return np.where(n >= 1.0, sps.polygamma(np.maximum(n, 1.0), x), np.nan)


# fmt: off
def _where_taken(c, x):
    """The row where_taken on arrays: x where c != 0, else 0.0."""
    return np.where(np.asarray(c) != 0.0, x, 0.0)


def _where_other(c, z):
    """The row where_other on arrays: z where c == 0, else 0.0."""
    return np.where(np.asarray(c) != 0.0, 0.0, z)


def _adjoint_mul(g, d):
    """The row adjoint_mul on arrays: g * d, exactly 0.0 where g == 0 (inf or nan d)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(np.asarray(g) != 0.0, np.multiply(g, d), 0.0)


_ELEMENTWISE_ROWS = [
    #  name          NumPy                value                       d/da                                       d/db
    _e("neg",        np.negative,         "-a",                       "-1.0"),
    _e("add",        np.add,              "a + b",                    "1.0",                                     "1.0"),
    _e("sub",        np.subtract,         "a - b",                    "1.0",                                     "-1.0"),
    _e("mul",        np.multiply,         "a * b",                    "b",                                       "a"),
    _e("div",        np.true_divide,      "a / b",                    "1.0 / b",                                 "-y / b"),
    _e("pow",        np.power,            "a ** b",
       # (b == 1 apart: there a ** (b - 2) in the second derivative is inf at a = 0)
       "select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))",
       "select(a > 0.0, y * log(a), select(a == 0.0, 0.0, np.nan))"),
    _e("square",     np.square,           "a * a",                    "2.0 * a"),
    _e("reciprocal", np.reciprocal,       "1.0 / a",                  "-y * y"),
    _e("sqrt",       np.sqrt,             "sqrt(a)",                  "0.5 / y"),
    _e("cbrt",       np.cbrt,             "cbrt(a)",                  "1.0 / (3.0 * y * y)"),
    _e("exp",        np.exp,              "exp(a)",                   "y"),
    _e("expm1",      np.expm1,            "expm1(a)",                 "exp(a)"),
    _e("log",        np.log,              "log(a)",                   "1.0 / a"),
    _e("log1p",      np.log1p,            "log1p(a)",                 "1.0 / (1.0 + a)"),
    _e("log2",       np.log2,             "log2(a)",                  f"1.0 / (a * {LN2!r})"),
    _e("log10",      np.log10,            "log10(a)",                 f"1.0 / (a * {LN10!r})"),
    _e("sin",        np.sin,              "sin(a)",                   "cos(a)"),
    _e("cos",        np.cos,              "cos(a)",                   "-sin(a)"),
    _e("tan",        np.tan,              "tan(a)",                   "1.0 + y * y"),
    _e("arcsin",     np.arcsin,           "arcsin(a)",                "1.0 / sqrt(1.0 - a * a)"),
    _e("arccos",     np.arccos,           "arccos(a)",                "-1.0 / sqrt(1.0 - a * a)"),
    _e("arctan",     np.arctan,           "arctan(a)",                "1.0 / (1.0 + a * a)"),
    _e("sinh",       np.sinh,             "sinh(a)",                  "cosh(a)"),
    _e("cosh",       np.cosh,             "cosh(a)",                  "sinh(a)"),
    _e("tanh",       np.tanh,             "tanh(a)",                  "1.0 - y * y"),
    _e("arcsinh",    np.arcsinh,          "arcsinh(a)",               "1.0 / sqrt(a * a + 1.0)"),
    _e("arccosh",    np.arccosh,          "arccosh(a)",               "1.0 / sqrt(a * a - 1.0)"),
    _e("arctanh",    np.arctanh,          "arctanh(a)",               "1.0 / (1.0 - a * a)"),
    _e("arctan2",    np.arctan2,          "arctan2(a, b)",            "b / (a * a + b * b)",                     "-a / (a * a + b * b)"),
    _e("hypot",      np.hypot,            "hypot(a, b)",              "select(y == 0.0, 0.0, a / y)",            "select(y == 0.0, 0.0, b / y)"),
    _e("copysign",   np.copysign,         "copysign(a, b)",           "select(a == 0.0, 0.0, copysign(1.0, a) * copysign(1.0, b))", None),
    _e("abs",        np.abs,              "abs(a)",                   "sign(a)"),
    _e("maximum",    np.maximum,          "select(a >= b or a != a, a, b)",
       # a tie shares the derivative equally, as the max reduction does: maximum(x, x)
       # is x, so its two partials must add up to 1 there (0 and 0 would lose it)
       "select(a > b, 1.0, select(a == b, 0.5, 0.0))",                                                           "select(b > a, 1.0, select(a == b, 0.5, 0.0))"),
    _e("minimum",    np.minimum,          "select(a <= b or a != a, a, b)",
       "select(a < b, 1.0, select(a == b, 0.5, 0.0))",                                                           "select(b < a, 1.0, select(a == b, 0.5, 0.0))"),
    _e("mod",        np.mod,              "mod(a, b)",                "1.0",                                     "-floor_divide(a, b)"),
    _e("erf",        sps.erf,             "erf(a)",                   f"{TWO_OVER_SQRT_PI!r} * exp(-a * a)"),
    _e("erfc",       sps.erfc,            "erfc(a)",                  f"-{TWO_OVER_SQRT_PI!r} * exp(-a * a)"),
    _e("ndtr",       sps.ndtr,            f"0.5 * erfc(-a / {SQRT2!r})",
       f"{ONE_OVER_SQRT_2PI!r} * exp(-0.5 * a * a)"),
    _e("expit",      sps.expit,           "1.0 / (1.0 + exp(-a))",    "y * (1.0 - y)"),
    _e("sinc",       np.sinc,             f"select(a == 0.0, 1.0, sin({PI!r} * a) / ({PI!r} * a))",
       f"select(abs(a) < 0.2, {_sinc_slope_near_zero()}, (cos({PI!r} * a) - y) / a)"),
    # (the quotient from y, rather than trunc(a / b): a / b may round up to an integer
    # the true quotient stays below, where fmod is a - (n - 1) b)
    _e("fmod",       np.fmod,             "fmod(a, b)",               "1.0",                                     "-rint((a - y) / b)"),
    _e("heaviside",  np.heaviside,        "select(a < 0.0, 0.0, select(a > 0.0, 1.0, select(a == 0.0, b, a)))",
       None,                                                                                                    "select(a == 0.0, 1.0, 0.0)"),
    _e("gammaln",    sps.gammaln,         "gammaln(a)",               "digamma(a)"),
    _e("gamma",      sps.gamma,           "gamma(a)",                 "y * digamma(a)"),
    _e("digamma",    sps.digamma,         "digamma(a)",               "polygamma(1.0, a)"),
    _e("polygamma",  _polygamma_of_arrays, "polygamma(a, b)",         None,                                      "polygamma(a + 1.0, b)"),
    # (the partial in b at a = 0 keeps a / b, whose slope in a is the 1 / b of a log b,
    # except at b = 0 too, where it is 0 and a / b would be 0 / 0)
    _e("xlogy",      sps.xlogy,           "select(a == 0.0 and b == b, 0.0, a * log(b))",
       "log(b)",                          "select(a == 0.0, select(b == 0.0, 0.0, a / b), a / b)"),
    _e("xlog1py",    sps.xlog1py,         "select(a == 0.0 and b == b, 0.0, a * log1p(b))",
       "log1p(b)",                        "select(a == 0.0, select(b == -1.0, 0.0, a / (1.0 + b)), a / (1.0 + b))"),
    # (log1p of 2a - 1 over 1 - a, both exact, near 1/2, where a / (1 - a) is near 1)
    _e("logit",      sps.logit,           "select(abs(a - 0.5) < 0.25, log1p((2.0 * a - 1.0) / (1.0 - a)), log(a / (1.0 - a)))",
       "1.0 / (a * (1.0 - a))"),
    _e("erfcx",      sps.erfcx,           "erfcx(a)",                 f"2.0 * a * y - {TWO_OVER_SQRT_PI!r}"),
    # log ndtr(a) = log(erfcx(-a / sqrt 2) / 2) - a^2 / 2 below 0 (finite far beyond
    # where ndtr underflows), log1p(-ndtr(-a)) above; its slope, pdf / cdf, is
    # sqrt(2 / pi) / erfcx(-a / sqrt 2) (a ratio of two underflowing numbers otherwise)
    _e("log_ndtr",   sps.log_ndtr,
       f"select(a < 0.0, log(0.5 * erfcx(-a / {SQRT2!r})) - 0.5 * a * a, log1p(-0.5 * erfc(a / {SQRT2!r})))",
       f"{SQRT_2_OVER_PI!r} / erfcx(-a / {SQRT2!r})"),
    _e("ndtri",      sps.ndtri,           "ndtri(a)",                 f"{SQRT_2PI!r} * exp(0.5 * y * y)"),
    _e("erfinv",     sps.erfinv,          "erfinv(a)",                f"{HALF_SQRT_PI!r} * exp(y * y)"),
    # The two sides of a scalar where(c, x, z) as compiled code writes it (never traced
    # from user code; tape_compiler.scalar_ops): where_taken(c, x) + where_other(c, z).
    # Each is exactly 0.0 on its untaken side, so an inf or a nan there leaks nothing.
    _e("where_taken", _where_taken,       "select(a != 0.0, b, 0.0)", None,                                      "select(a != 0.0, 1.0, 0.0)"),
    _e("where_other", _where_other,       "select(a != 0.0, 0.0, b)", None,                                      "select(a != 0.0, 0.0, 1.0)"),
    # An adjoint times a partial, as the nested (recorded) reverse sweeps write each
    # contribution (numad/nested.py; never traced from user code): the "strong zero"
    # product, exactly 0.0 where the adjoint a is 0, even against an inf or a nan partial
    # b (an untaken ``where`` branch's), as the compiled sweeps' g * d is. Its
    # derivative keeps that rule (its b's zero partial is strong: STRONG_ZERO): a zero
    # a passes nothing of b's tangent on, while b's value still meets a's tangent (a
    # zero adjoint that varies keeps its second-order term).
    _e("adjoint_mul", _adjoint_mul,       "select(a != 0.0, a * b, 0.0)", "b",                                   "a"),
    # Pass-throughs: the value of the input, with derivative one (copy) or zero (stop).
    _e("copy",       np.positive,         "a",                        "1.0"),
    _e("stop_gradient", np.positive,      "a",                        None),
    # Step functions: zero derivative everywhere (and undefined at the jumps).
    _e("sign",       np.sign,             "sign(a)",                  None),
    _e("floor",      np.floor,            "floor(a)",                 None),
    _e("ceil",       np.ceil,             "ceil(a)",                  None),
    _e("round",      np.rint,             "rint(a)",                  None),
    _e("trunc",      np.trunc,            "trunc(a)",                 None),
    _e("floor_divide", np.floor_divide,   "floor_divide(a, b)",       None,                                      None),
    # Comparisons and logic give 0.0 or 1.0 masks with zero derivative.
    _e("greater",    np.greater,          "select(a > b, 1.0, 0.0)",  None,                                      None),
    _e("greater_equal", np.greater_equal, "select(a >= b, 1.0, 0.0)", None,                                      None),
    _e("less",       np.less,             "select(a < b, 1.0, 0.0)",  None,                                      None),
    _e("less_equal", np.less_equal,       "select(a <= b, 1.0, 0.0)", None,                                      None),
    _e("equal",      np.equal,            "select(a == b, 1.0, 0.0)", None,                                      None),
    _e("not_equal",  np.not_equal,        "select(a != b, 1.0, 0.0)", None,                                      None),
    _e("logical_and", np.logical_and,     "select(a != 0.0 and b != 0.0, 1.0, 0.0)", None,                      None),
    _e("logical_or", np.logical_or,       "select(a != 0.0 or b != 0.0, 1.0, 0.0)", None,                       None),
    _e("logical_xor", np.logical_xor,     "select((a != 0.0) != (b != 0.0), 1.0, 0.0)", None,                   None),
    _e("logical_not", np.logical_not,     "select(a == 0.0, 1.0, 0.0)", None),
    _e("isnan",      np.isnan,            "select(a != a, 1.0, 0.0)", None),
    _e("isfinite",   np.isfinite,         "select(abs(a) < np.inf, 1.0, 0.0)", None),
]
# fmt: on

# What else each row carries, one line per row (a check below ties it to the rows):
#   * the ufuncs that mean it: a NumPy or SciPy call of any of them on a traced value or a
#     Dual is this row (``numpy_dispatch.UFUNCS`` and ``Dual``'s dispatch are built from this
#     column; ufuncs that are compositions of rows are in ``numad/compositions.py``);
#   * per input, whether its partial may be inf or nan at a finite input: MAYBE_INF when
#     some finite (a, b) makes it inf or nan, overflow included (exp's ``y`` at a = 1000,
#     square's ``2 a`` at 1e308), FINITE when it is finite at every finite input (an
#     identically-zero partial is FINITE). Overflow counts although the value overflows
#     there too, because ``where`` evaluates its untaken branch: there the value may be
#     inf harmlessly, and a sweep that multiplies the zero adjoint by the partial gets
#     nan for an inf partial unless it tests the adjoint; the compiled tapes and the
#     fused loops test only at the MAYBE_INF partials (the test costs). (The nested
#     sweeps, numad/nested.py, write every contribution as ``adjoint_mul``, whose value
#     is exactly 0 where the adjoint is: a value that is inf in an untaken branch, such
#     as log(0) as mul's partial, makes any partial inf.) tests/test_optable_complete.py
#     checks both ways on a grid of finite points;
#   * what it computes, in one line.
MAYBE_INF, FINITE = True, False
_I, _F = MAYBE_INF, FINITE

# The inputs whose zero partial is a "strong zero": there the input's term is exactly 0
# in every sweep, even against an inf or a nan tangent or adjoint (which would make it
# 0 * inf = nan), as it is for a zero tangent or adjoint in any row. Only adjoint_mul's
# b has one: its partial is the adjoint a, and a zero adjoint contributes nothing, in
# value or in derivative. The sweeps (numad/_codegen.py's kernels, numad/kernels.py's
# scalar paths, numad/tape_compiler.py's tangent code) test such a partial for 0. Every
# other input's zero partial is an ordinary number: sqrt(x) * sqrt(x) at 0 has the
# partial 0 times the tangent inf, and its derivative is not 0.
_STRONG_ZERO = {"adjoint_mul": (False, True)}

# fmt: off
_FACTS = {
    # name           ufuncs                            d/da d/db  meaning
    "neg":           ((np.negative,),                  (_F,),     "-a"),
    "add":           ((np.add,),                       (_F, _F),  "a + b"),
    "sub":           ((np.subtract,),                  (_F, _F),  "a - b"),
    "mul":           ((np.multiply,),                  (_F, _F),  "a * b"),
    "div":           ((np.true_divide,),               (_I, _I),  "a / b (np.divide is np.true_divide)"),
    "pow":           ((np.power, np.float_power),      (_I, _I),  "a ** b; its slope in b is 0 at a = 0, nan at a < 0"),
    "square":        ((np.square,),                    (_I,),     "a * a"),
    "reciprocal":    ((np.reciprocal,),                (_I,),     "1 / a"),
    "sqrt":          ((np.sqrt,),                      (_I,),     "square root; sqrt'(0) = inf"),
    "cbrt":          ((np.cbrt,),                      (_I,),     "real cube root, negative a included"),
    "exp":           ((np.exp,),                       (_I,),     "e ** a"),
    "expm1":         ((np.expm1,),                     (_I,),     "e ** a - 1, exact near 0"),
    "log":           ((np.log,),                       (_I,),     "natural logarithm"),
    "log1p":         ((np.log1p,),                     (_I,),     "log(1 + a), exact near 0"),
    "log2":          ((np.log2,),                      (_I,),     "base-2 logarithm"),
    "log10":         ((np.log10,),                     (_I,),     "base-10 logarithm"),
    "sin":           ((np.sin,),                       (_F,),     "sine"),
    "cos":           ((np.cos,),                       (_F,),     "cosine"),
    "tan":           ((np.tan,),                       (_F,),     "tangent (|tan| < 2e16 at floats: 1 + y * y is finite)"),
    "arcsin":        ((np.arcsin,),                    (_I,),     "inverse sine, in [-pi/2, pi/2]"),
    "arccos":        ((np.arccos,),                    (_I,),     "inverse cosine, in [0, pi]"),
    "arctan":        ((np.arctan,),                    (_F,),     "inverse tangent"),
    "sinh":          ((np.sinh,),                      (_I,),     "hyperbolic sine"),
    "cosh":          ((np.cosh,),                      (_I,),     "hyperbolic cosine"),
    "tanh":          ((np.tanh,),                      (_F,),     "hyperbolic tangent"),
    "arcsinh":       ((np.arcsinh,),                   (_F,),     "inverse hyperbolic sine"),
    "arccosh":       ((np.arccosh,),                   (_I,),     "inverse hyperbolic cosine, a >= 1"),
    "arctanh":       ((np.arctanh,),                   (_I,),     "inverse hyperbolic tangent, |a| < 1"),
    "arctan2":       ((np.arctan2,),                   (_I, _I),  "the angle of the point (b, a), in [-pi, pi]"),
    "hypot":         ((np.hypot,),                     (_F, _F),  "sqrt(a * a + b * b) without overflow; slope 0 at 0"),
    "copysign":      ((np.copysign,),                  (_F, _F),  "|a| with the sign (bit) of b; slope 0 at a = 0, none in b"),
    "abs":           ((np.abs, np.fabs),               (_F,),     "|a| (np.absolute is np.abs); abs'(0) = 0"),
    "maximum":       ((np.maximum,),                   (_F, _F),  "the larger, a NaN wins; a tie gives 1/2 to each"),
    "minimum":       ((np.minimum,),                   (_F, _F),  "the smaller, a NaN wins; a tie gives 1/2 to each"),
    "mod":           ((np.mod,),                       (_F, _I),  "a - b * floor(a / b) (np.remainder is np.mod)"),
    "erf":           ((sps.erf,),                      (_F,),     "the error function"),
    "erfc":          ((sps.erfc,),                     (_F,),     "1 - erf(a), exact for large a"),
    "ndtr":          ((sps.ndtr,),                     (_F,),     "the standard normal CDF (nd.norm_cdf)"),
    "expit":         ((sps.expit,),                    (_F,),     "the logistic sigmoid 1 / (1 + e ** -a)"),
    "sinc":          ((),                              (_I,),     "sin(pi a) / (pi a), 1 at 0 (np.sinc is no ufunc: FUNCTION_ROWS)"),
    "fmod":          ((np.fmod,),                      (_F, _I),  "a - b * trunc(a / b), with a's sign (C's fmod)"),
    "heaviside":     ((np.heaviside,),                 (_F, _F),  "0 below 0, 1 above, b at 0: slope 0 in a, 1 in b at a = 0"),
    "gammaln":       ((sps.gammaln,),                  (_I,),     "log |Gamma(a)|"),
    "gamma":         ((sps.gamma,),                    (_I,),     "the gamma function"),
    "digamma":       ((sps.digamma,),                  (_I,),     "d/da log |Gamma(a)| (scipy.special.psi is this ufunc)"),
    "polygamma":     ((),                              (_F, _I),  "psi^(n)(b), n = rint(a) >= 1: digamma's derivatives (no ufunc)"),
    "xlogy":         ((sps.xlogy,),                    (_I, _I),  "a log(b), 0 at a = 0 (unless b is nan)"),
    "xlog1py":       ((sps.xlog1py,),                  (_I, _I),  "a log1p(b), 0 at a = 0 (unless b is nan)"),
    "logit":         ((sps.logit,),                    (_I,),     "log(a / (1 - a)), the inverse of expit"),
    "erfcx":         ((sps.erfcx,),                    (_I,),     "exp(a ** 2) erfc(a), without overflow or underflow"),
    "log_ndtr":      ((sps.log_ndtr,),                 (_I,),     "log of the standard normal CDF, exact far into the lower tail"),
    "ndtri":         ((sps.ndtri,),                    (_I,),     "the standard normal quantile, the inverse of ndtr"),
    "erfinv":        ((sps.erfinv,),                   (_I,),     "the inverse of erf"),
    "where_taken":   ((),                              (_F, _F),  "b where a != 0, else 0 (one side of a compiled scalar where)"),
    "where_other":   ((),                              (_F, _F),  "b where a == 0, else 0 (the other side of a compiled scalar where)"),
    "adjoint_mul":   ((),                              (_F, _F),  "a * b, exactly 0 where a == 0 (an adjoint times a partial, nested sweeps)"),
    "copy":          ((np.positive, np.conjugate),     (_F,),     "a (conjugate too: complex values are refused)"),
    "stop_gradient": ((),                              (_F,),     "a, with zero derivative (nd.stop_gradient)"),
    "sign":          ((np.sign,),                      (_F,),     "-1, 0 or 1"),
    "floor":         ((np.floor,),                     (_F,),     "the largest integer <= a"),
    "ceil":          ((np.ceil,),                      (_F,),     "the smallest integer >= a"),
    "round":         ((np.rint,),                      (_F,),     "nearest integer, ties to even (np.round: recording.around)"),
    "trunc":         ((np.trunc,),                     (_F,),     "a rounded towards 0"),
    "floor_divide":  ((np.floor_divide,),              (_F, _F),  "floor(a / b)"),
    "greater":       ((np.greater,),                   (_F, _F),  "a > b as 0.0 or 1.0"),
    "greater_equal": ((np.greater_equal,),             (_F, _F),  "a >= b as 0.0 or 1.0"),
    "less":          ((np.less,),                      (_F, _F),  "a < b as 0.0 or 1.0"),
    "less_equal":    ((np.less_equal,),                (_F, _F),  "a <= b as 0.0 or 1.0"),
    "equal":         ((np.equal,),                     (_F, _F),  "a == b as 0.0 or 1.0"),
    "not_equal":     ((np.not_equal,),                 (_F, _F),  "a != b as 0.0 or 1.0"),
    "logical_and":   ((np.logical_and,),               (_F, _F),  "a and b (nonzero is true) as 0.0 or 1.0"),
    "logical_or":    ((np.logical_or,),                (_F, _F),  "a or b as 0.0 or 1.0"),
    "logical_xor":   ((np.logical_xor,),               (_F, _F),  "exactly one of a, b as 0.0 or 1.0"),
    "logical_not":   ((np.logical_not,),               (_F,),     "not a as 0.0 or 1.0"),
    "isnan":         ((np.isnan,),                     (_F,),     "a is NaN, as 0.0 or 1.0"),
    "isfinite":      ((np.isfinite,),                  (_F,),     "a is neither inf nor NaN, as 0.0 or 1.0"),
}
# fmt: on
del _I, _F

# Structural primitives: each names, per sweep, the hand-written kernel of
# numad/structural_kernels.py that does its step (the sweeps' dispatch on the opcode is
# generated from these rows: numad/_generated/sweeps.py), or one of:
NOTHING = "nothing"    # no work in this sweep: the values are set from outside (input,
#                        const) or are a window of another entry's (alias)
OUTSIDE = "outside"    # computed between the sweeps (a loop by numad/scan_kernels.py, a
#                        custom rule by numad/custom.py): the forward sweep stops there and
#                        reports it, the other sweeps pass over it
LINEAR = "linear"      # (hvp) the reverse step, applied to the adjoints and to their
#                        tangents alike: ops linear in their array inputs, and the
#                        piecewise-linear max, min and sort
UNSUPPORTED = ""       # the sweep cannot take it (hvp: the tape takes another way,
#                        numad/adapters.py)


@dataclass(frozen=True)
class Structural:
    """One structural primitive: its name, its arity (-1: variadic, the inputs listed in
    the entry's integer parameters), what it computes, and its kernel in each sweep
    (forward values, reverse adjoints (vjp), tangents (jvp), and the reverse pass of the
    Hessian-vector sweep)."""

    name: str
    arity: int
    doc: str
    forward: str
    reverse: str
    tangent: str
    hvp: str = UNSUPPORTED
    nested: str = ""         # its reverse rule on traced values in numad/nested.py
    opcode: int = -1

    def __iter__(self):
        """``name, arity, doc = row``, as when the rows were tuples."""
        return iter((self.name, self.arity, self.doc))


def _s(name, arity, doc, forward, reverse, tangent, hvp, nested):
    return Structural(name, arity, doc, forward, reverse, tangent, hvp, nested)


_NONE4 = (NOTHING, NOTHING, NOTHING, NOTHING)

# fmt: off
_STRUCTURAL_ROWS = [
    #   name, arity, meaning
    #   forward            reverse               tangent               hvp, nested
    _s("input", 0, "an input of the tape: its value is set from the arguments",
       *_NONE4, "rule_nothing"),
    _s("const", 0, "a constant recorded at trace time",
       *_NONE4, "rule_nothing"),
    _s("alias", 1, "a contiguous window of its input's buffer (reshape, 1-D slice): no work",
       *_NONE4, "rule_alias"),
    _s("where", 3, "select(cond, a, b) elementwise; the untaken side gets no derivative",
       "forward_where",    "reverse_where",      "tangent_where",      LINEAR, "rule_where"),
    _s("gather", 1, "y[k] = a[index[k]]: indexing, slicing with steps, transposes, broadcasts",
       "forward_gather",   "reverse_gather",     "tangent_gather",     LINEAR, "rule_gather"),
    _s("scatter_set", 2, "y = a with y[index[k]] = b[k]",
       "forward_scatter",  "reverse_scatter",    "tangent_scatter",    LINEAR, "rule_scatter"),
    _s("scatter_add", 2, "y = a with y[index[k]] += b[k]",
       "forward_scatter",  "reverse_scatter",    "tangent_scatter",    LINEAR, "rule_scatter"),
    _s("sum", 1, "sum over the middle axis of a (pre, n, post) view",
       "forward_reduce",   "reverse_sum",        "tangent_reduce",     LINEAR, "rule_reduce"),
    _s("prod", 1, "product over the middle axis of a (pre, n, post) view",
       "forward_reduce",   "reverse_reduce",     "tangent_reduce", UNSUPPORTED, "rule_reduce"),
    _s("amax", 1, "maximum over the middle axis; ties share the derivative equally",
       "forward_reduce",   "reverse_reduce",     "tangent_reduce",     LINEAR, "rule_reduce"),
    _s("amin", 1, "minimum over the middle axis; ties share the derivative equally",
       "forward_reduce",   "reverse_reduce",     "tangent_reduce",     LINEAR, "rule_reduce"),
    _s("cumsum", 1, "cumulative sum along the middle axis",
       "forward_cumulative", "reverse_cumulative", "tangent_cumulative", LINEAR, "rule_cumsum"),
    _s("cumprod", 1, "cumulative product along the middle axis",
       "forward_cumulative", "reverse_cumulative", "tangent_cumulative", UNSUPPORTED, "rule_cumprod"),
    _s("matmul", 2, "batched matrix product (B, m, k) @ (B, k, n)",
       "forward_matmul",   "reverse_matmul",     "tangent_matmul",     "hvp_matmul", "rule_matmul"),
    _s("concat", -1, "concatenation of its inputs along the middle axis",
       "forward_concat",   "reverse_concat",     "tangent_concat",     LINEAR, "rule_concat"),
    _s("sort", 1, "sort along the middle axis; the permutation is kept for the reverse",
       "forward_sort",     "reverse_sort",       "tangent_sort",       LINEAR, "rule_sort"),
    _s("solve", 2, "x = solve(A, B) for a square A and B of shape (n, k)",
       "forward_solve",    "reverse_solve",      "tangent_solve", UNSUPPORTED, "rule_solve"),
    _s("inv", 1, "inverse of a square matrix",
       "forward_inv",      "reverse_inv",        "tangent_inv", UNSUPPORTED, "rule_inv"),
    _s("slogdet", 1, "[sign(det A), log |det A|] of a square matrix",
       "forward_slogdet",  "reverse_slogdet",    "tangent_slogdet", UNSUPPORTED, "rule_slogdet"),
    _s("cholesky", 1, "lower Cholesky factor of a symmetric positive definite matrix",
       "forward_cholesky", "reverse_cholesky",   "tangent_cholesky", UNSUPPORTED, "rule_cholesky"),
    _s("eigh", 1, "[eigenvalues, eigenvectors] of the symmetric matrix its lower (params: "
                  "n, upper=0) or upper (upper=1) triangle gives",
       "forward_eigh",     "reverse_eigh",       "tangent_eigh", UNSUPPORTED, "rule_eigh"),
    _s("guard", 1, "checks that its input still has the recorded value (a branch decision)",
       "forward_guard",    NOTHING,              "tangent_guard",      NOTHING, "rule_nothing"),
    _s("scan", 0, "a loop's results [final carry, stacked outputs]: the scan driver computes "
                  "it from the loop body just before it (numad/scan_kernels.py)",
       OUTSIDE,            OUTSIDE,              OUTSIDE, UNSUPPORTED, OUTSIDE),
    _s("det", 1, "det A of a square matrix; its derivative is the cofactor matrix, which "
                 "exists at singular A too (det is not exp(logabsdet) there)",
       "forward_det",      "reverse_det",        "tangent_det", UNSUPPORTED, "rule_det"),
    _s("custom", -1, "a function with a derivative rule of its own (nd.custom_vjp, "
                     "nd.custom_jvp, nd.primitive): its rule runs between the sweeps over "
                     "the entries around it (numad/custom.py)",
       OUTSIDE,            OUTSIDE,              OUTSIDE, UNSUPPORTED, OUTSIDE),
]
# fmt: on
SWEEPS = ("forward", "reverse", "tangent", "hvp")


def _with_facts(code, row):
    """``row`` with its opcode and its line of ``_FACTS``, checked against each other."""
    ufuncs, flags, doc = _FACTS[row.name]
    if len(flags) != row.arity or not all(f in (MAYBE_INF, FINITE) for f in flags):
        raise AssertionError(f"optable: {row.name!r} needs one MAYBE_INF/FINITE flag per input")
    if any(d is None and f is MAYBE_INF for d, f in zip(row.partials, flags)):
        raise AssertionError(f"optable: {row.name!r} flags an identically-zero partial MAYBE_INF")
    strong = _STRONG_ZERO.get(row.name, (False,) * row.arity)
    if len(strong) != row.arity or any(d is None and z for d, z in zip(row.partials, strong)):
        raise AssertionError(f"optable: {row.name!r} needs one strong-zero flag per input, "
                             "and none for an identically-zero partial")
    return replace(row, opcode=code, ufuncs=ufuncs, may_be_infinite=flags, doc=doc,
                   strong_zero=strong)


if [r.name for r in _ELEMENTWISE_ROWS] != list(_FACTS):
    raise AssertionError("optable: _FACTS must have one line per elementwise row, in order")
if not set(_STRONG_ZERO) <= set(_FACTS):
    raise AssertionError("optable: _STRONG_ZERO names a row that does not exist")
ELEMENTWISE = [_with_facts(code, row) for code, row in enumerate(_ELEMENTWISE_ROWS)]

ELEMENTWISE_BY_NAME = {p.name: p for p in ELEMENTWISE}


def _function_of_row(row):
    """``fn`` where the row's value is ``fn(a)`` or ``fn(a, b)``, else None."""
    call = ast.parse(row.value, mode="eval").body
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and [getattr(x, "id", None) for x in call.args] == ["a", "b"][:row.arity]):
        return call.func.id
    return None


# Function names that partial and value expressions may use, with what they mean in the
# compiled kernels: the function of every row whose value is ``fn(a)`` or ``fn(a, b)``
# (so a row is all it takes to make a function usable in partials), spelled ``np.fn``
# (numba accepts NumPy ufuncs on scalars) except where numba needs another spelling
# (``math``'s, or the inlined kernel code above for what numba lacks); and the
# branch-free ``select``. ``ROW_OF_FUNCTION`` gives the row of each, whose NumPy
# function is its meaning on arrays (``Dual``).
_KERNEL_SPELLING = {"erf": "math.erf", "erfc": "math.erfc", "gammaln": "math.lgamma",
                    "gamma": "math.gamma"}
# The kernel code's functions are compiled once each, in numad/_generated/special.py
# (written by numad/_codegen.py from SPECIAL_FUNCTIONS), and the kernels call them there:
# inlined into every case of every sweep, numba compiled each of them dozens of times.
SPECIAL_FUNCTIONS = {fn: _inline(_KERNEL_CODE[fn])
                     for fn in ("digamma", "polygamma", "erfcx", "ndtri", "erfinv")}
_KERNEL_SPELLING.update((fn, f"special.{fn}") for fn in SPECIAL_FUNCTIONS)
ROW_OF_FUNCTION = {fn: row for row in ELEMENTWISE if (fn := _function_of_row(row))}
EXPRESSION_FUNCTIONS = {fn: _KERNEL_SPELLING.get(fn, f"np.{fn}") for fn in ROW_OF_FUNCTION}
EXPRESSION_FUNCTIONS["select"] = "select"
N_ELEMENTWISE = len(ELEMENTWISE)

# Rows whose values on long arrays are NumPy's own loop (``numad/numpy_loops.py``), in
# the generic forward sweep and the fused loops alike: NumPy computes these with SIMD
# (AVX2/AVX-512) where numba calls libm one element at a time. Measured on 10^5
# doubles (AMD EPYC, AVX-512): tanh 1.7 against 14.7 ns an element, exp 0.9 against
# 6.3, log 0.8 against 3.5, the others of the set 4x to 16x; sin, cos, erf, ndtr and
# the rest run at numba's speed there, so they stay numba loops. NumPy's results are
# within 3 ulp of libm's, and they are what tracing computes (each row's ``numpy``), so
# a replay now gives the traced value to the last bit. Below ``NUMPY_LOOP_MIN``
# elements the call into Python (about 3 us) costs more than it saves.
NUMPY_LOOP_ROWS = frozenset({"cbrt", "exp", "expm1", "log", "log1p", "log2", "log10", "tan",
                             "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh",
                             "arccosh", "arctanh"})
NUMPY_LOOP_MIN = 1024
NUMPY_LOOP = np.array([p.name in NUMPY_LOOP_ROWS for p in ELEMENTWISE])
if any(ELEMENTWISE_BY_NAME[name].arity != 1 for name in NUMPY_LOOP_ROWS):
    raise AssertionError("optable: NUMPY_LOOP_ROWS holds unary rows only")

# Ufunc -> the name of the row it means: the tracer's and Dual's dispatch.
UFUNC_ROWS = {u: p.name for p in ELEMENTWISE for u in p.ufuncs}
if len(UFUNC_ROWS) != sum(len(p.ufuncs) for p in ELEMENTWISE):
    raise AssertionError("optable: a ufunc is listed by two elementwise rows")
# NumPy functions that are no ufuncs but one row elementwise: the tracer's
# (numpy_dispatch.FUNCTIONS) and Dual's __array_function__ dispatch.
FUNCTION_ROWS = {np.sinc: "sinc"}

# Opcodes: elementwise first (so `op < N_ELEMENTWISE` tests the kind), then structural.
OPCODES = {p.name: p.opcode for p in ELEMENTWISE}
STRUCTURAL = [replace(row, opcode=N_ELEMENTWISE + k) for k, row in enumerate(_STRUCTURAL_ROWS)]
STRUCTURAL_BY_NAME = {s.name: s for s in STRUCTURAL}
OPCODES.update((s.name, s.opcode) for s in STRUCTURAL)
OPNAMES = {code: name for name, code in OPCODES.items()}
N_OPS = len(OPCODES)

ARITY = np.array([p.arity for p in ELEMENTWISE] + [s.arity for s in STRUCTURAL], dtype=np.int64)
# Which elementwise ops have an identically-zero derivative in every input.
ZERO_DERIVATIVE = np.array(
    [all(d is None for d in p.partials) for p in ELEMENTWISE] + [False] * len(STRUCTURAL)
)


def opcode(name):
    """The integer opcode of the primitive called ``name``."""
    return OPCODES[name]
