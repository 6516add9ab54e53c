"""``python -m pyrun_docs`` is ``pyrun-docs``."""

from .launch import run

run()
