"""The runtime pin: one file (``pins.json``) names each runtime's exact version and hashes.

Everything that needs a runtime version (page config, self-hosted copy, cache names, the build check)
reads it from here, so upgrading a runtime is one rewrite of ``pins.json`` by
``pyrun-docs pin NAME VERSION`` and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PINS_PATH = Path(__file__).with_name("pins.json")

#: Runtime names an author may write in ``runtime``; the first is the default.
RUNTIMES = ("pyodide", "micropython")
#: the runtime whose packages the package store holds (MicroPython has none)
CHECKED_RUNTIME = "pyodide"

#: The npm package and the files a browser needs, per runtime.
_PACKAGES: Mapping[str, tuple[str, str, tuple[str, ...]]] = {
    "pyodide": (
        "pyodide",
        "pyodide.mjs",
        (
            "pyodide.mjs",
            "pyodide.asm.mjs",
            "pyodide.asm.wasm",
            "python_stdlib.zip",
            "pyodide-lock.json",
        ),
    ),
    "micropython": (
        "@micropython/micropython-webassembly-pyscript",
        "micropython.mjs",
        ("micropython.mjs", "micropython.wasm"),
    ),
}


@dataclass(frozen=True)
class PinnedFile:
    """One file of a runtime package, as pinned."""

    name: str
    size: int
    sha256: str
    sri: str  # "sha384-<base64>", usable as a Subresource Integrity value


@dataclass(frozen=True)
class RuntimePin:
    """A runtime pinned to one npm release, with a hash for every file in it."""

    name: str
    package: str
    version: str
    integrity: str  # npm's tarball integrity ("sha512-<base64>")
    entry: str  # the ES module a host imports to boot the runtime
    serve: tuple[str, ...]  # files a browser (and the check) needs
    files: Mapping[str, PinnedFile]
    #: the exact build: the runtime's own build id (Pyodide's ``BUILD_ID``, which its memory
    #: snapshots carry) or, for a runtime without one, a hash of the served files
    build_id: str = ""

    @property
    def key(self) -> str:
        """A versioned name (``pyodide-314.0.7``) for cache folders and site paths."""
        return f"{self.name}-{self.version}"

    @property
    def spec(self) -> str:
        """The npm package spec (``pyodide@314.0.7``)."""
        return f"{self.package}@{self.version}"

    def served_files(self) -> list[PinnedFile]:
        return [self.files[name] for name in self.serve]


def _pin_from_json(name: str, data: Mapping[str, Any]) -> RuntimePin:
    files = {
        fname: PinnedFile(fname, int(f["size"]), str(f["sha256"]), str(f["sri"]))
        for fname, f in data["files"].items()
    }
    return RuntimePin(
        name=name,
        package=str(data["package"]),
        version=str(data["version"]),
        integrity=str(data["integrity"]),
        entry=str(data["entry"]),
        serve=tuple(data["serve"]),
        files=files,
        build_id=str(data.get("build_id", "")),
    )


@cache
def load_pins(path: Path = PINS_PATH) -> dict[str, RuntimePin]:
    """All pinned runtimes, by name."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {name: _pin_from_json(name, data) for name, data in raw.items()}


def get_pin(name: str = "pyodide") -> RuntimePin:
    return load_pins()[name]


def file_digests(data: bytes) -> tuple[str, str]:
    """(sha256 hex, SRI sha384) of some bytes."""
    sri = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")
    return hashlib.sha256(data).hexdigest(), sri


def tarball_integrity(data: bytes) -> str:
    """npm's ``dist.integrity`` of a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


#: how Pyodide's entry module spells its build id (checked against every memory snapshot)
_BUILD_ID = re.compile(rb'BUILD_ID\s*:\s*"([0-9a-f]{64})"')


def build_id_of(entry: bytes, served: Mapping[str, str]) -> str:
    """The runtime's build id: the one in its entry module, else a hash of the served files.

    *served* maps each served file name to its sha256.
    """
    found = _BUILD_ID.search(entry)
    if found:
        return found.group(1).decode("ascii")
    digest = hashlib.sha256()
    for fname in sorted(served):
        digest.update(f"{fname}\0{served[fname]}\n".encode())
    return digest.hexdigest()


def make_pin(name: str, version: str, tarball: Path) -> dict[str, Any]:
    """Build the ``pins.json`` entry for *name* from a downloaded npm tarball."""
    import tarfile  # only when a pin is made (a cached runtime is unpacked)

    package, entry, serve = _PACKAGES[name]
    data = tarball.read_bytes()
    files: dict[str, dict[str, Any]] = {}
    entry_bytes = b""
    with tarfile.open(tarball, "r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.isfile():
                continue
            fname = member.name.split("/", 1)[1]
            handle = tar.extractfile(member)
            assert handle is not None
            content = handle.read()
            if fname == entry:
                entry_bytes = content
            sha256, sri = file_digests(content)
            files[fname] = {"size": len(content), "sha256": sha256, "sri": sri}
    missing = [f for f in serve if f not in files]
    if missing:
        raise ValueError(f"{package}@{version} lacks {', '.join(missing)}")
    return {
        "package": package,
        "version": version,
        "integrity": tarball_integrity(data),
        "entry": entry,
        "serve": list(serve),
        "files": files,
        "build_id": build_id_of(entry_bytes, {f: files[f]["sha256"] for f in serve}),
    }


def write_pin(name: str, entry: Mapping[str, Any], path: Path = PINS_PATH) -> None:
    raw = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    raw[name] = entry
    path.write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    load_pins.cache_clear()
