"""Compiled tapes against the generic sweeps and a hand-written ``@njit`` gradient.

    python benchmarks/compare_compiled.py [n ...] [--mix entries ...]

For the scalar-loop Rosenbrock (``benchmarks/_workloads.py``'s ``rosen_loop``, a Python
loop over ``x[i]``) at each ``n`` (default 25 100 250): the cached ``nd.gradient`` call
with ``compile="never"`` (the generic sweeps) and ``compile="always"`` (the tape's own
code, numad/tape_compiler.py), the compiled function alone, and the hand-written
``@njit`` analytic gradient (the floor), all measured side by side in this process;
and the time to compile the tape and run it once, cold (a fresh cache directory) and from the
disk cache (a second process). Ratios are to the floor. Then ``nd.hvp`` at a new point
with ``compile="never"`` and ``"always"`` against the compiled ``nd.gradient`` call.
Last, the time to write and compile the code of random mixes of distinct scalar
operations (no loop to roll up; ``--mix``, default 200 1000 5000 entries), cold and from
the disk cache, each in a fresh process (numad/llvm_lowering.py lowers them).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

FIRST_CALL = r"""
import sys, time, numpy as np
sys.path.insert(0, sys.argv[2])
import numad as nd
from numad import tape_compiler as TC
from benchmarks._workloads import rosen_loop, rosen_point
n = int(sys.argv[1])
x = rosen_point(n)
tape = nd.trace(rosen_loop, x, compile="never")
adj = np.zeros_like(tape.vals)
t0 = time.perf_counter()
TC.compile_tape(tape)(tape.vals, adj, True)   # compiles, or loads from the disk cache
print(time.perf_counter() - t0)
"""


def first_call(n, cache):
    env = dict(os.environ, NUMAD_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", FIRST_CALL, str(n), HERE], env=env,
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main():
    import numad as nd
    from benchmarks._workloads import best_of, rosen_grad_njit, rosen_loop, rosen_point, warm
    args = sys.argv[1:]
    mixes = [200, 1000, 5000]
    if "--mix" in args:
        mixes = [int(a) for a in args[args.index("--mix") + 1:]]
        args = args[:args.index("--mix")]
    sizes = [int(a) for a in args] or [25, 100, 250]
    floor = rosen_grad_njit()
    print(f"{'n':>5s} {'entries':>8s} {'never us':>9s} {'always us':>10s} {'kernel us':>10s} "
          f"{'floor us':>9s} {'never/floor':>12s} {'always/floor':>13s} "
          f"{'compile cold s':>15s} {'from disk s':>12s}")
    hvp_rows = []
    for n in sizes:
        x = rosen_point(n)
        g = np.empty(n)
        warm(floor, x, g)
        generic = nd.gradient(rosen_loop, compile="never")
        compiled = nd.gradient(rosen_loop, compile="always")
        warm(generic, x)
        warm(compiled, x)
        assert np.allclose(generic(x), compiled(x), rtol=1e-13)
        (tape,) = [t for ts in compiled.cache.tapes.values() for t in ts]
        assert tape.compiled is not None
        t_floor = best_of(lambda: floor(x, g))
        t_never = best_of(lambda: generic(x))
        t_always = best_of(lambda: compiled(x))
        t_kernel = best_of(lambda: tape.compiled(tape.vals, tape.adjoints, False))
        with tempfile.TemporaryDirectory() as cache:
            cold = first_call(n, cache)
            disk = first_call(n, cache)
        print(f"{n:5d} {len(tape):8d} {t_never * 1e6:9.2f} {t_always * 1e6:10.2f} "
              f"{t_kernel * 1e6:10.2f} {t_floor * 1e6:9.2f} {t_never / t_floor:12.1f} "
              f"{t_always / t_floor:13.1f} {cold:15.2f} {disk:12.2f}")
        # Hessian-vector products at a new point each call (as Newton-CG asks at a new
        # iterate), against the compiled gradient call
        points = [x + 1e-3 * k for k in range(2)]
        p = np.cos(np.arange(n))
        h_never, h_always = nd.hvp(rosen_loop, compile="never"), nd.hvp(rosen_loop,
                                                                       compile="always")
        for h in (h_never, h_always):
            h(points[0], p)
            h(points[1], p)
        assert np.allclose(h_never(x, p), h_always(x, p), rtol=1e-12)
        k = [0]

        def alternate(h):
            k[0] ^= 1
            return h(points[k[0]], p)
        t_hn = best_of(lambda: alternate(h_never))
        t_ha = best_of(lambda: alternate(h_always))
        hvp_rows.append((n, t_hn, t_ha, t_always))
    print(f"\n{'n':>5s} {'hvp never us':>13s} {'hvp always us':>14s} {'gradient always us':>19s} "
          f"{'hvp always / gradient always':>29s}")
    for n, t_hn, t_ha, t_always in hvp_rows:
        print(f"{n:5d} {t_hn * 1e6:13.2f} {t_ha * 1e6:14.2f} {t_always * 1e6:19.2f} "
              f"{t_ha / t_always:29.2f}")
    from benchmarks._workloads import mix_compile_seconds
    print(f"\n{'random mix, entries':>20s} {'compile cold s':>15s} {'from disk s':>12s}")
    for target in mixes:
        entries, cold, disk = mix_compile_seconds(target)
        print(f"{entries:20d} {cold:15.2f} {disk:12.2f}")


if __name__ == "__main__":
    main()
