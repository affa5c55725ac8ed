"""numad in one page: exact gradients of plain NumPy code, fed to scipy.optimize.

Run: python examples/quickstart.py [--quick] [--out DIR]
(``--quick`` minimizes a 10-dimensional Rosenbrock function instead of a 50-dimensional
one; ``--out`` is accepted as by every example, and this one draws no figure.)
"""
import argparse
import sys

import numpy as np
from scipy.optimize import minimize, rosen_der, rosen_hess

import numad as nd


def rosenbrock(x):
    """Plain NumPy: nothing numad-specific in it."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller minimization")
    parser.add_argument("--out", help="(no figure: accepted, not used)")
    args = parser.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv

    # 1. Reverse mode: the exact gradient, checked against SciPy's hand-written one.
    x0 = np.array([-1.2, 1.0, 0.5, 2.0])
    g = nd.grad(rosenbrock)(x0)
    print("gradient at x0:        ", g)
    print("max |numad - rosen_der|:", np.max(np.abs(g - rosen_der(x0))))

    # 2. The tape behind it: a Wengert list of (a + b) * ln(b + c) at (1, 3, 6).
    tape = nd.trace(lambda a, b, c: (a + b) * np.log(b + c), 1.0, 3.0, 6.0)
    print("Wengert list of (a + b) * ln(b + c) at (1, 3, 6):")
    print(tape)

    # 3. SciPy: nd.value_and_gradient traces once, then replays compiled sweeps.
    fun = nd.value_and_gradient(rosenbrock)
    n = 10 if args.quick else 50
    res = minimize(fun, np.zeros(n), jac=True, method="L-BFGS-B")
    print(f"minimize({n}-d Rosenbrock): success={res.success}, nfev={res.nfev}, "
          f"max|x - 1| = {np.max(np.abs(res.x - 1.0)):.2e}, traced {fun.cache.traces}x")

    # 4. Forward mode with a dual number: p(x) = 3x^5 - 2x^3 + 7x - 11 at x = 2.
    p = nd.Dual(2.0, 1.0)
    y = 3 * p ** 5 - 2 * p ** 3 + 7 * p - 11
    print(f"p(2) = {y.value}, p'(2) = {y.tangent} (closed form {15 * 16 - 6 * 4 + 7})")

    # 5. Second derivatives compose: the Hessian as the Jacobian of the gradient.
    H = nd.jacobian(nd.gradient(rosenbrock))(x0)
    print("Hessian diagonal:", np.diag(H))
    print("max |numad - rosen_hess|:", np.max(np.abs(H - rosen_hess(x0))))
    return {"x0": x0, "gradient": g, "tape": tape, "minimize": res,
            "traces": fun.cache.traces, "dual": (y.value, y.tangent), "hessian": H}


if __name__ == "__main__":
    main(sys.argv[1:])
