"""The nd.scan / nd.odeint examples run as a user would run them, and their results
agree with facts computed here independently of numad."""
import importlib.util
import math
import pathlib

import numpy as np
import pytest

import numad as nd

ROOT = pathlib.Path(__file__).parent.parent


def load(name):
    path = ROOT / "examples" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lotka_volterra_fit(capsys):
    lv = load("lotka_volterra_fit.py")
    out = lv.main()
    assert "SciPy BFGS, finite differences" in capsys.readouterr().out

    # RK4 with 10 substeps follows SciPy's DOP853 solution closely
    assert out["rk4_error"] < 1e-5
    runs = out["runs"]
    assert all(r["success"] for r in runs.values()), runs
    # the three optimizers find the same minimum
    for r in runs.values():
        assert abs(r["fun"] - out["misfit"]) <= 1e-8 * out["misfit"]
    se = out["standard_errors"]
    for other in ("fitted_newton", "fitted_fd"):
        assert np.all(np.abs(out[other] - out["fitted"]) < 0.01 * se)
    # exact gradients: BFGS asks for one value-and-gradient per evaluation, and fewer of
    # them than SciPy's finite differences ask for values
    bfgs = runs["numad BFGS, exact gradient"]
    assert bfgs["nfev"] == bfgs["njev"]
    assert bfgs["nfev"] < runs["SciPy BFGS, finite differences"]["nfev"]
    assert runs["numad trust-ncg, gradient + Hessian products"]["nhev"] > 0

    # the fit recovers the true rates within a few standard errors, and the residuals
    # give back the noise level the data were made with
    assert np.all(np.abs(out["fitted"] - out["true"]) < 3 * se), (out["fitted"], se)
    assert np.all(se < 0.1 * out["true"])
    assert 0.75 * lv.NOISE < out["sigma"] < 1.25 * lv.NOISE
    assert out["gradient_norm"] < 1e-4

    # the Hessian behind the standard errors: symmetric, positive definite, and equal to
    # central differences of the exact gradient
    H = out["hessian"]
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-10 * np.abs(H).max())
    assert np.all(np.linalg.eigvalsh(H) > 0)
    log_observed = out["log_observed"]
    grad = nd.gradient(lv.misfit)
    x = out["fitted"]
    fd = np.empty((4, 4))
    for k in range(4):
        h = 1e-5 * x[k]
        e = np.zeros(4)
        e[k] = h
        fd[:, k] = (grad(x + e, log_observed) - grad(x - e, log_observed)) / (2 * h)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-6 * np.abs(H).max())


def pendulum_loss(params, steps, h):
    """The long simulation's loss, written again in plain Python floats."""
    damping, omega0, drive, frequency = (float(p) for p in params)

    def acc(theta, v, t):
        return (-damping * v - omega0 * omega0 * math.sin(theta)
                + drive * math.cos(frequency * t))

    theta, v, t, total = 1.0, 0.0, 0.0, 0.0
    for _ in range(steps):
        k1 = (v, acc(theta, v, t))
        k2 = (v + 0.5 * h * k1[1],
              acc(theta + 0.5 * h * k1[0], v + 0.5 * h * k1[1], t + 0.5 * h))
        k3 = (v + 0.5 * h * k2[1],
              acc(theta + 0.5 * h * k2[0], v + 0.5 * h * k2[1], t + 0.5 * h))
        k4 = (v + h * k3[1], acc(theta + h * k3[0], v + h * k3[1], t + h))
        theta = theta + (h / 6) * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        v = v + (h / 6) * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        t = t + h
        total = total + h * theta * theta
    return total / (steps * h)


def revolve_forward_steps(length, snapshots):
    """Griewank and Walther: t*l - C(s+t, t-1) advances with the smallest t such that
    C(s+t, s) >= l, plus the l recorded steps."""
    t = 0
    while math.comb(snapshots + t, snapshots) < length:
        t += 1
    return t * length - math.comb(snapshots + t, t - 1) + length


