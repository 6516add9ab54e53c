"""The core unit: one runnable example, wherever it was written.

Both adapters build a :class:`Snippet` and nothing else; rendering, the build check and the reports
work only with snippets, which is what keeps the frameworks thin and identical.
"""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import dataclass, field

from .errors import OptionError
from .executor import Example, parse_transcript, transcript_source
from .options import SnippetOptions

PROMPT = ">>> "


#: after a doctest group's name, the session of its blocks the doctest builder never runs (a
#: ``pycon`` code block, a ``::`` literal block; :mod:`pyrun_docs.upgrade`): what they set is not
#: seen by the examples that builder judges
UNTESTED = " (blocks the doctest builder does not run)"


@dataclass(frozen=True)
class Snippet:
    """A code example with its place in the docs.

    Attributes:
        code: the source as the author wrote it (a ``>>>`` transcript stays a transcript).
        path: the source document, relative to the docs root where possible (for ``file:line``).
        line: the 1-based line in *path* of the code's first line.
        page: the page it appears on (Sphinx docname or MkDocs page path); sessions are per page.
        index: its order on the page, from 0.
        options: validated options.
        expected: the output the code must print (a ``testcode`` block's ``testoutput``), judged
            by doctest's output checker; ``None``: none is compared.
        origin: ``"pyrun"`` (written as a pyrun block) or ``"upgrade"`` (an existing example the
            ``upgrade`` setting turned into a snippet; one that fails may stay a static block).
        tested: of an upgraded transcript, whether the docs' own doctest run runs it too: the
            doctest builder never runs a ``pycon`` code block or a ``::`` literal block, so the
            check does not run one again in the build's Python (:mod:`pyrun_docs.check.cpython`),
            where it is not sandboxed (fs's examples wrote into the home folder).
        lines_exact: the code's lines are those of *path* from *line* on; ``False`` for one an
            include put there from a file not known (a hook's): every line of it is reported at
            *line*, the include's (its failures were reported past the end of the page).
    """

    code: str
    path: str
    line: int
    page: str
    index: int
    options: SnippetOptions = field(default_factory=SnippetOptions)
    expected: str | None = None
    origin: str = "pyrun"
    lines_exact: bool = True
    tested: bool = True

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def element_id(self) -> str:
        """The HTML id of the widget, unique on its page."""
        return f"pyrun-{self.index}"

    @property
    def is_transcript(self) -> bool:
        return is_transcript(self.code)

    @property
    def examples(self) -> list[Example] | None:
        """Its doctest examples (:func:`pyrun_docs.executor.parse_transcript`); ``None`` when it
        is no transcript, or one doctest cannot parse (the check reports that at its line)."""
        try:
            return parse_transcript(self.code) if self.is_transcript else None
        except ValueError:
            return None

    @property
    def source(self) -> str:
        """The code a reader edits and runs: a transcript without its prompts and outputs."""
        return transcript_source(self.code) if self.is_transcript else self.code

    @property
    def judged_by_doctest(self) -> bool:
        """A transcript, or code with an expected output: doctest judges it."""
        return self.is_transcript or self.expected is not None

    @property
    def skips_examples(self) -> bool:
        """Whether its own ``options`` skip its examples (a doctest directive's ``:options:
        +SKIP``; Sphinx's, for a ``:pyversion:`` the build's Python does not meet)."""
        return ("SKIP", True) in self.options.flags

    @property
    def upgraded(self) -> bool:
        return self.origin == "upgrade"

    @property
    def digest(self) -> str:
        """A short content hash, so the browser can tell when the author changed the snippet."""
        return hashlib.sha256(self.code.encode("utf-8")).hexdigest()[:16]

    def source_line(self, snippet_line: int) -> int:
        """The line in :attr:`path` of line *snippet_line* (1-based) of the code."""
        return self.line + max(snippet_line, 1) - 1 if self.lines_exact else self.line


def normalize_code(code: str) -> tuple[str, int]:
    """Strip common indentation and surrounding blank lines; reject an empty snippet.

    Returns:
        The code, and how many leading lines were dropped (to keep ``file:line`` exact).
    """
    # a transcript as doctest reads it: its tabs are 8 columns, and an expected output's last
    # line keeps its trailing spaces (soupsieve's Markdown hard break failed in doctest only)
    transcript = is_transcript(code)
    text = textwrap.dedent(code.expandtabs(8 if transcript else 4))
    if not text.strip():
        raise OptionError("empty pyrun snippet: write some code under the directive or fence")
    lines = text.split("\n")
    skipped = 0
    while lines and not lines[0].strip():
        lines.pop(0)
        skipped += 1
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines if transcript else [*lines[:-1], lines[-1].rstrip()]) + "\n", skipped


def is_transcript(code: str) -> bool:
    # doctest takes a prompt at any indentation (a block whose first example is indented more
    # than a later one, zope.interface's adapter.rst, was not a transcript)
    first = next((ln for ln in code.splitlines() if ln.strip()), "").lstrip()
    return first.startswith(PROMPT) or first.rstrip() == ">>>"
