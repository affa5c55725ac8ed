"""How a tape runs the entries whose derivative rule is the user's own.

``nd.custom_vjp``, ``nd.custom_jvp`` and ``nd.primitive`` (``numad/custom.py``) record
one ``custom`` entry per call: its inputs are traced entries, its value is the call's
outputs packed into one flat array (each output a window of it). The compiled sweeps
stop at such an entry, as they stop at a loop, and a ``CustomRun`` runs the rule there:
the user's forward function on the inputs' current values, the user's reverse rule on
the entry's adjoint, the tangent rule on the inputs' tangents. A run belongs to one
working copy of the tape (one thread), so what the forward leaves for the reverse (the
residuals) is never shared between threads.

This module knows only the tape's arrays and the call's description (``Call``); the
rules themselves are methods of the rule objects of ``numad/custom.py``.
"""
from __future__ import annotations

import numpy as np

from .errors import ControlFlowChanged
from .pytree import flatten, unflatten


class Call:
    """One recorded call: which leaves of its arguments are tape entries, and the
    structure of what it returned.

    ``slots`` has one item per leaf of the arguments: an int (the position in
    ``in_entries`` of the entry that leaf is) or ``("const", value)`` for a leaf that
    was not traced (a constant of the call, or a setting such as an int)."""

    def __init__(self, rule, arg_treedef, slots, in_entries, in_shapes, out_treedef,
                 out_shapes):
        self.rule = rule
        self.name = rule.name
        self.arg_treedef = arg_treedef
        self.slots = slots
        self.in_entries = list(in_entries)
        self.in_shapes = list(in_shapes)
        self.out_treedef = out_treedef
        self.out_shapes = list(out_shapes)
        self.out_sizes = [int(np.prod(s, dtype=np.int64)) for s in out_shapes]

    def arguments(self, inputs):
        """The call's positional arguments, with ``inputs`` (one per input entry) in
        the traced leaves' places."""
        leaves = [inputs[s] if isinstance(s, int) else s[1] for s in self.slots]
        return unflatten(self.arg_treedef, leaves)

    def pack(self, out):
        """The flat value of the entry from the outputs ``out``; refuses outputs of
        another structure or shape than the recorded ones."""
        leaves, treedef = flatten(out)
        shapes = [np.shape(leaf) for leaf in leaves]
        if treedef != self.out_treedef or shapes != self.out_shapes:
            raise ControlFlowChanged(
                f"numad: {self.name} returned outputs structured as {treedef} with shapes "
                f"{shapes} where it was recorded returning {self.out_treedef} with shapes "
                f"{self.out_shapes}; a function with a rule of its own must keep the "
                "structure of its outputs. Trace again (nd.gradient does so itself)")
        if len(leaves) == 1:
            return np.asarray(leaves[0], dtype=np.float64).ravel()
        return np.concatenate([np.asarray(leaf, dtype=np.float64).ravel() for leaf in leaves])

    def unpack(self, flat, window):
        """The outputs' structure rebuilt from the flat ``flat``; ``window(flat, start,
        stop, shape)`` cuts one output out (NumPy slicing, or traced slicing)."""
        leaves, start = [], 0
        for shape, n in zip(self.out_shapes, self.out_sizes):
            leaves.append(window(flat, start, start + n, shape))
            start += n
        return unflatten(self.out_treedef, leaves)


def numpy_window(flat, start, stop, shape):
    piece = flat[start:stop]
    return float(piece[0]) if shape == () else piece.reshape(shape).copy()


class CustomRun:
    """The run of one ``custom`` entry ``p`` in one working copy of a tape."""

    def __init__(self, p, call):
        self.p = self.bs = p   # (the sweeps run up to bs and resume after p, as for a loop)
        self.call = call
        self.state = None      # what the rule's forward left for its reverse and tangent

    def _inputs(self, tape):
        return [np.array(tape.entry_value(e), dtype=np.float64) if tape.shape_of(e) != ()
                else float(tape.entry_value(e)) for e in self.call.in_entries]

    def forward(self, tape):
        """Run the rule's forward at the inputs' current values into the entry's value.
        Returns -1 (a rule has no recorded branch decisions: it runs its own Python)."""
        args = self.call.arguments(self._inputs(tape))
        out, residuals = self.call.rule.forward(self.call, args)
        flat = self.call.pack(out)
        o, n = tape.off[self.p], tape.size[self.p]
        tape.vals[o:o + n] = flat
        self.state = (args, out, residuals)
        return -1

    def _ready(self, tape):
        if self.state is None:
            self.forward(tape)
        return self.state

    def reverse(self, tape, adj):
        """Add the input adjoints the rule gives for the entry's adjoint. Returns -1."""
        args, out, residuals = self._ready(tape)
        o, n = tape.off[self.p], tape.size[self.p]
        g = self.call.unpack(adj[o:o + n].copy(), numpy_window)
        cotangents = self.call.rule.reverse(self.call, residuals, args, out, g)
        for e, shape, c in zip(self.call.in_entries, self.call.in_shapes, cotangents):
            if c is None:
                continue
            c = np.asarray(c, dtype=np.float64)
            if c.shape != shape and c.size != int(np.prod(shape, dtype=np.int64)):
                raise ValueError(f"numad: the reverse rule of {self.call.name} returned a "
                                 f"cotangent of shape {c.shape} for an input of shape {shape}")
            oe, ne = tape.off[e], tape.size[e]
            adj[oe:oe + ne] += c.ravel()
        return -1

    def tangents(self, tape, tan, L):
        """The entry's tangents (``L`` lanes) from its inputs' tangents. Returns -1."""
        args, out, residuals = self._ready(tape)
        lanes = [tan[tape.off[e] * L:(tape.off[e] + tape.size[e]) * L].reshape(-1, L)
                 for e in self.call.in_entries]
        o, n = tape.off[self.p], tape.size[self.p]
        mine = tan[o * L:(o + n) * L].reshape(n, L)
        for lane in range(L):
            t = [block[:, lane].reshape(shape) if shape != () else float(block[0, lane])
                 for block, shape in zip(lanes, self.call.in_shapes)]
            mine[:, lane] = self.call.pack(
                self.call.rule.tangent(self.call, residuals, args, out, t))
        return -1
