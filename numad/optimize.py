"""``scipy.optimize`` with exact derivatives from numad.

``nd.optimize.minimize``, ``least_squares`` and ``root`` take the same arguments as
SciPy's and return SciPy's own result objects; numad supplies the derivatives (the
gradient from one value-and-gradient sweep, ``hessp`` or ``hess`` for the methods that
use them, Jacobians of residuals, equations and constraint functions), and passes every
other keyword through. A derivative you pass yourself is used as given.
"""
from __future__ import annotations

import numpy as np
import scipy.optimize as so

from .adapters import hessian, hvp, jacobian, value_and_gradient

# Methods that use no derivative: giving them one only earns a warning from SciPy.
_DERIVATIVE_FREE = {"nelder-mead", "powell", "cobyla", "cobyqa"}
_TAKE_HESSP = {"newton-cg", "trust-ncg", "trust-krylov", "trust-constr"}
_NEED_HESS = {"dogleg", "trust-exact"}


def minimize(fun, x0, args=(), method=None, **kw):
    """``scipy.optimize.minimize`` with the gradient (and Hessian products) from numad.

    The objective and its gradient come from one sweep per point (``jac=True``);
    Newton-CG, trust-ncg, trust-krylov and trust-constr get ``hessp`` (forward over
    reverse), dogleg and trust-exact ``hess``. Constraints given as functions get their
    Jacobians from numad too. Derivative-free methods (Nelder-Mead, Powell, COBYLA,
    COBYQA) get no derivative; a ``jac``, ``hess`` or ``hessp`` you pass is used as
    given.

    Parameters
    ----------
    fun : callable
        The objective ``fun(x, *args) -> float``, ``x`` a 1-D float array.
    x0 : array_like
        The starting point.
    args : tuple, optional
        Extra arguments of ``fun`` (a single non-tuple value is taken as one argument).
    method : str or callable, optional
        SciPy's ``method`` (None: SciPy's default, BFGS, L-BFGS-B or SLSQP).
    **kw
        Every other keyword of ``scipy.optimize.minimize`` (``bounds``,
        ``constraints``, ``tol``, ``options``, ``callback``, ``jac``, ``hess``,
        ``hessp``), passed through.

    Returns
    -------
    scipy.optimize.OptimizeResult
        SciPy's result (``x``, ``fun``, ``jac``, ``success``, ``message``, ...).

    See Also
    --------
    least_squares, root
    numad.value_and_gradient : The objective and gradient this passes to SciPy.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> def rosen(x):
    ...     return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    >>> res = nd.optimize.minimize(rosen, np.zeros(5), method="trust-ncg",
    ...                            options={"gtol": 1e-10})
    >>> bool(res.success), bool(np.allclose(res.x, 1.0, atol=1e-8))
    (True, True)
    """
    args = args if isinstance(args, tuple) else (args,)
    name = (method or "").lower() if isinstance(method, str) else ""
    if "constraints" in kw:
        kw["constraints"] = _with_jacobians(kw["constraints"])
    if name in _DERIVATIVE_FREE or callable(method) and "jac" not in kw:
        return so.minimize(fun, x0, args=args, method=method, **kw)
    if "jac" in kw:
        objective = fun
    else:
        objective = value_and_gradient(fun)
        kw["jac"] = True
    if name in _TAKE_HESSP and "hess" not in kw and "hessp" not in kw:
        kw["hessp"] = hvp(fun)
    if name in _NEED_HESS and "hess" not in kw:
        kw["hess"] = hessian(fun)
    return so.minimize(objective, x0, args=args, method=method, **kw)


def least_squares(residuals, x0, args=(), **kw):
    """``scipy.optimize.least_squares`` with the residuals' Jacobian from numad (forward
    or reverse mode, whichever the sizes favour).

    Parameters
    ----------
    residuals : callable
        ``residuals(x, *args)`` -> a 1-D float array, ``x`` a 1-D float array.
    x0 : array_like
        The starting point.
    args : tuple, optional
        Extra arguments of ``residuals`` (a single non-tuple value is taken as one).
    **kw
        Every other keyword of ``scipy.optimize.least_squares`` (``bounds``,
        ``method``, ``loss``, ...), passed through; a ``jac`` you pass is used as given.

    Returns
    -------
    scipy.optimize.OptimizeResult
        SciPy's result (``x``, ``cost``, ``fun``, ``jac``, ``success``, ...).

    See Also
    --------
    minimize, root
    numad.jacobian : The Jacobian this passes to SciPy.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> t = np.linspace(0.0, 3.0, 20)
    >>> y = 2.5 * np.exp(-1.3 * t)
    >>> res = nd.optimize.least_squares(lambda p, t, y: p[0] * np.exp(-p[1] * t) - y,
    ...                                 np.array([1.0, 1.0]), args=(t, y))
    >>> np.round(res.x, 6)
    array([2.5, 1.3])
    """
    args = args if isinstance(args, tuple) else (args,)
    if "jac" not in kw:
        kw["jac"] = jacobian(residuals)
    return so.least_squares(residuals, x0, args=args, **kw)


def root(fun, x0, args=(), **kw):
    """``scipy.optimize.root`` with the Jacobian from numad (for the methods that take
    one: hybr, the default, and lm).

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` -> a 1-D float array of as many equations as ``x`` has
        values.
    x0 : array_like
        The starting point.
    args : tuple, optional
        Extra arguments of ``fun`` (a single non-tuple value is taken as one).
    **kw
        Every other keyword of ``scipy.optimize.root`` (``method``, ``tol``,
        ``options``, ...), passed through; a ``jac`` you pass is used as given.

    Returns
    -------
    scipy.optimize.OptimizeResult
        SciPy's result (``x``, ``success``, ``fun``, ...).

    See Also
    --------
    minimize, least_squares
    numad.jacobian : The Jacobian this passes to SciPy.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> sol = nd.optimize.root(lambda v: np.stack([v[0] ** 2 + v[1] ** 2 - 4.0,
    ...                                            v[0] - v[1]]), np.array([1.0, 0.5]))
    >>> bool(np.allclose(sol.x, np.sqrt(2.0), rtol=1e-12))
    True
    """
    args = args if isinstance(args, tuple) else (args,)
    method = kw.get("method", "hybr")
    if "jac" not in kw and method in ("hybr", "lm"):
        kw["jac"] = jacobian(fun)
    return so.root(fun, x0, args=args, **kw)


def _with_jacobians(constraints):
    """Constraints with numad Jacobians where they were given as bare functions."""
    single = isinstance(constraints, (dict, so.NonlinearConstraint))
    items = [constraints] if single else list(constraints)
    out = []
    for c in items:
        if isinstance(c, dict) and "jac" not in c and callable(c.get("fun")):
            c = dict(c)
            c["jac"] = _as_matrix(jacobian(c["fun"]))
        elif isinstance(c, so.NonlinearConstraint) and isinstance(c.jac, str):
            c = so.NonlinearConstraint(c.fun, c.lb, c.ub, jac=_as_matrix(jacobian(c.fun)),
                                       hess=c.hess, keep_feasible=c.keep_feasible,
                                       finite_diff_rel_step=c.finite_diff_rel_step,
                                       finite_diff_jac_sparsity=c.finite_diff_jac_sparsity)
        out.append(c)
    return out[0] if single else out


def _as_matrix(jac):
    """A Jacobian as an (m, n) matrix, m = 1 for a scalar constraint."""
    def jac2d(x, *args):
        return np.atleast_2d(jac(x, *args))
    return jac2d
