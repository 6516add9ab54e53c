"""Upgraded examples that fail in Pyodide run again in this Python: is the browser to blame?

Why: with ``upgrade_failing = "static"`` (the default) an upgraded example that fails in Pyodide
stays the plain block it was and the check passes. That is right for an example that needs a
process, a socket or a package Pyodide lacks, and wrong for one that is simply broken (a typo, an
output that changed), which ``sphinx-build -b doctest`` fails: a project switching from the
doctest builder would lose the red CI for its broken examples.

So each such example, with the rest of its session before it, runs again in a subprocess of the
Python running the build (its ``sys.path``, its packages, its working directory: what the doctest
builder runs examples with), through the same executor and judged the same way. One that fails
there too is a failure; only one that passes there is the browser's problem and is kept static.

Which examples: those the doctest builder runs itself, the ``>>>`` transcripts and ``testcode``
blocks of a page and its docstrings' examples (upgraded by ``upgrade = ["doctest"]``; a docstring's
with its module's globals, as the check runs it). Not upgraded ``python`` blocks, nor ``pycon``
code blocks and ``::`` literal blocks of ``>>>`` lines (the doctest builder never runs them:
illustrations often are not meant to, and here they would run on the build machine, not in a
sandbox: fs's examples wrote into the home folder), which stay static as before.
An example this Python cannot judge (a module it cannot import, a crash, its timeout) keeps the
static verdict too: no failure without proof (a timeout is remembered, so an example that hangs
everywhere costs its timeout once).

Verdicts are cached beside the Pyodide result, under its key and this Python's version.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from typing import IO, TYPE_CHECKING, Any

from pyrun_docs.config import PyrunConfig
from pyrun_docs.outputs import Recorded, well_formed_json
from pyrun_docs.snippet import Snippet

from .cache import ResultCache
from .names import may_explain, missing_name
from .plan import Run, unit_of, unit_runs
from .results import SnippetResult, Status
from .verdict import judge, one_line, reordered

#: exceptions that say this Python lacks something the docs' build environment may not need
#: (the project installed only as ``project``'s wheel): no verdict, the example stays static
UNJUDGED = frozenset({"ModuleNotFoundError", "ImportError", "CPythonTimeout"})
#: what the verdict line names
PYTHON = f"CPython {sys.version_info.major}.{sys.version_info.minor}"


def candidate(result: SnippetResult, config: PyrunConfig) -> bool:
    """Whether *result* is an upgraded doctest-builder example that failed and would be kept
    static: the ones asked about here."""
    snippet = result.snippet
    return (
        config.upgrade_failing == "static"
        and snippet.upgraded
        and result.status in (Status.FAILED, Status.TIMEOUT)
        and snippet.options.session is not None  # doctest kinds; upgraded python blocks have none
        and snippet.tested  # not a pycon block the doctest builder never runs: not run here
        and not reordered(result)  # a failure in any Python (kept_static says why)
    )


def cross_check(
    failing: Sequence[tuple[str, SnippetResult]],
    pages: Mapping[str, Sequence[Snippet]],
    config: PyrunConfig,
    cache: ResultCache,
    keys: Mapping[tuple[str, int], str],
    provided: Callable[[str], bool] = lambda module: True,
    problems: list[str] | None = None,
) -> dict[tuple[str, int], SnippetResult]:
    """This Python's verdict for each of *failing* (page, result) it could judge, by place.

    Every example the doctest builder runs (upgraded transcripts, ``testcode`` and setup blocks)
    of every page up to the last one asked about runs, in the builder's order (pages by name,
    each in document order), in one subprocess, as the builder runs all pages in its process:
    what one page leaves in a module (mpmath's ``mp.dps``) is there for the pages after it. Only
    the pages with failures ran before: a verdict then depended on which other pages failed (an
    example the doctest builder passes "failed in CPython too", or one it fails stayed static).

    *provided*: whether the reader's runtime may have a module (its own, or one of the site's
    packages): an import this Python fails of one it has not either is a verdict. *problems*
    gets why this Python stopped answering, when it did."""
    verdicts: dict[tuple[str, int], SnippetResult] = {}
    wanted: dict[str, dict[int, Snippet]] = {}
    in_pyodide = {(page, result.snippet.index): result for page, result in failing}
    for page, result in failing:
        snippet = result.snippet
        cached = _cached(cache, keys.get((page, snippet.index)), config)
        if cached is not None:
            if (verdict := _verdict(result, cached, provided)) is not None:
                verdicts[(page, snippet.index)] = verdict
        else:
            wanted.setdefault(page, {})[snippet.index] = snippet
    if not wanted:
        return verdicts
    jobs: list[tuple[str, list[Run]]] = []
    last = max(wanted)
    for page in sorted(pages):
        if page > last:
            break
        # what the builder runs: not a pycon block it never runs (run on the build machine,
        # fs's examples wrote into the home folder)
        ran = [s for s in pages[page] if s.upgraded and s.tested]
        tested = [s for s in ran if s.judged_by_doctest or s.options.hidden]
        units: set[object] = {unit_of(s, config) for s in tested}
        units |= {unit_of(s, config) for s in wanted.get(page, {}).values()}
        if units:
            jobs.append((page, unit_runs(ran, config, units)))
    # the examples of each session whose import of what the site gives the reader's (the
    # project as a wheel only, not importable here) failed here: a later example's failure
    # here says nothing when it uses a name they were to bind (it failed "in CPython too" for
    # the NameError the failed import left); one using none of them is judged (construct's
    # blocks after an ``import numpy`` no Python here had stayed static, "Does not run in the
    # browser", where the doctest builder fails them)
    lacking: dict[tuple[str, object], list[Snippet]] = {}
    for page, run, raw in _run_all(jobs, config, problems if problems is not None else []):
        snippet = run.snippet
        session = (page, snippet.options.session)
        error = raw.get("error")
        module = _missing_module(error) if isinstance(error, dict) and not raw.get("ok") else None
        # (an example the reader's Python passed: it imported it there)
        if module and (page, snippet.index) not in in_pyodide and provided(module):
            lacking.setdefault(session, []).append(snippet)
        if snippet.index not in wanted.get(page, {}):
            continue
        pyodide = in_pyodide[(page, snippet.index)]
        missing = missing_name(pyodide.message)
        if any(may_explain(e, snippet, None, missing) for e in lacking.get(session, ())):
            continue
        key = keys.get((page, snippet.index))
        if key:
            cache.put(_key(key, config), {"cpython": raw})
        if (verdict := _verdict(pyodide, raw, provided)) is not None:
            verdicts[(page, snippet.index)] = verdict
    return verdicts


def _verdict(
    pyodide: SnippetResult, raw: dict[str, Any], provided: Callable[[str], bool]
) -> SnippetResult | None:
    """This Python's verdict from its executor result; ``None``: it could not judge. An example
    past its timeout here after timing out in the browser is a ``timeout`` verdict: still no
    failure (a slow example may pass in the doctest builder given time), but said (soupsieve
    2.5's ``.selectors.pretty()`` hangs in CPython 3.11 too; the reason did not say so)."""
    error = raw.get("error")
    if (
        isinstance(error, dict)
        and error.get("type") == "CPythonTimeout"
        and pyodide.status is Status.TIMEOUT
    ):
        return SnippetResult(pyodide.snippet, Status.TIMEOUT, f"it times out in {PYTHON} too")
    if (
        not raw.get("ok")
        and isinstance(error, dict)
        and str(error.get("type")) in UNJUDGED
        and not _same_import_error(pyodide, error)
        and not _missing_everywhere(error, provided)
    ):
        return None
    return judge(pyodide.snippet, raw, Recorded())


def _same_import_error(pyodide: SnippetResult, error: dict[str, Any]) -> bool:
    """An import that fails in Pyodide and here alike (a module in no package, a typo:
    ``from collections import OrderdDict``) is a verdict: the docs are broken, as the doctest
    builder says; it stayed static and passed. Only one that fails here alone, or for another
    name, says this Python lacks something the site installs (the project as a wheel)."""
    kind = str(error.get("type"))
    if kind not in IMPORT_ERRORS or pyodide.exception != kind:
        return False
    here = f"{kind}: {one_line(str(error.get('message', '')))}"
    return _import_said(here) == _import_said(pyodide.message.partition("\n")[0])


def _missing_everywhere(error: dict[str, Any], provided: Callable[[str], bool]) -> bool:
    """A module this Python lacks that the reader's runtime has not either (no package of the
    site's, nor Pyodide's own): a verdict, as the doctest builder says, also when Pyodide's
    first failure was another example (zope.component's ``ZODB``, after an import only this
    Python can do, stayed static and the check passed)."""
    missing = _missing_module(error)
    return missing is not None and not provided(missing)


def _import_said(message: str) -> str:
    """An import error's message without what differs between Pythons: the file it names at the
    end (``cannot import name 'X' from 'm' (/path/to/m.py)``) and the count of more failures."""
    return _FROM_FILE.sub("", _MORE.sub("", message))


#: the import errors :func:`_same_import_error` may take as a verdict
IMPORT_ERRORS = frozenset({"ModuleNotFoundError", "ImportError"})
#: the file an ``ImportError`` names at its end
_FROM_FILE = re.compile(r" \([^()]*\)$")


#: the executor's count of a transcript's other failing examples, right after the first's message
#: (not one quoted in a note about an earlier failure, further on)
_MORE = re.compile(r" \(and \d+ more failing examples?\)")
#: an object's address in a repr
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")


def verdict_line(pyodide: SnippetResult, cpython: SnippetResult) -> str:
    """The message of an example that fails in both: Pyodide's, and this Python's when it
    differs (a reader's browser shows the first)."""
    rest = _beyond(pyodide, cpython)
    if rest is not None:
        if _MORE.match(rest):
            # more examples fail here than there: "too" read as if all of them did (dateutil)
            return f"{pyodide.message} (the first fails in {PYTHON} too, the others only here)"
        return f"{pyodide.message} (fails in {PYTHON} too)"
    return f"{pyodide.message} (in {PYTHON}: {cpython.message})"


def _beyond(pyodide: SnippetResult, cpython: SnippetResult) -> str | None:
    """What Pyodide's message says after this Python's when both failed alike (the check may
    have added why after it), an object's address aside, which differs from one Python to the
    other (zope.viewlet: 20 "(in CPython: ...)" saying the same but for <... at 0x...>);
    ``None`` when they failed otherwise."""
    mine, theirs = _ADDRESS.sub("0x", pyodide.message), _ADDRESS.sub("0x", cpython.message)
    return mine[len(theirs) :] if mine.startswith(theirs) else None


def failing_in_both(pyodide: SnippetResult, cpython: SnippetResult) -> SnippetResult:
    """*pyodide*'s failure, judged by this Python's (:func:`verdict_line`); when this Python
    failed otherwise, its report follows Pyodide's traceback: the author's fix is there
    (lazr.enum's whitespace mismatch was told as the NameError a missing package left in
    Pyodide, with no Expected/Got)."""
    message = verdict_line(pyodide, cpython)
    traceback = pyodide.traceback
    if _beyond(pyodide, cpython) is None and cpython.traceback.strip():
        traceback = f"{traceback.rstrip()}\n\nIn {PYTHON}:\n{cpython.traceback}".lstrip("\n")
    return replace(pyodide, message=message, traceback=traceback)


def _key(pyodide_key: str, config: PyrunConfig) -> str:
    """The answer's cache key: the example's, this Python, the folders ``path`` puts first on
    its ``sys.path`` (one added where an import failed makes an example judged that was not;
    the cached "could not judge" stayed), the folder it runs in, and the distributions installed
    in this Python's site folders. Not the rest of ``sys.path``, which differs between a build
    and ``pyrun-docs check`` (each would ask again)."""
    paths = "|".join(_path_folders(config))
    # and the folder it runs in: an example reading a file by a relative path fails or not
    # (zope.exceptions' docs kept "failed" from another folder, where it was static)
    text = f"{pyodide_key}|cpython|{sys.version}|{sys.executable}|{paths}|{os.getcwd()}"
    text += f"|{_installed(tuple(sys.path))}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=4)
def _installed(path: tuple[str, ...]) -> str:
    """A digest of the distributions (name and version) in the site folders of *path*: an
    answer depends on them beyond imports (PyJWT's "Do you have cryptography installed?" from
    its own ``except ImportError`` still "failed in CPython too" after ``pip install
    cryptography``). Listing the folders takes a millisecond; no metadata is read."""
    names: list[str] = []
    for entry in path:
        if os.path.basename(entry) not in ("site-packages", "dist-packages"):
            continue
        try:
            names += sorted(n for n in os.listdir(entry) if n.endswith(_DISTRIBUTIONS))
        except OSError:
            continue
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:16]


