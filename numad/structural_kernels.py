"""The hand-written kernels of the structural primitives, one per op and sweep.

Reductions, views, gathers, matrix products and the other primitives that are not one
scalar formula: each row of ``STRUCTURAL`` (numad/optable.py) names its kernel here for
every sweep, and the sweeps' dispatch on the opcode (``forward_entry``,
``reverse_entry``, ``tangent_entry``, ``hvp_entry``) is generated from the rows into
numad/_generated/sweeps.py. Each op's kernels sit together, forward, reverse, tangent.

A kernel does the step of tape entry ``i`` (the tape as numad/kernels.py describes it);
a kernel of one sweep has that sweep's signature, so that the dispatch passes the same
arguments to all:

forward   ``(i, op, args, off, size, pstart, params, aux_off, vals, aux)``: modifies
          ``vals`` (and ``aux``); returns True where the sweep must stop (a failed guard)
reverse   ``(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj)``:
          adds into ``adj`` (assigns where ``first[i, k]`` says so)
tangent   ``(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L)``:
          writes the ``L`` tangent lanes of the entry's values
hvp       ``(i, op, args, off, size, pstart, params, aux_off, nofirst, vals, aux, tan,
          adj, adjd)``: the reverse step for the adjoints and their tangents at once

Several rows may share a kernel that reads ``op[i]`` (the reductions, the scatters).
"""
import numpy as np
from numba import njit, types
from numba.np.linalg import _LAPACK, ensure_lapack

from . import _cache  # noqa: F401  (numad's cache keying, before any @njit)
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
# where: select(cond, x, z) elementwise: params hold z; the untaken side gets no derivative


