"""Swap ``pyrun_block`` nodes for the widget's HTML on HTML builders.

A post-transform (rather than a visitor) because it runs per builder: HTML gets the core renderer's
``<py-repl>``; every other builder keeps the ordinary literal block the directive made, and hidden
setup snippets are dropped from print-like output.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.builders import Builder
from sphinx.transforms.post_transforms import SphinxPostTransform

from pyrun_docs.check.api import as_hidden, reader_note, runs_hidden
from pyrun_docs.check.results import SnippetResult, Status
from pyrun_docs.config import PyrunConfig
from pyrun_docs.outputs import (
    CUT_NOTE,
    MarkdownToHtml,
    OutputFiles,
    Recorded,
    bundle_image,
    plain_text,
)
from pyrun_docs.render import (
    fails_in_docs,
    render_snippet,
    takeaway_html,
    unverified_html,
    verified_html,
    verified_output,
)
from pyrun_docs.snippet import Snippet
from pyrun_docs.takeaway import notebook_name, page_files, script_name

from .config import get_config
from .directive import pyrun_block
from .upgrade import REPLACED


def _replaced(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Element) and REPLACED in node


def is_widget_builder(builder: Builder) -> bool:
    """HTML builders get widgets; epub is HTML too, but readers there cannot run code."""
    return builder.format == "html" and not builder.name.startswith("epub")


class PyrunWidgets(SphinxPostTransform):
    default_priority = 200

    def run(self, **kwargs: Any) -> None:
        for replaced in list(self.document.findall(_replaced)):  # kept for the doctest builder
            replaced.parent.remove(replaced)
        found = list(self.document.findall(pyrun_block))
        if not found:
            return
        site = get_config(self.app)
        builder = self.app.builder
        config = site if is_widget_builder(builder) else None
        results = getattr(self.app, "pyrun_results", {})
        place = Placement(builder, self.env.docname)
        scripts, notebook = (
            ({}, None) if config is None else self._takeaway(found, results, place, config)
        )
        for node in found:
            snippet: Snippet = node["pyrun"]
            parent = node.parent
            # a caption wraps the block in a container (as for code-block); Sphinx renders the
            # caption itself, with inline markup and a permalink
            captioned = isinstance(parent, nodes.container) and parent.get("literal_block")
            original = node.get("pyrun_original")
            result = results.get((snippet.page, snippet.index))
            shown = verified_output(snippet, result, site)
            if config is None:
                if shown:  # printed under the code, as the page shows it
                    target = parent if captioned else node
                    at = target.parent.index(target) + 1
                    target.parent[at:at] = output_nodes(shown, builder, place)
                if original is not None:  # an upgraded example prints as it was written
                    node.replace_self(original)
                elif snippet.options.hidden:
                    (parent if captioned else node).replace_self([])
                continue
            static = _kept_static(result)
            if original is not None and static is not None:
                note = nodes.paragraph("", static, classes=["pyrun-static-note"])
                kept = [original, note] if original.tagname != "comment" else []
                if result is not None and runs_hidden(result):  # in its place, as in the check
                    hidden = render_snippet(as_hidden(snippet), config, shown=False)
                    kept.append(nodes.raw("", hidden, format="html"))
                node.replace_self(kept)
                continue
            runtime = snippet.options.runtime or config.runtime
            verified = (
                verified_html(shown, runtime, place.link, _markdown())
                if shown
                else unverified_html(snippet, result, config)
            )
            if snippet.index in scripts:  # hidden setup has none: it runs first in each script
                verified += takeaway_html(scripts[snippet.index], notebook)
            html = render_snippet(
                snippet, config, ids=node.get("ids", []), with_caption=False, verified=verified
            )
            node.replace_self(nodes.raw("", html, format="html"))

    def _takeaway(
        self,
        found: list[pyrun_block],
        results: dict[Any, SnippetResult],
        place: Placement,
        site: PyrunConfig,
    ) -> tuple[dict[int, str], str | None]:
        """Write the page's ``.py`` files and notebook; return their URLs (per snippet index,
        and the notebook's)."""
        if not site.takeaway:
            return {}, None
        # every example: one kept static (a subprocess, say) runs in CPython, and later ones of
        # its session use what it made (bigtree's notebook left out `graph = tree.to_dot(root)`:
        # NameError in the cells after it); only the widgets get a script link
        snippets = [node["pyrun"] for node in found]
        widgets = {
            s.index for s in snippets if _kept_static(results.get((s.page, s.index))) is None
        }
        if not widgets:
            return {}, None
        title = self.env.titles.get(self.env.docname)
        files = page_files(
            snippets,
            site,
            title=title.astext() if title is not None else self.env.docname,
            # a testcode block's cell has the output its testoutput block shows on the page
            shown=lambda s: verified_output(s, results.get((s.page, s.index)), site, testcode=True),
            failed=lambda s: fails_in_docs(results.get((s.page, s.index))),
        )
        page = self.env.docname
        scripts = {
            index: place.download(script_name(page, index), text)
            for index, text in files.scripts.items()
            if index in widgets
        }
        notebook = place.download(notebook_name(page), files.notebook) if files.notebook else None
        return scripts, notebook


