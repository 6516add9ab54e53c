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
            target: nodes.Element = node
            parent = node.parent
            if (
                isinstance(parent, nodes.container)
                and parent.get("literal_block")
                and any(isinstance(c, nodes.caption) for c in parent.children)
            ):
                target = parent
            if config is None:
                if snippet.options.hidden:
                    target.parent.remove(target)
                continue
            ids = list(target.get("ids", [])) + [i for i in node.get("ids", []) if target is not node]
            html = render_snippet(snippet, config, ids=ids)
            target.replace_self(nodes.raw("", html, format="html"))
