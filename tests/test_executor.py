"""The shared executor, run here in CPython (the browser and the check run the same module)."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
from pathlib import Path
from typing import Any

import pytest

from pyrun_docs.executor import Executor


def run_coroutine(coro: Any) -> Any:
    """``asyncio.run`` in a thread of its own: Playwright's sync API (browser tests in the same
    session) leaves an event loop running in the main thread, where ``asyncio.run`` refuses."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Host:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.executor = Executor(
            lambda text: self.messages.append(json.loads(text)), output_limit=2000
        )

    def run(self, code: str, **kwargs: Any) -> dict[str, Any]:
        self.messages.clear()
        result: dict[str, Any] = json.loads(run_coroutine(self.executor.run(code, **kwargs)))
        return result

    def stdout(self) -> str:
        return "".join(m["text"] for m in self.messages if m.get("stream") == "stdout")

    def stderr(self) -> str:
        return "".join(m["text"] for m in self.messages if m.get("stream") == "stderr")


def test_bytes_written_to_stdout_are_its_text() -> None:
    """``sys.stdout.buffer`` was missing: "'StreamCapture' object has no attribute 'buffer'"
    named our class where the example wrote bytes; a character split between writes holds."""
    host = Host()
    code = (
        "import sys\nsys.stdout.buffer.write(b'caf\\xc3')\nsys.stdout.buffer.write(b'\\xa9\\n')\n"
    )
    result = host.run(code)
    assert result["ok"] is True, result
    assert host.stdout() == "café\n"


def test_print_and_final_expression() -> None:
    host = Host()
    result = host.run("import math\nprint(math.sqrt(2))\n6 * 7\n")
    assert result["ok"] and result["error"] is None
    assert host.stdout() == "1.4142135623730951\n"
    displays = [m for m in host.messages if m["type"] == "display"]
    assert displays[-1]["bundle"]["text/plain"] == "42"


def test_sessions_share_and_isolated_snippets_do_not() -> None:
    host = Host()
    host.run("x = 1", session="a")
    assert host.run("print(x)", session="a")["ok"]
    assert host.stdout() == "1\n"
    isolated = host.run("print(x)")
    assert not isolated["ok"] and isolated["error"]["type"] == "NameError"
    other = host.run("print(x)", session="b")
    assert other["error"]["type"] == "NameError"
    host.executor.reset("a")
    assert host.run("print(x)", session="a")["error"]["type"] == "NameError"


def test_trailing_partial_line_is_flushed() -> None:
    host = Host()
    host.run('print("no newline", end="")')
    assert host.stdout() == "no newline"


def test_traceback_is_trimmed_to_the_snippet_with_its_line_numbers() -> None:
    host = Host()
    result = host.run("def f():\n    return 1 / 0\n\nf()\n", filename="<example 3>")
    err = result["error"]
    assert err["type"] == "ZeroDivisionError"
    assert err["line"] == 2
    assert 'File "<example 3>", line 4' in err["traceback"]
    assert 'File "<example 3>", line 2, in f' in err["traceback"]
    assert "executor" not in err["traceback"]
    assert "return 1 / 0" in err["traceback"]


def test_syntax_error_has_its_line() -> None:
    result = Host().run("x = 1\nif x\n", filename="<e>")
    assert result["error"]["type"] == "SyntaxError"
    assert result["error"]["line"] == 2


def test_raises_option() -> None:
    host = Host()
    ok = host.run("int('a')", raises="ValueError")
    assert ok["ok"] and ok["expected"]
    base = host.run("int('a')", raises="Exception")
    assert base["ok"]
    wrong = host.run("1 / 0", raises="ValueError")
    assert (
        not wrong["ok"]
        and "expected ValueError, got ZeroDivisionError" in wrong["error"]["message"]
    )
    missing = host.run("pass", raises="ValueError")
    assert not missing["ok"] and "expected ValueError to be raised" in missing["error"]["message"]


