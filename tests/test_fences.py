"""Reading ```` ```pyrun ```` fences from Markdown source, as SuperFences would (and where it would not)."""

from __future__ import annotations

from pyrun_docs.fences import (
    find_fences,
    normalize_flags,
    parse_attrs,
    parse_header,
    readable_headers,
    swallowed_fences,
)
from pyrun_docs.upgrade import upgrade_markdown

PAGE = """\
# Title

```pyrun session="intro" hidden
import math
```

!!! note
    ```{.pyrun session="a" title="x y" #anchor}
    print(2)
        nested
    ```

=== "Tab"

    ```pyrun session=intro
    x
    ```

````markdown
```pyrun
not a snippet: inside another fence
```
````
"""


def test_find_fences_lines_options_and_code() -> None:
    fences = find_fences(PAGE)
    assert [f.line for f in fences] == [3, 8, 15]
    assert fences[0].options == {"session": "intro", "hidden": None}
    assert fences[0].code == "import math"
    assert fences[1].options == {"session": "a", "title": "x y"}
    assert fences[1].code == "print(2)\n    nested"
    assert fences[1].code_line == 9
    # unquoted: read, and given to SuperFences quoted (it drops the whole fence otherwise)
    assert fences[2].options == {"session": "intro"} and not fences[2].errors
    assert fences[2].header == '    ```pyrun session="intro"'
    assert fences[0].header is None  # readable as written


def test_header_and_attribute_errors() -> None:
    assert parse_header('a="1" b') == ({"a": "1", "b": None}, [])
    assert parse_header("x=y") == ({"x": "y"}, [])
    opts, errors = parse_header('a="1" "stray')
    assert opts == {"a": "1"} and "cannot read" in errors[0] and "left out" in errors[0]
    opts, errors = parse_attrs('.pyrun k="v" "stray')
    assert opts == {"k": "v"} and "cannot read" in errors[0]


def test_superfences_flag_form_is_normalised() -> None:
    assert normalize_flags({"hidden": "hidden", "session": "s"}) == {"hidden": None, "session": "s"}


def test_readable_headers_keep_lines() -> None:
    """What SuperFences is given: every header it could not read, rewritten in place (also in an
    HTML comment: SuperFences renders fences before Markdown sees the comment)."""
    text = (
        "```pyrun session=intro emphasize-lines=3 hidden\nprint(1)\n```\n"
        "<!--\n```pyrun\nin_a_comment = 1\n```\n-->\n"
        '```pyrun title=\'say "hi"\' "stray\ny = 2\n```\n'
    )
    fences = find_fences(text)
    assert [f.line for f in fences] == [1, 5, 9]
    rewritten = readable_headers(text).split("\n")
    assert len(rewritten) == len(text.split("\n"))
    assert rewritten[0] == '```pyrun session="intro" emphasize_lines="3" hidden'
    assert rewritten[8] == "```pyrun title='say \"hi\"'"
    assert "cannot read" in fences[2].errors[0]
    assert rewritten[4] == "```pyrun"  # readable as written
    assert readable_headers('```pyrun a="1"\nx\n```\n') == '```pyrun a="1"\nx\n```\n'


def test_a_header_superfences_cannot_read_swallows_the_next_pyrun_fence() -> None:
    """SuperFences reads ```` ```python emphasize-lines="2" ```` as text, so its closing line
    opens a block holding the next pyrun fence: no snippet there, and a message saying why."""
    text = (
        '```python emphasize-lines="2"\nx = 1\n```\n\ntext\n\n```pyrun\nlost = 1\n```\n\n'
        '```pyrun\nkept = 1\n```\n\n```python linenums="1" title="a b"\nfine = 1\n```\n'
    )
    assert [f.code for f in find_fences(text)] == ["kept = 1"]
    ((line, message),) = swallowed_fences(text)
    assert line == 7 and message.startswith("the fence header at line 1 is not one SuperFences")
    assert "line 3, opens a code block" in message


def test_a_fence_never_closed_swallows_the_rest_and_an_upgrade_leaves_it_as_written() -> None:
    """plum-dispatch's MyST ````{admonition}: SuperFences reads that header as text, so its
    closing ```` opens a block to the end of the page. A pyrun fence there is said to be lost;
    an example the upgrade would make one stays as written (the page showed the rewritten
    ```pyrun session="default" header as text) and is reported, not dropped without a word."""
    text = (
        "````{admonition} Note\n```python\na = 1\n```\n````\n\n"
        "```pyrun\nlost = 1\n```\n\n```python\n>>> 1 + 1\n3\n```\n"
    )
    ((line, why),) = swallowed_fences(text)
    assert line == 7 and why.startswith("the fence at line 5 is never closed")
    rewritten, upgraded, problems = upgrade_markdown(text, ["doctest"])
    assert rewritten.endswith("```python\n>>> 1 + 1\n3\n```\n") and 11 not in upgraded
    assert problems == [(11, f"SuperFences does not read it as a fence: {why}")]
    closed = "```python\n>>> 1 + 1\n2\n```\n"  # nothing around it: upgraded as before
    assert upgrade_markdown(closed, ["doctest"])[0].startswith('```pyrun session="default"')


def test_markdown_extension_hands_superfences_readable_headers() -> None:
    """Without the MkDocs plugin (Zensical), the Markdown extension does the same rewrite."""
    import markdown
    from pyrun_docs.mkdocs_plugin import fence

    text = '```pyrun session=intro emphasize-lines="1"\nx = 1\n```\n\nAfter.\n'
    extensions: list[object] = ["pymdownx.superfences"]
    configs = {
        "pymdownx.superfences": {
            "custom_fences": [
                {
                    "name": "pyrun",
                    "class": "pyrun",
                    "validator": fence.validator,
                    "format": fence.formatter,
                }
            ]
        },
        "pyrun_docs.mkdocs_plugin.extension": {"upgrade": []},
    }
    without = markdown.markdown(text, extensions=extensions, extension_configs=configs)
    assert "<py-repl" not in without  # SuperFences alone: the header is text
    extensions.append("pyrun_docs.mkdocs_plugin.extension")
    html = markdown.markdown(text, extensions=extensions, extension_configs=configs)
    assert 'data-session="intro"' in html and 'data-emphasize-lines="1"' in html
    assert "<p>After.</p>" in html
