"""The image runtime for real (docs/images.md), on a single-host lab with a registry (reg1): an
environment that runs venvs moves to images with a deploy, and back, under keep-alive load with
long requests in flight, with no failed request and a rollback across the move that is only a
switch. Images are pulled by digest and run as the image's user; the migration runs once from
the new image; the digest is in the audit trail. An image with no signature is refused on the
controller; one whose signature is not its own is refused by the host's policy before anything
of it is stored, and the old release keeps serving; one whose app fails to start is stopped by
the health gate and its color gets back the venv release it ran. A changed image unit reaches
the running image color through provision's restart (the stress tier's)."""

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.integration.image_lab.conftest import IMAGE_LAB as LAB
from tests.integration.labs import (
    IMAGE_SIGNING_KEY,
    background_load,
    image_release,
    lb_request,
    on_host,
    push_image,
)
from voicenote_ops.errors import ExitCode
from voicenote_ops.load import generator

pytestmark = pytest.mark.integration

SIGNATURES = "/var/lib/voicenote-signatures"
# Keep-alive connections and long requests across each switch; the block's end stops it.
LOAD = generator.LoadPlan(
    rate=20, requests=6000, duration=300, long_requests=2, long_seconds=10, connections=4
)


@pytest.fixture(scope="module")
def image_lab(registry_lab, release_bundle):
    """The image lab (conftest.py), running venvs, serving 1.0.0."""
    deployed = _deploy("1.0.0", release_bundle("1.0.0"))
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    return registry_lab


def _runtime(runtime: str) -> None:
    """The lab's runtime changed; for images provisioned too (podman and its policy). Back to
    venvs, nothing on the hosts needs to change first."""
    changed = run_cli("lab", "up", "--name", LAB, "--runtime", runtime)
    assert changed.returncode == 0, changed.stderr[-3000:]
    if runtime == "image":
        provisioned = run_cli("provision", LAB, "--yes", timeout=900)
        assert provisioned.returncode == 0, provisioned.stderr[-3000:]


def _deploy(version: str, bundle: Path):
    return run_cli("deploy", LAB, "--version", version, "--artifact", str(bundle), "--yes",
                   timeout=900)  # fmt: skip


def _containers() -> dict[str, list[str]]:
    """{container name: [its image, its id]} of the running containers on the app host."""
    listed = on_host(LAB, "node1", "podman", "ps", "--format", "{{.Names}} {{.Image}} {{.ID}}")
    return {line.split()[0]: line.split()[1:] for line in listed.splitlines() if line.strip()}


def _main_pids() -> str:
    return on_host(LAB, "node1", "systemctl", "show", "--value", "-p", "MainPID",
                   "voicenote@blue.service", "voicenote@green.service")  # fmt: skip


def _served() -> str:
    status, health = lb_request(LAB, "GET", "/health")
    assert status == 200, health
    return health["version"]


def _lost_nothing(load, versions: set[str]) -> None:
    summary = load.summary
    assert summary["non_2xx"] == 0, summary["statuses"]
    assert summary["socket_errors"] == 0, summary["errors"]
    assert set(summary["versions"]) == versions, summary["versions"]
    assert summary["long"]["started"] >= 1, summary["long"]


def _to_images(release_bundle, image_archive, folder: Path) -> tuple[Path, str]:
    """The lab moved to the image runtime (provisioned for it) and 1.1.0's image pushed and
    signed: 1.1.0's release for `deploy --artifact`, and the image's digest."""
    _runtime("image")
    new = image_release(folder, release_bundle("1.1.0"), image_archive("1.1.0"))
    digest = push_image(LAB, image_archive("1.1.0"), "--signing-key", str(IMAGE_SIGNING_KEY))
    return new, digest


