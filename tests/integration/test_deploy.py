"""Deploy and rollback over real lab hosts: provision, 1.0.0, 1.1.0 with a real migration,
rollback, a no-op redeploy, the plain ansible-playbook path, and a broken release contained."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, run_cli
from tests.integration.labs import lab_up, lb_request, on_host
from voicenote_ops.errors import ExitCode

pytestmark = pytest.mark.integration

LAB = "it-deploy"
APP_HOSTS = ("app1", "app2")
VAULT = PROJECT / "inventories" / "lab" / "vault-password.txt"


def ansible_playbook(playbook: str, *extra: str) -> subprocess.CompletedProcess:
    inventory = Path(os.environ["VOICENOTE_OPS_STATE"]) / "labs" / LAB / "inventory"
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i", str(inventory), str(PROJECT / "playbooks" / playbook),
            "--vault-password-file", str(VAULT), *extra,
        ],
        capture_output=True, text=True, cwd=PROJECT, check=False,
    )  # fmt: skip


def deploy(version_or_bundle: Path, version: str, *options: str):
    return run_cli(
        "deploy", LAB, "--version", version, "--artifact", str(version_or_bundle), "--json",
        *options,
    )  # fmt: skip


def served_version() -> str:
    status, body = lb_request(LAB, "GET", "/health")
    assert status == 200, body
    return body["version"]


def status() -> dict:
    result = run_cli("status", LAB, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def lab(release_bundle):
    bundles = {name: release_bundle(name) for name in ("1.0.0", "1.1.0", "broken-ready")}
    with lab_up(LAB, "--topology", "prod"):
        provisioned = ansible_playbook("provision.yml")
        assert provisioned.returncode == 0, provisioned.stdout[-3000:]
        yield bundles


def test_deploy_serves_1_0_0_through_the_load_balancer(lab):
    result = deploy(lab["1.0.0"], "1.0.0")
    assert result.returncode == 0, result.stderr
    assert served_version() == "1.0.0"
    assert lb_request(LAB, "POST", "/notes", {"title": "kept", "duration_seconds": 2.0})[0] == 201


def test_upgrade_migrates_once_backs_up_and_keeps_the_notes(lab):
    result = deploy(lab["1.1.0"], "1.1.0")
    assert result.returncode == 0, result.stderr
    report = status()
    assert {h["host"]: h["live_version"] for h in report["hosts"]} == dict.fromkeys(
        APP_HOSTS, "1.1.0"
    )
    assert report["schema_head"] == ["0002"]
    records = [
        json.loads(line)
        for line in on_host(LAB, "db1", "cat", "/var/lib/voicenote/migrations.jsonl").splitlines()
    ]
    upgrades = [record for record in records if record["release"] == "1.1.0"]
    assert len(upgrades) == 1 and upgrades[0]["from"] == ["0001"] and upgrades[0]["to"] == ["0002"]
    assert on_host(LAB, "db1", "ls", upgrades[0]["backup"]).strip() == upgrades[0]["backup"]
    _, notes = lb_request(LAB, "GET", "/notes")
    assert [note["title"] for note in notes["notes"]] == ["kept"]
    assert served_version() == "1.1.0"


def test_rollback_is_only_a_switch(lab):
    installed_before = on_host(
        LAB, "app1", "stat", "-c", "%Y", "/opt/voicenote/releases/1.0.0/.installed"
    )
    result = run_cli("rollback", LAB, "--json")
    assert result.returncode == 0, result.stderr
    assert served_version() == "1.0.0"
    changed = json.loads(result.stdout)["hosts"]
    # Only the nginx switch changes an app host: no release is unpacked, installed or started.
    assert all(changed[host]["changed"] <= 3 for host in APP_HOSTS), changed
    assert (
        on_host(LAB, "app1", "stat", "-c", "%Y", "/opt/voicenote/releases/1.0.0/.installed")
        == installed_before
    )
    _, notes = lb_request(LAB, "GET", "/notes")
    assert [note["title"] for note in notes["notes"]] == ["kept"]


def test_deploying_the_live_version_changes_nothing(lab):
    result = deploy(lab["1.0.0"], "1.0.0")
    assert result.returncode == 0, result.stderr
    hosts = json.loads(result.stdout)["hosts"]
    assert sum(host["changed"] for host in hosts.values()) == 0, hosts


def test_a_release_that_never_gets_ready_is_contained(lab):
    result = deploy(lab["broken-ready"], "1.2.0")
    assert result.returncode == ExitCode.CONTAINED, result.stderr
    assert "switch" in result.stderr and "app1" in result.stderr
    assert served_version() == "1.0.0"
    report = status()
    assert all(host["live_version"] == "1.0.0" for host in report["hosts"])


def test_plain_ansible_playbook_gives_the_same_deploy(lab):
    done = ansible_playbook(
        "deploy.yml", "-e", "voicenote_version=1.1.0", "-e", f"voicenote_artifact={lab['1.1.0']}"
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert served_version() == "1.1.0"
    assert all(host["live_version"] == "1.1.0" for host in status()["hosts"])
