"""What a person sees in the terminal: a progress bar while checking, then failures and a summary.

Progress goes to stderr, so ``--json -`` style pipelines and CI logs stay clean. On a terminal the
bar redraws in place; elsewhere (CI logs, pipes) it prints a plain line every tenth of the way,
because carriage returns make logs unreadable.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TextIO

from pyrun_docs.executor import example_count
from pyrun_docs.words import plural

from .results import KEPT_STATIC, SETUP_FAILED, STATUS_ORDER, CheckReport, SnippetResult, Status
from .verdict import difference, without_advice

BAR_WIDTH = 28


#: what an adapter hands in to show progress its own way: ``(done, total, result)``, called (from
#: the pool's threads, one at a time) for every snippet as it is settled
ProgressCallback = Callable[[int, int, SnippetResult], None]


class Progress:
    """A thread-safe progress display for *total* snippets (or a :data:`ProgressCallback`)."""

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        callback: ProgressCallback | None = None,
    ) -> None:
        self.total = total
        self.callback = callback
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and total > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.counts: Counter[Status] = Counter()
        self._lock = threading.Lock()
        self._drawn = 0.0
        self._next_step = 1

    def advance(self, result: SnippetResult) -> None:
        with self._lock:
            self.done += 1
            self.counts[result.status] += 1
            if self.callback is not None:
                self.callback(self.done, self.total, result)
            if not self.enabled:
                return
            if self.tty:
                now = time.monotonic()
                if now - self._drawn >= 0.1 or self.done == self.total:
                    self._drawn = now
                    self.stream.write("\r" + self.line())
                    self.stream.flush()
            elif self.done * 10 >= self._next_step * self.total:
                while self.done * 10 >= self._next_step * self.total:
                    self._next_step += 1
                self.stream.write(self.line() + "\n")
                self.stream.flush()

    def line(self) -> str:
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        counts = " ".join(
            f"{status.value} {self.counts[status]}"
            for status in STATUS_ORDER
            if self.counts[status]
        )
        return f"pyrun check [{bar}] {self.done}/{self.total} {counts}"

    def finish(self, final: Sequence[SnippetResult] | None = None) -> None:
        """End the display; with the *final* results, counted as the report counts them (an
        upgraded example counted static while it ran may fail in CPython too, decided at the
        end: the bar said "static 8" above a summary of "8 failed")."""
        with self._lock:
            changed = False
            if final is not None:
                counts = Counter(r.status for r in final)
                changed = counts != self.counts
                self.counts = counts
            if self.enabled and self.tty:
                self.stream.write("\r" + self.line() + "\n")
                self.stream.flush()
            elif self.enabled and changed:
                self.stream.write(self.line() + "\n")
                self.stream.flush()


def counted(write: Callable[[str], None], steps: int = 10) -> ProgressCallback:
    """A :data:`ProgressCallback` writing ``pyrun check: 120/480 snippets (25%)`` lines, one per
    *steps*-th of the way and one at the end, for logs that cannot redraw a bar (MkDocs)."""
    shown = 0

    def advance(done: int, total: int, result: SnippetResult) -> None:
        nonlocal shown
        step = done * steps // max(total, 1)
        if step > shown or done == total:
            shown = step
            write(f"pyrun check: {done}/{total} snippets ({done * 100 // max(total, 1)}%)")

    return advance


def describe_failure(result: SnippetResult, elsewhere: str = "") -> str:
    """``docs/page.rst:14: failed: ZeroDivisionError: ...`` plus the indented traceback; with
    *elsewhere* (:func:`grouped_failures`), the first line says where else it applies."""
    head = f"{result.location}: {result.status.value}: {result.message}"
    if elsewhere:
        head += f" ({elsewhere})"
    if result.cached and result.status is not Status.FAILED:
        head += (
            " (remembered from an earlier run: the snippet, its session, runtime and packages "
            "have not changed; clear the check's cache or use --no-cache to run it again)"
        )
    elif result.cached:
        head += " (remembered from an earlier run; the snippet has not changed)"
    body = result.traceback.rstrip()
    if not body and result.output.strip() and result.status is not Status.ERROR:
        body = "output:\n" + result.output.rstrip()[-2000:]
    if not body:
        return head
    return head + "\n" + "\n".join("    " + ln for ln in body.splitlines())


#: more snippets named after an error's first, when many share it (a package nobody could fetch)
_SAME_ERROR_SHOWN = 5


def grouped_failures(
    report: CheckReport, where: Callable[[SnippetResult], str] | None = None
) -> list[tuple[SnippetResult, str]]:
    """Each failure to tell, with where else it applies (``""``: nowhere else; each place as
    *where* writes it, by default its ``location``).

    Snippets the check could not judge for one shared reason (``error``, the same message: a
    package that could not be fetched made 187 of a site's examples unchecked) are one entry, the
    reason once at its first snippet and the others named after it, not the same long line 187
    times: in the command's summary and as one warning in a Sphinx or MkDocs build."""

    def key(result: SnippetResult) -> tuple[str, ...]:
        if result.status is Status.ERROR:
            return ("error", without_advice(result.message))
        # one docstring example shown on several pages (inherited members): one failure, not the
        # same line once per page without naming it (griffe's docs: one example 20 times)
        return ("example", result.location, result.message)

    same: dict[tuple[str, ...], list[SnippetResult]] = {}
    for result in report.failures:
        same.setdefault(key(result), []).append(result)
    told: list[tuple[SnippetResult, str]] = []
    for result in report.failures:
        group = same[key(result)]
        if group[0] is not result:
            continue  # told with the first
        if result.status is Status.ERROR:
            others = [where(r) if where else r.location for r in group[1:]]
            what = "more snippet"
        else:
            page = result.snippet.page
            others = list(
                dict.fromkeys(r.snippet.page for r in group[1:] if r.snippet.page != page)
            )
            what = "more page"
        more = len(others) - _SAME_ERROR_SHOWN
        elsewhere = (
            ("the same for " if result.status is Status.ERROR else "shown too on ")
            + f"{plural(len(others), what)}: "
            + ", ".join(others[:_SAME_ERROR_SHOWN])
            + (f" and {more} more" if more > 0 else "")
            if others
            else ""
        )
        if result.status is not Status.ERROR:
            # a docstring rendered twice on one page (a method and its module-level alias) was
            # "shown too on 1 more page" naming the page reported
            here = sum(r.snippet.page == result.snippet.page for r in group)
            if here > 1:
                twice = f"shown {here} times on its page"
                elsewhere = f"{twice}; {elsewhere}" if elsewhere else twice
        told.append((result, elsewhere))
    # one file's example failing differently on two pages (included into another page, whose
    # earlier examples it sees): each says which page it is about (pygtrie's version history
    # was told twice at one line, "and 2 more failing examples" and "and 3 more")
    at = Counter(result.location for result, _ in told)
    return [
        (result, f"on page {result.snippet.page}" + (f"; {elsewhere}" if elsewhere else ""))
        if at[result.location] > 1 and result.snippet.page
        else (result, elsewhere)
        for result, elsewhere in told
    ]


def format_summary(report: CheckReport) -> str:
    """Failures first (:func:`grouped_failures`), then a table of counts and one line of totals."""
    lines: list[str] = []
    for result, elsewhere in grouped_failures(report):
        lines.append(describe_failure(result))
        if elsewhere:
            lines.append(f"    {elsewhere}")
        lines.append("")
    for note in report.problems:
        lines.append(f"note: {note}")
    lines.extend(static_lines(report))
    lines.append(format_counts(report))
    return "\n".join(lines)


def static_lines(report: CheckReport) -> list[str]:
    """One line per upgraded example kept as a plain block, with its reason: once for an
    example of a file included into other pages too (mido's messages pages: each line twice)."""
    times = Counter(
        (f"{r.location}: static: {r.message.removeprefix(KEPT_STATIC)}", difference(r.traceback))
        for r in report.results
        if r.status is Status.STATIC
    )
    # a mismatch's Expected / Got under it, as under a failure (it said only "differs")
    return [
        line
        + (f" (shown too on {plural(count - 1, 'more page')})" if count > 1 else "")
        + "".join(f"\n    {text}" for text in report_lines.splitlines())
        for (line, report_lines), count in times.items()
    ]


def format_counts(report: CheckReport) -> str:
    """The table of counts and one line of totals (adapters log the failures themselves)."""
    lines: list[str] = []
    counts = report.counts()
    # "static" (upgraded examples kept as plain blocks) only where there are some
    shown = [s for s in STATUS_ORDER if s is not Status.STATIC or counts[s]]
    widths = [max(len(s.value), len(str(counts[s]))) for s in shown]
    lines.append("  ".join(s.value.rjust(w) for s, w in zip(shown, widths, strict=True)))
    lines.append("  ".join(str(counts[s]).rjust(w) for s, w in zip(shown, widths, strict=True)))
    # a setting's problem stands on no page ("" : it counted as a page of its own)
    pages = len({r.snippet.page for r in report.results if r.snippet.page})
    # a snippet that failed is not one the check could not judge (a bad option, a package it
    # could not fetch): "187 failed" read as 187 broken examples when none had run
    failed = counts[Status.FAILED] + counts[Status.TIMEOUT]
    told = [f"{failed} failed"] if failed else []
    if counts[Status.ERROR]:
        told.append(plural(counts[Status.ERROR], "error"))
    verdict = "all passed" if report.ok else ", ".join(told)
    if report.ok:
        # "all passed" only when every snippet ran and passed: examples kept static (failing in
        # Pyodide) or skipped are said, and a check that verified nothing says so rather than
        # "passed"
        aside = [f"{counts[s]} {s.value}" for s in (Status.SKIPPED, Status.STATIC) if counts[s]]
        if aside and not counts[Status.PASSED] + counts[Status.CACHED]:
            verdict = f"nothing checked ({', '.join(aside)})"
        elif aside:
            verdict = f"passed, {', '.join(aside)}"
    # in the doctest builder's unit, its "tests": a transcript is one snippet and several
    # examples, a testcode block with its testoutput one (comparing the two counts is how a
    # maintainer sees both check the same examples)
    # a setting's problem (on no page: ``pyrun_project``'s wheel not pure) is no snippet
    # (bitstruct's 13 were "14 snippets", the setting's error a 14th example)
    snippets = [r for r in report.results if r.snippet.page or r.snippet.index >= 0]
    examples = {True: 0, False: 0}  # by whether the doctest builder runs them too
    for r in snippets:
        if r.snippet.judged_by_doctest and not r.message.startswith(SETUP_FAILED):
            examples[r.snippet.tested] += (
                example_count(r.snippet.code, r.snippet.skips_examples)
                if r.snippet.is_transcript
                else int(not r.snippet.skips_examples)  # a testcode block its testoutput skips
            )
    # examples of blocks that builder never runs (``code-block:: pycon``, ``::``) are counted
    # besides: one sum was not the builder's count (construct: 673 "doctest examples" beside
    # the builder's 315 tests)
    besides = f", {examples[False]} more in blocks the doctest builder does not run"
    of = (
        f" ({plural(examples[True], 'doctest example')}{besides if examples[False] else ''})"
        if examples[True] + examples[False]
        else ""
    )
    lines.append(
        f"pyrun check: {verdict}: {plural(len(snippets), 'snippet')}{of} on "
        f"{plural(pages, 'page')} in {report.seconds:.1f} s "
        f"({plural(report.boots, 'interpreter')} started, {plural(report.workers, 'process')})"
    )
    return "\n".join(lines)
