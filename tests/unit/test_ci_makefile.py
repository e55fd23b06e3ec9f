"""The Makefile: every command of the CI/CD strategy, each target one command, help for all."""

import re
import subprocess

import pytest

from tests.conftest import PROJECT

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
    assert make("-n", "test-quick").split() == [".venv/bin/pytest", "-m", "unit", "-q"]


def test_heavy_tests_are_the_load_stress_and_performance_tiers():
    assert '-m "load or stress or performance"' in make("-n", "test-heavy")


def test_the_lab_targets_name_the_lab():
    assert make("-n", "up", "LAB=demo").strip() == ".venv/bin/voicenote-ops lab up --name demo"
    assert "--name demo app2 --" in make("-n", "logs-api", "LAB=demo", "HOST=app2")


def test_the_pre_push_hook_runs_lint_and_the_fast_tests():
    script = (PROJECT / "scripts" / "pre-push-check.sh").read_text(encoding="utf-8")
    commands = [line for line in script.splitlines() if line.startswith("make ")]
    assert commands == ["make --no-print-directory lint", "make --no-print-directory test-quick"]
