"""The ``pyrun-docs`` command's first lines: for ``pyrun-docs check``, the Node.js process the
check's first harness runs in is started, and told to start restoring the interpreter, before
anything else is imported.

Why: a cold check waits for that process (Node starts, ~70 ms, reads its ``init``, then restores
the interpreter, ~0.2 s), and the command's imports and settings before the check could send that
``init`` took ~100-130 ms. What to start, and the ``init`` to send it at once, come from the last
check run in the same folder with the same cache (:func:`remember`, called by
:mod:`.check.spare` with the ``init`` it sent); the spare adopts the process when it would start
the same command line (:func:`take`), and keeps it when it would send the same ``init`` (the same
settings and snapshot files, which it verifies as before: another ``init`` means another
process). 24-page tree, 40 interleaved pairs: 0.838 -> 0.763 s. Best effort: without a record,
with ``PYRUN_DOCS_CHECK_PRESTART=0`` or when anything fails, nothing is started here; a process
nobody took is stopped when the command ends.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
from typing import Any

from .cache_home import cache_home

#: environment variable: ``0`` starts no harness ahead of the check (nor a spare)
PRESTART_ENV = "PYRUN_DOCS_CHECK_PRESTART"
_RECORD = "first-harness.json"

#: records kept: one per folder checked in lately
_RECORDS = 16

#: the command line started, the ``init`` sent to it, and its process, until :func:`take`
_started: tuple[list[str], dict[str, Any] | None, subprocess.Popen[bytes]] | None = None
#: what names this command's record: the folder it runs in and its ``--cache-dir`` (a site's own
#: settings are known only later; two sites checked in turn each find their own; not all its
#: arguments, which may name a new report file every time); ``None``: not ``pyrun-docs check``
_command: str | None = None


def run() -> None:
    """The console script (``pyrun-docs``) and ``python -m pyrun_docs``."""
    global _command
    if sys.argv[1:2] == ["check"]:
        _command = json.dumps([os.getcwd(), _cache_dir_argument(sys.argv[2:])])
        start()
    from .cli import run as command

    command()


def _cache_dir_argument(args: list[str]) -> str:
    """The ``--cache-dir`` given (the snapshots the ``init`` names live there), else ``""``."""
    for number, arg in enumerate(args):
        if arg == "--cache-dir" and number + 1 < len(args):
            return args[number + 1]
        if arg.startswith("--cache-dir="):
            return arg.partition("=")[2]
    return ""


def prestart_allowed() -> bool:
    """Whether harnesses may be started before the check asks for them."""
    return os.environ.get(PRESTART_ENV, "1").strip().lower() not in ("0", "no", "off")


def _record_path() -> str:
    return os.path.join(cache_home(), _RECORD)


def start() -> None:
    """Start the harness command line the last check started (see the module docstring)."""
    global _started
    if _started is not None or not prestart_allowed() or (os.cpu_count() or 1) < 2:
        return
    try:
        with open(_record_path(), encoding="utf-8") as handle:
            record = json.load(handle)[_command]
        argv = [str(part) for part in record["argv"]]
        env = dict(os.environ)
        for name, value in dict(record["env"]).items():
            env.setdefault(str(name), str(value))
        init = record.get("init")
        init = dict(init) if isinstance(init, dict) and init.get("op") == "init" else None
        pipe = subprocess.PIPE
        process = subprocess.Popen(argv, env=env, stdin=pipe, stdout=pipe, stderr=pipe)
    except (OSError, ValueError, KeyError, TypeError):  # no record, a damaged one, no such Node
        return
    _started = (argv, init, process)
    atexit.register(stop)
    if init is not None and process.stdin is not None:
        try:
            process.stdin.write(json.dumps(init).encode("utf-8") + b"\n")
            process.stdin.flush()
        except OSError:  # it ended already: the spare starts its own
            stop()


def take(argv: list[str]) -> tuple[subprocess.Popen[bytes], dict[str, Any] | None] | None:
    """The process started for *argv*, still running, for the caller to own, with the ``init``
    already sent to it (``None``: none); one started for another command line is stopped
    (``None``: start one)."""
    global _started
    found, _started = _started, None
    if found is None:
        return None
    if found[0] == argv and found[2].poll() is None:
        return found[2], found[1]
    _kill(found[2])
    return None


def remember(argv: list[str], env: dict[str, str], init: dict[str, Any]) -> None:
    """Note the command line (and the environment it adds) a check started its first harness
    with, and the ``init`` it sent."""
    if _command is None:
        return
    from pathlib import Path

    from .files import keep_record

    record = {"argv": argv, "env": env, "init": init}
    keep_record(Path(_record_path()), _command, record, limit=_RECORDS)


def stop() -> None:
    """Stop the process started here, if nobody took it."""
    global _started
    found, _started = _started, None
    if found is not None:
        _kill(found[2])


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        process.kill()
        process.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        pass
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
