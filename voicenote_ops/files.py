"""Reading the small files the tool keeps (a lab's settings, the audit copy) or is pointed at
(benchmark figures, keys), refused in one sentence that names the file when it cannot be used.

Only a regular file is read: a directory, a fifo or a device is refused without reading it (a
fifo would block, /dev/zero never end), and it is opened without waiting for a fifo's writer in
case it was swapped in between.
"""

import json
import os
import stat
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from voicenote_ops.errors import InvalidInput, NeedsAttention, OpsError

Shape = TypeVar("Shape")


def read_text(path: Path, what: str, fix: str, *, own: bool = False) -> str:
    """The UTF-8 text of the file at `path`, which holds `what` ("the audit copy"). Content
    that is not UTF-8, or a file of another kind, is invalid input (exit 2); a file the system
    does not let the tool read is too, except for the tool's `own` files (its state), where
    that is the machine's problem (exit 5)."""
    unreadable: type[OpsError] = NeedsAttention if own else InvalidInput
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise InvalidInput(f"{path} ({what}) is not a regular file.", fix)
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as stream:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise InvalidInput(f"{path} ({what}) is not a regular file.", fix)
            data = stream.read()
    except OSError as error:
        raise unreadable(f"Cannot read {path} ({what}): {error.strerror}.", fix) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"{path} ({what}) is not UTF-8 text (at byte {error.start}).", fix
        ) from None


def read_json(path: Path, what: str, fix: str, *, own: bool = False) -> Any:
    """The JSON document in the file at `path` (see read_text)."""
    text = read_text(path, what, fix, own=own)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{path} ({what}) is not valid JSON ({error}).", fix) from None


def read_json_as(
    shape: type[Shape], path: Path, what: str, fix: str, *, written_by: str, own: bool = False
) -> Shape:
    """The JSON document at `path` (see read_text) as `shape`, a type pydantic validates;
    refused with the first place that does not fit what `written_by` writes."""
    data = read_json(path, what, fix, own=own)
    try:
        return TypeAdapter(shape).validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        raise InvalidInput(
            f"{path} ({what}) is not what {written_by} writes ({where}: {first['msg']}).", fix
        ) from None
