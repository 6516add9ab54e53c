"""Where an example is written: a line of a page as rendered (after includes) in its source, an
inherited docstring in its base class's file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyrun_docs.source_map import SourceMap

SOURCE = """---
title: Credits
---

```pyrun title="x"
--8<-- "gen.py"
```

--8<-- "part.md"

```pycon
>>> 1
1
```
"""


def test_lines_map_to_themselves_or_to_the_line_that_included_them() -> None:
    """The front matter is gone from what MkDocs renders, a leading blank line too; an included
    file's lines map to its ``--8<--`` line, the page's own lines to themselves, also where an
    include replaced the inside of a fence (its header is still the fence's line: a blank line
    of the front matter was taken for it, and the fence was reported as not a widget)."""
    rendered = (
        '```pyrun title="x"\nprint("gen")\n\n```\n\nIncluded.\n\n```pycon\n>>> 2\n2\n```\n\n'
        "```pycon\n>>> 1\n1\n```\n"
    )
    where = SourceMap(SOURCE, rendered)
    lines = rendered.split("\n")
    assert where.line(1) == 5  # the fence whose code an include replaced
    assert where.line(lines.index("Included.") + 1) == 9  # an included file: its --8<-- line
    assert where.line(lines.index(">>> 2") + 1) == 9
    assert where.line(lines.index(">>> 1") + 1) == 12  # the page's own, after the include


def test_an_inherited_member_is_located_in_its_base_without_importing(tmp_path: Path) -> None:
    """mkdocstrings with ``inherited_members`` shows ``A.meth``, written in ``Base``: griffe's
    ``load("pkg.mod.A.meth")`` raises (the member is only among ``A``'s ``all_members``), and the
    package is not importable by the build (``paths: [src]``): its examples were reported at the
    page's line 1 without their module, a false NameError."""
    from pyrun_docs.locate import locate_object

    package = tmp_path / "src" / "inhpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(
        "class Base:\n"
        "    def meth(self):\n"
        '        """Do it.\n\n'
        "        >>> Base().meth()\n"
        "        1\n"
        '        """\n'
        "        return 1\n\n\n"
        "class A(Base):\n"
        "    pass\n"
    )
    found = locate_object("inhpkg.mod.A.meth", ">>> Base().meth()\n1\n", [str(tmp_path / "src")])
    assert found is not None
    path, line, module = found
    assert (path.endswith("inhpkg/mod.py"), line, module) == (True, 5, "inhpkg.mod")


def test_a_package_is_loaded_once_per_build_for_all_its_examples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locating each docstring example with a fresh ``griffe.load`` parsed the whole package
    again every time (150 examples: a 1.2 s MkDocs build took 83 s): one load per package per
    build, until :func:`forget_griffe` (a rebuild of ``mkdocs serve``)."""
    import griffe

    from pyrun_docs.locate import forget_griffe, locate_object

    package = tmp_path / "src" / "onepkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(
        "".join(f'def f{i}():\n    """F.\n\n    >>> {i}\n    {i}\n    """\n\n\n' for i in range(3))
    )
    loads: list[str] = []
    real = griffe.GriffeLoader.load

    def counting(self: griffe.GriffeLoader, objspec: str, /, **kwargs: object) -> object:
        loads.append(objspec)
        return real(self, objspec, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(griffe.GriffeLoader, "load", counting)
    forget_griffe()
    paths = [str(tmp_path / "src")]
    found = [locate_object(f"onepkg.mod.f{i}", f">>> {i}\n{i}\n", paths) for i in range(3)]
    assert [f[1] if f else None for f in found] == [4, 12, 20] and loads == ["onepkg"]
    forget_griffe()
    assert locate_object("onepkg.mod.f1", ">>> 1\n1\n", paths) is not None
    assert loads == ["onepkg", "onepkg"]


def test_of_two_examples_that_start_alike_the_one_with_the_code_is_found(tmp_path: Path) -> None:
    """Examples are found near a line griffe or autodoc gives, which may be off (a stub's line
    numbers, a docstring rewritten by napoleon): two examples starting with the same line were
    both reported at the first (typing-inspection: three functions at one line)."""
    from pyrun_docs.locate import _search

    source = tmp_path / "mod.py"
    source.write_text(
        '"""\n>>> P = Undefined("P")\n>>> is_a(P)\nTrue\n"""\n\n'
        '"""\n>>> P = Undefined("P")\n>>> is_b(P.args)\nTrue\n"""\n'
    )
    second = '>>> P = Undefined("P")\n>>> is_b(P.args)\nTrue\n'
    assert _search(str(source), 2, second) == 8
    assert _search(str(source), 8, '>>> P = Undefined("P")\n>>> is_a(P)\nTrue\n') == 2
    assert _search(str(source), 3, '>>> P = Undefined("P")\n>>> other()\n') == 2  # nearest


def test_an_example_in_an_attributes_doc_comment_is_found_at_its_line(tmp_path: Path) -> None:
    """autodoc documents an attribute from its ``#:`` comment; its example was reported inside
    the module's docstring (the comment's ``#:`` kept its lines from matching)."""
    from pyrun_docs.locate import _search

    source = tmp_path / "mod.py"
    source.write_text(
        '"""Package.\n\nMore.\n"""\n\n#: Doc.\n#:\n#: >>> ATTR\n#: \'a\'\nATTR = "a"\n'
    )
    assert _search(str(source), 3, ">>> ATTR\n'a'\n") == 8


