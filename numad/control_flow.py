"""Structured control flow: ``nd.while_loop``, ``nd.fori_loop`` and ``nd.cond``.

They mean what ``jax.lax``'s functions of the same names mean::

    while_loop(cond_fn, body_fn, init):      c = init; while cond_fn(c): c = body_fn(c)
    fori_loop(lower, upper, body_fn, init):  for i in range(lower, upper): c = body_fn(i, c)
    cond(pred, true_fn, false_fn, *ops):     true_fn(*ops) if pred else false_fn(*ops)

and, unlike JAX, ``while_loop`` is differentiable in reverse mode. numad records the
loop the way it records ``nd.scan`` (numad/scan.py): the body is traced once, and the
scan driver replays it, in reverse under a checkpoint schedule, so that memory stays
bounded however many steps the loop takes. What a ``while`` adds to a ``scan`` is that
its trip count is decided by the values:

* the trip count is found forward: the body is recorded once, with ``cond_fn`` at its
  start recorded as a branch decision (a guard: "the condition holds"), and the driver
  runs it until that guard fails; the step where it fails is the trip count ``N``;
* the loop is then an ordinary recorded loop of ``N`` steps, and after it the condition
  on the final carry is recorded as the decision "the condition fails".

Replaying the tape at other inputs checks both decisions: a loop that would stop
earlier fails a guard inside the loop, one that would run longer fails the guard after
it. Either way the adapters trace again (and a ``Tape`` raises ``ControlFlowChanged``),
so the answer is never the recorded trip count's.

Where the body's own branches go differently from one step to the next, the loop is
recorded step by step instead, as a Python loop over traced values would be: right,
at the memory of a plain traced loop.
"""
from __future__ import annotations

import operator

import numpy as np

from . import recording as R
from . import scan as S
from .config import compile_mode
from .errors import TracingError
from .optable import OPCODES
from .progress import reporter
from .pytree import flatten, unflatten
from .traced import value_of

__all__ = ["while_loop", "fori_loop", "cond"]

_GUARD = OPCODES["guard"]
# the first probe of a while loop's trip count; each further probe runs 8 times longer,
# so that finding the count costs at most 8/7 of the loop's own forward steps
_FIRST_PROBE = 64
# a loop still running after this many steps is taken for one that never stops
MAX_TRIPS = 10 ** 8


def _name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


def _truth(value, where):
    """The truth of a loop or branch condition; a traced one records the decision."""
    if np.size(value_of(value)) == 1:
        return bool(value)
    raise ValueError(f"numad: {where} must be a scalar boolean, not an array of shape "
                     f"{np.shape(value_of(value))}; reduce it with np.all / np.any")


