"""Every example to take away: a ``.py`` per widget and a notebook (``.ipynb``) per page.

A reader who wants to keep working on an example should not have to copy it and the three setup
blocks it depends on by hand. Each widget links a script that runs as is with CPython (its session's
hidden setup and earlier snippets first, then the snippet; a final expression printed as the widget
shows it), and each page a notebook with one code cell per snippet (per example of a ``>>>``
transcript) in the order a reader runs them, carrying the outputs the build check verified. Both
are generated at build time, plain files linked from the widget, so no JavaScript is needed to
download them.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import re
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

from .config import PyrunConfig
from .locate import installed_part
from .outputs import Recorded, notebook_outputs
from .sessions import execution_order, is_setup, session_chains
from .snippet import Snippet

#: nbformat version written (4.5: cells carry ids)
NBFORMAT = (4, 5)

_SHOW = '''def _show(value):
    """What the page shows for a final expression: its repr (None shows nothing)."""
    if value is not None:
        print(repr(value))
'''

_EXCEPTION = '''def _exception(error):
    """An exception as a traceback ends: ``json.decoder.JSONDecodeError: ...``."""
    import traceback

    print(traceback.format_exception_only(type(error), error)[-1], end="")
'''

_DISPLAY = '''def display(*objs):
    """pyrun's display() in a terminal: each object's repr."""
    for obj in objs:
        print(repr(obj))
'''


@dataclass(frozen=True)
class PageFiles:
    """The take-away files of one page: ``scripts[index]`` is the ``.py`` text of the snippet with
    that index, ``notebook`` the page's ``.ipynb`` JSON (``None``: no snippet to put in one)."""

    scripts: dict[int, str]
    notebook: str | None


def page_files(
    snippets: Sequence[Snippet],
    config: PyrunConfig,
    *,
    title: str,
    shown: Callable[[Snippet], Recorded | None] = lambda s: None,
    failed: Callable[[Snippet], bool] = lambda s: False,
) -> PageFiles:
    """The scripts and the notebook of a page whose snippets are *snippets*.

    Args:
        title: the page's title, for the files' headers.
        shown: the verified output of a snippet (the check's), put into its notebook cell.
        failed: whether the check found a snippet failing (or kept it static): run first
            in a later snippet's script, it must not end that script (:func:`page_scripts`).
    """
    return PageFiles(
        page_scripts(snippets, config, title=title, failed=failed),
        page_notebook(snippets, config, title=title, shown=shown, failed=failed),
    )


def scripted(snippets: Sequence[Snippet]) -> list[int]:
    """The indices of the snippets that get a script: the visible ones (a hidden setup runs
    first in the scripts of its session)."""
    return sorted(s.index for s in snippets if not s.options.hidden)


def page_scripts(
    snippets: Sequence[Snippet],
    config: PyrunConfig,
    *,
    title: str,
    failed: Callable[[Snippet], bool] = lambda s: False,
) -> dict[int, str]:
    """The ``.py`` text of each visible snippet, by index (hidden setup runs first in each).

    An earlier snippet that *failed* runs guarded where a later one's script runs it first, as
    the page runs it hidden and goes on: bitmath's page had a docs bug in one example, and
    all 15 of its later scripts stopped there (each example in ``try``; one that does not
    parse, left as a comment). The snippet's own script runs it as written.

    Each snippet's script code is made once per page: every script of a session repeats the
    earlier snippets' code, and parsing each again for every later script made a page of one
    session quadratic (60 transcripts: 0.6 s a page; a Sphinx page of doctest blocks is one)."""
    page = sorted(snippets, key=lambda s: s.index)
    codes: dict[tuple[int, bool], str] = {}

    def code_of(snippet: Snippet, first: bool) -> str:
        key = (snippet.index, first and failed(snippet))
        if key not in codes:
            chain = chains[snippet.index]  # its session up to it: the one before runs before
            before = chain[-2] if len(chain) > 1 else None
            codes[key] = _code_of(snippet, guarded=key[1], continued=_continues(before, snippet))
        return codes[key]

    chains = session_chains(page, config)
    wanted = set(scripted(page))
    return {
        s.index: script(chains[s.index], title=title, code_of=code_of)
        for s in page
        if s.index in wanted
    }