def test_an_example_with_an_escape_in_a_docstring_is_found_at_its_line(tmp_path: Path) -> None:
    r"""A docstring that is not raw says ``"x\\ny"`` in its file for the ``"x\ny"`` of its text:
    its example was reported at the docstring's first line (a MkDocs trial: inline-snapshot's
    ``prints()`` block at the line of another tab's block)."""
    from pyrun_docs.locate import _search

    source = tmp_path / "mod.py"
    source.write_text('def f():\n    """Split.\n\n    >>> f("x\\\\ny")\n    2\n    """\n')
    assert _search(str(source), 2, '>>> f("x\\ny")\n2\n') == 4


def test_a_block_far_from_its_hint_is_found_in_the_whole_file(tmp_path: Path) -> None:
    """recommonmark gives every block of a Markdown page line 0: the blocks past line 200 of
    lark's tutorial were reported at the page's line 1 (the search looked 200 lines around)."""
    from pyrun_docs.locate import _search

    page = tmp_path / "page.md"
    page.write_text("# T\n" + "text\n" * 300 + "```python\n>>> y = 2\n>>> y * 3\n6\n```\n")
    assert _search(str(page), 1, ">>> y = 2\n>>> y * 3\n6\n") == 303


def test_a_docstring_rewritten_at_import_is_located_at_its_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its example's text is on no line of the file (Spans' ``fix_timedelta_repr``): the line
    autodoc gives, counted from the docstring's first line of text, was counted from the quotes'
    line, one line above the example when the text starts on the line after them."""
    from pyrun_docs.locate import DOCSTRING, locate

    source = tmp_path / "rewritten_mod.py"
    source.write_text(
        "def fix(f):\n    f.__doc__ = f.__doc__.replace('OLD', 'NEW')\n    return f\n\n\n"
        '@fix\ndef a():\n    """\n    Doc.\n\n    >>> OLD\n    1\n    """\n\n\n'
        '@fix\ndef b():\n    """Doc.\n\n    >>> OLD\n    2\n    """\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name, line in (("a", 11), ("b", 20)):
        where = f"{source}{DOCSTRING}rewritten_mod.{name}"
        assert locate(where, 3, ">>> NEW\n1\n", "index.rst")[1] == line, name


def test_a_docstring_of_the_installed_project_is_named_at_the_project_s_copy(
    tmp_path: Path,
) -> None:
    """A project installed into the build's environment (not editable): autodoc reads its
    docstrings from the installed copy, and failures were named there (blessed's
    ``.../site-packages/blessed/terminal.py:4031``, outside the repository); the project's own
    file, the same bytes, is where the author edits it. Not another file's."""
    from pyrun_docs.locate import project_copy

    installed = tmp_path / "venv" / "lib" / "python3.12" / "site-packages" / "pkgx" / "core.py"
    own = tmp_path / "project" / "src" / "pkgx" / "core.py"
    for path in (installed, own):
        path.parent.mkdir(parents=True)
        path.write_text('def f():\n    """>>> 1\n    1\n    """\n')
    found = project_copy(str(installed), str(tmp_path / "project"))
    assert found is not None and Path(found).resolve() == own.resolve()
    own.write_text("# changed since it was installed\n")
    assert project_copy(str(installed), str(tmp_path / "project") + "/") is None
    assert project_copy(str(own), str(tmp_path / "project")) is None  # not an installed file
