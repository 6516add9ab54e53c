"""Errors that pyrun-docs reports to authors.

Every error a user can cause carries enough to act on: what is wrong, where (``file:line`` when we know
it) and what to do. Adapters turn these into their framework's warnings; nothing here prints.
"""

from __future__ import annotations


class PyrunError(Exception):
    """An error whose message is meant for the documentation author, not a traceback."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled with its location (a kept read keeps its problems)."""
        return (_rebuild, (type(self), self.message, self.location))


def _rebuild(cls: type[PyrunError], message: str, location: str | None) -> PyrunError:
    return cls(message, location=location)


class OptionError(PyrunError):
    """A snippet option is unknown or has a bad value."""


class RuntimeFetchError(PyrunError):
    """The pinned runtime could not be fetched, verified or stored."""
