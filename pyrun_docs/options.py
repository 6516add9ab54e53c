"""The snippet options, validated once for both frameworks.

Adapters hand us what the author wrote as ``{name: raw value or None}`` (``None`` for a bare flag such
as ``:hidden:``); we return typed :class:`SnippetOptions` or raise :class:`OptionError` naming the
option, the bad value and what is allowed. Keeping this table here is what makes the option names and
meanings identical in Sphinx and MkDocs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .doctest_flags import parse_directive
from .errors import OptionError
from .runtime import RUNTIMES

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_EXC = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_PKG = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._\-]*(\[[A-Za-z0-9,._\-]+\])?([<>=!~]=?[A-Za-z0-9.*+!\-]+)?$"
)
_TRUE = {"", "true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
CHECK_MODES = ("run", "skip")


@dataclass(frozen=True)
class SnippetOptions:
    """Typed snippet options (see the option table in DESIGN.md)."""

    session: str | None = None
    hidden: bool = False
    packages: tuple[str, ...] = ()
    runtime: str | None = None  # None: the site default
    raises: str | None = None
    check: str = "run"
    timeout: float | None = None  # None: the site default
    autorun: bool = False
    readonly: bool = False
    lines: int | None = None
    caption: str | None = None
    name: str | None = None
    linenos: bool = False
    lineno_start: int | None = None  # as code-block's: numbers from here (implies linenos)
    emphasize_lines: tuple[int, ...] = ()
    dedent: int | None = None  # code-block's dedent: accepted bare or 0 (code is always dedented)
    stdin: tuple[str, ...] | None = None  # None: input() fails with a message
    flags: tuple[tuple[str, bool], ...] = ()  # doctest options of a transcript (`options`)
    module: str | None = None  # also sees this module's globals (docstring examples)
    #: not an option authors write: the documented object whose docstring holds the example
    #: (upgraded docstring examples); the blocks of one docstring share names, as one doctest test
    docstring: str | None = None
    #: not an option authors write: a hidden snippet that runs where it is written, not first as
    #: a setup (an upgraded doctest block with ``:hide:``: a test the doctest builder runs in
    #: page order)
    in_order: bool = False
    #: not an option authors write: a hidden copy of a block the page shows already (a block of
    #: several doctest groups, in each group after its first; ``doctest_global_setup`` in each
    #: group after the first): it runs in its session and shows nothing (one ``testsetup:: *``
    #: showed a "Setup code" toggle per group, five in a row on rfc3986's page)
    repeated: bool = False


def _flag(name: str, value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise OptionError(f"option {name!r} is a flag: write it bare or as true/false, not {value!r}")


def _required(name: str, value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise OptionError(f"option {name!r} needs a value")
    return text


def _session(name: str, value: str | None) -> str:
    text = _required(name, value)
    if not _IDENT.match(text):
        raise OptionError(
            f"option {name!r}: {text!r} is not a session name "
            "(letters, digits, '_', '-', '.'; starting with a letter or '_')"
        )
    return text


def _packages(name: str, value: str | None) -> tuple[str, ...]:
    items = [p for p in re.split(r"[,\s]+", (value or "").strip()) if p]
    if not items:
        raise OptionError(f"option {name!r} needs at least one package name")
    for item in items:
        if not _PKG.match(item):
            raise OptionError(f"option {name!r}: {item!r} is not a package name or requirement")
    return tuple(items)


def _runtime(name: str, value: str | None) -> str:
    text = _required(name, value).lower()
    if text not in RUNTIMES:
        raise OptionError(
            f"option {name!r}: unknown runtime {text!r}; use one of {', '.join(RUNTIMES)}"
        )
    return text


def _raises(name: str, value: str | None) -> str:
    text = _required(name, value)
    if not _EXC.match(text):
        raise OptionError(f"option {name!r}: {text!r} is not an exception name (e.g. ValueError)")
    return text


def _check(name: str, value: str | None) -> str:
    text = _required(name, value).lower()
    if text not in CHECK_MODES:
        raise OptionError(f"option {name!r}: {text!r} is not one of {', '.join(CHECK_MODES)}")
    return text


def _timeout(name: str, value: str | None) -> float:
    text = _required(name, value)
    try:
        seconds = float(text.removesuffix("s"))
    except ValueError:
        raise OptionError(
            f"option {name!r}: {text!r} is not a number of seconds (e.g. 10 or 2.5)"
        ) from None
    if not 0 < seconds <= 3600:
        raise OptionError(f"option {name!r}: {text!r} must be between 0 and 3600 seconds")
    return seconds


def _lines(name: str, value: str | None) -> int:
    text = _required(name, value)
    if not text.isdigit() or not 1 <= int(text) <= 500:
        raise OptionError(f"option {name!r}: {text!r} is not a line count between 1 and 500")
    return int(text)


def _text(name: str, value: str | None) -> str:
    return _required(name, value)


def _stdin(name: str, value: str | None) -> tuple[str, ...]:
    """The lines ``input()`` reads, one per call: ``Ada\\n42`` (a backslash-n separates lines).

    reST and fence headers keep an option on one line, so ``\\n`` is the separator; a real
    newline (a continued reST field) separates too. An empty value means one empty line.
    """
    text = "" if value is None else value.strip()
    lines = re.split(r"\\n|\n", text)
    return tuple(lines)


def _emphasize(name: str, value: str | None) -> tuple[int, ...]:
    text = re.sub(r"\s*-\s*", "-", _required(name, value))
    result: set[int] = set()
    # Sphinx's "1,3-5"; pymdownx.highlight's hl_lines="1 3-5"
    for part in re.split(r"[\s,]+", text):
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not m:
            raise OptionError(
                f"option {name!r}: {part!r} is not a line number or range (e.g. 1,3-5)"
            )
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if lo < 1 or hi < lo:
            raise OptionError(f"option {name!r}: bad line range {part!r}")
        result.update(range(lo, hi + 1))
    return tuple(sorted(result))


def _lineno_start(name: str, value: str | None) -> int:
    text = _required(name, value)
    if not text.isdigit() or int(text) < 1:
        raise OptionError(f"option {name!r}: {text!r} is not a line number (1 or more)")
    return int(text)


def _dedent(name: str, value: str | None) -> int:
    """``code-block``'s ``dedent``: bare, or a number of columns to strip from every line.

    A snippet's code is always stripped of its common indentation (``normalize_code``), as
    docutils strips a ``code-block``'s, so the bare form and ``0`` change nothing. Any larger
    number would cut into the least-indented line: ``code-block`` does that with a warning, but
    cut code cannot run, so here it is refused (the option is dropped with a located warning).
    """
    text = (value or "").strip()
    if not text:
        return 0
    if not text.isdigit():
        raise OptionError(f"option {name!r}: {text!r} is not a number of columns (or bare)")
    if int(text) > 0:
        raise OptionError(
            f"option {name!r}: {text} would cut code: the snippet is already dedented to its "
            "least-indented line (write the option bare, or leave it out)"
        )
    return 0


def _doctest_options(name: str, value: str | None) -> tuple[tuple[str, bool], ...]:
    try:
        return parse_directive(_required(name, value))
    except OptionError as exc:
        raise OptionError(f"option {name!r}: {exc.message}") from None


def _module(name: str, value: str | None) -> str:
    text = _required(name, value)
    if not _EXC.match(text):
        raise OptionError(f"option {name!r}: {text!r} is not a module name (e.g. pkg.mod)")
    return text


#: option name as written -> (field name, parser)
OPTION_TABLE: Mapping[str, tuple[str, Callable[[str, str | None], Any]]] = {
    "session": ("session", _session),
    "hidden": ("hidden", _flag),
    "packages": ("packages", _packages),
    "runtime": ("runtime", _runtime),
    "raises": ("raises", _raises),
    "check": ("check", _check),
    "timeout": ("timeout", _timeout),
    "autorun": ("autorun", _flag),
    "readonly": ("readonly", _flag),
    "lines": ("lines", _lines),
    "height": ("lines", _lines),
    "caption": ("caption", _text),
    "title": ("caption", _text),  # mkdocs-material's name for a caption
    "name": ("name", _text),
    "linenos": ("linenos", _flag),
    "lineno-start": ("lineno_start", _lineno_start),
    "linenums": ("lineno_start", _lineno_start),  # pymdownx.highlight's name
    "dedent": ("dedent", _dedent),
    "emphasize-lines": ("emphasize_lines", _emphasize),
    "hl_lines": ("emphasize_lines", _emphasize),  # pymdownx.highlight's name
    "stdin": ("stdin", _stdin),
    "options": ("flags", _doctest_options),  # the doctest directive's name
    "module": ("module", _module),
}
OPTION_NAMES = tuple(OPTION_TABLE)


def parse_options(raw: Mapping[str, str | None]) -> SnippetOptions:
    """Validate *raw* options; raise :class:`OptionError` on the first problem."""
    values: dict[str, Any] = {}
    for name, value in raw.items():
        key = name.strip().lower().replace("_", "-") if name != "hl_lines" else name
        if key not in OPTION_TABLE:
            close = [n for n in OPTION_NAMES if n.startswith(key[:3])]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise OptionError(
                f"unknown option {name!r}{hint}; known options: {', '.join(OPTION_NAMES)}"
            )
        field_name, parser = OPTION_TABLE[key]
        values[field_name] = parser(name, value)
    return replace(SnippetOptions(), **values)


def parse_options_lenient(
    raw: Mapping[str, str | None],
) -> tuple[SnippetOptions, list[OptionError]]:
    """Like :func:`parse_options`, but keep every good option and collect every error.

    Adapters use this so one bad option produces a warning while the snippet still renders with the
    rest, instead of the whole block being dropped.
    """
    errors: list[OptionError] = []
    good: dict[str, str | None] = {}
    for name, value in raw.items():
        try:
            parse_options({name: value})
        except OptionError as exc:
            errors.append(exc)
        else:
            good[name] = value
    return parse_options(good), errors


def emphasis_problem(options: SnippetOptions, code: str) -> str | None:
    """``emphasize-lines`` beyond the code's last line: ``code-block`` warns, and so do we (the
    line is simply not emphasized), naming the range there is."""
    count = len(code.rstrip("\n").split("\n"))
    beyond = [n for n in options.emphasize_lines if n > count]
    if not beyond:
        return None
    shown = ", ".join(map(str, beyond))
    return f"option 'emphasize-lines': line {shown} is out of range (1-{count}); not emphasized"


def options_to_dict(options: SnippetOptions) -> dict[str, Any]:
    """A JSON-friendly view of the options that differ from the defaults."""
    out: dict[str, Any] = {}
    for name, default in _DEFAULTS:
        value = getattr(options, name)
        if value != default:
            out[name] = _jsonable(value)
    return out


#: each option's name and default (``options_to_dict`` runs for every member of every chain a
#: cache key covers: 80,000 times for a page of 400 examples in one session)
_DEFAULTS = tuple((f.name, getattr(SnippetOptions(), f.name)) for f in fields(SnippetOptions))


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple) else value
