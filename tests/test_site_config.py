"""``pyrun-docs check`` reads the site's own settings from conf.py or mkdocs.yml."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import check_dir

from pyrun_docs.cli import main
from pyrun_docs.errors import PyrunError
from pyrun_docs.site_config import find_config_file, read_site_config


def test_sphinx_conf_py_is_run_like_sphinx_runs_it(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "helper.txt").write_text("7")
    (docs / "conf.py").write_text(
        "import pathlib\n"
        "extensions = ['pyrun_docs.sphinx_ext']\n"
        "pyrun_timeout = float(pathlib.Path('helper.txt').read_text())  # relative to conf.py\n"
        "pyrun_runtime = 'micropython' if not tags.has('full') else 'pyodide'\n"
        "pyrun_output_limit = 'lots'\n"
    )
    assert find_config_file([docs]) == docs / "conf.py"
    assert find_config_file([docs / "index.rst"]) == docs / "conf.py"
    site = read_site_config(docs / "conf.py")
    assert site.config.timeout == 7 and site.config.runtime == "micropython"
    assert site.config.output_limit == 100_000  # a bad value falls back to the default...
    [problem] = site.problems  # ...and says so, naming the setting and the file
    assert "pyrun_output_limit" in problem.message and "conf.py" in problem.message


def test_conf_py_runs_with_sphinx_imported_as_in_a_build(tmp_path: Path) -> None:
    """What conf.py imports may look for Sphinx (humanfriendly swapped itself for a proxy
    without it, and the command's read of the project then found none of its members): it runs
    with Sphinx imported, as in ``sphinx-build``. In a fresh process, as the command starts."""
    import subprocess
    import sys

    (tmp_path / "conf.py").write_text(
        "import sys\npyrun_runtime = 'pyodide' if 'sphinx' in sys.modules else 'micropython'\n"
    )
    code = (
        "import sys; from pyrun_docs.site_config import read_site_config; "
        "print(read_site_config(__import__('pathlib').Path(sys.argv[1])).config.runtime)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "conf.py")], capture_output=True, text=True
    )
    assert proc.stdout.strip() == "pyodide", proc.stderr


def test_broken_conf_py_is_an_error_naming_file_and_exception(tmp_path: Path) -> None:
    (tmp_path / "conf.py").write_text("import json\n\npyrun_timeout = 3\n\njson.loads('{')\n")
    with pytest.raises(PyrunError) as info:
        read_site_config(tmp_path / "conf.py")  # never the defaults in silence
    message = info.value.message
    assert message.startswith(f"{tmp_path / 'conf.py'}:5: ")  # where conf.py called it (pyte)
    assert "JSONDecodeError: Expecting" in message and "--no-config" in message
    (tmp_path / "conf.py").write_text("x = 1\nif x\n")
    with pytest.raises(PyrunError, match=r"conf\.py:2: could not run conf\.py \(SyntaxError"):
        read_site_config(tmp_path / "conf.py")
    (tmp_path / "conf.py").write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(PyrunError, match=r"sys\.exit\(3\)"):
        read_site_config(tmp_path / "conf.py")
    (tmp_path / "mkdocs.yml").write_text("plugins:\n  - pyrun: [1, 2]\n")
    with pytest.raises(PyrunError, match=r"plugins\.pyrun must be a mapping"):
        read_site_config(tmp_path / "mkdocs.yml")


def test_mkdocs_yml_beside_docs(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the project's root ends the search
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: X\n"
        "markdown_extensions:\n"
        "  - pymdownx.superfences:\n"
        "      custom_fences:\n"
        "        - name: mermaid\n"
        "          class: mermaid\n"
        "          format: !!python/name:pymdownx.superfences.fence_code_format\n"
        "plugins:\n"
        "  - search\n"
        "  - pyrun:\n"
        "      timeout: 4\n"
        "      output_limit: 5000\n"
        "extra:\n"
        "  key: !ENV [HOME, x]\n"
    )
    assert find_config_file([docs]) == tmp_path / "mkdocs.yml"
    site = read_site_config(tmp_path / "mkdocs.yml")
    assert (site.config.timeout, site.config.output_limit) == (4, 5000)
    assert not site.problems
    (tmp_path / "mkdocs.yml").write_text("site_name: X\nplugins:\n  - pyrun\n")
    assert read_site_config(tmp_path / "mkdocs.yml").config.timeout == 30
    (tmp_path / "mkdocs.yml").write_text("plugins: [pyrun: {timeout: 0}]\n")
    with pytest.raises(PyrunError, match=r"plugins\.pyrun\.timeout = 0 is invalid"):
        read_site_config(tmp_path / "mkdocs.yml")  # as the build stops on it


def test_search_stops_at_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "conf.py").write_text("")  # above the project: not this project's
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    assert find_config_file([project / "docs"]) is None


def test_check_cli_applies_the_site_timeout(
    runtime_cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "conf.py").write_text("pyrun_timeout = 1\n")
    (docs / "index.rst").write_text(
        "Slow\n====\n\n.. pyrun::\n\n   import time\n   time.sleep(4)\n", encoding="utf-8"
    )
    cache = check_dir(tmp_path)
    assert main(["check", "docs", "--cache-dir", str(cache), "-q", "--no-cache"]) == 1
    captured = capsys.readouterr()
    assert f"settings from {Path('docs', 'conf.py')}" in captured.err
    assert "timed out after 1" in captured.out
    # --no-config: the default 30 s, so the same snippet passes
    assert main(["check", "docs", "--cache-dir", str(cache), "-q", "--no-config"]) == 0


def test_doctest_path_is_where_the_doctest_builder_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``doctest_path`` goes on ``sys.path`` as written, so a relative entry is relative to the
    folder the build runs in (it was taken relative to ``conf.py``: where the doctest builder
    could not import, the check could); ``pyrun_path`` is relative to ``conf.py``."""

    docs = tmp_path / "docs"
    docs.mkdir()
    conf = docs / "conf.py"
    conf.write_text('extensions = ["sphinx.ext.doctest"]\ndoctest_path = ["ext"]\n')
    monkeypatch.chdir(tmp_path)
    assert list(read_site_config(conf).config.path) == [str(tmp_path / "ext")]
    conf.write_text('extensions = ["sphinx.ext.doctest"]\npyrun_path = ["ext"]\n')
    assert list(read_site_config(conf).config.path) == [str(docs / "ext")]


def test_mkdocs_tags_are_read_as_mkdocs_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``!ENV`` is the first variable set, else its default: a setting written with it was read
    as the list of the tag's items (markdown-exec's ``enabled: !ENV [DEPLOY, false]`` was a
    non-empty list, so true); ``!relative`` (pymdownx.snippets' ``base_path``) is a folder:
    ``$config_dir`` mkdocs.yml's, ``$docs_dir`` the pages', bare the page's own (as MkDocs
    reads it for each page): ``$config_dir`` was a folder of that name, and every include of
    markdown-exec's pages failed."""
    from pyrun_docs.site_config import PAGE_DIR

    (tmp_path / "mkdocs.yml").write_text(
        "site_name: S\ndocs_dir: pages\nplugins:\n  - pyrun:\n"
        "      doctest_flags: !ENV [PYRUN_TEST_UNSET, PYRUN_TEST_FLAGS, [ELLIPSIS]]\n"
        "      timeout: !ENV PYRUN_TEST_TIMEOUT\n"
        "markdown_extensions:\n  - pymdownx.snippets:\n"
        "      base_path:\n        - !relative $config_dir\n        - !relative $docs_dir\n"
        "        - !relative\n"
    )
    monkeypatch.delenv("PYRUN_TEST_UNSET", raising=False)
    monkeypatch.delenv("PYRUN_TEST_FLAGS", raising=False)
    monkeypatch.setenv("PYRUN_TEST_TIMEOUT", "7")
    site = read_site_config(tmp_path / "mkdocs.yml")
    assert site.config.transcript_flags == ("ELLIPSIS",) and site.config.timeout == 7, site.problems
    assert site.snippets == {"base_path": [str(tmp_path), str(tmp_path / "pages"), PAGE_DIR]}
    monkeypatch.setenv("PYRUN_TEST_FLAGS", "[NORMALIZE_WHITESPACE]")
    assert read_site_config(tmp_path / "mkdocs.yml").config.transcript_flags == (
        "NORMALIZE_WHITESPACE",
    )