def test_input_fails_fast_with_a_message() -> None:
    result = Host().run("input('name? ')")
    assert result["error"]["type"] == "EOFError"
    assert "no keyboard" in result["error"]["message"]


def test_input_reads_the_stdin_option_lines() -> None:
    host = Host()
    code = "name = input('Name? ')\nprint('hi', name)\nprint(input())"
    result = host.run(code, stdin=json.dumps(["Ada", "again"]))
    assert result["ok"], result
    assert host.stdout() == "Name? Ada\nhi Ada\nagain\nagain\n"
    short = host.run("input(); input()", stdin=json.dumps([""]))
    assert short["error"]["type"] == "EOFError"
    assert "more often" in short["error"]["message"]
    # the reader's traceback ends in the reader's code, not in the executor's stdin
    assert "executor" not in short["error"]["traceback"]
    assert short["error"]["traceback"].splitlines()[1].startswith('  File "<snippet>"')


def test_top_level_await() -> None:
    host = Host()
    result = host.run("import asyncio\nawait asyncio.sleep(0)\nprint('awaited')\n")
    assert result["ok"], result
    assert host.stdout() == "awaited\n"


def test_output_flood_is_capped_and_counted() -> None:
    host = Host()
    host.run("for i in range(20000):\n    print(i)\n")
    text = host.stdout()
    assert text.endswith("19999\n")
    dropped = sum(m.get("dropped", 0) for m in host.messages)
    total = sum(len(f"{i}\n") for i in range(20000))
    assert dropped > 0
    assert dropped + len(text) == total
    assert len(host.messages) < 200  # batched, not one message per line


def test_display_rich_bundles() -> None:
    class Rich:
        def _repr_html_(self) -> str:
            return "<b>rich</b>"

        def _repr_png_(self) -> bytes:
            return b"\x89PNG"

        def __repr__(self) -> str:
            return "Rich()"

    host = Host()
    host.executor.sessions["s"] = host.executor.namespace("s", "r")
    host.executor.sessions["s"]["Rich"] = Rich
    assert host.run("display(Rich())", session="s")["ok"]
    bundle = host.messages[-1]["bundle"]
    assert bundle["text/html"] == "<b>rich</b>"
    assert bundle["image/png"] == "iVBORw=="
    assert bundle["text/plain"] == "Rich()"


def test_stderr_and_system_exit() -> None:
    host = Host()
    result = host.run("import sys\nprint('warn', file=sys.stderr)\nsys.exit(3)\n")
    assert host.stderr() == "warn\n"
    assert result["error"]["type"] == "SystemExit"


def test_stdout_and_stderr_come_in_the_order_written() -> None:
    """As a console shows them: a warning where it was raised, not after everything the
    snippet printed; in a transcript too, where doctest holds an example's printed lines until
    it ends (soupsieve's FutureWarning came after the example's result)."""
    host = Host()
    host.run("import sys\nprint('a')\nprint('b', file=sys.stderr)\nprint('c')\n")
    order = [(m["stream"], m["text"]) for m in host.messages if m["type"] == "stream"]
    assert order == [("stdout", "a\n"), ("stderr", "b\n"), ("stdout", "c\n")]
    host.messages.clear()
    transcript = (
        ">>> import sys\n>>> def f():\n...     print('before')\n"
        "...     print('middle', file=sys.stderr)\n...     print('after')\n...     return 42\n"
        ">>> f()\nbefore\nafter\n42\n"
    )
    result = json.loads(run_coroutine(host.executor.run_transcript(transcript, run_id="t")))
    assert result["ok"], result  # judged on its whole printed output, as doctest does
    order = [(m["stream"], m["text"]) for m in host.messages if m["type"] == "stream"]
    assert order == [("stdout", "before\n"), ("stderr", "middle\n"), ("stdout", "after\n42\n")]
    # a loop writing to both in turn is batched again after a while (a message per write was
    # 200,000 messages for 100,000 turns)
    host.run("import sys\nfor i in range(20_000):\n    print(i)\n    print(i, file=sys.stderr)\n")
    assert 1000 <= len(host.messages) < 1200


