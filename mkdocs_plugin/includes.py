"""``pymdownx.snippets`` run on its own: a Markdown page with the files its ``--8<--`` lines
include, as a build has it, for ``pyrun-docs check`` on a site no MkDocs build reads (Zensical)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def expander(settings: Mapping[str, Any]) -> Callable[[str], str]:
    """A function giving a page's text with its includes done, by pymdownx.snippets' own
    preprocessor with the site's *settings* (``base_path`` relative to the current folder, as
    for the build). It raises what pymdownx raises (a missing file with ``check_paths``)."""
    import markdown

    md = markdown.Markdown(
        extensions=["pymdownx.snippets"], extension_configs={"pymdownx.snippets": dict(settings)}
    )

    def expand(text: str) -> str:
        return "\n".join(md.preprocessors["snippet"].run(text.split("\n")))

    return expand
