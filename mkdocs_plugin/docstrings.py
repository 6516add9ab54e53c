"""mkdocstrings' docstring examples become widgets (MkDocs ``upgrade: [doctest, python]``).

mkdocstrings renders an object's docstring straight to HTML, so its examples never pass through
SuperFences: they are found in the page's HTML (beautifulsoup4), each in the ``div.doc-object``
of its object, whose anchor names it. A docstring's ``>>>`` examples are a session of their own
that sees its module's globals, as ``doctest``'s finder runs them; with ``python``, each Python
code block that compiles is an example of its own that sees them too (``print(Helper())``). All
are reported at the object's source file and line (found as mkdocstrings-python finds it, with
griffe).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import OptionError
from pyrun_docs.executor import CANNOT_PARSE
from pyrun_docs.locate import as_written, file_lines, locate_object, transcript_at
from pyrun_docs.options import SnippetOptions
from pyrun_docs.render import render_snippet
from pyrun_docs.snippet import Snippet, is_transcript, normalize_code
from pyrun_docs.upgrade import (
    OPT_OUT_CLASS,
    PYTHON_LANGUAGES,
    compiles,
    does_something,
    unparsable,
)


def upgrade_docstrings(
    html_text: str,
    *,
    modes: tuple[str, ...] = ("doctest",),
    page: str,
    path: str,
    first_index: int,
    config: PyrunConfig,
    search_paths: list[str],
    warn: Any,
) -> tuple[str, list[Snippet], dict[int, str]]:
    """The page's HTML with mkdocstrings' examples as widgets (``>>>`` ones with ``doctest`` in
    *modes*, Python blocks with ``python``), their snippets, and each snippet's original HTML by
    index (put back if the check keeps it static)."""
    doctest, python = "doctest" in modes, "python" in modes
    if "doc-object" not in html_text or not (python or (doctest and "&gt;&gt;&gt;" in html_text)):
        return html_text, [], {}
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html_text, "html.parser")
    snippets: list[Snippet] = []
    originals: dict[int, str] = {}
    # a highlighted block (pymdownx.highlight), or a bare <pre> where nothing highlights at build
    # time (MkDocs' own themes highlight in the reader's browser), or ``>>>`` lines Markdown
    # read as quotes, in the page's order
    for block in soup.select(
        "div.doc-object div.highlight, div.doc-object pre, div.doc-object blockquote"
    ):
        if block.name == "pre" and block.find_parent("div", class_="highlight") is not None:
            continue  # the inside of a highlighted block, taken whole above
        if (
            block.find_parent("details", class_="mkdocstrings-source")
            or block.find_parent(class_=OPT_OUT_CLASS)
            or "doc-signature" in (block.get("class") or [])  # a signature: compiles, no example
        ):
            continue
        owner = block.find_parent("div", class_="doc-object")
        anchor = _object_anchor(owner) if owner is not None else None
        if anchor is None:
            continue
        name = str(anchor["id"])
        module: str | None
        if block.name == "blockquote":
            quoted = _quoted(block, name, search_paths) if doctest else None
            if quoted is None:
                continue
            (file, line, module), code = quoted
            transcript = True
        else:
            text = (block.find("code") or block).get_text()
            transcript = text.lstrip().startswith(">>>")
            runnable = compiles(text) and does_something(text)  # not a listing of values
            if not ((doctest and transcript) or (python and not transcript and runnable)):
                continue
            try:
                code, _ = normalize_code(text)
            except OptionError:
                continue
            where = locate_object(name, code, search_paths)
            file, line, module = where if where is not None else (path, 1, None)
            if transcript and where is not None:
                code = as_written(file, line, code)  # not as mkdocstrings trimmed it
            if not transcript and not (where is not None and _fenced_as_python(file, line)):
                continue  # mkdocstrings' HTML does not say a block's language: its docstring does
        problem = (
            (unparsable(code) if is_transcript(code) else (1, f"{CANNOT_PARSE} it: no >>> prompt"))
            if transcript
            else None
        )
        if problem:
            at, reason = problem
            warn(f"{file}:{line + at - 1}", f"this example stays a plain block: {reason}")
            continue
        options = (
            SnippetOptions(session=name, module=module, docstring=name)
            if transcript
            else SnippetOptions(module=module)  # on its own, as a page's Python block
        )
        snippet = Snippet(
            code=code,
            path=file,
            line=line,
            page=page,
            index=first_index + len(snippets),
            options=options,
            origin="upgrade",
        )
        originals[snippet.index] = str(block)
        widget = BeautifulSoup(render_snippet(snippet, config, wrapcode=True), "html.parser")
        block.replace_with(widget)
        snippets.append(snippet)
    if not snippets:
        return html_text, [], {}
    return str(soup), snippets, originals


def _quoted(
    block: Any, name: str, search_paths: list[str]
) -> tuple[tuple[str, int, str], str] | None:
    """``>>>`` lines of *name*'s docstring that Markdown read as quotes three deep, with their
    outputs as lazy lines (``<p>double(2)\n4</p>``): ``(where, the examples as written)``.

    griffe reads a Google-style ``Example:`` section (not ``Examples:``) as an admonition of
    Markdown text, as it reads a description: their examples showed as nested quotes, unchecked,
    while doctest runs them (netutils: 41 of 407). The quotes lose the prompts, so the examples
    are taken from the file, from the line of the first one on, one run of lines per paragraph.
    ``None`` for anything else, or what is not found there as it was rendered."""
    if block.find_parent("blockquote") is not None:
        return None
    inner = block.find("blockquote", recursive=False)
    inner = inner.find("blockquote", recursive=False) if inner is not None else None
    if inner is None or [t for t in inner.find_all(recursive=False) if t.name != "p"]:
        return None
    paragraphs = inner.find_all("p", recursive=False)
    if not paragraphs:
        return None
    first = paragraphs[0].get_text().split("\n")[0].strip()
    where = locate_object(name, f">>> {first}\n", search_paths)
    code = transcript_at(where[0], where[1], len(paragraphs), first) if where else None
    return (where, code) if where is not None and code is not None else None


def documented_files(config: Any) -> list[Path] | None:
    """The Python files mkdocstrings' handlers read (griffe's modules and their submodules), so
    ``pyrun-docs check`` can keep what a build found while none of them changes. ``None`` when
    that cannot be told (a handler without griffe's collection, another mkdocstrings): the read
    is then not kept."""
    plugin = config.plugins.get("mkdocstrings")
    handlers = getattr(plugin, "_handlers", None) if plugin is not None else None
    if handlers is None:
        return [] if plugin is None else None
    files: list[Path] = []
    for handler in getattr(handlers, "seen_handlers", ()):
        collection = getattr(handler, "_modules_collection", None)
        members = getattr(collection, "members", None)
        if not isinstance(members, dict):
            return None
        for module in members.values():
            _module_files(module, files)
    return files


def _module_files(module: Any, files: list[Path]) -> None:
    if getattr(module, "is_alias", False):
        return
    try:
        where = getattr(module, "filepath", None)
    except Exception:  # griffe's BuiltinModuleError (``::: bisect.bisect_left``): no file
        where = None
    for path in where if isinstance(where, list) else [where]:  # a namespace package: folders
        if path is not None:
            files.append(Path(path))
    for sub in getattr(module, "modules", {}).values():
        _module_files(sub, files)


_FENCE = re.compile(r"^\s*(?:`{3,}|~{3,})\s*\{?\s*\.?(?P<language>[\w+-]+)")


def _fenced_as_python(file: str, line: int) -> bool:
    """Whether the docstring block whose code starts at *file*:*line* is a fence marked Python
    (```` ```python ````): mkdocstrings writes every block as a plain ``div.highlight``, so a YAML
    or TOML one, which often compiles as Python (``name: value``), would have become a widget."""
    lines = file_lines(file)  # read once while unchanged, not once per block
    found = _FENCE.match(lines[line - 2]) if 2 <= line <= len(lines) + 1 else None
    return found is not None and found["language"].lower() in PYTHON_LANGUAGES


def _object_anchor(owner: Any) -> Any:
    """The element naming a documented object (its ``id`` is the object's path): an anchor of
    its own, or its heading (objects shown with a heading, ``show_root_heading`` or members,
    carry the id on the ``<h2 class="doc-heading">`` in mkdocstrings-python's templates)."""
    anchor = owner.find("a", id=True, recursive=False)
    if anchor is None:
        anchor = owner.find(_HEADING, class_="doc-heading", id=True, recursive=False)
    return anchor


_HEADING = re.compile(r"^h[1-6]$")
