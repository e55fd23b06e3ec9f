"""The promotion guard (playbooks/tasks/promotion.yml) on this machine, against audit trails
written here: which records let a release through, and that labs and real environments never
vouch for each other. Each host of the inventory is one environment asking the guard."""

import json

import pytest

from tests.conftest import PROJECT, scratch_project
from voicenote_ops.runner import PlaybookRun, RunResult, run_playbook

pytestmark = [pytest.mark.unit, pytest.mark.security]

COMMIT = "c0ffee0000000000000000000000000000000001"
PLAYBOOK = """
- name: The controller's facts the guard reads
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Where the trails are, and the release's manifest
      ansible.builtin.set_fact:
        voicenote_audit_dir: "{{ audit_dir }}"
        release_manifest: {source_commit: "{{ commit }}"}

- name: Each environment asks the guard
  hosts: app
  gather_facts: false
  tasks:
    - name: Ask the promotion guard
      ansible.builtin.include_tasks: tasks/promotion.yml
"""
LOCAL = {
    "ansible_connection": "local",
    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
}
# prod (a real environment), a lab made --like prod, and prod with an operator's override.
INVENTORY = {
    "all": {
        "vars": {"voicenote_promotion_from": "staging"},
        "children": {
            "app": {
                "hosts": {
                    "prod": LOCAL,
                    "prod_like_lab": {**LOCAL, "voicenote_lab_name": "prod-like"},
                    "prod_overridden": {**LOCAL, "voicenote_promotion_override": "INC-42"},
                }
            }
        },
    }
}


def record(**changes) -> dict:
    """A successful deploy of COMMIT to a real staging, as tasks/audit.yml writes it."""
    base = {"format": 1, "operation": "deploy", "result": "succeeded", "environment": "staging",
            "rules": "staging", "lab": False, "source_commit": COMMIT, "to": "1.1.0"}  # fmt: skip
    return {key: value for key, value in {**base, **changes}.items() if value is not ...}


@pytest.fixture
def guard(tmp_path, monkeypatch):
    """Run the guard with these trail files ({name: [records]}); the hosts that it let through."""
    root = scratch_project(tmp_path, monkeypatch, {"guard.yml": PLAYBOOK}, json.dumps(INVENTORY))
    (root / "playbooks" / "tasks").symlink_to(PROJECT / "playbooks" / "tasks")
    audit = tmp_path / "audit"
    audit.mkdir()

    def ask(trails: dict[str, list[dict]]) -> RunResult:
        for name, records in trails.items():
            (audit / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        extravars = {"audit_dir": str(audit), "commit": COMMIT}
        return run_playbook(PlaybookRun("guard.yml", (root / "hosts.yml",), extravars=extravars))

    return ask


def let_through(result: RunResult) -> set[str]:
    asked = INVENTORY["all"]["children"]["app"]["hosts"]
    return {host for host in asked if result.hosts[host].failed == 0}


def test_a_real_staging_deploy_promotes_to_prod_but_not_to_a_lab(guard):
    result = guard({"staging": [record()]})
    assert let_through(result) == {"prod", "prod_overridden"}
    refusal = result.hosts["prod_like_lab"].message
    assert f"The source commit {COMMIT} was never deployed successfully to a lab made" in refusal
    assert "--like staging" in refusal
    assert "voicenote-ops history THAT-LAB" in refusal


def test_a_staging_like_lab_deploy_promotes_to_a_lab_but_not_to_prod(guard):
    result = guard({"stage-lab": [record(environment="stage-lab", lab=True)]})
    assert let_through(result) == {"prod_like_lab", "prod_overridden"}
    refusal = result.hosts["prod"].message
    assert f"{COMMIT} was never deployed successfully to staging (per" in refusal
    assert "voicenote-ops history staging" in refusal


def test_records_that_prove_nothing_are_ignored(guard):
    proving_nothing = [
        record(source_commit="another0000000000000000000000000000000002"),
        record(result="contained"),
        record(result="refused"),
        record(operation="rollback"),
        record(rules="dev"),
        record(rules=...),
        # Written before records said whether a lab wrote them: no proof either way.
        record(lab=...),
    ]
    in_a_lab = [{**r, "lab": True} if "lab" in r else r for r in proving_nothing]
    result = guard({"staging": proving_nothing, "stage-lab": in_a_lab})
    assert let_through(result) == {"prod_overridden"}


def test_every_trail_file_and_line_is_read(guard):
    noise = [record(source_commit="another0000000000000000000000000000000002")] * 3
    result = guard({"dev": noise, "staging": [*noise, record(), *noise], "empty": []})
    assert let_through(result) == {"prod", "prod_overridden"}
