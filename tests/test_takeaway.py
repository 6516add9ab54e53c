"""The take-away files, made from snippets directly: what each ``.py`` runs and prints under
CPython, and what each notebook holds (the built-site tests are in test_verified_output.py)."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from pyrun_docs.config import PyrunConfig
from pyrun_docs.options import SnippetOptions
from pyrun_docs.outputs import Recorded
from pyrun_docs.sessions import session_members
from pyrun_docs.snippet import Snippet
from pyrun_docs.takeaway import notebook_name, page_files, script_name


def snippet(index: int, code: str, **options: object) -> Snippet:
    return Snippet(
        code=code, path="docs/page.rst", line=10 * index + 1, page="guide/page", index=index,
        options=SnippetOptions(**options),  # type: ignore[arg-type]
    )  # fmt: skip


def run(tmp_path: Path, text: str) -> str:
    path = tmp_path / "example.py"
    path.write_text(text)
    proc = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_names_follow_the_page() -> None:
    assert script_name("guide/page", 2) == "page-example-3.py"
    assert script_name("guide/page.md", 0) == "page-example-1.py"
    assert notebook_name("guide/page.md") == "page.ipynb"
    assert notebook_name("index") == "index.ipynb"


def test_a_docstring_example_runs_in_its_module(tmp_path: Path) -> None:
    """``module``: the example saw its module's names (doctest's finder), so the script does."""
    page = [snippet(0, ">>> dumps([1, None])\n'[1, null]'\n", module="json", session="d")]
    files = page_files(page, PyrunConfig(), title="Page")
    assert run(tmp_path, files.scripts[0]) == "'[1, null]'\n"


def test_later_blocks_of_a_docstring_keep_the_names_the_earlier_bound(tmp_path: Path) -> None:
    """A docstring's later block sees the names its earlier blocks bound over the module's own
    (babel's ``from datetime import datetime`` where babel/dates.py has ``import datetime``):
    its script and notebook brought the module's globals in again before it, and 57 of babel's
    scripts failed in CPython where the check and the widgets passed. Another docstring's
    block gets the module's names again, as the check gives them."""
    same = {"module": "json", "session": "page", "docstring": "json.dumps"}
    page = [
        snippet(0, ">>> codecs = 'bound in the docstring'\n", **same),
        snippet(1, ">>> codecs\n'bound in the docstring'\n", **same),
        snippet(2, ">>> codecs.__name__\n'codecs'\n", **{**same, "docstring": "json.loads"}),
    ]
    files = page_files(page, PyrunConfig(), title="Page")
    assert run(tmp_path, files.scripts[1]) == "'bound in the docstring'\n"
    assert run(tmp_path, files.scripts[2]).endswith("'codecs'\n")
    cells = [c.source for c in nbformat.reads(files.notebook or "", as_version=4).cells]
    first, second = (next(c for c in cells if c.endswith(end)) for end in ("docstring'", "codecs"))
    assert run(tmp_path, f"{first}\n{second}\nprint(codecs)\n") == "bound in the docstring\n"


def test_values_are_printed_as_the_widget_shows_them(tmp_path: Path) -> None:
    page = [
        snippet(0, "x = 5\nx * 2\n"),
        snippet(1, "print('no value twice')\n"),
        snippet(2, "None\n"),
        snippet(3, ">>> for i in range(2):\n...     i\n0\n1\n>>> 'a'\n'a'\n"),
        snippet(4, "if True:\n    y = 1\ny + 1  # a comment\n"),
    ]
    scripts = page_files(page, PyrunConfig(), title="Page").scripts
    assert run(tmp_path, scripts[0]) == "10\n"
    assert run(tmp_path, scripts[1]) == "no value twice\n"
    assert run(tmp_path, scripts[2]) == ""  # None shows nothing
    # the prompt shows every expression's value, also in a loop's body (netaddr's tutorial)
    assert run(tmp_path, scripts[3]) == "0\n1\n'a'\n"
    assert run(tmp_path, scripts[4]) == "2\n"


def test_a_session_script_runs_setup_and_earlier_snippets_first(tmp_path: Path) -> None:
    page = [
        snippet(0, "items = []\n", session="s"),
        snippet(1, "items.append(1)\n", session="s"),
        snippet(2, "n = 10\n", session="s", hidden=True),
        snippet(3, "print(len(items), n)\n", session="s"),
        snippet(4, "print('alone')\n"),
    ]
    files = page_files(page, PyrunConfig(), title="Page")
    assert sorted(files.scripts) == [0, 1, 3, 4]  # hidden setup has no script of its own
    assert run(tmp_path, files.scripts[3]) == "1 10\n"
    assert "items" not in files.scripts[4]
    notebook = nbformat.reads(files.notebook or "", as_version=4)
    nbformat.validate(notebook)
    # the order a reader running each widget top to bottom runs them: setup before the session
    assert [cell.id for cell in notebook.cells[1:]] == [f"pyrun-{i}" for i in (2, 0, 1, 3, 4)]


def test_a_transcript_script_goes_on_after_an_expected_exception(tmp_path: Path) -> None:
    """As doctest runs a transcript: an example whose docs show its exception shows it and the
    script goes on (it stopped there with a traceback: the later examples never ran); one
    doctest skips is left as a comment (it ran: an undefined name)."""
    code = (
        '>>> int("x")\nTraceback (most recent call last):\n  ...\nValueError: bad\n'
        '>>> # then a number\n>>> int("42")\n42\n>>> expensive()  # doctest: +SKIP\n'
        '>>> import json\n>>> json.loads("{")\nTraceback (most recent call last):\n'
        "json.decoder.JSONDecodeError: Expecting property name\n"
    )
    files = page_files([snippet(0, code, session="s")], PyrunConfig(), title="Page")
    # named as a traceback names them (funcparserlib's NoParseError lost its module)
    assert run(tmp_path, files.scripts[0]) == (
        "ValueError: invalid literal for int() with base 10: 'x'\n42\n"
        "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)\n"
    )
    assert '# then a number\n_show(int("42"))' in files.scripts[0]  # its comment, in place
    # a bare tuple is one value (``_show(a, b)`` was a TypeError)
    files = page_files(
        [snippet(0, ">>> a, b = 1, 2\n>>> a, b\n(1, 2)\n")], PyrunConfig(), title="P"
    )
    assert run(tmp_path, files.scripts[0]) == "(1, 2)\n"


def test_an_earlier_example_failing_in_the_docs_does_not_end_a_later_script(
    tmp_path: Path,
) -> None:
    """The check found it failing (a docs bug): the page runs it hidden and goes on, so a later
    example's script, which runs it first, goes on too (bitmath: all 15 later scripts stopped
    with a NameError, and a SyntaxError stopped a whole file before anything ran). Its own
    script runs it as written; its notebook cells are tagged so Run All goes on."""
    page = [
        snippet(0, ">>> base = 40\n>>> total = base + missing\n>>> base\n40\n", session="s"),
        snippet(1, ">>> if True\n...     base = 0\n", session="s"),
        snippet(2, "print(undefined_too)\n", session="s"),
        snippet(3, ">>> base + 2\n42\n", session="s"),
    ]
    files = page_files(page, PyrunConfig(), title="P", failed=lambda s: s.index < 3)
    assert run(tmp_path, files.scripts[3]) == (
        "NameError: name 'missing' is not defined\n40\n"
        "NameError: name 'undefined_too' is not defined\n42\n"
    )
    assert "# does not parse" in files.scripts[3]
    assert "try:" not in files.scripts[0]  # its own script: as written
    cells = json.loads(files.notebook or "")["cells"][1:]
    tags = [cell["metadata"].get("tags") for cell in cells]
    assert tags == [["raises-exception"]] * 5 + [None]  # three cells of 0, one each of 1 and 2
    # nothing failed: no guard anywhere
    plain = page_files(page[:1] + page[3:], PyrunConfig(), title="P")
    assert "try:" not in plain.scripts[3]


def test_a_testcode_script_shows_what_doctest_shows(tmp_path: Path) -> None:
    """A ``testcode`` block shows what it prints, not its last value (the scripts printed a
    pyparsing expression's repr shown nowhere on the page); one whose ``testoutput`` is its
    exception goes on after it: every later script of the session runs it first, and 46 of
    pyparsing's 109 died there. Its notebook cell is tagged so Run All goes on too."""
    from dataclasses import replace

    raising = replace(
        snippet(0, 'value = int("x")\n', session="s"),
        expected="Traceback (most recent call last):\n  ...\nValueError: bad\n",
    )
    printing = replace(snippet(1, "print(2)\nvalue = 3\nvalue\n", session="s"), expected="2\n")
    files = page_files([raising, printing], PyrunConfig(), title="Page")
    assert run(tmp_path, files.scripts[1]) == (
        "ValueError: invalid literal for int() with base 10: 'x'\n2\n"
    )
    cells = json.loads(files.notebook or "")["cells"][1:]
    assert [cell["metadata"].get("tags") for cell in cells] == [["raises-exception"], None]


def test_notebook_cells_carry_the_outputs_given() -> None:
    page = [snippet(0, "print('hi')\n"), snippet(1, ">>> 1 + 1\n2\n")]
    shown = {
        0: Recorded(({"stream": "stdout", "text": "hi\n"},)),
        1: Recorded(
            ({"stream": "echo", "text": ">>> 1 + 1\n"}, {"stream": "stdout", "text": "2\n"})
        ),
    }
    files = page_files(page, PyrunConfig(), title="Page", shown=lambda s: shown[s.index])
    document = json.loads(files.notebook or "")
    nbformat.validate(nbformat.from_dict(document))
    cells = document["cells"][1:]
    assert cells[0]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
    assert cells[1]["source"] == "1 + 1"  # prompts gone; the echo is not an output
    assert cells[1]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "2\n"}]


