"""numad's core costs side by side, against the performance issue's targets.

    PYTHONPATH=. .venv/bin/python benchmarks/compare_core.py [--repeats N]

Everything runs in one process: each workload is run once first (numba compile or
cache loading, tracing, buffer allocation excluded), then timed best-of-N with
``time.perf_counter``, each batch long enough (~50 ms) to swamp the timer. The
workloads are those of the asv suite (``benchmarks/_workloads.py``). numad against its
peers (JAX, PyTorch, autograd, CasADi) is ``benchmarks/compare.py``.
"""
import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._workloads import (JAC_N, SCALAR_N, TARGETS, best_of,  # noqa: E402
                                   forward_kernel, jac_matrix, load, make_jac_function,
                                   make_jac_scalar_function, make_mix_function,
                                   make_mix_program, mix_point, nd, op_counts,
                                   reference_sweeps, reverse_kernel, rosen_der,
                                   rosen_grad_njit, rosen_loop, rosen_point, rosen_vec, warm,
                                   warm_numad)


def _check(name, got, want, rtol=1e-9, atol=1e-12):
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        raise SystemExit(f"compare_core.py: {name}: wrong answer (max diff "
                         f"{np.max(np.abs(np.asarray(got) - np.asarray(want)))})")


def interleaved(fns, R, rounds=3, number=None):
    """Best per-call seconds of each of ``fns``, measured in ``rounds`` interleaved rounds
    of best-of-``R`` so that a burst of load on a shared machine hits them alike."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            best[k] = min(best[k], best_of(fn, R, number=number))
    return best


def sweep_figures(tape, x, R):
    """ns per entry: forward kernel, reverse kernel, both kernels, tape.gradient."""
    n = len(tape)
    tape.gradient(x)
    load(tape, x)

    def both():
        forward_kernel(tape)
        reverse_kernel(tape)
    times = interleaved([lambda: forward_kernel(tape), lambda: reverse_kernel(tape), both,
                         lambda: tape.gradient(x)], R)
    return [t / n * 1e9 for t in times]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="best of this many batches")
    R = ap.parse_args().repeats

    rows = []   # (section, label, value, unit, target text, ok or None)

    def row(section, label, value, unit, target=None, ok=None):
        rows.append((section, label, value, unit, target, ok))

    # ---- warm-up: load/compile every sweep and adapter path once -------------------------
    warm_numad()

    # ---- tracing: scalar-loop Rosenbrock ------------------------------------------------
    x = rosen_point(SCALAR_N)
    tape = nd.trace(rosen_loop, x)
    n_entries = len(tape)
    counts = op_counts(tape)
    n_ops = n_entries - counts.get("alias", 0) - counts.get("const", 0) - counts.get("input", 0)
    t_trace = best_of(lambda: nd.trace(rosen_loop, x), R, number=3)
    t_py = best_of(lambda: rosen_loop(x), R)
    xl = [float(v) for v in x]
    t_pyf = best_of(lambda: rosen_loop(xl), R)
    us = t_trace / n_entries * 1e6
    sec = f"Scalar-loop Rosenbrock, n={SCALAR_N}: {n_entries} entries"
    row(sec, "tracing, per entry", us, "us",
        f"< {TARGETS['trace_us_per_op']}", us < TARGETS["trace_us_per_op"])
    row(sec, f"tracing, per arithmetic op ({n_ops} ops)", t_trace / n_ops * 1e6, "us")
    row(sec, "tracing, whole function", t_trace * 1e3, "ms")
    row(sec, "plain Python primal, x ndarray / list", t_py * 1e3, "ms",
        f"list: {t_pyf * 1e3:.2f} ms")
    _check("scalar Rosenbrock gradient", tape.gradient(x), rosen_der(x))
    fwd, rev, kern, full = sweep_figures(tape, x, R)
    row(sec, "forward sweep (kernel)", fwd, "ns/entry")
    row(sec, "reverse sweep (kernel)", rev, "ns/entry")
    row(sec, "forward + reverse (kernels only)", kern, "ns/entry")
    row(sec, "forward + reverse (tape.gradient)", full, "ns/entry",
        f"< {TARGETS['rosen_fwdrev_ns']}", full < TARGETS["rosen_fwdrev_ns"])
    # the same tape through a minimal switch-over-opcodes sweep pair (not numad): how
    # fast this machine is right now at the design numad's sweeps started from, so that
    # a slow figure above can be told apart from a slow (loaded) machine
    ref_fwd, ref_grad = reference_sweeps()
    adj = np.zeros_like(tape.vals)
    _check("reference sweeps", ref_grad(tape, adj), rosen_der(x))
    rf, rg = interleaved([lambda: ref_fwd(tape), lambda: ref_grad(tape, adj)], R)
    row(sec, "reference (not numad): minimal sweep, forward", rf / n_entries * 1e9, "ns/entry")
    row(sec, "reference (not numad): minimal sweeps, fwd+rev", rg / n_entries * 1e9, "ns/entry")

    # ---- random mix ---------------------------------------------------------------------
    xm = mix_point()
    fm = make_mix_function(make_mix_program())
    tm = nd.trace(fm, xm)
    _check("random mix value", tm(xm), fm(xm), rtol=1e-9)
    gm = tm.gradient(xm)
    gd = np.array([fm([nd.Dual(float(v), float(k == j)) for k, v in enumerate(xm)]).tangent
                   for j in range(len(xm))])
    _check("random mix gradient vs nd.Dual", gm, gd, rtol=1e-6, atol=1e-12)
    t_trace_m = best_of(lambda: nd.trace(fm, xm), R, number=2)
    sec = f"Random mix of scalar ops: {len(tm)} entries"
    row(sec, "tracing, per entry", t_trace_m / len(tm) * 1e6, "us",
        f"< {TARGETS['trace_us_per_op']}", t_trace_m / len(tm) * 1e6 < TARGETS["trace_us_per_op"])
    fwd, rev, kern, full = sweep_figures(tm, xm, R)
    row(sec, "forward sweep (kernel)", fwd, "ns/entry")
    row(sec, "reverse sweep (kernel)", rev, "ns/entry")
    row(sec, "forward + reverse (kernels only)", kern, "ns/entry")
    row(sec, "forward + reverse (tape.gradient)", full, "ns/entry",
        f"< {TARGETS['mix_fwdrev_ns']}", full < TARGETS["mix_fwdrev_ns"])

    # ---- vectorized Rosenbrock, n = 1e6 -------------------------------------------------
    xb = rosen_point(10 ** 6)
    jac = nd.gradient(rosen_vec)
    jac(xb + 0.25)                      # trace elsewhere, check the replay at xb
    _check("Rosenbrock 1e6 gradient", warm(jac, xb), rosen_der(xb), rtol=1e-12, atol=1e-9)
    floor = rosen_grad_njit()
    g = np.empty_like(xb)
    floor(xb, g)
    _check("njit Rosenbrock gradient", g, rosen_der(xb), rtol=1e-12, atol=1e-9)
    vg = nd.value_and_gradient(rosen_vec)
    warm(vg, xb)
    tp, tg, tv, tf = interleaved([lambda: rosen_vec(xb), lambda: jac(xb), lambda: vg(xb),
                                  lambda: floor(xb, g)], R, number=3)
    tape_b = next(iter(jac.cache.tapes.values()))[0]
    sec = f"Vectorized Rosenbrock, n=1e6: {len(tape_b)} entries"
    row(sec, "NumPy primal", tp * 1e3, "ms")
    row(sec, "nd.gradient, cached replay", tg * 1e3, "ms")
    row(sec, "nd.value_and_gradient, cached replay", tv * 1e3, "ms")
    row(sec, "hand-written @numba.njit gradient (floor)", tf * 1e3, "ms")
    row(sec, "gradient / NumPy primal", tg / tp, "x",
        f"< {TARGETS['rosen_1e6_ratio']}", tg / tp < TARGETS["rosen_1e6_ratio"])
    row(sec, "gradient / njit floor", tg / tf, "x")
    load(tape_b, xb)
    tfk, tz, trk = interleaved([lambda: forward_kernel(tape_b), tape_b.adjoint_buffer,
                                lambda: reverse_kernel(tape_b)], R, number=3)
    row(sec, "  of which forward sweep (kernel)", tfk * 1e3, "ms")
    row(sec, "  of which clearing the adjoints nobody assigns", tz * 1e3, "ms",
        f"of {tape_b.vals.nbytes / 2**20:.0f} MiB")
    row(sec, "  of which reverse sweep (kernel, incl. clearing)", trk * 1e3, "ms")

    # ---- cached gradient, n = 10 --------------------------------------------------------
    xs = rosen_point(10)
    js = nd.gradient(rosen_vec)
    js(xs + 0.25)
    _check("Rosenbrock n=10 gradient", warm(js, xs), rosen_der(xs))
    vgs = nd.value_and_gradient(rosen_vec)
    vgs(xs + 0.25)
    _check("Rosenbrock n=10 value_and_gradient", warm(vgs, xs)[1], rosen_der(xs))
    tape_s = next(iter(js.cache.tapes.values()))[0]
    load(tape_s, xs)

    def sweeps_only():
        forward_kernel(tape_s)
        reverse_kernel(tape_s)
    ts, tvs, tts, tk, tps = [t * 1e6 for t in interleaved(
        [lambda: js(xs), lambda: vgs(xs), lambda: tape_s.gradient(xs), sweeps_only,
         lambda: rosen_vec(xs)], R)]
    sec = f"Cached nd.gradient(rosen), n=10: {len(tape_s)} entries"
    row(sec, "nd.gradient call", ts, "us",
        f"< {TARGETS['cached_grad_us']}", ts < TARGETS["cached_grad_us"])
    row(sec, "nd.value_and_gradient call", tvs, "us")
    row(sec, "tape.gradient (no cache lookup)", tts, "us")
    row(sec, "forward + reverse kernels only", tk, "us")
    row(sec, "NumPy primal", tps, "us")

    # ---- Jacobian 20 -> 20 --------------------------------------------------------------
    W = jac_matrix(JAC_N)
    xj = np.linspace(-1.0, 1.0, JAC_N)
    for kind, f in (("vector", make_jac_function(W)), ("scalar loop", make_jac_scalar_function(W))):
        jf, jr = nd.jacobian(f, mode="forward"), nd.jacobian(f, mode="reverse")
        jf(xj + 0.25)
        jr(xj + 0.25)
        _check(f"jacobian {kind}", warm(jf, xj), warm(jr, xj))
        ent = len(next(iter(jf.cache.tapes.values()))[0])
        sec = f"nd.jacobian {JAC_N}->{JAC_N}, {kind} function: {ent} entries"
        tfw, trv = [t * 1e6 for t in interleaved([lambda: jf(xj), lambda: jr(xj)], R)]
        row(sec, "forward mode (one 20-lane tangent sweep)", tfw, "us")
        row(sec, "reverse mode (20 reverse sweeps)", trv, "us")

    # ---- batches: many points through one tape --------------------------------------------
    Xb = np.random.default_rng(0).uniform(-1.0, 1.0, size=(20000, 10))
    tape_batch = nd.trace(rosen_loop, Xb[0])
    tape_batch.gradient_batch(Xb[:8])
    _check("gradient_batch", tape_batch.gradient_batch(Xb[:50]),
           np.array([rosen_der(x) for x in Xb[:50]]))
    jb = nd.gradient(rosen_loop)
    jb(Xb[0])
    tbatch, tloop = interleaved([lambda: tape_batch.gradient_batch(Xb),
                                 lambda: [jb(x) for x in Xb]], max(1, R // 3))
    sec = f"Gradients at 20000 points, scalar-loop Rosenbrock n=10: {len(tape_batch)} entries"
    row(sec, "tape.gradient_batch, per point", tbatch / len(Xb) * 1e6, "us")
    row(sec, "loop of cached nd.gradient calls, per point", tloop / len(Xb) * 1e6, "us")
    row(sec, "speed-up of the batch", tloop / tbatch, "x")

    # ---- second order: Hessian-vector products against gradients (issue 3) --------------
    import scipy.optimize as so
    for label, f, n in (("vectorized Rosenbrock", rosen_vec, 10 ** 5),
                        ("scalar-loop Rosenbrock", rosen_loop, 2000),
                        ("vectorized Rosenbrock", rosen_vec, 10)):
        xh = rosen_point(n)
        ph = np.cos(np.arange(n))
        gh, hh = nd.gradient(f), nd.hvp(f)
        gh(xh)
        hh(xh, ph)
        _check(f"hvp {label} n={n}", hh(xh, ph), so.rosen_hess_prod(xh, ph), rtol=1e-10)
        points = [xh, xh + 0.01]
        turn = [0]

        def hvp_at_new_point():
            turn[0] ^= 1
            return hh(points[turn[0]], ph)
        tg, th, tnew = interleaved([lambda: gh(xh), lambda: hh(xh, ph), hvp_at_new_point], R)
        sec = f"Hessian-vector products, {label}, n={n}"
        row(sec, "nd.gradient call", tg * 1e6, "us")
        row(sec, "nd.hvp call at a new point", tnew * 1e6, "us")
        row(sec, "nd.hvp call at the same point (Newton-CG's inner loop)", th * 1e6, "us")
        row(sec, "hvp / gradient, new point", tnew / tg, "x", f"< {TARGETS['hvp_over_gradient']}",
            tnew / tg < TARGETS["hvp_over_gradient"])
        row(sec, "hvp / gradient, same point", th / tg, "x")

    # ---- minimize 1000-variable Rosenbrock: numad against SciPy's finite differences -----
    x0 = np.full(1000, -0.5)
    t_nd = best_of(lambda: nd.optimize.minimize(rosen_vec, x0, method="L-BFGS-B"),
                   repeats=1, number=1, min_time=0.0)
    res_nd = nd.optimize.minimize(rosen_vec, x0, method="L-BFGS-B")
    t_fd = best_of(lambda: so.minimize(rosen_vec, x0, method="L-BFGS-B"), repeats=1,
                   number=1, min_time=0.0)
    res_fd = so.minimize(rosen_vec, x0, method="L-BFGS-B")
    t_ncg = best_of(lambda: nd.optimize.minimize(rosen_vec, x0, method="trust-ncg"),
                    repeats=1, number=1, min_time=0.0)
    res_ncg = nd.optimize.minimize(rosen_vec, x0, method="trust-ncg")
    sec = "minimize, 1000-variable Rosenbrock from -0.5 (trace included for numad)"
    for name, res, t in (("numad L-BFGS-B (exact gradient)", res_nd, t_nd),
                         ("SciPy L-BFGS-B (finite differences)", res_fd, t_fd),
                         ("numad trust-ncg (gradient + hvp)", res_ncg, t_ncg)):
        row(sec, f"{name}: wall time", t * 1e3, "ms",
            f"nfev {res.nfev}, |x-1|max {np.max(np.abs(res.x - 1)):.1e}")
    try:
        import jax  # noqa: F401
        row(sec, "JAX", float("nan"), "", "installed, not compared here yet")
    except ImportError:
        pass  # JAX is not installed on these machines: nothing to compare against

    # ---- print --------------------------------------------------------------------------
    import numba
    print(f"numad {nd.__version__}, numba {numba.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs; best of {R}")
    w = max(len(r[1]) for r in rows) + 2
    current = None
    for section, label, value, unit, target, ok in rows:
        if section != current:
            print(f"\n{section}")
            current = section
        t = "" if target is None else f"target {target} {unit}" if ok is not None else target
        mark = "" if ok is None else ("  PASS" if ok else "  MISS")
        print(f"  {label:<{w}}{value:>10.3f} {unit:<9}{t}{mark}")

    print("\nSummary against the issue's targets")
    keyed = [r for r in rows if r[5] is not None]
    for section, label, value, unit, target, ok in keyed:
        print(f"  {'PASS' if ok else 'MISS'}  {section.split(':')[0]} / {label}: "
              f"{value:.3g} {unit} (target {target} {unit})")


if __name__ == "__main__":
    main()
