"""The build check runs ``runtime: micropython`` snippets in the pinned MicroPython under Node.

Same semantics as Pyodide's check (sessions, hidden setup first, transcripts, ``raises``, stdin,
timeouts that stop the interpreter and let the page go on, file:line on failure, result cache),
through the browser's own MicroPython host and executor. What MicroPython lacks fails with a
message naming the limitation and suggesting ``runtime: pyodide``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import check_dir
from test_check_run import by_code, pages_of, rst

from pyrun_docs.check import CheckReport, Status, run_check
from pyrun_docs.config import PyrunConfig

MICRO = ":runtime: micropython\n"


@pytest.fixture(scope="module")
def micro(runtime_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    page = rst(
        f"{MICRO}:session: s\n\nx = y + 1",
        f"{MICRO}:session: s\n\nfrom sys import implementation\nprint(implementation.name, x, y)\nx * 2",
        f"{MICRO}:session: s\n:hidden:\n\ny = 10  # hidden, later on the page, runs first",
        ":session: s\n\nprint('x' in globals())  # Pyodide: another session",
        f"{MICRO}\n\nprint(x)  # isolated: no session",
        f"{MICRO}\n\n>>> 1 + 1\n2\n>>> print('a b c d')\na ... d\n>>> {{}}['k']\n"
        "Traceback (most recent call last):\n  ...\nKeyError: 'k'",
        f"{MICRO}\n\n>>> 2 * 3\n7",
        f"{MICRO}:raises: ZeroDivisionError\n\n1 / 0",
        f"{MICRO}\n\na = 1\nb = 0\nprint(a / b)",
        f"{MICRO}:stdin: Ada\n\nwho = input('who? ')\nprint('hi', who)",
        f"{MICRO}\n\nname = input('name? ')",
        f"{MICRO}\n\nimport sys\nsys.stdout.write('partial')",
    )
    limits = rst(
        f"{MICRO}\n\nfrom dataclasses import dataclass",
        f"{MICRO}\n\nimport typing",
        f"{MICRO}\n\nimport enum",
        f"{MICRO}\n\ncommand = 'go'\nmatch command:\n    case 'go':\n        print('going')",
        f"{MICRO}\n\ndef clamp(value, /, low=0):\n    return max(value, low)",
        f"{MICRO}\n\nif True print(1)",
    )
    folder = check_dir(tmp_path_factory.mktemp("micro"))
    return run_check(
        pages_of(micro=page, limits=limits),
        PyrunConfig(),
        cache_dir=folder,
        progress=False,
        use_cache=False,
    )


def test_sessions_hidden_setup_and_runtimes_apart(micro: CheckReport) -> None:
    results = by_code(micro)
    assert results["x = y + 1"].status is Status.PASSED
    both = results["from sys import implementation"]
    assert both.status is Status.PASSED, both.message
    assert both.output == "micropython 11 10\n22\n"  # the final expression's value is shown
    assert results["y = 10  # hidden, later on the page, runs first"].status is Status.PASSED
    assert results["print('x' in globals())  # Pyodide: another session"].output == "False\n"
    isolated = results["print(x)  # isolated: no session"]
    assert isolated.status is Status.FAILED and isolated.exception == "NameError"


def test_transcripts_raises_stdin_and_output(micro: CheckReport) -> None:
    results = by_code(micro)
    assert results[">>> 1 + 1"].status is Status.PASSED, results[">>> 1 + 1"].traceback
    wrong = results[">>> 2 * 3"]
    assert wrong.status is Status.FAILED and wrong.exception == "OutputMismatch"
    assert "Expected:\n    7\nGot:\n    6" in wrong.traceback
    assert results["1 / 0"].status is Status.PASSED
    assert results["who = input('who? ')"].output == "who? Ada\nhi Ada\n"
    stdin = results["name = input('name? ')"]
    assert stdin.exception == "EOFError" and "no keyboard" in stdin.message
    partial = next(r for r in micro.results if "sys.stdout.write('partial')" in r.snippet.code)
    assert partial.output.startswith("partial"), partial.output  # the trailing partial line


def test_failure_names_file_and_line(micro: CheckReport) -> None:
    failure = by_code(micro)["a = 1"]
    assert failure.status is Status.FAILED
    assert failure.exception == "ZeroDivisionError"
    assert failure.location == f"docs/micro.rst:{failure.snippet.line + 2}"
    assert f'File "docs/micro.rst", line {failure.snippet.line + 2}' in failure.traceback
    assert "print(a / b)" in failure.traceback
    assert "pyrun_executor" not in failure.traceback


@pytest.mark.parametrize(
    "first",
    [
        "from dataclasses import dataclass",
        "import typing",
        "import enum",
        "command = 'go'",
        "def clamp(value, /, low=0):",
    ],
)
def test_what_micropython_lacks_is_named(micro: CheckReport, first: str) -> None:
    result = by_code(micro)[first]
    assert result.status is Status.FAILED
    assert "MicroPython limitation" in result.message, result.message
    assert "runtime: pyodide" in result.message
    assert "MicroPython limitation" in result.traceback


def test_a_real_syntax_error_is_not_blamed_on_micropython(micro: CheckReport) -> None:
    result = by_code(micro)["if True print(1)"]
    assert result.exception == "SyntaxError" and result.line == result.snippet.line
    assert "MicroPython" not in result.message


def test_timeout_stops_and_the_page_goes_on(runtime_cache: Path, tmp_path: Path) -> None:
    page = rst(
        f"{MICRO}:session: s\n\nstate = 41",
        f"{MICRO}:timeout: 2\n\nwhile True:\n    pass",
        f"{MICRO}:session: s\n\nprint(state + 1)",
        f"{MICRO}:session: t\n:timeout: 2\n\nwhile True:\n    pass",
        f"{MICRO}:session: t\n\nprint('blocked')",
    )
    folder = check_dir(tmp_path)
    report = run_check(pages_of(loop=page), PyrunConfig(), cache_dir=folder, progress=False)
    results = by_code(report)
    loops = [r for r in report.results if r.snippet.code.startswith("while True")]
    assert [r.status for r in loops] == [Status.TIMEOUT, Status.TIMEOUT]
    assert "timed out after 2 s" in loops[0].message
    after = results["print(state + 1)"]
    assert after.status is Status.PASSED and after.output == "42\n"  # session rebuilt
    blocked = results["print('blocked')"]
    assert blocked.status is Status.ERROR and "timed out" in blocked.message

    # unchanged: answered from the cache (passes only; the failures run again)
    again = run_check(pages_of(loop=page), PyrunConfig(), cache_dir=folder, progress=False)
    assert by_code(again)["state = 41"].status is Status.CACHED


def test_micropython_only_needs_no_pyodide(
    runtime_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyrun_docs.check.api as api

    def no_pyodide(pin: object) -> Path:
        raise AssertionError(f"fetched {pin} for a MicroPython-only check")

    monkeypatch.setattr(api, "ensure_runtime", no_pyodide)
    page = rst(f"{MICRO}\n\nprint(sum(range(10)))")
    report = run_check(
        pages_of(only=page), PyrunConfig(), cache_dir=check_dir(tmp_path), progress=False
    )
    [result] = report.results
    assert result.status is Status.PASSED and result.output == "45\n"
