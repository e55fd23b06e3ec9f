"""One provisioned prod-like lab for every deploy test of the session (provisioning is the slow
part); each test sets up the release state it needs by deploying, never by editing hosts."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import lab_name, run_cli
from tests.integration.deploy_lab.deploys import DEPLOY_LAB, ansible_playbook
from tests.integration.labs import IMAGE_SIGNING_KEY, image_release, lab_up, push_image

# The heavy tier's prod lab that runs images (with reg1, its registry).
IMAGE_FLEET_LAB = lab_name("image-fleet")


@pytest.fixture(scope="session")
def deploy_lab(release_bundle):
    """A provisioned prod lab (lb1, app1, app2, db1) and the example app's bundles. Its hosts
    start with their packages baked in (provisioning from a bare host: test_provision.py)."""
    with lab_up(DEPLOY_LAB, "--topology", "prod", "--image", "packages"):
        provisioned = ansible_playbook("provision.yml")
        assert provisioned.returncode == 0, provisioned.stdout[-3000:]
        yield release_bundle


@dataclass(frozen=True)
class Fleet:
    """A provisioned prod lab on one runtime, and what `deploy --artifact` takes for a release
    of the example app there (its bundle; for images, the bundle beside its image archive, the
    image pushed to the lab's registry and signed)."""

    lab: str
    runtime: str
    release: Callable[[str], Path]
    # For images: {release: the digest pushed}, filled as releases are asked for.
    digests: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module", params=["bundle", "image"])
def fleet(request, release_bundle, image_archive, tmp_path_factory):
    """The deploy lab (venvs), or a prod lab of its own that runs images (lb1, app1, app2, db1,
    reg1), made for the module: the heavy tier's matrices run on both runtimes."""
    if request.param == "bundle":
        yield Fleet(DEPLOY_LAB, "bundle", request.getfixturevalue("deploy_lab"))
        return
    folder = tmp_path_factory.mktemp("image-releases")
    pushed: dict[str, Path] = {}
    digests: dict[str, str] = {}

    def release(name: str) -> Path:
        if name not in pushed:
            archive = image_archive(name)
            key = str(IMAGE_SIGNING_KEY)
            digests[name] = push_image(IMAGE_FLEET_LAB, archive, "--signing-key", key)
            pushed[name] = image_release(folder, release_bundle(name), archive)
        return pushed[name]

    with lab_up(
        IMAGE_FLEET_LAB, "--topology", "prod", "--registry", "--runtime", "image",
        "--image", "packages",
    ):  # fmt: skip
        provisioned = run_cli("provision", IMAGE_FLEET_LAB, "--yes", timeout=1200)
        assert provisioned.returncode == 0, provisioned.stderr[-3000:]
        yield Fleet(IMAGE_FLEET_LAB, "image", release, digests)
