"""mkdocs-material in real Chromium: instant navigation, content tabs, sessions per page.

Python is restored from a memory snapshot made once per run (stored_snapshot.py), as for a
returning reader: these tests are about the theme and its navigation, not how Python starts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stored_snapshot import StoredSnapshot
from test_browser_themes import CONTRAST
from test_mkdocs import ROOT, mkdocs_build

pytestmark = pytest.mark.browser

DONE = (
    "id => { const s = document.querySelector(`#${id} .pyrun-status`);"
    " return s && /^(Done|Error)/.test(s.textContent); }"
)


@pytest.fixture(scope="module")
def mk_url(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Iterator[str]:
    from pyrun_docs.serve import serve_in_thread

    root = tmp_path_factory.mktemp("mk") / "site-src"
    shutil.copytree(ROOT, root)
    (root / "site").mkdir()
    url, server = serve_in_thread(root / "site")
    # the address it is served at, as a real site sets it: mkdocs-material's instant navigation
    # then makes the new page's scripts again from their text (a page config in a script broke)
    config = root / "mkdocs.yml"
    config.write_text(f"site_url: {url}\n" + config.read_text())
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    yield url
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]


@pytest.fixture
def wide_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


def run(page: Any, element_id: str) -> str:
    """Click Run and wait for Done or Error; when neither comes, fail saying what the widget
    and the page show (a Run after instant navigation once never ended in CI, and the bare
    timeout told nothing)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.click(f"#{element_id} .pyrun-run")
    try:
        page.wait_for_function(DONE, arg=element_id, timeout=90_000)
    except PlaywrightTimeout as timeout:
        seen = page.evaluate(
            """id => ({
              url: location.href,
              widgets: document.querySelectorAll(`#${id}`).length,
              status: document.querySelector(`#${id} .pyrun-status`)?.textContent,
              output: document.querySelector(`#${id} .pyrun-output`)?.textContent,
              running: document.querySelector(`#${id} .pyrun-run`)?.textContent,
            })""",
            element_id,
        )
        raise AssertionError(
            f"Run on {element_id} did not end: {seen}, {len(page.workers)} workers"
        ) from timeout
    return str(page.inner_text(f"#{element_id} .pyrun-output"))


def test_direct_load_runs_and_page_without_snippets_has_no_assets(
    wide_page: Any, mk_url: str, stored_snapshot: StoredSnapshot
) -> None:
    wide_page.goto(mk_url)
    assert (
        wide_page.evaluate(
            "document.querySelectorAll('script[src*=pyrun], link[href*=pyrun]').length"
        )
        == 0
    )
    assert wide_page.evaluate("document.getElementById('pyrun-config')") is None
    wide_page.goto(mk_url + "snippets/")
    wide_page.wait_for_selector("#pyrun-0 .pyrun-toolbar")
    stored_snapshot.store_in(wide_page)
    assert "1.4142135623730951" in run(wide_page, "pyrun-0")
    # the output in the code's size: material sizes the <code> in the <pre> (16px under 13.6px)
    sizes = wide_page.evaluate(
        "() => ['.pyrun-code pre > code', '.pyrun-output pre'].map((s) =>"
        " getComputedStyle(document.querySelector('#pyrun-0 ' + s)).fontSize)"
    )
    assert sizes[0] == sizes[1], sizes
    # the editor, on the first click, looks as the code did: material's size, box and padding
    look = (
        "(s) => { const e = document.querySelector(s); const c = getComputedStyle(e);"
        " const r = e.getBoundingClientRect(); return [c.fontSize, c.backgroundColor, r.left]; }"
    )
    before = wide_page.evaluate(look, "#pyrun-0 .pyrun-code pre > code")
    text_left = (  # where the first line's text starts
        "(s) => { const r = document.createRange();"
        " r.selectNodeContents(document.querySelector(s)); return r.getClientRects()[0].left; }"
    )
    text_before = wide_page.evaluate(text_left, "#pyrun-0 .pyrun-code pre > code")
    wide_page.click("#pyrun-0 .pyrun-code pre")
    wide_page.wait_for_selector("#pyrun-0 .cm-editor.cm-focused")
    assert wide_page.evaluate(look, "#pyrun-0 .pyrun-code pre > code") == before
    assert wide_page.evaluate(look, "#pyrun-0 .cm-content")[0] == before[0]
    text_after = wide_page.evaluate(text_left, "#pyrun-0 .cm-line")
    assert abs(text_after - text_before) < 1, (text_before, text_after)
    # a second widget's code, clicked once the editor is loaded, takes what the reader types
    # (the editor mounted before the browser focused the code: the focus fell to <body>)
    for sid in ("pyrun-1", "pyrun-2"):
        wide_page.click(f"#{sid} .pyrun-code pre")
        wide_page.wait_for_selector(f"#{sid} .cm-editor.cm-focused")
        wide_page.keyboard.type("Z")
        assert "Z" in wide_page.evaluate(f"() => document.getElementById('{sid}').code")


