"""Derivative rules of your own: ``nd.custom_vjp``, ``nd.custom_jvp`` and ``nd.primitive``.

A function decorated here is differentiated by the rule you give, never by tracing
through its body: a root found by ``scipy.optimize.brentq`` differentiated by the
implicit function theorem, a numerically careful formula (``logsumexp``), a call into
code numad cannot trace (an ``@njit`` kernel, a LAPACK routine).

How it is recorded: a call on traced values runs the function's forward on the
concrete values and records *one* tape entry (opcode ``custom``) whose inputs are the
traced arguments and whose value is the outputs, packed. A replayed tape stops its
compiled sweeps there and runs the rule (``numad/custom_runner.py``): the forward
again at the new inputs, then the reverse rule on the entry's adjoint, or the tangent
rule on the inputs' tangents. So cached adapters (``nd.gradient`` and friends) replay it
without tracing again, and a rule written with ``@njit`` runs compiled.

Every mode works whichever rule you give, as in JAX where it can and beyond it where
JAX cannot:

* a ``custom_vjp`` rule ``bwd`` is linear in the cotangent, so its transpose (the
  Jacobian-vector product forward mode needs) is the reverse sweep of ``bwd`` traced
  on a traced cotangent: forward-mode Jacobians and ``Dual`` numbers work too;
* a ``custom_jvp`` rule is linear in the tangents, so reverse mode transposes it the
  same way (JAX's approach);
* nested derivatives (``hessian``, ``hvp``, ``grad`` of ``grad``) run the rule itself on
  traced values, so the rule's own derivative is recorded: ``fwd`` of a ``custom_vjp``
  (for the residuals' dependence on the inputs) and ``bwd`` must then be traceable
  NumPy code, and numad says so where they are not.

``nd.primitive`` is the vectorized form: ``fn`` computes the value with NumPy
broadcasting, ``vjp(g, out, *inputs)`` and ``jvp(tangents, out, *inputs)`` the
derivatives; a mode whose rule is missing raises ``TracingError`` naming it.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from . import nested
from . import recording as R
from .traced import Traced, entry_of, recorder_of_traced, value_of
from .custom_runner import Call
from .dual import Dual
from .errors import MixedTraces, TracingError
from .optable import OPCODES
from .pytree import flatten, unflatten

__all__ = ["custom_vjp", "custom_jvp", "primitive"]

_CUSTOM = OPCODES["custom"]


# ---------------------------------------------------------------------------------------
# The three kinds of rules
# ---------------------------------------------------------------------------------------

class _Rule:
    """What every rule kind provides to the recording, the replays and nested mode.

    ``forward(call, args) -> (out, residuals)``; ``reverse(call, residuals, args, out,
    g)`` and ``traced_reverse`` -> one cotangent (or None) per input entry of the call;
    ``tangent(call, residuals, args, out, t)`` -> the outputs' tangent, ``t`` one
    tangent per input entry."""

    nondiff_argnums = ()

    def _positions(self, nargs):
        """The positions of the differentiable arguments."""
        return [k for k in range(nargs) if k not in self.nondiff_argnums]

    def _refuse_missing(self, what, how):
        raise MissingRule(what, f"numad: {self.name} has no {what} rule, so it cannot be "
                                f"differentiated in {how}; {self._remedy(what)}")

    def __call__(self, *args, **kwargs):
        if kwargs:
            args = _bound(self._signature_source(), args, kwargs, self.name)
        return _invoke(self, tuple(args))


class MissingRule(TracingError):
    """A custom rule's mode (``what``: "jvp" or "vjp") is not defined. ``nd.hessian``
    and ``nd.hvp`` catch a missing jvp and go reverse over reverse instead."""

    def __init__(self, what, message):
        super().__init__(message)
        self.what = what


def _bound(fun, args, kwargs, name):
    """Keyword arguments moved into their positions (a rule sees positional ones)."""
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except (TypeError, ValueError) as error:
        raise TypeError(f"numad: {name}: {error}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"numad: {name} takes keyword-only or **kwargs arguments, which a "
                        "function with a derivative rule of its own cannot take; make "
                        "them positional")
    return bound.args


class custom_vjp(_Rule):
    """A function whose reverse-mode derivative is the rule you give (as ``jax.custom_vjp``).

    Decorate ``f``, then call ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)``
    computes the value and whatever the rule needs; ``bwd(residuals, g)`` returns a
    tuple with one cotangent per argument (structured like it; ``None`` for zero),
    ``g`` being the cotangent of ``out``. With ``nondiff_argnums``, those arguments
    (settings, functions) get no cotangent and are passed to ``bwd`` first:
    ``bwd(*nondiff_args, residuals, g)``.

    The rule replaces differentiation through ``f`` in every transformation: reverse
    mode calls ``bwd``; forward mode (``nd.jvp``, forward-mode ``nd.jacobian``,
    ``Dual``) uses its transpose, found by tracing ``bwd`` (it is linear in ``g``);
    nested derivatives (``nd.hessian``) trace ``fwd`` and ``bwd`` on traced values,
    so for those they must be NumPy code numad can trace.

    Parameters
    ----------
    fun : callable, optional
        The function, ``fun(*args)``. Without it (``@nd.custom_vjp(nondiff_argnums=
        ...)``) the call returns a decorator that takes it.
    nondiff_argnums : tuple of int, optional
        Positions of arguments that are not differentiated (settings, functions); they
        are passed to ``bwd`` first.

    Returns
    -------
    custom_vjp
        A callable with ``fun``'s value and signature; its ``defvjp(fwd, bwd)`` sets
        the rule. Differentiating it before ``defvjp`` raises ``TracingError``.

    See Also
    --------
    custom_jvp, primitive

    Examples
    --------
    A square root whose derivative is stated rather than traced:

    >>> import numad as nd, numpy as np
    >>> @nd.custom_vjp
    ... def root(x):
    ...     return np.sqrt(x)
    >>> def root_fwd(x):
    ...     y = np.sqrt(x)
    ...     return y, y
    >>> def root_bwd(y, g):
    ...     return (g / (2.0 * y),)
    >>> root.defvjp(root_fwd, root_bwd)
    >>> nd.grad(root)(4.0)
    0.25
    """

    def __init__(self, fun=None, *, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.name = getattr(fun, "__name__", "f")
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def __new__(cls, fun=None, *, nondiff_argnums=()):
        if fun is None:  # @nd.custom_vjp(nondiff_argnums=...)
            return functools.partial(cls, nondiff_argnums=nondiff_argnums)
        return super().__new__(cls)

    def defvjp(self, fwd, bwd):
        """Set the rule: ``fwd(*args) -> (out, residuals)``, ``bwd(residuals, g)``.

        Parameters
        ----------
        fwd : callable
            ``fwd(*args) -> (out, residuals)``: the value and what ``bwd`` needs.
        bwd : callable
            ``bwd(residuals, g)`` (``bwd(*nondiff_args, residuals, g)`` with
            ``nondiff_argnums``) -> a tuple of one cotangent per differentiated
            argument (``None`` for zero).

        Returns
        -------
        None
            The rule is stored on the function.
        """
        self.fwd, self.bwd = fwd, bwd

    def _signature_source(self):
        return self.fun

    def _remedy(self, what):
        return f"call {self.name}.defvjp(fwd, bwd) before differentiating it"

    def plain(self, args):
        return self.fun(*args)

    def forward(self, call, args):
        if self.fwd is None:
            self._refuse_missing("vjp", "any mode")
        result = self.fwd(*args)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"numad: the fwd of {self.name} must return (out, residuals), "
                            f"got {type(result).__name__}")
        return result

    def _cotangents(self, call, args, residuals, g):
        nondiff = [args[k] for k in self.nondiff_argnums]
        cot = self.bwd(*nondiff, residuals, g)
        positions = self._positions(len(args))
        if not isinstance(cot, (tuple, list)):
            if len(positions) != 1:
                raise TypeError(f"numad: the bwd of {self.name} must return a tuple with "
                                f"one cotangent per argument ({len(positions)}), got "
                                f"{type(cot).__name__}")
            cot = (cot,)
        if len(cot) != len(positions):
            raise TypeError(f"numad: the bwd of {self.name} returned {len(cot)} cotangents "
                            f"for {len(positions)} differentiable arguments")
        return _per_input(call, cot, positions)

    def reverse(self, call, residuals, args, out, g):
        return self._cotangents(call, args, residuals, g)

    def tangent(self, call, residuals, args, out, t):
        # J t is the transpose of the linear g -> J^T g that bwd computes
        def cotangents(g):
            return _zeros_for_none(call, self._cotangents(call, args, residuals, g))
        return _transpose(cotangents, _zeros_like_tree(out), list(t), self.name, "bwd")

    def traced_reverse(self, call, args, out, g):
        try:
            _, residuals = self.fwd(*args)
        except TracingError as error:
            raise TracingError(
                f"numad: nested derivatives of {self.name} (a Hessian, grad of grad) trace "
                f"its fwd on traced values, for the residuals' own derivative, and fwd "
                f"could not be traced: {error}. Write fwd with NumPy operations, or give "
                f"{self.name} a custom_jvp rule, or take second derivatives by finite "
                "differences of nd.gradient") from error
        return self._cotangents(call, args, residuals, g)


class custom_jvp(_Rule):
    """A function whose forward-mode derivative is the rule you give (``jax.custom_jvp``).

    Decorate ``f``, then ``f.defjvp(jvp)`` with ``jvp(primals, tangents) -> (out,
    out_tangent)``, ``primals`` and ``tangents`` tuples of the arguments and their
    tangents; or ``f.defjvps(*rules)`` with one ``rule(g, out, *args)`` per argument
    giving that argument's contribution to the output tangent. The value is ``f``'s.
    Reverse mode transposes the rule (it is linear in the tangents), tracing it, so the
    tangent part of the rule must be NumPy code numad can trace.

    Parameters
    ----------
    fun : callable, optional
        The function, ``fun(*args)``. Without it (``@nd.custom_jvp(nondiff_argnums=
        ...)``) the call returns a decorator that takes it.
    nondiff_argnums : tuple of int, optional
        Positions of arguments that are not differentiated (settings, functions).

    Returns
    -------
    custom_jvp
        A callable with ``fun``'s value and signature; its ``defjvp(jvp)`` (or
        ``defjvps(*rules)``) sets the rule. Differentiating it before raises
        ``TracingError``.

    See Also
    --------
    custom_vjp, primitive

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> @nd.custom_jvp
    ... def softplus(x):
    ...     return np.logaddexp(0.0, x)
    >>> @softplus.defjvp
    ... def softplus_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return softplus(x), t / (1.0 + np.exp(-x))
    >>> float(nd.grad(softplus)(0.0))
    0.5
    """

    def __new__(cls, fun=None, *, nondiff_argnums=()):
        if fun is None:
            return functools.partial(cls, nondiff_argnums=nondiff_argnums)
        return super().__new__(cls)

    def __init__(self, fun=None, *, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.name = getattr(fun, "__name__", "f")
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp):
        """Set the rule ``jvp(primals, tangents) -> (out, out_tangent)``.

        Parameters
        ----------
        jvp : callable
            ``jvp(primals, tangents) -> (out, out_tangent)``, ``primals`` and
            ``tangents`` tuples of the arguments and their tangents.

        Returns
        -------
        callable
            ``jvp`` itself, so that ``defjvp`` can be used as a decorator.
        """
        self.jvp = jvp
        return jvp

    def defjvps(self, *rules):
        """Set the rule as one function per argument.

        Parameters
        ----------
        *rules : callable or None
            One per argument: ``rule(g, out, *args)`` -> that argument's part of the
            output tangent, ``g`` its tangent; ``None`` for an argument with no
            derivative.

        Returns
        -------
        None
            The rule is stored on the function.
        """
        def jvp(primals, tangents):
            out = self.fun(*primals)
            total = None
            for rule, t in zip(rules, tangents):
                if rule is None or t is None:
                    continue
                part = rule(t, out, *primals)
                total = part if total is None else total + part
            return out, (total if total is not None else _zeros_like_tree(out))
        self.jvp = jvp

    def _signature_source(self):
        return self.fun

    def _remedy(self, what):
        return f"call {self.name}.defjvp(jvp) before differentiating it"

    def plain(self, args):
        return self.fun(*args)

    def forward(self, call, args):
        return self.fun(*args), None

    def _tangent_of(self, call, args, t):
        if self.jvp is None:
            self._refuse_missing("jvp", "any mode")
        positions = self._positions(len(args))
        tangents = _tangent_args(call, args, t)
        nondiff = [args[k] for k in self.nondiff_argnums]
        result = self.jvp(*nondiff, tuple(args[k] for k in positions),
                          tuple(tangents[k] for k in positions))
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"numad: the jvp of {self.name} must return (out, "
                            f"out_tangent), got {type(result).__name__}")
        return result[1]

    def tangent(self, call, residuals, args, out, t):
        return self._tangent_of(call, args, t)

    def reverse(self, call, residuals, args, out, g):
        # J^T g is the transpose of the linear t -> J t that the rule computes
        zeros = [np.zeros(s) if s != () else 0.0 for s in call.in_shapes]
        return _transpose(lambda t: self._tangent_of(call, args, t), zeros, g, self.name,
                          "jvp")

    def traced_reverse(self, call, args, out, g):
        rec = next(recorder_of_traced(leaf) for leaf in flatten((args, g))[0] if isinstance(leaf, Traced))
        zeros = [R.as_traced(rec, np.zeros(s) if s != () else 0.0) for s in call.in_shapes]
        from .transforms import vjp
        _, back = vjp(lambda t: self._tangent_of(call, args, t), zeros)
        return back(g)


class primitive(_Rule):
    """A new primitive ``p = nd.primitive(name, fn, vjp=None, jvp=None)``; ``p(*inputs)``.

    ``fn(*inputs)`` computes the value on NumPy arrays (it may be ``@njit``), with NumPy
    broadcasting; it is recorded as one tape entry shown as ``name``.
    ``vjp(g, out, *inputs)`` returns a tuple with one cotangent per input, shaped like
    ``out`` or like that input (numad sums over the broadcast axes);
    ``jvp(tangents, out, *inputs)`` returns the tangent of ``out``, ``tangents`` a tuple
    with one entry per input (zeros for inputs that are constants). A mode whose rule is
    missing raises ``TracingError`` naming it. Second derivatives trace the rules on
    traced values, so for those write them with NumPy operations.

    Parameters
    ----------
    name : str
        The name the tape shows for the primitive's entries.
    fn : callable
        ``fn(*inputs)``: the value, on NumPy arrays and floats (it may be ``@njit``).
    vjp : callable, optional
        ``vjp(g, out, *inputs)`` -> a tuple of one cotangent per input, for reverse
        mode; None: reverse mode raises ``TracingError``.
    jvp : callable, optional
        ``jvp(tangents, out, *inputs)`` -> the tangent of ``out``, for forward mode;
        None: forward mode raises ``TracingError``.

    Returns
    -------
    primitive
        ``p(*inputs)``: ``fn``'s value on floats and arrays, one tape entry on traced
        values, the ``jvp`` rule on Duals. Its inputs are arrays and floats (a tuple,
        list or dict raises ``TypeError``).

    See Also
    --------
    custom_vjp, custom_jvp

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> cube = nd.primitive("cube", lambda x: x ** 3,
    ...                     vjp=lambda g, out, x: (3.0 * g * x ** 2,),
    ...                     jvp=lambda t, out, x: 3.0 * t[0] * x ** 2)
    >>> nd.grad(lambda x: np.sum(cube(x)))(np.array([1.0, 2.0]))
    array([ 3., 12.])
    """

    def __init__(self, name, fn, vjp=None, jvp=None):
        if not isinstance(name, str) or not callable(fn):
            raise TypeError("numad: nd.primitive(name, fn, vjp=None, jvp=None) takes a "
                            "name (str) and a function")
        self.name = name
        self.fn, self.vjp, self.jvp = fn, vjp, jvp
        self.__name__ = name
        self.__doc__ = getattr(fn, "__doc__", None)

    def __repr__(self):
        return f"<numad primitive {self.name}>"

    def __call__(self, *inputs):
        for x in inputs:
            if isinstance(x, (tuple, list, dict)):
                raise TypeError(f"numad: the primitive {self.name} takes arrays and floats, "
                                f"not a {type(x).__name__}")
        return _invoke(self, tuple(inputs))

    def _remedy(self, what):
        return f"pass {what}=... to nd.primitive({self.name!r}, ...)"

    def plain(self, args):
        return _as_output(self.fn(*args))

    def forward(self, call, args):
        return _as_output(self.fn(*args)), None

    def _cotangents(self, call, args, out, g, traced):
        if self.vjp is None:
            self._refuse_missing("vjp", "reverse mode (grad, gradient, vjp, reverse-mode "
                                 "jacobian)")
        cot = self.vjp(g, out, *args)
        if not isinstance(cot, (tuple, list)):
            cot = (cot,) if len(args) == 1 else cot
        if not isinstance(cot, (tuple, list)) or len(cot) != len(args):
            raise TypeError(f"numad: the vjp of {self.name} must return a tuple with one "
                            f"cotangent per input ({len(args)})")
        cot = [None if c is None else _unbroadcast(c, np.shape(value_of(a)), traced)
               for c, a in zip(cot, args)]
        return _per_input(call, cot, range(len(args)))

    def reverse(self, call, residuals, args, out, g):
        return self._cotangents(call, args, out, g, traced=False)

    def traced_reverse(self, call, args, out, g):
        return self._cotangents(call, args, out, g, traced=True)

    def tangent(self, call, residuals, args, out, t):
        if self.jvp is None:
            self._refuse_missing("jvp", "forward mode (jvp, forward-mode jacobian, Dual)")
        tangents = tuple(_tangent_args(call, args, t))
        out_t = np.asarray(self.jvp(tangents, out, *args), dtype=np.float64)
        out_t = np.broadcast_to(out_t, np.shape(out))
        return float(out_t) if out_t.shape == () else np.array(out_t)


# ---------------------------------------------------------------------------------------
# Calling a function with a rule: plain, on Duals, or recorded on a tape
# ---------------------------------------------------------------------------------------

def _invoke(rule, args):
    leaves, treedef = flatten(args)
    traced = [leaf for leaf in leaves if isinstance(leaf, Traced)]
    duals = [leaf for leaf in leaves if isinstance(leaf, Dual)]
    if not traced:
        return _dual_call(rule, args, leaves, treedef) if duals else rule.plain(args)
    if duals:
        raise TracingError(f"numad: {rule.name} was called with Dual numbers and traced "
                           "values at once; use one kind of forward mode")
    rec = recorder_of_traced(traced[0])
    if any(recorder_of_traced(t) is not rec for t in traced) or not rec.live:
        raise MixedTraces(f"numad: {rule.name} was called with values of another trace")
    for k in rule.nondiff_argnums:
        if any(isinstance(leaf, Traced) for leaf in flatten(args[k])[0]):
            raise TracingError(f"numad: argument {k} of {rule.name} is in nondiff_argnums "
                               "but depends on the differentiated inputs; remove it from "
                               "nondiff_argnums (numad then gives it its cotangent)")
    call = _describe(rule, args, leaves, treedef, lambda leaf: isinstance(leaf, Traced),
                     [entry_of(leaf) for leaf in traced])
    concrete = call.arguments([value_of(leaf) for leaf in traced])
    out, _ = rule.forward(call, concrete)
    _refuse_traced(rule, out)
    _set_outputs(call, out)
    flat = call.pack(out)
    if len(call.out_shapes) == 1:
        shape = call.out_shapes[0]
        value = float(flat[0]) if shape == () else flat.reshape(shape)
        p = rec.push(_CUSTOM, -1, -1, -1, value)
        rec.customs[p] = call
        return unflatten(call.out_treedef, [R.wrap(rec, p, value)])
    p = rec.push(_CUSTOM, -1, -1, -1, flat)
    rec.customs[p] = call

    def window(flat, start, stop, shape):
        value = float(flat[start]) if shape == () else flat[start:stop].reshape(shape).copy()
        return R.wrap(rec, rec.push_alias(p, start, value), value)
    return call.unpack(flat, window)


def _describe(rule, args, leaves, treedef, is_input, entries):
    """The ``Call`` of ``rule`` at ``args``: which leaves are inputs (``is_input``), one
    entry number each from ``entries``, the others constants."""
    slots, shapes, k = [], [], 0
    for leaf in leaves:
        if is_input(leaf):
            slots.append(k)
            shapes.append(np.shape(leaf.value if isinstance(leaf, Dual) else value_of(leaf)))
            k += 1
        else:
            slots.append(("const", leaf))
    call = Call(rule, treedef, slots, entries, shapes, None, [])
    call.arg_leaf_counts = [len(flatten(a)[0]) for a in args]
    call.input_leaves = [i for i, s in enumerate(slots) if isinstance(s, int)]
    return call


def _set_outputs(call, out):
    out_leaves, out_treedef = flatten(out)
    for leaf in out_leaves:
        arr = np.asarray(leaf)
        if arr.dtype.kind not in "fiub":
            raise TracingError(f"numad: {call.name} returned a {type(leaf).__name__}; "
                               "outputs must be floats or float arrays")
    call.out_treedef = out_treedef
    call.out_shapes = [np.shape(leaf) for leaf in out_leaves]
    call.out_sizes = [int(np.prod(s, dtype=np.int64)) for s in call.out_shapes]


def _refuse_traced(rule, tree):
    if any(isinstance(leaf, Traced) for leaf in flatten(tree)[0]):
        raise TracingError(f"numad: {rule.name} computed its result from a traced value "
                           "it was not given as an argument (it closes over one); pass "
                           "that value as an argument, so that its derivative is known")


def _dual_call(rule, args, leaves, treedef):
    """The call on Dual numbers: the value, and the tangent rule once per direction."""
    duals = [leaf for leaf in leaves if isinstance(leaf, Dual)]
    ndirs = {d._ndir for d in duals}
    if len(ndirs) > 1:
        raise ValueError(f"Dual {rule.name}: the arguments carry different numbers of "
                         "tangent directions")
    ndir = ndirs.pop()
    call = _describe(rule, args, leaves, treedef, lambda leaf: isinstance(leaf, Dual),
                     list(range(len(duals))))
    values = call.arguments([d.value for d in duals])
    out, residuals = rule.forward(call, values)
    _set_outputs(call, out)
    lanes = []
    for lane in range(ndir or 1):
        t = [d.tangent if ndir is None else np.asarray(d.tangent)[..., lane] for d in duals]
        lanes.append(flatten(rule.tangent(call, residuals, values, out, t))[0])
    result = []
    for k, leaf in enumerate(flatten(out)[0]):
        if ndir is None:
            result.append(Dual(leaf, lanes[0][k]))
        else:
            result.append(Dual(leaf, np.stack([np.asarray(lane[k], dtype=np.float64)
                                               for lane in lanes], axis=-1)))
    return unflatten(call.out_treedef, result)


# ---------------------------------------------------------------------------------------
# Helpers of the rules
# ---------------------------------------------------------------------------------------

def _per_input(call, cotangents, positions):
    """One cotangent per input entry of ``call`` from one cotangent (a pytree, or None)
    per argument in ``positions``."""
    starts = np.concatenate([[0], np.cumsum(call.arg_leaf_counts)]).astype(int)
    per_leaf = [None] * len(call.slots)
    for k, c in zip(positions, cotangents):
        if c is None:
            continue
        leaves, treedef = flatten(c)
        if treedef == ("none",):
            continue
        if len(leaves) != call.arg_leaf_counts[k]:
            raise TypeError(f"numad: the cotangent {call.name}'s rule gave for argument "
                            f"{k} has {len(leaves)} leaves, the argument has "
                            f"{call.arg_leaf_counts[k]}")
        per_leaf[starts[k]:starts[k + 1]] = leaves
    return [per_leaf[i] for i in call.input_leaves]


def _zeros_for_none(call, cotangents):
    return [np.zeros(s) if c is None and s != () else (0.0 if c is None else c)
            for c, s in zip(cotangents, call.in_shapes)]


def _tangent_args(call, args, t):
    """Tangents structured like the arguments: ``t`` for the inputs, zeros for the
    other float leaves, None for settings."""
    leaves = []
    for slot in call.slots:
        if isinstance(slot, int):
            leaves.append(t[slot])
            continue
        v = slot[1]
        arr = np.asarray(v) if isinstance(v, (float, int, np.ndarray, np.generic)) else None
        if arr is None or arr.dtype.kind not in "fiu" or isinstance(v, bool):
            leaves.append(None)
        else:
            leaves.append(np.zeros(arr.shape) if arr.shape else 0.0)
    return unflatten(call.arg_treedef, leaves)


def _zeros_like_tree(tree):
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [np.zeros(np.shape(value_of(v))) if np.ndim(value_of(v))
                               else 0.0 for v in leaves])


def _transpose(linear, example, w, name, which):
    """The transpose of the linear map ``linear`` applied to ``w``: the reverse sweep
    of ``linear`` traced at ``example``. Falls back to the map's dense matrix, one
    call per column, where ``linear`` cannot be traced."""
    from .transforms import vjp
    try:
        _, back = vjp(linear, example)
        return back(w)
    except TracingError:
        pass
    x_leaves, x_def = flatten(example)
    x_sizes = [int(np.size(v)) for v in x_leaves]
    w_leaves, _ = flatten(w)
    w_flat = np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in w_leaves])
    result = np.zeros(sum(x_sizes))
    for k in range(result.size):
        basis = np.zeros(result.size)
        basis[k] = 1.0
        pieces, start = [], 0
        for v, n in zip(x_leaves, x_sizes):
            piece = basis[start:start + n]
            pieces.append(piece.reshape(np.shape(v)) if np.ndim(v) else float(piece[0]))
            start += n
        column = flatten(linear(unflatten(x_def, pieces)))[0]
        result[k] = float(np.dot(np.concatenate(
            [np.ravel(np.asarray(c, dtype=np.float64)) for c in column]), w_flat))
    out, start = [], 0
    for v, n in zip(x_leaves, x_sizes):
        piece = result[start:start + n]
        out.append(piece.reshape(np.shape(v)) if np.ndim(v) else float(piece[0]))
        start += n
    return unflatten(x_def, out)


def _as_output(value):
    arr = np.asarray(value)
    if arr.dtype.kind == "c":
        # (a plain call on complex numbers, as the complex-step check makes: the
        # function's complex answer, as np.sin gives one; a float64 cast would drop
        # the imaginary part, and with it the derivative the check reads there)
        return complex(arr) if arr.ndim == 0 else arr
    arr = arr.astype(np.float64, copy=False)
    return float(arr) if arr.ndim == 0 else arr


def _unbroadcast(c, shape, traced):
    """The cotangent ``c`` (shaped like the output, or like the input) summed over the
    axes along which the input of ``shape`` was broadcast."""
    cshape = np.shape(value_of(c))
    if cshape == shape:
        return c
    extra = len(cshape) - len(shape)
    if extra < 0:
        raise ValueError(f"numad: a cotangent of shape {cshape} for an input of shape {shape}")
    axes = tuple(range(extra)) + tuple(
        extra + k for k, n in enumerate(shape) if n == 1 and cshape[extra + k] != 1)
    if axes:
        c = np.sum(c, axis=axes, keepdims=True)
    return np.reshape(c, shape)


# ---------------------------------------------------------------------------------------
# Nested derivatives: the rule run on traced values
# ---------------------------------------------------------------------------------------

def _traced_window(flat, start, stop, shape):
    if np.shape(value_of(flat)) == shape and start == 0:
        return flat  # (the call's only output)
    return flat[start] if shape == () else np.reshape(flat[start:stop], shape)


def _rule_custom(rec, i, a, b, c, g, adj, start):
    call = rec.customs[i]
    if all(e < start for e in call.in_entries):
        # every cotangent would be dropped (inputs from before the derivative being
        # taken are its constants): skip the rule. A custom_jvp rule that calls its own
        # function for the primal, ``(h(x), 3 * h(x) * t)``, records such a call inside
        # its transpose, and running its rule there would recurse without end.
        return
    args = call.arguments([nested.traced_entry(rec, e) for e in call.in_entries])
    out = call.unpack(nested.traced_entry(rec, i), _traced_window)
    if not isinstance(g, Traced):
        g = R.as_traced(rec, g)
    g_tree = call.unpack(g, _traced_window)
    cotangents = call.rule.traced_reverse(call, args, out, g_tree)
    for e, shape, cot in zip(call.in_entries, call.in_shapes, cotangents):
        if cot is None or e < start:
            continue
        nested.add_adjoint(rec, adj, e, cot, shape)


nested.register_rule("custom", _rule_custom)
