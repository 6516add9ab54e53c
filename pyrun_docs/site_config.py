"""The site's pyrun settings, read from its own ``conf.py`` or ``mkdocs.yml`` without building.

``pyrun-docs check docs/`` must check the snippets the way the build does: with the site's runtime,
timeout, output limit and packages. So the command finds the configuration file next to (or above)
the sources it is given and reads the same settings the adapters read: ``pyrun_*`` names in a
Sphinx ``conf.py`` (executed as Sphinx executes it, in its own folder), or the ``pyrun`` entry of
``plugins`` in ``mkdocs.yml``. A file that cannot be read is an error that names the file and the
exception, never a silent fallback to the defaults: a ``conf.py`` that fails before it sets
``pyrun_project`` would otherwise let the examples import another copy of the project.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import PyrunConfig, conf_py_settings, example_paths
from .doctest_flags import pytest_flags
from .errors import PyrunError
from .executor import DEFAULT_FLAGS
from .read_memo import plain_values

CONFIG_NAMES = ("conf.py", "mkdocs.yml", "mkdocs.yaml", "zensical.toml", "zensical.yml")
#: the Markdown extension that upgrades fences where no MkDocs plugin runs (Zensical)
UPGRADE_EXTENSION = "pyrun_docs.mkdocs_plugin.extension"
#: a folder that ends the search upwards (the project's root)
_ROOT_MARKERS = (".git", ".hg", "pyproject.toml", "setup.cfg")
_WHAT_TO_DO = "fix it, name another file with --config, or pass --no-config for the defaults"
#: the ``conf.py`` names that choose its pages (``pyrun_docs.check.scan.SphinxSources``)
SOURCE_NAMES = ("source_suffix", "exclude_patterns", "include_patterns", "extensions")


@dataclass
class SiteConfig:
    """The settings found for a set of sources."""

    config: PyrunConfig = field(default_factory=PyrunConfig)
    #: the file they came from, or None when none was found (defaults)
    path: Path | None = None
    problems: list[PyrunError] = field(default_factory=list)
    #: a ``conf.py``'s values that choose which files its build reads as pages (SOURCE_NAMES)
    sources: dict[str, Any] = field(default_factory=dict)
    #: a digest of the file's text and (``conf.py``) the plain values it set: what a kept read of
    #: the project depends on besides its pages (:class:`pyrun_docs.read_memo.ReadMemo`)
    digest: str = ""
    #: the ``pymdownx.snippets`` settings of a Markdown site that lists that extension (``None``:
    #: it does not), so a check that reads its pages includes what the build includes
    snippets: dict[str, Any] | None = None
    #: a Markdown site's pages folder (its ``docs_dir``; ``None``: a Sphinx project)
    docs_dir: Path | None = None
    #: a Markdown site's ``exclude_docs`` patterns (gitignore style), besides MkDocs' own
    exclude_docs: tuple[str, ...] = ()

    def is_page(self, path: Path) -> bool:
        """Whether the site's build reads *path* as a page: not one its ``exclude_docs``, or
        MkDocs' own exclusions (names starting with ``.``, ``/templates/``), leave out (the
        check failed on a draft the build never published)."""
        if self.docs_dir is None:
            return True
        try:
            page = path.resolve().relative_to(self.docs_dir.resolve()).as_posix()
        except ValueError:  # named on the command line from elsewhere: checked as asked
            return True
        return not _excluded_doc(page, self.exclude_docs)


def find_config_file(paths: Iterable[str | Path]) -> Path | None:
    """The ``conf.py`` or ``mkdocs.yml`` that configures *paths*.

    Each path (a source folder or file) and its parents are searched, nearest first, up to the
    project's root (a folder with ``.git`` or ``pyproject.toml``), so both ``docs/conf.py`` and a
    ``mkdocs.yml`` beside ``docs/`` are found from ``docs/``.
    """
    for raw in paths:
        start = Path(raw).resolve()
        if start.is_file() and start.suffix in (".yml", ".yaml"):
            return start  # an MkDocs configuration named otherwise (``mkdocs-pyrun.yml``)
        folder = start if start.is_dir() else start.parent
        for candidate in (folder, *folder.parents):
            for name in CONFIG_NAMES:
                if (candidate / name).is_file():
                    return candidate / name
            if any((candidate / marker).exists() for marker in _ROOT_MARKERS):
                break
    return None


def read_site_config(path: str | Path) -> SiteConfig:
    """Read the pyrun settings of one ``conf.py`` or ``mkdocs.yml``.

    Unknown or bad values are reported (and fall back to their defaults) exactly as the adapters
    report them.

    Raises:
        PyrunError: the file cannot be read or run (its name, the exception, what to do).
    """
    file = Path(path)
    sources: dict[str, Any] = {}
    digest: list[str] = []
    snippets: dict[str, Any] | None = None
    docs_dir: Path | None = None
    exclude_docs: tuple[str, ...] = ()
    plugin: dict[str, Any] | None = None
    extensions: Mapping[str, Any] = {}
    if file.suffix == ".py":
        values, prefix = _sphinx_values(file, sources, digest), "pyrun_"
    else:  # a Markdown site: its file read once, for the settings and the extensions
        toml = file.suffix == ".toml"
        data = _toml_config(file) if toml else _yaml_config(file)
        extensions = _markdown_extensions(data, toml)
        plugin = None if toml else _plugin_values(data, file)
        values = _extension_values(extensions) if plugin is None else plugin
        prefix = f"{UPGRADE_EXTENSION}." if toml else "plugins.pyrun."
        values = markdown_site_values(values, file.parent)
        docs_dir, exclude_docs = _pages_settings(data.get("project") if toml else data, file)
        snippets = _snippets_settings(extensions)
        if snippets is not None:
            snippets = _with_docs_dir(snippets, str(docs_dir))
    if plugin is None and not _renders_pyrun(extensions):  # as the site's build stops on it
        raise PyrunError(f"{file}: {NO_PYRUN_FENCE}")
    config, problems = PyrunConfig.from_mapping_lenient(values, prefix=prefix)
    where = f" (in {file.name})"
    bad = [
        p.message.partition("; using the default")[0]
        for p in problems
        if not p.message.startswith("unknown setting")
    ]
    if plugin and bad:  # MkDocs' own check of the plugin's settings stops the build on them
        raise PyrunError(f"{file}: {'; '.join(bad)}; {_WHAT_TO_DO}")
    return SiteConfig(
        config=config,
        path=file,
        problems=[PyrunError(p.message + where) for p in problems],
        sources=sources,
        digest="".join(digest),
        snippets=snippets,
        docs_dir=docs_dir,
        exclude_docs=exclude_docs,
    )


def markdown_site_values(values: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """A Markdown site's pyrun settings (*values*, from the configuration in *folder*) as its
    transcripts run: as ``python -m doctest`` and pytest run a page (``__name__`` is
    ``"__main__"``), judged with the flags of the project's pytest doctest run unless
    ``doctest_flags`` is set (:func:`~pyrun_docs.doctest_flags.pytest_flags`)."""
    found = dict(values, doctest_main=True)
    if found.get("doctest_flags") is None:
        found.pop("doctest_flags", None)
        flags = pytest_flags(folder)
        if flags is not None:
            found["doctest_flags"] = list(flags)
    return found


def _pages_settings(data: Any, file: Path) -> tuple[Path, tuple[str, ...]]:
    """A Markdown site's pages folder (``docs_dir``, relative to its configuration file; a
    check of ``mkdocs.yml`` looked in ``docs/`` whatever it said) and its ``exclude_docs``."""
    data = data if isinstance(data, Mapping) else {}
    folder = data.get("docs_dir")
    docs_dir = file.parent / (folder if isinstance(folder, str) and folder else "docs")
    patterns = data.get("exclude_docs")
    lines = patterns.splitlines() if isinstance(patterns, str) else []
    return docs_dir, tuple(line for line in lines if line.strip())


#: what MkDocs leaves out of every site (``mkdocs.structure.files``)
_DEFAULT_EXCLUDE = (".*", "/templates/")


def _excluded_doc(page: str, patterns: tuple[str, ...]) -> bool:
    """Whether MkDocs leaves *page* (relative to ``docs_dir``) out of the site: its own default
    patterns and *patterns*, read as MkDocs reads them (gitignore style, with ``pathspec``,
    which MkDocs requires; without it, only the defaults, approximately)."""
    spec = _exclusions(patterns)
    if spec is None:
        parts = page.split("/")
        return any(part.startswith(".") for part in parts) or parts[0] == "templates"
    return bool(spec.match_file(page))


@functools.lru_cache(maxsize=8)
def _exclusions(patterns: tuple[str, ...]) -> Any:
    """MkDocs' default patterns and *patterns* as one ``pathspec`` spec, made once for every
    page asked about (``None``: no ``pathspec`` here)."""
    try:
        from pathspec.gitignore import GitIgnoreSpec
    except ImportError:
        return None
    return GitIgnoreSpec.from_lines([*_DEFAULT_EXCLUDE, *patterns])


#: the Markdown extension that includes files (``--8<--``)
SNIPPETS_EXTENSION = "pymdownx.snippets"


def _snippets_settings(extensions: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``pymdownx.snippets`` settings among a site's *extensions* (a ``zensical.toml``'s
    table may be dotted: ``[project.markdown_extensions.pymdownx.snippets]``); ``None`` when the
    extension is not used."""
    found = extensions.get(SNIPPETS_EXTENSION)
    if found is None and isinstance(extensions.get("pymdownx"), Mapping):
        found = extensions["pymdownx"].get("snippets")
    return dict(found) if isinstance(found, Mapping) else None


