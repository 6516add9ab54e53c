"""``pyrun_isolation`` (run inside Pyodide by the harness) tested here in CPython.

It must undo what a page did to a shared interpreter, and report what it cannot undo so the harness
gives the next page a fresh interpreter instead.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyrun_docs.check import isolation
from pyrun_docs.check.isolation import Baseline, fresh_baseline, keep_baseline


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "fs"
    folder.mkdir()
    (folder / "kept.txt").write_text("original", encoding="utf-8")
    yield folder
    gc.unfreeze()  # Baseline freezes the "fresh interpreter" (here: the test process)


def test_restore_undoes_a_page(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(sandbox)
    original_dumps = json.dumps
    baseline = Baseline(roots=(str(sandbox),))
    try:
        # what a page might do
        sys.modules["pyrun_test_leak"] = types.ModuleType("pyrun_test_leak")
        json.dumps = lambda *a, **k: "patched"
        json.extra_attribute = 1  # type: ignore[attr-defined]
        json.JSONEncoder.item_separator = "; "
        os.environ["PYRUN_TEST_LEAK"] = "1"
        sys.path.append("/somewhere")
        sys.setrecursionlimit(sys.getrecursionlimit() + 7)
        (sandbox / "new").mkdir()
        (sandbox / "new" / "file.txt").write_text("x", encoding="utf-8")
        os.chdir(sandbox / "new")

        problems = baseline.restore()
    finally:
        json.dumps = original_dumps
        json.JSONEncoder.item_separator = ", "
    assert problems == []
    assert "pyrun_test_leak" not in sys.modules
    assert json.dumps({"a": 1}) == '{"a": 1}' and not hasattr(json, "extra_attribute")
    assert "PYRUN_TEST_LEAK" not in os.environ and "/somewhere" not in sys.path
    assert not (sandbox / "new").exists() and Path.cwd() == sandbox
    assert baseline.restore() == []  # nothing left to undo


def test_restore_puts_back_process_wide_settings(sandbox: Path) -> None:
    """A page's ``os.umask`` and ``socket.setdefaulttimeout`` outlived it (kept in C, not in a
    module's dict): the next page's files and sockets had them (python-chess's trial)."""
    import socket

    baseline = Baseline(roots=(str(sandbox),))
    before = os.umask(0o077)
    socket.setdefaulttimeout(5)
    try:
        assert baseline.restore() == []
        assert os.umask(before) == before  # it was put back
        assert socket.getdefaulttimeout() is None
    finally:
        os.umask(before)
        socket.setdefaulttimeout(None)


def test_restore_forgets_what_a_page_registered_with_an_abstract_class(sandbox: Path) -> None:
    """A page's class registered with (or cached by) a standard library ABC stays there after
    the page's modules are forgotten: the next page's import of pure-Python zope.interface
    found the earlier copy's classes through ``MutableSequence``'s cache (RecursionError: 23 of
    zope.component's examples kept static)."""
    from collections.abc import Iterable, MutableSequence

    baseline = Baseline(roots=(str(sandbox),))
    before = isolation._registered(MutableSequence)

    class Registered:
        pass

    class Iterates:
        def __iter__(self) -> Iterator[int]:
            return iter(())

    MutableSequence.register(Registered)
    assert issubclass(Registered, MutableSequence) and issubclass(Iterates, Iterable)
    assert baseline.restore() == []
    assert isolation._registered(MutableSequence) == before
    cached = [ref() for ref in abc_dump(Iterable)[1]]
    assert Iterates not in cached and Registered not in [r() for r in abc_dump(MutableSequence)[1]]
    assert not issubclass(Registered, MutableSequence)


def abc_dump(cls: type) -> tuple[set[object], set[object], set[object], int]:
    import abc

    return abc._get_dump(cls)  # type: ignore[attr-defined,no-any-return]


def test_restore_reports_what_it_cannot_undo(sandbox: Path, tmp_path: Path) -> None:
    baseline = Baseline(roots=(str(sandbox),))
    (sandbox / "kept.txt").write_text("changed!", encoding="utf-8")
    outside = tmp_path / "page_module.py"
    outside.write_text("VALUE = 1\n", encoding="utf-8")
    module = types.ModuleType("page_module")
    module.__file__ = str(outside)
    sys.modules["page_module"] = module
    problems = baseline.restore()
    assert any("kept.txt was changed" in p for p in problems)
    assert any("module page_module was imported from" in p for p in problems)
    assert "page_module" not in sys.modules


def test_a_restored_interpreter_takes_the_baseline_kept_in_its_snapshot(sandbox: Path) -> None:
    """The baseline made before the snapshot is the restored interpreter's (no second copy of
    every namespace), with its files stamped again: a restore writes them back, newer."""
    keep_baseline(roots=(str(sandbox),))
    kept = isolation._kept
    os.utime(sandbox / "kept.txt", (1, 1))  # written back after the restore: another stamp
    baseline = fresh_baseline(True, roots=(str(sandbox),))
    assert baseline is kept and isolation._kept is None  # taken once
    assert baseline.restore() == []  # the file's new stamp is the baseline's
    json.kept_baseline_leak = 1  # type: ignore[attr-defined]
    (sandbox / "page.txt").write_text("x", encoding="utf-8")
    assert baseline.restore() == [] and not hasattr(json, "kept_baseline_leak")
    assert not (sandbox / "page.txt").exists()

    keep_baseline(roots=(str(sandbox),))
    kept = isolation._kept
    assert fresh_baseline(False, roots=(str(sandbox),)) is not kept  # something ran: a new one
    assert isolation._kept is None  # and the kept one is gone


def test_restore_skips_the_files_when_told_none_changed(sandbox: Path) -> None:
    """The harness says whether a page may have changed files; when not, they are not walked."""
    baseline = Baseline(roots=(str(sandbox),))
    (sandbox / "page.txt").write_text("x", encoding="utf-8")
    assert baseline.restore(files=False) == [] and (sandbox / "page.txt").exists()
    assert baseline.restore() == [] and not (sandbox / "page.txt").exists()


def test_restore_compares_only_the_namespaces_said_to_have_changed(sandbox: Path) -> None:
    """The harness's dict watchers say which namespaces changed: a module's dict and a class's own
    dict (behind its ``__dict__`` proxy) are among the addresses watched, and restore puts back
    only the ones it is told of (None: all, as without watchers)."""
    import string

    baseline = Baseline(roots=(str(sandbox),))
    module, own = vars(json), gc.get_referents(string.Template.__dict__)[0]
    assert {id(module), id(own)} <= set(baseline.watch_targets())
    try:
        json.extra = 1  # type: ignore[attr-defined]
        string.Template.delimiter = "%"
        assert baseline.restore(False, changed=[]) == []
        assert hasattr(json, "extra") and string.Template.delimiter == "%"  # trusted the watchers
        assert baseline.restore(False, changed=[id(module), id(own)]) == []
        assert not hasattr(json, "extra") and string.Template.delimiter == "$"
        json.extra = 2  # type: ignore[attr-defined]
        assert baseline.restore(False) == [] and not hasattr(json, "extra")
    finally:
        vars(json).pop("extra", None)
        string.Template.delimiter = "$"
