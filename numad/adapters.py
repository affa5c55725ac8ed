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
import threading
import warnings
from threading import get_ident

import numpy as np

from .config import compile_mode
from .precision import answer_dtype, in_dtype, like_argument
from .pytree import flatten, leaf_is_differentiable, real_values, unflatten
from .tracer import record
from .custom import MissingRule
from .errors import MixedTraces
from .transforms import grad, keywords_last, value_and_grad
from .watch import Unwatched

_FLOAT64 = np.dtype(np.float64)   # (``is``: the hot paths' cheapest test of a float array)


def _signature(args, name="f"):
    """What a cached tape depends on: structure, input shapes and the settings
    (``name``: the function's, for the message that refuses a complex argument)."""
    key = []
    for k, arg in enumerate(args):
        if type(arg) is np.ndarray and arg.dtype.kind == "f":
            key.append(arg.shape)
            continue
        if type(arg) is float:
            key.append("f")
            continue
        leaves, treedef = flatten(arg)
        parts = [treedef]
        for leaf in leaves:
            if leaf_is_differentiable(leaf, f"argument {k} of {name}"):
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

    # Tapes kept per signature: one per branch pattern met, most recent first, so that
    # an optimizer going back and forth across a branch (a Huber loss, a max) replays
    # instead of tracing at every crossing.
    BRANCH_PATTERNS = 8

    def __init__(self, f, compile="never"):
        self.f = f
        self.compile = compile   # the tapes' compile_mode (numad/tape_compiler.py)
        self.name = getattr(f, "__name__", "f")
        # signature -> [tape, ...], the most recently used first. Shared by the threads
        # that call the adapter: the lists change only under the lock, and each thread
        # sweeps its own working copy of a tape (Tape.local).
        self.tapes = {}
        self.lock = threading.Lock()
        self.traces = 0   # how many times f was traced (for tests and curiosity)
        self.warned = False

    def tape_at(self, args, kwargs=None):
        """This thread's view of a tape whose values (and stored partials) are those at
        ``args``: a cached one whose branch decisions and watched values hold there, or
        a new trace."""
        key = _signature(args, self.name)
        if kwargs:
            args, key = args + (kwargs,), ("keywords",) + _signature(args + (kwargs,),
                                                                     self.name)
        with self.lock:
            tapes = list(self.tapes.get(key, ()))
        for tape in tapes:
            mine = tape.local()
            if mine.matches(*args):  # (a forward sweep at args)
                if tape is not tapes[0]:
                    self._remember(key, tape)
                return mine
        tape = record(keywords_last(self.f) if kwargs else self.f, args, input_argnums=(0,),
                      others_static=False, name=self.name)
        tape.compile_mode = self.compile
        tape.forward(check_guards=False)
        with self.lock:
            self.traces += 1
        why = tape.stale()
        if isinstance(tape.watch, Unwatched):
            return tape   # (never kept: what f reads is not all watched; it warned)
        if why is None:
            self._remember(key, tape)
        elif not self.warned:
            self.warned = True
            warnings.warn(f"numad: {self.name} changes what it reads while it runs "
                          f"({why}), so it is traced again at every call (correct, but "
                          "slower). Pass such state in as an argument, or keep it "
                          "outside the differentiated function", RuntimeWarning,
                          stacklevel=4)
        return tape

    def _remember(self, key, tape):
        """Put ``tape`` first in its signature's list (most recently used)."""
        with self.lock:
            tapes = [t for t in self.tapes.get(key, ()) if t is not tape]
            tapes.insert(0, tape)
            # a new list, never one changed in place, so that readers without the lock
            # (the adapters' hot path) see a whole list
            self.tapes[key] = tapes[:self.BRANCH_PATTERNS]


def _dot_all(a, b):
    """The sum of the products of two arrays' entries (a traced scalar inside a trace)."""
    return np.sum(a * np.reshape(b, np.shape(a)))


def _nested(args):
    from .nested import any_traced
    return any_traced(args)


def _outer_value_met():
    from .nested import outer_trace_running   # (record_or_nest's test, for the adapters)
    return outer_trace_running()


