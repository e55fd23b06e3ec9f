"""Failure containment on the deploy lab, one case of each fault class, provoked from outside
the tool: a release that does not start, a migration that raises, an app host lost mid-deploy.
Every case ends with every reachable app host serving the release it served before."""

import json

import pytest

from tests.integration.deploys import (
    DEPLOY_LAB,
    deploy,
    fleet_status,
    served_version,
    start_deploy,
    wait_for_phase,
    wait_until_reachable,
)
from tests.integration.labs import lb_request
from voicenote_ops.errors import ExitCode
from voicenote_ops.lab import podman

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bundles(deploy_lab):
    built = {name: deploy_lab(name) for name in ("1.1.0", "broken-start", "broken-migration")}
    result = deploy(built["1.1.0"], "1.1.0")
    assert result.returncode == 0, result.stderr
    assert (
        lb_request(DEPLOY_LAB, "POST", "/notes", {"title": "survivor", "duration_seconds": 1})[0]
        == 201
    )
    return built


def assert_fleet_serves(version: str, schema: list[str]) -> None:
    assert served_version() == version
    report = fleet_status()
    assert {host["live_version"] for host in report["hosts"]} == {version}
    assert report["schema_head"] == schema
    _, notes = lb_request(DEPLOY_LAB, "GET", "/notes")
    assert "survivor" in [note["title"] for note in notes["notes"]]


def test_a_release_that_does_not_start_is_contained(bundles):
    result = deploy(bundles["broken-start"], "1.2.1")
    assert result.returncode == ExitCode.CONTAINED, result.stderr
    assert "phase switch" in result.stderr and "app1" in result.stderr
    assert_fleet_serves("1.1.0", ["0002"])


def test_a_migration_that_raises_leaves_the_schema_at_its_head(bundles):
    result = deploy(bundles["broken-migration"], "1.2.3")
    assert result.returncode == ExitCode.CONTAINED, result.stderr
    assert "phase migrate" in result.stderr
    assert_fleet_serves("1.1.0", ["0002"])


def test_an_app_host_lost_mid_deploy_is_contained_and_a_rerun_converges(bundles, deploy_lab):
    one_zero = deploy_lab("1.0.0")
    container = f"vnops-{DEPLOY_LAB}-app2"
    running = start_deploy(one_zero, "1.0.0", holder="fault-test")
    try:
        wait_for_phase(running, "switch")
        podman.run(["podman", "stop", "-t", "0", container])
        out, err = running.communicate(timeout=300)
    finally:
        podman.run(["podman", "start", container])
        wait_until_reachable()
    assert running.returncode == ExitCode.CONTAINED, err
    assert "app2" in err and "unreachable" in err
    assert json.loads(out)["reported"]["voicenote_failure"]["host"] == "app2"
    assert served_version() == "1.1.0", "app1 switched back; app2's nginx still on 1.1.0"
    rerun = deploy(bundles["1.1.0"], "1.1.0")
    assert rerun.returncode == 0, rerun.stderr
    assert_fleet_serves("1.1.0", ["0002"])
