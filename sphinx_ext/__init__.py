"""Sphinx adapter: ``extensions = ["pyrun_docs.sphinx_ext"]``.

Event order, and what each hook does:

1. ``config-inited``: validate the ``pyrun_*`` values (:mod:`.config`).
2. reading: the ``pyrun`` directive builds core snippets and stores them per document in
   ``env.pyrun_snippets`` (purged per document, merged after parallel reads); with
   ``pyrun_upgrade``, a transform turns the page's existing examples into snippets too
   (:mod:`.upgrade`).
3. ``env-updated``: copy the widget assets and the verified runtime into ``_static/pyrun/``,
   resolve the packages examples need (``pyrun_packages``, ``pyrun_project``, options, imports;
   :mod:`pyrun_docs.packages`) into ``_static/pyrun/pyrun-lock.json`` and its wheels; with
   ``pyrun_check`` on, run every snippet in headless Pyodide (:mod:`.check`), one warning per
   failure at its line; ``build-finished`` sets a nonzero exit status for ``"error"``.
4. writing: a post-transform swaps snippets for ``<py-repl>`` HTML on HTML builders;
   ``html-page-context`` adds the loader, stylesheet and page config to pages *with* snippets only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from pyrun_docs import __version__
from pyrun_docs.assets import (
    LOADER_NAME,
    SITE_DIR,
    STYLE_NAME,
    asset_version,
    copy_service_worker,
    copy_site_assets,
)
from pyrun_docs.errors import PyrunError
from pyrun_docs.mpy import site_note as mpy_site_note
from pyrun_docs.packages import build_packages, foreign_docstrings
from pyrun_docs.render import page_config_json, page_runtimes
from pyrun_docs.site_config import setting_location
from pyrun_docs.site_snapshot import add_site_snapshot
from pyrun_docs.snippet import Snippet

from .check import (
    on_build_finished,
    on_builder_inited_check,
    on_env_updated_check,
    tests_examples_itself,
)
from .config import get_config, on_config_inited, register
from .directive import PyrunDirective, pyrun_block
from .transform import PyrunWidgets, is_widget_builder
from .upgrade import UpgradeExamples, blocks_group, on_env_get_outdated

logger = logging.getLogger(__name__)


def _snippets(env: BuildEnvironment) -> dict[str, list[Snippet]]:
    if not hasattr(env, "pyrun_snippets"):
        env.pyrun_snippets = {}  # type: ignore[attr-defined]
    store: dict[str, list[Snippet]] = env.pyrun_snippets  # type: ignore[attr-defined]
    return store


def on_builder_inited(app: Sphinx) -> None:
    _snippets(app.env)
    if "doctest" in get_config(app).upgrade and blocks_group(app) == "":
        # documented, and silent: urllib3's docs had no widget and no word why
        logger.info(
            "pyrun: doctest_test_doctest_blocks = '' in conf.py: plain >>> blocks (and pycon "
            "code blocks) are not tested by the doctest builder, so pyrun_upgrade leaves them as "
            "they are"
        )


def on_env_purge_doc(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _snippets(env).pop(docname, None)


def on_env_merge_info(
    app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment
) -> None:
    mine = _snippets(env)
    theirs = _snippets(other)
    for docname in docnames:
        if docname in theirs:
            mine[docname] = theirs[docname]


def on_env_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    store = _snippets(env)
    if not any(store.values()):
        return []
    config = get_config(app)
    if not is_widget_builder(app.builder):
        if config.check != "off" and not tests_examples_itself(app):
            # the check loads the same packages as a site would
            resolve_packages(app, store, None)
        return []
    runtimes = page_runtimes((s for snips in store.values() for s in snips), config)
    static = app.builder.outdir / "_static"
    try:
        copy_site_assets(static, config, runtimes)
        copy_service_worker(app.builder.outdir)
    except PyrunError as exc:
        logger.warning(
            f"pyrun: {exc.message}; the widgets cannot run until this is fixed",
            type="pyrun",
            subtype="runtime",
        )
    note = mpy_site_note(runtimes)
    if note:
        logger.info(f"pyrun: {note}")
    problem = add_site_snapshot(static / SITE_DIR, config, runtimes)
    if problem:
        logger.warning(f"pyrun: {problem}", type="pyrun", subtype="snapshot")
    resolve_packages(app, store, static / SITE_DIR)
    return _outdated_by_assets(env, store)


def _outdated_by_assets(env: BuildEnvironment, store: dict[str, list[Snippet]]) -> list[str]:
    """Every page with a snippet when pyrun's assets changed since the last build.

    Pages carry the asset version in their page config (``html-page-context``); an incremental
    build would otherwise rewrite only changed pages and leave the others loading old ``?v=`` URLs
    and keying memory snapshots under the old version. Sphinx rewrites what this returns.
    """
    version = asset_version()
    previous = getattr(env, "pyrun_asset_version", None)
    env.pyrun_asset_version = version  # type: ignore[attr-defined]
    if previous == version:
        return []  # (None: a fresh environment, or one from before this was recorded)
    return sorted(name for name, snippets in store.items() if snippets)


def resolve_packages(app: Sphinx, store: dict[str, list[Snippet]], site_dir: Path | None) -> None:
    """Resolve the docs' packages once per build (``pyrun_packages``, ``pyrun_project``, options
    and imports) into ``_static/pyrun/``; each problem is a ``pyrun.packages`` warning at its
    snippet's line."""
    config = get_config(app)
    try:
        resolution = build_packages(
            store, config, site_dir, base_dir=Path(app.confdir), setting_prefix="pyrun_"
        )
    except PyrunError as exc:
        logger.warning(f"pyrun: packages: {exc.message}", type="pyrun", subtype="packages")
        app.pyrun_packages_failed = True  # type: ignore[attr-defined]
        return
    conf = Path(app.confdir) / "conf.py"
    for found in resolution.problems + foreign_docstrings(resolution, store):
        # the file the snippet is written in (a docstring's .py), not its page; a setting's
        # problem (pyrun_project's dependency) at its line in conf.py, as pyrun-docs check says
        settings = setting_location(conf, found.message) if conf.is_file() else None
        location = found.snippet.location if found.snippet else settings
        logger.warning(
            f"pyrun: {found.message}", location=location, type="pyrun", subtype="packages"
        )
    app.pyrun_packages = resolution  # type: ignore[attr-defined]
    app.pyrun_packages_failed = bool(resolution.problems)  # type: ignore[attr-defined]


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    if not is_widget_builder(app.builder):
        return
    store = _snippets(app.env)
    has = bool(store.get(pagename)) or (app.builder.name == "singlehtml" and any(store.values()))
    if not has:
        return
    app.add_css_file(f"{SITE_DIR}/{STYLE_NAME}")
    app.add_js_file(f"{SITE_DIR}/{LOADER_NAME}", type="module")
    config = get_config(app)
    on_page = store.get(pagename) or [s for page in store.values() for s in page]  # singlehtml
    body = page_config_json(config, runtimes=page_runtimes(on_page, config))
    app.add_js_file(None, body=body, type="application/json", id="pyrun-config")