@njit(cache=True, error_model="numpy")
def forward_where(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """y = x where cond != 0, else z (any of the three may be a broadcast scalar)."""
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
    c = params[pstart[i]]  # where's third input
    # args: (cond, x, y) stored as a=cond, b=x, c=y
    co, xo, zo = off[a], off[b], off[c]
    sc = 1 if size[a] > 1 else 0
    sx = 1 if size[b] > 1 else 0
    sz = 1 if size[c] > 1 else 0
    for k in range(n):
        vals[yo + k] = vals[xo + k * sx] if vals[co + k * sc] != 0.0 else vals[zo + k * sz]
    return False


@njit(cache=True, error_model="numpy")
def reverse_where(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """The adjoint goes to the side taken; a zero adjoint adds nothing."""
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
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


@njit(cache=True, error_model="numpy")
def tangent_where(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """The tangent of the side taken."""
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
    c = params[pstart[i]]  # where's third input
    co, xo, zo = off[a], off[b], off[c]
    sc = 1 if size[a] > 1 else 0
    sx = 1 if size[b] > 1 else 0
    sz = 1 if size[c] > 1 else 0
    for k in range(n):
        src = (xo + k * sx) if vals[co + k * sc] != 0.0 else (zo + k * sz)
        for lane in range(L):
            tan[(yo + k) * L + lane] = tan[src * L + lane]


# ---------------------------------------------------------------------------------------
# gather: y[k] = a[index[k]] (indices in params)


@njit(cache=True, error_model="numpy")
def forward_gather(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """y[k] = a[index[k]]."""
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    p = pstart[i]
    ao = off[a]
    for k in range(n):
        vals[yo + k] = vals[ao + params[p + k]]
    return False


@njit(cache=True, error_model="numpy")
def reverse_gather(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """adj a[index[k]] += adj y[k]."""
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    p = pstart[i]
    ao = off[a]
    for k in range(n):
        adj[ao + params[p + k]] += adj[yo + k]


@njit(cache=True, error_model="numpy")
def tangent_gather(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """The gathered tangents."""
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    p = pstart[i]
    ao = off[a]
    for k in range(n):
        for lane in range(L):
            tan[(yo + k) * L + lane] = tan[(ao + params[p + k]) * L + lane]


# ---------------------------------------------------------------------------------------
# scatter: scatter_set / scatter_add: y = a with y[index[k]] = (or +=) b[k]


@njit(cache=True, error_model="numpy")
def forward_scatter(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """y = a, then y[index[k]] = b[k] (scatter_set) or += b[k] (scatter_add)."""
    o = op[i]
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
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
    return False


@njit(cache=True, error_model="numpy")
def reverse_scatter(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """b gets the adjoints at the indices; a all of y's but the overwritten ones."""
    o = op[i]
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
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


@njit(cache=True, error_model="numpy")
def tangent_scatter(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """The same scatter on the tangents."""
    o = op[i]
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
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


# ---------------------------------------------------------------------------------------
# reduce: sum, prod, amax, amin over the middle axis of a (pre, n, post) view


@njit(cache=True, error_model="numpy")
def forward_reduce(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """The reduction (sum, prod, amax or amin) of each line."""
    o = op[i]
    yo = off[i]
    a = args[i, 0]
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
    return False


@njit(cache=True, error_model="numpy")
def reverse_sum(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """Every element of a line gets its sum's adjoint (assigned when first)."""
    yo = off[i]
    a = args[i, 0]
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


@njit(cache=True, error_model="numpy")
def reverse_reduce(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """prod: the product of the others (no division); amax/amin: the ties share."""
    o = op[i]
    yo = off[i]
    a = args[i, 0]
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


@njit(cache=True, error_model="numpy")
def tangent_reduce(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """Each line's tangents weighted by the partials (ties share max/min equally)."""
    o = op[i]
    yo = off[i]
    a = args[i, 0]
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


# ---------------------------------------------------------------------------------------
# cumulative: cumsum, cumprod along the middle axis


@njit(cache=True, error_model="numpy")
def forward_cumulative(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """Running sums or products of each line."""
    o = op[i]
    yo = off[i]
    a = args[i, 0]
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
    return False


@njit(cache=True, error_model="numpy")
def reverse_cumulative(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """Suffix sums of the adjoints (cumprod: without dividing by a)."""
    o = op[i]
    yo = off[i]
    a = args[i, 0]
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


@njit(cache=True, error_model="numpy")
def tangent_cumulative(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """Running tangents: t_j = t_{j-1} (+ or * a_j) + ..."""
    o = op[i]
    yo = off[i]
    a = args[i, 0]
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


# ---------------------------------------------------------------------------------------
# matmul: batched (B, m, k) @ (B, k, n); a batch stride of 0 broadcasts an operand


@njit(cache=True, error_model="numpy")
def forward_matmul(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """C = A @ B for each batch."""
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
    p = pstart[i]
    nb, m, kk, nn = params[p], params[p + 1], params[p + 2], params[p + 3]
    ba, bb = params[p + 4], params[p + 5]
    for t in range(nb):
        A = _matrix(vals, off[a] + t * ba * m * kk, m, kk)
        B = _matrix(vals, off[b] + t * bb * kk * nn, kk, nn)
        C = _matrix(vals, yo + t * m * nn, m, nn)
        C[:, :] = np.dot(A, B)
    return False


@njit(cache=True, error_model="numpy")
def reverse_matmul(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """gA += G B^T, gB += A^T G (non-constant operands)."""
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
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


@njit(cache=True, error_model="numpy")
def tangent_matmul(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """dC = dA B + A dB for each lane."""
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
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


@njit(cache=True, error_model="numpy")
def hvp_matmul(i, op, args, off, size, pstart, params, aux_off, nofirst, vals, aux, tan, adj,
               adjd):
    """The reverse step for adjoints and their tangents: the product is bilinear, so the
    tangent of g B^T is gd B^T + g dB^T, and so for A."""
    reverse_matmul(i, op, args, off, size, pstart, params, aux_off, nofirst, vals, aux, adj)
    reverse_matmul(i, op, args, off, size, pstart, params, aux_off, nofirst, vals, aux, adjd)
    yo = off[i]
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


# ---------------------------------------------------------------------------------------
# concat: concatenation of the inputs (in params) along the middle axis


@njit(cache=True, error_model="numpy")
def forward_concat(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """Copies each input's lines into place (a scalar input is broadcast)."""
    yo = off[i]
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
    return False


@njit(cache=True, error_model="numpy")
def reverse_concat(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """Each input takes back its part of the adjoint."""
    yo = off[i]
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


@njit(cache=True, error_model="numpy")
def tangent_concat(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """Copies the inputs' tangents into place."""
    yo = off[i]
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


# ---------------------------------------------------------------------------------------
# sort: sort along the middle axis; the permutation is kept in aux for the other sweeps


@njit(cache=True, error_model="numpy")
def forward_sort(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """Stable sort of each line; the source positions go to aux."""
    yo = off[i]
    a = args[i, 0]
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
    return False


@njit(cache=True, error_model="numpy")
def reverse_sort(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """Adjoints go back through the permutation."""
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    ao = off[a]
    xo = aux_off[i]
    for k in range(n):
        adj[ao + np.int64(aux[xo + k])] += adj[yo + k]


@njit(cache=True, error_model="numpy")
def tangent_sort(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """Tangents follow the permutation."""
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    ao = off[a]
    xo = aux_off[i]
    for k in range(n):
        src = ao + np.int64(aux[xo + k])
        for lane in range(L):
            tan[(yo + k) * L + lane] = tan[src * L + lane]


# ---------------------------------------------------------------------------------------
# solve: X = solve(A, B), A square (m, m), B (m, k)


@njit(cache=True, error_model="numpy")
def forward_solve(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """X = A^-1 B."""
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
    p = pstart[i]
    m, kk = params[p], params[p + 1]
    A = _matrix(vals, off[a], m, m)
    B = _matrix(vals, off[b], m, kk)
    X = _matrix(vals, yo, m, kk)
    X[:, :] = np.linalg.solve(A, B)
    return False


@njit(cache=True, error_model="numpy")
def reverse_solve(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """gB = A^-T G; gA = -gB X^T."""
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
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


@njit(cache=True, error_model="numpy")
def tangent_solve(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """dX = A^-1 (dB - dA X)."""
    yo = off[i]
    a = args[i, 0]
    b = args[i, 1]
    p = pstart[i]
    m, kk = params[p], params[p + 1]
    A = _matrix(vals, off[a], m, m)
    X = _matrix(vals, yo, m, kk)
    for lane in range(L):
        dA = _lanes_matrix(tan, off[a], m, m, L, lane)
        dB = _lanes_matrix(tan, off[b], m, kk, L, lane)
        _store_lanes_matrix(tan, yo, np.linalg.solve(A, dB - np.dot(dA, X)), L, lane)


# ---------------------------------------------------------------------------------------
# inv: Y = inv(A)


@njit(cache=True, error_model="numpy")
def forward_inv(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """Y = A^-1."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    _matrix(vals, yo, m, m)[:, :] = np.linalg.inv(_matrix(vals, off[a], m, m))
    return False


@njit(cache=True, error_model="numpy")
def reverse_inv(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """gA -= Y^T G Y^T."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    Y = _matrix(vals, yo, m, m)
    G = _matrix(adj, yo, m, m)
    _matrix(adj, off[a], m, m)[:, :] -= np.dot(np.dot(Y.T, G), Y.T)


@njit(cache=True, error_model="numpy")
def tangent_inv(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """dY = -Y dA Y."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    Y = _matrix(vals, yo, m, m)
    for lane in range(L):
        dA = _lanes_matrix(tan, off[a], m, m, L, lane)
        _store_lanes_matrix(tan, yo, -np.dot(np.dot(Y, dA), Y), L, lane)


# ---------------------------------------------------------------------------------------
# slogdet: [sign, log |det A|]


@njit(cache=True, error_model="numpy")
def forward_slogdet(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """[sign(det A), log |det A|]."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    sgn, logabs = np.linalg.slogdet(_matrix(vals, off[a], m, m))
    vals[yo] = sgn
    vals[yo + 1] = logabs
    return False


@njit(cache=True, error_model="numpy")
def reverse_slogdet(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """gA += g A^-T (the sign has zero derivative)."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    g = adj[yo + 1]  # the sign has zero derivative
    if g != 0.0:
        Ainv = np.linalg.inv(_matrix(vals, off[a], m, m))
        _matrix(adj, off[a], m, m)[:, :] += g * Ainv.T


@njit(cache=True, error_model="numpy")
def tangent_slogdet(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """d log|det A| = tr(A^-1 dA)."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    Ainv = np.linalg.inv(_matrix(vals, off[a], m, m))
    for lane in range(L):
        dA = _lanes_matrix(tan, off[a], m, m, L, lane)
        tan[yo * L + lane] = 0.0
        tan[(yo + 1) * L + lane] = np.sum(Ainv.T * dA)


# ---------------------------------------------------------------------------------------
# det: det A; its derivative is the cofactor matrix, singular A included


@njit(cache=True, error_model="numpy")
def forward_det(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """det A."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    vals[yo] = np.linalg.det(_matrix(vals, off[a], m, m))
    return False


@njit(cache=True, error_model="numpy")
def reverse_det(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """gA += g cof(A)."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    g = adj[yo]
    if g != 0.0:
        _matrix(adj, off[a], m, m)[:, :] += g * _cofactors(_matrix(vals, off[a], m, m))


@njit(cache=True, error_model="numpy")
def tangent_det(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """d det = <cof(A), dA>."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    C = _cofactors(_matrix(vals, off[a], m, m))
    for lane in range(L):
        tan[yo * L + lane] = np.sum(C * _lanes_matrix(tan, off[a], m, m, L, lane))


# ---------------------------------------------------------------------------------------
# cholesky: lower Cholesky factor L of a symmetric positive definite A (its lower triangle)


@njit(cache=True, error_model="numpy")
def forward_cholesky(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """L = cholesky(A)."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    _matrix(vals, yo, m, m)[:, :] = np.linalg.cholesky(_matrix(vals, off[a], m, m))
    return False


@njit(cache=True, error_model="numpy")
def reverse_cholesky(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """Murray (2016), onto the lower triangle."""
    yo = off[i]
    a = args[i, 0]
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


@njit(cache=True, error_model="numpy")
def tangent_cholesky(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """dL = L Phi(L^-1 dA L^-T)."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    Lf = _matrix(vals, yo, m, m)
    Linv = np.linalg.inv(Lf)
    for lane in range(L):
        # (the symmetric matrix the lower triangle gives: all that cholesky reads)
        dA = _read_symmetric(_lanes_matrix(tan, off[a], m, m, L, lane), False)
        # dL = L Phi(L^-1 dA L^-T)
        dL = np.dot(Lf, _phi(np.dot(np.dot(Linv, dA), Linv.T)))
        _store_lanes_matrix(tan, yo, dL, L, lane)


# ---------------------------------------------------------------------------------------
# eigh: [w, V] of the symmetric matrix one triangle of A gives (params: n, upper)


@njit(cache=True, error_model="numpy")
def forward_eigh(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """Eigenvalues then eigenvectors (columns), as np.linalg.eigh."""
    yo = off[i]
    a = args[i, 0]
    m = params[pstart[i]]
    p = pstart[i]
    w, V = _eigh(_matrix(vals, off[a], m, m), params[p + 1] != 0)
    vals[yo:yo + m] = w
    _matrix(vals, yo + m, m, m)[:, :] = V
    return False


@njit(cache=True, error_model="numpy")
def reverse_eigh(i, op, args, off, size, pstart, params, aux_off, first, vals, aux, adj):
    """V (diag(gw) + F o (V^T gV)) V^T onto the triangle read."""
    o = op[i]
    n = size[i]
    yo = off[i]
    a = args[i, 0]
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


@njit(cache=True, error_model="numpy")
def tangent_eigh(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """dw_i = v_i^T dA v_i; dV = V (F o V^T dA V)."""
    yo = off[i]
    a = args[i, 0]
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


# ---------------------------------------------------------------------------------------
# guard: checks that its input still has the recorded value (a branch decision)


@njit(cache=True, error_model="numpy")
def forward_guard(i, op, args, off, size, pstart, params, aux_off, vals, aux):
    """True where the input differs from the recorded value (nan equals nan)."""
    n = size[i]
    yo = off[i]
    a = args[i, 0]
    ao = off[a]
    for k in range(n):
        if vals[ao + k] != vals[yo + k]:
            # nan is a decision too: a recorded nan must stay nan
            if not (vals[ao + k] != vals[ao + k] and vals[yo + k] != vals[yo + k]):
                return True
    return False


@njit(cache=True, error_model="numpy")
def tangent_guard(i, op, args, off, size, pstart, params, aux_off, vals, aux, tan, L):
    """Zero: a decision has no derivative."""
    n = size[i]
    yo = off[i]
    for k in range(n * L):
        tan[yo * L + k] = 0.0
