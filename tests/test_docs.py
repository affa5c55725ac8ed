"""The docs' code runs as written, and their figure scripts make their figures.

Every ``>>>`` example in the pages under ``docs/`` is run as a doctest; the scripts that
the docs build runs (``docs/scripts/``) are run here on small sizes, into a temporary
directory (they never write into the repository). The site itself is built with
``python -m sphinx -W`` in CI (``.ci/run``).
"""
import doctest
import importlib.util
import pathlib

import pytest

DOCS = pathlib.Path(__file__).parent.parent / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md")
               if not {"_build", "_generated"} & set(p.relative_to(DOCS).parts))


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_doc_examples(path):
    result = doctest.testfile(str(path), module_relative=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_pages_with_code_have_examples():
    # a page whose examples are not in ``>>>`` form would be skipped silently
    for path in PAGES:
        text = path.read_text()
        if "```python" in text:
            assert ">>> " in text, f"{path}: a python block without doctest examples"


def test_every_page_is_in_the_table_of_contents():
    index = (DOCS / "index.md").read_text()
    for path in PAGES:
        name = path.relative_to(DOCS).with_suffix("").as_posix()
        if name != "index":
            assert f"\n{name}\n" in index, f"{name} is not in docs/index.md's toctree"


def run_script(name, argv):
    path = DOCS / "scripts" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def test_graph_of_the_concepts_page(tmp_path):
    fragment = run_script("render_graph.py", ["--out", str(tmp_path), "--text-only"])
    assert "```dot" in fragment and fragment.count("->") == 7
    assert (tmp_path / "graph.dot").read_text().startswith('digraph "<lambda>"')


def test_step_error_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    numad_error = run_script("plot_step_error.py", ["--out", str(tmp_path)])
    assert (tmp_path / "step_error.png").stat().st_size > 10_000
    # numad's derivative against the closed form: rounding, not a step's error
    assert numad_error < 1e-14


def test_checkpointing_figure_and_table(tmp_path):
    pytest.importorskip("matplotlib")
    rows = run_script("plot_checkpointing.py", ["--out", str(tmp_path), "--length", "1000"])
    by_label = {label: (memory, time) for label, _, _, memory, time in rows}
    assert by_label["store_all"] == (1000, 1.0)
    # fewer snapshots, more recomputation: the binomial trade is monotone
    binomial = [by_label[f"binomial({s})"] for s in (2, 5, 20)]
    assert binomial[0][0] < binomial[1][0] < binomial[2][0]
    assert binomial[0][1] > binomial[1][1] > binomial[2][1]
    assert "| `uniform` |" in (tmp_path / "checkpointing_table.md").read_text()


def test_cost_figure(tmp_path):
    pytest.importorskip("matplotlib")
    rows = run_script("plot_cost_vs_size.py", ["--out", str(tmp_path), "--sizes", "100",
                                               "--repeat", "1"])
    assert {r["tool"] for r in rows} >= {"floor", "numad"}
    assert (tmp_path / "cost_vs_size.png").exists()
