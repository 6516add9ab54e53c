"""Line numbers, emphasized lines and long snippets, as a reader sees them (issue 20, items 1, 2).

Each case puts Sphinx's own ``code-block`` and a ``pyrun`` block with the same options on one
page; the browser measures, line by line, where the number and the first character of the code
sit and whether the line is emphasized, and the widget must match the code block (in every
theme the tests use, with and without JavaScript). The CodeMirror editor that replaces the
static code on the first click gets the same numbers and emphasis. Screenshots land in
``build/screenshots/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from stored_snapshot import StoredSnapshot
from test_browser import open_page, serving
from test_browser_themes import SHOTS, THEMES, theme_site

from pyrun_docs.serve import DocsRequestHandler

pytestmark = pytest.mark.browser

CODE = "a, b = 0, 1\nfor _ in range(10):\n    a, b = b, a + b\n    print(a, end=' ')\n"

#: (options as reST fields, expected shown numbers or None, expected emphasized lines)
CASES: list[tuple[dict[str, str], list[str] | None, list[int]]] = [
    ({"linenos": ""}, ["1", "2", "3", "4"], []),
    ({"emphasize-lines": "3"}, None, [3]),
    ({"linenos": "", "emphasize-lines": "3"}, ["1", "2", "3", "4"], [3]),
    ({"lineno-start": "98", "emphasize-lines": "1,3-4"}, ["98", "99", "100", "101"], [1, 3, 4]),
    ({"linenos": "", "dedent": "", "emphasize-lines": "2"}, ["1", "2", "3", "4"], [2]),
]


def _block(directive: str, options: dict[str, str]) -> str:
    fields = "".join(f"   :{k}: {v}".rstrip() + "\n" for k, v in options.items())
    body = "".join(f"   {line}\n" for line in CODE.splitlines())
    return f".. {directive}::\n{fields}\n{body}\n"


def lines_page() -> str:
    """Each case as a code-block (``cb-N``) and the same options on a pyrun block (``pyrun-N``)."""
    parts = ["Lines\n=====\n\n"]
    for number, (options, _, _) in enumerate(CASES):
        parts.append(f".. container:: cb-{number}\n\n")
        block = _block("code-block:: python", options)
        parts.append("".join(f"   {ln}\n" if ln else "\n" for ln in block.splitlines()))
        parts.append("\n" + _block("pyrun", options))
    return "".join(parts)


#: Per line of a code block: its number (text and top), the first character of its code (left
#: and top) and whether it is emphasized; positions relative to the block's <pre>. A static
#: block is read from its text nodes; CodeMirror from its lines and gutter.
MEASURE = """
(root) => {
  const pre = root.querySelector("pre");
  const origin = pre.getBoundingClientRect();
  const rel = (r) => ({ left: Math.round(r.left - origin.left), top: Math.round(r.top - origin.top) });
  const lines = [];
  if (pre.querySelector(".cm-editor")) {
    const gutter = [...pre.querySelectorAll(".cm-lineNumbers .cm-gutterElement")]
      .filter((g) => g.offsetHeight > 0 && g.textContent && g.style.visibility !== "hidden");
    pre.querySelectorAll(".cm-line").forEach((line, i) => {
      const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      let first = null;
      for (let n = walker.nextNode(); n && !first; n = walker.nextNode()) {
        const at = n.textContent.search(/\\S/);
        if (at >= 0) {
          const r = document.createRange();
          r.setStart(n, at);
          r.setEnd(n, at + 1);
          first = r.getBoundingClientRect();
        }
      }
      const g = gutter[i];
      lines.push({
        number: g ? g.textContent : null, numberTop: g ? rel(g.getBoundingClientRect()).top : null,
        left: rel(first).left, top: rel(first).top, emphasized: line.classList.contains("hll"),
      });
    });
    return lines;
  }
  // numbers as text (Sphinx) or drawn from data-linenos (pymdownx-inline, mkdocs-material)
  const numbers = [...pre.querySelectorAll(".linenos")].map((el) => ({
    number: (el.dataset.linenos ?? el.textContent).trim(),
    numberTop: rel(el.getBoundingClientRect()).top,
  }));
  const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
  let current = null;
  let atStart = true;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(".linenos")) continue;
    const text = n.textContent;
    for (let i = 0; i < text.length; i++) {
      if (text[i] === "\\n") {
        if (current && "left" in current) lines.push(current);
        current = null; atStart = true; continue;
      }
      if (atStart && text[i] !== " ") {
        const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
        const box = rel(r.getBoundingClientRect());
        current = { number: null, numberTop: null, ...(numbers[lines.length] || {}), ...box,
                    emphasized: !!n.parentElement.closest(".hll") };
        atStart = false;
      }
    }
  }
  if (current && "left" in current) lines.push(current);
  return lines;
}
"""


@contextmanager
def opened(browser: Any, url: str, *, javascript: bool = True) -> Iterator[Any]:
    """*url* in a fresh 1100x900 context (with JavaScript: once every widget is upgraded)."""
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1100, "height": 900}
    )
    try:
        page = context.new_page()
        if javascript:
            open_page(page, url)
        else:
            page.goto(url)
        yield page
    finally:
        context.close()


def measure(page: Any, selector: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = page.locator(selector).evaluate(MEASURE)
    return lines


def measure_settled(page: Any, selector: str) -> list[dict[str, Any]]:
    """The rows once the editor has laid them out: CodeMirror places its gutter in a later
    animation frame than its lines, which on a loaded machine came after the first measure (a
    number 8 px off its row). The same rows two frames apart, or the last seen after 3 s."""
    lines = measure(page, selector)
    for _ in range(30):
        page.evaluate(
            "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
        )
        again = measure(page, selector)
        if again == lines:
            break
        lines = again
        page.wait_for_timeout(100)
    return lines


def assert_lines_right(
    lines: list[dict[str, Any]], numbers: list[str] | None, emphasized: list[int], what: str
) -> None:
    """What a reader must see whatever the markup: one row per line, its number on that row,
    the emphasized lines and the loop body's indentation."""
    assert len(lines) == 4, (what, lines)
    step = lines[1]["top"] - lines[0]["top"]
    assert step > 0, (what, lines)
    for i, line in enumerate(lines):
        assert abs(line["top"] - (lines[0]["top"] + i * step)) <= 1, (what, "extra row", lines)
    if numbers is None:
        assert [ln["number"] for ln in lines] == [None] * 4, (what, lines)
    else:
        assert [ln["number"] for ln in lines] == numbers, (what, lines)
        for line in lines:  # the number on its line's row
            assert abs(line["numberTop"] - line["top"]) <= 3, (what, "number off its row", lines)
    assert [i + 1 for i, ln in enumerate(lines) if ln["emphasized"]] == emphasized, (what, lines)
    # lines 1, 2 start at one column, 3 and 4 (the loop body) four characters further
    assert abs(lines[0]["left"] - lines[1]["left"]) <= 1, (what, "indentation", lines)
    assert abs(lines[2]["left"] - lines[3]["left"]) <= 1, (what, "indentation", lines)
    assert lines[2]["left"] - lines[0]["left"] >= 16, (what, "indentation", lines)


