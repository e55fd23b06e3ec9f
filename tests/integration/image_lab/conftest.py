"""One provisioned single-host lab with a registry (node1, reg1) for the image path's tests of a
session: pushes (test_push.py) and the image runtime (test_runtime.py). One worker takes them
(tests/scheduling.py, SHARED_LABS), so the lab is made and provisioned once a run."""

import pytest

from tests.conftest import lab_name, run_cli
from tests.integration.labs import lab_up

IMAGE_LAB = lab_name("image")


@pytest.fixture(scope="session")
def registry_lab():
    """The lab's status (`lab status --json`): provisioned, running venvs, nothing deployed.
    Its hosts start with their packages baked in."""
    with lab_up(
        IMAGE_LAB, "--topology", "single", "--registry", "--runtime", "bundle",
        "--image", "packages",
    ) as status:  # fmt: skip
        provisioned = run_cli("provision", IMAGE_LAB, "--yes", timeout=900)
        assert provisioned.returncode == 0, provisioned.stderr[-3000:]
        yield status
