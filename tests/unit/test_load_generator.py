"""The load generator against a small HTTPS stand-in for the API on 127.0.0.1: the mix it sends,
its bounds, progress, stopping early, and failures counted without retries."""

import json
import re
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from voicenote_ops.load import generator
from voicenote_ops.load.generator import LoadPlan, Target
from voicenote_ops.load.report import summarize

pytestmark = pytest.mark.unit


class StandIn(BaseHTTPRequestHandler):
    """/health, POST /notes, GET /notes/ID, POST /notes/ID/transcribe, as the app answers them;
    with `broken` set, /health drops the connection without an answer."""

    protocol_version = "HTTP/1.1"
    broken = False
    notes = 0
    lock = threading.Lock()

    def log_message(self, *args) -> None:
        pass

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            if StandIn.broken:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.answer(200, {"status": "ok", "version": "1.0.0"})
        elif re.fullmatch(r"/notes/\d+", self.path):
            self.answer(200, {"id": int(self.path.rsplit("/", 1)[1])})
        else:
            self.answer(404, {"detail": "not found"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/notes":
            with StandIn.lock:
                StandIn.notes += 1
                self.answer(201, {"id": StandIn.notes})
        elif self.path.endswith("/transcribe?seconds=1"):
            time.sleep(0.2)
            self.answer(200, {"status": "transcribed"})
        else:
            self.answer(404, {"detail": "not found"})


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Target("127.0.0.1", server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def working(monkeypatch):
    monkeypatch.setattr(StandIn, "broken", False)


PLAN = LoadPlan(rate=100, requests=60, duration=5, long_requests=1, long_seconds=1, connections=3)


def test_the_mix_is_sent_within_the_count_and_every_answer_recorded(target):
    seen = []
    run = generator.run(target, PLAN, on_progress=seen.append, progress_every=0.1)
    kinds = {sample.kind for sample in run.samples}
    assert len(run.samples) == PLAN.requests
    assert kinds == {"health", "read", "write", "long"}
    assert all(200 <= sample.status < 300 for sample in run.samples)
    assert {s.version for s in run.samples if s.kind == "health"} == {"1.0.0"}
    assert all(s.lag >= 0 and s.latency >= 0 for s in run.samples)
    assert seen and all(p.failures == 0 for p in seen)
    assert [p.requests for p in seen] == sorted(p.requests for p in seen)
    summary = summarize(run)
    assert (summary["requests"], summary["non_2xx"], summary["socket_errors"]) == (60, 0, 0)
    assert summary["ok"] is True


def test_a_stopped_run_schedules_nothing(target):
    stop = threading.Event()
    stop.set()
    run = generator.run(target, PLAN, stop=stop)
    # At most the long lane's first note and one transcription left before it saw the end.
    assert [s.kind for s in run.samples if s.kind in ("health", "read")] == []
    assert len(run.samples) <= 2


def test_dropped_connections_are_counted_once_each_never_retried(target, monkeypatch):
    monkeypatch.setattr(StandIn, "broken", True)
    plan = LoadPlan(rate=100, requests=40, duration=5, long_requests=0, connections=2)
    run = generator.run(target, plan)
    dropped = [s for s in run.samples if s.kind == "health"]
    assert len(run.samples) == plan.requests
    assert dropped and all(s.status is None and s.error for s in dropped)
    others = [s for s in run.samples if s.kind != "health"]
    assert all(200 <= s.status < 300 for s in others)
    assert summarize(run)["socket_errors"] == len(dropped)
