"""The one executor: runs a snippet in its session and reports what a reader sees.

This module is loaded *inside* the runtime, both by the browser's Web Worker and by the Node.js build
check (as the top-level module ``pyrun_executor``), and it is plain CPython too, so it is unit-tested
here. Keeping it the only place that knows how a snippet runs is what makes "passes the check" mean
"works for the reader". It must therefore stay standard-library only and importable on its own.

Every message goes through one callback, ``emit(json_text)``, as a JSON object with a ``type``:

* ``{"type": "stream", "run": ID, "stream": "stdout"|"stderr", "text": ..., "dropped": N}``
* ``{"type": "display", "run": ID, "bundle": {mime: data}}``

and :meth:`Executor.run` returns (as JSON text) ``{"ok": bool, "error": {...} | None, ...}``.
"""

from __future__ import annotations

import ast
import base64
import builtins
import io
import json
import linecache
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

Emit = Callable[[str], Any]

#: seconds between two stream messages while output is flowing
FLUSH_INTERVAL = 0.05
#: characters buffered before a stream message is forced
FLUSH_SIZE = 16_384


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
        self._last = time.monotonic()

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
        self._parts.append(text)
        self._size += len(text)
        if self._size > self._limit:
            joined = "".join(self._parts)
            keep = joined[-self._limit :]
            self._dropped += len(joined) - len(keep)
            self._parts, self._size = [keep], len(keep)
        now = time.monotonic()
        if self._size >= FLUSH_SIZE or now - self._last >= FLUSH_INTERVAL:
            self.flush()
        return len(text)

    def flush(self) -> None:
        self._last = time.monotonic()
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
        self._emit(json.dumps(message))


class NoInput(io.TextIOBase):
    """``sys.stdin`` during a run: ``input()`` fails at once with a message, never hangs."""

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise EOFError(
            "input() has no keyboard here: examples run without standard input; "
            "set the value in the code instead"
        )

    def read(self, size: int | None = -1) -> str:
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
                self.emit(json.dumps({"type": "display", "run": holder["run"], "bundle": bundle}))

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
    ) -> str:
        """Run *code*; return the result as JSON text (see the module docstring)."""
        ns = self.namespace(session, run_id)
        display = ns.get("display")
        if display is not None and hasattr(display, "_pyrun_holder"):
            display._pyrun_holder["run"] = run_id
        lines = code.splitlines(True)
        linecache.cache[filename] = (len(code), None, lines, filename)
        out = StreamCapture(self.emit, "stdout", run_id, self.output_limit)
        err = StreamCapture(self.emit, "stderr", run_id, self.output_limit)
        saved = sys.stdout, sys.stderr, sys.stdin
        sys.stdout, sys.stderr, sys.stdin = out, err, NoInput()
        error: dict[str, Any] | None = None
        matched = False
        started = time.monotonic()
        try:
            await self._execute(code, ns, filename)
        except BaseException as exc:  # the reader's code may raise anything, KeyboardInterrupt too
            error = self._describe(exc, filename)
            matched = raises is not None and _exception_matches(exc, raises)
        finally:
            out.flush()
            err.flush()
            sys.stdout, sys.stderr, sys.stdin = saved
        result: dict[str, Any] = {
            "ok": error is None,
            "error": error,
            "seconds": round(time.monotonic() - started, 4),
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
        return json.dumps(result)

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
        text = "".join(traceback.TracebackException(type(exc), exc, tb).format())
        return {"type": type(exc).__name__, "message": str(exc), "traceback": text, "line": line}


def _is_awaitable_code(code: Any) -> bool:
    return bool(code.co_flags & 0x80)  # CO_COROUTINE: top-level await was used
