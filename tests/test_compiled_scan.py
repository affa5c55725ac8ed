"""Compiled scan steps (numad/tape_compiler.py ``compile_step``, driven by the compiled
drivers of numad/scan_kernels.py) against the generic sweeps they replace."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import numad as nd
from numad import recording as R
from numad import tape_compiler as TC
from numad.errors import ControlFlowChanged
from test_compiled_tapes import _BINARY, _UNARY
from test_scan import P0, complex_step_gradient, lv_data, lv_loss, lv_loss_numpy

STRATEGIES = [("store_all", None), ("uniform", None), ("binomial", 3), ("recompute_all", None),
              ("auto", None)]


@pytest.fixture(autouse=True)
def _tape_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NUMAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "tapes"))


def _both(f, *args):
    """(value, gradient) of f at args with the step compiled and interpreted, and the
    compiled run's tape."""
    out = []
    for mode in ("never", "always"):
        vg = nd.value_and_gradient(f, compile=mode)
        out.append(vg(*args))
        out.append(vg(*args))   # (a second call replays the cached tape)
    (tape,) = [t for ts in vg.cache.tapes.values() for t in ts]
    return out, tape


def _scalar_lv(p, data, checkpoint, snapshots):
    a, b, c, d = p[0], p[1], p[2], p[3]
    h = 0.01

    def step(carry, row):
        u, v, acc = carry
        du, dv = a * u - b * u * v, c * u * v - d * v
        u, v = u + h * du, v + h * dv
        return (u, v, acc + (u - row[0]) ** 2 + (v - row[1]) ** 2), u * v

    (_, _, loss), uv = nd.scan(step, (1.0, 0.5, 0.0), data, checkpoint=checkpoint,
                               snapshots=snapshots)
    return loss + 0.5 * nd.sum(uv)


@pytest.mark.parametrize("strategy, snapshots", STRATEGIES)
def test_compiled_steps_give_the_generic_sweeps_numbers_bit_for_bit(strategy, snapshots):
    data = lv_data(37)
    ((v0, g0), (v0b, g0b), (v1, g1), (v1b, g1b)), tape = _both(_scalar_lv, P0, data,
                                                                strategy, snapshots)
    assert tape.loops[0].step is not None
    assert v0 == v1 == v0b == v1b
    assert np.array_equal(g0, g1) and np.array_equal(g0b, g1b) and np.array_equal(g0, g0b)
    # (and right: the complex-step derivative of the same loss)
    def plain(p):
        a, b, c, d = p
        u, v, acc, extra = 1.0, 0.5, 0.0, 0.0
        for row in data:
            du, dv = a * u - b * u * v, c * u * v - d * v
            u, v = u + 0.01 * du, v + 0.01 * dv
            acc = acc + (u - row[0]) ** 2 + (v - row[1]) ** 2
            extra = extra + u * v
        return acc + 0.5 * extra
    np.testing.assert_allclose(g1, complex_step_gradient(plain, P0), rtol=1e-12)


@pytest.mark.parametrize("strategy, snapshots", STRATEGIES[:3])
def test_array_steps_compile_elementwise_and_stack(strategy, snapshots):
    # the state as a 2-array: elementwise array operations, x[0] and nd.stack
    data = lv_data(29)
    ((v0, g0), _, (v1, g1), _), tape = _both(lv_loss, P0, data, 0.05, strategy, snapshots)
    assert tape.loops[0].step is not None, TC.step_compilable(tape, tape.loops[0].loop)
    assert v0 == v1 and np.array_equal(g0, g1)
    assert v1 == pytest.approx(lv_loss_numpy(P0, data, 0.05), rel=1e-13)


def _odeint_loss(k):
    Y = nd.odeint(lambda y, t, k0, k1: nd.stack([-k0 * y[0] + y[1], -k1 * y[1]]),
                  np.array([1.0, 0.5]), np.linspace(0.0, 2.0, 41), k[0], k[1], substeps=2)
    return nd.sum(Y * Y)


def test_odeint_runs_its_step_compiled():
    k = np.array([0.7, 1.3])
    ((v0, g0), _, (v1, g1), _), tape = _both(_odeint_loss, k)
    assert tape.loops[0].step is not None
    # the four right-hand sides of an RK4 step share -k0 and -k1: one adjoint each,
    # summed in another order than the generic sweep's four (documented)
    assert v0 == v1
    np.testing.assert_allclose(g1, g0, rtol=1e-14)


