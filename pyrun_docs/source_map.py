"""Where a line of a page as rendered was written in the page's source.

Other Markdown tools put text into a page that its source does not show: pymdownx.snippets
replaces a ``--8<-- "file"`` line (also inside a fence) with the file, the include-markdown plugin
an ``{% include %}``, mkdocs-macros a ``{{ ... }}``. An example found in the rendered text is
reported at the source line it came from: its own line when the line is still there, else the
line that brought it in (the include), which is what the author can open and fix.
"""

from __future__ import annotations

from bisect import bisect_right
from difflib import SequenceMatcher


class SourceMap:
    """Maps 1-based lines of *rendered* to 1-based lines of *source*, by aligning their lines."""

    def __init__(self, source: str, rendered: str) -> None:
        #: the source's lines, 0-based
        self.source_lines = source.split("\n")
        # blank lines match anywhere: they do not anchor an alignment (a blank line of the
        # front matter was matched instead of the fence after it), only extend one
        matcher = SequenceMatcher(_blank, self.source_lines, rendered.split("\n"), autojunk=False)
        self._blocks = matcher.get_opcodes()
        self._starts = [j1 for _, _, _, j1, _ in self._blocks]

    def span(self, rendered_line: int) -> tuple[int, int]:
        """The source lines (first, last) *rendered_line* came from: the line itself, or all the
        lines an include replaced (a ``{% include-markdown "x.md" %}`` written over three)."""
        first = self.line(rendered_line)
        index = bisect_right(self._starts, rendered_line - 1) - 1
        if index < 0:
            return first, first
        tag, i1, i2, j1, j2 = self._blocks[index]
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            return first, first
        return first, max(i2, first)

    def exact(self, rendered_line: int) -> bool:
        """Whether *rendered_line* is a line of the source itself (not one an include put)."""
        index = bisect_right(self._starts, rendered_line - 1) - 1
        return index >= 0 and self._blocks[index][0] == "equal"

    def line(self, rendered_line: int) -> int:
        """The source line of *rendered_line*: the same line, or the line that brought it in
        (the ``--8<--`` line a whole included file replaced)."""
        at = rendered_line - 1
        index = bisect_right(self._starts, at) - 1
        if index < 0:
            return 1
        tag, i1, i2, j1, j2 = self._blocks[index]
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            # the same line, or one rewritten in place (a fence header made readable)
            return i1 + (at - j1) + 1
        # inserted, or lines replaced by others (an include): the first line it replaced, or for
        # a pure insertion the line before it
        return max(i1 + (1 if tag == "replace" else 0), 1)


def _blank(line: str) -> bool:
    return not line.strip()
