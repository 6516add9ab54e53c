"""Run the build check from Sphinx: ``pyrun_check = "warn" | "error"``.

Like ``sphinx.ext.doctest``, the directive only records snippets; here, once per build after all
documents are read (and merged, under ``-j``), the core check runs them in headless Pyodide. Each
failure is a ``pyrun.check`` warning located at the failing line (so ``-W`` fails the build);
with ``"error"`` the build also exits nonzero without ``-W``.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from pyrun_docs.check import run_check
from pyrun_docs.check.progress import describe_failure, format_counts, static_lines
from pyrun_docs.errors import PyrunError
from pyrun_docs.snippet import Snippet

from .config import get_config

logger = logging.getLogger(__name__)


def check_environment(app: Sphinx, snippets: dict[str, list[Snippet]]) -> None:
    """Check every recorded snippet; store whether the build must fail."""
    config = get_config(app)
    if config.check == "off" or not any(snippets.values()):
        return
    pages = {doc: snips for doc, snips in sorted(snippets.items()) if snips}
    logger.info("pyrun: checking examples in headless Pyodide...")
    try:
        packages = getattr(app, "pyrun_packages", None)
        report = run_check(pages, config, progress=not app.quiet, packages=packages)
    except PyrunError as exc:
        logger.warning(
            f"pyrun: the check could not run: {exc.message}", type="pyrun", subtype="check"
        )
        app.pyrun_failed = True  # type: ignore[attr-defined]
        return
    app.pyrun_results = {  # type: ignore[attr-defined]
        (r.snippet.page, r.snippet.index): r for r in report.results
    }
    for result in report.failures:
        text = describe_failure(result).split(": ", 1)[1]  # Sphinx prints the location itself
        logger.warning(
            f"pyrun: {text}",
            location=result.location,  # the file it is written in (an include, a docstring)
            type="pyrun",
            subtype="check",
        )
    for note in report.problems:
        logger.warning(f"pyrun: {note}", type="pyrun", subtype="check")
    for line in static_lines(report):
        logger.info(f"pyrun: {line}")
    logger.info(format_counts(report))
    app.pyrun_failed = not report.ok  # type: ignore[attr-defined]


def on_env_updated_check(app: Sphinx, env: BuildEnvironment) -> None:
    from . import _snippets

    check_environment(app, _snippets(env))


def on_build_finished(app: Sphinx, exception: BaseException | None) -> None:
    if exception is None and getattr(app, "pyrun_failed", False):
        if get_config(app).check == "error":
            logger.error("pyrun: examples failed the check (pyrun_check = 'error')")
            app.statuscode = 1
    elif exception is None and getattr(app, "pyrun_packages_failed", False):
        if get_config(app).check == "error":
            logger.error("pyrun: packages the examples need are missing (pyrun_check = 'error')")
            app.statuscode = 1
