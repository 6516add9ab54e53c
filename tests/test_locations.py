"""Where an example is written: a line of a page as rendered (after includes) in its source, an
inherited docstring in its base class's file."""

from __future__ import annotations

from pathlib import Path

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
