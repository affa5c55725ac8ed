"""A million-step simulation differentiated under each checkpoint strategy of nd.scan.

A damped, driven pendulum

    theta'' = -damping * theta' - omega0**2 * sin(theta) + drive * cos(frequency * t)

is integrated by explicit fourth-order Runge-Kutta, one ``nd.scan`` step per time step
(h = 0.01, so 10^6 steps reach t = 10^4), and the loss is the time average of theta^2
along the whole trajectory, accumulated in the carry. Its gradient with respect to the
four parameters is computed under each checkpoint strategy; each runs in a fresh
subprocess so that its peak memory can be measured honestly (the process's maximum
resident set size, ``ru_maxrss``, minus that of a baseline process that imports
numad, loads its compiled kernels and differentiates a two-step scan; every process
does that first, and the timings start after it).

For each strategy the script prints the time to trace the function and to take the
gradient, the forward steps, snapshots and recorded steps of its schedule
(``nd.checkpoint_schedule``), the peak memory, the bytes of the tape's own buffers
(``tape.nbytes`` plus the loop's snapshots and recordings), the bytes of the
loop's schedule state (a short table, or the binomial generator's stack), and how far
its gradient is from store_all's.
``recompute_all`` runs ``steps * (steps + 1) / 2`` steps: it is run only for short
simulations, and otherwise skipped with an estimate of its time.

Run: python examples/long_simulation.py [--steps N] [--quick] [--out DIR] [--no-plot]
(``--quick``: 300 steps, recompute_all included. The figure, long_simulation.png, needs
matplotlib; it goes to DIR, or to a fresh temporary directory whose name is printed.)
"""
import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

import numad as nd

H = 0.01                                   # the time step
NAMES = ("damping", "omega0", "drive", "frequency")
PARAMS = np.array([0.5, 1.0, 0.6, 0.7])   # a periodic (not chaotic) regime
START = (1.0, 0.0)                         # theta, theta' at t = 0
SNAPSHOTS = 20                             # binomial's snapshot budget
RECOMPUTE_ALL_MAX_STEPS = 5000             # beyond this, recompute_all is not run
QUICK_STEPS = 300
# (label, checkpoint, snapshots)
STRATEGIES = (("store_all", "store_all", None),
              ("uniform", "uniform", None),
              (f"binomial({SNAPSHOTS})", "binomial", SNAPSHOTS),
              ("recompute_all", "recompute_all", None),
              ("auto", "auto", None))


def mean_square_angle(params, steps, checkpoint="auto", snapshots=None):
    """The time average of theta^2 over ``steps`` RK4 steps of the driven pendulum."""
    damping, omega0, drive, frequency = params[0], params[1], params[2], params[3]
    stiffness = omega0 * omega0

    def acceleration(theta, velocity, t):
        return -damping * velocity - stiffness * np.sin(theta) + drive * np.cos(frequency * t)

    def step(carry, _):
        theta, velocity, t, total = carry
        k1 = velocity, acceleration(theta, velocity, t)
        k2 = (velocity + 0.5 * H * k1[1],
              acceleration(theta + 0.5 * H * k1[0], velocity + 0.5 * H * k1[1], t + 0.5 * H))
        k3 = (velocity + 0.5 * H * k2[1],
              acceleration(theta + 0.5 * H * k2[0], velocity + 0.5 * H * k2[1], t + 0.5 * H))
        k4 = (velocity + H * k3[1],
              acceleration(theta + H * k3[0], velocity + H * k3[1], t + H))
        theta = theta + (H / 6) * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        velocity = velocity + (H / 6) * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        return (theta, velocity, t + H, total + H * theta * theta), None

    (_, _, _, total), _ = nd.scan(step, (START[0], START[1], 0.0, 0.0), length=steps,
                                  checkpoint=checkpoint, snapshots=snapshots)
    return total / (steps * H)


# ---- one strategy, in its own process ---------------------------------------------------

