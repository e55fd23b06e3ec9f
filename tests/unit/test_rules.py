"""Rules both sides apply are written once, in the playbooks' vars: the CLI (voicenote_ops/rules.py)
and Ansible (the `match` test the playbooks use) agree on every version and tag, and the
controller's audit folder is the same on both paths, under XDG_STATE_HOME too."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT
from voicenote_ops import paths, rules
from voicenote_ops.services.ci import is_pre_release_tag, parse_release_tag

pytestmark = pytest.mark.unit

VERSIONS = [
    "1.2.3", "0.0.0", "10.20.30", "1.2.3-rc.1", "1.2.3-rc.12",
    "01.2.3", "1.02.3", "1.2", "1.2.3.4", "1.2.3-rc.0", "1.2.3-rc.01", "1.2.3-rc",
    "1.2.3\n", " 1.2.3", "v1.2.3", "1.2.3-RC.1", "1.2.3-beta.1", "\u0661.2.3", "",
]  # fmt: skip

PLAYBOOK = """
- name: What Ansible makes of the rules
  hosts: localhost
  gather_facts: false
  vars_files:
    - {project}/playbooks/vars/versions.yml
  tasks:
    - name: The run's facts, as every changing run fixes them
      ansible.builtin.import_tasks: {project}/playbooks/tasks/run-facts.yml
      vars:
        voicenote_env_name: rules
    - name: Write what it found
      ansible.builtin.copy:
        content: "{{{{ {{'accepted': versions | select('match', voicenote_version_pattern) | list,
                      'audit_dir': voicenote_audit_dir}} | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def ansible_side(tmp_path_factory) -> tuple[dict, dict[str, str]]:
    """One ansible-playbook run with XDG_STATE_HOME set and no VOICENOTE_OPS_STATE."""
    root = tmp_path_factory.mktemp("rules")
    out = root / "found.json"
    (root / "play.yml").write_text(PLAYBOOK.format(project=PROJECT, out=out))
    (root / "versions.json").write_text(json.dumps({"versions": VERSIONS}))
    # run-facts.yml names the environment after the first app host's inventory.
    (root / "hosts.yml").write_text(json.dumps({"app": {"hosts": {"localhost": {}}}}))
    environment = {
        key: value for key, value in os.environ.items() if key != "VOICENOTE_OPS_STATE"
    } | {"XDG_STATE_HOME": str(root / "xdg"), "HOME": str(root / "home"),
         "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg")}  # fmt: skip
    done = subprocess.run(
        [str(PROJECT / ".venv" / "bin" / "ansible-playbook") if (PROJECT / ".venv").is_dir()
         else "ansible-playbook", "-i", str(root / "hosts.yml"), "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", "@" + str(root / "versions.json"), str(root / "play.yml")],
        capture_output=True, text=True, env=environment, cwd=root, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    return json.loads(out.read_text()), environment


def test_the_cli_and_ansible_accept_the_same_versions(ansible_side):
    found, _ = ansible_side
    accepted = [version for version in VERSIONS if rules.release_version().match(version)]
    assert accepted == found["accepted"]
    assert accepted == ["1.2.3", "0.0.0", "10.20.30", "1.2.3-rc.1", "1.2.3-rc.12"]


def test_release_tags_are_v_and_a_release_version():
    assert [str(parse_release_tag(f"v{v}")) for v in ("1.2.3", "0.0.0")] == ["1.2.3", "0.0.0"]
    assert parse_release_tag("v1.2.3-rc.1") is None and is_pre_release_tag("v1.2.3-rc.1")
    for tag in ("1.2.3", "v01.2.3", "v1.2.3\n", "vv1.2.3", "v1.2.3-rc.0"):
        assert parse_release_tag(tag) is None and not is_pre_release_tag(tag), tag


def test_the_audit_folder_is_the_same_on_both_paths(ansible_side, monkeypatch):
    found, environment = ansible_side
    monkeypatch.delenv("VOICENOTE_OPS_STATE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", environment["XDG_STATE_HOME"])
    assert found["audit_dir"] == str(paths.state_dir() / "audit")
    assert found["audit_dir"].startswith(environment["XDG_STATE_HOME"])
