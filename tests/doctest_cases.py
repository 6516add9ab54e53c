"""The transcript table of the differential test: each case is judged by CPython's own ``doctest``
with ``sphinx.ext.doctest``'s default flags (the reference, computed when the test runs, never
written down here) and by pyrun, which must give the same verdict.

``mp``: MicroPython can run the case (no ``json``, no CPython-only reprs or messages the case's
verdict depends on), so the port there is held to the same verdict. ``page``: the case can be
written as a block of a reST page (docutils strips trailing whitespace from every line, and a
``pyrun`` transcript starts with its first ``>>>``).
"""

from __future__ import annotations

import doctest
from dataclasses import dataclass

SPHINX_FLAGS = doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL | doctest.DONT_ACCEPT_TRUE_FOR_1


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    mp: bool = True
    page: bool = True


def reference(text: str) -> bool:
    """CPython's ``doctest`` verdict, as ``sphinx-build -b doctest`` gives it for one group."""
    try:
        test = doctest.DocTestParser().get_doctest(text, {}, "default", "case.rst", 0)
    except ValueError:
        return False  # doctest cannot parse it: the doctest builder does not pass it either
    runner = doctest.DocTestRunner(verbose=False, optionflags=SPHINX_FLAGS)
    return runner.run(test, out=lambda _: None, clear_globs=False).failed == 0


# the reproducers, from real documentation
REPRODUCERS = [
    Case(
        "outdated-message",
        ">>> int('x')\nTraceback (most recent call last):\n  ...\n"
        "ValueError: an outdated message\n",
    ),
    Case(
        "module-path-ignored",
        ">>> import json\n>>> json.loads('{')\n"
        "Traceback (most recent call last):\n  ...\nJSONDecodeError: ...\n",
        mp=False,
    ),
    Case("bare-prompt", ">>> x = 1\n>>>\n>>> x\n1\n"),
    Case("comment-only", ">>> # set things up\n>>> 1 + 1\n2\n"),
    Case("skip", ">>> import random\n>>> random.random()  # doctest: +SKIP\n0.123456\n"),
    Case(
        "syntax-error",
        ">>> eval('1 +')\nTraceback (most recent call last):\n  ...\nSyntaxError: invalid syntax\n",
        mp=False,
    ),
    Case("normalize-whitespace", ">>> print('a  b')  # doctest: +NORMALIZE_WHITESPACE\na b\n"),
    Case("minus-ellipsis", ">>> print('abc')  # doctest: -ELLIPSIS\na...\n"),
    Case("class-repr", ">>> class A: pass\n>>> A\n<class 'A'>\n", mp=False),
]

