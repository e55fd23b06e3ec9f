"""Roles, playbooks and scenarios pass ansible-lint's production profile (with the rules
.ansible-lint adds) and yamllint, and the security scan (bandit, ansible-lint's security rules)
finds nothing: the make targets CI's lint and security jobs run."""

import pytest

from tests.conftest import run_make

pytestmark = pytest.mark.molecule


@pytest.mark.parametrize("target", ["lint-ansible", "lint-yaml", "security"])
def test_make_target(target):
    result = run_make(target)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
