"""Where a block's code is written: the file and the 1-based line of its first code line.

docutils numbers lines in the input it parses, which is not always a file: content of an
``.. include::`` is numbered in the included file, an autodoc docstring's content inside the
docstring (``/src/pkg/mod.py:docstring of pkg.mod.func``), a directive's node carries the
directive's line, not its body's. Both the ``pyrun`` directive and the upgrade of existing blocks
come here, so a snippet is reported at the line the author reads in the file they edit, as
``pyrun-docs check`` reports it. mkdocstrings' rendered docstrings (MkDocs) come here too, by the
object's name (:func:`locate_object`).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
import textwrap
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

from .doctest_flags import trim_directives

DOCSTRING = ":docstring of "


def display_path(path: str | os.PathLike[str], start: str | os.PathLike[str] | None = None) -> str:
    """The source path as authors read it: relative to the working directory (or *start*) when
    inside it, else as it is."""
    full = os.fspath(path)
    try:
        rel = os.path.relpath(full, start)
    except ValueError:  # another drive on Windows
        return full
    return full if rel.startswith("..") else rel


def locate(
    source: str | None, line: int | None, code: str, fallback: str, name: str | None = None
) -> tuple[str, int]:
    """The display path and the line of *code*'s first line.

    Args:
        source: the node's (or content's) source: a file, or a docstring's ``FILE:docstring of
            NAME``; ``None``: *fallback* (the document).
        line: the 1-based line docutils gives, counted in *source* (a docstring: in the
            docstring); where the code begins at or after it (a directive's own line).
        code: the block's text; its first non-blank line is looked for from *line* on.
        fallback: the document's file.
        name: the documented object's name, where autodoc's own name for the docstring cannot
            be imported (a function made by a factory: ``f.<locals>.wrapped``).
    """
    source = source or fallback
    hint = max(line or 1, 1)
    start = 0
    if DOCSTRING in source:
        path, _, own = source.partition(DOCSTRING)
        source, start = _docstring_start(path, name if name and "<locals>" in own else own)
        # autodoc numbers the docstring from its first line of text: the line after the quotes
        # when they stand alone (a docstring rewritten at import, whose text is on no line of
        # the file, was reported one line above its example: Spans' ``fix_timedelta_repr``)
        hint = start + hint - 1 + _quotes_alone(source, start)
    found = _search(source, hint, code)
    if start and found > len(file_lines(source)):
        # a docstring extended when its module is imported (pyexcel's ``append_doc``): its
        # example is in no line of the file; where the docstring begins, not past the file's end
        found = start
    return display_path(source), found


def _quotes_alone(path: str, line: int) -> int:
    """1 when *line* of *path* holds only a docstring's opening quotes (its text starts on the
    next line), else 0."""
    lines = file_lines(path)
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return int(text.lstrip("rRuUbB") in ('"""', "'''"))


def _search(path: str, hint: int, code: str) -> int:
    wanted = _wanted(code)
    lines = file_lines(path)
    if not wanted or not lines:
        return hint
    # the line starting the longest run of the code's lines, the nearest of those, later ones
    # first (a directive's body follows its line; napoleon and numpydoc rewrite docstrings, so
    # their line numbers are only close; two examples may start alike: typing-inspection's
    # stub-documented functions all begin ``>>> P = ParamSpec('P')``)
    best, best_run = hint, 0
    # the nearest first; the whole file when no hint holds (recommonmark gives every block of a
    # Markdown page line 0: lark's examples past line 200 were reported at the page's line 1)
    for distance in range(0, max(200, hint, len(lines) - hint + 1)):
        for number in (hint + distance, hint - distance):
            if 1 <= number <= len(lines) and _bare(lines[number - 1]) == wanted[0]:
                run = _run_length(lines, number, wanted)
                if run > best_run:
                    best, best_run = number, run
                    if run == len(wanted):
                        return best
    return best


def written_at(path: str, line: int, code: str) -> bool:
    """Whether line *line* of *path* is *code*'s first line (as :func:`_search` compares)."""
    wanted = _wanted(code)
    lines = file_lines(path)
    return bool(wanted) and 1 <= line <= len(lines) and _bare(lines[line - 1]) == wanted[0]


def _wanted(code: str) -> list[str]:
    """*code*'s non-blank lines as a file's lines are compared with them."""
    return [_unescaped(ln.strip()) for ln in code.splitlines() if ln.strip()]


def _run_length(lines: tuple[str, ...], number: int, wanted: list[str]) -> int:
    """How many of *wanted* (non-blank code lines) follow each other from line *number* on."""
    matched = 0
    for line in lines[number - 1 :]:
        if matched == len(wanted):
            break
        bare = _bare(line)
        if not bare:
            continue
        if bare != wanted[matched]:
            break
        matched += 1
    return matched


