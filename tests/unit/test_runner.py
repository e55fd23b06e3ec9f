"""The runner adapter against a real ansible-playbook run on this machine (local connection)."""

import json
import os
import signal
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


def template_payloads(canary: Path) -> list[str]:
    """Text an operator (or whoever wrote a ticket) might hand over: each would run `touch
    canary` on the controller, or at least change, if Ansible templated it."""
    return [
        f"{{{{ lookup('pipe', 'touch {canary}') }}}}",
        f"{{% set x = lookup('pipe', 'touch {canary}') %}}fixed {{{{ x }}}}",
        "hotfix {{ 7*7 }} {# a comment #} {% raw %}raw{% endraw %}",
        f"{{{{ query('ansible.builtin.pipe', 'touch {canary}') }}}}",
        "",
        "0777",
        "true",
    ]


USE_PLAYBOOK = """
- name: Use operator text the ways the playbooks do
  hosts: first
  gather_facts: false
  tasks:
    - name: Keep it as facts
      ansible.builtin.set_fact:
        kept: "{{ texts }}"
        kept_reason: "{{ reason | default(none) }}"
        holder: "{{ lookup('ansible.builtin.env', 'VOICENOTE_LOCK_HOLDER') }}"
    - name: Write it to a file
      ansible.builtin.copy:
        content: "{{ kept | join('|') }}"
        dest: "{{ written }}"
        mode: "0600"
    - name: Refuse a bundle path that is not a file
      ansible.builtin.assert:
        that: artifact is file and kept_reason == texts[2] and batch + 1 == 3 and stop
        quiet: true
    - name: Run a hook from a path with template syntax in it
      ansible.builtin.include_tasks: "{{ hooks.before_upload }}"
    - name: Report it
      ansible.builtin.set_stats:
        data:
          received: "{{ kept }}"
          reason: "{{ kept_reason }}"
          holder: "{{ holder }}"
          nested: "{{ nested }}"
"""
HOOK = """
- name: The operator's hook
  ansible.builtin.set_stats:
    data: {hook_ran: true}
"""


def test_operator_text_arrives_as_data_and_never_runs(project, tmp_path, monkeypatch):
    """Through the adapter exactly as the CLI's runs go: strings at any depth arrive byte for
    byte and run nothing; numbers and booleans keep their types; paths work as paths."""
    canary = tmp_path / "canary"
    texts = template_payloads(canary)
    (project / "playbooks" / "use.yml").write_text(USE_PLAYBOOK)
    monkeypatch.setenv("VOICENOTE_LOCK_HOLDER", texts[0])
    artifact = tmp_path / "voicenote-api-{{ 7*7 }}.tar.gz"
    artifact.write_bytes(b"bundle")
    hook = tmp_path / "hook {{ 7*7 }}.yml"
    hook.write_text(HOOK)
    written = tmp_path / "written"
    nested = {"{{ 7*7 }}": [texts[0], {"reason": texts[2]}], "plain": 0}
    extravars = {
        "texts": texts, "reason": texts[2], "artifact": str(artifact), "written": str(written),
        "hooks": {"before_upload": str(hook)}, "batch": 2, "stop": True, "nested": nested,
    }  # fmt: skip
    result = run_playbook(PlaybookRun("use.yml", (project / "hosts.yml",), extravars=extravars))
    assert result.succeeded, result.hosts["first"].message
    assert not canary.exists()
    assert written.read_bytes() == "|".join(texts).encode()
    assert result.reported == {
        "received": texts, "reason": texts[2], "holder": texts[0], "nested": nested,
        "hook_ran": True,
    }  # fmt: skip


def test_the_payloads_would_run_if_templated(project, tmp_path):
    """The check above can fail: the same text in a playbook's own (trusted) YAML runs."""
    canary = tmp_path / "canary"
    text = json.dumps(template_payloads(canary)[0])
    (project / "playbooks" / "trusted.yml").write_text(
        f"- hosts: first\n  gather_facts: false\n  tasks:\n"
        f"    - ansible.builtin.debug:\n        msg: {text}\n"
    )
    assert run_playbook(PlaybookRun("trusted.yml", (project / "hosts.yml",))).succeeded
    assert canary.exists()


INTERRUPTED = """
- name: The operator presses Ctrl-C (here, the play signals the controller's process)
  hosts: first
  gather_facts: false
  tasks:
    - name: Signal
      ansible.builtin.command:
        argv: [kill, -INT, "{{ controller_pid }}"]
      loop: "{{ range(signals | int) | list }}"
      changed_when: true
    # wait_for, not pause, here too: a stop at once that lands in a pause left ansible-playbook
    # waiting on its prompt after the test, for hours.
    - name: Give the signals time to arrive
      ansible.builtin.wait_for:
        timeout: 1
- name: The next phase looks for the stop file, as playbooks/tasks/enter-phase.yml does
  hosts: first
  gather_facts: false
  tasks:
    - name: Report whether a stop was asked
      ansible.builtin.set_stats:
        data:
          asked: >-
            {{ voicenote_stop_file | default('') | length > 0
            and voicenote_stop_file is exists }}
    # A module that sleeps, not pause: pause answers SIGINT with a prompt that waits on stdin
    # for ever, which left ansible-playbook behind after the test.
    - name: A long step
      ansible.builtin.wait_for:
        timeout: "{{ 60 if signals | int > 1 else 0 }}"
      when: signals | int > 1
"""


def _interrupted(project, signals: int, interruptible: bool = True):
    (project / "playbooks" / "interrupted.yml").write_text(INTERRUPTED)
    seen = []
    result = run_playbook(
        PlaybookRun(
            "interrupted.yml", (project / "hosts.yml",),
            extravars={"controller_pid": os.getpid(), "signals": signals},
            interruptible=interruptible,
        ),
        on_progress=seen.append,
    )  # fmt: skip
    return result, [step.task for step in seen if step.status == "notice"]


def test_a_first_ctrl_c_asks_the_playbook_to_stop_at_its_next_phase(project):
    result, notices = _interrupted(project, signals=1)
    assert result.interrupts == 1 and result.succeeded
    assert result.reported["asked"] is True
    assert len(notices) == 1 and "Ctrl-C again stops at once" in notices[0]
    # The handlers were the run's only: SIGINT is Python's own again.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_stops_the_playbook_at_once(project):
    result, notices = _interrupted(project, signals=2)
    # canceled: ansible-runner killed ansible-playbook in its 60 s step.
    assert result.interrupts == 2 and result.status == "canceled"
    assert notices[-1] == "Stopping at once."


def test_a_run_that_changes_nothing_names_no_stop_file(project):
    (project / "playbooks" / "interrupted.yml").write_text(INTERRUPTED)
    result = run_playbook(
        PlaybookRun(
            "interrupted.yml", (project / "hosts.yml",),
            extravars={"controller_pid": os.getpid(), "signals": 0},
        )
    )  # fmt: skip
    assert result.reported["asked"] is False and result.interrupts == 0
