"""The packaged Alembic migrations, upgraded and downgraded on real PostgreSQL."""

from pathlib import Path

import pytest

from tests.app_services import PostgreSQL, migrate

pytestmark = pytest.mark.integration

TABLES = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'notes'"


def test_upgrade_head_then_downgrade_removes_the_schema(
    app_venv: Path, postgresql: PostgreSQL
) -> None:
    url = postgresql.create_database("voicenote_migrations")
    upgraded = migrate(app_venv, url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert postgresql.query("voicenote_migrations", TABLES) == "1"
    assert postgresql.query("voicenote_migrations", "SELECT version_num FROM alembic_version") == (
        "0001"
    )

    downgraded = migrate(app_venv, url, "downgrade", "-1")
    assert downgraded.returncode == 0, downgraded.stderr
    assert postgresql.query("voicenote_migrations", TABLES) == "0"
    assert postgresql.query("voicenote_migrations", "SELECT count(*) FROM alembic_version") == "0"


def test_unknown_revision_is_one_sentence(app_venv: Path, postgresql: PostgreSQL) -> None:
    url = postgresql.create_database("voicenote_unknown_revision")
    result = migrate(app_venv, url, "upgrade", "9999")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "9999" in result.stderr


def test_heads_needs_no_database(app_venv: Path) -> None:
    result = migrate(app_venv, "", "heads")
    assert result.returncode == 0
    assert "0001 (head)" in result.stdout
