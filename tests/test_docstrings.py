"""Every public name has a numpydoc docstring with Parameters and Returns sections whose
parameters are the real ones, and appears in the API reference page.

Public: the names in ``numad.__all__`` (``nd.config`` by its class, ``Config``), the
functions of ``nd.optimize``, and the methods of ``Tape`` that the API names. The
docstrings are parsed with ``numpydoc.docscrape`` where numpydoc is installed, else with
a plain reading of the section headers and parameter lines.
"""
import inspect
import pathlib
import re

import pytest

import numad as nd

try:
    from numpydoc.docscrape import NumpyDocString
except ImportError:  # the test environment may lack numpydoc
    NumpyDocString = None

API_PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "reference" / "api.md"

OPTIMIZE = ("minimize", "least_squares", "root")
TAPE_METHODS = ("__call__", "__len__", "__str__", "gradient", "value_and_gradient", "jvp",
                "vjp", "jacobian", "matches", "to_dot", "forward_batch", "gradient_batch",
                "value_and_gradient_batch", "nbytes")
# Documented parameters that are not in the inspectable signature, on purpose: an
# exception's message (BaseException takes *args) and the settings of ``nd.config``
# (attributes, set after construction).
NOT_IN_SIGNATURE = {"TracingError": {"message"}, "ControlFlowChanged": {"message"},
                    "config": {"memory_budget", "compile"}}


def _public():
    items = []
    for name in nd.__all__:
        obj = getattr(nd, name)
        items.append((name, type(obj) if name == "config" else obj))
    items += [(f"optimize.{name}", getattr(nd.optimize, name)) for name in OPTIMIZE]
    for name in TAPE_METHODS:
        member = inspect.getattr_static(nd.Tape, name)
        items.append((f"Tape.{name}", member.fget if isinstance(member, property) else member))
    return items


PUBLIC = _public()


def _sections(doc):
    """``{section: [parameter names]}`` of a numpydoc docstring (names split at commas,
    stars and escapes dropped); ``Returns`` lists its entries' names or types."""
    if NumpyDocString is not None:
        parsed = NumpyDocString(doc)
        found = {}
        for section in ("Parameters", "Returns"):
            entries = parsed[section]
            if entries:
                found[section] = [n.strip().lstrip("\\*").lstrip("*") for e in entries
                                  for n in (e.name or e.type).split(",")]
        return found
    found, lines = {}, doc.splitlines() + [""]

    def is_title(k):
        return bool(lines[k].strip()) and lines[k + 1].strip() == "-" * len(lines[k].strip())

    for k in range(len(lines) - 1):
        if not is_title(k):
            continue
        title = lines[k].strip()
        indent = len(lines[k]) - len(lines[k].lstrip())
        found[title] = []
        for j in range(k + 2, len(lines) - 1):
            if is_title(j):
                break
            line = lines[j]
            if line.strip() and len(line) - len(line.lstrip()) == indent:
                head = line.strip().split(" : ")[0]
                found[title] += [n.strip().lstrip("\\*").lstrip("*") for n in head.split(",")]
    return {s: found[s] for s in ("Parameters", "Returns") if found.get(s)}


def _signature_names(obj):
    """The parameter names of ``obj``'s signature (``self`` dropped), or None."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [p for p in sig.parameters if p != "self"]


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[n for n, _ in PUBLIC])
def test_numpydoc_sections(name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    assert doc.strip().splitlines()[0].strip(), f"{name}: no one-line summary"
    sections = _sections(doc)
    assert "Returns" in sections, f"{name}: no Returns section"
    signature = _signature_names(obj)
    if "Parameters" not in sections:
        # only what takes no arguments may leave Parameters out
        assert signature == [], f"{name}: no Parameters section"
        return
    documented = set(sections["Parameters"])
    if signature is not None:
        short = name.rsplit(".", 1)[-1]
        extra = documented - set(signature) - NOT_IN_SIGNATURE.get(short, set())
        missing = set(signature) - documented
        assert not extra, f"{name}: documented parameters not in its signature: {extra}"
        assert not missing, f"{name}: parameters not documented: {missing}"


def test_every_public_name_in_the_api_reference():
    if not API_PAGE.exists():
        pytest.skip("docs/reference/api.md is not written yet")
    text = API_PAGE.read_text()
    absent = [name for name in nd.__all__ if not re.search(rf"\b{re.escape(name)}\b", text)]
    absent += [f"optimize.{name}" for name in OPTIMIZE
               if not re.search(rf"\b{re.escape(name)}\b", text)]
    assert not absent, f"not in docs/reference/api.md: {absent}"
