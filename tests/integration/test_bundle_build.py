"""A real bundle build is reproducible: same version, fresh dirs, no pip cache, new mtimes, and
signed or not (the signature is a file of its own)."""

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from voicenote_ops.bundle import build_bundle, verify_bundle
from voicenote_ops.bundle.signature import LAB_SIGNING_KEY, signature_path, signing_key

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
APP_DIR = PROJECT / "examples" / "voicenote-api"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_builds_of_one_version_are_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    source = tmp_path / "voicenote-api"
    shutil.copytree(APP_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    first = build_bundle(source, "1.0.0", tmp_path / "first", commit="test")

    for path in source.rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
    (source / "src" / "voicenote_api" / "models.py").chmod(0o600)
    key = signing_key(PROJECT / LAB_SIGNING_KEY)
    second = build_bundle(source, "1.0.0", tmp_path / "second", commit="test", signing_key=key)

    assert first.name == second.name == "voicenote-api-1.0.0.tar.gz"
    assert _sha256(first) == _sha256(second)
    assert not signature_path(first).exists() and signature_path(second).is_file()
    manifest = verify_bundle(second)
    assert manifest.wheel == "wheelhouse/voicenote_api-1.0.0-py3-none-any.whl"
    assert manifest.source_commit == "test"
    assert manifest.alembic_heads == ("0001",)
    locked = {
        line.split("==")[0]
        for line in (APP_DIR / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith(" ")
    }
    wheels = {
        path.split("/")[1].split("-")[0].replace("_", "-")
        for path in manifest.files
        if path.startswith("wheelhouse/")
    }
    assert wheels == locked | {"voicenote-api"}


def test_a_release_candidate_wheel_carries_the_pep440_version(tmp_path: Path) -> None:
    bundle = build_bundle(APP_DIR, "1.0.0-rc.2", tmp_path)
    manifest = verify_bundle(bundle)
    assert bundle.name == "voicenote-api-1.0.0-rc.2.tar.gz"
    assert manifest.package_version == "1.0.0rc2"
    assert manifest.wheel == "wheelhouse/voicenote_api-1.0.0rc2-py3-none-any.whl"
