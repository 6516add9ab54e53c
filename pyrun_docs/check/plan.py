"""Which snippets run, in which order, and what a result depends on.

The order reproduces the browser (``sessionMembers`` in ``assets/pyrun.js``): running a snippet first
runs the snippets of its session that have not run yet: all hidden setup snippets of the session,
then the visible ones above it, in document order. The check does what a reader does who runs every
widget from the top of the page to the bottom. Snippets without a session run on their own.

The same session chain is what a cached result depends on, so it is also what :func:`cache_key`
hashes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pyrun_docs import doctest_flags
from pyrun_docs.config import PyrunConfig
from pyrun_docs.executor import DEFAULT_FLAGS
from pyrun_docs.options import SnippetOptions, options_to_dict
from pyrun_docs.sessions import (
    SessionKey,
    execution_order,
    runs_aside,
    runtime_of,
    session_chains,
    session_key,
    session_members,
    unit_of,
)
from pyrun_docs.snippet import Snippet

__all__ = [
    "SessionKey",
    "execution_order",
    "runtime_of",
    "session_chains",
    "session_key",
    "session_members",
    "unit_of",
]

#: bump when the meaning of a cached result changes
CACHE_FORMAT = 4  # 2: tracebacks stored position-independent (<example ?>); 3: doctest judges;
#: 4: outputs kept as the widget keeps them (text tail, rich output) for the verified output


@dataclass(frozen=True)
class Run:
    """One snippet to run in the harness.

    ``report`` is False for a replay: after an interpreter was killed (timeout) or ended (``os._exit``),
    the earlier snippets of a session run again, unreported, to rebuild its state.
    """

    snippet: Snippet
    report: bool = True
    #: the doctest option flags a transcript is judged with (:func:`transcript_flags`)
    flags: tuple[str, ...] = DEFAULT_FLAGS
    #: a transcript runs with ``__name__ == "__main__"`` (``PyrunConfig.doctest_main``)
    main: bool = False

    @property
    def run_id(self) -> str:
        return str(self.snippet.index)

    def request(self) -> dict[str, object]:
        """The harness's ``runs`` entry; the filename is the browser's (``<example N>``)."""
        snippet = self.snippet
        return {
            "run": self.run_id,
            "code": snippet.code,
            "session": snippet.options.session,
            "filename": example_filename(snippet),
            "raises": snippet.options.raises,
            "stdin": None if snippet.options.stdin is None else json.dumps(snippet.options.stdin),
            "transcript": snippet.judged_by_doctest,
            # a transcript's examples echoed with their prompts, as the reader's console view shows
            # them (the verified output under the widget); no effect on the verdict
            "echo": snippet.is_transcript,
            "flags": " ".join(self.flags),
            "main": self.main,
            "want": snippet.expected,
            "module": snippet.options.module,
            "docstring": snippet.options.docstring,
        }


def unit_runs(
    page: Sequence[Snippet],
    config: PyrunConfig,
    units: set[object],
    runnable: set[int] | None = None,
) -> list[Run]:
    """The runs that rebuild *units* of *page* (whole sessions, or snippets on their own: see
    :func:`unit_of`) in the order a reader runs them; with *runnable*, only those snippets."""
    order = execution_order(page, config)
    # the sessions of blocks the doctest builder never runs last: what they change beyond their
    # namespace (``os.environ``: flufl.i18n's ``::`` block set ``LANG``) is not seen by the
    # examples that builder judges, as it never was there (sessions never share members, so
    # each keeps its order)
    order = [s for s in order if not runs_aside(s)] + [s for s in order if runs_aside(s)]
    return [
        Run(s, flags=transcript_flags(s, config), main=config.doctest_main)
        for s in order
        if unit_of(s, config) in units and (runnable is None or s.index in runnable)
    ]


def transcript_flags(snippet: Snippet, config: PyrunConfig) -> tuple[str, ...]:
    """The doctest flags for *snippet* (:func:`pyrun_docs.doctest_flags.transcript_flags`)."""
    return doctest_flags.transcript_flags(
        config.transcript_flags, snippet.options.flags, snippet.code
    )


def example_filename(snippet: Snippet) -> str:
    """The name tracebacks use for a snippet, as in the browser."""
    return f"<example {snippet.index + 1}>"


def cache_key(
    snippet: Snippet,
    chain: Iterable[Snippet],
    *,
    engine: str,
    packages: Sequence[str],
    flags: Sequence[str] = DEFAULT_FLAGS,
    main: bool = False,
) -> str:
    """A content hash of everything a snippet's result depends on.

    Args:
        snippet: the snippet judged.
        chain: its session members (``session_members``), itself last.
        engine: a digest of the runtime pin, the executor and the harness (:func:`engine_digest`).
        packages: the packages loaded for it (names; their wheels' hashes are in the pinned lock file,
            which *engine* covers).
        flags: the site's doctest flags (a snippet's own ``options`` are in the chain).
        main: transcripts run with ``__name__ == "__main__"`` (a key of its own only then: the
            keys of Sphinx sites stay as they were).

    Locations are left out on purpose: moving a snippet down a page does not re-run it.
    """
    payload = {
        "format": CACHE_FORMAT,
        "engine": engine,
        "packages": sorted(packages),
        "chain": [[s.code, _options_view(s.options), s.expected] for s in chain],
        "transcript": snippet.is_transcript,
        "flags": sorted(flags),  # a set: Sphinx's integer and a written list order them apart
    }
    if main:
        payload["main"] = True
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: options object's id -> (the object, its :func:`options_to_dict` view)
_VIEWS: dict[int, tuple[SnippetOptions, dict[str, Any]]] = {}


def _options_view(options: SnippetOptions) -> dict[str, Any]:
    """:func:`options_to_dict`, once per options object: a page's chains repeat every earlier
    member (a page of 400 examples in one session: 80,000 members). Found by identity, not
    equality (comparing two options field by field cost as much as making the view). Only
    serialized, never changed."""
    found = _VIEWS.get(id(options))
    if found is not None and found[0] is options:
        return found[1]
    if len(_VIEWS) > 8192:
        _VIEWS.clear()
    view = options_to_dict(options)
    _VIEWS[id(options)] = (options, view)
    return view


def engine_digest(*parts: str | bytes) -> str:
    """A digest of the things that judge a snippet (pin, executor source, harness source...)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


SELF = "<example ?>"


def portable(cached: dict[str, Any], snippet: Snippet) -> dict[str, Any]:
    """A cache entry that does not depend on the snippet's position on its page.

    The key ignores the position, so the snippet's own ``<example N>`` is stored as ``<example ?>``
    and put back as the current one when the entry is used (:func:`localized`).
    """
    return _swap_name(cached, example_filename(snippet), SELF)


def localized(cached: dict[str, Any], snippet: Snippet) -> dict[str, Any]:
    return _swap_name(cached, SELF, example_filename(snippet))


def _swap_name(cached: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    raw = cached.get("raw")
    if not isinstance(raw, dict):
        return cached
    error = raw.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("traceback"), str):
        return cached
    error = {**error, "traceback": error["traceback"].replace(f'"{old}"', f'"{new}"')}
    return {**cached, "raw": {**raw, "error": error}}
