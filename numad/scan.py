"""``nd.scan``: a loop whose step is traced once and replayed by compiled loops.

``scan(step, init, xs)`` means, as ``jax.lax.scan`` does::

    carry = init
    for x in xs:                 # the rows of xs (every leaf along its first axis)
        carry, y = step(carry, x)
    return carry, stack(all y)

Inside a trace, the step is recorded once, as the loop's *body* (entries of the tape
between the loop's inputs and a ``scan`` entry that holds its results), and the scan
driver (``numad/scan_kernels.py``) runs the body ``length`` times, forward and in
reverse under a checkpoint schedule (``numad/checkpoint.py``). Values the step closes
over are ordinary entries before the body, so their derivatives come out too.

Where the step's branch decisions are not the same at every step (an ``if`` on the
carry that goes the other way later), the loop is unrolled instead: every step is
recorded, and the answer is right, at the memory cost of a plain traced loop. A scan
inside another scan's step is unrolled into that step.
"""
from __future__ import annotations

import numpy as np

from . import scan_kernels as SK
from . import recording as R
from . import tracer as T
from .traced import Traced, TracedVector, entry_of, recorder_of_traced, value_of
from .config import compile_mode
from .errors import TracingError
from .optable import OPCODES
from .loop_runner import loop_layout
from .progress import reporter
from .precision import answer_dtype, in_dtype
from .pytree import flatten, unflatten
from .watch import reach, side_channels

STRATEGIES = ("auto", "store_all", "recompute_all", "uniform", "binomial")
_INPUT = OPCODES["input"]
_SCAN = OPCODES["scan"]
_CONST = OPCODES["const"]
_ALIAS = OPCODES["alias"]


