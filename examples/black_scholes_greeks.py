"""The Greeks of a European call, from the Black-Scholes price written in plain NumPy.

The price of a call with strike K and maturity T on a stock at S, with volatility sigma
and interest rate r, is

    C = S N(d1) - K exp(-r T) N(d2),
    d1 = (log(S / K) + (r + sigma^2 / 2) T) / (sigma sqrt(T)),   d2 = d1 - sigma sqrt(T),

with N the standard normal CDF (``scipy.special.ndtr``). The Greeks are its partial
derivatives. Here they all come from the one function ``call_price`` below, which knows
nothing about derivatives:

* ``nd.gradient`` over the vector of inputs (S, K, sigma, r, T) gives delta, the
  strike's delta, vega, rho and (minus) theta in one reverse sweep;
* ``nd.hessian`` gives the second-order Greeks: gamma, vanna, volga (vomma), ...;
* ``nd.jacobian`` of the prices of a whole vector of strikes gives delta, vega, rho
  and theta for every strike at once (n = 4 inputs, m strikes: forward mode).

Each is printed next to the textbook closed form (Hull, "Options, Futures, and Other
Derivatives", ch. 19). Theta is the derivative with respect to calendar time t, and
T = maturity - t, so theta = -dC/dT.

Run: python examples/black_scholes_greeks.py [--quick] [--out DIR]
(the figure, the Greeks against the strike, needs matplotlib; it goes to DIR, or to a
fresh temporary directory whose name is printed)
"""
import argparse
import math
import pathlib
import sys
import tempfile

import numpy as np
from scipy.special import ndtr

import numad as nd

# (S, K, sigma, r, T): spot, strike, volatility, interest rate, years to maturity
INPUTS = np.array([100.0, 95.0, 0.25, 0.03, 0.75])
NAMES = ("S", "K", "sigma", "r", "T")


def call_price(inputs):
    """The Black-Scholes price of a European call; ``inputs = (S, K, sigma, r, T)``.

    Plain NumPy: the same code prices one option or (with array entries) many."""
    s, k, sigma, r, t = inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]
    spread = sigma * np.sqrt(t)
    d1 = (np.log(s / k) + (r + 0.5 * sigma * sigma) * t) / spread
    d2 = d1 - spread
    return s * ndtr(d1) - k * np.exp(-r * t) * ndtr(d2)


def strip_prices(market, strikes):
    """The prices of calls at every strike; ``market = (S, sigma, r, T)``."""
    s, sigma, r, t = market[0], market[1], market[2], market[3]
    return call_price((s, strikes, sigma, r, t))


def closed_form(s, k, sigma, r, t):
    """The textbook Greeks of a call (k may be an array), as a dict."""
    spread = sigma * np.sqrt(t)
    d1 = (np.log(s / k) + (r + 0.5 * sigma * sigma) * t) / spread
    d2 = d1 - spread
    pdf1 = np.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi)
    discount = np.exp(-r * t)
    return {
        "delta": ndtr(d1),
        "dual delta": -discount * ndtr(d2),             # dC/dK
        "vega": s * pdf1 * np.sqrt(t),
        "rho": k * t * discount * ndtr(d2),
        "theta": -s * pdf1 * sigma / (2.0 * np.sqrt(t)) - r * k * discount * ndtr(d2),
        "gamma": pdf1 / (s * spread),
        "vanna": -pdf1 * d2 / sigma,                     # d2C / dS dsigma
        "volga": s * pdf1 * np.sqrt(t) * d1 * d2 / sigma,  # d2C / dsigma2
    }


