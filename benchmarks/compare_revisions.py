"""numad's core costs in this checkout against another checkout, side by side.

    python benchmarks/compare_revisions.py /path/to/other/checkout [rounds]

Runs the workloads of the asv benchmarks that a refactoring must leave unchanged
(``benchmarks/bench_core.py`` and ``bench_scan.py``: tracing per entry, the forward and
reverse sweeps per entry on the scalar Rosenbrock and on a random mix of operations,
the cached adapter call, and a ``scan`` step of the Lotka-Volterra gradient) with
numad imported from each checkout, in fresh subprocesses that alternate between the
two for ``rounds`` rounds (default 5), so that a noisy machine loads both alike. A first
unreported round per checkout compiles or loads numba's caches. Prints the median of
each figure per checkout and their ratio (this / other).

The benchmark code is this checkout's in both runs; only ``numad`` differs.
"""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[2])   # this checkout's benchmarks
sys.path.insert(0, sys.argv[1])   # the numad under test, first
import numad as nd
from benchmarks import bench_core as C, bench_scan as S
from benchmarks._workloads import best_of

out = {"numad": nd.__file__}

t = C.TraceScalarRosenbrock(); t.setup()
out["trace, us per entry"] = t.track_trace_us_per_entry()

r = C.ScalarRosenbrockReplay(); r.setup()
n = len(r.tape)
out["rosenbrock forward sweep, ns per entry"] = best_of(r.time_forward_sweep) / n * 1e9
r.time_forward_sweep()
out["rosenbrock reverse sweep, ns per entry"] = best_of(r.time_reverse_sweep) / n * 1e9
out["rosenbrock cached gradient, us"] = best_of(r.time_gradient) * 1e6

m = C.RandomMixReplay(); m.setup()
n = len(m.tape)
out["random mix forward sweep, ns per entry"] = best_of(m.time_forward_sweep) / n * 1e9
m.time_forward_sweep()
out["random mix reverse sweep, ns per entry"] = best_of(m.time_reverse_sweep) / n * 1e9

for function in ("plain", "reads_globals"):
    c = C.CachedCallTiny(); c.setup(function)
    out[f"cached call ({function}), us"] = c.track_gradient_us_per_call(function)

s = S.ScanGradientLV(); s.setup("store_all", None)   # (each revision's default compile)
out["scan store_all gradient, ns per step"] = (
    best_of(lambda: s.time_gradient("store_all", None), repeats=5) / S.TIME_STEPS * 1e9)
print(json.dumps(out))
"""


def run(checkout):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-c", PROBE, checkout, HERE], env=env,
                          capture_output=True, text=True, cwd=checkout)
    if proc.returncode:
        raise SystemExit(f"the probe failed in {checkout}:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    other = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    run(other), run(HERE)  # compile or load numba's caches, unreported
    runs = {"this": [], "other": []}
    for _ in range(rounds):
        runs["other"].append(run(other))
        runs["this"].append(run(HERE))
    print(f"this:  {runs['this'][0]['numad']}\nother: {runs['other'][0]['numad']}")
    print(f"{'median of ' + str(rounds) + ' fresh processes each':44s} {'this':>9s} "
          f"{'other':>9s} {'this/other':>11s}")
    for name in runs["this"][0]:
        if name == "numad":
            continue
        a = statistics.median(r[name] for r in runs["this"])
        b = statistics.median(r[name] for r in runs["other"])
        print(f"{name:44s} {a:9.3f} {b:9.3f} {a / b:11.3f}")


if __name__ == "__main__":
    main()
