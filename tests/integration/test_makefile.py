"""The Makefile's lab targets against a lab of their own, as a developer runs them: `make dev`
(up, provision, build, deploy, health), then restart, ping, health, both log followers, down."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import PROJECT, lab_name, run_cli, run_make
from tests.integration.labs import background_load, lab_status, on_host
from voicenote_ops.load import generator

pytestmark = pytest.mark.integration

LAB = lab_name("make")
LAB_VARIABLES = (f"LAB={LAB}", "TOPOLOGY=single", "HOST=node1", "LAB_IMAGE=packages")
# Keep-alive connections through the load balancer with long requests in flight; the block's
# end stops it.
KEEP_ALIVE = generator.LoadPlan(
    rate=20, requests=20_000, duration=500, long_requests=2, long_seconds=5, connections=16
)


def make(target: str, *variables: str):
    done = run_make(target, *LAB_VARIABLES, *variables)
    assert done.returncode == 0, f"make {target}: {(done.stdout + done.stderr)[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def lab():
    run_cli("lab", "down", "--name", LAB)  # leftovers of a killed run, found by label
    try:
        yield make("dev", "VERSION=1.0.0")
    finally:
        run_make("down", *LAB_VARIABLES)


def first_lines(target: str, wanted: int, seconds: float = 60) -> list[str]:
    """The first lines a following target prints; then it is stopped, as with Ctrl-C."""
    follower = subprocess.Popen(
        ["make", "--no-print-directory", target, *LAB_VARIABLES, f"VENV={sys.prefix}"],
        cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(follower.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + seconds
    while len(lines) < wanted and time.monotonic() < deadline and reader.is_alive():
        time.sleep(0.2)
    os.killpg(follower.pid, signal.SIGINT)
    follower.wait(timeout=30)
    reader.join(timeout=10)
    return lines


def test_make_dev_leaves_the_lab_serving_the_version(lab):
    assert "serves 1.0.0" in lab
    (host,) = lab_status(LAB)["hosts"]
    assert host["name"] == "node1"


def test_make_restart_ping_and_health(lab):
    make("restart")
    assert "node1" in make("ping")
    assert "node1" in make("health")


@pytest.mark.parametrize("target", ["logs", "logs-api"])
def test_the_log_targets_follow_the_host(lab, target):
    lines = first_lines(target, wanted=3)
    assert len(lines) >= 3 and all(lines), lines


def test_a_switch_on_one_host_keeps_every_keep_alive_connection(lab, release_bundle):
    """The single topology's one host is also its load balancer: the deploy's switch reloads the
    app site's own nginx, never the one clients keep connections to, so a client that reuses
    its connections without retrying sees no error."""
    with background_load(LAB, KEEP_ALIVE, stop_at_exit=True) as load:
        deployed = run_cli("deploy", LAB, "--version", "1.1.0", "--artifact",
                           str(release_bundle("1.1.0")), "--yes")  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr[-2000:]
    summary = load.summary
    assert summary["non_2xx"] == 0 and summary["socket_errors"] == 0, summary
    assert set(summary["versions"]) == {"1.0.0", "1.1.0"}, summary["versions"]
    # Two nginx: the app site's own holds the app port, Debian's the load balancer's.
    app_site, load_balancer = on_host(LAB, "node1", "systemctl", "show", "--value", "-p",
        "MainPID", "nginx-voicenote-app.service", "nginx.service").split()  # fmt: skip
    for port, owner in ((8080, app_site), (443, load_balancer)):
        listening = on_host(LAB, "node1", "ss", "-Hltnp", f"sport = :{port}")
        assert f"pid={owner}," in listening, (port, owner, listening)


def test_make_down_removes_the_lab(lab):
    make("down")
    assert LAB not in run_cli("lab", "status", "--json").stdout
