"""Stop, with and without cross-origin isolation, on plain and asyncio loops."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stored_snapshot import StoredSnapshot
from test_browser import (
    click_run,
    open_page,
    output,
    replace_code,
    serving,
    status,
    wait_done,
)

from pyrun_docs.serve import DocsRequestHandler

pytestmark = pytest.mark.browser

STOP_PAGE = """\
:orphan:

Stop
====

.. pyrun::
   :session: s

   count = 0
   while True:
       count += 1

.. pyrun::
   :session: s

   print("still here", count > 0)

.. pyrun::

   import asyncio
   while True:
       await asyncio.sleep(0.01)

.. pyrun::

   print("fresh run")

.. pyrun::
   :session: t

   x = 1

.. pyrun::
   :session: t

   print("x is", x)
"""


class IsolatedHandler(DocsRequestHandler):
    """Serves with COOP/COEP, so the page is cross-origin isolated (SharedArrayBuffer works)."""

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()


@pytest.fixture(scope="module")
def stop_site(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Path:
    from conftest import ROOTS, sphinx_build

    base = tmp_path_factory.mktemp("stop")
    shutil.copytree(ROOTS / "basic", base / "src")
    (base / "src" / "stop.rst").write_text(STOP_PAGE)
    build = sphinx_build(base / "src", base / "html")
    assert build.status == 0, build.stderr
    return base / "html"


@pytest.fixture(params=["isolated", "plain"])
def stop_url(request: pytest.FixtureRequest, stop_site: Path) -> Iterator[tuple[str, bool]]:
    isolated = request.param == "isolated"
    handler = IsolatedHandler if isolated else DocsRequestHandler
    with serving(stop_site, handler) as url:
        yield url + "stop.html", isolated


def _start_and_stop(page: Any, sid: str) -> None:
    page.click(f"#{sid} .pyrun-run")
    page.wait_for_function(
        "id => document.querySelector(`#${id} .pyrun-status`).textContent === 'Running…'",
        arg=sid,
        timeout=90_000,
    )
    page.wait_for_timeout(500)
    page.click(f"#{sid} .pyrun-stop")


def test_stop_plain_loop(
    page: Any, stop_url: tuple[str, bool], stored_snapshot: StoredSnapshot
) -> None:
    url, isolated = stop_url
    open_page(page, url, stored_snapshot)
    assert page.evaluate("crossOriginIsolated") is isolated
    _start_and_stop(page, "pyrun-0")
    result = wait_done(page, "pyrun-0", 1, 15_000)
    assert result["ok"] is False
    note = "Interrupted (KeyboardInterrupt)" if isolated else "session was reset"
    page.wait_for_function(  # the note follows the run's end
        "n => document.querySelector('#pyrun-0 .pyrun-output').textContent.includes(n)", arg=note
    )
    text = output(page, "pyrun-0")
    if isolated:
        # KeyboardInterrupt inside the code: the session (and its variables) survive
        assert result["error"]["type"] == "KeyboardInterrupt", result
        assert "Interrupted (KeyboardInterrupt)" in text
        click_run(page, "pyrun-1", 15_000)
        assert output(page, "pyrun-1").strip() == "still here True"
        assert page.evaluate("window.__pyrun.workers") == 1
    else:
        assert "session was reset" in text
        assert status(page, "pyrun-0") == "Stopped"
        click_run(page, "pyrun-3", 90_000)  # a fresh worker
        assert output(page, "pyrun-3").strip() == "fresh run"
        assert page.evaluate("window.__pyrun.workers") == 2


def test_stop_on_the_clicked_example_while_the_ones_above_run(
    page: Any, stop_url: tuple[str, bool], stored_snapshot: StoredSnapshot
) -> None:
    """Run on an example first runs the ones above it (a hidden setup too): its own Stop works
    meanwhile (it stayed off, "Loading…", while an endless loop above ran: only that example's
    Stop, maybe behind a closed "Setup code" toggle, could end it)."""
    url, _ = stop_url
    open_page(page, url, stored_snapshot)
    page.click("#pyrun-1 .pyrun-run")
    page.wait_for_function(
        "() => document.querySelector('#pyrun-0 .pyrun-status').textContent === 'Running…'",
        timeout=90_000,
    )
    assert page.locator("#pyrun-1 .pyrun-stop").is_enabled()
    assert status(page, "pyrun-1") == "Running the examples above first…"
    page.click("#pyrun-1 .pyrun-stop")
    result = wait_done(page, "pyrun-1", 1, 15_000)
    assert result["stopped"] is True, result
    assert status(page, "pyrun-1") == "Stopped" and status(page, "pyrun-0") == "Stopped"
    assert "session was reset" in output(page, "pyrun-1")
    assert page.locator("#pyrun-1 .pyrun-run").is_enabled()


def test_an_edit_the_reader_stopped_runs_as_written_before_a_later_example(
    page: Any, stop_url: tuple[str, bool], stored_snapshot: StoredSnapshot
) -> None:
    """An example edited into an endless loop, run, stopped; then Run on a later example of its
    session: the fresh Python replayed the edit, which looped again, and the later example said
    "Running the examples above first…" for good (semantic_version's guide). It runs as the
    page shows it, saying so. Where Stop interrupts (cross-origin isolated) the session and
    what the edit did stay, as at a prompt: the edit ran instead of ``x = 1``."""
    url, isolated = stop_url
    open_page(page, url, stored_snapshot)
    replace_code(page, "pyrun-4", "while True:\n    pass")
    _start_and_stop(page, "pyrun-4")
    wait_done(page, "pyrun-4", 1, 15_000)
    click_run(page, "pyrun-5", 90_000)
    if isolated:
        assert "NameError: name 'x' is not defined" in output(page, "pyrun-5")
        return
    assert output(page, "pyrun-5").strip() == "x is 1"
    assert "Ran as written: your edit of it was stopped." in output(page, "pyrun-4")


def test_stop_asyncio_loop(
    page: Any, stop_url: tuple[str, bool], stored_snapshot: StoredSnapshot
) -> None:
    url, _ = stop_url
    open_page(page, url, stored_snapshot)
    _start_and_stop(page, "pyrun-2")
    wait_done(page, "pyrun-2", 1, 15_000)
    page.wait_for_function(  # the note follows the run's end
        "() => /Interrupted|session was reset/.test("
        "document.querySelector('#pyrun-2 .pyrun-output').textContent)"
    )
    click_run(page, "pyrun-3", 90_000)
    assert output(page, "pyrun-3").strip() == "fresh run"
