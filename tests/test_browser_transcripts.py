"""``>>>`` transcripts in the reader's browser: judged by doctest as the check judges them.

An unchanged transcript runs through ``doctest`` in the page's Pyodide with the site's flags: every
example is echoed with its prompt and shows its result, as a console does, and a mismatch shows
doctest's own "Expected / Got" and marks that example's line in the code. An edited transcript runs
as typed at the prompt (every expression's value shown).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stored_snapshot import StoredSnapshot
from test_browser import RUN_MS, basic_with_page, click_run, open_page, replace_code

pytestmark = pytest.mark.browser

PAGE = """Transcripts
===========

.. pyrun::

   >>> x = 6 * 7
   >>> x
   42
   >>> class A: pass
   >>> A
   <class 'A'>
   >>> print("a  b")  # doctest: +NORMALIZE_WHITESPACE
   a b
   >>> fetch("https://example.org")  # doctest: +SKIP
   <Response [200]>

.. pyrun::

   >>> 1 + 1
   2
   >>> def f():
   ...     return 1 / 0
   >>> 2 * 3
   7
   >>> f()

.. pyrun::
   :runtime: micropython

   >>> 2 + 2
   4
   >>> print("a  b")  # doctest: +NORMALIZE_WHITESPACE
   a b
   >>> 3
   4

.. pyrun::
   :session: chain

   >>> y = 1
   >>> y
   2

.. pyrun::
   :session: chain

   >>> y + 1
   2

.. pyrun::
   :session: chain

   >>> y * 10
   11
