"""Every `run:` step of the workflows is a command the project's own tests execute too: the same
make target, or the same voicenote-ops subcommand with the same options. EXECUTED_BY names the
tests for each, and each name is checked against that test's code, so a new step without a
test, or a test that stops running its step, fails here."""

import ast
import os
import re
import shlex
import stat
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import typer.main

from tests.conftest import PROJECT, own_environment
from tests.unit.test_workflows import command_words as without_sudo
from tests.unit.test_workflows import run_steps
from voicenote_ops.cli.app import app

pytestmark = pytest.mark.unit

# A step's command -> where it is executed: "file::test" (the test, or a function it reaches
# through calls and fixtures in its module or the tests/ modules it imports, makes the call), or
# a script of the project's test command (.ci/run, scripts/test.sh) that holds the command or,
# for a make target, its recipe. The ci steps run verbatim below (AS_WRITTEN).
AS_WRITTEN = "tests/unit/test_workflow_commands.py::test_the_ci_steps_run_as_written"
# `make test-quick`: its command is the unit tier, which every test run runs with a podman that
# only records being called (tests/conftest.py, tests/unit/test_unit_tier.py).
QUICK_TIER_COMMAND = "tests/unit/test_ci_makefile.py::test_quick_tests_need_no_hosts_and_no_install"
PROMOTION_LABS = (
    "tests/integration/test_promotion_labs.py::"
    "test_prod_like_lab_takes_only_what_a_staging_like_lab_ran"
)
EXECUTED_BY = {
    "make venv": ["tests/integration/test_venv.py::test_make_venv_installs_the_pinned_set"],
    "make lint-python": ["tests/unit/test_lint.py::test_make_target"],
    "make format-check": ["tests/unit/test_lint.py::test_make_target"],
    "make lint-yaml": ["tests/molecule/test_lint.py::test_make_target"],
    "make lint-ansible": ["tests/molecule/test_lint.py::test_make_target"],
    "make test-quick": [QUICK_TIER_COMMAND],
    "make install": [".ci/run", "scripts/test.sh"],
    "make promtool": ["scripts/bootstrap.sh"],
    "make molecule": ["tests/molecule/test_scenarios.py::test_scenario"],
    "voicenote-ops lab down --all": [".ci/run"],
    "voicenote-ops ci resolve --github-output --ref --run-number": [AS_WRITTEN],
    "voicenote-ops ci write-secret": [AS_WRITTEN],
    "voicenote-ops build --signing-key --version": [PROMOTION_LABS],
    "voicenote-ops lab prereqs": ["scripts/bootstrap.sh"],
    "voicenote-ops build --image --signing-key --version": [
        "tests/integration/test_image_build.py::"
        "test_an_image_built_twice_is_the_same_and_serves_as_a_user"
    ],
    "voicenote-ops push --signing-key": [
        "tests/integration/image_lab/test_push.py::test_an_image_is_pushed_and_named_by_its_own_digest"
    ],
    "voicenote-ops deploy --artifact --version --yes": [PROMOTION_LABS],
    "voicenote-ops health": [PROMOTION_LABS],
    "voicenote-ops health --smoke": [
        PROMOTION_LABS,
        "tests/integration/deploy_lab/test_deploy.py::"
        "test_health_with_a_smoke_test_checks_every_color_host_and_the_load_balancer",
    ],
    "voicenote-ops history --lines": [PROMOTION_LABS],
    "voicenote-ops rollback --yes": [PROMOTION_LABS],
}

# Steps no test can run, and why.
RUN_BY_NO_TEST = {
    "make security": "bandit (make security-python) is run by the tests, and every rule of "
    "ansible-lint's security run is applied by the tests' lint-ansible run (checked: "
    "tests/molecule/test_lint.py)",
    "make coverage": "the unit and integration tiers under the coverage gate: a test cannot run "
    "the suite it is part of; each tier's tests run in .ci/run (scripts/test.sh)",
}


def command_words(command: str) -> tuple[list[str], list[str]]:
    """(make or voicenote-ops and its subcommands or targets, the options it names)."""
    words = without_sudo(command)
    if words[0] == "make":
        return ["make", *(word for word in words[1:] if "=" not in word)], []
    assert words[0] == ".venv/bin/voicenote-ops", command
    group, path = typer.main.get_command(app), ["voicenote-ops"]
    for word in words[1:]:
        commands = getattr(group, "commands", {})
        if word not in commands:
            break
        group = commands[word]
        path.append(word)
    options = sorted({word.split("=")[0] for word in words if word.startswith("--")})
    return path, options


def key(command: str) -> str:
    path, options = command_words(command)
    return " ".join(path + options)


def workflow_commands() -> dict[str, str]:
    return {key(step["run"]): step["run"].strip() for _, step in run_steps()}


# What the tests' code says: every function of a test module and the tests/ modules it imports.


