"""Checking derivatives against finite differences.

``numerical_gradient`` is the oracle numad's own tests and users' tests compare against;
``check_grad`` compares numad's reverse-mode gradient with it in one call.
"""
from __future__ import annotations

import numpy as np

from .pytree import flatten, unflatten

__all__ = ["numerical_gradient", "check_grad"]

_EPS = np.finfo(np.float64).eps
_METHODS = ("forward", "central", "complex")


def _numerical_gradient_of_tree(f, x, method, h):
    """A pytree point: each leaf differenced on its own, the others held; the gradient
    in the point's structure (``h`` a step for all, or a pytree of steps like ``x``)."""
    leaves, treedef = flatten(x)
    steps = flatten(h)[0] if isinstance(h, (tuple, list, dict)) else [h] * len(leaves)
    if len(steps) != len(leaves):
        raise ValueError("numerical_gradient: h must be one step, or a pytree of steps "
                         "structured like x")
    grads = []
    for k, (leaf, step) in enumerate(zip(leaves, steps)):
        def along(v, k=k):
            return f(unflatten(treedef, leaves[:k] + [v] + leaves[k + 1:]))
        grads.append(numerical_gradient(along, leaf, method, step))
    return unflatten(treedef, grads)


def numerical_gradient(f, x, method="central", h=None):
    """The gradient of scalar ``f`` at ``x`` by finite differences.

    Each component ``k`` is differenced on its own, ``x.size`` (forward, complex) or
    ``2 * x.size`` (central) evaluations of ``f`` in all.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, a scalar function of a float or a float array. ``f`` is
        called with a Python float when ``x`` is a float, else with a new array of
        ``x``'s shape at each evaluation (never ``x`` itself).
    x : float, array_like or pytree
        The point. Integers are taken as floats. A pytree (tuples, lists, dicts of
        floats and arrays) is differenced leaf by leaf, and its gradient has its
        structure.
    method : {"central", "forward", "complex"}
        ``"forward"``: ``(f(x + h e_k) - f(x)) / h``, error about ``sqrt(eps)``
        (1e-8) relative. ``"central"``: ``(f(x + h e_k) - f(x - h e_k)) / 2h``, error
        about ``eps**(2/3)`` (1e-11) relative. ``"complex"``: the complex step
        ``Im f(x + i h e_k) / h``, which subtracts nothing and is exact to rounding
        (about 1e-16 relative) for any small ``h``; it needs an ``f`` that is
        complex-analytic as written: NumPy arithmetic and functions such as ``np.exp``
        and ``np.sin``, but no ``abs``, comparisons, ``np.real`` or ``math.*``.
    h : float or array_like, optional
        The step, or one step per component (an array of ``x``'s shape). By default
        the step that balances truncation against round-off error,
        ``sqrt(eps) * max(1, |x_k|)`` for ``"forward"`` and
        ``cbrt(eps) * max(1, |x_k|)`` for ``"central"``, and ``1e-20`` for
        ``"complex"``. For ``"forward"`` and ``"central"`` the step is first rounded
        to one that ``x_k + h`` represents exactly, so that the difference quotient
        divides by the step actually taken.

    Returns
    -------
    float or ndarray
        The gradient: a Python float for a scalar ``x``, else an array of ``x``'s
        shape.

    Raises
    ------
    ValueError
        For an unknown ``method``, a step that is not positive, or an ``f`` whose value
        is not a scalar.

    Examples
    --------
    >>> import numpy as np
    >>> from numad.checking import numerical_gradient
    >>> g = numerical_gradient(np.sin, 0.0)                      # cos(0) = 1
    >>> abs(g - 1.0) < 1e-10
    True
    >>> numerical_gradient(lambda x: np.sum(x ** 2), np.array([1.0, 2.0]), method="complex")
    array([2., 4.])
    """
    if method not in _METHODS:
        raise ValueError(f"numerical_gradient: method must be one of {_METHODS}, got {method!r}")
    if isinstance(x, (tuple, list, dict)):
        return _numerical_gradient_of_tree(f, x, method, h)
    scalar_input = np.ndim(x) == 0 and not isinstance(x, np.ndarray)
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"numerical_gradient: x must be real numbers, got dtype {x.dtype}")
    # Differences are taken in float64; the result has x's float dtype (float64 for ints).
    out_dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    x = x.astype(np.float64)

    if h is None:
        if method == "complex":
            steps = np.full(x.shape, 1e-20)
        else:
            # Truncation error ~ h (forward) or h^2 (central) against round-off
            # ~ eps |f| / h: the sum is smallest at h ~ eps^(1/2) or eps^(1/3), scaled
            # with |x_k| so that the step stays far above x_k's own rounding.
            base = np.sqrt(_EPS) if method == "forward" else np.cbrt(_EPS)
            steps = base * np.maximum(1.0, np.abs(x))
    else:
        steps = np.broadcast_to(np.asarray(h, dtype=np.float64), x.shape)
        if not np.all(steps > 0):
            raise ValueError(f"numerical_gradient: the step h must be positive, got {h!r}")

    def call(point):
        arg = (complex(point) if point.dtype.kind == "c" else float(point)) if scalar_input else point
        out = np.asarray(f(arg))
        if out.size != 1:
            raise ValueError(
                f"numerical_gradient: f must return a scalar, got an array of shape "
                f"{out.shape}; for a vector-valued f use nd.jacobian"
            )
        return out.reshape(())[()]

    gradient = np.empty(x.shape)
    flat = gradient.reshape(-1)            # a view: gradient is new and contiguous
    f0 = call(x.copy()) if method == "forward" else None
    for k in range(x.size):
        hk = float(steps.flat[k])
        if method == "complex":
            z = x.astype(np.complex128)
            z.flat[k] += 1j * hk
            flat[k] = np.imag(call(z)) / hk
            continue
        xk = float(x.flat[k])
        hk = (xk + hk) - xk                # the step x_k + h actually takes
        forward = x.copy()
        forward.flat[k] = xk + hk
        if method == "forward":
            flat[k] = (call(forward) - f0) / hk
        else:
            backward = x.copy()
            backward.flat[k] = xk - hk
            flat[k] = (call(forward) - call(backward)) / (forward.flat[k] - backward.flat[k])
    return float(gradient) if scalar_input else gradient.astype(out_dtype, copy=False)


