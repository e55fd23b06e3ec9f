"""Alerts on a lab with monitoring (docs/monitoring.md), each proven by a real fault: the alert
reaches a webhook receiver as a firing message within its window and as a resolved one after the
fault ends. One case runs by default (5xx, with the alert guard of deploy and the CLI's views);
the other faults (latency, out of memory, CPU, a failed deploy, a host down) are in the heavy tier
on a prod-shaped lab."""

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import lab_name, run_cli
from tests.integration.deploy_lab.deploys import AUDIT, ansible_playbook
from tests.integration.labs import lab_up, lb_request, on_host
from voicenote_ops.errors import ExitCode
from voicenote_ops.lab import podman

pytestmark = pytest.mark.integration

# The receiver: a Slack-compatible webhook on the monitoring host's loopback, writing each message
# it gets as one JSON line; Alertmanager posts there (provisioned with alertmanager_webhook_url).
RECEIVER_PORT = 9999
RECEIVED = "/var/tmp/alerts-webhook.jsonl"
RECEIVER = f"""
import http.server
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open("{RECEIVED}", "ab") as out:
            out.write(body.replace(b"\\n", b" ") + b"\\n")
        self.send_response(200)
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", {RECEIVER_PORT}), Receiver).serve_forever()
"""


@contextmanager
def monitored_lab(lab: str, topology: str, release_bundle) -> Iterator[Callable[[str], Path]]:
    """A provisioned lab with a monitoring host whose Alertmanager posts to the receiver, serving
    1.1.0."""
    with lab_up(lab, "--topology", topology, "--monitoring", "--image", "packages"):
        on_host(lab, "mon1", "systemd-run", "--unit", "alerts-webhook", "python3", "-c", RECEIVER)
        provisioned = ansible_playbook(
            "provision.yml", "-e", f"alertmanager_webhook_url=http://127.0.0.1:{RECEIVER_PORT}/",
            lab=lab,
        )  # fmt: skip
        assert provisioned.returncode == 0, provisioned.stdout[-3000:]
        assert deploy(lab, release_bundle("1.1.0"), "1.1.0").returncode == 0
        yield release_bundle


def deploy(lab: str, bundle: Path, version: str, *options: str):
    return run_cli(
        "deploy", lab, "--version", version, "--artifact", str(bundle), "--watch", "0", "--yes",
        *options,
    )  # fmt: skip


def messages(lab: str) -> list[tuple[str, str]]:
    """(status, alert name) of each message the receiver got, in order: from the title
    `[FIRING:1] VoicenoteErrorRatioHigh in lab` that roles/alertmanager writes."""
    found = []
    for line in on_host(lab, "mon1", "sh", "-c", f"cat {RECEIVED} 2>/dev/null || true").split("\n"):
        if line.strip():
            title = json.loads(line)["attachments"][0]["title"]
            status, _, rest = title.partition("] ")
            found.append((status.strip("[").split(":")[0], rest.split(" in ")[0]))
    return found


def wait_for_message(lab: str, status: str, alert: str, seconds: float, meanwhile=None) -> None:
    """Poll the receiver until it got `status` (FIRING or RESOLVED) for the alert, running
    `meanwhile` (traffic) between looks; fail saying what came instead."""
    deadline = time.monotonic() + seconds
    while (status, alert) not in messages(lab):
        assert time.monotonic() < deadline, (
            f"no {status} message for {alert} within {seconds} s; the receiver got {messages(lab)}"
        )
        if meanwhile is not None:
            meanwhile()
        time.sleep(1)


def read_notes(lab: str, note_id: int, count: int = 20) -> list[int]:
    return [lb_request(lab, "GET", f"/notes/{note_id}")[0] for _ in range(count)]


@contextmanager
def traffic(lab: str, note_id: int) -> Iterator[None]:
    """A read of the note about every second while the block runs: the fault's 5xx keep the alert
    firing however long the block takes on a busy machine."""
    done = threading.Event()

    def read() -> None:
        while not done.wait(1):
            read_notes(lab, note_id, 1)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield
    finally:
        done.set()
        reader.join()