def assert_same_as_code_block(page: Any, number: int, what: str) -> None:
    mine = measure(page, f"#pyrun-{number} .pyrun-code")
    theirs = measure(page, f".cb-{number} div.highlight")
    options, numbers, emphasized = CASES[number]
    assert_lines_right(theirs, numbers, emphasized, f"{what} code-block {options}")
    assert_lines_right(mine, numbers, emphasized, f"{what} pyrun {options}")
    for a, b in zip(mine, theirs, strict=True):
        for key in ("left", "top", "numberTop"):
            if a[key] is None or b[key] is None:
                assert a[key] == b[key], (what, options, mine, theirs)
            else:
                assert abs(a[key] - b[key]) <= 1, (what, options, key, mine, theirs)


@pytest.fixture(scope="module", params=list(THEMES))
def lines_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path
) -> Iterator[tuple[str, str]]:
    """The theme's site with this file's pages, which test_browser_themes uses too (built once);
    yields the theme and the site's URL."""
    theme = request.param
    with serving(theme_site(tmp_path_factory, theme), DocsRequestHandler) as url:
        yield theme, url


@pytest.mark.parametrize("javascript", [False, True])
def test_numbers_and_emphasis_match_code_block(
    browser: Any, lines_site: tuple[str, str], javascript: bool
) -> None:
    theme, site = lines_site
    with opened(browser, site + "lines.html", javascript=javascript) as page:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(".cb-2").screenshot(path=str(SHOTS / f"lines-{theme}-code-block.png"))
        shot = SHOTS / f"lines-{theme}-{'js' if javascript else 'nojs'}.png"
        page.locator("#pyrun-2").screenshot(path=str(shot))
        for number in range(len(CASES)):
            assert_same_as_code_block(page, number, f"{theme} js={javascript}")
            if javascript:  # what Run runs and Copy copies: the code, no line numbers
                code = page.evaluate(f"document.getElementById('pyrun-{number}').code")
                assert code == CODE, (theme, CASES[number][0], code)