def value_and_gradient(f, compile=None):
    """The value and gradient of scalar ``f(x, *args)``, for ``minimize(..., jac=True)``.

    ``f`` is traced once per signature of its arguments (the shapes of the float
    inputs, the values of the settings), then each call replays the cached tape: one
    forward and one reverse sweep. Where a recorded branch decision fails at the new
    point, ``f`` is traced again, so the answer is always the one at ``(x, args)``.
    Float arrays and floats among ``args`` are inputs (they may change from call to
    call); ints, bools, strings and other objects are settings (a new value traces
    anew). Values ``f`` reads without taking them as arguments are watched: when one
    changes, ``f`` is traced anew.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs) -> float``, a scalar function of a float or float array
        ``x`` (and of the float inputs among ``args``).
    compile : {"auto", "always", "never"}, optional
        Whether the recorded tape is turned into its own ``@njit`` code; None (the
        default) takes ``nd.config.compile``. At present the value-and-gradient sweep of tapes of
        scalar operations with a scalar output compiles; other tapes replay on the
        generic compiled sweeps. ``"auto"`` compiles once the replays so far, expected
        to come again, save more than compiling costs; compiled code is cached on
        disk, keyed by the tape's structure (an unwritable cache still works).

    Returns
    -------
    callable
        ``fun(x, *args, **kwargs) -> (value, gradient)``: ``f``'s value (a float) and
        its gradient with respect to ``x``, shaped like ``x`` (a float for a float).
        A non-scalar output raises ``ValueError`` (use ``nd.jacobian`` or ``nd.vjp``).

    See Also
    --------
    gradient : The gradient alone.
    value_and_grad : The same for any argument, without the tape cache.
    numad.optimize.minimize : ``scipy.optimize.minimize`` with these derivatives.

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
    return _value_and_gradient(f, compile, "nd.value_and_gradient")


def _value_and_gradient(f, compile, what):
    """``nd.value_and_gradient``'s adapter, its errors naming ``what`` (the adapter
    the user called: ``nd.gradient`` is built on it)."""
    cache = TapeCache(f, compile_mode(compile, what))

    @functools.wraps(f)
    def fun(x, *args, **kwargs):
        if not args and not kwargs and type(x) is np.ndarray and x.dtype is _FLOAT64:
            # the optimizer's hot path: one float array, a cached tape, one kernel call
            tape = _hot_tape(cache, x)
            if tape is not None:
                start, n, out = tape.single_input
                answer = _direct(tape, x, True)
                if answer is not None:
                    return answer
                tape.vals[start:start + n] = x.ravel()
                if tape.sweep_value_and_gradient(out) < 0:
                    g = tape.adjoints[start:start + n].copy()
                    return (float(tape.vals[tape.off[out]]),
                            g if x.ndim == 1 else g.reshape(x.shape))
        args = (x,) + args
        if _nested((args, kwargs)):
            return value_and_grad(f)(*args, **kwargs)
        try:
            tape = cache.tape_at(args, kwargs)
        except MixedTraces:
            if not _outer_value_met():
                raise
            return value_and_grad(f)(*args, **kwargs)
        out = tape.scalar_output(what)
        adj = tape.gradient_loaded(out)
        value = in_dtype(float(tape.vals[tape.off[out]]), answer_dtype((args, kwargs)))
        return value, like_argument(tape.gather_inputs(adj, None, 0), x)

    fun.cache = cache
    return fun


def _in_input_precision(fun):
    """``fun(x, *args)`` with its answer in the float type of the inputs: float32 inputs
    get float32 answers (numad/precision.py). float64 arrays pass straight through."""
    @functools.wraps(fun)
    def rounded(x, *args, **kwargs):
        if type(x) is np.ndarray and x.dtype is _FLOAT64:
            return fun(x, *args, **kwargs)
        return in_dtype(fun(x, *args, **kwargs), answer_dtype((x, args, kwargs)))

    rounded.__wrapped__ = fun
    return rounded


def _hot_tape(cache, x):
    """The hot paths' tape for a float array ``x``: the cached tape of its shape, this
    thread's copy, where it is of one array to one scalar and what f reads besides x
    is unchanged; else None (the full path decides)."""
    tapes = cache.tapes.get((x.shape,))
    tape = tapes[0] if tapes else None
    if tape is not None and tape.owner != get_ident():
        tape = tape.local()
    if tape is not None and tape.single_input is not None and (
            tape.watch is None or tape.watch.holds()):
        return tape
    return None


def _direct(tape, x, value):
    """(the value where ``value``, else None; the gradient) of a fused tape of one
    array by its direct code (it reads ``x`` and writes the gradient in place: no
    copies through the tape's buffers, which it lets go: ``Tape.shed``), or None where
    there is none, or where a branch changed or an inf or a nan met on the way asks
    for the general path."""
    if tape.compiled_direct is None or tape.compiled is None:
        return None
    vals, adj = tape.direct_buffers()
    g = np.empty(x.shape)
    if tape.compiled_direct(vals, adj, value, x.ravel(), g.reshape(-1)) != -1:
        return None
    tape.shed()
    return (float(vals[tape.direct_output]) if value else None), g


def gradient(f, compile=None):
    """The gradient of scalar ``f(x, *args)``, for ``minimize(f, x0, jac=nd.gradient(f))``.

    The derivative part of ``nd.value_and_gradient(f)``: ``f`` is traced once per
    signature of its arguments and the cached tape is replayed at every new ``x`` or
    ``args`` (traced again where a recorded branch decision fails there).

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs) -> float``, a scalar function of a float or float array
        ``x``.
    compile : {"auto", "always", "never"}, optional
        Whether the recorded tape is turned into its own ``@njit`` code; None (the
        default) takes ``nd.config.compile``. As in ``nd.value_and_gradient``.

    Returns
    -------
    callable
        ``jac(x, *args, **kwargs)``: the gradient of ``f`` with respect to ``x``, shaped
        like ``x`` (1-D for a 1-D ``x``; a float for a float). A non-scalar output
        raises ``ValueError`` (use ``nd.jacobian`` or ``nd.vjp``).

    See Also
    --------
    value_and_gradient : The value and the gradient from one sweep.
    grad : The gradient with respect to any argument.
    hessian, hvp

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
    vg = _value_and_gradient(f, compile, "nd.gradient")
    cache = vg.cache

    @functools.wraps(f)
    def jac(x, *args, **kwargs):
        if not args and not kwargs and type(x) is np.ndarray and x.dtype is _FLOAT64:
            # the optimizer's hot path, as value_and_gradient's, without the value
            tape = _hot_tape(cache, x)
            if tape is not None:
                start, n, out = tape.single_input
                answer = _direct(tape, x, False)
                if answer is not None:
                    return answer[1]
                tape.vals[start:start + n] = x.ravel()
                if tape.sweep_value_and_gradient(out, False) < 0:
                    g = tape.adjoints[start:start + n].copy()
                    return g if x.ndim == 1 else g.reshape(x.shape)
        return vg(x, *args, **kwargs)[1]

    jac.cache = vg.cache
    return jac


