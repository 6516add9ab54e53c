"""Fetch a pinned runtime from the npm registry into a per-user cache, verified.

Why not vendor the runtime: 13 MB of binaries do not belong in a repository or a wheel, and the npm
registry is where Pyodide publishes. We download the tarball ourselves from the registry the user's
npm configuration names (``npm_config_registry``, ``npm config get registry`` when npm exists,
``~/.npmrc``), so a machine without network fails within :data:`STALL_SECONDS` with a message
that says what to do (``npm pack`` retries for minutes in silence), and the download shows its
progress in bytes on stderr (Sphinx, MkDocs and ``pyrun-docs fetch`` alike). A registry that asks
for credentials is left to ``npm pack``, which knows them. Every byte is verified against the pin
before it is used; a cache that no longer matches the pin is fetched again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from .cache_home import CACHE_ENV, cache_home
from .errors import RuntimeFetchError
from .files import read_json_object, write_atomically
from .runtime import RuntimePin, tarball_integrity

STALL_ENV = "PYRUN_DOCS_FETCH_STALL"
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
DEFAULT_STALL_SECONDS = 10.0


def stall_seconds(value: str | None) -> float:
    """Seconds from :data:`STALL_ENV`'s *value*: a positive number, else the default."""
    try:
        seconds = float(value or "")
    except ValueError:
        return DEFAULT_STALL_SECONDS
    return seconds if 0 < seconds < float("inf") else DEFAULT_STALL_SECONDS


#: seconds a download may go without receiving a byte (a connection included) before it fails:
#: no network is a clear message in seconds, not minutes of silent retries
#: (``$PYRUN_DOCS_FETCH_STALL`` sets it, e.g. for a slow link)
STALL_SECONDS = stall_seconds(os.environ.get(STALL_ENV))


def cache_root() -> Path:
    """The user cache folder (``$PYRUN_DOCS_CACHE``, else ``$XDG_CACHE_HOME/pyrun-docs``)."""
    return Path(cache_home())


def runtime_dir(pin: RuntimePin) -> Path:
    return cache_root() / pin.key


def packages_dir(pin: RuntimePin) -> Path:
    """The verified wheel folder of *pin* (shared by every check and build of this user)."""
    return cache_root() / f"{pin.key}-packages"


#: what :func:`sha256_of` hashed, by path: ``[size, mtime_ns, ctime_ns, inode, sha256]``; kept in
#: :data:`DIGESTS_FILE` for the next commands (``None``: not read yet)
_digests: dict[str, list[Any]] | None = None
_digests_lock = threading.Lock()
#: ``<cache root>/digests.json``: the SHA-256 of each verified file, by path and stamp
DIGESTS_FILE = "digests.json"
#: paths kept in :data:`DIGESTS_FILE` (the least recently hashed go first)
DIGESTS_KEPT = 256


def _stamp(path: Path) -> list[int]:
    """What changes whenever a file's contents can have: its size, modification and change times
    (the change time cannot be set back), and its inode (a file replaced by a rename)."""
    info = path.stat()
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def _known() -> dict[str, list[Any]]:
    global _digests
    if _digests is None:
        stored = read_json_object(cache_root() / DIGESTS_FILE)
        _digests = {k: v for k, v in stored.items() if isinstance(v, list) and len(v) == 5}
    return _digests


def sha256_of(path: Path) -> str:
    """The SHA-256 of *path*, hashed once while its stamp stays (:func:`_stamp`), also across
    commands (:data:`DIGESTS_FILE`).

    Why: every check verifies the ~13 MB runtime and a ~30 MB interpreter snapshot before Node
    may read them, ~70 ms of hashing on the way to the first page; the files are written once,
    atomically, and never changed in place (a used snapshot is marked on its digest file, not
    touched), so an unchanged stamp means unchanged bytes. Anything that writes the file changes
    its change time, which nothing can set back.

    Raises:
        OSError: the file cannot be read.
    """
    stamp = _stamp(path)
    key = str(path.absolute())
    with _digests_lock:
        known = _known().get(key)
    if known is not None and known[:4] == stamp:
        return str(known[4])
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    with _digests_lock:
        digests = _known()
        digests.pop(key, None)
        digests[key] = [*stamp, digest.hexdigest()]  # the stamp from before: a change rehashes
        while len(digests) > DIGESTS_KEPT:
            digests.pop(next(iter(digests)))
        try:
            write_atomically(cache_root() / DIGESTS_FILE, json.dumps(digests).encode("utf-8"))
        except OSError:
            pass  # hashed again next time
    return digest.hexdigest()


