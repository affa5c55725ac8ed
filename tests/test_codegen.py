"""The generated kernels and numba's disk cache of them.

The kernels are written from the op table into numad/_generated/ (tests/test_core.py
checks that they are current); numba caches each compiled kernel with its callees
linked in, so an edit to any kernel source must make every cached numad kernel stale
(numad/_cache.py). The cache tests run numad copies in fresh subprocesses: what a user
sees after pulling a change to the generated code (or to a hand-written callee).
"""
import ast
import dataclasses
import importlib
import inspect
import json
import math
import os
import pathlib
import pkgutil
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from numba.core.dispatcher import Dispatcher

import numad
from numad import _cache, _codegen, optable, structural_kernels

NUMAD = pathlib.Path(numad.__file__).resolve().parent


def _numad_kernels():
    """Every cached @njit dispatcher defined in a numad module."""
    found = {}
    for info in pkgutil.walk_packages([str(NUMAD)], "numad."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, Dispatcher) and value.py_func.__module__ == info.name:
                found[f"{info.name}.{value.py_func.__name__}"] = value
    return found


def test_every_numad_kernel_is_cached_under_the_stamp_of_all_kernel_sources():
    kernels = _numad_kernels()
    assert "numad.kernels.reverse_sweep" in kernels
    assert "numad._generated.sweeps.forward_sweep" in kernels
    sources = set(_cache.kernel_sources())
    for name, d in kernels.items():
        locator = d._cache._impl.locator
        assert isinstance(locator, _cache.NumadCacheLocator), \
            f"{name} was defined before numad._cache was imported: numba's own locator " \
            f"keys it on its own file only"
        assert locator.get_source_stamp() == _cache.source_stamp()
        assert pathlib.Path(d.py_func.__code__.co_filename).resolve() in sources, name
    assert NUMAD / "optable.py" in sources
    assert NUMAD / "_generated" / "elementwise.py" in sources
    assert NUMAD / "tracer.py" not in sources  # pure Python: its edits keep the cache


def test_generated_files_carry_the_header_naming_their_generator():
    for name, text in _codegen.generated_files().items():
        assert text.startswith(_codegen.HEADER + "\n"), name


def test_second_order_chain_rule_comes_from_the_op_table():
    # d/da exp(2a) is exp's own partial, y, at y = exp(2a), times 2; log's is 1 / a
    for expr, a, want in (("exp(2.0 * a)", 0.3, 2.0 * math.exp(0.6)),
                          ("log(a * a)", 1.5, 2.0 / 1.5), ("cosh(a)", 0.4, math.sinh(0.4))):
        d = _codegen._d(ast.parse(expr, mode="eval").body, "a")
        assert eval(_codegen.kernel_expression(d), {"np": np, "a": a}) == pytest.approx(want)
    assert _codegen._row_of_function("rint").name == "round"
    assert _codegen.partial_tangent("sign(a)") == "0.0"            # a step: zero slope
    with pytest.raises(ValueError, match="'lambertw'.*no row"):
        _codegen.partial_tangent("lambertw(a)")


def test_every_kernel_a_structural_row_names_exists_with_its_sweeps_signature():
    markers = (optable.NOTHING, optable.OUTSIDE, optable.LINEAR, optable.UNSUPPORTED)
    for row in optable.STRUCTURAL:
        for sweep in optable.SWEEPS:
            name = getattr(row, sweep)
            if name in markers:
                continue
            kernel = getattr(structural_kernels, name).py_func
            assert ", ".join(inspect.signature(kernel).parameters) == \
                _codegen._DISPATCH[sweep][1], (row.name, sweep)


def test_a_row_naming_a_missing_kernel_is_refused_when_generating(monkeypatch):
    where = optable.STRUCTURAL_BY_NAME["where"]
    rows = [dataclasses.replace(where, reverse="reverse_nowhere") if r is where else r
            for r in optable.STRUCTURAL]
    monkeypatch.setattr(_codegen, "STRUCTURAL", rows)
    with pytest.raises(ValueError, match="reverse kernel 'reverse_nowhere'.*'where'"):
        _codegen.generated_files()


