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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import run_check
    from .cache import default_cache_dir
    from .progress import format_summary
    from .reports import emit_github_annotations, github_annotations, write_json, write_junit
    from .results import CheckReport, SnippetResult, Status
    from .scan import ScanResult, scan_paths
    from .spare import prestart

#: where each name lives. Imported on first use (PEP 562): ``pyrun-docs check`` starts its spare
#: harness (:mod:`.spare`, light) before it imports the rest (~70 ms), so Node boots meanwhile.
_HOMES = {
    "CheckReport": "results",
    "ScanResult": "scan",
    "SnippetResult": "results",
    "Status": "results",
    "default_cache_dir": "cache",
    "emit_github_annotations": "reports",
    "format_summary": "progress",
    "github_annotations": "reports",
    "prestart": "spare",
    "run_check": "api",
    "scan_paths": "scan",
    "write_json": "reports",
    "write_junit": "reports",
}
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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
