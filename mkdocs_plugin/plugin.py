"""MkDocs adapter: ``plugins: [pyrun]``.

Hook order, and what each does:

1. ``on_config``: validate settings, require ``pymdownx.superfences`` and register the ``pyrun``
   custom fence, bound to this plugin's page collector.
2. ``on_page_markdown``: read the page's *source file* for ``pyrun`` fences and their lines
   (SuperFences never says where a fence is).
3. rendering: the fence's formatter hands each fence to the :class:`PageCollector`, which builds a
   core ``Snippet``, warns about bad options at ``docs/page.md:LINE`` and returns the core's HTML.
4. ``on_page_content``: warn about every ``pyrun`` fence that did not become a widget (SuperFences'
   silent fallback), and add the loader, stylesheet and page config to pages *with* snippets only
   (inside the content, so mkdocs-material's instant navigation brings them along).
5. ``on_post_build``: copy the widget assets and the verified runtime into ``site/assets/pyrun/``,
   resolve the packages examples need (``packages``, ``project``, options, imports) into
   ``pyrun-lock.json`` and its wheels there, then, with ``check`` on, run every snippet in
   headless Pyodide (a failure is a warning at ``docs/page.md:LINE``; ``check: error`` fails the
   build without ``--strict``).
"""

from __future__ import annotations

import dataclasses
import functools
import html
import os
import re
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import Abort, PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from pyrun_docs.assets import (
    LOADER_NAME,
    SITE_DIR,
    STYLE_NAME,
    copy_service_worker,
    copy_site_assets,
)
from pyrun_docs.check import CheckReport, Status, prestart, run_check
from pyrun_docs.check.api import reader_note, runs_hidden
from pyrun_docs.check.progress import (
    counted,
    describe_failure,
    format_counts,
    grouped_failures,
    static_lines,
)
from pyrun_docs.check.spare import discard as discard_spare
from pyrun_docs.config import (
    CHECK_LEVELS,
    OUTPUT_MODES,
    PRELOAD_MODES,
    RUNTIME_SOURCES,
    SNAPSHOT_MODES,
    PyrunConfig,
    as_check_level,
)
from pyrun_docs.errors import OptionError, PyrunError
from pyrun_docs.fences import (
    SWALLOWED,
    Fence,
    find_fences,
    readable_headers,
    swallowed_fences,
)
from pyrun_docs.locate import display_path, file_lines, forget_griffe
from pyrun_docs.mpy import site_note as mpy_site_note
from pyrun_docs.options import emphasis_problem, parse_options_lenient
from pyrun_docs.outputs import OutputFiles
from pyrun_docs.packages import Resolution, build_packages
from pyrun_docs.render import (
    fails_in_docs,
    page_config_element,
    page_runtimes,
    render_snippet,
    takeaway_html,
    unverified_html,
    verified_html,
    verified_output,
)
from pyrun_docs.runtime import RUNTIMES
from pyrun_docs.site_config import markdown_site_values
from pyrun_docs.site_snapshot import add_site_snapshot
from pyrun_docs.snippet import Snippet, normalize_code
from pyrun_docs.source_map import SourceMap
from pyrun_docs.takeaway import notebook_name, page_files, script_name, scripted
from pyrun_docs.upgrade import (
    FAILING_MODES,
    UPGRADE_KINDS,
    UpgradedFence,
    excluded,
    upgrade_markdown,
)
from pyrun_docs.words import plural

from . import fence
from .docstrings import documented_files, upgrade_docstrings
from .extension import IncludedFencesExtension
from .static import insert_into_widgets, write_verdicts

log = get_plugin_logger("pyrun")


def _markdown(text: str) -> str:
    """``_repr_markdown_`` output as HTML, with Python-Markdown (MkDocs' own)."""
    import markdown

    return str(markdown.markdown(text, extensions=["tables", "fenced_code"]))


#: where the assets go in the built site (mkdocs-material keeps its own under ``assets/`` too)
STATIC_ROOT = "assets"

_DEFAULTS = PyrunConfig()


