"""The check's output under each passing snippet, before any Run (``pyrun_output = "verified"``).

Shown only from a passing check of exactly that snippet: a failing snippet shows none, a
transcript none (it carries its own output), ``output = "off"`` none. HTML gets it inside the
widget (no JavaScript needed; Run replaces it, Reset brings it back); other builders print it
as a block under the code; MkDocs writes it into the built page after its check.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOTS, sphinx_build

PAGE = """Verified
========

.. pyrun::

   print("hello <b>world</b>")
   6 * 7

.. pyrun::

   print("before")
   1 / 0

.. pyrun::

   >>> 1 + 1
   2

.. pyrun::

   x = 1
"""


def verified_blocks(html: str) -> list[str]:
    return re.findall(r'<div class="pyrun-verified">(.*?)</div></py-repl>', html, re.S)


def build(make_root: Callable[..., Path], *settings: str, builder: str = "html") -> Any:
    conf = (ROOTS / "basic" / "conf.py").read_text() + 'pyrun_check = "warn"\n'
    src = make_root("basic", **{"conf.py": conf, "index.rst": PAGE})
    overrides = [arg for setting in settings for arg in ("-D", setting)]
    result = sphinx_build(src, src.parent / builder, builder, *overrides)
    assert result.status == 0, result.stderr
    return result


def test_a_passing_snippet_shows_its_output(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    html = build(make_root).read("index.html")
    blocks = verified_blocks(html)
    assert len(blocks) == 1  # not the failing one, not the transcript, not the silent one
    assert "Output · Python 3.14 (Pyodide 314.0.7)" in blocks[0]
    assert "hello &lt;b&gt;world&lt;/b&gt;\n42\n" in blocks[0]  # escaped, with the final value


def test_output_off(make_root: Callable[..., Path], runtime_cache: Path) -> None:
    html = build(make_root, "pyrun_output=off").read("index.html")
    assert "pyrun-verified" not in html


def test_other_builders_print_it_under_the_code(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    text = build(make_root, builder="text").read("index.txt")
    assert text.index('print("hello <b>world</b>")') < text.index("hello <b>world</b>\n   42")
    assert "before" not in text.split("1 / 0")[1]  # a failing snippet's output is not shown


@pytest.mark.parametrize("builder", ["latex", "epub"])
def test_pdf_and_epub_get_it(
    make_root: Callable[..., Path], runtime_cache: Path, builder: str
) -> None:
    result = build(make_root, builder=builder)
    files = list(result.outdir.rglob("*.tex" if builder == "latex" else "*.xhtml"))
    text = "".join(f.read_text(encoding="utf-8") for f in files)
    if builder == "epub":  # the output blocks (every page's), as ordinary literal blocks
        blocks = text.split('class="pyrun-verified')[1:]
        assert any("hello" in b[:300] and "42" in b[:300] for b in blocks), blocks
    else:
        output = text.split("PYG{l+m+mi}{7}")[1]  # what follows the snippet's code
        assert "hello" in output[:300] and "42" in output[:300], output[:300]


def test_an_unchanged_rebuild_reuses_the_output(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    first = build(make_root)
    again = sphinx_build(first.srcdir, first.outdir.parent / "again", "html")
    assert again.status == 0, again.stderr
    assert "remembered from an earlier run" in again.stderr  # results come from the cache
    assert verified_blocks(again.read("index.html")) == verified_blocks(first.read("index.html"))


def test_mkdocs_writes_it_after_its_check(tmp_path: Path, runtime_cache: Path) -> None:
    from test_mkdocs import mkdocs_build

    root = tmp_path / "mk"
    shutil.copytree(ROOTS / "mkdocs", root)
    (root / "docs" / "snippets.md").write_text(
        '# V\n\n```pyrun\nprint("from mkdocs")\n```\n\n```pyrun\n1 / 0\n```\n'
    )
    yml = (root / "mkdocs.yml").read_text()
    (root / "mkdocs.yml").write_text(yml.replace('check: "off"', "check: warn"))
    result = mkdocs_build(root)
    assert result.status == 0, result.output
    blocks = verified_blocks(result.read("snippets/index.html"))
    assert len(blocks) == 1 and "from mkdocs\n" in blocks[0]


@pytest.fixture
def verified_url(make_root: Callable[..., Path], runtime_cache: Path) -> Iterator[str]:
    from test_browser import serving

    from pyrun_docs.serve import DocsRequestHandler

    result = build(make_root)
    with serving(result.outdir, DocsRequestHandler) as url:
        yield url


@pytest.mark.browser
def test_without_javascript_and_after_run_and_reset(browser: Any, verified_url: str) -> None:
    from test_browser import click_run, open_page

    static = browser.new_context(java_script_enabled=False)
    page = static.new_page()
    page.goto(verified_url + "index.html")
    assert "hello <b>world</b>\n42" in page.locator("#pyrun-0 .pyrun-verified").inner_text()
    static.close()

    live = browser.new_context()
    page = live.new_page()
    open_page(page, verified_url + "index.html")
    assert page.locator("#pyrun-0 .pyrun-verified").is_visible()
    assert click_run(page, "pyrun-0")["ok"] is True
    assert page.locator("#pyrun-0 .pyrun-verified").is_hidden()  # the live output replaces it
    assert "42" in page.locator("#pyrun-0 .pyrun-output").inner_text()
    page.click("#pyrun-0 .pyrun-reset")
    assert page.locator("#pyrun-0 .pyrun-verified").is_visible()
    live.close()
