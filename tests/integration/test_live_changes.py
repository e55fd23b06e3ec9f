"""Provision on a serving fleet, the heavy tier (`-m load`): a change the app fails on, put back
under load; Ctrl-C in the restart phase and a rerun that converges; a provision waiting for a
deploy's lock; the single topology's restart, where the idle color carries the live release;
a PostgreSQL password rotation stopped with Ctrl-C and finished by a rerun. (.ci/run has one
case per class: tests/integration/test_provision.py, and test_guards.py and test_failures.py of
tests/integration/deploy_lab/.)"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, lab_name, run_cli
from tests.integration.labs import background_load, deploy_releases, lab_up, on_host
from voicenote_ops.environments import LAB_VAULT_PASSWORD
from voicenote_ops.errors import ExitCode
from voicenote_ops.inventory import vault_file
from voicenote_ops.lab.state import LabFiles
from voicenote_ops.load import generator
from voicenote_ops.vault import read_vault

pytestmark = pytest.mark.load

PROD, SINGLE = lab_name("live-prod"), lab_name("live-single")
LOAD = generator.LoadPlan(
    rate=40, requests=20_000, duration=500, long_requests=4, long_seconds=8, connections=16
)
COLOR_FILES = "/opt/voicenote/shared/color-blue.env /opt/voicenote/shared/color-green.env"
UNIT = "/etc/systemd/system/voicenote@.service"
# The lab's test-only vault password.
VAULT_PASSWORD = PROJECT / LAB_VAULT_PASSWORD


def group_var(lab: str, text: str) -> None:
    """One file of the lab's group_vars, replaced (an empty text removes it)."""
    path = Path(os.environ["VOICENOTE_OPS_STATE"]) / "labs" / lab / "inventory" / "group_vars"
    target = path / "all" / "live-change.yml"
    if text:
        target.write_text(text)
    else:
        target.unlink(missing_ok=True)


def provision(lab: str, *options: str):
    return run_cli("provision", lab, "--yes", "--json", *options, timeout=900)


def restarts(result) -> dict:
    return json.loads(result.stdout)["reported"].get("voicenote_restarts") or {}


def serving_lab(lab: str, topology: str, release_bundle):
    with lab_up(lab, "--topology", topology) as status:
        assert provision(lab).returncode == 0
        deploy_releases(lab, release_bundle, "1.0.0", "1.1.0")
        yield status


@pytest.fixture(scope="module")
def prod_lab(release_bundle):
    yield from serving_lab(PROD, "prod", release_bundle)


@pytest.fixture(scope="module")
def single_lab(release_bundle):
    yield from serving_lab(SINGLE, "single", release_bundle)


def test_a_change_the_app_fails_on_is_put_back_everywhere_without_a_failed_request(prod_lab):
    group_var(PROD, "appunit_bind_address: 192.0.2.1\n")  # not an address of the host
    with background_load(PROD, LOAD, stop_at_exit=True) as load:
        failed = provision(PROD)
    assert failed.returncode == ExitCode.CONTAINED, failed.stderr[-3000:]
    assert "A color failed on the new" in failed.stderr and "color-green.env" in failed.stderr
    assert load.summary["non_2xx"] == 0 and load.summary["socket_errors"] == 0, load.summary
    # app1's files came back after its idle color failed; app2's were never restarted on.
    for host in ("app1", "app2"):
        assert "192.0.2.1" not in on_host(PROD, host, "cat", *COLOR_FILES.split())
    group_var(PROD, "")
    again = provision(PROD)
    assert again.returncode == 0, again.stderr[-3000:]
    assert all(not colors for colors in restarts(again).values()), restarts(again)


