"""Packages in examples: one resolved set for the site, the browser and the check.

What a snippet needs comes from three places: the site-wide ``packages`` setting (and the documented
project, ``project``), a snippet's ``packages`` option, and the snippet's ``import`` statements
(mapped through the pinned Pyodide lock file's ``imports``). :func:`resolve` turns all of it into a
:class:`Resolution` at docs build time:

* packages Pyodide ships (its ``pyodide-lock.json``) are taken from its lock, with their
  ``depends``; their wheels come from the CDN (``runtime_source = "cdn"``) or are copied into the
  site, verified against the lock's SHA-256 (:func:`write_site`);
* anything else must be a pure-Python wheel (``py3-none-any``) on the package index: the host's pip
  downloads it (honouring the user's pip configuration) for Pyodide's Python version, its
  ``Requires-Dist`` is followed the same way, every wheel's SHA-256 is recorded, and the result is
  cached in the user cache keyed by the requirements, so a second build resolves nothing;
* the project (``project = "."``, a project folder or a ``.whl``) is built with ``pip wheel`` and its
  dependencies are resolved like the rest.

The site gets ``pyrun/pyrun-lock.json`` (the resolved set) and ``pyrun/wheels/`` (our wheels); the
browser worker and the build check both load exactly what that lock names. Problems are
:class:`PackageProblem` values that name the snippet's ``file:line`` (or the setting), the package
and why; nothing here raises a traceback at an author.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .config import PyrunConfig
from .errors import PyrunError
from .fetch import cache_root, packages_dir
from .files import write_atomically
from .package_store import (
    DATA_FOR,
    LockedPackage,
    PackageError,
    PackageIndex,
    PackageStore,
    PyodideLock,
    is_pure_wheel,
    lock_closure,
    pyodide_environment,
    sha256_file,
    snippet_imports,
)
from .path_wheel import path_wheel
from .runtime import CHECKED_RUNTIME, RuntimePin
from .snippet import Snippet

LOCK_NAME = "pyrun-lock.json"
LOCK_FORMAT = 1
#: bump when the resolution cache's content changes shape
RESOLVE_FORMAT = 1


@dataclass(frozen=True)
class Request:
    """One requirement as written, and where (a snippet, or a setting)."""

    requirement: str
    origin: str  # "docs/page.rst:12", "pyrun_packages", "project fixture_project"
    snippet: Snippet | None = None


@dataclass(frozen=True)
class PackageProblem:
    """A package that cannot be provided, with where it was asked for and why."""

    message: str
    snippet: Snippet | None = None

    def __str__(self) -> str:
        return f"{self.snippet.location}: {self.message}" if self.snippet else self.message


# --- wheels ------------------------------------------------------------------------------------


def _wheel_member(path: str, top: str) -> str:
    """The wheel member a file of package *top* is (``src/mpmath/function_docs.py`` ->
    ``mpmath/function_docs.py``): its path from the last ``top/`` folder on."""
    parts = Path(path).as_posix().split("/")
    starts = [i for i, part in enumerate(parts[:-1]) if part == top]
    return "/".join(parts[starts[-1] :]) if starts else parts[-1]


def foreign_docstrings(
    resolution: Resolution, pages: Mapping[str, Sequence[Snippet]]
) -> list[PackageProblem]:
    """Docstring examples of the project read from another copy of it than its wheel runs.

    Why: autodoc documents whatever ``import`` finds in the docs build's Python. When that is an
    installed release rather than the source ``pyrun_project`` builds (``conf.py`` does not put
    the source on ``sys.path``), the examples shown, checked and reported at that copy's lines may
    not be the code readers run. A file counts when its module's top-level package is in the
    project's wheel; it is flagged when the wheel lacks that file (the same path from the
    package's folder on) or holds different bytes. The file is where the docstring is written,
    not its module's: mpmath assigns docstrings written in ``function_docs.py``
    (``f.__doc__ = function_docs.f``), and both those and a package's own docstring were flagged
    on every build. One problem per file, at its first example.
    """
    project = next((p for p in resolution.packages.values() if p.source == "project"), None)
    if project is None or project.path is None:
        return []
    wanted: dict[str, Snippet] = {}
    for snippets in pages.values():
        for snippet in snippets:
            module = snippet.options.module
            if module and snippet.path.endswith(".py") and snippet.path not in wanted:
                wanted[snippet.path] = snippet
    if not wanted:
        return []
    problems: list[PackageProblem] = []
    try:
        with zipfile.ZipFile(project.path) as wheel:
            members = set(wheel.namelist())
            tops = {name.split("/", 1)[0] for name in members}
            for snippet in wanted.values():
                module = str(snippet.options.module)
                top = module.split(".")[0]
                if top not in tops:
                    continue  # documents another library (a dependency, the standard library)
                member = _wheel_member(snippet.path, top)
                try:
                    same = member in members and Path(snippet.path).read_bytes() == wheel.read(
                        member
                    )
                except OSError:
                    continue
                if same:
                    continue
                problems.append(
                    PackageProblem(
                        f"the docstring examples of {module} are read from {snippet.path}, not from "
                        f"the project's wheel ({project.file_name}"
                        + (
                            f", whose {member} differs)"
                            if member in members
                            else f" has no {member})"
                        )
                        + ": readers may see examples of other code than runs; let autodoc import "
                        "the project's own source (sys.path in conf.py, or pip install -e)",
                        snippet,
                    )
                )
    except (OSError, zipfile.BadZipFile):
        return []
    return problems


@dataclass
class WheelInfo:
    name: str
    version: str
    requires: list[str]
    imports: list[str]


def read_wheel(path: Path) -> WheelInfo:
    """Name, version, ``Requires-Dist`` and top-level import names of a wheel."""
    from email.parser import HeaderParser  # here: ~10 ms of imports every command needs not

    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        meta_name = next(
            (n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None
        )
        if meta_name is None:
            raise PyrunError(f"{path.name} is not a wheel (no .dist-info/METADATA)")
        meta = HeaderParser().parsestr(zf.read(meta_name).decode("utf-8", "replace"))
        dist_info = meta_name.split("/")[0]
        top_level = f"{dist_info}/top_level.txt"
        if top_level in names:
            imports = {
                line.strip().split("/")[0]
                for line in zf.read(top_level).decode("utf-8", "replace").splitlines()
                if line.strip()
            }
        else:
            imports = set()
            for n in names:
                first = n.split("/")[0]
                if first.endswith((".dist-info", ".data")):
                    continue
                if "/" in n:
                    imports.add(first)
                elif n.endswith(".py"):
                    imports.add(n[:-3])
        data = _data_packages(zf, names)
    requires = [str(r) for r in meta.get_all("Requires-Dist") or []]
    return WheelInfo(
        name=str(meta.get("Name", "")),
        version=str(meta.get("Version", "")),
        requires=requires + [d for d in data if d not in requires],
        imports=sorted(i for i in imports if i.isidentifier()),
    )


#: an import of a standard-library module that needs a package's data (:data:`DATA_FOR`)
_DATA_IMPORT = re.compile(
    rb"^[ \t]*(?:import|from)[ \t]+(" + b"|".join(m.encode() for m in DATA_FOR) + rb")\b",
    re.MULTILINE,
)


def _data_packages(zf: zipfile.ZipFile, names: list[str]) -> list[str]:
    """The data packages a wheel's own modules need (``import zoneinfo``: ``tzdata``), which it
    does not declare, as CPython finds the system's time zones: babel's dates in Pyodide had none
    ("LookupError: Unknown timezone Europe/Paris", 79 examples kept static)."""
    found: set[str] = set()
    for name in names:
        if name.endswith(".py") and ".dist-info/" not in name:
            found.update(m.decode() for m in _DATA_IMPORT.findall(zf.read(name)))
    return sorted(DATA_FOR[module] for module in found)


# --- pip ---------------------------------------------------------------------------------------

_NETWORK = re.compile(
    r"connection error|NewConnectionError|Failed to establish a new connection|Temporary failure "
    r"in name resolution|Name or service not known|Network is unreachable|Max retries exceeded|"
    r"ConnectTimeoutError|Connection refused|ProxyError|Read timed out|No route to host",
)
_NO_VERSIONS = re.compile(r"\(from versions: ([^)]*)\)")


class Pip:
    """The host's pip, run for Pyodide's Python version and only pure-Python wheels."""

    def __init__(self, python_version: str, *, executable: str | None = None) -> None:
        self.python = executable or sys.executable
        self.python_version = python_version
        self.calls = 0

    def target(self) -> list[str]:
        return [
            "--only-binary=:all:",
            "--python-version",
            self.python_version,
            "--platform",
            "any",
            "--implementation",
            "py",
            "--abi",
            "none",
        ]

    def _run(
        self, args: Sequence[str], timeout: float = 600, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.calls += 1
        cmd = [self.python, "-m", "pip", *args, "--disable-pip-version-check"]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return subprocess.CompletedProcess(cmd, 1, "", f"ERROR: {exc}")
        if proc.returncode != 0 and "No module named pip" in proc.stderr:
            raise PyrunError(
                f"{self.python} has no pip, which resolves packages that Pyodide does not ship "
                f"from the package index; install it (`{self.python} -m ensurepip`)"
            )
        return proc

    def download(self, spec: str, dest: Path) -> tuple[Path | None, str]:
        """Download one pure-Python wheel for *spec* (no dependencies) into *dest*."""
        dest.mkdir(parents=True, exist_ok=True)
        proc = self._run(["download", "--no-deps", *self.target(), "-d", str(dest), spec])
        wheels = sorted(dest.glob("*.whl"))
        if proc.returncode == 0 and wheels:
            return wheels[0], ""
        return None, (proc.stderr + proc.stdout).strip()

    def exists_anywhere(self, name: str) -> bool | None:
        """Whether the index has *name* at all, for any platform (``None``: cannot tell, the
        index is unreachable). Verbose, because pip mentions connection errors only then."""
        proc = self._run(["index", "versions", "-vvv", name], timeout=180)
        if proc.returncode == 0:
            return True
        text = proc.stderr + proc.stdout
        if _NETWORK.search(text):
            return None
        return False

    def wheel(self, project: Path, dest: Path) -> tuple[Path | None, str]:
        """Build *project*'s wheel (``pip wheel --no-deps``; without isolation as a fallback).

        Reproducibly (``SOURCE_DATE_EPOCH``, unless the caller set one): the same sources give
        the same bytes, hence the same hash, so the check's results for examples that import the
        project stay cached while it does not change.
        """
        outputs: list[str] = []
        env = {"SOURCE_DATE_EPOCH": REPRODUCIBLE_EPOCH, **os.environ}
        for extra in ([], ["--no-build-isolation"]):
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            before = _build_leftovers(project)
            proc = self._run(["wheel", "--no-deps", *extra, "-w", str(dest), str(project)], env=env)
            for left in _build_leftovers(project) - before:
                shutil.rmtree(left, ignore_errors=True)
            wheels = sorted(dest.glob("*.whl"))
            if proc.returncode == 0 and wheels:
                return wheels[0], ""
            outputs.append((proc.stderr + proc.stdout).strip())
        return None, outputs[0]


def _build_leftovers(project: Path) -> set[Path]:
    """What an in-tree build leaves in a project's folder: setuptools writes ``build/`` and a
    ``NAME.egg-info`` (next to its packages: at the top or in ``src/``). The ones a wheel build
    made are removed after it, so building the docs does not leave files in the author's tree
    (those that were there before are theirs and stay)."""
    if not project.is_dir():
        return set()
    found = {project / "build"} if (project / "build").is_dir() else set()
    for folder in (project, *sorted(p for p in project.iterdir() if p.is_dir())):
        found.update(p for p in folder.glob("*.egg-info") if p.is_dir())
    return found


#: the timestamp a project's wheel is built with (1980-01-01, the earliest a zip file can hold)
REPRODUCIBLE_EPOCH = "315532800"


def _last_error(text: str) -> str:
    errors = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("ERROR")]
    lines = errors or [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "pip gave no reason"


def _top_level_names(folder: Path) -> list[str]:
    """The import names a project folder's wheel would have: its top-level packages and
    modules, in ``src/`` when there is one (not its build or test scripts); a wheel's own (one
    with a compiled extension: simplejson's cp311 wheel as ``project``)."""
    if folder.is_file() and folder.suffix == ".whl":
        try:
            return list(read_wheel(folder).imports)
        except (PyrunError, zipfile.BadZipFile, OSError):  # its name, then (a wheel's first part)
            name = folder.name.split("-")[0]
            return [name] if name.isidentifier() else []
    scripts = {"setup", "conftest", "noxfile", "fabfile", "tasks", "docs", "tests", "test"}
    names: list[str] = []
    for root in (folder / "src", folder):
        if not root.is_dir():
            continue
        for entry in sorted(root.iterdir()):
            name = entry.stem if entry.suffix == ".py" else entry.name
            is_package = entry.is_dir() and (
                (entry / "__init__.py").is_file() or (root.name == "src" and _namespace(entry))
            )
            is_module = entry.is_file() and entry.suffix == ".py"
            if (is_package or is_module) and name.isidentifier() and name not in scripts:
                names.append(name)
        if names:
            break
    return names


