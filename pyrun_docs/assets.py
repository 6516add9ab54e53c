"""Where the browser assets live and how they get into a built site.

The ``assets/`` folder installs as ``pyrun_docs/assets`` (a data folder, deliberately without an
``__init__.py``). In an editable install ``importlib.resources`` gives no usable path for it, so we
resolve it next to this package, falling back to the checkout's ``assets/``.

Site layout, relative to the adapter's static root::

    pyrun/pyrun.js, pyrun.css, pyrun-worker.js, executor.py   (small, versioned by query string)
    pyrun/executor.mpy                                         (MicroPython pages, with mpy-cross)
    pyrun/pyodide-314.0.7/...                                  (the verified runtime, self-host mode)
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from . import __version__
from .config import PyrunConfig
from .errors import PyrunError
from .fetch import ensure_runtime, verify_dir
from .mpy import MPY_NAME, compiled_executor
from .mpy import fingerprint as mpy_fingerprint
from .runtime import RuntimePin, load_pins

SITE_DIR = "pyrun"
LOADER_NAME = "pyrun.js"
STYLE_NAME = "pyrun.css"
RUNNER_NAME = "pyrun-runner.js"
WORKER_NAME = "pyrun-worker.js"
EXECUTOR_NAME = "executor.py"
SERVICE_WORKER_NAME = "pyrun-sw.js"
#: the service worker lives at the site root (its scope must cover every page); adapters put the
#: loader two folders down (``_static/pyrun/`` in Sphinx, ``assets/pyrun/`` in MkDocs)
SERVICE_WORKER_URL = f"../../{SERVICE_WORKER_NAME}"
#: the worker that takes pyrun off a site: shipped under :data:`SERVICE_WORKER_NAME` in its place
REMOVAL_WORKER_NAME = "pyrun-sw-remove.js"
#: where a built site (or a folder copied into one) keeps pyrun's loader: Sphinx, MkDocs
LOADER_PLACES = (f"_static/{SITE_DIR}/{LOADER_NAME}", f"assets/{SITE_DIR}/{LOADER_NAME}")
#: files copied from assets/ into every site that has a snippet
EDITOR_NAME = "pyrun-editor.js"
#: the MicroPython host, imported by the worker (and the check's harness) for MicroPython only
MICROPYTHON_HOST_NAME = "pyrun-micropython.js"
#: memory snapshots in the reader's browser, imported by the worker (Pyodide only)
SNAPSHOT_NAME = "pyrun-snapshot.js"
ASSET_FILES = (
    LOADER_NAME,
    STYLE_NAME,
    RUNNER_NAME,
    EDITOR_NAME,
    WORKER_NAME,
    MICROPYTHON_HOST_NAME,
    SNAPSHOT_NAME,
)


def assets_dir() -> Path:
    """The folder holding pyrun.js and friends, in a wheel or an editable checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "assets", here.parent / "assets"):
        if (candidate / LOADER_NAME).is_file():
            return candidate
    raise FileNotFoundError(f"pyrun-docs assets not found next to {here}; reinstall pyrun-docs")


@functools.cache
def asset_version() -> str:
    """A short hash of every asset and the executor, so browsers and caches never mix versions."""
    digest = hashlib.sha256(__version__.encode())
    for path in [*(assets_dir() / n for n in ASSET_FILES), executor_path()]:
        digest.update(path.read_bytes())
    # executor.mpy is made from executor.py: its fingerprint covers it without compiling anything
    digest.update(mpy_fingerprint().encode())
    return digest.hexdigest()[:12]


def executor_path() -> Path:
    """The one Python executor module, run by the browser worker and by the build check."""
    return Path(__file__).resolve().with_name("executor.py")


def _write_if_changed(data: bytes, dest: Path) -> None:
    if dest.is_file() and dest.stat().st_size == len(data) and dest.read_bytes() == data:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


def _copy_if_changed(src: Path, dest: Path) -> None:
    _write_if_changed(src.read_bytes(), dest)


