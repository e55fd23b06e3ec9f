"""Extra vars that Ansible never templates: one YAML document tagged `!unsafe`, in a 0600 file.

Ansible templates every string it gets through `-e key=value`, `-e '{json}'` or `-e @file`, so an
operator's text (a reason, a path) holding `{{ lookup('pipe', ...) }}` would run a command on the
controller. Under `!unsafe` a value stays data wherever a playbook uses it. The tag goes on the
whole document rather than on each string: Ansible resolves a tagged scalar again as if it were
unquoted (`!unsafe ''` arrives as null, `!unsafe '0777'` as 511), while in a tagged mapping every
value keeps the type its own YAML gives it. The CLI's runs (runner.py) and `voicenote-ops ci vars`
write their variables with `write_vars_file`, the one writer.
"""

import contextlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from voicenote_ops.errors import (
    MACHINE_FIX,
    InvalidInput,
    NeedsAttention,
    OpsError,
    machine_failure,
)

UNSAFE_TAG = "!unsafe"
HEADER = "# Extra vars for ansible-playbook -e @FILE: every value is data, never a template.\n"


@dataclass(frozen=True)
class _UnsafeDocument:
    variables: Mapping[str, Any]


class _Dumper(yaml.SafeDumper):
    """Safe YAML (strings that look like numbers, booleans or null stay quoted strings)."""


_Dumper.add_representer(
    _UnsafeDocument,
    lambda dumper, document: dumper.represent_mapping(UNSAFE_TAG, document.variables),
)


def vars_yaml(variables: Mapping[str, Any]) -> str:
    """The variables as one `!unsafe` YAML document; names must be Ansible variable names."""
    for name in variables:
        if not (isinstance(name, str) and name.isidentifier() and name.isascii()):
            raise ValueError(f"{name!r} is not a variable name")
    document = yaml.dump(
        _UnsafeDocument(dict(variables)),
        Dumper=_Dumper,
        explicit_start=True,
        allow_unicode=True,
        default_flow_style=False,
        sort_keys=True,
    )
    return HEADER + document


def write_vars_file(destination: Path, variables: Mapping[str, Any]) -> None:
    """Write the variables for `-e @destination` (0600, see write_private_file)."""
    write_private_file(destination, vars_yaml(variables))


def write_private_file(destination: Path, text: str) -> None:
    """Write text to a file only its owner can read: created 0600 beside the destination before
    anything is written to it, then moved into place. The destination must be a new path or a
    regular file; a symlink, a directory or a device is refused, never written through."""
    try:
        mode = destination.lstat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise _cannot_write(destination, error) from None
    if mode is not None and not stat.S_ISREG(mode):
        raise InvalidInput(
            f"{destination} exists and is not a regular file.",
            "Name a new path, or a regular file to replace.",
        )
    partial = destination.with_name(f".{destination.name}.partial")
    try:
        destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        with open(partial, "x", encoding="utf-8", opener=_private_opener) as handle:
            handle.write(text)
        partial.replace(destination)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise _cannot_write(destination, error) from None


def _cannot_write(destination: Path, error: OSError) -> OpsError:
    message = f"Cannot write {destination}: {error.strerror or error}."
    if machine_failure(error):
        return NeedsAttention(message, MACHINE_FIX)
    return InvalidInput(message, "Name a file in a folder you can write to.")


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
