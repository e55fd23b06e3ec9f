"""The repository is an AWX / Automation Platform project as it stands: its Galaxy requirements
install exactly what they name (nothing today), AWX lists the playbooks the CLI runs and none of
their task or variable files, nothing depends on the CLI's working directory, and the execution
environment definition (ansible-builder 3) builds a context offline with the Python pins of
requirements.txt."""

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.config.manager import ConfigManager
from packaging.requirements import Requirement

from tests.conftest import PROJECT

pytestmark = pytest.mark.unit

BIN = Path(sys.executable).parent
PLAYBOOKS = PROJECT / "playbooks"
EE = "execution-environment.yml"
REQUIREMENTS = {"collections": "collections/requirements.yml", "roles": "roles/requirements.yml"}


def run(*command: str) -> subprocess.CompletedProcess:
    """A command run from the project root, as AWX and the CLI run theirs."""
    return subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)


def pins() -> dict[str, str]:
    """requirements.txt: package name -> the exact version it pins."""
    lines = (PROJECT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    found = {}
    for requirement in (Requirement(line) for line in lines if line and line[0] not in "#-"):
        (version,) = [s.version for s in requirement.specifier if s.operator == "=="]
        found[requirement.name.lower()] = version
    return found


def ee() -> dict:
    return yaml.safe_load((PROJECT / EE).read_text(encoding="utf-8"))


# An exact version: `==X` or a bare X (a number, optionally led by v, or a 40-digit commit), never
# a range (>=, <, !=, ~=, *, a comma) nor a branch name.
EXACT_VERSION = re.compile(r"^(?:==)?\s*(?:v?\d[\w.+-]*|[0-9a-f]{40})$")


def inexact(entry) -> str | None:
    """Why a requirements entry does not name an exact version, or None when it does."""
    if not isinstance(entry, dict):
        return f"{entry!r}: give it as a mapping with a `version:`"
    version = str(entry.get("version", ""))
    if not EXACT_VERSION.match(version.strip()):
        return f"{entry.get('name') or entry.get('src')!r}: version {version!r} is not exact"
    return None


@pytest.mark.parametrize("key", REQUIREMENTS)
def test_the_galaxy_requirements_are_an_explicit_list_of_exact_versions(key):
    """Each requirements file AWX's project sync reads is YAML with an explicit list under its
    key, and every entry (none today) pins one exact version."""
    data = yaml.safe_load((PROJECT / REQUIREMENTS[key]).read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get(key), list), (
        f"{REQUIREMENTS[key]}: give `{key}:` an explicit list (`{key}: []` for none)"
    )
    assert [why for why in map(inexact, data[key]) if why] == []


@pytest.mark.parametrize(
    ("entry", "exact"),
    [
        ({"name": "community.general", "version": "9.5.2"}, True),
        ({"name": "community.general", "version": "==9.5.2"}, True),
        ({"src": "https://example.org/role.git", "version": "v1.4.0"}, True),
        ({"src": "https://example.org/role.git", "version": "5f3a9c1e" * 5}, True),
        ("community.general", False),
        ({"name": "community.general"}, False),
        ({"name": "community.general", "version": "*"}, False),
        ({"name": "community.general", "version": ">=9.0.0"}, False),
        ({"name": "community.general", "version": ">=9.0.0,<10"}, False),
        ({"name": "community.general", "version": "!=9.0.0"}, False),
        ({"src": "https://example.org/role.git", "version": "main"}, False),
    ],
)
def test_the_exact_version_rule_tells_pins_from_ranges(entry, exact):
    """The rule above accepts one pinned version and refuses ranges, wildcards and branches."""
    assert (inexact(entry) is None) == exact


@pytest.mark.parametrize("kind", ["role", "collection"])
def test_ansible_galaxy_installs_the_requirements_offline(kind, tmp_path):
    """`ansible-galaxy KIND install -r FILE` (what AWX's project sync runs) succeeds with no
    network: there is nothing to fetch."""
    galaxy = str(BIN / "ansible-galaxy")
    done = run(galaxy, kind, "install", "-r", REQUIREMENTS[f"{kind}s"], "-p", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_execution_environment_pins_what_requirements_txt_pins():
    """The EE installs exactly the ansible-core and ansible-runner the project is tested with,
    and the collections of the same file as an AWX project sync."""
    dependencies = ee()["dependencies"]
    pinned = pins()
    for name in ("ansible-core", "ansible-runner"):
        given = dependencies[name.replace("-", "_")]["package_pip"]
        assert given == f"{name}=={pinned[name]}", f"{EE}: {given!r}, requirements.txt: {name}"
    assert dependencies["galaxy"] == REQUIREMENTS["collections"]


def test_ansible_builder_writes_the_context_offline(tmp_path):
    """`ansible-builder create` turns the EE file into a build context with no network: the
    Containerfile installs the pinned ansible-core and ansible-runner, the context carries the
    collections file as it is and every system package of the EE file."""
    context = tmp_path / "context"
    done = run(str(BIN / "ansible-builder"), "create", "--file", EE, "--context", str(context))
    assert done.returncode == 0, done.stdout + done.stderr
    pinned = pins()
    refs = re.search(
        r'^ARG ANSIBLE_INSTALL_REFS="(.*)"$', (context / "Containerfile").read_text(), re.MULTILINE
    )
    assert refs, "the Containerfile installs no ansible-core and ansible-runner"
    wanted = f"ansible-core=={pinned['ansible-core']} ansible-runner=={pinned['ansible-runner']}"
    assert refs.group(1) == wanted
    built = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert built == yaml.safe_load((PROJECT / REQUIREMENTS["collections"]).read_text())
    bindep = {line.strip() for line in (context / "_build" / "bindep.txt").read_text().splitlines()}
    missing = [package for package in ee()["dependencies"]["system"] if package not in bindep]
    assert missing == [], f"bindep.txt lacks {missing}"


# AWX's own rules, re-stated from awx/main/utils/ansible.py (github.com/ansible/awx: skip_directory
# and could_be_playbook; awx/main/models/projects.py walks the project with os.walk and both).
# AWX applies skip_directory to the absolute folder path; here it gets the path relative to the
# project root, so where this checkout lies does not matter.
AWX_PLAYBOOK_LINE = re.compile(
    r"^\s*?-?\s*?(?:hosts|(ansible\.builtin\.)?include|(ansible\.builtin\.)?import_playbook):"
    r"\s*?.*?$"
)


def awx_skips(relative_folder: str) -> bool:
    elements = [element for element in relative_folder.split(os.sep) if element != os.curdir]
    return bool(
        {"roles", "tasks", "group_vars", "host_vars"} & set(elements)
        or any(element.startswith(".") for element in elements)
    )


def awx_could_be_playbook(path: Path) -> bool:
    if path.suffix not in (".yml", ".yaml"):
        return False
    with path.open(encoding="utf-8", errors="ignore") as lines:
        for number, line in enumerate(lines):
            if AWX_PLAYBOOK_LINE.match(line) or (
                number == 0 and line.startswith("$ANSIBLE_VAULT;")
            ):
                return True
    return False


def awx_playbooks(root: Path, under: Path) -> set[str]:
    """The files under a folder of the project that AWX offers as playbooks, relative to the
    project root."""
    listed = set()
    for folder, _, files in os.walk(under):
        relative = os.path.relpath(folder, root)
        if awx_skips(relative):
            continue
        listed |= {
            f"{relative}/{name}" for name in files if awx_could_be_playbook(Path(folder, name))
        }
    return listed


def holds_plays(path: Path) -> bool:
    plays = yaml.safe_load(path.read_text(encoding="utf-8"))
    keys = ("hosts", "import_playbook", "ansible.builtin.import_playbook")
    return isinstance(plays, list) and all(
        isinstance(play, dict) and any(key in play for key in keys) for play in plays
    )


def cli_playbooks() -> set[str]:
    """The playbooks the CLI runs: every top-level file of playbooks/ that holds a list of plays,
    and every playbooks/ file the voicenote_ops code names as a string literal ("deploy.yml")."""
    found = {path.name for path in PLAYBOOKS.glob("*.yml") if holds_plays(path)}
    for source in (PROJECT / "voicenote_ops").rglob("*.py"):
        for name in re.findall(r"[\"']([\w-]+\.yml)[\"']", source.read_text(encoding="utf-8")):
            if (PLAYBOOKS / name).is_file():
                found.add(name)
    return {f"playbooks/{name}" for name in found}


def test_awx_lists_every_playbook_the_cli_runs():
    """AWX offers every playbook the CLI runs, found by AWX's own content rules."""
    runs = cli_playbooks()
    assert "playbooks/deploy.yml" in runs
    assert sorted(runs - awx_playbooks(PROJECT, PLAYBOOKS)) == []


def test_awx_lists_no_task_or_variable_file():
    """AWX offers nothing under playbooks/tasks or playbooks/vars: a file there would be a
    job template's playbook that fails when launched."""
    listed = awx_playbooks(PROJECT, PLAYBOOKS)
    assert sorted(p for p in listed if p.startswith(("playbooks/tasks/", "playbooks/vars/"))) == []


# Ansible types these options as paths and resolves a relative one against the folder of the
# ansible.cfg that sets it (base.yml of ansible-core); a plugin's own options (e.g. the ssh
# connection's) are not there, so their *_dir ones count as paths too.
PATH_TYPES = {"path", "tmppath", "tmp", "pathspec", "pathlist"}


def path_options(config: Path) -> list[tuple[str, str, str, str]]:
    """(section, key, Ansible's type, value) of every path-like option an ansible.cfg sets."""
    types = {}
    for definition in ConfigManager().get_configuration_definitions().values():
        for ini in definition.get("ini") or []:
            types[(ini["section"], ini["key"])] = definition.get("type")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config, encoding="utf-8")
    found = []
    for section in parser.sections():
        for key, value in parser[section].items():
            kind = types.get((section, key)) or ("path" if key.endswith("_dir") else None)
            if kind in PATH_TYPES:
                found.append((section, key, kind, value))
    return found


def test_ansible_cfg_paths_resolve_next_to_it():
    """Every relative path ansible.cfg sets (roles_path, library, callback_plugins, and any
    other path-like option) names an existing folder relative to ansible.cfg's own folder, as
    Ansible resolves it: an AWX job and the CLI find the same roles and plugins wherever they run
    from. Absolute and ~ paths are the machine's, not the project's."""
    config = PROJECT / "ansible.cfg"
    options = path_options(config)
    assert {key for _, key, _, _ in options} >= {"roles_path", "library", "callback_plugins"}
    broken = []
    for section, key, kind, value in options:
        elements = value.split(os.pathsep) if kind in ("pathspec", "pathlist") else [value]
        for element in elements:
            if not element or element.startswith(("/", "~", "$")) or "%" in element:
                continue
            path = config.parent / element
            # A search path or a *_dir is a folder; an inventory may be a file; a single path may
            # name a file Ansible writes (log_path), so then its folder must exist.
            if kind in ("pathspec", "tmppath", "tmp") or key.endswith("_dir"):
                exists = path.is_dir()
            elif kind == "pathlist":
                exists = path.exists()
            else:
                exists = path.exists() or path.parent.is_dir()
            if not exists:
                broken.append(f"[{section}] {key} = {value}: no {element} next to ansible.cfg")
    assert broken == []


# A path relative to the working directory: `./` or `../`, or a bare dist/ or inventories/ (the
# CLI's build output and environments), at the start of a word of a string. `{{ playbook_dir
# }}/../dist` and `playbook_dir ~ '/../dist'` start with `/` after the anchor, so they pass.
CWD_PATH = re.compile(r"(?:^|(?<=[\s'\"=:(,\[]))(?:\.\.?/|dist/|inventories/)")
# Text for people, not a path any task opens (a message may show an example command line).
PROSE = {"name", "msg", "fail_msg", "success_msg"}


def cwd_paths(node, key: str | None = None) -> list[str]:
    """The string values (not comments, not prose) of a YAML document that name a path relative
    to the working directory."""
    if isinstance(node, dict):
        return [found for k, value in node.items() for found in cwd_paths(value, str(k))]
    if isinstance(node, list):
        return [found for value in node for found in cwd_paths(value, key)]
    if isinstance(node, str) and key not in PROSE and CWD_PATH.search(node):
        return [f"{key}: {node.strip()}"]
    return []


def test_no_playbook_assumes_the_working_directory():
    """No playbook, task or variable file under playbooks/ names a path relative to the working
    directory (`./x`, `../x`, `dist/x`, `inventories/x`): AWX runs `ansible-playbook
    playbooks/X.yml` from its own copy of the project and the CLI from the project root, so a path
    is anchored on playbook_dir or given by the operator. The rule is plain text matching: it
    does not tell a command's argument (relative to the working directory) from an include's
    (relative to its file), so both are anchored. Comments and messages (name, msg, fail_msg,
    success_msg) are text for people and are not checked."""
    offenders = []
    for path in sorted(PLAYBOOKS.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        offenders += [f"{path.relative_to(PROJECT)}: {found}" for found in cwd_paths(document)]
    assert offenders == []