class Placement:
    """Where a page's generated files go in the output folder, and their URLs from the page:
    output images content-addressed in ``_images/pyrun/`` (HTML, epub) or ``pyrun-output/``
    (LaTeX, which resolves images from its output folder), take-away files in
    ``_downloads/pyrun/DOCNAME/``."""

    def __init__(self, builder: Builder, docname: str) -> None:
        self.builder = builder
        self.docname = docname
        outdir = Path(builder.outdir)
        self.html = builder.format == "html"
        get_outfilename = getattr(builder, "get_outfilename", None)
        self.page_dir = (
            Path(get_outfilename(docname)).parent if callable(get_outfilename) else outdir
        )
        images = OutputFiles(outdir / "_images" / "pyrun" if self.html else outdir / "pyrun-output")
        self.link = images.linker(self.page_dir if self.html else outdir)
        self.downloads = outdir / "_downloads" / "pyrun" / docname

    def download(self, name: str, text: str) -> str:
        """Write a take-away file (only when its content changed) and return its URL."""
        path = self.downloads / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return Path(os.path.relpath(path, self.page_dir)).as_posix()


def output_nodes(shown: Recorded, builder: Builder, place: Placement) -> list[nodes.Element]:
    """The verified output for builders without widgets: text as an unhighlighted literal block,
    images as figures where the builder takes that image type (LaTeX: PNG, JPEG; epub: SVG
    too), everything else as its text."""
    supported = set(getattr(builder, "supported_image_types", ()))
    made: list[nodes.Element] = []
    text: list[str] = [CUT_NOTE.format(count=shown.cut)] if shown.cut else []

    def flush() -> None:
        if "".join(text).strip():
            block = nodes.literal_block("".join(text), "".join(text), classes=["pyrun-verified"])
            block["language"] = "none"  # output, not code: no highlighting
            made.append(block)
        text.clear()

    for item in shown.items:
        bundle = item.get("bundle")
        if bundle is None:
            text.append(item["text"])
            continue
        image = bundle_image(bundle, supported)
        if image is None:
            text.append(plain_text(bundle))
            continue
        flush()
        uri = place.link(*image)
        made.append(
            nodes.image(
                uri=uri, alt=str(bundle.get("text/plain", "output image")), candidates={"*": uri}
            )
        )
    flush()
    return made


def _markdown() -> MarkdownToHtml | None:
    """Python-Markdown, when installed, renders ``_repr_markdown_`` output; else it shows as source."""
    try:
        import markdown
    except ImportError:
        return None
    return functools.partial(markdown.markdown, extensions=["tables", "fenced_code"])


def _kept_static(result: SnippetResult | None) -> str | None:
    """The note under an upgraded example the check kept a plain block, else None."""
    if result is None or result.status is not Status.STATIC:
        return None
    return reader_note(result)
