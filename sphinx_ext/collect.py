"""The snippets a Sphinx build finds, for ``pyrun-docs check`` without building the site.

With ``pyrun_upgrade`` on, snippets come from what Sphinx parses (autodoc docstrings, includes,
``sphinx.ext.doctest``'s directives), which no text scanner can reproduce; so the command reads the
project the way the build does: Sphinx's reading phase with the ``dummy`` builder (no output is
written), the check off, the doctrees kept in pyrun's cache so an unchanged project reads in a
moment. The snippets, their pages and their ``file:line`` are then exactly the build's.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from pyrun_docs.errors import PyrunError
from pyrun_docs.snippet import Snippet

#: warnings of ours that mean a snippet lost an option or was dropped (the command fails on them)
_PROBLEM = re.compile(
    r"^(?P<location>.*?): WARNING: pyrun: (?P<message>.*?) \[pyrun\.(?P<kind>\w+)\]$"
)


def collect(
    confdir: Path, cache: Path
) -> tuple[dict[str, list[Snippet]], dict[str, Path], list[PyrunError], str]:
    """Read the Sphinx project configured in *confdir*.

    Returns:
        Its snippets per docname, each docname's source file, the problems our warnings
        reported (a bad option, an empty snippet), and Sphinx's other warnings as text.
    """
    from sphinx.application import Sphinx
    from sphinx.util.console import nocolor
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    nocolor()  # the warnings are text for the terminal summary, not escape codes

    key = hashlib.sha256(str(confdir.resolve()).encode()).hexdigest()[:16]
    work = cache / "sphinx-read" / key
    warnings = io.StringIO()
    try:
        with patch_docutils(confdir), docutils_namespace():
            app = Sphinx(
                srcdir=confdir,
                confdir=confdir,
                outdir=work / "out",
                doctreedir=work / "doctrees",
                buildername="dummy",
                confoverrides={"pyrun_check": "off"},
                status=None,
                warning=warnings,
                freshenv=False,
            )
            app.build()
    except Exception as exc:  # a project's conf.py or extension may raise anything
        raise PyrunError(
            f"{confdir}: Sphinx could not read the project ({type(exc).__name__}: {exc})"
        ) from None
    store: dict[str, list[Snippet]] = getattr(app.env, "pyrun_snippets", {})
    problems: list[PyrunError] = []
    others: list[str] = []
    for line in warnings.getvalue().splitlines():
        found = _PROBLEM.match(line.strip())
        if found and found.group("kind") in ("options", "empty", "upgrade"):
            problems.append(PyrunError(found.group("message"), location=found.group("location")))
        elif line.strip():
            others.append(line)
    pages = {doc: list(s) for doc, s in sorted(store.items()) if s}
    sources = {doc: Path(app.env.doc2path(doc)) for doc in pages}
    return pages, sources, problems, "\n".join(others)
