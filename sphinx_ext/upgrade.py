"""``pyrun_upgrade``: the project's existing examples become widgets, checked like ``.. pyrun::``.

A read-time transform finds, in document order, what ``sphinx.ext.doctest`` would test (``>>>``
doctest blocks, also in autodoc docstrings, ``code-block:: pycon``, the ``doctest``, ``testsetup``,
``testcode``, ``testoutput`` and ``testcleanup`` directives) and, with ``"python"``, Python code
blocks; the core (:func:`pyrun_docs.upgrade.upgrade_page`) makes the snippets, with sessions that
follow doctest groups, and each block gets a ``pyrun_block`` before it that keeps a copy of it: an
upgraded example that fails the check is rendered as that block again
(``pyrun_upgrade_failing = "static"``), with a note. The block itself stays in the doctree, marked
(:data:`REPLACED`), and is dropped from written pages: ``sphinx-build -b doctest`` reads the
doctrees as they were read, so with pyrun on it still tests every example (it found none when the
blocks were swapped out, and a project's doctest job passed without testing anything).

Opt-outs: ``pyrun_upgrade_exclude`` (docname globs), the ``no-pyrun`` class on a block, and
``:pyrun: off`` in a page's metadata (MyST front matter ``pyrun: off``).
"""

from __future__ import annotations

import doctest
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

from pyrun_docs.executor import CANNOT_PARSE
from pyrun_docs.locate import (
    DOCSTRING,
    display_path,
    inherited_module,
    locate,
    module_of,
    project_copy,
    written_at,
)
from pyrun_docs.snippet import Snippet
from pyrun_docs.upgrade import (
    CODE_WITH_PROMPTS,
    DEFAULT_GROUP,
    OPT_OUT_CLASS,
    PYTHON_LANGUAGES,
    TRANSCRIPT_LANGUAGES,
    Found,
    compiles,
    does_something,
    excluded,
    starts_as_transcript,
    upgrade_page,
)

from .config import get_config
from .directive import pyrun_block

logger = logging.getLogger(__name__)

_FLAG_NAMES = {value: name for name, value in doctest.OPTIONFLAGS_BY_NAME.items()}
#: set on a block that widgets now show (it stays in the doctree for the doctest builder)
REPLACED = "pyrun_replaced"


class UpgradeExamples(SphinxTransform):
    """Swap the page's existing examples for ``pyrun_block`` nodes and number every snippet."""

    default_priority = 880  # after docinfo and the highlight settings, before the post-transforms

    def apply(self, **kwargs: Any) -> None:
        config = get_config(self.app)
        docname = self.env.docname
        metadata = self.env.metadata.get(docname, {})
        off = str(metadata.get("pyrun", "")).strip().lower() in ("off", "false", "no")
        if (
            not config.upgrade
            or excluded(docname, config.upgrade_exclude)
            or off
            or _opted_out(self.document)
        ):
            return
        fallback = str(self.env.doc2path(docname))
        blocks = blocks_group(self.app)
        project = (
            str(Path(self.app.confdir) / config.project)
            if config.project and not config.project.endswith(".whl")
            else ""
        )
        found: list[Found] = []
        # a literal block without a language is highlighted as the last ``.. highlight::`` says
        # (applied only when writing, so followed here), else as ``highlight_language``
        highlight = str(self.config.highlight_language or "")
        for node in self.document.findall(_candidate):
            assert isinstance(node, nodes.Element)
            if isinstance(node, addnodes.highlightlang):
                highlight = str(node.get("lang") or "")
                continue
            if "skipif" in node and _skipped(self.app, str(node["skipif"]), node):
                continue  # as the doctest builder skips it (the condition runs in the build)
            block = _found(node, config.upgrade, fallback, highlight, blocks)
            if block is not None and project and os.path.isabs(block.path):
                # a docstring of the project installed into the build's environment: named
                # at the project's own copy of the file
                block = replace(block, path=project_copy(block.path, project) or block.path)
            if block is not None:
                found.append(block)
        if not found:
            return
        setup_path, setup_line = _global_setup_location(self.app)
        setups, results = upgrade_page(
            found,
            page=docname,
            global_setup=global_setup(self.app),
            setup_path=setup_path,
            setup_line=setup_line,
        )
        replaced: dict[int, list[pyrun_block]] = {}
        for result in results:
            key = result.found.key
            assert isinstance(key, nodes.Element)
            if result.snippet is None:
                tested = key.get("testnodetype") == "doctest"  # the doctest builder tests it
                where = f"{result.found.path}:{result.line or result.found.line}"
                if (
                    result.reason.startswith(CANNOT_PARSE)
                    or CODE_WITH_PROMPTS in result.reason
                    or (tested and result.reason.startswith("no >>> prompt"))
                ) and _first_time(self.app, where, result.reason):
                    logger.warning(
                        f"pyrun: this example stays a plain block: {result.reason}",
                        location=where,
                        type="pyrun",
                        subtype="upgrade",
                    )
                continue
            replaced.setdefault(id(key), []).append(_widget(result.snippet, key))
        first = next((r.found.key for r in results if r.snippet is not None), None)
        if isinstance(first, nodes.Element) and setups:
            first.parent.insert(first.parent.index(first), [_widget(s, None) for s in setups])
        for element in {id(r.found.key): r.found.key for r in results}.values():
            if isinstance(element, nodes.Element) and id(element) in replaced:
                # the block stays, behind its widgets: ``sphinx-build -b doctest`` tests the
                # doctrees as read, so it still finds every example; pages written from them
                # show the widgets only (``PyrunWidgets`` drops what they replaced)
                widgets = replaced[id(element)]
                widgets[0].update_basic_atts(element)  # its ids (a label's target), its classes
                element.parent.insert(element.parent.index(element), widgets)
                element[REPLACED] = True
        _setup_below_title(self.document)
        renumber(self.document, self.env, docname)


