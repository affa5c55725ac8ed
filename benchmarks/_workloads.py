"""Workloads shared by the asv suite (``bench_core.py``), ``compare_core.py`` and
``compare.py``.

Nothing here is timed by asv itself (no ``time_*``/``track_*`` names); it only builds
the functions, inputs and tapes, and a few timing helpers.
"""
import os
import sys
import time

import numpy as np

try:
    import numad as nd
except ImportError:  # asv with environment_type "existing" does not install the project
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import numad as nd

from numad import kernels as K

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------------------
# Targets from the performance issue

TARGETS = {
    "trace_us_per_op": 0.5,          # tracing < 0.5 us per recorded op
    "rosen_fwdrev_ns": 3.0,          # fwd+rev < 3 ns/entry, regular Rosenbrock scalar tape
    "mix_fwdrev_ns": 20.0,           # fwd+rev < 20 ns/entry, random mix
    "rosen_1e6_ratio": 3.0,          # gradient within 3x of the NumPy primal
    "cached_grad_us": 20.0,          # cached nd.gradient call, n = 10, < 20 us
    "hvp_over_gradient": 4.0,        # issue 3: hvp time within 4x of the gradient's
}

# ---------------------------------------------------------------------------------------
# Scalar-loop Rosenbrock: a Python loop over x[i] floats, ~8 scalar ops per term


SCALAR_N = 2000


def rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        a = x[i]
        b = x[i + 1]
        s = s + 100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2
    return s


def rosen_point(n):
    return np.linspace(-1.2, 1.2, n)


def rosen_der(x):
    """SciPy's analytic gradient (for checking)."""
    from scipy.optimize import rosen_der as rd
    return rd(x)


# ---------------------------------------------------------------------------------------
# Random mix of scalar operations over a small pool of live values

MIX_OPS = ("add", "sub", "mul", "div", "sin", "exp", "logabs1", "sqrtabs1", "tanh")
MIX_POOL = 16
MIX_TARGET_ENTRIES = 20000
MIX_MAX_PARTIAL = 6.0


def _mix_apply(code, a, b):
    """One random-mix operation; works on floats and on traced floats alike."""
    if code == 0:
        return a + b
    if code == 1:
        return a - b
    if code == 2:
        return a * b
    if code == 3:
        return a / b
    if code == 4:
        return np.sin(a)
    if code == 5:
        return np.exp(a)
    if code == 6:
        return np.log(abs(a) + 1.0)
    if code == 7:
        return np.sqrt(abs(a) + 1.0)
    return np.tanh(a)


def _mix_partials(code, a, b):
    """|d op/d a|, |d op/d b| of one random-mix operation (for conditioning only)."""
    if code <= 1:
        return 1.0, 1.0
    if code == 2:
        return abs(b), abs(a)
    if code == 3:
        return abs(1.0 / b), abs(a / (b * b))
    if code == 4:
        return abs(np.cos(a)), 0.0
    if code == 5:
        return abs(np.exp(a)), 0.0
    if code == 6:
        return 1.0 / (abs(a) + 1.0), 0.0
    if code == 7:
        return 0.5 / np.sqrt(abs(a) + 1.0), 0.0
    return 1.0 - np.tanh(a) ** 2, 0.0


_MIX_COST = (1, 1, 1, 1, 1, 1, 3, 3, 1)   # tape entries each operation records


def make_mix_program(seed=12345, pool=MIX_POOL, target=MIX_TARGET_ENTRIES, x=None):
    """A seeded random program: a list of (code, dst, src) steps.

    Each step overwrites ``pool[dst]`` with ``op(pool[dst], pool[src])`` (or
    ``op(pool[dst])``), so every recorded value is read by the step that replaces it
    and every entry reaches the output (no dead entries that a reverse sweep could
    skip). The values at ``x`` are simulated in plain floats, and draws whose result
    would leave 1e-3 <= |v| <= 1e3 or whose local partials exceed ``MIX_MAX_PARTIAL``
    are redrawn: a long random chain of ``exp``, ``*`` and ``/`` is otherwise chaotic
    (last-bit differences grow to inf/nan within a few thousand steps).
    """
    rng = np.random.default_rng(seed)
    if x is None:
        x = mix_point(pool)
    vals = [float(v) for v in x]
    prog = []
    entries = pool + 1          # inputs and the final sum, roughly
    while entries < target:
        code = int(rng.integers(len(MIX_OPS)))
        dst = int(rng.integers(pool))
        src = int(rng.integers(pool))
        if code <= 3 and src == dst:
            continue
        with np.errstate(all="ignore"):
            v = float(_mix_apply(code, vals[dst], vals[src]))
        if not (1e-3 <= abs(v) <= 1e3) or v != v:
            continue
        da, db = _mix_partials(code, vals[dst], vals[src])
        if da > MIX_MAX_PARTIAL or db > MIX_MAX_PARTIAL:
            continue
        vals[dst] = v
        prog.append((code, dst, src))
        entries += _MIX_COST[code]
    return prog