def _namespace(folder: Path) -> bool:
    """Whether *folder* (in ``src/``) is a namespace package: no ``__init__.py``, a package
    inside (``src/zope/hookable``: zope.hookable's examples failed "No module named 'zope'"
    where its wheel could not be built, instead of being left unchecked)."""
    return any(sub.is_dir() and (sub / "__init__.py").is_file() for sub in folder.iterdir())


def _build_error(text: str) -> str:
    """Why a wheel build failed: the build backend's exception (``OSError: Readme file does
    not exist: README.md``), which pip prints above its own last words ("Preparing metadata
    (pyproject.toml): finished with status 'error'" was all a failed build said)."""
    raised = [m.group(1) for m in _RAISED.finditer(text)]
    if raised:
        return raised[-1]
    # setuptools' own "error: Multiple top-level packages discovered in a flat-layout: [...]"
    # (humanfriendly's, with a ``cache`` folder beside the package), not pip's words about it
    said = [m.group(1) for m in _BACKEND_SAID.finditer(text) if m.group(1) not in _PIP_ERRORS]
    return said[-1] if said else _last_error(text)


#: an exception line in a build backend's output, as pip relays it (indented)
_RAISED = re.compile(r"^\s*((?:[\w.]+\.)?\w*(?:Error|Exception|Exit): .+)$", re.MULTILINE)
#: a build backend's own error line (setuptools' ``error: ...``), as pip relays it
_BACKEND_SAID = re.compile(r"^\s*(error: .+)$", re.MULTILINE)
#: pip's own error lines around a backend's output
_PIP_ERRORS = frozenset(
    {"error: subprocess-exited-with-error", "error: metadata-generation-failed"}
)