def _with_docs_dir(settings: dict[str, Any], docs_dir: str) -> dict[str, Any]:
    """*settings* with ``!relative $docs_dir`` (:data:`DOCS_DIR`) as the folder it names."""

    def filled(value: Any) -> Any:
        if isinstance(value, list):
            return [filled(item) for item in value]
        return docs_dir if value == DOCS_DIR else value

    return {key: filled(value) for key, value in settings.items()}


def _markdown_extensions(data: Any, toml: bool) -> Mapping[str, Any]:
    """A Markdown site's ``markdown_extensions`` by name: a ``zensical.toml``'s table (its
    ``project`` table's), a YAML file's list (a bare name, or one with settings that are not a
    mapping, as ``{}``)."""
    if toml:
        project = data.get("project") if isinstance(data.get("project"), Mapping) else {}
        extensions = project.get("markdown_extensions") or {}
        return extensions if isinstance(extensions, Mapping) else {}
    listed = data.get("markdown_extensions") if isinstance(data, Mapping) else None
    found: dict[str, Any] = {}
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, str):
            found.setdefault(entry, {})
        elif isinstance(entry, Mapping):
            for name, settings in entry.items():
                found.setdefault(str(name), settings if isinstance(settings, Mapping) else {})
    return found


def _line_in(exc: BaseException, file: Path) -> str:
    """``:LINE``, the last line of *file* in *exc*'s traceback (where conf.py called what
    raised: pyte's ``urlopen`` at line 97 of 150), or ``""``; a SyntaxError's own line."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f":{exc.lineno}"
    import traceback

    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(file)]
    return f":{lines[-1]}" if lines and lines[-1] else ""


def _sphinx_values(file: Path, sources: dict[str, Any], digest: list[str]) -> dict[str, Any]:
    """The ``pyrun_*`` settings of a ``conf.py``, run the way Sphinx runs it; its
    :data:`SOURCE_NAMES` values go into *sources*, a digest of its text and values into
    *digest*."""
    namespace: dict[str, Any] = {"__file__": str(file), "__name__": "conf", "tags": _Tags()}
    try:
        # Sphinx is imported when it runs conf.py, and what conf.py imports may ask
        # (humanfriendly replaced itself by a proxy without it: autodoc then found no member
        # and the command's read missed 75 of its 118 examples, read in this same process).
        # Only the bare package, when installed (~1 ms): the core still needs no Sphinx.
        import sphinx  # noqa: F401, TID251
    except ImportError:
        pass
    try:
        source = file.read_bytes()
        with _cwd(file.parent):
            exec(compile(source, str(file), "exec"), namespace)  # as Sphinx does
    except SystemExit as exc:
        raise PyrunError(f"{file}: conf.py called sys.exit({exc.code}); {_WHAT_TO_DO}") from None
    except Exception as exc:  # the author's file may raise anything
        raise PyrunError(
            f"{file}{_line_in(exc, file)}: could not run conf.py ({type(exc).__name__}: {exc}); "
            + _WHAT_TO_DO
        ) from None
    sources.update({name: namespace[name] for name in SOURCE_NAMES if name in namespace})
    text = hashlib.sha256(source)
    text.update(plain_values(namespace).encode())
    digest.append(text.hexdigest())
    values = conf_py_settings(namespace)  # a misspelt one too, as the adapter reads them
    extensions = namespace.get("extensions")
    doctest = isinstance(extensions, (list, tuple)) and "sphinx.ext.doctest" in extensions
    if doctest:  # as the Sphinx adapter: the doctest builder's flags judge transcripts
        values["doctest_flags"] = namespace.get("doctest_default_flags", DEFAULT_FLAGS)
    paths = example_paths(
        values.get("path"), namespace.get("doctest_path") if doctest else None, file.parent
    )
    if paths is not None:
        values["path"] = paths
    return values


def _plugin_values(data: Any, file: Path) -> dict[str, Any] | None:
    """The options of the ``pyrun`` plugin in a ``mkdocs.yml`` (empty when it is listed bare;
    ``None`` when it is not: a Zensical site keeping ``mkdocs.yml``)."""
    for entry in _plugin_entries(data):
        if entry == "pyrun":
            return {}
        if isinstance(entry, Mapping) and "pyrun" in entry:
            options = entry["pyrun"] or {}
            if not isinstance(options, Mapping):
                raise PyrunError(f"{file}: plugins.pyrun must be a mapping; {_WHAT_TO_DO}")
            return {str(k): v for k, v in options.items() if k != "enabled"}
    return None


def uses_the_plugin(file: Path) -> bool:
    """Whether the YAML configuration *file* lists the ``pyrun`` MkDocs plugin (not only the
    upgrade extension, as a Zensical site does: MkDocs cannot build one with its theme)."""
    try:
        entries = _plugin_entries(_yaml_config(file))
    except PyrunError:
        return False
    return any(e == "pyrun" or (isinstance(e, Mapping) and "pyrun" in e) for e in entries)


def _plugin_entries(data: Any) -> list[Any]:
    plugins = data.get("plugins") if isinstance(data, Mapping) else None
    if isinstance(plugins, Mapping):
        return [{k: v} for k, v in plugins.items()]
    return plugins if isinstance(plugins, list) else []


def _yaml_config(file: Path) -> Any:
    """A ``mkdocs.yml`` (or ``zensical.yml``) as data, MkDocs' own tags kept as plain values."""
    try:
        import yaml
    except ImportError:
        raise PyrunError(
            f"{file}: reading mkdocs.yml needs PyYAML (pip install mkdocs); {_WHAT_TO_DO}"
        ) from None

    class Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type hints
        """Safe loading with MkDocs' ``!ENV`` and ``!relative`` read as MkDocs reads them, and
        going past its other tags (``!!python/name``) with their values as plain data."""

    def any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    def env_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        """``!ENV NAME`` or ``!ENV [NAME, OTHER, default]``: the first variable set (its text
        read as YAML, a ``true`` a bool), else the default (``pyyaml_env_tag``'s rules): a
        setting ``!ENV [PYRUN_FLAGS, [NORMALIZE_WHITESPACE]]`` was read as the list of both."""
        default = None
        if isinstance(node, yaml.SequenceNode):
            items = list(node.value)
            if len(items) > 1:
                default = loader.construct_object(items.pop(), deep=True)
            names = [loader.construct_scalar(item) for item in items]
        else:
            names = [loader.construct_scalar(node)]
        for name in names:
            if str(name) in os.environ:
                return yaml.safe_load(os.environ[str(name)] or "''")
        return default

    def relative_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        """``!relative $config_dir`` (``mkdocs.yml``'s folder), ``$docs_dir``, or bare: the
        folder of the page being read (pymdownx.snippets' ``base_path``, markdown-exec's)."""
        where = (
            str(loader.construct_scalar(node)).strip() if isinstance(node, yaml.ScalarNode) else ""
        )
        if where == "$config_dir":
            return str(file.parent)
        if where == "$docs_dir":
            return DOCS_DIR
        return PAGE_DIR

    Loader.add_multi_constructor("", any_tag)
    Loader.add_constructor("!ENV", env_tag)
    Loader.add_constructor("!relative", relative_tag)
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=Loader)  # a SafeLoader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PyrunError(f"{file}: could not read it ({exc}); {_WHAT_TO_DO}") from None
    return data


