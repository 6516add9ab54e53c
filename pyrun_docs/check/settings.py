"""What a harness is started with: Node, its ``init`` message and the snapshot store.

Apart from the check's API (:mod:`.api`) so that the spare harness (:mod:`.spare`) can make them
and send ``init`` without importing the rest of the check (the package resolver, the pool, ~60 ms
on the way to Node's first restore).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrun_docs.assets import executor_path
from pyrun_docs.config import PyrunConfig
from pyrun_docs.fetch import ensure_runtime, packages_dir
from pyrun_docs.node import Node, find_node
from pyrun_docs.runtime import CHECKED_RUNTIME, RuntimePin, get_pin

from .harness import HARNESS_IO_PATH, HARNESS_PATH
from .plan import engine_digest
from .snapshot import SnapshotStore

#: modules imported before the snapshot is taken, so pages do not each pay for importing them
WARM_IMPORTS = (
    "asyncio", "collections", "dataclasses", "datetime", "decimal", "fractions", "functools",
    "itertools", "json", "math", "random", "re", "statistics", "textwrap", "typing",
    "doctest",  # judges every >>> transcript; ~1 s to import in Pyodide, paid once per snapshot
)  # fmt: skip
ISOLATION_PATH = Path(__file__).with_name("isolation.py")
#: environment variable: ``interpreter`` gives every page a freshly restored interpreter instead of
#: handing a verified, restored one on (slower; for when an example's in-place changes leak)
ISOLATION_ENV = "PYRUN_DOCS_CHECK_ISOLATION"


def isolation_mode() -> str:
    """``reset`` (default) or ``interpreter``, from :data:`ISOLATION_ENV`."""
    value = os.environ.get(ISOLATION_ENV, "reset").strip().lower()
    return "interpreter" if value == "interpreter" else "reset"


#: seconds to wait for a cold boot (and making the snapshot) / a snapshot restore
BOOT_TIMEOUT = 180.0
RESTORE_TIMEOUT = 30.0


@dataclass
class Settings:
    """What every worker needs."""

    node: Node
    config: PyrunConfig
    init: dict[str, Any]
    snapshots: SnapshotStore
    boot_timeout: float = BOOT_TIMEOUT
    restore_timeout: float = RESTORE_TIMEOUT
    #: the MicroPython harness's ``init`` message (``check.micropython.harness_init``)
    micropython: dict[str, Any] = field(default_factory=dict)


def harness_settings(
    config: PyrunConfig,
    folder: Path,
    *,
    runtime: Path | None = None,
    pyodide: bool = True,
    install: Sequence[str] = (),
    install_key: str = "",
    install_imports: Sequence[str] = (),
    offline: bool = False,
) -> Settings:
    """Node, the harness's ``init`` message and the snapshot store, for the pool (or a benchmark).

    Args:
        config: site settings (``output_limit``, ``timeout``).
        folder: the check's cache folder (snapshots go to ``folder / "snapshots"``).
        runtime: the verified runtime folder, if the caller already has it.
        pyodide: ``False`` when only MicroPython pages run: Pyodide is then neither fetched nor
            verified (a MicroPython-only site checks offline with only MicroPython cached).
        install: load specs (lock names, verified wheel paths) every interpreter has installed
            before its first page (:func:`_site_install`); their pages load nothing.
        install_key: names that set in the installed snapshot's file name.
        install_imports: their modules, imported (then forgotten) before the installed snapshot
            is taken, so it holds the standard-library code they need compiled.
        offline: only a runtime already in the cache (a spare harness downloads nothing).

    Raises:
        PyrunError: no usable Node.js, or the runtime cannot be fetched and verified.
    """
    pin = get_pin(CHECKED_RUNTIME)
    if runtime is None and pyodide:
        runtime = ensure_runtime(pin, offline=offline)
    node = find_node()
    snapshot_key = engine_digest(engine_of(pin), node.version, *WARM_IMPORTS)[:24]
    return Settings(
        node=node,
        config=config,
        init={
            "indexURL": str(runtime) + os.sep,
            "packageDir": str(packages_dir(pin)) + os.sep,
            "executor": str(executor_path()),
            "isolationModule": str(ISOLATION_PATH),
            "isolation": isolation_mode(),
            "outputLimit": config.output_limit,
            "warm": list(WARM_IMPORTS),
            "install": list(install),
            "installImports": list(install_imports),
        },
        snapshots=SnapshotStore(
            folder / "snapshots",
            f"{pin.key}-{snapshot_key}",
            enabled=None if pyodide else False,
            install_key=install_key if install else "",
        ),
    )


def engine_of(pin: RuntimePin) -> str:
    """A digest of what judges a snippet: the pinned runtime, the executor, harness and isolation."""
    return engine_digest(
        pin.key,
        pin.integrity,
        executor_path().read_bytes(),
        HARNESS_PATH.read_bytes(),
        HARNESS_IO_PATH.read_bytes(),
        ISOLATION_PATH.read_bytes(),
    )
