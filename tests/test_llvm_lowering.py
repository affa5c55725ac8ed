"""numad/llvm_lowering.py: tape code lowered to LLVM by numad, against numba's front end
and the generic sweeps."""
import math

import numpy as np
import pytest

import numad as nd
from numad import llvm_lowering as L
from numad import tape_compiler as TC
from test_compiled_tapes import _all_rows, _all_rows_point, _interpreted_and_compiled


@pytest.fixture(autouse=True)
def _tape_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NUMAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "lowered"))


NAMES = {"np": np, "math": math}


def _mix(n, seed=3):
    """A function of 8 inputs recording about ``n`` distinct scalar operations (no loop
    that rerolling could roll up: each step's operation and operands are drawn)."""
    rng = np.random.default_rng(seed)
    steps = [(int(rng.integers(6)), int(rng.integers(8)), int(rng.integers(8)))
             for _ in range(n)]

    def mix(x):
        p = [x[k] for k in range(8)]
        for code, i, j in steps:
            a, b = p[i], p[j]
            if code == 0:
                p[i] = a + 0.3 * np.sin(b)
            elif code == 1:
                p[i] = a * (1.0 + 0.1 * np.tanh(b))
            elif code == 2:
                p[i] = a - 0.2 * b / (1.0 + b * b)
            elif code == 3:
                p[i] = 0.9 * a + 0.1 * np.sqrt(b * b + 1.0)
            elif code == 4:   # (abs: a kink, a partial that varies)
                p[i] = a + 0.05 * np.log1p(np.exp(-np.abs(b)))
            else:
                p[i] = np.tanh(a) + 0.5 * a
        s = p[0]
        for k in range(1, 8):
            s = s + p[k]
        return s
    return mix


def test_every_row_lowered_gives_numbas_code_and_the_interpreters_numbers_bit_for_bit(
        monkeypatch):
    x, slots = _all_rows_point(5)
    tape = nd.trace(_all_rows, x, slots, compile="never")
    expected, lowered = _interpreted_and_compiled(tape, x, slots)
    assert "lowered(" in TC._lowered(TC._module_text(TC.source(tape)))
    monkeypatch.setattr(TC, "_LOWER", False)
    _, by_numba = _interpreted_and_compiled(tape, x, slots)
    assert lowered[0] == expected[0] == by_numba[0]
    np.testing.assert_array_equal(lowered[1], expected[1])
    np.testing.assert_array_equal(lowered[1], by_numba[1])


@pytest.mark.filterwarnings("ignore:numad. mix reaches more than")
def test_a_long_tape_without_loops_compiles_and_matches_the_generic_sweeps():
    # distinct operations past what numba's front end was given (2500), compiled in a
    # few seconds lowered
    f = _mix(1000)
    x = np.linspace(-0.9, 1.3, 8)
    tape = nd.trace(f, x, compile="never")
    assert TC.compilable(tape) is None and TC._scalar_count(tape, 0, len(tape)) > 2500
    (value, grad), (value_c, grad_c) = _interpreted_and_compiled(tape, x)
    # (identical operations share their adjoint: contributions add in another order)
    np.testing.assert_allclose(value_c, value, rtol=1e-14)
    np.testing.assert_allclose(grad_c, grad, rtol=1e-12)
    assert np.abs(grad).max() > 1e-3
    h = 1e-6 * np.eye(8)   # (and an independent check of the gradient itself)
    fd = np.array([(f(x + h[k]) - f(x - h[k])) / 2e-6 for k in range(8)])
    np.testing.assert_allclose(grad_c, fd, rtol=1e-6, atol=1e-7)


def test_a_guard_in_lowered_code_returns_its_index():
    def f(x):
        return x[0] * x[1] if x[0] > x[1] else x[0] - np.exp(x[1])
    tape = nd.trace(f, np.array([2.0, 1.0]), compile="always")
    np.testing.assert_allclose(tape.gradient(np.array([3.0, 0.5])), [0.5, 3.0])
    assert tape.compiled is not None
    with pytest.raises(nd.ControlFlowChanged):
        tape.gradient(np.array([0.5, 3.0]))


def test_lowerable_says_what_it_does_not_lower():
    assert L.lowerable("def f(vals, adj, value):\n    return -1\n", NAMES) is None
    cases = {
        "def f(vals, adj, value):\n    while value:\n        pass\n    return -1\n": "while value",
        "def f(vals, other):\n    return -1\n": "parameter 'other'",
        "def f(vals, adj, value):\n    v = vals[0] + q\n    return -1\n": "'q'",
        "def f(vals, adj, value):\n    adj[0] = vals[0]\n": "return",
        "def f(vals, adj, value):\n    v = vals[1:3]\n    return -1\n": "1:3",
        "def f(vals, adj, value):\n    return vals[0]\n": "return of a f",
    }
    for text, why in cases.items():
        said = L.lowerable(text, NAMES)
        assert said is not None and why in said, (text, said)


