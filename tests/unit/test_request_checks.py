"""The playbooks refuse what the CLI refuses, before any host: the same requests through
`voicenote-ops` (exit 2) and plain ansible-playbook on the prod inventory, whose hosts are
placeholders no run may reach (only localhost may appear in the run's output)."""

import json
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.integration.awx import release_store
from tests.integration.deploy_lab.deploys import ansible_playbook
from tests.unit.test_bundle import _fake_bundle
from tests.unit.test_bundle_contents import TOP, crafted_bundle
from tests.unit.test_cli_errors import assert_refused
from voicenote_ops.bundle.signature import lab_signing_key, sign_bundle
from voicenote_ops.errors import ExitCode
from voicenote_ops.runner import PlaybookRun, run_playbook
from voicenote_ops.services.outcome import failure_of
from voicenote_ops.vault import read_vault, write_vault

pytestmark = [pytest.mark.unit, pytest.mark.security]

PROD = PROJECT / "inventories" / "prod"

# case: (CLI arguments, playbook, its variables, what the CLI says, what the playbook says)
REQUESTS = {
    "version with a trailing newline": (
        ["deploy", "prod", "--version", "1.2.0\n"],
        "deploy.yml", {"voicenote_version": "1.2.0\n"},
        "is not of the form X.Y.Z", "voicenote_version must be X.Y.Z or X.Y.Z-rc.N",
    ),
    "release candidate to prod": (
        ["deploy", "prod", "--version", "1.2.0-rc.1"],
        "deploy.yml", {"voicenote_version": "1.2.0-rc.1"},
        "takes only final releases", "(production) takes only final releases X.Y.Z",
    ),
    "batch size 0": (
        ["deploy", "prod", "--version", "1.2.0", "--batch-size", "0"],
        "deploy.yml", {"voicenote_version": "1.2.0", "voicenote_batch_size": 0},
        "--batch-size must be at least 1", "voicenote_batch_size must be a whole number",
    ),
    "negative lock wait": (
        ["deploy", "prod", "--version", "1.2.0", "--lock-wait", "-1"],
        "deploy.yml", {"voicenote_version": "1.2.0", "voicenote_lock_wait": -1},
        "--lock-wait must be at least 0", "voicenote_lock_wait must be whole seconds from 0",
    ),
    "negative lock wait on a rollback": (
        ["rollback", "prod", "--lock-wait", "-1"],
        "rollback.yml", {"voicenote_lock_wait": -1},
        "--lock-wait must be at least 0", "voicenote_lock_wait must be whole seconds from 0",
    ),
    "watch beyond 9999 s": (
        ["deploy", "prod", "--version", "1.2.0", "--watch", "10000"],
        "deploy.yml", {"voicenote_version": "1.2.0", "voicenote_watch_seconds": 10000},
        "--watch from 0 to 9999", "voicenote_watch_seconds must be whole seconds from 0 to 9999",
    ),
    "rollback target with a trailing newline": (
        ["rollback", "prod", "--to", "1.2.0\n"],
        "rollback.yml", {"voicenote_rollback_to": "1.2.0\n"},
        "is not of the form X.Y.Z", "voicenote_rollback_to must be X.Y.Z or X.Y.Z-rc.N",
    ),
    "rollback of prod to a release candidate": (
        ["rollback", "prod", "--to", "1.2.0-rc.1"],
        "rollback.yml", {"voicenote_rollback_to": "1.2.0-rc.1"},
        "takes only final releases", "(production) takes only final releases X.Y.Z",
    ),
}  # fmt: skip


def assert_refused_on_the_controller(done, message: str) -> None:
    """Refused with message, no host contacted: the placeholders resolve nowhere, so a
    connection would be unreachable, and no task but loading the secrets (which runs on the
    controller for each host) names one."""
    assert done.returncode != 0
    assert message in " ".join(done.stdout.split()), done.stdout[-3000:]
    assert "UNREACHABLE" not in done.stdout, "a host of the inventory was contacted"
    named = [line for line in done.stdout.splitlines() if "example.internal]" in line]
    assert all(line.startswith("ok: [") for line in named), named


@pytest.mark.parametrize("case", REQUESTS)
def test_the_playbooks_refuse_what_the_cli_refuses(cli, tmp_path, case) -> None:
    arguments, playbook, variables, cli_says, playbook_says = REQUESTS[case]
    password = tmp_path / "password"
    password.write_text("prod has no vault\n")
    result = cli(*arguments, "--yes", env={"VOICENOTE_VAULT_PASSWORD_FILE": str(password)})
    assert_refused(result, ExitCode.INVALID, cli_says)
    done = ansible_playbook(playbook, "-e", json.dumps(variables), inventory=PROD)
    assert_refused_on_the_controller(done, playbook_says)


