"""Writing files that other processes read at the same time (several checks share a cache)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any


def write_atomically(path: Path, data: bytes) -> None:
    """Write *data* to *path* so a reader sees the old file or the new one, never half of one
    (a uniquely named part, then a rename); its folder is made if needed. The file gets the
    mode the umask gives, as any file written so (``tempfile.mkstemp``'s 0600 made a built
    site's wheels and lock file unreadable to a web server running as another user).

    Raises:
        OSError: the folder or file cannot be written (callers keeping a cache carry on).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()


def keep_record(path: Path, key: str, record: Any, limit: int) -> None:
    """Store *record* under *key* in the JSON object at *path*, as its newest entry; the oldest
    go beyond *limit* entries. Nothing is written when it is there already; best effort (a cache
    that cannot be written is asked again next time)."""
    records = read_json_object(path)
    if records.get(key) == record:
        return
    records.pop(key, None)
    records[key] = record
    while len(records) > limit:
        records.pop(next(iter(records)))
    try:
        write_atomically(path, json.dumps(records).encode("utf-8"))
    except OSError:
        pass


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in *path* (``{}`` when it is missing, unreadable, damaged or not an
    object): the cache's small records, which are rebuilt when they cannot be read."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}
