"""What makes a real project's check fast, held to the semantics it must keep.

Pages start from an interpreter that has the site's packages installed (not imported), so every
page still starts with the standard library's modules and nothing of the project; a timeout is
remembered like a failure; progress reaches the adapters. Real Node.js and the real pinned Pyodide,
no timing assertions (speed is ``bench/check_speed.py``).
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOTS, check_dir
from test_check_run import pages_of, rst

from pyrun_docs.check import SnippetResult, Status, run_check
from pyrun_docs.check.isolation import keep_compiled_stdlib
from pyrun_docs.check.progress import counted, format_summary
from pyrun_docs.check.snapshot import SnapshotStore
from pyrun_docs.config import PyrunConfig
from pyrun_docs.packages import build_packages

#: a page of the fixture project's docs: the project must not be imported yet, and whatever an
#: earlier page did to it must not show
PROJECT_PAGE = rst(
    "\n\nimport sys\nprint(sorted(m for m in sys.modules if m.startswith('fixture_project')))",
    ":session: s\n\nimport fixture_project\nfrom importlib.metadata import version\n"
    "print(getattr(fixture_project, 'leak', 'clean'), version('fixture_project'))\n"
    "fixture_project.leak = 'leaked'",
)


def test_pages_start_with_the_site_packages_installed_not_imported(
    runtime_cache: Path, tmp_path: Path
) -> None:
    """Three pages import the project; one interpreter serves them all (nothing is loaded per
    page, so the interpreter is handed on), and each starts without the project's modules and
    sees none of the last page's changes. A second check restores the installed snapshot from
    disk (its files written back: ``importlib.metadata`` still finds the project)."""
    project = tmp_path / "project"
    shutil.copytree(ROOTS / "project", project)
    config = PyrunConfig(project=str(project))
    pages = pages_of(a=PROJECT_PAGE, b=PROJECT_PAGE, c=PROJECT_PAGE)
    resolution = build_packages(pages, config, None)
    assert not resolution.problems, resolution.problems
    folder = check_dir(tmp_path)
    for attempt in range(2):
        report = run_check(
            pages, config, cache_dir=folder, progress=False, jobs=1, use_cache=False,
            packages=resolution,
        )  # fmt: skip
        assert report.ok, [(r.message, r.traceback) for r in report.results]
        outputs = [r.output for r in report.results]
        assert outputs == ["[]\n", "clean 0.1.0\n"] * 3, (attempt, outputs)
        assert report.boots == 1, (attempt, report.problems)
        assert not report.problems, report.problems
    installed = list((folder / "snapshots").glob("*-*-*.snap.files"))
    assert installed, "no installed snapshot was kept"


def test_standard_library_modules_the_project_imports_stay_imported(
    runtime_cache: Path, tmp_path: Path
) -> None:
    """The installed snapshot keeps the standard-library modules the site's packages import
    (imported again on their own once the packages are forgotten), so a page importing the
    project executes only the project's modules; each page still starts without the project,
    and what a page did to such a module is undone like for any module of the baseline."""
    project = tmp_path / "project"
    shutil.copytree(ROOTS / "project", project)
    init = project / "src" / "fixture_project" / "__init__.py"
    init.write_text(init.read_text() + "import colorsys  # nothing else imports it\n")
    page = rst(
        "\n\nimport sys\n"
        "print('colorsys' in sys.modules, [m for m in sys.modules if 'fixture' in m])",
        ":session: s\n\nimport colorsys, fixture_project\nprint(colorsys.ONE_THIRD)\n"
        "colorsys.ONE_THIRD = 'leaked'",
    )
    pages = pages_of(a=page, b=page)
    config = PyrunConfig(project=str(project))
    resolution = build_packages(pages, config, None)
    assert not resolution.problems, resolution.problems
    report = run_check(
        pages, config, cache_dir=check_dir(tmp_path), progress=False, jobs=1, use_cache=False,
        packages=resolution,
    )  # fmt: skip
    assert report.ok, [(r.message, r.traceback) for r in report.results]
    assert [r.output for r in report.results] == ["True []\n", f"{1 / 3}\n"] * 2
    assert report.boots == 1 and not report.problems, report.problems


def test_snapshots_are_pruned_by_last_use_without_being_touched(tmp_path: Path) -> None:
    """A verified snapshot is marked used on its digest file, so the snapshot's own stamp stays
    (its hash is not computed again by the next command), and the least recently used ones go."""
    import hashlib

    folder = tmp_path / "snapshots"
    folder.mkdir()
    for age, name in enumerate(["new", "mid", "old", "oldest"]):
        snap = folder / f"{name}.snap"
        snap.write_bytes(name.encode())
        (folder / f"{name}.snap.sha256").write_text(hashlib.sha256(name.encode()).hexdigest())
        for path in (snap, folder / f"{name}.snap.sha256"):
            os.utime(path, (1_000_000 - age * 100, 1_000_000 - age * 100))
    oldest = folder / "oldest.snap"
    stamp = oldest.stat().st_mtime_ns
    store = SnapshotStore(folder, "oldest", enabled=True)
    assert store.verified_path() == str(oldest)  # used now: kept, its own time unchanged
    assert oldest.stat().st_mtime_ns == stamp
    store.made()  # prunes to the most recently used
    assert sorted(p.name for p in folder.glob("*.snap")) == ["mid.snap", "new.snap", "oldest.snap"]


def test_a_damaged_installed_snapshot_falls_back_and_is_deleted(
    runtime_cache: Path, tmp_path: Path
) -> None:
    """An installed snapshot whose hashes match but which does not restore: the pages still run
    (installing in each interpreter), the check says so, the file is gone, and the failure is
    remembered: the next check installs in each interpreter without making it again."""
    project = tmp_path / "project"
    shutil.copytree(ROOTS / "project", project)
    config = PyrunConfig(project=str(project))
    pages = pages_of(a=PROJECT_PAGE)
    resolution = build_packages(pages, config, None)
    folder = tmp_path / "own-snapshots"  # not shared: this test damages its snapshot
    first = run_check(pages, config, cache_dir=folder, progress=False, use_cache=False,
                      packages=resolution)  # fmt: skip
    assert first.ok, first.results
    (files,) = (folder / "snapshots").glob("*.snap.files")
    snap = files.with_suffix("")
    garbage = b"\0" * 64 + snap.read_bytes()[64:1024]
    snap.write_bytes(garbage)
    digests = [hashlib.sha256(garbage).hexdigest(), hashlib.sha256(files.read_bytes()).hexdigest()]
    snap.with_name(snap.name + ".sha256").write_text(" ".join(digests) + "\n")
    report = run_check(pages, config, cache_dir=folder, progress=False, use_cache=False,
                       packages=resolution)  # fmt: skip
    assert report.ok, [(r.message, r.traceback) for r in report.results]
    assert [r.output for r in report.results] == ["[]\n", "clean 0.1.0\n"]
    assert any("site's packages not used" in p for p in report.problems), report.problems
    assert not snap.exists()
    # remembered: the next check does not make it again only to see it fail (seconds each)
    again = run_check(pages, config, cache_dir=folder, progress=False, use_cache=False,
                      packages=resolution)  # fmt: skip
    assert [r.output for r in again.results] == ["[]\n", "clean 0.1.0\n"]
    assert any("not made: restoring it failed before" in p for p in again.problems), again.problems
    assert not snap.exists() and not files.exists()


def test_an_installed_snapshot_larger_than_a_new_heap_restores(
    runtime_cache: Path, tmp_path: Path
) -> None:
    """Installing a project with a few hundred KB of modules grows the interpreter's heap past
    the 30 MiB a new one starts with (more-itertools did): its installed snapshot must still
    restore (Pyodide ignores the size it asks for, pyodide#6254), not fail on every check and
    fall back to installing on every page."""
    project = tmp_path / "project"
    shutil.copytree(ROOTS / "project", project)
    body = "def f{0}(x, y=1):\n    return [x + y * {0} for _ in range(3)]\n"
    (project / "src" / "fixture_project" / "big.py").write_text(
        "\n".join(body.format(i) for i in range(4000)), encoding="utf-8"
    )
    config = PyrunConfig(project=str(project))
    pages = pages_of(a=PROJECT_PAGE)
    resolution = build_packages(pages, config, None)
    folder = tmp_path / "own-snapshots"  # its snapshots are of this project only
    for attempt in range(2):  # makes the installed snapshot, then restores it from disk
        report = run_check(pages, config, cache_dir=folder, progress=False, use_cache=False,
                           packages=resolution)  # fmt: skip
        assert report.ok, [(r.message, r.traceback) for r in report.results]
        assert not report.problems, (attempt, report.problems)
    (files,) = (folder / "snapshots").glob("*.snap.files")
    installed = files.with_suffix("")
    (base,) = [p for p in (folder / "snapshots").glob("*.snap") if p != installed]
    assert installed.stat().st_size > base.stat().st_size  # the case: a heap that grew


def test_a_timeout_is_remembered_until_something_it_depends_on_changes(
    runtime_cache: Path, tmp_path: Path
) -> None:
    """A runaway snippet and the later snippet of its session are answered from the cache, as
    remembered, without starting an interpreter; a longer timeout runs them again."""
    page = rst(
        ":session: s\n:timeout: 1\n\nwhile True:\n    pass",
        ":session: s\n\nprint('after')",
        "\n\nprint('alone')",
    )
    folder = check_dir(tmp_path)
    first = run_check(pages_of(p=page), PyrunConfig(), cache_dir=folder, progress=False)
    assert [r.status for r in first.results] == [Status.TIMEOUT, Status.ERROR, Status.PASSED]
    assert not any(r.cached for r in first.results)

    again = run_check(pages_of(p=page), PyrunConfig(), cache_dir=folder, progress=False)
    assert [r.status for r in again.results] == [Status.TIMEOUT, Status.ERROR, Status.CACHED]
    assert [r.cached for r in again.results] == [True] * 3 and again.boots == 0
    assert again.results[0].message == first.results[0].message
    assert "remembered from an earlier run" in format_summary(again)

    longer = page.replace(":timeout: 1", ":timeout: 2")
    rerun = run_check(pages_of(p=longer), PyrunConfig(), cache_dir=folder, progress=False)
    assert [r.cached for r in rerun.results[:2]] == [False, False] and rerun.boots >= 1
    assert rerun.results[0].status is Status.TIMEOUT


def test_a_raised_site_timeout_runs_a_remembered_timeout_again(
    runtime_cache: Path, tmp_path: Path
) -> None:
    page = rst("\n\nimport time\nwhile True:\n    time.sleep(0.05)")
    folder = check_dir(tmp_path)
    run_check(pages_of(p=page), PyrunConfig(timeout=1), cache_dir=folder, progress=False)
    same = run_check(pages_of(p=page), PyrunConfig(timeout=1), cache_dir=folder, progress=False)
    assert same.results[0].cached and same.boots == 0
    raised = run_check(pages_of(p=page), PyrunConfig(timeout=2), cache_dir=folder, progress=False)
    assert not raised.results[0].cached and raised.results[0].status is Status.TIMEOUT


def test_progress_reaches_a_callback_for_every_snippet(runtime_cache: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int, SnippetResult]] = []
    pages = pages_of(a=rst("\n\nx = 1", ":check: skip\n\ny = 2"), b=rst("\n\nprint(3)"))
    report = run_check(
        pages, PyrunConfig(), cache_dir=check_dir(tmp_path),
        progress=lambda done, total, result: seen.append((done, total, result)),
    )  # fmt: skip
    assert [(done, total) for done, total, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    assert report.ok
    assert sorted(r.status.value for _, _, r in seen) == ["passed", "passed", "skipped"]


def test_counted_progress_lines() -> None:
    """MkDocs' log gets a line every tenth of the way and one at the end, never a bar."""
    lines: list[str] = []
    advance = counted(lines.append)
    for done in range(1, 21):
        advance(done, 20, None)  # type: ignore[arg-type]
    assert lines[0] == "pyrun check: 2/20 snippets (10%)"
    assert lines[-1] == "pyrun check: 20/20 snippets (100%)"
    assert len(lines) == 10
    few: list[str] = []
    advance = counted(few.append)
    for done in range(1, 4):
        advance(done, 3, None)  # type: ignore[arg-type]
    assert few == [f"pyrun check: {n}/3 snippets ({n * 100 // 3}%)" for n in (1, 2, 3)]


def test_standard_library_compiled_once_yet_imported_fresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pyodide's standard library is a zip of sources: a page importing a module must not pay for
    compiling it again, yet must get a new module (what a page did to the last one is gone)."""
    archive = tmp_path / "lib.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped_mod.py", "def f():\n    return 1\n")
    import zipimport
    from importlib import machinery

    # undone after the test: this process keeps compiling and reading bytecode as before
    monkeypatch.setattr(zipimport, "_compile_source", zipimport._compile_source)  # type: ignore[attr-defined]
    monkeypatch.setattr(machinery.SourceFileLoader, "get_code", machinery.SourceFileLoader.get_code)
    monkeypatch.syspath_prepend(str(archive))
    keep_compiled_stdlib()
    keep_compiled_stdlib()  # idempotent: wrapping twice would still work, but once is enough

    assert zipimport._compile_source.keeps_compiled  # type: ignore[attr-defined]
    try:
        import zipped_mod

        zipped_mod.f.patched = True
        first = zipped_mod
        del sys.modules["zipped_mod"]
        import zipped_mod

        assert zipped_mod is not first and not hasattr(zipped_mod.f, "patched")
        assert zipped_mod.f.__code__ is first.f.__code__  # compiled once
    finally:
        sys.modules.pop("zipped_mod", None)


def test_installed_modules_bytecode_read_once_yet_imported_fresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed package's modules (under ``site-packages``) are read once per interpreter:
    the next page's import executes the same code object into a new module; a changed file is
    read again; a module elsewhere (a file a page wrote) is always read from its file."""
    from importlib import machinery

    monkeypatch.setattr(machinery.SourceFileLoader, "get_code", machinery.SourceFileLoader.get_code)
    installed = tmp_path / "site-packages"
    elsewhere = tmp_path / "work"
    for folder in (installed, elsewhere):
        folder.mkdir()
        monkeypatch.syspath_prepend(str(folder))
    (installed / "inst_mod.py").write_text("def f():\n    return 1\n")
    (elsewhere / "page_mod.py").write_text("def f():\n    return 1\n")
    keep_compiled_stdlib()

    def fresh(name: str) -> Any:
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    try:
        first = fresh("inst_mod")
        first.f.patched = True
        again = fresh("inst_mod")
        assert again is not first and not hasattr(again.f, "patched")
        assert again.f.__code__ is first.f.__code__  # read once
        assert fresh("page_mod").f.__code__ is not fresh("page_mod").f.__code__
        path = installed / "inst_mod.py"
        path.write_text("def f():\n    return 2\n")
        stamp = path.stat().st_mtime_ns + 1_000_000
        os.utime(path, ns=(stamp, stamp))
        assert fresh("inst_mod").f() == 2
    finally:
        for name in ("inst_mod", "page_mod"):
            sys.modules.pop(name, None)


def test_sphinx_progress_line(tmp_path: Path, runtime_cache: Path) -> None:
    """A Sphinx build (not quiet) shows the check's progress with its status iterator."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        'extensions = ["pyrun_docs.sphinx_ext"]\npyrun_check = "warn"\n', encoding="utf-8"
    )
    fresh = uuid.uuid4().hex  # results are cached in the user cache: never seen before
    snippets = rst(f"\n\nprint(1)  # {fresh}", f"\n\nprint(2)  # {fresh}")
    (src / "index.rst").write_text(snippets, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", str(src), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # Sphinx colours its log where it guesses a colour terminal (CI=true is one such guess)
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
    # each snippet at the file it is written in (a docstring's .py, an include), not its page
    assert "pyrun: checking examples in headless Pyodide... [ 50%] index.rst:" in log
    assert "pyrun: checking examples in headless Pyodide... [100%] index.rst:" in log


def test_progress_stream_still_draws_a_bar(runtime_cache: Path, tmp_path: Path) -> None:
    stream = io.StringIO()
    run_check(
        pages_of(a=rst("\n\nx = 1")), PyrunConfig(), cache_dir=check_dir(tmp_path), progress=stream
    )
    assert "pyrun check [" in stream.getvalue()


def test_the_pool_judges_the_work_left_from_warm_pages() -> None:
    """A second process starts only for work that pays for its start: measured once warm (after
    the first page, which paid for starting), or a first page that runs long."""
    from pyrun_docs.check import pool

    clock = [100.0]
    pace = pool._Pace(total=100, clock=lambda: clock[0])
    clock[0] += 1.0
    assert pace.seconds_left() == 1.0  # first page still running: how long it has run
    for _ in range(10):
        pace.settled()
    pace.page_done()  # 10 snippets in the first page (with the start)
    clock[0] += 0.5
    for _ in range(10):
        pace.settled()  # then 10 more in 0.5 s: 0.05 s each, 80 left
    assert pace.seconds_left() == pytest.approx(4.0)
    assert pace.seconds_left() > pool.GROW_WORK


def test_no_second_process_on_a_busy_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyrun_docs.check import spare

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (1.1, 1.0, 1.0))
    assert spare.idle_core(1)  # only this check's process is busy
    monkeypatch.setattr("os.getloadavg", lambda: (6.0, 5.0, 4.0))
    assert not spare.idle_core(1)  # other work fills both cores


def test_a_prestarted_harness_is_adopted_by_the_check(
    runtime_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A harness warmed while the docs are read serves the check's first process (no second
    Node.js is started); with other settings it is stopped and the check starts its own."""
    from pyrun_docs.check import spare
    from pyrun_docs.check.harness import Harness as original

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (0.2, 0.2, 0.2))  # an idle second core
    started: list[object] = []

    def counting(*args: object, **kwargs: object) -> object:
        started.append(args)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("pyrun_docs.check.pool.Harness", counting)
    folder = check_dir(tmp_path)
    pages = pages_of(a=rst("\n\nprint(1)"), b=rst("\n\nprint(2)"))
    assert spare.prestart(PyrunConfig(), folder) is True
    report = run_check(pages, PyrunConfig(), cache_dir=folder, progress=False, jobs=1)
    assert report.ok and [r.output for r in report.results] == ["1\n", "2\n"]
    assert started == [] and report.boots == 1  # adopted, not started

    assert spare.prestart(PyrunConfig(), folder) is True  # the check let the last one go
    other = PyrunConfig(output_limit=1234)
    again = run_check(pages, other, cache_dir=folder, progress=False, jobs=1, use_cache=False)
    assert again.ok and len(started) == 1  # the spare had other settings: a new harness

    assert spare.prestart(PyrunConfig(), folder, count=2) is True
    two = run_check(pages, PyrunConfig(), cache_dir=folder, progress=False, jobs=2, use_cache=False)
    assert two.ok and two.workers == 2 and len(started) == 1  # both processes were spares

    assert spare.prestart(PyrunConfig(), folder) is True
    spare.discard()  # nothing to check: stopped at once, not waited for
    assert spare._spares == [] and spare._warming == [] and spare._starter is None


