"""``pyrun-docs``: the command line.

* ``pyrun-docs demo``: build the bundled docs (``docs/``) with Sphinx, serve them on 127.0.0.1.
* ``pyrun-docs serve DIR``: serve a built site with the MIME types the runtime needs.
* ``pyrun-docs fetch [RUNTIME...]``: fetch and verify pinned runtimes into the user cache.
* ``pyrun-docs pin RUNTIME VERSION``: rewrite ``pins.json`` for another runtime release.
* ``pyrun-docs remove DIR``: take pyrun off a site (a service worker that removes it from readers'
  browsers).
* ``pyrun-docs check PATH...``: run every snippet in the sources in headless Pyodide (exit 1 on a
  failure).

Errors the user can fix print one line and exit 2; there is no traceback from our code.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
import threading
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from . import __version__
from .errors import PyrunError
from .fetch import ensure_runtime
from .locate import display_path
from .runtime import RUNTIMES, get_pin, make_pin, write_pin
from .site_config import (
    SiteConfig,
    find_config_file,
    read_site_config,
    setting_location,
    uses_the_plugin,
)
from .snippet import Snippet
from .words import plural

if TYPE_CHECKING:
    from .check import CheckReport, ScanResult, SnippetResult
    from .read_memo import ProjectRead, ReadMemo


def _cmd_serve(args: argparse.Namespace) -> int:
    from .serve import make_server

    root = Path(args.directory)
    if not root.is_dir():
        raise PyrunError(f"{root} is not a directory; build the docs first")
    try:
        server = make_server(root, args.host, args.port, verbose=args.verbose)
    except OSError as exc:
        raise PyrunError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror}); try --port 0"
        ) from None
    url = f"http://{args.host}:{server.server_address[1]}/"
    print(f"Serving {root} at {url}  (Ctrl+C stops)", flush=True)
    if args.open:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nStopped.")
    finally:
        server.server_close()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    source = Path(args.source)
    if not (source / "conf.py").is_file():
        raise PyrunError(
            f"{source} has no conf.py; run from a pyrun-docs checkout or pass --source DOCS_DIR"
        )
    out = Path(args.out)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", str(source), str(out)]
    if args.jobs:
        cmd += ["-j", str(args.jobs)]
    print("$", " ".join(cmd), flush=True)
    status = subprocess.call(cmd)
    if status != 0:
        raise PyrunError(f"the docs build failed (exit {status}); see the messages above")
    if args.no_serve:
        return 0
    args.directory = out
    return _cmd_serve(args)


def _cmd_fetch(args: argparse.Namespace) -> int:
    for name in args.runtimes or ["pyodide"]:
        if name not in RUNTIMES:
            raise PyrunError(f"unknown runtime {name!r}; use one of {', '.join(RUNTIMES)}")
        pin = get_pin(name)
        folder = ensure_runtime(pin)
        print(f"{pin.spec}: verified in {folder}")
    return 0


def _cmd_assets(args: argparse.Namespace) -> int:
    from .assets import copy_site_assets
    from .config import PyrunConfig

    dest = Path(args.dest)
    folder = copy_site_assets(
        dest.parent, PyrunConfig(), set(args.runtime or ["pyodide"]), name=dest.name
    )
    print(f"pyrun assets and runtime written to {folder}")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from .assets import write_removal_worker

    dest = write_removal_worker(Path(args.directory))
    print(
        f"wrote {dest}: the service worker that removes pyrun from readers' browsers.\n"
        "Deploy it at the site root, where pyrun-sw.js was, and keep it there: a returning "
        "reader's browser checks that script on a visit at most 24 hours after its last check, "
        "then drops pyrun's worker, caches and snapshots."
    )
    return 0


def _cmd_pin(args: argparse.Namespace) -> int:
    package = get_pin(args.runtime).package
    with tempfile.TemporaryDirectory() as tmp:
        status = subprocess.call(
            ["npm", "pack", f"{package}@{args.version}", "--pack-destination", tmp], cwd=tmp
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if status != 0 or not tarballs:
            raise PyrunError(f"npm pack {package}@{args.version} failed")
        write_pin(args.runtime, make_pin(args.runtime, args.version, tarballs[0]))
    print(f"pinned {package}@{args.version}")
    return 0


def _positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
        return value

    return parse


def _site_config(args: argparse.Namespace) -> SiteConfig:
    """The settings the docs build would use: from --config, or the conf.py/mkdocs.yml found."""
    if args.no_config:
        return SiteConfig()
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise PyrunError(f"--config {args.config}: no such file")
    else:
        found = find_config_file(args.paths)
        if found is None:
            return SiteConfig()
        path = found
    site = read_site_config(path)
    print(f"pyrun check: settings from {display_path(path)}", file=sys.stderr)
    for problem in site.problems:
        print(f"pyrun check: warning: {problem.message}", file=sys.stderr)
    return site


def _as_sources(paths: Sequence[str], site: SiteConfig) -> list[str]:
    """*paths* with the site's configuration file, if given, standing for its pages: a Sphinx
    project's ``conf.py`` for its folder, a ``mkdocs.yml`` for its ``docs_dir``
    (``pyrun-docs check mkdocs.yml`` said "no pyrun snippets in 1 file")."""
    if site.path is None:
        return list(paths)
    config = site.path.resolve()
    pages = site.docs_dir or config.parent
    return [str(pages) if Path(p).resolve() == config else p for p in paths]


def _cmd_check(args: argparse.Namespace) -> int:
    from .check.cache import default_cache_dir, results_dir
    from .check.spare import prestart

    site = _site_config(args)
    args.paths = _as_sources(args.paths, site)
    # harnesses warm up while the sources are read (and the rest of the check is imported, so Node
    # boots meanwhile); surely needed when no result can be reused
    cache = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    certain = args.no_cache or not results_dir(cache).is_dir()
    base_dir = site.path.parent if site.path else None
    prestart(site.config, args.cache_dir, count=args.jobs, base_dir=base_dir, certain=certain)

    from .check import (
        emit_github_annotations,
        format_summary,
        run_check,
        scan_paths,
        write_json,
        write_junit,
    )
    from .check.scan import SphinxSources

    if site.path is not None and site.path.name == "conf.py" and site.config.upgrade:
        scan = _sphinx_scan(site, cache, args.paths)
    elif site.path is not None and _built_by_mkdocs(site):
        scan = _mkdocs_scan(site.path, cache, args)
    else:  # MkDocs' upgrade rewrites fences, which the scanner does the same way
        conf = site.path if site.path is not None and site.path.name == "conf.py" else None
        scan = scan_paths(
            args.paths,
            upgrade=site.config.upgrade,
            upgrade_exclude=site.config.upgrade_exclude,
            docs_dir=site.docs_dir,
            is_page=site.is_page,  # not one a Markdown site's exclude_docs leaves out
            # the pages a Sphinx build reads (exclude_patterns...), includes followed
            sphinx=SphinxSources.from_conf(conf.parent, site.sources) if conf else None,
            expand=_includes(site),  # a Zensical site's --8<-- lines, as its build has them
        )
    config = site.config
    if args.timeout is not None:
        config = dataclasses.replace(config, timeout=args.timeout)
    if not scan.pages and not scan.errors:
        print(f"pyrun check: no pyrun snippets in {plural(scan.files, 'file')}", file=sys.stderr)
    try:
        report = run_check(
            scan.pages,
            config,
            cache_dir=args.cache_dir,
            jobs=args.jobs,
            progress=not args.quiet,
            use_cache=not args.no_cache,
            base_dir=base_dir,  # a relative pyrun_project
            setting_prefix=_setting_prefix(site),
        )
    except PyrunError:  # a setup error (no Node.js...): the problems found so far still count
        for err in scan.errors:
            print(f"{err.location}: error: {err.message}", file=sys.stderr)
        raise
    settings = [
        PyrunError(text, location=setting_location(site.path, text))
        for text in report.setting_problems
    ]
    report = with_scan_errors(report, scan.errors, settings)
    if report.results:
        print(format_summary(report))
    if args.json:
        write_json(report, Path(args.json))
    if args.junit_xml:
        write_junit(report, Path(args.junit_xml))
    emit_github_annotations(report, sys.stdout)
    return 0 if report.ok else 1


def _setting_prefix(site: SiteConfig) -> str:
    """How the site's file names a setting in messages, as its build does."""
    if site.path is None:
        return ""
    return "pyrun_" if site.path.name == "conf.py" else "plugins.pyrun."


