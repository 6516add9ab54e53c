"""The source scanner behind ``pyrun-docs check PATH``: snippets, exact lines, validated options."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import sphinx_in_process

from pyrun_docs.check.scan import scan_paths, scan_text, source_files
from pyrun_docs.errors import PyrunError

ROOTS = Path(__file__).parent / "roots"


def scan(text: str, name: str) -> tuple[list, list[PyrunError]]:  # type: ignore[type-arg]
    errors: list[PyrunError] = []
    return scan_text(text, name, page=name, errors=errors), errors


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.split("\n"), 1) if needle in ln)


RST = """\
Title
=====

.. pyrun::
   :session: s
   :hidden:

   setup = 1

Text.

.. note::

   .. pyrun::
      :session: s
      :caption: a caption that
         wraps onto a second line

      nested = setup + 1

.. code-block:: rst

   .. pyrun::

      not_a_snippet = 1

A literal block follows::

   .. pyrun::

      also_not = 1

.. this is a comment
   .. pyrun::

      commented_out = 1

.. pyrun::
   :sesion: typo
   :timeout: 2


   after_two_blank_lines = 1

.. pyrun::

   >>> 1 + 1
   2
"""


def test_rst_snippets_lines_and_options() -> None:
    snippets, errors = scan(RST, "docs/page.rst")
    codes = [s.code.strip().splitlines()[0] for s in snippets]
    assert codes == ["setup = 1", "nested = setup + 1", "after_two_blank_lines = 1", ">>> 1 + 1"]
    setup, nested, typo, transcript = snippets
    assert setup.line == line_of(RST, "setup = 1")
    assert setup.options.session == "s" and setup.options.hidden
    assert nested.line == line_of(RST, "nested = setup + 1")
    assert nested.options.caption == "a caption that\nwraps onto a second line"
    assert typo.line == line_of(RST, "after_two_blank_lines")
    assert typo.options.timeout == 2
    assert transcript.is_transcript and transcript.line == line_of(RST, ">>> 1 + 1")
    assert [s.index for s in snippets] == [0, 1, 2, 3]
    assert all(s.page == "docs/page.rst" and s.path == "docs/page.rst" for s in snippets)
    # the bad option is reported at the directive and the snippet is kept without it
    assert len(errors) == 1
    assert errors[0].location == f"docs/page.rst:{line_of(RST, ':sesion: typo') - 1}"
    assert "unknown option 'sesion'" in errors[0].message and "session" in errors[0].message


def test_rst_empty_snippet_and_argument_are_errors() -> None:
    text = "A\n=\n\n.. pyrun:: oops\n\n   x = 1\n\n.. pyrun::\n\nText after.\n"
    snippets, errors = scan(text, "e.rst")
    assert [s.code for s in snippets] == ["x = 1\n"]
    messages = sorted(str(e) for e in errors)
    assert messages[0].startswith("e.rst:4: the pyrun directive takes no argument")
    assert messages[1].startswith("e.rst:8: empty pyrun snippet")


MYST = """\
# MyST page

```{pyrun}
:session: intro

import math
print(math.sqrt(2))
```

```{pyrun}
---
session: intro
hidden: true
caption: "Setup"
---
import os
```

````{note}
```{pyrun}
inside_a_note = 1
```
````

`````markdown
```{pyrun}
just_an_example = 1
```
`````

:::{pyrun}
:raises: ValueError

int("x")
:::
"""


def test_myst_snippets() -> None:
    snippets, errors = scan(MYST, "docs/myst.md")
    assert not errors
    first, hidden, noted, colon = snippets
    assert first.line == line_of(MYST, "import math") and first.options.session == "intro"
    assert hidden.line == line_of(MYST, "import os")
    assert hidden.options.hidden and hidden.options.caption == "Setup"
    assert noted.code == "inside_a_note = 1\n" and noted.line == line_of(MYST, "inside_a_note")
    assert colon.options.raises == "ValueError" and colon.line == line_of(MYST, 'int("x")')


MKDOCS = """\
# MkDocs page

