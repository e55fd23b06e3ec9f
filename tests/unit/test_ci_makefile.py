"""The Makefile: every command of the CI/CD strategy, each target one command, help for all."""

import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import PROJECT, own_environment
from tests.unit.test_workflow_commands import (
    QUICK_TIER_COMMAND,
    runs_in_script,
    runs_in_test,
)

pytestmark = pytest.mark.unit

# The strategy's `make` commands, and the ones this project adds to them.
SEED_TARGETS = [
    "help",
    "dev",
    "up",
    "down",
    "restart",
    "logs",
    "logs-api",
    "test",
    "test-quick",
    "lint",
    "format",
    "clean",
    "health",
]
OWN_TARGETS = ["demo", "bench", "test-heavy", "coverage", "molecule", "security", "venv"]


def make(*args: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=PROJECT,
        env=own_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def recipes() -> dict[str, list[str]]:
    """Target -> its recipe lines, read from the Makefile itself."""
    found: dict[str, list[str]] = {}
    current = None
    for line in (PROJECT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("\t") and current is not None:
            found[current].append(line.strip())
            continue
        match = re.match(r"^([a-z$][^:=\s]*):(?!=)", line)
        current = match.group(1) if match else None
        if current is not None:
            found[current] = []
    return found


def test_help_describes_every_target():
    listed = dict(re.findall(r"^  ([a-z][a-z0-9-]*) +(\S.*)$", make("help"), flags=re.MULTILINE))
    for target in SEED_TARGETS + OWN_TARGETS:
        assert listed.get(target), f"make help does not describe {target}"
    phony = {target for target in recipes() if not target.startswith("$")}
    assert phony <= set(listed), f"undocumented: {sorted(phony - set(listed))}"


def test_each_target_runs_one_command():
    for target, lines in recipes().items():
        assert len(lines) <= 1, f"{target} runs {len(lines)} commands"
        for line in lines:
            assert not re.search(r"[;`]|&&|\|\|", line), f"{target}: shell logic in {line!r}"


def test_quick_tests_need_no_hosts_and_no_install():
    assert make("-n", "test-quick").split() == [
        ".venv/bin/pytest", "-m", "unit", "-q", "-n", "2",
    ]  # fmt: skip


def test_heavy_tests_are_the_load_stress_and_performance_tiers():
    heavy = make("-n", "test-heavy")
    assert '-m "load or stress or performance"' in heavy
    assert heavy.startswith("VOICENOTE_TEST_WORKERS=0 "), "figures are measured one test at a time"


def test_the_lab_targets_name_the_lab():
    assert make("-n", "up", "LAB=demo").strip() == (
        ".venv/bin/voicenote-ops lab up --name demo --topology prod --image bare"
    )
    assert make("-n", "up", "LAB=demo", "LAB_IMAGE=packages").strip().endswith("--image packages")
    assert "--name demo app2 --" in make("-n", "logs-api", "LAB=demo", "HOST=app2")


def test_the_pre_push_hook_runs_lint_and_the_fast_tests():
    script = (PROJECT / "scripts" / "pre-push-check.sh").read_text(encoding="utf-8")
    commands = [line for line in script.splitlines() if line.startswith("make ")]
    assert commands == ["make --no-print-directory lint", "make --no-print-directory test-quick"]


# Targets that change files, run on copies in a scratch folder: the project's Makefile with the
# scratch folder as its working directory (VENV stays relative there unless given).


def make_in(directory, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(PROJECT / "Makefile"), *args],
        cwd=directory, env=own_environment(), capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_clean_removes_what_builds_and_tests_leave_and_keeps_the_venv(tmp_path):
    left = [".pytest_cache/v", ".coverage", ".coverage.host.1", "coverage.xml", "dist/a.tar.gz",
            "build/lib/x", "pkg/__pycache__/m.pyc", "examples/app/dist/a.whl"]  # fmt: skip
    kept = ["pkg/m.py", ".venv/lib/__pycache__/kept.pyc", "requirements.txt"]
    for name in left + kept:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    # distclean removes the scratch folder's .venv, never the one these tests run in.
    assert make_in(tmp_path, "-n", "distclean").stdout.splitlines()[-1] == "rm -rf .venv"
    assert make_in(tmp_path, "clean").returncode == 0
    assert [name for name in left if (tmp_path / name).exists()] == []
    assert not (tmp_path / "pkg" / "__pycache__").exists()
    assert all((tmp_path / name).exists() for name in kept)
    assert make_in(tmp_path, "distclean").returncode == 0
    assert not (tmp_path / ".venv").exists() and (tmp_path / "pkg" / "m.py").exists()


def test_format_rewrites_what_format_check_refuses(tmp_path):
    venv = f"VENV={sys.prefix}"
    (tmp_path / "pyproject.toml").write_text((PROJECT / "pyproject.toml").read_text())
    (tmp_path / "module.py").write_text("import os\nVALUES=[1,\n  2]\n")
    assert make_in(tmp_path, venv, "format-check").returncode != 0
    assert make_in(tmp_path, venv, "format").returncode == 0
    assert (tmp_path / "module.py").read_text() == "VALUES = [1, 2]\n"
    assert make_in(tmp_path, venv, "format-check").returncode == 0


def test_requirements_regenerates_the_committed_files(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(PROJECT / "scripts" / "gen_requirements.py", tmp_path / "scripts")
    shutil.copy(PROJECT / "pyproject.toml", tmp_path)
    done = make_in(tmp_path, f"VENV={sys.prefix}", "requirements")
    assert done.returncode == 0, done.stderr
    for name in ("requirements.txt", "requirements-dev.txt"):
        assert (tmp_path / name).read_text() == (PROJECT / name).read_text()


def test_hooks_links_the_pre_push_check_into_the_checkout(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert make_in(tmp_path, "hooks").returncode == 0
    hook = tmp_path / ".git" / "hooks" / "pre-push"
    assert hook.is_symlink()
    assert hook.readlink() == tmp_path / "scripts" / "pre-push-check.sh"


# Where each target runs: tests that run it ("file::test"), a target that depends on it and is
# run ("via TARGET"), or a script of the project's test command that holds its recipe.
MAKEFILE_TESTS = "tests/integration/test_makefile.py"
SANDBOXED = "tests/unit/test_ci_makefile.py"
CLEAN = f"{SANDBOXED}::test_clean_removes_what_builds_and_tests_leave_and_keeps_the_venv"
COMPOSE_TESTS = "tests/integration/test_compose.py"
TARGET_RUN_BY = {
    "help": [f"{SANDBOXED}::test_help_describes_every_target"],
    "venv": ["tests/integration/test_venv.py::test_make_venv_installs_the_pinned_set"],
    "install": [".ci/run", "scripts/test.sh"],
    "promtool": ["scripts/bootstrap.sh"],
    "requirements": [f"{SANDBOXED}::test_requirements_regenerates_the_committed_files"],
    "hooks": [f"{SANDBOXED}::test_hooks_links_the_pre_push_check_into_the_checkout"],
    "up": ["via dev"],
    "provision": ["via dev"],
    "build": ["via dev"],
    "deploy": ["via dev"],
    "dev": [f"{MAKEFILE_TESTS}::test_make_dev_leaves_the_lab_serving_the_version"],
    "restart": [f"{MAKEFILE_TESTS}::test_make_restart_ping_and_health"],
    "ping": [f"{MAKEFILE_TESTS}::test_make_restart_ping_and_health"],
    "health": [f"{MAKEFILE_TESTS}::test_make_restart_ping_and_health"],
    "logs": [f"{MAKEFILE_TESTS}::test_the_log_targets_follow_the_host"],
    "logs-api": [f"{MAKEFILE_TESTS}::test_the_log_targets_follow_the_host"],
    "down": [f"{MAKEFILE_TESTS}::test_make_down_removes_the_lab"],
    "compose-up": [
        f"{COMPOSE_TESTS}::test_the_compose_stack_serves_the_app_with_its_database_and_redis"
    ],
    "compose-down": [
        f"{COMPOSE_TESTS}::test_the_compose_stack_serves_the_app_with_its_database_and_redis"
    ],
    "test": [".ci/run"],
    "test-quick": [QUICK_TIER_COMMAND],
    "image": ["via molecule"],
    "molecule": ["tests/molecule/test_scenarios.py::test_scenario"],
    "lint-python": ["tests/unit/test_lint.py::test_make_target"],
    "format-check": ["tests/unit/test_lint.py::test_make_target"],
    "lint-yaml": ["tests/molecule/test_lint.py::test_make_target"],
    "lint-ansible": ["tests/molecule/test_lint.py::test_make_target"],
    "security-python": ["tests/molecule/test_lint.py::test_make_target"],
    "security-ansible": [
        "tests/molecule/test_lint.py::test_lint_ansible_applies_every_rule_security_ansible_selects"
    ],
    "format": [f"{SANDBOXED}::test_format_rewrites_what_format_check_refuses"],
    "fix": ["via format"],
    "clean": [CLEAN],
    "clean-bytecode": ["via clean"],
    "distclean": [CLEAN],
}
# Targets no test runs, and why.
NOT_RUN_BY_TESTS = {
    "demo": "the README's main job (a prod-shaped lab, two deploys): run by hand, minutes long",
    "bench": "45 minutes of labs; test_bench.py (performance tier) runs its noop part",
    "test-integration": "a tier of the test command itself (scripts/test.sh -m integration)",
    "coverage": "the unit and integration tiers with the gate: CI's integration job",
    "test-heavy": "the load, stress and performance tiers, on demand",
    "lint": "the pre-push hook's: every target it depends on is run by the tests",
    "security": "CI's security job: security-python is run by the tests, and every rule "
    "security-ansible selects is applied by lint-ansible's run (checked)",
}


def prerequisites() -> dict[str, set[str]]:
    text = (PROJECT / "Makefile").read_text(encoding="utf-8")
    found = re.findall(r"^([a-z][a-z0-9-]*):([^#=\n]*)", text, flags=re.MULTILINE)
    return {target: set(after.split()) for target, after in found}


def depends_on(target: str, prerequisite: str) -> bool:
    direct = prerequisites().get(target, set())
    return prerequisite in direct or any(depends_on(other, prerequisite) for other in direct)


def test_every_target_runs_somewhere():
    phony = {target for target in recipes() if not target.startswith("$")}
    assert set(TARGET_RUN_BY) | set(NOT_RUN_BY_TESTS) == phony
    assert not set(TARGET_RUN_BY) & set(NOT_RUN_BY_TESTS)


@pytest.mark.parametrize("target", sorted(TARGET_RUN_BY))
def test_the_named_tests_run_the_target(target):
    for where in TARGET_RUN_BY[target]:
        if where.startswith("via "):
            runner = where.removeprefix("via ")
            assert depends_on(runner, target) and runner in TARGET_RUN_BY, where
            continue
        check = runs_in_test if "::" in where else runs_in_script
        problem = check(f"make {target}", where)
        assert problem is None, problem
