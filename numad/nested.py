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


import numpy as np

from . import recording as R
from .traced import Traced, entry_of, recorder_of_traced, value_of
from .errors import MixedTraces, TracingError
from .optable import (ELEMENTWISE, ELEMENTWISE_BY_NAME, EXPRESSION_FUNCTIONS, N_ELEMENTWISE,
                      OPCODES, OPNAMES, OUTSIDE, STRUCTURAL, STRUCTURAL_BY_NAME,
                      UFUNC_ROWS)
from .pytree import flatten, unflatten

_N_EL = N_ELEMENTWISE
_CODE = OPCODES


def any_traced(args):
    leaves, _ = flatten(args)
    return any(isinstance(leaf, Traced) for leaf in leaves)


def outer_trace_running():
    """Whether a MixedTraces just caught means that the function closes over a value
    of the trace this thread is running (then the transformation records on it), not
    a value leaked out of a finished trace."""
    from .tracer import active_recorder
    return active_recorder() is not None


def record_or_nest(args, plain, nested):
    """A transformation's answer: ``nested()`` (it records on the outer trace, so that
    the outer derivative sees through it) where an argument is traced, or where the
    function, traced on its own by ``plain()``, meets a value of the trace this thread
    is running (it closes over one: ``nd.grad(lambda b: b * a)(1.0)`` inside a function
    of ``a``); ``plain()`` otherwise, whose answers are numbers even inside a trace."""
    if any_traced(args):
        return nested()
    try:
        return plain()
    except MixedTraces:
        if not outer_trace_running():
            raise
        return nested()


# ---- evaluating the op table's partial expressions on traced values -----------------------

def _namespace():
    ns = {"np": np, "select": R.where}
    for name in EXPRESSION_FUNCTIONS:
        if name == "select":
            continue
        # the row of that name, or the row its NumPy ufunc means (rint -> round)
        target = name if name in ELEMENTWISE_BY_NAME else UFUNC_ROWS[getattr(np, name)]
        ns[name] = (lambda n: lambda *xs: R.elementwise(n, *xs))(target)
    return ns


_NS = _namespace()

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
    return Traced(rec, j, v)


def _shape(rec, j):
    v = rec.arrays.get(j)
    return v.shape if v is not None else ()


def _codes(rec, i):
    """op, a, b, c of entry i (c: `where`'s third input; b: an alias's start)."""
    o, a, b = rec.codes[3 * i:3 * i + 3]
    c = int(rec.params[i][0]) if OPNAMES[o] == "where" else -1
    return o, a, b, c


def fit_shape(g, shape):
    """An adjoint contribution summed/reshaped to the shape of the input it belongs to."""
    gs = np.shape(value_of(g))
    if gs == shape:
        return g
    size = int(np.prod(shape, dtype=np.int64))
    if size == 1 and int(np.prod(gs, dtype=np.int64)) != 1:
        g = R.reduce_sum(g)
    return R.reshape_any(g, shape) if shape != np.shape(value_of(g)) else g


def _scatter_into_zeros(rec, shape, positions, g):
    """zeros(shape) with g added at flat ``positions`` (the adjoint of a gather)."""
    base = R.as_traced(rec, np.zeros(shape))
    if not isinstance(g, Traced):
        g = R.as_traced(rec, np.asarray(g, dtype=np.float64))
    if not isinstance(value_of(base), np.ndarray):
        base = R.reshape(base, shape)
    gflat = R.ravel(g) if g.shape else g
    positions = np.asarray(positions, dtype=np.int64).ravel()
    new = np.zeros(shape)
    np.add.at(new.reshape(-1), positions, np.ravel(value_of(gflat)))
    new_v = new if shape else float(new)
    i = rec.push(_CODE["scatter_add"], entry_of(base), entry_of(gflat), -1, new_v,
                 params=np.concatenate(([positions.size], positions)))
    return R.wrap(rec, i, new_v)


