"""The guards, on the deploy lab: the deploy lock (concurrent runs, a killed run and its
recovery by the same CI run, an explicit take-over, a watch longer than the lease) and the
schema guard (a rollback across an incompatible migration)."""

import json
import os
import pwd
import socket
import time

import pytest

from tests.conftest import run_cli
from tests.integration.deploy_lab.deploys import (
    DEPLOY_LAB,
    GHOST,
    as_ci_run,
    deploy,
    fleet_status,
    kill_group,
    last_record,
    lease,
    served_version,
    start_deploy,
    wait_for_phase,
    write_lease,
)
from tests.integration.labs import on_host
from voicenote_ops.errors import ExitCode

pytestmark = [pytest.mark.integration, pytest.mark.security]

# A process outside CI: its holder is the real uid's account@host, which takes no live lease.
OPERATOR = as_ci_run("")


@pytest.fixture(scope="module")
def bundles(deploy_lab):
    names = ("1.0.0", "1.1.0", "2.0.0")
    built = {name: deploy_lab(name) for name in names}
    result = deploy(built["1.1.0"], "1.1.0")
    assert result.returncode == 0, result.stderr
    return built


def test_a_second_deploy_and_a_provision_are_refused_naming_the_holder(bundles):
    """While a deploy holds the lock (its watch, 30 s from the first line of the phase: far
    longer than two refusals take), another deploy and a provision are refused, naming it."""
    first = start_deploy(bundles["1.0.0"], "1.0.0", "1111", "--watch", "30")
    try:
        wait_for_phase(first, "watch")
        second = deploy(bundles["1.0.0"], "1.0.0", env=OPERATOR)
        assert second.returncode == ExitCode.REFUSED, second.stderr
        assert "by ci:1111 (tester) holds the deploy lock" in second.stderr
        assert "--take-over" in second.stderr
        # Provisioning changes the same hosts: it takes the same lock.
        provision = run_cli("provision", DEPLOY_LAB, "--yes", env=OPERATOR)
        assert provision.returncode == ExitCode.REFUSED, provision.stderr
        assert "by ci:1111 (tester) holds the deploy lock" in provision.stderr
    finally:
        assert first.wait(timeout=300) == 0
    assert served_version() == "1.0.0"
    assert lease() is None


def test_a_killed_deploy_keeps_its_lease_through_the_watch_and_the_same_run_recovers(bundles):
    """Killed while it watches: its lease was renewed for the whole watch (not only lock_ttl);
    another holder is refused; a re-run of the same CI run takes it back, recorded."""
    killed = start_deploy(bundles["1.1.0"], "1.1.0", "4242", "--watch", "90")
    wait_for_phase(killed, "watch")
    deadline = time.monotonic() + 60
    while (held := lease())["expires_epoch"] - held["renewed_epoch"] < 600 + 90:
        assert time.monotonic() < deadline, f"the lease was not renewed for the watch: {held}"
    kill_group(killed)
    assert held["holder"] == "ci:4242 (tester)" and held["version"] == "1.1.0"
    other = deploy(bundles["1.1.0"], "1.1.0", env=OPERATOR)
    assert other.returncode == ExitCode.REFUSED, other.stderr
    rerun = deploy(bundles["1.1.0"], "1.1.0", env=as_ci_run("4242"))
    assert rerun.returncode == 0, rerun.stderr
    assert last_record()["taken_over_lease"]["holder"] == "ci:4242 (tester)"
    assert served_version() == "1.1.0"
    assert {host["live_version"] for host in fleet_status()["hosts"]} == {"1.1.0"}
    assert lease() is None


def test_a_live_lease_is_taken_over_only_when_asked_and_it_is_recorded(bundles):
    # A live lease of a run that is gone (it would expire in 2100).
    write_lease(GHOST)
    refused = run_cli("rollback", DEPLOY_LAB, "--json", env=OPERATOR)
    assert refused.returncode == ExitCode.REFUSED, refused.stderr
    assert "by ghost holds the deploy lock" in refused.stderr
    taken = deploy(bundles["1.1.0"], "1.1.0", "--take-over", env=OPERATOR)
    assert taken.returncode == 0, taken.stderr
    record = last_record()
    assert record["taken_over_lease"]["holder"] == "ghost" and record["result"] == "succeeded"
    assert record["who"] == f"{pwd.getpwuid(os.getuid()).pw_name}@{socket.gethostname()}"
    assert lease() is None


def test_a_run_whose_lease_is_taken_over_stops_and_switches_back(bundles):
    """Someone takes the lease while a deploy runs: at its next renewal (the watch renews for
    certain) the deploy fails, contained, and never releases the lease it lost."""
    running = start_deploy(bundles["1.0.0"], "1.0.0", "5151", "--watch", "30")
    wait_for_phase(running, "switch")
    write_lease(GHOST)
    _, err = running.communicate(timeout=600)
    assert running.returncode == ExitCode.CONTAINED, err
    assert "no longer this run's (ci:5151 (tester)): it is ghost's" in err, err
    assert served_version() == "1.1.0", err
    assert {host["live_version"] for host in fleet_status()["hosts"]} == {"1.1.0"}, err
    assert last_record()["result"] == "contained" and lease()["holder"] == "ghost"
    assert run_cli("lock", "release", DEPLOY_LAB, "--yes").returncode == 0


def test_lock_release_breaks_a_lease_and_is_recorded(bundles):
    write_lease(GHOST)
    assert lease()["holder"] == "ghost"
    released = run_cli("lock", "release", DEPLOY_LAB, "--yes", "--json")
    assert released.returncode == 0, released.stderr
    assert json.loads(released.stdout)["released"]["holder"] == "ghost"
    assert lease() is None
    record = last_record()
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
    # Signed by the lock host with the lab's audit key, which provisioning installed.
    assert records[-1]["signature"].startswith("-----BEGIN SSH SIGNATURE-----")
