"""`voicenote-ops push` for real: an image archive into the image lab's registry (reg1,
provisioned by `provision`; conftest.py), named there by the archive's own digest and signed for
the name hosts pull it by (skopeo verifies the signature with the lab's pinned key, and refuses
it for another name or a changed manifest), with no secret left behind; a registry that does not
answer fails the push and says so."""

import hashlib
import json
import os
import ssl
import subprocess
import urllib.request
from base64 import b64encode
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT
from tests.integration.image_lab.conftest import IMAGE_LAB as LAB
from tests.integration.labs import IMAGE_SIGNING_KEY, on_host
from tests.integration.secret_scan import canaries, files_holding, lab_vault
from voicenote_ops.errors import ExitCode
from voicenote_ops.image.archive import read_archive
from voicenote_ops.lab import podman

pytestmark = pytest.mark.integration

CERTIFICATE = "/etc/docker/registry/tls/registry.crt"
SIGNATURES = "/var/lib/voicenote-signatures"
IMAGE_SIGNERS = PROJECT / "inventories" / "lab" / "group_vars" / "all" / "image-signers.yml"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def on_host_bytes(path: str) -> bytes:
    return subprocess.run(
        ["podman", "exec", f"vnops-{LAB}-reg1", "cat", path],
        capture_output=True, check=True, env=podman.podman_env(),
    ).stdout  # fmt: skip


def _verify(
    folder: Path, manifest: bytes, reference: str, fingerprint: str, signature: Path
) -> bool:
    """skopeo's own check of a simple signature, with only the lab's pinned key trusted."""
    home = folder / "gnupg"
    home.mkdir(mode=0o700, exist_ok=True)
    (pinned,) = yaml.safe_load(IMAGE_SIGNERS.read_text())["voicenote_image_signers"]
    environment = {**os.environ, "GNUPGHOME": str(home)}
    try:
        subprocess.run(["gpg", "--batch", "--quiet", "--import"], input=pinned.encode(),
                       env=environment, check=True)  # fmt: skip
        (folder / "manifest.json").write_bytes(manifest)
        checked = subprocess.run(
            ["skopeo", "standalone-verify", str(folder / "manifest.json"), reference,
             fingerprint, str(signature)],
            capture_output=True, env=environment, check=False,
        )  # fmt: skip
    finally:
        # gpg started an agent for this keyring: it must not outlive the test.
        subprocess.run(["gpgconf", "--kill", "all"], env=environment, check=False)
    return checked.returncode == 0


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
    keyrings_before = set(Path("/tmp").glob("voicenote-gpg-*"))
    pushed = cli("push", LAB, str(archive), "--signing-key", str(IMAGE_SIGNING_KEY), "--json",
                 env={"TMPDIR": str(run_tmp)})  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    result = json.loads(pushed.stdout)
    digest = read_archive(archive).digest
    assert result["digest"] == digest
    assert result["pull"] == f"reg1:5000/voicenote-api@{digest}"
    served = _pulled_by_digest(registry_lab, digest)
    assert "sha256:" + hashlib.sha256(served).hexdigest() == digest

    # Signed for the name hosts pull by, with the key the lab pins, stored on the registry host.
    signature = tmp_path / "signature"
    signature.write_bytes(
        on_host_bytes(f"{SIGNATURES}/voicenote-api@sha256={digest[7:]}/signature-1")
    )
    name, signed_by = "reg1:5000/voicenote-api:1.0.0", result["signed_by"]
    assert _verify(tmp_path, served, name, signed_by, signature)
    assert not _verify(tmp_path, served, name.replace("1.0.0", "6.6.6"), signed_by, signature)
    changed = served.replace(b"1.0.0", b"6.6.6")
    assert not _verify(tmp_path, changed, name, signed_by, signature)

    again = cli("push", LAB, str(archive), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["digest"] == digest

    key_lines = [
        line.encode() for line in IMAGE_SIGNING_KEY.read_text().splitlines()[2:-2] if len(line) > 40
    ]
    secrets = canaries() + key_lines
    assert not [s for s in secrets if s in (pushed.stdout + pushed.stderr).encode()]
    assert not files_holding(secrets, run_tmp)
    assert not list(run_tmp.glob("voicenote-push-*")), "the private folder was left behind"
    assert set(Path("/tmp").glob("voicenote-gpg-*")) <= keyrings_before, "a keyring was left"
    agents = subprocess.run(["pgrep", "-f", "gpg-agent.*voicenote-gpg-"], capture_output=True,
                            check=False)  # fmt: skip
    assert agents.stdout == b"", "the signing keyring's gpg-agent still runs"


def test_a_registry_that_does_not_answer_fails_the_push(registry_lab, cli, image_archive):
    on_host(LAB, "reg1", "systemctl", "stop", "docker-registry")
    try:
        pushed = cli("push", LAB, str(image_archive("1.0.0")))
    finally:
        on_host(LAB, "reg1", "systemctl", "start", "docker-registry")
    assert pushed.returncode == ExitCode.ATTENTION
    assert "Pushing voicenote-api-1.0.0.oci.tar to" in pushed.stderr
    assert "connection refused" in pushed.stderr.lower()
