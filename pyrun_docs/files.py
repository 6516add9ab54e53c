"""Writing files that other processes read at the same time (several checks share a cache)."""

from __future__ import annotations

import os
from pathlib import Path


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
