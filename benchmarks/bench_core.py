"""asv benchmarks of numad's core costs: tracing, tape replay, the cached adapters.

Every ``setup`` builds its tapes once and runs each timed call once, so numba's compile
or cache loading is never inside a timing. ``time_*`` methods time one thing each;
``track_*`` methods report per-entry or relative figures measured with
``time.perf_counter`` (best of several repeats) inside the method, with their unit.
The workloads are defined in ``benchmarks/_workloads.py`` (shared with
``benchmarks/compare_core.py``, which prints them side by side against the targets).
"""

import numpy as np

from ._workloads import (JAC_N, SCALAR_N, best_of, forward_kernel, jac_matrix, load,
                         make_jac_function, make_jac_scalar_function, make_mix_function,
                         make_mix_program, mix_compile_seconds, mix_point, nd,
                         reverse_kernel, rosen_grad_njit, rosen_loop, rosen_point, rosen_vec,
                         warm, warm_numad)


# ---------------------------------------------------------------------------------------
# Tracing


class TraceScalarRosenbrock:
    """``nd.trace`` of a Python loop over ``x[i]`` floats (n = 2000, ~8 ops per term)."""

    def setup(self):
        warm_numad()
        self.x = rosen_point(SCALAR_N)
        self.entries = len(nd.trace(rosen_loop, self.x))

    def time_trace(self):
        nd.trace(rosen_loop, self.x)

    def peakmem_trace(self):
        nd.trace(rosen_loop, self.x)

    def track_trace_us_per_entry(self):
        best = best_of(lambda: nd.trace(rosen_loop, self.x), repeats=5, number=3)
        return best / self.entries * 1e6

    track_trace_us_per_entry.unit = "us"


# ---------------------------------------------------------------------------------------
# Replaying a scalar tape


class ScalarRosenbrockReplay:
    """Sweeps over the ~20000-entry tape of the scalar-loop Rosenbrock."""

    def setup(self):
        warm_numad()
        self.x = rosen_point(SCALAR_N)
        self.tape = nd.trace(rosen_loop, self.x)
        warm(self.tape.gradient, self.x)    # allocates the adjoint buffer
        load(self.tape, self.x)

    def time_forward_sweep(self):
        """The compiled forward sweep alone (values and stored partials)."""
        forward_kernel(self.tape)

    def time_reverse_sweep(self):
        """The compiled reverse sweep alone (after a forward sweep at the same point)."""
        reverse_kernel(self.tape)

    def time_call(self):
        """``tape(x)``: load, forward sweep, outputs."""
        self.tape(self.x)

    def time_gradient(self):
        """``tape.gradient(x)``: load, forward and reverse sweeps, gather."""
        self.tape.gradient(self.x)

    def track_forward_ns_per_entry(self):
        return best_of(lambda: forward_kernel(self.tape), repeats=7) / len(self.tape) * 1e9

    track_forward_ns_per_entry.unit = "ns"

    def track_fwdrev_ns_per_entry(self):
        return best_of(lambda: self.tape.gradient(self.x), repeats=7) / len(self.tape) * 1e9

    track_fwdrev_ns_per_entry.unit = "ns"


class RandomMixReplay:
    """A tape of ~20000 scalar ops drawn at random (seeded) from
    {+, -, *, /, sin, exp, log(|.|+1), sqrt(|.|+1), tanh} over a pool of 16 live values."""

    def setup(self):
        warm_numad()
        self.x = mix_point()
        self.f = make_mix_function(make_mix_program())
        self.tape = nd.trace(self.f, self.x)
        warm(self.tape.gradient, self.x)
        load(self.tape, self.x)

    def time_trace(self):
        nd.trace(self.f, self.x)

    def time_forward_sweep(self):
        forward_kernel(self.tape)

    def time_reverse_sweep(self):
        reverse_kernel(self.tape)

    def time_gradient(self):
        self.tape.gradient(self.x)

    def track_forward_ns_per_entry(self):
        return best_of(lambda: forward_kernel(self.tape), repeats=7) / len(self.tape) * 1e9

    track_forward_ns_per_entry.unit = "ns"

    def track_fwdrev_ns_per_entry(self):
        return best_of(lambda: self.tape.gradient(self.x), repeats=7) / len(self.tape) * 1e9

    track_fwdrev_ns_per_entry.unit = "ns"


# ---------------------------------------------------------------------------------------
# Vectorized Rosenbrock, n = 1e6


