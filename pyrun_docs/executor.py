"""The one executor: runs a snippet in its session and reports what a reader sees.

This module is loaded *inside* the runtime, both by the browser's Web Worker and by the Node.js build
check (as the top-level module ``pyrun_executor``), and it is plain CPython too, so it is unit-tested
here. Keeping it the only place that knows how a snippet runs is what makes "passes the check" mean
"works for the reader". It must therefore stay standard-library only and importable on its own.

Every message goes through one callback, ``emit(json_text)``, as a JSON object with a ``type``:

* ``{"type": "stream", "run": ID, "stream": "stdout"|"stderr", "text": ..., "dropped": N}``
* ``{"type": "display", "run": ID, "bundle": {mime: data}}``

and :meth:`Executor.run` returns (as JSON text) ``{"ok": bool, "error": {...} | None, ...}``.
:meth:`Executor.run_transcript` runs a ``>>>`` transcript example by example and compares what each
example prints with the transcript, doctest-style (``...`` matches anything); the build check uses it.
"""

from __future__ import annotations

import ast
import base64
import builtins
import io
import json
import linecache
import re
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

Emit = Callable[[str], Any]

# Bound once: a snippet that monkeypatches ``json.dumps`` or ``time.monotonic`` must not break the
# executor's own reporting for the rest of the session.
_dumps = json.dumps
_HERE = __file__
_monotonic = time.monotonic

#: seconds between two stream messages while output is flowing
FLUSH_INTERVAL = 0.05
#: characters buffered before a stream message is forced
FLUSH_SIZE = 16_384
#: characters of one transcript example's output kept for comparing with the transcript
RECORD_LIMIT = 1_000_000


class StreamCapture(io.TextIOBase):
    """A text stream that batches writes into ``stream`` messages.

    Batching keeps a print loop from sending one message per line; :meth:`flush` at the end of each
    run guarantees the trailing partial line is never lost (a known Pyodide/MicroPython pitfall).
    The buffer is capped: when a single batch outgrows *limit*, its head is dropped and counted.
    """

    def __init__(self, emit: Emit, stream: str, run_id: str, limit: int) -> None:
        super().__init__()
        self._emit = emit
        self._stream = stream
        self._run = run_id
        self._limit = limit
        self._parts: list[str] = []
        self._size = 0
        self._dropped = 0
        self._last = _monotonic()
        #: while a transcript example runs, everything it writes, for the comparison (capped)
        self.record: list[str] | None = None
        self._recorded = 0

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        if self.record is not None and self._recorded < RECORD_LIMIT:
            self.record.append(text[: RECORD_LIMIT - self._recorded])
            self._recorded += len(self.record[-1])
        self._parts.append(text)
        self._size += len(text)
        if self._size > self._limit:
            joined = "".join(self._parts)
            keep = joined[-self._limit :]
            self._dropped += len(joined) - len(keep)
            self._parts, self._size = [keep], len(keep)
        now = _monotonic()
        if self._size >= FLUSH_SIZE or now - self._last >= FLUSH_INTERVAL:
            self.flush()
        return len(text)

    def flush(self) -> None:
        self._last = _monotonic()
        if not self._parts and not self._dropped:
            return
        text = "".join(self._parts)
        self._parts, self._size = [], 0
        message: dict[str, Any] = {
            "type": "stream",
            "run": self._run,
            "stream": self._stream,
            "text": text,
        }
        if self._dropped:
            message["dropped"] = self._dropped
            self._dropped = 0
        self._emit(_dumps(message))


def _lines(value: Any) -> list[str] | None:
    """The ``stdin`` lines as a list: hosts pass a list, a JSON text, or a JS array proxy."""
    value = _none(value)
    if value is None:
        return None
    if isinstance(value, str):
        value = json.loads(value)
    return [str(line) for line in value]


class NoInput(io.TextIOBase):
    """``sys.stdin`` during a run: ``input()`` reads the snippet's ``stdin`` lines, then fails.

    Docs hosts are rarely cross-origin isolated, so a blocking prompt is impossible; the author gives
    the lines up front (the ``stdin`` option) and each one is echoed after its prompt, as a terminal
    shows it. Without lines, or once they are used up, ``input()`` fails at once with a message
    instead of hanging.
    """

    def __init__(self, lines: list[str] | tuple[str, ...] | None = None, echo: Any = None) -> None:
        super().__init__()
        self._lines = list(lines) if lines is not None else None
        self._given = len(self._lines) if self._lines is not None else 0
        self._echo = echo

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        if self._lines:
            line = self._lines.pop(0)
            if self._echo is not None:
                self._echo.write(line + "\n")
            return line + "\n"
        if self._lines is not None:
            raise EOFError(
                f"input() was called more often than the example's `stdin` option gives lines "
                f"({self._given}); add a line there (lines are separated by \\n)"
            )
        raise EOFError(
            "input() has no keyboard here: examples run without standard input; "
            "give the answers with the `stdin` option (e.g. `stdin: Ada\\n42`) "
            "or set the value in the code instead"
        )

    def read(self, size: int | None = -1) -> str:
        if self._lines is not None and self._lines:
            text = "".join(line + "\n" for line in self._lines)
            self._lines = []
            return text
        if self._lines is not None:
            return ""
        return self.readline(size)


