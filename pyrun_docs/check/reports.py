"""Machine-readable reports: JSON, JUnit XML, and GitHub Actions annotations.

JUnit XML is what CI systems render (one ``testsuite`` per page, one ``testcase`` per snippet, named
by ``file:line``); JSON is for tools of one's own; annotations put each failure on the failing line
of the pull request's diff when running in GitHub Actions.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pyrun_docs.errors import PyrunError
from pyrun_docs.options import options_to_dict

from .results import CheckReport, SnippetResult, Status

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET


def result_to_dict(result: SnippetResult) -> dict[str, Any]:
    snippet = result.snippet
    return {
        "page": snippet.page,
        "path": snippet.path,
        "line": snippet.line,
        "index": snippet.index,
        "location": result.location,
        "status": result.status.value,
        "message": result.message,
        "exception": result.exception,
        "failing_line": result.line,
        "traceback": result.traceback,
        "output": result.output,
        "seconds": round(result.seconds, 4),
        "cached": result.cached,
        "options": options_to_dict(snippet.options),
    }


def report_to_dict(report: CheckReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "counts": {status.value: n for status, n in report.counts().items()},
        "seconds": round(report.seconds, 3),
        "boots": report.boots,
        "cold_boots": report.cold_boots,
        "workers": report.workers,
        "problems": list(report.problems),
        "results": [result_to_dict(r) for r in report.results],
    }


def write_json(report: CheckReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report_to_dict(report), indent=2) + "\n", encoding="utf-8")


def junit_tree(report: CheckReport) -> ET.ElementTree[ET.Element]:
    """``<testsuites>`` with a ``<testsuite>`` per page and a ``<testcase>`` per snippet."""
    import xml.etree.ElementTree as ET  # (with its XML parser: only for --junit)

    counts = report.counts()
    root = ET.Element(
        "testsuites",
        name="pyrun-docs check",
        tests=str(len(report.results)),
        failures=str(counts[Status.FAILED] + counts[Status.TIMEOUT]),
        errors=str(counts[Status.ERROR]),
        skipped=str(counts[Status.SKIPPED] + counts[Status.STATIC]),
        time=f"{report.seconds:.3f}",
    )
    for page, results in report.by_page().items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=page,
            tests=str(len(results)),
            failures=str(sum(r.status in (Status.FAILED, Status.TIMEOUT) for r in results)),
            errors=str(sum(r.status is Status.ERROR for r in results)),
            skipped=str(sum(r.status in (Status.SKIPPED, Status.STATIC) for r in results)),
            time=f"{sum(r.seconds for r in results):.3f}",
        )
        for result in results:
            snippet = result.snippet
            case = ET.SubElement(
                suite,
                "testcase",
                classname=page,
                name=f"{snippet.path}:{snippet.line}",
                file=snippet.path,
                line=str(result.line or snippet.line),
                time=f"{result.seconds:.3f}",
            )
            if result.status in (Status.FAILED, Status.TIMEOUT):
                tag = ET.SubElement(
                    case,
                    "failure",
                    message=result.message,
                    type=result.exception or result.status.value,
                )
                tag.text = f"{result.location}: {result.message}\n{result.traceback}"
            elif result.status is Status.ERROR:
                tag = ET.SubElement(case, "error", message=result.message, type="error")
                tag.text = f"{result.location}: {result.message}"
            elif result.status in (Status.SKIPPED, Status.STATIC):
                ET.SubElement(case, "skipped", message=result.message)
            if result.output:
                ET.SubElement(case, "system-out").text = result.output
    for element in root.iter():  # what XML 1.0 cannot hold made every reader reject the report
        element.text = _xml_text(element.text) if element.text else element.text
        for name, value in element.attrib.items():
            element.attrib[name] = _xml_text(value)
    ET.indent(root)
    return ET.ElementTree(root)


#: a terminal's colour codes (``\x1b[31m``), which output of a colouring library holds
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: characters XML 1.0 has no place for: C0 controls other than tab and newlines, surrogates
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """*text* as an XML document can hold it: colour codes dropped, other characters it cannot
    hold as U+FFFD."""
    return _NOT_XML.sub("\ufffd", _ANSI.sub("", text))


def write_junit(report: CheckReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(report).write(path, encoding="utf-8", xml_declaration=True)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(report: CheckReport, extra: Sequence[PyrunError] = ()) -> list[str]:
    """``::error file=...,line=...::message`` workflow commands, one per failure.

    *extra* are located problems found before running (bad options from the scanner).
    """
    lines: list[str] = []
    for error in extra:
        path, _, line = (error.location or "").rpartition(":")
        if path and line.isdigit():
            lines.append(
                f"::error file={_escape_property(path)},line={line},"
                f"title=pyrun option::{_escape_data(error.message)}"
            )
    for result in report.failures:
        failing = result.line or result.snippet.line
        title = f"pyrun check {result.status.value}"
        body = result.message
        if result.traceback:
            body += "\n" + result.traceback.rstrip()
        lines.append(
            f"::error file={_escape_property(result.snippet.path)},line={failing},"
            f"title={_escape_property(title)}::{_escape_data(body)}"
        )
    return lines


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def emit_github_annotations(
    report: CheckReport, stream: TextIO, *, extra: Sequence[PyrunError] = ()
) -> None:
    """Print the annotations when running in GitHub Actions (``GITHUB_ACTIONS=true``)."""
    if in_github_actions():
        for line in github_annotations(report, extra):
            stream.write(line + "\n")
        stream.flush()