def test_each_snippet_is_made_script_code_once_a_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of one session (a Sphinx page of doctest blocks) repeats every earlier snippet in
    each script; making each snippet's code again for each later script was quadratic (60
    transcripts: 0.6 s a page). The scripts are the same as when each is made on its own."""
    from pyrun_docs import takeaway

    page = [snippet(i, f">>> x{i} = {i}\n>>> x{i} + 1\n{i + 1}\n", session="s") for i in range(30)]
    page.insert(0, snippet(30, "import math\n", session="s", hidden=True))
    alone = {s.index: takeaway.script(session_members(s, page, PyrunConfig()), title="P")
             for s in page if not s.options.hidden}  # fmt: skip
    made: list[int] = []
    original = takeaway._code_of

    def counted(s: Snippet, guarded: bool = False, continued: bool = False) -> str:
        made.append(s.index)
        return original(s, guarded, continued)

    monkeypatch.setattr(takeaway, "_code_of", counted)
    scripts = takeaway.page_scripts(page, PyrunConfig(), title="P")
    assert scripts == alone
    assert sorted(made) == sorted(s.index for s in page)


TRANSCRIPT = """\
>>> x = [3, 1, 2]
>>> # sorted, it reads
>>> sorted(x)
[1, 2, 3]
>>> for i in x[:2]:
...     print(i)
3
1
>>> int("x")
Traceback (most recent call last):
  ...