class ScanLoop:
    """A recorded loop: the entries of its body, inputs and results (see the driver's
    module docstring for what each list holds), and how to run it again in Python."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def scan(step, init, xs=None, length=None, *, checkpoint="auto", snapshots=None,
         compile=None, progress=False):
    """Loop ``step`` over the rows of ``xs``, carrying state: ``jax.lax.scan``'s meaning.

    ``step(carry, x) -> (carry, y)``; returns ``(final_carry, ys)`` with ``ys`` the
    outputs stacked along a new first axis (``None`` where the step returns ``y=None``).
    ``init``, ``xs`` and ``y`` may be floats, arrays or pytrees of them. The step is
    traced once and replayed by a compiled loop; derivatives flow to ``init``, ``xs``
    and every traced value the step closes over.

    ``checkpoint`` chooses how reverse mode gets each step's values back:
    ``"store_all"`` keeps every step's intermediates; ``"recompute_all"`` keeps only the
    initial carry and recomputes (quadratic time); ``"uniform"`` snapshots the carry
    every k-th step (k = ceil(sqrt(length)), or so that ``snapshots`` snapshots
    suffice); ``"binomial"`` follows Griewank and Walther's optimal schedule with
    ``snapshots`` snapshots; ``"auto"`` is binomial with as many snapshots as
    ``nd.config.memory_budget`` holds (where the step is compiled and the budget holds a
    snapshot of every step, store_all: a compiled step records only its input carry, so
    that is the same memory with half the step runs). All give the same derivatives;
    ``nd.checkpoint_schedule`` shows the time and memory of each.

    ``compile`` (``"auto"``, ``"always"``, ``"never"``; default: the ``compile=`` of
    the adapter or ``nd.trace`` that traces the loop, else ``nd.config.compile``): whether
    the step runs as its own ``@njit`` code (``numad/tape_compiler.py``), in value and
    reverse mode (forward mode and Hessian-vector products replay it on the generic
    sweeps). ``"auto"`` compiles a loop of at least 200 steps, or a step whose code is
    in the cache already; a step compiles when it is made of elementwise operations,
    ``x[i]`` with constant indices, ``nd.stack``/``concatenate`` and sums. A compiled
    step gives the generic sweeps' numbers bit for bit, except where one value is used
    by several identical operations: they are computed once, and their adjoints summed
    in another order (differences of an ulp or so).

    ``progress``: ``True`` shows a tqdm bar per pass (forward, reverse), a callable
    receives ``(done, total, phase)`` at the start and end of each pass
    (``numad/progress.py``).

    Parameters
    ----------
    step : callable
        ``step(carry, x) -> (carry, y)``: the new carry, of the structure, shapes and
        dtypes of ``init`` (else ``TypeError``), and this step's output ``y`` (or
        ``None``).
    init : float, ndarray or pytree
        The initial carry.
    xs : ndarray or pytree, optional
        The per-step inputs, the steps along the first axis of every leaf (of one
        length); None: ``step`` gets ``x = None``.
    length : int, optional
        The number of steps; needed without ``xs``, and must match its rows if both
        are given (else ``ValueError``).
    checkpoint : {"auto", "store_all", "recompute_all", "uniform", "binomial"}, optional
        How reverse mode gets each step's values back (see above; default
        ``"auto"``). Another value raises ``ValueError``.
    snapshots : int, optional
        The snapshot budget of ``"uniform"`` and ``"binomial"`` (``>= 1``, else
        ``ValueError``); None: the strategy's default.
    compile : {"auto", "always", "never"}, optional
        Whether the step runs as its own ``@njit`` code (see above).
    progress : bool or callable, optional
        ``True`` shows a progress bar (tqdm, optional), a callable receives ``(done,
        total, phase)``; ``False`` (the default) reports nothing.

    Returns
    -------
    final_carry : float, ndarray or pytree
        The carry after the last step.
    ys : ndarray, pytree or None
        The steps' outputs stacked along a new first axis; None where the step returns
        ``y=None``.

    See Also
    --------
    checkpoint_schedule : The time and memory of each strategy.
    odeint, fori_loop, while_loop

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> def total(c, x):
    ...     return c + x, 2.0 * c
    >>> nd.scan(total, 0.0, np.array([1.0, 2.0, 3.0]))
    (6.0, array([0., 2., 6.]))
    >>> def decay(k):                      # y' = -k y by explicit Euler, 100 steps
    ...     final, _ = nd.scan(lambda y, _: (y - 0.01 * k * y, None), 1.0, length=100)
    ...     return final
    >>> round(nd.grad(decay)(0.5), 10) == round(-100 * 0.01 * (1 - 0.005) ** 99, 10)
    True
    """
    compile_mode(compile, "nd.scan")
    if checkpoint not in STRATEGIES:
        raise ValueError(f"numad: nd.scan(checkpoint={checkpoint!r}): the strategies are "
                         f"{', '.join(map(repr, STRATEGIES))}")
    if snapshots is not None and int(snapshots) < 1:
        raise ValueError(f"numad: nd.scan needs snapshots >= 1, not {snapshots!r}")
    xs_leaves, xs_def = flatten(xs) if xs is not None else ([], None)
    length = _length(xs_leaves, length)
    init_leaves, carry_def = flatten(init)
    rec = loop_recorder(init_leaves + xs_leaves)
    if length == 0:
        return _no_steps(step, init, xs_def, xs_leaves)
    if rec is None:
        # not inside a trace: trace the loop alone, so that it still runs compiled
        def whole(init, xs):
            return scan(step, init, xs, length, checkpoint=checkpoint, snapshots=snapshots,
                        compile=compile, progress=progress)
        # (float32 inputs give float32 answers, as the transformations' do)
        return in_dtype(T.record(whole, (init, xs), name=_name(step), replayed=False)
                        .outputs(), answer_dtype((init, xs)))
    init_t = [R.as_traced(rec, as_float(v)) for v in init_leaves]
    xs_t = [R.as_traced(rec, as_float(v)) for v in xs_leaves]
    settings = dict(strategy=checkpoint, snapshots=snapshots, compile=compile,
                    progress=reporter(progress, "nd.scan"))
    if rec.scan_depth > 0:
        return unrolled(rec, step, carry_def, init_t, xs_def, xs_t, length)
    return _recorded(rec, step, carry_def, init_t, xs_def, xs_t, length, settings)


def _no_steps(step, init, xs_def, xs_leaves):
    """A loop of length 0: the carry as given, and ys with no rows. The step runs once
    on a row of zeros, only to learn the structure and shapes of its output."""
    rows = [np.zeros(np.shape(value_of(v))[1:]) for v in xs_leaves]
    _, y = _split(step(init, unflatten(xs_def, rows) if xs_def is not None else None),
                  _name(step))
    if y is None:
        return init, None
    leaves, y_def = flatten(y)
    return init, unflatten(y_def, [np.zeros((0,) + np.shape(value_of(v))) for v in leaves])


def _name(step):
    return getattr(step, "__name__", "step")


def as_float(v):
    if isinstance(v, Traced) or (type(v) is np.ndarray and v.dtype == object):
        return v  # (an object array of traced scalars becomes a traced array in as_traced)
    arr = np.asarray(v, dtype=np.float64)
    return arr if arr.ndim else float(arr)


def _length(xs_leaves, length):
    lengths = {int(np.shape(value_of(v))[0]) for v in xs_leaves if np.ndim(value_of(v)) > 0}
    if any(np.ndim(value_of(v)) == 0 for v in xs_leaves):
        raise ValueError("numad: nd.scan's xs must be arrays with the steps along their "
                         "first axis; a scalar leaf has no rows")
    if len(lengths) > 1:
        raise ValueError(f"numad: nd.scan's xs leaves have different lengths {sorted(lengths)}")
    if lengths:
        (n,) = lengths
        if length is not None and int(length) != n:
            raise ValueError(f"numad: nd.scan(length={length}) but xs has {n} rows")
        return n
    if length is None:
        raise ValueError("numad: nd.scan needs xs or length (how many steps)")
    if int(length) < 0:
        raise ValueError(f"numad: nd.scan needs length >= 0, not {length}")
    return int(length)


def loop_recorder(leaves):
    rec = R.recorder_of(leaves)  # (refuses values of two traces, or of a finished one)
    return rec if rec is not None else T.active_recorder()


def _split(out, name):
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"numad: the step of nd.scan ({name}) must return a pair "
                        f"(carry, y), not {type(out).__name__}")
    return out


def _check_carry(carry_def, init_t, new_leaves, new_def, name):
    if new_def != carry_def:
        raise TypeError(f"numad: the step of nd.scan ({name}) returned a carry structured as "
                        f"{new_def}, but the carry it was given is {carry_def}; the carry "
                        "must keep its structure")
    for a, b in zip(init_t, new_leaves):
        if np.shape(value_of(a)) != np.shape(value_of(b)):
            raise TypeError(f"numad: the step of nd.scan ({name}) changed a carry leaf's "
                            f"shape from {np.shape(value_of(a))} to {np.shape(value_of(b))}")


def _fresh_copy(rec, leaf):
    """A new body entry holding ``leaf``: the loop reads each step's results there."""
    return R.elementwise("copy", R.as_traced(rec, as_float(leaf)))


