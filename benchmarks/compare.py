"""numad against a hand-written floor, SciPy's finite differences and its peers.

    python benchmarks/compare.py [--quick] [--workloads rosen_vec,lotka_volterra]
        [--tools numad,scipy-fd,jax] [--repeat N] [--max-seconds S]
        [--markdown PATH] [--json PATH]

The same five workloads for every tool, each a gradient as ``scipy.optimize`` asks for
one (a NumPy float64 point in, a NumPy gradient out):

============== ==================================================================
``rosen_vec``  vectorized Rosenbrock, ``n`` = 10^3 to 10^6 variables
``rosen_loop`` the same function written as a Python loop over ``x[i]`` (the user's
               scalar code, unchanged), ``n`` = 10^2 to 10^4
``lotka_volterra`` the loss of a Lotka-Volterra RK4 integration of 10^3 to 10^5 steps
               against data, differentiated in its four parameters
               (``benchmarks/_lotka_volterra.py``)
``asian``      Monte Carlo delta, vega and rho of an arithmetic Asian call, 10^4 to
               10^6 paths of ``ASIAN_STEPS`` weekly steps (the payoff of
               ``examples/asian_option_greeks.py``): the gradient of the price in
               (S0, sigma, r) at fixed random numbers
``minimize``   ``scipy.optimize.minimize(rosen_vec, x0, jac=..., method="BFGS")`` end to
               end, ``n`` = 100, the ``jac`` of each tool's ``rosen_vec`` gradient
============== ==================================================================

and the tools (``--tools``; the floor is always run, every answer is checked against it):

- ``floor``: hand-written ``@numba.njit`` gradients: ``_workloads.rosen_grad_njit``,
  the RK4 discrete adjoint ``_lotka_volterra.lv_grad_njit`` and the pathwise estimator
  ``compare_batch.hand_pathwise`` (``parallel=True``, every core);
- ``numad``: ``nd.gradient`` of the NumPy or scalar code (``nd.scan`` for the RK4
  loop), and ``nd.gradient_batch`` over the paths for the Asian option, default
  settings;
- ``scipy-fd``: ``scipy.optimize.approx_fprime`` (forward differences, a step of
  ``sqrt(eps) * max(1, |x_i|)``) of the fastest plain primal: NumPy for the Rosenbrock
  functions and the option, the ``@njit`` primal for Lotka-Volterra;
- ``jax`` (``jax.jit(jax.grad(...))`` in float64; ``lax.scan`` over a
  ``jax.checkpoint``-ed RK4 step; the option vectorized over paths), ``torch``
  (``torch.autograd.grad``, float64; a Python loop over the RK4 steps), ``autograd``
  (``autograd.grad``, the same code as PyTorch's) and ``casadi`` (MX expressions for
  the vectorized code, SX for the scalar code, ``mapaccum`` over an SX RK4 step,
  ``map`` of an SX path function over the paths): each one that imports.

Each (workload, size, tool) is called once (``first_s``: tracing, compiling and one
gradient), checked against the floor's answer (a wrong gradient raises
``WrongAnswer``: it is an error, never a row), warmed up, then timed: the median of
``--repeat`` samples, the tools' samples interleaved so that a burst of load on a
shared machine hits them alike, each sample a batch of calls lasting at least
``MIN_SAMPLE_S``. A tool is not timed where one warm call takes longer than
``--max-seconds``, nor at the sizes above, where its call would take longer still
(extrapolated from its last size): its cell reads ``skipped (> N s)``. First calls are
not extrapolated (compiling a peer's code costs about the same at every size here). Threads wait passively
(``OMP_WAIT_POLICY=PASSIVE`` unless set; see below).

The table goes to stdout and to ``--markdown PATH``, the raw rows to ``--json PATH``,
progress to stderr. The peers live in their own environment, so that their NumPy
cannot unsettle numba's in ``.venv``::

    python3 -m venv .venv-compare
    .venv-compare/bin/pip install -e ".[compare]"
    .venv-compare/bin/python benchmarks/compare.py --markdown benchmarks/results/compare.md

From Python (the docs' plot scripts)::

    from benchmarks import compare
    rows = compare.measure("rosen_vec", sizes=[10**3, 10**4], tools=["numad", "jax"])
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

# Threads that wait by spinning (OpenMP's default) steal the cores from the next tool's
# threads: on these shared 2-core machines PyTorch's Asian-option gradient at 10^4 paths
# took 107 ms after numba's parallel floor had run, 22 ms with passive waiting (the
# floor itself 9.8 and 6.5 ms). Set before NumPy, numba or a peer starts its threads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:   # run as a script: the repository root holds ``benchmarks``
    sys.path.insert(0, ROOT)

from benchmarks import _lotka_volterra as LV  # noqa: E402
from benchmarks._workloads import nd, rosen_grad_njit, rosen_loop, rosen_vec  # noqa: E402
from benchmarks.compare_batch import hand_pathwise  # noqa: E402
from asian_option_greeks import MATURITY, STRIKE, asian_call, dynamics  # noqa: E402
# (compare_batch put examples/ on sys.path for the line above)

PEERS = ("jax", "torch", "autograd", "casadi")
TOOLS = ("floor", "numad", "scipy-fd") + PEERS
TOOL_TITLES = {"floor": "hand `@njit` (floor)", "numad": "numad", "scipy-fd": "SciPy FD",
               "jax": "JAX (jit)", "torch": "PyTorch", "autograd": "autograd",
               "casadi": "CasADi"}
# Largest |answer - floor's| / largest |floor's| that passes. Exact derivatives differ
# from the floor's only in rounding (summation order over up to 10^6 terms or steps);
# forward differences carry a truncation error of about sqrt(eps).
TOLERANCE = {"scipy-fd": 1e-4}
EXACT_TOLERANCE = 1e-8
MINIMIZER_TOLERANCE = 1e-3
WARMUP_S = 1.0             # calls before timing: at least this long, and at least 2 (numad's
                           # compile="auto" compiles a tape once its replays repay it: a
                           # second of calls gets most workloads there, as a long
                           # optimization would)
MIN_SAMPLE_S = 0.02        # a sample shorter than this is mostly timer and loop overhead
ASIAN_STEPS = 52           # weekly fixings: 10^6 paths of random numbers are 0.4 GB
ASIAN_PARAMS = np.array([100.0, 0.2, 0.05])     # S0, sigma, r


class WrongAnswer(AssertionError):
    """A tool's answer differs from the floor's by more than its tolerance."""


# ---------------------------------------------------------------------------------------
# Peers: imported on first use, configured for float64


_peer_modules = {}


def _peer(name):
    if name not in _peer_modules:
        if name == "jax":
            import jax
            jax.config.update("jax_enable_x64", True)   # float32 by default otherwise
            import jax.numpy as jnp
            _peer_modules[name] = (jax, jnp)
        elif name == "torch":
            import torch
            _peer_modules[name] = torch
        elif name == "autograd":
            import autograd
            import autograd.numpy as anp
            _peer_modules[name] = (autograd, anp)
        else:
            import casadi
            _peer_modules[name] = casadi
    return _peer_modules[name]


def available_tools():
    """The tools that can run here: the floor, numad, SciPy and each peer that imports."""
    out = list(TOOLS[:3])
    for name in PEERS:
        try:
            _peer(name)
        except ImportError:
            continue
        out.append(name)
    return out


def _fd_steps(x):
    return np.sqrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(x))


def _scipy_fd(f, *args):
    from scipy.optimize import approx_fprime
    return lambda x: approx_fprime(x, f, _fd_steps(x), *args)


# ---------------------------------------------------------------------------------------
# The functions each peer differentiates, written as its users would


def rosen_vec_xp(xp):
    """``rosen_vec`` on array namespace ``xp`` (``jax.numpy``, ``torch``,
    ``autograd.numpy``)."""
    def f(x):
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    return f


def asian_price_xp(xp):
    """The Monte Carlo price of ``asian_call`` with every path at once on namespace
    ``xp``: ``ZT`` is (steps, paths), so that ``ZT[t]`` is one contiguous row."""
    def price(params, ZT):
        s0, r, drift, vol = dynamics(params, ZT.shape[0])
        s, total = s0, 0.0
        for t in range(ZT.shape[0]):
            s = s * xp.exp(drift + vol * ZT[t])
            total = total + s
        excess = total / ZT.shape[0] - STRIKE
        return xp.exp(-r * MATURITY) * xp.mean(xp.where(excess > 0.0, excess, 0.0))
    return price


def jax_rosen_loop(x):
    """The scalar loop as a JAX user writes it: ``lax.fori_loop`` (``jit`` unrolls a
    Python loop: ``jax.grad(rosen_loop)`` took 2.6 s to compile at n = 100 and 44 s at
    n = 10^3 on these machines)."""
    jax, _ = _peer("jax")

    def term(i, s):
        a, b = x[i], x[i + 1]
        return s + 100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2
    return jax.lax.fori_loop(0, x.shape[0] - 1, term, 0.0 * x[0])


def jax_lv_loss(p, data):
    """``_lotka_volterra.numad_loss`` in JAX: ``lax.scan`` over a rematerialized step
    (without ``jax.checkpoint`` the residuals of every stage are stored, about 40x
    slower at 10^5 steps on these machines)."""
    jax, jnp = _peer("jax")
    a, b, c, d = p[0], p[1], p[2], p[3]
    h = LV.H
    hh, h6 = 0.5 * h, h / 6.0

    @jax.checkpoint
    def step(carry, row):
        u, v, acc = carry
        u, v = LV.rk4_step(u, v, a, b, c, d, h, hh, h6)
        du, dv = u - row[0], v - row[1]
        return (u, v, acc + (du * du + dv * dv)), None

    zero = jnp.zeros((), p.dtype)
    (_, _, loss), _ = jax.lax.scan(step, (zero + LV.Y0[0], zero + LV.Y0[1], zero), data)
    return loss


# ---------------------------------------------------------------------------------------
# Gradient makers: maker(problem) -> grad(point), a NumPy gradient


def _as_numpy(g):
    return np.asarray(g, dtype=np.float64).reshape(-1)


def _floor_rosen(problem):
    floor, g = rosen_grad_njit(), np.empty(problem.n)
    return lambda x: floor(x, g)


def _jax_grad(f, *data):
    jax, jnp = _peer("jax")
    g = jax.jit(jax.grad(f))
    data = [jnp.asarray(v) for v in data]     # fixed data: moved to the device once
    return lambda x: _as_numpy(g(x, *data))


def _torch_grad(f, *data):
    torch = _peer("torch")
    data = [torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
            for v in data]

    def grad(x):
        # (from_numpy shares x's memory: no copy of a 10^6-entry point per call)
        xt = torch.from_numpy(np.asarray(x, dtype=np.float64)).requires_grad_(True)
        (g,) = torch.autograd.grad(f(xt, *data), xt)
        return g.numpy()
    return grad


def _autograd_grad(f):
    autograd, _ = _peer("autograd")
    return autograd.grad(f)


def _casadi_function(make_expression, n, *data, kind="MX"):
    """A CasADi gradient function of ``make_expression(symbol, *data_symbols)``, with
    ``kind`` "MX" (matrix operations) or "SX" (scalar ones); the fixed data become
    CasADi matrices once, here."""
    ca = _peer("casadi")
    sym = getattr(ca, kind)
    x = sym.sym("x", n)
    dsyms = [sym.sym(f"d{k}", *np.shape(v)) for k, v in enumerate(data)]
    fn = ca.Function("grad", [x] + dsyms, [ca.gradient(make_expression(x, *dsyms), x)])
    dms = [ca.DM(v) for v in data]
    return lambda p: _as_numpy(fn(p, *dms))


def _casadi_rosen_vec(x):
    ca = _peer("casadi")
    return ca.sum1(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _casadi_rosen_loop(x):
    # the user's loop unchanged, on a list of x's elements (an SX has no len())
    return rosen_loop([x[i] for i in range(x.numel())])


def _casadi_lv(problem):
    """An SX function for one RK4 step, ``mapaccum``-ed over the steps (CasADi's scan)."""
    ca = _peer("casadi")
    n, h = problem.n, LV.H
    s, q, row = ca.SX.sym("s", 3), ca.SX.sym("q", 4), ca.SX.sym("row", 2)
    u, v = LV.rk4_step(s[0], s[1], q[0], q[1], q[2], q[3], h, 0.5 * h, h / 6.0)
    du, dv = u - row[0], v - row[1]
    step = ca.Function("step", [s, q, row], [ca.vertcat(u, v, s[2] + du * du + dv * dv)])
    steps = step.mapaccum("steps", n)

    def loss(p, data_t):
        states = steps(ca.vertcat(LV.Y0[0], LV.Y0[1], 0.0), ca.repmat(p, 1, n), data_t)
        return states[2, n - 1]
    return _casadi_function(loss, 4, problem.data.T)


def _casadi_asian(problem):
    """An SX function of one path, ``map``-ped over the paths on every core."""
    ca = _peer("casadi")
    steps = ASIAN_STEPS
    q, z = ca.SX.sym("q", 3), ca.SX.sym("z", steps)
    s0, r, drift, vol = dynamics(q, steps)
    s, total = s0, 0.0
    for t in range(steps):
        s = s * ca.exp(drift + vol * z[t])
        total = total + s
    payoff = ca.exp(-r * MATURITY) * ca.fmax(total / steps - STRIKE, 0.0)
    paths = problem.ZT.shape[1]
    one = ca.Function("path", [q, z], [payoff])
    every = one.map(paths, "thread", os.cpu_count() or 1)

    def price(p, ZT):
        return ca.sum2(every(p, ZT)) / paths
    return _casadi_function(price, 3, problem.ZT)


def _lv_makers():
    def numad_(pr):
        jac = nd.gradient(LV.numad_loss)
        return lambda p: jac(p, pr.data, LV.H)

    def floor_(pr):
        floor = LV.Floor(pr.n)
        return lambda p: floor.gradient(p, pr.data)

    def torch_(pr):
        # the data stay NumPy: a tensor row per step would add two indexing ops a step
        return _torch_grad(lambda pt: LV.loss_reference(pt, pr.data))

    def autograd_(pr):
        g = _autograd_grad(LV.loss_reference)
        return lambda p: g(p, pr.data)

    return {"floor": floor_, "numad": numad_,
            "scipy-fd": lambda pr: _scipy_fd(LV.primal, pr.data),
            "jax": lambda pr: _jax_grad(jax_lv_loss, pr.data),
            "torch": torch_, "autograd": autograd_, "casadi": _casadi_lv}


def _asian_makers():
    def floor_(pr):
        return lambda p: hand_pathwise(p, pr.Z, STRIKE, MATURITY)[1].mean(axis=0)

    def numad_(pr):
        batch = nd.gradient_batch(asian_call, in_axes=(None, 0))
        return lambda p: batch(p, pr.Z).mean(axis=0)

    def scipy_(pr):
        price = asian_price_xp(np)
        return _scipy_fd(lambda p: price(p, pr.ZT))

    def autograd_(pr):
        g = _autograd_grad(asian_price_xp(_peer("autograd")[1]))
        return lambda p: g(p, pr.ZT)

    return {"floor": floor_, "numad": numad_, "scipy-fd": scipy_,
            "jax": lambda pr: _jax_grad(asian_price_xp(_peer("jax")[1]), pr.ZT),
            "torch": lambda pr: _torch_grad(asian_price_xp(_peer("torch")), pr.ZT),
            "autograd": autograd_, "casadi": _casadi_asian}


def _rosen_makers(f):
    """Makers for ``rosen_vec`` (``f is rosen_vec``) or ``rosen_loop``: the peers run
    the scalar loop itself, and their array form of the vectorized one."""
    vec = f is rosen_vec

    def autograd_(pr):
        return _autograd_grad(rosen_vec_xp(_peer("autograd")[1]) if vec else rosen_loop)

    return {"floor": _floor_rosen,
            "numad": lambda pr: nd.gradient(f),
            "scipy-fd": lambda pr: _scipy_fd(f),
            "jax": lambda pr: _jax_grad(rosen_vec_xp(_peer("jax")[1]) if vec
                                        else jax_rosen_loop),
            "torch": lambda pr: _torch_grad(rosen_vec_xp(_peer("torch")) if vec else f),
            "autograd": autograd_,
            "casadi": lambda pr: (_casadi_function(_casadi_rosen_vec, pr.n) if vec else
                                  _casadi_function(_casadi_rosen_loop, pr.n, kind="SX"))}


# ---------------------------------------------------------------------------------------
# Workloads


class Problem:
    """One workload at one size: ``point`` (what is differentiated) and its data."""

    def __init__(self, n, point, **data):
        self.n, self.point = n, point
        self.__dict__.update(data)


class Workload:
    """``setup(size) -> Problem``; ``makers[tool](problem) -> grad(point)``;
    ``scaling[tool]``: the exponent of a call's cost in the size (for skipping)."""

    def __init__(self, name, title, size_name, sizes, quick_sizes, setup, makers,
                 scaling=None):
        self.name, self.title, self.size_name = name, title, size_name
        self.sizes, self.quick_sizes = sizes, quick_sizes
        self.setup, self.makers, self.scaling = setup, makers, scaling or {}

    def case(self, tool, problem):
        """``(run, answers)``: ``run()`` is what is timed, ``answers(result)`` the named
        arrays compared with the floor's."""
        grad = self.makers[tool](problem)
        return (lambda: grad(problem.point)), (lambda g: {"gradient": _as_numpy(g)})


class Minimize(Workload):
    """BFGS end to end with each tool's ``rosen_vec`` gradient as ``jac``."""

    def case(self, tool, problem):
        from scipy.optimize import minimize
        own = WORKLOADS["rosen_vec"].makers[tool](problem)

        def grad(x):
            # BFGS keeps the last gradient beside the new one: a copy, for the tools
            # that answer in a buffer of their own (the floor does)
            return np.array(own(x), dtype=np.float64)

        def run():
            return minimize(rosen_vec, problem.point, jac=grad, method="BFGS")

        def answers(res):
            return {"gradient at x0": _as_numpy(grad(problem.point)), "minimizer": res.x,
                    "_note": f"nit {res.nit}, nfev {res.nfev}, "
                             f"max|x - 1| {np.max(np.abs(res.x - 1.0)):.1e}"}
        return run, answers


def _rosen_problem(n):
    return Problem(n, np.linspace(-1.2, 1.2, n))


def _lv_problem(n):
    return Problem(n, LV.P.copy(), data=LV.make_data(n))


def _asian_problem(paths):
    Z = np.random.default_rng(2026).standard_normal((paths, ASIAN_STEPS))
    return Problem(paths, ASIAN_PARAMS.copy(), Z=Z, ZT=np.ascontiguousarray(Z.T))


WORKLOADS = {w.name: w for w in (
    Workload("rosen_vec", "vectorized Rosenbrock", "n", [10 ** k for k in range(3, 7)],
             [10 ** 3], _rosen_problem, _rosen_makers(rosen_vec), {"scipy-fd": 2.0}),
    Workload("rosen_loop", "scalar-loop Rosenbrock", "n", [10 ** 2, 10 ** 3, 10 ** 4],
             [10 ** 2], _rosen_problem, _rosen_makers(rosen_loop),
             {"scipy-fd": 2.0}),
    Workload("lotka_volterra", "Lotka-Volterra RK4 loss", "steps",
             [10 ** 3, 10 ** 4, 10 ** 5], [10 ** 3], _lv_problem, _lv_makers()),
    Workload("asian", f"Asian-call delta, vega, rho ({ASIAN_STEPS} steps)", "paths",
             [10 ** 4, 10 ** 5, 10 ** 6], [10 ** 4], _asian_problem, _asian_makers()),
    Minimize("minimize", "BFGS end to end, Rosenbrock", "n", [100], [30], _rosen_problem,
             None, {"scipy-fd": 2.0}),
)}
# the end-to-end run uses rosen_vec's gradients
WORKLOADS["minimize"].makers = WORKLOADS["rosen_vec"].makers


# ---------------------------------------------------------------------------------------
# Measuring


def _difference(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return math.inf
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def check_answers(workload, size, tool, got, want):
    """Raise ``WrongAnswer`` where ``got`` (named arrays) differs from the floor's
    ``want``; returns the largest relative difference."""
    worst = 0.0
    for name, want_value in want.items():
        if name.startswith("_"):
            continue
        tol = TOLERANCE.get(tool, EXACT_TOLERANCE)
        if name == "minimizer":
            # as exact as BFGS's stopping rule (gtol 1e-5), not as rounding
            tol = max(tol, MINIMIZER_TOLERANCE)
        err = _difference(got[name], want_value)
        if not err <= tol:
            raise WrongAnswer(f"compare.py: {tool} on {workload} at size {size}: its "
                              f"{name} differs from the floor's by {err:.2e} (relative "
                              f"to the largest entry), more than {tol:.0e}")
        worst = max(worst, err)
    return worst


def _log(log, msg):
    if log is not None:
        print(msg, file=log, flush=True)


def _time_batch(fn, number):
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def measure(workload, sizes=None, tools=None, repeat=5, max_seconds=10.0, quick=False,
            log=sys.stderr):
    """Time the gradients of ``workload`` at each size with each tool; return the rows.

    Parameters
    ----------
    workload : str
        A key of ``WORKLOADS``: ``"rosen_vec"``, ``"rosen_loop"``, ``"lotka_volterra"``,
        ``"asian"`` or ``"minimize"``.
    sizes : list of int, optional
        Problem sizes (``n``, steps or paths); default the workload's full sizes, or its
        smallest with ``quick=True``.
    tools : list of str, optional
        Among ``TOOLS``; default every available one. The floor always runs (the
        answers are checked against it); tools that do not import are left out.
    repeat : int
        Timed samples per tool and size; the row's time is their median.
    max_seconds : float
        A tool whose warm call takes longer than this is not timed at that size, nor
        at the sizes where its call would, extrapolated from its previous size with
        ``Workload.scaling``: its row's ``status`` says ``"skipped (> max_seconds s)"``.
    quick : bool
        The smallest sizes only (when ``sizes`` is not given).
    log : file or None
        Where progress lines go.

    Returns
    -------
    list of dict
        One row per (size, tool), floor first: ``workload``, ``size``, ``tool``,
        ``status`` (``"ok"`` or why it was skipped), ``median_s`` (seconds per call),
        ``ratio`` (to the floor's median at that size), ``first_s`` (the first call,
        tracing and compiling included), ``samples_s``, ``calls_per_sample``,
        ``difference`` (largest relative difference from the floor's answer) and
        ``note``.

    Raises
    ------
    WrongAnswer
        When a tool's answer differs from the floor's by more than its tolerance.

    Examples
    --------
    >>> rows = measure("rosen_vec", sizes=[100], tools=["numad"], repeat=1, log=None)
    >>> [(r["tool"], r["status"]) for r in rows]
    [('floor', 'ok'), ('numad', 'ok')]
    """
    w = WORKLOADS[workload]
    sizes = list(sizes if sizes is not None else (w.quick_sizes if quick else w.sizes))
    here = available_tools()
    wanted = list(TOOLS) if tools is None else list(tools)
    unknown = [t for t in wanted if t not in TOOLS]
    if unknown:
        raise ValueError(f"compare.py: unknown tools {unknown}; choose from {TOOLS}")
    tools = ["floor"] + [t for t in here if t in wanted and t != "floor"]
    last = {}        # tool -> (size, seconds a call) at its last measured size
    rows = []
    for size in sizes:
        problem = w.setup(size)
        timed, size_rows = [], []
        reference = None
        for tool in tools:
            row = dict(workload=workload, size=size, tool=tool, status="ok", median_s=None,
                       ratio=None, first_s=None, samples_s=[], calls_per_sample=0,
                       difference=None, note="")
            size_rows.append(row)
            if tool in last and tool != "floor":
                n0, t0 = last[tool]
                grow = (size / n0) ** w.scaling.get(tool, 1.0)
                if t0 * grow > max_seconds:
                    row["status"] = f"skipped (> {max_seconds:g} s)"
                    row["note"] = f"about {t0 * grow:.3g} s a call, extrapolated"
                    continue
            run, answers = w.case(tool, problem)
            start = time.perf_counter()
            result = run()
            row["first_s"] = time.perf_counter() - start
            got = answers(result)
            if reference is None:
                reference = got
            # a cached tool answers later calls from another path (a replayed tape, a
            # compiled kernel) than its first: check both
            row["difference"] = check_answers(workload, size, tool, got, reference)
            # warm up: numad's compile="auto" compiles a tape once its replays repay
            # it, and a peer's caches fill on the first calls too
            calls, spent = 0, 0.0
            while calls < (2 if row["first_s"] < 0.5 else 1) or spent < WARMUP_S:
                start = time.perf_counter()
                result = run()
                t_warm = time.perf_counter() - start
                calls, spent = calls + 1, spent + t_warm
            got = answers(result)
            row["difference"] = max(row["difference"],
                                    check_answers(workload, size, tool, got, reference))
            row["note"] = got.get("_note", "")
            if t_warm > max_seconds and tool != "floor":
                row["status"] = f"skipped (> {max_seconds:g} s)"
                row["note"] = f"one call took {t_warm:.3g} s"
                last[tool] = (size, t_warm)
                continue
            row["calls_per_sample"] = max(1, int(MIN_SAMPLE_S / max(t_warm, 1e-9)))
            timed.append((row, run))
            _log(log, f"  {workload} {size} {tool}: first call {row['first_s']:.3g} s, "
                      f"checked (difference {row['difference']:.1e})")
        for _ in range(repeat):
            for row, run in timed:
                row["samples_s"].append(_time_batch(run, row["calls_per_sample"]))
        for row, _ in timed:
            row["median_s"] = float(np.median(row["samples_s"]))
            last[row["tool"]] = (size, row["median_s"])
        floor_s = size_rows[0]["median_s"]
        for row in size_rows:
            if row["median_s"] is not None:
                row["ratio"] = row["median_s"] / floor_s
            _log(log, f"{workload} {w.size_name}={size} {row['tool']}: "
                      + (f"{_seconds(row['median_s'])} ({row['ratio']:.3g}x)"
                         if row["status"] == "ok" else row["status"]))
        rows.extend(size_rows)
    return rows


# ---------------------------------------------------------------------------------------
# Reporting


def machine(tools=None):
    """What the numbers were measured on: CPU, cores, Python and package versions."""
    import numba
    import scipy
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass   # not Linux: platform's answer stands
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    versions = {"numpy": np.__version__, "scipy": scipy.__version__,
                "numba": numba.__version__, "numad": getattr(nd, "__version__", "?")}
    for name in PEERS:
        if tools is not None and name not in tools:
            continue
        try:
            mod = _peer(name)
        except ImportError:
            continue
        versions[name] = (mod[0] if isinstance(mod, tuple) else mod).__version__ \
            if name != "autograd" else _dist_version("autograd")
    return {"cpu": cpu, "cores": os.cpu_count(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "python": platform.python_version(), "system": platform.platform(),
            "versions": versions, "numad_commit": commit,
            "date": time.strftime("%Y-%m-%d", time.gmtime())}


def _dist_version(name):
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def _seconds(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def _ratio(r):
    return f"{r:.0f}x" if r >= 100 else f"{r:.3g}x"


def _size(n):
    k = round(math.log10(n)) if n > 0 else 0
    return f"10^{k}" if 10 ** k == n and k >= 2 else str(n)


def markdown(rows, info, repeat):
    """The Markdown report: the machine, the medians with their ratios to the floor,
    the first calls."""
    tools = [t for t in TOOLS if any(r["tool"] == t for r in rows)]
    v = info["versions"]
    peers = ", ".join(f"{p} {v[p]}" for p in PEERS if p in v) or "none installed"
    lines = [f"Measured {info['date']} on {info['cpu']}, {info['cores']} cores "
             f"({info['numba_threads']} numba threads), Python {info['python']}; "
             f"numpy {v['numpy']}, scipy {v['scipy']}, numba {v['numba']}, "
             f"numad {v['numad']} ({info['numad_commit']}); peers: {peers}. "
             f"Median of {repeat} interleaved samples after warm-up, each sample a batch "
             f"of calls of at least {MIN_SAMPLE_S * 1e3:.0f} ms; every answer checked "
             f"against the floor first. In brackets: time / floor's.", ""]
    head = "| workload | size | " + " | ".join(TOOL_TITLES[t] for t in tools) + " |"
    rule = "|---|---|" + "---|" * len(tools)

    def table(cell):
        out = [head, rule]
        for key in dict.fromkeys((r["workload"], r["size"]) for r in rows):
            w = WORKLOADS[key[0]]
            by_tool = {r["tool"]: r for r in rows if (r["workload"], r["size"]) == key}
            cells = [cell(by_tool[t]) if t in by_tool else "" for t in tools]
            out.append(f"| {w.title} | {w.size_name} = {_size(key[1])} | "
                       + " | ".join(cells) + " |")
        return out

    def steady(r):
        if r["status"] != "ok":
            return r["status"]
        return _seconds(r["median_s"]) + ("" if r["tool"] == "floor"
                                          else f" ({_ratio(r['ratio'])})")

    lines += table(steady)
    lines += ["", "First call (tracing, compiling and one gradient; for `minimize`, one "
              "whole run):", ""]
    lines += table(lambda r: r["status"] if r["first_s"] is None else _seconds(r["first_s"]))
    notes = [r for r in rows if r["workload"] == "minimize" and r["note"]]
    if notes:
        lines += ["", "`minimize`: " + "; ".join(f"{TOOL_TITLES[r['tool']]} {r['note']}"
                                                 for r in notes) + "."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="the smallest size of each workload, 3 samples (for CI)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help=f"comma-separated, among {','.join(WORKLOADS)}")
    ap.add_argument("--tools", default=",".join(TOOLS),
                    help=f"comma-separated, among {','.join(TOOLS)} (the floor always runs)")
    ap.add_argument("--repeat", type=int, default=None, help="samples (default 5, quick 3)")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="skip a tool where one call would take longer (default 5, quick 2)")
    ap.add_argument("--markdown", metavar="PATH", help="write the table here too")
    ap.add_argument("--json", metavar="PATH", help="write the raw rows here")
    args = ap.parse_args(argv)
    workloads = [s for s in args.workloads.split(",") if s]
    tools = [s for s in args.tools.split(",") if s]
    for name in workloads:
        if name not in WORKLOADS:
            ap.error(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    for name in tools:
        if name not in TOOLS:
            ap.error(f"unknown tool {name!r}; choose from {', '.join(TOOLS)}")
    missing = [t for t in tools if t not in available_tools()]
    if missing:
        print(f"compare.py: not installed here, left out: {', '.join(missing)}",
              file=sys.stderr)
    repeat = args.repeat or (3 if args.quick else 5)
    max_seconds = args.max_seconds or (2.0 if args.quick else 5.0)
    rows = []
    for name in workloads:
        rows += measure(name, tools=tools, repeat=repeat, max_seconds=max_seconds,
                        quick=args.quick)
    info = machine(tools)
    text = markdown(rows, info, repeat)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "repeat": repeat, "max_seconds": max_seconds,
                       "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
