"""Writes the elementwise part of ``numad/kernels.py`` from the op table.

Run ``python -m numad._codegen`` after changing a row of ``numad/optable.py``; the test
suite fails while the committed kernels differ from what this script writes. The code
lives in ``kernels.py`` itself (between two marker lines) rather than in a module of
its own because numba's cache does not notice edits to callees in other files.
"""
from __future__ import annotations

import ast
import pathlib
import re

from .optable import ELEMENTWISE, EXPRESSION_FUNCTIONS

BEGIN = "# ---- BEGIN GENERATED ELEMENTWISE CODE (python -m numad._codegen) ----"
END = "# ---- END GENERATED ELEMENTWISE CODE ----"
KERNELS = pathlib.Path(__file__).with_name("kernels.py")

_NAME = re.compile(r"\b([A-Za-z_][A-Za-z_0-9]*)\(")


def kernel_expression(expr):
    """An op-table expression written with the kernels' function names."""
    return _NAME.sub(lambda m: EXPRESSION_FUNCTIONS.get(m.group(1), m.group(1)) + "(", expr)


def _loads(prim, indent, y_too):
    pad = " " * indent
    lines = [f"{pad}a = vals[ao + k * sa]"]
    if prim.arity == 2:
        lines.append(f"{pad}b = vals[bo + k * sb]")
    if y_too:
        lines.append(f"{pad}y = vals[yo + k]")
    return lines


def _uses_y(prim):
    return any(d is not None and re.search(r"\by\b", d) for d in prim.partials)


def _forward_sweep(values_only=False):
    """The forward sweep, with every scalar elementwise case written into its loop.

    Each case stores its own results in place: a helper returning them as a tuple
    measured 3.9 ns an entry on a scalar Rosenbrock tape, a helper call per entry
    (which counts references to its array arguments) 15-25 ns, and this 2.3 ns.
    ``values_only`` writes the sweep a loop's driver uses for steps it will not
    reverse: no partials stored.
    """
    name = "forward_values_sweep" if values_only else "forward_sweep"
    out = [
        "@njit(cache=True, error_model='numpy')",
        f"def {name}(op, args, opnd, off, size, pstart, params, aux_off, vals, partials,",
        " " * len(f"def {name}(") + "aux, start, stop):",
        '    """Recompute entries ``start..stop-1`` in place from the values before them.',
        "",
        ("    Modifies ``vals`` and ``aux`` (``partials`` is not touched: for steps that are"
         if values_only else
         "    Modifies ``vals``, ``partials`` (scalar elementwise entries) and ``aux``."),
    ]
    if values_only:
        out.append("    not reversed).")
    out += [
        "    Returns -1, or the index of the first guard whose recorded decision no longer",
        '    holds (the sweep stops there)."""',
        "    for i in range(start, stop):",
        "        o = op[i]",
        "        if o < ELEMENTWISE_END and size[i] == 1:",
        "            a = vals[opnd[i, 0]]",
        "            b = vals[opnd[i, 1]]",
    ]
    for i, p in enumerate(ELEMENTWISE):
        kw = "if" if i == 0 else "elif"
        parts = [kernel_expression(d) if d is not None else "0.0" for d in p.partials]
        parts += ["0.0"] * (2 - len(parts))
        out.append(f"            {kw} o == {p.opcode}:  # {p.name}")
        if values_only:
            out.append(f"                vals[off[i]] = {kernel_expression(p.value)}")
            continue
        out.append(f"                y = {kernel_expression(p.value)}")
        out.append("                vals[off[i]] = y")
        out.append(f"                partials[i, 0] = {parts[0]}")
        out.append(f"                partials[i, 1] = {parts[1]}")
    out += [
        "        elif o == ALIAS or o == CONST or o == INPUT:",
        "            continue  # (x[i] in a scalar loop is an alias: keep it cheap)",
        "        elif forward_entry(i, op, args, off, size, pstart, params, aux_off, vals, aux):",
        "            return i",
        "    return -1",
    ]
    return out


