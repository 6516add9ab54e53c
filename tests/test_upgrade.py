"""``pyrun_upgrade``: a project's existing examples become checked widgets with one setting.

The core's grouping (:func:`pyrun_docs.upgrade.upgrade_page`) is tested on its own; the fixture
project ``tests/roots/upgrade`` (doctest blocks, ``code-block:: pycon``, ``sphinx.ext.doctest``'s
directives with groups and a global setup, autodoc + napoleon docstrings, an include, a Python
code block, opt-outs, examples that need a subprocess) is built with real Sphinx, checked in the
pinned Pyodide and read back; ``pyrun-docs check`` must find the same snippets at the same lines.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from conftest import ROOTS, Build, check_dir, sphinx_build, sphinx_in_process

from pyrun_docs.cli import main
from pyrun_docs.snippet import UNTESTED
from pyrun_docs.upgrade import Found, upgrade_markdown, upgrade_page


def found(kind: str, code: str, line: int, *groups: str, **extra: object) -> Found:
    return Found(kind=kind, code=code, path="p.rst", line=line, groups=groups, **extra)  # type: ignore[arg-type]


def test_doctest_groups_become_sessions() -> None:
    blocks = [
        found("transcript", ">>> a = 1\n", 1),
        found("testsetup", "b = 2\n", 3, "*"),
        found("testcode", "print(b)\n", 5, "g"),
        found("testoutput", "2\n", 7, "g", flags=(("ELLIPSIS", False),)),
        found("testcleanup", "del b\n", 9, "g"),
        found("transcript", ">>> print(b)\n2\n", 11, "g", "other"),
        found("python", "x = 1\n", 13),
        found("transcript", ">>> 1\n1\n>>>2\n", 15),
        found("transcript", ">>> f()\n", 17, module="mod"),  # a docstring: the page's group
    ]
    setups, results = upgrade_page(blocks, page="p", global_setup="\nimport math\n", setup_line=4)
    # the global setup: one hidden snippet per group of the page
    assert [(s.options.session, s.options.hidden, s.line) for s in setups] == [
        ("default", True, 5), ("g", True, 5), ("other", True, 5)]  # fmt: skip
    snippets = [(r.found.line, r.snippet) for r in results if r.snippet is not None]
    sessions = [
        (line, s.options.session, s.options.hidden, s.options.in_order) for line, s in snippets
    ]
    assert sessions == [
        (1, "default", False, False),
        (3, "default", True, False),  # testsetup for every group (*): one copy per group
        (3, "g", True, False),
        (3, "other", True, False),
        (5, "g", False, False),
        # a block in two groups is a widget in its first, a hidden example in the other (it ran
        # in its first only: the doctest builder runs it in both)
        (11, "g", False, False),
        (11, "other", True, True),
        (13, None, False, False),  # a Python code block is on its own
        (17, "default", False, False),
    ]
    testcode = dict(snippets)[5]
    assert testcode.expected == "2\n" and testcode.options.flags == (("ELLIPSIS", False),)
    assert dict(snippets)[17].options.module == "mod"
    assert all(s.upgraded for _, s in snippets) and all(s.upgraded for s in setups)
    reasons = {r.found.line: r.reason for r in results if r.snippet is None}
    assert reasons[7] == "shown with its testcode block"
    assert "cleanup" in reasons[9]
    assert (
        reasons[15].startswith("doctest cannot parse its line")
        and "blank after it: '>>>2'" in reasons[15]
    )


def test_a_markdown_transcript_starting_with_comments_is_upgraded() -> None:
    """A ``pycon`` or ``python`` fence whose transcript begins with comment lines (doctest's
    parser skips them) stayed a plain block, unchecked and unsaid (a MkDocs trial); its
    comments become comment-only examples, on their own lines."""
    text = (
        "# T\n\n```python\n# Doubling, interactively:\n>>> 2 * 21\n42\n```\n\n"
        "!!! note\n\n    ```pycon\n    # in a pycon fence\n\n    >>> 2 * 21\n    42\n    ```\n"
    )
    new, fences, problems = upgrade_markdown(text, ["doctest", "python"])
    assert not problems and sorted(fences) == [3, 11], fences
    lines = new.split("\n")
    assert len(lines) == len(text.split("\n"))
    assert lines[2:5] == [
        '```pyrun session="default"',
        ">>> # Doubling, interactively:",
        ">>> 2 * 21",
    ]
    assert lines[10:13] == ['    ```pyrun session="default"', "    >>> # in a pycon fence", ""]
    assert fences[3].code.startswith("# Doubling")  # a static block shows it as written


def test_a_testcode_block_of_two_groups_is_judged_by_its_testoutput_in_both() -> None:
    _, results = upgrade_page(
        [found("testcode", "print(2)\n", 1, "a", "b"), found("testoutput", "2\n", 4, "a", "b")],
        page="p",
    )
    judged = [r.snippet for r in results if r.snippet is not None]
    assert [(s.options.session, s.expected) for s in judged] == [("a", "2\n"), ("b", "2\n")]


def test_a_transcript_starting_with_comments_is_upgraded() -> None:
    """doctest's parser skips text before a block's first ``>>>``: pyparsing's ``.. doctest::``
    blocks that start with a ``# comment`` line were tested by the doctest builder and stayed
    plain, unchecked, here. The comments become comment-only examples (shown, not run), at the
    same lines. So does prose before the first prompt (zope.interface's ``Set things up:``), and
    a first example indented more than a later one: such blocks stayed plain, unchecked, and
    the later examples of their group failed for the names they set."""
    _, results = upgrade_page(
        [
            found("transcript", "# a wrong example\n# on purpose\n>>> 1 + 1\n3\n", 9),
            found("transcript", "Some prose.\n>>> 1\n1\n", 20),
            found("transcript", " >>> x = 1\n\n>>> x + 1\n2\n", 30),
        ],
        page="p",
    )
    first, prose, indented = results
    assert first.snippet is not None and first.snippet.line == 9
    assert first.snippet.code == ">>> # a wrong example\n>>> # on purpose\n>>> 1 + 1\n3\n"
    assert first.snippet.source == "# a wrong example\n# on purpose\n1 + 1\n"
    assert prose.snippet is not None and prose.snippet.code == ">>> # Some prose.\n>>> 1\n1\n"
    # (the blank line parting the two stays in the code a reader edits)
    assert indented.snippet is not None and indented.snippet.source == "x = 1\n\nx + 1\n"


def test_a_testcode_block_without_testoutput_must_print_nothing() -> None:
    """The doctest builder compares a ``testcode`` block without a ``testoutput`` with no output:
    one that prints fails there (it passed here, run as plain code)."""
    _, results = upgrade_page(
        [found("testcode", "print(1)\n", 3), found("testcode", "x = 1\n", 6),
         found("testoutput", "1\n", 9)],
        page="p",
    )  # fmt: skip
    first, second = (r.snippet for r in results[:2])
    assert first is not None and first.expected == "" and first.judged_by_doctest
    assert second is not None and second.expected == "1\n"


def test_doctest_path_modules_are_importable_as_in_the_doctest_builder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``doctest_path`` is on the doctest builder's ``sys.path`` (helpers in a tests folder that
    ``doctest_global_setup`` imports, an examples folder): its modules are packed into a wheel
    every interpreter installs, so examples importing them pass (they were static, "No module
    named ...") and a wrong one fails, also in the CPython second opinion. The command reads the
    project with them on ``sys.path`` too, as the doctest builder does, so autodoc finds the
    docstrings there (their examples were silently left out)."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # what the read adds goes with the test
    extra = tmp_path / "extra"
    (extra / "helperpkg").mkdir(parents=True)
    (extra / "helpermod.py").write_text('"""Helpers.\n\n>>> VALUE\n42\n"""\nVALUE = 42\n')
    (extra / "helperpkg" / "__init__.py").write_text("from .sub import twice\n")
    (extra / "helperpkg" / "sub.py").write_text("def twice(x):\n    return 2 * x\n")
    conf = (
        f'doctest_path = [{str(extra)!r}]\ndoctest_global_setup = "from helperpkg import twice"\n'
        'extensions.append("sphinx.ext.autodoc")\n'
    )
    page = ">>> import helpermod\n>>> helpermod.VALUE\n42\n\n>>> twice(4)\n8\n\n>>> twice(1)\n3\n"
    page += "\n.. automodule:: helpermod\n"
    site = doctest_site(tmp_path / "site", conf, page)
    out = tmp_path / "check.json"
    cache = str(tmp_path / "cache")
    assert main(["check", str(site), "--cache-dir", cache, "--json", str(out), "-q"]) == 1
    results = json.loads(out.read_text())["results"]
    assert [(Path(r["path"]).name, r["line"], r["status"]) for r in results] == [
        ("conf.py", 5, "passed"),  # the global setup, at its line
        ("index.rst", 4, "passed"),
        ("index.rst", 8, "passed"),
        ("index.rst", 11, "failed"),
        ("helpermod.py", 3, "passed"),  # the module's docstring, found through doctest_path
    ], results
    assert "fails in CPython" in results[3]["message"], results[3]


def test_the_command_reads_without_resolving_references(tmp_path: Path) -> None:
    """``pyrun-docs check`` reads a Sphinx project as the doctest builder does, without resolving
    references: a ``missing-reference`` handler that raises (jsonschema's, with intersphinx off)
    stopped it ("Sphinx could not read the project") where the doctest builder passes."""
    conf = (
        "def _raise(app, env, node, contnode):\n"
        "    raise RuntimeError('no such reference')\n"
        "def setup(app):\n"
        "    app.connect('missing-reference', _raise)\n"
    )
    site = doctest_site(tmp_path / "site", conf, "See :class:`nowhere.Thing`.\n\n>>> 1 + 1\n2\n")
    cache = str(tmp_path / "cache")
    assert main(["check", str(site), "--cache-dir", cache, "-q"]) == 0


def test_setup_and_test_code_written_as_a_transcript_fail_as_in_the_doctest_builder(
    tmp_path: Path,
) -> None:
    """The doctest builder compiles ``testsetup``/``testcode`` as code: ``>>> import os`` there is
    a SyntaxError, "1 failure in setup code" (python-statemachine's release notes). It ran as a
    transcript and passed here; it stays a plain block, and the check fails on it."""
    blocks = [found("testsetup", ">>> import os\n", 3), found("testcode", ">>> print(1)\n", 7)]
    _, results = upgrade_page(blocks, page="p")
    assert [r.snippet for r in results] == [None, None]
    assert all("runs as Python code" in r.reason for r in results), results
    site = doctest_site(tmp_path / "site", "", ".. testsetup::\n\n   >>> import os\n")
    cache = str(tmp_path / "cache")
    assert main(["check", str(site), "--cache-dir", cache, "-q"]) != 0


def test_a_hidden_doctest_block_runs_in_its_place(tmp_path: Path, runtime_cache: Path) -> None:
    """A ``doctest``/``testcode`` block with ``:hide:`` is a test the doctest builder runs where
    it is written; it ran first here, as a setup (``>>> x`` before ``>>> x = 1``: two false
    NameErrors), and its widget said "Setup code (runs first)"."""
    page = (
        ".. doctest::\n\n   >>> x = 1\n\n.. doctest::\n   :hide:\n\n   >>> x\n   1\n\n"
        ".. testcode::\n   :hide:\n\n   print(x + 1)\n\n.. testoutput::\n   :hide:\n\n   2\n"
    )
    site = doctest_site(tmp_path / "site", "", page)
    status, results = checked(site, tmp_path)
    assert status == 0
    assert [(r["line"], r["status"]) for r in results] == [
        (6, "passed"),
        (11, "passed"),
        (17, "passed"),
    ], results
    build = doctest_html(site, tmp_path)
    html = build.read("index.html")
    assert html.count("data-in-order") == 2 and "Setup code" not in html, html


def test_sphinx_trim_doctest_flags_decides_whether_widgets_show_doctest_comments(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """Sphinx hides ``# doctest:`` comments of shown transcripts by default; a project that
    turns ``trim_doctest_flags`` off (docs about doctest itself) sees them in its widgets too."""
    page = ">>> print(list(range(9)))  # doctest: +ELLIPSIS\n[0, 1, ..., 8]\n"
    for trim in (True, False):
        site = doctest_site(tmp_path / f"site{trim}", f"trim_doctest_flags = {trim}\n", page)
        build = sphinx_build(
            site, tmp_path / f"html{trim}", "html", "-d", str(tmp_path / f"d{trim}")
        )
        assert build.status == 0, build.stderr
        soup = BeautifulSoup(build.read("index.html"), "html.parser")
        code = soup.select_one("py-repl .pyrun-code").get_text()  # type: ignore[union-attr]
        assert ("doctest: +ELLIPSIS" in code) is not trim, code


def test_a_transcript_doctest_cannot_parse_is_reported_at_its_bad_line(
    tmp_path: Path, runtime_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """doctest's complaint names "line 3 of the docstring for the example" (no docstring there)
    and quoted three characters of the line ("lacks blank after   ."); it was reported at the
    block's first line, and counted on a page of its own ("on 2 pages" for one)."""
    page = ">>> 1 + 1\n2\n\nNext:\n\n>>> x = 1\n>>> int('a b')\n  ...\nValueError: no\n"
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert status == 1
    bad = [r for r in results if r["status"] == "error"]
    assert [r["line"] for r in bad] == [11], results
    assert bad[0]["message"].endswith(
        "doctest cannot parse its line 3: a prompt (>>> or ...) without a blank after it: '  ...'"
    ), bad
    printed = capsys.readouterr()
    assert "on 1 page in" in printed.out + printed.err


def test_a_pycon_block_doctest_cannot_parse_stays_static_as_the_builder_never_runs_it(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """A ``pycon`` block (which the doctest builder never tests) doctest cannot parse (babel's
    numbers.rst: an indented ``...`` under ``>>>``) failed ``pyrun-docs check`` as an error and
    warned under ``sphinx-build -b doctest``, failing a ``-W`` doctest job that passed without
    pyrun: it stays a plain block with its reason, as one whose output is wrong does; the
    reader's note does not blame the browser."""
    token = uuid.uuid4().hex
    page = (
        f".. code-block:: pycon\n\n   >>> x = 1  # {token}\n   >>> int('1 2')\n     ...\n"
        "   ValueError: no\n"
    )
    site = doctest_site(tmp_path / "site", "", page)
    status, results = checked(site, tmp_path)
    assert [(r["location"][-11:], r["status"]) for r in results] == [("index.rst:8", "static")]
    assert results[0]["message"].startswith("stays a plain block: doctest cannot parse its line 3")
    assert status == 0
    doctest_job = sphinx_build(site, tmp_path / "doctest", "doctest", "-W")
    assert doctest_job.status == 0, doctest_job.stderr
    build = doctest_html(site, tmp_path)
    assert "WARNING" not in build.stderr, build.stderr
    note = BeautifulSoup(build.read("index.html"), "html.parser").get_text()
    assert "Not runnable as written: doctest cannot parse its line 3" in note


def test_a_one_line_block_doctest_cannot_parse_keeps_the_next_ones_verdict(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """Its problem is at its own ``>>>`` line, one blank line above the next block: it was
    given to that block as a bad option is to the snippet under its header, whose own verdict
    was lost (graphviz's one-line ``+NO_EXE`` blocks)."""
    page = ">>> x = 1  # doctest: +NO_SUCH_FLAG\n\n>>> 1 + 1\n3\n\n>>> 2 + 2\n4\n"
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert status == 1
    verdicts = sorted((r["line"], r["status"]) for r in results)
    assert verdicts == [(4, "error"), (6, "failed"), (9, "passed")], results
    # the flags there are, and how a project's own is made known
    (bad,) = [r["message"] for r in results if r["line"] == 4]
    assert "invalid option: '+NO_SUCH_FLAG' (doctest's flags: DONT_ACCEPT_TRUE_FOR_1," in bad
    assert "doctest.register_optionflag" in bad


def test_an_included_block_doctest_cannot_parse_is_warned_about_once(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """A file included into another page and a page of its own is read with each: its
    unparsable block was warned about once per page (graphviz's manual: 56 warnings twice)."""
    page = ".. toctree::\n\n   part\n\n.. include:: part.rst\n"
    site = doctest_site(tmp_path / "site", "", page)
    (site / "part.rst").write_text("Part\n====\n\n>>> x = 1  # doctest: +NO_SUCH_FLAG\n")
    build = doctest_html(site, tmp_path)
    assert build.stderr.count("part.rst:4: WARNING: pyrun: this example stays a plain") == 1, (
        build.stderr
    )


def test_a_traceback_through_a_function_of_an_earlier_block(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """Every block of a group compiles as ``<doctest default[N]>``: a traceback through a
    function the first block defined (its third example) names an example the later block does
    not have; doctest's line lookup raised IndexError, "failed (fails in CPython too)" where the
    builder passes (zope.interface's verify.rst). Sphinx's runner catches it; so does ours."""
    page = (
        ".. doctest::\n\n   >>> a = 1\n   >>> b = 2\n   >>> def f():\n"
        "   ...     raise ValueError('boom')\n\n"
        ".. doctest::\n\n   >>> f()\n   Traceback (most recent call last):\n   ValueError: boom\n"
    )
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert [r["status"] for r in results] == ["passed", "passed"], results
    assert status == 0


def test_a_python_code_block_of_a_console_session_is_a_pycon_block(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """``code-block:: python`` holding ``>>>`` examples (sqlparse's docs) is a console session, a
    ``pycon`` block to the ``doctest`` mode, as MkDocs' python fences are: it was left out
    without ``python``, and became a transcript with it."""
    page = ".. code-block:: python\n\n   >>> 1 + 1\n   2\n"
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert [(r["line"], r["status"]) for r in results] == [(6, "passed")], results
    assert status == 0


def test_a_console_session_may_start_with_comment_lines(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """doctest's parser skips what comes before the first prompt: a ``code-block:: python`` or
    a ``::`` block starting ``# Get the events:`` then ``>>>`` is a console session (seven of
    recurring-ical-events' blocks were left plain, unchecked, without a word). One starting with
    something else (a shell line) stays a listing."""
    token = uuid.uuid4().hex
    page = (
        f".. code-block:: python\n\n   # Add them up: {token}\n\n   >>> 1 + 1\n   2\n\n"
        "Literal::\n\n   # a comment\n   # and another\n   >>> 2 + 2\n   4\n\n"
        ".. code-block:: python\n\n   $ pip install thing\n   >>> import thing\n"
    )
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert [(r["line"], r["status"]) for r in results] == [(6, "passed"), (13, "passed")]
    assert status == 0


def test_a_literal_block_in_the_default_highlight_is_python(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """A ``::`` literal block takes ``highlight_language``, ``"default"`` unless set: Python to
    Sphinx (a console session when it starts with ``>>>``). inflection's and tablib's examples
    (``Example::`` then ``>>>`` lines, 39 each) stayed plain; with ``python``, so did a literal
    block of Python code. A literal block that is not Python, or only names values (an
    output, a listing), stays as it is."""
    page = (
        "Example::\n\n   >>> 1 + 1\n   2\n\n"
        "Code::\n\n   total = sum([1, 2])\n   print(total)\n\n"
        "Shell::\n\n   $ pip install thing\n\n"
        "Values::\n\n   [1, 2, 3]\n   HTTPError\n\n"
        # a listing of values in a Python block too (Python-Markdown's ``toc_tokens``)
        ".. code-block:: python\n\n   [{'level': 1, 'id': 'title'}]\n"
    )
    conf = 'pyrun_upgrade = ["doctest", "python"]\n'
    status, results = checked(doctest_site(tmp_path / "site", conf, page), tmp_path)
    assert [(r["line"], r["status"]) for r in results] == [(6, "passed"), (11, "passed")]
    assert status == 0
    console = doctest_site(tmp_path / "console", 'highlight_language = "console"\n', page)
    (tmp_path / "c").mkdir()
    assert checked(console, tmp_path / "c")[1] == []  # highlighted as something else


def test_a_python_fence_of_values_only_is_a_listing_not_an_example() -> None:
    """Python-Markdown's ``toc_tokens`` is documented as a bare list in a python fence: it became
    a widget that "passed" and showed nothing. Values alone stay as written; a call does not."""
    from pyrun_docs.upgrade import upgrade_markdown

    page = "```python\n[{'level': 1, 'id': 'title'}]\n```\n\n```python\nprint([1])\n```\n"
    _, fences, _ = upgrade_markdown(page, ["python"])
    assert sorted(fences) == [5], fences  # the second fence, not the listing at line 1


def test_a_block_kept_static_runs_hidden_in_its_place(tmp_path: Path, runtime_cache: Path) -> None:
    """The check runs a block kept static in its session, so a later widget may pass on a name
    it set before failing; the page keeps that block, hidden, running in its place, so the
    reader's Run does the same (zope.interface's README: a widget needing names of a static
    block passed the check and failed for readers). Not one that timed out."""
    page = (
        ">>> import subprocess\n>>> value = 5\n>>> subprocess.run(['true']).returncode\n0\n\n"
        "Later:\n\n>>> value\n5\n"
    )
    site = doctest_site(tmp_path / "site", "", page)
    build = doctest_html(site, tmp_path)
    soup = BeautifulSoup(build.read("index.html"), "html.parser")
    hidden = soup.select("div.pyrun-widget[hidden] py-repl")
    assert len(hidden) == 1 and hidden[0].has_attr("data-in-order"), hidden
    assert "subprocess" in hidden[0].get("data-transcript", "")
    assert "Does not run in the browser" in soup.get_text()
    assert len(soup.select("div.pyrun-widget:not([hidden]) py-repl")) == 1


def test_a_block_of_two_groups_runs_in_both(tmp_path: Path, runtime_cache: Path) -> None:
    """``.. doctest:: g1, g2`` runs in both groups, as the doctest builder runs it: g2's later
    example failed with a NameError "in CPython too" (it ran in g1 only), and the builder's
    3 tests were 2 examples here."""
    page = ".. doctest:: g1, g2\n\n   >>> U = 1\n\n.. doctest:: g2\n\n   >>> U\n   1\n"
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert [(r["line"], r["status"]) for r in results] == [
        (6, "passed"), (6, "passed"), (10, "passed")]  # fmt: skip
    assert status == 0


def test_a_block_of_several_groups_is_shown_once(tmp_path: Path, runtime_cache: Path) -> None:
    """A block in several groups runs in each but shows once, where it is written: one
    ``testsetup:: *`` showed a "Setup code" toggle per group (five in a row on rfc3986's page),
    as did ``doctest_global_setup``, and a ``doctest:: g1, g2`` block a "Hidden example" toggle
    after its widget."""
    page = (
        ".. testsetup:: *\n\n   import math\n\n"
        + "".join(
            f".. testcode:: g{n}\n\n   print(round(math.pi))\n\n.. testoutput:: g{n}\n\n   3\n\n"
            for n in (1, 2, 3)
        )
        + ".. doctest:: g1, g2\n\n   >>> round(math.e)\n   3\n"
    )
    conf = 'doctest_global_setup = "import os"\n'
    site = doctest_site(tmp_path / "site", conf, page)
    soup = BeautifulSoup(doctest_html(site, tmp_path).read("index.html"), "html.parser")
    toggles = [t.get_text(" ", strip=True) for t in soup.select("details.pyrun-setup > summary")]
    assert toggles == ["Setup code (runs first)"] * 2, toggles  # the global setup, the testsetup
    seen = [w for w in soup.select("div.pyrun-widget") if not w.has_attr("hidden")]
    assert len(seen) == 2 + 3 + 1  # two toggles, three testcode widgets, the doctest block's
    copies = soup.select("div.pyrun-widget[hidden] py-repl[data-hidden]")
    assert len(copies) == 2 + 2 + 1, len(copies)  # in the other groups: they run there
    status, results = checked(site, tmp_path)
    assert status == 0 and {r["status"] for r in results} == {"passed"}, results


def test_a_block_whose_every_example_is_skipped_is_skipped(
    tmp_path: Path, runtime_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """doctest skips the examples of a block with ``:options: +SKIP``, with every example
    marked ``+SKIP``, or with a ``:pyversion:`` the build's Python does not meet (Sphinx sets
    SKIP): they were reported "passed" ("all passed: 4 snippets"), with a verified output that
    showed the examples and nothing else."""
    page = (
        ".. doctest::\n   :pyversion: > 3.99\n\n   >>> 1\n   2\n\n>>> 1 + 1\n2\n\n"
        ".. doctest::\n   :options: +SKIP\n\n   >>> 1\n   3\n\n>>> 1  # doctest: +SKIP\n4\n"
    )
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert status == 0
    assert [(r["line"], r["status"]) for r in results] == [
        (7, "skipped"),
        (10, "passed"),
        (16, "skipped"),
        (19, "skipped"),
    ], results
    printed = capsys.readouterr()
    assert "passed, 3 skipped: 4 snippets (1 doctest example)" in printed.out + printed.err
    # the reason names what the block says (a :pyversion: block has no +SKIP to find)
    assert [r["message"].split("(")[-1] for r in results if r["status"] == "skipped"] == [
        "its +SKIP option, or a :pyversion: the build's Python does not meet)",
        "its +SKIP option, or a :pyversion: the build's Python does not meet)",
        "+SKIP)",
    ]


def test_a_failure_in_a_blocks_other_group_names_that_group(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """``.. doctest:: g1, g2`` failing in g2 only: the doctest builder says "in g2"; the check
    said nothing, while the page's widget is g1's, which passes."""
    page = (
        ".. testsetup:: g1\n\n   base = 1\n\n.. testsetup:: g2\n\n   base = 2\n\n"
        ".. doctest:: g1, g2\n\n   >>> base + 110\n   111\n"
    )
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert status == 1
    (failure,) = [r for r in results if r["status"] == "failed"]
    first = failure["message"].split("\n")[0]
    assert first.endswith("(in its doctest group g2)"), failure
    passed = [r for r in results if r["status"] == "passed" and r["line"] == failure["line"]]
    assert passed and "group" not in passed[0]["message"]


def test_a_skipif_condition_that_fails_is_an_error_at_its_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``:skipif:`` runs in the build's Python, as in the doctest builder (which crashes on one
    that raises): an error naming the block, relative like every other result (it was absolute)."""
    upgraded_docs(
        tmp_path, "Page\n====\n\n.. doctest::\n   :skipif: undefined_name\n\n   >>> 1\n   1\n"
    )
    monkeypatch.chdir(tmp_path)
    status = main(["check", "docs", "--cache-dir", str(check_dir(tmp_path)), "-q"])
    printed = capsys.readouterr()
    assert status == 1
    told = "docs/index.rst:4: error: the :skipif: condition 'undefined_name' failed (NameError"
    assert re.search(f"^{re.escape(told)}", printed.out + printed.err, re.M), printed


def test_progress_shows_the_verdict_after_the_second_opinion(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """An upgraded example failing in Pyodide is static or failed as CPython decides, at the
    end: a build's log said "index.rst:4 static" for it, then warned "failed"."""
    from pyrun_docs.check import run_check
    from pyrun_docs.config import PyrunConfig
    from pyrun_docs.options import SnippetOptions
    from pyrun_docs.snippet import Snippet

    options = SnippetOptions(session="default")
    broken = Snippet(">>> 1 + 1\n3\n", "p.rst", 4, "p", 0, options, origin="upgrade")
    fine = Snippet(">>> 2 + 2\n4\n", "p.rst", 7, "p", 1, options, origin="upgrade")
    shown: list[tuple[int, str]] = []
    report = run_check(
        {"p": [broken, fine]},
        PyrunConfig(),
        cache_dir=check_dir(tmp_path),
        progress=lambda done, total, r: shown.append((r.snippet.line, r.status.value)),
    )
    assert [r.status.value for r in report.results] == ["failed", "passed"]
    assert sorted(shown) == [(4, "failed"), (7, "passed")], shown


def test_examples_of_a_group_whose_setup_fails_are_not_run(
    tmp_path: Path, runtime_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When a group's ``testsetup`` fails, the doctest builder reports "1 failure in setup code"
    and neither runs nor counts the group's tests; here they failed too (a NameError for every
    name the setup did not make, at lines not to blame) and were counted. Other groups run."""
    page = (
        ".. testsetup::\n\n   y = 1 / 0\n   x = 1\n\n.. doctest::\n\n   >>> 1 + 1\n   2\n\n"
        ".. doctest::\n\n   >>> x\n   1\n\n.. doctest:: other\n\n   >>> 2 + 2\n   4\n"
    )
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert status == 1
    printed = capsys.readouterr()
    assert [(r["line"], r["status"]) for r in results] == [
        (6, "failed"),
        (11, "skipped"),
        (16, "skipped"),
        (21, "passed"),
    ], results
    assert "2 examples of its group did not run" in results[0]["message"], results[0]
    assert "setup of its doctest group failed (" in results[1]["message"], results[1]
    summary = printed.out + printed.err
    assert "(1 doctest example)" in summary, summary  # the builder's "1 test"


def build_upgrade_root(base: Path, *settings: str, builder: str = "html") -> Build:
    """Copy ``tests/roots/upgrade`` into *base*/project and build it into *base*/*builder*."""
    shutil.copytree(ROOTS / "upgrade", base / "project")
    overrides = [arg for setting in settings for arg in ("-D", setting)]
    docs = base / "project" / "docs"
    return sphinx_build(docs, base / builder, builder, *overrides, cwd=base / "project")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("upgrade")
    build = build_upgrade_root(base, "pyrun_check=error")
    assert build.status == 0, build.stderr
    return base, build.stderr


def snippets_of(html_dir: Path) -> dict[str, list[object]]:
    env = pickle.loads((html_dir / ".doctrees" / "environment.pickle").read_bytes())
    return env.pyrun_snippets  # type: ignore[no-any-return]


def test_the_build_upgrades_every_kind_at_its_own_line(built: tuple[Path, str]) -> None:
    base, stderr = built
    assert "are read from" not in stderr  # autodoc imports the source the wheel is built from
    pages = snippets_of(base / "html")
    assert set(pages) == {
        "index",
        "api",
        "myst",
    }  # excluded.rst (pyrun_upgrade_exclude), off.rst (:pyrun: off)
    where = [(s.path, s.line, s.options.session, s.options.hidden) for s in pages["index"]]  # type: ignore[attr-defined]
    aside = "default" + UNTESTED  # the session of blocks the doctest builder does not run
    assert where == [
        ("docs/conf.py", 18, "default", True),  # doctest_global_setup, per group
        ("docs/conf.py", 18, aside, True),
        ("docs/conf.py", 18, "shared", True),
        ("docs/index.rst", 14, "default", False),  # a doctest block
        ("docs/index.rst", 23, aside, False),  # code-block:: pycon
        ("docs/index.rst", 29, "shared", True),  # testsetup
        ("docs/index.rst", 34, "shared", False),  # doctest:: shared
        ("docs/index.rst", 39, "shared", False),  # testcode + testoutput
        ("docs/index.rst", 59, None, False),  # code-block:: python
        ("docs/index.rst", 70, "default", False),  # needs a subprocess
        ("docs/index.rst", 82, "default", False),  # :skipif: False (the True one stays)
        ("docs/included.rst", 3, "default", False),  # in the included file, at its line
        ("docs/included.rst", 8, None, False),  # a pyrun directive there too
        ("docs/index.rst", 91, None, False),  # a literal block after `.. highlight:: python`
        ("docs/index.rst", 97, "default", False),
        ("docs/index.rst", 102, "default", True),  # doctest:: :hide:, run in its place
        ("docs/index.rst", 106, "default", False),
    ]
    assert [s.options.in_order for s in pages["index"]].count(True) == 1  # type: ignore[attr-defined]
    myst = [(s.path, s.line, s.options.session) for s in pages["myst"]]  # type: ignore[attr-defined]
    assert myst == [
        ("docs/conf.py", 18, "default"),
        ("docs/conf.py", 18, aside),
        ("docs/myst.md", 6, aside),  # a pycon fence
        ("docs/myst.md", 14, "default"),  # {doctest}
    ]
    docstrings = [s.options.docstring for s in pages["api"]]  # type: ignore[attr-defined]
    area, broken = "upgrade_fixture.shapes.area", "upgrade_fixture.shapes.broken"
    assert docstrings == [None, area, area, broken, "upgrade_fixture.shapes.square"]
    api = [(s.path, s.line, s.options.session, s.options.module) for s in pages["api"]]  # type: ignore[attr-defined]
    # docstrings run in the page's group (its global setup first), seeing their module's globals
    assert [a[2] for a in api] == ["default"] * 5
    api = [(path, line, module) for path, line, _, module in api]
    assert api == [
        ("docs/conf.py", 18, None),  # doctest_global_setup, as the doctest builder runs it
        ("src/upgrade_fixture/shapes.py", 13, "upgrade_fixture.shapes"),
        ("src/upgrade_fixture/shapes.py", 20, "upgrade_fixture.shapes"),  # indented, same session
        ("src/upgrade_fixture/shapes.py", 34, "upgrade_fixture.shapes"),
        # a factory-made function whose docstring is written in another module
        ("src/upgrade_fixture/texts.py", 8, "upgrade_fixture.shapes"),
    ]
    # the examples that cannot run in the browser do not fail the build (pyrun_check = "error")
    assert "WARNING" not in stderr, stderr


def test_the_page_keeps_what_cannot_run(built: tuple[Path, str]) -> None:
    base, _ = built
    index = shown((base / "html" / "index.html").read_text())
    # 16 snippets: the subprocess one stays static, doctest_global_setup's copy in its second
    # group shows nothing (it runs there hidden)
    assert index.count("<py-repl") == 14
    assert "skipped, as the doctest builder skips it" in index
    assert "Does not run in the browser: OSError: [Errno 138] emscripten does not support" in index
    static = index.split("Something that needs a subprocess")[1].split("pyrun-static-note")[0]
    assert "<py-repl" not in static and "subprocess" in static
    kept = index.split("A block kept as it is")[1].split("A Python code block")[0]
    assert "<py-repl" not in kept and 'class="no-pyrun highlight-pycon' in kept
    assert "data-expected=" in index and 'data-module="' not in index
    api = shown((base / "html" / "api.html").read_text())
    assert api.count("<py-repl") == 4 and 'data-module="upgrade_fixture.shapes"' in api
    # the static one is in the page's notebook (CPython runs it; later cells may use it)
    notebook = json.loads(
        (base / "html" / "_downloads" / "pyrun" / "index" / "index.ipynb").read_text()
    )
    assert any("subprocess.run" in "".join(c["source"]) for c in notebook["cells"])
    # a testcode block's cell has the output the check verified (its testoutput's)
    (testcode,) = [c for c in notebook["cells"] if "print(base * 2)" in "".join(c["source"])]
    assert testcode["outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": "20\ndone\n"}
    ]
    for page in ("excluded.html", "off.html", "myst_off.html"):
        assert "<py-repl" not in (base / "html" / page).read_text()


def test_the_cli_finds_the_same_snippets(
    built: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = built
    docs = base / "project" / "docs"
    out = tmp_path / "check.json"
    status = main(
        ["check", str(docs), "--json", str(out), "--cache-dir", str(check_dir(tmp_path)), "-q"]
    )
    assert status == 0, capsys.readouterr().err
    results = json.loads(out.read_text())["results"]
    mine = sorted((Path(r["path"]).resolve(), r["line"]) for r in results)
    built_snippets = [s for page in snippets_of(base / "html").values() for s in page]
    theirs = sorted(((base / "project" / s.path).resolve(), s.line) for s in built_snippets)  # type: ignore[attr-defined]
    assert mine == theirs
    statuses = sorted(r["status"] for r in results)
    # (the global setup runs in each session: the pycon blocks' own too)
    assert statuses.count("static") == 2 and statuses.count("passed") == 24


def test_docstrings_read_from_another_copy_of_the_project_are_warned_about(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """autodoc documents what ``conf.py`` lets it import: here an older installed copy of the
    project, not the source ``pyrun_project`` builds, so the examples shown may not be the code
    that runs. Said once per module, at its first example's file and line; an unchanged module
    (``texts``: the same bytes as the wheel's) is not mentioned."""
    project = tmp_path / "project"
    shutil.copytree(ROOTS / "upgrade", project)
    installed = tmp_path / "site-packages"
    shutil.copytree(project / "src", installed)
    shapes = installed / "upgrade_fixture" / "shapes.py"
    shapes.write_text(shapes.read_text() + "\nOLD_RELEASE = True\n")
    conf = project / "docs" / "conf.py"
    conf.write_text(conf.read_text().replace('"..", "src"', f'"{installed}"'))
    build = sphinx_build(project / "docs", tmp_path / "html", cwd=project)
    assert build.status == 0, build.stderr
    log = re.sub(r"\x1b\[[0-9;]*m", "", build.stderr)  # Sphinx colours it where CI=true
    warned = [line for line in log.splitlines() if "are read from" in line]
    assert len(warned) == 1, build.stderr
    assert warned[0].startswith(f"{shapes}:")  # at the docstring's own file
    assert "docstring examples of upgrade_fixture.shapes" in warned[0]
    assert "whose upgrade_fixture/shapes.py differs" in warned[0]


def test_failing_upgrades_can_fail_the_build(tmp_path: Path, runtime_cache: Path) -> None:
    build = build_upgrade_root(tmp_path, "pyrun_check=error", "pyrun_upgrade_failing=error")
    assert build.status != 0
    assert re.search(r"shapes\.py:35: WARNING: pyrun: failed: OSError", build.stderr), build.stderr
    assert "Traceback (most recent call last)" not in build.stderr.split("WARNING")[0]


def test_other_builders_print_the_examples_as_written(tmp_path: Path, runtime_cache: Path) -> None:
    build = build_upgrade_root(tmp_path, builder="text")
    assert build.status == 0, build.stderr
    text = (tmp_path / "text" / "index.txt").read_text()
    assert ">>> 1 + 1" in text and ">>> x = 40" in text  # with their prompts, as written
    assert "GLOBAL = " not in text and "base = 10" not in text  # setups stay hidden


def test_the_doctest_builder_still_tests_every_example(tmp_path: Path) -> None:
    """With pyrun on, ``sphinx-build -b doctest`` tests what it tests without it, with the same
    verdicts, also from doctrees an html build left (``-d`` shared, as Sphinx's Makefile does):
    it found no example once they were swapped for widgets, and a project's doctest job passed
    without testing anything. It does not run our check a second time."""
    base = build_upgrade_root(tmp_path, "pyrun_check=error")  # the html build, widgets made
    assert base.status == 0, base.stderr
    docs, doctrees = tmp_path / "project" / "docs", tmp_path / "html" / ".doctrees"
    ours = sphinx_build(docs, tmp_path / "doctest", "doctest", "-d", str(doctrees), "-D",
                        "pyrun_check=error", cwd=tmp_path / "project")  # fmt: skip
    without = "myst_parser,sphinx.ext.autodoc,sphinx.ext.napoleon,sphinx.ext.doctest"
    plain = sphinx_build(docs, tmp_path / "plain", "doctest", "-D", f"extensions={without}",
                         cwd=tmp_path / "project")  # fmt: skip

    def summary(out: Path) -> str:
        return (out / "output.txt").read_text(encoding="utf-8").partition("Doctest summary")[2]

    assert re.search(r"\b[1-9]\d* tests", summary(tmp_path / "plain")), summary(tmp_path / "plain")
    assert summary(tmp_path / "doctest") == summary(tmp_path / "plain")
    assert ours.status == plain.status == 1  # the root has examples failing in CPython
    assert "pyrun: failed" not in ours.stderr and "pyrun check" not in ours.stdout
    # the html pages show each example once: as its widget
    page = BeautifulSoup(
        (tmp_path / "html" / "index.html").read_text(encoding="utf-8"), "html.parser"
    )
    shown = [pre for pre in page.find_all("pre") if "x = 40" in pre.get_text()]
    assert shown and all(pre.find_parent(class_="pyrun-widget") for pre in shown), shown


def test_numpydoc_docstrings_are_upgraded_like_napoleons(
    tmp_path: Path, runtime_cache: Path
) -> None:
    extensions = "myst_parser,sphinx.ext.autodoc,numpydoc,sphinx.ext.doctest,pyrun_docs.sphinx_ext"
    build = build_upgrade_root(tmp_path, f"extensions={extensions}", "pyrun_check=warn")
    assert build.status == 0, build.stderr
    api = snippets_of(tmp_path / "html")["api"]
    assert [(s.path, s.line, s.options.module) for s in api] == [  # type: ignore[attr-defined]
        ("docs/conf.py", 18, None),  # doctest_global_setup of the page's group
        ("src/upgrade_fixture/shapes.py", 13, "upgrade_fixture.shapes"),
        ("src/upgrade_fixture/shapes.py", 20, "upgrade_fixture.shapes"),  # indented, same session
        ("src/upgrade_fixture/shapes.py", 34, "upgrade_fixture.shapes"),
        # a factory-made function whose docstring is written in another module
        ("src/upgrade_fixture/texts.py", 8, "upgrade_fixture.shapes"),
    ]
    assert shown((tmp_path / "html" / "api.html").read_text()).count("<py-repl") == 4


MARKDOWN = """# Upgraded

```pycon
>>> x = 20
>>> x + 1
21
```

!!! note "Inside an admonition"

    ```python
    print("from python")
    ```

```{.python .no-pyrun}
print("not a widget")
```

```python
def fragment(...):
```

```pycon
>>> import subprocess
>>> subprocess.run(["true"]).returncode
0
```

```pycon
>>> 1
1
>>>2
```
"""


def test_markdown_fences_are_rewritten_in_place() -> None:
    from pyrun_docs.upgrade import upgrade_markdown

    text, fences, problems = upgrade_markdown(MARKDOWN, ["doctest", "python"])
    assert text.count("\n") == MARKDOWN.count("\n")  # lines stay where they were
    lines = text.split("\n")
    assert lines[2] == '```pyrun session="default"' and lines[10] == "    ```pyrun"
    assert sorted(fences) == [3, 11, 23]
    assert fences[11].language == "python" and fences[11].code == 'print("from python")'
    assert [line for line, _ in problems] == [32]  # doctest cannot parse ">>>2", its line
    assert "```{.python .no-pyrun}" in text and "```python\ndef fragment" in text
    only_doctest = upgrade_markdown(MARKDOWN, ["doctest"])[1]
    assert sorted(only_doctest) == [3, 23]


def test_a_fence_without_a_language_holding_a_transcript_is_one() -> None:
    """``python -m doctest`` runs every ``>>>`` of a page: a bare fence's too (pyfields' pages
    had 10 of their 35 examples in such fences, left plain and unchecked without a word), also
    one with only highlight options. A bare fence of anything else stays as it is; one kept
    static is shown as a bare fence is, plain text."""
    from pyrun_docs.mkdocs_plugin.static import plain_block

    from pyrun_docs.upgrade import upgrade_markdown

    fenced = (
        "```\n>>> 1 + 1\n2\n```\n\n"
        '``` hl_lines="1"\n# doubled\n>>> 2 * 2\n4\n```\n\n'
        "```\n$ pip install x\n```\n\n```bash\n>>> 3\n3\n```\n"
    )
    text, fences, _ = upgrade_markdown(fenced, ["doctest"])
    assert sorted(fences) == [1, 6], text
    assert text.split("\n")[5] == '```pyrun session="default" hl_lines="1"'
    assert "```\n$ pip install x" in text and "```bash\n>>> 3" in text
    assert plain_block(fences[1], "note").startswith('<div class="language-text highlight">')


def test_an_upgraded_fence_keeps_its_options() -> None:
    """A fence's title, hl_lines and linenums go to its widget, and its title to the static block
    it may become (dirty-equals' every example had a title; its widgets lost them all)."""
    from pyrun_docs.mkdocs_plugin.static import plain_block

    from pyrun_docs.upgrade import upgrade_markdown

    fenced = '```py title="Usage" hl_lines="2" linenums="5"\nx = 1\nprint(x)\n```\n'
    text, fences, _ = upgrade_markdown(fenced, ["python"])
    assert text.split("\n")[0] == '```pyrun title="Usage" hl_lines="2" linenums="5"'
    assert fences[1].title == "Usage"
    block = plain_block(fences[1], "Does not run in the browser: OSError")
    # as pymdownx.highlight writes it: title and code in one box (a second div.highlight
    # around the code parted them by a gap in mkdocs-material)
    assert block.startswith(
        '<div class="language-py highlight"><span class="filename">Usage</span><pre><span></span>'
        "<code>"
    )
    assert block.count('class="highlight"') + block.count(' highlight"') == 1, block


def test_a_fence_with_another_extension_s_options_is_left_to_it() -> None:
    """markdown-exec runs ``exec="on"`` fences at build time and shows their output: upgraded,
    that output was gone and ``exec`` an "unknown option" (mkdocstrings-python's docs). A fence
    with mkdocs-material code annotations (``# (1)!``) stays too: a widget showed the marker
    and the annotations as a plain list (griffe's docs); so does one with a bare flag
    (pymdown-extensions' ```` ```py play ````)."""
    from pyrun_docs.upgrade import upgrade_markdown

    fenced = (
        '```python exec="1"\nprint("**made**")\n```\n\n'
        '```{.python exec="on" result="text"}\nprint(1)\n```\n\n'
        '```pycon exec="true"\n>>> 1\n1\n```\n\n'
        '```python linenums="1"\nprint(2)\n```\n\n'
        "```python\nx = 1  # (1)!\n```\n\n1. mkdocs-material's code annotation\n\n"
        "```py play\nprint(3)\n```\n"
    )
    text, fences, _ = upgrade_markdown(fenced, ["python", "doctest"])
    assert list(fences) == [14] and text.count("```pyrun") == 1
    # transcripts under Pygments' other name and pymdown-extensions' are transcripts too
    other = "```python-console\n>>> 1\n1\n```\n\n```pycon3\n>>> 2\n2\n```\n"
    assert list(upgrade_markdown(other, ["doctest"])[1]) == [1, 6]


def test_mkdocs_upgrades_fences_and_keeps_what_cannot_run(
    tmp_path: Path, runtime_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_mkdocs import mkdocs_build

    root = tmp_path / "mk"
    shutil.copytree(ROOTS / "mkdocs", root)
    (root / "docs" / "snippets.md").write_text(MARKDOWN)
    (root / "docs" / "sub" / "other.md").write_text(
        "---\npyrun: off\n---\n\n```pycon\n>>> 1\n1\n```\n"
    )
    yml = (root / "mkdocs.yml").read_text()
    (root / "mkdocs.yml").write_text(
        yml.replace('check: "off"', "upgrade: [doctest, python]\n      check: error")
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output  # a static example does not fail `check: error`
    assert (
        "docs/snippets.md:32: this example stays a plain block: doctest cannot parse"
        in build.output
    )
    raw = BeautifulSoup(build.read("snippets/index.html"), "html.parser")
    hidden = raw.select("div.pyrun-widget[hidden] py-repl[data-in-order]")  # runs in its place
    assert len(hidden) == 1 and "subprocess" in hidden[0]["data-transcript"], hidden
    page = shown(build.read("snippets/index.html"))
    assert page.count("<py-repl") == 2
    assert "Does not run in the browser: OSError: [Errno 138] emscripten" in page
    static = page.split("Inside an admonition")[1]
    assert 'class="language-pycon highlight"' in static and "subprocess" in static
    assert "<py-repl" not in build.read("sub/other/index.html")  # pyrun: off
    # the check without a build finds the same snippets, at the same lines
    out = tmp_path / "check.json"
    status = main(["check", str(root / "docs"), "--config", str(root / "mkdocs.yml"),
                   "--json", str(out), "--cache-dir", str(check_dir(tmp_path)), "-q"])  # fmt: skip
    assert status == 1  # the unparsable transcript is an error for the command
    results = json.loads(out.read_text())["results"]
    found = [(Path(r["path"]).name, r["line"], r["status"]) for r in results]
    assert [f for f in found if f[0] == "snippets.md"] == [
        ("snippets.md", 4, "passed"),
        ("snippets.md", 12, "passed"),
        ("snippets.md", 24, "static"),
        ("snippets.md", 32, "error"),  # the transcript doctest cannot parse: counted, once
    ]
    assert not [f for f in found if f[0] == "other.md"]
    assert capsys.readouterr().out.count("snippets.md:32: error: this example stays a plain") == 1


def test_a_markdown_transcript_runs_as_python_m_doctest_runs_it(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """A Markdown page's transcripts are tested with ``python -m doctest`` or pytest's
    ``--doctest-glob``, whose examples see ``__name__ == "__main__"`` (``<class '__main__.A'>``);
    they ran as ``sphinx.ext.doctest`` runs a group, without ``__name__``, and failed. The
    widget runs them so too (``data-main``); a Sphinx page's stay as its builder's."""
    from test_mkdocs import mkdocs_build

    root = tmp_path / "mk"
    shutil.copytree(ROOTS / "mkdocs", root)
    fence = (
        "```pycon\n>>> class A: pass\n>>> A\n<class '__main__.A'>\n>>> __name__\n'__main__'\n```\n"
    )
    (root / "docs" / "snippets.md").write_text("# Main\n\n" + fence)
    yml = (root / "mkdocs.yml").read_text()
    (root / "mkdocs.yml").write_text(
        yml.replace('check: "off"', "upgrade: [doctest]\n      check: error")
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    assert build.read("snippets/index.html").count("data-main") == 1
    out = tmp_path / "check.json"
    status = main(["check", str(root / "mkdocs.yml"), "--json", str(out),
                   "--cache-dir", str(check_dir(tmp_path)), "-q"])  # fmt: skip
    results = [
        r for r in json.loads(out.read_text())["results"] if r["path"].endswith("snippets.md")
    ]
    assert [r["status"] for r in results] == ["passed"], results
    assert status == 0


def mkdocstrings_site(
    root: Path, page: str, head: str, *, numpy: bool = False, check: bool = True
) -> Path:
    """The upgrade fixture's project as an MkDocs site of one page, *page*: its ``mkdocs.yml``
    is *head* (name, theme, Markdown extensions), then mkdocstrings (``paths: [src]``; numpy
    docstrings with *numpy*) and pyrun upgrading the project's examples (a failure fails the
    build with *check*)."""
    shutil.copytree(ROOTS / "upgrade", root, ignore=shutil.ignore_patterns("docs"))
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text(page)
    style = "          options:\n            docstring_style: numpy\n" if numpy else ""
    fail = "      check: error\n" if check else ""
    (root / "mkdocs.yml").write_text(
        head
        + "plugins:\n  - mkdocstrings:\n      handlers:\n        python:\n          paths: [src]\n"
        + style
        + f'  - pyrun:\n      upgrade: [doctest]\n{fail}      project: "."\n'
    )
    return root


def test_mkdocstrings_docstring_examples_are_upgraded(
    tmp_path: Path, runtime_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mkdocstrings renders docstrings straight to HTML: their examples are found there, run in a
    copy of their module's globals (one session per object) and reported at the source line."""
    from test_mkdocs import mkdocs_build

    root = mkdocstrings_site(
        tmp_path / "strings",
        "# API\n\n::: upgrade_fixture.shapes.area\n\n::: upgrade_fixture.shapes.broken\n",
        "site_name: Strings\ntheme:\n  name: material\n  font: false\n"
        "markdown_extensions:\n  - pymdownx.superfences\n  - pymdownx.highlight\n",
        numpy=True,
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output  # area's examples pass; broken's is kept static
    assert "src/upgrade_fixture/shapes.py:35: static: OSError" in build.output
    page = shown(build.read("index.html"))
    assert page.count("<py-repl") == 2
    assert page.count('data-session="upgrade_fixture.shapes.area"') == 2
    assert 'data-module="upgrade_fixture.shapes"' in page
    static = page.split("cannot run in the browser")[1]
    assert "Does not run in the browser: OSError" in static and "<py-repl" not in static
    # the check without a build runs MkDocs' build to find them, at the same lines
    past = time.time() - 60  # files written just before a read are not trusted to be kept
    for path in [root, *root.rglob("*")]:
        os.utime(path, (past, past))
    out = tmp_path / "check.json"
    cache = str(check_dir(tmp_path))
    assert main(["check", str(root / "docs"), "--json", str(out), "--cache-dir", cache, "-q"]) == 0
    results = json.loads(out.read_text())["results"]
    expected = [
        ("upgrade_fixture/shapes.py", 13, "passed"),
        ("upgrade_fixture/shapes.py", 20, "passed"),
        ("upgrade_fixture/shapes.py", 34, "static"),
    ]
    assert [(r["path"].split("src/")[-1], r["line"], r["status"]) for r in results] == expected

    # the build's read is kept: an unchanged site is not built again; a changed module is
    def check_again(
        capsys: pytest.CaptureFixture[str] = capsys,
    ) -> tuple[str, list[tuple[str, int, str]]]:
        capsys.readouterr()
        assert main(["check", str(root / "docs"), "--json", str(out), "--cache-dir", cache]) == 0
        again = json.loads(out.read_text())["results"]
        found = [(r["path"].split("src/")[-1], r["line"], r["status"]) for r in again]
        return capsys.readouterr().err, found

    err, found = check_again()
    assert "building with MkDocs" not in err and found == [
        (p, n, "cached" if s == "passed" else s) for p, n, s in expected
    ]
    shapes = root / "src" / "upgrade_fixture" / "shapes.py"
    shapes.write_text("\n\n" + shapes.read_text())  # every example two lines down
    err, found = check_again()
    assert "building with MkDocs" in err and [n for _, n, _ in found] == [15, 22, 36]


def test_mkdocstrings_examples_are_judged_as_written_not_as_trimmed(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """mkdocstrings-python renders examples without ``# doctest:`` comments and with
    ``<BLANKLINE>`` lines left empty (griffe's ``trim_doctest_flags``, on by default): judged
    so, a ``+SKIP`` example ran, ``+NORMALIZE_WHITESPACE`` was lost and a ``<BLANKLINE>`` output
    failed, "in CPython too" (bigtree's). They run as the docstring has them, as its doctests
    do; the widget still hides the comments."""
    from test_mkdocs import mkdocs_build

    root = mkdocstrings_site(
        tmp_path / "trimmed",
        "# API\n\n::: upgrade_fixture.trimmed.banner\n",
        "site_name: Trimmed\nmarkdown_extensions:\n  - pymdownx.superfences\n"
        "  - pymdownx.highlight\n",
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    assert "1 passed" in build.output or "all passed" in build.output, build.output
    soup = BeautifulSoup(build.read("index.html"), "html.parser")
    (widget,) = soup.select("py-repl")
    written = str(widget["data-transcript"])
    assert "hi\n<BLANKLINE>\n>>> banner" in written and "# doctest: +SKIP" in written
    code = widget.select_one(".pyrun-code")
    assert code is not None and "doctest:" not in code.get_text()


def test_examples_markdown_shows_as_quotes_are_upgraded(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """griffe reads a Google-style ``Example:`` section (not ``Examples:``) and a description as
    Markdown, where ``>>>`` lines are quotes three deep: their examples showed as nested quotes
    and went unchecked, while doctest runs them (netutils: 41 of 407). They are widgets, taken as
    the file has them, in the docstring's session, in order."""
    from test_mkdocs import mkdocs_build

    root = mkdocstrings_site(
        tmp_path / "quoted",
        "# API\n\n::: upgrade_fixture.quoted.double\n",
        "site_name: Quoted\nmarkdown_extensions:\n  - pymdownx.superfences\n"
        "  - pymdownx.highlight\n",
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    soup = BeautifulSoup(build.read("index.html"), "html.parser")
    assert not soup.select("div.doc-object blockquote")
    written = [str(w["data-transcript"]) for w in soup.select("py-repl")]
    assert written == [
        ">>> double(2)\n4\n",
        ">>> double(\"ab\")\n'abab'\n>>> for n in range(2):\n...     print(double(n))\n0\n2\n"
        "\n>>> double(2) == 5\nFalse\n",
        ">>> double(3)\n6\n",
    ]
    out = tmp_path / "check.json"
    cache = str(check_dir(tmp_path))
    assert main(["check", str(root / "docs"), "--json", str(out), "--cache-dir", cache, "-q"]) == 0
    results = json.loads(out.read_text())["results"]
    assert [(r["line"], r["status"]) for r in results] == [
        (9, "passed"), (13, "passed"), (24, "passed")
    ]  # fmt: skip


@pytest.mark.parametrize("highlight", ["  - pymdownx.highlight\n", ""])
def test_docstring_examples_of_a_documented_module_s_members_are_upgraded(
    tmp_path: Path, runtime_cache: Path, highlight: str
) -> None:
    """``::: package.module`` renders each member with a heading that carries the member's id
    (no anchor of its own, as humanize's docs are written): its examples are found and named by
    it too; without pymdownx.highlight the examples are bare ``<pre>`` blocks, found as well."""
    from test_mkdocs import mkdocs_build

    root = mkdocstrings_site(
        tmp_path / "module",
        "# API\n\n::: upgrade_fixture.shapes\n",
        f"site_name: Module\nmarkdown_extensions:\n  - pymdownx.superfences\n{highlight}",
        numpy=True,
        check=False,
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    page = build.read("index.html")
    assert 'id="upgrade_fixture.shapes.area"' in page  # on its heading
    assert page.count('data-session="upgrade_fixture.shapes.area"') == 2
    assert "src/upgrade_fixture/shapes.py:35: static: OSError" in build.output


def test_a_mkdocs_build_that_aborts_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When MkDocs' build (run to find mkdocstrings' examples) aborts, the command names what
    MkDocs logged (it raises only "Aborted with a BuildError!"): here a module mkdocstrings
    cannot import, on the page that asked for it."""
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "index.md").write_text("# API\n\n::: pyrun_no_such_module.thing\n")
    (root / "mkdocs.yml").write_text(
        "site_name: Broken\nmarkdown_extensions:\n  - pymdownx.superfences\n"
        "plugins:\n  - mkdocstrings\n  - pyrun:\n      upgrade: [doctest]\n"
    )
    assert main(["check", str(root / "docs"), "--cache-dir", str(tmp_path / "c"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "MkDocs could not build the project: " in err
    assert "Error reading page 'index.md': Could not collect 'pyrun_no_such_module.thing'" in err


BROKEN_EVERYWHERE = """Examples
========

A typo in an output:

>>> 1 + 1
3

One the browser cannot run (no processes in WebAssembly):

>>> import subprocess
>>> subprocess.run(["true"]).returncode
0

.. doctest:: other

   >>> import a_module_neither_python_has
   >>> a_module_neither_python_has.x
   1

.. testcode::

   print(10 / 0)

.. code-block:: python

   response = client.get(url)  # an illustration, never meant to run

.. doctest:: third

   >>> import pyodide  # here only in the browser
   >>> import subprocess
   >>> subprocess.run(["true"]).returncode
   0
"""


def test_an_example_failing_in_cpython_too_fails_the_check(
    tmp_path: Path, runtime_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pyrun_upgrade_failing = "static"`` keeps what fails only in the browser static; an
    example of the doctest builder's (a transcript, a testcode block) that fails in this Python
    too is a failure, as ``sphinx-build -b doctest`` says. Upgraded ``python`` blocks (never run
    by the doctest builder) and an example this Python cannot judge (a module it lacks: the
    browser has it) stay static; an import that fails in both Pythons alike (a module in no
    package, a typo) is a failure. The verdict is kept: the next check starts no Python for
    it, unless the module an import missed is there now."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(
        'extensions = ["sphinx.ext.doctest", "pyrun_docs.sphinx_ext"]\n'
        'pyrun_upgrade = ["doctest", "python"]\n'
    )
    (docs / "index.rst").write_text(BROKEN_EVERYWHERE)
    folder = check_dir(tmp_path)

    def check(*extra: str) -> dict[int, dict[str, str]]:
        out = tmp_path / "check.json"
        main(["check", str(docs), "--json", str(out), "--cache-dir", str(folder), "-q", *extra])
        return {r["line"]: r for r in json.loads(out.read_text())["results"]}

    results = check()
    typo, process, missing, testcode, illustration, lacking = (
        results[n] for n in (6, 11, 17, 23, 27, 31)
    )
    assert typo["status"] == "failed" and "(fails in CPython 3." in typo["message"]
    assert testcode["status"] == "failed"
    assert "ZeroDivisionError" in testcode["message"] and "fails in CPython" in testcode["message"]
    assert process["status"] == "static" and "does not support processes" in process["message"]
    assert missing["status"] == "failed" and "fails in CPython" in missing["message"], missing
    assert illustration["status"] == "static" and "CPython" not in illustration["message"]
    assert lacking["status"] == "static" and "CPython" not in lacking["message"], lacking

    def no_python(*args: object, **kwargs: object) -> None:
        raise AssertionError("a kept verdict started Python again")

    monkeypatch.setattr("pyrun_docs.check.cpython.subprocess.Popen", no_python)
    again = check()
    assert [again[n]["status"] for n in (6, 11, 17, 23, 27, 31)] == [
        "failed", "static", "failed", "failed", "static", "static"
    ]  # fmt: skip
    monkeypatch.undo()
    # the module installed in this Python since (bleach's docs after ``pip install tinycss2``):
    # the kept "fails in CPython too" no longer holds; this Python is asked again: static
    installed = tmp_path / "site-packages"
    installed.mkdir()
    (installed / "a_module_neither_python_has.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(installed))
    now = check()
    assert now[17]["status"] == "static" and "CPython" not in now[17]["message"], now[17]
    assert now[6]["status"] == "failed"
    monkeypatch.undo()
    with (docs / "conf.py").open("a") as conf:
        conf.write('pyrun_upgrade_failing = "error"\n')  # every failure fails: nothing to ask
    strict = check()
    assert [strict[n]["status"] for n in (6, 11, 17, 23, 27, 31)] == ["failed"] * 6
    assert not any("CPython" in r["message"] for r in strict.values())


def test_setup_written_before_the_title_is_shown_under_it(tmp_path: Path) -> None:
    """A ``testsetup`` as a file's first lines: its "Setup code (runs first)" toggle sat above
    the page's heading (boolean.py's user guide)."""
    docs = upgraded_docs(
        tmp_path,
        ".. testsetup:: *\n\n   answer = 42\n\nGuide\n=====\n\nText.\n\n>>> answer\n42\n",
        'pyrun_check = "off"\n',
    )
    build = sphinx_build(docs, tmp_path / "html")
    assert build.status == 0, build.stderr
    body = BeautifulSoup((tmp_path / "html" / "index.html").read_text(), "html.parser")
    title, setup = body.find("h1"), body.find("details", class_="pyrun-setup")
    assert title is not None and setup is not None
    assert title.find_next("details", class_="pyrun-setup") is setup  # under the title
    assert setup.find_parent("section") is title.find_parent("section")
    assert "answer = 42" in setup.get_text()


def test_only_examples_the_doctest_builder_runs_are_run_again_in_cpython(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """A ``pycon`` code block or a ``::`` literal block of ``>>>`` lines that fails in the
    browser was run again in the build's Python, which the doctest builder never does: on the
    build machine, not in a sandbox (fs's examples wrote into the home folder, and the next check
    said "failed: FileExistsError"). Only what the builder runs is asked; the rest stays static
    without blaming the browser."""
    marks = {name: tmp_path / f"{name}.txt" for name in ("pycon", "literal", "doctest")}

    def example(name: str) -> str:
        return (
            f"   >>> import pathlib, subprocess\n"
            f"   >>> pathlib.Path({str(marks[name])!r}).write_text('ran')\n   3\n"
            "   >>> subprocess.run(['true']).returncode\n   0\n"
        )

    docs = upgraded_docs(
        tmp_path,
        "Page\n====\n\n.. code-block:: pycon\n\n"
        + example("pycon")
        + "\nA literal block::\n\n"
        + example("literal")
        + "\n.. doctest::\n\n"
        + example("doctest"),
    )
    out = tmp_path / "check.json"
    main(["check", str(docs), "--json", str(out), "--cache-dir", str(check_dir(tmp_path)), "-q"])
    results = json.loads(out.read_text())["results"]
    assert [r["status"] for r in results] == ["static"] * 3, results
    assert marks["doctest"].exists()  # asked: the builder runs it (it passes there: static)
    assert not marks["pycon"].exists() and not marks["literal"].exists()
    build = sphinx_build(docs, tmp_path / "html")
    assert build.status == 0, build.stderr
    page = (tmp_path / "html" / "index.html").read_text()
    assert page.count("Does not run as shown: ") == 2
    assert page.count("Does not run in the browser: ") == 1


GENERATING_EXTENSION = """
from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import ViewList
from sphinx.util.nodes import nested_parse_with_titles

TEXT = "".join(f"Filler line {n}.\\n\\n" for n in range(200)) + ">>> 2 + 2\\n5\\n"


class Generated(Directive):
    def run(self):
        node = nodes.compound()
        nested_parse_with_titles(self.state, ViewList(TEXT.split("\\n"), source=""), node)
        return node.children


def setup(app):
    app.add_directive("generated", Generated)
"""


def test_an_example_a_directive_generated_is_reported_within_its_page(tmp_path: Path) -> None:
    """Text a directive generates and parses (pygments' lexer docs: ``ViewList(lines,
    source="")``) has lines counted in that text: ``docs/lexers.rst:6284`` of a 69-line file.
    Reported at the page's line before it."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "gen_ext.py").write_text(GENERATING_EXTENSION)
    (docs / "conf.py").write_text(
        "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n"
        'extensions = ["sphinx.ext.doctest", "pyrun_docs.sphinx_ext", "gen_ext"]\n'
        'pyrun_upgrade = ["doctest"]\n'
    )
    (docs / "index.rst").write_text("Page\n====\n\nText.\n\n.. generated::\n")
    out = tmp_path / "check.json"
    main(["check", str(docs), "--json", str(out), "--cache-dir", str(check_dir(tmp_path)), "-q"])
    (result,) = json.loads(out.read_text())["results"]
    assert result["status"] == "failed" and result["path"].endswith("index.rst")
    assert result["line"] == 4, result  # "Text.", the last line of the page before it


def test_a_kept_cpython_answer_is_asked_again_once_a_distribution_is_installed(
    tmp_path: Path, runtime_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer depends on what the build's Python has installed beyond imports: PyJWT's
    examples still "failed in CPython too" ("Do you have cryptography installed?", from its own
    ``except ImportError``) after ``pip install cryptography``, while the doctest builder
    passed them."""
    docs = upgraded_docs(
        tmp_path,
        "Page\n====\n\n.. doctest::\n\n"
        "   >>> from importlib.metadata import version\n"
        '   >>> version("pyrun-probe-dist")\n'
        "   '1.0'\n",
    )
    folder = check_dir(tmp_path)

    def status() -> str:
        out = tmp_path / "check.json"
        main(["check", str(docs), "--json", str(out), "--cache-dir", str(folder), "-q"])
        (result,) = json.loads(out.read_text())["results"]
        return f"{result['status']}: {result['message']}"

    assert status().startswith("failed: PackageNotFoundError")
    site = tmp_path / "site-packages"
    (site / "pyrun_probe_dist-1.0.dist-info").mkdir(parents=True)
    (site / "pyrun_probe_dist-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pyrun-probe-dist\nVersion: 1.0\n"
    )
    monkeypatch.syspath_prepend(str(site))
    assert status().startswith("static: ")  # runs in CPython now: the browser lacks it


def autodoc_checked(
    tmp_path: Path, source: str, members: bool = True, conf: str = "", after: str = ""
) -> tuple[str, list[dict[str, Any]]]:
    """A docs folder documenting a module of *source* (a fresh name) with ``automodule``, then
    the page's text *after*, upgraded and checked by the command: the module's name and the
    results."""
    docs = tmp_path / "docs"
    docs.mkdir(parents=True)
    module = f"autodoc_{uuid.uuid4().hex}"
    (docs / f"{module}.py").write_text(source)
    (docs / "conf.py").write_text(
        "import os, sys\nsys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n"
        'extensions = ["sphinx.ext.autodoc", "sphinx.ext.doctest", "pyrun_docs.sphinx_ext"]\n'
        'pyrun_upgrade = ["doctest"]\n' + conf
    )
    listed = "   :members:\n" if members else ""
    (docs / "index.rst").write_text(
        f"API\n===\n\nText.\n\n.. automodule:: {module}\n{listed}{after}"
    )
    out = tmp_path / "check.json"
    main(["check", str(docs), "--json", str(out), "--cache-dir", str(check_dir(tmp_path)), "-q"])
    return module, json.loads(out.read_text())["results"]


def test_a_module_docstring_s_examples_are_its_module_s(tmp_path: Path) -> None:
    """Sphinx gives the blocks of an ``automodule``'s own docstring no source nor line: they were
    reported at their page's line 1 and ran without their module's globals (ftfy's), unlike a
    function's. They are at their module's file and line, and see its names."""
    source = (
        '"""A module.\n\nIts example::\n\n    >>> helper()\n    \'ok\'\n\n'
        'And a wrong one:\n\n    >>> 1 + 1\n    3\n"""\n\n\n'
        'def helper():\n    return "ok"\n'
    )
    conf = 'pyrun_path = ["."]\npyrun_upgrade_failing = "error"\n'
    # the page's own example after it, in a block quote (Sphinx gives it no source either): the
    # page's, not the module's (requests' quickstart.rst:298 was reported at models.py:298)
    after = "\nText with an example:\n\n    >>> 40 + 2\n    42\n"
    module, results = autodoc_checked(tmp_path, source, members=False, conf=conf, after=after)
    found = [(Path(r["path"]).name, r["line"], r["status"]) for r in results]
    assert found == [
        (f"{module}.py", 5, "passed"),
        (f"{module}.py", 10, "failed"),
        ("index.rst", 10, "passed"),
    ], results


def test_an_import_nothing_provides_fails_after_one_only_cpython_can_do(
    tmp_path: Path, runtime_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block importing a module only the build's Python has (conf.py's sys.path), then one no
    package provides: the doctest builder fails the second; it stayed static (CPython's failure
    was not Pyodide's first) and the check passed (zope.component's ``ZODB``). It is not
    checked, naming the folder the browser lacks; with that folder on the path it fails as in
    the doctest builder."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "localonly_fixture.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(extra))
    page = ">>> import localonly_fixture\n>>> import nosuchmodule_xyz\n>>> 1 + 1\n2\n"
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    (result,) = results
    assert result["status"] == "error", result
    assert f"imports localonly_fixture from {extra}" in result["message"], result
    assert status == 1
    conf = f"pyrun_path = [{str(extra)!r}]\n"
    status, results = checked(doctest_site(tmp_path / "pathed", conf, page), tmp_path)
    (result,) = results
    assert result["status"] == "failed", result
    assert "No module named 'nosuchmodule_xyz'" in result["message"]
    assert status == 1


def test_a_docstring_example_failing_in_cpython_too_fails_the_check(tmp_path: Path) -> None:
    """A docstring's example is asked about as well, with its module's globals: one that fails
    in this Python too fails the check (as in the doctest builder), one that runs here stays
    static."""
    source = (
        "import subprocess\n\n\n"
        'def one():\n    """One.\n\n    >>> one()\n    2\n    """\n    return 1\n\n\n'
        'def spawn():\n    """A process.\n\n    >>> subprocess.run(["true"]).returncode\n'
        '    0\n    """\n'
    )
    conf = 'pyrun_path = ["."]\n'  # the browser imports the docs folder's module too
    results = {r["line"]: r for r in autodoc_checked(tmp_path / "a", source, conf=conf)[1]}
    assert results[7]["status"] == "failed", results
    assert "(fails in CPython 3." in results[7]["message"], results[7]["message"]
    assert results[7]["message"].startswith("OutputMismatch")
    assert results[16]["status"] == "static"  # runs in this Python: the browser's problem
    # without that setting, neither is checked, and the reason says what to set (requests' and
    # python-gitlab's said only "importing modb for this docstring's globals failed")
    module, found = autodoc_checked(tmp_path / "b", source)
    results = {r["line"]: r for r in found}
    assert {results[7]["status"], results[16]["status"]} == {"error"}, results
    assert results[7]["message"].endswith(
        f"the build imports {module} from {tmp_path / 'b' / 'docs'}, which the browser does not "
        "have: add that folder to the pyrun_path setting (or set pyrun_project to the project "
        "that holds it)"
    ), results[7]["message"]


def test_an_example_hanging_in_cpython_too_stays_static_and_is_asked_once(
    tmp_path: Path, runtime_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No failure without proof: an example past its timeout in CPython too (after timing out
    in the browser) is not judged there; that is remembered, so the next check waits for no
    Python again."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(
        'extensions = ["pyrun_docs.sphinx_ext"]\npyrun_upgrade = ["doctest"]\n'
    )
    (docs / "index.rst").write_text("Hangs\n=====\n\n>>> while True:\n...     pass\n")
    folder = check_dir(tmp_path)

    def check() -> dict[str, str]:
        out = tmp_path / "check.json"
        main(
            [
                "check",
                str(docs),
                "--json",
                str(out),
                "--cache-dir",
                str(folder),
                "-q",
                "--timeout",
                "1",
            ]
        )
        (result,) = json.loads(out.read_text())["results"]
        return dict(result)

    first = check()
    assert first["status"] == "static", first
    assert first["message"].endswith(f"(it times out in CPython 3.{sys.version_info[1]} too)")

    def no_python(*args: object, **kwargs: object) -> None:
        raise AssertionError("a remembered timeout started Python again")

    monkeypatch.setattr("pyrun_docs.check.cpython.subprocess.Popen", no_python)
    again = check()
    assert again["status"] == "static" and again["message"] == first["message"]


def test_cpython_runs_examples_outside_an_event_loop_as_the_doctest_builder(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """The doctest builder runs examples with no event loop running, so an example's own
    ``asyncio.run()`` works there; the second opinion ran them under ``run_until_complete``, where
    it raised "cannot be called from a running event loop": an example failing only in the
    check's Node (no stack switching there) was a failure "in CPython too". What awaits at the
    top level still runs, in one loop kept for the session."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(
        'extensions = ["pyrun_docs.sphinx_ext"]\npyrun_upgrade = ["doctest"]\n'
    )
    (docs / "index.rst").write_text(
        "Loop\n====\n\n"
        ">>> import asyncio\n>>> async def main():\n...     return 42\n"
        ">>> value = asyncio.run(main())\n\n"
        "Later:\n\n"
        ">>> value\n42\n"
        ">>> import subprocess\n>>> subprocess.run(['true']).returncode\n0\n"
    )
    out = tmp_path / "check.json"
    main(["check", str(docs), "--json", str(out), "--cache-dir", str(check_dir(tmp_path)), "-q"])
    first, later = json.loads(out.read_text())["results"]
    # without stack switching (the check's Node, most browsers): static, as the docs say
    assert first["status"] == "static" and "stack switching" in first["message"], first
    assert later["status"] == "static" and "CPython" not in later["message"], later


def test_the_second_opinion_drives_what_awaits_in_its_loop() -> None:
    """:func:`cpython._drive`: a coroutine that never awaits runs with no loop running (its
    ``asyncio.run`` works); one that awaits goes on in the given loop, its exceptions raised
    where it awaits."""
    import asyncio

    from pyrun_docs.check.cpython import _drive

    loop = asyncio.new_event_loop()

    async def plain() -> str:
        async def inner() -> int:
            return 7

        return str(asyncio.run(inner()))

    async def awaiting() -> str:
        await asyncio.sleep(0)
        future = loop.create_future()
        loop.call_soon(future.set_exception, ValueError("late"))
        try:
            await future
        except ValueError as exc:
            return f"{asyncio.get_running_loop() is loop} {exc}"
        return "no"

    answers: list[str] = []

    def drive() -> None:  # a thread of its own: a browser test's Playwright runs a loop in this one
        answers.extend([_drive(plain(), loop), _drive(awaiting(), loop)])

    thread = threading.Thread(target=drive)
    thread.start()
    thread.join()
    loop.close()
    assert answers == ["7", "True late"]


INCLUDE_HOOK = '''
from mkdocs.plugins import event_priority

README = """
## Usage (included)

```pycon
>>> 40 + 2
42
```

```pycon
>>> import subprocess
>>> subprocess.run(["true"]).returncode
0
```
"""


@event_priority(100)  # before pyrun's, as a plugin listed first (include-markdown) runs
def on_page_markdown(markdown, page, **kwargs):
    return markdown + README
'''


def test_examples_another_plugin_brings_into_a_page_are_upgraded_too(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """A plugin that adds text to a page before ours (include-markdown pulling a README in, as
    humanize's docs do) brings fences the page's source does not have: they are upgraded
    examples like the page's own (one only the browser cannot run stays a plain block), not
    widgets an author wrote; they are reported at the page."""
    from test_mkdocs import mkdocs_build

    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "index.md").write_text("# Home\n\n```pycon\n>>> 1 + 1\n2\n```\n")
    (root / "include_hook.py").write_text(INCLUDE_HOOK)
    (root / "mkdocs.yml").write_text(
        "site_name: Included\nmarkdown_extensions:\n  - pymdownx.superfences\n"
        "hooks:\n  - include_hook.py\n"
        "plugins:\n  - pyrun:\n      upgrade: [doctest]\n      check: error\n"
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output  # the subprocess example is not a failure
    # at the page's last line, where the hook put the text: not past the end of the page (its
    # line in the fence added to that line, as for a file's own lines)
    assert re.search(r"docs/index\.md:7: static: OSError", build.output), build.output
    page = shown(build.read("index.html"))
    widgets = re.findall(r"<py-repl.*?</py-repl>", page, re.S)
    assert len(widgets) == 2  # the page's own example and the included 40 + 2
    assert "40 + 2" in widgets[1] and not any("subprocess" in w for w in widgets)
    assert "subprocess" in page and "Does not run in the browser: OSError" in page


def test_examples_pymdownx_snippets_includes_are_checked_where_they_are_written(
    tmp_path: Path, runtime_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pymdownx.snippets runs inside Markdown, after the plugin read the page: a ``python`` fence
    holding only ``--8<-- "hello.py"`` was checked as that line (by ``pyrun-docs check``; the
    build ran the file), and the examples of an included ``part.md`` stayed plain. Both are
    checked now, the build and the command agree, a failure names the included file's line,
    and a changed included file (outside ``docs/``) is read again by the command."""
    from test_mkdocs import mkdocs_build

    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "snippets").mkdir()
    (root / "snippets" / "hello.py").write_text("x = 6 * 7\nprint(x)\n")
    (root / "snippets" / "part.md").write_text("Included.\n\n```pycon\n>>> 1 + 1\n3\n```\n")
    (root / "docs" / "index.md").write_text(
        '# Home\n\n```python\n--8<-- "hello.py"\n```\n\n--8<-- "part.md"\n\n'
        "```pycon\n>>> 2 + 2\n4\n```\n"
    )
    (root / "mkdocs.yml").write_text(
        "site_name: Snippets\nmarkdown_extensions:\n  - pymdownx.superfences\n"
        "  - pymdownx.snippets:\n      base_path: [snippets]\n"
        "plugins:\n  - pyrun:\n      upgrade: [doctest, python]\n"
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    assert re.search(r"snippets/part\.md:4: .*OutputMismatch", build.output), build.output
    page = build.read("index.html")
    widgets = re.findall(r"<py-repl.*?</py-repl>", page, re.S)
    assert len(widgets) == 3, widgets  # hello.py's, part.md's (failing) and the page's own
    text = [re.sub(r"<[^>]+>", "", w) for w in widgets]
    assert "x = 6 * 7" in text[0] and "42" in text[0]  # the code and the output it printed
    assert "1 + 1" in text[1] and "2 + 2" in text[2]
    assert "--8&lt;--" not in page and "--8<--" not in page

    monkeypatch.chdir(root)  # base_path is relative to where MkDocs runs, as for mkdocs build
    cache = str(check_dir(tmp_path))

    def check() -> dict[str, str]:
        out = tmp_path / "check.json"
        main(["check", "mkdocs.yml", "--json", str(out), "-q", "--cache-dir", cache])
        results = json.loads(out.read_text())["results"]
        return {f"{r['path'].split('/')[-1]}:{r['line']}": r["status"] for r in results}

    assert check() == {"hello.py:1": "passed", "part.md:4": "failed", "index.md:10": "passed"}
    (root / "snippets" / "hello.py").write_text("print(undefined_name)\n")
    assert check()["hello.py:1"] == "static"  # the kept read saw the include change


def test_docstring_fences_stay_docstrings_with_pymdownx_snippets_on(tmp_path: Path) -> None:
    """mkdocstrings renders each docstring with a Markdown of the page's extensions: the plugin's
    look at the page after pymdownx.snippets must not take a docstring's text for the page's (its
    ```` ```python ```` fences became page widgets without the module's names, or a raw
    ```` ```pyrun ```` line, depending on the configuration; griffe's own docs)."""
    from test_mkdocs import mkdocs_build

    root = tmp_path / "site"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text(
        'class Helper:\n    """A helper."""\n\n\n'
        'def g():\n    """Do g.\n\n    ```python\n    >>> Helper.__doc__\n    \'A helper.\'\n'
        '\n    ```\n    """\n'
    )
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "pkg"\nversion = "0.1"\n[tool.setuptools]\npackages = ["pkg"]\n'
    )
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# Home\n\nText.\n\n::: pkg.mod.g\n")
    (root / "mkdocs.yml").write_text(
        "site_name: Strings\ntheme:\n  name: material\n  font: false\n"
        "markdown_extensions:\n  - pymdownx.snippets\n  - pymdownx.superfences\n"
        "plugins:\n  - mkdocstrings:\n      handlers:\n"
        "        python:\n          paths: [.]\n  - pyrun:\n      upgrade: [doctest, python]\n"
        '      check: error\n      project: "."\n'
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    page = build.read("index.html")
    assert "```pyrun" not in page and page.count("<py-repl") == 1, page
    assert 'data-module="pkg.mod"' in page

    # with upgrade: [python], a docstring's Python block is an example of its own that sees its
    # module's names (it stayed plain), as pymdownx.highlight marks it
    (root / "pkg" / "mod.py").write_text(
        (root / "pkg" / "mod.py").read_text()
        + '\n\ndef f():\n    """Do f.\n\n    ```python\n    print(Helper.__doc__)\n    ```\n\n'
        '    ```yaml\n    site_name: compiles as Python\n    ```\n    """\n'
    )
    (root / "docs" / "index.md").write_text("# Home\n\n::: pkg.mod.g\n\n::: pkg.mod.f\n")
    config = (root / "mkdocs.yml").read_text()
    fences = "  - pymdownx.superfences\n"
    (root / "mkdocs.yml").write_text(config.replace(fences, fences + "  - pymdownx.highlight\n"))
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    page = build.read("index.html")
    # (not the YAML block after it: mkdocstrings writes no language, its docstring does)
    assert page.count("<py-repl") == 2 and page.count('data-module="pkg.mod"') == 2, page
    assert "A helper." in page.split("<py-repl")[2]  # its verified output


NAMED_INCLUDE_HOOK = """
import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority


@event_priority(100)  # as include-markdown: a {% include-markdown "FILE" %} over several lines
def on_page_markdown(markdown, page, **kwargs):
    def include(found):
        return (Path(page.file.abs_src_path).parent / found.group(1)).read_text()

    return re.sub(r'\\{%\\s*include-markdown "([^"]+)"\\s*%\\}', include, markdown)
"""


def test_an_example_another_plugin_includes_from_a_named_file_is_reported_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """include-markdown's ``{% include-markdown "../EXTRA.md" %}``: a failure in the included
    file was reported at the page's include line plus its line in the fence, past the end of
    the page (humanize's README); it names the file and the line it is written at."""
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "EXTRA.md").write_text(
        "# Extra\n\nText.\n\n```pycon\n>>> 1 + 1\n2\n>>> 2 + 2\n5\n```\n"
    )
    (root / "docs" / "index.md").write_text(
        '# Home\n\n{%\n   include-markdown "../EXTRA.md"\n%}\n\nLast line.\n'
    )
    (root / "include_hook.py").write_text(NAMED_INCLUDE_HOOK)
    (root / "mkdocs.yml").write_text(
        "site_name: Named\nmarkdown_extensions:\n  - pymdownx.superfences\n"
        "hooks:\n  - include_hook.py\nplugins:\n  - pyrun:\n      upgrade: [doctest]\n"
    )
    monkeypatch.chdir(root)
    out = tmp_path / "check.json"
    cache = str(check_dir(tmp_path))
    assert main(["check", "mkdocs.yml", "--json", str(out), "--cache-dir", cache, "-q"]) == 1
    (result,) = json.loads(out.read_text())["results"]
    assert (Path(result["path"]).name, result["line"]) == ("EXTRA.md", 6), result
    assert result["location"].endswith("EXTRA.md:8"), result  # the failing example's own line


def shown(page_html: str) -> str:
    """The page without the widgets it does not show: a block kept static stays after its
    plain block, hidden, to run in its place in its session (``runs_hidden``)."""
    soup = BeautifulSoup(page_html, "html.parser")
    for hidden in soup.select("div.pyrun-widget[hidden]"):
        hidden.decompose()
    return str(soup)


def checked(site: Path, tmp_path: Path) -> tuple[int, list[dict[str, Any]]]:
    """``pyrun-docs check SITE`` with a JSON report: its exit status and its results."""
    out = tmp_path / "check.json"
    cache = str(tmp_path / "cache")
    status = main(["check", str(site), "--cache-dir", cache, "--json", str(out)])
    return status, json.loads(out.read_text())["results"]


def doctest_html(site: Path, tmp_path: Path) -> Build:
    """A :func:`doctest_site` built as HTML into *tmp_path*/html (the check on): it builds."""
    build = sphinx_build(site, tmp_path / "html", "html", "-d", str(tmp_path / "d"))
    assert build.status == 0, build.stderr
    return build


def doctest_site(folder: Path, conf: str, page: str) -> Path:
    """A one-page Sphinx project with ``sphinx.ext.doctest`` and the upgrade on."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.py").write_text(
        'extensions = ["sphinx.ext.doctest", "pyrun_docs.sphinx_ext"]\n'
        'pyrun_upgrade = ["doctest"]\npyrun_check = "error"\n' + conf,
        encoding="utf-8",
    )
    (folder / "index.rst").write_text("Title\n=====\n\n" + page, encoding="utf-8")
    return folder


def upgraded_docs(tmp_path: Path, page: str, conf: str = "") -> Path:
    """``tmp_path/docs``: ``index.rst`` is *page* as given, ``conf.py`` has the doctest extension
    and the upgrade on (and *conf*)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(
        'extensions = ["sphinx.ext.doctest", "pyrun_docs.sphinx_ext"]\n'
        'pyrun_upgrade = ["doctest"]\n' + conf
    )
    (docs / "index.rst").write_text(page)
    return docs


def test_plain_doctest_blocks_follow_doctest_test_doctest_blocks(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """``doctest_test_doctest_blocks``, as the doctest builder reads it: the group of plain
    ``>>>`` blocks (their ``testsetup`` runs first), and empty: not tested, so not upgraded."""
    page = ".. testsetup:: blocks\n\n   x = 42\n\n>>> x\n42\n\n.. code-block:: pycon\n\n   >>> x\n   42\n"
    named = doctest_site(tmp_path / "named", 'doctest_test_doctest_blocks = "blocks"\n', page)
    build = sphinx_build(named, tmp_path / "named-html", "html", "-d", str(tmp_path / "d1"))
    assert build.status == 0, build.stderr
    env = pickle.loads((tmp_path / "d1" / "environment.pickle").read_bytes())
    sessions = [s.options.session for s in env.pyrun_snippets["index"]]
    # the setup (and its copy for the pycon block's session), the doctest block, the pycon block
    aside = "blocks" + UNTESTED  # what the doctest builder does not run sets nothing it sees
    assert sessions == ["blocks", aside, "blocks", aside], sessions

    off = doctest_site(tmp_path / "off", 'doctest_test_doctest_blocks = ""\n', page)
    build = sphinx_build(off, tmp_path / "off-html", "html", "-d", str(tmp_path / "d2"))
    assert build.status == 0, build.stderr
    env = pickle.loads((tmp_path / "d2" / "environment.pickle").read_bytes())
    assert [s.options.hidden for s in env.pyrun_snippets["index"]] == [True]  # the setup only


def test_an_edited_doctest_global_setup_is_read_again(tmp_path: Path, runtime_cache: Path) -> None:
    """Sphinx re-reads no page when ``doctest_global_setup`` changes (its builder reads it when
    testing), but the snippets made while reading hold it: an edited setup is read again, not
    run as it was (the check passed on the old one, in builds and in ``pyrun-docs check``)."""
    site = doctest_site(
        tmp_path / "site", 'doctest_global_setup = "answer = 1"\n', ">>> answer\n1\n"
    )
    args = (tmp_path / "html", "html", "-d", str(tmp_path / "doctrees"))
    first = sphinx_build(site, *args)
    assert first.status == 0, first.stderr
    conf = site / "conf.py"
    conf.write_text(conf.read_text().replace("answer = 1", "answer = 2"), encoding="utf-8")
    again = sphinx_build(site, *args)
    assert again.status != 0 and "OutputMismatch" in again.stderr, again.stderr


def test_a_read_project_without_examples_counts_the_pages_it_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pyrun-docs check`` on a project whose pages hold no example names the pages Sphinx
    read (it said "no pyrun snippets in 0 files" after reading them)."""
    site = doctest_site(tmp_path / "site", 'doctest_test_doctest_blocks = ""\n', ">>> 1\n1\n")
    (site / "other.rst").write_text("Other\n=====\n\nNo examples.\n", encoding="utf-8")
    cache = str(tmp_path / "cache")
    assert main(["check", str(site), "--cache-dir", cache, "-q"]) == 0
    assert "no pyrun snippets in 2 files" in capsys.readouterr().err


def test_a_doctest_directive_that_stays_plain_is_warned_about(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """A ``.. doctest::`` block the doctest builder reads but that cannot become a widget (no
    ``>>>`` at all) is not left unchecked in silence; one with prose before its first ``>>>``
    is a widget, the prose a comment in it (doctest skips it)."""
    page = (
        ".. doctest::\n\n   Some prose.\n   >>> 1 + 1\n   2\n\n"
        ".. doctest::\n\n   Only prose, no prompt.\n"
    )
    build = doctest_html(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert "index.rst:12: WARNING: pyrun: this example stays a plain block: no >>> prompt" in (
        build.stderr
    ), build.stderr
    assert build.read("index.html").count("<py-repl") == 1


def test_the_second_opinion_runs_the_pages_before_as_the_doctest_builder_does(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """The doctest builder runs every page in one process, in name order: what page ``a`` leaves
    in a module (mpmath's ``mp.dps``) is there for page ``b``. Its example passes there, so it is
    the browser's problem (each page starts fresh), never "fails in CPython too" (when ``a`` had
    no failure, only ``b`` ran again); and an example of ``a`` failing changes nothing."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(
        'extensions = ["sphinx.ext.doctest", "pyrun_docs.sphinx_ext"]\npyrun_upgrade = ["doctest"]\n'
    )
    (docs / "index.rst").write_text("Index\n=====\n\n.. toctree::\n\n   a\n   b\n")
    page_a = "A\n=\n\n>>> import textwrap\n>>> textwrap.LEVEL = 5\n"
    (docs / "a.rst").write_text(page_a)
    (docs / "b.rst").write_text(
        'B\n=\n\n>>> import textwrap\n>>> getattr(textwrap, "LEVEL", 0)\n5\n'
    )
    folder = str(check_dir(tmp_path))
    for broken in ("", "\n>>> 1 + 1\n3\n"):
        (docs / "a.rst").write_text(page_a + broken)
        out = tmp_path / "check.json"
        main(["check", str(docs), "--json", str(out), "--cache-dir", folder, "--no-cache", "-q"])
        results = json.loads(out.read_text())["results"]
        (b,) = [r for r in results if "b.rst:" in r["location"]]
        assert b["status"] == "static" and "CPython" not in b["message"], b


def test_an_inherited_docstring_is_located_where_it_is_written(tmp_path: Path) -> None:
    """autodoc shows a base class's docstring for a method without one of its own: its examples
    are reported at the base's file and line, and see the base module's names (they were put at
    a line of the subclass's file, past its end, with the subclass module's globals: pyrsistent's
    ``CheckedPMap.evolver``)."""
    package = tmp_path / "src" / "inhpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(
        "def helper():\n    return 42\n\n\nclass Base:\n    def value(self):\n"
        '        """The value.\n\n        >>> helper()\n        42\n        """\n'
        "        return helper()\n"
    )
    (package / "sub.py").write_text(
        "from inhpkg.base import Base\n\n\nclass Sub(Base):\n    def value(self):\n        return 1\n"
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(
        "import os, sys\nsys.path.insert(0, os.path.abspath('../src'))\n"
        'extensions = ["sphinx.ext.autodoc", "sphinx.ext.doctest", "pyrun_docs.sphinx_ext"]\n'
        'pyrun_upgrade = ["doctest"]\n'
    )
    (docs / "index.rst").write_text(
        "API\n===\n\n.. autoclass:: inhpkg.sub.Sub\n   :members: value\n"
    )
    build = sphinx_build(docs, tmp_path / "html", "html", "-d", str(tmp_path / "doctrees"))
    assert build.status == 0, build.stderr
    env = pickle.loads((tmp_path / "doctrees" / "environment.pickle").read_bytes())
    (snippet,) = [s for s in env.pyrun_snippets["index"] if not s.options.hidden]
    assert (snippet.path, snippet.line) == ("src/inhpkg/base.py", 9), snippet
    assert snippet.options.module == "inhpkg.base"


def test_definition_lines_are_those_inspect_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a docstring's object starts is found without ``inspect.getsourcelines``, which
    parses a class's whole module on every call (7.7 s of pyparsing's 16 s build): the same line
    for functions, methods, decorated and nested classes."""
    import importlib.util
    import inspect

    from pyrun_docs.locate import _first_line

    module_file = tmp_path / "defs.py"
    module_file.write_text(
        "import functools\n\n\ndef deco(c):\n    return c\n\n\n@deco\nclass Outer:\n"
        '    """Outer."""\n\n    class Inner:\n        """Inner."""\n\n        def method(self):\n'
        '            """M."""\n\n\n@functools.lru_cache\ndef cached(x):\n    """C."""\n'
    )
    spec = importlib.util.spec_from_file_location("defs_for_lines", module_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "defs_for_lines", module)  # (inspect finds a class's file so)
    spec.loader.exec_module(module)
    for obj in (module.Outer, module.Outer.Inner, module.Outer.Inner.method, module.cached):
        expected = inspect.getsourcelines(inspect.unwrap(obj))[1]
        assert _first_line(obj, str(module_file)) == expected, obj


def test_the_check_reads_what_mkdocs_includes_into_a_page(
    tmp_path: Path, runtime_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fences another plugin or hook brings into a page (include-markdown) are found by
    ``pyrun-docs check mkdocs.yml`` as by the build: the check reads such a site with MkDocs
    (it said "no pyrun snippets in 1 file" where the build checked the included fences)."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    (tmp_path / "include_hook.py").write_text(INCLUDE_HOOK)
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nmarkdown_extensions:\n  - pymdownx.superfences\n"
        "hooks:\n  - include_hook.py\nplugins:\n  - pyrun:\n      upgrade: [doctest]\n"
    )
    out = tmp_path / "check.json"
    status = main(["check", str(tmp_path / "mkdocs.yml"), "--json", str(out), "--cache-dir",
                   str(check_dir(tmp_path)), "-q"])  # fmt: skip
    assert status == 0, capsys.readouterr().err
    results = json.loads(out.read_text())["results"]
    assert sorted(r["status"] for r in results) == ["passed", "static"], results


def test_a_setup_for_every_group_on_a_page_of_no_example(tmp_path: Path) -> None:
    """``testsetup:: *`` on a page without a doctest or testcode block (KonFoo's): the doctest
    builder runs nothing; the upgrade raised IndexError, and both the check and the html build
    stopped with a traceback from pyrun's own code."""
    site = doctest_site(tmp_path / "site", "", ".. testsetup:: *\n\n   import math\n\nProse.\n")
    build = doctest_html(site, tmp_path)
    assert "Traceback" not in build.stderr and "IndexError" not in build.stderr
    status, results = checked(site, tmp_path)
    assert (status, results) == (0, [])


def test_a_testcode_block_its_testoutput_skips_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``testoutput`` with ``:options: +SKIP``: the doctest builder skips its testcode block (0
    tests); the check called it passed, without running it, and counted it as an example."""
    page = (
        ".. testcode::\n\n   import not_installed_module\n\n"
        ".. testoutput::\n   :options: +SKIP\n\n   anything\n"
    )
    status, results = checked(doctest_site(tmp_path / "site", "", page), tmp_path)
    assert status == 0 and [r["status"] for r in results] == ["skipped"], results
    said = capsys.readouterr()
    assert "nothing checked (1 skipped): 1 snippet on 1 page in" in said.out + said.err, said


def test_a_docstring_extended_at_import_is_located_in_its_file(tmp_path: Path) -> None:
    """A docstring its module extends when imported (pyexcel's ``append_doc``) has examples in
    no line of the file: they were reported past its end (core.py:347 of 271 lines), now where
    the docstring begins."""
    source = (
        "def append(text):\n    def deco(f):\n        f.__doc__ = f.__doc__ + text\n"
        "        return f\n    return deco\n\n\n"
        '@append("\\n\\n    >>> 1 + 1\\n    3\\n")\ndef f():\n'
        '    """Do f.\n\n    Two.\n    Three.\n    Four.\n    Five.\n    """\n'
    )
    module, results = autodoc_checked(tmp_path, source, conf='pyrun_path = ["."]\n')
    (result,) = results
    lines = (tmp_path / "docs" / f"{module}.py").read_text().count("\n")
    assert result["status"] == "failed" and 1 <= result["line"] <= lines, (result, lines)
    assert result["line"] == 10  # def f(): where its docstring begins


def test_doctest_blocks_left_untested_are_said_to_stay(tmp_path: Path) -> None:
    """``doctest_test_doctest_blocks = ""``: the doctest builder tests no plain ``>>>`` block, so
    the upgrade leaves them (documented); the build said nothing of why (urllib3's docs)."""
    import io

    from conftest import sphinx_in_process

    said = []
    for name, conf in (("off", 'doctest_test_doctest_blocks = ""\n'), ("on", "")):
        site = doctest_site(tmp_path / name, conf + 'pyrun_check = "off"\n', ">>> 1 + 1\n2\n")
        status = io.StringIO()
        sphinx_in_process(site, tmp_path / f"{name}-html", status=status)
        said.append("doctest_test_doctest_blocks = '' in conf.py" in status.getvalue())
    assert said == [True, False]


def test_option_flags_a_setup_registers_are_known_to_the_examples(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """graphviz registers ``NO_EXE`` in ``doctest_global_setup`` (a ``testsetup`` may too) and
    writes ``# doctest: +NO_EXE``: the doctest builder parses its examples after running that
    setup, so they ran; here they stayed plain blocks ("has an invalid option") and the blocks
    after them failed. Also when a later check reads the project from its memo."""
    import doctest

    flags = ("PYRUN_TEST_GLOBAL_FLAG", "PYRUN_TEST_SETUP_FLAG")
    assert not set(flags) & set(doctest.OPTIONFLAGS_BY_NAME)  # the test can fail
    conf = f'doctest_global_setup = "import doctest\\ndoctest.register_optionflag({flags[0]!r})"\n'
    page = (
        ".. doctest::\n\n   >>> x = 41  # doctest: +PYRUN_TEST_GLOBAL_FLAG\n\n"
        ".. testsetup::\n\n   from doctest import register_optionflag\n"
        f"   register_optionflag({flags[1]!r})\n\n"
        ".. doctest::\n\n   >>> x + 1  # doctest: +PYRUN_TEST_SETUP_FLAG\n   42\n"
    )
    site = doctest_site(tmp_path / "site", conf, page)
    cache = str(tmp_path / "cache")
    for run in range(2):
        for flag in flags:  # a new process: nothing registered them
            doctest.OPTIONFLAGS_BY_NAME.pop(flag, None)
        out = tmp_path / f"report-{run}.json"
        args = ["check", str(site), "--cache-dir", cache, "--json", str(out), "--no-cache", "-q"]
        assert main(args) == 0  # the read is kept (its memo) for the second run
        report = json.loads(out.read_text())
        assert [r["status"] for r in report["results"]] == ["passed"] * 4, report["results"]
    for flag in flags:
        doctest.OPTIONFLAGS_BY_NAME.pop(flag, None)


def test_option_flags_conf_py_registers_are_known_where_the_examples_run(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """objgraph's conf.py registers its own flag (``doctest.register_optionflag``) for its
    ``# doctest: +NODES_VARY`` examples: the doctest builder ran them (conf.py ran in its
    process), the check's Pyodide, where no conf.py runs, found an "invalid option" in each.
    The widget is told the same (``data-flags``), so a reader's Run parses them too."""
    import doctest

    flag = "PYRUN_TEST_CONF_FLAG"
    assert flag not in doctest.OPTIONFLAGS_BY_NAME  # the test can fail
    conf = f"import doctest\ndoctest.register_optionflag({flag!r})\n"
    token = uuid.uuid4().hex
    page = (
        f".. doctest::\n\n   >>> x = 41  # doctest: +{flag}\n\n"
        f"::\n\n   >>> y = 41  # doctest: +{flag}\n   >>> y + 1  # {token}\n   42\n"
    )
    site = doctest_site(tmp_path / "site", conf, page)
    out = tmp_path / "report.json"
    try:
        args = ["check", str(site), "--cache-dir", str(tmp_path / "cache"), "--json", str(out)]
        assert main([*args, "-q"]) == 0
        report = json.loads(out.read_text())
        assert [r["status"] for r in report["results"]] == ["passed"] * 2, report["results"]
        sphinx_in_process(site, tmp_path / "html")  # pyrun_check = "error": it must pass
        html = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
        assert html.count(f'IGNORE_EXCEPTION_DETAIL -{flag}"') == 2, html  # each block's
    finally:
        doctest.OPTIONFLAGS_BY_NAME.pop(flag, None)


def test_cpython_ending_without_an_answer_is_said(tmp_path: Path, runtime_cache: Path) -> None:
    """The build's Python, asked about an example failing in the browser, may end without an
    answer (an example ending the process, a module of the project's that does not import):
    its examples stayed plain blocks and nothing said why (Pint's nine failing examples were
    all "static" once). The check says so, naming where it ended and its last error line."""
    token = uuid.uuid4().hex[:8]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text(
        'extensions = ["sphinx.ext.doctest", "pyrun_docs.sphinx_ext"]\npyrun_upgrade = ["doctest"]\n'
    )
    (docs / "index.rst").write_text(
        f"Ends\n====\n\n>>> import os, sys  # {token}\n"
        ">>> _ = sys.platform == 'emscripten' or os.write(2, b'gone') and os._exit(7)\n"
        ">>> sys.platform\n'linux'\n"
    )
    out = tmp_path / "check.json"
    main(["check", str(docs), "--json", str(out), "--cache-dir", str(check_dir(tmp_path)), "-q"])
    report = json.loads(out.read_text())
    (result,) = report["results"]
    assert result["status"] == "static", result
    (said,) = [p for p in report["problems"] if "stopped answering" in p]
    assert f"CPython 3.{sys.version_info[1]}" in said and "index.rst:4" in said, said
    assert said.endswith(": gone"), said


def test_an_upgraded_code_block_keeps_its_line_numbers_and_emphasized_lines(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """``code-block``'s ``:linenos:``, ``:lineno-start:`` and ``:emphasize-lines:`` were lost
    once the block became a widget (transaction's prose names its lines: "in line 12"), in
    Sphinx only: the MkDocs fence's ``linenums`` and ``hl_lines`` were kept."""
    page = (
        ".. code-block:: pycon\n   :emphasize-lines: 2\n\n   >>> x = 1\n   >>> x + 1\n   2\n\n"
        ".. code-block:: python\n   :linenos:\n   :lineno-start: 10\n   :emphasize-lines: 2\n\n"
        "   a = 1\n   b = a + 1\n   print(b)\n"
    )
    site = doctest_site(tmp_path / "site", 'pyrun_upgrade = ["doctest", "python"]\n', page)
    build = sphinx_build(site, tmp_path / "html", "html", "-d", str(tmp_path / "d"))
    assert build.status == 0, build.stderr
    soup = BeautifulSoup(build.read("index.html"), "html.parser")
    transcript, code = soup.select("py-repl .pyrun-code")
    assert [e.get_text().strip() for e in transcript.select(".hll")] == ["x + 1"], transcript
    assert [e.get_text().strip() for e in code.select(".hll")] == ["11b = a + 1"], code
    assert [e.get_text().strip() for e in code.select(".linenos")] == ["10", "11", "12"], code


def test_blocks_the_doctest_builder_does_not_run_set_nothing_its_examples_see(
    tmp_path: Path, runtime_cache: Path
) -> None:
    """A ``::`` block or a ``pycon`` code block, which the doctest builder never runs, ran in
    the examples' session: what it set made examples that builder fails pass (lazr.delegates'
    classes defined in a ``::`` block: 14 failures there, "all passed" here; flufl.i18n). Such
    blocks run in a session of their own, which still has the group's setup and their own
    earlier names, after the page's other sessions (their ``os.environ['LANG']`` changed what
    flufl.i18n's examples printed); the builder's examples get the builder's verdicts."""
    token = uuid.uuid4().hex[:8]
    page = (
        f"A setup the builder never runs::\n\n   >>> x = 1  # {token}\n"
        "   >>> import os; os.environ['PYRUN_TEST_MODE'] = 'x'\n\n"
        ">>> x\n1\n\n"  # the builder: NameError
        ".. code-block:: pycon\n\n   >>> x + answer\n   43\n\n"  # its own x, the global setup's
        ">>> import os; print(os.environ.get('PYRUN_TEST_MODE'))\nNone\n"  # not its environment
    )
    site = doctest_site(tmp_path / "site", 'doctest_global_setup = "answer = 42"\n', page)
    plain = sphinx_build(site, tmp_path / "doctest", "doctest")
    summary = (tmp_path / "doctest" / "output.txt").read_text(encoding="utf-8")
    assert plain.status == 1 and "1 failure in tests" in summary  # the builder's verdicts
    out = tmp_path / "report.json"
    args = ["check", str(site), "--cache-dir", str(tmp_path / "cache"), "--json", str(out), "-q"]
    assert main(args) == 1
    results = [r for r in json.loads(out.read_text())["results"] if r["path"].endswith(".rst")]
    assert [(r["line"], r["status"]) for r in results] == [
        (6, "passed"),
        (9, "failed"),
        (14, "passed"),
        (17, "passed"),
    ], results
    assert "NameError: name 'x' is not defined" in results[1]["message"]


def test_a_setup_reaches_the_session_of_its_groups_blocks_the_builder_does_not_run() -> None:
    """A group's ``testsetup`` (and one for every group, ``*``) runs once in each session of the
    group: its examples' and its ``pycon`` blocks' (a ``*`` setup ran twice in the latter)."""
    aside = "default" + UNTESTED
    found = [
        Found(kind="testsetup", code="x = 1\n", path="p.rst", line=1, groups=("*",)),
        Found(kind="transcript", code=">>> x\n1\n", path="p.rst", line=5),
        Found(kind="transcript", code=">>> x\n1\n", path="p.rst", line=9, tested=False),
        Found(kind="testsetup", code="y = 1\n", path="p.rst", line=12),
    ]
    _, results = upgrade_page(found, page="p")
    made = [(r.snippet.line, r.snippet.options.session) for r in results if r.snippet]
    assert made == [
        (1, "default"),
        (1, aside),
        (5, "default"),
        (9, aside),
        (12, "default"),
        (12, aside),
    ]
