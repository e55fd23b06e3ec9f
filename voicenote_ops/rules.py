"""Rules of a request that the playbooks check and the CLI quotes in its early refusals, read
from the playbooks' own vars (playbooks/vars/versions.yml): written there only, so the two sides
cannot disagree. The CLI refuses early, before a run starts; the playbooks refuse the same input
again for runs made without it (ansible-playbook in CI)."""

import functools
import re
from pathlib import Path
from typing import Any

import yaml

# The playbooks of the source tree this package runs from (installed editable, like the CLI's
# project): the rules travel with the code that applies them.
RULES_FILE = Path(__file__).resolve().parent.parent / "playbooks" / "vars" / "versions.yml"


@functools.cache
def _rules() -> dict[str, Any]:
    return yaml.safe_load(RULES_FILE.read_text())


def release_version() -> re.Pattern[str]:
    """X.Y.Z or X.Y.Z-rc.N, anchored at both ends; groups major, minor, patch and rc."""
    return re.compile(_rules()["voicenote_version_pattern"])


def release_tag() -> re.Pattern[str]:
    """A release tag: v and a release version (vX.Y.Z or vX.Y.Z-rc.N), anchored."""
    pattern = _rules()["voicenote_version_pattern"]
    return re.compile("^v" + pattern.removeprefix("^"))


def watch_seconds_max() -> int:
    """The longest post-switch watch a deploy takes."""
    return int(_rules()["voicenote_watch_seconds_max"])


def prod_rules_environments() -> frozenset[str]:
    """The environments (their voicenote_environment) under prod's rules: only final releases,
    only signed bundles, and the CLI asks before it changes anything."""
    return frozenset(_rules()["voicenote_prod_rules_environments"])
