"""Deploy notifications, sent from the playbooks to a Slack-compatible webhook: a local receiver
gets the start and the outcome; a dead receiver never fails the deploy."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from tests.integration.deploys import ansible_playbook, deploy

pytestmark = pytest.mark.integration


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", Receiver.received
    server.shutdown()


@pytest.fixture(scope="module")
def bundle(deploy_lab):
    built = deploy_lab("1.1.0")
    assert deploy(built, "1.1.0").returncode == 0
    return built


def deploy_with_webhook(bundle, url: str):
    return ansible_playbook(
        "deploy.yml", "-e", "voicenote_version=1.1.0", "-e", f"voicenote_artifact={bundle}",
        "-e", f"notify_webhook_url={url}",
    )  # fmt: skip


def test_a_receiver_gets_the_start_and_the_outcome(bundle, receiver):
    url, received = receiver
    done = deploy_with_webhook(bundle, url)
    assert done.returncode == 0, done.stdout[-2000:]
    texts = [message["text"] for message in received]
    assert len(texts) == 2, texts
    assert "deploy of 1.1.0" in texts[0] and "started by" in texts[0]
    assert "deploy of 1.1.0" in texts[1] and "succeeded in" in texts[1]


def test_a_dead_receiver_never_fails_the_deploy(bundle):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    done = deploy_with_webhook(bundle, f"http://127.0.0.1:{dead_port}/hook")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "did not take the message" in done.stdout
