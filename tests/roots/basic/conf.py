project = "Fixture"
extensions = ["myst_parser", "pyrun_docs.sphinx_ext"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
suppress_warnings = ["toc.not_included"]
