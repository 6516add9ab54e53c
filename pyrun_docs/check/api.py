"""The check's entry point for adapters and the CLI: :func:`run_check`.

It decides what must run (skips, cache hits), prepares verified packages, runs the rest on the pool
and assembles the report. Nothing here knows Sphinx or MkDocs: they hand in snippets per page and
turn the report into their own warnings and exit status.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import time
from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO, cast

from packaging.utils import canonicalize_name

from pyrun_docs.config import PyrunConfig
from pyrun_docs.executor import CANNOT_PARSE, COMMENT_LINE_HINT, example_count
from pyrun_docs.fetch import ensure_runtime, packages_dir
from pyrun_docs.locate import installed_part
from pyrun_docs.package_store import PackageError, PackageIndex, PackageStore
from pyrun_docs.packages import Resolution, resolve
from pyrun_docs.runtime import CHECKED_RUNTIME, get_pin
from pyrun_docs.sessions import SessionKey, is_setup, session_key
from pyrun_docs.snippet import Snippet
from pyrun_docs.words import plural

from . import cpython, micropython, spare
from .cache import ResultCache, default_cache_dir, results_dir
from .names import may_explain, missing_name
from .plan import (
    cache_key,
    engine_digest,
    localized,
    portable,
    runtime_of,
    session_chains,
    session_members,
    unit_of,
    unit_runs,
)
from .pool import Outcome, PageJob, Stats, run_pages
from .progress import Progress, ProgressCallback
from .results import KEPT_STATIC, SETUP_FAILED, TIMED_OUT, CheckReport, SnippetResult, Status
from .settings import (
    engine_of,
    harness_settings,
)
from .verdict import (
    NEEDS_NETWORK,
    REORDERED,
    cached_output,
    judge,
    problem,
    reordered,
    skip_advice,
    skipped,
)


def run_check(
    pages: Mapping[str, Sequence[Snippet]],
    config: PyrunConfig,
    *,
    cache_dir: Path | str | None = None,
    jobs: int | None = None,
    progress: bool | TextIO | ProgressCallback = True,
    use_cache: bool = True,
    packages: Resolution | None = None,
    base_dir: Path | None = None,
    setting_prefix: str = "",
) -> CheckReport:
    """Run every snippet of *pages* in the pinned Pyodide, through the browser's executor.

    Semantics are the browser's: per page, snippets sharing a ``session`` run in document order in
    one namespace (hidden setup snippets first); snippets without one run on their own; each page
    gets a fresh interpreter, so pages never see each other's variables, modules or files. ``>>>``
    transcripts are compared doctest-style (``...`` matches anything). ``raises`` passes only on
    that exception; ``check: skip`` snippets are reported as skipped. ``runtime: micropython``
    snippets run in the pinned MicroPython (:mod:`.micropython`), with the same semantics.
    A snippet running past its ``timeout`` (else ``config.timeout``) is stopped and reported; the
    rest of the page still runs. No network, no stdin.

    Args:
        pages: the snippets of each page (Sphinx docname or MkDocs page path -> snippets); their
            ``index`` gives the document order. Pages are reported in the mapping's order.
        config: site settings; used here: ``timeout``, ``runtime`` (the default runtime),
            ``cdn_url`` (where a missing package wheel is fetched from, then verified against the
            pinned lock file) and ``output_limit``. ``check`` (off/warn/error) is for the adapter.
        cache_dir: where results and interpreter snapshots are kept; default
            :func:`default_cache_dir`.
        jobs: interpreter processes to run at once; default: :func:`default_workers` to start
            with, more (up to one per core) while the work left is worth another process.
        progress: a progress bar on stderr (``True``), on the given stream, none (``False``),
            or a callable ``(done, total, result)`` called as each snippet is settled (adapters
            show progress in their own log with it).
        use_cache: ``False`` runs every snippet and stores nothing.
        packages: the docs' resolved package set (:func:`pyrun_docs.packages.build_packages`),
            so the check loads exactly what the site serves; ``None`` resolves here (the
            ``packages`` setting and options; a problem is an error result for its snippet).
        base_dir: what a relative ``project`` setting is relative to when resolving here (the
            folder of ``conf.py`` / ``mkdocs.yml``); default: the current directory.

    Returns:
        The report: one result per snippet, in page and document order (see :class:`CheckReport`).
        An unchanged tree is answered from the cache without starting Node.

    Raises:
        PyrunError: a setup problem, not a snippet's: Node.js missing or older than 18, or the
            pinned runtime cannot be fetched or verified. The message says what to do.
    """
    started = time.monotonic()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache = ResultCache(results_dir(folder) if use_cache else None)
    ordered = {page: sorted(snippets, key=lambda s: s.index) for page, snippets in pages.items()}
    total = sum(len(s) for s in ordered.values())
    bar = _progress_bar(progress, total)
    results: dict[tuple[str, int], SnippetResult] = {}
    awaiting: set[int] = set()  # snippets (ids) whose verdict waits for the second opinion

    def tally(result: SnippetResult) -> None:
        if cpython.candidate(result, config):
            # static or failed is decided by CPython at the end: shown then (a build's log
            # said "index.rst:4 static", then warned "failed ... (fails in CPython too)")
            awaiting.add(id(result.snippet))
            return
        bar.advance(kept_static(result, config))  # counted as the report will show it

    def settle(page: str, result: SnippetResult) -> None:
        results[(page, result.snippet.index)] = result
        tally(result)

    runnable, micro = _triage(ordered, config, settle)
    pin = get_pin(CHECKED_RUNTIME)
    store: PackageStore | None = None
    runtime: Path | None = None
    page_jobs: list[PageJob] = []
    notes: list[str] = []  # package problems of no snippet (a setting), when resolved here
    keys: dict[tuple[str, int], str] = {}
    if runnable:
        runtime = ensure_runtime(pin)
        engine = engine_of(pin)
        index = PackageIndex.from_lock(runtime / "pyodide-lock.json")
        base_url = config.cdn_url.replace("{version}", pin.version)
        # one store for the resolution and the pages: a wheel verified once is not hashed again
        store = PackageStore(packages_dir(pin), index, base_url)
        if packages is None:
            packages = _resolve_here(runnable, config, store, settle, base_dir, setting_prefix)
            notes = [str(p) for p in packages.problems if p.snippet is None]
        index.add_resolved(packages)
        for page, snippets in runnable.items():
            job = _plan_page(
                page, ordered[page], snippets, config, store, engine, cache, keys, settle
            )
            if job is not None:
                page_jobs.append(job)

    page_jobs += micropython.plan_jobs(micro, ordered, config, cache, keys, settle)

    problems: list[str] = []
    boots = cold = workers = 0
    if page_jobs:
        outcomes, stats = _run_jobs(
            page_jobs,
            config,
            store,
            runtime,
            folder,
            micro=bool(micro),
            jobs=jobs,
            base_dir=base_dir,
            tally=tally,
        )
        page_of = {(id(r.snippet)): job.page for job in page_jobs for r in job.runs}
        for outcome in outcomes:
            result = outcome.result
            page = page_of[id(result.snippet)]
            results[(page, result.snippet.index)] = result
            key = keys.get((page, result.snippet.index))
            if key and outcome.cache is not None:  # the pool keeps only deterministic verdicts
                cache.put(key, portable(outcome.cache, result.snippet))
        boots, cold, workers = stats.boots, stats.cold_boots, stats.workers
        problems = stats.problems

    spare.discard()  # started for this check (prestart) and not adopted: nothing ran
    cache.prune()
    for page, snippets in ordered.items():
        for s in snippets:
            results.setdefault(
                (page, s.index),
                problem(s, Status.ERROR, "internal error: the snippet got no result"),
            )
    if packages is not None and packages.unbuilt:
        for place, result in results.items():
            results[place] = without_project(result, packages.unbuilt)
    for place, result in results.items():
        results[place] = undeclared(result, store.index if store else None, setting_prefix)
    failing = [(page, r) for (page, _), r in results.items() if cpython.candidate(r, config)]
    in_cpython = (
        cpython.cross_check(failing, ordered, config, cache, keys, _provider(store), problems)
        if failing
        else {}
    )
    report = CheckReport(
        results=[
            result
            for page, snippets in ordered.items()
            for result in _page_verdicts(page, snippets, results, in_cpython, config)
        ],
        boots=boots,
        cold_boots=cold,
        workers=workers,
        problems=problems,
        setting_problems=notes,
    )
    for result in report.results:
        if id(result.snippet) in awaiting:
            bar.advance(result)
    bar.finish(report.results)
    report.seconds = time.monotonic() - started
    return report


def _progress_bar(progress: bool | TextIO | ProgressCallback, total: int) -> Progress:
    """The progress shown: a bar on stderr (``True``) or on a stream, or a callback's."""
    stream: TextIO | None = None
    callback: ProgressCallback | None = None
    if hasattr(progress, "write"):
        stream = cast("TextIO", progress)
    elif not isinstance(progress, bool):
        callback = progress
    enabled = progress is not False and not callback
    return Progress(total, stream=stream, enabled=enabled, callback=callback)


