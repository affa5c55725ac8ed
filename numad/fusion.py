"""Fused array loops: a vectorized tape's gradient as a few compiled loops.

Vectorized NumPy code records one tape entry per NumPy operation, and the generic
sweeps run one kernel per entry, each writing a full temporary. ``fused_source``
writes such a tape instead as its own ``@njit`` code (compiled and cached by
``numad/tape_compiler.py``, like the scalar tapes' code) in which each *chain* of
elementwise entries over arrays of one length, with the sums that end it, is one loop:

* **forward**: one ``for k in range(n)`` computes element ``k`` of every entry of the
  chain in locals; it stores into the values buffer only the entries read outside the
  chain (by a later chain, an index, a scalar statement or the output). A sum
  accumulates in eight lanes, then the rest, then the lanes pairwise, the generic
  kernel's order, so that its value is the generic sweep's to the last bit (the loop
  is unrolled by eight for it). Scalar entries are straight-line statements.
* **reverse**: one loop per chain again, which *recomputes* the chain's values from what
  the chain read (its inputs, stored entries of earlier chains, broadcast scalars) and
  takes the partials from the op table's formulas. The cost rule: recomputing an
  elementwise operation costs a few flops, reading a stored value costs a memory
  stream as long as the array, so every value inside a chain is recomputed and only
  the values read outside it are stored. Adjoints inside a chain are locals; those of
  arrays outside it (inputs, stored entries) are accumulated in place in the adjoint
  buffer, zeroed once at the start; a broadcast scalar's contributions are summed in a
  local per entry and operand, as the generic kernel sums them.
* where ``value`` is false (``nd.gradient``), a chain whose values only the output's
  value needs (no guard, no partial of the reverse part reads them) is skipped: the
  reverse loop needs only what the chain read. Vectorized Rosenbrock's gradient is then
  one loop over ``x``.

* from ``optable.NUMPY_LOOP_MIN`` elements on, an entry of a row in
  ``optable.NUMPY_LOOP_ROWS`` (tanh, exp, log and the other functions NumPy computes
  with SIMD, several times as fast as numba's libm calls) ends its chain: the loop
  stores its operand, and NumPy's loop computes it after the loop (``numpy_call``,
  through ``numba.objmode``), as the generic forward sweep does; its reverse, a few
  flops on the stored value, stays in the chain's reverse loop. The two-layer tanh
  network's gradient went from 2.2 to 0.9 ms so (NumPy backpropagation: 0.8 ms).

Slices by constants (``x[1:]``, ``x[:-1]``) are windows of the values buffer, so they
are offset reads inside a loop, not copies. A chain ends where a later entry reads one
of its values at another position (an index or a slice of it), where an entry reads
one of its sums, or where the length changes.

Numbers: every value is the generic sweep's bit for bit, and so is an adjoint element
that receives its contributions in the generic sweep's order. Two cases reorder them,
so that an adjoint can differ in the last bits (a reassociated sum): an array that one
loop reads through windows at different offsets (element ``j`` of ``x`` gets what
``x[1:]`` adds in pass ``j - 1`` before what ``x[:-1]`` adds in pass ``j``, whatever
the order of their entries; where an element gets two contributions in all, as in the
vectorized Rosenbrock, swapping them rounds the same), and a scalar broadcast into a
chain (its contributions are summed in a local, then added; the generic ``where`` adds
them one by one, and a scalar statement recorded among the chain's entries may add its
own in between).

Parallel loops: the adapters' direct code (``direct``) runs a chain's loop of at least
``PARALLEL_MIN`` elements as blocks of ``BLOCK`` passes in parallel (``prange``), a
reverse loop that adds through windows in two phases (even blocks, then odd), so that
neighbouring blocks never add to one element at once. The blocks are a function of the
length alone, and no sum is split among them (a loop that ends in a sum or adds into a
broadcast scalar's adjoint stays one loop), so the numbers are the same with one thread
and with many; the two phases add an odd block's first element's contributions in
another order than one loop does (the window case above: a last-bit difference).

What fuses: inputs, constants, slices (windows), elementwise operations of one row of
the op table on arrays of one length with scalars broadcast, ``where`` (so ``maximum``
with a constant, ``clip``, a ReLU), full sums, and guards;
``fused_plan`` names what else a tape holds. Matrix products, linear algebra and the
other structural entries stay outside (their tapes replay on the generic sweeps).
"""
from __future__ import annotations

import bisect
import copy

import numpy as np

from ._codegen import formula
from .optable import (ELEMENTWISE, N_ELEMENTWISE, NUMPY_LOOP, NUMPY_LOOP_MIN, OPCODES,
                      OPNAMES)

_INPUT = OPCODES["input"]
_CONST = OPCODES["const"]
_ALIAS = OPCODES["alias"]
_GUARD = OPCODES["guard"]
_SUM = OPCODES["sum"]
_WHERE = OPCODES["where"]
_GATHER = OPCODES["gather"]
_MATMUL = OPCODES["matmul"]

