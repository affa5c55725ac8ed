"""Compiled tapes against the generic sweeps and a hand-written ``@njit`` gradient.

    python benchmarks/compare_compiled.py [n ...]

For the scalar-loop Rosenbrock (``benchmarks/_workloads.py``'s ``rosen_loop``, a Python
loop over ``x[i]``) at each ``n`` (default 25 100 250): the cached ``nd.gradient`` call
with ``compile="never"`` (the generic sweeps) and ``compile="always"`` (the tape's own
code, numad/tape_compiler.py), the compiled function alone, and the hand-written
``@njit`` analytic gradient (the floor), all measured side by side in this process;
and the time to compile the tape and run it once, cold (a fresh cache directory) and from the
disk cache (a second process). Ratios are to the floor.
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
TC.compile_tape(tape)(tape.vals, adj)   # compiles, or loads from the disk cache
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
    sizes = [int(a) for a in sys.argv[1:]] or [25, 100, 250]
    floor = rosen_grad_njit()
    print(f"{'n':>5s} {'entries':>8s} {'never us':>9s} {'always us':>10s} {'kernel us':>10s} "
          f"{'floor us':>9s} {'never/floor':>12s} {'always/floor':>13s} "
          f"{'compile cold s':>15s} {'from disk s':>12s}")
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
        t_kernel = best_of(lambda: tape.compiled(tape.vals, tape.adjoints))
        with tempfile.TemporaryDirectory() as cache:
            cold = first_call(n, cache)
            disk = first_call(n, cache)
        print(f"{n:5d} {len(tape):8d} {t_never * 1e6:9.2f} {t_always * 1e6:10.2f} "
              f"{t_kernel * 1e6:10.2f} {t_floor * 1e6:9.2f} {t_never / t_floor:12.1f} "
              f"{t_always / t_floor:13.1f} {cold:15.2f} {disk:12.2f}")


if __name__ == "__main__":
    main()
