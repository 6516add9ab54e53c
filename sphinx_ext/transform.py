"""Swap ``pyrun_block`` nodes for the widget's HTML on HTML builders.

A post-transform (rather than a visitor) because it runs per builder: HTML gets the core renderer's
``<py-repl>``; every other builder keeps the ordinary literal block the directive made, and hidden
setup snippets are dropped from print-like output.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.builders import Builder
from sphinx.transforms.post_transforms import SphinxPostTransform

from pyrun_docs.check.results import SnippetResult, Status
from pyrun_docs.render import render_snippet, verified_output
from pyrun_docs.snippet import Snippet

from .config import get_config
from .directive import pyrun_block


def is_widget_builder(builder: Builder) -> bool:
    """HTML builders get widgets; epub is HTML too, but readers there cannot run code."""
    return builder.format == "html" and not builder.name.startswith("epub")


class PyrunWidgets(SphinxPostTransform):
    default_priority = 200

    def run(self, **kwargs: Any) -> None:
        site = get_config(self.app)
        config = site if is_widget_builder(self.app.builder) else None
        results = getattr(self.app, "pyrun_results", {})
        for node in list(self.document.findall(pyrun_block)):
            snippet: Snippet = node["pyrun"]
            parent = node.parent
            # a caption wraps the block in a container (as for code-block); Sphinx renders the
            # caption itself, with inline markup and a permalink
            captioned = isinstance(parent, nodes.container) and parent.get("literal_block")
            original = node.get("pyrun_original")
            result = results.get((snippet.page, snippet.index))
            verified = verified_output(snippet, result, site)
            if config is None:
                if verified:  # printed under the code, as the page shows it
                    target = parent if captioned else node
                    block = nodes.literal_block(verified, verified, classes=["pyrun-verified"])
                    block["language"] = "none"  # output, not code: no highlighting
                    target.parent.insert(target.parent.index(target) + 1, block)
                if original is not None:  # an upgraded example prints as it was written
                    node.replace_self(original)
                elif snippet.options.hidden:
                    (parent if captioned else node).replace_self([])
                continue
            static = _kept_static(result)
            if original is not None and static is not None:
                note = nodes.paragraph(
                    "", f"Does not run in the browser: {static}", classes=["pyrun-static-note"]
                )
                node.replace_self([original, note] if original.tagname != "comment" else [])
                continue
            html = render_snippet(
                snippet, config, ids=node.get("ids", []), with_caption=False, verified=verified
            )
            node.replace_self(nodes.raw("", html, format="html"))


def _kept_static(result: SnippetResult | None) -> str | None:
    """Why an upgraded example stays a plain block (the check kept it static), else None."""
    if result is None or result.status is not Status.STATIC:
        return None
    reason = str(result.message).removeprefix("stays a plain block: ")
    return reason.splitlines()[0] if reason else "it fails in Python 3.14 (Pyodide)"
