"""Fused array loops (numad/fusion.py) against a hand-written ``@njit`` gradient.

    PYTHONPATH=. python benchmarks/compare_fused.py [n ...]      (default 1e4 1e5 1e6)

Side by side in this process, best of several rounds interleaved (this machine is
shared): for the vectorized Rosenbrock at each ``n``, the NumPy primal, the
hand-written ``@njit`` analytic gradient (the floor, ``_workloads.rosen_grad_njit``),
and the cached ``nd.gradient`` / ``nd.value_and_gradient`` calls with
``compile="never"`` (the generic sweeps: one kernel and one temporary per entry) and
``compile="always"`` (the fused loops); then a Black-Scholes call price vectorized over
``n`` options, differentiated with respect to spot, volatility and rate (one input of
shape (3, n)), against the closed-form delta, vega and rho evaluated with NumPy; and a
two-layer ``tanh`` network (batch 1000, 20 inputs, 100 hidden units, 10 outputs,
least-squares loss) against hand-written NumPy backpropagation. Every gradient is checked against its oracle before its time is printed.
Last, the peak memory of the Rosenbrock gradient at the largest ``n``, each figure
from a fresh process (``--memory [n]`` prints only that).
"""
import sys
import time

import numpy as np
from scipy.special import ndtr

import numad as nd
from benchmarks._workloads import rosen_der, rosen_grad_njit, rosen_point, rosen_vec

K, T = 100.0, 1.5


def black_scholes(z):
    S, sigma, r = z[0], z[1], z[2]
    d1 = (np.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * np.sqrt(T))
    d2 = d1 - sigma * np.sqrt(T)
    return np.sum(S * ndtr(d1) - K * np.exp(-r * T) * ndtr(d2))


def closed_form_greeks(z):
    S, sigma, r = z
    sq = np.sqrt(T)
    d1 = (np.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * sq)
    d2 = d1 - sigma * sq
    return np.stack([ndtr(d1), S * sq * np.exp(-0.5 * d1 ** 2) / np.sqrt(2 * np.pi),
                     K * T * np.exp(-r * T) * ndtr(d2)])


NET = (1000, 20, 100, 10)   # batch, inputs, hidden units, outputs


def make_network(seed=0, sizes=NET):
    """(loss(w), backprop(w), w) of the two-layer tanh network of ``sizes`` (batch,
    inputs, hidden units, outputs); ``backprop`` is its hand-written gradient."""
    B, D, H, O = sizes
    rng = np.random.default_rng(seed)
    X, T = rng.normal(size=(B, D)), rng.normal(size=(B, O))
    shapes = [(D, H), (H,), (H, O), (O,)]

    def unpack(w):
        out, i = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            out.append(w[i:i + size].reshape(shape))
            i += size
        return out

    def loss(w):
        W1, b1, W2, b2 = unpack(w)
        Y = np.tanh(X @ W1 + b1) @ W2 + b2
        return 0.5 * np.sum((Y - T) ** 2)

    def backprop(w):
        W1, b1, W2, b2 = unpack(w)
        Hid = np.tanh(X @ W1 + b1)
        R = Hid @ W2 + b2 - T
        dZ = (R @ W2.T) * (1.0 - Hid * Hid)
        return np.concatenate([(X.T @ dZ).ravel(), dZ.sum(0), (Hid.T @ R).ravel(), R.sum(0)])

    return loss, backprop, rng.normal(size=sum(int(np.prod(s)) for s in shapes)) * 0.1


def best_interleaved(fns, rounds=7):
    """Best time of each function, the rounds interleaved so load hits them alike."""
    best = [np.inf] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            number = 1
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            if dt < 1e-3:   # (short calls: time a batch)
                number = max(1, int(2e-3 / max(dt, 1e-7)))
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                dt = (time.perf_counter() - t0) / number
            best[k] = min(best[k], dt)
    return best


def check(name, got, want, rtol):
    err = np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300)
    if not err <= rtol:
        raise SystemExit(f"{name}: relative error {err:.2e} > {rtol}")


def _status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1e3
    raise KeyError(key)


def _memory_child(what, n):
    """Prints, in arrays of n doubles above the process before the call (the input and
    the warmed kernels excluded): the first call's peak, and the peak of cached calls
    (what the adapter holds, the returned gradient and the call's temporaries). glibc's
    ``malloc_trim`` gives freed memory back first, so that RSS counts live data;
    ``/proc/self/clear_refs`` resets the peak between the two."""
    import ctypes
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):   # (not glibc: freed memory may stay in RSS)
        def trim(pad):
            return 0
    floor = rosen_grad_njit()
    small = rosen_point(100)
    floor(small, np.empty(100))
    nd.gradient(rosen_vec, compile="always")(small)
    nd.gradient(rosen_vec, compile="never")(small)
    x, arr = rosen_point(n), 8 * n / 1e6
    trim(0)
    base = _status_mb("VmRSS")

    def reset_peak():
        trim(0)
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:   # (not allowed here: the peaks then include what came before)
            pass

    reset_peak()
    if what == "primal":
        rosen_vec(x)
        print((_status_mb("VmHWM") - base) / arr, 0.0)
        return
    if what == "floor":
        g = np.empty(n)
        floor(x, g)
        print((_status_mb("VmHWM") - base) / arr, (_status_mb("VmHWM") - base) / arr)
        return
    fn = nd.gradient(rosen_vec, compile=what)
    r = fn(x)
    first = (_status_mb("VmHWM") - base) / arr
    for _ in range(3):
        r = fn(x)
    del r
    reset_peak()
    for _ in range(3):
        r = fn(x)
    print(first, (_status_mb("VmHWM") - base) / arr)


