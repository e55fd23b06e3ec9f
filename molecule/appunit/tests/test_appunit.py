"""appunit: the template unit runs a release's console script per color, as the service user,
with the env files, inside its sandbox. A stand-in app (a few lines of Python) plays the API."""

import json
import shlex

import pytest

pytestmark = pytest.mark.molecule

RELEASE = "/opt/voicenote/releases/0.0.0-molecule"
# Reports what the unit gave it: its environment, its user, and where it may write.
STAND_IN = """#!/usr/bin/python3
import http.server, json, os

def writable(path):
    try:
        with open(os.path.join(path, ".probe"), "w"):
            return True
    except OSError:
        return False

class Report(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({
            "uid": os.getuid(),
            "color": os.environ.get("DEPLOYMENT_COLOR"),
            "port": os.environ.get("PORT"),
            "settings_file_has_database_url": "DATABASE_URL=" in open(
                os.environ["VOICENOTE_ENV_FILE"]).read(),
            "database_url_in_environment": "DATABASE_URL" in os.environ,
            "writable": {p: writable(p) for p in ("/opt/voicenote", "/etc", "/tmp", "/root")},
        }).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

print("stand-in app starting", flush=True)
http.server.HTTPServer((os.environ["BIND"], int(os.environ["PORT"])), Report).serve_forever()
"""


@pytest.fixture(scope="module")
def running_blue(hosts):
    app = hosts["app1"]
    script = f"{RELEASE}/venv/bin/voicenote-api"
    app.run(f"mkdir -p {RELEASE}/venv/bin && printf %s {shlex.quote(STAND_IN)} > {script}")
    app.run(f"chmod 0755 {script} && ln -sfn {RELEASE} /opt/voicenote/colors/blue")
    started = app.run("systemctl start voicenote@blue.service")
    assert started.rc == 0, started.stderr
    app.run("for i in $(seq 50); do curl -sf 127.0.0.1:8001 >/dev/null && break; sleep 0.1; done")
    yield app
    app.run("systemctl stop voicenote@blue.service")


def test_unit_file_and_color_files(hosts):
    app = hosts["app1"]
    unit = app.file("/etc/systemd/system/voicenote@.service")
    assert (unit.user, unit.group, unit.mode) == ("root", "root", 0o644)
    for color, port in (("blue", 8001), ("green", 8002)):
        env = app.file(f"/opt/voicenote/shared/color-{color}.env")
        assert (env.user, env.group, env.mode) == ("root", "voicenote", 0o640)
        assert f"PORT={port}" in env.content_string


def test_unit_settings(hosts):
    show = (
        hosts["app1"]
        .run(
            "systemctl show voicenote@green.service -p User -p NoNewPrivileges -p ProtectSystem "
            "-p ProtectHome -p PrivateTmp -p KillSignal -p TimeoutStopUSec -p Restart"
        )
        .stdout.split()
    )
    assert set(show) >= {
        "User=voicenote", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
        "PrivateTmp=yes", "KillSignal=15", "TimeoutStopUSec=45s", "Restart=on-failure",
    }  # fmt: skip


def test_color_runs_as_the_service_user_with_its_settings(running_blue):
    report = running_blue.run("curl -sf http://127.0.0.1:8001/")
    assert report.rc == 0, running_blue.run("journalctl -u voicenote@blue -n 20").stdout
    data = json.loads(report.stdout)
    assert data["uid"] == running_blue.user("voicenote").uid
    assert (data["color"], data["port"]) == ("blue", "8001")
    # The secrets arrive as a file the service reads itself, never in its environment.
    assert data["settings_file_has_database_url"] and not data["database_url_in_environment"]


def test_sandbox_allows_writes_only_to_its_private_tmp(running_blue):
    data = json.loads(running_blue.run("curl -sf http://127.0.0.1:8001/").stdout)
    assert data["writable"] == {
        "/opt/voicenote": False,
        "/etc": False,
        "/tmp": True,
        "/root": False,
    }


def test_output_goes_to_the_color_log(running_blue):
    log = running_blue.file("/var/log/voicenote/blue.log")
    assert "stand-in app starting" in log.content_string