class VectorRosenbrock1e6:
    """``np.sum(100*(x[1:]-x[:-1]**2)**2 + (1-x[:-1])**2)`` at n = 10**6."""

    timeout = 120

    def setup(self):
        warm_numad()
        self.x = rosen_point(10 ** 6)
        self.jac = nd.gradient(rosen_vec)
        warm(self.jac, self.x)              # traces once; later calls replay
        self.floor = rosen_grad_njit()
        self.g = np.empty_like(self.x)
        self.floor(self.x, self.g)

    def time_primal_numpy(self):
        rosen_vec(self.x)

    def time_gradient_cached(self):
        self.jac(self.x)

    def time_gradient_njit_floor(self):
        """A hand-written ``@numba.njit`` analytic gradient: the floor."""
        self.floor(self.x, self.g)

    def peakmem_gradient_cached(self):
        self.jac(self.x)

    def track_ratio_gradient_over_primal(self):
        """Cached gradient time / NumPy primal time, measured side by side."""
        primal = best_of(lambda: rosen_vec(self.x), repeats=7, number=3)
        grad = best_of(lambda: self.jac(self.x), repeats=7, number=3)
        return grad / primal

    track_ratio_gradient_over_primal.unit = "ratio"


class VectorRosenbrock1e6FirstCall:
    """The first ``nd.gradient`` call at n = 10**6: trace, buffers, sweeps."""

    timeout = 120
    number = 1
    repeat = 3

    def setup(self):
        warm_numad()
        self.x = rosen_point(10 ** 6)

    def time_first_gradient(self):
        nd.gradient(rosen_vec)(self.x)

    def peakmem_first_gradient(self):
        nd.gradient(rosen_vec)(self.x)


# ---------------------------------------------------------------------------------------
# Per-call overhead of the cached adapter


class CachedGradientSmall:
    """A cached ``nd.gradient(rosen)`` call at n = 10: almost all overhead."""

    def setup(self):
        warm_numad()
        self.x = rosen_point(10)
        self.jac = nd.gradient(rosen_vec)
        warm(self.jac, self.x)
        self.vg = nd.value_and_gradient(rosen_vec)
        warm(self.vg, self.x)

    def time_gradient(self):
        self.jac(self.x)

    def time_value_and_gradient(self):
        self.vg(self.x)

    def track_gradient_us_per_call(self):
        return best_of(lambda: self.jac(self.x), repeats=7) * 1e6

    track_gradient_us_per_call.unit = "us"


# ---------------------------------------------------------------------------------------
# Jacobians


class Jacobian20:
    """``nd.jacobian`` of a 20 -> 20 map, forward (one 20-lane tangent sweep) vs reverse
    (20 reverse sweeps); ``vector`` is written with NumPy array ops (a few array
    entries), ``scalar`` as a Python loop over floats (~1500 scalar entries)."""

    params = (["forward", "reverse"], ["vector", "scalar"])
    param_names = ["mode", "function"]

    def setup(self, mode, function):
        warm_numad()
        W = jac_matrix(JAC_N)
        f = make_jac_function(W) if function == "vector" else make_jac_scalar_function(W)
        self.x = np.linspace(-1.0, 1.0, JAC_N)
        self.jac = nd.jacobian(f, mode=mode)
        warm(self.jac, self.x)

    def time_jacobian(self, mode, function):
        self.jac(self.x)


# ---------------------------------------------------------------------------------------
# The cached call's fixed cost, and what watching f's globals adds to it

SCALE = 2.0  # a global the watched workload reads


def tiny(x):
    """A 3-entry tape: the per-call overhead is all there is to time."""
    return np.sum(x * x)


def tiny_reading_globals(x):
    """The same, reading a global float and a global array (both watched)."""
    return SCALE * np.sum(x * x) + _OFFSETS[0]


_OFFSETS = np.array([0.5])


class CachedCallTiny:
    """``nd.gradient`` and ``nd.value_and_gradient`` of a 3-entry function, cached:
    the adapter's fixed cost per call (thread-local buffers and watched values
    included). ``benchmarks/compare_cached_call.py`` runs it against another checkout
    side by side."""

    params = (["plain", "reads_globals"],)
    param_names = ["function"]

    def setup(self, function):
        warm_numad()
        f = tiny if function == "plain" else tiny_reading_globals
        self.x = np.array([1.0, 2.0, 3.0])
        self.jac = nd.gradient(f)
        warm(self.jac, self.x)
        self.vg = nd.value_and_gradient(f)
        warm(self.vg, self.x)

    def time_gradient(self, function):
        self.jac(self.x)

    def time_value_and_gradient(self, function):
        self.vg(self.x)

    def track_gradient_us_per_call(self, function):
        return best_of(lambda: self.jac(self.x), repeats=9) * 1e6

    track_gradient_us_per_call.unit = "us"


# ---------------------------------------------------------------------------------------
# Compiled tapes (numad/tape_compiler.py); benchmarks/compare_compiled.py prints the same
# side by side with the first-call (compile) times


