project = "Fixture"
extensions = ["myst_parser", "pyrun_docs.sphinx_ext"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
suppress_warnings = ["toc.not_included"]
# the snippets include a loop that never ends; tests that check turn it on
pyrun_check = "off"
