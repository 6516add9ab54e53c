"""What a docs build read from a project, kept while the files it read are unchanged.

``pyrun-docs check`` on a Sphinx project with ``pyrun_upgrade`` gets its snippets from Sphinx's
reading phase (docstrings, includes, doctest directives), and starting Sphinx costs more than the
whole check of an unchanged tree: importing it, loading every extension and unpickling the
environment take most of a second before Sphinx finds that nothing changed. A :class:`ReadMemo`
keeps what the read produced together with a stamp (size and modification time, as Sphinx and
``make`` compare them) of every file the read depended on, and gives it back without starting
Sphinx while every stamp is unchanged.

It is as careful as Sphinx's own incremental build: a memo is used only when its *key* (what the
caller says the read depends on besides files: the configuration's values, the tools' versions,
our own code) and every file and folder match, by stamp or, where the stamp changed, by content (a
file's bytes, a folder's entry names: a ``conf.py`` that writes an included file again on every
build changes no content); any other difference, a missing or damaged memo, or a file that changed
while it was read means reading again. Folders are kept so a new page in one of them is seen.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pickle
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PyrunError
from .files import write_atomically
from .snippet import Snippet

#: seconds a read's start is taken back for :meth:`ReadMemo.save`: a file changed this close to
#: the read may show an older time (FAT keeps 2 s steps)
COARSE_MTIME = 2.0
#: bump when what is kept changes shape
FORMAT = 1
#: the code whose behaviour the kept read depends on: our packages (adapters included)
_CODE_SUFFIXES = (".py", ".mjs", ".json")


@dataclass
class ProjectRead:
    """What a build's read of a project found for the check."""

    #: the snippets of each page (docname), in document order
    pages: dict[str, list[Snippet]]
    #: each page's source file (every page read, also those without snippets)
    sources: dict[str, Path]
    #: our warnings that mean a snippet lost an option or was dropped (errors for the check)
    problems: list[PyrunError]
    #: the build's other warnings, as text
    warnings: str


def project_memo(
    cache: Path, confdir: Path, conf_digest: str, tools: Sequence[str]
) -> ReadMemo | None:
    """The kept read of the project configured in *confdir* (``None`` without a digest of its
    configuration: nothing may be kept then). *tools*: the modules whose ``__version__`` the
    read depends on (``sphinx``, ``docutils``), imported without their heavy parts."""
    if not conf_digest:
        return None
    versions = [str(getattr(importlib.import_module(t), "__version__", "")) for t in tools]
    key = json.dumps([str(confdir.resolve()), conf_digest, *versions, code_stamp(), _here()])
    return ReadMemo(read_folder(cache, confdir) / "memo", key)


def mkdocs_memo(cache: Path, config_file: Path) -> ReadMemo | None:
    """The kept read of the MkDocs project of *config_file* (``None`` when its configuration may
    depend on more than its own text: ``INHERIT`` of another file, ``!ENV`` values)."""
    import importlib.metadata

    text = config_file.read_text(encoding="utf-8", errors="replace")
    if "INHERIT" in text or "!ENV" in text:
        return None
    versions = []
    for dist in ("mkdocs", "mkdocstrings", "mkdocstrings-python", "griffelib", "griffe"):
        try:
            versions.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{dist}: none")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    key = json.dumps([str(config_file.resolve()), digest, *versions, code_stamp(), _here()])
    return ReadMemo(read_folder(cache, config_file.parent) / "mkdocs-memo", key)


def _here() -> str:
    """Where the command runs: a read keeps its snippets' paths relative to it (a check run
    from ``docs/`` reported ``docs/index.rst:4``, the path of an earlier check from the
    project's root)."""
    return os.getcwd()


def read_folder(cache: Path, confdir: Path) -> Path:
    """Where a build's read of the project in *confdir* keeps its files, under the check cache:
    one per folder the command runs in, as the snippets' paths in Sphinx's kept environment are
    relative to it (an unchanged page read from another folder kept the first one's paths,
    ``--no-cache`` too: zope.exceptions' ``zope_exceptions-6.0/docs-pyrun/narr.rst:113``)."""
    key = f"{confdir.resolve()}|{_here()}"
    return cache / "sphinx-read" / hashlib.sha256(key.encode()).hexdigest()[:16]


def stamp_of(path: str | Path) -> list[int]:
    """``[mtime_ns, size]`` of *path* (``[-1, -1]`` when it is not there)."""
    try:
        st = os.stat(path)
    except OSError:
        return [-1, -1]
    return [st.st_mtime_ns, st.st_size]


def code_stamp() -> str:
    """A digest of our own installed code (every module's stamp), so a changed pyrun-docs, an
    upgrade or an edit in a development checkout, never reuses what older code read."""
    import importlib.util

    digest = hashlib.sha256(sys.version.encode())
    for name in ("pyrun_docs", "pyrun_docs.sphinx_ext", "pyrun_docs.mkdocs_plugin"):
        spec = importlib.util.find_spec(name)
        folders = spec.submodule_search_locations if spec is not None else None
        for folder in sorted(folders or []):
            for root, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for file in sorted(files):
                    if file.endswith(_CODE_SUFFIXES):
                        path = os.path.join(root, file)
                        digest.update(f"{path}\0{stamp_of(path)}\n".encode())
    return digest.hexdigest()


