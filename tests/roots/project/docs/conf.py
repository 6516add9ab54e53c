project = "fixture_project"
extensions = ["pyrun_docs.sphinx_ext"]
pyrun_project = ".."
pyrun_check = "error"
