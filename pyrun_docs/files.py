"""Writing files that other processes read at the same time (several checks share a cache)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_atomically(path: Path, data: bytes) -> None:
    """Write *data* to *path* so a reader sees the old file or the new one, never half of one
    (a uniquely named part, then a rename); its folder is made if needed.

    Raises:
        OSError: the folder or file cannot be written (callers keeping a cache carry on).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    partial.write_bytes(data)
    os.replace(partial, path)


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
