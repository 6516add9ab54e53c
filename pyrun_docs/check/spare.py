"""A harness started before the check is asked for, so its start is not on the check's path.

A check's first process pays about a second before its first page: Node starts, the interpreter's
snapshot is read and restored, and V8 compiles the interpreter's hot code on first use (kept per
process, never on disk). A docs build reads every page before it knows what to check, which on a
machine with a second core leaves time for exactly that. :func:`prestart` (called by the Sphinx
adapter when the builder starts, by MkDocs before it builds and by the CLI before it reads the
sources) starts a harness (or as many as ``--jobs``) in the background, restores an interpreter
from the base snapshot and runs a snippet and a transcript in it, then drops that interpreter (no
page ever sees it). The pool's
processes adopt them (:func:`adopt`) with a second ``init`` that adds the site's packages; a spare
that is not adopted (nothing to run, other settings, fewer processes) is stopped.

Best effort by design: anything missing (Node, a cached runtime, a verified snapshot) means no
spare, and the check starts its processes as before.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
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
#: bumped by :func:`discard`: a starter of an older generation stops what it started
_generation = 0
_starter: threading.Thread | None = None
#: (what it was started with, the harness), warm and waiting to be adopted
_spares: list[tuple[str, Harness]] = []
#: harnesses being started and warmed (so :func:`discard` can stop them at once)
_warming: list[Harness] = []


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


def prestart(config: PyrunConfig, cache_dir: Path | str | None = None, count: int = 1) -> None:
    """Start *count* spare harnesses in the background (returns at once; see the module
    docstring); the CLI asks for as many as ``--jobs`` when that is given.

    Only when it cannot slow anything down: Pyodide is the site's runtime, the runtime is already
    in the cache (nothing is downloaded here), a verified snapshot exists, and the machine has a
    second core nobody else is using (an unchanged tree never needs the spare).
    """
    global _starter
    if os.environ.get(PRESTART_ENV, "1").strip().lower() in ("0", "no", "off"):
        return
    if config.runtime != "pyodide" or (os.cpu_count() or 1) < 2 or not idle_core(0):
        return
    with _lock:
        if _starter is not None or _spares:
            return
        _starter = threading.Thread(
            target=_start,
            args=(config, cache_dir, max(1, min(count, os.cpu_count() or 1)), _generation),
            name="pyrun-check-prestart",
            daemon=True,
        )
        _starter.start()


def _start(config: PyrunConfig, cache_dir: Path | str | None, count: int, generation: int) -> None:
    try:
        _warm(config, cache_dir, count, generation)
    except Exception:  # best effort, on a thread: the check starts its own harnesses instead
        return


def _warm(config: PyrunConfig, cache_dir: Path | str | None, count: int, generation: int) -> None:
    """Start *count* harnesses together, warm them, and offer each as a spare once warm."""
    from .api import default_cache_dir, harness_settings

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        settings = harness_settings(config, folder, offline=True)
    except PyrunError:
        return  # no Node.js or no cached runtime: the check itself says so
    snapshot = settings.snapshots.verified_path()
    if snapshot is None:
        return
    started: list[Harness] = []
    with _lock:
        if generation != _generation:  # discarded before it started
            return
        for _ in range(count):
            try:
                started.append(Harness(settings.node, HARNESS_PATH))
            except OSError:
                break
        _warming.extend(started)
    key = _key(settings.init, snapshot)
    for harness in started:
        try:
            harness.send({"op": "init", **settings.init, "snapshot": snapshot})
        except HarnessDied:
            continue
    for harness in started:
        warm = False
        try:
            ready = harness.event(WARM_TIMEOUT)
            if ready and ready.get("ev") == "ready":
                harness.send({"op": "warm"})
                warmed = harness.event(WARM_TIMEOUT)
                warm = bool(warmed and warmed.get("ev") == "warmed")
        except HarnessDied:
            pass
        with _lock:
            if harness in _warming:
                _warming.remove(harness)
            if warm and generation == _generation:
                _spares.append((key, harness))
                continue
        harness.kill()  # discarded meanwhile, or it did not warm up


def adopt(init: dict[str, Any], snapshot: str | None) -> Harness | None:
    """A spare harness, if one was started with these settings (waiting for the spares still
    warming up); a spare with other settings is stopped. ``None``: start a new harness."""
    global _starter
    deadline = time.monotonic() + WARM_TIMEOUT
    while True:
        with _lock:
            if _spares:
                key, harness = _spares.pop(0)
                break
            starter = _starter
            if starter is None or not starter.is_alive():
                _starter = None  # all it started is adopted or gone
                return None
        if time.monotonic() > deadline:
            return None
        starter.join(0.05)
    if snapshot is None or key != _key(init, snapshot) or harness.proc.poll() is not None:
        harness.kill()
        return None
    return harness


def discard() -> None:
    """Stop the spares nobody adopted (the check had nothing to run, or fewer processes), at once:
    an unchanged tree must not wait for a warm-up it does not need."""
    global _generation, _starter
    with _lock:
        _generation += 1
        _starter = None
        stopping = [harness for _, harness in _spares] + list(_warming)
        _spares.clear()
        _warming.clear()
    for harness in stopping:
        harness.kill()


atexit.register(discard)
