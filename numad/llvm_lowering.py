"""Tape code lowered to LLVM by numad itself, not by numba's front end.

numba compiles a function by interpreting its bytecode, typing every variable, and
lowering every statement through its overload machinery: about a millisecond for each of
the four or five lines a tape's operation writes (its value, its partials, its adjoint),
so a tape of 5000 distinct operations took about 25 s to compile, far more than LLVM
itself needs for the same arithmetic. The code ``tape_compiler`` writes is a small
language: assignments of floats, ints and booleans; ``+ - * /``, comparisons, ``and``,
``or``, ``not``, ``x if c else y``; ``select``/``times``; calls of ``np``, ``math`` and
``special`` functions; loads and stores at slots of its arrays (constant, or affine in a
loop counter), ``array[lo:hi] = x``; ``for k in range(...)``; ``if``/``else``;
``return code``. This module lowers that language straight to LLVM IR inside one numba
``@intrinsic``:

* ``+ - * /`` of floats are one LLVM instruction each (numba's own are the same
  instructions, wrapped in a division-by-zero branch that ``error_model='numpy'``
  makes a no-op), comparisons are numba's ``fcmp``, ``select``/``times`` are LLVM
  ``select``s (``times`` as its text says: ``g * d if g != 0.0 else 0.0``), ``x * 1.0``
  is ``x`` (exactly so in IEEE arithmetic);
* every other operation (``np.sin``, ``math.erf``, ``**``, a unary minus,
  ``special.digamma``, ...) is lowered by numba's own implementation of it (a NumPy
  ufunc by the body of its scalar loop, ``numba.np.ufunc_db``), looked up once per kind
  of call, so the numbers are numba's to the last bit;
* names rebound in a branch or a loop meet in phi nodes, so the code stays in registers;
* the function numba compiles is a one-line wrapper that calls the intrinsic, cached on
  disk as before (``tape_compiler._load``).

Measured cold on a random mix of distinct operations
(``benchmarks/compare_compiled.py --mix``): 0.13 s for 216 entries, 0.6 s for 1016,
3.6 to 5.2 s for 5016; a scan's RK4 step in 0.13 s (numba's front end: 0.45 to 1 s).
What remains is mostly LLVM's register allocation, which grows a little faster than the
code (a gradient's partials live from its forward part to its reverse part).

``lowerable(text)`` runs the same walk without emitting code (it types every name), so
``tape_compiler`` lowers only code this module handles completely; anything else (array
expressions, ``objmode``, ``prange``) stays numba's to compile.
"""
from __future__ import annotations

import ast
import operator
import re
import threading

import numpy as np
from llvmlite import ir
from numba import types
from numba.core.registry import cpu_target
from numba.np import ufunc_db
from numba.extending import intrinsic

# The parameters this module knows, and what each is: a float64 array (``[]``) or a
# boolean. Code with any other parameter is left to numba.
PARAMETERS = {"vals": "f[]", "adj": "f[]", "tan": "f[]", "adjd": "f[]", "w": "f[]",
              "value": "b", "L": "i",
              # (a compiled scan step's: tape_compiler.step_source)
              "rec": "f[]", "cur": "f[]", "gcur": "f[]", "at": "i[]", "a": "i", "b": "i",
              "record": "i", "unused": "i"}
_ELEMENT = {"f[]": types.float64, "i[]": types.int64}

_FLOAT = {ast.Add: "fadd", ast.Sub: "fsub", ast.Mult: "fmul", ast.Div: "fdiv"}
_INT = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul"}
# Python's comparisons of floats: ``!=`` is true for a nan (unordered), the others are
# false for one (ordered), as numba lowers them.
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
            ast.GtE: ">="}
_OPERATOR = {ast.Pow: operator.pow, ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv,
             ast.USub: operator.neg}
_KIND = {types.float64: "f", types.boolean: "b", types.int64: "i"}
_TYPE = {"f": types.float64, "b": types.boolean, "i": types.int64}
_DOUBLE, _I64, _I1 = ir.DoubleType(), ir.IntType(64), ir.IntType(1)
_FLOATS = {}   # repr of a float -> its LLVM constant, spelled once


