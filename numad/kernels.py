"""The compiled sweeps over a flat tape.

Every function here is a plain ``@njit(cache=True)`` loop over arrays: it knows the
tape's parallel arrays and the op table's opcodes and nothing else, so one compiled
sweep serves every function numad traces (nothing is compiled per user function).

The tape, as the sweeps see it (entry ``i``):

``op[i]``            opcode (``numad.optable``)
``args[i, 0:2]``     input entries, -1 where unused (`where`'s third is in ``params``)
``opnd[i, 0:2]``     where the values of inputs 0 and 1 start (``off[args[i, k]]``, or the
                     value buffer's last, spare slot where unused): scalar entries read
                     their operands without the extra indirection
``off[i]``           where the entry's values start in the value buffer
``size[i]``          how many values it has (1 for a scalar)
``pstart[i]``        where its integer parameters start in ``params``
``aux_off[i]``       where its float workspace (a sort's permutation) starts in ``aux``
``partials[i, :2]``  for scalar elementwise entries, the local partial derivatives,
                     stored by the forward sweep so that the reverse sweep needs no
                     switch over opcodes (measured: 9-16 ns to 2 ns per entry on a
                     random mix of operations, see shared/NOTES.md)

Buffers: ``vals`` (values), ``adj`` (adjoints, same layout), ``tan`` (tangents, ``L``
lanes per value: value ``j`` of the buffer has tangents ``tan[j*L : j*L+L]``).

Conventions: a zero adjoint or a zero tangent contributes nothing (so the untaken side
of a ``where`` never turns an ``inf`` into ``0 * inf = nan``); inputs of stride 0 in an
elementwise op are scalars broadcast over the output.
"""
import math

import numpy as np
from numba import njit, prange, types
from numba.np.linalg import _LAPACK, ensure_lapack

from .optable import N_ELEMENTWISE, OPCODES

# Numba freezes module globals as compile-time constants: these are plain ints.
INPUT = OPCODES["input"]
CONST = OPCODES["const"]
ALIAS = OPCODES["alias"]
WHERE = OPCODES["where"]
GATHER = OPCODES["gather"]
SCATTER_SET = OPCODES["scatter_set"]
SCATTER_ADD = OPCODES["scatter_add"]
SUM = OPCODES["sum"]
PROD = OPCODES["prod"]
AMAX = OPCODES["amax"]
AMIN = OPCODES["amin"]
CUMSUM = OPCODES["cumsum"]
CUMPROD = OPCODES["cumprod"]
MATMUL = OPCODES["matmul"]
CONCAT = OPCODES["concat"]
SORT = OPCODES["sort"]
SOLVE = OPCODES["solve"]
INV = OPCODES["inv"]
SLOGDET = OPCODES["slogdet"]
CHOLESKY = OPCODES["cholesky"]
EIGH = OPCODES["eigh"]
GUARD = OPCODES["guard"]
SCAN = OPCODES["scan"]
DET = OPCODES["det"]
CUSTOM = OPCODES["custom"]
ELEMENTWISE_END = N_ELEMENTWISE

# Every opcode a sweep knows; tests compare these with the op table.
FORWARD_HANDLES = (INPUT, CONST, ALIAS, WHERE, GATHER, SCATTER_SET, SCATTER_ADD, SUM, PROD,
                   AMAX, AMIN, CUMSUM, CUMPROD, MATMUL, CONCAT, SORT, SOLVE, INV, SLOGDET,
                   CHOLESKY, EIGH, GUARD, SCAN, DET, CUSTOM)
REVERSE_HANDLES = FORWARD_HANDLES
TANGENT_HANDLES = FORWARD_HANDLES


@njit(cache=True)
def select(c, x, y):
    return x if c else y


# ---------------------------------------------------------------------------------------
# Small linear-algebra helpers (row-major square matrices stored flat)


@njit(cache=True, error_model="numpy")
def _matrix(buf, start, rows, cols):
    return buf[start:start + rows * cols].reshape(rows, cols)


@njit(cache=True, error_model="numpy")
def _lanes_matrix(buf, start, rows, cols, L, lane):
    """The matrix of tangent lane `lane` stored at value offset `start`."""
    out = np.empty((rows, cols))
    for r in range(rows):
        for c in range(cols):
            out[r, c] = buf[(start + r * cols + c) * L + lane]
    return out


@njit(cache=True, error_model="numpy")
def _store_lanes_matrix(buf, start, m, L, lane):
    rows, cols = m.shape
    for r in range(rows):
        for c in range(cols):
            buf[(start + r * cols + c) * L + lane] = m[r, c]


@njit(cache=True, error_model="numpy")
def _phi(m):
    """Lower triangle with the diagonal halved (the Cholesky derivative's projection)."""
    n = m.shape[0]
    out = np.zeros((n, n))
    for r in range(n):
        for c in range(r):
            out[r, c] = m[r, c]
        out[r, r] = 0.5 * m[r, r]
    return out


@njit(cache=True, error_model="numpy")
def _read_symmetric(m, upper):
    """The symmetric matrix eigh sees in ``m``: its lower (or upper) triangle, mirrored."""
    n = m.shape[0]
    out = np.empty((n, n))
    for r in range(n):
        for c in range(r + 1):
            v = m[c, r] if upper else m[r, c]
            out[r, c] = v
            out[c, r] = v
    return out


# numba's np.linalg.eigh always reads the lower triangle; LAPACK's reduction of the upper
# one gives other eigenvector signs, so UPLO="U" calls the same LAPACK routine itself
# (bit for bit NumPy's answer for either triangle).
ensure_lapack()
_XXXEVD = _LAPACK().numba_ez_xxxevd(types.float64)


@njit(cache=True, error_model="numpy")
def _eigh(m, upper):
    """np.linalg.eigh(m, "U" if upper else "L"): eigenvalues, eigenvectors (columns)."""
    n = m.shape[0]
    acpy = np.asfortranarray(m.copy())
    w = np.empty(n)
    if n == 0:
        return w, acpy
    r = _XXXEVD(ord("d"), ord("V"), ord("U") if upper else ord("L"), n, acpy.ctypes, n,
                w.ctypes)
    if r != 0:
        raise np.linalg.LinAlgError("eigh: the eigenvalue algorithm did not converge")
    return w, acpy


# Eigenvalues closer than this (relative to the largest |w|) count as repeated: their
# eigenvectors are not unique, and 1 / (w_j - w_i) would be inf or rounding noise.
EIGH_TIE_RTOL = 1e-10


