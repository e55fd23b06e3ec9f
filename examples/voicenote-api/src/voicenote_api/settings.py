"""The service's settings, read once from the environment at startup."""

import os
from collections.abc import Mapping
from dataclasses import dataclass

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


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
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
