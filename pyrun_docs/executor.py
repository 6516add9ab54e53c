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

import base64
import builtins
import io
import json
import re
import sys
import time

try:  # CPython (Pyodide, the unit tests); MicroPython has none of these and never reads annotations
    import ast
    import linecache
    import traceback
    from collections.abc import Awaitable, Callable
    from typing import TYPE_CHECKING, Any

    Emit = Callable[[str], Any]
except ImportError:
    TYPE_CHECKING = False  # type: ignore[misc]

#: the MicroPython runtime (its host loads this module too): no ``ast``, no ``sys.stdout``
#: assignment, no ``__traceback__``, no function attributes; the code paths marked for it cope
MICROPYTHON = sys.implementation.name == "micropython"

# Bound once: a snippet that monkeypatches ``json.dumps`` or ``time.monotonic`` must not break the
# executor's own reporting for the rest of the session.
_dumps = json.dumps
_HERE = __file__


def _ticks() -> float:
    return time.ticks_ms() / 1000  # type: ignore[attr-defined,no-any-return]  # MicroPython


_monotonic = time.monotonic if hasattr(time, "monotonic") else _ticks

#: seconds between two stream messages while output is flowing
FLUSH_INTERVAL = 0.05
#: characters buffered before a stream message is forced
FLUSH_SIZE = 16_384
#: characters of one transcript example's output kept for comparing with the transcript
RECORD_LIMIT = 1_000_000

if TYPE_CHECKING or not MICROPYTHON:
    _TextBase = io.TextIOBase
else:  # MicroPython's io has no TextIOBase (and its IOBase would turn writes into bytes)
    _TextBase = object


class StreamCapture(_TextBase):
    """A text stream that batches writes into ``stream`` messages.

    Batching keeps a print loop from sending one message per line; :meth:`flush` at the end of each
    run guarantees the trailing partial line is never lost (a known Pyodide/MicroPython pitfall).
    The buffer is capped: when a single batch outgrows *limit*, its head is dropped and counted.
    """

    def __init__(self, emit: Emit, stream: str, run_id: str, limit: int, pull: Any = None) -> None:
        super().__init__()
        self._emit = emit
        #: MicroPython hosts: ``pull(stream)`` returns what the snippet wrote to the real stream
        #: (``sys.stdout.write``), taken in before each write so the order is kept
        self._pull = pull
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
        self.absorb()
        self._add(text)
        now = _monotonic()
        if self._size >= FLUSH_SIZE or now - self._last >= FLUSH_INTERVAL:
            self.flush()
        return len(text)

    def absorb(self) -> None:
        """Take in what the host collected from the real stream (MicroPython only)."""
        if self._pull is not None:
            raw = self._pull(self._stream)
            if raw:
                self._add(str(raw))

    def _add(self, text: str) -> None:
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

    def flush(self) -> None:
        self.absorb()
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


class NoInput(_TextBase):
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
    for cls in _classes(type(exc)):
        name = cls.__name__
        qualname = getattr(cls, "__qualname__", name)
        qual = f"{getattr(cls, '__module__', 'builtins')}.{qualname}"
        if expected in (name, qualname, qual):
            return True
    return False


def _classes(cls: type) -> list[type]:
    """``cls.__mro__``, or its bases breadth first on MicroPython (which has no ``__mro__``)."""
    mro = getattr(cls, "__mro__", None)
    if mro is not None:
        return list(mro)
    found: list[type] = []
    todo = [cls]
    while todo:
        item = todo.pop(0)
        if item not in found:
            found.append(item)
            todo.extend(getattr(item, "__bases__", ()))
    return found


