import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

project = "Upgrade"
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "pyrun_docs.sphinx_ext",
]
exclude_patterns = ["_build", "included.rst"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
suppress_warnings = ["toc.not_included"]
doctest_global_setup = """
GLOBAL = "set up"
"""
pyrun_project = ".."
pyrun_upgrade = ["doctest", "python"]
pyrun_upgrade_exclude = ["excluded"]
pyrun_check = "off"  # the tests that check set it with -D
