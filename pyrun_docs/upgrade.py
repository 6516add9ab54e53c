"""Existing examples become snippets: the ``upgrade`` setting (``pyrun_upgrade``).

Projects already have their examples as ``>>>`` blocks, ``sphinx.ext.doctest`` directives and
Python code blocks. An adapter finds them in its own syntax tree and hands them here as
:class:`Found` blocks, in document order; :func:`upgrade_page` turns them into the core
:class:`~pyrun_docs.snippet.Snippet` with the sessions ``sphinx.ext.doctest`` would give them, so
the build check judges them as ``sphinx-build -b doctest`` does:

* a doctest group is a session (plain ``>>>`` blocks are in the ``default`` group of their page);
* ``testsetup`` blocks (and the site's ``doctest_global_setup``) are hidden setup snippets of the
  groups they name, which run first in their session; ``*`` names every group on the page;
* a ``testcode`` block followed by a ``testoutput`` block of the same group is one snippet whose
  output must match (:attr:`Snippet.expected`);
* ``testcleanup`` blocks are not shown (as in Sphinx) and not run: a reader's session has no end;
* a Python code block (the ``python`` kind) is a snippet of its own.

Every snippet made here has ``origin="upgrade"``: one the reader's runtime cannot run may stay the
plain block it was (``upgrade_failing``).
"""

from __future__ import annotations

import fnmatch
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from .doctest_flags import register_setup_flags
from .errors import OptionError
from .executor import parse_problem
from .fences import fence_end, strip_indent, swallowed_fences
from .options import SnippetOptions
from .snippet import UNTESTED, Snippet, is_transcript, normalize_code

#: what ``upgrade`` may name
UPGRADE_KINDS = ("doctest", "python")
#: what happens to an upgraded example that fails the check
FAILING_MODES = ("static", "error")
#: the group of ``>>>`` blocks outside any doctest directive (``doctest_test_doctest_blocks``)
DEFAULT_GROUP = "default"


def comments_as_prompts(code: str) -> str:
    """A transcript whose first lines are comments or prose (``# Set up a parser``, ``Set
    things up:``, then ``>>>`` examples), with those lines as comment-only examples (``>>> #
    Set up a parser``): doctest's parser skips text before the first prompt, so pyparsing's
    three ``.. doctest::`` blocks that start so, and zope.interface's with prose, were tested by
    the doctest builder and stayed plain, unchecked, blocks here (their group's later examples
    then failed for the names they set). The text stays in the code a reader edits, as comments;
    the lines keep their numbers. Without a prompt, *code* is left as it is."""
    lines = code.split("\n")
    for number, line in enumerate(lines):
        if line.strip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            head = [_as_comment(ln, indent) if ln.strip() else ln for ln in lines[:number]]
            return "\n".join(head + lines[number:])
    return code


def _as_comment(line: str, indent: str) -> str:
    text = line.strip()
    return f"{indent}>>> {text if text.startswith('#') else '# ' + text}"


@dataclass(frozen=True)
class Found:
    """An example block as an adapter found it.

    Attributes:
        kind: ``transcript`` (any ``>>>`` block), ``testsetup``, ``testcode``, ``testoutput``,
            ``testcleanup`` or ``python``.
        code: the block's text, as written (indentation is removed here).
        path: the file it is written in (a docstring's ``.py`` file, an included file).
        line: the 1-based line of the code's first line in *path*.
        groups: the doctest groups it belongs to (empty: ``default``).
        flags: doctest option changes of the directive's ``:options:`` as ``(name, on)``.
        hide: the directive's ``:hide:``: the block is not shown (it becomes a hidden snippet).
        module: a docstring's module: its examples run in their group (the page's, as the
            doctest builder runs them) and also see the module's globals, as doctest's finder
            and ``pytest --doctest-modules`` give them (the MkDocs adapter gives each docstring
            a group of its own, named after the object).
        docstring: the documented object whose docstring holds the block (with *module*).
        key: the adapter's handle on the block (its node), returned with the result.
        tested: the docs' own doctest run runs it (the doctest builder, ``python -m doctest``):
            ``False`` for a Sphinx ``pycon`` code block or ``::`` literal block, which only the
            check runs (:attr:`pyrun_docs.snippet.Snippet.tested`).
        linenos, lineno_start, emphasize_lines: how the block showed its lines (``code-block``'s
            options), which its widget keeps: the page's text may name them ("in line 3").
    """

    kind: str
    code: str
    path: str
    line: int
    groups: tuple[str, ...] = ()
    flags: tuple[tuple[str, bool], ...] = ()
    hide: bool = False
    module: str | None = None
    docstring: str | None = None
    key: object = field(default=None, compare=False)
    tested: bool = True
    linenos: bool = False
    lineno_start: int | None = None
    emphasize_lines: tuple[int, ...] = ()


