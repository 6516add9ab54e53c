"""A pool of harness processes across cores, each running whole pages, one at a time.

Each worker thread owns one Node process and takes the next page from a shared queue (largest pages
first, so the cores finish together). A page runs in a fresh interpreter. When a snippet runs past
its timeout the process is killed; when a snippet ends the interpreter (``os._exit``, a stack
overflow) or the process crashes, the page is *resumed* in a new interpreter: the rest of the
snippets run, after the earlier snippets of their sessions are replayed unreported to rebuild
their state, and the later snippets of the failed snippet's own session are reported as not run.
Every other result of the page stays as it was.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import spare
from .harness import HARNESS_PATH, MICROPYTHON_HARNESS_PATH, Harness, HarnessDied
from .micropython import explain_limitation
from .plan import Run, session_key
from .results import TIMED_OUT, SnippetResult, Status
from .settings import Settings
from .verdict import judge, problem, recorded_output

#: a harness using more memory than this after a page is replaced by a new one
RECYCLE_RSS = 2_500_000_000


@dataclass
class PageJob:
    """The runs of one page (in execution order) and the packages to load first."""

    page: str
    runs: list[Run]
    packages: list[str] = field(default_factory=list)
    error: str | None = None  # set when the page cannot run (e.g. a package cannot be fetched)
    runtime: str = "pyodide"  # a page using both runtimes is two jobs (sessions never mix)


@dataclass
class Outcome:
    """A reported result, and what to cache for it (``None``: do not cache)."""

    result: SnippetResult
    cache: dict[str, Any] | None = None


@dataclass
class Stats:
    boots: int = 0
    cold_boots: int = 0
    workers: int = 0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, boots: int = 0, cold: int = 0, problem: str | None = None) -> None:
        with self.lock:
            self.boots += boots
            self.cold_boots += cold
            if problem and problem not in self.problems:
                self.problems.append(problem)


class _StartError(Exception):
    pass


class Worker:
    """One harness process (respawned as needed) running pages."""

    def __init__(
        self, settings: Settings, stats: Stats, on_result: Callable[[SnippetResult], None]
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.on_result = on_result
        self.harness: Harness | None = None
        self.restoring = False  # the current harness restores pages from a snapshot
        self.runtime = "pyodide"  # what the current harness runs

    # -- the process -------------------------------------------------------------------------

    def _ready(self) -> Harness:
        if self.harness is not None:
            return self.harness
        micro = self.runtime == "micropython"
        snapshots = self.settings.snapshots
        fields = {} if micro else snapshots.init_fields(self.settings.boot_timeout)
        try:
            harness = self._start(micro, fields)
        finally:
            if fields:
                snapshots.release()
        self.harness = harness
        return harness

    def _start(self, micro: bool, fields: dict[str, str]) -> Harness:
        init = self.settings.micropython if micro else self.settings.init
        # a harness prestarted while the docs were read (restores from the same base snapshot)
        adopted = (
            None if micro or not fields else spare.adopt(init, str(self.settings.snapshots.path))
        )
        try:
            harness = adopted or Harness(
                self.settings.node, MICROPYTHON_HARNESS_PATH if micro else HARNESS_PATH
            )
        except OSError as exc:
            raise _StartError(f"cannot start {self.settings.node.path}: {exc}") from None
        timeout = self.settings.boot_timeout
        try:
            harness.send({"op": "init", **init, **fields})
            event = harness.event(timeout)
        except HarnessDied as exc:
            harness.kill()
            raise _StartError(str(exc)) from None
        if event is None or event.get("ev") != "ready":
            harness.kill()
            raise _StartError(f"the check harness did not start within {timeout:g} s: {event}")
        made, self.restoring = self.settings.snapshots.status(event) if fields else (False, False)
        if made:
            self.stats.add(cold=1)
        return harness

    def _drop(self) -> None:
        if self.harness is not None:
            self.harness.kill()
            self.harness = None

    def close(self) -> None:
        if self.harness is not None:
            self.harness.close()
            self.harness = None

    # -- a page ------------------------------------------------------------------------------

    def run_page(self, job: PageJob) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        if job.error:
            for run in job.runs:
                self._record(outcomes, run, problem(run.snippet, Status.ERROR, job.error))
        pending = [] if job.error else list(job.runs)
        while pending:
            pending = self._attempt(job, pending, outcomes)
        return [outcomes[r.snippet.index] for r in job.runs if r.snippet.index in outcomes]

    def _record(self, outcomes: dict[int, Outcome], run: Run, result: SnippetResult,
                cache: dict[str, Any] | None = None) -> None:  # fmt: skip
        if run.report and run.snippet.index not in outcomes:
            outcomes[run.snippet.index] = Outcome(result, cache)
            self.on_result(result)

    def _fail_all(
        self,
        outcomes: dict[int, Outcome],
        runs: Sequence[Run],
        message: str,
        cache: dict[str, Any] | None = None,
    ) -> None:
        for run in runs:
            self._record(outcomes, run, problem(run.snippet, Status.ERROR, message), cache)

    def _attempt(self, job: PageJob, pending: list[Run], outcomes: dict[int, Outcome]) -> list[Run]:
        """Run *pending* in one fresh interpreter; return what is left to resume, if anything."""
        if job.runtime != self.runtime:
            self.close()
            self.runtime = job.runtime
        try:
            harness = self._ready()
        except _StartError as exc:
            self.stats.add(problem=str(exc))
            self._fail_all(outcomes, pending, f"not checked: {exc}")
            return []
        restoring = self.restoring
        boot_timeout = self.settings.restore_timeout if restoring else self.settings.boot_timeout
        try:
            harness.send(
                {
                    "op": "page",
                    "page": job.page,
                    "packages": job.packages,
                    "runs": [r.request() for r in pending],
                }
            )
            event = harness.event(boot_timeout)
        except HarnessDied as exc:
            self._drop()
            self.stats.add(problem=str(exc))
            self._fail_all(outcomes, pending, f"not checked: {exc}")
            return []
        if event is None:
            self._drop()
            if restoring:
                self.settings.snapshots.discard(f"a restore took over {boot_timeout:g} s")
                return pending
            self._fail_all(
                outcomes, pending, f"not checked: {job.runtime} did not start in {boot_timeout:g} s"
            )
            return []
        if event.get("ev") == "page-error":
            self._fail_all(outcomes, pending, f"not checked: {event.get('message')}")
            return []
        how = event.get("how")
        if how != "reused":
            self.stats.add(boots=1, cold=int(how == "cold"))
        if event.get("snapshotError"):
            self.settings.snapshots.discard(f"restoring failed: {event['snapshotError']}")
        if event.get("installedError"):
            self.settings.snapshots.discard_installed(
                f"restoring failed: {event['installedError']}"
            )
        history: list[Run] = []
        for i, run in enumerate(pending):
            timeout = run.snippet.options.timeout or self.settings.config.timeout
            started = time.monotonic()
            try:
                event = harness.event(timeout)
                if event is not None and event.get("ev") == "start":
                    started = time.monotonic()
                    event = harness.event(timeout)
            except HarnessDied as exc:
                self._drop()
                self.stats.add(problem=str(exc).split(";")[0])
                message = f"the check harness crashed while running this snippet: {exc}"
                self._record(outcomes, run, problem(run.snippet, Status.ERROR, message))
                return self._resume(pending, i, history, outcomes, "crashed the check harness")
            if event is None:
                self._drop()
                message = f"{TIMED_OUT} {timeout:g} s (the interpreter was stopped)"
                seconds = time.monotonic() - started
                # remembered like a failure: the same snippet with the same timeout runs as long
                remember = {"timeout": timeout, "message": message, "seconds": seconds}
                self._record(
                    outcomes,
                    run,
                    problem(run.snippet, Status.TIMEOUT, message, seconds=seconds),
                    remember,
                )
                return self._resume(pending, i, history, outcomes, "timed out", timeout)
            if event.get("ev") == "page-error":  # e.g. packages could not be loaded
                self._fail_all(outcomes, pending[i:], f"not checked: {event.get('message')}")
                return []
            if event.get("ev") != "done":
                self._drop()
                message = f"the check harness answered out of turn: {str(event)[:300]}"
                self._record(outcomes, run, problem(run.snippet, Status.ERROR, message))
                return self._resume(pending, i, history, outcomes, "broke the check harness")
            shown = recorded_output(event, self.settings.config.output_limit)
            raw = event.get("result") or {}
            if job.runtime == "micropython":
                raw = explain_limitation(run.snippet, raw)
            result = judge(run.snippet, raw, shown)
            fatal = bool(event.get("fatal"))
            cache = None if fatal else {"raw": raw, "outputs": shown.to_json()}
            self._record(outcomes, run, result, cache)
            history.append(run)
            if fatal:
                return self._resume(pending, i, history, outcomes, "ended the interpreter")
        try:
            event = harness.event(60)
        except HarnessDied:
            self._drop()
            return []
        if event is None or event.get("ev") != "page-done":
            self._drop()
        elif int(event.get("rss") or 0) > RECYCLE_RSS:
            self.close()
        return []

    def _resume(
        self,
        pending: list[Run],
        failed_at: int,
        history: list[Run],
        outcomes: dict[int, Outcome],
        reason: str,
        timeout: float | None = None,
    ) -> list[Run]:
        """What to run in a new interpreter after ``pending[failed_at]`` stopped this one.

        After a timeout (*timeout*: the limit that was hit) the later snippets of its session are
        remembered as not run, under keys that hold the snippet that timed out (their chain).
        """
        config = self.settings.config
        failed = pending[failed_at]
        rest = pending[failed_at + 1 :]
        key = session_key(failed.snippet, config)
        if key is not None:
            blocked = [r for r in rest if session_key(r.snippet, config) == key]
            what = "earlier snippet" if failed.report else "snippet replayed to rebuild the session"
            message = (
                f"not run: the {what} at {failed.snippet.location} of session {key[1]!r} {reason}"
            )
            remember = None if timeout is None else {"blocked": message, "timeout": timeout}
            self._fail_all(outcomes, blocked, message, remember)
            rest = [r for r in rest if session_key(r.snippet, config) != key]
        if not any(r.report for r in rest):
            return []
        needed = {session_key(r.snippet, config) for r in rest} - {None}
        replays = [
            replace(r, report=False) for r in history if session_key(r.snippet, config) in needed
        ]
        return replays + rest


#: seconds of estimated work left that make another harness process worth starting: it needs
#: ~1-1.5 s of CPU (Node, a snapshot restore, V8 compiling the interpreter's hot code) before it
#: runs anything, while the first one goes on
GROW_WORK = 2.5
#: how often the pool looks whether to grow
GROW_EVERY = 0.5


def run_pages(
    jobs: Sequence[PageJob],
    settings: Settings,
    workers: int,
    on_result: Callable[[SnippetResult], None],
    *,
    grow_to: int = 0,
) -> tuple[list[Outcome], Stats]:
    """Run *jobs* on *workers* processes; return every reported outcome and the stats.

    With *grow_to* above *workers*, more processes are started (up to *grow_to*) while the check
    runs, whenever the work left, estimated from how fast the running processes get through
    snippets once warm, is worth a process's start (:data:`GROW_WORK`): a real project's examples
    can take 100 times longer than a trivial one, so the work cannot be judged before running.
    """
    stats = Stats()
    todo: queue.Queue[PageJob] = queue.Queue()
    for job in sorted(jobs, key=lambda j: (j.runtime != "pyodide", -len(j.runs))):
        todo.put(job)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    count = max(1, min(workers, len(jobs)))
    limit = max(count, min(grow_to, len(jobs)))
    pace = _Pace(sum(len(j.runs) for j in jobs))
    stats.workers = count

    def counted(result: SnippetResult) -> None:
        pace.settled()
        on_result(result)

    def work() -> None:
        worker = Worker(settings, stats, counted)
        try:
            while True:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    found = worker.run_page(job)
                except Exception as exc:  # a bug of ours must not pass a page silently
                    worker._drop()
                    found = [
                        Outcome(problem(r.snippet, Status.ERROR, f"internal error: {exc!r}"))
                        for r in job.runs
                        if r.report
                    ]
                    for outcome in found:
                        counted(outcome.result)
                pace.page_done()
                with lock:
                    outcomes.extend(found)
        finally:
            worker.close()

    finished = threading.Event()  # a worker ran out of pages: stop looking to grow

    def run() -> None:
        try:
            work()
        finally:
            finished.set()

    def start(number: int) -> threading.Thread:
        thread = threading.Thread(target=run, name=f"pyrun-check-{number}")
        thread.start()
        return thread

    threads = [start(n) for n in range(count)]
    while len(threads) < limit and not finished.wait(GROW_EVERY):
        if todo.qsize() > 0 and pace.seconds_left() > GROW_WORK and spare.idle_core(len(threads)):
            threads.append(start(len(threads)))
            stats.workers = len(threads)
    for thread in threads:
        thread.join()
    return outcomes, stats


class _Pace:
    """How fast the pool gets through snippets once warm (after its first page, which paid for
    starting a process), to estimate the work left in wall seconds at the current size."""

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.warm_since: float | None = None
        self.warm_done = 0
        self._lock = threading.Lock()

    def settled(self) -> None:
        with self._lock:
            self.done += 1
            if self.warm_since is not None:
                self.warm_done += 1

    def page_done(self) -> None:
        with self._lock:
            if self.warm_since is None:
                self.warm_since = self.clock()

    def seconds_left(self) -> float:
        """Estimated wall seconds of work left; while the first page still runs, how long it has
        run so far (a long first page means the rest is long too)."""
        with self._lock:
            now = self.clock()
            if self.warm_since is None or self.warm_done == 0:
                return now - self.started
            per_run = (now - self.warm_since) / self.warm_done
            return per_run * (self.total - self.done)
