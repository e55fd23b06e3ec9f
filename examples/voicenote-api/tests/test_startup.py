"""Bad settings stop the programs with one sentence and exit code 2, never a traceback."""

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _run(venv: Path, program: str, env: dict[str, str], *arguments: str):
    return subprocess.run(
        [str(venv / "bin" / program), *arguments],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "voicenote-api: Missing required setting(s): DATABASE_URL, REDIS_URL.\n"),
        (
            {"DATABASE_URL": "postgresql://x/y"},
            "voicenote-api: Missing required setting(s): REDIS_URL.\n",
        ),
        (
            {"DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x", "PORT": "http"},
            "voicenote-api: PORT must be a number from 1 to 65535, not 'http'.\n",
        ),
        (
            {"DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x", "LOG_LEVEL": "loud"},
            "voicenote-api: LOG_LEVEL must be one of critical, error, warning, info, debug, "
            "not 'loud'.\n",
        ),
    ],
)
def test_bad_settings_stop_the_server_with_one_sentence(
    app_venv: Path, env: dict[str, str], message: str
) -> None:
    result = _run(app_venv, "voicenote-api", env)
    assert (result.returncode, result.stderr) == (2, message)


def test_migrate_without_database_url_says_so(app_venv: Path) -> None:
    result = _run(app_venv, "voicenote-api-migrate", {}, "upgrade", "head")
    assert result.returncode == 2
    assert result.stderr == "voicenote-api-migrate: Missing required setting: DATABASE_URL.\n"


def test_python_dash_m_serves_the_same_program(app_venv: Path) -> None:
    result = _run(app_venv, "python", {}, "-m", "voicenote_api")
    assert result.returncode == 2
    assert "Missing required setting(s)" in result.stderr


def test_settings_come_from_the_credential_file_not_the_environment(
    app_venv: Path, tmp_path: Path
) -> None:
    """systemd's LoadCredential hands the env file over as $CREDENTIALS_DIRECTORY/voicenote.env;
    a bad value in it is reported like one in the environment."""
    (tmp_path / "voicenote.env").write_text(
        "# written by the envfile role\nDATABASE_URL=postgresql://x/y\nREDIS_URL=redis://x\n"
        "LOG_LEVEL=loud\n"
    )
    result = _run(app_venv, "voicenote-api", {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert result.returncode == 2
    assert "LOG_LEVEL must be one of" in result.stderr
    overridden = _run(
        app_venv, "voicenote-api", {"CREDENTIALS_DIRECTORY": str(tmp_path), "LOG_LEVEL": "info",
                                    "PORT": "http"}
    )  # fmt: skip
    assert "PORT must be a number" in overridden.stderr, "the environment overrides the file"


def test_migrate_reads_database_url_from_the_settings_file(app_venv: Path, tmp_path: Path) -> None:
    settings = tmp_path / "voicenote.env"
    settings.write_text("REDIS_URL=redis://x\n")
    missing = _run(
        app_venv, "voicenote-api-migrate", {"VOICENOTE_ENV_FILE": str(settings)}, "current"
    )
    assert missing.stderr == "voicenote-api-migrate: Missing required setting: DATABASE_URL.\n"
    settings.write_text("not a setting\n")
    broken = _run(
        app_venv, "voicenote-api-migrate", {"VOICENOTE_ENV_FILE": str(settings)}, "current"
    )
    assert broken.returncode == 2 and "is not NAME=VALUE" in broken.stderr
