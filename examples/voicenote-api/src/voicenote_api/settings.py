"""The service's settings, read once at startup from the environment and a settings file.

Secrets (DATABASE_URL, REDIS_URL hold passwords) should not travel in the process environment,
where /proc/PID/environ and child processes see them. The file is the env file the deploy
writes: $VOICENOTE_ENV_FILE names it (the systemd unit and the migration command set it), or
systemd hands it over as a credential ($CREDENTIALS_DIRECTORY/voicenote.env, LoadCredential=).
Variables set in the environment override the file's.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REQUIRED = ("DATABASE_URL", "REDIS_URL")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one sentence naming it."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    log_level: str
    enable_profiling: bool
    environment: str
    deployment_version: str | None
    deployment_time: str | None
    deployment_color: str | None


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"", "0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}.")


CREDENTIAL_NAME = "voicenote.env"


def settings_file(environ: Mapping[str, str]) -> Path | None:
    if environ.get("VOICENOTE_ENV_FILE"):
        return Path(environ["VOICENOTE_ENV_FILE"])
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / CREDENTIAL_NAME).is_file():
        return Path(credentials) / CREDENTIAL_NAME
    return None


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise SettingsError(f"Cannot read the settings file {path}: {error.strerror}.") from None
    values = {}
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            name, separator, value = line.partition("=")
            if not separator:
                raise SettingsError(f"{path} has a line that is not NAME=VALUE.")
            values[name.strip()] = value
    return values


def merged_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings file's values, overridden by the process environment's."""
    env = dict(os.environ if environ is None else environ)
    path = settings_file(env)
    return {**(read_env_file(path) if path else {}), **env}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = merged_environment(environ)
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        raise SettingsError(f"Missing required setting(s): {', '.join(missing)}.")
    log_level = env.get("LOG_LEVEL", "info").lower()
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}.")
    return Settings(
        database_url=env["DATABASE_URL"],
        redis_url=env["REDIS_URL"],
        log_level=log_level,
        enable_profiling=_flag("ENABLE_PROFILING", env.get("ENABLE_PROFILING", "")),
        environment=env.get("ENVIRONMENT", "development"),
        deployment_version=env.get("DEPLOYMENT_VERSION") or None,
        deployment_time=env.get("DEPLOYMENT_TIME") or None,
        deployment_color=env.get("DEPLOYMENT_COLOR") or None,
    )