def test_a_bare_relative_base_path_includes_from_the_page_s_folder(tmp_path: Path) -> None:
    from pyrun_docs.mkdocs_plugin.includes import expander

    from pyrun_docs.site_config import PAGE_DIR

    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "part.txt").write_text("included")
    expand = expander({"base_path": [PAGE_DIR], "check_paths": True})
    page = tmp_path / "guide" / "page.md"
    assert expand('--8<-- "part.txt"', str(page)) == "included"


def test_a_site_whose_pages_a_script_writes_is_read_with_mkdocs(tmp_path: Path) -> None:
    """mkdocs-gen-files writes pages during the build: the command checked none of them ("no
    pyrun snippets in 1 file", exit 0) where the build checked them."""
    from pyrun_docs.cli import _built_by_mkdocs

    config = tmp_path / "mkdocs.yml"
    config.write_text(
        "site_name: G\nplugins:\n  - pyrun:\n      upgrade: [doctest]\n"
        "  - gen-files:\n      scripts: [gen.py]\n"
    )
    assert _built_by_mkdocs(read_site_config(config))
    config.write_text("site_name: G\nplugins:\n  - pyrun:\n      upgrade: [doctest]\n")
    assert not _built_by_mkdocs(read_site_config(config))


def test_a_misspelt_setting_is_reported_with_the_one_meant(tmp_path: Path) -> None:
    """``pyrun_chek = "error"`` was ignored in silence: a build with a failing example passed.
    The command and the Sphinx build say so, naming the setting meant; conf.py's own module
    imports and functions named ``pyrun_...`` are no settings."""
    from conftest import sphinx_build

    (tmp_path / "conf.py").write_text(
        'extensions = ["pyrun_docs.sphinx_ext"]\npyrun_check = "off"\npyrun_chek = "error"\n'
        "import pyrun_docs\ndef pyrun_helper():\n    pass\n"
    )
    (tmp_path / "index.rst").write_text("T\n=\n\nText.\n")
    said = [p.message for p in read_site_config(tmp_path / "conf.py").problems]
    assert said == [
        "unknown setting pyrun_chek (did you mean pyrun_check?); it is ignored (in conf.py)"
    ]
    build = sphinx_build(tmp_path, tmp_path / "html")
    assert "unknown setting pyrun_chek (did you mean pyrun_check?)" in build.stderr
    assert "pyrun_docs" not in build.stderr and "pyrun_helper" not in build.stderr


def test_a_bad_plugin_setting_stops_the_command_as_it_stops_the_build(tmp_path: Path) -> None:
    """MkDocs' own check of the plugin's settings stops the build on ``timeout: "30s"``; the
    command warned and went on with the default (exit 0). An unknown name is a warning in both."""
    config = tmp_path / "mkdocs.yml"
    config.write_text('site_name: B\nplugins:\n  - pyrun:\n      timeout: "30s"\n')
    with pytest.raises(PyrunError, match=r"plugins\.pyrun\.timeout = '30s' is invalid"):
        read_site_config(config)
    config.write_text("site_name: B\nplugins:\n  - pyrun:\n      timout: 3\n")
    said = [p.message for p in read_site_config(config).problems]
    assert said == [
        "unknown setting plugins.pyrun.timout (did you mean plugins.pyrun.timeout?); it is "
        "ignored (in mkdocs.yml)"
    ]
