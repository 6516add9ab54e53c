"""Real-browser tests: the built fixture site in system Chromium, running real Pyodide.

Every test loads pages from a local HTTP server (``site_url``) in a fresh browser context (cold
cache), so Python comes from the site's self-hosted copy. Tests about what the widget does once
Python is there (``open_page(..., stored_snapshot)``) start it as for a returning reader, restored
from a memory snapshot made once per run (stored_snapshot.py, ~1 s); the others boot it cold, as
on a first visit (4-8 s). Results are read back from the DOM (what a reader sees) and from the
``pyrun:done`` events the widgets dispatch.

Snippets of ``tests/roots/basic/index.rst`` by element id:

* ``pyrun-0`` session ``intro``: ``import math; print(math.sqrt(2))``
* ``pyrun-1`` session ``intro``: ``print(round(math.pi, 4))``
* ``pyrun-2``: ``while True: pass``
* ``pyrun-3``: ``print("<b>x</b>")``
* ``pyrun-4``: ``def f(): return 1 / 0`` then ``f()`` (fails on line 2)
* ``pyrun-5`` ``:raises: ZeroDivisionError``: ``1 / 0``
* ``pyrun-6``: ``print("no newline at the end", end="")``
* ``pyrun-7``: ``x = 6 * 7`` then ``x``
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import sphinx_build

from pyrun_docs.serve import DocsRequestHandler, serve_in_thread

if TYPE_CHECKING:
    from stored_snapshot import StoredSnapshot

pytestmark = pytest.mark.browser

#: Upper bound for a cold Pyodide boot plus a short run (a boot takes ~3-5 s locally).
BOOT_MS = 60_000
#: Upper bound for a run once Python is up.
RUN_MS = 15_000
RUNTIME_DIR = "_static/pyrun/pyodide-314.0.7"

#: Installed before any page script: records every ``pyrun:done`` event and counts Web Workers.
RECORDER = """
if (!window.__pyrun) {
  window.__pyrun = { done: [], workers: 0 };
  document.addEventListener("pyrun:done", (event) => {
    window.__pyrun.done.push({ id: event.target.id, detail: event.detail });
  });
  const NativeWorker = window.Worker;
  window.Worker = class extends NativeWorker {
    constructor(...args) {
      super(...args);
      window.__pyrun.workers += 1;
    }
  };
}
"""


# --------------------------------------------------------------------------------------- helpers


def open_page(page: Any, url: str, snapshot: StoredSnapshot | None = None) -> None:
    """Load *url* with the event recorder and wait until every ``<py-repl>`` is upgraded; with
    *snapshot*, store it on the page's origin, so its Python is restored rather than booted."""
    page.add_init_script(RECORDER)
    page.goto(url)
    page.wait_for_function(
        """() => {
          const all = document.querySelectorAll("py-repl");
          return all.length > 0 && [...all].every((el) => el.querySelector(".pyrun-toolbar"));
        }""",
        timeout=RUN_MS,
    )
    if snapshot is not None:
        snapshot.store_in(page)


