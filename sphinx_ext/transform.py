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

from pyrun_docs.render import render_snippet
from pyrun_docs.snippet import Snippet

from .config import get_config
from .directive import pyrun_block


def is_widget_builder(builder: Builder) -> bool:
    """HTML builders get widgets; epub is HTML too, but readers there cannot run code."""
    return builder.format == "html" and not builder.name.startswith("epub")


class PyrunWidgets(SphinxPostTransform):
    default_priority = 200

    def run(self, **kwargs: Any) -> None:
        widgets = is_widget_builder(self.app.builder)
        config = get_config(self.app) if widgets else None
        for node in list(self.document.findall(pyrun_block)):
            snippet: Snippet = node["pyrun"]
            parent = node.parent
            # a caption wraps the block in a container (as for code-block); Sphinx renders the
            # caption itself, with inline markup and a permalink
            captioned = isinstance(parent, nodes.container) and parent.get("literal_block")
            if config is None:
                if snippet.options.hidden:
                    (parent if captioned else node).replace_self([])
                continue
            html = render_snippet(snippet, config, ids=node.get("ids", []), with_caption=False)
            node.replace_self(nodes.raw("", html, format="html"))
