"""``pyrun-docs check PATH...``: exit codes, reports, annotations, setup errors."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import check_dir

from pyrun_docs.cli import main


def write_docs(root: Path, *, failing: bool) -> Path:
    token = uuid.uuid4().hex
    docs = root / "docs"
    docs.mkdir()
    bad = "\n.. pyrun::\n\n   values = []\n   print(sum(values) / len(values))\n" if failing else ""
    (docs / "index.rst").write_text(
        f"Index\n=====\n\n.. pyrun::\n   :session: s\n\n   # {token}\n   x = 2\n"
        f"\n.. pyrun::\n   :session: s\n\n   print(x * 21)\n{bad}",
        encoding="utf-8",
    )
    (docs / "guide.md").write_text(
        f'# Guide\n\n```pyrun title="MkDocs style"\n# {token}\nprint("md")\n```\n\n'
        f"```{{pyrun}}\n:check: skip\n\nimport urllib.request\n```\n",
        encoding="utf-8",
    )
    return docs


def test_failure_exits_1_with_reports(
    runtime_cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # paths are shown relative to the working directory
    docs = write_docs(tmp_path, failing=True)
    cache = check_dir(tmp_path)
    report_json, junit = tmp_path / "out" / "check.json", tmp_path / "out" / "junit.xml"
    status = main(
        ["check", str(docs), "--json", str(report_json), "--junit-xml", str(junit),
         "--cache-dir", str(cache), "-q"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 1
    failing_line = 18  # "print(sum(values) / len(values))"
    assert (
        f"{Path('docs', 'index.rst')}:{failing_line}: failed: ZeroDivisionError: division by zero"
        in out
    )
    assert "1 failed: 5 snippets on 2 pages" in out
    data = json.loads(report_json.read_text(encoding="utf-8"))
    assert data["counts"]["passed"] == 3 and data["counts"]["skipped"] == 1
    assert data["counts"]["failed"] == 1
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "1" and root.get("tests") == "5"


def test_all_passed_exits_0_and_annotates_nothing(
    runtime_cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = write_docs(tmp_path, failing=False)
    cache = check_dir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["check", str(docs), "--cache-dir", str(cache), "-q", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "passed, 1 skipped" in out and "::error" not in out
    # the same tree again, as a real process: answered from the cache
    proc = subprocess.run(
        [sys.executable, "-m", "pyrun_docs", "check", str(docs), "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "0 interpreters started" in proc.stdout
    assert "pyrun check [" in proc.stderr  # progress goes to stderr, plain in a pipe


def test_option_errors_exit_1_and_annotate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "page.rst").write_text(
        "Page\n====\n\n.. pyrun::\n   :sesion: s\n   :check: skip\n\n   x = 1\n", encoding="utf-8"
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "docs", "--cache-dir", str(tmp_path / "c"), "-q"]) == 1
    captured = capsys.readouterr()
    everything = (captured.out + captured.err).replace("\\", "/")
    # printed once, counted as an error of that snippet (not "all passed" beside exit status 1)
    assert everything.count("unknown option 'sesion'") == 2  # the summary and the annotation
    assert "docs/page.rst:4: error: unknown option 'sesion'" in captured.out.replace("\\", "/")
    assert "all passed" not in everything and "1 error: 1 snippet on 1 page" in captured.out
    assert "::error file=" in captured.out and ",line=4," in captured.out


def test_problems_are_counted_and_printed_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snippets with option problems and unreadable files are errors in the summary, the JSON
    and the exit status, each printed once; a fence that did not become a snippet too."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "page.rst").write_text(
        "Page\n====\n\n.. pyrun::\n   :check: skip\n   :colour: red\n\n   x = 1\n"
        "\n.. pyrun::\n   :check: skip\n\n   y = 2\n",
        encoding="utf-8",
    )
    (docs / "latin1.rst").write_bytes("Title\n=====\n\nCaf\xe9\n".encode("latin-1"))
    (docs / "fences.md").write_text(
        '# F\n\n```pyrun check="skip" "stray\nprint(1)\n```\n\n```pyrun check="skip"\nz = 3\n```\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    out_json = tmp_path / "r.json"
    assert (
        main(["check", "docs", "--cache-dir", str(tmp_path / "c"), "-q", "--json", str(out_json)])
        == 1
    )
    captured = capsys.readouterr()
    out = captured.out.replace("\\", "/")
    assert out.count("unknown option 'colour'") == 1 and "colour" not in captured.err
    assert "docs/page.rst:4: error: unknown option 'colour'" in out
    assert out.count("cannot read the file") == 1
    # the line of the first byte that is not UTF-8, and what to do
    assert "docs/latin1.rst:4: error: cannot read the file: it is not UTF-8 (byte 0xe9" in out
    assert "save it as UTF-8" in out
    # a header token nothing reads is left out (as the MkDocs plugin does), the fence kept
    assert out.count("docs/fences.md:3: error: cannot read '\"stray' in the fence header") == 1
    assert "all passed" not in out
    assert "3 errors: 5 snippets on 3 pages" in out
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["ok"] is False
    assert data["counts"]["error"] == 3 and data["counts"]["skipped"] == 2


def test_unreadable_site_config_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A conf.py that fails stops the check (exit 2) naming the file and the exception: the
    defaults would quietly check against another copy of the project."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.rst").write_text(".. pyrun::\n   :check: skip\n\n   x = 1\n", encoding="utf-8")
    (docs / "conf.py").write_text("import not_installed_here\npyrun_project = '..'\n")
    assert main(["check", str(docs), "--cache-dir", str(tmp_path / "c"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "conf.py:1: could not run conf.py (ModuleNotFoundError" in err
    assert "--no-config" in err and "all passed" not in err
    (docs / "conf.py").unlink()
    (tmp_path / "mkdocs.yml").write_text("plugins:\n  - pyrun: {timeout: [\n")
    (tmp_path / ".git").mkdir()
    assert main(["check", str(docs), "--cache-dir", str(tmp_path / "c"), "-q"]) == 2
    assert "mkdocs.yml: could not read it (" in capsys.readouterr().err
    # --no-config is the way out
    assert main(["check", str(docs), "--cache-dir", str(tmp_path / "c"), "-q", "--no-config"]) == 0


def test_usage_and_setup_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["check", str(tmp_path / "missing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["check", str(tmp_path), "--timeout", "0"])
    assert info.value.code == 2
    capsys.readouterr()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.rst").write_text(f".. pyrun::\n\n   # {uuid.uuid4().hex}\n", encoding="utf-8")
    monkeypatch.setenv("PYRUN_DOCS_NODE", str(tmp_path / "no-node"))
    assert main(["check", str(docs), "--no-cache", "-q"]) == 2
    err = capsys.readouterr().err
    assert "PYRUN_DOCS_NODE=" in err and "names no usable Node.js" in err, err
    # a setup error does not hide the problems already found in the sources
    (docs / "b.rst").write_text(f".. pyrun::\n   :colour: red\n\n   # {uuid.uuid4().hex}\n")
    assert main(["check", str(docs), "--no-cache", "-q"]) == 2
    err = capsys.readouterr().err
    assert "b.rst:1: error: unknown option 'colour'" in err and "no usable Node.js" in err


def test_harness_ships_in_the_wheel(tmp_path: Path) -> None:
    import zipfile

    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(root)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    names = set(zipfile.ZipFile(next(tmp_path.glob("pyrun_docs-*.whl"))).namelist())
    assert "pyrun_docs/check/harness.mjs" in names
    assert "pyrun_docs/check/__init__.py" in names and "pyrun_docs/check/scan.py" in names


@pytest.mark.parametrize("thread", [False, True])
def test_the_command_ends_without_teardown_yet_runs_exit_handlers(thread: bool) -> None:
    """The ``pyrun-docs`` command ends its process once done (no teardown of the interpreter),
    yet with its exit status, its output flushed and the exit handlers run; a thread still
    working is waited for, as at a normal exit."""
    script = (
        "import atexit, sys, threading, time\n"
        "atexit.register(lambda: print('handler ran', flush=True))\n"
        "if sys.argv[1] == 'thread':\n"
        "    threading.Thread(target=lambda: (time.sleep(0.3), print('thread done'))).start()\n"
        "print('buffered', end='')\n"  # not flushed by print
        "sys.argv = ['pyrun-docs', 'check', '/nonexistent/docs']\n"
        "from pyrun_docs.cli import run\n"
        "run()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "thread" if thread else "none"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "no such file or directory" in proc.stderr
    assert proc.stdout.startswith("buffered") and "handler ran" in proc.stdout
    assert ("thread done" in proc.stdout) is thread


@pytest.mark.parametrize("config", ["conf.py", "mkdocs.yml"])
def test_the_site_configuration_as_path_checks_its_pages(
    runtime_cache: Path, tmp_path: Path, config: str
) -> None:
    """``pyrun-docs check docs/conf.py`` or ``pyrun-docs check mkdocs.yml`` checks that site's
    pages (it found no snippet in the file itself)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    token = uuid.uuid4().hex
    if config == "conf.py":
        (docs / "conf.py").write_text('extensions = ["pyrun_docs.sphinx_ext"]\n')
        (docs / "index.rst").write_text(f"Index\n=====\n\n.. pyrun::\n\n   print({token!r})\n")
        path = docs / "conf.py"
    else:
        (tmp_path / "mkdocs.yml").write_text(
            "site_name: Site\nmarkdown_extensions:\n  - pymdownx.superfences\nplugins:\n  - pyrun\n"
        )
        (docs / "index.md").write_text(f"# Index\n\n```pyrun\nprint({token!r})\n```\n")
        path = tmp_path / "mkdocs.yml"
    out = tmp_path / "report.json"
    assert main(["check", str(path), "--json", str(out), "--cache-dir", str(check_dir(tmp_path)),
                 "-q"]) == 0  # fmt: skip
    results = json.loads(out.read_text())["results"]
    assert [(Path(r["path"]).name, r["status"]) for r in results] == [
        ("index.rst" if config == "conf.py" else "index.md", "passed")
    ]


