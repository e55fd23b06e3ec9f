"""Provisioned-host images: which roles each kind of host gets, and the tag that keys an image
to the base image and to every file of its roles."""

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT
from voicenote_ops.lab import bake
from voicenote_ops.lab.image import mounts_below
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
    shared = tuple(bake.image_roles()["all"])
    assert shared[0] == "base"
    kinds = {spec.name: bake.roles_for(spec.groups) for spec in hosts_for(Topology.PROD, 1)}
    assert kinds == {
        "lb1": (*shared, "nginx"),
        "app1": (*shared, "nginx"),
        "db1": (*shared, "postgresql", "redis"),
    }
    (node,) = hosts_for(Topology.SINGLE)
    assert set(bake.roles_for(node.groups)) == {*shared, "nginx", "postgresql", "redis"}


def test_every_role_the_image_bakes_has_its_packages_task_file():
    for role in {role for roles in bake.image_roles().values() for role in roles}:
        assert (PROJECT / "roles" / role / "tasks" / "packages.yml").is_file(), role


def test_a_change_to_one_role_rebuilds_the_images_holding_it_and_no_other(project):
    kinds = {"lb": ("lb",), "db": ("db",), "single": ("lb", "app", "db")}

    def tags():
        return {kind: bake.image_tag(BASE, bake.roles_for(group)) for kind, group in kinds.items()}

    before = tags()
    assert before == tags()
    shared = "-".join(bake.image_roles()["all"])
    assert before["lb"].startswith(f"localhost/voicenote-lab:bookworm-{shared}-nginx-")
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


@pytest.fixture
def monitoring_project(project):
    """The copy with image.yml's table as the monitoring stack has it: exporters on every host,
    Prometheus and Alertmanager on the monitoring host (each with a packages.yml of its own)."""
    playbook = project / "playbooks" / bake.PLAYBOOK
    (play,) = yaml.safe_load(playbook.read_text())
    table = play["vars"]["voicenote_image_roles"]
    table["all"] = ["base", "exporters"]
    table["monitoring"] = ["prometheus", "alertmanager"]
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    for role in ("exporters", "prometheus", "alertmanager"):
        packages = project / "roles" / role / "tasks" / "packages.yml"
        packages.parent.mkdir(parents=True, exist_ok=True)
        packages.write_text(f"- name: {role}\n")
    return project


def test_the_monitoring_host_gets_the_monitoring_roles_and_every_host_the_shared_ones(
    monitoring_project,
):
    assert bake.roles_for(("monitoring",)) == (
        "base",
        "exporters",
        "prometheus",
        "alertmanager",
    )
    assert bake.roles_for(("db",)) == ("base", "exporters", "postgresql", "redis")


def test_a_change_to_a_monitoring_role_rebuilds_the_monitoring_image_only(monitoring_project):
    kinds = {"monitoring": ("monitoring",), "db": ("db",), "lb": ("lb",)}

    def tags():
        return {kind: bake.image_tag(BASE, bake.roles_for(group)) for kind, group in kinds.items()}

    before = tags()
    packages = monitoring_project / "roles" / "prometheus" / "tasks" / "packages.yml"
    packages.write_text(packages.read_text() + "# changed\n")
    after = tags()
    assert after["monitoring"] != before["monitoring"]
    assert after["db"] == before["db"] and after["lb"] == before["lb"]


def test_baking_every_image_bakes_the_extra_hosts_too(monitoring_project, monkeypatch):
    asked = []

    def ensure(base_tag, groups, progress):
        asked.append(groups)
        return bake.image_tag(base_tag, bake.roles_for(groups))

    monkeypatch.setattr(bake, "ensure_packages_image", ensure)
    tags = bake.ensure_every_packages_image(BASE)
    # lb and app hosts share one image: one bake per set of roles, not per group.
    assert len(asked) == len(tags) == 5
    assert ("monitoring",) in asked and ("registry",) in asked
    assert any("-prometheus-alertmanager-" in tag for tag in tags)


def test_a_builds_mounts_are_found_deepest_first_and_only_below_it():
    """What a build unmounts before its work folder is removed (debootstrap can leave /proc
    mounted in the root file system): points at or below the folder, never a sibling whose
    name starts the same."""
    table = "\n".join([
        "proc /w/base-1/rootfs/proc proc rw 0 0",
        "sysfs /w/base-1/rootfs/proc/sys/fs/binfmt_misc binfmt_misc rw 0 0",
        "proc /w/base-10/rootfs/proc proc rw 0 0",
        "tmpfs /w/base-1/with\\040space tmpfs rw 0 0",
        "/dev/sda1 / ext4 rw 0 0",
    ])  # fmt: skip
    assert mounts_below(Path("/w/base-1"), table) == [
        Path("/w/base-1/rootfs/proc/sys/fs/binfmt_misc"),
        Path("/w/base-1/rootfs/proc"),
        Path("/w/base-1/with space"),
    ]
