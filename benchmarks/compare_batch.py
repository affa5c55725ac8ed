"""Monte Carlo Greeks as a batch: numad against a hand-written parallel pathwise estimator.

The workload of ``examples/asian_option_greeks.py``: delta, vega and rho of an
arithmetic Asian call, per path, over ``--paths`` paths of ``--steps`` steps, the
per-path payoff written as scalar Python code (``asian_call``) and mapped over the
paths by ``nd.value_and_gradient_batch(..., in_axes=(None, 0))``. Side by side in one
run, after a warm-up, ``--repeat`` rounds that time each variant once in turn
(interleaved, so that another tenant's load falls on all of them alike); the table gives
each one's best round and, in brackets, its median:

* ``floor``: a hand-written ``@njit(parallel=True)`` pathwise estimator (forward-mode
  derivatives of the path carried along by hand, ``prange`` over paths);
* numad's batch with its compiled tape (``compile="always"``) and with the generic
  sweeps (``compile="never"``);
* both with one thread and with every thread numba has (``numba.set_num_threads``):
  the speed-up from the other cores;
* a loop of one-point ``nd.value_and_gradient`` calls (on a subset of the paths,
  scaled): the throughput a batch adds.

Run: python benchmarks/compare_batch.py [--paths 100000] [--steps 252]
"""
import argparse
import math
import pathlib
import sys
import time

import numba
import numpy as np
from numba import njit, prange

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT))
import numad as nd  # noqa: E402
from asian_option_greeks import MATURITY, STRIKE, asian_call  # noqa: E402


def one_path(params, Z, p, strike, maturity, values, grads):
    """Path ``p``'s discounted payoff and its derivatives in (S0, sigma, r), by hand:
    dS/dS0 = S / S0, dS/dsigma = S * sum(-sigma dt + sqrt(dt) z), dS/dr = S * t dt
    (plain Python: compiled for the CPU here and for the GPU by gpu_check.py)."""
    s0, sigma, r = params[0], params[1], params[2]
    steps = Z.shape[1]
    dt = maturity / steps
    sq = math.sqrt(dt)
    drift = (r - 0.5 * sigma * sigma) * dt
    discount = math.exp(-r * maturity)
    s, total, d_sigma, total_sigma, total_r = s0, 0.0, 0.0, 0.0, 0.0
    for t in range(steps):
        z = Z[p, t]
        s = s * math.exp(drift + sigma * sq * z)
        d_sigma += -sigma * dt + sq * z     # d log S / d sigma so far
        total += s
        total_sigma += s * d_sigma
        total_r += s * (t + 1) * dt
    average = total / steps
    if average > strike:
        values[p] = discount * (average - strike)
        grads[p, 0] = discount * total / (steps * s0)
        grads[p, 1] = discount * total_sigma / steps
        grads[p, 2] = discount * total_r / steps - maturity * values[p]
    else:
        values[p] = 0.0
        grads[p, 0] = 0.0
        grads[p, 1] = 0.0
        grads[p, 2] = 0.0


_one_path_cpu = njit(cache=True)(one_path)


@njit(parallel=True, cache=True)
def hand_pathwise(params, Z, strike, maturity):
    """The hand-written floor: every path's payoff and Greeks, paths in parallel."""
    paths = Z.shape[0]
    values = np.empty(paths)
    grads = np.empty((paths, 3))
    for p in prange(paths):
        _one_path_cpu(params, Z, p, strike, maturity, values, grads)
    return values, grads


def median_time(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def interleaved_times(variants, thread_counts, repeat):
    """``{(label, threads): [seconds, ...]}``: ``repeat`` rounds, each timing every
    variant once with each thread count, in turn."""
    times = {(label, n): [] for label, _ in variants for n in thread_counts}
    for label, fn in variants:   # (the warm-up)
        fn()
    for _ in range(repeat):
        for n in thread_counts:
            numba.set_num_threads(n)
            for label, fn in variants:
                start = time.perf_counter()
                fn()
                times[label, n].append(time.perf_counter() - start)
    numba.set_num_threads(max(thread_counts))
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=252)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--one-point-paths", type=int, default=2000)
    args = parser.parse_args(argv)
    Z = np.random.default_rng(0).standard_normal((args.paths, args.steps))
    params = np.array([100.0, 0.2, 0.05])
    compiled = nd.value_and_gradient_batch(asian_call, in_axes=(None, 0), compile="always")
    generic = nd.value_and_gradient_batch(asian_call, in_axes=(None, 0), compile="never")

    v_hand, g_hand = hand_pathwise(params, Z, STRIKE, MATURITY)
    v_nd, g_nd = compiled(params, Z)
    worst = float(np.max(np.abs(g_nd - g_hand)) / np.max(np.abs(g_hand)))
    print(f"{args.paths} paths x {args.steps} steps; numad's Greeks against the hand "
          f"estimator's: largest difference {worst:.1e} (relative to the largest Greek)")
    assert worst < 1e-10 and np.allclose(v_nd, v_hand, rtol=1e-12, atol=1e-12)

    threads = numba.config.NUMBA_NUM_THREADS
    variants = [("hand @njit(parallel=True)", lambda: hand_pathwise(params, Z, STRIKE,
                                                                    MATURITY)),
                ("numad batch, compiled tape", lambda: compiled(params, Z)),
                ("numad batch, generic sweeps", lambda: generic(params, Z))]
    counts = sorted({1, threads})
    times = interleaved_times(variants, counts, args.repeat)
    best = {key: min(t) for key, t in times.items()}
    median = {key: float(np.median(t)) for key, t in times.items()}
    rows = [(label, {n: best[label, n] for n in counts}) for label, _ in variants]
    one_point = nd.value_and_gradient(asian_call)
    m = min(args.one_point_paths, args.paths)
    loop = median_time(lambda: [one_point(params, z) for z in Z[:m]], 1) * args.paths / m
    floor, floor_median = best[variants[0][0], threads], median[variants[0][0], threads]
    print(f"\nbest of {args.repeat} interleaved rounds (median in brackets)")
    print(f"| workload | 1 thread (s) | {threads} threads (s) | speed-up | "
          f"ratio to floor ({threads} threads) |")
    print("|---|---|---|---|---|")
    for label, _ in variants:
        one, many = (label, 1), (label, threads)
        print(f"| {label} | {best[one]:.3f} ({median[one]:.3f}) | {best[many]:.3f} "
              f"({median[many]:.3f}) | {best[one] / best[many]:.2f}x "
              f"({median[one] / median[many]:.2f}x) | {best[many] / floor:.2f} "
              f"({median[many] / floor_median:.2f}) |")
    print(f"| loop of one-point nd.value_and_gradient (scaled from {m} paths) | "
          f"{loop:.2f} | | | {loop / floor:.1f} |")
    return rows


if __name__ == "__main__":
    # numba's disk cache records the module that compiled a kernel and imports it again
    # when it loads the kernel: run them as benchmarks.compare_batch, the name
    # compare.py, gpu_check.py and the asv suite import them under, never as __main__
    # (a kernel cached by one and loaded by the other failed with "No module named ...")
    from benchmarks.compare_batch import main as run_as_the_module
    run_as_the_module(sys.argv[1:])
