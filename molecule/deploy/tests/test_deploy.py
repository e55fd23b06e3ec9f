"""The deploy roles on real hosts after 1.0.0 then 1.1.0: what each role leaves behind."""

import json

import pytest

pytestmark = pytest.mark.molecule


@pytest.fixture
def app(hosts):
    return hosts["app1"]


@pytest.fixture
def db(hosts):
    return hosts["db1"]


def test_release_installed_offline_readable_by_the_service_group_only(app):
    for version in ("1.0.0", "1.1.0"):
        release = app.file(f"/opt/voicenote/releases/{version}")
        assert (release.user, release.group, release.mode) == ("root", "voicenote", 0o750)
        assert app.file(f"/opt/voicenote/releases/{version}/.installed").exists
        installed = app.check_output(
            f"/opt/voicenote/releases/{version}/venv/bin/python -c "
            "'import importlib.metadata as m; print(m.version(\"voicenote-api\"))'"
        )
        assert installed == version
        # No pip in the release: Debian's pip wheel installed it (roles/release/tasks/venv.yml).
        assert not app.file(f"/opt/voicenote/releases/{version}/venv/bin/pip").exists
        # pip ran as the app's user; the venv is root's again: the app cannot change its code.
        loose = app.check_output(
            f"find /opt/voicenote/releases/{version} ! -type l "
            r"\( ! -user root -o -perm /7022 \) -print"
        )
        assert loose == ""


def test_bluegreen_serves_1_1_0_and_keeps_1_0_0_idle(app):
    upstream = app.file("/etc/nginx/voicenote/live-upstream.conf").content_string
    live = "green" if "default green;" in upstream else "blue"
    idle = {"blue": "green", "green": "blue"}[live]
    assert app.file(f"/opt/voicenote/colors/{live}").linked_to == "/opt/voicenote/releases/1.1.0"
    assert app.file(f"/opt/voicenote/colors/{idle}").linked_to == "/opt/voicenote/releases/1.0.0"
    for color in (live, idle):
        unit = app.service(f"voicenote@{color}")
        assert unit.is_running and unit.is_enabled


def test_healthcheck_answers_through_the_app_site(app, address):
    health = json.loads(app.check_output(f"curl -sf http://{address('app1')}:8080/health"))
    assert (health["status"], health["version"]) == ("ok", "1.1.0")


def test_the_app_site_logs_what_the_watch_reads(app, address):
    app.check_output(f"curl -sf http://{address('app1')}:8080/notes?language=de")
    lines = app.file("/var/log/nginx/voicenote-app/access.log").content_string.splitlines()
    msec, status, upstream, seconds, color, version, request = lines[-1].split("|")
    assert float(msec) > 0 and status == "200" and float(seconds) >= 0
    assert (upstream, color) in (("127.0.0.1:8001", "blue"), ("127.0.0.1:8002", "green"))
    assert version == "1.1.0", "the live color's version, as the switch named it"
    assert request == "GET /notes", "the query string stays out of the log"


def test_migrate_ran_once_per_release_with_a_backup(db):
    records = [json.loads(line) for line in db.file("/var/lib/voicenote/migrations.jsonl")
               .content_string.splitlines()]  # fmt: skip
    assert [(r["release"], r["from"], r["to"]) for r in records] == [
        ("1.0.0", [], ["0001"]),
        ("1.1.0", ["0001"], ["0002"]),
    ]
    for record in records:
        assert db.file(record["backup"]).exists


def test_lock_is_released_and_every_run_audited(db):
    assert not db.file("/var/lib/voicenote/deploy.lock").exists
    audit = [json.loads(line) for line in db.file("/var/lib/voicenote/audit.jsonl")
             .content_string.splitlines()]  # fmt: skip
    # Provisioning holds the same lock and is audited like the deploys.
    assert {(r["operation"], r["to"], r["result"]) for r in audit} == {
        ("provision", "", "succeeded"),
        ("deploy", "1.0.0", "succeeded"),
        ("deploy", "1.1.0", "succeeded"),
    }
