"""The runtime pin and the verified fetch into the user cache."""

from __future__ import annotations

import http.server
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyrun_docs import fetch
from pyrun_docs.assets import SITE_DIR, copy_site_assets
from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import RuntimeFetchError
from pyrun_docs.render import page_config
from pyrun_docs.runtime import RUNTIMES, file_digests, get_pin, load_pins


def test_pins_are_complete() -> None:
    pins = load_pins()
    assert set(pins) == set(RUNTIMES)
    py = pins["pyodide"]
    assert py.version == "314.0.7"
    assert py.integrity.startswith("sha512-")
    assert py.entry in py.serve
    for f in py.files.values():
        assert len(f.sha256) == 64 and f.sri.startswith("sha384-") and f.size > 0
    assert {"pyodide.mjs", "pyodide.asm.wasm", "python_stdlib.zip"} <= set(py.serve)


def test_everything_reads_the_same_pin(tmp_path: Path, runtime_cache: Path) -> None:
    pin = get_pin("pyodide")
    assert runtime_cache.name == pin.key
    assert page_config(PyrunConfig())["runtimes"]["pyodide"]["base"] == f"{pin.key}/"
    site = copy_site_assets(tmp_path, PyrunConfig(), {"pyodide"})
    assert site == tmp_path / SITE_DIR
    assert not fetch.verify_dir(pin, site / pin.key)
    for f in pin.served_files():
        sha, sri = file_digests((site / pin.key / f.name).read_bytes())
        assert (sha, sri) == (f.sha256, f.sri)


def test_cached_runtime_is_reused_without_network(
    runtime_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(pin: object) -> bytes:
        raise AssertionError("the network was used although the cache is valid")

    monkeypatch.setattr(fetch, "_download_tarball", no_network)
    assert fetch.ensure_runtime(get_pin("pyodide")) == runtime_cache


def _fake_cache(tmp_path: Path, runtime_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "cache"))
    target = fetch.runtime_dir(get_pin("pyodide"))
    shutil.copytree(runtime_cache, target)
    return target


def _tarball_from(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=f"package/{path.name}")
    return buf.getvalue()


def test_corrupted_cache_is_detected_and_fetched_again(
    tmp_path: Path, runtime_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _fake_cache(tmp_path, runtime_cache, monkeypatch)
    (target / "python_stdlib.zip").write_bytes(b"garbage")
    pin = get_pin("pyodide")
    assert fetch.verify_dir(pin, target) == ["python_stdlib.zip"]
    calls: list[str] = []
    real = _tarball_from(runtime_cache)

    def download(p: object) -> bytes:
        calls.append("download")
        return real

    monkeypatch.setattr(fetch, "_download_tarball", download)
    # our re-packed tarball has the right files but not npm's exact bytes: the integrity check
    # must refuse it, and the damaged cache must not be used
    with pytest.raises(RuntimeFetchError, match="does not match the pinned integrity"):
        fetch.ensure_runtime(pin)
    assert calls == ["download"]
    monkeypatch.setattr("pyrun_docs.fetch.tarball_integrity", lambda data: pin.integrity)
    assert fetch.ensure_runtime(pin) == target
    assert not fetch.verify_dir(pin, target)


def test_tampered_download_is_rejected(
    tmp_path: Path, runtime_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "cache"))
    src = tmp_path / "evil"
    shutil.copytree(runtime_cache, src)
    (src / "pyodide.mjs").write_text("alert('owned')")
    pin = get_pin("pyodide")
    monkeypatch.setattr(fetch, "_download_tarball", lambda p: _tarball_from(src))
    monkeypatch.setattr("pyrun_docs.fetch.tarball_integrity", lambda data: pin.integrity)
    with pytest.raises(RuntimeFetchError, match=r"files do not match the pin: pyodide\.mjs"):
        fetch.ensure_runtime(pin)
    assert not fetch.runtime_dir(pin).exists()


def test_unwritable_cache_names_directory_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv(fetch.CACHE_ENV, str(blocker / "cache"))
    with pytest.raises(RuntimeFetchError) as info:
        fetch.ensure_runtime(get_pin("pyodide"))
    message = str(info.value)
    assert str(blocker / "cache") in message
    assert fetch.CACHE_ENV in message


def test_cache_location_honours_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(fetch.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert fetch.cache_root() == tmp_path / "pyrun-docs"
    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "mine"))
    assert fetch.cache_root() == tmp_path / "mine"


def test_npm_registry_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("npm_config_registry", "https://mirror.example/npm/")
    assert fetch.npm_registry() == "https://mirror.example/npm/"


def test_build_id_is_the_runtimes_own(runtime_cache: Path) -> None:
    """The pin's build id is the one Pyodide writes into (and checks in) its memory snapshots."""
    from pyrun_docs.runtime import build_id_of

    pin = get_pin("pyodide")
    entry = (runtime_cache / pin.entry).read_bytes()
    assert len(pin.build_id) == 64
    assert f'BUILD_ID:"{pin.build_id}"'.encode() in entry
    served = {f.name: f.sha256 for f in pin.served_files()}
    assert build_id_of(entry, served) == pin.build_id
    assert build_id_of(b"no id here", served) == build_id_of(b"", served) != pin.build_id


# ----------------------------------------------------------- no network: fail fast, say what to do


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A registry that accepts connections and never answers (a dead proxy, a captive network)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)  # the kernel completes the handshakes; nobody ever reads or replies
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    server.close()


