"""Zensical (the successor of Material for MkDocs) runs Python-Markdown extensions but no MkDocs
plugins: the ``pyrun`` fence registered in SuperFences and the upgrade as a Markdown extension
work there, in a real ``zensical build``; ``pyrun-docs check`` reads ``zensical.toml``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import check_dir

from pyrun_docs.cli import main

CONFIG = """[project]
site_name = "Zen"
extra_javascript = [{ path = "assets/pyrun/pyrun.js", type = "module" }]
extra_css = ["assets/pyrun/pyrun.css"]

[[project.markdown_extensions.pymdownx.superfences.custom_fences]]
name = "pyrun"
class = "pyrun"
validator = "pyrun_docs.mkdocs_plugin.fence.validator"
format = "pyrun_docs.mkdocs_plugin.fence.formatter"

[project.markdown_extensions."pyrun_docs.mkdocs_plugin.extension"]
upgrade = ["doctest", "python"]
"""

PAGE = """# Zen

```pyrun
print("a pyrun fence")
```

```pycon
>>> 2 + 2
4
```

```python
print("upgraded")
```

```{.python .no-pyrun}
print("kept as written")
```
"""


def test_zensical_builds_the_fence_and_the_upgrade(tmp_path: Path, runtime_cache: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(PAGE)
    (tmp_path / "zensical.toml").write_text(CONFIG)
    zensical = shutil.which("zensical", path=str(Path(sys.executable).parent)) or "zensical"
    proc = subprocess.run(
        [zensical, "build"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        check=False, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (tmp_path / "site" / "index.html").read_text()
    assert page.count("<py-repl") == 3
    assert 'data-session="default"' in page and "data-transcript=" in page
    assert "kept as written" in page.split("<py-repl")[-1].split("</py-repl>")[-1]
    # the check without a build reads zensical.toml and upgrades the same fences
    out = tmp_path / "check.json"
    cache = str(check_dir(tmp_path))
    assert (
        main(["check", str(tmp_path / "docs"), "--json", str(out), "--cache-dir", cache, "-q"]) == 0
    )
    results = json.loads(out.read_text())["results"]
    assert [(r["line"], r["status"]) for r in results] == [
        (4, "passed"),
        (8, "passed"),
        (13, "passed"),
    ]
