"""The memory snapshot a site ships (``snapshot = "site"``), so even a first visit restores Python.

The docs build boots the pinned Pyodide under Node.js exactly as the browser worker does (same
``loadPyodide`` options, the executor imported, nothing else run), snapshots it and writes it into
the site's ``pyrun/`` folder, gzip-compressed (31.5 MB -> about 6 MB; brotli would be about 4.9 MB
but browsers can only decompress gzip themselves), beside ``pyrun-snapshot.json``, which names the
file, the runtime build and the asset version it belongs to, and the SHA-256 of the uncompressed
bytes. The worker (``pyrun-snapshot.js``) uses it when the reader's browser has no snapshot of its
own yet, checks all of that, and stores the restored bytes like its own snapshot. Anything wrong
falls back to the ``browser`` behaviour.

Snapshots are made once per runtime build and pyrun-docs asset version and kept in the user cache
(``~/.cache/pyrun-docs/site-snapshots/``); a rebuild copies the cached one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .assets import asset_version, executor_path
from .config import PyrunConfig
from .errors import PyrunError
from .fetch import cache_root, ensure_runtime
from .node import find_node
from .runtime import RuntimePin, load_pins

MANIFEST_NAME = "pyrun-snapshot.json"
SCRIPT = Path(__file__).with_name("site_snapshot.mjs")
KEEP = 3


def snapshot_name(pin: RuntimePin) -> str:
    return f"pyrun-snapshot-{pin.build_id[:16]}-{asset_version()}.bin.gz"


def _cached(path: Path, meta_path: Path) -> dict[str, Any] | None:
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        data = path.read_bytes()
    except (OSError, ValueError):
        return None
    if hashlib.sha256(data).hexdigest() != meta.get("gzipSha256"):
        return None
    return meta


def make_snapshot(pin: RuntimePin, *, timeout: float = 600) -> tuple[Path, dict[str, Any]]:
    """The snapshot file for *pin* and this pyrun-docs (made with Node.js when not cached).

    Raises:
        PyrunError: no Node.js, or the runtime did not boot or snapshot (the message says why).
    """
    folder = cache_root() / "site-snapshots"
    name = snapshot_name(pin)
    path, meta_path = folder / name, folder / f"{name}.json"
    meta = _cached(path, meta_path)
    if meta is not None:
        return path, meta
    runtime = ensure_runtime(pin)
    node = find_node()
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [node.path, str(SCRIPT), f"{runtime}/", str(executor_path()), str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PyrunError(f"making the site's memory snapshot took over {timeout:g} s") from exc
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise PyrunError(f"making the site's memory snapshot failed: {' '.join(tail)}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    meta = {
        "file": name,
        "runtime": pin.name,
        "version": pin.version,
        "buildId": pin.build_id,
        "assetVersion": asset_version(),
        "size": int(info["size"]),
        "sha256": str(info["sha256"]),
        "gzipSize": int(info["gzipSize"]),
        "gzipSha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    _trim(folder)
    return path, meta


def _trim(folder: Path) -> None:
    snaps = sorted(folder.glob("*.bin.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in snaps[KEEP:]:
        for path in (old, old.with_name(old.name + ".json")):
            path.unlink(missing_ok=True)


def write_site_snapshot(site_dir: Path, pin: RuntimePin) -> Path:
    """Put the snapshot and ``pyrun-snapshot.json`` into the site's ``pyrun/`` folder.

    Raises:
        PyrunError: it could not be made (the site then works as with ``snapshot = "browser"``).
    """
    path, meta = make_snapshot(pin)
    site_dir.mkdir(parents=True, exist_ok=True)
    dest = site_dir / path.name
    if not (dest.is_file() and dest.stat().st_size == path.stat().st_size):
        shutil.copyfile(path, dest)
    for old in site_dir.glob("pyrun-snapshot-*.bin.gz"):
        if old != dest:
            old.unlink(missing_ok=True)
    public = {k: v for k, v in meta.items() if k != "gzipSha256"}
    (site_dir / MANIFEST_NAME).write_text(json.dumps(public, indent=1) + "\n", encoding="utf-8")
    return dest


def add_site_snapshot(site_dir: Path, config: PyrunConfig, runtimes: set[str]) -> str | None:
    """With ``snapshot = "site"`` and Pyodide on some page, ship the snapshot in *site_dir*.

    Returns:
        A warning for the author when it could not be made (the site still works: readers'
        browsers then make their own snapshot), else ``None``.
    """
    if config.snapshot != "site" or "pyodide" not in runtimes:
        return None
    try:
        write_site_snapshot(site_dir, load_pins()["pyodide"])
    except PyrunError as exc:
        return f"{exc.message}; readers' browsers make their own memory snapshot instead"
    return None