# --- resolution --------------------------------------------------------------------------------


@dataclass
class _Want:
    name: str
    specs: list[tuple[Requirement, Request]] = field(default_factory=list)

    @property
    def specifier(self) -> SpecifierSet:
        combined = SpecifierSet()
        for req, _ in self.specs:
            combined &= req.specifier
        return combined

    @property
    def extras(self) -> set[str]:
        return {e for req, _ in self.specs for e in req.extras}

    @property
    def first(self) -> Request:
        return self.specs[0][1]

    def spec_text(self) -> str:
        return f"{self.name}{self.specifier}"

    def asked(self) -> str:
        """`` (as written, where)``, or nothing when that says no more than the name; for a
        name asked for without a version, who needs it (it read "zodbpickle (zodbpickle
        (pyrun_project r2pkg))")."""
        text = self.origins()
        if text in (self.name, self.spec_text()):
            return ""
        if all(str(req) == self.name for req, _ in self.specs):
            here = self.first.snippet.location if self.first.snippet else None
            who = dict.fromkeys(
                r.origin.removeprefix("required by ") for _, r in self.specs if r.origin != here
            )
            return f" (needed by {', '.join(who)})" if who else ""
        return f" ({text})"

    def origins(self) -> str:
        """``inflection<0.5 (docs/b.rst:7)``, leaving out the location the problem is shown at."""
        here = self.first.snippet.location if self.first.snippet else None
        parts = [
            f"{req}" if request.origin == here else f"{req} ({request.origin})"
            for req, request in self.specs
        ]
        return ", ".join(dict.fromkeys(parts))


@dataclass
class Resolution:
    """The resolved set: every wheel any page needs, and what loads before every snippet."""

    packages: dict[str, LockedPackage] = field(default_factory=dict)
    site: list[str] = field(default_factory=list)  # loaded before every snippet
    problems: list[PackageProblem] = field(default_factory=list)
    pip_calls: int = 0
    runtime: str = ""
    by_import: dict[str, str] = field(default_factory=dict)
    #: names each snippet asked for, by (page, index): its own ``packages`` that resolved
    requested: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    #: the first snippet that needs each package (to name it when its wheel cannot be had)
    needed_by: dict[str, Snippet] = field(default_factory=dict)
    #: Pyodide packages whose wheel could not be downloaded that the package index could not
    #: replace either, with why (said with the download's error)
    unreplaced: dict[str, str] = field(default_factory=dict)
    #: the project's top-level modules when its wheel could not be built, with why: an example
    #: failing to import one is not checked (it was kept static, "Does not run in the browser:
    #: No module named 'mypkg'")
    unbuilt: dict[str, str] = field(default_factory=dict)

    def closure(self, names: Iterable[str]) -> list[str]:
        seen: set[str] = set()
        stack: list[str] = [canonicalize_name(n) for n in names]
        while stack:
            name = stack.pop()
            if name in seen or name not in self.packages:
                continue
            seen.add(name)
            stack.extend(self.packages[name].depends)
        return sorted(seen)

    def lock_json(self, *, mode: str) -> dict[str, Any]:
        """The content of ``pyrun-lock.json`` (what the browser and the check load)."""
        return {
            "format": LOCK_FORMAT,
            "runtime": self.runtime,
            "mode": mode,
            "site": sorted(self.site),
            "packages": {n: p.to_json() for n, p in sorted(self.packages.items())},
        }


def _parse(request: Request) -> Requirement | PackageProblem:
    try:
        req = Requirement(request.requirement)
    except InvalidRequirement as exc:
        return PackageProblem(
            f"{request.requirement!r} is not a package requirement ({exc}) [{request.origin}]",
            request.snippet,
        )
    if req.url:  # pip's resolution here takes names and versions (the URL was dropped unsaid)
        return PackageProblem(
            f"{request.requirement!r}: a requirement with a URL is not supported here; name the "
            f"package ({req.name}) and put the folder holding its wheel in pip's configuration, "
            f"as PIP_FIND_LINKS=FOLDER [{request.origin}]",
            request.snippet,
        )
    return req


def _marker_ok(req: Requirement, env: Mapping[str, str], extras: Iterable[str]) -> bool:
    if req.marker is None:
        return True
    try:
        for extra in ["", *extras]:
            if req.marker.evaluate({**env, "extra": extra}):
                return True
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return True
    return False


def _version_ok(version: str, spec: SpecifierSet) -> bool:
    try:
        return spec.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return not str(spec)


def packages_cache() -> Path:
    return cache_root() / "packages"


def requests_for(
    pages: Mapping[str, Sequence[Snippet]], config: PyrunConfig, *, setting: str = "packages"
) -> tuple[list[Request], list[Request]]:
    """(site-wide requests from the setting, per-snippet requests from ``packages`` options)."""
    site = [Request(r, setting) for r in config.packages]
    snippets = [
        Request(r, s.location, s)
        for snippets in pages.values()
        for s in snippets
        for r in s.options.packages
    ]
    return site, snippets