def _times_partial(g, d):
    """The contribution ``g * d`` of adjoint ``g`` through partial ``d``, recorded as
    the op table's ``adjoint_mul``: exactly 0 where ``g`` is 0, whatever ``d`` is (an
    untaken ``where`` branch's ``log(0)`` or ``1 / 0``), as the compiled sweeps add
    nothing for a zero adjoint. A plain ``g * d`` would record 0 * inf = nan there, in
    the gradient's value and in its derivatives. ``adjoint_mul`` keeps that rule at
    every point its tape is replayed, and in its own derivatives (its second input's
    zero partial is a strong zero: a zero ``g`` passes nothing of ``d``'s tangent on,
    not even an inf), while a zero ``g`` that varies still meets ``d`` (``h'(u) = 0``
    with ``h''(u) != 0`` keeps its second-order term ``h'' u'^2``)."""
    if not isinstance(d, Traced):
        return g if d == 1.0 else (-g if d == -1.0 else g * d)
    if not isinstance(g, Traced) and np.all(np.asarray(g) != 0.0):
        return g * d   # (a constant nonzero adjoint: the product is already exact)
    return R.elementwise("adjoint_mul", g, d)


class _Scattered:
    """Contributions to parts of an array's adjoint (from x[i], slices, gathers), kept
    apart until the array's own entry is reached and then added in one scatter: one
    full-size array per ``x[i]`` would make a traced loop over x quadratic."""

    __slots__ = ("dense", "positions", "pieces")

    def __init__(self, dense):
        self.dense = dense
        self.positions = []
        self.pieces = []


def accumulate(adj, j, g):
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
        pieces = [R.reshape_any(p, (-1,)) for p in g.pieces]
        values = R.concatenate(pieces) if len(pieces) > 1 else pieces[0]
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
                contrib = _times_partial(g, d)
                accumulate(adj, src, fit_shape(contrib, _shape(rec, src)))
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
    accumulate(adj, j, fit_shape(g, shape))


def register_rule(name, rule):
    """Add the traced reverse rule of a structural op whose op-table row says OUTSIDE
    (``rule(rec, i, a, b, c, g, adj, start)``, as the rules below): the module that
    records the op defines it (numad/scan.py, numad/custom.py)."""
    if STRUCTURAL_BY_NAME[name].nested != OUTSIDE:
        raise ValueError(f"nested.register_rule: the op table names the rule of {name!r} "
                         f"({STRUCTURAL_BY_NAME[name].nested}); change the row instead")
    _RULES[name] = rule


def rule_of(name):
    """The traced reverse rule of structural op ``name``, or None where none is known."""
    return _RULES.get(name)


def rule_where(rec, i, a, b, c, g, adj, start):
    cond = _entry(rec, a)
    for src, take in ((b, True), (c, False)):
        if src >= start:
            contrib = R.where(cond, g, 0.0) if take else R.where(cond, 0.0, g)
            accumulate(adj, src, fit_shape(contrib, _shape(rec, src)))


