"""Where the project (playbooks, roles, inventories) and the tool's own state live."""

import os
from pathlib import Path

from voicenote_ops.errors import InvalidInput

PROJECT_ENV = "VOICENOTE_OPS_PROJECT"
# The reference app the project deploys, in the project.
EXAMPLE_APP = Path("examples") / "voicenote-api"
STATE_ENV = "VOICENOTE_OPS_STATE"


def _is_project(path: Path) -> bool:
    return (path / "ansible.cfg").is_file() and (path / "playbooks").is_dir()


def project_dir() -> Path:
    """The folder holding ansible.cfg, playbooks/, roles/ and inventories/.

    Taken from $VOICENOTE_OPS_PROJECT, else the nearest folder at or above the current one that
    has both ansible.cfg and playbooks/, else the source tree this package was installed from.
    """
    explicit = os.environ.get(PROJECT_ENV)
    if explicit:
        path = Path(explicit).resolve()
        if not _is_project(path):
            raise InvalidInput(
                f"{PROJECT_ENV}={explicit} has no ansible.cfg and playbooks/.",
                "Point it at a voicenote-ops checkout.",
            )
        return path
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if _is_project(candidate):
            return candidate
    source_tree = Path(__file__).resolve().parent.parent
    if _is_project(source_tree):
        return source_tree
    raise InvalidInput(
        "No voicenote-ops project found (ansible.cfg and playbooks/).",
        f"Run from a checkout or set {PROJECT_ENV}.",
    )


def state_dir() -> Path:
    """Per-user state: labs' keys and inventories, the audit copy, caches."""
    explicit = os.environ.get(STATE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "voicenote-ops"


CACHE_ENV = "VOICENOTE_OPS_CACHE"


def cache_dir() -> Path:
    """What is slow to make and the same for every state folder (the app images' base layer):
    $VOICENOTE_OPS_CACHE, else the user's cache folder."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voicenote-ops"