def resolve(
    pages: Mapping[str, Sequence[Snippet]],
    config: PyrunConfig,
    lock: PyodideLock,
    pin: RuntimePin,
    *,
    base_dir: Path | None = None,
    setting_prefix: str = "",
    pip: Pip | None = None,
    cache_dir: Path | None = None,
    lock_wheels: PackageStore | None = None,
) -> Resolution:
    """Resolve everything the docs need into one set (see the module docstring).

    Args:
        pages: the snippets of each page.
        config: site settings (``packages``, ``project``).
        lock: the pinned Pyodide lock file.
        pin: the pinned Pyodide (names the cache and the lock).
        base_dir: what a relative ``project`` path is relative to (the folder of ``conf.py`` or
            ``mkdocs.yml``); default: the current directory.
        setting_prefix: how settings are named in messages (``pyrun_`` in Sphinx).
        pip: the pip runner (tests pass their own); default: this Python's pip.
        cache_dir: the user cache for wheels and resolutions; default ``<cache>/packages``.
        lock_wheels: where the Pyodide packages' wheels are fetched to, when this build needs
            them here (the check, a self-hosted site): one whose download fails (the CDN is
            unreachable) is replaced by the same version's pure wheel from the package index
            (:func:`_replace_unreachable`). ``None``: nothing is fetched.
    """
    cache = cache_dir or packages_cache()
    pip = pip or Pip(lock.python_version)
    resolver = _Resolver(Resolution(runtime=pin.key), lock, pin, pip, cache, setting_prefix)
    project = resolver.add_project(config.project, base_dir) if config.project else None
    taken = project.imports if project is not None else ()
    modules = resolver.add_path(config.path, base_dir, taken) if config.path else None
    resolver.add_requests(pages, config)
    resolver.fetch(project)
    result = resolver.result
    ours = dict(resolver.pypi)
    for own in (project, modules):
        if own is not None:
            ours[own.name] = own
    _install_set(result, lock, ours, resolver.from_lock | resolver.imported(pages))
    if lock_wheels is not None:
        _replace_unreachable(result, lock_wheels, pip, cache, lock, pin)
    result.pip_calls = pip.calls
    result.site = [n for n in dict.fromkeys(result.site) if n in result.packages]
    for name, pkg in result.packages.items():
        for module in pkg.imports:
            if module not in result.unbuilt:  # the project's, not another package's copy
                result.by_import.setdefault(module, name)
    for name in sorted(resolver.failed):
        result.packages.pop(name, None)
    for snippets in pages.values():
        for s in snippets:
            for name in snippet_needs(s, result):
                result.needed_by.setdefault(name, s)
    return result


def _install_set(
    result: Resolution,
    lock: PyodideLock,
    ours: Mapping[str, LockedPackage],
    from_lock: set[str],
) -> None:
    """Fill ``result.packages``: *ours* (from the package index, the project, the ``path``
    folders) and what Pyodide's lock provides, with every dependency.

    Our wheels replace Pyodide's packages of the same name, with their own dependencies: a
    project Pyodide also ships (attrs) must not pull in what Pyodide's copy depends on (six).
    """
    installed = {**lock.packages, **{n: {"depends": p.depends} for n, p in ours.items()}}
    for name in lock_closure(installed, from_lock | set(ours)):
        result.packages[name] = ours[name] if name in ours else lock.locked(name)


