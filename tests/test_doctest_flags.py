"""doctest's option flags: the site setting, Sphinx's ``doctest_default_flags``, the ``options``
snippet option, and what reaches the executor, the page and the result cache."""

from __future__ import annotations

import doctest
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOTS, check_dir, sphinx_build
from test_mkdocs import mkdocs_build

from pyrun_docs.check import Status, run_check
from pyrun_docs.check.plan import cache_key, transcript_flags
from pyrun_docs.check.scan import scan_text
from pyrun_docs.config import PyrunConfig
from pyrun_docs.doctest_flags import apply, parse_directive, site_flags
from pyrun_docs.errors import OptionError, PyrunError
from pyrun_docs.executor import DEFAULT_FLAGS, FLAGS
from pyrun_docs.options import parse_options
from pyrun_docs.site_config import read_site_config
from pyrun_docs.snippet import Snippet

SPHINX_DEFAULT = doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL | doctest.DONT_ACCEPT_TRUE_FOR_1


def test_the_ports_flag_values_are_doctests() -> None:
    assert FLAGS == doctest.OPTIONFLAGS_BY_NAME
    assert site_flags(SPHINX_DEFAULT) == tuple(sorted(DEFAULT_FLAGS, key=FLAGS.__getitem__))


def test_site_flags_take_names_text_or_an_int() -> None:
    assert site_flags(None) == DEFAULT_FLAGS
    assert site_flags(["ellipsis", "doctest.SKIP"]) == ("ELLIPSIS", "SKIP")
    assert site_flags("NORMALIZE_WHITESPACE, ELLIPSIS") == ("NORMALIZE_WHITESPACE", "ELLIPSIS")
    assert site_flags(doctest.NORMALIZE_WHITESPACE) == ("NORMALIZE_WHITESPACE",)
    assert site_flags(0) == ()
    for bad, fragment in ((["ELIPSIS"], "'ELIPSIS' is not a doctest option flag"),
                          (1 << 20, "bits no doctest flag uses"), (True, "list of doctest")):  # fmt: skip
        with pytest.raises(PyrunError, match=re.escape(fragment)):
            site_flags(bad)


def test_the_options_option_adjusts_the_site_flags() -> None:
    options = parse_options({"options": "+NORMALIZE_WHITESPACE, -ELLIPSIS"})
    assert options.flags == (("NORMALIZE_WHITESPACE", True), ("ELLIPSIS", False))
    snippet = Snippet(">>> 1\n1\n", "p.rst", 1, "p", 0, options)
    assert transcript_flags(snippet, PyrunConfig()) == (
        "IGNORE_EXCEPTION_DETAIL", "DONT_ACCEPT_TRUE_FOR_1", "NORMALIZE_WHITESPACE")  # fmt: skip
    assert apply(("SKIP",), (("SKIP", False), ("SKIP", True))) == ("SKIP",)  # the last one wins
    for bad in ("ELLIPSIS", "+NOPE", "", "+"):
        with pytest.raises(OptionError):
            parse_directive(bad)
    with pytest.raises(OptionError, match="option 'options'"):
        parse_options({"options": "+NOPE"})


def test_the_site_flags_are_part_of_the_cache_key() -> None:
    snippet = Snippet(">>> 1\n1\n", "p.rst", 1, "p", 0)
    keys = {
        cache_key(snippet, [snippet], engine="e", packages=(), flags=flags)
        for flags in (DEFAULT_FLAGS, ("ELLIPSIS",), ())
    }
    assert len(keys) == 3


def test_the_check_judges_with_the_site_and_snippet_flags(
    runtime_cache: Path, tmp_path: Path
) -> None:
    page = (
        "P\n=\n\n.. pyrun::\n\n   >>> print('a  b')\n   a b\n\n"
        ".. pyrun::\n   :options: -NORMALIZE_WHITESPACE\n\n   >>> print('a  b')\n   a b\n\n"
        ".. pyrun::\n\n   >>> print('abc')\n   a...\n"
    )
    errors: list[PyrunError] = []
    snippets = scan_text(page, "docs/p.rst", page="p", errors=errors)
    config = PyrunConfig(doctest_flags=["NORMALIZE_WHITESPACE"])
    report = run_check({"p": snippets}, config, cache_dir=check_dir(tmp_path), progress=False)
    assert [r.status for r in report.results] == [Status.PASSED, Status.FAILED, Status.FAILED]
    assert report.results[2].exception == "OutputMismatch"  # no ELLIPSIS in this site's flags


def _flags_in(html: str) -> list[str]:
    return re.findall(r'data-flags="([^"]*)"', html)


TRANSCRIPT_RST = "T\n=\n\n.. pyrun::\n\n   >>> 1 + 1\n   2\n"


