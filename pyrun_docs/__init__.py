"""pyrun-docs: runnable, checked Python examples in Sphinx and MkDocs documentation.

The core package is framework-free: adapters in :mod:`pyrun_docs.sphinx_ext` and
:mod:`pyrun_docs.mkdocs_plugin` parse their syntax into a :class:`Snippet` and call the core.
"""

from __future__ import annotations

__version__ = "0.1.0"
