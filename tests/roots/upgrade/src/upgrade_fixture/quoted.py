"""Examples mkdocstrings renders as Markdown text: a Google-style ``Example:`` section (an
admonition to griffe, not ``Examples:``) and ``>>>`` lines in the description, which Markdown
reads as quotes nested three deep."""


def double(value):
    """Twice *value*.

    >>> double(2)
    4

    Example:
        >>> double("ab")
        'abab'
        >>> for n in range(2):
        ...     print(double(n))
        0
        2

        >>> double(2) == 5
        False

    Examples:
        >>> double(3)
        6
    """
    return value * 2
