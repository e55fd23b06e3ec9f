"""`voicenote-ops provision` on a real lab: succeeds; a secret rotates under load, rolling both
colors of every app host without a failed request; then --check finds nothing to change. The
stress tier adds a change to the app's unit rolled the same way by provision, and Redis's
rotation under load."""

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import LAB_VAULT, PROJECT, lab_name, run_cli
from tests.integration.deploy_lab.deploys import GHOST, LEASE, fleet_status
from tests.integration.labs import (
    background_load,
    deploy_releases,
    lab_status,
    lab_up,
    on_host,
    webhook_receiver,
)
from voicenote_ops.environments import LAB_VAULT_PASSWORD
from voicenote_ops.errors import ExitCode
from voicenote_ops.inventory import vault_file
from voicenote_ops.lab.state import LabFiles
from voicenote_ops.load import generator
from voicenote_ops.vault import read_vault, write_vault

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
    # localhost: the controller takes the deploy lock, records the run and releases the lock.
    assert sorted(first["hosts"]) == ["app1", "app2", "db1", "lb1", "localhost"]
    assert all(o["failed"] == 0 and o["unreachable"] == 0 for o in first["hosts"].values())
    assert any(changed(first).values())


# Keep-alive load through the load balancer with long transcriptions in flight; the request
# bound is far above what the restart needs, the block's end stops it.
LOAD = generator.LoadPlan(
    rate=20, requests=20_000, duration=500, long_requests=4, long_seconds=8, connections=16
)
UNIT = "/etc/systemd/system/voicenote@.service"
# The lab's test-only vault password.
VAULT_PASSWORD = PROJECT / LAB_VAULT_PASSWORD


def lab_vault_file() -> Path:
    """The lab's secrets file, beside its inventory folder (a link to the committed one until a
    rotation makes it the lab's own)."""
    return vault_file(LabFiles(LAB).inventory_dir)


def group_vars() -> Path:
    """The lab's group_vars/all (voicenote-ops lab up writes its inventory in the state dir)."""
    return (
        Path(os.environ["VOICENOTE_OPS_STATE"]) / "labs" / LAB / "inventory" / "group_vars" / "all"
    )


def started(host: str) -> dict[str, str]:
    return {
        color: on_host(LAB, host, "systemctl", "show", "--value", "-p",
                       "ExecMainStartTimestampMonotonic", f"voicenote@{color}.service").strip()
        for color in ("blue", "green")
    }  # fmt: skip


def both_colors_run(release_bundle) -> None:
    """1.0.0 idle and 1.1.0 live on every app host, deployed unless a test before did: the
    rolling restarts below need a release in both colors."""
    if any(host["live_version"] is None for host in fleet_status(LAB)["hosts"]):
        deploy_releases(LAB, release_bundle, "1.0.0", "1.1.0")


# The stress tier's: the default tier rolls both colors of every host under load once, through
# PostgreSQL's rotation below (the same rolling restart, started by a changed environment file
# instead of a changed unit); a provision restarting a color onto a changed unit stays in the
# default tier on the image runtime (image_lab/test_runtime.py).
@pytest.mark.stress
def test_a_unit_change_rolls_both_colors_of_every_host_without_a_failed_request(
    lab, release_bundle
):
    """Both colors run (1.0.0 idle, 1.1.0 live); one appunit setting changes in the lab's
    group_vars; provision restarts every color, never a serving one in place."""
    both_colors_run(release_bundle)
    before = {host: started(host) for host in ("app1", "app2")}
    (group_vars() / "stop-timeout.yml").write_text("appunit_stop_timeout: 46\n")
    with background_load(LAB, LOAD, stop_at_exit=True) as load:
        report = provision("--yes")
    summary = load.summary
    assert summary["non_2xx"] == 0 and summary["socket_errors"] == 0, summary
    assert summary["long"]["completed"] == summary["long"]["started"] > 0, summary["long"]
    assert report["reported"]["voicenote_restarts"] == {
        host: {"blue": [UNIT], "green": [UNIT]} for host in ("app1", "app2")
    }
    for host in ("app1", "app2"):
        after = started(host)
        assert all(int(after[c]) > int(before[host][c]) for c in after), (before, after)
        timeouts = on_host(LAB, host, "systemctl", "show", "--value", "-p", "TimeoutStopUSec",
                           "voicenote@blue.service", "voicenote@green.service")  # fmt: skip
        assert timeouts.split() == ["46s", "46s"]
    # The idle color kept its release and runs: a rollback is still an instant switch.
    status = json.loads(run_cli("status", LAB, "--json").stdout)
    assert {(h["live_version"], h["idle_version"], h["idle_running"]) for h in status["hosts"]} == {
        ("1.1.0", "1.0.0", True)
    }
    history = json.loads(run_cli("history", LAB, "--json").stdout)
    assert history["records"][-1]["operation"] == "provision"
    assert history["records"][-1]["result"] == "succeeded"


