"""Batched transformations: an adapter mapped over a leading axis of its arguments.

``nd.gradient_batch(f, in_axes)(X, A)`` is, as ``jax.vmap(nd.gradient(f), in_axes)``
would be, the stack of ``nd.gradient(f)(X[i], A[i])`` over the rows ``i`` of the
batched arguments (``in_axes``: an int for every argument, or one entry per positional
argument, ``None`` for an argument shared by every row; a batched argument may be a
pytree, every leaf with the axis). Keyword arguments are shared.

How the rows run (``numad/batches.py``):

* ``gradient_batch`` and ``value_and_gradient_batch``: the adapter's cached tape is
  swept over all rows by the batch kernel, blocks of rows on every core
  (numad/batch_kernels.py), with the tape's own compiled code where ``compile`` says
  the rows repay it; ``device="cuda"`` sweeps them on the GPU, one thread a row
  (numad/cuda_batch.py). Rows whose branch decisions differ from the recorded ones are
  answered on their own path (one trace per path met, not per row);
* tapes with an ``nd.scan`` or a custom rule, ``jacobian_batch`` and ``hvp_batch``
  go one row at a time through the matching cached adapter, which replays one tape
  and traces again where a row's branches differ.

Either way every row's answer is the one-point answer at that row, never the recorded
row's. ``transform.last_batch_info`` (per thread) says how the last call's rows went.
"""
from __future__ import annotations

import functools

import numpy as np

from . import adapters, batches
from .nested import any_traced
from .cuda_batch import check_device
from .precision import answer_dtype, in_dtype, like_argument
from .tracer import record
from .transforms import keywords_last
from .pytree import flatten, unflatten
from .progress import reporter

__all__ = ["gradient_batch", "value_and_gradient_batch", "jacobian_batch", "hvp_batch"]


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


def _rows_first(args, axes, name):
    """The arguments with every batched leaf's batch axis moved first."""
    moved = []
    for k, (arg, axis) in enumerate(zip(args, axes)):
        if axis is None:
            moved.append(arg)
            continue
        leaves, treedef = flatten(arg)
        out = []
        for leaf in leaves:
            arr = np.asarray(leaf)
            if arr.ndim == 0:
                raise ValueError(f"numad: {name}: argument {k} is batched (in_axes {axis}) "
                                 "but is a scalar; give it a leading batch axis, or "
                                 "in_axes None")
            if not -arr.ndim <= axis < arr.ndim:
                raise ValueError(f"numad: {name}: in_axes {axis} for argument {k} of shape "
                                 f"{arr.shape}")
            out.append(np.moveaxis(arr, axis, 0) if axis != 0 else arr)
        moved.append(unflatten(treedef, out))
    return tuple(moved)


def _stack(results):
    """Row results (floats, arrays or pytrees of them) stacked leaf by leaf."""
    leaves0, treedef = flatten(results[0])
    per_row = [flatten(r)[0] for r in results]
    columns = [np.stack([np.asarray(row[k]) for row in per_row]) for k in range(len(leaves0))]
    return unflatten(treedef, columns)


def _batched(adapter, kind):
    name = f"nd.{kind}_batch"

    def transform(f, in_axes=0, device="cpu", compile=None, progress=False):
        check_device(device, name)
        one_point = adapter(f, compile=compile)
        report = reporter(progress, name)
        last = batches.LastInfo()

        @functools.wraps(f)
        def batched(*args, **kwargs):
            axes = _axes(in_axes, len(args), name)
            moved = _rows_first(args, axes, name)
            batch = batches.Batch(moved, [a is not None for a in axes], name)
            rows = batch.rows
            if report is not None:
                report(0, rows, "batch")
            tell = None if report is None else (lambda done, n: report(done, n, "batch"))
            if kind in ("gradient", "value_and_gradient") and not any_traced((args, kwargs)):
                result, info = _by_kernel(one_point.cache, batch, kwargs, kind, device,
                                          tell)
                # (the values in NumPy's promotion of every input, each gradient in its
                # argument's float type, as nd.value_and_gradient gives them)
                if kind == "gradient":
                    result = like_argument(result, args[0])
                else:
                    result = (in_dtype(result[0], answer_dtype((args, kwargs))),
                              like_argument(result[1], args[0]))
            else:
                if device == "cuda":
                    raise NotImplementedError(
                        f"numad: {name}(device='cuda'): the GPU runs gradient_batch and "
                        "value_and_gradient_batch; use device='cpu' for this transform")
                results = []
                for i in range(rows):
                    results.append(one_point(*batch.row(i), **kwargs))
                    if report is not None:
                        report(i + 1, rows, "batch")
                result = _stack(results)
                info = batches.BatchInfo(rows=rows, row_by_row=rows, device=device)
            last.info = info
            if report is not None:
                report(rows, rows, "batch")
            return result

        batched.cache = one_point.cache
        return _Transform(batched, last)

    transform.__name__ = f"{kind}_batch"
    transform.__qualname__ = transform.__name__
    transform.__doc__ = _doc(kind)
    return transform


