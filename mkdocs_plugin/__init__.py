"""MkDocs adapter: ``plugins: [pyrun]`` (see :mod:`.plugin`) and the SuperFences fence (:mod:`.fence`)."""

from __future__ import annotations

from .plugin import PyrunPlugin

__all__ = ["PyrunPlugin"]
