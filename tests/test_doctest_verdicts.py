"""The differential test: pyrun judges ``>>>`` transcripts exactly as ``doctest`` does.

Each case of :mod:`doctest_cases` is judged by CPython's own ``doctest`` with
``sphinx.ext.doctest``'s default flags (the reference, computed here) and by pyrun: the executor
in CPython, the doctest port the MicroPython runtime uses (run in CPython here; in real MicroPython
in ``test_executor_micropython.py``), and the build check in the pinned Pyodide, the reader's
runtime. Verdicts must be identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import check_dir
from doctest_cases import CASES, Case, reference
from test_executor import run_coroutine

from pyrun_docs.check import CheckReport, Status, run_check
from pyrun_docs.check.scan import scan_text
from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import PyrunError
from pyrun_docs.executor import Executor


def judge(case: Case, *, port: bool = False) -> bool:
    executor = Executor(lambda _: None, port=port)
    coroutine = executor.run_transcript(case.text, filename="<example 1>")
    return bool(json.loads(run_coroutine(coroutine))["ok"])


def test_the_table_has_both_verdicts() -> None:
    verdicts = [reference(c.text) for c in CASES]
    assert len(CASES) >= 100
    assert verdicts.count(True) >= 40 and verdicts.count(False) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_executor_gives_doctests_verdict(case: Case) -> None:
    assert judge(case) is reference(case.text)


@pytest.mark.parametrize("case", [c for c in CASES if c.mp], ids=lambda c: c.name)
def test_port_gives_doctests_verdict(case: Case) -> None:
    assert judge(case, port=True) is reference(case.text)


PAGE_CASES = [c for c in CASES if c.page]


def _page(cases: list[Case]) -> str:
    blocks = ["Cases\n=====\n"]
    for case in cases:
        body = "".join(f"   {ln}\n" if ln else "\n" for ln in case.text.splitlines())
        blocks.append(f".. pyrun::\n\n{body}")
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def pyodide_report(runtime_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    errors: list[PyrunError] = []
    snippets = scan_text(_page(PAGE_CASES), "docs/cases.rst", page="cases", errors=errors)
    assert not errors, errors
    assert len(snippets) == len(PAGE_CASES)
    cache = check_dir(tmp_path_factory.mktemp("verdicts"))
    return run_check({"cases": snippets}, PyrunConfig(), cache_dir=cache, progress=False)


def test_check_in_pyodide_gives_doctests_verdicts(pyodide_report: CheckReport) -> None:
    differ = []
    for case, result in zip(PAGE_CASES, pyodide_report.results, strict=True):
        # an example doctest skips fails nothing: the transcript of only such is "skipped"
        ok = result.status in (Status.PASSED, Status.SKIPPED)
        assert ok or result.status is Status.FAILED, (case.name, result.message)
        if ok is not reference(case.text):
            differ.append((case.name, result.message))
    assert not differ, differ


SESSIONS = """Sessions
========

.. pyrun::
   :session: ctx

   import contextvars
   var = contextvars.ContextVar("var", default="unset")
   var.set("from the first snippet")

.. pyrun::
   :session: ctx

   print(var.get())

.. pyrun::
   :session: fut

   from __future__ import annotations

.. pyrun::
   :session: fut

   def f(x: int): pass
   print(f.__annotations__)

.. pyrun::
   :session: mix

   class Plain: pass
   print(Plain, __name__, "display" in globals())

.. pyrun::
   :session: mix

   >>> class T: pass
   >>> T
   <class 'T'>
   >>> Plain
   <class '__main__.Plain'>

.. pyrun::

   >>> def f():
   ...     return 1 / 0
   >>> 1 + 1
   2
   >>> f()
   3

.. pyrun::

   >>> x = 1
   >>> x +
   2
