"""Compiled tapes: a tape's value-and-gradient sweep written out as its own ``@njit`` code.

The generic sweeps interpret the tape, one switch over the opcode per entry; for a small
step replayed many times, or an optimizer's objective replayed thousands of times, that
interpretation is most of the cost. ``compile_tape`` writes the tape instead as
straight-line Python, one statement per live entry, from the op table's own formulas
(``numad/optable.py``: the rows' values and partials, spelled for numba as the generated
kernels spell them), and compiles it with numba:

* forward: every scalar value is a local (``v<offset>``), read from the tape's values
  buffer once where it is an input or a constant; each entry's partials that the
  reverse part needs are kept in locals (``p<offset>_<k>``);
* dead entries (neither on the way to the output nor read by a guard) are dropped, and
  an entry equal to an earlier one (same op, same operands) reuses its local;
* guards are checked where they stand: a changed branch decision returns the guard's
  entry index, exactly as the interpreter's sweep does (the caller traces again, or
  raises ``ControlFlowChanged``);
* reverse: adjoints are locals too (``g<offset>``), the first contribution assigned and
  the others added, and only the inputs' adjoints are stored, every input element's
  (zero where the output does not depend on it). A zero adjoint or a zero partial
  contributes exactly 0, as in the generic sweep (``times``).

The code depends on the tape's structure only (opcodes, wiring, offsets), never on its
values: constants are read from the values buffer. So the text is its own cache key: it
is written to a file named by its hash in numad's tape-cache directory and compiled with
numba's ``cache=True``, so that a second process or a second tape of the same structure
loads it instead of compiling (``cache_directory``). Where no directory can be written,
the code is compiled in memory, and numad says so once.

What compiles so far: tapes whose entries are all scalars (a Python loop over floats and
``x[i]``, the commonest use of the SciPy adapters), with one scalar output. Other tapes
are not compiled (``compilable`` says why) and replay on the generic sweeps.
"""
from __future__ import annotations

import ast
import glob
import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import warnings

import numpy as np

from ._codegen import kernel_expression
from .optable import ELEMENTWISE, N_ELEMENTWISE, OPCODES

_INPUT = OPCODES["input"]
_CONST = OPCODES["const"]
_ALIAS = OPCODES["alias"]
_GUARD = OPCODES["guard"]

VERSION = "1"   # of the generated code's form: part of every cache key
# Above this many entries numba's compile time of one straight-line function grows past
# what replays can repay (measured cold: 1.2 s at 244 entries, 6 s at 994, 24 s at 2494).
MAX_ENTRIES = 2500


def compilable(tape):
    """None when ``compile_tape`` takes ``tape``, else why not (a short phrase)."""
    if tape.stops:
        return "it contains a scan loop or a call with a rule of its own"
    if len(tape.output_entries) != 1 or tape.size[tape.output_entries[0]] != 1:
        return "its output is not one scalar"
    op, size = tape.op, tape.size
    scalar_ops = (op < N_ELEMENTWISE) | (op == _GUARD)
    if np.any(scalar_ops & (size != 1)):
        return "it has array operations"
    others = ~scalar_ops & (op != _INPUT) & (op != _CONST)
    aliases = op == _ALIAS
    if np.any(others & ~aliases):
        return "it has structural operations (reductions, indexing, linear algebra)"
    if len(op) > MAX_ENTRIES:
        return f"it has {len(op)} entries, more than {MAX_ENTRIES}"
    return None


class _Expression(ast.NodeTransformer):
    """Puts locals in place of a row formula's names a, b and y."""

    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        if node.id in self.names:
            return ast.copy_location(ast.Name(self.names[node.id], ast.Load()), node)
        return node


def _formula(expr, names):
    tree = _Expression(names).visit(ast.parse(kernel_expression(expr), mode="eval"))
    return ast.unparse(tree)