def verify_dir(pin: RuntimePin, folder: Path) -> list[str]:
    """Names of the served files in *folder* that are missing or differ from the pin."""
    bad: list[str] = []
    for f in pin.served_files():
        path = folder / f.name
        try:
            if path.stat().st_size != f.size or sha256_of(path) != f.sha256:
                bad.append(f.name)
        except OSError:
            bad.append(f.name)
    return bad


def ensure_runtime(pin: RuntimePin, *, offline: bool = False) -> Path:
    """Return a folder holding the verified served files of *pin*, fetching them if needed.

    A second call finds the cache and touches no network. A damaged cache is fetched again.

    Raises:
        RuntimeFetchError: the cache is not writable, the registry is unreachable, or the
            download does not match the pin. The message says what to do.
    """
    target = runtime_dir(pin)
    if target.is_dir() and not verify_dir(pin, target):
        return target
    if offline:
        raise RuntimeFetchError(
            f"the {pin.spec} runtime is not in the cache {target} and fetching is disabled"
        )
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=root, prefix=".probe-", delete=True)
        probe.close()
    except OSError as exc:
        raise RuntimeFetchError(
            f"cannot write the runtime cache directory {root} ({exc.strerror or exc}); "
            f"set the environment variable {CACHE_ENV} to a writable directory"
        ) from None
    data = _download_tarball(pin)
    actual = tarball_integrity(data)
    if actual != pin.integrity:
        raise RuntimeFetchError(
            f"the downloaded {pin.spec} tarball does not match the pinned integrity "
            f"(expected {pin.integrity[:30]}..., got {actual[:30]}...); check your npm registry "
            "or mirror, it may serve a modified package"
        )
    staging = Path(tempfile.mkdtemp(prefix=f".{pin.key}-", dir=root))
    try:
        _unpack(pin, data, staging)
        bad = verify_dir(pin, staging)
        if bad:
            raise RuntimeFetchError(f"{pin.spec}: files do not match the pin: {', '.join(bad)}")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _unpack(pin: RuntimePin, data: bytes, dest: Path) -> None:
    import tarfile  # only on a download (the cache holds unpacked files)

    wanted = set(pin.serve)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.split("/", 1)[-1]
            if name not in wanted or not member.isfile():
                continue
            handle = tar.extractfile(member)
            assert handle is not None
            (dest / name).write_bytes(handle.read())


def _download_tarball(pin: RuntimePin) -> bytes:
    """The pinned tarball's bytes, from the npm registry the user configured."""
    registry = npm_registry()
    url = tarball_url(registry, pin)
    try:
        return _http_get(url, pin.spec)
    except _AuthRequired:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeFetchError(
                f"{url} asks for credentials and npm is not installed to supply them; install "
                "npm (it reads them from ~/.npmrc) or set npm_config_registry to a public mirror"
            ) from None
        return _npm_pack(npm, pin)


def tarball_url(registry: str, pin: RuntimePin) -> str:
    """Where *registry* serves the pinned tarball (npm's layout: ``<pkg>/-/<name>-<ver>.tgz``)."""
    name = pin.package.split("/")[-1]
    return f"{registry.rstrip('/')}/{pin.package}/-/{name}-{pin.version}.tgz"


class _AuthRequired(Exception):
    """The registry answered 401/403: credentials only npm knows are needed."""