def checked_json(config: Path, tmp_path: Path) -> tuple[int, list[dict[str, Any]]]:
    """``pyrun-docs check CONFIG`` with a JSON report: its exit code and its results."""
    out = tmp_path / "report.json"
    cache = str(check_dir(tmp_path))
    code = main(["check", str(config), "--json", str(out), "--cache-dir", cache, "-q"])
    return code, json.loads(out.read_text())["results"]


def test_an_mkdocs_check_reads_the_pages_its_build_reads(
    runtime_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``docs_dir`` names the pages' folder (the check looked in ``docs/``: "no such file or
    directory"), and a page ``exclude_docs`` or MkDocs itself leaves out of the site
    (``/templates/``, hidden names) is no page to check (the check failed on a draft the build
    never published)."""
    pages = tmp_path / "site-docs"
    failing = "```pycon\n>>> 1 + 1\n3\n```\n"
    for name in ("drafts/wip.md", "templates/t.md", ".hidden/h.md", "notes.tmp.md"):
        (pages / name).parent.mkdir(parents=True, exist_ok=True)
        (pages / name).write_text(f"# Left out\n\n{failing}")
    (pages / "index.md").write_text("# Home\n\n```pycon\n>>> 1 + 1\n2\n```\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: S\ndocs_dir: site-docs\nexclude_docs: |\n  drafts/\n  *.tmp.md\n"
        "markdown_extensions:\n  - pymdownx.superfences\n"
        "plugins:\n  - pyrun:\n      upgrade: [doctest]\n"
    )
    code, results = checked_json(tmp_path / "mkdocs.yml", tmp_path)
    assert code == 0, capsys.readouterr()
    assert [(Path(r["path"]).name, r["status"]) for r in results] == [("index.md", "passed")]


def test_an_mkdocs_check_reads_every_language_of_an_i18n_site(
    runtime_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mkdocs-static-i18n builds the site once per language; the check, reading the site
    through MkDocs (a mkdocstrings page), kept only the last language's pages: the default
    language's failing example was never checked, and the check passed (pyserde's docs/en)."""
    (tmp_path / "i18nmod.py").write_text('"""A module.\n\n>>> 1 + 1\n2\n"""\n')
    for folder, text in {"api": "# API\n\n::: i18nmod\n", "en": "# En\n\n```pycon\n>>> 1 + 1\n3\n```\n",
                         "fr": "# Fr\n\n```pycon\n>>> 2 + 2\n4\n```\n"}.items():  # fmt: skip
        (tmp_path / "docs" / folder).mkdir(parents=True)
        (tmp_path / "docs" / folder / "index.md").write_text(text)
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: S\nmarkdown_extensions:\n  - pymdownx.superfences\nplugins:\n"
        "  - i18n:\n      docs_structure: folder\n      languages:\n"
        "        - {locale: en, default: true, name: English, build: true}\n"
        "        - {locale: fr, name: Francais, build: true}\n"
        "  - mkdocstrings:\n      handlers:\n        python:\n          paths: [.]\n"
        "  - pyrun:\n      upgrade: [doctest]\n      path: [.]\n"
    )
    code, results = checked_json(tmp_path / "mkdocs.yml", tmp_path)
    found = sorted((Path(r["path"]).parent.name, r["status"]) for r in results)
    assert ("en", "failed") in found and ("fr", "passed") in found, (found, capsys.readouterr())
    assert code == 1
    # another site checked next in this process: only its own pages (MkDocs may hand it the
    # same plugin object, and the pages added up across builds came along)
    other = tmp_path / "other"
    (other / "docs").mkdir(parents=True)
    (other / "docs" / "index.md").write_text("# O\n\n```pycon\n>>> 3 + 3\n6\n```\n")
    (other / "docs" / "api.md").write_text("# API\n\n::: i18nmod\n")  # read with MkDocs
    (other / "mkdocs.yml").write_text(
        "site_name: O\nmarkdown_extensions:\n  - pymdownx.superfences\nplugins:\n"
        f"  - mkdocstrings:\n      handlers:\n        python:\n          paths: [{tmp_path}]\n"
        f"  - pyrun:\n      upgrade: [doctest]\n      path: [{tmp_path}]\n"
    )
    code, results = checked_json(other / "mkdocs.yml", other)
    assert [(Path(r["path"]).parent.name, r["status"]) for r in results] == [("docs", "passed")]
    assert code == 0


def test_an_mkdocs_configuration_of_another_name_is_the_one_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pyrun-docs check mkdocs-pyrun.yml`` takes that file's settings (it took ``mkdocs.yml``
    beside it, without the upgrade, and said "no pyrun snippets", exit 0)."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\n```pycon\n>>> 1 + 1\n3\n```\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: Plain\n")
    (tmp_path / "mkdocs-pyrun.yml").write_text(
        "site_name: Checked\nmarkdown_extensions:\n  - pymdownx.superfences\n"
        "plugins:\n  - pyrun:\n      upgrade: [doctest]\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["check", "mkdocs-pyrun.yml", "--cache-dir", str(check_dir(tmp_path))]) == 1
    out, err = capsys.readouterr()
    assert "settings from mkdocs-pyrun.yml" in err and "docs/index.md:4: failed" in out, out
