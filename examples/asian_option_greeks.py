"""Monte Carlo Greeks of path-dependent options, path by path, with nd.gradient_batch.

Under Black-Scholes dynamics the stock follows, over steps of length dt,

    S_{t+1} = S_t * exp((r - sigma^2 / 2) dt + sigma sqrt(dt) Z_t),   Z_t ~ N(0, 1).

The price of an option is the mean over paths of its discounted payoff. Its *pathwise*
Greeks are the mean over paths of the derivative of each path's discounted payoff with
respect to S0, sigma and r, at fixed random numbers Z (Glasserman, "Monte Carlo
Methods in Financial Engineering", 7.2): exactly what reverse mode gives when the
payoff of one path is written as plain scalar code with a Python loop over time, and
``nd.gradient_batch`` maps it over the paths (the random numbers batched, the
parameters shared), every core taking blocks of paths.

Shown:

* an arithmetic Asian call (the payoff is the average price above the strike), 252
  steps: delta, vega and rho with their standard errors, against bump-and-revalue
  (central differences of the price on the same random numbers);
* a European call written the same way (the payoff of the last price): against the
  closed-form Black-Scholes Greeks, within a few standard errors;
* a down-and-out barrier call whose knock-out is smoothed (a sigmoid of the distance
  to the barrier, so that its pathwise derivative exists): against bump-and-revalue.

Run: python examples/asian_option_greeks.py [--paths N] [--steps N] [--device cuda]
                                             [--quick] [--out DIR]
(``--quick``: 4000 paths of 24 steps, unless --paths and --steps say otherwise; ``--out``
is accepted as by every example, and this one draws no figure.)
"""
import argparse
import math
import sys
import time

import numpy as np

import numad as nd

S0, SIGMA, RATE = 100.0, 0.2, 0.05        # spot, volatility, interest rate
STRIKE, MATURITY = 100.0, 1.0
BARRIER, SMOOTHING = 85.0, 1.0            # the barrier, and the width of its sigmoid
NAMES = ("delta", "vega", "rho")


def dynamics(params, steps):
    """(S0, r, the drift and the volatility of log S over one step) of ``steps`` steps
    to maturity, from ``params = (S0, sigma, r)``."""
    s0, sigma, r = params[0], params[1], params[2]
    dt = MATURITY / steps
    return s0, r, (r - 0.5 * sigma * sigma) * dt, sigma * np.sqrt(dt)


def asian_call(params, z):
    """The discounted payoff of one path of an arithmetic-average Asian call;
    ``params = (S0, sigma, r)``, ``z`` the path's standard normal draws."""
    s0, r, drift, vol = dynamics(params, len(z))
    s, total = s0, 0.0
    for t in range(len(z)):
        s = s * np.exp(drift + vol * z[t])
        total = total + s
    return np.exp(-r * MATURITY) * np.maximum(total / len(z) - STRIKE, 0.0)


def european_call(params, z):
    """The discounted payoff of one path of a European call (the same path as above)."""
    s0, r, drift, vol = dynamics(params, len(z))
    s = s0
    for t in range(len(z)):
        s = s * np.exp(drift + vol * z[t])
    return np.exp(-r * MATURITY) * np.maximum(s - STRIKE, 0.0)


def barrier_call(params, z):
    """A down-and-out call, its knock-out smoothed: the payoff is multiplied at each
    step by a sigmoid of the distance above the barrier (1 far above, 0 far below)."""
    s0, r, drift, vol = dynamics(params, len(z))
    s, alive = s0, 1.0
    for t in range(len(z)):
        s = s * np.exp(drift + vol * z[t])
        alive = alive / (1.0 + np.exp((BARRIER - s) / SMOOTHING))
    return np.exp(-r * MATURITY) * np.maximum(s - STRIKE, 0.0) * alive


