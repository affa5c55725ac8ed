"""``benchmarks/compare.py`` (numad against its peers) keeps working: its quick mode
gives a timed, checked row for every workload, and a wrong gradient stops it.

Only numad, the floor and SciPy's finite differences run here: the peers live in their
own environment (``.venv-compare``), not in the test one.
"""
import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import compare  # noqa: E402

TOOLS = ["floor", "numad", "scipy-fd"]


def test_quick_mode_times_every_workload_and_writes_the_table(tmp_path, capsys):
    md, js = tmp_path / "compare.md", tmp_path / "compare.json"
    rows = compare.main(["--quick", "--tools", ",".join(TOOLS), "--repeat", "2",
                         "--markdown", str(md), "--json", str(js)])
    assert {(r["workload"], r["tool"]) for r in rows} == {
        (w, t) for w in compare.WORKLOADS for t in TOOLS}
    for r in rows:
        assert r["size"] == compare.WORKLOADS[r["workload"]].quick_sizes[0]
        if r["status"] == "ok":
            assert r["median_s"] > 0 and len(r["samples_s"]) == 2
            assert r["difference"] <= compare.MINIMIZER_TOLERANCE
    # numad and the floor are never skipped; the floor is 1x itself
    assert all(r["status"] == "ok" for r in rows if r["tool"] != "scipy-fd")
    assert all(r["ratio"] == 1.0 for r in rows if r["tool"] == "floor")
    table = md.read_text()
    assert table in capsys.readouterr().out
    assert "| workload | size | hand `@njit` (floor) | numad | SciPy FD |" in table
    assert "Lotka-Volterra RK4 loss | steps = 10^3 |" in table
    saved = json.loads(js.read_text())
    assert saved["machine"]["versions"]["numba"] and len(saved["rows"]) == len(rows)


@pytest.mark.parametrize("tool, error", [("numad", 1e-6), ("scipy-fd", 1e-3)])
def test_a_wrong_gradient_is_an_error_not_a_row(monkeypatch, tool, error):
    w = compare.WORKLOADS["rosen_vec"]
    right = w.makers[tool]

    def slightly_wrong(problem):
        grad = right(problem)
        return lambda x: grad(x) * (1.0 + error)
    monkeypatch.setitem(w.makers, tool, slightly_wrong)
    with pytest.raises(compare.WrongAnswer, match=f"{tool} on rosen_vec at size 50"):
        compare.measure("rosen_vec", sizes=[50], tools=[tool], repeat=1, log=None)
    # the end-to-end run takes its gradients from the same makers: caught there too
    with pytest.raises(compare.WrongAnswer, match=f"{tool} on minimize"):
        compare.measure("minimize", sizes=[10], tools=[tool], repeat=1, log=None)


def test_a_tool_too_slow_for_the_next_size_is_skipped_there():
    # finite differences cost n evaluations of an O(n) function: 30x the size is about
    # 900x the time, far past a budget that the first size is far below
    rows = compare.measure("rosen_vec", sizes=[100, 3000], tools=["scipy-fd"], repeat=1,
                           log=None, max_seconds=0.02)
    fd = [r for r in rows if r["tool"] == "scipy-fd"]
    assert [r["size"] for r in fd] == [100, 3000]
    assert fd[0]["status"] == "ok" and np.isfinite(fd[0]["ratio"])
    assert fd[1]["status"] == "skipped (> 0.02 s)" and fd[1]["median_s"] is None
    assert "extrapolated" in fd[1]["note"]
