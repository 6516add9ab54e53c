"""Memory snapshots in real Chromium: a returning reader's Python is restored, not booted.

The first boot on an origin takes a snapshot of the clean interpreter and stores it in IndexedDB
(``pyrun-snapshots``) after the first output; later boots verify and restore it and say so through
``data-pyrun-boot="snapshot"`` on the widget that ran. Every test uses its own browser context
(own storage) and its own server, so entries never leak between tests. Tests about what later
visits do with a stored snapshot start from one made earlier in the run (``remembered``: what a
first visit stores, without its cold boot); the tests about making one make their own.

Snippets of the site built here, by element id:

* ``pyrun-0``: ``print(42)``
* ``pyrun-1``: ``import random`` then ``print(random.random())``
* ``pyrun-2``: ``import js`` then ``print(js.self.location.protocol)``
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOTS, sphinx_build
from stored_snapshot import ENTRIES, OPEN_DB, StoredSnapshot, wait_stored
from test_browser import click_run, open_page, output, status

from pyrun_docs.serve import serve_in_thread

pytestmark = pytest.mark.browser

SOURCE = """\
Snapshots
=========

.. pyrun::

   print(42)

.. pyrun::

   import random
   print(random.random())

.. pyrun::

   import js
   print(js.self.location.protocol)
"""

#: change the one stored record with *edit* (JS source of a function (record) => void, may be async)
EDIT = (
    """async (edit) => {
  const change = eval(edit);
"""
    + OPEN_DB
    + """  const ask = (call) => new Promise((ok) => {
    const r = call(db.transaction("snapshots", "readonly").objectStore("snapshots"));
    r.onsuccess = () => ok(r.result);
  });
  const keys = await ask((s) => s.getAllKeys());
  const rec = await ask((s) => s.get(keys[0]));
  await change(rec);
  await new Promise((ok, fail) => {
    const tx = db.transaction("snapshots", "readwrite");
    tx.objectStore("snapshots").put(rec, keys[0]);
    tx.oncomplete = ok;
    tx.onerror = () => fail(tx.error);
  });
  db.close();
  return keys[0];
}"""
)

SHA256 = """async function sha256(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}"""


def _build(tmp_path: Path, setting: str = "", source: str = SOURCE) -> Path:
    src = tmp_path / "src"
    shutil.copytree(ROOTS / "basic", src)
    (src / "index.rst").write_text(source, encoding="utf-8")
    for extra in ("myst.md", "plain.rst", "sub"):
        target = src / extra
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    if setting:
        conf = src / "conf.py"
        conf.write_text(conf.read_text() + setting + "\n")
    build = sphinx_build(src, tmp_path / "html")
    assert build.status == 0, build.stderr
    return tmp_path / "html"


@pytest.fixture(scope="module")
def snapshot_site(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Path:
    """Python starts on a click or a hover only, so each test decides when a restore begins."""
    return _build(tmp_path_factory.mktemp("snapshot-site"), 'pyrun_preload = "none"')


@pytest.fixture(scope="module")
def default_site(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Path:
    """The default settings: a returning reader's Python starts once a widget is on screen."""
    return _build(tmp_path_factory.mktemp("default-site"))


@contextmanager
def visiting(browser: Any, site: Path) -> Iterator[tuple[Any, str, list[str]]]:
    """A context of its own (own IndexedDB) on a server of its own; yields (context, url, console)."""
    url, server = serve_in_thread(site)
    context = browser.new_context()
    console: list[str] = []
    errors: list[str] = []
    context.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    context.on("page", lambda p: p.on("pageerror", lambda e: errors.append(str(e))))
    try:
        yield context, url, console
        assert not errors, errors
    finally:
        context.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def visit(context: Any, url: str, sid: str = "pyrun-0") -> tuple[Any, str]:
    """Open the page, run *sid*; return the page and how its Python started."""
    page = context.new_page()
    open_page(page, url + "index.html")
    result = click_run(page, sid)
    assert result["ok"], result
    return page, str(page.get_attribute(f"#{sid}", "data-pyrun-boot"))


