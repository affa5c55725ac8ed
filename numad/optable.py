"""The op table: every primitive numad records, defined once.

This module is the ground floor of numad: it imports nothing from the rest of the
package. Each elementwise primitive is one row: its name, its arity, the NumPy function
that computes it while tracing, the scalar formula the compiled kernels use, and its
local partial derivatives written in terms of the inputs ``a``, ``b`` and the output
``y``. From these rows

* ``numad/_codegen.py`` writes the elementwise part of ``numad/kernels.py`` (forward
  values with stored partials, reverse adjoints, forward tangents), so a formula exists
  in exactly one place;
* the tracer evaluates values with the NumPy function at trace time;
* ``Dual`` numbers and nested (higher-order) derivatives evaluate the same partial
  expressions on their own number types.

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
written as one scalar formula; they are listed in ``STRUCTURAL`` with their arity and a
one-line meaning, and each has its own hand-written block in every sweep. A test
checks that every sweep handles every opcode.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.special as sps

# Function names that partial and value expressions may use, with what they mean in
# the compiled kernels (numba accepts NumPy ufuncs on scalars).
EXPRESSION_FUNCTIONS = {
    "exp": "np.exp", "expm1": "np.expm1", "log": "np.log", "log1p": "np.log1p",
    "log2": "np.log2", "log10": "np.log10", "sqrt": "np.sqrt", "cbrt": "np.cbrt",
    "sin": "np.sin", "cos": "np.cos", "tan": "np.tan", "arcsin": "np.arcsin",
    "arccos": "np.arccos", "arctan": "np.arctan", "arctan2": "np.arctan2",
    "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh", "arcsinh": "np.arcsinh",
    "arccosh": "np.arccosh", "arctanh": "np.arctanh", "abs": "np.abs",
    "sign": "np.sign", "floor": "np.floor", "ceil": "np.ceil", "rint": "np.rint",
    "trunc": "np.trunc", "erf": "math.erf", "erfc": "math.erfc", "hypot": "np.hypot",
    "mod": "np.mod", "floor_divide": "np.floor_divide",
    "select": "select",
}

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

# Structural primitives: each has its own block in every sweep. Arity -1 is variadic
# (the inputs are listed in the entry's integer parameters).
STRUCTURAL = [
    ("input", 0, "an input of the tape: its value is set from the arguments"),
    ("const", 0, "a constant recorded at trace time"),
    ("alias", 1, "a contiguous window of its input's buffer (reshape, 1-D slice): no work"),
    ("where", 3, "select(cond, a, b) elementwise; the untaken side gets no derivative"),
    ("gather", 1, "y[k] = a[index[k]]: indexing, slicing with steps, transposes, broadcasts"),
    ("scatter_set", 2, "y = a with y[index[k]] = b[k]"),
    ("scatter_add", 2, "y = a with y[index[k]] += b[k]"),
    ("sum", 1, "sum over the middle axis of a (pre, n, post) view"),
    ("prod", 1, "product over the middle axis of a (pre, n, post) view"),
    ("amax", 1, "maximum over the middle axis; ties share the derivative equally"),
    ("amin", 1, "minimum over the middle axis; ties share the derivative equally"),
    ("cumsum", 1, "cumulative sum along the middle axis"),
    ("cumprod", 1, "cumulative product along the middle axis"),
    ("matmul", 2, "batched matrix product (B, m, k) @ (B, k, n)"),
    ("concat", -1, "concatenation of its inputs along the middle axis"),
    ("sort", 1, "sort along the middle axis; the permutation is kept for the reverse"),
    ("solve", 2, "x = solve(A, B) for a square A and B of shape (n, k)"),
    ("inv", 1, "inverse of a square matrix"),
    ("slogdet", 1, "[sign(det A), log |det A|] of a square matrix"),
    ("cholesky", 1, "lower Cholesky factor of a symmetric positive definite matrix"),
    ("eigh", 1, "[eigenvalues, eigenvectors] of the symmetric matrix its lower (params: "
                "n, upper=0) or upper (upper=1) triangle gives"),
    ("guard", 1, "checks that its input still has the recorded value (a branch decision)"),
    ("scan", 0, "a loop's results [final carry, stacked outputs]: the scan driver computes "
                "it from the loop body just before it (numad/scan_kernels.py)"),
    ("det", 1, "det A of a square matrix; its derivative is the cofactor matrix, which "
               "exists at singular A too (det is not exp(logabsdet) there)"),
    ("custom", -1, "a function with a derivative rule of its own (nd.custom_vjp, "
                   "nd.custom_jvp, nd.primitive): its rule runs between the sweeps over "
                   "the entries around it (numad/custom.py)"),
]

ELEMENTWISE = []
for _code, _row in enumerate(_ELEMENTWISE_ROWS):
    ELEMENTWISE.append(Elementwise(_row.name, _row.arity, _row.numpy, _row.value,
                                   _row.partials, _code))
del _code, _row

ELEMENTWISE_BY_NAME = {p.name: p for p in ELEMENTWISE}
N_ELEMENTWISE = len(ELEMENTWISE)

# Opcodes: elementwise first (so `op < N_ELEMENTWISE` tests the kind), then structural.
OPCODES = {p.name: p.opcode for p in ELEMENTWISE}
for _i, (_name, _arity, _doc) in enumerate(STRUCTURAL):
    OPCODES[_name] = N_ELEMENTWISE + _i
del _i, _name, _arity, _doc
OPNAMES = {code: name for name, code in OPCODES.items()}
N_OPS = len(OPCODES)

ARITY = np.array([p.arity for p in ELEMENTWISE] + [a for _, a, _ in STRUCTURAL], dtype=np.int64)
# Which elementwise ops have an identically-zero derivative in every input.
ZERO_DERIVATIVE = np.array(
    [all(d is None for d in p.partials) for p in ELEMENTWISE] + [False] * len(STRUCTURAL)
)


def opcode(name):
    """The integer opcode of the primitive called ``name``."""
    return OPCODES[name]