def test_long_simulation(capsys):
    sim = load("long_simulation.py")
    steps = 2000
    out = sim.main(steps=steps, plot=False)
    assert "agree" in capsys.readouterr().out
    assert out["figure"] is None
    results = out["strategies"]
    assert set(results) == {"store_all", "uniform", f"binomial({sim.SNAPSHOTS})",
                            "recompute_all", "auto"}
    assert not any(r["skipped"] for r in results.values())

    # every strategy gives the same gradient
    reference = np.asarray(out["gradient"])
    for label, r in results.items():
        np.testing.assert_allclose(r["gradient"], reference, rtol=1e-10, atol=0,
                                   err_msg=label)
        assert r["loss"] == pytest.approx(out["loss"], rel=1e-14)
    assert out["max_relative_difference"] <= 1e-10

    # ... which is the derivative of the loss written again in plain Python
    assert out["loss"] == pytest.approx(pendulum_loss(sim.PARAMS, steps, sim.H), rel=1e-12)
    for k in range(4):
        h = 1e-6
        up, down = sim.PARAMS.copy(), sim.PARAMS.copy()
        up[k] += h
        down[k] -= h
        fd = (pendulum_loss(up, steps, sim.H) - pendulum_loss(down, steps, sim.H)) / (2 * h)
        assert reference[k] == pytest.approx(fd, rel=1e-6), k

    # the schedules' costs
    l, s = steps, sim.SNAPSHOTS
    binomial = results[f"binomial({s})"]
    if binomial["compiled_step"]:
        # (a compiled step records input carries only, and its schedule the parts
        # that its free slots reverse advancing each step once whole: fewer runs)
        assert binomial["forward_steps"] < revolve_forward_steps(l, s) == 7976
        assert binomial["peak_snapshots"] == s and binomial["peak_recorded"] <= s + 1
    else:
        assert binomial["forward_steps"] == revolve_forward_steps(l, s) == 7976
        assert binomial["peak_snapshots"] == s and binomial["peak_recorded"] == 1
    assert results["store_all"]["forward_steps"] == l
    assert results["store_all"]["peak_recorded"] == l
    assert results["recompute_all"]["forward_steps"] == l * (l + 1) // 2
    k = math.isqrt(l - 1) + 1                       # uniform: segments of ceil(sqrt(l))
    assert results["uniform"]["forward_steps"] == l + (-(-l // k) - 1) * k
    assert results["uniform"]["peak_recorded"] == k
    # with a 1 GiB budget and a 32-byte carry, auto may snapshot every step: its compiled
    # step (one carry a recorded step) then runs store_all, the same memory
    assert results["auto"]["strategy"] == "store_all"
    assert results["auto"]["forward_steps"] == l
    for label, checkpoint, snapshots in sim.STRATEGIES:
        if checkpoint != "auto":
            sched = nd.checkpoint_schedule(l, snapshots, checkpoint,
                                           carries_only=results[label]["compiled_step"])
            assert results[label]["forward_steps"] == sched.forward_steps, label
            assert results[label]["peak_snapshots"] == sched.peak_snapshots, label

    # memory: store_all keeps every step (its input carry, where the step runs compiled);
    # the bounded schedules hold a few carries (auto, with its 1 GiB budget, snapshots
    # every step). (The peak RSS differences are not checked: at this size they are
    # within the noise of a high-water mark.)
    store_all = results["store_all"]
    assert store_all["loop_bytes"] > 5 * max(r["loop_bytes"] for label, r in results.items()
                                             if label not in ("store_all", "auto"))
    assert all(isinstance(r["memory_bytes"], int) for r in results.values())


def test_long_simulation_figure(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    sim = load("long_simulation.py")
    monkeypatch.setattr(sim, "RECOMPUTE_ALL_MAX_STEPS", 100)  # the skipped row too
    figure = tmp_path / "long_simulation.png"
    out = sim.main(steps=200, plot=True, figure=figure)
    printed = capsys.readouterr().out
    assert "recompute_all" in printed and "not run" in printed
    assert out["strategies"]["recompute_all"]["skipped"]
    assert out["strategies"]["recompute_all"]["estimated_seconds"] > 0
    assert out["figure"] == str(figure)
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 10_000
