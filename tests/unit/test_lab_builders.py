"""The lab's pure parts: topology, podman argv, inventory, image recipe, containers.conf."""

import resource

import pytest
import yaml

from voicenote_ops.errors import InvalidInput
from voicenote_ops.lab import hosts, image, podman, prereqs
from voicenote_ops.lab.inventory import HostAddress, hosts_document, link_group_vars
from voicenote_ops.lab.state import LabFiles
from voicenote_ops.lab.topology import Topology, hosts_for

pytestmark = pytest.mark.unit


def test_prod_topology_has_lb_apps_and_db():
    hosts = hosts_for(Topology.PROD, app_hosts=3)
    assert [h.name for h in hosts] == ["lb1", "app1", "app2", "app3", "db1"]
    assert {h.name: h.groups for h in hosts}["lb1"] == ("lb",)


def test_single_topology_is_one_host_in_every_group():
    (host,) = hosts_for(Topology.SINGLE)
    assert set(host.groups) == {"lb", "app", "db"}


@pytest.mark.parametrize("count", [0, -1, 17])
def test_app_host_count_is_bounded(count):
    with pytest.raises(InvalidInput):
        hosts_for(Topology.PROD, app_hosts=count)


def test_hosts_publish_only_on_loopback_and_carry_the_lab_label():
    lb, app = hosts_for(Topology.PROD, app_hosts=1)[:2]
    lb_argv = hosts.create_argv("t1", lb, "img", "10.89.7.10")
    app_argv = hosts.create_argv("t1", app, "img", "10.89.7.101")
    published = [lb_argv[i + 1] for i, word in enumerate(lb_argv) if word == "--publish"]
    assert published == ["127.0.0.1::22", "127.0.0.1::80", "127.0.0.1::443"]
    assert "127.0.0.1::80" not in app_argv
    assert f"{podman.LABEL_LAB}=t1" in app_argv
    assert "--privileged" not in lb_argv and "ALL" not in lb_argv
    assert lb_argv[-2:] == ["img", "/sbin/init"]


def test_hosts_keep_a_fixed_address_by_name():
    addresses = [hosts.host_address("10.89.7.0/24", h) for h in ("lb1", "app1", "app8", "db1")]
    assert addresses == ["10.89.7.10", "10.89.7.101", "10.89.7.108", "10.89.7.20"]
    assert "--ip" in hosts.create_argv("t1", hosts_for(Topology.SINGLE)[0], "img", "10.0.0.11")


def test_inventory_pins_connection_per_host(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path))
    lab = LabFiles("t1")
    hosts = [
        HostAddress(spec, 40000 + index, f"10.0.0.{index}")
        for index, spec in enumerate(hosts_for(Topology.PROD, app_hosts=2))
    ]
    document = hosts_document(lab, hosts)
    groups = document["all"]["children"]
    assert set(groups["app"]["hosts"]) == {"app1", "app2"}
    app1 = groups["app"]["hosts"]["app1"]
    assert app1["ansible_host"] == "127.0.0.1"
    assert app1["ansible_user"] == "deploy" and app1["ansible_become"] is True
    assert "StrictHostKeyChecking=yes" in app1["ansible_ssh_common_args"]
    assert str(lab.known_hosts) in app1["ansible_ssh_common_args"]
    yaml.safe_load(yaml.safe_dump(document))


# prod commits only vault.yml.example; an operator's checkout may hold the encrypted vault.yml.
@pytest.mark.parametrize("prod_vault", ["vault.yml.example", "vault.yml"])
def test_like_prod_takes_prod_vars_but_the_lab_vault_and_key(tmp_path, monkeypatch, prod_vault):
    monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path / "state"))
    inventories = tmp_path / "inventories"
    signers = "release-signers.yml"
    for env, files in {
        "prod": ["main.yml", prod_vault, signers],
        "lab": ["main.yml", "vault.yml", signers],
    }.items():
        folder = inventories / env / "group_vars" / "all"
        folder.mkdir(parents=True)
        for name in files:
            (folder / name).write_text(f"{env}-{name}")
    lab = LabFiles("t1")
    link_group_vars(lab, inventories, "prod")
    linked = lab.inventory_dir / "group_vars" / "all"
    assert (linked / "main.yml").read_text() == "prod-main.yml"
    assert (linked / "vault.yml").read_text() == "lab-vault.yml"
    # A lab trusts the lab's test-only release key, never a real environment's.
    assert (linked / signers).read_text() == "lab-release-signers.yml"
    link_group_vars(lab, inventories, "lab")  # relinking replaces, never mixes
    assert (linked / "main.yml").read_text() == "lab-main.yml"


def test_image_tag_follows_the_recipe():
    base = image.ImageRecipe(mirror="http://mirror.invalid/debian")
    more = image.ImageRecipe(mirror=base.mirror, packages=(*base.packages, "vim"))
    assert base.tag != more.tag
    assert base.tag == image.ImageRecipe(mirror=base.mirror).tag
    assert base.tag.startswith("localhost/voicenote-lab:bookworm-")
    assert "--variant=minbase" in base.debootstrap_argv(tmp := __import__("pathlib").Path("/r"))
    assert str(tmp) in base.debootstrap_argv(tmp)


def test_containers_conf_never_asks_above_the_hard_limits():
    text = podman.containers_conf_text()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    wanted = min(16384, hard) if hard != resource.RLIM_INFINITY else 16384
    assert f"nofile={wanted}:{wanted}" in text
    assert 'runtime = "runc"' in text


def test_lab_commands_refuse_without_root(monkeypatch):
    monkeypatch.setattr(prereqs.os, "geteuid", lambda: 1000)
    with pytest.raises(InvalidInput, match="not root"):
        prereqs.require_podman()


def test_containers_conf_follows_the_state_folder_and_comes_back_when_removed(
    tmp_path, monkeypatch
):
    """Every podman call gets an existing file, whichever state folder is current (one test
    process moves it; a test worker's first folder may be gone by its next lab test)."""
    for name in ("first", "second"):
        monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path / name))
        path = podman.containers_conf()
        assert path == tmp_path / name / "containers.conf" and path.is_file()
        path.unlink()
        assert podman.containers_conf().read_text() == podman.containers_conf_text()
