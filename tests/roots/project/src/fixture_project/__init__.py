"""A tiny project documented with pyrun-docs: it depends on ``inflection`` from PyPI."""

import inflection

__version__ = "0.1.0"


def shout(words: str) -> str:
    """``"hello_world"`` -> ``"Hello World!"``."""
    return inflection.titleize(words) + "!"