def _variants(prim):
    """The stride cases of an array op: (name, a is an array, b is an array).

    A unary op's input has the output's shape; a binary op's inputs are arrays of the
    output's shape or broadcast scalars (not both scalars: then the output is a scalar).
    Each case gets its own loop over contiguous views, which LLVM vectorizes; a stride
    known only at run time would keep it from doing so (measured: 2.2 ms against 0.5 ms
    for a subtraction of 10^6 values).
    """
    if prim.arity == 1:
        return [("True", True, False)]
    return [("sa == 1 and sb == 1", True, True), ("sa == 1", True, False),
            ("True", False, True)]


def _view_lines(prim, a_arr, b_arr, pad, y_too):
    lines = []
    lines.append(f"{pad}a = vals[ao]" if not a_arr else f"{pad}A = vals[ao:ao + n]")
    if prim.arity == 2:
        lines.append(f"{pad}b = vals[bo]" if not b_arr else f"{pad}B = vals[bo:bo + n]")
    if y_too:
        lines.append(f"{pad}Y = vals[yo:yo + n]")
    return lines


def _element_lines(prim, a_arr, b_arr, pad, y_too):
    lines = []
    if a_arr:
        lines.append(f"{pad}a = A[k]")
    if prim.arity == 2 and b_arr:
        lines.append(f"{pad}b = B[k]")
    if y_too:
        lines.append(f"{pad}y = Y[k]")
    return lines


def _cases(prim, body):
    """if/elif over the stride cases, each with the lines that ``body`` makes."""
    out = []
    variants = _variants(prim)
    for j, (cond, a_arr, b_arr) in enumerate(variants):
        if len(variants) == 1:
            out += body(a_arr, b_arr, "        ")
            continue
        kw = "if" if j == 0 else ("elif" if j < len(variants) - 1 else "else")
        out.append(f"        {kw} {cond}:" if kw != "else" else "        else:")
        out += body(a_arr, b_arr, "            ")
    return out


def _differentiable_cases():
    """(row, its ``if``/``elif o == opcode:`` line) for every row with a nonzero partial."""
    rows = [p for p in ELEMENTWISE if any(d is not None for d in p.partials)]
    return [(p, f"    {'if' if k == 0 else 'elif'} o == {p.opcode}:  # {p.name}")
            for k, p in enumerate(rows)]


def _array_forward():
    out = [
        "@njit(cache=True, error_model='numpy')",
        "def array_elementwise_forward(o, n, vals, yo, ao, sa, bo, sb):",
        '    """vals[yo:yo+n] = op(a, b); an input of stride 0 is a broadcast scalar."""',
    ]
    for i, p in enumerate(ELEMENTWISE):
        kw = "if" if i == 0 else "elif"
        out.append(f"    {kw} o == {p.opcode}:  # {p.name}")

        def body(a_arr, b_arr, pad, p=p):
            lines = _view_lines(p, a_arr, b_arr, pad, False)
            lines.append(f"{pad}Y = vals[yo:yo + n]")
            lines.append(f"{pad}for k in range(n):")
            lines += _element_lines(p, a_arr, b_arr, pad + "    ", False)
            lines.append(f"{pad}    Y[k] = {kernel_expression(p.value)}")
            return lines
        out += _cases(p, body)
    return out


