"""Hostile and mistaken input to deploy and rollback: one sentence, exit 2, no traceback, and
refused before any inventory host could be contacted (the refusals come before ansible runs)."""

import pytest

from tests.unit.test_cli_errors import assert_refused
from voicenote_ops.errors import ExitCode

pytestmark = [pytest.mark.unit, pytest.mark.security]

HOSTILE_VERSIONS = ["1.0.0;id", "$(id)", "../../etc/passwd", "", "9" * 5000, "1.0", "v1.0.0",
                    "1.0.0\n", "1.0.0-rc.0", "01.0.0"]  # fmt: skip


@pytest.mark.parametrize("version", HOSTILE_VERSIONS)
def test_deploy_refuses_a_version_that_is_not_x_y_z(cli, version):
    result = cli("deploy", "prod", "--version", version, "--yes")
    assert_refused(result, ExitCode.INVALID, "is not of the form X.Y.Z")


@pytest.mark.parametrize("version", HOSTILE_VERSIONS[:4])
def test_rollback_refuses_a_target_that_is_not_x_y_z(cli, version):
    assert_refused(cli("rollback", "prod", "--to", version), ExitCode.INVALID, "X.Y.Z")


@pytest.mark.parametrize("name", ["../prod", "prod;id", "$(id)", "PROD", "x" * 300])
def test_deploy_refuses_a_hostile_environment_name(cli, name):
    assert_refused(cli("deploy", name, "--version", "1.0.0"), ExitCode.INVALID, "is not valid")


def test_a_real_environment_without_its_vault_password_is_refused(cli, tmp_path):
    result = cli(
        "deploy", "prod", "--version", "1.0.0",
        env={"VOICENOTE_VAULT_PASSWORD_FILE": str(tmp_path / "missing"), "HOME": str(tmp_path)},
    )  # fmt: skip
    assert_refused(result, ExitCode.INVALID, "No vault password file for prod")


@pytest.mark.parametrize(
    "artifact", ["/nonexistent/voicenote-api-1.0.0.tar.gz", "/tmp", "/dev/null"]
)
def test_deploy_refuses_an_artifact_that_is_not_a_bundle_file(cli, tmp_path, artifact):
    password = tmp_path / "password"
    password.write_text("not-the-prod-one\n")
    result = cli(
        "deploy", "dev", "--version", "1.0.0", "--artifact", artifact,
        env={"VOICENOTE_VAULT_PASSWORD_FILE": str(password)},
    )  # fmt: skip
    assert_refused(result, ExitCode.INVALID, "Bundle")


def test_prod_takes_only_final_releases(cli, tmp_path):
    password = tmp_path / "password"
    password.write_text("x\n")
    result = cli(
        "deploy", "prod", "--version", "1.2.0-rc.1", "--yes",
        env={"VOICENOTE_VAULT_PASSWORD_FILE": str(password)},
    )  # fmt: skip
    assert_refused(result, ExitCode.INVALID, "takes only final releases")
