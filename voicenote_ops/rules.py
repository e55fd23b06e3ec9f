"""Rules that the playbooks apply and the CLI quotes, read from the playbooks' own vars: a
request's rules (playbooks/vars/versions.yml) and the phases of each run (playbooks/vars/
phases.yml), written there only, so the two sides cannot disagree. The CLI refuses early,
before a run starts; the playbooks refuse the same input again for runs made without it
(ansible-playbook in CI)."""

import functools
import re
from pathlib import Path
from typing import Any

import yaml

# The playbooks of the source tree this package runs from (installed editable, like the CLI's
# project): the rules travel with the code that applies them.
VARS = Path(__file__).resolve().parent.parent / "playbooks" / "vars"
RULES_FILE = VARS / "versions.yml"
PHASES_FILE = VARS / "phases.yml"


@functools.cache
def _rules() -> dict[str, Any]:
    return yaml.safe_load(RULES_FILE.read_text())


@functools.cache
def _phases() -> dict[str, Any]:
    return yaml.safe_load(PHASES_FILE.read_text())


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


def phases(operation: str) -> tuple[str, ...]:
    """The phases of a run of `operation` (deploy, rollback, provision, rotate), in order."""
    return tuple(_phases()["voicenote_phases"][operation])


def check_phase() -> str:
    """The phase that checks the request on the controller, before any host is contacted."""
    return str(_phases()["voicenote_check_phase"])


def lock_phase() -> str:
    """The phase that takes the environment's deploy lock."""
    return str(_phases()["voicenote_lock_phase"])


def guard_phases() -> frozenset[str]:
    """Phases whose failure is a guard's refusal: nothing changed, on purpose."""
    return frozenset(_phases()["voicenote_guard_phases"])


def before_switch_phases() -> frozenset[str]:
    """Phases in which no app host has switched yet."""
    return frozenset(_phases()["voicenote_before_switch_phases"])


def hook_points() -> tuple[str, ...]:
    """Where an operator's hook can run: before_ and after_ each hook step, in order."""
    steps = _phases()["voicenote_hook_steps"]
    return tuple(f"{moment}_{step}" for step in steps for moment in ("before", "after"))