"""


@pytest.fixture(scope="module")
def sessions_report(runtime_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    errors: list[PyrunError] = []
    snippets = scan_text(SESSIONS, "docs/sessions.rst", page="sessions", errors=errors)
    assert not errors, errors
    cache = check_dir(tmp_path_factory.mktemp("sessions"))
    return run_check({"sessions": snippets}, PyrunConfig(), cache_dir=cache, progress=False)


def test_a_session_keeps_contextvars_and_future_flags(sessions_report: CheckReport) -> None:
    results = sessions_report.results
    assert all(r.status is Status.PASSED for r in results[:6]), [r.message for r in results]
    assert results[1].output == "from the first snippet\n"
    assert results[3].output == "{'x': 'int'}\n"
    # plain code runs as __main__ and display() is a builtin, not a name in the namespace
    assert results[4].output == "<class '__main__.Plain'> __main__ False\n"


def test_a_failing_example_is_named_at_its_own_line(sessions_report: CheckReport) -> None:
    failed = sessions_report.results[6]
    assert failed.status is Status.FAILED and failed.exception == "ZeroDivisionError"
    assert failed.line == failed.snippet.line + 4  # the `>>> f()` line, not the `def`
    # the traceback names the page and shows the failing source lines
    assert f'File "docs/sessions.rst", line {failed.line}, in <module>' in failed.traceback
    assert f'File "docs/sessions.rst", line {failed.snippet.line + 1}, in f' in failed.traceback
    assert "    return 1 / 0" in failed.traceback and "<doctest" not in failed.traceback
    syntax = sessions_report.results[7]
    assert syntax.status is Status.FAILED and syntax.exception == "SyntaxError"
    assert syntax.line == syntax.snippet.line + 1
    assert "<example" not in syntax.message and "<doctest" not in syntax.message


def test_examples_are_counted_as_the_doctest_builder_counts_tests() -> None:
    """The summary's ``>>> examples`` are what doctest runs: not a comment-only ``>>>`` line its
    parser leaves out, nor an example marked ``+SKIP`` (cachetools' docs: 55 said, 58 tested)."""
    import doctest

    from pyrun_docs.executor import example_count

    text = (
        ">>> # a comment, no example\n>>> x = 1\n>>> x + 1\n2\n"
        ">>> launch()  # doctest: +SKIP\n>>> print('a')\na\n"
    )
    test = doctest.DocTestParser().get_doctest(text, {}, "t", "t", 0)
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda _text: None)
    assert example_count(text) == runner.tries == 3
    assert example_count(text, skip=True) == 0  # the block's options say +SKIP


@pytest.mark.parametrize("port", [False, True])
def test_a_testcode_mismatch_names_its_testoutput(port: bool) -> None:
    """A ``testcode`` block judged against its ``testoutput`` says so; it has no ``>>>`` and no
    transcript (the message said "the output of >>> print("a") differs from the transcript")."""
    executor = Executor(lambda _: None, port=port)
    coroutine = executor.run_transcript('print("a")\n', want="b\n", filename="<example 1>")
    error = json.loads(run_coroutine(coroutine))["error"]
    assert error["type"] == "OutputMismatch"
    assert error["message"] == "the output differs from its testoutput block"
    assert "Expected:\n    b\nGot:\n    a\n" in error["traceback"]
    # without a testoutput block (or with an empty one) the doctest builder compares it with no
    # output at all
    coroutine = executor.run_transcript('print("a")\n', want="", filename="<example 1>")
    error = json.loads(run_coroutine(coroutine))["error"]
    assert (
        error["message"] == "it printed output, where no or an empty testoutput block expects none"
    )


@pytest.mark.parametrize("port", [False, True])
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            ">>> a = 1\n>>>b = 2\n",
            "doctest cannot parse its line 2: a prompt (>>> or ...) without a blank after it: "
            "'>>>b = 2'",
        ),
        (
            ">>> if True:\n...x = 1\n",
            "doctest cannot parse its line 2: a prompt (>>> or ...) without a blank after it: "
            "'...x = 1'",
        ),
        ("  >>> print(1)\n1\n", "doctest cannot parse its line 2: has inconsistent leading"),
    ],
)
def test_a_transcript_doctest_cannot_parse_says_why_in_plain_words(
    text: str, reason: str, port: bool
) -> None:
    """The reader and the build see the upgrade's words at the line: doctest's own named "line 2
    of the docstring for default", a docstring no page has, and the check repeated it."""
    executor = Executor(lambda _: None, port=port)
    error = json.loads(run_coroutine(executor.run_transcript(text, filename="<ex>")))["error"]
    assert error["type"] == "ValueError" and error["line"] == 2
    assert error["message"].startswith(reason), error["message"]
    assert "docstring for" not in error["message"] + error["traceback"]


