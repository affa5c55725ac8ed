"""Fused array loops (numad/fusion.py): vectorized tapes compiled as a few loops, against
the generic sweeps (bit for bit) and independent oracles."""
import os
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import rosen, rosen_der
from scipy.special import ndtr

import numad as nd
from numad import recording as R
from numad import tape_compiler as TC
from numad.optable import ELEMENTWISE, NUMPY_LOOP_MIN, NUMPY_LOOP_ROWS
from test_elementwise import DOMAINS

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.compare_fused import make_network  # noqa: E402

N = 100   # (at least fusion.FUSE_MIN: the tapes below take the fused path)


@pytest.fixture(autouse=True)
def _tape_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NUMAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "tapes"))


def _both(f, *args):
    """(value, gradients) of ``f`` at ``args`` by the generic sweeps and by the fused
    code, checking that the tape took the fused path."""
    tape = nd.trace(f, *args)
    assert TC._choice(tape)[0] == "fused", TC.compilable(tape)
    tape.compile_mode, tape.compiled = "never", None
    expected = tape.value_and_gradient(*args)
    tape.compiled = TC.compile_tape(tape)
    got = tape.value_and_gradient(*args)
    return expected, got


def _assert_bitwise(expected, got):
    (v0, g0), (v1, g1) = expected, got
    assert v0 == v1 or (np.isnan(v0) and np.isnan(v1))
    np.testing.assert_array_equal(g1, g0)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


@pytest.mark.parametrize("n", [65, 100, 1003, 100_000])
def test_vectorized_rosenbrock_fuses_and_matches_scipy(n):
    x = np.random.default_rng(n).normal(size=n)
    expected, got = _both(rosenbrock, x)
    _assert_bitwise(expected, got)
    np.testing.assert_allclose(got[0], rosen(x), rtol=1e-13)
    np.testing.assert_allclose(got[1], rosen_der(x), rtol=1e-12, atol=1e-12)


def test_every_elementwise_row_fuses_bit_for_bit():
    rng = np.random.default_rng(0)
    parts, spans = [], {}
    for row in ELEMENTWISE:
        args = DOMAINS[row.name](rng, (N,))
        spans[row.name] = [(sum(p.size for p in parts) + k * N) for k in range(len(args))]
        parts += [np.asarray(a, dtype=float) for a in args]
    x = np.concatenate(parts)

    def every_row(x):   # operands are windows x[s:s+N] of the one input
        total = 0.0
        for k, row in enumerate(ELEMENTWISE):
            y = R.elementwise(row.name, *[x[s:s + N] for s in spans[row.name]])
            total = total + (0.5 + 0.01 * k) * np.sum(y)
        return total

    _assert_bitwise(*_both(every_row, x))


def test_long_arrays_take_numpys_loops_in_the_generic_and_the_fused_code_alike():
    # from NUMPY_LOOP_MIN elements on, these rows' values are NumPy's own (SIMD) loop
    # in the generic forward sweep and in fused code: a replay gives the ufunc's numbers
    # to the last bit (the oracle is NumPy itself, which libm's per-element calls
    # would miss by an ulp or so), and fused and generic gradients agree bit for bit
    n, rng = NUMPY_LOOP_MIN, np.random.default_rng(4)
    names = sorted(NUMPY_LOOP_ROWS)
    points = [np.concatenate([DOMAINS[name](rng, (n,))[0] for name in names])
              for _ in range(2)]

    def every_row(x):
        return [R.elementwise(name, x[k * n:(k + 1) * n]) for k, name in enumerate(names)]

    tape = nd.trace(every_row, points[0])
    tape.compile_mode, tape.compiled = "never", None
    for k, (name, got) in enumerate(zip(names, tape(points[1]))):
        row = next(r for r in ELEMENTWISE if r.name == name)
        np.testing.assert_array_equal(got, row.numpy(points[1][k * n:(k + 1) * n]),
                                      err_msg=name)

    def weighted(x):
        return sum((0.5 + 0.01 * k) * np.sum(y * y) for k, y in enumerate(every_row(x)))

    _assert_bitwise(*_both(weighted, points[1]))


def test_numpys_loops_give_a_quiet_nan_outside_the_domain_as_the_kernels_do():
    x = np.linspace(-1.0, 1.0, 2 * NUMPY_LOOP_MIN)   # log of negative numbers and of 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mode in ("never", "always"):
            v, g = nd.value_and_gradient(lambda x: np.sum(np.log(x) * 0.0 + x), compile=mode)(x)
            assert np.isnan(v) and np.isnan(nd.trace(np.log, x)(x)).any()


