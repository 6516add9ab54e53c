"""Folders on the examples' ``sys.path`` (``path``; Sphinx: ``doctest_path``) as one pure wheel.

``sphinx.ext.doctest`` puts ``doctest_path`` on ``sys.path`` before it runs examples, and projects
use it: helpers from a tests folder that ``doctest_global_setup`` imports (``from _util import
MockRemote``), an ``examples`` folder, or the project itself from its source tree. A reader's
browser and the headless check have no such folder, so every example importing from one went
static ("No module named ..."). The build packs what can be imported from each folder, its
top-level modules and packages, into a pure wheel that every interpreter installs, as it installs
the project's; a name the project's own wheel provides is left out (its copy wins, as it is the
one the docs are about), and an earlier folder wins over a later one, as on ``sys.path``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from .files import write_atomically
from .package_store import LockedPackage

#: the wheel's distribution name (one per site), and its version
NAME, VERSION = "pyrun-path", "0"
#: more than this is not a folder of helpers but a tree (``doctest_path = ["/"]``): refused
MAX_FILES, MAX_BYTES = 5000, 50_000_000
_SKIP_DIRS = {"__pycache__"}
#: the earliest time a zip entry can have: the same files give the same wheel, the same hash
_EPOCH = (1980, 1, 1, 0, 0, 0)


class PathTooBig(Exception):
    """A folder holds more than a wheel of helpers should (:data:`MAX_FILES`, :data:`MAX_BYTES`)."""


def importable(folder: Path, exclude: Iterable[str] = ()) -> dict[str, list[Path]]:
    """The top-level modules and packages of *folder* and their files, by import name.

    A module is a ``.py`` file, a package a folder with an ``__init__.py`` (every file under it
    but caches). Raises :class:`PathTooBig` past the limits.
    """
    skip = set(exclude)
    found: dict[str, list[Path]] = {}
    count = size = 0
    for entry in sorted(folder.iterdir()):
        name = entry.stem if entry.is_file() else entry.name
        if name in skip or not name.isidentifier():
            continue
        if entry.is_file() and entry.suffix == ".py":
            files = [entry]
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            files = []
            for root, dirs, names in os.walk(entry):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
                files += [Path(root, n) for n in sorted(names) if not n.endswith((".pyc", ".pyo"))]
        else:
            continue
        count += len(files)
        size += sum(f.stat().st_size for f in files)
        if count > MAX_FILES or size > MAX_BYTES:
            raise PathTooBig(
                f"{folder} holds more than {MAX_FILES} files or {MAX_BYTES // 1_000_000} MB of "
                "modules"
            )
        found[name] = files
    return found


def path_wheel(
    folders: Sequence[Path], cache: Path, exclude: Iterable[str] = ()
) -> tuple[LockedPackage | None, list[str]]:
    """One wheel of the modules of *folders*, stored in *cache* by its content.

    Returns:
        The wheel as a package every interpreter installs (``None``: nothing importable), and
        problems (a folder that does not exist, or is too big), each a sentence.
    """
    problems: list[str] = []
    members: dict[str, Path] = {}  # archive name -> file
    imports: list[str] = []
    taken = set(exclude)
    for folder in folders:
        if not folder.is_dir():
            problems.append(f"{folder} is not a folder")
            continue
        try:
            found = importable(folder, taken)
        except PathTooBig as exc:
            problems.append(f"{exc}; name the folder of the modules the examples import")
            continue
        for name, files in found.items():
            taken.add(name)
            imports.append(name)
            for file in files:
                members[file.relative_to(folder).as_posix()] = file
    if not members:
        return None, problems
    contents = {arcname: file.read_bytes() for arcname, file in sorted(members.items())}
    digest = hashlib.sha256()
    for arcname, data in contents.items():
        digest.update(arcname.encode() + b"\0" + hashlib.sha256(data).digest())
    file_name = f"{NAME.replace('-', '_')}-{VERSION}-py3-none-any.whl"
    wheel = cache / digest.hexdigest()[:24] / file_name
    if not wheel.is_file():
        write_atomically(wheel, _wheel_bytes(contents, sorted(imports)))
    package = LockedPackage(
        name=NAME,
        version=VERSION,
        source="project",
        file_name=file_name,
        sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
        imports=sorted(imports),
        path=wheel,
    )
    return package, problems


def _wheel_bytes(contents: dict[str, bytes], imports: list[str]) -> bytes:
    import io

    dist_info = f"{NAME.replace('-', '_')}-{VERSION}.dist-info"
    files = dict(contents)
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
        "Summary: modules of the docs' sys.path folders, packed by pyrun-docs\n"
    ).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: pyrun-docs\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{dist_info}/top_level.txt"] = "".join(f"{n}\n" for n in imports).encode()
    record = [
        f"{name},sha256={_urlsafe(hashlib.sha256(data).digest())},{len(data)}"
        for name, data in files.items()
    ]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def _urlsafe(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
