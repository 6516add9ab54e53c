"""Upgraded examples in the reader's browser: a docstring example runs in a copy of its module's
globals, a ``testcode`` block is judged against its ``testoutput``, a doctest group's setup runs
first (``tests/roots/upgrade``, built with the check on)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stored_snapshot import StoredSnapshot
from test_browser import click_run, open_page, serving
from test_upgrade import build_upgrade_root, doctest_html, doctest_site

from pyrun_docs.serve import DocsRequestHandler

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def upgrade_url(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> Iterator[str]:
    base = tmp_path_factory.mktemp("upgrade-browser")
    build = build_upgrade_root(base, "pyrun_check=warn")
    assert build.status == 0, build.stderr
    with serving(base / "html", DocsRequestHandler) as url:
        yield url


def test_a_docstring_example_runs_with_its_modules_names(
    page: Any, upgrade_url: str, stored_snapshot: StoredSnapshot
) -> None:
    open_page(page, upgrade_url + "api.html", stored_snapshot)
    result = click_run(page, "pyrun-1")  # pyrun-0: the group's hidden global setup
    assert result["ok"] is True, result
    text = page.locator("#pyrun-1 .pyrun-output").inner_text()
    # area() and islice come from upgrade_fixture.shapes, as in its own doctests
    echo = '>>> SIDES = 6; list(islice("abc", 2))'
    assert text.splitlines() == [">>> area(2, 3)", "6", echo, "['a', 'b']"]
    # the docstring's next block sees the SIDES the first one set, not the module's (as doctest)
    result = click_run(page, "pyrun-2")
    assert result["ok"] is True, result
    assert page.locator("#pyrun-2 .pyrun-output").inner_text().splitlines()[-1] == "7"


def test_testcode_is_judged_against_its_testoutput(
    page: Any, upgrade_url: str, stored_snapshot: StoredSnapshot
) -> None:
    open_page(page, upgrade_url + "index.html", stored_snapshot)
    # the testcode block's widget (found by its code: the page's hidden setups come first)
    widget = page.locator("py-repl", has_text='print("done")').first.get_attribute("id")
    # the group's setup (doctest_global_setup, then testsetup) runs first, as in the check
    result = click_run(page, widget)
    assert result["ok"] is True, result
    assert page.locator(f"#{widget} .pyrun-output").inner_text() == "20\ndone\n"
    # edited, it is plain code again: no comparison
    page.evaluate(
        f"() => {{ const pre = document.querySelector('#{widget} pre'); "
        "pre.textContent = 'print(base * 3)'; }"
    )
    result = click_run(page, widget)
    assert result["ok"] is True and page.locator(f"#{widget} .pyrun-output").inner_text() == "30\n"


def test_a_hidden_doctest_block_runs_in_its_place(
    page: Any, upgrade_url: str, stored_snapshot: StoredSnapshot
) -> None:
    """A ``:hide:`` doctest block is no setup: Run on the example after it runs it after the
    example before it, as the check and the doctest builder do (first, it raised NameError).
    That example's ``# doctest:`` comment judges it but is not shown, as Sphinx hides it
    (``trim_doctest_flags``): not in its code, nor in its output's echo."""
    open_page(page, upgrade_url + "index.html", stored_snapshot)
    element_id = page.locator("py-repl[data-in-order]").last.evaluate(
        "el => el.closest('.pyrun-widget').nextElementSibling.querySelector('py-repl').id"
    )
    result = click_run(page, element_id)
    assert result["ok"] is True, result
    output = page.locator(f"#{element_id} .pyrun-output").inner_text()
    # (then a note: the page's static subprocess block, run hidden in its place, failed)
    assert output.splitlines()[:2] == [">>> counter", "[1, 2]"], output
    assert "doctest:" not in page.locator(f"#{element_id} .pyrun-code").inner_text()


def test_a_widget_after_a_block_kept_static_runs_as_in_the_check(
    page: Any, tmp_path: Path, runtime_cache: Path, stored_snapshot: StoredSnapshot
) -> None:
    """The check ran the static block in the session before the later example, which passed on
    the name it set; the reader's Run runs it too, hidden in its place (it raised NameError).
    One failing after it says so, naming the block."""
    text = (
        ">>> import subprocess as sp\n>>> sp.run(['true']).returncode\n0\n\n"
        "Later:\n\n>>> sp.__name__\n'subprocess'\n\nLast:\n\n>>> sp.__name__ + '!'\n'nope'\n"
    )
    doctest_html(doctest_site(tmp_path / "site", 'pyrun_check = "warn"\n', text), tmp_path)
    with serving(tmp_path / "html", DocsRequestHandler) as url:
        open_page(page, url + "index.html", stored_snapshot)
        shown = page.locator("div.pyrun-widget:not([hidden]) py-repl")
        later, last = (shown.nth(i).get_attribute("id") for i in (0, 1))
        result = click_run(page, str(last))
        assert result["ok"] is False, result
        assert (
            page.locator(f"#{later} .pyrun-output").inner_text()
            == ">>> sp.__name__\n'subprocess'\n"
        )
        output = page.locator(f"#{last} .pyrun-output").inner_text()
        assert output.startswith(">>> sp.__name__ + '!'"), output
        # the note names the block as the reader sees it (it said "one not shown as a widget",
        # then "a plain block above", not which)
        block = "the plain block above starting “import subprocess as sp”"
        assert f"({block}, which runs hidden in its place)" in output, output
