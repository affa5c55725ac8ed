"""Linear algebra on traced matrices: the SVD, QR, norms, pinv, lstsq, matrix powers.

The factorizations are functions with rules of their own (``nd.custom_vjp``,
numad/custom.py): one tape entry each, whose value is LAPACK's (NumPy's own call, so
the same signs and order), and whose reverse rule is the textbook formula, written in
NumPy. Forward mode transposes the rule (it is linear in the cotangent), and nested
derivatives (``nd.hessian``) trace the rule itself on traced values, factorizations
included, so every mode works. The other functions are compositions of these and of
the recorded primitives, written to give NumPy's value with NumPy's own operations.

Where a derivative does not exist, the convention (and the docstring saying it):

* the SVD's U and V at tied singular values: the coupling of a tied pair is dropped
  (``SVD_TIE_RTOL``), as numad's ``eigh`` does; functions invariant under rotations
  within the tied singular subspace (the singular values, the nuclear norm, pinv) are
  still differentiated exactly;
* norms at a kink (the 2-norm at 0, |x| at 0, ties of a max): the subgradient 0, or
  the tie shared (numad/recording.py's reductions).
"""
from __future__ import annotations

import collections

import numpy as np

from . import recording as R
from .custom import custom_vjp
from .errors import TracingError
from .traced import Traced, value_of

# |s_i^2 - s_j^2| <= SVD_TIE_RTOL * max(s^2): a tie, whose pair coupling is dropped
SVD_TIE_RTOL = 1e-10

SVDResult = collections.namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = collections.namedtuple("QRResult", ["Q", "R"])
LstsqResult = tuple  # NumPy returns a plain 4-tuple


def _mT(a):
    """The matrix transpose of (a stack of) matrices."""
    return np.swapaxes(a, -1, -2)


def _is_traced(*xs):
    return any(isinstance(x, Traced) for x in xs)


# ---------------------------------------------------------------------------------------
# The SVD


@custom_vjp
def svd_factors(a):
    """U, s, Vh of the thin SVD, as ``np.linalg.svd(a, full_matrices=False)``."""
    return tuple(np.linalg.svd(a, full_matrices=False))


