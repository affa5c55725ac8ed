"""The cached adapter call's cost in this checkout against another one, side by side.

    python benchmarks/compare_cached_call.py /path/to/other/checkout [rounds]

Runs ``CachedCallTiny`` (``benchmarks/bench_core.py``: ``nd.gradient`` of a 3-entry
function, plain and reading watched globals) in fresh subprocesses, alternating the two
checkouts for ``rounds`` rounds (default 5) so that a noisy machine loads both alike,
and prints the median microseconds per call of each and their ratio.
"""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBE = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import numad as nd
from benchmarks._workloads import best_of, warm
SCALE = 2.0
OFFSETS = np.array([0.5])
def tiny(x):
    return np.sum(x * x)
def tiny_reading_globals(x):
    return SCALE * np.sum(x * x) + OFFSETS[0]
x = np.array([1.0, 2.0, 3.0])
out = {"numad": nd.__file__}
for name, f in (("plain", tiny), ("reads_globals", tiny_reading_globals)):
    jac = nd.gradient(f)
    warm(jac, x, calls=20)
    out[name] = best_of(lambda: jac(x), repeats=9) * 1e6
print(json.dumps(out))
"""


def run(checkout):
    env = dict(os.environ, PYTHONPATH=checkout + os.pathsep + HERE)
    text = subprocess.run([sys.executable, "-c", PROBE, checkout], env=env, check=True,
                          capture_output=True, text=True, cwd=HERE).stdout
    return json.loads(text.strip().splitlines()[-1])


def main():
    other = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    runs = {"this": [], "other": []}
    for _ in range(rounds):
        runs["other"].append(run(other))
        runs["this"].append(run(HERE))
    print(f"this:  {runs['this'][0]['numad']}\nother: {runs['other'][0]['numad']}")
    for name in ("plain", "reads_globals"):
        a = statistics.median(r[name] for r in runs["this"])
        b = statistics.median(r[name] for r in runs["other"])
        print(f"{name:>14s}: this {a:6.2f} us, other {b:6.2f} us, this/other {a / b:5.3f}")


if __name__ == "__main__":
    main()
