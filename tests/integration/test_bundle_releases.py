"""Each release's bundle installed offline, migrated on real PostgreSQL, served, and broken ones
failing the way they promise (examples/voicenote-api/releases/build_release.py)."""

import os
import re
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.app_services import (
    AppProcess,
    PostgreSQL,
    Redis,
    assert_ready_follows_redis,
    http_json,
    migrate,
    postgresql_server,
    redis_server,
    running_app,
)
from voicenote_ops.bundle import Manifest, verify_bundle

pytestmark = pytest.mark.integration

RELEASES = (
    "1.0.0", "1.1.0", "broken-start", "broken-ready", "broken-traffic", "broken-version",
    "broken-migration",
)  # fmt: skip
COLUMNS = "SELECT column_name FROM information_schema.columns WHERE table_name = 'notes'"
REVISION = "SELECT version_num FROM alembic_version"


@dataclass(frozen=True)
class Installed:
    manifest: Manifest
    venv: Path


def _install_offline(bundle: Path, root: Path) -> Installed:
    """What a host does: verify, unpack, and pip install from the wheelhouse with no network."""
    manifest = verify_bundle(bundle)
    with tarfile.open(bundle) as tar:
        tar.extractall(root, filter="data")
    release = root / manifest.top_dir
    venv = release / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # No pip configuration either: its extra indexes or find-links would hide a missing wheel.
    environment = {"PATH": os.environ["PATH"], "PIP_CONFIG_FILE": os.devnull}
    subprocess.run(
        [
            "unshare", "--net", "--",
            str(venv / "bin" / "pip"), "install", "--quiet", "--no-index",
            "--find-links", str(release / "wheelhouse"),
            f"{manifest.name}=={manifest.package_version}",
        ],
        check=True,
        env=environment,
    )  # fmt: skip
    return Installed(manifest, venv)


@pytest.fixture(scope="module")
def releases(release_bundle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Installed]:
    root = tmp_path_factory.mktemp("releases")
    return {name: _install_offline(release_bundle(name), root / name) for name in RELEASES}


@pytest.fixture(scope="module")
def postgresql() -> Iterator[PostgreSQL]:
    with postgresql_server() as server:
        yield server


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    with redis_server(password="releases-test-only") as server:  # noqa: S106 - throwaway
        yield server


@pytest.fixture
def serve(releases: dict[str, Installed], postgresql: PostgreSQL, redis: Redis, tmp_path: Path):
    """serve(NAME): the release running on a database of its own, migrated to its head."""

    @contextmanager
    def serving(name: str) -> Iterator[AppProcess]:
        release = releases[name]
        database = "serve_" + re.sub(r"\W", "_", name)
        url = postgresql.create_database(database)
        assert migrate(release.venv, url, "upgrade", "head").returncode == 0
        env = _env(url, redis, release.manifest)
        with running_app(release.venv, env, tmp_path / f"{database}.log") as app:
            yield app

    return serving


def _env(database_url: str, redis: Redis, manifest: Manifest) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "DEPLOYMENT_VERSION": manifest.version,
        "DEPLOYMENT_COLOR": "blue",
    }


def test_manifests_declare_heads_and_compatibility(releases: dict[str, Installed]) -> None:
    def summary(name: str) -> tuple:
        manifest = releases[name].manifest
        return (
            manifest.version,
            manifest.alembic_heads,
            [(m.revision, m.backward_compatible) for m in manifest.migrations],
        )

    assert summary("1.0.0") == ("1.0.0", ("0001",), [("0001", True)])
    assert summary("1.1.0") == ("1.1.0", ("0002",), [("0001", True), ("0002", True)])
    assert summary("broken-migration")[1] == ("0003",)
    assert summary("broken-ready")[0] == "1.2.2"


def test_health_works_without_database_or_redis(
    releases: dict[str, Installed], tmp_path: Path
) -> None:
    release = releases["1.0.0"]
    unreachable = {
        "DATABASE_URL": "postgresql://voicenote@127.0.0.1:9/voicenote",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "DEPLOYMENT_VERSION": "1.1.0",
    }
    with running_app(release.venv, unreachable, tmp_path / "app.log") as app:
        status, health = http_json("GET", f"{app.base_url}/health")
        assert status == 200
        # The settings name another release than the installed code: health says so.
        assert (health["status"], health["version"], health["deployment_version"]) == (
            "degraded",
            "1.0.0",
            "1.1.0",
        )
        assert http_json("GET", f"{app.base_url}/ready") == (
            503,
            {"ready": False, "failed": ["postgresql", "redis"]},
        )


