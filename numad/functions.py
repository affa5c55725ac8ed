"""The ``nd.*`` elementary functions: one name each for floats, arrays, traced values
and ``Dual`` numbers.

On plain floats and arrays they are NumPy's functions; on traced values they record
on the tape; on ``Dual`` numbers they propagate tangents. The derivative rules come
from the op table (``numad.optable``); nothing here restates one.
"""
from __future__ import annotations

import builtins
import textwrap

import numpy as np

from . import extensions
from . import scipy_functions  # noqa: F401 - scipy.special's logsumexp/softmax on traced values
from . import recording as R
from . import numpy_dispatch as D
from .traced import Traced
from .dual import (Dual, dual_clip, dual_concatenate, dual_dot, dual_elementwise, dual_max,
                   dual_mean, dual_min, dual_prod, dual_stack, dual_sum)
from .optable import ELEMENTWISE_BY_NAME

__all__ = [
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh",
    "arcsinh", "arccosh", "arctanh", "exp", "expm1", "log", "log1p", "log2", "log10",
    "sqrt", "cbrt", "square", "power", "abs", "sign", "floor", "ceil", "round", "trunc",
    "maximum", "minimum", "hypot", "erf", "erfc", "norm_cdf", "expit", "clip", "where",
    "logsumexp", "sum", "prod", "mean", "max", "min", "dot", "matmul", "stack",
    "concatenate", "stop_gradient", "straight_through",
]


def _plain(y):
    return y.item() if isinstance(y, np.ndarray) and y.ndim == 0 else (
        float(y) if isinstance(y, np.floating) else y)


# ---- docstrings -------------------------------------------------------------------------
#
# Every public function gets a numpydoc docstring made from one row of a table below:
# its summary, its derivative (with numad's convention at the points where it has none),
# and an example that the doctests run.

_KINDS = "float, array_like, traced value or Dual"


def _docstring(summary, extended, params, returns, see_also=(), notes="", examples=()):
    """A numpydoc docstring from its parts: ``params`` as ``(name, type, text)`` rows,
    ``returns`` as ``(type, text)``, ``see_also`` as ``(name, text)`` rows and
    ``examples`` as doctest lines (the ``import`` line is added)."""
    def block(text, indent=""):
        return "\n".join(textwrap.fill(para, 88 - len(indent), initial_indent=indent,
                                        subsequent_indent=indent, break_long_words=False,
                                        break_on_hyphens=False)
                         for para in text.strip().split("\n"))

    out = [summary, ""]
    if extended:
        out += [block(extended), ""]
    out += ["Parameters", "----------"]
    for name, kind, text in params:
        out += [f"{name} : {kind}", block(text, "    ")]
    out += ["", "Returns", "-------", returns[0], block(returns[1], "    ")]
    if see_also:
        out += ["", "See Also", "--------"]
        for name, text in see_also:
            out += [f"{name} : {text}" if text else name]
    if notes:
        out += ["", "Notes", "-----", block(notes)]
    if examples:
        out += ["", "Examples", "--------", ">>> import numad as nd, numpy as np"]
        out += list(examples)
    return "\n".join(out) + "\n"