def set_page_config(page: Any, **values: Any) -> None:
    """Change the page's pyrun configuration before the runner reads it (internal knobs)."""
    page.evaluate(
        """(values) => {
          const node = document.getElementById("pyrun-config");
          node.textContent = JSON.stringify({ ...JSON.parse(node.textContent), ...values });
        }""",
        values,
    )


def _restored(console: list[str]) -> int:
    return len([line for line in console if "restored from a memory snapshot" in line])


def _wait_restored(page: Any, console: list[str], count: int) -> None:
    deadline = time.monotonic() + 30
    while _restored(console) < count and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert _restored(console) == count, console


def first_visit(context: Any, url: str) -> tuple[Any, dict[str, Any]]:
    page, boot = visit(context, url)
    assert boot == "cold"
    assert output(page, "pyrun-0").strip() == "42"
    return page, wait_stored(page)


def remembered(context: Any, url: str, snapshot: StoredSnapshot) -> tuple[Any, dict[str, Any]]:
    """What a first visit leaves in IndexedDB, without its cold boot: the snapshot one made
    earlier in the run (stored_snapshot.py), for tests about what later visits do with it. Its
    runtime is not in the site's cache, so nothing starts before a click."""
    page = context.new_page()
    open_page(page, url + "index.html", snapshot)
    return page, wait_stored(page)


def ran_here_before(context: Any, url: str, snapshot: StoredSnapshot) -> Any:
    """A reader who ran Python on this site before, without a cold boot: the snapshot a first
    visit stores (``remembered``), then a Run, restored from it, which registers the service
    worker and fills the site's runtime cache. Returns once that cache holds the runtime, so the
    next page is a returning reader's (its Python may start before a click)."""
    page, _entries = remembered(context, url, snapshot)
    assert click_run(page, "pyrun-0")["ok"]
    assert page.get_attribute("#pyrun-0", "data-pyrun-boot") == "snapshot"
    page.wait_for_function(
        """async () => navigator.serviceWorker.controller !== null
          && (await caches.keys()).some((name) => name.startsWith("pyrun-runtime-"))""",
        timeout=30_000,
        polling=200,
    )
    return page


def test_second_visit_restores(browser: Any, snapshot_site: Path) -> None:
    from pyrun_docs.runtime import get_pin

    pin = get_pin("pyodide")
    with visiting(browser, snapshot_site) as (context, url, console):
        page, entries = first_visit(context, url)
        (key,) = entries
        assert key.startswith(f"pyrun-runtime-pyodide-{pin.version}/{pin.build_id}/")
        entry = entries[key]
        assert entry["buildId"] == pin.build_id
        assert entry["size"] == entry["length"] > 20_000_000
        # the interpreter that made the snapshot has a working js module
        click_run(page, "pyrun-2")
        assert output(page, "pyrun-2").strip() == "http:"

        second, boot = visit(context, url)  # a returning reader: another page load
        assert boot == "snapshot", console
        assert output(second, "pyrun-0").strip() == "42"
        assert status(second, "pyrun-0").startswith("Done in")
        assert any("restored from a memory snapshot" in line for line in console), console
        click_run(second, "pyrun-2")
        assert output(second, "pyrun-2").strip() == "http:"

        # Stop ends the worker; the next Run starts a new one, restored as well
        second.evaluate("document.querySelector('#pyrun-0').stop()")
        second.wait_for_timeout(200)
        assert click_run(second, "pyrun-0")["ok"]
        assert second.get_attribute("#pyrun-0", "data-pyrun-boot") == "snapshot"
        assert list(second.evaluate(ENTRIES)) == [key]  # nothing stored twice