#: what names an installed distribution in a site folder (with its version)
_DISTRIBUTIONS = (".dist-info", ".egg-info", ".egg-link", ".pth")


def _path_folders(config: PyrunConfig) -> list[str]:
    """The folders ``path`` (``doctest_path``) puts on the examples' ``sys.path``."""
    return [os.path.abspath(str(p)) for p in config.path]


def _sys_path(config: PyrunConfig) -> list[str]:
    """The doctest builder's ``sys.path``: ``doctest_path`` (``path``) first, then the build's."""
    return _path_folders(config) + [p for p in sys.path if p]


def _cached(
    cache: ResultCache, pyodide_key: str | None, config: PyrunConfig
) -> dict[str, Any] | None:
    if not pyodide_key:
        return None
    entry = cache.get(_key(pyodide_key, config))
    raw = entry.get("cpython") if entry else None
    return raw if isinstance(raw, dict) and not _import_may_work_now(raw, config) else None


def _import_may_work_now(raw: dict[str, Any], config: PyrunConfig) -> bool:
    """Whether a kept answer that an import failed may no longer hold: it depends on what this
    Python has installed, which the key does not name (bleach's docs still "failed in CPython
    too" after ``pip install tinycss2``, while the doctest builder passed). A module still not
    found keeps it (no Python is started for it); any other import error is asked again."""
    error = raw.get("error")
    if raw.get("ok") or not isinstance(error, dict) or error.get("type") not in IMPORT_ERRORS:
        return False
    top = _missing_module(error)
    if top is None:
        return True
    return importlib.machinery.PathFinder.find_spec(top, _sys_path(config)) is not None or (
        top in sys.builtin_module_names
    )


