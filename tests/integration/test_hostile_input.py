"""Hostile and mistaken deploy input against the real deploy lab: each refused with exit 2 and
one sentence, and nothing on any host changed (podman diff of /etc and /opt, sha256 of every file
under /etc and /opt/voicenote, the schema head), compared before and after."""

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.integration.deploys import DEPLOY_LAB, deploy
from tests.integration.labs import host_state
from tests.unit.test_cli_errors import assert_refused
from voicenote_ops.errors import ExitCode

pytestmark = [pytest.mark.integration, pytest.mark.security]

HOSTS = ("lb1", "app1", "app2", "db1")


def rewrite_bundle(source: Path, target: Path, change) -> Path:
    """A copy of a bundle with one member changed by `change(name, data) -> data`."""
    with tarfile.open(source) as original, tarfile.open(target, "w:gz") as copy:
        for member in original:
            data = original.extractfile(member).read() if member.isfile() else None
            if data is not None:
                data = change(member.name, data)
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


@pytest.fixture(scope="module")
def lab(deploy_lab):
    bundle = deploy_lab("1.1.0")
    result = deploy(bundle, "1.1.0")
    assert result.returncode == 0, result.stderr
    before = host_state(DEPLOY_LAB, HOSTS)
    yield bundle
    assert host_state(DEPLOY_LAB, HOSTS) == before, "a refused deploy changed a host"


def test_hostile_versions_are_refused(lab):
    for version in ("1.0.0;id", "$(id)", "../../etc/passwd", "", "9" * 5000):
        assert_refused(deploy(lab, version), ExitCode.INVALID, "X.Y.Z")


def test_artifacts_that_are_not_bundles_are_refused(lab, tmp_path):
    for artifact in (tmp_path / "missing.tar.gz", tmp_path, Path("/dev/null")):
        assert_refused(deploy(artifact, "1.1.0"), ExitCode.INVALID, "Bundle")


def test_a_bundle_whose_files_do_not_match_its_manifest_is_refused(lab, tmp_path):
    def tamper(name: str, data: bytes) -> bytes:
        return data + b"\n# tampered\n" if name.endswith("env.py") else data

    tampered = rewrite_bundle(lab, tmp_path / lab.name, tamper)
    assert_refused(deploy(tampered, "1.1.0"), ExitCode.INVALID, "sha256")


def test_a_bundle_built_for_another_python_is_refused_before_any_host(lab, tmp_path):
    def other_python(name: str, data: bytes) -> bytes:
        if not name.endswith("manifest.json"):
            return data
        manifest = json.loads(data)
        manifest["python_tag"] = "cp312"
        return json.dumps(manifest).encode()

    foreign = rewrite_bundle(lab, tmp_path / lab.name, other_python)
    assert_refused(deploy(foreign, "1.1.0"), ExitCode.INVALID, "cp312", "No host was contacted")


def test_a_wrong_vault_password_is_refused(lab, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not the lab's\n")
    result = deploy(lab, "1.1.0", env={"VOICENOTE_VAULT_PASSWORD_FILE": str(wrong)})
    assert_refused(result, ExitCode.INVALID, "does not open")


def test_prod_asks_for_confirmation_and_without_a_terminal_refuses(lab, tmp_path):
    password = tmp_path / "password"
    password.write_text("x\n")
    result = run_cli(
        "deploy", "prod", "--version", "1.1.0", "--artifact", str(lab),
        env={"VOICENOTE_VAULT_PASSWORD_FILE": str(password)},
    )  # fmt: skip
    assert_refused(result, ExitCode.INVALID, "needs confirmation", "--yes")
