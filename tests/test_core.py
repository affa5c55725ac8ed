"""The chapter's worked examples, the kernels' completeness, and what users see."""
import math

import numpy as np
import pytest
import scipy.special as sps
from scipy.optimize import rosen_der, rosen_hess, rosen_hess_prod

import numad as nd
from numad import _codegen
from numad import kernels as K
from numad import optable
from numad.optable import ELEMENTWISE, N_ELEMENTWISE, OPCODES, STRUCTURAL


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


# ---- the chapter's worked examples ----------------------------------------------------------

def test_dual_number_polynomial():
    p = lambda x: 3 * x ** 5 - 2 * x ** 3 + 7 * x - 11  # noqa: E731
    for x in (-1.5, 0.0, 2.0, 3.25):
        y = p(nd.Dual(x, 1.0))
        assert y.value == pytest.approx(p(x), rel=1e-15)
        assert y.tangent == pytest.approx(15 * x ** 4 - 6 * x ** 2 + 7, rel=1e-14)


def test_wengert_list_of_the_chapter():
    tape = nd.trace(lambda a, b, c: (a + b) * np.log(b + c), 1.0, 3.0, 6.0)
    lines = str(tape).splitlines()
    assert len(lines) == len(tape) == 7
    assert [line.split()[1] for line in lines] == ["input"] * 3 + ["add", "add", "log", "mul"]
    assert "v0, v1" in lines[3] and "v1, v2" in lines[4] and "v4" in lines[5]
    assert tape(1.0, 3.0, 6.0) == pytest.approx(4 * math.log(9))
    ga, gb, gc = nd.grad(lambda a, b, c: (a + b) * np.log(b + c), (0, 1, 2))(1.0, 3.0, 6.0)
    assert (ga, gb, gc) == pytest.approx((math.log(9), math.log(9) + 4 / 9, 4 / 9), rel=1e-15)


def test_x_exp_y_minus_sin_x():
    gx, gy = nd.grad(lambda x, y: x * np.exp(y) - np.sin(x), (0, 1))(math.pi / 3, 0.0)
    assert gx == pytest.approx(1 - math.cos(math.pi / 3), abs=1e-15)
    assert gy == pytest.approx(math.pi / 3, rel=1e-15)


def geometric(x, alpha):
    s = 0.0
    for k in range(1, int(np.floor(x)) + 1):
        s = s + alpha ** k
    return s


def test_loop_bound_from_a_traced_value_changes_between_calls():
    d_alpha = nd.gradient(lambda a, x: geometric(x, a[0]))
    for x in (3.5, 5.2, 1.1, 3.9):
        n = int(math.floor(x))
        expected = sum(k * 0.5 ** (k - 1) for k in range(1, n + 1))
        assert d_alpha(np.array([0.5]), x)[0] == pytest.approx(expected, rel=1e-15)
    tape = nd.trace(lambda x: geometric(x, 0.5), 3.5)
    assert tape.matches(3.9) and not tape.matches(4.2)
    with pytest.raises(nd.ControlFlowChanged, match="branch decision"):
        tape(4.2)


def test_abs_at_zero_and_the_straight_through_floor():
    assert nd.grad(np.abs)(0.0) == 0.0
    assert nd.grad(abs)(0.0) == 0.0
    assert nd.grad(np.floor)(2.7) == 0.0
    st = nd.straight_through(np.floor)
    assert st(2.7) == 2.0
    assert nd.grad(st)(2.7) == 1.0
    assert nd.grad(lambda x: np.sum(st(x) * x))(np.array([1.5, -0.5])) == pytest.approx(
        [1.5 + 1.0, -0.5 - 1.0])


def huber(r, delta=1.0):
    return np.where(np.abs(r) <= delta, 0.5 * r ** 2, delta * (np.abs(r) - 0.5 * delta))


def test_huber_at_its_transition():
    for r in (1.0, -1.0, 0.999, 1.001, 3.0):
        expected = r if abs(r) <= 1 else math.copysign(1.0, r)
        assert nd.grad(lambda x: huber(x))(r) == pytest.approx(expected, rel=1e-15)


def test_shared_weight_matrix_sums_both_branches():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 4))
    x = rng.normal(size=4)

    def loss(W):
        z = W @ x
        return np.sum(np.tanh(z)) + np.sum(z ** 2)

    z = W @ x
    expected = np.outer(1 - np.tanh(z) ** 2 + 2 * z, x)
    assert nd.grad(loss)(W) == pytest.approx(expected, rel=1e-13)


