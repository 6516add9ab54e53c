project = "bitstruct"
extensions = ["pyrun_docs.sphinx_ext"]
pyrun_project = ".."
