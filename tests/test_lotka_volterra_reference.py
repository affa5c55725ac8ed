"""The Lotka-Volterra RK4 benchmark's floor and numad's scan agree with the truth.

``benchmarks/_lotka_volterra.py`` holds a hand-written discrete adjoint of RK4
(``lv_grad_njit``, the floor of the scan benchmarks). Here it is checked against the
complex-step derivative of a plain-Python, complex-capable version of the same discrete
loss (exact to rounding), and numad's gradients (``nd.scan`` under every checkpoint
strategy, and ``nd.odeint``) against it.
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numad as nd  # noqa: E402
from benchmarks import _lotka_volterra as LV  # noqa: E402

STEPS = (50, 333)

# (strategy, snapshots): every strategy, binomial and uniform also with a small budget
STRATEGIES = [("store_all", None), ("recompute_all", None), ("uniform", None),
              ("uniform", 4), ("binomial", 5), ("binomial", 1), ("auto", None)]


def _rel(got, want):
    return float(np.max(np.abs(np.asarray(got) - want) / np.abs(want)))


@pytest.fixture(scope="module", params=STEPS, ids=lambda n: f"N={n}")
def case(request):
    n = request.param
    data = LV.make_data(n)
    loss, grad = LV.floor_gradient(LV.P, data)
    return n, data, loss, grad


def test_floor_matches_complex_step(case):
    n, data, loss, grad = case
    want = LV.complex_step_gradient(LV.P, data)
    np.testing.assert_allclose(grad, want, rtol=1e-12, atol=0)
    np.testing.assert_allclose(loss, LV.loss_reference(LV.P, data), rtol=1e-13)
    np.testing.assert_allclose(LV.primal(LV.P, data), loss, rtol=1e-13)


def test_floor_reuses_its_workspace(case):
    n, data, loss, grad = case
    floor = LV.Floor(n)
    p2 = LV.P * 1.01
    floor.gradient(p2, data)
    np.testing.assert_allclose(floor.gradient(LV.P, data), grad, rtol=1e-15)


def _run_of(jac):
    (tapes,) = jac.cache.tapes.values()
    (run,) = tapes[0].loops
    return run


def _schedule_of(jac):
    return _run_of(jac).schedule


@pytest.mark.parametrize("strategy,snapshots", STRATEGIES,
                         ids=[f"{s}-{k}" for s, k in STRATEGIES])
def test_scan_gradient_matches_floor(case, strategy, snapshots):
    n, data, loss, grad = case
    vg = nd.value_and_gradient(LV.numad_loss)
    for _ in range(2):  # the first call traces, the second replays the cached tape
        val, g = vg(LV.P, data, LV.H, strategy, snapshots)
        assert _rel(g, grad) <= 1e-11
        assert abs(val - loss) <= 1e-12 * abs(loss)
    # the loop ran the schedule asked for (auto: binomial, with a budget numad picks)
    sched = _schedule_of(vg)
    assert sched.length == n
    if strategy == "auto":
        # binomial with the budget's snapshots; a compiled step (one carry a recorded
        # step) with a budget for every step runs store_all, the same memory
        run = _run_of(vg)
        every_step = run.step is not None and nd.config.memory_budget >= n * (8 * run.carry + 48)
        assert sched.strategy == ("store_all" if every_step else "binomial")
    else:
        # (a compiled step records its leaves whole: checkpoint_schedule's carries_only)
        want = nd.checkpoint_schedule(n, snapshots, strategy,
                                      carries_only=_run_of(vg).step is not None)
        assert sched.forward_steps == want.forward_steps
    # a new point through the same tape
    p2 = LV.P * np.array([1.02, 0.99, 1.01, 0.98])
    _, g2 = vg(p2, data, LV.H, strategy, snapshots)
    _, want2 = LV.floor_gradient(p2, data)
    assert _rel(g2, want2) <= 1e-11


@pytest.mark.parametrize("layout", sorted(LV.SCAN_LAYOUTS))
def test_other_scan_layouts(case, layout):
    n, data, loss, grad = case
    g = nd.gradient(LV.SCAN_LAYOUTS[layout])(LV.P, data, LV.H, "binomial", 3)
    assert _rel(g, grad) <= 1e-11


@pytest.mark.parametrize("strategy,snapshots", [("store_all", None), ("binomial", 5)])
def test_odeint_gradient_matches_floor(case, strategy, snapshots):
    n, data, loss, grad = case
    jac = nd.gradient(LV.make_odeint_loss(LV.H))
    assert _rel(jac(LV.P, data, strategy, snapshots), grad) <= 1e-11
