"""``upgrade`` as a Python-Markdown extension, for builders that run no MkDocs plugins (Zensical).

.. code-block:: yaml

   markdown_extensions:
     - pymdownx.superfences:
         custom_fences:
           - name: pyrun
             class: pyrun
             validator: !!python/name:pyrun_docs.mkdocs_plugin.fence.validator
             format: !!python/name:pyrun_docs.mkdocs_plugin.fence.formatter
     - pyrun_docs.mkdocs_plugin.extension:
         upgrade: [doctest, python]

A preprocessor rewrites the page's ``pycon``/``python`` fences into ``pyrun`` fences before
SuperFences reads them, with :func:`pyrun_docs.upgrade.upgrade_markdown` (what the plugin does),
and hands SuperFences every ``pyrun`` header in a form it reads
(:func:`pyrun_docs.fences.readable_headers`: ``session=intro`` unquoted works), also with
``upgrade: []``.
Without the plugin there is no build check, so every upgraded example becomes a widget; the
plugin's check, static blocks and ``file:line`` warnings need MkDocs (or ``pyrun-docs check``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from pyrun_docs.fences import readable_headers
from pyrun_docs.site_config import NO_PYRUN_FENCE
from pyrun_docs.upgrade import UPGRADE_KINDS, upgrade_markdown

#: where both preprocessors here run: after pymdownx.snippets (32) has put the files it includes
#: into the page (at 32 too, the two ran in the order they were loaded, and Zensical loads ours
#: first: an included fence stayed plain), before SuperFences' raw-block (31.05) and
#: fenced-block (25) preprocessors
AFTER_SNIPPETS = 31.6
#: mkdocstrings renders each docstring with a Markdown of its own that has the page's
#: extensions and this treeprocessor: its fences are not the page's (made widgets there, a
#: docstring's examples ran without its module's names: a NameError for readers)
MKDOCSTRINGS_INNER = "mkdocstrings_headings"


class UpgradeFences(Preprocessor):  # type: ignore[misc]  # markdown ships no types
    def __init__(self, md: Markdown, modes: tuple[str, ...]) -> None:
        super().__init__(md)
        self.modes = modes

    def run(self, lines: list[str]) -> list[str]:
        if MKDOCSTRINGS_INNER in self.md.treeprocessors:
            return lines
        meta = getattr(self.md, "Meta", {}) or {}
        if str((meta.get("pyrun") or [""])[0]).strip().lower() in ("off", "false", "no"):
            return lines
        original = "\n".join(lines)
        text, _, _ = upgrade_markdown(original, self.modes)
        if text != original and not _renders_pyrun_fences(self.md):
            raise _build_error(NO_PYRUN_FENCE)
        # pyrun headers SuperFences cannot read (session=intro) as the plugin hands them over
        return readable_headers(text).split("\n")


def _build_error(message: str) -> Exception:
    """An error that stops the build with *message* and no traceback: MkDocs' own, when
    MkDocs builds (Zensical reports any exception)."""
    try:
        from mkdocs.exceptions import PluginError
    except ImportError:
        return ValueError(message)
    return PluginError(message)


def _renders_pyrun_fences(md: Markdown) -> bool:
    """Whether SuperFences is there with a ``pyrun`` custom fence (its extension keeps them)."""
    for extension in md.registeredExtensions:
        fences = getattr(extension, "superfences", None)
        if isinstance(fences, list) and any(f.get("name") == "pyrun" for f in fences):
            return True
    return False


class PyrunUpgradeExtension(Extension):  # type: ignore[misc]  # markdown ships no types
    def __init__(self, **kwargs: Any) -> None:
        self.config = {"upgrade": [["doctest"], f"what becomes a widget: {UPGRADE_KINDS}"]}
        super().__init__(**kwargs)

    def extendMarkdown(self, md: Markdown) -> None:
        modes = tuple(str(m) for m in self.getConfig("upgrade") if m in UPGRADE_KINDS)
        md.preprocessors.register(UpgradeFences(md, modes), "pyrun_upgrade", AFTER_SNIPPETS)


class IncludedFences(Preprocessor):  # type: ignore[misc]  # markdown ships no types
    """The plugin's look at a page after pymdownx.snippets: fences an included file brought in
    are checked and upgraded like the page's own, at the ``--8<--`` line (they stayed plain, and
    a ``python`` fence holding only a ``--8<--`` line was checked as that line)."""

    def __init__(self, md: Markdown, seen: Callable[[str], str | None]) -> None:
        super().__init__(md)
        self.seen = seen

    def run(self, lines: list[str]) -> list[str]:
        text = self.seen("\n".join(lines))
        return lines if text is None else readable_headers(text).split("\n")


class IncludedFencesExtension(Extension):  # type: ignore[misc]  # markdown ships no types
    """Registers :class:`IncludedFences`; *seen* gets each page's text after pymdownx.snippets
    and returns it upgraded (``None``: not a page's text, leave it: mkdocstrings renders each
    docstring with a Markdown of the same extensions), *read* each file pymdownx.snippets reads
    (``None``: it cannot be told which, a pymdownx.snippets without ``read_lines``)."""

    def __init__(
        self, seen: Callable[[str], str | None], read: Callable[[Path | None], None]
    ) -> None:
        self.seen, self.read = seen, read
        super().__init__()

    def extendMarkdown(self, md: Markdown) -> None:
        snippets = md.preprocessors["snippet"] if "snippet" in md.preprocessors else None
        if snippets is None:
            return  # nothing includes files: the plugin's on_page_markdown saw the whole page
        md.preprocessors.register(IncludedFences(md, self.seen), "pyrun_included", AFTER_SNIPPETS)
        read_lines = getattr(snippets, "read_lines", None)
        if read_lines is None:
            self.read(None)
            return

        def recorded(path: str) -> Any:
            self.read(Path(path))
            return read_lines(path)

        snippets.read_lines = recorded


def makeExtension(**kwargs: Any) -> PyrunUpgradeExtension:
    return PyrunUpgradeExtension(**kwargs)
