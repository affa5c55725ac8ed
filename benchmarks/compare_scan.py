"""Long simulations: numad's ``nd.scan`` gradient against a hand-written floor.

    PYTHONPATH=. .venv/bin/python benchmarks/compare_scan.py [--repeats N] [--steps N]
        [--mem-steps N] [--no-memory] [--no-layouts]

The workload is ``benchmarks/_lotka_volterra.py``: a Lotka-Volterra loss summed over
every step of a fixed-step RK4 integration, differentiated with respect to the four
parameters. Everything is measured in one run on this machine:

1. *Peak memory* at ``--mem-steps`` (10**6) steps, each configuration in a fresh
   subprocess (``python -c "from benchmarks.compare_scan import child; child(...)"``)
   that reports its own peak resident set size at the end, minus that of a baseline
   subprocess (imports numad, loads its compiled kernels, traces and differentiates
   the same loss at 16 steps). These run first, while this process is still small:
   Linux keeps a process's ``ru_maxrss`` across ``exec``, so a child of a large parent
   reports the parent's peak as its own. Both figures are printed: ``VmHWM`` from
   ``/proc/self/status`` (the peak of the child's own address space, not inherited)
   and ``ru_maxrss``.
2. *Time* at ``--steps`` (10**5) steps in this process: the ``@numba.njit`` primal and
   hand-written adjoint (the floor), and numad's cached ``nd.gradient`` under each
   checkpoint strategy: the first call (trace, buffers, sweeps) from a fresh
   ``nd.gradient`` and the steady-state call, best of ``--repeats``, rounds
   interleaved so that a burst of load on a shared machine hits them alike.
   ``recompute_all`` is left out (length**2 / 2 = 5e9 step runs at 10**5 steps).
3. The scan layouts of ``_lotka_volterra.SCAN_LAYOUTS`` (state as scalars or as an
   array; the loss in the carry or as the scan's outputs), which ``numad_loss`` picks
   from.

Every gradient is checked against the floor's before its time is printed.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STRATEGIES = [("store_all", None), ("uniform", None), ("binomial", 20), ("auto", None)]
MEM_CONFIGS = [("store_all", None), ("binomial", 20), ("uniform", None), ("auto", None)]
MEM_TARGET = 1 / 20     # binomial(20) peak memory / store_all's
TIME_TARGET = 4.0       # binomial(20) gradient time / store_all's


def _label(strategy, snapshots):
    return strategy if snapshots is None else f"{strategy}({snapshots})"


def _peaks():
    """(VmHWM, ru_maxrss) of this process, in bytes."""
    hwm = None
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return hwm, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---------------------------------------------------------------------------------------
# The subprocess side


def child(strategy, snapshots, n, calls=3):
    """Run in a fresh interpreter: differentiate the loss at ``n`` steps ``calls`` times
    (the first traces) and print one JSON line with the times and the peaks."""
    sys.path.insert(0, ROOT)
    import numpy as np
    import numad as nd
    from benchmarks import _lotka_volterra as LV

    # first what the baseline does: load (or compile) the kernels, trace a tiny loop
    t0 = time.perf_counter()
    tiny = nd.gradient(LV.numad_loss)
    for _ in range(2):
        tiny(LV.P, LV.make_data(16), LV.H, strategy, snapshots)
    warmup = time.perf_counter() - t0
    data = LV.make_data(n)
    jac = nd.gradient(LV.numad_loss)
    args = (LV.P, data, LV.H, strategy, snapshots)
    times = []
    g = None
    for _ in range(calls):
        t0 = time.perf_counter()
        g = jac(*args)
        times.append(time.perf_counter() - t0)
    (tapes,) = jac.cache.tapes.values()
    tape = tapes[0]
    hwm, maxrss = _peaks()   # (before .schedule below, which builds a whole table)
    run = tape.loops[0]
    print(json.dumps(dict(
        strategy=strategy, snapshots=snapshots, n=n, first_s=times[0],
        steady_s=min(times[1:]) if len(times) > 1 else None, grad=[float(v) for v in g],
        hwm=hwm, maxrss=maxrss, tape_nbytes=tape.nbytes,
        loop_nbytes=sum(run.nbytes for run in tape.loops),
        forward_steps=int(run.schedule.forward_steps), warmup_s=warmup,
        data_nbytes=int(np.asarray(data).nbytes))))


def _child_command(strategy, snapshots, n, calls):
    code = (f"from benchmarks.compare_scan import child; "
            f"child({strategy!r}, {snapshots!r}, {n}, {calls})")
    return [sys.executable, "-c", code]


def _run_child(strategy, snapshots, n, calls):
    cmd = _child_command(strategy, snapshots, n, calls)
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"compare_scan.py: child {strategy} n={n} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), cmd


def memory_runs(n):
    """Baseline and each configuration, each in a fresh subprocess. Runs before this
    process imports NumPy (see the module docstring)."""
    launcher = _peaks()
    _run_child("store_all", None, 16, 2)          # warm-up: numba's cache, page cache
    base, base_cmd = _run_child("store_all", None, 16, 2)
    runs = []
    for strategy, snapshots in MEM_CONFIGS:
        res, cmd = _run_child(strategy, snapshots, n, 3)
        runs.append((res, cmd))
    return dict(launcher=launcher, base=base, base_cmd=base_cmd, runs=runs, n=n)


# ---------------------------------------------------------------------------------------
# Timing in this process


def _interleaved(fns, repeats, rounds=3):
    from benchmarks._workloads import best_of
    best = [float("inf")] * len(fns)
    per_round = max(1, (repeats + rounds - 1) // rounds)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            best[k] = min(best[k], best_of(fn, per_round))
    return best


def _rel_err(g, want):
    import numpy as np
    return float(np.max(np.abs(np.asarray(g) - want) / np.abs(want)))


def _check(name, g, want, rtol=1e-9):
    err = _rel_err(g, want)
    if not err <= rtol:
        raise SystemExit(f"compare_scan.py: {name}: wrong gradient (max rel diff {err:.2e}); "
                         f"got {g}, want {want}")
    return err


def _jax_row(data, p, h, repeats):
    """JAX's grad of lax.scan, jit-compiled, float64 (only where jax is installed)."""
    try:
        import jax
    except ImportError:
        return None, "not installed"
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from benchmarks._lotka_volterra import Y0, rk4_step

    def loss(p, data):
        a, b, c, d = p[0], p[1], p[2], p[3]
        hh, h6 = 0.5 * h, h / 6.0

        def step(carry, row):
            u, v, acc = carry
            u, v = rk4_step(u, v, a, b, c, d, h, hh, h6)
            du, dv = u - row[0], v - row[1]
            return (u, v, acc + (du * du + dv * dv)), None

        init = (jnp.float64(Y0[0]), jnp.float64(Y0[1]), jnp.float64(0.0))
        (_, _, acc), _ = jax.lax.scan(step, init, data)
        return acc

    g = jax.jit(jax.grad(loss))
    pj, dj = jnp.asarray(p), jnp.asarray(data)
    t0 = time.perf_counter()
    out = g(pj, dj).block_until_ready()
    first = time.perf_counter() - t0
    best = _interleaved([lambda: g(pj, dj).block_until_ready()], repeats, rounds=1)[0]
    return (first, best, out), f"jax {jax.__version__}"


