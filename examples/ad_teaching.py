"""The classic teaching examples of automatic differentiation, with numad.

1. Dual numbers by hand. Forward mode carries a pair (u, u') through the program, with
   (u, u') * (v, v') = (u v, u' v + u v') and so on. A twenty-line ``HandDual`` class
   below does it and is compared with ``nd.Dual``, ``nd.jvp`` and the closed form.
2. The Wengert list. ``nd.trace`` records f(a, b, c) = (a + b) * log(b + c) as a list
   of elementary steps, one line each; the forward sweep (tangents, top to bottom) and
   the reverse sweep (adjoints, bottom to top) are then written out by hand, line by
   line, and compared with ``nd.jvp`` and ``nd.grad``.
3. Control flow. A loop with ``np.floor`` and an ``if``: the tape records the branch
   taken, so replaying it where the branch flips raises ``nd.ControlFlowChanged``
   (``tape.matches`` says so beforehand), while ``nd.gradient`` notices and traces
   again. ``floor`` itself is an operation on the tape (derivative 0), so points where
   only its value changes replay the same tape.
4. Non-differentiable points. The Huber loss is 0.5 r^2 for |r| <= delta and
   delta (|r| - delta / 2) beyond: its derivative clip(r, -delta, delta) is continuous,
   its second derivative jumps from 1 to 0 at |r| = delta (the kink). AD differentiates
   the program, not the function: written with ``np.where`` or ``if`` it gives the
   branch taken at the kink; written with ``np.minimum``/``np.maximum`` it follows
   numad's documented convention for those (derivative 0 at a tie), which at the kink
   is not Huber's derivative.

Run: python examples/ad_teaching.py [--quick] [--out DIR]
(the figure, the Huber loss's derivatives, needs matplotlib; it goes to DIR, or to a
fresh temporary directory whose name is printed)
"""
import argparse
import math
import pathlib
import sys
import tempfile

import numpy as np

import numad as nd


# ---- 1. dual numbers by hand ------------------------------------------------------------

class HandDual:
    """u + u' epsilon with epsilon^2 = 0: the value and the derivative travel together."""
    __slots__ = ("value", "tangent")

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent

    @staticmethod
    def lift(x):
        return x if isinstance(x, HandDual) else HandDual(x, 0.0)   # a constant

    def __add__(self, other):
        other = HandDual.lift(other)
        return HandDual(self.value + other.value, self.tangent + other.tangent)

    __radd__ = __add__

    def __neg__(self):
        return HandDual(-self.value, -self.tangent)

    def __sub__(self, other):
        return self + (-HandDual.lift(other))

    def __rsub__(self, other):
        return HandDual.lift(other) - self

    def __mul__(self, other):
        other = HandDual.lift(other)
        return HandDual(self.value * other.value,
                        self.tangent * other.value + self.value * other.tangent)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = HandDual.lift(other)
        return HandDual(self.value / other.value,
                        (self.tangent * other.value - self.value * other.tangent)
                        / other.value ** 2)

    def __rtruediv__(self, other):
        return HandDual.lift(other) / self

    def __pow__(self, n):            # a constant exponent
        return HandDual(self.value ** n, n * self.value ** (n - 1) * self.tangent)

    # np.sin(x) on an object that is not an array calls x.sin(): so the same NumPy code
    # runs on floats, on HandDual and on nd.Dual
    def sin(self):
        return HandDual(math.sin(self.value), math.cos(self.value) * self.tangent)

    def exp(self):
        return HandDual(math.exp(self.value), math.exp(self.value) * self.tangent)


def wave(x):
    """x^2 sin(x) + exp(x) / x: plain NumPy."""
    return x ** 2 * np.sin(x) + np.exp(x) / x


def wave_derivative(x):
    """The closed form, by the rules of calculus."""
    return 2 * x * math.sin(x) + x * x * math.cos(x) + math.exp(x) * (x - 1) / (x * x)


def dual_numbers(x):
    print(f"1. Dual numbers: d/dx [x^2 sin(x) + exp(x)/x] at x = {x}")
    by_hand = wave(HandDual(x, 1.0))                 # seed dx/dx = 1
    with_numad = wave(nd.Dual(x, 1.0))
    _, jvp = nd.jvp(wave, x, 1.0)
    exact = wave_derivative(x)
    print(f"   HandDual    {by_hand.tangent:.15f}   (value {by_hand.value:.15f})")
    print(f"   nd.Dual     {with_numad.tangent:.15f}")
    print(f"   nd.jvp      {jvp:.15f}")
    print(f"   closed form {exact:.15f}")
    return {"hand": (by_hand.value, by_hand.tangent),
            "dual": (with_numad.value, with_numad.tangent), "jvp": jvp, "exact": exact}


