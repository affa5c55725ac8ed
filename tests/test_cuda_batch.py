"""device="cuda": the GPU sweeps in numba's CUDA simulator (a subprocess, since the
simulator is chosen before numba is imported) against the CPU batch and closed forms;
a missing numba-cuda and a missing GPU are clear errors."""
import os
import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest

import numad as nd
from numad import cuda_batch

HERE = pathlib.Path(__file__).parent


def test_gpu_sweeps_in_the_simulator_match_the_cpu_batch():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    done = subprocess.run([sys.executable, str(HERE / "cuda_simulator_checks.py")], env=env,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok   ") == 9, done.stdout


def test_without_numba_cuda_device_cuda_says_what_to_install(monkeypatch):
    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM", raising=False)
    monkeypatch.setitem(sys.modules, "numba_cuda", None)   # (import fails)
    with pytest.raises(ImportError, match=r"pip install 'numad\[cuda\]'"):
        nd.gradient_batch(lambda x: np.sum(x ** 2), device="cuda")
    tape = nd.trace(lambda x: np.sum(x ** 2), np.ones(2))
    with pytest.raises(ImportError, match="numba-cuda"):
        tape.forward_batch(np.ones((3, 2)), device="cuda")


def test_without_a_gpu_device_cuda_says_so(monkeypatch):
    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM", raising=False)
    monkeypatch.setitem(sys.modules, "numba_cuda", types.ModuleType("numba_cuda"))
    from numba import cuda
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
        nd.value_and_gradient_batch(lambda x: np.sum(x ** 2), device="cuda")


def test_the_gpu_formulas_are_the_op_table_s():
    source = cuda_batch.device_source()
    compile(source, "numad_cuda_sweeps", "exec")
    from numad.optable import ELEMENTWISE_BY_NAME
    assert "math.exp(a)" in source and "math.atan2(a, b)" in source
    # every row with a GPU formula has its value and its partials there; the special
    # functions numba has no GPU code for are refused (Program says which)
    assert f"if o == {ELEMENTWISE_BY_NAME['exp'].opcode}:  # exp" in source
    assert "# digamma" not in source and "# floor" not in source


def test_the_gpu_check_script_runs_in_the_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    done = subprocess.run(
        [sys.executable, str(HERE.parent / "benchmarks" / "gpu_check.py"), "--paths", "48",
         "--steps", "6", "--cpu-paths", "48", "--check", "48"],
        env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr
