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
  ``ufuncs``, and the nested sweeps' masking of inf partials from its
  ``may_be_infinite`` flags (both in ``_FACTS``, with a one-line ``doc``).

A partial of ``None`` means "identically zero" (``floor``, comparisons): the sweeps
skip it instead of multiplying by zero. Partials are written so that they hold at every
point with the conventions of API.md: ``abs'(0) = 0``, ``sqrt'(0) = inf``, zero slope
for the step functions, ``maximum``/``minimum`` give 1/2 to each side at a tie (the
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
import math
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


def _e(name, numpy_fn, value, *partials):
    return Elementwise(name, len(partials), numpy_fn, value, tuple(partials))


def _sqrt2_expr(x):
    return f"({x}) / {SQRT2!r}"


# fmt: off
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
#     inf harmlessly, and the nested sweeps (numad/nested.py) multiply the zero adjoint
#     by the partial, which is nan for an inf partial unless masked; they mask only the
#     MAYBE_INF partials (the masking costs entries). tests/test_optable_complete.py
#     checks both ways on a grid of finite points;
#   * what it computes, in one line.
MAYBE_INF, FINITE = True, False
_I, _F = MAYBE_INF, FINITE

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
    return replace(row, opcode=code, ufuncs=ufuncs, may_be_infinite=flags, doc=doc)


if [r.name for r in _ELEMENTWISE_ROWS] != list(_FACTS):
    raise AssertionError("optable: _FACTS must have one line per elementwise row, in order")
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
# (numba accepts NumPy ufuncs on scalars) except where numba needs another spelling;
# and the branch-free ``select``. ``ROW_OF_FUNCTION`` gives the row of each.
_KERNEL_SPELLING = {"erf": "math.erf", "erfc": "math.erfc"}
ROW_OF_FUNCTION = {fn: row for row in ELEMENTWISE if (fn := _function_of_row(row))}
EXPRESSION_FUNCTIONS = {fn: _KERNEL_SPELLING.get(fn, f"np.{fn}") for fn in ROW_OF_FUNCTION}
EXPRESSION_FUNCTIONS["select"] = "select"
N_ELEMENTWISE = len(ELEMENTWISE)

# Ufunc -> the name of the row it means: the tracer's and Dual's dispatch.
UFUNC_ROWS = {u: p.name for p in ELEMENTWISE for u in p.ufuncs}
if len(UFUNC_ROWS) != sum(len(p.ufuncs) for p in ELEMENTWISE):
    raise AssertionError("optable: a ufunc is listed by two elementwise rows")

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