def setup(app: Sphinx) -> dict[str, Any]:
    register(app)
    app.add_node(pyrun_block)
    app.add_directive("pyrun", PyrunDirective)
    app.add_transform(UpgradeExamples)
    app.add_post_transform(PyrunWidgets)
    app.connect("config-inited", on_config_inited)
    app.connect("builder-inited", on_builder_inited)
    app.connect("builder-inited", on_builder_inited_check)
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("env-purge-doc", on_env_purge_doc)
    app.connect("env-merge-info", on_env_merge_info)
    app.connect("env-updated", on_env_updated)
    app.connect("env-updated", on_env_updated_check)
    app.connect("build-finished", on_build_finished)
    app.connect("html-page-context", on_html_page_context)
    return {
        "version": __version__,
        "env_version": _code_version(),
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }


def _code_version() -> int:
    """A number that changes with pyrun's Python code: Sphinx re-reads every document when an
    extension's ``env_version`` changes, so snippets (made while reading) never come from an
    older pyrun; ``pyrun-docs check`` keeps its read of a project only as long as that holds."""
    import hashlib

    import pyrun_docs

    digest = hashlib.sha256(__version__.encode())
    for folder in (Path(__file__).parent, Path(pyrun_docs.__file__).parent):
        for path in sorted(folder.glob("*.py")):
            digest.update(path.read_bytes())
    return int(digest.hexdigest()[:8], 16)