def test_unanswering_registry_fails_once_with_the_message(tmp_path: Path, blackhole: str) -> None:
    """``pyrun-docs fetch`` against a registry that never answers: one attempt that gives up after
    STALL_SECONDS (no npm retries), the clear message, exit status 2, no traceback. The test sets
    it to 1 s (``PYRUN_DOCS_FETCH_STALL``); the default is 10 s (the next test)."""
    env = {
        **os.environ,
        fetch.CACHE_ENV: str(tmp_path / "cache"),
        fetch.STALL_ENV: "1",
        "npm_config_registry": blackhole,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pyrun_docs", "fetch"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    pin = get_pin("pyodide")
    assert f"pyrun: fetching {pin.spec} from {blackhole}" in proc.stderr
    assert f"cannot download {fetch.tarball_url(blackhole, pin)}" in proc.stderr
    assert "no answer for 1 s" in proc.stderr
    assert "check the network" in proc.stderr and "npm_config_registry" in proc.stderr
    assert "Traceback" not in proc.stderr and "npm pack" not in proc.stderr


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, 10.0), ("", 10.0), ("2.5", 2.5), ("30", 30.0), ("0", 10.0), ("-1", 10.0),
     ("soon", 10.0), ("nan", 10.0), ("inf", 10.0)],
)  # fmt: skip
def test_the_stall_limit_is_10_s_unless_set(value: str | None, seconds: float) -> None:
    """``PYRUN_DOCS_FETCH_STALL``: a positive number of seconds; anything else is the default."""
    assert fetch.DEFAULT_STALL_SECONDS == 10.0
    assert fetch.stall_seconds(value) == seconds


def test_refused_registry_fails_with_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")  # discard port: refused
    with pytest.raises(RuntimeFetchError) as info:
        fetch.ensure_runtime(get_pin("pyodide"))
    assert "cannot download http://127.0.0.1:9/" in info.value.message
    assert "refused" in info.value.message and "check the network" in info.value.message


class _TarballHandler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def test_download_shows_its_progress_in_bytes(
    tmp_path: Path,
    runtime_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A real HTTP download from a local registry: progress lines on stderr (not a terminal: one
    per quarter), then the verified runtime in the cache."""
    pin = get_pin("pyodide")
    _TarballHandler.body = _tarball_from(runtime_cache)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TarballHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "cache"))
        monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{server.server_port}/")
        # our re-packed tarball has the pinned files but not npm's exact bytes
        monkeypatch.setattr("pyrun_docs.fetch.tarball_integrity", lambda data: pin.integrity)
        target = fetch.ensure_runtime(pin)
    finally:
        server.shutdown()
        server.server_close()
    assert not fetch.verify_dir(pin, target)
    err = capsys.readouterr().err
    total = f"{len(_TarballHandler.body) / 1_000_000:.1f} MB"
    lines = [ln for ln in err.splitlines() if ln.startswith(f"pyrun: {pin.spec}: ")]
    assert len(lines) == 4, err  # a quarter, a half, three quarters, done
    assert all(ln.split(": ")[2].endswith(f" of {total}") or "verifying" in ln for ln in lines)
    assert lines[-1] == f"pyrun: {pin.spec}: {total} of {total}, verifying"


def test_a_hanging_name_lookup_is_covered_by_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A socket timeout does not cover DNS: an unreachable DNS server must not outlast it."""
    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("npm_config_registry", "http://registry.invalid/")
    monkeypatch.setattr(fetch, "STALL_SECONDS", 0.5)
    release = threading.Event()

    def hanging_lookup(*args: object, **kwargs: object) -> list[Any]:
        release.wait(30)
        raise OSError("released")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    try:
        with pytest.raises(RuntimeFetchError) as info:
            fetch.ensure_runtime(get_pin("pyodide"))
    finally:
        release.set()
    assert "no answer for 0.5 s" in info.value.message


def test_a_file_is_hashed_once_while_it_stays_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runtime and the snapshots are verified by the spare harness and by the check, in this
    command and the next: the second verification of an unchanged file hashes nothing, also in a
    new process (the digests are kept in the cache); any change of its contents (a new time,
    size or inode, even with its old modification time put back) is hashed again."""
    import hashlib

    hashed: list[int] = []
    real = hashlib.sha256

    def counting(*args: Any) -> Any:
        hashed.append(1)
        return real(*args)

    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(fetch, "_digests", None)
    monkeypatch.setattr(fetch.hashlib, "sha256", counting)
    path = tmp_path / "runtime.wasm"
    path.write_bytes(b"a" * 100)
    first = fetch.sha256_of(path)
    assert fetch.sha256_of(path) == first and len(hashed) == 1
    monkeypatch.setattr(fetch, "_digests", None)  # the next command
    assert fetch.sha256_of(path) == first and len(hashed) == 1
    assert (tmp_path / "cache" / fetch.DIGESTS_FILE).is_file()
    stamp = path.stat().st_mtime_ns
    time.sleep(0.02)  # past the file system's clock tick
    path.write_bytes(b"b" * 100)  # same size, damaged, its time put back
    os.utime(path, ns=(stamp, stamp))
    monkeypatch.setattr(fetch, "_digests", None)
    assert fetch.sha256_of(path) == real(b"b" * 100).hexdigest() != first
    assert len(hashed) == 2