@dataclass
class Upgraded:
    """What became of a found block: a snippet, or why it stays as it is."""

    found: Found
    snippet: Snippet | None = None
    reason: str = ""
    #: the file's line the reason is about, when not the block's first (doctest's parse error)
    line: int | None = None


def excluded(page: str, patterns: Iterable[str]) -> bool:
    """Whether *page* (a docname or page path) matches one of the ``upgrade_exclude`` globs."""
    return any(fnmatch.fnmatchcase(page, pattern) for pattern in patterns)


def upgrade_page(
    found: Sequence[Found],
    *,
    page: str,
    global_setup: str | None = None,
    setup_path: str = "conf.py",
    setup_line: int = 1,
) -> tuple[list[Snippet], list[Upgraded]]:
    """The snippets for the blocks found on one page.

    Returns:
        The hidden setup snippets of ``doctest_global_setup`` (one per group on the page; the
        adapter puts them before the page's first example), and for each found block what became
        of it. Snippets carry index 0: the adapter numbers every snippet of the page in order.
    """
    groups = _page_groups(found)
    untested = {g for g in groups if g.endswith(UNTESTED)}  # pycon and ``::`` blocks' sessions
    register_setup_flags(global_setup or "")
    results: list[Upgraded] = []
    last_testcode: dict[str, Upgraded] = {}
    copies: dict[int, list[Upgraded]] = {}  # a testcode's copies in its other groups
    for block in found:
        kind = block.kind
        group = _session(block)
        if kind == "testcleanup":
            results.append(Upgraded(block, reason="cleanup code runs only in the doctest builder"))
            continue
        if kind == "testsetup":
            register_setup_flags(block.code)  # before the examples using them are parsed
        if kind == "testoutput":
            owner = last_testcode.pop(group, None)
            if owner is None or owner.snippet is None:
                results.append(Upgraded(block, reason="a testoutput block without testcode"))
                continue
            for judged in (owner, *copies.get(id(owner), [])):
                assert judged.snippet is not None
                judged.snippet = replace(
                    judged.snippet,
                    expected=_dedent(block.code),
                    options=replace(
                        judged.snippet.options, flags=judged.snippet.options.flags + block.flags
                    ),
                )
            results.append(Upgraded(block, reason="shown with its testcode block"))
            continue
        try:
            code, skipped = normalize_code(block.code)
        except OptionError as exc:
            results.append(Upgraded(block, reason=exc.message))
            continue
        sessions = sorted(groups) if "*" in block.groups else _sessions(block)
        if kind == "testsetup":  # its group's blocks the doctest builder does not run too
            aside = [g + UNTESTED for g in sessions if g + UNTESTED in untested]
            sessions += [g for g in aside if g not in sessions]
        if not sessions:  # ``testsetup:: *`` on a page of no example (KonFoo's): nothing to set up
            results.append(Upgraded(block, reason="a setup for every group, on a page of none"))
            continue
        hidden = kind == "testsetup" or block.hide
        shown = SnippetOptions(
            linenos=block.linenos,
            lineno_start=block.lineno_start,
            emphasize_lines=block.emphasize_lines,
        )
        if kind != "python":
            options = replace(
                shown,
                session=sessions[0],
                hidden=hidden,
                in_order=block.hide and kind != "testsetup",
                flags=block.flags,
                module=block.module,
                docstring=block.docstring,
            )
        else:
            options = shown
        if kind in ("testsetup", "testcode") and is_transcript(code):
            # the doctest builder compiles it as code: a SyntaxError there, "1 failure in setup
            # code" (python-statemachine's release notes); here it ran as a transcript and passed
            reason = f"a {kind} block {CODE_WITH_PROMPTS} (a SyntaxError there): remove them"
            results.append(Upgraded(block, reason=reason))
            continue
        if kind == "transcript" and not is_transcript(code):
            code = comments_as_prompts(code)
        if kind == "transcript" and not is_transcript(code):
            results.append(Upgraded(block, reason="no >>> prompt on its first line"))
            continue
        if kind == "transcript" and block.tested:
            # (one the docs' doctest run never runs, a ``pycon`` block, is checked as one that
            # fails: it stays static with the reason, as a wrong output there does; its parse
            # error failed the check and warned under the doctest builder, which never saw it)
            problem = unparsable(code)
            if problem:
                at, reason = problem
                results.append(Upgraded(block, reason=reason, line=block.line + skipped + at - 1))
                continue
        snippet = Snippet(
            code=code,
            path=block.path,
            line=block.line + skipped,
            page=page,
            index=0,
            options=options,
            origin="upgrade",
            tested=block.tested,
            # a testcode block without a testoutput must print nothing, as the doctest builder
            # compares it with an empty output (its testoutput, when one follows, replaces this)
            expected="" if kind == "testcode" else None,
        )
        upgraded = Upgraded(block, snippet)
        results.append(upgraded)
        # a block of several groups (or ``*``) is in each, as the doctest builder runs it: a
        # hidden copy per other group, a setup there or an example run in its place (one in
        # ``g1, g2`` ran in g1 only: g2's later examples failed "in CPython too")
        for extra in sessions[1:]:
            in_order = kind != "testsetup"
            copy = replace(
                snippet,
                options=replace(
                    options, session=extra, hidden=True, in_order=in_order, repeated=True
                ),
            )
            copies.setdefault(id(upgraded), []).append(Upgraded(block, copy))
            results.append(copies[id(upgraded)][-1])
        if kind == "testcode":
            last_testcode[group] = upgraded
    setups: list[Snippet] = []
    if global_setup and global_setup.strip() and groups:
        code, skipped = normalize_code(global_setup)
        for name in sorted(groups):
            options = SnippetOptions(session=name, hidden=True, repeated=bool(setups))
            line = setup_line + skipped
            setups.append(Snippet(code, setup_path, line, page, 0, options, origin="upgrade"))
    return setups, results