ValueError: invalid literal for int() with base 10: 'x'
>>> import this_module_is_missing  # doctest: +SKIP
>>> len(x)
3
"""


def console_view(code: str) -> Recorded:
    """What the check records for transcript *code*: this Python runs it through the executor
    the check and the browser run, its examples echoed after their prompts."""
    import asyncio
    import concurrent.futures

    from pyrun_docs.executor import Executor
    from pyrun_docs.outputs import record

    messages: list[dict[str, object]] = []
    executor = Executor(lambda text: messages.append(json.loads(text)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # no running loop there
        result = json.loads(
            pool.submit(asyncio.run, executor.run_transcript(code, echo=True)).result()
        )
    assert result["ok"], result
    return record(messages)


def run_cell(source: str, namespace: dict[str, object]) -> str:
    """What a Python kernel shows for a cell: what it prints, then its last expression's repr."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
            if value is not None:
                print(repr(value))
    return out.getvalue()


def test_a_transcript_is_a_notebook_cell_per_example() -> None:
    """Each ``>>>`` example is its own cell, as a notebook user types it, with the output the
    check saw after its prompt: one cell of every statement showed only the last value when run
    again, and an expected exception (tagged ``raises-exception``) stopped Run All there. Run
    All, as a kernel runs cells (each statement's value shown), gives every cell its output."""
    page = [snippet(0, TRANSCRIPT)]
    recorded = console_view(TRANSCRIPT)
    document = json.loads(
        page_files(page, PyrunConfig(), title="P", shown=lambda s: recorded).notebook or ""
    )
    nbformat.validate(nbformat.from_dict(document))
    cells = document["cells"][1:]
    assert [cell["source"] for cell in cells] == [
        "x = [3, 1, 2]",
        "# sorted, it reads\nsorted(x)",  # a comment-only prompt leads the next cell
        "for i in x[:2]:\n    print(i)",
        'int("x")',
        "# doctest skips this example:\n# import this_module_is_missing  # doctest: +SKIP",
        "len(x)",
    ]
    assert len({cell["id"] for cell in cells}) == len(cells)
    lines = [cell["metadata"]["pyrun"]["source"] for cell in cells]
    assert lines[:4] == [f"docs/page.rst:{n}" for n in (1, 3, 5, 9)]  # each example's own line
    tagged = [
        cell["source"] for cell in cells if "raises-exception" in cell["metadata"].get("tags", [])
    ]
    assert tagged == ['int("x")']
    namespace: dict[str, object] = {}
    for cell in cells:  # Run All
        stored = "".join(output["text"] for output in cell["outputs"])
        try:
            shown = run_cell(cell["source"], namespace)
        except Exception as error:
            assert "raises-exception" in cell["metadata"].get("tags", []), cell["source"]
            assert stored.endswith(f"{type(error).__name__}: {error}\n")
        else:
            assert shown == stored, cell["source"]
    assert cells[1]["outputs"][0]["text"] == "[1, 2, 3]\n"  # the run above compared something


