"""`provision` refuses before touching any host: missing vault password or secrets file, prod
without a confirmation. No lab needed: the refusals come before ansible-runner starts."""

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from voicenote_ops.cli import provision as provision_cli
from voicenote_ops.environments import Environment, Kind
from voicenote_ops.errors import ExitCode, InvalidInput
from voicenote_ops.services import provision as provision_service
from voicenote_ops.services.provision import provision_request

pytestmark = pytest.mark.unit


def environment(tmp_path: Path, kind: Kind = Kind.INVENTORY, rules: str = "dev") -> Environment:
    (tmp_path / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    return Environment("dev", kind, tmp_path, rules)


def test_no_vault_password_is_invalid_input_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("VOICENOTE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(InvalidInput) as refused:
        provision_request(environment(tmp_path), check=False)
    assert refused.value.code == ExitCode.INVALID
    assert "dev.vault-password" in refused.value.fix


def test_missing_secrets_file_is_invalid_input(tmp_path, monkeypatch):
    password = tmp_path / "password"
    password.write_text("x\n")
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", str(password))
    with pytest.raises(InvalidInput, match="no secrets file"):
        provision_request(environment(tmp_path), check=False)


def test_request_carries_check_mode_and_the_vault_password_file(tmp_path, monkeypatch):
    password = tmp_path / "password"
    password.write_text("x\n")
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", str(password))
    (tmp_path / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "group_vars" / "all" / "vault.yml").write_text("")
    request = provision_request(environment(tmp_path), check=True)
    assert request.playbook == "provision.yml"
    assert request.check and request.vault_password_file == password
    assert request.cmdline() == f"--check --vault-password-file {password}"
    assert request.extravars == {}


def test_prod_without_yes_and_without_a_terminal_is_refused(tmp_path, monkeypatch):
    password = tmp_path / "password"
    password.write_text("x\n")
    monkeypatch.setenv("VOICENOTE_VAULT_PASSWORD_FILE", str(password))
    (tmp_path / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "group_vars" / "all" / "vault.yml").write_text("")
    prod = Environment("prod", Kind.INVENTORY, tmp_path, "prod")
    monkeypatch.setattr(provision_cli, "resolve", lambda name: prod)
    ran = []
    monkeypatch.setattr(provision_service, "run_playbook", lambda *a, **k: ran.append(a))
    app = typer.Typer()
    provision_cli.register(app)
    app.command("noop")(lambda: None)  # keeps `provision` a subcommand
    result = CliRunner().invoke(app, ["provision", "prod"], standalone_mode=False)
    assert isinstance(result.exception, InvalidInput)
    assert "--yes" in result.exception.render()
    assert ran == []
