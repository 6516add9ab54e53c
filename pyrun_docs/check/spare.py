"""A harness started before the check is asked for, so its start is not on the check's path.

A check's first process pays about a second before its first page: Node starts, the interpreter's
snapshot is read and restored, and V8 compiles the interpreter's hot code on first use (kept per
process, never on disk). A docs build reads every page before it knows what to check, which on a
machine with a second core leaves time for exactly that. :func:`prestart` (called by the Sphinx
adapter when the builder starts, by MkDocs before it builds and by the CLI before it reads the
sources) starts one harness in the background, restores an interpreter from the base snapshot and
runs a snippet and a transcript in it, then drops that interpreter (no page ever sees it). The pool's
first process adopts it (:func:`adopt`) with a second ``init`` that adds the site's packages; a
spare that is not adopted (nothing to run, other settings) is stopped.

Best effort by design: anything missing (Node, a cached runtime, a verified snapshot) means no
spare, and the check starts its processes as before.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from pathlib import Path
from typing import Any

from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import PyrunError

from .harness import HARNESS_PATH, Harness, HarnessDied

#: environment variable: ``0`` starts no spare harness
PRESTART_ENV = "PYRUN_DOCS_CHECK_PRESTART"
#: seconds a spare may take to start and warm up
WARM_TIMEOUT = 60.0

_lock = threading.Lock()
#: (what it was started with, the harness) once warm
_spare: tuple[str, Harness] | None = None
_starting: threading.Thread | None = None
#: the harness being started and warmed (so :func:`discard` can stop it at once)
_warming: Harness | None = None


def idle_core(processes: int) -> bool:
    """Whether the machine seems to have a core nobody uses (the 1-minute load average, less
    what this check's *processes* and this process add, under the core count): on a machine
    busy with other work another process only adds its start."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not measurable here: assume there is one
        return True
    return load - processes < (os.cpu_count() or 1) - 1


def _key(init: dict[str, Any], snapshot: str) -> str:
    """What a spare must share with the check that adopts it (everything but the packages)."""
    return json.dumps({**{k: v for k, v in init.items() if k != "install"}, "snap": snapshot})


def prestart(config: PyrunConfig, cache_dir: Path | str | None = None) -> None:
    """Start a spare harness in the background (returns at once; see the module docstring).

    Only when it cannot slow anything down: Pyodide is the site's runtime, the runtime is already
    in the cache (nothing is downloaded here), a verified snapshot exists, and the machine has a
    second core nobody else is using (an unchanged tree never needs the spare).
    """
    global _starting
    if os.environ.get(PRESTART_ENV, "1").strip().lower() in ("0", "no", "off"):
        return
    if config.runtime != "pyodide" or (os.cpu_count() or 1) < 2 or not idle_core(0):
        return
    with _lock:
        if _starting is not None or _spare is not None:
            return
        _starting = threading.Thread(
            target=_start, args=(config, cache_dir), name="pyrun-check-prestart", daemon=True
        )
        _starting.start()


def _start(config: PyrunConfig, cache_dir: Path | str | None) -> None:
    try:
        _warm_one(config, cache_dir)
    except Exception:  # best effort, on a thread: the check starts its own harness instead
        return


def _warm_one(config: PyrunConfig, cache_dir: Path | str | None) -> None:
    global _spare, _warming
    from .api import default_cache_dir, harness_settings

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        settings = harness_settings(config, folder, offline=True)
    except PyrunError:
        return  # no Node.js or no cached runtime: the check itself says so
    snapshot = settings.snapshots.verified_path()
    if snapshot is None:
        return
    with _lock:
        if _starting is None:  # discarded before it started
            return
        try:
            harness = _warming = Harness(settings.node, HARNESS_PATH)
        except OSError:
            return
    try:
        harness.send({"op": "init", **settings.init, "snapshot": snapshot})
        ready = harness.event(WARM_TIMEOUT)
        harness.send({"op": "warm"})
        warmed = harness.event(WARM_TIMEOUT)
    except HarnessDied:
        harness.kill()
        return
    with _lock:
        _warming = None
        if _starting is None or not (
            ready and ready.get("ev") == "ready" and warmed and warmed.get("ev") == "warmed"
        ):
            harness.kill()  # discarded meanwhile, or it did not warm up
            return
        _spare = (_key(settings.init, snapshot), harness)


def adopt(init: dict[str, Any], snapshot: str | None) -> Harness | None:
    """The spare harness, if one was started with these settings (waiting for it to finish
    warming up); a spare with other settings is stopped. ``None``: start a new harness."""
    global _spare, _starting
    with _lock:
        starting = _starting
    if starting is not None:
        starting.join(WARM_TIMEOUT)
    with _lock:
        spare, _spare, _starting = _spare, None, None
    if spare is None:
        return None
    key, harness = spare
    if snapshot is None or key != _key(init, snapshot) or harness.proc.poll() is not None:
        harness.kill()
        return None
    return harness


def discard() -> None:
    """Stop a spare nobody adopted (the check had nothing to run), at once: an unchanged tree must
    not wait for a warm-up it does not need."""
    global _spare, _starting, _warming
    with _lock:
        spare, _spare = _spare, None
        warming, _warming = _warming, None
        _starting = None
    for harness in (spare[1] if spare else None, warming):
        if harness is not None:
            harness.kill()


atexit.register(discard)