class _CheckLevel(c.Choice):  # type: ignore[type-arg]
    """``check``: YAML turns a bare ``off`` into ``false`` before MkDocs validates it."""

    def run_validation(self, value: object) -> str:
        return str(super().run_validation(as_check_level(value)))


class PyrunPluginConfig(base.Config):
    """The same settings as Sphinx's ``pyrun_*`` values (see :class:`PyrunConfig`)."""

    runtime = c.Choice(RUNTIMES, default=_DEFAULTS.runtime)
    runtime_source = c.Choice(RUNTIME_SOURCES, default=_DEFAULTS.runtime_source)
    cdn_url = c.Type(str, default=_DEFAULTS.cdn_url)
    micropython_cdn_url = c.Type(str, default=_DEFAULTS.micropython_cdn_url)
    check = _CheckLevel(CHECK_LEVELS, default=_DEFAULTS.check)
    timeout = c.Type((int, float), default=_DEFAULTS.timeout)
    load_timeout = c.Type((int, float), default=_DEFAULTS.load_timeout)
    preload = c.Choice(PRELOAD_MODES, default=_DEFAULTS.preload)
    output_limit = c.Type(int, default=_DEFAULTS.output_limit)
    offline_pages = c.Type(bool, default=_DEFAULTS.offline_pages)
    snapshot = c.Choice(SNAPSHOT_MODES, default=_DEFAULTS.snapshot)
    packages = c.ListOfItems(c.Type(str), default=[])
    project = c.Optional(c.Type(str))
    path = c.ListOfItems(c.Type(str), default=[])
    # doctest option flag names for >>> transcripts (default: pytest's doctest_optionflags of
    # the project, else sphinx.ext.doctest's defaults)
    doctest_flags = c.Optional(c.ListOfItems(c.Type(str)))
    trim_doctest_flags = c.Type(bool, default=_DEFAULTS.trim_doctest_flags)
    # existing pycon/python fences that become widgets (docs/upgrade.rst)
    upgrade = c.ListOfItems(c.Choice(UPGRADE_KINDS), default=[])
    upgrade_exclude = c.ListOfItems(c.Type(str), default=[])
    upgrade_failing = c.Choice(FAILING_MODES, default=_DEFAULTS.upgrade_failing)
    # the check's output under each passing snippet, before any Run
    output = c.Choice(OUTPUT_MODES, default=_DEFAULTS.output)
    takeaway = c.Type(bool, default=_DEFAULTS.takeaway)


#: a file an include line names: quoted (include-markdown's ``{% include-markdown "x.md" %}``)
#: or markdown-include's ``{!x.md!}``
_NAMED = re.compile(r'"([^"\n]+)"|\'([^\'\n]+)\'|\{!\s*([^!\n]+?)\s*!\}')


def _code_key(code: str) -> str:
    """A fence's code as compared between the page's source and the page as rendered."""
    return textwrap.dedent(code).strip("\n")


