"""Where pyrun-docs keeps what it fetches and makes.

A module of its own, importing nothing heavy, because the command's first lines need it
(:mod:`.launch`, before the rest of the package is imported).
"""

from __future__ import annotations

import os

CACHE_ENV = "PYRUN_DOCS_CACHE"


def cache_home() -> str:
    """The user cache folder (``$PYRUN_DOCS_CACHE``, else ``$XDG_CACHE_HOME/pyrun-docs``)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return os.path.expanduser(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = os.path.expanduser(xdg) if xdg else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pyrun-docs")