class Executor:
    """Runs snippets in named session namespaces and reports through *emit*.

    Sessions are namespaces within one interpreter: ``sys.modules``, the file system and
    ``os.environ`` are shared between them. Hosts that need real isolation (pages in the build check)
    give each page its own interpreter.
    """

    def __init__(self, emit: Emit, *, output_limit: int = 100_000, pull: Any = None) -> None:
        self.emit = emit
        self.output_limit = output_limit
        if not MICROPYTHON:
            _install_matplotlib_backend()  # plt.show() displays PNGs (see the end of this module)
        self.sessions: dict[str, dict[str, Any]] = {}
        #: MicroPython hosts: ``pull(stream)`` -> text written to the real stdout/stderr
        self.pull = pull
        #: display() function id -> its run id holder (MicroPython functions take no attributes)
        self._holders: dict[int, dict[str, str]] = {}
        self._streams: tuple[StreamCapture, ...] = ()
        self._sources: dict[str, list[str]] = {}

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
            for stream in self._streams if MICROPYTHON else (sys.stdout, sys.stderr):
                stream.flush()
            for obj in objs:
                bundle = mime_bundle(obj)
                self.emit(_dumps({"type": "display", "run": holder["run"], "bundle": bundle}))

        self._holders[id(display)] = holder
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
        holder = self._holders.get(id(ns.get("display")))
        if holder is not None:
            holder["run"] = run_id
        if MICROPYTHON:
            self._sources[filename] = code.split("\n")
        else:
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
        out = StreamCapture(self.emit, "stdout", run_id, self.output_limit, self.pull)
        err = StreamCapture(self.emit, "stderr", run_id, self.output_limit, self.pull)
        self._streams = (out, err)
        if MICROPYTHON:  # sys.stdout cannot be replaced there: print() and input() can
            saved_builtins = builtins.print, builtins.input
            builtins.print = _printer(out, err, saved_builtins[0])
            builtins.input = _reader(out, NoInput(_lines(stdin), out))
        else:
            saved = sys.stdout, sys.stderr, sys.stdin
            sys.stdout, sys.stderr, sys.stdin = out, err, NoInput(_lines(stdin), out)
        error: dict[str, Any] | None = None
        matched = False
        started = _monotonic()
        global _RUNNING
        _RUNNING = (self.emit, run_id)
        try:
            await body(out)
            _show_figures()  # figures left open are shown, as in a notebook
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
            if MICROPYTHON:
                builtins.print, builtins.input = saved_builtins
            else:
                sys.stdout, sys.stderr, sys.stdin = saved
            self._streams = ()
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
        if MICROPYTHON:
            return self._run_example_micropython(example, ns, filename, out)
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

    def _run_example_micropython(
        self, example: Example, ns: dict[str, Any], filename: str, out: StreamCapture
    ) -> None:
        """:meth:`_run_example` without ``ast``: an expression's ``repr`` is printed, as at a prompt."""
        record: list[str] = []
        out.record = record
        try:
            value = _exec_last_value("\n" * (example.line - 1) + example.source, ns, filename)
            if value is not None:
                ns["_"] = value
                out.write(repr(value) + "\n")
            out.absorb()
        except BaseException as exc:
            expected = _expected_exception(example.want)
            if expected is None:
                raise
            got = f"{type(exc).__name__}: {_exception_text(exc)}\n"
            if not output_matches(expected, got):
                raise _Mismatch(
                    example, f"Traceback (most recent call last):\n  ...\n{got}"
                ) from None
            return
        finally:
            out.record = None
        got = "".join(record)
        if _expected_exception(example.want) is not None or not output_matches(example.want, got):
            raise _Mismatch(example, got)

    async def _execute(self, code: str, ns: dict[str, Any], filename: str) -> None:
        if MICROPYTHON:
            value = _exec_last_value(code, ns, filename)
            if value is not None:
                ns["_"] = value
                ns["display"](value)
            return
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
        if MICROPYTHON:
            return self._describe_micropython(exc, filename)
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

    def _describe_micropython(self, exc: BaseException, filename: str) -> dict[str, Any]:
        """:meth:`_describe` from MicroPython's printed traceback (it has no ``__traceback__``)."""
        buffer = io.StringIO()
        sys.print_exception(exc, buffer)  # type: ignore[attr-defined]
        lines = buffer.getvalue().rstrip("\n").split("\n")
        frames = [i for i, ln in enumerate(lines) if ln.startswith('  File "')]
        tail = lines[frames[-1] + 1 :] if frames else lines
        name, message = type(exc).__name__, _exception_text(exc)
        if tail and tail[0] == f"{name}: {exc}":
            tail[0] = f"{name}: {message}"  # KeyError: 'k', as CPython writes it
        mine = f'  File "{filename}"'
        start = next((i for i in frames if lines[i].startswith(mine)), None)
        kept = [i for i in frames if start is not None and i >= start]
        while len(kept) > 1 and lines[kept[-1]].startswith(f'  File "{_HERE}"'):
            kept.pop()  # our own frames (print, input) are not the reader's business
        source = self._sources.get(filename, [])
        shown = ["Traceback (most recent call last):"] if frames else []
        line: int | None = None
        repeated = 0
        previous = ""
        for i in kept or frames:
            if previous == lines[i] and i != (kept or frames)[-1]:
                repeated += 1  # deep recursion: said once, as CPython does
                continue
            previous = lines[i]
            if repeated:
                shown.append(f"  [Previous line repeated {repeated} more times]")
                repeated = 0
            shown.append(lines[i])
            if lines[i].startswith(mine):
                number = _frame_line(lines[i])
                line = number or line
                if number and 0 < number <= len(source) and source[number - 1].strip():
                    shown.append("    " + source[number - 1].strip())
        hint = micropython_hint(exc, source[line - 1] if line and line <= len(source) else "")
        text = "\n".join(shown + tail) + "\n"
        if hint:
            message = f"{message} ({hint})"
            text += f"\n{hint}\n"
        return {"type": name, "message": message, "traceback": text, "line": line}

    def run_blocking(
        self,
        code: str,
        run_id: str,
        session: str | None,
        filename: str,
        raises: str | None,
        stdin: Any,
        transcript: bool,
    ) -> str:
        """:meth:`run` or :meth:`run_transcript` for hosts that cannot pass keyword arguments or
        await a coroutine (MicroPython's JavaScript API); top-level ``await`` is not available."""
        method = self.run_transcript if transcript else self.run
        coro = method(
            code, run_id=run_id, session=session, filename=filename, raises=raises, stdin=stdin
        )
        try:
            coro.send(None)
        except StopIteration as stop:
            return str(stop.value)
        coro.close()
        raise RuntimeError("the example waited for something this host cannot wait for")