def rule_alias(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    first = b  # an alias keeps its start in slot b
    n = int(np.prod(_shape(rec, i), dtype=np.int64))
    _add_scattered(adj, a, first + np.arange(n), g)


def rule_gather(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    _add_scattered(adj, a, rec.params[i], g)


def rule_scatter(rec, i, a, b, c, g, adj, start):
    p = rec.params[i]
    positions = p[1:]
    shape = _shape(rec, i)
    if a >= start:
        if OPNAMES[_codes(rec, i)[0]] == "scatter_set":
            keep = np.ones(int(np.prod(shape, dtype=np.int64)))
            keep[positions] = 0.0
            accumulate(adj, a, fit_shape(g * keep.reshape(shape), _shape(rec, a)))
        else:
            accumulate(adj, a, g)
    if b >= start:
        picked = R.gather(g if g.shape else R.reshape(g, (1,)), positions,
                           (positions.size,), np.ravel(value_of(g))[positions])
        accumulate(adj, b, fit_shape(picked, _shape(rec, b)))


def _pnp(rec, i):
    pre, n, post = (int(v) for v in rec.params[i][:3])
    return pre, n, post


def rule_reduce(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    name = OPNAMES[_codes(rec, i)[0]]
    pre, n, post = _pnp(rec, i)
    A = R.reshape(_entry(rec, a), (pre, n, post))
    G = R.broadcast_to(R.reshape_any(g, (pre, 1, post)), (pre, n, post))
    if name == "sum":
        contrib = G
    elif name == "prod":
        contrib = G * _prod_of_others(rec, A, pre, n, post)
    else:
        Y = R.reshape(_entry(rec, i), (pre, 1, post))
        mask = R.elementwise("equal", A, Y)
        count = R.reduce_sum(mask, axis=1, keepdims=True)
        contrib = R.where(mask, G / count, 0.0)
    accumulate(adj, a, R.reshape(contrib, _shape(rec, a)))


def _prod_of_others(rec, A, pre, n, post):
    ones = np.ones((pre, 1, post))
    prefix = R.cumulative("cumprod", A, 1)
    flip = lambda x: R.index_map(x, lambda m: np.flip(m, 1))  # noqa: E731
    suffix = flip(R.cumulative("cumprod", flip(A), 1))
    if n == 1:
        return R.as_traced(rec, ones)
    lo = R.concatenate([ones, R.index_map(prefix, lambda m: m[:, :-1, :])], axis=1)
    hi = R.concatenate([R.index_map(suffix, lambda m: m[:, 1:, :]), ones], axis=1)
    return lo * hi


def rule_cumsum(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    pre, n, post = _pnp(rec, i)
    G = R.reshape_any(g, (pre, n, post))
    flip = lambda x: R.index_map(x, lambda m: np.flip(m, 1))  # noqa: E731
    accumulate(adj, a, R.reshape(flip(R.cumulative("cumsum", flip(G), 1)), _shape(rec, a)))


def _swap_last(x):
    nd_ = len(np.shape(value_of(x)))
    perm = list(range(nd_ - 2)) + [nd_ - 1, nd_ - 2]
    return R.transpose_any(x, perm)


def rule_matmul(rec, i, a, b, c, g, adj, start):
    nb, m, k, n, ba, bb = (int(v) for v in rec.params[i][:6])
    A = R.reshape(_entry(rec, a), (nb if ba else 1, m, k))
    B = R.reshape(_entry(rec, b), (nb if bb else 1, k, n))
    G = R.reshape_any(g, (nb, m, n))
    if a >= start:
        gA = R.matmul(G, _swap_last(B))
        if not ba:
            gA = R.reduce_sum(gA, axis=0, keepdims=True)
        accumulate(adj, a, R.reshape(gA, _shape(rec, a)))
    if b >= start:
        gB = R.matmul(_swap_last(A), G)
        if not bb:
            gB = R.reduce_sum(gB, axis=0, keepdims=True)
        accumulate(adj, b, R.reshape(gB, _shape(rec, b)))


def rule_concat(rec, i, a, b, c, g, adj, start):
    p = rec.params[i]
    pre, post, count = int(p[0]), int(p[1]), int(p[2])
    total = sum(int(p[4 + 2 * s]) for s in range(count))
    G = R.reshape_any(g, (pre, total, post))
    col = 0
    for s in range(count):
        e, ms = int(p[3 + 2 * s]), int(p[4 + 2 * s])
        if e >= start:
            piece = R.index_map(G, lambda m, lo=col, hi=col + ms: m[:, lo:hi, :])
            accumulate(adj, e, fit_shape(piece, _shape(rec, e)))
        col += ms


def rule_sort(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    pre, n, post = _pnp(rec, i)
    av = np.asarray(value_of(_entry(rec, a)), dtype=np.float64).reshape(pre, n, post)
    perm = np.argsort(av, axis=1, kind="stable")
    base = np.arange(pre * n * post).reshape(pre, n, post)
    positions = np.take_along_axis(base, perm, axis=1).ravel()
    # the permutation is a constant of this derivative: guard that it still sorts
    A = _entry(rec, a)
    again = R.gather(A, positions, _shape(rec, i), av.ravel()[positions].reshape(_shape(rec, i)))
    bool(R.logical_reduce(R.elementwise("equal", again, _entry(rec, i)), "all"))
    _add_scattered(adj, a, positions, g)


def rule_solve(rec, i, a, b, c, g, adj, start):
    A = _entry(rec, a)
    X = _entry(rec, i)
    gB = R.solve(R.transpose(A), g)
    if b >= start:
        accumulate(adj, b, R.reshape(gB, _shape(rec, b)))
    if a >= start:
        accumulate(adj, a, -R.matmul(gB, R.transpose(X)))


def rule_inv(rec, i, a, b, c, g, adj, start):
    if a >= start:
        Yt = R.transpose(_entry(rec, i))
        accumulate(adj, a, -R.matmul(R.matmul(Yt, g), Yt))


def rule_slogdet(rec, i, a, b, c, g, adj, start):
    if a >= start:
        g_log = R.getitem(g, 1) if isinstance(g, Traced) else float(np.ravel(g)[1])
        accumulate(adj, a, g_log * R.transpose(R.inv(_entry(rec, a))))


def rule_det(rec, i, a, b, c, g, adj, start):
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
            minor = R.gather(A, keep, keep.shape, np.asarray(value_of(A)).ravel()[keep])
            d = R.det(minor)
            row.append(d if (r + col) % 2 == 0 else -d)
        rows.append(R.stack(row))
    accumulate(adj, a, g * R.stack(rows))


def rule_cholesky(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    Lf = _entry(rec, i)
    n = _shape(rec, i)[0]
    phi = np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)
    P = R.matmul(R.transpose(Lf), g) * phi
    Linv = R.inv(Lf)
    S = R.matmul(R.matmul(R.transpose(Linv), P), Linv)
    # only the lower triangle is read (kernels.py's rule)
    accumulate(adj, a, (S + R.transpose(S)) * np.tril(np.ones((n, n)), -1) + S * np.eye(n))


def rule_eigh(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    from .kernels import EIGH_TIE_RTOL
    n = _shape(rec, a)[0]
    upper = len(rec.params[i]) > 1 and int(rec.params[i][1]) != 0
    whole = _entry(rec, i)
    w = R.gather(whole, np.arange(n), (n,), np.asarray(value_of(whole))[:n].copy())
    V = R.gather(whole, n + np.arange(n * n), (n, n), np.asarray(value_of(whole))[n:].reshape(n, n))
    g = g if isinstance(g, Traced) else R.as_traced(rec, np.asarray(g, dtype=np.float64))
    gw = R.gather(g, np.arange(n), (n,), np.asarray(value_of(g))[:n].copy())
    gV = R.gather(g, n + np.arange(n * n), (n, n), np.asarray(value_of(g))[n:].reshape(n, n))
    off_diag = 1.0 - np.eye(n)
    gaps = R.reshape(w, (1, n)) - R.reshape(w, (n, 1))
    # the compiled sweeps' rule (kernels._eigh_gaps): tied eigenvalues couple with 0
    tol = EIGH_TIE_RTOL * R.elementwise("stop_gradient", R.reduce_max(R.elementwise("abs", w)))
    coupled = R.elementwise("logical_and", off_diag > 0,
                            R.elementwise("greater", R.elementwise("abs", gaps), tol))
    F = R.where(coupled, 1.0 / R.where(coupled, gaps, 1.0), 0.0)
    inner = F * R.matmul(R.transpose(V), gV) + gw * np.eye(n)
    G = R.matmul(R.matmul(V, inner), R.transpose(V))
    strict = np.triu(np.ones((n, n)), 1) if upper else np.tril(np.ones((n, n)), -1)
    accumulate(adj, a, (G + R.transpose(G)) * strict + G * np.eye(n))


def rule_nothing(rec, i, a, b, c, g, adj, start):
    pass


def rule_cumprod(rec, i, a, b, c, g, adj, start):
    if a < start:
        return
    # d y_i / d a_j = prod_{k <= i, k != j} a_k for i >= j: the cumulative product with
    # a_j replaced by 1, so no division (zeros are exact); n cumprods, once per trace
    pre, n, post = _pnp(rec, i)
    A = R.reshape(_entry(rec, a), (pre, n, post))
    G = R.reshape_any(g, (pre, n, post))
    cols = []
    for j in range(n):
        mask = np.zeros((1, n, 1), dtype=bool)
        mask[0, j, 0] = True
        others = R.cumulative("cumprod", R.where(mask, 1.0, A), 1)
        later = (np.arange(n) >= j).astype(np.float64).reshape(1, n, 1)
        cols.append(R.reduce_sum(G * others * later, axis=1, keepdims=True))
    contrib = R.concatenate(cols, axis=1) if n > 1 else cols[0]
    accumulate(adj, a, R.reshape(contrib, _shape(rec, a)))


# The traced reverse rule of each structural op, as its op-table row names it (``nested``
# column, numad/optable.py); the rows marked OUTSIDE register theirs (register_rule).
_RULES = {row.name: globals()[row.nested] for row in STRUCTURAL if row.nested != OUTSIDE}


# ---- the transformations on traced arguments -------------------------------------------------

def _rec_of(args):
    leaves, _ = flatten(args)
    for leaf in leaves:
        if isinstance(leaf, Traced):
            return recorder_of_traced(leaf)
    from .tracer import active_recorder
    rec = active_recorder()
    assert rec is not None, "no traced argument and no trace in progress"
    return rec


def _fresh_inputs(rec, arg):
    """Copies of an argument's leaves as new entries: the inner function's inputs."""
    leaves, treedef = flatten(arg)
    new, entries = [], []
    for leaf in leaves:
        if isinstance(leaf, Traced):
            t = R.elementwise("copy", leaf)
        else:
            arr = np.asarray(leaf, dtype=np.float64)
            base = R.as_traced(rec, arr if arr.ndim else float(arr))
            t = R.elementwise("copy", base)
        new.append(t)
        entries.append(entry_of(t))
    return unflatten(treedef, new), treedef, entries, leaves


def _zeros_like_leaf(rec, leaf):
    shape = np.shape(value_of(leaf))
    return R.as_traced(rec, np.zeros(shape) if shape else 0.0)


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
    if not isinstance(out, Traced):
        value = out
        grads = tuple(_result({}, per_arg[k][1], per_arg[k][2], per_arg[k][0], rec)
                      for k in nums)
        return value, grads
    if out.size != 1:
        raise ValueError(f"numad: the gradient of {getattr(f, '__name__', 'f')} needs a "
                         f"scalar output, but it returns shape {out.shape}; use nd.jacobian "
                         "or nd.vjp for vector outputs")
    stop = rec.n
    adj = traced_reverse(rec, start, stop, {entry_of(out): 1.0})
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
            if isinstance(o, Traced):
                seeds[entry_of(o)] = wl if isinstance(wl, Traced) else \
                    R.as_traced(rec, np.asarray(wl, dtype=np.float64) if np.ndim(wl)
                                 else float(wl))
        adj = traced_reverse(rec, start, stop, seeds)
        return _result(adj, entries, leaves, treedef, rec)

    return y, vjp_fn


def nested_jvp(f, x, v):
    """J v as the transpose of the (linear) vjp: a reverse sweep of a reverse sweep."""
    rec = _rec_of((x, v))
    y, vjp_fn = nested_vjp(f, x)
    y_leaves, y_def = flatten(y)
    dummies = [R.elementwise("copy", _zeros_like_leaf(rec, leaf)) for leaf in y_leaves]
    start = min(entry_of(d) for d in dummies) if dummies else rec.n
    back = vjp_fn(unflatten(y_def, dummies))
    stop = rec.n
    b_leaves, _ = flatten(back)
    v_leaves, _ = flatten(v)
    seeds = {}
    for bl, vl in zip(b_leaves, v_leaves):
        if isinstance(bl, Traced):
            seeds[entry_of(bl)] = vl if isinstance(vl, Traced) else \
                R.as_traced(rec, np.asarray(vl, dtype=np.float64) if np.ndim(vl) else float(vl))
    adj = traced_reverse(rec, start, stop, seeds)
    outs = [_adjoint(rec, adj, entry_of(d)) if adj.get(entry_of(d)) is not None else _zeros_like_leaf(rec, leaf)
            for d, leaf in zip(dummies, y_leaves)]
    return y, unflatten(y_def, outs)


def nested_jacobian(f, args, mode="auto"):
    """The Jacobian of ``f(x, *args)`` by ``x`` as traced values: one traced vjp per
    output component, stacked."""
    x = args[0]
    rest = args[1:]
    y, vjp_fn = nested_vjp(lambda z: f(z, *rest), x)
    m = int(np.size(value_of(y)))
    yshape = np.shape(value_of(y))
    xshape = np.shape(value_of(x))
    rows = []
    for k in range(m):
        w = np.zeros(m)
        w[k] = 1.0
        r = vjp_fn(w.reshape(yshape) if yshape else 1.0)
        rows.append(R.reshape_any(r, (-1,)) if xshape else R.reshape_any(r, (1,)))
    J = R.stack(rows, axis=0)
    return R.reshape_any(J, yshape + xshape)
