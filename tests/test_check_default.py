"""The build check is on by default (``pyrun_check = "warn"``, MkDocs ``check: warn``).

A site that sets nothing gets every example run during its build: a failure is a warning at its
``file:line`` and the build still succeeds; an unchanged tree is answered from the result cache;
a machine without Node.js still builds the site, with one warning that says how to get Node.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import sphinx_build
from test_mkdocs import mkdocs_build

from pyrun_docs.config import PyrunConfig

#: fixed text, so a later run of this test is answered from the shared result cache
FAILING_RST = """\
Default
=======

.. pyrun::

   print("the check ran this")

.. pyrun::

   values = []
   print(sum(values) / len(values))
"""


def _sphinx_site(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["pyrun_docs.sphinx_ext"]\n', encoding="utf-8")
    (src / "index.rst").write_text(FAILING_RST, encoding="utf-8")
    return src


def test_the_default_is_warn() -> None:
    assert PyrunConfig().check == "warn"


def test_sphinx_checks_by_default_and_an_unchanged_tree_costs_nothing(
    tmp_path: Path, runtime_cache: Path
) -> None:
    src = _sphinx_site(tmp_path)
    build = sphinx_build(src, tmp_path / "html")
    assert build.status == 0, build.stderr  # "warn": the build succeeds...
    line = FAILING_RST.splitlines().index("   print(sum(values) / len(values))") + 1
    # ...with the failure as a warning at its line
    assert re.search(rf"index\.rst:{line}: WARNING: pyrun: failed: ZeroDivisionError", build.stderr)
    # the same tree again (not quiet, to read the summary): nothing runs, the warning stays
    again = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", str(src), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "0 interpreters started" in again.stdout, again.stdout
    assert "pyrun: failed: ZeroDivisionError" in again.stderr


def test_without_node_the_site_is_built_with_one_warning(
    tmp_path: Path, runtime_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYRUN_DOCS_NODE", str(tmp_path / "no-node"))
    src = _sphinx_site(tmp_path)
    (src / "index.rst").write_text(FAILING_RST.replace("this", "this without Node"))
    build = sphinx_build(src, tmp_path / "html")
    assert build.status == 0, build.stderr
    assert (tmp_path / "html" / "index.html").is_file()
    warnings = [ln for ln in build.stderr.splitlines() if "WARNING" in ln]
    assert len(warnings) == 1, build.stderr
    assert "the check could not run" in warnings[0] and "no usable Node.js" in warnings[0]
    assert "unset it to use" in warnings[0]


def test_mkdocs_checks_by_default(tmp_path: Path, runtime_cache: Path) -> None:
    root = tmp_path / "mk"
    (root / "docs").mkdir(parents=True)
    (root / "mkdocs.yml").write_text(
        "site_name: Default\n"
        "markdown_extensions:\n  - pymdownx.superfences\n"
        "plugins:\n  - search\n  - pyrun\n",
        encoding="utf-8",
    )
    (root / "docs" / "index.md").write_text(
        '# Default\n\n```pyrun\nprint("checked by default")\n```\n\n```pyrun\n{}["missing"]\n```\n',
        encoding="utf-8",
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    assert "docs/index.md:8: failed: KeyError: 'missing'" in build.output
    # check: off, written bare (YAML reads it as false), turns it off
    config = (
        (root / "mkdocs.yml").read_text().replace("  - pyrun\n", "  - pyrun:\n      check: off\n")
    )
    (root / "mkdocs.yml").write_text(config)
    off = mkdocs_build(root)
    assert off.status == 0 and "pyrun check" not in off.output and "failed" not in off.output
    # the summary table keeps its columns under the log prefix: every count ends under its name
    lines = build.output.splitlines()
    at = next(i for i, ln in enumerate(lines) if "passed  failed" in ln)
    header, counts = lines[at], lines[at + 1]
    ends = [m.end() for m in re.finditer(r"\S+", header)]
    assert [m.end() for m in re.finditer(r"\d+", counts)] == ends[-6:], build.output