# what each batched transformation's function returns, and its example
_RESULT = {
    "gradient": ("ndarray", "The gradients, one row per batch row: an array of shape "
                 "``(rows,) + x.shape``."),
    "value_and_gradient": ("tuple of ndarray", "``(values, gradients)``: the values, shape "
                           "``(rows,)``, and the gradients, shape ``(rows,) + x.shape``."),
    "jacobian": ("ndarray", "The Jacobians, one per batch row: shape ``(rows,) + "
                 "f(x).shape + x.shape``."),
    "hvp": ("ndarray", "The Hessian-vector products, one row per batch row: shape "
            "``(rows,) + x.shape``."),
}
_EXAMPLE = {
    "gradient": """>>> f = lambda x, a: a * np.sum(x ** 2)
>>> nd.gradient_batch(f, in_axes=(0, None))(np.array([[1.0, 2.0], [3.0, 4.0]]), 0.5)
array([[1., 2.],
       [3., 4.]])""",
    "value_and_gradient": """>>> f = lambda x, a: a * np.sum(x ** 2)
>>> values, grads = nd.value_and_gradient_batch(f, in_axes=(0, None))(
...     np.array([[1.0, 2.0], [3.0, 4.0]]), 0.5)
>>> values
array([ 2.5, 12.5])
>>> grads
array([[1., 2.],
       [3., 4.]])""",
    "jacobian": """>>> nd.jacobian_batch(lambda x: x ** 2)(np.array([[1.0, 2.0], [3.0, 4.0]]))
array([[[2., 0.],
        [0., 4.]],
<BLANKLINE>
       [[6., 0.],
        [0., 8.]]])""",
    "hvp": """>>> X, P = np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2))
>>> nd.hvp_batch(lambda x: np.sum(x ** 3))(X, P)      # H = diag(6 x)
array([[ 6., 12.],
       [18., 24.]])""",
}


def _doc(kind):
    """The numpydoc docstring of ``nd.{kind}_batch``."""
    returns_type, returns = _RESULT[kind]
    cuda = ("``\"cuda\"`` runs one GPU thread per row (``numba.cuda`` kernels; optional "
            "extra ``cuda``; without it or without a GPU, a clear error)" if kind in
            ("gradient", "value_and_gradient") else
            "``\"cuda\"`` is refused with ``NotImplementedError`` (the GPU runs "
            "``gradient_batch`` and ``value_and_gradient_batch``)")
    example = "\n    ".join(_EXAMPLE[kind].split("\n"))
    return f"""``nd.{kind}(f)`` mapped over a leading axis of its arguments: ``jax.vmap`` of it.

    The returned function takes the arguments of ``nd.{kind}(f)``'s function, each
    batched argument with one more axis (the rows, where ``in_axes`` says), and returns
    the stack of ``nd.{kind}(f)`` over the rows. Rows whose branch decisions differ
    from the first row's are still answered correctly (by their own tapes). Tapes
    holding ``nd.scan`` loops are taken too.

    Parameters
    ----------
    f : callable
        The function, as ``nd.{kind}`` takes it: ``f(x, *args, **kwargs)``. Keyword
        arguments are shared by every row.
    in_axes : int or tuple of (int or None), optional
        The batch axis of the positional arguments: an int (every positional argument
        batched along it; default 0), or one entry per positional argument, ``None``
        for an argument shared by every row. A batched argument may be a pytree, every
        leaf with that axis; a scalar cannot be batched (``ValueError``).
    device : {{"cpu", "cuda"}}, optional
        ``"cpu"`` (the default) runs blocks of rows in parallel on every core; {cuda}.
    compile : {{"auto", "always", "never"}}, optional
        As in ``nd.{kind}``; None (the default) takes ``nd.config.compile``.
    progress : bool or callable, optional
        ``True`` shows a progress bar (tqdm, optional) over the rows; a callable
        receives ``(done, total, "batch")``; ``False`` (the default) reports nothing.

    Returns
    -------
    callable
        ``batched(*args, **kwargs)`` -> {returns_type}. {returns} Its attribute
        ``last_batch_info`` (per thread) says how many rows of the last call took
        another branch path than the first row, or went one at a time.

    See Also
    --------
    {kind}

    Examples
    --------
    >>> import numad as nd, numpy as np
    {example}
    """

class _Transform:
    """A batched transformation: call it as the function it wraps;
    ``last_batch_info`` is this thread's ``BatchInfo`` of its last call."""

    def __init__(self, fn, last):
        self._fn, self._last = fn, last
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    @property
    def last_batch_info(self):
        return self._last.info


def _by_kernel(cache, batch, kwargs, kind, device, report):
    """The batch engine on the adapter's cached tapes (keyword arguments are a shared
    last argument of those tapes)."""
    f = keywords_last(cache.f) if kwargs else cache.f
    if kwargs:
        batch = batches.Batch(batch.args + (kwargs,), batch.batched + (False,), batch.name)

        def tape_at(row):
            return cache.tape_at(row[:-1], row[-1])
    else:
        def tape_at(row):
            return cache.tape_at(row)

    def retrace(row):
        return record(f, row, input_argnums=(0,), others_static=False, name=cache.name)

    first = tape_at(batch.row(0))
    first.scalar_output(f"nd.{kind}_batch")
    values, grads, info = batches.run(batch, first, tape_at, True, 0, device, report,
                                      retrace)
    G = batches.gradients_of_rows(first, grads, 0, batch.rows)
    if kind == "gradient":
        return G, info
    return (values[:, 0].copy(), G), info


gradient_batch = _batched(adapters.gradient, "gradient")
value_and_gradient_batch = _batched(adapters.value_and_gradient, "value_and_gradient")
jacobian_batch = _batched(adapters.jacobian, "jacobian")
hvp_batch = _batched(adapters.hvp, "hvp")