def with_scan_errors(
    report: CheckReport, errors: Sequence[PyrunError], settings: Sequence[PyrunError] = ()
) -> CheckReport:
    """The report with the problems found while reading the sources counted in it as errors.

    Why: a problem printed beside a summary that says "all passed" is missed, and printed twice it
    is noise. So each problem becomes one ``error`` result, printed once by the summary and counted
    in its table, the JSON, the JUnit XML and the annotations: a snippet kept without a bad option
    is itself an error (whatever its run said); a problem that belongs to no kept snippet (a file
    that cannot be read, a fence or block that did not become a snippet) is an error of its own
    at its ``file:line``; so is each of *settings* (a package setting that cannot be had), on no
    page.
    """
    from .check import Status

    if not errors and not settings:
        return report
    by_path: dict[str, list[Snippet]] = {}  # the same file however it is written (Sphinx: absolute)
    for result in report.results:
        by_path.setdefault(os.path.realpath(result.snippet.path), []).append(result.snippet)
    owned: dict[int, list[tuple[int, str]]] = {}  # id(snippet) -> its problems' lines, messages
    extra: list[SnippetResult] = []
    for error in errors:
        path, line = _split_location(error.location)
        same_file = by_path.get(os.path.realpath(path), [])
        owner = _owner(path, line, same_file)
        if owner is not None:
            owned.setdefault(id(owner), []).append((line, error.message))
            continue
        # on its file's page, when that page has snippets (it counted as one page more)
        extra.append(_error_result(error, same_file[0].page if same_file else path))
    extra += [_error_result(error, "") for error in settings]  # a setting's, on no page
    results: list[SnippetResult] = []
    for result in report.results:
        problems = owned.get(id(result.snippet))
        if problems:
            message = "; ".join(dict.fromkeys(text for _, text in problems))  # one per page read
            if result.failed:
                message += f"; and it {result.status.value}: {result.message}"
            # reported at the (first) option's line, where the author fixes it
            line = problems[0][0]
            result = dataclasses.replace(result, status=Status.ERROR, message=message, line=line)
        results.append(result)
    return dataclasses.replace(report, results=results + extra)


