"""The tape: a flat Wengert list as parallel NumPy arrays, and its replays.

A ``Tape`` is data (see ``numad/kernels.py`` for the meaning of each array) plus the
little bookkeeping needed to map a user's arguments onto its input entries and its
output entries back onto the user's structure. All numerical work is done by the
compiled sweeps; the buffers they fill are allocated once per tape and reused.
"""
from __future__ import annotations

import copy
import functools
import threading

import numpy as np

from . import kernels as K
from . import tape_compiler as TC
from .errors import ControlFlowChanged
from .cuda_batch import check_device
from .custom_runner import CustomRun
from .loop_runner import LoopRun, loop_runs
from .optable import ELEMENTWISE, N_ELEMENTWISE, N_OPS, OPCODES, OPNAMES
from .precision import answer_dtype, in_dtype, like_argument
from .pytree import flatten, real_values, unflatten

_GUARD = OPCODES["guard"]
_CONST = OPCODES["const"]
_INPUT = OPCODES["input"]
_SUM = OPCODES["sum"]

# Which ops write the whole adjoint of operand k in their array reverse: elementwise
# ops with a partial for it, and sum for its one operand. (Scalar elementwise entries
# write both operands' adjoints whatever their partials.)
_WRITES_ARRAY_OPERAND = np.zeros((N_OPS, 2), dtype=bool)
for _p in ELEMENTWISE:
    for _k, _d in enumerate(_p.partials):
        _WRITES_ARRAY_OPERAND[_p.opcode, _k] = _d is not None
_WRITES_ARRAY_OPERAND[_SUM, 0] = True


