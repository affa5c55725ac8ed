"""The transformations: ``trace``, ``grad``, ``value_and_grad``, ``vjp`` and ``jvp``.

Each call traces the function anew at the given point (so every Python branch is the
one taken there) and runs the compiled sweeps over the fresh tape. For repeated calls
at new points of one function, the replaying adapters of ``numad.adapters``
(``gradient``, ``value_and_gradient``, ``jacobian``) reuse the tape instead.
"""
from __future__ import annotations

import functools

import numpy as np

from .config import compile_mode
from .precision import answer_dtype, in_dtype, like_argument
from .pytree import flatten, unflatten
from .tracer import record


def trace(f, *args, compile=None, **kwargs):
    """Run ``f(*args)`` once on traced values and return its ``Tape``.

    Float and float-array leaves of the arguments are the tape's inputs (and integer
    arrays in the first argument, the one ``tape.gradient`` differentiates, as
    ``nd.grad`` takes them); ints, bools, strings and other objects are settings
    recorded as constants. The tape replays
    ``f`` at new inputs and differentiates it; replaying it where a recorded branch
    decision no longer holds raises ``nd.ControlFlowChanged``.

    Parameters
    ----------
    f : callable
        The function to record, ``f(*args)``: its output may be a float, an array or a
        pytree of them.
    *args : float, ndarray or pytree
        The point to record at.
    compile : {"auto", "always", "never"}, optional
        As in ``nd.value_and_gradient``: whether ``tape.gradient`` runs the tape as its
        own compiled code; None (the default) takes ``nd.config.compile``.
    **kwargs
        Keyword arguments for ``f``, as in the other transformations: their floats and
        float arrays are inputs of the tape (not differentiated), the rest settings.
        The tape's methods take new values of them by keyword (``tape(x, a=2.0)``),
        the recorded ones where none is given.

    Returns
    -------
    Tape
        The recorded tape (a Wengert list): ``tape(*args)`` evaluates it, and its
        methods differentiate it.

    See Also
    --------
    Tape
    value_and_gradient : A cached tape behind a SciPy-shaped function.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> tape = nd.trace(lambda a, b, c: (a + b) * np.log(b + c), 1.0, 3.0, 6.0)
    >>> len(tape) > 0
    True
    >>> round(tape(1.0, 3.0, 6.0), 6)
    8.788898
    """
    mode = compile_mode(compile, "nd.trace")
    if args:
        # integer arrays in the first argument (the one tape.gradient differentiates)
        # are inputs, as nd.grad takes them, not settings frozen into the tape
        leaves, treedef = flatten(args[0])
        args = (unflatten(treedef, [v.astype(np.float64) if isinstance(v, np.ndarray)
                                    and v.dtype.kind in "iu" else v for v in leaves]),
                ) + args[1:]
    if kwargs:
        tape = record(keywords_last(f), args + (kwargs,),
                      name=getattr(f, "__name__", "f"))
        tape.keywords = dict(kwargs)
    else:
        tape = record(f, args)
    tape.compile_mode = mode
    return tape


def _argnums_tuple(argnums):
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _argnums_of(argnums, nargs, name):
    """``argnums`` as argument positions for a call with ``nargs`` arguments; negative
    numbers count from the end, as Python's indices."""
    nums = []
    for k in _argnums_tuple(argnums):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise TypeError(f"numad: argnums must be ints, not {k!r}")
        if not -nargs <= k < nargs:
            raise TypeError(f"numad: argnums={argnums} but {name} was called with "
                            f"{nargs} positional argument{'s' if nargs != 1 else ''}")
        nums.append(int(k) % nargs)
    return tuple(nums)


def keywords_last(f):
    """``f`` taking its keyword arguments as one trailing dict argument: how every
    transformation passes keyword arguments through a trace. Their floats and float
    arrays are inputs of the tape (not differentiated), everything else a setting."""
    @functools.wraps(f)
    def f_with_keywords(*args):
        return f(*args[:-1], **args[-1])
    return f_with_keywords