def _triage(
    ordered: Mapping[str, Sequence[Snippet]],
    config: PyrunConfig,
    settle: Callable[[str, SnippetResult], None],
) -> tuple[dict[str, list[Snippet]], dict[str, list[Snippet]]]:
    """Each page's snippets to run in Pyodide and in MicroPython; those not to run at all are
    settled as skipped here."""
    runnable: dict[str, list[Snippet]] = {}
    micro: dict[str, list[Snippet]] = {}
    for page, snippets in ordered.items():
        for snippet in snippets:
            if snippet.options.check == "skip":
                settle(page, skipped(snippet, "skipped (check: skip)"))
            elif snippet.is_transcript and not example_count(snippet.code, snippet.skips_examples):
                # as doctest skips them: reported so, not "passed" (its verified output showed
                # the examples and nothing they print); a whole block's skip is its directive's
                # +SKIP option, or the :pyversion: Sphinx turns into one
                why = SKIPS_BLOCK if snippet.skips_examples else "+SKIP"
                settle(page, skipped(snippet, f"skipped: doctest skips every example ({why})"))
            elif snippet.expected is not None and snippet.skips_examples:
                # a testcode block whose testoutput says +SKIP: the doctest builder skips it (it
                # was "passed", not run, and counted)
                settle(page, skipped(snippet, f"skipped: doctest skips it ({SKIPS_BLOCK})"))
            elif runtime_of(snippet, config) == micropython.RUNTIME:
                micro.setdefault(page, []).append(snippet)  # run by MicroPython's own harness
            else:
                runnable.setdefault(page, []).append(snippet)
    return runnable, micro


#: why doctest skips a whole block (Sphinx turns an unmet ``:pyversion:`` into ``+SKIP``)
SKIPS_BLOCK = "its +SKIP option, or a :pyversion: the build's Python does not meet"