# ---- 2. the Wengert list ----------------------------------------------------------------

def f_abc(a, b, c):
    return (a + b) * np.log(b + c)


def wengert_list(a, b, c):
    print(f"\n2. The Wengert list of f(a, b, c) = (a + b) * log(b + c) at ({a}, {b}, {c})")
    tape = nd.trace(f_abc, a, b, c)
    print(tape)
    # The same steps, by hand: the primal values ...
    v0, v1, v2 = a, b, c
    v3 = v0 + v1
    v4 = v1 + v2
    v5 = math.log(v4)
    v6 = v3 * v5
    # ... the forward sweep, top to bottom: tangents along the direction (0, 1, 0),
    # that is df/db (one sweep per input direction)
    t0, t1, t2 = 0.0, 1.0, 0.0
    t3 = t0 + t1
    t4 = t1 + t2
    t5 = t4 / v4                   # log's derivative
    t6 = t3 * v5 + v3 * t5         # the product rule
    # ... and the reverse sweep, bottom to top: the adjoint of each entry is
    # df/d(entry); one sweep gives the derivative with respect to every input
    a6 = 1.0
    a3 = a6 * v5                   # v6 = v3 * v5
    a5 = a6 * v3
    a4 = a5 / v4                   # v5 = log(v4)
    a0 = a3                        # v3 = v0 + v1
    a1 = a3 + a4                   # v1 is used twice: its adjoints add up
    a2 = a4                        # v4 = v1 + v2
    _, forward = nd.jvp(lambda x: f_abc(x[0], x[1], x[2]), np.array([a, b, c]),
                        np.array([0.0, 1.0, 0.0]))
    reverse = nd.grad(f_abc, argnums=(0, 1, 2))(a, b, c)
    print(f"   value: by hand {v6:.12f}, tape {float(tape(a, b, c)):.12f}")
    print(f"   forward sweep, df/db:  by hand {t6:.12f}, nd.jvp {float(forward):.12f}")
    print(f"   reverse sweep, (df/da, df/db, df/dc): by hand ({a0:.12f}, {a1:.12f}, "
          f"{a2:.12f})")
    print(f"   {'':21}nd.grad ({reverse[0]:.12f}, {reverse[1]:.12f}, {reverse[2]:.12f})")
    return {"tape": str(tape), "entries": len(tape), "value": v6,
            "forward_by_hand": t6, "forward": float(forward),
            "reverse_by_hand": (a0, a1, a2), "reverse": tuple(float(g) for g in reverse)}


# ---- 3. a loop with floor and a branch ---------------------------------------------------

def sawtooth(x):
    """A loop over the fractional parts of a k + b, k = 1, 2, 3, with a branch on each."""
    a, b = x[0], x[1]
    total = 0.0
    for k in range(1, 4):
        t = a * k + b
        phase = t - np.floor(t)           # d phase / dt = 1: floor's derivative is 0
        if phase < 0.5:                   # recorded on the tape as a branch decision
            total = total + phase * phase
        else:
            total = total + b * (1.0 - phase)
    return total


def control_flow():
    print("\n3. A loop with floor and a branch: sawtooth(a, b)")
    x0 = np.array([0.35, 0.1])     # phases 0.45, 0.8, 0.15: branches if, else, if
    same = np.array([0.35, 1.1])   # floors one higher, the same phases: the same branches
    flipped = np.array([0.42, 0.1])  # phases 0.52, 0.94, 0.36: the first branch flips
    tape = nd.trace(sawtooth, x0)
    print(f"   traced at {x0}: {len(tape)} entries; gradient {tape.gradient(x0)}")
    print(f"   at {same}: tape.matches -> {tape.matches(same)}, replayed gradient "
          f"{tape.gradient(same)}")
    print(f"   at {flipped}: tape.matches -> {tape.matches(flipped)}")
    try:
        tape.gradient(flipped)
        raised = None
        print("   the replay did not notice the flipped branch!")
    except nd.ControlFlowChanged as error:
        raised = error
        print(f"   replaying there raises nd.ControlFlowChanged: {error}")
    gradient = nd.gradient(sawtooth)     # the adapter checks the branches at every call
    answers = {tuple(x): gradient(x) for x in (x0, same, flipped)}
    print(f"   nd.gradient at the three points: "
          + "; ".join(f"{np.round(g, 12)}" for g in answers.values())
          + f" (traced {gradient.cache.traces} times)")
    return {"points": (x0, same, flipped), "tape_gradient": tape.gradient(x0),
            "matches": (tape.matches(same), tape.matches(flipped)),
            "raised": raised, "gradients": answers, "traces": gradient.cache.traces}