def without_comment_lines(js: str) -> str:
    """*js* without its whole-line comments (``//`` lines, ``/* ... */`` blocks on lines of their own).

    The loader is the one script every page with an example downloads before any click, and a
    third of its gzip size is its doc comments (the source keeps them: they carry the types the
    JavaScript check reads). Only whole lines go, so no string or regular expression is touched;
    a block whose end shares a line with code leaves the text unchanged.
    """
    out: list[str] = []
    in_block = False
    for line in js.splitlines(keepends=True):
        text = line.strip()
        if in_block:
            if "*/" in text:
                if not text.endswith("*/") or text.count("*/") > 1:
                    return js  # code after the comment on its last line: keep everything
                in_block = False
            continue
        if text.startswith("//"):
            continue
        if text.startswith("/*"):
            if "*/" not in text:
                in_block = True
                continue
            if text.endswith("*/") and text.count("*/") == 1:
                continue
        out.append(line)
    return js if in_block else "".join(out)


def copy_site_assets(
    static_root: Path, config: PyrunConfig, runtimes: set[str], *, name: str = SITE_DIR
) -> Path:
    """Copy the widget assets and, when self-hosting, the verified runtimes into the site.

    Args:
        static_root: the site folder that holds ``pyrun/`` (Sphinx: ``_static``).
        config: site settings.
        runtimes: names of the runtimes pages use.
        name: the folder under *static_root* (``pyrun``).

    Returns:
        The ``pyrun/`` folder written.

    Raises:
        RuntimeFetchError: a runtime could not be fetched or verified (message says what to do).
    """
    target = static_root / name
    target.mkdir(parents=True, exist_ok=True)
    src = assets_dir()
    for name in ASSET_FILES:
        if name == LOADER_NAME:  # loaded by every page: its comments stay in the source
            loader = (src / name).read_text(encoding="utf-8")
            _write_if_changed(without_comment_lines(loader).encode("utf-8"), target / name)
        else:
            _copy_if_changed(src / name, target / name)
    _copy_if_changed(executor_path(), target / EXECUTOR_NAME)
    compiled = compiled_executor() if "micropython" in runtimes else None
    if compiled is not None:
        _copy_if_changed(compiled, target / MPY_NAME)
    pins = load_pins()
    for name in sorted(runtimes):
        pin = pins[name]
        if config.runtime_source == "cdn":
            continue
        copy_runtime(pin, target / pin.key)
    return target


def copy_service_worker(site_root: Path) -> Path:
    """Put the service worker at the site root, where its scope covers every page."""
    dest = site_root / SERVICE_WORKER_NAME
    _copy_if_changed(assets_dir() / SERVICE_WORKER_NAME, dest)
    return dest


def write_removal_worker(folder: Path) -> Path:
    """Put the removal worker in *folder* as ``pyrun-sw.js``: the built site's root, or a folder the
    build copies to the site root (Sphinx ``html_extra_path``, MkDocs ``docs/``).

    Why a worker and not nothing: a deleted ``pyrun-sw.js`` fails the browser's update check, and
    a failed check keeps the old worker registered for good; a changed one replaces it, and this
    one deletes pyrun's caches and snapshots and unregisters itself.

    Raises:
        PyrunError: *folder* is missing, or still ships pyrun's loader, which would register the
            removal worker again on every Run.
    """
    if not folder.is_dir():
        raise PyrunError(f"{folder} is not a directory; build the site without pyrun first")
    still = [place for place in LOADER_PLACES if (folder / place).is_file()]
    if still:
        raise PyrunError(
            f"{folder / still[0]} is pyrun's loader: this site still uses pyrun. Remove "
            "pyrun_docs.sphinx_ext / the pyrun plugin, rebuild, then run this on the new build"
        )
    dest = folder / SERVICE_WORKER_NAME
    _copy_if_changed(assets_dir() / REMOVAL_WORKER_NAME, dest)
    return dest


def copy_runtime(pin: RuntimePin, dest: Path) -> None:
    """Put the verified served files of *pin* in *dest* (skipped when already identical)."""
    if dest.is_dir() and not verify_dir(pin, dest):
        return
    cached = ensure_runtime(pin)
    dest.mkdir(parents=True, exist_ok=True)
    for f in pin.served_files():
        _copy_if_changed(cached / f.name, dest / f.name)
