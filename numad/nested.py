"""Nested derivatives: differentiating inside a function that is itself being traced.

When ``nd.grad`` (or ``vjp``, ``jvp``, ``gradient``, ``jacobian``) is called on traced
values, the derivative must itself be recorded, so that the outer transformation can
differentiate it again (``nd.grad(nd.grad(f))``, ``nd.jacobian(nd.gradient(f))``).
The inner function is traced into the same recorder, and then its reverse sweep is run
*in Python with traced operations*: each entry's adjoint rule is written with the
tracer's own operations, so the adjoints are new tape entries. Elementwise rules come
from the op table's partial expressions (evaluated on traced values); structural
entries have one rule each below. It is slower than the compiled sweeps, which is
fine: it runs once per trace, and the compiled sweeps replay the result.

Only the entries recorded by the inner call are swept; values from outside it are
constants for the inner derivative, as in JAX.
"""
from __future__ import annotations

import re

import numpy as np

from . import tracer as T
from .errors import TracingError
from .optable import (ELEMENTWISE, ELEMENTWISE_BY_NAME, EXPRESSION_FUNCTIONS, N_ELEMENTWISE,
                      OPCODES, OPNAMES, UFUNC_ROWS)
from .pytree import flatten, unflatten

_N_EL = N_ELEMENTWISE
_CODE = OPCODES


def any_traced(args):
    leaves, _ = flatten(args)
    return any(isinstance(leaf, T.Traced) for leaf in leaves)


# ---- evaluating the op table's partial expressions on traced values -----------------------

def _namespace():
    ns = {"np": np, "select": T.where}
    for name in EXPRESSION_FUNCTIONS:
        if name == "select":
            continue
        # the row of that name, or the row its NumPy ufunc means (rint -> round)
        target = name if name in ELEMENTWISE_BY_NAME else UFUNC_ROWS[getattr(np, name)]
        ns[name] = (lambda n: lambda *xs: T.elementwise(n, *xs))(target)
    return ns


_NS = _namespace()

# Partials that can be inf or nan at a finite input (the op table's may_be_infinite
# flags: 1 / a, exp's y): only those need the mask for a zero adjoint; the rest are a
# plain product. Keyed by the expression; one that two rows share is masked if either
# row flags it.
_MAY_BE_INFINITE = {}
for _p in ELEMENTWISE:
    for _d, _inf in zip(_p.partials, _p.may_be_infinite):
        if _d is not None:
            _MAY_BE_INFINITE[_d] = _MAY_BE_INFINITE.get(_d, False) or _inf
del _p, _d, _inf
_COMPILED = {}


def _partial(prim, k, a, b, y):
    expr = prim.partials[k]
    code = _COMPILED.get(expr)
    if code is None:
        code = compile(expr, f"<partial of {prim.name}>", "eval")
        _COMPILED[expr] = code
    return eval(code, _NS, {"a": a, "b": b, "y": y})


# ---- traced values of recorded entries ------------------------------------------------------

def _entry(rec, j):
    v = rec.arrays.get(j)
    if v is None:
        v = rec.vals[j]
    return T.Traced(rec, j, v)


def _shape(rec, j):
    v = rec.arrays.get(j)
    return v.shape if v is not None else ()


def _codes(rec, i):
    """op, a, b, c of entry i (c: `where`'s third input; b: an alias's start)."""
    o, a, b = rec.codes[3 * i:3 * i + 3]
    c = int(rec.params[i][0]) if OPNAMES[o] == "where" else -1
    return o, a, b, c


def _fit(g, shape):
    """An adjoint contribution summed/reshaped to the shape of the input it belongs to."""
    gs = np.shape(T._value(g))
    if gs == shape:
        return g
    size = int(np.prod(shape, dtype=np.int64))
    if size == 1 and int(np.prod(gs, dtype=np.int64)) != 1:
        g = T.reduce_sum(g)
    return T.reshape_any(g, shape) if shape != np.shape(T._value(g)) else g


