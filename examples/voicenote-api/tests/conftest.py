"""The app installed from requirements.lock into a venv of its own, against real servers.

Run from the repository root with the voicenote-ops environment (see docs/app-and-bundles.md):
    .venv/bin/pytest -o pythonpath=. examples/voicenote-api/tests
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_services import (
    AppProcess,
    PostgreSQL,
    Redis,
    create_app_venv,
    migrate,
    postgresql_server,
    redis_server,
    running_app,
)

APP_DIR = Path(__file__).resolve().parent.parent
REDIS_PASSWORD = "app-tests-only"  # noqa: S105 - a throwaway server's password


@pytest.fixture(scope="session")
def app_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("app") / "venv"
    return create_app_venv(
        venv,
        ("--require-hashes", "--requirement", APP_DIR / "requirements.lock"),
        ("--no-deps", APP_DIR),
    )


@pytest.fixture(scope="session")
def postgresql() -> Iterator[PostgreSQL]:
    with postgresql_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis() -> Iterator[Redis]:
    with redis_server(password=REDIS_PASSWORD) as server:
        yield server


@pytest.fixture(scope="session")
def database_url(postgresql: PostgreSQL, app_venv: Path) -> str:
    url = postgresql.create_database("voicenote_app_tests")
    assert migrate(app_venv, url, "upgrade", "head").returncode == 0
    return url


@pytest.fixture(scope="session")
def app_env(database_url: str, redis: Redis) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "ENVIRONMENT": "test",
        "DEPLOYMENT_VERSION": "1.0.0",
        "DEPLOYMENT_TIME": "2024-05-01T12:00:00Z",
        "DEPLOYMENT_COLOR": "green",
    }


@pytest.fixture(scope="session")
def app(
    app_venv: Path, app_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppProcess]:
    log = tmp_path_factory.mktemp("app-log") / "voicenote-api.log"
    with running_app(app_venv, app_env, log) as process:
        yield process
