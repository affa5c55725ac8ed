"""Lotka-Volterra RK4 over a long fixed-step integration: the workload of the scan
benchmarks (``bench_scan.py``, ``compare_scan.py``) and its hand-written floor.

The discrete loss, for parameters ``p = (a, b, c, d)``::

    y_0 = Y0,   y_{n+1} = RK4(y_n; p, h)            (classical RK4, fixed step h)
    L(p) = sum_{n=1..N} |y_n - data[n-1]|^2

with ``rhs(u, v) = (a*u - b*u*v, c*u*v - d*v)`` (u prey, v predator) and ``data`` a
smooth synthetic curve near the cycle (``make_data``, pure NumPy). ``H = 2**-10``
(about 1e-3) is a power of two, so that ``H * arange(N + 1)`` and its differences are
exact and ``nd.odeint`` on that grid takes exactly the step ``H``.

Four ways to compute it, and its gradient with respect to ``p``:

- ``numad_loss``: ``nd.scan`` whose step is one RK4 step (the carry is the state and
  the running loss; ``xs`` are the data rows);
- ``make_odeint_loss(h)``: the same with ``nd.odeint``;
- ``loss_reference``: a plain Python loop over scalars, complex-capable (complex-step
  derivatives check the floor, see ``tests/test_lotka_volterra_reference.py``);
- ``lv_loss_njit`` / ``lv_grad_njit``: ``@numba.njit`` primal, and the hand-written
  discrete adjoint of RK4 (forward pass storing the states, backward pass with the
  vector-Jacobian products of each stage): the floor.
"""
import os
import sys

import numpy as np

try:
    import numad as nd
except ImportError:  # asv with environment_type "existing" does not install the project
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import numad as nd

import numba

P = np.array([1.0, 0.6, 0.4, 0.8])     # a, b, c, d
Y0 = (1.0, 0.5)                        # prey, predator
H = 2.0 ** -10                         # ~ 1e-3; a power of two (see the docstring)
N_BENCH = 10 ** 5


def make_data(n, h=H, p=P):
    """``(n, 2)`` rows: a smooth curve around the equilibrium ``(d/c, a/b)`` at the
    linearized frequency ``sqrt(a d)``, sampled at ``t = h, 2h, ..., n h``."""
    a, b, c, d = (float(v) for v in p)
    t = h * np.arange(1, n + 1)
    w = np.sqrt(a * d)
    return np.stack([d / c + 0.8 * np.cos(w * t + 2.5), a / b + 0.9 * np.sin(w * t + 2.5)],
                    axis=1)


# ---------------------------------------------------------------------------------------
# One RK4 step in scalars: shared by the numad step and the complex-step reference


def rhs(u, v, a, b, c, d):
    return a * u - b * u * v, c * u * v - d * v


def rk4_step(u, v, a, b, c, d, h, hh, h6):
    """One classical RK4 step; ``hh = 0.5 * h`` and ``h6 = h / 6`` are passed in so that
    a traced step computes them once, outside the loop."""
    k1u, k1v = rhs(u, v, a, b, c, d)
    k2u, k2v = rhs(u + hh * k1u, v + hh * k1v, a, b, c, d)
    k3u, k3v = rhs(u + hh * k2u, v + hh * k2v, a, b, c, d)
    k4u, k4v = rhs(u + h * k3u, v + h * k3v, a, b, c, d)
    return (u + h6 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u),
            v + h6 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v))


# ---------------------------------------------------------------------------------------
# numad: nd.scan
#
# Layouts tried (N = 1e5, cached nd.gradient, ns per step; two runs of compare_scan.py
# on this shared 2-core machine, at numad af56856+edits / 90b1751, so +-25% noise):
#                                               store_all       binomial(20)
#   carry = (u, v, loss), three scalars, y=None  2221 / 2755     7548 / 5333   <- kept
#   carry = (u, v), y = per-step loss term       3102 / 2163     9139 / 6676
#   carry = (array[2], loss), y = None           4548 / 2712    12537 / 7761
#   carry = array[2], y = per-step loss term     4807 / 3259    14047 / 8900
# Two scalars beat a length-2 array (the array costs an nd.stack entry per step and
# the x[0], x[1] reads); the loss in the carry is faster under checkpointing (no
# per-step output row to write and to read back in reverse) and within noise under
# store_all. ``SCAN_LAYOUTS`` holds all four; compare_scan.py prints them again.