def test_a_transcript_runs_as_python_m_doctest_runs_a_markdown_file(
    wide_page: Any, mk_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """A Markdown page's transcript sees ``__name__ == "__main__"`` in the reader's browser too,
    as in the check (``data-main``): ``<class '__main__.A'>``, as ``python -m doctest`` shows it."""
    wide_page.goto(mk_url + "snippets/")
    wide_page.wait_for_selector("#pyrun-8 .pyrun-toolbar")
    stored_snapshot.store_in(wide_page)
    output = run(wide_page, "pyrun-8")
    assert output.splitlines()[-1] == "<class '__main__.A'>", output
    assert wide_page.locator("#pyrun-8 .pyrun-status").inner_text().startswith("Done")


def test_instant_navigation_back_and_forth(
    wide_page: Any, mk_url: str, stored_snapshot: StoredSnapshot
) -> None:
    page = wide_page
    page.goto(mk_url)
    stored_snapshot.store_in(page)
    page.locator("article a", has_text="Snippets").first.click()
    page.wait_for_url("**/snippets/")
    page.wait_for_selector("#pyrun-1 .pyrun-toolbar", timeout=15_000)
    # no full reload happened: material's instant navigation swapped the content
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    out = run(page, "pyrun-1")  # runs snippet 0 of the session first
    assert "3.1416" in out
    assert "1.4142135623730951" in page.inner_text("#pyrun-0 .pyrun-output")
    run(page, "pyrun-5")  # sets counter in session "state" on this page
    assert len(page.workers) == 1

    page.locator(".md-sidebar--primary a.md-nav__link", has_text="Other").first.click()
    page.wait_for_url("**/sub/other/")
    # the address changes before material swaps the content: the page left has a #pyrun-0 too,
    # which a click could reach (CI clicked it, and the new page's widget never ran)
    page.wait_for_function(
        "() => document.querySelector('#pyrun-0 .pyrun-code')?.textContent"
        ".includes('fresh session')"
    )
    page.wait_for_selector("#pyrun-0 .pyrun-toolbar")
    # same session name on another page: a fresh namespace, not the other page's state
    assert run(page, "pyrun-0").strip() == "fresh session"
    assert len(page.workers) == 1  # the previous page's worker was ended

    page.go_back()
    page.wait_for_url("**/snippets/")
    page.wait_for_selector("#pyrun-0 .pyrun-toolbar")
    assert page.evaluate("document.querySelectorAll('#pyrun-0 .pyrun-toolbar').length") == 1
    page.go_back()
    page.wait_for_url(mk_url)
    for _ in range(50):  # a page without snippets keeps no worker: it ends shortly
        if not page.workers:
            break
        page.wait_for_timeout(100)
    assert len(page.workers) == 0
    page.go_forward()
    page.wait_for_selector("#pyrun-7 .pyrun-toolbar")
    assert "hello from setup" in run(page, "pyrun-7")  # the hidden setup snippet ran first


def test_snippet_in_hidden_tab(
    wide_page: Any, mk_url: str, stored_snapshot: StoredSnapshot
) -> None:
    page = wide_page
    page.goto(mk_url + "snippets/")
    page.wait_for_selector("#pyrun-4 .pyrun-toolbar", state="attached")
    stored_snapshot.store_in(page)
    assert not page.is_visible("#pyrun-4")
    page.locator("label", has_text="Second tab").click()
    assert page.is_visible("#pyrun-4 .pyrun-run")
    assert run(page, "pyrun-4").strip() == "second tab"


def test_dark_palette_keeps_contrast(
    wide_page: Any, mk_url: str, stored_snapshot: StoredSnapshot
) -> None:
    page = wide_page
    page.goto(mk_url + "snippets/")
    page.wait_for_selector("#pyrun-0 .pyrun-toolbar")
    stored_snapshot.store_in(page)
    light = page.evaluate("getComputedStyle(document.querySelector('#pyrun-0 .pyrun-reset')).color")
    page.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
    dark = page.evaluate("getComputedStyle(document.querySelector('#pyrun-0 .pyrun-reset')).color")
    assert light != dark  # the buttons follow the theme's foreground colour
    run(page, "pyrun-0")
    page.screenshot(path=str(Path(__file__).parent.parent / "build" / "mkdocs-slate.png"))


def test_materials_copy_icon_is_not_on_widgets(wide_page: Any, mk_url: str) -> None:
    """mkdocs-material's ``content.code.copy`` icon sat beside the widget's Copy, and a click on
    it opened the editor, which replaced the code and the icon with it (minevent's site): the
    widget shows only its own Copy; other code blocks keep material's."""
    page = wide_page
    page.goto(mk_url + "snippets/")
    page.wait_for_selector("#pyrun-0 .pyrun-toolbar")
    page.wait_for_selector("py-repl :is(.md-code__nav, .md-clipboard)", state="attached")
    shown = page.evaluate(
        "() => [...document.querySelectorAll('py-repl :is(.md-code__nav, .md-clipboard)')]"
        ".filter((b) => getComputedStyle(b).display !== 'none').length"
    )
    assert shown == 0
    assert page.locator("#pyrun-0 .pyrun-copy").is_visible()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_mkdocs_serve_rebuild_keeps_widgets_working(
    wide_page: Any, tmp_path: Path, runtime_cache: Path, stored_snapshot: StoredSnapshot
) -> None:
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    root = tmp_path / "serve-src"
    shutil.copytree(ROOT, root)
    port = _free_port()
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/snippets/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "mkdocs serve did not come up"
            time.sleep(0.5)
        wide_page.goto(url)
        wide_page.wait_for_selector("#pyrun-0 .pyrun-toolbar")
        stored_snapshot.store_in(wide_page)
        assert "1.4142135623730951" in run(wide_page, "pyrun-0")
        # edit the page: mkdocs serve rebuilds; loading it again shows the new code and still runs
        wide_page.goto("about:blank")  # leave before livereload reloads the old page under us
        page_md = root / "docs" / "snippets.md"
        page_md.write_text(
            page_md.read_text().replace("print(math.sqrt(2))", "print(math.sqrt(9))")
        )
        deadline = time.monotonic() + 120
        while True:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if "sqrt" in (body := resp.read().decode()) and ">9<" in body:
                    break
            assert time.monotonic() < deadline, "mkdocs serve did not rebuild"
            time.sleep(0.5)
        wide_page.goto(url)
        wide_page.wait_for_selector("#pyrun-0 .pyrun-toolbar")
        assert run(wide_page, "pyrun-0").strip() == "3.0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()


CUSTOM_SCHEME_CSS = """
[data-md-color-scheme="dracula"] {
  --md-default-bg-color: #282a36;
  --md-default-fg-color: #f8f8f2;
  --md-default-fg-color--light: #d0d0c8;
  --md-default-fg-color--lightest: #6272a4;
  --md-code-bg-color: #21222c;
  --md-code-fg-color: #f8f8f2;
  --md-typeset-color: #f8f8f2;
  --md-typeset-a-color: #ff79c6;
  --md-admonition-bg-color: #282a36;
  --md-admonition-fg-color: #f8f8f2;
  --md-code-hl-name-color: #f8f8f2;
  --md-code-hl-punctuation-color: #f8f8f2;
  --md-code-hl-comment-color: #6272a4;
}
"""


@pytest.fixture(scope="module")
def custom_scheme_url(
    tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path
) -> Iterator[str]:
    """The fixture site with a custom dark colour scheme of the author's own (mkdocs-material's
    documented way: a palette entry plus CSS variables in ``extra_css``)."""
    from pyrun_docs.serve import serve_in_thread

    root = tmp_path_factory.mktemp("mk-scheme") / "site-src"
    shutil.copytree(ROOT, root)
    config = (root / "mkdocs.yml").read_text()
    config = config.replace("    - scheme: default\n", "    - scheme: dracula\n", 1)
    (root / "mkdocs.yml").write_text(config + "extra_css:\n  - custom.css\n")
    (root / "docs" / "custom.css").write_text(CUSTOM_SCHEME_CSS)
    snippets = root / "docs" / "snippets.md"
    snippets.write_text(snippets.read_text() + '\n```pyrun\nprint("out")\n1 / 0\n```\n')
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    url, server = serve_in_thread(build.site)
    yield url
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]