@cache
def module_functions(path: Path) -> dict[str, ast.FunctionDef]:
    """Functions of a module by name, with those it imports from tests/ under their names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests."):
            source = PROJECT / Path(*node.module.split(".")).with_suffix(".py")
            for alias in node.names:
                imported = module_functions(source).get(alias.name)
                if imported is not None:
                    found[alias.asname or alias.name] = imported
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
    return found


def reachable(path: Path, test: str) -> list[ast.FunctionDef]:
    """The test and every function it reaches: calls by name, and fixtures by parameter
    (fixtures of the module, its imports and tests/**/conftest.py)."""
    functions = dict(module_functions(PROJECT / "tests" / "conftest.py"))
    conftest = path.parent / "conftest.py"
    if conftest.is_file():
        functions.update(module_functions(conftest))
    functions.update(module_functions(path))
    assert test in functions, f"{path.name} has no {test}"
    seen, todo = [], [functions[test]]
    while todo:
        function = todo.pop()
        if function in seen:
            continue
        seen.append(function)
        names = {arg.arg for arg in function.args.args}
        names |= {
            node.func.id
            for node in ast.walk(function)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        todo += [functions[name] for name in names if name in functions]
    return seen


def strings(node: ast.AST) -> set[str]:
    return {
        item.value
        for item in ast.walk(node)
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    }


def runs_in_test(command: str, where: str) -> str | None:
    """Why the test at `where` does not run the command; None when it does. One call (or
    parametrize list) must name the last subcommand word or target and every option; the
    others may come from a helper the test goes through (e.g. run_cli, make)."""
    file, test = where.split("::")
    functions = reachable(PROJECT / file, test)
    path, options = command_words(command)
    named = set().union(*(strings(function) for function in functions))
    if not set(path[:-1]) - {"voicenote-ops"} <= named:
        return f"{where} never names {' '.join(path)}"
    calls = [node for function in functions for node in ast.walk(function)]
    for call in calls:
        if isinstance(call, ast.Call) and {path[-1], *options} <= strings(call):
            return None
    return f"{where} has no call with {path[-1]} {' '.join(options)}"


def runs_in_script(command: str, script: str) -> str | None:
    text = (PROJECT / script).read_text(encoding="utf-8")
    words = without_sudo(command)
    command = shlex.join(words)
    if words[0] == "make":
        recipe = subprocess.run(
            ["make", "--no-print-directory", "-n", *words[1:]],
            cwd=PROJECT, env=own_environment(), capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        return None if recipe in text else f"{script} does not run {command}'s {recipe!r}"
    return None if command in text else f"{script} does not run {command!r}"


def test_every_step_has_tests_and_every_mapping_a_step():
    commands, mapped = workflow_commands(), set(EXECUTED_BY) | set(RUN_BY_NO_TEST)
    assert sorted(set(commands) - mapped) == [], "steps that no test is named for"
    assert sorted(mapped - set(commands)) == [], "mappings of steps that are gone"
    assert not set(EXECUTED_BY) & set(RUN_BY_NO_TEST)


@pytest.mark.parametrize("command_key", sorted(EXECUTED_BY))
def test_the_named_tests_run_the_step(command_key):
    command = workflow_commands()[command_key]
    for where in EXECUTED_BY[command_key]:
        if where == AS_WRITTEN:
            assert command in [step["run"].strip() for step in ci_steps()], command
            continue
        problem = runs_in_test(command, where) if "::" in where else runs_in_script(command, where)
        assert problem is None, problem


def test_a_step_no_test_runs_is_caught():
    """The checks can fail: a test that does not run a command is reported, and so is a script
    that does not hold it."""
    where = "tests/unit/test_lint.py::test_make_target"
    assert runs_in_test(".venv/bin/voicenote-ops deploy x --version 1 --yes", where)
    assert runs_in_test("make lint-yaml", where)
    assert runs_in_test("make lint-python", where) is None
    assert runs_in_script("make molecule", "scripts/test.sh")
    assert runs_in_script("make install", "scripts/test.sh") is None


# The ci steps, as written in the workflows, with the values GitHub gives them.


VARIABLE = re.compile(r"\$(\w+)")


def ci_steps() -> list[dict]:
    return [step for _, step in run_steps() if command_words(step["run"])[0][1:2] == ["ci"]]


def test_the_ci_steps_run_as_written(tmp_path):
    home, outputs = tmp_path / "home", tmp_path / "github-output"
    env = {
        **os.environ,
        "HOME": str(home),
        "GITHUB_REF": "refs/heads/develop",
        "GITHUB_RUN_NUMBER": "57",
        "GITHUB_OUTPUT": str(outputs),
        "ENVIRONMENT": "dev",
        "VAULT_PASSWORD": "vault secret",
        "DEPLOY_SSH_KEY": "ssh key",
        "SSH_KNOWN_HOSTS": "known hosts",
        "STAGING_VAULT_PASSWORD": "staging's vault secret",
        "RELEASE_SIGNING_KEY": "release signing key",
        "IMAGE_SIGNING_KEY": "image signing key",
    }
    written = {}
    for step in ci_steps():
        words = [VARIABLE.sub(lambda m: env[m.group(1)], w) for w in shlex.split(step["run"])]
        argv = [sys.executable, "-m", "voicenote_ops", *words[1:]]
        done = subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        if words[2] == "write-secret":
            written[words[3]] = Path(words[4])
    environment, version, runtime = outputs.read_text().splitlines()
    assert (environment, runtime) == ("environment=dev", "runtime=bundle")
    assert version.startswith("version=") and version.endswith("-rc.57")
    assert written == {
        "VAULT_PASSWORD": home / ".config" / "voicenote-ops" / "dev.vault-password",
        "DEPLOY_SSH_KEY": home / ".ssh" / "id_ed25519",
        "SSH_KNOWN_HOSTS": home / ".ssh" / "known_hosts",
        "STAGING_VAULT_PASSWORD": home / ".config" / "voicenote-ops" / "staging.vault-password",
        "RELEASE_SIGNING_KEY": home / ".config" / "voicenote-ops" / "release-signing-key",
        "IMAGE_SIGNING_KEY": home / ".config" / "voicenote-ops" / "image-signing-key.asc",
    }
    for variable, path in written.items():
        assert path.read_text() == env[variable] + "\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
