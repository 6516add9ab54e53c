"""The kept read of a Sphinx project (``pyrun_docs.read_memo``): used while nothing it read
changed, read again on any change, and never losing a page's option problems.

Why it matters: ``pyrun-docs check`` on an unchanged ``pyrun_upgrade`` project must not start
Sphinx (that alone cost more than the rest of the check), and it must still say exactly what a
fresh read would.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import pytest
from pyrun_docs.sphinx_ext.collect import collect

from pyrun_docs.cli import main
from pyrun_docs.read_memo import ProjectRead, ReadMemo, plain_values, project_memo
from pyrun_docs.site_config import read_site_config

CONF = """\
import os, sys
sys.path.insert(0, os.path.abspath("."))
extensions = ["pyrun_docs.sphinx_ext", "sphinx.ext.autodoc"]
pyrun_upgrade = ["doctest"]
pyrun_check = "off"
version = os.environ.get("MEMO_TEST_VERSION", "1.0")
"""

INDEX = """\
Index
=====

.. toctree::

   guide
   api

>>> 1 + 1
2
"""

GUIDE = """\
Guide
=====

>>> print("guide")
guide
"""

API = """\
API
===

.. automodule:: MODULE_NAME
   :members:
"""

MODULE = '''\
def double(x):
    """Twice *x*.

    >>> double(2)
    4
    """
    return 2 * x
'''


def age(root: Path) -> None:
    """Every file and folder under *root* last changed a minute ago (a memo is only kept for
    files older than the read, as after any real edit)."""
    past = time.time() - 60
    for folder, _, files in os.walk(root):
        for name in files:
            os.utime(Path(folder, name), (past, past))
        os.utime(folder, (past, past))


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project documenting a module of its own, named anew for each test: Sphinx caches module
    analyses by name for the life of the process (the command's process reads once)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    module = f"memomod_{uuid.uuid4().hex}"
    for name, text in {
        "conf.py": CONF,
        "index.rst": INDEX,
        "guide.rst": GUIDE,
        "api.rst": API.replace("MODULE_NAME", module),
        f"{module}.py": MODULE,
    }.items():
        (docs / name).write_text(text, encoding="utf-8")
    age(tmp_path)
    return docs


def read(docs: Path, cache: Path) -> tuple[ProjectRead, bool]:
    """(what the check gets, whether Sphinx read the project), as ``pyrun-docs check`` does it
    (in a process of its own: nothing imported by an earlier read)."""
    from sphinx.pycode import ModuleAnalyzer

    for name in [m for m in sys.modules if m.startswith("memomod_")]:
        del sys.modules[name]
    ModuleAnalyzer.cache.clear()
    site = read_site_config(docs / "conf.py")
    memo = project_memo(cache, docs, site.digest, tools=("sphinx", "docutils"))
    assert memo is not None
    kept = memo.load()
    if isinstance(kept, ProjectRead):
        return kept, False
    return collect(docs, cache, memo), True


def codes(found: ProjectRead) -> dict[str, list[str]]:
    return {page: [s.source.strip() for s in snippets] for page, snippets in found.pages.items()}


def test_an_unchanged_project_is_not_read_again_and_gives_the_same_snippets(
    project: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first, did_read = read(project, cache)
    assert did_read
    assert set(first.pages) == {"index", "guide", "api"}
    second, did_read = read(project, cache)
    assert not did_read
    assert codes(second) == codes(first)
    assert second.sources == first.sources
    assert [(s.path, s.line) for s in second.pages["api"]] == [
        (s.path, s.line) for s in first.pages["api"]
    ]


@pytest.mark.parametrize(
    "change",
    [
        "edit a page",
        "add a page",
        "delete a page",
        "edit the documented module",
        "edit conf.py",
        "another working folder",  # its paths are relative to the folder the command runs in
    ],
)
def test_any_change_a_read_depends_on_reads_again(
    project: Path, tmp_path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    cache = tmp_path / "cache"
    read(project, cache)
    if change == "edit a page":
        (project / "guide.rst").write_text(GUIDE.replace("guide", "edited"), encoding="utf-8")
    elif change == "add a page":
        (project / "extra.rst").write_text("Extra\n=====\n\n>>> 3\n3\n", encoding="utf-8")
    elif change == "delete a page":
        (project / "guide.rst").unlink()
    elif change == "edit the documented module":
        (module,) = project.glob("memomod_*.py")
        module.write_text(MODULE.replace("double(2)", "double(5)"), "utf-8")
    elif change == "another working folder":
        os.chdir(tmp_path)
    else:
        (project / "conf.py").write_text(CONF + "pyrun_upgrade_exclude = []\n", "utf-8")
    found, did_read = read(project, cache)
    assert did_read, change
    seen = "\n".join(code for page in codes(found).values() for code in page)
    if change == "edit a page":
        assert "edited" in seen
    elif change == "add a page":
        assert "extra" in found.pages
    elif change == "delete a page":
        assert "guide" not in found.pages
    elif change == "edit the documented module":
        assert "double(5)" in seen
    elif change == "another working folder":  # Sphinx's kept environment too (its unchanged
        # pages kept the first folder's paths)
        paths = {s.path for page in found.pages.values() for s in page}
        assert paths and all(Path(p).is_file() for p in paths), paths


def test_a_conf_value_from_the_environment_is_part_of_the_key(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    read(project, cache)
    monkeypatch.setenv("MEMO_TEST_VERSION", "2.0")  # conf.py's text is unchanged
    assert read(project, cache)[1]


#: a conf.py whose extension edits guide.rst while Sphinx reads index.rst (after guide.rst), once
#: for each ``edit-while-reading`` file there
EDITING_CONF = """
_here = os.path.dirname(os.path.abspath(__file__))


