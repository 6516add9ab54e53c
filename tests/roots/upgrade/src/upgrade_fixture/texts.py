"""Docstrings written apart from their functions (as mpmath keeps its function docs)."""

SQUARE = """
Squares a number (a function made by a factory).

Examples
--------
>>> square(3)
9
"""
