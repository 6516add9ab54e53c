"""What people read: plain words in ``--help``, counted nouns, a prompt on its own line."""

from __future__ import annotations

import json

import pytest
from test_executor import Host

from pyrun_docs.cli import main
from pyrun_docs.words import plural


def test_help_shows_no_rest_markup(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out and ":the command line" not in out
    assert "Runnable, checked Python examples" in out


def test_plural() -> None:
    assert [plural(n, "page") for n in (0, 1, 2)] == ["0 pages", "1 page", "2 pages"]
    assert plural(1, "process") == "1 process" and plural(2, "process") == "2 processes"
    assert plural(1, "interpreter") == "1 interpreter"


def test_a_failing_input_ends_its_prompt_line_before_the_traceback() -> None:
    host = Host()
    result = host.run("input('Name? ')")
    assert result["error"]["type"] == "EOFError"
    assert host.stdout() == "Name? \n"  # the traceback starts on a line of its own
    host = Host()
    result = host.run("input(); input('Again? ')", stdin=json.dumps(["x"]))
    assert result["error"]["type"] == "EOFError"
    assert host.stdout() == "x\nAgain? \n"
    host = Host()
    host.run("print('done')\ninput()")  # nothing pending on the line: no blank line added
    assert host.stdout() == "done\n"
