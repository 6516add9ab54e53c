"""``pymdownx.snippets`` run on its own: a Markdown page with the files its ``--8<--`` lines
include, as a build has it, for ``pyrun-docs check`` on a site no MkDocs build reads (Zensical)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from pyrun_docs.site_config import PAGE_DIR


def expander(settings: Mapping[str, Any]) -> Callable[[str, str], str]:
    """A function giving a page's text (from the file at a path) with its includes done, by
    pymdownx.snippets' own preprocessor with the site's *settings* (``base_path`` relative to
    the current folder, as for the build; a bare ``!relative`` there is the page's folder, as
    MkDocs reads it for each page). It raises what pymdownx raises (a missing file with
    ``check_paths``)."""
    import markdown

    def preprocessor(folder: str) -> Any:
        def filled(value: Any) -> Any:
            if isinstance(value, list):
                return [filled(item) for item in value]
            return folder if value == PAGE_DIR else value

        configs = {key: filled(value) for key, value in settings.items()}
        md = markdown.Markdown(
            extensions=["pymdownx.snippets"], extension_configs={"pymdownx.snippets": configs}
        )
        return md.preprocessors["snippet"]

    per_page = any(
        v == PAGE_DIR or (isinstance(v, list) and PAGE_DIR in v) for v in settings.values()
    )
    shared = None if per_page else preprocessor("")

    def expand(text: str, path: str) -> str:
        run = shared or preprocessor(os.path.dirname(os.path.abspath(path)))
        return "\n".join(run.run(text.split("\n")))

    return expand
