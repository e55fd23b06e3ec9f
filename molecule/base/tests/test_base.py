"""base: users, directories, packages, log rotation, time zone and locale on every host."""

import pytest

pytestmark = pytest.mark.molecule

HOSTS = ["lb1", "app1", "db1"]


@pytest.mark.parametrize("name", HOSTS)
def test_service_user_has_no_login(hosts, name):
    user = hosts[name].user("voicenote")
    assert user.exists and user.group == "voicenote"
    assert user.shell == "/usr/sbin/nologin"


@pytest.mark.parametrize("name", HOSTS)
def test_deploy_user_becomes_root_through_a_valid_sudoers_rule(hosts, name):
    host = hosts[name]
    rule = host.file("/etc/sudoers.d/deploy")
    assert (rule.user, rule.group, rule.mode) == ("root", "root", 0o440)
    assert host.run("visudo -c").rc == 0
    assert host.run("sudo -n -u deploy sudo -n id -u").stdout.strip() == "0"


@pytest.mark.parametrize(
    ("path", "owner", "group", "mode"),
    [
        ("/opt/voicenote", "root", "root", 0o755),
        ("/opt/voicenote/releases", "root", "root", 0o755),
        ("/opt/voicenote/shared", "root", "voicenote", 0o750),
        ("/var/log/voicenote", "voicenote", "voicenote", 0o750),
    ],
)
def test_app_directories(hosts, path, owner, group, mode):
    for name in HOSTS:
        found = hosts[name].file(path)
        assert found.is_directory, f"{name}:{path}"
        assert (found.user, found.group, found.mode) == (owner, group, mode), f"{name}:{path}"


def test_packages_the_app_needs(hosts):
    for package in ("python3-venv", "python3-packaging", "logrotate", "tzdata", "openssh-client"):
        assert hosts["app1"].package(package).is_installed, package


def test_time_zone_is_utc_and_locale_is_c_utf8(hosts):
    host = hosts["app1"]
    assert host.file("/etc/localtime").linked_to == "/usr/share/zoneinfo/Etc/UTC"
    assert host.run("date +%Z").stdout.strip() == "UTC"
    assert "LANG=C.UTF-8" in host.file("/etc/default/locale").content_string


def test_log_rotation_rule_is_valid_and_rotates(hosts):
    host = hosts["app1"]
    host.run("sudo -u voicenote sh -c 'echo line >> /var/log/voicenote/blue.log'")
    result = host.run("logrotate --force /etc/logrotate.d/voicenote")
    assert result.rc == 0, result.stderr
    assert host.file("/var/log/voicenote/blue.log.1").exists
    assert host.file("/var/log/voicenote/blue.log").size == 0


def test_authorized_keys_are_added_beside_existing_ones(hosts):
    keys = hosts["app1"].file("/home/deploy/.ssh/authorized_keys")
    assert "molecule@test" in keys.content_string
    assert len(keys.content_string.splitlines()) >= 2
    assert (keys.user, keys.mode) == ("deploy", 0o600)