```pyrun session="a" hidden
a = 1
```

```{.pyrun session="a" title="Shown"}

print(a)
```

!!! note "Inside an admonition"

    ```pyrun
    in_admonition = 1
    ```

=== "Tab one"

    ```pyrun timeout="5"
    in_tab = 1
    ```

```pyrun session=unquoted
broken = 1
```

```python
# ```pyrun inside another fence is only an example
```
"""


def test_mkdocs_fences() -> None:
    snippets, errors = scan(MKDOCS, "docs/index.md")
    hidden, shown, admonition, tab, unquoted = snippets
    assert hidden.options.hidden and hidden.options.session == "a"
    assert hidden.line == line_of(MKDOCS, "a = 1")
    assert shown.options.caption == "Shown" and shown.line == line_of(MKDOCS, "print(a)")
    assert admonition.code == "in_admonition = 1\n"
    assert admonition.line == line_of(MKDOCS, "in_admonition")
    assert tab.options.timeout == 5 and tab.line == line_of(MKDOCS, "in_tab")
    # unquoted values are read (the MkDocs plugin hands SuperFences the header quoted)
    assert unquoted.options.session == "unquoted" and unquoted.line == line_of(MKDOCS, "broken")
    assert errors == []


def test_paths_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "a.rst").write_text(".. pyrun::\n\n   x = 1\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("```pyrun\ny = 2\n```\n", encoding="utf-8")
    (tmp_path / "_build").mkdir()
    (tmp_path / "_build" / "c.rst").write_text(".. pyrun::\n\n   z = 3\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text(".. pyrun::\n\n   no = 1\n", encoding="utf-8")
    files = source_files([tmp_path])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["a.rst", "sub/b.md"]
    result = scan_paths([tmp_path])
    assert result.files == 2 and len(result.snippets) == 2
    assert len(result.pages) == 2  # one page per file: sessions never span files
    with pytest.raises(PyrunError, match="no such file"):
        scan_paths([tmp_path / "missing"])


def test_lines_agree_with_the_sphinx_adapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """reST lines, indexes and options are what the Sphinx directive records in the environment."""

    src = tmp_path / "src"
    shutil.copytree(ROOTS / "basic", src)
    (src / "extra.rst").write_text(RST.replace("   :sesion: typo\n", ""), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    app = sphinx_in_process(src, tmp_path / "out")
    ours = scan_paths([src]).pages
    for docname, recorded in app.env.pyrun_snippets.items():  # type: ignore[attr-defined]
        path = recorded[0].path
        if not path.endswith(".rst"):
            continue
        scanned = ours[path]
        assert [(s.line, s.index, s.code, s.options) for s in scanned] == [
            (s.line, s.index, s.code, s.options) for s in recorded
        ], docname
    # MyST: the line of the code's first line (the directive's own line would be 3)
    myst = ours[str(Path("src") / "myst.md")]
    assert myst[0].line == 6 and myst[0].options.session == "intro"


INCLUDED = """\
Shared part
-----------

.. pyrun::
   :session: s

   shared = 41
"""

INCLUDING = """\
Including page
==============

.. pyrun::
   :session: s

   before = 1

.. include:: _parts/shared.rst

.. include:: /_parts/tail.rst
   :start-after: .. cut here

.. include:: _parts/shared.rst
   :literal:

.. pyrun::
   :session: s

   print(before + shared)
"""

TAIL = """\
.. pyrun::

   not_included = 0

.. cut here

.. pyrun::

   tail = 3
"""


MYST_INCLUDED = "```{pyrun}\n:session: m\n\nshared_md = 2\n```\n"
MYST_INCLUDING = (
    "# MyST including\n\n```{pyrun}\n:session: m\n\nm = 1\n```\n\n"
    "```{include} _parts/shared.md\n```\n\n"
    "```{pyrun}\n:session: m\n\nprint(m + shared_md)\n```\n"
)


def test_pages_and_includes_agree_with_the_sphinx_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file only pulled in by ``.. include::`` (and in ``exclude_patterns``) is no page of its
    own for the check either; its snippets count where it is included, in the including page's
    order and sessions, at the included file's lines (issue 20, item 7)."""

    from pyrun_docs.check.scan import SphinxSources
    from pyrun_docs.site_config import read_site_config

    src = tmp_path / "src"
    shutil.copytree(ROOTS / "basic", src)
    conf = src / "conf.py"
    conf.write_text(conf.read_text().replace('["_build"]', '["_build", "_parts", "draft*.rst"]'))
    (src / "_parts").mkdir()
    (src / "_parts" / "shared.rst").write_text(INCLUDED, encoding="utf-8")
    (src / "_parts" / "tail.rst").write_text(TAIL, encoding="utf-8")
    (src / "including.rst").write_text(INCLUDING, encoding="utf-8")
    (src / "draft-1.rst").write_text(".. pyrun::\n\n   draft = 1\n", encoding="utf-8")
    (src / "_parts" / "shared.md").write_text(MYST_INCLUDED, encoding="utf-8")
    (src / "myst_including.md").write_text(MYST_INCLUDING, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    app = sphinx_in_process(src, tmp_path / "out")
    site = read_site_config(conf)
    rules = SphinxSources.from_conf(src, site.sources)
    ours = scan_paths([src], sphinx=rules).pages
    built: dict[str, list] = app.env.pyrun_snippets  # type: ignore[attr-defined,type-arg]

    def key(snippets: list) -> list[tuple[str, int, int, str, str | None]]:  # type: ignore[type-arg]
        return [(Path(s.path).name, s.line, s.index, s.code, s.options.session) for s in snippets]

    pages = {str(Path(app.env.doc2path(doc)).relative_to(tmp_path)): s for doc, s in built.items()}
    assert sorted(ours) == sorted(p for p, s in pages.items() if s)
    for page, snippets in pages.items():
        if snippets:
            assert key(ours[page]) == key(snippets), page
    including = key(ours[str(Path("src") / "including.rst")])
    assert [(name, line) for name, line, *_ in including] == [
        ("including.rst", 7), ("shared.rst", 7), ("tail.rst", 9), ("including.rst", 20)
    ]  # fmt: skip
    myst = key(ours[str(Path("src") / "myst_including.md")])
    assert [(name, line) for name, line, *_ in myst] == [
        ("myst_including.md", 6), ("shared.md", 4), ("myst_including.md", 15)
    ]  # fmt: skip
    # without the project's rules every file is a page (what `--no-config` gets)
    assert str(Path("src") / "_parts" / "shared.rst") in scan_paths([src]).pages


@pytest.mark.parametrize(
    "pattern",
    ["_build", "_parts", "draft*.rst", "**/secret.rst", "a/*", "a/**", "[!x]*.md", "?.rst"],
)
def test_exclude_patterns_match_as_sphinx_matches(pattern: str) -> None:
    from sphinx.util.matching import Matcher

    from pyrun_docs.check.scan import _matches

    paths = [
        "_build", "_parts/x.rst", "draft-1.rst", "drafts/a.rst", "secret.rst", "a/b/secret.rst",
        "a/x.rst", "a/b/c.rst", "y.md", "x.md", "z.rst", "zz.rst",
    ]  # fmt: skip
    sphinx = Matcher([pattern])
    assert [_matches([pattern], p) for p in paths] == [sphinx(p) for p in paths]


def test_emphasized_line_out_of_range_is_reported() -> None:
    """As ``code-block`` warns "line number spec is out of range", naming the range."""
    text = ".. pyrun::\n   :emphasize-lines: 2, 9\n\n   a = 1\n   b = 2\n"
    snippets, errors = scan(text, "docs/p.rst")
    assert snippets[0].options.emphasize_lines == (2, 9)
    assert [(e.location, e.message) for e in errors] == [
        ("docs/p.rst:1", "option 'emphasize-lines': line 9 is out of range (1-2); not emphasized")
    ]
