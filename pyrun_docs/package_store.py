"""The verified package store below the check and the docs build: the pinned lock, the wheels.

What both the check (:mod:`pyrun_docs.check`) and the site's package resolution
(:mod:`pyrun_docs.packages`) stand on, so neither imports the other: the pinned Pyodide lock file
(:class:`PyodideLock`), what a snippet imports (:func:`snippet_imports`), the index of every
package the docs may load (:class:`PackageIndex`) and the folder of verified wheels the check's
harness loads them from (:class:`PackageStore`).

Pyodide in Node checks no hashes and, when a wheel is missing, downloads it from the CDN on its own
and writes it into ``node_modules`` (FIELD.md pitfalls 3 and 16). So the harness points Pyodide's
package base and cache at one folder of ours, and the store fills that folder beforehand: each
wheel is fetched from the configured CDN only if missing and kept only if its SHA-256 matches the
pinned runtime's lock file (itself verified against the pin). A missing wheel with no network is an
error for the snippets that need it, never a silent download.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from .errors import PyrunError
from .executor import imports_of
from .files import write_atomically
from .snippet import Snippet

if TYPE_CHECKING:
    from .packages import Resolution

WHEELS_DIR = "wheels"


@dataclass
class LockedPackage:
    """One wheel of the resolved set."""

    name: str  # canonical (``fixture-project``)
    version: str
    source: str  # "pyodide" | "pypi" | "project"
    file_name: str
    sha256: str
    depends: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    path: Path | None = None  # the verified local wheel (pypi/project)
    lock_name: str = ""  # the Pyodide lock's own name for it (pyodide)

    @property
    def url(self) -> str:
        """Where the site serves our wheel, relative to ``pyrun-lock.json``."""
        return f"{WHEELS_DIR}/{self.sha256[:16]}/{self.file_name}"

    @property
    def load_key(self) -> str:
        """The name Pyodide records in ``loadedPackages`` once this wheel is loaded."""
        if self.source == "pyodide":
            return self.lock_name or self.name
        return wheel_load_key(self.file_name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "depends": sorted(self.depends),
            "imports": sorted(self.imports),
            "key": self.load_key,
        }
        if self.source != "pyodide":
            out["url"] = self.url
        return out


def wheel_load_key(file_name: str) -> str:
    """Pyodide's ``loadedPackages`` key for a wheel loaded by URL (its file name's first part)."""
    return file_name.split("/")[-1].split("-")[0].lower()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the Pyodide side --------------------------------------------------------------------------


def pyodide_environment(lock_info: Mapping[str, Any]) -> dict[str, str]:
    """PEP 508 marker values for the pinned Pyodide (``sys_platform == "emscripten"``...)."""
    full = str(lock_info.get("python", "3.14.0"))
    short = ".".join(full.split(".")[:2])
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": "wasm32",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Emscripten",
        "platform_version": "",
        "python_full_version": full,
        "python_version": short,
        "sys_platform": "emscripten",
    }


#: standard-library modules that work only with a package's data: ``zoneinfo`` reads its time
#: zones from ``tzdata`` where the system has none (Pyodide: "you must do
#: pyodide.loadPackage('tzdata')"), so ``import zoneinfo`` loads it, in the check and the browser
DATA_FOR = {"zoneinfo": "tzdata"}


class PyodideLock:
    """The pinned ``pyodide-lock.json``: names, versions, ``depends`` and ``imports``."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.info: Mapping[str, Any] = data.get("info", {})
        self.packages: dict[str, Mapping[str, Any]] = {
            canonicalize_name(name): entry for name, entry in data["packages"].items()
        }
        self.by_import: dict[str, str] = {}
        for name in self.packages:
            for module in self.imports_of(name):
                self.by_import.setdefault(module, name)

    def imports_of(self, name: str) -> list[str]:
        """What importing loads *name*: its lock ``imports``, and the standard-library modules
        that need it (:data:`DATA_FOR`)."""
        own = [str(i) for i in self.packages[name].get("imports", ())]
        return own + [module for module, package in DATA_FOR.items() if package == name]

    @classmethod
    def from_path(cls, path: Path) -> PyodideLock:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @property
    def python_version(self) -> str:
        return pyodide_environment(self.info)["python_version"]

    def locked(self, name: str) -> LockedPackage:
        entry = self.packages[name]
        return LockedPackage(
            name=name,
            version=str(entry.get("version", "")),
            source="pyodide",
            file_name=str(entry["file_name"]),
            sha256=str(entry["sha256"]),
            depends=[canonicalize_name(d) for d in entry.get("depends", ())],
            imports=self.imports_of(name),
            lock_name=str(entry.get("name", name)),
        )