#: ``!relative $docs_dir`` and bare ``!relative`` in a Markdown site's settings, as read: the
#: pages folder (filled in once known) and the folder of each page (``pymdownx.snippets``)
DOCS_DIR = "\0pyrun:docs_dir"
PAGE_DIR = "\0pyrun:page_dir"


#: a Markdown site whose upgrade extension makes ``pyrun`` fences that nothing renders
NO_PYRUN_FENCE = (
    "pyrun: the upgrade extension turns examples into pyrun fences, but SuperFences has no "
    "pyrun fence to render them (the pages show them as text and quotes); add it to "
    "pymdownx.superfences' custom_fences: {name: pyrun, class: pyrun, validator: "
    "!!python/name:pyrun_docs.mkdocs_plugin.fence.validator, format: "
    "!!python/name:pyrun_docs.mkdocs_plugin.fence.formatter}, or use the pyrun MkDocs plugin"
)


def _renders_pyrun(extensions: Mapping[str, Any]) -> bool:
    """Whether a site without the plugin renders ``pyrun`` fences (SuperFences has a ``pyrun``
    custom fence), or needs none (no upgrade extension)."""
    if UPGRADE_EXTENSION not in extensions:
        return True
    found = extensions.get("pymdownx.superfences")
    if found is None and isinstance(extensions.get("pymdownx"), Mapping):
        found = extensions["pymdownx"].get("superfences")
    fences = found.get("custom_fences") if isinstance(found, Mapping) else None
    return isinstance(fences, list) and any(
        isinstance(f, Mapping) and f.get("name") == "pyrun" for f in fences
    )