class PageCollector:
    """Turns the fences of the page being rendered into snippets, with their source lines."""

    def __init__(self, config: PyrunConfig) -> None:
        self.config = config
        self.page: Page | None = None
        self.path = "<markdown>"
        self.modes: tuple[str, ...] = ()
        self.fences: list[Fence] = []
        self.used: set[int] = set()
        self.snippets: list[Snippet] = []
        #: upgraded fences by their opening line, and by the index of the snippet they became
        self.upgraded: dict[int, UpgradedFence] = {}
        self.originals: dict[int, UpgradedFence] = {}
        #: the page's source with its upgrade (lines in place), what rendered text is mapped to
        self.source = ""
        #: the code of every fence accounted for (:func:`_code_key`): the source's and those
        #: the page as rendered has besides (:meth:`add_rendered`)
        self.known: Counter[str] = Counter()
        #: fences of the page as rendered that its source does not have (an include), by code:
        #: the source line that brought each in, in page order, and the upgraded ones' originals
        self.foreign: dict[str, list[int]] = {}
        self.included: dict[str, list[UpgradedFence]] = {}
        #: source fences whose code was replaced (``--8<--`` inside a fence), by their new code
        self.rewritten: dict[str, list[int]] = {}
        #: files pymdownx.snippets read into pages (``None``: not known), and into this one
        self.snippet_files: set[Path] | None = set()
        self.page_reads: list[Path] = []
        #: files the includes of this page name (include-markdown's)
        self.named: list[Path] = []
        self.awaiting = False

    def start(self, page: Page, modes: tuple[str, ...] = (), markdown: str | None = None) -> None:
        """Read the page's source for its fences; with upgrade *modes*, its ``pycon``/``python``
        fences count as ``pyrun`` fences (as :func:`upgrade_markdown` rewrites the page). With
        *markdown* (the page as other plugins left it: an included ``README``), the fences there
        that the source does not have are found too (:meth:`add_rendered`)."""
        self.page = page
        self.modes = modes
        src = page.file.abs_src_path
        self.path = display_path(src) if src else page.file.src_uri
        text = (
            page.file.content_string if src is None else Path(src).read_text(encoding="utf-8-sig")
        )
        self.upgraded = {}
        if modes:
            text, self.upgraded, problems = upgrade_markdown(text, modes)
            for line, reason in problems:
                self.warn(line, f"this example stays a plain block: {reason}")
        self.fences = find_fences(text)
        for line, why in swallowed_fences(text):  # neither a widget nor a snippet: say so
            self.warn(line, SWALLOWED + why)
        self.source = text
        self.known = Counter(_code_key(f.code) for f in self.fences)
        self.foreign, self.included, self.rewritten = {}, {}, {}
        self.page_reads = []
        self.named = []
        self.used = set()
        self.snippets = []
        self.originals = {}
        self.awaiting = True  # the page's own conversion comes next (:meth:`after_includes`)
        if markdown is not None:
            self.add_rendered(markdown)

    def add_rendered(self, text: str) -> str:
        """Account for the fences of *text*, the page as rendered so far (after other plugins, or
        after pymdownx.snippets), that its source does not show: each is reported at the source
        line that brought it in (:class:`SourceMap`), and with upgrade modes the ``pycon`` /
        ``python`` ones become widgets too. Returns *text* with those upgraded."""
        upgraded_text, upgraded, _ = upgrade_markdown(text, self.modes) if self.modes else (
            text, {}, [],
        )  # fmt: skip
        where: SourceMap | None = None
        openings = {f.line: i for i, f in enumerate(self.fences)}
        unseen = Counter(self.known)
        for found in find_fences(upgraded_text):
            key = _code_key(found.code)
            if unseen[key]:
                unseen[key] -= 1
                continue
            self.known[key] += 1
            where = where or SourceMap(self.source, upgraded_text)
            line, last = where.span(found.line)
            if line in openings:  # a source fence whose code an include replaced
                self.rewritten.setdefault(key, []).append(openings[line])
                continue
            self.foreign.setdefault(key, []).append(line)
            for named in self._named_files(where.source_lines[line - 1 : last]):
                if named not in self.named:
                    self.named.append(named)
                    if self.snippet_files is not None:  # the kept read depends on it too
                        self.snippet_files.add(named)
            if found.line in upgraded:
                original = dataclasses.replace(upgraded[found.line], line=line)
                self.included.setdefault(key, []).append(original)
        return upgraded_text

    def after_includes(self, text: str) -> str | None:
        """:meth:`add_rendered` for the page's text after pymdownx.snippets, once per page: the
        next Markdown conversions with the same extensions are mkdocstrings' of docstrings
        (``None``: not the page; their fences are not the page's: a docstring's ```` ```python
        ```` fence was made a page widget, or shown as a raw ```` ```pyrun ```` line)."""
        if not self.awaiting:
            return None
        self.awaiting = False
        return self.add_rendered(text)

    def _match(self, src: str) -> tuple[Fence | None, bool]:
        """The fence SuperFences is formatting: same code, first unused (nesting changes order),
        and whether an include replaced its code; None for one an include brought in
        (:meth:`_foreign`)."""
        wanted = src.strip("\n")
        for i, f in enumerate(self.fences):
            if i not in self.used and f.code.strip("\n") == wanted:
                self.used.add(i)
                return f, False
        key = _code_key(src)
        if self.rewritten.get(key):
            i = self.rewritten[key].pop(0)
            self.used.add(i)
            return self.fences[i], True
        if self.foreign.get(key):
            return None, False
        for i, f in enumerate(self.fences):  # code rewritten by another plugin: take the next one
            if i not in self.used:
                self.used.add(i)
                return f, False
        return None, False

    def read(self, path: Path | None) -> None:
        """pymdownx.snippets read *path* into a page (``None``: it reads files unseen)."""
        if path is None:
            self.snippet_files = None
            return
        self.page_reads.append(path.resolve())
        if self.snippet_files is not None:
            self.snippet_files.add(path.resolve())

    def _named_files(self, lines: list[str]) -> list[Path]:
        """The existing files that the *lines* of an include name (``{% include-markdown
        "../README.md" %}``, ``{!README.md!}``), relative to the page or the current folder."""
        names = [n for found in _NAMED.findall("\n".join(lines)) for n in found if n]
        src = self.page.file.abs_src_path if self.page else None
        folders = [Path(src).parent] if src else []
        found: list[Path] = []
        for name in names:
            for folder in [*folders, Path.cwd()]:
                path = (folder / name).resolve()
                if path.is_file():
                    found.append(path)
                    break
        return found

    def _included_at(self, src: str) -> tuple[str, int] | None:
        """The included file that has the code *src* (one pymdownx.snippets read for this page,
        or one an include line names), and the line it starts at, so a failure names the line
        to fix (not the line of the include)."""
        wanted = [ln.strip() for ln in textwrap.dedent(src).strip("\n").split("\n")]
        for path in [*self.page_reads, *self.named]:
            lines = [ln.strip() for ln in file_lines(str(path))]  # read once while unchanged
            for i in range(len(lines) - len(wanted) + 1):
                if lines[i : i + len(wanted)] == wanted:
                    return display_path(str(path)), i + 1
        return None

    def _foreign(self, src: str) -> tuple[int, UpgradedFence | None]:
        """The source line of the fence *src* an include brought into the page, and its original
        when it was upgraded: first of the same code, taken once."""
        key = _code_key(src)
        lines = self.foreign.get(key) or [1]
        line = lines.pop(0)
        fences = self.included.get(key) or []
        return line, (fences.pop(0) if fences and fences[0].line == line else None)

    def warn(self, line: int, message: str) -> None:
        log.warning(f"{self.path}:{line}: {message}")

    def render(self, src: str, raw: dict[str, str | None]) -> str:
        found, replaced = self._match(src)
        original: UpgradedFence | None
        if found is not None:
            line, first = found.line, found.line + 1
            original = self.upgraded.get(line)
            if original is not None and replaced:  # its static block shows the code run
                original = dataclasses.replace(original, code=textwrap.dedent(src))
        else:  # brought in by an include: at the line that includes it
            line, original = self._foreign(src)
            first = line
        path, exact = self.path, True
        if found is None or replaced:  # in a file an include read or names: there
            at = self._included_at(src)
            path, first = at or (path, first)
            exact = at is not None or found is not None
        for problem in found.errors if found else ():
            self.warn(line, problem)
        try:
            code, skipped = normalize_code(src)
        except OptionError as exc:
            self.warn(line, exc.message)
            return ""
        options, errors = parse_options_lenient(raw)
        for err in errors:
            self.warn(line, f"{err.message} (the snippet is kept without it)")
        page = self.page.file.src_uri if self.page else ""
        snippet = Snippet(
            code=code,
            path=path,
            line=first + skipped,
            page=page,
            index=len(self.snippets),
            options=options,
            origin="upgrade" if original else "pyrun",
            lines_exact=exact,
        )
        if original:
            self.originals[snippet.index] = original
        self.snippets.append(snippet)
        out_of_range = emphasis_problem(options, snippet.source)
        if out_of_range:
            self.warn(line, out_of_range)
        return render_snippet(snippet, self.config, wrapcode=True)

    def finish(self) -> None:
        """Warn about fences that SuperFences did not hand to us (it falls back silently)."""
        broken: Fence | None = None
        for i, f in enumerate(self.fences):
            if i in self.used:
                continue
            if f.errors:
                reason = "; ".join(f.errors)
                broken = broken or f
            elif broken is not None:
                reason = (
                    f"it follows the broken fence at {self.path}:{broken.line}, which throws off "
                    "how Markdown pairs the fences after it; fix that one first"
                )
            else:
                reason = "SuperFences did not recognise the fence (is it inside raw HTML?)"
            self.warn(f.line, f"this pyrun fence is shown as plain code, not a widget: {reason}")