def _http_get(url: str, spec: str) -> bytes:
    """Download *url*, showing progress; give up after :data:`STALL_SECONDS` without a byte."""
    import http.client  # networking is imported only when something is downloaded
    import urllib.error

    what = f"cannot download {url}"
    hint = (
        "check the network, or set npm_config_registry to a reachable npm registry "
        "(then `pyrun-docs fetch` fills the cache once; builds after that need no network)"
    )
    _say(f"pyrun: fetching {spec} from {url}")
    try:
        with _open(url) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            shown = DownloadProgress(spec, total)
            chunks: list[bytes] = []
            done = 0
            while chunk := resp.read(64 * 1024):
                chunks.append(chunk)
                done += len(chunk)
                shown.update(done)
            shown.finish(done)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise _AuthRequired from None
        raise RuntimeFetchError(f"{what}: HTTP {exc.code} {exc.reason}; {hint}") from None
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            reason = f"no answer for {STALL_SECONDS:g} s"
        raise RuntimeFetchError(f"{what}: {reason}; {hint}") from None


def _open(url: str) -> Any:
    """``urlopen`` with a deadline that also covers the name lookup: a socket timeout does not, and
    a machine whose DNS server is unreachable would otherwise wait for the resolver's retries."""
    import urllib.request

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["response"] = urllib.request.urlopen(url, timeout=STALL_SECONDS)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    worker = threading.Thread(target=run, name="pyrun-fetch", daemon=True)
    worker.start()
    worker.join(STALL_SECONDS)
    if worker.is_alive():
        raise TimeoutError("timed out")
    if "error" in box:
        raise box["error"]
    return box["response"]


class DownloadProgress:
    """Bytes downloaded so far, on stderr: redrawn in place on a terminal, otherwise a line at
    every quarter (CI logs stay short), so a first build never sits silent for a minute."""

    def __init__(self, spec: str, total: int, stream: TextIO | None = None) -> None:
        self.spec = spec
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._drawn = 0.0
        self._quarter = 0

    def update(self, done: int) -> None:
        if self.tty:
            now = time.monotonic()
            if now - self._drawn >= 0.2:
                self._drawn = now
                self.stream.write(f"\r{self._line(done)}")
                self.stream.flush()
        elif self.total and done * 4 >= (self._quarter + 1) * self.total:
            self._quarter = done * 4 // self.total
            if self._quarter < 4:  # the last quarter is the finish line
                self._write(self._line(done))

    def finish(self, done: int) -> None:
        self._write(("\r" if self.tty else "") + self._line(done) + ", verifying")

    def _line(self, done: int) -> str:
        if not self.total:
            return f"pyrun: {self.spec}: {_mb(done)}"
        return f"pyrun: {self.spec}: {_mb(done)} of {_mb(self.total)}"

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _npm_pack(npm: str, pin: RuntimePin) -> bytes:
    """``npm pack`` the pin (for registries that need npm's credentials), without npm's minutes of
    retries: one attempt, :data:`STALL_SECONDS` per request."""
    with tempfile.TemporaryDirectory(prefix="pyrun-npm-") as tmp:
        cmd = [npm, "pack", pin.spec, "--pack-destination", tmp, "--silent",
               "--fetch-retries=0", f"--fetch-timeout={int(STALL_SECONDS * 1000)}"]  # fmt: skip
        _say(f"pyrun: fetching {pin.spec} with npm pack (the registry asks for credentials)")
        try:
            proc = subprocess.run(
                cmd, cwd=tmp, capture_output=True, text=True, timeout=600, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeFetchError(f"`npm pack {pin.spec}` failed: {exc}") from None
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode == 0 and tarballs:
            return tarballs[0].read_bytes()
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeFetchError(
            f"`npm pack {pin.spec}` failed: {' / '.join(detail) or 'no tarball'}; check the "
            "network and your npm registry configuration (npm config get registry)"
        )


def npm_registry() -> str:
    """The npm registry from ``npm_config_registry``, npm's own configuration (every ``.npmrc`` it
    reads, when npm is installed) or ``~/.npmrc``, else the public one."""
    env = os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY")
    if env:
        return env
    npm = shutil.which("npm")
    if npm:
        try:
            proc = subprocess.run(
                [npm, "config", "get", "registry"],
                capture_output=True,
                text=True,
                timeout=STALL_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            proc = None
        value = proc.stdout.strip() if proc is not None and proc.returncode == 0 else ""
        if value.startswith(("http://", "https://")):
            return value
    npmrc = Path.home() / ".npmrc"
    if npmrc.is_file():
        for line in npmrc.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "registry" and value.strip():
                return value.strip()
    return DEFAULT_REGISTRY
