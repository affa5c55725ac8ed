"""Batches on the GPU: a tape's forward and reverse sweeps as ``numba.cuda`` kernels.

One thread sweeps one row. The tape is first written as a flat *scalar program*
(``tape_compiler.scalar_ops``: every elementwise entry, sum, concatenation and
indexing by constants as operations on single values, and the guards), four arrays
that live in device memory: opcode, result slot, operand slots. The values and the
adjoints of a chunk of rows are matrices ``slots x rows``, so that the threads of a
warp, sweeping neighbouring rows, read and write neighbouring addresses at every step
of the program. The forward sweep keeps only values; the reverse sweep recomputes each
operation's partials from its operands and result (the op table's formulas, generated
into ``numad/_generated/cuda_elementwise.py``), so no partials are stored.

A row where a guard's recorded decision goes the other way reports the guard, as the
CPU kernel does, and ``numad/batches.py`` answers it on its own path. Tapes the scalar
program cannot hold (loops of ``nd.scan``, custom rules, matrix products, sorting...)
and operations without a GPU formula (the special functions numba has no GPU code for)
are refused with an error naming them: ``device="cpu"`` runs every tape.

``numba-cuda`` is the optional extra ``cuda``. Without it, or without a GPU,
``device="cuda"`` raises an error that says so. ``NUMBA_ENABLE_CUDASIM=1`` runs the
kernels in numba's simulator (slow: a few rows, for tests).

GPU arithmetic: ``exp``, ``log`` and the others come from CUDA's math library, whose
last bit may differ from the CPU's, so rows agree with the CPU batch to rounding
(about 1e-15 relative per operation), not bit for bit.
"""
from __future__ import annotations

import os

import numpy as np

_DEVICES = ("cpu", "cuda")
# Device memory for one chunk of rows' values and adjoints (bytes): rows beyond it run
# in further chunks. ``NUMAD_CUDA_MEMORY`` changes it.
DEFAULT_MEMORY = 2 << 30


def simulated():
    """Whether numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1``)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def check_device(device, where):
    """Raise a clear error unless ``device`` is one numad can run a batch on here."""
    if device == "cpu":
        return
    if device != "cuda":
        raise ValueError(f"numad: {where}(device={device!r}): the devices are 'cpu' and "
                         "'cuda'")
    if not simulated():
        try:
            import numba_cuda  # noqa: F401
        except ImportError:
            raise ImportError(
                f"numad: {where}(device='cuda') needs numba's CUDA target, the optional "
                "extra 'cuda': pip install 'numad[cuda]' (numba-cuda). Without a GPU, use "
                "device='cpu', or set NUMBA_ENABLE_CUDASIM=1 before importing numba to "
                "run the kernels in numba's simulator") from None
    from numba import cuda
    if not cuda.is_available():
        raise RuntimeError(
            f"numad: {where}(device='cuda'): no CUDA GPU is available here "
            "(numba.cuda.is_available() is False); use device='cpu', which runs the rows "
            "on every core")


# ---- the scalar program -------------------------------------------------------------

class Program:
    """A tape as the GPU sweeps it: ``op``, ``out``, ``a``, ``b`` per scalar operation
    (for a guard: ``out`` the slot of its recorded decision, ``a`` its operand, ``b``
    its entry), over dense slots ``0 .. slots-1``; ``const_slots`` / ``const_vals``:
    the slots the program reads but never writes (constants, shared inputs, recorded
    decisions) and their values; ``index``: tape slot -> dense slot."""

    def __init__(self, tape):
        from . import tape_compiler as TC
        from .optable import OPCODES, OPNAMES
        guard_op = OPCODES["guard"]
        ops = TC.scalar_ops(tape, 0, len(tape.op))
        if isinstance(ops, str):
            raise NotImplementedError(
                f"numad: device='cuda' cannot run the tape of {tape.name}: {ops}. The GPU "
                "runs tapes of scalar and small-array elementwise code (per-path code); "
                "use device='cpu', which runs every tape")
        kernels = device_kernels()
        unsupported = sorted({OPNAMES[o] for o, *_ in ops
                              if o != guard_op and not kernels.SUPPORTED[o]})
        if unsupported:
            raise NotImplementedError(
                f"numad: device='cuda' cannot run the tape of {tape.name}: it uses "
                f"{', '.join(unsupported)}, which numad has no GPU code for; use "
                "device='cpu'")
        index = {}

        def dense(slot):
            if slot not in index:
                index[slot] = len(index)
            return index[slot]

        zero = dense(TC.ZERO_SLOT)
        rows, written = [], set()
        for item in ops:
            if item[0] == guard_op:
                _, entry, operand, recorded = item
                rows.append((guard_op, dense(recorded), dense(operand), entry))
                continue
            o, slot, operands = item
            a = dense(operands[0])
            b = dense(operands[1]) if len(operands) > 1 else zero
            rows.append((o, dense(slot), a, b))
            written.add(index[slot])
        self.guard = guard_op
        self.op = np.array([r[0] for r in rows], dtype=np.int32)
        self.out = np.array([r[1] for r in rows], dtype=np.int64)
        self.a = np.array([r[2] for r in rows], dtype=np.int64)
        self.b = np.array([r[3] for r in rows], dtype=np.int64)
        self.index, self.zero, self.written, self.tape = index, zero, written, tape

    def slots_of(self, tape_slots):
        return np.array([self._dense(int(s)) for s in tape_slots], dtype=np.int64)

    def _dense(self, s):
        if s not in self.index:
            self.index[s] = len(self.index)
        return self.index[s]

    def constants(self, in_dense):
        """(slots, values) that every row starts from: what the program reads and does
        not write, but the batched inputs (call after every ``slots_of``)."""
        taken = self.written | set(int(s) for s in in_dense)
        slots = [d for s, d in self.index.items() if d not in taken]
        vals = [0.0 if s < 0 else float(self.tape.vals[s]) for s, d in self.index.items()
                if d not in taken]
        return np.array(slots, dtype=np.int64), np.array(vals)

    @property
    def slots(self):
        return len(self.index)


def program_of(tape):
    """The tape's ``Program``, made once (it depends on the structure only)."""
    prog = getattr(tape, "_cuda_program", None)
    if prog is None:
        prog = tape._cuda_program = Program(tape)
    return prog