def mime_bundle(obj: Any) -> dict[str, str]:
    """The MIME bundle of *obj*, IPython style (``_repr_*_`` methods, text/plain always)."""
    bundle: dict[str, str] = {}
    method = getattr(obj, "_repr_mimebundle_", None)
    if callable(method):
        try:
            data = method()
            if isinstance(data, tuple):
                data = data[0]
            if isinstance(data, dict):
                for mime, value in data.items():
                    if isinstance(value, bytes):
                        value = base64.b64encode(value).decode("ascii")
                    bundle[str(mime)] = value if isinstance(value, str) else json.dumps(value)
        except Exception:
            pass
    for mime, name in (
        ("text/html", "_repr_html_"),
        ("image/svg+xml", "_repr_svg_"),
        ("image/png", "_repr_png_"),
        ("image/jpeg", "_repr_jpeg_"),
        ("text/markdown", "_repr_markdown_"),
    ):
        if mime in bundle or isinstance(obj, type):
            continue
        method = getattr(obj, name, None)
        if not callable(method):
            continue
        try:
            value = method()
        except Exception:
            continue
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        if isinstance(value, str):
            bundle[mime] = value
    if "text/plain" not in bundle:
        try:
            bundle["text/plain"] = repr(obj)
        except Exception as exc:  # a broken __repr__ must not break the run
            bundle["text/plain"] = f"<repr failed: {type(exc).__name__}: {exc}>"
    return bundle


def _exception_matches(exc: BaseException, expected: str) -> bool:
    for cls in type(exc).__mro__:
        qual = f"{cls.__module__}.{cls.__qualname__}"
        if expected in (cls.__name__, cls.__qualname__, qual):
            return True
    return False


