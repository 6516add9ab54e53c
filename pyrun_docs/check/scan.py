"""Find snippets in documentation sources without building: ``pyrun-docs check docs/``.

Reads three syntaxes, each into the core :class:`~pyrun_docs.snippet.Snippet` with the same lines
and options the adapters produce:

* reST: ``.. pyrun::`` with ``:option: value`` lines, at any indentation (inside ``.. note::``...);
  directives whose body is not reST (``code-block``, ``literalinclude``...), literal blocks after
  ``::`` and comments are skipped, so documentation *about* pyrun is not mistaken for snippets.
* MyST Markdown: ```` ```{pyrun} ```` (or ``:::{pyrun}``) with ``:option: value`` lines or a
  ``---`` block of ``key: value`` lines.
* MkDocs Markdown: ```` ```pyrun key="value" flag ```` and ```` ```{.pyrun key="value"} ````, also
  indented inside admonitions and content tabs, read by :func:`pyrun_docs.fences.find_fences`
  (the MkDocs adapter's own reader, so the two cannot drift apart).

In a Sphinx project (:class:`SphinxSources`, from its ``conf.py``) only the files its build reads
are pages (``source_suffix``, ``include_patterns``, ``exclude_patterns``), and ``.. include::`` is
followed as docutils follows it: an included file's snippets belong to the including page, in its
order and sessions, at the included file's lines.

Every problem (unknown option, bad value, unreadable fence header, empty snippet) is a
:class:`~pyrun_docs.errors.PyrunError` with its ``file:line``; a snippet with a bad option is kept
without it, as the adapters do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrun_docs.errors import OptionError, PyrunError
from pyrun_docs.fences import SWALLOWED, closes, find_fences, normalize_flags, swallowed_fences
from pyrun_docs.options import emphasis_problem, parse_options_lenient
from pyrun_docs.snippet import Snippet, normalize_code
from pyrun_docs.upgrade import excluded, upgrade_markdown

SUFFIXES = (".rst", ".md")
SKIP_DIRS = frozenset(
    {"_build", "build", "site", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".nox"}
)
#: directives whose body is not reST: a ``.. pyrun::`` inside one is an example, not a snippet
LITERAL_DIRECTIVES = frozenset(
    {
        "code-block", "code", "sourcecode", "literalinclude", "highlight", "parsed-literal",
        "testcode", "testoutput", "testsetup", "testcleanup", "doctest", "raw", "math",
        "csv-table", "productionlist", "graphviz", "mermaid", "jupyter-execute", "ipython",
        "plot", "pyrun", "only-text",
    }
)  # fmt: skip

_RST_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\.[ \t]+(?P<name>[\w:.+-]+)::(?P<arg>.*)$")
_RST_COMMENT = re.compile(r"^(?P<indent>[ \t]*)\.\.(?:[ \t]|$)")
_RST_OPTION = re.compile(r"^[ \t]+:(?P<name>[^:\s][^:]*):(?:[ \t]+(?P<value>.*))?$")
_MYST_OPEN = re.compile(
    r"^(?P<indent>[ \t>]*)(?P<fence>`{3,}|~{3,}|:{3,})[ \t]*\{pyrun\}(?P<arg>.*)$"
)
_ANY_FENCE = re.compile(r"^(?P<indent>[ \t>]*)(?P<fence>`{3,}|~{3,}|:{3,})")
_MYST_INCLUDE = re.compile(
    r"^(?P<indent>[ \t>]*)(?P<fence>`{3,}|~{3,}|:{3,})[ \t]*\{include\}(?P<arg>.*)$"
)
_MYST_OPTION = re.compile(r"^:(?P<name>[^:\s][^:]*):(?:[ \t]+(?P<value>.*))?$")
#: a MyST directive fence whose body is Markdown again (``{note}``, ``{admonition}``, ``{tab-item}``)
_MYST_CONTAINER = re.compile(
    r"^[ \t>]*(?:`{3,}|~{3,}|:{3,})[ \t]*\{(?!(?:code-block|code|sourcecode|literalinclude|"
    r"testcode|testoutput|doctest|raw|math|eval-rst|pyrun|mermaid|graphviz)\})[\w:.+-]+\}"
)


@dataclass
class ScanResult:
    """Snippets per page (one page per file) and the problems found on the way."""

    pages: dict[str, list[Snippet]] = field(default_factory=dict)
    errors: list[PyrunError] = field(default_factory=list)
    files: int = 0

    @property
    def snippets(self) -> list[Snippet]:
        return [s for page in self.pages.values() for s in page]


@dataclass(frozen=True)
class SphinxSources:
    """Which files a Sphinx build reads as pages: ``conf.py``'s ``source_suffix``,
    ``include_patterns`` and ``exclude_patterns``, relative to the source folder.

    A file the build does not read (an ``exclude_patterns`` match that is only pulled into other
    pages by ``.. include::``) is no page for the check either; its snippets count where it is
    included, as in the build.
    """

    srcdir: Path
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ("**",)
    suffixes: tuple[str, ...] = (".rst",)

    @classmethod
    def from_conf(cls, srcdir: Path, conf: Mapping[str, Any]) -> SphinxSources:
        """The rules from the values of a ``conf.py`` (Sphinx's defaults where it sets none)."""
        suffix = conf.get("source_suffix", {".rst": "restructuredtext"})
        suffixes = [suffix] if isinstance(suffix, str) else list(suffix)
        extensions = conf.get("extensions") or ()
        if any(e in extensions for e in ("myst_parser", "myst_nb")):
            suffixes.append(".md")  # registered by the parser extension itself
        return cls(
            srcdir=srcdir.resolve(),
            exclude=tuple(conf.get("exclude_patterns") or ()),
            include=tuple(conf.get("include_patterns") or ("**",)),
            suffixes=tuple(dict.fromkeys(str(x) for x in suffixes)),
        )

    def is_page(self, path: Path) -> bool:
        """Whether the build reads *path* as a page (files outside the source folder: yes, they
        were named on purpose)."""
        try:
            rel = path.resolve().relative_to(self.srcdir).as_posix()
        except ValueError:
            return True
        if not rel.endswith(self.suffixes):
            return False
        if not _matches(self.include, rel):
            return False
        parents = [rel.rsplit("/", k)[0] for k in range(1, rel.count("/") + 1)]
        return not any(_matches(self.exclude, x) for x in (rel, *parents))


def _matches(patterns: Iterable[str], path: str) -> bool:
    """Whether *path* matches one of *patterns* as ``sphinx.util.matching.Matcher`` decides: a
    leading ``**/`` also matches at the top folder."""
    return any(
        _glob(p).match(path) or (p.startswith("**/") and _glob(p[3:]).match(path)) for p in patterns
    )


def _glob(pattern: str) -> re.Pattern[str]:
    """Sphinx's pattern syntax (``sphinx.util.matching``): ``**`` crosses folders, ``*`` and
    ``?`` do not, ``[...]`` is a set; the whole path must match."""
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        i += 1
        if c == "*":
            if pattern[i : i + 1] == "*":
                i += 1
                out += ".*"
            else:
                out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i:end].replace("\\", "\\\\")
            i = end + 1
            out += f"[^{body[1:]}]" if body.startswith("!") else f"[{body}]"
        else:
            out += re.escape(c)
    return re.compile(out + r"\Z")


