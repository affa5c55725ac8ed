"""Batched transformations: every row equals the one-point adapter's answer at that row,
where the rows' branches differ and on tapes with a scan; the closed form where there
is one; bad shapes and devices are clear errors."""
import numpy as np
import pytest

import numad as nd

RNG = np.random.default_rng(7)
X = RNG.normal(size=(200, 3))


def branchy(x):
    return np.sum(np.where(x > 0, x ** 2, -x)) + (x[0] * x[1] if x[2] > 0 else np.sin(x[0]))


def simulation(p):
    c, _ = nd.scan(lambda c, _: (c * p[0] + p[1], None), 1.0, length=50)
    return c


def test_gradient_batch_equals_each_row_where_branches_differ():
    G = nd.gradient_batch(branchy)(X)
    assert G.shape == X.shape
    for x, g in zip(X, G):
        np.testing.assert_allclose(g, nd.grad(branchy)(x), rtol=1e-12, atol=1e-15)
    values, G2 = nd.value_and_gradient_batch(branchy)(X)
    np.testing.assert_array_equal(G2, G)
    np.testing.assert_allclose(values, [branchy(x) for x in X], rtol=1e-14)


def test_shared_and_batched_arguments():
    f = lambda x, a: a * np.sum(x ** 2) + np.sum(np.sin(a * x))
    A = np.linspace(0.5, 1.5, len(X))
    G = nd.gradient_batch(f, in_axes=(0, 0))(X, A)
    closed = A[:, None] * 2 * X + A[:, None] * np.cos(A[:, None] * X)
    np.testing.assert_allclose(G, closed, rtol=1e-12)
    shared = nd.gradient_batch(f, in_axes=(0, None))(X, 0.7)
    np.testing.assert_allclose(shared, 0.7 * 2 * X + 0.7 * np.cos(0.7 * X), rtol=1e-12)
    # the batch along another axis
    np.testing.assert_array_equal(nd.gradient_batch(f, in_axes=(1, None))(X.T, 0.7), shared)


def test_tapes_with_a_scan_and_the_other_transforms():
    P = np.abs(X[:20, :2]) * 0.5
    G = nd.gradient_batch(simulation)(P)
    for p, g in zip(P, G):
        np.testing.assert_allclose(g, nd.grad(simulation)(p), rtol=1e-12)
    J = nd.jacobian_batch(np.sin)(X[:5])
    np.testing.assert_allclose(J, [np.diag(np.cos(x)) for x in X[:5]], rtol=1e-15)
    V = X[5:10]
    H = nd.hvp_batch(lambda x: np.sum(x ** 3))(X[:5], V)
    np.testing.assert_allclose(H, 6 * X[:5] * V, rtol=1e-13)


def test_bad_batches_and_devices_are_clear_errors():
    f = lambda x, a: a * np.sum(x)
    with pytest.raises(ValueError, match="different numbers of rows"):
        nd.gradient_batch(f)(X, np.ones(3))
    with pytest.raises(ValueError, match="one entry per argument"):
        nd.gradient_batch(f, in_axes=(0,))(X, 1.0)
    with pytest.raises(ValueError, match="scalar"):
        nd.gradient_batch(f)(X, 1.0)
    with pytest.raises(ValueError, match="devices are 'cpu' and 'cuda'"):
        nd.gradient_batch(f, device="gpu")
    with pytest.raises(ValueError, match=r"\(rows,\) \+ \(3,\)"):
        nd.trace(lambda x: np.sum(x), np.ones(3)).forward_batch(np.ones((4, 2)))
    with pytest.raises(TypeError, match="takes 1 arguments"):
        nd.trace(lambda x: np.sum(x), np.ones(3)).forward_batch(X, X)
    calls = []
    nd.jacobian_batch(np.sin, progress=lambda *a: calls.append(a))(X[:3])
    assert calls[-1] == (3, 3, "batch")


# ---------------------------------------------------------------------------------
# The batch engine (numad/batches.py): several arguments, pytrees, paths, compiled code
# ---------------------------------------------------------------------------------

def path_dependent(p, z):
    """A Monte Carlo path in scalar code: a loop, a maximum (a where) and a branch."""
    s, total = p[0], 0.0
    for t in range(len(z)):
        s = s * np.exp(p[1] * z[t])
        total = total + s
    payoff = np.maximum(total / len(z) - 1.0, 0.0)
    if z[0] > 0.5:
        payoff = payoff * p[1]
    return payoff


