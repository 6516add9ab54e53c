"""What a snippet showed its reader, recorded by the check and shown again before anyone clicks Run.

The check runs every snippet in the reader's own runtime; what it printed and displayed there is the
output worth showing on the page, in print, in a PDF or epub, and in a downloaded notebook. This
module holds that record (:class:`Recorded`) and its three renderings: static HTML with images as
content-addressed files (:func:`to_html`), plain text for builders without HTML (:meth:`Recorded.text`)
and nbformat outputs (:func:`notebook_outputs`).

The record keeps output exactly as the reader's widget keeps it (``assets/pyrun-runner.js``): the
newest ``output_limit`` characters of text, the head cut and counted, with the same note; rich
output (``display()`` bundles, matplotlib figures) in the order it came.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import os
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: a stream item ``{"stream": "stdout" | "stderr", "text": ...}`` or ``{"bundle": {mime: data}}``
Item = dict[str, Any]

#: what the widget writes above text whose head was cut (``pyrun-runner.js``'s ``trim``)
CUT_NOTE = "[… {count} characters of earlier output cut …]\n"

#: the widget's classes for stream text (``echo``: a transcript's prompts, dimmed as in a console)
_STREAM_CLASSES = {
    "stdout": "pyrun-stdout",
    "stderr": "pyrun-stderr",
    "echo": "pyrun-echo",
    "skipped": "pyrun-skipped",  # a skipped example's output as written (it did not run)
}

#: image types written as files, with their file suffixes, in the widget's order of preference
IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/svg+xml": ".svg"}

#: ``link(data, suffix)``: store an output file, return its URL relative to the page showing it
Link = Callable[[bytes, str], str]
#: Markdown to HTML (the adapter's: MkDocs has Python-Markdown; the core imports no Markdown)
MarkdownToHtml = Callable[[str], str]


@dataclass(frozen=True)
class Recorded:
    """What one run showed, in order.

    Attributes:
        items: stream text (consecutive writes to one stream merged; a transcript's examples
            echoed with their prompts as stream ``echo``, as the console view shows them) and
            display bundles.
        cut: characters of text cut from the head (by the executor, the harness or the cap here).
        displays_cut: rich outputs not kept (over the check's byte budget).
    """

    items: tuple[Item, ...] = ()
    cut: int = 0
    displays_cut: int = 0

    def __bool__(self) -> bool:
        """True when a reader would see something (text that is not only whitespace, a display;
        not a transcript's echoed examples alone, which its code shows already)."""
        return any(
            "bundle" in item or (item.get("stream") != "echo" and str(item.get("text", "")).strip())
            for item in self.items
        )

    @property
    def text(self) -> str:
        """Plain text, as a terminal would show it: both streams, and each display's
        ``text/plain``; the cut note first."""
        parts: list[str] = [CUT_NOTE.format(count=self.cut)] if self.cut else []
        for item in self.items:
            if "bundle" in item:
                parts.append(plain_text(item["bundle"]))
            elif item.get("stream") != "echo":  # a transcript's prompts are not its output
                parts.append(str(item.get("text", "")))
        return "".join(parts)

    def to_json(self) -> dict[str, Any]:
        """For the result cache."""
        return {"items": list(self.items), "cut": self.cut, "displays_cut": self.displays_cut}

    @classmethod
    def from_json(cls, data: Any) -> Recorded:
        """Read :meth:`to_json`'s dict back; anything unreadable is an empty record."""
        if not isinstance(data, dict):
            return cls()
        items = tuple(_valid_items(data.get("items")))
        return cls(items, _count(data.get("cut")), _count(data.get("displays_cut")))


def record(
    messages: Iterable[dict[str, Any]],
    *,
    dropped: int = 0,
    dropped_displays: int = 0,
    limit: int = 100_000,
) -> Recorded:
    """Record the executor's messages as the widget shows them.

    Args:
        messages: ``stream`` and ``display`` messages of one run, in order.
        dropped: text characters already cut before these messages (by the check harness).
        dropped_displays: display bundles already left out.
        limit: the site's ``output_limit``: characters of text kept (the newest).
    """
    items: list[Item] = []
    cut = dropped
    for message in messages:
        kind = message.get("type")
        if kind == "stream":
            stream = str(message.get("stream") or "stdout")
            cut += _count(message.get("dropped"))
            text = str(message.get("text") or "")
            if not text:
                continue
            if items and items[-1].get("stream") == stream:
                items[-1] = {"stream": stream, "text": items[-1]["text"] + text}
            else:
                items.append({"stream": stream, "text": text})
        elif kind == "display" and isinstance(message.get("bundle"), dict):
            bundle = {str(k): str(v) for k, v in message["bundle"].items()}
            items.append({"bundle": bundle})
    total = sum(len(item.get("text", "")) for item in items)
    while total > limit:
        first = next(i for i, item in enumerate(items) if item.get("text"))
        drop = min(total - limit, len(items[first]["text"]))
        items[first] = {**items[first], "text": items[first]["text"][drop:]}
        total -= drop
        cut += drop
        if not items[first]["text"]:
            del items[first]
    return Recorded(tuple(items), cut, dropped_displays)


def to_html(recorded: Recorded, link: Link, markdown: MarkdownToHtml | None = None) -> str:
    """Static HTML for *recorded*, needing no JavaScript: text escaped in ``<pre>`` (stderr marked),
    images as files (*link* stores them) loaded lazily, HTML as the snippet made it (the docs'
    own examples, trusted as the widget trusts them), Markdown rendered by *markdown* (else
    shown as its source)."""
    parts: list[str] = []
    spans: list[str] = []  # the text box being filled, as the widget's <pre class="pyrun-text">

    def text(cls: str, value: str) -> None:
        spans.append(f'<span class="{cls}">{html.escape(value)}</span>')

    def close() -> None:
        if spans:
            parts.append(f'<pre class="pyrun-text">{"".join(spans)}</pre>')
            spans.clear()

    if recorded.cut:
        text("pyrun-cut", CUT_NOTE.format(count=recorded.cut))
    for item in recorded.items:
        bundle = item.get("bundle")
        if bundle is None:
            text(_STREAM_CLASSES.get(item["stream"], "pyrun-stdout"), item["text"])
            continue
        rich = _bundle_html(bundle, link, markdown)
        if rich is None:  # only text: shown in the text box, as the widget shows a result
            text("pyrun-result", f"{bundle.get('text/plain', '')}\n")
            continue
        close()
        parts.append(rich)
    close()
    if recorded.displays_cut:
        parts.append(
            f'<p class="pyrun-cut">{recorded.displays_cut} more rich outputs were not kept '
            "(too large to show here); Run shows them.</p>"
        )
    return "".join(parts)


def _bundle_html(bundle: dict[str, str], link: Link, markdown: MarkdownToHtml | None) -> str | None:
    """One display, as the widget renders it: an image, HTML, Markdown (``None``: only text)."""
    alt = html.escape(bundle.get("text/plain", "") or "output image", quote=True)
    image = bundle_image(bundle)
    if image is not None:
        src = html.escape(link(*image), quote=True)
        return f'<div class="pyrun-display"><img src="{src}" alt="{alt}" loading="lazy"></div>'
    if "text/html" in bundle:
        return f'<div class="pyrun-display">{bundle["text/html"]}</div>'
    if "text/markdown" in bundle:
        source = bundle["text/markdown"]
        rendered = markdown(source) if markdown else f"<pre>{html.escape(source)}</pre>"
        return f'<div class="pyrun-display pyrun-markdown">{rendered}</div>'
    return None


def plain_text(bundle: dict[str, str]) -> str:
    """A display's ``text/plain``, ending its line, as a terminal shows it."""
    plain = str(bundle.get("text/plain", ""))
    return plain if plain.endswith("\n") else plain + "\n"


def bundle_image(
    bundle: dict[str, str], types: Collection[str] = IMAGE_TYPES
) -> tuple[bytes, str] | None:
    """The first image of *bundle* among *types* (the widget's order of preference) that
    decodes: its file content and file suffix."""
    for mime in IMAGE_TYPES:
        if mime in bundle and mime in types:
            data = image_bytes(bundle[mime], mime)
            if data is not None:
                return data, IMAGE_TYPES[mime]
    return None


def image_bytes(data: str, mime: str) -> bytes | None:
    """The file content of an image bundle entry (base64 for PNG/JPEG, text for SVG)."""
    if mime == "image/svg+xml":
        return data.encode("utf-8")
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def notebook_outputs(recorded: Recorded) -> list[dict[str, Any]]:
    """nbformat 4 outputs: streams as ``stream``, displays as ``display_data``."""
    outputs: list[dict[str, Any]] = []
    if recorded.cut:
        note = CUT_NOTE.format(count=recorded.cut)
        outputs.append({"output_type": "stream", "name": "stdout", "text": note})
    for item in recorded.items:
        if "bundle" in item:
            data = {mime: value for mime, value in item["bundle"].items() if "/" in mime}
            outputs.append({"output_type": "display_data", "data": data, "metadata": {}})
        elif item["stream"] in ("stdout", "stderr"):  # the cell shows the code itself
            outputs.append({"output_type": "stream", "name": item["stream"], "text": item["text"]})
    return outputs


class OutputFiles:
    """Content-addressed files for a built site (``pyrun-output/<sha256>.png``): an image shown by
    many pages, or by an unchanged rebuild, is one file, written once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def store(self, data: bytes, suffix: str) -> Path:
        """Write *data* (unless that file exists) and return its path."""
        name = hashlib.sha256(data).hexdigest()[:32] + suffix
        path = self.folder / name
        if not path.is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return path

    def linker(self, page_dir: Path) -> Link:
        """A :data:`Link` for a page written in *page_dir*: files are linked relative to it."""

        def link(data: bytes, suffix: str) -> str:
            return Path(os.path.relpath(self.store(data, suffix), page_dir)).as_posix()

        return link


def _count(value: Any) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def _valid_items(value: Any) -> Iterable[Item]:
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict) and isinstance(item.get("bundle"), dict):
            yield {"bundle": {str(k): str(v) for k, v in item["bundle"].items()}}
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            yield {"stream": str(item.get("stream") or "stdout"), "text": item["text"]}


#: a UTF-16 surrogate on its own (Python's json decodes a pair to one character)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(value: Any) -> Any:
    """*value* (decoded JSON) with each lone surrogate in its texts replaced by U+FFFD, as a
    browser shows one: ``print(os.fsdecode(b"caf\\xe9"))`` printed ``'caf\\udce9'``, which
    passed the check and then crashed the Sphinx and MkDocs builds writing the page (UTF-8 has
    no surrogates)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [well_formed(item) for item in value]
    if isinstance(value, dict):
        return {key: well_formed(item) for key, item in value.items()}
    return value


def well_formed_json(text: str | bytes) -> Any:
    """*text* (JSON) decoded, with a lone surrogate it escapes (``\\udce9``) replaced as
    :func:`well_formed` does: looked at only when the text has one (the check's events, its
    stored results and CPython's answers each did this on their own)."""
    value = json.loads(text)
    lower = text.lower() if isinstance(text, str) else text.lower().decode("latin-1")
    return well_formed(value) if "\\ud" in lower else value