def _recorded(rec, step, carry_def, init_t, xs_def, xs_t, length, settings):
    loop = record_body(rec, step, carry_def, init_t, xs_def, xs_t, length, settings)
    failed, packed = run_now(rec, loop) if loop is not None else (0, None)
    if failed >= 0:
        # a call with a rule of its own in the step, or the step's branches differ from
        # one step to another: record every step
        return unrolled(rec, step, carry_def, init_t, xs_def, xs_t, length)
    return push_loop(rec, loop, packed)


def record_body(rec, step, carry_def, init_t, xs_def, xs_t, length, settings):
    """Record ``step`` once as a loop body of ``length`` steps; the ``ScanLoop``, or
    None where the step cannot run in the compiled driver (then the caller unrolls)."""
    name = _name(step)
    bs = rec.n
    carry_in, x_in = [], []
    rec.scan_depth += 1
    try:
        for t in init_t:
            carry_in.append(R.wrap(rec, rec.push(_INPUT, -1, -1, -1, _copy_value(value_of(t))),
                                    _copy_value(value_of(t))))
        for t in xs_t:
            row = _copy_value(value_of(t)[0])
            x_in.append(R.wrap(rec, rec.push(_INPUT, -1, -1, -1, row), row))
        carry_arg = unflatten(carry_def, [_vector(v) for v in carry_in])
        x_arg = unflatten(xs_def, [_vector(v) for v in x_in]) if xs_def is not None else None
        # the step is recorded once and replayed at every step: a random draw in it
        # would be the same draw at each
        where = f"the step of nd.scan ({name})"
        with side_channels(where, reach(step, (), where).generators):
            new_carry, y = _split(step(carry_arg, x_arg), name)
        new_leaves, new_def = flatten(new_carry)
        _check_carry(carry_def, init_t, new_leaves, new_def, name)
        y_leaves, y_def = flatten(y) if y is not None else ([], None)
        carry_out = [_fresh_copy(rec, v) for v in new_leaves]
        y_out = [_fresh_copy(rec, v) for v in y_leaves]
    finally:
        rec.scan_depth -= 1
    be = rec.n
    inner = [q for q in rec.customs if bs <= q < be]
    if inner:
        # a call with a derivative rule of its own runs its Python between the sweeps,
        # which the compiled loop driver cannot do (the step recorded once stays behind
        # as dead entries, its calls made constants)
        for q in inner:
            rec.codes[3 * q] = _CONST
            del rec.customs[q]
        return None
    return ScanLoop(name=name, step=step, body_start=bs, body_stop=be, length=length,
                    init=[entry_of(t) for t in init_t], carry_in=[entry_of(t) for t in carry_in],
                    carry_out=[entry_of(t) for t in carry_out], xs=[entry_of(t) for t in xs_t],
                    x_in=[entry_of(t) for t in x_in], y_out=[entry_of(t) for t in y_out],
                    carry_def=carry_def, xs_def=xs_def, y_def=y_def, init_traced=init_t,
                    xs_traced=xs_t, **settings)