def _error_result(error: PyrunError, page: str) -> SnippetResult:
    """*error* as the ``error`` result of a stand-in snippet at its location, on *page*."""
    from .check import SnippetResult, Status

    path, line = _split_location(error.location)
    stand_in = Snippet(code="", path=path, line=line, page=page, index=-1)
    return SnippetResult(stand_in, Status.ERROR, error.message)


def _split_location(location: str | None) -> tuple[str, int]:
    """``("docs/page.rst", 4)`` from ``docs/page.rst:4``; a location without a line is line 1."""
    path, _, line = (location or "").rpartition(":")
    if path and line.isdigit():
        return path, int(line)
    return location or "<unknown>", 1


def _owner(path: str, line: int, snippets: Sequence[Snippet]) -> Snippet | None:
    """The snippet whose header is at *line* of *path*: the next snippet after it, when only
    option lines or blank lines stand between (a block that did not become a snippet has code, a
    closing fence or the next header there)."""
    after = [s for s in snippets if s.line > line]
    if not after:
        return None
    first = min(after, key=lambda s: s.line)
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    # the problem's own line is a header or one of its options, not a block's code: a one-line
    # transcript doctest cannot parse took the next block's verdict (graphviz's ``+NO_EXE``)
    at, *between = lines[line - 1 : first.line - 1] or [""]
    if not (_HEADER_LINE.match(at) or _OPTION_LINE.match(at)):
        return None
    return first if all(_OPTION_LINE.match(text) for text in between) else None


#: what may stand between a snippet's header and its code: blank lines, ``:name: value`` options,
#: a MyST ``---`` options block and its ``key: value`` lines
_OPTION_LINE = re.compile(r"^\s*(?:|:[^:\s][^:]*:.*|---|[\w-]+\s*:.*)$")
#: a snippet's header: a directive (``.. pyrun::``), a fence (Markdown, MyST, also ``:::``)
_HEADER_LINE = re.compile(r"^[\s>]*(?:\.\.\s+\S+::|`{3,}|~{3,}|:{3,})")