class _Resolver:
    """One resolution under way: every package asked for (by name, with each request that
    asked), what comes from Pyodide's lock, what from the package index, what failed."""

    def __init__(
        self,
        result: Resolution,
        lock: PyodideLock,
        pin: RuntimePin,
        pip: Pip,
        cache: Path,
        prefix: str,
    ) -> None:
        self.result = result
        self.lock = lock
        self.pin = pin
        self.pip = pip
        self.cache = cache
        self.prefix = prefix
        self.env = pyodide_environment(lock.info)
        self.wants: dict[str, _Want] = {}
        self.pypi: dict[str, LockedPackage] = {}
        self.from_lock: set[str] = set()
        self.failed: set[str] = set()
        #: why the package index had no wheel for a name (kept in the resolution cache)
        self.misses: dict[str, _Miss] = {}

    def want(self, request: Request) -> str | None:
        """Note *request*; its canonical name, or ``None`` (a problem) when it does not parse."""
        parsed = _parse(request)
        if isinstance(parsed, PackageProblem):
            self.result.problems.append(parsed)
            return None
        name = canonicalize_name(parsed.name)
        self.wants.setdefault(name, _Want(name)).specs.append((parsed, request))
        return name

    def want_requires(
        self,
        requires: Iterable[str],
        origin: str,
        extras: Iterable[str] = (),
        snippet: Snippet | None = None,
    ) -> list[str]:
        """Note a wheel's ``Requires-Dist`` that apply in Pyodide; their names."""
        names: list[str] = []
        for text in requires:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if _marker_ok(req, self.env, extras):
                name = self.want(Request(str(req).split(";")[0].strip(), origin, snippet))
                if name and name not in names:
                    names.append(name)
        return names

    def add_project(self, project: str, base_dir: Path | None) -> LockedPackage | None:
        """The documented project's wheel, built, with its dependencies asked for."""
        built = _project_wheel(project, base_dir, self.cache, self.pip, self.prefix)
        if isinstance(built, PackageProblem):
            self.result.problems.append(built)
            folder = (base_dir or Path.cwd()) / Path(project).expanduser()
            self.result.unbuilt = dict.fromkeys(_top_level_names(folder), built.message)
            return None
        pkg, info = built
        origin = f"{self.prefix}project {pkg.name}"
        pkg.depends.extend(
            n for n in self.want_requires(info.requires, origin) if n not in pkg.depends
        )
        self.result.site.append(pkg.name)
        return pkg

    def add_path(
        self, path: Sequence[object], base_dir: Path | None, taken: Iterable[str]
    ) -> LockedPackage | None:
        """The ``path`` folders' modules as one wheel (leaving out the project's own)."""
        folders = [
            p if p.is_absolute() else (base_dir or Path.cwd()) / p
            for p in (Path(str(f)).expanduser() for f in path)
        ]
        modules, messages = path_wheel(folders, self.cache / "paths", taken)
        for message in messages:
            self.result.problems.append(PackageProblem(f"{self.prefix}path: {message}"))
        if modules is not None:
            self.result.site.append(modules.name)
        return modules

    def add_requests(self, pages: Mapping[str, Sequence[Snippet]], config: PyrunConfig) -> None:
        """The ``packages`` setting (loaded for every snippet) and snippets' own ``packages``."""
        site, per_snippet = requests_for(pages, config, setting=f"{self.prefix}packages")
        for request in site:
            name = self.want(request)
            if name:
                self.result.site.append(name)
        for request in per_snippet:
            name = self.want(request)
            if name and request.snippet is not None:
                where = (request.snippet.page, request.snippet.index)
                self.result.requested.setdefault(where, []).append(name)

    def imported(self, pages: Mapping[str, Sequence[Snippet]]) -> set[str]:
        """Pyodide's packages providing modules the snippets import (only what Pyodide ships):
        not for the project's own modules when its wheel could not be made (``unbuilt``): its
        examples are not checked, saying why, rather than run against Pyodide's copy of
        another version (simplejson: its 4.3.0 docs checked with Pyodide's 3.20.2, or "not in
        the verified package folder ... add +SKIP" at every example, the cause said last)."""
        by_import = self.lock.by_import
        return {
            by_import[module]
            for snippets in pages.values()
            for s in snippets
            for module in snippet_imports(s)
            if module in by_import and module not in self.result.unbuilt
        }

    def fetch(self, project: LockedPackage | None) -> None:
        """Split what was asked for: Pyodide's lock provides some, pip the rest (with their
        dependencies), unless the resolution cache has the same requests' answer."""
        outside = [  # what the package index provides: also where Pyodide's copy does not fit
            n for n in self.wants if (project is None or n != project.name) and not self._in_lock(n)
        ]
        key = _resolve_key(self.pin, self.lock, [self.wants[n] for n in sorted(outside)])
        cached = _load_cached(self.cache, key)
        pending = list(self.wants)
        refresh = False  # pip is asked again: what it answers is kept
        if cached is not None:  # a second build resolves nothing; a tampered wheel is refused
            self.pypi, problems, misses, refresh = cached
            for p in problems:
                origin_want = self.wants.get(p.name)
                self.result.problems.append(
                    PackageProblem(p.message, origin_want.first.snippet if origin_want else None)
                )
                self.failed.add(p.name)
            for name, miss in misses.items():  # said again, in this build's words, pip not run
                if name in self.wants and name not in self.failed:
                    self._fail(name, miss)
            for pkg in self.pypi.values():
                self.from_lock.update(dep for dep in pkg.depends if dep in self.lock.packages)
            pending = [n for n in self.wants if n not in self.pypi and n not in self.failed]
        while pending:
            pending.extend(self._take(pending.pop(0), project))
        # said once a name, naming everyone who asked (zope-interface, asked for by three of a
        # project's dependencies, was three problems, each one more "snippet" at conf.py:1)
        for name, miss in self.misses.items():
            self.result.problems.append(self._problem(name, miss))
        offline = any(miss.kind == _OFFLINE for miss in self.misses.values())
        fresh = cached is None or refresh
        if outside and fresh and not offline and self.failed <= set(self.misses):
            _store_cached(self.cache, key, self.pypi, self.misses)

    def _in_lock(self, name: str) -> bool:
        """Whether Pyodide's lock has a copy of *name* that fits what was asked."""
        found = self.lock.packages.get(name)
        return found is not None and _version_ok(
            str(found.get("version", "")), self.wants[name].specifier
        )

    def _take(self, name: str, project: LockedPackage | None) -> list[str]:
        """Provide *name* (the project, Pyodide's copy, or a wheel from the package index);
        the names its wheel requires in turn."""
        w = self.wants[name]
        if name in self.failed:  # asked for again (another requirer): said once, at the end
            return []
        if project is not None and name == project.name:
            if not _version_ok(project.version, w.specifier):
                self.result.problems.append(
                    PackageProblem(
                        f"the project {project.name} is version {project.version}, which does "
                        f"not satisfy {w.origins()}",
                        w.first.snippet,
                    )
                )
            return []
        if self._in_lock(name):
            self.from_lock.add(name)
            return []
        # Pyodide's copy, if any, does not fit: a pure wheel from the package index that does
        # replaces it, as micropip would take one (jsonpatch needs jsonpointer>=3.8 where
        # Pyodide ships 3.1.1; the check loaded 3.1.1 anyway)
        have = self.pypi.get(name)
        if have is not None and _version_ok(have.version, w.specifier):
            return []
        got = _download(w, self.pip, self.cache / "wheels")
        if isinstance(got, _Miss):
            self._fail(name, got)
            return []
        pkg, info = got
        self.pypi[name] = pkg
        origin = f"required by {pkg.name} {pkg.version}"
        needed = self.want_requires(info.requires, origin, w.extras, w.first.snippet)
        pkg.depends.extend(n for n in needed if n not in pkg.depends)
        return needed

    def _fail(self, name: str, miss: _Miss) -> None:
        """Note that the package index has no wheel for *name* (said once all is resolved)."""
        self.misses[name] = miss
        self.failed.add(name)

    def _problem(self, name: str, miss: _Miss) -> PackageProblem:
        """Why the package index has no wheel for *name*; a version conflict with Pyodide's
        own copy comes first."""
        w = self.wants[name]
        message = _miss_message(miss, w, self.pin)
        if name in self.lock.packages:  # its copy did not fit, and no wheel on the index either
            version = str(self.lock.packages[name].get("version", ""))
            why = (
                "the package index, which might have one that does, is unreachable"
                if miss.kind == _OFFLINE
                else "no pure-Python wheel on the package index does either"
            )
            message = (
                f"version conflict for {name}: Pyodide {self.pin.version} ships {name} "
                f"{version}, which does not satisfy {w.origins()}, and {why}"
            )
        return PackageProblem(message, w.first.snippet)


def _replace_unreachable(
    result: Resolution,
    store: PackageStore,
    pip: Pip,
    cache: Path,
    lock: PyodideLock,
    pin: RuntimePin,
) -> None:
    """Take a pure Pyodide package whose wheel cannot be downloaded from the package index.

    Pyodide serves most of its packages (attrs, six, python-dateutil, typing-extensions) only
    from its CDN, which a build machine behind a firewall or with only a PyPI mirror cannot
    reach: every example importing them was an error there. The package index has the same
    version as a pure wheel (not byte-identical: Pyodide repacks it, so the lock's SHA-256 does
    not fit it), which is then used like any wheel from the index: verified against its own
    recorded SHA-256, cached by the resolution cache (a second build neither tries the CDN nor
    runs pip), copied into the site and named by ``pyrun-lock.json``, so readers load the very
    wheel the check ran. A compiled package cannot be replaced; its download error stays.
    """
    for name, pkg in list(result.packages.items()):
        if pkg.source != "pyodide" or not is_pure_wheel(pkg.file_name):
            continue
        spec = f"{name}=={pkg.version}"
        w = _Want(name, [(Requirement(spec), Request(spec, f"Pyodide {pin.version}'s lock"))])
        key = _resolve_key(pin, lock, [w])
        cached = _load_cached(cache, key)
        if cached is not None and name in cached[0]:
            replacement = cached[0][name]
        else:
            try:
                store.fetch(name)
                continue
            except PackageError as exc:
                if exc.url is None:  # not a download failure (a hash mismatch): stays an error
                    continue
            got = _download(w, pip, cache / "wheels")
            if isinstance(got, _Miss):  # the download's error is said, with this
                result.unreplaced[name] = (
                    "the package index, which might have a replacement, is unreachable too"
                    if got.kind == _OFFLINE
                    else f"the package index has no pure-Python wheel of {name} {pkg.version}"
                )
                continue
            replacement = got[0]
            replacement.depends = list(pkg.depends)
            replacement.imports = sorted({*replacement.imports, *pkg.imports})  # zoneinfo
            _store_cached(cache, key, {name: replacement})
        result.packages[name] = replacement