def display_path(path: Path) -> str:
    """The path as authors read it: relative to the working directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def source_files(paths: Iterable[str | Path]) -> list[Path]:
    """``.rst`` and ``.md`` files in *paths* (files as given, folders recursively), sorted.

    Raises:
        PyrunError: a path does not exist.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                found.extend(Path(root) / f for f in sorted(files) if f.endswith(SUFFIXES))
        else:
            raise PyrunError(f"{raw}: no such file or directory")
    return list(dict.fromkeys(found))


def scan_paths(
    paths: Iterable[str | Path],
    *,
    upgrade: Sequence[str] = (),
    upgrade_exclude: Sequence[str] = (),
    docs_dir: Path | None = None,
    sphinx: SphinxSources | None = None,
    expand: Callable[[str, str], str] | None = None,
    is_page: Callable[[Path], bool] | None = None,
) -> ScanResult:
    """Scan files and folders; each file is one page (sessions are per page).

    *upgrade*: the MkDocs ``upgrade`` setting: Markdown pages' ``pycon``/``python`` fences are
    snippets too, as the plugin makes them (not on pages matching *upgrade_exclude*, relative to
    *docs_dir*, or with ``pyrun: off`` in their front matter).
    *sphinx*: the sources are a Sphinx project's: only the files its build reads are pages.
    *expand*: what the site's ``pymdownx.snippets`` makes of a Markdown page (its ``--8<--``
    lines replaced by the files they include, as its build has them: :func:`scan_text`).
    *is_page*: whether the site's build reads a file as a page (a Markdown site's
    ``exclude_docs``).
    """
    result = ScanResult()
    for path in source_files(paths):
        if sphinx is not None and not sphinx.is_page(path):
            continue
        if is_page is not None and not is_page(path):
            continue
        shown = display_path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            message, line = unreadable(exc)
            result.errors.append(_located(f"cannot read the file: {message}", shown, line))
            continue
        result.files += 1
        page = _page_name(path, docs_dir)
        modes = () if excluded(page, upgrade_exclude) or _front_matter_off(text) else upgrade
        found = scan_text(
            text, shown, page=shown, errors=result.errors, upgrade=modes, file=path,
            sphinx=sphinx, expand=expand,
        )  # fmt: skip
        if found:
            result.pages[shown] = found
    return result


