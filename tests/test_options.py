"""Option parsing: the one table both frameworks use."""

from __future__ import annotations

import pytest

from pyrun_docs.errors import OptionError
from pyrun_docs.options import (
    OPTION_NAMES,
    SnippetOptions,
    options_to_dict,
    parse_options,
    parse_options_lenient,
)


def test_defaults() -> None:
    assert parse_options({}) == SnippetOptions()


def test_full_table() -> None:
    opts = parse_options(
        {
            "session": "intro",
            "hidden": None,
            "packages": "numpy, attrs>=23",
            "runtime": "MicroPython",
            "raises": "ValueError",
            "check": "skip",
            "timeout": "2.5",
            "autorun": "true",
            "readonly": "",
            "lines": "12",
            "caption": "A caption",
            "name": "target",
            "linenos": None,
            "emphasize-lines": "1, 3-4",
        }
    )
    assert opts.session == "intro"
    assert opts.hidden and opts.autorun and opts.readonly and opts.linenos
    assert opts.packages == ("numpy", "attrs>=23")
    assert opts.runtime == "micropython"
    assert opts.raises == "ValueError"
    assert opts.check == "skip"
    assert opts.timeout == 2.5
    assert opts.lines == 12
    assert opts.caption == "A caption"
    assert opts.name == "target"
    assert opts.emphasize_lines == (1, 3, 4)


def test_aliases_from_mkdocs_world() -> None:
    opts = parse_options({"title": "T", "hl_lines": "2", "height": "5"})
    assert (opts.caption, opts.emphasize_lines, opts.lines) == ("T", (2,), 5)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"bogus": "1"}, "unknown option 'bogus'"),
        ({"sesion": "x"}, "did you mean 'session'"),
        ({"timeout": "soon"}, "'soon' is not a number of seconds"),
        ({"timeout": "0"}, "between 0 and 3600"),
        ({"runtime": "jython"}, "unknown runtime 'jython'"),
        ({"check": "maybe"}, "'maybe' is not one of run, skip"),
        ({"hidden": "perhaps"}, "is a flag"),
        ({"session": "has space"}, "is not a session name"),
        ({"session": None}, "needs a value"),
        ({"raises": "1Error"}, "not an exception name"),
        ({"emphasize-lines": "a-b"}, "not a line number or range"),
        ({"emphasize-lines": "5-2"}, "bad line range"),
        ({"lines": "0"}, "line count"),
        ({"packages": "not a/package"}, "not a package name"),
    ],
)
def test_bad_values_name_the_option(raw: dict[str, str | None], fragment: str) -> None:
    with pytest.raises(OptionError) as info:
        parse_options(raw)
    assert fragment in str(info.value)


def test_lenient_keeps_good_options_and_collects_errors() -> None:
    opts, errors = parse_options_lenient({"session": "a", "bogus": "1", "timeout": "soon"})
    assert opts.session == "a"
    assert opts.timeout is None
    assert len(errors) == 2


def test_known_names_cover_design_table() -> None:
    design = {
        "session",
        "hidden",
        "packages",
        "runtime",
        "raises",
        "check",
        "timeout",
        "autorun",
        "readonly",
        "lines",
        "caption",
        "name",
        "linenos",
        "emphasize-lines",
        "stdin",
    }
    assert design <= set(OPTION_NAMES)


def test_options_to_dict_only_non_defaults() -> None:
    assert options_to_dict(parse_options({"session": "s", "packages": "a"})) == {
        "session": "s",
        "packages": ["a"],
    }


def test_stdin_lines_split_on_backslash_n() -> None:
    assert parse_options({"stdin": r"Ada\n42"}).stdin == ("Ada", "42")
    assert parse_options({"stdin": "one\ntwo"}).stdin == ("one", "two")  # a continued reST field
    assert parse_options({"stdin": None}).stdin == ("",)  # bare: one empty line (just Enter)
    assert parse_options({}).stdin is None  # no option: input() fails with a message