def machine_facts(load_at_start):
    import llvmlite
    import numba
    import numpy as np
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(line.split()[1] for line in f if line.startswith("MemTotal")))
            mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "numad"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        commit += " (numad/ has uncommitted changes)" if dirty else ""
    except OSError:
        commit = "?"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return [
        ("machine", f"{platform.machine()}, {cpu}, {os.cpu_count()} cores "
                    f"({affinity} usable), {mem} RAM"),
        ("software", f"Python {platform.python_version()}, NumPy {np.__version__}, "
                     f"numba {numba.__version__}, llvmlite {llvmlite.__version__}"),
        ("numad", f"git {commit}"),
        ("threads", f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}"),
        ("load", "1/5/15-min load average at start %.2f %.2f %.2f (other processes "
                 "on this machine slow every figure alike)" % load_at_start),
    ]


def timing(n, repeats):
    import numpy as np
    import numad as nd
    from benchmarks import _lotka_volterra as LV

    data = LV.make_data(n)
    p = LV.P.copy()
    floor = LV.Floor(n)
    floor.gradient(p, data)
    want = floor.gradient(p, data).copy()
    loss = LV.primal(p, data)

    import numad.loop_runner as LR
    # numad keeps recent schedule tables (an lru_cache): a first call builds its own
    schedule_caches = [f for f in vars(LR).values() if hasattr(f, "cache_clear")]

    # load (or compile) every kernel the variants use, outside every timing
    from benchmarks._workloads import warm_numad
    warm_numad()
    tiny = LV.make_data(16)
    for s, k in STRATEGIES:
        nd.gradient(LV.numad_loss)(p, tiny, LV.H, s, k)
        nd.gradient(LV.make_odeint_loss(LV.H))(p, tiny, s, k)

    rows = []   # (label, first_s, steady_s, fwd_s, err, schedule forward steps, loop bytes)
    grads, tapes, firsts = {}, {}, {}
    # compile="auto" (the default) compiles the step at these lengths; one generic row
    # (compile="never") shows what the compiled step saves
    variants = [(f"nd.scan {_label(s, k)}", LV.numad_loss, (p, data, LV.H, s, k), "auto")
                for s, k in STRATEGIES]
    variants += [(f"nd.odeint {_label(s, k)}", LV.make_odeint_loss(LV.H), (p, data, s, k),
                  "auto") for s, k in (("store_all", None), ("binomial", 20))]
    variants += [("nd.scan store_all, not compiled", LV.numad_loss,
                  (p, data, LV.H, "store_all", None), "never")]
    for label, f, args, mode in variants:
        # the first call: a fresh nd.gradient traces, allocates, sweeps (best of 2)
        first = float("inf")
        for _ in range(2):
            for cache in schedule_caches:
                cache.cache_clear()
            jac = nd.gradient(f, compile=mode)
            t0 = time.perf_counter()
            g = jac(*args)
            first = min(first, time.perf_counter() - t0)
        err = _check(label, g, want)
        jac(*args)
        err = max(err, _check(label + " (replay)", jac(*args), want))
        (cached,) = jac.cache.tapes.values()
        grads[label] = (jac, args, err)
        tapes[label] = cached[0]
        firsts[label] = first

    labels = list(grads)
    fns = [lambda: LV.primal(p, data), lambda: floor.gradient(p, data)]
    fns += [(lambda jac=grads[lb][0], args=grads[lb][1]: jac(*args)) for lb in labels]
    fns += [(lambda tape=tapes[lb], args=grads[lb][1]: tape(*args)) for lb in labels]
    times = _interleaved(fns, repeats)
    t_primal, t_floor = times[0], times[1]
    t_grad = dict(zip(labels, times[2:2 + len(labels)]))
    t_fwd = dict(zip(labels, times[2 + len(labels):]))
    for lb in labels:
        run = tapes[lb].loops[0]
        rows.append((lb, firsts[lb], t_grad[lb], t_fwd[lb], grads[lb][2],
                     run.schedule.forward_steps, run.nbytes + tapes[lb].nbytes))
    jax_res, jax_note = _jax_row(data, p, LV.H, repeats)
    return dict(n=n, loss=loss, t_primal=t_primal, t_floor=t_floor, rows=rows,
                jax=(jax_res, jax_note), want=want)