def test_a_failed_transcript_is_cells_without_outputs() -> None:
    """Nothing verified (a failing or static transcript): the same cells, no output to show."""
    document = json.loads(
        page_files([snippet(0, TRANSCRIPT)], PyrunConfig(), title="P").notebook or ""
    )
    cells = document["cells"][1:]
    assert len(cells) == 6 and all(cell["outputs"] == [] for cell in cells)


def test_a_transcript_doctest_cannot_parse_is_taken_away_as_written(tmp_path: Path) -> None:
    """The check reports such a transcript at its bad line; making its files crashed the
    Sphinx build (a ValueError from doctest's parser) for a ``pyrun`` directive holding one."""
    files = page_files([snippet(0, ">>> a = 1\n>>>b = 2\n")], PyrunConfig(), title="P")
    assert "a = 1" in files.scripts[0]
    cells = json.loads(files.notebook or "")["cells"][1:]
    assert [cell["id"] for cell in cells] == ["pyrun-0"]


def test_a_notebook_cell_shows_every_value_the_prompt_shows() -> None:
    """The prompt shows each expression statement's value, also in a loop's body or before the
    last statement; a kernel shows only a cell's last one (netaddr's ``for ...: str(oui)``
    cell showed nothing when run again). Those call ``_show``, defined by a hidden cell that
    comes before the first snippet needing it; a cell whose only value is its last stays as it is."""
    code = (
        ">>> x = [3, 1]\n>>> x\n[3, 1]\n>>> for i in x:\n...     i * 10\n30\n10\n"
        ">>> x[0]; x[1]\n3\n1\n"
    )
    recorded = console_view(code)
    document = json.loads(
        page_files([snippet(0, code)], PyrunConfig(), title="P", shown=lambda s: recorded).notebook
        or ""
    )
    nbformat.validate(nbformat.from_dict(document))
    cells = document["cells"][1:]
    assert [cell["id"] for cell in cells][:3] == ["pyrun-show", "pyrun-0", "pyrun-0-2"]
    assert cells[0]["metadata"]["jupyter"] == {"source_hidden": True}
    assert cells[2]["source"] == "x"
    assert cells[3]["source"] == "for i in x:\n    _show(i * 10)"
    namespace: dict[str, object] = {}
    shown = [run_cell(cell["source"], namespace) for cell in cells]  # Run All
    stored = ["".join(output["text"] for output in cell["outputs"]) for cell in cells]
    assert shown == stored
    assert shown[3:] == ["30\n10\n", "3\n1\n"]