def source(tape, name="value_and_gradient"):
    """The Python text of ``tape``'s compiled value-and-gradient function.

    ``name(vals, adj)`` reads the inputs and constants from ``vals``, writes the output's
    value there and every input element's adjoint into ``adj``; it returns -1, or the
    index of the first guard whose recorded decision no longer holds (then ``adj`` is
    untouched)."""
    op, off, opnd = tape.op, tape.off, tape.opnd
    n = len(op)
    input_slots = sorted({s for e in tape.input_entries
                          for s in range(int(off[e]), int(off[e] + tape.size[e]))})

    # Values live in slots of the values buffer (inputs, constants and aliases are
    # windows of it). First, common subexpressions: an entry with the same op and the
    # same operands as an earlier one is that one (``same`` maps its slot there).
    same, first_of = {}, {}

    def operands(i):
        row = ELEMENTWISE[op[i]]
        return [same.get(int(opnd[i, k]), int(opnd[i, k])) for k in range(row.arity)]

    entries = []      # the elementwise entries that compute a value of their own
    for i in range(n):
        if op[i] < N_ELEMENTWISE:
            key = (int(op[i]), *operands(i))
            if key in first_of:
                same[int(off[i])] = int(off[first_of[key]])
            else:
                first_of[key] = i
                entries.append(i)
    out_entry_slot = int(off[tape.output_entries[0]])
    out_slot = same.get(out_entry_slot, out_entry_slot)
    guards = [i for i in range(n) if op[i] == _GUARD]

    # Live entries: on the way to the output or to a guard's operand.
    needed = {out_slot} | {same.get(int(opnd[g, 0]), int(opnd[g, 0])) for g in guards}
    live = set()
    for i in reversed(entries):
        if int(off[i]) in needed:
            live.add(i)
            needed.update(operands(i))
    # Slots whose value depends on an input (through nonzero partials), and of those
    # the ones the output depends on: only they need partials and adjoints.
    varies = set(input_slots)
    for i in entries:
        row = ELEMENTWISE[op[i]]
        if i in live and any(s in varies for k, s in enumerate(operands(i))
                             if row.partials[k] is not None):
            varies.add(int(off[i]))
    on_path = {out_slot} & varies
    for i in reversed(entries):
        if i in live and int(off[i]) in on_path:
            row = ELEMENTWISE[op[i]]
            on_path.update(s for k, s in enumerate(operands(i))
                           if row.partials[k] is not None and s in varies)

    loads, body, reverse = [], [], []
    known = set()

    def value(slot):
        if slot not in known:  # an input or a constant: read once
            known.add(slot)
            loads.append(f"    v{slot} = vals[{slot}]")
        return f"v{slot}"

    chain = []        # (entry slot, [(operand slot, partial local)]) in tape order
    live_or_guard = sorted(live | set(guards))
    for i in live_or_guard:
        if op[i] == _GUARD:
            a = value(same.get(int(opnd[i, 0]), int(opnd[i, 0])))
            recorded = value(int(off[i]))
            body.append(f"    if {a} != {recorded} and not ({a} != {a} and "
                        f"{recorded} != {recorded}):")
            body.append(f"        return {i}")
            continue
        row = ELEMENTWISE[op[i]]
        slots = operands(i)
        names = dict(zip("ab", (value(s) for s in slots)))
        slot = int(off[i])
        known.add(slot)
        names["y"] = y = f"v{slot}"
        body.append(f"    {y} = {_formula(row.value, names)}")
        if slot not in on_path:
            continue
        kept = []
        for k, s in enumerate(slots):
            if row.partials[k] is not None and s in on_path:
                p = f"p{slot}_{k}"
                body.append(f"    {p} = {_formula(row.partials[k], names)}")
                kept.append((s, p))
        chain.append((slot, kept))

    # Reverse: adjoints as locals, the first contribution assigned, the others added.
    seeded = set()

    def add(slot, term):
        reverse.append(f"    g{slot} {'+=' if slot in seeded else '='} {term}")
        seeded.add(slot)

    if out_slot in on_path:
        add(out_slot, "1.0")
    for slot, kept in reversed(chain):
        if slot in seeded:
            for s, p in kept:
                add(s, f"times(g{slot}, {p})")
    result = value(out_slot)
    text = [f"def {name}(vals, adj):"] + loads + body
    text.append(f"    vals[{out_entry_slot}] = {result}")
    text += reverse
    text += [f"    adj[{s}] = {f'g{s}' if s in seeded else '0.0'}" for s in input_slots]
    text.append("    return -1")
    return "\n".join(text) + "\n"


# ---- the cache on disk ----------------------------------------------------------------------

_HEADER = ("# a compiled numad tape (numad/tape_compiler.py), named by the hash of this text\n"
           "import math\n\nimport numpy as np\nfrom numba import njit\n\n\n"
           "@njit(cache=True)\n"
           "def select(c, x, y):\n"
           "    return x if c else y\n\n\n"
           "@njit(cache=True)\n"
           "def times(g, d):\n"
           "    # a zero adjoint or partial adds exactly 0, even against an inf or a nan\n"
           "    # (the generic reverse sweep's rule: where's untaken side leaks nothing)\n"
           "    return g * d if (g != 0.0 and d != 0.0) else 0.0\n\n\n")