def cond(pred, true_fn, false_fn, *operands):
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``: ``jax.lax.cond``.

    ``pred`` is a scalar boolean (a traced comparison such as ``x > 0``, or a plain
    bool). Only the branch taken runs and is recorded; a traced ``pred`` is recorded as
    a branch decision, so a cached adapter replayed where it goes the other way traces
    again and runs the other branch. The derivative is the taken branch's.

    Parameters
    ----------
    pred : bool or traced comparison
        A scalar boolean; an array raises ``ValueError``.
    true_fn : callable
        ``true_fn(*operands)``, run where ``pred`` holds.
    false_fn : callable
        ``false_fn(*operands)``, run where it does not.
    *operands : float, ndarray or pytree
        The arguments of the branch taken.

    Returns
    -------
    object
        What the branch taken returns.

    See Also
    --------
    where : Both branches computed, one chosen elementwise.
    while_loop, fori_loop

    Examples
    --------
    >>> import numad as nd
    >>> f = lambda x: nd.cond(x > 0, lambda v: v * v, lambda v: -v, x)
    >>> nd.grad(f)(3.0), nd.grad(f)(-3.0)
    (6.0, -1.0)
    """
    if _truth(pred, "nd.cond's pred"):
        return true_fn(*operands)
    return false_fn(*operands)


def fori_loop(lower, upper, body_fn, init, *, checkpoint="auto", snapshots=None,
              compile=None, progress=False):
    """``for i in range(lower, upper): carry = body_fn(i, carry)``: ``jax.lax.fori_loop``.

    Inside a differentiated function the loop is an ``nd.scan`` over the indices, with
    its checkpointing (``checkpoint=``, ``snapshots=``, ``compile=`` as in ``nd.scan``):
    the body is traced once and replayed, in bounded memory. There ``i`` is a traced
    number (its derivative is zero): use it in arithmetic freely; used as an index
    (``x[i]``) or a branch it differs at each step, and the loop is recorded step by
    step instead (right, with the memory of a plain traced loop). Outside a trace ``i``
    is a Python int. ``lower`` and ``upper`` are integers (a traced one is a recorded
    decision, as ``range(n)`` of a traced ``n``).

    Parameters
    ----------
    lower : int
        The first index.
    upper : int
        One past the last index (no steps when ``upper <= lower``).
    body_fn : callable
        ``body_fn(i, carry) -> carry``, the new carry of the structure and shapes of
        ``init``.
    init : float, ndarray or pytree
        The initial carry.
    checkpoint : {"auto", "store_all", "recompute_all", "uniform", "binomial"}, optional
        How reverse mode gets each step's values back, as in ``nd.scan`` (default
        ``"auto"``: binomial checkpointing within ``nd.config.memory_budget``).
    snapshots : int, optional
        The snapshot budget of the strategy, as in ``nd.scan``.
    compile : {"auto", "always", "never"}, optional
        Whether the recorded step runs as its own ``@njit`` code, as in ``nd.scan``.
    progress : bool or callable, optional
        As in ``nd.scan``: ``True`` shows a progress bar (tqdm, optional), a callable
        receives ``(done, total, phase)``; ``False`` (the default) reports nothing.
        The loop settings act inside a differentiated function; outside one the
        loop is a plain Python loop.

    Returns
    -------
    float, ndarray or pytree
        The final carry.

    See Also
    --------
    scan, while_loop

    Examples
    --------
    >>> import numad as nd
    >>> def power(x):
    ...     return nd.fori_loop(0, 5, lambda i, c: c * x, 1.0)
    >>> power(2.0), nd.grad(power)(2.0)
    (32.0, 80.0)
    """
    lower, upper = operator.index(lower), operator.index(upper)
    leaves, _ = flatten(init)
    if S.loop_recorder(leaves) is None:
        carry = init
        for i in range(lower, upper):
            carry = body_fn(i, carry)
        return carry

    def step(carry, i):
        return body_fn(i, carry), None

    step.__name__ = _name(body_fn)
    indices = np.arange(lower, max(lower, upper), dtype=np.float64)
    carry, _ = S.scan(step, init, indices, checkpoint=checkpoint, snapshots=snapshots,
                      compile=compile, progress=progress)
    return carry


def while_loop(cond_fn, body_fn, init, *, checkpoint="auto", snapshots=None, compile=None,
               progress=False):
    """``carry = init; while cond_fn(carry): carry = body_fn(carry)``: as
    ``jax.lax.while_loop``, and differentiable in reverse mode too.

    ``cond_fn(carry)`` returns a scalar boolean; ``body_fn(carry)`` a new carry of the
    same structure and shapes (floats, arrays, or pytrees of them). Derivatives flow to
    ``init`` and to every traced value the two functions close over; the trip count
    itself has zero derivative (it is a step function of the inputs).

    Inside a differentiated function the trip count is found forward and recorded, and
    the loop is reversed with ``nd.scan``'s checkpointing (``checkpoint=``,
    ``snapshots=``, ``compile=``, ``progress=`` as in ``nd.scan``; the default ``"auto"``
    keeps memory within ``nd.config.memory_budget``). A cached adapter replayed at inputs where the
    loop would run a different number of steps traces again: the answer is always the
    one at the new inputs. See the module docstring of ``numad/control_flow.py``.

    Prefer ``while_loop`` to a Python ``while`` over traced values for long loops: the
    Python loop records every step (memory grows with the trip count), ``while_loop``
    records one.

    Parameters
    ----------
    cond_fn : callable
        ``cond_fn(carry) -> bool``: a scalar boolean (a traced comparison inside a
        trace); an array raises ``ValueError``. Write a combined condition as one traced
        boolean (``np.logical_or(a > 0, b < 1)``), not with ``and``/``or``.
    body_fn : callable
        ``body_fn(carry) -> carry``, the new carry of the structure and shapes of
        ``init``.
    init : float, ndarray or pytree
        The initial carry.
    checkpoint : {"auto", "store_all", "recompute_all", "uniform", "binomial"}, optional
        How reverse mode gets each step's values back, as in ``nd.scan`` (default
        ``"auto"``: binomial checkpointing within ``nd.config.memory_budget``).
    snapshots : int, optional
        The snapshot budget of the strategy, as in ``nd.scan``.
    compile : {"auto", "always", "never"}, optional
        Whether the recorded step runs as its own ``@njit`` code, as in ``nd.scan``.
    progress : bool or callable, optional
        As in ``nd.scan``: ``True`` shows a progress bar (tqdm, optional), a callable
        receives ``(done, total, phase)``; ``False`` (the default) reports nothing.

    Returns
    -------
    float, ndarray or pytree
        The final carry, the first for which ``cond_fn`` is false.

    Raises
    ------
    ValueError
        For an unknown ``checkpoint`` or ``compile``.
    TracingError
        Where ``cond_fn`` gives another answer on the same values, or combines
        comparisons with ``and``/``or`` so that numad cannot tell where the loop stops.

    See Also
    --------
    scan, fori_loop, cond

    Examples
    --------
    Newton's iteration for the square root of ``a``, differentiated through the loop:

    >>> import numad as nd
    >>> def root(a):
    ...     x, _ = nd.while_loop(lambda c: abs(c[0] * c[0] - a) > 1e-12,
    ...                          lambda c: (0.5 * (c[0] + a / c[0]), c[1] + 1.0),
    ...                          (1.0, 0.0))
    ...     return x
    >>> round(root(2.0), 12), round(nd.grad(root)(2.0), 8)   # d sqrt(a) = 1 / (2 sqrt(a))
    (1.414213562373, 0.35355339)
    """
    compile_mode(compile, "nd.while_loop")
    if checkpoint not in S.STRATEGIES:
        raise ValueError(f"numad: nd.while_loop(checkpoint={checkpoint!r}): the strategies "
                         f"are {', '.join(map(repr, S.STRATEGIES))}")
    name = _name(body_fn)
    where = f"the condition of nd.while_loop ({_name(cond_fn)})"
    leaves, carry_def = flatten(init)
    rec = S.loop_recorder(leaves)
    if rec is None:
        carry = init
        while _truth(cond_fn(carry), where):
            carry = body_fn(carry)
        return carry
    init_t = [R.as_traced(rec, S.as_float(v)) for v in leaves]
    carry = unflatten(carry_def, init_t)
    if not _truth(cond_fn(carry), where):
        return carry
    if rec.scan_depth > 0:
        # inside another loop's step: recorded into that step, step by step
        return _unrolled(cond_fn, body_fn, carry, where)

    decided = []   # the guard entries that record "cond_fn holds" at the step's start

    def step(carry, _):
        first = rec.n
        if not _truth(cond_fn(carry), where):
            raise TracingError(f"numad: {where} gave another answer on the same values "
                               "(it draws random numbers or keeps state?); it must be a "
                               "function of the carry and the values it closes over")
        decided.extend(e for e in range(first, rec.n) if rec.codes[3 * e] == _GUARD)
        return body_fn(carry), 1.0

    step.__name__ = name
    settings = dict(strategy=checkpoint, snapshots=snapshots, compile=compile,
                    progress=reporter(progress, "nd.while_loop"))
    loop = S.record_body(rec, step, carry_def, init_t, None, [], _FIRST_PROBE, settings)
    trips = _trip_count(rec, loop, decided) if loop is not None else None
    if trips is None:
        return _unrolled(cond_fn, body_fn, carry, where)
    # the probe's markers are not needed any more: the loop keeps only its carry
    loop.length, loop.y_out, loop.y_def = trips, [], None
    failed, packed = S.run_now(rec, loop)
    if failed >= 0:  # pragma: no cover - the probe ran these very steps
        raise AssertionError("nd.while_loop: the loop's steps changed between two runs")
    final, _ = S.push_loop(rec, loop, packed)
    if _truth(cond_fn(final), where):
        # the probe stopped where one of several decisions in cond_fn changed (an `or`
        # whose first operand turned true): the loop goes on, which the probe missed
        raise TracingError(
            f"numad: {where} combines several comparisons with `and`/`or`, and one of "
            "them changed while the condition as a whole did not; numad cannot tell "
            "where this loop stops. Write the condition as one traced boolean, e.g. "
            "np.logical_or(a > 0, b < 1) instead of (a > 0) or (b < 1)")
    return final


def _trip_count(rec, loop, decided):
    """How many steps the loop runs: the driver runs the recorded body until the
    condition's decision fails, on longer and longer probes. None where another branch
    decision of the body changes first (the caller then records every step)."""
    length = _FIRST_PROBE
    carry_size = sum(int(np.size(S.rec_value(rec, e))) for e in loop.carry_out)
    while True:
        loop.length = length
        failed, packed = S.run_now(rec, loop)
        if failed < 0:
            if length >= MAX_TRIPS:
                raise RuntimeError(f"numad: nd.while_loop ({loop.name}) ran {length} steps "
                                   "without its condition failing; it does not seem to stop")
            length = min(8 * length, MAX_TRIPS)
            continue
        if failed not in decided:
            return None
        # each completed step wrote its marker 1.0 into its row of the outputs
        marks = packed[carry_size:carry_size + length]
        return int(np.argmin(marks == 1.0)) if not np.all(marks == 1.0) else length


def _unrolled(cond_fn, body_fn, carry, where):
    while True:
        carry = body_fn(carry)
        if not _truth(cond_fn(carry), where):
            return carry
