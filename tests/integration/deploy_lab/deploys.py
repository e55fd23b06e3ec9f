"""Driving the session's deploy lab as users and CI do: the CLI, or plain ansible-playbook."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret

from tests.conftest import LAB_VAULT, PROJECT, lab_name, run_cli
from tests.integration.labs import lb_request, on_host
from voicenote_ops.lab import podman

DEPLOY_LAB = lab_name("deploy")
VAULT = PROJECT / "inventories" / "lab" / "vault-password.txt"


def ansible(program: str, *arguments: str, lab: str = DEPLOY_LAB, inventory: Path | None = None):
    """An Ansible program of this venv against the lab's inventory (or another), with the lab's
    vault."""
    if inventory is None:
        inventory = Path(os.environ["VOICENOTE_OPS_STATE"]) / "labs" / lab / "inventory"
    return subprocess.run(
        [
            str(Path(sys.executable).parent / program), "-i", str(inventory),
            "--vault-password-file", str(VAULT), *arguments,
        ],
        capture_output=True, text=True, cwd=PROJECT, check=False,
    )  # fmt: skip


def ansible_playbook(playbook: str, *extra: str, lab: str = DEPLOY_LAB,
                     inventory: Path | None = None):  # fmt: skip
    """The plain path CI may take: ansible-playbook against the lab's inventory (or another)."""
    playbook_path = str(PROJECT / "playbooks" / playbook)
    return ansible("ansible-playbook", playbook_path, *extra, lab=lab, inventory=inventory)


def lab_audit_key(folder: Path) -> Path:
    """The lab's test-only audit signing key, from the lab's vault, in a 0600 file: what every
    lab's lock host signs its audit records with."""
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(VAULT.read_bytes().strip()))])
    secrets = yaml.safe_load(vault.decrypt(LAB_VAULT.read_bytes()))
    key = folder / "lab-audit-key"
    key.touch(mode=0o600)
    key.write_text(secrets["vault_audit_signing_key"])
    return key


def deploy(bundle: Path, version: str, *options: str, env: dict | None = None,
           lab: str = DEPLOY_LAB):  # fmt: skip
    return run_cli(
        "deploy", lab, "--version", version, "--artifact", str(bundle), "--json", *options,
        env=env,
    )  # fmt: skip


def served_version(lab: str = DEPLOY_LAB) -> str:
    status, body = lb_request(lab, "GET", "/health")
    assert status == 200, body
    return body["version"]


# A note written before the faults of a test module; no fault may lose it.
SURVIVOR = "survivor"


def write_survivor(lab: str = DEPLOY_LAB) -> None:
    note = {"title": SURVIVOR, "duration_seconds": 1}
    assert lb_request(lab, "POST", "/notes", note)[0] == 201


def assert_fleet_serves(version: str, schema: list[str], lab: str = DEPLOY_LAB) -> None:
    """Every app host and the load balancer serve the version, the schema is at its head, and
    the note written before the faults is still there."""
    assert served_version(lab) == version
    report = fleet_status(lab)
    assert {host["live_version"] for host in report["hosts"]} == {version}
    assert report["schema_head"] == schema
    _, notes = lb_request(lab, "GET", "/notes")
    assert SURVIVOR in [note["title"] for note in notes["notes"]]


# The lock host's files: the lease and the audit trail.
LEASE = "/var/lib/voicenote/deploy.lock"
# A lease left by a holder that never comes back (it would expire in 2100).
GHOST = {
    "id": "0123456789abcdef", "holder": "ghost", "run": "9", "operation": "deploy",
    "version": "9.9.9", "acquired_at": "x", "renewed_at": "x", "expires_at": "2100-01-01T00:00:00Z",
    "expires_epoch": 4102444800,
}  # fmt: skip
AUDIT = "/var/lib/voicenote/audit.jsonl"


def write_lease(lease: dict) -> None:
    on_host(DEPLOY_LAB, "db1", "sh", "-c", f"echo '{json.dumps(lease)}' > {LEASE}")


def lease() -> dict | None:
    result = run_cli("lock", "status", DEPLOY_LAB, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["lease"]


def last_record() -> dict:
    return json.loads(on_host(DEPLOY_LAB, "db1", "tail", "-1", AUDIT))


def fleet_status(lab: str = DEPLOY_LAB) -> dict:
    result = run_cli("status", lab, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def as_ci_run(run_id: str, actor: str = "tester") -> dict[str, str]:
    """The environment of a process running in CI run run_id: the deploy lock's holder is
    ci:RUN_ID (ACTOR), and only that run takes back a live lease it left. An empty run_id is a
    process outside CI, whatever environment the tests themselves run in."""
    return {"GITHUB_RUN_ID": run_id, "GITHUB_ACTOR": actor if run_id else ""}


def start_deploy(bundle: Path, version: str, run_id: str, *options: str,
                 lab: str = DEPLOY_LAB) -> subprocess.Popen:  # fmt: skip
    """A deploy by CI run run_id in its own process group, its progress readable line by line
    from stderr."""
    return subprocess.Popen(
        [sys.executable, "-m", "voicenote_ops", "deploy", lab, "--version", version,
         "--artifact", str(bundle), "--json", *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT,
        env={**os.environ, **as_ci_run(run_id)}, start_new_session=True,
    )  # fmt: skip


def wait_for_phase(process: subprocess.Popen, phase: str) -> str:
    """Read the deploy's progress until a line of the phase; return that line."""
    assert process.stderr is not None
    for line in process.stderr:
        if f"] {phase}: " in line:
            return line
    raise AssertionError(f"the deploy ended before phase {phase}")


def wait_until_reachable(seconds: float = 180, lab: str = DEPLOY_LAB) -> None:
    """After a host comes back (podman start), until every host answers Ansible again through
    the same persisted SSH connections a deploy uses (a stale one lasts until its keep-alive
    gives up)."""
    deadline = time.monotonic() + seconds
    while ansible("ansible", "all", "-m", "ansible.builtin.ping", lab=lab).returncode != 0:
        assert time.monotonic() < deadline, f"{lab} did not answer again in {seconds} s"
        time.sleep(3)


def kill_group(process: subprocess.Popen) -> None:
    """kill -9 of the CLI's whole process group: the CLI, ansible-playbook, its workers, ssh."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


# How a test takes an app host away from under a deploy (podman verbs), and gives it back.
HOST_FAULTS = {"stopped": (["stop", "-t", "0"], ["start"]), "frozen": (["pause"], ["unpause"])}


def deploy_losing_app2(bundle: Path, version: str, how: str, *options: str, timeout: float = 600,
                       lab: str = DEPLOY_LAB):  # fmt: skip
    """A deploy during which app2 is stopped or frozen as the switch phase starts; returns the
    finished process, its stdout and stderr, once app2 is back and Ansible reaches it again."""
    take, give = HOST_FAULTS[how]
    container = f"vnops-{lab}-app2"
    running = start_deploy(bundle, version, "fault-test", *options, lab=lab)
    try:
        wait_for_phase(running, "switch")
        podman.run(["podman", *take, container])
        out, err = running.communicate(timeout=timeout)
    finally:
        podman.run(["podman", *give, container], check=False)
        wait_until_reachable(lab=lab)
    return running, out, err