_LOCK = threading.Lock()
_LOADED = {}          # key -> compiled function, for this process
_WARNED = []


def cache_directory():
    """Where compiled tapes are written: ``NUMAD_CACHE_DIR``, else ``NUMBA_CACHE_DIR``'s
    ``numad-tapes``, else the user's cache directory; None where none is writable."""
    candidates = []
    if os.environ.get("NUMAD_CACHE_DIR"):
        candidates.append(os.environ["NUMAD_CACHE_DIR"])
    if os.environ.get("NUMBA_CACHE_DIR"):
        candidates.append(os.path.join(os.environ["NUMBA_CACHE_DIR"], "numad-tapes"))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates.append(os.path.join(base, "numad", "tapes"))
    for path in candidates:
        try:
            os.makedirs(path, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=path, delete=True)
            probe.close()
            return path
        except OSError:
            continue
    return None


def _module_text(body):
    return _HEADER + "@njit(cache=True, error_model='numpy')\n" + body


def _key_and_text(tape):
    text = _module_text(source(tape))
    return hashlib.sha256((VERSION + text).encode()).hexdigest()[:24], text


def is_cached(tape):
    """Whether a tape of this structure was compiled before: in this process, or in the
    disk cache with numba's compiled code beside it."""
    key, _ = _key_and_text(tape)
    if key in _LOADED:
        return True
    directory = cache_directory()
    return directory is not None and bool(glob.glob(os.path.join(
        directory, "__pycache__", f"numad_tape_{key}.value_and_gradient-*.nbi")))


# The rule of compile="auto". A tape replayed r times is expected to be replayed about
# r times more (the doubling rule of tiered JIT compilers); compile when those replays
# save more than compiling costs. Measured on the scalar-loop Rosenbrock with
# benchmarks/compare_compiled.py (244, 994 and 2494 entries, this machine): a compiled
# gradient call saves about 2.5 us + 3.7 ns an entry against the generic sweeps;
# compiling costs 1.2 s, 6 s and 24 s cold (numba's time grows faster than the entries:
# 0.3 s + 6 ms an entry is the middle of it), and loading a tape of the same structure
# from the disk cache 0.02 to 0.2 s.
SAVED_PER_REPLAY = (2.5e-6, 3.7e-9)      # seconds: fixed, per entry
COMPILE_COST = (0.3, 6e-3)               # seconds: fixed, per entry
LOAD_COST = 0.1                          # seconds


def worth_compiling(tape, replays):
    """Whether ``replays`` more replays of ``tape`` repay compiling it (see above)."""
    n = len(tape.op)
    saved = replays * (SAVED_PER_REPLAY[0] + SAVED_PER_REPLAY[1] * n)
    if saved < LOAD_COST:   # (not even a load repays: skip writing the text to look)
        return False
    cost = LOAD_COST if is_cached(tape) else COMPILE_COST[0] + COMPILE_COST[1] * n
    return saved >= cost


def compile_tape(tape):
    """The compiled value-and-gradient function of ``tape`` (see ``source``), from this
    process's table, the disk cache, or a fresh compilation. Raises ValueError where
    ``compilable`` says no."""
    why = compilable(tape)
    if why is not None:
        raise ValueError(f"numad: the tape of {tape.name} cannot be compiled: {why}")
    key, text = _key_and_text(tape)
    with _LOCK:
        fn = _LOADED.get(key)
        if fn is None:
            fn = _load(key, text)
            _LOADED[key] = fn
    return fn


def _load(key, text):
    name = f"numad_tape_{key}"
    directory = cache_directory()
    if directory is not None:
        path = os.path.join(directory, name + ".py")
        try:
            if not os.path.exists(path):
                tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
                with open(tmp, "w") as f:
                    f.write(text)
                os.replace(tmp, path)  # atomic: a concurrent process sees all or nothing
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            return module.value_and_gradient
        except OSError:
            pass
    if not _WARNED:
        _WARNED.append(True)
        warnings.warn("numad: no directory for compiled tapes is writable (set "
                      "NUMAD_CACHE_DIR); compiling in memory, so every process compiles "
                      "its tapes anew", RuntimeWarning, stacklevel=3)
    namespace = {}
    exec(compile(text.replace("cache=True", "cache=False"), name, "exec"), namespace)
    return namespace["value_and_gradient"]