def _run_jobs(
    page_jobs: list[PageJob],
    config: PyrunConfig,
    store: PackageStore | None,
    runtime: Path | None,
    folder: Path,
    *,
    micro: bool,
    jobs: int | None,
    base_dir: Path | None,
    tally: Callable[[SnippetResult], None],
) -> tuple[list[Outcome], Stats]:
    """Run the planned pages on the pool, each Pyodide page with its verified packages (a
    package that cannot be had makes its page an error); the stats' problems include the
    snapshots'."""
    for job in page_jobs:
        if store is None or job.runtime != CHECKED_RUNTIME:
            continue
        try:
            job.packages = store.ensure(job.packages)
        except PackageError as exc:
            job.error = f"not checked: {exc.message}"
    pyodide_jobs = any(job.runtime == CHECKED_RUNTIME for job in page_jobs)
    install, install_key, imports = _site_install(store) if pyodide_jobs else ([], "", [])
    settings = harness_settings(
        config,
        folder,
        runtime=runtime,
        pyodide=pyodide_jobs,
        install=install,
        install_key=install_key,
        install_imports=imports,
    )
    if micro:
        settings.micropython = micropython.harness_init(config)
    cores = os.cpu_count() or 1
    count = jobs or default_workers(page_jobs, cores)
    if pyodide_jobs:  # what the next check's spare restores
        site = spare.site_id(config, base_dir)
        spare.remember_install(folder, site, install, install_key, imports)
    outcomes, stats = run_pages(page_jobs, settings, count, tally, grow_to=0 if jobs else cores)
    stats.problems = stats.problems + settings.snapshots.problems
    return outcomes, stats


def after_failure(
    result: SnippetResult,
    page: str,
    snippets: Sequence[Snippet],
    results: Mapping[tuple[str, int], SnippetResult],
    config: PyrunConfig,
) -> SnippetResult:
    """A failing snippet that ran after a failing member of its session says so on its first
    line: its own failure may only follow from that one (an object the earlier example did not
    make), and a reader of the note under a block kept static would otherwise look for the cause
    in the wrong example (more-itertools' ``it.done`` after ``callback_iter`` could not start
    its thread). Only a failure that may have left something undone counts: an exception or a
    timeout, not output that differed (the code ran; boltons' ``u'...'`` reprs were blamed for an
    IPv6 error later on the page); nor one in another docstring, for a docstring's example
    (doctest runs each docstring on its own: tomlkit's every later docstring failure named the
    page's first one); nor one that was not to bind a name this one uses: the latest that was
    is named (:mod:`.names`)."""
    if result.status not in (Status.FAILED, Status.TIMEOUT) or result.exception in _ITS_OWN:
        return result
    for member in reversed(session_members(result.snippet, snippets, config)[:-1]):
        earlier = results.get((page, member.index))
        other_docstring = (
            result.snippet.options.docstring is not None
            and member.options.docstring is not None
            and member.options.docstring != result.snippet.options.docstring
        )
        # the same example shown again (a docstring rendered twice on the page: langcodes'
        # ``find`` and ``Language.find``) did not fail after itself
        again = (member.path, member.line) == (result.snippet.path, result.snippet.line)
        if earlier is None or other_docstring or again:
            continue
        if not may_explain(member, result.snippet, earlier.line, missing_name(result.message)):
            continue
        # its first line without its own count of more failing examples: said where it is
        # listed (transaction's every later line repeated "(and 3 more failing examples...)")
        cause = _MORE_FAILING.sub("", (earlier.message or earlier.status.value).splitlines()[0])
        if earlier.status is Status.ERROR:
            # it ran without what that one makes (``import numpy as np``, numpy not to be had):
            # unchecked too, not a failure, nor a block kept static with "does not run in the
            # browser: NameError: np" for readers (uncertainties' numpy guide: 14 such notes);
            # after one unchecked for that reason, the same one is named
            # (its own run said what went wrong without it: not shown, it was not checked;
            # that one's reason is said where it is listed: simplejson's read twice as long)
            message = (
                cause
                if cause.startswith(_NOT_CHECKED_AFTER)
                else f"{_NOT_CHECKED_AFTER}{earlier.location}, which was not checked (see there)"
            )
            return replace(result, status=Status.ERROR, message=message, traceback="", output="")
        if _may_leave_state_undone(earlier):
            first, _, rest = (result.message or result.status.value).partition("\n")
            note = f"{first}{AFTER_FAILURE}{earlier.location}: {cause})"
            return replace(result, message=note + (f"\n{rest}" if rest else ""))
    return result


_NOT_CHECKED_AFTER = "not checked: it runs after "
#: how a transcript's count says a later failing example raised (``executor._Mismatch.more``)
_LATER_RAISED = re.compile(r"more failing examples?, (?:one|\d+) raising\b")

#: failures no earlier example can cause (feedparser's SyntaxError was said to come "after an
#: earlier example of its session failed")
_ITS_OWN = frozenset({"SyntaxError", "IndentationError", "TabError"})


def _page_verdicts(
    page: str,
    snippets: Sequence[Snippet],
    results: Mapping[tuple[str, int], SnippetResult],
    in_cpython: Mapping[tuple[str, int], SnippetResult],
    config: PyrunConfig,
) -> list[SnippetResult]:
    """A page's final results, in order: each as it ran, saying so when it ran after a failure,
    static or failed as CPython said, then skipped where its group's setup failed."""
    # a snippet left unchecked for one that was (it uses what that one made) is seen so by the
    # later ones using what it made: bitsets' chain of five ended in two blocks kept static,
    # "NameError: name 'bitset' is not defined" in a note for readers
    unchecked: dict[tuple[str, int], SnippetResult] = {}
    seen = ChainMap(unchecked, cast("dict[tuple[str, int], SnippetResult]", results))  # read only
    verdicts: list[SnippetResult] = []
    for s in snippets:
        key = (page, s.index)
        result = after_failure(results[key], page, snippets, seen, config)
        if result.status is Status.ERROR and results[key].status is not Status.ERROR:
            unchecked[key] = result
        verdicts.append(in_group(kept_static(result, config, in_cpython.get(key))))
    return after_setup(verdicts, config)