def interrupted_at(phase: str, *args: str) -> tuple[int, str]:
    """`voicenote-ops ARGS` stopped with Ctrl-C (SIGINT to its process group, as a terminal sends
    it) once it enters `phase`: its exit code and what it printed on stderr."""
    running = subprocess.Popen(
        [sys.executable, "-m", "voicenote_ops", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT,
        start_new_session=True,
    )  # fmt: skip
    assert running.stderr is not None
    for line in running.stderr:
        if f"] {phase}: " in line:
            break
    os.killpg(running.pid, signal.SIGINT)
    _, err = running.communicate(timeout=900)
    return running.returncode, err


def test_ctrl_c_in_the_restart_phase_stops_consistent_and_a_rerun_converges(prod_lab):
    group_var(PROD, "appunit_stop_timeout: 47\n")
    code, err = interrupted_at("restart", "provision", PROD, "--yes", "--json")
    assert code == ExitCode.CONTAINED, err[-3000:]
    assert "stopped as asked" in err, err[-3000:]
    # Each host runs what is on its disk: either rolled onto 47 s, or its files put back.
    for host in ("app1", "app2"):
        unit = on_host(
            PROD, host, "grep", "TimeoutStopSec", "/etc/systemd/system/voicenote@.service"
        )
        running_timeout = on_host(PROD, host, "systemctl", "show", "--value", "-p",
                                  "TimeoutStopUSec", "voicenote@blue.service")  # fmt: skip
        assert (unit.strip() == "TimeoutStopSec=47") == (running_timeout.strip() == "47s")
    rerun = provision(PROD)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    for host in ("app1", "app2"):
        shown = on_host(PROD, host, "systemctl", "show", "--value", "-p", "TimeoutStopUSec",
                        "voicenote@blue.service", "voicenote@green.service")  # fmt: skip
        assert shown.split() == ["47s", "47s"]
    group_var(PROD, "")


def test_a_provision_waits_for_a_deploys_lock_when_asked(prod_lab, release_bundle):
    deploying = subprocess.Popen(
        [sys.executable, "-m", "voicenote_ops", "deploy", PROD, "--version", "1.0.0",
         "--artifact", str(release_bundle("1.0.0")), "--yes", "--watch", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT,
    )  # fmt: skip
    assert deploying.stderr is not None
    for line in deploying.stderr:
        if "] guard: " in line:
            break
    refused = provision(PROD)
    assert refused.returncode == ExitCode.REFUSED, refused.stderr[-2000:]
    assert "holds the deploy lock" in refused.stderr
    waited = provision(PROD, "--lock-wait", "600")
    deploying.communicate(timeout=600)
    assert deploying.returncode == 0
    assert waited.returncode == 0, waited.stderr[-2000:]
    history = json.loads(run_cli("history", PROD, "--json").stdout)["records"]
    assert [r["operation"] for r in history[-2:]] == ["deploy", "provision"]


def test_one_app_host_restarts_its_live_color_while_the_idle_one_carries_the_release(single_lab):
    """No other host to carry traffic: the idle color serves the live release meanwhile and gets
    its own release back. No request fails, keep-alive ones included: the app site has an nginx
    of its own on this host, so the switches never reload the load balancer's."""
    group_var(SINGLE, "appunit_stop_timeout: 46\n")
    with background_load(SINGLE, LOAD, stop_at_exit=True) as load:
        done = provision(SINGLE)
    assert done.returncode == 0, done.stderr[-3000:]
    assert load.summary["non_2xx"] == 0 and load.summary["socket_errors"] == 0, load.summary
    assert set(load.summary["versions"]) == {"1.1.0"}, load.summary["versions"]
    assert set(restarts(done)["node1"]) == {"blue", "green"}
    status = json.loads(run_cli("status", SINGLE, "--json").stdout)["hosts"]
    assert [(h["live_version"], h["idle_version"], h["idle_running"]) for h in status] == [
        ("1.1.0", "1.0.0", True)
    ]
    shown = on_host(SINGLE, "node1", "systemctl", "show", "--value", "-p", "TimeoutStopUSec",
                    "voicenote@blue.service", "voicenote@green.service")  # fmt: skip
    assert shown.split() == ["46s", "46s"]


def test_server_settings_apply_online_and_a_restart_needs_the_flag(prod_lab):
    def redis_pid() -> str:
        return on_host(PROD, "db1", "systemctl", "show", "--value", "-p", "MainPID",
                       "redis-server").strip()  # fmt: skip

    before = redis_pid()
    group_var(PROD, 'redis_maxmemory: "64mb"\n')
    online = provision(PROD)
    assert online.returncode == 0, online.stderr[-2000:]
    assert redis_pid() == before
    assert json.loads(online.stdout)["reported"]["voicenote_server_restarts"]["db1"] == []
    group_var(PROD, 'redis_maxmemory: "64mb"\npostgresql_max_connections: 120\n')
    planned = run_cli("provision", PROD, "--check")
    assert "db1 would restart PostgreSQL" in planned.stdout, planned.stdout[-2000:]
    refused = provision(PROD)
    assert refused.returncode == ExitCode.ATTENTION, refused.stderr[-2000:]
    assert "--allow-server-restart" in refused.stderr
    startup = "/etc/postgresql/15/main/conf.d/10-startup.conf"
    assert "max_connections = 100" in on_host(PROD, "db1", "cat", startup)
    allowed = provision(PROD, "--allow-server-restart")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "max_connections = 120" in on_host(PROD, "db1", "cat", startup)
    group_var(PROD, "")


def test_a_postgresql_rotation_stopped_in_its_restart_is_finished_by_a_rerun(single_lab):
    """Ctrl-C while the colors roll onto the new login: both logins stay valid, provision waits
    for the rotation, and rotate run again finishes it; no request fails meanwhile."""
    vault = vault_file(LabFiles(SINGLE).inventory_dir)
    before = read_vault(vault, VAULT_PASSWORD)
    with background_load(SINGLE, LOAD, stop_at_exit=True) as load:
        code, err = interrupted_at("restart", "rotate", SINGLE, "postgresql-password", "--yes")
        assert code == ExitCode.CONTAINED, err[-3000:]
        during = read_vault(vault, VAULT_PASSWORD)
        assert (
            during["vault_postgresql_app_password_previous"]
            == (before["vault_postgresql_app_password"])
        )
        refused = provision(SINGLE)
        assert refused.returncode == ExitCode.INVALID, refused.stderr[-2000:]
        again = run_cli("rotate", SINGLE, "postgresql-password", "--yes", "--json", timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["resumed"] is True
    after = read_vault(vault, VAULT_PASSWORD)
    assert after["vault_postgresql_app_password"] == during["vault_postgresql_app_password"]
    assert not [name for name in after if name.endswith("_previous")], sorted(after)
    assert load.summary["non_2xx"] == 0 and load.summary["socket_errors"] == 0, load.summary
    assert run_cli("health", SINGLE).returncode == 0
