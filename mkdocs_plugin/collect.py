"""The snippets a MkDocs build finds, for ``pyrun-docs check`` without building the site.

With ``upgrade`` on, mkdocstrings renders docstring examples that only exist in the built HTML, so
the command runs MkDocs' own build (into a temporary folder, the plugin collecting only: no assets,
no packages, no check) and takes the snippets the plugin made, with their pages and ``file:line``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from pyrun_docs.errors import PyrunError
from pyrun_docs.read_memo import COARSE_MTIME, ProjectRead, ReadMemo
from pyrun_docs.snippet import Snippet

_PROBLEMS = ("stays a plain block", "the snippet is kept without it", "empty pyrun snippet")


class _Collect(logging.Handler):
    """Our warnings about snippets, and MkDocs' errors (what made a build abort)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.problems: list[PyrunError] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().removeprefix("pyrun: ")
        location, _, text = message.partition(": ")
        if any(p in message for p in _PROBLEMS) and ":" in location:
            self.problems.append(PyrunError(text, location=location))
        elif record.levelno >= logging.ERROR:
            line = " ".join(message.split())
            if len(line) > 400:  # mkdocstrings' names sys.path first, the cause last
                line = f"{line[:150]} ... {line[-230:]}"
            if self.errors and self.errors[-1].endswith(":"):  # "Error reading page 'x.md':"
                self.errors[-1] += f" {line}"
            else:
                self.errors.append(line)


def collect(config_file: Path, memo: ReadMemo | None = None) -> ProjectRead:
    """Build the MkDocs project of *config_file* quietly: its snippets per page, each page's
    source, the problems the plugin warned about (a bad option, an example doctest cannot parse).

    The read is kept in *memo* (:mod:`pyrun_docs.read_memo`) with the stamps of what it depended
    on: ``mkdocs.yml``, every file and folder of the docs, and the Python files mkdocstrings
    read; while none changes the next check takes it from there without building the site.
    """
    read_started = time.time()
    pages, read_pages, problems, docs_dir, sources = _build(config_file)
    # every page read counts, with snippets or not ("no pyrun snippets in 0 files" after a read)
    read = ProjectRead(pages, {page: docs_dir / page for page in read_pages}, problems, "")
    if memo is not None and sources is not None:
        memo.save(read, [config_file, *_tree(docs_dir), *sources], read_started - COARSE_MTIME)
    return read


def _tree(folder: Path) -> list[Path]:
    """*folder* and every file and folder under it (a new page in any of them is seen)."""
    found = [folder]
    for root, dirs, files in os.walk(folder):
        found += [Path(root, name) for name in dirs + files]
    return found


def _build(
    config_file: Path,
) -> tuple[dict[str, list[Snippet]], set[str], list[PyrunError], Path, list[Path] | None]:
    """The build: snippets per page, every page read, problems, the docs folder, the Python
    files mkdocstrings read (``None``: not known)."""
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
            plugin.start_collecting()
            build(config)
            pages: dict[str, list[Snippet]] = dict(plugin.pages)
            read_pages = set(plugin.read_pages) | set(pages)
            docs_dir, sources = Path(config.docs_dir), plugin.source_files
            included = plugin.collector.snippet_files  # what --8<-- read, also outside docs/
            sources = None if sources is None or included is None else sources + sorted(included)
    except PyrunError:
        raise
    except Exception as exc:  # a project's configuration or plugins may raise anything
        # MkDocs logs what went wrong and raises only "Aborted with a BuildError!"
        why = "; ".join(handler.errors[-2:]) or f"{type(exc).__name__}: {exc}"
        raise PyrunError(f"{config_file}: MkDocs could not build the project: {why}") from None
    finally:
        logger.removeHandler(handler)
    found = {page: snippets for page, snippets in sorted(pages.items()) if snippets}
    return found, read_pages, handler.problems, docs_dir, sources
