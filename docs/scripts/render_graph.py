"""The computational graph of ``(a + b) * log(b + c)``, as the concepts page shows it.

Writes ``graph.dot`` (the text of ``tape.to_dot()``) and ``graph.md``, the fragment the
page includes: the graph rendered to SVG by Graphviz's ``dot`` where it is installed,
the DOT text itself otherwise (so the docs build on a machine without Graphviz).

Run: python docs/scripts/render_graph.py [--out DIR]
"""
import argparse
import pathlib
import shutil
import subprocess
import tempfile

import numpy as np

import numad as nd


def graph_text():
    tape = nd.trace(lambda a, b, c: (a + b) * np.log(b + c), 1.0, 3.0, 6.0)
    return tape.to_dot()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the files (default: a temporary one)")
    parser.add_argument("--text-only", action="store_true",
                        help="show the DOT text even where Graphviz is installed")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="numad-docs-"))
    out.mkdir(parents=True, exist_ok=True)

    dot_text = graph_text()
    (out / "graph.dot").write_text(dot_text)
    dot = None if args.text_only else shutil.which("dot")
    if dot:
        subprocess.run([dot, "-Tsvg", str(out / "graph.dot"), "-o", str(out / "graph.svg")],
                       check=True)
        fragment = ("```{image} ../_generated/graph.svg\n:alt: the computational graph of "
                    "(a + b) * log(b + c)\n:align: center\n```\n")
        how = "rendered with Graphviz"
    else:
        fragment = ("Graphviz's `dot` was not installed where these pages were built, so "
                    "here is the graph as the DOT text that `tape.to_dot()` returns "
                    "(`dot -Tsvg graph.dot -o graph.svg` draws it):\n\n"
                    f"```dot\n{dot_text.rstrip()}\n```\n")
        how = "as DOT text (no Graphviz)"
    (out / "graph.md").write_text(fragment)
    print(f"wrote {out / 'graph.md'}: the graph {how}")
    return fragment


if __name__ == "__main__":
    main()