def _bare(line: str) -> str:
    """A file's line as a docstring's line is compared with it: stripped, and without the
    ``#:`` of an attribute's doc comment (autodoc's; its examples were put at the module's
    docstring)."""
    text = line.strip()
    return _unescaped(text[2:].strip() if text.startswith("#:") else text)


def _unescaped(text: str) -> str:
    r"""*text* with ``\\`` as ``\``: a docstring that is not raw says ``"a\\nb"`` in its
    file for the ``"a\nb"`` of its text (mkdocstrings' rendering, autodoc's), and such an
    example was reported at the docstring's first line, or at another block starting alike."""
    return text.replace("\\\\", "\\")


def file_lines(path: str) -> tuple[str, ...]:
    """The lines of *path*, read once while it is unchanged (a ``mkdocs serve`` or
    ``sphinx-autobuild`` process outlives edits: a stale copy put examples at old lines)."""
    try:
        info = os.stat(path)
    except OSError:
        return ()
    return _lines_at(path, info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=256)
def _lines_at(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return tuple(handle.read().expandtabs(8).splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def _docstring_start(path: str, name: str) -> tuple[str, int]:
    """The file and line where the docstring of the object named *name* is written.

    Usually right under the object's ``def`` or ``class`` in *path* (found through the object
    autodoc imported); a docstring assigned elsewhere (``f.__doc__ = docs.f``, as mpmath does)
    is found by its text, in *path* or another module of the same package.
    """
    obj: Any = documented_object(name)
    doc = obj.__doc__ if obj is not None and isinstance(obj.__doc__, str) else ""
    text = [ln.strip() for ln in doc.splitlines() if ln.strip()][:2]
    if obj is not None:
        try:
            source_file = inspect.getsourcefile(obj)
            start = _first_line(obj, source_file)
        except (OSError, TypeError):
            pass
        else:
            # the object's own file: *path*, or a base class's where the docstring is inherited
            if source_file and (text or os.path.realpath(source_file) == os.path.realpath(path)):
                line = _docstring_line(source_file, max(start, 1))
                if not text or _holds(source_file, line, text):
                    return source_file, line
    if text:
        for candidate in [path, *_package_files(path)]:
            found = _find_text(candidate, text)
            if found:
                return candidate, found
    return path, 1


def _first_line(obj: Any, source_file: str | None) -> int:
    """The line where *obj* (a function, a class, a module) is defined in *source_file*.

    Not ``inspect.getsourcelines``: for a class it parses the whole module again on every call
    (Python 3.11), 47 ms a docstring on pyparsing's 6,000-line ``core.py``: 7.7 s of a 16 s
    build. A function's code object has its line; classes come from one parse per file.
    """
    code = getattr(inspect.unwrap(obj), "__code__", None) if callable(obj) else None
    if code is not None and not inspect.isclass(obj):
        return int(code.co_firstlineno)
    if inspect.ismodule(obj):
        return 1
    if inspect.isclass(obj) and source_file:
        info = os.stat(source_file)
        found = _class_lines(source_file, info.st_mtime_ns, info.st_size).get(obj.__qualname__)
        if found:
            return found
    return inspect.getsourcelines(obj)[1]


@lru_cache(maxsize=64)
def _class_lines(path: str, mtime_ns: int, size: int) -> dict[str, int]:
    """Each class of the file *path* by qualified name, with the line it starts on (its first
    decorator's, as ``inspect`` gives it)."""
    import ast

    try:
        with open(path, encoding="utf-8-sig") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                name = f"{prefix}{child.name}"
                lines = [d.lineno for d in child.decorator_list] + [child.lineno]
                found.setdefault(name, min(lines))
                visit(child, f"{name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, f"{prefix}{child.name}.<locals>.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def _holds(path: str, line: int, text: list[str]) -> bool:
    """Whether the docstring's first line is written at *line* (or just under its quotes)."""
    lines = file_lines(path)
    window = " ".join(lines[line - 1 : line + 2])
    return text[0] in window


def _find_text(path: str, text: list[str]) -> int | None:
    """The line where a docstring whose first lines are *text* starts in *path*."""
    lines = file_lines(path)
    for number, line in enumerate(lines, 1):
        if text[0] not in line:
            continue
        rest = [ln.strip() for ln in lines[number : number + 5] if ln.strip()]
        if len(text) < 2 or (rest and rest[0] == text[1]):
            return number
    return None


def _package_files(path: str) -> list[str]:
    """The other ``.py`` files of the package *path* belongs to (its top-level folder)."""
    folder = os.path.dirname(os.path.abspath(path))
    while os.path.isfile(os.path.join(os.path.dirname(folder), "__init__.py")):
        folder = os.path.dirname(folder)
    found: list[str] = []
    for root, _dirs, files in os.walk(folder):
        found.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(".py"))
        if len(found) > 2000:
            break
    return [f for f in found if os.path.realpath(f) != os.path.realpath(path)]


def _docstring_line(path: str, start: int) -> int:
    """The first line of the docstring at or after *start* (a module's: line 1)."""
    lines = file_lines(path)
    for number in range(start, min(len(lines), start + 100) + 1):
        text = lines[number - 1].lstrip()
        for quote in ('"""', "'''", 'r"""', "r'''"):
            if text.startswith(quote):
                return number
    return start


def documented_object(name: str) -> Any:
    """The object whose docstring autodoc shows for *name*: its own, or, for an attribute of a
    class with none of its own, the first of its bases' that has one (autodoc inherits
    docstrings: pyrsistent's ``CheckedPMap.evolver`` shows ``PMap.evolver``'s, written in another
    file, whose examples use that file's module's names). ``None``: not importable."""
    obj: Any = _resolve(name)
    if obj is None or (isinstance(getattr(obj, "__doc__", None), str) and obj.__doc__.strip()):
        return obj
    owner_name, _, attr = name.rpartition(".")
    owner = _resolve(owner_name) if owner_name else None
    if isinstance(owner, type):
        for base in owner.__mro__[1:]:
            if attr not in vars(base):
                continue
            found: Any = getattr(base, attr, None)
            found = inspect.unwrap(found) if callable(found) else found
            if isinstance(getattr(found, "__doc__", None), str) and found.__doc__.strip():
                return found
    return obj


def inherited_module(name: str) -> str | None:
    """The module a docstring autodoc shows for *name* is written in, when it is inherited from
    a base class defined in another module (``None`` otherwise): its examples see that module's
    names, as its own doctests do."""
    obj = _resolve(name)
    doc_owner = documented_object(name)
    if doc_owner is None or doc_owner is obj:
        return None
    module = getattr(doc_owner, "__module__", None)
    return module if isinstance(module, str) and module in sys.modules else None


def _resolve(name: str) -> object | None:
    """The object autodoc documented as *name* (``pkg.mod.Class.method``), if importable."""
    module_name = module_of(name)
    if module_name is None:
        return None
    obj: object = sys.modules[module_name]
    try:
        for attr in name[len(module_name) :].split(".")[1:]:
            obj = getattr(obj, attr)
    except AttributeError:
        return None
    return inspect.unwrap(obj) if callable(obj) else obj


def module_of(name: str) -> str | None:
    """The module of the documented object *name* (``pkg.mod.Class.method`` -> ``pkg.mod``)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        if module_name in sys.modules:
            return module_name
        try:
            importlib.import_module(module_name)
        except Exception:  # anything a documented module may raise on import
            continue
        return module_name
    return None


def as_written(path: str, line: int, code: str) -> str:
    """Docstring example *code*, which mkdocstrings rendered from line *line* of *path*, as the
    file has it. mkdocstrings-python trims examples by default (griffe's ``trim_doctest_flags``):
    ``# doctest:`` comments go, ``<BLANKLINE>`` lines are left empty (a last one is lost with the
    rendering's trailing blank lines). doctest, and the project's own doctests, judge the text
    as written: judged trimmed, ``+SKIP`` examples ran and ``<BLANKLINE>`` outputs failed
    (bigtree's). *code* itself when the file's lines there do not trim to it."""
    lines = file_lines(path)
    shown = code.rstrip("\n").split("\n")
    start = line - 1
    if start < 0 or start + len(shown) > len(lines):
        return code
    end = start + len(shown)
    written = textwrap.dedent("\n".join(lines[start:end])).split("\n")
    for mine, seen in zip(written, shown, strict=True):  # griffe trims as Sphinx does
        if trim_directives(mine).rstrip() != seen.rstrip():
            return code
    while end < len(lines) and lines[end].strip() == "<BLANKLINE>":
        end += 1  # the output's last lines, <BLANKLINE>: rendered empty, then trimmed away
    return textwrap.dedent("\n".join(lines[start:end])).rstrip("\n") + "\n"


def transcript_at(path: str, line: int, runs: int, first: str) -> str | None:
    """The *runs* runs of ``>>>`` lines with their outputs written from line *line* of *path* on
    (each ends at a blank line, or at the docstring's closing quotes), dedented; ``None`` unless
    that line is ``>>> first`` and each run starts with a prompt."""
    lines = file_lines(path)
    number = line - 1
    if not 0 <= number < len(lines) or _bare(lines[number]) != _bare(f">>> {first}"):
        return None
    taken: list[str] = []
    end = len(lines)
    for _ in range(runs):
        while number < end and not lines[number].strip():
            taken.append("")
            number += 1
        if number >= end or not lines[number].lstrip().startswith(">>>"):
            return None
        while number < end and lines[number].strip():
            text = _CLOSING.split(lines[number], maxsplit=1)[0]
            if text != lines[number]:  # the docstring ends on this line
                end = number
            taken.append(text)
            number += 1
    return textwrap.dedent("\n".join(taken).strip("\n")).rstrip() + "\n"


#: a docstring's closing quotes
_CLOSING = re.compile("\"\"\"|'''")


def locate_object(name: str, code: str, search_paths: list[str]) -> tuple[str, int, str] | None:
    """Where the docstring example *code* of the object *name* is written, for mkdocstrings:
    ``(display path, line, module)``, found statically with griffe (what mkdocstrings-python
    reads, so the project need not be importable in the build), else through an import."""
    found = _griffe_location(name, code, search_paths)
    if found is not None:
        return found
    module = module_of(name)
    if module is None:
        return None
    file = inspect.getsourcefile(sys.modules[module]) if module in sys.modules else None
    if not file:
        return None
    source, start = _docstring_start(file, name)
    return display_path(source), _search(source, start, code), module


#: one griffe loader per list of search paths, each package loaded into it once: a fresh
#: ``griffe.load`` per example parsed the whole package again (150 docstring examples made a
#: 1.2 s MkDocs build take 83 s; griffe's own docs 157 s -> 20 min). Top-level names that failed
#: to load are remembered too. :func:`forget_griffe` starts over (``mkdocs serve`` rebuilds in
#: the same process, after the sources changed).
_griffe_loaders: dict[tuple[str, ...], tuple[Any, set[str]]] = {}


def forget_griffe() -> None:
    """Drop what griffe loaded (each build starts with the sources as they are then)."""
    _griffe_loaders.clear()


def _griffe_object(griffe: Any, name: str, search_paths: list[str]) -> Any:
    """griffe's object for the dotted *name*, its package loaded once per build."""
    key = tuple(search_paths)
    if key not in _griffe_loaders:
        _griffe_loaders[key] = (griffe.GriffeLoader(search_paths=search_paths), set())
    loader, failed = _griffe_loaders[key]
    top = name.split(".")[0]
    if top in failed:
        raise KeyError(top)
    if top not in loader.modules_collection.members:
        try:
            loader.load(top)
        except Exception:  # griffe raises its own errors for what it cannot load
            failed.add(top)
            raise
    return _griffe_member(loader.modules_collection, name)


def _griffe_member(collection: Any, name: str) -> Any:
    """The member *name* of griffe's *collection*, also an inherited one (``pkg.mod.A.meth``
    where ``meth`` is ``Base``'s is only among ``A``'s ``all_members``; its examples were
    reported at the page's line 1, without their module)."""
    try:
        return collection[name]
    except KeyError:
        owner, _, member = name.rpartition(".")
        if not owner:
            raise
        found = _griffe_member(collection, owner).all_members[member]
        return found.final_target if found.is_alias else found


def _griffe_location(name: str, code: str, search_paths: list[str]) -> tuple[str, int, str] | None:
    try:
        import griffe
    except ImportError:
        return None
    try:
        obj = _griffe_object(griffe, name, search_paths)
        path = str(obj.filepath)
        start = obj.docstring.lineno if obj.docstring and obj.docstring.lineno else obj.lineno
        module = obj.module.path if obj.kind.value != "module" else obj.path
    except Exception:  # griffe raises its own errors for names it cannot load
        return None
    return display_path(path), _search(path, max(start or 1, 1), code), str(module)


@lru_cache(maxsize=256)
def project_copy(path: str, project: str) -> str | None:
    """The *project* folder's own file of an installed module file *path*
    (``.../site-packages/pkg/mod.py``: ``PROJECT/src/pkg/mod.py`` or ``PROJECT/pkg/mod.py``)
    when its bytes are the same: where the author edits it, as ``sphinx-build`` names it (a
    docstring's failure named the venv's copy: blessed's ``.../site-packages/blessed/
    terminal.py:4031``, outside the repository for a CI annotation). ``None``: no such file."""
    relative = installed_part(path)
    if relative is None or not os.path.isabs(path):
        return None
    for root in (Path(project) / "src", Path(project)):
        candidate = root / relative
        try:
            if candidate.is_file() and candidate.read_bytes() == Path(path).read_bytes():
                return display_path(candidate)
        except OSError:
            continue
    return None


def installed_part(path: str | os.PathLike[str]) -> PurePath | None:
    """*path* from inside the packages folder it is installed in (``pkg/mod.py`` of
    ``.../site-packages/pkg/mod.py``); ``None``: not under one."""
    parts = PurePath(path).parts
    inside = [i for i, part in enumerate(parts) if part in ("site-packages", "dist-packages")]
    return PurePath(*parts[inside[-1] + 1 :]) if inside else None
