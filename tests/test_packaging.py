"""The package layout: three folders install under ``pyrun_docs``, nothing generic at the top level."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import importlib, sys
for name in ("sphinx_ext", "mkdocs_plugin", "assets"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
    else:
        sys.exit(f"top-level module {name!r} is importable")
import pyrun_docs, pyrun_docs.sphinx_ext, pyrun_docs.mkdocs_plugin
from pyrun_docs.assets import assets_dir, executor_path
assert (assets_dir() / "pyrun.js").is_file(), assets_dir()
assert executor_path().is_file()
from pyrun_docs.runtime import get_pin
assert get_pin().version
print(pyrun_docs.__file__)
"""


@pytest.fixture(scope="module")
def wheel(pyrun_docs_wheel: Path) -> Path:
    return pyrun_docs_wheel  # built once per run (conftest)


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "pyrun_docs/__init__.py",
        "pyrun_docs/executor.py",
        "pyrun_docs/pins.json",
        "pyrun_docs/py.typed",
        "pyrun_docs/sphinx_ext/__init__.py",
        "pyrun_docs/mkdocs_plugin/__init__.py",
        "pyrun_docs/assets/pyrun.js",
        "pyrun_docs/assets/pyrun-worker.js",
        "pyrun_docs/assets/pyrun-micropython.js",
        "pyrun_docs/assets/pyrun-snapshot.js",
        "pyrun_docs/site_snapshot.mjs",
        "pyrun_docs/check/harness.mjs",
        "pyrun_docs/check/harness_micropython.mjs",
        "pyrun_docs/check/harness_io.mjs",
        "pyrun_docs/assets/pyrun.css",
    ):
        assert required in names, required
    assert not any(n.startswith(("sphinx_ext/", "mkdocs_plugin/", "assets/")) for n in names)
    assert "pyrun_docs/assets/__init__.py" not in names
    # no runtime binaries in the wheel
    assert not any(n.endswith((".wasm", ".zip", ".tgz")) for n in names)


def test_installed_wheel_layout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert proc.stdout.strip().startswith(str(target))


def test_development_install_layout(tmp_path: Path) -> None:
    """The editable install (how the test suite itself runs) hides the folders too."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