# name -> (summary, what the result is, derivative and conventions, see also, examples)
_ELEMENTWISE_DOCS = {
    "sin": ("Sine, elementwise.", "The sine of ``x`` (radians).",
            "The derivative is ``cos(x)``.", ("cos", "tan"),
            ("nd.sin(0.0)", "0.0", "nd.grad(nd.sin)(0.0)", "1.0")),
    "cos": ("Cosine, elementwise.", "The cosine of ``x`` (radians).",
            "The derivative is ``-sin(x)``.", ("sin", "tan"),
            ("nd.cos(0.0)", "1.0", "nd.grad(nd.cos)(np.pi / 2)", "-1.0")),
    "tan": ("Tangent, elementwise.", "The tangent of ``x`` (radians).",
            "The derivative is ``1 + tan(x)**2``.", ("sin", "cos", "arctan"),
            ("nd.tan(0.0)", "0.0", "nd.grad(nd.tan)(0.0)", "1.0")),
    "arcsin": ("Inverse sine, elementwise.", "The angle in ``[-pi/2, pi/2]`` whose sine is "
               "``x``; ``nan`` outside ``[-1, 1]``.",
               "The derivative is ``1 / sqrt(1 - x**2)``: ``inf`` at ``x = -1`` and ``1``.",
               ("sin", "arccos"),
               ("nd.arcsin(0.0)", "0.0", "nd.grad(nd.arcsin)(0.0)", "1.0")),
    "arccos": ("Inverse cosine, elementwise.", "The angle in ``[0, pi]`` whose cosine is "
               "``x``; ``nan`` outside ``[-1, 1]``.",
               "The derivative is ``-1 / sqrt(1 - x**2)``: ``-inf`` at ``x = -1`` and ``1``.",
               ("cos", "arcsin"),
               ("nd.arccos(1.0)", "0.0", "nd.grad(nd.arccos)(0.0)", "-1.0")),
    "arctan": ("Inverse tangent, elementwise.", "The angle in ``(-pi/2, pi/2)`` whose "
               "tangent is ``x``.", "The derivative is ``1 / (1 + x**2)``.",
               ("tan", "arctan2"),
               ("nd.arctan(0.0)", "0.0", "nd.grad(nd.arctan)(1.0)", "0.5")),
    "arctan2": ("Angle of the point ``(x2, x1)``, elementwise (the quadrant-aware "
                "``arctan(x1 / x2)``).", "The angle in ``[-pi, pi]``.",
                "The partial derivatives are ``x2 / (x1**2 + x2**2)`` in ``x1`` and "
                "``-x1 / (x1**2 + x2**2)`` in ``x2``; both are ``nan`` at the origin.",
                ("arctan", "hypot"),
                ("nd.arctan2(0.0, 1.0)", "0.0",
                 "nd.grad(nd.arctan2, argnums=(0, 1))(1.0, 1.0)", "(0.5, -0.5)")),
    "sinh": ("Hyperbolic sine, elementwise.", "The hyperbolic sine of ``x``.",
             "The derivative is ``cosh(x)``.", ("cosh", "arcsinh"),
             ("nd.sinh(0.0)", "0.0", "nd.grad(nd.sinh)(0.0)", "1.0")),
    "cosh": ("Hyperbolic cosine, elementwise.", "The hyperbolic cosine of ``x``.",
             "The derivative is ``sinh(x)``.", ("sinh", "arccosh"),
             ("nd.cosh(0.0)", "1.0", "nd.grad(nd.cosh)(0.0)", "0.0")),
    "tanh": ("Hyperbolic tangent, elementwise.", "The hyperbolic tangent of ``x``.",
             "The derivative is ``1 - tanh(x)**2``.", ("expit", "arctanh"),
             ("nd.tanh(0.0)", "0.0", "nd.grad(nd.tanh)(0.0)", "1.0")),
    "arcsinh": ("Inverse hyperbolic sine, elementwise.", "The inverse hyperbolic sine of "
                "``x``.", "The derivative is ``1 / sqrt(x**2 + 1)``.", ("sinh",),
                ("nd.arcsinh(0.0)", "0.0", "nd.grad(nd.arcsinh)(0.0)", "1.0")),
    "arccosh": ("Inverse hyperbolic cosine, elementwise.", "The inverse hyperbolic cosine "
                "of ``x`` (``>= 0``); ``nan`` for ``x < 1``.",
                "The derivative is ``1 / sqrt(x**2 - 1)``: ``inf`` at ``x = 1``.",
                ("cosh",),
                ("nd.arccosh(1.0)", "0.0",
                 "bool(nd.grad(nd.arccosh)(2.0) == 1 / np.sqrt(3.0))", "True")),
    "arctanh": ("Inverse hyperbolic tangent, elementwise.", "The inverse hyperbolic "
                "tangent of ``x``; ``nan`` for ``|x| > 1``.",
                "The derivative is ``1 / (1 - x**2)``: ``inf`` at ``x = -1`` and ``1``.",
                ("tanh",),
                ("nd.arctanh(0.0)", "0.0", "nd.grad(nd.arctanh)(0.5)", "1.3333333333333333")),
    "exp": ("Exponential, elementwise.", "``e**x``.", "The derivative is ``exp(x)``.",
            ("expm1", "log", "logsumexp"),
            ("nd.exp(0.0)", "1.0", "nd.grad(nd.exp)(0.0)", "1.0")),
    "expm1": ("``exp(x) - 1``, elementwise, accurate for small ``x``.", "``e**x - 1``.",
              "The derivative is ``exp(x)``.", ("exp", "log1p"),
              ("nd.expm1(0.0)", "0.0", "nd.grad(nd.expm1)(0.0)", "1.0")),
    "log": ("Natural logarithm, elementwise.", "``ln(x)``: ``-inf`` at 0, ``nan`` below.",
            "The derivative is ``1 / x``: ``inf`` at ``x = 0``.",
            ("exp", "log1p", "log2", "log10"),
            ("nd.log(1.0)", "0.0", "nd.grad(nd.log)(4.0)", "0.25")),
    "log1p": ("``log(1 + x)``, elementwise, accurate for small ``x``.", "``ln(1 + x)``.",
              "The derivative is ``1 / (1 + x)``.", ("log", "expm1"),
              ("nd.log1p(0.0)", "0.0", "nd.grad(nd.log1p)(1.0)", "0.5")),
    "log2": ("Base-2 logarithm, elementwise.", "``log2(x)``.",
             "The derivative is ``1 / (x ln 2)``.", ("log", "log10"),
             ("nd.log2(8.0)", "3.0", "bool(nd.grad(nd.log2)(1.0) == 1 / np.log(2.0))",
              "True")),
    "log10": ("Base-10 logarithm, elementwise.", "``log10(x)``.",
              "The derivative is ``1 / (x ln 10)``.", ("log", "log2"),
              ("nd.log10(100.0)", "2.0", "bool(nd.grad(nd.log10)(1.0) == 1 / np.log(10.0))",
               "True")),
    "sqrt": ("Square root, elementwise.", "The non-negative square root of ``x``; ``nan`` "
             "for ``x < 0``.",
             "The derivative is ``1 / (2 sqrt(x))``; ``sqrt'(0)`` is ``inf``, as in "
             "calculus. Guard a square root whose argument may be 0 with ``nd.where`` "
             "(whose untaken branch never leaks its ``inf`` into the gradient).",
             ("cbrt", "square", "where"),
             ("nd.sqrt(4.0)", "2.0", "nd.grad(nd.sqrt)(4.0)", "0.25",
              "nd.grad(nd.sqrt)(0.0)", "inf")),
    "cbrt": ("Real cube root, elementwise.", "The real cube root of ``x``, negative ``x`` "
             "included.", "The derivative is ``1 / (3 cbrt(x)**2)``: ``inf`` at 0.",
             ("sqrt", "power"),
             ("nd.cbrt(-8.0)", "-2.0", "nd.grad(nd.cbrt)(8.0)", "0.08333333333333333")),
    "square": ("``x * x``, elementwise.", "The square of ``x``.",
               "The derivative is ``2 x``.", ("sqrt", "power"),
               ("nd.square(3.0)", "9.0", "nd.grad(nd.square)(3.0)", "6.0")),
    "power": ("``x1 ** x2``, elementwise.", "``x1`` raised to the power ``x2``.",
              "The partial derivatives are ``x2 * x1**(x2 - 1)`` in ``x1`` (0 where ``x2 "
              "== 0``) and ``x1**x2 * ln(x1)`` in ``x2``, which is 0 at ``x1 = 0`` and "
              "``nan`` for ``x1 < 0``.", ("square", "sqrt", "exp"),
              ("nd.power(2.0, 3.0)", "8.0",
               "nd.grad(nd.power)(2.0, 3.0)", "12.0")),
    "abs": ("Absolute value, elementwise.", "``|x|``.",
            "The derivative is ``sign(x)``; at the kink ``abs'(0) = 0`` (numad's "
            "convention: the subgradient 0).", ("sign", "maximum"),
            ("nd.abs(-2.0)", "2.0", "nd.grad(nd.abs)(-2.0), nd.grad(nd.abs)(0.0)",
             "(-1.0, 0.0)")),
    "sign": ("Sign, elementwise: -1, 0 or 1.", "-1 where ``x < 0``, 0 at 0, 1 where "
             "``x > 0`` (``nan`` for ``nan``).",
             "A step function: its derivative is zero everywhere (the jump at 0 included).",
             ("abs",), ("nd.sign(-2.0)", "-1.0", "nd.grad(nd.sign)(-2.0)", "0.0")),
    "floor": ("Floor, elementwise: the largest integer ``<= x``.", "The floor of ``x``, "
              "as a float.",
              "A step function: its derivative is zero everywhere (the jumps included). "
              "Use ``nd.straight_through(nd.floor)`` for a derivative of one instead.",
              ("ceil", "trunc", "round", "straight_through"),
              ("nd.floor(2.7)", "2.0", "nd.grad(nd.floor)(2.7)", "0.0")),
    "ceil": ("Ceiling, elementwise: the smallest integer ``>= x``.", "The ceiling of "
             "``x``, as a float.",
             "A step function: its derivative is zero everywhere (the jumps included).",
             ("floor", "trunc", "round"),
             ("nd.ceil(2.2)", "3.0", "nd.grad(nd.ceil)(2.2)", "0.0")),
    "round": ("Round to the nearest integer (or to ``decimals``), elementwise, ties to "
              "even (``np.round``).",
              "``x`` rounded to the nearest integer, as a float (half-way cases to the "
              "even one), or to ``decimals`` decimals as ``np.round`` does.",
              "A step function: its derivative is zero everywhere (the jumps included).",
              ("floor", "ceil", "trunc"),
              ("nd.round(2.5), nd.round(3.5)", "(2.0, 4.0)", "nd.grad(nd.round)(2.7)",
               "0.0")),
    "trunc": ("Truncate towards zero, elementwise.", "``x`` with its fractional part "
              "dropped, as a float.",
              "A step function: its derivative is zero everywhere (the jumps included).",
              ("floor", "ceil", "round"),
              ("nd.trunc(-2.7)", "-2.0", "nd.grad(nd.trunc)(-2.7)", "0.0")),
    "maximum": ("The larger of ``x1`` and ``x2``, elementwise (NaN wins).",
                "The elementwise maximum, with NumPy broadcasting.",
                "The derivative goes to the larger argument. At a tie with a constant "
                "the kink takes numad's convention: the variable side gets 0 "
                "(``relu'(0) = 0`` for ``maximum(x, 0.0)``); two variables that tie "
                "share it, 1/2 each, so that ``maximum(x, x)`` has derivative 1.",
                ("minimum", "max", "clip"),
                ("nd.maximum(1.0, 2.0)", "2.0",
                 "nd.grad(lambda x: nd.maximum(x, 0.0))(0.0)", "0.0",
                 "nd.grad(nd.maximum, argnums=(0, 1))(1.0, 1.0)", "(0.5, 0.5)")),
    "minimum": ("The smaller of ``x1`` and ``x2``, elementwise (NaN wins).",
                "The elementwise minimum, with NumPy broadcasting.",
                "The derivative goes to the smaller argument. At a tie with a constant "
                "the kink takes numad's convention: the variable side gets 0; two "
                "variables that tie share it, 1/2 each, so that ``minimum(x, x)`` has "
                "derivative 1.", ("maximum", "min", "clip"),
                ("nd.minimum(1.0, 2.0)", "1.0",
                 "nd.grad(lambda x: nd.minimum(x, 0.0))(0.0)", "0.0",
                 "nd.grad(nd.minimum, argnums=(0, 1))(1.0, 1.0)", "(0.5, 0.5)")),
    "hypot": ("``sqrt(x1**2 + x2**2)``, elementwise, without overflow.",
              "The length of the vector ``(x1, x2)``.",
              "The partial derivatives are ``x1 / hypot`` and ``x2 / hypot``; at the "
              "origin, where it has none, both are 0.", ("arctan2", "sqrt"),
              ("nd.hypot(3.0, 4.0)", "5.0",
               "nd.grad(nd.hypot, argnums=(0, 1))(3.0, 4.0)", "(0.6, 0.8)")),
    "erf": ("The error function, elementwise (``scipy.special.erf``).", "``erf(x)``.",
            "The derivative is ``2 / sqrt(pi) * exp(-x**2)``.", ("erfc", "norm_cdf"),
            ("nd.erf(0.0)", "0.0", "bool(nd.grad(nd.erf)(0.0) == 2 / np.sqrt(np.pi))",
             "True")),
    "erfc": ("The complementary error function ``1 - erf(x)``, elementwise "
             "(``scipy.special.erfc``).", "``erfc(x)``, accurate for large ``x``.",
             "The derivative is ``-2 / sqrt(pi) * exp(-x**2)``.", ("erf", "norm_cdf"),
             ("nd.erfc(0.0)", "1.0", "bool(nd.grad(nd.erfc)(0.0) == -2 / np.sqrt(np.pi))",
              "True")),
    "expit": ("The logistic sigmoid ``1 / (1 + exp(-x))``, elementwise "
              "(``scipy.special.expit``).", "The sigmoid of ``x``, in ``[0, 1]``.",
              "The derivative is ``expit(x) * (1 - expit(x))``.", ("tanh", "logsumexp"),
              ("nd.expit(0.0)", "0.5", "nd.grad(nd.expit)(0.0)", "0.25")),
}