def test_a_module_that_is_not_lowerable_keeps_numbas_text():
    text = TC._module_text("def f(vals, adj, value):\n    while value:\n        pass\n"
                           "    return -1\n")
    assert TC._lowered(text) == text


def test_loops_branches_and_slices_lower_as_python_runs_them():
    text = ("def f(vals, adj, value):\n"
            "    s = vals[0]\n"
            "    adj[2:6] = 0.5\n"
            "    for k in range(4):\n"
            "        s = s * 2.0 + vals[1 + 1 * k]\n"
            "        if s > 100.0:\n"
            "            s = s - 100.0\n"
            "        else:\n"
            "            s = s + 1.0\n"
            "    for k in range(3, -1, -1):\n"
            "        adj[2 + k] += s * k\n"
            "    bad = s != s\n"
            "    if bad:\n"
            "        return -2\n"
            "    vals[9] = select(value, s, -s)\n"
            "    adj[0] = times(0.0, np.inf) + np.sin(s) + math.erf(0.5) + s ** 2\n"
            "    return -1\n")
    assert L.lowerable(text, NAMES) is None
    module = TC._lowered(TC._module_text(text))
    assert "lowered(" in module
    space = {}
    exec(compile(module.replace("cache=True", "cache=False"), "lowered_test", "exec"), space)

    def select(c, a, b):
        return a if c else b

    def times(g, d):
        return g * d if g != 0.0 else 0.0
    python = dict(NAMES, select=select, times=times)
    exec(text, python)
    for value in (True, False):
        got_vals, got_adj = np.arange(10.0) * 7.3, np.zeros(8)
        want_vals, want_adj = got_vals.copy(), got_adj.copy()
        assert space["f"](got_vals, got_adj, value) == python["f"](want_vals, want_adj,
                                                                     value) == -1
        np.testing.assert_array_equal(got_vals, want_vals)
        np.testing.assert_array_equal(got_adj, want_adj)
    nan = np.full(10, np.nan)
    assert space["f"](nan, np.zeros(8), True) == -2


def test_arrays_that_are_not_contiguous_are_read_through_their_stride():
    text = ("def f(vals, adj, value):\n"
            "    adj[1] = vals[0] + 10.0 * vals[2]\n"
            "    adj[0:1] = -1.0\n"
            "    return -1\n")
    space = {}
    exec(compile(TC._lowered(TC._module_text(text)).replace("cache=True", "cache=False"),
                 "strided_test", "exec"), space)
    vals, adj = np.arange(12.0)[::3], np.zeros(8)[::2]   # (0, 3, 6, 9) and every other
    assert space["f"](vals, adj, True) == -1
    np.testing.assert_array_equal(adj, [-1.0, 60.0, 0.0, 0.0])


def test_a_fresh_process_lowers_operators_numba_types():
    # (numba's typing context knows the operators only once refreshed: a check that
    # asked it first, in a fresh process, found none, and numba's front end would have
    # compiled the tape instead, slowly but silently)
    import subprocess
    import sys
    script = ("from numad import llvm_lowering as L\n"
              "print(L.lowerable('def f(vals, adj, value):\\n    v = -vals[0]\\n'\n"
              "                  '    w = -(v ** 3) % 2.0\\n    return -1\\n', {}))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "None"


def test_a_lowering_that_fails_to_compile_falls_back_to_numbas_front_end(monkeypatch,
                                                                            tmp_path):
    # (numad's lowering uses numba's internals, which a later numba may change: the
    # check may pass and the compilation fail; the tape must still be compiled right)
    monkeypatch.setenv("NUMAD_CACHE_DIR", str(tmp_path))
    real_run = L._Lowering.run

    def run(self):
        if self.builder is not None:
            raise RuntimeError("a numba this lowering does not know")
        return real_run(self)
    monkeypatch.setattr(L._Lowering, "run", run)
    monkeypatch.setattr(TC, "_WARNED_LOWERING", [])
    f = lambda x: np.sin(x[0]) * x[1] ** 3   # noqa: E731
    x = np.array([0.7, 1.3])
    tape = nd.trace(f, x, compile="never")
    with pytest.warns(RuntimeWarning, match="numba compiles them itself"):
        fn = TC.compile_tape(tape)
    # (numba's own text, not the lowered wrapper)
    assert "_value_and_gradient_text" not in fn.py_func.__globals__
    tape.compiled = fn
    np.testing.assert_allclose(tape.gradient(x), [np.cos(0.7) * 1.3 ** 3,
                                                  3 * np.sin(0.7) * 1.3 ** 2], rtol=1e-14)
