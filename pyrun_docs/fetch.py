"""Fetch a pinned runtime from the npm registry into a per-user cache, verified.

Why not vendor the runtime: 13 MB of binaries do not belong in a repository or a wheel, and the npm
registry is where Pyodide publishes. We honour the user's npm configuration (mirrors, proxies, auth) by
running ``npm pack`` when npm exists, and otherwise read the registry from ``npm_config_registry`` /
``~/.npmrc`` and download the tarball ourselves. Every byte is verified against the pin before it is
used; a cache that no longer matches the pin is fetched again.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from .errors import RuntimeFetchError
from .runtime import RuntimePin, tarball_integrity

CACHE_ENV = "PYRUN_DOCS_CACHE"
DEFAULT_REGISTRY = "https://registry.npmjs.org/"


def cache_root() -> Path:
    """The user cache folder (``$PYRUN_DOCS_CACHE``, else ``$XDG_CACHE_HOME/pyrun-docs``)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "pyrun-docs"


def runtime_dir(pin: RuntimePin) -> Path:
    return cache_root() / pin.key


def verify_dir(pin: RuntimePin, folder: Path) -> list[str]:
    """Names of the served files in *folder* that are missing or differ from the pin."""
    bad: list[str] = []
    for f in pin.served_files():
        path = folder / f.name
        try:
            if path.stat().st_size != f.size:
                bad.append(f.name)
                continue
            if hashlib.sha256(path.read_bytes()).hexdigest() != f.sha256:
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
    npm = shutil.which("npm")
    if npm:
        with tempfile.TemporaryDirectory(prefix="pyrun-npm-") as tmp:
            try:
                proc = subprocess.run(
                    [npm, "pack", pin.spec, "--pack-destination", tmp, "--silent"],
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
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
    url = f"{npm_registry().rstrip('/')}/{pin.package}/-/{pin.package.split('/')[-1]}-{pin.version}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            body: bytes = resp.read()
            return body
    except OSError as exc:
        raise RuntimeFetchError(
            f"cannot download {url}: {exc}; check the network, or set npm_config_registry "
            f"to a reachable npm registry"
        ) from None


def npm_registry() -> str:
    """The npm registry from ``npm_config_registry`` or ``~/.npmrc``, else the public one."""
    env = os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY")
    if env:
        return env
    npmrc = Path.home() / ".npmrc"
    if npmrc.is_file():
        for line in npmrc.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "registry" and value.strip():
                return value.strip()
    return DEFAULT_REGISTRY