def firing(lab: str, command: str = "alerts") -> list[dict]:
    result = run_cli(command, lab, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["alerts"]


ALERTS_LAB = lab_name("alerts")


@pytest.fixture(scope="module")
def alerts_lab(release_bundle):
    with monitored_lab(ALERTS_LAB, "single", release_bundle) as bundles:
        yield bundles


def test_5xx_fires_holds_deploys_back_and_resolves(alerts_lab):
    lab = ALERTS_LAB
    status, note = lb_request(lab, "POST", "/notes", {"title": "alerting", "duration_seconds": 5})
    assert status == 201, note
    assert deploy(lab, alerts_lab("broken-traffic"), "1.2.4").returncode == 0

    # Real traffic: every read of a note is a 500 on this release.
    wait_for_message(
        lab, "FIRING", "VoicenoteErrorRatioHigh", 180, lambda: read_notes(lab, note["id"])
    )
    with traffic(lab, note["id"]):
        # `alerts` and `status` name it while the fault's 5xx go on (on a busy machine the two
        # reads outlast the error ratio's window of traffic sent before them).
        listed = [alert for alert in firing(lab) if alert["name"] == "VoicenoteErrorRatioHigh"]
        assert listed and listed[0]["severity"] == "critical", firing(lab)
        assert "VoicenoteErrorRatioHigh" in {alert["name"] for alert in firing(lab, "status")}

        # A deploy while it fires is refused and changes nothing ...
        refused = deploy(lab, alerts_lab("1.1.0"), "1.1.0")
        assert refused.returncode == ExitCode.REFUSED, refused.stderr
        assert "VoicenoteErrorRatioHigh" in refused.stderr and "--ignore-alerts" in refused.stderr
        assert lb_request(lab, "GET", "/health")[1]["version"] == "1.2.4"

        # ... unless the operator says why, which the audit trail keeps with what fired.
        reason = "switching back to 1.1.0 to end the 500s"
        forced = deploy(lab, alerts_lab("1.1.0"), "1.1.0", "--ignore-alerts", reason)
    assert forced.returncode == 0, forced.stderr
    record = json.loads(on_host(lab, "node1", "tail", "-1", AUDIT))
    assert record["alerts_ignored"]["reason"] == reason
    assert "VoicenoteErrorRatioHigh" in record["alerts_ignored"]["firing"]

    # The fault ended: good traffic resolves the alert at the receiver.
    wait_for_message(
        lab, "RESOLVED", "VoicenoteErrorRatioHigh", 180, lambda: read_notes(lab, note["id"])
    )
    assert set(read_notes(lab, note["id"], 5)) == {200}


# The heavy tier: each other fault on a prod-shaped lab (lb1, app1, app2, db1, mon1).

PROD_LAB = lab_name("alerts-prod")


@pytest.fixture(scope="module")
def prod_alerts_lab(release_bundle):
    with monitored_lab(PROD_LAB, "prod", release_bundle) as bundles:
        # Each app host the size of a one-CPU VM: unlimited, lab hosts share the machine's cores,
        # and a busy app would get only its share of them, never saturate its host.
        for host in ("app1", "app2"):
            podman.run(["podman", "update", "--cpus", "1", f"vnops-{PROD_LAB}-{host}"])
        status, note = lb_request(
            PROD_LAB, "POST", "/notes", {"title": "faults", "duration_seconds": 1}
        )
        assert status == 201, note
        yield bundles, note["id"]


def back_to_1_1_0(bundles) -> None:
    """Serve 1.1.0 again and stop the faulty color (else it stays the idle one, still faulty)."""
    result = deploy(
        PROD_LAB,
        bundles("1.1.0"),
        "1.1.0",
        "--stop-previous",
        "--ignore-alerts",
        "fault test ended",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.stress
@pytest.mark.parametrize(
    ("release", "version", "alert"),
    [
        ("slow", "1.2.6", "VoicenoteLatencyHigh"),
        ("memory-eater", "1.2.7", "VoicenoteAppOutOfMemory"),
        ("cpu-burner", "1.2.8", "VoicenoteCpuSaturated"),
    ],
)
def test_a_faulty_release_fires_its_alert_and_it_resolves(prod_alerts_lab, release, version, alert):
    bundles, note = prod_alerts_lab
    assert deploy(PROD_LAB, bundles(release), version).returncode == 0
    wait_for_message(PROD_LAB, "FIRING", alert, 240, lambda: read_notes(PROD_LAB, note, 5))
    back_to_1_1_0(bundles)
    wait_for_message(PROD_LAB, "RESOLVED", alert, 300, lambda: read_notes(PROD_LAB, note, 5))


@pytest.mark.stress
def test_a_failed_deploy_fires_until_a_deploy_succeeds(prod_alerts_lab):
    bundles, _ = prod_alerts_lab
    failed = deploy(PROD_LAB, bundles("broken-start"), "1.2.1")
    assert failed.returncode == ExitCode.CONTAINED, failed.stderr
    wait_for_message(PROD_LAB, "FIRING", "VoicenoteDeployFailed", 120)
    # The alert guard never holds back the deploy that fixes a failed one, whose color may also
    # have crash-looped meanwhile.
    fixed = deploy(PROD_LAB, bundles("1.1.0"), "1.1.0")
    assert fixed.returncode == 0, (fixed.stderr, firing(PROD_LAB))
    wait_for_message(PROD_LAB, "RESOLVED", "VoicenoteDeployFailed", 120)


@pytest.mark.stress
def test_the_watch_switches_back_when_an_alert_starts_on_a_switched_host(prod_alerts_lab):
    """A busy app answers /ready and no 5xx, so only the alert tells: the operator of this lab
    counts warnings in the watch too (watch_alert_severities in its inventory)."""
    bundles, _ = prod_alerts_lab
    inventory = Path(os.environ["VOICENOTE_OPS_STATE"]) / "labs" / PROD_LAB / "inventory"
    severities = inventory / "group_vars" / "all" / "watch.yml"
    severities.write_text("watch_alert_severities: [critical, warning]\n")
    try:
        result = deploy(PROD_LAB, bundles("cpu-burner"), "1.2.8", "--watch", "180")
    finally:
        severities.unlink()
    assert result.returncode == ExitCode.CONTAINED, result.stderr[-3000:]
    assert re.search(r"VoicenoteCpuSaturated started to fire on app[12]", result.stderr), (
        result.stderr[-3000:]
    )
    assert lb_request(PROD_LAB, "GET", "/health")[1]["version"] == "1.1.0"
    wait_for_message(PROD_LAB, "RESOLVED", "VoicenoteCpuSaturated", 300)


@pytest.mark.stress
def test_a_stopped_host_fires_host_down_once_and_resolves(prod_alerts_lab):
    container = f"vnops-{PROD_LAB}-app2"
    podman.run(["podman", "stop", "-t", "5", container])
    try:
        wait_for_message(PROD_LAB, "FIRING", "VoicenoteHostDown", 120)
        # Its exporters are down too: that pages nothing more (the rule and the inhibition).
        assert ("FIRING", "VoicenoteExporterDown") not in messages(PROD_LAB)
    finally:
        podman.run(["podman", "start", container])
    wait_for_message(PROD_LAB, "RESOLVED", "VoicenoteHostDown", 180)


@pytest.mark.stress
def test_a_host_down_inhibits_its_own_5xx_alert(prod_alerts_lab):
    """app2's node exporter stops (the host reads as down) while app2 serves 5xx: the environment's
    5xx alert goes out, app2's own is held back by its host-down alert."""
    bundles, note = prod_alerts_lab
    assert deploy(PROD_LAB, bundles("broken-traffic"), "1.2.4").returncode == 0
    on_host(PROD_LAB, "app2", "systemctl", "stop", "prometheus-node-exporter")
    try:
        wait_for_message(
            PROD_LAB, "FIRING", "VoicenoteHostDown", 120, lambda: read_notes(PROD_LAB, note, 5)
        )
        wait_for_message(
            PROD_LAB,
            "FIRING",
            "VoicenoteErrorRatioHigh",
            120,
            lambda: read_notes(PROD_LAB, note, 5),
        )
        inhibited = json.loads(
            on_host(
                PROD_LAB, "mon1", "curl", "-sf",
                "http://" + on_host(PROD_LAB, "mon1", "hostname", "-I").split()[0]
                + ":9093/api/v2/alerts?inhibited=true&active=false&silenced=false",
            )
        )  # fmt: skip
        held = {(a["labels"]["alertname"], a["labels"].get("host")) for a in inhibited}
        assert ("VoicenoteHostErrorRatioHigh", "app2") in held, held
    finally:
        on_host(PROD_LAB, "app2", "systemctl", "start", "prometheus-node-exporter")
        back_to_1_1_0(bundles)
