"""One exception family for everything the agent can explain to a person.

Like mkosi's ``die(msg, hint=)``: every error carries a plain message and,
where we know it, a hint saying what to do about it.
"""

from __future__ import annotations


class DigibenchError(Exception):
    """An error with a message a volunteer or admin can act on."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message


class ToolMissingError(DigibenchError):
    """An external program the agent needs is not installed."""


class CommandFailedError(DigibenchError):
    """An external program ran but failed, and the caller asked for success."""


class UnexpectedCommandError(DigibenchError):
    """A replay runner was asked for a command it has no recording of."""


class InputError(DigibenchError):
    """A file given to the agent could not be read or understood."""
