"""Zero downtime, proven under load: a deploy (1.0.0 -> 1.1.0) and a rollback while a fixed-rate
load runs on the lab's load balancer over keep-alive connections, without client retries.

Heavy tier (`-m load`, never in CI's default run): a lab of its own, provisioned, three deploys.
docs/zero-downtime.md explains the settings this proves and holds the figures of a real run.
"""

import json

import pytest

from tests.conftest import lab_name, run_cli
from tests.integration.labs import background_load, lab_up
from voicenote_ops.load import generator

pytestmark = pytest.mark.load

LAB = lab_name("zd")
MIN_REQUESTS = 20_000
# 120/s is what a 2-core machine sustains beside a deploy with room to spare. The request
# bound, not the duration, ends the load: 250 s at 120/s, longer than a deploy and a rollback.
PLAN = generator.LoadPlan(
    rate=120, requests=30_000, duration=400, long_requests=4, long_seconds=20, connections=16
)


@pytest.fixture(scope="module")
def zd_lab(release_bundle):
    """A provisioned prod lab (lb1, app1, app2, db1) serving 1.0.0, and the 1.1.0 bundle."""
    with lab_up(LAB, "--topology", "prod"):
        provisioned = run_cli("provision", LAB, "--yes")
        assert provisioned.returncode == 0, provisioned.stderr[-3000:]
        deploy(release_bundle("1.0.0"), "1.0.0")
        yield release_bundle("1.1.0")


def deploy(bundle, version: str) -> None:
    result = run_cli(
        "deploy", LAB, "--version", version, "--artifact", str(bundle), "--yes", "--json"
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_deploy_and_a_rollback_under_load_lose_no_request(zd_lab):
    with background_load(LAB, PLAN, stop_at_exit=False) as load:
        deploy(zd_lab, "1.1.0")
        rolled_back = run_cli("rollback", LAB, "--yes", "--json")
        assert rolled_back.returncode == 0, rolled_back.stderr[-3000:]
    summary = load.summary
    print("zero-downtime load:", json.dumps(summary, indent=2))

    assert load.outlasted, "the load ended before the rollback: raise PLAN.requests"
    assert summary["requests"] >= MIN_REQUESTS
    assert summary["non_2xx"] == 0, summary["statuses"]
    assert summary["socket_errors"] == 0, summary["errors"]
    assert load.returncode == 0
    # The new release answered after the switch, the old one before it and after the rollback.
    assert set(summary["versions"]) == {"1.0.0", "1.1.0"}
    assert summary["last_version"] == "1.0.0"
    # Long transcriptions were in flight across both switches, back to back on every lane.
    long = summary["long"]
    assert long["started"] >= PLAN.long_requests
    assert long["completed"] == long["started"]