class Executor:
    """Runs snippets in named session namespaces and reports through *emit*.

    Sessions are namespaces within one interpreter: ``sys.modules``, the file system and
    ``os.environ`` are shared between them. Hosts that need real isolation (pages in the build check)
    give each page its own interpreter.
    """

    def __init__(self, emit: Emit, *, output_limit: int = 100_000) -> None:
        self.emit = emit
        self.output_limit = output_limit
        self.sessions: dict[str, dict[str, Any]] = {}

    def reset(self, session: str | None = None) -> None:
        """Forget one session's namespace, or all of them."""
        if session is None:
            self.sessions.clear()
        else:
            self.sessions.pop(session, None)

    def namespace(self, session: str | None, run_id: str) -> dict[str, Any]:
        if session is not None and session in self.sessions:
            return self.sessions[session]
        ns: dict[str, Any] = {
            "__name__": "__main__",
            "__builtins__": builtins,
            "display": self._make_display(run_id),
        }
        if session is not None:
            self.sessions[session] = ns
        return ns

    def _make_display(self, run_id: str) -> Callable[..., None]:
        holder = {"run": run_id}

        def display(*objs: Any) -> None:
            """Show each object with its richest representation (IPython's ``display``)."""
            sys.stdout.flush()
            sys.stderr.flush()
            for obj in objs:
                bundle = mime_bundle(obj)
                self.emit(_dumps({"type": "display", "run": holder["run"], "bundle": bundle}))

        display._pyrun_holder = holder  # type: ignore[attr-defined]
        return display

    async def run(
        self,
        code: str,
        *,
        run_id: str = "run",
        session: str | None = None,
        filename: str = "<snippet>",
        raises: str | None = None,
        stdin: Any = None,
    ) -> str:
        """Run *code*; return the result as JSON text (see the module docstring)."""
        session, raises = _none(session), _none(raises)
        ns = self._prepare(code, session, run_id, filename)

        async def body(out: StreamCapture) -> None:
            await self._execute(code, ns, filename)

        return await self._guarded(body, run_id, filename, raises, stdin)

    async def run_transcript(
        self,
        transcript: str,
        *,
        run_id: str = "run",
        session: str | None = None,
        filename: str = "<snippet>",
        raises: str | None = None,
        stdin: Any = None,
    ) -> str:
        """Run a ``>>>`` transcript example by example and compare outputs doctest-style.

        Each example runs like a line typed at the interactive prompt (an expression's ``repr`` is
        printed); what it prints must match the transcript's expected output, where ``...`` matches
        any text and ``<BLANKLINE>`` an empty line. An expected ``Traceback (most recent call
        last):`` matches the exception's last line. The first difference stops the run and is
        reported as ``OutputMismatch`` at the example's line; tracebacks and line numbers refer to
        the lines of the transcript itself, so ``file:line`` points at the ``>>>`` line.
        """
        session, raises = _none(session), _none(raises)
        ns = self._prepare(transcript, session, run_id, filename)
        examples = parse_transcript(transcript)

        async def body(out: StreamCapture) -> None:
            for example in examples:
                await self._run_example(example, ns, filename, out)

        return await self._guarded(body, run_id, filename, raises, stdin)

    def _prepare(
        self, code: str, session: str | None, run_id: str, filename: str
    ) -> dict[str, Any]:
        ns = self.namespace(session, run_id)
        display = ns.get("display")
        if display is not None and hasattr(display, "_pyrun_holder"):
            display._pyrun_holder["run"] = run_id
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        return ns

    async def _guarded(
        self,
        body: Callable[[StreamCapture], Awaitable[None]],
        run_id: str,
        filename: str,
        raises: str | None,
        stdin: Any = None,
    ) -> str:
        """Run *body* with captured streams and the given stdin lines; turn whatever it raises into
        a result. *stdin* is a list of lines (a JS array or a JSON text from the hosts) or None."""
        out = StreamCapture(self.emit, "stdout", run_id, self.output_limit)
        err = StreamCapture(self.emit, "stderr", run_id, self.output_limit)
        saved = sys.stdout, sys.stderr, sys.stdin
        sys.stdout, sys.stderr, sys.stdin = out, err, NoInput(_lines(stdin), out)
        error: dict[str, Any] | None = None
        matched = False
        started = _monotonic()
        try:
            await body(out)
        except _Mismatch as exc:
            error = exc.error
        except BaseException as exc:  # the reader's code may raise anything, KeyboardInterrupt too
            error = self._describe(exc, filename)
            matched = raises is not None and _exception_matches(exc, raises)
        finally:
            for stream in (out, err):
                try:
                    stream.flush()
                except Exception:  # the snippet broke its own stream; the result still counts
                    pass
            sys.stdout, sys.stderr, sys.stdin = saved
        result: dict[str, Any] = {
            "ok": error is None,
            "error": error,
            "seconds": round(_monotonic() - started, 4),
        }
        if raises:
            if matched:
                result["ok"] = True
                result["expected"] = True
            elif error is None:
                result["ok"] = False
                result["error"] = {
                    "type": "AssertionError",
                    "message": f"expected {raises} to be raised, but the example finished",
                    "traceback": f"AssertionError: expected {raises} to be raised\n",
                    "line": None,
                }
        if error is not None and raises is not None and not matched:
            error["message"] = f"expected {raises}, got {error['type']}: {error['message']}"
        return _dumps(result)

    async def _run_example(
        self, example: Example, ns: dict[str, Any], filename: str, out: StreamCapture
    ) -> None:
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        record: list[str] = []
        out.record = record

        def hook(value: Any) -> None:  # the interactive prompt's display of an expression
            if value is not None:
                ns["_"] = value
                sys.stdout.write(repr(value) + "\n")

        saved_hook = sys.displayhook
        try:
            try:
                tree = ast.parse(example.source, filename, "single")
            except SyntaxError as exc:
                exc.lineno = (exc.lineno or 1) + example.line - 1
                raise
            ast.increment_lineno(tree, example.line - 1)
            for node in ast.walk(tree):  # columns as in the transcript, after the prompt
                for attr in ("col_offset", "end_col_offset"):
                    if getattr(node, attr, None) is not None:
                        setattr(node, attr, getattr(node, attr) + example.column)
            code = compile(tree, filename, "single", flags=flags, dont_inherit=True)
            sys.displayhook = hook
            value = eval(code, ns)
            if _is_awaitable_code(code):
                await value
        except BaseException as exc:
            expected = _expected_exception(example.want)
            if expected is None:
                raise
            got = "".join(traceback.format_exception_only(type(exc), exc))
            if not output_matches(expected, got):
                raise _Mismatch(
                    example, f"Traceback (most recent call last):\n  ...\n{got}"
                ) from None
            return
        finally:
            sys.displayhook = saved_hook
            out.record = None
        got = "".join(record)
        if _expected_exception(example.want) is not None or not output_matches(example.want, got):
            raise _Mismatch(example, got)

    async def _execute(self, code: str, ns: dict[str, Any], filename: str) -> None:
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        tree = ast.parse(code, filename, "exec")
        last: ast.expr | None = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = tree.body.pop().value  # type: ignore[attr-defined]
        body = compile(tree, filename, "exec", flags=flags, dont_inherit=True)
        value = eval(body, ns)
        if _is_awaitable_code(body):
            await value
        if last is not None:
            expr = compile(ast.Expression(last), filename, "eval", flags=flags, dont_inherit=True)
            value = eval(expr, ns)
            if _is_awaitable_code(expr):
                value = await value
            if value is not None:
                ns["_"] = value
                ns["display"](value)

    def _describe(self, exc: BaseException, filename: str) -> dict[str, Any]:
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next
        line: int | None = None
        walk = tb
        while walk is not None:
            if walk.tb_frame.f_code.co_filename == filename:
                line = walk.tb_lineno
            walk = walk.tb_next
        if isinstance(exc, SyntaxError) and exc.filename == filename:
            line = exc.lineno
        report = traceback.TracebackException(type(exc), exc, tb)
        # frames of this module at the end (our stdin, display) are not the reader's business
        while len(report.stack) > 1 and report.stack[-1].filename == _HERE:
            del report.stack[-1]
        text = "".join(report.format())
        return {"type": type(exc).__name__, "message": str(exc), "traceback": text, "line": line}


