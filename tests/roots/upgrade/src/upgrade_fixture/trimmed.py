"""Examples mkdocstrings-python shows trimmed (``trim_doctest_flags``, on by default)."""


def banner(text):
    """The text with an empty line after it.

    Examples:
        >>> print(banner("hi"))
        hi
        <BLANKLINE>
        >>> banner(None)  # doctest: +SKIP
        >>> list(range(12))  # doctest: +NORMALIZE_WHITESPACE
        [0, 1, 2, 3, 4, 5,
         6, 7, 8, 9, 10, 11]
    """
    return text + "\n"