def push_loop(rec, loop, packed):
    """Record the ``scan`` entry of a loop that ran to ``packed``; its final carry and
    stacked outputs, as traced windows of that entry."""
    p = rec.push(_SCAN, -1, -1, -1, packed)
    loop.entry = p
    rec.scans[p] = loop
    # the results are windows of the packed entry: the final carry, then each output
    start = 0
    finals = []
    for e in loop.carry_out:
        shape = np.shape(rec_value(rec, e))
        finals.append(_window(rec, p, packed, start, shape))
        start += int(np.prod(shape, dtype=np.int64))
    ys = []
    for e in loop.y_out:
        shape = (loop.length,) + np.shape(rec_value(rec, e))
        ys.append(_window(rec, p, packed, start, shape))
        start += int(np.prod(shape, dtype=np.int64))
    return (unflatten(loop.carry_def, finals),
            unflatten(loop.y_def, ys) if loop.y_def is not None else None)


def rec_value(rec, e):
    """The value an entry was recorded with."""
    return rec.arrays[e] if e in rec.arrays else rec.vals[e]


def _copy_value(v):
    return v.copy() if isinstance(v, np.ndarray) else float(v)


def _vector(t):
    # 1-D inputs get the tracer's fast x[i]
    if isinstance(value_of(t), np.ndarray) and value_of(t).ndim == 1:
        return TracedVector(recorder_of_traced(t), entry_of(t), value_of(t))
    return t


def _window(rec, p, packed, start, shape):
    n = int(np.prod(shape, dtype=np.int64))
    value = packed[start:start + n].reshape(shape).copy() if shape else float(packed[start])
    return R.wrap(rec, rec.push_alias(p, start, value), value)


def run_now(rec, loop):
    """Run the loop on what has been recorded so far, for the values the trace goes on
    with. Returns ``(failed, packed)``: -1 and the packed results, or the index of a
    guard whose decision differed at some step and the results of the steps before it
    (the outputs of step ``s`` are written once it completes)."""
    arrays = T.tape_arrays(rec)
    structure = tuple(arrays[k] for k in ("op", "args", "opnd", "off", "size", "pstart",
                                          "params", "aux_off"))
    lay = loop_layout(loop, arrays["off"], arrays["size"])
    carry = int(lay[3].sum())
    packed = np.zeros(carry + int(np.sum(lay[8])) * loop.length)
    partials = np.zeros((len(arrays["op"]), 2))
    advance = np.array([[SK.ADVANCE, 0, loop.length]], dtype=np.int64)
    failed = SK.scan_forward(structure, arrays["vals"], partials, arrays["aux"],
                             loop.body_start, loop.body_stop, np.zeros(8, dtype=np.int64),
                             lay, False, advance, 0, np.zeros(3, dtype=np.int64),
                             np.zeros((1, 6), dtype=np.int64), np.zeros((4, 3), dtype=np.int64),
                             np.zeros((1, max(carry, 1))), np.zeros((1, 1)),
                             np.zeros((1, 1, 2)), np.zeros((1, 1)), np.zeros(carry), packed, 0,
                             loop.length)
    return failed, packed


