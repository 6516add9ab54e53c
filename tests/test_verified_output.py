"""The check's output under each passing snippet, before any Run (``pyrun_output = "verified"``),
and every example to take away (``.py`` per widget, ``.ipynb`` per page).

Shown only from a passing check of exactly that snippet: a failing snippet shows none, a
transcript none (it carries its own output), ``output = "off"`` none. HTML gets it inside the
widget (no JavaScript needed; Run replaces it, Reset brings it back), rich output included
(images as content-addressed files); other builders print it as a block under the code (images
as figures where the builder takes them); MkDocs writes it into the built page after its check.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from bs4 import BeautifulSoup, Tag
from conftest import ROOTS, Build, sphinx_build
from stored_snapshot import StoredSnapshot

from pyrun_docs.outputs import Recorded, record, to_html

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

.. pyrun::
   :session: rich
   :hidden:

   import struct, zlib

   def png(width=4, height=3):
       rows = b"".join(b"\\x00" + b"\\xff\\x00\\x00" * width for _ in range(height))
       def chunk(kind, data):
           crc = struct.pack(">I", zlib.crc32(kind + data))
           return struct.pack(">I", len(data)) + kind + data + crc
       header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
       return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header)
               + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

   class Red:
       def _repr_png_(self):
           return png()
       def __repr__(self):
           return "<a red square>"

.. pyrun::
   :session: rich

   class Table:
       def _repr_html_(self):
           return "<table class='made-by-snippet'><tr><td>cell</td></tr></table>"

   class Note:
       def _repr_markdown_(self):
           return "a **bold** note"

   class Circle:
       def _repr_svg_(self):
           return ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                   '<circle cx="5" cy="5" r="4"/></svg>')

   print("before the square")
   display(Red())
   print("after the square")
   display(Table(), Note(), Circle())

.. pyrun::
   :session: counter
   :hidden:

   total = 40

.. pyrun::
   :session: counter

   total += 1

.. pyrun::
   :session: counter

   print("total is", total + 1)

.. pyrun::
   :session: bug

   print("first")
   total = missing + 1

.. pyrun::
   :session: bug

   print("after the failing one")

.. pyrun::
   :raises: ZeroDivisionError

   print("dividing")  # TOKEN (a stored result must not hide a regression)
   1 / 0

.. toctree::

   sub/deep
"""

DEEP = """Deep
====

.. pyrun::

   class Red:
       def _repr_png_(self):
           import base64
           return base64.b64decode({!r})

   display(Red())
""".format(base64.b64encode(b"\x89PNG\r\n\x1a\n deep page image").decode())


def widgets(page_html: str) -> dict[str, Tag]:
    soup = BeautifulSoup(page_html, "html.parser")
    return {str(w["id"]): w for w in soup.find_all("py-repl") if isinstance(w, Tag)}


def verified(widget: Tag) -> Tag | None:
    found = widget.find("div", class_="pyrun-verified", recursive=False)
    return found if isinstance(found, Tag) else None


def verified_blocks(page_html: str) -> list[str]:
    return [str(block) for w in widgets(page_html).values() if (block := verified(w))]


def write_root(src: Path, conf_extra: str = "") -> Path:
    shutil.copytree(ROOTS / "basic", src)
    conf = (ROOTS / "basic" / "conf.py").read_text() + 'pyrun_check = "warn"\n' + conf_extra
    (src / "conf.py").write_text(conf)
    (src / "index.rst").write_text(PAGE.replace("TOKEN", uuid.uuid4().hex))
    (src / "sub").mkdir(exist_ok=True)
    (src / "sub" / "deep.rst").write_text(DEEP)
    return src


def build(src: Path, builder: str = "html", *settings: str, out: Path | None = None) -> Build:
    overrides = [arg for setting in settings for arg in ("-D", setting)]
    result = sphinx_build(src, out or src.parent / builder, builder, *overrides)
    assert result.status == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Build:
    """One checked HTML build shared by the module's read-only tests."""
    src = write_root(tmp_path_factory.mktemp("verified") / "src")
    return build(src)


