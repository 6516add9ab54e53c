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

import pytest
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

#: SuperFences with the pyrun fence, as a YAML list item under markdown_extensions
FENCES_YML = (
    "  - pymdownx.superfences:\n      custom_fences:\n        - name: pyrun\n"
    "          class: pyrun\n"
    "          validator: !!python/name:pyrun_docs.mkdocs_plugin.fence.validator\n"
    "          format: !!python/name:pyrun_docs.mkdocs_plugin.fence.formatter\n"
)

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


def _render(text: str, extensions: list[object], base: Path) -> str:
    import markdown
    from pyrun_docs.mkdocs_plugin import fence

    pyrun = {
        "name": "pyrun",
        "class": "pyrun",
        "validator": fence.validator,
        "format": fence.formatter,
    }
    configs = {
        "pymdownx.snippets": {"base_path": [str(base)]},
        "pymdownx.superfences": {"custom_fences": [pyrun]},
    }
    return str(markdown.markdown(text, extensions=extensions, extension_configs=configs))


def test_the_extension_upgrades_what_pymdownx_snippets_includes(tmp_path: Path) -> None:
    """The upgrade runs after pymdownx.snippets whatever the load order (both ran at priority 32,
    in the order loaded, and Zensical loads the quoted extension first: an included fence
    stayed plain)."""
    (tmp_path / "part.md").write_text("```pycon\n>>> 1 + 1\n2\n```\n")
    page = 'Text.\n\n--8<-- "part.md"\n'
    extensions: list[object] = [
        "pyrun_docs.mkdocs_plugin.extension", "pymdownx.snippets", "pymdownx.superfences"
    ]  # fmt: skip
    html = _render(page, extensions, tmp_path)
    assert "```" not in html and "<py-repl" in html and "1 + 1" in html, html


def test_the_extension_leaves_mkdocstrings_docstrings_alone(tmp_path: Path) -> None:
    """mkdocstrings renders docstrings with a Markdown of the page's extensions and its own
    treeprocessors: a docstring's fence upgraded there became a widget without its module's
    names (NameError for readers); docstring examples need the MkDocs plugin."""
    import markdown
    from markdown.treeprocessors import Treeprocessor
    from pyrun_docs.mkdocs_plugin.extension import MKDOCSTRINGS_INNER, PyrunUpgradeExtension

    class Inner(markdown.Extension):  # type: ignore[misc]
        def extendMarkdown(self, md: markdown.Markdown) -> None:
            md.treeprocessors.register(Treeprocessor(md), MKDOCSTRINGS_INNER, 1)

    from pyrun_docs.mkdocs_plugin import fence

    text = "```pycon\n>>> 1 + 1\n2\n```\n"
    pyrun = {
        "name": "pyrun",
        "class": "pyrun",
        "validator": fence.validator,
        "format": fence.formatter,
    }
    configs = {"pymdownx.superfences": {"custom_fences": [pyrun]}}
    extensions = [PyrunUpgradeExtension(), "pymdownx.superfences"]
    page = markdown.Markdown(extensions=extensions, extension_configs=configs)
    inner = markdown.Markdown(extensions=[*extensions, Inner()], extension_configs=configs)
    assert "pyrun" in page.convert(text)
    assert "pyrun" not in inner.convert(text)


def test_a_zensical_yml_site_is_checked_as_zensical_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Zensical site configured in ``zensical.yml`` (bracex, wcmatch, pymdown-extensions): the
    name was not looked for ("no pyrun snippets", exit 0), and naming it made the command build
    it with MkDocs, which cannot (its theme), once pymdownx.snippets was listed."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\n```pycon\n>>> 1 + 1\n3\n```\n")
    (tmp_path / "zensical.yml").write_text(
        "site_name: Z\ntheme:\n  variant: modern\nmarkdown_extensions:\n"
        "  - pymdownx.snippets\n" + FENCES_YML + "  - pyrun_docs.mkdocs_plugin.extension:\n"
        "      upgrade: [doctest]\n"
    )
    monkeypatch.chdir(tmp_path)
    cache = str(check_dir(tmp_path))
    assert main(["check", "docs", "--cache-dir", cache, "-q"]) == 1
    assert main(["check", "zensical.yml", "--cache-dir", cache, "-q"]) == 1


@pytest.mark.parametrize("form", ["yml", "toml"])
def test_a_zensical_site_s_check_includes_what_pymdownx_snippets_includes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime_cache: Path, form: str
) -> None:
    """``pyrun-docs check`` on a Zensical site (no MkDocs build to read it) did not expand
    ``--8<--`` includes: their examples went unchecked. They are checked, at the include's line;
    the page's own examples after it keep their own lines."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "parts").mkdir()  # not a page: outside docs/
    (tmp_path / "parts" / "example.md").write_text("Shared.\n\n```pycon\n>>> 1 + 1\n3\n```\n")
    (docs / "index.md").write_text(
        '# Home\n\n--8<-- "parts/example.md"\n\nMore.\n\n```pycon\n>>> 2 + 2\n4\n```\n'
    )
    if form == "yml":
        (tmp_path / "zensical.yml").write_text(
            "site_name: Z\nmarkdown_extensions:\n  - pymdownx.snippets:\n      base_path: [.]\n"
            + FENCES_YML
            + "  - pyrun_docs.mkdocs_plugin.extension:\n      upgrade: [doctest]\n"
        )
    else:
        (tmp_path / "zensical.toml").write_text(
            CONFIG + '\n[project.markdown_extensions.pymdownx.snippets]\nbase_path = ["."]\n'
        )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "check.json"
    status = main(["check", "docs", "--cache-dir", str(check_dir(tmp_path)), "-q",
                   "--json", str(out)])  # fmt: skip
    results = [(r["path"], r["line"], r["status"]) for r in json.loads(out.read_text())["results"]]
    index = str(Path("docs") / "index.md")
    assert results == [(index, 3, "failed"), (index, 8, "passed")], results
    assert status == 1


def test_the_extension_without_the_pyrun_fence_stops_the_build_and_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upgrade extension listed, SuperFences without the ``pyrun`` fence: the page showed
    its examples as text in nested quotes, ``mkdocs build --strict`` passed and the check said
    "all passed". Both stop, saying what to add."""
    from test_mkdocs import mkdocs_build

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\n```pycon\n>>> 1 + 1\n2\n```\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: M\nmarkdown_extensions:\n  - pymdownx.superfences\n"
        "  - pyrun_docs.mkdocs_plugin.extension:\n      upgrade: [doctest]\n"
    )
    build = mkdocs_build(tmp_path, "--strict")
    assert build.status != 0 and "SuperFences has no pyrun fence" in build.output, build.output
    assert "Traceback" not in build.output
    monkeypatch.chdir(tmp_path)
    assert main(["check", "docs", "--cache-dir", str(check_dir(tmp_path)), "-q"]) == 2