# A tape with an array entry of at least this many elements is written as fused loops
# (shorter arrays are written one statement per element by tape_compiler's scalar path).
FUSE_MIN = 64
LANES = 8   # the generic sum's accumulators (structural_kernels.forward_reduce)
# The adapters' direct code runs the loops of chains of at least PARALLEL_MIN elements
# as blocks of BLOCK passes on every core (numba's prange): the blocks depend on the
# length only, never on the number of threads, and no sum is split among them (a
# chain that ends in a sum, or adds into a broadcast scalar's adjoint, keeps one
# loop), so the numbers are the same with one thread and with many.
PARALLEL_MIN = 2 ** 17
BLOCK = 2 ** 15

# The cost rule of the reverse loops: an entry of these (a few flops) is computed again
# from its operands; any other (a call to exp, tanh, ndtr, pow: tens of cycles each, as
# numba calls libm one element at a time) is stored by the forward loop and read back,
# one memory stream. Measured on a tanh layer of 10^5 elements: recomputing tanh made
# the fused gradient slower than the generic sweeps (4.4 against 3.4 ms).
CHEAP = {"neg", "add", "sub", "mul", "div", "square", "reciprocal", "abs", "maximum",
         "minimum", "copy", "stop_gradient", "sign", "floor", "ceil", "round", "trunc",
         "greater", "greater_equal", "less", "less_equal", "equal", "not_equal",
         "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isfinite"}


class _Chain:
    """Entries (elementwise ones of ``n`` elements, and sums of ``n`` elements) that one
    loop computes, in tape order."""

    def __init__(self, n):
        self.n = n
        self.m = None   # the row length its broadcasts read (a bias added to every row)
        self.members = []
        self.computed = set()
        self.numpy = None   # its last member, where NumPy's loop computes that one

    def add(self, i):
        self.members.append(i)
        self.computed.add(i)