def test_a_passing_snippet_shows_its_output(site: Build) -> None:
    found = widgets(site.read("index.html"))
    block = verified(found["pyrun-0"])
    assert block is not None
    assert "Output · Python 3.14 (Pyodide 314.0.7)" in block.get_text()
    text = block.find("pre", class_="pyrun-text")
    assert text is not None and text.get_text() == "hello <b>world</b>\n42\n"  # with the value
    assert "hello &lt;b&gt;world" in str(text)  # escaped, as the widget escapes live output
    # not the silent one, not hidden setup; the failing one is marked as not verified
    for index in (3, 4, 6):
        assert verified(found[f"pyrun-{index}"]) is None, index
    failing = verified(found["pyrun-1"])
    assert failing is not None and "pyrun-unverified" in failing["class"]


def test_an_expected_exception_ends_the_output_shown(site: Build) -> None:
    """A ``raises`` snippet's verified output ends with the exception it expects, as a Run shows
    it (the page showed only what it printed, as if nothing had been raised)."""
    block = verified(widgets(site.read("index.html"))["pyrun-11"])
    assert block is not None and "pyrun-unverified" not in block["class"]
    text = block.get_text()
    assert "dividing\n" in text and "ZeroDivisionError: division by zero" in text, text
    assert block.find(class_="pyrun-stderr") is not None  # marked as the widget marks it


def test_a_transcript_shows_its_console_view(site: Build) -> None:
    """The widget shows a transcript's code without prompts; its verified output is the console
    view a Run gives (each example after its prompt, then what it printed)."""
    block = verified(widgets(site.read("index.html"))["pyrun-2"])
    assert block is not None
    assert block.get_text().endswith(">>> 1 + 1\n2\n")
    assert block.select_one(".pyrun-echo").get_text() == ">>> 1 + 1\n"  # type: ignore[union-attr]


def test_rich_output_is_static_html_with_images_as_files(site: Build) -> None:
    block = verified(widgets(site.read("index.html"))["pyrun-5"])
    assert block is not None
    shown = str(block)
    # in the order it was produced: text, the image, text, then HTML, Markdown, SVG
    order = [
        shown.index("before the square"),
        shown.index("<img"),
        shown.index("after the square"),
        shown.index("made-by-snippet"),
        shown.index("<strong>bold</strong>"),
        shown.index(".svg"),
    ]
    assert order == sorted(order), shown
    assert "data:" not in shown  # images are files, not data URLs in the page
    images = block.find_all("img")
    assert [img["loading"] for img in images] == ["lazy", "lazy"]
    png = site.outdir / str(images[0]["src"])
    assert re.fullmatch(r"_images/pyrun/[0-9a-f]{32}\.png", str(images[0]["src"]))
    assert png.read_bytes().startswith(b"\x89PNG") and images[0]["alt"] == "<a red square>"
    svg = (site.outdir / str(images[1]["src"])).read_text()
    assert svg.startswith("<svg") and "<circle" in svg


def test_a_page_in_a_folder_links_its_images_relative_to_itself(site: Build) -> None:
    block = verified(widgets(site.read("sub/deep.html"))["pyrun-0"])
    assert block is not None
    src = str(block.find("img")["src"])  # type: ignore[index]
    assert src.startswith("../_images/pyrun/")
    assert (site.outdir / "sub" / src).read_bytes() == b"\x89PNG\r\n\x1a\n deep page image"


def test_take_away_links_work_without_javascript(site: Build) -> None:
    found = widgets(site.read("index.html"))
    links = {a.get_text(): str(a["href"]) for a in found["pyrun-0"].select(".pyrun-takeaway a")}
    assert links == {
        "Download .py": "_downloads/pyrun/index/index-example-1.py",
        "Download notebook": "_downloads/pyrun/index/index.ipynb",
    }
    assert all(a.has_attr("download") for a in found["pyrun-0"].select(".pyrun-takeaway a"))
    assert not found["pyrun-4"].select(".pyrun-takeaway")  # hidden setup has no menu
    deep = widgets(site.read("sub/deep.html"))["pyrun-0"]
    href = str(deep.select_one(".pyrun-takeaway a")["href"])  # type: ignore[index]
    assert href == "../_downloads/pyrun/sub/deep/deep-example-1.py"
    assert (site.outdir / "sub" / href).is_file()


