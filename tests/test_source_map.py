"""Where a line of a page as rendered (after includes) was written in its source."""

from __future__ import annotations

from pyrun_docs.source_map import SourceMap

SOURCE = """---
title: Credits
---

```pyrun title="x"
--8<-- "gen.py"
```

--8<-- "part.md"

```pycon
>>> 1
1
```
"""


def test_lines_map_to_themselves_or_to_the_line_that_included_them() -> None:
    """The front matter is gone from what MkDocs renders, a leading blank line too; an included
    file's lines map to its ``--8<--`` line, the page's own lines to themselves, also where an
    include replaced the inside of a fence (its header is still the fence's line: a blank line
    of the front matter was taken for it, and the fence was reported as not a widget)."""
    rendered = (
        '```pyrun title="x"\nprint("gen")\n\n```\n\nIncluded.\n\n```pycon\n>>> 2\n2\n```\n\n'
        "```pycon\n>>> 1\n1\n```\n"
    )
    where = SourceMap(SOURCE, rendered)
    lines = rendered.split("\n")
    assert where.line(1) == 5  # the fence whose code an include replaced
    assert where.line(lines.index("Included.") + 1) == 9  # an included file: its --8<-- line
    assert where.line(lines.index(">>> 2") + 1) == 9
    assert where.line(lines.index(">>> 1") + 1) == 12  # the page's own, after the include
