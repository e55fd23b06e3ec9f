"""The lab: real podman systemd hosts, reached over SSH through 127.0.0.1 ports only."""

import json

import pytest

from tests.conftest import lab_name
from tests.integration.labs import lab_status, lab_up, labelled, on_host
from voicenote_ops.errors import ExitCode
from voicenote_ops.lab import podman

pytestmark = pytest.mark.integration

LAB = lab_name("found")
SECOND_LAB = lab_name("found-b")


@pytest.fixture(scope="module")
def prod_lab():
    with lab_up(LAB, "--topology", "prod") as status:
        yield status


def test_prod_lab_has_four_running_hosts(prod_lab):
    hosts = {host["name"]: host for host in prod_lab["hosts"]}
    assert sorted(hosts) == ["app1", "app2", "db1", "lb1"]
    assert all(host["state"] == "running" for host in hosts.values())
    assert hosts["lb1"]["http_port"] and hosts["lb1"]["https_port"]
    assert hosts["app1"]["http_port"] is None


def test_ports_are_published_on_loopback_only(prod_lab):
    _, out = podman.run(["podman", "inspect", *labelled("container", LAB)])
    for container in json.loads(out):
        for bindings in container["NetworkSettings"]["Ports"].values():
            assert {binding["HostIp"] for binding in bindings or []} <= {"127.0.0.1"}


def test_lab_up_again_keeps_the_same_hosts(prod_lab, cli):
    before = labelled("container", LAB)
    _, ids_before = podman.run(
        ["podman", "ps", "-aq", "--filter", f"label={podman.LABEL_LAB}={LAB}"]
    )
    result = cli("lab", "up", "--name", LAB)
    assert result.returncode == 0, result.stderr
    _, ids_after = podman.run(
        ["podman", "ps", "-aq", "--filter", f"label={podman.LABEL_LAB}={LAB}"]
    )
    assert sorted(ids_before.split()) == sorted(ids_after.split())
    assert labelled("container", LAB) == before


def test_ping_reaches_every_host_as_the_deploy_user(prod_lab, cli):
    result = cli("ping", LAB, "--json")
    assert result.returncode == 0, result.stderr
    hosts = json.loads(result.stdout)["hosts"]
    assert len(hosts) == 4
    assert all(h["reachable"] and h["become"] and h["python"].startswith("3.") for h in hosts)


def test_ssh_runs_as_the_deploy_user_with_pinned_host_keys(prod_lab, cli):
    result = cli("lab", "ssh", "db1", "--name", LAB, "id", "-un")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "deploy"


def test_a_host_without_sshd_is_reported_unreachable(prod_lab, cli):
    container = f"vnops-{LAB}-app2"
    podman.run(["podman", "exec", container, "systemctl", "stop", "ssh"])
    try:
        result = cli("ping", LAB, "--json")
    finally:
        podman.run(["podman", "exec", container, "systemctl", "start", "ssh"])
    assert result.returncode == ExitCode.ATTENTION
    hosts = {h["host"]: h for h in json.loads(result.stdout)["hosts"]}
    assert not hosts["app2"]["reachable"]
    assert hosts["app1"]["reachable"] and hosts["db1"]["reachable"]
    assert "app2" in result.stderr


def test_a_restarted_host_keeps_its_address(prod_lab, cli):
    """Services bind to a host's private address: like a real server it keeps it on reboot."""
    before = {h["name"]: h["private_address"] for h in lab_status(LAB)["hosts"]}
    podman.run(["podman", "stop", "-t", "0", f"vnops-{LAB}-app1"])
    podman.run(["podman", "start", f"vnops-{LAB}-app1"])
    assert {h["name"]: h["private_address"] for h in lab_status(LAB)["hosts"]} == before


def test_a_second_lab_runs_beside_the_first(prod_lab, cli):
    """... from the image with its roles' packages baked in: installed, nothing configured, and
    nothing that makes a host itself (machine id, host key) shared with another host."""
    with lab_up(SECOND_LAB, "--topology", "single", "--image", "packages") as status:
        assert [host["name"] for host in status["hosts"]] == ["node1"]
        assert set(status["hosts"][0]["groups"]) == {"lb", "app", "db"}
        assert status["image"] == "packages"
        result = cli("ping", SECOND_LAB, "--json")
        assert result.returncode == 0, result.stderr
        packages = ["nginx", "postgresql-15", "redis-server", "python3-venv", "logrotate"]
        installed = on_host(SECOND_LAB, "node1", "dpkg-query", "-W", "-f", "${Package} ", *packages)
        assert sorted(installed.split()) == sorted(packages)
        folders = ["/etc/postgresql/15/main/conf.d", "/opt", "/etc/redis",
                   "/etc/nginx/sites-enabled", "/var/cache/apt/archives"]  # fmt: skip
        configured = on_host(SECOND_LAB, "node1", "ls", *folders)
        assert "10-startup.conf" not in configured and "voicenote" not in configured
        assert ".deb" not in configured
        identities = {
            on_host(lab, host, "cat", "/etc/machine-id", "/etc/ssh/ssh_host_ed25519_key.pub")
            for lab, host in ((SECOND_LAB, "node1"), (LAB, "app1"), (LAB, "db1"))
        }
        assert len(identities) == 3
    assert lab_status(LAB)["hosts"], "taking the second lab down left the first alone"
    assert labelled("container", SECOND_LAB) == []


def test_lab_down_leaves_nothing_with_the_label(prod_lab, cli):
    result = cli("lab", "down", "--name", LAB)
    assert result.returncode == 0, result.stderr
    assert labelled("container", LAB) == []
    assert labelled("network", LAB) == []
    again = cli("lab", "down", "--name", LAB)
    assert again.returncode == 0, "lab down with no lab is not an error"
    assert cli("ping", LAB).returncode == ExitCode.INVALID