HANDWRITTEN = [
    Case("plain-pass", ">>> 1 + 1\n2\n"),
    Case("plain-fail", ">>> 1 + 1\n3\n"),
    # exec puts the builtins' dict in a namespace without them (a trial: it was the module)
    Case("builtins-is-a-dict", ">>> type(__builtins__).__name__\n'dict'\n", mp=False),
    Case("builtins-is-not-a-module", ">>> type(__builtins__).__name__\n'module'\n", mp=False),
    Case("second-fails", ">>> 1\n1\n>>> 2\n3\n"),
    Case("unexpected-output", ">>> 1\n>>> 2\n2\n"),
    Case("none-prints-nothing", ">>> None\n>>> x = 5\n"),
    Case("print-empty", ">>> print()\n<BLANKLINE>\n"),
    Case("blankline-inside", ">>> print('a\\n\\nb')\na\n<BLANKLINE>\nb\n"),
    Case("blankline-literal-lost", ">>> print('a\\n\\nb')\na\n\nb\n"),
    Case("true-for-1", ">>> True\n1\n"),
    Case("false-for-0", ">>> False\n0\n"),
    Case("true-for-1-allowed", ">>> True  # doctest: -DONT_ACCEPT_TRUE_FOR_1\n1\n"),
    Case("ellipsis-middle", ">>> list(range(20))\n[0, 1, ..., 19]\n"),
    Case("ellipsis-wrong-end", ">>> print('abc')\na...d\n"),
    Case("ellipsis-only", ">>> print('anything at all')\n...\n"),
    Case("ellipsis-multiline", ">>> for i in range(5): print(i)\n0\n...\n4\n", mp=False),
    Case("ellipsis-overlap", ">>> print('aa')\naa...aa\n"),
    Case("ps2-looking-want", ">>> print('hello world')\n...world\n"),
    Case("keyerror", ">>> {}['k']\nTraceback (most recent call last):\n  ...\nKeyError: 'k'\n"),
    Case(
        "keyerror-detail", ">>> {}['k']\nTraceback (most recent call last):\n  ...\nKeyError: 'j'\n"
    ),
    Case(
        "keyerror-detail-strict",
        ">>> {}['k']  # doctest: -IGNORE_EXCEPTION_DETAIL\n"
        "Traceback (most recent call last):\n  ...\nKeyError: 'j'\n",
    ),
    Case(
        "wrong-exception-type",
        ">>> {}['k']\nTraceback (most recent call last):\n  ...\nValueError: 'k'\n",
    ),
    Case(
        "exception-not-raised", ">>> 1\nTraceback (most recent call last):\n  ...\nValueError: x\n"
    ),
    Case("unexpected-exception", ">>> 1 / 0\n"),
    Case("innermost-last", ">>> 1 / 0\nTraceback (innermost last):\nZeroDivisionError: boom\n"),
    Case(
        "stack-lines",
        ">>> def f():\n...     raise KeyError('k')\n>>> f()\n"
        'Traceback (most recent call last):\n  File "<doctest>", line 2, in f\n'
        "KeyError: 'k'\n",
    ),
    Case(
        "exception-no-message",
        ">>> raise StopIteration\nTraceback (most recent call last):\nStopIteration\n",
    ),
    Case(
        "exception-ellipsis",
        ">>> int('x')\nTraceback (most recent call last):\nValueError: invalid literal...\n",
        mp=False,
    ),
    Case(
        "module-qualified-strict",
        ">>> import json\n"
        ">>> json.loads('{')  # doctest: -IGNORE_EXCEPTION_DETAIL\n"
        "Traceback (most recent call last):\n  ...\nJSONDecodeError: Expecting ...\n",
        mp=False,
    ),
    Case(
        "module-qualified-full",
        ">>> import json\n"
        ">>> json.loads('{')  # doctest: -IGNORE_EXCEPTION_DETAIL\n"
        "Traceback (most recent call last):\n  ...\njson.decoder.JSONDecodeError: ...\n",
        mp=False,
    ),
    Case(
        "output-then-exception",
        ">>> print('hi'); 1 / 0\nhi\nTraceback (most recent call last):\n"
        "ZeroDivisionError: division by zero\n",
    ),
    Case("header-only", ">>> 1 / 0\nTraceback (most recent call last):\n"),
    Case("system-exit", ">>> raise SystemExit(3)\n"),
    Case("stderr-not-compared", ">>> import sys\n>>> print('e', file=sys.stderr)\n"),
    Case("stderr-expected", ">>> import sys\n>>> print('e', file=sys.stderr)\ne\n"),
    Case("underscore", ">>> 5\n5\n>>> _\n5\n"),
    Case("instance-repr", ">>> class A: pass\n>>> A()\n<A object at 0x...>\n", mp=False),
    Case("name-missing", ">>> __name__\n'builtins'\n", mp=False),
    Case("display-not-global", ">>> 'display' in globals()\nFalse\n"),
    Case("loop-displays", ">>> for i in range(3):\n...     i\n0\n1\n2\n", mp=False),
    Case("multiline-source", ">>> x = [1,\n...      2]\n>>> x\n[1, 2]\n"),
    Case("semicolons", ">>> print(1); print(2)\n1\n2\n"),
    Case("if-block", ">>> if True:\n...     print('yes')\nyes\n"),
    Case(
        "try-block",
        ">>> try:\n...     1 / 0\n... except ZeroDivisionError:\n...     print('caught')\ncaught\n",
    ),
    Case("def-and-call", ">>> def sq(n):\n...     return n * n\n>>> sq(7)\n49\n"),
    Case("trailing-space-want", ">>> print('a')\na   \n", page=False),
    Case("trailing-space-got", ">>> print('a   ')\na\n"),
    Case(
        "whitespace-normalized-lines",
        ">>> print(list(range(12)))  # doctest: +NORMALIZE_WHITESPACE\n"
        "[0, 1, 2, 3, 4, 5,\n 6, 7, 8, 9, 10, 11]\n",
    ),
    Case(
        "whitespace-not-normalized",
        ">>> print(list(range(12)))\n[0, 1, 2, 3, 4, 5,\n 6, 7, 8, 9, 10, 11]\n",
    ),
    Case(
        "dont-accept-blankline",
        ">>> print('a\\n\\nb')  # doctest: +DONT_ACCEPT_BLANKLINE\na\n<BLANKLINE>\nb\n",
    ),
    Case("skip-raising", ">>> 1 / 0  # doctest: +SKIP\n"),
    Case("skip-then-fail", ">>> 1  # doctest: +SKIP\n2\n>>> 3\n4\n"),
    Case("bad-directive", ">>> 1  # doctest: +NO_SUCH_FLAG\n1\n"),
    Case("directive-in-string", ">>> '# doctest: +SKIP'\n'# doctest: +SKIP'\n"),
    Case("directive-on-comment", ">>> # doctest: +SKIP\n>>> 1\n1\n"),
    Case("lacks-blank", ">>> 1\n1\n>>>2\n2\n"),
    Case("inconsistent-want", "    >>> print('a')\n    a\n  b\n"),
    Case("indented-transcript", "  >>> 1 + 2\n  3\n"),
    Case("float-repr", ">>> 0.5 + 0.25\n0.75\n"),
    Case("unicode", ">>> print('größe')\ngröße\n"),
    Case("string-repr", ">>> 'a'\n'a'\n"),
    Case("string-repr-wrong-quotes", ">>> 'a'\n\"a\"\n"),
    Case("list-of-dicts", ">>> [{'a': 1}]\n[{'a': 1}]\n"),
    Case(
        "future-feature",
        ">>> from __future__ import annotations\n>>> def f(x: int): pass\n"
        ">>> f.__annotations__\n{'x': 'int'}\n",
        mp=False,
    ),
    Case(
        "decorator",
        ">>> def deco(f):\n...     return f\n>>> @deco\n... def g():\n"
        "...     return 3\n>>> g()\n3\n",
    ),
    Case("generator", ">>> list(x * 2 for x in range(3))\n[0, 2, 4]\n"),
    Case("lambda", ">>> (lambda n: n + 1)(1)\n2\n"),
    Case("print-end", ">>> print('a', end='')\na\n"),
    Case("two-examples-state", ">>> items = []\n>>> items.append(1)\n>>> items\n[1]\n"),
    Case("expected-with-blank-after", ">>> 1\n1\n\n>>> 2\n2\n"),
    Case("text-between", "Some prose.\n\n>>> 1\n1\n", page=False),
    Case("assert-fails", ">>> assert 1 == 2\n"),
    Case(
        "assert-expected",
        ">>> assert 1 == 2, 'nope'\nTraceback (most recent call last):\nAssertionError: nope\n",
    ),
    Case(
        "name-error",
        ">>> undefined_name\nTraceback (most recent call last):\n"
        "NameError: name 'undefined_name' is not defined\n",
    ),
    Case("name-error-unexpected", ">>> undefined_name\n"),
    Case(
        "custom-exception",
        ">>> class MyError(Exception): pass\n>>> raise MyError('m')\n"
        "Traceback (most recent call last):\nMyError: m\n",
    ),
    Case(
        "custom-exception-qualified",
        ">>> class MyError(Exception): pass\n"
        ">>> raise MyError('m')  # doctest: -IGNORE_EXCEPTION_DETAIL\n"
        "Traceback (most recent call last):\n__main__.MyError: m\n",
    ),
    # doctest's debugger is made only when an example asks for it: pdb.set_trace is still doctest's
    Case(
        "debugger-in-place",
        ">>> import pdb\n>>> pdb.set_trace.__name__, callable(pdb.set_trace)\n('set_trace', True)\n",
        mp=False,
    ),
    Case(
        "doctest-inside-doctest",
        ">>> import doctest, pdb\n>>> before = pdb.set_trace\n"
        ">>> test = doctest.DocTestParser().get_doctest('>>> 1 + 1\\n2\\n', {}, 'x', None, 0)\n"
        ">>> doctest.DocTestRunner().run(test).failed\n0\n>>> pdb.set_trace == before\nTrue\n",
        mp=False,
    ),
]