def _per_thread(method):
    """Run a public replay on this thread's working copy of the tape (``Tape.local``)."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        return method(self.local(), *args, **kwargs)
    return run


class Tape:
    """A recorded evaluation of a function, replayable at new inputs.

    Made by ``nd.trace(f, *args)``. ``tape(*args)`` re-evaluates ``f``; ``gradient``,
    ``jvp``, ``vjp`` and ``jacobian`` differentiate it with the compiled sweeps. Where
    a recorded branch decision (a comparison used as a truth value, ``int()``, an index
    taken from a traced value) would go the other way at the new arguments, the replay
    raises ``nd.ControlFlowChanged``; ``tape.matches(*args)`` tells in advance.

    ``len(tape)`` is its number of entries, ``tape.nbytes`` its memory, ``str(tape)``
    the Wengert list (one line per entry: index, operation, inputs, value) and
    ``tape.to_dot()`` the computational graph as Graphviz DOT text. Every method may
    be called from many threads at once: each thread replays its own working copy.

    Parameters
    ----------
    op, args, off, opnd, size, pstart, params, aux_off : ndarray
        The tape's structure, one row per entry: opcodes, input entries, value
        offsets, operand offsets, sizes, parameter offsets, integer parameters and
        workspace offsets (the layout is described in ``numad/kernels.py``).
    aux, vals : ndarray
        The float workspace and the values recorded.
    shapes : dict
        The shape of each non-scalar entry.
    arg_treedefs, leaf_roles : list
        Per positional argument: its pytree structure, and per leaf its input number
        or ``("static", value)``.
    input_entries, output_entries : sequence of int
        The entries of the inputs and of the outputs.
    out_treedef : object
        The pytree structure of the output.
    name : str, optional
        The recorded function's name.
    scans, customs : list, optional
        The ``nd.scan`` loops and the calls with derivative rules of their own
        recorded on the tape.

    Returns
    -------
    Tape
        The tape. Users get one from ``nd.trace(f, *args)``, which fills in all of
        the above; the constructor is not meant to be called directly.

    See Also
    --------
    trace : Records a tape.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> tape = nd.trace(lambda x: np.sum(x ** 2), np.array([1.0, 2.0]))
    >>> tape(np.array([3.0, 4.0]))
    25.0
    >>> tape.gradient(np.array([3.0, 4.0]))
    array([6., 8.])
    """

    def __init__(self, *, op, args, off, opnd, size, pstart, params, aux_off, aux, vals, shapes,
                 arg_treedefs, leaf_roles, input_entries, output_entries, out_treedef,
                 name="f", scans=None, customs=None):
        self.op = op
        self.args = args
        self.off = off
        self.size = size
        self.pstart = pstart
        self.params = params
        self.aux_off = aux_off
        self.aux = aux
        self._vals = vals
        self._frozen = None   # (what a shed values buffer is made again from: see shed)
        self._direct_buffers = None
        self.direct_output = None   # (the output's slot in them: see direct_buffers)
        self.shapes = shapes                  # entry -> shape for non-scalar entries
        self.arg_treedefs = arg_treedefs      # one treedef per positional argument
        self.leaf_roles = leaf_roles          # per argument: per leaf, input number or ("static", v)
        self.input_entries = np.asarray(input_entries, dtype=np.int64)
        self.output_entries = list(output_entries)
        self.out_treedef = out_treedef
        self.name = name
        self.fun = None  # how to trace again where a batch row branches differently
        # the keyword arguments nd.trace recorded f with (the tape's last argument, a
        # dict: see _with_keywords), or None
        self.keywords = None
        # what f reads besides its arguments, as it was when traced (numad/watch.py);
        # None when it reads nothing else
        self.watch = None
        # The working buffers (vals, partials, aux, the adjoint, tangent and hvp
        # buffers, the loops' snapshots) belong to one thread: the one that recorded
        # the tape. Any other thread works on its own copy (``local``).
        self.owner = threading.get_ident()   # (the adapters' hot paths compare it)
        self._copies = threading.local()
        self.opnd = opnd
        # the tape's structure, in the order every sweep takes it
        self.structure = (op, args, opnd, off, size, pstart, params, aux_off)
        # the loops recorded by nd.scan: the sweeps stop at each, and its driver runs it
        loops, pinned = loop_runs(self, scans) if scans else ([], np.zeros(len(op), bool))
        # the calls with a derivative rule of their own (numad/custom.py): the sweeps
        # stop at each too, and its rule adds into its inputs' adjoints (never assigns)
        self.customs = dict(customs) if customs else {}
        for call in self.customs.values():
            pinned[call.in_entries] = True
        self.first, self.clear = K.first_writers(
            op, args, size, pstart, params, np.asarray(self.output_entries, dtype=np.int64),
            _WRITES_ARRAY_OPERAND, pinned)
        self.reverse_structure = self.structure + (self.first,)
        self.partials = np.zeros((len(op), 2))
        self.adjoints = None  # the adjoint buffer of the last reverse sweep (read by adapters)
        self._tan = None
        self._has_guards = bool(np.any(op == _GUARD))
        self.loops = [LoopRun(loop, self) for loop in loops]
        self.stops = self._stops()
        # whether the one-kernel Hessian-vector sweep takes this tape
        self.hvp_capable = not self.stops and bool(np.all(
            (op < N_ELEMENTWISE) | np.isin(op, np.asarray(K.HVP_STRUCTURAL))))
        self._hvp_buffers = None
        # The tape's value-and-gradient sweep as its own compiled code
        # (numad/tape_compiler.py): it depends on the tape's structure only, which never
        # changes, so it is never stale, and it keeps no state, so the copies for other
        # threads share it. ``compile_mode`` is set by nd.trace and the adapters (None:
        # not chosen; the tape is then not compiled, and its loops follow
        # nd.config.compile); ``_whole`` is what it means for the whole tape.
        self._compile_mode = None
        self._whole = "never"
        self.compiled = None
        self.compiled_direct = None   # (fused tapes of one array: see the adapters)
        self.replays = 0
        self.compiled_hvp = None   # (likewise the Hessian-vector product's)
        self.hvp_replays = 0
        self.hvp_never = False     # (hvp_compilable said no: its gradient may still compile)
        self.compiled_tangent = None   # (and the tangent sweep's: forward mode)
        self.tangent_replays = 0
        self.tangent_never = False
        self.compiled_vjp = None   # (and the reverse Jacobian's rows: any outputs)
        self.vjp_replays = 0
        self.vjp_never = False
        # (start, size, output entry) when the tape is f(x) of one array to one scalar:
        # the adapters' fast path
        self.single_input = None
        if (len(arg_treedefs) == 1 and len(self.input_entries) == 1
                and len(self.output_entries) == 1 and size[self.output_entries[0]] == 1
                and isinstance(leaf_roles[0][0], int) and len(leaf_roles[0]) == 1):
            e = int(self.input_entries[0])
            if self.shape_of(e) != ():
                self.single_input = (int(off[e]), int(size[e]), int(self.output_entries[0]))

    # ---- the buffers --------------------------------------------------------------------
    @property
    def vals(self):
        """The values buffer: every entry's values at the inputs last swept."""
        v = self._vals
        if v is None:   # (shed by the direct path: made again at the first use)
            v = self._vals = self._rebuilt_values()
        return v

    @vals.setter
    def vals(self, v):
        self._vals = v

    def direct_buffers(self):
        """The compact values and adjoint buffers of the direct code of a fused tape of
        one array (``fusion.compact_layout``): the ranges of the tape's buffers that code
        reads and writes, copied from the values buffer at the first call (constants
        and recorded decisions, which no sweep changes)."""
        buffers = self._direct_buffers
        if buffers is None:
            full = self.vals
            parts = [full[lo:hi] for lo, hi, _ in TC.direct_layout(self)]
            compact = np.concatenate(parts) if parts else np.zeros(1)
            buffers = self._direct_buffers = (compact, np.zeros_like(compact))
            self.direct_output = TC.direct_output_slot(self)
        return buffers

    def shed(self):
        """Let the values and adjoint buffers go (the direct code answers without them),
        keeping what a sweep does not make again: the constants and the recorded
        decisions. A cached adapter then holds a few arrays, not every value of the
        tape twice (18 arrays of n for the vectorized Rosenbrock); ``vals`` makes the
        buffer again where a general path needs it (its sweeps load the inputs and
        compute the rest)."""
        if self._vals is None:
            return
        if self._frozen is None:
            kept = [e for e in range(len(self.op))
                    if int(self.op[e]) in (_CONST, _GUARD) and self.size[e] > 0]
            self._frozen = (len(self._vals), [
                (int(self.off[e]), self._vals[self.off[e]:self.off[e] + self.size[e]].copy())
                for e in kept])
        self._vals = None
        self.adjoints = None

    def _rebuilt_values(self):
        length, kept = self._frozen
        vals = np.zeros(length)
        for at, values in kept:
            vals[at:at + len(values)] = values
        return vals

    # ---- threads -----------------------------------------------------------------------
    def local(self):
        """This thread's view of the tape: the same recording, with working buffers
        of this thread's own, so that threads replaying one tape at once never mix
        their numbers. The recording thread uses the tape itself; another thread gets
        a copy at its first call (made from the buffers' constants, which no sweep
        writes, and otherwise filled by its own sweeps)."""
        if threading.get_ident() == self.owner:
            return self
        mine = getattr(self._copies, "tape", None)
        if mine is None:
            mine = self._copies.tape = self._working_copy()
        return mine

    def _working_copy(self):
        twin = copy.copy(self)
        twin.owner = threading.get_ident()
        # (never through the property: rebuilding the owner's buffer from this thread
        # would swap it under the owner's sweeps)
        mine = self._vals
        twin._vals = mine.copy() if mine is not None else self._rebuilt_values()
        twin._direct_buffers = (None if self._direct_buffers is None
                                else tuple(b.copy() for b in self._direct_buffers))
        twin.aux = self.aux.copy()
        twin.partials = np.zeros_like(self.partials)
        twin.adjoints = twin._tan = twin._hvp_buffers = None
        twin.loops = [LoopRun(run.loop, twin) for run in self.loops]
        twin.stops = twin._stops()
        return twin

    def _stops(self):
        """Where the sweeps stop for a driver of their own: the loops and the custom
        calls, in tape order (each has ``bs``, ``p``, ``forward``, ``reverse`` and
        ``tangents``; the sweeps run up to ``bs`` and resume after ``p``)."""
        runs = self.loops + [CustomRun(p, call) for p, call in self.customs.items()]
        return sorted(runs, key=lambda run: run.p)

    def stale(self):
        """Why the tape no longer is its function (a value it reads besides its
        arguments has changed since it was traced), or None."""
        return None if self.watch is None else self.watch.changed()

    def _refuse_if_stale(self):
        why = self.stale()
        if why is not None:
            raise ControlFlowChanged(
                f"numad: the tape of {self.name} is stale: {why} changed since it was "
                "traced, so the recorded operations are not the function any more. Trace again "
                "(nd.trace), or use nd.gradient / nd.value_and_gradient, which re-trace "
                "by themselves")

    # ---- sizes and printing -------------------------------------------------------------
    def __len__(self):
        """The number of entries of the tape.

        Returns
        -------
        int
            How many entries (operations, inputs and constants) it holds.
        """
        return len(self.op)

    @property
    def nbytes(self):
        """Bytes held by the tape's arrays and its sweep buffers.

        Returns
        -------
        int
            The number of bytes.
        """
        # (what it holds now: a shed values buffer is not made again to be counted)
        kept = [] if self._frozen is None or self._vals is not None else [
            values for _, values in self._frozen[1]]
        arrays = [*self.structure, self.aux, self._vals, self.partials, self.adjoints, self._tan,
                  *(self._direct_buffers or ()), *kept]
        return int(sum(a.nbytes for a in arrays if a is not None))

    def shape_of(self, entry):
        return self.shapes.get(entry, ())

    def __repr__(self):
        return (f"<numad.Tape of {self.name}: {len(self)} entries, "
                f"{len(self.input_entries)} inputs, {self.nbytes} bytes>")

    @_per_thread
    def __str__(self):
        """The tape as a Wengert list: one line per entry.

        Returns
        -------
        str
            One line per entry: its index, operation, inputs and value.
        """
        reached = self._values_for_display()
        # (one line per entry and nothing else, as the API says: repr(tape) names f)
        return "\n".join(self.format_entry(i, reached) for i in range(len(self.op)))

    def _values_for_display(self):
        """Make every value in the buffer belong to the inputs last loaded, and return
        the last entry that holds one of them.

        A compiled replay writes only what it answers (the output, the inputs'
        adjoints), and a replay stopped by a changed branch leaves the entries after
        the guard at an earlier evaluation's values: printed as they are, the list
        would mix two points. A forward sweep at the loaded inputs makes them one
        point's again (what ``tape(*args)`` at those inputs would do); where a branch
        goes the other way there, the entries after its guard are not the function's
        and are shown as such."""
        failed = self.forward_sweeps()
        return len(self.op) - 1 if failed < 0 else failed

    def format_entry(self, i, reached=None):
        """One line of the Wengert list: index, operation, inputs, value."""
        name, ins, shown = self._entry_parts(i, reached)
        return f"v{i:<5d} {name:<14s} {', '.join(ins):<18s} = {shown}"

    def _entry_parts(self, i, reached=None):
        """An entry's operation name, its inputs (``v3``) and its value, as text;
        past entry ``reached`` (a guard that failed at the loaded inputs), no value."""
        name = OPNAMES[int(self.op[i])]
        ins = [f"v{int(a)}" for a in self.args[i] if a >= 0]
        for run in self.loops:   # (a scan reads its init and xs; its body's inputs
            loop = run.loop      # are the step's carry and row, not the tape's)
            if i == loop.entry:
                ins = [f"v{int(e)}" for e in (*loop.init, *loop.xs)]
            elif i in loop.carry_in:
                name = "step carry"
            elif i in loop.x_in:
                name = "step row"
        if i in self.customs:
            name = self.customs[i].name
            ins = [f"v{e}" for e in self.customs[i].in_entries]
        if name == "where":
            ins.append(f"v{int(self.params[self.pstart[i]])}")
        if name == "concat":
            p = self.pstart[i]
            count = self.params[p + 2]
            ins = [f"v{int(self.params[p + 3 + 2 * s])}" for s in range(count)]
        shape = self.shape_of(i)
        if reached is not None and i > reached:
            return name, ins, f"(not reached: the branch at v{reached} goes the other way)"
        value = self.entry_value(i)
        if shape == ():
            shown = f"{float(value):.6g}"
        else:
            flat = value.ravel()
            body = ", ".join(f"{v:.4g}" for v in flat[:4]) + (", ..." if flat.size > 4 else "")
            shown = f"array{tuple(shape)} [{body}]"
        return name, ins, shown

    @_per_thread
    def to_dot(self):
        """The computational graph as Graphviz DOT text: one node per entry (its index,
        operation and value), an edge from each input to the entry that reads it.
        Inputs are ellipses, constants plain text, outputs drawn with a double border;
        render it with ``dot -Tsvg``.

        Returns
        -------
        str
            The DOT text, ``digraph "name" { ... }``.

        Examples
        --------
        >>> import numad as nd, numpy as np
        >>> tape = nd.trace(lambda a, b, c: (a + b) * np.log(b + c), 1.0, 2.0, 3.0)
        >>> text = tape.to_dot()
        >>> text.splitlines()[0], text.count("->")
        ('digraph "<lambda>" {', 7)
        """
        def quoted(*lines):
            # DOT's string: quotes and backslashes escaped, lines joined by its \n
            escaped = [str(t).replace("\\", "\\\\").replace('"', '\\"') for t in lines]
            return '"' + "\\n".join(escaped) + '"'

        reached = self._values_for_display()
        outputs = {int(e) for e in self.output_entries}
        lines = [f"digraph {quoted(self.name)} {{", "  rankdir=TB;",
                 '  node [shape=box, fontname="Helvetica"];']
        for i in range(len(self.op)):
            name, ins, shown = self._entry_parts(i, reached)
            style = {"input": ", shape=ellipse", "const": ", shape=plaintext"}.get(name, "")
            if i in outputs:
                style += ", peripheries=2"
            lines.append(f"  v{i} [label={quoted(f'v{i} {name}', shown)}{style}];")
            for operand in dict.fromkeys(ins):   # (x * x draws one edge)
                lines.append(f"  {operand} -> v{i};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def entry_value(self, i):
        o, n = self.off[i], self.size[i]
        v = self.vals[o:o + n]
        shape = self.shape_of(i)
        return v[0] if shape == () else v.reshape(shape)

    # ---- arguments -------------------------------------------------------------------------
    def _load(self, args):
        """Write the arguments' input leaves into the value buffer."""
        if len(args) != len(self.arg_treedefs):
            raise TypeError(f"numad: the tape of {self.name} takes {len(self.arg_treedefs)} "
                            f"arguments, got {len(args)}")
        vals, off, size = self.vals, self.off, self.size
        for arg, treedef, roles in zip(args, self.arg_treedefs, self.leaf_roles):
            leaves, td = flatten(arg)
            if td != treedef:
                raise ValueError(f"numad: the tape of {self.name} was recorded for arguments "
                                 f"structured as {treedef}, got {td}; trace again")
            for leaf, role in zip(leaves, roles):
                if isinstance(role, tuple):
                    if not _same_static(leaf, role[1]):
                        raise ControlFlowChanged(
                            f"numad: the tape of {self.name} was recorded with the setting "
                            f"{role[1]!r}, not {leaf!r}: settings (ints, bools, strings) are "
                            "constants of a tape; trace again (nd.gradient does so itself)")
                    continue
                e = self.input_entries[role]
                o, n = off[e], size[e]
                arr = real_values(leaf, f"an input of the tape of {self.name}")
                if arr.size != n or (arr.shape != self.shape_of(e) and arr.shape != ()):
                    raise ValueError(f"numad: input of shape {arr.shape} where the tape of "
                                     f"{self.name} recorded {self.shape_of(e)}; trace again")
                vals[o:o + n] = arr.ravel()

    def _with_keywords(self, args, kwargs):
        """The arguments as the tape holds them: ``args``, then, for a tape that
        ``nd.trace`` recorded with keyword arguments, one dict of them (the recorded
        value of each one not given: their floats are inputs, as in the adapters)."""
        if self.keywords is None:
            if kwargs:
                raise TypeError(f"numad: the tape of {self.name} was traced without keyword "
                                f"arguments; got {sorted(kwargs)}")
            return args
        unknown = sorted(set(kwargs) - set(self.keywords))
        if unknown:
            raise TypeError(f"numad: the tape of {self.name} was traced with the keyword "
                            f"arguments {sorted(self.keywords)}; got {unknown} too")
        return tuple(args) + ({**self.keywords, **kwargs},)

    def input_positions(self, argnum=0):
        """Input numbers (into ``input_entries``) of the leaves of argument ``argnum``."""
        return [r for r in self.leaf_roles[argnum] if not isinstance(r, tuple)]

    # ---- sweeps ----------------------------------------------------------------------------
    def forward(self, check_guards=True):
        """Re-evaluate every entry from the current inputs; raise on a changed branch."""
        failed = self.forward_sweeps(ignore_guards=not check_guards and self._has_guards)
        if failed >= 0:
            raise self._changed_branch(failed)

    def forward_sweeps(self, ignore_guards=False):
        """The forward sweep over every entry, each loop run by its driver between the
        sweeps over the entries around it. Returns -1 or the index of a failed guard."""
        start = 0
        for run in self.stops:
            failed = self._forward_range(start, run.bs, ignore_guards)
            if failed < 0:
                failed = run.forward(self)
            if failed >= 0:
                return failed
            start = run.p + 1
        return self._forward_range(start, len(self.op), ignore_guards)

    def _forward_range(self, start, stop, ignore_guards):
        # Ignoring guards is for right after tracing: the branch taken is the one Python
        # took, even where a kernel's last-bit rounding would decide a tie differently.
        while True:
            failed = K.forward_sweep(*self.structure, self.vals, self.partials, self.aux,
                                     start, stop)
            if failed < 0 or not ignore_guards:
                return failed
            start = failed + 1

    def _reverse_sweeps(self, adj):
        """The reverse sweep over every entry into ``adj`` (seeded, cleared), each loop
        reversed by its driver under its checkpoint schedule."""
        stop = len(self.op)
        for run in reversed(self.stops):
            K.reverse_sweep(*self.reverse_structure, self.vals, self.partials, self.aux, adj,
                            run.p + 1, stop)
            failed = run.reverse(self, adj)
            if failed >= 0:
                raise self._changed_branch(failed)
            stop = run.bs
        K.reverse_sweep(*self.reverse_structure, self.vals, self.partials, self.aux, adj, 0,
                        stop)

    def _changed_branch(self, failed):
        return ControlFlowChanged(
            f"numad: replaying the tape of {self.name}: the branch decision recorded at "
            f"entry v{failed} ({self._guard_source(failed)}) is different at these "
            "inputs, so the recorded operations are not the function here. Trace again "
            "(nd.trace), or use nd.gradient / nd.value_and_gradient, which re-trace "
            "by themselves")

    def sweep_value_and_gradient(self, out, value=True):
        """Forward sweep and reverse sweep seeded at entry ``out``, in one kernel call,
        at the inputs already loaded. Returns -1, or the index of a failed guard; the
        adjoints are then in ``self.adjoints`` (and where the tape runs compiled code,
        only the inputs' adjoints and, where ``value``, the output's value are current
        in the buffers)."""
        fn = self.compiled
        if fn is None and self._whole != "never":
            # (inline: this is the optimizers' hot path) decide at the replays that are
            # powers of two only
            self.replays = r = self.replays + 1
            if not r & (r - 1):
                fn = self._compiled_now(r)
        if fn is not None:
            if self.adjoints is None:
                self.adjoints = np.zeros_like(self.vals)
            failed = fn(self.vals, self.adjoints, value)
            if failed != -2:
                return failed
            # (an inf or a nan on the way: the generic sweep below gives its exact rule)
        if self.stops:
            failed = self.forward_sweeps()
            if failed >= 0:
                return failed
            adj = self.adjoint_buffer()
            adj[self.off[out]] += 1.0
            self._reverse_sweeps(adj)
            return -1
        if self.adjoints is None:
            self.adjoints = np.zeros_like(self.vals)
        return K.value_and_gradient_sweep(*self.reverse_structure, self.clear, self.vals,
                                          self.partials, self.aux, self.adjoints, out)

    def _compiled_now(self, r):
        """The compiled sweep at replay ``r``, where ``compile_mode`` says to compile by
        now: "always" at the first replay, "auto" where ``tape_compiler.worth_compiling``
        says the replays repay it."""
        if TC.compilable(self) is not None:
            self._whole = "never"   # (its structure never changes; its loops may compile)
            return None
        if self._whole == "always" or TC.worth_compiling(self, r):
            self.compiled = TC.compile_tape(self)
            self.compiled_direct = TC.compile_direct(self)
        return self.compiled

    @property
    def compile_mode(self):
        """Whether the tape runs as its own compiled code: "auto", "always", "never", or
        None (not chosen: not compiled, and its ``nd.scan`` steps follow
        ``nd.config.compile``). A scan's own ``compile=`` wins for its step."""
        return self._compile_mode

    @compile_mode.setter
    def compile_mode(self, mode):
        self._compile_mode = mode
        self._whole = mode or "never"

    def _guard_source(self, i):
        a = int(self.args[i, 0])
        return f"a decision on v{a} = {OPNAMES[int(self.op[a])]}(...)"

    def adjoint_buffer(self):
        """The adjoint buffer, ready for seeds and a reverse sweep."""
        if self.adjoints is None:
            self.adjoints = np.zeros_like(self.vals)
        else:
            K.clear_adjoints(self.off, self.size, self.clear, self.adjoints)
        return self.adjoints

    def gradient_loaded(self, out):
        """The adjoints of a reverse sweep seeded with 1 at the scalar entry ``out``,
        where a forward sweep at the loaded inputs has just run (as ``matches`` runs it).
        A compiled tape runs its own code instead (forward again: it keeps its values in
        registers), counting the replay towards compiling as ``sweep_value_and_gradient``
        does."""
        fn = self.compiled
        if fn is None and self._whole != "never":
            self.replays = r = self.replays + 1
            if not r & (r - 1):
                fn = self._compiled_now(r)
        if fn is None:
            return self.reverse([(out, 1.0)])
        if self.adjoints is None:
            self.adjoints = np.zeros_like(self.vals)
        failed = fn(self.vals, self.adjoints, False)   # (the values are in already)
        if failed == -2:   # (an inf or a nan on the way: the generic sweep's exact rule)
            return self.reverse([(out, 1.0)])
        if failed >= 0:  # (the generic forward sweep at these inputs just passed)
            raise AssertionError(f"numad: the compiled tape of {self.name} and its "
                                 f"generic sweep disagree on guard v{failed}")
        return self.adjoints

    def reverse(self, seeds):
        """Reverse sweep from ``seeds`` = [(entry, adjoint array)]; returns the adjoints."""
        adj = self.adjoint_buffer()
        for e, w in seeds:
            o, n = self.off[e], self.size[e]
            adj[o:o + n] += real_values(w, "a cotangent").ravel()
        self._reverse_sweeps(adj)
        return adj

    def tangents(self, seeds, L):
        """Tangent sweep with ``L`` lanes from ``seeds`` = [(entry, array (size, L))]."""
        need = self.vals.shape[0] * L
        if self._tan is None or self._tan.shape[0] != need:
            self._tan = np.zeros(need)
        else:
            self._tan[:] = 0.0
        tan = self._tan
        for e, t in seeds:
            o, n = self.off[e], self.size[e]
            tan[o * L:(o + n) * L] = real_values(t, "a tangent").reshape(n * L)
        fn = self._tangent_code()
        if fn is not None:
            failed = fn(self.vals, tan, L)
            if failed >= 0:  # (the generic forward sweep at these inputs just passed)
                raise AssertionError(f"numad: the compiled tape of {self.name} and its "
                                     f"generic sweep disagree on guard v{failed}")
            return tan
        start = 0
        for run in self.stops:
            K.tangent_sweep(*self.structure, self.vals, self.partials, self.aux, tan, L,
                            start, run.bs)
            failed = run.tangents(self, tan, L)
            if failed >= 0:
                raise self._changed_branch(failed)
            start = run.p + 1
        K.tangent_sweep(*self.structure, self.vals, self.partials, self.aux, tan, L, start,
                        len(self.op))
        return tan

    def _tangent_code(self):
        """The compiled tangent sweep, where ``compile_mode`` says to have it by now,
        else None."""
        return self._code_by_now("tangent", TC.tangent_compilable, TC.tangent_worth_compiling,
                                 TC.compile_tangent)

    def _vjp_code(self, rows):
        """The compiled vector-Jacobian code for a Jacobian of ``rows`` rows (``rows``
        replays), where ``compile_mode`` says to have it by now, else None."""
        return self._code_by_now("vjp", TC.vjp_compilable, TC.vjp_worth_compiling,
                                 TC.compile_vjp, rows)

    def _code_by_now(self, name, compilable, worth, compile_, count=1):
        """The compiled ``name`` ("hvp", "tangent", "vjp": attributes ``compiled_<name>``,
        ``<name>_replays``, ``<name>_never``), where ``compile_mode`` says to have it by
        now (the rule of ``_compiled_now``, counting its own replays: ``count`` of them
        for this call, a Jacobian's rows or a Hessian's columns), else None."""
        fn = getattr(self, "compiled_" + name)
        if fn is None and self._whole != "never" and not getattr(self, name + "_never"):
            before = getattr(self, name + "_replays")
            r = before + count
            setattr(self, name + "_replays", r)
            if r.bit_length() > before.bit_length():   # (the count passed a power of two)
                if compilable(self) is not None:
                    setattr(self, name + "_never", True)   # (its structure never changes)
                elif self._whole == "always" or worth(self, r):
                    fn = compile_(self)
                    setattr(self, "compiled_" + name, fn)
        return fn

    def _hvp_buffer_set(self):
        if self._hvp_buffers is None:
            n = len(self.op)
            self._hvp_buffers = (np.zeros((n, 2), dtype=np.bool_), np.zeros_like(self.vals),
                                 np.zeros((n, 2)), np.zeros_like(self.vals),
                                 np.zeros_like(self.vals))
        return self._hvp_buffers

    def hvp_code(self, count=1):
        """The compiled Hessian-vector function, where ``compile_mode`` says to have it
        by now (counting products: ``count`` for this call), else None."""
        return self._code_by_now("hvp", TC.hvp_compilable, TC.hvp_worth_compiling,
                                 TC.compile_hvp, count)

    def _hvp_compiled(self, fn, tan, adjd):
        failed = fn(self.vals, tan, self._hvp_buffers[3], adjd)
        if failed >= 0:  # (the generic forward sweep at these inputs just passed)
            raise AssertionError(f"numad: the compiled tape of {self.name} and its "
                                 f"generic sweep disagree on guard v{failed}")
        return failed == -1   # (-2: an inf or a nan on the way; the generic sweep's rule)

    def hvp_at_new_inputs(self, direction):
        """H v for a ``single_input`` tape whose inputs were just written into ``vals``:
        the compiled product where there is one (it computes the values itself), else a
        forward sweep and the generic product. None where a branch decision changed."""
        fn = self.compiled_hvp
        if fn is not None:
            start, n, _ = self.single_input
            _, tan, _, adj, adjd = self._hvp_buffer_set()
            tan[start:start + n] = real_values(direction, "hvp's direction").ravel()
            failed = fn(self.vals, tan, adj, adjd)
            if failed == -1:
                return adjd[start:start + n].copy()
            if failed >= 0:
                return None
        if self.forward_sweeps() >= 0:
            return None
        return self.hvp_single(direction)

    def hvp_single(self, direction):
        """H v for a tape of one array input and a scalar output (``single_input``), at
        the loaded point: one kernel call, buffers and all."""
        start, n, out = self.single_input
        direction = np.ascontiguousarray(real_values(direction, "hvp's direction")).ravel()
        fn = self.hvp_code()
        if fn is not None:
            _, tan, _, _, adjd = self._hvp_buffer_set()
            tan[start:start + n] = direction
            if self._hvp_compiled(fn, tan, adjd):
                return adjd[start:start + n].copy()
            self.forward_sweeps()   # (the compiled code may have run without one)
        result = np.empty(n)
        K.hvp_of_input(*self.structure, *self._hvp_buffer_set()[:1], self.vals,
                       self.partials, self.aux, *self._hvp_buffers[1:], start, direction, out,
                       result)
        return result

    def hvp_loaded(self, out, seeds):
        """H v of the scalar entry ``out`` at the loaded point (a forward sweep there
        done), for ``seeds`` = [(input entry, direction)]: one forward-over-reverse
        kernel call (or the tape's compiled code). Returns the buffer of adjoint
        tangents (read it at the inputs)."""
        nofirst, tan, dpartials, adj, adjd = self._hvp_buffer_set()
        tan[:] = 0.0
        for e, v in seeds:
            o, n = self.off[e], self.size[e]
            tan[o:o + n] = real_values(v, "a tangent").ravel()
        fn = self.hvp_code()
        if fn is not None:
            if self._hvp_compiled(fn, tan, adjd):
                return adjd
            self.forward_sweeps()   # (the compiled code may have run without one)
        adj[:] = 0.0
        adjd[:] = 0.0
        adj[self.off[out]] = 1.0
        K.hvp_sweep(*self.structure, nofirst, self.vals, self.partials, self.aux, tan,
                    dpartials, adj, adjd)
        return adjd

    def read(self, buf, e, L=1):
        o, n = self.off[e], self.size[e]
        return buf[o * L:(o + n) * L].reshape(n, L) if L > 1 else buf[o:o + n]

    def outputs(self):
        vals = [self.entry_value(e) for e in self.output_entries]
        vals = [float(v) if np.ndim(v) == 0 else v.copy() for v in vals]
        return unflatten(self.out_treedef, vals)

    def scalar_output(self, what):
        if not self.output_entries:
            raise ValueError(f"numad: {what} of {self.name} needs a scalar output, but it "
                             "returns no number (None, or a structure without floats); "
                             "return the value to differentiate")
        if len(self.output_entries) != 1 or self.size[self.output_entries[0]] != 1:
            shapes = [self.shape_of(e) for e in self.output_entries]
            raise ValueError(f"numad: {what} of {self.name} needs a scalar output, but it "
                             f"returns shape(s) {shapes}; use nd.jacobian or nd.vjp for "
                             "vector outputs")
        return self.output_entries[0]

    def gather_inputs(self, buf, positions, argnum, L=1):
        """The derivative of argument ``argnum`` out of a sweep buffer, in its structure."""
        out = []
        for r in self.leaf_roles[argnum]:
            if isinstance(r, tuple):
                out.append(None)
                continue
            e = self.input_entries[r]
            shape = self.shape_of(e)
            block = self.read(buf, e, L).copy()
            if L == 1:
                out.append(float(block[0]) if shape == () else block.reshape(shape))
            else:
                out.append(block.reshape(shape + (L,)))
        return unflatten(self.arg_treedefs[argnum], out)

    # ---- the public replays ------------------------------------------------------------------
    @_per_thread
    def __call__(self, *args, **kwargs):
        """The recorded function's value at new inputs (a forward sweep).

        Parameters
        ----------
        *args : float, ndarray or pytree
            The arguments, structured and shaped as those the tape was recorded with.
        **kwargs
            For a tape traced with keyword arguments: new values of some of them (the
            others keep their recorded values).

        Returns
        -------
        float, ndarray or pytree
            The output, structured as the recorded function's.

        Raises
        ------
        ControlFlowChanged
            Where a recorded branch decision no longer holds at ``args``.
        """
        args = self._with_keywords(args, kwargs)
        self._load(args)
        self._refuse_if_stale()
        self.forward()
        # (float32 arguments: float32 answers, numad/precision.py, as the adapters give)
        return in_dtype(self.outputs(), answer_dtype(args))

    @_per_thread
    def matches(self, *args, **kwargs):
        """Whether the tape is its function at ``args``.

        The recorded branch decisions all hold there, and what the function reads
        besides its arguments is as it was when traced: replaying at ``args`` would not
        raise ``ControlFlowChanged``.

        Parameters
        ----------
        *args : float, ndarray or pytree
            The arguments, as for ``tape(*args)``.
        **kwargs
            For a tape traced with keyword arguments: new values of some of them.

        Returns
        -------
        bool
            True where the tape may be replayed at ``args``.
        """
        try:
            self._load(self._with_keywords(args, kwargs))
        except ControlFlowChanged:   # (a setting other than the recorded one)
            return False
        if self.watch is not None and not self.watch.holds() and self.stale() is not None:
            return False   # (an Unwatched never holds, and changed nothing known)
        return self.forward_sweeps() < 0

    @_per_thread
    def value_and_gradient(self, *args, argnum=0, **kwargs):
        """The value and the gradient with respect to argument ``argnum``.

        Parameters
        ----------
        *args : float, ndarray or pytree
            The arguments, as for ``tape(*args)``.
        argnum : int, optional
            Which positional argument to differentiate with respect to (default 0).
        **kwargs
            For a tape traced with keyword arguments: new values of some of them.

        Returns
        -------
        value : float
            The (scalar) output at ``args``; a non-scalar output raises ``ValueError``.
        gradient : float, ndarray or pytree
            The gradient, shaped like ``args[argnum]``.

        Raises
        ------
        ControlFlowChanged
            Where a recorded branch decision no longer holds at ``args``.
        """
        args = self._with_keywords(args, kwargs)
        self._load(args)
        self._refuse_if_stale()
        out = self.scalar_output("the gradient")
        if argnum != 0:   # (compiled code has the first argument's adjoints only)
            self.forward()
            gradient = self.gather_inputs(self.reverse([(out, 1.0)]), None, argnum)
        else:
            failed = self.sweep_value_and_gradient(out)
            if failed >= 0:
                raise self._changed_branch(failed)
            gradient = self.gather_inputs(self.adjoints, None, argnum)
        return (in_dtype(float(self.entry_value(out)), answer_dtype(args)),
                like_argument(gradient, args[argnum]))

    @_per_thread
    def gradient(self, *args, **kwargs):
        """The gradient of the (scalar) output with respect to the first argument.

        Parameters
        ----------
        *args : float, ndarray or pytree
            The arguments, as for ``tape(*args)``.
        **kwargs
            For a tape traced with keyword arguments: new values of some of them.

        Returns
        -------
        float, ndarray or pytree
            The gradient, shaped like ``args[0]``.

        Raises
        ------
        ControlFlowChanged
            Where a recorded branch decision no longer holds at ``args``.
        """
        return self.value_and_gradient(*args, **kwargs)[1]

    # ---- batches ---------------------------------------------------------------------------
    @_per_thread
    def forward_batch(self, *X, device="cpu"):
        """The tape's output at every row of ``X`` (one point a row), rows in parallel.

        One array per argument of the tape, each with a leading axis of rows (an
        argument that is a pytree: every leaf with that axis): ``X`` of shape
        ``(rows,) + x.shape`` for a one-argument tape. The result has the output's
        structure, every leaf with a leading axis of rows. Rows where a recorded branch
        decision goes the other way are answered on their own path (traced anew), so
        every row is answered correctly; ``tape.last_batch_info`` says how many
        (``numad/batches.py``). ``device="cuda"`` runs the rows as ``numba.cuda``
        kernels (``numad/cuda_batch.py``).

        Parameters
        ----------
        *X : ndarray or pytree
            One array of rows per argument of the tape, each with a leading axis of
            rows (a pytree argument: every leaf with that axis).
        device : {"cpu", "cuda"}, optional
            ``"cpu"`` (the default) runs blocks of rows on every core; ``"cuda"`` runs
            them as ``numba.cuda`` kernels (optional extra ``cuda``; without it or
            without a GPU, a clear error).

        Returns
        -------
        float array or pytree
            The outputs, structured as the tape's output, every leaf with a leading axis
            of rows.

        Examples
        --------
        >>> import numad as nd, numpy as np
        >>> tape = nd.trace(lambda x: np.sum(x ** 2), np.zeros(2))
        >>> tape.forward_batch(np.array([[1.0, 2.0], [3.0, 4.0]]))
        array([ 5., 25.])
        """
        values, _ = self._batch(X, device, gradient=False)
        return in_dtype(values, answer_dtype(X))

    @_per_thread
    def gradient_batch(self, *X, device="cpu"):
        """The gradient of the (scalar) output at every row of ``X``, rows in parallel.

        With respect to the first argument, as ``tape.gradient``, one row of ``X`` a
        point (as ``forward_batch``). Rows whose branch decisions differ are traced
        anew, so every row is answered correctly.

        Parameters
        ----------
        *X : ndarray or pytree
            One array of rows per argument of the tape, each with a leading axis of
            rows (a pytree argument: every leaf with that axis).
        device : {"cpu", "cuda"}, optional
            ``"cpu"`` (the default) runs blocks of rows on every core; ``"cuda"`` runs
            them as ``numba.cuda`` kernels (optional extra ``cuda``; without it or
            without a GPU, a clear error).

        Returns
        -------
        ndarray or pytree
            The gradients, shaped like the first argument's rows.
        """
        return like_argument(self._batch(X, device, gradient=True)[1], X[0])

    @_per_thread
    def value_and_gradient_batch(self, *X, device="cpu"):
        """The values and gradients at every row of ``X``, from one sweep per row.

        ``forward_batch`` and ``gradient_batch`` at once.

        Parameters
        ----------
        *X : ndarray or pytree
            One array of rows per argument of the tape, each with a leading axis of
            rows (a pytree argument: every leaf with that axis).
        device : {"cpu", "cuda"}, optional
            ``"cpu"`` (the default) runs blocks of rows on every core; ``"cuda"`` runs
            them as ``numba.cuda`` kernels (optional extra ``cuda``; without it or
            without a GPU, a clear error).

        Returns
        -------
        values : ndarray
            The (scalar) outputs, one per row.
        gradients : ndarray or pytree
            The gradients, shaped like the first argument's rows.
        """
        values, gradients = self._batch(X, device, gradient=True)
        return in_dtype(values, answer_dtype(X)), like_argument(gradients, X[0])

    @property
    def last_batch_info(self):
        """How this thread's last batch on this tape went (``numad.batches.BatchInfo``:
        rows answered on another branch path, row by row, compiled), or None."""
        return getattr(self.local(), "_batch_info", None)

    def _batch(self, X, device, gradient):
        from . import batches
        what = "tape.gradient_batch" if gradient else "tape.forward_batch"
        check_device(device, what)
        if self.keywords is not None:
            raise TypeError(f"numad: the tape of {self.name} was traced with keyword "
                            "arguments, which its batches do not take; trace it with them "
                            "as positional arguments, or use nd.value_and_gradient_batch")
        if len(X) != len(self.arg_treedefs):
            raise TypeError(f"numad: the tape of {self.name} takes {len(self.arg_treedefs)} "
                            f"arguments; a batch gives one array of rows for each, got "
                            f"{len(X)}")
        self._refuse_if_stale()
        # (an argument that holds settings only, an int power, a mode string, is the
        # same for every row: given once, as it was traced)
        rows = [not self._is_recorded_setting(arg, k) for k, arg in enumerate(X)]
        batch = batches.Batch(X, rows, what)
        for arg, treedef, batched in zip(X, self.arg_treedefs, batch.treedefs):
            if batched is None:
                continue
            if batched != treedef:
                raise ValueError(f"numad: the tape of {self.name} was recorded for arguments "
                                 f"structured as {treedef}; the batch has {batched}")
        for k in range(len(X)):
            if batch.leaves[k] is None:
                continue
            for role, leaf in zip(self.leaf_roles[k], batch.leaves[k]):
                if isinstance(role, tuple):
                    continue
                shape = self.shape_of(int(self.input_entries[role]))
                if leaf.shape[1:] != shape:
                    raise ValueError(
                        f"numad: a batch for an input of shape {shape} has shape "
                        f"(rows,) + {shape}, not {leaf.shape}")
        if gradient:
            self.scalar_output(what)
        tape_at = batches.tape_matching(self)
        first = tape_at(batch.row(0))
        values, grads, info = batches.run(batch, first, tape_at, gradient, 0, device,
                                          retrace=self.fun.retrace if self.fun else None)
        self._batch_info = info
        rows = batch.rows
        return (batches.outputs_of_rows(self, values, rows),
                batches.gradients_of_rows(self, grads, 0, rows) if gradient else None)

    def _is_recorded_setting(self, arg, k):
        """Whether argument ``k`` holds settings only and ``arg`` is one setting for all
        rows: the recorded structure, each leaf of the recorded shape (rows of settings,
        one per point, have an axis more). Another value than the recorded traces anew."""
        roles = self.leaf_roles[k]
        leaves, treedef = flatten(arg)
        return (bool(roles) and treedef == self.arg_treedefs[k]
                and all(isinstance(role, tuple) and np.shape(leaf) == np.shape(role[1])
                        for role, leaf in zip(roles, leaves)))

    def _single_input_arg(self, what):
        positional = len(self.arg_treedefs) - (self.keywords is not None)
        if positional != 1:
            raise TypeError(f"numad: tape.{what} is for one-argument tapes; {self.name} "
                            f"takes {positional}")

    def _check_shapes(self, method, name, what, leaves, tree, want_tree, entries):
        """Refuse a cotangent or direction not structured and shaped like the output or
        input it belongs to: NumPy would broadcast it into a wrong answer, or fail
        with a message that names neither."""
        shapes = [np.shape(leaf) for leaf in leaves]
        wanted = [self.shape_of(e) for e in entries]
        if tree != want_tree or shapes != wanted:
            raise ValueError(
                f"tape.{method}: {name} has the structure {tree} and shapes {shapes}, the "
                f"{'output' if name == 'w' else 'input'} {want_tree} and {wanted}; give a "
                f"{what} shaped like it")

    @_per_thread
    def vjp(self, x, w, **kwargs):
        """The vector-Jacobian product ``w^T J`` at ``x`` (one reverse sweep).

        For a one-argument tape (else ``TypeError``).

        Parameters
        ----------
        x : float, ndarray or pytree
            The point.
        w : float, ndarray or pytree
            The cotangent, shaped like the output.
        **kwargs
            For a tape traced with keyword arguments: new values of some of them.

        Returns
        -------
        float, ndarray or pytree
            ``w^T J``, shaped like ``x``.
        """
        self._single_input_arg("vjp")
        self._load(self._with_keywords((x,), kwargs))
        self._refuse_if_stale()
        self.forward()
        w_leaves, w_tree = flatten(w)
        self._check_shapes("vjp", "w", "cotangent", w_leaves, w_tree, self.out_treedef,
                           self.output_entries)
        seeds = list(zip(self.output_entries, w_leaves))
        adj = self.reverse(seeds)
        return like_argument(self.gather_inputs(adj, None, 0), x)

    @_per_thread
    def jvp(self, x, v, **kwargs):
        """The value and the Jacobian-vector product ``J v`` at ``x`` (one tangent sweep).

        For a one-argument tape (else ``TypeError``).

        Parameters
        ----------
        x : float, ndarray or pytree
            The point.
        v : float, ndarray or pytree
            The direction, shaped like ``x``.
        **kwargs
            For a tape traced with keyword arguments: new values of some of them.

        Returns
        -------
        y : float, ndarray or pytree
            The output at ``x``.
        jv : float, ndarray or pytree
            ``J v``, structured like the output.
        """
        self._single_input_arg("jvp")
        self._load(self._with_keywords((x,), kwargs))
        self._refuse_if_stale()
        self.forward()
        v_leaves, v_tree = flatten(v)
        entries = [self.input_entries[r] for r in self.input_positions(0)]
        roles = self.leaf_roles[0]
        if len(v_leaves) == len(roles):   # the direction of the inputs among x's leaves
            v_leaves = [leaf for leaf, r in zip(v_leaves, roles) if not isinstance(r, tuple)]
        self._check_shapes("jvp", "v", "direction", v_leaves, v_tree, self.arg_treedefs[0],
                           entries)
        tan = self.tangents(list(zip(entries, [np.reshape(t, (-1, 1)) for t in v_leaves])), 1)
        outs = []
        for e in self.output_entries:
            t = self.read(tan, e).copy()
            shape = self.shape_of(e)
            outs.append(float(t[0]) if shape == () else t.reshape(shape))
        dtype = answer_dtype((x, v))
        return in_dtype(self.outputs(), dtype), in_dtype(unflatten(self.out_treedef, outs), dtype)

    @_per_thread
    def jacobian(self, x, mode="auto", **kwargs):
        """The Jacobian at ``x``.

        For a one-argument tape (else ``TypeError``) with one array output.

        Parameters
        ----------
        x : float or ndarray
            The point.
        mode : {"auto", "forward", "reverse"}, optional
            As in ``nd.jacobian``: forward sweeps the n input directions at once,
            reverse one sweep per output; ``"auto"`` (the default) picks forward when
            n <= m.
        **kwargs
            For a tape traced with keyword arguments: new values of some of them.

        Returns
        -------
        ndarray
            The Jacobian, shaped ``output.shape + x.shape``.
        """
        self._single_input_arg("jacobian")
        self._load(self._with_keywords((x,), kwargs))
        self._refuse_if_stale()
        self.forward()
        return in_dtype(self.jacobian_loaded(mode, 0), answer_dtype(x))

    def jacobian_loaded(self, mode, argnum):
        """The Jacobian of the outputs by argument ``argnum`` at the loaded point."""
        inputs = [int(self.input_entries[r]) for r in self.input_positions(argnum)]
        outputs = self.output_entries
        n = int(sum(self.size[e] for e in inputs))
        m = int(sum(self.size[e] for e in outputs))
        if mode == "auto":
            mode = "forward" if n <= m else "reverse"
        J = np.zeros((m, n))
        if mode == "forward":
            # all n directions in one tangent sweep: the lanes of the identity
            seeds, start = [], 0
            for e in inputs:
                s = int(self.size[e])
                t = np.zeros((s, n))
                t[np.arange(s), start + np.arange(s)] = 1.0
                seeds.append((e, t))
                start += s
            if n:
                tan = self.tangents(seeds, n)
                row = 0
                for e in outputs:
                    s = int(self.size[e])
                    J[row:row + s] = self.read(tan, e, n).reshape(s, n)
                    row += s
        elif mode == "reverse":
            # a row a call of the compiled code where there is one (it computes the
            # values itself), else a generic reverse sweep seeded at the row's output
            fn = self._vjp_code(m) if argnum == 0 and n else None
            w = np.zeros(m)
            row = 0
            for e in outputs:
                for k in range(int(self.size[e])):
                    adj = self._compiled_row(fn, w, row) if fn is not None else None
                    if adj is None:
                        adj = self.adjoint_buffer()
                        adj[self.off[e] + k] = 1.0
                        self._reverse_sweeps(adj)
                    if n:
                        J[row] = np.concatenate([self.read(adj, i) for i in inputs])
                    row += 1
        else:
            raise ValueError(f"numad: jacobian mode must be 'forward', 'reverse' or 'auto', "
                             f"not {mode!r}")
        out_shape = self.shape_of(outputs[0]) if len(outputs) == 1 else (m,)
        in_shape = self.shape_of(inputs[0]) if len(inputs) == 1 else (n,)
        return J.reshape(out_shape + in_shape)

    def _compiled_row(self, fn, w, row):
        """The adjoints of output element ``row`` (the inputs' hold its Jacobian row)
        from the compiled vector-Jacobian code ``fn``, at the loaded point; None where
        it meets an inf or a nan (the generic sweeps' rule is asked for)."""
        if self.adjoints is None:
            self.adjoints = np.zeros_like(self.vals)
        w[row] = 1.0
        failed = fn(self.vals, self.adjoints, w)
        w[row] = 0.0
        if failed >= 0:   # (the generic forward sweep at these inputs just passed)
            raise AssertionError(f"numad: the compiled tape of {self.name} and its "
                                 f"generic sweep disagree on guard v{failed}")
        return self.adjoints if failed == -1 else None


def _same_static(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.shape == b.shape and a.dtype == b.dtype and bool(np.all(a == b)))
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return a is b