def scan_text(
    text: str,
    path: str,
    *,
    page: str,
    errors: list[PyrunError],
    upgrade: Sequence[str] = (),
    file: Path | None = None,
    sphinx: SphinxSources | None = None,
    expand: Callable[[str, str], str] | None = None,
) -> list[Snippet]:
    """The snippets of one source text (syntax chosen by the suffix of *path*).

    *file* is where *text* was read from: ``.. include::`` paths resolve against its folder (and
    a leading ``/`` against *sphinx*'s source folder); without it includes are not followed.
    *expand*: ``pymdownx.snippets`` as the site sets it up: a Markdown page's ``--8<--`` lines
    are the files they include, as the site's build has them (a Zensical site's check, which no
    MkDocs build reads, missed their examples); what an include brings is reported at its
    ``--8<--`` line.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if expand is not None and not path.endswith(".rst") and "--8<--" in text:
        return _with_includes(text, path, page, errors, upgrade, file, sphinx, expand)
    upgraded: set[int] = set()
    if path.endswith(".rst"):
        blocks = _rst_blocks(text, path, errors, _Includes(file, sphinx))
    else:
        if upgrade:  # as the MkDocs plugin rewrites the page
            text, fences, unparsable = upgrade_markdown(text, upgrade)
            upgraded = set(fences)
            for line, reason in unparsable:
                message = f"this example stays a plain block: {reason}"
                errors.append(PyrunError(message, location=f"{path}:{line}"))
        blocks = _myst_blocks(text, path, errors, _Includes(file, sphinx))
        blocks += _mkdocs_blocks(text, path, errors)
    blocks.sort(key=lambda b: b.order)
    snippets: list[Snippet] = []
    for block in blocks:
        where = f"{block.path}:{block.header}"
        try:
            code, skipped = normalize_code(block.body)
        except OptionError as exc:
            errors.append(PyrunError(exc.message, location=where))
            continue
        options, problems = parse_options_lenient(block.raw)
        for err in problems:
            message = f"{err.message} (the snippet is kept without it)"
            errors.append(PyrunError(message, location=where))
        snippets.append(
            Snippet(
                code=code,
                path=block.path,
                line=block.body_line + skipped,
                page=page,
                index=len(snippets),
                options=options,
                origin="upgrade" if block.path == path and block.header in upgraded else "pyrun",
            )
        )
        out_of_range = emphasis_problem(options, snippets[-1].source)
        if out_of_range:
            errors.append(PyrunError(out_of_range, location=where))
    return snippets


def _with_includes(
    text: str,
    path: str,
    page: str,
    errors: list[PyrunError],
    upgrade: Sequence[str],
    file: Path | None,
    sphinx: SphinxSources | None,
    expand: Callable[[str, str], str],
) -> list[Snippet]:
    """:func:`scan_text` of a Markdown page after ``pymdownx.snippets`` included its files,
    lines mapped back to the page's."""
    from dataclasses import replace

    from pyrun_docs.source_map import SourceMap

    try:
        expanded = expand(text, path)
    except Exception as exc:  # pymdownx raises its own errors (a missing file, a bad setting)
        message = f"pymdownx.snippets could not include a file: {exc}"
        errors.append(PyrunError(message, location=f"{path}:1"))
        expanded = text
    start = len(errors)
    found = scan_text(expanded, path, page=page, errors=errors, upgrade=upgrade, file=file,
                      sphinx=sphinx)  # fmt: skip
    where = SourceMap(text, expanded)
    for error in errors[start:]:
        shown, _, line = str(error.location or "").rpartition(":")
        if shown == path and line.isdigit():
            error.location = f"{path}:{where.line(int(line))}"
    return [
        replace(
            s,
            line=where.line(s.line),
            lines_exact=all(where.exact(n) for n in range(s.line, s.line + s.code.count("\n"))),
        )
        for s in found
    ]


