"""Roles, playbooks and scenarios pass ansible-lint's production profile (with the rules
.ansible-lint adds) and yamllint, and the security scan (bandit, ansible-lint's security rules)
finds nothing: the make targets CI's lint and security jobs run. ansible-lint runs once here:
`lint-ansible` applies every rule `security-ansible` selects (checked below), so a second run
could find nothing the first did not."""

import re

import pytest
import yaml

from tests.conftest import PROJECT, run_make

pytestmark = pytest.mark.molecule


@pytest.mark.parametrize("target", ["lint-ansible", "lint-yaml", "security-python"])
def test_make_target(target):
    result = run_make(target)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


@pytest.mark.unit
def test_lint_ansible_applies_every_rule_security_ansible_selects():
    """security-ansible is ansible-lint's production profile narrowed to some tags, with opt-in
    rules enabled; lint-ansible reads .ansible-lint: the same profile, those opt-ins enabled,
    and none of the selected rules skipped or only warned about."""
    recipe = run_make("-n", "security-ansible").stdout.split()
    assert recipe[1:3] == ["--profile", "production"], recipe
    options = list(zip(recipe[3::2], recipe[4::2], strict=True))
    assert {flag for flag, _ in options} <= {"--tags", "--enable-list"}, options
    selected = {value for _, value in options}
    opt_in = {value for flag, value in options if flag == "--enable-list"}
    config = yaml.safe_load((PROJECT / ".ansible-lint").read_text())
    assert config["profile"] == "production"
    assert opt_in <= set(config.get("enable_list", [])), (opt_in, config.get("enable_list"))
    relaxed = set(config.get("skip_list", [])) | set(config.get("warn_list", []))
    assert not {rule for rule in relaxed if re.split(r"[\[:]", rule)[0] in selected}, relaxed
    assert run_make("-n", "lint-ansible").stdout.split()[1:] == ["--profile", "production"]
