"""Every configuration snippet in README.md and docs/ parses, and its pyrun settings are valid.

A reader copies these into ``conf.py``, ``mkdocs.yml`` or ``zensical.toml``; one that is not valid
YAML once uncommented, or that sets a value the build rejects, costs them their first hour.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import PyrunError

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.rst")),
    *(ROOT / "docs").glob("*.md"),
]
LANGUAGES = ("python", "yaml", "toml")

_MD_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<lang>[\w-]*)\s*$")
_RST_BLOCK = re.compile(r"^(?P<indent> *)\.\. (?:code-block|code|sourcecode):: *(?P<lang>\w+)\s*$")


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    text: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} ({self.lang})"


def _markdown_blocks(path: Path, lines: list[str]) -> Iterator[Block]:
    i = 0
    while i < len(lines):
        match = _MD_FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, width = match.group("fence"), len(match.group("indent"))
        close = re.compile(rf"^ *{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), len(lines))
        body = "\n".join(ln[width:] for ln in lines[i + 1 : end])
        yield Block(path, i + 2, match.group("lang"), body)
        i = end + 1


def _rst_blocks(path: Path, lines: list[str]) -> Iterator[Block]:
    for i, line in enumerate(lines):
        match = _RST_BLOCK.match(line)
        if match is None:
            continue
        indent = len(match.group("indent"))
        j = i + 1
        while j < len(lines) and lines[j].strip().startswith(":"):  # the directive's options
            j += 1
        body: list[str] = []
        first = None
        for k in range(j, len(lines)):
            text = lines[k]
            if text.strip() and len(text) - len(text.lstrip()) <= indent:
                break
            if first is None and text.strip():
                first = k
            body.append(text)
        yield Block(path, (first or j) + 1, match.group("lang"), _dedent(body))


def _dedent(lines: list[str]) -> str:
    import textwrap

    return textwrap.dedent("\n".join(lines)).strip("\n") + "\n"


def config_blocks() -> list[Block]:
    found: list[Block] = []
    for path in SOURCES:
        lines = path.read_text(encoding="utf-8").splitlines()
        blocks = (
            _rst_blocks(path, lines) if path.suffix == ".rst" else _markdown_blocks(path, lines)
        )
        found += [b for b in blocks if b.lang in LANGUAGES]
    return found


class _Loader(yaml.SafeLoader):
    """MkDocs' tags (``!!python/name:``, ``!ENV``) are accepted as they are in mkdocs.yml."""


_Loader.add_multi_constructor("", lambda loader, suffix, node: None)


def _uncommented(text: str) -> str:
    """The block with its commented-out settings switched on (``# key: value`` lines)."""
    return re.sub(r"^(\s*)# (?=[\w-]+:)", r"\1", text, flags=re.M)


def _pyrun_settings_yaml(data: Any) -> Iterator[Mapping[str, Any]]:
    plugins = data.get("plugins") if isinstance(data, Mapping) else None
    for entry in plugins or []:
        if isinstance(entry, Mapping) and "pyrun" in entry:
            yield entry["pyrun"] or {}


BLOCKS = config_blocks()


def test_the_snippets_are_found() -> None:
    langs = {b.lang for b in BLOCKS}
    assert langs == set(LANGUAGES), langs
    assert len(BLOCKS) >= 15
    # both syntaxes are read: fenced (README) and code-block (docs/*.rst)
    assert {b.path.suffix for b in BLOCKS} >= {".md", ".rst"}


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_config_snippet_parses_and_its_settings_are_valid(block: Block) -> None:
    if block.lang == "python":
        tree = ast.parse(block.text, filename=str(block))
        for node in ast.walk(tree):  # pyrun_* settings must be values the build accepts
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id.startswith("pyrun_"):
                    value = ast.literal_eval(node.value)
                    PyrunConfig.from_mapping({target.id[len("pyrun_") :]: value}, prefix="pyrun_")
    elif block.lang == "toml":
        tomllib = pytest.importorskip("tomllib")  # Python 3.11+ (Zensical's own requirement)
        tomllib.loads(block.text)
    else:
        for text in (block.text, _uncommented(block.text)):
            data = yaml.load(text, Loader=_Loader)  # a SafeLoader
            for settings in _pyrun_settings_yaml(data):
                PyrunConfig.from_mapping(dict(settings), prefix="plugins.pyrun.")
            plugins = data.get("plugins") if isinstance(data, Mapping) else None
            if plugins:  # a plugins list replaces MkDocs' default one: keep search in it
                names = [next(iter(e)) if isinstance(e, Mapping) else e for e in plugins]
                assert "search" in names, f"{block}: plugins without search: {names}"


def test_a_broken_snippet_would_be_caught(tmp_path: Path) -> None:
    """The checks above can fail: the YAML that docs/mkdocs.rst once had, and a bad value."""
    old = "plugins:\n  - search\n  - pyrun   # settings\n      # load_timeout: 60\n"
    yaml.load(old, Loader=_Loader)  # fine while commented out...
    with pytest.raises(yaml.YAMLError):
        yaml.load(_uncommented(old), Loader=_Loader)  # ...invalid once uncommented
    bad = yaml.load("plugins:\n  - pyrun:\n      check: always\n", Loader=_Loader)
    with pytest.raises(PyrunError, match=r"plugins\.pyrun\.check"):
        for settings in _pyrun_settings_yaml(bad):
            PyrunConfig.from_mapping(dict(settings), prefix="plugins.pyrun.")
    # YAML reads a bare off as false; pyrun takes it as the off that was written
    bare_off = yaml.load("plugins:\n  - pyrun:\n      check: off\n", Loader=_Loader)
    [settings] = _pyrun_settings_yaml(bare_off)
    assert PyrunConfig.from_mapping(dict(settings)).check == "off"
