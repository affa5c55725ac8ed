"""A small neural network with a shared weight matrix, trained by nd.optimize.minimize.

A tied autoencoder squeezes 8-dimensional points through 3 tanh units and back:

    h = tanh(x W^T + b),    x_hat = h W + c,

with ONE weight matrix W (3 x 8) used twice: to encode, and (transposed) to decode.
The loss is the mean squared reconstruction error over the data set. Because W is used
in two places, its gradient is the sum of two contributions, the encoder's and the
decoder's; reverse mode adds them up by itself (the tape records both uses of the same
input), and the script shows that the sum matches an untied network's two gradients.

The parameters (W, b, c) travel as one flat vector, which is what SciPy's optimizers
take; ``unpack`` cuts it into the matrices. The data are points near a curved
2-dimensional surface in 8 dimensions, so 3 units can reconstruct them well.

Shown: the loss before and after training with L-BFGS-B (gradient from numad, one
reverse sweep per evaluation), the gradient checked once against central differences
(``nd.check_grad``), and the tied gradient as the sum of the two uses.

Run: python examples/neural_network.py [--quick] [--out DIR]
(the figure, the loss during training and a few reconstructions, needs matplotlib; it
goes to DIR, or to a fresh temporary directory whose name is printed)
"""
import argparse
import pathlib
import sys
import tempfile
import time

import numpy as np

import numad as nd

FEATURES, HIDDEN = 8, 3
SIZES = {"W": (HIDDEN, FEATURES), "b": (HIDDEN,), "c": (FEATURES,)}


def unpack(theta):
    """The flat parameter vector as (W, b, c)."""
    parts, start = [], 0
    for shape in SIZES.values():
        size = int(np.prod(shape))
        parts.append(theta[start:start + size].reshape(shape))
        start += size
    return tuple(parts)


def reconstruct(theta, X):
    W, b, c = unpack(theta)
    hidden = np.tanh(X @ W.T + b)     # W encodes ...
    return hidden @ W + c             # ... and the same W decodes


def loss(theta, X):
    """Mean squared reconstruction error over the rows of X."""
    return np.mean((reconstruct(theta, X) - X) ** 2)


def untied_loss(W_enc, W_dec, b, c, X):
    """The same network with the two uses of W as separate matrices."""
    hidden = np.tanh(X @ W_enc.T + b)
    return np.mean((hidden @ W_dec + c - X) ** 2)


def make_data(samples, rng):
    """Points near a curved 2-D surface embedded in 8 dimensions, plus a little noise.

    The surface (u, v, uv / 2) spans 3 directions, so 3 units can hold it; its size,
    about 0.5, keeps the tanh units out of saturation, where a tied decoder could not
    undo them."""
    u = rng.uniform(-0.5, 0.5, size=(samples, 2))
    surface = np.column_stack([u[:, 0], u[:, 1], 0.5 * u[:, 0] * u[:, 1]])
    embedding = rng.normal(size=(3, FEATURES)) / np.sqrt(3.0)
    return surface @ embedding + 0.005 * rng.normal(size=(samples, FEATURES))


def figure_directory(out):
    """``out`` as a directory, or a fresh temporary one: figures never go into the
    repository unless asked."""
    path = pathlib.Path(out) if out else pathlib.Path(tempfile.mkdtemp(prefix="numad-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def draw(history, X, theta, out):
    try:
        import matplotlib
    except ImportError:
        print("(matplotlib is not installed: no figure)")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (curve, rows) = plt.subplots(1, 2, figsize=(11, 3.8))
    curve.semilogy(history)
    curve.set_xlabel("L-BFGS-B iteration")
    curve.set_ylabel("mean squared error")
    curve.set_title("training loss")
    X_hat = reconstruct(theta, X)
    for k in range(3):
        rows.plot(X[k], "o-", color=f"C{k}", label=f"sample {k}")
        rows.plot(X_hat[k], "x--", color=f"C{k}")
    rows.set_xlabel("feature")
    rows.set_title("samples (o) and their reconstructions (x)")
    rows.legend(fontsize=8)
    fig.tight_layout()
    path = figure_directory(out) / "neural_network.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and iterations")
    parser.add_argument("--out", help="directory for the figure (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args([] if argv is None else argv)  # None: defaults, not sys.argv

    rng = np.random.default_rng(args.seed)
    samples, iterations = (200, 200) if args.quick else (2000, 1000)
    X = make_data(samples, rng)
    size = sum(int(np.prod(shape)) for shape in SIZES.values())
    theta0 = 0.3 * rng.normal(size=size)
    print(f"tied autoencoder {FEATURES} -> {HIDDEN} -> {FEATURES}, {size} parameters, "
          f"{samples} samples")

    # The gradient, once, against central differences before trusting it.
    check = nd.check_grad(lambda theta: loss(theta, X), theta0)
    print(f"gradient vs central differences (nd.check_grad): {check:.1e}")

    # The shared matrix: its gradient is the encoder's plus the decoder's contribution.
    W, b, c = unpack(theta0)
    tied = unpack(nd.grad(loss)(theta0, X))[0]
    g_enc, g_dec = nd.grad(untied_loss, argnums=(0, 1))(W, W, b, c, X)
    sharing = float(np.max(np.abs(tied - (g_enc + g_dec))))
    print(f"dL/dW = encoder's part + decoder's part, to {sharing:.1e}")

    history = [float(loss(theta0, X))]
    start = time.perf_counter()
    res = nd.optimize.minimize(loss, theta0, args=(X,), method="L-BFGS-B",
                               options={"maxiter": iterations, "ftol": 1e-12},
                               callback=lambda theta: history.append(float(loss(theta, X))))
    seconds = time.perf_counter() - start
    print(f"loss before training {history[0]:.6f}, after {res.fun:.6f} "
          f"({history[0] / res.fun:.0f} times smaller; {res.nit} iterations, "
          f"{res.nfev} evaluations, {seconds:.2f} s)")
    # Yardsticks: predicting the mean, and the best linear code with 3 units (principal
    # components: the data lie near a 3-dimensional subspace, so it is near the noise)
    centred = X - X.mean(axis=0)
    _, singular, _ = np.linalg.svd(centred, full_matrices=False)
    pca = float(np.sum(singular[HIDDEN:] ** 2) / X.size)
    print(f"(predicting the mean: {np.mean(centred ** 2):.6f}; principal components, "
          f"{HIDDEN} of them: {pca:.6f})")

    figure = draw(history, X, res.x, args.out)
    if figure is not None:
        print(f"wrote {figure}")
    return {"X": X, "theta0": theta0, "theta": res.x, "loss_before": history[0],
            "loss_after": float(res.fun), "pca_loss": pca, "check_grad": check, "sharing": sharing,
            "history": history, "figure": figure}


if __name__ == "__main__":
    main(sys.argv[1:])
