"""Memory snapshots of a booted interpreter, so each page gets a fresh one in ~0.3 s, not ~3 s.

The harness boots Pyodide cold once, imports the executor, and saves the interpreter's memory
(a private Pyodide API, ``_makeSnapshot`` / ``_loadSnapshot``); every page then restores its own
interpreter from it and reseeds ``random``. What cannot be changed after a restore is the string hash
seed, shared by all restored interpreters (``hash("abc")``, set iteration order): documented in
``docs/check.rst``.

With site packages (the documented project's wheel and its dependencies), a second, *installed*
snapshot is made from the first: restored, the packages installed (not imported, so every page
still starts with the standard library's ``sys.modules``), snapshotted again, with the files the
installation wrote kept beside it (``.files``; a memory snapshot holds no files). A page then
starts with its packages in place instead of installing them (~0.3-0.7 s a page), and a page that
needs nothing else leaves its interpreter fit to hand on. It is keyed by the base snapshot and the
packages' hashes, so a changed project wheel makes a new one (~1 s) and never restores a stale one.

Snapshots are kept on disk, keyed by everything that shapes them (pin, executor, harness, Node
version), with a SHA-256 beside the bytes. Pyodide checks only a build id, and some damaged snapshots
load and then fail oddly or spin forever (FIELD.md), so we verify before use, the pool watches the
restore with a timeout, and any failure deletes the snapshot and boots cold. Only a few are kept.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from pyrun_docs.fetch import sha256_of

#: environment variable: ``0`` turns snapshots off (every page boots cold; slow, for debugging)
SNAPSHOT_ENV = "PYRUN_DOCS_CHECK_SNAPSHOT"
KEEP = 3
#: seconds a harness waits for another one that is making a snapshot before making its own
MAKER_WAIT = 180.0


class SnapshotStore:
    """One snapshot file for the current engine, shared by the harness processes of a check."""

    def __init__(
        self, folder: Path, key: str, *, enabled: bool | None = None, install_key: str = ""
    ) -> None:
        self.folder = folder
        self.path = folder / f"{key}.snap"
        #: the installed snapshot's file (``None``: no site packages to install)
        self.installed_path = folder / f"{key}-{install_key}.snap" if install_key else None
        if enabled is None:
            enabled = os.environ.get(SNAPSHOT_ENV, "1").strip().lower() not in ("0", "no", "off")
        self.enabled = enabled
        self.installed_enabled = enabled
        self._lock = threading.Condition()
        self._verified: bool | None = None
        self._installed_verified: bool | None = None
        self._making = False
        self.problems: list[str] = []

    @property
    def digest_path(self) -> Path:
        return _digest_path(self.path)

    def init_fields(self, wait: float = MAKER_WAIT) -> dict[str, str]:
        """What a new harness is told: restore from ``snapshot``, or make one at ``makeSnapshot``;
        with site packages also ``installed`` (restore) or ``makeInstalled`` (make).

        While another harness of this check makes a snapshot, this waits (up to *wait* seconds)
        and then restores it, rather than making the same one at the same time on a shared core.
        The caller must call :meth:`release` once its harness is ready or has failed.
        """
        if not self.enabled:
            return {}
        with self._lock:
            fields = self._fields()
            if any(k.startswith("make") for k in fields) and self._making:
                self._lock.wait_for(lambda: not self._making, timeout=wait)
                fields = self._fields()
            if any(k.startswith("make") for k in fields):
                self._making = True
        if fields.get("makeSnapshot") or fields.get("makeInstalled"):
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError:
                self.release()
                return {}
        return fields

    def _fields(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        if self.installed_path is not None and self.installed_enabled and not self._failed_before():
            if self._installed_verified is None:
                self._installed_verified = _verify(self.installed_path, 2)
            if self._installed_verified:  # all a harness restores: the base is not read
                return {"installed": str(self.installed_path)}
            fields["makeInstalled"] = str(self.installed_path)
        if self._verified is None:
            self._verified = _verify(self.path, 1)
        fields["snapshot" if self._verified else "makeSnapshot"] = str(self.path)
        return fields

    def verified_path(self) -> str | None:
        """The base snapshot's path when it exists and is verified (for a spare harness, which
        only restores and never makes one)."""
        if not self.enabled:
            return None
        with self._lock:
            if self._verified is None:
                self._verified = _verify(self.path, 1)
            return str(self.path) if self._verified else None

    def verified_installed_path(self) -> str | None:
        """The installed snapshot's path when it exists and is verified (for a spare harness)."""
        if not self.enabled or self.installed_path is None:
            return None
        with self._lock:
            if self._installed_verified is None:
                self._installed_verified = _verify(self.installed_path, 2)
            return str(self.installed_path) if self._installed_verified else None

    def release(self) -> None:
        """A harness told to make snapshots is ready (or failed): others may look again."""
        with self._lock:
            if self._making:
                self._making = False
                self._verified = None if self._verified is False else self._verified
                if self._installed_verified is False:
                    self._installed_verified = None
                self._lock.notify_all()

    def made(self) -> None:
        """A harness wrote a new snapshot; later harnesses verify and use it."""
        with self._lock:
            self._verified = None
            self._installed_verified = None
        self._trim()

    def discard(self, reason: str) -> None:
        """The snapshot failed: delete it and boot cold from now on in this check."""
        with self._lock:
            self.enabled = False
            self._verified = False
            self.problems.append(f"memory snapshot not used ({reason}); booted cold instead")
            _unlink(self.path, self.digest_path)
            self._lock.notify_all()

    def discard_installed(self, reason: str) -> None:
        """The installed snapshot failed: delete it; interpreters install the packages themselves.

        The failure is remembered beside it (``.failed``), so the next checks of the same engine
        and packages do not make it again (seconds each) only to see it fail the same way."""
        with self._lock:
            if not self.installed_enabled or self.installed_path is None:
                return
            self.installed_enabled = False
            self._installed_verified = False
            self.problems.append(
                f"memory snapshot with the site's packages not used ({reason}); each interpreter "
                "installs them instead"
            )
            path = self.installed_path
            _unlink(path, _digest_path(path), _files_path(path))
            if not _VANISHED.search(reason):
                # (its files gone, another check pruned them: made again next time, not a
                # failure to remember; a test run sharing the cache left every later check
                # without the snapshot, "restoring it failed before")
                try:
                    _failed_path(path).write_text(reason + "\n", encoding="utf-8")
                except OSError:
                    pass
            self._lock.notify_all()

    def _failed_before(self) -> bool:
        """Whether an installed snapshot of the same engine and packages failed to restore
        (:meth:`discard_installed`): then none is made, and the check says so once."""
        assert self.installed_path is not None
        try:
            reason = _failed_path(self.installed_path).read_text(encoding="utf-8").strip()
        except OSError:
            return False
        self.installed_enabled = False
        self.problems.append(
            f"memory snapshot with the site's packages not made: restoring it failed before "
            f"({reason}); each interpreter installs them instead (a new pyrun-docs or other "
            f"packages try again, or delete {_failed_path(self.installed_path)})"
        )
        return True

    def status(self, event: dict[str, Any]) -> tuple[bool, bool]:
        """Read a harness's ``ready`` event: (it booted cold to make the snapshot, pages are
        restored from a snapshot)."""
        state = str(event.get("snapshot", "off"))
        installed = str(event.get("installed", "off"))
        if state.startswith("failed"):
            self.discard(state)
        if installed.startswith("failed"):
            self.discard_installed(installed)
        if "made" in (state, installed):
            self.made()
        return state == "made", "made" in (state, installed) or "loaded" in (state, installed)

    def _trim(self) -> None:
        """Keep the :data:`KEEP` most recently used snapshots (other versions of the engine or of
        the site's packages; the ones in use stay)."""
        try:
            snaps = sorted(self.folder.glob("*.snap"), key=_last_used, reverse=True)
        except OSError:
            return
        for old in snaps[KEEP:]:
            if old in (self.path, self.installed_path):
                continue
            _unlink(old, _digest_path(old), _files_path(old))
        try:  # failures remembered for engines and packages long gone
            failed = sorted(self.folder.glob("*.snap.failed"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for old in failed[:-KEEP]:
            _unlink(old)


def _last_used(path: Path) -> float:
    """When a snapshot was last verified for use (its digest file's time), else written."""
    try:
        return _digest_path(path).stat().st_mtime
    except OSError:
        return path.stat().st_mtime


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


#: a restore that failed because the snapshot's files were deleted meanwhile (Node's words)
_VANISHED = re.compile(r"\bENOENT\b|no such file or directory", re.IGNORECASE)


def _failed_path(path: Path) -> Path:
    """Where an installed snapshot's failure to restore is remembered."""
    return path.with_name(path.name + ".failed")


def _files_path(path: Path) -> Path:
    """The installed files beside an installed snapshot (written by the harness)."""
    return path.with_name(path.name + ".files")


def _unlink(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass


def _verify(path: Path, parts: int) -> bool:
    """Whether *path* (and, for an installed snapshot, its ``.files``) match the SHA-256s beside
    them; a mismatch deletes them (the next harness makes them again). A file is hashed once per
    process while it stays unchanged (:func:`~pyrun_docs.fetch.sha256_of`)."""
    files = [path, _files_path(path)][:parts]
    try:
        expected = _digest_path(path).read_text(encoding="ascii").split()
        actual = [sha256_of(f) for f in files]
    except OSError:
        return False
    if expected != actual:
        _unlink(*files, _digest_path(path))
        return False
    try:
        # recently used: pruned last. The digest file is marked, not the snapshot, whose stamp
        # then stays what it was when it was hashed (:func:`~pyrun_docs.fetch.sha256_of`)
        os.utime(_digest_path(path))
    except OSError:
        pass
    return True
