"""The compose stack's refusals and its env file, without podman."""

import os
from pathlib import Path

import pytest

from voicenote_ops.errors import InvalidInput
from voicenote_ops.services import compose

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOICENOTE_OPS_STATE", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    return tmp_path


def test_the_env_file_is_made_once_private_with_passwords_of_its_own() -> None:
    first = compose.env_file("one")
    content = first.read_text()
    assert first.stat().st_mode & 0o777 == 0o600
    assert compose.env_file("one").read_text() == content
    assert compose.env_file("two").read_text() != content
    variables = dict(line.split("=", 1) for line in content.splitlines())
    assert (
        variables["DATABASE_URL"]
        == f"postgresql://app:{variables['POSTGRES_PASSWORD']}@db:5432/app"
    )
    assert variables["REDIS_URL"].startswith(f"redis://default:{variables['REDIS_PASSWORD']}@")
    assert len(variables["POSTGRES_PASSWORD"]) == 32


@pytest.mark.parametrize(
    ("project", "version", "message"),
    [("Bad Name", "1.0.0", "is not valid"), ("ok", "1.0", "is not of the form X.Y.Z")],
)
def test_bad_input_is_refused_before_any_container(monkeypatch, project, version, message):
    monkeypatch.setattr(compose.podman, "run", lambda *_a, **_k: pytest.fail("podman ran"))
    monkeypatch.setattr(compose.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    with pytest.raises(InvalidInput, match=message):
        compose.up(project, version, 8000, lambda _message: None)


def test_without_a_compose_program_the_fix_is_named(monkeypatch) -> None:
    monkeypatch.setattr(
        compose.shutil, "which", lambda tool: "/usr/bin/podman" if tool == "podman" else None
    )
    with pytest.raises(InvalidInput, match="needs podman-compose") as refused:
        compose.up("ok", "1.0.0", 8000, lambda _message: None)
    assert "apt-get install podman-compose" in refused.value.fix
