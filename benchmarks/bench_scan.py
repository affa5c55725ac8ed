"""asv benchmarks of ``nd.scan`` on a long simulation: the Lotka-Volterra RK4 loss of
``benchmarks/_lotka_volterra.py`` (a loss summed over every step), differentiated with
respect to its four parameters.

As in ``bench_core.py``: every ``setup`` traces and runs each timed call once first,
so that numba's compile or cache loading and the trace are never inside a timing
(``time_first_gradient`` times the trace on purpose); ``track_*`` methods measure with
``time.perf_counter`` (best of several repeats) and report a ratio. The floor is a
hand-written ``@numba.njit`` discrete adjoint of the same RK4 loss.
``benchmarks/compare_scan.py`` prints the same workload side by side at 10**5 steps,
with peak memory at 10**6 steps measured in fresh subprocesses.
"""

from ._lotka_volterra import (H, P, Floor, lv_loss_njit, make_data, make_odeint_loss,
                              numad_loss, Y0)
from ._workloads import best_of, nd, warm, warm_numad

TIME_STEPS = 10 ** 4
MEM_STEPS = 10 ** 5
# recompute_all is left out: length**2 / 2 step runs, about half a minute per call here
STRATEGIES = ["store_all", "uniform", "binomial", "auto"]
SNAPSHOTS = {"binomial": 20}   # the others use their default budget


def _gradient_and_args(steps, strategy, compile=None):
    # (compile=None: numad's default, for revisions without compile=; compare_revisions)
    data = make_data(steps)
    jac = nd.gradient(numad_loss, **({} if compile is None else {"compile": compile}))
    args = (P.copy(), data, H, strategy, SNAPSHOTS.get(strategy))
    return jac, args


class ScanGradientLV:
    """Cached ``nd.gradient`` of the loss at 10**4 RK4 steps, per checkpoint strategy
    (binomial with 20 snapshots), with the step compiled (``compile="auto"``, the
    default, compiles it at this length) and on the generic sweeps (``"never"``)."""

    params = [STRATEGIES, ["auto", "never"]]
    param_names = ["checkpoint", "compile"]
    timeout = 300

    def setup(self, strategy, compile):
        warm_numad()
        self.jac, self.args = _gradient_and_args(TIME_STEPS, strategy, compile)
        warm(self.jac, *self.args)
        self.floor = Floor(TIME_STEPS)
        self.floor.gradient(*self.args[:2])

    def time_gradient(self, strategy, compile):
        self.jac(*self.args)

    def track_ratio_to_njit_floor(self, strategy, compile):
        """Cached gradient time / the hand-written @njit adjoint's, side by side."""
        grad = best_of(lambda: self.jac(*self.args), repeats=5)
        floor = best_of(lambda: self.floor.gradient(*self.args[:2]), repeats=5)
        return grad / floor

    track_ratio_to_njit_floor.unit = "ratio"


class ScanStepCompileTime:
    """Seconds to compile the RK4 step's code (its values and its vjp, 74 entries),
    cold (a fresh cache directory, in a fresh process) and from the disk cache (a
    second fresh process)."""

    timeout = 600

    def track_compile_seconds(self):
        return _compile_seconds()[0]

    def track_load_seconds(self):
        return _compile_seconds()[1]

    track_compile_seconds.unit = "seconds"
    track_load_seconds.unit = "seconds"


_SECONDS = []


def _compile_seconds():
    """(cold, from disk) seconds of ``compile_step`` for the RK4 step, each measured in
    a fresh subprocess against one fresh cache directory."""
    if not _SECONDS:
        import os
        import subprocess
        import sys
        import tempfile
        script = (
            "import sys, time; sys.path.insert(0, sys.argv[1])\n"
            "from benchmarks._lotka_volterra import numad_loss, make_data, P, H, nd\n"
            "from numad import tape_compiler as TC\n"
            "tape = nd.trace(numad_loss, P, make_data(300), H, 'store_all', None,"
            " compile='never')\n"
            "t0 = time.perf_counter(); TC.compile_step(tape, tape.loops[0].loop)\n"
            "print(time.perf_counter() - t0)\n")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMAD_CACHE_DIR=cache)
            for _ in range(2):
                out = subprocess.run([sys.executable, "-c", script, root], env=env,
                                     capture_output=True, text=True, check=True).stdout
                _SECONDS.append(float(out.split()[-1]))
    return _SECONDS


class ScanGradientLVFirstCall:
    """The first call of a fresh ``nd.gradient`` at 10**4 steps: trace, the loop's run
    during the trace, schedule, buffers, sweeps."""

    params = ["store_all", "binomial"]
    param_names = ["checkpoint"]
    number = 1
    repeat = 3
    timeout = 300

    def setup(self, strategy):
        warm_numad()
        jac, self.args = _gradient_and_args(TIME_STEPS, strategy)
        warm(jac, *self.args)

    def time_first_gradient(self, strategy):
        nd.gradient(numad_loss)(*self.args)


class ScanGradientLVOdeint:
    """The same loss with ``nd.odeint`` (rk4, one step per interval), 10**4 steps."""

    params = ["store_all", "binomial"]
    param_names = ["checkpoint"]
    timeout = 300

    def setup(self, strategy):
        warm_numad()
        data = make_data(TIME_STEPS)
        self.jac = nd.gradient(make_odeint_loss(H))
        self.args = (P.copy(), data, strategy, SNAPSHOTS.get(strategy))
        warm(self.jac, *self.args)

    def time_gradient(self, strategy):
        self.jac(*self.args)


class ScanFloorLV:
    """The floor at 10**4 steps: the @njit primal and the hand-written adjoint."""

    def setup(self):
        self.data = make_data(TIME_STEPS)
        self.p = P.copy()
        self.floor = Floor(TIME_STEPS)
        self.floor.gradient(self.p, self.data)
        lv_loss_njit(self.p, self.data, H, Y0[0], Y0[1])

    def time_primal_njit(self):
        lv_loss_njit(self.p, self.data, H, Y0[0], Y0[1])

    def time_gradient_njit(self):
        self.floor.gradient(self.p, self.data)


class ScanMemoryLV:
    """Peak memory of the gradient at 10**5 steps: store_all against binomial with 20
    snapshots. asv's ``peakmem_`` is the process's peak RSS after ``setup`` and the call,
    so ``setup`` only loads the kernels (on a tiny loop) and builds the data: the
    trace, the schedule and the buffers are in the measured call."""

    params = ["store_all", "binomial"]
    param_names = ["checkpoint"]
    timeout = 300

    def setup(self, strategy):
        warm_numad()
        jac, args = _gradient_and_args(16, strategy)
        warm(jac, *args)
        self.args = (P.copy(), make_data(MEM_STEPS), H, strategy, SNAPSHOTS.get(strategy))

    def peakmem_gradient(self, strategy):
        nd.gradient(numad_loss)(*self.args)