def test_a_name_an_example_binds_stays_for_the_group_s_later_blocks() -> None:
    """The doctest builder never touches a group's ``__name__``: one an example binds (as
    zope.testing's ``module.setUp`` does) is there in the next block, whose classes are then
    that module's; pyrun dropped it before every block (3 false failures). The one a plain
    snippet of the session puts there is still taken away for a transcript."""
    host = Host()
    run = host.executor.run_transcript
    first = json.loads(run_coroutine(run(">>> __name__ = 'fake'\n", session="g")))
    assert first["ok"], first
    later = ">>> class A: pass\n>>> A.__module__\n'fake'\n>>> del __name__\n"
    assert json.loads(run_coroutine(run(later, session="g")))["ok"]
    host.run("x = 1", session="g")  # a plain snippet runs as __main__ ...
    check = ">>> class B: pass\n>>> B\n<class 'B'>\n"  # ... a transcript, in a group's globs
    assert json.loads(run_coroutine(run(check, session="g")))["ok"]


def test_streams_restored_after_run() -> None:
    import sys

    before = sys.stdout, sys.stderr, sys.stdin
    Host().run("raise KeyboardInterrupt")
    assert (sys.stdout, sys.stderr, sys.stdin) == before


def test_matplotlib_figures_become_png_images() -> None:
    """plt.show() displays each open figure as a PNG (the worker has no canvas for matplotlib's
    browser backend); figures still open at the end are shown too, as in a notebook."""
    host = Host()
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [1, 4, 9])\n"
        "plt.show()\n"
        "print('between')\n"
        "plt.figure()\n"
        "plt.bar([1, 2], [3, 4])\n"
        "None\n"
    )
    result = host.run(code)
    assert result["ok"], result
    kinds = [(m["type"], m.get("text") or sorted(m.get("bundle", {}))) for m in host.messages]
    assert kinds == [
        ("display", ["image/png", "text/plain"]),
        ("stream", "between\n"),
        ("display", ["image/png", "text/plain"]),
    ], kinds
    png = base64.b64decode(host.messages[0]["bundle"]["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert host.messages[0]["bundle"]["text/plain"] == "<Figure size 640x480 with 1 Axes>"
    assert host.run("import matplotlib.pyplot as plt\nprint(plt.get_fignums())")["ok"]
    assert host.stdout() == "[]\n"  # shown figures are closed


@pytest.mark.parametrize("port", [False, True])
def test_testcode_is_judged_against_its_output(port: bool) -> None:
    """A testcode block runs in exec mode (no values echoed) and its output is compared with
    doctest's checker, <BLANKLINE> processing off, as sphinx.ext.doctest does."""

    executor = Executor(lambda _: None, port=port)

    def judge(code: str, want: str) -> dict[str, Any]:
        return json.loads(run_coroutine(executor.run_transcript(code, want=want)))  # type: ignore[no-any-return]

    assert judge("x = 1\nx\nprint(x)\nprint()", "1\n\n")["ok"] is True
    wrong = judge("print(5)", "6\n")
    assert wrong["ok"] is False and wrong["error"]["type"] == "OutputMismatch"
    assert "Expected:\n    6\nGot:\n    5" in wrong["error"]["traceback"]
    assert judge("1 / 0", "Traceback (most recent call last):\nZeroDivisionError: x\n")["ok"]
    assert judge("print('a\\n')", "a\n<BLANKLINE>\n")["ok"] is False  # no <BLANKLINE> here


@pytest.mark.parametrize("port", [False, True])
def test_a_mismatch_names_its_example_by_its_first_line(port: bool) -> None:
    """Without its comment (binarytree's ``graph.body  # Get the DOT body differs``), and with
    ``...`` when more lines follow (``strrangeset([`` read as the whole example); a ``#`` in
    a string stays."""
    executor = Executor(lambda _: None, port=port)

    def reason(code: str) -> str:
        result = json.loads(run_coroutine(executor.run_transcript(code)))
        return str(result["error"]["message"])

    assert (
        reason(">>> 1 + 1     # the sum\n3\n")
        == "the output of >>> 1 + 1 differs from the transcript"
    )
    assert reason(">>> sorted([\n...   2, 1])\n[1]\n") == (
        "the output of >>> sorted([ ... differs from the transcript"
    )
    assert reason(">>> '#' + 'a'  # two\n'#b'\n") == (
        "the output of >>> '#' + 'a' differs from the transcript"
    )


def test_a_docstring_whose_module_cannot_be_imported_says_so() -> None:
    """A docstring's examples run in its module's globals; a module that cannot be imported (a
    Windows-only one in Pyodide, dateutil's ``tz.win``) is named as the cause, not reported as a
    bare error of the example, and no frame of ours shows."""
    host = Host()
    result = json.loads(
        run_coroutine(
            host.executor.run_transcript(
                ">>> 1 + 1\n2\n", module="no_such_pkg_here.win", session="d", filename="/p/win.py"
            )
        )
    )
    error = result["error"]
    assert error["message"] == (
        "importing no_such_pkg_here.win for this docstring's globals failed: "
        "ModuleNotFoundError: No module named 'no_such_pkg_here'"
    )
    assert "executor.py" not in error["traceback"]


@pytest.mark.parametrize("dropped", [0, 12])
def test_stream_messages_are_what_json_dumps_writes(dropped: int) -> None:
    """The executor writes its stream messages itself (``json.dumps`` was ~40 us a message in
    Pyodide): byte for byte the text ``json.dumps`` makes, for any text."""
    from pyrun_docs.executor import stream_message

    text = 'quote " back \\ tab \t nul \x00 line\u2028 é 😀 </script>\n'
    message: dict[str, Any] = {"type": "stream", "run": "r1", "stream": "echo", "text": text}
    if dropped:
        message["dropped"] = dropped
    assert stream_message("r1", "echo", text, dropped) == json.dumps(message)


def test_a_snippet_replacing_the_json_encoder_does_not_break_the_reports() -> None:
    """The executor reports in JSON with an encoder of its own: a snippet that replaces
    ``JSONEncoder.encode`` (and ``json.dumps``) gets its own result, and so does the next one."""
    host = Host()
    encode, dumps = json.JSONEncoder.encode, json.dumps
    try:
        first = host.run(
            "import json\njson.JSONEncoder.encode = lambda self, o: 'patched'\n"
            "json.dumps = lambda *a, **k: 'patched too'\nprint(json.dumps([1]))"
        )
        printed = host.stdout()
        second = host.run("print('still reported')\n1 / 0")
    finally:
        json.JSONEncoder.encode, json.dumps = encode, dumps  # type: ignore[method-assign]
    assert first["ok"] and printed == "patched too\n"
    assert not second["ok"] and second["error"]["type"] == "ZeroDivisionError"
    assert host.stdout() == "still reported\n"


def test_a_docstring_example_sees_its_module_and_its_session() -> None:
    """A docstring's examples (``module``) run in their session (a Sphinx page's group) with
    their module's globals over it: they see what earlier examples of the page imported (the
    doctest builder's namespace) and what their module defines (doctest's finder), the module's
    name first (an earlier ``dedent = ...`` does not hide it); what they define stays in the
    session, the module's names do not leak into it."""
    host = Host()
    page = host.executor.run_transcript
    first = ">>> from json import dumps as jd\n>>> dedent = 'not the function'\n"
    assert json.loads(run_coroutine(page(first, session="d")))["ok"]
    docstring = (
        ">>> jd([1])\n'[1]'\n>>> dedent('  a')\n'a'\n>>> __name__\n'textwrap'\n>>> made = 5\n"
    )
    result = json.loads(run_coroutine(page(docstring, session="d", module="textwrap")))
    assert result["ok"], result
    later = json.loads(run_coroutine(page(">>> made\n5\n>>> jd is not None\nTrue\n", session="d")))
    assert later["ok"], later
    leaked = json.loads(
        run_coroutine(page(">>> dedent\n'not the function'\n>>> indent\n", session="d"))
    )
    assert not leaked["ok"] and leaked["error"]["type"] == "NameError"
    assert "indent" in leaked["error"]["message"]


def test_a_docstring_sees_its_module_when_its_package_hides_the_module_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package that does ``from .double import double`` makes ``pkg.double`` the function: a
    docstring of ``pkg.double`` (the module) still gets that module's globals (it got the
    function's ``__dict__``: a false NameError for 15 of validators' docstrings)."""
    (tmp_path / "shadowpkg").mkdir()
    (tmp_path / "shadowpkg" / "__init__.py").write_text("from .double import double\n")
    (tmp_path / "shadowpkg" / "double.py").write_text("def double(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    host = Host()
    code = ">>> double(21)\n42\n"
    result = run_coroutine(host.executor.run_transcript(code, module="shadowpkg.double"))
    assert json.loads(result)["ok"], result


def test_the_blocks_of_one_docstring_share_the_names_they_bind() -> None:
    """Within one docstring its examples' own names win over the module's, as in doctest (a
    docstring is one test whose copy of the module's globals its examples change): toolz's ``do``
    docstring imports the curried ``do`` in one block and calls it in the next. Another
    docstring of the same module, or a block run without one, sees the module's name again."""
    host = Host()
    page = host.executor.run_transcript

    def run(code: str, docstring: str | None) -> dict[str, Any]:
        ran = page(code, session="d", module="textwrap", docstring=docstring)
        return json.loads(run_coroutine(ran))  # type: ignore[no-any-return]

    assert run(">>> dedent = str.upper\n", "textwrap.dedent")["ok"]
    same = run(">>> dedent('  a')\n'  A'\n", "textwrap.dedent")
    assert same["ok"], same
    again = run(">>> dedent('b')\n'B'\n", "textwrap.dedent")  # the third block too
    assert again["ok"], again
    other = run(">>> dedent('  a')\n'a'\n", "textwrap.indent")
    assert other["ok"], other
    # a builtin is one of the module's names too (jaraco.itertools' ``iter = range(11)`` in one
    # docstring broke iter() in the later ones)
    assert run(">>> len = 'shadowed'\n>>> len\n'shadowed'\n", "textwrap.fill")["ok"]
    assert run(">>> len\n'shadowed'\n", "textwrap.fill")["ok"]  # its next block: still its own
    builtin = run(">>> len('ab')\n2\n", "textwrap.wrap")
    assert builtin["ok"], builtin
    back = run(">>> dedent('  a')\n'a'\n", "textwrap.dedent")  # not right after its blocks
    assert back["ok"], back


def test_a_sessions_own_stderr_lasts_for_its_later_snippets() -> None:
    """``sys.stderr = sys.stdout`` in one snippet (pyparsing's ``trace_parse_action`` docstring
    does it in a ``testsetup``) lasts for the session, as in the doctest builder, which never
    puts ``sys.stderr`` back: later examples capture what they write to stderr, transcripts and
    ``testcode`` blocks alike. Other sessions keep their own stderr; put back, it is captured
    as before."""
    host = Host()
    run = host.executor.run
    transcript = host.executor.run_transcript

    def ok(coroutine: Any) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(run_coroutine(coroutine))
        assert result["ok"], result
        return result

    ok(run("import sys\nsys.stderr = sys.stdout\n", session="s"))
    ok(transcript(">>> import sys\n>>> print('x', file=sys.stderr)\nx\n", session="s"))
    ok(
        transcript(
            "import sys\nprint('e', file=sys.stderr)\nprint('o')\n", want="e\no\n", session="s"
        )
    )
    other = json.loads(
        run_coroutine(
            transcript(">>> import sys\n>>> print('x', file=sys.stderr)\nx\n", session="t")
        )
    )
    assert not other["ok"]  # its stderr is its own: nothing printed on stdout
    ok(transcript(">>> import sys; sys.stderr = sys.__stderr__\n", session="s"))
    back = json.loads(
        run_coroutine(
            transcript(">>> import sys\n>>> print('x', file=sys.stderr)\nx\n", session="s")
        )
    )
    assert not back["ok"]


def test_an_edited_transcript_goes_on_after_an_exception_as_the_prompt_does() -> None:
    """At the prompt, a line that raises shows its traceback and the next line runs: an edited
    example expecting an exception (bigtree's ``find``) stopped there, and the reader's later
    lines never ran. The run's error is the first one, already shown in its place."""
    host = Host()
    result = host.run("x = 1\n{}['missing']\nx + 1\nint('nope')\nx + 2\n", console=True)
    assert not result["ok"] and result["error"]["type"] == "KeyError"
    assert result["error"]["shown"] is True
    assert host.stdout() == "2\n3\n"  # both later values
    errors = host.stderr()
    assert errors.index("KeyError") < errors.index("ValueError")
    echoed = "".join(m["text"] for m in host.messages if m.get("stream") == "echo")
    assert echoed.count(">>> ") == 5


def test_an_example_doctest_skips_imports_nothing() -> None:
    """sympy's tutorial marks its numpy lines ``+SKIP``: the check still wanted numpy (not to
    be had) and left that block and the next two unchecked; a reader's Run loaded it first."""
    from pyrun_docs.executor import imports_of

    code = (
        ">>> import numpy as np  # doctest: +SKIP\n>>> import json\n"
        ">>> a = np.arange(3)  # doctest:+SKIP\n>>> from decimal import Decimal\n"
    )
    assert imports_of(code, transcript=True) == ["decimal", "json"]


@pytest.mark.parametrize("port", [False, True])
def test_a_later_failing_example_that_raised_is_named(port: bool) -> None:
    """A transcript's first failure may be an output mismatch and a later one an exception,
    which may have left a name unbound: the count says which one raised."""
    executor = Executor(lambda _: None, port=port)
    for code, ending in (
        (
            ">>> 1\n2\n>>> 1 / 0\n>>> 3\n4\n",
            "(and 2 more failing examples, one raising ZeroDivisionError)",
        ),
        (">>> 1\n2\n>>> 3\n4\n", "(and 1 more failing example)"),
        # how many raised: all three NameErrors read as "one raising NameError"
        (">>> 1\n2\n>>> a\n>>> b\n>>> c\n", "(and 3 more failing examples, 3 raising NameError)"),
        (
            ">>> 1\n2\n>>> {}[0]\n>>> a\n",
            "(and 2 more failing examples, 2 raising, first KeyError)",
        ),
    ):
        result = json.loads(run_coroutine(executor.run_transcript(code)))
        assert result["error"]["message"].endswith(ending), result


def test_a_comment_line_under_an_example_is_said_to_be_read_as_its_output() -> None:
    """doctest reads a remark right under an example as its expected output (babel's
    ``# Integers with thousand grouping``): the reason said only that the output differs."""
    run = Host().executor.run_transcript
    said = json.loads(run_coroutine(run(">>> 1 + 1\n2\n# the sum, as expected\n")))
    assert not said["ok"]
    assert "comment line '# the sum, as expected'" in said["error"]["message"], said
    assert "blank line before the comment" in said["error"]["message"]
    other = json.loads(run_coroutine(run(">>> 1 + 1\n3\n# a remark\n")))  # wrong anyway
    assert not other["ok"] and "comment line" not in other["error"]["message"]
    # a remark alone under an example that returns something (tomlkit's ``doc.pop(...)``)
    alone = json.loads(run_coroutine(run(">>> {'a': 1}.pop('a')\n# del also works\n")))
    assert "comment line '# del also works'" in alone["error"]["message"], alone


def test_a_blank_line_between_groups_of_examples_stays_in_the_code() -> None:
    """A ``>>>`` block of two groups parted by a blank line (more-itertools' README: a
    ``chunked`` group, then a ``spy`` one): the code a reader edits ran them together. One
    blank line stays; a failing example's line in the code counts it."""
    from pyrun_docs.executor import transcript_source

    text = ">>> a = [1, 2]\n>>> len(a)\n2\n\n\n>>> b = a * 2\n>>> len(b)\n5\n"
    assert transcript_source(text) == "a = [1, 2]\nlen(a)\n\nb = a * 2\nlen(b)\n"
    assert transcript_source(">>> x = 1\n>>> x\n1\n") == "x = 1\nx\n"  # nothing added
    said = json.loads(run_coroutine(Host().executor.run_transcript(text)))
    assert said["error"]["line"] == 7 and said["error"]["editor_line"] == 5, said


def test_an_edited_line_of_several_statements_runs_as_one_input() -> None:
    """Typed at the prompt, ``a = 1; b = 2; a + b`` is one input: echoed once, its value shown;
    ``1/0; print('after')`` stops at the error. Each statement was echoed and run on its own
    (the line echoed three times; ``after`` printed after the traceback)."""
    host = Host()
    code = "a = 1; b = 2; a + b\n1/0; print('after')\nprint('next')\n"
    result = json.loads(run_coroutine(host.executor.run(code, console=True)))
    assert result["ok"] is False
    shown = [(m["stream"], m["text"]) for m in host.messages if m.get("type") == "stream"]
    echoed = [text for stream, text in shown if stream == "echo"]
    assert echoed == [
        ">>> a = 1; b = 2; a + b\n",
        ">>> 1/0; print('after')\n",
        ">>> print('next')\n",
    ]
    assert host.stdout() == "3\nnext\n"


def test_an_output_differing_only_in_an_address_says_so() -> None:
    """An object's address differs from one run to the next in any Python (sqlparse's
    ``<Statement ... at 0x7F...>``): the reason said only that the output differs."""
    run = Host().executor.run_transcript
    said = json.loads(run_coroutine(run(">>> object()\n<object object at 0x7fb24c9488d0>\n")))
    assert not said["ok"] and "only an object's address differs" in said["error"]["message"]
    other = json.loads(run_coroutine(run(">>> 'at 0x1234abcd'\n'at 0x99999999 too'\n")))
    assert "address" not in other["error"]["message"]  # more than an address differs


def test_a_blank_line_between_groups_of_examples_stays_in_the_console_view() -> None:
    """A block's examples in groups parted by a blank line (inline-snapshot's ``repr(int)``,
    then its enum) ran together in the console view a Run shows, in the verified output and in
    the output as written; the blank line is kept there, once, and not before the first example
    nor after the last. So is the text doctest passes over between examples (transaction's
    ``doctest`` blocks tell their story there: it was on no page but in an attribute)."""
    from bs4 import BeautifulSoup

    from pyrun_docs.config import PyrunConfig
    from pyrun_docs.options import SnippetOptions
    from pyrun_docs.render import documented_html
    from pyrun_docs.snippet import Snippet

    text = (
        "\n>>> repr(int)\n\"<class 'int'>\"\n\n\n>>> # the second group\n>>> x = 2\n"
        ">>> x + 1\n3\n\nNow x itself, an important step:\n\n>>> x\n2\n\n"
    )
    view = (
        ">>> repr(int)\n\"<class 'int'>\"\n\n>>> # the second group\n>>> x = 2\n>>> x + 1\n3\n\n"
        "Now x itself, an important step:\n\n>>> x\n2\n"
    )
    for port in (False, True):  # doctest's runner, and the port MicroPython's readers get
        host = Host()
        host.executor.port = port
        said = json.loads(run_coroutine(host.executor.run_transcript(text, echo=True)))
        assert said["ok"], said
        shown = "".join(m["text"] for m in host.messages if m.get("type") == "stream")
        assert shown == view, port
    wrong = text.replace("3\n", "4\n")
    snippet = Snippet(wrong, "p.rst", 3, "p", 0, SnippetOptions(session="default"))
    written = BeautifulSoup(documented_html(snippet, PyrunConfig()), "html.parser")
    assert written.select_one("pre").get_text() == view.replace("3\n", "4\n")  # type: ignore[union-attr]