def _missing_module(error: dict[str, Any]) -> str | None:
    """The top-level module an executor's import error says is missing (``No module named
    'a.b'``: ``a``); ``None`` for another error."""
    if str(error.get("type")) not in IMPORT_ERRORS:
        return None
    return missing_module(str(error.get("message", ""))).split(".")[0] or None


def missing_module(text: str) -> str:
    """The (dotted) module a ``ModuleNotFoundError`` in *text* names (``No module named
    'a.b'``: ``a.b``), or a namespace package's missing part (``from zope import size``:
    "cannot import name 'size' from 'zope' (unknown location)", ``zope.size``); ``""`` when
    there is none."""
    found = NO_MODULE.search(text)
    if found:
        return found.group(1)
    part = NO_PART.search(text)
    return f"{part.group(2)}.{part.group(1)}" if part else ""


#: the message of a ``ModuleNotFoundError``
NO_MODULE = re.compile(r"No module named '([^']+)'")
#: a name imported from a namespace package (no ``__init__``: its location is unknown)
NO_PART = re.compile(r"cannot import name '(\w+)' from '([\w.]+)' \(unknown location\)")


def _run_all(
    jobs: Sequence[tuple[str, list[Run]]], config: PyrunConfig, problems: list[str]
) -> list[tuple[str, Run, dict[str, Any]]]:
    """Every run's raw executor result that came back. A run past its timeout ends the
    subprocess: the rest of its page goes unjudged, the next page starts a new one."""
    done: list[tuple[str, Run, dict[str, Any]]] = []
    left = list(jobs)
    while left:
        left = _run_some(left, config, done, problems)
    return done


