"""Batches on the GPU: a tape's forward and reverse sweeps as ``numba.cuda`` kernels.

One thread sweeps one row. The tape is first written as a flat *scalar program*
(``tape_compiler.scalar_ops``: every elementwise entry, sum, concatenation and
indexing by constants as operations on single values, and the guards), four arrays
that live in device memory: opcode, result slot, operand slots. The values and the
adjoints of a chunk of rows are matrices ``slots x rows``, so that the threads of a
warp, sweeping neighbouring rows, read and write neighbouring addresses at every step
of the program. The forward sweep keeps only values; the reverse sweep recomputes each
operation's partials from its operands and result (the op table's formulas, generated
into ``numad/_generated/cuda_elementwise.py``), so no partials are stored.

A row where a guard's recorded decision goes the other way reports the guard, as the
CPU kernel does, and ``numad/batches.py`` answers it on its own path. Tapes the scalar
program cannot hold (loops of ``nd.scan``, custom rules, matrix products, sorting...)
and operations without a GPU formula (the special functions numba has no GPU code for)
are refused with an error naming them: ``device="cpu"`` runs every tape.

``numba-cuda`` is the optional extra ``cuda``. Without it, or without a GPU,
``device="cuda"`` raises an error that says so. ``NUMBA_ENABLE_CUDASIM=1`` runs the
kernels in numba's simulator (slow: a few rows, for tests).

GPU arithmetic: ``exp``, ``log`` and the others come from CUDA's math library, whose
last bit may differ from the CPU's, so rows agree with the CPU batch to rounding
(about 1e-15 relative per operation), not bit for bit.
"""
from __future__ import annotations

import os

import numpy as np

_DEVICES = ("cpu", "cuda")
# Device memory for one chunk of rows' values and adjoints (bytes): rows beyond it run
# in further chunks. ``NUMAD_CUDA_MEMORY`` changes it.
DEFAULT_MEMORY = 2 << 30


def simulated():
    """Whether numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1``)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def check_device(device, where):
    """Raise a clear error unless ``device`` is one numad can run a batch on here."""
    if device == "cpu":
        return
    if device != "cuda":
        raise ValueError(f"numad: {where}(device={device!r}): the devices are 'cpu' and "
                         "'cuda'")
    if not simulated():
        try:
            import numba_cuda  # noqa: F401
        except ImportError:
            raise ImportError(
                f"numad: {where}(device='cuda') needs numba's CUDA target, the optional "
                "extra 'cuda': pip install 'numad[cuda]' (numba-cuda). Without a GPU, use "
                "device='cpu', or set NUMBA_ENABLE_CUDASIM=1 before importing numba to "
                "run the kernels in numba's simulator") from None
    from numba import cuda
    if not cuda.is_available():
        raise RuntimeError(
            f"numad: {where}(device='cuda'): no CUDA GPU is available here "
            "(numba.cuda.is_available() is False); use device='cpu', which runs the rows "
            "on every core")
