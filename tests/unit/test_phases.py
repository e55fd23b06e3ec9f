"""One phase list (playbooks/vars/phases.yml): every playbook that changes an environment runs
exactly its phases, in order, each play named by its phase and entering it by that name; the
documents' phase tables and the CLI's outcome rules are the same list."""

import re

import pytest
import yaml

from tests.conftest import PROJECT
from voicenote_ops import rules
from voicenote_ops.services import ci

pytestmark = pytest.mark.unit

PLAYBOOKS = PROJECT / "playbooks"
OPERATIONS = ("deploy", "rollback", "provision", "rotate")


def plays(playbook: str) -> list[dict]:
    """The plays a playbook runs, in order, its imported playbooks' plays in their place."""
    found = []
    for play in yaml.safe_load((PLAYBOOKS / playbook).read_text()):
        imported = play.get("ansible.builtin.import_playbook")
        found += plays(imported) if imported else [play]
    return found


def phase_of(play: dict) -> str:
    name = play["name"]
    assert ":" in name, f"play {name!r} does not start with its phase"
    return name.split(":", 1)[0].strip().lower()


def entered(play: dict) -> set[str]:
    """The phases a play's tasks enter (voicenote_entering)."""
    return set(re.findall(r"voicenote_entering: ([a-z-]+)", yaml.safe_dump(play)))


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_playbook_runs_its_phases_in_order(operation):
    ran = []
    for play in plays(f"{operation}.yml"):
        if not ran or ran[-1] != phase_of(play):
            ran.append(phase_of(play))
    assert tuple(ran) == rules.phases(operation)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_play_enters_only_its_own_phase(operation):
    for play in plays(f"{operation}.yml"):
        assert entered(play) <= {phase_of(play)}, play["name"]


def test_the_outcome_rules_name_phases_of_the_list():
    deploy = rules.phases("deploy")
    assert rules.check_phase() == deploy[0]
    assert rules.guard_phases() <= set(deploy)
    # Every phase before the switch, and none after it.
    assert rules.before_switch_phases() == set(deploy[: deploy.index("switch")])
    assert ci.HOOK_PHASES[:2] == ("before_upload", "after_upload")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_lock_is_taken_in_the_lock_phase(operation):
    """The play that takes the deploy lock (tasks/begin.yml) is in the phase the outcome rules
    read a lock's failure from, a guard's phase."""
    taking = [phase_of(play) for play in plays(f"{operation}.yml")
              if "tasks/begin.yml" in yaml.safe_dump(play)]  # fmt: skip
    assert taking == [rules.lock_phase()]
    assert rules.lock_phase() in rules.guard_phases()


def _table_phases(document: str, heading: str) -> tuple[str, ...]:
    """The first column of the table under a document's heading."""
    text = (PROJECT / "docs" / document).read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([a-z-]+) \|", section, flags=re.MULTILINE)
    return tuple(row for row in rows if row != "phase")


def test_the_deploy_document_lists_the_deploys_phases():
    assert _table_phases("deploy.md", "## The deploy, phase by phase") == rules.phases("deploy")
