"""The build check through both adapters: located warnings, and failing builds when asked."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import sphinx_build
from test_mkdocs import ROOT as MK_ROOT
from test_mkdocs import mkdocs_build

BROKEN_RST = """\
Broken
======

Some text.

.. pyrun::
   :session: s

   values = []

.. pyrun::
   :session: s

   total = sum(values)
   mean = total / len(values)
"""


def _line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


@pytest.fixture
def broken_sphinx(make_root: Callable[..., Path]) -> Callable[[str], Path]:
    def make(level: str) -> Path:
        conf = (Path(__file__).parent / "roots" / "basic" / "conf.py").read_text()
        conf += f'pyrun_check = "{level}"\npyrun_timeout = 3\n'
        return make_root("basic", **{"conf.py": conf, "broken.rst": BROKEN_RST})

    return make


def test_sphinx_error_fails_the_build_without_w(broken_sphinx, runtime_cache: Path) -> None:  # type: ignore[no-untyped-def]
    src = broken_sphinx("error")
    build = sphinx_build(src, src.parent / "html")
    assert build.status != 0
    err = build.stderr
    line = _line_of(src / "broken.rst", "mean = total / len(values)")
    assert re.search(
        rf"broken\.rst:{line}: WARNING: pyrun: failed: ZeroDivisionError: division by zero", err
    ), err
    assert 'File "' in err and f"line {line}" in err  # the traceback names the document line
    assert "[pyrun.check]" in err
    zero = _line_of(src / "index.rst", "return 1 / 0")
    assert re.search(rf"index\.rst:{zero}: WARNING: pyrun: failed: ZeroDivisionError", err)
    assert re.search(r"index\.rst:\d+: WARNING: pyrun: timeout: timed out after 3 s", err)
    assert "pyrun_check = 'error'" in err
    assert 'Traceback (most recent call last):\n  File "/' not in err  # none of our own code
    assert (src.parent / "html" / "broken.html").is_file()  # the rest of the build is intact


def test_sphinx_warn_keeps_status_zero_and_w_fails(broken_sphinx, runtime_cache: Path) -> None:  # type: ignore[no-untyped-def]
    src = broken_sphinx("warn")
    build = sphinx_build(src, src.parent / "html")
    assert build.status == 0, build.stderr
    assert "WARNING: pyrun: failed: ZeroDivisionError" in build.stderr
    strict = sphinx_build(src, src.parent / "strict", "html", "-W", "--keep-going")
    assert strict.status != 0


def test_sphinx_parallel_check_reports_the_same(broken_sphinx, runtime_cache: Path) -> None:  # type: ignore[no-untyped-def]
    src = broken_sphinx("warn")
    serial = sphinx_build(src, src.parent / "serial")
    parallel = sphinx_build(src, src.parent / "parallel", "html", "-j", "2")

    def failures(text: str) -> list[str]:
        return sorted(re.findall(r"(\w+\.rst:\d+): WARNING: pyrun: (\w+):", text))

    assert failures(serial.stderr) == failures(parallel.stderr)
    assert len(failures(serial.stderr)) == 3


def test_sphinx_check_off_runs_nothing(make_root: Callable[..., Path], runtime_cache: Path) -> None:
    src = make_root("basic", **{"broken.rst": BROKEN_RST})
    build = sphinx_build(src, src.parent / "html")
    assert build.status == 0
    assert "pyrun check" not in build.stderr + build.stdout


def _mk_root(tmp_path: Path, level: str) -> Path:
    root = tmp_path / "mk"
    shutil.copytree(MK_ROOT, root)
    cfg = root / "mkdocs.yml"
    cfg.write_text(cfg.read_text().replace('check: "off"', f"check: {level}"))
    page = root / "docs" / "sub" / "other.md"
    page.write_text(page.read_text() + '\n```pyrun\nitems = {}\nitems["missing"]\n```\n')
    return root


def test_mkdocs_error_fails_without_strict(tmp_path: Path, runtime_cache: Path) -> None:
    root = _mk_root(tmp_path, "error")
    build = mkdocs_build(root)
    assert build.status != 0
    line = _line_of(root / "docs" / "sub" / "other.md", 'items["missing"]')
    assert f"docs/sub/other.md:{line}: failed: KeyError: 'missing'" in build.output
    assert "failed the check (check: error in mkdocs.yml)" in build.output
    assert 'Traceback (most recent call last):\n  File "/' not in build.output


def test_mkdocs_warn_passes_unless_strict(tmp_path: Path, runtime_cache: Path) -> None:
    root = _mk_root(tmp_path, "warn")
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    assert "failed: KeyError: 'missing'" in build.output
    assert mkdocs_build(root, "--strict").status != 0


def test_a_build_stops_only_the_spare_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build with nothing to check stops the spare harness it started, and only that: one it
    did not start (``pyrun-docs check``'s, while the command reads the docs with a build of its
    own) goes on."""
    from types import SimpleNamespace

    from pyrun_docs.mkdocs_plugin import plugin as mkdocs_plugin
    from pyrun_docs.sphinx_ext import check as sphinx_check

    from pyrun_docs.check import spare
    from pyrun_docs.config import PyrunConfig

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (0.2, 0.2, 0.2))  # an idle second core
    try:
        assert spare.prestart(PyrunConfig(), tmp_path) is True  # this caller started it
        assert spare.prestart(PyrunConfig(), tmp_path) is False  # someone else's is running
    finally:
        spare.discard()

    stopped: list[str] = []
    monkeypatch.setattr(sphinx_check, "discard_spare", lambda: stopped.append("sphinx"))
    monkeypatch.setattr(mkdocs_plugin, "discard_spare", lambda: stopped.append("mkdocs"))
    for started in (True, False):
        sphinx_check.on_build_finished(SimpleNamespace(pyrun_spare_started=started), None)  # type: ignore[arg-type]
        build = mkdocs_plugin.PyrunPlugin()
        build.spare_started = started
        build.on_post_build(config=None)  # type: ignore[arg-type]  # no pages: nothing to check
    assert stopped == ["sphinx", "mkdocs"]