def plain_values(namespace: Mapping[str, Any]) -> str:
    """The plain-data values of a configuration namespace (strings, numbers, and containers of
    them; modules, functions and objects left out) as stable text, for a memo's key: a
    ``conf.py`` whose values depend on the environment or on other files reads differently when
    they change even though its own text does not."""
    kept = {
        name: _plain(value)
        for name, value in namespace.items()
        if not name.startswith("__") and _plain(value) is not _NOT_PLAIN
    }
    return json.dumps(kept, sort_keys=True, default=str)


_NOT_PLAIN = object()


def _plain(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth > 20:
        return _NOT_PLAIN
    if isinstance(value, (list, tuple)):
        items = [_plain(v, depth + 1) for v in value]
        return _NOT_PLAIN if any(i is _NOT_PLAIN for i in items) else items
    if isinstance(value, (set, frozenset)):
        items = [_plain(v, depth + 1) for v in value]
        if any(i is _NOT_PLAIN for i in items):
            return _NOT_PLAIN
        return sorted(items, key=repr)  # a set's order changes between processes
    if isinstance(value, dict):
        pairs = {str(k): _plain(v, depth + 1) for k, v in value.items()}
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in pairs.values()) else pairs
    return _NOT_PLAIN


def digest_of(path: str | Path) -> str | None:
    """The SHA-256 of a file's bytes, or of a folder's sorted entry names (what a read depends on
    in a folder: which pages are there); ``None``: neither can be read."""
    try:
        if os.path.isdir(path):
            names = "\n".join(sorted(os.listdir(path)))
            return "folder:" + hashlib.sha256(names.encode("utf-8", "surrogateescape")).hexdigest()
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def settled_files(folder: Path, since: float) -> dict[str, str]:
    """The digest of every file and folder under *folder* (itself too) changed at *since*
    (``time.time()``) or later, by resolved path: taken as Sphinx starts reading the pages,
    after ``conf.py`` ran, so that a file ``conf.py`` writes on every build (an included
    ``README`` it converts, a generated listing, and the folder it makes for it) can be kept in
    a memo when the read ended with the same bytes (see :meth:`ReadMemo.save`)."""
    limit = int(since * 1e9)
    found: dict[str, str] = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for path in [root, *(os.path.join(root, name) for name in files)]:
            if stamp_of(path)[0] >= limit and (digest := digest_of(path)) is not None:
                found[str(Path(path).resolve())] = digest
    return found


class ReadMemo:
    """One kept read in *folder* (``memo.json``: key, stamps and the files' digests;
    ``memo.pickle``: the value).

    A file whose stamp changed but whose bytes did not (written again with the same text, as a
    ``conf.py`` that generates an included file does on every build, or touched), or a folder
    whose entries are the same, still counts as unchanged: Sphinx would read it again, but what
    it read is the same.
    """

    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        self.key = key
        self._index = folder / "memo.json"
        self._value = folder / "memo.pickle"

    def load(self) -> Any | None:
        """The kept value when the key and every stamp still match, else ``None``."""
        try:
            index = json.loads(self._index.read_text(encoding="utf-8"))
            if index.get("format") != FORMAT or index.get("key") != self.key:
                return None
            digests = index.get("digests") or {}
            for path, stamp in index["stamps"].items():
                if stamp_of(path) != stamp and (
                    path not in digests or digest_of(path) != digests[path]
                ):
                    return None
            data = self._value.read_bytes()
            if hashlib.sha256(data).hexdigest() != index["value_sha256"]:
                return None
            return pickle.loads(data)  # our own file in the user's cache, checked above
        except Exception:  # missing, damaged, from other code: read again
            return None

    def save(
        self,
        value: Any,
        paths: Iterable[str | Path],
        read_started: float,
        settled: Mapping[str, str] | None = None,
    ) -> bool:
        """Keep *value* with the stamps and digests (:func:`digest_of`) of *paths* (files and
        folders the read depended on).

        Nothing is kept when one of them changed after *read_started* (``time.time()`` before the
        read began): what was read may be older than its stamp. Except a file in *settled*
        (:func:`settled_files`, taken when the pages began to be read) that still has the bytes
        it had then: it was written before Sphinx read it (by ``conf.py``). Returns whether it
        was kept.
        """
        stamps = {str(Path(p).resolve()): stamp_of(p) for p in paths}
        digests = {path: digest_of(path) for path in stamps}
        limit = int(read_started * 1e9)
        settled = settled or {}
        if any(
            stamp[0] >= limit and (path not in settled or digests.get(path) != settled[path])
            for path, stamp in stamps.items()
        ):
            self.forget()
            return False
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        index = {
            "format": FORMAT,
            "key": self.key,
            "stamps": stamps,
            "digests": {path: digest for path, digest in digests.items() if digest is not None},
            "value_sha256": hashlib.sha256(data).hexdigest(),
            "written": time.time(),
        }
        try:  # write_atomically makes the folder
            write_atomically(self._value, data)
            write_atomically(self._index, json.dumps(index).encode())
        except OSError:  # a read-only cache: the next check reads again
            return False
        return True

    def forget(self) -> None:
        """Drop the kept read (the next lookup reads again)."""
        self._index.unlink(missing_ok=True)
