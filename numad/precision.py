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
    to (the derivative has the argument's structure)."""
    arg_leaves, _ = flatten(argument)
    if all(_float_dtype(a) in (None, _FLOAT64) for a in arg_leaves):
        return derivative
    leaves, treedef = flatten(derivative)
    if len(leaves) != len(arg_leaves):
        return derivative
    return unflatten(treedef, [leaf if _float_dtype(a) in (None, _FLOAT64)
                               else _cast(leaf, _float_dtype(a))
                               for leaf, a in zip(leaves, arg_leaves)])


def _cast(leaf, dtype):
    if isinstance(leaf, np.ndarray):
        return leaf.astype(dtype, copy=False) if leaf.dtype.kind == "f" else leaf
    if isinstance(leaf, (float, np.floating)):
        return dtype.type(leaf)
    return leaf
