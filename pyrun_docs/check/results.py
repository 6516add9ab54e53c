"""What the check found: one :class:`SnippetResult` per snippet, gathered in a :class:`CheckReport`.

The model is what every report reads (terminal summary, JSON, JUnit XML, GitHub annotations, and the
Sphinx and MkDocs adapters' warnings), so a failure reads the same everywhere: the ``file:line`` of
the failing line inside the snippet, the exception, and a traceback trimmed to the author's code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from pyrun_docs.outputs import Recorded
from pyrun_docs.snippet import Snippet


class Status(str, Enum):
    """How one snippet came out.

    ``cached`` is a pass remembered from an earlier run of the unchanged snippet; a remembered
    failure stays ``failed`` (with :attr:`SnippetResult.cached` set), so a cache never hides one.
    ``error`` means the snippet could not be judged (the harness crashed, a package could not be
    loaded, an earlier snippet of its session timed out); it fails the check like ``failed``.
    ``static``: an upgraded example (``upgrade``) that does not run in the reader's runtime; with
    ``upgrade_failing = "static"`` it stays the plain block it was, and is listed, not failed.
    """

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CACHED = "cached"
    TIMEOUT = "timeout"
    ERROR = "error"
    STATIC = "static"


#: statuses that make the check fail
FAILING = frozenset({Status.FAILED, Status.TIMEOUT, Status.ERROR})
#: the order of the summary's columns
#: how the message of an upgraded example kept static begins (``kept_static``), before its reason
KEPT_STATIC = "stays a plain block: "
#: how a snippet that ran past its timeout is reported, before the seconds
TIMED_OUT = "timed out after"
#: the message of an example skipped because its doctest group's setup failed (``after_setup``),
#: before the setup's location; the doctest builder does not count such examples, nor do we
SETUP_FAILED = "not run: the setup of its doctest group failed ("

STATUS_ORDER = (
    Status.PASSED,
    Status.FAILED,
    Status.SKIPPED,
    Status.CACHED,
    Status.TIMEOUT,
    Status.ERROR,
    Status.STATIC,
)


@dataclass(frozen=True)
class SnippetResult:
    """The verdict on one snippet.

    Attributes:
        snippet: the snippet judged.
        status: see :class:`Status`.
        message: one line for people: ``ZeroDivisionError: division by zero``, ``timed out after
            30 s``, ``skipped (check: skip)``.
        exception: the exception type name, when one was raised.
        line: the line in ``snippet.path`` of the failing line (``snippet.source_line`` of the
            executor's line), or ``None`` when no line is known (then :attr:`location` names the
            snippet's first line).
        traceback: the traceback trimmed to the snippet, its ``File`` lines naming the document
            and its lines (``File "docs/page.rst", line 14``).
        output: what the snippet printed (stdout and stderr, and displays' text), kept as the
            reader's widget keeps it (the newest ``output_limit`` characters, the cut counted).
        shown: of a passing snippet, everything it showed (text and rich output, in order): the
            verified output the page shows before any Run, and a notebook's cell outputs.
        seconds: how long the snippet ran (from the cache: how long it ran back then).
        cached: the verdict comes from the result cache, not from running it now.
    """

    snippet: Snippet
    status: Status
    message: str = ""
    exception: str | None = None
    line: int | None = None
    traceback: str = ""
    output: str = ""
    seconds: float = 0.0
    cached: bool = False
    shown: Recorded | None = None

    @property
    def location(self) -> str:
        """``path:line`` of the failing line, else of the snippet's first line."""
        return f"{self.snippet.path}:{self.line or self.snippet.line}"

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    @property
    def snippet_line(self) -> int | None:
        """The failing line counted inside the snippet (1-based), if known."""
        return None if self.line is None else self.line - self.snippet.line + 1


@dataclass
class CheckReport:
    """All results of one check, in page and document order.

    Attributes:
        results: one per snippet handed to the check.
        seconds: wall time of the whole check.
        boots: interpreters started (cold boots plus snapshot restores); 0 when all was cached.
        cold_boots: of those, full cold boots.
        workers: interpreter processes used.
        problems: problems that belong to no single snippet (a harness that crashed or could not
            start, a snapshot that could not be used), for the summary.
        setting_problems: packages a setting asks for that cannot be had (``pyrun_packages``,
            ``pyrun_project``), when the check resolved them itself (the command: it reports
            them as errors at the setting; a build has warned about them already).
    """

    results: list[SnippetResult] = field(default_factory=list)
    seconds: float = 0.0
    boots: int = 0
    cold_boots: int = 0
    workers: int = 0
    problems: list[str] = field(default_factory=list)
    setting_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no snippet failed, timed out or could not be judged."""
        return not any(r.failed for r in self.results)

    @property
    def failures(self) -> list[SnippetResult]:
        return [r for r in self.results if r.failed]

    def counts(self) -> dict[Status, int]:
        """How many results have each status (every status present, zeros included)."""
        found = Counter(r.status for r in self.results)
        return {status: found.get(status, 0) for status in STATUS_ORDER}

    def by_page(self) -> dict[str, list[SnippetResult]]:
        pages: dict[str, list[SnippetResult]] = {}
        for result in self.results:
            pages.setdefault(result.snippet.page, []).append(result)
        return pages