class Unsupported(Exception):
    """The code uses something this module does not lower (numba compiles it instead)."""


class _Value:
    """A value of the code: its kind ('f' float64, 'b' boolean, 'i' int64), its LLVM
    value (None while only checking) and, for a literal, its Python value."""
    __slots__ = ("kind", "llvm", "const")

    def __init__(self, kind, llvm, const=None):
        self.kind, self.llvm, self.const = kind, llvm, const


class _Lowering:
    """One walk over a function's statements: with a builder it emits LLVM IR, without
    one it only checks that every statement and expression is lowerable."""

    def __init__(self, function, namespace, context=None, builder=None, arguments=None):
        self.function, self.namespace = function, namespace
        self.context, self.builder = context, builder
        self.typing = context.typing_context if context is not None else cpu_target.typing_context
        self.env = {}          # name -> _Value (the code is SSA-like: a name may be rebound)
        self.arrays = {}       # parameter name -> ((pointer, byte stride), element kind)
        self.returns = []      # (code, block) of each return
        self.ended = False     # the current block has returned
        self.calls = {}        # (callee, argument types) -> (signature, implementation)
        self.callees = {}      # spelled name -> the object it names
        for arg in function.args.args:
            kind = PARAMETERS.get(arg.arg)
            if kind is None:
                raise Unsupported(f"parameter {arg.arg!r}")
            if builder is None:
                value = None
            else:
                numba_type, value = arguments[arg.arg]
                if kind in _ELEMENT:
                    element = _ELEMENT[kind]
                    if isinstance(numba_type, types.CPointer) and numba_type.dtype == element:
                        value = (value, None)   # (the pointer is the argument)
                    elif (isinstance(numba_type, types.Array) and numba_type.ndim == 1
                            and numba_type.dtype == element):
                        array = context.make_array(numba_type)(context, builder, value=value)
                        # (an array that is not contiguous is read through its stride)
                        stride = (None if numba_type.layout in "CF" else
                                  builder.extract_value(array.strides, 0))
                        value = (array.data, stride)
                    else:
                        raise Unsupported(f"{arg.arg} of type {numba_type}")
                elif kind == "i":
                    if not isinstance(numba_type, types.Integer):
                        raise Unsupported(f"{arg.arg} of type {numba_type}")
                    value = context.cast(builder, value, numba_type, types.int64)
                elif numba_type != types.boolean:
                    raise Unsupported(f"{arg.arg} of type {numba_type}")
            if kind in _ELEMENT:
                self.arrays[arg.arg] = (value, kind[0])   # ((pointer, byte stride), kind)
            else:
                self.env[arg.arg] = _Value(kind, value)

    # ---- statements ------------------------------------------------------------------

    def run(self):
        if self.builder is not None:
            self.exit = self.builder.append_basic_block("lowered.exit")
        self.statements(self.function.body)
        if not self.ended:
            raise Unsupported("the code does not end with a return")
        if self.builder is None:
            return None
        self.builder.position_at_end(self.exit)
        code = self.builder.phi(_I64, name="lowered.code")
        for value, block in self.returns:
            code.add_incoming(value, block)
        return code

    def statements(self, body):
        for statement in body:
            if self.ended:
                raise Unsupported("a statement after a return")
            self.statement(statement)

    def statement(self, st):
        if isinstance(st, ast.Assign) and len(st.targets) == 1:
            self.store(st.targets[0], self.expression(st.value))
        elif isinstance(st, ast.AugAssign):
            target = st.target
            if isinstance(target, ast.Name):
                current = self.expression(ast.Name(target.id, ast.Load()))
            elif isinstance(target, ast.Subscript):
                current = self.subscript(target)
            else:
                raise Unsupported(ast.unparse(st))
            self.store(target, self.binary(st.op, current, self.expression(st.value)))
        elif isinstance(st, ast.If):
            self.branch(st)
        elif isinstance(st, ast.For):
            self.loop(st)
        elif isinstance(st, ast.Return) and st.value is not None:
            code = self.expression(st.value)
            if code.kind != "i":
                raise Unsupported(f"return of a {code.kind}")
            if self.builder is not None:
                self.returns.append((code.llvm, self.builder.block))
                self.builder.branch(self.exit)
            self.ended = True
        elif isinstance(st, ast.Pass) or (isinstance(st, ast.Expr)
                                          and isinstance(st.value, ast.Constant)):
            pass
        else:
            raise Unsupported(ast.unparse(st).splitlines()[0])

    def store(self, target, value):
        if isinstance(target, ast.Name):
            self.env[target.id] = value
        elif isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice):
            self.fill(target, value)
        elif isinstance(target, ast.Subscript):
            pointer, kind = self.element(target)
            if kind == "f" and value.kind == "i":
                value = self.as_float(value)
            if value.kind != kind:
                raise Unsupported(f"a {value.kind} stored in an array of {kind}")
            if self.builder is not None:
                self.builder.store(value.llvm, pointer)
        else:
            raise Unsupported(ast.unparse(target))

    def fill(self, target, value):
        """``array[lo:hi] = value``, for constant bounds."""
        sl = target.slice
        if not (isinstance(target.value, ast.Name) and target.value.id in self.arrays
                and sl.lower is not None and sl.upper is not None and sl.step is None):
            raise Unsupported(ast.unparse(target))
        lo, hi = self.expression(sl.lower), self.expression(sl.upper)
        value = self.as_float(value)
        if lo.const is None or hi.const is None or lo.const < 0:
            raise Unsupported(ast.unparse(target))
        if self.builder is None or hi.const <= lo.const:
            return
        b = self.builder
        array, kind = self.arrays[target.value.id]
        if kind != "f":
            raise Unsupported(ast.unparse(target))
        with _counted_loop(b, lo.llvm, hi.llvm) as index:
            b.store(value.llvm, self.address(array, index))

    def loop(self, st):
        """``for k in range(...)``: a loop whose header holds a phi for the counter and
        for every name the body rebinds that was bound before it; names first bound in
        the body are not seen after it."""
        it = st.iter
        if not (isinstance(st.target, ast.Name) and not st.orelse and isinstance(it, ast.Call)
                and ast.unparse(it.func) == "range" and 1 <= len(it.args) <= 3
                and not it.keywords):
            raise Unsupported(ast.unparse(st).splitlines()[0])
        bounds = [self.expression(a) for a in it.args]
        if any(v.kind != "i" for v in bounds):
            raise Unsupported(ast.unparse(it))
        if len(bounds) == 1:
            bounds = [self.constant(0)] + bounds
        start, stop = bounds[0], bounds[1]
        step = bounds[2].const if len(bounds) == 3 else 1
        if not step:   # (a step that is not a nonzero literal)
            raise Unsupported(ast.unparse(it))
        rebound = sorted({n.id for n in ast.walk(ast.Module(st.body, []))
                          if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                         & self.env.keys())
        before = dict(self.env)
        b = self.builder
        if b is None:
            self.env[st.target.id] = _Value("i", None)
            for name in rebound:
                self.env[name] = _Value(before[name].kind, None)
            self.statements(st.body)
            if self.ended:
                raise Unsupported("a loop whose body always returns")
            for name in rebound:
                if self.env[name].kind != before[name].kind:
                    raise Unsupported(f"{name} changes its type in a loop")
            self.env = {n: (self.env[n] if n in rebound else v) for n, v in before.items()}
            return
        entry = b.block
        header = b.append_basic_block("lowered.loop")
        body = b.append_basic_block("lowered.body")
        after = b.append_basic_block("lowered.after")
        b.branch(header)
        b.position_at_end(header)
        counter = b.phi(_I64, name=f"lowered.{st.target.id}")
        counter.add_incoming(start.llvm, entry)
        phis = {}
        for name in rebound:
            value = before[name]
            phi = b.phi(value.llvm.type, name=f"lowered.{name}")
            phi.add_incoming(value.llvm, entry)
            phis[name] = phi
            self.env[name] = _Value(value.kind, phi)
        going = b.icmp_signed("<" if step > 0 else ">", counter, stop.llvm)
        b.cbranch(going, body, after)
        b.position_at_end(body)
        self.env[st.target.id] = _Value("i", counter)
        self.statements(st.body)
        if self.ended:
            raise Unsupported("a loop whose body always returns")
        latch = b.block
        counter.add_incoming(b.add(counter, ir.Constant(_I64, step)), latch)
        for name, phi in phis.items():
            value = self.env[name]
            if value.kind != before[name].kind:
                raise Unsupported(f"{name} changes its type in a loop")
            phi.add_incoming(value.llvm, latch)
        b.branch(header)
        b.position_at_end(after)
        self.env = {n: (_Value(v.kind, phis[n]) if n in phis else v)
                    for n, v in before.items()}

    def branch(self, st):
        """``if test: body [else: other]``: the names either side rebinds meet in phis."""
        test = self.truth(self.expression(st.test))
        if test.const is not None:   # (``value = False`` makes ``if value:`` one side)
            self.statements(st.body if test.const else st.orelse)
            return
        b = self.builder
        before = dict(self.env)
        if b is not None:
            then_block = b.append_basic_block("lowered.then")
            else_block = b.append_basic_block("lowered.else")
            merge = b.append_basic_block("lowered.merge")
            b.cbranch(test.llvm, then_block, else_block)
            b.position_at_end(then_block)
        self.statements(st.body)
        sides = []
        if not self.ended:
            sides.append((self.env, b.block if b is not None else None))
            if b is not None:
                b.branch(merge)
        self.env, self.ended = dict(before), False
        if b is not None:
            b.position_at_end(else_block)
        self.statements(st.orelse)
        if not self.ended:
            sides.append((self.env, b.block if b is not None else None))
            if b is not None:
                b.branch(merge)
        if b is not None:
            b.position_at_end(merge)
        if not sides:
            self.ended = True
            if b is not None:
                b.unreachable()
            return
        self.ended = False
        if len(sides) == 1:
            self.env = sides[0][0]
            return
        (first, first_block), (second, second_block) = sides
        self.env = {}
        for name in first.keys() & second.keys():
            one, other = first[name], second[name]
            if one is other:
                self.env[name] = one
                continue
            if one.kind != other.kind:
                continue   # (not used after the branch, or the check below fails)
            if b is None:
                self.env[name] = _Value(one.kind, None)
                continue
            phi = b.phi(one.llvm.type, name=f"lowered.{name}")
            phi.add_incoming(one.llvm, first_block)
            phi.add_incoming(other.llvm, second_block)
            self.env[name] = _Value(one.kind, phi)

    # ---- expressions -----------------------------------------------------------------

    def expression(self, node):
        if isinstance(node, ast.Constant):
            return self.constant(node.value)
        if isinstance(node, ast.Name):
            value = self.env.get(node.id)
            if value is None:
                raise Unsupported(f"the name {node.id!r}")
            return value
        if isinstance(node, ast.BinOp):
            return self.binary(node.op, self.expression(node.left),
                               self.expression(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = self.expression(node.operand)
            if isinstance(node.op, ast.Not):
                operand = self.truth(operand)
                llvm = self.builder.not_(operand.llvm) if self.builder is not None else None
                return _Value("b", llvm)
            if isinstance(node.op, ast.USub) and operand.const is not None:
                return self.constant(-operand.const)
            if isinstance(node.op, ast.USub) and operand.kind == "f":
                # (numba's negation of a float: -0.0 - x, the sign of a zero kept)
                return self.binary(ast.Sub(), self.constant(-0.0), operand)
            if isinstance(node.op, ast.USub):
                return self.numba_call(operator.neg, [operand])
            raise Unsupported(ast.unparse(node))
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return self.compare(node.ops[0], self.expression(node.left),
                                self.expression(node.comparators[0]))
        if isinstance(node, ast.BoolOp):
            values = [self.truth(self.expression(v)) for v in node.values]
            llvm = None
            if self.builder is not None:
                join = self.builder.and_ if isinstance(node.op, ast.And) else self.builder.or_
                llvm = values[0].llvm
                for v in values[1:]:
                    llvm = join(llvm, v.llvm)
            return _Value("b", llvm)
        if isinstance(node, ast.IfExp):
            return self.select(self.expression(node.test), self.expression(node.body),
                               self.expression(node.orelse))
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.Attribute):   # (np.nan, math.pi: a float of a module)
            value = self.callee(node)
            if type(value) is not float:
                raise Unsupported(ast.unparse(node))
            return self.constant(value)
        if isinstance(node, ast.Call) and not node.keywords:
            return self.call(node)
        raise Unsupported(ast.unparse(node))

    def constant(self, value):
        if isinstance(value, bool):
            return _Value("b", ir.Constant(_I1, int(value)), value)
        if isinstance(value, int):
            return _Value("i", ir.Constant(_I64, value), value)
        if isinstance(value, float):
            key = repr(value)   # (0.0 and -0.0 are equal keys, but not the same float)
            constant = _FLOATS.get(key)
            if constant is None:
                # (spelled once: llvmlite writes a double constant in hex at every use,
                # a third of a second for a long tape's ten thousand uses)
                constant = ir.FormattedConstant(_DOUBLE, _DOUBLE.format_constant(value))
                if len(_FLOATS) < 4096:
                    _FLOATS[key] = constant
            return _Value("f", constant, value)
        raise Unsupported(repr(value))

    def as_float(self, value):
        if value.kind == "f":
            return value
        if value.kind != "i":
            raise Unsupported(f"a {value.kind} used as a float")
        if value.const is not None:
            return self.constant(float(value.const))
        llvm = self.builder.sitofp(value.llvm, _DOUBLE) if self.builder is not None else None
        return _Value("f", llvm)

    def truth(self, value):
        if value.kind == "i":   # (Python's truth of an integer: not zero)
            if value.const is not None:
                return self.constant(bool(value.const))
            return _Value("b", self.builder.icmp_signed("!=", value.llvm, ir.Constant(_I64, 0))
                          if self.builder is not None else None)
        if value.kind != "b":
            raise Unsupported(f"a {value.kind} used as a condition")
        return value

    def binary(self, op, left, right):
        kind = type(op)
        if kind in _INT and left.kind == right.kind == "i":
            if left.const is not None and right.const is not None:
                return self.constant({ast.Add: operator.add, ast.Sub: operator.sub,
                                      ast.Mult: operator.mul}[kind](left.const, right.const))
            llvm = (getattr(self.builder, _INT[kind])(left.llvm, right.llvm)
                    if self.builder is not None else None)
            return _Value("i", llvm)
        if kind in _FLOAT and {left.kind, right.kind} <= {"f", "i"} and "f" in (left.kind,
                                                                                right.kind):
            left, right = self.as_float(left), self.as_float(right)
            if kind is ast.Mult and right.const == 1.0:   # (x * 1.0 is x, bit for bit)
                return left
            if kind is ast.Mult and left.const == 1.0:
                return right
            llvm = (getattr(self.builder, _FLOAT[kind])(left.llvm, right.llvm)
                    if self.builder is not None else None)
            return _Value("f", llvm)
        if kind in (ast.BitOr, ast.BitAnd) and left.kind == right.kind == "b":
            join = "or_" if kind is ast.BitOr else "and_"
            return _Value("b", getattr(self.builder, join)(left.llvm, right.llvm)
                          if self.builder is not None else None)
        if kind in _OPERATOR:
            return self.numba_call(_OPERATOR[kind], [left, right])
        raise Unsupported(f"{kind.__name__} of {left.kind} and {right.kind}")

    def compare(self, op, left, right):
        symbol = _COMPARE.get(type(op))
        if symbol is None:
            raise Unsupported(type(op).__name__)
        b = self.builder
        if left.kind == right.kind == "i":
            return _Value("b", b.icmp_signed(symbol, left.llvm, right.llvm) if b else None)
        if left.kind == right.kind == "b" and symbol in ("==", "!="):
            return _Value("b", b.icmp_unsigned(symbol, left.llvm, right.llvm) if b else None)
        left, right = self.as_float(left), self.as_float(right)
        if b is None:
            return _Value("b", None)
        if symbol == "!=":
            return _Value("b", b.fcmp_unordered(symbol, left.llvm, right.llvm))
        return _Value("b", b.fcmp_ordered(symbol, left.llvm, right.llvm))

    def select(self, test, one, other):
        test = self.truth(test)
        if one.kind != other.kind:
            one, other = self.as_float(one), self.as_float(other)
        llvm = (self.builder.select(test.llvm, one.llvm, other.llvm)
                if self.builder is not None else None)
        return _Value(one.kind, llvm)

    def element(self, node):
        """The address of ``array[index]`` for a parameter array and a constant index."""
        if not (isinstance(node.value, ast.Name) and node.value.id in self.arrays):
            raise Unsupported(ast.unparse(node))
        index = self.expression(node.slice)
        # (the code indexes from the start: a constant is checked, a loop's index is
        # its counter's affine function, nonnegative by construction)
        if index.kind != "i" or (index.const is not None and index.const < 0):
            raise Unsupported(ast.unparse(node))
        array, kind = self.arrays[node.value.id]
        if self.builder is None:
            return None, kind
        return self.address(array, index.llvm), kind

    def address(self, array, index):
        """The address of element ``index`` of a parameter array ((pointer, byte stride
        or None where it is contiguous))."""
        pointer, stride = array
        b = self.builder
        if stride is None:
            return b.gep(pointer, [index])
        byte = b.gep(b.bitcast(pointer, ir.IntType(8).as_pointer()), [b.mul(index, stride)])
        return b.bitcast(byte, pointer.type)

    def subscript(self, node):
        pointer, kind = self.element(node)
        return _Value(kind, self.builder.load(pointer) if self.builder is not None else None)

    def call(self, node):
        arguments = [self.expression(a) for a in node.args]
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name == "select" and len(arguments) == 3:
            return self.select(*arguments)
        if name == "times" and len(arguments) == 2:
            # tape_compiler's ``times``: ``g * d if g != 0.0 else 0.0``
            g, d = self.as_float(arguments[0]), self.as_float(arguments[1])
            product = self.binary(ast.Mult(), g, d)
            nonzero = self.compare(ast.NotEq(), g, self.constant(0.0))
            return self.select(nonzero, product, self.constant(0.0))
        if name in ("numpy_loop", "objmode", "prange", "range"):
            raise Unsupported(name)
        return self.numba_call(self.callee(node.func), arguments)

    def callee(self, node):
        """The object a (dotted) name of the namespace names."""
        name = _dotted(node)
        found = self.callees.get(name)
        if found is None:
            try:
                found = eval(compile(ast.Expression(node), "<callee>", "eval"), self.namespace)
            except Exception as exc:   # (an unknown name: numba's front end fails too)
                raise Unsupported(f"{name}: {exc}") from None
            self.callees[name] = found
        return found

    def ufunc_call(self, ufunc, arguments):
        """A NumPy ufunc of floats: numba's own scalar loop body for it (``ufunc_db``),
        the code numba's ufunc machinery wraps in a loop of one element."""
        if ufunc is np.sign and self.builder is not None:
            # numba's sign of a float, as selects rather than its branches (x itself
            # for a zero and a nan): the same values, and the long tapes' many signs
            # (abs's partial) no longer leave LLVM three blocks each to merge
            b, x = self.builder, arguments[0].llvm
            zero = self.constant(0.0).llvm
            negative = b.select(b.fcmp_ordered("<", x, zero), self.constant(-1.0).llvm, x)
            return _Value("f", b.select(b.fcmp_ordered(">", x, zero),
                                        self.constant(1.0).llvm, negative))
        loop = "d" * len(arguments) + "->"
        implementations = ufunc_db.get_ufunc_info(ufunc)
        for out, kind in (("d", "f"), ("?", "b")):
            implementation = implementations.get(loop + out)
            if implementation is not None:
                break
        else:
            return None
        if self.builder is None:
            return _Value(kind, None)
        signature = _TYPE[kind](*[types.float64] * len(arguments))
        return _Value(kind, implementation(self.context, self.builder, signature,
                                           [a.llvm for a in arguments]))

    def numba_call(self, callee, arguments):
        """``callee(*arguments)`` typed and lowered by numba's own implementation."""
        if (isinstance(callee, np.ufunc) and callee.nout == 1 and callee.nin == len(arguments)
                and all(a.kind == "f" for a in arguments)):
            value = self.ufunc_call(callee, arguments)
            if value is not None:
                return value
        argument_types = tuple(types.literal(a.const) if a.kind == "i" and a.const is not None
                               else _TYPE[a.kind] for a in arguments)
        key = (id(callee), argument_types)
        found = self.calls.get(key)
        if found is None:
            if not self.calls:   # (numba's typing knows the operators once refreshed, as
                self.typing.refresh()   # its compiler does before typing a function)
            try:
                function_type = self.typing.resolve_value_type(callee)
                signature = self.typing.resolve_function_type(function_type, argument_types, {})
            except Exception as exc:
                raise Unsupported(f"{callee}: {exc}") from None
            if signature is None or signature.return_type not in _KIND:
                raise Unsupported(f"{callee} of {argument_types}")
            implementation = (self.context.get_function(function_type, signature)
                              if self.builder is not None else None)
            found = self.calls[key] = (signature, implementation)
        signature, implementation = found
        kind = _KIND[signature.return_type]
        if self.builder is None:
            return _Value(kind, None)
        values = [self.context.cast(self.builder, a.llvm, t, s)
                  for a, t, s in zip(arguments, argument_types, signature.args)]
        return _Value(kind, implementation(self.builder, values))


def _dotted(node):
    """``np.sin`` for the expression of that name (cheaper than ``ast.unparse``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    raise Unsupported(ast.unparse(node))


class _counted_loop:
    """``with _counted_loop(builder, lo, hi) as i:`` emits a loop of ``i`` from ``lo`` up
    to ``hi`` (exclusive) around the statements of its block."""

    def __init__(self, builder, lo, hi):
        self.b, self.lo, self.hi = builder, lo, hi

    def __enter__(self):
        b = self.b
        entry = b.block
        self.header = b.append_basic_block("lowered.fill")
        body = b.append_basic_block("lowered.fill.body")
        self.after = b.append_basic_block("lowered.fill.after")
        b.branch(self.header)
        b.position_at_end(self.header)
        self.index = b.phi(_I64)
        self.index.add_incoming(self.lo, entry)
        b.cbranch(b.icmp_signed("<", self.index, self.hi), body, self.after)
        b.position_at_end(body)
        return self.index

    def __exit__(self, *exc):
        b = self.b
        self.index.add_incoming(b.add(self.index, ir.Constant(_I64, 1)), b.block)
        b.branch(self.header)
        b.position_at_end(self.after)
        return False


_PARSED = {}   # text -> its FunctionDef, for the last few texts (parsing a long one
              # takes a while: the check and the lowering share one parse)


_PARSED_LOCK = threading.Lock()   # (the check and the lowering may run in two threads)


def _function(text):
    with _PARSED_LOCK:
        function = _PARSED.get(text)
    if function is None:
        tree = ast.parse(text)
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
            raise Unsupported("not one function")
        function = tree.body[0]
        with _PARSED_LOCK:
            if len(_PARSED) >= 4:
                _PARSED.pop(next(iter(_PARSED)))
            _PARSED[text] = function
    return function


def lowerable(text, namespace):
    """None where ``text`` (one function) is lowered by this module completely, else
    what is not."""
    try:
        _Lowering(_function(text), namespace).run()
    except (Unsupported, SyntaxError) as exc:
        return str(exc) or type(exc).__name__
    except Exception as exc:   # (a case this module gets wrong: numba's front end is
        return f"{type(exc).__name__}: {exc}"   # slower, but compiles it right)
    return None


def lowered(text, namespace):
    """A numba ``@intrinsic`` that computes the function ``text`` (see ``lowerable``),
    its names resolved in ``namespace``; it takes the function's parameters and returns
    its int64 code."""
    # (the text is parsed when numba compiles, not when a cached module is imported)
    head = re.match(r"def (\w+)\(([\w, ]*)\):", text)
    name, spelled = head[1], head[2]
    names = [n.strip() for n in spelled.split(",")]

    def typer(typingctx, *argument_types):
        def codegen(context, builder, signature, args):
            return _Lowering(_function(text), namespace, context, builder,
                             dict(zip(names, zip(argument_types, args)))).run()
        return types.int64(*argument_types), codegen

    # (numba reads an intrinsic's parameters from its typer's signature)
    source = f"def {name}(typingctx, {spelled}):\n    return typer(typingctx, {spelled})\n"
    scope = {"typer": typer}
    exec(source, scope)
    return intrinsic(scope[name])