def test_restored_interpreters_have_their_own_random_numbers(
    browser: Any, snapshot_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    with visiting(browser, snapshot_site) as (context, url, _console):
        remembered(context, url, stored_snapshot)
        numbers = []
        for _ in range(2):
            page, boot = visit(context, url, "pyrun-1")
            assert boot == "snapshot"
            numbers.append(float(output(page, "pyrun-1")))
        assert numbers[0] != numbers[1]


DAMAGE = {
    "flipped": "(rec) => { rec.bytes[rec.bytes.length >> 1] ^= 0xff; }",
    "truncated": "(rec) => { rec.bytes = rec.bytes.slice(0, rec.bytes.length >> 1); }",
    "malformed": "(rec) => { rec.bytes = 'not bytes'; }",
}


def test_damaged_snapshot_falls_back_and_is_replaced(
    browser: Any, snapshot_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    """Each damage in turn, one after the other in one context (a cold boot each is what
    costs)."""
    with visiting(browser, snapshot_site) as (context, url, console):
        page, entries = remembered(context, url, stored_snapshot)
        (key,) = entries
        for damage in sorted(DAMAGE):
            console.clear()
            page.evaluate(EDIT, DAMAGE[damage])
            second, boot = visit(context, url)
            assert boot == "cold", damage
            assert output(second, "pyrun-0").strip() == "42"
            assert any("stored memory snapshot is not used" in line for line in console), (
                damage,
                console,
            )
            replaced = wait_stored(second, after=entries[key]["created"])
            assert list(replaced) == [key], damage
            page, boot = visit(context, url)
            assert boot == "snapshot", damage
            entries = replaced


def test_snapshot_of_another_build_is_ignored(
    browser: Any, snapshot_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    with visiting(browser, snapshot_site) as (context, url, console):
        page, entries = remembered(context, url, stored_snapshot)
        (key,) = entries
        page.evaluate(EDIT, "(rec) => { rec.buildId = '0'.repeat(64); }")
        second, boot = visit(context, url)
        assert boot == "cold"
        assert any("made by another build" in line for line in console), console
        replaced = wait_stored(second, after=entries[key]["created"])
        assert replaced[key]["buildId"] != "0" * 64


def test_snapshot_bytes_of_another_build_fail_cleanly(
    browser: Any, snapshot_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    """The record says our build, the bytes another (hash recomputed): Pyodide's own check."""
    with visiting(browser, snapshot_site) as (context, url, console):
        page, entries = remembered(context, url, stored_snapshot)
        (key,) = entries
        page.evaluate(
            EDIT,
            f"""async (rec) => {{
              {SHA256}
              rec.bytes[16] ^= 0xff;  // the build id in the snapshot header
              rec.sha256 = await sha256(rec.bytes);
            }}""",
        )
        second, boot = visit(context, url)
        assert boot == "cold"
        assert output(second, "pyrun-0").strip() == "42"
        assert any("build id mismatch" in line for line in console), console
        wait_stored(second, after=entries[key]["created"])


def test_watchdog_ends_a_restore_that_does_not_finish(
    browser: Any, snapshot_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    """A restore that spins cannot be stopped inside the worker: the page ends it, boots cold."""
    with visiting(browser, snapshot_site) as (context, url, console):
        _page, entries = remembered(context, url, stored_snapshot)
        (key,) = entries
        page = context.new_page()
        open_page(page, url + "index.html")
        # a watchdog no restore can meet stands in for a snapshot that makes the restore spin
        set_page_config(page, snapshotWatchdog=0.001)
        assert click_run(page, "pyrun-0")["ok"]
        assert page.get_attribute("#pyrun-0", "data-pyrun-boot") == "cold"
        assert output(page, "pyrun-0").strip() == "42"
        assert any("did not finish within" in line for line in console), console
        wait_stored(page, after=entries[key]["created"])


def test_pointing_at_run_starts_a_returning_readers_python(
    browser: Any, snapshot_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    """A returning reader's hover on Run starts the restore, so it overlaps the move to the click;
    a first visitor's hover starts nothing (it would download the runtime)."""
    with visiting(browser, snapshot_site) as (context, url, console):
        page = context.new_page()
        open_page(page, url + "index.html")
        page.hover("#pyrun-0 .pyrun-run")
        page.wait_for_timeout(1000)
        assert page.evaluate("() => window.__pyrun.workers") == 0
        page.close()
        ran_here_before(context, url, stored_snapshot)
        console.clear()

        second = context.new_page()
        open_page(second, url + "index.html")
        second.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
        assert second.evaluate("() => window.__pyrun.workers") == 0
        second.hover("#pyrun-0 .pyrun-run")
        second.wait_for_function(
            "() => document.querySelector('#pyrun-0').dataset.pyrunBoot === undefined"
            " && window.__pyrun.workers === 1",
            timeout=30_000,
        )
        _wait_restored(second, console, 1)  # started before any click
        assert click_run(second, "pyrun-0")["ok"]
        assert output(second, "pyrun-0").strip() == "42"
        assert second.get_attribute("#pyrun-0", "data-pyrun-boot") == "snapshot"
        assert second.evaluate("() => window.__pyrun.workers") == 1  # the same worker ran it


def test_a_transcript_pages_snapshot_has_doctest_imported(
    browser: Any, tmp_path: Path, runtime_cache: Path
) -> None:
    """doctest judges every ``>>>`` transcript and takes ~0.6 s to import in Pyodide: a cold
    Python on a page with transcripts imports it before its snapshot is made, so a returning
    reader's first transcript Run does not import it again (it did, after every restore)."""
    source = SOURCE + (
        "\n.. pyrun::\n\n   >>> 1 + 1\n   2\n\n"
        ".. pyrun::\n\n   import sys\n   print('doctest' in sys.modules)\n"
    )
    site = _build(tmp_path, 'pyrun_preload = "none"', source)
    with visiting(browser, site) as (context, url, _console):
        page, boot = visit(context, url, "pyrun-3")  # the transcript, on a cold Python
        assert boot == "cold"
        assert output(page, "pyrun-3").strip() == ">>> 1 + 1\n2"
        wait_stored(page)
        second, boot = visit(context, url, "pyrun-4")  # a returning reader, nothing run yet
        assert boot == "snapshot"
        assert output(second, "pyrun-4").strip() == "True"


def test_snapshot_off_never_stores(browser: Any, tmp_path: Path, runtime_cache: Path) -> None:
    site = _build(tmp_path, 'pyrun_snapshot = "off"')
    with visiting(browser, site) as (context, url, _console):
        page, boot = visit(context, url)
        assert boot == "cold"
        click_run(page, "pyrun-2")
        assert output(page, "pyrun-2").strip() == "http:"
        ran = time.monotonic()
        _second, boot = visit(context, url)
        assert boot == "cold"
        # the first visit's store would be there by now: 4 s is longer than the deferred store
        # waits (the second visit's cold boot has taken most of it)
        page.wait_for_timeout(max(0.0, 4 - (time.monotonic() - ran)) * 1000)
        assert page.evaluate(ENTRIES) == {}


def test_site_snapshot_restores_a_first_visit(
    browser: Any, tmp_path: Path, runtime_cache: Path
) -> None:
    """``snapshot = "site"``: the build ships one (gzip), so even a first visit restores."""
    import json

    from pyrun_docs.assets import asset_version
    from pyrun_docs.runtime import get_pin

    site = _build(tmp_path, 'pyrun_snapshot = "site"')
    pin = get_pin("pyodide")
    folder = site / "_static" / "pyrun"
    manifest = json.loads((folder / "pyrun-snapshot.json").read_text())
    assert manifest["buildId"] == pin.build_id
    assert manifest["assetVersion"] == asset_version()
    shipped = folder / manifest["file"]
    assert shipped.stat().st_size == manifest["gzipSize"] < 10_000_000  # about 6 MB
    with visiting(browser, site) as (context, url, console):
        page, boot = visit(context, url)
        assert boot == "snapshot", console
        click_run(page, "pyrun-2")
        assert output(page, "pyrun-2").strip() == "http:"
        entries = wait_stored(page)  # kept in the browser too
        assert [e["sha256"] for e in entries.values()] == [manifest["sha256"]]
        numbers = []
        for _ in range(2):
            again, boot = visit(context, url, "pyrun-1")
            assert boot == "snapshot"
            numbers.append(output(again, "pyrun-1"))
        assert numbers[0] != numbers[1]

    # a damaged shipped snapshot: a cold boot, a console message, never a broken widget
    data = bytearray(shipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shipped.write_bytes(bytes(data))
    with visiting(browser, site) as (context, url, console):
        _page, boot = visit(context, url)
        assert boot == "cold"
        assert any("site's memory snapshot is not used" in line for line in console), console


def test_service_worker_deletes_snapshots_with_their_idle_runtime(
    browser: Any, snapshot_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    """Snapshots go with their runtime version's cache (30 days unused), never another's. (This
    version's snapshot is there too, so the Run that registers the worker restores Python.)"""
    old, recent = "pyrun-runtime-pyodide-0.26.0", "pyrun-runtime-pyodide-313.0.0"
    with visiting(browser, snapshot_site) as (context, url, _console):
        page = context.new_page()
        open_page(page, url + "index.html", stored_snapshot)
        page.evaluate(
            """async ([old, recent]) => {
              const day = 86400000;
              const meta = await caches.open("pyrun-meta");
              for (const [name, age] of [[recent, 2 * day], [old, 45 * day]]) {
                await meta.put(`/__pyrun__/${name}`,
                  new Response(JSON.stringify({lastUsed: Date.now() - age})));
              }
            """
            + OPEN_DB
            + """
              await new Promise((ok, fail) => {
                const tx = db.transaction("snapshots", "readwrite");
                for (const name of [old, recent]) {
                  const bytes = new Uint8Array(8);
                  tx.objectStore("snapshots").put(
                    {bytes, size: 8, sha256: "x", buildId: "b", created: 1}, `${name}/b/a`);
                }
                tx.oncomplete = ok;
                tx.onerror = () => fail(tx.error);
              });
              db.close();
            }""",
            [old, recent],
        )
        assert click_run(page, "pyrun-0")["ok"]  # registers the service worker: it cleans up
        deadline = time.monotonic() + 30
        keys: list[str] = []
        while time.monotonic() < deadline:
            keys = list(page.evaluate(ENTRIES))
            if not any(k.startswith(old) for k in keys):
                break
            page.wait_for_timeout(250)
        assert not any(k.startswith(old) for k in keys), keys
        assert any(k.startswith(recent) for k in keys), keys
        assert stored_snapshot.key in keys, keys


#: runs before the page's scripts: the page reports itself hidden (a background tab) until
#: ``window.__setVisibility("visible")``, and the device *memory* GB (``navigator.deviceMemory``)
BACKGROUND_TAB = """([hidden, memory]) => {
  let state = hidden ? "hidden" : "visible";
  Object.defineProperty(document, "visibilityState", { get: () => state, configurable: true });
  Object.defineProperty(document, "hidden", { get: () => state === "hidden", configurable: true });
  window.__setVisibility = (next) => {
    state = next;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  if (memory) Object.defineProperty(Navigator.prototype, "deviceMemory", { get: () => memory });
}"""


def _open_as(context: Any, url: str, *, hidden: bool = False, memory: int = 0) -> Any:
    """Open the page as a background tab (*hidden*) and/or on a device with *memory* GB."""
    page = context.new_page()
    page.add_init_script(f"({BACKGROUND_TAB})([{str(hidden).lower()}, {memory}])")
    open_page(page, url + "index.html")
    return page


def test_returning_readers_python_starts_once_a_widget_is_on_screen(
    browser: Any, default_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    """preload = "returning" (the default): a first visit starts nothing before Run; on a
    returning visit Python is restored as soon as the page shows a widget and is idle, and the
    click runs in that worker."""
    with visiting(browser, default_site) as (context, url, console):
        page = context.new_page()
        open_page(page, url + "index.html")
        page.wait_for_timeout(1500)
        assert page.evaluate("() => window.__pyrun.workers") == 0, "a first visit starts nothing"
        page.close()
        ran_here_before(context, url, stored_snapshot)
        console.clear()

        second = context.new_page()
        open_page(second, url + "index.html")
        _wait_restored(second, console, 1)  # no hover, no click
        assert second.evaluate("() => window.__pyrun.workers") == 1
        assert second.get_attribute("#pyrun-0", "data-pyrun-boot") is None
        assert click_run(second, "pyrun-0")["ok"]
        assert output(second, "pyrun-0").strip() == "42"
        assert second.get_attribute("#pyrun-0", "data-pyrun-boot") == "snapshot"
        assert second.evaluate("() => window.__pyrun.workers") == 1


def test_background_tabs_and_small_devices_start_nothing_on_view(
    browser: Any, default_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    """A returning reader's tab opened in the background restores Python only once it is shown;
    a device reporting 2 GB of memory waits for the reader's pointer on Run."""
    with visiting(browser, default_site) as (context, url, console):
        ran_here_before(context, url, stored_snapshot)
        console.clear()
        hidden = _open_as(context, url, hidden=True)
        hidden.wait_for_timeout(2000)
        assert hidden.evaluate("() => window.__pyrun.workers") == 0, "a hidden tab starts nothing"
        hidden.evaluate("() => window.__setVisibility('visible')")
        _wait_restored(hidden, console, 1)
        assert hidden.evaluate("() => window.__pyrun.workers") == 1
        hidden.close()

        small = _open_as(context, url, memory=2)
        small.wait_for_timeout(2000)
        assert small.evaluate("() => window.__pyrun.workers") == 0, "2 GB: nothing on view"
        small.hover("#pyrun-0 .pyrun-run")
        _wait_restored(small, console, 2)
        assert click_run(small, "pyrun-0")["ok"]
        assert small.get_attribute("#pyrun-0", "data-pyrun-boot") == "snapshot"


def test_unused_python_is_ended_when_the_page_stays_hidden(
    browser: Any, snapshot_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    """Python started on the reader's intent but never used is ended once the page has been
    hidden for `releaseHidden` seconds (120 by default; 1 here); a Python that ran code is kept."""
    with visiting(browser, snapshot_site) as (context, url, console):
        ran_here_before(context, url, stored_snapshot)
        console.clear()
        page = _open_as(context, url)
        set_page_config(page, releaseHidden=1)
        page.hover("#pyrun-0 .pyrun-run")
        _wait_restored(page, console, 1)
        page.evaluate("() => window.__setVisibility('hidden')")
        deadline = time.monotonic() + 10
        ended = lambda: [line for line in console if "was ended to free memory" in line]  # noqa: E731
        while not ended() and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert len(ended()) == 1, console

        page.evaluate("() => window.__setVisibility('visible')")
        page.mouse.move(0, 0)
        page.hover("#pyrun-0 .pyrun-run")  # started again on the next hover
        _wait_restored(page, console, 2)
        assert page.evaluate("() => window.__pyrun.workers") == 2
        assert click_run(page, "pyrun-0")["ok"]
        assert page.get_attribute("#pyrun-0", "data-pyrun-boot") == "snapshot"
        page.evaluate("() => window.__setVisibility('hidden')")
        page.wait_for_timeout(2500)
        assert len(ended()) == 1, "a Python that ran code is kept"
        page.evaluate("() => window.__setVisibility('visible')")
        assert click_run(page, "pyrun-1")["ok"]
        assert page.evaluate("() => window.__pyrun.workers") == 2


def test_storage_that_never_answers_does_not_hold_python_back(
    browser: Any, snapshot_site: Path, stored_snapshot: StoredSnapshot
) -> None:
    """The page reads the stored snapshot for the worker; if IndexedDB never answers there, Python
    starts normally after `snapshotReadTimeout` seconds (5 by default; 1 here)."""
    with visiting(browser, snapshot_site) as (context, url, console):
        remembered(context, url, stored_snapshot)
        page = context.new_page()
        # a request object whose events never fire, in the page only (the worker's storage works)
        page.add_init_script("IDBFactory.prototype.open = function () { return {}; };")
        open_page(page, url + "index.html")
        set_page_config(page, snapshotReadTimeout=1)
        result = click_run(page, "pyrun-0")
        assert result["ok"], result
        assert output(page, "pyrun-0").strip() == "42"
        assert page.get_attribute("#pyrun-0", "data-pyrun-boot") == "cold"
        assert any("was not read within 1 s" in line for line in console), console
