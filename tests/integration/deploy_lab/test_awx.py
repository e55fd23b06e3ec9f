"""The project as an AWX / Automation Platform project, on the deploy lab: its inventory synced
without the vault password, then deploy and rollback as AWX jobs (tests/integration/awx.py)
giving what the CLI gives and the same audit record. The lock both ways between an AWX job and
the CLI, the provision job and ansible-navigator: the heavy tier."""

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.integration.awx import RunningJob, release_store, start_job, synced_inventory
from tests.integration.deploy_lab.deploys import (
    DEPLOY_LAB,
    GHOST,
    LEASE,
    VAULT,
    as_ci_run,
    deploy,
    fleet_status,
    last_record,
    lease,
    served_version,
    write_lease,
)
from tests.integration.labs import on_host
from tests.integration.secret_scan import canaries, files_holding
from voicenote_ops.errors import ExitCode
from voicenote_ops.lab.state import LabFiles

pytestmark = [pytest.mark.integration, pytest.mark.security]

# What the AWX inventory adds to the synced one: where the plays find the secrets (the inventory
# is AWX's, not the project's folder: docs/awx.md).
INVENTORY_VARS = {"voicenote_vault_file": "{{ playbook_dir }}/../inventories/lab.vault.yml"}


@pytest.fixture(scope="module")
def awx(deploy_lab, tmp_path_factory):
    """The lab on 1.0.0 (deployed by the CLI), its inventory as an AWX sync keeps it, and a
    way to run job N of a template as a user."""
    bundles = {name: deploy_lab(name) for name in ("1.0.0", "1.1.0")}
    assert deploy(bundles["1.0.0"], "1.0.0").returncode == 0
    inventory = synced_inventory(LabFiles(DEPLOY_LAB).inventory_dir)
    folder = tmp_path_factory.mktemp("awx")

    def start(job_id: int, playbook: str, vault: bool = True, **extra_vars) -> RunningJob:
        password = VAULT.read_text().strip() if vault else None
        return start_job(
            folder, job_id, "alice", playbook, inventory, INVENTORY_VARS, extra_vars, password
        )

    return bundles, inventory, start


def test_the_inventory_syncs_without_the_vault_password_and_keeps_no_secret(awx):
    _, inventory, _ = awx
    text = json.dumps(inventory).encode()
    assert {"app", "db", "lb"} <= set(inventory["all"]["children"])
    assert not [secret for secret in canaries() if secret in text]
    assert "vault_" not in json.dumps(inventory["all"].get("vars", {}))


def test_awx_jobs_deploy_and_roll_back_as_the_cli_does(awx):
    bundles, _, start = awx
    cli_record = last_record()
    # The job has no build folder: it takes the release from the store, by its signature.
    with release_store(bundles["1.1.0"].parent) as store:
        deployed = start(
            318, "playbooks/deploy.yml", voicenote_version="1.1.0", voicenote_release_store=store
        ).wait()
    assert deployed.rc == 0, deployed.stdout[-3000:]
    # What an AWX project sync checks out: the repository's files, nothing built, no venv.
    assert not {"dist", ".venv"} & {
        path.name for path in (deployed.private_data_dir / "project").iterdir()
    }
    assert served_version() == "1.1.0"
    assert {host["live_version"] for host in fleet_status()["hosts"]} == {"1.1.0"}
    record = last_record()
    # The same record as the CLI's deploy (same fields, same trail on the lock host), by the job.
    assert set(record) == set(cli_record)
    assert (record["who"], record["operation"], record["to"], record["result"]) == (
        "awx:318 (alice)",
        "deploy",
        "1.1.0",
        "succeeded",
    )
    assert record["environment"] == DEPLOY_LAB and record["source_commit"]
    # The store's bytes, verified, are what the hosts run.
    assert record["bundle_sha256"] == hashlib.sha256(bundles["1.1.0"].read_bytes()).hexdigest()

    rolled = start(319, "playbooks/rollback.yml").wait()
    assert rolled.rc == 0, rolled.stdout[-3000:]
    assert served_version() == "1.0.0"
    record = last_record()
    assert (record["who"], record["operation"], record["to"], record["result"]) == (
        "awx:319 (alice)",
        "rollback",
        "1.0.0",
        "succeeded",
    )
    assert lease() is None
    # A read needs no secret: the status template has no Vault credential.
    status = start(320, "playbooks/status.yml", vault=False).wait()
    assert status.rc == 0, status.stdout[-3000:]
    # Nothing secret in what ansible-runner kept of either job (AWX keeps the same events).
    artifacts = [deployed.private_data_dir / "artifacts", rolled.private_data_dir / "artifacts"]
    assert files_holding(canaries(), *artifacts) == []