def figure_directory(out):
    """``out`` as a directory, or a fresh temporary one: figures never go into the
    repository unless asked."""
    path = pathlib.Path(out) if out else pathlib.Path(tempfile.mkdtemp(prefix="numad-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def draw(strikes, jac, exact, out):
    try:
        import matplotlib
    except ImportError:
        print("(matplotlib is not installed: no figure)")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    for ax, (column, name, sign) in zip(axes, ((0, "delta", 1), (1, "vega", 1),
                                               (2, "rho", 1), (3, "theta", -1))):
        ax.plot(strikes, exact[name], color="0.6", linewidth=4, label="closed form")
        ax.plot(strikes, sign * jac[:, column], "C3--", label="numad (nd.jacobian)")
        ax.set_xlabel("strike")
        ax.set_title(name)
    axes[0].legend(fontsize=8)
    fig.suptitle("Greeks of a European call against the strike")
    fig.tight_layout()
    path = figure_directory(out) / "black_scholes_greeks.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer strikes")
    parser.add_argument("--out", help="directory for the figure (default: a temporary one)")
    args = parser.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv

    s, k, sigma, r, t = INPUTS
    exact = closed_form(s, k, sigma, r, t)
    price = call_price(INPUTS)
    print(f"European call: S={s:g}, K={k:g}, sigma={sigma:g}, r={r:g}, T={t:g}; "
          f"price {price:.6f}")

    # First order: one reverse sweep gives the derivative with respect to all five inputs.
    grad = nd.gradient(call_price)(INPUTS)
    # Second order: the Hessian; gamma is d2C/dS2, vanna d2C/dS dsigma, volga d2C/dsigma2.
    hess = nd.hessian(call_price)(INPUTS)
    numad = {"delta": grad[0], "dual delta": grad[1], "vega": grad[2], "rho": grad[3],
             "theta": -grad[4], "gamma": hess[0, 0], "vanna": hess[0, 2],
             "volga": hess[2, 2]}
    print(f"\n{'Greek':<11}{'derivative':<16}{'numad':>14}{'closed form':>14}{'difference':>12}")
    meaning = {"delta": "dC/dS", "dual delta": "dC/dK", "vega": "dC/dsigma",
               "rho": "dC/dr", "theta": "-dC/dT", "gamma": "d2C/dS2",
               "vanna": "d2C/dS dsigma", "volga": "d2C/dsigma2"}
    for name, value in numad.items():
        print(f"{name:<11}{meaning[name]:<16}{value:>14.8f}{exact[name]:>14.8f}"
              f"{value - exact[name]:>12.1e}")
    print("Hessian is symmetric:", bool(np.allclose(hess, hess.T, rtol=1e-12, atol=1e-14)))

    # A strip of strikes: prices as a vector function of the 4 market inputs; its
    # Jacobian (one row per strike) has delta, vega, rho and -theta in its columns.
    strikes = np.linspace(60.0, 140.0, 9 if args.quick else 201)
    market = np.array([s, sigma, r, t])
    jac = nd.jacobian(strip_prices)(market, strikes)
    strip_exact = closed_form(s, strikes, sigma, r, t)
    worst = max(float(np.max(np.abs(jac[:, 0] - strip_exact["delta"]))),
                float(np.max(np.abs(jac[:, 1] - strip_exact["vega"]))),
                float(np.max(np.abs(jac[:, 2] - strip_exact["rho"]))),
                float(np.max(np.abs(-jac[:, 3] - strip_exact["theta"]))))
    print(f"\n{len(strikes)} strikes from {strikes[0]:g} to {strikes[-1]:g}: the Jacobian "
          f"{jac.shape} of the prices with respect to (S, sigma, r, T)")
    print(f"{'strike':>8}{'delta':>10}{'vega':>10}{'rho':>10}{'theta':>10}")
    for row in np.linspace(0, len(strikes) - 1, 5).astype(int):
        print(f"{strikes[row]:>8.1f}{jac[row, 0]:>10.5f}{jac[row, 1]:>10.4f}"
              f"{jac[row, 2]:>10.4f}{-jac[row, 3]:>10.4f}")
    print(f"largest difference to the closed forms over all strikes: {worst:.1e}")

    figure = draw(strikes, jac, strip_exact, args.out)
    if figure is not None:
        print(f"wrote {figure}")
    return {"inputs": INPUTS.copy(), "price": float(price), "gradient": grad,
            "hessian": hess, "greeks": numad, "strikes": strikes, "strip_jacobian": jac,
            "figure": figure}


if __name__ == "__main__":
    main(sys.argv[1:])