def _sphinx_scan(site: SiteConfig, cache: Path, paths: Sequence[str]) -> ScanResult:
    """The snippets the Sphinx build finds (``pyrun_upgrade`` takes what Sphinx parses: autodoc
    docstrings, includes, doctest directives), limited to the sources under *paths*; the read is
    kept in the check's *cache* folder."""
    import importlib

    from .read_memo import project_memo

    assert site.path is not None  # a conf.py was found
    confdir = site.path.parent
    memo = project_memo(cache, confdir, site.digest, tools=("sphinx", "docutils"))

    def read() -> ProjectRead:
        print("pyrun check: pyrun_upgrade is on: reading the project with Sphinx", file=sys.stderr)
        collect = importlib.import_module("pyrun_docs.sphinx_ext.collect").collect
        found: ProjectRead = collect(confdir, cache, memo)
        return found

    return _built_scan(_kept_or(memo, read), paths)


#: what, in an MkDocs configuration, brings examples into pages that their Markdown source does
#: not show: mkdocstrings' docstrings, files another plugin includes, a hook's additions
_CONTENT_FROM_ELSEWHERE = (
    "mkdocstrings",
    "include-markdown",
    "include_markdown",
    "hooks:",
    "gen-files",  # pages a script writes during the build (mkdocs-gen-files)
)


def _includes(site: SiteConfig) -> Callable[[str, str], str] | None:
    """What the site's ``pymdownx.snippets`` makes of a Markdown page (``None``: it lists no
    such extension)."""
    if site.snippets is None:
        return None
    import importlib

    expander: Callable[[Mapping[str, Any]], Callable[[str, str], str]]
    expander = importlib.import_module("pyrun_docs.mkdocs_plugin.includes").expander
    return expander(site.snippets)


def _built_by_mkdocs(site: SiteConfig) -> bool:
    """An MkDocs site whose pages get examples their source does not show: docstrings
    mkdocstrings renders and included files (with ``upgrade`` on), and what pymdownx.snippets'
    ``--8<--`` includes, also into a ``pyrun`` fence: only MkDocs' build knows those examples
    (``pyrun-docs check mkdocs.yml`` said "no pyrun snippets" where the build checked an
    included fence, and checked the ``--8<--`` line itself where the build ran the file)."""
    if site.path is None or site.path.suffix not in (".yml", ".yaml"):
        return False
    if not uses_the_plugin(site.path):  # a Zensical site (the extension): MkDocs cannot build it
        return False
    text = site.path.read_text(encoding="utf-8", errors="replace")
    if "pymdownx.snippets" in text:
        return True
    return bool(site.config.upgrade) and any(name in text for name in _CONTENT_FROM_ELSEWHERE)


def _mkdocs_scan(config_file: Path, cache: Path, args: argparse.Namespace) -> ScanResult:
    """The snippets MkDocs' build finds (mkdocstrings' docstring examples included), limited to
    the sources under *args.paths*; the read is kept in the check's *cache* folder."""
    import importlib

    from .read_memo import mkdocs_memo

    memo = mkdocs_memo(cache, config_file)

    def read() -> ProjectRead:
        print(
            "pyrun check: upgrading examples MkDocs brings into pages: building with MkDocs",
            file=sys.stderr,
        )
        collect = importlib.import_module("pyrun_docs.mkdocs_plugin.collect").collect
        found: ProjectRead = collect(config_file, memo)
        return found

    return _built_scan(_kept_or(memo, read), args.paths)


def _kept_or(memo: ReadMemo | None, read: Callable[[], ProjectRead]) -> ProjectRead:
    """What a build read last time, kept in *memo* while nothing it read changed; else *read*
    (which keeps it in *memo* for the next check)."""
    from .read_memo import ProjectRead

    found = memo.load() if memo is not None else None
    return found if isinstance(found, ProjectRead) else read()


def _built_scan(read: ProjectRead, paths: Sequence[str]) -> ScanResult:
    """The pages a build found (each with its source file), limited to those under *paths*; the
    build's other warnings are printed."""
    from .check import ScanResult
    from .check.scan import source_files

    if read.warnings:
        print(read.warnings, file=sys.stderr)
    wanted = {p.resolve() for p in source_files(paths)}
    folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]
    result = ScanResult(errors=read.problems, files=len(read.sources))
    for page, snippets in read.pages.items():
        source = read.sources[page].resolve()
        if source in wanted or any(source.is_relative_to(folder) for folder in folders):
            result.pages[page] = snippets
    return result


