"""The one executor: runs a snippet in its session and reports what a reader sees.

This module is loaded *inside* the runtime, both by the browser's Web Worker and by the Node.js build
check (as the top-level module ``pyrun_executor``), and it is plain CPython too, so it is unit-tested
here. Keeping it the only place that knows how a snippet runs is what makes "passes the check" mean
"works for the reader". It must therefore stay standard-library only and importable on its own.

Every message goes through one callback, ``emit(json_text)``, as a JSON object with a ``type``:

* ``{"type": "stream", "run": ID, "stream": "stdout"|"stderr", "text": ..., "dropped": N}``
* ``{"type": "display", "run": ID, "bundle": {mime: data}}``

and :meth:`Executor.run` returns (as JSON text) ``{"ok": bool, "error": {...} | None, ...}``.
:meth:`Executor.run_transcript` judges a ``>>>`` transcript with the stdlib's :mod:`doctest` (its
parser, runner and output checker, with ``sphinx.ext.doctest``'s default option flags), or, on
MicroPython, which has no ``doctest``, with the small port at the end of this module.
"""

from __future__ import annotations

import base64
import builtins
import io
import json
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
_HERE = __file__
#: a value no namespace holds
_NOTHING = object()


def _own_dumps() -> Callable[[Any], str]:
    """``json.dumps`` with default settings, from a copy of ``json.encoder`` of our own: binding
    ``json.dumps`` was not enough, since it looks ``JSONEncoder.encode`` and ``iterencode`` up
    at each call, so a snippet replacing either on the class turned every later result into
    text the host could not read ("the interpreter failed"). MicroPython's ``json``: as it is."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("json.encoder")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception:  # MicroPython (no importlib.util), or a standard library without the file
        return json.dumps
    return module.JSONEncoder().encode  # type: ignore[no-any-return]


_dumps = _own_dumps()

_quote: Callable[[str], str] | None
try:  # CPython's C string encoder (MicroPython's json has none)
    from json.encoder import encode_basestring_ascii as _quote
except ImportError:
    _quote = None


def stream_message(run_id: str, stream: str, text: str, dropped: int = 0) -> str:
    """``_dumps`` of a ``stream`` message, the executor's most frequent (two per ``>>>`` example:
    its echo and its output), written directly: ``json.dumps`` sets a new encoder up for each
    call, ~40 us of an example's ~300 in Pyodide, where the string encoder alone is ~2 us."""
    if _quote is None:
        message: dict[str, Any] = {"type": "stream", "run": run_id, "stream": stream, "text": text}
        if dropped:
            message["dropped"] = dropped
        return _dumps(message)
    tail = f', "dropped": {int(dropped)}}}' if dropped else "}"
    return (
        f'{{"type": "stream", "run": {_quote(run_id)}, "stream": {_quote(stream)}, '
        f'"text": {_quote(text)}{tail}'
    )


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


#: a run's stream sends its text early, to keep the order with the other stream, this many times;
#: then it batches again (a loop writing to both in turn sent 200,000 messages for 100,000 turns)
SWITCHES = 500


class StreamCapture(_TextBase):
    """A text stream that batches writes into ``stream`` messages.

    Batching keeps a print loop from sending one message per line; :meth:`flush` at the end of each
    run guarantees the trailing partial line is never lost (a known Pyodide/MicroPython pitfall).
    The buffer is capped: when a single batch outgrows *limit*, its head is dropped and counted.
    """

    def __init__(self, emit: Emit, stream: str, run_id: str, limit: int, pull: Any = None) -> None:
        super().__init__()
        #: the run's other stream: what it holds goes out before this one's next write, so the
        #: reader sees stdout and stderr in the order they were written, as a console shows
        #: them (a warning came after all of a snippet's printed lines)
        self.partner: StreamCapture | None = None
        #: called before each write (a transcript's example: what it printed so far, which
        #: doctest holds until the example ends, goes out first)
        self.before: Callable[[], None] | None = None
        self._emit = emit
        #: MicroPython hosts: ``pull(stream)`` returns what the snippet wrote to the real stream
        #: (``sys.stdout.write``), taken in before each write so the order is kept
        self._pull = pull
        self._stream = stream
        self._limit = limit
        self._binary: _BinaryWriter | None = None
        self.restart(run_id)

    def restart(self, run_id: str) -> None:
        """Aim the stream at a new run: what is written from now on is that run's output."""
        self._run = run_id
        #: the times this run's other stream sent this one's text early (:data:`SWITCHES`)
        self.switches = 0
        self._parts: list[str] = []
        self._size = 0
        self._dropped = 0
        self._last = _monotonic()
        self.line_ended = True
        #: while a transcript example runs, everything it writes, for the comparison (capped)
        self.record: list[str] | None = None
        self._recorded = 0
        #: the example wrote more than :data:`RECORD_LIMIT` characters (too large to compare)
        self.overflowed = False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def buffer(self) -> _BinaryWriter:
        """Bytes written here are this stream's text, read as UTF-8 (``sys.stdout.buffer.write``
        failed: "'StreamCapture' object has no attribute 'buffer'")."""
        if self._binary is None:
            self._binary = _BinaryWriter(self)
        return self._binary

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        if self.before is not None:
            self.before()
        partner = self.partner
        if partner is not None and (partner._parts or partner._dropped):
            if partner.switches < SWITCHES:
                partner.switches += 1
                partner.flush()
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
        if self.record is not None:
            if self._recorded + len(text) > RECORD_LIMIT:
                self.overflowed = True  # cannot be compared: the example fails, saying so
            else:
                self.record.append(text)
                self._recorded += len(text)
        self._parts.append(text)
        self._size += len(text)
        #: the last text ended its line (an ``input()`` that fails ends its prompt's line first)
        self.line_ended = text.endswith("\n")
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
        dropped, self._dropped = self._dropped, 0
        self._emit(stream_message(self._run, self._stream, text, dropped))


def _plain_decode(raw: bytes) -> str:
    return raw.decode("utf-8")


class _BinaryWriter:
    """A captured stream's ``buffer``: bytes in, its text out."""

    def __init__(self, text: StreamCapture) -> None:
        self._text = text
        self._decode: Callable[[bytes], str] = _plain_decode
        try:  # a character split between two writes is one character (not MicroPython's)
            import codecs

            self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        except (ImportError, AttributeError):
            pass

    def write(self, data: Any) -> int:
        raw = bytes(data)
        text = self._decode(raw)
        if text:
            self._text.write(text)
        return len(raw)

    def flush(self) -> None:
        self._text.flush()

    def writable(self) -> bool:
        return True


def _lines(value: Any) -> list[str] | None:
    """The ``stdin`` lines as a list: hosts pass a list, a JSON text, or a JS array proxy."""
    value = _none(value)
    if value is None:
        return None
    if isinstance(value, str):
        value = json.loads(value)
    return [str(line) for line in value]


class StderrToStdout(_TextBase):
    """A session's ``sys.stderr`` once one of its snippets bound it to ``sys.stdout``: what is
    written goes to whatever ``sys.stdout`` is then, so a transcript's example captures it.

    As in the doctest builder, whose runners share one captured stdout that such an assignment
    makes ``sys.stderr`` for good (pyparsing's ``trace_parse_action`` docstring does it in a
    ``testsetup`` and expects what the traced function writes to stderr in its ``testoutput``).
    """

    #: the stream stands for stdout (see :meth:`Executor._keep_stderr`)
    pyrun_stdout = True

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return int(sys.stdout.write(text) or 0)

    def flush(self) -> None:
        sys.stdout.flush()


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
        if self._echo is not None and not getattr(self._echo, "line_ended", True):
            self._echo.write("\n")  # the prompt's line ends before the traceback starts
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


def _is_builtin(name: str) -> bool:
    """Whether *name* is a builtin's (``iter``, ``hash``; not ``_``, which consoles rebind)."""
    import builtins

    return not name.startswith("_") and hasattr(builtins, name)


class _ModuleView:
    """The names a docstring's examples run with, and what they leave in their session.

    Examples see the names the module imports and defines, as doctest's finder and pytest's
    ``--doctest-modules`` give them, and also what earlier examples of their session (the page's
    group, under Sphinx) defined, as the doctest builder gives them. Where both have a name the
    module's wins: an earlier example's ``first = ...`` must not hide the function a later
    docstring documents (more-itertools). :meth:`keep` writes back into the session what the
    examples defined, changed or deleted; the module's own names stay out of it.

    Within one docstring, though, its examples' own names win, as in doctest, where a docstring is
    one test whose copy of the module's globals its examples change: toolz's ``do`` docstring
    imports the curried ``do`` in one block and calls it in the next. :attr:`shadowed` holds the
    module's names the examples bound to something else (to be put over the module's globals
    again for a later block of the same docstring, see :meth:`Executor.with_module`).
    """

    def __init__(
        self, session: dict[str, Any], names: dict[str, Any], module: dict[str, Any] | None
    ) -> None:
        self.session = session
        #: what the examples run in (the session itself when there is no module)
        self.names = names
        self.module = module
        self.shadowed: set[str] = set()

    def keep(self) -> None:
        if self.module is None:
            return
        for name, value in self.names.items():
            if self.module.get(name, _NOTHING) is not value:
                self.session[name] = value
                if name in self.module or _is_builtin(name):
                    self.shadowed.add(name)
        for name in [n for n in self.session if n not in self.names]:
            del self.session[name]