_ONE_ARG = ("x", _KINDS, "The argument. Integers are taken as floats.")
_TWO_ARGS = (("x1", _KINDS, "The first argument."),
             ("x2", _KINDS, "The second argument, broadcast against ``x1`` as NumPy does."))
_ELEMENTWISE_EXTENDED = (
    "On floats and arrays this is NumPy's (or SciPy's) ``{numpy}``; inside a traced "
    "function it records one entry on the tape; on a ``Dual`` it carries the tangent "
    "by the chain rule. {derivative}")
_ELEMENTWISE_RETURNS = (
    "float, ndarray, traced value or Dual",
    "{result} A Python float for scalar arguments, an array of the broadcast shape "
    "for arrays; a traced value inside a trace, a ``Dual`` for a ``Dual`` argument.")


def _elementwise_doc(public, prim):
    summary, result, derivative, see_also, example = _ELEMENTWISE_DOCS[public]
    numpy_name = getattr(prim.numpy, "__name__", public)
    return _docstring(
        summary, _ELEMENTWISE_EXTENDED.format(numpy=numpy_name, derivative=derivative),
        [_ONE_ARG] if prim.arity == 1 else list(_TWO_ARGS),
        (_ELEMENTWISE_RETURNS[0], _ELEMENTWISE_RETURNS[1].format(result=result)),
        see_also=[(name, "") for name in see_also],
        examples=[(">>> " if k % 2 == 0 else "") + line for k, line in enumerate(example)])


