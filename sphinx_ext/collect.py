"""The snippets a Sphinx build finds, for ``pyrun-docs check`` without building the site.

With ``pyrun_upgrade`` on, snippets come from what Sphinx parses (autodoc docstrings, includes,
``sphinx.ext.doctest``'s directives), which no text scanner can reproduce; so the command reads the
project the way the build does: Sphinx's reading phase with the ``dummy`` builder (no output is
written), the check off, the doctrees kept in pyrun's cache so an unchanged project reads in a
moment. The snippets, their pages and their ``file:line`` are then exactly the build's.

What the read found is kept (:class:`pyrun_docs.read_memo.ReadMemo`) with the stamps of every
file Sphinx read for it (pages, includes, the modules autodoc documented, ``conf.py``) and of the
folders holding pages: while none changes, nor ``conf.py``'s values, nor Sphinx or pyrun-docs,
the next check takes it from there without starting Sphinx (which alone costs more than checking
an unchanged tree).
"""

from __future__ import annotations

import io
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from pyrun_docs.config import doctest_folders
from pyrun_docs.errors import PyrunError
from pyrun_docs.read_memo import (
    COARSE_MTIME,
    ProjectRead,
    ReadMemo,
    read_folder,
    settled_files,
)
from pyrun_docs.snippet import Snippet

#: warnings of ours that mean a snippet lost an option or was dropped (the command fails on them)
_PROBLEM = re.compile(
    r"^(?P<location>.*?): WARNING: pyrun: (?P<message>.*?) \[pyrun\.(?P<kind>\w+)\]$"
)


def collect(confdir: Path, cache: Path, memo: ReadMemo | None = None) -> ProjectRead:
    """Read the Sphinx project configured in *confdir* (and keep the read in *memo*).

    Args:
        confdir: the folder of ``conf.py``.
        cache: pyrun's check cache folder (the doctrees go under it).
        memo: where the read is kept for the next check
            (:func:`pyrun_docs.read_memo.project_memo`; the caller looks there first).

    Returns:
        Its snippets per docname, each docname's source file, the problems our warnings
        reported (a bad option, an empty snippet), and Sphinx's other warnings as text.
    """
    since = time.time() - COARSE_MTIME  # what changed after this may be newer than what was read
    settled: dict[str, str] = {}
    found, read = _read(confdir, read_folder(cache, confdir), since, settled)
    if memo is not None and read is not None:
        memo.save(found, read, since, settled)
    return found


def _read(
    confdir: Path, work: Path, since: float, settled: dict[str, str]
) -> tuple[ProjectRead, list[Any] | None]:
    """Sphinx's read: :func:`collect`'s value and the files and folders it depended on (``None``
    when an extension asks for pages to be read every time: nothing may be kept then). Fills
    *settled* with the files under the project's folder changed since *since* as the pages
    begin to be read (:func:`pyrun_docs.read_memo.settled_files`: what ``conf.py`` wrote)."""
    from sphinx.application import Sphinx
    from sphinx.util.console import nocolor
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    nocolor()  # the warnings are text for the terminal summary, not escape codes
    warnings = io.StringIO()
    #: (offset in *warnings*, docname) as each page's read begins: pages are read one by one
    marks: list[tuple[int, str]] = []
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
            # the snippets are made while reading: writing would only resolve references (a
            # project's missing-reference handler may raise there: jsonschema's, without
            # intersphinx) and render widgets nobody sees, as the doctest builder neither does
            app.builder.write_documents = lambda docnames: None  # type: ignore[method-assign]
            if "sphinx.ext.doctest" in app.extensions:  # on sys.path as the doctest builder
                # reads: autodoc imports from there (its examples were silently left out)
                sys.path[0:0] = doctest_folders(app.config.doctest_path)
            app.connect("source-read", lambda _app, doc, _src: marks.append((warnings.tell(), doc)))
            app.connect(
                "env-before-read-docs",
                lambda _app, _env, _docs: settled.update(settled_files(confdir, since)),
            )
            app.build()
    except Exception as exc:  # a project's conf.py or extension may raise anything
        raise PyrunError(
            f"{confdir}: Sphinx could not read the project ({type(exc).__name__}: {exc})"
        ) from None
    text = warnings.getvalue()
    ends = [offset for offset, _ in marks[1:]] + [len(text)]
    chunks = [("", text[: marks[0][0]] if marks else text)]
    chunks += [(doc, text[offset : ends[i]]) for i, (offset, doc) in enumerate(marks)]
    found: dict[str, list[list[str]]] = {}
    others: list[str] = []
    for doc, chunk in chunks:
        for line in chunk.splitlines():
            match = _PROBLEM.match(line.strip())
            if match and match.group("kind") in ("options", "empty", "upgrade"):
                found.setdefault(doc, []).append([match["message"], match["location"]])
            elif line.strip():
                others.append(line)
    kept = _kept_problems(work, found, {doc for _, doc in marks}, app.env.found_docs)
    problems = [PyrunError(message, location=location) for message, location in kept]
    store: dict[str, list[Snippet]] = getattr(app.env, "pyrun_snippets", {})
    pages = {doc: list(s) for doc, s in sorted(store.items()) if s}
    # every page read, with snippets or not ("no pyrun snippets in 0 files" after reading three)
    sources = {doc: Path(app.env.doc2path(doc)) for doc in sorted(app.env.found_docs)}
    files = _read_files(app)
    if files is None:
        others.append(_not_kept(app))
    return ProjectRead(pages, sources, problems, "\n".join(others)), files


def _not_kept(app: Any) -> str:
    """Why every check of this project starts Sphinx: pages it reads again on every build (a
    toctree naming a missing page, an object autodoc could not import), said with what to do
    (Pint's unchanged tree took 30-41 s a check, and nothing said why)."""
    pages = sorted(str(app.env.doc2path(doc)) for doc in app.env.reread_always)
    shown = ", ".join(pages[:3]) + (f" and {len(pages) - 3} more" if len(pages) > 3 else "")
    return (
        f"pyrun check: Sphinx reads {shown} again on every build (see its warnings above: a "
        "toctree naming a missing page, an object autodoc could not import), so what it read "
        "cannot be kept and every check starts Sphinx; fix those warnings for an unchanged "
        "project to be checked in a moment"
    )


def _kept_problems(
    work: Path, found: dict[str, list[list[str]]], read: set[str], docs: set[str]
) -> list[list[str]]:
    """The option problems of every page, not only of the pages read this time.

    Why: Sphinx reads only the pages that changed, so it warns only about those; a bad option on
    an unchanged page must still count as an error on every check. Each page's problems are kept
    beside the doctrees and replaced when the page is read again.
    """
    path = work / "problems.json"
    try:
        known: dict[str, list[list[str]]] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    known = {doc: probs for doc, probs in known.items() if doc in docs and doc not in read}
    for doc, probs in found.items():
        known.setdefault(doc, []).extend(probs)  # "" (before any page): kept for this check only
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({d: p for d, p in known.items() if d}), encoding="utf-8")
    except OSError:
        pass
    return [problem for doc in sorted(known) for problem in known[doc]]


def _read_files(app: Any) -> list[Any] | None:
    """Every file the read depended on, and the folders where a new page would appear."""
    env = app.env
    if env.reread_always:
        return None
    files: set[Any] = {Path(app.confdir) / "conf.py", Path(app.srcdir)}
    for doc in env.found_docs:
        path = Path(env.doc2path(doc))
        files.update((path, path.parent))
    for deps in env.dependencies.values():
        files.update(Path(app.srcdir) / dep for dep in deps)
    return sorted(files)