class Executor:
    """Runs snippets in named session namespaces and reports through *emit*.

    Sessions are namespaces within one interpreter: ``sys.modules``, the file system and
    ``os.environ`` are shared between them. Hosts that need real isolation (pages in the build check)
    give each page its own interpreter. A session carries more than its globals from snippet to
    snippet: its ``contextvars`` values and the ``from __future__`` features it imported.

    ``display`` is a builtin while an executor exists (as in IPython), not a name in the namespace:
    ``globals()`` holds only what the reader's code defined.
    """

    def __init__(
        self, emit: Emit, *, output_limit: int = 100_000, pull: Any = None, port: bool = False
    ) -> None:
        self.emit = emit
        self.output_limit = output_limit
        if not MICROPYTHON:
            _install_matplotlib_backend()  # plt.show() displays PNGs (see the end of this module)
            _no_name_lookups()
        self.sessions: dict[str, dict[str, Any]] = {}
        #: MicroPython hosts: ``pull(stream)`` -> text written to the real stdout/stderr
        self.pull = pull
        #: judge transcripts with the small doctest port even where ``doctest`` exists (the
        #: differential test holds the port to doctest's verdicts in CPython too)
        self.port = port or MICROPYTHON
        #: the run that output belongs to (``display()`` called between runs: the last one)
        self.run_id = "run"
        #: session -> its ``contextvars`` context at the end of its last run
        self._contexts: dict[str, Any] = {}
        #: the sessions whose ``__name__`` is the one :meth:`namespace` put there
        self._named: set[str | None] = set()
        #: session -> (the docstring its last run came from, the module names its examples
        #: shadowed so far): they win over the module's globals in that docstring's next block
        self._docstrings: dict[str | None, tuple[str, set[str]]] = {}
        #: session -> the ``sys.stderr`` one of its snippets set (:meth:`_keep_stderr`)
        self._stderr: dict[str, Any] = {}
        self._streams: tuple[StreamCapture, ...] = ()
        #: the stdout and stderr captures, one object each for every run (:meth:`_capture`)
        self._captures: dict[str, StreamCapture] = {}
        self._sources: dict[str, list[str]] = {}
        builtins.display = self.display  # type: ignore[attr-defined]

    def reset(self, session: str | None = None) -> None:
        """Forget one session's namespace, or all of them."""
        if session is None:
            self.sessions.clear()
            self._named.clear()
            self._contexts.clear()
            self._docstrings.clear()
            self._stderr.clear()
        else:
            self.sessions.pop(session, None)
            self._named.discard(session)
            self._contexts.pop(session, None)
            self._docstrings.pop(session, None)
            self._stderr.pop(session, None)

    def namespace(
        self,
        session: str | None,
        transcript: bool = False,
        module: str | None = None,
        main: bool = False,
    ) -> dict[str, Any]:
        """The session's namespace (a new one without a session).

        A plain snippet runs as ``__main__``; a transcript gets what ``sphinx.ext.doctest`` gives a
        group, a namespace without ``__name__`` (so ``class A`` prints as ``<class 'A'>``, as the
        docs were written against) whose ``__builtins__`` is the builtins' dict, as ``exec``
        puts it in a namespace without one (``type(__builtins__)`` was ``module``). In a session
        mixing both, each snippet sees its own kind's rule.
        MicroPython keeps ``__name__`` (its classes print without a module either way). A
        docstring's examples run with their module's ``__name__`` (:meth:`with_module`), as
        doctest's finder gives it. *main*: a Markdown page's transcript runs as ``python -m
        doctest`` and pytest's ``--doctest-glob`` run one, with ``__name__ == "__main__"``.
        """
        ns = self.sessions.get(session) if session is not None else None
        if ns is None:
            ns = {"__builtins__": builtins}
            if session is not None:
                self.sessions[session] = ns
        named = "__main__" if main or not transcript or MICROPYTHON else None
        if named is not None:
            ns["__name__"] = named
            self._named.add(session)
        elif session in self._named:  # only the ``__name__`` put here: one an example bound
            # stays for the group's later blocks, as in the doctest builder (zope.testing's
            # ``module.setUp`` binds it; the next block's classes are then of that module)
            self._named.discard(session)
            if ns.get("__name__") == "__main__":
                del ns["__name__"]
        if transcript and not MICROPYTHON:
            ns["__builtins__"] = builtins.__dict__
        else:
            ns["__builtins__"] = builtins
        return ns

    def _keep_stderr(self, session: str, bound: Any, ours: tuple[Any, ...]) -> None:
        """Keep the ``sys.stderr`` a snippet of *session* set, for the session's later snippets,
        as the doctest builder keeps it (it never puts ``sys.stderr`` back): bound to stdout (the
        run's captured stdout, or a transcript's), it follows stdout (:class:`StderrToStdout`);
        bound to another stream, that stream; put back (*ours*: the run's own, the kept one, the
        host's), the run's capture again."""
        if any(bound is stream for stream in ours):
            if bound is not ours[0] and bound is not ours[1]:
                self._stderr.pop(session, None)  # the host's stream again: captured as before
            return
        if bound is sys.stdout or getattr(bound, "pyrun_stdout", False):
            self._stderr[session] = StderrToStdout()
        else:
            self._stderr[session] = bound

    def with_module(
        self,
        ns: dict[str, Any],
        module: str | None,
        session: str | None = None,
        docstring: str | None = None,
    ) -> _ModuleView:
        """The namespace a docstring's examples run in (:class:`_ModuleView`): the session's
        names with *module*'s globals over them (*ns* itself without a module), and over those
        the module names earlier blocks of the same *docstring* (the documented object's name)
        bound in this *session*, when its last run was one of them."""
        last = self._docstrings.pop(session, None)
        if module is None:
            return _ModuleView(ns, ns, None)
        try:
            __import__(module)
            # the module itself, not the attribute of its package that may hide it (a package
            # doing ``from .double import double``: validators' docstrings got the function)
            imported = sys.modules[module]
        except Exception as exc:  # not the example's fault: say what failed, and where
            raise ImportError(
                f"importing {module} for this docstring's globals failed: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        view = dict(ns)
        view.update((k, v) for k, v in imported.__dict__.items() if k != "__builtins__")
        for name in [n for n in ns if _is_builtin(n) and n not in imported.__dict__]:
            # a builtin is one of the module's names too: an earlier docstring's ``iter =
            # range(11)`` broke the later ones calling iter() (jaraco.itertools)
            del view[name]
        result = _ModuleView(ns, view, imported.__dict__)
        if docstring is not None:
            if last is not None and last[0] == docstring:
                result.shadowed = last[1]
                view.update((name, ns[name]) for name in last[1] if name in ns)
            self._docstrings[session] = (docstring, result.shadowed)
        return result

    def display(self, *objs: Any) -> None:
        """Show each object with its richest representation (IPython's ``display``)."""
        for stream in self._streams if MICROPYTHON else (sys.stdout, sys.stderr):
            stream.flush()
        for obj in objs:
            bundle = mime_bundle(obj)
            self.emit(_dumps({"type": "display", "run": self.run_id, "bundle": bundle}))

    async def run(
        self,
        code: str,
        *,
        run_id: str = "run",
        session: str | None = None,
        filename: str = "<snippet>",
        raises: str | None = None,
        stdin: Any = None,
        console: bool = False,
        module: str | None = None,
        docstring: str | None = None,
    ) -> str:
        """Run *code*; return the result as JSON text (see the module docstring).

        *console*: the reader edited a transcript; every top-level expression's value is printed,
        as at the interactive prompt, each statement echoed with its prompt first, and the
        namespace follows the transcript rule (:meth:`namespace`).
        """
        session, raises, console = _none(session), _none(raises), bool(_none(console))
        module = _none(module)
        ns = self._prepare(code, session, run_id, filename, console, module)

        async def body(out: StreamCapture) -> None:
            view = self.with_module(ns, module, session, _none(docstring))
            try:
                if console and not MICROPYTHON:
                    await self._execute_console(code, view.names, filename, out)
                else:
                    await self._execute(code, view.names, filename)
            finally:
                view.keep()

        return await self._guarded(body, run_id, filename, raises, stdin, session)

    async def run_transcript(
        self,
        transcript: str,
        *,
        run_id: str = "run",
        session: str | None = None,
        filename: str = "<snippet>",
        raises: str | None = None,
        stdin: Any = None,
        flags: Any = None,
        name: str | None = None,
        echo: bool = False,
        want: str | None = None,
        module: str | None = None,
        docstring: str | None = None,
        main: bool = False,
    ) -> str:
        """Run a ``>>>`` transcript and judge it as :mod:`doctest` does.

        The stdlib's ``DocTestParser``, ``DocTestRunner`` and ``OutputChecker`` do the work (MicroPython,
        which has no ``doctest``, uses the port below), with the option flags named in *flags*
        (names separated by spaces or commas, e.g. ``"ELLIPSIS IGNORE_EXCEPTION_DETAIL"``; default:
        :data:`DEFAULT_FLAGS`, those of ``sphinx.ext.doctest``) and the per-example ``# doctest:``
        directives on top. Like doctest, every example runs; the first failure is the result's
        error, at its ``>>>`` line (``line``, counted in the transcript; ``editor_line``, counted in
        the prompt-less code a reader edits), the others are counted. Examples compile as
        ``<doctest NAME[N]>`` (NAME: *name*, else the session, else ``default``).

        *echo*: also send each example's source with its prompts (stream ``echo``), so the
        reader's output reads like a console session.

        *want*: the text is plain code (a ``testcode`` block) run as one example in ``exec`` mode,
        whose output must match *want* (its ``testoutput``), as ``sphinx.ext.doctest`` judges them.

        *module*: a docstring's examples also see that module's globals (:meth:`with_module`);
        *docstring*: the documented object whose docstring holds them (its blocks share names).
        *main*: ``__name__ == "__main__"`` in its namespace (:meth:`namespace`).
        """
        session, raises, name, want = _none(session), _none(raises), _none(name), _none(want)
        module = _none(module)
        ns = self._prepare(transcript, session, run_id, filename, True, module, bool(_none(main)))
        test_name = name or session or "default"

        async def body(out: StreamCapture) -> None:
            view = self.with_module(ns, module, session, _none(docstring))
            names = flag_names(_none(flags))
            try:
                if self.port:
                    failure = self._transcript_port(
                        transcript, view.names, test_name, names, filename, out, echo, want
                    )
                else:
                    failure = _run_doctest(
                        self, transcript, view.names, test_name, names, out, echo, want
                    )
            finally:
                view.keep()
            if failure is not None:
                raise failure

        return await self._guarded(body, run_id, filename, raises, stdin, session)

    def _prepare(
        self,
        code: str,
        session: str | None,
        run_id: str,
        filename: str,
        transcript: bool,
        module: str | None = None,
        main: bool = False,
    ) -> dict[str, Any]:
        self.run_id = run_id
        ns = self.namespace(session, transcript, module, main)
        if MICROPYTHON:
            self._sources[filename] = code.split("\n")
        else:
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        return ns

    def _capture(self, stream: str, run_id: str) -> StreamCapture:
        """This run's capture of *stream*: one object for every run, aimed at each in turn, so an
        object that kept ``sys.stdout`` in an earlier run (a ``PrettyPrinter``'s ``pprint``, a
        logging handler) writes into the run it prints in, as on a terminal (zope.configuration's
        later blocks printed nothing)."""
        found = self._captures.get(stream)
        if found is None:
            found = StreamCapture(self.emit, stream, run_id, self.output_limit, self.pull)
            self._captures[stream] = found
        else:
            found.restart(run_id)
        return found

    async def _guarded(
        self,
        body: Callable[[StreamCapture], Awaitable[None]],
        run_id: str,
        filename: str,
        raises: str | None,
        stdin: Any = None,
        session: str | None = None,
    ) -> str:
        """Run *body* with captured streams and the given stdin lines; turn whatever it raises into
        a result. *stdin* is a list of lines (a JS array or a JSON text from the hosts) or None.
        The session's ``contextvars`` values are put back first and kept afterwards: hosts start
        each run as a new task, which would otherwise begin from a fresh context."""
        out, err = self._capture("stdout", run_id), self._capture("stderr", run_id)
        out.partner, err.partner = err, out
        self._streams = (out, err)
        if MICROPYTHON:  # sys.stdout cannot be replaced there: print() and input() can
            saved_builtins = builtins.print, builtins.input
            builtins.print = _printer(out, err, saved_builtins[0])
            builtins.input = _reader(out, NoInput(_lines(stdin), out))
        else:
            saved = sys.stdout, sys.stderr, sys.stdin
            kept = self._stderr.get(session) if session is not None else None
            sys.stdout, sys.stderr, sys.stdin = out, kept or err, NoInput(_lines(stdin), out)
        _restore_context(self._contexts.get(session) if session is not None else None)
        error: dict[str, Any] | None = None
        matched = False
        _OFFLINE.clear()
        started = _monotonic()
        global _RUNNING
        _RUNNING = (self.emit, run_id)
        try:
            await body(out)
            _show_figures()  # figures left open are shown, as in a notebook
        except _Mismatch as exc:
            error = exc.error
            matched = (
                raises is not None
                and exc.exception is not None
                and _exception_matches(exc.exception, raises)
            )
        except BaseException as exc:  # the reader's code may raise anything, KeyboardInterrupt too
            error = self._describe(exc, filename)
            matched = raises is not None and _exception_matches(exc, raises)
        finally:
            if session is not None and not MICROPYTHON:
                self._contexts[session] = _copy_context()
                self._keep_stderr(session, sys.stderr, (err, kept, saved[1], sys.__stderr__))
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
        if _OFFLINE:
            result["offline"] = sorted(set(_OFFLINE))
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

    def _transcript_port(
        self,
        transcript: str,
        ns: dict[str, Any],
        name: str,
        flags: list[str],
        filename: str,
        out: StreamCapture,
        echo: bool,
        want: str | None = None,
    ) -> _Mismatch | None:
        """doctest's ``DocTestRunner`` loop for hosts without ``doctest`` (MicroPython).

        Same verdicts on what MicroPython can run (the differential test holds it to that): option
        flags and directives, SKIP, expected exceptions (IGNORE_EXCEPTION_DETAIL), every example
        runs, the first failure is reported.
        """
        exec_mode = want is not None
        try:
            examples = (
                [Example(transcript, want or "", 1, 1, [(FLAGS["DONT_ACCEPT_BLANKLINE"], True)])]
                if exec_mode
                else parse_transcript(transcript)
            )
        except ValueError as exc:
            return _parse_failure(str(exc), transcript)
        base = flag_bits(flags)
        first: _Mismatch | None = None
        failures = 0
        raised: list[str] = []  # the exceptions later failing examples raised
        show = echo and not exec_mode  # comment-only prompts too, where the block has them
        led, last = (
            led_examples(transcript, examples) if show else ([([], e) for e in examples], [])
        )
        for comments, example in led:
            optionflags = base
            for bit, on in example.options:
                optionflags = optionflags | bit if on else optionflags & ~bit
            for comment in comments:
                self.echo(comment)
            if optionflags & FLAGS["SKIP"]:
                if echo:
                    self.skipped(example.source, example.want)
                continue
            if echo:
                self.echo(example.source)
            record: list[str] = []
            out.record, out._recorded, out.overflowed = record, 0, False
            caught: BaseException | None = None
            try:
                if exec_mode:
                    exec(compile(example.source, filename, "exec"), ns)
                    value = None
                else:
                    value = _exec_last_value(
                        "\n" * (example.line - 1) + example.source, ns, filename
                    )
                if value is not None:
                    ns["_"] = value
                    out.write(repr(value) + "\n")
                out.absorb()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                caught = exc
            finally:
                out.record = None
            got = "".join(record)
            if got and not got.endswith("\n"):
                got += "\n"  # doctest's captured output always ends a line
            if out.overflowed:
                failures += 1
                failure = _Mismatch.output(example, got, _TOO_LARGE, exec_mode)
                self.report(failure.error)
                first = first or failure
                continue
            if caught is None:
                ok = check_output(example.want, got, optionflags)
            else:
                exc_msg = _exception_line(caught)
                if example.exc_msg is None:
                    ok = False
                else:
                    ok = check_output(example.exc_msg, exc_msg, optionflags) or bool(
                        optionflags & FLAGS["IGNORE_EXCEPTION_DETAIL"]
                        and check_output(
                            _strip_exception_details(example.exc_msg),
                            _strip_exception_details(exc_msg),
                            optionflags,
                        )
                    )
                if not ok and example.exc_msg is None:
                    error = self._describe(caught, filename)
                    error["line"], error["editor_line"] = example.line, example.editor_line
                    self.report(error)
                    if first:
                        raised.append(type(caught).__name__)
                    first = first or _Mismatch(error, caught)
                    failures += 1
                    continue
                shown = _TRACEBACK + "  ...\n" + exc_msg
                out.write(shown)
                got += shown
            if not ok:
                failures += 1
                difference = output_difference(example, got)
                failure = _Mismatch.output(example, got, difference, exec_mode)
                self.report(failure.error)
                first = first or failure
        for comment in last:
            self.echo(comment)
        if first is not None:
            first.more(failures - 1, raised)
        return first

    def echo(self, source: str) -> None:
        """Send an example's source with its prompts (``>>> ``, ``... ``) as the ``echo`` stream,
        after what was printed before it."""
        for stream in self._streams:
            stream.flush()
        self.emit(stream_message(self.run_id, "echo", with_prompts(source)))

    def skipped(self, source: str, want: str) -> None:
        """An example doctest skips (``+SKIP``) in the console view: its prompts, then its output
        as written (stream ``skipped``), as the plain block showed them (the console view lost
        both, and with them the output the author wrote: a reader saw nothing of it). It does
        not run."""
        lines = []
        for line in source.rstrip("\n").split("\n"):
            at = line.find("# doctest:")  # its directive, which the marker says in words
            lines.append(line[:at].rstrip() if at >= 0 else line)
        lines[0] += SKIPPED_MARK
        self.echo("\n".join(lines))
        if want:
            self.emit(stream_message(self.run_id, "skipped", want))

    def report(self, error: dict[str, Any]) -> None:
        """Show a failing example's report where it happened, in the error stream (``shown``: the
        host need not show the result's error again)."""
        for stream in self._streams:
            stream.flush()
        if len(self._streams) > 1:
            self._streams[1].write(error["traceback"])
            self._streams[1].flush()
        error["shown"] = True

    async def _execute(self, code: str, ns: dict[str, Any], filename: str) -> None:
        if MICROPYTHON:
            value = _exec_last_value(code, ns, filename)
            if value is not None:
                ns["_"] = value
                self.display(value)
            return
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT | _future_flags(ns)
        tree = compile(code, filename, "exec", ast.PyCF_ONLY_AST | flags, dont_inherit=True)
        last: ast.expr | None = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = tree.body.pop().value
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
                self.display(value)

    async def _execute_console(
        self, code: str, ns: dict[str, Any], filename: str, out: StreamCapture
    ) -> None:
        """Run *code* statement by statement as typed at the prompt: each is echoed with its prompts,
        and an expression's ``repr`` is printed (what an edited transcript shows). A statement that
        raises shows its traceback there and the next one runs, as at the prompt (an edited
        example expecting an exception stopped there, the reader's later lines never ran); the
        run's error is the first one, already shown."""
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT | _future_flags(ns)
        tree = compile(code, filename, "exec", ast.PyCF_ONLY_AST | flags, dont_inherit=True)
        lines = code.split("\n")

        def hook(value: Any) -> None:
            if value is not None:
                builtins._ = value  # type: ignore[attr-defined]
                out.write(repr(value) + "\n")

        saved_hook = sys.displayhook
        sys.displayhook = hook
        first_error: _Mismatch | None = None
        # statements sharing a line (``a = 1; b = 2; a + b``) are one input, as at the prompt:
        # echoed once, and one that raises ends the line (each ran and echoed on its own)
        inputs: list[list[Any]] = []
        for statement in tree.body:
            if inputs and statement.lineno <= (inputs[-1][-1].end_lineno or 0):
                inputs[-1].append(statement)
            else:
                inputs.append([statement])
        try:
            for statements in inputs:
                first = getattr(statements[0], "decorator_list", None) or [statements[0]]
                start = min(node.lineno for node in first) - 1
                source = "\n".join(lines[start : statements[-1].end_lineno])
                self.echo(source + "\n")
                single = ast.Interactive(body=statements)
                compiled = compile(single, filename, "single", flags=flags, dont_inherit=True)
                try:
                    value = eval(compiled, ns)
                    if _is_awaitable_code(compiled):
                        await value
                except Exception as exc:  # the reader's code; shown, and the prompt goes on
                    error = self._describe(exc, filename)
                    self.report(error)
                    first_error = first_error or _Mismatch(error, exc)
                flags |= _future_flags(ns)
        finally:
            sys.displayhook = saved_hook
        if first_error is not None:
            raise first_error

    def _describe(
        self, exc: BaseException, filename: str, prefix: str | None = None
    ) -> dict[str, Any]:
        """The result's error for *exc*: its traceback from the first frame of the reader's code
        (compiled as *filename*, or any name starting with *prefix*: a transcript's examples)."""
        if MICROPYTHON:
            return self._describe_micropython(exc, filename)

        def mine(name: str) -> bool:
            return name == filename or (prefix is not None and name.startswith(prefix))

        tb = exc.__traceback__
        while tb is not None and not mine(tb.tb_frame.f_code.co_filename):
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
        # frames of this module at the end (our stdin, display, the name lookup that fails as
        # offline) are not the reader's business, in the exceptions it chains either
        chain: list[traceback.TracebackException | None] = [report]
        seen: set[int] = set()
        while chain:
            part = chain.pop()
            if part is None or id(part) in seen:
                continue
            seen.add(id(part))
            while len(part.stack) > 1 and part.stack[-1].filename == _HERE:
                del part.stack[-1]
            chain += [part.__cause__, part.__context__]
        text = "".join(report.format())
        message = str(exc)
        if isinstance(exc, SyntaxError) and isinstance(exc.msg, str):
            message = exc.msg  # without "(<example 2>, line 3)": the line is reported on its own
        return {"type": type(exc).__name__, "message": message, "traceback": text, "line": line}

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
        flags: Any = None,
        console: bool = False,
        echo: bool = False,
        want: Any = None,
        module: Any = None,
    ) -> str:
        """:meth:`run` or :meth:`run_transcript` for hosts that cannot pass keyword arguments or
        await a coroutine (MicroPython's JavaScript API); top-level ``await`` is not available."""
        common = {
            "run_id": run_id,
            "session": session,
            "filename": filename,
            "raises": raises,
            "stdin": stdin,
            "module": _none(module),
        }
        if transcript:
            coro = self.run_transcript(
                code, flags=flags, echo=bool(_none(echo)), want=_none(want), **common
            )
        else:
            coro = self.run(code, console=bool(_none(console)), **common)
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