def run_script(path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_downloaded_script_prints_what_the_page_shows(site: Build) -> None:
    folder = site.outdir / "_downloads" / "pyrun" / "index"
    assert run_script(folder / "index-example-1.py") == "hello <b>world</b>\n42\n"
    # its session's hidden setup and earlier snippets run first, as in the widget
    script = folder / "index-example-9.py"
    assert run_script(script) == "total is 42\n"
    # the exception a ``raises`` snippet expects is shown and the script ends well
    assert run_script(folder / "index-example-12.py").startswith("dividing\n")
    text = script.read_text()
    assert text.index("total = 40") < text.index("total += 1") < text.index('print("total is"')
    assert "index.rst:" in text  # says where each part comes from
    # a transcript becomes statements whose values are printed, as doctest shows them
    assert run_script(folder / "index-example-3.py") == "2\n"
    # an earlier example that fails in the docs (the check says so) does not end it: the page
    # runs it and goes on (bitmath's later scripts all stopped at one docs bug)
    assert run_script(folder / "index-example-11.py") == (
        "first\nNameError: name 'missing' is not defined\nafter the failing one\n"
    )
    # rich output prints its text form in a terminal
    rich = run_script(folder / "index-example-6.py")
    assert rich.startswith("before the square\n<a red square>\nafter the square\n")


def test_the_page_notebook_is_valid_and_carries_the_verified_outputs(site: Build) -> None:
    path = site.outdir / "_downloads" / "pyrun" / "index" / "index.ipynb"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.id for cell in code] == [f"pyrun-{i}" for i in range(12)]  # session order
    first = code[0]
    assert first.source == 'print("hello <b>world</b>")\n6 * 7'
    assert first.outputs[0] == {
        "output_type": "stream",
        "name": "stdout",
        "text": "hello <b>world</b>\n",
    }
    assert first.outputs[1]["data"]["text/plain"] == "42"
    assert code[1].outputs == []  # a failing snippet: nothing verified
    # ... and tagged, so Run All goes on past it, as the page does
    tags = [cell.metadata.get("tags") for cell in code]
    raising = ["raises-exception"]
    assert tags == [None, raising, *[None] * 7, raising, None, raising]
    assert code[4].metadata["jupyter"] == {"source_hidden": True}  # hidden setup
    rich = [o["output_type"] for o in code[5].outputs]
    assert rich == [
        "stream",
        "display_data",
        "stream",
        "display_data",
        "display_data",
        "display_data",
    ]
    assert base64.b64decode(code[5].outputs[1]["data"]["image/png"]).startswith(b"\x89PNG")


def test_output_off_and_no_take_away(tmp_path: Path, runtime_cache: Path) -> None:
    src = write_root(tmp_path / "src")
    result = build(src, "html", "pyrun_output=off", "pyrun_takeaway=0")
    page = result.read("index.html")
    assert "pyrun-verified" not in page and "pyrun-takeaway" not in page
    assert not (result.outdir / "_downloads" / "pyrun").exists()


def test_other_builders_print_it_under_the_code(tmp_path: Path, runtime_cache: Path) -> None:
    src = write_root(tmp_path / "src")
    text = build(src, "text").read("index.txt")
    assert text.index('print("hello <b>world</b>")') < text.index("hello <b>world</b>\n   42")
    assert "before" not in text.split("1 / 0")[1].split("2")[0]  # no failing snippet's output
    assert "<a red square>" in text  # an image's text form where no image can go


def test_latex_and_epub_get_it_with_images_as_figures(tmp_path: Path, runtime_cache: Path) -> None:
    src = write_root(tmp_path / "src")
    latex = build(src, "latex")
    tex = "".join(f.read_text(encoding="utf-8") for f in latex.outdir.glob("*.tex"))
    output = tex.split("PYG{l+m+mi}{7}")[1]  # what follows the first snippet's code
    assert "hello" in output[:300] and "42" in output[:300], output[:300]
    figure = re.search(r"\\sphinxincludegraphics\{\{(pyrun-output/[0-9a-f]{32})\}\.png\}", tex)
    assert figure, "the PNG output is a figure in the PDF"
    assert (latex.outdir / f"{figure.group(1)}.png").read_bytes().startswith(b"\x89PNG")
    # the figure sits where the image was shown, between the texts printed around it
    assert tex.rindex("before the square") < figure.start() < tex.rindex("after the square")

    epub = build(src, "epub")
    page = (epub.outdir / "index.xhtml").read_text(encoding="utf-8")
    assert "hello" in page.split('class="pyrun-verified')[1][:300]
    images = re.findall(r'<img[^>]*src="(_images/pyrun/[0-9a-f]{32}\.(?:png|svg))"', page)
    assert len(images) == 2 and all((epub.outdir / i).is_file() for i in images)
    opf = (epub.outdir / "content.opf").read_text(encoding="utf-8")
    assert all(i in opf for i in images)  # in the book's manifest, so readers show them