#: what ``pyrun-docs --help`` says first (plain words: the module docstring is reST)
DESCRIPTION = (
    "Runnable, checked Python examples in Sphinx and MkDocs docs: check the examples, fetch the "
    "pinned runtimes, serve a built site, build the demo."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyrun-docs", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"pyrun-docs {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def serve_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=int(os.environ.get("PYRUN_DOCS_PORT", 8000)))
        p.add_argument("--open", action="store_true", help="open a web browser")
        p.add_argument("--verbose", action="store_true", help="log every request")

    demo = sub.add_parser("demo", help="build the bundled docs and serve them")
    demo.add_argument("--source", default="docs")
    demo.add_argument("--out", default="build/demo")
    demo.add_argument("--jobs", "-j", type=int, default=0)
    demo.add_argument("--no-serve", action="store_true", help="build only")
    serve_options(demo)
    demo.set_defaults(func=_cmd_demo)

    serve = sub.add_parser("serve", help="serve a built site on localhost")
    serve.add_argument("directory")
    serve_options(serve)
    serve.set_defaults(func=_cmd_serve)

    fetch = sub.add_parser("fetch", help="fetch and verify pinned runtimes into the cache")
    fetch.add_argument("runtimes", nargs="*", metavar="RUNTIME", help=", ".join(RUNTIMES))
    fetch.set_defaults(func=_cmd_fetch)

    assets = sub.add_parser(
        "assets", help="copy the widget assets and the verified runtime into a folder"
    )
    assets.add_argument("dest", help="e.g. docs/assets/pyrun (for a hand-registered MkDocs fence)")
    assets.add_argument("--runtime", action="append", choices=RUNTIMES)
    assets.set_defaults(func=_cmd_assets)

    remove = sub.add_parser(
        "remove",
        help="take pyrun off a site: a service worker that removes pyrun from readers' browsers",
        description="Write pyrun-sw.js into DIR as a service worker that, in each returning "
        "reader's browser, deletes pyrun's caches and memory snapshots and unregisters itself. "
        "DIR: the site built without pyrun (its root), or a folder the build copies to the site "
        "root (Sphinx html_extra_path, MkDocs docs/).",
    )
    remove.add_argument("directory", metavar="DIR")
    remove.set_defaults(func=_cmd_remove)

    pin = sub.add_parser("pin", help="pin another runtime release (rewrites pins.json)")
    pin.add_argument("runtime", choices=RUNTIMES)
    pin.add_argument("version")
    pin.set_defaults(func=_cmd_pin)

    check = sub.add_parser(
        "check",
        help="run every snippet in .rst/.md sources in headless Pyodide (no build needed)",
        description="Run every pyrun snippet found in PATH (files, or folders searched for .rst "
        "and .md) in the pinned Pyodide, as a reader's browser would. Exit status: 0 all passed "
        "(or skipped), 1 a snippet failed or an option is wrong, 2 usage or setup error.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report")
    check.add_argument("--json", metavar="PATH", help="write a JSON report")
    check.add_argument(
        "--timeout", type=_positive(float), metavar="S", help="seconds per snippet (default 30)"
    )
    check.add_argument(
        "--jobs",
        "-j",
        type=_positive(int),
        metavar="N",
        help="interpreter processes (default: one per ~3 s of estimated work, at most one per core)",
    )
    check.add_argument("--no-cache", action="store_true", help="run everything, remember nothing")
    check.add_argument("--cache-dir", metavar="DIR", help="where results and snapshots are kept")
    check.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    where = check.add_mutually_exclusive_group()
    where.add_argument(
        "--config",
        metavar="FILE",
        help="the conf.py or mkdocs.yml whose pyrun settings apply "
        "(default: found next to or above PATH)",
    )
    where.add_argument(
        "--no-config", action="store_true", help="ignore conf.py/mkdocs.yml; use the defaults"
    )
    check.set_defaults(func=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except PyrunError as exc:
        print(f"pyrun-docs: error: {exc}", file=sys.stderr)
        return 2
    return status


def run() -> NoReturn:
    """The ``pyrun-docs`` command: :func:`main`, then the process ends without tearing the
    interpreter down, as mypy's command does: freeing the modules and objects of a check took
    30-40 ms of every run after its report was printed. Exit handlers still run (temporary folders
    are removed, logs flushed); while a thread of ours still works, Python exits as usual."""
    status = main()
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(t.is_alive() and not t.daemon for t in others):
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (``| head``), a closed stream
            pass
    os._exit(status)


if __name__ == "__main__":
    run()