def _elementwise(name, public=None):
    import inspect

    prim = ELEMENTWISE_BY_NAME[name]

    def fn(*xs):
        if len(xs) != prim.arity:
            raise TypeError(f"numad: nd.{public or name} takes {prim.arity} argument"
                            f"{'s' if prim.arity > 1 else ''}, got {len(xs)}")
        for x in xs:
            if isinstance(x, Traced):
                return R.elementwise(name, *xs)
        for x in xs:
            if isinstance(x, Dual):
                return dual_elementwise(name, *xs)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _plain(prim.numpy(*xs))

    fn.__name__ = public or name
    fn.__qualname__ = fn.__name__
    fn.__doc__ = _elementwise_doc(fn.__name__, prim)
    # the signature documented (NumPy's names for its ufuncs' arguments); the calls take
    # the arguments positionally
    fn.__signature__ = inspect.Signature(
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_ONLY)
         for p in (("x",) if prim.arity == 1 else ("x1", "x2"))])
    return fn


sin = _elementwise("sin")
cos = _elementwise("cos")
tan = _elementwise("tan")
arcsin = _elementwise("arcsin")
arccos = _elementwise("arccos")
arctan = _elementwise("arctan")
arctan2 = _elementwise("arctan2")
sinh = _elementwise("sinh")
cosh = _elementwise("cosh")
tanh = _elementwise("tanh")
arcsinh = _elementwise("arcsinh")
arccosh = _elementwise("arccosh")
arctanh = _elementwise("arctanh")
exp = _elementwise("exp")
expm1 = _elementwise("expm1")
log = _elementwise("log")
log1p = _elementwise("log1p")
log2 = _elementwise("log2")
log10 = _elementwise("log10")
sqrt = _elementwise("sqrt")
cbrt = _elementwise("cbrt")
square = _elementwise("square")
power = _elementwise("pow", "power")
abs = _elementwise("abs")  # noqa: A001 - the NumPy name
sign = _elementwise("sign")
floor = _elementwise("floor")
ceil = _elementwise("ceil")
_rint = _elementwise("round")