def _page_name(path: Path, docs_dir: Path | None) -> str:
    """The page as the MkDocs plugin names it (relative to ``docs_dir``), for the exclude globs."""
    if docs_dir is not None:
        try:
            return path.resolve().relative_to(docs_dir.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _front_matter_off(text: str) -> bool:
    """``pyrun: off`` in a Markdown page's front matter."""
    if not text.startswith("---"):
        return False
    for line in text.split("\n")[1:]:
        if line.strip() == "---":
            return False
        key, _, value = line.partition(":")
        if key.strip() == "pyrun" and value.strip().strip("\"'").lower() in ("off", "false", "no"):
            return True
    return False


@dataclass(frozen=True)
class Block:
    """A snippet as written: where it sits in its page's reading order (an included file's
    blocks sort at their ``.. include::``), its header and code lines in *path*, code, options."""

    order: tuple[int, ...]
    header: int
    body_line: int
    body: str
    raw: dict[str, str | None]
    path: str


@dataclass(frozen=True)
class _Includes:
    """How to follow ``.. include::`` from one file: its path, the project, files already open
    (an include cycle stops instead of recursing forever)."""

    file: Path | None
    sphinx: SphinxSources | None
    open: frozenset[Path] = frozenset()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _rst_blocks(
    text: str, path: str, errors: list[PyrunError], includes: _Includes | None = None
) -> list[Block]:
    lines = text.expandtabs(8).split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _RST_DIRECTIVE.match(line)
        if match is None:
            literal = line.rstrip().endswith("::")  # a literal block follows
            comment = _RST_COMMENT.match(line) and not line.lstrip().startswith(".. _")
            i = _block_end(lines, i, _indent(line)) if literal or comment else i + 1
            continue
        if match.group("name") == "include" and includes is not None and includes.file:
            end = _block_end(lines, i, _indent(line))
            raw, _ = _rst_options(lines, i + 1, end)
            blocks += _included(match.group("arg").strip(), raw, i + 1, path, errors, includes)
            i = end
            continue
        if match.group("name") != "pyrun":
            literal = match.group("name") in LITERAL_DIRECTIVES
            i = _block_end(lines, i, _indent(line)) if literal else i + 1
            continue
        end = _block_end(lines, i, _indent(line))
        if match.group("arg").strip():
            errors.append(_located("the pyrun directive takes no argument", path, i + 1))
        raw, j = _rst_options(lines, i + 1, end)
        while j < end and not lines[j].strip():
            j += 1
        blocks.append(Block((i + 1,), i + 1, j + 1, "\n".join(lines[j:end]), raw, path))
        i = end
    return blocks


def _included(
    target: str,
    raw: dict[str, str | None],
    line: int,
    path: str,
    errors: list[PyrunError],
    includes: _Includes,
    *,
    myst: bool = False,
) -> list[Block]:
    """The snippets of a file pulled in by ``.. include::`` (MyST: ```` ```{include} ````, whose
    file is MyST again) at *line*, located in that file and ordered at the include (docutils
    inserts its text there, so the build does the same)."""
    assert includes.file is not None
    if not target or target.startswith("<") or "literal" in raw or "code" in raw:
        return []  # a standard docutils include, or text shown as code: no snippets
    if target.startswith("/") and includes.sphinx is not None:
        file = includes.sphinx.srcdir / target.lstrip("/")
    else:
        file = includes.file.parent / target
    file = file.resolve()
    if file in includes.open or includes.file.resolve() == file:
        errors.append(_located(f"{target} includes itself; not followed", path, line))
        return []
    try:
        text = file.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        message = unreadable(exc)[0]
        errors.append(_located(f"cannot read the included file {target}: {message}", path, line))
        return []
    first, text = _include_slice(text, raw)
    shown = display_path(file)
    inner = _Includes(file, includes.sphinx, includes.open | {includes.file.resolve()})
    found = (_myst_blocks if myst else _rst_blocks)(text, shown, errors, inner)
    return [
        Block(
            (line, *b.order),
            b.header + first if b.path == shown else b.header,
            b.body_line + first if b.path == shown else b.body_line,
            b.body,
            b.raw,
            b.path,
        )
        for b in found
    ]


def _include_slice(text: str, raw: dict[str, str | None]) -> tuple[int, str]:
    """The part of an included text its options select, and how many lines come before it."""
    lines = text.split("\n")
    start, end = (raw.get(k) or "" for k in ("start-line", "end-line"))
    lines = lines[int(start) if start.isdigit() else 0 : int(end) if end.isdigit() else None]
    start = start if start.isdigit() else "0"
    chosen = "\n".join(lines)
    offset = int(start)
    after = raw.get("start-after")
    if after and after in chosen:
        cut = chosen.index(after) + len(after)
        offset += chosen[:cut].count("\n")
        chosen = chosen[cut:]
    before = raw.get("end-before")
    if before and before in chosen:
        chosen = chosen[: chosen.index(before)]
    return offset, chosen


def _rst_options(lines: list[str], start: int, end: int) -> tuple[dict[str, str | None], int]:
    """The ``:name: value`` field list right under a directive (values may wrap); where it ends."""
    raw: dict[str, str | None] = {}
    j = start
    while j < end and (option := _RST_OPTION.match(lines[j])):
        indent = _indent(lines[j])
        value = (option.group("value") or "").strip()
        j += 1
        while j < end and lines[j].strip() and _indent(lines[j]) > indent:
            value = f"{value}\n{lines[j].strip()}".strip()  # as docutils joins them
            j += 1
        raw[option.group("name").strip()] = value or None
    return raw, j


def unreadable(exc: OSError | UnicodeDecodeError) -> tuple[str, int]:
    """Why a source file cannot be read, and the line to point at: for text that is not UTF-8,
    the line of the first bad byte and what to do (Sphinx and MkDocs read sources as UTF-8)."""
    if isinstance(exc, UnicodeDecodeError):
        line = exc.object[: exc.start].count(b"\n") + 1
        byte = exc.object[exc.start : exc.start + 1].hex()
        return (
            f"it is not UTF-8 (byte 0x{byte} on this line); save it as UTF-8, as Sphinx and "
            "MkDocs read it",
            line,
        )
    return str(exc), 1


def _located(message: str, path: str, line: int) -> PyrunError:
    return PyrunError(message, location=f"{path}:{line}")


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """Index after the indented body of the construct starting at line *start*."""
    j = start + 1
    last = start
    while j < len(lines):
        if lines[j].strip():
            if _indent(lines[j]) <= indent:
                break
            last = j
        j += 1
    return last + 1


def _fence_end(lines: list[str], start: int, fence: str) -> int:
    for j in range(start + 1, len(lines)):
        if closes(lines[j], fence):
            return j
    return len(lines)


def _myst_blocks(
    text: str, path: str, errors: list[PyrunError], includes: _Includes | None = None
) -> list[Block]:
    lines = text.split("\n")
    blocks: list[Block] = []
    open_directives: list[str] = []  # fences of enclosing directives whose body is Markdown
    i = 0
    while i < len(lines):
        if open_directives and closes(lines[i], open_directives[-1]):
            open_directives.pop()
            i += 1
            continue
        match = _MYST_OPEN.match(lines[i])
        if match is None:
            other = _ANY_FENCE.match(lines[i])
            include = _MYST_INCLUDE.match(lines[i])
            if other is None:
                i += 1
            elif include and includes is not None and includes.file:
                end = _fence_end(lines, i, include.group("fence"))
                body = [_strip(ln, len(include.group("indent"))) for ln in lines[i + 1 : end]]
                raw, _ = _myst_options(body, path, i + 2, errors)
                target = include.group("arg").strip()
                blocks += _included(target, raw, i + 1, path, errors, includes, myst=True)
                i = end + 1
            elif _MYST_CONTAINER.match(lines[i]):
                open_directives.append(other.group("fence"))
                i += 1
            else:  # any other fenced block: code, or an example of pyrun syntax
                i = _fence_end(lines, i, other.group("fence")) + 1
            continue
        width = len(match.group("indent"))
        end = _fence_end(lines, i, match.group("fence"))
        body = [_strip(ln, width) for ln in lines[i + 1 : end]]
        if match.group("arg").strip():
            errors.append(_located("the pyrun directive takes no argument", path, i + 1))
        raw, j = _myst_options(body, path, i + 2, errors)
        while j < len(body) and not body[j].strip():
            j += 1
        blocks.append(Block((i + 1,), i + 1, i + 2 + j, "\n".join(body[j:]), raw, path))
        i = end + 1
    return blocks


def _myst_options(
    body: list[str], path: str, first_line: int, errors: list[PyrunError]
) -> tuple[dict[str, str | None], int]:
    """Options as ``:name: value`` lines or a ``---`` block of ``key: value``; where they end."""
    raw: dict[str, str | None] = {}
    if body and body[0].strip() == "---":
        close = next((k for k in range(1, len(body)) if body[k].strip() == "---"), None)
        if close is None:
            errors.append(
                _located("the options block opened by --- is not closed", path, first_line)
            )
            return raw, 0
        for k in range(1, close):
            item = body[k].strip()
            if not item or item.startswith("#"):
                continue
            key, sep, value = item.partition(":")
            if not sep:
                errors.append(
                    _located(f"cannot read {item!r} as 'key: value'", path, first_line + k)
                )
                continue
            raw[key.strip()] = value.strip().strip("\"'") or None
        return raw, close + 1
    j = 0
    while j < len(body) and (option := _MYST_OPTION.match(body[j].strip())):
        raw[option.group("name").strip()] = (option.group("value") or "").strip() or None
        j += 1
    return raw, j


def _strip(line: str, width: int) -> str:
    return line[width:] if not line[:width].strip(" \t>") else line.lstrip(" \t>")


def _mkdocs_blocks(text: str, path: str, errors: list[PyrunError]) -> list[Block]:
    blocks: list[Block] = []
    swallowed = swallowed_fences(text)
    errors.extend(_located(SWALLOWED + why, path, line) for line, why in swallowed)
    for fence in find_fences(text):
        # the plugin gives SuperFences a header it reads (pyrun_docs.fences.readable_headers):
        # the fence is a widget without what could not be read, so it is a snippet here too
        errors.extend(_located(problem, path, fence.line) for problem in fence.errors)
        raw = normalize_flags(fence.options)
        blocks.append(Block((fence.line,), fence.line, fence.line + 1, fence.code, raw, path))
    return blocks
