"""Text an operator types never becomes code, through every free-text option of the commands
that run playbooks, and through `ci vars` with plain ansible-playbook. Without a lab: the CLI
runs against a scratch project whose deploy playbook records what it received; a canary file
appears if anything was templated."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli, scratch_project
from tests.unit.test_bundle import _fake_bundle
from tests.unit.test_cli_errors import assert_refused
from tests.unit.test_runner import template_payloads
from voicenote_ops.errors import ExitCode

pytestmark = [pytest.mark.unit, pytest.mark.security]

ENVIRONMENT = "scratch"
VERSION = "1.1.0"
RECORDING = """
- name: "Verify: record what the run received, using it as deploy.yml does"
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Refuse a missing bundle
      ansible.builtin.assert:
        that: voicenote_artifact is file
        fail_msg: "{{ voicenote_artifact }} is not a bundle file"
    - name: Record
      ansible.builtin.copy:
        content: "{{ __received | to_json }}"
        dest: "{{ playbook_dir }}/../received.json"
        mode: "0600"
      vars:
        __received:
          version: "{{ voicenote_version | default(none) }}"
          artifact: "{{ voicenote_artifact }}"
          override: "{{ voicenote_promotion_override | default(none) }}"
          hooks: "{{ voicenote_hooks | default({}) }}"
"""
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
INVENTORY = {
    "all": {"children": {group: {"hosts": {f"{group}1": LOCAL}} for group in ("lb", "app", "db")}}
}


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A project with an environment `scratch` of local hosts, its vault password, and a bundle
    of VERSION in a folder whose name would touch the canary if it were templated."""
    root = scratch_project(
        tmp_path, monkeypatch, {"deploy.yml": RECORDING, "rollback.yml": RECORDING}, ""
    )
    inventory = root / "inventories" / ENVIRONMENT
    inventory.mkdir(parents=True)
    (inventory / "hosts.yml").write_text(json.dumps(INVENTORY))
    # An unsigned bundle is enough here (docs/app-and-bundles.md, Signing).
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "group_vars" / "all" / "main.yml").write_text(
        "voicenote_release_allow_unsigned: true\n"
    )
    password = tmp_path / "vault-password"
    password.write_text("scratch\n")
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", str(password))
    canary = tmp_path / "canary"
    # The payload's slashes make nested folders; the whole path is the payload.
    folder = tmp_path / template_payloads(canary)[0]
    folder.mkdir(parents=True)
    _, bundle = _fake_bundle(folder, VERSION)
    return root, bundle, canary


def received(root: Path) -> dict:
    return json.loads((root / "received.json").read_text())


def test_deploy_hands_artifact_and_override_reason_over_as_typed(scratch):
    root, bundle, canary = scratch
    for reason in template_payloads(canary)[:3]:
        result = run_cli(
            "deploy", ENVIRONMENT, "--version", VERSION, "--artifact", str(bundle),
            "--override-promotion", reason, "--json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert received(root) == {
            "version": VERSION, "artifact": str(bundle), "override": reason, "hooks": {}
        }  # fmt: skip
        assert not canary.exists()


def test_versions_and_names_with_template_syntax_are_refused_before_ansible(scratch):
    root, bundle, canary = scratch
    for payload in template_payloads(canary)[:2]:
        for command, expected in (
            (["deploy", ENVIRONMENT, "--version", payload, "--artifact", str(bundle)], "X.Y.Z"),
            (["rollback", ENVIRONMENT, "--to", payload], "X.Y.Z"),
            (["deploy", payload, "--version", VERSION], "is not valid"),
        ):
            assert_refused(run_cli(*command), ExitCode.INVALID, expected)
    assert not (root / "received.json").exists()
    assert not canary.exists()


def plain_ansible_playbook(root: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i",
         str(root / "inventories" / ENVIRONMENT), "playbooks/deploy.yml", *arguments],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_ci_vars_then_plain_ansible_playbook_hands_the_text_over_as_typed(scratch, tmp_path):
    root, bundle, canary = scratch
    reason, hook = template_payloads(canary)[1], template_payloads(canary)[3]
    variables = tmp_path / "vars.yml"
    written = run_cli(
        "ci", "vars", "--out", str(variables), "--version", VERSION, "--artifact", str(bundle),
        "--override-promotion", reason, "--hook", f"before_upload={hook}",
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    done = plain_ansible_playbook(root, "-e", f"@{variables}")
    assert done.returncode == 0, done.stdout[-2000:]
    assert received(root) == {
        "version": VERSION, "artifact": str(bundle), "override": reason,
        "hooks": {"before_upload": hook},
    }  # fmt: skip
    assert not canary.exists()


def test_the_same_text_through_e_key_value_runs(scratch):
    """Why the docs send plain runs through ci vars: `-e key=value` is templated."""
    root, bundle, canary = scratch
    done = plain_ansible_playbook(
        root, "-e", f"voicenote_version={VERSION}", "-e", f"voicenote_artifact={bundle}",
        "-e", f"voicenote_promotion_override={template_payloads(canary)[0]}",
    )  # fmt: skip
    assert canary.exists(), done.stdout[-2000:]