def test_upgrade_to_1_1_0_keeps_1_0_0_working_and_downgrades(
    releases: dict[str, Installed], postgresql: PostgreSQL, redis: Redis, tmp_path: Path
) -> None:
    old, new = releases["1.0.0"], releases["1.1.0"]
    url = postgresql.create_database("upgrade_path")
    assert migrate(old.venv, url, "upgrade", "head").returncode == 0
    assert postgresql.query("upgrade_path", REVISION) == "0001"

    upgraded = migrate(new.venv, url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert postgresql.query("upgrade_path", REVISION) == "0002"
    assert "language" in postgresql.query("upgrade_path", COLUMNS).split()

    # Expand-only: the previous release still serves on the new schema (blue/green overlap).
    with running_app(old.venv, _env(url, redis, old.manifest), tmp_path / "old.log") as app:
        note = {"title": "from 1.0.0", "duration_seconds": 1}
        assert http_json("POST", f"{app.base_url}/notes", note)[0] == 201
    with running_app(new.venv, _env(url, redis, new.manifest), tmp_path / "new.log") as app:
        note = {"title": "from 1.1.0", "duration_seconds": 1, "language": "de"}
        assert http_json("POST", f"{app.base_url}/notes", note)[1]["language"] == "de"
        german = http_json("GET", f"{app.base_url}/notes?language=de")[1]["notes"]
        assert [n["title"] for n in german] == ["from 1.1.0"]
        assert http_json("GET", f"{app.base_url}/health")[1]["version"] == "1.1.0"

    downgraded = migrate(new.venv, url, "downgrade", "0001")
    assert downgraded.returncode == 0, downgraded.stderr
    assert postgresql.query("upgrade_path", REVISION) == "0001"
    assert "language" not in postgresql.query("upgrade_path", COLUMNS).split()


def test_installed_release_ready_follows_redis(serve, redis: Redis) -> None:
    with serve("1.1.0") as app:
        assert_ready_follows_redis(app.base_url, redis)


def test_broken_start_exits_at_startup(
    releases: dict[str, Installed], redis: Redis, postgresql: PostgreSQL
) -> None:
    release = releases["broken-start"]
    result = subprocess.run(
        [str(release.venv / "bin" / "voicenote-api")],
        env={"PATH": os.environ["PATH"], **_env(postgresql.url, redis, release.manifest)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "search" in result.stderr


def test_broken_ready_serves_health_but_never_becomes_ready(serve) -> None:
    with serve("broken-ready") as app:
        assert http_json("GET", f"{app.base_url}/health")[1]["status"] == "ok"
        for _ in range(3):
            assert http_json("GET", f"{app.base_url}/ready") == (
                503,
                {"ready": False, "failed": ["search_index"]},
            )
            time.sleep(0.2)


def test_broken_migration_fails_and_leaves_the_schema_as_it_was(
    releases: dict[str, Installed], postgresql: PostgreSQL
) -> None:
    url = postgresql.create_database("broken_migration")
    assert migrate(releases["1.1.0"].venv, url, "upgrade", "head").returncode == 0
    failed = migrate(releases["broken-migration"].venv, url, "upgrade", "head")
    assert failed.returncode == 1
    assert "0003 cannot build the search vector" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert postgresql.query("broken_migration", REVISION) == "0002"
    assert "search_vector" not in postgresql.query("broken_migration", COLUMNS).split()


def test_broken_traffic_passes_the_health_gate_but_fails_every_note_read(serve) -> None:
    with serve("broken-traffic") as app:
        assert http_json("GET", f"{app.base_url}/health")[1]["version"] == "1.2.4"
        assert http_json("GET", f"{app.base_url}/ready")[0] == 200
        status, note = http_json(
            "POST", f"{app.base_url}/notes", {"title": "t", "duration_seconds": 1}
        )
        assert status == 201
        with pytest.raises(urllib.error.HTTPError) as read:
            urllib.request.urlopen(f"{app.base_url}/notes/{note['id']}", timeout=30)  # noqa: S310
        assert read.value.code == 500


def test_broken_version_is_ready_but_reports_another_version(serve) -> None:
    with serve("broken-version") as app:
        assert http_json("GET", f"{app.base_url}/ready")[0] == 200
        health = http_json("GET", f"{app.base_url}/health")[1]
        assert (health["status"], health["version"], health["deployment_version"]) == (
            "degraded", "1.1.0", "1.2.5",
        )  # fmt: skip