def _exec_last_value(code: str, ns: dict[str, Any], filename: str) -> Any:
    """Run *code* in *ns*; return the value of a final expression statement (else ``None``).

    For MicroPython, which has no ``ast``: the last line starting at column 0 begins the final
    statement; if it parses as an expression (wrapped in parentheses) and everything above it
    compiles on its own, the two run separately, else the whole code runs as it is. Blank lines
    keep line numbers as in the editor.
    """
    lines = code.split("\n")
    last = None
    for i in range(len(lines) - 1, -1, -1):
        text = lines[i]
        if text.strip() and not text[:1].isspace() and not text.startswith("#"):
            last = i
            break
    head = tail = None
    if last is not None:
        expr = "\n".join(lines[last:])
        try:
            tail = compile("\n" * last + "_pyrun_value_ = (" + expr + "\n)", filename, "exec")
            head = compile("\n".join(lines[:last]), filename, "exec")
        except SyntaxError:
            tail = None
    if tail is None or head is None:
        exec(compile(code, filename, "exec"), ns)
        return None
    exec(head, ns)
    exec(tail, ns)
    return ns.pop("_pyrun_value_", None)


def _exception_text(exc: BaseException) -> str:
    """``str(exc)`` as CPython shows it (MicroPython leaves out a KeyError's quotes)."""
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return repr(exc.args[0])
    return str(exc)


def _frame_line(text: str) -> int | None:
    """The line number of a traceback's ``  File "x", line N, in f`` line."""
    _, found, rest = text.partition(", line ")
    digits = ""
    for char in rest if found else "":
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else None


#: statements a MicroPython SyntaxError on that line points to (CPython has them, MicroPython not)
_NEW_SYNTAX = ("match ", "case ", "type ", "except*", "except *")