def test_rebuilds_reuse_outputs_and_drop_them_when_a_snippet_breaks(
    tmp_path: Path, runtime_cache: Path
) -> None:
    src = write_root(tmp_path / "src")
    first = build(src)
    again = build(src, out=tmp_path / "again")
    assert "remembered from an earlier run" in again.stderr  # results come from the cache
    assert verified_blocks(again.read("index.html")) == verified_blocks(first.read("index.html"))
    (src / "index.rst").write_text(PAGE.replace("   6 * 7\n", "   6 * 7 / 0\n"))
    broken = sphinx_build(src, first.outdir, "html")
    assert "ZeroDivisionError" in broken.stderr
    dropped = verified(widgets(broken.read("index.html"))["pyrun-0"])
    assert dropped is not None and "Not verified" in dropped.get_text()  # no output, a mark


def test_the_record_keeps_what_the_widget_keeps() -> None:
    """The newest ``output_limit`` characters, the head cut and counted; rich output kept."""
    messages: list[dict[str, Any]] = [
        {"type": "stream", "stream": "stdout", "text": "a" * 700},
        {"type": "stream", "stream": "echo", "text": ">>> 1\n"},
        {"type": "display", "bundle": {"text/plain": "<img>", "image/png": "iVBO"}},
        {"type": "stream", "stream": "stdout", "text": "b" * 300, "dropped": 5},
        {"type": "stream", "stream": "stderr", "text": "c" * 200},
    ]
    kept = record(messages, dropped=10, limit=1000)
    assert kept.cut == 10 + 5 + 206  # the echo counts, as in the widget's text box
    streams = [item.get("stream") for item in kept.items]
    assert streams == ["stdout", "echo", None, "stdout", "stderr"]
    # a transcript's echo is not its output
    assert kept.text.startswith(
        "[… 221 characters of earlier output cut …]\n" + "a" * 494 + "<img>"
    )
    assert kept.text.endswith("<img>\n" + "b" * 300 + "c" * 200)
    assert Recorded.from_json(json.loads(json.dumps(kept.to_json()))) == kept
    stored: list[bytes] = []
    page = to_html(kept, lambda data, suffix: stored.append(data) or f"img{suffix}")
    assert stored and '<img src="img.png" alt="&lt;img&gt;" loading="lazy">' in page
    assert '<span class="pyrun-stderr">' + "c" * 200 in page