def test_black_scholes_greeks_against_the_closed_form():
    rng = np.random.default_rng(1)
    S, sigma, r = rng.uniform(80, 120, 500), rng.uniform(0.1, 0.4, 500), rng.uniform(0, 0.05, 500)
    K, T = 100.0, 1.5

    def price(S, sigma, r):
        d1 = (np.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * np.sqrt(T))
        d2 = d1 - sigma * np.sqrt(T)
        return np.sum(S * ndtr(d1) - K * np.exp(-r * T) * ndtr(d2))

    expected, got = _both(price, S, sigma, r)
    _assert_bitwise(expected, got)
    d1 = (np.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * np.sqrt(T))
    np.testing.assert_allclose(got[1], ndtr(d1), rtol=1e-12)          # delta
    g = nd.grad(price, argnums=(0, 1, 2))(S, sigma, r)
    d2 = d1 - sigma * np.sqrt(T)
    np.testing.assert_allclose(g[1], S * np.sqrt(T) * np.exp(-d1 ** 2 / 2) / np.sqrt(2 * np.pi),
                               rtol=1e-11)                              # vega
    np.testing.assert_allclose(g[2], K * T * np.exp(-r * T) * ndtr(d2), rtol=1e-11)   # rho


def test_chains_that_read_each_other_through_sums_slices_and_scalars():
    def normalized(x, a):
        y = np.exp(0.1 * x)                 # a chain,
        s = np.sum(y)                       # its sum: a scalar statement reads it
        z = y[1:] * y[:-1] / s              # windows of a chain's value: stored, then read
        w = np.tanh(a * z) + a ** 2         # a traced scalar broadcast into a chain
        return np.log(np.sum(w * w)) + s * a

    x = np.random.default_rng(2).normal(size=N)
    a = 0.7
    expected, got = _both(normalized, x, a)
    (v0, g0), (v1, g1) = expected, got
    assert v0 == v1
    np.testing.assert_array_equal(g1, g0)
    # the broadcast scalar's adjoint may take its contributions in another order
    ga = nd.grad(normalized, argnums=1)
    ga_fused = ga(x, a)
    tape = nd.trace(normalized, x, a, compile="never")
    h = 1e-6
    fd = (tape(x, a + h) - tape(x, a - h)) / (2 * h)
    np.testing.assert_allclose(ga_fused, fd, rtol=1e-7)
    np.testing.assert_allclose(nd.gradient(lambda x: normalized(x, a), compile="always")(x),
                               g0, rtol=0, atol=0)


def test_where_maximum_and_clip_fuse_against_their_closed_forms():
    def losses(x, t):
        r = x - t
        huber = np.where(np.abs(r) <= 1.0, 0.5 * r ** 2, np.abs(r) - 0.5)
        relu = np.maximum(x, 0.0)
        return np.sum(huber) + np.sum(relu ** 2) + np.sum(np.clip(x, -0.5, 0.5) ** 3)

    rng = np.random.default_rng(9)
    x, t = rng.uniform(-3, 3, N), rng.uniform(-1, 1, N)
    expected, got = _both(losses, x, t)
    _assert_bitwise(expected, got)
    r = x - t
    want = (np.where(np.abs(r) <= 1.0, r, np.sign(r)) + 2 * np.maximum(x, 0.0)
            + np.where(np.abs(x) < 0.5, 3 * x ** 2, 0.0))
    np.testing.assert_allclose(got[1], want, rtol=1e-14, atol=1e-15)


def test_a_guard_in_fused_code_is_caught_and_the_adapter_traces_again():
    def branchy(x):
        if np.sum(x) > 0:
            return np.sum(x ** 2)
        return np.sum(np.sin(x))

    x = np.linspace(0.0, 1.0, N)
    tape = nd.trace(branchy, x, compile="always")
    tape.gradient(x)
    assert tape.compiled is not None and TC._choice(tape)[0] == "fused"
    with pytest.raises(nd.ControlFlowChanged):
        tape.gradient(-x)
    jac = nd.gradient(branchy, compile="always")
    np.testing.assert_allclose(jac(x), 2 * x, rtol=1e-15)
    np.testing.assert_allclose(jac(-x), np.cos(-x), rtol=1e-15)