def in_group(result: SnippetResult) -> SnippetResult:
    """A failure of a block's copy in another of its doctest groups (``.. doctest:: g1, g2``)
    names that group, as the doctest builder does ("in g2"): the page's widget is the first
    group's, which may well pass (it showed 111 where the report said 112 was got)."""
    session = result.snippet.options.session
    if not (result.snippet.options.repeated and session and result.failed):
        return result
    first, newline, rest = result.message.partition("\n")
    return replace(result, message=f"{first} (in its doctest group {session}){newline}{rest}")


def undeclared(
    result: SnippetResult, index: PackageIndex | None, setting_prefix: str
) -> SnippetResult:
    """An example failing to import a module a pure-Python package provides that the example
    did not have loaded (one of Pyodide's or the site's, by *index*, or one installed in the
    build's Python that has that very module) is not checked: the site never asked for that
    package, as a package it imports uses it without declaring it (soupsieve imports bs4), or
    it is on no list (an example importing html5lib from the build's environment). It ran in
    CPython, so it was kept static ("Does not run in the browser") and the check passed; the
    fix is the ``packages`` setting. A module missing from a package that was loaded (the
    project's ``nsdemo.beta``, which no package has) is the example's own failure."""
    if result.status not in (Status.FAILED, Status.TIMEOUT):
        return result
    first = result.message.partition("\n")[0]
    module = cpython.missing_module(first)
    if not module:
        return _optional(result, first, index, setting_prefix)
    loaded = _loaded(index, result.snippet) if index is not None else set()
    package = index.by_import.get(module.split(".")[0]) if index is not None else None
    if package is None or package in loaded:
        # one installed here with that very module (a namespace package's other part), if
        # the example did not have it loaded
        package = pure_distribution(module)
        if package is not None and canonicalize_name(package) in loaded and index is not None:
            return _another_version(result, first, package, index, setting_prefix)
        if package is None or canonicalize_name(package) in loaded:
            return _off_the_path(result, first, module, setting_prefix)
    setting = f"{setting_prefix}packages"
    return _unchecked(
        result,
        f"{first}: the package {package} provides it, but the site does not load it (no "
        f"setting names it, no package here declares it): add {package} to the {setting} setting",
    )


def _optional(
    result: SnippetResult, first: str, index: PackageIndex | None, setting_prefix: str
) -> SnippetResult:
    """An example failing for an optional dependency its library asks for in its message
    ("This feature requires Babel. Please install it by running: pip install Babel": Pint's
    locale examples) that the build's Python has as a pure-Python distribution and the site
    does not load: not checked, saying which package to add (as for an undeclared import); the
    doctest builder passed them, and they were kept static with that message for readers."""
    # an exception's words (not an example's own text quoted in a mismatch)
    raised = result.exception not in (None, "", "OutputMismatch")
    wanted = _PIP_INSTALL.search(first) if raised else None
    if wanted is None or index is None:
        return result
    import importlib.metadata

    try:
        distribution = importlib.metadata.distribution(wanted[1])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return result
    name = str(distribution.metadata["Name"])
    if not _is_pure(distribution) or canonicalize_name(name) in _loaded(index, result.snippet):
        return result
    return _unchecked(
        result,
        f"{first}: the build's Python has {name}, the site does not load it: add {name} to the "
        f"{setting_prefix}packages setting",
    )


def _loaded(index: PackageIndex, snippet: Snippet) -> set[str]:
    """The packages *snippet* has loaded: those it needs and their dependencies."""
    return set(index.closure(index.needs(snippet)[0]))


def _is_pure(distribution: Any) -> bool:
    """Whether an installed distribution is pure Python (its wheel's ``Root-Is-Purelib``)."""
    return "Root-Is-Purelib: true" in (distribution.read_text("WHEEL") or "")


#: a message asking for a package to be installed (its distribution name)
_PIP_INSTALL = re.compile(r"\bpip3? install ['\"]?([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])")


def _unchecked(result: SnippetResult, why: str) -> SnippetResult:
    """*result* as not checked, saying *why* (what to set): never kept in the result cache, nor
    shown with its run's traceback (a ModuleNotFoundError under "not checked" read as a
    failure after all)."""
    message = f"not checked: {why}"
    return replace(result, status=Status.ERROR, message=message, cached=False, traceback="")


def _another_version(
    result: SnippetResult, first: str, package: str, index: PackageIndex, setting_prefix: str
) -> SnippetResult:
    """A module the build's *package* has and the version of it the site loads does not (the
    resolver took the newest setuptools, which has no ``pkg_resources``: binarytree's 60
    examples were kept static and the check passed, nothing checked): not checked, naming both
    versions and the setting that pins the one the docs need."""
    import importlib.metadata

    try:
        here = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return result
    there = str(index.packages.get(canonicalize_name(package), {}).get("version", ""))
    if not there or there == here:
        return result
    return _unchecked(
        result,
        f"{first}: the build's Python has it from {package} {here}, but the site loads "
        f"{package} {there}, which does not: name the version the docs need in the "
        f'{setting_prefix}packages setting (e.g. "{package}=={here}")',
    )


