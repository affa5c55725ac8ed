"""The "never silently wrong" probes of issues 9 and 17, as a table.

    python benchmarks/never_wrong_probes.py

Each probe is a plain use that once gave a stale or frozen number, or an error that
was not numad's. Each is answered, then sorted: "right" (matches the closed form or
central differences), "clear error" (``nd.TracingError`` / ``nd.ControlFlowChanged``
where no number exists to give), "WRONG" (a number that is not the derivative) or
"OTHER ERROR" (an error that is not numad's). The tests in
``tests/test_never_wrong.py`` and ``tests/test_numpy_calls.py`` assert the same.
"""
import functools
import random
import threading
import time
import warnings

import numpy as np

import numad as nd

X = np.array([1.0, 2.0])


def fd(f, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


PROBES = []


def probe(name, expect_error=False):
    def add(fn):
        PROBES.append((name, fn, expect_error))
        return fn
    return add


# ---- issue 9 ----
@probe("threads: shared nd.gradient / nd.jacobian, 4 threads x 200 calls")
def _threads():
    f = lambda x: np.sum(np.sin(x) * x ** 2)  # noqa: E731
    g, j = nd.gradient(f), nd.jacobian(lambda x: np.tanh(x) * np.sum(x))
    pts = np.random.default_rng(0).normal(size=(4, 200, 3))
    bad = []

    def work(t):
        for x in pts[t]:
            if not np.allclose(g(x), np.cos(x) * x ** 2 + 2 * x * np.sin(x)):
                bad.append(1)
            J = np.diag((1 - np.tanh(x) ** 2) * np.sum(x)) + np.tanh(x)[:, None]
            if not np.allclose(j(x), J):
                bad.append(1)
    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    return not bad


K = 2.0


def _global_f(x):
    return K * np.sum(x ** 2)


@probe("a module global changed between calls")
def _global():
    global K
    g = nd.gradient(_global_f)
    g(X)
    K = 3.0
    try:
        return np.allclose(g(X), 6 * X)
    finally:
        K = 2.0


@probe("a closure variable changed between calls")
def _closure():
    k = 2.0
    g = nd.gradient(lambda x: k * np.sum(x ** 2))
    g(X)
    k = 3.0
    return np.allclose(g(X), 6 * X)


@probe("an attribute of an argument object mutated between calls")
def _attr():
    m = type("M", (), {})()
    m.k = 2.0
    g = nd.gradient(lambda x, m: m.k * np.sum(x ** 2))
    g(X, m)
    m.k = 3.0
    return np.allclose(g(X, m), 6 * X)


@probe("np.random.normal() inside f (cached adapter)", expect_error=True)
def _random():
    nd.gradient(lambda x: np.sum(x) * np.random.normal())(X)


@probe("a Generator's draw inside f", expect_error=True)
def _gen():
    rng = np.random.default_rng(0)
    nd.gradient(lambda x: np.sum(x) * rng.normal())(X)


@probe("random.random() inside f", expect_error=True)
def _pyrandom():
    nd.gradient(lambda x: np.sum(x) * random.random())(X)


@probe("time.time() inside f", expect_error=True)
def _time():
    nd.gradient(lambda x: np.sum(x) * time.time())(X)


@probe("f-string with a format spec of a traced value", expect_error=True)
def _fstring():
    nd.grad(lambda x: np.sum(x) if f"{x[0]:.1f}" == "1.0" else 0.0)(X)


@probe("str() of a traced value shows no number")
def _str():
    seen = []
    nd.grad(lambda x: (seen.append(str(x[0])), np.sum(x))[1])(X)
    return "1.0" not in seen[0] and "Traced" in seen[0]


@probe("det's gradient at a singular matrix is the cofactor matrix")
def _det():
    A = np.array([[1.0, 2.0], [2.0, 4.0]])
    return np.allclose(nd.grad(np.linalg.det)(A), [[4.0, -2.0], [-2.0, 1.0]])


@probe("eigvalsh's sum at a repeated eigenvalue")
def _eigvalsh():
    return np.allclose(nd.grad(lambda a: np.sum(np.linalg.eigvalsh(a)))(np.eye(3)),
                       np.tril(np.ones((3, 3))) * 0 + np.eye(3))


@probe("argnums=-1")
def _argnums():
    return nd.grad(lambda a, b: a * b ** 2, argnums=-1)(2.0, 3.0) == 12.0


@probe("keyword arguments to a grad'ed function")
def _kw():
    return np.allclose(nd.grad(lambda x, k=1.0: k * np.sum(x))(X, k=2.0), [2.0, 2.0])


@probe("a[0] = traced into a NumPy array", expect_error=True)
def _setitem():
    def f(x):
        a = np.zeros(3)
        a[0] = x[0]
        return np.sum(a)
    nd.grad(f)(X)


@probe("a counter in f that the value depends on")
def _counter():
    calls = []

    def f(x):
        calls.append(1)
        return len(calls) * np.sum(x)
    g = nd.gradient(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [g(X)[0] for _ in range(3)] == [1.0, 2.0, 3.0]


@probe("functools.lru_cache inside f", expect_error=True)
def _lru():
    c = functools.lru_cache(None)(lambda u: 2.0 * u)
    nd.gradient(lambda x: c(x[0]) + x[1])(X)


@probe("Python sum/max over a traced array")
def _builtins():
    return (np.allclose(nd.gradient(lambda x: sum(x))(X), [1, 1])
            and np.allclose(nd.gradient(lambda x: max(x))(X), [0, 1]))


@probe("x.item() / x.tolist()", expect_error=True)
def _item():
    nd.grad(lambda x: x[0].item() * x[1])(X)


@probe("np.vectorize over a traced array", expect_error=True)
def _vectorize():
    nd.grad(lambda x: np.sum(np.vectorize(lambda u: u * u)(x)))(X)


@probe("a random draw inside a scan step", expect_error=True)
def _scan_random():
    nd.grad(lambda y: nd.scan(lambda c, _: (c + np.random.normal(), None), y,
                              length=3)[0])(1.0)


# ---- issue 17 ----
@probe("np.maximum(x, x)")
def _max_tie():
    return nd.grad(lambda x: np.maximum(x, x))(0.7) == 1.0


@probe("np.minimum(x, x)")
def _min_tie():
    return nd.grad(lambda x: np.minimum(x, x))(0.7) == 1.0


@probe("eigh(a, 'U') of a non-symmetric 6x6")
def _eigh_u():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6))
    W, Wv = rng.normal(size=6), rng.normal(size=(6, 6))

    def f(a):
        w, v = np.linalg.eigh(a, "U")
        return np.sum(W * w) + np.sum(Wv * np.abs(v))
    return np.allclose(nd.grad(f)(a), fd(f, a), atol=1e-6)