# ---- the kernels, written from the op table --------------------------------------------

# The op table's functions as numba's CUDA target spells them; a row whose formulas call
# anything else (the special functions, floor and the other steps) has no GPU code.
_CUDA_SPELLING = {
    "sqrt": "math.sqrt", "exp": "math.exp", "expm1": "math.expm1", "log": "math.log",
    "log1p": "math.log1p", "log2": "math.log2", "log10": "math.log10", "sin": "math.sin",
    "cos": "math.cos", "tan": "math.tan", "arcsin": "math.asin", "arccos": "math.acos",
    "arctan": "math.atan", "sinh": "math.sinh", "cosh": "math.cosh", "tanh": "math.tanh",
    "arcsinh": "math.asinh", "arccosh": "math.acosh", "arctanh": "math.atanh",
    "arctan2": "math.atan2", "hypot": "math.hypot", "copysign": "math.copysign",
    "abs": "abs", "erf": "math.erf", "erfc": "math.erfc", "gammaln": "math.lgamma",
    "gamma": "math.gamma", "sign": "sign", "select": "select",
}


def _cuda_expression(expr):
    """An op-table formula in numba.cuda's spelling, or None where it has none."""
    import ast
    tree = ast.parse(expr, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _CUDA_SPELLING:
                return None
            node.func = ast.parse(_CUDA_SPELLING[node.func.id], mode="eval").body
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "np":
            if node.attr not in ("nan", "inf"):
                return None
            node.value.id = "math"
    return ast.unparse(tree)


def device_source():
    """The Python text of the GPU sweeps: per row of the op table, its value and its
    partials (from the table's formulas), and the kernel that sweeps a chunk of rows."""
    from .optable import ELEMENTWISE
    value_cases, partial_cases, supported, has_a, has_b = [], [], [], [], []
    for row in ELEMENTWISE:
        value = _cuda_expression(row.value)
        parts = [None if d is None else _cuda_expression(d) for d in row.partials]
        ok = value is not None and all(p is not None for p, d in zip(parts, row.partials)
                                       if d is not None)
        supported.append(ok)
        has_a.append(ok and row.partials[0] is not None)
        has_b.append(ok and row.arity == 2 and row.partials[1] is not None)
        if not ok:
            continue
        value_cases.append(f"    if o == {row.opcode}:  # {row.name}\n        return {value}")
        pa = parts[0] or "0.0"
        pb = (parts[1] if row.arity == 2 else None) or "0.0"
        partial_cases.append(f"    if o == {row.opcode}:\n        return {pa}, {pb}")
    return _DEVICE_TEMPLATE.format(
        supported=supported, has_a=has_a, has_b=has_b,
        values="\n".join(value_cases), partials="\n".join(partial_cases))


_DEVICE_TEMPLATE = '''
import math

import numpy as np
from numba import cuda

SUPPORTED = np.array({supported})
HAS_A = np.array({has_a})
HAS_B = np.array({has_b})


@cuda.jit(device=True)
def select(c, x, y):
    return x if c else y


@cuda.jit(device=True)
def sign(x):
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else x)


@cuda.jit(device=True)
def value(o, a, b):
{values}
    return math.nan


@cuda.jit(device=True)
def partials(o, a, b, y):
{partials}
    return 0.0, 0.0


@cuda.jit
def sweep(p_op, p_out, p_a, p_b, guard, c_slots, c_vals, X, by_column, in_slots,
          out_slots, grad_slots, seed, want_gradient, has_a, has_b, V, A, values, grads,
          status, first_row, rows):
    # thread t sweeps row first_row + t; its values and adjoints are column t of V and A
    t = cuda.grid(1)
    if t >= rows:
        return
    r = first_row + t
    for k in range(c_slots.shape[0]):
        V[c_slots[k], t] = c_vals[k]
    for k in range(in_slots.shape[0]):
        V[in_slots[k], t] = X[k, r] if by_column else X[r, k]
    failed = -1
    for i in range(p_op.shape[0]):
        o = p_op[i]
        a = V[p_a[i], t]
        if o == guard:
            y = V[p_out[i], t]
            if a != y and not (a != a and y != y):
                failed = p_b[i]
                break
            continue
        V[p_out[i], t] = value(o, a, V[p_b[i], t])
    status[r] = failed
    if failed >= 0:
        return
    for k in range(out_slots.shape[0]):
        values[k, r] = V[out_slots[k], t]
    if not want_gradient:
        return
    for s in range(A.shape[0]):
        A[s, t] = 0.0
    A[seed, t] = 1.0
    for i in range(p_op.shape[0] - 1, -1, -1):
        o = p_op[i]
        if o == guard:
            continue
        g = A[p_out[i], t]
        if g == 0.0:   # (a zero adjoint adds nothing, not even against an inf partial)
            continue
        da, db = partials(o, V[p_a[i], t], V[p_b[i], t], V[p_out[i], t])
        if has_a[o]:
            A[p_a[i], t] += g * da
        if has_b[o]:
            A[p_b[i], t] += g * db
    for k in range(grad_slots.shape[0]):
        grads[k, r] = A[grad_slots[k], t]
'''

_KERNELS = []
_LOCK = None


def device_kernels():
    """The GPU sweeps (``device_source``), compiled at their first use."""
    global _LOCK
    import threading
    if _LOCK is None:
        _LOCK = threading.Lock()
    with _LOCK:
        if not _KERNELS:
            import types
            module = types.ModuleType("numad_cuda_sweeps")
            exec(compile(device_source(), "numad_cuda_sweeps", "exec"), module.__dict__)
            _KERNELS.append(module)
    return _KERNELS[0]


THREADS_PER_BLOCK = 128


def sweep(tape, X, in_slots, out_slots, grad_slots, seed, want_gradient, values, grads,
          status, device_X=None):
    """The CPU batch kernel's contract (numad/batch_kernels.py's ``batch_rows``) on the
    GPU: rows of ``X`` (or of ``device_X``, already on the device) through ``tape``."""
    from numba import cuda
    kernels = device_kernels()
    prog = program_of(tape)
    ins, outs, gs = (prog.slots_of(s) for s in (in_slots, out_slots, grad_slots))
    seed_slot = int(prog.slots_of([seed])[0])
    c_slots, c_vals = prog.constants(ins)
    rows = X.shape[0] if device_X is None else device_X.shape[0]
    if device_X is None:   # (neighbouring threads read neighbouring addresses)
        X_dev, by_column = cuda.to_device(np.ascontiguousarray(X.T)), True
    else:
        X_dev, by_column = device_X, False
    budget = int(os.environ.get("NUMAD_CUDA_MEMORY", DEFAULT_MEMORY))
    chunk = max(1, min(rows, budget // (16 * prog.slots)))
    to = cuda.to_device
    args = [to(prog.op), to(prog.out), to(prog.a), to(prog.b), prog.guard, to(c_slots),
            to(c_vals)]
    V = cuda.device_array((prog.slots, chunk))
    A = cuda.device_array((prog.slots, chunk)) if want_gradient else cuda.device_array((1, 1))
    values_dev = cuda.device_array((len(outs), rows))
    grads_dev = cuda.device_array((max(len(gs), 1), rows))
    status_dev = cuda.device_array(rows, dtype=np.int64)
    masks = to(kernels.HAS_A), to(kernels.HAS_B)
    where = to(ins), to(outs), to(gs)
    for first in range(0, rows, chunk):
        n = min(chunk, rows - first)
        blocks = (n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
        kernels.sweep[blocks, THREADS_PER_BLOCK](
            *args, X_dev, by_column, *where, seed_slot, want_gradient, *masks, V, A,
            values_dev, grads_dev, status_dev, first, n)
    values[:] = values_dev.copy_to_host().T
    if want_gradient:
        grads[:] = grads_dev.copy_to_host()[:len(gs)].T
    status[:] = status_dev.copy_to_host()
