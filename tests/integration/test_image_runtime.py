"""The image runtime for real (docs/images.md): a lab whose app host runs releases as podman
containers pulled by digest from its registry (reg1). An image whose signature is not one of
the pinned key's for that image is refused by the host's policy before anything of it is
stored, and the old release keeps serving; an image with no signature at all is refused on the
controller. A signed one is deployed blue/green, its migration run once from the image, its
digest recorded in the audit trail; the rollback is the switch back to the kept container."""

import json
from pathlib import Path

import pytest

from tests.conftest import PROJECT, lab_name, run_cli
from tests.integration.labs import lab_up, lb_request, on_host
from voicenote_ops.errors import ExitCode

pytestmark = pytest.mark.integration

LAB = lab_name("imagert")
SIGNING_KEY = PROJECT / "inventories" / "lab" / "image-signing-key.asc"
SIGNATURES = "/var/lib/voicenote-signatures"


@pytest.fixture(scope="module")
def image_lab():
    with lab_up(
        LAB, "--topology", "single", "--registry", "--runtime", "image", "--image", "packages"
    ) as status:
        provisioned = run_cli("provision", LAB, "--yes", timeout=900)
        assert provisioned.returncode == 0, provisioned.stderr[-3000:]
        yield status


def _release(tmp_path: Path, bundle: Path, archive: Path) -> Path:
    """The bundle, its signature and its image archive side by side, as `build --image` leaves
    them in dist/ (the CLI deploys the archive's digest)."""
    folder = tmp_path / bundle.name.removesuffix(".tar.gz")
    folder.mkdir()
    for path in (bundle, Path(f"{bundle}.sig"), archive):
        (folder / path.name).symlink_to(path)
    return folder / bundle.name


def _push(archive: Path, *signing: str) -> str:
    pushed = run_cli("push", LAB, str(archive), *signing, "--json", timeout=300)
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    return json.loads(pushed.stdout)["digest"]


def _deploy(version: str, bundle: Path):
    return run_cli("deploy", LAB, "--version", version, "--artifact", str(bundle), "--yes",
                   timeout=900)  # fmt: skip


def _containers() -> dict[str, str]:
    """{container name: its image} of the running containers on the app host."""
    listed = on_host(LAB, "node1", "podman", "ps", "--format", "{{.Names}} {{.Image}} {{.ID}}")
    return {line.split()[0]: line.split()[1:] for line in listed.splitlines() if line.strip()}


def _stored_images() -> str:
    return on_host(LAB, "node1", "podman", "images", "--digests", "--format", "{{.Digest}}")


def test_images_run_signed_by_digest_blue_green_with_an_instant_rollback(
    image_lab, release_bundle, image_archive, tmp_path
):
    first = _release(tmp_path, release_bundle("1.0.0"), image_archive("1.0.0"))
    second = _release(tmp_path, release_bundle("1.1.0"), image_archive("1.1.0"))
    first_digest = _push(image_archive("1.0.0"), "--signing-key", str(SIGNING_KEY))

    deployed = _deploy("1.0.0", first)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    status, health = lb_request(LAB, "GET", "/health")
    assert (status, health["version"]) == (200, "1.0.0")
    ((name, (image, _)),) = _containers().items()
    assert image == f"reg1:5000/voicenote-api@{first_digest}"
    # The image's own user runs the app, not root.
    pid = on_host(LAB, "node1", "podman", "inspect", "--format", "{{.State.Pid}}", name).strip()
    assert on_host(LAB, "node1", "ps", "-o", "uid=,gid=", "-p", pid).split() == ["10001", "10001"]

    # No signature at all: refused on the controller, before any host is touched.
    second_digest = _push(image_archive("1.1.0"))
    unsigned = _deploy("1.1.0", second)
    assert unsigned.returncode == ExitCode.INVALID, unsigned.stderr[-3000:]
    assert "has no signature" in unsigned.stdout + unsigned.stderr

    # A signature that is not for this image (1.0.0's): the host's policy refuses the pull.
    folder = f"{SIGNATURES}/voicenote-api@sha256="
    on_host(LAB, "reg1", "mkdir", "-p", f"{folder}{second_digest[7:]}")
    on_host(LAB, "reg1", "cp", f"{folder}{first_digest[7:]}/signature-1",
            f"{folder}{second_digest[7:]}/signature-1")  # fmt: skip
    tampered = _deploy("1.1.0", second)
    assert tampered.returncode == ExitCode.CONTAINED, tampered.stderr[-3000:]
    assert "refused or could not pull" in tampered.stdout + tampered.stderr
    assert second_digest not in _stored_images()
    assert [image for image, _ in _containers().values()] == [image]
    assert lb_request(LAB, "GET", "/health")[1]["version"] == "1.0.0"

    # Signed: deployed beside 1.0.0, migrated once from its image, recorded with its digest.
    assert _push(image_archive("1.1.0"), "--signing-key", str(SIGNING_KEY)) == second_digest
    deployed = _deploy("1.1.0", second)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert lb_request(LAB, "GET", "/health")[1]["version"] == "1.1.0"
    running = _containers()
    assert sorted(image for image, _ in running.values()) == sorted(
        f"reg1:5000/voicenote-api@{digest}" for digest in (first_digest, second_digest)
    )
    migrations = on_host(LAB, "node1", "cat", "/var/lib/voicenote/migrations.jsonl")
    assert [json.loads(line)["release"] for line in migrations.splitlines()].count("1.1.0") == 1
    history = run_cli("history", LAB, "--json")
    assert f"reg1:5000/voicenote-api@{second_digest}" in history.stdout

    # The rollback switches nginx back to the kept 1.0.0 container: nothing starts.
    rolled = run_cli("rollback", LAB, "--yes", timeout=600)
    assert rolled.returncode == 0, rolled.stderr[-3000:]
    assert lb_request(LAB, "GET", "/health")[1]["version"] == "1.0.0"
    assert _containers() == running
