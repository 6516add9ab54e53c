"""Turn what the executor reported into a :class:`.SnippetResult` that names ``file:line``.

The executor knows a snippet only as ``<example N>`` with lines counted inside it (that is what the
reader's browser shows). Here those become the document and its lines, so a failure reads
``docs/page.rst:14`` and the traceback says ``File "docs/page.rst", line 14``. The raw executor
result is what the cache stores, so a snippet that moved down the page still gets the right line.
"""

from __future__ import annotations

import re
from typing import Any

from pyrun_docs.executor import CANNOT_PARSE
from pyrun_docs.outputs import Recorded, record
from pyrun_docs.snippet import Snippet

from .plan import example_filename
from .results import SnippetResult, Status


def recorded_output(event: dict[str, Any], limit: int) -> Recorded:
    """What a ``done`` event says the snippet showed, kept as the reader's widget keeps it (the
    newest *limit* characters of text, the cut counted; :func:`pyrun_docs.outputs.record`).
    The exception a ``raises`` snippet expects ends it, as the widget's Run shows it (the page
    showed what it printed before, as if it had raised nothing)."""
    messages = list(event.get("messages") or [])
    result = event.get("result") or {}  # the executor's result object
    error = result.get("error")
    if result.get("expected") and isinstance(error, dict) and not error.get("shown"):
        messages.append({"type": "stream", "stream": "stderr", "text": error.get("traceback")})
    return record(
        messages,
        dropped=int(event.get("dropped") or 0),
        dropped_displays=int(event.get("droppedDisplays") or 0),
        limit=limit,
    )


def cached_output(entry: dict[str, Any]) -> Recorded:
    """The output stored with a cached result (an entry from before outputs were kept: none)."""
    return Recorded.from_json(entry.get("outputs"))


#: a frame of the check's own JavaScript in a traceback (a blocked request's ``new
#: BlockedXMLHttpRequest``): the check's, not the reader's code
_HARNESS_FRAME = re.compile(
    r'(?m)^  File "[^"]*/pyrun_docs/check/harness[\w_]*\.mjs".*\n(?:    .*\n)?'
)

#: what a request fails with in the check (``harness_io.mjs``'s ``NO_NETWORK``), and the URL
_NO_NETWORK = re.compile(r"the pyrun-docs check has no network \(it asked for ([^)\s]+)\)")
#: exceptions that come from what a browser lacks, and the words for it (the check said
#: "No module named '_multiprocessing'" or "Host is unreachable" and nothing of why)
_LIMITS = (
    (re.compile(r"No module named '_?multiprocessing\b"), "the browser runs no other processes"),
    (re.compile(r"can't start new thread"), "the browser's Python starts no threads"),
    (re.compile(r"\[Errno 23\] Host is unreachable"), "the browser's Python has no sockets"),
)
#: the reason a snippet that asked for the network failed (:func:`judge`)
NEEDS_NETWORK = "it needs the network, which the check has not"


def relocate_traceback(snippet: Snippet, traceback: str, examples: Any = None) -> str:
    """Rewrite ``File "<example N>", line L`` as the document path and its line.

    A transcript's examples compile as doctest names them (``<doctest NAME[K]>``, lines counted in
    example K); *examples* (from the executor's error) gives each example's line in the snippet.
    """
    name = re.escape(example_filename(snippet))
    traceback = _HARNESS_FRAME.sub("", traceback)

    def swap(match: re.Match[str]) -> str:
        line = snippet.source_line(int(match.group(1)))
        return f'File "{snippet.path}", line {line}'

    text = re.sub(rf'File "{name}", line (\d+)', swap, traceback)
    if not isinstance(examples, list):
        return text

    def swap_example(match: re.Match[str]) -> str:
        number, line = int(match.group(1)), int(match.group(2))
        if not 0 <= number < len(examples) or not isinstance(examples[number], int):
            return match.group(0)
        return f'File "{snippet.path}", line {snippet.source_line(examples[number] + line - 1)}'

    return re.sub(r'File "<doctest [^"\[]*\[(\d+)\]>", line (\d+)', swap_example, text)


