"""Packages in real Chromium: the fixture project's docs, served with nothing but the built site.

``tests/roots/project/docs/index.rst``: ``pyrun-0`` imports ``fixture_project`` (built from the
project at docs build time), ``pyrun-1`` imports ``inflection`` (a pure-Python wheel from PyPI that
Pyodide does not ship), ``pyrun-2`` prints both versions as installed in the browser.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOTS, sphinx_build

from pyrun_docs.serve import serve_in_thread

pytestmark = pytest.mark.browser

DONE = (
    "id => { const s = document.querySelector(`#${id} .pyrun-status`);"
    " return s && /^(Done|Error)/.test(s.textContent); }"
)


@pytest.fixture(scope="module")
def project_site(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Path:
    base = tmp_path_factory.mktemp("project-site")
    shutil.copytree(ROOTS / "project", base / "project")
    build = sphinx_build(base / "project" / "docs", base / "html")
    assert build.status == 0, build.stderr
    return base / "html"


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    servers: list[Any] = []

    def start(root: Path) -> str:
        url, server = serve_in_thread(root)
        servers.append(server)
        return str(url)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def run(page: Any, element_id: str) -> str:
    page.click(f"#{element_id} .pyrun-run")
    page.wait_for_function(DONE, arg=element_id, timeout=90_000)
    return str(page.inner_text(f"#{element_id} .pyrun-output"))


def test_project_and_its_pypi_dependency_import_in_the_browser(
    page: Any, project_site: Path, serve: Any
) -> None:
    url = serve(project_site)
    page.goto(url + "index.html")
    page.wait_for_selector("#pyrun-0 .pyrun-toolbar")
    page.evaluate(  # each status the first widget shows
        """() => { window.__statuses = [];
          const status = document.querySelector('#pyrun-0 .pyrun-status');
          new MutationObserver(() => window.__statuses.push(status.textContent)).observe(
            status, { childList: true, characterData: true, subtree: true }); }"""
    )
    assert run(page, "pyrun-0").strip() == "Hello World! 0.1.0"
    statuses = page.evaluate("() => window.__statuses")
    # its packages loaded, it runs ("Loading fixture-project…" stayed until it was done)
    loading = next(i for i, text in enumerate(statuses) if text.startswith("Loading "))
    assert "Running…" in statuses[loading + 1 :], statuses
    assert run(page, "pyrun-1").strip() == "mice"
    lock = json.loads((project_site / "_static" / "pyrun" / "pyrun-lock.json").read_text())
    versions = [lock["packages"][n]["version"] for n in ("inflection", "fixture-project")]
    assert run(page, "pyrun-2").strip() == " ".join(versions)  # what the check saw too
    assert "Loading" not in page.inner_text("#pyrun-0 .pyrun-output")


def test_a_transcript_loads_the_packages_it_imports(
    page: Any, tmp_path: Path, runtime_cache: Path, serve: Any
) -> None:
    """A ``>>>`` example importing a package of the site's (not loaded for every snippet):
    the worker asked Pyodide's ``find_imports`` about the transcript with its prompts, which
    does not parse, so nothing was loaded: the check passed (and showed a verified output), the
    reader's Run failed with ModuleNotFoundError (humanize's ``import dateutil``)."""
    shutil.copytree(ROOTS / "project", tmp_path / "project")
    docs = tmp_path / "project" / "docs"
    with (docs / "conf.py").open("a") as conf:
        conf.write('pyrun_upgrade = ["doctest"]\n')
    (docs / "index.rst").write_text(
        "Transcript\n==========\n\n>>> import six\n>>> six.ensure_str(b'abc')\n'abc'\n"
    )
    build = sphinx_build(docs, tmp_path / "html")
    assert build.status == 0, build.stderr
    lock = json.loads((tmp_path / "html" / "_static" / "pyrun" / "pyrun-lock.json").read_text())
    assert "six" in lock["packages"] and "six" not in lock["site"]
    page.goto(serve(tmp_path / "html") + "index.html")
    output = run(page, "pyrun-0")
    assert "'abc'" in output and "Error" not in output, output


@pytest.mark.parametrize("damage", ["missing", "changed"])
def test_a_wheel_that_fails_to_load_is_named(
    page: Any, project_site: Path, serve: Any, tmp_path: Path, damage: str
) -> None:
    site = tmp_path / "site"
    shutil.copytree(project_site, site)
    folder = site / "_static" / "pyrun"
    entry = json.loads((folder / "pyrun-lock.json").read_text())["packages"]["inflection"]
    wheel = folder / entry["url"]
    if damage == "missing":
        wheel.unlink()
    else:
        wheel.write_bytes(wheel.read_bytes() + b"\0")
    page.goto(serve(site) + "index.html")
    out = run(page, "pyrun-1")
    assert "could not load inflection 0.5.1" in out, out
    assert "ModuleNotFoundError" not in out
    assert "building the docs again" in out and "warnings say why" in out
    why = "is missing: HTTP 404" if damage == "missing" else "does not match the SHA-256"
    assert why in out, out


def test_mkdocs_site_imports_the_project(
    page: Any, serve: Any, tmp_path: Path, runtime_cache: Path
) -> None:
    from test_mkdocs import mkdocs_build

    root = tmp_path / "project"
    shutil.copytree(ROOTS / "project", root)
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    page.goto(serve(build.site))
    assert run(page, "pyrun-0").strip() == "Hello World! 0.1.0"
    assert run(page, "pyrun-1").strip() == "mice"


def test_imports_are_detected_in_the_browser(
    page: Any, serve: Any, tmp_path: Path, runtime_cache: Path
) -> None:
    """No site-wide packages: a plain ``import`` of a resolved package loads its wheel first."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["pyrun_docs.sphinx_ext"]\npyrun_check = "off"\n')
    (src / "index.rst").write_text(
        "Detect\n======\n\n"
        ".. pyrun::\n   :packages: inflection\n\n   print(1)\n\n"
        ".. pyrun::\n\n   import inflection\n   print(inflection.camelize('run_me'))\n"
    )
    build = sphinx_build(src, tmp_path / "html")
    assert build.status == 0, build.stderr
    page.goto(serve(tmp_path / "html") + "index.html")
    assert run(page, "pyrun-1").strip() == "RunMe"


def test_packages_work_offline_on_a_returning_visit(browser: Any, project_site: Path) -> None:
    """The service worker keeps the site's wheels and package list: the server may go away."""
    url, server = serve_in_thread(project_site)
    context = browser.new_context()
    try:
        first = context.new_page()
        first.goto(url + "index.html")
        assert run(first, "pyrun-0").strip() == "Hello World! 0.1.0"  # registers the worker
        second = context.new_page()
        second.goto(url + "index.html")
        assert run(second, "pyrun-1").strip() == "mice"
        assert "pyrun-wheels" in second.evaluate("caches.keys()")
        server.shutdown()
        server.server_close()
        second.evaluate("document.querySelector('#pyrun-1').stop()")
        second.wait_for_timeout(200)
        assert run(second, "pyrun-0").strip().endswith("Hello World! 0.1.0")
    finally:
        context.close()
        server.shutdown()
        server.server_close()
