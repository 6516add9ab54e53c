"""A harness started before the check is asked for, so its start is not on the check's path.

A check's first process pays about a second before its first page: Node starts, the interpreter's
snapshot is read and restored, and V8 compiles the interpreter's hot code on first use (kept per
process, never on disk). A docs build reads every page before it knows what to check, which on a
machine with a second core leaves time for exactly that. :func:`prestart` (called by the Sphinx
adapter when the builder starts, by MkDocs before it builds and by the CLI before it reads the
sources) starts a harness (or as many as ``--jobs``) in the background that restores the
interpreter the check's first page will use: from the installed snapshot of the packages this
site installed last time (:func:`remember_install`), else from the base snapshot. It runs a
snippet, a transcript and the site's imports in it, then puts it back to its restored state (as
between two pages). When the check already waits for it (the read was quicker than the spare's
start, e.g. a kept read), the warm-up is skipped: it would only delay the first page; when the
check starts waiting during the warm-up, the spare is told to ``hurry`` and ends it once its
interpreter is restored. The pool's
processes adopt them (:func:`adopt`) with a second ``init``; the first page gets that interpreter
when the check installs the same packages (else the harness drops it). A spare that is not
adopted (nothing to run, other settings, fewer processes) is stopped.

Best effort by design: anything missing (Node, a cached runtime, a verified snapshot) means no
spare, and the check starts its processes as before.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyrun_docs import launch
from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import PyrunError
from pyrun_docs.files import keep_record, read_json_object
from pyrun_docs.node import Node, find_node

from .harness import COMPILE_CACHE_ENV, HARNESS_PATH, Harness, HarnessDied, harness_env

PRESTART_ENV = launch.PRESTART_ENV
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
#: harnesses running their warm-up: a check that starts waiting tells them to hurry (skip what
#: is left of it once their interpreter is restored: its first page warms it; the command's
#: 24-page tree waited ~0.1 s for runs that only warmed V8 up)
_warming_up: list[Harness] = []
#: checks waiting in :func:`adopt`: a spare started while one waits is handed over unwarmed (its
#: first page restores the interpreter; a warm-up would only delay it)
_waiting = 0


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
    kept = {k: v for k, v in init.items() if k not in ("install", "installImports")}
    return json.dumps({**kept, "snap": snapshot})


def prestart(
    config: PyrunConfig,
    cache_dir: Path | str | None = None,
    count: int | None = None,
    *,
    base_dir: Path | None = None,
    certain: bool = False,
) -> bool:
    """Start *count* spare harnesses in the background (returns at once; see the module
    docstring); the CLI asks for as many as ``--jobs`` when that is given (``None``: one).
    Returns whether this call started them: a caller that did, and then has nothing to check,
    stops them (:func:`discard`); one that did not leaves alone the spares of whoever did.

    Only when it cannot slow anything down: Pyodide is the site's runtime, the runtime is already
    in the cache (nothing is downloaded here), a verified snapshot exists, and the machine has a
    second core nobody else is using (an unchanged tree never needs the spare), or the caller is
    *certain* that the check will run snippets (``--no-cache``, no stored results): the harness is
    started anyway then, and starting it early only moves its start off the check's path.

    The spare restores the interpreter the check's first page will use: with the packages this
    site installed last time (:func:`remember_install`; *base_dir* as given to ``run_check``), in
    which it also imports the site's modules while warming up.
    """
    global _starter
    if not launch.prestart_allowed():
        return False
    if config.runtime != "pyodide" or (os.cpu_count() or 1) < 2:
        return False
    if not certain and not idle_core(0):
        return False
    with _lock:
        # a starter that has ended (a command stopped before its check, on a usage error) does
        # not count: a later build in this process (``mkdocs serve``) starts a spare of its own
        if (_starter is not None and _starter.is_alive()) or _spares:
            return False
        _starter = threading.Thread(
            target=_best_effort,
            args=(functools.partial(_warm, config, cache_dir, count, _generation, base_dir),),
            name="pyrun-check-prestart",
            daemon=True,
        )
        _starter.start()
    return True


def _best_effort(task: Callable[[], None]) -> None:
    """*task* (:func:`_warm`) on the starter thread."""
    try:
        task()
    except Exception:  # best effort, on a thread: the check starts its own harnesses instead
        return


def site_id(config: PyrunConfig, base_dir: Path | None) -> str:
    """What names a site's installed packages between checks: its package settings, where a
    relative ``project`` is resolved from, and the folder the check runs in."""
    parts = [os.getcwd(), str(base_dir or ""), str(config.project), sorted(config.packages)]
    return json.dumps(parts)


def _records(folder: Path) -> Path:
    return folder / "snapshots" / "last-install.json"


def remember_install(
    folder: Path, site: str, install: list[str], install_key: str, imports: list[str]
) -> None:
    """Note what *site*'s interpreters have installed, for the next check's spare (a guess: the
    spare starts with it, and a check that installs something else restores its own)."""
    record = {"install": install, "key": install_key, "imports": imports}
    keep_record(_records(folder), site, record, limit=64)


def _remembered(folder: Path, site: str) -> dict[str, Any]:
    record = read_json_object(_records(folder)).get(site)
    return record if isinstance(record, dict) else {}


def _warm(
    config: PyrunConfig,
    cache_dir: Path | str | None,
    count: int | None,
    generation: int,
    base_dir: Path | None = None,
) -> None:
    """Start *count* harnesses together, warm them, and offer each as a spare once warm.

    Node is started first: the rest of the check (:mod:`.api`, ~70 ms) is imported after, while
    Node boots (and while the CLI imports it too)."""
    # one by default: two processes restoring at once on a 2-core machine took 2-3 times as
    # long each (measured on the benchmark's real-docs tree), more than sharing the pages saved
    count = max(1, min(count or 1, os.cpu_count() or 1))
    try:
        node = find_node()
    except PyrunError:
        return  # no Node.js: the check itself says so
    started: list[Harness] = []
    argv = [node.path, str(HARNESS_PATH)]
    with _lock:
        if generation != _generation:  # discarded before it started
            launch.stop()
            return
        early = launch.take(argv)  # started as the command began, maybe told to start already
        for number in range(count):
            try:
                started.append(
                    Harness(node, HARNESS_PATH, *(early if early and not number else ()))
                )
            except OSError:
                break
        _warming.extend(started)
    from .cache import default_cache_dir
    from .settings import harness_settings

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    last = _remembered(folder, site_id(config, base_dir))
    install = [str(spec) for spec in last.get("install") or []]
    # Node starts while the settings are made and the snapshot is verified (~50 ms)
    fields: dict[str, str] = {}
    try:
        settings = harness_settings(
            config, folder, offline=True, install=install, install_key=str(last.get("key") or "")
        )
    except PyrunError:
        settings = None  # no cached runtime: the check itself says so
    if settings is not None:
        # the installed snapshot is all a harness restores when there is one (the base may be gone)
        if (installed := settings.snapshots.verified_installed_path()) is not None:
            fields = {"installed": installed}
        elif (snapshot := settings.snapshots.verified_path()) is not None:
            fields = {"snapshot": snapshot}
            settings.init["install"] = []  # the check's own harness makes that snapshot
    if settings is None or not fields:
        for harness in started:
            _offer("", None, generation, harness)  # stopped
        return
    imports = [str(name) for name in last.get("imports") or []] if "installed" in fields else []
    key = _key(settings.init, str(settings.snapshots.path))
    init = {"op": "init", **settings.init, **fields}
    launch.remember(argv, {COMPILE_CACHE_ENV: harness_env()[COMPILE_CACHE_ENV]}, init)
    for number, harness in enumerate(started):
        if harness.presented is not None and harness.presented != init:
            # started with the last check's settings, not these: a process of our own instead
            started[number] = harness = _replace(harness, node)
        try:
            if harness.presented != init:  # (the same: answered with its "ready" already)
                harness.send(init)
        except HarnessDied:
            continue
    warming: list[Harness] = []
    for harness in started:
        try:
            ready = harness.event(WARM_TIMEOUT)
            if ready and ready.get("ev") == "ready":
                with _lock:
                    wanted = _waiting > len(_spares)
                if wanted:  # the check already waits: its first page restores the interpreter
                    _offer(key, harness, generation)
                    continue
                harness.send({"op": "warm", "imports": imports})
                warming.append(harness)
                with _lock:
                    _warming_up.append(harness)
                continue
        except HarnessDied:
            pass
        _offer(key, None, generation, harness)
    for harness in warming:
        warm = False
        try:
            warmed = harness.event(WARM_TIMEOUT)
            warm = bool(warmed and warmed.get("ev") == "warmed")
        except HarnessDied:
            pass
        with _lock:
            if harness in _warming_up:
                _warming_up.remove(harness)
        _offer(key, harness if warm else None, generation, harness)


def _replace(harness: Harness, node: Node) -> Harness:
    """A new harness in place of *harness* (stopped) among those warming."""
    harness.kill()
    fresh = Harness(node, HARNESS_PATH)
    with _lock:
        _warming[:] = [fresh if h is harness else h for h in _warming]
    return fresh


def _offer(
    key: str, harness: Harness | None, generation: int, failed: Harness | None = None
) -> None:
    """Make *harness* a spare (unless discarded meanwhile); stop *failed* (it did not start)."""
    with _lock:
        for started in (harness, failed):
            if started is not None and started in _warming:
                _warming.remove(started)
        if harness is not None and generation == _generation:
            _spares.append((key, harness))
            return
    stop = harness or failed
    if stop is not None:
        stop.kill()


def adopt(init: dict[str, Any], snapshot: str | None) -> Harness | None:
    """A spare harness, if one was started with these settings (waiting for the spares still
    warming up); a spare with other settings is stopped. ``None``: start a new harness."""
    global _starter, _waiting
    deadline = time.monotonic() + WARM_TIMEOUT
    with _lock:
        _waiting += 1
        hurry, _warming_up[:] = list(_warming_up), []
    for harness in hurry:
        try:
            harness.send({"op": "hurry"})
        except HarnessDied:
            pass
    try:
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
    finally:
        with _lock:
            _waiting -= 1
    if snapshot is None or key != _key(init, snapshot) or harness.proc.poll() is not None:
        harness.kill()
        return None
    return harness


def discard() -> None:
    """Stop the spares nobody adopted (the check had nothing to run, or fewer processes), at once:
    an unchanged tree must not wait for a warm-up it does not need."""
    global _generation, _starter
    launch.stop()  # started as the command began, and not taken yet
    with _lock:
        _generation += 1
        _starter = None
        stopping = [harness for _, harness in _spares] + list(_warming)
        _spares.clear()
        _warming.clear()
    for harness in stopping:
        harness.kill()


atexit.register(discard)