def test_an_inf_on_the_way_gives_the_generic_sweeps_zero_not_nan():
    # 0 * x**2 at x = inf: the adjoint reaching x**2 is 0 and its partial 2x is inf;
    # the generic sweeps make 0 * inf exactly 0, and so does the fused code (it hands
    # such a point to them)
    def f(x):
        return np.sum(0.0 * x ** 2 + x)

    x = np.ones(N)
    x[3] = np.inf
    (v0, g0), (v1, g1) = _both(f, x)
    np.testing.assert_array_equal(g1, g0)
    np.testing.assert_array_equal(g1, np.ones(N))


def test_value_and_gradient_and_gradient_agree_where_the_value_is_skipped():
    x = np.random.default_rng(3).normal(size=1000)
    vg = nd.value_and_gradient(rosenbrock, compile="always")
    g = nd.gradient(rosenbrock, compile="always")
    for k in range(3):
        v, g1 = vg(x + k)
        g2 = g(x + k)
        np.testing.assert_array_equal(g1, g2)
        np.testing.assert_allclose(v, rosen(x + k), rtol=1e-13)
    (tape,) = [t for ts in g.cache.tapes.values() for t in ts]
    assert tape.compiled is not None


def test_hvp_of_a_fused_tape_is_written_element_by_element_or_stays_generic():
    from scipy.optimize import rosen_hess_prod
    for n, compiled in ((N, True), (300_000, False)):   # (past tape_compiler.MAX_SCANNED)
        x = np.random.default_rng(4).normal(size=n)
        p = np.random.default_rng(5).normal(size=n)
        hessp = nd.hvp(rosenbrock, compile="always")
        for _ in range(3):
            np.testing.assert_allclose(hessp(x, p), rosen_hess_prod(x, p), rtol=1e-12,
                                       atol=1e-9)
        (tape,) = [t for ts in hessp.cache.tapes.values() for t in ts]
        assert (tape.compiled_hvp is not None) == compiled
        assert TC._choice(tape)[0] == "fused" and TC.compilable(tape) is None
        assert (TC.hvp_compilable(tape) is None) == compiled


def test_tapes_that_do_not_fuse_say_why():
    perm = np.random.default_rng(6).permutation(N)

    def fancy(x):   # an index array: a gather that is no row broadcast
        return np.sum(np.tanh(x[perm]) * x)

    def axis_sum(x):
        return np.sum(np.sum(x.reshape(10, 10) ** 2, axis=0))

    assert "gather" in TC.compilable(nd.trace(fancy, np.ones(N)))
    # (a sum along an axis does not fuse; this short one is written element by element)
    assert TC._choice(nd.trace(axis_sum, np.ones(N)))[0] == "scalar"
    x = np.linspace(-1.0, 1.0, N)
    for f in (fancy, axis_sum):
        np.testing.assert_allclose(nd.gradient(f, compile="always")(x),
                                   nd.gradient(f, compile="never")(x), rtol=1e-15)


def test_a_two_layer_tanh_network_fuses_around_its_matrix_products():
    # matrix products between the loops, biases as row broadcasts; the oracle is the
    # hand-written backpropagation of benchmarks/compare_fused.py
    loss, backprop, w = make_network(seed=10, sizes=(200, 5, 30, 3))
    expected, got = _both(loss, w)
    _assert_bitwise(expected, got)
    np.testing.assert_allclose(got[1], backprop(w), rtol=1e-12, atol=1e-12)
    # the adapter's direct code: its input's adjoint gets the matrix products' terms too,
    # so it checks that adjoint for a nan after the loops (not only the loops' terms)
    jac = nd.gradient(loss, compile="always")
    for _ in range(2):
        np.testing.assert_allclose(jac(w), backprop(w), rtol=1e-12, atol=1e-12)
    w_nan = w.copy()
    w_nan[3] = np.nan
    np.testing.assert_array_equal(jac(w_nan), nd.gradient(loss, compile="never")(w_nan))


