"""The build check on real Node.js and the real pinned Pyodide: semantics and bad input.

No mocks of the runtime: each test scans reST text into snippets, runs :func:`run_check` and looks
at the verdicts. Interpreter snapshots are shared with the user cache (like the runtime itself), so
only the first check of a machine pays for a cold boot.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import check_dir

from pyrun_docs.check import CheckReport, SnippetResult, Status, run_check
from pyrun_docs.check.api import reader_note
from pyrun_docs.check.scan import scan_text
from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import PyrunError
from pyrun_docs.options import parse_options
from pyrun_docs.snippet import Snippet


def pages_of(**texts: str) -> dict[str, list[Snippet]]:
    pages: dict[str, list[Snippet]] = {}
    for name, text in texts.items():
        errors: list[PyrunError] = []
        pages[name] = scan_text(text, f"docs/{name}.rst", page=name, errors=errors)
        assert not errors, errors
    return pages


def rst(*blocks: str) -> str:
    """A page of ``.. pyrun::`` blocks; each block is ``options`` lines, a blank line, code."""
    out = ["Page\n====\n"]
    for block in blocks:
        head, _, code = block.partition("\n\n")
        opts = "".join(f"   {ln}\n" for ln in head.splitlines() if ln.strip())
        body = "".join(f"   {ln}\n" if ln else "\n" for ln in code.splitlines())
        out.append(f".. pyrun::\n{opts}\n{body}")
    return "\n".join(out)


def by_code(report: CheckReport) -> dict[str, SnippetResult]:
    return {r.snippet.code.strip().splitlines()[0]: r for r in report.results}


@pytest.fixture(scope="module")
def semantics(runtime_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    main = rst(
        ":session: s\n\nx = y + 1",
        "\n\nprint(x)  # isolated: no session",
        ":session: s\n\nprint(x, y)",
        ":session: other\n\nprint(x)",
        ":session: s\n:hidden:\n\ny = 10  # hidden, later on the page, runs first",
        "\n\n>>> 1 + 1\n2\n>>> print('a b c d')\na ... d\n>>> [1, 2, 3]\n[1, ...]",
        "\n\n>>> 2 * 3\n7",
        "\n\n>>> def f():\n...     raise KeyError('k')\n>>> f()\nTraceback (most recent call last):\n"
        "  ...\nKeyError: 'k'",
        ":raises: ValueError\n\nint('nope')",
        ":raises: ValueError\n\n1 / 0",
        ":raises: ValueError\n\nprint('no exception')",
        ":check: skip\n\nimport urllib.request\nurllib.request.urlopen('https://example.com')",
        ":runtime: micropython\n\nprint('micro')",
        "\n\nimport os, sys, random\nsys.modules['leaky'] = sys\nos.environ['LEAK'] = '1'\n"
        "open('leak.txt', 'w').write('x')\nprint(random.random())",
        # Emscripten made up an address for any name (netutils' fqdn_to_ip passed the check)
        "\n\n>>> import socket\n>>> socket.gethostbyname('localhost')\n'127.0.0.1'\n"
        ">>> socket.getaddrinfo('example.invalid', 80)  # doctest: +IGNORE_EXCEPTION_DETAIL\n"
        "Traceback (most recent call last):\n  ...\nsocket.gaierror: [Errno -2] Name not known",
    )
    other = rst(
        "\n\nimport random, sys, os\nassert 'leaky' not in sys.modules\n"
        "assert 'LEAK' not in os.environ\nassert not os.path.exists('leak.txt')\n"
        "print(random.random())",
        "\n\na = 1\nb = 0\nprint(a / b)",
        "\n\nname = input('name? ')",
        ":stdin: Ada\\n41\n\nwho = input('who? ')\nprint(who, int(input('age? ')) + 1)",
        ":stdin: one\n\nfirst = input()\nsecond = input()",
        "\n\nimport js\nawait js.fetch('https://example.com')",
        "\n\nimport asyncio\nawait asyncio.sleep(0.01)\nprint('top-level await works')",
        "\n\nimport socket  # another page, another interpreter\nsocket.gethostbyname('a.invalid')",
        "\n\nimport urllib.request as web\nweb.urlopen('http://b.invalid/')",
        "\n\nimport socket as net\ntry:\n    title = net.getaddrinfo('c.invalid', 80) and 'x'\n"
        "except OSError:  # caught: the failure later says nothing of the network\n"
        "    title = None\nprint(title.upper())",
        # a server: Emscripten asked Node for the `ws` package, and the error ended the
        # interpreter ("Cannot find module 'ws'"), the rest of the page unrun
        ":session: srv\n\nimport socket\nserver = socket.socket()\n"
        "server.bind(('127.0.0.1', 0))\nserver.listen(1)",
        ":session: srv\n\nprint('after the server')",
        # as Pyodide's urllib3 (and so requests) asks: the message named no address
        "\n\nfrom js import XMLHttpRequest\nrequest = XMLHttpRequest.new()\n"
        "request.open('GET', 'https://example.org/data.json', False)\nrequest.send()",
    )
    folder = check_dir(tmp_path_factory.mktemp("semantics"))
    pages = pages_of(main=main, other=other)
    return run_check(pages, PyrunConfig(), cache_dir=folder, progress=False, use_cache=False)


def test_sessions_hidden_first_and_isolation(semantics: CheckReport) -> None:
    results = by_code(semantics)
    assert results["x = y + 1"].status is Status.PASSED
    assert results["y = 10  # hidden, later on the page, runs first"].status is Status.PASSED
    assert results["print(x, y)"].status is Status.PASSED
    assert results["print(x, y)"].output == "11 10\n"
    isolated = results["print(x)  # isolated: no session"]
    assert isolated.status is Status.FAILED and isolated.exception == "NameError"
    assert results["print(x)"].exception == "NameError"  # another session


def test_transcripts_doctest_style(semantics: CheckReport) -> None:
    results = by_code(semantics)
    assert results[">>> 1 + 1"].status is Status.PASSED
    assert results[">>> def f():"].status is Status.PASSED  # expected traceback matched
    wrong = results[">>> 2 * 3"]
    assert wrong.status is Status.FAILED and wrong.exception == "OutputMismatch"
    assert wrong.line == wrong.snippet.line  # the >>> line of the example
    assert "Expected:\n    7\nGot:\n    6" in wrong.traceback


def test_raises_and_skips(semantics: CheckReport) -> None:
    results = by_code(semantics)
    assert results["int('nope')"].status is Status.PASSED
    wrong = results["1 / 0"]
    assert wrong.status is Status.FAILED
    assert "expected ValueError, got ZeroDivisionError" in wrong.message
    missing = results["print('no exception')"]
    assert missing.status is Status.FAILED and "expected ValueError to be raised" in missing.message
    assert results["import urllib.request"].status is Status.SKIPPED
    micro = results["print('micro')"]  # checked in MicroPython (tests/test_check_micropython.py)
    assert micro.status is Status.PASSED and micro.output == "micro\n"


def test_pages_are_isolated(semantics: CheckReport) -> None:
    results = by_code(semantics)
    leaker = results["import os, sys, random"]
    checker = results["import random, sys, os"]
    assert leaker.status is Status.PASSED
    assert checker.status is Status.PASSED, checker.traceback  # no module, env or file leaked
    assert leaker.output != checker.output  # random is reseeded after a snapshot restore


def test_failure_names_file_and_line(semantics: CheckReport) -> None:
    failure = by_code(semantics)["a = 1"]
    assert failure.status is Status.FAILED
    assert failure.location == f"docs/other.rst:{failure.snippet.line + 2}"
    assert f'File "docs/other.rst", line {failure.snippet.line + 2}' in failure.traceback
    assert failure.message == "ZeroDivisionError: division by zero"


def test_no_stdin_no_network_but_await(semantics: CheckReport) -> None:
    results = by_code(semantics)
    stdin = results["name = input('name? ')"]
    assert stdin.exception == "EOFError" and "no keyboard" in stdin.message
    assert "`stdin` option" in stdin.message  # says what to do
    given = results["who = input('who? ')"]
    assert given.status is Status.PASSED, given.message
    assert given.output == "who? Ada\nage? 41\nAda 42\n"  # answers echoed like a terminal
    short = results["first = input()"]
    assert short.exception == "EOFError" and "more often" in short.message
    assert short.line is not None and short.location.endswith(f":{short.line}")
    network = results["import js"]
    assert network.status is Status.FAILED, network
    assert network.message.endswith(
        ": it needs the network, which the check has not (it asked for https://example.com); "
        "mark it `check: skip`"
    ), network.message
    xhr = results["from js import XMLHttpRequest"]
    assert "(it asked for https://example.org/data.json)" in xhr.message, xhr.message
    assert "harness" not in xhr.traceback  # the check's own frames are not the reader's
    assert results["import asyncio"].output == "top-level await works\n"
    lookup = results[">>> import socket"]
    assert lookup.status is Status.PASSED, lookup.traceback  # names are not made up...
    name = results["import socket  # another page, another interpreter"]
    assert name.exception == "gaierror" and "has no network: 'a.invalid'" in name.message
    chained = results["import urllib.request as web"]  # URLError, from the lookup's gaierror
    assert chained.exception == "URLError" and "has no network: 'b.invalid'" in chained.message
    assert "During handling" in chained.traceback and "pyrun_executor" not in chained.traceback
    caught = results["import socket as net"]
    assert caught.exception == "AttributeError", caught
    assert caught.message.endswith("(it looked up c.invalid: the browser has no network)")
    server = results["import socket"]
    assert server.status is Status.FAILED and server.exception == "OSError", server.message
    assert "[Errno 138]" in server.message and server.line == server.snippet.source_line(4)
    assert results["print('after the server')"].output == "after the server\n"
    assert not semantics.ok and semantics.boots >= 2


def test_bad_snippets_fail_alone(runtime_cache: Path, tmp_path: Path) -> None:
    page = rst(
        ":session: s\n\nstate = 41",
        "\n\nif True print(1)",
        "\n\nimport sys\nsys.exit(3)",
        "\n\nimport os\nos._exit(4)",
        ":session: s\n\nprint(state + 1)",
        "\n\ndef f(n):\n    return f(n + 1)\nf(0)",
        "\n\nprint('x' * 50_000_000)",
        ":timeout: 2\n\nwhile True:\n    pass",
        ":session: s\n\nprint(state)",
        "\n\nb = bytearray(4 * 1024**3)",
        "\n\nimport sys as system\nsystem.stdout = 42\nprint('x')",
        "\n\nprint('stdout is back')",
        "\n\nfrom pyodide.code import run_js\nrun_js('process.exit(9)')",
        ":session: s\n\nprint(state * 2)",
    )
    report = run_check(
        pages_of(bad=page), PyrunConfig(), cache_dir=check_dir(tmp_path), progress=False
    )
    results = by_code(report)
    syntax = results["if True print(1)"]
    assert syntax.exception == "SyntaxError" and syntax.line == syntax.snippet.line
    assert results["import sys"].exception == "SystemExit"
    exited = results["import os"]
    assert exited.status is Status.FAILED and "ended the interpreter" in exited.message
    assert results["print(state + 1)"].output == "42\n"  # session rebuilt after os._exit
    assert results["def f(n):"].exception == "RecursionError"
    flood = results["print('x' * 50_000_000)"]
    assert flood.status is Status.PASSED and len(flood.output) < 200_000
    assert "characters of earlier output cut" in flood.output
    loop = results["while True:"]
    assert loop.status is Status.TIMEOUT and "2 s" in loop.message
    assert results["print(state)"].output == "41\n"  # and after the kill
    assert results["b = bytearray(4 * 1024**3)"].status is Status.FAILED
    assert results["import sys as system"].exception == "AttributeError"
    assert results["print('stdout is back')"].output == "stdout is back\n"
    crash = results["from pyodide.code import run_js"]
    assert crash.status is Status.ERROR and "crashed" in crash.message
    assert results["print(state * 2)"].output == "82\n"  # after the crash too
    assert not report.ok


def test_damaged_snapshot_falls_back_to_a_cold_boot(runtime_cache: Path, tmp_path: Path) -> None:
    """A snapshot whose hash matches but which does not restore: boot cold, say so, pass."""
    from pyrun_docs.check.settings import harness_settings

    folder = tmp_path / "cache"
    snapshot = harness_settings(PyrunConfig(), folder).snapshots.path
    snapshot.parent.mkdir(parents=True)
    garbage = b"\x00" * 4096
    snapshot.write_bytes(garbage)
    snapshot.with_name(snapshot.name + ".sha256").write_text(hashlib.sha256(garbage).hexdigest())
    report = run_check(
        pages_of(one=rst("\n\nprint('still checked')")),
        PyrunConfig(),
        cache_dir=folder,
        progress=False,
    )
    assert report.ok, report.results
    assert report.results[0].output == "still checked\n"
    assert report.cold_boots == 1
    assert any("snapshot" in p for p in report.problems), report.problems
    assert not snapshot.exists()  # deleted: the next check makes a good one


def test_packages_only_from_verified_wheels(
    runtime_cache: Path, own_cache: Path, tmp_path: Path
) -> None:
    """An unknown package, and a wheel that is not the pinned one, are errors; nothing is loaded
    (not even the package index's copy, which replaces only a wheel that cannot be downloaded).
    The page's other snippets are still checked (the whole page was an error, each snippet at
    the page's first line: jsonschema's docs, at the conf.py line of its global setup)."""
    from pyrun_docs.serve import serve_in_thread

    cdn = tmp_path / "cdn"
    cdn.mkdir()
    lock = (runtime_cache / "pyodide-lock.json").read_text(encoding="utf-8")
    entry = json.loads(lock)["packages"]["six"]
    (cdn / entry["file_name"]).write_bytes(b"not the pinned wheel")
    url, server = serve_in_thread(cdn)
    try:
        page = rst(
            ":packages: definitely-not-a-pyodide-package\n\nprint(1)",
            "\n\nimport six\nprint(six.PY3)",
            "\n\nprint('still checked')",
        )
        report = run_check(
            pages_of(pkgs=page),
            PyrunConfig(cdn_url=url),
            cache_dir=tmp_path / "c",
            progress=False,
        )
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
    unknown, mismatched, other = report.results
    assert unknown.status is Status.ERROR
    assert "unknown package definitely-not-a-pyodide-package" in unknown.message
    assert mismatched.status is Status.ERROR
    assert "does not match the pinned lock file" in mismatched.message
    assert (other.status, other.output) == (Status.PASSED, "still checked\n"), other


@pytest.mark.parametrize("isolation", ["reset", "interpreter"])
def test_one_process_pages_stay_isolated(
    runtime_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolation: str
) -> None:
    """Pages run one after another in one process: neither patches nor timers cross over.

    With ``reset`` page b reuses page a's interpreter, put back to its fresh state; page b leaves
    a timer pending, so page c gets a fresh interpreter. With ``interpreter`` every page does.
    """
    monkeypatch.setenv("PYRUN_DOCS_CHECK_ISOLATION", isolation)
    pages = pages_of(
        a=rst(
            "\n\nimport json, builtins, os\njson.dumps = lambda *a, **k: 'patched'\n"
            "builtins.leaked = True\nos.makedirs('/tmp/leak', exist_ok=True)",
            "\n\nx = 1",
        ),
        b=rst(
            "\n\nimport json, builtins, os\n"
            "print(json.dumps([1]), hasattr(builtins, 'leaked'), os.path.exists('/tmp/leak'))",
            "\n\nimport asyncio\nasyncio.get_running_loop().call_later(0.3, print, 'late')",
        ),
        c=rst("\n\nimport asyncio\nawait asyncio.sleep(0.6)\nprint('c')", "\n\ny = 2"),
    )
    report = run_check(
        pages, PyrunConfig(), cache_dir=check_dir(tmp_path), progress=False, jobs=1,
        use_cache=False,
    )  # fmt: skip
    assert report.ok, [r.traceback for r in report.results]
    outputs = [r.output for r in report.results]
    assert outputs[2] == "[1] False False\n"  # no patch, no attribute, no file
    assert outputs[4] == "c\n"  # the timer of page b did not fire into page c
    assert report.boots == (2 if isolation == "reset" else 3)


def test_a_library_ctypes_failed_to_load_fails_on_the_next_page_too(
    runtime_cache: Path, tmp_path: Path
) -> None:
    """Emscripten keeps the name of a library it failed to load: the next page's load of it
    "succeeded" in the interpreter handed on (python-chess's gaviota page, then an
    AttributeError at its first function), where a fresh one raises OSError, as the doctest
    builder and a reader's browser do. A page that loaded a library (or failed to) hands on no
    interpreter; one that only imported ctypes does (sympy does, on every page)."""
    load = (
        "\n\nimport ctypes\ntry:\n    ctypes.cdll.LoadLibrary('libpyrun-none.so.1')\n"
        "except OSError:\n    print('OSError')"
    )
    pages = pages_of(a=rst(load), b=rst(load), c=rst("\n\nimport ctypes"), d=rst("\n\nx = 1"))
    report = run_check(
        pages, PyrunConfig(), cache_dir=check_dir(tmp_path), progress=False, jobs=1,
        use_cache=False,
    )  # fmt: skip
    assert [r.output for r in report.results][:2] == ["OSError\n", "OSError\n"], report.results
    assert report.boots == 3  # a, b and c each a fresh one (after a load); d in c's, put back


#: a file every restored interpreter has (a memory snapshot holds no files of its own)
STDLIB_ZIP = "import os, sys\nstdlib = next(p for p in sys.path if p.endswith('.zip'))"


def test_files_changed_any_way_are_caught(runtime_cache: Path, tmp_path: Path) -> None:
    """The harness compares a page's files with the baseline only after a page that may have
    changed one (it watches Emscripten's file system calls): a page that only sets a file's time
    is caught (its interpreter is not handed on), and so are files written through a raw
    descriptor, folders, links and renames (undone before the next page)."""
    pages = pages_of(
        a=rst(f"\n\n{STDLIB_ZIP}\nos.utime(stdlib, (1, 1))"),
        b=rst(f"\n\n{STDLIB_ZIP}\nprint(os.stat(stdlib).st_mtime > 1)"),
        c=rst(
            "\n\nimport os\nfd = os.open('/tmp/raw', os.O_WRONLY | os.O_CREAT)\n"
            "os.write(fd, b'x')\nos.close(fd)\nos.mkdir('/tmp/d')\n"
            "os.symlink('/tmp/raw', '/tmp/d/link')\nos.rename('/tmp/raw', '/tmp/moved')"
        ),
        d=rst("\n\nimport os\nprint(os.listdir('/tmp'))"),
    )
    report = run_check(
        pages, PyrunConfig(), cache_dir=check_dir(tmp_path), progress=False, jobs=1,
        use_cache=False,
    )  # fmt: skip
    assert report.ok, [r.traceback for r in report.results]
    assert [r.output for r in report.results] == ["", "True\n", "", "[]\n"]
    assert report.boots == 2  # after a, a fresh interpreter; c's was put back and handed on


@pytest.mark.parametrize("stuck", [True, False])
def test_harness_ends_when_the_check_is_gone(
    runtime_cache: Path, tmp_path: Path, stuck: bool
) -> None:
    """A harness stuck in `while True: pass` whose Python side died must not keep spinning (its
    watchdog thread ends it), nor one whose check died before its first page (it sees the end of
    its input: the watchdog starts with the first page)."""
    import os
    import subprocess
    import sys
    import time

    page = (
        """send({"op": "page", "page": "x", "packages": [],
      "runs": [{"run": "0", "code": "while True: pass", "filename": "<e>"}]})
while b'"start"' not in p.stdout.readline():
    pass
"""
        if stuck
        else ""
    )
    parent = f"""
import json, os, subprocess, sys
from pathlib import Path
from pyrun_docs.check.settings import harness_settings
from pyrun_docs.check.harness import HARNESS_PATH
from pyrun_docs.config import PyrunConfig
s = harness_settings(PyrunConfig(), Path({str(check_dir(tmp_path))!r}))
p = subprocess.Popen([s.node.path, str(HARNESS_PATH)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def send(m):
    p.stdin.write((json.dumps(m) + "\\n").encode()); p.stdin.flush()
send({{"op": "init", **s.init, **s.snapshots.init_fields()}})
p.stdout.readline()
{page}print(p.pid, flush=True)
os._exit(0)
"""
    proc = subprocess.run(
        [sys.executable, "-c", parent], capture_output=True, text=True, timeout=120, check=True
    )
    pid = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 10
    stat = Path(f"/proc/{pid}/stat")
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z":
            return  # ended; only not reaped yet (no init process in this container)
        time.sleep(0.2)
    os.kill(pid, 9)
    pytest.fail("the orphaned harness was still running 10 s after its parent died")


def test_a_closed_harness_is_let_go_and_reaped(tmp_path: Path) -> None:
    """``close`` asks the process to exit and returns without waiting for its end (Node takes
    40-160 ms to exit after a page); a thread still reaps it, or kills one that does not exit."""
    import time

    from pyrun_docs.check.harness import Harness
    from pyrun_docs.node import find_node

    slow = tmp_path / "slow_exit.mjs"  # exits 1.5 s after it is asked to
    slow.write_text(
        'import * as readline from "node:readline";\n'
        "for await (const line of readline.createInterface({ input: process.stdin })) {\n"
        '  if (JSON.parse(line).op === "exit") { setTimeout(() => process.exit(0), 1500); break; }\n'
        "}\n"
        "setInterval(() => {}, 1000);\n"  # stdin's end alone does not end it
    )
    stuck = tmp_path / "never_exits.mjs"
    stuck.write_text("setInterval(() => {}, 1000);\n")
    node = find_node()
    leaving, staying = Harness(node, slow), Harness(node, stuck)
    leaving.close()
    staying.close()
    assert leaving.proc.poll() is None  # not waited for
    deadline = time.monotonic() + 30
    while (
        leaving.proc.poll() is None or staying.proc.poll() is None
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leaving.proc.returncode == 0  # ended on its own, and was reaped
    assert staying.proc.returncode is not None and staying.proc.returncode < 0  # killed


def test_a_failure_after_a_failing_example_of_its_session_says_so(
    runtime_cache: Path, tmp_path: Path
) -> None:
    """The second example of a session fails only because the first did (its name was never
    made): its message names the earlier failure on its first line (the line a reader's note
    under a block kept static shows); a failure in another session does not."""
    page = rst(
        ":session: k\n\nthing = 1 / 0",
        ":session: k\n\nprint(thing)",
        ":session: other\n\nprint(missing)",
        ":session: m\n\n>>> 1 + 1\n3",  # output that differs: everything ran
        ":session: m\n\nprint(missing)",
    )
    report = run_check(pages_of(p=page), PyrunConfig(), cache_dir=check_dir(tmp_path),
                       progress=False, use_cache=False)  # fmt: skip
    first, second, other, mismatch, after_mismatch = report.results
    assert first.message == "ZeroDivisionError: division by zero"
    assert second.message.splitlines()[0] == (
        "NameError: name 'thing' is not defined (after an earlier example of its session failed, "
        f"{first.location}: ZeroDivisionError: division by zero)"
    )
    assert other.message.startswith("NameError") and "earlier" not in other.message
    assert mismatch.exception == "OutputMismatch"
    assert (
        after_mismatch.message.startswith("NameError") and "earlier" not in after_mismatch.message
    )
    # the note a reader sees under a block kept static names neither the example nor its file
    static = replace(second, status=Status.STATIC, message=f"stays a plain block: {second.message}")
    # and a Python block failing with a NameError is a fragment, not what a browser cannot do
    # (Python-Markdown: 69 notes blamed the browser); a transcript's is the browser's own
    assert reader_note(static) == (
        "Not runnable on its own: NameError: name 'thing' is not defined"
        " (after an earlier example failed)"  # said, not which: a build's file and line
    )
    transcript = replace(static, snippet=replace(static.snippet, code=">>> thing\n"))
    assert reader_note(transcript).startswith("Does not run in the browser: NameError")
    # as is one importing a module of another block ("rect.py"): no package has it
    module = replace(
        static, message="stays a plain block: ModuleNotFoundError: No module named 'rect'"
    )
    assert reader_note(module).startswith("Not runnable on its own: ModuleNotFoundError")


@pytest.mark.parametrize(
    ("failure", "note"),
    [
        # a file the page does not give it, with Emscripten's errno (44) left out
        (
            "FileNotFoundError: [Errno 44] No such file or directory: 'data.txt'",
            "Not runnable on its own: FileNotFoundError: No such file or directory: 'data.txt'",
        ),
        # a program's end, the same in any Python; setuptools' usage text cut short
        (
            "SystemExit: usage: tool " + "[option] " * 30,
            "Ends the program: SystemExit: usage: tool",
        ),
        # a Python block CPython was not asked about: not said to be the browser's fault ...
        ("ValueError: bad value", "Does not run as shown: ValueError: bad value"),
        # ... nor the fix the author is told
        (
            "OutputMismatch: the output of >>> x differs from the transcript (its expected output"
            " has the comment line '# note': doctest reads every line under an example as its"
            " output; put a blank line before the comment)",
            "Does not run as shown: the output of >>> x differs from the one shown",
        ),
        # a docstring's module that does not import, in the reader's words
        (
            "ImportError: importing pyee.twisted for this docstring's globals failed: "
            "ModuleNotFoundError: No module named 'twisted'",
            "Does not run in the browser: its module pyee.twisted cannot be imported there"
            " (ModuleNotFoundError: No module named 'twisted')",
        ),
        # keyboard input, without the author's advice (the ``stdin`` option) nor the count
        (
            "EOFError: input() has no keyboard here: examples run without standard input; give"
            " the answers with the `stdin` option (e.g. `stdin: Ada\\n42`) or set the value in"
            " the code instead (and 1 more failing example, one raising NameError)",
            "Does not run in the browser: it asks for keyboard input (input())",
        ),
        # ... unless what fails is what the browser lacks
        (
            "OSError: [Errno 138] emscripten does not support processes",
            "Does not run in the browser: OSError: [Errno 138] emscripten",
        ),
    ],
)
def test_the_reader_note_of_a_python_block_kept_static(failure: str, note: str) -> None:
    """Python-Markdown's python blocks kept static read "Does not run in the browser:
    SystemExit: usage: [global_opts] cmd1 ..." (setuptools' whole usage text) and
    "FileNotFoundError: [Errno 44] ..." for a file no reader has either."""
    block = Snippet("x = 1\n", "docs/p.md", 3, "p", 0, parse_options({}), origin="upgrade")
    result = SnippetResult(block, Status.STATIC, f"stays a plain block: {failure}")
    said = reader_note(result)
    assert said.startswith(note), said
    assert len(said) < 140, said


#: a page that looks for what an earlier page changed, then changes it all again: module attributes
#: replaced, added, deleted (also through ``vars()``, ``update`` and a ``global`` statement run in a
#: module's own namespace) and class attributes replaced and added
PATCHING_PAGE = (
    "import json, string, textwrap\n"
    "print(json.dumps([1]), hasattr(json, 'extra'), hasattr(string, 'capwords'),\n"
    "      'x' in vars(textwrap), 'LEAK' in vars(json), hasattr(textwrap.TextWrapper, 'leak'),\n"
    "      string.Template.delimiter, textwrap.dedent(' a'))\n"
    "json.dumps = lambda *a, **k: 'patched'\n"
    "json.extra = 1\n"
    "del string.capwords\n"
    "vars(textwrap)['x'] = 1\n"
    "vars(textwrap).update(dedent=str.upper)\n"
    "exec('global LEAK\\nLEAK = 1', vars(json))\n"
    "textwrap.TextWrapper.leak = 1\n"
    "type.__setattr__(string.Template, 'delimiter', '%')\n"
)


def test_pages_changing_the_same_namespaces_are_each_put_back(
    runtime_cache: Path, tmp_path: Path
) -> None:
    """One interpreter serves four pages that each change the same module and class namespaces:
    each page starts clean. Resets after the first compare only the namespaces the dict watchers
    saw change, and a namespace put back is watched again (pages 3 and 4 fail otherwise)."""
    from pyrun_docs.check.harness import HARNESS_PATH, Harness
    from pyrun_docs.check.settings import harness_settings

    settings = harness_settings(PyrunConfig(), check_dir(tmp_path))
    harness = Harness(settings.node, HARNESS_PATH)
    try:
        harness.send({"op": "init", **settings.init, **settings.snapshots.init_fields()})
        assert harness.event(120)["ev"] == "ready"
        outputs, ends = [], []
        for page in "abcd":
            run = {"run": page, "code": PATCHING_PAGE, "filename": f"<{page}>", "session": "s"}
            harness.send({"op": "page", "page": page, "packages": [], "runs": [run]})
            while (event := harness.event(120))["ev"] not in ("page-done", "page-error"):
                if event["ev"] == "done":
                    assert event["result"]["ok"], event["result"]
                    outputs.append("".join(m.get("text", "") for m in event["messages"]))
            ends.append(event)
    finally:
        harness.close()
    assert outputs == ["[1] False True False False False $ a\n"] * 4
    assert all(end["ev"] == "page-done" and end["fresh"] == [] for end in ends)  # handed on
    assert all(end["watched"] > 1000 for end in ends)  # module and class dicts


def test_a_docstrings_failure_is_not_tied_to_another_docstrings() -> None:
    """doctest runs each docstring on its own: a docstring example's failure names an earlier
    failure of the same docstring (or of the page's own examples), not of another docstring
    (tomlkit's every later docstring failure named the page's first one)."""
    from pyrun_docs.check.api import after_failure
    from pyrun_docs.options import SnippetOptions

    def snippet(index: int, docstring: str | None) -> Snippet:
        options = SnippetOptions(session="default", module="m", docstring=docstring)
        return Snippet(">>> x = x + 1\n", "m.py", 10 * index + 1, "api", index, options)

    page = [snippet(0, None), snippet(1, "m.a"), snippet(2, "m.a"), snippet(3, "m.b")]
    failed = {
        ("api", s.index): SnippetResult(
            s, Status.FAILED, "NameError: name 'x' is not defined", exception="NameError"
        )
        for s in page
    }
    config = PyrunConfig()
    told = [after_failure(failed[("api", s.index)], "api", page, failed, config) for s in page]
    assert "earlier" not in told[0].message
    assert "m.py:1" in told[1].message  # the page's own example before it
    assert "m.py:11" in told[2].message  # (the latest earlier failure of its session it may follow)
    tied = [
        after_failure(failed[("api", s.index)], "api", page[1:], failed, config) for s in page[1:]
    ]
    assert "m.py:11" in tied[1].message  # the same docstring's
    assert "earlier" not in tied[2].message  # another docstring's: not named
    syntax = SnippetResult(page[2], Status.FAILED, "SyntaxError: invalid syntax", "SyntaxError")
    assert after_failure(syntax, "api", page, failed, config) == syntax  # its own, whatever ran


def test_a_failure_names_the_earlier_one_that_was_to_bind_what_it_uses() -> None:
    """A page of host-dependent examples (a subprocess, a host file): each static note named
    the page's first failure, which had nothing to do with it; requests' ``NameError: name 'r'``
    named an example 34 lines above the one that was to bind ``r``."""
    from pyrun_docs.check.api import after_failure
    from pyrun_docs.options import SnippetOptions

    codes = [">>> r = get('a')\n", ">>> subprocess.run(['ls'])\n", ">>> r = get('b')\n",
             ">>> open('/etc/hostname').read()\n", ">>> r.status\n200\n"]  # fmt: skip
    page = [
        Snippet(code, "p.rst", 10 * n + 1, "p", n, SnippetOptions(session="s"))
        for n, code in enumerate(codes)
    ]
    failed = {("p", s.index): SnippetResult(s, Status.FAILED, "E: x", exception="E") for s in page}
    told = [after_failure(failed[("p", s.index)], "p", page, failed, PyrunConfig()) for s in page]
    assert "earlier" not in told[3].message  # nothing it uses was to come from one above
    assert (
        told[4].message == "E: x (after an earlier example of its session failed, p.rst:21: E: x)"
    )


def test_an_earlier_failure_is_named_only_for_what_it_left_unbound() -> None:
    """Not for a ``NameError`` of a name it was not to bind either (semantic_version's
    ``Version``, imported by no example, was blamed on a block that was to bind ``s``), nor for
    names it bound before its failing line, which ran (graphviz: ``import graphviz`` ran, then
    ``n.render()`` failed; a later ``graphviz.render()`` failure was said to follow from it)."""
    from pyrun_docs.check.api import after_failure
    from pyrun_docs.options import SnippetOptions

    def failing(code: str, line: int, index: int, message: str, at: int) -> SnippetResult:
        snippet = Snippet(code, "p.rst", line, "p", index, SnippetOptions(session="s"))
        name = message.partition(":")[0]
        return SnippetResult(snippet, Status.FAILED, message, exception=name, line=at)

    cases = [
        (  # the later one misses a name no earlier example was to bind
            failing(
                ">>> s = '1.0'\n>>> Version(s)\n",
                1,
                0,
                "NameError: name 'Version' is not defined",
                2,
            ),
            failing(
                ">>> s = '2.0'\n>>> Version(s)\n",
                5,
                1,
                "NameError: name 'Version' is not defined",
                6,
            ),
            False,
        ),
        (  # what the earlier block bound before its failing example did get bound
            failing(
                ">>> import math\n>>> math.sqrt(-1)\n", 1, 0, "ValueError: math domain error", 2
            ),
            failing(">>> math.floor(2.5)\n3\n", 5, 1, "OutputMismatch: differs", 5),
            False,
        ),
        (  # the failing example was to bind the name the later one misses
            failing(
                ">>> import math\n>>> v = math.sqrt(-1)\n", 1, 0, "ValueError: math domain error", 2
            ),
            failing(">>> v + 1\n", 5, 1, "NameError: name 'v' is not defined", 5),
            True,
        ),
        (  # code: statements after the failing line did not run
            failing("x = 1\n1 / 0\ny = 2\n", 1, 0, "ZeroDivisionError: division by zero", 2),
            failing("print(y)\n", 5, 1, "NameError: name 'y' is not defined", 5),
            True,
        ),
    ]
    cases += [
        (  # the earlier transcript's failures were all output mismatches: everything ran
            failing(">>> x = 1\n>>> x\n2\n>>> y = 3\n>>> y\n4\n", 1, 0,
                    "OutputMismatch: differs (and 1 more failing example)", 2),
            failing(">>> y\n3\n", 9, 1, "OutputMismatch: differs", 9),
            False,
        ),
        (  # ... unless a later one raised
            failing(">>> x = 1\n>>> x\n2\n>>> y = 1 / 0\n>>> z = w\n", 1, 0,
                    "OutputMismatch: differs (and 2 more failing examples, 2 raising, first "
                    "ZeroDivisionError)", 2),
            failing(">>> y\n3\n", 9, 1, "NameError: name 'y' is not defined", 9),
            True,
        ),
        (  # the later one binds the name itself before reading it (sympy's matrices page)
            failing(">>> M = f()\n", 1, 0, "ValueError: no", 1),
            failing(">>> M = 2\n>>> M\n3\n", 5, 1, "OutputMismatch: differs", 6),
            False,
        ),
    ]  # fmt: skip
    for earlier, later, named in cases:
        page = [earlier.snippet, later.snippet]
        results = {("p", 0): earlier, ("p", 1): later}
        told = after_failure(later, "p", page, results, PyrunConfig())
        assert ("after an earlier example" in told.message) is named, (later.message, told.message)


def test_a_failure_after_an_unchecked_snippet_of_its_session_is_unchecked_too() -> None:
    """``>>> import numpy as np`` not checked (numpy not to be had), then ``np.arange(3)`` fails
    with a NameError: it is not checked either, not a failure, nor a block kept static whose
    note tells readers it does not run in the browser (uncertainties' numpy guide: 14 such)."""
    from pyrun_docs.check.api import after_failure, kept_static
    from pyrun_docs.options import SnippetOptions

    page = [
        Snippet(
            code,
            "docs/np.rst",
            line,
            "np",
            index,
            SnippetOptions(session="default"),
            origin="upgrade",
        )
        for index, (code, line) in enumerate(
            [(">>> import numpy as np\n", 4), (">>> np.arange(3).tolist()\n[0, 1, 2]\n", 8)]
        )
    ]
    results = {
        ("np", 0): SnippetResult(page[0], Status.ERROR, "not checked: package numpy ..."),
        ("np", 1): SnippetResult(
            page[1],
            Status.FAILED,
            "NameError: name 'np' is not defined",
            exception="NameError",
            traceback="Traceback (most recent call last):\nNameError: name 'np' is not defined\n",
        ),
    }
    config = PyrunConfig()
    later = kept_static(after_failure(results[("np", 1)], "np", page, results, config), config)
    assert later.status is Status.ERROR, later
    assert (
        later.message
        == "not checked: it runs after docs/np.rst:4, which was not checked (see there)"
    )
    assert later.traceback == ""  # its run's NameError said nothing of it: not checked


def test_a_snippet_using_what_an_unchecked_one_made_is_unchecked_too() -> None:
    """Along a chain: ``a = np.arange(3)`` is not checked (after ``import numpy as np``), so
    ``b = a + 1`` is not either, naming the same first one, not kept static with a note for
    readers that ``a`` is not defined (bitsets' advanced page: two such, after five)."""
    from pyrun_docs.check.api import _page_verdicts
    from pyrun_docs.options import SnippetOptions

    codes = [">>> import numpy as np\n", ">>> a = np.arange(3)\n", ">>> b = a + 1\n>>> b[0]\n1\n"]
    page = [
        Snippet(code, "docs/np.rst", 4 * index + 4, "np", index, SnippetOptions(session="default"))
        for index, code in enumerate(codes)
    ]
    raw = [
        SnippetResult(page[0], Status.ERROR, "not checked: package numpy ..."),
        SnippetResult(
            page[1], Status.FAILED, "NameError: name 'np' is not defined", exception="NameError"
        ),
        SnippetResult(
            page[2], Status.FAILED, "NameError: name 'a' is not defined", exception="NameError"
        ),
    ]
    results = {("np", r.snippet.index): r for r in raw}
    verdicts = _page_verdicts("np", page, results, {}, PyrunConfig())
    assert [v.status for v in verdicts] == [Status.ERROR] * 3, verdicts
    after = "not checked: it runs after docs/np.rst:4, which was not checked (see there)"
    assert verdicts[1].message == after
    assert verdicts[2].message == after


def test_which_static_blocks_run_hidden_in_their_place() -> None:
    """A block kept static runs, hidden, in its session in the reader's browser as in the check
    (a later widget may need the names it set), not one on its own, nor one that timed out (it
    would hang every later Run of its session)."""
    from pyrun_docs.check.api import runs_hidden
    from pyrun_docs.options import SnippetOptions
    from pyrun_docs.snippet import Snippet

    in_session = Snippet(">>> x = 1\n", "p.rst", 3, "p", 0, SnippetOptions(session="default"))
    alone = Snippet("x = 1\n", "p.rst", 3, "p", 0)
    failed = "stays a plain block: OSError: no processes"
    timed_out = "stays a plain block: timed out after 3 s (the interpreter was stopped)"
    assert runs_hidden(SnippetResult(in_session, Status.STATIC, failed))
    assert not runs_hidden(SnippetResult(in_session, Status.STATIC, timed_out))
    assert not runs_hidden(SnippetResult(alone, Status.STATIC, failed))
    assert not runs_hidden(SnippetResult(in_session, Status.FAILED, "OSError"))


def test_a_block_whose_package_imports_are_skipped_is_checked(
    runtime_cache: Path, tmp_path: Path
) -> None:
    """Its ``+SKIP`` example imports a package the check cannot have (numpy, no CDN here): it
    was "not checked" with advice to add ``+SKIP``, which it had (sympy's basic operations)."""
    pages = pages_of(
        p=".. pyrun::\n\n   >>> import numpy as np  # doctest: +SKIP\n   >>> 1 + 1\n   2\n"
    )
    report = run_check(pages, PyrunConfig(), cache_dir=check_dir(tmp_path), progress=False,
                       use_cache=False)  # fmt: skip
    assert [r.status for r in report.results] == [Status.PASSED], report.results


def test_a_warm_up_gives_way_to_a_check_that_waits(runtime_cache: Path, tmp_path: Path) -> None:
    """A prestarted harness warms its interpreter up (a snippet, a transcript, a reset) while the
    docs are read; a check that already waits for it sends ``hurry``: once the interpreter is
    restored the warm-up ends there (the 24-page tree waited ~0.1 s for runs that only warmed V8
    up), and its first page runs in that interpreter, untouched."""
    from pyrun_docs.check.harness import HARNESS_PATH, Harness
    from pyrun_docs.check.settings import harness_settings

    settings = harness_settings(PyrunConfig(), check_dir(tmp_path))
    outcomes = []
    for hurry in (False, True):
        harness = Harness(settings.node, HARNESS_PATH)
        try:
            harness.send({"op": "init", **settings.init, **settings.snapshots.init_fields()})
            assert harness.event(120)["ev"] == "ready"
            harness.send({"op": "warm", "imports": []})
            if hurry:
                harness.send({"op": "hurry"})
            warmed = harness.event(120)
            run = {"run": "r", "code": "x = 'page'\nprint(x, 6 * 7)", "filename": "<a>"}
            harness.send({"op": "page", "page": "a", "packages": [], "runs": [run]})
            events = []
            while (event := harness.event(120))["ev"] not in ("page-done", "page-error"):
                events.append(event)
        finally:
            harness.close()
        done = [e for e in events if e["ev"] == "done"]
        booted = [e["how"] for e in events if e["ev"] == "booted"]
        printed = "".join(m.get("text", "") for m in done[0]["messages"])
        outcomes.append((warmed["ev"], warmed.get("hurried", False), booted, printed))
    assert outcomes == [
        ("warmed", False, ["prestarted"], "page 42\n"),
        ("warmed", True, ["prestarted"], "page 42\n"),
    ], outcomes


def test_an_example_that_does_not_compile_is_blamed_only_for_what_it_was_to_assign() -> None:
    """doctest compiles each example on its own: blessed's unclosed ``print("a"`` (a
    SyntaxError) made the whole block unreadable to the names rule, so every later failure of
    its page said it came "after an earlier example of its session failed". It binds nothing
    but what it plainly assigns (``y = (1``: a later NameError for ``y`` is its doing)."""
    from pyrun_docs.check.api import after_failure
    from pyrun_docs.options import SnippetOptions

    def page_of(broken: str, later: str) -> list[Snippet]:
        codes = [(f">>> x = 1\n>>> {broken}\n", 4), (later, 9)]
        options = SnippetOptions(session="default")
        return [
            Snippet(code, "docs/p.rst", line, "p", i, options, origin="upgrade")
            for i, (code, line) in enumerate(codes)
        ]

    def verdict(page: list[Snippet], exception: str, message: str) -> str:
        results = {
            ("p", 0): SnippetResult(
                page[0],
                Status.FAILED,
                "SyntaxError: '(' was never closed",
                "SyntaxError",
                line=5,
            ),
            ("p", 1): SnippetResult(page[1], Status.FAILED, message, exception),
        }
        return after_failure(results[("p", 1)], "p", page, results, PyrunConfig()).message

    unrelated = page_of('print("a"', ">>> z + 1\n1\n")
    said = verdict(unrelated, "NameError", "NameError: name 'z' is not defined")
    assert "earlier" not in said, said
    assigned = page_of("y = (1", ">>> y + 1\n2\n")
    said = verdict(assigned, "NameError", "NameError: name 'y' is not defined")
    assert "after an earlier example of its session failed, docs/p.rst:5" in said, said