def _off_the_path(
    result: SnippetResult, first: str, module: str, setting_prefix: str
) -> SnippetResult:
    """A docstring's example whose module the build imported from a folder of its own (conf.py
    putting it on ``sys.path``, the usual autodoc set-up) that no setting brings to the browser:
    not checked, saying where the module is and what to set (requests' and python-gitlab's
    docs said only "importing modb for this docstring's globals failed")."""
    if module.split(".")[0] in sys.stdlib_module_names:
        # the standard library's own (``grp``, a file of ``lib-dynload`` that Pyodide lacks):
        # no folder brings it (lazr.config was told to add lib-dynload to the path setting)
        return result
    path = Path(result.snippet.path)
    own = _FOR_GLOBALS.search(first)  # the docstring's module: only when it is the missing one
    # (pyramid.static, failing on a dependency without a pure wheel, was told to add its own
    # folder to the path setting, the project set already)
    if own is not None and own.group(1).split(".")[0] == module.split(".")[0]:
        if path.suffix != ".py" or not path.is_file():
            return result
        folder = path.resolve().parent
        for _ in range(own.group(1).count(".") + (path.name == "__init__.py")):
            folder = folder.parent  # the folder the top-level package or module is in
    elif own is None:
        # a page's example importing a module beside the docs, which CPython finds (from the
        # folder the command runs in: xsdata's ``tests.fixtures``), as pytest does
        found = _project_folder_of(module)
        if found is None:
            return result
        folder = found
    else:
        return result
    return _unchecked(
        result,
        f"{first}: the build imports {module} from {folder}, which the browser does not have: "
        f"add that folder to the {setting_prefix}path setting (or set {setting_prefix}project "
        "to the project that holds it)",
    )


def _project_folder_of(module: str) -> Path | None:
    """The folder the build's Python imports *module*'s top level from (the CPython second
    opinion's ``sys.path``: the folder the command runs in first), when it is no installed
    package's (site-packages) nor the standard library's; ``None`` otherwise."""
    import importlib.machinery
    import sysconfig

    top = module.split(".")[0]
    try:
        spec = importlib.machinery.PathFinder.find_spec(top, [os.getcwd(), *sys.path])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    where = spec.origin if spec.origin not in (None, "namespace") else None
    if where is None and spec.submodule_search_locations:
        where = os.path.join(next(iter(spec.submodule_search_locations)), "__init__.py")
    if where is None:
        return None
    folder = Path(where).resolve().parent
    if spec.submodule_search_locations:
        folder = folder.parent  # a package: the folder it is in
    installed = {Path(p).resolve() for p in sysconfig.get_paths().values() if p}
    if folder in installed or installed_part(folder) is not None:
        return None
    return folder


#: how the executor says a docstring's module did not import (``Executor.with_module``)
_FOR_GLOBALS = re.compile(r"importing ([\w.]+) for this docstring's globals failed")


@functools.lru_cache(maxsize=256)
def pure_distribution(module: str) -> str | None:
    """The pure-Python distribution installed in the build's Python whose files hold *module*
    (dotted; ``a/b.py`` or ``a/b/__init__.py``), or one installed editable whose folder does:
    not just one sharing its top-level name (a namespace package's other part)."""
    import importlib.metadata

    path = module.replace(".", "/")
    wanted = {f"{path}.py", f"{path}/__init__.py"}
    for name in importlib.metadata.packages_distributions().get(module.split(".")[0], []):
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if not _is_pure(distribution):
            continue
        if any(str(file).replace("\\", "/") in wanted for file in distribution.files or ()):
            return name
    return _editable_distribution(module)


def _editable_distribution(module: str) -> str | None:
    """The distribution installed editable (``pip install -e``) in the build's Python whose
    folder holds *module*: its files list only a ``.pth`` or a finder (bitsets' graphviz
    extra, installed so, left seven blocks static with a bare ModuleNotFoundError)."""
    import importlib.metadata
    import importlib.util
    import json
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec is not None else None
    if not origin or origin in ("built-in", "frozen", "namespace"):
        return None
    where = Path(origin).resolve()
    if installed_part(where) is not None:
        return None  # an installed copy (in a virtual environment inside an editable project)
    rest = module.split(".")[1:]
    if rest:  # the very module, as for an installed package: not a name its top level lacks
        base = where.parent.joinpath(*rest)
        if not (base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()):
            return None
    for distribution in importlib.metadata.distributions():
        try:
            found = json.loads(distribution.read_text("direct_url.json") or "{}")
        except ValueError:
            continue
        if not isinstance(found, dict) or not (found.get("dir_info") or {}).get("editable"):
            continue
        folder = Path(url2pathname(urlparse(str(found.get("url", ""))).path)).resolve()
        if where.is_relative_to(folder):
            return str(distribution.metadata["Name"])
    return None


def without_project(result: SnippetResult, unbuilt: Mapping[str, str]) -> SnippetResult:
    """An example that failed importing the project whose wheel could not be built is not
    checked (the check cannot tell), not kept static with a note blaming the browser ("Does not
    run in the browser: No module named 'mypkg'") nor failed."""
    if result.status not in (Status.FAILED, Status.TIMEOUT):
        return result
    name = cpython.missing_module(result.message).split(".")[0]  # unbuilt: identifiers
    if name not in unbuilt:
        return result
    return _unchecked(result, unbuilt[name])


def after_setup(page: list[SnippetResult], config: PyrunConfig) -> list[SnippetResult]:
    """The examples of a doctest group whose setup failed (a ``testsetup``, the site's
    ``doctest_global_setup``: a hidden setup snippet that fails in CPython too, not one kept
    static) are skipped, as the doctest builder skips them: it reports "1 failure in setup
    code", then neither runs nor counts the group's tests. Here they ran (as a reader's Run
    would), and their failures would only repeat the setup's, at lines that are not to blame."""
    failed: dict[SessionKey | None, SnippetResult] = {}
    for result in page:
        judged = result.status in (Status.FAILED, Status.TIMEOUT)  # not unchecked (``error``)
        if is_setup(result.snippet) and result.snippet.upgraded and judged:
            failed.setdefault(session_key(result.snippet, config), result)
    if not failed:
        return page
    out: list[SnippetResult] = []
    cost: dict[int, int] = {}  # id of a failed setup's result -> the examples it skipped
    for result in page:
        setup = (
            None if is_setup(result.snippet) else failed.get(session_key(result.snippet, config))
        )
        if setup is None:
            out.append(result)
            continue
        cost[id(setup)] = cost.get(id(setup), 0) + 1
        message = f"{SETUP_FAILED}{setup.location})"
        out.append(SnippetResult(result.snippet, Status.SKIPPED, message))
    # the setup's failure says what it cost (the skipped examples are not listed one by one)
    return [_with_cost(r, cost[id(r)]) if id(r) in cost else r for r in out]


