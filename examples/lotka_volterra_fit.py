"""Fit the four rates of a Lotka-Volterra (prey-predator) model to noisy counts.

    prey'     = alpha * prey - beta * prey * predator
    predator' = delta * prey * predator - gamma * predator

The model is integrated by ``nd.odeint`` (classical Runge-Kutta, 10 steps between
observations), so the misfit's gradient and Hessian-vector products go through the
integration loop exactly. The observations are 40 noisy counts of both species over
t in [0, 15], made from an independent high-accuracy solution (SciPy's DOP853) with
multiplicative noise, so the misfit compares logarithms. The optimizers work on the
logarithms of the rates too: the rates are positive and differ 20-fold in size, and
BFGS's first step (of unit length) would otherwise throw them far off.

The script prints how many evaluations each optimizer needed next to SciPy's default
BFGS, which estimates the gradient by finite differences of the same objective, then
the fitted rates next to the true ones with standard errors from the exact Hessian.
(A Hessian-vector product through a loop records the loop's steps one by one, so
trust-ncg's first product costs about a second here; the later ones replay that tape.)

Run: python examples/lotka_volterra_fit.py [--quick] [--out DIR]
(the fit is small already: ``--quick`` is accepted as by every example and runs it as it
is; ``--out`` too, and this one draws no figure.)
"""
import argparse
import sys
import time

import numpy as np
import scipy.optimize
from scipy.integrate import solve_ivp

import numad as nd

NAMES = ("alpha", "beta", "delta", "gamma")
TRUE = np.array([1.0, 0.1, 0.075, 1.5])   # prey growth, predation, predator growth, death
START = np.array([0.8, 0.08, 0.09, 1.2])  # the optimizers' first guess, 20% off
Y0 = np.array([10.0, 5.0])                # prey, predators at t = 0 (known)
T_OBS = np.linspace(15.0 / 40, 15.0, 40)  # observation times
GRID = np.concatenate([[0.0], T_OBS])     # the integration grid: t = 0, then T_OBS
SUBSTEPS = 10                             # RK4 steps between observations (h ~ 0.04)
NOISE = 0.1                               # standard deviation of the log-count noise


def rhs(y, t, alpha, beta, delta, gamma):
    prey, predator = y[0], y[1]
    return nd.stack([alpha * prey - beta * prey * predator,
                     delta * prey * predator - gamma * predator])


def trajectory(params):
    """Prey and predator counts at T_OBS, shape (40, 2)."""
    Y = nd.odeint(rhs, Y0, GRID, params[0], params[1], params[2], params[3],
                  method="rk4", substeps=SUBSTEPS)
    return Y[1:]


def misfit(params, log_observed):
    return 0.5 * np.sum((np.log(trajectory(params)) - log_observed) ** 2)


def objective(log_params, log_observed):
    """What the optimizers minimize: the misfit as a function of log(rates)."""
    return misfit(np.exp(log_params), log_observed)


def reference_trajectory(params):
    """The same ODE solved by SciPy to ~1e-12: the data's source, and a check on RK4."""
    def f(t, y):
        a, b, d, g = params
        return [a * y[0] - b * y[0] * y[1], d * y[0] * y[1] - g * y[1]]
    sol = solve_ivp(f, (0.0, T_OBS[-1]), Y0, method="DOP853", t_eval=T_OBS,
                    rtol=1e-12, atol=1e-12)
    return sol.y.T


def timed(run):
    t0 = time.perf_counter()
    res = run()
    return res, time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(the same run: it is quick)")
    parser.add_argument("--out", help="(no figure: accepted, not used)")
    parser.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv

    exact = reference_trajectory(TRUE)
    rk4_error = float(np.max(np.abs(trajectory(TRUE) / exact - 1.0)))
    rng = np.random.default_rng(7)
    log_observed = np.log(exact) + rng.normal(scale=NOISE, size=exact.shape)
    print(f"Lotka-Volterra, {T_OBS.size} observations of 2 species; RK4 with "
          f"{SUBSTEPS} steps per interval, largest relative error against DOP853: "
          f"{rk4_error:.1e}")

    x0 = np.log(START)
    runs = {}
    runs["SciPy BFGS, finite differences"] = timed(lambda: scipy.optimize.minimize(
        objective, x0, args=(log_observed,), method="BFGS"))
    runs["numad BFGS, exact gradient"] = timed(lambda: nd.optimize.minimize(
        objective, x0, args=(log_observed,), method="BFGS"))
    runs["numad trust-ncg, gradient + Hessian products"] = timed(lambda: nd.optimize.minimize(
        objective, x0, args=(log_observed,), method="trust-ncg"))

    print()
    print(f"{'method':<46}{'f evals':>8}{'grad evals':>11}{'H products':>11}{'iters':>6}"
          f"{'misfit':>12}{'seconds':>9}")
    for name, (res, seconds) in runs.items():
        print(f"{name:<46}{res.nfev:>8}{getattr(res, 'njev', 0):>11}"
              f"{getattr(res, 'nhev', 0):>11}{res.nit:>6}{res.fun:>12.6f}{seconds:>9.3f}")
    for name, (res, _) in runs.items():
        if not res.success:
            print(f"  ({name}: {res.message})")

    fd = np.exp(runs["SciPy BFGS, finite differences"][0].x)
    fitted = np.exp(runs["numad BFGS, exact gradient"][0].x)
    newton = np.exp(runs["numad trust-ncg, gradient + Hessian products"][0].x)
    best = misfit(fitted, log_observed)
    # Standard errors of the rates themselves: the Hessian of the misfit in the rates
    # (at the minimum, where the gradient vanishes, the change of variables adds nothing).
    t0 = time.perf_counter()
    H = nd.hessian(misfit)(fitted, log_observed)
    hessian_seconds = time.perf_counter() - t0
    n_residuals = log_observed.size
    sigma2 = 2 * best / (n_residuals - len(TRUE))   # the noise variance, estimated
    errors = np.sqrt(np.diag(np.linalg.inv(H)) * sigma2)
    gradient_norm = float(np.linalg.norm(nd.gradient(misfit)(fitted, log_observed)))

    print()
    print(f"{'':<8}{'true':>9}{'numad BFGS':>12}{'trust-ncg':>12}{'SciPy FD':>12}"
          f"{'std error':>11}{'(fit-true)/se':>15}")
    for k, name in enumerate(NAMES):
        print(f"{name:<8}{TRUE[k]:>9.4f}{fitted[k]:>12.5f}{newton[k]:>12.5f}"
              f"{fd[k]:>12.5f}{errors[k]:>11.5f}{(fitted[k] - TRUE[k]) / errors[k]:>15.2f}")
    print(f"standard errors from the exact Hessian (nd.hessian, {hessian_seconds:.2f} s) "
          f"with the noise estimated from the residuals: sigma = {np.sqrt(sigma2):.4f} "
          f"(true {NOISE}); |gradient| at the fit: {gradient_norm:.1e}")

    return {
        "true": TRUE.copy(), "log_observed": log_observed,
        "fitted": fitted, "fitted_newton": newton, "fitted_fd": fd, "misfit": best,
        "standard_errors": errors, "sigma": float(np.sqrt(sigma2)), "hessian": H,
        "gradient_norm": gradient_norm, "rk4_error": rk4_error,
        "runs": {name: {"nfev": res.nfev, "njev": getattr(res, "njev", 0),
                        "nhev": getattr(res, "nhev", 0), "nit": res.nit, "fun": res.fun,
                        "success": bool(res.success), "seconds": seconds}
                 for name, (res, seconds) in runs.items()},
    }


if __name__ == "__main__":
    main(sys.argv[1:])
