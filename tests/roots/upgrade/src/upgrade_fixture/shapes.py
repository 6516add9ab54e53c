"""Shapes."""

from itertools import islice  # noqa: F401  (the docstring example uses it)


def area(width, height):
    """The area of a rectangle.

    Examples
    --------
    >>> area(2, 3)
    6
    >>> list(islice("abc", 2))
    ['a', 'b']
    """
    return width * height


def broken():
    """An example that cannot run in the browser.

    Examples
    --------
    >>> import subprocess
    >>> subprocess.run(["true"]).returncode
    0
    """