def numad_loss(p, data, h, checkpoint="auto", snapshots=None):
    """The discrete loss, with ``nd.scan``: carry = two scalars and the running loss."""
    a, b, c, d = p[0], p[1], p[2], p[3]
    hh = 0.5 * h
    h6 = h / 6.0

    def rk4_lv(carry, row):
        u, v, acc = carry
        u, v = rk4_step(u, v, a, b, c, d, h, hh, h6)
        du = u - row[0]
        dv = v - row[1]
        return (u, v, acc + (du * du + dv * dv)), None

    (u, v, loss), _ = nd.scan(rk4_lv, (Y0[0], Y0[1], 0.0), data, checkpoint=checkpoint,
                              snapshots=snapshots)
    return loss


def numad_loss_scalars_ys(p, data, h, checkpoint="auto", snapshots=None):
    """carry = two scalars; the per-step loss term as the scan's output, summed after."""
    a, b, c, d = p[0], p[1], p[2], p[3]
    hh = 0.5 * h
    h6 = h / 6.0

    def rk4_lv(carry, row):
        u, v = carry
        u, v = rk4_step(u, v, a, b, c, d, h, hh, h6)
        du = u - row[0]
        dv = v - row[1]
        return (u, v), du * du + dv * dv

    _, terms = nd.scan(rk4_lv, (Y0[0], Y0[1]), data, checkpoint=checkpoint,
                       snapshots=snapshots)
    return nd.sum(terms)


def numad_loss_array(p, data, h, checkpoint="auto", snapshots=None):
    """carry = the state as a length-2 array and the running loss."""
    a, b, c, d = p[0], p[1], p[2], p[3]
    hh = 0.5 * h
    h6 = h / 6.0

    def rk4_lv(carry, row):
        y, acc = carry
        u, v = rk4_step(y[0], y[1], a, b, c, d, h, hh, h6)
        du = u - row[0]
        dv = v - row[1]
        return (nd.stack([u, v]), acc + (du * du + dv * dv)), None

    (_, loss), _ = nd.scan(rk4_lv, (np.array(Y0), 0.0), data, checkpoint=checkpoint,
                           snapshots=snapshots)
    return loss


def numad_loss_array_ys(p, data, h, checkpoint="auto", snapshots=None):
    """carry = the state as a length-2 array; the per-step term as output."""
    a, b, c, d = p[0], p[1], p[2], p[3]
    hh = 0.5 * h
    h6 = h / 6.0

    def rk4_lv(y, row):
        u, v = rk4_step(y[0], y[1], a, b, c, d, h, hh, h6)
        du = u - row[0]
        dv = v - row[1]
        return nd.stack([u, v]), du * du + dv * dv

    _, terms = nd.scan(rk4_lv, np.array(Y0), data, checkpoint=checkpoint,
                       snapshots=snapshots)
    return nd.sum(terms)


SCAN_LAYOUTS = {
    "scalars+loss carry": numad_loss,
    "scalars, ys terms": numad_loss_scalars_ys,
    "array+loss carry": numad_loss_array,
    "array, ys terms": numad_loss_array_ys,
}


# ---------------------------------------------------------------------------------------
# numad: nd.odeint


def lv_rhs(y, t, a, b, c, d):
    u, v = y[0], y[1]
    return nd.stack([a * u - b * u * v, c * u * v - d * v])


def make_odeint_loss(h=H):
    """The same loss with ``nd.odeint`` on the grid ``h * arange(N + 1)``.

    ``h`` is bound here, not an argument, so that the grid is a constant of the tape
    (``nd.gradient`` traces every float argument; the floor does not differentiate
    with respect to the times)."""

    def odeint_loss(p, data, checkpoint="auto", snapshots=None):
        t = h * np.arange(data.shape[0] + 1)
        Y = nd.odeint(lv_rhs, np.array(Y0), t, p[0], p[1], p[2], p[3], method="rk4",
                      checkpoint=checkpoint, snapshots=snapshots)
        r = Y[1:] - data
        return nd.sum(r * r)

    return odeint_loss


# ---------------------------------------------------------------------------------------
# Reference: plain Python scalars (complex-capable, for complex-step derivatives)