# ---- 4. the Huber loss at its kink -------------------------------------------------------

DELTA = 1.0


def huber_where(r):
    return np.where(np.abs(r) <= DELTA, 0.5 * r * r, DELTA * (np.abs(r) - 0.5 * DELTA))


def huber_if(r):
    if abs(r) <= DELTA:
        return 0.5 * r * r
    return DELTA * (abs(r) - 0.5 * DELTA)


def huber_minmax(r):
    m = np.minimum(np.abs(r), DELTA)
    return 0.5 * m * m + DELTA * np.maximum(np.abs(r) - DELTA, 0.0)


HUBERS = {"np.where": huber_where, "if": huber_if, "minimum/maximum": huber_minmax}


def huber_derivative(r):
    """Huber'(r) = clip(r, -delta, delta): continuous, also at the kink."""
    return min(max(r, -DELTA), DELTA)


def huber(points):
    print(f"\n4. The Huber loss (delta = {DELTA}) at its kinks |r| = delta and at 0")
    print(f"   {'r':>12}{'closed form':>13}" + "".join(f"{name:>17}" for name in HUBERS)
          + "   (first derivative)")
    first, second = {}, {}
    for r in points:
        first[r] = {name: float(nd.grad(f)(r)) for name, f in HUBERS.items()}
        second[r] = {name: float(nd.grad(nd.grad(f))(r)) for name, f in HUBERS.items()}
        print(f"   {r:>12.7f}{huber_derivative(r):>13.7f}"
              + "".join(f"{first[r][name]:>17.7f}" for name in HUBERS))
    print(f"   {'r':>12}{'closed form':>13}" + "".join(f"{name:>17}" for name in HUBERS)
          + "   (second derivative)")
    for r in points:
        exact = "1 | 0" if abs(r) == DELTA else f"{float(abs(r) < DELTA):g}"
        print(f"   {r:>12.7f}{exact:>13}"
              + "".join(f"{second[r][name]:>17.9g}" for name in HUBERS))
    print("   np.where and if take the quadratic branch at |r| = delta (the test is <=), so "
          "they give the derivative from inside: the first is Huber's own, the second "
          "the inside one-sided value 1.\n"
          "   minimum/maximum give 0 to both arguments at a tie (numad's convention for "
          "them, as for abs at 0): at the kink that is 0, not Huber's derivative delta, "
          "and abs'(0) = 0 makes the second derivative at r = 0 zero as well.")
    return first, second


def figure_directory(out):
    """``out`` as a directory, or a fresh temporary one: figures never go into the
    repository unless asked."""
    path = pathlib.Path(out) if out else pathlib.Path(tempfile.mkdtemp(prefix="numad-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def draw(grid, first, out):
    try:
        import matplotlib
    except ImportError:
        print("(matplotlib is not installed: no figure)")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(grid, [huber_derivative(r) for r in grid], color="0.6", linewidth=4,
            label="closed form clip(r, -delta, delta)")
    for k, (name, f) in enumerate(HUBERS.items()):
        ax.plot(grid, [nd.grad(f)(r) for r in grid], "o", markersize=7 - 2 * k,
                label=f"numad, {name}")
    kinks = sorted(r for r in first if abs(r) == DELTA)
    for k, name in enumerate(HUBERS):
        ax.plot(kinks, [first[r][name] for r in kinks], "s", markersize=10 - 2 * k,
                fillstyle="none", color=f"C{k}")
    ax.set_xlabel("r")
    ax.set_title("the Huber loss's derivative; squares: at the kinks")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = figure_directory(out) / "huber_derivative.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a coarser grid in the figure")
    parser.add_argument("--out", help="directory for the figure (default: a temporary one)")
    args = parser.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv

    duals = dual_numbers(1.5)
    wengert = wengert_list(1.0, 3.0, 6.0)
    flow = control_flow()
    eps = 1e-6
    points = (-DELTA - eps, -DELTA, -DELTA + eps, 0.0, DELTA - eps, DELTA, DELTA + eps)
    first, second = huber(points)
    # (grid points of the figure avoid the kinks, which the squares mark)
    grid = np.linspace(-2.0, 2.0, 20 if args.quick else 80)
    figure = draw(grid, first, args.out)
    if figure is not None:
        print(f"wrote {figure}")
    return {"duals": duals, "wengert": wengert, "control_flow": flow,
            "huber_first": first, "huber_second": second, "figure": figure}


if __name__ == "__main__":
    main(sys.argv[1:])