def test_custom_colour_scheme(
    wide_page: Any, custom_scheme_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """A custom scheme: the widget takes its colours from the scheme's variables, and an error
    stays readable on its dark background, without pyrun knowing the scheme's name."""
    page = wide_page
    page.goto(custom_scheme_url + "snippets/")
    page.wait_for_selector("py-repl .pyrun-toolbar")
    stored_snapshot.store_in(page)
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "dracula"
    failing = page.locator("py-repl").last.get_attribute("id")
    assert run(page, failing).startswith("out\nTraceback")
    colours = page.evaluate(
        """(id) => {
          const cs = (sel) => getComputedStyle(document.querySelector(`#${id} ${sel}`));
          const rgb = (c) => {
            const n = (c.match(/[\\d.]+/g) || []).map(Number);
            return c.startsWith('color(') ? n.slice(0, 3).map((v) => Math.round(v * 255)) : n.slice(0, 3);
          };
          return {
            reset: rgb(cs('.pyrun-reset').color),
            run: rgb(cs('.pyrun-run').color),
            output: rgb(cs('.pyrun-output').backgroundColor),
            error: rgb(cs('.pyrun-error, .pyrun-stderr').color),
          };
        }""",
        failing,
    )
    assert colours["reset"] == [248, 248, 242]  # the scheme's foreground
    assert colours["run"] == [255, 121, 198]  # the scheme's link colour is our accent
    assert colours["output"] == [33, 34, 44]  # the scheme's code background
    error = colours["error"]
    assert error[0] > error[1] + 40, error  # still red
    # and readable on the dark background (the theme tests' WCAG contrast, background walked up)
    readable = page.evaluate(
        CONTRAST, f"#{failing} .pyrun-output .pyrun-error, #{failing} .pyrun-stderr"
    )
    assert readable["ratio"] >= 4.5, (error, readable)
    page.screenshot(path=str(Path(__file__).parent.parent / "build" / "mkdocs-custom-scheme.png"))


@pytest.mark.parametrize("theme", ["mkdocs", "readthedocs"])
def test_keys_typed_into_the_code_are_not_the_themes_shortcuts(
    browser: Any, tmp_path: Path, runtime_cache: Path, theme: str
) -> None:
    """MkDocs' own ``mkdocs`` theme opens search on ``s``, its help on ``?`` and leaves the page
    on ``n`` and ``p`` from a document listener that skips only form fields: typed into the
    editor, ``sorted`` opened the search dialog and ``print`` went to the next page."""
    url, server = _theme_site(tmp_path, theme)
    page = browser.new_page()
    try:
        page.goto(url + "snippets/")
        code = page.locator("py-repl .pyrun-code pre").first
        code.click()
        page.wait_for_selector("py-repl .cm-content")
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("print(sorted('snp?'))")
        assert page.url.endswith("/snippets/"), page.url  # not the next page's
        assert page.locator("py-repl .cm-content").first.inner_text() == "print(sorted('snp?'))"
        assert page.evaluate("document.activeElement.closest('py-repl') !== null")
    finally:
        page.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def _theme_site(tmp_path: Path, theme: str, settings: str = "") -> tuple[str, Any]:
    """The fixture site in another of MkDocs' themes (with *settings* of it), built and served."""
    from pyrun_docs.serve import serve_in_thread

    root = tmp_path / "site-src"
    shutil.copytree(ROOT, root)
    config = (root / "mkdocs.yml").read_text()
    config = config.replace("  name: material\n", f"  name: {theme}\n{settings}")
    config = config.replace("plugins:\n", "plugins:\n  - search\n")  # the theme's shortcuts need it
    (root / "mkdocs.yml").write_text(config)
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    return serve_in_thread(build.site)


def test_the_mkdocs_themes_dark_mode_keeps_the_run_button_readable(
    browser: Any, tmp_path: Path, runtime_cache: Path
) -> None:
    """MkDocs' own theme in dark mode (``color_mode: dark``, MkDocs 1.6): Run's blue text was
    2.9:1 on its background, below WCAG's 4.5:1; it takes Bootstrap's link colour now."""
    url, server = _theme_site(tmp_path, "mkdocs", "  color_mode: dark\n")
    page = browser.new_page()
    try:
        page.goto(url + "snippets/")
        page.wait_for_selector("py-repl .pyrun-run")
        ratio = page.evaluate(CONTRAST, "py-repl .pyrun-run")["ratio"]
        assert ratio >= 4.5, ratio
    finally:
        page.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