def loss_reference(p, data, h=H):
    a, b, c, d = p[0], p[1], p[2], p[3]
    hh = 0.5 * h
    h6 = h / 6.0
    u, v = Y0
    acc = 0.0
    for n in range(data.shape[0]):
        u, v = rk4_step(u, v, a, b, c, d, h, hh, h6)
        du = u - data[n, 0]
        dv = v - data[n, 1]
        acc = acc + (du * du + dv * dv)
    return acc


def complex_step_gradient(p, data, h=H, eps=1e-30):
    """d loss / d p by the complex step: exact to rounding, no subtraction."""
    p = np.asarray(p, dtype=np.float64)
    g = np.empty(4)
    for k in range(4):
        pc = p.astype(np.complex128)
        pc[k] += 1j * eps
        g[k] = loss_reference(pc, data, h).imag / eps
    return g


# ---------------------------------------------------------------------------------------
# The floor: @njit primal and hand-written discrete adjoint


@numba.njit(cache=True)
def lv_loss_njit(p, data, h, u0, v0):
    """The discrete loss, compiled (the primal)."""
    a, b, c, d = p[0], p[1], p[2], p[3]
    hh = 0.5 * h
    h6 = h / 6.0
    u, v = u0, v0
    acc = 0.0
    for n in range(data.shape[0]):
        k1u = a * u - b * u * v
        k1v = c * u * v - d * v
        u2 = u + hh * k1u
        v2 = v + hh * k1v
        k2u = a * u2 - b * u2 * v2
        k2v = c * u2 * v2 - d * v2
        u3 = u + hh * k2u
        v3 = v + hh * k2v
        k3u = a * u3 - b * u3 * v3
        k3v = c * u3 * v3 - d * v3
        u4 = u + h * k3u
        v4 = v + h * k3v
        k4u = a * u4 - b * u4 * v4
        k4v = c * u4 * v4 - d * v4
        u = u + h6 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u)
        v = v + h6 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
        du = u - data[n, 0]
        dv = v - data[n, 1]
        acc = acc + (du * du + dv * dv)
    return acc


