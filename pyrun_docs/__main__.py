"""``python -m pyrun_docs`` is ``pyrun-docs``."""

from .cli import run

run()
