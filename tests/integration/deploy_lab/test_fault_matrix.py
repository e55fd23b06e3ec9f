"""The whole containment matrix (heavy tier, `-m stress`) on both runtimes: the deploy lab (venvs)
and a prod lab that runs images from its registry (conftest.py, `fleet`). Every broken release,
an app host stopped or frozen mid-switch, and the CLI's process group killed with SIGKILL at the
start of every phase and run again. Faults come only from outside the tool.

After each case every reachable app host serves a release it served before or the one being
deployed (never nothing), the note written before the faults is still there, the schema is at a
head a release knows, and running the deploy again converges."""

import json

import pytest

from tests.conftest import run_cli
from tests.integration.deploy_lab.deploys import (
    as_ci_run,
    assert_fleet_serves,
    deploy,
    deploy_losing_app2,
    fleet_status,
    kill_group,
    served_version,
    start_deploy,
    wait_for_phase,
    write_survivor,
)
from tests.integration.labs import background_load, on_host
from voicenote_ops.errors import ExitCode
from voicenote_ops.load import generator

# Heavy tier only: not in the default run nor in the coverage run (-m "unit or integration").
pytestmark = pytest.mark.stress

SCHEMA = ["0002"]
# The deploys of this module watch the new color, so the watch is a phase a kill can land in.
WATCH = ("--watch", "10")
# Every phase of a successful deploy, in order (playbooks/deploy.yml, switch.yml).
PHASES = ("lock", "plan", "guard", "upload", "migrate", "switch", "verify-lb", "watch", "cleanup",
          "report")  # fmt: skip
TRAFFIC = generator.LoadPlan(rate=20, requests=6000, duration=300, long_requests=0, connections=4)
# The control case's traffic: keep-alive connections and long requests in flight across each move.
LONG_TRAFFIC = generator.LoadPlan(
    rate=20, requests=6000, duration=300, long_requests=2, long_seconds=10, connections=4
)


@pytest.fixture(scope="module")
def bundles(fleet):
    """What `deploy --artifact` takes for each release on the fleet's runtime; 1.0.0 is live
    (schema 0001)."""
    names = ("1.0.0", "1.1.0", "broken-start", "broken-ready", "broken-version",
             "broken-migration", "broken-traffic")  # fmt: skip
    built = {name: fleet.release(name) for name in names}
    result = deploy(built["1.0.0"], "1.0.0", lab=fleet.lab)
    assert result.returncode == 0, result.stderr
    write_survivor(fleet.lab)
    return built


def the_other_release(lab: str) -> str:
    """1.0.0 and 1.1.0 take turns: each case deploys the one that is not live (both run on
    schema 0002, which 1.0.0's code tolerates: the migration is expand-only)."""
    return "1.0.0" if served_version(lab) == "1.1.0" else "1.1.0"


def _main_pids(lab: str) -> dict[str, str]:
    """{app host: the main PIDs of its blue and green units}."""
    hosts = [host["host"] for host in fleet_status(lab)["hosts"]]
    return {
        host: on_host(lab, host, "systemctl", "show", "--value", "-p", "MainPID",
                      "voicenote@blue.service", "voicenote@green.service")
        for host in hosts
    }  # fmt: skip


# Where the database host records each migration run (roles/migrate), whichever app host ran it.
MIGRATIONS = "/var/lib/voicenote/migrations.jsonl"


