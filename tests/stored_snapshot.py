"""A returning reader's memory snapshot, made once per test run, for browser tests that need a
Python but not a cold boot.

A cold Pyodide boot costs a browser test 4-8 s on a 2-core machine; a restore from the snapshot a
first visit stores (IndexedDB ``pyrun-snapshots``) costs about 1 s. The ``stored_snapshot``
fixture (conftest) makes that snapshot once, by a real first visit to the ``basic`` site (a cold
boot, checked), keeps its bytes in a file and serves them; ``StoredSnapshot.store_in`` puts the
record into a fresh context's storage, as that first visit left it. Entries are keyed by the
runtime build and the asset version only, so one snapshot fits every site the tests build.

The tests about making a snapshot (test_browser_snapshot.py) still make their own.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: JavaScript (in an async function) that opens the snapshots' database as ``db``
OPEN_DB = """\
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("pyrun-snapshots", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("snapshots");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
"""

#: the page's view of the stored snapshots: {key: {size, sha256, buildId, actual}}
ENTRIES = (
    """async () => {
"""
    + OPEN_DB
    + """  const tx = db.transaction("snapshots", "readonly");
  const store = tx.objectStore("snapshots");
  const keys = await new Promise((ok) => { const r = store.getAllKeys(); r.onsuccess = () => ok(r.result); });
  const out = {};
  for (const key of keys) {
    const rec = await new Promise((ok) => { const r = store.get(key); r.onsuccess = () => ok(r.result); });
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", rec.bytes));
    out[key] = {
      size: rec.size, length: rec.bytes.length, sha256: rec.sha256, buildId: rec.buildId,
      created: rec.created,
      actual: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
    };
  }
  db.close();
  return out;
}"""
)

#: the record stored under *key* without its bytes; the bytes go out as a download
EXPORT = (
    """async (key) => {
"""
    + OPEN_DB
    + """  const rec = await new Promise((ok) => {
    const r = db.transaction("snapshots", "readonly").objectStore("snapshots").get(key);
    r.onsuccess = () => ok(r.result);
  });
  db.close();
  const { bytes, ...fields } = rec;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([bytes]));
  link.download = "snapshot.bin";
  document.body.append(link);
  link.click();
  link.remove();
  return fields;
}"""
)

#: store the record [key, fields, URL of its bytes] as the page's runner would have
STORE = (
    """async ([key, fields, url]) => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
"""
    + OPEN_DB
    + """  await new Promise((ok, fail) => {
    const tx = db.transaction("snapshots", "readwrite");
    tx.objectStore("snapshots").put({ ...fields, bytes }, key);
    tx.oncomplete = ok;
    tx.onerror = () => fail(tx.error);
  });
  db.close();
}"""
)

BYTES = "snapshot.bin"
RECORD = "record.json"


def wait_stored(page: Any, after: float = 0, timeout: float = 30) -> dict[str, Any]:
    """Wait until a snapshot made after *after* (ms) with a matching SHA-256 is stored."""
    deadline = time.monotonic() + timeout
    while True:
        entries: dict[str, Any] = page.evaluate(ENTRIES)
        if any(e["sha256"] == e["actual"] and e["created"] > after for e in entries.values()):
            return entries
        assert time.monotonic() < deadline, f"no snapshot stored within {timeout} s: {entries}"
        page.wait_for_timeout(250)


def make_stored_snapshot(browser: Any, site: Path, folder: Path) -> None:
    """A real first visit to *site* (``basic``): a cold boot, then the snapshot it stores, kept
    in *folder* (its bytes and the rest of its record)."""
    from test_browser import click_run, open_page

    from pyrun_docs.serve import serve_in_thread

    url, server = serve_in_thread(site)
    context = browser.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        open_page(page, url + "index.html")
        result = click_run(page, "pyrun-0")
        assert result["ok"], result
        assert page.get_attribute("#pyrun-0", "data-pyrun-boot") == "cold"
        (key,) = wait_stored(page)
        with page.expect_download() as download:
            fields = page.evaluate(EXPORT, key)
        download.value.save_as(folder / BYTES)
    finally:
        context.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
    data = (folder / BYTES).read_bytes()
    assert len(data) == fields["size"] and hashlib.sha256(data).hexdigest() == fields["sha256"]
    (folder / RECORD).write_text(json.dumps({"key": key, "fields": fields}), encoding="utf-8")


class _OpenHandler(http.server.SimpleHTTPRequestHandler):
    """Files for pages on any origin (the test sites run on servers of their own)."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class StoredSnapshot:
    key: str
    #: the record's fields but its bytes (runtime, version, buildId, assetVersion, size, sha256..)
    fields: dict[str, Any]
    #: where a page fetches the bytes
    url: str

    def store_in(self, page: Any) -> None:
        """Store the snapshot in *page*'s origin, as a first visit to it would have: its next
        Python start restores it. Call it before that start."""
        page.evaluate(STORE, [self.key, self.fields, self.url])


@contextmanager
def serving_snapshot(folder: Path) -> Iterator[StoredSnapshot]:
    from test_browser import serving

    record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    with serving(folder, _OpenHandler) as url:
        yield StoredSnapshot(record["key"], record["fields"], url + BYTES)
