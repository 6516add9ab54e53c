"""The asset pipeline in real Chromium: verified runtime files, nothing loaded before Run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from test_browser import RUNTIME_DIR, click_run, open_page, output

from pyrun_docs.serve import serve_in_thread

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name", ["pyodide.asm.wasm", "python_stdlib.zip", "pyodide.mjs"])
def test_tampered_runtime_file_is_refused(
    page: Any, basic_site: Path, tmp_path: Path, name: str
) -> None:
    site = tmp_path / "site"
    shutil.copytree(basic_site, site)
    target = site / RUNTIME_DIR / name
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    target.write_bytes(bytes(data))
    url, server = serve_in_thread(site)
    try:
        open_page(page, url + "index.html")
        result = click_run(page, "pyrun-7", 30_000)
        assert result["ok"] is False and result.get("boot") is True, result
        text = output(page, "pyrun-7")
        assert f"{name} failed its integrity check" in text, text
        assert "refuses to run it" in text
        assert "42" not in text  # nothing ran
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_no_runtime_request_before_run(page: Any, site_url: str) -> None:
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    open_page(page, site_url + "index.html")
    page.wait_for_timeout(1000)
    assert not [u for u in requests if "pyodide" in u or "pyrun-worker" in u or "executor.py" in u]
    assert any(u.endswith("pyrun.js") or "pyrun.js?" in u for u in requests)
    click_run(page, "pyrun-7")
    assert output(page, "pyrun-7").strip() == "42"
    assert [u for u in requests if u.endswith("pyodide.asm.wasm")]
