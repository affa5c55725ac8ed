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
