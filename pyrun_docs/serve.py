"""A small static server for built docs, with the MIME types a runtime needs.

``python -m http.server`` serves ``.wasm`` correctly on recent Pythons but not everywhere, and a wrong
type makes ``loadPyodide`` hang; this server pins the types that matter and never caches HTML.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".py": "text/x-python",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}


class DocsRequestHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 (the base class declares it this way)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        **MIME_TYPES,
    }

    def end_headers(self) -> None:
        if self.path.split("?")[0].endswith((".html", "/")):
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            # the browser went away mid-response (a closed tab, a download it no longer needs):
            # nothing to report, where socketserver would print a traceback
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


def make_server(
    root: Path, host: str = "127.0.0.1", port: int = 8000, *, verbose: bool = False
) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(DocsRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.verbose = verbose  # type: ignore[attr-defined]
    server.daemon_threads = True
    return server


def serve_in_thread(root: Path, host: str = "127.0.0.1", port: int = 0) -> tuple[str, object]:
    """Start a server in a daemon thread; return its base URL and the server (for shutdown)."""
    server = make_server(root, host, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://{host}:{server.server_address[1]}/", server
