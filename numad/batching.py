"""Batched transformations: an adapter mapped over a leading axis of its arguments.

``nd.gradient_batch(f, in_axes)(X, A)`` is, as ``jax.vmap(nd.gradient(f), in_axes)``
would be, the stack of ``nd.gradient(f)(X[i], A[i])`` over the rows ``i`` of the
batched arguments (``in_axes``: an int for every argument, or one entry per positional
argument, ``None`` for an argument shared by every row). Keyword arguments are shared.

How the rows run:

* one batched array argument and a tape of plain operations (no loop, no rule of its
  own): the tape is traced at the first row and swept over all rows by the batch
  kernel (``Tape.gradient_batch``), rows in parallel; a row whose branch decisions
  differ from the recorded ones is traced anew and answered on its own path;
* otherwise (several batched arguments, a tape with a ``scan``, Jacobians and
  Hessian-vector products) each row goes through the matching cached adapter, which
  replays one tape and traces again where a row's branches differ.

Either way every row's answer is the one-point answer at that row, never the recorded
row's. The GPU (``device="cuda"``) is not built yet: it raises a clear error.
"""
from __future__ import annotations

import functools

import numpy as np

from . import adapters
from .pytree import flatten, unflatten
from .progress import reporter

__all__ = ["gradient_batch", "value_and_gradient_batch", "jacobian_batch", "hvp_batch"]


def _check_device(device, name):
    if device == "cpu":
        return
    if device == "cuda":
        raise NotImplementedError(
            f"numad: {name}(device='cuda'): numad's numba.cuda kernels are not built yet; "
            "use device='cpu' (the batch runs on the CPU's cores)")
    raise ValueError(f"numad: {name}(device={device!r}): the devices are 'cpu' and 'cuda'")


def _axes(in_axes, nargs, name):
    if isinstance(in_axes, (int, np.integer)) or in_axes is None:
        axes = (in_axes,) * nargs
    else:
        axes = tuple(in_axes)
        if len(axes) != nargs:
            raise ValueError(f"numad: {name} has in_axes={in_axes!r} for {nargs} "
                             "positional arguments; give one entry per argument")
    if all(a is None for a in axes):
        raise ValueError(f"numad: {name} needs at least one batched argument (in_axes "
                         "all None)")
    return axes


def _rows(args, axes, name):
    """The arguments with their batch axes moved first, and the number of rows."""
    moved, sizes = [], set()
    for k, (arg, axis) in enumerate(zip(args, axes)):
        if axis is None:
            moved.append(arg)
            continue
        arr = np.asarray(arg)
        if arr.ndim == 0:
            raise ValueError(f"numad: {name}: argument {k} is batched (in_axes {axis}) but "
                             "is a scalar; give it a leading batch axis, or in_axes None")
        arr = np.moveaxis(arr, axis, 0)
        sizes.add(arr.shape[0])
        moved.append(arr)
    if len(sizes) > 1:
        raise ValueError(f"numad: {name}: the batched arguments have different numbers of "
                         f"rows {sorted(sizes)}")
    return moved, sizes.pop()


def _row(args, axes, i):
    return tuple(a if ax is None else (float(a[i]) if a.ndim == 1 else a[i])
                 for a, ax in zip(args, axes))


def _stack(results):
    """Row results (floats, arrays or pytrees of them) stacked leaf by leaf."""
    leaves0, treedef = flatten(results[0])
    per_row = [flatten(r)[0] for r in results]
    columns = [np.stack([np.asarray(row[k]) for row in per_row]) for k in range(len(leaves0))]
    return unflatten(treedef, columns)


def _batched(adapter, kind):
    name = f"nd.{kind}_batch"

    def transform(f, in_axes=0, device="cpu", compile=None, progress=False):
        _check_device(device, name)
        one_point = adapter(f, compile=compile)
        report = reporter(progress, name)

        @functools.wraps(f)
        def batched(*args, **kwargs):
            axes = _axes(in_axes, len(args), name)
            moved, rows = _rows(args, axes, name)
            if rows == 0:
                raise ValueError(f"numad: {name} got a batch of 0 rows")
            if report is not None:
                report(0, rows, "batch")
            fast = None
            if kind in ("gradient", "value_and_gradient") and not kwargs:
                fast = _kernel_batch(one_point.cache, moved, axes, kind)
            if fast is None:
                results = []
                for i in range(rows):
                    results.append(one_point(*_row(moved, axes, i), **kwargs))
                    if report is not None:
                        report(i + 1, rows, "batch")
                fast = _stack(results)
            elif report is not None:
                report(rows, rows, "batch")
            return fast

        return batched

    transform.__name__ = f"{kind}_batch"
    transform.__qualname__ = transform.__name__
    transform.__doc__ = f"""``{kind}_batch(f, in_axes=0, device="cpu", compile=None,
    progress=False)`` -> a function of the same arguments as ``nd.{kind}(f)``'s, each
    batched argument with one more axis (the rows, where ``in_axes`` says), returning
    the stack of ``nd.{kind}(f)`` over the rows: ``jax.vmap`` of ``nd.{kind}(f)``.
    ``in_axes`` is an int (every positional argument batched along it) or one entry per
    positional argument (``None``: shared). ``progress`` as in ``nd.scan``, with the
    phase ``"batch"`` (``numad/progress.py``). See
    ``numad/batching.py``.

    Examples
    --------
    >>> import numad as nd, numpy as np
    >>> f = lambda x, a: a * np.sum(x ** 2)
    >>> nd.gradient_batch(f, in_axes=(0, None))(np.array([[1.0, 2.0], [3.0, 4.0]]), 0.5)
    array([[1., 2.],
           [3., 4.]])
    """
    return transform


def _kernel_batch(cache, moved, axes, kind):
    """The batch kernel's answer for one batched array argument and nothing else, on
    the adapter's cached tape (``cache``: its ``TapeCache``); None where it does not
    apply (the caller goes row by row)."""
    if len(moved) != 1 or axes[0] is None:
        return None
    X = moved[0]
    if not (isinstance(X, np.ndarray) and X.dtype == np.float64):
        return None
    tape = cache.tape_at((float(X[0]) if X.ndim == 1 else X[0],))
    if tape.stops or tape.stale() is not None:
        return None
    if len(tape.output_entries) != 1 or tape.size[tape.output_entries[0]] != 1:
        return None
    values, grads = tape.value_and_gradient_batch(X)
    return grads if kind == "gradient" else (values, grads)


gradient_batch = _batched(adapters.gradient, "gradient")
value_and_gradient_batch = _batched(adapters.value_and_gradient, "value_and_gradient")
jacobian_batch = _batched(adapters.jacobian, "jacobian")
hvp_batch = _batched(adapters.hvp, "hvp")
