"""One command to check numad's GPU batches on a machine with an NVIDIA GPU.

The per-path Asian call of ``examples/asian_option_greeks.py`` (252 steps), its value
and pathwise delta, vega and rho at ``--paths`` paths (10^7 by default: enough rows to
fill a GPU), three ways:

* numad's GPU batch: ``nd.value_and_gradient_batch(..., device="cuda")`` on random
  numbers drawn in device memory (read there, not copied);
* numad's CPU batch on ``--cpu-paths`` of the same paths (every core), its throughput
  scaled;
* a hand-written ``numba.cuda`` pathwise kernel (forward-mode derivatives by hand, one
  thread a path): the floor.

It checks the GPU rows against the CPU batch on the first ``--check`` paths (to
1e-12 relative) and against the hand kernel on all, and prints times and paths per
second. It takes well under 3 minutes on one GPU (the first call compiles the kernels).

Run: python benchmarks/gpu_check.py [--paths 10000000] [--steps 252]
(``NUMBA_ENABLE_CUDASIM=1`` with ``--paths 64 --steps 8`` runs it in numba's simulator.)
"""
import argparse
import pathlib
import sys
import time

import numpy as np
from numba import cuda
from numba.cuda.random import create_xoroshiro128p_states, xoroshiro128p_normal_float64

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import numad as nd  # noqa: E402
from asian_option_greeks import MATURITY, STRIKE, asian_call  # noqa: E402
# (imported under the name every other user of its cached kernels gives it)
from benchmarks.compare_batch import one_path  # noqa: E402

THREADS = 128


@cuda.jit
def draw_normals(states, Z):
    """Standard normal draws into ``Z`` (paths x steps), one thread a path."""
    p = cuda.grid(1)
    if p < Z.shape[0]:
        for t in range(Z.shape[1]):
            Z[p, t] = xoroshiro128p_normal_float64(states, p)


_one_path_gpu = cuda.jit(device=True)(one_path)


@cuda.jit
def hand_pathwise(params, Z, strike, maturity, values, grads):
    """The hand-written floor: compare_batch.py's per-path derivatives by hand, one
    thread a path."""
    p = cuda.grid(1)
    if p < Z.shape[0]:
        _one_path_gpu(params, Z, p, strike, maturity, values, grads)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    cuda.synchronize()
    return out, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000_000)
    parser.add_argument("--steps", type=int, default=252)
    parser.add_argument("--cpu-paths", type=int, default=200_000)
    parser.add_argument("--check", type=int, default=10_000)
    args = parser.parse_args(argv)
    paths, steps = args.paths, args.steps
    device = ("numba's simulator" if nd.cuda_batch.simulated()
              else cuda.get_current_device().name)
    print(f"GPU: {device}; {paths} paths x {steps} steps")
    params = np.array([100.0, 0.2, 0.05])
    Z = cuda.device_array((paths, steps))
    blocks = (paths + THREADS - 1) // THREADS
    draw_normals[blocks, THREADS](create_xoroshiro128p_states(paths, seed=2026), Z)

    gpu = nd.value_and_gradient_batch(asian_call, in_axes=(None, 0), device="cuda")
    cpu = nd.value_and_gradient_batch(asian_call, in_axes=(None, 0))
    small = Z[:min(64, paths)].copy_to_host()
    (_, t_compile) = timed(lambda: gpu(params, small))   # (traces, compiles the kernels)
    (v_gpu, g_gpu), t_gpu = timed(lambda: gpu(params, Z))
    info = gpu.last_batch_info

    check = min(args.check, paths)
    head = Z[:check].copy_to_host()
    v_cpu, g_cpu = cpu(params, head)
    worst_cpu = float(np.max(np.abs(g_gpu[:check] - g_cpu)) / np.max(np.abs(g_cpu)))

    hand_values = cuda.device_array(paths)
    hand_grads = cuda.device_array((paths, 3))
    d_params = cuda.to_device(params)
    run_hand = lambda: hand_pathwise[blocks, THREADS](d_params, Z, STRIKE, MATURITY,
                                                      hand_values, hand_grads)
    timed(run_hand)   # (compiles)
    _, t_hand = timed(run_hand)
    g_hand = hand_grads.copy_to_host()
    worst_hand = float(np.max(np.abs(g_gpu - g_hand)) / np.max(np.abs(g_hand)))

    cpu_rows = min(args.cpu_paths, paths)
    rows = Z[:cpu_rows].copy_to_host()
    cpu(params, rows[:64])
    _, t_cpu = timed(lambda: cpu(params, rows))

    print(f"numad GPU batch: {t_gpu:.3f} s ({paths / t_gpu:.3g} paths/s; first call with "
          f"compilation {t_compile:.1f} s); {info}")
    print(f"hand numba.cuda pathwise kernel: {t_hand:.3f} s ({paths / t_hand:.3g} paths/s); "
          f"numad / hand = {t_gpu / t_hand:.2f}")
    print(f"numad CPU batch ({cpu_rows} paths, every core): {t_cpu:.3f} s "
          f"({cpu_rows / t_cpu:.3g} paths/s); GPU / CPU throughput = "
          f"{(paths / t_gpu) / (cpu_rows / t_cpu):.1f}x")
    print(f"largest difference, relative to the largest Greek: GPU vs CPU batch "
          f"{worst_cpu:.1e} (first {check} paths), GPU vs hand kernel {worst_hand:.1e}")
    print(f"mean Greeks (delta, vega, rho): {g_gpu.mean(axis=0)}")
    ok = worst_cpu < 1e-12 and worst_hand < 1e-10
    print("OK" if ok else "MISMATCH")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
