"""One Node.js process running ``harness.mjs``: start it, talk JSON lines to it, kill it.

A process, not a thread, because a snippet stuck in ``while True: pass`` can only be stopped from
outside: the pool kills the process at the deadline and starts another. Reading happens on a thread
so every wait has a timeout; a process that dies is reported with its exit status and the tail of
its stderr, so a crash never looks like a pass.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections import deque
from pathlib import Path
from typing import IO, Any

from pyrun_docs.fetch import cache_root
from pyrun_docs.node import Node
from pyrun_docs.outputs import well_formed_json

HARNESS_PATH = Path(__file__).with_name("harness.mjs")
#: the same protocol for MicroPython pages (through the browser's MicroPython host module)
MICROPYTHON_HARNESS_PATH = Path(__file__).with_name("harness_micropython.mjs")
#: what both harnesses import (protocol, watchdog, no network): part of what judges a snippet
HARNESS_IO_PATH = Path(__file__).with_name("harness_io.mjs")
#: environment variable of Node 22.1 and newer: a folder where Node keeps the JavaScript it
#: compiled (the harness and Pyodide's ~1 MB of it), so the next check's harnesses start without
#: compiling it again. Set for harnesses (under our cache) unless the user set it.
COMPILE_CACHE_ENV = "NODE_COMPILE_CACHE"
_EOF = object()


def harness_env() -> dict[str, str]:
    """The environment a harness starts with: ours, with Node's compile cache in our cache."""
    env = dict(os.environ)
    env.setdefault(COMPILE_CACHE_ENV, str(cache_root() / "node-compile-cache"))
    return env


class HarnessDied(Exception):
    """The Node process ended (crash, out of memory, killed); the message says how."""


class Harness:
    """A running ``harness.mjs``."""

    def __init__(
        self,
        node: Node,
        path: Path = HARNESS_PATH,
        process: subprocess.Popen[bytes] | None = None,
        presented: dict[str, Any] | None = None,
    ) -> None:
        """Start ``harness.mjs`` at *path* with *node*, or take *process*, started so already
        (with :func:`harness_env`, its pipes open: :mod:`pyrun_docs.launch`), which was sent
        the ``init`` *presented*, if any."""
        self.node = node
        self.presented = presented
        self.proc = process or subprocess.Popen(
            [node.path, str(path)],  # V8 flags: set by harness_io.mjs
            env=harness_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._events: queue.Queue[Any] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=40)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._read_events, args=(self.proc.stdout,), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self.proc.stderr,), daemon=True).start()

    def _read_events(self, stream: IO[bytes]) -> None:
        try:
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").strip()
                if not line:
                    continue
                try:
                    event = well_formed_json(line)  # (a lone surrogate, escaped: a str's now)
                except ValueError:
                    self._stderr.append(line[:500])
                    continue
                self._events.put(event)
        except (OSError, ValueError):
            pass
        finally:
            stream.close()
            self._events.put(_EOF)

    def _read_stderr(self, stream: IO[bytes]) -> None:
        try:
            for raw in stream:
                self._stderr.append(raw.decode("utf-8", errors="replace").rstrip()[:500])
        except (OSError, ValueError):
            pass
        finally:
            stream.close()

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except OSError as exc:
            raise HarnessDied(self._death(f"stopped reading requests ({exc})")) from None

    def event(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or ``None`` after *timeout* seconds.

        Raises:
            HarnessDied: the process ended.
        """
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is _EOF:
            self._events.put(_EOF)  # later calls see the death too
            raise HarnessDied(self._death("exited"))
        assert isinstance(event, dict)
        return event

    def _death(self, what: str) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        tail = "\n".join(line for line in self._stderr if line.strip())[-2000:]
        status = f"exit status {code}" if code is not None else "still running"
        return f"the check harness ({self.node.path} {self.node.version}) {what}, {status}" + (
            f"; its last messages:\n{tail}" if tail else ""
        )

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def kill(self) -> None:
        """Stop the process now (a snippet ran past its timeout); safe to call twice."""
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def close(self) -> None:
        """Ask the process to exit and let it go: a thread waits for its end (and kills it if it
        has not exited within 5 s), not the check. Node took 40-160 ms to exit after the last
        page (V8 finishes the background compiles it started before the process ends), time every
        check spent waiting with nothing left to do."""
        if self.proc.poll() is None:
            try:
                self.send({"op": "exit"})
            except HarnessDied:
                pass
        threading.Thread(target=self._reap, name="pyrun-harness-exit", daemon=True).start()

    def _reap(self) -> None:
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