@numba.njit(cache=True)
def lv_grad_njit(p, data, h, u0, v0, states, g):
    """Loss and its gradient w.r.t. ``p`` (written into ``g``); ``states`` is an
    ``(N + 1, 2)`` workspace for the forward pass.

    Backward pass for one step ``y -> y' = y + h/6 (k1 + 2 k2 + 2 k3 + k4)`` with
    ``k1 = f(y)``, ``k2 = f(y + h/2 k1)``, ``k3 = f(y + h/2 k2)``, ``k4 = f(y + h k3)``:
    given the adjoint ``w`` of ``y'`` (the loss term's ``2 (y' - data)`` added), the
    stage adjoints are ``K1 = K4 = h/6 w``, ``K2 = K3 = h/3 w``; then from the last
    stage back, for ``k = f(z)``: ``zbar = J(z)^T K``, ``pbar += J_p(z)^T K``,
    ``ybar += zbar`` and the previous stage's ``K`` gets ``(h or h/2) zbar``.
    With ``f = (a u - b u v, c u v - d v)``:
    ``J^T K = (K_u (a - b v) + K_v c v,  -K_u b u + K_v (c u - d))`` and
    ``J_p^T K = (K_u u, -K_u u v, K_v u v, -K_v v)``.
    """
    a, b, c, d = p[0], p[1], p[2], p[3]
    hh = 0.5 * h
    h6 = h / 6.0
    h3 = h / 3.0
    n_steps = data.shape[0]
    u, v = u0, v0
    states[0, 0] = u
    states[0, 1] = v
    acc = 0.0
    for n in range(n_steps):
        k1u = a * u - b * u * v
        k1v = c * u * v - d * v
        u2 = u + hh * k1u
        v2 = v + hh * k1v
        k2u = a * u2 - b * u2 * v2
        k2v = c * u2 * v2 - d * v2
        u3 = u + hh * k2u
        v3 = v + hh * k2v
        k3u = a * u3 - b * u3 * v3
        k3v = c * u3 * v3 - d * v3
        u4 = u + h * k3u
        v4 = v + h * k3v
        k4u = a * u4 - b * u4 * v4
        k4v = c * u4 * v4 - d * v4
        u = u + h6 * (k1u + 2.0 * k2u + 2.0 * k3u + k4u)
        v = v + h6 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
        states[n + 1, 0] = u
        states[n + 1, 1] = v
        du = u - data[n, 0]
        dv = v - data[n, 1]
        acc = acc + (du * du + dv * dv)
    ga = 0.0
    gb = 0.0
    gc = 0.0
    gd = 0.0
    wu = 0.0       # adjoint of the state y_{n+1}, from the later steps
    wv = 0.0
    for n in range(n_steps - 1, -1, -1):
        # the loss term of y_{n+1}
        wu += 2.0 * (states[n + 1, 0] - data[n, 0])
        wv += 2.0 * (states[n + 1, 1] - data[n, 1])
        # recompute the stages from y_n
        u = states[n, 0]
        v = states[n, 1]
        k1u = a * u - b * u * v
        k1v = c * u * v - d * v
        u2 = u + hh * k1u
        v2 = v + hh * k1v
        k2u = a * u2 - b * u2 * v2
        k2v = c * u2 * v2 - d * v2
        u3 = u + hh * k2u
        v3 = v + hh * k2v
        k3u = a * u3 - b * u3 * v3
        k3v = c * u3 * v3 - d * v3
        u4 = u + h * k3u
        v4 = v + h * k3v
        # stage adjoints from y' = y + h6 (k1 + 2 k2 + 2 k3 + k4)
        K1u = h6 * wu
        K1v = h6 * wv
        K2u = h3 * wu
        K2v = h3 * wv
        K3u = K2u
        K3v = K2v
        K4u = K1u
        K4v = K1v
        yu = wu
        yv = wv
        # stage 4: k4 = f(z4), z4 = y + h k3
        zu = K4u * (a - b * v4) + K4v * c * v4
        zv = -K4u * b * u4 + K4v * (c * u4 - d)
        ga += K4u * u4
        gb -= K4u * u4 * v4
        gc += K4v * u4 * v4
        gd -= K4v * v4
        yu += zu
        yv += zv
        K3u += h * zu
        K3v += h * zv
        # stage 3: k3 = f(z3), z3 = y + h/2 k2
        zu = K3u * (a - b * v3) + K3v * c * v3
        zv = -K3u * b * u3 + K3v * (c * u3 - d)
        ga += K3u * u3
        gb -= K3u * u3 * v3
        gc += K3v * u3 * v3
        gd -= K3v * v3
        yu += zu
        yv += zv
        K2u += hh * zu
        K2v += hh * zv
        # stage 2: k2 = f(z2), z2 = y + h/2 k1
        zu = K2u * (a - b * v2) + K2v * c * v2
        zv = -K2u * b * u2 + K2v * (c * u2 - d)
        ga += K2u * u2
        gb -= K2u * u2 * v2
        gc += K2v * u2 * v2
        gd -= K2v * v2
        yu += zu
        yv += zv
        K1u += hh * zu
        K1v += hh * zv
        # stage 1: k1 = f(y)
        yu += K1u * (a - b * v) + K1v * c * v
        yv += -K1u * b * u + K1v * (c * u - d)
        ga += K1u * u
        gb -= K1u * u * v
        gc += K1v * u * v
        gd -= K1v * v
        wu = yu
        wv = yv
    g[0] = ga
    g[1] = gb
    g[2] = gc
    g[3] = gd
    return acc


class Floor:
    """The hand-written gradient with its workspace kept across calls (numad keeps its
    sweep buffers too)."""

    def __init__(self, n):
        self.states = np.empty((n + 1, 2))
        self.g = np.empty(4)

    def value_and_gradient(self, p, data, h=H):
        val = lv_grad_njit(p, data, h, Y0[0], Y0[1], self.states, self.g)
        return val, self.g

    def gradient(self, p, data, h=H):
        lv_grad_njit(p, data, h, Y0[0], Y0[1], self.states, self.g)
        return self.g


def floor_gradient(p, data, h=H):
    """A fresh-workspace call of the floor; returns ``(loss, gradient)``."""
    f = Floor(data.shape[0])
    val, g = f.value_and_gradient(np.asarray(p, dtype=np.float64), data, h)
    return val, g.copy()


def primal(p, data, h=H):
    return lv_loss_njit(np.asarray(p, dtype=np.float64), data, h, Y0[0], Y0[1])
