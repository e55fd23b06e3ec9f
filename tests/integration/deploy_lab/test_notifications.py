"""Deploy notifications, sent from the playbooks to a Slack-compatible webhook: a local receiver
gets the start and the outcome; a dead receiver never fails the deploy."""

import socket

import pytest

from tests.integration.deploy_lab.deploys import ansible_playbook, deploy
from tests.integration.labs import webhook_receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver():
    with webhook_receiver() as (url, received):
        yield url, received


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
