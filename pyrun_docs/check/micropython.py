"""MicroPython snippets in the check: planned like Pyodide's, run by ``harness_micropython.mjs``.

The harness boots the pinned MicroPython under Node and runs snippets through the browser's own
MicroPython host (``assets/pyrun-micropython.js``) and the shared executor, so the verdict is what a
reader of a ``runtime: micropython`` widget gets. Pages, sessions, hidden setup, transcripts,
``raises``, timeouts and the result cache work as for Pyodide; MicroPython loads no packages.

A snippet that fails only because MicroPython lacks something CPython has (a standard-library module
such as ``dataclasses``, ``typing`` or ``enum``; syntax such as ``match``) fails with a message that
says so and suggests ``runtime: pyodide``. The executor adds that hint from the error itself; here
a ``SyntaxError`` is also checked against CPython, which knows whether the code is valid Python.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pyrun_docs.assets import MICROPYTHON_HOST_NAME, assets_dir, executor_path
from pyrun_docs.config import PyrunConfig
from pyrun_docs.fetch import ensure_runtime
from pyrun_docs.mpy import compiled_executor
from pyrun_docs.runtime import get_pin
from pyrun_docs.snippet import Snippet

from .cache import ResultCache
from .harness import HARNESS_IO_PATH, MICROPYTHON_HARNESS_PATH
from .plan import (
    cache_key,
    engine_digest,
    localized,
    session_chains,
    unit_of,
    unit_runs,
)
from .results import SnippetResult, Status
from .verdict import cached_output, judge, problem

if TYPE_CHECKING:
    from .pool import PageJob

RUNTIME = "micropython"
ADVICE = "use `runtime: pyodide` for this example"


def host_path() -> str:
    """The browser's MicroPython host module, which the harness imports."""
    return str(assets_dir() / MICROPYTHON_HOST_NAME)


def engine() -> str:
    """A digest of what judges a MicroPython snippet (pin, executor, host, harness)."""
    pin = get_pin(RUNTIME)
    return engine_digest(
        pin.key,
        pin.integrity,
        executor_path().read_bytes(),
        compiled.read_bytes() if (compiled := compiled_executor()) else b"",
        (assets_dir() / MICROPYTHON_HOST_NAME).read_bytes(),
        MICROPYTHON_HARNESS_PATH.read_bytes(),
        HARNESS_IO_PATH.read_bytes(),
    )


def harness_init(config: PyrunConfig) -> dict[str, Any]:
    """The MicroPython harness's ``init`` message (fetches and verifies the pinned runtime).

    Raises:
        RuntimeFetchError: the runtime cannot be fetched or verified.
    """
    runtime = ensure_runtime(get_pin(RUNTIME))
    return {
        "runtimeDir": str(runtime) + os.sep,
        "executor": str(executor_path()),
        "executorMpy": str(compiled) if (compiled := compiled_executor()) else None,
        "host": host_path(),
        "outputLimit": config.output_limit,
    }


def plan_jobs(
    pages: dict[str, list[Snippet]],
    everything: dict[str, list[Snippet]],
    config: PyrunConfig,
    cache: ResultCache,
    keys: dict[tuple[str, int], str],
    settle: Callable[[str, SnippetResult], None],
) -> list[PageJob]:
    """Answer what the cache knows; return one job per page for the rest of its MicroPython
    snippets (a session re-runs whole when one of its snippets changed)."""
    from .pool import PageJob

    jobs: list[PageJob] = []
    digest = engine() if pages else ""
    for page, snippets in pages.items():
        runnable: set[int] = set()
        for snippet in snippets:
            if snippet.options.packages:
                message = (
                    f"not checked: MicroPython loads no packages ({', '.join(snippet.options.packages)}); "
                    + ADVICE
                )
                settle(page, problem(snippet, Status.ERROR, message))
            else:
                runnable.add(snippet.index)
        stale: set[object] = set()
        hits: list[tuple[Snippet, dict[str, Any]]] = []
        chains = session_chains(everything[page], config)
        for snippet in snippets:
            if snippet.index not in runnable:
                continue
            chain = chains[snippet.index]
            key = cache_key(
                snippet, chain, engine=digest, packages=(), flags=config.transcript_flags
            )
            keys[(page, snippet.index)] = key
            hit = cache.get(key)
            if hit is not None and isinstance(hit.get("raw"), dict):
                hits.append((snippet, localized(hit, snippet)))
            else:
                stale.add(unit_of(snippet, config))
        for snippet, hit in hits:
            if unit_of(snippet, config) not in stale:
                settle(page, judge(snippet, hit["raw"], cached_output(hit), cached=True))
        runs = unit_runs(everything[page], config, stale, runnable)
        if runs:
            jobs.append(PageJob(page, runs, runtime=RUNTIME))
    return jobs


def explain_limitation(snippet: Snippet, raw: dict[str, Any]) -> dict[str, Any]:
    """Say so when a MicroPython ``SyntaxError`` is code that CPython accepts.

    The executor already marks missing modules and the syntax it recognises; this catches the rest
    of what MicroPython's parser refuses (CPython compiles the snippet here to tell).
    """
    error = raw.get("error")
    if raw.get("ok") or not isinstance(error, dict) or error.get("type") != "SyntaxError":
        return raw
    if "MicroPython limitation" in str(error.get("message", "")):
        return raw
    if not _valid_python(snippet):
        return raw
    hint = f"a MicroPython limitation: MicroPython does not support this syntax; {ADVICE}"
    error = {
        **error,
        "message": f"{error.get('message', '')} ({hint})",
        "traceback": f"{error.get('traceback', '')}\n{hint}\n",
    }
    return {**raw, "error": error}


def _valid_python(snippet: Snippet) -> bool:
    """Whether CPython compiles the snippet (each example of a transcript on its own)."""
    from pyrun_docs.executor import parse_transcript

    sources: Sequence[tuple[str, str]]
    if snippet.is_transcript:
        try:
            sources = [(e.source, "single") for e in parse_transcript(snippet.code)]
        except ValueError:  # doctest cannot parse it: the executor reports that, not a limitation
            return True
    else:
        sources = [(snippet.code, "exec")]
    flags = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for source, mode in sources:
            try:
                compile(source, "<snippet>", mode, flags=flags, dont_inherit=True)
            except (SyntaxError, ValueError):
                return False
    return True