def round(x, decimals=0):  # noqa: A001 - the NumPy name
    if decimals == 0:
        return _rint(x)
    # NumPy's own algorithm for decimals (np.round): scale, round to an integer, scale
    # back; the derivative stays zero (the scaling's partials meet rint's zero)
    if decimals > 0:
        scale = 10.0 ** decimals
        return _rint(x * scale) / scale
    scale = 10.0 ** -decimals
    return _rint(x / scale) * scale


round.__doc__ = _rint.__doc__.replace(
    "    The argument. Integers are taken as floats.\n",
    "    The argument. Integers are taken as floats.\n"
    "decimals : int, optional\n    How many decimals to round to (default 0; "
    "negative: to tens, hundreds...), as ``np.round``.\n")
assert "decimals : int" in round.__doc__
trunc = _elementwise("trunc")
maximum = _elementwise("maximum")
minimum = _elementwise("minimum")
hypot = _elementwise("hypot")
erf = _elementwise("erf")
erfc = _elementwise("erfc")
norm_cdf = extensions.norm_cdf  # an nd.primitive (numad/extensions.py)
expit = _elementwise("expit")


def _dispatch(numpy_fn, dual_fn=None):
    """``numpy_fn`` with its own signature, recording through the tracer's handler of
    it (which binds the arguments as NumPy does) when an argument is traced."""
    import functools

    traced_fn = D.FUNCTIONS[numpy_fn]

    @functools.wraps(numpy_fn)
    def fn(*args, **kwargs):
        given = args + tuple(kwargs.values())
        if any(isinstance(a, Traced) for a in given):
            return traced_fn(*args, **kwargs)
        if dual_fn is not None and any(isinstance(a, Dual) for a in given):
            return dual_fn(*args, **kwargs)
        return _plain(numpy_fn(*args, **kwargs))
    fn.__module__ = __name__
    # NumPy's signature (inspect follows __wrapped__), numad's own docstring (NumPy's
    # examples would run as this module's doctests)
    fn.__doc__ = _reduction_doc(numpy_fn, dual_fn is not None)
    return fn


# the reductions' docstrings: one row per function, one description per NumPy parameter
_REDUCTION_DOCS = {
    "sum": ("Sum of array elements over the given axes.",
            "The derivative is 1 for every entry summed.", "The sum",
            ("nd.grad(lambda x: nd.sum(x ** 2))(np.array([1.0, 2.0]))", "array([2., 4.])")),
    "prod": ("Product of array elements over the given axes.",
             "The derivative of each entry is the product of the other entries (exact "
             "where entries are 0 too).", "The product",
             ("nd.grad(nd.prod)(np.array([2.0, 3.0, 4.0]))", "array([12.,  8.,  6.])")),
    "mean": ("Arithmetic mean over the given axes.",
             "The derivative is ``1 / n`` for each of the ``n`` entries averaged.",
             "The mean",
             ("nd.grad(nd.mean)(np.array([1.0, 2.0, 3.0, 4.0]))",
              "array([0.25, 0.25, 0.25, 0.25])")),
    "max": ("Maximum of array elements over the given axes.",
            "The derivative goes to the largest entries, shared equally where entries "
            "tie (numad's convention).", "The maximum",
            ("nd.grad(nd.max)(np.array([1.0, 3.0, 3.0]))", "array([0. , 0.5, 0.5])")),
    "min": ("Minimum of array elements over the given axes.",
            "The derivative goes to the smallest entries, shared equally where entries "
            "tie (numad's convention).", "The minimum",
            ("nd.grad(nd.min)(np.array([1.0, 1.0, 3.0]))", "array([0.5, 0.5, 0. ])")),
}
_REDUCTION_PARAMS = {
    "a": ("array_like, traced value or Dual", "The values to reduce."),
    "axis": ("None, int or tuple of ints, optional",
             "The axis or axes to reduce over; None (the default) reduces over all."),
    "dtype": ("dtype, optional",
              "The type of the result, as in NumPy. Inside a trace only None or a float "
              "type is accepted (another raises ``TracingError``)."),
    "out": ("ndarray, optional",
            "An array to write the result into, as in NumPy. Inside a trace it must be "
            "None (else ``TracingError``: use the returned value)."),
    "keepdims": ("bool, optional",
                 "Keep the reduced axes with length one, so that the result broadcasts "
                 "against ``a`` (default False)."),
    "initial": ("scalar, optional",
                "The starting value of the reduction, as in NumPy (a constant: it gets "
                "no derivative)."),
    "where": ("array_like of bool, optional",
              "Which elements take part, as in NumPy; the others get zero derivative."),
}