def _resolve_key(pin: RuntimePin, lock: PyodideLock, wants: Sequence[_Want]) -> str:
    payload = {
        "format": RESOLVE_FORMAT,
        "runtime": pin.key,
        "python": lock.python_version,
        "requirements": [[w.name, str(w.specifier), sorted(w.extras)] for w in wants],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class _CachedProblem:
    name: str
    message: str


def _load_cached(
    cache: Path, key: str
) -> tuple[dict[str, LockedPackage], list[_CachedProblem], dict[str, _Miss], bool] | None:
    """The cached resolution for *key*, its wheels verified, the names the package index had no
    wheel for, and whether those were dropped: found with other pip settings than today's
    (``PIP_FIND_LINKS=FOLDER``, as a miss's advice says to set: the miss was said again, pip
    not asked), so pip is asked again (``None``: resolve everything again)."""
    path = cache / "resolved" / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    packages: dict[str, LockedPackage] = {}
    problems: list[_CachedProblem] = []
    for name, entry in data.get("packages", {}).items():
        wheel = cache / "wheels" / entry["sha256"][:16] / entry["file_name"]
        if not wheel.is_file():
            return None  # a cleaned cache: resolve again
        actual = sha256_file(wheel)
        if actual != entry["sha256"]:
            problems.append(
                _CachedProblem(
                    name,
                    f"hash mismatch for {name} {entry['version']}: the cached wheel {wheel} has "
                    f"SHA-256 {actual[:16]}…, the recorded lock says {entry['sha256'][:16]}…; "
                    "refusing to use it (delete the file to download it again)",
                )
            )
            continue
        packages[name] = LockedPackage(
            name=name,
            version=entry["version"],
            source=entry["source"],
            file_name=entry["file_name"],
            sha256=entry["sha256"],
            depends=list(entry.get("depends", [])),
            imports=list(entry.get("imports", [])),
            path=wheel,
        )
    misses = {
        str(name): _Miss(str(entry[0]), str(entry[1]))
        for name, entry in dict(data.get("misses", {})).items()
    }
    if misses and data.get("pip") != _pip_sources():
        return packages, problems, {}, True
    return packages, problems, misses, False


def _store_cached(
    cache: Path,
    key: str,
    packages: Mapping[str, LockedPackage],
    misses: Mapping[str, _Miss] | None = None,
) -> None:
    folder = cache / "resolved"
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "format": RESOLVE_FORMAT,
        "packages": {n: p.to_json() for n, p in packages.items()},
        "misses": {n: [m.kind, m.detail] for n, m in (misses or {}).items()},
        "pip": _pip_sources(),
    }
    write_atomically(folder / f"{key}.json", json.dumps(data, indent=1, sort_keys=True).encode())


def _pip_sources() -> str:
    """A digest of where pip looks for wheels: its environment variables and configuration files
    (what ``PIP_FIND_LINKS``, an index URL or a ``pip.conf`` changes)."""
    digest = hashlib.sha256()
    for name, value in sorted(os.environ.items()):
        if name.startswith("PIP_") and name[4:] in _PIP_WHERE:
            digest.update(f"{name}={value}\n".encode())
    home = Path.home()
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    files = [Path(os.environ.get("PIP_CONFIG_FILE") or "/nonexistent"), Path("/etc/pip.conf"),
             Path("/etc/xdg/pip/pip.conf"), config_home / "pip" / "pip.conf",
             home / ".pip" / "pip.conf", Path(sys.prefix) / "pip.conf"]  # fmt: skip
    for file in files:
        try:
            digest.update(file.read_bytes())
        except OSError:
            digest.update(b"-")
    return digest.hexdigest()[:16]


#: pip's settings that say where it looks for wheels
_PIP_WHERE = frozenset({"FIND_LINKS", "INDEX_URL", "EXTRA_INDEX_URL", "NO_INDEX", "CONFIG_FILE"})


def _store_wheel(src: Path, folder: Path) -> tuple[Path, str]:
    digest = sha256_file(src)
    dest = folder / digest[:16] / src.name
    if not (dest.is_file() and sha256_file(dest) == digest):
        write_atomically(dest, src.read_bytes())
    return dest, digest


@dataclass(frozen=True)
class _Miss:
    """Why the package index gave no wheel for a want: a *kind* and its *detail* (pip's last
    words, the versions it listed, a wheel's name). Kept in the resolution cache unless the
    index was unreachable, and put in words (:func:`_miss_message`) for whoever asks: an
    unchanged check of a project depending on a compiled package asked pip again every time,
    3-6 s, and offline said no build had resolved it."""

    kind: str
    detail: str = ""


#: :class:`_Miss` kinds
_OFFLINE, _VERSIONS, _COMPILED, _UNKNOWN, _NOT_PURE, _UNREADABLE = (
    "offline", "versions", "compiled", "unknown", "not-pure", "unreadable",
)  # fmt: skip


def _download(w: _Want, pip: Pip, folder: Path) -> tuple[LockedPackage, WheelInfo] | _Miss:
    with tempfile.TemporaryDirectory(prefix="pyrun-pip-") as tmp:
        wheel, output = pip.download(w.spec_text(), Path(tmp))
        if wheel is None:
            return _why_not(w, output, pip)
        if not is_pure_wheel(wheel.name):
            return _Miss(_NOT_PURE, wheel.name)
        stored, digest = _store_wheel(wheel, folder)
    try:
        info = read_wheel(stored)
    except (PyrunError, zipfile.BadZipFile, OSError) as exc:
        return _Miss(_UNREADABLE, f"{stored.name} cannot be read ({exc})")
    pkg = LockedPackage(
        name=w.name,
        version=info.version,
        source="pypi",
        file_name=stored.name,
        sha256=digest,
        imports=info.imports,
        path=stored,
    )
    return pkg, info