def test_sphinx_notes_a_fallback_without_a_warning(
    make_root: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that ran every snippet but took a slower path (a memory snapshot that did not
    restore) says so in the build's log, as a note: it changes no verdict, so it must not fail a
    ``-W`` build (it did, as a ``pyrun.check`` warning, for every build of more-itertools)."""
    import io

    from docutils.parsers.rst import directives, roles
    from pyrun_docs.sphinx_ext import check as sphinx_check
    from sphinx.cmd.build import build_main
    from sphinx.util.docutils import docutils_namespace

    from pyrun_docs.check import CheckReport, SnippetResult, Status

    def slower(pages: Any, *args: Any, **kwargs: Any) -> CheckReport:
        (snippet,) = [s for snippets in pages.values() for s in snippets]
        note = "memory snapshot with the site's packages not used (restoring failed: RangeError)"
        return CheckReport([SnippetResult(snippet, Status.PASSED)], problems=[note])

    monkeypatch.setattr(sphinx_check, "run_check", slower)
    conf = "extensions = ['pyrun_docs.sphinx_ext']\npyrun_check = 'error'\n"
    src = make_root("basic", **{"conf.py": conf, "index.rst": "T\n=\n\n.. pyrun::\n\n   x = 1\n"})
    for name in ("myst.md", "plain.rst", "sub"):
        path = src / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    with docutils_namespace():  # what an earlier in-process build of this worker registered
        directives._directives.clear()  # (or leaked) is not "already registered" here: -W fails
        roles._roles.clear()
        status = build_main(["-b", "html", "-W", str(src), str(tmp_path / "html")])
    assert status == 0, err.getvalue()
    assert "pyrun: note: memory snapshot with the site's packages not used" in out.getvalue()
    assert "WARNING" not in err.getvalue()


def test_sphinx_warns_once_for_snippets_unchecked_for_one_reason(
    make_root: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snippets the check could not judge for one shared reason (a package nobody could fetch)
    are one warning at the first, naming the others (dateutil's build warned 187 times), while
    a real failure is still its own warning; the build still fails with ``pyrun_check='error'``."""
    import io

    from pyrun_docs.sphinx_ext import check as sphinx_check
    from sphinx.cmd.build import build_main

    from pyrun_docs.check import CheckReport, SnippetResult, Status

    reason = "not checked: package tzdata is not in the verified package folder"

    def unreachable(pages: Any, *args: Any, **kwargs: Any) -> CheckReport:
        snippets = [s for snippets in pages.values() for s in snippets]
        results = [SnippetResult(s, Status.ERROR, reason) for s in snippets[:-1]]
        results.append(SnippetResult(snippets[-1], Status.FAILED, "ZeroDivisionError"))
        return CheckReport(results)

    monkeypatch.setattr(sphinx_check, "run_check", unreachable)
    blocks = "".join(f".. pyrun::\n\n   x = {i}\n\n" for i in range(4))
    conf = "extensions = ['pyrun_docs.sphinx_ext']\npyrun_check = 'error'\n"
    src = make_root("basic", **{"conf.py": conf, "index.rst": f"T\n=\n\n{blocks}"})
    for name in ("myst.md", "plain.rst", "sub"):
        path = src / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    err = io.StringIO()
    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.setattr("sys.stderr", err)
    status = build_main(["-b", "html", str(src), str(tmp_path / "html")])
    text = re.sub(r"\x1b\[[0-9;]*m", "", err.getvalue())
    assert status == 1, text
    warnings = [ln for ln in text.splitlines() if "WARNING: pyrun:" in ln]
    assert len(warnings) == 2, warnings
    assert "index.rst:6: WARNING: pyrun: error: " + reason in warnings[0]
    # named as the warning's own location is (they were relative to the docs folder)
    page = warnings[0].split(":6: WARNING")[0]
    assert page.endswith("index.rst"), warnings[0]
    assert f"(the same for 2 more snippets: {page}:10, {page}:14)" in warnings[0], warnings[0]
    assert "index.rst:18: WARNING: pyrun: failed: ZeroDivisionError" in warnings[1]