def mix_point(pool=MIX_POOL):
    return np.linspace(0.3, 1.7, pool)


def make_mix_function(prog, pool=MIX_POOL):
    def random_mix(x):
        p = [x[k] for k in range(pool)]
        for code, dst, src in prog:
            p[dst] = _mix_apply(code, p[dst], p[src])
        s = p[0]
        for k in range(1, pool):
            s = s + p[k]
        return s
    return random_mix


# ---------------------------------------------------------------------------------------
# Vectorized Rosenbrock


_MIX_COMPILE = r"""
import sys, time, warnings
sys.path.insert(0, sys.argv[2])
import numpy as np
import numad as nd
from numad import tape_compiler as TC
from benchmarks._workloads import make_mix_function, make_mix_program, mix_point
x = mix_point()
with warnings.catch_warnings():   # (the program is more values than numad watches)
    warnings.simplefilter("ignore")
    tape = nd.trace(make_mix_function(make_mix_program(target=int(sys.argv[1]))), x,
                    compile="never")
t0 = time.perf_counter()
TC.compile_tape(tape)(tape.vals, np.zeros_like(tape.vals), True)  # (writes, compiles or loads)
print(len(tape), time.perf_counter() - t0)
"""


def mix_compile_seconds(target):
    """(entries, cold, from disk): the seconds to write and compile the value-and-gradient
    code of a random mix of about ``target`` entries (no loop to roll up) in a fresh
    process with an empty cache directory, then to load it in a second fresh process."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMAD_CACHE_DIR=cache)
        runs = [subprocess.run([sys.executable, "-c", _MIX_COMPILE, str(target), _ROOT],
                               env=env, capture_output=True, text=True,
                               check=True).stdout.split() for _ in range(2)]
    return int(runs[0][-2]), float(runs[0][-1]), float(runs[1][-1])


def rosen_vec(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _make_rosen_njit():
    import numba

    @numba.njit(cache=False, fastmath=False)
    def rosen_grad_njit(x, g):
        n = x.shape[0]
        for i in range(n):
            g[i] = 0.0
        for i in range(n - 1):
            a = x[i]
            t = x[i + 1] - a * a
            g[i] += -400.0 * t * a - 2.0 * (1.0 - a)
            g[i + 1] += 200.0 * t
        return g

    return rosen_grad_njit


_rosen_njit = None


def rosen_grad_njit():
    """A hand-written, compiled analytic Rosenbrock gradient: the floor."""
    global _rosen_njit
    if _rosen_njit is None:
        _rosen_njit = _make_rosen_njit()
    return _rosen_njit


# ---------------------------------------------------------------------------------------
# A 20 -> 20 function for the Jacobian modes

JAC_N = 20


def jac_matrix(n=JAC_N, seed=7):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)) / np.sqrt(n)


def make_jac_function(W):
    def f20(x):
        h = np.tanh(W @ x)
        return h * x + np.sin(x) ** 2 - 0.5 * np.roll(x, 1) * np.exp(-x * x)
    return f20


# ---------------------------------------------------------------------------------------
# Running the sweeps directly (no Python bookkeeping around them)


def load(tape, x):
    tape._load((x,))


def forward_kernel(tape):
    return K.forward_sweep(*tape.structure, tape.vals, tape.partials, tape.aux, 0, len(tape.op))


def reverse_kernel(tape):
    """A reverse sweep seeded with 1 at the (scalar) output; needs a forward sweep first."""
    adj = tape.adjoint_buffer()
    out = tape.output_entries[0]
    adj[tape.off[out]] = 1.0
    K.reverse_sweep(*tape.reverse_structure, tape.vals, tape.partials, tape.aux, adj, 0, len(tape.op))
    return adj


# ---------------------------------------------------------------------------------------
# Timing helpers


def warm(fn, *args, calls=3):
    """Call ``fn(*args)`` a few times: the first call of a cached adapter traces, the
    next ones take the replay path (whose kernels numba compiles or loads on first use)."""
    out = None
    for _ in range(calls):
        out = fn(*args)
    return out


def warm_numad():
    """Load (or compile) every sweep and adapter path once, outside every timing."""
    x = np.linspace(0.5, 1.5, 3)

    def f(v):
        return np.sum(np.sin(v) * v) + v[0] / v[1]
    tape = nd.trace(f, x)
    warm(tape, x)
    warm(tape.gradient, x)
    warm(tape.jacobian, x, "forward")
    warm(tape.jacobian, x, "reverse")
    warm(nd.gradient(f), x)
    warm(nd.value_and_gradient(f), x)
    for mode in ("forward", "reverse"):
        warm(nd.jacobian(lambda v: np.sin(v) * v[0], mode=mode), x)


def best_of(fn, repeats=7, number=None, min_time=0.05):
    """Best per-call seconds of ``fn()`` over ``repeats`` batches of ``number`` calls.

    With ``number=None`` the batch size is chosen so a batch lasts about ``min_time``.
    """
    if number is None:
        number = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            dt = time.perf_counter() - t0
            if dt >= min_time or number >= 1 << 20:
                break
            number *= max(2, min(10, int(min_time / max(dt, 1e-9)) + 1))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def op_counts(tape):
    from numad.optable import OPNAMES
    from collections import Counter
    return Counter(OPNAMES[int(o)] for o in tape.op)


def make_jac_scalar_function(W):
    """The same kind of 20 -> 20 map written as a Python loop over floats."""
    n = W.shape[0]
    rows = [[float(v) for v in row] for row in W]

    def f20_loop(x):
        xs = [x[j] for j in range(n)]
        out = []
        for i in range(n):
            acc = 0.0
            row = rows[i]
            for j in range(n):
                acc = acc + row[j] * xs[j]
            out.append(np.tanh(acc) * xs[i] + np.sin(xs[i]) ** 2
                       - 0.5 * xs[i - 1] * np.exp(-xs[i] * xs[i]))
        return np.stack(out)
    return f20_loop


# ---------------------------------------------------------------------------------------
# A reference: a minimal switch-over-opcodes sweep pair (the one-loop-one-switch design
# that numad's sweeps grew from, without their partials, guards or array entries) on the
# same tape arrays. It knows only input/const/alias and + - * square, so it serves the
# scalar-loop Rosenbrock tape; it tells how fast this machine is *now* at that design.

_REF = None


def _make_reference():
    import numba
    from numad.optable import OPCODES
    ADD, SUB, MUL, SQ = OPCODES["add"], OPCODES["sub"], OPCODES["mul"], OPCODES["square"]
    PASS = (OPCODES["input"], OPCODES["const"], OPCODES["alias"])
    P0, P1, P2 = PASS

    @numba.njit(cache=False)
    def ref_forward(op, args, off, vals):
        for i in range(op.shape[0]):
            o = op[i]
            if o == ADD:
                vals[off[i]] = vals[off[args[i, 0]]] + vals[off[args[i, 1]]]
            elif o == SUB:
                vals[off[i]] = vals[off[args[i, 0]]] - vals[off[args[i, 1]]]
            elif o == MUL:
                vals[off[i]] = vals[off[args[i, 0]]] * vals[off[args[i, 1]]]
            elif o == SQ:
                a = vals[off[args[i, 0]]]
                vals[off[i]] = a * a
            elif o == P0 or o == P1 or o == P2:
                pass
            else:
                return i
        return -1

    @numba.njit(cache=False)
    def ref_reverse(op, args, off, vals, adj):
        for i in range(op.shape[0] - 1, -1, -1):
            o = op[i]
            g = adj[off[i]]
            if o == ADD:
                adj[off[args[i, 0]]] += g
                adj[off[args[i, 1]]] += g
            elif o == SUB:
                adj[off[args[i, 0]]] += g
                adj[off[args[i, 1]]] -= g
            elif o == MUL:
                a = off[args[i, 0]]
                b = off[args[i, 1]]
                adj[a] += g * vals[b]
                adj[b] += g * vals[a]
            elif o == SQ:
                a = off[args[i, 0]]
                adj[a] += 2.0 * g * vals[a]

    return ref_forward, ref_reverse


def reference_sweeps():
    """``(forward(tape), gradient(tape))`` of the minimal reference design."""
    global _REF
    if _REF is None:
        _REF = _make_reference()
    ref_forward, ref_reverse = _REF

    def forward(tape):
        if ref_forward(tape.op, tape.args, tape.off, tape.vals) >= 0:
            raise ValueError("reference sweep: an opcode it does not know")

    def gradient(tape, adj):
        ref_forward(tape.op, tape.args, tape.off, tape.vals)
        adj[:] = 0.0
        adj[tape.off[tape.output_entries[0]]] = 1.0
        ref_reverse(tape.op, tape.args, tape.off, tape.vals, adj)
        e = tape.input_entries[0]
        return adj[tape.off[e]:tape.off[e] + tape.size[e]].copy()

    return forward, gradient