#: why a ``testsetup``/``testcode`` block written as a transcript stays plain (it fails in the
#: doctest builder, so the adapters warn)
CODE_WITH_PROMPTS = "written with >>> prompts, which the doctest builder runs as Python code"


def _session(block: Found) -> str:
    """The session of a block's widget: its first doctest group (a snippet belongs to one
    session; its other groups get hidden copies)."""
    return _sessions(block)[0]


def _sessions(block: Found) -> list[str]:
    """A block's doctest groups, the first one first (``*`` aside). A transcript the doctest
    builder never runs is in a session of its own beside its group's (:data:`UNTESTED`): run
    in the group's, what it set changed the verdicts of the examples that builder judges
    (lazr.delegates' classes defined in a ``::`` block: the builder failed 14 examples, the
    check passed them all), and it is not what that builder ran."""
    named = [g for g in block.groups if g and g != "*"] or [DEFAULT_GROUP]
    if block.kind == "transcript" and not block.tested:
        return [g + UNTESTED for g in named]
    return named


def _page_groups(found: Sequence[Found]) -> set[str]:
    """The doctest groups of the page's examples (what ``*`` and the global setup apply to)."""
    return {g for b in found if b.kind in ("transcript", "testcode") for g in _sessions(b)}


def _dedent(text: str) -> str:
    body = textwrap.dedent(text.expandtabs(4)).strip("\n")
    return body + "\n" if body else ""


def unparsable(code: str) -> tuple[int, str] | None:
    """Why doctest cannot parse a transcript, and at which of its lines (1-based); ``None``
    when it can (the reason in the executor's words: the caller reports it at that line of the
    file, as the check does)."""
    import doctest

    try:
        doctest.DocTestParser().parse(code, "example")
    except ValueError as exc:
        line, reason = parse_problem(str(exc))
        return line or 1, reason
    return None