def test_without_shared_subexpressions_compiled_steps_are_bit_for_bit(monkeypatch):
    monkeypatch.setattr(TC, "_CSE", False)
    k = np.array([0.7, 1.3])
    ((v0, g0), _, (v1, g1), _), tape = _both(_odeint_loss, k)
    assert tape.loops[0].step is not None
    assert v0 == v1 and np.array_equal(g0, g1)


def test_auto_compiles_long_loops_and_short_ones_whose_code_is_cached():
    def f(p, data):   # (a step of its own: no other test compiles it)
        return nd.scan(lambda c, x: (c * p[0] + np.sin(x[1]) * p[2], None), 0.0, data)[0]

    def compiled(data):
        vg = nd.value_and_gradient(f)      # nd.config.compile is "auto"
        vg(P0, data)
        (tape,) = [t for ts in vg.cache.tapes.values() for t in ts]
        return tape.loops[0].step is not None

    assert not compiled(lv_data(20))
    assert compiled(lv_data(TC.AUTO_MIN_STEPS + 10))
    assert compiled(lv_data(20))          # (now in the cache: loading it costs little)
    # the scan's own compile= wins over the adapter's
    def own(p, data):
        return nd.scan(lambda c, x: (c * p[0] + x[0], None), 0.0, data, compile="never")[0]
    vg = nd.value_and_gradient(own, compile="always")
    vg(P0, lv_data(TC.AUTO_MIN_STEPS + 10))
    (tape,) = [t for ts in vg.cache.tapes.values() for t in ts]
    assert tape.loops[0].step is None


def test_a_changed_branch_in_a_compiled_step_is_caught():
    def f(p, data):
        def step(c, x):
            # the branch is taken at every step of the recorded point
            return (c + x[0] * p[0] if p[1] > 0.5 else c - x[0]), None
        return nd.scan(step, 0.0, data, compile="always")[0]

    data = lv_data(30)
    tape = nd.trace(f, P0, data, compile="never")
    assert tape.loops[0].step is None   # (decided at the first sweep)
    tape.gradient(P0, data)
    assert tape.loops[0].step is not None
    other = P0.copy()
    other[1] = 0.1
    with pytest.raises(ControlFlowChanged):
        tape.gradient(other, data)
    # the adapters trace again, and answer right
    g = nd.gradient(f, compile="always")
    np.testing.assert_allclose(g(P0, data)[0], data[:, 0].sum(), rtol=1e-14)
    np.testing.assert_allclose(g(other, data), np.zeros(4), atol=0)


@pytest.mark.parametrize("strategy, snapshots", [("auto", None), ("store_all", None),
                                                  ("binomial", 7)])
def test_an_inf_in_a_compiled_step_gives_the_generic_sweeps_answer(strategy, snapshots):
    # u overflows to inf after a few steps, and its adjoint is 0 (min takes 2.0): the
    # compiled step's plain products would make 0 * inf = nan of it; it hands such
    # steps to the generic sweeps, which add exactly 0 (in the middle of a range of
    # steps: the compiled range then resumes below the step)
    def f(p):
        def step(c, _):
            u, s = c
            return (u * p[0], s + np.minimum(2.0, p[1] * u)), None
        return nd.scan(step, (1.0, 0.0), length=300, compile="always", checkpoint=strategy,
                       snapshots=snapshots)[0][1]

    p = np.array([1e3, 1.0])
    ((v0, g0), _, (v1, g1), _), _ = _both(f, p)
    assert v0 == v1 == 599.0 and np.array_equal(g0, g1) and np.array_equal(g1, [0.0, 1.0])


def test_a_step_that_reads_xs_beside_its_row_is_not_compiled_and_is_right():
    # the compiled step keeps the adjoints of what it reads from before the loop in
    # registers along a range of steps while it adds each row's adjoint in memory:
    # where those are the same memory, the step runs on the generic sweeps
    def f(xs):
        def step(c, x):
            return c * 0.9 + x * xs[0], None
        return nd.scan(step, 1.0, xs, compile="always")[0]

    xs = np.linspace(0.5, 1.5, 250)
    vg = nd.value_and_gradient(f, compile="always")
    value, grad = vg(xs)
    (tape,) = [t for ts in vg.cache.tapes.values() for t in ts]
    assert tape.loops[0].step is None
    assert "reads xs itself" in TC.step_compilable(tape, tape.loops[0].loop)
    # c_N = 0.9^N + x_0 sum_k 0.9^(N-1-k) x_k
    n = len(xs)
    w = 0.9 ** np.arange(n - 1, -1, -1)
    expected = xs[0] * w
    expected[0] += w @ xs
    np.testing.assert_allclose(value, 0.9 ** n + xs[0] * (w @ xs), rtol=1e-13)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-300)


