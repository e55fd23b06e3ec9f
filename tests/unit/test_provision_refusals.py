"""`provision` refuses before touching any host: missing vault password or secrets file, prod
without a confirmation. No lab needed: the refusals come before ansible-runner starts."""

import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import PROJECT
from voicenote_ops.cli import provision as provision_cli
from voicenote_ops.cli.app import app as root_app
from voicenote_ops.environments import Environment, Kind
from voicenote_ops.errors import ExitCode, GuardRefused, InvalidInput
from voicenote_ops.models.results import HostOutcome, RunResult
from voicenote_ops.services import provision as provision_service
from voicenote_ops.services import requests
from voicenote_ops.services.provision import (
    failure_of_run,
    prepare,
    provision_run,
    restart_lines,
)

pytestmark = pytest.mark.unit


def environment(tmp_path: Path, kind: Kind = Kind.INVENTORY, rules: str = "dev") -> Environment:
    """dev's inventory folder; a test's secrets file for it is tmp_path/dev.vault.yml."""
    (tmp_path / "dev" / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    return Environment("dev", kind, tmp_path / "dev", rules)


def test_no_vault_password_is_invalid_input_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("VOICENOTE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(InvalidInput) as refused:
        prepare(environment(tmp_path), check=False)
    assert refused.value.code == ExitCode.INVALID
    assert "dev.vault-password" in refused.value.fix


def test_missing_secrets_file_is_invalid_input(tmp_path, monkeypatch):
    password = tmp_path / "password"
    password.write_text("x\n")
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", str(password))
    with pytest.raises(InvalidInput, match="no secrets file"):
        prepare(environment(tmp_path), check=False)


def test_request_carries_check_mode_and_the_vault_password_file(tmp_path, monkeypatch):
    password = tmp_path / "password"
    password.write_text("x\n")
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", str(password))
    (tmp_path / "dev.vault.yml").write_text("")
    request = provision_run(prepare(environment(tmp_path), check=True))
    assert request.playbook == "provision.yml"
    assert request.check and request.vault_password_file == password
    # Ctrl-C stops a provision at its next step; --check changes nothing to stop.
    assert not request.interruptible
    assert provision_run(prepare(environment(tmp_path), check=False)).interruptible
    assert request.cmdline() == f"--check --vault-password-file {password}"
    # Under the deploy lock (refused at once by default), recorded under the environment's name.
    assert request.extravars == {
        "voicenote_lock_wait": 0,
        "voicenote_lock_take_over": False,
        "voicenote_env_name": "dev",
        "voicenote_allow_server_restart": False,
    }


def _prod(tmp_path: Path, monkeypatch) -> Environment:
    """prod's inventory, as far as the refusals before any host read it."""
    password = tmp_path / "password"
    password.write_text("x\n")
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", str(password))
    (tmp_path / "prod" / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "prod.vault.yml").write_text("")
    # prod's rules come from the inventory's voicenote_environment, as the playbooks read it.
    main = tmp_path / "prod" / "group_vars" / "all" / "main.yml"
    main.write_text("voicenote_environment: production\n")
    return Environment("prod", Kind.INVENTORY, tmp_path / "prod", "prod")


def test_prod_without_yes_and_without_a_terminal_is_refused(tmp_path, monkeypatch):
    prod = _prod(tmp_path, monkeypatch)
    monkeypatch.setattr(provision_cli, "resolve", lambda name: prod)
    ran = []
    monkeypatch.setattr(provision_service, "run_playbook", lambda *a, **k: ran.append(a))
    result = CliRunner().invoke(root_app, ["provision", "prod"], standalone_mode=False)
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.code == ExitCode.INVALID
    assert "--yes" in result.exception.render()
    assert ran == []


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_no_at_the_prompt_is_a_refusal_for_every_command(tmp_path, monkeypatch):
    """One exit code for a refused confirmation, whichever command asks (requests.consent)."""
    prod = _prod(tmp_path, monkeypatch)
    monkeypatch.setattr(requests.sys, "stdin", _Terminal())
    asked = []
    with pytest.raises(GuardRefused) as refused:
        requests.consent(prod, "Provision", False, lambda question: asked.append(question))
    assert refused.value.code == ExitCode.REFUSED
    assert "Provision on prod was not confirmed; nothing changed." in refused.value.render()
    assert asked == ["Provision on prod (inventory)?"]
    requests.consent(prod, "Provision", False, lambda question: True)
    requests.consent(prod, "Provision", True, lambda question: False)  # --yes: not asked


def test_prod_rules_follow_the_inventory_not_its_name(tmp_path, monkeypatch):
    """An inventory named otherwise but under prod's rules asks too, and one named prod whose
    voicenote_environment is not under them does not (the playbooks' own rule)."""
    prod = _prod(tmp_path, monkeypatch)
    elsewhere = Environment("prod-eu", Kind.INVENTORY, prod.inventory, "prod-eu")
    assert requests.under_prod_rules(prod) and requests.under_prod_rules(elsewhere)
    (prod.inventory / "group_vars" / "all" / "main.yml").write_text("voicenote_environment: dev\n")
    assert not requests.under_prod_rules(prod)


def test_a_wrong_vault_password_is_refused_before_any_host(tmp_path, monkeypatch):
    """The same vault check as every other command: every vault of the inventory is opened."""
    password = tmp_path / "password"
    password.write_text("not the password\n")
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", str(password))
    lab_vault = PROJECT / "inventories" / "lab.vault.yml"
    (tmp_path / "dev.vault.yml").write_bytes(lab_vault.read_bytes())
    with pytest.raises(InvalidInput, match=r"does not open .*/dev\.vault\.yml\."):
        prepare(environment(tmp_path), check=False)


# How a failed provision maps to the exit codes: the outcome and first failure the playbook
# reported, the code, and what the sentence must say.
FAILURES = [
    pytest.param(
        "refused", "lock", "localhost", "Lease: acquire",
        "deploy of 1.1.0 by ci:42 (tester) holds the deploy lock since t",
        ExitCode.REFUSED, ["ci:42 (tester) holds the deploy lock", "--lock-wait"],
        id="held-lock",
    ),
    pytest.param(
        "contained", "restart", "app1", "Fail, naming the files",
        "A color failed on the new /opt/voicenote/shared/color-green.env",
        ExitCode.CONTAINED, ["app1 in phase restart", "color-green.env"],
        id="restart-put-back",
    ),
    pytest.param(
        "failed", "data", "db1", "Install PostgreSQL", "no space",
        ExitCode.ATTENTION, ['db1 in phase data at "Install PostgreSQL": no space',
                             "run provision again"],
        id="other-failure",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("outcome", "phase", "host", "task", "message", "code", "said"), FAILURES)
def test_a_failed_provision_maps_to_its_exit_code(outcome, phase, host, task, message, code, said):
    reported = {
        "voicenote_outcome": outcome,
        "voicenote_failure": {
            "phase": phase, "host": host, "task": task, "message": message,
            "held": phase == "lock",
        },
    }  # fmt: skip
    result = RunResult("failed", 2, 1.0, {"localhost": HostOutcome(failed=1)}, reported)
    error = failure_of_run(result)
    assert error.code == code
    assert all(words in error.render() for words in said), error.render()


def test_the_restarts_are_said_per_host_with_the_files_that_made_them():
    result = RunResult(
        "successful", 0, 1.0,
        reported={"voicenote_restarts": {
            "app2": {}, "app1": {"green": ["/etc/u.service"], "blue": ["/etc/u.service", "/e"]},
        }},
    )  # fmt: skip
    assert restart_lines(result, check=True) == [
        "app1 would restart, one color at a time: voicenote@blue (/etc/u.service, /e); "
        "voicenote@green (/etc/u.service)"
    ]
    assert restart_lines(RunResult("successful", 0, 1.0), check=False) == []


@pytest.mark.parametrize(
    ("phase", "message", "held", "code"),
    [
        ("lock", "deploy of 1.0.0 by ci:1111 (tester) holds the deploy lock since t", True,
         ExitCode.REFUSED),
        ("lock", "db1 did not answer", False, ExitCode.ATTENTION),
        ("verify", "voicenote_lock_wait must be whole seconds from 0", False, ExitCode.INVALID),
    ],
)  # fmt: skip
def test_a_refusal_that_ends_the_playbook_before_its_report(phase, message, held, code):
    """The lock play and the request's checks fail the whole run at once, with the record given
    by their rescue (tasks/refuse.yml, tasks/record-failure.yml) and no outcome."""
    record = {"host": "localhost", "phase": phase, "task": "t", "message": message, "held": held}
    host = HostOutcome(failed=1, failed_task="t", message="other words")
    error = failure_of_run(
        RunResult("failed", 2, 1.0, {"localhost": host}, {"voicenote_failure": record})
    )
    assert error.code == code and message in error.render()