# --- transcripts: doctest itself where it exists, a small port of it for MicroPython -------------

#: ``doctest``'s option flags in its registration order (their values are ``1 << index``), for the
#: port; where ``doctest`` exists its own ``OPTIONFLAGS_BY_NAME`` is used
FLAG_NAMES = (
    "DONT_ACCEPT_TRUE_FOR_1",
    "DONT_ACCEPT_BLANKLINE",
    "NORMALIZE_WHITESPACE",
    "ELLIPSIS",
    "SKIP",
    "IGNORE_EXCEPTION_DETAIL",
    "REPORT_UDIFF",
    "REPORT_CDIFF",
    "REPORT_NDIFF",
    "REPORT_ONLY_FIRST_FAILURE",
    "FAIL_FAST",
)
FLAGS = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}
#: ``sphinx.ext.doctest``'s ``doctest_default_flags``: what transcripts are judged with by default
DEFAULT_FLAGS = ("ELLIPSIS", "IGNORE_EXCEPTION_DETAIL", "DONT_ACCEPT_TRUE_FOR_1")
_BLANKLINE = "<BLANKLINE>"
_TRACEBACK_HEADS = ("Traceback (most recent call last):", "Traceback (innermost last):")


def flag_names(value: Any) -> list[str]:
    """Option flag names from a host: None (the defaults), a text (``"ELLIPSIS, SKIP"``) or a list.

    A name doctest does not have is one the site registered in the build's Python (its
    ``conf.py`` calling ``doctest.register_optionflag``): the host checked it there, so it is
    registered here too, as it is in the build's process. ``-NAME`` registers a flag without
    setting it: one the examples' own ``# doctest: +NAME`` comments use (``"invalid option"``
    here, where no ``conf.py`` ran, while the doctest builder passed them)."""
    if value is None:
        return list(DEFAULT_FLAGS)
    if isinstance(value, str):
        items = value.replace(",", " ").split()
    else:
        items = [str(item) for item in value]
    names = []
    for item in items:
        name = item[1:] if item.startswith("-") else item
        if _flag(name) is None:
            _register(name)
        if name == item:
            names.append(name)
    return names