def unrolled(rec, step, carry_def, init_t, xs_def, xs_t, length):
    """The loop recorded step by step, as a plain Python loop over traced values."""
    carry = unflatten(carry_def, init_t)
    per_step = []
    y_def = None
    rec.scan_depth += 1
    try:
        for s in range(length):
            x = unflatten(xs_def, [t[s] for t in xs_t]) if xs_def is not None else None
            carry, y = _split(step(carry, x), _name(step))
            new_leaves, new_def = flatten(carry)
            _check_carry(carry_def, init_t, new_leaves, new_def, _name(step))
            if y is None:
                per_step.append(None)
            else:
                leaves, y_def = flatten(y)
                per_step.append(leaves)
    finally:
        rec.scan_depth -= 1
    if y_def is None:
        return carry, None
    stacked = [R.stack([R.as_traced(rec, as_float(leaves[k])) for leaves in per_step])
               for k in range(len(per_step[0]))]
    return carry, unflatten(y_def, stacked)


# ---- second derivatives: the loop's reverse sweep, traced -------------------------------------

def _rule_scan(rec, i, a, b, c, g, adj, start):
    """The traced reverse of a loop (for nested derivatives: hvp, hessian, jacobian of a
    gradient): the step is recorded again, step by step, and its traced reverse sweep
    run; the values it closes over get their adjoints as in any traced code."""
    loop = rec.scans[i]
    lo = rec.n
    carry = unflatten(loop.carry_def, loop.init_traced)
    outputs = []
    rec.scan_depth += 1
    try:
        for s in range(loop.length):
            x = (unflatten(loop.xs_def, [t[s] for t in loop.xs_traced])
                 if loop.xs_def is not None else None)
            carry, y = _split(loop.step(carry, x), loop.name)
            outputs.append(flatten(y)[0] if y is not None else [])
    finally:
        rec.scan_depth -= 1
    hi = rec.n
    _refuse_late_binding(rec, loop, lo, hi)
    from .nested import accumulate, fit_shape, reverse_range
    flat = np.reshape(g, (-1,))
    k = 0
    for leaf in flatten(carry)[0]:
        shape = np.shape(value_of(leaf))
        n = int(np.prod(shape, dtype=np.int64))
        if isinstance(leaf, Traced) and entry_of(leaf) >= start:
            accumulate(adj, entry_of(leaf), fit_shape(np.reshape(flat[k:k + n], shape), shape))
        k += n
    for j in range(len(loop.y_out)):
        shape = np.shape(value_of(outputs[0][j])) if outputs else ()
        n = int(np.prod(shape, dtype=np.int64))
        block = np.reshape(flat[k:k + n * loop.length], (loop.length, n))
        for s in range(loop.length):
            leaf = outputs[s][j]
            if isinstance(leaf, Traced) and entry_of(leaf) >= start:
                accumulate(adj, entry_of(leaf), fit_shape(np.reshape(block[s], shape), shape))
        k += n * loop.length
    reverse_range(rec, adj, lo, hi, start)


def _refuse_late_binding(rec, loop, lo, hi):
    # Python closures see a variable's latest value: a step that reads a variable the
    # function changed after calling nd.scan would be a different step now
    codes = np.asarray(rec.codes[3 * lo:3 * hi], dtype=np.int64).reshape(-1, 3)
    operands = codes[:, 1:].copy()
    operands[codes[:, 0] == _ALIAS, 1] = -1  # (an alias keeps its window's start there)
    late = operands[(operands >= loop.body_start) & (operands < lo)]
    # (constants are shared by value across the whole trace, and never change)
    if any(rec.codes[3 * int(e)] != _CONST for e in late):
        raise TracingError(f"numad: the step of nd.scan ({loop.name}) reads a value made "
                           "after the loop was called (a variable it closes over was "
                           "reassigned); pass that value through the carry or xs, or bind "
                           "it as a default argument")


def _register():
    from .nested import register_rule
    register_rule("scan", _rule_scan)


_register()
