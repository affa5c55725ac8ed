"""Checkpointing's trade of memory for time, per strategy, from ``nd.checkpoint_schedule``.

For a loop of ``--length`` steps (default 10,000) reversed by ``nd.scan``, each strategy
holds some states at once (its memory, in carries: snapshots plus recorded steps) and
runs the step forward some number of times in one value-and-gradient computation (its
time, in forward steps per step of the loop). These are the schedules ``nd.scan`` runs,
counted exactly, not timed. Writes ``checkpointing.png`` and ``checkpointing_table.md``
(the table the concepts page includes) into ``--out``.

Run: python docs/scripts/plot_checkpointing.py [--out DIR] [--length L]
"""
import argparse
import pathlib
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import numad as nd  # noqa: E402

BINOMIAL_SNAPSHOTS = (1, 2, 3, 5, 10, 20, 50, 100)


def schedules(length):
    """(label, strategy, snapshots, memory in carries, forward steps / length) per plan."""
    plans = [("store_all", "store_all", None), ("uniform", "uniform", None),
             ("recompute_all", "recompute_all", None)]
    plans += [(f"binomial({s})", "binomial", s) for s in BINOMIAL_SNAPSHOTS]
    rows = []
    for label, strategy, snapshots in plans:
        plan = nd.checkpoint_schedule(length, snapshots, strategy)
        memory = plan.peak_snapshots + plan.peak_recorded
        rows.append((label, strategy, snapshots, memory, plan.forward_steps / length))
    return rows


def markdown_table(rows, length):
    lines = [f"| strategy (loop of {length:,} steps) | states held at once | "
             "forward steps per step |", "|---|---:|---:|"]
    for label, _, _, memory, time in rows:
        lines.append(f"| `{label}` | {memory:,} | {time:,.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the files (default: a temporary one)")
    parser.add_argument("--length", type=int, default=10_000, help="steps of the loop")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="numad-docs-"))
    out.mkdir(parents=True, exist_ok=True)

    rows = schedules(args.length)
    (out / "checkpointing_table.md").write_text(markdown_table(rows, args.length))

    fig, ax = plt.subplots(figsize=(7, 4.5))
    binomial = [r for r in rows if r[1] == "binomial"]
    ax.loglog([r[3] for r in binomial], [r[4] for r in binomial], "o-", color="C0",
              label="binomial (revolve), s snapshots")
    for label, _, snapshots, memory, time in binomial:
        ax.annotate(f"s={snapshots}", (memory, time), textcoords="offset points",
                    xytext=(4, 4), fontsize=7, color="C0")
    markers = {"store_all": ("s", "C2"), "uniform": ("^", "C1"),
               "recompute_all": ("v", "C3")}
    for label, strategy, _, memory, time in rows:
        if strategy in markers:
            marker, color = markers[strategy]
            ax.loglog([memory], [time], marker, color=color, ms=9, label=label)
    ax.set_xlabel("states held at once (memory, in carries)")
    ax.set_ylabel("forward steps per loop step (time)")
    ax.set_title(f"Reversing a loop of {args.length:,} steps: memory against time")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "checkpointing.png", dpi=110)
    plt.close(fig)
    print(f"wrote {out / 'checkpointing.png'} and the table:")
    print(markdown_table(rows, args.length))
    return rows


if __name__ == "__main__":
    main()
