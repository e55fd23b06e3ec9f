"""The CLI's exit codes and the errors that carry them.

One table for the whole tool (README, "Exit codes"). Every error a user can cause is one of
these classes: the CLI prints its message and its fix as one or two plain sentences and exits
with its code, never with a traceback. `from_exception` says any other exception the same way.
"""

import errno
import json
import os
import tomllib
from collections.abc import Iterable
from enum import IntEnum

import pydantic
import yaml

# Set (to anything but empty) to see the traceback of an error instead of its sentence.
DEBUG_ENV = "VOICENOTE_OPS_DEBUG"


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


# OS errors that say the machine is at fault (a full disk, a read-only or failing file system,
# no memory or file handles), whichever file the tool was using.
_MACHINE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ENOMEM, errno.EMFILE, errno.ENFILE}
)
# What to do about one of them.
MACHINE_FIX = "Free space or repair the file system, then run again."


def machine_failure(error: OSError) -> bool:
    """Whether the machine is at fault (exit 5), not the file the tool was using."""
    return error.errno in _MACHINE_ERRNOS


# What the content of a file can be that the tool cannot take, by the error that says so.
_DATA_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (json.JSONDecodeError, "not valid JSON"),
    (tomllib.TOMLDecodeError, "not valid TOML"),
    (yaml.YAMLError, "not valid YAML"),
    (UnicodeDecodeError, "not UTF-8 text"),
    (pydantic.ValidationError, "not what the tool expects"),
)


def _is_or_under(path: str, named: Iterable[str]) -> bool:
    failing = os.path.abspath(path)
    for given in named:
        if not given or given.startswith("-"):
            continue
        given = os.path.abspath(given)
        if failing == given or failing.startswith(given.rstrip(os.sep) + os.sep):
            return True
    return False


def from_exception(error: Exception, named: Iterable[str]) -> OpsError:
    """An exception no part of the tool turned into an OpsError, as one: an OS error on a path
    the operator named (`named`: the command line's words, paths from the environment) or bad
    data in a file is invalid input (2); the machine or the tool's own files failing is exit 5;
    anything else is a bug (5), said as one."""
    if isinstance(error, OSError):
        what = error.strerror or str(error)
        path = next((p for p in (error.filename, error.filename2) if p is not None), None)
        where = f" ({os.fsdecode(path)})" if path is not None else ""
        if machine_failure(error):
            return NeedsAttention(f"{what}{where}.", MACHINE_FIX)
        if path is not None and _is_or_under(os.fsdecode(path), named):
            return InvalidInput(f"{what}: {os.fsdecode(path)}.", "Check the path you gave.")
        return NeedsAttention(
            f"{what}{where}.",
            "Check that this user can read and write the tool's state folder and that the "
            "programs it runs are installed, then run again.",
        )
    for kind, problem in _DATA_ERRORS:
        if isinstance(error, kind):
            return InvalidInput(
                f"Data the tool read is {problem} ({error}).",
                f"Run again with {DEBUG_ENV}=1 to see which file or program gave it.",
            )
    return NeedsAttention(
        f"Unexpected error ({type(error).__name__}: {error}); this is a bug in voicenote-ops.",
        "If it stopped a deploy or rollback, check the environment with `voicenote-ops status "
        f"ENV`; run again with {DEBUG_ENV}=1 for the traceback and report it.",
    )
