"""`voicenote-ops provision` on a real lab: succeeds, then changes nothing, and --check agrees."""

import json
import ssl
import urllib.request

import pytest

from tests.conftest import lab_name, run_cli
from tests.integration.labs import lab_up

pytestmark = pytest.mark.integration

LAB = lab_name("provision")


def provision(*options: str) -> dict:
    result = run_cli("provision", LAB, "--json", *options, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def changed(report: dict) -> dict[str, int]:
    return {host: outcome["changed"] for host, outcome in report["hosts"].items()}


@pytest.fixture(scope="module")
def lab():
    """A prod-like lab (lb1, app1, app2, db1), provisioned once; removed even after failures."""
    with lab_up(LAB, "--topology", "prod") as status:
        yield status, provision("--yes")


def test_first_run_succeeds_on_every_host(lab):
    _, first = lab
    assert first["status"] == "successful"
    assert sorted(first["hosts"]) == ["app1", "app2", "db1", "lb1"]
    assert all(o["failed"] == 0 and o["unreachable"] == 0 for o in first["hosts"].values())
    assert any(changed(first).values())


def test_second_run_changes_nothing(lab):
    assert set(changed(provision()).values()) == {0}


def test_check_mode_has_nothing_to_change(lab):
    report = provision("--check")
    assert report["check"] is True
    assert set(changed(report).values()) == {0}


def test_https_through_the_lb_reaches_every_app_host(lab):
    status, _ = lab
    (lb,) = [host for host in status["hosts"] if "lb" in host["groups"]]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    answered = set()
    for _ in range(8):
        url = f"https://127.0.0.1:{lb['https_port']}/nginx-health"
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            assert response.status == 200
            answered.add(response.headers["X-Voicenote-App-Host"])
    assert answered == {"app1", "app2"}