def redis_answers(password: str) -> str:
    """PING on db1's Redis with this password, given in podman's environment, not its argv."""
    done = subprocess.run(
        ["podman", "exec", "--env", "REDISCLI_AUTH", f"vnops-{LAB}-db1",
         "redis-cli", "--no-auth-warning", "PING"],
        capture_output=True, text=True, env={**os.environ, "REDISCLI_AUTH": password}, check=False,
    )  # fmt: skip
    return done.stdout.strip()


def rotate_under_load(secret: str) -> None:
    """`rotate LAB SECRET` under keep-alive load with long requests in flight: no request fails
    and every color of both app hosts rolls onto the new environment file."""
    with background_load(LAB, LOAD, stop_at_exit=True) as load:
        rotated = run_cli("rotate", LAB, secret, "--yes", "--json", timeout=900)
    assert rotated.returncode == 0, rotated.stderr[-3000:]
    summary = load.summary
    assert summary["non_2xx"] == 0 and summary["socket_errors"] == 0, summary
    assert summary["long"]["completed"] == summary["long"]["started"] > 0, summary["long"]
    env_file = "/opt/voicenote/shared/voicenote.env"
    assert json.loads(rotated.stdout)["reported"]["voicenote_restarts"] == {
        host: {"blue": [env_file], "green": [env_file]} for host in ("app1", "app2")
    }


# The stress tier's: the default tier rotates a secret under load once, PostgreSQL's (two logins
# while the colors roll), and checks Redis's rotation refused by the lock below.
@pytest.mark.stress
def test_a_redis_password_rotation_under_load_fails_no_request_and_revokes_the_old_one(
    lab, release_bundle
):
    both_colors_run(release_bundle)
    vault = lab_vault_file()
    committed = LAB_VAULT
    old = read_vault(vault, VAULT_PASSWORD)["vault_redis_password"]
    rotate_under_load("redis-password")
    new = read_vault(vault, VAULT_PASSWORD)
    assert new["vault_redis_password"] != old and "vault_redis_password_previous" not in new
    # The lab's own copy, private; the committed test vault still holds the old one.
    assert not vault.is_symlink() and vault.stat().st_mode & 0o777 == 0o600
    assert read_vault(committed, VAULT_PASSWORD)["vault_redis_password"] == old
    assert redis_answers(new["vault_redis_password"]) == "PONG"
    assert redis_answers(old) != "PONG"


def postgresql_login(login: str, password: str) -> subprocess.CompletedProcess:
    """A new connection from app1 to the app's database as this login, with psycopg from the
    live release's venv; the password in podman's environment, not its argv."""
    (db1,) = [host for host in lab_status(LAB)["hosts"] if host["name"] == "db1"]
    connect = (
        "import sys, psycopg; print(psycopg.connect(host=sys.argv[1], user=sys.argv[2], "
        "dbname='voicenote', connect_timeout=5).execute('SELECT current_user').fetchone()[0])"
    )
    return subprocess.run(
        ["podman", "exec", "--env", "PGPASSWORD", f"vnops-{LAB}-app1",
         "/opt/voicenote/releases/1.1.0/venv/bin/python", "-c", connect,
         db1["private_address"], login],
        capture_output=True, text=True, env={**os.environ, "PGPASSWORD": password}, check=False,
    )  # fmt: skip


def test_a_postgresql_password_rotation_under_load_fails_no_request_and_revokes_the_old_login(
    lab, release_bundle
):
    """PostgreSQL keeps one password per role: the app moves from the owner role's login to a
    member login of its own, both valid while the colors roll; then the old one cannot log in."""
    both_colors_run(release_bundle)
    vault = lab_vault_file()
    before = read_vault(vault, VAULT_PASSWORD)
    old_login = before.get("vault_postgresql_app_login", "voicenote")
    rotate_under_load("postgresql-password")
    after = read_vault(vault, VAULT_PASSWORD)
    assert not [name for name in after if name.endswith("_previous")], sorted(after)
    login, password = after["vault_postgresql_app_login"], after["vault_postgresql_app_password"]
    assert login != old_login and password != before["vault_postgresql_app_password"]
    # The new login acts as the owner (tables a migration creates belong to it).
    new = postgresql_login(login, password)
    assert (new.returncode, new.stdout.strip()) == (0, "voicenote"), new.stderr[-500:]
    old = postgresql_login(old_login, before["vault_postgresql_app_password"])
    # No password any more: PostgreSQL refuses it before it would look at NOLOGIN.
    assert old.returncode != 0 and "password authentication failed" in old.stderr, old.stderr[-500:]
    # The app still works on the new login: the rotation's own report, then a read through it.
    assert run_cli("health", LAB).returncode == 0