def test_editor_keeps_numbers_and_emphasis(browser: Any, lines_site: tuple[str, str]) -> None:
    theme, site = lines_site
    with opened(browser, site + "lines.html") as page:
        for number, (options, numbers, emphasized) in enumerate(CASES):
            page.locator(f"#pyrun-{number} .pyrun-code pre").first.click()
            page.wait_for_selector(f"#pyrun-{number} .cm-editor", timeout=15_000)
            if number == 3:
                page.locator(f"#pyrun-{number}").screenshot(
                    path=str(SHOTS / f"lines-{theme}-editor.png")
                )
            lines = measure_settled(page, f"#pyrun-{number} .pyrun-code")
            assert_lines_right(lines, numbers, emphasized, f"{theme} editor {options}")
            code = page.evaluate(f"document.getElementById('pyrun-{number}').code")
            assert code == CODE, (options, code)  # the numbers are not part of the code


# ------------------------------------------------------------------------- long snippets (item 2)

LONG_PAGE = (
    "\nLong\n----\n\n.. pyrun::\n\n"
    + "".join(f"   x{i} = {i}\n" for i in range(5000))
    + "   print('END', x4999)\n\n"
    + ".. pyrun::\n   :lines: 5\n\n"
    + "".join(f"   y{i} = {i}\n" for i in range(12))
    + "\n.. pyrun::\n\n   print('short')\n"
)
LONG = f"pyrun-{len(CASES)}"
SHORT_CAPPED = f"pyrun-{len(CASES) + 1}"
SHORT = f"pyrun-{len(CASES) + 2}"


def pages() -> dict[str, str]:
    """This file's pages in each theme's site: the cases (``lines``), and the cases followed by
    the long snippets (``long``; the cases keep them where a reader meets them, further down
    the page); the tests of the cases load the light page."""
    return {"lines.rst": lines_page(), "long.rst": lines_page() + LONG_PAGE}