class FusedPlan:
    """How a tape becomes fused loops: ``items`` in order, each ``("scalar", i)``,
    ``("guard", i)`` or a ``_Chain``. ``why`` is None, or why the tape does not fuse."""

    def __init__(self, tape):
        self.tape = tape
        self.why = None
        self.direct = None
        self.parallel = False   # (blocks on every core: the direct code's loops)
        self.unsigned = set()   # (the passes' names that are unsigned: see mem)
        self.touched = None   # (the slots the code reads and writes, while collected)
        self.layout = None
        self._compact = None   # (compact_layout's answer, once asked)
        self.hoisted = set()
        self.element_loads = {}
        try:
            self._analyse()
        except _NotFused as e:
            self.why = str(e)

    # ---- analysis ----

    def root(self, e):
        """The entry whose values ``e`` is a window of (``e`` itself unless an alias)."""
        op, args = self.tape.op, self.tape.args
        while op[e] == _ALIAS:
            e = int(args[e, 0])
        return e

    def operands(self, i):
        o = int(self.tape.op[i])
        if o == _MATMUL:
            return [int(self.tape.args[i, 0]), int(self.tape.args[i, 1])]
        if o == _WHERE:   # (condition, taken where it is nonzero, taken elsewhere)
            return [int(self.tape.args[i, 0]), int(self.tape.args[i, 1]),
                    int(self.tape.params[self.tape.pstart[i]])]
        arity = ELEMENTWISE[o].arity if o < N_ELEMENTWISE else 1
        return [int(self.tape.args[i, k]) for k in range(arity)]

    def has_partial(self, i, k):
        """Whether entry ``i`` has a partial in its operand k (a window, a sum, a
        gather and a matrix product in each)."""
        o = int(self.tape.op[i])
        if o == _WHERE:
            return k > 0
        return ELEMENTWISE[o].partials[k] is not None if o < N_ELEMENTWISE else True

    def value_expr(self, i, operands):
        """The expression of entry ``i``'s value from its operands' expressions."""
        o = int(self.tape.op[i])
        if o == _GATHER:
            return operands[0]
        if o == _WHERE:
            c, x, z = operands
            return f"({x} if {c} != 0.0 else {z})"
        return formula(ELEMENTWISE[o].value, dict(zip("ab", operands)))

    def terms(self, i, operands, y, g, scalar):
        """[(operand k, its contribution)] of entry ``i``'s adjoint ``g`` to the operands
        with a partial. As the generic sweeps: ``where`` gives the whole adjoint to the
        side taken; a partial that may be inf or nan at finite values contributes
        exactly 0 where ``g`` is 0 (scalar entries: also where the partial is 0); other
        partials are multiplied as they are (see ``nan_check``)."""
        o = int(self.tape.op[i])
        if o == _GATHER:
            return [(0, g)]
        if o == _WHERE:
            c = operands[0]
            return [(1, f"({g} if {c} != 0.0 else 0.0)"), (2, f"(0.0 if {c} != 0.0 else {g})")]
        row = ELEMENTWISE[o]
        names = dict(zip("ab", operands), y=y)
        out = []
        for k in range(row.arity):
            if row.partials[k] is None:
                continue
            d = formula(row.partials[k], names)
            if not row.may_be_infinite[k]:
                out.append((k, f"{g} * ({d})"))
            elif scalar:
                out.append((k, f"({g} * ({d}) if ({g} != 0.0 and ({d}) != 0.0) else 0.0)"))
            else:
                out.append((k, f"select({g} != 0.0, {g} * ({d}), 0.0)"))
        return out

    def _analyse(self):
        tape = self.tape
        op, size, args, params, pstart = tape.op, tape.size, tape.args, tape.params, tape.pstart
        if tape.stops:
            raise _NotFused("it contains a scan loop or a call with a rule of its own")
        if len(tape.output_entries) != 1 or size[tape.output_entries[0]] != 1:
            raise _NotFused("its output is not one scalar")
        items, chain = [], None
        self.chain_of = {}

        def close():
            nonlocal chain
            if chain is not None:
                items.append(chain)
                for e in chain.members:
                    self.chain_of[e] = chain
            chain = None

        def reads_chain(entries):
            return chain is not None and any(self.root(e) in chain.computed for e in entries)

        for i in range(len(op)):
            o = int(op[i])
            if o in (_INPUT, _CONST):
                continue
            if o == _ALIAS:
                if reads_chain([i]):   # another position of a chain's value: store it
                    close()
                continue
            if o == _GUARD:
                if reads_chain([int(args[i, 0])]):
                    close()
                items.append(("guard", i))
                continue
            if o == _SUM:
                p = int(pstart[i])
                pre, m, post = int(params[p]), int(params[p + 1]), int(params[p + 2])
                if pre * post != 1 or m < 2:
                    raise _NotFused("it has sums along an axis (only whole sums fuse)")
                n = m
            elif o == _MATMUL:
                p = int(pstart[i])
                if int(params[p]) != 1:
                    raise _NotFused("it has batched matrix products")
                if reads_chain(self.operands(i)):
                    close()
                items.append(("matmul", i))   # (a BLAS call between the loops)
                continue
            elif o == _GATHER:
                n, m = int(size[i]), int(size[args[i, 0]])
                index = params[int(pstart[i]):int(pstart[i]) + n]
                if m >= n or n % m or not np.array_equal(index, np.arange(n) % m):
                    raise _NotFused("it has gather entries other than a row broadcast "
                                    "(fancy indexing)")
                if m > 1 and chain is not None and chain.n == n and chain.m not in (None, m):
                    close()
                if m > 1 and reads_chain(self.operands(i)):
                    close()
            elif o < N_ELEMENTWISE or o == _WHERE:
                n = int(size[i])
                if n == 1:
                    if reads_chain(self.operands(i)):
                        close()
                    items.append(("scalar", i))
                    continue
                if any(int(size[e]) not in (1, n) for e in self.operands(i)):
                    raise _NotFused(f"{OPNAMES[o]} reads operands of other lengths")
            else:
                raise _NotFused(f"it has {OPNAMES[o]} entries (only elementwise operations, "
                                "where, slices, row broadcasts, whole sums and matrix "
                                "products fuse)")
            scalars = [e for e in self.operands(i) if int(size[e]) == 1]
            if chain is not None and (chain.n != n or reads_chain(scalars)):
                close()
            if chain is None:
                chain = _Chain(n)
            if o == _GATHER and int(size[args[i, 0]]) > 1:
                chain.m = int(size[args[i, 0]])
            chain.add(i)
            if self.takes_numpy_loop(i):
                # (computed after the loop from its stored operand: nothing after it
                # in this loop can read it)
                chain.numpy = i
                close()
        close()
        self.items = items
        self.blas = [item for item in items if not isinstance(item, _Chain)
                     and item[0] == "matmul"]
        self.out = int(tape.output_entries[0])
        self._readers()
        self._derivative_paths()
        self._needed_without_value()

    def _readers(self):
        """``stored``: the chains' entries read outside their chain."""
        tape = self.tape
        stored = set()
        for i in range(len(tape.op)):
            o = int(tape.op[i])
            if o in (_INPUT, _CONST):
                continue
            for e in self.operands(i):
                r = self.root(e)
                if r in self.chain_of and int(tape.op[r]) != _SUM and (
                        o == _ALIAS or self.chain_of.get(i) is not self.chain_of[r]):
                    stored.add(r)
        if self.root(self.out) in self.chain_of and int(tape.op[self.root(self.out)]) != _SUM:
            stored.add(self.root(self.out))
        for chain in set(self.chain_of.values()):   # (NumPy reads its operand from memory)
            if chain.numpy is not None:
                stored.update(self.root(e) for e in self.operands(chain.numpy)
                              if self.root(e) in self.chain_of)
        # (and the costly entries of chains, for their reverse loops: see CHEAP)
        self.kept = {i for chain in self.chain_of.values() for i in chain.members
                     if self.costly(i)}
        self.stored = stored | self.kept

    def takes_numpy_loop(self, i):
        """Whether entry ``i``'s values are NumPy's loop (as in the generic sweeps)."""
        o = int(self.tape.op[i])
        return o < N_ELEMENTWISE and bool(NUMPY_LOOP[o]) and int(self.tape.size[i]) >= NUMPY_LOOP_MIN

    def costly(self, i):
        o = int(self.tape.op[i])
        return o < N_ELEMENTWISE and ELEMENTWISE[o].name not in CHEAP

    def _derivative_paths(self):
        """``varies``: entries that depend on an input; ``on_path``: those of them the
        output depends on (only they get partials and adjoints). Windows count as their
        source."""
        tape = self.tape
        computes = [i for i in range(len(tape.op))
                    if int(tape.op[i]) not in (_INPUT, _CONST, _GUARD)]
        varies = {i for i in range(len(tape.op)) if int(tape.op[i]) == _INPUT}
        for i in computes:
            if any(self.root(e) in varies for k, e in enumerate(self.operands(i))
                   if self.has_partial(i, k)):
                varies.add(i)
        on_path = {self.root(self.out)} & varies
        for i in reversed(computes):
            if self.root(i) in on_path:
                on_path.update(self.root(e) for k, e in enumerate(self.operands(i))
                               if self.has_partial(i, k) and self.root(e) in varies)
        self.varies, self.on_path = varies, on_path

    def _reads_of(self, item):
        """The entries (roots) whose values an item reads from before it."""
        members = item.members if isinstance(item, _Chain) else [item[1]]
        return {self.root(e) for i in members for e in self.operands(i)} - (
            item.computed if isinstance(item, _Chain) else set())

    def _needed_without_value(self):
        """``must_run``: the chains whose forward loop runs even where ``value`` is
        false, because a guard or the reverse part reads what they make."""
        needed = set()
        for item in self.items:
            if isinstance(item, _Chain):
                if any(e in self.on_path for e in item.members):
                    # (its reverse loop recomputes from them, and reads what it kept)
                    needed |= self._reads_of(item) | (item.computed & self.kept)
            elif item[0] == "guard" or item[1] in self.on_path:
                needed |= self._reads_of(item) | {item[1]}
        self.must_run = set()
        for item in reversed(self.items):
            made = item.computed if isinstance(item, _Chain) else {item[1]}
            if made & needed:
                if isinstance(item, _Chain):
                    self.must_run.add(id(item))
                needed |= self._reads_of(item)

    # ---- code ----

    def where(self, buffer, slot):
        """(array, index) of ``slot`` in the values ("vals") or adjoints ("adj")
        buffer; in the direct variant (``self.direct``: the single input's slots), the
        input's own array ``x`` and the gradient ``g`` for the input's slots."""
        if self.direct is not None and self.direct[0] <= slot < self.direct[1]:
            return ("x" if buffer == "vals" else "g"), slot - self.direct[0]
        if self.touched is not None:
            self.touched.add(slot)
        if self.layout is not None:   # (the compact buffers: see compact_layout)
            return buffer, compact_slot(self.layout, slot)
        return buffer, slot

    def mem(self, buffer, slot, k=None):
        """``buffer[slot]``, or ``buffer[slot + k]`` (see ``where``). In a loop whose
        pass ``k`` is unsigned (``self.unsigned``), the index is unsigned too: numba
        then leaves out its check for a negative index, which kept LLVM from
        vectorizing the loop (blocks of the Rosenbrock gradient ran 4x slower)."""
        name, at = self.where(buffer, slot)
        if k is None:
            return f"{name}[{at}]"
        if k in self.unsigned:
            return f"{name}[{k} + np.uint64({at})]" if at else f"{name}[{k}]"
        return f"{name}[{at} + {k}]"

    def matrices(self, i, buffer):
        """The matrix product ``i``'s operands and result as 2-D views of ``buffer``."""
        tape = self.tape
        p = int(tape.pstart[i])
        m, kk, nn = (int(tape.params[p + q]) for q in (1, 2, 3))
        a, b = self.operands(i)

        def view(e, rows, cols):
            name, at = self.where(buffer, int(tape.off[e]))
            return f"{name}[{at}:{at + rows * cols}].reshape(({rows}, {cols}))"

        return view(a, m, kk), view(b, kk, nn), view(i, m, nn)

    def is_local(self, e):
        """Whether scalar ``e``'s value and adjoint are locals (scalar statements and
        sums, and windows of them), not memory."""
        r = self.root(e)
        o = int(self.tape.op[r])
        return int(self.tape.size[e]) == 1 and (
            o == _SUM or ((o < N_ELEMENTWISE or o == _WHERE) and int(self.tape.size[r]) == 1))

    def value(self, e):
        """A scalar's value: its local, else memory."""
        return f"v{self.root(e)}" if self.is_local(e) else self.mem("vals", int(self.tape.off[e]))

    def adjoint(self, e):
        """Where a scalar's adjoint is: its local, else memory."""
        return f"g{self.root(e)}" if self.is_local(e) else self.mem("adj", int(self.tape.off[e]))

    def element(self, chain, e, k, lane=""):
        """Element ``k`` (an expression) of operand ``e`` inside ``chain``'s loop."""
        if e in chain.computed:
            return f"w{e}{lane}"
        if int(self.tape.size[e]) == 1:
            if self.is_local(e):
                return self.value(e)
            self.hoisted.add(int(self.tape.off[e]))   # (loaded before the loop)
            return f"m{int(self.tape.off[e])}"
        # (loaded once a pass, at its top: after a store into the adjoint buffer the
        # compiler would read the values buffer again, as it may be the same memory)
        name = f"r{int(self.tape.off[e])}{'j' if k == 'jj' else ''}{lane}"
        self.element_loads[name] = self.mem("vals", int(self.tape.off[e]), k)
        return name

    def index(self, i, k):
        """The element of its operands that entry ``i`` reads in pass ``k``: a row
        broadcast (a gather) reads its row's ``jj``-th."""
        return "jj" if int(self.tape.op[i]) == _GATHER else k

    def rows(self, chain, body, phases=0):
        """``body`` (statements of one pass ``k``, indented by 4) as ``chain``'s loop: one
        loop over k, or for a chain with row broadcasts a loop over rows and one over
        the row (``jj``), so that no pass divides to find its place in the row.

        ``phases`` (1 or 2, a chain that ``parallel`` allows): blocks of ``BLOCK``
        passes in parallel (``prange``); with 2, the even blocks, then the odd ones, so
        that no two neighbouring blocks run at once (the reverse loops add into an
        array through windows at several offsets: pass k and pass k + 1 may add to one
        element, but never passes a block apart)."""
        if self.parallel_ok(chain):   # (k unsigned, as the body has it: see mem)
            if not phases:
                return [f"for k in range(np.uint64(0), np.uint64({chain.n})):"] + body
            blocks = -(-chain.n // BLOCK)
            inner = [f"for k in range(np.uint64(b * {BLOCK}), "
                     f"np.uint64(min({chain.n}, b * {BLOCK} + {BLOCK}))):"]
            inner += ["    " + line for line in body]
            if phases == 1:
                return [f"for b in prange({blocks}):"] + ["    " + line for line in inner]
            return (["for phase in range(2):",
                     f"    for bb in prange(({blocks} + 1 - phase) // 2):",
                     "        b = 2 * bb + phase"] + ["        " + line for line in inner])
        if chain.m is None:
            return [f"for k in range({chain.n}):"] + body
        return ([f"for i0 in range({chain.n // chain.m}):", f"    for jj in range({chain.m}):",
                 f"        k = i0 * {chain.m} + jj"] + ["    " + line for line in body])

    def parallel_ok(self, chain):
        """Whether ``chain``'s loops may run in parallel blocks: in the adapters' direct
        code (``self.parallel``), from ``PARALLEL_MIN`` elements, without row broadcasts
        (whose adjoints every row adds to)."""
        return self.parallel and _long_rows(chain)

    def take_loads(self, indent):
        """The loads of the elements ``element`` named since the last call."""
        loads = [" " * indent + f"{name} = {expr}" for name, expr in self.element_loads.items()]
        self.element_loads = {}
        return loads

    def hoist(self, lines):
        """``lines`` (a chain's loop) preceded by loads of the scalars it reads from
        memory: loaded once, as the compiler cannot tell that the loop's stores into
        the adjoint buffer leave the values buffer alone."""
        loads = [f"m{s} = {self.mem('vals', s)}" for s in sorted(self.hoisted)]
        self.hoisted = set()
        return loads + lines

    def chain_body(self, chain, k, lane, indent):
        """The statements computing element ``k`` of the chain's entries (and adding to
        its sums' lane ``lane``)."""
        pad = " " * indent
        lines = []
        for i in chain.members:
            o = int(self.tape.op[i])
            if i == chain.numpy:   # (see numpy_call)
                continue
            if o == _SUM:
                a = self.element(chain, int(self.tape.args[i, 0]), k, lane)
                if chain.m is None:
                    lines.append(f"{pad}s{i}{lane} += {a}")
                else:   # (the generic kernel's lanes, as an array: see chain_forward)
                    lines += [f"{pad}if k < {chain.n - chain.n % LANES}:",
                              f"{pad}    s{i}[k & {LANES - 1}] += {a}",
                              f"{pad}else:", f"{pad}    s{i}_t += {a}"]
                continue
            operands = [self.element(chain, e, self.index(i, k), lane) for e in self.operands(i)]
            lines.append(f"{pad}w{i}{lane} = {self.value_expr(i, operands)}")
            if i in self.stored:
                lines.append(f"{pad}{self.mem('vals', int(self.tape.off[i]), k)} = w{i}{lane}")
        return self.take_loads(indent) + lines

    def numpy_call(self, chain):
        """The call of NumPy's loop that computes the chain's last member (after its
        loop stored the operand), or nothing."""
        i = chain.numpy
        if i is None:
            return []
        n = chain.n
        a, at = self.where("vals", int(self.tape.off[self.operands(i)[0]]))
        y, yt = self.where("vals", int(self.tape.off[i]))
        return ["with objmode():",
                f"    numpy_loop({int(self.tape.op[i])}, {y}[{yt}:{yt + n}], {a}[{at}:{at + n}])"]

    def chain_forward(self, chain):
        if chain.members == [chain.numpy]:
            return self.numpy_call(chain)
        return self.chain_loop_forward(chain) + self.numpy_call(chain)

    def chain_loop_forward(self, chain):
        sums = [i for i in chain.members if int(self.tape.op[i]) == _SUM]
        n = chain.n
        if not sums:   # (every pass writes its own elements: blocks in parallel)
            self.unsigned = {"k"} if self.parallel_ok(chain) else set()
            body = self.chain_body(chain, "k", "", 4)
            self.unsigned = set()
            return self.hoist(self.rows(chain, body, phases=1))
        if chain.m is not None:   # (rows: the lanes are an array indexed by k & 7)
            lines = [f"s{i} = np.zeros({LANES})" for i in sums] + [f"s{i}_t = 0.0" for i in sums]
            lines += self.rows(chain, self.chain_body(chain, "k", "", 4))
            for i in sums:
                s_ = [f"s{i}[{u}]" for u in range(LANES)]
                lines.append(f"v{i} = (s{i}_t + (({s_[0]} + {s_[1]}) + ({s_[2]} + {s_[3]}))) + "
                             f"(({s_[4]} + {s_[5]}) + ({s_[6]} + {s_[7]}))")
            return self.hoist(lines)
        full = n - n % LANES
        lines = [f"s{i}_{u} = 0.0" for i in sums for u in list(range(LANES)) + ["t"]]
        if full:
            lines.append(f"for j in range(0, {full}, {LANES}):")
            for u in range(LANES):
                lines += self.chain_body(chain, f"j + {u}", f"_{u}", 4)
        if n > full:
            lines.append(f"for k in range({full}, {n}):")
            lines += self.chain_body(chain, "k", "_t", 4)
        for i in sums:
            s = [f"s{i}_{u}" for u in range(LANES)]
            lines.append(f"v{i} = (s{i}_t + (({s[0]} + {s[1]}) + ({s[2]} + {s[3]}))) + "
                         f"(({s[4]} + {s[5]}) + ({s[6]} + {s[7]}))")
        return self.hoist(lines)

    def forward(self):
        lines = [f"v{i} = 0.0" for item in self.items if isinstance(item, _Chain)
                 for i in item.members if int(self.tape.op[i]) == _SUM]
        for item in self.items:
            if isinstance(item, _Chain):
                body = self.chain_forward(item)
                if id(item) in self.must_run:
                    lines += body
                else:
                    lines += ["if value:"] + ["    " + line for line in body]
                continue
            kind, i = item
            if kind == "matmul":
                A, B, C = self.matrices(i, "vals")
                lines += [f"c{i} = {C}", f"c{i}[:, :] = np.dot({A}, {B})"]
                continue
            if kind == "guard":
                a, recorded = self.value(int(self.tape.args[i, 0])), self.mem("vals", int(self.tape.off[i]))
                lines += [f"if {a} != {recorded} and not ({a} != {a} and "
                          f"{recorded} != {recorded}):", f"    return {i}"]
                continue
            lines.append(f"v{i} = {self.value_expr(i, [self.value(e) for e in self.operands(i)])}")
        if self.is_local(self.out):
            lines += ["if value:", f"    {self.mem('vals', int(self.tape.off[self.out]))} = "
                      f"{self.value(self.out)}"]
        return lines

    def reverse(self):
        tape = self.tape
        off, size = tape.off, tape.size
        # adjoints in memory: every input element (written, zero where the output does
        # not depend on it) and the stored chain entries on the path; zeroed once
        zeroed = sorted({(int(off[e]), int(off[e] + size[e])) for e in tape.input_entries}
                        | {(int(off[e]), int(off[e] + size[e])) for e in self.stored
                           if e in self.on_path}
                        | {(int(off[i]), int(off[i] + size[i])) for kind, i in self.blas
                           if i in self.on_path})
        # (the direct code counts the nan terms its loops add into the input's adjoint,
        # instead of a pass over it at the end: see nan_check)
        self.inputs = {int(e) for e in tape.input_entries}
        self.checked, self.unchecked = set(), set()
        lines = ["nans = 0"]
        for lo, hi in zeroed:
            name, at = self.where("adj", lo)
            if self.parallel and hi - lo >= PARALLEL_MIN:   # (and its pages first touched
                blocks = -(-(hi - lo) // BLOCK)                # on every core)
                lines += [f"for b in prange({blocks}):",
                          f"    {name}[{at} + b * {BLOCK}:{at} + min({hi - lo}, b * {BLOCK} + "
                          f"{BLOCK})] = 0.0"]
            else:
                lines.append(f"{name}[{at}:{at + hi - lo}] = 0.0")
        lines += [f"g{i} = 0.0" for i in range(len(tape.op))
                  if i in self.on_path and self.root(i) == i and self.is_local(i)]
        if self.root(self.out) in self.on_path:
            lines.append(f"{self.adjoint(self.out)} += 1.0")

        def add(e, term, out):
            """Add ``term`` to the adjoint of the scalar ``e`` (outside any loop)."""
            self.unchecked.add(self.root(e))
            out.append(f"{self.adjoint(e)} += {term}")

        for item in reversed(self.items):
            if isinstance(item, _Chain):
                if any(e in self.on_path for e in item.members):
                    lines += self.chain_reverse(item, add)
                continue
            kind, i = item
            if kind == "guard" or i not in self.on_path:
                continue
            if kind == "matmul":   # (as the generic reverse_matmul: gA += G B^T, gB += A^T G)
                A, B, _ = self.matrices(i, "vals")
                gA, gB, G = self.matrices(i, "adj")
                a, b = self.operands(i)
                self.unchecked.update((self.root(a), self.root(b)))
                if int(tape.op[a]) != _CONST:
                    lines += [f"ga{i} = {gA}", f"ga{i} += np.dot({G}, {B}.T)"]
                if int(tape.op[b]) != _CONST:
                    lines += [f"gb{i} = {gB}", f"gb{i} += np.dot({A}.T, {G})"]
                continue
            operands = self.operands(i)
            for k, term in self.terms(i, [self.value(e) for e in operands], f"v{i}", f"g{i}",
                                      scalar=True):
                if self.root(operands[k]) in self.on_path:
                    add(operands[k], term, lines)
        return lines

    def nan_check(self):
        """Return -2 (the caller sweeps this point with the generic sweeps) where an
        input's adjoint is nan. A contribution ``g * d`` is written as it is where the
        partial ``d`` is finite at finite values (the op table's flags); the generic
        sweeps make it exactly 0 where ``g`` is 0, which differs only where ``d`` is inf
        or nan, so only at non-finite values, and then by a nan that reaches an input's
        adjoint. (A select per contribution cost 60% of Rosenbrock's gradient.) The
        direct code counts the nan terms its loops add into the input's adjoint as they
        go (``nans``) and skips the pass over an input whose adjoint got nothing else:
        one pass over memory less."""
        tape = self.tape
        lines = ["bad = False"]
        for e in tape.input_entries:
            lo, hi = int(tape.off[e]), int(tape.off[e] + tape.size[e])
            if int(e) in self.checked and int(e) not in self.unchecked:
                # (every contribution it got was a loop's term, counted there when nan:
                # a sum of terms none of which is nan is nan only as inf - inf, which
                # the generic sweeps' sum of the same terms gives too)
                continue
            if self.parallel and hi - lo >= PARALLEL_MIN:   # (a count: exact in any order)
                self.unsigned = {"s"}
                ref = self.mem("adj", lo, "s")
                self.unsigned = set()
                lines += [f"for b in prange({-(-(hi - lo) // BLOCK)}):",
                          f"    for s in range(np.uint64(b * {BLOCK}), "
                          f"np.uint64(min({hi - lo}, b * {BLOCK} + {BLOCK}))):",
                          f"        if {ref} != {ref}:", "            nans += 1"]
            else:
                ref = self.mem("adj", lo, "s")
                lines += [f"for s in range({hi - lo}):", f"    bad |= {ref} != {ref}"]
        return lines + ["if bad or nans > 0:", "    return -2"]

    def chain_reverse(self, chain, add):
        """The chain's reverse loop: recompute element k, then carry the adjoints back
        through its entries, last to first."""
        tape = self.tape
        off, size = tape.off, tape.size
        lines, after = [], []
        chain_reads_written = set()
        counts_nans = False
        self.unsigned = {"k"} if self.parallel_ok(chain) else set()
        body = self.chain_body_values(chain)
        on_chain = [i for i in chain.members if i in self.on_path]
        for i in on_chain:
            if int(tape.op[i]) != _SUM:
                body.append(f"    h{i} = {self.mem('adj', int(off[i]), 'k')}" if i in self.stored
                            else f"    h{i} = 0.0")
        for i in reversed(on_chain):
            o = int(tape.op[i])
            if o == _SUM:
                terms = [(int(tape.args[i, 0]), f"g{i}")]
            else:
                operands = self.operands(i)
                terms = [(operands[k], term) for k, term in self.terms(
                    i, [self.element(chain, e, self.index(i, "k")) for e in operands],
                    f"w{i}", f"h{i}", scalar=False) if self.root(operands[k]) in self.on_path]
            for j, (e, term) in enumerate(terms):
                if e in chain.computed:
                    body.append(f"    h{e} += {term}")
                elif int(size[e]) == 1:   # a broadcast scalar: summed in a local first
                    acc = f"c{i}_{j}"
                    lines.append(f"{acc} = 0.0")
                    body.append(f"    {acc} += {term}")
                    add(e, acc, after)
                else:
                    at = self.mem('adj', int(off[e]), self.index(i, 'k'))
                    chain_reads_written.add(e)
                    if self.direct is not None and self.root(e) in self.inputs:
                        self.checked.add(self.root(e))
                        counts_nans = True
                        # (counted in a local of the pass, added to the count once:
                        # numba's parallel loops take one update of it a pass)
                        body += [f"    t{i}_{j} = {term}", f"    {at} += t{i}_{j}",
                                 f"    z_ += t{i}_{j} != t{i}_{j}"]
                    else:
                        body.append(f"    {at} += {term}")
        if counts_nans:
            body = ["    z_ = 0"] + body + ["    nans += z_"]
        body = self.take_loads(4) + body
        # (in parallel only without a broadcast scalar's sum, which would be reassociated
        # by the blocks; in two phases where it adds through windows, see rows)
        windows = any(self.root(e) != e for e in chain_reads_written)
        phases = 0 if lines else (2 if windows else 1)
        self.unsigned = set()
        return self.hoist(lines + self.rows(chain, body, phases) + after)

    def chain_body_values(self, chain):
        """Element k of the chain's elementwise entries again (no stores, no sums)."""
        lines = []
        for i in chain.members:
            o = int(self.tape.op[i])
            if o == _SUM:
                continue
            if i in self.kept:   # (stored by the forward loop: see CHEAP)
                lines.append(f"    w{i} = {self.mem('vals', int(self.tape.off[i]), 'k')}")
                continue
            operands = [self.element(chain, e, self.index(i, "k")) for e in self.operands(i)]
            lines.append(f"    w{i} = {self.value_expr(i, operands)}")
        return lines


class _NotFused(Exception):
    pass


def fused_plan(tape):
    """The ``FusedPlan`` of ``tape`` (its ``why`` says whether it fuses)."""
    return FusedPlan(tape)


def has_long_arrays(tape):
    """Whether an elementwise entry or a sum of ``tape`` has ``FUSE_MIN`` elements or more."""
    op, size = tape.op, tape.size
    long_ = size >= FUSE_MIN
    return bool((((op < N_ELEMENTWISE) | (op == _WHERE)) & long_).any() or
                (long_[tape.args[op == _SUM, 0]]).any())


def compact_layout(plan):
    """The buffers' ranges that the direct code (``fused_source``'s ``direct``) reads or
    writes, as ``[(lo, hi, at)]`` sorted: slots ``lo..hi-1`` of the tape's buffers are
    ``at..`` of the compact buffers that code takes. Each range is a whole entry (an
    array the code reads through windows is there whole); the values that no loop
    stores (the vectorized Rosenbrock's seven temporaries) are not, so a cached
    adapter keeps the constants and the stored entries only, not every value of the
    tape twice (values and adjoints)."""
    if plan._compact is not None:
        return plan._compact
    tape = plan.tape
    writer = _writer(plan, direct=True)
    writer.touched, writer.layout = set(), None
    writer.forward(), writer.reverse(), writer.nan_check()
    owners = sorted((int(tape.off[e]), int(tape.off[e] + tape.size[e]))
                    for e in range(len(tape.op)) if int(tape.op[e]) != _ALIAS and tape.size[e] > 0)
    ranges = sorted({owners[bisect.bisect_right(owners, (slot, np.inf)) - 1]
                     for slot in writer.touched})
    layout, at = [], 0
    for lo, hi in ranges:
        layout.append((lo, hi, at))
        at += hi - lo
    plan._compact = layout   # (structure only: the same for every thread that asks)
    return layout


def compact_slot(layout, slot):
    """Where ``slot`` of the tape's buffers is in the compact buffers of ``layout``,
    or None where they do not hold it."""
    k = bisect.bisect_right(layout, (slot, np.inf)) - 1
    if k < 0 or not layout[k][0] <= slot < layout[k][1]:
        return None
    lo, _, at = layout[k]
    return at + slot - lo


def _writer(plan, direct):
    """A copy of ``plan`` to write code with (the plan is kept on the tape, which other
    threads may be writing from), with fresh per-text state."""
    writer = copy.copy(plan)
    writer.hoisted, writer.element_loads = set(), {}
    start, n, _ = plan.tape.single_input if direct else (None, None, None)
    writer.direct = (start, start + n) if direct else None
    writer.parallel = direct
    return writer


def fused_source(plan, name="value_and_gradient", direct=False):
    """The Python text of the compiled value-and-gradient function of ``plan``'s tape,
    with the contract of ``tape_compiler.source``: ``name(vals, adj, value)`` returns
    -1, a failed guard's entry index, or -2 (sweep this point generically).

    ``direct`` (a tape of one array input): ``name(vals, adj, value, x, g)`` reads the
    input from ``x`` and writes its gradient into ``g`` instead of the buffers' input
    slots, which saves the adapter copying ``x`` in and the gradient out (two passes
    over memory: at n = 10^5 they cost as much as the fused loop itself); ``vals`` and
    ``adj`` are then the compact buffers of ``compact_layout``."""
    layout = compact_layout(plan) if direct else None
    plan = _writer(plan, direct)
    plan.touched, plan.layout = None, layout
    lines = plan.forward() + plan.reverse() + plan.nan_check() + ["return -1"]
    head = f"def {name}(vals, adj, value, x, g):" if direct else f"def {name}(vals, adj, value):"
    return "\n".join([head] + ["    " + line for line in lines]) + "\n"


def _long_rows(chain):
    """Whether ``chain`` is long enough for parallel blocks, without row broadcasts."""
    return chain.n >= PARALLEL_MIN and chain.m is None


def runs_in_parallel(plan):
    """Whether the direct code of ``plan`` has loops in parallel blocks."""
    return any(isinstance(item, _Chain) and _long_rows(item) for item in plan.items)


def statement_count(plan):
    """How many statements the fused code has (for the cost of compiling it)."""
    return fused_source(plan).count("\n")
