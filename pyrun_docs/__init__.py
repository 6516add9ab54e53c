"""pyrun-docs: runnable, checked Python examples in Sphinx and MkDocs documentation.

The core package is framework-free: adapters in :mod:`pyrun_docs.sphinx_ext` and
:mod:`pyrun_docs.mkdocs_plugin` parse their syntax into a :class:`Snippet` and call the core.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def setup(app: Any) -> dict[str, Any]:
    """``extensions = ["pyrun_docs"]`` works as ``"pyrun_docs.sphinx_ext"`` does: the package's
    own name was the natural guess, and Sphinx then dropped every example ("Unknown directive
    type") while the build passed. The Sphinx adapter is imported only here."""
    from .sphinx_ext import setup as sphinx_setup

    metadata: dict[str, Any] = sphinx_setup(app)
    return metadata