def layouts(n, repeats):
    from benchmarks import _lotka_volterra as LV
    import numad as nd
    data = LV.make_data(n)
    floor = LV.Floor(n)
    want = floor.gradient(LV.P, data).copy()
    out = []
    fns = []
    for name, f in LV.SCAN_LAYOUTS.items():
        for s, k in (("store_all", None), ("binomial", 20)):
            jac = nd.gradient(f)
            args = (LV.P, data, LV.H, s, k)
            _check(f"layout {name}", jac(*args), want)
            (cached,) = jac.cache.tapes.values()
            run = cached[0].loops[0]
            out.append((name, _label(s, k), run.be - run.bs))
            fns.append(lambda jac=jac, args=args: jac(*args))
    times = _interleaved(fns, repeats, rounds=2)
    return [(name, lab, entries, t) for (name, lab, entries), t in zip(out, times)]


# ---------------------------------------------------------------------------------------


def _ms(s):
    return f"{s * 1e3:9.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=6, help="best of this many calls")
    ap.add_argument("--steps", type=int, default=10 ** 5, help="steps for the timings")
    ap.add_argument("--mem-steps", type=int, default=10 ** 6, help="steps for the memory runs")
    ap.add_argument("--no-memory", action="store_true", help="skip the subprocess runs")
    ap.add_argument("--no-layouts", action="store_true", help="skip the layout comparison")
    opts = ap.parse_args()
    t_start = time.perf_counter()
    load_at_start = os.getloadavg()

    mem = None if opts.no_memory else memory_runs(opts.mem_steps)

    sys.path.insert(0, ROOT)
    print("compare_scan.py: Lotka-Volterra RK4 loss over every step, gradient w.r.t. "
          "p = (a, b, c, d)")
    print(f"command: PYTHONPATH=. {os.path.relpath(sys.executable, ROOT)} "
          f"{os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)} {' '.join(sys.argv[1:])}")
    for k, v in machine_facts(load_at_start):
        print(f"{k:9s}: {v}")
    print()

    tim = timing(opts.steps, opts.repeats)
    n = tim["n"]
    print(f"== Gradient at N = {n:.0e} steps (h = 2**-10), best of {opts.repeats} "
          f"(3 interleaved rounds); loss = {tim['loss']:.6f}")
    print("   first call = a fresh nd.gradient: trace + buffers + sweeps (best of 2); "
          "fwd-only = tape(*args), the loop's first pass alone")
    hdr = (f"   {'variant':28s} {'first ms':>9s} {'grad ms':>9s} {'ns/step':>8s} "
           f"{'x floor':>8s} {'x st_all':>8s} {'fwd-only':>9s} {'steps run':>9s} "
           f"{'buffers':>9s} {'rel err':>8s}")
    print(hdr)
    print("   " + "-" * (len(hdr) - 3))
    tf = tim["t_floor"]
    print(f"   {'@njit primal (loss only)':28s} {'':>9s} {_ms(tim['t_primal'])} "
          f"{tim['t_primal'] / n * 1e9:8.1f} {tim['t_primal'] / tf:8.2f}")
    print(f"   {'@njit hand-written adjoint':28s} {'':>9s} {_ms(tf)} {tf / n * 1e9:8.1f} "
          f"{1.0:8.2f} {'':>8s} {'':>9s} {'':>9s} {16 * (n + 1) / 2**20:7.1f}MB")
    base = {r[0].split()[0]: r[2] for r in tim["rows"] if r[0].endswith("store_all")}
    for lb, first, tg, tfw, err, steps, nbytes in tim["rows"]:
        st = base[lb.split()[0]]
        print(f"   {lb:28s} {_ms(first)} {_ms(tg)} {tg / n * 1e9:8.0f} {tg / tf:8.1f} "
              f"{tg / st:8.2f} {_ms(tfw)} {steps / n:8.2f}N {nbytes / 2**20:7.1f}MB "
              f"{err:8.1e}")
    (jres, jnote) = tim["jax"]
    if jres is None:
        print(f"   {'JAX grad of lax.scan':28s} {jnote}")
    else:
        first, best, g = jres
        _check("jax", g, tim["want"])
        print(f"   {'JAX grad of lax.scan (jit)':28s} {_ms(first)} {_ms(best)} "
              f"{best / n * 1e9:8.0f} {best / tf:8.1f}   ({jnote})")
    print("   recompute_all: not timed (N**2/2 step runs)")
    print("   x floor = numad gradient / hand-written @njit gradient; x st_all = / the same "
          "front end's store_all; steps run = forward step runs of the schedule;")
    print("   buffers = tape.nbytes + tape.loops[0].nbytes (snapshots, recordings, "
          "schedule table), at the end of the run")
    print()

    if mem is not None:
        import numpy as np
        from benchmarks import _lotka_volterra as LV
        nm = mem["n"]
        data = LV.make_data(nm)
        want = LV.floor_gradient(LV.P, data)[1]
        b = mem["base"]
        lhwm, lmax = mem["launcher"]
        print(f"== Peak memory of the gradient at N = {nm:.0e} steps, each in a fresh "
              "subprocess (3 calls: the first traces)")
        print(f"   baseline: {' '.join(mem['base_cmd'][:2])} \"{mem['base_cmd'][2]}\"")
        print(f"     (imports numad, loads its kernels, traces and differentiates the loss "
              f"at 16 steps): VmHWM {b['hwm'] / 2**20:.1f} MiB, ru_maxrss "
              f"{b['maxrss'] / 2**20:.1f} MiB; this launcher's own peak when it spawned "
              f"them: {lmax / 2**20:.1f} MiB")
        print(f"   the data alone ({nm} x 2 floats) is {2 * 8 * nm / 2**20:.1f} MiB, and the "
              "tape keeps a copy of it and its adjoint")
        hdr = (f"   {'strategy':14s} {'VmHWM-base':>11s} {'maxrss-base':>11s} "
               f"{'numad bytes':>11s} {'warm-up s':>9s} {'first s':>8s} "
               f"{'grad s':>8s} {'ns/step':>8s} {'steps run':>10s} {'rel err':>8s}")
        print(hdr)
        print("   " + "-" * (len(hdr) - 3))
        got = {}
        for res, cmd in mem["runs"]:
            err = _check(f"memory run {res['strategy']}", np.array(res["grad"]), want)
            lab = _label(res["strategy"], res["snapshots"])
            dh = res["hwm"] - b["hwm"]
            dm = res["maxrss"] - b["maxrss"]
            nb = res["tape_nbytes"] + res["loop_nbytes"]
            got[lab] = (dh, dm, res["steady_s"])
            print(f"   {lab:14s} {dh / 2**20:9.1f}Mi {dm / 2**20:9.1f}Mi {nb / 2**20:9.1f}Mi "
                  f"{res['warmup_s']:9.2f} "
                  f"{res['first_s']:8.2f} {res['steady_s']:8.2f} "
                  f"{res['steady_s'] / nm * 1e9:8.0f} {res['forward_steps'] / nm:9.2f}N "
                  f"{err:8.1e}")
        print("   VmHWM-base, maxrss-base: the subprocess's peak RSS minus the baseline's; "
              "numad bytes: tape.nbytes + tape.loops[0].nbytes at the end (buffers and")
        print("   schedule table); warm-up: what the baseline does, in the same subprocess, "
              "before the timed calls (numba cache loading, or compiling)")
        print("   command per row: " + " ".join(mem["runs"][0][1][:2])
              + ' "' + mem["runs"][0][1][2] + '" (strategy, snapshots, N, calls)')
        sa, bi = got["store_all"], got["binomial(20)"]
        rm = bi[0] / sa[0]
        rt = bi[2] / sa[2]
        print(f"   binomial(20) / store_all: peak memory {rm:.4f} (1/{1 / rm:.0f}; target "
              f"< 1/20: {'met' if rm < MEM_TARGET else 'MISSED'}), ru_maxrss "
              f"{bi[1] / sa[1]:.4f}; gradient time {rt:.2f}x (target < {TIME_TARGET:g}x: "
              f"{'met' if rt < TIME_TARGET else 'MISSED'})")
        print()

    if not opts.no_layouts:
        print(f"== nd.scan layouts of the same step at N = {n:.0e} (best of "
              f"{max(2, opts.repeats // 2)} calls, 2 rounds); numad_loss uses the first")
        lay = layouts(n, max(2, opts.repeats // 2))
        for name, lab, entries, t in lay:
            print(f"   {name:22s} {lab:14s} {entries:4d} body entries {_ms(t)} ms "
                  f"{t / n * 1e9:7.0f} ns/step")
        print()
    print(f"(total {time.perf_counter() - t_start:.0f} s; 1/5/15-min load average at the "
          "end %.2f %.2f %.2f)" % os.getloadavg())


if __name__ == "__main__":
    main()
