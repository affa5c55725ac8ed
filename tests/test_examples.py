"""The examples and the docs' figure script run as a user would run them."""
import importlib.util
import pathlib

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
