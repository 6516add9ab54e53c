"""The ``pyrun`` directive (reST ``.. pyrun::`` and MyST ```` ```{pyrun} ````).

Thin on purpose: it turns what the author wrote into a core :class:`~pyrun_docs.snippet.Snippet`,
records it for the build check, and leaves a ``pyrun_block`` node, a subclass of ``literal_block`` so
every builder that does not know it (LaTeX, epub, text, man, third-party ones) prints an ordinary code
block. HTML builders swap it for the widget in :mod:`.transform`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from docutils import nodes
from sphinx.directives.code import container_wrapper
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from pyrun_docs.errors import OptionError
from pyrun_docs.locate import locate
from pyrun_docs.options import emphasis_problem, parse_options_lenient
from pyrun_docs.snippet import Snippet, normalize_code

logger = logging.getLogger(__name__)


class pyrun_block(nodes.literal_block):
    """A literal block that HTML builders render as a ``<py-repl>`` widget."""


class _AnyOption(dict):  # type: ignore[type-arg]
    """An ``option_spec`` that accepts every name, so *we* validate and warn with ``file:line``.

    docutils would otherwise reject an unknown option with its own error and drop the whole block;
    our warning names the option, lists the known ones and keeps the snippet.
    """

    def __contains__(self, key: object) -> bool:
        return True

    def __bool__(self) -> bool:  # docutils skips option parsing for an empty spec
        return True

    def __getitem__(self, key: str) -> Any:
        return _raw_value

    def get(self, key: str, default: Any = None) -> Any:
        return _raw_value


def _raw_value(argument: str | None) -> str | None:
    return argument


class PyrunDirective(SphinxDirective):
    has_content = True
    required_arguments = 0
    optional_arguments = 0
    final_argument_whitespace = False
    option_spec: ClassVar[dict[str, Any]] = _AnyOption()

    def run(self) -> list[nodes.Node]:
        docname = self.env.docname
        try:
            code, skipped = normalize_code("\n".join(self.content))
        except OptionError as exc:
            self._warn(exc.message, self.lineno, "empty")
            return []
        # where the body is written: the included file, the docstring's .py file, the page
        source, offset = self.content.items[0] if self.content.items else (None, None)
        path, line = locate(
            source,
            None if offset is None else offset + 1 + skipped,
            code,
            str(self.env.doc2path(docname)),
        )
        raw = {str(k): (None if v is None else str(v)) for k, v in self.options.items()}
        options, errors = parse_options_lenient(raw)
        for err in errors:
            self._warn(f"{err.message} (the snippet is kept without it)", self.lineno, "options")
        counter = int(self.env.temp_data.get("pyrun_counter") or 0)
        self.env.temp_data["pyrun_counter"] = counter + 1
        snippet = Snippet(
            code=code, path=path, line=line, page=docname, index=counter, options=options
        )
        self.env.pyrun_snippets.setdefault(docname, []).append(snippet)  # type: ignore[attr-defined]
        out_of_range = emphasis_problem(options, snippet.source)
        if out_of_range:
            self._warn(out_of_range, self.lineno, "options")

        node = pyrun_block(snippet.source, snippet.source)
        node["language"] = "python"
        node["pyrun"] = snippet
        # as code-block sets them, for the builders that print a plain code block (LaTeX...)
        node["linenos"] = options.linenos or options.lineno_start is not None
        highlight_args: dict[str, Any] = {}
        if options.emphasize_lines:
            highlight_args["hl_lines"] = list(options.emphasize_lines)
        if options.lineno_start is not None:
            highlight_args["linenostart"] = options.lineno_start
        if highlight_args:
            node["highlight_args"] = highlight_args
        self.set_source_info(node)
        result: nodes.Element = node
        if options.caption:
            result = container_wrapper(self, node, options.caption)
        if options.name:
            self.options["name"] = options.name
            self.add_name(result)
        return [result]

    def _warn(self, message: str, line: int, subtype: str) -> None:
        logger.warning(
            f"pyrun: {message}",
            location=(self.env.docname, line),
            type="pyrun",
            subtype=subtype,
        )
