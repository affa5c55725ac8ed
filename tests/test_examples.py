"""The examples run as a user would run them (in quick mode), and what they print agrees
with facts computed here independently of numad: closed forms, hand calculations,
central differences."""
import importlib.util
import math
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted(path.name for path in (ROOT / "examples").glob("*.py"))


def load(name):
    path = ROOT / "examples" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_quick(name, tmp_path):
    return load(name).main(["--quick", "--out", str(tmp_path)])


def central(f, x, h):
    """Central differences of scalar f at the 1-D point x."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        out[k] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def assert_png(path):
    if path is None:            # (matplotlib not installed)
        pytest.importorskip("matplotlib")
    path = pathlib.Path(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000


# ---- the examples' own results ------------------------------------------------------------

def test_quickstart_gradient_hessian_and_dual_match_closed_forms(tmp_path, capsys):
    from scipy.optimize import rosen_der, rosen_hess
    out = run_quick("quickstart.py", tmp_path)
    assert "Wengert list" in capsys.readouterr().out
    np.testing.assert_allclose(out["gradient"], rosen_der(out["x0"]), rtol=1e-13)
    np.testing.assert_allclose(out["hessian"], rosen_hess(out["x0"]), rtol=1e-13, atol=1e-12)
    # p(x) = 3x^5 - 2x^3 + 7x - 11 at 2, and p'(2) = 15*16 - 6*4 + 7
    assert out["dual"] == (83.0, 223.0)
    res = out["minimize"]
    assert res.success and np.max(np.abs(res.x - 1.0)) < 1e-4 and out["traces"] == 1


def test_damped_oscillator_fit_agrees_with_finite_differences_and_recovers_the_model(
        tmp_path, capsys):
    sim = load("fit_damped_oscillator.py")
    out = sim.main(["--quick", "--out", str(tmp_path)])
    assert "finite differences" in capsys.readouterr().out
    assert len(out["t"]) == 100
    runs = out["runs"]
    fd, exact, newton = runs.values()
    # the three optimizers reach the same minimum, where central differences of the
    # misfit vanish, within a few standard errors of the true parameters
    assert abs(exact.fun - fd.fun) < 1e-6 * fd.fun and abs(newton.fun - fd.fun) < 1e-6 * fd.fun
    fd_grad = central(lambda p: sim.misfit(p, out["t"], out["observed"]), exact.x, 1e-6)
    assert np.max(np.abs(fd_grad)) < 1e-4
    assert np.all(np.abs(exact.x - sim.TRUE) < 4 * out["standard_errors"])
    # exact gradients: fewer evaluations than SciPy's finite differences
    assert exact.nfev < fd.nfev


def test_lotka_volterra_fit_recovers_the_rates(tmp_path, capsys):
    out = run_quick("lotka_volterra_fit.py", tmp_path)
    assert "numad BFGS" in capsys.readouterr().out
    assert out["rk4_error"] < 1e-5          # against SciPy's DOP853
    assert np.all(np.abs(out["fitted"] - out["true"]) < 3 * out["standard_errors"])
    assert all(r["success"] for r in out["runs"].values())


def test_implicit_function_example_matches_differences(tmp_path, capsys):
    worst, g_implicit, g_unrolled, g_fd, hess, hess_fd = run_quick("implicit_function.py",
                                                                   tmp_path)
    assert worst < 1e-6
    assert len(g_implicit) == 5
    assert np.allclose(g_implicit, g_fd, rtol=1e-6, atol=1e-8)
    assert np.allclose(g_implicit, g_unrolled, rtol=1e-12, atol=1e-14)
    assert np.allclose(hess, hess_fd, rtol=1e-6, atol=1e-8)
    assert "brentq" in capsys.readouterr().out


def test_asian_option_example_pathwise_greeks_agree_with_bumps_and_the_closed_form(
        tmp_path, capsys):
    report = run_quick("asian_option_greeks.py", tmp_path)
    for label, (greeks, ses, bumped) in report.items():
        if label == "closed form":
            continue
        # the same random numbers: pathwise and bumped Greeks agree far inside the
        # Monte Carlo error (up to the few paths near the kink that a bump crosses)
        np.testing.assert_allclose(greeks, bumped, rtol=2e-3, atol=1e-3, err_msg=label)
    greeks, ses, _ = report["European call"]
    # against Black-Scholes, within the Monte Carlo error (and the time step's bias)
    assert np.all(np.abs(greeks - report["closed form"]) < 4 * ses + 0.02 * np.abs(greeks))
    assert "4000 paths x 24 steps" in capsys.readouterr().out


def black_scholes(s, k, sigma, r, t):
    """Price and Greeks of a call, written here again with math only (the test's oracle)."""
    cdf = lambda x: 0.5 * math.erfc(-x / math.sqrt(2.0))
    pdf = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    d1 = (math.log(s / k) + (r + sigma ** 2 / 2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    disc = math.exp(-r * t)
    return {"price": s * cdf(d1) - k * disc * cdf(d2), "delta": cdf(d1),
            "dual delta": -disc * cdf(d2), "vega": s * pdf(d1) * math.sqrt(t),
            "rho": k * t * disc * cdf(d2),
            "theta": -s * pdf(d1) * sigma / (2 * math.sqrt(t)) - r * k * disc * cdf(d2),
            "gamma": pdf(d1) / (s * sigma * math.sqrt(t)),
            "vanna": -pdf(d1) * d2 / sigma,
            "volga": s * pdf(d1) * math.sqrt(t) * d1 * d2 / sigma,
            # d2C/dK2, the density of the terminal price (Breeden-Litzenberger)
            "dual gamma": disc * pdf(d2) / (k * sigma * math.sqrt(t))}


def test_black_scholes_greeks_are_the_closed_form(tmp_path, capsys):
    out = run_quick("black_scholes_greeks.py", tmp_path)
    printed = capsys.readouterr().out
    assert "vanna" in printed and "wrote" in printed
    s, k, sigma, r, t = out["inputs"]
    exact = black_scholes(s, k, sigma, r, t)
    assert out["price"] == pytest.approx(exact["price"], rel=1e-13)
    for name, value in out["greeks"].items():
        assert value == pytest.approx(exact[name], rel=1e-11, abs=1e-13), name
    # the whole gradient and Hessian: the closed forms where the table has them ...
    grad, hess = out["gradient"], out["hessian"]
    assert grad[4] == pytest.approx(-exact["theta"], rel=1e-12)
    assert hess[1, 1] == pytest.approx(exact["dual gamma"], rel=1e-11)
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=1e-14)
    # ... and, entry by entry, central differences of the closed-form gradient
    def closed_gradient(x):
        e = black_scholes(*x)
        return np.array([e["delta"], e["dual delta"], e["vega"], e["rho"], -e["theta"]])
    for j in range(5):
        step = np.zeros(5)
        step[j] = 1e-5 * out["inputs"][j]
        fd = (closed_gradient(out["inputs"] + step) - closed_gradient(out["inputs"] - step)) \
            / (2 * step[j])
        np.testing.assert_allclose(hess[:, j], fd, rtol=1e-6, atol=1e-8, err_msg=str(j))
    # every strike of the strip
    strikes, jac = out["strikes"], out["strip_jacobian"]
    assert jac.shape == (len(strikes), 4) and len(strikes) == 9
    for row, strike in enumerate(strikes):
        e = black_scholes(s, strike, sigma, r, t)
        np.testing.assert_allclose(jac[row], [e["delta"], e["vega"], e["rho"], -e["theta"]],
                                   rtol=1e-11, atol=1e-12)
    assert_png(out["figure"])
    assert pathlib.Path(out["figure"]).parent == tmp_path


def test_neural_network_trains_and_its_gradient_is_right(tmp_path, capsys):
    nn = load("neural_network.py")
    out = nn.main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "loss before training" in printed
    import numad as nd
    X, theta0 = out["X"], out["theta0"]
    # the gradient at the start, against central differences computed here
    fd = central(lambda th: nn.loss(th, X), theta0, 1e-6)
    np.testing.assert_allclose(nd.gradient(nn.loss)(theta0, X), fd, rtol=1e-6, atol=1e-9)
    assert out["check_grad"] < 1e-7
    # the tied gradient is the sum of the encoder's and decoder's uses
    assert out["sharing"] < 1e-14
    # training: the loss it reports is the loss at its answer, 100 times below the start
    # and far below predicting the mean; within 30 times the best linear code's
    assert out["loss_after"] == pytest.approx(nn.loss(out["theta"], X), rel=1e-12)
    assert out["loss_before"] == pytest.approx(nn.loss(theta0, X), rel=1e-12)
    assert out["loss_after"] < out["loss_before"] / 100
    assert out["loss_after"] < 30 * out["pca_loss"]
    # at the minimum, central differences of the loss vanish (relative to the start's)
    fd_end = central(lambda th: nn.loss(th, X), out["theta"], 1e-6)
    assert np.max(np.abs(fd_end)) < 1e-3 * np.max(np.abs(fd))
    assert_png(out["figure"])


def sawtooth_gradient(x):
    """The sawtooth's gradient by hand: phase = frac(a k + b) has d/da = k, d/db = 1."""
    a, b = x
    g = np.zeros(2)
    for k in (1, 2, 3):
        phase = (a * k + b) % 1.0
        if phase < 0.5:                 # total += phase^2
            g += 2 * phase * np.array([k, 1.0])
        else:                           # total += b (1 - phase)
            g += np.array([-b * k, (1.0 - phase) - b])
    return g


def test_ad_teaching_examples_against_hand_calculations(tmp_path, capsys):
    out = run_quick("ad_teaching.py", tmp_path)
    printed = capsys.readouterr().out
    # 1. dual numbers: the hand class, nd.Dual and nd.jvp give the closed form
    x = 1.5
    exact = 2 * x * math.sin(x) + x * x * math.cos(x) + math.exp(x) * (x - 1) / x ** 2
    duals = out["duals"]
    assert duals["hand"][0] == pytest.approx(x * x * math.sin(x) + math.exp(x) / x, rel=1e-15)
    for got in (duals["hand"][1], duals["dual"][1], duals["jvp"]):
        assert got == pytest.approx(exact, rel=1e-14)
    # 2. the Wengert list: seven lines (three inputs, add, add, log, mul) and the sweeps
    wengert = out["wengert"]
    assert wengert["entries"] == 7
    lines = wengert["tape"].splitlines()
    assert [line.split()[1] for line in lines] == [
        "input", "input", "input", "add", "add", "log", "mul"]
    assert "Wengert list" in printed
    a, b, c = 1.0, 3.0, 6.0
    grad = ((math.log(b + c)), math.log(b + c) + (a + b) / (b + c), (a + b) / (b + c))
    assert wengert["reverse"] == pytest.approx(grad, rel=1e-14)
    assert wengert["reverse_by_hand"] == pytest.approx(grad, rel=1e-14)
    assert wengert["forward"] == pytest.approx(grad[1], rel=1e-14)
    # 3. control flow: the replay refuses the flipped branch, the adapter re-traces
    flow = out["control_flow"]
    x0, same, flipped = flow["points"]
    assert flow["matches"] == (True, False)
    assert flow["raised"] is not None and isinstance(flow["raised"], RuntimeError)
    assert flow["traces"] == 2
    for x in (x0, same, flipped):
        np.testing.assert_allclose(flow["gradients"][tuple(x)], sawtooth_gradient(x),
                                   rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(flow["tape_gradient"], sawtooth_gradient(x0), rtol=1e-13)
    # 4. Huber, delta = 1: clip(r, -1, 1) everywhere for where/if; minimum/maximum
    # follow numad's convention at a tie against a constant (0 to the traced side; see
    # docs/concepts/nondifferentiable.md) at the kinks
    first, second = out["huber_first"], out["huber_second"]
    for r, by_form in first.items():
        closed = min(max(r, -1.0), 1.0)
        assert by_form["np.where"] == pytest.approx(closed, abs=1e-15), r
        assert by_form["if"] == pytest.approx(closed, abs=1e-15), r
        expected = 0.0 if abs(r) == 1.0 else closed
        assert by_form["minimum/maximum"] == pytest.approx(expected, abs=1e-15), r
        # second derivative: 1 inside, 0 outside; at the kink the branch taken by
        # "abs(r) <= delta" (inside); abs'(0) = 0 zeroes the minimum form's at 0
        inside = 1.0 if abs(r) <= 1.0 else 0.0
        assert second[r]["np.where"] == inside and second[r]["if"] == inside, r
        assert second[r]["minimum/maximum"] == (
            0.0 if abs(r) in (0.0, 1.0) else inside), r
    assert set(first) >= {-1.0, 0.0, 1.0} and any(0 < abs(r) - 1 < 1e-3 for r in first)
    assert_png(out["figure"])


def test_long_simulation_quick_mode(tmp_path, capsys):
    out = run_quick("long_simulation.py", tmp_path)
    assert "agree" in capsys.readouterr().out
    sim = load("long_simulation.py")
    assert out["steps"] == sim.QUICK_STEPS
    results = out["strategies"]
    assert not any(r["skipped"] for r in results.values())
    reference = np.asarray(out["gradient"])
    for label, r in results.items():
        np.testing.assert_allclose(r["gradient"], reference, rtol=1e-10, err_msg=label)
    # recompute_all re-runs the loop from the start for every step
    assert results["recompute_all"]["forward_steps"] == out["steps"] * (out["steps"] + 1) // 2
    assert_png(out["figure"])
    assert pathlib.Path(out["figure"]).parent == tmp_path


# ---- nothing written into the repository --------------------------------------------------

def git_status():
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_examples_write_nothing_into_the_repository(tmp_path, monkeypatch, capsys):
    """Every example, quick, without --out (figures go to a temporary directory): the
    working tree's status is the same before and after."""
    monkeypatch.chdir(ROOT)               # (relative paths would land in the repository)
    before = git_status()
    for name in EXAMPLES:
        load(name).main(["--quick"])
    printed = capsys.readouterr().out
    after = git_status()
    assert after == before, (before, after)
    assert printed.count("wrote ") >= 4           # the figures went somewhere else
