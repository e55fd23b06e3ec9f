"""The runner adapter against a real ansible-playbook run on this machine (local connection)."""

import tempfile
from pathlib import Path

import pytest

from tests.conftest import scratch_project
from voicenote_ops.errors import InvalidInput
from voicenote_ops.runner import PlaybookRun, run_playbook

pytestmark = pytest.mark.unit

PLAYBOOK = """
- name: Adapter check
  hosts: all
  gather_facts: false
  tasks:
    - name: Report a value
      ansible.builtin.command:
        argv: [echo, "{{ greeting }}"]
      changed_when: true
    - name: Fail on purpose
      ansible.builtin.fail:
        msg: "refused: {{ greeting }}"
      when: inventory_hostname == 'second'
"""
INVENTORY = """
all:
  hosts:
    first: {ansible_connection: local, ansible_python_interpreter: "{{ ansible_playbook_python }}"}
    second: {ansible_connection: local, ansible_python_interpreter: "{{ ansible_playbook_python }}"}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    return scratch_project(tmp_path, monkeypatch, {"check.yml": PLAYBOOK}, INVENTORY)


def test_result_counts_failure_and_progress(project):
    seen = []
    result = run_playbook(
        PlaybookRun("check.yml", (project / "hosts.yml",), extravars={"greeting": "hi"}),
        on_progress=seen.append,
    )
    assert not result.succeeded
    assert result.hosts["first"].changed == 1 and result.hosts["first"].failed == 0
    second = result.hosts["second"]
    assert second.failed == 1
    assert second.failed_task == "Fail on purpose"
    assert second.message == "refused: hi"
    assert result.hosts["first"].results["Report a value"]["stdout"] == "hi"
    statuses = {(step.host, step.task, step.status) for step in seen if step.host}
    assert ("second", "Fail on purpose", "failed") in statuses
    assert ("first", "Report a value", "changed") in statuses


def test_private_data_dir_is_removed(project):
    run_playbook(PlaybookRun("check.yml", (project / "hosts.yml",), extravars={"greeting": "x"}))
    assert list(Path(tempfile.gettempdir()).iterdir()) == []


def test_a_run_that_reaches_no_host_is_invalid_input(project):
    (project / "playbooks" / "broken.yml").write_text("- hosts: all\n  tasks: [{bogus: 1}]\n")
    with pytest.raises(InvalidInput, match="before reaching any host"):
        run_playbook(PlaybookRun("broken.yml", (project / "hosts.yml",)))