def value_and_grad(f, argnums=0):
    """The value and gradient of scalar-valued ``f``, by reverse mode.

    Each call records ``f`` at the arguments given and sweeps the tape backward once
    (no tape is cached: for many calls at one signature ``nd.value_and_gradient`` is
    faster). Keyword arguments are passed to ``f`` and not differentiated.

    Parameters
    ----------
    f : callable
        ``f(*args, **kwargs) -> float``, a scalar-valued function of floats, float
        arrays or pytrees of them.
    argnums : int or tuple of int, optional
        Which positional argument(s) to differentiate with respect to (default 0;
        negative numbers count from the end). A position beyond the arguments given
        raises ``TypeError``.

    Returns
    -------
    callable
        ``vg(*args, **kwargs) -> (value, gradient)``: ``f``'s value and the gradient,
        with the structure, shapes and float type of ``args[argnums]`` (a tuple of
        gradients when ``argnums`` is a tuple). A non-scalar output raises
        ``ValueError`` (use ``nd.jacobian`` or ``nd.vjp``).

    See Also
    --------
    grad, value_and_gradient

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.value_and_grad(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    (9.0, array([ 3., 12.]))
    """
    return _value_and_grad(f, argnums, "nd.value_and_grad")


def _value_and_grad(f, argnums, what):
    """``nd.value_and_grad``, its errors naming ``what`` (``nd.grad`` is built on it)."""
    _argnums_tuple(argnums)  # (refuses a malformed argnums at once)
    name = getattr(f, "__name__", "f")

    @functools.wraps(f)
    def vg(*args, **kwargs):
        nums = _argnums_of(argnums, len(args), name)
        fn = f
        if kwargs:
            # keyword arguments travel as a trailing dict argument, never differentiated
            fn, args = keywords_last(f), args + (kwargs,)
        from .nested import nested_value_and_grad, record_or_nest

        def nested():
            value, grads = nested_value_and_grad(fn, args, nums)
            return value, (grads[0] if isinstance(argnums, int) else grads)
        return record_or_nest(args, lambda: plain(fn, args, nums), nested)

    def plain(fn, args, nums):
        tape = record(fn, args, input_argnums=nums, replayed=False)
        out = tape.scalar_output(what)
        # (an output of one element in an array, f returning np.sum(..., keepdims=True),
        # is differentiated as its element: its value is that array, as f's)
        value = tape.outputs() if tape.shape_of(out) != () else float(tape.entry_value(out))
        tape.forward(check_guards=False)
        adj = tape.reverse([(out, 1.0)])
        grads = tuple(like_argument(tape.gather_inputs(adj, None, k), args[k]) for k in nums)
        value = in_dtype(value, answer_dtype(args))
        return value, (grads[0] if isinstance(argnums, int) else grads)

    return vg