def renumber(document: nodes.document, env: Any, docname: str) -> None:
    """Index every snippet of the page in document order and record them for the check."""
    from dataclasses import replace

    snippets: list[Snippet] = []
    for index, node in enumerate(document.findall(pyrun_block)):
        snippet = replace(node["pyrun"], index=index)
        node["pyrun"] = snippet
        snippets.append(snippet)
    env.pyrun_snippets[docname] = snippets


def _candidate(node: nodes.Node) -> bool:
    if isinstance(node, addnodes.highlightlang):
        return True
    if isinstance(node, pyrun_block) or (isinstance(node, nodes.Element) and REPLACED in node):
        return False
    if isinstance(node, nodes.doctest_block):
        return True
    return isinstance(node, (nodes.literal_block, nodes.comment)) and (
        "testnodetype" in node or isinstance(node, nodes.literal_block)
    )


def on_env_get_outdated(
    app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Every page again when a doctest setting that shapes the snippets made while reading
    changed: Sphinx registers ``doctest_global_setup`` and ``doctest_test_doctest_blocks`` as
    needing no re-read (its builder reads them when testing), so an edited setup kept running
    the old one, in the build's check and in ``pyrun-docs check``, until a fresh build."""
    shaping = (global_setup(app), blocks_group(app))
    previous = getattr(env, "pyrun_doctest_settings", None)
    env.pyrun_doctest_settings = shaping
    if previous is None or previous == shaping:  # None: a fresh environment reads everything
        return []
    return sorted(env.found_docs)


def _first_time(app: Any, where: str, reason: str) -> bool:
    """Whether this build has not warned *reason* at *where* yet: a file included into other
    pages is read with each (graphviz's manual: every unparsable block warned twice)."""
    warned: set[tuple[str, str]] = app.__dict__.setdefault("_pyrun_upgrade_warned", set())
    if (where, reason) in warned:
        return False
    warned.add((where, reason))
    return True


def global_setup(app: Any) -> str | None:
    """``doctest_global_setup``, when ``sphinx.ext.doctest`` is loaded (its setting)."""
    if "sphinx.ext.doctest" not in app.extensions:
        return None
    return getattr(app.config, "doctest_global_setup", None)


def blocks_group(app: Any) -> str:
    """The doctest group of plain ``>>>`` blocks (doctest blocks, ``pycon`` code blocks):
    ``doctest_test_doctest_blocks`` when ``sphinx.ext.doctest`` is loaded, as its builder
    assigns them; empty: they are not tested, so they stay as they are."""
    if "sphinx.ext.doctest" not in app.extensions:
        return DEFAULT_GROUP
    return str(getattr(app.config, "doctest_test_doctest_blocks", DEFAULT_GROUP) or "")


def _found(
    node: nodes.Element,
    modes: Any,
    fallback: str,
    highlight: str = "",
    blocks: str = DEFAULT_GROUP,
) -> Found | None:
    """The block *node* holds, if the ``upgrade`` modes take it (*highlight*: the language a
    literal block without its own is highlighted in; *blocks*: the group of plain ``>>>``
    blocks, see :func:`blocks_group`)."""
    if OPT_OUT_CLASS in node.get("classes", []) or _in_opted_out_container(node):
        return None
    kind = node.get("testnodetype")
    language = str(node.get("language") or highlight)
    if language == "default":  # Sphinx's default highlight_language: Python (pycon at >>>)
        if not (
            starts_as_transcript(node.astext(), comments_only=True) or does_something(node.astext())
        ):
            return None  # or anything: a listing, an output, values (see does_something)
        language = "python"
    if kind:  # sphinx.ext.doctest's directives
        if "doctest" not in modes:
            return None
        kind = "transcript" if kind == "doctest" else str(kind)
    elif isinstance(node, nodes.doctest_block) or language in TRANSCRIPT_LANGUAGES:
        if "doctest" not in modes or not blocks:
            return None
        tested = isinstance(node, nodes.doctest_block)  # the builder skips a pycon code block
        return _found_as(node, "transcript", fallback, (blocks,), tested=tested)
    elif language in PYTHON_LANGUAGES and starts_as_transcript(node.astext(), comments_only=True):
        # a console session in a Python block (Sphinx shows it as one): a pycon block to the
        # ``doctest`` mode, as MkDocs' python fences are (sqlparse's were left out without
        # ``python``, and with it alone became transcripts)
        if "doctest" not in modes or not blocks:
            return None
        return _found_as(node, "transcript", fallback, (blocks,), tested=False)
    elif language in PYTHON_LANGUAGES and "python" in modes:
        if not compiles(node.astext()) or not does_something(node.astext()):
            return None  # a fragment, pseudo-code or a listing of values: not an example to run
        kind = "python"
    else:
        return None
    return _found_as(node, kind, fallback)


def _found_as(
    node: nodes.Element,
    kind: str,
    fallback: str,
    groups: tuple[str, ...] = (),
    *,
    tested: bool = True,
) -> Found:
    code = str(node["test"]) if "test" in node else node.astext()
    source = _source_of(node)
    documented = _documented(node)
    path, line = locate(source, node.line, code, fallback, ".".join(filter(None, documented)))
    if not node.source and DOCSTRING not in (source or "") and not written_at(path, line, code):
        # content a directive generated (pygments' lexer docs, ViewList(source="")): its line
        # counts in that text (lexers.rst:6284 of a 69-line file); the page's line before it
        line = _line_before(node, source) or 1
    options = node.get("options") or {}
    flags = tuple((_FLAG_NAMES[f], bool(on)) for f, on in options.items() if f in _FLAG_NAMES)
    groups = tuple(node.get("groups") or ()) or groups
    module = docstring = None
    if kind == "transcript" and DOCSTRING in (source or ""):
        # a docstring's examples: in the page's group, as the doctest builder runs them, also
        # seeing their module's globals, as the project's own doctests do (Executor.with_module)
        name = str(source).partition(DOCSTRING)[2].strip()
        if "<locals>" in name and documented[1]:  # made by a factory: the name it is shown as
            name = ".".join(filter(None, documented))
            module = documented[0] or module_of(name)
        else:
            module = inherited_module(name) or module_of(name)
        docstring = name
    # the lines as ``code-block`` showed them (transaction's prose names them: "in line 12")
    highlight = node.get("highlight_args") or {}
    numbered = bool(node.get("linenos"))
    start = highlight.get("linenostart") if numbered else None
    return Found(
        kind=kind,
        code=code,
        path=path,
        line=line,
        groups=groups,
        flags=flags,
        hide=isinstance(node, nodes.comment) and kind not in ("testsetup", "testcleanup"),
        module=module,
        docstring=docstring,
        tested=tested,
        key=node,
        linenos=numbered,
        lineno_start=int(start) if isinstance(start, int) and start != 1 else None,
        emphasize_lines=tuple(int(n) for n in highlight.get("hl_lines") or ()),
    )


def _skipped(app: Any, condition: str, node: nodes.Element) -> bool:
    """``:skipif:``, evaluated as ``sphinx.ext.doctest`` does: in the build's Python, after
    ``doctest_global_setup``. A condition that fails is a warning and the block stays."""
    context: dict[str, Any] = {}
    try:
        setup = getattr(app.config, "doctest_global_setup", "") or ""
        if setup:
            exec(setup, context)
        return bool(eval(condition, context))
    except Exception as exc:  # the author's expression may raise anything
        logger.warning(
            f"pyrun: the :skipif: condition {condition!r} failed ({type(exc).__name__}: {exc}); "
            "the block stays as it is",
            # as the rest says where: relative to the working folder (Sphinx writes the
            # node's absolute source)
            location=f"{display_path(str(node.source))}:{node.line}" if node.source else node,
            type="pyrun",
            subtype="upgrade",
        )
        return True


def _documented(node: nodes.Element) -> tuple[str, str]:
    """The module and name of the autodoc entry around *node* (``("mpmath", "primepi2")``)."""
    entry = node.parent
    while entry is not None and not isinstance(entry, addnodes.desc):
        entry = entry.parent
    signature = entry.next_node(addnodes.desc_signature) if entry is not None else None
    if signature is None:
        return "", ""
    return str(signature.get("module") or ""), str(signature.get("fullname") or "")


def _line_before(node: nodes.Element, source: str | None) -> int | None:
    """The line of the last element of *source* before *node* in its document (what a
    directive generated has no line of the page's)."""
    line: int | None = None
    for other in node.document.findall(nodes.Element) if node.document is not None else ():
        if other is node:
            break
        if other.source == source and other.line:
            line = other.line
    return line


def _source_of(node: nodes.Element) -> str | None:
    """The node's source, else its nearest ancestor's, else (inside an autodoc entry) the
    docstring its neighbours come from: docutils leaves the source unset on some nodes (an
    indented doctest block in a docstring), whose line still counts in that docstring."""
    current: nodes.Node | None = node
    while current is not None:
        if current.source:
            break
        current = current.parent
    source = str(current.source) if current is not None and current.source else None
    if node.source or (source and DOCSTRING in source):
        return source
    entry = node.parent
    while entry is not None and not isinstance(entry, addnodes.desc_content):
        entry = entry.parent
    if entry is None:
        return _module_docstring(node) or source
    before: str | None = None
    after: str | None = None
    seen = False
    for other in entry.findall(nodes.Element):
        if other is node:
            seen = True
        elif other.source and DOCSTRING in other.source:
            if not seen:
                before = str(other.source)
            elif after is None:
                after = str(other.source)
    return before or after or source


def _module_docstring(node: nodes.Element) -> str | None:
    """``FILE:docstring of MODULE`` for a block of an ``automodule``'s own docstring: Sphinx
    gives those blocks no source nor line (ftfy's examples were reported at their page's line 1,
    without their module's globals), but ``py:module`` put the module's target before them. A
    block of the page itself without a source (a doctest block in a block quote, after
    ``.. module:: requests.models``) is not in that docstring: it stays the page's (it was
    reported at ``models.py``, the page's line, and ran with that module's globals)."""
    import inspect
    import sys

    module: str | None = None
    for other in node.document.findall(nodes.Element) if node.document is not None else ():
        if other is node:
            break
        # its target (whose ids a later transform may move), or the index entry beside it
        ids = list(other.get("ids", [])) if other.get("ismod") else []
        if isinstance(other, addnodes.index):
            entries: list[tuple[Any, ...]] = other.get("entries", [])
            ids += [str(entry[2]) for entry in entries if len(entry) > 2]
        named = [i.removeprefix("module-") for i in ids if i.startswith("module-")]
        module = named[0] if named else module
    loaded = sys.modules.get(module) if module else None
    first = next((line.strip() for line in node.astext().splitlines() if line.strip()), "")
    if loaded is None or first not in (inspect.getdoc(loaded) or ""):
        return None
    try:
        path = inspect.getsourcefile(loaded)
    except TypeError:  # a built-in module
        path = None
    return f"{path}{DOCSTRING}{module}" if path else None


def _in_opted_out_container(node: nodes.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if OPT_OUT_CLASS in getattr(parent, "get", lambda *_: [])("classes", []):
            return True
        parent = parent.parent
    return False


def _opted_out(document: nodes.document) -> bool:
    """``:pyrun: off`` among the page's metadata fields (MyST: ``pyrun: off`` front matter)."""
    for field in document.findall(nodes.field):
        name = field.next_node(nodes.field_name)
        body = field.next_node(nodes.field_body)
        if name is not None and name.astext().strip().lower() == "pyrun":
            if body is not None and body.astext().strip().lower() in ("off", "false", "no"):
                return True
    return False


def _setup_below_title(document: nodes.document) -> None:
    """Setup code written before the page's title (``.. testsetup::`` as a file's first lines)
    goes under the title: its "Setup code (runs first)" toggle sat above the page's heading,
    outside its section (boolean.py's user guide). It runs first wherever it is."""
    section = next((c for c in document.children if isinstance(c, nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        return
    setups = [
        child
        for child in document.children[: document.index(section)]
        if isinstance(child, pyrun_block)
        and child["pyrun"].options.hidden
        and not child["pyrun"].options.in_order
    ]
    for child in setups:
        document.remove(child)
    section.insert(1, setups)


def _widget(snippet: Snippet, original: nodes.Element | None) -> pyrun_block:
    node = pyrun_block(snippet.source, snippet.source)
    node["language"] = "python"
    node["pyrun"] = snippet
    node["linenos"] = False
    if original is not None:
        node["pyrun_original"] = original.deepcopy()
        node.source, node.line = original.source, original.line
    return node


def _global_setup_location(app: Any) -> tuple[str, int]:
    """``conf.py`` and the line where ``doctest_global_setup`` is set (for setup failures)."""
    conf = f"{app.confdir}/conf.py"
    try:
        with open(conf, encoding="utf-8") as handle:
            for number, text in enumerate(handle, 1):
                if text.lstrip().startswith("doctest_global_setup"):
                    return display_path(conf), number
    except OSError:
        pass
    return display_path(conf), 1