def _with_cost(setup: SnippetResult, count: int) -> SnippetResult:
    first, newline, rest = setup.message.partition("\n")
    note = f" (so {plural(count, 'example')} of its group did not run, as in Sphinx's doctest)"
    return replace(setup, message=f"{first}{note}{newline}{rest}")


#: how :func:`after_failure` names the earlier failure (the build log's business, not a reader's)
AFTER_FAILURE = " (after an earlier example of its session failed, "


def _may_leave_state_undone(result: SnippetResult) -> bool:
    if result.status is Status.TIMEOUT:
        return True
    if result.status is not Status.FAILED:
        return False
    # a transcript whose failures are all output mismatches ran every statement (a later one
    # that raised says so: "and 2 more failing examples, one raising ValueError"; sympy's
    # matrices page blamed ten examples on one whose three failures were all output)
    first = (result.message or "").partition("\n")[0]
    return result.exception != "OutputMismatch" or _LATER_RAISED.search(first) is not None


def reader_note(result: SnippetResult) -> str:
    """The note readers see under an example kept a plain block: why, from the check's first
    line, without the earlier failure :func:`after_failure` names (a file on the machine that
    built the docs, an example the reader may never look at). An upgraded Python block (not a
    transcript: CPython is not asked about those) that fails with a ``NameError`` is a fragment
    using names the page defines elsewhere, not something the browser cannot do (69 such notes
    on Python-Markdown's pages blamed the browser); so is one importing a module no package has
    (one the page shows as another file, ``from rect import Rect``: a package the browser lacks
    is not checked, never static)."""
    reason = result.message.removeprefix(KEPT_STATIC).splitlines()
    first, after, _ = reason[0].partition(AFTER_FAILURE) if reason else ("", "", "")
    # that an earlier example failed first is said, without naming it (more-itertools'
    # ``it.done`` mismatch read as the browser's fault, its thread never started before it)
    earlier = " (after an earlier example failed)" if after else ""
    snippet = result.snippet
    first = _MORE_FAILING.sub("", first)  # the maintainer's count (humanfriendly's README)
    if first.startswith("EOFError: input() has no keyboard here"):  # advice for the author
        return "Does not run in the browser: it asks for keyboard input (input())"
    if first.startswith("FileNotFoundError"):  # Emscripten's number (44), not the reader's
        first = _ERRNO.sub("", first, count=1)
    # a file or name the page does not give it: Python-Markdown's ``open("some_file.txt")``
    fragment = first.startswith(("NameError", "ModuleNotFoundError", "FileNotFoundError"))
    if fragment and not snippet.is_transcript:
        return f"Not runnable on its own: {first}{earlier}"
    if first.startswith("SystemExit"):  # a program's end (``setup()``, ``sys.exit("usage")``)
        return f"Ends the program: {_shortened(first)}"
    # the executor's words for the build's log, in the reader's (pyee's optional twisted module)
    module = _FOR_GLOBALS.search(first)
    if module is not None:
        why = first[module.end() :].lstrip(": ")
        return (
            f"Does not run in the browser: its module {module[1]} cannot be imported there ({why})"
        )
    # one no other Python was asked about (a pycon block the doctest builder never runs) may
    # be broken anywhere: not said to be the browser's fault
    if NEEDS_NETWORK in first:  # a reader's browser may well fetch it: nothing to blame
        return f"Not run when the docs were built: {first.partition(': ')[2] or first}"
    if first.startswith(CANNOT_PARSE):  # the text, in any Python (babel's pycon block)
        return f"Not runnable as written: {first}"
    # CPython passed it (the doctest builder's examples: :func:`cpython.candidate`), or what
    # fails is what the browser lacks (a subprocess, a thread, a socket): the browser's fault
    asked = snippet.tested and snippet.options.session is not None
    if asked or _BROWSER_LIMIT.search(first):
        return (
            f"Does not run in the browser: {first or 'it fails in Python 3.14 (Pyodide)'}{earlier}"
        )
    # in words for readers, not the checker's (more-itertools' changelog: "OutputMismatch: ...
    # differs from the transcript")
    first = _COMMENT_ADVICE.sub("", first.removeprefix("OutputMismatch: ")).replace(
        "differs from the transcript", "differs from the one shown"
    )
    return f"Does not run as shown: {first or 'it fails in Python 3.14 (Pyodide)'}{earlier}"


#: how many more examples of a transcript failed: the maintainer's count, not the reader's
_MORE_FAILING = re.compile(r" \(and \d+ more failing examples?[^()]*\)")
#: the fix a mismatch names for the docs' author (a comment read as output): not for readers
_COMMENT_ADVICE = re.compile(".*?".join(map(re.escape, COMMENT_LINE_HINT.split("{line!r}"))))
#: an OSError's number, as ``[Errno 44] `` (Emscripten's, not the reader's system's)
_ERRNO = re.compile(r"\[Errno \d+\] ")
#: a failure that says the browser lacks something (Emscripten's words, or the check's)
_BROWSER_LIMIT = re.compile(r"emscripten|the browser|Errno 138\b", re.IGNORECASE)


