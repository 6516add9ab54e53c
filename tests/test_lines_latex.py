"""Line numbers and emphasis reach the builders that print a plain code block (issue 20, item 1):
the LaTeX builder numbers a pyrun block from ``lineno-start`` and highlights its emphasized
lines, as it does for ``code-block`` with the same options."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import ROOTS, sphinx_build

PAGE = """\
Lines
=====

.. code-block:: python
   :lineno-start: 98
   :emphasize-lines: 2

   a = 1
   b = 2

.. pyrun::
   :lineno-start: 98
   :emphasize-lines: 2

   a = 1
   b = 2
"""


def test_latex_numbers_and_emphasis_as_code_block(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOTS / "basic", src)
    (src / "index.rst").write_text(PAGE + "\n.. toctree::\n\n   plain\n")
    build = sphinx_build(src, tmp_path / "latex", "latex")
    assert build.status == 0, build.stderr
    tex = next((tmp_path / "latex").glob("*.tex")).read_text(encoding="utf-8")
    blocks = re.findall(r"\\begin\{sphinxVerbatim\}\[([^\]]*)\]", tex)
    assert len(blocks) >= 2, blocks
    assert blocks[0] == blocks[1], blocks  # code-block's and pyrun's options, the same
    assert "firstnumber=98" in blocks[0] and "numbers=left" in blocks[0]
    assert tex.count("\\fvset{hllines={, 2,}}") == 2  # line 2 emphasized in both


def test_emphasized_line_out_of_range_warns_with_location(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOTS / "basic", src)
    (src / "plain.rst").write_text(
        "Plain\n=====\n\n.. pyrun::\n   :emphasize-lines: 5\n\n   x = 1\n"
    )
    build = sphinx_build(src, tmp_path / "html")
    assert build.status == 0, build.stderr
    assert (
        "plain.rst:4: WARNING: pyrun: option 'emphasize-lines': line 5 is out of range (1-1)"
        in (build.stderr)
    ), build.stderr