"""


@pytest.fixture(scope="module")
def transcripts_url(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Iterator[str]:
    with basic_with_page(tmp_path_factory.mktemp("transcripts"), "transcripts", PAGE) as url:
        yield url


def lines(page: Any, selector: str) -> list[str]:
    texts: list[str] = page.locator(selector).all_inner_texts()
    return [ln for text in texts for ln in text.splitlines() if ln]


def test_a_transcript_reads_like_a_console(
    page: Any, transcripts_url: str, stored_snapshot: StoredSnapshot
) -> None:
    open_page(page, transcripts_url, stored_snapshot)
    result = click_run(page, "pyrun-0")
    assert result["ok"] is True, result
    # every example's result appears after its own prompt, not only the last value
    text = page.locator("#pyrun-0 .pyrun-output").inner_text()
    assert text.splitlines() == [
        ">>> x = 6 * 7",
        ">>> x",
        "42",
        ">>> class A: pass",
        ">>> A",
        "<class 'A'>",
        '>>> print("a  b")',  # its doctest comment judges, it is not shown (trim_doctest_flags)
        "a  b",
        '>>> fetch("https://example.org")  # skipped: not run',  # with its output as written
        "<Response [200]>",
    ]
    assert lines(page, "#pyrun-0 .pyrun-echo")[0] == ">>> x = 6 * 7"
    assert lines(page, "#pyrun-0 .pyrun-skipped") == ["<Response [200]>"]


def test_a_mismatch_shows_expected_and_got_at_its_line(
    page: Any, transcripts_url: str, stored_snapshot: StoredSnapshot
) -> None:
    open_page(page, transcripts_url, stored_snapshot)
    result = click_run(page, "pyrun-1")
    assert result["ok"] is False
    error = result["error"]
    assert error["type"] == "OutputMismatch" and error["line"] == 5
    assert "(and 1 more failing example, one raising ZeroDivisionError)" in error["message"]
    text = page.locator("#pyrun-1 .pyrun-output").inner_text()
    # each failure where it happened: doctest's report after the example, then the next example
    assert "Failed example:\n    2 * 3\nExpected:\n    7\nGot:\n    6\n>>> f()" in text
    assert "ZeroDivisionError: division by zero" in text
    assert text.count("Expected:") == 1  # the result's error is not shown a second time
    # the editor shows the code without prompts; the failing example's line there is marked
    marked = page.locator("#pyrun-1 .pyrun-error-line").all_inner_texts()
    assert [m.strip() for m in marked] == ["2 * 3"]


def test_an_edited_transcript_runs_as_typed_at_the_prompt(
    page: Any, transcripts_url: str, stored_snapshot: StoredSnapshot
) -> None:
    open_page(page, transcripts_url, stored_snapshot)
    replace_code(page, "pyrun-1", "y = 2\ny * 21\nprint('done')")
    result = click_run(page, "pyrun-1", RUN_MS * 4)
    assert result["ok"] is True, result
    text = page.locator("#pyrun-1 .pyrun-output").inner_text()
    assert text.splitlines() == [">>> y = 2", ">>> y * 21", "42", ">>> print('done')", "done"]
    # back to the original: judged as the transcript again
    page.click("#pyrun-1 .pyrun-reset")
    assert click_run(page, "pyrun-1", RUN_MS)["error"]["type"] == "OutputMismatch"


def test_micropython_judges_with_the_port(page: Any, transcripts_url: str) -> None:
    """MicroPython has no doctest: the port judges, with the same flags, echo and report."""
    open_page(page, transcripts_url)
    result = click_run(page, "pyrun-2")
    assert result["ok"] is False and result["error"]["type"] == "OutputMismatch"
    assert result["error"]["line"] == 5 and result["error"]["editor_line"] == 3
    text = page.locator("#pyrun-2 .pyrun-output").inner_text()
    assert text.startswith('>>> 2 + 2\n4\n>>> print("a  b")')
    assert "Expected:\n    4\nGot:\n    3" in text
    marked = page.locator("#pyrun-2 .pyrun-error-line").all_inner_texts()
    assert [m.strip() for m in marked] == ["3"]


def test_an_example_runs_after_an_earlier_failing_one_of_its_session(
    page: Any, transcripts_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """Run on an example whose session has an earlier failing one: doctest runs later examples
    after a failure, and so does the widget, saying so. It stayed "Loading…" for good, its Stop
    button off (a MkDocs trial)."""
    open_page(page, transcripts_url, stored_snapshot)
    result = click_run(page, "pyrun-4")
    assert result["ok"] is True, result
    text = page.locator("#pyrun-4 .pyrun-output").inner_text()
    assert text == ">>> y + 1\n2\n", text  # it passed: the earlier failure is not its concern
    assert page.locator("#pyrun-3 .pyrun-status").inner_text().startswith("Error")
    assert page.locator("#pyrun-4 .pyrun-stop").is_disabled()
    # one that fails after it is told (more-itertools' API page told every example after a
    # thread's, which fails in every browser, of it: on unrelated functions that passed)
    open_page(page, transcripts_url, stored_snapshot)
    assert click_run(page, "pyrun-5")["ok"] is False
    text = page.locator("#pyrun-5 .pyrun-output").inner_text()
    assert "An earlier example of this session failed (example 4)" in text, text
    # what the examples above showed is on the page once they ran (written all at once)
    assert page.locator("#pyrun-3 .pyrun-status").inner_text().startswith("Error")
    assert page.locator("#pyrun-4 .pyrun-status").inner_text().startswith("Done")
    assert page.locator("#pyrun-4 .pyrun-output").inner_text() == ">>> y + 1\n2\n"


def test_the_examples_above_are_shown_at_once_when_they_have_run(
    page: Any, transcripts_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """Run on a later example runs the ones above it first; each one's output and status were
    written as it ran, and the browser laid the whole page out again between two runs (an API
    page of 300 docstring examples: ~15 ms a run, 21 s before the clicked one answered). What
    they show is written in one go once they have all run."""
    open_page(page, transcripts_url, stored_snapshot)
    page.evaluate(
        """() => {
          window.__writes = [];
          new MutationObserver((records) => {
            const earlier = '#pyrun-3 .pyrun-output, #pyrun-4 .pyrun-output';
            const outputs = records.filter((r) => r.target.closest?.(earlier));
            if (outputs.length) window.__writes.push(outputs.length);
          }).observe(document.body, { childList: true, subtree: true, characterData: true });
        }"""
    )
    assert click_run(page, "pyrun-5")["ok"] is False
    writes = page.evaluate("window.__writes")
    assert len(writes) == 1, writes  # one task wrote both earlier examples' outputs
    assert page.locator("#pyrun-4 .pyrun-output").inner_text() == ">>> y + 1\n2\n"
