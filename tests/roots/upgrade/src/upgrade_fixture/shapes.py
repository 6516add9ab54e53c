"""Shapes."""

from itertools import islice  # noqa: F401  (the docstring example uses it)

from . import texts


def area(width, height):
    """The area of a rectangle.

    Examples
    --------
    >>> area(2, 3)
    6
    >>> SIDES = 6; list(islice("abc", 2))
    ['a', 'b']

    An indented block, in the same docstring's session (its SIDES, not the module's):

        >>> area(1, 1) + SIDES
        7
    """
    return width * height


SIDES = 4


def broken():
    """An example that cannot run in the browser.

    Examples
    --------
    >>> import subprocess
    >>> subprocess.run(["true"]).returncode
    0
    """


def _power(exponent):
    def powered(x):
        return x**exponent

    return powered


square = _power(2)
square.__doc__ = texts.SQUARE
