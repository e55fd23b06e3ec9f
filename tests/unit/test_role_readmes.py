"""Every role's README is generated from its argument spec, and the spec mirrors its defaults."""

import importlib.util
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "gen_role_readme", PROJECT / "scripts" / "gen_role_readme.py"
)
gen_role_readme = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_role_readme)

ROLES = gen_role_readme.roles_with_specs()


def _options(role: Path) -> dict:
    """Every entry point's options; an option two entry points read has one type and default."""
    options: dict = {}
    for entry, spec in gen_role_readme.entry_points(role).items():
        for name, option in (spec.get("options") or {}).items():
            first = options.setdefault(name, option)
            for key in ("type", "elements", "default", "choices"):
                assert first.get(key) == option.get(key), f"{name}: {key} differs in {entry}"
    return options


def _defaults(role: Path) -> dict:
    """defaults/main.yml, or every file of defaults/main/ (Ansible reads one or the other)."""
    path = role / "defaults" / "main.yml"
    files = [path] if path.is_file() else sorted((role / "defaults" / "main").glob("*.yml"))
    return {
        name: value for f in files for name, value in (yaml.safe_load(f.read_text()) or {}).items()
    }


def test_there_are_roles_to_check():
    assert {"base", "postgresql", "redis", "nginx", "envfile", "appunit"} <= {r.name for r in ROLES}


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_readme_is_generated_from_the_argument_spec(role):
    readme = role / "README.md"
    assert readme.is_file(), f"run: python scripts/gen_role_readme.py {role.name}"
    assert readme.read_text() == gen_role_readme.render(role), (
        f"roles/{role.name}/README.md is out of date: run python scripts/gen_role_readme.py"
    )


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_argument_spec_mirrors_the_defaults(role):
    options, defaults = _options(role), _defaults(role)
    # A required variable may have no placeholder in defaults: its callers always pass it.
    optional = [name for name in options if name in defaults or not options[name].get("required")]
    assert sorted(optional) == sorted(defaults), "same variables in defaults and argument spec"
    for name, value in defaults.items():
        assert options[name].get("description"), f"{name}: no description"
        # A required variable's placeholder in defaults is not a default.
        if not options[name].get("required"):
            assert options[name].get("default") == value, f"{name}: default differs from the spec"


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_the_example_is_a_play_that_uses_the_role(role):
    example = gen_role_readme.entry_points(role)["main"].get("examples", "")
    plays = yaml.safe_load(example)
    assert isinstance(plays, list) and plays, "main's examples: a list of plays"
    assert role.name in example, "the example uses its own role"


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_public_variables_carry_the_role_prefix(role):
    prefix = role.name + "_"
    assert [name for name in _defaults(role) if not name.startswith(prefix)] == []


def test_a_changed_spec_makes_the_readme_stale(tmp_path):
    role = tmp_path / "demo"
    (role / "meta").mkdir(parents=True)
    spec = {
        "argument_specs": {
            "main": {
                "short_description": "Demo.",
                "examples": "- hosts: all\n  roles: [demo]\n",
                "options": {
                    "demo_port": {"type": "int", "default": 80, "description": "The port."}
                },
            }
        }
    }
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(spec))
    first = gen_role_readme.render(role)
    assert "| `demo_port` | int | `80` | The port. |" in first
    assert "## Entry points" not in first
    spec["argument_specs"]["reload"] = {"short_description": "Reload.", "options": {}}
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(spec))
    assert "### `reload`\n\nReload.\n\nNo variables." in gen_role_readme.render(role)
    del spec["argument_specs"]["reload"]
    spec["argument_specs"]["main"]["options"]["demo_port"]["default"] = 8080
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(spec))
    assert gen_role_readme.render(role) != first
