"""The MkDocs build and ``pyrun-docs check`` agree on which blocks are snippets (issue 20, item 3).

A real ``mkdocs build`` (mkdocs-material, SuperFences) of the test site plus a page of fences
that are easy to get wrong: every page's widgets must be exactly the snippets the CLI's scanner
finds there, same code in the same order. A header SuperFences cannot read as written
(``session=intro`` unquoted, ``emphasize-lines`` with its hyphen) used to turn into text whose
closing fence swallowed the next paragraph and fence, while the check counted that fence.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from conftest import ROOTS
from test_mkdocs import ROOT, mkdocs_build

from pyrun_docs.check.scan import scan_paths

TRICKY = """\
# Tricky

```pyrun session=intro
x = 1
```

A paragraph that must stay a paragraph.

```pyrun session="intro"
print(x)
```

```pyrun emphasize-lines="2" linenos
a = 1
b = 2
```

```pyrun title='say "hi"' "stray
y = 2
```

<!--
```pyrun
in_a_comment = 1
```
-->

````markdown
```pyrun
only_an_example = 1
```
````

~~~pyrun hidden session=s2
setup = 1
~~~

!!! note

    ```pyrun session=intro
    print("in a note", x)
    ```

=== "Tab"

    ```{.pyrun session=intro}
    print("in a tab")
    ```
```python emphasize-lines="2"
not_ours = 1
```

```pyrun
swallowed_by_the_block_above = 1
```

```pyrun session="intro"
print("after", x)
```
"""

WIDGET = re.compile(r"<py-repl [^>]*data-digest=\"(?P<digest>[0-9a-f]+)\"[^>]*>")


def _built_page(site: Path, page: Path) -> Path:
    """``docs/a/b.md`` -> ``site/a/b/index.html`` (``use_directory_urls``), index pages kept."""
    stem = page.with_suffix("")
    return site / (stem.parent if stem.name == "index" else stem) / "index.html"


def assert_build_and_check_agree(docs: Path, site: Path) -> dict[Path, list[Any]]:
    """Every page's widgets in the built *site* are the snippets the scanner finds in its
    source, same code in the same order; returns the scanned snippets by source file."""
    scanned = scan_paths([docs], docs_dir=docs)
    by_page = {Path(k).resolve(): v for k, v in scanned.pages.items()}
    pages = sorted(docs.rglob("*.md"))
    assert pages
    for page in pages:
        html = _built_page(site, page.relative_to(docs)).read_text(encoding="utf-8")
        built = [m.group("digest") for m in WIDGET.finditer(html)]
        checked = [s.digest for s in by_page.get(page.resolve(), [])]
        assert built == checked, (page.name, built, checked)
    return by_page


def test_build_and_check_find_the_same_snippets(tmp_path: Path, runtime_cache: Path) -> None:
    root = tmp_path / "mk"
    shutil.copytree(ROOT, root)
    (root / "docs" / "tricky.md").write_text(TRICKY)
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    assert "Traceback" not in build.output
    # the one header token nothing can read is reported at its line, the fence kept
    assert "docs/tricky.md:18: cannot read '\"stray'" in build.output, build.output
    docs = root / "docs"
    by_page = assert_build_and_check_agree(docs, build.site)
    assert len(by_page) >= 3

    tricky = (build.site / "tricky" / "index.html").read_text(encoding="utf-8")
    assert len(WIDGET.findall(tricky)) == 9  # one inside the HTML comment, as SuperFences does
    # a header of another fence SuperFences cannot read swallows the pyrun fence after it: in
    # the build and in the check alike, and both say so at that fence's line
    assert "docs/tricky.md:53: this pyrun fence is shown as plain code" in build.output
    assert "line 49 is not one SuperFences reads" in build.output
    assert "<p>A paragraph that must stay a paragraph.</p>" in tricky
    assert "session=intro" not in tricky  # no header left as text
    assert 'data-emphasize-lines="2"' in tricky and "data-linenos" in tricky
    assert [s.options.session for s in by_page[(docs / "tricky.md").resolve()]] == [
        "intro", "intro", None, None, None, "s2", "intro", "intro", "intro"
    ]  # fmt: skip


def test_project_site_build_and_check_agree(tmp_path: Path, runtime_cache: Path) -> None:
    """The other MkDocs test site (a documented project, checked during its build)."""
    root = tmp_path / "project"
    shutil.copytree(ROOTS / "project", root)
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    assert assert_build_and_check_agree(root / "mkdocs_docs", build.site)
