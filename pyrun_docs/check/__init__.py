"""The build check: every snippet runs in headless Pyodide, through the reader's executor.

Framework-free. Adapters collect :class:`~pyrun_docs.snippet.Snippet` objects per page and call
:func:`run_check`; the CLI scans sources with :func:`scan_paths` first. See ``docs/check.rst``.

Layout: :mod:`.plan` (order, sessions, cache keys), :mod:`.pool` and :mod:`.harness` (Node
processes running ``harness.mjs``), :mod:`.snapshot` (interpreter memory snapshots, with the site's
packages installed), :mod:`.cache` (results), :mod:`.verdict` and :mod:`.results` (the result
model), :mod:`.progress` and :mod:`.reports` (terminal, JSON, JUnit XML, GitHub annotations),
:mod:`.scan` (sources without a build). Below it, shared with the docs build and never importing
it: :mod:`pyrun_docs.node` (finding Node.js) and :mod:`pyrun_docs.package_store` (the pinned lock,
verified wheels).
"""

from __future__ import annotations

from .api import default_cache_dir, run_check
from .progress import format_summary
from .reports import emit_github_annotations, github_annotations, write_json, write_junit
from .results import CheckReport, SnippetResult, Status
from .scan import ScanResult, scan_paths
from .spare import prestart

__all__ = [
    "CheckReport",
    "ScanResult",
    "SnippetResult",
    "Status",
    "default_cache_dir",
    "emit_github_annotations",
    "format_summary",
    "github_annotations",
    "prestart",
    "run_check",
    "scan_paths",
    "write_json",
    "write_junit",
]
