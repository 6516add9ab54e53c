"""Taking pyrun off a site, in real Chromium: ``pyrun-docs remove`` ships a service worker that, in
a returning reader's browser, deletes pyrun's caches and memory snapshots and unregisters itself."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from test_browser import click_run, open_page, output, serving

from pyrun_docs.cli import main
from pyrun_docs.serve import DocsRequestHandler

pytestmark = pytest.mark.browser

#: what pyrun left in this origin: registrations, pyrun-* caches, the snapshot database
LEFT_BEHIND = """async () => ({
  registrations: (await navigator.serviceWorker.getRegistrations()).length,
  caches: (await caches.keys()).filter((n) => n.startsWith("pyrun-")),
  snapshots: (await indexedDB.databases()).some((d) => d.name === "pyrun-snapshots"),
})"""


def test_removal_worker_clears_pyrun_from_a_returning_browser(
    browser: Any, basic_site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    shutil.copytree(basic_site, site)
    with serving(site, DocsRequestHandler) as url:
        _remove_and_return(browser, site, url, capsys)


def _remove_and_return(
    browser: Any, site: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reader runs an example, the author ships the removal worker, the reader comes back."""
    context = browser.new_context()
    try:
        # a reader ran an example: pyrun's worker, its caches and a memory snapshot are stored
        first = context.new_page()
        open_page(first, url + "index.html")
        assert click_run(first, "pyrun-7")["ok"]
        assert output(first, "pyrun-7").strip() == "42"
        first.wait_for_function(
            f"({LEFT_BEHIND})().then((s) => s.registrations === 1 && s.caches.length > 0 "
            "&& s.snapshots)",
            timeout=60_000,
            polling=500,
        )
        first.close()

        # the author takes pyrun off: the site is rebuilt without it, then `pyrun-docs remove`
        assert main(["remove", str(site)]) == 2  # refused: the site still ships the loader
        assert "still uses pyrun" in capsys.readouterr().err
        shutil.rmtree(site / "_static" / "pyrun")
        assert main(["remove", str(site)]) == 0
        assert "24 hours" in capsys.readouterr().out
        assert "unregister" in (site / "pyrun-sw.js").read_text()

        # the reader comes back; the browser checks the registered script (as it does on a
        # navigation once 24 hours have passed since its last check)
        back = context.new_page()
        back.goto(url + "plain.html")  # a page without examples
        back.evaluate("navigator.serviceWorker.getRegistration().then((r) => r && r.update())")
        back.wait_for_function(
            f"({LEFT_BEHIND})().then((s) => s.registrations === 0 && s.caches.length === 0 "
            "&& !s.snapshots)",
            timeout=30_000,
            polling=250,
        )
        # once the reader's open pages are gone, the next visit has no worker at all
        back.close()
        later = context.new_page()
        later.goto(url + "plain.html")
        assert later.evaluate("navigator.serviceWorker.controller === null")
        assert later.evaluate(f"({LEFT_BEHIND})()") == {
            "registrations": 0,
            "caches": [],
            "snapshots": False,
        }
    finally:
        context.close()