def test_the_check_keeps_the_tail_of_a_flood_and_counts_the_cut(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """Issue 20 item 4: 50,000 short prints then END: the recorded output ends with END and
    counts exactly what was cut, as the browser's widget does."""
    from pyrun_docs.check import run_check
    from pyrun_docs.config import PyrunConfig
    from pyrun_docs.snippet import Snippet

    code = "for i in range(50000):\n    print(i)\nprint('END')\n"
    printed = sum(len(f"{i}\n") for i in range(50000)) + len("END\n")
    snippet = Snippet(code=code, path="flood.rst", line=3, page="flood", index=0)
    report = run_check(
        {"flood": [snippet]}, PyrunConfig(), cache_dir=tmp_path / "cache", progress=False
    )
    (result,) = report.results
    assert result.output.endswith("49998\n49999\nEND\n")
    note, _, kept = result.output.partition("\n")
    assert len(kept) == 100_000  # the site's output_limit, as the widget keeps
    assert note == f"[… {printed - 100_000} characters of earlier output cut …]"


@pytest.fixture
def mk_site(tmp_path: Path, runtime_cache: Path) -> Any:
    from test_mkdocs import mkdocs_build

    root = tmp_path / "mk"
    shutil.copytree(ROOTS / "mkdocs", root)
    (root / "docs" / "snippets.md").write_text(
        '# V\n\n```pyrun\nprint("from mkdocs")\n```\n\n```pyrun\n1 / 0\n```\n\n'
        "```pyrun\nclass Note:\n    def _repr_markdown_(self):\n        return 'a **bold** note'\n"
        "class Dot:\n    def _repr_svg_(self):\n"
        '        return \'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>\'\n'
        "display(Note(), Dot())\n```\n\n"
        '```pyrun session="bug"\ntotal = missing + 1\n```\n\n'
        '```pyrun session="bug"\nprint("after the failing one")\n```\n'
    )
    yml = (root / "mkdocs.yml").read_text()
    (root / "mkdocs.yml").write_text(yml.replace('check: "off"', "check: warn"))
    result = mkdocs_build(root)
    assert result.status == 0, result.output
    return result


def test_mkdocs_writes_it_after_its_check_with_take_away_files(mk_site: Any) -> None:
    page = mk_site.read("snippets/index.html")
    found = widgets(page)
    shown = [b for b in (verified(w) for w in found.values()) if b]
    blocks = [b for b in shown if "pyrun-unverified" not in b["class"]]  # failing: marked
    assert len(blocks) == 3 and "from mkdocs\n" in blocks[0].get_text()
    assert "<strong>bold</strong>" in str(blocks[1])  # Markdown rendered by Python-Markdown
    src = str(blocks[1].find("img")["src"])  # type: ignore[index]
    assert re.fullmatch(r"\.\./assets/pyrun-output/[0-9a-f]{32}\.svg", src)
    assert (mk_site.site / "snippets" / src).read_text().startswith("<svg")
    links = [str(a["href"]) for a in found["pyrun-0"].select(".pyrun-takeaway a")]
    assert links == [
        "../assets/pyrun-downloads/snippets/snippets-example-1.py",
        "../assets/pyrun-downloads/snippets/snippets.ipynb",
    ]
    assert run_script(mk_site.site / "snippets" / links[0]) == "from mkdocs\n"
    # written after the check: an earlier example failing in the docs does not end it
    after = mk_site.site / "assets" / "pyrun-downloads" / "snippets" / "snippets-example-5.py"
    assert run_script(after) == "NameError: name 'missing' is not defined\nafter the failing one\n"
    notebook = nbformat.read(mk_site.site / "snippets" / links[1], as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[1].outputs[0]["text"] == "from mkdocs\n"


@pytest.fixture
def verified_url(site: Build) -> Iterator[str]:
    from test_browser import serving

    from pyrun_docs.serve import DocsRequestHandler

    with serving(site.outdir, DocsRequestHandler) as url:
        yield url


@pytest.mark.browser
def test_without_javascript_and_after_run_and_reset(
    browser: Any, verified_url: str, tmp_path: Path, stored_snapshot: StoredSnapshot
) -> None:
    from test_browser import click_run, code_text, open_page, replace_code

    static = browser.new_context(java_script_enabled=False, accept_downloads=True)
    page = static.new_page()
    page.goto(verified_url + "index.html")
    assert "hello <b>world</b>\n42" in page.locator("#pyrun-0 .pyrun-verified").inner_text()
    assert page.locator("#pyrun-5 .pyrun-verified img").first.evaluate("i => i.naturalWidth") == 4
    page.click("#pyrun-0 .pyrun-takeaway summary")
    with page.expect_download() as download:
        page.click("#pyrun-0 .pyrun-takeaway a >> text=Download .py")
    saved = tmp_path / "taken.py"
    download.value.save_as(saved)
    assert run_script(saved) == "hello <b>world</b>\n42\n"
    static.close()

    live = browser.new_context()
    page = live.new_page()
    open_page(page, verified_url + "index.html", stored_snapshot)  # Python restored, not booted
    assert page.locator("#pyrun-0 .pyrun-verified").is_visible()
    # with JavaScript the menu sits in the toolbar
    assert page.locator("#pyrun-0 .pyrun-toolbar .pyrun-takeaway").count() == 1
    assert click_run(page, "pyrun-0")["ok"] is True
    assert page.locator("#pyrun-0 .pyrun-verified").is_hidden()  # the live output replaces it
    assert "42" in page.locator("#pyrun-0 .pyrun-output").inner_text()
    page.click("#pyrun-0 .pyrun-reset")
    assert page.locator("#pyrun-0 .pyrun-verified").is_visible()

    # edited, and after a reload with the draft restored, the verified output says whose it is
    def label() -> str:  # what the label shows after its text
        return str(page.evaluate(
            "() => getComputedStyle(document.querySelector("
            "'#pyrun-0 .pyrun-verified-label'), '::after').content"
        ))  # fmt: skip

    replace_code(page, "pyrun-0", "print('edited')")
    assert "of the original code" in label()
    page.reload()
    assert code_text(page, "pyrun-0") == "print('edited')"
    assert "of the original code" in label()
    page.click("#pyrun-0 .pyrun-reset")
    assert "of the original code" not in label()
    live.close()


@pytest.mark.browser
def test_printed_pages_show_code_and_output_without_the_toolbar(
    browser: Any, verified_url: str, tmp_path: Path
) -> None:
    from test_browser import open_page

    context = browser.new_context(viewport={"width": 900, "height": 1400})
    page = context.new_page()
    open_page(page, verified_url + "index.html")
    page.emulate_media(media="print")
    widget = page.locator("#pyrun-5")
    assert page.locator("#pyrun-0 .pyrun-toolbar").is_hidden()
    assert page.locator("#pyrun-0 .pyrun-takeaway").is_hidden()
    assert page.locator("#pyrun-0 .pyrun-verified").is_visible()
    assert widget.locator(".pyrun-verified img").first.is_visible()
    shot = tmp_path / "print.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    pdf = page.pdf()  # what a reader's "Print to PDF" gets
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    context.close()


@pytest.mark.browser
def test_the_menu_sits_in_the_toolbar_like_a_button_in_mkdocs_material(
    browser: Any, mk_site: Any
) -> None:
    """mkdocs-material styles every <details> as a callout (border, icon, chevron, margins): the
    take-away menu must still look and line up like the toolbar's buttons."""
    from test_browser import open_page, serving

    from pyrun_docs.serve import DocsRequestHandler

    with serving(mk_site.site, DocsRequestHandler) as url:
        page = browser.new_page()
        open_page(page, url + "snippets/")
        run = page.locator("#pyrun-0 .pyrun-run").bounding_box()
        menu = page.locator("#pyrun-0 .pyrun-toolbar .pyrun-takeaway > summary").bounding_box()
        assert run is not None and menu is not None
        assert abs(menu["height"] - run["height"]) <= 2, (menu, run)
        assert abs((menu["y"] + menu["height"] / 2) - (run["y"] + run["height"] / 2)) <= 2
        icon = page.evaluate(
            "getComputedStyle(document.querySelector('#pyrun-0 .pyrun-takeaway > summary'),"
            " '::before').content"
        )
        assert icon in ("none", "normal"), icon  # no callout icon
        page.click("#pyrun-0 .pyrun-takeaway > summary")
        assert page.locator("#pyrun-0 .pyrun-takeaway-menu a").first.is_visible()
        page.close()


DOCUMENTED = """Documented
==========

.. pyrun::

   >>> 6 * 7
   42

.. pyrun::

   >>> sorted([3, 1, 2])  # doctest: +NORMALIZE_WHITESPACE
   [3, 1, 2]
   >>> print("a\\n")
   a
   <BLANKLINE>

.. pyrun::

   >>> 1 + 1
   2
   >>> fetch("https://example.org")  # doctest: +SKIP
   <Response [200]>

.. pyrun::

   >>> y = 2

.. pyrun::

   >>> z = undefined_name

.. pyrun::

   1 / 0
"""


def test_a_transcript_not_verified_shows_its_outputs_as_written(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """A widget's code has no outputs: a transcript the check failed (or did not run) showed
    bare code where its plain block showed the author's outputs (deepdiff's pages). It shows
    them as written, labelled so, until the check verifies an output (which replaces it)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text("extensions = ['pyrun_docs.sphinx_ext']\npyrun_check = 'warn'\n")
    (src / "index.rst").write_text(DOCUMENTED)
    found = widgets(build(src).read("index.html"))
    passing, failing = verified(found["pyrun-0"]), verified(found["pyrun-1"])
    assert passing is not None and "pyrun-documented" not in passing["class"]
    assert failing is not None and "pyrun-documented" in failing["class"]
    assert "Output as written · not verified" in failing.get_text()
    text = failing.select_one("pre.pyrun-text").get_text()  # type: ignore[union-attr]
    assert text == '>>> sorted([3, 1, 2])\n[3, 1, 2]\n>>> print("a\\n")\na\n\n'  # as Sphinx trims
    skipping = verified(found["pyrun-2"])  # a +SKIP example: shown as written, not run
    assert skipping is not None and "pyrun-documented" not in skipping["class"]
    assert skipping.select_one(".pyrun-skipped").get_text() == "<Response [200]>\n"  # type: ignore[union-attr]
    assert '>>> fetch("https://example.org")  # skipped: not run\n' in skipping.get_text()
    assert verified(found["pyrun-3"]) is None  # it printed nothing: no box repeating its code
    # failing, with no output as written: marked, not looking like a passing one until Run
    for failed in (verified(found["pyrun-4"]), verified(found["pyrun-5"])):
        assert failed is not None and "pyrun-unverified" in failed["class"]
        assert failed.get_text() == "Not verified · it failed when the docs were built"
    off = widgets(build(src, "html", "pyrun_check=off", out=tmp_path / "off").read("index.html"))
    assert [
        ("pyrun-documented" in (verified(w) or {"class": []})["class"]) for w in off.values()
    ] == [True, True, True, False, False, False]  # the last ones show no output at all
    quiet = build(src, "html", "pyrun_output=off", out=tmp_path / "quiet").read("index.html")
    assert "pyrun-verified" not in quiet  # no output under the code, as the setting says


def test_output_with_a_lone_surrogate_is_written_as_a_browser_shows_it(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """``print(os.fsdecode(b"caf\\xe9.txt"))`` (a file name as ``os.listdir`` gives it) passed
    the check, then the build crashed writing the page: UTF-8 has no surrogates. U+FFFD, as a
    browser shows it; also when the result comes from the check's cache."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text("extensions = ['pyrun_docs.sphinx_ext']\npyrun_check = 'error'\n")
    (src / "index.rst").write_text(
        "S\n=\n\n.. pyrun::\n\n   import os\n   print(os.fsdecode(b'caf\\xe9.txt'))"
        f"  # {uuid.uuid4().hex}\n"  # not a result an earlier run kept
    )
    for out in ("html", "again"):  # the second from the check's cache
        page = build(src, out=tmp_path / out).read("index.html")
        assert "caf\ufffd.txt" in page


def test_mkdocs_replaces_outputs_as_written_with_the_verified_one(
    tmp_path: Path, runtime_cache: Path
) -> None:
    from test_mkdocs import mkdocs_build

    root = tmp_path / "mk"
    shutil.copytree(ROOTS / "mkdocs", root)
    fences = "".join(
        f"```pyrun\n{block}```\n\n"
        for block in (">>> 6 * 7\n42\n", ">>> 6 * 7\n41\n", ">>> z = undefined_name\n")
    )
    (root / "docs" / "snippets.md").write_text("# D\n\n" + fences)
    yml = (root / "mkdocs.yml").read_text()
    (root / "mkdocs.yml").write_text(yml.replace('check: "off"', "check: warn"))
    result = mkdocs_build(root)
    assert result.status == 0, result.output
    found = widgets(result.read("snippets/index.html"))
    blocks = [verified(found[f"pyrun-{i}"]) for i in (0, 1, 2)]
    assert all(blocks) and [
        len(w.find_all("div", class_="pyrun-verified")) for w in found.values()
    ] == [1, 1, 1]
    assert "pyrun-documented" not in blocks[0]["class"] and "Output ·" in blocks[0].get_text()  # type: ignore[index,union-attr]
    assert "pyrun-documented" in blocks[1]["class"] and "41" in blocks[1].get_text()  # type: ignore[index,union-attr]
    assert "Not verified · it failed" in blocks[2].get_text()  # type: ignore[union-attr]