def _edit(app, docname, source):
    marker = os.path.join(_here, "edit-while-reading")
    if docname == "index" and os.path.exists(marker):
        os.remove(marker)
        with open(os.path.join(_here, "guide.rst"), "a", encoding="utf-8") as guide:
            guide.write(">>> 'edited'\\n'edited'\\n")


def setup(app):
    app.connect("source-read", _edit)
"""


def test_a_file_changed_during_the_read_is_not_trusted(project: Path, tmp_path: Path) -> None:
    """A page edited while Sphinx reads the project (after it was read) keeps nothing: what was
    read is older than the file. A file changed just before the read, and not during it, is
    kept (its bytes when the pages began to be read are its bytes at the end)."""
    (project / "conf.py").write_text(CONF + EDITING_CONF, encoding="utf-8")
    (project / "edit-while-reading").write_text("", encoding="utf-8")
    age(project)
    cache = tmp_path / "cache"
    first, did_read = read(project, cache)
    assert did_read and "edited" not in "".join(codes(first)["guide"])
    second, did_read = read(project, cache)  # nothing was kept
    assert did_read and "edited" in "".join(codes(second)["guide"])
    os.utime(project / "guide.rst")  # "now", just before the next read, and not during it
    assert not read(project, cache)[1]


def test_a_damaged_memo_reads_again(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    read(project, cache)
    (kept,) = cache.rglob("memo.pickle")
    kept.write_bytes(kept.read_bytes()[:-10])
    found, did_read = read(project, cache)
    assert did_read
    assert "api" in found.pages


def test_option_problems_of_pages_sphinx_did_not_read_again_are_kept(
    project: Path, tmp_path: Path
) -> None:
    """Sphinx warns only about the pages it reads; a bad option on an unchanged page is still an
    error on the next check, after another page changed."""
    (project / "guide.rst").write_text(
        GUIDE + "\n.. pyrun::\n   :bogus: 1\n\n   print(2)\n", encoding="utf-8"
    )
    age(project)
    cache = tmp_path / "cache"
    first, _ = read(project, cache)
    assert any("bogus" in p.message for p in first.problems)
    (project / "index.rst").write_text(INDEX + "\n>>> 2 + 2\n4\n", encoding="utf-8")
    age(project)
    second, did_read = read(project, cache)
    assert did_read
    assert [str(p) for p in second.problems] == [str(p) for p in first.problems]
    third, did_read = read(project, cache)
    assert not did_read
    assert [str(p) for p in third.problems] == [str(p) for p in first.problems]
    assert (third.problems[0].location or "").endswith("guide.rst:7")


def test_the_command_keeps_counting_a_bad_option_on_an_unchanged_project(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "guide.rst").write_text(
        "Guide\n=====\n\n.. pyrun::\n   :check: skip\n   :bogus: 1\n\n   print(2)\n",
        encoding="utf-8",
    )
    (project / "index.rst").write_text("Index\n=====\n\n.. toctree::\n\n   guide\n", "utf-8")
    (project / "api.rst").unlink()
    age(project)
    cache = tmp_path / "cache"
    args = ["check", str(project), "--cache-dir", str(cache), "-q"]
    for attempt in ("read by Sphinx", "kept"):
        assert main(args) == 1, attempt
        out, err = capsys.readouterr()
        assert "unknown option 'bogus'" in out + err, attempt
        assert "reading the project with Sphinx" in err if attempt == "read by Sphinx" else True
    assert "reading the project with Sphinx" not in err


def test_plain_values_leave_objects_out_and_sort_sets() -> None:
    one = plain_values({"a": {"x", "y", "z"}, "f": len, "os": os, "n": [1, (2, "3")]})
    two = plain_values({"n": [1, (2, "3")], "a": {"z", "y", "x"}})
    assert one == two
    assert plain_values({"a": 1}) != plain_values({"a": 2})


def test_a_memo_with_another_key_is_not_used(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    page = pages / "page.rst"
    page.write_text("x", encoding="utf-8")
    age(pages)
    assert ReadMemo(tmp_path / "m", "one").save({"v": 1}, [page, pages], time.time())
    assert ReadMemo(tmp_path / "m", "one").load() == {"v": 1}
    assert ReadMemo(tmp_path / "m", "two").load() is None


def test_the_read_keeps_the_spare_the_command_started(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pyrun-docs check`` starts a spare harness before Sphinx reads a changed project; the
    read (a build with the check off) must not stop it, or the first page pays its own start."""
    stopped: list[int] = []
    monkeypatch.setattr("pyrun_docs.check.spare.discard", lambda: stopped.append(1))
    monkeypatch.setattr("pyrun_docs.sphinx_ext.check.discard_spare", lambda: stopped.append(1))
    conf = project / "conf.py"
    conf.write_text(CONF.replace('pyrun_check = "off"', 'pyrun_check = "warn"'), encoding="utf-8")
    read = collect(project, tmp_path / "cache", None)
    assert read.pages and stopped == []