def test_a_move_to_images_under_load_loses_no_request_and_rolls_back_by_a_switch(
    image_lab, release_bundle, image_archive, tmp_path
):
    new, digest = _to_images(release_bundle, image_archive, tmp_path)
    with background_load(LAB, LOAD, stop_at_exit=True) as load:
        deployed = _deploy("1.1.0", new)
        assert deployed.returncode == 0, deployed.stderr[-3000:]
        ((name, (image, _)),) = _containers().items()
        assert image == f"reg1:5000/voicenote-api@{digest}"
        pids = _main_pids()
        rolled = run_cli("rollback", LAB, "--yes", timeout=600)
        assert rolled.returncode == 0, rolled.stderr[-3000:]
        assert _served() == "1.0.0"
    _lost_nothing(load, {"1.0.0", "1.1.0"})
    # The rollback to the venv color was a switch: neither color restarted.
    assert _main_pids() == pids

    # The image's own user runs the app, not root; the migration ran once, from the image; the
    # audit trail has the digest.
    pid = on_host(LAB, "node1", "podman", "inspect", "--format", "{{.State.Pid}}", name).strip()
    assert on_host(LAB, "node1", "ps", "-o", "uid=,gid=", "-p", pid).split() == ["10001", "10001"]
    migrations = on_host(LAB, "node1", "cat", "/var/lib/voicenote/migrations.jsonl")
    assert [json.loads(line)["release"] for line in migrations.splitlines()] == ["1.0.0", "1.1.0"]
    assert f"reg1:5000/voicenote-api@{digest}" in run_cli("history", LAB, "--json").stdout

    # Forward again: the idle color still runs the image, so this deploy is a switch too.
    again = _deploy("1.1.0", new)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _served() == "1.1.0" and _main_pids() == pids


def test_an_unsigned_or_wrongly_signed_image_is_refused_before_it_runs(
    image_lab, release_bundle, image_archive, tmp_path
):
    bundle = image_release(tmp_path, release_bundle("1.1.1"), image_archive("1.1.1"))
    signed_before = _containers()

    # No signature at all: refused on the controller, before any host is touched.
    digest = push_image(LAB, image_archive("1.1.1"))
    unsigned = _deploy("1.1.1", bundle)
    assert unsigned.returncode == ExitCode.INVALID, unsigned.stderr[-3000:]
    assert "has no signature" in unsigned.stdout + unsigned.stderr

    # A signature that is not this image's (1.1.0's): the host's policy refuses the pull.
    ((running, _),) = signed_before.values()
    folder = f"{SIGNATURES}/voicenote-api@sha256="
    on_host(LAB, "reg1", "mkdir", "-p", f"{folder}{digest[7:]}")
    on_host(LAB, "reg1", "cp", f"{folder}{running.split('@sha256:')[1]}/signature-1",
            f"{folder}{digest[7:]}/signature-1")  # fmt: skip
    tampered = _deploy("1.1.1", bundle)
    assert tampered.returncode == ExitCode.CONTAINED, tampered.stderr[-3000:]
    assert "refused or could not pull" in tampered.stdout + tampered.stderr
    stored = on_host(LAB, "node1", "podman", "images", "--digests", "--format", "{{.Digest}}")
    assert digest not in stored
    assert _containers() == signed_before
    assert _served() == "1.1.0"
    on_host(LAB, "reg1", "rm", "-r", f"{folder}{digest[7:]}")


def test_an_image_that_fails_to_start_is_contained_and_the_idle_venv_color_comes_back(
    image_lab, release_bundle, image_archive, tmp_path
):
    """The new image's process exits at start (broken-start, 1.2.1) in the idle color, which ran
    the 1.0.0 venv: the health gate stops it, the color gets its venv release and unit back and
    runs again, and 1.1.0's container serves on, untouched."""
    before = _containers()
    bundle = image_release(tmp_path, release_bundle("broken-start"), image_archive("broken-start"))
    push_image(LAB, image_archive("broken-start"), "--signing-key", str(IMAGE_SIGNING_KEY))
    failed = _deploy("1.2.1", bundle)
    assert failed.returncode == ExitCode.CONTAINED, failed.stderr[-3000:]
    assert "phase switch" in failed.stderr, failed.stderr[-3000:]
    assert _served() == "1.1.0"
    assert _containers() == before
    (host,) = json.loads(run_cli("status", LAB, "--json").stdout)["hosts"]
    assert (host["idle_version"], host["idle_running"]) == ("1.0.0", True)


