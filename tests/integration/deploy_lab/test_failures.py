"""Failure containment on the deploy lab, one case of each fault class, provoked from outside
the tool: a release that does not start, a migration that raises, an app host lost mid-deploy,
a release that passes its health gate but fails real traffic after the switch, the database
down before a deploy, nginx refusing the switch's configuration, Ctrl-C in the switch phase.
Every case ends with every reachable app host serving the release it served before; the one
case where that cannot hold (a host that cannot be switched back) says so and names the host."""

import json
import os
import signal

import pytest

from tests.integration.deploy_lab.deploys import (
    DEPLOY_LAB,
    ansible_playbook,
    assert_fleet_serves,
    deploy,
    deploy_losing_app2,
    fleet_status,
    last_record,
    lease,
    served_version,
    start_deploy,
    wait_for_phase,
    wait_until_reachable,
    write_survivor,
)
from tests.integration.labs import background_load, host_state, on_host
from voicenote_ops.errors import ExitCode
from voicenote_ops.load import generator

pytestmark = pytest.mark.integration

# Light traffic through the load balancer while a deploy runs: a quarter of it reads notes.
TRAFFIC = generator.LoadPlan(rate=20, requests=6000, duration=300, long_requests=0, connections=4)


@pytest.fixture(scope="module")
def bundles(deploy_lab):
    names = ("1.0.0", "1.1.0", "broken-start", "broken-migration", "broken-traffic")
    built = {name: deploy_lab(name) for name in names}
    result = deploy(built["1.1.0"], "1.1.0")
    assert result.returncode == 0, result.stderr
    write_survivor()
    return built


def test_a_release_that_does_not_start_is_contained(bundles):
    result = deploy(bundles["broken-start"], "1.2.1")
    assert result.returncode == ExitCode.CONTAINED, result.stderr
    assert "phase switch" in result.stderr and "app1" in result.stderr
    assert_fleet_serves("1.1.0", ["0002"])
    # app1's idle color got back what it ran before (nothing, on a fresh lab): never the failed
    # release, which a later rollback would start.
    assert "1.2.1" not in {host["idle_version"] for host in fleet_status()["hosts"]}


def test_a_migration_that_raises_leaves_the_schema_at_its_head(bundles):
    result = deploy(bundles["broken-migration"], "1.2.3")
    assert result.returncode == ExitCode.CONTAINED, result.stderr
    assert "phase migrate" in result.stderr
    # The migration's error names the user it ran as: the app's, never root (code from a bundle).
    service_uid = on_host(DEPLOY_LAB, "app1", "id", "-u", "voicenote").strip()
    assert f"(run as uid {service_uid})" in result.stderr, result.stderr
    assert_fleet_serves("1.1.0", ["0002"])


def test_a_release_failing_real_traffic_is_switched_back_by_the_watch(bundles):
    with background_load(DEPLOY_LAB, TRAFFIC, stop_at_exit=True) as load:
        result = deploy(bundles["broken-traffic"], "1.2.4", "--watch", "60")
    assert result.returncode == ExitCode.CONTAINED, result.stderr
    assert "phase watch" in result.stderr and "got a 5xx" in result.stderr, result.stderr
    # The fault was real: clients got the new release's 500s until the watch switched back.
    assert load.summary["statuses"].get("500", 0) > 0, load.summary["statuses"]
    assert load.returncode == ExitCode.ATTENTION
    assert_fleet_serves("1.1.0", ["0002"])
    # Every idle color got its previous release back: a rollback still goes where it went.
    assert "1.2.4" not in {host["idle_version"] for host in fleet_status()["hosts"]}


def test_an_app_host_lost_mid_deploy_is_contained_and_a_rerun_converges(bundles, deploy_lab):
    running, out, err = deploy_losing_app2(deploy_lab("1.0.0"), "1.0.0", "stopped", timeout=300)
    assert running.returncode == ExitCode.CONTAINED, err
    assert "app2" in err and "unreachable" in err
    assert json.loads(out)["reported"]["voicenote_failure"]["host"] == "app2"
    assert served_version() == "1.1.0", "app1 switched back; app2's nginx still on 1.1.0"
    rerun = deploy(bundles["1.1.0"], "1.1.0")
    assert rerun.returncode == 0, rerun.stderr
    assert_fleet_serves("1.1.0", ["0002"])