def _array_reverse():
    out = [
        "@njit(cache=True, error_model='numpy')",
        "def array_elementwise_reverse(o, n, vals, adj, yo, ao, sa, bo, sb, need_a, need_b,",
        "                              first_a, first_b):",
        '    """Adds the adjoints of op(a, b) into a and b; a zero adjoint contributes',
        "    nothing (so an untaken `where` branch's inf never becomes 0 * inf = nan).",
        '    A broadcast scalar input sums its contributions in a local first."""',
    ]
    for p, case in _differentiable_cases():
        out.append(case)

        def body(a_arr, b_arr, pad, p=p):
            y_too = _uses_y(p)
            lines = _view_lines(p, a_arr, b_arr, pad, y_too)
            lines.append(f"{pad}G = adj[yo:yo + n]")
            arrays = (a_arr, b_arr)
            for which, d in enumerate(p.partials):
                if d is None:
                    continue
                name = "A" if which == 0 else "B"
                src = "ao" if which == 0 else "bo"
                if arrays[which]:
                    lines.append(f"{pad}G{name} = adj[{src}:{src} + n]")
                else:
                    lines.append(f"{pad}acc{name} = 0.0")
            lines.append(f"{pad}for k in range(n):")
            lines.append(f"{pad}    g = G[k]")
            lines += _element_lines(p, a_arr, b_arr, pad + "    ", y_too)
            for which, d in enumerate(p.partials):
                if d is None:
                    continue
                name = "A" if which == 0 else "B"
                # a select rather than an if: no branch in the loop body
                term = f"select(g != 0.0, g * ({kernel_expression(d)}), 0.0)"
                if arrays[which]:
                    # no `if need` here: it would keep the loop from vectorizing, and
                    # adding into a constant array's (unread) adjoint is harmless
                    # an if on a loop-invariant flag (not a select): LLVM splits the
                    # loop in two, and the first writer's loop never reads the old value
                    flag = "first_a" if which == 0 else "first_b"
                    lines.append(f"{pad}    if {flag}:")
                    lines.append(f"{pad}        G{name}[k] = {term}")
                    lines.append(f"{pad}    else:")
                    lines.append(f"{pad}        G{name}[k] += {term}")
                else:
                    lines.append(f"{pad}    acc{name} += {term}")
            for which, d in enumerate(p.partials):
                if d is not None and not arrays[which]:
                    name = "A" if which == 0 else "B"
                    src = "ao" if which == 0 else "bo"
                    need = "need_a" if which == 0 else "need_b"
                    lines.append(f"{pad}if {need}:")
                    lines.append(f"{pad}    adj[{src}] += acc{name}")
            return lines
        out += _cases(p, body)
    return out


def _tangent():
    out = [
        "@njit(cache=True, error_model='numpy')",
        "def elementwise_tangent(o, n, L, vals, tan, yo, ao, sa, bo, sb):",
        '    """L tangent lanes of op(a, b): tan[y] = da * tan[a] + db * tan[b]; a zero',
        "    input tangent contributes nothing, so inf * 0 never makes a nan.\"\"\"",
        "    if ZERO_DERIVATIVE_OPS[o]:",
        "        for k in range(n * L):",
        "            tan[yo * L + k] = 0.0",
        "        return",
    ]
    for p, case in _differentiable_cases():
        out.append(case)

        def one_lane(a_arr, b_arr, pad, p=p):
            # one direction (hvp, jvp): contiguous views per stride case, as forward
            y_too = _uses_y(p)
            lines = _view_lines(p, a_arr, b_arr, pad, y_too)
            lines.append(f"{pad}TY = tan[yo:yo + n]")
            for which, d in enumerate(p.partials):
                if d is None:
                    continue
                arr = (a_arr, b_arr)[which]
                name, src = ("A", "ao") if which == 0 else ("B", "bo")
                lines.append(f"{pad}T{name} = tan[{src}:{src} + n]" if arr else
                             f"{pad}t{which} = tan[{src}]")
            lines.append(f"{pad}for k in range(n):")
            lines += _element_lines(p, a_arr, b_arr, pad + "    ", y_too)
            terms = []
            for which, d in enumerate(p.partials):
                if d is None:
                    continue
                arr = (a_arr, b_arr)[which]
                name = "A" if which == 0 else "B"
                tv = f"T{name}[k]" if arr else f"t{which}"
                lines.append(f"{pad}    u{which} = {tv}")
                terms.append(f"select(u{which} != 0.0, ({kernel_expression(d)}) * u{which}, 0.0)")
            lines.append(f"{pad}    TY[k] = {' + '.join(terms)}")
            return lines
        out.append("        if L == 1:")
        out += ["    " + line for line in _cases(p, one_lane)]
        out.append("            return")
        out.append("        for k in range(n):")
        out += _loads(p, 12, _uses_y(p))
        names = []
        for which, d in enumerate(p.partials):
            if d is not None:
                out.append(f"            d{which} = {kernel_expression(d)}")
                names.append(which)
        out.append("            for lane in range(L):")
        out.append("                t = 0.0")
        for which in names:
            src = "ao + k * sa" if which == 0 else "bo + k * sb"
            out.append(f"                t{which} = tan[({src}) * L + lane]")
            out.append(f"                if t{which} != 0.0:")
            out.append(f"                    t += d{which} * t{which}")
        out.append("                tan[(yo + k) * L + lane] = t")
    return out


# ---- derivatives of the partials, for the Hessian-vector sweep ------------------------------

