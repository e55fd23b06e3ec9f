"""`voicenote-ops build --image` for real: the image made from the bundle on a base made here,
the same digest from a second build, labels naming its inputs, and the app serving `/health`
from it as a user that cannot change its code."""

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.app_services import free_port
from tests.conftest import PROJECT
from voicenote_ops.bundle.archive import sha256_file
from voicenote_ops.bundle.signature import LAB_SIGNING_KEY
from voicenote_ops.image.build import build_image
from voicenote_ops.lab import podman

pytestmark = pytest.mark.integration


def _podman(*argv: str, check: bool = True) -> str:
    return podman.run(["podman", *argv], check=check)[1]


def _health(port: int, deadline: float) -> dict:
    """/health once the app answers, polled until the deadline."""
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                return json.loads(answer.read())
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"the image's app did not answer /health on {port}") from None
            time.sleep(0.2)


def test_an_image_built_twice_is_the_same_and_serves_as_a_user(cli, tmp_path: Path) -> None:
    # As the deploy workflow builds an image environment's release (signed, with its image).
    key = str(PROJECT / LAB_SIGNING_KEY)
    built = cli("build", "--version", "1.0.0", "--signing-key", key, "--image",
                "--out", str(tmp_path / "a"), "--json", timeout=900)  # fmt: skip
    assert built.returncode == 0, built.stderr
    result = json.loads(built.stdout)
    assert result["image"] == "localhost/voicenote-api:1.0.0"
    assert result["image_size_bytes"] == Path(result["image_archive"]).stat().st_size
    assert 0 < result["size_bytes"] < result["image_size_bytes"]

    again = build_image(Path(result["bundle"]), tmp_path / "b")
    assert again.archive.digest == result["image_digest"]
    assert again.archive.path.read_bytes() == Path(result["image_archive"]).read_bytes()

    inspected = json.loads(_podman("image", "inspect", result["image"]))[0]
    assert inspected["Id"] == result["image_id"][7:]
    assert inspected["Digest"] == result["image_digest"]
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == "1.0.0"
    assert labels["org.opencontainers.image.revision"] == result["source_commit"]
    lock = Path("examples/voicenote-api/requirements.lock").resolve()
    assert labels["io.voicenote-ops.lock-sha256"] == sha256_file(lock)
    assert labels["io.voicenote-ops.alembic-heads"] == "0001"

    port, name = free_port(), f"voicenote-image-test-{time.monotonic_ns()}"
    _podman("run", "--detach", "--name", name, "--publish", f"127.0.0.1:{port}:8000",
            "--env", "DATABASE_URL=postgresql://app:unused@127.0.0.1:1/app",
            "--env", "REDIS_URL=redis://127.0.0.1:1/0", result["image"])  # fmt: skip
    try:
        health = _health(port, time.monotonic() + 60)
        assert (health["status"], health["version"]) == ("ok", "1.0.0")
        assert _podman("exec", name, "id", "-u").strip() == "10001"
        code, _ = podman.run(
            ["podman", "exec", name, "touch", "/opt/voicenote-api/venv/bin/voicenote-api"],
            check=False,
        )
        assert code != 0, "the app's user can change its own code"
    finally:
        _podman("rm", "--force", "--time", "0", name, check=False)
