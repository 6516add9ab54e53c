"""The result cache: an unchanged docs tree re-checks nothing and boots no interpreter.

A result is stored under the content hash of everything it depends on (:func:`.plan.cache_key`):
the snippet's code, its session chain, its options, the runtime pin, the executor, the harness and
its packages. One small JSON file per key (sharded by the first two hex digits) keeps writes atomic
and lets several checks share the folder. Only deterministic verdicts are kept (passed and failed);
timeouts and harness errors are always tried again. Entries unused for :data:`MAX_AGE_DAYS` are
removed, at most once a day.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from pyrun_docs.fetch import cache_root
from pyrun_docs.outputs import well_formed_json

MAX_AGE_DAYS = 60
_PRUNE_MARK = ".pruned"


def default_cache_dir() -> Path:
    """``<pyrun-docs cache>/check`` (results and interpreter snapshots)."""
    return cache_root() / "check"


def results_dir(folder: Path) -> Path:
    """Where the check with cache folder *folder* keeps its results."""
    return folder / "results"


class ResultCache:
    """A folder of cached results; ``ResultCache(None)`` remembers nothing."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.hits = 0
        self.stores = 0

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        if self.folder is None:
            return None
        path = self._path(key)
        try:
            data = well_formed_json(path.read_text(encoding="utf-8"))  # (kept before lone
        except (OSError, ValueError):  # surrogates were replaced: they are, here)
            return None
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        try:
            os.utime(path)  # last use, for pruning
        except OSError:
            pass
        self.hits += 1
        return data

    def put(self, key: str, data: dict[str, Any]) -> None:
        """Store *data* under *key*; a cache that cannot be written is silently not a cache."""
        if self.folder is None:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({**data, "key": key}, handle)
            os.replace(tmp, path)
            self.stores += 1
        except OSError:
            return

    def prune(self, max_age_days: float = MAX_AGE_DAYS) -> int:
        """Remove entries unused for *max_age_days*; runs at most once a day. Returns the count."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        mark = self.folder / _PRUNE_MARK
        now = time.time()
        try:
            if now - mark.stat().st_mtime < 86_400:
                return 0
        except OSError:
            pass
        removed = 0
        cutoff = now - max_age_days * 86_400
        for path in self.folder.glob("??/*.json"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        try:
            mark.touch()
        except OSError:
            pass
        return removed
