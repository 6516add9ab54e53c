"""Real ``sphinx-build`` runs of the fixture roots (reST and MyST; html, latex, epub, text; -j 2)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import sphinx_build

from pyrun_docs.fetch import verify_dir
from pyrun_docs.runtime import get_pin

PYREPL = re.compile(r"<py-repl [^>]*>")


@pytest.fixture
def html_build(make_root: Callable[..., Path], runtime_cache: Path):  # type: ignore[no-untyped-def]
    src = make_root("basic")
    return sphinx_build(src, src.parent / "html")


def test_html_widgets_and_assets(html_build) -> None:  # type: ignore[no-untyped-def]
    assert html_build.status == 0, html_build.stderr
    assert "WARNING" not in html_build.stderr
    index = html_build.read("index.html")
    tags = PYREPL.findall(index)
    assert len(tags) == 8
    assert 'data-session="intro"' in tags[0] and 'data-session="intro"' in tags[1]
    assert 'data-raises="ZeroDivisionError"' in tags[5]
    assert 'type="module" src="_static/pyrun/pyrun.js' in index
    assert "_static/pyrun/pyrun.css" in index
    assert index.count('id="pyrun-config"') == 1
    # the code is readable without JavaScript
    assert '<span class="nb">print</span>' in index
    # a page at depth 2 points at the same assets
    deep = html_build.read("sub/deep.html")
    assert 'src="../_static/pyrun/pyrun.js' in deep
    assert len(PYREPL.findall(deep)) == 2
    # MyST fence
    myst = html_build.read("myst.html")
    assert 'data-session="intro"' in myst
    # pages without snippets get nothing
    plain = html_build.read("plain.html")
    assert "pyrun" not in plain
    # the runtime is self-hosted, verified, under a versioned path
    pin = get_pin("pyodide")
    runtime = html_build.outdir / "_static" / "pyrun" / pin.key
    assert not verify_dir(pin, runtime)
    for name in ("pyrun.js", "pyrun-worker.js", "pyrun.css", "executor.py"):
        assert (html_build.outdir / "_static" / "pyrun" / name).is_file()


def test_executor_in_site_is_the_core_module(html_build) -> None:  # type: ignore[no-untyped-def]
    from pyrun_docs.assets import executor_path

    shipped = html_build.outdir / "_static" / "pyrun" / "executor.py"
    assert shipped.read_bytes() == executor_path().read_bytes()


BAD_OPTIONS = """\
Bad
===

.. pyrun::
   :sesion: intro
   :timeout: soon
   :runtime: jython

   print("still rendered")

.. pyrun::

Text after.

.. pyrun::
   :session: ok

   print("fine")