@probe("np.std over an axis of length 1")
def _std1():
    return np.allclose(nd.grad(lambda x: np.sum(np.std(x, axis=0)))(np.ones((1, 3))), 0.0)


@probe("np.logaddexp(0.6, ones(2)) traced")
def _logaddexp():
    f = lambda x: np.sum(np.logaddexp(x, np.ones(2)))  # noqa: E731
    return np.isclose(nd.grad(f)(0.6), fd(lambda v: f(float(v)), np.array(0.6)))


@probe("np.moveaxis / np.swapaxes by keyword")
def _kwnames():
    x = np.arange(6.0).reshape(2, 3)
    g = nd.grad(lambda x: np.sum(np.moveaxis(x, source=0, destination=1) ** 2))(x)
    h = nd.grad(lambda x: np.sum(np.swapaxes(x, axis1=0, axis2=1) ** 2))(x)
    return np.allclose(g, 2 * x) and np.allclose(h, 2 * x)


@probe("np.einsum sublist form")
def _einsum():
    a, b = np.arange(4.0).reshape(2, 2), np.ones((2, 2))
    g = nd.grad(lambda a: np.sum(np.einsum(a, [0, 1], b, [1, 2])))(a)
    return np.allclose(g, b @ np.ones((2, 2)).T)


@probe("np.sum(x < x) + 0.0")
def _cmp_sum():
    return nd.grad(lambda x: np.sum(x < x) + 0.0 * x)(1.0) == 0.0


@probe("complex argument", expect_error=True)
def _complex():
    nd.grad(lambda x: np.sum(x))(np.array([1 + 2j]))


@probe("scipy.special.psi refusal names scipy.special", expect_error=True)
def _psi():
    import scipy.special
    try:
        nd.grad(lambda x: scipy.special.psi(x))(1.0)
    except nd.TracingError as e:
        if "np.psi" in str(e):
            raise RuntimeError("named np.psi") from e
        raise


def main():
    counts = {"right": 0, "clear error": 0, "WRONG": 0, "OTHER ERROR": 0}
    for name, fn, expect_error in PROBES:
        try:
            ok = fn()
            verdict = ("right" if ok else "WRONG") if not expect_error else (
                "right" if ok else "WRONG")
        except (nd.TracingError, nd.ControlFlowChanged) as e:
            verdict = "clear error" if expect_error else f"OTHER ERROR ({str(e)[:60]})"
        except Exception as e:  # noqa: BLE001 - that is what the table reports
            verdict = f"OTHER ERROR ({type(e).__name__}: {str(e)[:60]})"
        key = verdict.split(" (")[0]
        counts[key] = counts.get(key, 0) + 1
        print(f"{verdict:<14s} {name}")
    print(f"\n{len(PROBES)} probes: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts["WRONG"] + counts["OTHER ERROR"]


if __name__ == "__main__":
    raise SystemExit(main())