# --- Markdown (MkDocs): fenced code blocks ---------------------------------------------------------

#: fence languages that hold ``>>>`` transcripts, and Python code
TRANSCRIPT_LANGUAGES = frozenset({"pycon", "doctest", "python-console", "pycon3"})
PYTHON_LANGUAGES = frozenset({"python", "python3", "py", "py3"})
OPT_OUT_CLASS = "no-pyrun"

_OPEN = re.compile(r"^(?P<indent>[ \t>]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")


@dataclass(frozen=True)
class UpgradedFence:
    """A Markdown fence the upgrade turned into a ``pyrun`` fence (its original, for a static
    block if it cannot run)."""

    line: int
    language: str
    code: str
    #: the fence's ``title="..."`` (pymdownx.highlight's caption), kept on the static block
    title: str = ""


def upgrade_markdown(
    text: str, modes: Iterable[str]
) -> tuple[str, dict[int, UpgradedFence], list[tuple[int, str]]]:
    """Rewrite the page's ``pycon``/``python`` fences as ``pyrun`` fences (lines stay in place).

    Returns:
        The new text, the upgraded fences by their opening line (1-based), and the fences that
        look like transcripts but cannot be parsed, as ``(line, reason)`` (they stay as written).
    """
    modes = set(modes)
    lines = text.split("\n")
    upgraded: dict[int, UpgradedFence] = {}
    problems: list[tuple[int, str]] = []
    ends: dict[int, int] = {}  # an upgraded fence's line -> its closing line's index
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence, info = match.group("indent"), match.group("fence"), match.group("info")
        end = fence_end(lines, i, fence)
        language, classes = _fence_language(info)
        body = "\n".join(strip_indent(ln, len(indent)) for ln in lines[i + 1 : end])
        kind = (
            _fence_kind(language, body, modes)
            if OPT_OUT_CLASS not in classes
            and not _foreign_options(info)
            and not ANNOTATION.search(body)
            else None
        )
        if kind == "transcript":
            problem = unparsable(textwrap.dedent(body))
            if problem:
                problems.append((i + 1 + problem[0], problem[1]))  # body line 1: after the fence
                kind = None
        if kind == "transcript":  # its leading comments as comment-only examples, in place
            lines[i + 1 : end] = comments_as_prompts("\n".join(lines[i + 1 : end])).split("\n")
        if kind is not None:
            header = 'pyrun session="default"' if kind == "transcript" else "pyrun"
            # the fence's own options go along (title, hl_lines, linenums: dirty-equals' every
            # example had a title, and its widgets and static blocks lost them)
            options = _fence_options(info)
            lines[i] = f"{indent}{fence}{header}{' ' + options if options else ''}"
            title = _TITLE.search(options)
            upgraded[i + 1] = UpgradedFence(
                i + 1, language, textwrap.dedent(body), title.group(1) if title else ""
            )
            ends[i + 1] = end
        i = end + 1
    if upgraded:  # one SuperFences will read as part of another block stays as written, said so
        original = text.split("\n")
        for line, why in swallowed_fences("\n".join(lines)):
            if line in upgraded:
                del upgraded[line]
                lines[line - 1 : ends[line] + 1] = original[line - 1 : ends[line] + 1]
                problems.append((line, f"SuperFences does not read it as a fence: {why}"))
    return "\n".join(lines), upgraded, problems


_TITLE = re.compile(r'\btitle="([^"]*)"')
#: the options of a fence header that are pymdownx.highlight's: a fence with others belongs to
#: another extension (markdown-exec's ``exec="on"`` runs it at build time and shows its output:
#: made a widget, that output was gone and ``exec`` an "unknown option")
HIGHLIGHT_OPTIONS = frozenset({"title", "hl_lines", "linenums"})
#: one word of a fence header: ``key="a value"``, a bare flag, ``.class``, ``#id``
_WORD = re.compile(r"""(?:[^\s"'{}]+|"[^"]*"|'[^']*')+""")