def _scatter_into_zeros(rec, shape, positions, g):
    """zeros(shape) with g added at flat ``positions`` (the adjoint of a gather)."""
    base = T._as_traced(rec, np.zeros(shape))
    if not isinstance(g, T.Traced):
        g = T._as_traced(rec, np.asarray(g, dtype=np.float64))
    if not isinstance(base._v, np.ndarray):
        base = T.reshape(base, shape)
    gflat = T.ravel(g) if g.shape else g
    positions = np.asarray(positions, dtype=np.int64).ravel()
    new = np.zeros(shape)
    np.add.at(new.reshape(-1), positions, np.ravel(T._value(gflat)))
    new_v = new if shape else float(new)
    i = rec.push(_CODE["scatter_add"], base._i, gflat._i, -1, new_v,
                 params=np.concatenate(([positions.size], positions)))
    return T._wrap(rec, i, new_v)


def _times_partial(g, d, may_be_infinite=True):
    """``g * d``, but 0 where the adjoint is 0 and the partial is not finite (so an
    untaken ``where`` branch's inf stays out, as in the compiled sweep). Only that
    case is masked: a zero adjoint still has a derivative (at a minimum the gradient's
    adjoints are 0, and the Hessian comes from their derivatives)."""
    if not isinstance(d, T.Traced):
        return g if d == 1.0 else (-g if d == -1.0 else g * d)
    product = g * d
    if not may_be_infinite:
        return product
    if not isinstance(g, T.Traced) and np.all(np.asarray(g) != 0.0):
        return product
    masked = T.elementwise("logical_and", T.elementwise("equal", g, 0.0),
                           T.elementwise("logical_not", T.elementwise("isfinite", d)))
    return T.where(masked, 0.0, product)


class _Scattered:
    """Contributions to parts of an array's adjoint (from x[i], slices, gathers), kept
    apart until the array's own entry is reached and then added in one scatter: one
    full-size array per ``x[i]`` would make a traced loop over x quadratic."""

    __slots__ = ("dense", "positions", "pieces")

    def __init__(self, dense):
        self.dense = dense
        self.positions = []
        self.pieces = []


def _add(adj, j, g):
    old = adj.get(j)
    if old is None:
        adj[j] = g
    elif isinstance(old, _Scattered):
        old.dense = g if old.dense is None else old.dense + g
    else:
        adj[j] = old + g


def _add_scattered(adj, j, positions, g):
    """Add ``g`` to the adjoint of entry j at flat ``positions``."""
    old = adj.get(j)
    if not isinstance(old, _Scattered):
        old = adj[j] = _Scattered(old)
    old.positions.append(np.asarray(positions, dtype=np.int64).ravel())
    old.pieces.append(g)


def _adjoint(rec, adj, j):
    """The whole adjoint of entry j (its scattered parts added up), or None."""
    g = adj.get(j)
    if isinstance(g, _Scattered):
        pieces = [T.reshape_any(p, (-1,)) for p in g.pieces]
        values = T.concatenate(pieces) if len(pieces) > 1 else pieces[0]
        total = _scatter_into_zeros(rec, _shape(rec, j), np.concatenate(g.positions), values)
        g = adj[j] = total if g.dense is None else g.dense + total
    return g


# ---- the traced reverse sweep -----------------------------------------------------------------

def traced_reverse(rec, start, stop, seeds):
    """Adjoints, as traced values, of entries ``start..stop-1`` from ``seeds``
    ({entry: adjoint}). Returns the dict of adjoints."""
    adj = dict(seeds)
    reverse_range(rec, adj, start, stop, start)
    return adj


def reverse_range(rec, adj, lo, hi, start):
    """Run the traced reverse sweep over entries ``hi-1`` down to ``lo``, adding into
    ``adj``; adjoints of entries before ``start`` (constants of the derivative being
    taken) are dropped."""
    for i in range(hi - 1, lo - 1, -1):
        g = _adjoint(rec, adj, i)
        if g is None:
            continue
        o, a, b, c = _codes(rec, i)
        if o < _N_EL:
            prim = ELEMENTWISE[o]
            if all(d is None for d in prim.partials):
                continue
            ta = _entry(rec, a)
            tb = _entry(rec, b) if b >= 0 else None
            ty = _entry(rec, i)
            for k, src in enumerate((a, b)):
                # entries from before the inner call are constants of its derivative
                if k >= prim.arity or prim.partials[k] is None or src < start:
                    continue
                d = _partial(prim, k, ta, tb, ty)
                contrib = _times_partial(g, d, _MAY_BE_INFINITE[prim.partials[k]])
                _add(adj, src, _fit(contrib, _shape(rec, src)))
            continue
        name = OPNAMES[o]
        rule = _RULES.get(name)
        if rule is None:
            raise TracingError(f"numad: second derivatives through '{name}' are not "
                               "supported yet (nested nd.grad / nd.jacobian of a function "
                               f"that uses it)")
        rule(rec, i, a, b, c, g, adj, start)


