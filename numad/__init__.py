"""numad: exact derivatives of plain Python and NumPy code, swept by Numba kernels.

``import numad as nd``. Every public name is listed in ``numad.__all__`` and documented in
the API reference of the docs (``docs/reference/api.md``); ``nd.optimize`` holds the
SciPy-shaped optimizers.
"""
from .adapters import gradient, hessian, hvp, jacobian, value_and_gradient
from .batching import gradient_batch, hvp_batch, jacobian_batch, value_and_gradient_batch
from .checking import check_grad, numerical_gradient
from .checkpoint import checkpoint_schedule
from .config import config
from .control_flow import cond, fori_loop, while_loop
from .custom import custom_jvp, custom_vjp, primitive
from .dual import Dual
from .errors import ControlFlowChanged, TracingError
from .functions import (abs, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,
                        cbrt, ceil, clip, concatenate, cos, cosh, dot, erf, erfc, exp,
                        expit, expm1, floor, hypot, log, log1p, log2, log10, logsumexp,
                        matmul, max, maximum, mean, min, minimum, norm_cdf, power, prod,
                        round, sign, sin, sinh, sqrt, square, stack, stop_gradient,
                        straight_through, sum, tan, tanh, trunc, where)
from . import optimize
from .odeint import odeint
from .scan import scan
from .tape import Tape
from .transforms import grad, jvp, trace, value_and_grad, vjp

__version__ = "0.1.0"

# The public names (``from numad import *`` and the API reference); ``optimize`` is a
# submodule, reached as ``nd.optimize``.
__all__ = [
    "gradient", "hessian", "hvp", "jacobian", "value_and_gradient", "gradient_batch",
    "hvp_batch", "jacobian_batch", "value_and_gradient_batch", "check_grad",
    "numerical_gradient", "checkpoint_schedule", "config", "cond", "fori_loop",
    "while_loop", "custom_jvp", "custom_vjp", "primitive", "Dual", "ControlFlowChanged",
    "TracingError", "abs", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "cbrt", "ceil", "clip", "concatenate", "cos", "cosh", "dot", "erf", "erfc",
    "exp", "expit", "expm1", "floor", "hypot", "log", "log1p", "log2", "log10",
    "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "norm_cdf",
    "power", "prod", "round", "sign", "sin", "sinh", "sqrt", "square", "stack",
    "stop_gradient", "straight_through", "sum", "tan", "tanh", "trunc", "where", "odeint",
    "scan", "Tape", "grad", "jvp", "trace", "value_and_grad", "vjp",
]