def judge(
    snippet: Snippet,
    raw: dict[str, Any],
    shown: Recorded,
    *,
    cached: bool = False,
) -> SnippetResult:
    """The verdict for one executor result (``{"ok", "error", "seconds", ...}``) and what the run
    showed (*shown*)."""
    output = shown.text
    seconds = float(raw.get("seconds") or 0.0)
    error = raw.get("error")
    if raw.get("ok"):
        status = Status.CACHED if cached else Status.PASSED
        message = ""
        if raw.get("expected") and isinstance(error, dict):
            message = f"raised {error.get('type')} as expected"
        return SnippetResult(
            snippet, status, message, output=output, seconds=seconds, cached=cached, shown=shown
        )
    error = error if isinstance(error, dict) else {}
    kind = str(error.get("type") or "Error")
    first = one_line(str(error.get("message") or ""))
    if kind == "NameError" and "'getfixture'" in first:
        first += f" ({PYTEST_ONLY})"
    offline = raw.get("offline")
    asked = _NO_NETWORK.search(str(error.get("traceback") or "")) or _NO_NETWORK.search(first)
    if asked:  # said plainly, with what it asked for (it was a nested exception's repr)
        first = f"{NEEDS_NETWORK} (it asked for {asked.group(1)})"
        if snippet.origin == "pyrun":  # an author's own block: it can say so
            first += "; mark it `check: skip`"
    elif limit := next((why for found, why in _LIMITS if found.search(first)), None):
        first += f" ({limit})"  # what the browser lacks, where the exception does not say it
    elif isinstance(offline, list) and offline and "has no network" not in first:
        # the code caught the lookup's error itself and failed later, saying nothing of it
        hosts = ", ".join(str(h) for h in offline[:3])
        first += f" (it looked up {hosts}: the browser has no network)"
    line = error.get("line")
    return SnippetResult(
        snippet,
        Status.FAILED,
        # a transcript doctest cannot parse: its reason says it all ("ValueError: doctest ...")
        message=f"{kind}: {first}"
        if first and not first.startswith(CANNOT_PARSE)
        else first or kind,
        exception=kind,
        line=snippet.source_line(int(line)) if isinstance(line, int) and line > 0 else None,
        traceback=relocate_traceback(
            snippet, str(error.get("traceback") or ""), error.get("examples")
        ),
        output=output,
        seconds=seconds,
        cached=cached,
    )


#: why ``getfixture`` is not defined: pytest's doctest namespace has it (13 examples of
#: jaraco's projects use it), doctest and the doctest builder do not
PYTEST_ONLY = (
    "getfixture is pytest's: this example runs under pytest --doctest-modules only; "
    "give it what it needs itself, or mark it # doctest: +SKIP"
)


def reordered(result: SnippetResult) -> bool:
    """Whether *result* failed only because its output shows the expected items of a set in
    another order: a set of strings prints in the order of the string hash seed, which changes
    from one CPython run to the next too (doctest passes or fails it at random). Such an example
    is broken everywhere, not something the browser cannot do: asking CPython made it "failed"
    or "kept static" ("Does not run in the browser") at random (boolean.py's user guide). Not a
    mapping: a dict keeps the order its keys were put in, the same in every run (tinydb's
    documents, written with their keys in another order, were told about the hash seed and to
    sort a list of dicts, which raises)."""
    if result.status is not Status.FAILED or result.exception != "OutputMismatch":
        return False
    difference = _DIFFERENCE.search(result.traceback)
    if difference is None:
        return False
    want, got = (re.sub(r"(?m)^    ", "", difference[part]).strip() for part in ("want", "got"))
    # the same items in another order (not the same order wrapped otherwise: glom's pprint)
    shown, printed = _ITEM.findall(want), _ITEM.findall(got)
    # strings among them: ints hash alike in every run (sympy's ``{3: 2, 0: 1}`` from
    # ``roots()`` is another order, the same each time, not the hash seed's)
    strings = any(item[:1] in ("'", '"') for item in shown)
    # printed sorted: pprint's order (it sorts a dict's keys), the same in every run, not the
    # seed's (humanfriendly's pprint of a dict was told to sort what it already sorted)
    keys = [item for item in printed if item[:1] in ("'", '"')]
    seeded = keys != sorted(keys)
    return (
        "{" in want
        and ":" not in _STRING.sub("", want)
        and strings
        and seeded
        and shown != printed
        and sorted(shown) == sorted(printed)
    )


