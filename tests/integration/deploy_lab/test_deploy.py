"""Deploy and rollback over real lab hosts: provision, 1.0.0, 1.1.0 with a real migration,
rollback, a no-op redeploy, the plain ansible-playbook path. A broken release contained: one case
a phase in test_failures.py (the matrix of broken releases, both runtimes: test_fault_matrix.py)."""

import json

import pytest

from tests.conftest import run_cli
from tests.integration.deploy_lab.deploys import (
    DEPLOY_LAB,
    ansible_playbook,
    deploy,
    fleet_status,
    served_version,
)
from tests.integration.labs import lb_request, on_host
from voicenote_ops.lab import podman

pytestmark = pytest.mark.integration

APP_HOSTS = ("app1", "app2")


@pytest.fixture(scope="module")
def lab(deploy_lab):
    return {name: deploy_lab(name) for name in ("1.0.0", "1.1.0")}


def test_deploy_serves_1_0_0_through_the_load_balancer(lab):
    result = deploy(lab["1.0.0"], "1.0.0")
    assert result.returncode == 0, result.stderr
    assert served_version() == "1.0.0"
    assert (
        lb_request(DEPLOY_LAB, "POST", "/notes", {"title": "kept", "duration_seconds": 2.0})[0]
        == 201
    )


def test_plan_shows_the_upgrade_and_touches_nothing(lab):
    before = fleet_status()
    result = deploy(lab["1.1.0"], "1.1.0", "--plan")
    assert result.returncode == 0, result.stderr
    planned = json.loads(result.stdout)
    assert {(h["host"], h["serves"], h["to"], h["action"]) for h in planned["hosts"]} == {
        (host, "1.0.0", "1.1.0", "start") for host in APP_HOSTS
    }
    assert all(
        h["env_added"] == h["env_changed"] == h["env_removed"] == [] for h in planned["hosts"]
    )
    assert planned["schema_current"] == ["0001"] and planned["schema_decision"] == "upgrade"
    assert planned["pending"] == [{"revision": "0002", "backward_compatible": True}]
    assert fleet_status() == before


def test_upgrade_migrates_once_backs_up_and_keeps_the_notes(lab):
    # Watched after the switch: a healthy release passes the watch.
    result = deploy(lab["1.1.0"], "1.1.0", "--watch", "5")
    assert result.returncode == 0, result.stderr
    report = fleet_status()
    assert {h["host"]: h["live_version"] for h in report["hosts"]} == dict.fromkeys(
        APP_HOSTS, "1.1.0"
    )
    assert report["schema_head"] == ["0002"]
    records = [
        json.loads(line)
        for line in on_host(
            DEPLOY_LAB, "db1", "cat", "/var/lib/voicenote/migrations.jsonl"
        ).splitlines()
    ]
    upgrades = [record for record in records if record["release"] == "1.1.0"]
    assert len(upgrades) == 1 and upgrades[0]["from"] == ["0001"] and upgrades[0]["to"] == ["0002"]
    assert on_host(DEPLOY_LAB, "db1", "ls", upgrades[0]["backup"]).strip() == upgrades[0]["backup"]
    _, notes = lb_request(DEPLOY_LAB, "GET", "/notes")
    assert [note["title"] for note in notes["notes"]] == ["kept"]
    assert served_version() == "1.1.0"


def test_the_app_cannot_change_its_own_code(lab):
    """pip ran as the app's user (no bundle code as root); the releases are root's again after,
    nothing in them writable by the service group or setuid."""
    for host in APP_HOSTS:
        loose = on_host(
            DEPLOY_LAB, host, "find", "/opt/voicenote/releases", "-mindepth", "1", "!", "-type",
            "l", "(", "!", "-user", "root", "-o", "-perm", "/7022", ")", "-print",
        )  # fmt: skip
        assert loose == "", f"{host}: {loose}"
    code = "/opt/voicenote/releases/1.1.0/venv/lib/python3.11/site-packages/voicenote_api/app.py"
    status, _ = podman.run(
        ["podman", "exec", "--user", "voicenote", f"vnops-{DEPLOY_LAB}-app1", "sh", "-c",
         f"echo 'raise SystemExit' >> {code}"],
        check=False,
    )  # fmt: skip
    assert status != 0, "the service user could write to its release's code"


def main_pids(host: str) -> dict[str, str]:
    return {
        color: on_host(DEPLOY_LAB, host, "systemctl", "show", "-P", "MainPID", f"voicenote@{color}")
        for color in ("blue", "green")
    }


def test_rollback_is_only_a_switch(lab):
    before = {host: main_pids(host) for host in APP_HOSTS}
    result = run_cli("rollback", DEPLOY_LAB, "--json")
    assert result.returncode == 0, result.stderr
    assert served_version() == "1.0.0"
    # Nothing was installed or restarted: both colors run the same processes as before.
    assert {host: main_pids(host) for host in APP_HOSTS} == before
    _, notes = lb_request(DEPLOY_LAB, "GET", "/notes")
    assert [note["title"] for note in notes["notes"]] == ["kept"]


def test_deploying_the_live_version_changes_nothing(lab):
    result = deploy(lab["1.0.0"], "1.0.0")
    assert result.returncode == 0, result.stderr
    hosts = json.loads(result.stdout)["hosts"]
    assert sum(host["changed"] for host in hosts.values()) == 0, hosts


def test_plain_ansible_playbook_gives_the_same_deploy(lab):
    done = ansible_playbook(
        "deploy.yml", "-e", "voicenote_version=1.1.0", "-e", f"voicenote_artifact={lab['1.1.0']}"
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert served_version() == "1.1.0"
    assert all(host["live_version"] == "1.1.0" for host in fleet_status()["hosts"])


def test_health_with_a_smoke_test_checks_every_color_host_and_the_load_balancer(lab):
    result = run_cli("health", DEPLOY_LAB, "--smoke", "--json")
    assert result.returncode == 0, result.stderr
    checks = json.loads(result.stdout)["checks"]
    assert {c["what"] for c in checks["lb1"]} == {"load balancer", "smoke test"}
    assert all(c["ok"] for host in checks.values() for c in host)
    app1 = [c["what"] for c in checks["app1"]]
    assert "nginx app site" in app1 and sum(what.startswith("color ") for what in app1) == 2


# The stress tier's: an option of the switch, not a fault class; the default tier's rollbacks are
# switches to a running color (test_rollback_is_only_a_switch above).
@pytest.mark.stress
def test_stop_previous_stops_the_old_color_after_the_switch_and_a_rollback_restarts_it(lab):
    # Alone (the stress tier), the lab may serve nothing yet, or another release.
    if {host["live_version"] for host in fleet_status()["hosts"]} != {"1.1.0"}:
        assert deploy(lab["1.1.0"], "1.1.0").returncode == 0
    result = deploy(lab["1.0.0"], "1.0.0", "--stop-previous")
    assert result.returncode == 0, result.stderr
    hosts = fleet_status()["hosts"]
    assert {(h["live_version"], h["idle_version"], h["idle_running"]) for h in hosts} == {
        ("1.0.0", "1.1.0", False)
    }
    rolled_back = run_cli("rollback", DEPLOY_LAB, "--json")
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert served_version() == "1.1.0"