def _run_some(
    jobs: Sequence[tuple[str, list[Run]]],
    config: PyrunConfig,
    done: list[tuple[str, Run, dict[str, Any]]],
    problems: list[str],
) -> list[tuple[str, list[Run]]]:
    """Run *jobs* in one subprocess, adding each answer to *done*; return the pages after the
    one where it stopped answering (that page's remaining runs go unjudged), ``[]`` when all
    answered or it could not run at all. Why it ended early goes to *problems*: its examples
    then stay plain blocks unjudged, which said nothing (Pint's nine failing examples were all
    "static" once, the subprocess gone at its start)."""
    request = {
        "pages": [[run.request() for run in runs] for _, runs in jobs],
        "output_limit": config.output_limit,
    }
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(_sys_path(config)))
    errors = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pyrun_docs.check.cpython"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
        )
    except OSError as exc:
        errors.close()
        problems.append(f"{_NOT_ASKED}: {exc}")
        return []
    assert proc.stdin is not None and proc.stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    try:
        proc.stdin.write(json.dumps(request).encode("utf-8"))
        proc.stdin.close()
        for number, (page, runs) in enumerate(jobs):
            for run in runs:
                timeout = run.snippet.options.timeout or config.timeout
                try:
                    line = lines.get(timeout=timeout + 2)
                except queue.Empty:  # past its timeout: unjudged, remembered, the page stops here
                    message = f"still running after {timeout:g} s"
                    done.append(
                        (page, run, {"ok": False, "error": _error("CPythonTimeout", message)})
                    )
                    return list(jobs[number + 1 :])
                if not line:  # the subprocess ended (crashed, ``os._exit``)
                    proc.wait()
                    why = _last_line(errors) or f"exit status {proc.returncode}"
                    where = run.snippet.location
                    problems.append(f"{_NOT_ASKED}: it ended while running {where}: {why}")
                    return list(jobs[number + 1 :])
                answer = well_formed_json(line)  # its messages are shown and written
                raw = answer.get("raw")
                if isinstance(raw, dict):
                    done.append((page, run, raw))
        return []
    except (OSError, ValueError):
        return []
    finally:
        proc.kill()
        proc.wait()
        errors.close()


