"""Counted nouns for messages people read: ``1 page``, ``2 pages``, ``1 process``.

Why a helper: "1 pages" and "1 interpreters" in a summary read as a bug, and every message that
counts something would otherwise spell its own plural rule.
"""

from __future__ import annotations

#: plurals that are not the noun plus "s"
_IRREGULAR = {"process": "processes", "is": "are", "was": "were"}


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``"1 page"``, ``"0 pages"``, ``"3 processes"``: *count* and *noun* in the right number."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {plural_form or _IRREGULAR.get(noun, noun + 's')}"
