"""The ``<py-repl>`` HTML contract, pinned by snapshots.

Set ``PYRUN_UPDATE_SNAPSHOTS=1`` to rewrite the files under ``tests/snapshots/`` after an intended
change, then review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup

from pyrun_docs.config import PyrunConfig
from pyrun_docs.errors import PyrunError
from pyrun_docs.options import SnippetOptions, parse_options
from pyrun_docs.outputs import Recorded
from pyrun_docs.render import page_config, page_config_json, render_snippet, verified_output
from pyrun_docs.runtime import load_pins
from pyrun_docs.snippet import Snippet

SNAPSHOTS = Path(__file__).parent / "snapshots"


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("PYRUN_UPDATE_SNAPSHOTS") or not path.exists():
        if os.environ.get("CI") and not path.exists():
            pytest.fail(f"snapshot {path} is missing; generate it locally and commit it")
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def snippet(code: str, **raw: str | None) -> Snippet:
    return Snippet(
        code=code, path="docs/a.rst", line=5, page="a", index=2, options=parse_options(raw)
    )


def test_basic_widget_snapshot() -> None:
    html = render_snippet(
        snippet("import math\nprint(math.sqrt(2))\n", session="intro"), PyrunConfig()
    )
    check_snapshot("basic.html", html)
    assert html.startswith('<div class="pyrun-widget"><py-repl id="pyrun-2" class="pyrun"')
    assert 'data-session="intro"' in html
    assert 'class="highlight"' in html


def test_options_widget_snapshot() -> None:
    html = render_snippet(
        snippet(
            "x = 1\ny = 2\nprint(x + y)\n",
            caption="Sum <b>",
            linenos=None,
            **{"emphasize-lines": "2"},
            readonly=None,
            raises="ValueError",
            packages="numpy attrs",
        ),
        PyrunConfig(),
        ids=["my-target"],
    )
    check_snapshot("options.html", html)
    assert '<span id="my-target"></span>' in html
    assert "Sum &lt;b&gt;" in html  # captions are escaped
    assert 'class="hll"' in html  # emphasized line
    assert "data-readonly" in html and "data-linenos" in html
    assert 'data-packages="numpy attrs"' in html


def test_code_is_escaped_and_visible_without_javascript() -> None:
    html = render_snippet(snippet('print("<script>alert(1)</script>")\n'), PyrunConfig())
    assert "<script>alert" not in html
    text = re.sub(r"<[^>]+>", "", html)
    assert 'print("&lt;script&gt;alert(1)&lt;/script&gt;")' in text


def test_hidden_snippet_is_collapsed() -> None:
    html = render_snippet(snippet("x = 1\n", hidden=None, session="s"), PyrunConfig())
    assert html.startswith('<div class="pyrun-widget"><details class="pyrun-setup">')
    assert "data-hidden" in html


def test_transcript_is_shown_without_prompts() -> None:
    html = render_snippet(snippet(">>> 1 + 1\n2\n"), PyrunConfig())
    code = str(BeautifulSoup(html, "html.parser").select_one(".pyrun-code"))
    text = re.sub(r"<[^>]+>", "", code)
    assert "1 + 1" in text and ">>>" not in text and "&gt;&gt;&gt;" not in text
    assert "data-transcript" in html


def test_doctest_directive_comments_are_not_shown_unless_asked() -> None:
    """Sphinx hides a transcript's ``# doctest: +FLAG`` comments (``trim_doctest_flags``); the
    widget showed them in its code and its verified output's echo. The transcript it runs keeps
    them, so the browser judges it as the check does."""
    code = ">>> print(list(range(9)))  # doctest: +ELLIPSIS\n[0, 1, ..., 8]\n"
    snippet = Snippet(code, "p.rst", 3, "p", 0, SnippetOptions(), origin="upgrade")
    shown = Recorded(({"stream": "echo", "text": ">>> print(list(range(9)))  # doctest: +ELLIPSIS\n"},
                      {"stream": "stdout", "text": "[0, 1, 2, 3, 4, 5, 6, 7, 8]\n"}))  # fmt: skip
    result = SimpleNamespace(status=SimpleNamespace(value="passed"), shown=shown)
    for trim in (True, False):
        config = PyrunConfig(trim_doctest_flags=trim)
        html = render_snippet(snippet, config)
        code_text = BeautifulSoup(html, "html.parser").select_one(".pyrun-code").get_text()
        verified = verified_output(snippet, result, config)
        assert verified is not None
        assert ("doctest:" in code_text) is not trim, code_text
        assert ("doctest:" in verified.items[0]["text"]) is not trim, verified
        assert ("data-trim-flags" in html) is trim
        assert "# doctest: +ELLIPSIS" in BeautifulSoup(html, "html.parser").select_one(
            "py-repl"
        ).get("data-transcript")


def test_a_transcripts_emphasized_lines_are_its_codes() -> None:
    """``hl_lines="4"`` on a ``pycon`` fence means ``>>> len(x)``, the code's third line once its
    outputs are gone: the widget highlighted its line 4 (nothing), an output line none."""
    code = ">>> x = [1, 2]\n>>> x\n[1, 2]\n>>> len(x)\n2\n"
    options = SnippetOptions(emphasize_lines=(3, 4))
    html = render_snippet(Snippet(code, "p.md", 1, "p", 0, options), PyrunConfig())
    assert 'data-emphasize-lines="3"' in html
    marked = BeautifulSoup(html, "html.parser").select(".pyrun-code .hll")
    assert [m.get_text().strip() for m in marked] == ["len(x)"], marked


def test_page_config_reads_the_pin() -> None:
    cfg = page_config(PyrunConfig())
    pin = load_pins()["pyodide"]
    rt = cfg["runtimes"]["pyodide"]
    assert rt["version"] == pin.version
    assert rt["base"] == f"pyodide-{pin.version}/"
    assert rt["files"] == {f.name: f.sri for f in pin.served_files()}
    cdn = page_config(PyrunConfig(runtime_source="cdn"))["runtimes"]
    assert cdn["pyodide"]["base"] == f"https://cdn.jsdelivr.net/pyodide/v{pin.version}/full/"
    micro = load_pins()["micropython"]
    assert cdn["micropython"]["base"] == (
        f"https://cdn.jsdelivr.net/npm/{micro.package}@{micro.version}/"
    )
    assert cdn["micropython"]["files"] == {f.name: f.sri for f in micro.served_files()}


def test_cdn_urls_are_checked() -> None:
    for name in ("cdn_url", "micropython_cdn_url"):
        with pytest.raises(PyrunError, match=name):
            PyrunConfig(runtime_source="cdn", **{name: "ftp://x/{version}/"}).validate()


def test_page_config_json_is_script_safe() -> None:
    text = page_config_json(
        PyrunConfig(runtime_source="cdn", cdn_url="https://x.example/</script>/{version}/")
    )
    assert "</script>" not in text
    assert json.loads(text)["runtimes"]["pyodide"]["base"].startswith("https://x.example/</script>")


def test_page_config_snapshot_setting_and_build_id() -> None:
    pin = load_pins()["pyodide"]
    cfg = page_config(PyrunConfig())
    assert cfg["snapshot"] == "browser"
    assert cfg["runtimes"]["pyodide"]["buildId"] == pin.build_id
    assert page_config(PyrunConfig(snapshot="off"))["snapshot"] == "off"
    config, errors = PyrunConfig.from_mapping_lenient({"snapshot": "always"}, prefix="pyrun_")
    assert config.snapshot == "browser"
    assert "pyrun_snapshot = 'always' is invalid: use one of browser, off, site" in str(errors[0])


LINES_CODE = "a, b = 0, 1\nfor _ in range(10):\n    a, b = b, a + b\n    print(a)\n"


def _lines_view(html: str) -> dict[str, list[str]]:
    """What a reader gets from highlighted code: the text (numbers where they sit, indentation),
    which lines are emphasized (with their number inside the emphasis), and the numbers."""
    from bs4 import BeautifulSoup

    pre = BeautifulSoup(html, "html.parser").select_one("div.highlight pre")
    assert pre is not None
    return {
        "text": pre.get_text().splitlines(),
        "emphasized": [hll.get_text() for hll in pre.select(".hll")],
        "numbers": [n.get_text() for n in pre.select(".linenos")],
        # the number's parent: the emphasis (hll) or a plain line, never a block of its own
        "number_in": [
            "hll" if "hll" in (n.parent.get("class") or []) else "line"  # type: ignore[union-attr]
            for n in pre.select(".linenos")
        ],
    }


@pytest.mark.parametrize("linenos", [False, True])
@pytest.mark.parametrize("emphasize", [None, "3", "1,3-4"])
@pytest.mark.parametrize("start", [None, "9", "98"])
@pytest.mark.parametrize("dedent", [False, True])
def test_lines_match_sphinx_code_block(
    linenos: bool, emphasize: str | None, start: str | None, dedent: bool
) -> None:
    """Numbers, emphasis and indentation are Sphinx's code-block's, for every combination of
    linenos, emphasize-lines, lineno-start and dedent (issue 20: an emphasized line lost its
    number and indentation)."""
    from sphinx.highlighting import PygmentsBridge
    from sphinx.util import parselinenos

    raw: dict[str, str | None] = {}
    if linenos:
        raw["linenos"] = None
    if emphasize:
        raw["emphasize-lines"] = emphasize
    if start:
        raw["lineno-start"] = start
    if dedent:
        raw["dedent"] = None
    html = render_snippet(snippet(LINES_CODE, **raw), PyrunConfig())
    # what Sphinx's HTML writer does for `.. code-block::` with the same options
    hl_lines = [i + 1 for i in parselinenos(emphasize, 4)] if emphasize else []
    args: dict[str, object] = {"hl_lines": hl_lines} if hl_lines else {}
    if start:
        args["linenostart"] = int(start)
    sphinx_html = PygmentsBridge("html").highlight_block(
        LINES_CODE, "python", linenos="inline" if linenos or start else False, **args
    )
    assert _lines_view(html) == _lines_view(sphinx_html)
    # the line spans the widget marks a traceback's line with stay the snippet's own numbering
    assert [f"pyrun-2-line-{n}" in html for n in (1, 4)] == [True, True]
    assert ("data-linenos" in html) == bool(linenos or start)
    assert ('data-lineno-start="' in html) == (start is not None)


def test_dedent_that_would_cut_code_is_refused() -> None:
    from pyrun_docs.errors import OptionError

    with pytest.raises(OptionError, match="would cut code"):
        parse_options({"dedent": "4"})
    assert parse_options({"dedent": "0"}).dedent == 0
