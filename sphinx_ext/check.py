"""Run the build check from Sphinx: ``pyrun_check = "warn" | "error"``.

Like ``sphinx.ext.doctest``, the directive only records snippets; here, once per build after all
documents are read (and merged, under ``-j``), the core check runs them in headless Pyodide. Each
failure is a ``pyrun.check`` warning located at the failing line (so ``-W`` fails the build);
with ``"error"`` the build also exits nonzero without ``-W``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.display import status_iterator

from pyrun_docs.check import CheckReport, SnippetResult, prestart, run_check
from pyrun_docs.check.progress import (
    describe_failure,
    format_counts,
    grouped_failures,
    static_lines,
)
from pyrun_docs.check.spare import discard as discard_spare
from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import PyrunError
from pyrun_docs.locate import display_path
from pyrun_docs.snippet import Snippet

from .config import get_config

if TYPE_CHECKING:
    from pyrun_docs.packages import Resolution

logger = logging.getLogger(__name__)


def check_environment(app: Sphinx, snippets: dict[str, list[Snippet]]) -> None:
    """Check every recorded snippet; store whether the build must fail."""
    config = get_config(app)
    if config.check == "off" or not any(snippets.values()):
        return
    if tests_examples_itself(app):
        logger.info("pyrun: the doctest builder tests the examples; the pyrun check is not run")
        return
    pages = {doc: snips for doc, snips in sorted(snippets.items()) if snips}
    try:
        packages = getattr(app, "pyrun_packages", None)
        if app.quiet:
            report = run_check(
                pages, config, progress=False, packages=packages, setting_prefix="pyrun_"
            )
        else:
            report = _with_progress(app, pages, config, packages)
    except PyrunError as exc:
        logger.warning(
            f"pyrun: the check could not run: {exc.message}", type="pyrun", subtype="check"
        )
        app.pyrun_failed = True  # type: ignore[attr-defined]
        return
    app.pyrun_results = {  # type: ignore[attr-defined]
        (r.snippet.page, r.snippet.index): r for r in report.results
    }

    # the other places of a shared reason are named as the warning's own location is (they
    # were relative to the docs folder, it to the working folder: docs/index.rst:8 then other.rst:4)
    for result, elsewhere in grouped_failures(report):  # one shared reason: one warning
        text = describe_failure(result, elsewhere).split(": ", 1)[1]  # Sphinx adds the location
        logger.warning(
            f"pyrun: {text}",
            location=result.location,  # the file it is written in (an include, a docstring)
            type="pyrun",
            subtype="check",
        )
    for note in report.problems:  # a fallback (slower, same verdicts) or a crash's cause
        logger.info(f"pyrun: note: {note}")  # a crashed snippet is a failure warned about above
    for line in static_lines(report):
        logger.info(f"pyrun: {line}")
    logger.info(format_counts(report))
    app.pyrun_failed = not report.ok  # type: ignore[attr-defined]


def _with_progress(
    app: Sphinx,
    pages: Mapping[str, Sequence[Snippet]],
    config: PyrunConfig,
    packages: Resolution | None,
) -> CheckReport:
    """Run the check on a thread and show each settled snippet with Sphinx's status iterator
    (``pyrun: checking examples... [ 40%] page:12``), so a long check shows progress in the
    build's own log, from the main thread as Sphinx's logging expects."""
    settled: queue.Queue[SnippetResult | None] = queue.Queue()
    outcome: dict[str, Any] = {}

    def check() -> None:
        try:
            outcome["report"] = run_check(
                pages,
                config,
                progress=lambda _d, _t, r: settled.put(r),
                packages=packages,
                setting_prefix="pyrun_",
            )
        except BaseException as exc:  # re-raised on the main thread
            outcome["error"] = exc
        finally:
            settled.put(None)

    def results() -> Iterator[SnippetResult]:
        while (result := settled.get()) is not None:
            yield result

    thread = threading.Thread(target=check, name="pyrun-check")
    thread.start()
    total = sum(len(s) for s in pages.values())
    for _ in status_iterator(
        results(),
        "pyrun: checking examples in headless Pyodide... ",
        "darkgreen",
        total,
        app.verbosity,
        stringify_func=lambda r: f"{_place(app, r.snippet.path, r.snippet.line)} {r.status.value}",
    ):
        pass
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    report: CheckReport = outcome["report"]
    return report


def _place(app: Sphinx, path: str, line: int) -> str:
    """``path:line`` as the build's log names a snippet: relative to the docs when a page or an
    include, else where it is (a docstring's ``.py``, wherever it is installed)."""
    return f"{display_path(path, app.srcdir)}:{line}"


def on_builder_inited_check(app: Sphinx) -> None:
    """Warm a harness for the check while Sphinx reads the documents (best effort; see
    :mod:`pyrun_docs.check.spare`)."""
    config = get_config(app)
    wanted = config.check != "off" and not tests_examples_itself(app)
    app.pyrun_spare_started = wanted and prestart(config)  # type: ignore[attr-defined]


def tests_examples_itself(app: Sphinx) -> bool:
    """``sphinx-build -b doctest``: the examples are tested in the build's Python, with the
    doctest builder's verdicts, which is what the author asked for; our check would run them a
    second time and report each failure twice."""
    return app.builder.name == "doctest"


def on_env_updated_check(app: Sphinx, env: BuildEnvironment) -> None:
    from . import _snippets

    check_environment(app, _snippets(env))


def on_build_finished(app: Sphinx, exception: BaseException | None) -> None:
    if getattr(app, "pyrun_spare_started", False):
        # a build that had nothing to check did not adopt the spare it started; one that started
        # none (the check off, e.g. ``pyrun-docs check``'s own read) leaves others' spares alone
        discard_spare()
    if exception is None and getattr(app, "pyrun_failed", False):
        if get_config(app).check == "error":
            logger.error("pyrun: examples failed the check (pyrun_check = 'error')")
            app.statuscode = 1
    elif exception is None and getattr(app, "pyrun_packages_failed", False):
        if get_config(app).check == "error":
            logger.error("pyrun: packages the examples need are missing (pyrun_check = 'error')")
            app.statuscode = 1
