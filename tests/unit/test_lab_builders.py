"""The lab's pure parts: topology, podman argv, inventory, image recipe, containers.conf."""

import resource

import pytest
import yaml

from voicenote_ops.errors import InvalidInput
from voicenote_ops.lab import hosts, image, podman, prereqs
from voicenote_ops.lab.inventory import HostAddress, hosts_document, link_group_vars, link_vault
from voicenote_ops.lab.state import LabFiles
from voicenote_ops.lab.topology import Topology, check_host_memory, hosts_for, memory_bytes

pytestmark = pytest.mark.unit


def test_prod_topology_has_lb_apps_and_db():
    hosts = hosts_for(Topology.PROD, app_hosts=3)
    assert [h.name for h in hosts] == ["lb1", "app1", "app2", "app3", "db1"]
    assert {h.name: h.groups for h in hosts}["lb1"] == ("lb",)


def test_single_topology_is_one_host_in_every_group():
    (host,) = hosts_for(Topology.SINGLE)
    assert set(host.groups) == {"lb", "app", "db"}


def test_monitoring_adds_one_host_of_its_own_to_either_topology():
    prod = hosts_for(Topology.PROD, app_hosts=2, monitoring=True)
    assert [h.name for h in prod] == ["lb1", "app1", "app2", "db1", "mon1"]
    single = hosts_for(Topology.SINGLE, monitoring=True)
    assert {h.name: h.groups for h in single} == {
        "node1": ("lb", "app", "db"),
        "mon1": ("monitoring",),
    }
    assert not single[1].is_lb
    assert all("monitoring" not in h.groups for h in hosts_for(Topology.PROD))


def test_the_registry_host_publishes_its_port_and_is_named_for_pushes_from_here(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path))
    *_, registry = hosts_for(Topology.SINGLE, registry=True)
    assert (registry.name, registry.groups) == ("reg1", ("registry",))
    argv = hosts.create_argv("t1", registry, "img", "10.89.7.12", "1536m")
    published = [argv[i + 1] for i, word in enumerate(argv) if word == "--publish"]
    assert published == ["127.0.0.1::22", f"127.0.0.1::{hosts.REGISTRY_PORT}"]
    addresses = [HostAddress(spec, 40000 + i, f"10.0.0.{i}", 45000 + i)
                 for i, spec in enumerate(hosts_for(Topology.SINGLE, registry=True))]  # fmt: skip
    groups = hosts_document(LabFiles("t1"), addresses)["all"]["children"]
    reg1 = groups["registry"]["hosts"]["reg1"]
    assert reg1["registry_names"] == ["reg1", "localhost"]
    assert reg1["registry_addresses"] == ["10.0.0.1", "127.0.0.1"]
    assert reg1["registry_push_address"] == "localhost:45001"
    assert "registry_names" not in groups["app"]["hosts"]["node1"]


@pytest.mark.parametrize("count", [0, -1, 17])
def test_app_host_count_is_bounded(count):
    with pytest.raises(InvalidInput):
        hosts_for(Topology.PROD, app_hosts=count)


def test_hosts_publish_only_on_loopback_and_carry_the_lab_label():
    lb, app = hosts_for(Topology.PROD, app_hosts=1)[:2]
    lb_argv = hosts.create_argv("t1", lb, "img", "10.89.7.10", "1536m")
    app_argv = hosts.create_argv("t1", app, "img", "10.89.7.101", "1536m")
    published = [lb_argv[i + 1] for i, word in enumerate(lb_argv) if word == "--publish"]
    assert published == ["127.0.0.1::22", "127.0.0.1::80", "127.0.0.1::443"]
    assert "127.0.0.1::80" not in app_argv
    assert f"{podman.LABEL_LAB}=t1" in app_argv
    assert "--privileged" not in lb_argv and "ALL" not in lb_argv
    assert lb_argv[-2:] == ["img", "/sbin/init"]


def test_hosts_get_a_memory_limit_with_no_swap_beyond_it():
    (node,) = hosts_for(Topology.SINGLE)
    argv = hosts.create_argv("t1", node, "img", "10.89.7.11", "1536m")
    assert argv[argv.index("--memory") + 1] == "1536m"
    assert argv[argv.index("--memory-swap") + 1] == "1536m"
    assert argv.index("--memory") < argv.index("img"), "an option, not the host's command"
    # Hosts of labs made before limits are made again as they were.
    assert "--memory" not in hosts.create_argv("t1", node, "img", "10.89.7.11", None)