def _only_prereleases(available: str, w: _Want) -> bool:
    """Whether the pure versions pip lists are all pre-releases *w* does not ask for: pip does
    not take them, so the package has no pure wheel to speak of (zope.interface's one is
    ``5.5.0.dev0``: "no version satisfies zope.interface" read as a conflict no one wrote)."""
    try:
        listed = [Version(v.strip()) for v in available.split(",") if v.strip()]
    except InvalidVersion:
        return False
    return bool(listed) and all(v.is_prerelease for v in listed) and not w.specifier.prereleases


def _why_not(w: _Want, output: str, pip: Pip) -> _Miss:
    """Why pip found no wheel for *w* (its *output*)."""
    if _NETWORK.search(output):
        return _Miss(_OFFLINE, _last_error(output))
    versions = _NO_VERSIONS.search(output)
    available = versions.group(1).strip() if versions else "none"
    if available and available != "none" and not _only_prereleases(available, w):
        return _Miss(_VERSIONS, available)
    exists = pip.exists_anywhere(w.name)
    if exists is None:
        return _Miss(_OFFLINE, _last_error(output))
    return _Miss(_COMPILED if exists else _UNKNOWN)


def _miss_message(miss: _Miss, w: _Want, pin: RuntimePin) -> str:
    """*miss* in words an author can act on, naming who asked for *w*."""
    if miss.kind == _VERSIONS:
        if len({str(req.specifier) for req, _ in w.specs}) > 1:
            return (
                f"version conflict for {w.name}: no version satisfies all of {w.origins()} "
                f"(pure-Python versions on the index: {miss.detail})"
            )
        return (
            f"no version of {w.name} satisfies {w.origins()} "
            f"(pure-Python versions on the index: {miss.detail})"
        )
    if miss.kind == _COMPILED:
        return (
            f"{w.name}{w.asked()} has no pure-Python wheel (py3-none-any) on the package "
            f"index and is not one of the packages Pyodide {pin.version} ships: it is compiled "
            "or CPython-only, so it cannot run in the browser (if it has a pure-Python fallback, "
            "build its wheel without the extension and put that wheel's folder in pip's "
            "configuration, as PIP_FIND_LINKS=FOLDER)"
        )
    if miss.kind == _UNKNOWN:
        return (
            f"unknown package {w.name}{w.asked()}: it is not on the package index and not one "
            f"of the packages Pyodide {pin.version} ships"
        )
    if miss.kind == _NOT_PURE:
        return (
            f"{w.name}: pip found {miss.detail}, which is not a pure-Python wheel; only "
            "py3-none-any wheels run in Pyodide"
        )
    if miss.kind == _UNREADABLE:
        return f"{w.name}: {miss.detail}"
    return (
        f"cannot resolve {w.spec_text()}{w.asked()}: the package index is unreachable and "
        f"the pyrun-docs cache has no resolution for it yet (pip: {miss.detail}). Build once "
        "with network access; cached wheels keep working offline"
    )


# --- the project being documented --------------------------------------------------------------


def _project_source_digest(folder: Path) -> str:
    """A digest of a project's sources (so an unchanged project is not rebuilt): inside its
    packages every file (package data: a changed ``words.csv`` kept the old wheel), elsewhere
    its Python and build files, and at the top also its ``.txt``/``.in`` files
    (``requirements.txt``, ``MANIFEST.in``); not a report or output a build or check leaves in
    the tree (a ``--json report.json`` rebuilt the wheel on every run)."""
    skip = {"build", "dist", "_build", "site", "node_modules", "__pycache__", "venv", "env"}
    digest = hashlib.sha256()
    packaged: set[str] = set()  # folders in a package (an __init__.py there or above)
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in skip
            and not d.endswith(".egg-info")
            and not _built_site(here / d)
        )
        if "__init__.py" in files or os.path.dirname(root) in packaged:
            packaged.add(root)
        for fname in sorted(files):
            if root in packaged:
                wanted = not fname.endswith((".pyc", ".pyo"))
            else:
                wanted = fname.endswith((".py", ".toml", ".cfg", ".pyi", ".typed")) or (
                    here == folder and fname.endswith((".txt", ".in"))
                )
            if wanted:
                path = here / fname
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _built_site(folder: Path) -> bool:
    """Whether *folder* is a docs build's output, whatever it is named: Sphinx's HTML (its
    ``.buildinfo``) or any site carrying our assets. Its ``.py`` files (the take-away scripts,
    the executor) are no project source: jsonpointer's ``docs/OUT-html`` rebuilt the wheel, and
    re-ran every example, after each build."""
    return (folder / ".buildinfo").is_file() or any(
        (folder / sub / "pyrun").is_dir() for sub in ("_static", "assets")
    )


def _project_wheel(
    spec: str, base_dir: Path | None, cache: Path, pip: Pip, prefix: str
) -> tuple[LockedPackage, WheelInfo] | PackageProblem:
    setting = f"{prefix}project"
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    path = path.resolve()
    if path.is_file() and path.suffix == ".whl":
        wheel = path
    elif path.is_dir():
        if not any((path / f).is_file() for f in ("pyproject.toml", "setup.py", "setup.cfg")):
            return PackageProblem(
                f"{setting} = {spec!r}: {path} has no pyproject.toml or setup.py to build a "
                "wheel from"
            )
        built = cache / "project" / _project_source_digest(path)
        existing = sorted(built.glob("*.whl")) if built.is_dir() else []
        if existing:
            wheel = existing[0]
        else:
            with tempfile.TemporaryDirectory(prefix="pyrun-wheel-") as tmp:
                made, output = pip.wheel(path, Path(tmp) / "out")
                if made is None:
                    return PackageProblem(
                        f"{setting} = {spec!r}: building the project's wheel with pip failed "
                        f"({_build_error(output)})"
                    )
                if not is_pure_wheel(made.name):  # not kept: the next check builds it again,
                    # as the advice says, after its pure-Python switch is set (yarl's
                    # YARL_NO_EXTENSIONS=1 changed nothing: the same wheel came from the cache)
                    return _not_pure(setting, made.name)
                wheel = built / made.name
                write_atomically(wheel, made.read_bytes())
    else:
        return PackageProblem(
            f"{setting} = {spec!r}: {path} is neither a project folder nor a .whl file"
        )
    if not is_pure_wheel(wheel.name):
        return _not_pure(setting, wheel.name)
    try:
        info = read_wheel(wheel)
    except (PyrunError, zipfile.BadZipFile, OSError) as exc:
        return PackageProblem(f"{setting}: {wheel.name} cannot be read ({exc})")
    pkg = LockedPackage(
        name=canonicalize_name(info.name or wheel.name.split("-")[0]),
        version=info.version,
        source="project",
        file_name=wheel.name,
        sha256=sha256_file(wheel),
        imports=info.imports,
        path=wheel,
    )
    return pkg, info


