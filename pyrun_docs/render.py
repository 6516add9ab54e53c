"""HTML for a snippet: a ``<py-repl>`` element around static, highlighted code.

The code is highlighted at build time with Pygments using the ``highlight`` CSS classes that Sphinx
themes and mkdocs-material already style, so a reader without JavaScript, a printout, a search engine
and a copy button all see the code. The element's data attributes carry the options the browser needs;
site-wide settings travel in one JSON element per page (a script in Sphinx's head,
:func:`page_config_element` in MkDocs' content).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from . import __version__
from .assets import EXECUTOR_NAME, SERVICE_WORKER_URL, WORKER_NAME, asset_version
from .config import PyrunConfig
from .doctest_flags import transcript_flags, trim_directives
from .executor import led_examples, prompt_lines, with_prompts
from .mpy import MPY_NAME, compiled_executor
from .outputs import Link, MarkdownToHtml, Recorded, to_html
from .runtime import RuntimePin, load_pins
from .snippet import Snippet

#: the site's resolved packages (``pyrun_docs.packages``), next to the loader
PACKAGE_LOCK = "pyrun-lock.json"


class _LineFormatter(HtmlFormatter):  # type: ignore[misc]
    """Pygments' HTML with one span per line, numbered from 1 whatever ``linenostart`` says.

    An emphasized line is that span itself (``<span id=.. class="hll">``), not a second span
    inside it: themes give ``.hll`` ``display: block`` (furo, pydata...), and a block inside the
    inline line span split the line in two. Ids stay 1-based so the widget marks the line a
    traceback names (the snippet's own numbering) even when the shown numbers start elsewhere.
    """

    def _wrap_linespans(self, inner: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
        number = 0
        for is_line, line in inner:
            if not is_line:
                yield 0, line
                continue
            number += 1
            span_id = f"{self.linespans}-{number}"
            if line.startswith(_HLL_OPEN) and line.endswith("</span>"):
                inner_html = line[len(_HLL_OPEN) : -len("</span>")]
                yield 1, f'<span id="{span_id}" class="hll">{inner_html}</span>'
            else:
                yield 1, f'<span id="{span_id}">{line}</span>'


_HLL_OPEN = '<span class="hll">'


def highlight_code(
    code: str,
    *,
    hl_lines: Sequence[int] = (),
    line_prefix: str = "",
    wrapcode: bool = False,
    linenos: bool = False,
    lineno_start: int = 1,
) -> str:
    """Pygments HTML (``<div class="highlight">...``) with one span per line.

    The markup is Sphinx's own ``code-block`` markup (its default
    ``html_codeblock_linenos_style``: ``<span class="linenos">`` inside the line, inside the
    ``hll`` span of an emphasized line), so every theme styles the widget's numbers and emphasis
    exactly as it styles its code blocks (themes make the numbers unselectable; the widget leaves
    them out of the code it runs and copies). Per-line spans
    (``id="<prefix>-N"``, N from 1) let the widget mark the line a traceback points at.
    *wrapcode* gives pymdownx.highlight's markup, which mkdocs-material styles: ``<code>`` in the
    ``<pre>`` and its ``pymdownx-inline`` line numbers; Sphinx themes style a bare ``<pre>``.
    """
    formatter = _LineFormatter(
        cssclass="highlight",
        hl_lines=list(hl_lines),
        linespans=line_prefix or None,
        wrapcode=wrapcode,
        linenos="inline" if linenos else False,
        linenostart=lineno_start,
    )
    text = str(highlight(code, PythonLexer(stripnl=False, ensurenl=True), formatter))
    if wrapcode and linenos:
        # pymdownx.highlight's "pymdownx-inline" numbers, which mkdocs-material draws from the
        # attribute (with its gap and rule); the number is then no text at all
        text = _INLINE_NUMBER.sub(r'<span class="linenos" data-linenos="\1 "></span>', text)
    return text


_INLINE_NUMBER = re.compile(r'<span class="linenos">( *\d+)</span>')


def render_snippet(
    snippet: Snippet,
    config: PyrunConfig,
    *,
    ids: Sequence[str] = (),
    show_source: bool = False,
    with_caption: bool = True,
    wrapcode: bool = False,
    verified: str = "",
    shown: bool = True,
) -> str:
    """The widget's HTML for an HTML page.

    Args:
        verified: HTML put under the code, inside the widget: the output the build check
            captured for exactly this snippet (:func:`verified_html`, shown before any Run and
            without JavaScript) and the take-away links. A transcript without a verified
            output shows its outputs as written (:func:`documented_html`).
        ids: extra anchors (reference targets) to put before the widget.
        show_source: add ``data-source="file:line"`` (for debugging pages).
        with_caption: render ``caption`` here; Sphinx renders it itself (inline markup, permalinks).
        wrapcode: ``<pre><code>`` as the host's own code blocks have it (MkDocs), see
            :func:`highlight_code`.
        shown: ``False``: not on the page at all (``hidden``), yet run in its place in its
            session (a block kept static, shown as the plain block it was:
            :func:`pyrun_docs.check.api.runs_hidden`).
    """
    opts = snippet.options
    shown = shown and not opts.repeated  # the page shows it once, where it is written
    emphasized = shown_lines(snippet, opts.emphasize_lines)
    attrs = _widget_attributes(snippet, config, emphasized, show_source=show_source)
    attr_text = "".join(
        f" {k}" if v is None or (v == "" and k.startswith("data-")) else f' {k}="{html.escape(v)}"'
        for k, v in attrs.items()
    )
    anchors = "".join(f'<span id="{html.escape(i)}"></span>' for i in ids)
    caption = (
        f'<div class="pyrun-caption"><span class="caption-text">{html.escape(opts.caption)}</span></div>'
        if opts.caption and with_caption
        else ""
    )
    documents = snippet.is_transcript and shown and not opts.hidden and config.output != "off"
    if documents and not verified.startswith(VERIFIED):
        verified = documented_html(snippet, config) + verified
    code_html = highlight_code(
        shown_code(snippet, config),
        hl_lines=emphasized,
        line_prefix=f"{snippet.element_id}-line",
        wrapcode=wrapcode,
        linenos=opts.linenos or opts.lineno_start is not None,
        lineno_start=opts.lineno_start or 1,
    )
    element = (
        f"<py-repl{attr_text}>{caption}"
        f'<div class="pyrun-code highlight-python notranslate">{code_html}</div>{verified}</py-repl>'
    )
    if opts.hidden and shown:
        summary = (
            "Hidden example (runs in its place)" if opts.in_order else "Setup code (runs first)"
        )
        element = f'<details class="pyrun-setup"><summary>{summary}</summary>{element}</details>'
    # A block-level wrapper: Markdown wraps unknown (custom) elements in <p>, and an HTML parser
    # then closes that <p> at the first <div>, leaving the widget empty.
    hidden = "" if shown else " hidden"
    return f'<div class="pyrun-widget"{hidden}>{anchors}{element}</div>\n'


def _widget_attributes(
    snippet: Snippet, config: PyrunConfig, emphasized: Sequence[int], *, show_source: bool
) -> dict[str, str | None]:
    """The ``<py-repl>`` element's attributes: everything the browser needs to run the snippet
    as the check does (``None`` or an empty ``data-`` value: a bare attribute)."""
    opts = snippet.options
    attrs: dict[str, str | None] = {
        "id": snippet.element_id,
        "class": "pyrun",
        "data-index": str(snippet.index),
        "data-runtime": opts.runtime or config.runtime,
        "data-digest": snippet.digest,
    }
    if show_source:
        attrs["data-source"] = snippet.location
    if opts.session:
        attrs["data-session"] = opts.session
    if opts.hidden:
        attrs["data-hidden"] = ""
    if opts.in_order:
        attrs["data-in-order"] = ""
    if opts.autorun:
        attrs["data-autorun"] = ""
    if opts.readonly:
        attrs["data-readonly"] = ""
    if opts.linenos or opts.lineno_start is not None:
        attrs["data-linenos"] = ""
    if opts.lineno_start is not None and opts.lineno_start != 1:
        attrs["data-lineno-start"] = str(opts.lineno_start)
    if emphasized:
        attrs["data-emphasize-lines"] = " ".join(map(str, emphasized))
    if opts.lines:
        attrs["data-lines"] = str(opts.lines)
        # the stylesheet's height cap without JavaScript (the widget then measures real lines)
        attrs["style"] = f"--pyrun-lines: {opts.lines}"
    if opts.raises:
        attrs["data-raises"] = opts.raises
    if opts.packages:
        attrs["data-packages"] = " ".join(opts.packages)
    if opts.stdin is not None:
        attrs["data-stdin"] = json.dumps(list(opts.stdin))
    if snippet.is_transcript:
        # the transcript with its expected outputs: the browser judges it as the check does
        attrs["data-transcript"] = snippet.code
        if config.trim_doctest_flags:
            attrs["data-trim-flags"] = ""  # nor does the browser show them in its echo
        if config.doctest_main:
            attrs["data-main"] = ""  # runs with __name__ == "__main__", as in the check
    if opts.module:
        attrs["data-module"] = opts.module
    if opts.docstring:
        attrs["data-docstring"] = opts.docstring
    if snippet.expected is not None:
        attrs["data-expected"] = snippet.expected
    if snippet.judged_by_doctest:
        flags = transcript_flags(config.transcript_flags, opts.flags, snippet.code)
        attrs["data-flags"] = " ".join(flags)
    return attrs


def shown_code(snippet: Snippet, config: PyrunConfig) -> str:
    """The code a widget shows and a reader edits: a transcript's without prompts and outputs,
    and without its ``# doctest:`` comments unless ``trim_doctest_flags`` is off (the widget
    runs the transcript as written while its code is unchanged)."""
    if snippet.is_transcript and config.trim_doctest_flags:
        return trim_directives(snippet.source)
    return snippet.source


def shown_lines(snippet: Snippet, lines: Sequence[int]) -> tuple[int, ...]:
    """Lines of a block as written (``hl_lines``, ``:emphasize-lines:``) as lines of the code
    the widget shows: a transcript's shows its statements only, so its line 4 (``>>> len(x)``
    after an output) is the code's line 3; an output line has none (the widget highlighted
    whatever line 4 of its code was, or nothing)."""
    if not snippet.is_transcript:
        return tuple(lines)
    editor = {
        written + 1: number for number, (written, _) in enumerate(prompt_lines(snippet.code), 1)
    }
    return tuple(editor[line] for line in lines if line in editor)


def verified_output(
    snippet: Snippet, result: Any, config: PyrunConfig, *, testcode: bool = False
) -> Recorded | None:
    """The output to show under *snippet* before any Run: what a passing check of exactly this
    snippet showed (a check result is keyed by the snippet's content, session chain, options,
    runtime and packages, so it is never stale). A transcript's is its console view (each
    example after its prompt, then its output), which the widget's prompt-less code lacks. None
    for a failing, skipped or static snippet, a hidden one, a ``testcode`` block (its
    ``testoutput`` block shows the output; *testcode*: its output too, for a notebook cell), one
    that showed nothing, or with ``output = "off"``."""
    if config.output != "verified" or result is None or snippet.options.hidden:
        return None
    status = getattr(getattr(result, "status", None), "value", None)
    if (snippet.expected is not None and not testcode) or status not in VERIFIED_STATUSES:
        return None
    shown = getattr(result, "shown", None)
    if not (isinstance(shown, Recorded) and shown):
        return None
    if snippet.is_transcript and config.trim_doctest_flags:
        items = tuple(
            {**item, "text": trim_directives(str(item["text"]))}
            if item.get("stream") == "echo"
            else item
            for item in shown.items
        )
        return replace(shown, items=items)
    return shown


#: the check statuses whose output is shown (a pass now, or one remembered for the same content)
VERIFIED_STATUSES = frozenset({"passed", "cached"})


def fails_in_docs(result: Any) -> bool:
    """Whether the check found a snippet failing where the page runs it (failed, timed out, an
    error, or kept a plain block, which the page runs hidden): a later example's take-away
    script runs it guarded, and its notebook cells let Run All go on."""
    return getattr(getattr(result, "status", None), "value", None) in FAILING_STATUSES


#: the check statuses :func:`fails_in_docs` means
FAILING_STATUSES = frozenset({"failed", "timeout", "error", "static"})


def verified_html(
    shown: Recorded, runtime: str, link: Link, markdown: MarkdownToHtml | None = None
) -> str:
    """The verified output block: a quiet label naming the runtime that produced it, then the
    output as static HTML (text escaped as the widget escapes live output; images as files that
    *link* stores, loaded lazily; :func:`pyrun_docs.outputs.to_html`)."""
    return (
        f'{VERIFIED}<div class="pyrun-verified-label">Output · '
        f"{html.escape(verified_label(runtime))}</div>{to_html(shown, link, markdown)}</div>"
    )


#: how a verified output block begins
VERIFIED = '<div class="pyrun-verified">'


def documented_html(snippet: Snippet, config: PyrunConfig) -> str:
    """A transcript's outputs as its author wrote them, in the console view a verified output
    has, labelled as not verified: what the widget shows under its code when the check did not
    verify it (failed, not judged, the check off). A widget's code has no outputs, so a failing
    example showed bare code where the plain block showed its output (deepdiff's pages); in
    print and without JavaScript too. Run replaces it; Reset brings it back. Empty when the
    transcript shows no output (its code says it all) or doctest cannot parse it."""
    examples = snippet.examples
    if not examples or not any(example.want for example in examples):
        return ""
    trim = trim_directives if config.trim_doctest_flags else str
    led, last = led_examples(snippet.code, examples)
    items: list[dict[str, Any]] = []
    for comments, example in led:
        items += [{"stream": "echo", "text": with_prompts(c)} for c in comments]
        items.append({"stream": "echo", "text": trim(with_prompts(example.source))})
        if example.want:
            items.append({"stream": "stdout", "text": trim(example.want)})
    items += [{"stream": "echo", "text": with_prompts(c)} for c in last]
    body = to_html(Recorded(tuple(items)), lambda data, suffix: "")  # text only: no files
    return (
        '<div class="pyrun-verified pyrun-documented"><div class="pyrun-verified-label">'
        f"Output as written · not verified</div>{body}</div>"
    )


def unverified_html(snippet: Snippet, result: Any, config: PyrunConfig) -> str:
    """A mark under an example the check found failing that shows no output as written (its
    examples print nothing, or it is code): it looked like a passing one until Run showed an
    error (python-ulid's changelog, minevent's quickstart). Empty when it did not fail, shows
    its outputs as written (:func:`documented_html` labels them), is hidden, or outputs are off."""
    status = getattr(getattr(result, "status", None), "value", None)
    why = _UNVERIFIED.get(str(status))
    if why is None or snippet.options.hidden or config.output == "off":
        return ""
    if snippet.is_transcript and documented_html(snippet, config):
        return ""
    return (
        '<div class="pyrun-verified pyrun-documented pyrun-unverified">'
        f'<div class="pyrun-verified-label">Not verified · {why}</div></div>'
    )


#: why a failing example is not verified, by the check's status
_UNVERIFIED = {
    "failed": "it failed when the docs were built",
    "timeout": "it did not finish when the docs were built",
    "error": "it could not be checked when the docs were built",
}


def takeaway_html(script_url: str | None, notebook_url: str | None) -> str:
    """The widget's take-away menu: plain download links in a ``<details>``, so they work without
    JavaScript (the loader moves the menu into the toolbar)."""
    links = [
        f'<a href="{html.escape(url, quote=True)}" download>{label}</a>'
        for url, label in ((script_url, "Download .py"), (notebook_url, "Download notebook"))
        if url
    ]
    if not links:
        return ""
    return (
        '<details class="pyrun-takeaway"><summary class="pyrun-btn" '
        'title="Take this example away">⤓ Download</summary>'
        f'<div class="pyrun-takeaway-menu">{"".join(links)}</div></details>'
    )


def verified_label(runtime: str) -> str:
    """The runtime that produced a verified output: ``Python 3.14 (Pyodide 314.0.7)``."""
    pin = load_pins().get(runtime)
    return runtime_label(pin) if pin is not None else runtime


def runtime_label(pin: RuntimePin) -> str:
    """``Python 3.14 (Pyodide 314.0.7)``, ``MicroPython 1.27.0``."""
    if pin.name == "pyodide":
        major = pin.version.split(".")[0]
        python = f"{major[0]}.{major[1:]}" if len(major) >= 2 and major.isdigit() else ""
        return f"Python {python} (Pyodide {pin.version})" if python else f"Pyodide {pin.version}"
    return f"MicroPython {pin.version}" if pin.name == "micropython" else pin.spec


def page_config(
    config: PyrunConfig,
    pins: dict[str, RuntimePin] | None = None,
    *,
    service_worker: str | None = SERVICE_WORKER_URL,
    runtimes: Collection[str] | None = None,
) -> dict[str, Any]:
    """Settings the browser needs, the same on every page.

    Relative URLs here are relative to the loader script (``pyrun.js``), which the browser resolves
    with ``import.meta.url``: pages live at different depths, the loader does not.

    Args:
        service_worker: URL of the service worker (at the site root), or ``None`` for none.
        runtimes: the runtimes the page's snippets use (``None``: all). Their file hashes are most
            of this JSON, which every page with a widget carries: a Pyodide-only page does not
            pay for MicroPython's.
    """
    pins = pins if pins is not None else load_pins()
    described: dict[str, Any] = {}
    for name, pin in pins.items():
        if runtimes is not None and name not in runtimes:
            continue
        if config.runtime_source == "cdn":
            cdn = config.cdn_url if name == "pyodide" else config.micropython_cdn_url
            base = cdn.format(version=pin.version)
        else:
            base = f"{pin.key}/"
        described[name] = {
            "version": pin.version,
            "base": base,
            "entry": pin.entry,
            "files": {f.name: f.sri for f in pin.served_files()},
            "sizes": {f.name: f.size for f in pin.served_files()},
            "buildId": pin.build_id,
        }
    config_json: dict[str, Any] = {
        "version": __version__,
        "assetVersion": asset_version(),
        "worker": WORKER_NAME,
        "executor": EXECUTOR_NAME,
        "defaultRuntime": config.runtime,
        "loadTimeout": config.load_timeout,
        "outputLimit": config.output_limit,
        "preload": config.preload,
        "serviceWorker": service_worker,
        "offlinePages": config.offline_pages,
        "packageLock": PACKAGE_LOCK,
        "snapshot": config.snapshot,
        "runtimes": described,
    }
    if "micropython" in described and compiled_executor() is not None:
        config_json["executorMpy"] = MPY_NAME  # copied by copy_site_assets for MicroPython sites
    return config_json


def page_config_json(
    config: PyrunConfig,
    *,
    service_worker: str | None = SERVICE_WORKER_URL,
    runtimes: Collection[str] | None = None,
) -> str:
    """:func:`page_config` as JSON that is safe inside a ``<script>`` element."""
    cfg = page_config(config, service_worker=service_worker, runtimes=runtimes)
    text = json.dumps(cfg, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_config_element(
    config: PyrunConfig,
    *,
    service_worker: str | None = SERVICE_WORKER_URL,
    runtimes: Collection[str] | None = None,
) -> str:
    """The page's settings where they go in its content (MkDocs, Zensical): a hidden element
    holding the JSON in an attribute. Not a ``<script type="application/json">``: mkdocs-material's
    instant navigation makes every script of the new page's content again from its text alone,
    so the JSON ran as JavaScript (a SyntaxError) and the element lost its id: Run said "this
    page has no #pyrun-config" on every page reached by a click (with ``site_url`` set)."""
    body = page_config_json(config, service_worker=service_worker, runtimes=runtimes)
    return f'<div id="pyrun-config" hidden data-config="{html.escape(body)}"></div>'


def page_runtimes(snippets: Iterable[Snippet], config: PyrunConfig) -> set[str]:
    """The runtimes *snippets* run on (a page's: what its page config must describe; a site's:
    what its build copies)."""
    return {s.options.runtime or config.runtime for s in snippets}
