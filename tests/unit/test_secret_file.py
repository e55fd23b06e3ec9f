"""The module that writes files holding secrets (plugins/modules/voicenote_secret_file.py), run as
Ansible runs it on a host (its arguments in a file): the text lands with its mode at once and is
never echoed; the same text changes nothing; a refused or failed write keeps the old file and
leaves no other copy; check mode writes nothing. And no task that hides its values (no_log)
writes a file through `template` or `copy` with `content`, which keep a copy of the text in the
controller's ~/.ansible/tmp while they send it."""

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT

pytestmark = [pytest.mark.unit, pytest.mark.security]

MODULE = PROJECT / "plugins" / "modules" / "voicenote_secret_file.py"
CANARY = "REDIS_PASSWORD=canary-8f2c\n"  # a made-up value the tests look for


def run(tmp_path, **arguments) -> dict:
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": arguments}))
    done = subprocess.run(
        [sys.executable, str(MODULE), str(args)], capture_output=True, text=True, check=False
    )
    args.unlink()
    assert "canary" not in done.stdout + done.stderr
    return json.loads(done.stdout)


def others(folder, dest) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != dest and p.name != "args.json")


def test_a_new_file_has_its_mode_and_the_same_text_changes_nothing(tmp_path):
    dest = tmp_path / "voicenote.env"
    first = run(tmp_path, dest=str(dest), content=CANARY, mode="0640")
    assert first["changed"] is True and dest.read_text() == CANARY
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640
    assert run(tmp_path, dest=str(dest), content=CANARY, mode="0640")["changed"] is False
    assert others(tmp_path, dest) == []


def test_a_new_text_replaces_the_file_keeping_a_backup_and_a_mode_change_alone_is_a_change(
    tmp_path,
):
    dest = tmp_path / "voicenote.env"
    run(tmp_path, dest=str(dest), content="OLD=1\n", mode="0640")
    replaced = run(tmp_path, dest=str(dest), content=CANARY, mode="0640", backup=True)
    assert replaced["changed"] is True and dest.read_text() == CANARY
    assert (tmp_path / replaced["backup_file"].rsplit("/", 1)[1]).read_text() == "OLD=1\n"
    assert run(tmp_path, dest=str(dest), content=CANARY, mode="0600")["changed"] is True
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600


def test_a_refused_text_keeps_the_old_file_and_leaves_no_copy(tmp_path):
    dest = tmp_path / "voicenote.env"
    run(tmp_path, dest=str(dest), content="OLD=1\n", mode="0640")
    refused = run(tmp_path, dest=str(dest), content=CANARY, mode="0640", validate="false %s")
    assert refused["failed"] is True and "validate refused the new file" in refused["msg"]
    assert dest.read_text() == "OLD=1\n" and others(tmp_path, dest) == []


def test_check_mode_reports_the_change_and_writes_nothing(tmp_path):
    dest = tmp_path / "voicenote.env"
    checked = run(tmp_path, dest=str(dest), content=CANARY, mode="0640", _ansible_check_mode=True)
    assert checked["changed"] is True and not dest.exists() and others(tmp_path, dest) == []


LEAVE_A_LOCAL_COPY = {"ansible.builtin.template", "template"}
COPY = {"ansible.builtin.copy", "copy"}


def tasks_in(node):
    """Every task of a task file or playbook, blocks and plays opened."""
    if isinstance(node, list):
        for item in node:
            yield from tasks_in(item)
    elif isinstance(node, dict):
        yield node
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            yield from tasks_in(node.get(key))


def secret_writes_with_a_local_copy(path: Path) -> list[str]:
    found = []
    for task in tasks_in(yaml.safe_load(path.read_text())):
        if task.get("no_log") is not True:
            continue
        copies = [action for action in LEAVE_A_LOCAL_COPY if action in task] + [
            action for action in COPY if "content" in (task.get(action) or {})
        ]
        found += [f"{path}: {task.get('name')} ({action})" for action in copies]
    return found


def test_no_task_hiding_its_values_writes_through_template_or_copy_content():
    files = [*PROJECT.glob("roles/*/tasks/*.yml"), *PROJECT.glob("roles/*/handlers/*.yml"),
             *PROJECT.glob("playbooks/*.yml"), *PROJECT.glob("playbooks/tasks/*.yml")]  # fmt: skip
    assert len(files) > 50
    assert [hit for path in files for hit in secret_writes_with_a_local_copy(path)] == []


def test_the_rule_finds_a_template_that_hides_its_values(tmp_path):
    tasks = tmp_path / "main.yml"
    tasks.write_text(
        "- name: Write it\n  ansible.builtin.template: {src: a.j2, dest: /a}\n  no_log: true\n"
        "- name: Send it\n  ansible.builtin.copy: {content: x, dest: /b}\n  no_log: true\n"
        "- name: Plain\n  ansible.builtin.template: {src: b.j2, dest: /b}\n"
    )
    assert len(secret_writes_with_a_local_copy(tasks)) == 2
