"""The run's record (playbooks/vars/record.yml) is declared once: every key a run that changes an
environment gives with set_stats, and every field of its failure, is in the declaration; the
CLI reads it through the one model built from it, and a record in another shape is said to be
unreadable (exit 5), never guessed at."""

import pytest
import yaml

from tests.conftest import PROJECT
from voicenote_ops.errors import ExitCode
from voicenote_ops.models import record
from voicenote_ops.models.results import RunResult
from voicenote_ops.services.outcome import failure_of

pytestmark = pytest.mark.unit

PLAYBOOKS = PROJECT / "playbooks"
# Playbooks that change nothing: what they give is a read for one command, not a run's record.
READS = {"alerts.yml", "health.yml", "history.yml", "lock.yml", "plan.yml", "push.yml",
         "status.yml"}  # fmt: skip


def tasks_of(node) -> list[dict]:
    """Every task of a parsed playbook or task file, blocks and rescues opened."""
    found = []
    if isinstance(node, list):
        for item in node:
            found += tasks_of(item)
    elif isinstance(node, dict):
        found.append(node)
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            found += tasks_of(node.get(key) or [])
    return found


def given(module: str) -> dict[str, list[dict]]:
    """{file: [the module's arguments]} over the playbooks and their task files."""
    found: dict[str, list[dict]] = {}
    for path in sorted(PLAYBOOKS.rglob("*.yml")):
        if path.parent.name == "vars":
            continue
        for task in tasks_of(yaml.safe_load(path.read_text())):
            if module in task:
                found.setdefault(str(path.relative_to(PLAYBOOKS)), []).append(task[module])
    return found


def test_every_key_a_changing_run_gives_is_declared():
    declared = set(record.declaration()["record"])
    keys = {
        (path, key)
        for path, arguments in given("ansible.builtin.set_stats").items()
        if path not in READS
        for argument in arguments
        for key in argument["data"]
    }
    assert keys, "no set_stats found: the walk over the playbooks is broken"
    assert {(path, key) for path, key in keys if key not in declared} == set()


def test_every_failure_field_given_is_declared():
    fields = set(record.declaration()["failure"])
    failures = [argument["data"]["voicenote_failure"]
                for arguments in given("ansible.builtin.set_stats").values()
                for argument in arguments if "voicenote_failure" in argument["data"]]  # fmt: skip
    recorded = [argument["voicenote_deploy_failure"]
                for argument in given("ansible.builtin.set_fact")["tasks/record-failure.yml"]
                if "voicenote_deploy_failure" in argument]  # fmt: skip
    literal = [failure for failure in failures + recorded if isinstance(failure, dict)]
    assert len(literal) >= 2, "refuse.yml's and record-failure.yml's failures are literal dicts"
    assert all(set(failure) <= fields for failure in literal), literal
    # record-failure.yml gives every field: it is the record a later phase's failure has.
    assert any(set(failure) == fields for failure in recorded), recorded


def test_the_model_defaults_what_a_run_did_not_give():
    run = record.read({"voicenote_failure": {"host": "localhost", "phase": "verify"}})
    assert (run.voicenote_outcome, run.voicenote_not_switched_back) == ("", [])
    failure = run.voicenote_failure
    assert (failure.phase, failure.task, failure.outage, failure.held) == ("verify", "", False,
                                                                            False)  # fmt: skip
    assert record.read({"voicenote_failure": {}, "other": 1}).voicenote_failure is None


@pytest.mark.parametrize(
    "reported",
    [
        {"voicenote_failure": "lock"},
        {"voicenote_failure": {"phase": ["lock"]}},
        {"voicenote_not_switched_back": "app1"},
        {"voicenote_outcome": {"served": True}},
    ],
)
def test_a_record_in_another_shape_is_unreadable_and_needs_attention(reported):
    with pytest.raises(record.UnreadableRecord):
        record.read(reported)
    error = failure_of("The deploy", RunResult("failed", 2, 1.0, reported=reported))
    assert error is not None and error.code == ExitCode.ATTENTION
    assert "its record could not be read" in error.message
