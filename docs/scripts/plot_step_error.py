"""The error of finite differences against the step h, next to numad's exact derivative.

Forward differences err by O(h) (truncation) for large h and by O(eps/h) (round-off)
for small h; central differences by O(h^2) and O(eps/h). numad's reverse mode has no
step at all: its error is a few units of rounding. Writes step_error.png into the
directory ``--out`` (the docs build passes ``docs/_generated``; the default is a new
temporary directory, never the repository).

Run: python docs/scripts/plot_step_error.py [--out DIR]   (needs matplotlib)
"""
import argparse
import pathlib
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import numad as nd  # noqa: E402


def f(x):
    return np.exp(np.sin(x)) / (1.0 + x ** 2)


def exact_derivative(x):
    # by hand, as the independent check of numad's value
    return np.exp(np.sin(x)) * (np.cos(x) * (1 + x ** 2) - 2 * x) / (1 + x ** 2) ** 2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the figure (default: a temporary one)")
    args = parser.parse_args(argv)
    out_dir = pathlib.Path(args.out or tempfile.mkdtemp(prefix="numad-docs-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    x = 0.7
    truth = exact_derivative(x)
    ad = nd.grad(f)(x)
    steps = np.logspace(-16, -1, 181)
    forward = np.array([(f(x + h) - f(x)) / h for h in steps])
    central = np.array([(f(x + h) - f(x - h)) / (2 * h) for h in steps])
    eps = np.finfo(float).eps

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(steps, np.abs(forward - truth) / abs(truth), label="forward difference")
    ax.loglog(steps, np.abs(central - truth) / abs(truth), label="central difference")
    ad_err = max(abs(ad - truth) / abs(truth), eps / 2)
    ax.axhline(ad_err, color="k", lw=2, label=f"numad reverse mode ({ad_err:.1e})")
    ax.loglog(steps, steps, "C0:", lw=1, label="truncation O(h)")
    ax.loglog(steps, steps ** 2, "C1:", lw=1, label="truncation O(h²)")
    ax.loglog(steps, eps / steps, "C7--", lw=1, label="round-off O(ε/h)")
    for h_opt, color in ((np.sqrt(eps), "C0"), (np.cbrt(eps), "C1")):
        ax.axvline(h_opt, color=color, alpha=0.3)
    ax.set_ylim(1e-17, 10)
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error of f'(0.7)")
    ax.set_title("f(x) = exp(sin x) / (1 + x²): finite differences against AD")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    out = out_dir / "step_error.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"wrote {out}; best forward error {np.min(np.abs(forward - truth) / abs(truth)):.1e}"
          f" at h={steps[np.argmin(np.abs(forward - truth))]:.0e}, best central "
          f"{np.min(np.abs(central - truth) / abs(truth)):.1e}, numad {ad_err:.1e}")
    return ad_err


if __name__ == "__main__":
    main()
