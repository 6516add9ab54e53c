"""The snippets a MkDocs build finds, for ``pyrun-docs check`` without building the site.

With ``upgrade`` on, mkdocstrings renders docstring examples that only exist in the built HTML, so
the command runs MkDocs' own build (into a temporary folder, the plugin collecting only: no assets,
no packages, no check) and takes the snippets the plugin made, with their pages and ``file:line``.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from pyrun_docs.errors import PyrunError
from pyrun_docs.snippet import Snippet

_PROBLEMS = ("stays a plain block", "the snippet is kept without it", "empty pyrun snippet")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.problems: list[PyrunError] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().removeprefix("pyrun: ")
        location, _, text = message.partition(": ")
        if any(p in message for p in _PROBLEMS) and ":" in location:
            self.problems.append(PyrunError(text, location=location))


def collect(config_file: Path) -> tuple[dict[str, list[Snippet]], list[PyrunError]]:
    """Build the MkDocs project of *config_file* quietly; its snippets per page and the problems
    the plugin warned about (a bad option, an example doctest cannot parse)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    handler = _Collect()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        with tempfile.TemporaryDirectory(prefix="pyrun-mkdocs-") as site:
            config = load_config(str(config_file), site_dir=site)
            plugin = config.plugins.get("pyrun")
            if plugin is None:
                raise PyrunError(f"{config_file}: the pyrun plugin is not in plugins")
            plugin.collect_only = True
            build(config)
            pages: dict[str, list[Snippet]] = dict(plugin.pages)
    except PyrunError:
        raise
    except Exception as exc:  # a project's configuration or plugins may raise anything
        raise PyrunError(
            f"{config_file}: MkDocs could not build the project ({type(exc).__name__}: {exc})"
        ) from None
    finally:
        logger.removeHandler(handler)
    return {
        page: snippets for page, snippets in sorted(pages.items()) if snippets
    }, handler.problems