def worker(steps, checkpoint, snapshots):
    """Trace, differentiate, and measure; returns what the table needs (JSON-able)."""
    x = PARAMS.copy()
    # load the compiled kernels (from Numba's cache) before anything is timed
    t0 = time.perf_counter()
    nd.grad(lambda p: mean_square_angle(p, 2, checkpoint, snapshots))(x)
    warmup = time.perf_counter() - t0
    t0 = time.perf_counter()
    tape = nd.trace(lambda p: mean_square_angle(p, steps, checkpoint, snapshots), x)
    t1 = time.perf_counter()
    gradient = tape.gradient(x)
    t2 = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    (loop,) = tape.loops
    # the schedule the loop ran: nd.checkpoint_schedule(steps, snapshots, strategy), as
    # numad's loop runner calls it ("auto" is binomial with the budget's snapshots; a
    # compiled step, which records input carries only, runs it with carries_only=True)
    schedule = loop.schedule
    return {
        "loss": float(tape.outputs()), "gradient": [float(g) for g in gradient],
        "warmup_seconds": warmup, "trace_seconds": t1 - t0, "gradient_seconds": t2 - t1,
        "peak_bytes": 1024 * peak_kib,
        "tape_bytes": int(tape.nbytes), "loop_bytes": int(sum(r.nbytes for r in tape.loops)),
        # what the loop holds to follow its schedule: a short table, or the state of the
        # binomial generator (binomial rows are made one at a time as the loop runs)
        "schedule_bytes": int(loop.table.nbytes + loop.stack.nbytes + loop.pending.nbytes),
        "schedule_strategy": schedule.strategy,
        "schedule_snapshots": int(schedule.snapshots or 0),
        "strategy": schedule.strategy,
        "forward_steps": int(schedule.forward_steps),
        "peak_snapshots": int(schedule.peak_snapshots),
        "peak_recorded": int(schedule.peak_recorded),
        "compiled_step": loop.step is not None,
    }