"""


def test_bad_options_warn_with_location_and_keep_building(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    src = make_root("basic", **{"bad.rst": BAD_OPTIONS})
    build = sphinx_build(src, src.parent / "html")
    assert build.status == 0, build.stderr
    err = build.stderr
    assert re.search(
        r"bad\.rst:4: WARNING: pyrun: unknown option 'sesion' \(did you mean 'session'", err
    )
    assert re.search(r"bad\.rst:4: WARNING: pyrun: option 'timeout': 'soon' is not a number", err)
    assert "unknown runtime 'jython'" in err
    assert re.search(r"bad\.rst:11: WARNING: pyrun: empty pyrun snippet", err)
    assert "[pyrun.options]" in err and "[pyrun.empty]" in err
    assert "Traceback" not in err
    html = build.read("bad.html")
    assert len(PYREPL.findall(html)) == 2
    assert "still rendered" in html and "Text after." in html
    strict = sphinx_build(src, src.parent / "strict", "html", "-W")
    assert strict.status != 0


def test_warnings_can_be_suppressed(make_root: Callable[..., Path], runtime_cache: Path) -> None:
    conf = (Path(__file__).parent / "roots" / "basic" / "conf.py").read_text()
    src = make_root(
        "basic",
        **{
            "bad.rst": BAD_OPTIONS,
            "conf.py": conf + 'suppress_warnings = ["pyrun.options", "toc.not_included"]\n',
        },
    )
    build = sphinx_build(src, src.parent / "html")
    assert "pyrun.options" not in build.stderr
    assert "[pyrun.empty]" in build.stderr


def test_bad_config_value_is_a_clear_warning(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    conf = (Path(__file__).parent / "roots" / "basic" / "conf.py").read_text()
    bad = 'pyrun_runtime_source = "ftp"\npyrun_timeout = "long"\n'
    src = make_root("basic", **{"conf.py": conf + bad})
    build = sphinx_build(src, src.parent / "html")
    assert build.status == 0, build.stderr
    assert "pyrun_runtime_source = 'ftp' is invalid: use one of self-host, cdn" in build.stderr
    assert "using the default 'self-host'" in build.stderr
    assert "pyrun_timeout" in build.stderr and "[pyrun.config]" in build.stderr
    assert "Traceback" not in build.stderr
    assert "pyodide-314.0.7/" in build.read("index.html")  # fell back to self-hosting
    strict = sphinx_build(src, src.parent / "strict", "html", "-W")
    assert strict.status != 0 and "Traceback" not in strict.stderr


@pytest.mark.parametrize("builder", ["latex", "epub", "text", "man"])
def test_non_html_builders_get_plain_code_blocks(
    make_root: Callable[..., Path], builder: str
) -> None:
    index = (Path(__file__).parent / "roots" / "basic" / "index.rst").read_text()
    hidden = (
        "\n.. pyrun::\n   :hidden:\n   :session: s\n\n   setupvalue = 12345\n\n"
        ".. pyrun::\n   :session: s\n\n   print(setupvalue)\n"
    )
    src = make_root("basic", **{"index.rst": index + hidden})
    build = sphinx_build(src, src.parent / builder, builder)
    assert build.status == 0, build.stderr
    assert "pyrun" not in build.stderr and "Traceback" not in build.stderr, build.stderr
    text = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in build.outdir.rglob("*")
        if p.suffix in {".tex", ".xhtml", ".txt", ".1", ".html"}
    )
    assert "sqrt" in text
    assert "setupvalue" in text
    assert "12345" not in text  # hidden setup code is not printed
    assert "py-repl" not in text
    assert not (build.outdir / "_static" / "pyrun").exists()


def test_parallel_build_matches_serial(make_root: Callable[..., Path], runtime_cache: Path) -> None:
    src = make_root("basic")
    serial = sphinx_build(src, src.parent / "serial")
    parallel = sphinx_build(src, src.parent / "parallel", "html", "-j", "2")
    assert serial.status == 0 and parallel.status == 0, parallel.stderr
    for page in ("index.html", "myst.html", "sub/deep.html", "plain.html"):
        a = PYREPL.findall(serial.read(page)), serial.read(page).count("pyrun")
        b = PYREPL.findall(parallel.read(page)), parallel.read(page).count("pyrun")
        assert a == b, page
    assert (parallel.outdir / "_static" / "pyrun" / "pyrun.js").is_file()


def test_incremental_rebuild_tracks_removed_snippets(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    src = make_root("basic")
    out = src.parent / "html"
    assert sphinx_build(src, out).status == 0
    (src / "sub" / "deep.rst").write_text("Deep page\n=========\n\nNo snippets any more.\n")
    build = sphinx_build(src, out)
    assert build.status == 0
    assert "pyrun" not in build.read("sub/deep.html")
    assert "pyrun.js" in build.read("index.html")


def test_caption_and_name_make_a_reference_target(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    src = make_root(
        "basic",
        **{
            "ref.rst": "Ref\n===\n\nSee :ref:`the-example`.\n\n.. pyrun::\n   :caption: An example\n"
            "   :name: the-example\n\n   print(1)\n"
        },
    )
    build = sphinx_build(src, src.parent / "html")
    assert build.status == 0, build.stderr
    html = build.read("ref.html")
    assert 'id="the-example"' in html
    assert 'href="#the-example"' in html
    assert "An example" in html


def test_snippet_lines_match_the_source(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    """The recorded first line is the code's first line, in reST and in MyST (the check's file:line)."""
    import pickle

    src = make_root("basic")
    build = sphinx_build(src, src.parent / "html")
    assert build.status == 0, build.stderr
    with open(src.parent / "html" / ".doctrees" / "environment.pickle", "rb") as handle:
        env = pickle.load(handle)
    for docname, snippets in env.pyrun_snippets.items():
        suffix = ".md" if (src / f"{docname}.md").exists() else ".rst"
        lines = (src / f"{docname}{suffix}").read_text().splitlines()
        for snip in snippets:
            first = snip.source.splitlines()[0]
            assert lines[snip.line - 1].strip() == first.strip(), (docname, snip.line, first)
    assert env.pyrun_snippets["myst"][0].line == 6


def test_page_config_describes_only_the_runtimes_on_the_page(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    """Every page with a widget carries the page config, whose runtime file hashes are most of it:
    a page pays only for the runtimes its snippets use."""
    import json

    micro = "Micro\n=====\n\n.. pyrun::\n   :runtime: micropython\n\n   print(1)\n"
    src = make_root("basic", **{"micro.rst": micro})
    index = src / "index.rst"
    index.write_text(index.read_text() + "\n.. toctree::\n\n   micro\n")
    out = src.parent / "html"
    result = sphinx_build(src, out)
    assert result.status == 0, result.stderr

    def runtimes(page: str) -> list[str]:
        text = (out / page).read_text(encoding="utf-8")
        body = re.search(r'id="pyrun-config"[^>]*>(.*?)</script>', text, re.S)
        assert body, page
        return sorted(json.loads(body.group(1))["runtimes"])

    assert runtimes("index.html") == ["pyodide"]
    assert runtimes("micro.html") == ["micropython"]


def test_pages_follow_a_new_asset_version_on_an_incremental_build(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    """A rebuild after pyrun's assets changed rewrites every page with a snippet, not only the
    changed ones (each page's config names the asset version its URLs and snapshots use)."""
    import pickle

    from pyrun_docs.assets import asset_version

    src = make_root("basic")
    out = src.parent / "html"
    assert sphinx_build(src, out).status == 0
    pages = ["index.html", "plain.html", "sub/deep.html"]
    env_file = out / ".doctrees" / "environment.pickle"
    env = pickle.loads(env_file.read_bytes())
    assert env.pyrun_asset_version == asset_version()
    env.pyrun_asset_version = "0ld0ld0ld0ld"  # as built by an earlier pyrun
    env_file.write_bytes(pickle.dumps(env))
    for name in pages:
        html = (out / name).read_text().replace(asset_version(), "0ld0ld0ld0ld")
        (out / name).write_text(html)

    build = sphinx_build(src, out)
    assert build.status == 0, build.stderr
    for name in pages:
        html = (out / name).read_text()
        if "<py-repl" in html:
            assert "0ld0ld0ld0ld" not in html, name
            assert f'"assetVersion": "{asset_version()}"' in html.replace('":"', '": "'), name


def test_the_package_name_is_the_extension_too(tmp_path: Path, runtime_cache: Path) -> None:
    """``extensions = ["pyrun_docs"]`` (the package's own name, the natural guess) loaded no
    extension: every example was dropped ("Unknown directive type") and the build passed."""
    from conftest import sphinx_build

    (tmp_path / "conf.py").write_text('extensions = ["pyrun_docs"]\npyrun_check = "off"\n')
    (tmp_path / "index.rst").write_text("T\n=\n\n.. pyrun::\n\n   print(1)\n")
    build = sphinx_build(tmp_path, tmp_path / "html")
    assert build.status == 0, build.stderr
    assert "<py-repl" in (tmp_path / "html" / "index.html").read_text()