def test_a_compiled_binomial_loop_runs_the_schedule_of_recorded_carries():
    data = lv_data(300)
    tape = nd.trace(_scalar_lv, P0, data, "binomial", 6, compile="always")
    tape.gradient(P0, data, "binomial", 6)
    run = tape.loops[0]
    assert run.step is not None
    schedule = nd.checkpoint_schedule(300, 6, "binomial", carries_only=True)
    assert np.array_equal(run.schedule.actions, schedule.actions)
    assert run.rec_carry.shape[0] == 7 and schedule.peak_recorded <= 7
    # and the gradient is the generic sweeps' (one step recorded at a time)
    generic = nd.trace(_scalar_lv, P0, data, "binomial", 6, compile="never")
    assert np.array_equal(tape.gradient(P0, data, "binomial", 6),
                          generic.gradient(P0, data, "binomial", 6))


def test_steps_of_one_structure_share_their_code_at_any_length(tmp_path):
    data = lv_data(250)
    tape = nd.trace(_scalar_lv, P0, data, "store_all", None, compile="always")
    tape.gradient(P0, data, "store_all", None)
    other = nd.trace(_scalar_lv, P0, lv_data(700), "binomial", 5, compile="auto")
    loop = other.loops[0].loop
    key, _, at = TC._step_key_and_text(other, loop)
    assert TC._step_key_and_text(tape, tape.loops[0].loop)[0] == key
    assert not np.array_equal(at, TC._step_key_and_text(tape, tape.loops[0].loop)[2])


def test_a_second_process_loads_the_compiled_step_from_the_disk_cache(tmp_path):
    script = textwrap.dedent("""
        import sys, numpy as np, numad as nd
        from numad import tape_compiler as TC
        sys.path.insert(0, sys.argv[1])
        from test_compiled_scan import _scalar_lv
        from test_scan import P0, lv_data
        tape = nd.trace(_scalar_lv, P0, lv_data(40), "store_all", None, compile="always")
        run = tape.loops[0]
        key, text, _ = TC._step_key_and_text(tape, run.loop)
        print(TC._is_cached(key, text, "reverse"))
        print(list(tape.gradient(P0, lv_data(40), "store_all", None)))
    """)
    env = dict(os.environ, NUMAD_CACHE_DIR=str(tmp_path))
    here = os.path.dirname(os.path.abspath(__file__))
    runs = [subprocess.run([sys.executable, "-c", script, here], env=env, capture_output=True,
                           text=True, timeout=600) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert runs[0].stdout.splitlines()[0] == "False"
    assert runs[1].stdout.splitlines()[0] == "True"
    assert runs[0].stdout.splitlines()[1] == runs[1].stdout.splitlines()[1]


# ---- random steps ---------------------------------------------------------------------------

@st.composite
def step_programs(draw):
    """A random scalar step: each operation from the op table's common rows, on the
    carry (two values), the row of xs and a parameter from before the loop."""
    ops = []
    for k in range(draw(st.integers(1, 12))):
        pool = 4 + k
        if draw(st.booleans()):
            ops.append((draw(st.sampled_from(_UNARY)), draw(st.integers(0, pool - 1)), None))
        else:
            ops.append((draw(st.sampled_from(_BINARY)), draw(st.integers(0, pool - 1)),
                        draw(st.integers(0, pool - 1))))
    return ops, draw(st.floats(-1.5, 1.5))


def _random_scan(p, ops, xs, checkpoint):
    def step(c, x):
        vals = [c[0], c[1], x, p[0]]
        for name, a, b in ops:
            operands = (vals[a],) if b is None else (vals[a], vals[b])
            vals.append(R.elementwise(name, *operands))
        # keep the carry bounded: a squashed mix of the last values
        return (np.tanh(vals[-1]), 0.5 * np.sin(vals[-2] + c[0])), vals[-1] * 0.1
    (u, v), ys = nd.scan(step, (0.3, -0.2), xs, checkpoint=checkpoint, snapshots=2)
    return u + v * p[1] + nd.sum(ys)


@settings(max_examples=10, deadline=None)
@given(step_programs(), st.sampled_from(["store_all", "binomial"]))
def test_random_steps_compile_to_the_generic_sweeps_numbers(program, checkpoint):
    ops, scale = program
    xs = scale * np.cos(np.arange(9.0))
    p = np.array([0.7, -1.1])
    ((v0, g0), _, (v1, g1), _), tape = _both(_random_scan, p, ops, xs, checkpoint)
    assert v0 == v1
    # common subexpressions share one adjoint, which may sum in another order
    np.testing.assert_allclose(g1, g0, rtol=1e-13, atol=1e-300)