def path_dependent_closed(p, z):
    """Value and gradient of ``path_dependent`` by hand (the oracle)."""
    c = np.cumsum(z, axis=1)
    s = p[0] * np.exp(p[1] * c)
    avg = s.mean(axis=1)
    itm = avg > 1.0
    value = np.where(itm, avg - 1.0, 0.0)
    d0 = np.where(itm, avg / p[0], 0.0)
    d1 = np.where(itm, (s * c).mean(axis=1), 0.0)
    up = z[:, 0] > 0.5
    g = np.stack([np.where(up, p[1] * d0, d0), np.where(up, value + p[1] * d1, d1)], axis=1)
    return np.where(up, value * p[1], value), g


Z = RNG.normal(size=(300, 12)) * 0.3
P = np.array([1.1, 0.4])


def _batched_against_closed_form(f, compile):
    """Value and gradient of f(P, Z[i]) for every row i, checked against the closed form."""
    vg = nd.value_and_gradient_batch(f, in_axes=(None, 0), compile=compile)
    values, G = vg(P, Z)
    closed_v, closed_g = path_dependent_closed(P, Z)
    np.testing.assert_allclose(values, closed_v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(G, closed_g, rtol=1e-11, atol=1e-13)
    return vg.last_batch_info, values, G


@pytest.mark.parametrize("compile", ["never", "always"])
def test_shared_parameters_batched_paths_every_path_against_the_closed_form(compile):
    info, values, G = _batched_against_closed_form(path_dependent, compile)
    assert info.rows == len(Z) and info.paths == 2 and info.row_by_row == 0
    assert info.rerouted_rows == np.count_nonzero((Z[:, 0] > 0.5) != (Z[0, 0] > 0.5))
    assert info.compiled == (compile == "always")
    for k in (0, 7, 123):   # and each row is the one-point adapter's answer
        v, g = nd.value_and_gradient(path_dependent)(P, Z[k])
        assert values[k] == pytest.approx(v, rel=1e-13, abs=1e-15)
        np.testing.assert_allclose(G[k], g, rtol=1e-12, atol=1e-15)


def test_auto_counts_the_rows_of_every_batch_towards_compiling():
    # one batch of 300 rows does not repay a compilation; the same pricer called again
    # and again does, as one large batch would (and the answers stay the closed form's)
    vg = nd.value_and_gradient_batch(path_dependent, in_axes=(None, 0), compile="auto")
    vg(P, Z)
    assert not vg.last_batch_info.compiled
    for _ in range(400):
        values, G = vg(P, Z)
        if vg.last_batch_info.compiled:
            break
    assert vg.last_batch_info.compiled
    closed_v, closed_g = path_dependent_closed(P, Z)
    np.testing.assert_allclose(values, closed_v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(G, closed_g, rtol=1e-11, atol=1e-13)


def test_compiled_and_generic_batches_agree_to_the_last_bit():
    generic = nd.value_and_gradient_batch(path_dependent, in_axes=(None, 0), compile="never")
    compiled = nd.value_and_gradient_batch(path_dependent, in_axes=(None, 0),
                                           compile="always")
    for a, b in zip(generic(P, Z), compiled(P, Z)):
        np.testing.assert_array_equal(a, b)


def test_results_do_not_depend_on_the_number_of_threads():
    import numba
    vg = nd.value_and_gradient_batch(path_dependent, in_axes=(None, 0), compile="always")
    many = vg(P, Z)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = vg(P, Z)
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a, b)


def test_tape_batches_take_several_arguments_and_pytree_outputs():
    def f(x, a):
        return {"sq": a * x ** 2, "total": np.sum(np.where(x > 0, x, -2.0 * x)) * (
            a if x[0] > 0 else 2.0 * a)}
    A = np.linspace(0.5, 2.0, len(X))
    tape = nd.trace(f, X[0], A[0])
    out = tape.forward_batch(X, A)
    np.testing.assert_allclose(out["sq"], A[:, None] * X ** 2, rtol=1e-15)
    np.testing.assert_allclose(out["total"], A * np.where(X[:, 0] > 0, 1.0, 2.0) * np.sum(
        np.where(X > 0, X, -2 * X), axis=1), rtol=1e-14)
    assert tape.last_batch_info.paths == 2   # (the sign of x[0] differs between rows)
    g = nd.trace(lambda x, a: a * np.sum(np.abs(x)), X[0], 1.0)
    values, grads = g.value_and_gradient_batch(X, A)
    np.testing.assert_allclose(grads, A[:, None] * np.sign(X), rtol=1e-15)
    np.testing.assert_allclose(values, A * np.abs(X).sum(axis=1), rtol=1e-14)


def test_a_tape_without_its_function_refuses_a_row_on_another_branch():
    tape = nd.trace(lambda x: x[0] if x[1] > 0 else -x[0], np.array([1.0, 1.0]))
    tape.fun = None
    with pytest.raises(nd.ControlFlowChanged, match="another branch"):
        tape.forward_batch(np.array([[1.0, 1.0], [1.0, -1.0]]))


def test_pytree_arguments_and_keywords():
    def f(params, z, scale=1.0):
        return scale * (params["a"] * np.sum(z ** 2) + params["b"][0] * z[0])
    params = {"a": 2.0, "b": np.array([1.0, 3.0])}
    G = nd.gradient_batch(f, in_axes=(None, 0))(params, X, scale=0.5)
    np.testing.assert_allclose(G["a"], 0.5 * np.sum(X ** 2, axis=1), rtol=1e-14)
    np.testing.assert_allclose(G["b"], np.stack([0.5 * X[:, 0], 0 * X[:, 0]], 1), rtol=1e-14)
    batched_tree = nd.gradient_batch(lambda q: np.sum(q["x"] ** 2) * q["w"])(
        {"x": X, "w": np.ones(len(X))})
    np.testing.assert_allclose(batched_tree["x"], 2 * X, rtol=1e-15)


def test_a_function_branching_at_every_row_still_answers_every_row():
    f = lambda x: x[0] * (1.0 if x[0] > x[1] else 2.0) + (x[2] if x[2] > 0 else 0.0)
    vg = nd.value_and_gradient_batch(f)
    values, G = vg(X[:60])
    for x, v, g in zip(X[:60], values, G):
        assert v == f(x)
        np.testing.assert_array_equal(g, nd.grad(f)(x))
    assert vg.last_batch_info.paths <= 4


def path_dependent_scan(p, z):
    """``path_dependent`` with its time loop an nd.scan."""
    def step(carry, zt):
        s, total = carry
        s = s * np.exp(p[1] * zt)
        return (s, total + s), None
    (_, total), _ = nd.scan(step, (p[0], 0.0), z)
    payoff = np.maximum(total / len(z) - 1.0, 0.0)
    if z[0] > 0.5:
        payoff = payoff * p[1]
    return payoff


@pytest.mark.parametrize("compile", ["never", "always"])
def test_a_scan_over_time_runs_in_the_kernel_unrolled(compile):
    info, values, G = _batched_against_closed_form(path_dependent_scan, compile)
    assert info.row_by_row == 0 and info.paths == 2 and info.compiled == (compile == "always")
    tape = nd.trace(path_dependent_scan, P, Z[0])
    assert tape.stops   # (the tape itself keeps its loop; the batch traced it unrolled)
    _, closed_g = path_dependent_closed(P, Z)
    np.testing.assert_allclose(tape.gradient_batch(np.broadcast_to(P, (len(Z), 2)).copy(), Z),
                               closed_g, rtol=1e-11, atol=1e-13)
    assert tape.last_batch_info.row_by_row == 0


def test_batched_gradients_have_their_arguments_float_types_and_empty_batches_say_so():
    # a float32 argument's gradient is float32 beside a float64 one (as nd.grad gives
    # it); the value follows NumPy's promotion of every input
    def f(p, a):
        return np.sum(np.sin(p[0]) * a) + np.sum(p[1] ** 2)
    P = (np.full((4, 3), 0.5, np.float32), np.full((4, 2), 0.25))
    a = np.array([1.0, 2.0, 3.0])
    values, grads = nd.value_and_gradient_batch(f, in_axes=(0, None))(P, a)
    assert values.dtype == np.float64
    assert [g.dtype for g in grads] == [np.float32, np.float64]
    np.testing.assert_allclose(grads[0], np.cos(np.float32(0.5)) * np.tile(a, (4, 1)), rtol=1e-6)
    np.testing.assert_allclose(grads[1], 0.5, rtol=1e-15)
    grads = nd.gradient_batch(f, in_axes=(0, None))(P, a)
    assert [g.dtype for g in grads] == [np.float32, np.float64]
    empty = np.zeros((0, 3))
    with pytest.raises(ValueError, match="nd.gradient_batch got a batch of 0 rows"):
        nd.gradient_batch(lambda x: np.sum(x ** 2))(empty)
    tape = nd.trace(lambda x: np.sum(x ** 2), np.ones(3))
    with pytest.raises(ValueError, match="tape.gradient_batch got a batch of 0 rows"):
        tape.gradient_batch(empty)


def test_a_tapes_batch_takes_its_settings_once():
    # an int setting (the power) is given as it was traced, not as rows; another value
    # of it traces the function again. Oracle: the function itself, row by row.
    def f(x, a, n):
        return np.sum(x ** n) * a
    tape = nd.trace(f, np.ones(2), 0.7, 2)
    X, A = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(tape.forward_batch(X, A, 2), [f(X[i], A[i], 2) for i in range(3)])
    np.testing.assert_allclose(tape.gradient_batch(X, A, 2), 2 * X * A[:, None])
    np.testing.assert_allclose(tape.forward_batch(X, A, 3), [f(X[i], A[i], 3) for i in range(3)])