# --- wheels ------------------------------------------------------------------------------------


def is_pure_wheel(file_name: str) -> bool:
    """``*-none-any.whl`` built for Python 3 (``py3``, ``py2.py3``, ``py3x``)."""
    parts = file_name[:-4].split("-")
    if not file_name.endswith(".whl") or len(parts) < 5:
        return False
    python, abi, platform = parts[-3:]
    return (
        abi == "none" and platform == "any" and any(t.startswith("py3") for t in python.split("."))
    )


def lock_closure(packages: Mapping[str, Mapping[str, Any]], names: Iterable[str]) -> list[str]:
    """*names* (canonical) and everything they depend on, among lock-style *packages* entries."""
    seen: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in seen or name not in packages:
            continue
        seen.add(name)
        stack.extend(canonicalize_name(d) for d in packages[name].get("depends", ()))
    return sorted(seen)


# --- detection and the store -------------------------------------------------------------------


class PackageError(PyrunError):
    """A package a snippet needs cannot be provided from a verified wheel."""

    url: str | None = None  # the download that failed, if one did
    reason: str = ""


def normalize(name: str) -> str:
    """The lock file's key for a requirement (``Scikit_Learn>=1`` -> ``scikit-learn``)."""
    bare = re.split(r"[\[<>=!~ ;]", name.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", bare).lower()


def snippet_imports(snippet: Snippet) -> set[str]:
    """What a snippet imports: its code's imports, and the module its namespace copies (as
    the browser's worker finds them, with the same function)."""
    if snippet.skips_examples:  # doctest runs none of them (``:options: +SKIP``)
        return {snippet.options.module.split(".")[0]} if snippet.options.module else set()
    found = set(_imports_of(snippet.code, snippet.is_transcript))
    if snippet.options.module:
        found.add(snippet.options.module.split(".")[0])
    return found


def detect_imports(code: str) -> set[str]:
    """Top-level module names *code* imports (anywhere in it, like Pyodide's own detection)."""
    return set(_imports_of(code, False))


@functools.lru_cache(maxsize=8192)
def _imports_of(code: str, transcript: bool) -> frozenset[str]:
    """:func:`pyrun_docs.executor.imports_of`, parsed once per code (a check asks for each
    snippet three times: resolving the site's packages, planning its page and keying its
    result)."""
    return frozenset(imports_of(code, transcript))


class PackageIndex:
    """The pinned runtime's ``pyodide-lock.json``: which packages exist and what they import."""

    def __init__(self, lock: PyodideLock) -> None:
        # the lock is read once, by the resolver's own reader; this index adds our wheels to it
        self.lock = lock
        self.packages: dict[str, Mapping[str, Any]] = dict(lock.packages)
        self.by_import: dict[str, str] = dict(lock.by_import)
        #: loaded before every snippet (site-wide ``packages`` and the project)
        self.site: list[str] = []
        #: why the package index could not replace a wheel that cannot be downloaded, by name
        self.unreplaced: dict[str, str] = {}

    def add_resolved(self, resolution: Resolution) -> None:
        """Add the docs' resolved set: our own verified wheels (PyPI, the project) and the site set.

        Their entries carry ``path``, the verified local wheel the harness loads by path.
        """
        for name, pkg in resolution.packages.items():
            if pkg.source == "pyodide" or pkg.path is None:
                continue
            self.packages[name] = {**pkg.to_json(), "path": str(pkg.path)}
            for module in pkg.imports:
                self.by_import[module] = name
        self.site = list(resolution.site)
        self.unreplaced = dict(resolution.unreplaced)
        for module in resolution.unbuilt:  # the project's own, whose wheel could not be made:
            self.by_import.pop(module, None)  # not Pyodide's copy of another version

    def fingerprint(self, name: str) -> str:
        """*name* with the version and hash of a wheel of ours (cache keys change with it)."""
        entry = self.packages.get(name, {})
        if "path" not in entry:
            return name  # the pinned lock file (covered by the engine digest) fixes it
        return f"{name}=={entry.get('version')}#{str(entry.get('sha256'))[:16]}"

    @classmethod
    def from_lock(cls, path: Path) -> PackageIndex:
        return cls(PyodideLock.from_path(path))

    def needs(self, snippet: Snippet) -> tuple[list[str], list[str]]:
        """(packages to load for *snippet*, requested packages the runtime does not have)."""
        wanted: set[str] = set(self.site)
        unknown: list[str] = []
        for requirement in snippet.options.packages:
            name = normalize(requirement)
            if name in self.packages:
                wanted.add(name)
            else:
                unknown.append(requirement)
        for module in snippet_imports(snippet):
            if module in self.by_import:
                wanted.add(self.by_import[module])
        return sorted(wanted), unknown

    def closure(self, names: Iterable[str]) -> list[str]:
        """*names* and everything they depend on."""
        return lock_closure(self.packages, [normalize(n) for n in names])

    def chain(self, names: Iterable[str], target: str) -> list[str]:
        """How *target* is required by *names*: ``[target, its dependent, ..., one of names]``
        (shortest; ``[target]`` when it is one of them or not reached)."""
        target = normalize(target)
        came: dict[str, str | None] = {normalize(n): None for n in names}
        queue = list(came)
        while queue and target not in came:
            name = queue.pop(0)
            for dep in self.packages.get(name, {}).get("depends", ()):
                dep = canonicalize_name(dep)
                if dep not in came:
                    came[dep] = name
                    queue.append(dep)
        path = [target]
        while came.get(path[-1]) is not None:
            path.append(str(came[path[-1]]))
        return path

    def installable(self, names: Iterable[str]) -> list[str]:
        """The closure of *names* without the packages that are, or depend on, compiled wheels:
        what an interpreter snapshot can hold installed (shared libraries do not survive one)."""
        closure = self.closure(names)
        pure = {n for n in closure if is_pure_wheel(str(self.packages[n].get("file_name", "")))}
        return [n for n in closure if set(self.closure([n])) <= pure]


class PackageStore:
    """The verified wheel folder the harness loads packages from."""

    def __init__(self, folder: Path, index: PackageIndex, base_url: str) -> None:
        self.folder = folder
        self.index = index
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._verified: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self, names: Iterable[str]) -> list[str]:
        """Make sure the wheels of *names* (with dependencies) are present and verified.

        Returns:
            What to load (the closure): names from the pinned lock file, and the paths of our own
            verified wheels (PyPI packages, the project).

        Raises:
            PackageError: a wheel cannot be fetched or does not match the lock file.
        """
        closure = self.index.closure(names)
        with self._lock:
            for name in closure:
                self._ensure_one(self.index.packages[name])
        return [str(self.index.packages[n].get("path") or n) for n in closure]

    def fetch(self, name: str) -> None:
        """Make sure the wheel of *name* alone (not its dependencies) is present and verified.

        Raises:
            PackageError: as :meth:`ensure`; with ``url`` set when the download failed.
        """
        with self._lock:
            self._ensure_one(self.index.packages[name])

    def _ensure_one(self, entry: Mapping[str, Any]) -> None:
        if entry.get("path"):
            path = Path(str(entry["path"]))
            if str(path) in self._verified:
                return
            if path.is_file() and sha256_file(path) == entry["sha256"]:
                self._verified.add(str(path))  # once per check, not once per page
                return
            raise PackageError(
                f"hash mismatch for {entry['name']}: {path} no longer matches the SHA-256 "
                "recorded when it was resolved; refusing to load it"
            )
        file_name = str(entry["file_name"])
        if file_name in self._verified:
            return
        expected = str(entry["sha256"])
        path = self.folder / file_name
        if path.is_file() and sha256_file(path) == expected:
            self._verified.add(file_name)
            return
        url = self.base_url + file_name
        try:
            import urllib.request  # networking only when a wheel is downloaded

            with urllib.request.urlopen(url, timeout=120) as response:
                data: bytes = response.read()
        except OSError as exc:
            tried = self.index.unreplaced.get(normalize(str(entry["name"])))
            error = PackageError(
                f"package {entry['name']} is not in the verified package folder {self.folder} and "
                f"cannot be fetched from {url} ({exc}){f'; {tried}' if tried else ''}; run the "
                "check once with network access"
            )
            error.url, error.reason = url, str(exc)
            raise error from None
        if _sha256(data) != expected:
            raise PackageError(
                f"{url} does not match the pinned lock file's SHA-256 for {file_name}; "
                "refusing to load it"
            )
        write_atomically(path, data)
        self._verified.add(file_name)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
