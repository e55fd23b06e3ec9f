"""envfile: root:voicenote 0640, every key set, and its URLs reach PostgreSQL and Redis."""

import shlex

import pytest

pytestmark = pytest.mark.molecule

PATH = "/opt/voicenote/shared/voicenote.env"
REQUIRED = {"DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "ENABLE_PROFILING", "ENVIRONMENT"}


@pytest.fixture(scope="module")
def env(hosts) -> dict[str, str]:
    lines = hosts["app1"].file(PATH).content_string.splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return dict(pairs)


def test_owned_by_root_readable_by_the_service_group_only(hosts):
    found = hosts["app1"].file(PATH)
    assert (found.user, found.group, found.mode) == ("root", "voicenote", 0o640)


def test_every_key_is_present_and_none_is_empty(env):
    assert set(env) >= REQUIRED
    assert [key for key, value in env.items() if not value] == []


def test_values_come_from_the_lab_inventory(env, address, secrets):
    assert env["ENVIRONMENT"] == "lab"
    assert env["LOG_LEVEL"] == "DEBUG"
    assert env["ENABLE_PROFILING"] == "false"
    password = secrets["vault_postgresql_app_password"]
    assert (
        env["DATABASE_URL"] == f"postgresql://voicenote:{password}@{address('db1')}:5432/voicenote"
    )
    assert (
        env["REDIS_URL"]
        == f"redis://default:{secrets['vault_redis_password']}@{address('db1')}:6379/0"
    )


def test_database_url_logs_in_from_the_app_host(hosts, env):
    result = hosts["app1"].run(f"psql -X -At {shlex.quote(env['DATABASE_URL'])} -c 'SELECT 1'")
    assert result.stdout.strip() == "1", result.stderr


def test_redis_url_pings_from_the_app_host(hosts, env):
    result = hosts["app1"].run(
        f"redis-cli --no-auth-warning -u {shlex.quote(env['REDIS_URL'])} PING"
    )
    assert result.stdout.strip() == "PONG", result.stderr


def test_service_user_can_read_it_and_others_cannot(hosts):
    assert hosts["app1"].run(f"sudo -u voicenote cat {PATH}").rc == 0
    assert hosts["app1"].run(f"sudo -u nobody cat {PATH}").rc != 0
