"""Fit a damped oscillator to noisy measurements with exact derivatives.

The model x(t) = A exp(-gamma t) cos(omega t + phi) is plain NumPy. numad supplies
the gradient of the least-squares misfit (and Hessian-vector products for Newton-CG);
the script prints how many evaluations each optimizer needed next to SciPy's default,
which estimates the gradient by finite differences.

Run: python examples/fit_damped_oscillator.py [--quick] [--out DIR]
(``--quick`` fits 100 measurements instead of 400; ``--out`` is accepted as by every
example, and this one draws no figure.)
"""
import argparse
import sys
import time

import numpy as np
from scipy.optimize import minimize

import numad as nd

TRUE = np.array([1.7, 0.35, 2.4, 0.6])      # amplitude, damping, angular frequency, phase


def model(params, t):
    amplitude, damping, omega, phase = params[0], params[1], params[2], params[3]
    return amplitude * np.exp(-damping * t) * np.cos(omega * t + phase)


def misfit(params, t, observed):
    return 0.5 * np.sum((model(params, t) - observed) ** 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer measurements")
    parser.add_argument("--out", help="(no figure: accepted, not used)")
    args = parser.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv

    rng = np.random.default_rng(42)
    t = np.linspace(0.0, 10.0, 100 if args.quick else 400)
    observed = model(TRUE, t) + rng.normal(scale=0.02, size=t.size)
    start = np.array([1.0, 0.2, 2.2, 0.0])

    runs = []
    t0 = time.perf_counter()
    fd = minimize(misfit, start, args=(t, observed), method="BFGS")
    runs.append(("SciPy BFGS, finite differences", fd, time.perf_counter() - t0))
    t0 = time.perf_counter()
    exact = nd.optimize.minimize(misfit, start, args=(t, observed), method="BFGS")
    runs.append(("numad BFGS, exact gradient", exact, time.perf_counter() - t0))
    t0 = time.perf_counter()
    newton = nd.optimize.minimize(misfit, start, args=(t, observed), method="Newton-CG")
    runs.append(("numad Newton-CG, gradient + Hessian products", newton,
                 time.perf_counter() - t0))

    print(f"{'method':<46}{'f evals':>8}{'grad evals':>11}{'misfit':>12}{'seconds':>9}")
    for name, res, seconds in runs:
        njev = getattr(res, "njev", 0)
        print(f"{name:<46}{res.nfev:>8}{njev:>11}{res.fun:>12.6f}{seconds:>9.3f}")
    print("true parameters:  ", TRUE)
    print("fitted (numad):   ", np.round(exact.x, 4))
    H = nd.hessian(misfit)(exact.x, t, observed)
    errors = np.sqrt(np.diag(np.linalg.inv(H)) * 2 * exact.fun / (t.size - 4))
    print("standard errors:  ", np.round(errors, 4), "(from the exact Hessian)")
    return {"t": t, "observed": observed, "start": start, "hessian": H,
            "standard_errors": errors,
            "runs": {name: res for name, res, _ in runs}}


if __name__ == "__main__":
    main(sys.argv[1:])
