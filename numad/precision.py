"""The float type of the answers: float32 inputs get float32 answers.

numad's tapes, kernels and compiled code work in float64 (one compiled sweep serves every
tape; a float32 copy of each would double the compilation). numad's API promises that
float32 inputs be differentiated in float32 and that mixed inputs follow NumPy's
promotion rules, so the transformations round their answers at the end:

* a derivative has the float type of the argument it belongs to (a float32 array's
  gradient is a float32 array, a float64 one's float64, a Python float's a Python
  float);
* a value, a Jacobian, a Hessian or a Hessian-vector product has the type NumPy's
  promotion gives the float inputs: float32 when every float array or NumPy float
  scalar among them is float32 (Python floats and ints do not widen it, as in NumPy
  2), float64 as soon as one is float64.

The numbers are the float64 computation's, rounded once: as accurate as float32 can hold,
and no less accurate than a float32 evaluation would be (it would round at every step).
"""
from __future__ import annotations

import numpy as np

from .pytree import flatten, unflatten

__all__ = ["answer_dtype", "in_dtype", "like_argument"]

_FLOAT64 = np.dtype(np.float64)


def _float_dtype(leaf):
    if isinstance(leaf, np.ndarray):
        return leaf.dtype if leaf.dtype.kind == "f" else None
    if isinstance(leaf, np.floating):
        return leaf.dtype
    return None


def answer_dtype(args):
    """The float type narrower than float64 that the answers for ``args`` take, or None
    (float64: nothing to round)."""
    found = None
    for leaf in flatten(args)[0]:
        dtype = _float_dtype(leaf)
        if dtype is None:
            continue
        if dtype == _FLOAT64:
            return None
        found = dtype if found is None else np.promote_types(found, dtype)
    return None if found is None or found.itemsize >= 8 else found


def in_dtype(result, dtype):
    """``result`` (a float, an array, or a pytree of them) in ``dtype``; as it is where
    ``dtype`` is None."""
    if dtype is None:
        return result
    leaves, treedef = flatten(result)
    return unflatten(treedef, [_cast(leaf, dtype) for leaf in leaves])


def like_argument(derivative, argument):
    """``derivative`` with each leaf in the float type of the argument's leaf it belongs
    to (the derivative has the argument's structure), and a 0-d array where that leaf
    is a 0-d array (the tapes hold a 0-d input as a scalar)."""
    if type(argument) is np.ndarray and argument.ndim and argument.dtype == _FLOAT64:
        return derivative   # (the hot case)
    arg_leaves, _ = flatten(argument)
    if all(_float_dtype(a) in (None, _FLOAT64) and not _zero_d(a) for a in arg_leaves):
        return derivative
    leaves, treedef = flatten(derivative)
    if len(leaves) != len(arg_leaves):
        return derivative
    return unflatten(treedef, [_like_leaf(leaf, a) for leaf, a in zip(leaves, arg_leaves)])


def _zero_d(leaf):
    return isinstance(leaf, np.ndarray) and leaf.ndim == 0


def _like_leaf(derivative, leaf):
    dtype = _float_dtype(leaf)
    if dtype not in (None, _FLOAT64):
        derivative = _cast(derivative, dtype)
    if _zero_d(leaf) and not isinstance(derivative, np.ndarray):
        derivative = np.asarray(derivative, dtype=dtype if dtype is not None else _FLOAT64)
    return derivative


def _cast(leaf, dtype):
    if isinstance(leaf, np.ndarray):
        return leaf.astype(dtype, copy=False) if leaf.dtype.kind == "f" else leaf
    if isinstance(leaf, (float, np.floating)):
        return dtype.type(leaf)
    return leaf