def page_notebook(
    snippets: Sequence[Snippet],
    config: PyrunConfig,
    *,
    title: str,
    shown: Callable[[Snippet], Recorded | None] = lambda s: None,
    failed: Callable[[Snippet], bool] = lambda s: False,
) -> str | None:
    """The page's notebook JSON (``None``: no snippet to put in one)."""
    order = execution_order(sorted(snippets, key=lambda s: s.index), config)
    return notebook(order, title=title, shown=shown, failed=failed) if order else None


def script_name(page: str, index: int) -> str:
    """The file name of snippet *index*'s script: ``intro-example-3.py`` for page ``guide/intro``."""
    return f"{_stem(page)}-example-{index + 1}.py"


def _runs_with(chain: Sequence[Snippet], bodies: Sequence[str]) -> str:
    """How to run the script: as is with CPython, naming what it imports beyond the standard
    library (the project, its packages: "Runs as is with CPython" stopped at ``from shapes
    import Rect`` where the project was not installed, without a word of it)."""
    import sys

    from .executor import imports_of

    modules = {m for body in bodies for m in imports_of(body)}
    modules |= {s.options.module.split(".")[0] for s in chain if s.options.module}
    outside = sorted(m for m in modules if m not in sys.stdlib_module_names and m != "__future__")
    if not outside:
        return "# Runs as is with CPython: python this_file.py"
    return f"# Runs with CPython where {', '.join(outside)} can be imported: python this_file.py"


def _published(snippet: Snippet, line: int | None = None) -> str:
    """Where *snippet* is written, as a file anyone may read it in: a docstring of an installed
    package by its path in the package (``packaging/version.py:7``), not the machine's that
    built the docs (``/home/docs/.../site-packages/...``: 105 of packaging's 109 scripts)."""
    path = snippet.path
    if os.path.isabs(path):
        parts = PurePath(path).parts
        # from its package's folder on (a ``pip install --target`` folder has no site-packages)
        top = (snippet.options.module or "").split(".")[0]
        inside = [i for i, part in enumerate(parts) if top and part in (top, f"{top}.py")]
        if inside:
            path = "/".join(parts[inside[-1] :])
        else:
            installed = installed_part(path)
            path = installed.as_posix() if installed is not None else PurePath(path).name
    return f"{path}:{snippet.line if line is None else line}"


def notebook_name(page: str) -> str:
    """The file name of a page's notebook: ``intro.ipynb`` for ``guide/intro`` or ``guide/intro.md``."""
    return f"{_stem(page)}.ipynb"


def _stem(page: str) -> str:
    name = page.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name or "index"


_DISPLAY_CALL = re.compile(r"\bdisplay\s*\(")