def _not_pure(setting: str, name: str) -> PackageProblem:
    return PackageProblem(
        f"{setting}: {name} is not a pure-Python wheel (py3-none-any), so it cannot run "
        "in Pyodide, and the examples importing it are not checked (not against a copy "
        "Pyodide may ship of another version); build it without its compiled extensions if it has a "
        "pure-Python fallback (projects often read an environment variable for that: see its "
        f"build docs), or give {setting} a pure .whl"
    )


# --- detection ----------------------------------------------------------------------------------


def snippet_needs(snippet: Snippet, resolution: Resolution) -> list[str]:
    """Names (with dependencies) loaded before *snippet* runs: site, its ``packages``, imports."""
    names = set(resolution.site)
    names.update(resolution.requested.get((snippet.page, snippet.index), []))
    for module in snippet_imports(snippet):
        if module in resolution.by_import:
            names.add(resolution.by_import[module])
    return resolution.closure(names)


# --- the site ------------------------------------------------------------------------------------


def write_site(
    target: Path,
    resolution: Resolution,
    config: PyrunConfig,
    pin: RuntimePin,
    *,
    fetch_pyodide: Any = None,
) -> list[PackageProblem]:
    """Write ``pyrun-lock.json`` and our wheels into the site's ``pyrun/`` folder.

    In self-host mode the Pyodide wheels the docs need are copied into the runtime folder
    (``pyrun/pyodide-VERSION/``), each verified against the lock's SHA-256; *fetch_pyodide* is a
    callable ``(names) -> {name: Path}`` that provides them (the check's verified package store)
    and raises :class:`PyrunError` when it cannot.

    Returns:
        Problems (a Pyodide wheel that cannot be fetched names the snippets that need it).
    """
    problems: list[PackageProblem] = []
    target.mkdir(parents=True, exist_ok=True)
    for pkg in resolution.packages.values():
        if pkg.source == "pyodide" or pkg.path is None:
            continue
        dest = target / pkg.url
        if dest.is_file() and sha256_file(dest) == pkg.sha256:
            continue
        if sha256_file(pkg.path) != pkg.sha256:
            problems.append(
                PackageProblem(
                    f"hash mismatch for {pkg.name} {pkg.version}: {pkg.path} no longer matches "
                    "the SHA-256 recorded when it was resolved; refusing to copy it into the site",
                    resolution.needed_by.get(pkg.name),
                )
            )
            continue
        write_atomically(dest, pkg.path.read_bytes())
    wanted = [p for p in resolution.packages.values() if p.source == "pyodide"]
    if config.runtime_source == "self-host" and wanted and fetch_pyodide is not None:
        runtime_dir = target / pin.key
        for pkg in wanted:
            dest = runtime_dir / pkg.file_name
            if dest.is_file() and sha256_file(dest) == pkg.sha256:
                continue
            try:
                found: Mapping[str, Path] = fetch_pyodide([pkg.name])
            except PyrunError as exc:
                problems.append(
                    PackageProblem(
                        f"{pkg.name} {pkg.version} (a Pyodide package) cannot be self-hosted: "
                        f"{exc.message}",
                        resolution.needed_by.get(pkg.name),
                    )
                )
                continue
            src = found.get(pkg.name)
            if src is None or sha256_file(src) != pkg.sha256:
                problems.append(
                    PackageProblem(
                        f"hash mismatch for {pkg.name} {pkg.version}: its wheel does not match "
                        f"the SHA-256 in Pyodide {pin.version}'s lock file; refusing to copy it "
                        "into the site",
                        resolution.needed_by.get(pkg.name),
                    )
                )
                continue
            write_atomically(dest, src.read_bytes())
    lock = resolution.lock_json(mode=config.runtime_source)
    text = json.dumps(lock, indent=1, sort_keys=True) + "\n"
    path = target / LOCK_NAME
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        write_atomically(path, text.encode("utf-8"))
    return problems


def build_packages(
    pages: Mapping[str, Sequence[Snippet]],
    config: PyrunConfig,
    site_dir: Path | None,
    *,
    base_dir: Path | None = None,
    setting_prefix: str = "",
) -> Resolution:
    """Resolve what the docs need and, with *site_dir* (the site's ``pyrun/``), write it there.

    This is what adapters call once per build, after every page is read and before the check.
    Problems are in ``resolution.problems``; a setup problem (no runtime) raises PyrunError.
    """
    from .fetch import ensure_runtime
    from .runtime import get_pin

    pin = get_pin(CHECKED_RUNTIME)
    try:
        runtime = ensure_runtime(pin)
    except PyrunError:
        asked = config.packages or config.project
        if asked or any(s.options.packages for snippets in pages.values() for s in snippets):
            raise
        # nothing was asked for by name: a CDN site without the runtime at hand still builds (its
        # readers' imports of Pyodide's packages load from the CDN)
        resolution = Resolution(runtime=pin.key)
        if site_dir is not None:
            write_site(site_dir, resolution, config, pin)
        return resolution
    lock_path = runtime / "pyodide-lock.json"
    lock = PyodideLock.from_path(lock_path)
    pyodide_pages = {
        page: [s for s in snippets if (s.options.runtime or config.runtime) == CHECKED_RUNTIME]
        for page, snippets in pages.items()
    }
    store = PackageStore(
        packages_dir(pin), PackageIndex(lock), config.cdn_url.replace("{version}", pin.version)
    )
    # the Pyodide wheels are needed here only by the check and a self-hosted site
    here = config.check != "off" or (site_dir is not None and config.runtime_source == "self-host")
    resolution = resolve(
        pyodide_pages,
        config,
        lock,
        pin,
        base_dir=base_dir,
        setting_prefix=setting_prefix,
        lock_wheels=store if here else None,
    )
    if site_dir is None:
        return resolution

    def fetch_pyodide(names: Sequence[str]) -> dict[str, Path]:
        # each alone: write_site asks for every package by name, dependencies too (fetching a
        # package's dependencies here told a dependency's error as its own: scipy, numpy's URL)
        try:
            for name in names:
                store.fetch(name)
        except PackageError as exc:
            if exc.url is None:
                raise PyrunError(exc.message) from None
            raise PyrunError(
                f"its wheel is not in {store.folder} and cannot be downloaded from {exc.url} "
                f"({exc.reason}); build once with access to the Pyodide CDN, or set "
                f'{setting_prefix}runtime_source = "cdn" so readers load it from the CDN'
            ) from None
        return {n: store.folder / lock.locked(n).file_name for n in names}

    resolution.problems.extend(
        write_site(site_dir, resolution, config, pin, fetch_pyodide=fetch_pyodide)
    )
    return resolution