def test_where_never_leaks_the_untaken_branch():
    g = nd.grad(lambda x: nd.where(x > 0, nd.sqrt(x), 0.0))(0.0)
    assert g == 0.0
    g = nd.grad(lambda x: np.sum(np.where(x > 0, np.log(x), x)))(np.array([0.0, -1.0, 2.0]))
    assert g == pytest.approx([1.0, 1.0, 0.5])
    assert nd.grad(np.sqrt)(0.0) == math.inf


# ---- finance: Black-Scholes Greeks against the closed form --------------------------------------

def bs_call(S, K_, T, r, sigma):
    d1 = (np.log(S / K_) + (r + 0.5 * sigma ** 2) * T) / (sigma * np.sqrt(T))
    d2 = d1 - sigma * np.sqrt(T)
    return S * sps.ndtr(d1) - K_ * np.exp(-r * T) * nd.norm_cdf(d2)


def test_black_scholes_greeks():
    S, K_, T, r, sigma = 100.0, 95.0, 0.75, 0.03, 0.25
    delta, vega, theta_T, rho = nd.grad(bs_call, (0, 4, 2, 3))(S, K_, T, r, sigma)
    d1 = (math.log(S / K_) + (r + sigma ** 2 / 2) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    pdf = math.exp(-d1 ** 2 / 2) / math.sqrt(2 * math.pi)
    assert delta == pytest.approx(sps.ndtr(d1), rel=1e-14)
    assert vega == pytest.approx(S * pdf * math.sqrt(T), rel=1e-13)
    assert theta_T == pytest.approx(S * pdf * sigma / (2 * math.sqrt(T))
                                    + r * K_ * math.exp(-r * T) * sps.ndtr(d2), rel=1e-13)
    assert rho == pytest.approx(K_ * T * math.exp(-r * T) * sps.ndtr(d2), rel=1e-13)
    gamma = nd.grad(nd.grad(bs_call))(S, K_, T, r, sigma)
    assert gamma == pytest.approx(pdf / (S * sigma * math.sqrt(T)), rel=1e-12)


# ---- SciPy's hand-written derivatives --------------------------------------------------------

@pytest.mark.parametrize("f", [rosen, rosen_loop])
def test_gradient_matches_rosen_der(f):
    rng = np.random.default_rng(1)
    jac = nd.gradient(f)
    for n in (2, 10, 200):
        for _ in range(3):
            x = rng.uniform(-2, 2, size=n)
            assert jac(x) == pytest.approx(rosen_der(x), rel=1e-13, abs=1e-11)
    assert jac.cache.traces == 3  # one trace per shape, replays for the rest


def test_second_derivatives_compose():
    x = np.array([0.3, -1.1, 0.8, 1.7])
    H = nd.jacobian(nd.gradient(rosen))(x)
    assert H == pytest.approx(rosen_hess(x), rel=1e-13)
    p = np.array([1.0, -2.0, 0.5, 0.25])
    assert H @ p == pytest.approx(rosen_hess_prod(x, p), rel=1e-13)
    f = lambda x: x ** 3 * np.sin(x)  # noqa: E731
    d3 = (6 * np.sin(0.7) + 18 * 0.7 * np.cos(0.7) - 9 * 0.49 * np.sin(0.7)
          - 0.343 * np.cos(0.7))
    assert nd.grad(nd.grad(nd.grad(f)))(0.7) == pytest.approx(d3, rel=1e-13)
    # an inner derivative that closes over the outer variable
    assert nd.grad(lambda x: nd.grad(lambda y: x * y ** 2)(x))(2.0) == pytest.approx(8.0)


# ---- the kernels ------------------------------------------------------------------------------

def test_generated_kernels_are_current():
    stale = _codegen.differences()
    assert not stale, f"numad/_generated/{', '.join(stale)} differ from the op table: " \
                      f"run python -m numad._codegen"


def test_every_sweep_handles_every_opcode():
    structural = {row.opcode for row in STRUCTURAL}
    for handled in (K.FORWARD_HANDLES, K.REVERSE_HANDLES, K.TANGENT_HANDLES):
        assert set(handled) == structural
    assert set(K.HVP_STRUCTURAL) == {row.opcode for row in STRUCTURAL if row.hvp}
    assert K.ELEMENTWISE_END == N_ELEMENTWISE == len(ELEMENTWISE)
    source = "".join(p.read_text() for p in sorted(_codegen.GENERATED.glob("*.py")))
    for p in ELEMENTWISE:
        assert source.count(f"o == {p.opcode}:  # {p.name}") >= 2  # forward, tangent
    for row in STRUCTURAL:  # one case in each sweep's dispatch that takes it
        sweeps = [s for s in optable.SWEEPS if getattr(row, s)]
        assert source.count(f"o == {row.opcode}:  # {row.name}") == len(sweeps), row.name
    # and a tape that holds every opcode runs through all three sweeps
    tape = nd.trace(everything, *everything_args())
    present = set(tape.op.tolist())
    # (a loop's results come from the scan driver, not from the sweeps: test_scan.py)
    structural.discard(OPCODES["scan"])
    # (nor do a custom call's: its rule runs between the sweeps, tests/test_custom.py)
    structural.discard(OPCODES["custom"])
    assert structural <= present, {n for n, _, _ in STRUCTURAL if OPCODES[n] not in present}


def everything(x, A):
    """One function that records every structural opcode."""
    y = np.where(x > 0.0, x, -x)                       # where
    z = y[::2] + y[1:4].sum() + x[[0, 2, 2]].prod()    # gather, alias, sum, prod
    w = np.zeros_like(x)
    w[1:3] = z[:2]                                     # scatter_set
    np.add.at(w, [0, 0], 1.5)                          # scatter_add
    s = np.sort(w) * np.cumsum(x) + np.cumprod(x)     # sort, cumsum, cumprod
    B = A @ A.T + 4.0 * np.eye(3)                      # matmul
    L = np.linalg.cholesky(B)
    v = np.linalg.solve(B, x[:3]) + np.linalg.inv(L) @ x[1:4]
    t = np.concatenate([s, v]).max() - s.min()         # concat, amax, amin
    if t > -1e9:                                       # guard
        t = t + np.linalg.slogdet(B)[1] + 0.01 * np.linalg.det(B)   # slogdet, det
    w, V = np.linalg.eigh(B)                           # eigh
    t = t + 0.1 * np.sum(w) + V[0, 2] ** 2
    return t * np.sum(v ** 2)


def everything_args():
    return np.array([0.5, -1.2, 0.8, 2.0, -0.3]), np.array([[1.0, 0.2], [0.1, 0.9], [0.4, -0.5]])


def _sweeps(tape, compiled):
    fwd = K.forward_sweep if compiled else K.forward_sweep.py_func
    rev = K.reverse_sweep if compiled else K.reverse_sweep.py_func
    tng = K.tangent_sweep if compiled else K.tangent_sweep.py_func
    vals, partials, aux = tape.vals.copy(), np.zeros_like(tape.partials), tape.aux.copy()
    status = fwd(*tape.structure, vals, partials, aux, 0, len(tape))
    adj = np.zeros_like(vals)
    out = tape.output_entries[0]
    adj[tape.off[out]] = 1.0
    rev(*tape.reverse_structure, vals, partials, aux, adj, 0, len(tape))
    L = 3
    tan = np.zeros(vals.size * L)
    rng = np.random.default_rng(5)
    for e in tape.input_entries:
        o, n = tape.off[e], tape.size[e]
        tan[o * L:(o + n) * L] = rng.normal(size=n * L)
    tng(*tape.structure, vals, partials, aux, tan, L, 0, len(tape))
    return status, vals, adj, tan


def test_interpreted_kernels_agree_with_compiled():
    tape = nd.trace(everything, *everything_args())
    s1, v1, a1, t1 = _sweeps(tape, True)
    s2, v2, a2, t2 = _sweeps(tape, False)
    assert s1 == s2 == -1
    np.testing.assert_allclose(v1, v2, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(a1, a2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(t1, t2, rtol=1e-12, atol=1e-13)


def test_everything_gradient_against_finite_differences():
    x, A = everything_args()
    gx, gA = nd.grad(everything, (0, 1))(x, A)
    fx = nd.numerical_gradient(lambda x_: everything(x_, A), x)
    fA = nd.numerical_gradient(lambda A_: everything(x, A_), A)
    np.testing.assert_allclose(gx, fx, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gA, fA, rtol=1e-6, atol=1e-6)
    # forward mode (a vector tangent sweep) agrees with reverse mode
    J = nd.jacobian(lambda x_: everything(x_, A), mode="forward")(x)
    np.testing.assert_allclose(J, gx, rtol=1e-12, atol=1e-12)


def test_a_million_entry_tape_needs_no_recursion():
    def chain(x):
        for _ in range(350_000):
            x = x * 1.0000001 + 1e-9
            x = x - 1e-9
        return x
    tape = nd.trace(chain, 1.0)
    assert len(tape) > 1_000_000
    assert tape.gradient(2.0) == pytest.approx(1.0000001 ** 350_000, rel=1e-9)


# ---- what users are told -------------------------------------------------------------------------

def test_untraceable_calls_are_named():
    with pytest.raises(nd.TracingError, match=r"math\.exp.*np\.exp"):
        nd.grad(lambda x: math.exp(x))(1.0)
    with pytest.raises(TypeError, match="float"):
        nd.grad(lambda x: float(x))(1.0)
    with pytest.raises(nd.TracingError, match="np.stack"):
        nd.grad(lambda x: np.sum(np.asarray(x, dtype=float)))(np.ones(2))
    # (np.array([x, x]) of traced scalars is recorded: tests/test_numpy_habits.py)
    assert nd.grad(lambda x: np.sum(np.array([x, x])))(1.0) == 2.0
    with pytest.raises(nd.TracingError, match="fft"):
        nd.grad(lambda x: np.sum(np.fft.fft(x).real))(np.ones(4))


def test_non_scalar_output_to_grad_is_a_value_error():
    with pytest.raises(ValueError, match="jacobian"):
        nd.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(ValueError, match="jacobian"):
        nd.gradient(lambda x: x * 2)(np.ones(3))


def test_error_classes():
    assert issubclass(nd.TracingError, TypeError)
    assert issubclass(nd.ControlFlowChanged, RuntimeError)


def test_replayed_gradients_do_not_depend_on_the_previous_call():
    # the reverse sweep assigns some adjoints instead of clearing them first: a replay
    # must not see what the call before it left in the buffer
    x, A = everything_args()
    tape = nd.trace(everything, x, A)
    rng = np.random.default_rng(11)
    for _ in range(4):
        x2 = x + 0.01 * rng.normal(size=x.shape)
        A2 = A + 0.01 * rng.normal(size=A.shape)
        value, g = tape.value_and_gradient(x2, A2)
        fresh = nd.value_and_grad(everything)(x2, A2)
        assert value == pytest.approx(fresh[0], rel=1e-13)
        np.testing.assert_allclose(g, fresh[1], rtol=1e-12, atol=1e-12)
    jac = nd.gradient(rosen_loop)
    for _ in range(4):
        z = rng.uniform(-2, 2, size=30)
        np.testing.assert_allclose(jac(z), rosen_der(z), rtol=1e-13, atol=1e-11)


def sym(x):
    """A symmetric 4x4 matrix with well separated eigenvalues, from 10 numbers."""
    rows, cols = np.tril_indices(4)
    M = np.zeros_like(x, shape=(4, 4))
    M[rows, cols] = x
    return M + M.T - np.diag(np.diag(M)) + np.diag([1.0, 3.0, 6.0, 10.0])


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_gradients_against_finite_differences(uplo):
    x = np.random.default_rng(3).normal(scale=0.3, size=10)
    losses = [
        lambda x: np.sum(np.linalg.eigh(sym(x), uplo)[0] ** 2),
        lambda x: np.sum(np.linalg.eigh(sym(x), uplo)[1][:, 1] ** 2 * np.arange(4.0)),
        lambda x: np.linalg.eigvalsh(sym(x))[3],
    ]
    for f in losses:
        g = nd.grad(f)(x)
        np.testing.assert_allclose(g, nd.numerical_gradient(f, x), rtol=1e-6, atol=1e-8)
        J = nd.jacobian(f, mode="forward")(x)
        np.testing.assert_allclose(J, g, rtol=1e-10, atol=1e-12)
    # eigh reads one triangle only: the other gets no derivative
    A = sym(x)
    gA = nd.grad(lambda A: np.sum(np.linalg.eigh(A, uplo)[0] ** 3))(A)
    unread = np.triu(gA, 1) if uplo == "L" else np.tril(gA, -1)
    assert np.all(unread == 0.0)
    w, V = np.linalg.eigh(A)
    G = V @ np.diag(3 * w ** 2) @ V.T
    read = np.tril(G + G.T, -1) + np.diag(np.diag(G))
    np.testing.assert_allclose(gA, read if uplo == "L" else read.T, rtol=1e-12, atol=1e-12)


def test_second_derivative_through_eigh():
    x = np.random.default_rng(4).normal(scale=0.3, size=10)
    f = lambda x: np.linalg.eigh(sym(x))[0][0]  # noqa: E731
    H = nd.jacobian(nd.gradient(f))(x)
    H_fd = np.array([nd.numerical_gradient(lambda z: nd.grad(f)(z)[k], x) for k in range(10)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def branchy(x):
    s = 0.0
    for i in range(len(x)):
        s = s + (np.sin(x[i]) if x[i] > 0 else x[i] ** 2)
    return s * np.sum(x)


def test_batches_answer_every_row_even_where_branches_differ():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 6))
    tape = nd.trace(branchy, X[0])
    values = tape.forward_batch(X)
    grads = tape.gradient_batch(X)
    assert values.shape == (200,) and grads.shape == (200, 6)
    for r in range(0, 200, 17):
        v, g = nd.value_and_grad(branchy)(X[r])
        assert values[r] == pytest.approx(v, rel=1e-13)
        np.testing.assert_allclose(grads[r], g, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(tape.gradient_batch(X[:50]),
                               [nd.grad(branchy)(x) for x in X[:50]], rtol=1e-12, atol=1e-13)


def test_batch_of_vector_outputs_and_scalar_inputs():
    tape = nd.trace(lambda x: np.stack([x, x ** 2, np.exp(x)]), 0.5)
    xs = np.linspace(-1, 1, 9)
    np.testing.assert_allclose(tape.forward_batch(xs), np.stack([xs, xs ** 2, np.exp(xs)], 1))
    tape = nd.trace(lambda x: x ** 3, 0.5)
    np.testing.assert_allclose(tape.gradient_batch(xs), 3 * xs ** 2, rtol=1e-14)
    with pytest.raises(ValueError, match="the devices are"):
        tape.forward_batch(xs, device="tpu")


def test_second_derivatives_where_the_gradient_vanishes():
    # at a minimum every adjoint of the inner reverse sweep is 0, and the Hessian comes
    # from their derivatives: masking zero adjoints would give a zero Hessian
    x = np.ones(5)
    np.testing.assert_allclose(nd.jacobian(nd.gradient(rosen))(x), rosen_hess(x), rtol=1e-13)
    assert nd.grad(nd.grad(lambda x: (x - 1.0) ** 2))(1.0) == 2.0
    assert nd.grad(nd.grad(nd.grad(lambda x: x ** 3)))(0.0) == 6.0
    # and the untaken branch's inf still stays out at second order
    assert nd.grad(nd.grad(lambda x: nd.where(x > 0, nd.sqrt(x), 0.0)))(0.0) == 0.0


_VIEWS = {
    "x[:]": lambda t: t[:], "x[0:n]": lambda t: t[0:t.shape[0]], "x[::1]": lambda t: t[::1],
    "x[...]": lambda t: t[...], "ravel": lambda t: t.ravel(), "reshape(-1)": lambda t: t.reshape(-1),
    "squeeze": np.squeeze,
}


@pytest.mark.parametrize("view", sorted(_VIEWS))
def test_a_view_of_an_array_combined_with_the_array_gets_both_contributions(view):
    # The view's adjoint goes into the array's buffer: the entry that reads both
    # once assigned the array's adjoint over what the view had just added (half of
    # the gradient of x[:] * x was lost). Closed forms: d/dx sum(x*x) = 2x, sum(x+x) = 2,
    # sum(x**x) = x**x (log x + 1), sum(exp(x*x)) = 2x exp(x*x).
    v = _VIEWS[view]
    x = np.array([0.3, 0.5, 0.9])
    cases = [(lambda t: np.sum(v(t) * t), 2 * x), (lambda t: np.sum(v(t) + t), 2 + 0 * x),
             (lambda t: np.sum(v(t) ** t), x ** x * (np.log(x) + 1))]
    for f, want in cases:
        np.testing.assert_allclose(nd.grad(f)(x), want, rtol=1e-13)
        np.testing.assert_allclose(nd.gradient(f, compile="never")(x), want, rtol=1e-13)
        np.testing.assert_allclose(nd.vjp(f, x)[1](1.0), want, rtol=1e-13)
        np.testing.assert_allclose(nd.trace(f, x).gradient_batch(np.stack([x, x]))[1],
                                   want, rtol=1e-13)
    big = np.linspace(0.1, 1.0, 300)   # (the fused loops' size)
    f = lambda t: np.sum(np.exp(v(t) * t))   # noqa: E731
    for mode in ("never", "always"):
        np.testing.assert_allclose(nd.gradient(f, compile=mode)(big),
                                   2 * big * np.exp(big * big), rtol=1e-13)
    np.testing.assert_allclose(nd.grad(lambda a: np.reshape(a, ()) + a)(1.5), 2.0)