def test_sphinx_uses_doctest_default_flags_when_the_doctest_extension_is_loaded(
    make_root: Callable[..., Path], runtime_cache: Path
) -> None:
    conf = (ROOTS / "basic" / "conf.py").read_text()
    own = conf + 'pyrun_doctest_flags = ["SKIP"]\n'
    src = make_root("basic", **{"conf.py": own, "t.rst": TRANSCRIPT_RST})
    build = sphinx_build(src, src.parent / "own")
    assert build.status == 0, build.stderr
    assert _flags_in(build.read("t.html")) == ["SKIP"]

    with_doctest = conf.replace(
        '"pyrun_docs.sphinx_ext"]', '"pyrun_docs.sphinx_ext", "sphinx.ext.doctest"]'
    )
    with_doctest += "import doctest\ndoctest_default_flags = doctest.ELLIPSIS | doctest.SKIP\n"
    with_doctest += 'pyrun_doctest_flags = ["NORMALIZE_WHITESPACE"]\n'
    (src / "conf.py").write_text(with_doctest)
    build = sphinx_build(src, src.parent / "doctest", "html", "-E")
    assert build.status == 0, build.stderr
    assert _flags_in(build.read("t.html")) == ["ELLIPSIS SKIP"]
    # the check without a build reads conf.py the same way
    assert read_site_config(src / "conf.py").config.transcript_flags == ("ELLIPSIS", "SKIP")

    (src / "conf.py").write_text(conf + 'pyrun_doctest_flags = ["ELIPSIS"]\n')
    build = sphinx_build(src, src.parent / "bad", "html", "-E")
    assert build.status == 0 and "Traceback" not in build.stderr
    assert "'ELIPSIS' is not a doctest option flag" in build.stderr
    assert "[pyrun.config]" in build.stderr
    assert _flags_in(build.read("t.html")) == [" ".join(DEFAULT_FLAGS)]


def test_mkdocs_doctest_flags(tmp_path: Path, runtime_cache: Path) -> None:
    import shutil

    root = tmp_path / "mk"
    shutil.copytree(ROOTS / "mkdocs", root)
    (root / "docs" / "index.md").write_text("# T\n\n```pyrun\n>>> 1 + 1\n2\n```\n")
    yml = (root / "mkdocs.yml").read_text()
    (root / "mkdocs.yml").write_text(
        yml.replace("  - pyrun:\n", "  - pyrun:\n      doctest_flags: [ELLIPSIS, SKIP]\n")
    )
    build = mkdocs_build(root)
    assert build.status == 0, build.output
    assert _flags_in(build.read("index.html")) == ["ELLIPSIS SKIP"]
    assert read_site_config(root / "mkdocs.yml").config.transcript_flags == ("ELLIPSIS", "SKIP")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "pyproject.toml",
            '[tool.pytest.ini_options]\ndoctest_optionflags = "NORMALIZE_WHITESPACE NUMBER"\n',
        ),
        ("pyproject.toml", '[tool.pytest]\ndoctest_optionflags = ["NORMALIZE_WHITESPACE"]\n'),
        ("pytest.ini", "[pytest]\ndoctest_optionflags = NORMALIZE_WHITESPACE\n"),
        ("tox.ini", "[tox]\n[pytest]\ndoctest_optionflags =\n    NORMALIZE_WHITESPACE\n"),
        ("setup.cfg", "[tool:pytest]\ndoctest_optionflags = NORMALIZE_WHITESPACE ALLOW_UNICODE\n"),
    ],
)
def test_pytest_flags_are_read_where_pytest_reads_them(
    tmp_path: Path, name: str, text: str
) -> None:
    """A Markdown site's examples are its project's pytest doctests: xsdata sets
    NORMALIZE_WHITESPACE in pyproject.toml, and 29 of its examples failed here "in CPython too".
    pytest's own flags (NUMBER, ALLOW_UNICODE) are not doctest's and are left out."""
    from pyrun_docs.doctest_flags import pytest_flags

    (tmp_path / name).write_text(text)
    (tmp_path / "docs").mkdir()
    assert pytest_flags(tmp_path / "docs") == ("NORMALIZE_WHITESPACE",)


def test_pytest_flags_from_the_first_pytest_configuration_only(tmp_path: Path) -> None:
    from pyrun_docs.doctest_flags import pytest_flags

    (tmp_path / "setup.cfg").write_text("[tool:pytest]\ndoctest_optionflags = ELLIPSIS\n")
    (tmp_path / "sub").mkdir()
    assert pytest_flags(tmp_path / "sub") == ("ELLIPSIS",)
    (tmp_path / "sub" / "tox.ini").write_text("[tox]\nenvlist = py\n")  # no [pytest]: looked past
    assert pytest_flags(tmp_path / "sub") == ("ELLIPSIS",)
    (tmp_path / "sub" / "pytest.ini").write_text("[pytest]\naddopts = -q\n")  # pytest's, no flags
    assert pytest_flags(tmp_path / "sub") is None


@pytest.mark.parametrize("port", [False, True], ids=["doctest", "port"])
def test_a_flag_the_host_names_is_registered_where_the_examples_run(port: bool) -> None:
    """A flag of the project's own, which the build's Python knows (its conf.py registered it),
    is unknown where the examples run: ``-NAME`` registers it there without setting it, a plain
    name (a site flag) registers and sets it; without either the example is "invalid"."""
    import json

    from test_executor import run_coroutine

    from pyrun_docs import executor as executor_module
    from pyrun_docs.executor import Executor

    own = ("PYRUN_TEST_HOST_FLAG", "PYRUN_TEST_SITE_FLAG")
    run = Executor(lambda text: None, port=port).run_transcript
    transcript = ">>> 1 + 1  # doctest: +PYRUN_TEST_HOST_FLAG\n2\n"

    def ok(flags: str) -> bool:
        return bool(json.loads(run_coroutine(run(transcript, flags=flags)))["ok"])

    try:
        assert not ok("ELLIPSIS")  # the test can fail
        assert ok("ELLIPSIS -PYRUN_TEST_HOST_FLAG")
        assert ok("PYRUN_TEST_SITE_FLAG -PYRUN_TEST_HOST_FLAG")
        assert {"PYRUN_TEST_HOST_FLAG", "PYRUN_TEST_SITE_FLAG"} <= set(executor_module._REGISTERED)
    finally:
        for name in own:
            executor_module._REGISTERED.pop(name, None)
            doctest.OPTIONFLAGS_BY_NAME.pop(name, None)
