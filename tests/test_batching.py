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
    with pytest.raises(NotImplementedError, match="cuda"):
        nd.gradient_batch(f, device="cuda")
    calls = []
    nd.jacobian_batch(np.sin, progress=lambda *a: calls.append(a))(X[:3])
    assert calls[-1] == (3, 3, "batch")