@pytest.mark.parametrize(
    ("size", "written"), [("1536m", "1536m"), ("2G", "2g"), (" 512M ", "512m")]
)
def test_host_memory_sizes_are_taken_as_podman_writes_them(size, written):
    assert check_host_memory(size) == written
    assert memory_bytes("2g") == memory_bytes("2048m") == 2 * 1024**3


@pytest.mark.parametrize("size", ["", "2 gigs", "1.5g", "-2g", "2t", "x" * 1000, "2g; rm"])
def test_host_memory_that_is_no_size_is_refused_with_an_example(size):
    with pytest.raises(InvalidInput, match="is not a size") as refused:
        check_host_memory(size)
    assert "1536m" in refused.value.fix


@pytest.mark.parametrize("size", ["2", "2k", "255m", "999999g"])
def test_host_memory_a_host_cannot_live_in_or_the_machine_does_not_have_is_refused(size):
    with pytest.raises(InvalidInput, match="outside what a lab host can use"):
        check_host_memory(size)


def test_hosts_keep_a_fixed_address_by_name():
    names = ("lb1", "app1", "app8", "db1", "mon1")
    addresses = [hosts.host_address("10.89.7.0/24", h) for h in names]
    assert addresses == ["10.89.7.10", "10.89.7.101", "10.89.7.108", "10.89.7.20", "10.89.7.30"]
    node = hosts_for(Topology.SINGLE)[0]
    assert "--ip" in hosts.create_argv("t1", node, "img", "10.0.0.11", "1536m")


def test_every_host_a_lab_can_have_gets_an_address_of_its_own():
    every = {
        spec.name
        for topology in Topology
        for spec in hosts_for(topology, app_hosts=16, monitoring=True, registry=True)
    }
    addresses = {hosts.host_address("10.89.7.0/24", name) for name in every}
    assert len(addresses) == len(every)


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


@pytest.mark.parametrize("topology", list(Topology))
def test_the_monitoring_group_is_there_only_when_the_lab_has_its_host(
    tmp_path, monkeypatch, topology
):
    """Monitoring is on for an inventory with a `monitoring` group (docs/monitoring.md): a lab
    without mon1 must not list even an empty one."""
    monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path))

    def groups(monitoring: bool) -> dict:
        specs = hosts_for(topology, monitoring=monitoring)
        addresses = [HostAddress(spec, 40000 + i, f"10.0.0.{i}") for i, spec in enumerate(specs)]
        return hosts_document(LabFiles("t1"), addresses)["all"]["children"]

    assert list(groups(False)) == ["lb", "app", "db"]
    watched = groups(True)
    assert list(watched) == ["lb", "app", "db", "monitoring"]
    assert list(watched["monitoring"]["hosts"]) == ["mon1"]
    assert all("mon1" not in watched[group]["hosts"] for group in ("lb", "app", "db"))


# An operator's checkout of an older layout may still hold prod's encrypted vault in group_vars.
@pytest.mark.parametrize("prod_vault", ["main.yml", "vault.yml"])
def test_like_prod_takes_prod_vars_but_the_lab_vault_and_key(tmp_path, monkeypatch, prod_vault):
    monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path / "state"))
    inventories = tmp_path / "inventories"
    signers = "release-signers.yml"
    for env, files in {
        "prod": ["main.yml", prod_vault, signers],
        "lab": ["main.yml", signers],
    }.items():
        folder = inventories / env / "group_vars" / "all"
        folder.mkdir(parents=True, exist_ok=True)
        for name in files:
            (folder / name).write_text(f"{env}-{name}")
        (inventories / f"{env}.vault.yml").write_text(f"{env}-vault")
    lab = LabFiles("t1")
    link_group_vars(lab, inventories, "prod")
    link_vault(lab, inventories)
    linked = lab.inventory_dir / "group_vars" / "all"
    assert (linked / "main.yml").read_text() == "prod-main.yml"
    assert not (linked / "vault.yml").exists()
    # The lab's own vault, beside its inventory folder (never inside it: Ansible would read it as
    # inventory), whatever it is like.
    assert (lab.inventory_dir.parent / "inventory.vault.yml").read_text() == "lab-vault"
    # A lab trusts the lab's test-only release key, never a real environment's.
    assert (linked / signers).read_text() == "lab-release-signers.yml"
    link_group_vars(lab, inventories, "lab")  # relinking replaces, never mixes
    link_vault(lab, inventories)
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
