"""The differential test: pyrun judges ``>>>`` transcripts exactly as ``doctest`` does.

Each case of :mod:`doctest_cases` is judged by CPython's own ``doctest`` with
``sphinx.ext.doctest``'s default flags (the reference, computed here) and by pyrun: the executor
in CPython, the doctest port the MicroPython runtime uses (run in CPython here; in real MicroPython
in ``test_executor_micropython.py``), and the build check in the pinned Pyodide, the reader's
runtime. Verdicts must be identical.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import check_dir
from doctest_cases import CASES, Case, reference

from pyrun_docs.check import CheckReport, Status, run_check
from pyrun_docs.check.scan import scan_text
from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import PyrunError
from pyrun_docs.executor import Executor


def judge(case: Case, *, port: bool = False) -> bool:
    executor = Executor(lambda _: None, port=port)
    result = json.loads(asyncio.run(executor.run_transcript(case.text, filename="<example 1>")))
    return bool(result["ok"])


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
        assert result.status in (Status.PASSED, Status.FAILED), (case.name, result.message)
        if (result.status is Status.PASSED) is not reference(case.text):
            differ.append((case.name, result.message))
    assert not differ, differ