def black_scholes_greeks(s0, sigma, r, strike=STRIKE, maturity=MATURITY):
    """The closed-form Black-Scholes price, delta, vega and rho of a European call."""
    sq = sigma * math.sqrt(maturity)
    d1 = (math.log(s0 / strike) + (r + 0.5 * sigma * sigma) * maturity) / sq
    d2 = d1 - sq
    cdf = lambda x: 0.5 * math.erfc(-x / math.sqrt(2.0))
    pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi)
    discount = math.exp(-r * maturity)
    price = s0 * cdf(d1) - strike * discount * cdf(d2)
    return price, np.array([cdf(d1), s0 * pdf * math.sqrt(maturity),
                            strike * maturity * discount * cdf(d2)])


def pathwise_greeks(payoff, params, Z, device="cpu"):
    """(price, its standard error, Greeks, their standard errors) from the per-path
    values and gradients of ``payoff``."""
    values, grads = nd.value_and_gradient_batch(payoff, in_axes=(None, 0),
                                                device=device)(params, Z)
    n = len(values)
    return (values.mean(), values.std(ddof=1) / math.sqrt(n), grads.mean(axis=0),
            grads.std(axis=0, ddof=1) / math.sqrt(n))


def bumped_greeks(payoff, params, Z, relative=1e-4):
    """Central differences of the Monte Carlo price on the same random numbers (one
    price per bump: the paths as a vectorized loop over time)."""
    def price(p):
        return np.mean(vectorized_payoff(payoff, p, Z))
    out = np.empty(3)
    for k in range(3):
        h = relative * max(abs(params[k]), 1e-2)
        up, down = params.copy(), params.copy()
        up[k] += h
        down[k] -= h
        out[k] = (price(up) - price(down)) / (2 * h)
    return out


def vectorized_payoff(payoff, params, Z):
    """The payoff of every path at once: the scalar code above runs unchanged on the
    columns of ``Z`` (the parameters are floats, ``z[t]`` a column of all paths)."""
    return payoff(params, Z.T)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, help="default 100000 (--quick: 4000)")
    parser.add_argument("--steps", type=int, help="default 252 (--quick: 24)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter paths")
    parser.add_argument("--out", help="(no figure: accepted, not used)")
    args = parser.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv
    args.paths = args.paths or (4000 if args.quick else 100_000)
    args.steps = args.steps or (24 if args.quick else 252)
    Z = np.random.default_rng(args.seed).standard_normal((args.paths, args.steps))
    params = np.array([S0, SIGMA, RATE])
    print(f"{args.paths} paths x {args.steps} steps, S0={S0}, sigma={SIGMA}, r={RATE}, "
          f"K={STRIKE}, T={MATURITY}, device={args.device}")
    report = {}
    for label, payoff in (("Asian call", asian_call), ("European call", european_call),
                          (f"down-and-out call (barrier {BARRIER})", barrier_call)):
        pathwise_greeks(payoff, params, Z[:2], args.device)   # (trace and compile once)
        start = time.perf_counter()
        price, price_se, greeks, ses = pathwise_greeks(payoff, params, Z, args.device)
        seconds = time.perf_counter() - start
        bumped = bumped_greeks(payoff, params, Z)
        print(f"\n{label}: price {price:.4f} +- {price_se:.4f}  "
              f"(pathwise Greeks of all paths in {seconds:.2f} s)")
        print(f"  {'':6} {'pathwise':>10} {'std err':>9} {'bumped':>10}")
        for name, g, se, b in zip(NAMES, greeks, ses, bumped):
            print(f"  {name:6} {g:10.4f} {se:9.4f} {b:10.4f}")
        report[label] = (greeks, ses, bumped)
        if payoff is european_call:
            closed_price, closed = black_scholes_greeks(*params)
            print(f"  closed form: price {closed_price:.4f}, " + ", ".join(
                f"{name} {c:.4f}" for name, c in zip(NAMES, closed)))
            report["closed form"] = closed
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
