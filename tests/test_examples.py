"""The examples and the docs' figure script run as a user would run them."""
import importlib.util
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).parent.parent


def run_script(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()


@pytest.mark.parametrize("name", ["quickstart.py", "fit_damped_oscillator.py"])
def test_example_runs(name, capsys):
    run_script(ROOT / "examples" / name)
    assert capsys.readouterr().out


def test_step_error_figure(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    run_script(ROOT / "docs" / "plot_step_error.py")
    assert "numad" in capsys.readouterr().out


def test_implicit_function_example_matches_differences(capsys):
    spec = importlib.util.spec_from_file_location("implicit_function",
                                                  ROOT / "examples" / "implicit_function.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    worst, g_implicit, g_unrolled, g_fd, hess, hess_fd = module.main(["--size", "5"])
    assert worst < 1e-6
    assert np.allclose(g_implicit, g_fd, rtol=1e-6, atol=1e-8)
    assert np.allclose(g_implicit, g_unrolled, rtol=1e-12, atol=1e-14)
    assert np.allclose(hess, hess_fd, rtol=1e-6, atol=1e-8)
    assert "brentq" in capsys.readouterr().out


def test_asian_option_example_pathwise_greeks_agree_with_bumps_and_the_closed_form(capsys):
    spec = importlib.util.spec_from_file_location(
        "asian_option_greeks", ROOT / "examples" / "asian_option_greeks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = module.main(["--paths", "4000", "--steps", "24"])
    for label, (greeks, ses, bumped) in report.items():
        if label == "closed form":
            continue
        # the same random numbers: pathwise and bumped Greeks agree far inside the
        # Monte Carlo error (up to the few paths near the kink that a bump crosses)
        np.testing.assert_allclose(greeks, bumped, rtol=2e-3, atol=1e-3, err_msg=label)
    greeks, ses, _ = report["European call"]
    # against Black-Scholes, within the Monte Carlo error (and the time step's bias)
    assert np.all(np.abs(greeks - report["closed form"]) < 4 * ses + 0.02 * np.abs(greeks))
    assert "Asian call" in capsys.readouterr().out
