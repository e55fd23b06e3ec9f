"""`make venv`, the setup of CI's lint, unit and security jobs and of every deploy: a fresh venv
from requirements-dev.txt and the project, whose pins agree with each other and run the CLI."""

import subprocess

import pytest

from tests.conftest import run_make

pytestmark = pytest.mark.integration


def test_make_venv_installs_the_pinned_set(tmp_path):
    venv = tmp_path / "venv"
    made = run_make("venv", f"VENV={venv}", timeout=900)
    assert made.returncode == 0, (made.stdout + made.stderr)[-3000:]
    check = subprocess.run([venv / "bin" / "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    cli = subprocess.run(
        [venv / "bin" / "voicenote-ops", "ci", "resolve", "--ref", "refs/tags/v1.2.3"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.startswith("prod 1.2.3")
