"""``pyrun-docs serve``: the static server for built docs."""

from __future__ import annotations

import socket
import struct
import time
import urllib.request
from pathlib import Path

import pytest

from pyrun_docs.serve import serve_in_thread


def test_runtime_mime_types_and_no_cached_html(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>hi</p>")
    (tmp_path / "a.wasm").write_bytes(b"\0asm")
    (tmp_path / "b.mjs").write_text("export {}")
    url, server = serve_in_thread(tmp_path)
    try:
        with urllib.request.urlopen(url + "a.wasm") as r:
            assert r.headers["Content-Type"] == "application/wasm"
        with urllib.request.urlopen(url + "b.mjs") as r:
            assert r.headers["Content-Type"] == "text/javascript"
        with urllib.request.urlopen(url + "index.html") as r:
            assert r.headers["Cache-Control"] == "no-cache"
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_a_reader_leaving_mid_download_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A closed tab aborts a runtime download: the server goes on, without a traceback."""
    (tmp_path / "big.wasm").write_bytes(b"\0" * 8_000_000)
    url, server = serve_in_thread(tmp_path)
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    try:
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /big.wasm HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.recv(1024)
            # close with a reset (no lingering), as a browser does when a tab goes away
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        time.sleep(0.5)
        with urllib.request.urlopen(url + "big.wasm") as r:  # still serving
            assert len(r.read()) == 8_000_000
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err, err