def done_events(page: Any, sid: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = page.evaluate(
        "(id) => window.__pyrun.done.filter((d) => d.id === id)", sid
    )
    return events


def wait_done(page: Any, sid: str, count: int, timeout: int = BOOT_MS) -> dict[str, Any]:
    """Wait until snippet *sid* has dispatched *count* ``pyrun:done`` events; return the last."""
    page.wait_for_function(
        "([id, n]) => window.__pyrun.done.filter((d) => d.id === id).length >= n",
        arg=[sid, count],
        timeout=timeout,
    )
    detail: dict[str, Any] = done_events(page, sid)[-1]["detail"]
    return detail


def click_run(page: Any, sid: str, timeout: int = BOOT_MS) -> dict[str, Any]:
    """Click Run on snippet *sid* and wait for its run to finish; return the ``pyrun:done`` detail."""
    before = len(done_events(page, sid))
    page.click(f"#{sid} .pyrun-run")
    return wait_done(page, sid, before + 1, timeout)


def output(page: Any, sid: str) -> str:
    return page.locator(f"#{sid} .pyrun-output").text_content() or ""


def status(page: Any, sid: str) -> str:
    return page.locator(f"#{sid} .pyrun-status").text_content() or ""


def code_text(page: Any, sid: str) -> str:
    """The code as the widget will run it (static code, or the CodeMirror editor once loaded)."""
    return str(page.evaluate("id => document.getElementById(id).code", sid)).removesuffix("\n")


def focus_editor(page: Any, sid: str) -> None:
    """Click into the code and wait for CodeMirror, which loads on that first click."""
    page.locator(f"#{sid} .pyrun-code pre").click()
    page.wait_for_selector(f"#{sid} .cm-editor.cm-focused", timeout=RUN_MS)


def replace_code(page: Any, sid: str, code: str) -> None:
    """Type *code* over the widget's code, as a reader does (a newline is the Enter key)."""
    focus_editor(page, sid)
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(code)


#: a timer on the page's main thread, counting its ticks in ``window.__ticks``
TICKER = "() => { window.__ticks = 0; setInterval(() => { window.__ticks += 1; }, 20); }"


def assert_page_ticks(page: Any, what: str) -> None:
    """The page's own timers run (``TICKER`` installed): a main thread kept busy by Python, or
    by its output, runs none of them."""
    ticks = page.evaluate("() => window.__ticks")
    try:
        page.wait_for_function(f"() => window.__ticks >= {ticks + 3}", timeout=RUN_MS)
    except Exception as exc:  # playwright's TimeoutError
        raise AssertionError(f"the page's timers stopped {what}") from exc


@contextmanager
def serving(root: Path, handler: type[http.server.SimpleHTTPRequestHandler]) -> Iterator[str]:
    """Serve *root* with *handler* on a free 127.0.0.1 port; yield the base URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def basic_with_page(base: Path, name: str, text: str) -> Iterator[str]:
    """The ``basic`` fixture root plus the page ``NAME.rst``, built and served; yields its URL."""
    from conftest import ROOTS

    shutil.copytree(ROOTS / "basic", base / "src")
    (base / "src" / f"{name}.rst").write_text(text)
    build = sphinx_build(base / "src", base / "html")
    assert build.status == 0, build.stderr
    with serving(base / "html", DocsRequestHandler) as url:
        yield url + f"{name}.html"


class WrongWasmTypeHandler(DocsRequestHandler):
    """A misconfigured server: ``.wasm`` goes out as a generic binary type."""

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        if os.fspath(path).endswith(".wasm"):
            return "application/octet-stream"
        return super().guess_type(path)


# ----------------------------------------------------------------------------------------- tests


def test_run_and_session_intro(page: Any, site_url: str, stored_snapshot: StoredSnapshot) -> None:
    open_page(page, site_url + "index.html", stored_snapshot)
    # Nothing is loaded before a reader acts.
    assert page.evaluate("() => window.__pyrun.workers") == 0
    assert page.locator("#pyrun-0 .pyrun-output").is_hidden()

    # Run on the second snippet of the session first runs the first one, in order.
    result = click_run(page, "pyrun-1")
    assert result["ok"] is True, result
    assert "3.1416" in output(page, "pyrun-1")
    first = done_events(page, "pyrun-0")
    assert len(first) == 1 and first[0]["detail"]["ok"] is True
    assert output(page, "pyrun-0").strip() == "1.4142135623730951"
    assert status(page, "pyrun-0").startswith("Done in")
    assert status(page, "pyrun-1").startswith("Done in")
    # the clicked one's time is the reader's wait, the first one's run (and Python's start) too
    seconds = [float(status(page, f"pyrun-{n}").split()[2]) for n in (0, 1)]
    assert seconds[1] >= seconds[0], seconds
    order = page.evaluate("() => window.__pyrun.done.map((d) => d.id)")
    assert order == ["pyrun-0", "pyrun-1"]

    # Run on the first snippet: its output, fresh (the previous one is replaced, not appended).
    result = click_run(page, "pyrun-0", RUN_MS)
    assert result["ok"] is True, result
    assert output(page, "pyrun-0").strip() == "1.4142135623730951"
    assert page.locator("#pyrun-0 .pyrun-output").is_visible()

    # Running the second snippet again does not re-run the first one (it already ran here,
    # in the fresh Python that running the first one after the second started).
    click_run(page, "pyrun-1", RUN_MS)
    assert len(done_events(page, "pyrun-0")) == 2
    assert output(page, "pyrun-1").strip() == "3.1416"
    assert page.evaluate("() => window.__pyrun.workers") == 2


def test_an_example_run_again_after_a_later_one_sees_the_page_up_to_it(
    page: Any, site_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """Run on an example after a later one of its session ran: the session held what the page
    defines further down (attrs' examples page redefines ``Coordinates`` below: the example
    above failed where its verified output showed a result). It starts over up to the example,
    in a fresh Python as the check runs a page: a module attribute the later example set (bitmath's
    ``format_string``) is gone too."""
    open_page(page, site_url + "index.html", stored_snapshot)
    for element_id, code in (
        ("pyrun-0", "import string\nprint(globals().get('marker'), getattr(string, 'flag', None))"),
        ("pyrun-1", "marker = 1\nstring.flag = 1"),
    ):
        replace_code(page, element_id, code)
    click_run(page, "pyrun-1")
    assert output(page, "pyrun-0").strip() == "None None"  # ran first, as on the page
    click_run(page, "pyrun-0", RUN_MS)
    assert output(page, "pyrun-0").strip() == "None None"  # not 1: the later snippet's doing
    click_run(page, "pyrun-1", RUN_MS)
    assert len(done_events(page, "pyrun-0")) == 2  # already ran since the start over


def test_after_reset_of_an_edited_run_the_session_starts_over(
    page: Any, site_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """Reset on an example whose edit ran: its session held what the page no longer shows
    (python-ulid: an edit set ``a = 100``; after Reset a later example printed 102 where the
    verified output showed 3). The next Run starts over, the example's own code first."""
    open_page(page, site_url + "index.html", stored_snapshot)
    original = code_text(page, "pyrun-0")
    replace_code(page, "pyrun-0", "marker = 1")
    replace_code(page, "pyrun-1", "print(globals().get('marker'))")
    click_run(page, "pyrun-0")
    page.locator("#pyrun-0 .pyrun-reset").click()
    assert code_text(page, "pyrun-0") == original
    click_run(page, "pyrun-1", RUN_MS)
    assert output(page, "pyrun-1").strip() == "None"
    assert output(page, "pyrun-0").strip() == "1.4142135623730951"  # ran again, as written
    click_run(page, "pyrun-1", RUN_MS)
    assert len(done_events(page, "pyrun-0")) == 2  # once started over, no more


def test_a_setup_written_below_does_not_start_the_session_over(
    page: Any, tmp_path: Path, runtime_cache: Path, stored_snapshot: StoredSnapshot
) -> None:
    """A setup snippet runs first wherever it is written: having run, one written below an
    example is no later snippet that ran, and Run on the example again runs it alone."""
    text = (
        "Setup below\n===========\n\n.. pyrun::\n   :session: s\n\n   print(base)\n\n"
        ".. pyrun::\n   :session: s\n   :hidden:\n\n   base = 41\n"
    )
    with basic_with_page(tmp_path, "below", text) as url:
        open_page(page, url, stored_snapshot)
        click_run(page, "pyrun-0")
        assert output(page, "pyrun-0").strip() == "41"
        click_run(page, "pyrun-0", RUN_MS)
        assert len(done_events(page, "pyrun-1")) == 1  # the setup ran once


def test_the_keyboard_keeps_its_place_through_a_run(
    page: Any, site_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """Enter on a focused Run: its disabling dropped the focus to the page, and a second Enter
    ran nothing. Focus is on Stop while it runs, back on Run at the end."""
    open_page(page, site_url + "index.html", stored_snapshot)
    page.focus("#pyrun-7 .pyrun-run")
    page.keyboard.press("Enter")
    wait_done(page, "pyrun-7", 1)
    assert page.evaluate("document.activeElement.classList.contains('pyrun-run')")
    page.keyboard.press("Enter")
    wait_done(page, "pyrun-7", 2, RUN_MS)


def test_shift_enter_edit_and_reset(
    page: Any, site_url: str, stored_snapshot: StoredSnapshot
) -> None:
    open_page(page, site_url + "index.html", stored_snapshot)
    pre = page.locator("#pyrun-7 .pyrun-code pre")
    assert pre.get_attribute("contenteditable") == "plaintext-only"
    original_code = code_text(page, "pyrun-7")
    assert "x = 6 * 7" in original_code

    # Shift+Enter inside the code runs it, and does not insert a line break.
    focus_editor(page, "pyrun-7")
    page.keyboard.press("Shift+Enter")
    result = wait_done(page, "pyrun-7", 1)
    assert result["ok"] is True, result
    assert output(page, "pyrun-7").strip() == "42"
    assert code_text(page, "pyrun-7") == original_code

    # Typing into the code changes what runs.
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("y = 6 * 9; print('edited', y)")
    assert code_text(page, "pyrun-7") == "y = 6 * 9; print('edited', y)"
    page.keyboard.press("Shift+Enter")
    result = wait_done(page, "pyrun-7", 2, RUN_MS)
    assert result["ok"] is True, result
    assert output(page, "pyrun-7").strip() == "edited 54"
    assert "42" not in output(page, "pyrun-7")

    # Ctrl+Enter runs too.
    page.keyboard.press("Control+Enter")
    wait_done(page, "pyrun-7", 3, RUN_MS)
    assert output(page, "pyrun-7").strip() == "edited 54"

    # Reset restores the original code and clears the output and the status.
    page.click("#pyrun-7 .pyrun-reset")
    assert code_text(page, "pyrun-7") == original_code
    assert output(page, "pyrun-7") == ""
    assert page.locator("#pyrun-7 .pyrun-output").is_hidden()
    assert status(page, "pyrun-7") == ""

    # And the restored code is what runs next.
    click_run(page, "pyrun-7", RUN_MS)
    assert output(page, "pyrun-7").strip() == "42"


def test_multiline_edit_runs_as_typed(
    page: Any, site_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """Enter in the editor starts a new line of code (Chromium inserts a ``<br>`` for it)."""
    open_page(page, site_url + "index.html", stored_snapshot)
    replace_code(page, "pyrun-7", "y = 6 * 9")
    page.keyboard.press("Enter")
    page.keyboard.type("print('edited', y)")
    # What the reader sees: two lines.
    assert page.evaluate("() => document.querySelector('#pyrun-7 .pyrun-code pre').innerText") == (
        "y = 6 * 9\nprint('edited', y)"
    )
    result = click_run(page, "pyrun-7")
    assert result["ok"] is True, result
    assert output(page, "pyrun-7").strip() == "edited 54"


def test_a_failure_after_a_caught_name_lookup_says_there_is_no_network(
    page: Any, site_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """Code that catches the lookup's error itself fails later saying nothing of the network
    (feedparser: "no attribute 'title'"): the output says what it looked up."""
    open_page(page, site_url + "index.html", stored_snapshot)
    replace_code(
        page,
        "pyrun-7",
        "import socket\ntry: feed = socket.getaddrinfo('example.org', 80)\n"
        "except OSError: feed = None\nfeed.title",
    )
    result = click_run(page, "pyrun-7")
    assert result["ok"] is False and result["offline"] == ["example.org"], result
    text = output(page, "pyrun-7")
    assert "AttributeError" in text
    assert "(It looked up example.org: Python in the browser has no network.)" in text, text


def test_snippets_without_session_are_isolated(
    page: Any, site_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """No ``:session:``: each snippet runs in a namespace of its own (DESIGN.md)."""
    open_page(page, site_url + "index.html", stored_snapshot)
    click_run(page, "pyrun-7")  # defines x = 42 in its own namespace
    assert output(page, "pyrun-7").strip() == "42"
    replace_code(page, "pyrun-3", "print(x)")
    result = click_run(page, "pyrun-3", RUN_MS)
    assert result["ok"] is False, (
        f"a session-less snippet saw another's variable: {output(page, 'pyrun-3')!r}"
    )
    assert result["error"]["type"] == "NameError"
    assert result["error"]["message"] == "name 'x' is not defined"


def test_stop_infinite_loop(page: Any, site_url: str, stored_snapshot: StoredSnapshot) -> None:
    open_page(page, site_url + "index.html", stored_snapshot)
    # Establish the intro session in the first worker.
    click_run(page, "pyrun-0")
    assert page.evaluate("() => window.__pyrun.workers") == 1

    page.click("#pyrun-2 .pyrun-run")
    page.wait_for_function(
        "() => document.querySelector('#pyrun-2 .pyrun-status').textContent === 'Running…'",
        timeout=RUN_MS,
    )
    page.evaluate(TICKER)
    time.sleep(0.5)  # let the loop spin
    assert status(page, "pyrun-2") == "Running…"
    assert page.locator("#pyrun-2 .pyrun-stop").is_enabled()
    assert_page_ticks(page, "while Python was looping")
    assert status(page, "pyrun-2") == "Running…"

    page.click("#pyrun-2 .pyrun-stop")
    result = wait_done(page, "pyrun-2", 1, RUN_MS)  # a wait limit: the loop never ends itself
    assert result.get("stopped") is True, result
    assert status(page, "pyrun-2") == "Stopped"
    note = page.locator("#pyrun-2 .pyrun-output .pyrun-note")
    assert "Stopped. The Python session was reset" in (note.text_content() or "")
    assert page.locator("#pyrun-2 .pyrun-run").is_enabled()
    assert page.locator("#pyrun-2 .pyrun-stop").is_disabled()
    assert_page_ticks(page, "after the Stop")

    # A later Run starts a fresh worker: the intro session is rebuilt (snippet 0 runs again).
    result = click_run(page, "pyrun-1")
    assert result["ok"] is True, result
    assert output(page, "pyrun-1").strip() == "3.1416"
    assert len(done_events(page, "pyrun-0")) == 2
    assert page.evaluate("() => window.__pyrun.workers") == 2
    click_run(page, "pyrun-7", RUN_MS)
    assert output(page, "pyrun-7").strip() == "42"


def test_stop_while_python_is_starting(page: Any, site_url: str) -> None:
    """Stop pressed during the boot ends the run at once and leaves the page usable."""
    open_page(page, site_url + "index.html")
    page.click("#pyrun-2 .pyrun-run")
    page.wait_for_function(
        "() => window.__pyrun.workers === 1 && "
        "!document.querySelector('#pyrun-2 .pyrun-stop').disabled",
        timeout=RUN_MS,
    )
    assert status(page, "pyrun-2") != "Running…", "Python started too fast to stop it while booting"
    page.click("#pyrun-2 .pyrun-stop")
    page.wait_for_function(
        "() => document.querySelector('#pyrun-2 .pyrun-status').textContent === 'Stopped'",
        timeout=5_000,
    )
    assert page.locator("#pyrun-2 .pyrun-run").is_enabled()
    assert "could not start" not in output(page, "pyrun-2")
    # Another snippet runs normally, well before the 60 s load timeout.
    result = click_run(page, "pyrun-7", 30_000)
    assert result["ok"] is True, result
    assert output(page, "pyrun-7").strip() == "42"


def test_outputs_errors_and_results(
    page: Any, site_url: str, stored_snapshot: StoredSnapshot
) -> None:
    open_page(page, site_url + "index.html", stored_snapshot)

    # Printed text is text: no markup is interpreted.
    result = click_run(page, "pyrun-3")
    assert result["ok"] is True, result
    assert output(page, "pyrun-3").strip() == "<b>x</b>"
    assert page.locator("#pyrun-3 .pyrun-output b").count() == 0
    assert "&lt;b&gt;" in page.locator("#pyrun-3 .pyrun-output").inner_html()

    # A traceback shows only the snippet's frames, and the failing line is marked.
    result = click_run(page, "pyrun-4", RUN_MS)
    assert result["ok"] is False
    assert result["error"]["type"] == "ZeroDivisionError"
    assert result["error"]["line"] == 2
    text = output(page, "pyrun-4")
    assert "ZeroDivisionError" in text
    assert re.search(r'File "<example 5>", line 2, in f', text), text
    assert re.search(r'File "<example 5>", line 4, in <module>', text), text
    assert "pyrun_executor" not in text and "executor.py" not in text
    assert "_pyodide" not in text and "/lib/python" not in text
    assert status(page, "pyrun-4").startswith("Error (")
    marked = page.locator("#pyrun-4 .pyrun-error-line")
    assert marked.count() == 1
    assert marked.get_attribute("id") == "pyrun-4-line-2"
    assert "return 1 / 0" in (marked.text_content() or "")
    # the whole line, as the editor marks one (on a short line a glyph-wide mark with its bar
    # read as a text caret in a widget never clicked into), and no taller than a line
    width, code_width, height, line_height = page.evaluate(
        "() => { const m = document.querySelector('#pyrun-4 .pyrun-error-line');"
        " const pre = m.closest('pre'); const cs = getComputedStyle(pre);"
        " return [m.getBoundingClientRect().width, pre.clientWidth - parseFloat(cs.paddingLeft)"
        " - parseFloat(cs.paddingRight), m.getBoundingClientRect().height,"
        " parseFloat(cs.lineHeight)]; }"
    )
    assert width >= code_width - 1 and height <= line_height * 1.5, (width, code_width, height)
    page.click("#pyrun-4 .pyrun-reset")
    assert page.locator("#pyrun-4 .pyrun-error-line").count() == 0

    # An expected exception (``:raises:``) is a success, and its traceback is still shown.
    result = click_run(page, "pyrun-5", RUN_MS)
    assert result["ok"] is True and result.get("expected") is True, result
    assert status(page, "pyrun-5").startswith("Done")
    assert "ZeroDivisionError" in output(page, "pyrun-5")
    assert page.locator("#pyrun-5 .pyrun-error-line").count() == 0

    # A trailing partial line is not lost.
    click_run(page, "pyrun-6", RUN_MS)
    assert output(page, "pyrun-6") == "no newline at the end"

    # The value of a final expression is shown.
    result = click_run(page, "pyrun-7", RUN_MS)
    assert result["ok"] is True, result
    assert output(page, "pyrun-7").strip() == "42"
    assert page.locator("#pyrun-7 .pyrun-output .pyrun-result").text_content() == "42\n"

    # The error message of a snippet without ``:raises:`` is the exception's own message.
    assert done_events(page, "pyrun-4")[-1]["detail"]["error"]["message"] == "division by zero"


def test_assets_only_on_pages_with_snippets(page: Any, site_url: str) -> None:
    selectors = ['script[src*="pyrun"]', 'link[href*="pyrun"]', "#pyrun-config"]
    page.goto(site_url + "plain.html")
    assert page.locator("h1", has_text="Plain").count() == 1
    for selector in selectors:
        assert page.locator(selector).count() == 0, selector
    assert page.evaluate("() => customElements.get('py-repl') === undefined")

    for name in ("index.html", "myst.html", "sub/deep.html"):
        page.goto(site_url + name)
        for selector in selectors:
            assert page.locator(selector).count() == 1, (name, selector)
        page.wait_for_function("() => customElements.get('py-repl') !== undefined")


def test_deep_page_session(page: Any, site_url: str, stored_snapshot: StoredSnapshot) -> None:
    open_page(page, site_url + "sub/deep.html", stored_snapshot)
    result = click_run(page, "pyrun-1")
    assert result["ok"] is True, result
    assert output(page, "pyrun-1").strip() == "42"
    assert len(done_events(page, "pyrun-0")) == 1


def test_myst_page_runs(page: Any, site_url: str, stored_snapshot: StoredSnapshot) -> None:
    open_page(page, site_url + "myst.html", stored_snapshot)
    result = click_run(page, "pyrun-0")
    assert result["ok"] is True, result
    assert output(page, "pyrun-0").strip() == "1.4142135623730951"
    assert status(page, "pyrun-0").startswith("Done in")


def test_copy_button(page: Any, site_url: str) -> None:
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=site_url.rstrip("/")
    )
    open_page(page, site_url + "index.html")
    page.click("#pyrun-4 .pyrun-copy")
    page.wait_for_function(
        "() => document.querySelector('#pyrun-4 .pyrun-status').textContent === 'Copied'"
    )
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == "def f():\n    return 1 / 0\n\nf()\n"

    # Copy takes the code as edited.
    replace_code(page, "pyrun-6", "print('changed')")
    page.click("#pyrun-6 .pyrun-copy")
    page.wait_for_function(
        "() => document.querySelector('#pyrun-6 .pyrun-status').textContent === 'Copied'"
    )
    assert page.evaluate("() => navigator.clipboard.readText()") == "print('changed')\n"
    # Copying loads no runtime.
    assert page.evaluate("() => window.__pyrun.workers") == 0


def test_wasm_with_wrong_mime_type(page: Any, basic_site: Path) -> None:
    with serving(basic_site, WrongWasmTypeHandler) as url:
        open_page(page, url + "index.html")
        result = click_run(page, "pyrun-7", 30_000)  # fails, and says so, within 30 s
        assert result["ok"] is False and result.get("boot") is True, result
        text = output(page, "pyrun-7")
        assert text.startswith("Python could not start:"), text
        assert "application/wasm" in text
        assert "application/octet-stream" in text
        assert status(page, "pyrun-7") == "Error"
        assert page.locator("#pyrun-7 .pyrun-run").is_enabled()


def test_missing_runtime_file(page: Any, basic_site: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(basic_site, site)
    wasm = site / RUNTIME_DIR / "pyodide.asm.wasm"
    assert wasm.is_file()
    wasm.unlink()
    url, server = serve_in_thread(site)
    try:
        open_page(page, url + "index.html")
        result = click_run(page, "pyrun-7", 30_000)  # fails, and says so, within 30 s
        assert result["ok"] is False and result.get("boot") is True, result
        text = output(page, "pyrun-7")
        assert text.startswith("Python could not start:"), text
        assert "missing" in text and "404" in text
        assert "pyodide.asm.wasm" in text
        assert status(page, "pyrun-7") == "Error"
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


FLOOD_PAGE = """\
:orphan:

Flood
=====

.. pyrun::

   for i in range(10**5):
       print(i)

.. pyrun::

   import sys
   n = sys.stdout.write("a" * 150_000 + "z" * 50_000)
"""

#: len("0\\n1\\n...99999\\n")
FLOOD_CHARS = sum(len(str(i)) + 1 for i in range(10**5))


@pytest.fixture(scope="module")
def flood_url(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Iterator[str]:
    base = tmp_path_factory.mktemp("flood-site")
    src = base / "src"
    shutil.copytree(Path(__file__).parent / "roots" / "basic", src)
    (src / "flood.rst").write_text(FLOOD_PAGE, encoding="utf-8")
    build = sphinx_build(src, base / "html")
    assert build.status == 0, build.stderr
    url, server = serve_in_thread(base / "html")
    yield url + "flood.html"
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]


def _cut_count(text: str) -> int:
    match = re.search(r"\[… (\d+) characters of earlier output cut …\]", text)
    assert match, f"no cut note in the output: {text[:200]!r}"
    return int(match.group(1))


def test_output_flood(page: Any, flood_url: str, stored_snapshot: StoredSnapshot) -> None:
    open_page(page, flood_url, stored_snapshot)
    limit = page.evaluate(
        "() => JSON.parse(document.getElementById('pyrun-config').textContent).outputLimit"
    )
    # A timer on the main thread, and the tick count at each change of the output: the page runs
    # its timers between batches of output, instead of being kept busy by 100,000 lines.
    page.evaluate(TICKER)
    page.evaluate(
        """() => {
          window.__batches = [];
          new MutationObserver(() => window.__batches.push(window.__ticks)).observe(
            document.querySelector("#pyrun-0 .pyrun-output"),
            { childList: true, subtree: true, characterData: true });
        }"""
    )
    result = click_run(page, "pyrun-0")
    assert result["ok"] is True, result
    batches = page.evaluate("() => window.__batches")
    assert len(batches) >= 2 and batches[-1] > batches[0], batches
    assert_page_ticks(page, "after the flood")
    # the output is a few nodes, not one per line (the cut note, the kept text)
    nodes = page.evaluate("() => document.querySelectorAll('#pyrun-0 .pyrun-output *').length")
    assert nodes <= 10, nodes

    text = output(page, "pyrun-0")
    assert text.rstrip().endswith("\n99998\n99999")
    # the box follows the newest lines, as a console does (it stayed at its top: the end, a
    # traceback or the Stop note, out of view)
    gap = page.evaluate(
        "() => { const o = document.querySelector('#pyrun-0 .pyrun-output');"
        " return [o.scrollHeight - o.scrollTop - o.clientHeight, o.scrollTop]; }"
    )
    assert gap[0] < 8 and gap[1] > 0, gap
    assert "cut" in text
    kept = page.locator("#pyrun-0 .pyrun-output .pyrun-stdout").text_content() or ""
    assert len(kept) <= limit
    assert not kept.startswith("0\n1\n")
    # Every character printed is either shown or counted as cut.
    assert _cut_count(text) + len(kept) == FLOOD_CHARS


def test_output_flood_single_write(
    page: Any, flood_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """One write larger than the limit keeps its tail and says how much was cut."""
    open_page(page, flood_url, stored_snapshot)
    limit = page.evaluate(
        "() => JSON.parse(document.getElementById('pyrun-config').textContent).outputLimit"
    )
    result = click_run(page, "pyrun-1")
    assert result["ok"] is True, result
    text = output(page, "pyrun-1")
    assert text.endswith("z" * 50_000)
    kept = page.locator("#pyrun-1 .pyrun-output .pyrun-stdout").text_content() or ""
    assert len(kept) <= limit
    assert _cut_count(text) + len(kept) == 200_000


def test_typing_before_the_editor_arrives_is_kept(
    page: Any, site_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """Keys typed while CodeMirror is still loading land where the reader put the caret."""
    open_page(page, site_url + "index.html", stored_snapshot)
    page.route("**/pyrun-editor.js*", lambda route: (time.sleep(0.8), route.continue_()))
    page.locator("#pyrun-7 .pyrun-code pre").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("print('typed early')")
    page.wait_for_selector("#pyrun-7 .cm-editor")
    page.keyboard.type(" or 1")
    assert code_text(page, "pyrun-7") == "print('typed early') or 1"
    click_run(page, "pyrun-7", RUN_MS)
    assert output(page, "pyrun-7").strip().startswith("typed early")


def test_text_pasted_before_the_editor_arrives_is_a_draft(page: Any, site_url: str) -> None:
    """Text put into the code while CodeMirror was still loading (a paste: no keys) was in the
    editor but not kept: only the editor's own changes were, and a reload lost it."""
    open_page(page, site_url + "index.html")
    page.route("**/pyrun-editor.js*", lambda route: (time.sleep(0.8), route.continue_()))
    page.locator("#pyrun-7 .pyrun-code pre").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text("print('pasted early')")
    page.wait_for_selector("#pyrun-7 .cm-editor")
    page.reload()
    page.wait_for_selector("#pyrun-7 .cm-editor")
    assert code_text(page, "pyrun-7") == "print('pasted early')"


def test_tab_moves_on_from_code_reached_with_the_keyboard(page: Any, site_url: str) -> None:
    """A keyboard-only reader was caught in the first code block it reached: every Tab
    indented the code, which then counted as edited. Tabbed into, the code lets Tab move on
    until the reader edits it; then Tab indents, as in any editor."""
    open_page(page, site_url + "index.html")
    original = code_text(page, "pyrun-7")
    page.focus("#pyrun-7 .pyrun-code pre")  # as Tab reaches it
    page.wait_for_selector("#pyrun-7 .cm-editor.cm-focused")
    page.keyboard.press("Tab")
    inside = "() => document.querySelector('#pyrun-7 .cm-content').contains(document.activeElement)"
    assert page.evaluate(inside) is False  # on to the Run button
    assert "pyrun-run" in page.evaluate("() => document.activeElement.className")
    assert code_text(page, "pyrun-7") == original
    page.click("#pyrun-7 .cm-content")  # back, and editing: Tab indents
    page.keyboard.press("End")
    page.keyboard.type(" + 1")
    page.keyboard.press("Tab")
    assert page.evaluate(inside) is True
    assert code_text(page, "pyrun-7") != original + " + 1"


def test_edits_survive_a_reload_until_reset(page: Any, site_url: str) -> None:
    open_page(page, site_url + "index.html")
    replace_code(page, "pyrun-7", "print('draft')")
    page.reload()
    page.wait_for_selector("#pyrun-7 .cm-editor")
    assert code_text(page, "pyrun-7") == "print('draft')"
    page.click("#pyrun-7 .pyrun-reset")
    page.reload()
    page.wait_for_selector("#pyrun-7 .pyrun-toolbar")
    assert code_text(page, "pyrun-7") == "x = 6 * 7\nx"


def test_keyboard_only(page: Any, site_url: str, stored_snapshot: StoredSnapshot) -> None:
    """Tab into the code, edit, Shift+Enter runs, Esc then Tab leaves the editor for the toolbar."""
    open_page(page, site_url + "index.html", stored_snapshot)
    page.locator("#pyrun-7 .pyrun-code pre").focus()  # as Tab would
    page.wait_for_selector("#pyrun-7 .cm-editor.cm-focused", timeout=RUN_MS)
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # Tab alone indents instead of leaving the editor
    assert page.evaluate("document.activeElement.classList.contains('cm-content')")
    assert code_text(page, "pyrun-7").endswith("\n    ")
    page.keyboard.press("Shift+Tab")  # and Shift+Tab takes the indent back
    page.keyboard.type("print('kb')")
    assert code_text(page, "pyrun-7") == "x = 6 * 7\nx\nprint('kb')"
    page.keyboard.press("Shift+Enter")
    wait_done(page, "pyrun-7", 1)
    assert output(page, "pyrun-7").strip() == "kb"  # the edit ran (the last line is the print)
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "pyrun-btn pyrun-run"
    page.keyboard.press("Enter")  # the Run button works from the keyboard too
    wait_done(page, "pyrun-7", 2, RUN_MS)
    assert output(page, "pyrun-7").strip() == "kb"
    labels = page.eval_on_selector_all(
        "#pyrun-7 .pyrun-toolbar button:not([hidden])",  # Expand shows only for long code
        "bs => bs.map(b => b.getAttribute('aria-label'))",
    )
    assert all(labels) and len(labels) == 4