def test_a_notebook_needing_no_helper_has_none() -> None:
    document = json.loads(
        page_files([snippet(0, TRANSCRIPT)], PyrunConfig(), title="P").notebook or ""
    )
    assert "pyrun-show" not in [cell["id"] for cell in document["cells"]]


def test_a_docstring_of_an_installed_package_is_named_by_its_path_in_the_package() -> None:
    """The take-away files named a docstring example of an installed package by the build
    machine's path (``/home/docs/.../site-packages/packaging/version.py:7``: 105 of packaging's
    109 scripts); they name it by its path in the package; the docs' own pages stay relative."""
    installed = "/home/docs/venv/lib/python3.12/site-packages/packaging/version.py"
    page = [
        snippet(0, ">>> 1\n1\n", session="s", module="json"),
        snippet(1, ">>> 2\n2\n", session="s", module="json"),
    ]
    page[0] = Snippet(
        code=page[0].code, path=installed, line=7, page="guide/page", index=0,
        options=page[0].options,
    )  # fmt: skip
    files = page_files(page, PyrunConfig(), title="Page")
    text = files.scripts[1] + (files.notebook or "")
    assert "/home/docs" not in text and "site-packages" not in text, text
    assert "(packaging/version.py:7)" in files.scripts[1]
    assert "(docs/page.rst:11)" in files.scripts[1]  # as written, relative
    # a package installed elsewhere (``pip install --target``): from its module's folder on
    target = replace(page[0], path="/srv/build/site/tinymod/__init__.py")
    target = replace(target, options=replace(target.options, module="tinymod"))
    files = page_files([target, page[1]], PyrunConfig(), title="Page")
    assert "(tinymod/__init__.py:7)" in files.scripts[1], files.scripts[1]


def test_a_script_names_what_it_imports_beyond_the_standard_library() -> None:
    """The header said "Runs as is with CPython"; it stopped at ``from shapes import Rect``
    where the project was not installed, without a word of it: it names what must import."""
    page = [snippet(0, "import json\nprint(json.dumps(1))\n"), snippet(1, "import inflection\n")]
    scripts = page_files(page, PyrunConfig(), title="Page").scripts
    assert "# Runs as is with CPython: python this_file.py" in scripts[0]
    assert "# Runs with CPython where inflection can be imported" in scripts[1], scripts[1]
    docstring = snippet(0, ">>> 1\n1\n", module="shapes.rect", session="s")
    script = page_files([docstring], PyrunConfig(), title="Page").scripts[0]
    assert "where shapes can be imported" in script, script


def test_text_between_examples_leads_the_next_cell_as_a_comment() -> None:
    """A ``doctest`` block telling its story between examples (transaction's): the text leads
    the next example's cell as a comment, as the console view shows it; no blank-line cells."""
    code = ">>> x = 1\n\nWe now add one, an important step:\n\n>>> x + 1\n2\n"
    page = [snippet(0, code)]
    recorded = console_view(code)
    document = json.loads(
        page_files(page, PyrunConfig(), title="P", shown=lambda s: recorded).notebook or ""
    )
    cells = document["cells"][1:]
    assert [cell["source"] for cell in cells] == [
        "x = 1",
        "# We now add one, an important step:\nx + 1",
    ]
    assert cells[1]["outputs"][0]["text"] == "2\n"