class Example:
    """One ``>>>`` example of a transcript: its source, the expected output, its 1-based line."""

    __slots__ = ("column", "line", "source", "want")

    def __init__(self, source: str, want: str, line: int, column: int = 4) -> None:
        self.source = source
        self.want = want
        self.line = line
        self.column = column  # where the source starts on its line (after ">>> ")


_PROMPT = re.compile(r"^(\s*)>>>(?: |$)")
_CONTINUATION = re.compile(r"^\s*\.\.\.(?: |$)")
_EXCEPTION = re.compile(
    r"^Traceback \((?:most recent call last|innermost last)\):[ \t]*$.*?^(?P<msg>\w+.*)",
    re.MULTILINE | re.DOTALL,
)


def parse_transcript(text: str) -> list[Example]:
    """The examples of a transcript, parsed like :mod:`doctest` does.

    A ``>>>`` line starts an example, ``...`` lines continue its source, and the following
    non-blank lines up to a blank line or the next prompt are its expected output.
    """
    lines = text.split("\n")
    examples: list[Example] = []
    i = 0
    while i < len(lines):
        match = _PROMPT.match(lines[i])
        if not match:
            i += 1
            continue
        indent = len(match.group(1))
        start = i
        source = [lines[i][indent + 4 :]]
        i += 1
        while i < len(lines) and _CONTINUATION.match(lines[i]):
            source.append(lines[i][indent + 4 :])
            i += 1
        want: list[str] = []
        while i < len(lines) and lines[i].strip() and not _PROMPT.match(lines[i]):
            line = lines[i]
            want.append(line[indent:] if not line[:indent].strip() else line.lstrip())
            i += 1
        expected = "".join(f"{w}\n" for w in want)
        examples.append(Example("\n".join(source) + "\n", expected, start + 1, indent + 4))
    return examples


def output_matches(want: str, got: str) -> bool:
    """doctest's comparison with ``ELLIPSIS``: ``...`` in *want* matches any text."""
    want = re.sub(r"(?m)^<BLANKLINE>$", "", want)
    got = re.sub(r"(?m)^[^\S\n]+$", "", got)
    if want == got:
        return True
    if "..." not in want:
        return False
    parts = want.split("...")
    start, end = 0, len(got)
    if parts[0]:
        if not got.startswith(parts[0]):
            return False
        start = len(parts[0])
    if parts[-1]:
        if not got.endswith(parts[-1]):
            return False
        end -= len(parts[-1])
    if start > end:
        return False
    for part in parts[1:-1]:
        found = got.find(part, start, end)
        if found < 0:
            return False
        start = found + len(part)
    return True


def _expected_exception(want: str) -> str | None:
    """The exception line(s) an expected traceback ends with, or None if none is expected."""
    match = _EXCEPTION.match(want)
    return match.group("msg") if match else None


class _Mismatch(Exception):
    """A transcript example printed something other than the transcript says."""

    def __init__(self, example: Example, got: str) -> None:
        super().__init__("output differs from the transcript")
        shown_want = "".join(f"    {ln}\n" for ln in example.want.splitlines()) or "    nothing\n"
        shown_got = "".join(f"    {ln}\n" for ln in got.splitlines()) or "    nothing\n"
        source = example.source.splitlines()[0] if example.source.strip() else ""
        self.error = {
            "type": "OutputMismatch",
            "message": f"the output of >>> {source} differs from the transcript",
            "traceback": f"Expected:\n{shown_want}Got:\n{shown_got}",
            "line": example.line,
        }


def _none(value: Any) -> Any:
    """``None`` for JavaScript's ``null`` too: Pyodide passes ``null`` from a host as ``jsnull``."""
    return None if value is None or type(value).__name__ == "JsNull" else value


def _is_awaitable_code(code: Any) -> bool:
    return bool(code.co_flags & 0x80)  # CO_COROUTINE: top-level await was used
