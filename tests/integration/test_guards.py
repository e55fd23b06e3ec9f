"""The guards, on the deploy lab: the deploy lock (concurrent runs, a killed run and its
recovery) and the schema guard (a rollback across an incompatible migration)."""

import json

import pytest

from tests.conftest import run_cli
from tests.integration.deploys import (
    DEPLOY_LAB,
    deploy,
    fleet_status,
    kill_group,
    served_version,
    start_deploy,
    wait_for_phase,
)
from tests.integration.labs import on_host
from voicenote_ops.errors import ExitCode

pytestmark = [pytest.mark.integration, pytest.mark.security]

LEASE = "/var/lib/voicenote/deploy.lock"


@pytest.fixture(scope="module")
def bundles(deploy_lab):
    names = ("1.0.0", "1.1.0", "2.0.0")
    built = {name: deploy_lab(name) for name in names}
    result = deploy(built["1.1.0"], "1.1.0")
    assert result.returncode == 0, result.stderr
    return built


def lease() -> dict | None:
    result = run_cli("lock", "status", DEPLOY_LAB, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["lease"]


def test_a_second_deploy_is_refused_naming_the_holder(bundles):
    first = start_deploy(bundles["1.0.0"], "1.0.0", holder="first-operator")
    try:
        wait_for_phase(first, "upload")
        second = deploy(bundles["1.0.0"], "1.0.0", env={"VOICENOTE_LOCK_HOLDER": "second"})
        assert second.returncode == ExitCode.REFUSED, second.stderr
        assert "first-operator" in second.stderr
    finally:
        assert first.wait(timeout=300) == 0
    assert served_version() == "1.0.0"
    assert lease() is None


def test_a_killed_deploy_leaves_its_lease_and_the_same_holder_recovers(bundles):
    killed = start_deploy(bundles["1.1.0"], "1.1.0", holder="ci:4242")
    wait_for_phase(killed, "switch")
    kill_group(killed)
    held = lease()
    assert held is not None and held["holder"] == "ci:4242" and held["version"] == "1.1.0"
    other = deploy(bundles["1.1.0"], "1.1.0", env={"VOICENOTE_LOCK_HOLDER": "someone-else"})
    assert other.returncode == ExitCode.REFUSED, other.stderr
    rerun = deploy(bundles["1.1.0"], "1.1.0", env={"VOICENOTE_LOCK_HOLDER": "ci:4242"})
    assert rerun.returncode == 0, rerun.stderr
    assert served_version() == "1.1.0"
    assert {host["live_version"] for host in fleet_status()["hosts"]} == {"1.1.0"}
    assert lease() is None


def test_lock_release_breaks_a_lease_and_is_recorded(bundles):
    # A lease left by a holder that never comes back (it would expire in 2100).
    ghost = {
        "holder": "ghost", "operation": "deploy", "version": "9.9.9", "acquired_at": "x",
        "renewed_at": "x", "expires_at": "2100-01-01T00:00:00Z", "expires_epoch": 4102444800,
    }  # fmt: skip
    on_host(DEPLOY_LAB, "db1", "sh", "-c", f"echo '{json.dumps(ghost)}' > {LEASE}")
    assert lease()["holder"] == "ghost"
    released = run_cli("lock", "release", DEPLOY_LAB, "--yes", "--json")
    assert released.returncode == 0, released.stderr
    assert json.loads(released.stdout)["released"]["holder"] == "ghost"
    assert lease() is None
    audit = on_host(DEPLOY_LAB, "db1", "tail", "-1", "/var/lib/voicenote/audit.jsonl")
    record = json.loads(audit)
    assert record["operation"] == "lock-release" and record["released_lease"]["holder"] == "ghost"


def test_rollback_across_an_incompatible_migration_is_refused_unless_downgraded(bundles):
    assert deploy(bundles["2.0.0"], "2.0.0").returncode == 0
    assert fleet_status()["schema_head"] == ["0003"]
    refused = run_cli("rollback", DEPLOY_LAB, "--json")
    assert refused.returncode == ExitCode.REFUSED, refused.stderr
    assert "0003" in refused.stderr and "--downgrade" in refused.stderr
    assert served_version() == "2.0.0" and fleet_status()["schema_head"] == ["0003"]
    downgraded = run_cli("rollback", DEPLOY_LAB, "--downgrade", "--json")
    assert downgraded.returncode == 0, downgraded.stderr
    assert served_version() == "1.1.0"
    assert fleet_status()["schema_head"] == ["0002"]
    record = json.loads(
        on_host(DEPLOY_LAB, "db1", "tail", "-1", "/var/lib/voicenote/migrations.jsonl")
    )
    assert record["action"] == "downgrade" and record["run_from"] == "2.0.0"
    assert on_host(DEPLOY_LAB, "db1", "ls", record["backup"]).strip() == record["backup"]


def test_every_run_is_in_the_audit_trail(bundles):
    records = [
        json.loads(line)
        for line in on_host(DEPLOY_LAB, "db1", "cat", "/var/lib/voicenote/audit.jsonl").splitlines()
    ]
    assert {record["format"] for record in records} == {1}
    operations = {(record["operation"], record["result"]) for record in records}
    assert {
        ("deploy", "succeeded"),
        ("rollback", "succeeded"),
        ("lock-release", "succeeded"),
    } <= operations
    deploy_record = next(r for r in records if r["operation"] == "deploy")
    assert deploy_record["bundle_sha256"] and deploy_record["who"] and deploy_record["hosts"]
