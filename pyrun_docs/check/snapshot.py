"""Memory snapshots of a booted interpreter, so each page gets a fresh one in ~0.3 s, not ~3 s.

The harness boots Pyodide cold once, imports the executor, and saves the interpreter's memory
(a private Pyodide API, ``_makeSnapshot`` / ``_loadSnapshot``); every page then restores its own
interpreter from it and reseeds ``random``. What cannot be changed after a restore is the string hash
seed, shared by all restored interpreters (``hash("abc")``, set iteration order): documented in
``docs/check.rst``.

Snapshots are kept on disk, keyed by everything that shapes them (pin, executor, harness, Node
version), with a SHA-256 beside the bytes. Pyodide checks only a build id, and some damaged snapshots
load and then fail oddly or spin forever (FIELD.md), so we verify before use, the pool watches the
restore with a timeout, and any failure deletes the snapshot and boots cold. Only a few are kept.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

#: environment variable: ``0`` turns snapshots off (every page boots cold; slow, for debugging)
SNAPSHOT_ENV = "PYRUN_DOCS_CHECK_SNAPSHOT"
KEEP = 3


class SnapshotStore:
    """One snapshot file for the current engine, shared by the harness processes of a check."""

    def __init__(self, folder: Path, key: str, *, enabled: bool | None = None) -> None:
        self.folder = folder
        self.path = folder / f"{key}.snap"
        if enabled is None:
            enabled = os.environ.get(SNAPSHOT_ENV, "1").strip().lower() not in ("0", "no", "off")
        self.enabled = enabled
        self._lock = threading.Lock()
        self._verified: bool | None = None
        self.problems: list[str] = []

    @property
    def digest_path(self) -> Path:
        return self.path.with_name(self.path.name + ".sha256")

    def init_fields(self) -> dict[str, str]:
        """What a new harness is told: restore from ``snapshot``, or make one at ``makeSnapshot``."""
        if not self.enabled:
            return {}
        with self._lock:
            if self._verified is None:
                self._verified = self._verify()
            if self._verified:
                return {"snapshot": str(self.path)}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return {}
        return {"makeSnapshot": str(self.path)}

    def made(self) -> None:
        """A harness wrote a new snapshot; later harnesses verify and use it."""
        with self._lock:
            self._verified = None
        self._trim()

    def discard(self, reason: str) -> None:
        """The snapshot failed: delete it and boot cold from now on in this check."""
        with self._lock:
            self.enabled = False
            self._verified = False
            self.problems.append(f"memory snapshot not used ({reason}); booted cold instead")
            for path in (self.path, self.digest_path):
                try:
                    path.unlink()
                except OSError:
                    pass

    def _verify(self) -> bool:
        try:
            expected = self.digest_path.read_text(encoding="ascii").strip()
            digest = hashlib.sha256()
            with self.path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return False
        if digest.hexdigest() != expected:
            for path in (self.path, self.digest_path):
                try:
                    path.unlink()
                except OSError:
                    pass
            return False
        try:
            os.utime(self.path)
        except OSError:
            pass
        return True

    def _trim(self) -> None:
        """Keep the :data:`KEEP` most recently used snapshots (other versions of the engine)."""
        try:
            snaps = sorted(
                self.folder.glob("*.snap"), key=lambda p: p.stat().st_mtime, reverse=True
            )
        except OSError:
            return
        for old in snaps[KEEP:]:
            if old == self.path:
                continue
            for path in (old, old.with_name(old.name + ".sha256")):
                try:
                    path.unlink()
                except OSError:
                    pass