def _shortened(text: str, limit: int = 120) -> str:
    """*text* up to *limit* characters (setuptools' usage text filled a reader's note)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def runs_hidden(result: SnippetResult) -> bool:
    """Whether a block kept static still runs, hidden, in its place in the reader's session:
    the check ran it there, so a later widget may pass on the names it set before it failed,
    and it does so in the browser only if the block runs there too (zope.interface's README: a
    widget needing ``sys`` and ``pickle`` from a static block passed the check and failed for
    readers). Not one on its own (nothing follows it), nor one that timed out (it would hang
    every later Run of its session)."""
    return (
        result.status is Status.STATIC
        and result.snippet.options.session is not None
        and TIMED_OUT not in result.message
    )


def as_hidden(snippet: Snippet) -> Snippet:
    """*snippet* as a hidden example that runs in its place (:func:`runs_hidden`)."""
    return replace(snippet, options=replace(snippet.options, hidden=True, in_order=True))


def kept_static(
    result: SnippetResult, config: PyrunConfig, in_cpython: SnippetResult | None = None
) -> SnippetResult:
    """An upgraded example that fails (or times out) stays the plain block it was
    (``upgrade_failing``), unless it fails in CPython too (*in_cpython*, :mod:`.cpython`): then
    the docs are broken, not the browser, and it stays a failure, as in the doctest builder.
    One the check could not judge (``error``: a package it could not get, a crashed harness)
    stays an error: the example may well run for a reader, and a maintainer must see that it
    went unchecked (a network outage once made every example of a site static, its reason, a
    cache path and advice for the maintainer, shown to readers)."""
    judged_failing = result.status in (Status.FAILED, Status.TIMEOUT)
    if not (judged_failing and result.snippet.upgraded and config.upgrade_failing == "static"):
        return result
    if reordered(result):  # broken in any Python: no question of the browser
        return replace(result, message=result.message + REORDERED)
    if in_cpython is not None and in_cpython.status is Status.FAILED:
        return cpython.failing_in_both(result, in_cpython)
    reason = result.message or result.status.value
    if in_cpython is not None and in_cpython.status is Status.TIMEOUT:
        reason = f"{reason} ({in_cpython.message})"  # hangs everywhere; still no failure
    return replace(result, status=Status.STATIC, message=f"{KEPT_STATIC}{reason}")


def _provider(store: PackageStore | None) -> Callable[[str], bool]:
    """Whether the checked runtime may have a top-level module: Pyodide's own (the standard
    library, ``js``, ``pyodide``) or a package's of the site's index (unknown: it may)."""
    if store is None:
        return lambda module: True
    known = store.index.by_import

    def provided(module: str) -> bool:
        return module in known or module in sys.stdlib_module_names or module in PYODIDE_OWN

    return provided


#: modules the Pyodide runtime has of its own, in no package
PYODIDE_OWN = frozenset({"js", "pyodide", "pyodide_js", "_pyodide"})


def _site_install(store: PackageStore | None) -> tuple[list[str], str, list[str]]:
    """What every interpreter has installed before its first page, a key for that set, and the
    modules those packages provide (imported before the installed snapshot is taken and by a
    spare while it warms up, so their code and what they import is compiled before any page).

    The site's packages (loaded before every snippet anyway) that are pure Python with all their
    dependencies: their files are all there is to them, so an interpreter snapshot can hold them
    (a compiled one also loads shared libraries, which a snapshot cannot restore). A wheel that
    cannot be provided is left out here; the pages that need it report it.
    """
    if store is None:
        return [], "", []
    names = store.index.installable(store.index.site)
    try:
        specs = store.ensure(names)
    except PackageError:
        return [], "", []
    key = engine_digest(*(store.index.fingerprint(n) for n in names))[:16] if names else ""
    imports = sorted(
        str(module) for name in names for module in store.index.packages[name].get("imports", ())
    )
    return specs, key, imports


def _resolve_here(
    runnable: dict[str, list[Snippet]],
    config: PyrunConfig,
    store: PackageStore,
    settle: Callable[[str, SnippetResult], None],
    base_dir: Path | None,
    setting_prefix: str,
) -> Resolution:
    """Resolve packages for a check run without a docs build (the CLI), fetching Pyodide's
    wheels into *store* (its index not yet given the resolution); settings are named with
    *setting_prefix* (``pyrun_`` for a ``conf.py``), as the build names them."""
    pin = get_pin(CHECKED_RUNTIME)
    lock = store.index.lock
    resolution = resolve(
        runnable,
        config,
        lock,
        pin,
        base_dir=base_dir,
        lock_wheels=store,
        setting_prefix=setting_prefix,
    )
    for found in resolution.problems:
        if found.snippet is not None:
            page = found.snippet.page
            if found.snippet in runnable.get(page, []):
                runnable[page].remove(found.snippet)
                message = f"not checked: {found.message}"
                settle(page, problem(found.snippet, Status.ERROR, message))
    return resolution


#: single-core seconds a page and a snippet take in a running interpreter (measured on 2 slow cores)
PAGE_SECONDS, RUN_SECONDS = 0.05, 0.003
#: work a process must have before another one pays for its own start (~1 s of CPU to restore
#: an interpreter, plus this Python process and Node competing for the same cores)
MIN_WORK_PER_PROCESS = 3.0


def default_workers(page_jobs: Sequence[PageJob], cores: int) -> int:
    """How many harness processes a check starts when ``jobs`` is not given.

    One per core only pays when there is enough work to share: on 2 cores, 500 trivial snippets on
    50 pages finish sooner in one process (2.9 s) than in two (3.5 s), because a second process
    spends ~1 s starting and competes with this one. So: one process per
    :data:`MIN_WORK_PER_PROCESS` seconds of estimated work, at most one per core and one per page.
    This is only where a check starts: the estimate assumes trivial snippets, so the pool adds
    processes (up to one per core) while it runs when the work left proves worth it
    (:func:`.pool.run_pages`).
    """
    work = sum(PAGE_SECONDS + RUN_SECONDS * len(job.runs) for job in page_jobs)
    return max(1, min(cores, len(page_jobs), int(work // MIN_WORK_PER_PROCESS)))


def _usable(hit: dict[str, Any], snippet: Snippet, config: PyrunConfig) -> bool:
    """Whether a cache entry answers for *snippet*: a verdict, a timeout under a limit no longer
    than today's (a raised limit runs it again), or a snippet a timeout of its session kept from
    running (which runs again with its session whenever the snippet that timed out does)."""
    if isinstance(hit.get("raw"), dict) or isinstance(hit.get("blocked"), str):
        return True
    limit = hit.get("timeout")
    if not isinstance(limit, (int, float)) or "message" not in hit:
        return False
    return limit >= (snippet.options.timeout or config.timeout)


def _remembered(snippet: Snippet, hit: dict[str, Any]) -> SnippetResult:
    """A remembered timeout, or a snippet of its session it kept from running."""
    if "blocked" in hit:
        return replace(problem(snippet, Status.ERROR, str(hit["blocked"])), cached=True)
    seconds = float(hit.get("seconds") or 0.0)
    result = problem(snippet, Status.TIMEOUT, str(hit["message"]), seconds=seconds)
    return replace(result, cached=True)


def _plan_page(
    page: str,
    everything: list[Snippet],
    snippets: list[Snippet],
    config: PyrunConfig,
    store: PackageStore,
    engine: str,
    cache: ResultCache,
    keys: dict[tuple[str, int], str],
    settle: Callable[[str, SnippetResult], None],
) -> PageJob | None:
    """Answer what the cache knows; return the job for the rest of *page* (``None``: nothing)."""
    index = store.index
    needs: dict[int, list[str]] = {}
    runnable = {s.index for s in snippets}
    stale_units: set[object] = set()
    hits: dict[int, tuple[Snippet, dict[str, Any]]] = {}
    for snippet in snippets:
        packages, unknown = index.needs(snippet)
        if unknown:
            message = (
                f"not checked: {', '.join(unknown)} is not a package of the pinned Pyodide "
                "nor a resolved pure-Python wheel (see the package message for this snippet), "
                f"or {skip_advice(snippet)}"
            )
            settle(page, problem(snippet, Status.ERROR, message))
            runnable.discard(snippet.index)
            continue
        needs[snippet.index] = packages
    chains = session_chains(everything, config)
    for snippet in snippets:
        if snippet.index not in runnable:
            continue
        chain = chains[snippet.index]
        # with what they depend on: a dependency that could not be had, then could
        # (PIP_FIND_LINKS set, as the advice says), changed no key, and the ModuleNotFoundError
        # verdicts stayed (pyramid's zope.interface)
        chain_packages = sorted(
            index.fingerprint(p)
            for p in index.closure({p for s in chain for p in needs.get(s.index, [])})
        )
        key = cache_key(
            snippet,
            chain,
            engine=engine,
            packages=chain_packages,
            flags=config.transcript_flags,
            main=config.doctest_main,
        )
        keys[(page, snippet.index)] = key
        hit = cache.get(key)
        if hit is not None and _usable(hit, snippet, config):
            hits[snippet.index] = (snippet, localized(hit, snippet))
        else:
            stale_units.add(unit_of(snippet, config))
    for snippet, hit in hits.values():  # a session with one stale member re-runs whole
        if unit_of(snippet, config) in stale_units:
            continue
        if not isinstance(hit.get("raw"), dict):
            settle(page, _remembered(snippet, hit))
        else:
            settle(page, judge(snippet, hit["raw"], cached_output(hit), cached=True))
    runs = unit_runs(everything, config, stale_units, runnable)
    packages = sorted({p for r in runs for p in needs.get(r.snippet.index, [])})
    missing = _unavailable(store, packages)
    if missing:  # only the snippets that need a wheel that cannot be had are not checked (the
        # whole page was, each at the page's first snippet: jsonschema's pyyaml at conf.py)
        for run in runs:
            needed = needs.get(run.snippet.index, [])
            lacking = [n for n in index.closure(needed) if n in missing]
            if lacking and run.snippet.index in runnable:
                pulled = index.chain(needed, lacking[0])
                # which of its packages pulled it in (jaraco.text's examples: pydantic_core,
                # through typer-slim, typer and pydantic; none of them imports those)
                through = f" (required by {' <- '.join(pulled[1:])})" if len(pulled) > 1 else ""
                why = f"{missing[lacking[0]]}{through}, or {skip_advice(run.snippet)}"
                settle(page, problem(run.snippet, Status.ERROR, why))
                runnable.discard(run.snippet.index)
        runs = unit_runs(everything, config, stale_units, runnable)
        packages = sorted({p for r in runs for p in needs.get(r.snippet.index, [])})
    if not runs:
        return None
    return PageJob(page, runs, packages)


def _unavailable(store: PackageStore, names: Sequence[str]) -> dict[str, str]:
    """The packages among *names* and their dependencies whose wheels cannot be had (not in the
    verified folder, and the download failed or did not match), each with the reason."""
    missing: dict[str, str] = {}
    for name in store.index.closure(names):
        try:
            store.fetch(name)
        except PackageError as exc:
            missing[name] = f"not checked: {exc.message}"
    return missing
