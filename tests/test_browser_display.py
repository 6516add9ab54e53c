"""``display()`` and rich reprs in the browser: each MIME type, text always escaped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stored_snapshot import StoredSnapshot
from test_browser import basic_with_page, click_run, open_page

pytestmark = pytest.mark.browser

PAGE = """\
:orphan:

Display
=======

.. pyrun::

   class Html:
       def _repr_html_(self):
           return "<b class='rich'>bold</b>"

   display(Html())

.. pyrun::

   import base64
   png = base64.b64decode(
       "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
   )

   class Png:
       def _repr_png_(self):
           return png

   display(Png())

.. pyrun::

   class Svg:
       def _repr_svg_(self):
           return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'

   Svg()

.. pyrun::

   class Bundle:
       def _repr_mimebundle_(self, include=None, exclude=None):
           return {"text/plain": "plain <i>text</i>"}

   display(Bundle(), "<script>alert(1)</script>")

.. pyrun::

   class Md:
       def _repr_markdown_(self):
           return (
               "## Table\\n\\nSome **bold**, *it* and `x < 1` <script>bad()</script>\\n\\n"
               "- one\\n- two\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n\\n"
               "[bad](javascript:alert(1)) [good](https://example.com)"
           )

   display(Md())

.. pyrun::
   :stdin: Ada\\n41

   name = input("Name? ")
   print(name, int(input("Age? ")) + 1)

.. pyrun::

   input("Name? ")
"""


@pytest.fixture(scope="module")
def display_url(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Iterator[str]:
    with basic_with_page(tmp_path_factory.mktemp("display"), "display", PAGE) as url:
        yield url


def test_each_mime_type(page: Any, display_url: str, stored_snapshot: StoredSnapshot) -> None:
    open_page(page, display_url, stored_snapshot)
    click_run(page, "pyrun-0")
    assert page.locator("#pyrun-0 .pyrun-display b.rich").inner_text() == "bold"
    click_run(page, "pyrun-1")
    src = page.get_attribute("#pyrun-1 .pyrun-display img", "src")
    assert src and src.startswith("data:image/png;base64,iVBOR")
    assert page.evaluate("document.querySelector('#pyrun-1 .pyrun-display img').naturalWidth") == 1
    click_run(page, "pyrun-2")  # a final expression with a rich repr is displayed
    svg = page.get_attribute("#pyrun-2 .pyrun-display img", "src")
    assert svg and svg.startswith("data:image/svg+xml")
    click_run(page, "pyrun-3")
    text = page.locator("#pyrun-3 .pyrun-output").inner_text()
    assert "plain <i>text</i>" in text and "<script>alert(1)</script>" in text
    assert page.locator("#pyrun-3 .pyrun-output i, #pyrun-3 .pyrun-output script").count() == 0


def test_markdown_is_rendered_and_escaped(
    page: Any, display_url: str, stored_snapshot: StoredSnapshot
) -> None:
    open_page(page, display_url, stored_snapshot)
    click_run(page, "pyrun-4")
    box = page.locator("#pyrun-4 .pyrun-display.pyrun-markdown")
    assert box.locator("h2").inner_text() == "Table"
    assert box.locator("strong").inner_text() == "bold" and box.locator("em").inner_text() == "it"
    assert box.locator("code").inner_text() == "x < 1"
    assert box.locator("li").all_inner_texts() == ["one", "two"]
    assert box.locator("td").all_inner_texts() == ["1", "2"]
    assert "<script>bad()</script>" in box.inner_text()  # shown as text, never run
    assert box.locator("script").count() == 0
    hrefs = box.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["#", "https://example.com"]


def test_input_reads_the_stdin_option(
    page: Any, display_url: str, stored_snapshot: StoredSnapshot
) -> None:
    open_page(page, display_url, stored_snapshot)
    result = click_run(page, "pyrun-5")
    assert result["ok"] is True, result
    assert page.locator("#pyrun-5 .pyrun-output").inner_text() == "Name? Ada\nAge? 41\nAda 42\n"
    # without answers, input() fails at once with a message saying what to do, the worker lives on
    result = click_run(page, "pyrun-6")
    assert result["error"]["type"] == "EOFError"
    assert "stdin" in page.locator("#pyrun-6 .pyrun-output").inner_text()
    assert click_run(page, "pyrun-5")["ok"] is True
