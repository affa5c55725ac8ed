"""``nd.odeint``: fixed-step Euler and classical Runge-Kutta on a time grid, as an
``nd.scan`` over the grid's intervals, so that its derivatives (with respect to the
initial state and the parameters) come from the scan driver and its checkpoints."""
from __future__ import annotations

import numpy as np

from .config import compile_mode
from .recording import objects_to_traced
from .precision import answer_dtype, in_dtype
from .traced import Traced, value_of
from .scan import STRATEGIES, scan

METHODS = ("euler", "rk4")


def _derivative(rhs, y, t, args):
    """rhs(y, t, *args) as an array: a list or tuple of components (a common way to
    write a system) is stacked."""
    dy = rhs(y, t, *args)
    if type(dy) is np.ndarray and dy.dtype == object:
        return objects_to_traced(None, dy)  # np.array([dx, dy]) of traced scalars
    return np.stack(dy) if isinstance(dy, (list, tuple)) else dy


def _euler(rhs, y, t, h, args):
    return y + h * _derivative(rhs, y, t, args)


def _rk4(rhs, y, t, h, args):
    k1 = _derivative(rhs, y, t, args)
    k2 = _derivative(rhs, y + (0.5 * h) * k1, t + 0.5 * h, args)
    k3 = _derivative(rhs, y + (0.5 * h) * k2, t + 0.5 * h, args)
    k4 = _derivative(rhs, y + h * k3, t + h, args)
    return y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


_STEPPERS = {"euler": _euler, "rk4": _rk4}


def odeint(rhs, y0, t, *args, method="rk4", substeps=1, checkpoint="auto", snapshots=None,
           compile=None, progress=False):
    """Integrate ``y' = rhs(y, t, *args)`` from ``y(t[0]) = y0`` over the grid ``t``.

    Fixed steps: each interval ``t[i]..t[i+1]`` is crossed in ``substeps`` steps of
    explicit Euler (``method="euler"``) or classical fourth-order Runge-Kutta
    (``"rk4"``). Returns the trajectory, shape ``(len(t),) + y0.shape`` (row 0 is
    ``y0``). ``rhs`` may return an array or a list of components. Differentiable with
    respect to ``y0``, ``args`` and ``t``; the loop runs as an
    ``nd.scan`` (``checkpoint`` and ``snapshots`` as there), so reverse mode through a
    long integration keeps its memory bounded. ``compile`` and ``progress`` as in
    ``nd.scan``.

    Parameters
    ----------
    rhs : callable
        ``rhs(y, t, *args)`` -> ``y'``, an array (or a list of components) shaped like
        ``y``.
    y0 : float or ndarray
        The initial state, at ``t[0]``.
    t : array_like
        The time grid, 1-D; the trajectory is returned at these times.
    *args : float, ndarray or pytree
        Extra arguments of ``rhs`` (parameters), differentiable.
    method : {"rk4", "euler"}, optional
        The fixed-step scheme (default ``"rk4"``); another value raises ``ValueError``.
    substeps : int, optional
        Steps per interval of ``t`` (``>= 1``, else ``ValueError``; default 1).
    checkpoint : {"auto", "store_all", "recompute_all", "uniform", "binomial"}, optional
        As in ``nd.scan`` (default ``"auto"``).
    snapshots : int, optional
        As in ``nd.scan``.
    compile : {"auto", "always", "never"}, optional
        As in ``nd.scan``.
    progress : bool or callable, optional
        As in ``nd.scan``.

    Returns
    -------
    ndarray
        The trajectory, shape ``(len(t),) + y0.shape``; row 0 is ``y0``.

    See Also
    --------
    scan
    numad.optimize.least_squares : Fits the parameters of an ODE to data.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> t = np.linspace(0.0, 1.0, 11)
    >>> Y = nd.odeint(lambda y, t, k: -k * y, np.array([1.0]), t, 2.0, substeps=10)
    >>> Y.shape, round(float(Y[-1, 0]), 8), round(float(np.exp(-2.0)), 8)
    ((11, 1), 0.13533528, 0.13533528)
    >>> # d y(1) / d k = -t y(1) = -exp(-2)
    >>> round(nd.grad(lambda k: nd.odeint(lambda y, t, k: -k * y, np.array([1.0]), t,
    ...                                   k, substeps=10)[-1, 0])(2.0), 8)
    -0.13533528
    """
    compile_mode(compile, "nd.odeint")
    if method not in _STEPPERS:
        raise ValueError(f"numad: odeint(method={method!r}): the methods are "
                         f"{', '.join(map(repr, METHODS))}")
    if int(substeps) < 1:
        raise ValueError(f"numad: odeint needs substeps >= 1, not {substeps!r}")
    if checkpoint not in STRATEGIES:
        raise ValueError(f"numad: odeint(checkpoint={checkpoint!r}): the strategies are "
                         f"{', '.join(map(repr, STRATEGIES))}")
    # (a traced grid is fine: the steps' start times and sizes are the loop's xs, so
    # derivatives with respect to the times come out too)
    grid = t if isinstance(t, Traced) else np.asarray(t, dtype=np.float64)
    if np.ndim(value_of(grid)) != 1 or np.size(value_of(grid)) < 1:
        raise ValueError(f"numad: odeint's t must be a 1-D grid of times, not shape "
                         f"{np.shape(value_of(grid))}")
    stepper = _STEPPERS[method]
    m = int(substeps)
    if type(y0) is np.ndarray and y0.dtype == object:
        y0 = objects_to_traced(None, y0)
    # (float32 inputs outside a trace give a float32 trajectory, as the transformations')
    dtype = answer_dtype((y0, t, args))
    y0 = y0 if isinstance(y0, Traced) else np.asarray(y0, dtype=np.float64)
    if np.size(value_of(grid)) == 1:
        return in_dtype(np.reshape(y0, (1,) + np.shape(value_of(y0))), dtype)

    def interval(y, span):
        t0, h = span[0], span[1] / m
        for k in range(m):
            y = stepper(rhs, y, t0 + k * h, h, args)
        return y, y

    spans = np.stack([grid[:-1], grid[1:] - grid[:-1]], axis=1)
    _, ys = scan(interval, y0, spans, checkpoint=checkpoint, snapshots=snapshots,
                 compile=compile, progress=progress)
    first = np.reshape(y0, (1,) + np.shape(value_of(y0)))
    return in_dtype(np.concatenate([first, ys], axis=0), dtype)
