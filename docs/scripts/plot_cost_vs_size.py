"""Gradient cost against problem size: numad, a hand-written floor, finite differences, peers.

Left panel: measured now, while the docs are built, with ``benchmarks/compare.py``'s
``measure`` on the vectorized Rosenbrock function (every tool's answer is checked against
the hand-written ``@njit`` gradient before it is timed), with the tools installed here.
Right panel: the latest full comparison committed in ``benchmarks/results/compare.json``
(run with every peer installed: ``python benchmarks/compare.py --json ...``), where it
exists. Writes ``cost_vs_size.png`` into ``--out``.

Run: python docs/scripts/plot_cost_vs_size.py [--out DIR] [--sizes 100 1000 ...]
"""
import argparse
import json
import pathlib
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import compare  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "compare.json"
STYLE = {"floor": ("k", "o"), "numad": ("C0", "s"), "scipy-fd": ("C7", "x"),
         "jax": ("C1", "^"), "torch": ("C3", "v"), "autograd": ("C2", "D"),
         "casadi": ("C4", "P")}


def plot_rows(ax, rows, title):
    tools = [t for t in compare.TOOLS if any(r["tool"] == t for r in rows)]
    for tool in tools:
        mine = sorted((r["size"], r["median_s"]) for r in rows
                      if r["tool"] == tool and r["status"] == "ok")
        if not mine:
            continue
        color, marker = STYLE.get(tool, ("C5", "."))
        ax.loglog([s for s, _ in mine], [t for _, t in mine], marker=marker, color=color,
                  label=compare.TOOL_TITLES.get(tool, tool).replace("`", ""))
    ax.set_xlabel("n (length of x)")
    ax.set_ylabel("seconds per gradient (median)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, which="major", alpha=0.3)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the figure (default: a temporary one)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="numad-docs-"))
    out.mkdir(parents=True, exist_ok=True)

    # finite differences cost n evaluations: capped so the build stays short
    rows = compare.measure("rosen_vec", sizes=args.sizes, repeat=args.repeat,
                           max_seconds=0.5, log=None)
    full = None
    if RESULTS.exists():
        data = json.loads(RESULTS.read_text())
        full = [r for r in data["rows"] if r["workload"] == "rosen_vec"]
        info = data.get("machine", {})
        machine = f"{info.get('cpu', '?')}, {info.get('cores', '?')} cores, {info.get('date', '')}"
    panels = 2 if full else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.5), squeeze=False)
    plot_rows(axes[0, 0], rows, "vectorized Rosenbrock, measured when these pages were built")
    if full:
        plot_rows(axes[0, 1], full, f"the latest full comparison\n{machine}")
    fig.tight_layout()
    fig.savefig(out / "cost_vs_size.png", dpi=110)
    plt.close(fig)
    for r in rows:
        if r["status"] == "ok":
            print(f"{r['tool']:>10s}  n={r['size']:>8d}  {r['median_s'] * 1e3:9.3f} ms"
                  f"  ({r['ratio']:.2f}x the floor)")
    print(f"wrote {out / 'cost_vs_size.png'}")
    return rows


if __name__ == "__main__":
    main()