def _extension_values(extensions: Mapping[str, Any]) -> dict[str, Any]:
    """The settings the upgrade extension takes (``upgrade``, default ``["doctest"]``), when it
    is among *extensions* (in a ``zensical.toml``, quoted: Zensical reads an unquoted dotted
    name as nested tables of another extension)."""
    if UPGRADE_EXTENSION not in extensions:
        return {}
    options = extensions[UPGRADE_EXTENSION]
    upgrade = options.get("upgrade", ["doctest"]) if isinstance(options, Mapping) else ["doctest"]
    return {"upgrade": upgrade}


def _toml_config(file: Path) -> dict[str, Any]:
    """A ``zensical.toml`` as data."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise PyrunError(f"{file}: reading it needs Python 3.11 or newer; {_WHAT_TO_DO}") from None
    try:
        data: dict[str, Any] = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PyrunError(f"{file}: could not read it ({exc}); {_WHAT_TO_DO}") from None
    return data


class _Tags:
    """Sphinx's ``tags`` object as far as a ``conf.py`` uses it (no tags are set)."""

    def has(self, tag: str) -> bool:
        return False

    def add(self, tag: str) -> None:
        pass

    def remove(self, tag: str) -> None:
        pass

    def __contains__(self, tag: str) -> bool:
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())


