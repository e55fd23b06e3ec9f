"""redis: reachable from the app hosts with the password; without it every command is refused."""

import shlex

import pytest

pytestmark = pytest.mark.molecule


def redis_cli(host, db_address, *args, password=None):
    """redis-cli from a host; the password goes in REDISCLI_AUTH, not argv."""
    auth = f"REDISCLI_AUTH={shlex.quote(password)} " if password else ""
    words = " ".join(shlex.quote(a) for a in args)
    return host.run(f"{auth}timeout 5 redis-cli --no-auth-warning -h {db_address} {words}")


def test_app_host_pings_with_the_password(hosts, address, secrets):
    password = secrets["vault_redis_password"]
    result = redis_cli(hosts["app1"], address("db1"), "PING", password=password)
    assert result.stdout.strip() == "PONG"


def test_without_the_password_commands_are_refused(hosts, address):
    result = redis_cli(hosts["app1"], address("db1"), "PING")
    assert "NOAUTH" in result.stdout + result.stderr


def test_wrong_password_is_refused(hosts, address):
    result = redis_cli(hosts["app1"], address("db1"), "PING", password="not-the-password")
    assert "PONG" not in result.stdout


def test_protected_mode_is_on(hosts, secrets):
    result = redis_cli(
        hosts["db1"], "127.0.0.1", "CONFIG", "GET", "protected-mode",
        password=secrets["vault_redis_password"],
    )  # fmt: skip
    assert result.stdout.split() == ["protected-mode", "yes"]


def test_listens_on_private_address_and_loopback_only(listening_on, address):
    listening = listening_on("db1", 6379)
    assert {f"{address('db1')}:6379", "127.0.0.1:6379"} <= listening
    assert not listening & {"0.0.0.0:6379", "*:6379", "[::]:6379"}


def test_config_file_is_root_redis_0640(hosts):
    config = hosts["db1"].file("/etc/redis/redis.conf")
    assert (config.user, config.group, config.mode) == ("root", "redis", 0o640)
