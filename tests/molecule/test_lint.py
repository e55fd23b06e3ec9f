"""Roles, playbooks and scenarios pass ansible-lint's production profile (with the rules
.ansible-lint adds) and yamllint."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.molecule

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "argv",
    [
        [str(BIN / "ansible-lint"), "--nocolor", "--parseable"],
        [str(BIN / "yamllint"), "-s", "roles", "playbooks", "molecule", "inventories", ".github"],
    ],
    ids=["ansible-lint", "yamllint"],
)
def test_lint(argv):
    result = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