def _height(page: Any, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return float(box["height"])


def test_long_snippet_is_capped_with_expand(
    browser: Any, lines_site: tuple[str, str], stored_snapshot: StoredSnapshot
) -> None:
    theme, site = lines_site
    with opened(browser, site + "long.html") as page:
        widget = f"#{LONG}"
        line = page.evaluate(
            "(sel) => parseFloat(getComputedStyle(document.querySelector(sel)).lineHeight)",
            f"{widget} .pyrun-code pre",
        )
        code_height = _height(page, f"{widget} .pyrun-code")
        # 30 lines by default (plus the pre's padding), not 5,001
        assert 28 * line <= code_height <= 34 * line + 40, (theme, code_height, line)
        assert page.locator(f"{widget} .pyrun-expand").is_visible()
        assert not page.locator(f"#{SHORT} .pyrun-expand").is_visible()  # nothing hidden there
        capped = _height(page, f"#{SHORT_CAPPED} .pyrun-code")
        assert 4 * line <= capped <= 6 * line + 40, (theme, "lines: 5", capped, line)
        assert page.locator(f"#{SHORT_CAPPED} .pyrun-expand").is_visible()
        # the code scrolls inside the widget; Run sits right under it
        page.locator(f"{widget} .pyrun-code").evaluate(
            "(el) => { el.scrollTop = el.scrollHeight; }"
        )
        page.locator(f"{widget} .pyrun-run").scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(widget).screenshot(path=str(SHOTS / f"long-{theme}.png"))
        if theme == "alabaster":  # running it costs a Python start: once is enough for the run
            stored_snapshot.store_in(page)  # restored, not booted: the long code is the point
            page.click(f"{widget} .pyrun-run")
            page.wait_for_function(
                "(sel) => /END 4999/.test(document.querySelector(sel).textContent)",
                arg=f"{widget} .pyrun-output",
                timeout=90_000,
            )
        # Expand grows the code to the screen's height (still scrolling inside), Run under it
        page.click(f"{widget} .pyrun-expand")
        expanded = _height(page, f"{widget} .pyrun-code")
        assert 600 <= expanded <= 900 - 100, (theme, expanded)
        bar = page.locator(f"{widget} .pyrun-toolbar").bounding_box()
        assert bar is not None and 0 <= bar["y"] and bar["y"] + bar["height"] <= 900, bar
        page.screenshot(path=str(SHOTS / f"long-{theme}-expanded.png"))
        page.click(f"{widget} .pyrun-expand")  # Collapse
        assert _height(page, f"{widget} .pyrun-code") == pytest.approx(code_height, abs=2)
        # the editor keeps the cap (it scrolls inside the same box) and the whole code
        page.locator(f"{widget} .pyrun-code pre").first.click()
        page.wait_for_selector(f"{widget} .cm-editor", timeout=15_000)
        assert _height(page, f"{widget} .pyrun-code") <= code_height + 2 * line
        drawn = page.locator(f"{widget} .cm-line").evaluate_all(
            "(ls) => ls.filter((l) => { const r = l.getBoundingClientRect();"
            " return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight; }).length"
        )
        assert drawn >= 25, (theme, "the editor shows its lines", drawn)
        code = page.evaluate(f"document.getElementById('{LONG}').code")
        assert code.count("\n") == 5001 and code.endswith("print('END', x4999)\n")
        page.locator(widget).screenshot(path=str(SHOTS / f"long-{theme}-editor.png"))


def test_long_snippet_is_capped_without_javascript(
    browser: Any, lines_site: tuple[str, str]
) -> None:
    theme, site = lines_site
    with opened(browser, site + "long.html", javascript=False) as page:
        height = _height(page, f"#{LONG} .pyrun-code")
        assert 300 <= height <= 1000, (theme, height)
        assert _height(page, f"#{SHORT_CAPPED} .pyrun-code") < 200


# ------------------------------------------------------------------------- mkdocs-material

#: (pymdownx's header for the site's own code block, the pyrun header, numbers, emphasized)
MK_CASES = [
    ('linenums="1"', 'linenums="1"', ["1", "2", "3", "4"], []),
    ('hl_lines="3"', 'hl_lines="3"', None, [3]),
    ('linenums="1" hl_lines="3"', 'linenos emphasize-lines="3"', ["1", "2", "3", "4"], [3]),
    (
        'linenums="98" hl_lines="1 3-4"',
        'linenums="98" hl_lines="1 3-4"',
        ["98", "99", "100", "101"],
        [1, 3, 4],
    ),
]


@pytest.fixture(scope="module")
def material_lines(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Iterator[str]:
    from test_mkdocs import ROOT, mkdocs_build

    root = tmp_path_factory.mktemp("mk-lines") / "site-src"
    shutil.copytree(ROOT, root)
    fences = "".join(
        f"```python {theirs}\n{CODE}```\n\n```pyrun {header}\n{CODE}```\n\n"
        for theirs, header, _, _ in MK_CASES
    )
    long = "".join(f"x{i} = {i}\n" for i in range(5000))
    fences += (
        f'```pyrun\n{long}```\n\n```pyrun lines="5"\n{long[:100].rsplit(chr(10), 1)[0]}\n```\n'
    )
    (root / "docs" / "lines.md").write_text(f"# Lines\n\n{fences}")
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    with serving(build.site, DocsRequestHandler) as url:
        yield url + "lines/"


@pytest.mark.parametrize("javascript", [False, True])
def test_material_numbers_and_emphasis(browser: Any, material_lines: str, javascript: bool) -> None:
    """mkdocs-material, the sixth theme: each line on its row with its number, emphasis and
    indentation (its own code blocks use another line-number layout, so no comparison)."""
    with opened(browser, material_lines, javascript=javascript) as page:
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"lines-material-{'js' if javascript else 'nojs'}.png"
        page.locator("article").screenshot(path=str(shot))
        for number, (_, header, numbers, emphasized) in enumerate(MK_CASES):
            lines = measure(page, f"#pyrun-{number} .pyrun-code")
            assert_lines_right(lines, numbers, emphasized, f"material js={javascript} {header}")
        if javascript:
            for number, (_, header, numbers, emphasized) in enumerate(MK_CASES):
                page.locator(f"#pyrun-{number} .pyrun-code pre").first.click()
                page.wait_for_selector(f"#pyrun-{number} .cm-editor", timeout=15_000)
                lines = measure_settled(page, f"#pyrun-{number} .pyrun-code")
                assert_lines_right(lines, numbers, emphasized, f"material editor {header}")
            page.locator("#pyrun-3").screenshot(path=str(SHOTS / "lines-material-editor.png"))


def test_material_long_snippet_is_capped(browser: Any, material_lines: str) -> None:
    """Item 2 on mkdocs-material: 30 lines by default, ``lines`` overrides, Expand reachable."""
    with opened(browser, material_lines) as page:
        long, short = f"#pyrun-{len(MK_CASES)}", f"#pyrun-{len(MK_CASES) + 1}"
        line = page.evaluate(
            "(sel) => parseFloat(getComputedStyle(document.querySelector(sel)).lineHeight)",
            f"{long} .pyrun-code pre",
        )
        height = _height(page, f"{long} .pyrun-code")
        assert 28 * line <= height <= 34 * line + 40, (height, line)
        assert 4 * line <= _height(page, f"{short} .pyrun-code") <= 6 * line + 40
        page.locator(f"{long} .pyrun-expand").scroll_into_view_if_needed()
        page.click(f"{long} .pyrun-expand")
        assert 600 <= _height(page, f"{long} .pyrun-code") <= 800
        bar = page.locator(f"{long} .pyrun-toolbar").bounding_box()
        assert bar is not None and 0 <= bar["y"] and bar["y"] + bar["height"] <= 900, bar
        page.screenshot(path=str(SHOTS / "long-material-expanded.png"))