#: flags registered at a host's word (:func:`flag_names`), by name: their values where the
#: examples are parsed (the stdlib doctest's where there is one, else the next free bit)
_REGISTERED: dict[str, int] = {}


def _register(name: str) -> None:
    """Make *name* a doctest option flag here, as ``doctest.register_optionflag`` does."""
    if MICROPYTHON:
        _REGISTERED[name] = 1 << (len(FLAGS) + len(_REGISTERED))
    else:
        import doctest

        _REGISTERED[name] = doctest.register_optionflag(name)


def flag_bits(names: list[str]) -> int:
    """The option flags named, as the int doctest's runner takes (:data:`FLAGS` has doctest's own
    values; a test holds them to ``doctest.OPTIONFLAGS_BY_NAME``)."""
    bits = 0
    for name in names:
        bits |= _flag(name) or 0
    return bits


class Example:
    """One ``>>>`` example, as :class:`doctest.Example` has it (the port's copy).

    ``line`` is the 1-based line of its ``>>>`` in the transcript, ``editor_line`` the same line in
    the prompt-less code a reader edits, ``options`` the ``(flag, on)`` pairs of its directives.
    """

    __slots__ = ("editor_line", "exc_msg", "line", "options", "source", "want")

    def __init__(
        self,
        source: str,
        want: str,
        line: int,
        editor_line: int = 0,
        options: list[tuple[int, bool]] | None = None,
    ) -> None:
        self.source = source if source.endswith("\n") else source + "\n"
        self.want = want if not want or want.endswith("\n") else want + "\n"
        self.exc_msg = expected_exception(self.want)
        self.line = line
        self.editor_line = editor_line or line
        self.options = options or []