@pytest.mark.parametrize("case", ["release candidate to prod", "negative lock wait on a rollback"])
def test_a_refusal_by_the_playbooks_checks_reaches_the_cli_as_the_runs_record(case) -> None:
    """Run as the CLI runs it (ansible-runner): the verify phase's rescue gives the refusal as
    the run's record (set_stats voicenote_failure, phase verify), from which alone the CLI's
    outcome is invalid input (exit 2) with the playbook's sentence."""
    _arguments, playbook, variables, _cli_says, playbook_says = REQUESTS[case]
    result = run_playbook(PlaybookRun(playbook, (PROD,), variables), on_progress=lambda _: None)
    record = result.reported["voicenote_failure"]
    assert record["phase"] == "verify" and record["host"] == "localhost", record
    error = failure_of("The run", result)
    assert error.code == ExitCode.INVALID
    assert playbook_says in " ".join(error.render().split()), error.render()


def test_the_deploy_playbook_refuses_a_crafted_bundle_with_the_modules_sentence(tmp_path) -> None:
    """The module as Ansible runs it (its role's module_utils shipped with it), on the
    controller, before any host; signed with the lab's key, trusted by the inventory."""
    sound = _fake_bundle(tmp_path)[1]
    bundle = crafted_bundle(sound, tmp_path / "crafted", "symlink to /etc/passwd")
    inventory = _lab_trusting_inventory(tmp_path)
    sign_bundle(bundle, lab_signing_key(PROJECT))
    request = {"voicenote_version": "1.0.0", "voicenote_artifact": str(bundle)}
    done = ansible_playbook("deploy.yml", "-e", json.dumps(request), inventory=inventory)
    assert_refused_on_the_controller(done, f"has a link or special file: '{TOP}/passwd'.")


def _lab_trusting_inventory(tmp_path: Path) -> Path:
    """prod's placeholder hosts (no run may reach them) with the lab's variables: the lab's
    test-only release key pinned."""
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "group_vars").symlink_to(PROJECT / "inventories" / "lab" / "group_vars")
    (inventory / "hosts.yml").write_text((PROD / "hosts.yml").read_text())
    return inventory


def test_a_release_store_must_be_an_http_url(tmp_path) -> None:
    request = {"voicenote_version": "1.0.0", "voicenote_release_store": "file:///etc"}
    done = ansible_playbook(
        "deploy.yml", "-e", json.dumps(request), inventory=_lab_trusting_inventory(tmp_path)
    )
    assert_refused_on_the_controller(done, "voicenote_release_store must be an http(s) URL")


def test_a_release_from_the_store_whose_signature_does_not_verify_is_refused(tmp_path) -> None:
    """The store serves a bundle and a signature of other bytes (a swapped or tampered
    release): the fetched bundle is refused by its signature before any host, and before
    anything else reads it."""
    store = tmp_path / "store"
    store.mkdir()
    signed = _fake_bundle(tmp_path / "signed")[1]
    sign_bundle(signed, lab_signing_key(PROJECT))
    other = _fake_bundle(tmp_path / "other")[1]
    (store / other.name).write_bytes(other.read_bytes() + b"\0")
    (store / f"{other.name}.sig").write_bytes(signed.with_name(f"{signed.name}.sig").read_bytes())
    with release_store(store) as url:
        request = {"voicenote_version": "1.0.0", "voicenote_release_store": url}
        done = ansible_playbook(
            "deploy.yml", "-e", json.dumps(request), inventory=_lab_trusting_inventory(tmp_path)
        )
    assert_refused_on_the_controller(
        done, f"Bundle {other.name} is not signed by a key this environment trusts"
    )


# What the vault holds decides these refusals: the plays read it only after loading it.
VAULT_REFUSALS = {
    "provision during an unfinished rotation": (
        "provision.yml", {},
        "A rotation is unfinished (the vault holds vault_redis_password_previous)",
    ),
    "rotation without the value in use": (
        "rotate.yml", {"voicenote_rotate_secret": "postgresql-password"},
        "The vault needs vault_postgresql_app_password (the new value) and "
        "vault_postgresql_app_password_previous",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", VAULT_REFUSALS)
def test_refusals_that_read_the_vault_see_the_environments_secrets(tmp_path, case) -> None:
    """The vault beside the inventory holds a rotation's new Redis password beside the one in
    use, and no PostgreSQL one: provision and a PostgreSQL rotation are refused before any
    host. (Read before the secrets are loaded, the vault would look empty and both would go
    on.)"""
    playbook, variables, says = VAULT_REFUSALS[case]
    inventory = _lab_trusting_inventory(tmp_path)
    password = PROJECT / "inventories" / "lab" / "vault-password.txt"
    secrets = read_vault(PROJECT / "inventories" / "lab.vault.yml", password)
    secrets = {key: value for key, value in secrets.items() if "postgresql" not in key}
    secrets["vault_redis_password_previous"] = secrets["vault_redis_password"]
    write_vault(tmp_path / "inventory.vault.yml", password, secrets)
    done = ansible_playbook(playbook, "-e", json.dumps(variables), inventory=inventory)
    assert_refused_on_the_controller(done, says)