# ---- the disk cache, in fresh processes ---------------------------------------------------

PROBE = r"""
import json, sys
import numpy as np
import numad.kernels as K
import numad.scan_kernels as SK
from numad.checkpoint import binomial_buffers
assert K.__file__.startswith(sys.argv[1]), K.__file__
gen, stack, pending = binomial_buffers(2, 5)
SK._start(True, 5, 2, gen, stack, pending)
out = {"probe": K._probe_select(2.0), "paths": [K._probe_select.stats.cache_path]}
for name, d in (("probe", K._probe_select), ("start", SK._start)):
    out[name + "_hits"] = sum(d.stats.cache_hits.values())
    out[name + "_misses"] = sum(d.stats.cache_misses.values())
print(json.dumps(out))
"""

# A cached kernel of kernels.py whose callee, select, lives in a generated file (the
# real callers of generated code, the sweeps, take a minute to compile).
CALLER = '''

@njit(cache=True)
def _probe_select(x):
    return select(x > 0.0, x, -x)
'''


def _copy_numad(root):
    shutil.copytree(NUMAD, root / "numad", ignore=shutil.ignore_patterns("__pycache__"))
    return root / "numad"


def _run(root, env_changes, code=PROBE):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    env.update(PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1", **env_changes)
    done = subprocess.run([sys.executable, "-c", code, str(root)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_edited_callee_in_another_file_recompiles_its_cached_callers(tmp_path):
    pkg = _copy_numad(tmp_path)
    with open(pkg / "kernels.py", "a") as f:
        f.write(CALLER)
    first = _run(tmp_path, {})
    assert first["probe"] == 2.0 and first["probe_misses"] == 1
    assert first["paths"][0].startswith(str(pkg))      # the in-tree __pycache__
    again = _run(tmp_path, {})
    assert again["probe_hits"] == 1 and again["start_hits"] == 1   # the cache is used
    assert again["probe_misses"] == 0 and again["start_misses"] == 0

    # a generated callee changes: its caller in kernels.py must not run the old one
    generated = pkg / "_generated" / "elementwise.py"
    text = generated.read_text()
    assert "    return x if c else y\n" in text
    generated.write_text(text.replace("    return x if c else y\n", "    return y if c else x\n"))
    # and a hand-written one (scan_kernels._start calls checkpoint.binomial_start)
    with open(pkg / "checkpoint.py", "a") as f:
        f.write("# edited\n")
    edited = _run(tmp_path, {})
    assert edited["probe"] == -2.0, "a cached kernel ran the generated callee's old code"
    assert edited["probe_misses"] == 1 and edited["start_misses"] == 1


def test_numad_imports_and_runs_where_no_cache_directory_is_writable(tmp_path):
    pkg = _copy_numad(tmp_path)
    # (files where numba wants directories: unwritable even for root)
    for where in (pkg, pkg / "_generated"):
        (where / "__pycache__").write_text("")
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    env = {"HOME": str(blocked / "home"), "XDG_CACHE_HOME": str(blocked / "cache")}
    with open(pkg / "kernels.py", "a") as f:
        f.write(CALLER)
    # numba alone cannot cache there: importing a cache=True function raises
    other = tmp_path / "other"
    other.mkdir()
    (other / "__pycache__").write_text("")
    (other / "plain.py").write_text("from numba import njit\n\n@njit(cache=True)\n"
                                    "def f(x):\n    return x\n")
    premise = subprocess.run([sys.executable, "-c", "import plain"], cwd=other,
                             env=dict(os.environ, PYTHONPATH=str(other), **env),
                             capture_output=True, text=True)
    assert "cannot cache function" in premise.stderr

    out = _run(tmp_path, env)
    assert out["probe"] == 2.0
    private = pathlib.Path(out["paths"][0])
    assert private.is_relative_to(tempfile.gettempdir()) and not private.exists()
    assert "numad-numba-cache-" in str(private)
