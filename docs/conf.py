"""Sphinx configuration: Markdown pages (MyST), the API reference from the docstrings.

Built offline (no intersphinx, no remote images): ``sphinx-build -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import aws_eventstream

project = "aws-eventstream"
author = "the aws-eventstream authors"
copyright = "the aws-eventstream authors"  # noqa: A001 - Sphinx's name
release = version = aws_eventstream.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]
myst_heading_anchors = 3  # links to a page's sections by their titles

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": False}
autodoc_inherit_docstrings = False  # a constant (a dict) would show dict's own docstring
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"aws-eventstream {release}"
html_show_sourcelink = False


def _no_borrowed_docstrings(app, what, name, obj, options, lines):  # noqa: ANN001 - Sphinx's signature
    """A constant (a dict, a tuple) has no docstring of its own: show its value, not its type's help."""
    own = type(obj).__doc__
    if what == "data" and own and "\n".join(lines).strip() == "\n".join(own.strip().splitlines()).strip():
        lines[:] = []


def setup(app):  # noqa: ANN001
    app.connect("autodoc-process-docstring", _no_borrowed_docstrings)