# d f(u) / du for the functions that partial expressions use, in terms of u
_CHAIN = {
    "sqrt": "0.5 / sqrt({u})", "exp": "exp({u})", "log": "1.0 / ({u})",
    "sin": "cos({u})", "cos": "-sin({u})", "sinh": "cosh({u})", "cosh": "sinh({u})",
}
_FLAT = {"sign", "floor_divide"}  # piecewise constant: derivative zero


def _src(node):
    return ast.unparse(node)


def _d(node, var):
    """The derivative of expression ``node`` by the variable ``var`` (a, b or y), as
    op-table expression text, or None where it is identically zero."""
    if isinstance(node, ast.Name):
        return "1.0" if node.id == var else None
    if isinstance(node, (ast.Constant, ast.Attribute)):  # numbers, np.nan
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        d = _d(node.operand, var)
        return None if d is None else f"-({d})"
    if isinstance(node, ast.BinOp):
        u, v = _src(node.left), _src(node.right)
        du, dv = _d(node.left, var), _d(node.right, var)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            sign = "+" if isinstance(node.op, ast.Add) else "-"
            if du is None and dv is None:
                return None
            if dv is None:
                return du
            return f"({du or '0.0'}) {sign} ({dv})"
        terms = []
        if isinstance(node.op, ast.Mult):
            if du is not None:
                terms.append(f"({du}) * ({v})")
            if dv is not None:
                terms.append(f"({u}) * ({dv})")
        elif isinstance(node.op, ast.Div):
            if du is not None:
                terms.append(f"({du}) / ({v})")
            if dv is not None:
                terms.append(f"-({u}) * ({dv}) / (({v}) * ({v}))")
        elif isinstance(node.op, ast.Pow):
            if du is not None:
                terms.append(f"({v}) * ({u}) ** (({v}) - 1.0) * ({du})")
            if dv is not None:
                terms.append(f"({u}) ** ({v}) * log({u}) * ({dv})")
        else:
            raise ValueError(f"_codegen: no derivative rule for {_src(node)}")
        return " + ".join(terms) if terms else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name == "select":
            cond, x, z = node.args
            dx, dz = _d(x, var), _d(z, var)
            if dx is None and dz is None:
                return None
            return f"select({_src(cond)}, {dx or '0.0'}, {dz or '0.0'})"
        if name in _FLAT:
            return None
        if name in _CHAIN:
            (arg,) = node.args
            du = _d(arg, var)
            if du is None:
                return None
            return f"({_CHAIN[name].format(u=_src(arg))}) * ({du})"
    raise ValueError(f"_codegen: no derivative rule for {_src(node)}")


def partial_tangent(expr):
    """The tangent of a partial ``expr`` (in a, b, y) along (ta, tb, ty): a zero
    tangent contributes nothing, so a partial's infinite derivative times 0 is not nan."""
    if expr is None:
        return "0.0"
    tree = ast.parse(expr, mode="eval").body
    terms = []
    for var in ("a", "b", "y"):
        d = _d(tree, var)
        if d is not None:
            t = "t" + var
            terms.append(f"select({t} != 0.0, ({kernel_expression(d)}) * {t}, 0.0)")
    return " + ".join(terms) if terms else "0.0"


def _partial_tangents():
    out = [
        "@njit(cache=True, error_model='numpy')",
        "def elementwise_partial_tangents(o, a, b, y, ta, tb, ty):",
        '    """The tangents of the scalar entry op(a, b) = y\'s two partials along the',
        '    input tangents ta, tb (and ty, the output\'s): the second-order terms."""',
    ]
    for p, case in _differentiable_cases():
        parts = [partial_tangent(d) for d in p.partials] + ["0.0"] * (2 - p.arity)
        out.append(case)
        out.append(f"        return {parts[0]}, {parts[1]}")
    out.append("    return 0.0, 0.0")
    return out