def traced_entry(rec, j):
    """Entry ``j`` of the recorder as a traced value (for rules defined elsewhere)."""
    return _entry(rec, j)


def add_adjoint(rec, adj, j, g, shape):
    """Add the traced contribution ``g`` (summed/reshaped to ``shape``) to the adjoint
    of entry ``j``."""
    _add(adj, j, _fit(g, shape))


def register_rule(name, rule):
    """Add the traced reverse rule of a structural op defined above this module
    (``rule(rec, i, a, b, c, g, adj, start)``, as the rules below)."""
    _RULES[name] = rule


def _rule_where(rec, i, a, b, c, g, adj, start):
    cond = _entry(rec, a)
    for src, take in ((b, True), (c, False)):
        if src >= start:
            contrib = T.where(cond, g, 0.0) if take else T.where(cond, 0.0, g)
            _add(adj, src, _fit(contrib, _shape(rec, src)))


def _rule_alias(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    first = b  # an alias keeps its start in slot b
    n = int(np.prod(_shape(rec, i), dtype=np.int64))
    _add_scattered(adj, a, first + np.arange(n), g)


def _rule_gather(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    _add_scattered(adj, a, rec.params[i], g)


def _rule_scatter(rec, i, a, b, c, g, adj, start):
    p = rec.params[i]
    positions = p[1:]
    shape = _shape(rec, i)
    if a >= start:
        if OPNAMES[_codes(rec, i)[0]] == "scatter_set":
            keep = np.ones(int(np.prod(shape, dtype=np.int64)))
            keep[positions] = 0.0
            _add(adj, a, _fit(g * keep.reshape(shape), _shape(rec, a)))
        else:
            _add(adj, a, g)
    if b >= start:
        picked = T._gather(g if g.shape else T.reshape(g, (1,)), positions,
                           (positions.size,), np.ravel(T._value(g))[positions])
        _add(adj, b, _fit(picked, _shape(rec, b)))


def _pnp(rec, i):
    pre, n, post = (int(v) for v in rec.params[i][:3])
    return pre, n, post


def _rule_reduce(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    name = OPNAMES[_codes(rec, i)[0]]
    pre, n, post = _pnp(rec, i)
    A = T.reshape(_entry(rec, a), (pre, n, post))
    G = T.broadcast_to(T.reshape_any(g, (pre, 1, post)), (pre, n, post))
    if name == "sum":
        contrib = G
    elif name == "prod":
        contrib = G * _prod_of_others(rec, A, pre, n, post)
    else:
        Y = T.reshape(_entry(rec, i), (pre, 1, post))
        mask = T.elementwise("equal", A, Y)
        count = T.reduce_sum(mask, axis=1, keepdims=True)
        contrib = T.where(mask, G / count, 0.0)
    _add(adj, a, T.reshape(contrib, _shape(rec, a)))


def _prod_of_others(rec, A, pre, n, post):
    ones = np.ones((pre, 1, post))
    prefix = T.cumulative("cumprod", A, 1)
    flip = lambda x: T.index_map(x, lambda m: np.flip(m, 1))  # noqa: E731
    suffix = flip(T.cumulative("cumprod", flip(A), 1))
    if n == 1:
        return T._as_traced(rec, ones)
    lo = T.concatenate([ones, T.index_map(prefix, lambda m: m[:, :-1, :])], axis=1)
    hi = T.concatenate([T.index_map(suffix, lambda m: m[:, 1:, :]), ones], axis=1)
    return lo * hi


def _rule_cumsum(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    pre, n, post = _pnp(rec, i)
    G = T.reshape_any(g, (pre, n, post))
    flip = lambda x: T.index_map(x, lambda m: np.flip(m, 1))  # noqa: E731
    _add(adj, a, T.reshape(flip(T.cumulative("cumsum", flip(G), 1)), _shape(rec, a)))


def _swap_last(x):
    nd_ = len(np.shape(T._value(x)))
    perm = list(range(nd_ - 2)) + [nd_ - 1, nd_ - 2]
    return T._transpose_any(x, perm)


def _rule_matmul(rec, i, a, b, c, g, adj, start):
    nb, m, k, n, ba, bb = (int(v) for v in rec.params[i][:6])
    A = T.reshape(_entry(rec, a), (nb if ba else 1, m, k))
    B = T.reshape(_entry(rec, b), (nb if bb else 1, k, n))
    G = T.reshape_any(g, (nb, m, n))
    if a >= start:
        gA = T.matmul(G, _swap_last(B))
        if not ba:
            gA = T.reduce_sum(gA, axis=0, keepdims=True)
        _add(adj, a, T.reshape(gA, _shape(rec, a)))
    if b >= start:
        gB = T.matmul(_swap_last(A), G)
        if not bb:
            gB = T.reduce_sum(gB, axis=0, keepdims=True)
        _add(adj, b, T.reshape(gB, _shape(rec, b)))


def _rule_concat(rec, i, a, b, c, g, adj, start):
    p = rec.params[i]
    pre, post, count = int(p[0]), int(p[1]), int(p[2])
    total = sum(int(p[4 + 2 * s]) for s in range(count))
    G = T.reshape_any(g, (pre, total, post))
    col = 0
    for s in range(count):
        e, ms = int(p[3 + 2 * s]), int(p[4 + 2 * s])
        if e >= start:
            piece = T.index_map(G, lambda m, lo=col, hi=col + ms: m[:, lo:hi, :])
            _add(adj, e, _fit(piece, _shape(rec, e)))
        col += ms


def _rule_sort(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    pre, n, post = _pnp(rec, i)
    av = np.asarray(T._value(_entry(rec, a)), dtype=np.float64).reshape(pre, n, post)
    perm = np.argsort(av, axis=1, kind="stable")
    base = np.arange(pre * n * post).reshape(pre, n, post)
    positions = np.take_along_axis(base, perm, axis=1).ravel()
    # the permutation is a constant of this derivative: guard that it still sorts
    A = _entry(rec, a)
    again = T._gather(A, positions, _shape(rec, i), av.ravel()[positions].reshape(_shape(rec, i)))
    bool(T.logical_reduce(T.elementwise("equal", again, _entry(rec, i)), "all"))
    _add_scattered(adj, a, positions, g)


def _rule_solve(rec, i, a, b, c, g, adj, start):
    A = _entry(rec, a)
    X = _entry(rec, i)
    gB = T.solve(T.transpose(A), g)
    if b >= start:
        _add(adj, b, T.reshape(gB, _shape(rec, b)))
    if a >= start:
        _add(adj, a, -T.matmul(gB, T.transpose(X)))


def _rule_inv(rec, i, a, b, c, g, adj, start):
    if a >= start:
        Yt = T.transpose(_entry(rec, i))
        _add(adj, a, -T.matmul(T.matmul(Yt, g), Yt))


def _rule_slogdet(rec, i, a, b, c, g, adj, start):
    if a >= start:
        g_log = T.getitem(g, 1) if isinstance(g, T.Traced) else float(np.ravel(g)[1])
        _add(adj, a, g_log * T.transpose(T.inv(_entry(rec, a))))


def _rule_det(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    # the cofactor matrix as traced values, each entry a signed det of a minor: exact at
    # singular matrices too, and differentiable again (the minors' dets have this rule)
    A = _entry(rec, a)
    n = _shape(rec, a)[0]
    idx = np.arange(n * n).reshape(n, n)
    rows = []
    for r in range(n):
        row = []
        for col in range(n):
            keep = np.delete(np.delete(idx, r, axis=0), col, axis=1)
            minor = T._gather(A, keep, keep.shape, np.asarray(A._v).ravel()[keep])
            d = T.det(minor)
            row.append(d if (r + col) % 2 == 0 else -d)
        rows.append(T.stack(row))
    _add(adj, a, g * T.stack(rows))


def _rule_cholesky(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    Lf = _entry(rec, i)
    n = _shape(rec, i)[0]
    phi = np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)
    P = T.matmul(T.transpose(Lf), g) * phi
    Linv = T.inv(Lf)
    S = T.matmul(T.matmul(T.transpose(Linv), P), Linv)
    # only the lower triangle is read (kernels.py's rule)
    _add(adj, a, (S + T.transpose(S)) * np.tril(np.ones((n, n)), -1) + S * np.eye(n))


def _rule_eigh(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    from .kernels import EIGH_TIE_RTOL
    n = _shape(rec, a)[0]
    upper = len(rec.params[i]) > 1 and int(rec.params[i][1]) != 0
    whole = _entry(rec, i)
    w = T._gather(whole, np.arange(n), (n,), np.asarray(whole._v)[:n].copy())
    V = T._gather(whole, n + np.arange(n * n), (n, n), np.asarray(whole._v)[n:].reshape(n, n))
    g = g if isinstance(g, T.Traced) else T._as_traced(rec, np.asarray(g, dtype=np.float64))
    gw = T._gather(g, np.arange(n), (n,), np.asarray(g._v)[:n].copy())
    gV = T._gather(g, n + np.arange(n * n), (n, n), np.asarray(g._v)[n:].reshape(n, n))
    off_diag = 1.0 - np.eye(n)
    gaps = T.reshape(w, (1, n)) - T.reshape(w, (n, 1))
    # the compiled sweeps' rule (kernels._eigh_gaps): tied eigenvalues couple with 0
    tol = EIGH_TIE_RTOL * T.elementwise("stop_gradient", T.reduce_max(T.elementwise("abs", w)))
    coupled = T.elementwise("logical_and", off_diag > 0,
                            T.elementwise("greater", T.elementwise("abs", gaps), tol))
    F = T.where(coupled, 1.0 / T.where(coupled, gaps, 1.0), 0.0)
    inner = F * T.matmul(T.transpose(V), gV) + gw * np.eye(n)
    G = T.matmul(T.matmul(V, inner), T.transpose(V))
    strict = np.triu(np.ones((n, n)), 1) if upper else np.tril(np.ones((n, n)), -1)
    _add(adj, a, (G + T.transpose(G)) * strict + G * np.eye(n))


def _rule_nothing(rec, i, a, b, c, g, adj, start):
    pass


def _rule_cumprod(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    # d y_i / d a_j = prod_{k <= i, k != j} a_k for i >= j: the cumulative product with
    # a_j replaced by 1, so no division (zeros are exact); n cumprods, once per trace
    pre, n, post = _pnp(rec, i)
    A = T.reshape(_entry(rec, a), (pre, n, post))
    G = T.reshape_any(g, (pre, n, post))
    cols = []
    for j in range(n):
        mask = np.zeros((1, n, 1), dtype=bool)
        mask[0, j, 0] = True
        others = T.cumulative("cumprod", T.where(mask, 1.0, A), 1)
        later = (np.arange(n) >= j).astype(np.float64).reshape(1, n, 1)
        cols.append(T.reduce_sum(G * others * later, axis=1, keepdims=True))
    contrib = T.concatenate(cols, axis=1) if n > 1 else cols[0]
    _add(adj, a, T.reshape(contrib, _shape(rec, a)))


_RULES = {
    "input": _rule_nothing, "const": _rule_nothing, "guard": _rule_nothing,
    "alias": _rule_alias, "where": _rule_where, "gather": _rule_gather,
    "scatter_set": _rule_scatter, "scatter_add": _rule_scatter,
    "sum": _rule_reduce, "prod": _rule_reduce, "amax": _rule_reduce, "amin": _rule_reduce,
    "cumsum": _rule_cumsum, "cumprod": _rule_cumprod, "matmul": _rule_matmul,
    "concat": _rule_concat, "sort": _rule_sort, "solve": _rule_solve, "inv": _rule_inv,
    "slogdet": _rule_slogdet, "cholesky": _rule_cholesky, "eigh": _rule_eigh,
    "det": _rule_det,
}


# ---- the transformations on traced arguments -------------------------------------------------

def _rec_of(args):
    leaves, _ = flatten(args)
    for leaf in leaves:
        if isinstance(leaf, T.Traced):
            return leaf._rec
    raise AssertionError("no traced argument")


def _fresh_inputs(rec, arg):
    """Copies of an argument's leaves as new entries: the inner function's inputs."""
    leaves, treedef = flatten(arg)
    new, entries = [], []
    for leaf in leaves:
        if isinstance(leaf, T.Traced):
            t = T.elementwise("copy", leaf)
        else:
            arr = np.asarray(leaf, dtype=np.float64)
            base = T._as_traced(rec, arr if arr.ndim else float(arr))
            t = T.elementwise("copy", base)
        new.append(t)
        entries.append(t._i)
    return unflatten(treedef, new), treedef, entries, leaves


def _zeros_like_leaf(rec, leaf):
    shape = np.shape(T._value(leaf))
    return T._as_traced(rec, np.zeros(shape) if shape else 0.0)


def _result(adj, entries, leaves, treedef, rec):
    out = []
    for e, leaf in zip(entries, leaves):
        g = _adjoint(rec, adj, e)
        out.append(g if g is not None else _zeros_like_leaf(rec, leaf))
    return unflatten(treedef, out)


def nested_value_and_grad(f, args, nums):
    rec = _rec_of(args)
    args = list(args)
    start = rec.n
    per_arg = {}
    for k in nums:
        args[k], treedef, entries, leaves = _fresh_inputs(rec, args[k])
        per_arg[k] = (treedef, entries, leaves)
    out = f(*args)
    if not isinstance(out, T.Traced):
        value = out
        grads = tuple(_result({}, per_arg[k][1], per_arg[k][2], per_arg[k][0], rec)
                      for k in nums)
        return value, grads
    if out.size != 1:
        raise ValueError(f"numad: the gradient of {getattr(f, '__name__', 'f')} needs a "
                         f"scalar output, but it returns shape {out.shape}; use nd.jacobian "
                         "or nd.vjp for vector outputs")
    stop = rec.n
    adj = traced_reverse(rec, start, stop, {out._i: 1.0})
    grads = tuple(_result(adj, per_arg[k][1], per_arg[k][2], per_arg[k][0], rec) for k in nums)
    return out, grads


def nested_vjp(f, x):
    rec = _rec_of((x,))
    start = rec.n
    xin, treedef, entries, leaves = _fresh_inputs(rec, x)
    y = f(xin)
    stop = rec.n
    out_leaves, out_def = flatten(y)

    def vjp_fn(w):
        w_leaves, _ = flatten(w)
        seeds = {}
        for o, wl in zip(out_leaves, w_leaves):
            if isinstance(o, T.Traced):
                seeds[o._i] = wl if isinstance(wl, T.Traced) else \
                    T._as_traced(rec, np.asarray(wl, dtype=np.float64) if np.ndim(wl)
                                 else float(wl))
        adj = traced_reverse(rec, start, stop, seeds)
        return _result(adj, entries, leaves, treedef, rec)

    return y, vjp_fn


def nested_jvp(f, x, v):
    """J v as the transpose of the (linear) vjp: a reverse sweep of a reverse sweep."""
    rec = _rec_of((x, v))
    y, vjp_fn = nested_vjp(f, x)
    y_leaves, y_def = flatten(y)
    dummies = [T.elementwise("copy", _zeros_like_leaf(rec, leaf)) for leaf in y_leaves]
    start = min(d._i for d in dummies) if dummies else rec.n
    back = vjp_fn(unflatten(y_def, dummies))
    stop = rec.n
    b_leaves, _ = flatten(back)
    v_leaves, _ = flatten(v)
    seeds = {}
    for bl, vl in zip(b_leaves, v_leaves):
        if isinstance(bl, T.Traced):
            seeds[bl._i] = vl if isinstance(vl, T.Traced) else \
                T._as_traced(rec, np.asarray(vl, dtype=np.float64) if np.ndim(vl) else float(vl))
    adj = traced_reverse(rec, start, stop, seeds)
    outs = [_adjoint(rec, adj, d._i) if adj.get(d._i) is not None else _zeros_like_leaf(rec, leaf)
            for d, leaf in zip(dummies, y_leaves)]
    return y, unflatten(y_def, outs)


def nested_jacobian(f, args, mode="auto"):
    """The Jacobian of ``f(x, *args)`` by ``x`` as traced values: one traced vjp per
    output component, stacked."""
    x = args[0]
    rest = args[1:]
    y, vjp_fn = nested_vjp(lambda z: f(z, *rest), x)
    m = int(np.size(T._value(y)))
    yshape = np.shape(T._value(y))
    xshape = np.shape(T._value(x))
    rows = []
    for k in range(m):
        w = np.zeros(m)
        w[k] = 1.0
        r = vjp_fn(w.reshape(yshape) if yshape else 1.0)
        rows.append(T.reshape_any(r, (-1,)) if xshape else T.reshape_any(r, (1,)))
    J = T.stack(rows, axis=0)
    return T.reshape_any(J, yshape + xshape)
