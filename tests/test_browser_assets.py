"""The asset pipeline in real Chromium: verified runtime files, nothing loaded before Run.

Most tests here are about how Python starts, so they boot it cold; the service-worker tests
that are not restore it from the run's stored snapshot (stored_snapshot.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from stored_snapshot import StoredSnapshot
from test_browser import RUNTIME_DIR, click_run, open_page, output

from pyrun_docs.serve import serve_in_thread

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name", ["pyodide.asm.wasm", "python_stdlib.zip", "pyodide.mjs"])
def test_tampered_runtime_file_is_refused(
    page: Any, basic_site: Path, tmp_path: Path, name: str
) -> None:
    site = tmp_path / "site"
    shutil.copytree(basic_site, site)
    target = site / RUNTIME_DIR / name
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    target.write_bytes(bytes(data))
    url, server = serve_in_thread(site)
    try:
        open_page(page, url + "index.html")
        result = click_run(page, "pyrun-7", 30_000)
        assert result["ok"] is False and result.get("boot") is True, result
        text = output(page, "pyrun-7")
        assert f"{name} failed its integrity check" in text, text
        assert "refuses to run it" in text
        assert "42" not in text  # nothing ran
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_no_runtime_request_before_run(page: Any, site_url: str) -> None:
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    open_page(page, site_url + "index.html")
    page.wait_for_timeout(1000)
    assert not [u for u in requests if "pyodide" in u or "pyrun-worker" in u or "executor.py" in u]
    assert any(u.endswith("pyrun.js") or "pyrun.js?" in u for u in requests)
    click_run(page, "pyrun-7")
    assert output(page, "pyrun-7").strip() == "42"
    assert [u for u in requests if u.endswith("pyodide.asm.wasm")]


RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")


def _network_runtime_requests(requests: list[Any]) -> list[str]:
    """Runtime files that reached the network: fetched by the page directly or by the SW."""
    out = []
    for req in requests:
        name = req.url.rsplit("/", 1)[-1]
        if name not in RUNTIME_FILES:
            continue
        response = req.response()
        if req.service_worker is not None or (response and not response.from_service_worker):
            out.append(name)
    return out


def test_service_worker_second_visit_and_offline(
    browser: Any, basic_site: Path, tmp_path: Path
) -> None:
    from pyrun_docs.runtime import get_pin

    site = tmp_path / "site"
    shutil.copytree(basic_site, site)
    url, server = serve_in_thread(site)
    context = browser.new_context()
    try:
        requests: list[Any] = []
        context.on("requestfinished", lambda req: requests.append(req))
        page = context.new_page()
        open_page(page, url + "index.html")
        # registered on the first Run, not at page load
        assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
        click_run(page, "pyrun-7")
        assert output(page, "pyrun-7").strip() == "42"
        scope = page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.scope)")
        assert scope == url  # the site root: it covers every page
        caches = page.evaluate("caches.keys()")
        assert f"pyrun-runtime-{get_pin('pyodide').key}" in caches
        assert _network_runtime_requests(requests)  # the first visit downloads the runtime

        # a second visit, to another page of the site: no runtime byte from the network
        requests.clear()
        second = context.new_page()
        open_page(second, url + "sub/deep.html")
        click_run(second, "pyrun-1")
        assert output(second, "pyrun-1").strip() == "42"
        assert _network_runtime_requests(requests) == []
        # the wasm streams through the service worker (so Chromium reuses its compiled code); the
        # page reads the other files from the same cache and hands them to the worker
        asked = {r.url.rsplit("/", 1)[-1] for r in requests}
        assert "pyodide.asm.wasm" in asked
        assert not asked & {"pyodide.mjs", "pyodide.asm.mjs", "python_stdlib.zip"}, asked

        # the docs server is gone: Stop, then Run again in the open page
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
        second.evaluate("document.querySelector('#pyrun-1').stop()")
        second.wait_for_timeout(200)
        result = click_run(second, "pyrun-1")
        assert result["ok"], result
        assert output(second, "pyrun-1").strip().endswith("42")
    finally:
        context.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_caches_of_other_versions_survive_and_idle_ones_go(
    page: Any, basic_site: Path, tmp_path: Path, stored_snapshot: StoredSnapshot
) -> None:
    site = tmp_path / "site"
    shutil.copytree(basic_site, site)
    url, server = serve_in_thread(site)
    try:
        open_page(page, url + "index.html", stored_snapshot)
        page.evaluate(
            """async () => {
              const day = 86400000;
              const meta = await caches.open("pyrun-meta");
              for (const [name, age] of [["pyrun-runtime-pyodide-313.0.0", 2 * day],
                                         ["pyrun-runtime-pyodide-0.26.0", 45 * day]]) {
                await (await caches.open(name)).put("/x", new Response("x"));
                await meta.put(`/__pyrun__/${name}`,
                  new Response(JSON.stringify({lastUsed: Date.now() - age})));
              }
            }"""
        )
        click_run(page, "pyrun-7")
        page.wait_for_timeout(500)
        names = page.evaluate("caches.keys()")
        assert "pyrun-runtime-pyodide-313.0.0" in names  # another docs version still uses it
        assert "pyrun-runtime-pyodide-0.26.0" not in names  # unused for 45 days
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_service_worker_is_at_the_site_root_and_pages_are_not_cached(
    page: Any, site_url: str, basic_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    assert (basic_site / "pyrun-sw.js").is_file()
    open_page(page, site_url + "index.html", stored_snapshot)
    click_run(page, "pyrun-7")
    entries = page.evaluate(
        "(async () => { const all = []; for (const k of await caches.keys())"
        " for (const r of await (await caches.open(k)).keys()) all.push(r.url); return all })()"
    )
    assert not [u for u in entries if u.endswith(".html")]


def _site_with(tmp_path: Path, setting: str) -> Path:
    from conftest import ROOTS, sphinx_build

    src = tmp_path / "src"
    shutil.copytree(ROOTS / "basic", src)
    conf = src / "conf.py"
    conf.write_text(conf.read_text() + setting + "\n")
    build = sphinx_build(src, tmp_path / "html")
    assert build.status == 0, build.stderr
    return tmp_path / "html"


@pytest.mark.parametrize("mode", ["visible", "boot"])
def test_preload_modes(page: Any, tmp_path: Path, runtime_cache: Path, mode: str) -> None:
    site = _site_with(tmp_path, f'pyrun_preload = "{mode}"')
    url, server = serve_in_thread(site)
    try:
        requests: list[str] = []
        page.on("request", lambda req: requests.append(req.url))
        open_page(page, url + "index.html")
        for _ in range(600):  # up to 60 s for an idle, visible page to start fetching
            if any(u.endswith("python_stdlib.zip") for u in requests):
                break
            page.wait_for_timeout(100)
        names = [u.rsplit("/", 1)[-1] for u in requests]
        assert "pyodide.asm.wasm" in names, " ".join(names)  # fetched before any click
        if mode == "boot":
            assert len(page.workers) == 1, "preload=boot starts the worker before the first Run"
        else:
            assert len(page.workers) == 0  # visible only downloads
        click_run(page, "pyrun-7")
        assert output(page, "pyrun-7").strip() == "42"
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_save_data_skips_preload(browser: Any, tmp_path: Path, runtime_cache: Path) -> None:
    site = _site_with(tmp_path, 'pyrun_preload = "visible"')
    url, server = serve_in_thread(site)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(
            "Object.defineProperty(navigator, 'connection', {value: {saveData: true}})"
        )
        requests: list[str] = []
        page.on("request", lambda req: requests.append(req.url))
        open_page(page, url + "index.html")
        page.wait_for_timeout(2000)
        assert not [u for u in requests if "pyodide" in u]
    finally:
        context.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_cdn_mode_markup_and_unreachable_cdn_message(
    page: Any, tmp_path: Path, runtime_cache: Path
) -> None:
    import json

    from pyrun_docs.runtime import get_pin

    site = _site_with(tmp_path, 'pyrun_runtime_source = "cdn"')
    pin = get_pin("pyodide")
    assert not (site / "_static" / "pyrun" / pin.key).exists()  # nothing self-hosted
    url, server = serve_in_thread(site)
    try:
        open_page(page, url + "index.html")
        config = json.loads(page.inner_text("#pyrun-config"))
        rt = config["runtimes"]["pyodide"]
        assert rt["base"] == f"https://cdn.jsdelivr.net/pyodide/v{pin.version}/full/"
        assert rt["files"] == {f.name: f.sri for f in pin.served_files()}
        result = click_run(page, "pyrun-7", 30_000)
        assert result["ok"] is False and result.get("boot") is True
        text = output(page, "pyrun-7")
        assert "cannot reach https://cdn.jsdelivr.net/pyodide/" in text, text
        assert "self-host" in text
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "mime"),
    [("pyodide.asm.wasm", "application/wasm"), ("pyodide.asm.mjs", "text/javascript")],
)
def test_tampered_cached_runtime_is_refused(
    browser: Any,
    basic_site: Path,
    tmp_path: Path,
    stored_snapshot: StoredSnapshot,
    name: str,
    mime: str,
) -> None:
    """A returning reader's cached files are checked too: a damaged cache entry never runs,
    whether the worker streams it (the wasm) or the page reads it from the cache for the worker.
    (The first visit's Python is restored from the run's stored snapshot, as a first visit
    leaves one: what it caches is the point, not its boot.)"""
    site = tmp_path / "site"
    shutil.copytree(basic_site, site)
    url, server = serve_in_thread(site)
    context = browser.new_context()
    try:
        page = context.new_page()
        open_page(page, url + "index.html", stored_snapshot)
        assert click_run(page, "pyrun-7")["ok"]
        # the service worker stores the runtime's files after the run: wait until this one is in
        # a cache (damaging it before then damaged nothing, and the next visit ran: a flake)
        page.wait_for_function(
            """async (file) => {
              for (const name of await caches.keys()) {
                if (await (await caches.open(name)).match(file)) return true;
              }
              return false;
            }""",
            arg=url + RUNTIME_DIR + "/" + name,
            timeout=60_000,
            polling=200,
        )
        damaged = page.evaluate(
            """async ([file, mime]) => {
              let damaged = 0;
              for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                if (await cache.match(file)) {
                  await cache.put(file, new Response(new Uint8Array(1000),
                    {headers: {"Content-Type": mime}}));
                  damaged += 1;
                }
              }
              return damaged;
            }""",
            [url + RUNTIME_DIR + "/" + name, mime],
        )
        assert damaged >= 1, "the runtime file was in no cache to damage"
        second = context.new_page()
        open_page(second, url + "index.html")
        result = click_run(second, "pyrun-7", 60_000)
        assert result["ok"] is False and result.get("boot") is True, result
        assert f"{name} failed its integrity check" in output(second, "pyrun-7")
    finally:
        context.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_quota_error_while_caching_still_runs(
    browser: Any, basic_site: Path, tmp_path: Path
) -> None:
    """Storage full (a 200 KB quota, far below the runtime): the runtime cannot be cached, but the
    example runs from the network, now and on the next visit, with no error on the page."""
    site = tmp_path / "site"
    shutil.copytree(basic_site, site)
    url, server = serve_in_thread(site)
    context = browser.new_context()
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        cdp = context.new_cdp_session(page)
        origin = url.rstrip("/")
        cdp.send("Storage.overrideQuotaForOrigin", {"origin": origin, "quotaSize": 200_000})
        open_page(page, url + "index.html")
        # the quota is in force (estimate() does not show an override; a write does)
        probe = """async () => {
          try { await (await caches.open('probe')).put('/probe', new Response(new Uint8Array(5e5))); }
          catch (e) { return e.name; } finally { await caches.delete('probe'); }
          return 'stored';
        }"""
        assert page.evaluate(probe) == "QuotaExceededError"
        result = click_run(page, "pyrun-7")
        assert result["ok"], result
        assert output(page, "pyrun-7").strip() == "42"
        cached = page.evaluate(
            """async () => {
              const urls = [];
              for (const name of await caches.keys()) {
                if (!name.startsWith('pyrun-runtime-')) continue;
                for (const req of await (await caches.open(name)).keys()) urls.push(req.url);
              }
              return urls;
            }"""
        )
        assert not [u for u in cached if u.endswith(".wasm")], cached  # the 10 MB wasm did not fit
        page.reload()
        page.wait_for_selector("#pyrun-7 .pyrun-toolbar")
        result = click_run(page, "pyrun-7")  # ...and the next visit downloads it again, and runs
        assert result["ok"], result
        assert not errors, errors
    finally:
        context.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_service_worker_update_during_a_run(
    browser: Any, basic_site: Path, tmp_path: Path, stored_snapshot: StoredSnapshot
) -> None:
    """A new pyrun-sw.js (the site was rebuilt) takes over while an example runs: the running example
    finishes with all its output, and the next Run works under the new service worker."""
    site = tmp_path / "site"
    shutil.copytree(basic_site, site)
    url, server = serve_in_thread(site)
    context = browser.new_context()
    try:
        page = context.new_page()
        open_page(page, url + "index.html", stored_snapshot)  # Python restored: the SW is the point
        assert click_run(page, "pyrun-7")["ok"]  # registers the service worker
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
        first = page.evaluate("navigator.serviceWorker.controller.scriptURL")
        page.evaluate(
            """() => {
              const el = document.querySelector('#pyrun-7');
              el.querySelector('.pyrun-code pre').textContent =
                'import time\\nfor i in range(15):\\n    print(i)\\n    time.sleep(0.1)\\nprint("end")';
              el.querySelector('.pyrun-run').click();
            }"""
        )
        page.wait_for_function(
            "document.querySelector('#pyrun-7 .pyrun-output').textContent.includes('2')"
        )
        sw = site / "pyrun-sw.js"
        sw.write_text(sw.read_text() + "\n// rebuilt\n")
        page.evaluate(
            """async () => {
              const reg = await navigator.serviceWorker.getRegistration();
              const changed = new Promise((r) =>
                navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
              await reg.update();
              await changed;
            }"""
        )
        page.wait_for_function(
            "/^(Done|Error)/.test(document.querySelector('#pyrun-7 .pyrun-status').textContent)",
            timeout=60_000,
        )
        text = output(page, "pyrun-7")
        assert text.split() == [str(i) for i in range(15)] + ["end"], text
        assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == first  # same URL
        page.click("#pyrun-7 .pyrun-reset")
        result = click_run(page, "pyrun-7")
        assert result["ok"], result
        assert output(page, "pyrun-7").strip() == "42"
    finally:
        context.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
