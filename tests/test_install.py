"""A new user's first build: README's install lines, into a fresh virtual environment, then the
quickstart site from README's own snippets, with Sphinx and with MkDocs.

pyrun-docs is not on the package index yet, so README installs from a checkout (``pip install
".[sphinx]"``, which builds the wheel): here the wheel is built once and put where ``.`` stands,
and the dependencies come from the package index pip is configured with. The built site must have
its widgets, the self-hosted runtime and the check's verified output (the check is on by default).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    end = README.find("\n## ", start + len(title) + 2)
    return README[start : end if end != -1 else len(README)]


def _fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", text, flags=re.M | re.S)


def _pip_line(text: str) -> list[str]:
    """The first ``pip install`` line of the section's console blocks, as arguments."""
    for block in _fenced(text, "console"):
        for line in block.splitlines():
            if line.startswith("pip install"):
                return shlex.split(line.split("#", 1)[0])[2:]
    raise AssertionError("no pip install line")


def _run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        # pip as a user runs it: with build isolation (conftest turns it off for the suite)
        env={
            **{k: v for k, v in os.environ.items() if k != "PIP_NO_BUILD_ISOLATION"},
            "NO_MKDOCS_2_WARNING": "1",
            **env,
        },
    )


@pytest.fixture(scope="module")
def wheel(pyrun_docs_wheel: Path) -> Path:
    return pyrun_docs_wheel  # built once per run (conftest), as README's install would


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment (no pyrun-docs, no Sphinx)."""
    env = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    return env / "bin"


def _install_as_written(section: str, wheel: Path, bin_dir: Path) -> list[str]:
    """Run the section's ``pip install`` line with the fresh environment's pip, the wheel in
    place of the checkout (``.``); returns the line's arguments as README writes them."""
    args = _pip_line(_section(section))
    assert any(a.startswith(".[") for a in args), args  # README installs from the checkout
    real = [str(wheel) + a[1:] if a.startswith(".[") else a for a in args]
    proc = _run([str(bin_dir / "pip"), "install", "-q", *real], wheel.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return args


def test_readme_install_and_quickstart_sphinx(wheel: Path, fresh: Path, tmp_path: Path) -> None:
    args = _install_as_written("## Use it", wheel, fresh)
    assert args == [".[sphinx]"]
    use = _section("## Use it")
    src = tmp_path / "docs"
    src.mkdir()
    (src / "conf.py").write_text(_fenced(use, "python")[0], encoding="utf-8")
    (src / "index.rst").write_text("Quickstart\n==========\n\n" + _fenced(use, "rst")[0])
    proc = _run([str(fresh / "sphinx-build"), "-b", "html", str(src), str(tmp_path / "html")], src)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    assert "pyrun check: all passed: 1 snippet on 1 page" in proc.stdout, proc.stdout
    page = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "<py-repl" in page
    assert "1.4142135623730951" in page  # the check's verified output, shown before any Run
    static = tmp_path / "html" / "_static" / "pyrun"
    assert any(static.glob("pyodide-*/pyodide.asm.wasm"))  # self-hosted runtime
    assert (tmp_path / "html" / "pyrun-sw.js").is_file()
    # the command line of the installed wheel
    check = _run([str(fresh / "pyrun-docs"), "check", str(src), "-q"], tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "all passed: 1 snippet on 1 page" in check.stdout
    help_text = _run([str(fresh / "pyrun-docs"), "--help"], tmp_path).stdout
    assert "remove" in help_text and "``" not in help_text


def test_readme_install_and_quickstart_mkdocs(wheel: Path, fresh: Path, tmp_path: Path) -> None:
    args = _install_as_written("### MkDocs", wheel, fresh)
    assert args == [".[mkdocs]", "mkdocs-material"]
    section = _section("### MkDocs")
    root = tmp_path / "mk"
    (root / "docs").mkdir(parents=True)
    config = _fenced(section, "yaml")[0]
    (root / "mkdocs.yml").write_text("site_name: Quickstart\n" + config, encoding="utf-8")
    page = re.search(r"^````markdown\n(.*?)^````$", section, flags=re.M | re.S)
    assert page is not None
    (root / "docs" / "index.md").write_text("# Quickstart\n\n" + page.group(1), encoding="utf-8")
    proc = _run([str(fresh / "mkdocs"), "build", "--strict"], root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (root / "site" / "index.html").read_text(encoding="utf-8")
    assert "<py-repl" in html and "1.4142135623730951" in html
    assert (root / "site" / "search" / "search_index.json").is_file()  # search was kept
    assert (root / "site" / "pyrun-sw.js").is_file()
