"""`lab up` on a lab's recorded choices: what a second run keeps, what it changes and what it
refuses, with podman replaced by a record of the hosts it would have made."""

import json

import pytest
import yaml

from voicenote_ops.errors import InvalidInput
from voicenote_ops.lab import service
from voicenote_ops.lab.hosts import HostStatus
from voicenote_ops.lab.state import LabFiles
from voicenote_ops.lab.topology import DEFAULT_HOST_MEMORY, Topology

pytestmark = pytest.mark.unit

LAB = "t1"


class Hosts:
    """Stands in for podman: the hosts `lab up` asked for and the memory limit they got."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.memory: str | None = None
        self.groups: dict[str, list[str]] = {}

    def start(self, lab, wanted, images, memory, progress):
        self.names = [spec.name for spec in wanted]
        self.groups = {spec.name: list(spec.groups) for spec in wanted}
        self.memory = memory
        LabFiles(lab).known_hosts.parent.mkdir(parents=True, exist_ok=True)
        return self.statuses(lab), {spec.name: f"ssh-ed25519 KEY-{spec.name}" for spec in wanted}

    def statuses(self, _lab):
        return [
            HostStatus(name, self.groups[name], "running", 40000 + index, f"10.0.0.{index}")
            for index, name in enumerate(self.names)
        ]


@pytest.fixture
def lab_hosts(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path))
    hosts = Hosts()
    monkeypatch.setattr(service.prereqs, "require_podman", lambda: None)
    monkeypatch.setattr(service.image, "ensure_image", lambda: "img")
    monkeypatch.setattr(service, "start_hosts", hosts.start)
    monkeypatch.setattr(service, "host_statuses", hosts.statuses)
    return hosts


def recorded() -> dict:
    return json.loads(LabFiles(LAB).settings_file.read_text())


def inventory_groups() -> dict:
    document = yaml.safe_load(LabFiles(LAB).hosts_file.read_text())
    return {group: list(body["hosts"]) for group, body in document["all"]["children"].items()}


def test_monitoring_adds_mon1_to_the_lab_and_its_inventory(lab_hosts):
    status = service.up(LAB, Topology.PROD, monitoring=True)
    assert lab_hosts.names == ["lb1", "app1", "app2", "db1", "mon1"]
    assert status.to_json()["monitoring"] is True
    assert inventory_groups()["monitoring"] == ["mon1"]


def test_a_lab_without_monitoring_is_as_before(lab_hosts):
    service.up(LAB, Topology.SINGLE)
    assert lab_hosts.names == ["node1"]
    assert list(inventory_groups()) == ["lb", "app", "db"]
    assert recorded()["monitoring"] is False


def test_a_second_up_keeps_monitoring_and_the_memory_until_asked_otherwise(lab_hosts):
    service.up(LAB, Topology.SINGLE, monitoring=True, host_memory="2G")
    assert recorded() == {
        "topology": "single",
        "app_hosts": 2,
        "like": "lab",
        "image": "bare",
        "monitoring": True,
        "host_memory": "2g",
        "registry": False,
        "runtime": None,
    }
    service.up(LAB)
    assert lab_hosts.names == ["node1", "mon1"] and lab_hosts.memory == "2g"
    service.up(LAB, host_memory="2048m")  # the same size, written otherwise
    service.up(LAB, Topology.PROD, app_hosts=1)
    assert lab_hosts.names == ["lb1", "app1", "db1", "mon1"]
    service.up(LAB, monitoring=False)
    assert lab_hosts.names == ["lb1", "app1", "db1"] and recorded()["monitoring"] is False


def test_registry_adds_reg1_and_a_second_up_keeps_it(lab_hosts):
    status = service.up(LAB, Topology.PROD, app_hosts=1, registry=True)
    assert lab_hosts.names == ["lb1", "app1", "db1", "reg1"]
    assert status.to_json()["registry"] is True
    assert inventory_groups()["registry"] == ["reg1"]
    service.up(LAB, monitoring=True)
    assert lab_hosts.names == ["lb1", "app1", "db1", "mon1", "reg1"]
    service.up(LAB, registry=False)
    assert "registry" not in inventory_groups() and recorded()["registry"] is False


def test_hosts_get_the_default_memory_limit(lab_hosts):
    service.up(LAB, Topology.SINGLE)
    assert lab_hosts.memory == DEFAULT_HOST_MEMORY == recorded()["host_memory"]


def test_another_memory_limit_for_a_made_lab_is_refused_with_the_fix(lab_hosts):
    service.up(LAB, Topology.SINGLE, host_memory="1g")
    lab_hosts.names = []
    with pytest.raises(InvalidInput, match="made with 1g, not with --host-memory 2g") as refused:
        service.up(LAB, host_memory="2g")
    assert f"voicenote-ops lab down --name {LAB}" in refused.value.fix
    assert lab_hosts.names == [], "refused before any host is touched"
    assert recorded()["host_memory"] == "1g"


def test_a_lab_made_before_memory_limits_keeps_hosts_without_one(lab_hosts):
    files = LabFiles(LAB)
    files.root.mkdir(parents=True)
    files.settings_file.write_text(
        json.dumps({"topology": "single", "app_hosts": 2, "like": "lab", "image": "bare"})
    )
    service.up(LAB)
    assert lab_hosts.memory is None and lab_hosts.names == ["node1"]
    with pytest.raises(InvalidInput, match="made with no memory limit"):
        service.up(LAB, host_memory="1536m")


def test_bad_memory_is_refused_before_any_host(lab_hosts):
    with pytest.raises(InvalidInput, match="is not a size"):
        service.up(LAB, Topology.SINGLE, host_memory="lots")
    assert lab_hosts.names == [] and not LabFiles(LAB).settings_file.exists()