class CompileTimeRandomMix:
    """Seconds to write and compile the value-and-gradient code of a tape of distinct
    scalar operations (a random mix, no loop to roll up), cold (a fresh process and
    cache directory) and from the disk cache (a second fresh process); the targets
    are 1 s at 200 entries and 5 s at 5000 (issue 11)."""

    params = ([200, 5000],)
    param_names = ["entries"]
    timeout = 600

    def setup_cache(self):
        return {n: mix_compile_seconds(n) for n in self.params[0]}

    def track_compile_seconds(self, seconds, entries):
        return seconds[entries][1]

    def track_load_seconds(self, seconds, entries):
        return seconds[entries][2]

    track_compile_seconds.unit = "seconds"
    track_load_seconds.unit = "seconds"


class CompiledScalarRosenbrock:
    """The cached gradient of the scalar-loop Rosenbrock on the generic sweeps
    (``compile="never"``) and as the tape's own compiled code (``"always"``), and the
    hand-written ``@njit`` gradient (the floor)."""

    params = ([25, 100, 1000],)   # (1000: 9994 entries, its loop rolled up)
    param_names = ["n"]

    def setup(self, n):
        warm_numad()
        self.x = rosen_point(n)
        self.g = np.empty(n)
        self.p = np.cos(np.arange(n))
        self.floor = rosen_grad_njit()
        warm(self.floor, self.x, self.g)
        self.never = nd.gradient(rosen_loop, compile="never")
        warm(self.never, self.x)
        self.always = nd.gradient(rosen_loop, compile="always")
        warm(self.always, self.x)
        self.hvp = nd.hvp(rosen_loop, compile="always")
        warm(self.hvp, self.x, self.p)

    def time_hvp_always(self, n):
        self.hvp(self.x, self.p)

    def track_hvp_ratio_to_gradient(self, n):
        return (best_of(lambda: self.hvp(self.x, self.p))
                / best_of(lambda: self.always(self.x)))

    track_hvp_ratio_to_gradient.unit = "ratio"

    def time_gradient_never(self, n):
        self.never(self.x)

    def time_gradient_always(self, n):
        self.always(self.x)

    def time_gradient_njit_floor(self, n):
        self.floor(self.x, self.g)

    def track_always_ratio_to_floor(self, n):
        return (best_of(lambda: self.always(self.x))
                / best_of(lambda: self.floor(self.x, self.g)))

    track_always_ratio_to_floor.unit = "ratio"


# ---------------------------------------------------------------------------------------
# Fused array loops (numad/fusion.py)


class FusedVectorRosenbrock:
    """The cached gradient of the vectorized Rosenbrock as fused loops
    (``compile="always"``) and on the generic sweeps, against the hand-written ``@njit``
    gradient (the floor) and the NumPy primal. ``benchmarks/compare_fused.py`` prints
    the same side by side."""

    params = ([10 ** 4, 10 ** 5, 10 ** 6],)
    param_names = ["n"]
    timeout = 120

    def setup(self, n):
        warm_numad()
        self.x = rosen_point(n)
        self.g = np.empty(n)
        self.floor = rosen_grad_njit()
        warm(self.floor, self.x, self.g)
        self.fused = nd.gradient(rosen_vec, compile="always")
        warm(self.fused, self.x)
        self.never = nd.gradient(rosen_vec, compile="never")
        warm(self.never, self.x)

    def time_gradient_fused(self, n):
        self.fused(self.x)

    def time_gradient_never(self, n):
        self.never(self.x)

    def time_gradient_njit_floor(self, n):
        self.floor(self.x, self.g)

    def time_primal_numpy(self, n):
        rosen_vec(self.x)

    def peakmem_gradient_fused(self, n):
        self.fused(self.x)

    def track_fused_ratio_to_floor(self, n):
        return (best_of(lambda: self.fused(self.x))
                / best_of(lambda: self.floor(self.x, self.g)))

    track_fused_ratio_to_floor.unit = "ratio"


class FusedRosenbrockMemory:
    """Peak memory of the cached fused gradient of the vectorized Rosenbrock at
    n = 10**6, in arrays of n above the input (what the adapter holds, the returned
    gradient and the call's temporaries), each figure from a fresh process
    (``benchmarks/compare_fused.py --memory`` prints them all). asv's own ``peakmem_``
    would count the tracing of setup: every value of the tape, about 23 arrays, which
    ``compare_fused.py --memory`` prints as the first call's peak)."""

    timeout = 120

    def track_cached_call_peak_arrays(self):
        from benchmarks.compare_fused import memory
        return memory(10 ** 6, ("always",))["always"][1]

    track_cached_call_peak_arrays.unit = "arrays of n"
