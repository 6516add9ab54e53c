"""Find ```` ```pyrun ```` fences (MkDocs / SuperFences syntax) in Markdown source, with lines.

SuperFences never tells a formatter which file or line it is in, and a header it cannot parse
(``session=intro`` without quotes, a key with a hyphen) is no fence at all to it: the line becomes
text and its closing fence opens a code block that swallows what follows. So we read the page
source ourselves: this gives each fence its exact line, lets the adapter match formatter calls to
fences, and gives each fence the header SuperFences can read (:attr:`Fence.header`, which
:func:`readable_headers` writes into the page before Markdown sees it), so a header we can read
is a widget in the build exactly when ``pyrun-docs check`` counts it as a snippet.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field

_FENCE_OPEN = re.compile(
    r"^(?P<indent>[ \t>]*)(?P<fence>`{3,}|~{3,})[ \t]*"
    r"(?:(?P<lang>pyrun)(?=[ \t]|$)(?P<options>[^\n]*)|\{(?P<attrs>[^}\n]*\.pyrun(?:[ \t][^}\n]*)?)\})"
    r"[ \t]*$"
)
_ANY_FENCE = re.compile(r"^(?P<indent>[ \t>]*)(?P<fence>`{3,}|~{3,})")
#: a fence header SuperFences reads (its RE_NESTED_FENCE_START without relaxed headers): a
#: language, then an attribute list or key / key="value" options; any other header is no fence
#: to it (the line is text, and the next fence line opens a block instead)
_READABLE = re.compile(
    r"""^[ \t>]*(?:`{3,}|~{3,})(?:[ \t]*\.?[\w#.+-]+(?=[\t ]|$))?"""
    r"""(?:[ \t]*\{[^\n]*\}|(?:[ \t]*[a-zA-Z][a-zA-Z0-9_]*(?:=(["']).*?\1)?(?=[\t ]|$))+)?[ \t]*$"""
)
# an option: key, key="value" / key='value' (what SuperFences reads), or key=value (unquoted)
_OPTION = re.compile(
    r"""[ \t]*(?P<key>[A-Za-z][A-Za-z0-9_-]*)"""
    r"""(?:=(?:(?P<q>["'])(?P<value>.*?)(?P=q)|(?P<bare>[^\s"']+)))?(?=[ \t]|$)"""
)
_ATTR = re.compile(
    r"""[ \t]*(?:\.(?P<cls>[\w-]+)|\#(?P<id>[\w-]+)|"""
    r"""(?P<key>[A-Za-z][\w-]*)(?:=(?:(?P<q>["'])(?P<qvalue>.*?)(?P=q)|(?P<bare>[^\s"'}]+)))?)"""
)


@dataclass
class Fence:
    """One ``pyrun`` fence as written.

    Attributes:
        line: 1-based line of the opening fence.
        code: the code, dedented to the fence's indentation.
        options: raw options, ``None`` for a bare flag.
        errors: header problems (what could not be read is left out; the fence is kept).
        header: the opening line rewritten so SuperFences reads these options (quoted values,
            ``_`` for ``-`` in names), or ``None`` when it reads the line as written.
    """

    line: int
    code: str
    options: dict[str, str | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    header: str | None = None

    @property
    def code_line(self) -> int:
        return self.line + 1


def _tokens(text: str, pattern: re.Pattern[str]) -> Iterator[re.Match[str] | str]:
    """Walk a header: a match of *pattern* per option, or the raw token where none matches."""
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        if text[pos] in " \t":
            pos += 1
            continue
        m = pattern.match(text, pos)
        if m and m.end() > pos:
            pos = m.end()
            yield m
        else:
            token = text[pos:].split()[0]
            pos += len(token)
            yield token


def parse_header(text: str) -> tuple[dict[str, str | None], list[str]]:
    """Options of a ``pyrun key="value" flag`` header (``key=value`` unquoted too); errors for
    tokens that are no option at all (they are left out)."""
    options: dict[str, str | None] = {}
    errors: list[str] = []
    for item in _tokens(text, _OPTION):
        if isinstance(item, str):
            errors.append(
                f'cannot read {item!r} in the fence header (write key="value"); it is left out'
            )
        else:
            value = item.group("value") if item.group("q") else item.group("bare")
            options[item.group("key")] = value
    return options, errors


def superfences_header(options: dict[str, str | None]) -> tuple[str, list[str]]:
    """The options as SuperFences' header syntax reads them: ``key="value"`` (``'`` when the
    value holds a ``"``) with ``_`` for ``-`` in names (SuperFences takes no ``-``; the option
    table does not mind), and the keys whose value no quoting can hold (left out)."""
    parts: list[str] = []
    dropped: list[str] = []
    for key, value in options.items():
        name = key.replace("-", "_")
        if value is None:
            parts.append(name)
        elif '"' not in value:
            parts.append(f'{name}="{value}"')
        elif "'" not in value:
            parts.append(f"{name}='{value}'")
        else:
            dropped.append(key)
    return " ".join(parts), dropped


def parse_attrs(text: str) -> tuple[dict[str, str | None], list[str]]:
    """Options of a ``{.pyrun key="value"}`` header."""
    options: dict[str, str | None] = {}
    errors: list[str] = []
    for item in _tokens(text, _ATTR):
        if isinstance(item, str):
            errors.append(f"cannot read {item!r} in the fence's attribute list")
        elif not (item.group("cls") or item.group("id")):
            value = item.group("qvalue") if item.group("q") else item.group("bare")
            options[item.group("key")] = value
    return options, errors


def find_fences(text: str) -> list[Fence]:
    """All ``pyrun`` fences in *text*, in source order, including nested (admonitions, tabs)."""
    return _walk(text)[0]


def swallowed_fences(text: str) -> list[tuple[int, str]]:
    """``pyrun`` fences that no Markdown reader makes a widget: inside the code block that the
    closing fence of a header SuperFences cannot read (```` ```python emphasize-lines="2" ````)
    opens, or a fence that is never closed. Each with its line and why (the fence that swallows
    it), to follow :data:`SWALLOWED`."""
    return _walk(text)[1]


#: what a message about a swallowed fence (:func:`swallowed_fences`) starts with
SWALLOWED = "this pyrun fence is shown as plain code, not a widget: "


def _walk(text: str) -> tuple[list[Fence], list[tuple[int, str]]]:
    lines = text.splitlines()
    fences: list[Fence] = []
    swallowed: list[tuple[int, str]] = []
    broken = 0  # the line of the last fence header SuperFences reads as text
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            other = _ANY_FENCE.match(lines[i])
            if other and not _READABLE.match(lines[i]):
                broken = i + 1
            elif other:  # skip another block (pyrun examples in it)
                end = fence_end(lines, i, other.group("fence"))
                inside = [j for j in range(i + 1, end + 1) if _FENCE_OPEN.match(lines[j])]
                if broken and inside:
                    swallowed.extend(
                        (j + 1, f"the fence header at line {broken} is not one SuperFences reads (quote "
                         "option values, no '-' in their names), so the fence line that was to "
                         f"close it, line {i + 1}, opens a code block instead")
                        for j in inside
                    )  # fmt: skip
                elif inside and not closes(lines[end], other.group("fence")):
                    # plum-dispatch's ````{admonition} (MyST): SuperFences reads it as text, so
                    # its closing ```` opened a code block to the end of the page
                    swallowed.extend(
                        (j + 1, f"the fence at line {i + 1} is never closed, so the rest of the page is "
                         "its code block (a fence line left over from a header SuperFences "
                         "does not read, such as MyST's ````{admonition}?)")
                        for j in inside
                    )  # fmt: skip
                broken = 0  # past this block, fences pair up as written again
                i = end
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        header: str | None = None
        if m.group("attrs") is not None:
            options, errors = parse_attrs(m.group("attrs"))
        else:
            options, errors = parse_header(m.group("options") or "")
            readable, dropped = superfences_header(options)
            for key in dropped:
                del options[key]
                errors.append(f"the value of {key!r} holds both kinds of quote; it is left out")
            rewritten = f"{indent}{fence}pyrun {readable}".rstrip()
            if rewritten != lines[i].rstrip():
                header = rewritten
        end = fence_end(lines, i, fence)
        body = [strip_indent(ln, len(indent)) for ln in lines[i + 1 : end]]
        code = textwrap.dedent("\n".join(body))
        fences.append(Fence(line=i + 1, code=code, options=options, errors=errors, header=header))
        i = end + 1
    return fences, swallowed


def readable_headers(text: str) -> str:
    """*text* with each ``pyrun`` fence's opening line as SuperFences reads it (see
    :attr:`Fence.header`); the lines stay where they are, so ``file:line`` does not move."""
    fences = [f for f in find_fences(text) if f.header is not None]
    if not fences:
        return text
    lines = text.split("\n")
    for f in fences:
        lines[f.line - 1] = f.header or lines[f.line - 1]
    return "\n".join(lines)


def fence_end(lines: list[str], start: int, fence: str) -> int:
    """Index of the closing fence line of the block opened at *start* (or the last line)."""
    for j in range(start + 1, len(lines)):
        if closes(lines[j], fence):
            return j
    return len(lines) - 1


def closes(line: str, fence: str) -> bool:
    """Whether *line* closes a block opened by *fence*."""
    return re.match(rf"^[ \t>]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", line) is not None


def strip_indent(line: str, width: int) -> str:
    """*line* without the *width* characters of its fence's indentation (or quote markers)."""
    return line[width:] if line[:width].strip(" \t>") == "" else line.lstrip(" \t>")


def normalize_flags(options: dict[str, str | None]) -> dict[str, str | None]:
    """SuperFences reports a bare flag as ``{"hidden": "hidden"}``; we use ``None``."""
    return {k: (None if v is None or v == k else v) for k, v in options.items()}