def micropython_hint(exc: BaseException, line: str = "") -> str:
    """Why *exc* is MicroPython's limitation rather than the example's mistake ("" if it is not).

    MicroPython lacks much of the standard library (``dataclasses``, ``typing``, ``enum``...) and
    some syntax (``match``); such an example needs the full CPython of Pyodide.
    """
    text = str(exc)
    advice = "use `runtime: pyodide` for this example"
    if isinstance(exc, ImportError) and text.startswith("no module named"):
        name = text.partition("'")[2].partition("'")[0].split(".")[0]
        return f"a MicroPython limitation: MicroPython has no `{name}` module; {advice}"
    if isinstance(exc, AttributeError) and text.startswith("module '"):
        return f"a MicroPython limitation: its module lacks this ({text}); {advice}"
    if isinstance(exc, SyntaxError) and line.strip().startswith(_NEW_SYNTAX):
        return f"a MicroPython limitation: MicroPython does not support this syntax; {advice}"
    if isinstance(exc, NotImplementedError):
        return f"a MicroPython limitation: MicroPython does not implement this; {advice}"
    return ""


def _printer(out: StreamCapture, err: StreamCapture, original: Any) -> Any:
    """``print`` for MicroPython runs: into the captured streams, like ``sys.stdout`` elsewhere."""
    real_out, real_err = sys.stdout, sys.stderr

    def print(
        *args: Any, sep: Any = " ", end: Any = "\n", file: Any = None, flush: Any = False
    ) -> None:
        target = {None: out, real_out: out, real_err: err}.get(file) if _hashable(file) else None
        if target is None:
            return original(*args, sep=sep, end=end, file=file)  # type: ignore[no-any-return]
        sep = " " if sep is None else sep
        end = "\n" if end is None else end
        target.write(sep.join([str(a) for a in args]) + end)
        if flush:
            target.flush()
        return None

    return print


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _reader(out: StreamCapture, stdin: NoInput) -> Any:
    """``input`` for MicroPython runs: the prompt into the captured output, then the stdin lines."""

    def input(prompt: Any = "") -> str:
        if prompt:
            out.write(str(prompt))
        return stdin.readline().rstrip("\n")

    return input


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
_TRACEBACK_HEADS = ("Traceback (most recent call last):", "Traceback (innermost last):")


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
    # string operations, not regular expressions: MicroPython's re has no flags
    want = "\n".join("" if ln == "<BLANKLINE>" else ln for ln in want.split("\n"))
    got = "\n".join("" if not ln.strip() else ln for ln in got.split("\n"))
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
    lines = want.split("\n")
    if lines[0].rstrip(" \t") not in _TRACEBACK_HEADS:
        return None
    for i in range(1, len(lines)):
        first = lines[i][:1]
        if first.isalpha() or first.isdigit() or first == "_":
            return "\n".join(lines[i:])
    return None


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


# --- matplotlib: plt.show() becomes PNG display messages ---------------------------------------
# The browser's default matplotlib backend draws on a page canvas, which a Web Worker does not have.
# ``MPLBACKEND=module://pyrun_mpl_backend`` (set by the Executor) loads the small backend below,
# created by an import hook only when matplotlib asks for it (so this module never imports
# matplotlib): Agg renders, and ``plt.show()`` displays each open figure as a PNG, in the browser
# and in the check alike. Figures still open when a snippet ends are shown too, as in a notebook.

MPL_BACKEND = "pyrun_mpl_backend"
_MPL_BACKEND_SOURCE = """
from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas


def show(*args, **kwargs):
    show_figures()
"""

#: ``(emit, run_id)`` of the snippet running now (the last one between runs)
_RUNNING: tuple[Emit, str] | None = None


class _BackendFinder:
    """Import hook that provides :data:`MPL_BACKEND` (and nothing else)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != MPL_BACKEND:
            return None
        import importlib.util

        return importlib.util.spec_from_loader(name, self)  # type: ignore[arg-type]  # duck-typed loader

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        module.show_figures = _show_figures
        exec(_MPL_BACKEND_SOURCE, module.__dict__)


def _install_matplotlib_backend() -> None:
    import os

    if not any(isinstance(finder, _BackendFinder) for finder in sys.meta_path):
        sys.meta_path.append(_BackendFinder())
    os.environ.setdefault("MPLBACKEND", f"module://{MPL_BACKEND}")


def _show_figures() -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None or _RUNNING is None:
        return
    emit, run_id = _RUNNING
    for number in pyplot.get_fignums():
        figure = pyplot.figure(number)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        sys.stdout.flush()
        bundle = {"image/png": png, "text/plain": repr(figure)}
        emit(_dumps({"type": "display", "run": run_id, "bundle": bundle}))
    pyplot.close("all")