@njit(cache=True, error_model="numpy")
def _eigh_gaps(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal; 0 on it and where w[i], w[j] tie.

    At a tie the eigenvectors rotate freely inside their eigenspace: a function that is
    differentiable there (a symmetric function of the eigenvalues, a projector) gets no
    contribution from the pair, so 0 is its exact limit, and never inf or nan."""
    n = w.shape[0]
    scale = 0.0
    for r in range(n):
        scale = max(scale, abs(w[r]))
    tol = EIGH_TIE_RTOL * scale
    F = np.zeros((n, n))
    for r in range(n):
        for c in range(n):
            gap = w[c] - w[r]
            if r != c and abs(gap) > tol:
                F[r, c] = 1.0 / gap
    return F


@njit(cache=True, error_model="numpy")
def _prod_of_others(line, out):
    """out[j] = product of line[i] for i != j, without dividing (zeros are exact)."""
    n = line.shape[0]
    acc = 1.0
    for j in range(n):
        out[j] = acc
        acc *= line[j]
    acc = 1.0
    for j in range(n - 1, -1, -1):
        out[j] *= acc
        acc *= line[j]


@njit(cache=True, error_model="numpy")
def _cofactors(A):
    """The cofactor matrix of A (d det A / dA, the adjugate's transpose) at every A,
    singular ones included: with A = U S V^T it is det(U) det(V) U diag(prod_{j != i}
    s_j) V^T, which divides by nothing (det(A) A^-T would at a singular A)."""
    m = A.shape[0]
    U, sv, Vt = np.linalg.svd(A)
    others = np.empty(m)
    _prod_of_others(sv, others)
    sign = np.linalg.det(U) * np.linalg.det(Vt)
    for c in range(m):
        for r in range(m):
            U[r, c] *= others[c]
    return sign * np.dot(U, Vt)


@njit(cache=True, error_model="numpy")
def _sum_contiguous(vals, start, m):
    """Sum of vals[start:start+m] with eight independent accumulators: a single one
    makes every add wait for the one before (about 4x slower on 10^6 values)."""
    acc = np.zeros(8)
    full = m - m % 8
    for j in range(0, full, 8):
        for q in range(8):
            acc[q] += vals[start + j + q]
    total = 0.0
    for j in range(full, m):
        total += vals[start + j]
    return total + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))


# ---------------------------------------------------------------------------------------
# The forward sweep


@njit(cache=True, error_model="numpy")
def forward_entry(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """Forward step of entry ``i`` when it is not a scalar elementwise one; True where
    a guard fails. (Out of the sweep's loop so that the hot scalar path stays small:
    measured 4.0 against 1.9 ns an entry with everything inside the loop.)"""
    o = op[i]
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
    if o < ELEMENTWISE_END:
        sa = 1 if size[a] > 1 else 0
        sb = 1 if size[b] > 1 else 0
        array_elementwise_forward(o, n, vals, yo, off[a], sa, off[b], sb)
    elif o == INPUT or o == CONST or o == ALIAS:
        pass
    elif o == WHERE:
        c = params[pstart[i]]  # where's third input
        # args: (cond, x, y) stored as a=cond, b=x, c=y
        co, xo, zo = off[a], off[b], off[c]
        sc = 1 if size[a] > 1 else 0
        sx = 1 if size[b] > 1 else 0
        sz = 1 if size[c] > 1 else 0
        for k in range(n):
            vals[yo + k] = vals[xo + k * sx] if vals[co + k * sc] != 0.0 else vals[zo + k * sz]
    elif o == GATHER:
        p = pstart[i]
        ao = off[a]
        for k in range(n):
            vals[yo + k] = vals[ao + params[p + k]]
    elif o == SCATTER_SET or o == SCATTER_ADD:
        p = pstart[i]
        m = params[p]
        ao, bo = off[a], off[b]
        sb = 1 if size[b] > 1 else 0
        for k in range(n):
            vals[yo + k] = vals[ao + k]
        if o == SCATTER_SET:
            for k in range(m):
                vals[yo + params[p + 1 + k]] = vals[bo + k * sb]
        else:
            for k in range(m):
                vals[yo + params[p + 1 + k]] += vals[bo + k * sb]
    elif o == SUM or o == PROD or o == AMAX or o == AMIN:
        p = pstart[i]
        pre, m, post = params[p], params[p + 1], params[p + 2]
        ao = off[a]
        for r in range(pre):
            for q in range(post):
                base = ao + r * m * post + q
                if o == SUM:
                    if post == 1:
                        acc = _sum_contiguous(vals, base, m)
                    else:
                        acc = 0.0
                        for j in range(m):
                            acc += vals[base + j * post]
                elif o == PROD:
                    acc = 1.0
                    for j in range(m):
                        acc *= vals[base + j * post]
                elif o == AMAX:
                    acc = -np.inf
                    for j in range(m):
                        v = vals[base + j * post]
                        if v > acc or v != v:
                            acc = v
                            if v != v:
                                break
                else:
                    acc = np.inf
                    for j in range(m):
                        v = vals[base + j * post]
                        if v < acc or v != v:
                            acc = v
                            if v != v:
                                break
                vals[yo + r * post + q] = acc
    elif o == CUMSUM or o == CUMPROD:
        p = pstart[i]
        pre, m, post = params[p], params[p + 1], params[p + 2]
        ao = off[a]
        for r in range(pre):
            for q in range(post):
                base = r * m * post + q
                acc = 0.0 if o == CUMSUM else 1.0
                for j in range(m):
                    if o == CUMSUM:
                        acc += vals[ao + base + j * post]
                    else:
                        acc *= vals[ao + base + j * post]
                    vals[yo + base + j * post] = acc
    elif o == MATMUL:
        p = pstart[i]
        nb, m, kk, nn = params[p], params[p + 1], params[p + 2], params[p + 3]
        ba, bb = params[p + 4], params[p + 5]
        for t in range(nb):
            A = _matrix(vals, off[a] + t * ba * m * kk, m, kk)
            B = _matrix(vals, off[b] + t * bb * kk * nn, kk, nn)
            C = _matrix(vals, yo + t * m * nn, m, nn)
            C[:, :] = np.dot(A, B)
    elif o == CONCAT:
        p = pstart[i]
        pre, post, count = params[p], params[p + 1], params[p + 2]
        total = 0
        for s in range(count):
            total += params[p + 4 + 2 * s]
        col = 0
        for s in range(count):
            e = params[p + 3 + 2 * s]
            ms = params[p + 4 + 2 * s]
            eo = off[e]
            one = size[e] == 1 and ms * pre * post > 1
            for r in range(pre):
                for j in range(ms * post):
                    v = vals[eo] if one else vals[eo + r * ms * post + j]
                    vals[yo + r * total * post + col * post + j] = v
            col += ms
    elif o == SORT:
        p = pstart[i]
        pre, m, post = params[p], params[p + 1], params[p + 2]
        ao = off[a]
        xo = aux_off[i]
        line = np.empty(m)
        for r in range(pre):
            for q in range(post):
                base = r * m * post + q
                for j in range(m):
                    line[j] = vals[ao + base + j * post]
                perm = np.argsort(line, kind="mergesort")
                for j in range(m):
                    vals[yo + base + j * post] = line[perm[j]]
                    aux[xo + base + j * post] = base + perm[j] * post
    elif o == SOLVE:
        p = pstart[i]
        m, kk = params[p], params[p + 1]
        A = _matrix(vals, off[a], m, m)
        B = _matrix(vals, off[b], m, kk)
        X = _matrix(vals, yo, m, kk)
        X[:, :] = np.linalg.solve(A, B)
    elif o == INV:
        m = params[pstart[i]]
        _matrix(vals, yo, m, m)[:, :] = np.linalg.inv(_matrix(vals, off[a], m, m))
    elif o == SLOGDET:
        m = params[pstart[i]]
        sgn, logabs = np.linalg.slogdet(_matrix(vals, off[a], m, m))
        vals[yo] = sgn
        vals[yo + 1] = logabs
    elif o == DET:
        m = params[pstart[i]]
        vals[yo] = np.linalg.det(_matrix(vals, off[a], m, m))
    elif o == CHOLESKY:
        m = params[pstart[i]]
        _matrix(vals, yo, m, m)[:, :] = np.linalg.cholesky(_matrix(vals, off[a], m, m))
    elif o == EIGH:
        m = params[pstart[i]]
        p = pstart[i]
        w, V = _eigh(_matrix(vals, off[a], m, m), params[p + 1] != 0)
        vals[yo:yo + m] = w
        _matrix(vals, yo + m, m, m)[:, :] = V
    elif o == GUARD:
        ao = off[a]
        for k in range(n):
            if vals[ao + k] != vals[yo + k]:
                # nan is a decision too: a recorded nan must stay nan
                if not (vals[ao + k] != vals[ao + k] and vals[yo + k] != vals[yo + k]):
                    return True
    elif o == SCAN or o == CUSTOM:
        # a loop's results come from the scan driver, which the tape calls between
        # sweeps over the entries around the loop; a sweep reaching one reports it
        return True
    else:
        raise ValueError("forward_sweep: unknown opcode")
    return False


# forward_sweep itself is generated from the op table: see the end of this file.


# ---------------------------------------------------------------------------------------
# The reverse sweep


@njit(cache=True, error_model="numpy")
def reverse_entry(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """Reverse step of entry ``i`` when it is not a scalar elementwise one."""
    o = op[i]
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
    if o < ELEMENTWISE_END:
        sa = 1 if size[a] > 1 else 0
        need_b = b >= 0 and op[b] != CONST
        sb = 1 if b >= 0 and size[b] > 1 else 0
        bo = off[b] if b >= 0 else 0
        array_elementwise_reverse(o, n, vals, adj, yo, off[a], sa, bo, sb,
                                  op[a] != CONST, need_b, first[i, 0], first[i, 1])
    elif o == INPUT or o == CONST or o == ALIAS or o == GUARD or o == SCAN or o == CUSTOM:
        pass  # (a loop is reversed by the scan driver)
    elif o == WHERE:
        c = params[pstart[i]]  # where's third input
        co, xo, zo = off[a], off[b], off[c]
        sc = 1 if size[a] > 1 else 0
        sx = 1 if size[b] > 1 else 0
        sz = 1 if size[c] > 1 else 0
        for k in range(n):
            g = adj[yo + k]
            if g != 0.0:
                if vals[co + k * sc] != 0.0:
                    adj[xo + k * sx] += g
                else:
                    adj[zo + k * sz] += g
    elif o == GATHER:
        p = pstart[i]
        ao = off[a]
        for k in range(n):
            adj[ao + params[p + k]] += adj[yo + k]
    elif o == SCATTER_SET or o == SCATTER_ADD:
        p = pstart[i]
        m = params[p]
        ao, bo = off[a], off[b]
        sb = 1 if size[b] > 1 else 0
        for k in range(m):
            adj[bo + k * sb] += adj[yo + params[p + 1 + k]]
            if o == SCATTER_SET:
                # the overwritten values of `a` get no adjoint; y's adjoint is
                # complete here and read by nothing after this entry
                adj[yo + params[p + 1 + k]] = 0.0
        for k in range(n):
            adj[ao + k] += adj[yo + k]
    elif o == SUM:
        p = pstart[i]
        pre, m, post = params[p], params[p + 1], params[p + 2]
        ao = off[a]
        assign = first[i, 0]
        for r in range(pre):
            for q in range(post):
                g = adj[yo + r * post + q]
                base = ao + r * m * post + q
                if assign:
                    for j in range(m):
                        adj[base + j * post] = g
                else:
                    for j in range(m):
                        adj[base + j * post] += g
    elif o == PROD or o == AMAX or o == AMIN:
        p = pstart[i]
        pre, m, post = params[p], params[p + 1], params[p + 2]
        ao = off[a]
        line = np.empty(m)
        others = np.empty(m)
        for r in range(pre):
            for q in range(post):
                g = adj[yo + r * post + q]
                if g == 0.0:
                    continue
                base = ao + r * m * post + q
                if o == PROD:
                    for j in range(m):
                        line[j] = vals[base + j * post]
                    _prod_of_others(line, others)
                    for j in range(m):
                        adj[base + j * post] += g * others[j]
                else:
                    y = vals[yo + r * post + q]
                    ties = 0
                    for j in range(m):
                        if vals[base + j * post] == y:
                            ties += 1
                    if ties > 0:
                        share = g / ties
                        for j in range(m):
                            if vals[base + j * post] == y:
                                adj[base + j * post] += share
    elif o == CUMSUM or o == CUMPROD:
        p = pstart[i]
        pre, m, post = params[p], params[p + 1], params[p + 2]
        ao = off[a]
        for r in range(pre):
            for q in range(post):
                base = r * m * post + q
                if o == CUMSUM:
                    acc = 0.0
                    for j in range(m - 1, -1, -1):
                        acc += adj[yo + base + j * post]
                        adj[ao + base + j * post] += acc
                else:
                    # d/da_j = y_{j-1} * S_j, S_j = g_j + a_{j+1} S_{j+1}: no division
                    s = 0.0
                    for j in range(m - 1, -1, -1):
                        if j < m - 1:
                            s = adj[yo + base + j * post] + vals[ao + base + (j + 1) * post] * s
                        else:
                            s = adj[yo + base + j * post]
                        prev = vals[yo + base + (j - 1) * post] if j > 0 else 1.0
                        adj[ao + base + j * post] += prev * s
    elif o == MATMUL:
        p = pstart[i]
        nb, m, kk, nn = params[p], params[p + 1], params[p + 2], params[p + 3]
        ba, bb = params[p + 4], params[p + 5]
        for t in range(nb):
            A = _matrix(vals, off[a] + t * ba * m * kk, m, kk)
            B = _matrix(vals, off[b] + t * bb * kk * nn, kk, nn)
            G = _matrix(adj, yo + t * m * nn, m, nn)
            if op[a] != CONST:
                gA = _matrix(adj, off[a] + t * ba * m * kk, m, kk)
                gA += np.dot(G, B.T)
            if op[b] != CONST:
                gB = _matrix(adj, off[b] + t * bb * kk * nn, kk, nn)
                gB += np.dot(A.T, G)
    elif o == CONCAT:
        p = pstart[i]
        pre, post, count = params[p], params[p + 1], params[p + 2]
        total = 0
        for s in range(count):
            total += params[p + 4 + 2 * s]
        col = 0
        for s in range(count):
            e = params[p + 3 + 2 * s]
            ms = params[p + 4 + 2 * s]
            eo = off[e]
            one = size[e] == 1 and ms * pre * post > 1
            for r in range(pre):
                for j in range(ms * post):
                    g = adj[yo + r * total * post + col * post + j]
                    if one:
                        adj[eo] += g
                    else:
                        adj[eo + r * ms * post + j] += g
            col += ms
    elif o == SORT:
        ao = off[a]
        xo = aux_off[i]
        for k in range(n):
            adj[ao + np.int64(aux[xo + k])] += adj[yo + k]
    elif o == SOLVE:
        p = pstart[i]
        m, kk = params[p], params[p + 1]
        A = _matrix(vals, off[a], m, m)
        X = _matrix(vals, yo, m, kk)
        G = _matrix(adj, yo, m, kk)
        gB = np.linalg.solve(A.T.copy(), G.copy())
        if op[b] != CONST:
            _matrix(adj, off[b], m, kk)[:, :] += gB
        if op[a] != CONST:
            _matrix(adj, off[a], m, m)[:, :] -= np.dot(gB, X.T)
    elif o == INV:
        m = params[pstart[i]]
        Y = _matrix(vals, yo, m, m)
        G = _matrix(adj, yo, m, m)
        _matrix(adj, off[a], m, m)[:, :] -= np.dot(np.dot(Y.T, G), Y.T)
    elif o == SLOGDET:
        m = params[pstart[i]]
        g = adj[yo + 1]  # the sign has zero derivative
        if g != 0.0:
            Ainv = np.linalg.inv(_matrix(vals, off[a], m, m))
            _matrix(adj, off[a], m, m)[:, :] += g * Ainv.T
    elif o == DET:
        m = params[pstart[i]]
        g = adj[yo]
        if g != 0.0:
            _matrix(adj, off[a], m, m)[:, :] += g * _cofactors(_matrix(vals, off[a], m, m))
    elif o == CHOLESKY:
        m = params[pstart[i]]
        Lf = _matrix(vals, yo, m, m).copy()
        G = _matrix(adj, yo, m, m).copy()
        # Murray (2016): A_bar = 1/2 L^-T Phi(L^T G) L^-1, symmetrised, is the derivative
        # by the symmetric matrix; cholesky reads only the lower triangle (as NumPy's),
        # so that gets S + S^T off the diagonal, the upper triangle nothing
        P = _phi(np.dot(Lf.T, G))
        Linv = np.linalg.inv(Lf)
        S = np.dot(np.dot(Linv.T, P), Linv)
        gA = _matrix(adj, off[a], m, m)
        for r in range(m):
            for c in range(r):
                gA[r, c] += S[r, c] + S[c, r]
            gA[r, r] += S[r, r]
    elif o == EIGH:
        m = params[pstart[i]]
        w = vals[yo:yo + m].copy()
        V = _matrix(vals, yo + m, m, m).copy()
        gV = _matrix(adj, yo + m, m, m).copy()
        upper = params[pstart[i] + 1] != 0
        # G = V (diag(w_bar) + F o (V^T V_bar)) V^T is the derivative by the symmetric
        # matrix; eigh reads only one triangle, so that gets G + G^T, the diagonal G,
        # the other triangle nothing. No eigenvector cotangent: no F term at all (its
        # zeros times a tie's gap would be 0 anyway, but cost an n^3 product)
        if np.any(gV != 0.0):
            inner = _eigh_gaps(w) * np.dot(V.T, gV)
        else:
            inner = np.zeros((m, m))
        for r in range(m):
            inner[r, r] += adj[yo + r]
        G = np.dot(np.dot(V, inner), V.T)
        gA = _matrix(adj, off[a], m, m)
        for r in range(m):
            for c in range(r):
                if upper:
                    gA[c, r] += G[r, c] + G[c, r]
                else:
                    gA[r, c] += G[r, c] + G[c, r]
            gA[r, r] += G[r, r]
    else:
        raise ValueError("reverse_sweep: unknown opcode")


@njit(cache=True, error_model="numpy")
def reverse_sweep(op, args, opnd, off, size, pstart, params, aux_off, first, vals, partials,
                  aux, adj, start, stop):
    """Accumulate adjoints (``+=``) from entries ``stop-1`` down to ``start``.

    ``adj`` must hold the seeds, and zeros in the adjoints that ``clear_adjoints``
    clears; ``vals``, ``partials`` and ``aux`` must come from a forward sweep at the same
    point. Modifies ``adj``.

    Where ``first[i, k]`` is set, entry ``i`` is the first (in reverse order) to write
    the adjoint of its operand ``k`` and writes all of it: it assigns instead of adding,
    so that adjoint needs no clearing beforehand (clearing a 10^6-element tape's buffer
    cost about 3 ms, a fifth of its gradient).
    """
    for i in range(stop - 1, start - 1, -1):
        o = op[i]
        n = size[i]
        if o < ELEMENTWISE_END and n == 1:
            # a unary op's second operand is the buffer's spare slot; a zero adjoint or
            # partial adds exactly 0 (LLVM makes these conditionals selects, no branches)
            g = adj[off[i]]
            d0 = partials[i, 0]
            d1 = partials[i, 1]
            t0 = g * d0 if (g != 0.0 and d0 != 0.0) else 0.0
            t1 = g * d1 if (g != 0.0 and d1 != 0.0) else 0.0
            pa = opnd[i, 0]
            pb = opnd[i, 1]
            adj[pa] = (0.0 if first[i, 0] else adj[pa]) + t0
            adj[pb] = (0.0 if first[i, 1] else adj[pb]) + t1
            continue
        if o == ALIAS or o == CONST or o == INPUT or o == GUARD:
            continue
        reverse_entry(i, op, args, off, size, pstart, params, aux_off, first, vals,
                      aux, adj)


# ---------------------------------------------------------------------------------------
# The tangent (forward-mode) sweep


@njit(cache=True, error_model="numpy")
def tangent_entry(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """Tangent step of entry ``i`` when it is not a scalar elementwise one (out of
    the sweep's loop, like ``forward_entry``)."""
    o = op[i]
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
    if o < ELEMENTWISE_END:
        sa = 1 if size[a] > 1 else 0
        sb = 1 if b >= 0 and size[b] > 1 else 0
        bo = off[b] if b >= 0 else 0
        elementwise_tangent(o, n, L, vals, tan, yo, off[a], sa, bo, sb)
    elif o == INPUT or o == CONST or o == ALIAS or o == SCAN or o == CUSTOM:
        pass  # (a loop's tangents come from the scan driver)
    elif o == GUARD:
        for k in range(n * L):
            tan[yo * L + k] = 0.0
    elif o == WHERE:
        c = params[pstart[i]]  # where's third input
        co, xo, zo = off[a], off[b], off[c]
        sc = 1 if size[a] > 1 else 0
        sx = 1 if size[b] > 1 else 0
        sz = 1 if size[c] > 1 else 0
        for k in range(n):
            src = (xo + k * sx) if vals[co + k * sc] != 0.0 else (zo + k * sz)
            for lane in range(L):
                tan[(yo + k) * L + lane] = tan[src * L + lane]
    elif o == GATHER:
        p = pstart[i]
        ao = off[a]
        for k in range(n):
            for lane in range(L):
                tan[(yo + k) * L + lane] = tan[(ao + params[p + k]) * L + lane]
    elif o == SCATTER_SET or o == SCATTER_ADD:
        p = pstart[i]
        m = params[p]
        ao, bo = off[a], off[b]
        sb = 1 if size[b] > 1 else 0
        for k in range(n * L):
            tan[yo * L + k] = tan[ao * L + k]
        for k in range(m):
            dst = (yo + params[p + 1 + k]) * L
            src = (bo + k * sb) * L
            for lane in range(L):
                if o == SCATTER_SET:
                    tan[dst + lane] = tan[src + lane]
                else:
                    tan[dst + lane] += tan[src + lane]
    elif o == SUM or o == PROD or o == AMAX or o == AMIN:
        p = pstart[i]
        pre, m, post = params[p], params[p + 1], params[p + 2]
        ao = off[a]
        line = np.empty(m)
        weight = np.empty(m)
        for r in range(pre):
            for q in range(post):
                base = ao + r * m * post + q
                if o == SUM:
                    for j in range(m):
                        weight[j] = 1.0
                elif o == PROD:
                    for j in range(m):
                        line[j] = vals[base + j * post]
                    _prod_of_others(line, weight)
                else:
                    y = vals[yo + r * post + q]
                    ties = 0
                    for j in range(m):
                        if vals[base + j * post] == y:
                            ties += 1
                    for j in range(m):
                        weight[j] = 1.0 / ties if vals[base + j * post] == y else 0.0
                for lane in range(L):
                    t = 0.0
                    for j in range(m):
                        tj = tan[(base + j * post) * L + lane]
                        if tj != 0.0 and weight[j] != 0.0:
                            t += weight[j] * tj
                    tan[(yo + r * post + q) * L + lane] = t
    elif o == CUMSUM or o == CUMPROD:
        p = pstart[i]
        pre, m, post = params[p], params[p + 1], params[p + 2]
        ao = off[a]
        for r in range(pre):
            for q in range(post):
                base = r * m * post + q
                for lane in range(L):
                    t = 0.0
                    for j in range(m):
                        ta = tan[(ao + base + j * post) * L + lane]
                        if o == CUMSUM:
                            t += ta
                        else:
                            # y_j = y_{j-1} a_j
                            prev = vals[yo + base + (j - 1) * post] if j > 0 else 1.0
                            t = t * vals[ao + base + j * post] + prev * ta
                        tan[(yo + base + j * post) * L + lane] = t
    elif o == MATMUL:
        p = pstart[i]
        nb, m, kk, nn = params[p], params[p + 1], params[p + 2], params[p + 3]
        ba, bb = params[p + 4], params[p + 5]
        for t in range(nb):
            aoff = off[a] + t * ba * m * kk
            boff = off[b] + t * bb * kk * nn
            A = _matrix(vals, aoff, m, kk)
            B = _matrix(vals, boff, kk, nn)
            for lane in range(L):
                dA = _lanes_matrix(tan, aoff, m, kk, L, lane)
                dB = _lanes_matrix(tan, boff, kk, nn, L, lane)
                _store_lanes_matrix(tan, yo + t * m * nn, np.dot(dA, B) + np.dot(A, dB),
                                    L, lane)
    elif o == CONCAT:
        p = pstart[i]
        pre, post, count = params[p], params[p + 1], params[p + 2]
        total = 0
        for s in range(count):
            total += params[p + 4 + 2 * s]
        col = 0
        for s in range(count):
            e = params[p + 3 + 2 * s]
            ms = params[p + 4 + 2 * s]
            eo = off[e]
            one = size[e] == 1 and ms * pre * post > 1
            for r in range(pre):
                for j in range(ms * post):
                    src = eo if one else eo + r * ms * post + j
                    dst = yo + r * total * post + col * post + j
                    for lane in range(L):
                        tan[dst * L + lane] = tan[src * L + lane]
            col += ms
    elif o == SORT:
        ao = off[a]
        xo = aux_off[i]
        for k in range(n):
            src = ao + np.int64(aux[xo + k])
            for lane in range(L):
                tan[(yo + k) * L + lane] = tan[src * L + lane]
    elif o == SOLVE:
        p = pstart[i]
        m, kk = params[p], params[p + 1]
        A = _matrix(vals, off[a], m, m)
        X = _matrix(vals, yo, m, kk)
        for lane in range(L):
            dA = _lanes_matrix(tan, off[a], m, m, L, lane)
            dB = _lanes_matrix(tan, off[b], m, kk, L, lane)
            _store_lanes_matrix(tan, yo, np.linalg.solve(A, dB - np.dot(dA, X)), L, lane)
    elif o == INV:
        m = params[pstart[i]]
        Y = _matrix(vals, yo, m, m)
        for lane in range(L):
            dA = _lanes_matrix(tan, off[a], m, m, L, lane)
            _store_lanes_matrix(tan, yo, -np.dot(np.dot(Y, dA), Y), L, lane)
    elif o == SLOGDET:
        m = params[pstart[i]]
        Ainv = np.linalg.inv(_matrix(vals, off[a], m, m))
        for lane in range(L):
            dA = _lanes_matrix(tan, off[a], m, m, L, lane)
            tan[yo * L + lane] = 0.0
            tan[(yo + 1) * L + lane] = np.sum(Ainv.T * dA)
    elif o == DET:
        m = params[pstart[i]]
        C = _cofactors(_matrix(vals, off[a], m, m))
        for lane in range(L):
            tan[yo * L + lane] = np.sum(C * _lanes_matrix(tan, off[a], m, m, L, lane))
    elif o == CHOLESKY:
        m = params[pstart[i]]
        Lf = _matrix(vals, yo, m, m)
        Linv = np.linalg.inv(Lf)
        for lane in range(L):
            # (the symmetric matrix the lower triangle gives: all that cholesky reads)
            dA = _read_symmetric(_lanes_matrix(tan, off[a], m, m, L, lane), False)
            # dL = L Phi(L^-1 dA L^-T)
            dL = np.dot(Lf, _phi(np.dot(np.dot(Linv, dA), Linv.T)))
            _store_lanes_matrix(tan, yo, dL, L, lane)
    elif o == EIGH:
        m = params[pstart[i]]
        V = _matrix(vals, yo + m, m, m)
        F = _eigh_gaps(vals[yo:yo + m].copy())
        for lane in range(L):
            dA = _read_symmetric(_lanes_matrix(tan, off[a], m, m, L, lane),
                                 params[pstart[i] + 1] != 0)
            P = np.dot(np.dot(V.T, dA), V)
            for r in range(m):
                tan[(yo + r) * L + lane] = P[r, r]   # dw_i = v_i^T dA v_i
            _store_lanes_matrix(tan, yo + m, np.dot(V, F * P), L, lane)
    else:
        raise ValueError("tangent_sweep: unknown opcode")


@njit(cache=True, error_model="numpy")
def tangent_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals, partials, aux, tan,
                  L, start, stop):
    """Push ``L`` tangent directions at once through entries ``start..stop-1``.

    ``vals``, ``partials`` and ``aux`` must come from a forward sweep at the same point;
    ``tan`` holds the inputs' tangents (and zeros elsewhere). Modifies ``tan``.
    """
    for i in range(start, stop):
        o = op[i]
        if o < ELEMENTWISE_END and size[i] == 1:
            # scalar entries use the partials the forward sweep stored: no switch
            d0 = partials[i, 0]
            d1 = partials[i, 1]
            pa = np.int64(opnd[i, 0]) * L
            pb = np.int64(opnd[i, 1]) * L
            yl = off[i] * L
            if L == 1:
                u0 = tan[pa]
                u1 = tan[pb]
                tan[yl] = (d0 * u0 if u0 != 0.0 else 0.0) + (d1 * u1 if u1 != 0.0 else 0.0)
                continue
            for lane in range(L):
                u0 = tan[pa + lane]
                u1 = tan[pb + lane]
                tan[yl + lane] = (d0 * u0 if u0 != 0.0 else 0.0) + (d1 * u1 if u1 != 0.0 else 0.0)
            continue
        if o == ALIAS or o == CONST or o == INPUT:
            continue
        tangent_entry(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L)


# ---------------------------------------------------------------------------------------
# Hessian-vector products: forward over reverse, in one call

# The structural ops that the Hessian-vector sweep takes: those linear in their array
# inputs (and the piecewise-linear max, min, sort) need only their ordinary reverse step
# applied to the adjoints' tangents too, and matmul adds its cross terms. Tapes with
# others (prod, cumprod, solve, inv, slogdet, det, cholesky, eigh, loops) use the recorded
# gradient instead (numad/adapters.py).
HVP_STRUCTURAL = (INPUT, CONST, ALIAS, WHERE, GATHER, SCATTER_SET, SCATTER_ADD, SUM, AMAX,
                  AMIN, CUMSUM, MATMUL, CONCAT, SORT, GUARD)


@njit(cache=True, error_model="numpy")
def hvp_sweep(op, args, opnd, off, size, pstart, params, aux_off, nofirst, vals, partials,
              aux, tan, dpartials, adj, adjd):
    """Tangents of the adjoints: the Hessian-vector product of a scalar output.

    ``vals``, ``partials`` and ``aux`` come from a forward sweep at x; ``tan`` holds the
    direction v at the inputs and zeros elsewhere; ``adj`` and ``adjd`` are zero but for
    the output's seed (1 and 0). One tangent sweep (which also takes the tangents of the
    scalar entries' partials, into ``dpartials``), then one reverse sweep that carries
    each adjoint g and its tangent gd together:

        adj[a]  += g * da
        adjd[a] += gd * da + g * tangent(da)

    so ``adjd`` at the inputs is H v: forward over reverse, the cost of a few gradients
    whatever the number of inputs. ``nofirst`` is an all-False (n, 2) array: every step
    adds. Modifies ``tan``, ``dpartials``, ``adj`` and ``adjd``.
    """
    n_entries = op.shape[0]
    for i in range(n_entries):
        o = op[i]
        if o < ELEMENTWISE_END and size[i] == 1:
            pa = opnd[i, 0]
            pb = opnd[i, 1]
            ta = tan[pa]
            tb = tan[pb]
            d0 = partials[i, 0]
            d1 = partials[i, 1]
            ty = (d0 * ta if ta != 0.0 else 0.0) + (d1 * tb if tb != 0.0 else 0.0)
            tan[off[i]] = ty
            dd0, dd1 = elementwise_partial_tangents(o, vals[pa], vals[pb], vals[off[i]], ta,
                                                    tb, ty)
            dpartials[i, 0] = dd0
            dpartials[i, 1] = dd1
        elif o == ALIAS or o == CONST or o == INPUT:
            continue
        else:
            tangent_entry(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, 1)
    for i in range(n_entries - 1, -1, -1):
        o = op[i]
        n = size[i]
        yo = off[i]
        if o < ELEMENTWISE_END and n == 1:
            g = adj[yo]
            gd = adjd[yo]
            if g == 0.0 and gd == 0.0:
                continue
            for k in range(2):
                e = opnd[i, k]
                d = partials[i, k]
                dd = dpartials[i, k]
                if d != 0.0:
                    if g != 0.0:
                        adj[e] += g * d
                    if gd != 0.0:
                        adjd[e] += gd * d
                if dd != 0.0 and g != 0.0:
                    adjd[e] += g * dd
        elif o == ALIAS or o == CONST or o == INPUT or o == GUARD:
            continue
        elif o < ELEMENTWISE_END:
            a = args[i, 0]
            b = args[i, 1]
            sa = 1 if size[a] > 1 else 0
            sb = 1 if b >= 0 and size[b] > 1 else 0
            bo = off[b] if b >= 0 else 0
            array_elementwise_hvp(o, n, vals, tan, adj, adjd, yo, off[a], sa, bo, sb)
        else:
            reverse_entry(i, op, args, off, size, pstart, params, aux_off, nofirst, vals, aux,
                          adj)
            reverse_entry(i, op, args, off, size, pstart, params, aux_off, nofirst, vals, aux,
                          adjd)
            if o == MATMUL:
                # bilinear: the tangent of g B^T is gd B^T (above) + g dB^T, and so for A
                a = args[i, 0]
                b = args[i, 1]
                p = pstart[i]
                nb, m, kk, nn = params[p], params[p + 1], params[p + 2], params[p + 3]
                ba, bb = params[p + 4], params[p + 5]
                for t in range(nb):
                    aoff = off[a] + t * ba * m * kk
                    boff = off[b] + t * bb * kk * nn
                    G = _matrix(adj, yo + t * m * nn, m, nn)
                    if op[a] != CONST:
                        gA = _matrix(adjd, aoff, m, kk)
                        gA += np.dot(G, _matrix(tan, boff, kk, nn).T)
                    if op[b] != CONST:
                        gB = _matrix(adjd, boff, kk, nn)
                        gB += np.dot(_matrix(tan, aoff, m, kk).T, G)


@njit(cache=True, error_model="numpy")
def hvp_of_input(op, args, opnd, off, size, pstart, params, aux_off, nofirst, vals, partials,
                 aux, tan, dpartials, adj, adjd, start, direction, out, result):
    """H v for a tape of one input array (at ``vals[start:]``) and a scalar output
    entry ``out``, at the point of the last forward sweep: the buffers are cleared and
    seeded here, and H v written into ``result`` (one call from Python: the
    optimizers' hot path)."""
    tan[:] = 0.0
    adj[:] = 0.0
    adjd[:] = 0.0
    m = direction.shape[0]
    tan[start:start + m] = direction
    adj[off[out]] = 1.0
    hvp_sweep(op, args, opnd, off, size, pstart, params, aux_off, nofirst, vals, partials, aux,
              tan, dpartials, adj, adjd)
    result[:] = adjd[start:start + m]


@njit(cache=True)
def clear_adjoints(off, size, clear, adj):
    """Zero the adjoints of the entries in ``clear``: those no entry assigns first."""
    for t in range(clear.shape[0]):
        e = clear[t]
        for k in range(off[e], off[e] + size[e]):
            adj[k] = 0.0


# ---------------------------------------------------------------------------------------
# Value and gradient in one call


@njit(cache=True, error_model="numpy")
def value_and_gradient_sweep(op, args, opnd, off, size, pstart, params, aux_off, first,
                             clear, vals, partials, aux, adj, out):
    """Forward sweep, then the reverse sweep seeded with 1 at entry ``out``: one call
    instead of two, because a small function's gradient costs more in dispatch
    (about 2 us per call of a 12-argument kernel) than in the sweeps themselves.

    Returns -1, or the index of the guard that failed (then ``adj`` is untouched).
    """
    failed = forward_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals,
                           partials, aux, 0, op.shape[0])
    if failed >= 0:
        return failed
    clear_adjoints(off, size, clear, adj)
    adj[off[out]] = 1.0
    reverse_sweep(op, args, opnd, off, size, pstart, params, aux_off, first, vals, partials,
                  aux, adj, 0, op.shape[0])
    return -1


# ---------------------------------------------------------------------------------------
# Batches: many points through one tape, blocks of rows in parallel


@njit(cache=True, parallel=True, error_model="numpy")
def batch_sweep(op, args, opnd, off, size, pstart, params, aux_off, first, clear, vals0, aux0,
                X, start, out, want_gradient, values, gradients, status):
    """Value (and gradient) of the tape at every row of ``X``, rows in parallel.

    Row ``r`` of ``X`` is written to values ``start : start + X.shape[1]`` (the input);
    ``values[r]`` gets the output entry ``out`` (all of it), ``gradients[r]`` the
    input's adjoint when ``want_gradient``. ``status[r]`` is -1, or the guard that failed
    at that row (whose results are then left unset). Each block of rows has its own
    buffers, allocated once per block.
    """
    rows = X.shape[0]
    n = X.shape[1]
    blocks = min(rows, 64)
    m = values.shape[1]
    for blk in prange(blocks):
        vals = vals0.copy()
        aux = aux0.copy()
        partials = np.zeros((op.shape[0], 2))
        adj = np.zeros_like(vals0)
        for r in range(blk, rows, blocks):
            for k in range(n):
                vals[start + k] = X[r, k]
            failed = forward_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals,
                                   partials, aux, 0, op.shape[0])
            status[r] = failed
            if failed >= 0:
                continue
            for k in range(m):
                values[r, k] = vals[off[out] + k]
            if want_gradient:
                clear_adjoints(off, size, clear, adj)
                adj[off[out]] = 1.0
                reverse_sweep(op, args, opnd, off, size, pstart, params, aux_off, first, vals,
                              partials, aux, adj, 0, op.shape[0])
                for k in range(n):
                    gradients[r, k] = adj[start + k]