def _array_hvp():
    out = [
        "@njit(cache=True, error_model='numpy')",
        "def array_elementwise_hvp(o, n, vals, tan, adj, adjd, yo, ao, sa, bo, sb):",
        '    """The reverse step of op(a, b) for adjoints ``adj`` and their tangents',
        "    ``adjd`` at once: adjd[a] += adjd[y] * da + adj[y] * tangent(da), likewise b.",
        "    An input of stride 0 is a broadcast scalar; each stride case loops over",
        '    contiguous views with selects, no branches, so that LLVM vectorizes it."""',
    ]
    for p, case in _differentiable_cases():
        out.append(case)

        def body(a_arr, b_arr, pad, p=p):
            arrays = (a_arr, b_arr)
            lines = _view_lines(p, a_arr, b_arr, pad, True)
            lines.append(f"{pad}TA = tan[ao:ao + n]" if a_arr else f"{pad}ta = tan[ao]")
            if p.arity == 2:
                lines.append(f"{pad}TB = tan[bo:bo + n]" if b_arr else f"{pad}tb = tan[bo]")
            lines.append(f"{pad}TY = tan[yo:yo + n]")
            lines.append(f"{pad}G = adj[yo:yo + n]")
            lines.append(f"{pad}GD = adjd[yo:yo + n]")
            for which, d in enumerate(p.partials):
                if d is None:
                    continue
                name, src = ("A", "ao") if which == 0 else ("B", "bo")
                if arrays[which]:
                    lines.append(f"{pad}G{name} = adj[{src}:{src} + n]")
                    lines.append(f"{pad}GD{name} = adjd[{src}:{src} + n]")
                else:
                    lines.append(f"{pad}acc{name} = 0.0")
                    lines.append(f"{pad}accD{name} = 0.0")
            lines.append(f"{pad}for k in range(n):")
            inner = pad + "    "
            lines.append(f"{inner}g = G[k]")
            lines.append(f"{inner}gd = GD[k]")
            lines += _element_lines(p, a_arr, b_arr, inner, True)
            if a_arr:
                lines.append(f"{inner}ta = TA[k]")
            if p.arity == 2 and b_arr:
                lines.append(f"{inner}tb = TB[k]")
            lines.append(f"{inner}ty = TY[k]")
            for which, d in enumerate(p.partials):
                if d is None:
                    continue
                name = "A" if which == 0 else "B"
                lines.append(f"{inner}d{which} = {kernel_expression(d)}")
                lines.append(f"{inner}dd{which} = {partial_tangent(d)}")
                first_term = f"select(g != 0.0, g * d{which}, 0.0)"
                second = (f"select(gd != 0.0, gd * d{which}, 0.0) + "
                          f"select(g != 0.0, g * dd{which}, 0.0)")
                if arrays[which]:
                    lines.append(f"{inner}G{name}[k] += {first_term}")
                    lines.append(f"{inner}GD{name}[k] += {second}")
                else:
                    lines.append(f"{inner}acc{name} += {first_term}")
                    lines.append(f"{inner}accD{name} += {second}")
            for which, d in enumerate(p.partials):
                if d is not None and not arrays[which]:
                    name, src = ("A", "ao") if which == 0 else ("B", "bo")
                    lines.append(f"{pad}adj[{src}] += acc{name}")
                    lines.append(f"{pad}adjd[{src}] += accD{name}")
            return lines
        out += _cases(p, body)
    return out


def generated_source():
    """The text that belongs between the markers in kernels.py."""
    zero = ", ".join("True" if all(d is None for d in p.partials) else "False"
                     for p in ELEMENTWISE)
    parts = [
        BEGIN,
        "# Do not edit by hand: the op table (numad/optable.py) is the source.",
        f"ZERO_DERIVATIVE_OPS = np.array([{zero}])",
        "",
        "",
    ]
    for block in (_forward_sweep(), _forward_sweep(values_only=True), _array_forward(),
                  _array_reverse(), _tangent(),
                  _partial_tangents(), _array_hvp()):
        parts += block + ["", ""]
    parts.append(END)
    return "\n".join(parts)


def write():
    text = KERNELS.read_text()
    start = text.index(BEGIN)
    stop = text.index(END) + len(END)
    new = text[:start] + generated_source() + text[stop:]
    if new != text:
        KERNELS.write_text(new)
    return new != text


def is_current():
    text = KERNELS.read_text()
    start = text.index(BEGIN)
    stop = text.index(END) + len(END)
    return text[start:stop] == generated_source()


if __name__ == "__main__":
    print("kernels.py rewritten" if write() else "kernels.py already current")