def test_a_move_back_to_venvs_under_load_loses_no_request(image_lab, release_bundle, tmp_path):
    _runtime("bundle")
    with background_load(LAB, LOAD, stop_at_exit=True) as load:
        deployed = _deploy("1.1.1", release_bundle("1.1.1"))
        assert deployed.returncode == 0, deployed.stderr[-3000:]
        assert _served() == "1.1.1"
        assert _containers() != {}, "the image color stays, idle, for a rollback"
        rolled = run_cli("rollback", LAB, "--yes", timeout=600)
        assert rolled.returncode == 0, rolled.stderr[-3000:]
    _lost_nothing(load, {"1.1.0", "1.1.1"})
    assert _served() == "1.1.0"


# The stress tier's: the default tier restarts every color onto a changed file once, through
# PostgreSQL's rotation under load (test_provision.py: the same restart phase); this is the same
# restart for a color that runs an image. Alone (the stress tier), it moves the lab to images.
@pytest.mark.stress
def test_provision_restarts_the_image_color_onto_a_changed_image_unit(
    image_lab, release_bundle, image_archive, tmp_path
):
    """The image unit and its command changed (a longer stop timeout): the color that runs an
    image restarts onto them (its container replaced), and the host serves as before."""
    if not _containers():
        deployed = _deploy("1.1.0", _to_images(release_bundle, image_archive, tmp_path)[0])
        assert deployed.returncode == 0, deployed.stderr[-3000:]
    ((name, (_, before)),) = _containers().items()
    setting = Path(image_lab["inventory"]) / "group_vars" / "all" / "zz-test-stop-timeout.yml"
    setting.write_text("appunit_stop_timeout: 50\n")
    try:
        provisioned = run_cli("provision", LAB, "--yes", timeout=900)
        assert provisioned.returncode == 0, provisioned.stderr[-3000:]
    finally:
        setting.unlink()
    after = _containers()
    assert list(after) == [name] and after[name][1] != before, "the container was replaced"
    color = name.removeprefix("voicenote-")
    timeout = on_host(LAB, "node1", "podman", "inspect", "--format", "{{.Config.StopTimeout}}",
                      name)  # fmt: skip
    unit = on_host(LAB, "node1", "systemctl", "show", "-p", "TimeoutStopUSec", "--value",
                   f"voicenote@{color}.service")  # fmt: skip
    assert (timeout.strip(), unit.strip()) == ("50", "55s")
    assert _served() == "1.1.0"


def _stored_images() -> set[str]:
    listed = on_host(LAB, "node1", "podman", "images", "--digests", "--format", "{{.Digest}}")
    return set(listed.split())


def test_a_release_the_cleanup_removes_takes_its_image_with_it(image_lab, release_bundle):
    """With release_keep 0 the cleanup keeps only the colors' releases: the 1.1.1 venv (idle,
    now switched to) and the 1.1.0 image (live, now idle). broken-start's release goes, and its
    image leaves podman's storage with it; the 1.1.0 color's image stays."""
    ((_, (live_image, _)),) = _containers().items()
    live = on_host(LAB, "node1", "podman", "image", "inspect", "--format", "{{.Digest}}",
                   live_image).strip()  # fmt: skip
    assert len(_stored_images()) > 1, "broken-start's image is stored"
    setting = Path(image_lab["inventory"]) / "group_vars" / "all" / "zz-test-keep.yml"
    setting.write_text("release_keep: 0\n")
    try:
        deployed = _deploy("1.1.1", release_bundle("1.1.1"))
    finally:
        setting.unlink()
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert _stored_images() == {live}