def memory(n, whats=("primal", "floor", "never", "always")):
    """{what: (first call's peak, cached calls' peak)} in arrays of n, each measured in a
    fresh process (see ``_memory_child``)."""
    import os
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    out = {}
    for what in whats:
        res = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child",
                              what, str(n)], capture_output=True, text=True, check=True,
                             env=env)
        out[what] = tuple(float(v) for v in res.stdout.split())
    return out


def print_memory(n):
    m = memory(n)
    print(f"\nPeak memory, vectorized Rosenbrock at n = {n}, in arrays of n above the input"
          " (each in a fresh process):")
    print(f"  NumPy primal {m['primal'][0]:.1f}; hand-written @njit gradient {m['floor'][0]:.1f}"
          " (its output)")
    for what, name in (("never", "generic sweeps"), ("always", "fused")):
        print(f"  numad {name}: first call (tracing) {m[what][0]:.1f}, cached calls"
              f" {m[what][1]:.1f}")


def main():
    if sys.argv[1:2] == ["--memory-child"]:
        return _memory_child(sys.argv[2], int(sys.argv[3]))
    if sys.argv[1:2] == ["--memory"]:
        return print_memory(int(float(sys.argv[2])) if len(sys.argv) > 2 else 10 ** 6)
    sizes = [int(float(a)) for a in sys.argv[1:]] or [10 ** 4, 10 ** 5, 10 ** 6]
    floor = rosen_grad_njit()
    print("Vectorized Rosenbrock: times in ms, ratios to the hand-written @njit gradient")
    print(f"{'n':>9} {'primal':>8} {'floor':>8} {'never':>8} {'fused':>8} {'fused v+g':>9}"
          f" {'never/fl':>8} {'fused/fl':>8} {'v+g/fl':>7} {'fused/primal':>12}")
    for n in sizes:
        x = rosen_point(n)
        g = np.empty_like(x)
        never = nd.gradient(rosen_vec, compile="never")
        fused = nd.gradient(rosen_vec, compile="always")
        fused_vg = nd.value_and_gradient(rosen_vec, compile="always")
        floor(x, g)
        want = rosen_der(x)
        for name, fn in (("never", never), ("fused", fused), ("fused v+g", lambda x: fused_vg(x)[1])):
            fn(x)
            check(name, fn(x), want, 1e-12)
        tp, tf, tn, tg, tvg = best_interleaved([
            lambda: rosen_vec(x), lambda: floor(x, g), lambda: never(x), lambda: fused(x),
            lambda: fused_vg(x)])
        print(f"{n:>9} {tp * 1e3:8.3f} {tf * 1e3:8.3f} {tn * 1e3:8.3f} {tg * 1e3:8.3f}"
              f" {tvg * 1e3:9.3f} {tn / tf:8.2f} {tg / tf:8.2f} {tvg / tf:7.2f} {tg / tp:12.2f}")
    print("\nBlack-Scholes over n options, gradient in (spot, vol, rate): ms, ratio to the"
          " closed-form Greeks in NumPy")
    print(f"{'n':>9} {'closed form':>11} {'never':>8} {'fused':>8} {'never/cf':>8} {'fused/cf':>8}")
    rng = np.random.default_rng(0)
    for n in sizes:
        z = np.stack([rng.uniform(80, 120, n), rng.uniform(0.1, 0.4, n), rng.uniform(0, .05, n)])
        never = nd.gradient(black_scholes, compile="never")
        fused = nd.gradient(black_scholes, compile="always")
        want = closed_form_greeks(z)
        for name, fn in (("never", never), ("fused", fused)):
            fn(z)
            check(name, fn(z), want, 1e-11)
        tc, tn, tg = best_interleaved([lambda: closed_form_greeks(z), lambda: never(z),
                                       lambda: fused(z)])
        print(f"{n:>9} {tc * 1e3:11.3f} {tn * 1e3:8.3f} {tg * 1e3:8.3f} {tn / tc:8.2f}"
              f" {tg / tc:8.2f}")

    loss, backprop, w = make_network()
    never = nd.gradient(loss, compile="never")
    fused = nd.gradient(loss, compile="always")
    for name, fn in (("never", never), ("fused", fused)):
        fn(w)
        check(name, fn(w), backprop(w), 1e-12)
    tb, tn, tg = best_interleaved([lambda: backprop(w), lambda: never(w), lambda: fused(w)])
    print(f"\nTwo-layer tanh network {NET}: NumPy backpropagation {tb * 1e3:.3f} ms; numad "
          f"generic {tn * 1e3:.3f} ms ({tn / tb:.2f}x), fused {tg * 1e3:.3f} ms ({tg / tb:.2f}x)")
    print_memory(max(sizes))


if __name__ == "__main__":
    main()
