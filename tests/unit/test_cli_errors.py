"""User mistakes: one clear sentence, the exit code from the table, never a traceback."""

import pytest

from voicenote_ops.errors import ExitCode

pytestmark = pytest.mark.unit


def assert_refused(result, code: ExitCode, *phrases: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for phrase in phrases:
        assert phrase in result.stderr


def test_help_lists_commands(cli):
    result = cli("--help")
    assert result.returncode == 0
    for command in ("lab", "ping"):
        assert command in result.stdout


def test_unknown_environment_names_the_known_ones(cli):
    result = cli("ping", "qa")
    assert_refused(result, ExitCode.INVALID, "Unknown environment 'qa'", "dev, staging, prod")


@pytest.mark.parametrize("name", ["1.0.0;id", "$(id)", "../../etc/passwd", "", "x" * 500])
def test_hostile_environment_names_are_refused(cli, name):
    assert_refused(cli("ping", name), ExitCode.INVALID, "is not valid")


def test_a_lab_cannot_take_a_real_environment_name(cli):
    assert_refused(cli("lab", "down", "--name", "prod"), ExitCode.INVALID, "real environment")


def test_unknown_option_is_invalid_input(cli):
    result = cli("lab", "up", "--topology", "mesh")
    assert result.returncode == ExitCode.INVALID
    assert "Traceback" not in result.stderr
