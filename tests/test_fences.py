"""Reading ```` ```pyrun ```` fences from Markdown source, as SuperFences would (and where it would not)."""

from __future__ import annotations

from pyrun_docs.fences import find_fences, normalize_flags, parse_attrs, parse_header

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
    assert fences[2].errors and 'write session="intro"' in fences[2].errors[0]


def test_header_and_attribute_errors() -> None:
    assert parse_header('a="1" b') == ({"a": "1", "b": None}, [])
    opts, errors = parse_header("x=y")
    assert opts == {} and "must be quoted" in errors[0]
    opts, errors = parse_attrs('.pyrun k="v" "stray')
    assert opts == {"k": "v"} and "cannot read" in errors[0]


def test_superfences_flag_form_is_normalised() -> None:
    assert normalize_flags({"hidden": "hidden", "session": "s"}) == {"hidden": None, "session": "s"}
