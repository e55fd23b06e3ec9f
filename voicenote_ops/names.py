"""Validation of the names a user types: environments and labs."""

import re

from voicenote_ops.errors import InvalidInput

REAL_ENVIRONMENTS = ("dev", "staging", "prod")
_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")


def check_name(kind: str, value: str) -> str:
    """A lab or environment name: lowercase letters, digits and dashes, at most 31 long."""
    if not _NAME.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidInput(
            f"{kind} name {shown!r} is not valid.",
            "Use lowercase letters, digits and dashes, starting with a letter (at most 31).",
        )
    return value