# one output under each flag change: the matrix of what the flags decide
OUTPUTS = [
    ("print('a  b')", "a b"),
    ("print('a\\n\\nb')", "a\n<BLANKLINE>\nb"),
    ("print('a\\n\\nb')", "a\n\nb"),
    ("True", "1"),
    ("print('abcd')", "a...d"),
    ("print('x y')", "x   y"),
    ("{}['k']", "Traceback (most recent call last):\n  ...\nKeyError: 'other'"),
    ("print(' lead')", "lead"),
]
DIRECTIVES = [
    "",
    "+NORMALIZE_WHITESPACE",
    "-ELLIPSIS",
    "+DONT_ACCEPT_BLANKLINE",
    "-IGNORE_EXCEPTION_DETAIL",
    "-DONT_ACCEPT_TRUE_FOR_1",
    "+NORMALIZE_WHITESPACE, -ELLIPSIS",
]
MATRIX = [
    Case(
        f"matrix-{i}-{j}",
        f">>> {source}{'  # doctest: ' + directive if directive else ''}\n{want}\n",
    )
    for i, (source, want) in enumerate(OUTPUTS)
    for j, directive in enumerate(DIRECTIVES)
]

CASES = REPRODUCERS + HANDWRITTEN + MATRIX
assert len({c.name for c in CASES}) == len(CASES)
