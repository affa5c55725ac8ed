"""Compiled tapes (numad/tape_compiler.py) against the generic sweeps they replace."""
import os
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import numad as nd
from numad import recording as R
from numad import tape_compiler as TC
from numad.optable import ELEMENTWISE
from test_core import rosen_loop
from test_elementwise import DOMAINS


@pytest.fixture(autouse=True)
def _tape_cache(tmp_path_factory, monkeypatch):
    """Compiled tapes of these tests go to a directory of the test session."""
    monkeypatch.setenv("NUMAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "tapes"))


def _interpreted_and_compiled(tape, *args):
    """(value, gradient) by the generic sweeps and by the tape's compiled code."""
    tape.compile_mode, tape.compiled = "never", None
    expected = tape.value_and_gradient(*args)
    tape.compiled = TC.compile_tape(tape)
    got = tape.value_and_gradient(*args)
    tape.compiled = None
    return expected, got


# ---- every row of the op table, in one tape ---------------------------------------------

def _all_rows_point(seed):
    """One input vector holding a point of every row's domain, and where each row's
    operands are in it."""
    rng = np.random.default_rng(seed)
    values, slots = [], {}
    for row in ELEMENTWISE:
        args = DOMAINS[row.name](rng, ())
        slots[row.name] = list(range(len(values), len(values) + len(args)))
        values += [float(a) for a in args]
    return np.array(values), slots


def _all_rows(x, slots):  # (slots: a setting, constant in the tape)
    total = 0.0
    for k, row in enumerate(ELEMENTWISE):
        y = R.elementwise(row.name, *[x[s] for s in slots[row.name]])
        total = total + (0.5 + 0.01 * k) * y
    return total


def test_every_row_compiles_to_the_interpreters_values_and_gradient_bit_for_bit():
    x, slots = _all_rows_point(0)
    tape = nd.trace(_all_rows, x, slots)
    assert TC.compilable(tape) is None
    for seed in (0, 1, 2):   # the recorded point and replays at new ones
        x, _ = _all_rows_point(seed)
        (v0, g0), (v1, g1) = _interpreted_and_compiled(tape, x, slots)
        assert v0 == v1
        assert np.array_equal(g0, g1)


# ---- random tapes -----------------------------------------------------------------------

_UNARY = ["sin", "cos", "tanh", "arctan", "square", "neg", "expit", "erf"]
_BINARY = ["add", "sub", "mul", "maximum", "minimum", "hypot", "arctan2"]


@st.composite
def programs(draw):
    n_inputs = draw(st.integers(1, 4))
    steps = []
    for k in range(draw(st.integers(1, 25))):
        pool = n_inputs + k
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(_UNARY)), draw(st.integers(0, pool - 1)), None))
        else:
            steps.append((draw(st.sampled_from(_BINARY)), draw(st.integers(0, pool - 1)),
                          draw(st.integers(0, pool - 1))))
    x = draw(st.lists(st.floats(-2.0, 2.0), min_size=n_inputs, max_size=n_inputs))
    return steps, np.array(x)