def _spaces(line: str) -> int:
    """The number of leading spaces of *line*."""
    return len(line) - len(line.lstrip(" "))


def _is_ps1(line: str) -> bool:
    return line.lstrip(" ").startswith(">>>")


def _example_spans(lines: list[str]) -> list[tuple[int, int, int]]:
    """Where doctest's parser finds examples in *lines*: ``(start, source end, want end)`` for each
    ``>>>`` line, the ``...`` lines right after it and the expected output up to a blank line or
    the next prompt (ends exclusive). One scan serves the parser and the editor's lines."""
    spans: list[tuple[int, int, int]] = []
    i = 0
    while i < len(lines):
        if not _is_ps1(lines[i]):
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and lines[i].lstrip(" ").startswith("..."):
            i += 1
        source_end = i
        while i < len(lines) and lines[i].strip(" ") and not _is_ps1(lines[i]):
            i += 1
        spans.append((start, source_end, i))
    return spans


def parse_transcript(text: str, name: str = "default") -> list[Example]:
    """The examples of a transcript, found and checked as ``doctest.DocTestParser`` does.

    Raises ``ValueError`` with doctest's messages (a prompt without a blank after it, inconsistent
    indentation, a bad directive). Blank and comment-only ``>>>`` examples are left out.
    """
    lines = text.split("\n")
    examples: list[Example] = []
    editor = 0
    for start, source_end, want_end in _example_spans(lines):
        indent = _spaces(lines[start])
        source_lines = lines[start:source_end]
        want_lines = lines[source_end:want_end]
        for k, line in enumerate(source_lines):
            if len(line) >= indent + 4 and line[indent + 3] != " ":
                raise ValueError(
                    f"line {start + k + 1} of the docstring for {name} lacks blank after "
                    f"{line[indent : indent + 3]}: {line!r}"
                )
        _check_prefix(source_lines[1:], " " * indent + ".", name, start + 1)
        _check_prefix(want_lines, " " * indent, name, start + len(source_lines))
        source = "\n".join(line[indent + 4 :] for line in source_lines)
        want = "\n".join(line[indent:] for line in want_lines)
        options = _find_options(source, name, start)
        first_editor = editor + 1
        editor += len(source_lines)
        if "\n" not in source and (not source.strip(" ") or source.lstrip(" ").startswith("#")):
            if options:
                raise ValueError(
                    f"line {start} of the doctest for {name} has an option directive on a line "
                    f"with no example: {source!r}"
                )
            continue
        examples.append(Example(source, want, start + 1, first_editor, options))
    return examples


def _check_prefix(lines: list[str], prefix: str, name: str, lineno: int) -> None:
    for k, line in enumerate(lines):
        if line and not line.startswith(prefix):
            raise ValueError(
                f"line {lineno + k + 1} of the docstring for {name} has inconsistent leading "
                f"whitespace: {line!r}"
            )


def _find_options(source: str, name: str, lineno: int) -> list[tuple[int, bool]]:
    """The ``# doctest: +FLAG, -FLAG`` directives of an example's source."""
    found: list[tuple[int, bool]] = []
    for line in source.split("\n"):
        at = line.find("#")
        while at >= 0:
            rest = line[at + 1 :].lstrip()
            if rest.startswith("doctest:"):
                tail = rest[len("doctest:") :]
                if "'" not in tail and '"' not in tail:
                    for option in tail.replace(",", " ").split():
                        value = _flag(option[1:]) if option[0] in "+-" else None
                        if value is None:
                            raise ValueError(
                                f"line {lineno + 1} of the doctest for {name} has an invalid "
                                f"option: {option!r}"
                            )
                        found.append((value, option[0] == "+"))
                    break
            at = line.find("#", at + 1)
    return found


