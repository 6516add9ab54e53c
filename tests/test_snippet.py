"""Snippet helpers: code normalisation, transcripts and line mapping."""

from __future__ import annotations

import pytest

from pyrun_docs.errors import OptionError
from pyrun_docs.executor import transcript_source
from pyrun_docs.snippet import Snippet, normalize_code


def test_normalize_dedents_and_counts_leading_blank_lines() -> None:
    code, skipped = normalize_code("\n\n    x = 1\n    print(x)\n\n")
    assert code == "x = 1\nprint(x)\n"
    assert skipped == 2


def test_a_transcript_is_normalized_as_doctest_reads_it() -> None:
    """A transcript's expected output keeps its last line's trailing spaces (a Markdown hard
    break: soupsieve's examples failed in doctest and passed here), and its tabs are 8
    columns wide, as doctest expands them (4 failed an example doctest passes)."""
    code, _ = normalize_code("  >>> print('a  ')\n  a  \n\n")
    assert code == ">>> print('a  ')\na  \n"
    code, _ = normalize_code('>>> s = "a\tb"\n>>> len(s)\n8\n')
    assert code.splitlines()[0] == '>>> s = "a      b"'
    assert normalize_code("x = 1  \n")[0] == "x = 1\n"  # code: its line's end is nothing


@pytest.mark.parametrize("code", ["", "\n  \n", "   "])
def test_empty_snippet_is_an_error(code: str) -> None:
    with pytest.raises(OptionError, match="empty pyrun snippet"):
        normalize_code(code)


def test_transcript_source_strips_prompts_and_outputs() -> None:
    code = ">>> x = 1\n>>> for i in range(2):\n...     print(i)\n0\n1\n>>> x\n1\n"
    assert transcript_source(code) == "x = 1\nfor i in range(2):\n    print(i)\nx\n"
    snip = Snippet(code=code, path="a.rst", line=10, page="a", index=0)
    assert snip.is_transcript
    assert snip.source.startswith("x = 1")


def test_source_line_maps_snippet_lines_to_the_file() -> None:
    snip = Snippet(code="a\nb\n", path="docs/a.rst", line=10, page="a", index=3)
    assert snip.source_line(1) == 10
    assert snip.source_line(2) == 11
    assert snip.location == "docs/a.rst:10"
    assert snip.element_id == "pyrun-3"


def test_digest_changes_with_code() -> None:
    a = Snippet(code="a\n", path="p", line=1, page="p", index=0)
    b = Snippet(code="b\n", path="p", line=1, page="p", index=0)
    assert a.digest != b.digest and len(a.digest) == 16
