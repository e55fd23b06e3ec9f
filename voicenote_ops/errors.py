"""The CLI's exit codes and the errors that carry them.

One table for the whole tool (README, "Exit codes"). Every error a user can cause is one of
these classes: the CLI prints its message and its fix as one or two plain sentences and exits
with its code, never with a traceback.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    # Invalid input or configuration, refused before any host is contacted.
    INVALID = 2
    # Refused by a guard (lock held, promotion or schema guard); nothing changed.
    REFUSED = 3
    # Failed and contained: every reachable host still (or again) serves the previous release.
    CONTAINED = 4
    # Failed and needs attention: the fleet state is uncertain; the message says what to look at.
    ATTENTION = 5


class OpsError(Exception):
    """An error with a one-sentence message, an optional fix, and an exit code."""

    code: ExitCode = ExitCode.ATTENTION

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def render(self) -> str:
        return self.message if not self.fix else f"{self.message} {self.fix}"


class InvalidInput(OpsError):
    code = ExitCode.INVALID


class GuardRefused(OpsError):
    code = ExitCode.REFUSED


class ContainedFailure(OpsError):
    code = ExitCode.CONTAINED


class NeedsAttention(OpsError):
    code = ExitCode.ATTENTION