def difference(traceback: str) -> str:
    """The first failing example's doctest report ("Expected: ... Got: ...") in a transcript's
    *traceback*, or ``""``: what a maintainer reads under a mismatch kept static, which said
    only that the output differs (babel's comment line under an example)."""
    found = _DIFFERENCE.search(traceback)
    return found.group(0).rstrip("\n") if found else ""


#: the first failing example's expected and actual output in a transcript's traceback
_DIFFERENCE = re.compile(
    r"^Expected:\n(?P<want>(?:    .*\n|\n)+?)Got:\n(?P<got>(?:    .*\n|\n)*)", re.M
)
#: a string literal in printed output (a mapping's colons are outside them)
_STRING = re.compile(r"'(?:[^'\\\n]|\\.)*'" + r'|"(?:[^"\\\n]|\\.)*"')
#: the items of a printed collection
_ITEM = re.compile(r"[^\s,{}()\[\]]+")
#: said after the message of an example :func:`reordered` finds
REORDERED = (
    " (the same items in another order: a set's order follows the string hash seed, which "
    "changes from one run to the next in CPython too; show sorted(...) instead)"
)


def one_line(message: str) -> str:
    """An exception's message as one line: its lines joined (bigtree's "matplotlib not
    available. Please perform a" ended there, for the check and under the block for readers,
    and a transcript's "(and 2 more failing examples)" after a message of several lines was
    lost), at most :data:`LONGEST` characters."""
    text = " ".join(line.strip() for line in message.splitlines() if line.strip())
    return text if len(text) <= LONGEST else text[: LONGEST - 1].rstrip() + "…"


#: the longest one-line message (a validation error can list every field)
LONGEST = 400


def problem(
    snippet: Snippet, status: Status, message: str, *, seconds: float = 0.0, output: str = ""
) -> SnippetResult:
    """A result that is not the executor's verdict: a timeout, a crash, a blocked snippet.

    The first line of *message* is the one-line message; the rest (e.g. the tail of a crashed
    harness's stderr) goes where a traceback would.
    """
    head, _, detail = message.partition("\n")
    return SnippetResult(snippet, status, head, traceback=detail, output=output, seconds=seconds)


def skip_advice(snippet: Snippet) -> str:
    """How the author keeps the check from running *snippet*: a ``pyrun`` snippet has the
    ``check: skip`` option; an upgraded example has no options of ours (it is the project's
    own block, maybe in a docstring), so doctest's ``+SKIP`` or the ``no-pyrun`` class."""
    if not snippet.upgraded:
        return SKIP_ADVICE[0]
    if snippet.is_transcript:
        return SKIP_ADVICE[1]
    return SKIP_ADVICE[2]


#: :func:`skip_advice`'s answers, for each kind of snippet
SKIP_ADVICE = (
    "mark the snippet `check: skip`",
    "add `# doctest: +SKIP` to its examples",
    "give the block the `no-pyrun` class",
)


def without_advice(message: str) -> str:
    """*message* without the :func:`skip_advice` at its end: the reason, the same for snippets
    of different kinds (pybtex's "pyyaml cannot be fetched" was told twice, once per advice)."""
    for advice in SKIP_ADVICE:
        if message.endswith(f", or {advice}"):
            return message[: -len(f", or {advice}")]
    return message


def skipped(snippet: Snippet, reason: str) -> SnippetResult:
    return SnippetResult(snippet, Status.SKIPPED, reason)
