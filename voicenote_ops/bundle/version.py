"""Release versions: X.Y.Z or X.Y.Z-rc.N (the playbooks' pattern, voicenote_ops/rules.py), and
their PEP 440 spelling inside wheels."""

import re

from voicenote_ops import rules
from voicenote_ops.errors import InvalidInput


def _parse(version: str) -> re.Match[str]:
    match = rules.release_version().match(version)
    if match is None:
        raise InvalidInput(
            f"Version {version!r} is not of the form X.Y.Z or X.Y.Z-rc.N.",
            "Use for example 1.2.0 or 1.2.0-rc.1.",
        )
    return match


def check_release_version(version: str) -> str:
    _parse(version)
    return version


def package_version(version: str) -> str:
    """The PEP 440 form pip and the wheel's metadata use: 1.2.0-rc.1 becomes 1.2.0rc1."""
    match = _parse(version)
    release = ".".join(match.group("major", "minor", "patch"))
    return f"{release}rc{match['rc']}" if match["rc"] else release
