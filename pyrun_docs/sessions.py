"""Sessions: which snippets share a namespace, and in what order a reader's clicks run them.

The browser, the build check and the take-away files all follow the same model: snippets of one
``session`` (on one runtime) share a namespace in page order, hidden setup snippets of a session
(:func:`is_setup`) run before any of its other ones, and a snippet without a session runs on its
own.
"""

from __future__ import annotations

from collections.abc import Sequence

from .config import PyrunConfig
from .snippet import UNTESTED, Snippet

SessionKey = tuple[str, str]


def runs_aside(snippet: Snippet) -> bool:
    """Whether *snippet* is in a session of blocks the doctest builder never runs (:data:`UNTESTED`)."""
    return (snippet.options.session or "").endswith(UNTESTED)


def runtime_of(snippet: Snippet, config: PyrunConfig) -> str:
    return snippet.options.runtime or config.runtime


def is_setup(snippet: Snippet) -> bool:
    """A hidden setup snippet: it runs before every visible snippet of its session. A hidden
    snippet marked ``in_order`` (a doctest block with ``:hide:``) is an example that runs where
    it is written, as the doctest builder runs it (run first, ``>>> x`` before ``>>> x = 1``
    failed)."""
    return snippet.options.hidden and not snippet.options.in_order


def session_key(snippet: Snippet, config: PyrunConfig) -> SessionKey | None:
    """The namespace a snippet shares: its session on its runtime (``None``: on its own)."""
    if snippet.options.session is None:
        return None
    return (runtime_of(snippet, config), snippet.options.session)


def session_members(
    snippet: Snippet, page: Sequence[Snippet], config: PyrunConfig
) -> list[Snippet]:
    """What runs when a reader runs *snippet*, in order, ending with *snippet* itself."""
    key = session_key(snippet, config)
    if key is None:
        return [snippet]
    same = [s for s in page if session_key(s, config) == key]
    upto = next(i for i, s in enumerate(same) if s.index == snippet.index)
    hidden = [s for s in same if is_setup(s)]
    if is_setup(snippet):
        return hidden[: next(i for i, s in enumerate(hidden) if s.index == snippet.index) + 1]
    return hidden + [s for s in same[: upto + 1] if not is_setup(s)]


def session_chains(page: Sequence[Snippet], config: PyrunConfig) -> dict[int, list[Snippet]]:
    """:func:`session_members` of every snippet of *page*, by index, in one pass over the page:
    asked snippet by snippet, a page of one session (a Sphinx page of doctest blocks) took time
    quadratic in its length (400 examples: 320,000 session keys)."""
    sessions: dict[SessionKey, list[Snippet]] = {}
    chains: dict[int, list[Snippet]] = {}
    for snippet in page:
        key = session_key(snippet, config)
        if key is None:
            chains[snippet.index] = [snippet]
        else:
            sessions.setdefault(key, []).append(snippet)
    for same in sessions.values():
        hidden = [s for s in same if is_setup(s)]
        rest: list[Snippet] = []
        setups = 0
        for snippet in same:
            if is_setup(snippet):
                setups += 1
                chains[snippet.index] = hidden[:setups]
            else:
                rest.append(snippet)
                chains[snippet.index] = hidden + rest
    return chains


def execution_order(page: Sequence[Snippet], config: PyrunConfig) -> list[Snippet]:
    """Every snippet of *page* in the order a reader running each widget top to bottom runs them."""
    ordered = sorted(page, key=lambda s: s.index)
    chains = session_chains(ordered, config)
    seen: set[int] = set()
    order: list[Snippet] = []
    for snippet in ordered:
        for member in chains[snippet.index]:
            if member.index not in seen:
                seen.add(member.index)
                order.append(member)
    return order


def unit_of(snippet: Snippet, config: PyrunConfig) -> SessionKey | int:
    """What must re-run together: a whole session, or one snippet without a session."""
    return session_key(snippet, config) or snippet.index
