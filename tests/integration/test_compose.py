"""`make compose-up` / `make compose-down`, the seed's local path: the app's image with
PostgreSQL and Redis in containers on this machine, answering /health and /ready, keeping a
note in PostgreSQL and counting it in Redis; down removes it all."""

import json

import pytest

from tests.app_services import free_port, http_json
from tests.conftest import lab_name, run_cli, run_make
from voicenote_ops.lab import podman
from voicenote_ops.services.compose import env_path

pytestmark = pytest.mark.integration

PROJECT = lab_name("compose")


def _call(port: int, method: str, path: str, body: dict | None = None) -> object:
    status, answer = http_json(method, f"http://127.0.0.1:{port}{path}", body)
    assert status < 300, f"{method} {path}: {status} {answer}"
    return answer


def _containers() -> list[dict]:
    label = f"label=io.podman.compose.project={PROJECT}"
    _, names = podman.run(["podman", "ps", "-a", "--filter", label, "--format", "{{.Names}}"])
    if not names.split():
        return []
    return json.loads(podman.run(["podman", "inspect", *names.split()])[1])


@pytest.fixture
def stack():
    run_cli("compose", "down", "--project", PROJECT, "--volumes")  # a killed run's leftovers
    port = free_port()
    up = run_make("compose-up", "VERSION=1.0.0", f"COMPOSE_PORT={port}",
                  f"COMPOSE_PROJECT={PROJECT}")  # fmt: skip
    try:
        assert up.returncode == 0, (up.stdout + up.stderr)[-3000:]
        yield port
    finally:
        run_cli("compose", "down", "--project", PROJECT, "--volumes")


def test_the_compose_stack_serves_the_app_with_its_database_and_redis(stack) -> None:
    health = _call(stack, "GET", "/health")
    assert (health["status"], health["version"], health["environment"]) == ("ok", "1.0.0",
                                                                            "compose")  # fmt: skip
    assert _call(stack, "GET", "/ready") == {"ready": True}
    note = _call(stack, "POST", "/notes", {"title": "compose", "duration_seconds": 2})
    listed = _call(stack, "GET", "/notes")
    assert [found["id"] for found in listed["notes"]] == [note["id"]]
    assert listed["notes_created"] == 1

    secrets = env_path(PROJECT)
    assert secrets.stat().st_mode & 0o777 == 0o600
    passwords = [line.split("=", 1)[1] for line in secrets.read_text().splitlines()
                 if "_PASSWORD=" in line]  # fmt: skip
    assert len(passwords) == 2
    containers = _containers()
    assert sorted(c["Config"]["Labels"]["com.docker.compose.service"] for c in containers) == [
        "api", "db", "redis"]  # fmt: skip
    for container in containers:
        argv = " ".join([container["Path"], *container["Args"]])
        assert not [p for p in passwords if p in argv], "a password is on a command line"

    down = run_make("compose-down", f"COMPOSE_PROJECT={PROJECT}", "VOLUMES=1")
    assert down.returncode == 0, (down.stdout + down.stderr)[-3000:]
    assert _containers() == []
    _, volumes = podman.run(["podman", "volume", "ls", "--format", "{{.Name}}"])
    assert f"{PROJECT}_db" not in volumes.split()
    assert not secrets.exists()