def test_a_provision_is_refused_while_a_rotation_is_unfinished(lab):
    """The vault holds a new value beside the one in use: provision would revoke the one the app
    uses; it refuses before any host and says how to finish the rotation."""
    vault = lab_vault_file()
    variables = read_vault(vault, VAULT_PASSWORD)
    unfinished = {**variables, "vault_redis_password_previous": variables["vault_redis_password"]}
    write_vault(vault, VAULT_PASSWORD, unfinished)
    try:
        refused = run_cli("provision", LAB, "--yes")
    finally:
        write_vault(vault, VAULT_PASSWORD, variables)
    assert refused.returncode == ExitCode.INVALID, refused.stderr[-2000:]
    assert "vault_redis_password_previous" in refused.stderr and "rotate" in refused.stderr


def test_a_rotation_refused_by_the_lock_leaves_the_vault_as_it_was(lab):
    """Another run holds the deploy lock: rotate is refused (exit 3) naming it, no host changed,
    and the vault keeps only the values in use, so provision is not held up."""
    vault = lab_vault_file()
    before = read_vault(vault, VAULT_PASSWORD)
    on_host(LAB, "db1", "sh", "-c", f"echo '{json.dumps(GHOST)}' > {LEASE}")
    try:
        refused = run_cli("rotate", LAB, "redis-password", "--yes")
    finally:
        on_host(LAB, "db1", "rm", "-f", LEASE)
    assert refused.returncode == ExitCode.REFUSED, refused.stderr[-2000:]
    assert "ghost" in refused.stderr
    assert read_vault(vault, VAULT_PASSWORD) == before
    assert redis_answers(before["vault_redis_password"]) == "PONG"


def test_a_webhook_rotation_checks_the_new_url_and_keeps_the_old_one_when_it_fails(lab):
    """The new URL comes on stdin; one that refuses a message changes nothing (exit 2, before the
    lock); one that takes it gets the rotation's own notifications and is in the vault."""
    vault = lab_vault_file()
    before = read_vault(vault, VAULT_PASSWORD).get("vault_notify_webhook_url", "")
    with webhook_receiver(500) as (refusing, _), webhook_receiver(200) as (taking, received):
        refused = run_cli("rotate", LAB, "webhook-url", "--yes", input=refusing + "\n")
        assert refused.returncode == ExitCode.INVALID, refused.stderr[-2000:]
        assert "refused the message with status 500" in refused.stderr
        assert refusing not in refused.stderr + refused.stdout
        assert read_vault(vault, VAULT_PASSWORD).get("vault_notify_webhook_url", "") == before
        rotated = run_cli("rotate", LAB, "webhook-url", "--yes", input=taking + "\n")
        assert rotated.returncode == 0, rotated.stderr[-2000:]
    assert taking not in rotated.stderr + rotated.stdout
    texts = [message["text"] for message in received]
    assert texts[0].startswith("This webhook now receives the deploy notifications of")
    assert (
        texts[1:]
        == [
            f"rotation of webhook-url on {LAB} started by {texts[1].split(' started by ')[1]}",
            texts[2],
        ]
        and "succeeded in" in texts[2]
    ), texts
    after = read_vault(vault, VAULT_PASSWORD)
    assert after["vault_notify_webhook_url"] == taking
    assert "vault_notify_webhook_url_previous" not in after


def test_check_mode_finds_nothing_to_change_and_nothing_to_restart(lab):
    """After the runs above, --check reports no change on any host and no color to restart. It
    is the site's idempotence check too: each role's molecule scenario runs the role a second
    time for real, so a second real provision here would run some 170 more module runs to
    show what those and this run show."""
    report = provision("--check")
    assert report["check"] is True
    assert set(changed(report).values()) == {0}
    # Every color already runs the files on disk: nothing would restart.
    assert set(map(json.dumps, report["reported"]["voicenote_restarts"].values())) == {"{}"}


def test_https_through_the_lb_reaches_every_app_host(lab):
    status, _ = lab
    (lb,) = [host for host in status["hosts"] if "lb" in host["groups"]]
    answered = set()
    for _ in range(8):
        url = f"https://127.0.0.1:{lb['https_port']}/nginx-health"
        with urllib.request.urlopen(
            url, context=generator.lab_tls_context(), timeout=5
        ) as response:
            assert response.status == 200
            answered.add(response.headers["X-Voicenote-App-Host"])
    assert answered == {"app1", "app2"}