def jacobian(f, mode="auto", compile=None):
    """The Jacobian of vector-valued ``f(x, *args)`` with respect to ``x``.

    ``f`` is traced once per signature of its arguments and the cached tape is
    replayed at every new ``x`` or ``args`` (traced again where a recorded branch
    decision fails there), as for ``nd.gradient``.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs)``, a function of a float or float array ``x`` returning
        a float or a float array.
    mode : {"auto", "forward", "reverse"}, optional
        ``"forward"`` pushes all n input directions through one vector tangent sweep;
        ``"reverse"`` runs one reverse sweep per output (m in all); ``"auto"`` (the
        default) picks forward when n <= m, else reverse. Another value raises
        ``ValueError``.
    compile : {"auto", "always", "never"}, optional
        Whether the recorded tape is turned into its own ``@njit`` code; None (the
        default) takes ``nd.config.compile``. As in ``nd.value_and_gradient``: forward mode's tangent
        sweep compiles (straight-line code, up to 2500 scalar operations), and so does
        reverse mode's row (a vector-Jacobian product a call, a Jacobian counting as m
        replays towards ``"auto"``); tapes with a scan loop run on the generic sweeps.

    Returns
    -------
    callable
        ``jac(x, *args, **kwargs)``: the Jacobian, shaped ``f(x).shape + x.shape``
        (``(m, n)`` for a 1-D ``x`` and a 1-D output), in the float type of the inputs.

    See Also
    --------
    jvp, vjp, jacobian_batch
    numad.optimize.least_squares : ``scipy.optimize.least_squares`` with this Jacobian.

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
    cache = TapeCache(f, compile_mode(compile, "nd.jacobian"))

    @functools.wraps(f)
    def jac(x, *args, **kwargs):
        args = (x,) + args

        def nested():
            from .nested import nested_jacobian
            if kwargs:
                return nested_jacobian(keywords_last(f), args + (kwargs,), mode)
            return nested_jacobian(f, args, mode)
        if _nested((args, kwargs)):
            return nested()
        try:
            tape = cache.tape_at(args, kwargs)
        except MixedTraces:
            if not _outer_value_met():
                raise
            return nested()
        return tape.jacobian_loaded(mode, 0)

    jac = _in_input_precision(jac)
    jac.cache = cache
    return jac


def _gradient_tape_cache(f):
    """A tape cache of f's gradient: the reverse sweep of f, recorded (nested), so that
    a tangent sweep over it is forward-over-reverse (Hessian-vector products)."""
    g = gradient(f)

    def grad_of_f(x, *args, **kwargs):
        return g(x, *args, **kwargs)

    grad_of_f.__name__ = f"gradient of {getattr(f, '__name__', 'f')}"
    return TapeCache(grad_of_f)


def hvp(f, compile=None):
    """The Hessian-vector product ``H p`` of scalar ``f(x, *args)``: SciPy's ``hessp``.

    Forward over reverse, on f's cached tape: one kernel call sweeps the direction
    ``p`` forward (tangents) and then the adjoints and their tangents backward, a small
    constant times the cost of one gradient. Tapes with operations the kernel has no
    second-order step for (prod, cumprod, the linear-algebra factorizations, loops) use
    f's recorded gradient instead, with a tangent sweep over it.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs) -> float``, a scalar function of a float or float array
        ``x``.
    compile : {"auto", "always", "never"}, optional
        Whether the recorded tape is turned into its own ``@njit`` code; None (the
        default) takes ``nd.config.compile``. As in ``nd.value_and_gradient``: the tapes that compile
        there compile their product too, counting products towards ``"auto"``.

    Returns
    -------
    callable
        ``hessp(x, p, *args, **kwargs)``: ``H(x) p``, shaped like ``x``, for a direction
        ``p`` with as many values as ``x`` (else ``ValueError``).

    See Also
    --------
    hessian : The whole Hessian.
    hvp_batch : Many products at once.
    numad.optimize.minimize : Passes this as ``hessp`` to the Newton-type methods.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> from scipy.optimize import rosen_hess_prod
    >>> def rosen(x):
    ...     return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    >>> x, p = np.array([0.5, 1.5, -0.3]), np.array([1.0, 0.0, 2.0])
    >>> bool(np.allclose(nd.hvp(rosen)(x, p), rosen_hess_prod(x, p)))
    True
    """
    cache = TapeCache(f, compile_mode(compile, "nd.hvp"))
    gradient_tapes = []  # the recorded gradient, made only for tapes the kernel can't take
    # Newton-CG and the trust-region methods ask for many products at one point: the
    # forward sweep there is done once, and later products only run the product sweep.
    # What was loaded where is each thread's own (as the tapes' buffers are).
    last = _LastPoint()

    @functools.wraps(f)
    def hessp(x, p, *args, **kwargs):
        try:
            return forward_over_reverse(x, p, *args, **kwargs)
        except MissingRule as missing:
            if missing.what != "jvp":
                raise
            # (a custom rule with a vjp only: H p = grad of (grad f . p), exact too)
            return grad(lambda y: _dot_all(gradient(f)(y, *args, **kwargs), p))(x)

    def forward_over_reverse(x, p, *args, **kwargs):
        tape = last.tape
        if (not args and not kwargs and last.kernel and tape is not None and type(x) is np.ndarray
                and type(p) is np.ndarray and p.dtype is _FLOAT64
                and x.dtype is _FLOAT64 and tape.single_input is not None
                and x.shape == last.shape and p.size == x.size
                and (tape.watch is None or tape.watch.holds())):
            # the optimizers' hot path: f(x) of one array, f's own tape, one kernel call
            start, n, _ = tape.single_input
            if tape.compiled_hvp is not None:
                # (the compiled product computes the values itself: it needs no test
                # of whether x is the point loaded last, and leaves none loaded)
                tape.vals[start:start + n] = x.ravel()
                hp = tape.hvp_at_new_inputs(p)
                last.point = None
                if hp is not None:
                    return hp if x.ndim == 1 else hp.reshape(x.shape)
                last.tape = None  # a branch changed here: the full path re-traces
            elif last.point is None or not np.array_equal(x, last.point[0]):
                tape.vals[start:start + n] = x.ravel()
                hp = tape.hvp_at_new_inputs(p)
                if hp is not None:
                    last.point = (x.copy(),)
                    return hp.reshape(x.shape)
                last.tape = None  # a branch changed here: the full path re-traces
            else:
                return tape.hvp_single(p).reshape(x.shape)
        def nested():
            from .transforms import jvp, grad
            return jvp(lambda z: grad(f)(z, *args, **kwargs), x, p)[1]
        if _nested(((x, p) + args, kwargs)):
            return nested()
        point = (x,) + args + ((kwargs,) if kwargs else ())
        tape = last.tape
        if (tape is None or last.point is None or not _same_point(point, last.point)
                or (tape.watch is not None and not tape.watch.holds())):
            try:
                tape = cache.tape_at((x,) + args, kwargs)
            except MixedTraces:
                if not _outer_value_met():
                    raise
                return nested()
            last.kernel = tape.hvp_capable
            if not tape.hvp_capable:
                if not gradient_tapes:
                    gradient_tapes.append(_gradient_tape_cache(f))
                tape = gradient_tapes[0].tape_at((x,) + args, kwargs)
            last.tape, last.point, last.shape = tape, _copy_point(point), np.shape(x)
        (e,) = [int(tape.input_entries[r]) for r in tape.input_positions(0)]
        direction = real_values(p, "hvp's p").reshape(-1, 1)
        if direction.shape[0] != tape.size[e]:
            raise ValueError(f"numad: hvp's p has {direction.shape[0]} values, x has "
                             f"{tape.size[e]}")
        if last.kernel:
            # forward over reverse on f's own tape, one kernel
            out = tape.scalar_output("nd.hvp")
            Hp = tape.read(tape.hvp_loaded(out, [(e, direction)]), e).copy()
        else:
            # a tangent sweep over the recorded gradient of f
            tan = tape.tangents([(e, direction)], 1)
            Hp = tape.read(tan, tape.output_entries[0]).copy()
        return Hp.reshape(np.shape(x)) if np.ndim(x) else float(Hp[0])

    hessp = _in_input_precision(hessp)
    hessp.cache = cache
    return hessp


def _hessian_by_products(own, x, args, kwargs):
    """The Hessian at ``x`` as the n compiled Hessian-vector products of f's own tape
    (``own``, its TapeCache) with the columns of the identity, where that tape has
    compiled product code by now (``Tape.hvp_code``'s rule, a Hessian counting as n
    products); else None. A product that meets an inf or a nan takes the generic
    sweep's rule (``Tape.hvp_loaded``)."""
    tape = own.tape_at((x,) + args, kwargs)   # (its values at x: a forward sweep there)
    if not tape.hvp_capable or tape.single_input is None:
        return None
    start, n, out = tape.single_input
    if tape.hvp_code(n) is None:   # (n products: ``Tape.hvp_code``'s rule)
        return None
    (e,) = [int(tape.input_entries[r]) for r in tape.input_positions(0)]
    H = np.empty((n, n))
    column = np.zeros(n)
    for j in range(n):
        column[j] = 1.0
        H[:, j] = tape.read(tape.hvp_loaded(out, [(e, column)]), e)
        column[j] = 0.0
    return H


