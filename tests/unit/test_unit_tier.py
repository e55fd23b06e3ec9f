"""The unit tier's guard (tests/conftest.py): a unit test's podman only records being called."""

import subprocess

import pytest

pytestmark = pytest.mark.unit


def test_podman_called_by_a_unit_test_is_recorded_and_fails(_no_lab_in_the_unit_tier):
    calls = _no_lab_in_the_unit_tier
    done = subprocess.run(["podman", "ps", "-a"], capture_output=True, check=False)
    assert done.returncode == 1
    assert calls.read_text() == "ps -a\n"
    # The guard would report this test; what it saw was the point of the test.
    calls.unlink()
