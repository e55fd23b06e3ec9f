"""One provisioned prod-like lab for every deploy test of the session (provisioning is the slow
part); each test sets up the release state it needs by deploying, never by editing hosts."""

import pytest

from tests.integration.deploy_lab.deploys import DEPLOY_LAB, ansible_playbook
from tests.integration.labs import lab_up


@pytest.fixture(scope="session")
def deploy_lab(release_bundle):
    """A provisioned prod lab (lb1, app1, app2, db1) and the example app's bundles. Its hosts
    start with their packages baked in (provisioning from a bare host: test_provision.py)."""
    with lab_up(DEPLOY_LAB, "--topology", "prod", "--image", "packages"):
        provisioned = ansible_playbook("provision.yml")
        assert provisioned.returncode == 0, provisioned.stdout[-3000:]
        yield release_bundle
