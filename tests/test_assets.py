"""The loader a site ships: the source's whole-line comments left out, nothing else changed."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

from conftest import node_tool

from pyrun_docs.assets import assets_dir, copy_site_assets, without_comment_lines
from pyrun_docs.config import PyrunConfig

SOURCE = """\
// @ts-check
/**
 * A doc comment
 * over lines.
 */
const a = "// not a comment"; // a trailing comment stays
  // an indented line comment
/** @type {number} */
let b = /** @type {any} */ (a).length;
/* one line */
const re = /\\/\\*not a comment\\*\\//;
"""


def test_whole_line_comments_go_and_code_stays() -> None:
    out = without_comment_lines(SOURCE)
    assert out == (
        'const a = "// not a comment"; // a trailing comment stays\n'
        "let b = /** @type {any} */ (a).length;\n"
        "const re = /\\/\\*not a comment\\*\\//;\n"
    )


def test_a_block_ending_beside_code_leaves_the_text_unchanged() -> None:
    odd = "/*\n * comment\n */ const x = 1;\nconst y = 2;\n"
    assert without_comment_lines(odd) == odd
    unterminated = "const x = 1;\n/*\n * never closed\n"
    assert without_comment_lines(unterminated) == unterminated


def test_shipped_loader_is_smaller_and_still_javascript(tmp_path: Path) -> None:
    target = copy_site_assets(tmp_path, PyrunConfig(runtime_source="cdn"), set())
    shipped = (target / "pyrun.js").read_text(encoding="utf-8")
    source = (assets_dir() / "pyrun.js").read_text(encoding="utf-8")
    comment_only = [
        line
        for line in map(str.strip, shipped.splitlines())
        if line.startswith(("//", "* ", "*/")) or (line.startswith("/*") and line.endswith("*/"))
    ]
    assert comment_only == []
    assert len(gzip.compress(shipped.encode(), 9)) < 0.85 * len(gzip.compress(source.encode(), 9))
    # every line of code is still there, in order
    code = [line for line in source.splitlines() if line in shipped.splitlines()]
    assert code == shipped.splitlines()
    check = subprocess.run(
        [*node_tool("node"), "--check", str(target / "pyrun.js")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    # the other assets are copied as they are
    runner = assets_dir() / "pyrun-runner.js"
    assert (target / "pyrun-runner.js").read_bytes() == runner.read_bytes()