def test_postgresql_down_refuses_a_deploy_naming_it_and_nothing_changes(bundles):
    before = host_state(DEPLOY_LAB, ("app1", "app2"))
    on_host(DEPLOY_LAB, "db1", "systemctl", "stop", "postgresql")
    try:
        result = deploy(bundles["1.0.0"], "1.0.0")
    finally:
        on_host(DEPLOY_LAB, "db1", "systemctl", "start", "postgresql")
    assert result.returncode == ExitCode.ATTENTION, result.stderr
    assert "could not start: PostgreSQL on db1 did not answer" in result.stderr, result.stderr
    assert "Nothing changed." in result.stderr
    assert host_state(DEPLOY_LAB, ("app1", "app2")) == before
    assert lease() is None
    assert_fleet_serves("1.1.0", ["0002"])


UPSTREAM = "/etc/nginx/voicenote/live-upstream.conf"


def test_nginx_refusing_the_switch_puts_the_upstream_back_and_is_contained(bundles):
    """An operator's broken file in app1's nginx configuration: the switch's `nginx -t` refuses
    it, the upstream file gets its old bytes back, nginx is never reloaded, app1 goes on serving
    through the configuration it had loaded."""
    before = on_host(DEPLOY_LAB, "app1", "sha256sum", UPSTREAM)
    typo = "echo 'not_a_directive;' > /etc/nginx/conf.d/zz-typo.conf"
    on_host(DEPLOY_LAB, "app1", "sh", "-c", typo)
    try:
        result = deploy(bundles["1.0.0"], "1.0.0")
    finally:
        on_host(DEPLOY_LAB, "app1", "rm", "-f", "/etc/nginx/conf.d/zz-typo.conf")
    assert result.returncode == ExitCode.CONTAINED, result.stderr
    assert "phase switch" in result.stderr and "app1" in result.stderr, result.stderr
    assert "nginx -t refused the new upstream" in result.stderr, result.stderr
    assert "the previous upstream is back" in result.stderr, result.stderr
    assert on_host(DEPLOY_LAB, "app1", "sha256sum", UPSTREAM) == before
    left = on_host(DEPLOY_LAB, "app1", "ls", "-A", "/etc/nginx/voicenote").split()
    assert not [name for name in left if name.startswith(".voicenote-switch-")], left
    assert_fleet_serves("1.1.0", ["0002"])


def test_ctrl_c_in_the_switch_phase_stops_contained_and_a_rerun_converges(bundles):
    """SIGINT to the CLI's process group, as a terminal sends it: the run stops at its next
    step, switches back, records and releases the lock, prints what each host serves."""
    running = start_deploy(bundles["1.0.0"], "1.0.0", "")
    wait_for_phase(running, "switch")
    os.killpg(running.pid, signal.SIGINT)
    _, err = running.communicate(timeout=600)
    assert running.returncode == ExitCode.CONTAINED, err
    assert "Stopping at the next step" in err, err
    assert "stopped as asked" in err and "the deploy lock is released" in err, err
    # What each host serves, read after the stop.
    assert f"status {DEPLOY_LAB}" in err and "1.1.0" in err, err
    assert_fleet_serves("1.1.0", ["0002"])
    assert lease() is None
    assert last_record()["result"] == "interrupted"
    rerun = deploy(bundles["1.0.0"], "1.0.0")
    assert rerun.returncode == 0, rerun.stderr
    assert_fleet_serves("1.0.0", ["0002"])


# An operator's after_switch hook that leaves a typo in app1's nginx configuration, then fails
# there: app1 has switched, and its switch back (nginx -t first) cannot pass.
TYPO_AFTER_SWITCH = """\
- name: Leave a typo in nginx's configuration, as an operator's mistake would
  ansible.builtin.copy:
    content: "not_a_directive;\\n"
    dest: /etc/nginx/conf.d/zz-typo.conf
    mode: "0644"
  become: true
  when: inventory_hostname == 'app1'
- name: Fail after the switch
  ansible.builtin.fail:
    msg: the operator's hook failed after the switch
  when: inventory_hostname == 'app1'
"""