def run_worker(steps, checkpoint, snapshots):
    env = dict(os.environ)
    # the child imports the same numad as this process, installed or not
    here = str(pathlib.Path(nd.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--worker",
               checkpoint, "--steps", str(steps), "--snapshots", str(snapshots or 0)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"the {checkpoint} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- the comparison ---------------------------------------------------------------------

def compare(steps=10**6, plot=True, figure=None):
    """Run every strategy in its own process, print the table, draw the figure to the
    path ``figure`` (None: a fresh temporary directory); returns the results."""
    steps = int(steps)
    print(f"Driven pendulum, {steps} RK4 steps (t = 0 .. {steps * H:g}); gradient of the "
          f"mean of theta^2 with respect to {', '.join(NAMES)}")
    # The first process loads numad's kernels from Numba's cache, or compiles them
    # where the cache is cold (minutes, and hundreds of MiB that would spoil the
    # baseline); the baseline is taken from a second one.
    t0 = time.perf_counter()
    run_worker(2, "store_all", None)
    if time.perf_counter() - t0 > 30:
        print(f"(numad's kernels were compiled first: {time.perf_counter() - t0:.0f} s)")
    baseline = run_worker(2, "store_all", None)["peak_bytes"]
    print(f"baseline process (numad loaded, a 2-step scan differentiated): "
          f"{baseline / 2**20:.1f} MiB resident at peak")
    print()
    results = {}
    for label, checkpoint, snapshots in STRATEGIES:
        if checkpoint == "recompute_all" and steps > RECOMPUTE_ALL_MAX_STEPS:
            results[label] = {"skipped": True, "checkpoint": checkpoint,
                              "forward_steps": steps * (steps + 1) // 2}
            continue
        r = run_worker(steps, checkpoint, snapshots)
        r.update(checkpoint=checkpoint, snapshots=snapshots, skipped=False,
                 memory_bytes=r["peak_bytes"] - baseline)
        results[label] = r

    reference = np.array(results["store_all"]["gradient"])
    worst = 0.0
    for r in results.values():
        if not r["skipped"]:
            g = np.array(r["gradient"])
            r["max_relative_difference"] = float(np.max(np.abs(g - reference) /
                                                        np.abs(reference)))
            worst = max(worst, r["max_relative_difference"])

    header = (f"{'strategy':<15}{'forward':>11}{'peak':>7}{'peak':>9}{'trace':>8}"
              f"{'gradient':>10}{'peak RSS':>11}{'tape+loop':>11}{'schedule':>10}"
              f"{'rel. diff':>14}")
    units = (f"{'':<15}{'steps':>11}{'snaps':>7}{'recorded':>9}{'s':>8}{'s':>10}"
             f"{'MiB':>11}{'MiB':>11}{'MiB':>10}{'vs store_all':>14}")
    print(header)
    print(units)
    per_step = None
    for label, r in results.items():
        if r["skipped"]:
            continue
        print(f"{label:<15}{r['forward_steps']:>11}{r['peak_snapshots']:>7}"
              f"{r['peak_recorded']:>9}{r['trace_seconds']:>8.2f}"
              f"{r['gradient_seconds']:>10.2f}"
              f"{r['memory_bytes'] / 2**20:>11.1f}"
              f"{(r['tape_bytes'] + r['loop_bytes']) / 2**20:>11.3f}"
              f"{r['schedule_bytes'] / 2**20:>10.3f}{r['max_relative_difference']:>14.1e}")
        # seconds per step run (forward and reversed), for the estimate below
        cost = r["gradient_seconds"] / (r["forward_steps"] + steps)
        per_step = cost if per_step is None else min(per_step, cost)
    for label, r in results.items():
        if r["skipped"]:
            r["estimated_seconds"] = per_step * (r["forward_steps"] + steps)
            print(f"{label:<15}{r['forward_steps']:>11}  not run: it re-runs the loop from "
                  f"the start for every step, about {_duration(r['estimated_seconds'])} "
                  f"at {per_step * 1e6:.1f} us a step (run only up to "
                  f"{RECOMPUTE_ALL_MAX_STEPS} steps)")
    auto = results["auto"]
    if auto["strategy"] == "binomial":
        print(f"(auto = binomial with {auto['schedule_snapshots']} snapshots: as many carries "
              f"as nd.config.memory_budget = {nd.config.memory_budget / 2**20:g} MiB holds, "
              f"capped at the number of steps)")
    else:
        print(f"(auto = {auto['strategy']}: nd.config.memory_budget = "
              f"{nd.config.memory_budget / 2**20:g} MiB holds a carry for every step, and the "
              "compiled step records only its input carry)")
    print(f"loss {results['store_all']['loss']:.12f}; gradient (store_all) "
          f"{np.array2string(reference, precision=6)}")
    print(f"all strategies' gradients agree to a relative {worst:.1e}")
    print("(peak RSS is a high-water mark, over a baseline of the same process without the "
          "long loop: differences of a few MiB are within its noise)")
    for label, r in results.items():
        if r.get("warmup_seconds", 0) > 20:
            print(f"(numad's kernels were compiled in the {label} process, "
                  f"{r['warmup_seconds']:.0f} s: its peak memory includes the compiler's; "
                  "run again for a fair measurement)")
    summary = {"steps": steps, "baseline_bytes": baseline, "strategies": results,
               "gradient": reference, "loss": results["store_all"]["loss"],
               "max_relative_difference": worst, "figure": None}
    if plot and not _has_matplotlib():
        print("(matplotlib is not installed: no figure)")
    elif plot:
        if figure is None:
            figure = figure_directory(None) / "long_simulation.png"
        summary["figure"] = str(draw(results, steps, figure))
        print(f"wrote {summary['figure']}")
    return summary


def _duration(seconds):
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} s"


def _count(n):
    if n >= 10**9:
        return f"{n:.1e}"
    if n >= 10**6:
        return f"{n / 1e6:.2f}M"
    if n >= 10**4:
        return f"{n / 1e3:.0f}k"
    return str(n)


def _has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def figure_directory(out):
    """``out`` as a directory, or a fresh temporary one: figures never go into the
    repository unless asked."""
    path = pathlib.Path(out) if out else pathlib.Path(tempfile.mkdtemp(prefix="numad-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def draw(results, steps, figure):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(results)
    xs = np.arange(len(labels))
    fig, (mem, tim) = plt.subplots(1, 2, figsize=(12, 4.8))
    floor = 10.0  # bytes: what a zero or negative difference is drawn as on the log axis
    series = (("peak RSS over baseline", "memory_bytes", "C0"),
              ("tape + loop buffers", None, "C1"),
              ("schedule state", "schedule_bytes", "C2"))
    width = 0.27
    for k, (name, key, color) in enumerate(series):
        heights = []
        for label in labels:
            r = results[label]
            if r["skipped"]:
                heights.append(np.nan)
            elif key is None:
                heights.append(r["tape_bytes"] + r["loop_bytes"])
            else:
                heights.append(r[key])
        mem.bar(xs + (k - 1) * width, np.maximum(heights, floor), width, label=name,
                color=color)
    mem.set_yscale("log")
    mem.set_ylim(floor, 1e3 * max(max(r["memory_bytes"], r["tape_bytes"] + r["loop_bytes"])
                                  for r in results.values() if not r["skipped"]))
    mem.set_ylabel("bytes")
    mem.set_title(f"memory, {steps:,} steps")
    for x, label in zip(xs, labels):
        if results[label]["skipped"]:
            mem.text(x, floor * 2, "not run", ha="center", rotation=90, va="bottom")
    mem.legend(fontsize=8, loc="upper center", ncol=3)

    for x, label in zip(xs, labels):
        r = results[label]
        if r["skipped"]:
            tim.bar(x, r["estimated_seconds"], 0.6, color="none", edgecolor="C3", hatch="//",
                    label="estimated, not run")
            seconds = r["estimated_seconds"]
        else:
            tim.bar(x, r["gradient_seconds"], 0.6, color="C3")
            seconds = r["gradient_seconds"]
        tim.text(x, seconds * 1.15, f"{_count(r['forward_steps'])}\nsteps", ha="center",
                 va="bottom", fontsize=8)
    tim.set_yscale("log")
    top = max(r["estimated_seconds"] if r["skipped"] else r["gradient_seconds"]
              for r in results.values())
    tim.set_ylim(top=top * 20)
    tim.set_ylabel("seconds (gradient, after tracing)")
    tim.set_title("time, and forward steps run")
    if any(r["skipped"] for r in results.values()):
        tim.legend(fontsize=8)
    for ax in (mem, tim):
        ax.set_xticks(xs)
        ax.set_xticklabels(labels, rotation=15)
    fig.suptitle("Reverse mode through a driven pendulum's RK4 loop (nd.scan), "
                 "one process per strategy")
    fig.tight_layout()
    figure = pathlib.Path(figure)
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=120)
    plt.close(fig)
    return figure


def main(argv=None, *, steps=None, plot=None, figure=None):
    """Parse the command-line arguments ``argv`` (None: none) and run ``compare``;
    returns its summary. The keywords replace the command line altogether: callers
    that ran the comparison as ``main(steps=..., plot=..., figure=...)`` before it took
    one (tests/test_scan_examples.py) still do."""
    if (steps, plot, figure) != (None, None, None):
        return compare(10**6 if steps is None else steps, plot is not False, figure)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="RK4 steps (default 10^6)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_STEPS} steps (unless --steps says otherwise)")
    parser.add_argument("--out", help="directory for the figure (default: a temporary one)")
    parser.add_argument("--no-plot", action="store_true", help="skip the figure")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--snapshots", type=int, default=0, help=argparse.SUPPRESS)
    options = parser.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv
    steps = options.steps or (QUICK_STEPS if options.quick else 10**6)
    if options.worker:      # one strategy, in the process that run_worker started
        print(json.dumps(worker(steps, options.worker, options.snapshots or None)))
        return None
    plot = not options.no_plot
    figure = None
    if plot and _has_matplotlib():
        figure = figure_directory(options.out) / "long_simulation.png"
    return compare(steps, plot, figure)


if __name__ == "__main__":
    main(sys.argv[1:])
