"""`voicenote-ops push` for real: an image archive into a lab's registry (reg1, provisioned by
`provision`), named there by the archive's own digest, with no secret left behind; a registry
that does not answer fails the push and says so."""

import hashlib
import json
import ssl
import urllib.request
from base64 import b64encode

import pytest

from tests.conftest import lab_name, run_cli
from tests.integration.labs import lab_up, on_host
from tests.integration.secret_scan import canaries, files_holding, lab_vault
from voicenote_ops.errors import ExitCode
from voicenote_ops.image.archive import read_archive

pytestmark = pytest.mark.integration

LAB = lab_name("push")
CERTIFICATE = "/etc/docker/registry/tls/registry.crt"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def registry_lab():
    with lab_up(LAB, "--topology", "single", "--registry", "--image", "packages") as status:
        provisioned = run_cli("provision", LAB, "--yes", timeout=900)
        assert provisioned.returncode == 0, provisioned.stderr[-3000:]
        yield status


def _pulled_by_digest(status: dict, digest: str) -> bytes:
    """The manifest the registry serves for the digest, through its published port."""
    (registry,) = [host for host in status["hosts"] if host["name"] == "reg1"]
    context = ssl.create_default_context(cadata=on_host(LAB, "reg1", "cat", CERTIFICATE))
    account = f"voicenote:{lab_vault()['vault_registry_password']}".encode()
    request = urllib.request.Request(
        f"https://localhost:{registry['registry_port']}/v2/voicenote-api/manifests/{digest}",
        headers={"Accept": MANIFEST, "Authorization": f"Basic {b64encode(account).decode()}"},
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:  # noqa: S310
        return answer.read()


def test_an_image_is_pushed_and_named_by_its_own_digest(registry_lab, cli, image_archive, tmp_path):
    archive = image_archive("1.0.0")
    run_tmp = tmp_path / "tmp"
    run_tmp.mkdir()
    pushed = cli("push", LAB, str(archive), "--json", env={"TMPDIR": str(run_tmp)})
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    result = json.loads(pushed.stdout)
    digest = read_archive(archive).digest
    assert result["digest"] == digest
    assert result["pull"] == f"reg1:5000/voicenote-api@{digest}"
    served = _pulled_by_digest(registry_lab, digest)
    assert "sha256:" + hashlib.sha256(served).hexdigest() == digest

    again = cli("push", LAB, str(archive), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["digest"] == digest

    secrets = canaries()
    assert not [s for s in secrets if s in (pushed.stdout + pushed.stderr).encode()]
    assert not files_holding(secrets, run_tmp)
    assert not list(run_tmp.glob("voicenote-push-*")), "the private folder was left behind"


def test_a_registry_that_does_not_answer_fails_the_push(registry_lab, cli, image_archive):
    on_host(LAB, "reg1", "systemctl", "stop", "docker-registry")
    try:
        pushed = cli("push", LAB, str(image_archive("1.0.0")))
    finally:
        on_host(LAB, "reg1", "systemctl", "start", "docker-registry")
    assert pushed.returncode == ExitCode.ATTENTION
    assert "Pushing voicenote-api-1.0.0.oci.tar to" in pushed.stderr
    assert "connection refused" in pushed.stderr.lower()
