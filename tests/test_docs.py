"""Our own documentation builds with our own extension, warning-free (``-W``)."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import sphinx_build

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_own_docs_build_without_warnings(tmp_path: Path, runtime_cache: Path) -> None:
    build = sphinx_build(DOCS, tmp_path / "html", "html", "-W", "--keep-going", cwd=DOCS.parent)
    assert build.status == 0, build.stderr
    index = build.read("index.html")
    assert len(re.findall(r"<py-repl ", index)) >= 4
    assert (tmp_path / "html" / "_static" / "pyrun" / "pyrun.js").is_file()
