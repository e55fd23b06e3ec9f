"""Provisioned-host images: which roles each kind of host gets, and the tag that keys an image
to the base image and to every file of its roles."""

import shutil

import pytest

from tests.conftest import PROJECT
from voicenote_ops.lab import bake
from voicenote_ops.lab.topology import Topology, hosts_for

pytestmark = pytest.mark.unit

BASE = "localhost/voicenote-lab:bookworm-0123456789ab"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the playbook and the roles, to change one role's file in."""
    (tmp_path / "playbooks").mkdir()
    shutil.copy(PROJECT / "playbooks" / bake.PLAYBOOK, tmp_path / "playbooks")
    shutil.copytree(PROJECT / "roles", tmp_path / "roles")
    monkeypatch.setattr(bake, "project_dir", lambda: tmp_path)
    return tmp_path


def test_each_kind_of_host_gets_the_packages_of_its_roles_only():
    kinds = {spec.name: bake.roles_for(spec.groups) for spec in hosts_for(Topology.PROD, 1)}
    assert kinds == {
        "lb1": ("base", "nginx"),
        "app1": ("base", "nginx"),
        "db1": ("base", "postgresql", "redis"),
    }
    (node,) = hosts_for(Topology.SINGLE)
    assert set(bake.roles_for(node.groups)) == {"base", "nginx", "postgresql", "redis"}


def test_every_role_the_image_bakes_has_its_packages_task_file():
    for role in {role for roles in bake.image_roles().values() for role in roles}:
        assert (PROJECT / "roles" / role / "tasks" / "packages.yml").is_file(), role


def test_a_change_to_one_role_rebuilds_the_images_holding_it_and_no_other(project):
    kinds = {"lb": ("lb",), "db": ("db",), "single": ("lb", "app", "db")}

    def tags():
        return {kind: bake.image_tag(BASE, bake.roles_for(group)) for kind, group in kinds.items()}

    before = tags()
    assert before == tags()
    assert before["lb"].startswith("localhost/voicenote-lab:bookworm-base-nginx-")
    handler = project / "roles" / "nginx" / "handlers" / "main.yml"
    handler.write_text(handler.read_text() + "\n# changed\n")
    after = tags()
    assert after["db"] == before["db"]
    assert after["lb"] != before["lb"] and after["single"] != before["single"]


def test_a_new_base_image_or_image_playbook_rebuilds_every_image(project):
    roles = bake.roles_for(("db",))
    before = bake.image_tag(BASE, roles)
    assert bake.image_tag(BASE.replace("0123", "9999"), roles) != before
    playbook = project / "playbooks" / bake.PLAYBOOK
    playbook.write_text(playbook.read_text() + "\n# changed\n")
    assert bake.image_tag(BASE, roles) != before
