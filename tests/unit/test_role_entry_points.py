"""Every role entry point a playbook calls has an argument spec, so Ansible checks its inputs.

An entry point is a role's tasks file run by `include_role`/`import_role` (`tasks_from`, `main`
when absent); Ansible validates the variables against the entry point of the same name in
`meta/argument_specs.yml`, and validates nothing for an entry point that has none. The calls are
read from the playbooks and the roles, and from the lists that name roles as "role" or
"role:tasks_from" (provision's phases, the rotations, the image's packages).
"""

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[2]
ROLES = PROJECT / "roles"
ROLE_NAMES = {path.name for path in ROLES.iterdir() if (path / "tasks").is_dir()}
_INCLUDES = {
    f"{prefix}{action}"
    for prefix in ("", "ansible.builtin.")
    for action in ("include_role", "import_role")
}
# A role named in a list or a template: "role" or "role:tasks_from", quoted or a YAML item.
_ROLE_WORD = re.compile(r"(?<![\w.])([a-z_]+)(?::([a-z_]+))?(?![\w(])")


def _task_files() -> list[Path]:
    return sorted(
        [
            *PROJECT.glob("playbooks/**/*.yml"),
            *ROLES.glob("*/tasks/*.yml"),
            *ROLES.glob("*/handlers/*.yml"),
        ]
    )


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _named_in(value) -> set[tuple[str, str]]:
    """The (role, entry point) pairs a role list names, literally or inside a template."""
    text = value if isinstance(value, str) else " ".join(map(str, value))
    return {
        (role, entry or "main") for role, entry in _ROLE_WORD.findall(text) if role in ROLE_NAMES
    }


def called_entry_points() -> dict[tuple[str, str], set[str]]:
    """(role, entry point) -> the files that call it."""
    calls: dict[tuple[str, str], set[str]] = {}

    def add(pairs, where: Path) -> None:
        for pair in pairs:
            calls.setdefault(pair, set()).add(str(where.relative_to(PROJECT)))

    for path in _task_files():
        for node in _walk(yaml.safe_load(path.read_text())):
            for key in _INCLUDES & node.keys():
                args = node[key]
                if isinstance(args, dict) and "{{" not in str(args.get("name", "{{")):
                    add({(args["name"], args.get("tasks_from", "main"))}, path)
            if "voicenote_provision_roles" in node:
                add(_named_in(node["voicenote_provision_roles"]), path)
    rotations = PROJECT / "playbooks" / "vars" / "rotations.yml"
    for rotation in yaml.safe_load(rotations.read_text())["voicenote_rotations"].values():
        add(_named_in(rotation["accept"] + rotation["revoke"]), rotations)
    image = PROJECT / "playbooks" / "image.yml"
    for play in yaml.safe_load(image.read_text()):
        for roles in play.get("vars", {}).get("voicenote_image_roles", {}).values():
            add({(role, "packages") for role in roles}, image)
    return calls


def _specs(role: str) -> dict:
    path = ROLES / role / "meta" / "argument_specs.yml"
    return yaml.safe_load(path.read_text())["argument_specs"] if path.is_file() else {}


CALLS = called_entry_points()


def test_the_calls_are_found():
    # One of each kind of call: a literal include, a provision phase's list, a rotation, the image.
    assert {
        ("bluegreen", "state"),
        ("lock", "signing_key"),
        ("redis", "add_password"),
        ("postgresql", "packages"),
        ("nginx", "switch"),
    } <= CALLS.keys()


@pytest.mark.parametrize("call", sorted(CALLS), ids=lambda call: ":".join(call))
def test_every_called_entry_point_has_an_argument_spec(call):
    role, entry = call
    assert (ROLES / role / "tasks" / f"{entry}.yml").is_file(), f"{role}:{entry}: no tasks file"
    assert entry in _specs(role), (
        f"roles/{role}/meta/argument_specs.yml has no entry point {entry!r}, called by "
        f"{', '.join(sorted(CALLS[call]))}: add one listing the variables tasks/{entry}.yml reads"
    )


@pytest.mark.parametrize("role", sorted(ROLE_NAMES))
def test_every_entry_point_in_a_spec_is_a_tasks_file(role):
    assert [e for e in _specs(role) if not (ROLES / role / "tasks" / f"{e}.yml").is_file()] == []


def test_a_role_word_is_read_from_a_template():
    template = "{{ ['exporters'] + (['alertmanager'] if 'monitoring' in group_names else []) }}"
    assert _named_in(template) == {("exporters", "main"), ("alertmanager", "main")}
    assert _named_in(["postgresql", "redis:add_password"]) == {
        ("postgresql", "main"),
        ("redis", "add_password"),
    }
