"""Sphinx configuration for pyrun-docs' own documentation, built with pyrun-docs itself."""

from __future__ import annotations

import importlib.util

project = "pyrun-docs"
author = "pyrun-docs developers"
copyright = "2026, pyrun-docs developers"
extensions = ["myst_parser", "pyrun_docs.sphinx_ext"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "furo" if importlib.util.find_spec("furo") else "alabaster"
html_title = "pyrun-docs"
html_favicon = "_static/favicon.svg"
myst_enable_extensions = ["colon_fence"]

# Every example on these pages runs in headless Pyodide during the build; a broken one fails it.
pyrun_check = "error"
# ...and the plain doctest blocks become widgets too (docs/upgrade.rst shows one)
pyrun_upgrade = ["doctest"]
