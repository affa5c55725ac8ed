"""Run by tests/test_cuda_batch.py in a subprocess with NUMBA_ENABLE_CUDASIM=1 (numba's
CUDA simulator must be chosen before numba is imported): the GPU sweeps against the CPU
batch and against closed forms, on small batches. Prints one line per check; exits
non-zero (an AssertionError) on the first that fails."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__)))
import numad as nd  # noqa: E402
from test_batching import P, Z, path_dependent, path_dependent_closed  # noqa: E402
from numba import cuda  # noqa: E402

ROWS = 40


def check(name, ok):
    print(("ok   " if ok else "FAIL ") + name, flush=True)
    assert ok, name


def main():
    assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "run me in numba's simulator"
    z = Z[:ROWS]
    cpu = nd.value_and_gradient_batch(path_dependent, in_axes=(None, 0), compile="never")
    gpu = nd.value_and_gradient_batch(path_dependent, in_axes=(None, 0), device="cuda")
    v_cpu, g_cpu = cpu(P, z)
    v_gpu, g_gpu = gpu(P, z)
    info = gpu.last_batch_info
    check("values match the CPU batch", np.allclose(v_gpu, v_cpu, rtol=1e-13, atol=1e-15))
    check("gradients match the CPU batch", np.allclose(g_gpu, g_cpu, rtol=1e-12, atol=1e-14))
    closed_v, closed_g = path_dependent_closed(P, z)
    check("gradients match the closed form", np.allclose(g_gpu, closed_g, rtol=1e-11,
                                                         atol=1e-13))
    check("rows on the other branch were rerouted",
          info.device == "cuda" and info.paths == 2 and info.rerouted_rows == np.count_nonzero(
              (z[:, 0] > 0.5) != (z[0, 0] > 0.5)))
    # a batch already in device memory is read where it is
    v_dev, g_dev = gpu(P, cuda.to_device(z))
    check("a device array batch", np.allclose(g_dev, g_cpu, rtol=1e-12, atol=1e-14))
    # a tape's own forward_batch / gradient_batch, several arguments, array entries
    f = lambda x, a: a * np.sum(np.tanh(x) ** 2) + np.sum(np.where(x > 0, x, 0.5 * x))
    X = np.random.default_rng(3).normal(size=(ROWS, 3))
    A = np.linspace(0.5, 1.5, ROWS)
    tape = nd.trace(f, X[0], A[0])
    check("forward_batch", np.allclose(tape.forward_batch(X, A, device="cuda"),
                                       tape.forward_batch(X, A), rtol=1e-13))
    closed = A[:, None] * 2 * np.tanh(X) * (1 - np.tanh(X) ** 2) + np.where(X > 0, 1.0, 0.5)
    check("gradient_batch", np.allclose(tape.gradient_batch(X, A, device="cuda"), closed,
                                        rtol=1e-12))
    # what the GPU does not run is a clear error
    try:
        nd.gradient_batch(lambda x: np.sum(np.floor(x) * x), device="cuda")(X)
    except NotImplementedError as error:
        check("an op without GPU code is refused by name", "floor" in str(error))
    else:
        check("an op without GPU code is refused by name", False)
    try:
        nd.gradient_batch(lambda x: np.linalg.det(x.reshape(3, 1) * x), device="cuda")(X)
    except NotImplementedError as error:
        check("a tape the GPU cannot hold is refused", "device='cpu'" in str(error))
    else:
        check("a tape the GPU cannot hold is refused", False)


if __name__ == "__main__":
    main()