# ---------------------------------------------------------------------------------------
# Laying out a freshly recorded tape (plain loops: in NumPy these cost ~0.4 us an entry)


@njit(cache=True)
def tape_layout(op, args, size, scalar_vals):
    """Value offsets, the value buffer and the operand offsets of a recorded tape.

    An alias entry shares its input's buffer: on entry ``args[i, 1]`` holds where its
    window starts (set to -1 here). Scalar entries' values come from ``scalar_vals``;
    the buffer gets one spare slot at the end, where unused operands point.
    Returns ``(off, vals, opnd)``.
    """
    n = op.shape[0]
    off = np.empty(n, dtype=np.int64)
    total = 0
    for i in range(n):
        if op[i] == ALIAS:
            off[i] = off[args[i, 0]] + args[i, 1]
            args[i, 1] = -1
        else:
            off[i] = total
            total += size[i]
    vals = np.zeros(total + 1)
    for i in range(n):
        if op[i] != ALIAS and size[i] == 1:
            vals[off[i]] = scalar_vals[i]
    opnd = np.empty((n, 2), dtype=np.uint64)
    for i in range(n):
        for k in range(2):
            e = args[i, k]
            opnd[i, k] = off[e] if e >= 0 else total
    return off, vals, opnd


@njit(cache=True)
def first_writers(op, args, size, pstart, params, outputs, writes_operand, pinned):
    """Which entries may assign their operands' adjoints instead of adding to them.

    Returns ``first`` (n, 2): entry i is the first, in reverse order, to touch the
    adjoint of its operand k, and writes all of it (``writes_operand[op, k]`` says
    which array ops do; scalar elementwise entries always do); and ``clear``: the
    entries whose adjoints nobody assigns, to be zeroed before a reverse sweep.
    Aliases write into their root's buffer, so a first writer must come after every
    user of the root and of its aliases; outputs are seeded before the sweep, so
    their roots are never assigned.
    """
    n = op.shape[0]
    root = np.empty(n, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        root[i] = root[args[i, 0]] if op[i] == ALIAS else i
        for k in range(2):
            e = args[i, k]
            if e >= 0 and last[root[e]] < i:
                last[root[e]] = i
        if op[i] == WHERE:
            e = params[pstart[i]]
            if last[root[e]] < i:
                last[root[e]] = i
        elif op[i] == CONCAT:
            p = pstart[i]
            for t in range(params[p + 2]):
                e = params[p + 3 + 2 * t]
                if last[root[e]] < i:
                    last[root[e]] = i
    protected = np.zeros(n, dtype=np.bool_)
    for t in range(outputs.shape[0]):
        protected[root[outputs[t]]] = True
    for e in range(n):
        if pinned[e]:
            protected[root[e]] = True
    first = np.zeros((n, 2), dtype=np.bool_)
    written = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        scalar = op[i] < ELEMENTWISE_END and size[i] == 1
        for k in range(2):
            e = args[i, k]
            if e < 0 or (k == 1 and args[i, 0] == e):
                continue
            if op[e] == ALIAS or protected[e] or size[e] != size[i] or last[e] != i:
                continue
            if scalar or writes_operand[op[i], k]:
                first[i, k] = True
                written[e] = True
    count = 0
    for i in range(n):
        if op[i] != ALIAS and op[i] != GUARD and not written[i]:
            count += 1
    clear = np.empty(count, dtype=np.int64)
    count = 0
    for i in range(n):
        if op[i] != ALIAS and op[i] != GUARD and not written[i]:
            clear[count] = i
            count += 1
    return first, clear


# ---- BEGIN GENERATED ELEMENTWISE CODE (python -m numad._codegen) ----
# Do not edit by hand: the op table (numad/optable.py) is the source.
ZERO_DERIVATIVE_OPS = np.array([False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, False, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True])


@njit(cache=True, error_model='numpy')
def forward_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals, partials,
                  aux, start, stop):
    """Recompute entries ``start..stop-1`` in place from the values before them.

    Modifies ``vals``, ``partials`` (scalar elementwise entries) and ``aux``.
    Returns -1, or the index of the first guard whose recorded decision no longer
    holds (the sweep stops there)."""
    for i in range(start, stop):
        o = op[i]
        if o < ELEMENTWISE_END and size[i] == 1:
            a = vals[opnd[i, 0]]
            b = vals[opnd[i, 1]]
            if o == 0:  # neg
                y = -a
                vals[off[i]] = y
                partials[i, 0] = -1.0
                partials[i, 1] = 0.0
            elif o == 1:  # add
                y = a + b
                vals[off[i]] = y
                partials[i, 0] = 1.0
                partials[i, 1] = 1.0
            elif o == 2:  # sub
                y = a - b
                vals[off[i]] = y
                partials[i, 0] = 1.0
                partials[i, 1] = -1.0
            elif o == 3:  # mul
                y = a * b
                vals[off[i]] = y
                partials[i, 0] = b
                partials[i, 1] = a
            elif o == 4:  # div
                y = a / b
                vals[off[i]] = y
                partials[i, 0] = 1.0 / b
                partials[i, 1] = -y / b
            elif o == 5:  # pow
                y = a ** b
                vals[off[i]] = y
                partials[i, 0] = select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))
                partials[i, 1] = select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))
            elif o == 6:  # square
                y = a * a
                vals[off[i]] = y
                partials[i, 0] = 2.0 * a
                partials[i, 1] = 0.0
            elif o == 7:  # reciprocal
                y = 1.0 / a
                vals[off[i]] = y
                partials[i, 0] = -y * y
                partials[i, 1] = 0.0
            elif o == 8:  # sqrt
                y = np.sqrt(a)
                vals[off[i]] = y
                partials[i, 0] = 0.5 / y
                partials[i, 1] = 0.0
            elif o == 9:  # cbrt
                y = np.cbrt(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 / (3.0 * y * y)
                partials[i, 1] = 0.0
            elif o == 10:  # exp
                y = np.exp(a)
                vals[off[i]] = y
                partials[i, 0] = y
                partials[i, 1] = 0.0
            elif o == 11:  # expm1
                y = np.expm1(a)
                vals[off[i]] = y
                partials[i, 0] = np.exp(a)
                partials[i, 1] = 0.0
            elif o == 12:  # log
                y = np.log(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 / a
                partials[i, 1] = 0.0
            elif o == 13:  # log1p
                y = np.log1p(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 / (1.0 + a)
                partials[i, 1] = 0.0
            elif o == 14:  # log2
                y = np.log2(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 / (a * 0.6931471805599453)
                partials[i, 1] = 0.0
            elif o == 15:  # log10
                y = np.log10(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 / (a * 2.302585092994046)
                partials[i, 1] = 0.0
            elif o == 16:  # sin
                y = np.sin(a)
                vals[off[i]] = y
                partials[i, 0] = np.cos(a)
                partials[i, 1] = 0.0
            elif o == 17:  # cos
                y = np.cos(a)
                vals[off[i]] = y
                partials[i, 0] = -np.sin(a)
                partials[i, 1] = 0.0
            elif o == 18:  # tan
                y = np.tan(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 + y * y
                partials[i, 1] = 0.0
            elif o == 19:  # arcsin
                y = np.arcsin(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 / np.sqrt(1.0 - a * a)
                partials[i, 1] = 0.0
            elif o == 20:  # arccos
                y = np.arccos(a)
                vals[off[i]] = y
                partials[i, 0] = -1.0 / np.sqrt(1.0 - a * a)
                partials[i, 1] = 0.0
            elif o == 21:  # arctan
                y = np.arctan(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 / (1.0 + a * a)
                partials[i, 1] = 0.0
            elif o == 22:  # sinh
                y = np.sinh(a)
                vals[off[i]] = y
                partials[i, 0] = np.cosh(a)
                partials[i, 1] = 0.0
            elif o == 23:  # cosh
                y = np.cosh(a)
                vals[off[i]] = y
                partials[i, 0] = np.sinh(a)
                partials[i, 1] = 0.0
            elif o == 24:  # tanh
                y = np.tanh(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 - y * y
                partials[i, 1] = 0.0
            elif o == 25:  # arcsinh
                y = np.arcsinh(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 / np.sqrt(a * a + 1.0)
                partials[i, 1] = 0.0
            elif o == 26:  # arccosh
                y = np.arccosh(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 / np.sqrt(a * a - 1.0)
                partials[i, 1] = 0.0
            elif o == 27:  # arctanh
                y = np.arctanh(a)
                vals[off[i]] = y
                partials[i, 0] = 1.0 / (1.0 - a * a)
                partials[i, 1] = 0.0
            elif o == 28:  # arctan2
                y = np.arctan2(a, b)
                vals[off[i]] = y
                partials[i, 0] = b / (a * a + b * b)
                partials[i, 1] = -a / (a * a + b * b)
            elif o == 29:  # hypot
                y = np.hypot(a, b)
                vals[off[i]] = y
                partials[i, 0] = select(y == 0.0, 0.0, a / y)
                partials[i, 1] = select(y == 0.0, 0.0, b / y)
            elif o == 30:  # abs
                y = np.abs(a)
                vals[off[i]] = y
                partials[i, 0] = np.sign(a)
                partials[i, 1] = 0.0
            elif o == 31:  # maximum
                y = select(a >= b or a != a, a, b)
                vals[off[i]] = y
                partials[i, 0] = select(a > b, 1.0, select(a == b, 0.5, 0.0))
                partials[i, 1] = select(b > a, 1.0, select(a == b, 0.5, 0.0))
            elif o == 32:  # minimum
                y = select(a <= b or a != a, a, b)
                vals[off[i]] = y
                partials[i, 0] = select(a < b, 1.0, select(a == b, 0.5, 0.0))
                partials[i, 1] = select(b < a, 1.0, select(a == b, 0.5, 0.0))
            elif o == 33:  # mod
                y = np.mod(a, b)
                vals[off[i]] = y
                partials[i, 0] = 1.0
                partials[i, 1] = -np.floor_divide(a, b)
            elif o == 34:  # erf
                y = math.erf(a)
                vals[off[i]] = y
                partials[i, 0] = 1.1283791670955126 * np.exp(-a * a)
                partials[i, 1] = 0.0
            elif o == 35:  # erfc
                y = math.erfc(a)
                vals[off[i]] = y
                partials[i, 0] = -1.1283791670955126 * np.exp(-a * a)
                partials[i, 1] = 0.0
            elif o == 36:  # ndtr
                y = 0.5 * math.erfc(-a / 1.4142135623730951)
                vals[off[i]] = y
                partials[i, 0] = 0.3989422804014327 * np.exp(-0.5 * a * a)
                partials[i, 1] = 0.0
            elif o == 37:  # expit
                y = 1.0 / (1.0 + np.exp(-a))
                vals[off[i]] = y
                partials[i, 0] = y * (1.0 - y)
                partials[i, 1] = 0.0
            elif o == 38:  # copy
                y = a
                vals[off[i]] = y
                partials[i, 0] = 1.0
                partials[i, 1] = 0.0
            elif o == 39:  # stop_gradient
                y = a
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 40:  # sign
                y = np.sign(a)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 41:  # floor
                y = np.floor(a)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 42:  # ceil
                y = np.ceil(a)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 43:  # round
                y = np.rint(a)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 44:  # trunc
                y = np.trunc(a)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 45:  # floor_divide
                y = np.floor_divide(a, b)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 46:  # greater
                y = select(a > b, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 47:  # greater_equal
                y = select(a >= b, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 48:  # less
                y = select(a < b, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 49:  # less_equal
                y = select(a <= b, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 50:  # equal
                y = select(a == b, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 51:  # not_equal
                y = select(a != b, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 52:  # logical_and
                y = select(a != 0.0 and b != 0.0, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 53:  # logical_or
                y = select(a != 0.0 or b != 0.0, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 54:  # logical_xor
                y = select((a != 0.0) != (b != 0.0), 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 55:  # logical_not
                y = select(a == 0.0, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 56:  # isnan
                y = select(a != a, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
            elif o == 57:  # isfinite
                y = select(np.abs(a) < np.inf, 1.0, 0.0)
                vals[off[i]] = y
                partials[i, 0] = 0.0
                partials[i, 1] = 0.0
        elif o == ALIAS or o == CONST or o == INPUT:
            continue  # (x[i] in a scalar loop is an alias: keep it cheap)
        elif forward_entry(i, op, args, off, size, pstart, params, aux_off, vals, aux):
            return i
    return -1


@njit(cache=True, error_model='numpy')
def forward_values_sweep(op, args, opnd, off, size, pstart, params, aux_off, vals, partials,
                         aux, start, stop):
    """Recompute entries ``start..stop-1`` in place from the values before them.

    Modifies ``vals`` and ``aux`` (``partials`` is not touched: for steps that are
    not reversed).
    Returns -1, or the index of the first guard whose recorded decision no longer
    holds (the sweep stops there)."""
    for i in range(start, stop):
        o = op[i]
        if o < ELEMENTWISE_END and size[i] == 1:
            a = vals[opnd[i, 0]]
            b = vals[opnd[i, 1]]
            if o == 0:  # neg
                vals[off[i]] = -a
            elif o == 1:  # add
                vals[off[i]] = a + b
            elif o == 2:  # sub
                vals[off[i]] = a - b
            elif o == 3:  # mul
                vals[off[i]] = a * b
            elif o == 4:  # div
                vals[off[i]] = a / b
            elif o == 5:  # pow
                vals[off[i]] = a ** b
            elif o == 6:  # square
                vals[off[i]] = a * a
            elif o == 7:  # reciprocal
                vals[off[i]] = 1.0 / a
            elif o == 8:  # sqrt
                vals[off[i]] = np.sqrt(a)
            elif o == 9:  # cbrt
                vals[off[i]] = np.cbrt(a)
            elif o == 10:  # exp
                vals[off[i]] = np.exp(a)
            elif o == 11:  # expm1
                vals[off[i]] = np.expm1(a)
            elif o == 12:  # log
                vals[off[i]] = np.log(a)
            elif o == 13:  # log1p
                vals[off[i]] = np.log1p(a)
            elif o == 14:  # log2
                vals[off[i]] = np.log2(a)
            elif o == 15:  # log10
                vals[off[i]] = np.log10(a)
            elif o == 16:  # sin
                vals[off[i]] = np.sin(a)
            elif o == 17:  # cos
                vals[off[i]] = np.cos(a)
            elif o == 18:  # tan
                vals[off[i]] = np.tan(a)
            elif o == 19:  # arcsin
                vals[off[i]] = np.arcsin(a)
            elif o == 20:  # arccos
                vals[off[i]] = np.arccos(a)
            elif o == 21:  # arctan
                vals[off[i]] = np.arctan(a)
            elif o == 22:  # sinh
                vals[off[i]] = np.sinh(a)
            elif o == 23:  # cosh
                vals[off[i]] = np.cosh(a)
            elif o == 24:  # tanh
                vals[off[i]] = np.tanh(a)
            elif o == 25:  # arcsinh
                vals[off[i]] = np.arcsinh(a)
            elif o == 26:  # arccosh
                vals[off[i]] = np.arccosh(a)
            elif o == 27:  # arctanh
                vals[off[i]] = np.arctanh(a)
            elif o == 28:  # arctan2
                vals[off[i]] = np.arctan2(a, b)
            elif o == 29:  # hypot
                vals[off[i]] = np.hypot(a, b)
            elif o == 30:  # abs
                vals[off[i]] = np.abs(a)
            elif o == 31:  # maximum
                vals[off[i]] = select(a >= b or a != a, a, b)
            elif o == 32:  # minimum
                vals[off[i]] = select(a <= b or a != a, a, b)
            elif o == 33:  # mod
                vals[off[i]] = np.mod(a, b)
            elif o == 34:  # erf
                vals[off[i]] = math.erf(a)
            elif o == 35:  # erfc
                vals[off[i]] = math.erfc(a)
            elif o == 36:  # ndtr
                vals[off[i]] = 0.5 * math.erfc(-a / 1.4142135623730951)
            elif o == 37:  # expit
                vals[off[i]] = 1.0 / (1.0 + np.exp(-a))
            elif o == 38:  # copy
                vals[off[i]] = a
            elif o == 39:  # stop_gradient
                vals[off[i]] = a
            elif o == 40:  # sign
                vals[off[i]] = np.sign(a)
            elif o == 41:  # floor
                vals[off[i]] = np.floor(a)
            elif o == 42:  # ceil
                vals[off[i]] = np.ceil(a)
            elif o == 43:  # round
                vals[off[i]] = np.rint(a)
            elif o == 44:  # trunc
                vals[off[i]] = np.trunc(a)
            elif o == 45:  # floor_divide
                vals[off[i]] = np.floor_divide(a, b)
            elif o == 46:  # greater
                vals[off[i]] = select(a > b, 1.0, 0.0)
            elif o == 47:  # greater_equal
                vals[off[i]] = select(a >= b, 1.0, 0.0)
            elif o == 48:  # less
                vals[off[i]] = select(a < b, 1.0, 0.0)
            elif o == 49:  # less_equal
                vals[off[i]] = select(a <= b, 1.0, 0.0)
            elif o == 50:  # equal
                vals[off[i]] = select(a == b, 1.0, 0.0)
            elif o == 51:  # not_equal
                vals[off[i]] = select(a != b, 1.0, 0.0)
            elif o == 52:  # logical_and
                vals[off[i]] = select(a != 0.0 and b != 0.0, 1.0, 0.0)
            elif o == 53:  # logical_or
                vals[off[i]] = select(a != 0.0 or b != 0.0, 1.0, 0.0)
            elif o == 54:  # logical_xor
                vals[off[i]] = select((a != 0.0) != (b != 0.0), 1.0, 0.0)
            elif o == 55:  # logical_not
                vals[off[i]] = select(a == 0.0, 1.0, 0.0)
            elif o == 56:  # isnan
                vals[off[i]] = select(a != a, 1.0, 0.0)
            elif o == 57:  # isfinite
                vals[off[i]] = select(np.abs(a) < np.inf, 1.0, 0.0)
        elif o == ALIAS or o == CONST or o == INPUT:
            continue  # (x[i] in a scalar loop is an alias: keep it cheap)
        elif forward_entry(i, op, args, off, size, pstart, params, aux_off, vals, aux):
            return i
    return -1


@njit(cache=True, error_model='numpy')
def array_elementwise_forward(o, n, vals, yo, ao, sa, bo, sb):
    """vals[yo:yo+n] = op(a, b); an input of stride 0 is a broadcast scalar."""
    if o == 0:  # neg
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = -a
    elif o == 1:  # add
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = a + b
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = a + b
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = a + b
    elif o == 2:  # sub
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = a - b
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = a - b
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = a - b
    elif o == 3:  # mul
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = a * b
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = a * b
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = a * b
    elif o == 4:  # div
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = a / b
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = a / b
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = a / b
    elif o == 5:  # pow
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = a ** b
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = a ** b
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = a ** b
    elif o == 6:  # square
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = a * a
    elif o == 7:  # reciprocal
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = 1.0 / a
    elif o == 8:  # sqrt
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.sqrt(a)
    elif o == 9:  # cbrt
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.cbrt(a)
    elif o == 10:  # exp
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.exp(a)
    elif o == 11:  # expm1
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.expm1(a)
    elif o == 12:  # log
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.log(a)
    elif o == 13:  # log1p
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.log1p(a)
    elif o == 14:  # log2
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.log2(a)
    elif o == 15:  # log10
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.log10(a)
    elif o == 16:  # sin
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.sin(a)
    elif o == 17:  # cos
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.cos(a)
    elif o == 18:  # tan
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.tan(a)
    elif o == 19:  # arcsin
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.arcsin(a)
    elif o == 20:  # arccos
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.arccos(a)
    elif o == 21:  # arctan
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.arctan(a)
    elif o == 22:  # sinh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.sinh(a)
    elif o == 23:  # cosh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.cosh(a)
    elif o == 24:  # tanh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.tanh(a)
    elif o == 25:  # arcsinh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.arcsinh(a)
    elif o == 26:  # arccosh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.arccosh(a)
    elif o == 27:  # arctanh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.arctanh(a)
    elif o == 28:  # arctan2
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = np.arctan2(a, b)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = np.arctan2(a, b)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = np.arctan2(a, b)
    elif o == 29:  # hypot
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = np.hypot(a, b)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = np.hypot(a, b)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = np.hypot(a, b)
    elif o == 30:  # abs
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.abs(a)
    elif o == 31:  # maximum
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select(a >= b or a != a, a, b)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select(a >= b or a != a, a, b)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select(a >= b or a != a, a, b)
    elif o == 32:  # minimum
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select(a <= b or a != a, a, b)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select(a <= b or a != a, a, b)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select(a <= b or a != a, a, b)
    elif o == 33:  # mod
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = np.mod(a, b)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = np.mod(a, b)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = np.mod(a, b)
    elif o == 34:  # erf
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = math.erf(a)
    elif o == 35:  # erfc
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = math.erfc(a)
    elif o == 36:  # ndtr
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = 0.5 * math.erfc(-a / 1.4142135623730951)
    elif o == 37:  # expit
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = 1.0 / (1.0 + np.exp(-a))
    elif o == 38:  # copy
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = a
    elif o == 39:  # stop_gradient
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = a
    elif o == 40:  # sign
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.sign(a)
    elif o == 41:  # floor
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.floor(a)
    elif o == 42:  # ceil
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.ceil(a)
    elif o == 43:  # round
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.rint(a)
    elif o == 44:  # trunc
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = np.trunc(a)
    elif o == 45:  # floor_divide
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = np.floor_divide(a, b)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = np.floor_divide(a, b)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = np.floor_divide(a, b)
    elif o == 46:  # greater
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select(a > b, 1.0, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select(a > b, 1.0, 0.0)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select(a > b, 1.0, 0.0)
    elif o == 47:  # greater_equal
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select(a >= b, 1.0, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select(a >= b, 1.0, 0.0)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select(a >= b, 1.0, 0.0)
    elif o == 48:  # less
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select(a < b, 1.0, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select(a < b, 1.0, 0.0)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select(a < b, 1.0, 0.0)
    elif o == 49:  # less_equal
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select(a <= b, 1.0, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select(a <= b, 1.0, 0.0)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select(a <= b, 1.0, 0.0)
    elif o == 50:  # equal
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select(a == b, 1.0, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select(a == b, 1.0, 0.0)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select(a == b, 1.0, 0.0)
    elif o == 51:  # not_equal
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select(a != b, 1.0, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select(a != b, 1.0, 0.0)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select(a != b, 1.0, 0.0)
    elif o == 52:  # logical_and
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select(a != 0.0 and b != 0.0, 1.0, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select(a != 0.0 and b != 0.0, 1.0, 0.0)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select(a != 0.0 and b != 0.0, 1.0, 0.0)
    elif o == 53:  # logical_or
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select(a != 0.0 or b != 0.0, 1.0, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select(a != 0.0 or b != 0.0, 1.0, 0.0)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select(a != 0.0 or b != 0.0, 1.0, 0.0)
    elif o == 54:  # logical_xor
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                b = B[k]
                Y[k] = select((a != 0.0) != (b != 0.0), 1.0, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            for k in range(n):
                a = A[k]
                Y[k] = select((a != 0.0) != (b != 0.0), 1.0, 0.0)
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            for k in range(n):
                b = B[k]
                Y[k] = select((a != 0.0) != (b != 0.0), 1.0, 0.0)
    elif o == 55:  # logical_not
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = select(a == 0.0, 1.0, 0.0)
    elif o == 56:  # isnan
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = select(a != a, 1.0, 0.0)
    elif o == 57:  # isfinite
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        for k in range(n):
            a = A[k]
            Y[k] = select(np.abs(a) < np.inf, 1.0, 0.0)


@njit(cache=True, error_model='numpy')
def array_elementwise_reverse(o, n, vals, adj, yo, ao, sa, bo, sb, need_a, need_b,
                              first_a, first_b):
    """Adds the adjoints of op(a, b) into a and b; a zero adjoint contributes
    nothing (so an untaken `where` branch's inf never becomes 0 * inf = nan).
    A broadcast scalar input sums its contributions in a local first."""
    if o == 0:  # neg
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (-1.0), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (-1.0), 0.0)
    elif o == 1:  # add
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                a = A[k]
                b = B[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (1.0), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (1.0), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (1.0), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (1.0), 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            accB = 0.0
            for k in range(n):
                g = G[k]
                a = A[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (1.0), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (1.0), 0.0)
                accB += select(g != 0.0, g * (1.0), 0.0)
            if need_b:
                adj[bo] += accB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            accA = 0.0
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                b = B[k]
                accA += select(g != 0.0, g * (1.0), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (1.0), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (1.0), 0.0)
            if need_a:
                adj[ao] += accA
    elif o == 2:  # sub
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                a = A[k]
                b = B[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (1.0), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (1.0), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (-1.0), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (-1.0), 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            accB = 0.0
            for k in range(n):
                g = G[k]
                a = A[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (1.0), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (1.0), 0.0)
                accB += select(g != 0.0, g * (-1.0), 0.0)
            if need_b:
                adj[bo] += accB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            accA = 0.0
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                b = B[k]
                accA += select(g != 0.0, g * (1.0), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (-1.0), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (-1.0), 0.0)
            if need_a:
                adj[ao] += accA
    elif o == 3:  # mul
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                a = A[k]
                b = B[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (b), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (b), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (a), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (a), 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            accB = 0.0
            for k in range(n):
                g = G[k]
                a = A[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (b), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (b), 0.0)
                accB += select(g != 0.0, g * (a), 0.0)
            if need_b:
                adj[bo] += accB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            accA = 0.0
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                b = B[k]
                accA += select(g != 0.0, g * (b), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (a), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (a), 0.0)
            if need_a:
                adj[ao] += accA
    elif o == 4:  # div
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (1.0 / b), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (1.0 / b), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (-y / b), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (-y / b), 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            accB = 0.0
            for k in range(n):
                g = G[k]
                a = A[k]
                y = Y[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (1.0 / b), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (1.0 / b), 0.0)
                accB += select(g != 0.0, g * (-y / b), 0.0)
            if need_b:
                adj[bo] += accB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            G = adj[yo:yo + n]
            accA = 0.0
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                b = B[k]
                y = Y[k]
                accA += select(g != 0.0, g * (1.0 / b), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (-y / b), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (-y / b), 0.0)
            if need_a:
                adj[ao] += accA
    elif o == 5:  # pow
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))), 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            accB = 0.0
            for k in range(n):
                g = G[k]
                a = A[k]
                y = Y[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))), 0.0)
                accB += select(g != 0.0, g * (select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))), 0.0)
            if need_b:
                adj[bo] += accB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            G = adj[yo:yo + n]
            accA = 0.0
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                b = B[k]
                y = Y[k]
                accA += select(g != 0.0, g * (select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))), 0.0)
            if need_a:
                adj[ao] += accA
    elif o == 6:  # square
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (2.0 * a), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (2.0 * a), 0.0)
    elif o == 7:  # reciprocal
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            y = Y[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (-y * y), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (-y * y), 0.0)
    elif o == 8:  # sqrt
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            y = Y[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (0.5 / y), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (0.5 / y), 0.0)
    elif o == 9:  # cbrt
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            y = Y[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 / (3.0 * y * y)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 / (3.0 * y * y)), 0.0)
    elif o == 10:  # exp
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            y = Y[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (y), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (y), 0.0)
    elif o == 11:  # expm1
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (np.exp(a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (np.exp(a)), 0.0)
    elif o == 12:  # log
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 / a), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 / a), 0.0)
    elif o == 13:  # log1p
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 / (1.0 + a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 / (1.0 + a)), 0.0)
    elif o == 14:  # log2
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 / (a * 0.6931471805599453)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 / (a * 0.6931471805599453)), 0.0)
    elif o == 15:  # log10
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 / (a * 2.302585092994046)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 / (a * 2.302585092994046)), 0.0)
    elif o == 16:  # sin
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (np.cos(a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (np.cos(a)), 0.0)
    elif o == 17:  # cos
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (-np.sin(a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (-np.sin(a)), 0.0)
    elif o == 18:  # tan
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            y = Y[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 + y * y), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 + y * y), 0.0)
    elif o == 19:  # arcsin
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 / np.sqrt(1.0 - a * a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 / np.sqrt(1.0 - a * a)), 0.0)
    elif o == 20:  # arccos
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (-1.0 / np.sqrt(1.0 - a * a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (-1.0 / np.sqrt(1.0 - a * a)), 0.0)
    elif o == 21:  # arctan
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 / (1.0 + a * a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 / (1.0 + a * a)), 0.0)
    elif o == 22:  # sinh
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (np.cosh(a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (np.cosh(a)), 0.0)
    elif o == 23:  # cosh
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (np.sinh(a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (np.sinh(a)), 0.0)
    elif o == 24:  # tanh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            y = Y[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 - y * y), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 - y * y), 0.0)
    elif o == 25:  # arcsinh
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 / np.sqrt(a * a + 1.0)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 / np.sqrt(a * a + 1.0)), 0.0)
    elif o == 26:  # arccosh
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 / np.sqrt(a * a - 1.0)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 / np.sqrt(a * a - 1.0)), 0.0)
    elif o == 27:  # arctanh
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0 / (1.0 - a * a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0 / (1.0 - a * a)), 0.0)
    elif o == 28:  # arctan2
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                a = A[k]
                b = B[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (b / (a * a + b * b)), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (b / (a * a + b * b)), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (-a / (a * a + b * b)), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (-a / (a * a + b * b)), 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            accB = 0.0
            for k in range(n):
                g = G[k]
                a = A[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (b / (a * a + b * b)), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (b / (a * a + b * b)), 0.0)
                accB += select(g != 0.0, g * (-a / (a * a + b * b)), 0.0)
            if need_b:
                adj[bo] += accB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            accA = 0.0
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                b = B[k]
                accA += select(g != 0.0, g * (b / (a * a + b * b)), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (-a / (a * a + b * b)), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (-a / (a * a + b * b)), 0.0)
            if need_a:
                adj[ao] += accA
    elif o == 29:  # hypot
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (select(y == 0.0, 0.0, a / y)), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (select(y == 0.0, 0.0, a / y)), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (select(y == 0.0, 0.0, b / y)), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (select(y == 0.0, 0.0, b / y)), 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            accB = 0.0
            for k in range(n):
                g = G[k]
                a = A[k]
                y = Y[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (select(y == 0.0, 0.0, a / y)), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (select(y == 0.0, 0.0, a / y)), 0.0)
                accB += select(g != 0.0, g * (select(y == 0.0, 0.0, b / y)), 0.0)
            if need_b:
                adj[bo] += accB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            G = adj[yo:yo + n]
            accA = 0.0
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                b = B[k]
                y = Y[k]
                accA += select(g != 0.0, g * (select(y == 0.0, 0.0, a / y)), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (select(y == 0.0, 0.0, b / y)), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (select(y == 0.0, 0.0, b / y)), 0.0)
            if need_a:
                adj[ao] += accA
    elif o == 30:  # abs
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (np.sign(a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (np.sign(a)), 0.0)
    elif o == 31:  # maximum
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                a = A[k]
                b = B[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (select(a > b, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (select(a > b, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (select(b > a, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (select(b > a, 1.0, select(a == b, 0.5, 0.0))), 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            accB = 0.0
            for k in range(n):
                g = G[k]
                a = A[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (select(a > b, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (select(a > b, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                accB += select(g != 0.0, g * (select(b > a, 1.0, select(a == b, 0.5, 0.0))), 0.0)
            if need_b:
                adj[bo] += accB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            accA = 0.0
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                b = B[k]
                accA += select(g != 0.0, g * (select(a > b, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (select(b > a, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (select(b > a, 1.0, select(a == b, 0.5, 0.0))), 0.0)
            if need_a:
                adj[ao] += accA
    elif o == 32:  # minimum
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                a = A[k]
                b = B[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (select(a < b, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (select(a < b, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (select(b < a, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (select(b < a, 1.0, select(a == b, 0.5, 0.0))), 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            accB = 0.0
            for k in range(n):
                g = G[k]
                a = A[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (select(a < b, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (select(a < b, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                accB += select(g != 0.0, g * (select(b < a, 1.0, select(a == b, 0.5, 0.0))), 0.0)
            if need_b:
                adj[bo] += accB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            accA = 0.0
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                b = B[k]
                accA += select(g != 0.0, g * (select(a < b, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (select(b < a, 1.0, select(a == b, 0.5, 0.0))), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (select(b < a, 1.0, select(a == b, 0.5, 0.0))), 0.0)
            if need_a:
                adj[ao] += accA
    elif o == 33:  # mod
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                a = A[k]
                b = B[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (1.0), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (1.0), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (-np.floor_divide(a, b)), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (-np.floor_divide(a, b)), 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            G = adj[yo:yo + n]
            GA = adj[ao:ao + n]
            accB = 0.0
            for k in range(n):
                g = G[k]
                a = A[k]
                if first_a:
                    GA[k] = select(g != 0.0, g * (1.0), 0.0)
                else:
                    GA[k] += select(g != 0.0, g * (1.0), 0.0)
                accB += select(g != 0.0, g * (-np.floor_divide(a, b)), 0.0)
            if need_b:
                adj[bo] += accB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            G = adj[yo:yo + n]
            accA = 0.0
            GB = adj[bo:bo + n]
            for k in range(n):
                g = G[k]
                b = B[k]
                accA += select(g != 0.0, g * (1.0), 0.0)
                if first_b:
                    GB[k] = select(g != 0.0, g * (-np.floor_divide(a, b)), 0.0)
                else:
                    GB[k] += select(g != 0.0, g * (-np.floor_divide(a, b)), 0.0)
            if need_a:
                adj[ao] += accA
    elif o == 34:  # erf
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.1283791670955126 * np.exp(-a * a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.1283791670955126 * np.exp(-a * a)), 0.0)
    elif o == 35:  # erfc
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (-1.1283791670955126 * np.exp(-a * a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (-1.1283791670955126 * np.exp(-a * a)), 0.0)
    elif o == 36:  # ndtr
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (0.3989422804014327 * np.exp(-0.5 * a * a)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (0.3989422804014327 * np.exp(-0.5 * a * a)), 0.0)
    elif o == 37:  # expit
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            y = Y[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (y * (1.0 - y)), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (y * (1.0 - y)), 0.0)
    elif o == 38:  # copy
        A = vals[ao:ao + n]
        G = adj[yo:yo + n]
        GA = adj[ao:ao + n]
        for k in range(n):
            g = G[k]
            a = A[k]
            if first_a:
                GA[k] = select(g != 0.0, g * (1.0), 0.0)
            else:
                GA[k] += select(g != 0.0, g * (1.0), 0.0)


@njit(cache=True, error_model='numpy')
def elementwise_tangent(o, n, L, vals, tan, yo, ao, sa, bo, sb):
    """L tangent lanes of op(a, b): tan[y] = da * tan[a] + db * tan[b]; a zero
    input tangent contributes nothing, so inf * 0 never makes a nan."""
    if ZERO_DERIVATIVE_OPS[o]:
        for k in range(n * L):
            tan[yo * L + k] = 0.0
        return
    if o == 0:  # neg
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (-1.0) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = -1.0
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 1:  # add
        if L == 1:
            if sa == 1 and sb == 1:
                A = vals[ao:ao + n]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                TB = tan[bo:bo + n]
                for k in range(n):
                    a = A[k]
                    b = B[k]
                    u0 = TA[k]
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (1.0) * u0, 0.0) + select(u1 != 0.0, (1.0) * u1, 0.0)
            elif sa == 1:
                A = vals[ao:ao + n]
                b = vals[bo]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                t1 = tan[bo]
                for k in range(n):
                    a = A[k]
                    u0 = TA[k]
                    u1 = t1
                    TY[k] = select(u0 != 0.0, (1.0) * u0, 0.0) + select(u1 != 0.0, (1.0) * u1, 0.0)
            else:
                a = vals[ao]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                t0 = tan[ao]
                TB = tan[bo:bo + n]
                for k in range(n):
                    b = B[k]
                    u0 = t0
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (1.0) * u0, 0.0) + select(u1 != 0.0, (1.0) * u1, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            b = vals[bo + k * sb]
            d0 = 1.0
            d1 = 1.0
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                t1 = tan[(bo + k * sb) * L + lane]
                if t1 != 0.0:
                    t += d1 * t1
                tan[(yo + k) * L + lane] = t
    elif o == 2:  # sub
        if L == 1:
            if sa == 1 and sb == 1:
                A = vals[ao:ao + n]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                TB = tan[bo:bo + n]
                for k in range(n):
                    a = A[k]
                    b = B[k]
                    u0 = TA[k]
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (1.0) * u0, 0.0) + select(u1 != 0.0, (-1.0) * u1, 0.0)
            elif sa == 1:
                A = vals[ao:ao + n]
                b = vals[bo]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                t1 = tan[bo]
                for k in range(n):
                    a = A[k]
                    u0 = TA[k]
                    u1 = t1
                    TY[k] = select(u0 != 0.0, (1.0) * u0, 0.0) + select(u1 != 0.0, (-1.0) * u1, 0.0)
            else:
                a = vals[ao]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                t0 = tan[ao]
                TB = tan[bo:bo + n]
                for k in range(n):
                    b = B[k]
                    u0 = t0
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (1.0) * u0, 0.0) + select(u1 != 0.0, (-1.0) * u1, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            b = vals[bo + k * sb]
            d0 = 1.0
            d1 = -1.0
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                t1 = tan[(bo + k * sb) * L + lane]
                if t1 != 0.0:
                    t += d1 * t1
                tan[(yo + k) * L + lane] = t
    elif o == 3:  # mul
        if L == 1:
            if sa == 1 and sb == 1:
                A = vals[ao:ao + n]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                TB = tan[bo:bo + n]
                for k in range(n):
                    a = A[k]
                    b = B[k]
                    u0 = TA[k]
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (b) * u0, 0.0) + select(u1 != 0.0, (a) * u1, 0.0)
            elif sa == 1:
                A = vals[ao:ao + n]
                b = vals[bo]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                t1 = tan[bo]
                for k in range(n):
                    a = A[k]
                    u0 = TA[k]
                    u1 = t1
                    TY[k] = select(u0 != 0.0, (b) * u0, 0.0) + select(u1 != 0.0, (a) * u1, 0.0)
            else:
                a = vals[ao]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                t0 = tan[ao]
                TB = tan[bo:bo + n]
                for k in range(n):
                    b = B[k]
                    u0 = t0
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (b) * u0, 0.0) + select(u1 != 0.0, (a) * u1, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            b = vals[bo + k * sb]
            d0 = b
            d1 = a
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                t1 = tan[(bo + k * sb) * L + lane]
                if t1 != 0.0:
                    t += d1 * t1
                tan[(yo + k) * L + lane] = t
    elif o == 4:  # div
        if L == 1:
            if sa == 1 and sb == 1:
                A = vals[ao:ao + n]
                B = vals[bo:bo + n]
                Y = vals[yo:yo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                TB = tan[bo:bo + n]
                for k in range(n):
                    a = A[k]
                    b = B[k]
                    y = Y[k]
                    u0 = TA[k]
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (1.0 / b) * u0, 0.0) + select(u1 != 0.0, (-y / b) * u1, 0.0)
            elif sa == 1:
                A = vals[ao:ao + n]
                b = vals[bo]
                Y = vals[yo:yo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                t1 = tan[bo]
                for k in range(n):
                    a = A[k]
                    y = Y[k]
                    u0 = TA[k]
                    u1 = t1
                    TY[k] = select(u0 != 0.0, (1.0 / b) * u0, 0.0) + select(u1 != 0.0, (-y / b) * u1, 0.0)
            else:
                a = vals[ao]
                B = vals[bo:bo + n]
                Y = vals[yo:yo + n]
                TY = tan[yo:yo + n]
                t0 = tan[ao]
                TB = tan[bo:bo + n]
                for k in range(n):
                    b = B[k]
                    y = Y[k]
                    u0 = t0
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (1.0 / b) * u0, 0.0) + select(u1 != 0.0, (-y / b) * u1, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            b = vals[bo + k * sb]
            y = vals[yo + k]
            d0 = 1.0 / b
            d1 = -y / b
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                t1 = tan[(bo + k * sb) * L + lane]
                if t1 != 0.0:
                    t += d1 * t1
                tan[(yo + k) * L + lane] = t
    elif o == 5:  # pow
        if L == 1:
            if sa == 1 and sb == 1:
                A = vals[ao:ao + n]
                B = vals[bo:bo + n]
                Y = vals[yo:yo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                TB = tan[bo:bo + n]
                for k in range(n):
                    a = A[k]
                    b = B[k]
                    y = Y[k]
                    u0 = TA[k]
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))) * u0, 0.0) + select(u1 != 0.0, (select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))) * u1, 0.0)
            elif sa == 1:
                A = vals[ao:ao + n]
                b = vals[bo]
                Y = vals[yo:yo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                t1 = tan[bo]
                for k in range(n):
                    a = A[k]
                    y = Y[k]
                    u0 = TA[k]
                    u1 = t1
                    TY[k] = select(u0 != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))) * u0, 0.0) + select(u1 != 0.0, (select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))) * u1, 0.0)
            else:
                a = vals[ao]
                B = vals[bo:bo + n]
                Y = vals[yo:yo + n]
                TY = tan[yo:yo + n]
                t0 = tan[ao]
                TB = tan[bo:bo + n]
                for k in range(n):
                    b = B[k]
                    y = Y[k]
                    u0 = t0
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))) * u0, 0.0) + select(u1 != 0.0, (select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))) * u1, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            b = vals[bo + k * sb]
            y = vals[yo + k]
            d0 = select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))
            d1 = select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                t1 = tan[(bo + k * sb) * L + lane]
                if t1 != 0.0:
                    t += d1 * t1
                tan[(yo + k) * L + lane] = t
    elif o == 6:  # square
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (2.0 * a) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 2.0 * a
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 7:  # reciprocal
        if L == 1:
            A = vals[ao:ao + n]
            Y = vals[yo:yo + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                y = Y[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (-y * y) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            y = vals[yo + k]
            d0 = -y * y
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 8:  # sqrt
        if L == 1:
            A = vals[ao:ao + n]
            Y = vals[yo:yo + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                y = Y[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (0.5 / y) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            y = vals[yo + k]
            d0 = 0.5 / y
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 9:  # cbrt
        if L == 1:
            A = vals[ao:ao + n]
            Y = vals[yo:yo + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                y = Y[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 / (3.0 * y * y)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            y = vals[yo + k]
            d0 = 1.0 / (3.0 * y * y)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 10:  # exp
        if L == 1:
            A = vals[ao:ao + n]
            Y = vals[yo:yo + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                y = Y[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (y) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            y = vals[yo + k]
            d0 = y
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 11:  # expm1
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (np.exp(a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = np.exp(a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 12:  # log
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 / a) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.0 / a
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 13:  # log1p
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 / (1.0 + a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.0 / (1.0 + a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 14:  # log2
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 / (a * 0.6931471805599453)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.0 / (a * 0.6931471805599453)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 15:  # log10
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 / (a * 2.302585092994046)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.0 / (a * 2.302585092994046)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 16:  # sin
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (np.cos(a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = np.cos(a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 17:  # cos
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (-np.sin(a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = -np.sin(a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 18:  # tan
        if L == 1:
            A = vals[ao:ao + n]
            Y = vals[yo:yo + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                y = Y[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 + y * y) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            y = vals[yo + k]
            d0 = 1.0 + y * y
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 19:  # arcsin
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 / np.sqrt(1.0 - a * a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.0 / np.sqrt(1.0 - a * a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 20:  # arccos
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (-1.0 / np.sqrt(1.0 - a * a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = -1.0 / np.sqrt(1.0 - a * a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 21:  # arctan
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 / (1.0 + a * a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.0 / (1.0 + a * a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 22:  # sinh
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (np.cosh(a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = np.cosh(a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 23:  # cosh
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (np.sinh(a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = np.sinh(a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 24:  # tanh
        if L == 1:
            A = vals[ao:ao + n]
            Y = vals[yo:yo + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                y = Y[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 - y * y) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            y = vals[yo + k]
            d0 = 1.0 - y * y
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 25:  # arcsinh
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 / np.sqrt(a * a + 1.0)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.0 / np.sqrt(a * a + 1.0)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 26:  # arccosh
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 / np.sqrt(a * a - 1.0)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.0 / np.sqrt(a * a - 1.0)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 27:  # arctanh
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0 / (1.0 - a * a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.0 / (1.0 - a * a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 28:  # arctan2
        if L == 1:
            if sa == 1 and sb == 1:
                A = vals[ao:ao + n]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                TB = tan[bo:bo + n]
                for k in range(n):
                    a = A[k]
                    b = B[k]
                    u0 = TA[k]
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (b / (a * a + b * b)) * u0, 0.0) + select(u1 != 0.0, (-a / (a * a + b * b)) * u1, 0.0)
            elif sa == 1:
                A = vals[ao:ao + n]
                b = vals[bo]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                t1 = tan[bo]
                for k in range(n):
                    a = A[k]
                    u0 = TA[k]
                    u1 = t1
                    TY[k] = select(u0 != 0.0, (b / (a * a + b * b)) * u0, 0.0) + select(u1 != 0.0, (-a / (a * a + b * b)) * u1, 0.0)
            else:
                a = vals[ao]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                t0 = tan[ao]
                TB = tan[bo:bo + n]
                for k in range(n):
                    b = B[k]
                    u0 = t0
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (b / (a * a + b * b)) * u0, 0.0) + select(u1 != 0.0, (-a / (a * a + b * b)) * u1, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            b = vals[bo + k * sb]
            d0 = b / (a * a + b * b)
            d1 = -a / (a * a + b * b)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                t1 = tan[(bo + k * sb) * L + lane]
                if t1 != 0.0:
                    t += d1 * t1
                tan[(yo + k) * L + lane] = t
    elif o == 29:  # hypot
        if L == 1:
            if sa == 1 and sb == 1:
                A = vals[ao:ao + n]
                B = vals[bo:bo + n]
                Y = vals[yo:yo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                TB = tan[bo:bo + n]
                for k in range(n):
                    a = A[k]
                    b = B[k]
                    y = Y[k]
                    u0 = TA[k]
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (select(y == 0.0, 0.0, a / y)) * u0, 0.0) + select(u1 != 0.0, (select(y == 0.0, 0.0, b / y)) * u1, 0.0)
            elif sa == 1:
                A = vals[ao:ao + n]
                b = vals[bo]
                Y = vals[yo:yo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                t1 = tan[bo]
                for k in range(n):
                    a = A[k]
                    y = Y[k]
                    u0 = TA[k]
                    u1 = t1
                    TY[k] = select(u0 != 0.0, (select(y == 0.0, 0.0, a / y)) * u0, 0.0) + select(u1 != 0.0, (select(y == 0.0, 0.0, b / y)) * u1, 0.0)
            else:
                a = vals[ao]
                B = vals[bo:bo + n]
                Y = vals[yo:yo + n]
                TY = tan[yo:yo + n]
                t0 = tan[ao]
                TB = tan[bo:bo + n]
                for k in range(n):
                    b = B[k]
                    y = Y[k]
                    u0 = t0
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (select(y == 0.0, 0.0, a / y)) * u0, 0.0) + select(u1 != 0.0, (select(y == 0.0, 0.0, b / y)) * u1, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            b = vals[bo + k * sb]
            y = vals[yo + k]
            d0 = select(y == 0.0, 0.0, a / y)
            d1 = select(y == 0.0, 0.0, b / y)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                t1 = tan[(bo + k * sb) * L + lane]
                if t1 != 0.0:
                    t += d1 * t1
                tan[(yo + k) * L + lane] = t
    elif o == 30:  # abs
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (np.sign(a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = np.sign(a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 31:  # maximum
        if L == 1:
            if sa == 1 and sb == 1:
                A = vals[ao:ao + n]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                TB = tan[bo:bo + n]
                for k in range(n):
                    a = A[k]
                    b = B[k]
                    u0 = TA[k]
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (select(a > b, 1.0, select(a == b, 0.5, 0.0))) * u0, 0.0) + select(u1 != 0.0, (select(b > a, 1.0, select(a == b, 0.5, 0.0))) * u1, 0.0)
            elif sa == 1:
                A = vals[ao:ao + n]
                b = vals[bo]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                t1 = tan[bo]
                for k in range(n):
                    a = A[k]
                    u0 = TA[k]
                    u1 = t1
                    TY[k] = select(u0 != 0.0, (select(a > b, 1.0, select(a == b, 0.5, 0.0))) * u0, 0.0) + select(u1 != 0.0, (select(b > a, 1.0, select(a == b, 0.5, 0.0))) * u1, 0.0)
            else:
                a = vals[ao]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                t0 = tan[ao]
                TB = tan[bo:bo + n]
                for k in range(n):
                    b = B[k]
                    u0 = t0
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (select(a > b, 1.0, select(a == b, 0.5, 0.0))) * u0, 0.0) + select(u1 != 0.0, (select(b > a, 1.0, select(a == b, 0.5, 0.0))) * u1, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            b = vals[bo + k * sb]
            d0 = select(a > b, 1.0, select(a == b, 0.5, 0.0))
            d1 = select(b > a, 1.0, select(a == b, 0.5, 0.0))
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                t1 = tan[(bo + k * sb) * L + lane]
                if t1 != 0.0:
                    t += d1 * t1
                tan[(yo + k) * L + lane] = t
    elif o == 32:  # minimum
        if L == 1:
            if sa == 1 and sb == 1:
                A = vals[ao:ao + n]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                TB = tan[bo:bo + n]
                for k in range(n):
                    a = A[k]
                    b = B[k]
                    u0 = TA[k]
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (select(a < b, 1.0, select(a == b, 0.5, 0.0))) * u0, 0.0) + select(u1 != 0.0, (select(b < a, 1.0, select(a == b, 0.5, 0.0))) * u1, 0.0)
            elif sa == 1:
                A = vals[ao:ao + n]
                b = vals[bo]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                t1 = tan[bo]
                for k in range(n):
                    a = A[k]
                    u0 = TA[k]
                    u1 = t1
                    TY[k] = select(u0 != 0.0, (select(a < b, 1.0, select(a == b, 0.5, 0.0))) * u0, 0.0) + select(u1 != 0.0, (select(b < a, 1.0, select(a == b, 0.5, 0.0))) * u1, 0.0)
            else:
                a = vals[ao]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                t0 = tan[ao]
                TB = tan[bo:bo + n]
                for k in range(n):
                    b = B[k]
                    u0 = t0
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (select(a < b, 1.0, select(a == b, 0.5, 0.0))) * u0, 0.0) + select(u1 != 0.0, (select(b < a, 1.0, select(a == b, 0.5, 0.0))) * u1, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            b = vals[bo + k * sb]
            d0 = select(a < b, 1.0, select(a == b, 0.5, 0.0))
            d1 = select(b < a, 1.0, select(a == b, 0.5, 0.0))
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                t1 = tan[(bo + k * sb) * L + lane]
                if t1 != 0.0:
                    t += d1 * t1
                tan[(yo + k) * L + lane] = t
    elif o == 33:  # mod
        if L == 1:
            if sa == 1 and sb == 1:
                A = vals[ao:ao + n]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                TB = tan[bo:bo + n]
                for k in range(n):
                    a = A[k]
                    b = B[k]
                    u0 = TA[k]
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (1.0) * u0, 0.0) + select(u1 != 0.0, (-np.floor_divide(a, b)) * u1, 0.0)
            elif sa == 1:
                A = vals[ao:ao + n]
                b = vals[bo]
                TY = tan[yo:yo + n]
                TA = tan[ao:ao + n]
                t1 = tan[bo]
                for k in range(n):
                    a = A[k]
                    u0 = TA[k]
                    u1 = t1
                    TY[k] = select(u0 != 0.0, (1.0) * u0, 0.0) + select(u1 != 0.0, (-np.floor_divide(a, b)) * u1, 0.0)
            else:
                a = vals[ao]
                B = vals[bo:bo + n]
                TY = tan[yo:yo + n]
                t0 = tan[ao]
                TB = tan[bo:bo + n]
                for k in range(n):
                    b = B[k]
                    u0 = t0
                    u1 = TB[k]
                    TY[k] = select(u0 != 0.0, (1.0) * u0, 0.0) + select(u1 != 0.0, (-np.floor_divide(a, b)) * u1, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            b = vals[bo + k * sb]
            d0 = 1.0
            d1 = -np.floor_divide(a, b)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                t1 = tan[(bo + k * sb) * L + lane]
                if t1 != 0.0:
                    t += d1 * t1
                tan[(yo + k) * L + lane] = t
    elif o == 34:  # erf
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.1283791670955126 * np.exp(-a * a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.1283791670955126 * np.exp(-a * a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 35:  # erfc
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (-1.1283791670955126 * np.exp(-a * a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = -1.1283791670955126 * np.exp(-a * a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 36:  # ndtr
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (0.3989422804014327 * np.exp(-0.5 * a * a)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 0.3989422804014327 * np.exp(-0.5 * a * a)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 37:  # expit
        if L == 1:
            A = vals[ao:ao + n]
            Y = vals[yo:yo + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                y = Y[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (y * (1.0 - y)) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            y = vals[yo + k]
            d0 = y * (1.0 - y)
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t
    elif o == 38:  # copy
        if L == 1:
            A = vals[ao:ao + n]
            TY = tan[yo:yo + n]
            TA = tan[ao:ao + n]
            for k in range(n):
                a = A[k]
                u0 = TA[k]
                TY[k] = select(u0 != 0.0, (1.0) * u0, 0.0)
            return
        for k in range(n):
            a = vals[ao + k * sa]
            d0 = 1.0
            for lane in range(L):
                t = 0.0
                t0 = tan[(ao + k * sa) * L + lane]
                if t0 != 0.0:
                    t += d0 * t0
                tan[(yo + k) * L + lane] = t


@njit(cache=True, error_model='numpy')
def elementwise_partial_tangents(o, a, b, y, ta, tb, ty):
    """The tangents of the scalar entry op(a, b) = y's two partials along the
    input tangents ta, tb (and ty, the output's): the second-order terms."""
    if o == 0:  # neg
        return 0.0, 0.0
    elif o == 1:  # add
        return 0.0, 0.0
    elif o == 2:  # sub
        return 0.0, 0.0
    elif o == 3:  # mul
        return select(tb != 0.0, (1.0) * tb, 0.0), select(ta != 0.0, (1.0) * ta, 0.0)
    elif o == 4:  # div
        return select(tb != 0.0, (-(1.0) * (1.0) / ((b) * (b))) * tb, 0.0), select(tb != 0.0, (-(-y) * (1.0) / ((b) * (b))) * tb, 0.0) + select(ty != 0.0, ((-(1.0)) / (b)) * ty, 0.0)
    elif o == 5:  # pow
        return select(ta != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 0.0, (b) * ((b - 1.0) * (a) ** ((b - 1.0) - 1.0) * (1.0))))) * ta, 0.0) + select(tb != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 0.0, (1.0) * (a ** (b - 1.0)) + (b) * ((a) ** (b - 1.0) * np.log(a) * (1.0))))) * tb, 0.0), select(ta != 0.0, (select(a > 0.0, (y) * ((1.0 / (a)) * (1.0)), 0.0)) * ta, 0.0) + select(ty != 0.0, (select(a > 0.0, (1.0) * (np.log(a)), 0.0)) * ty, 0.0)
    elif o == 6:  # square
        return select(ta != 0.0, ((2.0) * (1.0)) * ta, 0.0), 0.0
    elif o == 7:  # reciprocal
        return select(ty != 0.0, ((-(1.0)) * (y) + (-y) * (1.0)) * ty, 0.0), 0.0
    elif o == 8:  # sqrt
        return select(ty != 0.0, (-(0.5) * (1.0) / ((y) * (y))) * ty, 0.0), 0.0
    elif o == 9:  # cbrt
        return select(ty != 0.0, (-(1.0) * (((3.0) * (1.0)) * (y) + (3.0 * y) * (1.0)) / ((3.0 * y * y) * (3.0 * y * y))) * ty, 0.0), 0.0
    elif o == 10:  # exp
        return select(ty != 0.0, (1.0) * ty, 0.0), 0.0
    elif o == 11:  # expm1
        return select(ta != 0.0, ((np.exp(a)) * (1.0)) * ta, 0.0), 0.0
    elif o == 12:  # log
        return select(ta != 0.0, (-(1.0) * (1.0) / ((a) * (a))) * ta, 0.0), 0.0
    elif o == 13:  # log1p
        return select(ta != 0.0, (-(1.0) * ((0.0) + (1.0)) / ((1.0 + a) * (1.0 + a))) * ta, 0.0), 0.0
    elif o == 14:  # log2
        return select(ta != 0.0, (-(1.0) * ((1.0) * (0.6931471805599453)) / ((a * 0.6931471805599453) * (a * 0.6931471805599453))) * ta, 0.0), 0.0
    elif o == 15:  # log10
        return select(ta != 0.0, (-(1.0) * ((1.0) * (2.302585092994046)) / ((a * 2.302585092994046) * (a * 2.302585092994046))) * ta, 0.0), 0.0
    elif o == 16:  # sin
        return select(ta != 0.0, ((-np.sin(a)) * (1.0)) * ta, 0.0), 0.0
    elif o == 17:  # cos
        return select(ta != 0.0, (-((np.cos(a)) * (1.0))) * ta, 0.0), 0.0
    elif o == 18:  # tan
        return select(ty != 0.0, ((0.0) + ((1.0) * (y) + (y) * (1.0))) * ty, 0.0), 0.0
    elif o == 19:  # arcsin
        return select(ta != 0.0, (-(1.0) * ((0.5 / np.sqrt(1.0 - a * a)) * ((0.0) - ((1.0) * (a) + (a) * (1.0)))) / ((np.sqrt(1.0 - a * a)) * (np.sqrt(1.0 - a * a)))) * ta, 0.0), 0.0
    elif o == 20:  # arccos
        return select(ta != 0.0, (-(-1.0) * ((0.5 / np.sqrt(1.0 - a * a)) * ((0.0) - ((1.0) * (a) + (a) * (1.0)))) / ((np.sqrt(1.0 - a * a)) * (np.sqrt(1.0 - a * a)))) * ta, 0.0), 0.0
    elif o == 21:  # arctan
        return select(ta != 0.0, (-(1.0) * ((0.0) + ((1.0) * (a) + (a) * (1.0))) / ((1.0 + a * a) * (1.0 + a * a))) * ta, 0.0), 0.0
    elif o == 22:  # sinh
        return select(ta != 0.0, ((np.sinh(a)) * (1.0)) * ta, 0.0), 0.0
    elif o == 23:  # cosh
        return select(ta != 0.0, ((np.cosh(a)) * (1.0)) * ta, 0.0), 0.0
    elif o == 24:  # tanh
        return select(ty != 0.0, ((0.0) - ((1.0) * (y) + (y) * (1.0))) * ty, 0.0), 0.0
    elif o == 25:  # arcsinh
        return select(ta != 0.0, (-(1.0) * ((0.5 / np.sqrt(a * a + 1.0)) * ((1.0) * (a) + (a) * (1.0))) / ((np.sqrt(a * a + 1.0)) * (np.sqrt(a * a + 1.0)))) * ta, 0.0), 0.0
    elif o == 26:  # arccosh
        return select(ta != 0.0, (-(1.0) * ((0.5 / np.sqrt(a * a - 1.0)) * ((1.0) * (a) + (a) * (1.0))) / ((np.sqrt(a * a - 1.0)) * (np.sqrt(a * a - 1.0)))) * ta, 0.0), 0.0
    elif o == 27:  # arctanh
        return select(ta != 0.0, (-(1.0) * ((0.0) - ((1.0) * (a) + (a) * (1.0))) / ((1.0 - a * a) * (1.0 - a * a))) * ta, 0.0), 0.0
    elif o == 28:  # arctan2
        return select(ta != 0.0, (-(b) * ((1.0) * (a) + (a) * (1.0)) / ((a * a + b * b) * (a * a + b * b))) * ta, 0.0) + select(tb != 0.0, ((1.0) / (a * a + b * b) + -(b) * ((0.0) + ((1.0) * (b) + (b) * (1.0))) / ((a * a + b * b) * (a * a + b * b))) * tb, 0.0), select(ta != 0.0, ((-(1.0)) / (a * a + b * b) + -(-a) * ((1.0) * (a) + (a) * (1.0)) / ((a * a + b * b) * (a * a + b * b))) * ta, 0.0) + select(tb != 0.0, (-(-a) * ((0.0) + ((1.0) * (b) + (b) * (1.0))) / ((a * a + b * b) * (a * a + b * b))) * tb, 0.0)
    elif o == 29:  # hypot
        return select(ta != 0.0, (select(y == 0.0, 0.0, (1.0) / (y))) * ta, 0.0) + select(ty != 0.0, (select(y == 0.0, 0.0, -(a) * (1.0) / ((y) * (y)))) * ty, 0.0), select(tb != 0.0, (select(y == 0.0, 0.0, (1.0) / (y))) * tb, 0.0) + select(ty != 0.0, (select(y == 0.0, 0.0, -(b) * (1.0) / ((y) * (y)))) * ty, 0.0)
    elif o == 30:  # abs
        return 0.0, 0.0
    elif o == 31:  # maximum
        return 0.0, 0.0
    elif o == 32:  # minimum
        return 0.0, 0.0
    elif o == 33:  # mod
        return 0.0, 0.0
    elif o == 34:  # erf
        return select(ta != 0.0, ((1.1283791670955126) * ((np.exp(-a * a)) * ((-(1.0)) * (a) + (-a) * (1.0)))) * ta, 0.0), 0.0
    elif o == 35:  # erfc
        return select(ta != 0.0, ((-1.1283791670955126) * ((np.exp(-a * a)) * ((-(1.0)) * (a) + (-a) * (1.0)))) * ta, 0.0), 0.0
    elif o == 36:  # ndtr
        return select(ta != 0.0, ((0.3989422804014327) * ((np.exp(-0.5 * a * a)) * (((-0.5) * (1.0)) * (a) + (-0.5 * a) * (1.0)))) * ta, 0.0), 0.0
    elif o == 37:  # expit
        return select(ty != 0.0, ((1.0) * (1.0 - y) + (y) * ((0.0) - (1.0))) * ty, 0.0), 0.0
    elif o == 38:  # copy
        return 0.0, 0.0
    return 0.0, 0.0


@njit(cache=True, error_model='numpy')
def array_elementwise_hvp(o, n, vals, tan, adj, adjd, yo, ao, sa, bo, sb):
    """The reverse step of op(a, b) for adjoints ``adj`` and their tangents
    ``adjd`` at once: adjd[a] += adjd[y] * da + adj[y] * tangent(da), likewise b.
    An input of stride 0 is a broadcast scalar; each stride case loops over
    contiguous views with selects, no branches, so that LLVM vectorizes it."""
    if o == 0:  # neg
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = -1.0
            dd0 = 0.0
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 1:  # add
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                ta = TA[k]
                tb = TB[k]
                ty = TY[k]
                d0 = 1.0
                dd0 = 0.0
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = 1.0
                dd1 = 0.0
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            tb = tan[bo]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            accB = 0.0
            accDB = 0.0
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                y = Y[k]
                ta = TA[k]
                ty = TY[k]
                d0 = 1.0
                dd0 = 0.0
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = 1.0
                dd1 = 0.0
                accB += select(g != 0.0, g * d1, 0.0)
                accDB += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[bo] += accB
            adjd[bo] += accDB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            ta = tan[ao]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            accA = 0.0
            accDA = 0.0
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                b = B[k]
                y = Y[k]
                tb = TB[k]
                ty = TY[k]
                d0 = 1.0
                dd0 = 0.0
                accA += select(g != 0.0, g * d0, 0.0)
                accDA += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = 1.0
                dd1 = 0.0
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[ao] += accA
            adjd[ao] += accDA
    elif o == 2:  # sub
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                ta = TA[k]
                tb = TB[k]
                ty = TY[k]
                d0 = 1.0
                dd0 = 0.0
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -1.0
                dd1 = 0.0
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            tb = tan[bo]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            accB = 0.0
            accDB = 0.0
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                y = Y[k]
                ta = TA[k]
                ty = TY[k]
                d0 = 1.0
                dd0 = 0.0
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -1.0
                dd1 = 0.0
                accB += select(g != 0.0, g * d1, 0.0)
                accDB += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[bo] += accB
            adjd[bo] += accDB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            ta = tan[ao]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            accA = 0.0
            accDA = 0.0
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                b = B[k]
                y = Y[k]
                tb = TB[k]
                ty = TY[k]
                d0 = 1.0
                dd0 = 0.0
                accA += select(g != 0.0, g * d0, 0.0)
                accDA += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -1.0
                dd1 = 0.0
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[ao] += accA
            adjd[ao] += accDA
    elif o == 3:  # mul
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                ta = TA[k]
                tb = TB[k]
                ty = TY[k]
                d0 = b
                dd0 = select(tb != 0.0, (1.0) * tb, 0.0)
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = a
                dd1 = select(ta != 0.0, (1.0) * ta, 0.0)
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            tb = tan[bo]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            accB = 0.0
            accDB = 0.0
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                y = Y[k]
                ta = TA[k]
                ty = TY[k]
                d0 = b
                dd0 = select(tb != 0.0, (1.0) * tb, 0.0)
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = a
                dd1 = select(ta != 0.0, (1.0) * ta, 0.0)
                accB += select(g != 0.0, g * d1, 0.0)
                accDB += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[bo] += accB
            adjd[bo] += accDB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            ta = tan[ao]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            accA = 0.0
            accDA = 0.0
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                b = B[k]
                y = Y[k]
                tb = TB[k]
                ty = TY[k]
                d0 = b
                dd0 = select(tb != 0.0, (1.0) * tb, 0.0)
                accA += select(g != 0.0, g * d0, 0.0)
                accDA += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = a
                dd1 = select(ta != 0.0, (1.0) * ta, 0.0)
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[ao] += accA
            adjd[ao] += accDA
    elif o == 4:  # div
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                ta = TA[k]
                tb = TB[k]
                ty = TY[k]
                d0 = 1.0 / b
                dd0 = select(tb != 0.0, (-(1.0) * (1.0) / ((b) * (b))) * tb, 0.0)
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -y / b
                dd1 = select(tb != 0.0, (-(-y) * (1.0) / ((b) * (b))) * tb, 0.0) + select(ty != 0.0, ((-(1.0)) / (b)) * ty, 0.0)
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            tb = tan[bo]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            accB = 0.0
            accDB = 0.0
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                y = Y[k]
                ta = TA[k]
                ty = TY[k]
                d0 = 1.0 / b
                dd0 = select(tb != 0.0, (-(1.0) * (1.0) / ((b) * (b))) * tb, 0.0)
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -y / b
                dd1 = select(tb != 0.0, (-(-y) * (1.0) / ((b) * (b))) * tb, 0.0) + select(ty != 0.0, ((-(1.0)) / (b)) * ty, 0.0)
                accB += select(g != 0.0, g * d1, 0.0)
                accDB += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[bo] += accB
            adjd[bo] += accDB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            ta = tan[ao]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            accA = 0.0
            accDA = 0.0
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                b = B[k]
                y = Y[k]
                tb = TB[k]
                ty = TY[k]
                d0 = 1.0 / b
                dd0 = select(tb != 0.0, (-(1.0) * (1.0) / ((b) * (b))) * tb, 0.0)
                accA += select(g != 0.0, g * d0, 0.0)
                accDA += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -y / b
                dd1 = select(tb != 0.0, (-(-y) * (1.0) / ((b) * (b))) * tb, 0.0) + select(ty != 0.0, ((-(1.0)) / (b)) * ty, 0.0)
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[ao] += accA
            adjd[ao] += accDA
    elif o == 5:  # pow
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                ta = TA[k]
                tb = TB[k]
                ty = TY[k]
                d0 = select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))
                dd0 = select(ta != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 0.0, (b) * ((b - 1.0) * (a) ** ((b - 1.0) - 1.0) * (1.0))))) * ta, 0.0) + select(tb != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 0.0, (1.0) * (a ** (b - 1.0)) + (b) * ((a) ** (b - 1.0) * np.log(a) * (1.0))))) * tb, 0.0)
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))
                dd1 = select(ta != 0.0, (select(a > 0.0, (y) * ((1.0 / (a)) * (1.0)), 0.0)) * ta, 0.0) + select(ty != 0.0, (select(a > 0.0, (1.0) * (np.log(a)), 0.0)) * ty, 0.0)
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            tb = tan[bo]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            accB = 0.0
            accDB = 0.0
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                y = Y[k]
                ta = TA[k]
                ty = TY[k]
                d0 = select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))
                dd0 = select(ta != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 0.0, (b) * ((b - 1.0) * (a) ** ((b - 1.0) - 1.0) * (1.0))))) * ta, 0.0) + select(tb != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 0.0, (1.0) * (a ** (b - 1.0)) + (b) * ((a) ** (b - 1.0) * np.log(a) * (1.0))))) * tb, 0.0)
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))
                dd1 = select(ta != 0.0, (select(a > 0.0, (y) * ((1.0 / (a)) * (1.0)), 0.0)) * ta, 0.0) + select(ty != 0.0, (select(a > 0.0, (1.0) * (np.log(a)), 0.0)) * ty, 0.0)
                accB += select(g != 0.0, g * d1, 0.0)
                accDB += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[bo] += accB
            adjd[bo] += accDB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            ta = tan[ao]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            accA = 0.0
            accDA = 0.0
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                b = B[k]
                y = Y[k]
                tb = TB[k]
                ty = TY[k]
                d0 = select(b == 0.0, 0.0, select(b == 1.0, 1.0, b * a ** (b - 1.0)))
                dd0 = select(ta != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 0.0, (b) * ((b - 1.0) * (a) ** ((b - 1.0) - 1.0) * (1.0))))) * ta, 0.0) + select(tb != 0.0, (select(b == 0.0, 0.0, select(b == 1.0, 0.0, (1.0) * (a ** (b - 1.0)) + (b) * ((a) ** (b - 1.0) * np.log(a) * (1.0))))) * tb, 0.0)
                accA += select(g != 0.0, g * d0, 0.0)
                accDA += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(a > 0.0, y * np.log(a), select(a == 0.0, 0.0, np.nan))
                dd1 = select(ta != 0.0, (select(a > 0.0, (y) * ((1.0 / (a)) * (1.0)), 0.0)) * ta, 0.0) + select(ty != 0.0, (select(a > 0.0, (1.0) * (np.log(a)), 0.0)) * ty, 0.0)
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[ao] += accA
            adjd[ao] += accDA
    elif o == 6:  # square
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 2.0 * a
            dd0 = select(ta != 0.0, ((2.0) * (1.0)) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 7:  # reciprocal
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = -y * y
            dd0 = select(ty != 0.0, ((-(1.0)) * (y) + (-y) * (1.0)) * ty, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 8:  # sqrt
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 0.5 / y
            dd0 = select(ty != 0.0, (-(0.5) * (1.0) / ((y) * (y))) * ty, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 9:  # cbrt
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 / (3.0 * y * y)
            dd0 = select(ty != 0.0, (-(1.0) * (((3.0) * (1.0)) * (y) + (3.0 * y) * (1.0)) / ((3.0 * y * y) * (3.0 * y * y))) * ty, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 10:  # exp
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = y
            dd0 = select(ty != 0.0, (1.0) * ty, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 11:  # expm1
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = np.exp(a)
            dd0 = select(ta != 0.0, ((np.exp(a)) * (1.0)) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 12:  # log
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 / a
            dd0 = select(ta != 0.0, (-(1.0) * (1.0) / ((a) * (a))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 13:  # log1p
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 / (1.0 + a)
            dd0 = select(ta != 0.0, (-(1.0) * ((0.0) + (1.0)) / ((1.0 + a) * (1.0 + a))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 14:  # log2
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 / (a * 0.6931471805599453)
            dd0 = select(ta != 0.0, (-(1.0) * ((1.0) * (0.6931471805599453)) / ((a * 0.6931471805599453) * (a * 0.6931471805599453))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 15:  # log10
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 / (a * 2.302585092994046)
            dd0 = select(ta != 0.0, (-(1.0) * ((1.0) * (2.302585092994046)) / ((a * 2.302585092994046) * (a * 2.302585092994046))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 16:  # sin
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = np.cos(a)
            dd0 = select(ta != 0.0, ((-np.sin(a)) * (1.0)) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 17:  # cos
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = -np.sin(a)
            dd0 = select(ta != 0.0, (-((np.cos(a)) * (1.0))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 18:  # tan
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 + y * y
            dd0 = select(ty != 0.0, ((0.0) + ((1.0) * (y) + (y) * (1.0))) * ty, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 19:  # arcsin
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 / np.sqrt(1.0 - a * a)
            dd0 = select(ta != 0.0, (-(1.0) * ((0.5 / np.sqrt(1.0 - a * a)) * ((0.0) - ((1.0) * (a) + (a) * (1.0)))) / ((np.sqrt(1.0 - a * a)) * (np.sqrt(1.0 - a * a)))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 20:  # arccos
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = -1.0 / np.sqrt(1.0 - a * a)
            dd0 = select(ta != 0.0, (-(-1.0) * ((0.5 / np.sqrt(1.0 - a * a)) * ((0.0) - ((1.0) * (a) + (a) * (1.0)))) / ((np.sqrt(1.0 - a * a)) * (np.sqrt(1.0 - a * a)))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 21:  # arctan
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 / (1.0 + a * a)
            dd0 = select(ta != 0.0, (-(1.0) * ((0.0) + ((1.0) * (a) + (a) * (1.0))) / ((1.0 + a * a) * (1.0 + a * a))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 22:  # sinh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = np.cosh(a)
            dd0 = select(ta != 0.0, ((np.sinh(a)) * (1.0)) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 23:  # cosh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = np.sinh(a)
            dd0 = select(ta != 0.0, ((np.cosh(a)) * (1.0)) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 24:  # tanh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 - y * y
            dd0 = select(ty != 0.0, ((0.0) - ((1.0) * (y) + (y) * (1.0))) * ty, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 25:  # arcsinh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 / np.sqrt(a * a + 1.0)
            dd0 = select(ta != 0.0, (-(1.0) * ((0.5 / np.sqrt(a * a + 1.0)) * ((1.0) * (a) + (a) * (1.0))) / ((np.sqrt(a * a + 1.0)) * (np.sqrt(a * a + 1.0)))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 26:  # arccosh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 / np.sqrt(a * a - 1.0)
            dd0 = select(ta != 0.0, (-(1.0) * ((0.5 / np.sqrt(a * a - 1.0)) * ((1.0) * (a) + (a) * (1.0))) / ((np.sqrt(a * a - 1.0)) * (np.sqrt(a * a - 1.0)))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 27:  # arctanh
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0 / (1.0 - a * a)
            dd0 = select(ta != 0.0, (-(1.0) * ((0.0) - ((1.0) * (a) + (a) * (1.0))) / ((1.0 - a * a) * (1.0 - a * a))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 28:  # arctan2
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                ta = TA[k]
                tb = TB[k]
                ty = TY[k]
                d0 = b / (a * a + b * b)
                dd0 = select(ta != 0.0, (-(b) * ((1.0) * (a) + (a) * (1.0)) / ((a * a + b * b) * (a * a + b * b))) * ta, 0.0) + select(tb != 0.0, ((1.0) / (a * a + b * b) + -(b) * ((0.0) + ((1.0) * (b) + (b) * (1.0))) / ((a * a + b * b) * (a * a + b * b))) * tb, 0.0)
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -a / (a * a + b * b)
                dd1 = select(ta != 0.0, ((-(1.0)) / (a * a + b * b) + -(-a) * ((1.0) * (a) + (a) * (1.0)) / ((a * a + b * b) * (a * a + b * b))) * ta, 0.0) + select(tb != 0.0, (-(-a) * ((0.0) + ((1.0) * (b) + (b) * (1.0))) / ((a * a + b * b) * (a * a + b * b))) * tb, 0.0)
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            tb = tan[bo]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            accB = 0.0
            accDB = 0.0
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                y = Y[k]
                ta = TA[k]
                ty = TY[k]
                d0 = b / (a * a + b * b)
                dd0 = select(ta != 0.0, (-(b) * ((1.0) * (a) + (a) * (1.0)) / ((a * a + b * b) * (a * a + b * b))) * ta, 0.0) + select(tb != 0.0, ((1.0) / (a * a + b * b) + -(b) * ((0.0) + ((1.0) * (b) + (b) * (1.0))) / ((a * a + b * b) * (a * a + b * b))) * tb, 0.0)
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -a / (a * a + b * b)
                dd1 = select(ta != 0.0, ((-(1.0)) / (a * a + b * b) + -(-a) * ((1.0) * (a) + (a) * (1.0)) / ((a * a + b * b) * (a * a + b * b))) * ta, 0.0) + select(tb != 0.0, (-(-a) * ((0.0) + ((1.0) * (b) + (b) * (1.0))) / ((a * a + b * b) * (a * a + b * b))) * tb, 0.0)
                accB += select(g != 0.0, g * d1, 0.0)
                accDB += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[bo] += accB
            adjd[bo] += accDB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            ta = tan[ao]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            accA = 0.0
            accDA = 0.0
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                b = B[k]
                y = Y[k]
                tb = TB[k]
                ty = TY[k]
                d0 = b / (a * a + b * b)
                dd0 = select(ta != 0.0, (-(b) * ((1.0) * (a) + (a) * (1.0)) / ((a * a + b * b) * (a * a + b * b))) * ta, 0.0) + select(tb != 0.0, ((1.0) / (a * a + b * b) + -(b) * ((0.0) + ((1.0) * (b) + (b) * (1.0))) / ((a * a + b * b) * (a * a + b * b))) * tb, 0.0)
                accA += select(g != 0.0, g * d0, 0.0)
                accDA += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -a / (a * a + b * b)
                dd1 = select(ta != 0.0, ((-(1.0)) / (a * a + b * b) + -(-a) * ((1.0) * (a) + (a) * (1.0)) / ((a * a + b * b) * (a * a + b * b))) * ta, 0.0) + select(tb != 0.0, (-(-a) * ((0.0) + ((1.0) * (b) + (b) * (1.0))) / ((a * a + b * b) * (a * a + b * b))) * tb, 0.0)
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[ao] += accA
            adjd[ao] += accDA
    elif o == 29:  # hypot
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                ta = TA[k]
                tb = TB[k]
                ty = TY[k]
                d0 = select(y == 0.0, 0.0, a / y)
                dd0 = select(ta != 0.0, (select(y == 0.0, 0.0, (1.0) / (y))) * ta, 0.0) + select(ty != 0.0, (select(y == 0.0, 0.0, -(a) * (1.0) / ((y) * (y)))) * ty, 0.0)
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(y == 0.0, 0.0, b / y)
                dd1 = select(tb != 0.0, (select(y == 0.0, 0.0, (1.0) / (y))) * tb, 0.0) + select(ty != 0.0, (select(y == 0.0, 0.0, -(b) * (1.0) / ((y) * (y)))) * ty, 0.0)
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            tb = tan[bo]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            accB = 0.0
            accDB = 0.0
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                y = Y[k]
                ta = TA[k]
                ty = TY[k]
                d0 = select(y == 0.0, 0.0, a / y)
                dd0 = select(ta != 0.0, (select(y == 0.0, 0.0, (1.0) / (y))) * ta, 0.0) + select(ty != 0.0, (select(y == 0.0, 0.0, -(a) * (1.0) / ((y) * (y)))) * ty, 0.0)
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(y == 0.0, 0.0, b / y)
                dd1 = select(tb != 0.0, (select(y == 0.0, 0.0, (1.0) / (y))) * tb, 0.0) + select(ty != 0.0, (select(y == 0.0, 0.0, -(b) * (1.0) / ((y) * (y)))) * ty, 0.0)
                accB += select(g != 0.0, g * d1, 0.0)
                accDB += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[bo] += accB
            adjd[bo] += accDB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            ta = tan[ao]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            accA = 0.0
            accDA = 0.0
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                b = B[k]
                y = Y[k]
                tb = TB[k]
                ty = TY[k]
                d0 = select(y == 0.0, 0.0, a / y)
                dd0 = select(ta != 0.0, (select(y == 0.0, 0.0, (1.0) / (y))) * ta, 0.0) + select(ty != 0.0, (select(y == 0.0, 0.0, -(a) * (1.0) / ((y) * (y)))) * ty, 0.0)
                accA += select(g != 0.0, g * d0, 0.0)
                accDA += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(y == 0.0, 0.0, b / y)
                dd1 = select(tb != 0.0, (select(y == 0.0, 0.0, (1.0) / (y))) * tb, 0.0) + select(ty != 0.0, (select(y == 0.0, 0.0, -(b) * (1.0) / ((y) * (y)))) * ty, 0.0)
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[ao] += accA
            adjd[ao] += accDA
    elif o == 30:  # abs
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = np.sign(a)
            dd0 = 0.0
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 31:  # maximum
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                ta = TA[k]
                tb = TB[k]
                ty = TY[k]
                d0 = select(a > b, 1.0, select(a == b, 0.5, 0.0))
                dd0 = 0.0
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(b > a, 1.0, select(a == b, 0.5, 0.0))
                dd1 = 0.0
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            tb = tan[bo]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            accB = 0.0
            accDB = 0.0
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                y = Y[k]
                ta = TA[k]
                ty = TY[k]
                d0 = select(a > b, 1.0, select(a == b, 0.5, 0.0))
                dd0 = 0.0
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(b > a, 1.0, select(a == b, 0.5, 0.0))
                dd1 = 0.0
                accB += select(g != 0.0, g * d1, 0.0)
                accDB += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[bo] += accB
            adjd[bo] += accDB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            ta = tan[ao]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            accA = 0.0
            accDA = 0.0
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                b = B[k]
                y = Y[k]
                tb = TB[k]
                ty = TY[k]
                d0 = select(a > b, 1.0, select(a == b, 0.5, 0.0))
                dd0 = 0.0
                accA += select(g != 0.0, g * d0, 0.0)
                accDA += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(b > a, 1.0, select(a == b, 0.5, 0.0))
                dd1 = 0.0
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[ao] += accA
            adjd[ao] += accDA
    elif o == 32:  # minimum
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                ta = TA[k]
                tb = TB[k]
                ty = TY[k]
                d0 = select(a < b, 1.0, select(a == b, 0.5, 0.0))
                dd0 = 0.0
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(b < a, 1.0, select(a == b, 0.5, 0.0))
                dd1 = 0.0
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            tb = tan[bo]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            accB = 0.0
            accDB = 0.0
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                y = Y[k]
                ta = TA[k]
                ty = TY[k]
                d0 = select(a < b, 1.0, select(a == b, 0.5, 0.0))
                dd0 = 0.0
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(b < a, 1.0, select(a == b, 0.5, 0.0))
                dd1 = 0.0
                accB += select(g != 0.0, g * d1, 0.0)
                accDB += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[bo] += accB
            adjd[bo] += accDB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            ta = tan[ao]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            accA = 0.0
            accDA = 0.0
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                b = B[k]
                y = Y[k]
                tb = TB[k]
                ty = TY[k]
                d0 = select(a < b, 1.0, select(a == b, 0.5, 0.0))
                dd0 = 0.0
                accA += select(g != 0.0, g * d0, 0.0)
                accDA += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = select(b < a, 1.0, select(a == b, 0.5, 0.0))
                dd1 = 0.0
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[ao] += accA
            adjd[ao] += accDA
    elif o == 33:  # mod
        if sa == 1 and sb == 1:
            A = vals[ao:ao + n]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                b = B[k]
                y = Y[k]
                ta = TA[k]
                tb = TB[k]
                ty = TY[k]
                d0 = 1.0
                dd0 = 0.0
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -np.floor_divide(a, b)
                dd1 = 0.0
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
        elif sa == 1:
            A = vals[ao:ao + n]
            b = vals[bo]
            Y = vals[yo:yo + n]
            TA = tan[ao:ao + n]
            tb = tan[bo]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            GA = adj[ao:ao + n]
            GDA = adjd[ao:ao + n]
            accB = 0.0
            accDB = 0.0
            for k in range(n):
                g = G[k]
                gd = GD[k]
                a = A[k]
                y = Y[k]
                ta = TA[k]
                ty = TY[k]
                d0 = 1.0
                dd0 = 0.0
                GA[k] += select(g != 0.0, g * d0, 0.0)
                GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -np.floor_divide(a, b)
                dd1 = 0.0
                accB += select(g != 0.0, g * d1, 0.0)
                accDB += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[bo] += accB
            adjd[bo] += accDB
        else:
            a = vals[ao]
            B = vals[bo:bo + n]
            Y = vals[yo:yo + n]
            ta = tan[ao]
            TB = tan[bo:bo + n]
            TY = tan[yo:yo + n]
            G = adj[yo:yo + n]
            GD = adjd[yo:yo + n]
            accA = 0.0
            accDA = 0.0
            GB = adj[bo:bo + n]
            GDB = adjd[bo:bo + n]
            for k in range(n):
                g = G[k]
                gd = GD[k]
                b = B[k]
                y = Y[k]
                tb = TB[k]
                ty = TY[k]
                d0 = 1.0
                dd0 = 0.0
                accA += select(g != 0.0, g * d0, 0.0)
                accDA += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
                d1 = -np.floor_divide(a, b)
                dd1 = 0.0
                GB[k] += select(g != 0.0, g * d1, 0.0)
                GDB[k] += select(gd != 0.0, gd * d1, 0.0) + select(g != 0.0, g * dd1, 0.0)
            adj[ao] += accA
            adjd[ao] += accDA
    elif o == 34:  # erf
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.1283791670955126 * np.exp(-a * a)
            dd0 = select(ta != 0.0, ((1.1283791670955126) * ((np.exp(-a * a)) * ((-(1.0)) * (a) + (-a) * (1.0)))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 35:  # erfc
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = -1.1283791670955126 * np.exp(-a * a)
            dd0 = select(ta != 0.0, ((-1.1283791670955126) * ((np.exp(-a * a)) * ((-(1.0)) * (a) + (-a) * (1.0)))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 36:  # ndtr
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 0.3989422804014327 * np.exp(-0.5 * a * a)
            dd0 = select(ta != 0.0, ((0.3989422804014327) * ((np.exp(-0.5 * a * a)) * (((-0.5) * (1.0)) * (a) + (-0.5 * a) * (1.0)))) * ta, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 37:  # expit
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = y * (1.0 - y)
            dd0 = select(ty != 0.0, ((1.0) * (1.0 - y) + (y) * ((0.0) - (1.0))) * ty, 0.0)
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)
    elif o == 38:  # copy
        A = vals[ao:ao + n]
        Y = vals[yo:yo + n]
        TA = tan[ao:ao + n]
        TY = tan[yo:yo + n]
        G = adj[yo:yo + n]
        GD = adjd[yo:yo + n]
        GA = adj[ao:ao + n]
        GDA = adjd[ao:ao + n]
        for k in range(n):
            g = G[k]
            gd = GD[k]
            a = A[k]
            y = Y[k]
            ta = TA[k]
            ty = TY[k]
            d0 = 1.0
            dd0 = 0.0
            GA[k] += select(g != 0.0, g * d0, 0.0)
            GDA[k] += select(gd != 0.0, gd * d0, 0.0) + select(g != 0.0, g * dd0, 0.0)


# ---- END GENERATED ELEMENTWISE CODE ----