# The stress tier's: the lock lives in the playbooks every path runs (the CLI, an AWX job, plain
# ansible-playbook); the default tier checks its refusals through the CLI (test_guards.py).
@pytest.mark.stress
def test_the_lock_refuses_an_awx_job_while_the_cli_holds_it_and_the_other_way_round(awx):
    bundles, _, start = awx
    before = served_version()
    # A lease a CI run's CLI holds: an AWX job (another run: awx:321) is refused, naming it.
    write_lease({**GHOST, "holder": "ci:1111 (tester)", "run": "1111"})
    try:
        refused = start(
            321,
            "playbooks/deploy.yml",
            voicenote_version="1.1.0",
            voicenote_artifact=str(bundles["1.1.0"]),
        ).wait()
        assert refused.rc != 0
        said = " ".join(refused.stdout.split())
        assert "by ci:1111 (tester) holds the deploy lock" in said, refused.stdout[-3000:]
        assert served_version() == before and lease()["holder"] == "ci:1111 (tester)"
    finally:
        on_host(DEPLOY_LAB, "db1", "rm", "-f", LEASE)

    # An AWX job holding the lease through a watch: the CLI is refused, naming the job.
    running = start(
        322,
        "playbooks/deploy.yml",
        voicenote_version="1.1.0",
        voicenote_artifact=str(bundles["1.1.0"]),
        voicenote_watch_seconds=30,
    )
    try:
        deadline = time.monotonic() + 600
        while (lease() or {}).get("holder") != "awx:322 (alice)":
            assert running.thread.is_alive(), running.wait().stdout[-3000:]
            assert time.monotonic() < deadline, "the job held no lease in 600 s"
            time.sleep(2)
        cli = deploy(bundles["1.0.0"], "1.0.0", env=as_ci_run(""))
        assert cli.returncode == ExitCode.REFUSED, cli.stderr
        assert "by awx:322 (alice) holds the deploy lock" in cli.stderr
    finally:
        held = running.wait()
    assert held.rc == 0, held.stdout[-3000:]
    assert served_version() == "1.1.0" and lease() is None


# The heavy tier's: the provision job, and ansible-navigator.
@pytest.mark.stress
def test_a_provision_job_runs_as_the_cli_runs_it(awx):
    _, _, start = awx
    provisioned = start(330, "playbooks/provision.yml").wait(timeout=2400)
    assert provisioned.rc == 0, provisioned.stdout[-3000:]
    record = last_record()
    assert (record["who"], record["operation"], record["result"]) == (
        "awx:330 (alice)",
        "provision",
        "succeeded",
    )
    assert lease() is None


@pytest.mark.stress
def test_ansible_navigator_without_an_execution_environment_deploys_and_rolls_back(awx, tmp_path):
    """`ansible-navigator run --ee false` (stdout mode, no playbook artifact: it would keep every
    event beside the playbook), the lab's inventory and vault password file as for the CLI."""
    bundles, _, _ = awx
    inventory = LabFiles(DEPLOY_LAB).inventory_dir
    bin_dir = Path(sys.executable).parent

    def navigator(playbook: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(bin_dir / "ansible-navigator"), "run",
             f"playbooks/{playbook}", "--ee", "false", "--mode", "stdout",
             "--pae", "false", "--lf", str(tmp_path / "navigator.log"),
             "-i", str(inventory), "--vault-password-file", str(VAULT), *extra],
            capture_output=True, text=True, cwd=PROJECT, check=False, timeout=1800,
            # Without an execution environment it runs this venv's ansible-playbook.
            env={**os.environ, **as_ci_run(""), "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        )  # fmt: skip

    deployed = navigator(
        "deploy.yml",
        "-e",
        "voicenote_version=1.1.0",
        "-e",
        f"voicenote_artifact={bundles['1.1.0']}",
    )
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    assert served_version() == "1.1.0"
    assert last_record()["operation"] == "deploy" and last_record()["to"] == "1.1.0"
    rolled = navigator("rollback.yml")
    assert rolled.returncode == 0, rolled.stdout[-3000:]
    assert served_version() == "1.0.0"
    assert not list((PROJECT / "playbooks").glob("*-artifact-*.json"))
