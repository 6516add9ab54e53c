"""Find ```` ```pyrun ```` fences (MkDocs / SuperFences syntax) in Markdown source, with lines.

SuperFences never tells a formatter which file or line it is in, and it silently falls back to a
plain code block when it cannot parse a header (``session=intro`` without quotes). So we read the
page source ourselves: this gives each fence its exact line, lets the adapter match formatter calls
to fences, and lets it warn about every ``pyrun`` fence that did not become a widget.
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
# what SuperFences accepts as an option: key or key="value" / key='value'
_OPTION = re.compile(
    r"""[ \t]*(?P<key>[A-Za-z][A-Za-z0-9_-]*)(?:=(?P<q>["'])(?P<value>.*?)(?P=q))?(?=[ \t]|$)"""
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
        errors: header problems SuperFences would silently swallow.
    """

    line: int
    code: str
    options: dict[str, str | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

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
    """Options of a ``pyrun key="value" flag`` header; errors for what SuperFences cannot read."""
    options: dict[str, str | None] = {}
    errors: list[str] = []
    for item in _tokens(text, _OPTION):
        if isinstance(item, str):
            key, eq, value = item.partition("=")
            if eq and value and value[0] not in "\"'":
                errors.append(
                    f'the value of {key!r} must be quoted: write {key}="{value}"; SuperFences '
                    "ignores the whole fence otherwise"
                )
            else:
                errors.append(f'cannot read {item!r} in the fence header (use key="value")')
        else:
            options[item.group("key")] = item.group("value")
    return options, errors


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
    lines = text.splitlines()
    fences: list[Fence] = []
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            other = _ANY_FENCE.match(lines[i])
            if other:  # skip any other fenced block entirely (it may contain pyrun examples)
                i = fence_end(lines, i, other.group("fence"))
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        if m.group("attrs") is not None:
            options, errors = parse_attrs(m.group("attrs"))
        else:
            options, errors = parse_header(m.group("options") or "")
        end = fence_end(lines, i, fence)
        body = [strip_indent(ln, len(indent)) for ln in lines[i + 1 : end]]
        code = textwrap.dedent("\n".join(body))
        fences.append(Fence(line=i + 1, code=code, options=options, errors=errors))
        i = end + 1
    return fences


def fence_end(lines: list[str], start: int, fence: str) -> int:
    """Index of the closing fence line of the block opened at *start* (or the last line)."""
    close = re.compile(rf"^[ \t>]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    for j in range(start + 1, len(lines)):
        if close.match(lines[j]):
            return j
    return len(lines) - 1


def strip_indent(line: str, width: int) -> str:
    """*line* without the *width* characters of its fence's indentation (or quote markers)."""
    return line[width:] if line[:width].strip(" \t>") == "" else line.lstrip(" \t>")


def normalize_flags(options: dict[str, str | None]) -> dict[str, str | None]:
    """SuperFences reports a bare flag as ``{"hidden": "hidden"}``; we use ``None``."""
    return {k: (None if v is None or v == k else v) for k, v in options.items()}
