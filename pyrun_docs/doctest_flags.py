"""doctest's option flags as site settings and snippet options.

A transcript is judged with ``sphinx.ext.doctest``'s default flags unless the site says otherwise
(``pyrun_doctest_flags`` / MkDocs ``doctest_flags``, or Sphinx's own ``doctest_default_flags`` when
``sphinx.ext.doctest`` is loaded), and a snippet's ``options`` adjust them like the doctest
directive's ``:options:`` (``+NORMALIZE_WHITESPACE, -ELLIPSIS``). Hosts hand the executor the final
list of names; the names and their values are the stdlib's (``doctest.OPTIONFLAGS_BY_NAME``).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import OptionError, PyrunError
from .executor import DEFAULT_FLAGS, FLAGS

#: a doctest directive comment as Sphinx trims it from a shown transcript (``trim_doctest_flags``,
#: on by default: ``sphinx.util.docutils``' ``doctestopt_re``)
_DIRECTIVE_COMMENT = re.compile(r"[ \t]*#\s*doctest:.+$", re.MULTILINE)


def trim_directives(text: str) -> str:
    """*text* without its ``# doctest: +FLAG`` comments and ``<BLANKLINE>`` markers (an empty
    line instead): instructions to the checker, not code or output for readers (Sphinx hides
    them on its pages; a widget showed them in its code and output)."""
    return _BLANKLINE.sub("", _DIRECTIVE_COMMENT.sub("", text))


#: doctest's marker of an empty output line, as Sphinx trims it (``doctest.BLANKLINE_MARKER``)
_BLANKLINE = re.compile(r"^[ \t]*<BLANKLINE>[ \t]*$", re.MULTILINE)


@functools.cache
def _by_name() -> Mapping[str, int]:
    """doctest's flags by name; imported on first use (importing doctest imports pdb, a tenth
    of a second that a check of an unchanged tree never needs)."""
    import doctest

    return doctest.OPTIONFLAGS_BY_NAME


@functools.cache
def flag_names() -> tuple[str, ...]:
    """Every flag name doctest knows, in its registration order."""
    return tuple(sorted(_by_name(), key=lambda name: _by_name()[name]))


def site_flags(value: Any, setting: str = "pyrun_doctest_flags") -> tuple[str, ...]:
    """The flag names a site setting means: an int (``doctest.ELLIPSIS | doctest.SKIP``, as
    ``doctest_default_flags`` is written), a list of names, or one text of names."""
    if value is None or (isinstance(value, (list, tuple)) and tuple(value) == DEFAULT_FLAGS):
        return DEFAULT_FLAGS  # valid names (without importing doctest for the defaults)
    if isinstance(value, bool):
        raise PyrunError(f"setting {setting} = {value!r} is invalid: {_ADVICE}")
    if isinstance(value, int):
        unknown = value & ~sum(_by_name().values())
        if value < 0 or unknown:
            raise PyrunError(
                f"setting {setting} = {value!r} is invalid: it has bits no doctest flag uses"
            )
        return tuple(name for name in flag_names() if value & _by_name()[name])
    items: Iterable[Any] = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) and not isinstance(value, str):
        raise PyrunError(f"setting {setting} = {value!r} is invalid: {_ADVICE}")
    names: list[str] = []
    for item in items:
        name = str(item).strip().upper().removeprefix("DOCTEST.")
        if name not in _by_name():
            raise PyrunError(
                f"setting {setting}: {item!r} is not a doctest option flag; known: "
                + ", ".join(flag_names())
            )
        if name not in names:
            names.append(name)
    return tuple(names)


def register_setup_flags(code: str) -> None:
    """Register with doctest the option flags a setup registers (``doctest_global_setup`` or a
    ``testsetup`` block calling ``doctest.register_optionflag("NO_EXE")``, graphviz's), as the
    doctest builder's process has them once it ran that setup: parsing the examples that use
    them failed here ("has an invalid option"), and they stayed plain blocks. The setup itself
    registers them again where the examples run."""
    if "register_optionflag" not in code:
        return
    import ast
    import doctest

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return  # the setup's own failure is reported where it runs
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or len(node.args) != 1:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        flag = node.args[0]
        if name == "register_optionflag" and isinstance(flag, ast.Constant):
            if isinstance(flag.value, str) and flag.value.isidentifier():
                doctest.register_optionflag(flag.value)


#: pytest's own flags, which the stdlib's doctest does not have (left out, with a note)
PYTEST_ONLY = frozenset({"ALLOW_UNICODE", "ALLOW_BYTES", "NUMBER"})


def pytest_flags(folder: Path) -> tuple[str, ...] | None:
    """The ``doctest_optionflags`` of the pytest configuration that pytest finds from *folder*
    (the first of ``pytest.ini``, ``.pytest.ini``, ``pyproject.toml`` with a ``[tool.pytest]``
    table, ``tox.ini`` with ``[pytest]``, ``setup.cfg`` with ``[tool:pytest]``, there or in a
    folder above), when it sets them: a Markdown site's examples are the project's pytest
    doctests (xsdata's 29 "fails in CPython too" were NORMALIZE_WHITESPACE, set there).
    ``None``: no such configuration or setting. pytest's own flags are left out."""
    import configparser

    for place in (folder, *folder.parents):
        for name, section in _PYTEST_FILES:
            path = place / name
            if not path.is_file():
                continue
            try:
                if name == "pyproject.toml":
                    import tomllib

                    tool = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
                    table = tool.get("pytest") if isinstance(tool, dict) else None
                    if not isinstance(table, dict):
                        continue
                    options = table.get("ini_options", table)
                    value = (
                        options.get("doctest_optionflags") if isinstance(options, dict) else None
                    )
                else:
                    parser = configparser.ConfigParser(interpolation=None)
                    parser.read_string(path.read_text(encoding="utf-8"))
                    if not parser.has_section(section):
                        if name in ("pytest.ini", ".pytest.ini"):
                            return None  # pytest's file even without the section
                        continue
                    value = parser.get(section, "doctest_optionflags", fallback=None)
            except (OSError, UnicodeDecodeError, ValueError, configparser.Error):
                continue  # pytest would fail on it too; nothing to take from it
            if value is None:
                return None
            names = value.split() if isinstance(value, str) else [str(v) for v in value]
            return tuple(n for n in names if n not in PYTEST_ONLY and n in _by_name())
    return None


#: the files pytest takes its settings from, in the order it looks in a folder, and their section
_PYTEST_FILES = (
    ("pytest.ini", "pytest"),
    (".pytest.ini", "pytest"),
    ("pyproject.toml", ""),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)


_ADVICE = 'use a list of doctest flag names (e.g. ["ELLIPSIS", "NORMALIZE_WHITESPACE"]) or an int'


def parse_directive(text: str) -> tuple[tuple[str, bool], ...]:
    """``+FLAG, -FLAG`` (the doctest directive's ``:options:``) as ``(name, on)`` pairs."""
    changes: list[tuple[str, bool]] = []
    for item in text.replace(",", " ").split():
        sign, name = item[:1], item[1:].upper()
        if sign not in "+-" or not sign or name not in _by_name():
            raise OptionError(
                f"{item!r} is not a doctest option: write +NAME or -NAME with one of "
                + ", ".join(flag_names())
            )
        changes.append((name, sign == "+"))
    if not changes:
        raise OptionError("needs doctest options, e.g. +NORMALIZE_WHITESPACE, -ELLIPSIS")
    return tuple(changes)


#: a ``# doctest:`` directive comment's flags (doctest's ``_OPTION_DIRECTIVE_RE``)
_DIRECTIVE_FLAGS = re.compile(r"#\s*doctest:\s*([^\n\'\"]*)$", re.MULTILINE)


def transcript_flags(
    site: Iterable[str], changes: Iterable[tuple[str, bool]], code: str
) -> tuple[str, ...]:
    """The flags a transcript is judged with, as the executor takes them: the *site*'s, then a
    snippet's ``options`` (*changes*); and, as ``-NAME``, each flag of the project's own that
    the examples' ``# doctest:`` comments use and this Python knows because the site's
    ``conf.py`` registered it (``doctest.register_optionflag``, objgraph's): the executor
    registers it where the examples run, where no ``conf.py`` ran ("invalid option" there,
    while the doctest builder passed them)."""
    names = apply(site, changes)
    loaded = sys.modules.get("doctest")  # not imported for this: conf.py imported it to register
    if loaded is None or "doctest:" not in code:
        return names
    own = [name for name in loaded.OPTIONFLAGS_BY_NAME if name not in FLAGS]
    if not own:
        return names
    used = {
        item.lstrip("+-")
        for found in _DIRECTIVE_FLAGS.finditer(code)
        for item in found.group(1).replace(",", " ").split()
    }
    return names + tuple("-" + name for name in own if name in used and name not in names)


def apply(base: Iterable[str], changes: Iterable[tuple[str, bool]]) -> tuple[str, ...]:
    """*base* with *changes* applied in order (a later change to the same flag wins)."""
    names = list(base)
    for name, on in changes:
        if on and name not in names:
            names.append(name)
        elif not on and name in names:
            names.remove(name)
    return tuple(names)
