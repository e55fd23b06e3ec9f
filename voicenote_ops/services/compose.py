"""`compose up|down`: the example app's compose stack (examples/voicenote-api/compose.yaml) on
this machine, the seed's local path, with podman-compose (or docker compose where present)."""

import json
import os
import secrets
import shutil
import string
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from voicenote_ops.bundle import build_bundle
from voicenote_ops.bundle.version import check_release_version
from voicenote_ops.errors import InvalidInput, NeedsAttention
from voicenote_ops.image.build import build_image
from voicenote_ops.image.services import ensure_services_image
from voicenote_ops.lab import podman, prereqs
from voicenote_ops.lab.image import image_exists
from voicenote_ops.names import check_name
from voicenote_ops.paths import EXAMPLE_APP, project_dir, state_dir

COMPOSE_FILE = EXAMPLE_APP / "compose.yaml"
APP_REPOSITORY = "localhost/voicenote-api"
READY_SECONDS = 120
_ALPHABET = string.ascii_letters + string.digits


def compose_program() -> list[str]:
    """podman-compose, else docker compose."""
    if shutil.which("podman-compose"):
        return ["podman-compose"]
    if shutil.which("docker"):
        return ["docker", "compose"]
    raise InvalidInput(
        "The compose stack needs podman-compose (or docker compose), which this machine "
        "does not have.",
        "Install it with: apt-get install podman-compose",
    )


def env_path(project: str) -> Path:
    return state_dir() / "compose" / f"{project}.env"


def env_file(project: str) -> Path:
    """The stack's generated passwords and URLs: made once per project, 0600, outside the
    checkout, so they never reach a command line, a log or git."""
    path = env_path(project)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        database, redis = ("".join(secrets.choice(_ALPHABET) for _ in range(32)) for _ in "12")
        lines = [
            f"POSTGRES_PASSWORD={database}",
            f"REDIS_PASSWORD={redis}",
            f"DATABASE_URL=postgresql://app:{database}@db:5432/app",
            f"REDIS_URL=redis://default:{redis}@redis:6379/0",
        ]
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write("\n".join(lines) + "\n")
    return path


def _run(project: str, words: list[str], variables: dict[str, str]) -> None:
    argv = [*compose_program(), "-f", str(project_dir() / COMPOSE_FILE), "-p", project, *words]
    done = subprocess.run(
        argv, capture_output=True, text=True, env={**podman.podman_env(), **variables}, check=False
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise NeedsAttention(
            f"`{' '.join(argv[:1] + words)}` failed: {detail[-1] if detail else 'no output'}.",
            f"See `podman ps -a --filter label=io.podman.compose.project={project}` and its logs.",
        )


def _variables(project: str, version: str, port: int, services_image: str = "") -> dict:
    return {
        "VOICENOTE_API_IMAGE": f"{APP_REPOSITORY}:{version}",
        "VOICENOTE_SERVICES_IMAGE": services_image,
        "VOICENOTE_COMPOSE_PORT": str(port),
        "VOICENOTE_COMPOSE_ENV_FILE": str(env_file(project)),
    }


def _wait_ready(port: int, deadline: float) -> dict:
    """/health once /ready answers 200, polled until the deadline."""
    base = f"http://127.0.0.1:{port}"
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            # Loopback URLs only: the stack's port published on 127.0.0.1.
            with (
                urllib.request.urlopen(f"{base}/ready", timeout=2),  # noqa: S310 # nosec B310
                urllib.request.urlopen(f"{base}/health", timeout=2) as health,  # noqa: S310 # nosec B310
            ):
                return json.loads(health.read())
        except urllib.error.HTTPError as error:
            last = f"/ready answered {error.code}: {error.read().decode(errors='replace')[:200]}"
        except OSError as error:
            last = f"no answer ({error})"
        time.sleep(0.5)
    raise NeedsAttention(
        f"The compose stack did not become ready on 127.0.0.1:{port} in {READY_SECONDS} s: {last}.",
        "See its logs: podman logs on the project's api, db and redis containers.",
    )


def up(project: str, version: str, port: int, progress: Callable[[str], None]) -> dict:
    """Bring the stack up (again: no change) and return the API's /health once it is ready."""
    check_name("compose project", project)
    check_release_version(version)
    prereqs.require_tools(
        "The compose stack", ("podman",), root_because="Its containers run under root's podman"
    )
    compose_program()
    image = f"{APP_REPOSITORY}:{version}"
    if not image_exists(image):
        progress(f"podman has no {image}: building it from the example app (build --image)")
        source = project_dir() / EXAMPLE_APP
        build_image(build_bundle(source, version, project_dir() / "dist", progress=progress),
                    project_dir() / "dist", progress=progress)  # fmt: skip
    services_image = ensure_services_image(progress)
    progress(f"compose up {project}: {image} on 127.0.0.1:{port}")
    _run(project, ["up", "-d"], _variables(project, version, port, services_image))
    return _wait_ready(port, time.monotonic() + READY_SECONDS)


def down(project: str, *, volumes: bool) -> None:
    """Remove the stack's containers (and with volumes, its database and env file)."""
    check_name("compose project", project)
    prereqs.require_tools(
        "The compose stack", ("podman",), root_because="Its containers run under root's podman"
    )
    _run(project, ["down", *(["--volumes"] if volumes else [])], _variables(project, "none", 0))
    if volumes:
        env_path(project).unlink(missing_ok=True)
