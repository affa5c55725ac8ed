"""Derivatives of solutions: the implicit function theorem with ``nd.custom_vjp``.

A value defined as the solution of an equation, a root found by ``scipy.optimize.brentq``
or the fixed point of an iteration, has a derivative even though the solver has none
(brentq works on floats; an iteration run to convergence would be a long tape). If
``g(x, theta) = 0`` defines ``x(theta)``, differentiating the equation gives

    dg/dx * dx/dtheta + dg/dtheta = 0,   so   dx/dtheta = -(dg/dx)^-1 dg/dtheta,

and the reverse-mode rule needs only ``g``'s own partial derivatives at the solution,
which numad computes from ``g``'s code. ``nd.custom_vjp`` makes that rule the derivative
of the solver, in every transformation and in cached replays.

Two solutions are differentiated here and checked against central differences:

1. the root of ``x**3 + a x - b = 0`` found by brentq, with respect to ``(a, b)``;
2. the fixed point ``z = tanh(W z + theta)`` of a contraction, found by iterating,
   with respect to ``theta`` (and checked against differentiating 200 unrolled
   iterations).

Run: python examples/implicit_function.py [--size N] [--quick] [--out DIR]
(``--quick``: a fixed point of size 5 unless --size says otherwise; ``--out`` is accepted
as by every example, and this one draws no figure.)
"""
import argparse
import sys

import numpy as np
from scipy.optimize import brentq

import numad as nd


# ---- 1. a root found by brentq -----------------------------------------------------------

def cubic(x, theta):
    """g(x, theta): its root in x is the solution x(theta)."""
    a, b = theta[0], theta[1]
    return x ** 3 + a * x - b


@nd.custom_vjp
def root(theta):
    """The root of cubic(., theta) in [0, 10] (a > 0 makes it the only real one)."""
    theta = np.asarray(theta, dtype=np.float64)
    return brentq(cubic, 0.0, 10.0, args=(theta,), xtol=1e-14, rtol=4 * np.finfo(float).eps)


def root_fwd(theta):
    x = root(theta)
    return x, (x, theta)


def root_bwd(residuals, g):
    x, theta = residuals
    # the partials of g at the solution, by numad from cubic's code
    dg_dx = nd.grad(cubic, argnums=0)(x, theta)
    dg_dtheta = nd.grad(cubic, argnums=1)(x, theta)
    return (-g * dg_dtheta / dg_dx,)


root.defvjp(root_fwd, root_bwd)


# ---- 2. a fixed point found by iterating ----------------------------------------------------

def contraction(z, theta, W):
    return np.tanh(W @ z + theta)


def iterate(theta, W, steps):
    z = np.zeros_like(theta)
    for _ in range(steps):
        z = contraction(z, theta, W)
    return z


@nd.custom_vjp
def fixed_point(theta, W):
    """z = tanh(W z + theta), iterated until it stops changing."""
    z = np.zeros(len(theta))
    for _ in range(10_000):
        z_next = contraction(z, theta, W)
        if np.max(np.abs(z_next - z)) < 1e-15:
            break
        z = z_next
    return z_next


def fixed_point_fwd(theta, W):
    z = fixed_point(theta, W)
    return z, (z, theta, W)


def fixed_point_bwd(residuals, g):
    z, theta, W = residuals
    # z = T(z, theta): the adjoint u solves u = g + (dT/dz)^T u, and theta's cotangent
    # is (dT/dtheta)^T u; both products are vjps of T at the fixed point
    _, vjp_z = nd.vjp(lambda z_: contraction(z_, theta, W), z)
    _, vjp_theta = nd.vjp(lambda t_: contraction(z, t_, W), theta)
    u = np.array(g, dtype=np.float64)
    for _ in range(10_000):          # the same contraction, so this converges too
        u_next = g + vjp_z(u)
        if np.max(np.abs(u_next - u)) < 1e-15:
            break
        u = u_next
    return vjp_theta(u_next), None   # (no derivative with respect to W here)


fixed_point.defvjp(fixed_point_fwd, fixed_point_bwd)


# ---- checks -------------------------------------------------------------------------------

def central_difference(f, x, h=1e-6):
    x = np.asarray(x, dtype=np.float64)
    out = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        out.append((f(x + e) - f(x - e)) / (2 * h))
    return np.array(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, help="size of the fixed point (default 6)")
    parser.add_argument("--quick", action="store_true", help="a smaller fixed point")
    parser.add_argument("--out", help="(no figure: accepted, not used)")
    args = parser.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv
    args.size = args.size or (5 if args.quick else 6)

    print("1. x(theta) with x^3 + a x - b = 0, by brentq")

    def loss(theta):
        return root(theta) ** 2 + theta[0] * root(theta)

    gradient = nd.gradient(loss)             # traced once, replayed at every theta
    worst = 0.0
    for theta in (np.array([1.0, 2.0]), np.array([0.5, 3.0]), np.array([2.0, 0.7])):
        exact = gradient(theta)
        fd = central_difference(loss, theta)
        worst = max(worst, float(np.max(np.abs(exact - fd) / (np.abs(fd) + 1e-12))))
        print(f"   theta = {theta}: root {root(theta):.12f}, gradient {exact}, "
              f"central differences {fd}")
    print(f"   largest relative difference: {worst:.1e}  (traces: {gradient.cache.traces})")
    hess = nd.hessian(loss)(np.array([1.0, 2.0]))
    hess_fd = central_difference(gradient, np.array([1.0, 2.0]), h=1e-5)
    print(f"   Hessian (fwd calls root again, so it is exact too):\n{hess}\n"
          f"   differences of the gradient:\n{hess_fd}")

    print(f"\n2. the fixed point z = tanh(W z + theta), n = {args.size}")
    rng = np.random.default_rng(0)
    n = args.size
    W = 0.5 * rng.normal(size=(n, n)) / np.sqrt(n)
    theta = rng.normal(size=n)
    target = np.linspace(-0.5, 0.5, n)

    def fit(theta):
        return np.sum((fixed_point(theta, W) - target) ** 2)

    def fit_unrolled(theta):
        return np.sum((iterate(theta, W, 200) - target) ** 2)

    g_implicit = nd.grad(fit)(theta)
    g_unrolled = nd.grad(fit_unrolled)(theta)
    g_fd = central_difference(fit, theta)
    print(f"   implicit gradient  {np.round(g_implicit, 10)}")
    print(f"   200 unrolled steps {np.round(g_unrolled, 10)}")
    print(f"   largest difference to central differences: "
          f"{np.max(np.abs(g_implicit - g_fd)):.1e}, to the unrolled loop: "
          f"{np.max(np.abs(g_implicit - g_unrolled)):.1e}")
    return worst, g_implicit, g_unrolled, g_fd, hess, hess_fd


if __name__ == "__main__":
    main(sys.argv[1:])