def _flag(name: str) -> int | None:
    """An option flag's value: doctest's own, or one the site registered with the ``doctest``
    this Python has loaded (``register_optionflag`` in a setup; not imported here for that)."""
    if name in FLAGS:
        return FLAGS[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    loaded = sys.modules.get("doctest")
    registered: dict[str, int] = getattr(loaded, "OPTIONFLAGS_BY_NAME", {})
    return registered.get(name)


def check_output(want: str, got: str, flags: int) -> bool:
    """``doctest.OutputChecker.check_output``, without regular expressions (MicroPython's lack flags)."""
    if got == want:
        return True
    if not flags & FLAGS["DONT_ACCEPT_TRUE_FOR_1"]:
        if (got, want) in (("True\n", "1\n"), ("False\n", "0\n")):
            return True
    if not flags & FLAGS["DONT_ACCEPT_BLANKLINE"]:
        want = "\n".join(
            "" if ln.startswith(_BLANKLINE) and not ln[len(_BLANKLINE) :].strip() else ln
            for ln in want.split("\n")
        )
        got = "\n".join("" if ln and not ln.strip() else ln for ln in got.split("\n"))
        if got == want:
            return True
    if flags & FLAGS["NORMALIZE_WHITESPACE"]:
        got = " ".join(got.split())
        want = " ".join(want.split())
        if got == want:
            return True
    return bool(flags & FLAGS["ELLIPSIS"]) and _ellipsis_match(want, got)


def _ellipsis_match(want: str, got: str) -> bool:
    """doctest's ``_ellipsis_match``: ``...`` in *want* matches any text."""
    if "..." not in want:
        return want == got
    parts = want.split("...")
    start, end = 0, len(got)
    if parts[0]:
        if not got.startswith(parts[0]):
            return False
        start = len(parts[0])
        parts = parts[1:]
    if parts[-1]:
        if not got.endswith(parts[-1]):
            return False
        end -= len(parts[-1])
        parts = parts[:-1]
    if start > end:
        return False
    for part in parts:
        start = got.find(part, start, end)
        if start < 0:
            return False
        start += len(part)
    return True


def expected_exception(want: str) -> str | None:
    """The exception line(s) an expected traceback ends with (doctest's ``exc_msg``), or None."""
    lines = want.split("\n")
    if lines[0].rstrip() not in _TRACEBACK_HEADS:
        return None
    for i in range(1, len(lines)):
        first = lines[i][:1]
        if first.isalpha() or first.isdigit() or first == "_":
            return "\n".join(lines[i:])
    return None


def _strip_exception_details(msg: str) -> str:
    """doctest's: only the exception's name (no module path, no message) for IGNORE_EXCEPTION_DETAIL."""
    start, end = 0, len(msg)
    i = msg.find("\n")
    if i >= 0:
        end = i
    i = msg.find(":", 0, end)
    if i >= 0:
        end = i
    i = msg.rfind(".", 0, end)
    if i >= 0:
        start = i + 1
    return msg[start:end]


def _exception_line(exc: BaseException) -> str:
    """The last line of the exception as ``traceback.format_exception_only`` writes it."""
    cls = type(exc)
    name = getattr(cls, "__qualname__", cls.__name__)
    module = getattr(cls, "__module__", None)
    if isinstance(module, str) and module not in ("builtins", "__main__"):
        name = f"{module}.{name}"
    message = getattr(exc, "msg", None) if isinstance(exc, SyntaxError) else None
    text = message if isinstance(message, str) else _exception_text(exc)
    return f"{name}: {text}\n" if text else f"{name}\n"


def _parse_failure(message: str, transcript: str) -> _Mismatch:
    """A transcript doctest cannot parse: the error at the line its message names."""
    line, reason = parse_problem(message)
    error = {
        "type": "ValueError",
        "message": reason,
        "traceback": f"ValueError: {reason}\n",
        "line": line,
        "editor_line": _editor_line(transcript, line) if line else None,
    }
    return _Mismatch(error)


#: how the reason for a transcript doctest cannot parse begins
CANNOT_PARSE = "doctest cannot parse"


#: said after an unknown ``# doctest: +FLAG`` (a typo, or a project's own flag)
_FLAGS_ADVICE = (
    " (doctest's flags: " + ", ".join(FLAG_NAMES) + "; a flag of the project's own needs "
    "doctest.register_optionflag in its setup, e.g. doctest_global_setup)"
)


def parse_problem(message: str) -> tuple[int | None, str]:
    """doctest's parse error (*message*) in plain words, and the transcript line it names.

    doctest says "line 3 of the docstring for NAME lacks blank after >>>: '>>>x'", naming a
    docstring that is not there (and "lacks blank after   .:" quotes three characters from the
    line's indent on); the reason says "doctest cannot parse its line 3: a prompt (>>> or ...)
    without a blank after it: '>>>x'". No ``re``: MicroPython's port reports through here too.
    """
    number, _, rest = message[5:].partition(" ") if message.startswith("line ") else ("", "", "")
    for kind in ("docstring", "doctest"):
        lead = f"of the {kind} for "
        starts = [rest.find(w) for w in (" lacks blank after ", " has ") if rest.find(w) > 0]
        if number.isdigit() and rest.startswith(lead) and starts:
            why = rest[min(starts) + 1 :]
            if why.startswith("lacks blank after ") and ": " in why:
                why = "a prompt (>>> or ...) without a blank after it: " + why.split(": ", 1)[1]
            elif why.startswith("has an invalid option"):
                why += _FLAGS_ADVICE
            return int(number), f"{CANNOT_PARSE} its line {number}: {why}"
    return None, f"{CANNOT_PARSE} it: {message}"


#: a blank line parting two groups of a transcript's examples, among :func:`comment_prompts`
#: (the prose line :func:`prose` of no text)
GROUP_BREAK = "\n"


def prose(line: str) -> str:
    """A line of text between a transcript's examples as :func:`comment_prompts` gives it: a
    newline first, which no prompt's text has (:func:`with_prompts` shows it as written)."""
    return "\n" + line


def comment_prompts(lines: list[str], start: int, end: int) -> list[str]:
    """What follows the prompt of each ``>>>`` line among *lines* ``[start:end]``, a stretch
    between examples: comment-only prompts (``# ...``) and bare ones (``""``); and, as
    :func:`prose`, the text doctest passes over (a line after a blank one, not an example's
    output: transaction's ``doctest`` blocks tell the story between their examples, which the
    console view lost) and :data:`GROUP_BREAK` where a blank line parts an example from what
    follows: the console view keeps the block's groups apart, as the block does
    (inline-snapshot's two groups ran together under the block)."""
    found: list[str] = []
    blank = False  # a blank line since the last example or text: its output has ended
    for line in lines[start:end]:
        text = line.strip()
        if not text:
            blank = start > 0 or bool(found)  # not before the block's first line of its own
            continue
        if text.startswith(">>>"):
            found += [GROUP_BREAK] if blank else []
            found.append(text[3:].strip())
        elif blank or start == 0:  # not the output of the example before
            found += [GROUP_BREAK] if blank else []
            found.append(prose(text))
        else:
            continue  # an example's output
        blank = False
    return found + ([GROUP_BREAK] if blank and end < len(lines) else [])


def led_examples(text: str, examples: list[Any]) -> tuple[list[tuple[list[str], Any]], list[str]]:
    """Each of transcript *text*'s *examples* with the comment-only and bare prompts before it
    (:func:`comment_prompts`), and those after the last: the console view and the take-away
    files keep them where the block has them."""
    lines = text.split("\n")
    led: list[tuple[list[str], Any]] = []
    after = 0
    for example in examples:
        led.append((comment_prompts(lines, after, example.line - 1), example))
        after = example.line - 1 + example.source.count("\n")
    return led, comment_prompts(lines, after, len(lines))


def with_prompts(source: str) -> str:
    """An example's source as a console shows it: ``>>> `` before its first line, ``... ``
    before the others (text between examples, :func:`prose`, as written)."""
    if source.startswith("\n"):  # no example: text between them (:func:`prose`), or a blank
        return source[1:] + "\n"
    lines = source.rstrip("\n").split("\n")
    return "".join(("... " if i else ">>> ") + line + "\n" for i, line in enumerate(lines))


def example_count(text: str, skip: bool = False) -> int:
    """How many of a transcript's examples doctest runs (what ``sphinx-build -b doctest`` counts
    as tests): not the comment-only ones its parser leaves out, nor those marked ``+SKIP``
    (*skip*: the whole transcript is, by its directive's options)."""
    try:
        examples = parse_transcript(text)
    except ValueError:  # doctest cannot parse it: its prompts, as the failure will show them
        return len(_example_spans(text.split("\n")))
    if skip:
        return 0
    return sum(1 for e in examples if (FLAGS["SKIP"], True) not in e.options)


def prompt_lines(text: str) -> list[tuple[int, str]]:
    """The source lines of a transcript's examples, as doctest's parser finds them: each ``>>>``
    line and the ``...`` lines right after it, as ``(0-based line, text without its prompt)``.

    They are what a reader edits (``Snippet.source``), so an example's line there is known. A
    blank line between two examples is kept, as one: it parts the block's groups of examples
    (the editor ran more-itertools' ``chunked`` and ``spy`` groups together).
    """
    lines = text.split("\n")
    found: list[tuple[int, str]] = []
    after = -1  # where the example before ends (its output too)
    for start, source_end, want_end in _example_spans(lines):
        blank = next((i for i in range(max(after, 0), start) if not lines[i].strip()), None)
        if found and blank is not None:
            found.append((blank, ""))
        indent = _spaces(lines[start])
        found.extend((i, lines[i][indent + 4 :]) for i in range(start, source_end))
        after = want_end
    return found


def transcript_source(code: str) -> str:
    """The statements of a ``>>>`` transcript, prompts removed, expected outputs dropped.

    The lines are those doctest's parser takes as source (:func:`prompt_lines`), comment-only
    and bare ``>>>`` lines included, so the executor can name an example's line in what the
    reader edits.
    """
    return "\n".join(text for _, text in prompt_lines(code)) + "\n"


def _run_source(transcript: str) -> str:
    """The statements of a transcript's examples doctest runs (not those it skips)."""
    try:
        examples = parse_transcript(transcript)
    except ValueError:
        return transcript_source(transcript)
    skip = _flag("SKIP")
    return "".join(e.source for e in examples if (skip, True) not in e.options)


def imports_of(code: str, transcript: bool = False) -> list[str]:
    """The top-level modules *code* imports, anywhere in it (a *transcript*'s statements'):
    what the browser loads packages for before a run, as the check plans a page with it. The
    browser asked Pyodide's ``find_imports`` about the transcript itself, which does not parse
    with its prompts: its packages were never loaded (humanize's ``import dateutil`` example
    passed the check, then failed for readers with ModuleNotFoundError). An example doctest
    skips (``+SKIP``) imports nothing (sympy's numpy lines: numpy, not to be had, left its block
    and the next two unchecked). Code that does not parse (an example expecting a SyntaxError)
    is read line by line."""
    import ast
    import re

    source = _run_source(code) if transcript else code
    if "import" not in source:
        return []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        lines = re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", source, re.MULTILINE)
        return sorted(set(lines))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return sorted(found)


def _editor_line(transcript: str, line: int) -> int:
    """Line *line* (1-based) of a transcript as a line of the prompt-less code a reader edits."""
    return max(sum(1 for index, _ in prompt_lines(transcript) if index < line), 1)


class _Mismatch(Exception):
    """A transcript's first failing example (the others are counted in its message)."""

    def __init__(self, error: dict[str, Any], exception: BaseException | None = None) -> None:
        super().__init__(error["message"])
        self.error = error
        self.exception = exception

    @classmethod
    def output(
        cls, example: Example, got: str, difference: str, testcode: bool = False
    ) -> _Mismatch:
        """An example whose output differs; *difference* is doctest's "Expected: ... Got: ...";
        *testcode*: the example is a ``testcode`` block, compared with its ``testoutput``."""
        source = _named_by_first_line(example.source)
        shown = "".join(f"    {ln}\n" for ln in example.source.rstrip("\n").split("\n"))
        if not testcode:
            message = f"the output of >>> {source} differs from the transcript"
            message += _comment_in_want(example.want, got) + _address_in_want(example.want, got)
        elif example.want:
            message = "the output differs from its testoutput block"
        else:  # the doctest builder compares a testcode block without one with no output
            # (an empty one too: "it has no testoutput block" was said under one, empty)
            message = "it printed output, where no or an empty testoutput block expects none"
        error = {
            "type": "OutputMismatch",
            "message": message,
            "traceback": f"Failed example:\n{shown}{difference}",
            "line": example.line,
            "editor_line": example.editor_line,
        }
        return cls(error)

    def more(self, count: int, raised: list[str] | None = None) -> None:
        """Count the failures after this one; *raised*: the exceptions those that raised raised
        (an example after one may have missed what it was to make): "one raising ValueError",
        "3 raising NameError", "2 raising, first KeyError" (all three of recurring-ical-events'
        NameErrors read as "one raising NameError")."""
        if count > 0:
            plural = "s" if count > 1 else ""
            raising = ""
            if raised:
                many = "one" if len(raised) == 1 else str(len(raised))
                kind = f" {raised[0]}" if len(set(raised)) == 1 else f", first {raised[0]}"
                raising = f", {many} raising{kind}"
            self.error["message"] += f" (and {count} more failing example{plural}{raising})"


def _comment_in_want(want: str, got: str) -> str:
    """Said when *want* is *got* with comment lines: the author's remark right under the
    example, which doctest reads as output (babel's ``# Integers with thousand grouping``,
    tomlkit's ``# del doc["table2"] is also possible``; "differs" said nothing of why)."""
    lines = want.splitlines()
    comments = [ln.strip() for ln in lines if ln.lstrip().startswith("#")]
    rest = [ln for ln in lines if not ln.lstrip().startswith("#")]
    # (an expected output of comments alone is a remark, whatever the example printed: tomlkit's
    # ``doc.pop("table2")`` returns the table, its docs show only the comment)
    same = [ln.rstrip() for ln in rest] == [ln.rstrip() for ln in got.splitlines()]
    if not comments or not (same or not any(ln.strip() for ln in rest)):
        return ""
    return COMMENT_LINE_HINT.format(line=comments[0])


#: said after a mismatch whose expected output has a comment line (:func:`_comment_in_want`);
#: advice for the docs' author, left out of readers' notes
COMMENT_LINE_HINT = (
    " (its expected output has the comment line {line!r}: doctest reads every line under an "
    "example as its output; put a blank line before the comment)"
)


def _without_addresses(text: str) -> str:
    """*text* with every object's address as a repr shows it (``at 0x7fb24c9488d0``) as ``0x``
    (no regular expressions: MicroPython's lack word boundaries)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("0x", i) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            j = i + 2
            while j < n and text[j] in "0123456789abcdefABCDEF":
                j += 1
            if j - i - 2 >= 4:
                out.append("0x")
                i = j
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _address_in_want(want: str, got: str) -> str:
    """Said when *want* and *got* differ only in objects' addresses, which differ from one run
    to the next in any Python (sqlparse's ``<Statement 'select...' at 0x7F...>``)."""
    if want == got or "0x" not in want:
        return ""
    if _without_addresses(want).rstrip() != _without_addresses(got).rstrip():
        return ""
    return (
        " (only an object's address differs, which changes from one run to the next: write ... "
        "in its place, with doctest's ELLIPSIS option)"
    )


def _named_by_first_line(source: str) -> str:
    """An example as a one-line reason names it: its first line without a trailing comment
    (binarytree's ``graph.body              # Get the DOT body`` ran into the words after it),
    ``...`` when more lines follow (``strrangeset([`` read as the whole example)."""
    lines = source.rstrip("\n").split("\n")
    first = lines[0]
    at = first.find("#")
    while at > 0:
        before = first[:at]
        if before.count("'") % 2 == 0 and before.count('"') % 2 == 0:  # not in a string
            first = before.rstrip()
            break
        at = first.find("#", at + 1)
    return first + (" ..." if len(lines) > 1 else "")


_TOO_LARGE = (
    f"Output too large to compare: the example printed more than {RECORD_LIMIT} characters,\n"
    "more than MicroPython's transcript checker keeps; print less, or run it with Pyodide.\n"
)


def output_difference(example: Example, got: str) -> str:
    """doctest's ``output_difference`` without its diff modes (the port's report)."""

    def indent(text: str) -> str:
        return "".join(f"    {ln}\n" for ln in text.rstrip("\n").split("\n")) if text else ""

    want = example.want
    if want:
        return f"Expected:\n{indent(want)}" + (f"Got:\n{indent(got)}" if got else "Got nothing\n")
    return f"Expected nothing\nGot:\n{indent(got)}" if got else "Expected nothing\nGot nothing\n"


def _run_doctest(
    executor: Executor,
    transcript: str,
    ns: dict[str, Any],
    name: str,
    flags: list[str],
    out: StreamCapture,
    echo: bool,
    want: str | None = None,
) -> _Mismatch | None:
    """Judge *transcript* with the stdlib's ``doctest`` in *ns*, as ``sphinx.ext.doctest`` does
    with a group's namespace (``test.globs`` is the namespace itself, not a copy).

    With *want*, the text is a ``testcode`` block: one example compiled in ``exec`` mode (several
    statements, no echo of values), without ``<BLANKLINE>`` processing, as Sphinx runs it.
    """
    import doctest

    optionflags = flag_bits(flags)
    parser = doctest.DocTestParser()
    if want is not None:
        found = parser._EXCEPTION_RE.match(want)  # type: ignore[attr-defined]
        example = doctest.Example(
            transcript,
            want,
            exc_msg=found.group("msg") if found else None,
            lineno=0,
            options={doctest.DONT_ACCEPT_BLANKLINE: True},
        )
        test = doctest.DocTest([example], {}, name, None, 0, None)
    else:
        try:
            test = parser.get_doctest(transcript, {}, name, None, 0)
        except ValueError as exc:
            return _parse_failure(str(exc), transcript)
    test.globs = ns
    runner = _runner_class()(executor, optionflags, out, echo, transcript)
    runner.testcode = want is not None
    err = out.partner
    if err is not None:  # a warning shows after the lines its example printed before it
        err.before = runner.send_printed
    if want is not None:  # doctest compiles "single"; Sphinx swaps its compile for testcode too
        doctest.compile = _exec_compile  # type: ignore[attr-defined]
    debugger = doctest._OutputRedirectingPdb  # type: ignore[attr-defined]
    if debugger is not _DebuggerOnDemand:  # (a transcript that runs doctest itself)
        _DebuggerOnDemand.real = debugger
    doctest._OutputRedirectingPdb = _DebuggerOnDemand  # type: ignore[attr-defined]
    try:
        runner.run(test, out=lambda text: None, clear_globs=False)
        if echo:
            runner.show_skipped(test, len(test.examples))
    finally:
        vars(doctest).pop("compile", None)
        doctest._OutputRedirectingPdb = debugger  # type: ignore[attr-defined]
        if err is not None:
            err.before = None
    if runner.first is not None:
        runner.first.more(runner.failures_seen - 1, runner.raised)
    first: _Mismatch | None = runner.first
    return first


class _DebuggerOnDemand:
    """doctest's debugger (``doctest._OutputRedirectingPdb``, kept in :attr:`real`), made only when
    an example calls ``pdb.set_trace()``.

    ``DocTestRunner.run`` makes one for every transcript, and making a ``pdb.Pdb`` (its command
    loop, its ``.pdbrc`` files looked for) was ~0.3 ms of a transcript's ~1 ms in Pyodide. An
    example that calls ``pdb.set_trace()`` gets the real one, as in doctest.
    """

    real: Any = None

    def __init__(self, out: Any) -> None:
        self.out = out
        self.made: Any = None

    def reset(self) -> None:
        """doctest resets it before the first example; the real one is reset when made."""

    def set_trace(self, frame: Any = None, **kwargs: Any) -> None:
        if self.made is None:
            self.made = self.real(self.out)
            self.made.reset()
        self.made.set_trace(frame or sys._getframe().f_back, **kwargs)

    def set_continue(self) -> None:
        if self.made is not None:
            self.made.set_continue()


def _exec_compile(source: str, filename: str, mode: str, flags: int, dont_inherit: bool) -> Any:
    return compile(source, filename, "exec", flags, dont_inherit)


_RUNNER: Any = None


def _runner_class() -> Any:
    """A ``doctest.DocTestRunner`` that reports to the reader (made once ``doctest`` is imported)."""
    global _RUNNER
    if _RUNNER is not None:
        return _RUNNER
    import doctest

    class Fakeout(doctest._SpoofOut):  # type: ignore[name-defined,misc]
        """doctest's captured stdout, keeping what an example printed before it raised."""

        taken = ""
        pyrun_stdout = True  # (Executor._keep_stderr)

        def truncate(self, size: int | None = None) -> Any:
            self.taken = self.getvalue()
            return super().truncate(size)

    class TranscriptRunner(doctest.DocTestRunner):
        shared_out: Any = None  # the doctest stdout of every transcript (set below)

        def __init__(
            self, executor: Executor, optionflags: int, out: StreamCapture, echo: bool, text: str
        ) -> None:
            super().__init__(verbose=False, optionflags=optionflags)
            # one for every transcript, as the doctest builder runs a page with one runner:
            # an object that kept sys.stdout in an earlier block prints into a later one
            self._fakeout = TranscriptRunner.shared_out
            self.executor = executor
            self.stream = out
            self.echo = echo
            self.text = text
            self.first: _Mismatch | None = None
            self.failures_seen = 0
            #: the exceptions later failing examples raised (the first failure's is its own)
            self.raised: list[str] = []
            self.testcode = False  # judging a testcode block against its testoutput
            self.shown = 0  # examples of the test echoed so far, or skipped
            self.lines = text.split("\n") if echo else []
            self.after = 0  # the transcript's lines echoed so far
            self.sent = 0  # what the running example printed that the reader has already

        def send_printed(self) -> None:
            """Send what the running example printed so far (doctest holds it until the
            example ends, to compare it), so what it writes to stderr next comes after it."""
            printed = self._fakeout.getvalue()
            if len(printed) > self.sent:
                self.stream.write(printed[self.sent :])
                self.sent = len(printed)

        def unsent(self, got: str) -> str:
            """*got*, the example's output, less what :meth:`send_printed` sent already."""
            sent, self.sent = self.sent, 0
            return got[sent:] if sent and got.startswith(self._fakeout.taken[:sent]) else got

        def report_start(self, out: Any, test: Any, example: Any) -> None:
            self.sent = 0
            if self.echo:
                number = self.shown
                while test.examples[number] is not example:
                    number += 1
                self.show_skipped(test, number)
                self.shown = number + 1
                self.comments_before(example.lineno)
                self.executor.echo(example.source)

        def show_skipped(self, test: Any, upto: int) -> None:
            """Echo the examples before *upto* that doctest skipped (``+SKIP``), each with its
            output as written, as the console view shows them."""
            for example in test.examples[self.shown : upto]:
                flags = self.optionflags
                for flag, on in example.options.items():
                    flags = flags | flag if on else flags & ~flag
                if flags & doctest.SKIP:
                    self.comments_before(example.lineno)
                    self.executor.skipped(example.source, example.want)
            self.shown = max(self.shown, upto)
            if upto == len(test.examples):
                self.comments_before(len(self.lines))  # the last ones, after every example

        def comments_before(self, line: int) -> None:
            """Echo the comment-only and bare prompts before the example at *line* (0-based):
            no examples to doctest, yet the block shows them where they are, and so does the
            console view (ftfy's dropped there)."""
            if self.lines and not self.testcode:
                for comment in comment_prompts(self.lines, self.after, line):
                    self.executor.echo(comment)
                self.after = max(self.after, line + 1)

        def _DocTestRunner__patched_linecache_getlines(
            self, filename: str, module_globals: Any = None
        ) -> Any:
            """doctest's, as ``sphinx.ext.doctest`` overrides it: every block of a group
            compiles as ``<doctest GROUP[N]>``, so a traceback through a function an earlier
            block defined may name an example this block does not have; doctest's own raised
            IndexError there, reported as the example's failure (zope.interface's verify.rst)."""
            own: Any = self  # doctest's private names
            found = own._DocTestRunner__LINECACHE_FILENAME_RE.match(filename)
            if found and found.group("name") == self.test.name:
                examples = self.test.examples
                number = int(found.group("examplenum"))
                if number < len(examples):
                    return examples[number].source.splitlines(True)
            return own.save_linecache_getlines(filename, module_globals)

        def report_success(self, out: Any, test: Any, example: Any, got: str) -> None:
            self.stream.write(self.unsent(_elided(got) if example.exc_msg is not None else got))

        def report_failure(self, out: Any, test: Any, example: Any, got: str) -> None:
            self.stream.write(self.unsent(got))
            self.failures_seen += 1
            line = example.lineno + 1
            mine = Example(example.source, example.want, line, _editor_line(self.text, line))
            checker = self._checker  # type: ignore[attr-defined]
            difference = checker.output_difference(example, got, self.optionflags)
            failure = _Mismatch.output(mine, got, difference, self.testcode)
            self.executor.report(failure.error)
            self.first = self.first or failure

        def report_unexpected_exception(
            self, out: Any, test: Any, example: Any, exc_info: Any
        ) -> None:
            self.stream.write(self.unsent(self._fakeout.taken))
            exc = exc_info[1]
            number = test.examples.index(example)
            own = f"<doctest {test.name}[{number}]>"
            error = self.executor._describe(exc, own, prefix=f"<doctest {test.name}[")
            line = example.lineno + 1
            within = _line_in(exc, own)
            if within:
                line = example.lineno + within
            error["line"] = line
            error["editor_line"] = _editor_line(self.text, line)
            error["examples"] = [e.lineno + 1 for e in test.examples]
            self.failures_seen += 1
            self.executor.report(error)
            if self.first is not None:
                self.raised.append(type(exc).__name__)
            self.first = self.first or _Mismatch(error, exc)

    TranscriptRunner.shared_out = Fakeout()
    _RUNNER = TranscriptRunner
    return _RUNNER


def _elided(got: str) -> str:
    """An expected exception's output as the transcript writes it, and as the port shows it: its
    traceback's frames elided (``  ...``). doctest's got lists every frame, named as it compiles
    examples (``File "<doctest default[3]>"``, then the library's own files): 8-20 lines in the
    console view where the author wrote 3 (rfc3986's pages)."""
    start = got.find(_TRACEBACK)
    if start < 0:
        return got
    last = got.rfind(_TRACEBACK)  # a chained exception's: the one raised
    lines = got[last + len(_TRACEBACK) :].splitlines(keepends=True)
    frames = next((n for n, line in enumerate(lines) if not line.startswith(" ")), len(lines))
    return got[:start] + _TRACEBACK + "  ...\n" + "".join(lines[frames:])


_TRACEBACK = "Traceback (most recent call last):\n"
#: after a skipped example's prompt, so a reader can tell its output as written from one that ran
SKIPPED_MARK = "  # skipped: not run"


def _line_in(exc: BaseException, filename: str) -> int | None:
    """The line of *exc* inside the code compiled as *filename* (its last frame there)."""
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        return exc.lineno
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _future_flags(ns: dict[str, Any]) -> int:
    """The compiler flags of the ``from __future__`` features a namespace imported (doctest's rule),
    so a session's later snippets compile as its first one asked."""
    import __future__

    flags = 0
    for name in __future__.all_feature_names:
        feature = ns.get(name)
        if feature is getattr(__future__, name):
            flags |= feature.compiler_flag
    return flags


def _copy_context() -> Any:
    try:
        import contextvars
    except ImportError:
        return None
    return contextvars.copy_context()


def _restore_context(context: Any) -> None:
    """Set the variables of a session's saved ``contextvars`` context in the running one."""
    if context is None:
        return
    for var, value in context.items():
        var.set(value)


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


#: the host names the running snippet looked up in vain (its result names them when it fails:
#: feedparser catches the network's error itself, then fails with "no attribute 'title'")
_OFFLINE: list[str] = []
#: what looking up a host name raises in the browser, as in CPython on a machine offline
NO_DNS = "Temporary failure in name resolution (Python in the browser has no network: {host!r})"


def _no_name_lookups() -> None:
    """Host name lookups fail as on a machine without network, in the browser and the check.

    Emscripten's resolver makes up an address (``172.29.x.x``) for any name, ``localhost`` and
    ``example.invalid`` included: netutils' ``fqdn_to_ip("google.com")`` passed the check and
    showed readers a made-up address, and examples expecting ``socket.gaierror`` failed. Numeric
    addresses work as before; ``localhost`` is ``127.0.0.1``, as a hosts file says.
    """
    if sys.platform != "emscripten":
        return
    import _socket
    import socket

    if getattr(_socket.getaddrinfo, "_pyrun", False):
        return

    def guarded(lookup: Callable[..., Any]) -> Callable[..., Any]:
        def looked_up(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode("idna") if isinstance(host, bytes) else host
            if not isinstance(name, str) or _numeric_host(name):  # None: the wildcard
                return lookup(host, *args, **kwargs)
            if name.lower().rstrip(".").rsplit(".", 1)[-1] == "localhost":
                found = lookup("127.0.0.1", *args, **kwargs)
                return (name, [], found[2]) if lookup.__name__ == "gethostbyname_ex" else found
            _OFFLINE.append(name)
            raise socket.gaierror(getattr(socket, "EAI_AGAIN", -3), NO_DNS.format(host=name))

        looked_up._pyrun = True
        return looked_up

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        if hasattr(_socket, name):
            setattr(_socket, name, guarded(getattr(_socket, name)))
            if name != "getaddrinfo":  # socket's own getaddrinfo calls _socket's (and makes enums)
                setattr(socket, name, getattr(_socket, name))


def _numeric_host(name: str) -> bool:
    """Whether *name* is an address, not a name to look up (``<broadcast>``: the system's own
    answer, which needs no lookup either)."""
    import ipaddress

    if name.startswith("<"):
        return True
    try:
        ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return False
    return True


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
