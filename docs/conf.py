"""Sphinx configuration of numad's documentation.

Build it with warnings as errors, as CI does:

    pip install -e ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html

Before the pages are read, the scripts in ``docs/scripts/`` make the figures, the
tables and the rendered graph into ``docs/_generated/`` (ignored by git), so every
figure in the docs is made from the numad being documented.
"""
import os
import pathlib
import subprocess
import sys

DOCS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))          # numad itself, for autodoc

import numad  # noqa: E402

project = "numad"
author = "the numad developers"
copyright = "2026, the numad developers"
release = numad.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "_generated", "scripts"]

html_theme = "pydata_sphinx_theme"
html_title = "numad"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}

autodoc_member_order = "bysource"
autodoc_typehints = "none"          # the signatures and numpydoc say it, once
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

GENERATED = DOCS / "_generated"
# Each script writes into GENERATED; a failure stops the build (-W or not).
SCRIPTS = ["render_graph.py", "plot_step_error.py", "plot_checkpointing.py",
           "plot_cost_vs_size.py"]


def make_generated(app):
    GENERATED.mkdir(exist_ok=True)
    for script in SCRIPTS:
        subprocess.run([sys.executable, str(DOCS / "scripts" / script),
                        "--out", str(GENERATED)], check=True,
                       env={**os.environ, "PYTHONPATH": str(DOCS.parent)})


def setup(app):
    app.connect("builder-inited", make_generated)