def _reduction_doc(numpy_fn, takes_duals):
    import inspect

    name = numpy_fn.__name__
    summary, derivative, result, example = _REDUCTION_DOCS[name]
    duals = ("on a ``Dual`` it reduces the value and the tangent" if takes_duals else
             "a ``Dual`` is not taken at present (``TypeError``; reduce with elementwise "
             "operations instead)")
    extended = (f"NumPy's ``np.{name}``, with NumPy's signature, on floats and arrays; "
                "inside a traced function it records on the tape (so do ``np."
                f"{name}(x)`` and ``x.{name}()`` of a traced ``x``); {duals}. {derivative}")
    params = [(p, *_REDUCTION_PARAMS[p]) for p in inspect.signature(numpy_fn).parameters]
    returns = ("float, ndarray or traced value" + (" or Dual" if takes_duals else ""),
               f"{result} of ``a`` over ``axis``: a Python float when all axes are "
               "reduced, else an array (a traced value inside a trace"
               + (", a ``Dual`` for a ``Dual``)." if takes_duals else ")."))
    return _docstring(summary, extended, params, returns,
                      see_also=[(n, "") for n in ("sum", "prod", "mean", "max", "min",
                                                  "logsumexp") if n != name],
                      examples=[">>> " + example[0], example[1]])


def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):  # noqa: A002
    """Clip (limit) the values of ``a`` to ``[a_min, a_max]``, elementwise.

    NumPy's ``np.clip``, with its signature, on floats, arrays, traced values and
    Duals. The derivative with respect to ``a`` is 1 strictly inside the bounds and 0
    at and beyond them (numad's convention at the kinks); a traced bound gets the
    derivative where it is the value taken.

    Parameters
    ----------
    a : float, array_like, traced value or Dual
        The values to clip.
    a_min : float, array_like, traced value or None, optional
        The lower bound; None for none.
    a_max : float, array_like, traced value or None, optional
        The upper bound; None for none.
    out : ndarray, optional
        An array to write the result into, as in NumPy (not inside a trace).
    min : float, array_like, traced value or None, optional
        Another name for ``a_min`` (NumPy 2), used where ``a_min`` is None.
    max : float, array_like, traced value or None, optional
        Another name for ``a_max`` (NumPy 2), used where ``a_max`` is None.

    Returns
    -------
    float, ndarray, traced value or Dual
        ``a`` limited to the bounds: a Python float for a float, else an array (a
        traced value inside a trace, a ``Dual`` for a ``Dual``).

    See Also
    --------
    maximum, minimum, where

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.clip(np.array([-1.0, 0.5, 2.0]), 0.0, 1.0)
    array([0. , 0.5, 1. ])
    >>> nd.grad(lambda x: nd.sum(nd.clip(x, 0.0, 1.0)))(np.array([-1.0, 0.5, 2.0]))
    array([0., 1., 0.])
    >>> nd.grad(lambda x: nd.clip(x, 0.0, 1.0))(1.0)   # at a bound: 0
    0.0
    """
    x = a
    a_min = min if a_min is None else a_min
    a_max = max if a_max is None else a_max
    if any(isinstance(v, Traced) for v in (x, a_min, a_max, out)):
        return D.FUNCTIONS[np.clip](x, a_min, a_max, out)
    if out is not None:
        return np.clip(x, a_min, a_max, out=out)
    if any(isinstance(v, Dual) for v in (x, a_min, a_max)):
        return dual_clip(x, a_min, a_max)
    return _plain(np.clip(x, a_min, a_max))