def script(
    chain: Sequence[Snippet],
    *,
    title: str,
    code_of: Callable[[Snippet, bool], str] | None = None,
) -> str:
    """A ``.py`` running *chain* (a session's snippets up to the last, which is the one taken
    away) in one namespace, as the reader's widget runs them. *code_of*: a snippet's script
    code, given whether it runs first (:func:`page_scripts` passes one that guards a failing
    snippet run first, and remembers each for the page)."""
    target = chain[-1]
    bodies = [
        code_of(s, s is not target)
        if code_of
        else _code_of(s, continued=_continues(chain[i - 1] if i else None, s))
        for i, s in enumerate(chain)
    ]
    helpers = [_SHOW] if any("_show(" in body for body in bodies) else []
    if any("_exception(error)" in body for body in bodies):
        helpers.append(_EXCEPTION)
    if any("display" in body and _DISPLAY_CALL.search(body) for body in bodies):
        helpers.append(_DISPLAY)
    lines = [
        f"# {title}: example {target.index + 1} ({_published(target)}), taken away from the docs.",
        _runs_with(chain, bodies),
        "",
        *helpers,
    ]
    for snippet, body in zip(chain, bodies, strict=True):
        role = "the example" if snippet is target else _role(snippet)
        lines.append(f"# --- {role} ({_published(snippet)}) ---")
        lines.append(body.rstrip("\n"))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def notebook(
    order: Sequence[Snippet],
    *,
    title: str,
    shown: Callable[[Snippet], Recorded | None] = lambda s: None,
    failed: Callable[[Snippet], bool] = lambda s: False,
) -> str:
    """An nbformat 4 notebook: a Markdown cell naming the page, then one code cell per snippet
    in *order* (per example of a transcript) with its verified outputs (hidden setup cells
    collapsed). The cells of a snippet that *failed* are tagged ``raises-exception``, so Run
    All goes on past them, as the page does."""
    cells: list[dict[str, Any]] = [
        {
            "cell_type": "markdown",
            "id": "pyrun-title",
            "metadata": {},
            "source": f"# {title}\n\nThe examples of this page, in the order they run.",
        }
    ]
    helpers = False  # the `_show` cell, put before the first cell that needs it
    for before, snippet in zip([None, *order], order, strict=False):
        recorded = shown(snippet)
        continued = _continues(before, snippet)
        parts = _transcript_cells(snippet, recorded, continued) if snippet.is_transcript else None
        if parts is None:
            outputs = notebook_outputs(recorded) if recorded else []
            code = _module_prelude(snippet, continued) + snippet.source
            parts = [_Cell(code, outputs, _raises_as_expected(snippet))]
        if not helpers and any(part.shows for part in parts):
            helpers = True
            cells.append(_helper_cell())
        for number, part in enumerate(parts):
            line = snippet.source_line(part.line) if part.line else snippet.line
            metadata: dict[str, Any] = {"pyrun": {"source": _published(snippet, line)}}
            if snippet.options.hidden:
                metadata["jupyter"] = {"source_hidden": True}
            if part.raises or failed(snippet):  # Jupyter's Run All and nbclient go on past it
                metadata["tags"] = ["raises-exception"]
            cells.append(
                {
                    "cell_type": "code",
                    "id": f"pyrun-{snippet.index}" + (f"-{number + 1}" if number else ""),
                    "metadata": metadata,
                    "execution_count": None,
                    "source": part.code.rstrip("\n"),
                    "outputs": part.outputs,
                }
            )
    document = {
        "nbformat": NBFORMAT[0],
        "nbformat_minor": NBFORMAT[1],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": cells,
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class _Cell:
    """A notebook code cell of a snippet: *line*, its example's line in the snippet (0: the
    snippet's first); *raises*, whether the docs show it raising."""

    code: str
    outputs: list[dict[str, Any]]
    raises: bool = False
    line: int = 0
    #: the code calls ``_show`` (:func:`_helper_cell`)
    shows: bool = False


def _helper_cell() -> dict[str, Any]:
    """The hidden cell defining ``_show``, which a cell calls for a value the prompt shows
    and a notebook does not: one in a loop's body, or not the cell's last statement."""
    return {
        "cell_type": "code",
        "id": "pyrun-show",
        "metadata": {"jupyter": {"source_hidden": True}},
        "execution_count": None,
        "source": _SHOW.rstrip("\n"),
        "outputs": [],
    }


def _transcript_cells(
    snippet: Snippet, recorded: Recorded | None, continued: bool = False
) -> list[_Cell] | None:
    """A transcript as a notebook: a cell per example, as a notebook user types them (one cell
    of every statement showed only the last value when run again, and an expected exception
    stopped Run All there), each with the output the check verified after that example's
    prompt. ``None``: a transcript doctest cannot parse (one cell, as written)."""
    examples = snippet.examples
    if not examples:
        return None
    heard = _per_example(recorded, len(examples))  # skipped ones are echoed too
    cells: list[_Cell] = []
    for number, (lead, example) in enumerate(_led(snippet, examples)):
        if _skipped(snippet, example):
            code = lead + _SKIPPED + textwrap.indent(example.source, "# ")
            cells.append(_Cell(code, [], line=example.line))
        else:
            outputs = notebook_outputs(heard[number]) if heard else []
            raises = example.exc_msg is not None
            # the prompt shows every expression statement's value (netaddr's loop of
            # ``str(oui)``); a notebook only a cell's last one: the others call ``_show``
            code = _show_values(example.source, shown_last=True)
            shows = code != example.source
            cells.append(_Cell(lead + code, outputs, raises, example.line, shows))
    return [replace(cells[0], code=_module_prelude(snippet, continued) + cells[0].code), *cells[1:]]


def _led(snippet: Snippet, examples: list[Any]) -> Iterator[tuple[str, Any]]:
    """Each example with the comment-only prompts before it as comment lines
    (``>>> # now sort it``), which lead its cell or its part of a script, as in the block."""
    from .executor import led_examples

    for comments, example in led_examples(snippet.code, examples)[0]:
        # text between examples (a newline first) as a comment too; not a blank between groups
        yield (
            "".join(f"# {c[1:]}\n" if c[:1] == "\n" else f"{c}\n" for c in comments if c.strip()),
            example,
        )


def _per_example(recorded: Recorded | None, count: int) -> list[Recorded]:
    """*recorded* (a transcript's console view) cut at each example's echoed prompt: what each of
    *count* examples showed, or nothing when they cannot be told apart (text cut from the head)."""
    if recorded is None or recorded.cut or recorded.displays_cut:
        return []
    groups: list[list[Any]] = []
    for item in recorded.items:
        if item.get("stream") == "echo":  # the prompts of one or more examples (merged)
            lines = str(item.get("text", "")).splitlines()
            groups.extend([] for line in lines if _starts_example(line))
        elif not groups:
            return []  # output before the first prompt: not a console view we know
        else:
            groups[-1].append(item)
    return [Recorded(tuple(group)) for group in groups] if len(groups) == count else []


def _starts_example(echoed: str) -> bool:
    """Whether an echoed line is an example's first: a prompt, not a comment-only or bare one
    (the console view shows those too, where the block has them)."""
    code = echoed[3:].strip() if echoed.startswith(">>>") else ""
    return bool(code) and not code.startswith("#")


def _skipped(snippet: Snippet, example: Any) -> bool:
    """Whether doctest skips *example* of *snippet* (its own ``+SKIP``, or the block's)."""
    import doctest

    return snippet.skips_examples or (doctest.SKIP, True) in example.options


#: the head of a commented-out example doctest skips
_SKIPPED = "# doctest skips this example:\n"


def _role(snippet: Snippet) -> str:
    if is_setup(snippet):
        return "setup"
    hidden = "hidden " if snippet.options.hidden else ""
    return f"{hidden}example {snippet.index + 1}, run first"


def _continues(before: Snippet | None, snippet: Snippet) -> bool:
    """Whether *snippet* is a later block of the docstring whose block *before* runs just
    before it: its module's globals are in already, and the names the earlier blocks bound
    over them must stay (babel's ``from datetime import datetime`` in a docstring's first block,
    then ``datetime(2007, 4, 1)``: bringing in the module again, which imports ``datetime``,
    made it the module: 57 of babel's 243 scripts failed in CPython, the check and the widgets
    passed them; :meth:`pyrun_docs.executor.Executor.with_module` keeps them too)."""
    docstring = snippet.options.docstring
    return (
        before is not None
        and docstring is not None
        and before.options.docstring == docstring
        and before.options.module == snippet.options.module
        and before.options.session == snippet.options.session
    )


def _module_prelude(snippet: Snippet, continued: bool = False) -> str:
    """A docstring's examples run in their module's namespace: bring it in first (not again
    for a later block of the same docstring: :func:`_continues`)."""
    if not snippet.options.module or continued:
        return ""
    return (
        "import importlib as _importlib\n"
        f"globals().update({{k: v for k, v in vars(_importlib.import_module({snippet.options.module!r}))"
        '.items() if not k.startswith("__")})\n'
    )


def _code_of(snippet: Snippet, guarded: bool = False, continued: bool = False) -> str:
    """The snippet as script code: prompts gone, and every value the widget would show (a
    transcript's expression examples, a final expression) printed with ``_show``. As doctest
    runs a transcript: an example that expects an exception shows it and the script goes on
    (it stopped there, the later examples never ran), one doctest skips is a comment. A
    transcript doctest cannot parse (the check reports it at its line) is its code as the
    reader edits it. *guarded*: the snippet fails in the docs and runs before another, so an
    exception it raises is shown and the script goes on (:func:`_guard`). *continued*: a later
    block of the docstring run just before (:func:`_continues`)."""
    examples = snippet.examples
    if examples is not None:
        parts: list[str] = []
        for lead, example in _led(snippet, examples):
            code = _show_values(example.source)
            code = code if code.endswith("\n") else code + "\n"
            if _skipped(snippet, example):
                parts.append(lead + _SKIPPED + textwrap.indent(code, "# "))
            elif example.exc_msg is not None:
                parts.append(lead + _EXPECTED_RAISE.format(body=textwrap.indent(code, "    ")))
            else:
                parts.append(lead + (_guard(code) if guarded else code))
        code = "".join(parts)
    elif snippet.expected is not None:
        # a testcode block: doctest shows what it prints, not its last value; one whose
        # testoutput is a traceback goes on after it (pyparsing's later scripts, which run it
        # first, all died there)
        code = snippet.source
        if _raises_as_expected(snippet):
            code = _EXPECTED_RAISE.format(body=textwrap.indent(code, "    "))
        elif guarded:
            code = _guard(code)
    else:
        code = _show_last(snippet.source)
        if _raises_as_expected(snippet):  # a ``raises`` snippet: shown, and the script goes on
            code = _EXPECTED_RAISE.format(body=textwrap.indent(code, "    "))
        elif guarded:
            code = _guard(code)
    return _module_prelude(snippet, continued) + code


def _guard(code: str) -> str:
    """*code*, which fails in the docs, as a script runs it before a later example: in ``try``,
    the exception shown; code that does not parse (no statement of it runs), a comment."""
    code = code if code.endswith("\n") else code + "\n"
    try:
        compile(code, "<example>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return _UNPARSABLE + textwrap.indent(code, "# ")
    return _FAILS.format(body=textwrap.indent(code, "    "))


#: an example that fails in the docs, run first by a later one's script
_FAILS = """try:
{body}except Exception as error:  # fails in the docs too; the page goes on after it
    _exception(error)
"""

#: the head of an example that fails in the docs because it does not parse
_UNPARSABLE = "# does not parse (it fails in the docs too), so it is left out:\n"


def _raises_as_expected(snippet: Snippet) -> bool:
    """Whether *snippet* raises as its docs show: a ``raises`` snippet (its notebook cell was not
    tagged, so Run All stopped there; its script ended there), or a ``testcode`` block whose
    ``testoutput`` is the exception it raises."""
    from .executor import expected_exception

    if snippet.options.raises:
        return True
    return snippet.expected is not None and expected_exception(snippet.expected) is not None


#: an example whose docs show the exception it raises, as a script that goes on after it
_EXPECTED_RAISE = """try:
{body}except Exception as error:  # the docs show this exception
    _exception(error)
"""


def _show_last(code: str) -> str:
    """*code* with its final expression statement wrapped in ``_show(...)`` (as the widget and
    doctest display it); code that does not parse in this Python stays as it is."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr) or last.col_offset != 0:
        return code
    return _wrapped(code, [last])


def _show_values(code: str, shown_last: bool = False) -> str:
    """*code* (one example of a transcript) as the prompt runs it: every expression statement
    outside a function or class shows its value (compile mode ``single``), also in a loop's
    body (netaddr's ``for i in range(oui.reg_count): str(oui), ...`` printed nothing in its
    script); each is wrapped in ``_show(...)``. *shown_last*: the host shows a final
    expression statement's value itself (a notebook cell), so that one stays as written.
    Code that does not parse stays as it is."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    found: list[ast.Expr] = []
    pending: list[ast.AST] = list(tree.body)
    if shown_last and pending and isinstance(pending[-1], ast.Expr):
        pending.pop()
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Expr):
            found.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            pending.extend(
                child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)
            )
            for case in getattr(node, "cases", ()):  # match statements
                pending.extend(case.body)
            for handler in getattr(node, "handlers", ()):  # try statements
                pending.extend(handler.body)
    return _wrapped(code, found)


