"""The health check's module (roles/healthcheck/library/voicenote_health.py) against a real HTTP
server on this machine's loopback: /ready polled until 200, then /health until ok and the
expected version, with a bounded number of attempts, and its one-line verdict."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import role_plugin

pytestmark = pytest.mark.unit

health = role_plugin("healthcheck", "library", "voicenote_health")


class App:
    """Answers /ready and /health from scripted replies, one per request (the last one repeats)."""

    def __init__(self, ready, healthy):
        self.replies = {"/ready": list(ready), "/health": list(healthy)}
        self.asked: list[tuple[str, str]] = []

    def answer(self, path):
        replies = self.replies[path]
        return replies.pop(0) if len(replies) > 1 else replies[0]


@pytest.fixture
def serve():
    servers = []

    def start(app: App) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                app.asked.append((self.path, self.headers.get("Host", "")))
                status, body = app.answer(self.path)
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def params(url, **changes):
    return {
        "url": url,
        "expect_version": "1.1.0",
        "host_header": "",
        "retries": 3,
        "delay": 0,
        "timeout": 2,
        "validate_certs": True,
        "fail": True,
        **changes,
    }


OK = (200, {"status": "ok", "version": "1.1.0", "color": "green"})
READY = (200, {"status": "ready"})


def test_a_ready_app_on_the_expected_version_passes_in_one_request_each(serve):
    app = App([READY], [OK])
    result = health.check(params(serve(app)))
    assert result["ok"] is True
    assert (result["ready"], result["status"], result["version"], result["color"]) == (
        200,
        "ok",
        "1.1.0",
        "green",
    )
    assert [path for path, _ in app.asked] == ["/ready", "/health"]


def test_ready_is_asked_again_until_it_passes_then_health(serve):
    waiting = (503, {"status": "not ready", "database": "down"})
    app = App([waiting, waiting, READY], [OK])
    slept = []
    result = health.check(params(serve(app)), sleep=slept.append)
    assert result["ok"] is True
    assert [path for path, _ in app.asked] == ["/ready"] * 3 + ["/health"]
    assert len(slept) == 2


def test_never_ready_gives_up_after_the_attempts_and_never_asks_health(serve):
    app = App([(503, {"database": "down"})], [OK])
    result = health.check(params(serve(app), retries=2), sleep=lambda _: None)
    assert result["ok"] is False
    assert [path for path, _ in app.asked] == ["/ready"] * 3
    assert result["message"] == (
        f'{result["url"]}: /ready answered 503 {{"database": "down"}}, /health reports'
        " (not asked), version (not asked), expected 1.1.0 after 2 attempts."
    )


def test_the_wrong_version_is_asked_again_then_refused_with_both_versions(serve):
    app = App([READY], [(200, {"status": "ok", "version": "1.0.0", "color": "blue"})])
    result = health.check(params(serve(app), retries=1), sleep=lambda _: None)
    assert result["ok"] is False
    assert [path for path, _ in app.asked] == ["/ready", "/health", "/health"]
    assert result["version"] == "1.0.0"
    assert "version 1.0.0, expected 1.1.0" in result["message"]


def test_any_version_passes_when_none_is_expected(serve):
    app = App([READY], [(200, {"status": "ok", "version": "0.9.0"})])
    assert health.check(params(serve(app), expect_version=""))["ok"] is True


def test_a_health_that_is_not_ok_or_not_json_does_not_pass(serve):
    for reply in [
        (200, {"status": "degraded", "version": "1.1.0"}),
        (200, "<html>ok</html>"),
        (500, {"status": "ok", "version": "1.1.0"}),
    ]:
        app = App([READY], [reply])
        assert health.check(params(serve(app), retries=0))["ok"] is False, reply


def test_the_host_header_is_sent_when_given(serve):
    app = App([READY], [OK])
    health.check(params(serve(app), host_header="voicenote.example"))
    assert {host for _, host in app.asked} == {"voicenote.example"}


def test_nothing_listening_is_status_minus_one():
    result = health.check(params("http://127.0.0.1:9", retries=1, timeout=1), sleep=lambda _: None)
    assert result["ok"] is False and result["ready"] == -1
    assert result["message"].startswith("http://127.0.0.1:9: /ready answered -1 {}")