def where(condition, x, y):
    """Choose ``x`` where ``condition`` holds, else ``y``, elementwise.

    NumPy's ``np.where(condition, x, y)`` on floats, arrays, traced values and Duals,
    with NumPy broadcasting. The derivative flows to ``x`` where the condition holds
    and to ``y`` elsewhere; the condition gets none. The untaken branch never leaks
    an ``inf`` or ``nan`` of its own derivative into the gradient of the taken one,
    so ``where`` guards a function at a point where it has no derivative.

    Parameters
    ----------
    condition : bool, array_like of bool or traced comparison
        Where to take ``x``.
    x : float, array_like, traced value or Dual
        The values where ``condition`` holds.
    y : float, array_like, traced value or Dual
        The values elsewhere.

    Returns
    -------
    float, ndarray, traced value or Dual
        The chosen values, of the broadcast shape: a Python float for scalars, else an
        array (a traced value inside a trace, a ``Dual`` where ``x`` or ``y`` is one).

    See Also
    --------
    clip, maximum, minimum

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.grad(lambda x: nd.where(x > 0, nd.sqrt(x), 0.0))(0.0)   # not nan
    0.0
    """
    cond = condition
    if any(isinstance(v, Traced) for v in (cond, x, y)):
        return R.where(cond, x, y)
    if isinstance(x, Dual) or isinstance(y, Dual):
        xd = x if isinstance(x, Dual) else Dual(x, 0.0)
        yd = y if isinstance(y, Dual) else Dual(y, 0.0)
        c = np.asarray(cond.value if isinstance(cond, Dual) else cond)
        tx, ty = np.asarray(xd.tangent), np.asarray(yd.tangent)
        # (the builtin: this module's ``max`` is numad's reduction)
        lanes = builtins.max(tx.ndim - np.ndim(xd.value), ty.ndim - np.ndim(yd.value), 0)
        cm = c.reshape(c.shape + (1,) * lanes)
        return Dual(_plain(np.where(c, xd.value, yd.value)), _plain(np.where(cm, tx, ty)))
    return _plain(np.where(cond, x, y))


def logsumexp(a, axis=None, keepdims=False):
    """``log(sum(exp(a)))`` over the given axes, without overflow.

    ``scipy.special.logsumexp``'s ``a``, ``axis`` and ``keepdims``, on floats, arrays,
    traced values and Duals. Its gradient is the softmax ``exp(a - logsumexp(a))``
    (0 where every entry is ``-inf``). It is an ``nd.primitive``: one tape entry.

    Parameters
    ----------
    a : float, array_like, traced value or Dual
        The values.
    axis : None, int or tuple of ints, optional
        The axis or axes to reduce over; None (the default) reduces over all.
    keepdims : bool, optional
        Keep the reduced axes with length one (default False).

    Returns
    -------
    float, ndarray, traced value or Dual
        ``log(sum(exp(a)))`` over ``axis``: a Python float when all axes are reduced
        (a traced value inside a trace, a ``Dual`` for a ``Dual``).

    See Also
    --------
    sum, max, exp, expit

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> bool(nd.logsumexp(np.array([0.0, 0.0])) == np.log(2.0))
    True
    >>> nd.grad(nd.logsumexp)(np.array([0.0, np.log(3.0)]))   # the softmax
    array([0.25, 0.75])
    """
    return extensions.logsumexp(a, axis, keepdims)


sum = _dispatch(np.sum, dual_sum)  # noqa: A001
prod = _dispatch(np.prod, dual_prod)
mean = _dispatch(np.mean, dual_mean)
max = _dispatch(np.max, dual_max)  # noqa: A001
min = _dispatch(np.min, dual_min)  # noqa: A001


def dot(a, b, out=None):
    """Dot product of two arrays (NumPy's ``np.dot``).

    On floats and arrays this is ``np.dot``; with a traced operand it records on the
    tape (as ``np.dot`` of a traced value does); with a ``Dual`` operand it carries the
    tangent, ``(a b)' = a' b + a b'``.

    Parameters
    ----------
    a : float, array_like, traced value or Dual
        The first operand.
    b : float, array_like, traced value or Dual
        The second operand.
    out : ndarray, optional
        An array to write the result into, as in NumPy (not inside a trace, nor with a
        ``Dual``).

    Returns
    -------
    float, ndarray, traced value or Dual
        ``np.dot(a, b)``: a Python float for two vectors (a ``Dual`` where an operand
        is one).

    See Also
    --------
    matmul, sum

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.grad(lambda x: nd.dot(x, np.array([3.0, 4.0])))(np.array([1.0, 2.0]))
    array([3., 4.])
    """
    if isinstance(a, Traced) or isinstance(b, Traced):
        return D.FUNCTIONS[np.dot](a, b, out)
    if isinstance(a, Dual) or isinstance(b, Dual):
        return dual_dot(a, b, out)
    return _plain(np.dot(a, b, out))


def matmul(a, b):
    """Matrix product ``a @ b`` (NumPy's ``np.matmul``).

    On arrays this is ``np.matmul``; with a traced operand it records on the tape (as
    ``a @ b`` of traced values does); with a ``Dual`` operand it carries the tangent.

    Parameters
    ----------
    a : array_like, traced value or Dual
        The first operand (at least 1-D).
    b : array_like, traced value or Dual
        The second operand (at least 1-D).

    Returns
    -------
    float, ndarray, traced value or Dual
        ``a @ b``: a Python float for two vectors.

    See Also
    --------
    dot

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.grad(lambda W: nd.sum(nd.matmul(W, np.array([1.0, 2.0]))))(np.eye(2))
    array([[1., 2.],
           [1., 2.]])
    """
    if isinstance(a, Traced) or isinstance(b, Traced):
        return R.matmul(a, b)
    return _plain(np.matmul(a, b))