class _LastPoint(threading.local):
    """The tape an ``hvp`` adapter last loaded in this thread, and at which point."""

    def __init__(self):
        self.tape = None
        self.point = None    # (None: nothing known to be loaded)
        self.shape = None    # the shape of x at the last trace or load
        self.kernel = False


def _same_point(a, b):
    la, ta = flatten(a)
    lb, tb = flatten(b)
    if ta != tb:
        return False
    for u, v in zip(la, lb):
        if isinstance(u, np.ndarray) or isinstance(v, np.ndarray):
            if not (isinstance(u, np.ndarray) and isinstance(v, np.ndarray)
                    and u.shape == v.shape and u.dtype == v.dtype and np.array_equal(u, v)):
                return False
        elif type(u) is not type(v) or u != v:
            return False
    return True


def _copy_point(point):
    leaves, treedef = flatten(point)
    return unflatten(treedef, [np.array(v) if isinstance(v, np.ndarray) else v
                               for v in leaves])


def hessian(f, compile=None):
    """The Hessian of scalar ``f(x, *args)`` with respect to ``x``, exactly symmetric.

    All n Hessian-vector products in one sweep: the tangent sweep over the recorded
    gradient with the n columns of the identity as its lanes. The recorded gradient is
    cached per signature of the arguments, as ``nd.gradient``'s tape is.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs) -> float``, a scalar function of a float or float array
        ``x``.
    compile : {"auto", "always", "never"}, optional
        Whether the recorded tape is turned into its own ``@njit`` code; None (the
        default) takes ``nd.config.compile``. Where ``f``'s own tape compiles its
        Hessian-vector code (as in ``nd.hvp``; a Hessian counts as n products towards
        ``"auto"``), the Hessian is its n products with the columns of the identity;
        otherwise the one tangent sweep over the recorded gradient.

    Returns
    -------
    callable
        ``hess(x, *args, **kwargs)``: the Hessian, shaped ``x.shape + x.shape`` (``(n,
        n)`` for a 1-D ``x``; a float for a float), symmetrized as ``(H + H.T) / 2``.

    See Also
    --------
    hvp : Hessian-vector products, without forming ``H``.
    gradient

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> nd.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 3.0]))
    array([[6., 2.],
           [2., 0.]])
    """
    mode = compile_mode(compile, "nd.hessian")
    # (the recorded gradient holds where entries, which the straight-line tangent code
    # does not take: compiled, the Hessian comes from f's own tape, column by column)
    own = TapeCache(f, mode) if mode != "never" else None
    cache = _gradient_tape_cache(f)
    # (under "auto", f's own tape is consulted, at the cost of its forward sweep, only
    # while it answers, or where the products counted pass a power of two: the rule's
    # points of decision)
    products = [0, False]   # products asked for, and whether the last Hessian was products

    @functools.wraps(f)
    def hess(x, *args, **kwargs):
        try:
            return forward_over_reverse(x, *args, **kwargs)
        except MixedTraces:
            if not _outer_value_met():
                raise
            return nested(x, *args, **kwargs)
        except MissingRule as missing:
            if missing.what != "jvp":
                raise
            # (a custom rule with a vjp only: the Jacobian of the gradient by reverse
            # sweeps, one per row, made exactly symmetric as below)
            n = int(np.size(x))
            H = np.asarray(jacobian(gradient(f), mode="reverse")(x, *args, **kwargs))
            H = (H.reshape(n, n) + H.reshape(n, n).T) * 0.5
            return H.reshape(np.shape(x) + np.shape(x)) if np.ndim(x) else float(H[0, 0])

    def nested(x, *args, **kwargs):
        from .nested import nested_jacobian
        g = gradient(f)
        H = (nested_jacobian(keywords_last(g), (x,) + args + (kwargs,), "forward")
             if kwargs else nested_jacobian(g, (x,) + args, "forward"))
        return (H + H.T) * 0.5

    def forward_over_reverse(x, *args, **kwargs):
        if _nested(((x,) + args, kwargs)):
            return nested(x, *args, **kwargs)
        n = int(np.size(x))
        H = None
        if own is not None:
            before = products[0]
            products[0] += n
            if (products[1] or mode == "always"
                    or products[0].bit_length() > before.bit_length()):
                H = _hessian_by_products(own, x, args, kwargs)
                products[1] = H is not None
        if H is None:
            tape = cache.tape_at((x,) + args, kwargs)
            H = tape.jacobian_loaded("forward", 0).reshape(n, n)
        # forward-over-reverse is symmetric only to rounding: make it exactly so
        H = (H + H.T) * 0.5
        return H.reshape(np.shape(x) + np.shape(x)) if np.ndim(x) else float(H[0, 0])

    hess = _in_input_precision(hess)
    hess.cache = cache
    hess.own_cache = own   # (f's own tapes, for the compiled products; None: "never")
    return hess
