"""Site-wide settings, one dataclass for both frameworks.

Sphinx registers every field as a flat ``pyrun_<field>`` value; MkDocs takes the same names in the
plugin's config. Validation lives here so a bad value reads the same in both.
"""

from __future__ import annotations

import difflib
import os
import types
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .doctest_flags import site_flags
from .errors import PyrunError
from .executor import DEFAULT_FLAGS
from .runtime import RUNTIMES
from .upgrade import FAILING_MODES, UPGRADE_KINDS

CHECK_LEVELS = ("off", "warn", "error")
RUNTIME_SOURCES = ("self-host", "cdn")
PRELOAD_MODES = ("returning", "none", "visible", "boot")
SNAPSHOT_MODES = ("browser", "off", "site")
OUTPUT_MODES = ("verified", "off")


def as_check_level(value: Any) -> Any:
    """``False`` as ``"off"``: YAML reads ``check: off`` in ``mkdocs.yml`` as ``false``, and an
    author who wrote ``off`` means off (``pyrun_check = False`` reads the same way)."""
    return "off" if value is False else value


@dataclass(frozen=True)
class PyrunConfig:
    """Site settings.

    Attributes:
        runtime: default runtime for snippets without a ``runtime`` option.
        runtime_source: ``self-host`` copies the verified runtime into the site (works offline);
            ``cdn`` loads the same pinned version from ``cdn_url``.
        cdn_url: base URL of Pyodide on a CDN; ``{version}`` is replaced by the pinned version.
        micropython_cdn_url: the same for MicroPython (its npm package, as jsDelivr serves it).
        check: what the build check does with a failing snippet: ``warn`` (the default: every
            example runs during the build, a failure is a warning at its ``file:line``; an
            unchanged tree is answered from the result cache), ``error`` (the build fails) or
            ``off``. On by default because an example nobody runs is one that breaks unseen.
        timeout: seconds a snippet may run in the build check.
        load_timeout: seconds the browser waits for the runtime before telling the reader why.
        preload: what starts before a Run: ``returning`` (a returning reader's Python, restored
            once a widget is on screen), ``none``, ``visible`` (also fetch the runtime on a first
            visit), ``boot`` (always start Python).
        output_limit: characters of output a widget keeps per run (the rest is cut, and says so).
        offline_pages: also cache visited pages (network first), so the docs read offline.
        snapshot: memory snapshots of the booted interpreter: ``browser`` (the reader's browser
            stores one after its first boot; later boots restore it in well under a second),
            ``off``, or ``site`` (the build also ships one, made with Node.js from the same pinned
            runtime, so a first visit restores too; about 6 MB more to download).
        packages: requirements loaded before every snippet (``["attrs", "inflection>=0.5"]``);
            Pyodide's own packages come from its lock file, others must be pure-Python wheels
            (see :mod:`pyrun_docs.packages`).
        output: ``"verified"`` shows, under each snippet, the output the build check captured for
            it (before any Run, without JavaScript, in print); ``"off"`` does not.
        takeaway: each widget links a ``.py`` (its session's setup and earlier snippets first,
            runnable with CPython) and each page a notebook (``.ipynb``, verified outputs
            included), generated at build time; ``False``: no such links or files.
        upgrade: existing examples that become snippets: ``"doctest"`` (every ``>>>`` block and
            ``sphinx.ext.doctest``'s directives, sessions following doctest groups) and
            ``"python"`` (Python code blocks, each on its own); see :mod:`pyrun_docs.upgrade`.
        upgrade_exclude: pages (docname or page path globs) whose examples stay as they are.
        upgrade_failing: an upgraded example that fails the check: ``"static"`` keeps it the
            plain block it was, with a note for the reader, unless it fails in the build's own
            Python too (:mod:`pyrun_docs.check.cpython`); ``"error"`` fails like any snippet.
        doctest_flags: the doctest option flags ``>>>`` transcripts are judged with: a list of
            names, or an int as ``doctest_default_flags`` is written; default: those of
            ``sphinx.ext.doctest`` (``ELLIPSIS``, ``IGNORE_EXCEPTION_DETAIL``,
            ``DONT_ACCEPT_TRUE_FOR_1``).
        doctest_main: a transcript's examples see ``__name__ == "__main__"`` (as ``python -m
            doctest`` and pytest's ``--doctest-glob`` run a Markdown file: ``<class
            '__main__.A'>``), not the namespace without ``__name__`` ``sphinx.ext.doctest``
            gives a group (``<class 'A'>``). Not a setting: MkDocs and Zensical sites have it,
            Sphinx sites do not.
        trim_doctest_flags: a transcript's ``# doctest: +FLAG`` comments are not shown (in its
            code and in its output's echoed examples); they still judge it. Sphinx: its own
            ``trim_doctest_flags`` setting decides.
        project: the documented project, importable in every example: a project folder
            (``"."``, relative to ``conf.py`` / ``mkdocs.yml``) whose wheel is built at docs
            build time, or a ``.whl`` file; ``None``: none.
        path: folders whose modules every example can import, as on ``sys.path`` (relative to
            ``conf.py`` / ``mkdocs.yml``); with ``sphinx.ext.doctest``, its ``doctest_path`` when
            not set. Their top-level modules and packages are packed into a wheel every
            interpreter installs (:mod:`pyrun_docs.path_wheel`).
    """

    runtime: str = "pyodide"
    runtime_source: str = "self-host"
    cdn_url: str = "https://cdn.jsdelivr.net/pyodide/v{version}/full/"
    micropython_cdn_url: str = (
        "https://cdn.jsdelivr.net/npm/@micropython/micropython-webassembly-pyscript@{version}/"
    )
    check: str = "warn"
    timeout: float = 30.0
    load_timeout: float = 60.0
    preload: str = "returning"
    output_limit: int = 100_000
    offline_pages: bool = False
    snapshot: str = "browser"
    packages: tuple[str, ...] | list[str] = ()
    project: str | None = None
    path: tuple[str, ...] | list[str] = ()
    doctest_flags: tuple[str, ...] | list[str] | int | str = DEFAULT_FLAGS
    trim_doctest_flags: bool = True
    doctest_main: bool = False
    output: str = "verified"
    takeaway: bool = True
    upgrade: tuple[str, ...] | list[str] = ()
    upgrade_exclude: tuple[str, ...] | list[str] = ()
    upgrade_failing: str = "static"

    @property
    def transcript_flags(self) -> tuple[str, ...]:
        """:attr:`doctest_flags` as validated flag names."""
        return site_flags(self.doctest_flags)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, prefix: str = "") -> PyrunConfig:
        """Build and validate from ``{name: value}``; errors name ``prefix + name``."""
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise PyrunError(f"unknown setting {prefix}{name}")
            kwargs[name] = as_check_level(value) if name == "check" else value
        config = cls(**kwargs)
        config.validate(prefix)
        return config

    @classmethod
    def from_mapping_lenient(
        cls, values: Mapping[str, Any], *, prefix: str = ""
    ) -> tuple[PyrunConfig, list[PyrunError]]:
        """Like :meth:`from_mapping`, but a bad value falls back to its default and is reported.

        Frameworks turn the errors into warnings, so one typo in ``conf.py`` does not stop a build.
        """
        known = {f.name for f in fields(cls)}
        good: dict[str, Any] = {}
        errors: list[PyrunError] = []
        for name, value in values.items():
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
                errors.append(PyrunError(f"unknown setting {prefix}{name}{hint}; it is ignored"))
                continue
            if name == "check":
                value = as_check_level(value)
            try:
                cls(**{name: value}).validate(prefix)
            except PyrunError as exc:
                default = getattr(cls(), name)
                errors.append(PyrunError(f"{exc.message}; using the default {default!r}"))
            else:
                good[name] = value
        return cls(**good), errors

    def validate(self, prefix: str = "") -> None:
        def bad(name: str, allowed: str) -> PyrunError:
            return PyrunError(
                f"setting {prefix}{name} = {getattr(self, name)!r} is invalid: {allowed}"
            )

        if self.runtime not in RUNTIMES:
            raise bad("runtime", f"use one of {', '.join(RUNTIMES)}")
        if self.runtime_source not in RUNTIME_SOURCES:
            raise bad("runtime_source", f"use one of {', '.join(RUNTIME_SOURCES)}")
        if self.check not in CHECK_LEVELS:
            raise bad("check", f"use one of {', '.join(CHECK_LEVELS)}")
        if self.preload not in PRELOAD_MODES:
            raise bad("preload", f"use one of {', '.join(PRELOAD_MODES)}")
        if self.snapshot not in SNAPSHOT_MODES:
            raise bad("snapshot", f"use one of {', '.join(SNAPSHOT_MODES)}")
        for name in ("timeout", "load_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise bad(name, "use a positive number of seconds")
        if not isinstance(self.offline_pages, bool):
            raise bad("offline_pages", "use True or False")
        if not isinstance(self.output_limit, int) or self.output_limit < 1000:
            raise bad("output_limit", "use a number of characters, at least 1000")
        if not isinstance(self.packages, (list, tuple)) or not all(
            isinstance(p, str) and p.strip() for p in self.packages
        ):
            raise bad("packages", 'use a list of requirements, e.g. ["attrs", "inflection>=0.5"]')
        if self.project is not None and (not isinstance(self.project, str) or not self.project):
            raise bad("project", 'use a path to the project folder (e.g. ".") or to a .whl file')
        if not isinstance(self.path, (list, tuple)) or not all(
            isinstance(p, str) and p.strip() for p in self.path
        ):
            raise bad("path", 'use a list of folders, e.g. ["../examples"]')
        site_flags(self.doctest_flags, f"{prefix}doctest_flags")
        if not isinstance(self.upgrade, (list, tuple)) or not all(
            kind in UPGRADE_KINDS for kind in self.upgrade
        ):
            raise bad("upgrade", f"use a list of {', '.join(repr(k) for k in UPGRADE_KINDS)}")
        if not isinstance(self.upgrade_exclude, (list, tuple)) or not all(
            isinstance(p, str) for p in self.upgrade_exclude
        ):
            raise bad("upgrade_exclude", 'use a list of page globs, e.g. ["changelog", "api/*"]')
        if self.output not in OUTPUT_MODES:
            raise bad("output", f"use one of {', '.join(OUTPUT_MODES)}")
        for name in ("takeaway", "trim_doctest_flags", "doctest_main"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "use True or False")
        if self.upgrade_failing not in FAILING_MODES:
            raise bad("upgrade_failing", f"use one of {', '.join(FAILING_MODES)}")
        for name in ("cdn_url", "micropython_cdn_url"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise bad(name, "use an http(s) URL")


def conf_py_settings(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The ``pyrun_*`` settings in a ``conf.py``'s namespace, by name without the prefix: every
    such name, a misspelt one too (``pyrun_chek = "error"`` was ignored in silence;
    :meth:`PyrunConfig.from_mapping_lenient` reports it as unknown), not the modules and
    functions conf.py names so (``import pyrun_docs``)."""
    return {
        name[len("pyrun_") :]: value
        for name, value in namespace.items()
        if name.startswith("pyrun_")
        and not callable(value)
        and not isinstance(value, types.ModuleType)
    }


def example_paths(own: Any, doctest_path: Any, confdir: str | Path) -> Any:
    """A Sphinx site's ``path``: ``pyrun_path`` (relative to ``conf.py``, as ``pyrun_project``),
    else ``doctest_path`` when given (``sphinx.ext.doctest`` loaded), as the doctest builder puts
    it on ``sys.path`` (:func:`doctest_folders`). A value of another kind is returned as it is,
    for validation to report."""
    if isinstance(own, (list, tuple)) and own:
        return [os.path.join(confdir, str(p)) for p in own]
    if not own and isinstance(doctest_path, (list, tuple)):
        return doctest_folders(doctest_path)
    return own


def doctest_folders(doctest_path: Any) -> list[str]:
    """``doctest_path`` as the doctest builder puts it on ``sys.path``: as written, so a relative
    entry is relative to the folder the build runs in."""
    return [os.path.abspath(str(p)) for p in doctest_path or ()]