def _wrapped(code: str, statements: list[ast.Expr]) -> str:
    """*code* with the values of *statements* wrapped in ``_show(...)``, in place; a call of
    ``print`` or ``display`` shows nothing more than it prints, and stays as it is."""
    lines = code.splitlines(keepends=True)
    starts = list(itertools.accumulate((len(text) for text in lines), initial=0))

    def offset(line: int, column: int) -> int:  # ast's columns count UTF-8 bytes
        return starts[line - 1] + len(lines[line - 1].encode("utf-8")[:column].decode("utf-8"))

    # from the last: what is wrapped lies after every statement still to wrap (no expression
    # statement holds another), so the offsets in *code* as written stay right
    shown = code
    for statement in sorted(statements, key=lambda s: (s.lineno, s.col_offset), reverse=True):
        value = statement.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") in {"print", "display"}:
            continue
        if value.end_lineno is None or value.end_col_offset is None:
            continue
        start = offset(value.lineno, value.col_offset)
        end = offset(value.end_lineno, value.end_col_offset)
        segment = code[start:end]
        # a bare tuple (``a, b``) is one value: ``_show(a, b)`` was a TypeError (29 of
        # packaging's 109 scripts)
        bare = isinstance(value, ast.Tuple)
        shown = (
            shown[:start] + (f"_show(({segment}))" if bare else f"_show({segment})") + shown[end:]
        )
    return shown