#: said of examples this Python could not be asked about
_NOT_ASKED = (
    f"{PYTHON} (asked whether examples failing in the browser fail there too) stopped "
    "answering; the examples it did not judge stay plain blocks"
)


def _last_line(stream: IO[bytes]) -> str:
    """The last line a subprocess wrote to *stream* (a file): its error's."""
    stream.seek(0)
    lines = stream.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": kind, "message": message, "traceback": f"{kind}: {message}\n", "line": None}


def _pump(stream: IO[bytes], lines: queue.Queue[bytes]) -> None:
    with stream:
        for line in iter(stream.readline, b""):
            lines.put(line)
    lines.put(b"")


# --- the subprocess ---------------------------------------------------------------------------


if TYPE_CHECKING:  # asyncio is the subprocess's: the check imports this module, ~20 ms less
    import asyncio


def _drive(running: Coroutine[Any, Any, str], loop: asyncio.AbstractEventLoop) -> str:
    """Run an executor coroutine as the doctest builder runs examples: outside any running event
    loop, so an example's own ``asyncio.run()`` works (under ``run_until_complete`` it raised
    "cannot be called from a running event loop", and a failure the browser alone had was taken
    for the docs' own); only what awaits (top-level ``await``) continues in *loop*."""
    import asyncio

    try:
        waiting = running.send(None)
    except StopIteration as done:
        return str(done.value)

    async def rest() -> str:  # what a Task does with the future a coroutine yields
        nonlocal waiting
        while True:
            if waiting is None:  # a bare ``yield`` (``asyncio.sleep(0)``)
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False
                await asyncio.wait([waiting])  # its result is taken where it was awaited
            try:
                waiting = running.send(None)
            except StopIteration as done:
                return str(done.value)

    return loop.run_until_complete(rest())


def main() -> None:
    """Run the pages read from stdin through the executor; one JSON line per run on stdout.

    The examples' own writes to file descriptor 1 go to stderr: the answers have the real one."""
    import asyncio

    from pyrun_docs.executor import Executor

    request = json.load(sys.stdin)
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, encoding="utf-8")  # no stdin, as in the check
    # one event loop for every run, as the browser and the check have one: a session's
    # asyncio objects made by one example still work in the next
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for runs in request["pages"]:
        executor = Executor(lambda _text: None, output_limit=int(request["output_limit"]))
        for run in runs:
            kwargs: dict[str, Any] = {
                "run_id": run["run"],
                "session": run["session"],
                "filename": run["filename"],
                "raises": run["raises"],
                "stdin": run["stdin"],
                "module": run["module"],
                "docstring": run.get("docstring"),
            }
            if run["transcript"]:
                kwargs.update(
                    flags=run["flags"],
                    want=run["want"],
                    echo=bool(run["echo"]),
                    main=bool(run.get("main")),
                )
                running = executor.run_transcript(run["code"], **kwargs)
            else:
                running = executor.run(run["code"], **kwargs)
            try:
                raw = json.loads(_drive(running, loop))
            except BaseException as exc:  # an example that ends the loop itself
                raw = {"ok": False, "error": _error(type(exc).__name__, str(exc))}
            answers.write(json.dumps({"run": run["run"], "raw": raw}) + "\n")
            answers.flush()


if __name__ == "__main__":
    main()
