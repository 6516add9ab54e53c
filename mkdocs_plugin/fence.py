"""The SuperFences custom fence: ```` ```pyrun ```` becomes a ``<py-repl>`` widget.

SuperFences swallows every exception from a validator or formatter and falls back to a plain code
block, so nothing here raises: the validator accepts every header (keeping the raw options), and the
formatter validates them with the core and *warns* with ``file:line``, which the plugin knows from
the page it is rendering (:class:`~pyrun_docs.mkdocs_plugin.plugin.PageCollector`).

Without the plugin (fence registered by hand in ``custom_fences``) the formatter still renders the
widget with default settings and its page config; the assets then come from ``extra_javascript``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import OptionError
from pyrun_docs.fences import normalize_flags
from pyrun_docs.options import parse_options_lenient
from pyrun_docs.render import page_config_element, render_snippet
from pyrun_docs.snippet import Snippet, normalize_code

if TYPE_CHECKING:
    from .plugin import PageCollector

RAW_KEY = "pyrun_raw"


def validator(
    language: str, inputs: dict[str, str], options: dict[str, Any], attrs: dict[str, Any], md: Any
) -> bool:
    """Accept every header: options are validated (with a located warning) by the formatter."""
    options[RAW_KEY] = dict(inputs)
    inputs.clear()
    return True


def formatter(
    src: str,
    language: str,
    class_name: str,
    options: dict[str, Any],
    md: Any,
    collector: PageCollector | None = None,
    **kwargs: Any,
) -> str:
    """Render a ``pyrun`` fence (SuperFences' ``format`` callable)."""
    raw = normalize_flags(dict(options.get(RAW_KEY, {})))
    if collector is not None:
        return collector.render(src, raw)
    return render_standalone(src, raw)


def render_standalone(src: str, raw: dict[str, str | None]) -> str:
    """The fence without the plugin (Zensical's, one registered by hand): default settings, a
    Markdown site's transcripts, no page or line to report."""
    config = PyrunConfig(doctest_main=True)
    try:
        code, _ = normalize_code(src)
    except OptionError:
        return ""
    options, _errors = parse_options_lenient(raw)
    snippet = Snippet(code=code, path="<markdown>", line=1, page="", index=0, options=options)
    # no plugin copies a service worker to the site root here: run without one
    head = page_config_element(config, service_worker=None)
    return head + render_snippet(snippet, config, wrapcode=True)
