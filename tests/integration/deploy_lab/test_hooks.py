"""An operator's hooks (voicenote_hooks, as ansistrano's): each task file runs at its phase, in
the deploy's order, on every app host (the migrate phase's once, as the migration), through the
plain ansible-playbook path CI may take; the hooks between a start and its switch run only on a
host that starts something."""

import json

import pytest

from tests.integration.deploy_lab.deploys import ansible_playbook, deploy

pytestmark = pytest.mark.integration

# In the order a deploy reaches them.
HOOKS = [
    "before_upload", "after_upload", "before_migrate", "after_migrate", "before_start",
    "after_start", "before_switch", "after_switch", "before_cleanup", "after_cleanup",
]  # fmt: skip


@pytest.fixture(scope="module")
def bundle(deploy_lab):
    built = deploy_lab("1.1.0")
    assert deploy(built, "1.1.0").returncode == 0
    return built


def hook_files(folder):
    """One task file per hook, each noting its name and host on the controller."""
    log = folder / "hooks.log"
    hooks = {}
    for name in HOOKS:
        tasks = folder / f"{name}.yml"
        tasks.write_text(
            "- name: Note the hook\n"
            '  ansible.builtin.shell: echo "'
            + name
            + ' {{ inventory_hostname }}" >> '
            + str(log)
            + "\n  delegate_to: localhost\n  changed_when: false\n"
        )
        hooks[name] = str(tasks)
    return hooks, log


def test_every_hook_runs_at_its_phase_on_every_app_host(bundle, tmp_path):
    hooks, log = hook_files(tmp_path)
    extra = tmp_path / "hooks.json"
    extra.write_text(json.dumps({"voicenote_version": "1.1.0", "voicenote_artifact": str(bundle),
                                 "voicenote_hooks": hooks}))  # fmt: skip
    done = ansible_playbook("deploy.yml", "-e", f"@{extra}")
    assert done.returncode == 0, done.stdout[-3000:]
    ran = [line.split() for line in log.read_text().splitlines()]
    # Every host already served 1.1.0: nothing started or switched, every other hook ran.
    expected = [name for name in HOOKS if name not in ("after_start", "before_switch")]
    assert [name for name, host in ran if host == "app1"] == expected, ran
    once = ("before_migrate", "after_migrate")
    assert [name for name, host in ran if host == "app2"] == [
        name for name in expected if name not in once
    ], ran