def test_a_starter_that_ended_does_not_block_the_next_spare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command that started a spare and stopped before its check (``pyrun-docs check`` with a
    usage error) leaves its starter thread ended; a later build in the same process still starts
    a spare (``prestart`` said someone else's was running, for good)."""
    from pyrun_docs.check import spare

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (0.2, 0.2, 0.2))  # an idle second core
    ended = threading.Thread(target=lambda: None)
    ended.start()
    ended.join()
    monkeypatch.setattr(spare, "_starter", ended)
    try:
        assert spare.prestart(PyrunConfig(), tmp_path) is True
    finally:
        spare.discard()


def test_a_spare_warms_the_first_pages_interpreter_with_the_site_installed_and_it_stays_clean(
    runtime_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spare restores the installed snapshot this site used last time and, while the docs are
    read, imports the project while warming up; the first page gets that interpreter
    ("prestarted"), yet starts without the project's modules, like any page. A check that waits
    for it already gets it at once, unwarmed (its first page restores the interpreter). A spare
    guessed wrong (another site's packages) is not
    used: the page sees exactly its own site's packages."""
    import json

    from pyrun_docs.check import harness, spare

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (0.2, 0.2, 0.2))  # an idle second core
    events: list[dict[str, object]] = []
    original_event = harness.Harness.event

    check_first: list[bool] = []  # set: a spare's "ready" waits until the check asks for it
    starter = "pyrun-check-prestart"  # the spare's thread

    def recording(self: harness.Harness, timeout: float | None = None) -> object:
        event = original_event(self, timeout)
        if event is not None:
            events.append(event)
            deadline = time.monotonic() + 30
            spare_ready = event.get("ev") == "ready" and threading.current_thread().name == starter
            while check_first and spare_ready and not spare._waiting:
                assert time.monotonic() < deadline, "the check never asked for the spare"
                time.sleep(0.01)
        return event

    monkeypatch.setattr(harness.Harness, "event", recording)
    project = tmp_path / "project"
    shutil.copytree(ROOTS / "project", project)
    config = PyrunConfig(project=str(project))
    pages = pages_of(a=PROJECT_PAGE, b=PROJECT_PAGE)
    resolution = build_packages(pages, config, None)
    folder = check_dir(tmp_path)

    def check(site: PyrunConfig, pages: dict[str, list[object]], packages: object) -> object:
        return run_check(
            pages, site, cache_dir=folder, progress=False, jobs=1, use_cache=False,
            packages=packages,
        )  # type: ignore[arg-type]  # fmt: skip

    def wait_for_spare() -> None:
        """As while Sphinx reads the docs: the spare is warm before the check asks for it."""
        deadline = time.monotonic() + 60
        while not spare._spares and time.monotonic() < deadline:
            time.sleep(0.05)

    assert check(config, pages, resolution).ok  # the site's install is remembered
    events.clear()
    check_first.append(True)
    spare.prestart(config, folder)  # the check waits already: handed over without a warm-up
    report = check(config, pages, resolution)
    check_first.clear()
    assert report.ok and [r.output for r in report.results] == ["[]\n", "clean 0.1.0\n"] * 2
    assert not [e for e in events if e.get("ev") == "warmed"]
    booted = [(e.get("how"), e.get("prepared")) for e in events if e.get("ev") == "booted"]
    # the restore began as the spare's `init` ended, not when the first page came
    assert booted == [("snapshot", True), ("reused", False)] and report.boots == 1, booted

    events.clear()
    with monkeypatch.context() as gone:  # the base snapshot pruned: the installed one is enough
        gone.setattr(SnapshotStore, "verified_path", lambda self: None)
        spare.prestart(config, folder)
        wait_for_spare()
        report = check(config, pages, resolution)
    assert report.ok, [(r.message, r.traceback) for r in report.results]
    assert [r.output for r in report.results] == ["[]\n", "clean 0.1.0\n"] * 2
    warmed = [e for e in events if e.get("ev") == "warmed"]
    assert warmed and warmed[0]["kept"] is True, warmed
    booted = [e.get("how") for e in events if e.get("ev") == "booted"]
    assert booted == ["prestarted", "reused"], booted
    assert report.boots == 1

    # another site (no project) whose record names the project's wheel: the guess is wrong
    records = json.loads((folder / "snapshots" / "last-install.json").read_text())
    record = records[spare.site_id(config, None)]
    plain = PyrunConfig()
    spare.remember_install(
        folder, spare.site_id(plain, None), record["install"], record["key"], record["imports"]
    )
    events.clear()
    spare.prestart(plain, folder)
    wait_for_spare()
    probe = rst(
        "\n\nimport importlib.util, sys\n"
        "print(importlib.util.find_spec('fixture_project') is None, "
        "[m for m in sys.modules if m.startswith('fixture_project')])"
    )
    other = check(plain, pages_of(a=probe), None)
    assert other.ok and [r.output for r in other.results] == ["True []\n"]
    warmed = [e for e in events if e.get("ev") == "warmed"]
    assert warmed and warmed[0]["kept"] is True  # it warmed the wrong interpreter...
    booted = [e.get("how") for e in events if e.get("ev") == "booted"]
    assert booted == ["snapshot"], booted  # ...which the check dropped

    # the same wrong guess while the check waits: the interpreter the spare began restoring
    # for the project's install is dropped when the check's `init` names no packages
    events.clear()
    check_first.append(True)
    spare.prestart(plain, folder)
    other = check(plain, pages_of(a=probe), None)
    check_first.clear()
    assert other.ok and [r.output for r in other.results] == ["True []\n"]
    booted = [(e.get("how"), e.get("prepared")) for e in events if e.get("ev") == "booted"]
    assert booted == [("snapshot", True)], booted


def test_mkdocs_build_logs_counted_progress(tmp_path: Path, runtime_cache: Path) -> None:
    """A MkDocs build with the check on logs the check's progress as counted lines."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Progress\nmarkdown_extensions:\n  - pymdownx.superfences\n"
        "plugins:\n  - pyrun:\n      check: warn\n",
        encoding="utf-8",
    )
    fence = "```pyrun\nprint({})\n```\n\n"
    (tmp_path / "docs" / "index.md").write_text(
        "# Page\n\n" + fence.format(1) + fence.format(2), encoding="utf-8"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    log = proc.stdout + proc.stderr
    assert "pyrun check: 1/2 snippets (50%)" in log and "pyrun check: 2/2 snippets (100%)" in log


def test_a_spare_starts_node_first_and_stops_it_when_there_is_nothing_to_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spare starts Node before it verifies the snapshot (Node's start overlaps it); with no
    cached runtime or no verified snapshot, what it started is stopped, never left running."""
    from pyrun_docs.check import spare
    from pyrun_docs.errors import PyrunError

    killed: list[object] = []

    class FakeHarness:
        def __init__(self, *args: object) -> None:
            self.started = args

        def kill(self) -> None:
            killed.append(self)

    def no_runtime(*args: object, **kwargs: object) -> object:
        assert len(spare._warming) == 1  # Node was started already
        raise PyrunError("no cached runtime")

    monkeypatch.setattr(spare, "Harness", FakeHarness)
    monkeypatch.setattr("pyrun_docs.check.settings.harness_settings", no_runtime)
    spare._warm(PyrunConfig(), tmp_path, 1, spare._generation)
    assert len(killed) == 1 and spare._warming == [] and spare._spares == []


def test_the_spare_starts_before_the_rest_of_the_check_is_imported() -> None:
    """``pyrun-docs check`` starts its spare (Node boots meanwhile) before it imports the check's
    ~70 ms of modules: ``pyrun_docs.check`` loads its names on first use, and neither the spare
    module nor what it makes Node's ``init`` with (:mod:`.settings`) pulls in the check's API, the
    pool or the package resolver. Every public name still resolves."""
    code = (
        "import sys\n"
        "import pyrun_docs.cli\n"
        "from pyrun_docs.check.spare import prestart\n"
        "from pyrun_docs.check.cache import default_cache_dir\n"
        "from pyrun_docs.check.settings import harness_settings\n"
        "heavy = sorted(m for m in ('pyrun_docs.check.api', 'pyrun_docs.packages',"
        " 'pyrun_docs.package_store', 'pyrun_docs.check.pool', 'pyrun_docs.check.scan')"
        " if m in sys.modules)\n"
        "print(heavy)\n"
        "import pyrun_docs.check as check\n"
        "print(all(getattr(check, name) is not None for name in check.__all__))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]", out
    assert out[1] == "True", out


def test_the_command_imports_nothing_before_it_starts_the_checks_node() -> None:
    """``pyrun-docs`` (:mod:`pyrun_docs.launch`) reads its record and starts Node before it
    imports the rest of the package (~80 ms of modules the check waited for)."""
    code = (
        "import sys, pyrun_docs.launch\n"
        "print(sorted(m for m in sys.modules if m.startswith('pyrun_docs')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['pyrun_docs', 'pyrun_docs.cache_home', 'pyrun_docs.launch']"


def test_a_process_started_early_is_taken_only_for_its_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the last check started is started again as the command begins; asked for another
    command line (another Node, a moved harness), it is stopped, never left running."""
    from pyrun_docs import launch

    monkeypatch.setenv("PYRUN_DOCS_CACHE", str(tmp_path))
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    told = tmp_path / "told.txt"
    waiting = [
        sys.executable,
        "-c",
        f"import sys; open({str(told)!r}, 'w').write(sys.stdin.readline()); sys.stdin.read()",
    ]
    init = {"op": "init", "snapshot": "/the/last/one.snap"}
    monkeypatch.setattr(launch, "_command", "checking one site")
    launch.start()  # no record yet: nothing
    assert launch._started is None
    launch.remember(waiting, {"PYRUN_TEST": "1"}, init)
    monkeypatch.setattr(launch, "_command", "checking another site")
    launch.start()  # another command's record: not this one's
    assert launch._started is None
    monkeypatch.setattr(launch, "_command", "checking one site")
    launch.start()
    assert launch._started is not None
    first = launch._started[2]
    assert launch.take([*waiting, "other"]) is None and first.poll() is not None  # stopped
    launch.start()
    second = launch.take(waiting)
    try:
        assert second is not None and launch._started is None
        process, presented = second
        assert process.poll() is None and presented == init
        deadline = time.monotonic() + 30  # it was sent the last check's init at once
        while not (told.exists() and told.read_text().endswith("\n")):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert json.loads(told.read_text()) == init
    finally:
        if second is not None:
            launch._kill(second[0])
    monkeypatch.setenv("PYRUN_DOCS_CHECK_PRESTART", "0")
    launch.start()
    assert launch._started is None


def test_the_spare_adopts_the_node_the_command_started(
    runtime_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check's first harness is the process started as the command began: no Node.js is
    started after it (and the next command starts the same command line again)."""
    from pyrun_docs import launch
    from pyrun_docs.check import harness, spare

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (0.2, 0.2, 0.2))  # an idle second core
    monkeypatch.setattr(launch, "_command", json.dumps([str(tmp_path), ""]))  # folder, cache
    folder = check_dir(tmp_path)
    pages = pages_of(a=rst("\n\nprint(1)"))
    assert spare.prestart(PyrunConfig(), folder) is True  # a first check: the record is written
    assert run_check(pages, PyrunConfig(), cache_dir=folder, progress=False, jobs=1).ok
    launch.start()
    early = launch._started
    assert early is not None
    spawned: list[object] = []
    real = subprocess.Popen

    def counting(*args: Any, **kwargs: Any) -> Any:
        spawned.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(harness.subprocess, "Popen", counting)
    assert spare.prestart(PyrunConfig(), folder) is True
    report = run_check(pages, PyrunConfig(), cache_dir=folder, progress=False, jobs=1,
                       use_cache=False)  # fmt: skip
    assert report.ok and [r.output for r in report.results] == ["1\n"]
    assert spawned == [] and launch._started is None
    assert early[2].wait(timeout=30) is not None  # it was the check's harness, and it ended

    # settings that changed since (another output limit): that process is not the check's
    launch.start()
    early = launch._started
    assert early is not None and early[1] is not None
    spawned.clear()
    assert spare.prestart(PyrunConfig(output_limit=1234), folder) is True
    report = run_check(pages, PyrunConfig(output_limit=1234), cache_dir=folder, progress=False,
                       jobs=1, use_cache=False)  # fmt: skip
    assert report.ok and [r.output for r in report.results] == ["1\n"]
    assert len(spawned) == 1 and early[2].wait(timeout=30) is not None  # replaced, stopped


def test_the_early_record_is_named_by_folder_and_cache_not_by_report_file() -> None:
    """A check writing a new report file each time still finds its record; another cache folder
    (other snapshots in its ``init``) has its own."""
    from pyrun_docs.launch import _cache_dir_argument

    assert _cache_dir_argument(["docs", "--json", "r-1.json", "--cache-dir", "c", "-q"]) == "c"
    assert _cache_dir_argument(["docs", "--cache-dir=/tmp/c"]) == "/tmp/c"
    assert _cache_dir_argument(["docs", "--json", "r-2.json"]) == ""


def test_an_installed_snapshot_whose_files_vanished_is_not_remembered_as_failing(
    tmp_path: Path,
) -> None:
    """A restore that failed because another check (a test run sharing the cache) deleted the
    snapshot's files was remembered as a failure: no later check made it again ("restoring it
    failed before"). Only a failure of the snapshot itself is remembered."""
    store = SnapshotStore(tmp_path, "engine", enabled=True, install_key="site")
    store.discard_installed("failed: Error: ENOENT: no such file or directory, open 'x.snap.files'")
    assert not list(tmp_path.glob("*.failed"))
    store = SnapshotStore(tmp_path, "engine", enabled=True, install_key="site")
    store.discard_installed("failed: RuntimeError: memory access out of bounds")
    assert [p.name for p in tmp_path.glob("*.failed")] == ["engine-site.snap.failed"]