def check_grad(f, x):
    """The largest relative difference between numad's gradient of ``f`` and a
    central-difference one.

    Computes ``g = nd.grad(f)(x)`` and ``g_fd = numerical_gradient(f, x, "central")``
    and returns ``max |g - g_fd| / max(1, max |g_fd|)``. The difference is scaled by
    the gradient's largest entry, not entry by entry, so that entries near zero (where
    a relative error means nothing) do not dominate; below 1 the scale stays 1 and the
    result is an absolute difference. A correct gradient of a well-scaled function
    gives about 1e-9 or less (central differences are accurate to about
    ``eps**(2/3)``); a wrong one gives order 1. ``nan`` in either gradient gives
    ``nan``.

    Parameters
    ----------
    f : callable
        A scalar function of a float or float array that numad can differentiate.
    x : float, array_like or pytree
        The point.

    Returns
    -------
    float
        The scaled largest difference.

    Examples
    --------
    >>> import numpy as np
    >>> import numad as nd
    >>> nd.check_grad(lambda x: np.sum(np.sin(x) * x), np.array([0.5, 1.0])) < 1e-8
    True
    """
    # Imported when called, so that this module (the finite-difference oracle) imports
    # without the tracer stack.
    from .transforms import grad

    def flat(tree):   # (a pytree point's gradient as one vector)
        return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64))
                               for v in flatten(tree)[0]] or [np.zeros(0)])
    g = flat(grad(f)(x))
    g_fd = flat(numerical_gradient(f, x, method="central"))
    scale = max(1.0, float(np.max(np.abs(g_fd), initial=0.0)))
    return float(np.max(np.abs(g - g_fd), initial=0.0) / scale)