@pytest.mark.parametrize("port", [False, True])
def test_a_skipped_example_shows_as_written_in_the_console_view(port: bool) -> None:
    """A ``+SKIP`` example (a network call, say) does not run, yet the console view (the
    verified output before any Run, and a reader's Run) shows it and the output its author
    wrote, as the plain block did: both were missing. Also at the end of a transcript."""
    messages: list[dict[str, object]] = []
    executor = Executor(lambda text: messages.append(json.loads(text)), port=port)
    text = (
        ">>> 1\n1\n>>> # over the network:\n>>> fetch()  # doctest: +SKIP\n<Response [200]>\n"
        ">>> 2\n2\n>>> fetch() # doctest: +SKIP\n>>>\n>>> # the end\n"
    )
    result = json.loads(run_coroutine(executor.run_transcript(text, echo=True)))
    assert result["ok"], result
    view = [(m["stream"], m["text"]) for m in messages if m.get("type") == "stream"]
    assert view == [
        ("echo", ">>> 1\n"),
        ("stdout", "1\n"),
        ("echo", ">>> # over the network:\n"),  # comment prompts where the block has them
        ("echo", ">>> fetch()  # skipped: not run\n"),
        ("skipped", "<Response [200]>\n"),
        ("echo", ">>> 2\n"),
        ("stdout", "2\n"),
        ("echo", ">>> fetch()  # skipped: not run\n"),
        ("echo", ">>> \n"),
        ("echo", ">>> # the end\n"),
    ]


@pytest.mark.parametrize("port", [False, True])
def test_an_expected_exception_shows_as_the_transcript_writes_it(port: bool) -> None:
    """The console view (verified output, a reader's Run) shows an expected exception with its
    frames elided, as the transcript writes it: it listed doctest's own frame names
    (``File "<doctest default[1]>"``) and the library's files, 8-20 lines for 3 (rfc3986)."""
    messages: list[dict[str, object]] = []
    executor = Executor(lambda text: messages.append(json.loads(text)), port=port)
    text = (
        ">>> def parse(x):\n...     raise ValueError(f'bad {x}')\n"
        ">>> parse(1)\nTraceback (most recent call last):\n   ...\nValueError: bad 1\n"
        ">>> try:\n...     {}['k']\n... except KeyError:\n...     parse(2)\n"
        "Traceback (most recent call last):\n   ...\nValueError: bad 2\n"
    )
    result = json.loads(run_coroutine(executor.run_transcript(text, echo=True)))
    assert result["ok"], result
    shown = "".join(str(m["text"]) for m in messages if m.get("stream") == "stdout")
    elided = "Traceback (most recent call last):\n  ...\nValueError: bad {}\n"
    assert shown == elided.format(1) + elided.format(2)  # a chained one: the exception raised


@pytest.mark.parametrize("port", [False, True])
def test_an_object_keeping_stdout_prints_in_a_later_block(port: bool) -> None:
    """``pprint = PrettyPrinter(width=48).pprint`` in one block keeps the ``sys.stdout`` of that
    run; the doctest builder runs a page with one runner, whose captured stdout is the same
    object for every block, so a later block's ``pprint(...)`` is captured (zope.configuration:
    6 blocks got nothing, "in CPython too")."""
    executor = Executor(lambda _: None, port=port)

    def run(text: str) -> dict[str, Any]:
        ran = executor.run_transcript(text, session="page", filename="<example>")
        return json.loads(run_coroutine(ran))  # type: ignore[no-any-return]

    assert run(">>> import pprint\n>>> show = pprint.PrettyPrinter(width=20).pprint\n")["ok"]
    later = run(">>> show(['a', 'b'])\n['a', 'b']\n")
    assert later["ok"], later
