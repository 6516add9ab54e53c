"""What the check decides, written into the built pages afterwards (MkDocs).

MkDocs writes every page before ``on_post_build``, where the check runs; so the check's verdicts
reach the written pages afterwards, through beautifulsoup4, which finds each widget by its id:

* an upgraded fence the check keeps static (``upgrade_failing: static``) becomes the fence as the
  author wrote it again, highlighted as the theme highlights code, with a note saying why;
* a snippet that passed gets the output the check captured under its code (``output:
  verified``), shown before any Run and without JavaScript.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from pyrun_docs.upgrade import UpgradedFence


def write_verdicts(
    page: Path,
    static: dict[int, tuple[UpgradedFence | str, str, bool]],
    outputs: dict[int, str],
) -> None:
    """Apply the check's verdicts to the written *page*, read and written once: each widget
    ``pyrun-INDEX`` in *static* becomes what it was (a fence, or the original HTML of a docstring
    example mkdocstrings rendered) with the note, and stays after it, hidden, when it still runs
    in its place in its session (``runs_hidden``: the third item); each in *outputs* gets that
    verified output block (HTML) under its code."""
    from bs4 import BeautifulSoup

    if not (static or outputs) or not page.is_file():
        return
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    changed = False
    for index, (fence, reason, runs) in static.items():
        widget = soup.find("py-repl", id=f"pyrun-{index}")
        if widget is None:
            continue
        wrapper = widget.find_parent("div", class_="pyrun-widget") or widget
        if isinstance(fence, str):
            note = html.escape(reason)
            original = f'{fence}<p class="pyrun-static-note">{note}</p>'
        else:
            original = plain_block(fence, reason)
        wrapper.insert_before(BeautifulSoup(original, "html.parser"))
        if runs:  # hidden, run in its place in its session, as the check ran it
            wrapper["hidden"] = ""
            widget["data-hidden"] = ""
            widget["data-in-order"] = ""
        else:
            wrapper.decompose()
        changed = True
    for index, block in outputs.items():
        widget = soup.find("py-repl", id=f"pyrun-{index}")
        if widget is None:
            continue
        documented = widget.find("div", class_="pyrun-documented")  # the outputs as written
        if documented is not None:
            documented.replace_with(BeautifulSoup(block, "html.parser"))
            changed = True
            continue
        code = widget.find("div", class_="pyrun-code")
        if code is None or widget.find("div", class_="pyrun-verified") is not None:
            continue
        code.insert_after(BeautifulSoup(block, "html.parser"))
        changed = True
    if changed:
        page.write_text(str(soup), encoding="utf-8")


def plain_block(fence: UpgradedFence, note_text: str) -> str:
    """The fence as a highlighted code block (as pymdownx.highlight writes one) and the note."""
    language = fence.language or "text"  # a fence without one, as pymdownx.highlight shows it
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    code = highlight(fence.code.rstrip("\n") + "\n", lexer, HtmlFormatter(nowrap=True))
    note = html.escape(note_text)
    # its title, as pymdownx.highlight writes one (mkdocs-material shows it as the caption), in
    # the one highlight box (Pygments' own wrapper inside it parted title and code by a gap)
    title = f'<span class="filename">{html.escape(fence.title)}</span>' if fence.title else ""
    return (
        f'<div class="language-{html.escape(language)} highlight">{title}'
        f"<pre><span></span><code>{code}</code></pre></div>"
        f'<p class="pyrun-static-note">{note}</p>'
    )


#: a widget's start tag, its id among its attributes in any order (a page that went through
#: BeautifulSoup, with docstring widgets, has them sorted: ``class`` first; no Download menu
#: was added to any of its widgets)
_WIDGET_START = re.compile(r'<py-repl\b[^>]*?\sid="pyrun-(\d+)"')


def insert_into_widgets(page_html: str, fragments: dict[int, str]) -> str:
    """*page_html* with ``fragments[index]`` put at the end of widget ``pyrun-INDEX`` (before its
    ``</py-repl>``): a string edit, as the page is still being rendered (no parse needed). One
    pass over the page, the pieces joined once: an edit per widget copied the whole page each
    time (a page of 400 widgets: 0.3 s)."""
    ends: list[tuple[int, str]] = []
    left = dict(fragments)
    for match in _WIDGET_START.finditer(page_html):
        fragment = left.pop(int(match.group(1)), None)
        if fragment is None:
            continue
        end = page_html.find("</py-repl>", match.end())
        if end >= 0:
            ends.append((end, fragment))
    pieces: list[str] = []
    done = 0
    for end, fragment in sorted(ends):
        pieces += [page_html[done:end], fragment]
        done = end
    pieces.append(page_html[done:])
    return "".join(pieces)
