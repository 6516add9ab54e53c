"""The widget in popular Sphinx themes, light and dark, and on a phone-sized screen.

Screenshots land in ``build/screenshots/`` for a developer to look at; the assertions check what
matters in them: readable contrast of the toolbar and output, and the switch to dark colours when
the reader's system (or the theme's switch) asks for dark. The widget runs its example in each
(the output's colours are checked too) on a Python restored from a stored snapshot, as for a
returning reader: how Python starts is tested elsewhere.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stored_snapshot import StoredSnapshot
from test_browser import click_run, open_page, serving

from pyrun_docs.serve import DocsRequestHandler

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
#: theme -> whether it has a dark mode that follows the system setting
THEMES = {
    "alabaster": False,
    "furo": True,
    "sphinx_rtd_theme": False,
    "pydata_sphinx_theme": True,
    "sphinx_book_theme": True,
}

CONTRAST = """
(sel) => {
  // rgb(r, g, b[, a]) or, for color-mix() results, color(srgb r g b[ / a]) with 0..1 channels
  const parse = (c) => {
    const n = (c.match(/[\\d.]+/g) || []).map(Number);
    return c.startsWith("color(") ? n.map((v, i) => (i < 3 ? v * 255 : v)) : n;
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const el = document.querySelector(sel);
  let bgNode = el, bg = [255, 255, 255];
  while (bgNode) {
    const c = parse(getComputedStyle(bgNode).backgroundColor);
    if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) { bg = c.slice(0, 3); break; }
    bgNode = bgNode.parentElement;
  }
  const fg = parse(getComputedStyle(el).color).slice(0, 3);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return { ratio: (a + 0.05) / (b + 0.05), bgLum: lum(bg) };
}
"""


def theme_site(tmp_path_factory: pytest.TempPathFactory, theme: str) -> Path:
    """The ``basic`` root in *theme*, with test_browser_lines' pages: built once per run for both
    files, whichever worker asks first (``made_once``)."""
    from conftest import ROOTS, made_once, sphinx_build
    from test_browser_lines import pages

    def build(base: Path) -> None:
        shutil.copytree(ROOTS / "basic", base / "src")
        conf = base / "src" / "conf.py"
        conf.write_text(
            conf.read_text() + f'html_theme = "{theme}"\nextensions.append("sphinx_copybutton")\n'
        )
        for name, text in pages().items():
            (base / "src" / name).write_text(text)
        build = sphinx_build(base / "src", base / "html")
        assert build.status == 0, build.stderr

    return made_once(tmp_path_factory, f"theme-{theme}", build) / "html"


@pytest.fixture(scope="module", params=list(THEMES))
def themed_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path
) -> Iterator[tuple[str, str]]:
    theme = request.param
    with serving(theme_site(tmp_path_factory, theme), DocsRequestHandler) as url:
        yield theme, url


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_theme_colours_and_contrast(
    browser: Any, themed_site: tuple[str, str], stored_snapshot: StoredSnapshot, scheme: str
) -> None:
    theme, url = themed_site
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        open_page(page, url + "index.html", stored_snapshot)  # restored: colours are the point
        click_run(page, "pyrun-4")  # prints <b>x</b>
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#pyrun-4").screenshot(path=str(SHOTS / f"{theme}-{scheme}.png"))
        for sel in (
            "#pyrun-4 .pyrun-reset",
            "#pyrun-4 .pyrun-status",
            "#pyrun-4 .pyrun-output pre",
            "#pyrun-4 .pyrun-stderr",
        ):
            result = page.evaluate(CONTRAST, sel)
            assert result["ratio"] >= 3.0, f"{theme}/{scheme}: {sel} contrast {result}"
        run_btn = page.evaluate(CONTRAST, "#pyrun-4 .pyrun-run")
        assert run_btn["ratio"] >= 3.0, f"{theme}/{scheme}: Run button {run_btn}"
        # the Download menu on the theme's background (white under pydata's dark links)
        page.click("#pyrun-4 .pyrun-takeaway > summary")
        menu = page.evaluate(CONTRAST, "#pyrun-4 .pyrun-takeaway-menu a")
        assert menu["ratio"] >= 3.0, f"{theme}/{scheme}: Download menu {menu}"
        # the output in the code's own font and size (sphinx_rtd_theme's 12px code face stood
        # above 14px generic monospace output)
        fonts = page.evaluate(
            "() => ['.pyrun-code pre', '.pyrun-output pre'].map((s) => {"
            " const c = getComputedStyle(document.querySelector('#pyrun-4 ' + s));"
            " return [c.fontFamily, c.fontSize]; })"
        )
        assert fonts[0] == fonts[1], f"{theme}: code and output fonts differ: {fonts}"
        page_dark = page.evaluate(CONTRAST, "#pyrun-4 .pyrun-output pre")["bgLum"] < 0.2
        if scheme == "dark" and THEMES[theme]:
            assert page_dark, f"{theme} is dark but the widget output stayed light"
        if scheme == "light":
            assert not page_dark
    finally:
        context.close()


def test_phone_width(
    browser: Any, themed_site: tuple[str, str], stored_snapshot: StoredSnapshot
) -> None:
    theme, url = themed_site
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    try:
        page = context.new_page()
        open_page(page, url + "index.html", stored_snapshot)  # restored: colours are the point
        click_run(page, "pyrun-4")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#pyrun-4").screenshot(path=str(SHOTS / f"{theme}-375px.png"))
        widget = page.locator("#pyrun-4").bounding_box()
        assert widget and widget["width"] <= 375
        for sel in (".pyrun-run", ".pyrun-stop", ".pyrun-reset", ".pyrun-copy"):
            box = page.locator(f"#pyrun-4 {sel}").bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, (theme, sel, box)
            assert box["height"] >= 20  # still a usable tap target
    finally:
        context.close()


def test_a_themes_copy_icon_is_not_on_widgets(
    browser: Any, themed_site: tuple[str, str], stored_snapshot: StoredSnapshot
) -> None:
    """sphinx-copybutton (furo sites often have it) puts its icon on every code block, ours too;
    once the editor was mounted it copied the lines joined into one (python-ulid's docs): the
    widget shows only its own Copy, which copies the code as the reader edited it."""
    theme, url = themed_site
    page = browser.new_page()
    try:
        open_page(page, url + "index.html", stored_snapshot)
        page.wait_for_selector("#pyrun-4 .copybtn", state="attached")
        shown = page.evaluate(
            "() => [...document.querySelectorAll('py-repl .copybtn')]"
            ".filter((b) => getComputedStyle(b).display !== 'none').length"
        )
        assert shown == 0, theme
        assert page.locator("#pyrun-4 .pyrun-copy").is_visible()
    finally:
        page.close()


def test_the_code_stays_in_the_tab_order(
    browser: Any, themed_site: tuple[str, str], stored_snapshot: StoredSnapshot
) -> None:
    """pydata-sphinx-theme gives every ``<pre>`` that does not scroll ``tabIndex = -1`` (after
    load and each change of the page, 300 ms later): Tab went from the text straight to Run,
    and a keyboard reader could not get into the code to edit it (semantic_version's guide)."""
    theme, url = themed_site
    page = browser.new_page()
    try:
        open_page(page, url + "index.html", stored_snapshot)
        page.wait_for_timeout(1000)  # the theme's debounced pass has run
        assert page.evaluate("document.querySelector('#pyrun-4 .pyrun-code pre').tabIndex") == 0, (
            theme
        )
    finally:
        page.close()


def test_keys_typed_into_the_code_are_not_the_themes_shortcuts(
    browser: Any, themed_site: tuple[str, str], stored_snapshot: StoredSnapshot
) -> None:
    """Sphinx's ``/`` (focus the search box) listens on the document and skips inputs and
    textareas only: typed into the editor, it left the code for the search box and was not
    typed (the mkdocs theme's ``s``, ``?``, ``n``, ``p`` too: test_browser_mkdocs)."""
    theme, url = themed_site
    page = browser.new_page()
    try:
        open_page(page, url + "index.html", stored_snapshot)
        page.click("#pyrun-4 .pyrun-code pre")
        page.wait_for_selector("#pyrun-4 .cm-content")
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("x = 6 / 3 ? s")
        text = page.locator("#pyrun-4 .cm-content").inner_text()
        assert text == "x = 6 / 3 ? s", (theme, text)
        assert page.evaluate("document.activeElement.closest('#pyrun-4') !== null"), theme
    finally:
        page.close()
