"""The SciPy-shaped adapters: derivatives of ``f(x, *args)`` that replay a cached tape.

``gradient(f)``, ``value_and_gradient(f)`` and ``jacobian(f)`` trace ``f`` once per
signature of their arguments (shapes of the float inputs, values of the settings) and
then, at every new ``x`` or ``args``, replay the tape with the compiled sweeps. When a
recorded branch decision fails at the new point they trace again, so the answer is
always the derivative at ``(x, args)``. Float arrays and floats among ``args`` are
inputs of the tape (they may change from call to call); ints, bools, strings and other
objects are settings: a new value traces anew.
"""
from __future__ import annotations

import functools

import numpy as np

from .pytree import flatten, leaf_is_differentiable
from .tracer import record


def _signature(args):
    """What a cached tape depends on: structure, input shapes and the settings."""
    key = []
    for arg in args:
        if type(arg) is np.ndarray and arg.dtype.kind == "f":
            key.append(arg.shape)
            continue
        if type(arg) is float:
            key.append("f")
            continue
        leaves, treedef = flatten(arg)
        parts = [treedef]
        for leaf in leaves:
            if leaf_is_differentiable(leaf):
                parts.append(np.shape(leaf))
            elif isinstance(leaf, np.ndarray):
                parts.append(("s", leaf.dtype.str, leaf.shape, leaf.tobytes()))
            else:
                try:
                    hash(leaf)
                    parts.append(("s", type(leaf), leaf))
                except TypeError:
                    parts.append(("id", id(leaf)))
        key.append(tuple(parts))
    return tuple(key)


class TapeCache:
    """One tape per argument signature, replayed at new points, re-traced on a changed
    branch decision."""

    def __init__(self, f):
        self.f = f
        self.name = getattr(f, "__name__", "f")
        self.tapes = {}
        self.traces = 0  # how many times f was traced (for tests and curiosity)

    def tape_at(self, args):
        """A tape whose values (and stored partials) are those at ``args``."""
        key = _signature(args)
        tape = self.tapes.get(key)
        if tape is not None and tape.matches(*args):  # (a forward sweep at args)
            return tape
        tape = record(self.f, args, input_argnums=(0,), others_static=False, name=self.name)
        self.traces += 1
        tape.forward(check_guards=False)
        self.tapes[key] = tape
        return tape


def _nested(args):
    from .nested import any_traced
    return any_traced(args)


def value_and_gradient(f):
    """Return ``fun(x, *args) -> (f(x, *args), gradient)`` for ``minimize(..., jac=True)``.

    One forward and one reverse sweep over a cached tape per call.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> from scipy.optimize import minimize
    >>> def rosen(x):
    ...     return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    >>> res = minimize(nd.value_and_gradient(rosen), np.zeros(3), jac=True, method="BFGS")
    >>> bool(np.allclose(res.x, 1.0, atol=1e-4))
    True
    """
    cache = TapeCache(f)

    @functools.wraps(f)
    def fun(x, *args):
        if not args and type(x) is np.ndarray and x.dtype == np.float64:
            # the optimizer's hot path: one float array, a cached tape, one kernel call
            tape = cache.tapes.get((x.shape,))
            if tape is not None and tape.single_input is not None:
                start, n, out = tape.single_input
                tape.vals[start:start + n] = x.ravel()
                if tape.sweep_value_and_gradient(out) < 0:
                    g = tape._adj[start:start + n].reshape(x.shape)
                    return float(tape.vals[tape.off[out]]), g.copy()
        args = (x,) + args
        if _nested(args):
            from .transforms import value_and_grad
            return value_and_grad(f)(*args)
        tape = cache.tape_at(args)
        out = tape._scalar_output("nd.value_and_gradient")
        adj = tape.reverse([(out, 1.0)])
        return float(tape.vals[tape.off[out]]), tape._gather_inputs(adj, None, 0)

    fun.cache = cache
    return fun


def gradient(f):
    """Return ``jac(x, *args)``: the gradient of scalar ``f``, for
    ``scipy.optimize.minimize(f, x0, jac=nd.gradient(f))``.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> from scipy.optimize import rosen_der
    >>> def rosen(x):
    ...     return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    >>> x = np.array([0.5, 1.5, -0.3])
    >>> bool(np.allclose(nd.gradient(rosen)(x), rosen_der(x)))
    True
    """
    vg = value_and_gradient(f)

    @functools.wraps(f)
    def jac(x, *args):
        return vg(x, *args)[1]

    jac.cache = vg.cache
    return jac


def jacobian(f, mode="auto"):
    """Return ``jac(x, *args)``: the Jacobian of vector-valued ``f``, shaped
    ``f(x).shape + x.shape`` (``(m, n)`` for 1-D ``x`` and output).

    ``mode="forward"`` pushes all n directions through one vector tangent sweep,
    ``"reverse"`` runs m reverse sweeps, ``"auto"`` picks forward when n <= m.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"numad: jacobian mode must be 'forward', 'reverse' or 'auto', "
                         f"not {mode!r}")
    cache = TapeCache(f)

    @functools.wraps(f)
    def jac(x, *args):
        args = (x,) + args
        if _nested(args):
            from .nested import nested_jacobian
            return nested_jacobian(f, args, mode)
        tape = cache.tape_at(args)
        return tape.jacobian_loaded(mode, 0)

    jac.cache = cache
    return jac