def test_auto_compiles_a_long_vectorized_tape_once_the_replays_repay_it():
    x = np.random.default_rng(7).normal(size=120_000)   # (below fusion.PARALLEL_MIN)
    g = nd.gradient(rosenbrock)
    (tape,) = [t for ts in (g(x), g.cache.tapes)[1].values() for t in ts]
    assert not TC.worth_compiling(tape, 1)
    assert TC.worth_compiling(tape, 1024)   # they save ~1.2 s against ~0.6 s of compiling
    # (the parallel direct code of a longer x costs more to compile: 2 s at 10^6)
    long_tape = nd.trace(rosenbrock, np.zeros(1_000_000))
    assert not TC.worth_compiling(long_tape, 128) and TC.worth_compiling(long_tape, 512)
    for _ in range(1030):
        last = g(x)
    assert tape.compiled is not None
    np.testing.assert_allclose(last, rosen_der(x), rtol=1e-12, atol=1e-12)


_UNARY = ["neg", "exp", "sin", "cos", "tanh", "square", "sqrt", "log1p", "expm1", "abs"]
_BINARY = ["add", "sub", "mul", "div", "maximum"]


@st.composite
def _chains(draw):
    """A random program over length-N arrays: elementwise operations on earlier values,
    windows of earlier values, traced scalars broadcast in, and sums."""
    steps = []
    for _ in range(draw(st.integers(2, 10))):
        kind = draw(st.sampled_from(["unary", "binary", "scalar", "window", "sum", "where"]))
        steps.append((kind, draw(st.sampled_from(_UNARY)), draw(st.sampled_from(_BINARY)),
                      draw(st.integers(0, 100)), draw(st.integers(0, 100))))
    return steps


def _run_chain(steps, x, a):
    """``x`` has N + 2 elements: the program starts from its middle window, and its
    "window" steps read windows of a value computed from all of it (stored, then read
    at an offset)."""
    e = np.sin(x)
    arrays, scalars = [x[1:N + 1]], [a]
    for kind, unary, binary, i, j in steps:
        u = arrays[i % len(arrays)]
        if kind == "unary":
            if unary in ("sqrt", "log1p"):   # (inside their domains)
                u = 0.5 * u * u + 0.1
            arrays.append(R.elementwise(unary, u))
        elif kind == "binary":
            w = arrays[j % len(arrays)]
            arrays.append(R.elementwise(binary, u, w * w + 1.0 if binary == "div" else w))
        elif kind == "scalar":
            arrays.append(u * scalars[j % len(scalars)] + scalars[-1])
        elif kind == "where":
            w = arrays[j % len(arrays)]
            arrays.append(np.where(u > w, u * w, scalars[-1]))
        elif kind == "window":
            start = j % 3
            arrays.append(u * e[start:start + N])
        else:
            scalars.append(np.tanh(np.sum(u) / N))
    return sum(np.sum(v) for v in arrays) + sum(scalars[1:])


@settings(max_examples=25, deadline=None)
@given(_chains())
def test_random_chains_fuse_to_the_generic_sweeps_numbers(steps):
    x = np.random.default_rng(8).uniform(-1.0, 1.0, size=N + 2)
    (v0, g0), (v1, g1) = _both(lambda x, a: _run_chain(steps, x, a), x, 0.3)
    assert v0 == v1
    # (an array read through windows at several offsets in one loop, or a scalar
    # broadcast into a chain, takes its adjoint's contributions in another order, see
    # numad/fusion.py: a reassociated sum of terms of either sign differs by a few ulp
    # of the terms' size, not of the result's, so the bound is set by the largest
    # adjoint. A wrong rule would differ by the size of a term.)
    scale = max(1.0, float(np.max(np.abs(g0))))
    np.testing.assert_allclose(g1, g0, rtol=1e-13, atol=1e-13 * scale)


def test_the_adapters_direct_path_reads_x_in_place_and_falls_back_where_it_must():
    def f(x):
        return np.sum(0.0 * x ** 2 + np.sin(x))

    jac = nd.gradient(f, compile="always")
    vg = nd.value_and_gradient(f, compile="always")
    x = np.linspace(-1.0, 1.0, N)
    for _ in range(2):
        np.testing.assert_allclose(jac(x), np.cos(x), rtol=1e-15)
        v, g = vg(x)
    assert v == nd.value_and_gradient(f, compile="never")(x)[0]   # (the same rounding)
    np.testing.assert_allclose(v, np.sum(np.sin(x)), atol=1e-13)
    (tape,) = [t for ts in jac.cache.tapes.values() for t in ts]
    assert tape.compiled_direct is not None
    wide = np.linspace(-1.0, 1.0, 2 * N)
    np.testing.assert_array_equal(jac(wide[::2]), np.cos(wide[::2]))   # not contiguous
    x_inf = x.copy()
    x_inf[7] = np.inf     # 0 * inf**2 is nan: the general path gives the generic rule
    want = nd.gradient(f, compile="never")(x_inf)
    np.testing.assert_array_equal(jac(x_inf), want)
    np.testing.assert_array_equal(vg(x_inf)[1], want)
    square = np.linspace(-1.0, 1.0, N).reshape(10, 10)
    g2 = nd.gradient(f, compile="always")
    for _ in range(2):
        out = g2(square)
    assert out.shape == (10, 10)
    np.testing.assert_allclose(out, np.cos(square), rtol=1e-15)