def _svd_factors_fwd(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return (u, s, vh), (u, s, vh)


def _inverse_gaps(s):
    """F_ij = 1 / (s_j^2 - s_i^2), 0 on the diagonal and at ties."""
    s2 = s * s
    gap = s2[..., None, :] - s2[..., :, None]
    scale = np.max(s2, axis=-1, keepdims=True)[..., None]
    tie = np.abs(gap) <= SVD_TIE_RTOL * scale
    return np.where(tie, 0.0, 1.0 / np.where(tie, 1.0, gap))


def _svd_factors_bwd(res, g):
    # Townsend, "Differentiating the singular value decomposition" (2016), for the
    # thin SVD A = U S V^T of an m x n matrix, k = min(m, n):
    # A_bar = U [(F o (U^T U_bar - U_bar^T U)) S + diag(s_bar)
    #            + S (F o (V^T V_bar - V_bar^T V))] V^T
    #       + (I - U U^T) U_bar S^-1 V^T + U S^-1 V_bar^T (I - V V^T)
    u, s, vh = res
    gu, gs, gvh = g
    k = np.shape(s)[-1]
    m, n = np.shape(u)[-2], np.shape(vh)[-1]
    F = _inverse_gaps(s)
    ugu = _mT(u) @ gu
    vgv = vh @ _mT(gvh)
    inner = (F * (ugu - _mT(ugu))) * s[..., None, :] + gs[..., :, None] * np.eye(k) \
        + s[..., :, None] * (F * (vgv - _mT(vgv)))
    ga = u @ inner @ vh
    if m > k:  # the part of U_bar outside U's columns
        ga = ga + ((gu - u @ ugu) / s[..., None, :]) @ vh
    if n > k:  # the part of V_bar outside V's columns
        ga = ga + u @ ((gvh - (gvh @ _mT(vh)) @ vh) / s[..., :, None])
    return (ga,)


svd_factors.defvjp(_svd_factors_fwd, _svd_factors_bwd)


@custom_vjp
def singular_values(a):
    """The singular values, as ``np.linalg.svd(a, compute_uv=False)``."""
    return np.linalg.svd(a, compute_uv=False)


def _singular_values_fwd(a):
    # the values of compute_uv=False (LAPACK's other path: NumPy's exact values), the
    # vectors for the rule
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return np.linalg.svd(a, compute_uv=False), (u, vh)


def _singular_values_bwd(res, g):
    # ds_k = u_k^T dA v_k, so A_bar = U diag(s_bar) V^T; a function of tied singular
    # values symmetric in them (a norm, their sum) is differentiated right at ties too
    u, vh = res
    return ((u * g[..., None, :]) @ vh,)


singular_values.defvjp(_singular_values_fwd, _singular_values_bwd)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """np.linalg.svd of a traced matrix (or stack): NumPy's factors and values.

    The singular values' derivative is ``U diag(s_bar) V^T``, exact everywhere the
    function of them is differentiable. U and Vh are differentiated where the singular
    values are distinct and nonzero (a zero one only matters for a non-square matrix's
    U or V); at ties see the module's docstring. ``full_matrices=True`` is taken for
    square matrices only (the extra columns of a non-square one are not unique);
    ``hermitian=True`` is refused.
    """
    if not _is_traced(a):
        return np.linalg.svd(a, full_matrices, compute_uv, hermitian)
    if hermitian:
        raise TracingError("numad: np.linalg.svd(..., hermitian=True) is not supported "
                           "while tracing; leave hermitian=False (the same factors up to "
                           "sign) or use np.linalg.eigh")
    if not compute_uv:
        return singular_values(a)
    m, n = np.shape(value_of(a))[-2:]
    if full_matrices and m != n:
        raise TracingError("numad: np.linalg.svd of a non-square traced matrix needs "
                           "full_matrices=False: the completing columns of U or V are "
                           "not unique, so they have no derivative")
    return SVDResult(*svd_factors(a))


# ---------------------------------------------------------------------------------------
# QR


@custom_vjp
def qr_factors(a):
    """Q, R of the reduced QR of a tall or square matrix, as ``np.linalg.qr(a)``."""
    return tuple(np.linalg.qr(a))


def _qr_factors_fwd(a):
    q, r = np.linalg.qr(a)
    return (q, r), (q, r)


def _qr_factors_bwd(res, g):
    # For A = QR (m >= n, full rank; Walter & Lehmann 2018, Liao et al. 2019):
    # A_bar = (Q_bar + Q copyltu(M)) R^-T, M = R R_bar^T - Q_bar^T Q, where copyltu
    # mirrors the lower triangle onto the upper one. R's strict lower triangle is 0
    # whatever A is, so its cotangent there is dropped first.
    q, r = res
    gq, gr = g
    n = np.shape(r)[-1]
    upper = np.triu(np.ones((n, n)))
    gr = gr * upper
    M = r @ _mT(gr) - _mT(gq) @ q
    lower = M * upper.T
    mirrored = lower + _mT(lower * (1.0 - np.eye(n)))
    b = gq + q @ mirrored
    return (_mT(np.linalg.solve(r, _mT(b))),)


qr_factors.defvjp(_qr_factors_fwd, _qr_factors_bwd)


def qr(a, mode="reduced"):
    """np.linalg.qr of a traced tall or square matrix (``mode`` "reduced", "r", or
    "complete" for a square one): NumPy's factors, differentiated by the standard
    reverse formula, which holds where ``a`` has full column rank."""
    if not _is_traced(a):
        return np.linalg.qr(a, mode)
    shape = np.shape(value_of(a))
    if len(shape) != 2:
        raise TracingError("numad: np.linalg.qr of a traced stack of matrices; call it "
                           "on each matrix")
    m, n = shape
    if m < n or mode not in ("reduced", "r", "complete") or (mode == "complete" and m != n):
        raise TracingError(f"numad: np.linalg.qr(mode={mode!r}) of a traced {m} x {n} "
                           "matrix: numad differentiates the reduced QR of a tall or "
                           "square matrix (mode 'reduced' or 'r')")
    q, r = qr_factors(a)
    return r if mode == "r" else QRResult(q, r)


# ---------------------------------------------------------------------------------------
# Norms


def _vector_norm(x, ord, axis, keepdims):
    """NumPy's vector norms along the int ``axis``, by NumPy's formulas."""
    if ord is None or ord == 2:
        return R.root_of_squares(R.reduce_sum(x * x, axis, keepdims))
    if ord == 0:  # the count of nonzeros: a step function, derivative 0
        return R.reduce_sum(R.elementwise("not_equal", x, 0.0), axis, keepdims)
    a = R.elementwise("abs", x)
    if ord == np.inf:
        return R.reduce_max(a, axis, keepdims)
    if ord == -np.inf:
        return R.reduce_min(a, axis, keepdims)
    if ord == 1:
        return R.reduce_sum(a, axis, keepdims)
    p = float(ord)
    if p > 0:  # (sum |x|^p)^(1/p); at x = 0 a kink: derivative 0, as the 2-norm's
        total = R.reduce_sum(R.elementwise("pow", a, p), axis, keepdims)
        zero = R.elementwise("equal", total, 0.0)
        return R.where(zero, 0.0, R.elementwise("pow", R.where(zero, 1.0, total), 1.0 / p))
    # p < 0: a zero entry makes |0|^p = inf and the norm 0, a kink (derivative 0) that
    # |0|^p would turn into nan
    zero = R.elementwise("equal", a, 0.0)
    powers = R.where(zero, np.inf, R.elementwise("pow", R.where(zero, 1.0, a), p))
    total = R.reduce_sum(powers, axis, keepdims)
    infinite = R.elementwise("equal", total, np.inf)
    return R.where(infinite, 0.0,
                   R.elementwise("pow", R.where(infinite, 1.0, total), 1.0 / p))


def _matrix_norm(x, ord, rows, cols):
    """NumPy's matrix norms over the axes (rows, cols), without keepdims."""
    if ord in (None, "fro", "f"):
        return R.root_of_squares(R.reduce_sum(x * x, (rows, cols)))
    if ord in (1, -1, np.inf, -np.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum
        across, then = (rows, cols) if ord in (1, -1) else (cols, rows)
        if then > across:
            then -= 1
        sums = R.reduce_sum(R.elementwise("abs", x), across)
        return (R.reduce_max if ord in (1, np.inf) else R.reduce_min)(sums, then)
    if ord in (2, -2, "nuc"):
        s = singular_values(np.moveaxis(x, (rows, cols), (-2, -1)))
        return {2: R.reduce_max, -2: R.reduce_min, "nuc": R.reduce_sum}[ord](s, -1)
    raise ValueError("Invalid norm order for matrices.")


def norm(x, ord=None, axis=None, keepdims=False):
    """np.linalg.norm of a traced array, every ``ord`` NumPy takes, with ``axis`` (an int
    for vector norms, a pair for matrix norms) and ``keepdims``; NumPy's value.

    Derivatives where the norm has a kink take a subgradient:

    * the 2-norm (and the Frobenius norm, ``ord`` None) at x = 0: **0**, the smallest
      subgradient (the convention of ``abs'(0) = 0``; a plain sqrt would give nan);
      other p-norms at 0 alike, and a negative p with a zero entry (the value 0) gives
      that entry 0;
    * ``ord=0`` counts the nonzero entries: derivative 0;
    * inf / -inf / the matrix 1- and inf-norms take a max (min): tied entries share
      its derivative equally, and |x_i| has derivative 0 at x_i = 0;
    * the matrix 2-norm, -2-norm and nuclear norm go through the singular values
      (``d||A||_nuc = U V^T``, ``d sigma_i = u_i v_i^T``).
    """
    if not _is_traced(x):
        return np.linalg.norm(x, ord, axis, keepdims)
    v = value_of(x)
    expected = np.linalg.norm(v, ord, axis, keepdims)  # NumPy's own argument checks
    nd_ = np.ndim(v)
    if axis is None and (ord is None or (ord in ("f", "fro") and nd_ == 2)
                         or (ord == 2 and nd_ == 1)):
        # the flat 2-norm of any array
        out = R.root_of_squares(R.reduce_sum(x * x))
        return R.reshape(out, (1,) * nd_) if keepdims else out
    if axis is None:
        axis = tuple(range(nd_))
    elif not isinstance(axis, tuple):
        axis = (int(axis),)
    axis = tuple(int(a) % nd_ for a in axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, axis[0], keepdims)
    out = _matrix_norm(x, ord, *axis)
    return R.reshape(out, np.shape(expected)) if keepdims else out


# ---------------------------------------------------------------------------------------
# Compositions: pinv, lstsq, matrix_power, multi_dot


def pinv(a, rcond=None, hermitian=False):
    """np.linalg.pinv of a traced matrix, by NumPy's own steps through the SVD (singular
    values at most ``rcond`` times the largest count as 0). Its derivative is exact
    where the rank is constant (a full-rank matrix, say); which singular values count
    is decided anew at every replay."""
    if not _is_traced(a):
        return np.linalg.pinv(a, rcond, hermitian)
    if hermitian:
        raise TracingError("numad: np.linalg.pinv(..., hermitian=True) is not supported "
                           "while tracing; leave hermitian=False")
    rcond = 1e-15 if rcond is None else rcond
    u, s, vt = svd(a, full_matrices=False)
    cutoff = np.asarray(rcond)[..., None] * R.reduce_max(s, -1, keepdims=True)
    large = s > cutoff
    inverse = R.where(large, 1.0 / R.where(large, s, 1.0), 0.0)
    return np.matmul(_mT(vt), inverse[..., None] * _mT(u))


@custom_vjp(nondiff_argnums=(2,))
def _least_squares(a, b, rcond):
    """x, the residuals and s of np.linalg.lstsq. Where NumPy gives no residuals (a
    wide or rank-deficient ``a``) they are computed as ||b - a x||^2, so that the
    outputs keep their structure from point to point; ``lstsq`` shows them only where
    NumPy does."""
    x, res, _, s = np.linalg.lstsq(a, b, rcond)
    if not np.size(res):
        r = np.reshape(b, (np.shape(b)[0], -1)) - np.reshape(a @ x, (np.shape(b)[0], -1))
        res = np.sum(r * r, axis=0)
    return x, res, s


def _least_squares_fwd(a, b, rcond):
    out = _least_squares(a, b, rcond)  # (recorded again when a, b are traced: a Hessian)
    return out, (a, b, out[0])


def _least_squares_bwd(rcond, res, g):
    # x = A^+ b, differentiated as pinv is (Golub & Pereyra 1973, constant rank):
    # dA^+ = -A^+ dA A^+ + A^+ A^+T dA^T (I - A A^+) + (I - A^+ A) dA^T A^+T A^+
    a, b, x = res
    gx, gres, gs = g
    b2 = np.reshape(b, (np.shape(b)[0], -1))
    x2 = np.reshape(x, (np.shape(x)[0], -1))
    gx2 = np.reshape(gx, np.shape(x2))
    p = pinv(a)
    r = b2 - a @ x2
    pg = _mT(p) @ gx2
    ga = -pg @ _mT(x2) + r @ _mT(gx2) @ p @ _mT(p) \
        + _mT(p) @ x2 @ _mT(gx2 - p @ (a @ gx2))
    gb = pg
    # the residuals ||b - A x||^2 (A^T r = 0 at the optimum)
    rg = r * np.reshape(gres, (1, -1))
    ga = ga - 2.0 * rg @ _mT(x2)
    gb = gb + 2.0 * rg
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    ga = ga + (u * gs[None, :]) @ vh
    return ga, np.reshape(gb, np.shape(b))


_least_squares.defvjp(_least_squares_fwd, _least_squares_bwd)


def lstsq(a, b, rcond=None):
    """np.linalg.lstsq with traced ``a`` and/or ``b``: NumPy's (x, residuals, rank, s).

    x, the residuals and s are differentiated (x as ``pinv(a) @ b``, exact where the
    rank is constant); the rank is NumPy's integer, guarded: a replay where it changes
    traces again."""
    if not _is_traced(a, b):
        return np.linalg.lstsq(a, b, rcond)
    av = np.asarray(value_of(a), dtype=np.float64)
    if rcond is None:
        rcond = np.finfo(np.float64).eps * max(av.shape)
    _, res_value, rank, _ = np.linalg.lstsq(av, value_of(b), rcond)
    # (a list is one argument to the rule, not a tree of floats)
    a, b = (m if isinstance(m, Traced) else np.asarray(m, dtype=np.float64) for m in (a, b))
    x, residuals, s = _least_squares(a, b, rcond)
    counted = s > rcond * R.reduce_max(s)
    R.guard(counted, np.asarray(value_of(counted), dtype=np.float64))
    # NumPy's residuals exist only for a tall matrix of full rank (the rank is guarded)
    return LstsqResult((x, residuals if np.size(res_value) else res_value, rank, s))


def matrix_power(a, n):
    """np.linalg.matrix_power of a traced square matrix, by NumPy's own sequence of
    products (repeated squaring), so NumPy's value; a negative n inverts first."""
    if not _is_traced(a):
        return np.linalg.matrix_power(a, n)
    n = int(n)
    shape = np.shape(value_of(a))
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    if n == 0:
        return np.zeros_like(a) + np.broadcast_to(np.eye(shape[-1]), shape)
    if n < 0:
        a, n = R.inv(a), -n
    if n == 1:
        return R.copy_of(a)
    if n == 2:
        return np.matmul(a, a)
    if n == 3:
        return np.matmul(np.matmul(a, a), a)
    power = result = None
    while n > 0:  # the binary powers of a, multiplied in where n has a bit
        power = a if power is None else np.matmul(power, power)
        n, bit = divmod(n, 2)
        if bit:
            result = power if result is None else np.matmul(result, power)
    return result


def _chain_order(shapes):
    """The split points of the cheapest product of matrices of ``shapes`` (the matrix
    chain's dynamic program, NumPy's tie-breaking: the first cheapest split)."""
    n = len(shapes)
    dims = [s[0] for s in shapes] + [shapes[-1][1]]
    cost = np.zeros((n, n))
    split = np.zeros((n, n), dtype=np.int64)
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i, j] = np.inf
            for k in range(i, j):
                c = cost[i, k] + cost[k + 1, j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i, j]:
                    cost[i, j], split[i, j] = c, k
    return split


def multi_dot(arrays):
    """np.linalg.multi_dot with traced operands: the products in NumPy's order (chosen
    by the shapes alone), so NumPy's value."""
    arrays = list(arrays)
    if not _is_traced(*arrays):
        return np.linalg.multi_dot(arrays)
    n = len(arrays)
    if n < 2:
        raise ValueError("Expecting at least two arrays.")
    if n == 2:
        return np.dot(arrays[0], arrays[1])
    first, last = np.ndim(value_of(arrays[0])), np.ndim(value_of(arrays[-1]))
    if first == 1:
        arrays[0] = np.atleast_2d(arrays[0])
    if last == 1:
        arrays[-1] = np.transpose(np.atleast_2d(arrays[-1]))
    shapes = [np.shape(value_of(m)) for m in arrays]
    if any(len(s) != 2 for s in shapes):
        raise np.linalg.LinAlgError("multi_dot: the arrays must be two-dimensional")
    if n == 3:
        (a0, a1), (_, c1) = shapes[0], shapes[2]
        b1 = shapes[1][1]
        left_first = a0 * b1 * (a1 + c1) < a1 * c1 * (a0 + b1)
        A, B, C = arrays
        result = np.dot(np.dot(A, B), C) if left_first else np.dot(A, np.dot(B, C))
    else:
        split = _chain_order(shapes)

        def product(i, j):
            if i == j:
                return arrays[i]
            return np.dot(product(i, split[i, j]), product(split[i, j] + 1, j))
        result = product(0, n - 1)
    if first == 1 and last == 1:
        return result[0, 0]
    if first == 1 or last == 1:
        return np.ravel(result)
    return result