def deploy_app1_cannot_switch_back(bundles, hook_tasks: str, folder) -> tuple[str, str]:
    """Through the plain ansible-playbook path, a deploy of the release the fleet does not serve
    with an after_switch hook that keeps app1 from being switched back; checks that the run
    failed naming app1 as still serving the new color (its last words, the audit record) and
    released the lock. Returns (the release served before, the release deployed)."""
    before = served_version()
    target = {"1.0.0": "1.1.0", "1.1.0": "1.0.0"}[before]
    hook = folder / "after_switch.yml"
    hook.write_text(hook_tasks)
    extra = folder / "request.json"
    extra.write_text(json.dumps({
        "voicenote_version": target, "voicenote_artifact": str(bundles[target]),
        "voicenote_hooks": {"after_switch": str(hook)},
    }))  # fmt: skip
    done = ansible_playbook("deploy.yml", "-e", f"@{extra}")
    said = " ".join(done.stdout.split())
    assert done.returncode != 0, said[-3000:]
    assert "app1 could not be switched back and still serve the new color" in said, said[-3000:]
    record = last_record()
    assert (record["result"], record["not_switched_back"]) == ("failed", ["app1"]), record
    assert lease() is None
    return before, target


def test_a_host_that_cannot_be_switched_back_is_named_and_the_run_still_reports(bundles, tmp_path):
    """app1 switched to the other release, then failed; its switch back is refused by nginx -t.
    The run goes on to its report: the lock is released, the audit record says failed (not
    contained), and the run's last words name app1 as still serving the new color. Once the
    typo is gone, a deploy of the release before brings the fleet back."""
    try:
        before, target = deploy_app1_cannot_switch_back(bundles, TYPO_AFTER_SWITCH, tmp_path)
        live = {host["host"]: host["live_version"] for host in fleet_status()["hosts"]}
        assert live == {"app1": target, "app2": before}, live
    finally:
        on_host(DEPLOY_LAB, "app1", "rm", "-f", "/etc/nginx/conf.d/zz-typo.conf")
    again = deploy(bundles[before], before)
    assert again.returncode == 0, again.stderr
    assert_fleet_serves(before, ["0002"])


# An after_switch hook that takes app1's SSH away once it has switched (sshd stopped and its
# sessions ended, the hook's own among them: the step gets no answer), then fails there.
SSH_GONE_AFTER_SWITCH = """\
- name: Stop answering SSH, as a host lost right after its switch would
  ansible.builtin.shell: "systemctl stop ssh.service && pkill -KILL -f 'sshd: deploy'"
  become: true
  changed_when: true
  when: inventory_hostname == 'app1'
- name: Fail after the switch
  ansible.builtin.fail:
    msg: the operator's hook failed after the switch
  when: inventory_hostname == 'app1'
"""


# The stress tier's: the default tier has this fault class's case above (a host whose switch
# back is refused); here the switch back cannot reach the host at all.
@pytest.mark.stress
def test_a_host_lost_after_its_switch_is_never_taken_for_switched_back(bundles, tmp_path):
    """app1 switched, then stopped answering: its switch back reaches nothing, so the run does
    not call itself contained; it names app1 as not switched back (record, audit, last words)
    and still releases the lock. With SSH back, a deploy of the release before converges."""
    try:
        before, target = deploy_app1_cannot_switch_back(bundles, SSH_GONE_AFTER_SWITCH, tmp_path)
    finally:
        on_host(DEPLOY_LAB, "app1", "systemctl", "start", "ssh.service")
        wait_until_reachable()
    live = {host["host"]: host["live_version"] for host in fleet_status()["hosts"]}
    assert live == {"app1": target, "app2": before}, live
    again = deploy(bundles[before], before)
    assert again.returncode == 0, again.stderr
    assert_fleet_serves(before, ["0002"])