def test_a_cached_adapter_lets_the_tapes_buffers_go_and_makes_them_again_on_need():
    # the direct code works on compact buffers (the constants and the entries its loops
    # store), so the adapter sheds the values and adjoint buffers (every value of the
    # tape, twice); a general path that needs them gets them made again, and answers
    x = np.random.default_rng(11).normal(size=4000)
    c = np.linspace(0.5, 1.5, 4000)   # a constant array the code reads

    def f(x):
        return rosenbrock(x) + np.sum(c * np.tanh(x))

    def oracle(x):
        return rosen_der(x) + c * (1.0 - np.tanh(x) ** 2)

    jac = nd.gradient(f, compile="always")
    vg = nd.value_and_gradient(f, compile="always")
    for _ in range(2):
        np.testing.assert_allclose(jac(x), oracle(x), rtol=1e-12, atol=1e-12)
        v, g = vg(x)
    np.testing.assert_allclose(v, rosen(x) + np.sum(c * np.tanh(x)), rtol=1e-12)
    (tape,) = [t for ts in jac.cache.tapes.values() for t in ts]
    assert tape._vals is None and tape.adjoints is None
    compact, _ = tape.direct_buffers()
    held = tape.nbytes   # (counted without making the values buffer again)
    assert tape._vals is None
    assert compact.size < 3 * x.size < tape.vals.size   # (c, tanh's operand and value)
    assert held < tape.vals.nbytes
    tape.shed()
    # the general paths: a point with a nan (the direct code hands it on), the tape's
    # own sweeps, another thread's copy; then the direct code again
    x_nan = x.copy()
    x_nan[3] = np.nan
    np.testing.assert_array_equal(jac(x_nan), nd.gradient(f, compile="never")(x_nan))
    y = x[::-1].copy()
    tape.shed()
    np.testing.assert_allclose(tape.gradient(y), oracle(y), rtol=1e-12, atol=1e-12)
    tape.shed()
    answers = {}
    thread = __import__("threading").Thread(target=lambda: answers.update(g=jac(y)))
    thread.start()
    thread.join()
    np.testing.assert_allclose(answers["g"], oracle(y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jac(x), oracle(x), rtol=1e-12, atol=1e-12)
    assert tape._vals is None


def test_long_loops_of_the_direct_code_run_in_parallel_blocks_with_one_threads_numbers():
    # from fusion.PARALLEL_MIN elements the adapters' direct code runs its loops in
    # blocks on every core (its reverse loop adds into x's adjoint through two windows:
    # even blocks, then odd ones); the blocks depend on n only, so one thread and two
    # give the same numbers
    import numba

    from numad.fusion import PARALLEL_MIN
    n = 2 * PARALLEL_MIN + 3
    x = np.random.default_rng(12).normal(size=n)
    jac = nd.gradient(rosenbrock, compile="always")
    first = jac(x)
    (tape,) = [t for ts in jac.cache.tapes.values() for t in ts]
    assert "prange(" in TC._key_and_text(tape)[1]
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = jac(x)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(jac(x), one)
    # (the first call, the tape's own code in one loop, adds an odd block's first
    # element's contributions in the other order: a last-bit difference at most)
    np.testing.assert_allclose(first, one, rtol=1e-15, atol=1e-15 * np.max(np.abs(one)))
    np.testing.assert_allclose(one, rosen_der(x), rtol=1e-12, atol=1e-12)
    x[PARALLEL_MIN] = np.nan   # (a nan in a later block: the generic sweeps answer)
    np.testing.assert_array_equal(jac(x), nd.gradient(rosenbrock, compile="never")(x))