@contextlib.contextmanager
def _cwd(folder: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def setting_location(path: Path | None, problem: str) -> str:
    """``file:line`` of the setting a package *problem* is about (``pyrun_packages = [...]`` or
    ``pyrun_project = ..`` in the site's ``conf.py``, ``packages:`` in ``mkdocs.yml``; *path*:
    that file), for the command and the Sphinx build alike (the build said ``conf.py:1`` where
    the command said ``conf.py:4``). A problem of no setting it names: the file's first line."""
    import re

    from .locate import display_path

    if path is None:
        return "settings:1"
    # "... (pyrun_packages))", "pyrun_project = '..': ..." or "pyrun_project: x.whl is not ..."
    # or the chain that required a package: "zope-interface (zope.interface (pyrun_project
    # transaction))" was at conf.py:1
    named = [
        n
        for n in ("packages", "project", "path")
        if re.search(rf"\b(pyrun_)?{n}(\)| = |: )|\bpyrun_{n} \w", problem)
    ]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    # conf.py's ``pyrun_project = ...`` (not Sphinx's own ``project = ...``); mkdocs.yml's
    # ``project: .``, or inline ``{project: .}``
    prefix = "pyrun_" if path.suffix == ".py" else ""
    for number, line in enumerate(lines, 1):
        if any(re.search(rf"(^|[\s{{,]){prefix}{name}\s*[=:]", line) for name in named):
            return f"{display_path(path)}:{number}"
    return f"{display_path(path)}:1"
