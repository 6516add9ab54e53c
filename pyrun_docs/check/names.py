"""The names a snippet binds and the names it uses: whether an earlier failure of its session can
explain a later one.

A failing example after another that failed was said to fail "after an earlier example of its
session failed", naming the session's first failure, whatever the two had to do with each other:
every static note of a page of host-dependent examples (a subprocess, a socket, a host file)
named the subprocess, and requests' ``NameError: name 'r'`` named an example 34 lines above the
one that was to bind ``r``. An earlier failure counts when it was to bind a name the later one
uses (the later's failure may follow from it not having been bound, or bound to something
half made); the latest such one is named.
"""

from __future__ import annotations

import ast
import functools
import re

from pyrun_docs.executor import transcript_source
from pyrun_docs.snippet import Snippet


def _tree(snippet: Snippet) -> ast.Module | None:
    whole = _parsed(snippet.code, snippet.is_transcript)
    if whole is not None or not snippet.is_transcript or snippet.examples is None:
        return whole
    # doctest compiles each example on its own: one that does not compile reads nothing and
    # binds only what it was plainly to assign (``y = (1``: a later NameError for ``y`` is its
    # doing), not anything at all (blessed's unclosed ``print("a"`` was blamed for every later
    # failure of its page)
    body: list[ast.stmt] = []
    for example in snippet.examples:
        tree = _example_tree(example.source)
        body += tree.body if tree is not None else []
    return ast.Module(body=body, type_ignores=[])


def _example_tree(source: str) -> ast.Module | None:
    """One example parsed; one that does not compile as the assignments it was plainly to make."""
    tree = _parsed(source, False)
    if tree is None:
        tree = _parsed("".join(f"{name} = None\n" for name in _ASSIGNED.findall(source)), False)
    return tree


#: the name a line that does not compile was plainly to assign (``y = (1``)
_ASSIGNED = re.compile(r"^([A-Za-z_]\w*)\s*=(?!=)", re.MULTILINE)


@functools.lru_cache(maxsize=4096)
def _parsed(code: str, transcript: bool) -> ast.Module | None:
    """*code* parsed (a transcript's statements, prompts gone) once, however many later
    failures ask about it."""
    try:
        return ast.parse(transcript_source(code) if transcript else code)
    except (SyntaxError, ValueError):
        return None


def bound(snippet: Snippet, since: int | None = None) -> frozenset[str] | None:
    """The names *snippet* binds at its top level or in its blocks (assignments, imports,
    definitions, loop and ``with`` targets); ``None``: its code does not parse here. *since*:
    only those its statements (a transcript's examples) ending on or after that line of its
    file bind, as it failed there: what ran before its failure did bind its names (graphviz's
    block failed at ``n.render()``, after its ``import graphviz`` ran)."""
    tree = _tree(snippet)
    if tree is None:
        return None
    if since is None or not snippet.lines_exact:
        return _binds(tree)
    if not snippet.is_transcript:
        last = [s for s in tree.body if snippet.source_line(s.end_lineno or s.lineno) >= since]
        return _binds(ast.Module(body=last, type_ignores=[]))
    names: set[str] = set()
    for example in snippet.examples or ():
        end = snippet.source_line(example.line + example.source.count("\n") - 1)
        parsed = _example_tree(example.source) if end >= since else None
        names |= _binds(parsed) if parsed is not None else set()
    return frozenset(names)


def _binds(tree: ast.AST) -> frozenset[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Global):
            names.update(node.names)
    return frozenset(names)


def used(snippet: Snippet) -> frozenset[str] | None:
    """The names *snippet* reads before binding them itself (``M = Matrix(...)`` then ``M``
    needs no earlier ``M``: sympy's matrices page blamed ten examples on an earlier one);
    ``None``: its code does not parse here. Statement by statement, a name one reads and binds
    (``x = x + 1``) counts as read."""
    tree = _tree(snippet)
    if tree is None:
        return None
    found: set[str] = set()
    bound_here: set[str] = set()
    for statement in tree.body:
        reads = {
            node.id
            for node in ast.walk(statement)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
        found |= reads - bound_here
        bound_here |= _binds(statement)
    return frozenset(found)


def may_explain(
    earlier: Snippet, later: Snippet, failed_at: int | None = None, missing: str | None = None
) -> bool:
    """Whether *earlier*, failing (at line *failed_at* of its file, when known), may be why
    *later* failed: it was to bind a name *later* uses, or the very name *later* missed
    (*missing*, of its ``NameError``: semantic_version's ``Version``, bound by neither, was
    blamed on a block that was to bind another name); or either does not parse here, when
    nothing can be told."""
    made = bound(earlier, failed_at)
    needed = frozenset({missing}) if missing else used(later)
    return made is None or needed is None or bool(made & needed)


def missing_name(message: str) -> str | None:
    """The name a ``NameError`` message says is not defined (``None``: another failure)."""
    found = _NAME_ERROR.match(message)
    return found.group(1) if found else None


_NAME_ERROR = re.compile(r"NameError: name '(\w+)' is not defined")