def grad(f, argnums=0):
    """The gradient of scalar-valued ``f``, by reverse mode.

    Each call records ``f`` at the arguments given and sweeps the tape backward once.
    Transformations compose: ``nd.grad(nd.grad(f))`` is the exact second derivative.

    Parameters
    ----------
    f : callable
        ``f(*args, **kwargs) -> float``, a scalar-valued function of floats, float
        arrays or pytrees of them.
    argnums : int or tuple of int, optional
        Which positional argument(s) to differentiate with respect to (default 0;
        negative numbers count from the end).

    Returns
    -------
    callable
        ``g(*args, **kwargs)``: the gradient, with the structure, shapes and float type
        of ``args[argnums]`` (a Python float for a float; a tuple of gradients when
        ``argnums`` is a tuple). A non-scalar output raises ``ValueError`` (use
        ``nd.jacobian`` or ``nd.vjp``).

    See Also
    --------
    value_and_grad, gradient, vjp

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.grad(lambda x, y: x * np.exp(y) - np.sin(x), argnums=(0, 1))(np.pi / 3, 0.0)
    (0.4999999999999999, 1.0471975511965976)
    """
    vg = _value_and_grad(f, argnums, "nd.grad")

    @functools.wraps(f)
    def g(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    return g


def vjp(f, x):
    """The value of ``f`` at ``x`` and its vector-Jacobian product function (reverse mode).

    ``f`` is recorded once at ``x``; each call of ``vjp_fn`` is one reverse sweep.

    Parameters
    ----------
    f : callable
        ``f(x)``, returning a float, an array or a pytree of them.
    x : float, ndarray or pytree
        The point.

    Returns
    -------
    y : float, ndarray or pytree
        ``f(x)``.
    vjp_fn : callable
        ``vjp_fn(w)`` -> ``w^T J``, the cotangent ``w`` (structured like ``y``; else
        ``ValueError``) pulled back through the Jacobian ``J`` of ``f`` at ``x``, shaped
        like ``x``.

    See Also
    --------
    jvp, grad, jacobian

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> y, back = nd.vjp(lambda x: x ** 2, np.array([1.0, 2.0]))
    >>> back(np.array([1.0, 1.0]))
    array([2., 4.])
    """
    from .nested import nested_vjp, record_or_nest
    return record_or_nest((x,), lambda: _plain_vjp(f, x), lambda: nested_vjp(f, x))


def _plain_vjp(f, x):
    tape = record(f, (x,), input_argnums=(0,), replayed=False)
    y = in_dtype(tape.outputs(), answer_dtype(x))
    tape.forward(check_guards=False)

    def vjp_fn(w):
        w_leaves, w_def = flatten(w)
        if w_def != tape.out_treedef:
            raise ValueError(f"numad: vjp_fn takes a cotangent structured like f's output "
                             f"({tape.out_treedef}), got {w_def}")
        for e, leaf in zip(tape.output_entries, w_leaves):
            if np.size(leaf) != tape.size[e]:
                raise ValueError(f"numad: vjp_fn of {tape.name} takes a cotangent shaped like "
                                 f"f's output {tape.shape_of(e)}, got shape {np.shape(leaf)}")
        adj = tape.reverse(list(zip(tape.output_entries, w_leaves)))
        return like_argument(tape.gather_inputs(adj, None, 0), x)

    return y, vjp_fn


def jvp(f, x, v):
    """The value of ``f`` at ``x`` and its Jacobian-vector product ``J v`` (forward mode).

    ``f`` is recorded at ``x`` and one tangent sweep pushes the direction ``v`` through.

    Parameters
    ----------
    f : callable
        ``f(x)``, returning a float, an array or a pytree of them.
    x : float, ndarray or pytree
        The point.
    v : float, ndarray or pytree
        The direction, structured like ``x`` (else ``ValueError``).

    Returns
    -------
    y : float, ndarray or pytree
        ``f(x)``.
    jv : float, ndarray or pytree
        ``J v``, the directional derivative of ``f`` at ``x`` along ``v``, structured
        like ``y``.

    See Also
    --------
    vjp, jacobian, Dual

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.jvp(np.sin, 0.0, 1.0)
    (0.0, 1.0)
    """
    from .nested import nested_jvp, record_or_nest
    return record_or_nest((x, v), lambda: _plain_jvp(f, x, v), lambda: nested_jvp(f, x, v))


def _plain_jvp(f, x, v):
    tape = record(f, (x,), input_argnums=(0,), replayed=False)
    y = tape.outputs()
    tape.forward(check_guards=False)
    v_leaves, v_def = flatten(v)
    x_leaves, x_def = flatten(x)
    if v_def != x_def:
        raise ValueError("numad: jvp's direction v must have the structure of x")
    entries = [tape.input_entries[r] for r in tape.input_positions(0)]
    for leaf, x_leaf in zip(v_leaves, x_leaves):
        if np.shape(leaf) != np.shape(x_leaf):
            raise ValueError(f"numad: jvp of {tape.name}: the direction v must be shaped like "
                             f"x, {np.shape(x_leaf)}; got {np.shape(leaf)}")
    tan = tape.tangents(list(zip(entries, [np.reshape(t, (-1, 1)) for t in v_leaves])), 1)
    outs = []
    for e in tape.output_entries:
        t = tape.read(tan, e).copy()
        shape = tape.shape_of(e)
        outs.append(float(t[0]) if shape == () else t.reshape(shape))
    dtype = answer_dtype((x, v))
    return in_dtype(y, dtype), in_dtype(unflatten(tape.out_treedef, outs), dtype)