def _run(x, steps):
    vals = [x[i] for i in range(len(x))]
    for name, a, b in steps:
        operands = (vals[a],) if b is None else (vals[a], vals[b])
        vals.append(R.elementwise(name, *operands))
    return vals[-1] * 1.0 + 0.25 * vals[0] + vals[len(vals) // 2] * vals[-1]


@settings(max_examples=15, deadline=None)
@given(programs())
def test_random_tapes_compile_to_the_interpreters_answers(program):
    steps, x = program
    tape = nd.trace(_run, x, steps)
    (v0, g0), (v1, g1) = _interpreted_and_compiled(tape, x, steps)
    # common subexpressions share one adjoint, which may sum in another order
    assert v1 == v0
    np.testing.assert_allclose(g1, g0, rtol=1e-13, atol=1e-300)


def test_a_zero_adjoint_leaks_no_nan_partial_as_in_the_interpreter():
    # found by the test above: arctan2's partials are nan at (0, 0), and its adjoint
    # there is 0 (it is multiplied by x + x = 0): the generic sweep adds exactly 0
    def f(x):
        return (x[0] + x[0]) * 1.0 + 0.25 * x[0] + np.arctan2(x[0], x[0]) * (x[0] + x[0])
    x = np.array([0.0])
    tape = nd.trace(f, x)
    (v0, g0), (v1, g1) = _interpreted_and_compiled(tape, x)
    assert v0 == v1 and np.isfinite(g0).all() and np.array_equal(g0, g1)


# ---- guards --------------------------------------------------------------------------------

def branchy(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 0:
            s = s + np.sin(x[i]) * x[i]
        else:
            s = s - np.exp(x[i]) / (1.0 + x[i] * x[i])
    return s * s + max(x[0], x[1])


def branchy_gradient(x):
    s, ds = 0.0, np.zeros_like(x)
    for i, v in enumerate(x):
        if v > 0:
            s += np.sin(v) * v
            ds[i] = np.cos(v) * v + np.sin(v)
        else:
            q = 1.0 + v * v
            s -= np.exp(v) / q
            ds[i] = -(np.exp(v) * q - np.exp(v) * 2 * v) / q ** 2
    g = 2 * s * ds
    g[0 if x[0] > x[1] else 1] += 1.0
    return g


def test_a_changed_branch_is_caught_in_compiled_code():
    x = np.array([0.5, -0.3, 1.2])
    tape = nd.trace(branchy, x, compile="always")
    np.testing.assert_allclose(tape.gradient(x), branchy_gradient(x), rtol=1e-13)
    assert tape.compiled is not None
    with pytest.raises(nd.ControlFlowChanged):
        tape.gradient(np.array([0.5, 0.3, 1.2]))


def test_compiled_adapters_trace_again_where_a_branch_changes():
    jac = nd.gradient(branchy, compile="always")
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.uniform(-1.0, 1.0, 3)
        np.testing.assert_allclose(jac(x), branchy_gradient(x), rtol=1e-12, atol=1e-14)
    tapes = [t for ts in jac.cache.tapes.values() for t in ts]
    assert tapes and all(t.compiled is not None for t in tapes)


# ---- the adapters and the rule of "auto" ----------------------------------------------------

def test_scipy_minimize_with_a_compiled_gradient():
    from scipy.optimize import minimize, rosen, rosen_der
    x0 = np.linspace(-1.0, 0.5, 8)
    jac = nd.gradient(rosen_loop, compile="always")
    np.testing.assert_allclose(jac(x0), rosen_der(x0), rtol=1e-13)
    res = minimize(rosen, x0, jac=jac, method="BFGS")
    assert res.success and np.allclose(res.x, 1.0, atol=1e-4)
    vg = nd.value_and_gradient(rosen_loop, compile="always")
    value, g = vg(x0)
    assert value == pytest.approx(rosen(x0), rel=1e-14)
    np.testing.assert_allclose(g, rosen_der(x0), rtol=1e-13)


def test_compiled_gradient_with_args_as_scipy_passes_them():
    # minimize(f, x0, args=(data,), jac=...) calls jac(x, data): the adapter's general
    # path, which replays the compiled code too
    def weighted(x, w, c):
        s = 0.0
        for i in range(len(x)):
            s = s + w[i] * (x[i] - c) ** 2 + np.sin(x[i] * w[i])
        return s

    def exact(x, w, c):
        return 2.0 * w * (x - c) + np.cos(x * w) * w
    jac = nd.gradient(weighted, compile="always")
    rng = np.random.default_rng(5)
    for _ in range(5):
        x, w, c = rng.normal(size=4), rng.uniform(0.5, 2.0, 4), float(rng.normal())
        np.testing.assert_allclose(jac(x, w, c), exact(x, w, c), rtol=1e-13)
    (tape,) = [t for ts in jac.cache.tapes.values() for t in ts]
    assert tape.compiled is not None and jac.cache.traces == 1


def test_tapes_the_compiler_does_not_take_still_replay():
    def vectorized(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2) + 0.5 * (x @ x)
    from scipy.optimize import rosen_der
    jac = nd.gradient(vectorized, compile="always")
    x = np.linspace(-1.0, 0.5, 6)
    for _ in range(3):
        np.testing.assert_allclose(jac(x), rosen_der(x) + x, rtol=1e-13)
    (tape,) = [t for ts in jac.cache.tapes.values() for t in ts]
    assert tape.compiled is None and "matmul entries" in TC.compilable(tape)


def test_small_vectorized_tapes_compile_element_by_element():
    def vectorized(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    from scipy.optimize import rosen_der
    x = np.linspace(-1.0, 0.5, 13)
    tape = nd.trace(vectorized, x)
    assert TC.compilable(tape) is None
    for seed in range(3):
        x = np.random.default_rng(seed).normal(size=13)
        (v0, g0), (v1, g1) = _interpreted_and_compiled(tape, x)
        assert v0 == v1 and np.array_equal(g0, g1)
        np.testing.assert_allclose(g1, rosen_der(x), rtol=1e-13)


def test_auto_compiles_only_when_the_replays_repay_it(monkeypatch):
    x = np.linspace(-1.0, 0.5, 5)
    jac = nd.gradient(rosen_loop)        # nd.config.compile is "auto"
    for _ in range(8):
        jac(x)
    (tape,) = [t for ts in jac.cache.tapes.values() for t in ts]
    assert tape.compile_mode == "auto" and tape.compiled is None
    assert not TC.worth_compiling(tape, 8)   # seconds of compiling against microseconds
    # where compiling were free, the next power-of-two replay compiles it
    monkeypatch.setattr(TC, "COMPILE_COST", (0.0, 0.0))
    monkeypatch.setattr(TC, "LOAD_COST", 0.0)
    for _ in range(8):
        g = jac(x)
    assert tape.compiled is not None
    from scipy.optimize import rosen_der
    np.testing.assert_allclose(g, rosen_der(x), rtol=1e-13)


def test_never_keeps_the_generic_sweeps():
    x = np.linspace(-1.0, 0.5, 5)
    jac = nd.gradient(rosen_loop, compile="never")
    for _ in range(4):
        jac(x)
    (tape,) = [t for ts in jac.cache.tapes.values() for t in ts]
    assert tape.compiled is None


@pytest.mark.parametrize("make", [
    lambda c: nd.gradient(rosen_loop, compile=c),
    lambda c: nd.value_and_gradient(rosen_loop, compile=c),
    lambda c: nd.jacobian(rosen_loop, compile=c),
    lambda c: nd.hessian(rosen_loop, compile=c),
    lambda c: nd.hvp(rosen_loop, compile=c),
    lambda c: nd.trace(rosen_loop, np.ones(3), compile=c),
    lambda c: nd.scan(lambda a, b: (a + b, None), 0.0, np.ones(3), compile=c),
    lambda c: nd.odeint(lambda y, t: -y, np.ones(1), np.linspace(0, 1, 3), compile=c),
])
def test_every_transformation_takes_compile_and_refuses_a_bad_value(make):
    for mode in ("auto", "always", "never"):
        make(mode)
    with pytest.raises(ValueError, match="compile="):
        make("sometimes")


def test_config_compile_is_the_default():
    old = nd.config.compile
    try:
        nd.config.compile = "never"
        tape = nd.trace(rosen_loop, np.ones(3))
        assert tape.compile_mode == "never"
        with pytest.raises(ValueError, match="compile="):
            nd.config.compile = "yes"
    finally:
        nd.config.compile = old


def test_threads_share_one_compiled_tape():
    from scipy.optimize import rosen_der
    jac = nd.gradient(rosen_loop, compile="always")
    jac(np.zeros(6))
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        for _ in range(200):
            x = rng.uniform(-1, 1, 6)
            if not np.allclose(jac(x), rosen_der(x), rtol=1e-12):
                errors.append(seed)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# ---- the cache on disk -----------------------------------------------------------------------

_SECOND_PROCESS = textwrap.dedent("""
    import sys, numpy as np, numad as nd
    from numad import tape_compiler as TC
    def rosen_loop(x):
        s = 0.0
        for i in range(len(x) - 1):
            s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
        return s
    x = np.linspace(-1.0, 0.5, 7)
    tape = nd.trace(rosen_loop, x)
    print(TC.is_cached(tape))
    tape.compiled = TC.compile_tape(tape)
    print(repr(tape.gradient(x).tolist()))
""")


def test_a_second_process_loads_the_compiled_tape_from_disk(tmp_path):
    env = dict(os.environ, NUMAD_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", _SECOND_PROCESS], env=env,
                           capture_output=True, text=True, check=True).stdout.split("\n")
            for _ in range(2)]
    assert runs[0][0] == "False" and runs[1][0] == "True"
    assert runs[0][1] == runs[1][1]
    from scipy.optimize import rosen_der
    np.testing.assert_allclose(eval(runs[1][1]), rosen_der(np.linspace(-1.0, 0.5, 7)),
                               rtol=1e-13)


def test_an_unwritable_cache_directory_compiles_in_memory_and_says_so_once(monkeypatch):
    for name in ("NUMAD_CACHE_DIR", "NUMBA_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/numad-cannot-write-here")
    monkeypatch.setenv("HOME", "/proc/numad-cannot-write-here")
    monkeypatch.setattr(TC, "_WARNED", [])
    monkeypatch.setattr(TC, "_LOADED", {})
    assert TC.cache_directory() is None
    x = np.linspace(-1.0, 0.5, 4)
    with pytest.warns(RuntimeWarning, match="in memory"):
        tape = nd.trace(rosen_loop, x, compile="always")
        g = tape.gradient(x)
    from scipy.optimize import rosen_der
    np.testing.assert_allclose(g, rosen_der(x), rtol=1e-13)
    assert tape.compiled is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tape2 = nd.trace(branchy, x, compile="always")   # a second tape: no second warning
        tape2.gradient(x)


# ---- Hessian-vector products ----------------------------------------------------------------

def test_compiled_hvp_gives_the_generic_sweeps_numbers_and_scipys():
    from scipy.optimize import rosen_hess_prod
    rng = np.random.default_rng(3)
    x0 = rng.normal(size=9)
    generic = nd.hvp(rosen_loop, compile="never")
    compiled = nd.hvp(rosen_loop, compile="always")
    for _ in range(4):
        x, p = rng.normal(size=9), rng.normal(size=9)
        h0, h1 = generic(x, p), compiled(x, p)
        assert np.array_equal(h0, h1)
        np.testing.assert_allclose(h1, rosen_hess_prod(x, p), rtol=1e-12)
        assert np.array_equal(compiled(x, 2 * p), generic(x, 2 * p))   # (same point)
    (tape,) = [t for ts in compiled.cache.tapes.values() for t in ts]
    assert tape.compiled_hvp is not None


def test_compiled_hvp_of_every_row_and_of_args():
    x, slots = _all_rows_point(0)
    p = np.random.default_rng(1).normal(size=x.size)
    h0 = nd.hvp(_all_rows, compile="never")(x, p, slots)
    compiled = nd.hvp(_all_rows, compile="always")
    h1 = compiled(x, p, slots)
    (tape,) = [t for ts in compiled.cache.tapes.values() for t in ts]
    assert tape.compiled_hvp is not None
    np.testing.assert_allclose(h1, h0, rtol=1e-13, atol=1e-300)
    assert np.array_equal(h1, h0)


@settings(max_examples=15, deadline=None)
@given(programs(), st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4))
def test_random_tapes_compile_their_hvp_to_the_interpreters_answers(program, direction):
    steps, x = program
    p = np.array(direction[:x.size])
    tape = nd.trace(_run, x, steps)
    tape.forward()
    (e,) = tape.input_entries
    o, n = tape.off[e], tape.size[e]
    h0 = tape.hvp_loaded(tape.output_entries[0], [(e, p)])[o:o + n].copy()
    tape.compile_mode = "always"
    h1 = tape.hvp_loaded(tape.output_entries[0], [(e, p)])[o:o + n].copy()
    assert tape.compiled_hvp is not None
    # common subexpressions share one adjoint, which may sum in another order
    np.testing.assert_allclose(h1, h0, rtol=1e-12, atol=1e-300)


def test_a_changed_branch_in_a_compiled_hvp_traces_again():
    generic = nd.hvp(branchy, compile="never")
    compiled = nd.hvp(branchy, compile="always")
    rng = np.random.default_rng(5)
    p = rng.normal(size=5)
    for _ in range(6):   # the signs, and so the branches, change from point to point
        x = rng.normal(size=5)
        np.testing.assert_allclose(compiled(x, p), generic(x, p), rtol=1e-13)
    assert compiled.cache.traces > 1


# ---- the tangent sweep (forward mode) --------------------------------------------------

def _all_rows_vector(x, slots):
    return nd.stack([R.elementwise(row.name, *[x[s] for s in slots[row.name]])
                     for row in ELEMENTWISE])


def test_compiled_tangent_sweep_is_the_generic_one_bit_for_bit_on_every_row():
    x, slots = _all_rows_point(3)
    generic = nd.trace(lambda x: _all_rows_vector(x, slots), x, compile="never")
    compiled = nd.trace(lambda x: _all_rows_vector(x, slots), x, compile="always")
    v = np.cos(np.arange(x.size))
    for seed in (3, 4):
        x, _ = _all_rows_point(seed)
        J0, J1 = generic.jacobian(x), compiled.jacobian(x)
        np.testing.assert_array_equal(J1, J0)
        np.testing.assert_array_equal(compiled.jvp(x, v)[1], generic.jvp(x, v)[1])
    assert compiled.compiled_tangent is not None and generic.compiled_tangent is None


@settings(max_examples=10, deadline=None)
@given(programs())
def test_random_tapes_compile_their_tangent_sweep_to_the_interpreters_answers(program):
    steps, x = program
    v = np.linspace(-1.0, 1.0, x.size)
    generic = nd.trace(lambda x: _run(x, steps), x, compile="never")
    compiled = nd.trace(lambda x: _run(x, steps), x, compile="always")
    np.testing.assert_array_equal(compiled.jvp(x, v), generic.jvp(x, v))   # (nan == nan)
    assert compiled.compiled_tangent is not None


def _residuals(x):   # Rosenbrock's as least squares: r = 10 (x[i+1] - x[i]^2), 1 - x[i]
    return nd.stack([10.0 * (x[i + 1] - x[i] ** 2) for i in range(len(x) - 1)]
                    + [1.0 - x[i] for i in range(len(x) - 1)])


def test_compiled_forward_jacobian_and_hessian_against_closed_forms():
    from scipy.optimize import rosen_hess
    n = 12
    x = np.linspace(-1.2, 1.2, n)
    J = nd.jacobian(_residuals, mode="forward", compile="always")
    H = nd.hessian(rosen_loop, compile="always")
    for k in range(3):
        z = x + 0.1 * k
        want = np.zeros((2 * (n - 1), n))
        i = np.arange(n - 1)
        want[i, i], want[i, i + 1], want[n - 1 + i, i] = -20.0 * z[:-1], 10.0, -1.0
        np.testing.assert_allclose(J(z), want, rtol=1e-15)
        np.testing.assert_allclose(H(z), rosen_hess(z), rtol=1e-13)
    (tape,) = [t for ts in J.cache.tapes.values() for t in ts]
    assert tape.compiled_tangent is not None
