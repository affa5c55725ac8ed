"""Modules keep to their own job: no module reads another one's private names, the
traced value's internals stay inside the tracer's modules, and module-level imports
point one way (no cycles)."""
import ast
import pathlib

import numad
from numad import traced

PACKAGE = pathlib.Path(numad.__file__).resolve().parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
# the tracer's parts share the traced value's slots (numad/traced.py's docstring)
TRACER_PARTS = {"traced.py", "recording.py", "numpy_dispatch.py", "tracer.py"}


def _module_name(path):
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(["numad"] + parts)


def _resolve(path, node):
    """The absolute name of what ``from <level><module> import ...`` imports from."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    if node.level:
        base = package[:len(package) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))
    return node.module or ""


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def test_no_module_uses_another_modules_private_names():
    found = []
    for path in MODULES:
        tree = ast.parse(path.read_text())
        module_aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(path, node)
                if not source.startswith("numad"):
                    continue
                for alias in node.names:
                    is_module = ((PACKAGE / (alias.name + ".py")).exists()
                                 or (PACKAGE / alias.name).is_dir())
                    if _private(alias.name) and not is_module and source != _module_name(path):
                        found.append(f"{path.name}:{node.lineno} from {source} import "
                                     f"{alias.name}")
                    if node.module is None or is_module:
                        module_aliases.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in module_aliases and _private(node.attr)):
                found.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_the_traced_values_slots_stay_in_the_tracers_modules():
    slots = {"_v", "_i", "_rec", "_items"}
    found = []
    for path in MODULES:
        if path.name in TRACER_PARTS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in slots:
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not found, ("read a traced value with traced.value_of / entry_of / "
                       "recorder_of_traced instead:\n" + "\n".join(found))


def test_traced_values_have_every_operation_they_call():
    # the recording and dispatch modules hand their functions to the value type
    # (traced.provide); after `import numad` none may be missing, and every global
    # name that the value type's code uses must be defined
    assert traced.missing() == []
    used = set()
    for node in ast.walk(ast.parse(pathlib.Path(traced.__file__).read_text())):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            used.add(node.id)
    import builtins
    undefined = sorted(n for n in used if not hasattr(builtins, n)
                       and n not in vars(traced))
    # locals and parameters are in `used` too; each of them is also bound somewhere in
    # the module's functions, so only names bound nowhere are reported
    bound = set()
    for node in ast.walk(ast.parse(pathlib.Path(traced.__file__).read_text())):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.comprehension):
            bound.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    assert [n for n in undefined if n not in bound] == []


def test_provide_refuses_a_name_the_value_type_does_not_call():
    import pytest
    with pytest.raises(AssertionError, match="PROVIDED"):
        traced.provide(not_an_operation=len)


def _module_level_imports(path):
    """numad modules that ``path`` imports when it is loaded (not inside functions)."""
    out = set()
    stack = list(ast.parse(path.read_text()).body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.ImportFrom):
            source = _resolve(path, node)
            if source.startswith("numad"):
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    out.add(sub if sub.replace("numad.", "", 1).replace(".", "/")
                            in {_module_name(p).replace("numad.", "", 1).replace(".", "/")
                                for p in MODULES} else source)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("numad"))
        else:
            stack.extend(ast.iter_child_nodes(node))
    return out - {_module_name(path)}


def test_module_level_imports_have_no_cycles():
    graph = {_module_name(p): _module_level_imports(p) for p in MODULES}
    # a package's own __init__ importing its submodules is not a cycle of theirs
    for name, deps in graph.items():
        graph[name] = {d for d in deps if d in graph and d != "numad"}
    state, cycle = {}, []

    def visit(node, path):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycle.append(path + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycle, "import cycles: " + "; ".join(" -> ".join(c) for c in cycle)