def _migration_records(lab: str) -> list[dict]:
    """Every migration run, in the order they ran."""
    lines = on_host(lab, "db1", "cat", MIGRATIONS).splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_a_deploy_and_its_rollback_under_load_lose_no_request(fleet, bundles):
    """The control case, first on a fleet serving 1.0.0: under keep-alive load with long requests
    in flight, 1.1.0 is deployed on every app host (its migration to 0002 with it) and rolled
    back. No request fails, the rollback restarts no color (a switch to the kept one), the
    migration ran once for the fleet, not once per host, and the audit trail names what ran (for
    images, the digest pulled)."""
    target, before = the_other_release(fleet.lab), served_version(fleet.lab)
    migrated = _migration_records(fleet.lab)
    at_head = fleet_status(fleet.lab)["schema_head"] == SCHEMA
    with background_load(fleet.lab, LONG_TRAFFIC, stop_at_exit=True) as load:
        deployed = deploy(bundles[target], target, lab=fleet.lab)
        assert deployed.returncode == 0, deployed.stderr[-3000:]
        assert served_version(fleet.lab) == target
        pids = _main_pids(fleet.lab)
        rolled = run_cli("rollback", fleet.lab, "--yes", timeout=600)
        assert rolled.returncode == 0, rolled.stderr[-3000:]
    summary = load.summary
    assert (summary["non_2xx"], summary["socket_errors"]) == (0, 0), summary
    assert set(summary["versions"]) == {before, target}, summary["versions"]
    assert summary["long"]["started"] >= 1, summary["long"]
    assert _main_pids(fleet.lab) == pids
    assert_fleet_serves(before, SCHEMA, fleet.lab)
    # One migration run (on one host, not one per host) when the schema was behind; none when
    # it was already at the head both releases know. The rollback runs none either way.
    records = _migration_records(fleet.lab)
    ran = [record["release"] for record in records[len(migrated) :]]
    assert ran == ([] if at_head else [target]), records
    if fleet.runtime == "image":
        history = run_cli("history", fleet.lab, "--json").stdout
        assert f"/voicenote-api@{fleet.digests[target]}" in history, history[-2000:]


@pytest.mark.parametrize(
    ("release", "version", "phase"),
    [
        ("broken-start", "1.2.1", "switch"),
        ("broken-ready", "1.2.2", "switch"),
        ("broken-version", "1.2.5", "switch"),
        ("broken-migration", "1.2.3", "migrate"),
        ("broken-traffic", "1.2.4", "watch"),
    ],
)
def test_a_broken_release_is_contained_in_its_phase(fleet, bundles, release, version, phase):
    assert deploy(bundles["1.1.0"], "1.1.0", lab=fleet.lab).returncode == 0
    with background_load(fleet.lab, TRAFFIC, stop_at_exit=True) as load:
        result = deploy(bundles[release], version, *WATCH, lab=fleet.lab)
    assert result.returncode == ExitCode.CONTAINED, result.stderr
    assert f"phase {phase}" in result.stderr, result.stderr
    assert_fleet_serves("1.1.0", SCHEMA, fleet.lab)
    assert version not in {host["idle_version"] for host in fleet_status(fleet.lab)["hosts"]}
    # Only the release that fails real traffic may cost requests, and only until the watch.
    if release != "broken-traffic":
        assert load.returncode == 0, (load.summary["statuses"], load.summary["errors"])


@pytest.mark.parametrize("how", ["stopped", "frozen"])
def test_an_app_host_lost_mid_switch_is_contained_and_a_rerun_converges(fleet, bundles, how):
    target = the_other_release(fleet.lab)
    before = served_version(fleet.lab)
    running, _, err = deploy_losing_app2(bundles[target], target, how, *WATCH, lab=fleet.lab)
    assert running.returncode == ExitCode.CONTAINED, err
    assert "app2" in err and "unreachable" in err, err
    # app1 was switched back; app2 never switched.
    assert {host["live_version"] for host in fleet_status(fleet.lab)["hosts"]} == {before}
    rerun = deploy(bundles[target], target, *WATCH, lab=fleet.lab)
    assert rerun.returncode == 0, rerun.stderr
    assert_fleet_serves(target, SCHEMA, fleet.lab)


@pytest.mark.parametrize("phase", PHASES)
def test_the_cli_killed_in_a_phase_leaves_the_fleet_serving_and_a_rerun_converges(
    fleet, bundles, phase
):
    target, before = the_other_release(fleet.lab), served_version(fleet.lab)
    run_id = f"killed-in-{phase}"
    killed = start_deploy(bundles[target], target, run_id, *WATCH, lab=fleet.lab)
    wait_for_phase(killed, phase)
    kill_group(killed)
    # Nothing stops serving: every host serves the release it had or the new one.
    assert served_version(fleet.lab) in {before, target}
    hosts = fleet_status(fleet.lab)["hosts"]
    assert {host["live_version"] for host in hosts} <= {before, target}
    # The same CI run (a re-run of its job) takes its lease back and finishes the job.
    rerun = deploy(bundles[target], target, *WATCH, env=as_ci_run(run_id), lab=fleet.lab)
    assert rerun.returncode == 0, rerun.stderr
    assert_fleet_serves(target, SCHEMA, fleet.lab)