def stack(arrays, axis=0, out=None):
    """Join arrays along a new axis (NumPy's ``np.stack``).

    For sequences that may hold traced scalars and arrays: the result is one traced
    array (as ``np.stack`` of traced values gives); with ``Dual`` entries, a ``Dual``
    whose tangent stacks theirs (constants have tangent 0).

    Parameters
    ----------
    arrays : sequence of float, array_like, traced value or Dual
        The arrays, all of one shape.
    axis : int, optional
        The new axis in the result (default 0).
    out : ndarray, optional
        An array to write the result into, as in NumPy (not inside a trace, nor with
        ``Dual`` entries).

    Returns
    -------
    ndarray, traced value or Dual
        The stacked array, one dimension more than the inputs.

    See Also
    --------
    concatenate

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.grad(lambda x: nd.sum(nd.stack([x, x ** 2])))(np.array([1.0, 2.0]))
    array([3., 5.])
    """
    arrays = list(arrays)
    if any(isinstance(a, Traced) for a in arrays):
        return D.FUNCTIONS[np.stack](arrays, axis, out)
    if any(isinstance(a, Dual) for a in arrays):
        return dual_stack(arrays, axis, out)
    return np.stack(arrays, axis, out)


def concatenate(arrays, axis=0, out=None):
    """Join arrays along an existing axis (NumPy's ``np.concatenate``).

    For sequences that may hold traced arrays: the result is one traced array (as
    ``np.concatenate`` of traced values gives); with ``Dual`` entries, a ``Dual`` whose
    tangent joins theirs (constants have tangent 0).

    Parameters
    ----------
    arrays : sequence of array_like, traced value or Dual
        The arrays, of one shape except along ``axis``.
    axis : int or None, optional
        The axis to join along (default 0; None flattens the arrays first).
    out : ndarray, optional
        An array to write the result into, as in NumPy (not inside a trace, nor with
        ``Dual`` entries).

    Returns
    -------
    ndarray, traced value or Dual
        The joined array.

    See Also
    --------
    stack

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.grad(lambda x: nd.sum(nd.concatenate([x, 3 * x])))(np.array([1.0, 2.0]))
    array([4., 4.])
    """
    arrays = list(arrays)
    if any(isinstance(a, Traced) for a in arrays):
        return D.FUNCTIONS[np.concatenate](arrays, axis, out)
    if any(isinstance(a, Dual) for a in arrays):
        return dual_concatenate(arrays, axis, out)
    return np.concatenate(arrays, axis, out)


def stop_gradient(x):
    """The value of ``x``, with zero derivative.

    Inside a traced function it records an entry whose derivative is zero, so nothing
    flows back through it (a constant that follows ``x``'s value); on a ``Dual`` it
    zeroes the tangent; on floats and arrays it returns ``x`` itself.

    Parameters
    ----------
    x : float, array_like, traced value or Dual
        The value.

    Returns
    -------
    float, ndarray, traced value or Dual
        ``x``'s value, with zero derivative.

    See Also
    --------
    straight_through

    Examples
    --------
    >>> import numad as nd
    >>> nd.grad(lambda x: x * nd.stop_gradient(x))(3.0)
    3.0
    """
    if isinstance(x, Traced):
        return R.elementwise("stop_gradient", x)
    if isinstance(x, Dual):
        return Dual(x.value, np.zeros_like(np.asarray(x.tangent)) if np.ndim(x.tangent) else 0.0)
    return x


def straight_through(fn):
    """Make ``fn`` pass the derivative through unchanged: the straight-through estimator.

    The returned function computes ``fn(x)`` forward, to the last bit, and gives it the
    derivative 1 with respect to ``x`` (it computes ``fn(stop_gradient(x)) + (x -
    stop_gradient(x))``): for rounding or quantizing steps whose true derivative is
    zero.

    Parameters
    ----------
    fn : callable
        ``fn(x)``, a function of one float, array or traced value (``np.floor``,
        ``nd.round``, ...).

    Returns
    -------
    callable
        ``st(x)``: ``fn(x)`` with derivative one, on floats, arrays, traced values and
        Duals.

    See Also
    --------
    stop_gradient, floor, round

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.grad(nd.straight_through(np.floor))(2.7)
    1.0
    """
    def st(x):
        if isinstance(x, Traced):
            y = fn(stop_gradient(x))
            # x - stop_gradient(x) is exactly zero with derivative one, so the value is
            # fn(x) to the last bit and the derivative passes straight through
            return y + (x - stop_gradient(x))
        if isinstance(x, Dual):
            return Dual(_plain(fn(x.value)), x.tangent)
        return _plain(fn(x))        # a float for a float, as every nd.* function gives
    st.__name__ = f"straight_through({getattr(fn, '__name__', 'fn')})"
    return st
