"""Pytrees: nestings of tuples (namedtuples too), lists and dicts (OrderedDicts too)
whose leaves are floats and arrays.

``flatten`` turns a point into a list of leaves and a hashable description of its
structure; ``unflatten`` builds the same structure around new leaves. Derivatives are
returned in the structure of the argument they belong to.
"""
from __future__ import annotations

import collections

import numpy as np

LEAF = "*"


def flatten(tree):
    """Return ``(leaves, treedef)``; ``treedef`` is hashable and compares by structure."""
    leaves = []
    treedef = _flatten_into(tree, leaves)
    return leaves, treedef


def _flatten_into(tree, leaves):
    if isinstance(tree, (tuple, list)):
        if hasattr(tree, "_fields"):   # a namedtuple: rebuilt as its own class
            return ("namedtuple", type(tree), tuple(_flatten_into(t, leaves) for t in tree))
        kind = "tuple" if isinstance(tree, tuple) else "list"
        return (kind, tuple(_flatten_into(t, leaves) for t in tree))
    if isinstance(tree, dict):
        keys = tuple(tree.keys())
        # (an OrderedDict comes back an OrderedDict; other dicts as dicts)
        kind = "ordered" if isinstance(tree, collections.OrderedDict) else "dict"
        return (kind, keys, tuple(_flatten_into(tree[k], leaves) for k in keys))
    if tree is None:
        return ("none",)
    leaves.append(tree)
    return LEAF


def unflatten(treedef, leaves):
    """Build the structure ``treedef`` describes around ``leaves`` (an iterable)."""
    it = iter(leaves)
    out = _build(treedef, it)
    return out


def _build(treedef, it):
    if treedef == LEAF:
        return next(it)
    kind = treedef[0]
    if kind == "tuple":
        return tuple(_build(t, it) for t in treedef[1])
    if kind == "list":
        return [_build(t, it) for t in treedef[1]]
    if kind == "dict":
        return {k: _build(t, it) for k, t in zip(treedef[1], treedef[2])}
    if kind == "namedtuple":
        return treedef[1](*(_build(t, it) for t in treedef[2]))
    if kind == "ordered":
        return collections.OrderedDict((k, _build(t, it)) for k, t in zip(treedef[1],
                                                                          treedef[2]))
    return None


_COMPLEX_MESSAGE = ("numad: {what} is complex ({kind}); numad differentiates real "
                    "float64 functions. Pass the real and imaginary parts as float arrays "
                    "(x.real, x.imag) and build the complex value from them inside f")


def refuse_complex(leaf, what="an argument"):
    from .errors import TracingError

    raise TracingError(_COMPLEX_MESSAGE.format(what=what, kind=type(leaf).__name__ if not
                                               isinstance(leaf, np.ndarray) else
                                               f"an array of dtype {leaf.dtype}"))


def leaf_is_differentiable(leaf, what="an argument"):
    """Floats and float arrays are inputs; ints, bools, strings, objects are settings.
    Complex numbers are refused (numad's API reference: a TracingError that says so,
    naming ``what``: the argument, and the function where the caller knows it)."""
    if isinstance(leaf, (complex, np.complexfloating)) or (
            isinstance(leaf, np.ndarray) and leaf.dtype.kind == "c"):
        refuse_complex(leaf, what)
    if isinstance(leaf, bool) or isinstance(leaf, np.bool_):
        return False
    if isinstance(leaf, (float, np.floating)):
        return True
    if isinstance(leaf, np.ndarray):
        return leaf.dtype.kind == "f"
    return False


def as_float_array(leaf, what="argument"):
    """A float64 copy of a numeric leaf; complex numbers are refused."""
    arr = np.asarray(leaf)
    if arr.dtype.kind == "c":
        refuse_complex(leaf, what)
    if arr.dtype.kind not in "fiub":
        from .errors import TracingError

        raise TracingError(f"numad: {what} of type {type(leaf).__name__} is not a number or "
                        "a numeric array")
    return np.array(arr, dtype=np.float64)


def real_values(value, what="a value"):
    """``value`` as a float64 array (no copy where it is one); complex numbers are
    refused, never dropped to their real parts."""
    arr = np.asarray(value)
    if arr.dtype.kind == "c":
        refuse_complex(value, what)
    return arr if arr.dtype == np.float64 else arr.astype(np.float64)


def like_leaf(value, leaf):
    """``value`` given the type of ``leaf``: a Python float for a scalar leaf."""
    if isinstance(leaf, np.ndarray):
        return np.asarray(value, dtype=np.float64).reshape(leaf.shape)
    return float(np.asarray(value).reshape(()))