#: a conf.py that writes an included file on every build (more-itertools' converts its README)
GENERATING_CONF = """
_here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(_here, "_build"), exist_ok=True)
with open(os.path.join(_here, "notes.txt"), encoding="utf-8") as _source:
    with open(os.path.join(_here, "_build", "notes.inc"), "w", encoding="utf-8") as _out:
        _out.write(_source.read())
"""


def test_a_file_conf_py_writes_again_on_every_build_keeps_the_memo(
    project: Path, tmp_path: Path
) -> None:
    """A file that ``conf.py`` writes again on every build (with the same bytes) does not make
    every check read the project again (a second check of more-itertools took 1.3 s instead of
    0.2 s); when what it writes changes, the project is read again."""
    (project / "conf.py").write_text(CONF + GENERATING_CONF, encoding="utf-8")
    (project / "notes.txt").write_text("Notes:\n\n>>> 40 + 2\n42\n", encoding="utf-8")
    (project / "guide.rst").write_text(GUIDE + "\n.. include:: _build/notes.inc\n", "utf-8")
    age(project)
    cache = tmp_path / "cache"
    first, did_read = read(project, cache)
    assert did_read and any("40 + 2" in code for code in codes(first)["guide"])
    second, did_read = read(project, cache)  # conf.py ran (and wrote notes.inc) before the lookup
    assert not did_read
    assert codes(second) == codes(first)
    (project / "notes.txt").write_text("Notes:\n\n>>> 40 + 3\n43\n", encoding="utf-8")
    third, did_read = read(project, cache)
    assert did_read and any("40 + 3" in code for code in codes(third)["guide"])


def test_a_page_sphinx_reads_on_every_build_says_why_each_check_reads(
    project: Path, tmp_path: Path
) -> None:
    """A toctree naming a missing page makes Sphinx read that page on every build, so no read
    can be kept: each check started Sphinx (Pint's unchanged tree took 30-41 s) and nothing said
    why. The check's output names the page and what to do."""
    index = project / "index.rst"
    index.write_text(INDEX.replace("   api\n", "   api\n   missing\n"), encoding="utf-8")
    age(project.parent)
    cache = tmp_path / "cache"
    for _ in range(2):
        found, sphinx_read = read(project, cache)
        assert sphinx_read  # read again: nothing could be kept
        assert f"Sphinx reads {index} again on every build" in found.warnings, found.warnings
        assert "fix those warnings" in found.warnings
    index.write_text(INDEX, encoding="utf-8")  # fixed: kept, and nothing said
    age(project.parent)
    found, sphinx_read = read(project, cache)
    assert sphinx_read and "again on every build" not in found.warnings
    assert read(project, cache)[1] is False
