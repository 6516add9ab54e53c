"""A package that cannot be downloaded is named with its host and file (issue 20, item 5).

The site takes its runtime and Pyodide's packages from the CDN (``runtime_source = "cdn"``);
the test serves the CDN's runtime files from the verified local copy and makes the package host
unreachable for wheels, as an offline reader or a blocked CDN would. The widget must say which
host could not be reached for which file, not that rebuilding the docs would help.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import sphinx_build
from test_browser import BOOT_MS, open_page, serving

from pyrun_docs.serve import DocsRequestHandler

pytestmark = pytest.mark.browser

CDN = re.compile(r"^https://cdn\.jsdelivr\.net/pyodide/v[^/]+/full/(?P<name>[^?]+)")
TYPES = {".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}


def test_unreachable_package_host_is_named(
    browser: Any, tmp_path: Path, runtime_cache: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        'extensions = ["pyrun_docs.sphinx_ext"]\npyrun_check = "off"\n'
        'pyrun_runtime_source = "cdn"\n'
    )
    (src / "index.rst").write_text(
        "NumPy\n=====\n\n.. pyrun::\n\n   import numpy\n   print(numpy.arange(3))\n"
    )
    build = sphinx_build(src, tmp_path / "html")
    assert build.status == 0, build.stderr
    lock = json.loads((tmp_path / "html" / "_static" / "pyrun" / "pyrun-lock.json").read_text())
    wheel = lock["packages"]["numpy"]["file_name"]

    blocked: list[str] = []

    def cdn(route: Any) -> None:
        name = CDN.match(route.request.url)
        local = runtime_cache / name.group("name") if name else None
        if local is not None and local.is_file():  # the runtime itself still arrives
            suffix = local.suffix
            route.fulfill(
                status=200,
                body=local.read_bytes(),
                headers={
                    "Content-Type": TYPES.get(suffix, "application/octet-stream"),
                    "Access-Control-Allow-Origin": "*",
                },
            )
        else:  # the packages' host does not answer
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context = browser.new_context()
    try:
        context.route("https://cdn.jsdelivr.net/**", cdn)
        page = context.new_page()
        with serving(tmp_path / "html", DocsRequestHandler) as url:
            open_page(page, url + "index.html")
            page.click("#pyrun-0 .pyrun-run")
            page.wait_for_function(
                "() => /^(Done|Error)/.test(document.querySelector('#pyrun-0 .pyrun-status')"
                ".textContent)",
                timeout=BOOT_MS,
            )
            out = page.inner_text("#pyrun-0 .pyrun-output")
    finally:
        context.close()
    assert any(u.endswith(wheel) for u in blocked), blocked
    assert f"could not load numpy {lock['packages']['numpy']['version']}" in out, out
    assert f"cannot reach cdn.jsdelivr.net for {wheel}" in out, out
    assert "Check the connection to cdn.jsdelivr.net" in out, out
    assert "rebuilding the docs" not in out, out
    assert "ModuleNotFoundError" not in out, out