#: a mkdocs-material code annotation marker (``# (1)!``) at the end of a line: the list after
#: the fence explains it; a widget would show the marker as a comment and that list as a list
ANNOTATION = re.compile(r"#\s*\(\d+\)!?[ \t]*$", re.MULTILINE)


def _foreign_options(info: str) -> bool:
    """Whether the header has options that are not pymdownx.highlight's: ``key=value`` ones
    (markdown-exec's ``exec="on"``) and bare flags (pymdown-extensions' own docs run
    ```` ```py play ```` fences at build time: a widget lost their output)."""
    words = _WORD.findall(info.strip())
    if not info.strip().startswith("{"):
        words = words[1:]  # the language
    keys = (word.split("=", 1)[0] for word in words if not word.startswith((".", "#")))
    return any(key not in HIGHLIGHT_OPTIONS for key in keys)


def _fence_options(info: str) -> str:
    """What follows the language in a fence header (``python title="x" hl_lines="2"`` ->
    ``title="x" hl_lines="2"``); the ``{.python ...}`` form keeps none."""
    info = info.strip()
    if not info or info.startswith("{"):
        return ""
    return info[len(_language_word(info)) :].strip()


def _language_word(info: str) -> str:
    """A (stripped, non-brace) fence header's language as written: its first word, unless that
    is an option (```` ``` hl_lines="2" ````: a fence without a language)."""
    first = info.split()[0] if info else ""
    return "" if "=" in first else first


def _fence_language(info: str) -> tuple[str, set[str]]:
    """A fence header's language and classes: ``python title="x"`` or ``{.python .no-pyrun}``."""
    info = info.strip()
    if info.startswith("{"):
        classes = {part[1:] for part in info.strip("{}").split() if part.startswith(".")}
        first = next((part[1:] for part in info.strip("{}").split() if part.startswith(".")), "")
        return first.lower(), classes
    return _language_word(info).lower(), set()


def starts_as_transcript(code: str, comments_only: bool = False) -> bool:
    """Whether *code* is a console session: its first line a ``>>>`` prompt, or lines before
    the first prompt that doctest's parser skips (a fence or a ``code-block:: python`` starting
    ``# Doubling, interactively:`` was left a plain block, unchecked, silently: seven of
    recurring-ical-events' blocks). *comments_only*: those lines must be comments (a Python or
    literal block starting ``$ pip install x`` is a listing, not a session)."""
    code = textwrap.dedent(code)
    if comments_only:
        head = code.split(">>>", 1)[0].splitlines()
        if any(line.strip() and not line.lstrip().startswith("#") for line in head):
            return False
    return is_transcript(comments_as_prompts(code))


def _fence_kind(language: str, body: str, modes: set[str]) -> str | None:
    code = textwrap.dedent(body)
    transcript = starts_as_transcript(code)
    # a fence without a language holding a transcript is one too, as ``python -m doctest``
    # runs it (pyfields' pages: 10 of 35 examples in bare fences, unchecked, without a word)
    if language in TRANSCRIPT_LANGUAGES or (language in ("", *PYTHON_LANGUAGES) and transcript):
        return "transcript" if "doctest" in modes and transcript else None
    if language in PYTHON_LANGUAGES and "python" in modes and code.strip() and compiles(code):
        # bare values (Python-Markdown's ``toc_tokens`` listing) show data, not an example
        return "python" if does_something(code) else None
    return None


def does_something(code: str) -> bool:
    """Whether Python *code* does more than name values (an assignment, an import, a call, a
    loop): a block of bare values (``[1, 2, 3]``, ``HTTPError``) in a literal block Sphinx
    highlights as ``default`` is an output or a listing, not an example to run."""
    import ast

    try:
        tree = ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError):
        return False
    return any(not isinstance(statement, ast.Expr) for statement in tree.body) or any(
        isinstance(node, ast.Call) for node in ast.walk(tree)
    )


def compiles(code: str) -> bool:
    """Whether *code* (indented as written, top-level ``await`` allowed) is Python: a block that is
    not (a fragment, pseudo-code) is not an example to run."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(textwrap.dedent(code), "<block>", "exec", 0x2000, dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
    return True