class PyrunPlugin(BasePlugin[PyrunPluginConfig]):
    """Runnable ```` ```pyrun ```` fences for MkDocs."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.command = "build"
        #: ``pyrun-docs check`` only collects the snippets (:mod:`.collect`): no assets, no check
        self.collect_only = False
        self.spare_started = False  # this build started the spare harness (prestart)
        self.pyrun_config = PyrunConfig()
        self.collector = PageCollector(self.pyrun_config)
        self.pages: dict[str, list[Snippet]] = {}
        #: (collecting) every page the build read, with snippets or not
        self.read_pages: set[str] = set()
        #: page -> (its written HTML file, upgraded fences or original HTML by snippet index)
        self.originals: dict[str, tuple[str, dict[int, UpgradedFence | str]]] = {}
        #: page -> its title (for the take-away files)
        self.titles: dict[str, str] = {}
        #: the last check's report (``None``: no check ran)
        self.report: CheckReport | None = None
        #: (collecting) the Python files mkdocstrings read, for pyrun-docs check's kept read
        #: (``None``: not known, so the read is not kept)
        self.source_files: list[Path] | None = None
        #: content-addressed output images (``site/assets/pyrun-output/``), set per build
        self.output_files = OutputFiles(Path("site") / STATIC_ROOT / "pyrun-output")

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        _require_bs4()
        values = markdown_site_values(
            {name: self.config[name] for name in self.config}, Path(config.config_file_path).parent
        )
        try:
            self.pyrun_config = PyrunConfig.from_mapping(values, prefix="plugins.pyrun.")
        except PyrunError as exc:
            raise PluginError(f"pyrun: {exc.message} (in mkdocs.yml)") from None
        self.collector = PageCollector(self.pyrun_config)
        # entries are names, {name: config} or, once another plugin added one, extension objects
        names = [
            e if isinstance(e, str) else next(iter(e), "") if isinstance(e, dict) else ""
            for e in config.markdown_extensions
        ]
        if "pymdownx.superfences" not in names and "pymdownx.extra" not in names:
            raise PluginError(
                "pyrun: the pyrun fence needs SuperFences; add it to mkdocs.yml:\n"
                "  markdown_extensions:\n    - pymdownx.superfences"
            )
        pyrun_fence = {
            "name": "pyrun",
            "class": "pyrun",
            "validator": fence.validator,
            "format": functools.partial(fence.formatter, collector=self.collector),
        }
        # pymdownx.extra loads SuperFences with its own settings (of the same name under it):
        # listed after pymdownx.superfences it registers it again, without the pyrun fence
        settings = [config.mdx_configs.setdefault("pymdownx.superfences", {})]
        if "pymdownx.extra" in names:
            extra = config.mdx_configs.setdefault("pymdownx.extra", {})
            settings.append(extra.setdefault("pymdownx.superfences", {}))
        for sf in settings:
            fences = [f for f in sf.get("custom_fences", []) if f.get("name") != "pyrun"]
            sf["custom_fences"] = [*fences, pyrun_fence]
        # fences pymdownx.snippets includes, seen after it (it runs inside Markdown)
        config.markdown_extensions.append(
            IncludedFencesExtension(self.collector.after_includes, self.collector.read)
        )
        return config

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.command = command

    def start_collecting(self) -> None:
        """Collect the snippets only (``pyrun-docs check``: no assets, no check), from a clean
        start: the pages of every build from now on add up (mkdocs-static-i18n builds once per
        language). MkDocs may hand a later load of the configuration this same plugin object:
        another site's pages were checked with the next one's."""
        self.collect_only = True
        self.pages, self.originals, self.titles = {}, {}, {}
        self.read_pages = set()

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        forget_griffe()  # docstrings are located in the sources as this build reads them
        if not self.collect_only:  # collecting, a build per language (mkdocs-static-i18n)
            # adds its pages: the default language's were dropped for the last one's, their
            # examples never checked by pyrun-docs check
            self.pages = {}
            self.originals = {}
            self.titles = {}
        self.report = None
        self.output_files = OutputFiles(Path(config.site_dir) / STATIC_ROOT / "pyrun-output")
        # a harness warms up while MkDocs renders the pages
        self.spare_started = (
            self.pyrun_config.check != "off" and not self.collect_only
        ) and prestart(self.pyrun_config)

    def on_page_markdown(
        self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        modes = self.upgrade_modes(page)
        self.collector.start(page, modes, markdown)
        if modes:  # the same rewrite as the collector's, on the text without front matter
            markdown = upgrade_markdown(markdown, modes)[0]
        # headers SuperFences cannot read (session=intro) would swallow the page after them
        return readable_headers(markdown)

    def upgrade_modes(self, page: Page) -> tuple[str, ...]:
        """What ``upgrade`` takes on *page*: none when excluded or ``pyrun: off`` in its meta."""
        cfg = self.pyrun_config
        off = str(page.meta.get("pyrun", "")).strip().lower() in ("off", "false", "no")
        if not cfg.upgrade or off or excluded(page.file.src_uri, cfg.upgrade_exclude):
            return ()
        return tuple(cfg.upgrade)

    def on_page_content(
        self, html_text: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        self.collector.finish()
        self.read_pages.add(page.file.src_uri)
        snippets = list(self.collector.snippets)
        originals: dict[int, UpgradedFence | str] = dict(self.collector.originals)
        if modes := self.upgrade_modes(page):  # mkdocstrings' docstring examples
            html_text, found, html_originals = upgrade_docstrings(
                html_text,
                modes=modes,
                page=page.file.src_uri,
                path=self.collector.path,
                first_index=len(snippets),
                config=self.pyrun_config,
                search_paths=_mkdocstrings_paths(config),
                warn=lambda where, message: log.warning(f"{where}: {message}"),
            )
            snippets += found
            originals.update(html_originals)
        if not snippets:
            self.pages.pop(page.file.src_uri, None)
            return html_text
        self.pages[page.file.src_uri] = snippets
        self.originals[page.file.src_uri] = (page.file.abs_dest_path, originals)
        self.titles[page.file.src_uri] = page.title or page.file.src_uri
        if self.pyrun_config.takeaway and not self.collect_only:
            html_text = self.add_takeaway(html_text, page, config, snippets)
        base_url = get_relative_url(f"{STATIC_ROOT}/{SITE_DIR}/", page.url)
        base_url = base_url if base_url.endswith("/") else base_url + "/"
        head = (
            f'<link rel="stylesheet" href="{html.escape(base_url + STYLE_NAME)}">'
            f'<script type="module" src="{html.escape(base_url + LOADER_NAME)}"></script>'
            f"{page_config_element(self.pyrun_config, runtimes=page_runtimes(snippets, self.pyrun_config))}\n"
        )
        return head + html_text

    def on_env(self, env: Any, *, config: MkDocsConfig, files: Files) -> Any:
        if self.collect_only:  # before mkdocstrings' post-build drops what it loaded
            self.source_files = documented_files(config)
        return env

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if not any(self.pages.values()) or self.collect_only:
            if self.spare_started:  # nothing to check: the spare it started goes (a collecting
                discard_spare()  # build started none: pyrun-docs check's own spare stays)
            return
        everything = (s for snippets in self.pages.values() for s in snippets)
        runtimes = page_runtimes(everything, self.pyrun_config)
        try:
            copy_site_assets(Path(config.site_dir) / STATIC_ROOT, self.pyrun_config, runtimes)
            copy_service_worker(Path(config.site_dir))
        except PyrunError as exc:
            log.warning(f"{exc.message}; the widgets cannot run until this is fixed")
        note = mpy_site_note(runtimes)
        if note:
            log.info(note)
        site = Path(config.site_dir) / STATIC_ROOT / SITE_DIR
        problem = add_site_snapshot(site, self.pyrun_config, runtimes)
        if problem:
            log.warning(problem)
        self.check(self.resolve_packages(site, Path(config.config_file_path or ".").parent))
        self.write_takeaways(config, self.report)

    def resolve_packages(self, site: Path, base_dir: Path) -> Resolution | None:
        """Resolve ``packages``, ``project``, options and imports into ``site/assets/pyrun/``.

        Each problem is a warning at ``docs/page.md:LINE``; with ``check: error`` they fail the
        build (not under ``mkdocs serve``).
        """
        resolution: Resolution | None
        try:
            resolution = build_packages(
                self.pages, self.pyrun_config, site, base_dir=base_dir,
                setting_prefix="plugins.pyrun.",
            )  # fmt: skip
        except PyrunError as exc:
            log.warning(f"packages: {exc.message}")
            problems, resolution = 1, None
        else:
            for found in resolution.problems:
                log.warning(str(found))
            problems = len(resolution.problems)
        if problems and self.pyrun_config.check == "error" and self.command != "serve":
            raise Abort(
                f"pyrun: {plural(problems, 'package problem')} (check: error in mkdocs.yml)"
            )
        return resolution

    def downloads(self, config: MkDocsConfig, page: str) -> Path:
        """The folder of *page*'s take-away files in the built site."""
        folder = Path(config.site_dir) / STATIC_ROOT / "pyrun-downloads"
        return folder / Path(page).parent / Path(page).stem

    def add_takeaway(
        self, html_text: str, page: Page, config: MkDocsConfig, snippets: list[Snippet]
    ) -> str:
        """Link each widget's ``.py`` file and the page's notebook from its menu (both written
        after the check, which they depend on: :meth:`write_takeaways`)."""
        src = page.file.src_uri
        folder = self.downloads(config, src)
        page_dir = Path(page.file.abs_dest_path).parent

        def link(name: str) -> str:
            return Path(os.path.relpath(folder / name, page_dir)).as_posix()

        notebook = link(notebook_name(src))
        menus = {i: takeaway_html(link(script_name(src, i)), notebook) for i in scripted(snippets)}
        return insert_into_widgets(html_text, menus)

    def write_takeaways(self, config: MkDocsConfig, report: CheckReport | None) -> None:
        """Each page's ``.py`` files, an example failing in the docs guarded where a later one
        runs it first, and its notebook, with the outputs the check verified (none without a
        check)."""
        if not self.pyrun_config.takeaway:
            return
        results = {(r.snippet.page, r.snippet.index): r for r in report.results} if report else {}
        for page, snippets in self.pages.items():
            folder = self.downloads(config, page)
            # one kept static too: it runs in CPython, and later cells use what it made
            files = page_files(
                snippets,
                self.pyrun_config,
                title=self.titles.get(page, page),
                shown=lambda s: verified_output(
                    s, results.get((s.page, s.index)), self.pyrun_config
                ),
                failed=lambda s: fails_in_docs(results.get((s.page, s.index))),
            )
            written = {script_name(page, i): text for i, text in files.scripts.items()}
            if files.notebook:
                written[notebook_name(page)] = files.notebook
            for name, text in written.items():
                path = folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")

    def write_verdicts(self, report: CheckReport) -> None:
        """Rewrite the written pages with the check's verdicts, one pass per page: upgraded
        examples that cannot run become the plain blocks they were, with a note
        (``upgrade_failing: static``); passing snippets get their captured output under the code
        (``output: verified``)."""
        static: dict[str, dict[int, tuple[UpgradedFence | str, str, bool]]] = {}
        outputs: dict[str, dict[int, str]] = {}
        for result in report.results:
            snippet = result.snippet
            originals = self.originals.get(snippet.page, ("", {}))[1]
            if result.status is Status.STATIC and snippet.index in originals:
                reason = reader_note(result)
                static.setdefault(snippet.page, {})[snippet.index] = (
                    originals[snippet.index],
                    reason,
                    runs_hidden(result),
                )
            shown = verified_output(snippet, result, self.pyrun_config)
            dest = self.originals.get(snippet.page, ("", {}))[0]
            if shown and dest:
                runtime = snippet.options.runtime or self.pyrun_config.runtime
                link = self.output_files.linker(Path(dest).parent)
                outputs.setdefault(snippet.page, {})[snippet.index] = verified_html(
                    shown, runtime, link, _markdown
                )
            elif dest and (mark := unverified_html(snippet, result, self.pyrun_config)):
                outputs.setdefault(snippet.page, {})[snippet.index] = mark
        for page in static.keys() | outputs.keys():
            dest = self.originals.get(page, ("", {}))[0]
            if dest:
                write_verdicts(Path(dest), static.get(page, {}), outputs.get(page, {}))

    def check(self, packages: Resolution | None = None) -> None:
        """Run every collected snippet in headless Pyodide (``check: warn | error``).

        Each failure is a warning at ``docs/page.md:LINE`` (so ``--strict`` fails on it); with
        ``error`` the build fails without ``--strict`` too (``mkdocs serve`` only warns).
        """
        if self.pyrun_config.check == "off" or not any(self.pages.values()):
            return
        log.info("checking examples in headless Pyodide...")
        try:
            report = self.report = run_check(
                self.pages,
                self.pyrun_config,
                packages=packages,
                progress=counted(log.info),
                setting_prefix="plugins.pyrun.",
            )
        except PyrunError as exc:
            failed, problems = 1, [f"the check could not run: {exc.message}"]
        else:
            for result, elsewhere in grouped_failures(report):  # one shared reason: one warning
                log.warning(describe_failure(result, elsewhere))
            problems = report.problems
            failed = len(report.failures)
            for line in static_lines(report):
                log.info(line)
            self.write_verdicts(report)
            for line in format_counts(report).splitlines():  # each under the log's prefix
                log.info(line)
        for note in problems:
            log.warning(note)
        if failed and self.pyrun_config.check == "error" and self.command != "serve":
            raise Abort(
                f"pyrun: {plural(failed, 'example')} failed the check (check: error in mkdocs.yml)"
            )


def _mkdocstrings_paths(config: MkDocsConfig) -> list[str]:
    """Where mkdocstrings-python looks for the documented packages (its ``paths``, from the
    folder of ``mkdocs.yml``), so pyrun finds their docstrings where mkdocstrings did."""
    base = Path(config.config_file_path or ".").parent
    plugin = config.plugins.get("mkdocstrings")
    handlers = getattr(plugin, "config", {}).get("handlers", {}) if plugin is not None else {}
    paths = (handlers.get("python") or {}).get("paths") or ["."]
    return [str((base / p).resolve()) for p in paths]


def _require_bs4() -> None:
    """Stop at the start, saying what to install, when beautifulsoup4 is missing: the plugin
    edits built pages with it (docstring examples, the check's verdicts), and a plain
    ``pip install pyrun-docs`` (not ``[mkdocs]``) lacks it: a build stopped mid-page with a
    traceback ending in our code ("No module named 'bs4'", read as the project's fault)."""
    try:
        import bs4  # noqa: F401
    except ImportError:
        raise PluginError(
            "pyrun: the MkDocs plugin needs beautifulsoup4, which is not installed here: "
            "pip install 'pyrun-docs[mkdocs]' (or pip install beautifulsoup4)"
        ) from None
