"""`voicenote-ops ci write-secret`: a secret from the environment to a private file."""

import stat

import pytest

from tests.unit.test_ci_resolve import run
from voicenote_ops.errors import ExitCode, InvalidInput
from voicenote_ops.services import ci

pytestmark = pytest.mark.unit


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_file_is_private_and_ends_with_one_newline(tmp_path):
    key = tmp_path / "ssh" / "id_ed25519"
    ci.write_secret("-----BEGIN KEY-----\nabc\n-----END KEY-----", "DEPLOY_SSH_KEY", key)
    assert key.read_text() == "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
    assert mode(key) == 0o600
    assert mode(key.parent) == 0o700


def test_an_existing_file_is_replaced_and_stays_private(tmp_path):
    password = tmp_path / "vault-password"
    password.write_text("old")
    password.chmod(0o644)
    ci.write_secret("new\r\n", "VAULT_PASSWORD", password)
    assert password.read_text() == "new\n"
    assert mode(password) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["vault-password"]


@pytest.mark.parametrize("value", [None, "", "\n"])
def test_a_missing_secret_is_refused_by_name(tmp_path, value):
    with pytest.raises(InvalidInput, match="VAULT_PASSWORD is empty or unset") as refused:
        ci.write_secret(value, "VAULT_PASSWORD", tmp_path / "vault-password")
    assert "secrets" in refused.value.fix
    assert not (tmp_path / "vault-password").exists()


def test_the_cli_reads_the_secret_from_the_named_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("VAULT_PASSWORD", "s3cret")
    destination = tmp_path / "vault-password"
    code, output, _ = run("write-secret", "VAULT_PASSWORD", str(destination))
    assert code == 0
    assert destination.read_text() == "s3cret\n"
    assert "s3cret" not in output
    monkeypatch.delenv("VAULT_PASSWORD")
    code, _, error = run("write-secret", "VAULT_PASSWORD", str(tmp_path / "other"))
    assert code == ExitCode.INVALID
    assert "VAULT_PASSWORD is empty or unset" in error.message
